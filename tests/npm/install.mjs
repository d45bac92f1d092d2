// Shared by the npm package's test and benchmark: the package packed and
// installed into a fresh project as a user would, and the native CLI's text.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..', '..');
const consumerFiles = path.join(here, 'consumer');

export function assert(cond, message) { if (!cond) throw new Error(message); }

export const run = (cmd, argv, cwd) => spawnSync(cmd, argv, { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });

/** The version in the top-level CMakeLists.txt's project() line. */
export function projectVersion() {
  const line = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8').match(/^project\(causalgen VERSION (\S+)/m);
  return line?.[1];
}

/**
 * `npm pack` of pkgDir into project (an empty folder), a package.json there,
 * `npm install` of the tarball, and the files of tests/npm/consumer copied in.
 * Returns npm pack's description of the tarball (filename, files, size, ...).
 */
export function packAndInstall(pkgDir, project) {
  const r = run('npm', ['pack', '--json', '--pack-destination', project], pkgDir);
  assert(r.status === 0, `npm pack failed: ${r.stderr}`);
  const [packed] = JSON.parse(r.stdout);
  fs.writeFileSync(path.join(project, 'package.json'),
                   JSON.stringify({ name: 'causalgen-consumer', private: true, type: 'module' }, null, 2));
  const i = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `./${packed.filename}`], project);
  assert(i.status === 0, `npm install of the tarball failed: ${i.stderr}`);
  for (const f of fs.readdirSync(consumerFiles)) fs.copyFileSync(path.join(consumerFiles, f), path.join(project, f));
  return packed;
}

/** `causalgen generate`'s output (prompt + text + '\n') for options in the package's names. */
export function nativeText(causalgen, model, prompt, o) {
  const argv = ['generate', '--model', model, '--tokens', String(o.tokens), '--seed', String(o.seed),
                '--temperature', String(o.temperature), '--top-k', String(o.topK), '--top-p', String(o.topP)];
  if (prompt) argv.push('--prompt', prompt);
  return execFileSync(causalgen, argv, { maxBuffer: 1 << 26 }).toString('utf8');
}

/** Throws, naming the first difference, unless got === want. */
export function sameText(got, want) {
  if (got === want) return;
  let i = 0;
  while (got[i] === want[i]) ++i;
  throw new Error(`differs at character ${i}: package ${JSON.stringify(got.slice(i, i + 20))} vs CLI ${JSON.stringify(want.slice(i, i + 20))}`);
}
