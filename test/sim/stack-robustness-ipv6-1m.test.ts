/**
 * Robustness over IPv6 (issue 3 acceptance, IPv6 part): 1,000,000 random and mutated
 * IPv6 frames, seeded and deterministic, into a live stack with open TCP connections
 * and UDP sockets over IPv6, on virtual time with timers firing and real traffic
 * flowing in between. The IPv4 run (test/sim/stack-robustness-1m.test.ts) is the model:
 * same set-up, same guard, same checks; the machinery is shared
 * (test/support/robustness.ts), this file holds the IPv6 frames and bounds.
 *
 * Set-up: two dual-stack hosts on a virtual cable, 2001:db8::1/64 (A, the honest peer)
 * and 2001:db8::2/64 (B, under test), both with link-local addresses, DAD, MLD and
 * SLAAC on (random RAs make B form addresses: that tests the bounds). Four TCP
 * connections over IPv6 (two opened by each side) carry a seeded pattern both ways,
 * paced over the run; a fifth, idle one is the victim of one exact RST; UDP echo, a
 * connected socket and a listener on a multicast group B joined, all IPv6; A sends a
 * datagram to the echo port after every batch of 256 frames.
 *
 * The frames (all with EtherType 0x86dd but a few random ones):
 * - random bytes aimed at B's MAC, the 33:33 MACs of groups B joined (all-nodes,
 *   solicited-node, the UDP group), other 33:33 MACs, broadcast and elsewhere, with
 *   version 6, B's addresses or groups as destination, mostly a fitting payload length
 *   and a next header worth walking, checksums fixed for half of them;
 * - golden frames from A's real traffic (DAD and address-resolution NS, NA, RS, MLDv2
 *   reports, echo requests and replies including a 4000-byte ping in fragments, UDP
 *   including a fragmented 3000-byte datagram, a port unreachable, and a rolling window
 *   of A's latest TCP segments on the live connections) mutated by byte and bit edits,
 *   truncation, extension and interesting fields: version, payload length, next header,
 *   hop limit, source and destination (B's, A's, multicast, loopback, unspecified),
 *   extension-header chains (Hop-by-Hop and Destination Options with padding and
 *   unknown options of all four actions, Routing headers of several types with and
 *   without segments left, Fragment headers with odd offsets, M flags and idents,
 *   atomic fragments, chains longer than a host walks), TCP, UDP and ICMPv6/ND fields;
 *   checksums recomputed over the IPv6 pseudo-header for most, so they reach
 *   TCP/UDP/ICMPv6;
 * - UDP to B's sockets and closed ports, also from B's own addresses (spoofed);
 * - crafted TCP as in the IPv4 run (segments on the live 4-tuples near the windows,
 *   some behind extension headers, some fragmented; SYN floods; closed ports);
 * - crafted Neighbor Discovery: NS/NA/RA/Redirect (and RS) with hop limit 255 and not,
 *   good and random options; RAs from 24 routers with prefixes (a few known ones that
 *   may live long, fresh /64s that live seconds so SLAAC addresses come and go,
 *   link-local, multicast, ::, random; lengths other than 64), lifetimes, MTU, RDNSS,
 *   DNSSL, flags and timers; NS from `::` and NAs for B's own addresses (DAD);
 *   redirects from B's current routers for off-link destinations;
 * - overlapping, partial, duplicate, misaligned, oversize and nested fragments, first
 *   fragments without the whole header chain (RFC 7112), reused identifications;
 * - ICMPv6 errors quoting the live connections, the connected UDP socket or anything:
 *   Packet Too Big with MTUs below, at and above 1280, unreachable, time exceeded,
 *   parameter problem, unknown error types, quotes with extension headers or cut short;
 * - MLD queries (v1, v2, general and group-specific, with and without Router Alert,
 *   hop limit 1 and not) and reports from others.
 *
 * What a blind injector may legitimately break is decided as in the IPv4 run: every
 * frame goes through the shared guard, which walks the extension-header chain as B
 * does and moves a TCP segment that could corrupt or stall a live stream out of its
 * window. Neighbor spoofing of A's address by mutated NS/NA frames is not guarded (as
 * ARP spoofing in the IPv4 run; crafted ND messages only speak for strangers): B must
 * survive the resulting loss. Integrity is then checked on every connection except the
 * victim.
 *
 * Checked while injecting: nothing escapes (`advanceTo` never throws, `internalError`
 * and `callbackErrors` stay 0 on both stacks); the TCP invariants of the IPv4 run; B's
 * bounded IPv6 state: neighbor cache, addresses (SLAAC), groups, default routers, DNS
 * servers, redirects, path MTU cache, reassembly memory; UDP queues. Heap (after a
 * forced GC) from 10 % of the run to its end. Afterwards: the streams complete intact,
 * new TCP connections over IPv6, UDP echo and ping6 (4000 bytes, and link-local) work,
 * and the survivors close gracefully.
 *
 * Environment: as the IPv4 run (IOTNET_ROBUSTNESS_FRAMES, _SEED, _STREAM_KIB, _DEBUG).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipv6MulticastMac, solicitedNodeMulticast } from '../../src/base/ip-address.ts';
import type { Ip6Iface } from '../../src/stack/ipv6-interface.ts';
import type { Ipv6Event } from '../../src/stack/ipv6-layer.ts';
import { toIpv6, type PingResult } from '../../src/stack/stack.ts';
import { emitIcmpv6, icmpv6BufferLen, type Icmpv6Repr, type NdOptions, type NdPrefixInfo } from '../../src/wire/icmpv6.ts';
import { emitRouterAlertHopByHop } from '../../src/wire/ipv6.ts';
import { emitMld, mldBufferLen, type MldRepr } from '../../src/wire/mld.ts';
import { seqAdd, seqLt } from '../../src/wire/tcp-seq.ts';
import { aimRandomFrame, fixChecksums, insertIpv6Header } from '../support/frame-mutator.ts';
import {
  Dice, Guard, InjectorBase, checkFreshConnections, checkNothingEscaped, checkTcpInvariants, closeSurvivors, injectFrames, nonZero,
  rd16, reportRun, robustnessEnv, secs, tcpRig, wr16, wr32, type FrameKind, type InjectionSetup, type Live,
} from '../support/robustness.ts';
import { UDP_GROUP6, dec, drain, enc, ip6Frame, run, twoHosts, udpTargets, type Host } from '../support/stack-net.ts';

const { frames: FRAMES, seed: SEED, streamBytes: STREAM_BYTES, debug: DEBUG } = robustnessEnv(0x5eed6);
/** Heap growth allowed from 10 % of the run to its end (measured: about 1 MiB while the bounded caches fill, 0.4 MiB from 1.5M to 3M frames). */
const HEAP_GROWTH_LIMIT = 4 * 1024 * 1024;
/** Largest Ethernet frame the cable carries. */
const MAX_FRAME = 1514;

