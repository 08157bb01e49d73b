/**
 * The machinery of the 1,000,000-frame robustness simulations (IPv4:
 * test/sim/stack-robustness-1m.test.ts, IPv6: test/sim/stack-robustness-ipv6-1m.test.ts),
 * which differ only in the frames they make and the bounds they check.
 *
 * - `Dice`: the seeded source of every choice.
 * - `TcpRig`: two `TcpLayer`s with live connections (two opened by each side, plus an
 *   idle victim) carrying a seeded pattern both ways (`Stream`), paced over the run.
 * - `Guard`: TCP cannot tell a forged segment from a real one once it carries the right
 *   4-tuple, a sequence number the receiver accepts and a valid checksum; the guard
 *   parses every injected frame as B would (IPv4, or IPv6 through its extension-header
 *   chain) and moves a segment that could legitimately hurt a live connection out of
 *   its window (see the IPv4 test's module doc for the rules).
 * - `InjectorBase`: the frame mix (a table of kinds), mutation of golden frames (byte
 *   and bit edits, truncation, extension, interesting fields), TCP options and segments
 *   near the live windows, SYN floods, closed ports; a family adds its own kinds.
 * - `injectFrames`: the run itself (batches, the victim's exact RST half-way, the
 *   streams, A's datagrams to B's UDP echo, B's link-layer entries for A, virtual time,
 *   heap samples), with a family hook after every batch; then `reportRun` (streams
 *   complete, diagnostics, shared checks), `checkFreshConnections` and `closeSurvivors`.
 */
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { IOT_SOCKET_ECONNRESET } from '../../src/base/iot-constants.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import type { VirtualScheduler } from '../../src/base/time.ts';
import type { CableEnd } from '../../src/link/index.ts';
import { ip4FromBytes } from '../../src/stack/ipv4-addr.ts';
import type { Stack } from '../../src/stack/stack.ts';
import { TcpLayer, type TcpAddress, type TcpConn, type TcpListener } from '../../src/stack/tcp/tcp-layer.ts';
import { pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../../src/wire/checksum.ts';
import { isFault } from '../../src/wire/fault.ts';
import { ipv4HeaderLen, isFragment, parseIpv4 } from '../../src/wire/ipv4.ts';
import { Ipv6ExtWalk, walkIpv6Extensions } from '../../src/wire/ipv6.ts';
import { TcpFlag, parseTcp, type TcpRepr } from '../../src/wire/tcp.ts';
import { seqAdd, seqGe, seqLe, seqLt } from '../../src/wire/tcp-seq.ts';
import { fixChecksums, rawTcpSegment, type ChecksumFix } from './frame-mutator.ts';
import { dec, drain, enc, pattern, run, type Host, type Tap, type UdpTargets } from './stack-net.ts';

/** IOTNET_ROBUSTNESS_FRAMES (default 1,000,000), _SEED, _STREAM_KIB (per direction per connection, default 1024), _DEBUG. */
export function robustnessEnv(defaultSeed: number): { frames: number; seed: number; streamBytes: number; debug: boolean } {
  return {
    frames: Number(process.env.IOTNET_ROBUSTNESS_FRAMES ?? 1_000_000),
    seed: Number(process.env.IOTNET_ROBUSTNESS_SEED ?? defaultSeed),
    streamBytes: Number(process.env.IOTNET_ROBUSTNESS_STREAM_KIB ?? 1024) * 1024,
    debug: Boolean(process.env.IOTNET_ROBUSTNESS_DEBUG),
  };
}

/** A seeded source of choices. */
export class Dice {
  private readonly rng: XorShiftRng;
  constructor(seed: number) {
    this.rng = new XorShiftRng(seed);
  }
  u32(): number {
    return this.rng.nextU32();
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : this.rng.nextU32() % n;
  }
  chance(p: number): boolean {
    return this.rng.nextU32() < p * 0x1_0000_0000;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const x = this.rng.nextU32();
      b[i] = x;
      b[i + 1] = x >>> 8;
      b[i + 2] = x >>> 16;
      b[i + 3] = x >>> 24;
    }
    return b;
  }
}

/** Big-endian writes that ignore what falls outside the buffer (mutations may aim past a short frame). */
export const wr16 = (b: Uint8Array, o: number, v: number): void => {
  if (o + 1 >= b.length) return;
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
};
export const wr32 = (b: Uint8Array, o: number, v: number): void => {
  wr16(b, o, v >>> 16);
  wr16(b, o + 2, v & 0xffff);
};
export const rd16 = (b: Uint8Array, o: number): number => (((b[o] ?? 0) << 8) | (b[o + 1] ?? 0)) >>> 0;

/** One live TCP connection: B's end (under test) and A's end. */
export interface Live {
  readonly name: string;
  readonly a: TcpConn;
  readonly b: TcpConn;
  readonly victim: boolean;
}

/** One direction of a connection carrying `data`, paced, compared byte by byte on arrival. */
export class Stream {
  readonly name: string;
  readonly data: Uint8Array;
  sent = 0;
  received = 0;
  mismatchAt: number | undefined = undefined;
  private readonly from: TcpConn;
  private readonly fromLayer: TcpLayer;
  private readonly to: TcpConn;
  private readonly toLayer: TcpLayer;
  private static readonly tmp = new Uint8Array(64 * 1024);

  constructor(name: string, from: TcpConn, fromLayer: TcpLayer, to: TcpConn, toLayer: TcpLayer, data: Uint8Array) {
    this.name = name;
    this.from = from;
    this.fromLayer = fromLayer;
    this.to = to;
    this.toLayer = toLayer;
    this.data = data;
  }

  get done(): boolean {
    return this.received === this.data.length;
  }

