// The npm package tested as a user installs it:
//   1. `npm pack` of the built package (build/wasm/npm): the file list and the
//      version (the top-level CMake project's);
//   2. `npm install` of the tarball into a fresh project (mktemp -d);
//   3. Node, in that project: text identical to the native CLI (consumer/node_check.mjs),
//      and the package README's example run as it is;
//   4. `tsc --noEmit` of consumer/typed.ts against the installed declarations
//      (TypeScript pinned in tests/web/package-lock.json);
//   5. Chromium (Playwright): a page importing the installed package through an
//      import map; CausalGen and CausalGenWorker give the CLI's text; a worker generation stops
//      by AbortSignal and by leaving the loop; a corrupt file rejects with the core's message.
//
//   node tests/npm/test_package.mjs --package build/wasm/npm --causalgen build/release/tools/causalgen \
//        --model FILE [--model FILE ...]
//
// (tests/npm/bench_package.mjs measures the installed package's speed.)
// Last line of the tests: "npm tests: N passed, M failed"; exit 1 on any failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium, root, startServer } from '../web/common.mjs';
import { assert, nativeText, packAndInstall, projectVersion, run, sameText } from './install.mjs';

const tsc = path.join(root, 'tests', 'web', 'node_modules', 'typescript', 'bin', 'tsc');

function parseArgs(argv) {
  const o = { models: [] };
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--package') o.pkg = path.resolve(argv[++i]);
    else if (a === '--causalgen') o.causalgen = path.resolve(argv[++i]);
    else if (a === '--model') o.models.push(path.resolve(argv[++i]));
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.pkg || !o.causalgen || !o.models.length) {
    console.error('usage: test_package.mjs --package DIR --causalgen PATH --model FILE [--model FILE ...]');
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

async function testPackage(project) {
  let packed = null;
  const installed = await check('npm pack, then npm install of the tarball into a fresh project', () => {
    packed = packAndInstall(args.pkg, project);
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
    const file = example.match(/CausalGen\.load\('([^']+)'\)/)?.[1];
    assert(file, 'the example does not load a model file by name');
    fs.copyFileSync(model, path.join(project, file));  // whatever it is called there
    fs.writeFileSync(path.join(project, 'readme_example.mjs'), example);
    const r = run('node', ['readme_example.mjs'], project);
    assert(r.status === 0, `exit ${r.status}: ${r.stderr}`);
    const text = r.stdout.slice(r.stdout.indexOf('\n') + 1);  // after the info() line
    sameText(`ROMEO:${text}\n`, nativeText(args.causalgen, model, 'ROMEO:', { tokens: 500, seed: 1337, temperature: 0.8, topK: 0, topP: 1 }));
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
            const want = nativeText(args.causalgen, m, prompt, o);
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
    await check('Chromium CausalGenWorker: leaving the for-await loop stops; the next generation is the CLI\'s', async () => {
      const r = await page.evaluate((u) => window.breakAfter(u, 200), modelUrls[0]);
      assert(r.n === 200 && !r.running, JSON.stringify(r));
      const o = { tokens: 300, seed: 8, temperature: 0.8, topK: 0, topP: 1 };
      const again = await page.evaluate(([u, opt]) => window.generateWith('worker', u, 'ROMEO:', opt), [modelUrls[0], o]);
      sameText(`ROMEO:${again.text}\n`, nativeText(args.causalgen, args.models[0], 'ROMEO:', o));
    });
    await check('Chromium CausalGenWorker: a corrupt model rejects with the core\'s message', async () => {
      const bytes = [...fs.readFileSync(args.models[0])];
      bytes[bytes.length >> 1] ^= 0x10;
      const e = await page.evaluate((b) => window.loadBytes(b), bytes);
      assert(e && e.name === 'CausalGenError' && /CRC-32 mismatch/.test(e.message), JSON.stringify(e));
      return `${e.status}: ${e.message}`;
    });
    await check('Chromium: no errors in the page console', () => {
      assert(pageErrors.length === 0, pageErrors.join(' | '));
    });
  } finally {
    await browser.close();
    server.stop();
  }
}

const project = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'cg-npm-consumer-'));
try {
  await testPackage(project);
  console.log(`npm tests: ${passed} passed, ${failed} failed`);
} finally {
  fs.rmSync(project, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
