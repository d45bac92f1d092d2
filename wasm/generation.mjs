// What a generation looks like to its caller, wherever it runs (this thread
// or a Web Worker): errors, status codes, and the Generation stream.

/** Status codes of causalgen.h (CG_*). */
export const Status = Object.freeze({
  OK: 0, TRUNCATED: 1, BAD_MAGIC: 2, BAD_VERSION: 3, CRC_MISMATCH: 4, BAD_CONFIG: 5,
  BAD_VOCAB: 6, BAD_TENSOR: 7, OUT_OF_BOUNDS: 8, MISALIGNED: 9, ARENA_TOO_SMALL: 10,
  UNKNOWN_CHAR: 11, BAD_ARGUMENT: 12, WINDOW_EXCEEDED: 13,
});

/** An error from the core (code/status set) or from this wrapper (code -1). */
export class CausalGenError extends Error {
  constructor(message, code = -1, status = 'error') {
    super(message);
    this.name = 'CausalGenError';
    this.code = code;      // a Status value, or -1 when the error is not the core's
    this.status = status;  // the core's status name: "crc mismatch", "unknown character", ...
  }
}

/**
 * One running generation: async-iterable (characters), chunks(), done, stop().
 * The producer calls _push(text) per chunk, then _settle(result) or _fail(error).
 * Stopping (stop(), an aborted signal, or leaving a for-await loop early)
 * calls onStop once, which tells the producer.
 */
export class Generation {
  constructor(onStop, signal = null) {
    this._onStop = onStop;
    this._stopRequested = false;
    this._queue = [];
    this._waiters = [];
    this._iterating = false;
    this._finished = false;
    this._error = null;
    this.text = '';
    this.done = new Promise((resolve, reject) => { this._resolve = resolve; this._reject = reject; });
    this.done.catch(() => {});  // an unobserved failure is reported by the iterator or done
    this._watch(signal);
  }

  /**
   * Asks the generation to stop: iteration ends at once, `done` resolves
   * (stopped: true) once the producer has seen it.
   */
  stop() {
    if (this._stopRequested) return;
    this._stopRequested = true;
    this._unwatch?.();
    this._onStop?.();
    for (const w of this._waiters.splice(0)) w({ end: true });  // iteration ends at once
  }

  /** True once stop() was called (or the signal aborted, or iteration was left early). */
  get stopped() { return this._stopRequested; }

  _watch(signal) {
    if (!signal) return;
    if (signal.aborted) { this._stopRequested = true; return; }
    const onAbort = () => this.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    this._unwatch = () => signal.removeEventListener('abort', onAbort);
  }

  _push(text) {
    if (!this._iterating) return;
    const w = this._waiters.shift();
    if (w) w({ text }); else this._queue.push({ text });
  }

  _end(item) {
    this._finished = true;
    this._unwatch?.();
    const w = this._waiters.shift();
    if (w) w(item); else if (this._iterating) this._queue.push(item);
  }

  _settle(result) { this._end({ end: true }); this._resolve(result); }

  _fail(error) { this._error = error; this._end({ error }); this._reject(error); }

  /** The text as it is generated, one chunk (one or more characters) at a time. */
  async *chunks() {
    if (this._iterating) throw new CausalGenError('a generation can be iterated only once');
    this._iterating = true;
    try {
      while (!this._stopRequested) {
        const item = this._queue.length ? this._queue.shift()
          : this._finished ? (this._error ? { error: this._error } : { end: true })
          : await new Promise((resolve) => this._waiters.push(resolve));
        if (item.error) throw item.error;
        if (item.end) return;
        yield item.text;
      }
    } finally {
      if (!this._finished) this.stop();  // the caller left the loop early
    }
  }

  /** The text as it is generated, one character (code point) at a time. */
  async *[Symbol.asyncIterator]() {
    for await (const chunk of this.chunks()) {
      for (const c of chunk) {
        if (this._stopRequested) return;
        yield c;
      }
    }
  }
}
