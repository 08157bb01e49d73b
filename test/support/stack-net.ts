/**
 * Test harness for the userspace stack: hosts (`Stack` + `StackRunner`) on virtual links,
 * all on one `VirtualScheduler`, deterministic (`XorShiftRng` seeds), plus a tap that
 * records frames and helpers to craft raw frames.
 */
import { XorShiftRng } from '../../src/base/rand.ts';
import { VirtualScheduler } from '../../src/base/time.ts';
import type { Link } from '../../src/link/index.ts';
import { createCable, VirtualSwitch, type CableEnd } from '../../src/link/index.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import type { Device } from '../../src/stack/device.ts';
import { Stack, toIpv4, toIpv6, type InterfaceOptions, type StackOptions } from '../../src/stack/stack.ts';
import type { UdpPcb } from '../../src/stack/udp.ts';
import type { Network } from '../../src/socket/network.ts';
import type { TcpServer } from '../../src/socket/tcp-server.ts';
import type { TcpSocket } from '../../src/socket/tcp-socket.ts';
import { concatBytes } from '../../src/wire/bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV4 } from '../../src/wire/checksum.ts';

export interface Host {
  readonly stack: Stack;
  readonly runner: StackRunner;
  readonly ifIndex: number;
  readonly ip: number;
  /** The first static IPv6 address (`iface.ipv6.addresses`), if any. */
  readonly ip6: Uint8Array | undefined;
  readonly mac: Uint8Array;
}

export function addHost(
  sched: VirtualScheduler,
  device: Device,
  address: string,
  seed: number,
  opts: { prefixLen?: number; iface?: InterfaceOptions; stack?: Partial<StackOptions>; name?: string } = {},
): Host {
  const stack = new Stack({ rng: new XorShiftRng(seed), name: opts.name ?? address, ...opts.stack });
  const ifIndex = stack.addInterface(device, { ipv4: { address, prefixLen: opts.prefixLen ?? 24 }, ...opts.iface });
  const runner = new StackRunner(stack, { scheduler: sched });
  const iface = stack.interface(ifIndex);
  const v6 = opts.iface?.ipv6;
  const ip6 = typeof v6 === 'object' ? v6.addresses?.[0]?.address.slice() : undefined;
  return { stack, runner, ifIndex, ip: toIpv4(address), ip6, mac: iface?.mac ?? new Uint8Array(6) };
}

/** IPv6 with the static address `address`/64 (and link-local, SLAAC from RAs), for `addHost`'s `iface`. */
function withIpv6(opts: Parameters<typeof addHost>[4], address: string): Parameters<typeof addHost>[4] {
  return { ...opts, iface: { ipv6: { addresses: [{ address: toIpv6(address), prefixLen: 64 }] }, ...opts?.iface } };
}

/**
 * Two hosts on one cable: 10.0.0.1 (A) and 10.0.0.2 (B); with `ipv6`, also 2001:db8::1/64
 * and 2001:db8::2/64 (DAD takes a second or so of virtual time).
 */
export function twoHosts(opts: { mtu?: number; a?: Parameters<typeof addHost>[4]; b?: Parameters<typeof addHost>[4]; tapA?: boolean; ipv6?: boolean } = {}): {
  sched: VirtualScheduler;
  A: Host;
  B: Host;
  ends: [CableEnd, CableEnd];
  tap: Tap | undefined;
} {
  const sched = new VirtualScheduler();
  const ends = createCable(opts.mtu !== undefined ? { mtu: opts.mtu } : {});
  const tap = opts.tapA === true ? new Tap(ends[0]) : undefined;
  const A = addHost(sched, tap ?? ends[0], '10.0.0.1', 1, opts.ipv6 === true ? withIpv6(opts.a, '2001:db8::1') : opts.a);
  const B = addHost(sched, ends[1], '10.0.0.2', 2, opts.ipv6 === true ? withIpv6(opts.b, '2001:db8::2') : opts.b);
  return { sched, A, B, ends, tap };
}

/** Three hosts on a learning switch: 10.0.0.1-3. */
export function threeHosts(): { sched: VirtualScheduler; hosts: [Host, Host, Host]; sw: VirtualSwitch } {
  const sched = new VirtualScheduler();
  const sw = new VirtualSwitch();
  const hosts = [1, 2, 3].map((i) => addHost(sched, sw.port(), `10.0.0.${i}`, 10 + i)) as [Host, Host, Host];
  return { sched, hosts, sw };
}