const ALL_NODES = toIpv6('ff02::1');
const ALL_ROUTERS = toIpv6('ff02::2');
const MLDV2_ROUTERS = toIpv6('ff02::16');
const UNSPECIFIED = new Uint8Array(16);
const LOOPBACK = toIpv6('::1');
const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** Next Header values of the extension headers a host walks. */
const HBH = 0, ROUTING = 43, FRAGMENT = 44, DEST_OPTS = 60;

/** B's bounds (the stack's defaults: 512 neighbors, 16 routers/prefixes/DNS servers, 64 redirects, 1024 path MTUs, 1 MiB reassembly). */
const BOUNDS = {
  neighbors: 512,
  /** Link-local and static, plus 16 SLAAC prefixes with up to 3 regenerations after DAD conflicts each (RFC 7217 IDGEN_RETRIES), and 3 for the link-local. */
  addresses: 2 + 16 * 4 + 3,
  routers: 16,
  dns: 16,
  redirects: 64,
  pmtu: 1024,
  reassemblyBytes: 1024 * 1024,
} as const;

const mac6 = (group: Uint8Array): Uint8Array => ipv6MulticastMac(group) as Uint8Array;
const solicited = (a: Uint8Array): Uint8Array => solicitedNodeMulticast(a) as Uint8Array;
const withIid = (prefix: Uint8Array, iid: Uint8Array): Uint8Array => {
  const a = prefix.slice(0, 16);
  a.set(iid.subarray(0, 8), 8);
  return a;
};

/**
 * The fragmentation of the IPv6 packet in frame `f`: the unfragmentable part (fixed
 * header and the leading Hop-by-Hop, Routing and Destination Options headers), the
 * fragmentable data, and `piece(...)` making one fragment of it (any offset, M flag,
 * identification, data: also wrong ones).
 */
function fragmenter(f: Uint8Array): { data: Uint8Array; at: number; piece: (pos: number, more: boolean, ident: number, bytes: Uint8Array, upper?: number) => Uint8Array } {
  const ip = f.subarray(14);
  const end = Math.min(ip.length, 40 + rd16(ip, 4));
  let nhField = 6, off = 40;
  for (;;) {
    const nh = ip[nhField] as number;
    if ((nh !== HBH && nh !== ROUTING && nh !== DEST_OPTS) || off + 8 > end) break;
    const next = off + ((ip[off + 1] as number) + 1) * 8;
    if (next > end) break;
    nhField = off;
    off = next;
  }
  const upper = ip[nhField] as number;
  const at = 14 + off;
  const piece = (pos: number, more: boolean, ident: number, bytes: Uint8Array, nh = upper): Uint8Array => {
    const g = new Uint8Array(at + 8 + bytes.length);
    g.set(f.subarray(0, at));
    g[14 + nhField] = FRAGMENT;
    g[at] = nh;
    wr16(g, at + 2, (pos & 0xfff8) | (more ? 1 : 0));
    wr32(g, at + 4, ident);
    g.set(bytes, at + 8);
    wr16(g, 18, off - 40 + 8 + bytes.length);
    return g;
  };
  return { data: ip.subarray(off, end), at, piece };
}

/** Splits the packet in `f` into fragments of `size(i)` data bytes (multiples of 8 but the last), in order. */
function fragment6(f: Uint8Array, size: (i: number) => number, ident: number): { frags: Uint8Array[]; at: number; piece: ReturnType<typeof fragmenter>['piece'] } {
  const { data, at, piece } = fragmenter(f);
  const frags: Uint8Array[] = [];
  for (let pos = 0, i = 0; pos < data.length || i === 0; i++) {
    const n = Math.min(data.length - pos, Math.max(8, size(i) & ~7));
    frags.push(piece(pos, pos + n < data.length, ident, data.subarray(pos, pos + n)));
    pos += n;
  }
  return { frags, at, piece };
}

/** The seeded IPv6 frame generator. */
class Injector6 extends InjectorBase {
  protected readonly mix: readonly FrameKind[] = [
    ['random', 15, () => this.randomFrame()],
    ['mutated', 33, () => this.mutated()],
    ['udp', 2, () => this.udpDatagram()],
    ['live-tcp', 18, () => this.liveTcp()],
    ['syn-flood', 3, () => this.synFlood()],
    ['closed-port', 2, () => this.closedPort()],
    ['fragments', 7, () => this.fragments()],
    ['icmp-error', 5, () => this.icmpError()],
    ['nd', 11, () => this.nd()],
    ['mld', 4, () => this.mld()],
  ];
  /** B's addresses (any state) and its groups, kept current by the test (`setTargets`). */
  private targets: Uint8Array[] = [];
  private groups: Uint8Array[] = [];
  private readonly A: Host;
  private readonly B: Host;
  private readonly a6: Uint8Array;
  private readonly b6: Uint8Array;
  private readonly aLinkLocal: Uint8Array;
  private readonly bLinkLocal: Uint8Array;
  /** Routers (link-local, more than B keeps), known prefixes for their RAs, off-link destinations, on-link strangers. */
  private readonly routers: Uint8Array[];
  private readonly prefixes: Uint8Array[];
  private readonly offLink: Uint8Array[];
  private readonly strangers: Uint8Array[];
  private fragId = 1;

  constructor(dice: Dice, A: Host, B: Host, lls: { a: Uint8Array; b: Uint8Array }, live: readonly Live[], golden: Uint8Array[]) {
    super(dice, live, golden);
    this.A = A;
    this.B = B;
    this.a6 = A.ip6 as Uint8Array;
    this.b6 = B.ip6 as Uint8Array;
    this.aLinkLocal = lls.a;
    this.bLinkLocal = lls.b;
    this.routers = Array.from({ length: 24 }, (_, i) => toIpv6(`fe80::1:0:0:${i + 1}`));
    this.prefixes = [...Array.from({ length: 6 }, (_, i) => toIpv6(`2001:db8:${(0x100 + i).toString(16)}::`)), toIpv6('2001:db8::')];
    this.offLink = Array.from({ length: 80 }, (_, i) => toIpv6(`2001:db8:ffff:${i.toString(16)}::1`));
    this.strangers = Array.from({ length: 16 }, (_, i) => toIpv6(`2001:db8::5:${(i + 1).toString(16)}`));
    this.setTargets([this.b6, this.bLinkLocal], [ALL_NODES, UDP_GROUP6, solicited(this.b6), solicited(this.bLinkLocal)]);
  }

  /** B's addresses and groups now (addresses come and go with SLAAC). */
  setTargets(addresses: Uint8Array[], groups: Uint8Array[]): void {
    this.targets = addresses;
    this.groups = groups;
  }

  override next(): Uint8Array {
    const f = super.next();
    return f.length > MAX_FRAME ? f.subarray(0, MAX_FRAME) : f;
  }

  protected override keep(f: Uint8Array): boolean {
    return f[12] === 0x86 && f[13] === 0xdd;
  }

