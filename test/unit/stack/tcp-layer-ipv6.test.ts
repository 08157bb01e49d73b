/**
 * TCP over IPv6 and dual-stack listeners: `TcpLayer`s over a fake stack (`TcpStackPort`)
 * that carries their segments as IPv4/IPv6 packets would (real pseudo-header checksums,
 * a delay, a path MTU with ICMPv6 Packet Too Big), on virtual time. Connect/accept,
 * 1 MiB each way with SHA-256, graceful close, RST for closed ports (never for
 * multicast), a dual-stack listener, IPv6 connection key collisions, Packet Too Big.
 * Then the same over two real `Stack`s on a virtual cable (with a router's Packet Too
 * Big injected by a link wrapper) and a link-local connection.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  IOT_SOCKET_EADDRINUSE, IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR,
} from '../../../src/base/iot-constants.ts';
import { parseIPv6 } from '../../../src/base/ip-address.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createCable, type Link } from '../../../src/link/index.ts';
import type { ChangeTarget, IcmpErrorInfo, IpInputContext, Ip6Send, IpSend, TransportHandler } from '../../../src/stack/stack.ts';
import { IsnGenerator } from '../../../src/stack/tcp/isn.ts';
import { TcpLayer, connKey6, type TcpConn, type TcpListener, type TcpStackPort } from '../../../src/stack/tcp/tcp-layer.ts';
import { wr16 } from '../../../src/wire/bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV4Addr, pseudoHeaderSumV6 } from '../../../src/wire/checksum.ts';
import { isFault } from '../../../src/wire/fault.ts';
import { emitIcmpv6, icmpv6BufferLen, icmpv6PacketTooBig } from '../../../src/wire/icmpv6.ts';
import { emitIpv6 } from '../../../src/wire/ipv6.ts';
import { TcpFlag, emitTcp, parseTcp, tcpHeaderLen, type TcpRepr } from '../../../src/wire/tcp.ts';
import { addHost, pattern, run } from '../../support/stack-net.ts';

const ip6 = (s: string): Uint8Array => parseIPv6(s) as Uint8Array;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const NONE = new Uint8Array(0);

interface Packet {
  at: number;
  family: 4 | 6;
  src: number;
  dst: number;
  src6: Uint8Array;
  dst6: Uint8Array;
  seg: Uint8Array;
}

/** A host: the `TcpStackPort` of one `TcpLayer`. */
class FakeHost implements TcpStackPort {
  tcp: TransportHandler | undefined;
  readonly changed = new Set<ChangeTarget>();
  /** Link MTU of this host's IPv6 interface (`pathMtu6`). */
  mtu6 = 1500;
  constructor(
    readonly net: FakeNet,
    readonly addr4: number,
    readonly addrs6: Uint8Array[],
    /** Also owns every address of this /64 (first 8 bytes). */
    readonly prefix64: Uint8Array | undefined = undefined,
  ) {}

  get layer(): TcpLayer {
    return this.tcp as TcpLayer;
  }

  owns6(a: Uint8Array): boolean {
    if (this.addrs6.some((x) => hex(x) === hex(a))) return true;
    return this.prefix64 !== undefined && hex(a.subarray(0, 8)) === hex(this.prefix64);
  }

  setTcp(handler: TransportHandler | undefined): void {
    this.tcp = handler;
  }

  sendIp(now: number, p: IpSend): number {
    const seg = new Uint8Array(p.payloadLen ?? 0);
    p.payloadWriter?.(seg, p.src ?? this.addr4, p.dst);
    const src = p.src ?? this.addr4;
    if (p.checksumOffset !== undefined) wr16(seg, p.checksumOffset, foldChecksum(onesSum(seg, 0, seg.length, pseudoHeaderSumV4Addr(src, p.dst, p.protocol, seg.length))));
    this.net.send({ at: now + this.net.delayMs, family: 4, src, dst: p.dst, src6: NONE, dst6: NONE, seg }, this);
    return 0;
  }

  sendIp6(now: number, p: Ip6Send): number {
    const seg = new Uint8Array(p.payloadLen ?? 0);
    p.payloadWriter?.(seg);
    const src = (p.src ?? (this.addrs6[0] as Uint8Array)).slice();
    const dst = p.dst.slice();
    if (p.checksumOffset !== undefined) wr16(seg, p.checksumOffset, foldChecksum(onesSum(seg, 0, seg.length, pseudoHeaderSumV6(src, dst, p.protocol, seg.length))));
    this.net.send({ at: now + this.net.delayMs, family: 6, src: 0, dst: 0, src6: src, dst6: dst, seg }, this);
    return 0;
  }

  sourceAddressFor(dst: number): number {
    void dst;
    return this.addr4;
  }

  sourceAddressFor6(dst: Uint8Array): Uint8Array | undefined {
    void dst;
    return this.addrs6[0]?.slice();
  }

  pathMtu(dst: number): number {
    void dst;
    return 1500;
  }

  pathMtu6(dst: Uint8Array): number {
    return this.net.owner6(dst) === undefined ? 0 : this.mtu6;
  }

  markChanged(target: ChangeTarget): void {
    this.changed.add(target);
  }

  requestPoll(): void {}
}

/** Hosts on one virtual path with a fixed delay; `pathMtu6` limits IPv6 packets (40-byte header + segment). */
class FakeNet {
  now = 0;
  delayMs = 1;
  pathMtu6 = 1500;
  readonly hosts: FakeHost[] = [];
  readonly sent: Packet[] = [];
  private queue: Packet[] = [];
  private ptbQueue: { at: number; to: FakeHost; err: IcmpErrorInfo }[] = [];
  ptbs = 0;