/** Runs virtual time forward by `ms` (polls, timers), synchronously. */
export function run(sched: VirtualScheduler, ms = 0): void {
  sched.advanceTo(sched.now() + ms);
}

/** As `run`, letting promise continuations (the socket layer) run between timer batches. */
export async function settle(sched: VirtualScheduler, ms = 0): Promise<void> {
  const end = sched.now() + ms;
  for (let i = 0; i < 100_000; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const next = sched.nextDeadline();
    if (next === undefined || next > end) break;
    sched.advanceTo(next);
  }
  sched.advanceTo(end);
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Drives virtual time (and promise continuations) until `p` settles; fails after `maxMs`. */
export async function resolveOn<T>(sched: VirtualScheduler, p: Promise<T>, maxMs = 600_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (e: unknown) => {
      done = true;
      error = e;
    },
  );
  const end = sched.now() + maxMs;
  while (!done && sched.now() < end) await settle(sched, 5);
  if (!done) throw new Error(`did not settle within ${maxMs} ms of virtual time`);
  if (error !== undefined) throw error;
  return value as T;
}

/** Accepts connections until `listener` closes, handing each to `onSocket`. */
export function acceptEach(listener: TcpServer, onSocket: (s: TcpSocket) => void): void {
  void (async () => {
    for (;;) {
      let s: TcpSocket;
      try {
        s = await listener.accept();
      } catch {
        return;
      }
      onSocket(s);
    }
  })();
}

/** Echoes everything `s` receives, then ends it; a peer going away (or aborted) ends it quietly. */
export function echoSocket(s: TcpSocket): void {
  void (async () => {
    try {
      for await (const c of s) await s.write(c);
      await s.end();
    } catch {
      // the client went away
    }
  })();
}

/**
 * One TCP echo on virtual time: `server` listens on `port` and echoes one connection, `client`
 * connects to `address`, sends `data`, half-closes and reads everything back. Returns what came
 * back and the virtual milliseconds from connected to the last byte back.
 */
export async function tcpEcho(sched: VirtualScheduler, server: Network, client: Network, address: string, port: number, data: Uint8Array): Promise<{ back: Uint8Array; ms: number }> {
  const listener = await resolveOn(sched, server.listen({ port, family: address.includes(':') ? 6 : 4 }));
  const echoed = (async () => {
    const s = await listener.accept();
    for await (const chunk of s) await s.write(chunk);
    await s.end();
  })();
  const c = await resolveOn(sched, client.connect(`${address.includes(':') ? `[${address}]` : address}:${port}`));
  const t0 = sched.now();
  const reader = (async () => {
    const parts: Uint8Array[] = [];
    for await (const chunk of c) parts.push(chunk.slice());
    return concatBytes(parts);
  })();
  await resolveOn(sched, c.write(data));
  await resolveOn(sched, c.end());
  const back = await resolveOn(sched, reader);
  const ms = sched.now() - t0;
  await resolveOn(sched, echoed);
  listener.close();
  return { back, ms };
}

/** A pass-through link recording copies of transmitted and received frames. */
export class Tap implements Link {
  readonly caps: Device['caps'];
  readonly tx: Uint8Array[] = [];
  readonly rx: Uint8Array[] = [];
  private readonly inner: Link;
  constructor(inner: Link) {
    this.inner = inner;
    this.caps = inner.caps;
  }
  receive(now: number): Uint8Array | undefined {
    const f = this.inner.receive(now);
    if (f !== undefined) this.rx.push(f.slice());
    return f;
  }
  transmit(now: number, frame: Uint8Array): boolean {
    this.tx.push(frame.slice());
    return this.inner.transmit(now, frame);
  }
  onReadable(wake: () => void): () => void {
    return this.inner.onReadable(wake);
  }
  close(): void {
    this.inner.close();
  }
  clear(): void {
    this.tx.length = 0;
    this.rx.length = 0;
  }
}

/** `n` deterministic pseudo-random bytes (xorshift32 from `seed`, four bytes per step): test data to send and compare. */
export function pattern(n: number, seed: number): Uint8Array {
  const r = new XorShiftRng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const x = r.nextU32();
    out[i] = x & 0xff;
    out[i + 1] = (x >>> 8) & 0xff;
    out[i + 2] = (x >>> 16) & 0xff;
    out[i + 3] = x >>> 24;
  }
  return out;
}

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** Receives everything queued on a PCB (`from6`: the IPv6 source, on IPv6 PCBs). */
export function drain(stack: Stack, pcb: UdpPcb, size = 70_000): { data: Uint8Array; from: number; from6: Uint8Array | undefined; port: number }[] {
  const out: { data: Uint8Array; from: number; from6: Uint8Array | undefined; port: number }[] = [];
  const buf = new Uint8Array(size);
  const from: { address: number; port: number; address6?: Uint8Array | undefined } = { address: 0, port: 0 };
  for (;;) {
    const n = stack.udpRecvFrom(pcb, buf, size, from);
    if (n < 0) break;
    out.push({ data: buf.slice(0, n), from: from.address, from6: from.address6, port: from.port });
  }
  return out;
}