  /** A frame from A (or `src`) to B's static address; now and then behind an extension header B walks past. */
  protected frameToB(protocol: number, payload: Uint8Array, src?: number | Uint8Array): Uint8Array {
    const d = this.dice;
    const from = src instanceof Uint8Array ? src : this.a6;
    const f = ip6Frame({ dstMac: this.B.mac, ...(src === undefined ? { srcMac: this.A.mac } : {}), src: from, dst: this.b6, nextHeader: protocol, payload });
    if (!d.chance(0.15)) return f;
    const type = d.pick([HBH, DEST_OPTS, ROUTING, FRAGMENT]);
    const h = type === ROUTING ? new Uint8Array(8) : type === FRAGMENT ? new Uint8Array(8) : Uint8Array.of(0, 0, 1, 4, 0, 0, 0, 0); // RH0 with segments left 0, atomic fragment, PadN
    if (type === FRAGMENT) wr32(h, 4, this.fragId++);
    const g = insertIpv6Header(f, type, h);
    return g.length <= MAX_FRAME ? g : f;
  }

  protected fragment(f: Uint8Array, pieces: number): Uint8Array[] {
    const d = this.dice;
    const len = f.length - 54;
    return fragment6(f, () => d.int(Math.ceil(len / pieces) + 8), this.fragId++).frags;
  }

  protected strangerIp(): Uint8Array {
    const d = this.dice;
    switch (d.int(6)) {
      case 0: return this.a6;
      case 1: return withIid(this.b6, d.bytes(8)); // on-link, new each time
      case 2: return withIid(toIpv6('fe80::'), d.bytes(8));
      case 3: return d.pick(this.offLink);
      case 4: return d.bytes(16);
      default: return d.pick(this.strangers); // on-link, known again and again
    }
  }

  protected cutPoints(f: Uint8Array): number[] {
    const upper = 14 + this.upperOffset(f);
    return [13, 14, 15, 19, 53, 54, 55, 61, upper, upper + 1, upper + 3, upper + 7, upper + 19, f.length - 1];
  }

  protected growLength(g: Uint8Array): void {
    wr16(g, 18, g.length - 54);
  }

  /** Where the upper-layer header of the IPv6 packet in `f` starts (after the extension headers, as far as they hold together). */
  private upperOffset(f: Uint8Array): number {
    let nh = f[20] ?? 59, off = 40;
    for (let i = 0; i < 10 && (nh === HBH || nh === ROUTING || nh === DEST_OPTS || nh === FRAGMENT) && 14 + off + 8 <= f.length; i++) {
      const next = nh === FRAGMENT ? off + 8 : off + ((f[14 + off + 1] as number) + 1) * 8;
      nh = f[14 + off] as number;
      off = next;
    }
    return off;
  }

  private pickAddress(): Uint8Array {
    const d = this.dice;
    return d.pick([this.a6, this.aLinkLocal, this.b6, this.bLinkLocal, UNSPECIFIED, LOOPBACK, ALL_NODES, d.pick(this.targets), d.pick(this.groups),
      withIid(toIpv6('fe80::'), d.bytes(8)), d.pick(this.strangers), d.bytes(16)]);
  }

  protected overwriteField(f: Uint8Array): Uint8Array {
    const d = this.dice;
    if (rd16(f, 12) !== 0x86dd || f.length < 54) {
      f[d.int(f.length)] = d.int(256);
      return f;
    }
    const upper = 14 + this.upperOffset(f);
    let nh = f[20] as number;
    if (upper > 54) {
      // the upper-layer protocol: the Next Header of the last extension header
      let off = 54;
      while (off < upper && off < f.length) {
        const t = nh;
        nh = f[off] as number;
        off = t === FRAGMENT ? off + 8 : off + ((f[off + 1] as number) + 1) * 8;
      }
    }
    const ipField = d.int(nh === 6 || nh === 58 ? 3 : 2) === 0 || f.length <= upper + 4;
    if (ipField) {
      switch (d.int(10)) {
        case 0: f[14] = d.pick([0x60, 0x6f, 0x40, 0x45, 0x00, 0xff, d.int(256)]); break;
        case 1: wr16(f, 18, d.pick([0, 1, 7, 8, f.length - 55, f.length - 54, f.length - 53, 1280, 65535, d.int(65536)])); break;
        case 2: f[20] = d.pick([HBH, 6, 17, ROUTING, FRAGMENT, 58, 59, DEST_OPTS, 41, 50, 51, 135, 253, d.int(256)]); break;
        case 3: f[21] = d.pick([0, 1, 2, 64, 254, 255]); break;
        case 4: f.set(this.pickAddress(), 22); break;
        case 5: f.set(this.pickAddress(), 38); break;
        case 6:
        case 7: return this.insertExt(f);
        case 8: for (let i = 54; i < upper && i < f.length; i++) if (d.chance(0.2)) f[i] = d.int(256); break; // extension headers' bytes
        default: for (let i = 15; i < 18; i++) f[i] = d.int(256); // traffic class and flow label
      }
      return f;
    }
    if (nh === 6) this.overwriteTcpField(f, upper);
    else if (nh === 17) wr16(f, upper + d.pick([0, 2, 4, 4, 6]), d.pick([0, 7, 8, 9, 68, 5000, 5001, 65535, d.int(65536)]));
    else if (nh === 58) this.overwriteIcmpField(f, upper);
    else f[upper + d.int(Math.max(1, f.length - upper))] = d.int(256);
    return f;
  }

  /** ICMPv6: type and code, the first word (MTU, pointer, flags), an ND target, option bytes, the quoted packet. */
  private overwriteIcmpField(f: Uint8Array, at: number): void {
    const d = this.dice;
    switch (d.int(6)) {
      case 0: f[at] = d.pick([1, 2, 3, 4, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 143, 255, d.int(256)]); break;
      case 1: f[at + 1] = d.pick([0, 1, 2, 3, 4, 255]); break;
      case 2: wr32(f, at + 4, d.pick([0, 0x80000000, 0x40000000, 0x20000000, 0xe0000000, 1280, 1279, d.u32()])); break;
      case 3: if (at + 24 <= f.length) f.set(this.pickAddress(), at + 8); break;
      case 4: { // an ND option's type or length
        const i = at + 24 + 8 * d.int(4);
        if (i + 1 < f.length) f[i + d.int(2)] = d.pick([0, 1, 2, 3, 4, 5, 25, 31, 255, d.int(256)]);
        break;
      }
      default: { const i = at + 8 + d.int(48); if (i < f.length) f[i] = d.int(256); }
    }
  }