  /** Queues data up to `allowed` bytes in total, and takes what arrived. */
  step(allowed: number): void {
    const limit = Math.min(allowed, this.data.length);
    if (this.sent < limit) {
      const n = this.from.tcb.send(this.data.subarray(this.sent, limit));
      if (n > 0) {
        this.sent += n;
        this.fromLayer.touch(this.from);
      }
    }
    const tmp = Stream.tmp;
    for (let n = this.to.tcb.recv(tmp); n > 0; n = this.to.tcb.recv(tmp)) {
      for (let i = 0; i < n && this.mismatchAt === undefined; i++) {
        if (tmp[i] !== this.data[this.received + i]) this.mismatchAt = this.received + i;
      }
      this.received += n;
      this.toLayer.touch(this.to);
    }
  }
}

/**
 * Why a TCP segment for a live connection could legitimately hurt it (see the module
 * doc), judged against every state B can be in when it processes the segment; undefined
 * when it cannot.
 */
function harm(l: Live, s: TcpRepr): 'rst' | 'data' | 'ack' | undefined {
  const b = l.b.tcb;
  const lo = b.rcvNxt; // RCV.NXT only grows until the segment is processed ...
  const hi = rcvNxtBound(l); // ... and not past what A has sent
  const f = s.flags;
  if ((f & TcpFlag.RST) !== 0) return seqGe(s.seq, lo) && seqLe(s.seq, hi) ? 'rst' : undefined;
  if ((f & TcpFlag.SYN) !== 0) return undefined; // RFC 5961 4.2: a challenge ACK in synchronized states
  const segLen = s.payloadLength + ((f & TcpFlag.FIN) !== 0 ? 1 : 0);
  const last = seqAdd(s.seq, Math.max(segLen, 1) - 1);
  const inWindow = seqGe(last, lo) && seqLe(s.seq, seqAdd(hi, rcvWindowBound(l)));
  if (!inWindow) return undefined;
  if (segLen > 0) return 'data';
  // SND.UNA only grows, and SND.MAX stays within a send buffer of it (SND.UNA itself
  // cannot pass B's present SND.MAX: nothing A sent so far acknowledges more).
  const ackHi = seqAdd(b.sndMax, b.sendBuf.capacity + 2);
  if ((f & TcpFlag.ACK) !== 0 && seqGe(s.ack, seqAdd(b.sndUna, -(1 << 20))) && seqLe(s.ack, ackHi)) return 'ack';
  return undefined;
}

/** The highest RCV.NXT B can reach before it processes a frame injected now: A's SND.MAX (the cable is FIFO). */
function rcvNxtBound(l: Live): number {
  return seqLe(l.a.tcb.sndMax, l.b.tcb.rcvNxt) ? l.b.tcb.rcvNxt : l.a.tcb.sndMax;
}

/**
 * The largest receive window B can have advertised: its receive buffer (an active
 * opener once advertised more, before the IRS was known: see
 * test/unit/stack/tcp-handshake-window.test.ts).
 */
function rcvWindowBound(l: Live): number {
  return l.b.tcb.recvBuf.capacity;
}

const guardWalk = new Ipv6ExtWalk();

