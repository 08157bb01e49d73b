/**
 * The 6LoWPAN mesh of test/support/mesh-net.ts on real time with the Linux kernel behind
 * the border router: the BR's backbone is a TAP whose kernel side (this network namespace)
 * has `BACKBONE_HOST_ADDR`/64 without DAD and a route to the mesh prefix via the BR.
 *
 *   node[hops] ... node[1] ~~radio~~ BR ==TAP== Linux kernel (2001:db8:2::2)
 *
 * Every backbone frame is captured to `capture` in the tier's pcap directory (Ethernet, so
 * the tier's tshark check reads it); the radio side is not captured there (linktype 230
 * does not merge into the tier's Ethernet pcap).
 */
import { join } from 'node:path';
import { PcapCapture, type Link } from '../../src/link/index.ts';
import { TapLink } from '../../src/link/tap-link.ts';
import { pcapFileSink } from '../../src/runtime/pcap-file.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import { BACKBONE_HOST_ADDR, BR_BACKBONE_ADDR, MESH_PREFIX, meshNet, type MeshNet } from './mesh-net.ts';
import { pcapDir, sh } from './interop.ts';
import { waitUntil } from './ipv6-interop.ts';

export interface MeshTap {
  readonly mesh: MeshNet;
  /** The TAP's name (kernel side). */
  readonly name: string;
  /** The kernel's address on the backbone. */
  readonly kernelIp: string;
  close(): Promise<void>;
}

export interface MeshTapOptions {
  readonly hops?: number;
  readonly lossPct?: number;
  readonly bitrate?: number;
  readonly seed?: number;
  readonly radioQueue?: number;
  /** Capture file name in `pcapDir()`. */
  readonly capture: string;
}

/** Builds the mesh with a TAP backbone and waits (up to `registerMs`) until every node registered its address. */
export async function meshOverTap(opts: MeshTapOptions, registerMs = 60_000): Promise<MeshTap> {
  const name = `iotm${process.pid % 100000}`.slice(0, 15);
  const tap = TapLink.open(name);
  sh('sysctl', ['-q', '-w', `net.ipv6.conf.${name}.disable_ipv6=0`]);
  sh('sysctl', ['-q', '-w', `net.ipv6.conf.${name}.accept_ra=0`]);
  sh('ip', ['-6', 'addr', 'add', `${BACKBONE_HOST_ADDR}/64`, 'nodad', 'dev', name]);
  sh('ip', ['link', 'set', name, 'up']);
  sh('ip', ['-6', 'route', 'add', `${MESH_PREFIX}/64`, 'via', BR_BACKBONE_ADDR, 'dev', name]);
  const file = pcapFileSink(join(pcapDir(), opts.capture));
  const backbone: Link = new PcapCapture(tap, { clock: systemScheduler, sink: file.sink });
  const mesh = meshNet({
    scheduler: systemScheduler, backbone,
    ...(opts.hops !== undefined ? { hops: opts.hops } : {}),
    ...(opts.lossPct !== undefined ? { lossPct: opts.lossPct } : {}),
    ...(opts.bitrate !== undefined ? { bitrate: opts.bitrate } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.radioQueue !== undefined ? { radioQueue: opts.radioQueue } : {}),
  });
  const close = async (): Promise<void> => {
    mesh.close();
    for (const n of [mesh.br, ...mesh.nodes]) n.stack.close();
    backbone.close();
    await file.close();
  };
  try {
    await waitUntil('every mesh node to register its address and the BR to pass DAD on the backbone', registerMs, () => mesh.allRegistered());
  } catch (e) {
    await close();
    throw e;
  }
  return { mesh, name, kernelIp: BACKBONE_HOST_ADDR, close };
}
