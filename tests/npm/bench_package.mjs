// Benchmark (not a test): the installed npm package's generation speed in
// Node and in Chromium beside the native CLI, same model, in one run.
//
//   node tests/npm/bench_package.mjs --package build/wasm/npm --causalgen build/release/tools/causalgen \
//        --model examples/models/tiny-shakespeare-max-avg.cgm [--rounds 5] [--tokens 20000]
//
// The package is packed and installed into a fresh project (tests/npm/install.mjs).
// Each round, one after the other: `causalgen generate --tokens N > /dev/null`;
// Node reading N characters with `for await (const c of gen.generate(...))`;
// the same in Chromium with CausalGen (the page's thread) and with
// CausalGenWorker (a Web Worker; the page iterates). Temperature 1, seed 1,
// no prompt; each package run after a 3,000-character warm-up. Figures: chars/s
// by wall clock, and chars per CPU-second (native: the process; Node: its
// process; Chromium: all its processes), which the load from other processes
// distorts far less. Prints a Markdown table (docs/benchmarks.md). Linux only.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium, startServer } from '../web/common.mjs';
import { assert, packAndInstall, root, run } from './install.mjs';

const args = { rounds: 5, tokens: 20000 };
for (let i = 2; i < process.argv.length; ++i) {
  const [a, v] = [process.argv[i], process.argv[++i]];
  if (a === '--package') args.pkg = path.resolve(v);
  else if (a === '--causalgen') args.causalgen = path.resolve(v);
  else if (a === '--model') args.model = path.resolve(v);
  else if (a === '--rounds') args.rounds = Number(v);
  else if (a === '--tokens') args.tokens = Number(v);
  else throw new Error(`unknown argument ${a}`);
}
if (!args.pkg || !args.causalgen || !args.model) {
  console.error('usage: bench_package.mjs --package DIR --causalgen PATH --model FILE [--rounds N] [--tokens N]');
  process.exit(2);
}
const N = args.tokens;

// user + system seconds of a process and its descendants, from /proc.
const CLK_TCK = 100;
function processTable() {
  const t = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      t.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]),
                         cmd: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8') });
    } catch { /* exited */ }
  }
  return t;
}
function chromiumCpuSeconds(profile) {
  const t = processTable();
  const todo = [...t].filter(([, p]) => p.cmd.includes(profile)).map(([pid]) => pid);
  const seen = new Set();
  let ticks = 0;
  while (todo.length) {
    const pid = todo.pop();
    if (seen.has(pid)) continue;
    seen.add(pid);
    ticks += t.get(pid)?.ticks ?? 0;
    for (const [child, p] of t) if (p.ppid === pid) todo.push(child);
  }
  return ticks / CLK_TCK;
}

function nativeRound() {
  const t0 = performance.now();
  const out = execFileSync('bash', ['-c', '"$0" generate --model "$1" --tokens "$2" --temperature 1 --seed 1 >/dev/null; times',
                                    args.causalgen, args.model, String(N)]).toString();
  const ms = performance.now() - t0;
  const children = out.trim().split('\n').at(-1);  // `times`: the children's user and system time
  const cpu = children.split(' ').map((x) => { const m = x.match(/(\d+)m([\d.]+)s/); return 60 * m[1] + Number(m[2]); })
    .reduce((a, b) => a + b, 0);
  return { cps: N / (ms / 1000), cpuCps: N / cpu };
}

function nodeRound(project) {
  const r = run('node', ['node_check.mjs', '--model', path.join(project, 'bench.cgm'), '--bench', String(N)], project);
  assert(r.status === 0, r.stderr);
  const x = JSON.parse(r.stdout.trim().split('\n').at(-1));
  assert(x.chars === N, `node: ${x.chars} characters of ${N}`);
  return { cps: N / (x.ms / 1000), cpuCps: N / (x.cpuMs / 1000) };
}

async function chromiumRound(browser, kind) {
  const warm = { tokens: 3000, temperature: 1, seed: 99 };
  await browser.page.evaluate(([k, o]) => window.generateWith(k, 'bench.cgm', '', o), [kind, warm]);
  const c0 = chromiumCpuSeconds(browser.profile);
  const r = await browser.page.evaluate(([k, n]) => window.generateWith(k, 'bench.cgm', '',
    { tokens: n, temperature: 1, seed: 1, keepText: false }), [kind, N]);
  const cpu = chromiumCpuSeconds(browser.profile) - c0;
  assert(r.chars === N, `${kind}: ${r.chars} characters of ${N}`);
  return { cps: N / (r.ms / 1000), cpuCps: N / cpu };
}

function table(rows) {
  const best = (a) => Math.max(...a);
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const chromium = (run('/usr/bin/chromium', ['--version']).stdout.match(/Chromium [\d.]+/) ?? ['Chromium'])[0];
  const cpuName = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1];
  console.log(`model: ${path.relative(root, args.model)}; ${N} characters per run, ${args.rounds} rounds, alternating`);
  console.log(`machine: ${cpuName}, ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  console.log('| runtime | best chars/s | median chars/s | median chars per CPU-second | vs native (CPU) |');
  console.log('|---|---:|---:|---:|---:|');
  const labels = {
    native: 'native x86-64 CLI (`causalgen generate > /dev/null`)',
    node: `npm package in Node ${process.versions.node} (\`CausalGen\`)`,
    main: `npm package in ${chromium} (\`CausalGen\`, page thread)`,
    worker: `npm package in ${chromium} (\`CausalGenWorker\`, Web Worker)`,
  };
  const nativeCpu = median(rows.native.map((x) => x.cpuCps));
  for (const [k, label] of Object.entries(labels)) {
    const cps = rows[k].map((x) => x.cps), cpu = rows[k].map((x) => x.cpuCps);
    console.log(`| ${label} | ${best(cps).toFixed(0)} | ${median(cps).toFixed(0)} | ${median(cpu).toFixed(0)} | ` +
                `${((100 * median(cpu)) / nativeCpu).toFixed(0)}% |`);
  }
}

const project = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'cg-npm-bench-'));
try {
  packAndInstall(args.pkg, project);
  fs.copyFileSync(args.model, path.join(project, 'bench.cgm'));
  const server = await startServer(project);
  const browser = await launchChromium({ width: 800, height: 600 });
  const rows = { native: [], node: [], main: [], worker: [] };
  try {
    await browser.page.goto(server.url);
    await browser.page.waitForFunction(() => document.body.dataset.ready === 'yes', null, { timeout: 30000 });
    for (let r = 0; r < args.rounds; ++r) {
      rows.native.push(nativeRound());
      rows.node.push(nodeRound(project));
      rows.main.push(await chromiumRound(browser, 'main'));
      rows.worker.push(await chromiumRound(browser, 'worker'));
      console.error(`round ${r + 1}: chars/s (per CPU-second): ${Object.entries(rows)
        .map(([k, v]) => `${k} ${v.at(-1).cps.toFixed(0)} (${v.at(-1).cpuCps.toFixed(0)})`).join(', ')}`);
    }
  } finally {
    await browser.close();
    server.stop();
  }
  table(rows);
} finally {
  fs.rmSync(project, { recursive: true, force: true });
}
