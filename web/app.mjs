// The demo page: controls, streaming output and live figures. The model runs
// in a Web Worker through the npm package's public API (CausalGenWorker;
// `causalgen` is mapped to the package by the page's import map).
import { CausalGenWorker } from 'causalgen';

//
// URL parameters: ?model=URL picks the model loaded at start (default: the
// shipped Shakespeare model next to the page).
const DEFAULT_MODEL = 'models/tiny-shakespeare-mingru.cgm';

const $ = (id) => document.getElementById(id);
const ui = {
  modelName: $('model-name'), progress: $('progress-bar'), status: $('status'),
  info: $('model-info'), error: $('error'), file: $('file-input'),
  prompt: $('prompt'), temperature: $('temperature'), temperatureOut: $('temperature-out'),
  topp: $('topp'), toppOut: $('topp-out'), topk: $('topk'), length: $('length'),
  seed: $('seed'), seedRandom: $('seed-random'), generate: $('generate'), stop: $('stop'),
  cps: $('cps'), generated: $('generated'), stateBytes: $('state-bytes'), stateNote: $('state-note'),
  kvBytes: $('kv-bytes'), chart: $('memory-chart'), output: $('output'), outPrompt: $('out-prompt'),
  outText: $('out-text'), genStatus: $('gen-status'), overlay: $('drop-overlay'),
};
// The output is split into blocks of a few thousand characters (after a
// newline, so the split is invisible): appending then re-lays out only the
// last block, and a page with a million characters still scrolls smoothly.
const cursor = document.getElementById('cursor');
const out = { node: null, len: 0 };
function clearOutput() {
  out.node = document.createTextNode('');
  out.len = 0;
  ui.outText.replaceChildren(out.node, cursor);
}
function appendOutput(text) {
  while (text) {
    if (out.len >= 2048) {
      const nl = text.indexOf('\n');
      const cut = nl >= 0 ? nl + 1 : out.len >= 8192 ? 0 : -1;
      if (cut >= 0) {
        if (cut > 0) out.node.appendData(text.slice(0, cut));
        text = text.slice(cut);
        const block = document.createElement('div');
        out.node = document.createTextNode('');
        out.len = 0;
        block.append(out.node, cursor);
        ui.outText.append(block);
        continue;
      }
    }
    out.node.appendData(text);
    out.len += text.length;
    break;
  }
}
clearOutput();

const page = {
  model: null,         // the loaded CausalGenWorker, or null
  info: null,          // its info(), or null
  name: null,          // its file name
  loading: false,
  run: null,           // the running Generation, or null
  genId: 0,
  pending: '',         // text received but not yet drawn
  stats: null,         // latest stats of the generation
  promptChars: 0,
  samples: [],         // [{ position, stateBytes }] for the chart
  flushQueued: false,
};
const running = () => page.run !== null;

