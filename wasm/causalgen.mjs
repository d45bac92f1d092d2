// causalgen for JavaScript: the WebAssembly core behind a small ES-module API
// (the npm package `causalgen`). Browsers (main thread or Web Worker) and Node >= 18.
//
//   import { CausalGen } from 'causalgen';
//   const gen = await CausalGen.load('model.cgm');   // URL, file path (Node), ArrayBuffer, Blob
//   for await (const c of gen.generate('ROMEO:', { tokens: 500, seed: 1337 })) ...
//   gen.info(); gen.stateBytes(); gen.stats;
//   CausalGenWorker (worker_client.mjs): the same in a Web Worker.
//
// Generation follows `causalgen generate` exactly (it is the C API's loop,
// cg_generate_begin/next): the same model, prompt, seed and sampling
// parameters give the same characters as the native CLI. Errors from the core
// (corrupt file, character not in the vocabulary, bad parameter) are thrown /
// rejected as CausalGenError carrying the core's message.
import createCausalGenCore from './causalgen_core.mjs';
import { CausalGenError, Generation, Status } from './generation.mjs';

export { CausalGenError, Generation, Status };
export { CausalGenWorker } from './worker_client.mjs';

// ---------------------------------------------------------------------------
// The compiled core is shared by every model; each model gets its own instance
// (and so its own memory, released with the model).
let compiledCore = null;

async function compileCore(wasm) {
  if (wasm instanceof WebAssembly.Module) return wasm;
  if (wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm)) return WebAssembly.compile(wasm);
  const url = wasm ? new URL(String(wasm), globalThis.location?.href)
                   : new URL('./causalgen_core.wasm', import.meta.url);
  if (url.protocol === 'file:') {
    const fs = await import('node:fs/promises');
    return WebAssembly.compile(await fs.readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new CausalGenError(`cannot fetch ${url}: HTTP ${response.status}`);
  if (WebAssembly.compileStreaming && /wasm/.test(response.headers.get('content-type') || '')) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

async function instantiateCore(wasm) {
  let module;
  if (wasm) {
    module = await compileCore(wasm);
  } else {
    compiledCore ??= compileCore().catch((e) => { compiledCore = null; throw e; });
    module = await compiledCore;
  }
  return createCausalGenCore({
    instantiateWasm(imports, receive) {
      WebAssembly.instantiate(module, imports).then((instance) => receive(instance, module));
      return {};
    },
    print: () => {},
    printErr: () => {},
  });
}

// Yields to the event loop without the 4 ms clamp of nested setTimeout, so
// that stop() and other messages are seen between chunks.
function yieldToEventLoop() {
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { ch.port1.close(); resolve(); };
      ch.port2.postMessage(null);
    });
  }
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => setTimeout(resolve, 0));
}

const now = () => (globalThis.performance ? performance.now() : Date.now());

// ---------------------------------------------------------------------------
// Reading a model's bytes from any source, with progress.

// Outside a page (Node), a string without a URL scheme is a file path,
// relative to the working directory as a user expects.
function isNodeFilePath(source) {
  return typeof source === 'string' && !globalThis.location && typeof process === 'object' &&
         !/^[a-z][a-z0-9+.-]+:/i.test(source);
}

