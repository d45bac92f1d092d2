// Browser test of the demo page: Playwright driving Debian's Chromium
// (headless) against the page served on 127.0.0.1.
//
//   node tests/web/browser_test.mjs --web build/web --causalgen PATH \
//        --model test-models/random-tiny-max-avg.cgm [--model ...] \
//        [--other test-models/random-nobias-odd-width.cgm] [--screenshot build/web/screenshot.png]
//
// --model/--other are paths relative to --web (they are served from there).
// Checks, for each --model: the page loads it; Generate gives exactly the
// native CLI's text for a fixed seed. Then, on the first: the page stays
// responsive while generating (Web Worker); Stop stops; a corrupt file picked
// with the file picker and a foreign file dropped on the page show the core's
// error and the page keeps working; another model loads from the picker.
// Writes a screenshot. Final line: "browser tests: N passed, M failed".
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium, root, startServer } from './common.mjs';

function parseArgs(argv) {
  const o = { models: [], web: path.join(root, 'build', 'web') };
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--web') o.web = path.resolve(argv[++i]);
    else if (a === '--causalgen') o.causalgen = path.resolve(argv[++i]);
    else if (a === '--model') o.models.push(argv[++i]);
    else if (a === '--other') o.other = argv[++i];
    else if (a === '--screenshot') o.screenshot = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.causalgen || !o.models.length) {
    console.error('usage: browser_test.mjs --web DIR --causalgen PATH --model REL [--model REL] [--other REL] [--screenshot PNG]');
    process.exit(2);
  }
  o.screenshot ??= path.join(o.web, 'screenshot.png');
  return o;
}
const args = parseArgs(process.argv);

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    const detail = await fn();
    ++passed;
    console.log(`PASS ${name}${typeof detail === 'string' ? ` -- ${detail}` : ''}`);
  } catch (e) {
    ++failed;
    console.log(`FAIL ${name} -- ${e?.message?.split('\n')[0] ?? e}`);
  }
}
function assert(cond, message) { if (!cond) throw new Error(message); }

function native(modelRel, o) {
  const argv = ['generate', '--model', path.join(args.web, modelRel), '--tokens', String(o.tokens),
                '--seed', String(o.seed), '--temperature', String(o.temperature), '--top-k', String(o.topK),
                '--top-p', String(o.topP)];
  if (o.prompt) argv.push('--prompt', o.prompt);
  return execFileSync(args.causalgen, argv, { maxBuffer: 1 << 26 }).toString('utf8');
}

async function setInput(page, selector, value) {
  await page.$eval(selector, (el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, String(value));
}

async function waitGenEnd(page, timeout = 120000) {
  await page.waitForFunction(() => ['done', 'stopped', 'error'].includes(document.body.dataset.gen),
                             null, { timeout });
  return page.evaluate(() => document.body.dataset.gen);
}

async function generateOnPage(page, o) {
  await page.fill('#prompt', o.prompt);
  await setInput(page, '#temperature', o.temperature);
  await setInput(page, '#topk', o.topK);
  await setInput(page, '#topp', o.topP);
  await setInput(page, '#seed', o.seed);
  await setInput(page, '#length', o.tokens);
  await page.click('#generate');
  const state = await waitGenEnd(page);
  const gs = await page.textContent('#gen-status');
  assert(state === 'done', `generation ended as "${state}": ${gs}`);
  return page.evaluate(() => document.getElementById('out-prompt').textContent +
                             document.getElementById('out-text').textContent);
}

async function expectParity(page, modelRel, o) {
  const got = (await generateOnPage(page, o)) + '\n';
  const want = native(modelRel, o);
  if (got !== want) {
    let i = 0;
    while (i < got.length && got[i] === want[i]) ++i;
    throw new Error(`differs at character ${i}: page ${JSON.stringify(got.slice(i, i + 20))} vs native ${JSON.stringify(want.slice(i, i + 20))}`);
  }
  return `${[...want].length} characters identical to native`;
}

async function waitModel(page, timeout = 60000) {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.model) &&
                                   document.body.dataset.model !== 'loading', null, { timeout });
  return page.evaluate(() => document.body.dataset.model);
}

