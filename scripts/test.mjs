#!/usr/bin/env node
// `npm test`: every test tier, in order. Each tier is a list of node:test files run
// through tsx. Static checks (lint, types) run first.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2); // optional tier names: static unit property conformance ...

function files(dir, suffix = '.test.ts') {
  const out = [];
  const walk = (d) => {
    let entries;
    try { entries = readdirSync(d); } catch { return; }
    for (const e of entries.sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(suffix)) out.push(p);
    }
  };
  walk(join(root, dir));
  return out;
}

function run(title, cmd, args, env = {}) {
  process.stdout.write(`\n=== ${title}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    process.stdout.write(`\n=== ${title}: FAILED (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

const tiers = [
  ['static', () => {
    run('lint (eslint, layer order)', 'npx', ['eslint', '.']);
    run('typecheck (tsc --noEmit)', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  }],
  ['unit', () => nodeTest('unit tests', files('test/unit'))],
  ['property', () => nodeTest('property tests (fast-check)', files('test/property'))],
  ['conformance', () => nodeTest('conformance suite', files('test/conformance'))],
  ['e2e', () => nodeTest('end-to-end (CLI, demo)', files('test/e2e'))],
];

function nodeTest(title, list) {
  if (list.length === 0) {
    process.stdout.write(`\n=== ${title}: no test files\n`);
    return;
  }
  run(title, process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...list]);
}

for (const [name, fn] of tiers) {
  if (only.length === 0 || only.includes(name)) fn();
}
process.stdout.write('\n=== all tiers passed\n');