function equal16(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Parses `f` as B would; the live connection and segment it reaches, if any (`at`: the
 * TCP header's offset in the frame). IPv6: through the extension-header chain (atomic
 * fragments too); real fragments reach nothing until reassembled.
 */
function liveSegment(f: Uint8Array, B: Host, live: readonly Live[]): { l: Live; seg: TcpRepr; at: number } | undefined {
  for (let i = 0; i < 6; i++) if (f[i] !== B.mac[i]) return undefined;
  if (f.length >= 74 && f[12] === 0x86 && f[13] === 0xdd) {
    const ip = f.subarray(14);
    const w = walkIpv6Extensions(ip, guardWalk);
    if (w.verdict !== 'ok' || w.upperProtocol !== 6 || (ip[0] as number) >> 4 !== 6) return undefined;
    const src = ip.subarray(8, 24), dst = ip.subarray(24, 40);
    const segBytes = ip.subarray(w.upperOffset, w.end);
    const seg = parseTcp(segBytes, pseudoHeaderSumV6(src, dst, 6, segBytes.length));
    if (isFault(seg)) return undefined;
    const l = live.find((c) => c.b.tcb.state !== 'CLOSED' && c.b.family === 6 && c.b.localPort === seg.dstPort && c.b.remotePort === seg.srcPort
      && equal16(c.b.remoteIp6, src) && equal16(c.b.localIp6, dst));
    return l === undefined ? undefined : { l, seg, at: 14 + w.upperOffset };
  }
  if (f.length < 54 || f[12] !== 0x08 || f[13] !== 0x00) return undefined;
  const ip = f.subarray(14);
  const r = parseIpv4(ip);
  if (isFault(r) || isFragment(r) || r.protocol !== 6 || ip4FromBytes(r.dst) !== B.ip) return undefined;
  const hl = ipv4HeaderLen(r);
  const segBytes = ip.subarray(hl, hl + r.payloadLen);
  const seg = parseTcp(segBytes, pseudoHeaderSumV4(r.src, r.dst, 6, segBytes.length));
  if (isFault(seg)) return undefined;
  const src = ip4FromBytes(r.src);
  const l = live.find((c) => c.b.tcb.state !== 'CLOSED' && c.b.localPort === seg.dstPort && c.b.remotePort === seg.srcPort && c.b.remoteIp === src);
  return l === undefined ? undefined : { l, seg, at: 14 + hl };
}

/** Makes frames that could legitimately hurt a live connection harmless (see the module doc), counting them. */
export class Guard {
  readonly neutralized = { rst: 0, data: 0, ack: 0 };
  /** Frames reaching a live connection's TCB (after the guard). */
  reachedLive = 0;
  private readonly B: Host;
  private readonly live: readonly Live[];
  private readonly dice: Dice;

  constructor(B: Host, live: readonly Live[], dice: Dice) {
    this.B = B;
    this.live = live;
    this.dice = dice;
  }

  check(f: Uint8Array): void {
    const hit = liveSegment(f, this.B, this.live);
    if (hit === undefined) return;
    this.reachedLive++;
    const why = harm(hit.l, hit.seg);
    if (why === undefined) return;
    this.neutralized[why]++;
    const b = hit.l.b.tcb;
    const hi = rcvNxtBound(hit.l);
    let seq: number;
    if (why === 'rst') seq = seqAdd(hi, 1 + this.dice.int(1000)); // in window, never exact: a challenge ACK
    else if (this.dice.chance(0.5)) seq = seqAdd(b.rcvNxt, -(hit.seg.payloadLength + 2 + this.dice.int(1 << 20))); // old
    else seq = seqAdd(hi, rcvWindowBound(hit.l) + 1 + this.dice.int(1 << 20)); // beyond the window
    wr32(f, hit.at + 4, seq);
    fixChecksums(f, true);
    const again = liveSegment(f, this.B, this.live);
    assert.ok(again !== undefined && harm(again.l, again.seg) === undefined, 'the guard made the segment harmless');
  }
}

/** `global.gc` without --expose-gc (V8 flag set at run time). */
function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Heap after a forced GC at 10, 25, 50, 75 and 100 % of the run. */
export class HeapWatch {
  readonly samples: { frames: number; bytes: number }[] = [];
  private readonly gc = gcFunction();
  private readonly at: number[];
  constructor(frames: number) {
    this.at = [0.1, 0.25, 0.5, 0.75, 1].map((x) => Math.floor(x * frames));
  }
  /** Samples when `frames` passed the next mark. */
  maybeSample(frames: number): void {
    if (frames < (this.at[this.samples.length] ?? Infinity)) return;
    this.gc();
    this.gc();
    this.samples.push({ frames, bytes: process.memoryUsage().heapUsed });
  }
  toString(): string {
    return this.samples.map((h) => `${h.frames}: ${(h.bytes / 1048576).toFixed(1)} MiB`).join(', ');
  }
  /** Growth from the first sample to the last below `limit` bytes. */
  check(limit: number): void {
    const first = this.samples[0], last = this.samples[this.samples.length - 1];
    assert.ok(first !== undefined && last !== undefined);
    assert.ok(last.bytes - first.bytes < limit, `heap grew ${((last.bytes - first.bytes) / 1048576).toFixed(1)} MiB from ${first.frames} to ${last.frames} frames`);
  }
}

// ------------------------------------------------------------------------------------
// Live connections

/** Two TCP layers, their listeners (B on 80, A on 8080), the live connections and their streams. */
export interface TcpRig {
  readonly ta: TcpLayer;
  readonly tb: TcpLayer;
  readonly lb: TcpListener;
  readonly la: TcpListener;
  readonly live: Live[];
  readonly streams: Stream[];
  readonly victim: Live;
  /** A's and B's addresses the connections use. */
  readonly addrA: TcpAddress;
  readonly addrB: TcpAddress;
}

function acceptAll(layer: TcpLayer, l: TcpListener): TcpConn[] {
  const out: TcpConn[] = [];
  for (let c = layer.accept(l); c !== undefined; c = layer.accept(l)) out.push(c);
  return out;
}

function peerOf(c: TcpConn, list: TcpConn[]): TcpConn {
  const p = list.find((x) => x.remotePort === c.localPort);
  assert.ok(p !== undefined, 'accepted');
  return p;
}

/**
 * Listeners on the wildcard address of the family of `addrA`/`addrB`, two connections
 * opened by A and two by B, each carrying `streamBytes` of a seeded pattern both ways,
 * and a fifth, idle one opened by A: the designated victim of one exact RST.
 */
export function tcpRig(sched: VirtualScheduler, A: Host, B: Host, addrA: TcpAddress, addrB: TcpAddress, seed: number, streamBytes: number): TcpRig {
  const any = typeof addrA === 'number' ? 0 : new Uint8Array(16);
  const ta = new TcpLayer(A.stack, { rng: new XorShiftRng(seed + 1) });
  const tb = new TcpLayer(B.stack, { rng: new XorShiftRng(seed + 2) });
  const lb = tb.listen(any, 80, 8) as TcpListener;
  const la = ta.listen(any, 8080, 8) as TcpListener;
  run(sched);
  const openA = [0, 1, 2].map(() => ta.connect(sched.now(), addrB, 80) as TcpConn);
  const openB = [0, 1].map(() => tb.connect(sched.now(), addrA, 8080) as TcpConn);
  run(sched, 100);
  const atB = acceptAll(tb, lb), atA = acceptAll(ta, la);
  const live: Live[] = [
    ...openA.map((a, i) => ({ name: i === 2 ? 'victim A->B' : `conn${i} A->B`, a, b: peerOf(a, atB), victim: i === 2 })),
    ...openB.map((b, i) => ({ name: `conn${i + 2} B->A`, a: peerOf(b, atA), b, victim: false })),
  ];
  for (const l of live) assert.equal(l.b.tcb.state, 'ESTABLISHED', l.name);
  const streams: Stream[] = [];
  live.forEach((l, i) => {
    if (l.victim) return;
    streams.push(new Stream(`${l.name} up`, l.a, ta, l.b, tb, pattern(streamBytes, seed + 100 + 2 * i)));
    streams.push(new Stream(`${l.name} down`, l.b, tb, l.a, ta, pattern(streamBytes, seed + 101 + 2 * i)));
  });
  return { ta, tb, lb, la, live, streams, victim: live.find((l) => l.victim) as Live, addrA, addrB };
}

/** Nothing escaped either stack: no internal error, no change callback threw. */
export function checkNothingEscaped(where: string, A: Host, B: Host): void {
  for (const s of [A.stack, B.stack]) {
    const who = s === B.stack ? 'B' : 'A';
    assert.equal(s.stats.drops.internalError, 0, `${where}: ${who} internal error: ${s.lastInternalError instanceof Error ? s.lastInternalError.stack : String(s.lastInternalError)}`);
    assert.equal(s.stats.callbackErrors, 0, `${where}: ${who} change callback threw`);
  }
}

/**
 * TCP invariants seen from outside: SND.UNA <= SND.NXT <= SND.MAX, in-flight within the
 * send buffer, rings within capacity on every live connection; B's connection table and
 * listener queues bounded.
 */
export function checkTcpInvariants(where: string, rig: TcpRig): void {
  for (const l of rig.live) {
    for (const c of [l.a, l.b]) {
      const tcb = c.tcb;
      const what = `${where}: ${l.name} ${c === l.a ? 'A' : 'B'} end (${tcb.state})`;
      if (tcb.state === 'CLOSED') continue;
      assert.ok(seqLe(tcb.sndUna, tcb.sndNxt) && seqLe(tcb.sndNxt, tcb.sndMax), `${what}: SND.UNA ${tcb.sndUna} <= SND.NXT ${tcb.sndNxt} <= SND.MAX ${tcb.sndMax}`);
      assert.ok(seqLt(tcb.sndMax, seqAdd(tcb.sndUna, tcb.sendBuf.length + 3)), `${what}: in flight ${tcb.sndMax - tcb.sndUna} within the send buffer (${tcb.sendBuf.length}) + SYN/FIN`);
      assert.ok(tcb.sendBuf.length <= tcb.sendBuf.capacity && tcb.recvBuf.length <= tcb.recvBuf.capacity, `${where}: rings within capacity`);
    }
  }
  const lb = rig.lb;
  const maxConnections = rig.live.length + Math.max(64, 2 * lb.backlog) + lb.backlog;
  assert.ok(rig.tb.connections <= maxConnections, `${where}: ${rig.tb.connections} connections <= ${maxConnections}`);
  assert.ok(lb.halfOpen.length <= Math.max(64, 2 * lb.backlog) && lb.acceptQueue.length <= lb.backlog, `${where}: listener queues bounded`);
}

// ------------------------------------------------------------------------------------
// The injector

/** One kind of frame in a mix: its name, its share in percent, its maker. */
export type FrameKind = readonly [name: string, percent: number, make: () => Uint8Array];

/**
 * The seeded frame generator: a family subclass names its mix of kinds (shares add up
 * to 100) and how to address, fragment and mutate its frames; the TCP kinds and the
 * mutation framework are shared.
 */
export abstract class InjectorBase {
  readonly kinds: Record<string, number> = {};
  /** Set by the test: the guard, for segments that are fragmented before injection. */
  guardHook: ((f: Uint8Array) => void) | undefined = undefined;
  protected readonly dice: Dice;
  protected readonly live: readonly Live[];
  protected readonly fixed: Uint8Array[];
  /** A's latest frames (rolling): mutations of them land near the live windows. */
  protected readonly recent: Uint8Array[] = [];
  protected readonly queue: Uint8Array[] = [];
  protected abstract readonly mix: readonly FrameKind[];

  constructor(dice: Dice, live: readonly Live[], golden: Uint8Array[]) {
    this.dice = dice;
    this.live = live;
    this.fixed = golden;
  }

  /** Whether one of A's frames is worth mutating (default: all). */
  protected keep(_f: Uint8Array): boolean {
    return true;
  }

  /** Adds some of A's latest frames to the rolling golden set. */
  refresh(frames: readonly Uint8Array[]): void {
    for (const f of frames) {
      if (!this.keep(f)) continue;
      if (this.recent.length < 64) this.recent.push(f);
      else if (this.dice.chance(0.25)) this.recent[this.dice.int(64)] = f;
    }
  }

  next(): Uint8Array {
    const q = this.queue.shift();
    if (q !== undefined) return q;
    let r = this.dice.int(100);
    let kind = this.mix[this.mix.length - 1] as FrameKind;
    for (const k of this.mix) {
      if (r < k[1]) {
        kind = k;
        break;
      }
      r -= k[1];
    }
    const f = kind[2]();
    this.kinds[kind[0]] = (this.kinds[kind[0]] ?? 0) + 1;
    return f;
  }

  /** An Ethernet frame to B from `src` (A's address when undefined) carrying `payload` as `protocol`, checksums not yet right. */
  protected abstract frameToB(protocol: number, payload: Uint8Array, src?: number | Uint8Array): Uint8Array;
  /** Splits an unfragmented frame into `pieces` fragments (in order). */
  protected abstract fragment(f: Uint8Array, pieces: number): Uint8Array[];
  /** A source address that is not A's own (A's now and then for the TCP kinds, as strangers do). */
  protected abstract strangerIp(): number | Uint8Array;
  /** Overwrites (or inserts) an interesting field of `f`; returns the frame (a new one when it grew). */
  protected abstract overwriteField(f: Uint8Array): Uint8Array;
  /** Lengths to truncate `f` at that cut through its headers. */
  protected abstract cutPoints(f: Uint8Array): number[];
  /** Sets the IP length field of an extended frame to cover the added bytes. */
  protected abstract growLength(g: Uint8Array): void;

  /** A value near a live connection's sequence space (B's RCV.NXT, SND.UNA, SND.MAX, window edges). */
  protected nearSeq(): number {
    const d = this.dice;
    const l = d.pick(this.live);
    const t = l.b.tcb;
    const base = d.pick([t.rcvNxt, t.sndUna, t.sndMax, seqAdd(t.rcvNxt, t.recvBuf.capacity), l.a.tcb.sndMax]);
    return seqAdd(base, d.pick([0, 1, -1, 2, -2, 1460, -1460]) + (d.chance(0.3) ? d.int(1 << 17) - (1 << 16) : 0));
  }

  /** One of A's frames mutated by byte and bit edits, field overwrites, truncation or extension; checksums mostly fixed. */
  protected mutated(): Uint8Array {
    const d = this.dice;
    const src = this.recent.length > 0 && d.chance(0.5) ? d.pick(this.recent) : d.pick(this.fixed);
    let f: Uint8Array = src.slice();
    const ops = 1 + d.int(2);
    for (let k = 0; k < ops; k++) {
      switch (d.int(5)) {
        case 0: // byte edits
          for (let n = 1 + d.int(6); n > 0; n--) f[d.int(f.length)] = d.int(256);
          break;
        case 1: // bit flips
          for (let n = 1 + d.int(8); n > 0; n--) {
            const i = d.int(f.length);
            f[i] = (f[i] as number) ^ (1 << d.int(8));
          }
          break;
        case 2:
        case 3: // interesting fields
          for (let n = 1 + d.int(3); n > 0; n--) f = this.overwriteField(f);
          break;
        default: // truncation or extension
          if (d.chance(0.5)) {
            f = f.slice(0, Math.min(f.length, d.chance(0.5) ? d.int(f.length + 1) : d.pick(this.cutPoints(f))));
          } else {
            const extra = d.bytes(1 + d.int(300));
            const g = new Uint8Array(Math.min(1514, f.length + extra.length));
            g.set(f.subarray(0, g.length));
            g.set(extra.subarray(0, Math.max(0, g.length - f.length)), Math.min(f.length, g.length));
            if (d.chance(0.5) && g.length >= 18) this.growLength(g); // grow the IP length too
            f = g;
          }
      }
    }
    const fix: ChecksumFix = d.pick(['none', 'ip', 'all', 'all', 'all']);
    if (fix !== 'none') fixChecksums(f, fix === 'all');
    return f;
  }

  /** Overwrites one field of the TCP header at `l4`. */
  protected overwriteTcpField(f: Uint8Array, l4: number): void {
    const d = this.dice;
    switch (d.int(8)) {
      case 0: wr16(f, l4 + d.pick([0, 2]), d.pick([0, 80, 8080, 7, 65535, d.int(65536)])); break;
      case 1: wr32(f, l4 + 4, d.chance(0.7) ? this.nearSeq() : d.u32()); break;
      case 2: wr32(f, l4 + 8, d.chance(0.7) ? this.nearSeq() : d.u32()); break;
      case 3: f[l4 + 12] = (d.int(16) << 4) | d.int(16); break; // data offset (and reserved bits)
      case 4: f[l4 + 13] = d.pick([TcpFlag.RST, TcpFlag.SYN, TcpFlag.FIN, TcpFlag.RST | TcpFlag.ACK, TcpFlag.SYN | TcpFlag.ACK, TcpFlag.FIN | TcpFlag.ACK, 0, 0xff, d.int(256)]); break;
      case 5: wr16(f, l4 + 14, d.pick([0, 1, 0xffff, d.int(65536)])); break;
      case 6: wr16(f, l4 + 18, d.int(65536)); break;
      default: { // options area: garbage or an option laid over it
        const opt = this.tcpOptions();
        const hlTcp = ((f[l4 + 12] ?? 0) >> 4) * 4;
        for (let i = 0; i < opt.length && l4 + 20 + i < Math.min(f.length, l4 + Math.max(hlTcp, 24)); i++) f[l4 + 20 + i] = opt[i] as number;
      }
    }
  }

  /** TCP option bytes: known kinds with good or bad lengths and values near the live windows, unknown kinds, NOP/EOL. */
  protected tcpOptions(): Uint8Array {
    const d = this.dice;
    const out: number[] = [];
    const u32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    for (let n = d.int(5); n > 0; n--) {
      switch (d.int(9)) {
        case 0: out.push(2, d.pick([4, 4, 3, 0, 1, 40]), d.int(256), d.int(256)); break; // MSS
        case 1: out.push(3, d.pick([3, 3, 2, 4]), d.pick([0, 7, 14, 15, 255])); break; // window scale
        case 2: out.push(4, d.pick([2, 2, 3])); break; // SACK permitted
        case 3: { // SACK blocks near the live windows
          const blocks = d.pick([1, 2, 3, 4, 5]);
          out.push(5, d.chance(0.9) ? 2 + 8 * blocks : d.int(256));
          for (let b = 0; b < blocks; b++) {
            const left = this.nearSeq();
            out.push(...u32(left), ...u32(seqAdd(left, d.pick([0, 1, 1460, -1, 65536]))));
          }
          break;
        }
        case 4: out.push(8, d.pick([10, 10, 9, 11]), ...u32(d.u32()), ...u32(d.chance(0.5) ? 0 : d.u32())); break; // timestamps
        case 5: out.push(1); break;
        case 6: out.push(0); break;
        case 7: out.push(d.int(256), d.pick([0, 1, 2, 255, d.int(40)])); break;
        default: out.push(30 + d.int(200), 2 + d.int(8), ...d.bytes(8));
      }
    }
    return new Uint8Array(out.slice(0, 40));
  }

  /** A segment on a live 4-tuple from A's address (guarded later), with sequence numbers near the windows; some fragmented. */
  protected liveTcp(): Uint8Array {
    const d = this.dice;
    const l = d.pick(this.live);
    const t = l.b.tcb;
    const seq = d.chance(0.05) ? d.u32() : seqAdd(d.pick([t.rcvNxt, seqAdd(t.rcvNxt, t.recvBuf.capacity), l.a.tcb.sndMax]), d.pick([0, 1, -1, -1460, 1460]) + (d.chance(0.4) ? d.int(1 << 18) - (1 << 17) : 0));
    const ack = d.chance(0.05) ? d.u32() : seqAdd(d.pick([t.sndUna, t.sndMax]), d.pick([0, 1, -1, 2, 1 << 20, -(1 << 20)]) + (d.chance(0.3) ? d.int(1 << 16) : 0));
    const flags = d.pick([TcpFlag.RST, TcpFlag.RST | TcpFlag.ACK, TcpFlag.SYN, TcpFlag.SYN | TcpFlag.ACK, TcpFlag.FIN, TcpFlag.FIN | TcpFlag.ACK,
      TcpFlag.ACK, TcpFlag.ACK, TcpFlag.PSH | TcpFlag.ACK, TcpFlag.URG | TcpFlag.ACK, 0, 0xff, TcpFlag.SYN | TcpFlag.FIN, TcpFlag.SYN | TcpFlag.RST, d.int(256)]);
    const payloadLen = d.chance(0.6) ? 0 : d.chance(0.75) ? 1 + d.int(100) : 100 + d.int(1300);
    const seg = rawTcpSegment({
      srcPort: l.b.remotePort, dstPort: l.b.localPort, seq, ack, flags,
      window: d.pick([0, 1, 0xffff, d.int(65536)]), urgent: d.int(65536), options: this.tcpOptions(),
      ...(d.chance(0.05) ? { dataOffset: d.int(16) } : {}),
      payload: d.bytes(payloadLen),
    });
    const f = this.frameToB(6, seg);
    if (d.chance(0.95)) fixChecksums(f, true);
    if (d.chance(0.1) && f.length > 34 + 24) {
      // Fragmented: judge the whole segment first (the guard runs on frames, not on reassembled datagrams).
      this.guardHook?.(f);
      const parts = this.fragment(f, 2 + d.int(3));
      this.queue.push(...parts.slice(1));
      return parts[0] as Uint8Array;
    }
    return f;
  }

  /** SYNs (and odd flag mixes) to the listener, mostly, from strangers. */
  protected synFlood(): Uint8Array {
    const d = this.dice;
    const src = this.strangerIp();
    const seg = rawTcpSegment({
      srcPort: 1024 + d.int(64000), dstPort: d.chance(0.8) ? 80 : d.int(65536), seq: d.u32(), ack: d.chance(0.8) ? 0 : d.u32(),
      flags: d.chance(0.8) ? TcpFlag.SYN : d.pick([TcpFlag.SYN | TcpFlag.ACK, TcpFlag.ACK, TcpFlag.SYN | TcpFlag.ECE | TcpFlag.CWR]),
      window: d.int(65536), options: this.tcpOptions(),
    });
    const f = this.frameToB(6, seg, src);
    fixChecksums(f, true);
    return f;
  }

  /** Segments to ports nobody listens on. */
  protected closedPort(): Uint8Array {
    const d = this.dice;
    const seg = rawTcpSegment({
      srcPort: d.int(65536), dstPort: d.pick([1, 22, 81, 443, d.int(65536)]), seq: d.u32(), ack: d.u32(),
      flags: d.pick([TcpFlag.ACK, TcpFlag.PSH | TcpFlag.ACK, TcpFlag.FIN | TcpFlag.ACK, TcpFlag.RST, 0]), window: d.int(65536),
      payload: d.bytes(d.int(200)),
    });
    const f = this.frameToB(6, seg, this.strangerIp());
    fixChecksums(f, true);
    return f;
  }
}

// ------------------------------------------------------------------------------------
// The run

/** What the run needs besides the rig: the hosts, B's cable end, A's tap, the UDP sockets, and the family's parts. */
export interface InjectionSetup {
  readonly sched: VirtualScheduler;
  readonly A: Host;
  readonly B: Host;
  readonly ends: [CableEnd, CableEnd];
  readonly tap: Tap | undefined;
  readonly rig: TcpRig;
  readonly udp: UdpTargets;
  readonly dice: Dice;
  readonly guard: Guard;
  readonly injector: InjectorBase;
  readonly frames: number;
  readonly streamBytes: number;
  readonly debug: boolean;
  /** The victim's exact RST as a frame from A to B (checksums to be fixed). */
  victimRst(seg: Uint8Array): Uint8Array;
  /** The link-layer addresses B holds for A's addresses now (ARP, neighbor cache): one that is not A's MAC is spoofed. */
  macsOfA(): (Uint8Array | undefined)[];
  /** After every batch (bounds, the family's invariants); `injected` so far. */
  afterBatch(injected: number): void;
}

/** Frames per batch; between batches the applications run and virtual time advances. */
const BATCH = 256;
/** B drains its queue after this many injected frames (the cable queue holds 1,024). */
const DRAIN_EVERY = 64;
const ADVANCES = [0, 0, 1, 2, 5, 10, 20, 40, 100, 250];

export interface InjectionResult {
  injected: number;
  refused: number;
  injectMs: number;
  resets: string[];
  heap: HeapWatch;
  /** A's datagrams to B's echo port, and the echoes that came back (replays of mutated copies count once). */
  udpSent: number;
  udpEchoed: number;
  /** Batch ends at which one of B's link-layer entries for A was spoofed (`macsOfA`), and how many were looked at. */
  spoofed: number;
  spoofLooks: number;
}

/**
 * Injects `frames` frames into B's side of the cable (A's frames share that queue, in
 * order), every one through the guard, in batches with the streams paced over the run;
 * half-way the victim gets one RST at exactly RCV.NXT (RFC 5961 3.2), as only an
 * attacker who knows the sequence number can send, and must be reset by it.
 */
export function injectFrames(s: InjectionSetup): InjectionResult {
  const { sched, rig, injector: inj, guard, dice, tap } = s;
  const victim = rig.victim;
  const heap = new HeapWatch(s.frames);
  const resets: string[] = [];
  let refused = 0;
  let injected = 0;
  let udpSent = 0;
  let spoofed = 0, spoofLooks = 0;
  const udpBack = new Set<string>();
  const { client, connected, broadcast } = s.udp;
  const fromB = (d: ReturnType<typeof drain>[number]): boolean =>
    d.port === 7 && (typeof rig.addrB === 'number' ? d.from === rig.addrB : d.from6 !== undefined && s.B.stack.isLocalAddress6(d.from6));
  inj.guardHook = (f) => guard.check(f);
  const t0 = performance.now();
  while (injected < s.frames) {
    for (let i = 0; i < BATCH && injected < s.frames; i++) {
      const f = inj.next();
      guard.check(f);
      if (!s.ends[0].transmit(sched.now(), f)) refused++;
      injected++;
      if (injected % DRAIN_EVERY === 0) run(sched);
    }
    if (injected >= s.frames / 2 && victim.b.tcb.state === 'ESTABLISHED') {
      run(sched);
      const seg = rawTcpSegment({ srcPort: victim.b.remotePort, dstPort: victim.b.localPort, seq: victim.b.tcb.rcvNxt, ack: 0, flags: TcpFlag.RST, window: 0 });
      const f = s.victimRst(seg);
      fixChecksums(f, true);
      s.ends[0].transmit(sched.now(), f);
      run(sched);
      assert.equal(victim.b.tcb.state, 'CLOSED', 'the exact RST reset the victim');
      assert.equal(victim.b.tcb.error, IOT_SOCKET_ECONNRESET);
      resets.push(`${victim.name}: B end reset by an injected RST at exactly RCV.NXT after ${injected} frames`);
      victim.a.tcb.send(enc.encode('anyone there?'));
      rig.ta.touch(victim.a);
    }
    const share = Math.min(1, injected / s.frames);
    for (const st of rig.streams) st.step(Math.floor(s.streamBytes * share));
    const msg = enc.encode(`udp ${udpSent}`);
    if (s.A.stack.udpSendTo(sched.now(), client, msg, msg.length, rig.addrB, 7) >= 0) udpSent++;
    run(sched, dice.pick(ADVANCES));
    for (const d of drain(s.A.stack, client)) {
      const m = /^udp (\d+)$/.exec(dec.decode(d.data));
      if (fromB(d) && m !== null && Number(m[1]) < udpSent) udpBack.add(m[0]);
    }
    drain(s.B.stack, connected);
    drain(s.B.stack, broadcast);
    for (const mac of s.macsOfA()) {
      spoofLooks++;
      if (mac !== undefined && mac.some((x, i) => x !== s.A.mac[i])) spoofed++;
    }
    s.afterBatch(injected);
    inj.refresh(tap?.tx ?? []);
    tap?.clear();
    if (s.debug && injected % 16384 === 0) process.stderr.write(`${injected} frames, ${((performance.now() - t0) / 1000).toFixed(1)} s, virtual ${sched.now()} ms, B tcp ${rig.tb.connections}, streams ${rig.streams.map((x) => x.received).join(' ')}\n`);
    heap.maybeSample(injected);
  }
  if (victim.a.tcb.state === 'CLOSED') resets.push(`${victim.name}: A end ${victim.a.tcb.error === IOT_SOCKET_ECONNRESET ? 'reset by B\'s RST for the vanished connection' : `closed with error ${victim.a.tcb.error}`}`);
  return { injected, refused, injectMs: performance.now() - t0, resets, heap, udpSent, udpEchoed: udpBack.size, spoofed, spoofLooks };
}

/** Lets the streams run to their end (they were paced over the run). */
function finishStreams(sched: VirtualScheduler, rig: TcpRig): void {
  for (let i = 0; i < 20_000 && !rig.streams.every((s) => s.done); i++) {
    for (const s of rig.streams) s.step(s.data.length);
    run(sched, 10);
  }
}

/** What `reportRun` needs to know of a family. */
export interface RunReport {
  readonly seed: number;
  /** Family lines (protocol counters, state) between the drop line and the guard line. */
  readonly lines: readonly string[];
  /** What `macsOfA` looked at, for the guard line (`ARP entry`, `neighbor entries (global, link-local)`). */
  readonly spoofWhat: string;
  /** Drop counters that must have counted something. */
  readonly dropKinds: readonly (keyof Stack['stats']['drops'])[];
  /** Heap growth allowed from 10 % of the run to its end. */
  readonly heapLimit: number;
}

/**
 * After the run: the streams complete; the shared diagnostics; the shared checks (every
 * stream intact and no connection but the victim reset, every frame reached B, a third
 * of them dropped and counted, `dropKinds` counted, TCP drops, RSTs and half-open
 * evictions, UDP echo during the run, heap growth).
 */
export function reportRun(t: { diagnostic(message: string): void }, s: InjectionSetup, r: InjectionResult, o: RunReport): void {
  const { rig, B } = s;
  const { tb, lb } = rig;
  finishStreams(s.sched, rig);
  const bs = B.stack.stats;
  const dropped = Object.values(bs.drops).reduce((x, y) => x + y, 0);
  t.diagnostic(`seed ${o.seed}: ${r.injected} frames injected in ${secs(r.injectMs)} s CPU (${((r.injectMs * 1000) / r.injected).toFixed(1)} us/frame), ${(s.sched.now() / 1000).toFixed(1)} s virtual; kinds ${JSON.stringify(s.injector.kinds)}`);
  t.diagnostic(`B rx ${bs.rxFrames} frames, ${dropped} drops: ${nonZero(bs.drops)}; tcp layer dropped ${tb.dropped}, resets sent ${tb.resets}, listener evicted ${lb.evicted}`);
  for (const line of o.lines) t.diagnostic(line);
  t.diagnostic(`guard: ${s.guard.reachedLive} segments reached a live TCB, neutralized ${JSON.stringify(s.guard.neutralized)}; refused by the cable ${r.refused}; UDP echo ${r.udpEchoed}/${r.udpSent}; B's ${o.spoofWhat} for A spoofed at ${r.spoofed} of ${r.spoofLooks} looks`);
  t.diagnostic(`heap after GC: ${r.heap.toString()}`);
  t.diagnostic(`resets: ${r.resets.length === 0 ? 'none' : r.resets.join('; ')}`);
  if (s.debug) for (const line of tcbDump(rig)) t.diagnostic(line);
  checkStreamsIntact(rig);
  assert.equal(r.refused, 0, 'every injected frame reached B');
  assert.ok(dropped + tb.dropped > r.injected / 3, `${dropped} drops counted by the stack, ${tb.dropped} by TCP`);
  for (const k of o.dropKinds) assert.ok(bs.drops[k] > 0, `drops.${k} counted: ${nonZero(bs.drops)}`);
  assert.ok(tb.dropped > 0 && tb.resets > 0 && lb.evicted > 0, 'TCP drops, RSTs for closed ports, half-open evictions');
  assert.ok(r.udpEchoed > r.udpSent / 2, `UDP echo during the run: ${r.udpEchoed} of ${r.udpSent}`);
  r.heap.check(o.heapLimit);
}

/** Non-zero counters of `o`, as JSON. */
export function nonZero(o: object): string {
  return JSON.stringify(Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0)));
}