  /** Options for a Hop-by-Hop or Destination Options header: padding (good and bad), Router Alert, known options, unknown ones of every action (RFC 8200 §4.2). */
  private options(): number[] {
    const d = this.dice;
    const out: number[] = [];
    for (let n = d.int(6); n > 0; n--) {
      switch (d.int(10)) {
        case 0: out.push(0); break; // Pad1
        case 1: { // PadN, now and then not zeros, or longer than 7
          const len = d.pick([0, 1, 4, 5, 6, 9]);
          const fill = d.chance(0.8) ? 0 : 1 + d.int(255);
          out.push(1, len);
          for (let i = 0; i < len; i++) out.push(fill);
          break;
        }
        case 2: out.push(5, d.pick([2, 2, 1, 4]), 0, d.pick([0, 0, 1, 2, d.int(256)])); break; // Router Alert
        case 3: out.push(0xc2, 4, ...d.bytes(4)); break; // Jumbo Payload (action 11)
        case 4: out.push(4, 1, d.int(256)); break; // Tunnel Encapsulation Limit
        case 5: out.push(0xc9, 16, ...d.bytes(16)); break; // Home Address (action 11)
        case 6: out.push(d.int(256), d.int(256)); break; // anything, its length maybe past the end
        default: { // an unknown option: action 00 skip, 01 drop, 10 error, 11 error unless multicast
          const len = d.int(9);
          out.push((d.int(4) << 6) | (d.int(2) << 5) | (6 + d.int(26)), len, ...d.bytes(len));
        }
      }
    }
    if (d.chance(0.05)) for (let i = 0; i < 9; i++) out.push(0x1e, 0); // more options than a host walks
    return out;
  }

  /** One extension header of `type` (its Next Header byte set when inserted). */
  private extHeader(type: number): Uint8Array {
    const d = this.dice;
    if (type === FRAGMENT) {
      const h = new Uint8Array(8);
      if (!d.chance(0.4)) wr16(h, 2, d.pick([0x0001, 0x0008, 0x0009, 0x0010, 0x0006, 0x0007, 0xfff8, 0xfff9, d.int(65536)])); // else atomic
      wr32(h, 4, d.pick([0, 1, 0xffffffff, this.fragId++, d.u32()]));
      return h;
    }
    if (type === ROUTING) {
      const n = d.pick([0, 0, 1, 2, 3]);
      const h = new Uint8Array(8 + 16 * n);
      h[1] = 2 * n;
      h[2] = d.pick([0, 2, 3, 4, 253, d.int(256)]);
      h[3] = d.chance(0.6) ? 0 : d.pick([1, n, 255, d.int(256)]);
      for (let i = 0; i < n; i++) h.set(d.pick([this.b6, this.a6, d.bytes(16)]), 8 + 16 * i);
      return h;
    }
    const opts = this.options();
    const len = Math.min(2048, (2 + opts.length + 7) & ~7);
    const h = new Uint8Array(len);
    h[1] = len / 8 - 1;
    for (let i = 0; i < opts.length && 2 + i < len; i++) h[2 + i] = opts[i] as number;
    const rest = len - 2 - opts.length;
    if (rest >= 2 && d.chance(0.9)) { // PadN to the end (else Pad1s)
      h[2 + opts.length] = 1;
      h[3 + opts.length] = rest - 2;
    }
    return h;
  }

  /** One extension header, or a long chain of them, inserted somewhere in the chain of `f`. */
  private insertExt(f: Uint8Array): Uint8Array {
    const d = this.dice;
    const count = d.chance(0.15) ? 3 + d.int(10) : 1;
    let g = f;
    for (let i = 0; i < count; i++) {
      const type = d.pick([HBH, DEST_OPTS, DEST_OPTS, ROUTING, FRAGMENT, FRAGMENT]);
      g = insertIpv6Header(g, type, this.extHeader(type), type === HBH && d.chance(0.8) ? 0 : d.int(3));
    }
    return g;
  }

  private randomFrame(): Uint8Array {
    const d = this.dice;
    const len = d.chance(0.2) ? d.int(61) : 14 + d.int(1501);
    const dst = d.pick<'ours' | 'broadcast' | 'random' | Uint8Array>(['ours', 'ours', 'ours', BROADCAST_MAC, mac6(ALL_NODES), mac6(d.pick(this.groups)), mac6(d.pick(this.groups)),
      Uint8Array.of(0x33, 0x33, ...d.bytes(4)), 'random']);
    const type = d.pick([0x86dd, 0x86dd, 0x86dd, 0x86dd, 0x86dd, 0x0800, -1]);
    const ip = d.pick([this.b6, this.bLinkLocal, d.pick(this.targets), ALL_NODES, d.pick(this.groups), d.pick(this.groups), d.bytes(16)]);
    const f = aimRandomFrame(d.bytes(len), dst, type, this.B.mac, ip);
    if (type !== 0x86dd || f.length < 54) return f;
    if (d.chance(0.7)) wr16(f, 18, f.length - 54);
    if (d.chance(0.6)) f[20] = d.pick([HBH, 6, 17, 58, 58, 58, ROUTING, FRAGMENT, DEST_OPTS, 59]);
    if (d.chance(0.3)) f[21] = 255;
    if (d.chance(0.3)) f.set(d.pick([this.a6, this.aLinkLocal, d.pick(this.strangers), UNSPECIFIED]), 22);
    if (d.chance(0.5)) fixChecksums(f, true);
    return f;
  }

  /** UDP to B's sockets (echo, connected, group listener) and closed ports, from A, strangers and B's own addresses (spoofed). */
  private udpDatagram(): Uint8Array {
    const d = this.dice;
    const src = d.pick([this.a6, this.aLinkLocal, this.strangerIp(), this.b6, this.bLinkLocal]);
    const srcPort = d.pick([7, 5001, 68, d.int(65536)]);
    const dstPort = d.pick([7, 7, 5000, 68, 9, d.int(65536)]);
    const u = new Uint8Array(8 + d.int(64));
    u.set(d.bytes(u.length - 8), 8);
    wr16(u, 0, srcPort);
    wr16(u, 2, dstPort);
    wr16(u, 4, u.length);
    const dst = dstPort === 68 && d.chance(0.5) ? UDP_GROUP6 : d.pick([this.b6, this.bLinkLocal]);
    const f = ip6Frame({ dstMac: dst[0] === 0xff ? mac6(dst) : this.B.mac, src, dst, nextHeader: 17, payload: u });
    if (d.chance(0.95)) fixChecksums(f, true);
    return f;
  }

  /** A sequence number in B's send window (what Packet Too Big must quote to act), or near it. */
  private inFlightSeq(l: Live): number {
    const t = l.b.tcb;
    const span = seqLt(t.sndUna, t.sndNxt) ? (t.sndNxt - t.sndUna) >>> 0 : 1;
    return this.dice.chance(0.7) ? seqAdd(t.sndUna, this.dice.int(span)) : this.nearSeq();
  }