  add(addr4: number, addrs6: string[], seed: number, prefix64?: string): FakeHost {
    const h = new FakeHost(this, addr4, addrs6.map(ip6), prefix64 === undefined ? undefined : ip6(prefix64).subarray(0, 8));
    new TcpLayer(h, { rng: new XorShiftRng(seed) });
    this.hosts.push(h);
    return h;
  }

  owner6(a: Uint8Array): FakeHost | undefined {
    return this.hosts.find((h) => h.owns6(a));
  }

  send(p: Packet, from: FakeHost): void {
    this.sent.push(p);
    if (p.family === 6 && 40 + p.seg.length > this.pathMtu6) {
      // A router on the way drops it and answers with a Packet Too Big quoting it.
      this.ptbs++;
      this.ptbQueue.push({
        at: p.at, to: from,
        err: {
          source: 'icmp', family: 6, type: 2, code: 0, nextHopMtu: this.pathMtu6, reporter: 0, src: 0, dst: 0, protocol: 6,
          transport: p.seg.slice(0, 1280 - 48 - 40), src6: p.src6, dst6: p.dst6, reporter6: ip6('2001:db8:ffff::1'),
        },
      });
      return;
    }
    this.queue.push(p);
  }

  /** Input due now, then every layer's poll, then change callbacks. */
  private step(): void {
    const due = this.queue.filter((p) => p.at <= this.now);
    this.queue = this.queue.filter((p) => p.at > this.now);
    for (const p of due) {
      const to = p.family === 4 ? this.hosts.find((h) => h.addr4 === p.dst) : this.owner6(p.dst6);
      if (to === undefined) continue;
      const ctx: IpInputContext = {
        family: p.family, ifIndex: 1, src: p.src, dst: p.dst, src6: p.src6, dst6: p.dst6, protocol: 6, ttl: 64, tos: 0,
        broadcast: false, header: new Uint8Array(p.family === 4 ? 20 : 40), checksumVerified: false,
      };
      to.tcp?.input(this.now, ctx, p.seg);
    }
    const ptbs = this.ptbQueue.filter((e) => e.at <= this.now);
    this.ptbQueue = this.ptbQueue.filter((e) => e.at > this.now);
    for (const e of ptbs) e.to.tcp?.onIcmpError?.(this.now, e.err);
    for (const h of this.hosts) h.tcp?.poll(this.now);
    for (const h of this.hosts) {
      const targets = [...h.changed];
      h.changed.clear();
      for (const t of targets) t.onChange?.();
    }
  }

  /** Runs virtual time forward by `ms`. */
  run(ms: number): void {
    const end = this.now + ms;
    for (let i = 0; i < 1_000_000; i++) {
      this.step();
      let next = Infinity;
      for (const p of this.queue) next = Math.min(next, p.at);
      for (const e of this.ptbQueue) next = Math.min(next, e.at);
      for (const h of this.hosts) next = Math.min(next, h.tcp?.pollAt() ?? Infinity);
      if (next > end) break;
      this.now = Math.max(this.now, next);
    }
    this.now = end;
    this.step();
  }
}

const A4 = 0x0a000001, B4 = 0x0a000002;
const A6 = '2001:db8::1', B6 = '2001:db8::2';

function setup() {
  const net = new FakeNet();
  const A = net.add(A4, [A6], 100);
  const B = net.add(B4, [B6, '2001:db8::22'], 200);
  return { net, A, B, ta: A.layer, tb: B.layer };
}

/**
 * Moves `up` over c -> s and `down` over s -> c through the TCBs (`tc`, `ts`: their
 * layers), reading as it arrives; `step` advances time by a millisecond.
 */
function transfer(step: () => void, c: TcpConn, tc: TcpLayer, s: TcpConn, ts: TcpLayer, up: Uint8Array, down: Uint8Array): { atS: Uint8Array; atC: Uint8Array } {
  const atS = new Uint8Array(up.length), atC = new Uint8Array(down.length);
  let sc = 0, ss = 0, rs = 0, rc = 0;
  const tmp = new Uint8Array(65536);
  for (let i = 0; i < 200_000 && (rc < down.length || rs < up.length); i++) {
    if (sc < up.length) { const n = c.tcb.send(up.subarray(sc, sc + 65536)); if (n > 0) { sc += n; tc.touch(c); } }
    if (ss < down.length) { const n = s.tcb.send(down.subarray(ss, ss + 65536)); if (n > 0) { ss += n; ts.touch(s); } }
    for (let n; (n = s.tcb.recv(tmp)) > 0;) { atS.set(tmp.subarray(0, n), rs); rs += n; ts.touch(s); }
    for (let n; (n = c.tcb.recv(tmp)) > 0;) { atC.set(tmp.subarray(0, n), rc); rc += n; tc.touch(c); }
    step();
  }
  return { atS, atC };
}

/** `transfer` over the fake network (the layers from `own`). */
function exchange(net: FakeNet, c: TcpConn, s: TcpConn, up: Uint8Array, down: Uint8Array): { atS: Uint8Array; atC: Uint8Array } {
  const layer = (x: TcpConn): TcpLayer => (ownerOf.get(x) as FakeHost).layer;
  return transfer(() => net.run(1), c, layer(c), s, layer(s), up, down);
}

