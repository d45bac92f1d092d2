// The installed package in Chromium (tests/npm/test_package.mjs drives it):
// window.generateWith(kind, modelUrl, prompt, options) generates with
// CausalGen (this thread) or CausalGenWorker (a Web Worker), reading the
// characters through `for await`, and returns { text, chars, ms, stateBytes }.
import { CausalGen, CausalGenWorker } from 'causalgen';

const loaded = new Map();  // kind + url -> model
async function model(kind, url) {
  const key = `${kind} ${url}`;
  if (!loaded.has(key)) loaded.set(key, await (kind === 'worker' ? CausalGenWorker : CausalGen).load(url));
  return loaded.get(key);
}

window.generateWith = async (kind, url, prompt, options) => {
  const gen = await model(kind, url);
  const t0 = performance.now();
  let text = '';
  let chars = 0;
  for await (const c of gen.generate(prompt, options)) {
    if (options.keepText !== false) text += c;
    ++chars;
  }
  const ms = performance.now() - t0;
  document.getElementById('out').textContent = text.slice(0, 2000);
  return { text, chars, ms, stateBytes: gen.stateBytes() };
};

// Stops a worker generation from the page after `after` characters (AbortSignal).
window.abortAfter = async (url, after) => {
  const gen = await model('worker', url);
  const ac = new AbortController();
  let n = 0;
  for await (const c of gen.generate('', { tokens: 10000000, signal: ac.signal })) if (++n === after) ac.abort();
  return { n, running: gen.running };
};

// Leaves a worker generation's for-await loop after `after` characters.
window.breakAfter = async (url, after) => {
  const gen = await model('worker', url);
  let n = 0;
  for await (const c of gen.generate('', { tokens: 10000000 })) if (++n === after) break;
  return { n, running: gen.running };
};

// Loads bytes in a worker; returns the error's name, status and message.
window.loadBytes = async (bytes) => {
  try {
    (await CausalGenWorker.load(new Uint8Array(bytes))).dispose();
    return null;
  } catch (e) {
    return { name: e.name, status: e.status, message: e.message };
  }
};

document.body.dataset.ready = 'yes';