  /** Overlapping, partial, duplicate, misaligned, oversize, nested and incomplete-chain fragments. */
  private fragments(): Uint8Array {
    const d = this.dice;
    const src = d.pick([this.a6, this.strangerIp()]);
    const nh = d.pick([58, 58, 17, 6, 99, 59]);
    const size = d.pick([16, 100, 1400, 2900, 8000]);
    const ident = d.chance(0.3) ? d.int(4) : d.u32();
    const payload = d.bytes(size);
    if (nh === 58) {
      payload[0] = 128; // echo request
      payload[1] = 0;
    } else if (nh === 17) {
      wr16(payload, 2, d.pick([7, 68, 5000, 9]));
      wr16(payload, 4, size);
    }
    let full = ip6Frame({ dstMac: this.B.mac, src, dst: d.chance(0.9) ? this.b6 : d.pick(this.targets), nextHeader: nh, payload });
    if (d.chance(0.2)) { // extension headers in the unfragmentable part
      const type = d.pick([HBH, DEST_OPTS, ROUTING]);
      full = insertIpv6Header(full, type, this.extHeader(type));
    }
    if (nh !== 6 && d.chance(0.5)) fixChecksums(full, true); // the reassembled packet's checksum right
    const { frags: out, at, piece } = fragment6(full, () => d.pick([8, 16, 512, 1024, 1232]), ident);
    const first = out[0] as Uint8Array;
    switch (d.int(10)) {
      case 0: out.reverse(); break; // out of order
      case 1: out.splice(d.int(out.length), 1); break; // one missing: waits for the timeout (Time Exceeded when the first came)
      case 2: { // an overlapping copy with other bytes (RFC 5722: the whole packet goes)
        const c = (out[d.int(out.length)] as Uint8Array).slice();
        for (let k = at + 8; k < c.length; k += 7) c[k] = d.int(256);
        const fo = rd16(c, at + 2);
        wr16(c, at + 2, (((fo & 0xfff8) + d.pick([0, 8, -8, 16])) & 0xfff8) | (fo & 1));
        out.splice(d.int(out.length + 1), 0, c);
        break;
      }
      case 3: out.push(piece(0xfff8, false, ident, d.bytes(200))); break; // beyond 65,535 bytes: Parameter Problem
      case 4: out.splice(d.int(out.length + 1), 0, piece(8 * d.int(100), true, ident, d.bytes(13))); break; // M set, not a multiple of 8
      case 5: out.splice(d.int(out.length + 1), 0, (out[d.int(out.length)] as Uint8Array).slice()); break; // an exact duplicate
      case 6: // a first fragment without the whole upper-layer header (RFC 7112): TCP or a Destination Options header cut
        out[0] = d.chance(0.5) ? piece(0, true, ident, d.bytes(8), 6) : piece(0, true, ident, Uint8Array.of(58, 3, 1, 4, 0, 0, 0, 0), DEST_OPTS);
        break;
      case 7: { // a Fragment header inside the fragmentable part (nested fragments)
        const nested = insertIpv6Header(first, FRAGMENT, this.extHeader(FRAGMENT), 1);
        out[0] = nested.length <= MAX_FRAME ? nested : first;
        break;
      }
      case 8: // the same identification from another source
        out.splice(d.int(out.length + 1), 0, ip6Frame({ dstMac: this.B.mac, src: this.strangerIp(), dst: this.b6, nextHeader: FRAGMENT, payload: (out[out.length - 1] as Uint8Array).subarray(54) }));
        break;
      default:
        break;
    }
    const head = out.shift();
    this.queue.push(...out);
    return head ?? this.randomFrame();
  }

  /** ICMPv6 errors quoting the live connections, the connected UDP socket or anything. */
  private icmpError(): Uint8Array {
    const d = this.dice;
    const l = d.pick(this.live);
    const proto = d.pick([6, 6, 6, 17, 58, d.int(256)]);
    let q: Uint8Array = new Uint8Array(14 + 40 + 8 + (d.chance(0.5) ? 12 : 0)); // behind a fake link header, for insertIpv6Header
    q[12] = 0x86;
    q[13] = 0xdd;
    q[14] = d.chance(0.95) ? 0x60 : d.int(256);
    wr16(q, 18, d.pick([20, 32, 1220, 1440, d.int(65536)]));
    q[20] = proto;
    q[21] = 64;
    q.set(d.chance(0.85) ? l.b.localIp6 : d.pick([d.pick(this.targets), d.bytes(16)]), 22);
    q.set(d.chance(0.85) ? l.b.remoteIp6 : d.bytes(16), 38);
    if (proto === 17) {
      wr16(q, 54, 5000);
      wr16(q, 56, 5001);
    } else if (proto === 58) {
      q[54] = 128;
      wr16(q, 58, d.int(65536));
    } else {
      wr16(q, 54, l.b.localPort);
      wr16(q, 56, l.b.remotePort);
      wr32(q, 58, d.chance(0.9) ? this.inFlightSeq(l) : d.u32());
    }
    if (d.chance(0.15)) {
      const type = d.pick([DEST_OPTS, FRAGMENT, ROUTING, HBH]);
      q = insertIpv6Header(q, type, this.extHeader(type));
    }
    let quoted = q.subarray(14);
    if (d.chance(0.1)) quoted = quoted.subarray(0, d.int(quoted.length));
    const type = d.pick([2, 2, 2, 1, 1, 3, 4, d.int(128)]);
    const icmp = new Uint8Array(8 + quoted.length);
    icmp[0] = type;
    icmp[1] = d.chance(0.8) ? (type === 1 ? d.int(8) : type === 4 ? d.int(4) : 0) : d.int(256);
    if (type === 2) wr32(icmp, 4, d.pick([0, 68, 576, 1000, 1279, 1280, 1281, 1400, 1500, 9000, 65535, 0xffffffff, d.u32()]));
    else if (type === 4) wr32(icmp, 4, d.int(80));
    icmp.set(quoted, 8);
    const src = d.pick([this.a6, this.a6, this.strangerIp(), d.pick(this.routers)]);
    const f = ip6Frame({ dstMac: this.B.mac, src, dst: d.chance(0.9) ? l.b.localIp6 : d.pick(this.targets), nextHeader: 58, payload: icmp });
    if (d.chance(0.9)) fixChecksums(f, true);
    return f;
  }

  /** ND option bytes nobody asked for: unknown types, zero and odd lengths, short known options. */
  private junkNdOptions(): number[] {
    const d = this.dice;
    const out: number[] = [];
    for (let n = 1 + d.int(3); n > 0; n--) {
      const type = d.pick([1, 2, 3, 4, 5, 6, 14, 24, 25, 26, 31, 38, 200, d.int(256)]);
      const units = d.pick([0, 1, 1, 2, 3, 4, 5]);
      out.push(type, d.chance(0.9) ? units : d.int(256), ...d.bytes(Math.max(0, units * 8 - 2)));
    }
    return out;
  }

  /** An ICMPv6 message as a frame to `dst`, junk options appended now and then, checksum right mostly. */
  private icmpFrame(repr: Icmpv6Repr, src: Uint8Array, dst: Uint8Array, hop: number, junk: boolean): Uint8Array {
    const d = this.dice;
    const extra = junk ? this.junkNdOptions() : [];
    const body = new Uint8Array(icmpv6BufferLen(repr) + extra.length);
    emitIcmpv6(repr, body, src, dst);
    body.set(extra, body.length - extra.length);
    const f = ip6Frame({ dstMac: dst[0] === 0xff ? mac6(dst) : this.B.mac, srcMac: d.pick([this.A.mac, Uint8Array.of(2, 0, 0x5e, 0, 1, 9)]), src, dst, nextHeader: 58, payload: body, hopLimit: hop });
    if (junk ? d.chance(0.95) : false) fixChecksums(f, true);
    else if (!junk && d.chance(0.05)) f[56] = (f[56] as number) ^ 0x10; // a bad checksum
    return f;
  }