/** Diagnostics on failure: every live TCB. */
function tcbDump(rig: TcpRig): string[] {
  const out: string[] = [];
  for (const l of rig.live) {
    for (const c of [l.a, l.b]) {
      out.push(`${l.name} ${c === l.a ? 'A' : 'B'}: ${JSON.stringify(c.tcb, (k, v: unknown) => (k === 'sendBuf' || k === 'recvBuf' || k === 'cfg' ? undefined : v === Infinity ? 'inf' : v))} send ${c.tcb.sendBuf.length} recv ${c.tcb.recvBuf.length}`);
    }
  }
  return out;
}

/** Every stream but the victim's delivered its whole pattern, byte-equal, and no connection but the victim was reset. */
function checkStreamsIntact(rig: TcpRig): void {
  for (const s of rig.streams) {
    assert.equal(s.mismatchAt, undefined, `${s.name}: first wrong byte at ${s.mismatchAt}`);
    assert.ok(s.done, `${s.name}: ${s.received} of ${s.data.length} bytes arrived (sent ${s.sent})`);
  }
  for (const l of rig.live) {
    if (l.victim) continue;
    assert.equal(l.a.tcb.state, 'ESTABLISHED', `${l.name}: A end ${l.a.tcb.state} (error ${l.a.tcb.error})`);
    assert.equal(l.b.tcb.state, 'ESTABLISHED', `${l.name}: B end ${l.b.tcb.state} (error ${l.b.tcb.error})`);
  }
}

