// The npm package tested as a user installs it:
//   1. `npm pack` of the built package (build/wasm/npm): the file list and the
//      version (the top-level CMake project's);
//   2. `npm install` of the tarball into a fresh project (mktemp -d);
//   3. Node, in that project: text identical to the native CLI (consumer/node_check.mjs),
//      and the package README's example run as it is;
//   4. `tsc --noEmit` of consumer/typed.ts against the installed declarations
//      (TypeScript pinned in tests/web/package-lock.json);
//   5. Chromium (Playwright): a page importing the installed package through an
//      import map; CausalGen and CausalGenWorker give the CLI's text; stop by AbortSignal.
//
//   node tests/npm/test_package.mjs --package build/wasm/npm --causalgen build/release/tools/causalgen \
//        --model FILE [--model FILE ...] [--bench ROUNDS [--seconds S]]
//
// --bench: instead of the tests, chars/s of the installed package in Node and
// in Chromium (main thread and Web Worker) beside `causalgen bench generate`,
// alternating round by round; prints a Markdown table (docs/benchmarks.md).
// Last line of the tests: "npm tests: N passed, M failed"; exit 1 on any failure.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, root, startServer } from '../web/common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const consumerFiles = path.join(here, 'consumer');
const tsc = path.join(root, 'tests', 'web', 'node_modules', 'typescript', 'bin', 'tsc');

function parseArgs(argv) {
  const o = { models: [], bench: 0, seconds: 3 };
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--package') o.pkg = path.resolve(argv[++i]);
    else if (a === '--causalgen') o.causalgen = path.resolve(argv[++i]);
    else if (a === '--model') o.models.push(path.resolve(argv[++i]));
    else if (a === '--bench') o.bench = Number(argv[++i]);
    else if (a === '--seconds') o.seconds = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.pkg || !o.causalgen || !o.models.length) {
    console.error('usage: test_package.mjs --package DIR --causalgen PATH --model FILE [--model FILE] [--bench ROUNDS [--seconds S]]');
    process.exit(2);
  }
  return o;
}
const args = parseArgs(process.argv);

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    const detail = await fn();
    ++passed;
    console.log(`PASS ${name}${typeof detail === 'string' && detail ? ` -- ${detail}` : ''}`);
    return true;
  } catch (e) {
    ++failed;
    console.log(`FAIL ${name} -- ${e?.message ?? e}`);
    return false;
  }
}
function assert(cond, message) { if (!cond) throw new Error(message); }
const run = (cmd, argv, cwd) => spawnSync(cmd, argv, { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });

function projectVersion() {
  const line = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8').match(/^project\(causalgen VERSION (\S+)/m);
  return line?.[1];
}

// --- 1, 2: pack and install into a fresh project ------------------------------
function packAndInstall(project) {
  const r = run('npm', ['pack', '--json', '--pack-destination', project], args.pkg);
  assert(r.status === 0, `npm pack failed: ${r.stderr}`);
  const [packed] = JSON.parse(r.stdout);
  fs.writeFileSync(path.join(project, 'package.json'),
                   JSON.stringify({ name: 'causalgen-consumer', private: true, type: 'module' }, null, 2));
  const i = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `./${packed.filename}`], project);
  assert(i.status === 0, `npm install of the tarball failed: ${i.stderr}`);
  for (const f of fs.readdirSync(consumerFiles)) fs.copyFileSync(path.join(consumerFiles, f), path.join(project, f));
  return packed;
}

function native(model, prompt, o) {
  const argv = ['generate', '--model', model, '--tokens', String(o.tokens), '--seed', String(o.seed),
                '--temperature', String(o.temperature), '--top-k', String(o.topK), '--top-p', String(o.topP)];
  if (prompt) argv.push('--prompt', prompt);
  return execFileSync(args.causalgen, argv, { maxBuffer: 1 << 26 }).toString('utf8');
}

function sameText(got, want) {
  if (got === want) return;
  let i = 0;
  while (got[i] === want[i]) ++i;
  throw new Error(`differs at character ${i}: package ${JSON.stringify(got.slice(i, i + 20))} vs CLI ${JSON.stringify(want.slice(i, i + 20))}`);
}

