// Benchmark (not a test): generation chars/s in Chromium (the demo's Web
// Worker, web/bench.html) against native single-threaded
// `causalgen bench generate` on the same model; Node's V8 as a third figure.
//
//   node tests/web/bench_web.mjs NATIVE_BUILD_DIR [--model FILE] [--seconds 3] [--rounds 3]
//
// Builds the wasm module and page first (wasm/build.sh). The model defaults
// to the shipped one (examples/models/tiny-shakespeare-max-avg.cgm), else
// the random-weight tiny test model. Native and browser runs alternate, round
// by round, so that load from other processes hits both alike; the best of
// the rounds is compared. It also reads CPU time from /proc (the native
// process; Chromium's Web Worker thread; Node's process) and gives chars per
// CPU-second, which the load from other processes distorts far less than
// wall-clock figures. Prints a Markdown table and the ratios. Linux only.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium, root, startServer } from './common.mjs';

const argv = process.argv.slice(2);
const opt = { seconds: 3, rounds: 3 };
for (let i = 0; i < argv.length; ++i) {
  if (argv[i] === '--model') opt.model = path.resolve(argv[++i]);
  else if (argv[i] === '--seconds') opt.seconds = Number(argv[++i]);
  else if (argv[i] === '--rounds') opt.rounds = Number(argv[++i]);
  else if (!opt.native) opt.native = path.resolve(argv[i]);
  else throw new Error(`unknown argument ${argv[i]}`);
}
if (!opt.native) {
  console.error('usage: bench_web.mjs NATIVE_BUILD_DIR [--model FILE] [--seconds S] [--rounds N]');
  process.exit(2);
}
const causalgen = path.join(opt.native, 'tools', 'causalgen');
const web = process.env.CAUSALGEN_WEB_DIR ?? path.join(root, 'build', 'web');
const wasmBuild = process.env.CAUSALGEN_WASM_BUILD ?? path.join(root, 'build', 'wasm');

console.error('building the wasm module and the page...');
execFileSync(path.join(root, 'wasm', 'build.sh'), [wasmBuild, web], { stdio: ['ignore', 'ignore', 'inherit'] });

if (!opt.model) {
  const shipped = path.join(web, 'models', 'tiny-shakespeare-max-avg.cgm');
  opt.model = shipped;
  if (!fs.existsSync(shipped)) {
    opt.model = path.join(web, 'test-models', 'random-tiny-max-avg.cgm');
    if (!fs.existsSync(opt.model)) {
      const helper = path.join(wasmBuild, 'make_test_models');
      const libs = ['libcausalgen_host.a', 'libcausalgen.a'].map((l) => path.join(opt.native, 'lib', l));
      execFileSync('g++', ['-std=c++20', '-O2', `-I${root}/lib/include`, `-I${root}/lib`,
        path.join(root, 'tests', 'web', 'make_test_models.cpp'), ...libs, '-o', helper], { stdio: 'inherit' });
      fs.mkdirSync(path.dirname(opt.model), { recursive: true });
      execFileSync(helper, [path.dirname(opt.model)], { stdio: 'ignore' });
    }
  }
}
// The page fetches the model, so it must be under the served folder.
let modelRel = path.relative(web, opt.model);
if (modelRel.startsWith('..')) {
  fs.mkdirSync(path.join(web, 'bench-models'), { recursive: true });
  modelRel = path.join('bench-models', path.basename(opt.model));
  fs.copyFileSync(opt.model, path.join(web, modelRel));
}

// CPU time (user + system) per process and thread from /proc: the load from
// other processes on a shared machine distorts wall-clock figures, far less these.
const CLK_TCK = 100;
function procTable() {
  const t = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      t.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), cmd });
    } catch { /* exited */ }
  }
  return t;
}
// CPU seconds of the generating thread: the Web Worker threads of the
// Chromium launched with this profile (its renderer processes' threads named
// "DedicatedWorker").
function chromiumWorkerCpuSeconds(profile) {
  const t = procTable();
  const roots = [...t].filter(([, p]) => p.cmd.includes(profile) && !p.cmd.includes('--type=')).map(([pid]) => pid);
  let ticks = 0;
  const todo = [...roots];
  const seen = new Set();
  while (todo.length) {
    const pid = todo.pop();
    if (seen.has(pid)) continue;
    seen.add(pid);
    try {
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const st = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        if (!st.includes('(DedicatedWorker')) continue;
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        ticks += Number(f[11]) + Number(f[12]);
      }
    } catch { /* exited */ }
    for (const [child, p] of t) if (p.ppid === pid) todo.push(child);
  }
  return ticks / CLK_TCK;
}

function nativeRound() {
  const out = execFileSync(causalgen, ['bench', 'generate', '--model', opt.model, '--positions', '1000',
                                       '--seconds', String(opt.seconds)]).toString();
  const row = out.split('\n').find((l) => /^\| 1000 \|/.test(l));
  const cps = Number(row.split('|')[2]);
  // The same work timed by CPU: `causalgen generate` of ~seconds of text,
  // less a 1-character run (start-up: reading and checking the model).
  const cpuOf = (tokens) => {
    const times = execFileSync('bash', ['-c', '"$0" generate --model "$1" --tokens "$2" --temperature 1 >/dev/null; times',
                                        causalgen, opt.model, String(tokens)]).toString().trim().split('\n').at(-1);
    return times.split(' ').map((x) => { const m = x.match(/(\d+)m([\d.]+)s/); return 60 * m[1] + Number(m[2]); })
      .reduce((a, b) => a + b, 0);
  };
  const n = Math.max(1000, Math.round(cps * opt.seconds));
  const cpu = cpuOf(n) - cpuOf(1);
  return { cps, cpuCps: cpu > 0 ? (n - 1) / cpu : 0, state: Number(row.split('|')[4]),
           header: out.split('\n').slice(0, 2).join('\n') };
}

