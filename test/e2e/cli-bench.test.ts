/**
 * `iotnet bench` as a child process: --help, a short run (`--only wire --quick`, about a
 * second of benchmarks) with its table and JSON file, and usage errors (exit 2). The full
 * run is `npm run bench`'s (minutes; not run here).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertUsageError, runCli, type CliResult } from '../support/cli-run.ts';

describe('iotnet bench', () => {
  it('--help: the groups and options, exit 0', async () => {
    const r = await runCli(['bench', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const o of ['--only', '--quick', '--json', 'wire', 'tcp-host', 'mqtt', 'lowpan', 'npm run bench']) assert.ok(r.stdout.includes(o), o);
  });

  it('--only wire --quick --json FILE: the table on stdout, the figures in FILE, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotnet-cli-bench-'));
    try {
      const json = join(dir, 'bench.json');
      const r = await runCli(['bench', '--only', 'wire', '--quick', '--json', json], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^figure +value +baseline +ratio +goal$/m);
      assert.match(r.stdout, /^wire_checksum_1500B +[\d.]+ MB\/s/m);
      assert.match(r.stderr, /wire: wire codecs/);
      const out = JSON.parse(readFileSync(json, 'utf8')) as { quick: boolean; only: string[]; figures: Record<string, number> };
      assert.equal(out.quick, true);
      assert.deepEqual(out.only, ['wire']);
      assert.ok((out.figures.wire_checksum_1500B ?? 0) > 0);
      assert.ok(Object.keys(out.figures).every((k) => k.startsWith('wire_')), 'only the wire group ran');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad arguments: a clear message, the usage, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--only'], /--only needs at least one NAME/],
      [['--only', 'warp-drive'], /unknown benchmark group 'warp-drive' \(known: tcp-host/],
      [['--fast'], /unknown option '--fast'/],
      [['wire'], /unexpected argument 'wire' \(group names go after --only\)/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['bench', ...args])));
    cases.forEach(([args, message], i) => assertUsageError(results[i] as CliResult, 'bench', message, `bench ${args.join(' ')}`));
  });
});
