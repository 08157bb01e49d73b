/**
 * Stops a child process: SIGTERM, SIGKILL when it is still there after `graceMs` (default 2000);
 * resolves once it has exited. Nothing to do when it already has.
 */
import type { ChildProcess } from 'node:child_process';

export async function stopChildProcess(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.kill('SIGTERM');
  const hard = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await closed;
  clearTimeout(hard);
}