/** Which layer owns a connection (set by `own`), for `touch`. */
const ownerOf = new WeakMap<TcpConn, FakeHost>();
function own<T extends TcpConn | undefined>(h: FakeHost, c: T): T {
  if (c !== undefined) ownerOf.set(c, h);
  return c;
}
function touch(c: TcpConn): void {
  (ownerOf.get(c) as FakeHost).layer.touch(c);
}

function synOf(net: FakeNet, from: number, family: 4 | 6): TcpRepr {
  const p = net.sent.filter((x) => x.family === family)[from] as Packet;
  const r = parseTcp(p.seg, 0, { checksumOffload: true });
  assert.ok(!isFault(r));
  return r;
}

describe('TCP layer over IPv6', () => {
  it('connect, accept, 1 MiB each way with SHA-256 equal, graceful close; MSS from the path MTU - 60', () => {
    const { net, A, B, ta, tb } = setup();
    const l = tb.listen(ip6('::'), 80, 4) as TcpListener;
    assert.equal(l.family, 6);
    const c = own(A, ta.connect(net.now, ip6(B6), 80) as TcpConn);
    assert.equal(typeof c, 'object');
    net.run(50);
    assert.equal(c.tcb.state, 'ESTABLISHED');
    assert.equal(c.family, 6);
    assert.equal(c.localIp, 0);
    assert.equal(c.remoteIp, 0);
    assert.equal(hex(c.localIp6), hex(ip6(A6)), 'source chosen by the stack');
    assert.equal(hex(c.remoteIp6), hex(ip6(B6)));
    const s = own(B, tb.accept(l));
    assert.ok(s !== undefined, 'accepted');
    assert.equal(s.family, 6);
    assert.equal(s.tcb.state, 'ESTABLISHED');
    assert.equal(hex(s.remoteIp6), hex(ip6(A6)));
    assert.equal(hex(s.localIp6), hex(ip6(B6)));
    assert.equal(s.remotePort, c.localPort);
    assert.ok(c.localPort >= 49152);
    // MSS 1500 - 60 both ways.
    assert.equal(synOf(net, 0, 6).options.mss, 1440);
    assert.equal(synOf(net, 1, 6).options.mss, 1440);
    assert.equal(c.tcb.sndMss, 1440);
    assert.equal(s.tcb.sndMss, 1440);
    for (const p of net.sent) assert.ok(40 + p.seg.length <= 1500, 'every packet fits the MTU');

    const up = pattern(1 << 20, 1), down = pattern(1 << 20, 2);
    const { atS, atC } = exchange(net, c, s, up, down);
    assert.equal(sha(atS), sha(up), 'upstream intact');
    assert.equal(sha(atC), sha(down), 'downstream intact');
    assert.equal(ta.dropped + tb.dropped, 0, 'no checksum failure');

    c.tcb.close();
    touch(c);
    net.run(100);
    assert.ok(s.tcb.eof);
    s.tcb.close();
    touch(s);
    net.run(100);
    assert.equal(s.tcb.state, 'CLOSED');
    assert.equal(c.tcb.state, 'TIME-WAIT');
    assert.equal(ta.connections, 1);
    assert.equal(ta.openSockets, 0);
    net.run(61_000);
    assert.equal(c.tcb.state, 'CLOSED');
    assert.equal(ta.connections, 0, 'TIME-WAIT expired: the table is empty');
    assert.equal(tb.connections, 0);
    assert.equal(tb.openSockets, 1, 'the listener');
  });

  it('RFC 6191 over IPv6: a new SYN from the same port takes over a server-side TIME-WAIT at once', () => {
    const { net, A, B, ta, tb } = setup();
    const l = tb.listen(ip6('::'), 80, 4) as TcpListener;
    const c = own(A, ta.connect(net.now, ip6(B6), 80, 0, 40_000) as TcpConn);
    net.run(50);
    const s = own(B, tb.accept(l) as TcpConn);
    s.tcb.close();
    touch(s);
    net.run(100);
    c.tcb.close();
    touch(c);
    net.run(100);
    assert.equal(s.tcb.state, 'TIME-WAIT');
    assert.equal(c.tcb.state, 'CLOSED');
    net.run(1000);
    const again = own(A, ta.connect(net.now, ip6(B6), 80, 0, 40_000) as TcpConn);
    assert.equal(typeof again, 'object');
    net.run(20);
    assert.equal(again.tcb.state, 'ESTABLISHED');
    const s2 = tb.accept(l);
    assert.ok(s2 !== undefined && s2 !== s && s2.tcb.state === 'ESTABLISHED');
    assert.equal(tb.connections, 1, 'the TIME-WAIT connection left the table');
  });

  it('SYN flood from spoofed IPv6 sources: the half-open queue stays bounded and a real client still gets in', () => {
    const { net, A, ta, tb } = setup();
    const l = tb.listen(ip6('::'), 80, 4) as TcpListener;
    const dst = ip6(B6);
    for (let i = 0; i < 2000; i++) {
      const src = ip6(`2001:db8:66::${(i + 1).toString(16)}`); // nobody there answers
      const repr: TcpRepr = { srcPort: 1024 + i, dstPort: 80, seq: i * 7919, ack: 0, flags: TcpFlag.SYN, window: 65535, urgent: 0, options: { mss: 1440 }, payloadLength: 0 };
      const seg = new Uint8Array(tcpHeaderLen(repr));
      emitTcp(repr, seg, pseudoHeaderSumV6(src, dst, 6, seg.length));
      tb.input(net.now, { family: 6, ifIndex: 1, src: 0, dst: 0, src6: src, dst6: dst, protocol: 6, ttl: 64, tos: 0, broadcast: false, header: new Uint8Array(40), checksumVerified: false }, seg);
    }
    net.run(10);
    assert.ok(l.halfOpen.length <= 64, `half-open ${l.halfOpen.length} <= 64`);
    assert.ok(l.evicted >= 2000 - 64);
    assert.ok(tb.connections <= 64);
    const real = own(A, ta.connect(net.now, ip6(B6), 80) as TcpConn);
    net.run(200);
    assert.equal(real.tcb.state, 'ESTABLISHED');
    assert.equal(hex(tb.accept(l)?.remoteIp6 ?? NONE), hex(ip6(A6)));
  });

  it('MSS: at least 1220 (no route, or a smaller config), 1220 assumed when the peer sends none', () => {
    const { net, A, ta } = setup();
    A.mtu6 = 9000;
    const jumbo = ta.connect(net.now, ip6(B6), 80) as TcpConn;
    assert.equal(jumbo.tcb.cfg.mss, 8940);
    const nowhere = ta.connect(net.now, ip6('2001:db8:9::1'), 80) as TcpConn;
    assert.equal(nowhere.tcb.cfg.mss, 1220, 'no route: the IPv6 minimum');
    const small = new TcpLayer(new FakeHost(net, A4, [ip6(A6)]), { rng: new XorShiftRng(3), config: { mss: 1000 } });
    assert.equal((small.connect(net.now, ip6(B6), 80) as TcpConn).tcb.cfg.mss, 1000, 'an explicit config.mss lowers it');
    assert.equal(jumbo.tcb.cfg.defaultPeerMss, 1220);
  });

  it('a SYN to a closed port is answered with RST: ECONNREFUSED; multicast and IPv4-mapped never get one', () => {
    const { net, A, B, ta, tb } = setup();
    const c = own(A, ta.connect(net.now, ip6(B6), 81) as TcpConn);
    net.run(50);
    assert.equal(c.tcb.state, 'CLOSED');
    assert.equal(c.tcb.error, IOT_SOCKET_ECONNREFUSED);
    assert.equal(tb.resets, 1);
    assert.equal(ta.connections, 0);
    // A SYN to a multicast group (flagged by the stack, or not), from a multicast,
    // unspecified or IPv4-mapped source: dropped, never answered.
    const syn = (src: Uint8Array, dst: Uint8Array, broadcast: boolean): void => {
      const repr: TcpRepr = { srcPort: 5555, dstPort: 81, seq: 1, ack: 0, flags: TcpFlag.SYN, window: 65535, urgent: 0, options: { mss: 1440 }, payloadLength: 0 };
      const seg = new Uint8Array(tcpHeaderLen(repr));
      emitTcp(repr, seg, pseudoHeaderSumV6(src, dst, 6, seg.length));
      tb.input(net.now, { family: 6, ifIndex: 1, src: 0, dst: 0, src6: src, dst6: dst, protocol: 6, ttl: 64, tos: 0, broadcast, header: new Uint8Array(40), checksumVerified: false }, seg);
    };
    const sentBefore = net.sent.length;
    syn(ip6(A6), ip6('ff02::1'), true);
    syn(ip6(A6), ip6('ff02::1'), false);
    syn(ip6('ff02::2'), ip6(B6), false);
    syn(ip6('::'), ip6(B6), false);
    syn(ip6('::ffff:10.0.0.1'), ip6(B6), false);
    net.run(10);
    assert.equal(tb.dropped, 5);
    assert.equal(tb.resets, 1, 'no new RST');
    assert.equal(net.sent.length, sentBefore, 'nothing sent');
    // A unicast SYN with a bad checksum: dropped too.
    const repr: TcpRepr = { srcPort: 5555, dstPort: 81, seq: 1, ack: 0, flags: TcpFlag.SYN, window: 65535, urgent: 0, options: {}, payloadLength: 0 };
    const seg = new Uint8Array(tcpHeaderLen(repr));
    emitTcp(repr, seg, pseudoHeaderSumV6(ip6(A6), ip6('2001:db8::99'), 6, seg.length)); // summed for another destination
    tb.input(net.now, { family: 6, ifIndex: 1, src: 0, dst: 0, src6: ip6(A6), dst6: ip6(B6), protocol: 6, ttl: 64, tos: 0, broadcast: false, header: new Uint8Array(40), checksumVerified: false }, seg);
    assert.equal(tb.dropped, 6);
    void B;
  });

  it('dual-stack listener on :: accepts an IPv4 and an IPv6 client (families 4 and 6); v6only and specific addresses do not take IPv4', () => {
    const { net, A, B, ta, tb } = setup();
    const l = tb.listen(ip6('::'), 80, 8) as TcpListener;
    assert.equal(l.v6only, false);
    assert.equal(tb.openSockets, 1, 'one listener in both tables counts once');
    assert.equal(tb.listenerOn(80, 4), l);
    assert.equal(tb.listenerOn(80, 6), l);
    const c4 = own(A, ta.connect(net.now, B4, 80) as TcpConn);
    const c6 = own(A, ta.connect(net.now, ip6(B6), 80) as TcpConn);
    net.run(50);
    assert.equal(c4.tcb.state, 'ESTABLISHED');
    assert.equal(c6.tcb.state, 'ESTABLISHED');
    const got = [own(B, tb.accept(l)), own(B, tb.accept(l))].filter((x): x is TcpConn => x !== undefined);
    assert.equal(got.length, 2);
    const s4 = got.find((x) => x.family === 4) as TcpConn;
    const s6 = got.find((x) => x.family === 6) as TcpConn;
    assert.ok(s4 !== undefined && s6 !== undefined, 'one of each family');
    assert.equal(s4.remoteIp, A4);
    assert.equal(s4.localIp, B4);
    assert.equal(s4.remoteIp6.length, 0, 'an IPv4 connection has no IPv6 addresses (the socket layer maps them)');
    assert.equal(hex(s6.remoteIp6), hex(ip6(A6)));
    const r4 = exchange(net, c4, s4, pattern(50_000, 3), pattern(40_000, 4));
    const r6 = exchange(net, c6, s6, pattern(50_000, 5), pattern(40_000, 6));
    assert.equal(sha(r4.atS), sha(pattern(50_000, 3)));
    assert.equal(sha(r4.atC), sha(pattern(40_000, 4)));
    assert.equal(sha(r6.atS), sha(pattern(50_000, 5)));
    assert.equal(sha(r6.atC), sha(pattern(40_000, 6)));

    // Port conflicts, as on Linux: the dual-stack listener holds IPv4 and IPv6.
    assert.equal(tb.listen(0, 80, 1), IOT_SOCKET_EADDRINUSE);
    assert.equal(tb.listen(ip6('::'), 80, 1, { v6only: true }), IOT_SOCKET_EADDRINUSE);
    // v6only on 81: IPv4 clients are refused; an IPv4 listener may share the port.
    const l6 = tb.listen(ip6('::'), 81, 4, { v6only: true }) as TcpListener;
    assert.equal(l6.v6only, true);
    const refused = own(A, ta.connect(net.now, B4, 81) as TcpConn);
    net.run(50);
    assert.equal(refused.tcb.error, IOT_SOCKET_ECONNREFUSED);
    const l4 = tb.listen(0, 81, 4) as TcpListener;
    assert.equal(l4.family, 4);
    assert.equal(tb.listen(ip6('::'), 81, 1), IOT_SOCKET_EADDRINUSE);
    assert.equal(tb.openSockets, 3 + 2, 'three listeners and two connections');
    // A listener on one specific IPv6 address: SYNs to the host's other address get RST.
    const ls = tb.listen(ip6(B6), 82, 4) as TcpListener;
    assert.equal(ls.v6only, true);
    const other = own(A, ta.connect(net.now, ip6('2001:db8::22'), 82) as TcpConn);
    const right = own(A, ta.connect(net.now, ip6(B6), 82) as TcpConn);
    const v4to82 = own(A, ta.connect(net.now, B4, 82) as TcpConn);
    net.run(50);
    assert.equal(other.tcb.error, IOT_SOCKET_ECONNREFUSED);
    assert.equal(v4to82.tcb.error, IOT_SOCKET_ECONNREFUSED);
    assert.equal(right.tcb.state, 'ESTABLISHED');
    assert.equal(ls.acceptQueue.length, 1);
    // IPv4-mapped addresses mean IPv4: a listener on ::ffff:0.0.0.0 is an IPv4 one,
    // a connect to ::ffff:10.0.0.2 is an IPv4 connection.
    const lm = tb.listen(ip6('::ffff:0.0.0.0'), 83, 4) as TcpListener;
    assert.equal(lm.family, 4);
    const cm = own(A, ta.connect(net.now, ip6('::ffff:10.0.0.2'), 83) as TcpConn);
    assert.equal(cm.family, 4);
    assert.equal(cm.remoteIp, B4);
    net.run(50);
    assert.equal(cm.tcb.state, 'ESTABLISHED');
    // Closing the dual-stack listener frees both families of port 80.
    tb.closeListener(net.now, l);
    assert.equal(tb.listenerOn(80), undefined);
    const again = tb.listen(0, 80, 1);
    assert.equal(typeof again, 'object');
    tb.close();
    assert.equal(tb.listenerOn(81), undefined);
    void B;
  });

  it('key collisions: two connections differing only in IPv6 address bytes, with the same table key, each get their own segments', () => {
    const net = new FakeNet();
    const A = net.add(A4, [A6], 100);
    const B = net.add(B4, [], 200, '2001:db8:1::');
    const ta = A.layer, tb = B.layer;
    // The layer's key seed, derived as the layer does (from its ISN secret).
    const ff = new Uint8Array(16).fill(0xff);
    const seed = new IsnGenerator(new XorShiftRng(100)).tsOffset(ff, ff);
    // Birthday search for two addresses in B's /64 whose 4-tuples share a key. (Addresses
    // differing in one 32-bit word only never collide: each mixing step is a bijection.)
    const lip = ip6(A6);
    const addr = (x: number): Uint8Array => {
      const a = ip6('2001:db8:1::');
      a[9] = (x >>> 16) & 0xff; a[10] = (x >>> 8) & 0xff; a[11] = x & 0xff;
      a[13] = (x >>> 16) & 0xff; a[14] = (x >>> 8) & 0xff; a[15] = x & 0xff; // 24 bits in two words
      return a;
    };
    const seen = new Map<number, number>();
    let pair: [number, number] | undefined;
    for (let x = 1; x < 1 << 24 && pair === undefined; x++) {
      const k = connKey6(seed, lip, 40000, addr(x), 80);
      const y = seen.get(k);
      if (y !== undefined) pair = [y, x];
      else seen.set(k, x);
    }
    assert.ok(pair !== undefined, 'a collision was found');
    const r1 = addr(pair[0]), r2 = addr(pair[1]);
    const l = tb.listen(ip6('::'), 80, 8) as TcpListener;
    const c1 = own(A, ta.connect(net.now, r1, 80, 0, 40000) as TcpConn);
    const c2 = own(A, ta.connect(net.now, r2, 80, 0, 40000) as TcpConn);
    assert.equal(typeof c2, 'object');
    assert.equal(c1.key, c2.key, 'same table key');
    assert.notEqual(hex(c1.remoteIp6), hex(c2.remoteIp6));
    assert.equal(ta.connect(net.now, r1, 80, 0, 40000), IOT_SOCKET_EADDRINUSE, 'the 4-tuple itself is taken');
    net.run(50);
    const s1 = own(B, tb.accept(l) as TcpConn), s2 = own(B, tb.accept(l) as TcpConn);
    assert.equal(hex(s1.localIp6), hex(r1));
    assert.equal(hex(s2.localIp6), hex(r2));
    const d1 = pattern(30_000, 11), d2 = pattern(30_000, 12);
    const x1 = exchange(net, c1, s1, d1, d2);
    const x2 = exchange(net, c2, s2, d2, d1);
    assert.equal(sha(x1.atS), sha(d1));
    assert.equal(sha(x1.atC), sha(d2));
    assert.equal(sha(x2.atS), sha(d2));
    assert.equal(sha(x2.atC), sha(d1));
    // One leaves the table; the other is still found.
    c1.tcb.abort();
    touch(c1);
    net.run(10);
    assert.equal(c1.tcb.state, 'CLOSED');
    assert.equal(s1.tcb.state, 'CLOSED', 'the RST reached the right connection');
    assert.equal(ta.connections, 1);
    const x3 = exchange(net, c2, s2, pattern(5000, 13), new Uint8Array(0));
    assert.equal(sha(x3.atS), sha(pattern(5000, 13)));
    assert.equal(s2.tcb.state, 'ESTABLISHED');
  });

  it('Packet Too Big: the connection sends at the new path MTU - 60 from then on, no timeout; bogus ones are ignored', () => {
    const { net, A, B, ta, tb } = setup();
    const l = tb.listen(ip6('::'), 80, 4) as TcpListener;
    const c = own(A, ta.connect(net.now, ip6(B6), 80) as TcpConn);
    net.run(50);
    const s = own(B, tb.accept(l) as TcpConn);
    assert.equal(c.tcb.sndMss, 1440);
    // Not in flight (nothing is): ignored. An IPv4 error: ignored.
    const quote = (seq: number): Uint8Array => {
      const t = new Uint8Array(20);
      wr16(t, 0, c.localPort);
      wr16(t, 2, 80);
      t[4] = seq >>> 24; t[5] = (seq >>> 16) & 0xff; t[6] = (seq >>> 8) & 0xff; t[7] = seq & 0xff;
      return t;
    };
    const ptb = (seq: number, mtu: number, family: 4 | 6 = 6): IcmpErrorInfo => ({
      source: 'icmp', family, type: family === 6 ? 2 : 3, code: family === 6 ? 0 : 4, nextHopMtu: mtu, reporter: 0, src: 0, dst: 0, protocol: 6,
      transport: quote(seq), src6: ip6(A6), dst6: ip6(B6), reporter6: ip6('2001:db8:ffff::1'),
    });
    ta.onIcmpError(net.now, ptb(c.tcb.sndUna, 1280));
    ta.onIcmpError(net.now, ptb(c.tcb.sndUna, 1280, 4));
    assert.equal(c.tcb.sndMss, 1440, 'nothing in flight: ignored');

    net.pathMtu6 = 1280;
    const data = pattern(512 * 1024, 21);
    const sentBefore = net.sent.length;
    const x = exchange(net, c, s, data, new Uint8Array(0));
    assert.equal(sha(x.atS), sha(data));
    assert.ok(net.ptbs >= 1, 'the path sent Packet Too Big');
    assert.equal(c.tcb.sndMss, 1220);
    assert.equal(c.tcb.stats.timeouts, 0, 'the dropped segments went out again without an RTO');
    const sentAfter = net.sent.slice(sentBefore);
    const firstSmall = sentAfter.findIndex((p) => p.family === 6 && p.seg.length > 20 + 12 && 40 + p.seg.length <= 1280 && hex(p.src6) === hex(ip6(A6)));
    assert.ok(firstSmall >= 0);
    const bigAfter = sentAfter.slice(firstSmall).filter((p) => 40 + p.seg.length > 1280).length;
    assert.equal(bigAfter, 0, 'nothing too large once lowered');
    assert.equal(s.tcb.sndMss, 1440, 'the other direction did not hear of it');

    // A forged PTB outside the window, or for another connection, is ignored; an MTU
    // below 1280 counts as 1280 (RFC 8201 §4).
    net.pathMtu6 = 1500;
    c.tcb.send(pattern(100_000, 22));
    touch(c);
    net.run(1);
    assert.ok(c.tcb.sndNxt !== c.tcb.sndUna, 'data in flight');
    ta.onIcmpError(net.now, ptb((c.tcb.sndUna - 100_000) >>> 0, 1280));
    ta.onIcmpError(net.now, { ...ptb(c.tcb.sndUna, 1280), dst6: ip6('2001:db8::99') });
    assert.equal(c.tcb.sndMss, 1220);
    ta.onIcmpError(net.now, ptb(c.tcb.sndUna, 600));
    assert.equal(c.tcb.sndMss, 1220, 'never below 1280 - 60');
  });

  it('connect and listen: argument checks; no IPv6 output in the stack: ENOTSUP', () => {
    const { net, ta, tb } = setup();
    assert.equal(ta.connect(net.now, ip6('ff02::1'), 80), IOT_SOCKET_EINVAL, 'multicast');
    assert.equal(ta.connect(net.now, ip6('::'), 80), IOT_SOCKET_EINVAL, 'unspecified');
    assert.equal(ta.connect(net.now, new Uint8Array(5), 80), IOT_SOCKET_EINVAL, 'malformed');
    assert.equal(ta.connect(net.now, ip6(B6), 80, A4), IOT_SOCKET_EINVAL, 'IPv4 source, IPv6 destination');
    assert.equal(ta.connect(net.now, B4, 80, ip6(A6)), IOT_SOCKET_EINVAL, 'IPv6 source, IPv4 destination');
    assert.equal(tb.listen(ip6('ff02::1'), 80, 1), IOT_SOCKET_EINVAL);
    assert.equal(tb.listen(new Uint8Array(3), 80, 1), IOT_SOCKET_EINVAL);
    // 4-byte IPv4 addresses work as numbers do; an explicit IPv6 source is kept.
    const c4 = ta.connect(net.now, new Uint8Array([10, 0, 0, 2]), 80, new Uint8Array(4)) as TcpConn;
    assert.equal(c4.family, 4);
    assert.equal(c4.localIp, A4);
    const c6 = ta.connect(net.now, ip6(B6), 80, ip6('2001:db8::77')) as TcpConn;
    assert.equal(hex(c6.localIp6), hex(ip6('2001:db8::77')));
    // A stack without IPv6 (only the IPv4 half of TcpStackPort).
    const h = new FakeHost(net, A4, []);
    const v4only: TcpStackPort = {
      setTcp: (t) => h.setTcp(t), sendIp: (n, p) => h.sendIp(n, p), sourceAddressFor: () => A4, pathMtu: () => 1500,
      markChanged: (t) => h.markChanged(t), requestPoll: () => {},
    };
    const t4 = new TcpLayer(v4only, { rng: new XorShiftRng(9) });
    assert.equal(t4.connect(net.now, ip6(B6), 80), IOT_SOCKET_ENOTSUP);
    assert.equal(typeof t4.connect(net.now, B4, 80), 'object', 'IPv4 still works');
    // No source address (no route): ERROR.
    const noAddr = new TcpLayer(new FakeHost(net, A4, []), { rng: new XorShiftRng(10) });
    assert.equal(noAddr.connect(net.now, ip6(B6), 80), IOT_SOCKET_ERROR);
  });
});