/** A UDP PCB, bound when `port` is given: IPv4 for a numeric `address`, IPv6 for a 16-byte one (`::`: any). */
export function openUdp(stack: Stack, port?: number, address: number | Uint8Array = 0): UdpPcb {
  const pcb = stack.udpOpen(typeof address === 'number' ? 4 : 6);
  if (typeof pcb === 'number') throw new Error(`udpOpen: ${pcb}`);
  if (port !== undefined) {
    const r = stack.udpBind(pcb, address, port);
    if (r !== 0) throw new Error(`udpBind: ${r}`);
  }
  return pcb;
}

function ipBytes(a: number): Uint8Array {
  return new Uint8Array([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]);
}

/** An Ethernet frame carrying an IPv4 datagram, checksums right unless told otherwise. */
export function ipFrame(o: {
  dstMac: Uint8Array;
  srcMac?: Uint8Array;
  src: number;
  dst: number;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  id?: number;
  fragOffset?: number;
  moreFrags?: boolean;
  badIpChecksum?: boolean;
}): Uint8Array {
  const f = new Uint8Array(14 + 20 + o.payload.length);
  f.set(o.dstMac, 0);
  f.set(o.srcMac ?? new Uint8Array([2, 0, 0, 0, 0, 0x99]), 6);
  f[12] = 0x08;
  f[13] = 0x00;
  const ip = f.subarray(14);
  ip[0] = 0x45;
  const total = 20 + o.payload.length;
  ip[2] = total >> 8;
  ip[3] = total & 0xff;
  const id = o.id ?? 1;
  ip[4] = id >> 8;
  ip[5] = id & 0xff;
  const ff = ((o.moreFrags ? 0x2000 : 0) | ((o.fragOffset ?? 0) >> 3)) & 0xffff;
  ip[6] = ff >> 8;
  ip[7] = ff & 0xff;
  ip[8] = o.ttl ?? 64;
  ip[9] = o.protocol;
  ip.set(ipBytes(o.src), 12);
  ip.set(ipBytes(o.dst), 16);
  const c = foldChecksum(onesSum(ip, 0, 20)) ^ (o.badIpChecksum ? 0x1111 : 0);
  ip[10] = c >> 8;
  ip[11] = c & 0xff;
  ip.set(o.payload, 20);
  return f;
}

/** A UDP datagram (header + data) with its checksum. */
export function udpDatagram(src: number, dst: number, srcPort: number, dstPort: number, data: Uint8Array, badChecksum = false): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  u[0] = srcPort >> 8;
  u[1] = srcPort & 0xff;
  u[2] = dstPort >> 8;
  u[3] = dstPort & 0xff;
  u[4] = u.length >> 8;
  u[5] = u.length & 0xff;
  u.set(data, 8);
  let c = foldChecksum(onesSum(u, 0, u.length, pseudoHeaderSumV4(ipBytes(src), ipBytes(dst), 17, u.length)));
  if (c === 0) c = 0xffff;
  if (badChecksum) c ^= 0x0101;
  u[6] = c >> 8;
  u[7] = c & 0xff;
  return u;
}

/**
 * An Ethernet frame carrying an IPv6 packet: `payload` is everything after the fixed
 * header (extension headers included), `nextHeader` the fixed header's Next Header.
 */
