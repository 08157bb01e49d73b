#!/usr/bin/env node
// `npm run build` (and `prepack`): the package's dist/ from a clean slate.
//   1. removes dist/;
//   2. tsc -p tsconfig.build.json: src/ as ESM JavaScript + .d.ts declarations, the `.ts`
//      import extensions rewritten to `.js` (tsc does it in the JavaScript; this script then
//      does it in the declarations, where tsc keeps `.ts`, which TypeScript before 5.0 rejects);
//   3. scripts/build-ui.mjs (the dashboard page -> dist/ui/) and scripts/build-browser.mjs
//      (the browser stack bundle -> dist/browser/), each when the script exists, through tsx
//      (they bundle TypeScript sources with esbuild);
//   4. checks that every entry point in package.json `exports` exists in dist/.
//
//   node scripts/build.mjs [--quiet]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const quiet = process.argv.includes('--quiet');
const log = (s) => {
  if (!quiet) process.stdout.write(`build: ${s}\n`);
};

function step(title, args) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`build: ${title} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(1);
  }
  log(`${title} in ${Date.now() - t0} ms`);
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
step('tsc -p tsconfig.build.json', [tsc, '-p', join(root, 'tsconfig.build.json')]);

/** Relative module specifiers ending in `.ts` in a declaration file (import, export, import()). */
const TS_SPECIFIER = /((?:\bfrom|^import|\bimport\()\s*['"])(\.{1,2}\/[^'"\n]*?)\.ts(['"])/gm;
let rewritten = 0;
for (const entry of readdirSync(join(root, 'dist'), { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(TS_SPECIFIER, '$1$2.js$3');
  if (fixed !== text) {
    writeFileSync(file, fixed);
    rewritten += 1;
  }
}
log(`.ts specifiers -> .js in ${rewritten} declaration files`);
for (const script of ['build-ui.mjs', 'build-browser.mjs']) {
  const path = join(root, 'scripts', script);
  if (existsSync(path)) step(`scripts/${script}`, ['--import', 'tsx', path]);
  else log(`scripts/${script} not present: skipped`);
}

/** Every file an `exports` target names, e.g. ./dist/index.js and ./dist/index.d.ts. */
function exportTargets(value) {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(exportTargets);
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const missing = [...new Set(exportTargets(pkg.exports))].filter((p) => !existsSync(join(root, p)));
if (missing.length > 0) {
  process.stderr.write(`build: package.json exports name files the build did not make: ${missing.join(', ')}\n`);
  process.exit(1);
}
log(`dist/ ready: ${Object.keys(pkg.exports).length} entry points`);
