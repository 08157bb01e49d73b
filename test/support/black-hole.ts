/**
 * A black-hole TCP port for the host stack (iot-socket-api.md §16): SYNs to the port on
 * loopback are dropped by an nftables rule in a table of our own, removed afterwards.
 * Needs root; installs nftables with apt-get when it is missing. Returns undefined
 * (with the reason) when that is impossible, so the suite can report the case as
 * unsupported.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { ensureTool } from './system-tool.ts';

export interface BlackHole {
  readonly port: number;
  remove(): void;
}

/**
 * `hook`: `'input'` (default) drops SYNs arriving at this host (the server side);
 * `'output'` drops those leaving it (the client side, when the server is elsewhere).
 */
export function installBlackHole(port: number, hook: 'input' | 'output' = 'input'): BlackHole | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: 'needs root for an nftables drop rule' };
  const missing = ensureTool('nft', 'nftables');
  if (missing !== undefined) return { reason: missing };
  const table = `iotnet_bh_${process.pid}_${port}`;
  try {
    execFileSync('nft', ['add', 'table', 'inet', table]);
    execFileSync('nft', ['add', 'chain', 'inet', table, hook, `{ type filter hook ${hook} priority 0; policy accept; }`]);
    execFileSync('nft', ['add', 'rule', 'inet', table, hook, 'tcp', 'dport', String(port), 'drop']);
  } catch (e) {
    spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
    return { reason: `nft failed: ${(e as Error).message.split('\n')[0]}` };
  }
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
  };
  process.once('exit', remove);
  return { port, remove };
}