export function ip6Frame(o: { dstMac: Uint8Array; srcMac?: Uint8Array; src: Uint8Array; dst: Uint8Array; nextHeader: number; payload: Uint8Array; hopLimit?: number }): Uint8Array {
  const f = new Uint8Array(14 + 40 + o.payload.length);
  f.set(o.dstMac, 0);
  f.set(o.srcMac ?? new Uint8Array([2, 0, 0, 0, 0, 0x99]), 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  f[14] = 0x60;
  f[18] = (o.payload.length >> 8) & 0xff;
  f[19] = o.payload.length & 0xff;
  f[20] = o.nextHeader;
  f[21] = o.hopLimit ?? 64;
  f.set(o.src, 22);
  f.set(o.dst, 38);
  f.set(o.payload, 54);
  return f;
}

/** Every Ethernet/IPv4 frame's IPv4 header fields of interest (for wire assertions). */
export function ipv4Of(frame: Uint8Array): { src: number; dst: number; protocol: number; ttl: number; id: number; mf: boolean; offset: number; total: number } | undefined {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) return undefined;
  const ip = frame.subarray(14);
  const rd = (o: number): number => ((ip[o] as number) << 8) | (ip[o + 1] as number);
  const rd32 = (o: number): number => ((rd(o) << 16) | rd(o + 2)) >>> 0;
  return { src: rd32(12), dst: rd32(16), protocol: ip[9] as number, ttl: ip[8] as number, id: rd(4), mf: (rd(6) & 0x2000) !== 0, offset: (rd(6) & 0x1fff) * 8, total: rd(2) };
}

/** UDP sockets on a stack under test (`UdpTargets`) and the peer's client socket. */
export interface UdpTargets {
  /** Port 7: echoes every datagram back from its change callback. */
  echo: UdpPcb;
  /** Port 5000, connected to the peer's port 5001 (receive filter, ICMP errors). */
  connected: UdpPcb;
  /** Port 68, bound to the wildcard address: receives broadcasts (IPv4), or datagrams to the group `UDP_GROUP6` B joined (IPv6). */
  broadcast: UdpPcb;
  /** The peer's socket on port 5001. */
  client: UdpPcb;
}

/** The multicast group B joins for `udpTargets` over IPv6 (its `broadcast` socket's traffic). */
export const UDP_GROUP6 = toIpv6('ff02::1:3');

/**
 * Opens `UdpTargets` on `B` and sends the golden UDP and ping exchange from `A` (to the
 * echo, filtered, closed and broadcast ports; a fragmented datagram and ping). The
 * frames are transmitted at the next `run`. `family` 6: IPv6 sockets and addresses
 * (`Host.ip6`), the broadcast replaced by the group `UDP_GROUP6`, the big ping 4000 bytes.
 */
export function udpTargets(sched: VirtualScheduler, A: Host, B: Host, family: 4 | 6 = 4): UdpTargets {
  const v6 = family === 6;
  const any = v6 ? new Uint8Array(16) : 0;
  const addrA = v6 ? (A.ip6 as Uint8Array) : A.ip;
  const addrB = v6 ? (B.ip6 as Uint8Array) : B.ip;
  const echo = openUdp(B.stack, 7, any);
  const connected = openUdp(B.stack, 5000, any);
  B.stack.udpConnect(connected, addrA, 5001);
  const broadcast = openUdp(B.stack, 68, any);
  if (v6) B.stack.joinIpv6Group(B.ifIndex, UDP_GROUP6, sched.now());
  const buf = new Uint8Array(70_000);
  let instant = -1, answers = 0;
  echo.onChange = () => {
    const from: { address: number; port: number; address6?: Uint8Array | undefined } = { address: 0, port: 0 };
    for (let n = B.stack.udpRecvFrom(echo, buf, buf.length, from); n >= 0; n = B.stack.udpRecvFrom(echo, buf, buf.length, from)) {
      // An echo socket that gets its own answers would echo forever at one instant (the
      // poll never ends): stop and say so (the stack counts it in callbackErrors).
      if (sched.now() !== instant) [instant, answers] = [sched.now(), 0];
      if (++answers > 10_000) throw new Error(`UDP echo: over 10,000 answers at ${instant} ms: is it answering itself?`);
      B.stack.udpSendTo(sched.now(), echo, buf, n, from.address6 ?? from.address, from.port);
    }
  };
  const client = openUdp(A.stack, 5001, any);
  A.stack.udpSendTo(sched.now(), client, enc.encode('hello'), 5, addrB, 7);
  A.stack.udpSendTo(sched.now(), client, enc.encode('filter'), 6, addrB, 5000);
  A.stack.udpSendTo(sched.now(), client, enc.encode('nobody'), 6, addrB, 9);
  A.stack.udpSendTo(sched.now(), client, new Uint8Array(3000), 3000, addrB, 7);
  A.stack.udpSendTo(sched.now(), client, enc.encode('bcast'), 5, v6 ? UDP_GROUP6 : 0xffffffff, 68);
  A.stack.ping(sched.now(), addrB);
  A.stack.ping(sched.now(), addrB, { size: v6 ? 4000 : 2000 });
  return { echo, connected, broadcast, client };
}
