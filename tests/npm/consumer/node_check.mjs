// Runs inside a fresh project that installed the packed `causalgen` tarball
// (copied there by tests/npm/test_package.mjs): the package as a user gets it.
//
//   node node_check.mjs --causalgen PATH --model FILE [--bench TOKENS]
//
// Checks: `causalgen` resolves to this project's node_modules; the text equals
// the native CLI's byte for byte (several options); loading by file path, file
// URL and ArrayBuffer; info()/stateBytes(); character iteration; stopping by
// AbortSignal and by leaving the loop. --bench N instead prints one JSON line
// { chars, ms, cpuMs } for N characters read through `for await`, after a warm-up.
// Last line: "node package: N passed, M failed".
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CausalGen, CausalGenError } from 'causalgen';

const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const causalgen = arg('--causalgen');
const model = arg('--model');

if (arg('--bench')) {
  const tokens = Number(arg('--bench'));
  const gen = await CausalGen.load(model);
  for await (const c of gen.generate('', { tokens: 3000, temperature: 1, seed: 99 })) void c;  // JIT tiers
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let n = 0;
  for await (const c of gen.generate('', { tokens, temperature: 1, seed: 1, keepText: false })) n += [...c].length;
  const cpu = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ chars: n, ms, cpuMs: (cpu.user + cpu.system) / 1000 }));
  process.exit(0);
}

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    const detail = await fn();
    ++passed;
    console.log(`PASS ${name}${detail ? ` -- ${detail}` : ''}`);
  } catch (e) {
    ++failed;
    console.log(`FAIL ${name} -- ${e?.message ?? e}`);
  }
}
function assert(cond, message) { if (!cond) throw new Error(message); }

function native(prompt, o) {
  const argv = ['generate', '--model', model, '--tokens', String(o.tokens), '--seed', String(o.seed),
                '--temperature', String(o.temperature), '--top-k', String(o.topK), '--top-p', String(o.topP)];
  if (prompt) argv.push('--prompt', prompt);
  return execFileSync(causalgen, argv, { maxBuffer: 1 << 26 }).toString('utf8');
}

function sameText(got, want) {
  if (got === want) return;
  let i = 0;
  while (got[i] === want[i]) ++i;
  throw new Error(`differs at character ${i}: package ${JSON.stringify(got.slice(i, i + 20))} vs CLI ${JSON.stringify(want.slice(i, i + 20))}`);
}

await check('`causalgen` resolves to this project\'s node_modules', () => {
  const at = fileURLToPath(import.meta.resolve('causalgen'));
  const here = path.dirname(fileURLToPath(import.meta.url));
  assert(at.startsWith(path.join(here, 'node_modules', 'causalgen') + path.sep), at);
  return path.relative(here, at);
});

const gen = await CausalGen.load(path.relative(process.cwd(), model));  // a relative file path
// Prompts made of characters the model knows (the test models have small vocabularies).
const known = (text) => [...text].filter((c) => gen.info().vocab.includes(c)).join('');
const cases = [
  { prompt: 'ROMEO:', o: { tokens: 400, seed: 1337, temperature: 0.8, topK: 0, topP: 1 } },
  { prompt: '', o: { tokens: 1000, seed: '2024', temperature: 1.1, topK: 10, topP: 0.9 } },
  { prompt: known('KING'), o: { tokens: 300, seed: 5, temperature: 0, topK: 0, topP: 1 } },
  { prompt: known('First Citizen'), o: { tokens: 600, seed: '18446744073709551615', temperature: 1, topK: 0, topP: 0.5 } },
];
for (const { prompt, o } of cases) {
  await check(`generate(${JSON.stringify(prompt)}, ${JSON.stringify(o)}) characters == CLI`, async () => {
    let text = '';
    for await (const c of gen.generate(prompt, o)) text += c;
    const want = native(prompt, o);
    sameText(prompt + text + '\n', want);
    return `${[...want].length} characters identical`;
  });
}

await check('load by file URL and by ArrayBuffer gives the same model and text', async () => {
  const byUrl = await CausalGen.load(pathToFileURL(path.resolve(model)));
  const bytes = fs.readFileSync(model);
  const byBuffer = await CausalGen.load(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const o = { tokens: 200, seed: 9 };
  const texts = await Promise.all([gen, byUrl, byBuffer].map((g) => g.generate('ROMEO:', o).done));
  assert(texts.every((t) => t.text === texts[0].text), 'texts differ between sources');
  assert(JSON.stringify(byUrl.info()) === JSON.stringify(gen.info()), 'info differs');
  byUrl.dispose();
  byBuffer.dispose();
});

await check('info() and stateBytes() describe the model as `causalgen info` does', () => {
  const info = gen.info();
  const cli = execFileSync(causalgen, ['info', '--model', model]).toString();
  assert(cli.includes(String(info.nLayer)) && cli.includes(String(info.nEmbd)), `CLI info lacks ${info.nLayer}/${info.nEmbd}`);
  assert(info.mixers.length === info.nLayer && info.mixers.every((m) => cli.includes(m)), `mixers ${info.mixers}`);
  assert(info.vocab.length === info.vocabSize && info.fileBytes === fs.statSync(model).size, 'vocab or file size');
  assert(gen.stateBytes() === info.stateBytes && info.stateBytes > 0, `stateBytes ${gen.stateBytes()}`);
  return `${info.nLayer}x${info.nEmbd} [${info.mixers}], state ${gen.stateBytes()} B`;
});

await check('an AbortSignal stops a long generation; the model works after', async () => {
  const ac = new AbortController();
  let n = 0;
  for await (const c of gen.generate('', { tokens: 10000000, signal: ac.signal })) if (++n === 100) ac.abort();
  assert(n >= 100 && n < 10000000 && !gen.running, `${n} characters, running ${gen.running}`);
  const run = gen.generate('', { tokens: 5, signal: AbortSignal.abort() });
  const r = await run.done;
  assert(r.stopped && r.text === '', 'a pre-aborted signal still generated');
  return `stopped after ${n} characters`;
});

await check('leaving a for-await loop early stops the generation at once', async () => {
  let n = 0;
  const run = gen.generate('', { tokens: 10000000 });
  for await (const c of run) if (++n === 50) break;
  assert(!gen.running, 'still running after break');
  const r = await run.done;
  assert(r.stopped && [...r.text].length < 10000000, 'not stopped');
  const again = await gen.generate('ROMEO:', { tokens: 100, seed: 3 }).done;
  sameText('ROMEO:' + again.text + '\n', native('ROMEO:', { tokens: 100, seed: 3, temperature: 0.8, topK: 0, topP: 1 }));
});

await check('errors carry the core\'s message', async () => {
  let e1 = null;
  try { await CausalGen.load(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])); } catch (e) { e1 = e; }
  assert(e1 instanceof CausalGenError && /not a causalgen model file/.test(e1.message), String(e1));
  let e2 = null;
  try { for await (const c of gen.generate(known('snow') + '\u2603', { tokens: 5 })) void c; } catch (e) { e2 = e; }
  assert(e2 instanceof CausalGenError && /U\+2603/.test(e2.message), String(e2));
  let e3 = null;
  try { await CausalGen.load('no/such/model.cgm'); } catch (e) { e3 = e; }
  assert(e3 instanceof CausalGenError && /no such file/.test(e3.message), String(e3));
  return `${e1.message} | ${e2.message} | ${e3.message}`;
});

gen.dispose();
console.log(`node package: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