async function testPackage(project) {
  let packed = null;
  const installed = await check('npm pack, then npm install of the tarball into a fresh project', () => {
    packed = packAndInstall(project);
    return `${packed.filename}, ${packed.entryCount} files, ${packed.size} bytes, in ${project}`;
  });
  if (!installed) return;

  await check('the tarball holds the API, declarations, core, README and LICENSE; version = the project\'s', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'causalgen.mjs', 'causalgen.d.ts', 'generation.mjs',
                     'worker_client.mjs', 'causalgen_worker.mjs', 'causalgen_worker.d.ts', 'causalgen_core.mjs',
                     'causalgen_core.wasm']) {
      assert(files.includes(f), `${f} missing from the tarball (${files.join(', ')})`);
    }
    const pj = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'causalgen', 'package.json'), 'utf8'));
    assert(pj.version === projectVersion(), `package version ${pj.version}, project ${projectVersion()}`);
    assert(pj.types && pj.exports?.['.']?.types, 'no types in package.json');
    return `causalgen@${pj.version}: ${files.join(' ')}`;
  });

  for (const model of args.models) {
    await check(`Node: the installed package on ${path.basename(model)} (consumer/node_check.mjs)`, () => {
      const r = run('node', ['node_check.mjs', '--causalgen', args.causalgen, '--model', model], project);
      process.stdout.write(r.stdout.split('\n').filter(Boolean).map((l) => `    ${l}\n`).join(''));
      assert(r.status === 0 && /node package: \d+ passed, 0 failed/.test(r.stdout), `exit ${r.status} ${r.stderr}`);
    });
  }

  await check('the README\'s example runs in Node and prints the CLI\'s text', () => {
    const readme = fs.readFileSync(path.join(project, 'node_modules', 'causalgen', 'README.md'), 'utf8');
    const example = readme.match(/```js\n([\s\S]*?)```/)?.[1];
    assert(example && example.split('\n').length <= 12, 'no example of about ten lines in README.md');
    const model = args.models.at(-1);
    fs.copyFileSync(model, path.join(project, 'tiny-shakespeare-max-avg.cgm'));
    fs.writeFileSync(path.join(project, 'readme_example.mjs'), example);
    const r = run('node', ['readme_example.mjs'], project);
    assert(r.status === 0, `exit ${r.status}: ${r.stderr}`);
    const text = r.stdout.slice(r.stdout.indexOf('\n') + 1);  // after the info() line
    sameText(`ROMEO:${text}\n`, native(model, 'ROMEO:', { tokens: 500, seed: 1337, temperature: 0.8, topK: 0, topP: 1 }));
    return `${example.trim().split('\n').length} lines; ${r.stdout.split('\n')[0]}`;
  });

  await check('tsc --noEmit (strict) of consumer/typed.ts against the installed declarations', () => {
    assert(fs.existsSync(tsc), `${tsc} missing (npm ci in tests/web)`);
    const r = run('node', [tsc, '--noEmit', '-p', 'tsconfig.json'], project);
    assert(r.status === 0, `tsc: ${(r.stdout + r.stderr).trim()}`);
    return `TypeScript ${JSON.parse(fs.readFileSync(path.join(tsc, '..', '..', 'package.json'), 'utf8')).version}`;
  });

  await testChromium(project);
}

// --- 5: Chromium --------------------------------------------------------------
async function testChromium(project) {
  const modelUrls = args.models.map((m, i) => {
    const name = `model-${i}.cgm`;
    fs.copyFileSync(m, path.join(project, name));
    return name;
  });
  const server = await startServer(project);
  const browser = await launchChromium({ width: 800, height: 600 });
  const { page } = browser;
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  try {
    const opened = await check('Chromium: a page imports the installed package (import map)', async () => {
      await page.goto(server.url);
      await page.waitForFunction(() => document.body.dataset.ready === 'yes', null, { timeout: 30000 });
    });
    if (!opened) return;
    const cases = [
      { prompt: 'ROMEO:', o: { tokens: 400, seed: 1337, temperature: 0.8, topK: 0, topP: 1 } },
      { prompt: '', o: { tokens: 800, seed: '2024', temperature: 1.1, topK: 10, topP: 0.9 } },
    ];
    for (const [i, m] of args.models.entries()) {
      for (const kind of ['main', 'worker']) {
        for (const { prompt, o } of cases) {
          await check(`Chromium ${kind === 'main' ? 'CausalGen' : 'CausalGenWorker'}: ${path.basename(m)}, ` +
                      `prompt ${JSON.stringify(prompt)}, seed ${o.seed} == CLI`, async () => {
            const r = await page.evaluate(([k, u, p, opt]) => window.generateWith(k, u, p, opt),
                                          [kind, modelUrls[i], prompt, o]);
            const want = native(m, prompt, o);
            sameText(prompt + r.text + '\n', want);
            return `${[...want].length} characters identical`;
          });
        }
      }
    }
    await check('Chromium CausalGenWorker: an AbortSignal stops a long generation', async () => {
      const r = await page.evaluate((u) => window.abortAfter(u, 300), modelUrls[0]);
      assert(r.n === 300 && !r.running, JSON.stringify(r));
      return `${r.n} characters, then stopped`;
    });
    await check('Chromium: no errors in the page console', () => {
      assert(pageErrors.length === 0, pageErrors.join(' | '));
    });
  } finally {
    await browser.close();
    server.stop();
  }
}

