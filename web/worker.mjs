// The demo's Web Worker: owns the model and runs generation off the main
// thread, so the page stays responsive however fast or long it generates.
//
// Page -> worker:
//   { type: 'load', url }                 download with progress
//   { type: 'load', buffer, name }        a file the user picked or dropped
//   { type: 'generate', id, params }      params as CausalGen.generate()
//   { type: 'stop' }
// Worker -> page:
//   { type: 'progress', loaded, total }
//   { type: 'loaded', name, info }
//   { type: 'load-error', name, message, status, keptPrevious }
//   { type: 'chunk', id, text, stats }
//   { type: 'done', id, stopped, stats }
//   { type: 'gen-error', id, message, status }
//   { type: 'bench', ... }                see bench()
import { CausalGen } from './causalgen.mjs';

let gen = null;
let run = null;

function describe(e) {
  return { message: e?.message ?? String(e), status: e?.status ?? 'error' };
}

async function load(msg) {
  const name = msg.name ?? decodeURIComponent(String(msg.url).split('/').pop().split('?')[0]);
  let next;
  try {
    let lastPost = 0;
    next = await CausalGen.load(msg.buffer ?? msg.url, {
      onProgress: ({ loaded, total }) => {
        const t = performance.now();
        if (t - lastPost > 30 || (total && loaded === total)) {
          lastPost = t;
          postMessage({ type: 'progress', loaded, total });
        }
      },
    });
  } catch (e) {
    postMessage({ type: 'load-error', name, ...describe(e), keptPrevious: gen !== null });
    return;
  }
  // The new model is good: only now let go of the old one.
  if (gen) {
    if (run) { run.stop(); await run.done.catch(() => {}); }
    gen.dispose();
  }
  gen = next;
  postMessage({ type: 'loaded', name, info: gen.info, stats: gen.stats });
}

async function generate(msg) {
  if (!gen) {
    postMessage({ type: 'gen-error', id: msg.id, message: 'no model is loaded', status: 'error' });
    return;
  }
  try {
    run = gen.generate({
      ...msg.params,
      keepText: false,  // the page keeps the text; a long stream must not grow here too
      onChunk: (text, stats) => postMessage({ type: 'chunk', id: msg.id, text, stats }),
    });
    const result = await run.done;
    postMessage({ type: 'done', id: msg.id, stopped: result.stopped, stats: result.stats });
  } catch (e) {
    postMessage({ type: 'gen-error', id: msg.id, ...describe(e) });
  } finally {
    run = null;
  }
}

// Throughput measurement (web/bench.html, tests/web/bench_web.mjs): the
// sampling of `causalgen bench generate` (temperature 1, no top-k/top-p);
// a warm-up run, then `repeats` runs of at least `seconds` each.
async function bench(msg) {
  const { seconds = 2, repeats = 3, warmup = true } = msg;
  const results = [];
  try {
    if (warmup) await gen.generate({ tokens: 3000, temperature: 1.0, seed: 99 }).done;  // JIT tiers
    for (let r = 0; r < repeats; ++r) {
      // Doubling runs until one lasts `seconds`; that one is reported.
      // allChars counts every run (for CPU time read around the whole bench).
      let allChars = 0;
      for (let n = 4000; ; n *= 2) {
        const { stats } = await gen.generate({ tokens: n, temperature: 1.0, seed: 1 + r, chunkMs: 50 }).done;
        allChars += stats.generated;
        if (stats.elapsedMs >= seconds * 1000) {
          results.push({ charsPerSec: stats.charsPerSec, computeCharsPerSec: stats.computeCharsPerSec,
                         chars: stats.generated, ms: stats.elapsedMs, allChars });
          break;
        }
      }
    }
    postMessage({ type: 'bench', results, stateBytes: gen.info.stateBytes, userAgent: navigator.userAgent });
  } catch (e) {
    postMessage({ type: 'bench', error: describe(e).message });
  }
}

onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'load') load(msg);
  else if (msg.type === 'generate') generate(msg);
  else if (msg.type === 'stop') run?.stop();
  else if (msg.type === 'bench') bench(msg);
};
postMessage({ type: 'ready' });
