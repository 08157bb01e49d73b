/**
 * Test harness for the stack's router role: three stacks A — R — B on two virtual cables,
 * all on one `VirtualScheduler`, with R forwarding (or not) between its two interfaces.
 *
 *   A 10.0.1.2/24 (gw .1)            R if0 10.0.1.1/24, if1 10.0.2.1/24           B 10.0.2.2/24 (gw .1)
 *     2001:db8:1::2/64 (gw ::1)        2001:db8:1::1/64, 2001:db8:2::1/64          2001:db8:2::2/64 (gw ::1)
 *
 * The second cable can be an `'ip'` medium (bare IP packets, as PPP, SLIP or TUN carry):
 * R's if1 and B then have no MAC, no ARP and no neighbor resolution.
 */
import { createHash } from 'node:crypto';
import { VirtualScheduler } from '../../src/base/time.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { createCable, type CableEnd } from '../../src/link/index.ts';
import type { ForwardingOption } from '../../src/stack/ip-forward.ts';
import { toIpv6, type StackOptions } from '../../src/stack/stack.ts';
import { TcpLayer, type TcpConn, type TcpListener } from '../../src/stack/tcp/tcp-layer.ts';
import { addHost, pattern, run, Tap, type Host } from './stack-net.ts';

export interface RoutedNet {
  sched: VirtualScheduler;
  A: Host;
  R: Host;
  B: Host;
  /** R's interface towards B. */
  rIf1: number;
  /** Cable A—R (`[A's end, R's end]`) and R—B (`[R's end, B's end]`). */
  left: [CableEnd, CableEnd];
  right: [CableEnd, CableEnd];
  /** Records what A sends and receives. */
  tapA: Tap;
}

export interface RoutedNetOptions {
  /** R's forwarding switch (default true). */
  forwarding?: ForwardingOption;
  /** MTU of the R—B cable (default 1500). */
  rightMtu?: number;
  /** Medium of the R—B cable (default `'ethernet'`). */
  rightMedium?: 'ethernet' | 'ip';
  /** IPv6 on every interface (static addresses and gateways, no SLAAC; DAD runs: call `run(sched, 3000)` first). */
  ipv6?: boolean;
  /** Options for R's stack. */
  routerStack?: Partial<StackOptions>;
}

const v6 = (address: string, gateway?: string) => ({
  autoconf: false,
  addresses: [{ address: toIpv6(address), prefixLen: 64 }],
  ...(gateway !== undefined ? { gateway: toIpv6(gateway) } : {}),
});

export function routedNet(opts: RoutedNetOptions = {}): RoutedNet {
  const sched = new VirtualScheduler();
  const left = createCable();
  const right = createCable({ mtu: opts.rightMtu ?? 1500, medium: opts.rightMedium ?? 'ethernet' });
  const tapA = new Tap(left[0]);
  const ip6 = opts.ipv6 === true;
  const A = addHost(sched, tapA, '10.0.1.2', 31, { iface: { gateway: '10.0.1.1', ...(ip6 ? { ipv6: v6('2001:db8:1::2', '2001:db8:1::1') } : {}) }, name: 'A' });
  const R = addHost(sched, left[1], '10.0.1.1', 32, {
    iface: ip6 ? { ipv6: v6('2001:db8:1::1') } : {},
    stack: { forwarding: opts.forwarding ?? true, ...opts.routerStack },
    name: 'R',
  });
  const rIf1 = R.stack.addInterface(right[0], { ipv4: { address: '10.0.2.1', prefixLen: 24 }, ...(ip6 ? { ipv6: v6('2001:db8:2::1') } : {}) });
  const B = addHost(sched, right[1], '10.0.2.2', 33, { iface: { gateway: '10.0.2.1', ...(ip6 ? { ipv6: v6('2001:db8:2::2', '2001:db8:2::1') } : {}) }, name: 'B' });
  return { sched, A, R, B, rIf1, left, right, tapA };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * A TCP connection from A to B port 80 (IPv4, or IPv6 with `to6`), then `bytes` each way;
 * returns whether both directions arrived intact, and the two connections.
 */
export function tcpThrough(net: RoutedNet, bytes: number, to6?: Uint8Array): { ok: boolean; established: boolean; client: TcpConn; server: TcpConn | undefined } {
  const { sched, A, B } = net;
  const ta = new TcpLayer(A.stack, { rng: new XorShiftRng(100) });
  const tb = new TcpLayer(B.stack, { rng: new XorShiftRng(200) });
  const l = tb.listen(to6 !== undefined ? new Uint8Array(16) : 0, 80, 4) as TcpListener;
  const c = ta.connect(sched.now(), to6 ?? B.ip, 80) as TcpConn;
  run(sched, 200);
  const s = tb.accept(l);
  if (s === undefined) return { ok: false, established: false, client: c, server: undefined };
  const up = pattern(bytes, 1), down = pattern(bytes, 2);
  const gotB = new Uint8Array(bytes), gotA = new Uint8Array(bytes);
  let sa = 0, sb = 0, ra = 0, rb = 0;
  const tmp = new Uint8Array(65536);
  for (let i = 0; i < 20_000 && (ra < bytes || rb < bytes); i++) {
    if (sa < bytes) { const n = c.tcb.send(up.subarray(sa, sa + 65536)); if (n > 0) { sa += n; ta.touch(c); } }
    if (sb < bytes) { const n = s.tcb.send(down.subarray(sb, sb + 65536)); if (n > 0) { sb += n; tb.touch(s); } }
    for (let n; (n = s.tcb.recv(tmp)) > 0;) { gotB.set(tmp.subarray(0, n), rb); rb += n; tb.touch(s); }
    for (let n; (n = c.tcb.recv(tmp)) > 0;) { gotA.set(tmp.subarray(0, n), ra); ra += n; ta.touch(c); }
    run(sched, 5);
  }
  return { ok: sha(gotB) === sha(up) && sha(gotA) === sha(down), established: true, client: c, server: s };
}