async function readLocalFile(pathOrUrl, onProgress) {
  const fs = await import('node:fs/promises');
  let bytes;
  try {
    bytes = new Uint8Array(await fs.readFile(pathOrUrl));
  } catch (e) {
    throw new CausalGenError(`cannot read ${pathOrUrl}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  onProgress?.({ loaded: bytes.length, total: bytes.length });
  return bytes;
}

async function readSource(source, onProgress, signal) {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const bytes = new Uint8Array(await source.arrayBuffer());
    onProgress?.({ loaded: bytes.length, total: bytes.length });
    return bytes;
  }
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new CausalGenError('CausalGen.load: expected an ArrayBuffer, typed array, Blob, URL or file path');
  }
  if (isNodeFilePath(source)) return readLocalFile(source, onProgress);
  const url = new URL(String(source), globalThis.location?.href ?? import.meta.url);
  if (url.protocol === 'file:') return readLocalFile(url, onProgress);
  let response;
  try {
    response = await fetch(url, { signal });
  } catch (e) {
    throw new CausalGenError(`cannot download ${url}: ${e.message}`);
  }
  if (!response.ok) {
    throw new CausalGenError(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
  }
  const header = Number(response.headers.get('content-length'));
  const total = Number.isFinite(header) && header > 0 ? header : 0;
  if (!response.body || !response.body.getReader) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress?.({ loaded: bytes.length, total: bytes.length });
    return bytes;
  }
  const reader = response.body.getReader();
  const parts = [];
  let loaded = 0;
  onProgress?.({ loaded, total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    loaded += value.length;
    onProgress?.({ loaded, total });
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return bytes;
}

function toSeed(seed) {
  let s;
  try {
    s = typeof seed === 'bigint' ? seed : BigInt(typeof seed === 'string' ? seed.trim() : seed);
  } catch {
    throw new CausalGenError(`seed ${seed} is not an integer`, Status.BAD_ARGUMENT, 'bad argument');
  }
  if (s < 0n || s >= 1n << 64n) {
    throw new CausalGenError(`seed ${seed} outside 0..2^64-1`, Status.BAD_ARGUMENT, 'bad argument');
  }
  return s;
}

function checkCount(name, v, max) {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new CausalGenError(`${name} ${v} is not an integer in 0..${max}`, Status.BAD_ARGUMENT,
                             'bad argument');
  }
  return v;
}

// ---------------------------------------------------------------------------

/** A loaded model with its generation state, in its own WebAssembly instance. */
export class CausalGen {
  /**
   * Loads a model file. source: ArrayBuffer, typed array, Blob/File, URL
   * (string or URL; file: URLs in Node), or in Node a file path.
   * options: { onProgress({loaded, total}), signal, wasm (URL, bytes or
   * WebAssembly.Module of causalgen_core.wasm; default: next to this file) }.
   * Rejects with CausalGenError carrying the core's message if the file is
   * not a valid model (corrupt, truncated, foreign, wrong version...).
   */
  static async load(source, options = {}) {
    const bytes = await readSource(source, options.onProgress, options.signal);
    const core = await instantiateCore(options.wasm);
    return new CausalGen(core, bytes);
  }

  constructor(core, bytes) {
    const M = core;
    this._M = M;
    this._err = M._cgw_alloc(M._cgw_error_bytes());
    this._errMessage = M._cgw_error_message_offset();
    this._modelMem = M._cgw_alloc(M._cg_model_bytes());
    this._bytes = M._cgw_alloc(bytes.length);
    M.HEAPU8.set(bytes, this._bytes);
    this._model = M._cg_model_load(this._modelMem, M._cg_model_bytes(), this._bytes, bytes.length,
                                   this._err);
    if (!this._model) {
      const e = this._error();
      this._release();
      throw e;
    }
    const m = this._model;
    const V = M._cg_vocab_size(m);
    const vocab = [];
    for (let i = 0; i < V; ++i) vocab.push(String.fromCodePoint(M._cg_vocab_codepoint(m, i)));
    const nLayer = M._cg_n_layer(m);
    const mixers = [];
    for (let l = 0; l < nLayer; ++l) mixers.push(M.UTF8ToString(M._cg_mixer_name(m, l)));
    const stateBytes = Number(M._cg_state_bytes(m));
    this._info = Object.freeze({
      vocabSize: V,
      vocab,
      blockSize: M._cg_block_size(m),
      nLayer,
      nEmbd: M._cg_n_embd(m),
      nHead: M._cg_n_head(m),
      bias: M._cg_has_bias(m) !== 0,
      posEmb: M._cg_has_pos_emb(m) !== 0,
      mixers,
      windowLimited: M._cg_window_limited(m) !== 0,
      parameters: Number(M._cg_parameter_count(m)),
      fileBytes: bytes.length,
      stateBytes,
    });
    this._stateBytes = stateBytes;
    this._stateMem = M._cgw_alloc(stateBytes);
    this._sampler = M._cgw_alloc(M._cgw_sampler_bytes());
    this._generator = M._cgw_alloc(M._cgw_generator_bytes());
    this._outCap = 4096;
    this._out = M._cgw_alloc(this._outCap * 4);
    this._state = M._cg_state_init(m, this._stateMem, stateBytes, 0n, this._err);
    if (!this._state) {
      const e = this._error();
      this._release();
      throw e;
    }
    this._current = null;
    this._stats = { charsPerSec: 0, computeCharsPerSec: 0, generated: 0, elapsedMs: 0, position: 0 };
  }

  /**
   * What the model is: vocabSize, vocab, blockSize, nLayer, nEmbd, nHead, bias,
   * posEmb, mixers, windowLimited, parameters, fileBytes, stateBytes.
   */
  info() { return this._info; }

  /** Bytes of generation state (cg_state_bytes): fixed for a model, however long the text. */
  stateBytes() { return this._stateBytes; }

  _error() {
    const M = this._M;
    const code = M.HEAP32[this._err >> 2];
    const message = M.UTF8ToString(this._err + this._errMessage);
    return new CausalGenError(message, code, M.UTF8ToString(M._cg_status_string(code)));
  }

  _release() {
    const M = this._M;
    if (!M) return;
    for (const p of [this._out, this._generator, this._sampler, this._stateMem, this._bytes, this._modelMem, this._err]) {
      if (p) M._cgw_free(p);
    }
    this._M = null;
    this._model = this._state = null;
  }

  /** Frees the model's memory; the object is unusable afterwards. */
  dispose() {
    this.stop();
    this._release();
  }

  /** True while a generation runs. */
  get running() { return this._current !== null; }

  /**
   * Live figures: charsPerSec (generated characters per second of wall time,
   * since the prompt was fed), computeCharsPerSec (per second spent in the
   * core), generated, elapsedMs, position (characters in the state, prompt
   * included), stateBytes (constant for a model: no KV cache), heapBytes (the
   * whole WebAssembly memory, which does not grow while generating).
   */
  get stats() {
    return {
      ...this._stats,
      stateBytes: this._stateBytes,
      heapBytes: this._M ? this._M.HEAPU8.length : 0,
      running: this.running,
    };
  }

  /** Stops the running generation, if any. */
  stop() { this._current?.stop(); }

  /**
   * Starts generating after `prompt` (default ''; when empty, a newline is fed,
   * not output). Options (defaults as `causalgen generate`):
   *   tokens (500), temperature (0.8; 0 = greedy), topK (0 = off), topP (1 = off),
   *   seed (1337; number, bigint or decimal string, 0..2^64-1),
   *   signal -- an AbortSignal: aborting stops the generation,
   *   onChar(c, stats) per character, onChunk(text, stats) per chunk,
   *   chunkMs (8) -- time in the core between yields to the event loop,
   *   keepText (true) -- false: do not accumulate the text (long streams).
   * Returns a Generation: `for await (const c of run)` yields characters
   * (leaving the loop early stops it), run.chunks() yields chunks, await
   * run.done -> { text, stopped, stats }, run.stop(). Bad parameters throw at
   * once; a prompt with a character outside the vocabulary rejects `done` (and
   * the iterator) with the core's message.
   */
  generate(prompt = '', options = {}) {
    if (!this._M) throw new CausalGenError('the model was disposed');
    if (this._current) throw new CausalGenError('a generation is already running; stop it first');
    if (typeof prompt !== 'string') throw new CausalGenError('prompt must be a string');
    const {
      tokens = 500, temperature = 0.8, topK = 0, topP = 1.0, seed = 1337, signal = null,
      onChar = null, onChunk = null, chunkMs = 8, keepText = true,
    } = options;
    const M = this._M;
    checkCount('tokens', tokens, 100000000);
    checkCount('topK', topK, 0xffffffff);
    const seed64 = toSeed(seed);
    M._cgw_sampler_set(this._sampler, Number(temperature), topK, Number(topP));
    if (M._cg_sampler_check(this._sampler, this._err) !== 0) throw this._error();

    // Stopping frees the model for the next generate() at once: the loop
    // below sees the request before it touches the core again.
    const release = () => { if (this._current === run) this._current = null; };
    const run = new Generation(release, signal);
    if (run.stopped) {  // the signal was aborted already
      run._settle({ text: '', stopped: true, stats: this.stats });
      return run;
    }
    this._current = run;
    this._run(run, { prompt, tokens, seed64, onChar, onChunk, chunkMs, keepText }).then(
      (result) => { release(); run._settle(result); },
      (error) => { release(); run._fail(error); });
    return run;
  }

  async _run(run, { prompt, tokens, seed64, onChar, onChunk, chunkMs, keepText }) {
    // Between chunks, dispose() may free everything: the loop checks
    // _stopRequested (set by dispose) before touching the core again.
    const M = this._M;
    const m = this._model;
    const s = this._state = M._cg_state_init(m, this._stateMem, this._stateBytes, seed64, this._err);
    if (!s) throw this._error();
    this._stats = { charsPerSec: 0, computeCharsPerSec: 0, generated: 0, elapsedMs: 0,
                    position: 0 };
    let stats = this.stats;
    await yieldToEventLoop();  // generate() returns before any work is done
    if (run._stopRequested || !this._M) return { text: '', stopped: true, stats };

    // The core's generation loop (cg_generate_begin/next): the prompt is fed
    // here -- when empty, a newline that is not output -- and the characters
    // come a chunk at a time.
    const g = this._generator;
    const utf8 = new TextEncoder().encode(prompt);
    const p = utf8.length ? M._cgw_alloc(utf8.length) : 0;
    if (p) M.HEAPU8.set(utf8, p);
    const rc = M._cg_generate_begin(g, s, this._sampler, p, utf8.length, tokens, this._err);
    if (p) M._cgw_free(p);
    if (rc !== 0) throw this._error();

    const t0 = now();
    let computeMs = 0;
    let remaining = tokens;
    let chunk = 16;
    while (remaining > 0 && !run._stopRequested) {
      const n = Math.min(chunk, remaining, this._outCap);
      const c0 = now();
      const got = M._cgw_generate_chunk(g, n, this._out, this._err);
      const dt = now() - c0;
      computeMs += dt;
      const cps = M.HEAPU32.subarray(this._out >> 2, (this._out >> 2) + got);
      let text = '';
      for (let i = 0; i < got; ++i) text += String.fromCodePoint(cps[i]);
      if (got < n || M.HEAP32[this._err >> 2] !== 0) throw this._error();
      remaining -= got;
      if (keepText) run.text += text;
      const elapsed = now() - t0;
      this._stats = {
        charsPerSec: elapsed > 0 ? (tokens - remaining) / (elapsed / 1000) : 0,
        computeCharsPerSec: computeMs > 0 ? (tokens - remaining) / (computeMs / 1000) : 0,
        generated: tokens - remaining,
        elapsedMs: elapsed,
        position: Number(M._cg_state_position(s)),
      };
      stats = this.stats;
      if (onChar) for (const c of text) onChar(c, stats);
      if (onChunk) onChunk(text, stats);
      run._push(text);
      // Aim each chunk at chunkMs of work so that stop() is seen promptly.
      const perChar = dt / got;
      chunk = perChar > 0 ? Math.max(1, Math.min(this._outCap, Math.round(chunkMs / perChar))) : chunk * 2;
      if (remaining > 0) await yieldToEventLoop();
    }
    return { text: run.text, stopped: remaining > 0, stats: { ...stats, running: false } };
  }
}

export default CausalGen;
