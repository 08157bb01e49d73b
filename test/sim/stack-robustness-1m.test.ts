/**
 * Robustness (issue 3 acceptance): 1,000,000 random and mutated frames, seeded and
 * deterministic, into a live stack with open TCP connections and UDP sockets, on virtual
 * time with timers firing and real traffic flowing in between.
 *
 * Set-up: two stacks on a virtual cable; B is the stack under test, A its honest peer.
 * Four TCP connections (two opened by each side) carry a seeded byte pattern both ways,
 * paced over the whole run; a fifth, idle one is the designated victim of one exact
 * RST; UDP echo, a connected UDP socket and a broadcast listener on B; A sends a
 * datagram to the echo port after every batch of 256 frames.
 * The injector writes frames straight into B's side of the cable (A's frames share that
 * queue, in order):
 * - random bytes, mostly full-size, aimed at B's MAC/IP or broadcast or nowhere;
 * - golden frames (A's real traffic: ARP, UDP, fragmented ping, ICMP errors, and a
 *   rolling window of A's latest TCP segments on the live connections) mutated by byte
 *   and bit edits, truncation, extension and overwrites of interesting fields (IPv4
 *   IHL/total length/fragment field/protocol/addresses, TCP data offset/flags/options,
 *   sequence and acknowledgment numbers set near the live windows, ARP fields, UDP
 *   length), checksums recomputed for most of them so they reach TCP/UDP/ICMP;
 * - crafted TCP segments on the live 4-tuples (seq at and around RCV.NXT and the window
 *   edges, ACK around SND.UNA/SND.MAX, RST/SYN/FIN/any flags, garbage SACK, timestamp,
 *   window-scale, MSS and unknown options, malformed option lengths, lying data
 *   offsets), some of them fragmented; SYN floods on the listener; segments to closed
 *   ports; overlapping, partial and oversize fragments; ICMP errors quoting the live
 *   connections; ARP requests and replies from strangers.
 *
 * What a blind injector may legitimately break, and the choice made here: TCP cannot
 * tell a forged segment from a real one once it carries the right 4-tuple, a sequence
 * number the receiver accepts and a valid checksum. Such a segment can legitimately
 * corrupt or stall a stream: in-window data or FIN; an RST at exactly RCV.NXT (RFC
 * 5961 3.2); an acceptable ACK (RFC 5961 5.2: acknowledging data the peer never got,
 * shrinking the window with a newer SND.WL1, a newer TS.Recent that makes PAWS drop the
 * peer's real segments). So every injected frame passes through a guard that parses it
 * as B would (same wire parsers) and, if it reaches a live connection and could do one
 * of those things, moves its sequence number out of the window (an RST only off the
 * exact value) and fixes the checksum: it still exercises PAWS, the acceptability test,
 * RFC 5961 challenge ACKs and their rate limit. The guard is conservative about timing:
 * a frame is judged against every state B can be in when it is processed (RCV.NXT
 * between B's value and A's SND.MAX: the cable is FIFO; a receive window up to the
 * buffer, see `rcvWindowBound`). Left through on purpose:
 * in-window RST off RCV.NXT and in-window SYN (challenge ACKs), segments without ACK,
 * ACKs of data never sent, everything out of window, and everything for other 4-tuples.
 * Not covered by the guard: TCP segments that only exist after reassembly of mutated
 * fragments (a forged one would need a matching checksum as well). ARP spoofing of A's
 * address by mutated ARP frames is not guarded either: B must survive the resulting
 * loss. Integrity is then checked on every connection except the victim: each must
 * deliver the full pattern byte-equal, and none may be reset.
 *
 * Checked while injecting: nothing escapes (`advanceTo` never throws, `internalError`
 * and `callbackErrors` stay 0 on both stacks), and invariants seen from outside (the
 * stack exposes no invariant check of its own): SND.UNA <= SND.NXT <= SND.MAX,
 * in-flight within the send buffer, ring contents within their capacity, the
 * connection table, half-open queue, ARP cache, reassembly memory and UDP queues within
 * their bounds. Heap (after a forced GC) at 10 % and at the end of the run must not grow
 * by more than `HEAP_GROWTH_LIMIT`. Afterwards: the streams complete intact, new TCP
 * connections, UDP echo and ping work, and the survivors close gracefully.
 *
 * Environment: IOTNET_ROBUSTNESS_FRAMES (default 1,000,000), IOTNET_ROBUSTNESS_SEED,
 * IOTNET_ROBUSTNESS_STREAM_KIB (per direction per connection, default 1024),
 * IOTNET_ROBUSTNESS_DEBUG (progress on stderr, TCB dumps on failure).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { IOT_SOCKET_ECONNRESET } from '../../src/base/iot-constants.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { ip4FromBytes } from '../../src/stack/ipv4-addr.ts';
import type { PingResult } from '../../src/stack/stack.ts';
import { TcpLayer, type TcpConn, type TcpListener } from '../../src/stack/tcp/tcp-layer.ts';
import { pseudoHeaderSumV4 } from '../../src/wire/checksum.ts';
import { isFault } from '../../src/wire/fault.ts';
import { ipv4HeaderLen, isFragment, parseIpv4 } from '../../src/wire/ipv4.ts';
import { TcpFlag, parseTcp, type TcpRepr } from '../../src/wire/tcp.ts';
import { seqAdd, seqGe, seqLe, seqLt } from '../../src/wire/tcp-seq.ts';
import { aimRandomFrame, fixChecksums, rawTcpSegment, type ChecksumFix } from '../support/frame-mutator.ts';
import { dec, drain, enc, ipFrame, pattern, run, twoHosts, udpTargets, type Host } from '../support/stack-net.ts';

const FRAMES = Number(process.env.IOTNET_ROBUSTNESS_FRAMES ?? 1_000_000);
const SEED = Number(process.env.IOTNET_ROBUSTNESS_SEED ?? 0x5eed1);
const STREAM_BYTES = Number(process.env.IOTNET_ROBUSTNESS_STREAM_KIB ?? 1024) * 1024;
/** Frames per batch; between batches the applications run and virtual time advances. */
const BATCH = 256;
/** B drains its queue after this many injected frames (the cable queue holds 1,024). */
const DRAIN_EVERY = 64;
/** Heap growth allowed from 10 % of the run to its end (measured: about 0.5 MiB, flat from 1M to 3M frames). */
const HEAP_GROWTH_LIMIT = 4 * 1024 * 1024;