  private randomMac(): Uint8Array {
    const m = this.dice.bytes(6);
    m[0] = ((m[0] as number) & 0xfe) | 0x02;
    return m;
  }

  /** Crafted Neighbor Discovery: NS, NA, RA, Redirect, RS; for strangers only (never claiming A's addresses). */
  private nd(): Uint8Array {
    const d = this.dice;
    const hop = d.chance(0.85) ? 255 : d.pick([0, 1, 64, 254]);
    const junk = d.chance(0.2);
    const lla = (): NdOptions => (d.chance(0.8) ? { sourceLinkAddr: this.randomMac() } : {});
    switch (d.int(12)) {
      case 0: case 1: case 2: { // NS: address resolution, NUD, DAD probes for B's own addresses
        const dad = d.chance(0.25);
        const target = d.pick([this.b6, this.bLinkLocal, d.pick(this.targets), d.pick(this.targets), d.pick(this.strangers), ALL_NODES]);
        const src = dad ? UNSPECIFIED : d.pick([d.pick(this.strangers), withIid(toIpv6('fe80::'), d.bytes(8)), d.pick(this.routers), withIid(this.b6, d.bytes(8))]);
        const dst = d.pick([solicited(target), solicited(target), target, ALL_NODES, this.b6]);
        return this.icmpFrame({ kind: 'neighbor-solicit', target, options: dad && d.chance(0.8) ? {} : lla() }, src, dst, hop, junk);
      }
      case 3: case 4: { // NA: for strangers B may be resolving, for B's own addresses (DAD), unsolicited
        const target = d.pick([d.pick(this.strangers), d.pick(this.strangers), d.pick(this.targets), this.b6, withIid(this.b6, d.bytes(8)), ALL_NODES]);
        const src = d.chance(0.7) && target[0] !== 0xff ? target : d.pick(this.strangers);
        const options: NdOptions = d.chance(0.8) ? { targetLinkAddr: this.randomMac() } : {};
        const repr: Icmpv6Repr = { kind: 'neighbor-advert', router: d.chance(0.3), solicited: d.chance(0.5), override: d.chance(0.5), target, options };
        return this.icmpFrame(repr, src, d.pick([ALL_NODES, this.b6, this.bLinkLocal]), hop, junk);
      }
      case 5: case 6: case 7: case 8: return this.ra(hop, junk);
      case 9: case 10: { // Redirect: from one of B's routers now and then, for off-link destinations
        const current = this.B.stack.ipv6Routers(this.B.ifIndex);
        const src = current.length > 0 && d.chance(0.6) ? d.pick(current) : d.pick([d.pick(this.routers), d.pick(this.strangers)]);
        const destination = d.pick([d.pick(this.offLink), d.pick(this.offLink), this.a6, ALL_NODES, this.b6, d.bytes(16)]);
        const target = d.pick([withIid(toIpv6('fe80::'), d.bytes(8)), d.pick(this.routers), destination, ALL_NODES]);
        const options: NdOptions = {
          ...(d.chance(0.7) ? { targetLinkAddr: this.randomMac() } : {}),
          ...(d.chance(0.5) ? { redirectedHeader: d.bytes(8 * d.int(20)) } : {}),
        };
        return this.icmpFrame({ kind: 'redirect', target, destination, options }, src, d.pick([this.b6, this.bLinkLocal]), hop, junk);
      }
      default: // RS: B is a host
        return this.icmpFrame({ kind: 'router-solicit', options: lla() }, d.pick([d.pick(this.strangers), UNSPECIFIED, this.aLinkLocal]), ALL_ROUTERS, hop, junk);
    }
  }

  /** Lifetimes (seconds): long ones (beyond the run) only for the few known prefixes, so SLAAC keeps coming and going. */
  private lifetime(long: boolean): number {
    const d = this.dice;
    return long && d.chance(0.3) ? d.pick([7200, 86400, 0xffffffff, d.u32()]) : d.pick([0, 1, 2, 5, 10, 30, 120]);
  }

  /** A Router Advertisement from one of 24 routers: random prefixes, lifetimes, MTU, RDNSS, DNSSL, flags and timers. */
  private ra(hop: number, junk: boolean): Uint8Array {
    const d = this.dice;
    const r = d.int(this.routers.length);
    const src = d.chance(0.95) ? (this.routers[r] as Uint8Array) : d.pick(this.strangers);
    const prefixes: NdPrefixInfo[] = [];
    for (let n = d.pick([0, 1, 1, 2, 4]); n > 0; n--) {
      const i = d.int(this.prefixes.length);
      const known = this.prefixes[i] as Uint8Array, fresh = toIpv6('2001:db8::');
      fresh.set(d.bytes(4), 4); // a /64 not seen before
      const p = d.pick([known, known, fresh, fresh, toIpv6('fe80::'), d.pick([toIpv6('ff0e::'), toIpv6('ff02::')]), d.bytes(16), UNSPECIFIED]);
      const valid = this.lifetime(p === known);
      prefixes.push({
        prefix: p, prefixLen: d.pick([64, 64, 64, 64, 0, 48, 63, 65, 128, 200]), onLink: d.chance(0.7), autonomous: d.chance(0.8),
        validLifetime: valid, preferredLifetime: d.chance(0.8) ? Math.floor(valid / d.pick([1, 2, 10])) : this.lifetime(p === known),
      });
    }
    const options: NdOptions = {
      ...(d.chance(0.8) ? { sourceLinkAddr: Uint8Array.of(2, 0, 0x5e, 0, 1, r + 1) } : {}),
      ...(d.chance(0.3) ? { mtu: d.pick([0, 68, 1279, 1280, 1400, 1500, 9000, 65535, d.u32()]) } : {}),
      ...(prefixes.length > 0 ? { prefixes } : {}),
      ...(d.chance(0.3) ? { rdnss: Array.from({ length: 1 + d.int(2) }, () => ({ lifetime: d.pick([0, 60, 600, 0xffffffff]), servers: Array.from({ length: 1 + d.int(3) }, () => withIid(d.pick(this.prefixes), d.bytes(8))) })) } : {}),
      ...(d.chance(0.1) ? { dnssl: [{ lifetime: d.pick([0, 600]), domains: ['lan.test', 'x'.repeat(1 + d.int(60))] }] } : {}),
    };
    const repr: Icmpv6Repr = {
      kind: 'router-advert', hopLimit: d.pick([0, 0, 1, 64, 255, d.int(256)]), managed: d.chance(0.2), other: d.chance(0.3), routerPreference: d.int(4),
      routerLifetime: d.pick([0, 0, 1, 30, 1800, 9000, 65535]), reachableTime: d.pick([0, 0, 1, 1000, 30_000, 3_600_000, d.u32()]),
      retransTimer: d.pick([0, 0, 1, 1000, d.u32()]), options,
    };
    return this.icmpFrame(repr, src, d.pick([ALL_NODES, ALL_NODES, this.bLinkLocal, this.b6]), hop, junk);
  }

