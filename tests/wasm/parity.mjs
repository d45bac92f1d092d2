// Node test of the WebAssembly module: for fixed models, prompts, seeds and
// sampling parameters it must produce exactly the bytes the native CLI
// prints; and errors from the core must reach JS with the core's message.
//
//   node tests/wasm/parity.mjs --causalgen build/web-native/tools/causalgen \
//        --module build/web [--models DIR_OR_FILE ...]
//
// --module is a folder holding causalgen.mjs, causalgen_core.mjs and
// causalgen_core.wasm (build/web after wasm/build.sh). Prints one line per
// check and a final "node tests: N passed, M failed"; exits 1 on any failure.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

function parseArgs(argv) {
  const out = { models: [] };
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--causalgen') out.causalgen = argv[++i];
    else if (a === '--module') out.module = argv[++i];
    else if (a === '--models') while (argv[i + 1] && !argv[i + 1].startsWith('--')) out.models.push(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!out.causalgen || !out.module) {
    console.error('usage: parity.mjs --causalgen PATH --module DIR [--models DIR_OR_FILE ...]');
    process.exit(2);
  }
  return out;
}

const args = parseArgs(process.argv);
const { CausalGen, CausalGenError } = await import(
  pathToFileURL(path.resolve(args.module, 'causalgen.mjs')).href);

let passed = 0, failed = 0;
function report(ok, name, detail = '') {
  if (ok) ++passed; else ++failed;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` -- ${detail}` : ''}`);
}
async function check(name, fn) {
  try {
    const detail = await fn();
    report(true, name, typeof detail === 'string' ? detail : '');
  } catch (e) {
    report(false, name, e?.message ?? String(e));
  }
}
function assert(cond, message) { if (!cond) throw new Error(message); }

function modelFiles() {
  const files = [];
  for (const m of args.models) {
    if (!fs.existsSync(m)) { console.log(`(skipping ${m}: not there)`); continue; }
    if (fs.statSync(m).isDirectory()) {
      for (const f of fs.readdirSync(m).sort()) if (f.endsWith('.cgm')) files.push(path.join(m, f));
    } else {
      files.push(m);
    }
  }
  return files;
}

function native(model, o) {
  const argv = ['generate', '--model', model, '--tokens', String(o.tokens)];
  if (o.prompt !== undefined) argv.push('--prompt', o.prompt);
  if (o.seed !== undefined) argv.push('--seed', String(o.seed));
  if (o.temperature !== undefined) argv.push('--temperature', String(o.temperature));
  if (o.topK !== undefined) argv.push('--top-k', String(o.topK));
  if (o.topP !== undefined) argv.push('--top-p', String(o.topP));
  return execFileSync(args.causalgen, argv, { maxBuffer: 1 << 26 });
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; ++i) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

// A prompt made of characters the model knows.
function promptFor(gen, wanted) {
  const known = new Set(gen.info().vocab);
  const chars = [...wanted].filter((c) => known.has(c));
  return chars.length ? chars.join('') : gen.info().vocab.slice(1, 6).join('');
}

const cases = (gen) => {
  const latin = gen.info().vocab.filter((c) => c.codePointAt(0) >= 0xc0).slice(0, 3).join('');
  return [
    { name: 'CLI defaults, no prompt', o: { tokens: 300 } },
    { name: 'prompt, seed 42, T=1', o: { tokens: 300, prompt: promptFor(gen, 'ROMEO:\nBut soft'), seed: 42, temperature: 1.0 } },
    { name: 'top-k 5, top-p 0.9, T=0.7', o: { tokens: 300, prompt: promptFor(gen, 'First Citizen:'), seed: 7, temperature: 0.7, topK: 5, topP: 0.9 } },
    { name: 'greedy', o: { tokens: 200, prompt: promptFor(gen, 'KING'), temperature: 0 } },
    { name: 'seed 2^64-1, top-p 0.5', o: { tokens: 200, seed: '18446744073709551615', topP: 0.5 } },
    { name: 'multi-byte prompt', o: { tokens: 100, prompt: promptFor(gen, `A${latin}b`), seed: 3 } },
    { name: 'zero tokens', o: { tokens: 0, prompt: promptFor(gen, 'AB') } },
    { name: 'one token', o: { tokens: 1, seed: 5 } },
    { name: '3000 characters (past any window)', o: { tokens: 3000, seed: 11, temperature: 1.0 } },
  ];
};

async function wasmText(gen, o) {
  const opts = { tokens: o.tokens };
  for (const k of ['seed', 'temperature', 'topK', 'topP']) if (o[k] !== undefined) opts[k] = o[k];
  const { text } = await gen.generate(o.prompt, opts).done;
  return Buffer.from((o.prompt ?? '') + text + '\n', 'utf8');
}

// --- parity with the native CLI -------------------------------------------
const files = modelFiles();
assert(files.length > 0, 'no model files given');
for (const file of files) {
  const label = path.basename(file);
  let gen;
  try {
    gen = await CausalGen.load(new Uint8Array(fs.readFileSync(file)));
  } catch (e) {
    report(false, `${label}: load`, e.message);
    continue;
  }
  const i = gen.info();
  console.log(`# ${label}: ${i.nLayer}x${i.nEmbd} [${i.mixers.join(',')}], vocab ${i.vocabSize}, ` +
              `T ${i.blockSize}, ${i.parameters} parameters, state ${i.stateBytes} bytes`);
  for (const c of cases(gen)) {
    await check(`${label}: ${c.name}`, async () => {
      const want = native(file, c.o);
      const got = await wasmText(gen, c.o);
      const at = firstDifference(want, got);
      assert(at < 0, `differs at byte ${at} of ${want.length}: native ${JSON.stringify(
        want.subarray(at, at + 20).toString())} vs wasm ${JSON.stringify(got.subarray(at, at + 20).toString())}`);
      return `${want.length} bytes identical`;
    });
  }
  gen.dispose();
}

