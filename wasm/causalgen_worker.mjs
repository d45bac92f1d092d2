// The Web Worker side of CausalGenWorker (worker_client.mjs): owns one model
// and runs its generations off the page's main thread. Started by
// CausalGenWorker.load(); exported as `causalgen/worker` for bundlers that
// want the worker script by name. The messages are private to this package:
//
// client -> worker:  { type: 'load', source }   (URL string, ArrayBuffer, typed array or Blob)
//                    { type: 'generate', id, prompt, options }
//                    { type: 'stop', id }
// worker -> client:  { type: 'progress', loaded, total }
//                    { type: 'loaded', info } | { type: 'load-error', error }
//                    { type: 'chunk', id, text, stats }
//                    { type: 'done', id, result } | { type: 'gen-error', id, error }
import { CausalGen } from './causalgen.mjs';

let model = null;
const runs = new Map();  // id -> Generation

const describe = (e) => ({ message: e?.message ?? String(e), code: e?.code ?? -1,
                           status: e?.status ?? 'error' });

async function load({ source }) {
  let lastPost = 0;
  const onProgress = ({ loaded, total }) => {
    const t = performance.now();
    if (t - lastPost > 30 || (total && loaded === total)) {  // at most ~30 messages a second
      lastPost = t;
      postMessage({ type: 'progress', loaded, total });
    }
  };
  try {
    model = await CausalGen.load(source, { onProgress });
    postMessage({ type: 'loaded', info: model.info() });
  } catch (e) {
    postMessage({ type: 'load-error', error: describe(e) });
  }
}

async function generate({ id, prompt, options }) {
  try {
    const run = model.generate(prompt, {
      ...options,
      keepText: false,  // the client keeps the text if it wants it
      onChunk: (text, stats) => postMessage({ type: 'chunk', id, text, stats }),
    });
    runs.set(id, run);
    postMessage({ type: 'done', id, result: await run.done });
  } catch (e) {
    postMessage({ type: 'gen-error', id, error: describe(e) });
  } finally {
    runs.delete(id);
  }
}

// Only in a worker: imported anywhere else (a page, Node) this module does nothing.
if (typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope) {
  globalThis.onmessage = ({ data: msg }) => {
    if (msg.type === 'load') load(msg);
    else if (msg.type === 'generate') generate(msg);
    else if (msg.type === 'stop') runs.get(msg.id)?.stop();
  };
}