// --- --bench: chars/s side by side ------------------------------------------------
function chromiumVersion() {
  const r = run(process.env.CHROMIUM || '/usr/bin/chromium', ['--version']);
  return (r.stdout.match(/Chromium [\d.]+/) ?? ['Chromium'])[0];
}

function nativeChars(model) {
  const out = execFileSync(args.causalgen, ['bench', 'generate', '--model', model, '--positions', '1000',
                                            '--seconds', String(args.seconds)]).toString();
  return Number(out.split('\n').find((l) => /^\| 1000 \|/.test(l)).split('|')[2]);
}

async function bench(project) {
  packAndInstall(project);
  const model = args.models[0];
  fs.copyFileSync(model, path.join(project, 'bench.cgm'));
  const server = await startServer(project);
  const browser = await launchChromium({ width: 800, height: 600 });
  const rows = { native: [], node: [], main: [], worker: [] };
  try {
    await browser.page.goto(server.url);
    await browser.page.waitForFunction(() => document.body.dataset.ready === 'yes', null, { timeout: 30000 });
    // Characters for ~`seconds` of work, from a first native figure.
    const tokens = Math.max(20000, Math.round(nativeChars(model) * args.seconds * 0.4));
    const page = async (kind) => {
      const o = { tokens: 3000, temperature: 1, seed: 99 };
      await browser.page.evaluate(([k, opt]) => window.generateWith(k, 'bench.cgm', '', opt), [kind, o]);  // warm-up
      const r = await browser.page.evaluate(([k, n]) => window.generateWith(k, 'bench.cgm', '',
        { tokens: n, temperature: 1, seed: 1, keepText: false }), [kind, tokens]);
      return r.chars / (r.ms / 1000);
    };
    for (let r = 0; r < args.bench; ++r) {
      rows.native.push(nativeChars(model));
      const n = run('node', ['node_check.mjs', '--model', path.join(project, 'bench.cgm'), '--bench', String(tokens)], project);
      rows.node.push(JSON.parse(n.stdout.trim().split('\n').at(-1)).charsPerSec);
      rows.main.push(await page('main'));
      rows.worker.push(await page('worker'));
      console.error(`round ${r + 1}: ${Object.entries(rows).map(([k, v]) => `${k} ${v.at(-1).toFixed(0)}`).join(', ')}`);
    }
  } finally {
    await browser.close();
    server.stop();
  }
  const best = (a) => Math.max(...a);
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1];
  console.log(`model: ${path.relative(root, model)}; machine: ${cpu}, ${os.cpus().length} cores, ` +
              `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`${args.bench} rounds, alternating; temperature 1, no top-k/top-p; package: for await over characters\n`);
  console.log('| runtime | best chars/s | median chars/s | vs native (best) |');
  console.log('|---|---:|---:|---:|');
  const labels = {
    native: 'native x86-64 (`causalgen bench generate`, 1 thread)',
    node: `npm package in Node ${process.versions.node} (\`CausalGen\`)`,
    main: `npm package in ${chromiumVersion()} (\`CausalGen\`, main thread)`,
    worker: 'npm package in Chromium (`CausalGenWorker`, Web Worker)',
  };
  for (const [k, label] of Object.entries(labels)) {
    console.log(`| ${label} | ${best(rows[k]).toFixed(0)} | ${median(rows[k]).toFixed(0)} | ` +
                `${((100 * best(rows[k])) / best(rows.native)).toFixed(0)}% |`);
  }
}

const project = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'cg-npm-consumer-'));
try {
  if (args.bench) {
    await bench(project);
  } else {
    await testPackage(project);
    console.log(`npm tests: ${passed} passed, ${failed} failed`);
  }
} finally {
  fs.rmSync(project, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