// --- the API: errors, stop, stats, iteration --------------------------------
const base = files.find((f) => /tiny/.test(path.basename(f))) ?? files[0];
const good = new Uint8Array(fs.readFileSync(base));

function nativeError(bytes, extraArgs = [], file = null) {
  let f = file;
  if (!f) {
    f = path.join(fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'cg-parity-')), 'model.cgm');
    fs.writeFileSync(f, bytes);
  }
  const r = spawnSync(args.causalgen, ['generate', '--model', f, '--tokens', '5', ...extraArgs]);
  return r.stderr.toString();
}

async function expectLoadError(name, bytes, fragment) {
  await check(name, async () => {
    let error = null;
    try { await CausalGen.load(bytes); } catch (e) { error = e; }
    assert(error instanceof CausalGenError, `expected a CausalGenError, got ${error}`);
    assert(error.message.includes(fragment), `message "${error.message}" lacks "${fragment}"`);
    const nat = nativeError(bytes);
    assert(nat.includes(error.message), `native says "${nat.trim()}", wasm "${error.message}"`);
    return `"${error.message}" (${error.status})`;
  });
}

{
  const corrupt = good.slice();
  corrupt[Math.floor(corrupt.length / 2)] ^= 0x40;
  await expectLoadError('corrupt model rejects with the core message', corrupt, 'CRC-32 mismatch');
  await expectLoadError('truncated model', good.slice(0, 1000), 'truncated');
  await expectLoadError('foreign file (PNG)', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82]), 'not a causalgen model file');
  await expectLoadError('empty file', new Uint8Array(0), 'too short');
}

const gen = await CausalGen.load(good);

await check('unknown prompt character rejects with the core message', async () => {
  let error = null;
  try { await gen.generate('OK \u2603', { tokens: 5 }).done; } catch (e) { error = e; }
  assert(error instanceof CausalGenError, `expected CausalGenError, got ${error}`);
  assert(error.message.includes('U+2603') && error.status === 'unknown character', error.message);
  const nat = nativeError(null, ['--prompt', 'OK \u2603'], base);
  assert(nat.includes(error.message), `native "${nat.trim()}" vs wasm "${error.message}"`);
  return error.message;
});