// --- formatting -----------------------------------------------------------
const nf = new Intl.NumberFormat('en-US');
function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; ++u; }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}
function fmtCount(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)} K`;
  return nf.format(n);
}
function summarizeMixers(mixers) {
  const runs = [];
  for (const m of mixers) {
    if (runs.length && runs.at(-1).m === m) runs.at(-1).n++;
    else runs.push({ m, n: 1 });
  }
  return runs.map(({ m, n }) => (n > 1 ? `${m} ×${n}` : m)).join(', ');
}
const kvBytesPerChar = (info) => 2 * info.nLayer * info.nEmbd * 4;

// --- loading -------------------------------------------------------------
// A new model gets its own worker; the old one is let go only once the new
// one has loaded, so that a bad file leaves the page working.
async function load(source, name, verb) {
  startLoading(name, verb);
  let next;
  try {
    next = await CausalGenWorker.load(source, { onProgress });
  } catch (e) {
    onLoadError({ name, message: e.message, keptPrevious: page.info !== null });
    return;
  }
  if (page.run) page.run.stop();
  page.model?.dispose();
  page.model = next;
  onLoaded({ name, info: next.info() });
}

const loadUrl = (url) => load(url, decodeURIComponent(new URL(url).pathname.split('/').pop()), 'Downloading');
const loadFile = (file) => { if (file) load(file, file.name, 'Reading'); };

function startLoading(name, verb) {
  page.loading = true;
  document.body.dataset.model = 'loading';
  ui.error.hidden = true;
  ui.progress.style.width = '0%';
  ui.progress.parentElement.classList.add('active');
  ui.status.textContent = `${verb} ${name}…`;
  updateButtons();
}

function onProgress({ loaded, total }) {
  if (total > 0) {
    const pct = Math.min(100, (100 * loaded) / total);
    ui.progress.style.width = `${pct}%`;
    ui.status.textContent = `Downloading… ${fmtBytes(loaded)} of ${fmtBytes(total)} (${pct.toFixed(0)}%)`;
  } else {
    ui.progress.style.width = '100%';
    ui.status.textContent = `Downloading… ${fmtBytes(loaded)}`;
  }
}

function onLoaded({ name, info }) {
  page.loading = false;
  page.info = info;
  page.name = name;
  document.body.dataset.model = 'ready';
  ui.progress.style.width = '100%';
  ui.progress.parentElement.classList.remove('active');
  ui.modelName.textContent = name;
  ui.modelName.title = name;
  ui.status.textContent = 'Ready.';
  const rows = [
    ['layers', `${info.nLayer} × ${info.nEmbd}`],
    ['mixers', summarizeMixers(info.mixers)],
    ['vocabulary', `${info.vocabSize} characters`],
    ['parameters', nf.format(info.parameters)],
    ['file', fmtBytes(info.fileBytes)],
    ['context', info.windowLimited ? `window of ${info.blockSize} (attention / positions)`
                                   : 'unbounded (no positions, no attention)'],
  ];
  ui.info.replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    return [dt, dd];
  }));
  ui.stateBytes.textContent = `${nf.format(info.stateBytes)} B`;
  ui.stateNote.textContent = 'fixed size';
  page.samples = [];
  drawChart();
  updateButtons();
}

function onLoadError({ name, message, keptPrevious }) {
  page.loading = false;
  ui.progress.parentElement.classList.remove('active');
  const still = keptPrevious && page.info
    ? ` Still using ${page.name}.`
    : ' Open a causalgen model file (.cgm) to start.';
  showError(`Could not load ${name}: ${message}.${still}`);
  document.body.dataset.model = page.info ? 'ready' : 'error';
  ui.status.textContent = page.info ? 'Ready.' : 'No model loaded.';
  ui.progress.style.width = page.info ? '100%' : '0%';
  updateButtons();
}

function showError(text) {
  ui.error.textContent = text.replace(/\.\.$/, '.');
  ui.error.hidden = false;
}

// --- generation -----------------------------------------------------------
function readParams() {
  const num = (el, name, lo, hi, integer) => {
    const v = Number(el.value);
    if (el.value.trim() === '' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
      throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} from ${lo} to ${hi}`);
    }
    return v;
  };
  const seed = ui.seed.value.trim();
  if (!/^\d+$/.test(seed) || BigInt(seed) >= 1n << 64n) throw new Error('seed must be an integer from 0 to 2^64-1');
  return {
    prompt: ui.prompt.value,
    tokens: num(ui.length, 'length', 1, 100000000, true),
    temperature: num(ui.temperature, 'temperature', 0, 100, false),
    topK: num(ui.topk, 'top-k', 0, 4294967295, true),
    topP: num(ui.topp, 'top-p', 0.000001, 1, false),
    seed,
  };
}

function startGeneration() {
  if (!page.info || running() || page.loading) return;
  let params;
  try {
    params = readParams();
  } catch (e) {
    setGenStatus(e.message, 'error');
    return;
  }
  const id = ++page.genId;
  page.pending = '';
  page.stats = null;
  page.promptChars = [...(params.prompt || '\n')].length;
  page.samples = [{ position: page.promptChars, stateBytes: page.info.stateBytes }];
  ui.outPrompt.textContent = params.prompt;
  clearOutput();
  ui.output.classList.add('running');
  document.body.dataset.gen = 'running';
  ui.cps.textContent = '…';
  ui.generated.textContent = '0';
  setGenStatus('Generating…');
  const { prompt, ...options } = params;
  page.run = page.model.generate(prompt, {
    ...options,
    keepText: false,  // the page keeps the text; a long stream must not grow twice
    onChunk: (text, stats) => { if (id === page.genId) onChunk({ text, stats }); },
  });
  updateButtons();
  page.run.done.then((result) => { if (id === page.genId) onDone(result); },
                     (e) => { if (id === page.genId) onGenError(e); });
}

function stopGeneration() {
  page.run?.stop();
}

function onChunk({ text, stats }) {
  page.pending += text;
  page.stats = stats;
  if (!page.flushQueued) {
    page.flushQueued = true;
    requestAnimationFrame(flush);
  }
}

function flush() {
  page.flushQueued = false;
  if (page.pending) {
    const box = ui.output;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    appendOutput(page.pending);
    page.pending = '';
    if (atBottom) box.scrollTop = box.scrollHeight;
  }
  const s = page.stats;
  if (s) {
    ui.cps.textContent = nf.format(Math.round(s.charsPerSec));
    ui.generated.textContent = nf.format(s.generated);
    ui.stateBytes.textContent = `${nf.format(s.stateBytes)} B`;
    ui.stateNote.textContent = `fixed size, after ${fmtCount(s.position)} characters`;
    ui.kvBytes.textContent = fmtBytes(kvBytesPerChar(page.info) * s.position);
    page.samples.push({ position: s.position, stateBytes: s.stateBytes });
    drawChart();
  }
}

function onDone({ stopped, stats }) {
  page.stats = stats;
  flush();
  page.run = null;
  ui.output.classList.remove('running');
  document.body.dataset.gen = stopped ? 'stopped' : 'done';
  const secs = stats.elapsedMs / 1000;
  setGenStatus(stopped
    ? `Stopped after ${nf.format(stats.generated)} characters.`
    : `Done: ${nf.format(stats.generated)} characters in ${secs.toFixed(secs < 10 ? 2 : 1)} s.`);
  updateButtons();
}

