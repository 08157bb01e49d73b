/**
 * A simulated 6LoWPAN mesh (tests, the IoT demo): a chain of userspace-stack nodes on a simulated IEEE 802.15.4
 * medium (`RadioMedium`), mesh-under routes from the topology, and a border router (a
 * forwarding stack with the RFC 6775 router role on its radio and a backbone interface) that
 * routes the mesh prefix 2001:db8:1::/64 to the backbone 2001:db8:2::/64.
 *
 *   node[n-1] ... node[1] -- node[0] -- BR ==backbone== host (2001:db8:2::2)
 *
 * The backbone is a virtual cable to an Ethernet host stack by default, or any device the
 * caller gives (a TAP link to the kernel). Works on a `VirtualScheduler` or on real time.
 */
import { XorShiftRng } from '../../base/rand.ts';
import type { Scheduler } from '../../base/time.ts';
import { createCable } from '../../link/virtual-cable.ts';
import { RadioLink } from '../../link/radio-link.ts';
import { RadioMedium, type RadioPort } from '../../link/radio-medium.ts';
import { StackRunner } from '../../runtime/stack-runner.ts';
import type { Device } from '../../stack/device.ts';
import { Stack, toIpv6 } from '../../stack/stack.ts';

export const MESH_PREFIX = '2001:db8:1::';
export const BR_MESH_ADDR = '2001:db8:1::1';
export const BR_BACKBONE_ADDR = '2001:db8:2::1';
export const BACKBONE_HOST_ADDR = '2001:db8:2::2';
export const MESH_PAN = 0xabcd;

export interface MeshNode {
  readonly stack: Stack;
  readonly runner: StackRunner;
  readonly ifIndex: number;
  readonly port: RadioPort;
  readonly link: RadioLink;
}

export interface MeshNet {
  readonly medium: RadioMedium;
  /** The border router: its radio interface is `ifIndex`, its backbone `backboneIf`. */
  readonly br: MeshNode & { readonly backboneIf: number };
  /** node[0] is the BR's neighbour, the last the farthest (`nodes.length` radio hops away). */
  readonly nodes: readonly MeshNode[];
  /** The chain's radio ports, BR first (`ports[i + 1]` is node i's); with `bareNodes`, the last ones have no stack. */
  readonly ports: readonly RadioPort[];
  /** The Ethernet host on the virtual backbone (absent when the caller gave the backbone device). */
  readonly host: { readonly stack: Stack; readonly runner: StackRunner; readonly ifIndex: number } | undefined;
  /** The global address node `i` forms (prefix + its EUI-64 identifier). */
  address(i: number): string;
  /** True once every node has a registered (preferred) global address and the backbone addresses passed DAD. */
  allRegistered(): boolean;
  close(): void;
}

export interface MeshNetOptions {
  readonly scheduler: Scheduler;
  /** Radio hops from the farthest node to the BR (default 3). */
  readonly hops?: number;
  /** Frame loss on every radio link, % (default 0). */
  readonly lossPct?: number;
  /** Channel bit rate (default 250 000). */
  readonly bitrate?: number;
  readonly seed?: number;
  /**
   * The last `bareNodes` ports of the chain (farthest first) get no stack: the caller puts its
   * own node there (a `RadioLink` on `ports[...]`, e.g. under a `MeshInterface`). Default 0.
   */
  readonly bareNodes?: number;
  /** The BR's backbone device (default: a virtual cable to an Ethernet host). */
  readonly backbone?: Device;
  /** Frames each radio queues (default 64). */
  readonly radioQueue?: number;
  /** The BR's backbone address, /64 (default `BR_BACKBONE_ADDR`). */
  readonly brBackboneAddr?: string;
  /** Duplicate address detection probes of the BR's backbone address (default: the stack's). */
  readonly backboneDadTransmits?: number;
}

/** EUI-64 of mesh node `n` (0 is the BR): 02:00:00:00:00:00:00:n+1 (locally administered). */
export function meshEui64(n: number): Uint8Array {
  return Uint8Array.of(0x02, 0, 0, 0, 0, 0, (n + 1) >> 8, (n + 1) & 0xff);
}