  /** MLD queries (v1, v2; general, group- and source-specific; Router Alert and hop limit 1 or not) and others' reports. */
  private mld(): Uint8Array {
    const d = this.dice;
    const group = d.pick([UNSPECIFIED, UNSPECIFIED, d.pick(this.groups), d.pick(this.groups), UDP_GROUP6, toIpv6(`ff05::${d.int(65536).toString(16)}`), this.b6]);
    const sources = Array.from({ length: d.pick([0, 0, 1, 3]) }, () => d.bytes(16));
    let repr: MldRepr;
    switch (d.int(5)) {
      case 0: repr = { kind: 'mldv1-query', maxResponseDelay: d.pick([0, 1, 1000, 10_000, 65535]), group }; break;
      case 1: repr = { kind: d.pick(['mldv1-report', 'mldv1-done'] as const), maxResponseDelay: 0, group }; break;
      case 2: repr = { kind: 'mldv2-report', records: [{ recordType: 1 + d.int(6), group, sources }] }; break;
      default: repr = {
        kind: 'mldv2-query', maxResponseCode: d.pick([0, 1, 100, 10_000, 0x7fff, 0x8000, 0xffff, d.int(65536)]), group,
        suppressRouterSide: d.chance(0.5), qrv: d.int(8), qqic: d.int(256), sources,
      };
    }
    const src = d.pick([d.pick(this.routers), d.pick(this.routers), UNSPECIFIED, d.pick(this.strangers)]);
    const dst = d.pick([ALL_NODES, ALL_NODES, group[0] === 0xff ? group : ALL_NODES, this.bLinkLocal, MLDV2_ROUTERS]);
    const body = new Uint8Array(mldBufferLen(repr) + (d.chance(0.05) ? 1 + d.int(3) : 0)); // 25-27 bytes: ignored (RFC 3810 §8.1)
    emitMld(repr, body, src, dst);
    const alert = d.chance(0.85);
    const payload = new Uint8Array((alert ? 8 : 0) + body.length);
    if (alert) emitRouterAlertHopByHop(58, payload, 0, d.chance(0.9) ? 0 : d.int(65536));
    payload.set(body, alert ? 8 : 0);
    const f = ip6Frame({ dstMac: mac6(dst[0] === 0xff ? dst : ALL_NODES), srcMac: Uint8Array.of(2, 0, 0x5e, 0, 2, 1), src, dst, nextHeader: alert ? HBH : 58, payload, hopLimit: d.chance(0.85) ? 1 : d.pick([2, 64, 255]) });
    if (dst[0] !== 0xff) f.set(this.B.mac, 0);
    if (d.chance(0.95)) fixChecksums(f, true);
    return f;
  }
}

/** Pings `dst` from `from` until it answers (at most 10 tries, 2 s each); the try that got the answer. */
function pingUntilAnswered(sched: Parameters<typeof run>[0], from: Host, dst: Uint8Array, size: number): number {
  for (let attempt = 1; attempt <= 10; attempt++) {
    const got: PingResult[] = [];
    from.stack.ping(sched.now(), dst, { size, timeoutMs: 2000 }, (p) => got.push(p));
    run(sched, 2100);
    if (got[0]?.code === 0) {
      assert.ok(got[0].dataMatches && got[0].bytes === size, 'the echo data came back');
      return attempt;
    }
  }
  assert.fail(`no answer to ping6 ${size} bytes in 10 tries`);
}

function linkLocalOf(h: Host): Uint8Array {
  const a = h.stack.ipv6Addresses(h.ifIndex).find((x) => x.origin === 'link-local' && x.state === 'preferred');
  assert.ok(a !== undefined, `${h.stack.name}: a preferred link-local address`);
  return a.address;
}