/**
 * After the reassembly timeout (so stale injected fragments cannot collide with A's ping
 * identifiers afterwards), new connections both ways carry 64 KiB each, intact.
 */
export function checkFreshConnections(sched: VirtualScheduler, rig: TcpRig, seed: number): void {
  run(sched, 60_000);
  const { ta, tb, la, lb } = rig;
  const fresh = [ta.connect(sched.now(), rig.addrB, 80) as TcpConn, tb.connect(sched.now(), rig.addrA, 8080) as TcpConn];
  run(sched, 1000);
  const freshB = acceptAll(tb, lb), freshA = acceptAll(ta, la);
  const [fa, fb] = fresh as [TcpConn, TcpConn];
  const freshStreams = [
    new Stream('new A->B', fa, ta, peerOf(fa, freshB), tb, pattern(65536, seed + 200)),
    new Stream('new B->A', fb, tb, peerOf(fb, freshA), ta, pattern(65536, seed + 201)),
  ];
  for (let i = 0; i < 1000 && !freshStreams.every((s) => s.done); i++) {
    for (const s of freshStreams) s.step(65536);
    run(sched, 10);
  }
  for (const s of freshStreams) assert.ok(s.done && s.mismatchAt === undefined, `${s.name}: ${s.received} bytes, mismatch ${s.mismatchAt}`);
}

/** The surviving connections close gracefully, without error. */
export function closeSurvivors(sched: VirtualScheduler, rig: TcpRig): void {
  for (const l of rig.live) {
    if (l.victim) continue;
    l.a.tcb.close();
    rig.ta.touch(l.a);
    l.b.tcb.close();
    rig.tb.touch(l.b);
  }
  run(sched, 70_000);
  for (const l of rig.live) {
    if (l.victim) continue;
    for (const c of [l.a, l.b]) assert.ok(c.tcb.state === 'CLOSED' && c.tcb.error === undefined, `${l.name}: ${c.tcb.state}, error ${c.tcb.error}`);
  }
}

/** Seconds of a `performance.now()` difference, for diagnostics. */
export function secs(ms: number): string {
  return (ms / 1000).toFixed(1);
}