/** Builds the mesh; nodes register once routers answer (a few seconds of stack time). */
export function meshNet(opts: MeshNetOptions): MeshNet {
  const sched = opts.scheduler;
  const seed = opts.seed ?? 1;
  const hops = opts.hops ?? 3;
  const medium = new RadioMedium({ scheduler: sched, rng: new XorShiftRng(seed), bitrate: opts.bitrate ?? 250_000, queueFrames: opts.radioQueue ?? 64 });
  const ports = Array.from({ length: hops + 1 }, (_, i) => medium.attach({ extended: meshEui64(i), pan: MESH_PAN }));
  medium.chain(ports, opts.lossPct ?? 0);

  const brPort = ports[0] as RadioPort;
  const brStack = new Stack({ rng: new XorShiftRng(seed * 100 + 1), name: 'br', forwarding: true });
  const brLink = new RadioLink(brPort);
  const brRadio = brStack.addInterface(brLink, {
    name: 'lowpan0',
    lowpan: { meshRoutes: medium.meshRouter(brPort) },
    ipv6: { autoconf: false, addresses: [{ address: toIpv6(BR_MESH_ADDR), prefixLen: 64 }], lowpan: { router: { prefix: toIpv6(MESH_PREFIX) } } },
  });
  let backbone = opts.backbone;
  let host: MeshNet['host'];
  if (backbone === undefined) {
    const [a, b] = createCable();
    backbone = a;
    const hs = new Stack({ rng: new XorShiftRng(seed * 100 + 2), name: 'host' });
    const hi = hs.addInterface(b, { name: 'eth0', ipv6: { autoconf: false, addresses: [{ address: toIpv6(BACKBONE_HOST_ADDR), prefixLen: 64 }], gateway: toIpv6(BR_BACKBONE_ADDR) } });
    host = { stack: hs, runner: new StackRunner(hs, { scheduler: sched }), ifIndex: hi };
  }
  const backboneIf = brStack.addInterface(backbone, {
    name: 'eth0',
    ipv6: {
      autoconf: false, addresses: [{ address: toIpv6(opts.brBackboneAddr ?? BR_BACKBONE_ADDR), prefixLen: 64 }],
      ...(opts.backboneDadTransmits !== undefined ? { dadTransmits: opts.backboneDadTransmits } : {}),
    },
  });
  const br = { stack: brStack, runner: new StackRunner(brStack, { scheduler: sched }), ifIndex: brRadio, port: brPort, link: brLink, backboneIf };

  const nodes: MeshNode[] = [];
  for (let i = 1; i <= hops - (opts.bareNodes ?? 0); i++) {
    const port = ports[i] as RadioPort;
    const stack = new Stack({ rng: new XorShiftRng(seed * 100 + 10 + i), name: `node${i}` });
    const link = new RadioLink(port);
    const ifIndex = stack.addInterface(link, { name: 'lowpan0', lowpan: { meshRoutes: medium.meshRouter(port) }, ipv6: true });
    nodes.push({ stack, runner: new StackRunner(stack, { scheduler: sched }), ifIndex, port, link });
  }

  // Node i's EUI-64 ends in i + 2 (the BR is 1); U/L flipped, its identifier is ::(i + 2).
  const address = (i: number): string => `${MESH_PREFIX}${(i + 2).toString(16)}`;
  return {
    medium, br, nodes, ports, host, address,
    allRegistered: () => nodes.every((n) => n.stack.ipv6Addresses(n.ifIndex).some((a) => a.address[0] === 0x20 && a.state === 'preferred'))
      && [br.stack.ipv6Addresses(backboneIf), host?.stack.ipv6Addresses(host.ifIndex) ?? []].every((l) => l.every((a) => a.state === 'preferred')),
    close: () => {
      for (const n of [...nodes, br]) n.runner.close();
      host?.runner.close();
    },
  };
}
