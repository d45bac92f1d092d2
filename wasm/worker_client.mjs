// CausalGenWorker: a model in its own Web Worker (causalgen_worker.mjs), with
// the API of CausalGen, so that a page stays responsive however long it
// generates. Browsers only (Node has no Web Workers: use CausalGen there).
//
//   const gen = await CausalGenWorker.load('model.cgm');
//   for await (const c of gen.generate('ROMEO:', { seed: 1 })) out.append(c);
//   gen.dispose();   // ends the worker
//
// Differences from CausalGen: generate() reports bad parameters by rejecting
// `done` (and the iterator), not by throwing; and `stats` is as of the last chunk.
import { CausalGenError, Generation } from './generation.mjs';

const fromWire = (e) => new CausalGenError(e.message, e.code, e.status);

// The source in a form that crosses to the worker: URLs are made absolute here
// (the worker's base URL is its script's, not the page's).
function transferable(source) {
  if (typeof source === 'string' || source instanceof URL) {
    return new URL(String(source), globalThis.location?.href).href;
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source;
  if (typeof Blob !== 'undefined' && source instanceof Blob) return source;
  throw new CausalGenError('CausalGenWorker.load: expected an ArrayBuffer, typed array, Blob or URL');
}

export class CausalGenWorker {
  /**
   * Starts a worker and loads a model in it. source: URL (string or URL,
   * relative to the page), ArrayBuffer, typed array (copied), or Blob/File.
   * options: { onProgress({loaded, total}), signal (aborting ends the worker
   * and rejects), worker (a Worker running `causalgen/worker`, for bundlers) }.
   */
  static async load(source, options = {}) {
    const { onProgress = null, signal = null } = options;
    const data = transferable(source);
    if (signal?.aborted) throw new CausalGenError('loading was aborted');
    const worker = options.worker
      ?? new Worker(new URL('./causalgen_worker.mjs', import.meta.url), { type: 'module' });
    const client = new CausalGenWorker(worker);
    try {
      await client._load(data, onProgress, signal);
    } catch (e) {
      client.dispose();
      throw e;
    }
    return client;
  }

  constructor(worker) {
    this._worker = worker;
    this._info = null;
    this._runs = new Map();  // id -> { run, onChar, onChunk, keepText }
    this._nextId = 1;
    this._current = null;
    this._stats = null;
    this._pendingLoad = null;
    worker.onmessage = ({ data }) => this._receive(data);
    worker.onerror = (e) => this._crashed(`the worker failed: ${e.message ?? 'could not start it'}`);
  }

  _load(source, onProgress, signal) {
    return new Promise((resolve, reject) => {
      this._pendingLoad = { resolve, reject, onProgress };
      signal?.addEventListener('abort', () => reject(new CausalGenError('loading was aborted')),
                               { once: true });
      this._worker.postMessage({ type: 'load', source });
    });
  }

  _receive(msg) {
    const load = this._pendingLoad;
    const entry = this._runs.get(msg.id);
    switch (msg.type) {
      case 'progress': load?.onProgress?.({ loaded: msg.loaded, total: msg.total }); break;
      case 'loaded':
        this._info = msg.info;
        this._stats = { charsPerSec: 0, computeCharsPerSec: 0, generated: 0, elapsedMs: 0,
                        position: 0, stateBytes: msg.info.stateBytes, heapBytes: 0, running: false };
        this._pendingLoad = null;
        load?.resolve();
        break;
      case 'load-error': this._pendingLoad = null; load?.reject(fromWire(msg.error)); break;
      case 'chunk': if (entry) this._chunk(entry, msg.text, msg.stats); break;
      case 'done': if (entry) this._finish(msg.id, () => entry.run._settle(this._result(entry, msg.result))); break;
      case 'gen-error': if (entry) this._finish(msg.id, () => entry.run._fail(fromWire(msg.error))); break;
      default: break;
    }
  }

  _chunk({ run, onChar, onChunk, keepText }, text, stats) {
    this._stats = stats;
    if (run.stopped) return;  // stopped here; the worker has yet to hear it
    if (keepText) run.text += text;
    if (onChar) for (const c of text) onChar(c, stats);
    if (onChunk) onChunk(text, stats);
    run._push(text);
  }

  _result({ run }, result) {
    this._stats = result.stats;
    return { ...result, text: run.text };
  }

  _finish(id, settle) {
    this._runs.delete(id);
    if (this._current === id) this._current = null;
    settle();
  }

  _crashed(message) {
    const error = new CausalGenError(message);
    this._pendingLoad?.reject(error);
    this._pendingLoad = null;
    for (const [id, entry] of [...this._runs]) this._finish(id, () => entry.run._fail(error));
  }

  /** What the model is (as CausalGen.info()). */
  info() { return this._info; }

  /** Bytes of generation state (cg_state_bytes): fixed for a model. */
  stateBytes() { return this._info.stateBytes; }

  /** Figures as of the last chunk received (as CausalGen.stats). */
  get stats() { return { ...this._stats, running: this.running }; }

  /** True while a generation runs. */
  get running() { return this._current !== null; }

  /** Stops the running generation, if any. */
  stop() { if (this._current !== null) this._runs.get(this._current)?.run.stop(); }

  /**
   * As CausalGen.generate(prompt, options): options tokens, temperature, topK,
   * topP, seed, signal, onChar, onChunk, chunkMs, keepText. Returns a Generation.
   */
  generate(prompt = '', options = {}) {
    if (!this._worker) throw new CausalGenError('the model was disposed');
    if (this._current !== null) throw new CausalGenError('a generation is already running; stop it first');
    const { signal = null, onChar = null, onChunk = null, keepText = true, ...wire } = options;
    const id = this._nextId++;
    const run = new Generation(() => {
      if (this._current === id) this._current = null;
      this._worker?.postMessage({ type: 'stop', id });
    }, signal);
    this._runs.set(id, { run, onChar, onChunk, keepText });
    this._current = run.stopped ? null : id;
    this._worker.postMessage({ type: 'generate', id, prompt, options: wire });
    if (run.stopped) this._worker.postMessage({ type: 'stop', id });
    return run;
  }

  /** Ends the worker (and a running generation: `done` resolves as stopped). */
  dispose() {
    if (!this._worker) return;
    this._worker.terminate();
    this._worker = null;
    for (const [id, entry] of [...this._runs]) {
      this._finish(id, () => entry.run._settle({ text: entry.run.text, stopped: true, stats: this.stats }));
    }
  }
}