await check('bad temperature throws the core message', async () => {
  let error = null;
  try { gen.generate('', { temperature: -1 }); } catch (e) { error = e; }
  assert(error instanceof CausalGenError && /temperature -1 outside/.test(error.message), String(error));
  try { gen.generate('', { topP: 0 }); } catch (e) { error = e; }
  assert(/top-p 0 outside/.test(error.message), error.message);
  return error.message;
});

await check('bad tokens / seed throw', async () => {
  for (const o of [{ tokens: -1 }, { tokens: 1.5 }, { seed: -1 }, { seed: 'x' }, { topK: -2 }]) {
    let error = null;
    try { gen.generate('', o); } catch (e) { error = e; }
    assert(error instanceof CausalGenError, `${JSON.stringify(o)} did not throw`);
  }
});

await check('stop() stops a long generation', async () => {
  let chunks = 0;
  const run = gen.generate('', { tokens: 10000000, onChunk: () => { if (++chunks === 3) run.stop(); } });
  const t0 = Date.now();
  const result = await run.done;
  assert(result.stopped, 'not marked stopped');
  assert(result.text.length > 0 && result.text.length < 10000000, `text length ${result.text.length}`);
  assert(!gen.running, 'still running');
  return `stopped after ${result.text.length} chars, ${Date.now() - t0} ms`;
});

await check('a second generate() while running throws; the model works after', async () => {
  const run = gen.generate('', { tokens: 1000000 });
  let error = null;
  try { gen.generate('', { tokens: 1 }); } catch (e) { error = e; }
  gen.stop();
  await run.done;
  assert(error && /already running/.test(error.message), String(error));
  const { text } = await gen.generate('', { tokens: 10, seed: 1 }).done;
  assert([...text].length === 10, 'no text after stop');
});

await check('state bytes and wasm memory stay constant while generating', async () => {
  const seen = new Set();
  const heap = new Set();
  const positions = [];
  await gen.generate('', { tokens: 20000, onChunk: (t, s) => {
    seen.add(s.stateBytes); heap.add(s.heapBytes); positions.push(s.position);
  } }).done;
  assert(seen.size === 1 && [...seen][0] === gen.info().stateBytes, `state bytes ${[...seen]}`);
  assert(heap.size === 1, `heap grew: ${[...heap]}`);
  assert(positions.at(-1) === 20000, `position ${positions.at(-1)}`);
  const s = gen.stats;
  assert(s.generated === 20000 && s.charsPerSec > 0, JSON.stringify(s));
  return `${gen.info().stateBytes} state bytes at every one of ${positions.length} chunks; ${Math.round(s.charsPerSec)} chars/s`;
});

await check('async iteration yields the characters of done, one at a time', async () => {
  const run = gen.generate('', { tokens: 500, seed: 9 });
  const chars = [];
  for await (const c of run) chars.push(c);
  const { text } = await run.done;
  assert(chars.join('') === text && chars.length === 500 && chars.every((c) => [...c].length === 1),
         'iteration differs');
});

await check('chunks() yields the same text as done', async () => {
  const run = gen.generate('', { tokens: 500, seed: 9 });
  let streamed = '';
  for await (const t of run.chunks()) streamed += t;
  assert(streamed === (await run.done).text, 'chunks differ');
});

await check('dispose() during a generation ends it cleanly', async () => {
  const other = await CausalGen.load(good);
  let chunks = 0;
  const run = other.generate('', { tokens: 1000000, onChunk: () => { if (++chunks === 2) other.dispose(); } });
  const result = await run.done;
  assert(result.stopped && !other.running, 'not stopped');
  let error = null;
  try { other.generate('', { tokens: 1 }); } catch (e) { error = e; }
  assert(error && /disposed/.test(error.message), `generate after dispose: ${error}`);
});

gen.dispose();
console.log(`node tests: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
