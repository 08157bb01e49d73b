#!/usr/bin/env node
// `npm test`: every test tier, in order. Each tier is a list of node:test files run
// through tsx. Static checks (lint, types) run first.
import { spawn, spawnSync } from 'node:child_process';
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
  ['sim', () => nodeTest('simulation (two stacks, seeded impairments, virtual time)', files('test/sim'))],
  ['conformance', () => nodeTest('conformance suite', files('test/conformance'))],
  ['e2e', () => nodeTest('end-to-end (CLI, demo)', files('test/e2e'))],
];

const totals = { passed: 0, failed: 0, skipped: 0 };

/** Runs node:test on `list`, echoing its output and adding its summary to the totals. */
async function nodeTest(title, list) {
  if (list.length === 0) {
    process.stdout.write(`\n=== ${title}: no test files\n`);
    return;
  }
  process.stdout.write(`\n=== ${title}\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...list], {
    cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let tail = '';
  child.stdout.on('data', (d) => {
    process.stdout.write(d);
    tail = (tail + d.toString()).slice(-4000);
  });
  const code = await new Promise((resolve) => child.on('close', (c, sig) => resolve(c ?? sig)));
  const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(tail)?.[1] ?? 0);
  totals.passed += count('pass');
  totals.failed += count('fail') + count('cancelled');
  totals.skipped += count('skipped');
  if (code !== 0) {
    process.stdout.write(`\n=== ${title}: FAILED (exit ${code})\n${totals.passed} passed, ${Math.max(1, totals.failed)} failed\n`);
    process.exit(typeof code === 'number' && code > 0 ? code : 1);
  }
}

for (const [name, fn] of tiers) {
  if (only.length === 0 || only.includes(name)) await fn();
}
process.stdout.write(`\n=== all tiers passed\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