async function pickFile(page, name, buffer) {
  await page.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer });
}

async function dropFile(page, name, bytes) {
  await page.evaluate(({ name, data }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], name, { type: 'application/octet-stream' }));
    for (const type of ['dragenter', 'dragover', 'drop']) {
      document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  }, { name, data: [...bytes] });
}

const server = await startServer(args.web);
const browser = await launchChromium();
const { page } = browser;
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });

try {
  const base = { temperature: 0.8, topK: 0, topP: 1, tokens: 400 };
  for (const [k, modelRel] of args.models.entries()) {
    const label = path.basename(modelRel);
    let loaded = false;
    await check(`${label}: the page loads the model`, async () => {
      await page.goto(`${server.url}?model=${encodeURIComponent(modelRel)}`);
      const state = await waitModel(page);
      assert(state === 'ready', `model state "${state}": ${await page.textContent('#error')}`);
      const name = await page.textContent('#model-name');
      assert(name === label, `model name shows "${name}"`);
      const width = await page.$eval('#progress-bar', (el) => el.style.width);
      assert(width === '100%', `progress bar at ${width}`);
      loaded = true;
      return `${await page.textContent('#state-bytes')} of state`;
    });
    if (!loaded) continue;
    await check(`${label}: Generate gives the native text (seed 1337, prompt "ROMEO:")`,
      () => expectParity(page, modelRel, { ...base, prompt: 'ROMEO:', seed: '1337' }));
    await check(`${label}: Generate gives the native text (seed 2024, no prompt, top-k 10, top-p 0.9, T 1.1)`,
      () => expectParity(page, modelRel, { ...base, prompt: '', seed: '2024', temperature: 1.1, topK: 10, topP: 0.9, tokens: 1000 }));
    await check(`${label}: chars/s and state bytes are shown`, async () => {
      const cps = Number((await page.textContent('#cps')).replace(/,/g, ''));
      const state = await page.textContent('#state-bytes');
      assert(cps > 0, `chars/s shows "${await page.textContent('#cps')}"`);
      assert(/^[\d,]+ B$/.test(state), `state shows "${state}"`);
      return `${cps} chars/s, state ${state}`;
    });
    if (k > 0) continue;

    // --- on the first model: responsiveness, Stop, bad files, another model --
    await check('the page stays responsive while generating, and Stop stops', async () => {
      const stateBefore = await page.textContent('#state-bytes');
      await page.fill('#prompt', 'ROMEO:');
      await setInput(page, '#length', 100000000);
      await page.click('#generate');
      await page.waitForFunction(() => document.getElementById('out-text').textContent.length > 2000,
                                 null, { timeout: 60000 });
      // Main-thread latency while the worker generates flat out.
      const lags = await page.evaluate(async () => {
        const out = [];
        for (let i = 0; i < 10; ++i) {
          const t = performance.now();
          await new Promise((r) => setTimeout(r, 20));
          out.push(performance.now() - t - 20);
        }
        return out;
      });
      const worst = Math.max(...lags);
      assert(worst < 250, `main thread blocked for ${worst.toFixed(0)} ms`);
      await page.fill('#prompt', 'typing works while generating');
      assert(await page.inputValue('#prompt') === 'typing works while generating', 'prompt box not editable');
      assert(await page.isEnabled('#stop'), 'Stop is disabled while generating');
      await page.click('#stop');
      const state = await waitGenEnd(page, 10000);
      assert(state === 'stopped', `ended as "${state}"`);
      const n1 = (await page.textContent('#out-text')).length;
      await page.waitForTimeout(500);
      const n2 = (await page.textContent('#out-text')).length;
      assert(n1 === n2 && n1 < 100000000, `text still growing after Stop (${n1} -> ${n2})`);
      assert(/Stopped after/.test(await page.textContent('#gen-status')), 'no "Stopped" status');
      assert(await page.isEnabled('#generate'), 'Generate not enabled after Stop');
      const stateAfter = await page.textContent('#state-bytes');
      assert(stateAfter === stateBefore, `state bytes changed: ${stateBefore} -> ${stateAfter}`);
      return `worst main-thread lag ${worst.toFixed(1)} ms; stopped at ${n2} characters; state ${stateAfter} throughout`;
    });

    const good = fs.readFileSync(path.join(args.web, modelRel));
    await check('a corrupt model file (file picker) shows the core error; the page keeps working', async () => {
      const corrupt = Buffer.from(good);
      corrupt[corrupt.length >> 1] ^= 0x10;
      await pickFile(page, 'corrupt.cgm', corrupt);
      await page.waitForSelector('#error:not([hidden])', { timeout: 20000 });
      await waitModel(page);
      const text = await page.textContent('#error');
      assert(/corrupt\.cgm/.test(text) && /CRC-32 mismatch/.test(text), `error shows "${text}"`);
      assert(await page.textContent('#model-name') === label, 'the previous model was dropped');
      await expectParity(page, modelRel, { ...base, prompt: 'ROMEO:', seed: '77', tokens: 200 });
      return text;
    });

    await check('a foreign file dropped on the page shows the core error', async () => {
      await page.$eval('#error', (el) => { el.hidden = true; el.textContent = ''; });
      await dropFile(page, 'holiday.png', Buffer.from('\x89PNG\r\n\x1a\n\0\0\0\rIHDR not a model', 'latin1'));
      await page.waitForSelector('#error:not([hidden])', { timeout: 20000 });
      const text = await page.textContent('#error');
      assert(/holiday\.png/.test(text) && /not a causalgen model file/.test(text), `error shows "${text}"`);
      await waitModel(page);
      assert(await page.isEnabled('#generate'), 'Generate disabled after a bad file');
      return text;
    });

    await check('a prompt character outside the vocabulary shows the core error', async () => {
      await page.fill('#prompt', 'ROMEO \u2603');
      await setInput(page, '#length', 50);
      await page.click('#generate');
      const state = await waitGenEnd(page);
      const text = await page.textContent('#gen-status');
      assert(state === 'error' && /U\+2603/.test(text) && /vocabulary/.test(text), `ended "${state}": ${text}`);
      assert(await page.isEnabled('#generate'), 'Generate disabled after the error');
      return text;
    });

    if (args.other) {
      const otherLabel = path.basename(args.other);
      await check(`another model from the file picker (${otherLabel}) loads and matches native`, async () => {
        await pickFile(page, otherLabel, fs.readFileSync(path.join(args.web, args.other)));
        await page.waitForFunction((n) => document.getElementById('model-name').textContent === n &&
                                          document.body.dataset.model === 'ready', otherLabel, { timeout: 20000 });
        assert(await page.$eval('#error', (el) => el.hidden), 'error banner still shown');
        return expectParity(page, args.other, { ...base, prompt: 'ab', seed: '5', tokens: 300 });
      });
    }
  }

  await check(`screenshot written to ${path.relative(root, args.screenshot)}`, async () => {
    const shot = args.models.at(-1);
    await page.goto(`${server.url}?model=${encodeURIComponent(shot)}`);
    assert(await waitModel(page) === 'ready', 'model did not load');
    await page.fill('#prompt', 'ROMEO:');
    await setInput(page, '#length', 1500);
    await setInput(page, '#seed', 1337);
    await page.click('#generate');
    await waitGenEnd(page);
    await page.$eval('#output', (el) => { el.scrollTop = 0; });
    await page.screenshot({ path: args.screenshot });
    assert(fs.statSync(args.screenshot).size > 10000, 'screenshot too small');
  });

  await check('no errors in the page console', async () => {
    // Failed loads are expected above; anything else is a bug.
    const unexpected = pageErrors.filter((e) => !/Failed to load resource/.test(e));
    assert(unexpected.length === 0, unexpected.join(' | '));
  });
} finally {
  await browser.close();
  server.stop();
}

console.log(`browser tests: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