async function browserRound(browser, url) {
  const { page } = browser;
  await page.goto(`${url}bench.html?model=${encodeURIComponent(modelRel)}&seconds=1&repeats=1&manual=1`);
  await page.waitForFunction(() => document.body.dataset.result !== '', null, { timeout: 600000 });  // warm-up
  const c0 = chromiumWorkerCpuSeconds(browser.profile);
  const r = await page.evaluate((s) => window.benchOnce(s), opt.seconds);
  const cpu = chromiumWorkerCpuSeconds(browser.profile) - c0;
  if (r.error) throw new Error(r.error);
  const x = r.results[0];
  return { cps: x.charsPerSec, cpuCps: cpu > 0 ? x.allChars / cpu : 0, state: r.stateBytes, ua: r.userAgent };
}

async function nodeRound(gen) {
  await gen.generate('', { tokens: 3000, temperature: 1.0, seed: 99 }).done;
  for (let n = 4000; ; n *= 2) {
    const c0 = process.cpuUsage();
    const { stats } = await gen.generate('', { tokens: n, temperature: 1.0, seed: 1, chunkMs: 50, keepText: false }).done;
    const c = process.cpuUsage(c0);
    if (stats.elapsedMs >= opt.seconds * 1000) {
      return { cps: stats.charsPerSec, cpuCps: n / ((c.user + c.system) / 1e6), state: stats.stateBytes };
    }
  }
}

const server = await startServer(web);
const browser = await launchChromium({ width: 900, height: 600 });
const { CausalGen } = await import(pathToFileURL(path.join(wasmBuild, 'npm', 'causalgen.mjs')).href);
const gen = await CausalGen.load(new Uint8Array(fs.readFileSync(opt.model)));

const rows = { native: [], chromium: [], node: [] };
const cpuRows = { native: [], chromium: [], node: [] };
let header = '', ua = '';
const states = {};
try {
  for (let r = 0; r < opt.rounds; ++r) {
    const n = nativeRound();
    const c = await browserRound(browser, server.url);
    const v = await nodeRound(gen);
    for (const [k, x] of [['native', n], ['chromium', c], ['node', v]]) {
      rows[k].push(x.cps); cpuRows[k].push(x.cpuCps); states[k] = x.state;
    }
    header = n.header; ua = c.ua;
    console.error(`round ${r + 1}: chars/s (per CPU second): native ${n.cps.toFixed(0)} (${n.cpuCps.toFixed(0)}), ` +
                  `chromium ${c.cps.toFixed(0)} (${c.cpuCps.toFixed(0)}), node ${v.cps.toFixed(0)} (${v.cpuCps.toFixed(0)})`);
  }
} finally {
  await browser.close();
  server.stop();
}

const best = (a) => Math.max(...a);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const pct = (a, b) => `${((100 * a) / b).toFixed(0)}%`;
const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? os.cpus()[0]?.model;
const chromiumVersion = (ua.match(/Chrome\/([\d.]+)/) ?? [])[1] ?? '?';
console.log(`model: ${path.relative(root, opt.model)}`);
console.log(header.split('\n')[1] ?? '');
console.log(`machine: ${cpu}, ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`${opt.rounds} rounds of ${opt.seconds} s each, alternating; temperature 1, no top-k/top-p\n`);
console.log('| runtime | best chars/s | median chars/s | vs native (best) | median chars per CPU-second | vs native (CPU) | state bytes |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
const nb = best(rows.native), nc = median(cpuRows.native);
for (const [name, label] of [['native', 'native x86-64 (`causalgen bench generate`, 1 thread)'],
                             ['chromium', `Chromium ${chromiumVersion} (wasm SIMD128, Web Worker)`],
                             ['node', `Node ${process.versions.node} (same wasm)`]]) {
  console.log(`| ${label} | ${best(rows[name]).toFixed(0)} | ${median(rows[name]).toFixed(0)} | ${pct(best(rows[name]), nb)} | ` +
              `${median(cpuRows[name]).toFixed(0)} | ${pct(median(cpuRows[name]), nc)} | ${states[name]} |`);
}
const perRound = rows.chromium.map((c, i) => (100 * c) / rows.native[i]);
console.log(`\nper round, Chromium / native (wall clock): ${perRound.map((r) => `${r.toFixed(0)}%`).join(', ')} (median ${median(perRound).toFixed(0)}%)`);
console.log(`Chromium / native, best against best (wall clock): ${pct(best(rows.chromium), nb)}; ` +
            `per CPU-second (medians): ${pct(median(cpuRows.chromium), nc)} (target >= 60%)`);
console.log('(per CPU-second: native = user+sys time of `causalgen generate` for ~the same text less start-up\n' +
            ' (it still includes one write(2) per character); Chromium = CPU time of\n' +
            ' its Web Worker thread; Node = process CPU time. Wall-clock figures depend on how the scheduler shares\n' +
            ' the cores with other processes; CPU-time figures much less.)');
process.exit(0);