describe('Stack robustness over IPv6: 1,000,000 frames into a live stack (issue 3)', () => {
  it(`${FRAMES.toLocaleString('en-US')} seeded random and mutated IPv6 frames (seed ${SEED}): nothing escapes, IPv6 state bounded, memory bounded, the connections still deliver intact data`, (t) => {
    const t0 = performance.now();
    const { sched, A, B, ends, tap } = twoHosts({ tapA: true, ipv6: true });
    const events: Record<string, number> = {};
    B.stack.onIpv6Event((e: Ipv6Event) => {
      const k = e.kind === 'address' ? `address ${e.info.origin} ${e.info.state}` : e.kind;
      events[k] = (events[k] ?? 0) + 1;
    });
    run(sched, 3000); // DAD, MLD reports, router solicitations
    const a6 = A.ip6 as Uint8Array, b6 = B.ip6 as Uint8Array;
    const lls = { a: linkLocalOf(A), b: linkLocalOf(B) };
    const st = B.stack.ipv6.state(B.ifIndex) as Ip6Iface;

    // ---- connections over IPv6: two opened by A, two by B, and the victim (opened by A, idle)
    const rig = tcpRig(sched, A, B, a6, b6, SEED, STREAM_BYTES);
    const { streams } = rig;

    // ---- UDP over IPv6 on B: echo on 7, a connected socket, a multicast listener
    // ---- golden frames: A's real traffic (ND, MLD, echo incl. a 4000-byte ping in fragments, UDP, TCP)
    const udp = udpTargets(sched, A, B, 6);
    A.stack.ping(sched.now(), toIpv6('2001:db8::77')); // an NS from A (nobody has ::77)
    A.stack.ping(sched.now(), lls.b); // to B's link-local
    run(sched);
    B.stack.ping(sched.now(), a6); // A's echo reply
    B.stack.udpSendTo(sched.now(), udp.connected, enc.encode('x'), 1, a6, 9); // draws a port unreachable from A
    for (const s of streams) s.step(4096);
    run(sched, 8000); // B's neighbor entries for A, learned from A's solicitations, are probed: A's NAs
    const golden: Uint8Array[] = (tap?.tx ?? []).filter((f) => f[12] === 0x86 && f[13] === 0xdd).map((f) => f.slice());
    const fragData = new Uint8Array(8 + 64); // a lone first fragment of a UDP datagram
    fragData[0] = 17;
    wr16(fragData, 2, 1);
    wr32(fragData, 4, 9);
    golden.push(ip6Frame({ dstMac: B.mac, srcMac: A.mac, src: a6, dst: b6, nextHeader: FRAGMENT, payload: fragData }));
    const kinds = new Set(golden.map((f) => (f[20] === 58 ? `icmp6 ${f[54]}` : f[20] === HBH ? `hbh ${f[62]}` : `nh ${f[20]}`)));
    assert.ok(golden.length >= 20, `${golden.length} golden frames`);
    for (const k of ['icmp6 135', 'icmp6 136', 'icmp6 128', 'icmp6 129', 'icmp6 1', 'hbh 143', 'nh 6', 'nh 17', 'nh 44']) assert.ok(kinds.has(k), `golden frames include ${k}: ${[...kinds].join(', ')}`);
    tap?.clear();
    drain(B.stack, udp.connected);
    drain(B.stack, udp.broadcast);

    const dice = new Dice(SEED);
    const guard = new Guard(B, rig.live, dice);
    const inj = new Injector6(dice, A, B, lls, rig.live, golden);

    const seen = { neighbors: 0, addresses: 0, slaac: 0, groups: 0, routers: 0, dns: 0, redirects: 0, pmtu: 0, reassemblyBytes: 0 };
    const checkInvariants = (where: string): void => {
      checkNothingEscaped(where, A, B);
      checkTcpInvariants(where, rig);
      const addrs = B.stack.ipv6Addresses(B.ifIndex);
      const now = {
        neighbors: st.neighbors.size, addresses: addrs.length, slaac: addrs.filter((a) => a.origin === 'slaac').length, groups: st.groups.length,
        routers: st.routers.defaultRouters().length, dns: st.routers.dnsServers().length, redirects: B.stack.ipv6.redirectCount,
        pmtu: B.stack.ipv6.pmtu.size, reassemblyBytes: B.stack.ipv6.reassembler.bytesHeld,
      };
      for (const k of Object.keys(now) as (keyof typeof now)[]) seen[k] = Math.max(seen[k], now[k]);
      assert.ok(now.neighbors <= BOUNDS.neighbors, `${where}: neighbor cache ${now.neighbors}`);
      assert.ok(now.addresses <= BOUNDS.addresses, `${where}: ${now.addresses} addresses`);
      assert.ok(now.groups <= BOUNDS.addresses + 2, `${where}: ${now.groups} groups`);
      assert.ok(now.routers <= BOUNDS.routers && now.dns <= BOUNDS.dns, `${where}: ${now.routers} routers, ${now.dns} DNS servers`);
      assert.ok(now.redirects <= BOUNDS.redirects, `${where}: ${now.redirects} redirects`);
      assert.ok(now.pmtu <= BOUNDS.pmtu, `${where}: ${now.pmtu} path MTU entries`);
      assert.ok(now.reassemblyBytes <= BOUNDS.reassemblyBytes, `${where}: reassembly ${now.reassemblyBytes} bytes`);
      assert.ok(addrs.some((a) => a.origin === 'static' && a.state === 'preferred'), `${where}: B keeps its static address`);
      assert.ok(addrs.every((a) => a.address[0] !== 0xff), `${where}: no multicast address of B's own`);
      for (const p of [udp.echo, udp.connected, udp.broadcast]) assert.ok(p.queued <= 256, `${where}: UDP queue ${p.queued}`);
    };

    const setup: InjectionSetup = {
      sched, A, B, ends, tap, rig, udp, dice, guard, injector: inj, frames: FRAMES, streamBytes: STREAM_BYTES, debug: DEBUG,
      victimRst: (seg) => ip6Frame({ dstMac: B.mac, srcMac: A.mac, src: a6, dst: b6, nextHeader: 6, payload: seg }),
      macsOfA: () => [st.neighbors.lookup(a6), st.neighbors.lookup(lls.a)],
      afterBatch: (injected) => {
        inj.setTargets(B.stack.ipv6Addresses(B.ifIndex).map((a) => a.address), [ALL_NODES, UDP_GROUP6, ...st.groups.map((g) => g.addr)]);
        checkInvariants(`after ${injected} frames`);
      },
    };
    const r = injectFrames(setup);

    // ---- afterwards: the streams complete, intact; the counters show where frames went
    const bs = B.stack.stats;
    reportRun(t, setup, r, {
      seed: SEED,
      lines: [
        `B ip6 ${nonZero(bs.ip6)}; icmp6 ${nonZero(bs.icmp6)}; nd ${nonZero(bs.nd)}; mld ${nonZero(bs.mld)}; udp rx ${bs.udp.rxDatagrams}`,
        `B IPv6 state, most seen: ${JSON.stringify(seen)}; at the end ${B.stack.ipv6Addresses(B.ifIndex).length} addresses, ${st.neighbors.size} neighbors; events ${JSON.stringify(events)}`,
        `B's send MSS on the live connections: ${rig.live.map((l) => l.b.tcb.sndMss).join(' ')}; path MTU to A ${B.stack.pathMtu6(a6)}; hop limit ${st.hopLimit}`,
      ],
      spoofWhat: 'neighbor entries (global, link-local)',
      dropKinds: ['badChecksum', 'notForUs', 'truncated', 'malformed', 'badLength', 'unsupported', 'martian', 'reassembly', 'unknownProtocol'],
      heapLimit: HEAP_GROWTH_LIMIT,
    });
    assert.ok(bs.udp.rxDatagrams > 0 && bs.icmp6.echoRequestsIn > 0 && bs.icmp6.errorsIn > 0 && bs.icmp6.errorsOut > 0 && bs.ip6.reassembled > 0, 'frames reached UDP, ICMPv6 echo and errors, reassembly; B sent errors');
    assert.ok(bs.nd.nsIn > 0 && bs.nd.naIn > 0 && bs.nd.raIn > 0 && bs.nd.redirectsIn > 0 && bs.nd.dadConflicts > 0 && bs.mld.queriesIn > 0, `ND and MLD reached: ${nonZero(bs.nd)} ${nonZero(bs.mld)}`);
    assert.ok(seen.slaac > 0 && seen.routers > 0 && seen.dns > 0 && seen.redirects > 0 && seen.pmtu > 0, `RAs made SLAAC addresses, routers, DNS servers; redirects and Packet Too Big were taken: ${JSON.stringify(seen)}`);

    // ---- afterwards: new connections, UDP, ping6. B's neighbor entries for A may still
    // be spoofed by mutated frames: NUD finds out on use (RFC 4861 §7.3: DELAY, PROBE,
    // then resolution again), so a first try may be lost.
    checkFreshConnections(sched, rig, SEED);
    const tries = [pingUntilAnswered(sched, A, b6, 4000), pingUntilAnswered(sched, A, lls.b, 56)];
    drain(A.stack, udp.client);
    let udpTries = 0;
    for (let got: string[] = []; got.length === 0 && udpTries < 10; udpTries++) {
      A.stack.udpSendTo(sched.now(), udp.client, enc.encode('after the storm'), 15, b6, 7);
      run(sched, 2000);
      got = drain(A.stack, udp.client).map((d) => dec.decode(d.data));
      assert.ok(got.every((x) => x === 'after the storm'), `UDP echo: ${got.join(', ')}`);
    }
    assert.ok(udpTries < 10, 'UDP echo works');
    t.diagnostic(`afterwards: ping6 (4000 bytes, link-local) answered at try ${tries.join(', ')}, UDP echo at try ${udpTries}`);

    // ---- the survivors close gracefully
    closeSurvivors(sched, rig);
    checkInvariants('at the end');
    t.diagnostic(`total ${secs(performance.now() - t0)} s`);
  });
});
