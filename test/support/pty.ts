/**
 * The pty addon (native/pty) for tests: loaded, or built once when missing, or else a loud
 * skip naming what goes unchecked — and under `CI=true` a failure, since a skipped
 * required check would hide a regression.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadPtyAddon } from '../../src/runtime/pty.ts';

const root = new URL('../..', import.meta.url).pathname;

/** Why pty pairs cannot be opened here, or undefined. Builds the addon when missing. */
export function ptyUnavailable(): string | undefined {
  let load = loadPtyAddon();
  if (!load.ok && process.platform === 'linux') {
    spawnSync(process.execPath, [`${root}scripts/build-native.mjs`, 'pty', '--quiet'], { stdio: 'ignore' });
    load = loadPtyAddon();
  }
  return load.ok ? undefined : load.reason;
}

/** For a test: true (skipped loudly) when the pty addon is unavailable; a failure under CI=true. */
export function skipWithoutPty(t: { skip(msg: string): void }, unchecked: string): boolean {
  const why = ptyUnavailable();
  if (why === undefined) return false;
  const msg = `SKIPPED: pty addon unavailable: ${why}: ${unchecked} NOT checked`;
  process.stderr.write(`\n!!!!!!!! ${msg} !!!!!!!!\n`);
  if (process.env.CI === 'true') assert.fail(`${msg} (CI=true: a skip is a failure)`);
  t.skip(msg);
  return true;
}