/** A seeded source of choices. */
class Dice {
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

const wr16 = (b: Uint8Array, o: number, v: number): void => {
  if (o + 1 >= b.length) return;
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
};
const wr32 = (b: Uint8Array, o: number, v: number): void => {
  wr16(b, o, v >>> 16);
  wr16(b, o + 2, v & 0xffff);
};
const rd16 = (b: Uint8Array, o: number): number => (((b[o] ?? 0) << 8) | (b[o + 1] ?? 0)) >>> 0;

/** One live TCP connection: B's end (under test) and A's end. */
interface Live {
  readonly name: string;
  readonly a: TcpConn;
  readonly b: TcpConn;
  readonly victim: boolean;
}

/** One direction of a connection carrying `data`, paced, compared byte by byte on arrival. */
class Stream {
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

/** Parses `f` as B would; the live connection and segment it reaches, if any. */
function liveSegment(f: Uint8Array, B: Host, live: readonly Live[]): { l: Live; seg: TcpRepr; at: number } | undefined {
  if (f.length < 54 || f[12] !== 0x08 || f[13] !== 0x00) return undefined;
  for (let i = 0; i < 6; i++) if (f[i] !== B.mac[i]) return undefined;
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
class Guard {
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

/** Splits an unfragmented IPv4 frame into fragments (8-byte multiples), in order. */
function fragment(f: Uint8Array, pieces: number, dice: Dice): Uint8Array[] {
  const hl = ((f[14] ?? 0) & 0x0f) * 4;
  const payload = f.subarray(14 + hl, 14 + rd16(f, 16));
  const out: Uint8Array[] = [];
  let off = 0;
  for (let i = 0; i < pieces && off < payload.length; i++) {
    let len = i === pieces - 1 ? payload.length - off : Math.max(8, (dice.int(Math.ceil(payload.length / pieces) + 8) >> 3) << 3);
    len = Math.min(len, payload.length - off);
    const last = off + len >= payload.length;
    const g = new Uint8Array(14 + hl + len);
    g.set(f.subarray(0, 14 + hl));
    g.set(payload.subarray(off, off + len), 14 + hl);
    wr16(g, 16, hl + len);
    wr16(g, 20, (last ? 0 : 0x2000) | (off >> 3));
    fixChecksums(g, false);
    out.push(g);
    off += len;
  }
  return out;
}

/** The seeded frame generator. */
class Injector {
  readonly kinds: Record<string, number> = {};
  private readonly dice: Dice;
  private readonly A: Host;
  private readonly B: Host;
  private readonly live: readonly Live[];
  private readonly fixed: Uint8Array[];
  /** A's latest frames (rolling): mutations of them land near the live windows. */
  private readonly recent: Uint8Array[] = [];
  private readonly queue: Uint8Array[] = [];
  private ipId = 1;

  constructor(dice: Dice, A: Host, B: Host, live: readonly Live[], golden: Uint8Array[]) {
    this.dice = dice;
    this.A = A;
    this.B = B;
    this.live = live;
    this.fixed = golden;
  }

  /** Adds some of A's latest frames to the rolling golden set. */
  refresh(frames: readonly Uint8Array[]): void {
    for (const f of frames) {
      if (this.recent.length < 64) this.recent.push(f);
      else if (this.dice.chance(0.25)) this.recent[this.dice.int(64)] = f;
    }
  }

  next(): Uint8Array {
    const q = this.queue.shift();
    if (q !== undefined) return q;
    const d = this.dice;
    const r = d.int(100);
    let kind: string;
    let f: Uint8Array;
    if (r < 20) [kind, f] = ['random', this.randomFrame()];
    else if (r < 60) [kind, f] = ['mutated', this.mutated()];
    else if (r < 82) [kind, f] = ['live-tcp', this.liveTcp()];
    else if (r < 86) [kind, f] = ['syn-flood', this.synFlood()];
    else if (r < 88) [kind, f] = ['closed-port', this.closedPort()];
    else if (r < 94) [kind, f] = ['fragments', this.fragments()];
    else if (r < 97) [kind, f] = ['icmp-error', this.icmpError()];
    else [kind, f] = ['arp', this.arp()];
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
    return f;
  }

  private randomFrame(): Uint8Array {
    const d = this.dice;
    const len = d.chance(0.2) ? d.int(41) : 14 + d.int(1501);
    return aimRandomFrame(d.bytes(len), d.pick(['ours', 'broadcast', 'random'] as const), d.pick([0x0800, 0x0806, -1]), this.B.mac, this.B.ip);
  }

  /** A value near a live connection's sequence space (B's RCV.NXT, SND.UNA, SND.MAX, window edges). */
  private nearSeq(): number {
    const d = this.dice;
    const l = d.pick(this.live);
    const t = l.b.tcb;
    const base = d.pick([t.rcvNxt, t.sndUna, t.sndMax, seqAdd(t.rcvNxt, t.recvBuf.capacity), l.a.tcb.sndMax]);
    return seqAdd(base, d.pick([0, 1, -1, 2, -2, 1460, -1460]) + (d.chance(0.3) ? d.int(1 << 17) - (1 << 16) : 0));
  }

  private mutated(): Uint8Array {
    const d = this.dice;
    const src = this.recent.length > 0 && d.chance(0.5) ? d.pick(this.recent) : d.pick(this.fixed);
    let f = src.slice();
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
          for (let n = 1 + d.int(3); n > 0; n--) this.overwriteField(f);
          break;
        default: // truncation or extension
          if (d.chance(0.5)) {
            const hl = ((f[14] ?? 0) & 0x0f) * 4;
            f = f.slice(0, Math.min(f.length, d.chance(0.5) ? d.int(f.length + 1) : d.pick([13, 14, 15, 33, 34, 14 + hl, 14 + hl + 7, 14 + hl + 19, f.length - 1])));
          } else {
            const extra = d.bytes(1 + d.int(300));
            const g = new Uint8Array(Math.min(1514, f.length + extra.length));
            g.set(f);
            g.set(extra.subarray(0, g.length - f.length), f.length);
            if (d.chance(0.5) && g.length >= 18) wr16(g, 16, g.length - 14); // grow the IPv4 total length too
            f = g;
          }
      }
    }
    const fix: ChecksumFix = d.pick(['none', 'ip', 'all', 'all', 'all']);
    if (fix !== 'none') fixChecksums(f, fix === 'all');
    return f;
  }

  private overwriteField(f: Uint8Array): void {
    const d = this.dice;
    const type = rd16(f, 12);
    if (type === 0x0806) {
      const at = d.pick([14, 16, 18, 19, 20, 22, 28, 32, 38]);
      if (at === 18 || at === 19) f[at] = d.pick([0, 4, 6, 16, 255]);
      else if (at === 14 || at === 16 || at === 20) wr16(f, at, d.pick([0, 1, 2, 3, 0x0800, 0x86dd, d.int(65536)]));
      else if (at === 28 || at === 38) wr32(f, at, d.pick([0, 0xffffffff, this.A.ip, this.B.ip, 0x0a000000 | d.int(256), d.u32()]));
      else for (let i = 0; i < 6; i++) f[at + i] = d.int(256);
      return;
    }
    if (type !== 0x0800 || f.length < 34) {
      f[d.int(f.length)] = d.int(256);
      return;
    }
    const hl = ((f[14] as number) & 0x0f) * 4;
    const l4 = 14 + hl;
    const proto = f[23] as number;
    const ipField = d.int(proto === 6 ? 2 : 1) === 0 || f.length <= l4 + 4;
    if (ipField) {
      switch (d.int(9)) {
        case 0: f[14] = d.pick([0x40, 0x44, 0x45, 0x46, 0x4f, 0x35, 0x65, 0x00, 0xff, d.int(256)]); break;
        case 1: wr16(f, 16, d.pick([0, 1, 19, 20, 21, hl - 1, hl, f.length - 15, f.length - 13, 576, 1500, 65535, d.int(65536)])); break;
        case 2: wr16(f, 20, d.pick([0x2000, 0x4000, 0x1fff, 0x3fff, 0x2001, 0x0001, 0x6000, d.int(65536)])); break;
        case 3: f[22] = d.pick([0, 1, 255]); break;
        case 4: f[23] = d.pick([0, 1, 2, 6, 17, 41, 58, 255, d.int(256)]); break;
        case 5: wr32(f, 26, d.pick([0, 0xffffffff, 0x7f000001, 0xe0000001, this.B.ip, 0x0a0000ff, d.u32()])); break;
        case 6: wr32(f, 30, d.pick([0, 0xffffffff, 0x0a0000ff, 0xe0000001, this.A.ip, d.u32()])); break;
        case 7: wr16(f, 18, d.int(65536)); break;
        default: for (let i = 34; i < l4 && i < f.length; i++) f[i] = d.int(256); // IPv4 options
      }
      return;
    }
    if (proto === 6) {
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
    } else if (proto === 17) {
      wr16(f, l4 + d.pick([0, 2, 4, 4, 6]), d.pick([0, 7, 8, 9, 67, 68, 7, 65535, d.int(65536)]));
    } else {
      // ICMP: type/code, or the quoted header
      const at = d.chance(0.5) ? l4 + d.int(2) : l4 + 8 + d.int(28);
      if (at < f.length) f[at] = d.pick([0, 3, 4, 5, 8, 11, 12, 0xff, d.int(256)]);
    }
  }

  /** TCP option bytes: known kinds with good or bad lengths and values near the live windows, unknown kinds, NOP/EOL. */
  private tcpOptions(): Uint8Array {
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

  /** A segment on a live 4-tuple from A's address (guarded later), with sequence numbers near the windows. */
  private liveTcp(): Uint8Array {
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
    const f = ipFrame({ dstMac: this.B.mac, srcMac: this.A.mac, src: this.A.ip, dst: this.B.ip, protocol: 6, payload: seg, id: this.ipId++ & 0xffff });
    if (d.chance(0.95)) fixChecksums(f, true);
    if (d.chance(0.1) && f.length > 34 + 24) {
      // Fragmented: judge the whole segment first (the guard runs on frames, not on reassembled datagrams).
      this.guardHook?.(f);
      const parts = fragment(f, 2 + d.int(3), d);
      this.queue.push(...parts.slice(1));
      return parts[0] as Uint8Array;
    }
    return f;
  }

  /** Set by the test: the guard, for segments that are fragmented before injection. */
  guardHook: ((f: Uint8Array) => void) | undefined = undefined;

  private strangerIp(): number {
    const d = this.dice;
    return d.pick([this.A.ip, (0x0a000000 | (3 + d.int(250))) >>> 0, d.u32(), 0xc0a80001]);
  }

  private synFlood(): Uint8Array {
    const d = this.dice;
    const src = this.strangerIp();
    const seg = rawTcpSegment({
      srcPort: 1024 + d.int(64000), dstPort: d.chance(0.8) ? 80 : d.int(65536), seq: d.u32(), ack: d.chance(0.8) ? 0 : d.u32(),
      flags: d.chance(0.8) ? TcpFlag.SYN : d.pick([TcpFlag.SYN | TcpFlag.ACK, TcpFlag.ACK, TcpFlag.SYN | TcpFlag.ECE | TcpFlag.CWR]),
      window: d.int(65536), options: this.tcpOptions(),
    });
    const f = ipFrame({ dstMac: this.B.mac, src, dst: this.B.ip, protocol: 6, payload: seg, id: this.ipId++ & 0xffff });
    fixChecksums(f, true);
    return f;
  }

  private closedPort(): Uint8Array {
    const d = this.dice;
    const seg = rawTcpSegment({
      srcPort: d.int(65536), dstPort: d.pick([1, 22, 81, 443, d.int(65536)]), seq: d.u32(), ack: d.u32(),
      flags: d.pick([TcpFlag.ACK, TcpFlag.PSH | TcpFlag.ACK, TcpFlag.FIN | TcpFlag.ACK, TcpFlag.RST, 0]), window: d.int(65536),
      payload: d.bytes(d.int(200)),
    });
    const f = ipFrame({ dstMac: this.B.mac, src: this.strangerIp(), dst: this.B.ip, protocol: 6, payload: seg, id: this.ipId++ & 0xffff });
    fixChecksums(f, true);
    return f;
  }

  private fragments(): Uint8Array {
    const d = this.dice;
    const src = d.pick([this.A.ip, this.strangerIp()]);
    const protocol = d.pick([1, 17, 6, 99]);
    const size = d.pick([16, 100, 1400, 2900, 8000]);
    const id = d.chance(0.3) ? d.int(4) : d.int(65536); // a few ids are reused on purpose
    const payload = d.bytes(size);
    if (protocol === 1) {
      payload[0] = 8; // echo request
      payload[1] = 0;
    }
    // Fragments of a datagram too large for one frame: built piece by piece.
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < size) {
      const len = Math.min(size - off, d.pick([8, 16, 512, 1024, 1480]));
      const more = off + len < size;
      const p = ipFrame({ dstMac: this.B.mac, src, dst: this.B.ip, protocol, payload: payload.subarray(off, off + len), id, fragOffset: off, moreFrags: more });
      out.push(p);
      off += len;
    }
    switch (d.int(6)) {
      case 0: out.reverse(); break; // out of order
      case 1: out.splice(d.int(out.length), 1); break; // one missing: waits until the reassembly timeout
      case 2: { // an overlapping copy with other bytes
        const i = d.int(out.length);
        const c = (out[i] as Uint8Array).slice();
        for (let k = 34; k < c.length; k += 7) c[k] = d.int(256);
        wr16(c, 20, (rd16(c, 20) & 0xe000) | (((rd16(c, 20) & 0x1fff) + d.pick([0, 1, -1])) & 0x1fff));
        fixChecksums(c, false);
        out.splice(d.int(out.length + 1), 0, c);
        break;
      }
      case 3: { // ping of death: a last fragment beyond 65,535 bytes
        const p = ipFrame({ dstMac: this.B.mac, src, dst: this.B.ip, protocol, payload: d.bytes(200), id, fragOffset: 0x1fff * 8, moreFrags: false });
        out.push(p);
        break;
      }
      case 4: { // a non-final fragment whose length is not a multiple of 8
        const p = ipFrame({ dstMac: this.B.mac, src, dst: this.B.ip, protocol, payload: d.bytes(13), id, fragOffset: 8 * d.int(100), moreFrags: true });
        out.splice(d.int(out.length + 1), 0, p);
        break;
      }
      default:
        break;
    }
    if (protocol !== 6 && d.chance(0.5)) {
      // Make the reassembled datagram's transport checksum right sometimes: rebuild it
      // whole, fix it, and take its first fragment's header bytes.
      const full = ipFrame({ dstMac: this.B.mac, src, dst: this.B.ip, protocol, payload, id });
      fixChecksums(full, true);
      const first = out.find((p) => (rd16(p, 20) & 0x1fff) === 0);
      if (first !== undefined) {
        const at = protocol === 17 ? 6 : 2;
        if (34 + at + 1 < first.length) {
          first[34 + at] = full[34 + at] as number;
          first[34 + at + 1] = full[34 + at + 1] as number;
        }
      }
    }
    const head = out.shift();
    this.queue.push(...out);
    return head ?? this.randomFrame(); // the only fragment was the one left out
  }

  private icmpError(): Uint8Array {
    const d = this.dice;
    const l = d.pick(this.live);
    // The quoted datagram: one B sent (B -> A on a live 4-tuple, or the connected UDP socket), or anything.
    const quoted = new Uint8Array(28);
    quoted[0] = 0x45;
    wr16(quoted, 2, d.pick([40, 1500, 576, d.int(65536)]));
    quoted[8] = 64;
    quoted[9] = d.pick([6, 6, 17, 1, d.int(256)]);
    wr32(quoted, 12, d.chance(0.8) ? this.B.ip : d.u32());
    wr32(quoted, 16, d.chance(0.8) ? this.A.ip : d.u32());
    if (quoted[9] === 17) {
      wr16(quoted, 20, 5000);
      wr16(quoted, 22, 5001);
    } else {
      wr16(quoted, 20, l.b.localPort);
      wr16(quoted, 22, l.b.remotePort);
      wr32(quoted, 24, d.chance(0.5) ? this.nearSeq() : d.u32());
    }
    if (d.chance(0.1)) quoted[0] = d.int(256);
    const icmp = new Uint8Array(8 + quoted.length);
    icmp[0] = d.pick([3, 3, 3, 11, 4, 12, 5, d.int(256)]);
    icmp[1] = d.int(16);
    if (icmp[0] === 3 && icmp[1] === 4) wr16(icmp, 6, d.pick([0, 68, 296, 576, 1006, 1500, 65535]));
    icmp.set(quoted, 8);
    const f = ipFrame({ dstMac: this.B.mac, src: d.pick([this.A.ip, this.strangerIp()]), dst: this.B.ip, protocol: 1, payload: icmp, id: this.ipId++ & 0xffff });
    if (d.chance(0.9)) fixChecksums(f, true);
    return f;
  }

  private arp(): Uint8Array {
    const d = this.dice;
    const f = new Uint8Array(42);
    f.set(d.chance(0.5) ? this.B.mac : [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
    const mac = d.bytes(6);
    mac[0] = (mac[0] as number) & 0xfe; // unicast
    f.set(mac, 6);
    wr16(f, 12, 0x0806);
    wr16(f, 14, 1);
    wr16(f, 16, 0x0800);
    f[18] = 6;
    f[19] = 4;
    wr16(f, 20, d.pick([1, 1, 2, 3]));
    f.set(mac, 22);
    // Strangers only: a sender claiming A's address is ARP spoofing (mutations still do it).
    wr32(f, 28, d.pick([(0x0a000000 | (3 + d.int(250))) >>> 0, this.B.ip, 0, d.u32()]));
    wr32(f, 38, d.chance(0.8) ? this.B.ip : d.u32());
    return f;
  }
}

/** `global.gc` without --expose-gc (V8 flag set at run time). */
function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

describe('Stack robustness: 1,000,000 frames into a live stack (issue 3)', () => {
  it(`${FRAMES.toLocaleString('en-US')} seeded random and mutated frames (seed ${SEED}): nothing escapes, invariants hold, memory bounded, the connections still deliver intact data`, (t) => {
    const t0 = performance.now();
    const gc = gcFunction();
    const { sched, A, B, ends, tap } = twoHosts({ tapA: true });
    const ta = new TcpLayer(A.stack, { rng: new XorShiftRng(SEED + 1) });
    const tb = new TcpLayer(B.stack, { rng: new XorShiftRng(SEED + 2) });
    const lb = tb.listen(0, 80, 8) as TcpListener;
    const la = ta.listen(0, 8080, 8) as TcpListener;
    run(sched);

    // ---- connections: two opened by A, two by B, and the victim (opened by A, idle)
    const openA = [0, 1, 2].map(() => ta.connect(sched.now(), B.ip, 80) as TcpConn);
    const openB = [0, 1].map(() => tb.connect(sched.now(), A.ip, 8080) as TcpConn);
    run(sched, 100);
    const acceptAll = (layer: TcpLayer, l: TcpListener): TcpConn[] => {
      const out: TcpConn[] = [];
      for (let c = layer.accept(l); c !== undefined; c = layer.accept(l)) out.push(c);
      return out;
    };
    const atB = acceptAll(tb, lb), atA = acceptAll(ta, la);
    const peerOf = (c: TcpConn, list: TcpConn[]): TcpConn => {
      const p = list.find((x) => x.remotePort === c.localPort);
      assert.ok(p !== undefined, 'accepted');
      return p;
    };
    const live: Live[] = [
      ...openA.map((a, i) => ({ name: i === 2 ? 'victim A->B' : `conn${i} A->B`, a, b: peerOf(a, atB), victim: i === 2 })),
      ...openB.map((b, i) => ({ name: `conn${i + 2} B->A`, a: peerOf(b, atA), b, victim: false })),
    ];
    for (const l of live) assert.equal(l.b.tcb.state, 'ESTABLISHED', l.name);
    const streams: Stream[] = [];
    live.forEach((l, i) => {
      if (l.victim) return;
      streams.push(new Stream(`${l.name} up`, l.a, ta, l.b, tb, pattern(STREAM_BYTES, SEED + 100 + 2 * i)));
      streams.push(new Stream(`${l.name} down`, l.b, tb, l.a, ta, pattern(STREAM_BYTES, SEED + 101 + 2 * i)));
    });

    // ---- UDP on B: echo on 7 (answers from its change callback), a connected socket, a broadcast listener
    // ---- golden frames: a real exchange as A sent it (ARP, UDP, fragmented ping, ICMP error, TCP)
    const { echo, connected, broadcast: bcast, client: clientA } = udpTargets(sched, A, B);
    A.stack.ping(sched.now(), 0x0a00004d); // an ARP request from A (10.0.0.77 is nobody)
    run(sched);
    B.stack.udpSendTo(sched.now(), connected, enc.encode('x'), 1, A.ip, 9); // draws a port unreachable from A
    for (const s of streams) s.step(4096);
    run(sched, 50);
    const golden: Uint8Array[] = (tap?.tx ?? []).map((f) => f.slice());
    golden.push(ipFrame({ dstMac: B.mac, src: A.ip, dst: B.ip, protocol: 17, id: 9, moreFrags: true, payload: new Uint8Array(64) }));
    assert.ok(golden.length >= 12, `${golden.length} golden frames`);
    tap?.clear();
    drain(B.stack, connected);
    drain(B.stack, bcast);

    const dice = new Dice(SEED);
    const guard = new Guard(B, live, dice);
    const inj = new Injector(dice, A, B, live, golden);
    inj.guardHook = (f) => guard.check(f);

    const bounds = {
      connections: live.length + Math.max(64, 2 * lb.backlog) + lb.backlog,
      arp: 512,
      reassemblyBytes: 1024 * 1024,
    };
    const checkInvariants = (where: string): void => {
      for (const s of [A.stack, B.stack]) {
        const who = s === B.stack ? 'B' : 'A';
        assert.equal(s.stats.drops.internalError, 0, `${where}: ${who} internal error: ${s.lastInternalError instanceof Error ? s.lastInternalError.stack : String(s.lastInternalError)}`);
        assert.equal(s.stats.callbackErrors, 0, `${where}: ${who} change callback threw`);
      }
      for (const l of live) {
        for (const c of [l.a, l.b]) {
          const tcb = c.tcb;
          const what = `${where}: ${l.name} ${c === l.a ? 'A' : 'B'} end (${tcb.state})`;
          if (tcb.state === 'CLOSED') continue;
          assert.ok(seqLe(tcb.sndUna, tcb.sndNxt) && seqLe(tcb.sndNxt, tcb.sndMax), `${what}: SND.UNA ${tcb.sndUna} <= SND.NXT ${tcb.sndNxt} <= SND.MAX ${tcb.sndMax}`);
          assert.ok(seqLt(tcb.sndMax, seqAdd(tcb.sndUna, tcb.sendBuf.length + 3)), `${what}: in flight ${tcb.sndMax - tcb.sndUna} within the send buffer (${tcb.sendBuf.length}) + SYN/FIN`);
          assert.ok(tcb.sendBuf.length <= tcb.sendBuf.capacity && tcb.recvBuf.length <= tcb.recvBuf.capacity, `${what}: rings within capacity`);
        }
      }
      assert.ok(tb.connections <= bounds.connections, `${where}: ${tb.connections} connections <= ${bounds.connections}`);
      assert.ok(lb.halfOpen.length <= Math.max(64, 2 * lb.backlog) && lb.acceptQueue.length <= lb.backlog, `${where}: listener queues bounded`);
      assert.ok(B.stack.arp.size <= bounds.arp, `${where}: ARP cache ${B.stack.arp.size}`);
      assert.ok(B.stack.reassembler.bytesHeld <= bounds.reassemblyBytes, `${where}: reassembly ${B.stack.reassembler.bytesHeld} bytes`);
      for (const p of [echo, connected, bcast]) assert.ok(p.queued <= 256, `${where}: UDP queue ${p.queued}`);
    };

    const heap: { frames: number; bytes: number }[] = [];
    const sampleHeap = (frames: number): void => {
      gc();
      gc();
      heap.push({ frames, bytes: process.memoryUsage().heapUsed });
    };
    const samplesAt = [0.1, 0.25, 0.5, 0.75, 1].map((x) => Math.floor(x * FRAMES));

    let refused = 0;
    let arpSpoofed = 0; // batches that ended with B's ARP entry for A pointing elsewhere
    let udpSent = 0;
    const udpBack = new Set<string>(); // echoes of A's datagrams (replays of mutated copies count once)
    const resets: string[] = [];
    const victim = live.find((l) => l.victim) as Live;
    const advances = [0, 0, 1, 2, 5, 10, 20, 40, 100, 250];
    let injected = 0;
    const tInject = performance.now();
    while (injected < FRAMES) {
      for (let i = 0; i < BATCH && injected < FRAMES; i++) {
        const f = inj.next();
        guard.check(f);
        if (!ends[0].transmit(sched.now(), f)) refused++;
        injected++;
        if (injected % DRAIN_EVERY === 0) run(sched);
      }
      if (injected >= FRAMES / 2 && victim.b.tcb.state === 'ESTABLISHED') {
        // The one legitimate reset: an RST at exactly RCV.NXT (RFC 5961 3.2), as only an
        // attacker who knows the sequence number can send.
        run(sched);
        const seg = rawTcpSegment({ srcPort: victim.b.remotePort, dstPort: victim.b.localPort, seq: victim.b.tcb.rcvNxt, ack: 0, flags: TcpFlag.RST, window: 0 });
        const f = ipFrame({ dstMac: B.mac, srcMac: A.mac, src: A.ip, dst: B.ip, protocol: 6, payload: seg });
        fixChecksums(f, true);
        ends[0].transmit(sched.now(), f);
        run(sched);
        assert.equal(victim.b.tcb.state, 'CLOSED', 'the exact RST reset the victim');
        assert.equal(victim.b.tcb.error, IOT_SOCKET_ECONNRESET);
        resets.push(`${victim.name}: B end reset by an injected RST at exactly RCV.NXT after ${injected} frames`);
        victim.a.tcb.send(enc.encode('anyone there?'));
        ta.touch(victim.a);
      }
      const share = Math.min(1, injected / FRAMES);
      for (const s of streams) s.step(Math.floor(STREAM_BYTES * share));
      const msg = enc.encode(`udp ${udpSent}`);
      if (A.stack.udpSendTo(sched.now(), clientA, msg, msg.length, B.ip, 7) >= 0) udpSent++;
      run(sched, dice.pick(advances));
      for (const d of drain(A.stack, clientA)) if (d.from === B.ip && d.port === 7) udpBack.add(dec.decode(d.data));
      drain(B.stack, connected);
      drain(B.stack, bcast);
      const macOfA = B.stack.arp.lookup(A.ip, sched.now());
      if (macOfA !== undefined && macOfA.some((x, i) => x !== A.mac[i])) arpSpoofed++;
      inj.refresh(tap?.tx ?? []);
      tap?.clear();
      checkInvariants(`after ${injected} frames`);
      if (process.env.IOTNET_ROBUSTNESS_DEBUG && injected % 16384 === 0) process.stderr.write(`${injected} frames, ${((performance.now() - tInject) / 1000).toFixed(1)} s, virtual ${sched.now()} ms, B tcp ${tb.connections}, streams ${streams.map((s) => s.received).join(' ')}\n`);
      if (injected >= (samplesAt[heap.length] ?? Infinity)) sampleHeap(injected);
    }
    const injectMs = performance.now() - tInject;
    const virtualS = sched.now() / 1000;
    if (victim.a.tcb.state === 'CLOSED') resets.push(`${victim.name}: A end ${victim.a.tcb.error === IOT_SOCKET_ECONNRESET ? 'reset by B\'s RST for the vanished connection' : `closed with error ${victim.a.tcb.error}`}`);

    // ---- afterwards: the streams complete, intact
    for (let i = 0; i < 20_000 && !streams.every((s) => s.done); i++) {
      for (const s of streams) s.step(STREAM_BYTES);
      run(sched, 10);
    }
    const bs = B.stack.stats;
    const dropped = Object.values(bs.drops).reduce((x, y) => x + y, 0);
    const nonZero = (o: object): string => JSON.stringify(Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0)));
    t.diagnostic(`seed ${SEED}: ${injected} frames injected in ${(injectMs / 1000).toFixed(1)} s CPU (${((injectMs * 1000) / injected).toFixed(1)} us/frame), ${virtualS.toFixed(1)} s virtual; kinds ${JSON.stringify(inj.kinds)}`);
    t.diagnostic(`B rx ${bs.rxFrames} frames, ${dropped} drops: ${nonZero(bs.drops)}; tcp layer dropped ${tb.dropped}, resets sent ${tb.resets}, listener evicted ${lb.evicted}`);
    t.diagnostic(`B udp rx ${bs.udp.rxDatagrams}, icmp in ${bs.icmp.in} (echo ${bs.icmp.echoRequestsIn}, errors ${bs.icmp.errorsIn}), rate-limited ${bs.icmp.rateLimited}, arp in ${bs.arp.requestsIn + bs.arp.repliesIn} (conflicts ${bs.arp.conflicts}), fragments ${bs.ip.fragmentsIn}, reassembled ${bs.ip.reassembled}`);
    t.diagnostic(`guard: ${guard.reachedLive} segments reached a live TCB, neutralized ${JSON.stringify(guard.neutralized)}; refused by the cable ${refused}; UDP echo ${udpBack.size}/${udpSent}; B's ARP entry for A spoofed after ${arpSpoofed} of ${Math.ceil(injected / BATCH)} batches`);
    t.diagnostic(`heap after GC: ${heap.map((h) => `${h.frames}: ${(h.bytes / 1048576).toFixed(1)} MiB`).join(', ')}`);
    t.diagnostic(`resets: ${resets.length === 0 ? 'none' : resets.join('; ')}`);
    if (process.env.IOTNET_ROBUSTNESS_DEBUG) for (const l of live) for (const c of [l.a, l.b]) t.diagnostic(`${l.name} ${c === l.a ? 'A' : 'B'}: ${JSON.stringify(c.tcb, (k, v) => (k === 'sendBuf' || k === 'recvBuf' || k === 'cfg' ? undefined : v === Infinity ? 'inf' : v))} send ${c.tcb.sendBuf.length} recv ${c.tcb.recvBuf.length}`);
    for (const s of streams) {
      assert.equal(s.mismatchAt, undefined, `${s.name}: first wrong byte at ${s.mismatchAt}`);
      assert.ok(s.done, `${s.name}: ${s.received} of ${s.data.length} bytes arrived (sent ${s.sent})`);
    }
    for (const l of live) {
      if (l.victim) continue;
      assert.equal(l.a.tcb.state, 'ESTABLISHED', `${l.name}: A end ${l.a.tcb.state} (error ${l.a.tcb.error})`);
      assert.equal(l.b.tcb.state, 'ESTABLISHED', `${l.name}: B end ${l.b.tcb.state} (error ${l.b.tcb.error})`);
    }
    assert.equal(refused, 0, 'every injected frame reached B');
    assert.ok(dropped + tb.dropped > injected / 3, `${dropped} drops counted by the stack, ${tb.dropped} by TCP`);
    for (const k of ['badChecksum', 'notForUs', 'truncated', 'malformed', 'badLength', 'martian', 'reassembly'] as const) {
      assert.ok(bs.drops[k] > 0, `drops.${k} counted: ${nonZero(bs.drops)}`);
    }
    assert.ok(tb.dropped > 0 && tb.resets > 0 && lb.evicted > 0, 'TCP drops, RSTs for closed ports, half-open evictions');
    assert.ok(bs.udp.rxDatagrams > 0 && bs.icmp.echoRequestsIn > 0 && bs.icmp.errorsIn > 0 && bs.arp.requestsIn > 0 && bs.ip.reassembled > 0, 'frames reached UDP, ICMP, ARP and reassembly');
    assert.ok(udpBack.size > udpSent / 2, `UDP echo during the run: ${udpBack.size} of ${udpSent}`);
    const first = heap[0], last = heap[heap.length - 1];
    assert.ok(first !== undefined && last !== undefined);
    assert.ok(last.bytes - first.bytes < HEAP_GROWTH_LIMIT, `heap grew ${((last.bytes - first.bytes) / 1048576).toFixed(1)} MiB from ${first.frames} to ${last.frames} frames`);

    // ---- afterwards: new connections, UDP, ping (after the reassembly timeout, so stale
    // injected fragments cannot collide with A's ping identifiers)
    run(sched, 60_000);
    const fresh = [ta.connect(sched.now(), B.ip, 80) as TcpConn, tb.connect(sched.now(), A.ip, 8080) as TcpConn];
    run(sched, 1000);
    const freshB = acceptAll(tb, lb), freshA = acceptAll(ta, la);
    const [fa, fb] = fresh as [TcpConn, TcpConn];
    const freshStreams = [
      new Stream('new A->B', fa, ta, peerOf(fa, freshB), tb, pattern(65536, SEED + 200)),
      new Stream('new B->A', fb, tb, peerOf(fb, freshA), ta, pattern(65536, SEED + 201)),
    ];
    for (let i = 0; i < 1000 && !freshStreams.every((s) => s.done); i++) {
      for (const s of freshStreams) s.step(65536);
      run(sched, 10);
    }
    for (const s of freshStreams) assert.ok(s.done && s.mismatchAt === undefined, `${s.name}: ${s.received} bytes, mismatch ${s.mismatchAt}`);
    const pings: PingResult[] = [];
    A.stack.ping(sched.now(), B.ip, { size: 3000 }, (r) => pings.push(r));
    drain(A.stack, clientA);
    A.stack.udpSendTo(sched.now(), clientA, enc.encode('after the storm'), 15, B.ip, 7);
    run(sched, 5000);
    assert.equal(pings[0]?.code, 0, 'ping works');
    assert.deepEqual(drain(A.stack, clientA).map((d) => dec.decode(d.data)), ['after the storm'], 'UDP echo works');

    // ---- the survivors close gracefully
    for (const l of live) {
      if (l.victim) continue;
      l.a.tcb.close();
      ta.touch(l.a);
      l.b.tcb.close();
      tb.touch(l.b);
    }
    run(sched, 70_000);
    for (const l of live) {
      if (l.victim) continue;
      for (const c of [l.a, l.b]) assert.ok(c.tcb.state === 'CLOSED' && c.tcb.error === undefined, `${l.name}: ${c.tcb.state}, error ${c.tcb.error}`);
    }
    checkInvariants('at the end');
    t.diagnostic(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
});