/**
 * Drops IPv6 frames its host sends that exceed `mtu` and answers each with an ICMPv6
 * Packet Too Big from 2001:db8::fe, as a router before a narrower link would.
 */
class PathMtuLink implements Link {
  readonly caps: Link['caps'];
  mtu = Infinity;
  ptbs = 0;
  private readonly injected: Uint8Array[] = [];
  private wake: (() => void) | undefined;
  private readonly inner: Link;
  constructor(inner: Link) {
    this.inner = inner;
    this.caps = inner.caps;
  }
  receive(now: number): Uint8Array | undefined {
    return this.injected.shift() ?? this.inner.receive(now);
  }
  transmit(now: number, frame: Uint8Array): boolean {
    if (frame[12] !== 0x86 || frame[13] !== 0xdd || frame.length - 14 <= this.mtu) return this.inner.transmit(now, frame);
    const pkt = frame.subarray(14);
    const sender = pkt.slice(8, 24), router = ip6('2001:db8::fe');
    const repr = icmpv6PacketTooBig(this.mtu, pkt);
    const icmp = new Uint8Array(icmpv6BufferLen(repr));
    emitIcmpv6(repr, icmp, router, sender);
    const out = new Uint8Array(14 + 40 + icmp.length);
    out.set(frame.subarray(6, 12), 0);
    out.set([2, 0, 0, 0, 0, 0xfe], 6);
    out[12] = 0x86;
    out[13] = 0xdd;
    emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLen: icmp.length, nextHeader: 58, hopLimit: 64, src: router, dst: sender }, out.subarray(14));
    out.set(icmp, 54);
    this.injected.push(out);
    this.ptbs++;
    this.wake?.();
    return true;
  }
  onReadable(wake: () => void): () => void {
    this.wake = wake;
    const off = this.inner.onReadable(wake);
    return () => {
      this.wake = undefined;
      off();
    };
  }
  close(): void {
    this.inner.close();
  }
}

