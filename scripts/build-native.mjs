#!/usr/bin/env node
// Builds the project's own native addons with the node-gyp that ships with npm:
//   native/tap  (iotnet_tap.node): the Linux TAP link;
//   native/pty  (iotnet_pty.node): pty pairs for serial-port simulations (src/runtime/pty.ts).
// npm 11 runs no dependency install scripts, but it does run the root package's own
// `postinstall`, which calls this with `--if-possible`: then a missing compiler, missing
// Node headers or a non-Linux host only print a note per addon and exit 0, because
// everything except the TAP link and the pty simulations works without them.
//
//   node scripts/build-native.mjs [--if-possible] [--quiet] [tap] [pty]
//
// Node headers: /usr/include/node when present (the Debian nodejs package), else
// node-gyp's own lookup (which may need a download).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ifPossible = process.argv.includes('--if-possible');
const quiet = process.argv.includes('--quiet');
const ADDONS = {
  tap: { target: 'iotnet_tap', what: 'TAP addon', without: 'everything but the TAP link works without it' },
  pty: { target: 'iotnet_pty', what: 'pty addon', without: 'everything but pty-backed serial simulations works without it' },
};
const named = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const n of named) {
  if (!(n in ADDONS)) {
    process.stderr.write(`build-native: unknown addon '${n}' (known: ${Object.keys(ADDONS).join(', ')})\n`);
    process.exit(2);
  }
}
const wanted = named.length > 0 ? named : Object.keys(ADDONS);
const log = (s) => {
  if (!quiet) process.stdout.write(`build-native: ${s}\n`);
};

let failures = 0;
function fail(reason, names = wanted) {
  for (const n of names) {
    const a = ADDONS[n];
    if (ifPossible) log(`${a.what} not built (${reason}); ${a.without}. Build later with 'npm run build:native'.`);
    else process.stderr.write(`build-native: ${a.what}: ${reason}\n`);
  }
  failures += names.length;
}
function finish() {
  process.exit(failures > 0 && !ifPossible ? 1 : 0);
}

if (process.platform !== 'linux') {
  fail(`the addons are built for Linux, this is ${process.platform}`);
  finish();
}

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c !== undefined && existsSync(c));
}

const gyp = findNodeGyp();
if (gyp === undefined) {
  fail('node-gyp not found (it ships with npm)');
  finish();
}
const cc = spawnSync('cc', ['--version'], { stdio: 'ignore' });
if (cc.error !== undefined || cc.status !== 0) {
  fail('no C compiler (cc)');
  finish();
}

const args = [gyp, 'rebuild', '--silent'];
const headers = join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h');
if (existsSync(headers)) args.push(`--nodedir=${join(dirname(process.execPath), '..')}`);
else if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');

for (const name of wanted) {
  const dir = join(root, 'native', name);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: dir, stdio: quiet ? 'pipe' : 'inherit', env: { ...process.env } });
  if (r.status !== 0) {
    fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal})${quiet && r.stderr ? `\n${r.stderr}` : ''}`, [name]);
    continue;
  }
  const out = join(dir, 'build', 'Release', `${ADDONS[name].target}.node`);
  if (!existsSync(out)) {
    fail(`node-gyp finished but ${out} is missing`, [name]);
    continue;
  }
  log(`built ${out.slice(root.length)} in ${Date.now() - t0} ms`);
}
finish();
