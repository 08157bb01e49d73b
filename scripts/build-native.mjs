#!/usr/bin/env node
// Builds the project's own native addon (native/tap: the Linux TAP link) with the
// node-gyp that ships with npm. npm 11 runs no dependency install scripts, but it does
// run the root package's own `postinstall`, which calls this with `--if-possible`:
// then a missing compiler, missing Node headers or a non-Linux host only print a note
// and exit 0, because everything except the TAP link works without the addon.
//
//   node scripts/build-native.mjs [--if-possible] [--quiet]
//
// Node headers: /usr/include/node when present (the Debian nodejs package), else
// node-gyp's own lookup (which may need a download).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ifPossible = process.argv.includes('--if-possible');
const quiet = process.argv.includes('--quiet');
const dir = join(root, 'native', 'tap');
const log = (s) => {
  if (!quiet) process.stdout.write(`build-native: ${s}\n`);
};

function fail(reason) {
  if (ifPossible) {
    log(`TAP addon not built (${reason}); everything but the TAP link works without it. Build later with 'npm run build:native'.`);
    process.exit(0);
  }
  process.stderr.write(`build-native: ${reason}\n`);
  process.exit(1);
}

if (process.platform !== 'linux') fail(`TAP links need Linux, this is ${process.platform}`);

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c !== undefined && existsSync(c));
}

const gyp = findNodeGyp();
if (gyp === undefined) fail('node-gyp not found (it ships with npm)');
const cc = spawnSync('cc', ['--version'], { stdio: 'ignore' });
if (cc.error !== undefined || cc.status !== 0) fail('no C compiler (cc)');

const args = [gyp, 'rebuild', '--silent'];
const headers = join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h');
if (existsSync(headers)) args.push(`--nodedir=${join(dirname(process.execPath), '..')}`);
else if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');

const t0 = Date.now();
const r = spawnSync(process.execPath, args, { cwd: dir, stdio: quiet ? 'pipe' : 'inherit', env: { ...process.env } });
if (r.status !== 0) fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal})${quiet && r.stderr ? `\n${r.stderr}` : ''}`);
const out = join(dir, 'build', 'Release', 'iotnet_tap.node');
if (!existsSync(out)) fail(`node-gyp finished but ${out} is missing`);
log(`built ${out.slice(root.length)} in ${Date.now() - t0} ms`);