/** Two real stacks on a cable with IPv4 and static IPv6 addresses (after DAD), each with a TcpLayer. */
function stackPair() {
  const sched = new VirtualScheduler();
  const [ea, eb] = createCable();
  const link = new PathMtuLink(ea);
  const v6 = (a: string): Parameters<typeof addHost>[4] => ({ iface: { ipv6: { addresses: [{ address: ip6(a), prefixLen: 64 }] } } });
  const A = addHost(sched, link, '10.0.0.1', 1, v6(A6));
  const B = addHost(sched, eb, '10.0.0.2', 2, v6(B6));
  const ta = new TcpLayer(A.stack, { rng: new XorShiftRng(100) });
  const tb = new TcpLayer(B.stack, { rng: new XorShiftRng(200) });
  run(sched, 3000); // duplicate address detection
  const step = (): void => run(sched, 1);
  return { sched, A, B, ta, tb, link, step };
}

describe('TCP layer over IPv6 between two stacks', () => {
  it('connect, accept, 1 MiB each way with SHA-256 equal, graceful close', () => {
    const { sched, A, B, ta, tb, step } = stackPair();
    const l = tb.listen(ip6('::'), 80, 4) as TcpListener;
    const c = ta.connect(sched.now(), ip6(B6), 80) as TcpConn;
    assert.equal(typeof c, 'object');
    run(sched, 50);
    assert.equal(c.tcb.state, 'ESTABLISHED');
    assert.equal(hex(c.localIp6), hex(ip6(A6)));
    assert.equal(c.tcb.sndMss, 1440, 'MTU 1500 - 60');
    const s = tb.accept(l) as TcpConn;
    assert.equal(s.family, 6);
    assert.equal(hex(s.remoteIp6), hex(ip6(A6)));
    const up = pattern(1 << 20, 1), down = pattern(1 << 20, 2);
    const { atS, atC } = transfer(step, c, ta, s, tb, up, down);
    assert.equal(sha(atS), sha(up));
    assert.equal(sha(atC), sha(down));
    assert.equal(ta.dropped + tb.dropped, 0);
    c.tcb.close();
    ta.touch(c);
    run(sched, 100);
    s.tcb.close();
    tb.touch(s);
    run(sched, 100);
    assert.equal(s.tcb.state, 'CLOSED');
    assert.equal(c.tcb.state, 'TIME-WAIT');
    run(sched, 61_000);
    assert.equal(ta.connections + tb.connections, 0);
    void A;
    void B;
  });

  it('RST for a closed port; a dual-stack listener takes an IPv4 and an IPv6 client', () => {
    const { sched, A, B, ta, tb, step } = stackPair();
    const refused = ta.connect(sched.now(), ip6(B6), 81) as TcpConn;
    run(sched, 50);
    assert.equal(refused.tcb.error, IOT_SOCKET_ECONNREFUSED);
    assert.equal(tb.resets, 1);
    const l = tb.listen(ip6('::'), 80, 4) as TcpListener;
    const c4 = ta.connect(sched.now(), B.ip, 80) as TcpConn;
    const c6 = ta.connect(sched.now(), ip6(B6), 80) as TcpConn;
    run(sched, 50);
    const got = [tb.accept(l), tb.accept(l)];
    const s4 = got.find((x) => x?.family === 4) as TcpConn, s6 = got.find((x) => x?.family === 6) as TcpConn;
    assert.equal(s4.remoteIp, A.ip);
    assert.equal(hex(s6.remoteIp6), hex(ip6(A6)));
    const x4 = transfer(step, c4, ta, s4, tb, pattern(100_000, 3), pattern(100_000, 4));
    const x6 = transfer(step, c6, ta, s6, tb, pattern(100_000, 5), pattern(100_000, 6));
    assert.equal(sha(x4.atS), sha(pattern(100_000, 3)));
    assert.equal(sha(x4.atC), sha(pattern(100_000, 4)));
    assert.equal(sha(x6.atS), sha(pattern(100_000, 5)));
    assert.equal(sha(x6.atC), sha(pattern(100_000, 6)));
  });

  it('link-local: the accepted connection keeps its interface; data flows', () => {
    const { sched, B, ta, tb, step } = stackPair();
    const ll = B.stack.ipv6Addresses(B.ifIndex).find((a) => a.address[0] === 0xfe && a.state === 'preferred');
    assert.ok(ll !== undefined, "B's link-local address");
    const l = tb.listen(ip6('::'), 80, 4) as TcpListener;
    const c = ta.connect(sched.now(), ll.address, 80) as TcpConn;
    run(sched, 50);
    assert.equal(c.tcb.state, 'ESTABLISHED');
    assert.equal(c.localIp6[0], 0xfe, 'a link-local source for a link-local destination');
    const s = tb.accept(l) as TcpConn;
    assert.equal(s.scopeIfIndex, B.ifIndex);
    const x = transfer(step, c, ta, s, tb, pattern(60_000, 7), pattern(60_000, 8));
    assert.equal(sha(x.atS), sha(pattern(60_000, 7)));
    assert.equal(sha(x.atC), sha(pattern(60_000, 8)));
  });

  it('Packet Too Big from a router: the stack and the connection go down to 1280 (MSS 1220), the transfer completes without a timeout', () => {
    const { sched, A, ta, tb, link, step } = stackPair();
    const l = tb.listen(ip6('::'), 80, 4) as TcpListener;
    const c = ta.connect(sched.now(), ip6(B6), 80) as TcpConn;
    run(sched, 50);
    const s = tb.accept(l) as TcpConn;
    assert.equal(c.tcb.sndMss, 1440);
    link.mtu = 1280;
    const data = pattern(1 << 20, 9);
    const x = transfer(step, c, ta, s, tb, data, new Uint8Array(0));
    assert.equal(sha(x.atS), sha(data));
    assert.ok(link.ptbs >= 1, `Packet Too Big sent (${link.ptbs})`);
    assert.equal(c.tcb.sndMss, 1220);
    assert.equal(A.stack.pathMtu6(ip6(B6)), 1280, "the stack's path MTU cache too");
    assert.equal(c.tcb.stats.timeouts, 0);
    // A new connection starts at the lower MSS.
    const c2 = ta.connect(sched.now(), ip6(B6), 80) as TcpConn;
    assert.equal(c2.tcb.cfg.mss, 1220);
  });
});
