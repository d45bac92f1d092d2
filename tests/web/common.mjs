// Shared by the browser test and the benchmark: serving build/web and
// launching Debian's Chromium the way TOOLCHAINS.md says.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Serves dir on 127.0.0.1 at a free port with web/serve.py.
export function startServer(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [path.join(root, 'web', 'serve.py'), '--dir', dir, '--port', '0'],
                        { env: { ...process.env, CAUSALGEN_SERVE_QUIET: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/at (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) resolve({ url: m[1], stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`serve.py exited with ${code}`)));
  });
}

// Headless Chromium with a fresh profile (removed by close()).
export async function launchChromium(viewport = { width: 1360, height: 900 }) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context,
    page,
    profile,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