function onGenError({ message }) {
  flush();
  page.run = null;
  ui.output.classList.remove('running');
  document.body.dataset.gen = 'error';
  setGenStatus(`Could not generate: ${message}`, 'error');
  updateButtons();
}

function setGenStatus(text, kind = '') {
  ui.genStatus.textContent = text;
  ui.genStatus.className = `gen-status ${kind}`;
}

function updateButtons() {
  ui.generate.disabled = !page.info || running() || page.loading;
  ui.stop.disabled = !running();
}

// --- the memory chart: fixed state against a KV cache ------------------------
function drawChart() {
  const c = ui.chart;
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth, h = c.clientHeight;
  if (!w || !h) return;
  if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
  const g = c.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const css = getComputedStyle(document.body);
  const col = (name) => css.getPropertyValue(name).trim();
  g.font = '11px system-ui, sans-serif';
  if (!page.info) return;
  const info = page.info;
  const last = page.samples.at(-1)?.position ?? 0;
  const xMax = Math.max(200, last);
  const perChar = kvBytesPerChar(info);
  const yLo = Math.log10(Math.max(256, info.stateBytes / 4));
  const yHi = Math.max(yLo + 2, Math.log10(Math.max(perChar * xMax, info.stateBytes) * 2));
  const L = 54, R = 10, T = 8, B = 18;
  const X = (p) => L + ((w - L - R) * p) / xMax;
  const Y = (bytes) => T + (h - T - B) * (1 - (Math.log10(bytes) - yLo) / (yHi - yLo));
  // grid: powers of ten
  g.strokeStyle = col('--grid');
  g.fillStyle = col('--muted');
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let k = 0; k <= 4; ++k) {
    for (const m of [1, 10, 100]) {
      const v = m * 1024 ** k;
      const lv = Math.log10(v);
      if (lv < yLo || lv > yHi) continue;
      const y = Math.round(Y(v)) + 0.5;
      g.beginPath(); g.moveTo(L, y); g.lineTo(w - R, y); g.stroke();
      g.fillText(k === 0 ? `${m} B` : `${m} ${['', 'KB', 'MB', 'GB', 'TB'][k]}`, L - 6, y);
    }
  }
  g.textAlign = 'left';
  g.textBaseline = 'alphabetic';
  g.fillText('0', L, h - 4);
  g.textAlign = 'right';
  g.fillText(`${fmtCount(xMax)} characters`, w - R, h - 4);
  // the KV cache a same-shape attention model would hold (2·L·C floats per character)
  g.strokeStyle = col('--kv');
  g.setLineDash([5, 4]);
  g.lineWidth = 1.5;
  g.beginPath();
  for (let i = 0; i <= 100; ++i) {
    const p = Math.max(1, (xMax * i) / 100);
    const x = X(p), y = Y(perChar * p);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  }
  g.stroke();
  g.setLineDash([]);
  // causalgen's state, as measured while generating
  g.strokeStyle = col('--accent');
  g.lineWidth = 2.5;
  g.beginPath();
  const pts = page.samples.length ? page.samples : [{ position: 0, stateBytes: info.stateBytes }];
  g.moveTo(X(0), Y(pts[0].stateBytes));
  for (const s of pts) g.lineTo(X(s.position), Y(s.stateBytes));
  g.stroke();
  // legend
  g.textAlign = 'left';
  g.fillStyle = col('--accent');
  g.fillText(`causalgen state: ${nf.format(info.stateBytes)} B, constant`, L + 8, Y(info.stateBytes) - 7);
  g.fillStyle = col('--kv');
  g.fillText(`KV cache of a same-size transformer: +${fmtBytes(perChar)} per character`, L + 8, T + 10);
}

// --- wiring ------------------------------------------------------------------
ui.generate.addEventListener('click', startGeneration);
ui.stop.addEventListener('click', stopGeneration);
ui.prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); startGeneration(); }
});
ui.temperature.addEventListener('input', () => { ui.temperatureOut.textContent = Number(ui.temperature.value).toFixed(2); });
ui.topp.addEventListener('input', () => { ui.toppOut.textContent = Number(ui.topp.value).toFixed(2); });
ui.seedRandom.addEventListener('click', () => {
  ui.seed.value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
});
ui.file.addEventListener('change', () => {
  loadFile(ui.file.files[0]);
  ui.file.value = '';
});

let dragDepth = 0;
const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
window.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth += 1;
  ui.overlay.hidden = false;
});
window.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
window.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) ui.overlay.hidden = true;
});
window.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  ui.overlay.hidden = true;
  const file = e.dataTransfer?.files?.[0];
  if (file) loadFile(file);
});
window.addEventListener('resize', drawChart);

const wanted = new URLSearchParams(location.search).get('model') || DEFAULT_MODEL;
loadUrl(new URL(wanted, location.href).href);
drawChart();
