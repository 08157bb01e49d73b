/**
 * Debian tools the tests use as peers or oracles (tshark, nft, ...): present, or
 * installed with apt-get when running as root, or else a loud skip — and under
 * `CI=true` a failure, since a skipped required check would hide a regression.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Makes `cmd` available, installing Debian package `pkg` when missing (root only; a
 * fresh machine may need `apt-get update` first). Returns undefined when `cmd` can be
 * run, else why not.
 */
export function ensureTool(cmd: string, pkg: string): string | undefined {
  if (have(cmd)) return undefined;
  if (process.getuid?.() !== 0) return `${cmd} is not installed and installing ${pkg} needs root`;
  const apt = (args: string[]): number | null => spawnSync('apt-get', args, {
    stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000,
  }).status;
  const install = ['install', '-y', '--no-install-recommends', pkg];
  if (apt(install) !== 0) {
    apt(['update']);
    apt(install);
  }
  return have(cmd) ? undefined : `${cmd} is not installed and apt-get could not install ${pkg}`;
}

/**
 * `ensureTool`, then for a test: true when the tool is missing and the test was skipped
 * (with a loud SKIPPED line naming what goes unchecked); fails the test under CI=true.
 */
export function skipWithoutTool(t: { skip(msg: string): void }, cmd: string, pkg: string, unchecked: string): boolean {
  const why = ensureTool(cmd, pkg);
  if (why === undefined) return false;
  const msg = `SKIPPED: ${why}: ${unchecked} NOT checked`;
  process.stderr.write(`\n!!!!!!!! ${msg} !!!!!!!!\n`);
  if (process.env.CI === 'true') assert.fail(`${msg} (CI=true: a skip is a failure)`);
  t.skip(msg);
  return true;
}
