/**
 * The 6LoWPAN adaptation layer of one IEEE 802.15.4 interface (RFC 4944, RFC 6282): between
 * IPv6 packets above and MAC frames below (what a `'ieee802154'` device carries: frames without
 * the FCS, at most 125 bytes).
 *
 * Sending: the packet's headers are compressed with IPHC/NHC against the link-layer (or mesh)
 * addresses and the context table (uncompressed 0x41 when IPHC cannot express it), cut into
 * FRAG1/FRAGN fragments when it does not fit one frame (a per-interface datagram_tag), and each
 * piece goes out in a data frame: PAN ID compression, acknowledgment requested for unicast,
 * our short address as the source when we have one, else the EUI-64.
 *
 * Mesh-under (RFC 4944 §5.2, §11): with `meshRoutes` the interface is part of a mesh that is
 * one IPv6 link. A frame whose final destination is not a neighbour carries a mesh addressing
 * header (originator, final destination, hops left) and goes to the next hop the routes give;
 * link-layer broadcasts (IPv6 multicast) carry a mesh header to 0xffff plus a BC0 sequence
 * number and every node floods them once (duplicates suppressed by originator and sequence for
 * `broadcastMemoryMs`). Frames for others are forwarded without reassembly, hops left
 * decremented; at 0 they are dropped and counted. The routes come from outside (a topology,
 * static configuration): no mesh routing protocol runs here (LOADng and the like, or RPL for
 * route-over, would be separate).
 *
 * Receiving: MAC frames are parsed (anything malformed, secured, or not a data frame is dropped
 * and counted; nothing throws), mesh and broadcast headers handled, fragments reassembled with
 * a bound on datagrams and bytes and a 60 s timeout (RFC 4944 §5.3), and complete IPv6 packets
 * handed up with the UDP checksum filled in when the sender elided it (RFC 6282 §4.3.2).
 *
 * Explicit `now`, no timers: `pollAt()`/`poll(now)` expire reassemblies and the broadcast memory.
 */
import type { Rng } from '../../base/rand.ts';
import { equalBytes, toHex } from '../../wire/bytes.ts';
import { isFault } from '../../wire/fault.ts';
import { emitMacFrame, MAC_BROADCAST, MAC_FCS_LEN, macFrame, MAX_PHY_PACKET, parseMacFrame, type MacAddress } from '../../wire/ieee802154.ts';
import { walkLowpanHeaders, LOWPAN_DISPATCH_IPV6 } from '../../wire/lowpan/dispatch.ts';
import { compressIphc, decompressIphc, type LowpanContext, type LowpanLinkAddr } from '../../wire/lowpan/iphc.ts';
import { LOWPAN_MAX_CONTEXTS } from '../../wire/lowpan/iphc-address.ts';
import { emitLowpanBc0, emitLowpanMesh, decrementLowpanMeshHops, LOWPAN_BC0_LEN, lowpanMeshLen, type LowpanMeshRepr } from '../../wire/lowpan/mesh-header.ts';
import { fillUdpChecksumV6 } from '../../wire/lowpan/nhc-udp.ts';
import type { Ieee802154Identity } from '../device.ts';
import type { ReassemblyOptions } from '../reassembly.ts';
import { lowpanFragment } from './fragmenter.ts';
import { LowpanReassembler, type LowpanDecompressContext, type LowpanReassemblyStats } from './reassembly.ts';

const IPV6_HEADER_LEN = 40;
/** The short broadcast address as 2 bytes (a mesh final destination, a link destination). */
const BROADCAST2 = Uint8Array.of(0xff, 0xff);
const MAX_FRAME = MAX_PHY_PACKET - MAC_FCS_LEN;
/** Our data frames' largest MAC header: frame control, sequence, PAN id, two extended addresses. */
const MAX_DATA_HEADER = 3 + 2 + 8 + 8;

/**
 * Options of the 6LoWPAN adaptation layer (`InterfaceOptions.lowpan`): randomness, mesh-under routes, hops left,
 * broadcast duplicate memory, reassembly bounds and contexts.
 */
export interface LowpanAdaptationOptions {
  /** Sequence numbers and tags start from here (a fresh stack must not repeat the last one's). */
  readonly rng: Rng;
  /**
   * Mesh-under: the neighbour to send to for a final destination (2 or 8 bytes), or undefined
   * when it is a neighbour itself. Absent: a single-hop link (no mesh headers).
   */
  readonly meshRoutes?: ((final: Uint8Array) => Uint8Array | undefined) | undefined;
  /** Hops Left of the frames we originate (default 15; 1..255). */
  readonly meshHopsLeft?: number;
  /** How long a mesh broadcast's (originator, sequence) is remembered (default 5000 ms). */
  readonly broadcastMemoryMs?: number;
  /** Fragment reassembly bounds (defaults: 60 s, 16 datagrams, 32 KiB). */
  readonly reassembly?: ReassemblyOptions | undefined;
  /** Contexts 0..15 to start with (the 6LBR's own, or static); RFC 6775 6COs update them. */
  readonly contexts?: readonly (LowpanContext | undefined)[] | undefined;
}

/** Counters of one adaptation layer. */
export interface LowpanStats {
  /** MAC frames received. */
  framesIn: number;
  /** MAC frames sent. */
  framesOut: number;
  /** Frames the device refused. */
  framesRefused: number;
  /** Datagrams not sent because the device's queue had no room for all their frames. */
  txBusy: number;
  /** Frames that would not fit 125 bytes with our MAC header (a relayed frame from a sender with shorter addresses). */
  tooLong: number;
  /** IPv6 datagrams delivered up. */
  datagramsIn: number;
  /** IPv6 datagrams sent. */
  datagramsOut: number;
  /** Datagrams sent in more than one frame, and the frames they took. */
  fragmentedOut: number;
  /** Fragments sent (FRAG1 and FRAGN). */
  fragmentsOut: number;
  /** Sent uncompressed (0x41): IPHC could not express the header. */
  uncompressedOut: number;
  /** MAC frames that did not parse, LoWPAN headers that did not walk, IPHC that did not expand. */
  malformed: number;
  /** Not data frames, secured frames (no CCM* here), NALP/ESC/HC1 dispatches. */
  unsupported: number;
  /** Frames addressed to someone else, or without a source address. */
  notForUs: number;
  /** Fragments the reassembler refused (reasons in `reassembly`). */
  fragmentsDropped: number;
  /** Mesh frames relayed towards their final destination. */
  meshForwarded: number;
  /** Mesh broadcasts relayed (BC0 flooding). */
  meshBroadcastsRelayed: number;
  /** Mesh frames dropped with no hops left, or looping back to their originator. */
  meshHopLimit: number;
  /** Mesh frames seen before (same originator and sequence number), dropped. */
  meshDuplicates: number;
  /** Acknowledged frames received twice (a retry after a lost ACK), discarded. */
  macDuplicates: number;
}

/** Where `input` sends its results. */
export interface LowpanInputSink {
  /** A complete IPv6 packet (owned by the callee only for the call); `multicast`: it came as a link-layer broadcast. */
  deliver(packet: Uint8Array, multicast: boolean): void;
  /** A MAC frame to put on the air (a mesh hop); false when the device refused it. */
  transmit(frame: Uint8Array): boolean;
}

function addrBytes(a: MacAddress): Uint8Array {
  return a.mode === 'extended' ? a.value : Uint8Array.of(a.value >> 8, a.value & 0xff);
}

function macAddr(b: Uint8Array): MacAddress {
  return b.length === 2 ? { mode: 'short', value: ((b[0] as number) << 8) | (b[1] as number) } : { mode: 'extended', value: b };
}

function linkAddr(b: Uint8Array): LowpanLinkAddr {
  return b.length === 2 ? { mode: 'short', value: ((b[0] as number) << 8) | (b[1] as number) } : { mode: 'extended', value: b };
}

function isBroadcast2(b: Uint8Array): boolean {
  return b.length === 2 && b[0] === 0xff && b[1] === 0xff;
}

/**
 * The 6LoWPAN adaptation layer (RFC 4944, RFC 6282) of one 802.15.4 interface: IPHC/NHC compression, FRAG1/FRAGN
 * fragmentation with bounded reassembly, and mesh-under forwarding; counted in `stats`.
 */
export class LowpanAdaptation {
  /** The node's 802.15.4 addresses. */
  readonly identity: Ieee802154Identity;
  /** Our link-layer source: the short address when we have one, else the EUI-64 (2 or 8 bytes). */
  readonly linkAddress: Uint8Array;
  /** The context table (RFC 6282 §3.1.1; RFC 6775 6COs fill it on hosts). */
  readonly contexts: (LowpanContext | undefined)[] = [];
  /** Counters (see `LowpanStats`). */
  readonly stats: LowpanStats = {
    framesIn: 0, framesOut: 0, framesRefused: 0, txBusy: 0, tooLong: 0, datagramsIn: 0, datagramsOut: 0, fragmentedOut: 0, fragmentsOut: 0,
    uncompressedOut: 0, malformed: 0, unsupported: 0, notForUs: 0, fragmentsDropped: 0, meshForwarded: 0,
    meshBroadcastsRelayed: 0, meshHopLimit: 0, meshDuplicates: 0, macDuplicates: 0,
  };
  private readonly meshRoutes: ((final: Uint8Array) => Uint8Array | undefined) | undefined;
  private readonly hopsLeft: number;
  private readonly bcMemoryMs: number;
  private readonly reassembler: LowpanReassembler;
  private readonly ownSrc: LowpanLinkAddr;
  private readonly frameBuf = new Uint8Array(MAX_FRAME);
  private seq: number;
  private tag: number;
  private bcSeq: number;
  /** The last sequence number of an acknowledged frame from each link source (duplicate rejection). */
  private readonly lastSeq = new Map<string, number>();
  /** Mesh broadcasts seen: key -> when forgotten. Insertion order is expiry order. */
  private readonly seen = new Map<string, number>();
  /** Fragmented datagrams whose UDP checksum was elided: key -> where to fill it after reassembly. */
  private readonly pendingChecksums = new Map<string, { ipOffset: number; udpOffset: number }>();

  constructor(identity: Ieee802154Identity, opts: LowpanAdaptationOptions) {
    if (identity.extended.length !== 8) throw new RangeError('IEEE 802.15.4 extended address: 8 bytes');
    this.identity = { ...identity, extended: identity.extended.slice() };
    const short = identity.short;
    this.linkAddress = short !== undefined && short >= 0 && short < 0xfffe ? Uint8Array.of(short >> 8, short & 0xff) : this.identity.extended;
    this.ownSrc = linkAddr(this.linkAddress);
    this.meshRoutes = opts.meshRoutes;
    const hops = opts.meshHopsLeft ?? 15;
    if (!Number.isInteger(hops) || hops < 1 || hops > 255) throw new RangeError(`mesh hops left: 1..255, got ${hops}`);
    this.hopsLeft = hops;
    this.bcMemoryMs = opts.broadcastMemoryMs ?? 5000;
    for (let i = 0; i < LOWPAN_MAX_CONTEXTS; i++) this.contexts.push(opts.contexts?.[i]);
    this.reassembler = new LowpanReassembler({ ...opts.reassembly, decompressFirst: (c, ctx) => this.decompressFirst(c, ctx) });
    this.seq = opts.rng.nextU32() & 0xff;
    this.tag = opts.rng.nextU32() & 0xffff;
    this.bcSeq = opts.rng.nextU32() & 0xff;
  }

  /** Whether a 2- or 8-byte link address is ours. */
  isOwn(addr: Uint8Array): boolean {
    if (addr.length === 8) return equalBytes(addr, this.identity.extended);
    return addr.length === 2 && this.linkAddress.length === 2 && addr[0] === this.linkAddress[0] && addr[1] === this.linkAddress[1];
  }

  /** Reassembly counters. */
  get reassembly(): LowpanReassemblyStats {
    return this.reassembler.stats;
  }

  // ------------------------------------------------------------------ send

  /**
   * Sends one IPv6 packet to the link address `dst` (2 or 8 bytes), or to every node when
   * undefined (IPv6 multicast). `capacity`: how many frames the device takes now (undefined:
   * unknown); a datagram needing more is not sent at all (`txBusy`), never in part. Returns
   * false when nothing or not everything went out, or the packet could not be framed (counted).
   */
  send(packet: Uint8Array, dst: Uint8Array | undefined, transmit: (frame: Uint8Array) => boolean, capacity?: number): boolean {
    const broadcast = dst === undefined || isBroadcast2(dst);
    const final = broadcast ? BROADCAST2 : dst;
    let next = final;
    let prefix: Uint8Array | undefined;
    if (this.meshRoutes !== undefined) {
      if (!broadcast) next = this.meshRoutes(final) ?? final;
      if (broadcast || !equalBytes(next, final)) prefix = this.meshPrefix(final, broadcast);
    }
    let header: Uint8Array;
    let headerUncompressed: number;
    let rest: Uint8Array;
    const c = packet.length >= IPV6_HEADER_LEN ? compressIphc(packet, { src: this.ownSrc, dst: linkAddr(final), contexts: this.contexts }) : 'truncated';
    if (isFault(c)) {
      if (packet.length < IPV6_HEADER_LEN) {
        this.stats.malformed++;
        return false;
      }
      header = new Uint8Array(1 + IPV6_HEADER_LEN);
      header[0] = LOWPAN_DISPATCH_IPV6;
      header.set(packet.subarray(0, IPV6_HEADER_LEN), 1);
      headerUncompressed = IPV6_HEADER_LEN;
      rest = packet.subarray(IPV6_HEADER_LEN);
      this.stats.uncompressedOut++;
    } else {
      header = c.frame.subarray(0, c.headerLen);
      headerUncompressed = c.uncompressedHeaderLen;
      rest = c.frame.subarray(c.headerLen);
    }
    // A mesh frame is re-framed by every relay with its own addresses: leave room for the
    // largest MAC header (extended source and destination), so that no relay has to drop it.
    const room = MAX_FRAME - (prefix !== undefined ? MAX_DATA_HEADER : this.macHeaderLen(next));
    const tag = this.tag;
    const pieces = lowpanFragment({ compressedHeader: header, headerUncompressedLength: headerUncompressed, payload: rest, tag, room, ...(prefix !== undefined ? { prefix } : {}) });
    if (isFault(pieces)) {
      this.stats.malformed++;
      return false;
    }
    if (capacity !== undefined && pieces.length > capacity) {
      this.stats.txBusy++;
      return false;
    }
    this.stats.datagramsOut++;
    if (pieces.length > 1) {
      this.tag = (tag + 1) & 0xffff;
      this.stats.fragmentedOut++;
      this.stats.fragmentsOut += pieces.length;
    }
    let ok = true;
    for (const p of pieces) if (!this.frame(p, next, broadcast, transmit)) ok = false;
    return ok;
  }

  private meshPrefix(final: Uint8Array, broadcast: boolean): Uint8Array {
    const repr: LowpanMeshRepr = { hopsLeft: this.hopsLeft, originator: this.linkAddress, final };
    const len = lowpanMeshLen(repr);
    const out = new Uint8Array(len + (broadcast ? LOWPAN_BC0_LEN : 0));
    emitLowpanMesh(repr, out);
    if (broadcast) {
      emitLowpanBc0({ sequence: this.bcSeq }, out.subarray(len));
      this.bcSeq = (this.bcSeq + 1) & 0xff;
    }
    return out;
  }

  /** MAC header bytes of our data frames to `next`: frame control, sequence, PAN id, addresses. */
  private macHeaderLen(next: Uint8Array): number {
    return 3 + 2 + next.length + this.linkAddress.length;
  }

  /** Puts one LoWPAN payload into a data frame to `next` and hands it to the device. */
  private frame(payload: Uint8Array, next: Uint8Array, broadcast: boolean, transmit: (frame: Uint8Array) => boolean): boolean {
    const f = macFrame('data', {
      version: 0,
      ackRequest: !broadcast,
      panIdCompression: true,
      seq: this.seq,
      dst: { pan: this.identity.pan, addr: broadcast ? { mode: 'short', value: MAC_BROADCAST } : macAddr(next) },
      src: { pan: this.identity.pan, addr: macAddr(this.linkAddress) },
      payload,
    });
    if (this.macHeaderLen(broadcast ? BROADCAST2 : next) + payload.length > MAX_FRAME) {
      this.stats.tooLong++; // a relayed frame that our (longer) addresses would push past 125 bytes
      return false;
    }
    this.seq = (this.seq + 1) & 0xff;
    const len = emitMacFrame(f, this.frameBuf);
    this.stats.framesOut++;
    if (transmit(this.frameBuf.subarray(0, len))) return true;
    this.stats.framesRefused++;
    return false;
  }

  // ------------------------------------------------------------------ receive

  /** One received MAC frame (without FCS). Never throws for bad bytes: they are counted. */
  input(now: number, frame: Uint8Array, sink: LowpanInputSink): void {
    this.stats.framesIn++;
    const m = parseMacFrame(frame);
    if (isFault(m)) {
      this.stats.malformed++;
      return;
    }
    if (m.type !== 'data' || m.security !== undefined) {
      this.stats.unsupported++;
      return;
    }
    const srcAddr = m.src.addr;
    const dstAddr = m.dst.addr;
    if (srcAddr === undefined || dstAddr === undefined) {
      this.stats.notForUs++;
      return;
    }
    const linkSrc = addrBytes(srcAddr);
    const linkDst = addrBytes(dstAddr);
    const linkBroadcast = isBroadcast2(linkDst);
    if ((!linkBroadcast && !this.isOwn(linkDst)) || this.isOwn(linkSrc)) {
      this.stats.notForUs++;
      return;
    }
    // A retransmission whose first copy arrived (only the ACK was lost) repeats the sender's
    // sequence number: discard it, as an 802.15.4 receiver does (2006 §7.5.6.2).
    if (m.ackRequest && m.seq !== undefined) {
      const src = toHex(linkSrc);
      if (this.lastSeq.get(src) === m.seq) {
        this.stats.macDuplicates++;
        return;
      }
      this.lastSeq.delete(src);
      this.lastSeq.set(src, m.seq);
      if (this.lastSeq.size > 256) this.lastSeq.delete(this.lastSeq.keys().next().value as string);
    }
    const payload = m.payload;
    const h = walkLowpanHeaders(payload);
    if (isFault(h)) {
      if (h === 'unsupported') this.stats.unsupported++;
      else this.stats.malformed++;
      return;
    }
    let multicast = linkBroadcast;
    if (h.mesh !== undefined) {
      const { originator, final } = h.mesh;
      if (this.isOwn(originator)) {
        this.stats.meshHopLimit++; // our own frame came back
        return;
      }
      if (isBroadcast2(final)) {
        const seq = h.bc0?.sequence;
        if (seq !== undefined) {
          // One broadcast's fragments share its sequence number: each fragment is its own frame.
          const key = `${toHex(originator)}#${seq}#${h.frag === undefined ? '' : `${h.frag.tag}/${h.frag.first ? 0 : h.frag.offset}`}`;
          if (this.seenBefore(key, now)) {
            this.stats.meshDuplicates++;
            return;
          }
          this.remember(key, now);
        }
        this.relay(payload, BROADCAST2, true, sink);
        multicast = true;
      } else if (!this.isOwn(final)) {
        const next = this.meshRoutes?.(final) ?? final;
        this.relay(payload, next, false, sink);
        return;
      }
    }
    this.deliver(now, h, payload, linkSrc, linkDst, multicast, sink);
  }

  /** Sends a mesh frame on with one hop less (`payload` starts with its mesh header). */
  private relay(payload: Uint8Array, next: Uint8Array, broadcast: boolean, sink: LowpanInputSink): void {
    const copy = payload.slice();
    const hops = decrementLowpanMeshHops(copy);
    if (isFault(hops) || hops < 1) {
      this.stats.meshHopLimit++;
      return;
    }
    if (broadcast) this.stats.meshBroadcastsRelayed++;
    else this.stats.meshForwarded++;
    this.frame(copy, next, broadcast, (f) => sink.transmit(f));
  }

  private deliver(now: number, h: Exclude<ReturnType<typeof walkLowpanHeaders>, string>, payload: Uint8Array, linkSrc: Uint8Array, linkDst: Uint8Array, multicast: boolean, sink: LowpanInputSink): void {
    const src = h.mesh?.originator ?? linkSrc;
    const dst = h.mesh?.final ?? linkDst;
    if (h.frag !== undefined) {
      const r = this.reassembler.add(linkSrc, linkDst, h, payload, now);
      if (r === undefined) return;
      if (typeof r === 'string') {
        this.stats.fragmentsDropped++;
        return;
      }
      const key = this.checksumKey(src, dst, h.frag.size, h.frag.tag);
      const pending = this.pendingChecksums.get(key);
      if (pending !== undefined) {
        this.pendingChecksums.delete(key);
        fillUdpChecksumV6(r, pending.ipOffset, pending.udpOffset);
      }
      this.stats.datagramsIn++;
      sink.deliver(r, multicast);
      return;
    }
    const data = payload.subarray(h.offset);
    if (h.kind === 'ipv6') {
      this.stats.datagramsIn++;
      sink.deliver(data, multicast);
      return;
    }
    const d = decompressIphc(data, { src: linkAddr(src), dst: linkAddr(dst), contexts: this.contexts });
    if (isFault(d)) {
      this.stats.malformed++;
      return;
    }
    this.stats.datagramsIn++;
    sink.deliver(d.packet, multicast);
  }

  private decompressFirst(compressed: Uint8Array, ctx: LowpanDecompressContext): { header: Uint8Array; consumed: number } | 'malformed' {
    const d = decompressIphc(compressed, { src: linkAddr(ctx.src), dst: linkAddr(ctx.dst), contexts: this.contexts, datagramSize: ctx.datagramSize });
    if (isFault(d)) return 'malformed';
    if (d.udpChecksumPending !== undefined) {
      if (this.pendingChecksums.size >= 64) this.pendingChecksums.delete(this.pendingChecksums.keys().next().value as string);
      this.pendingChecksums.set(this.checksumKey(ctx.src, ctx.dst, ctx.datagramSize, ctx.tag), d.udpChecksumPending);
    }
    return { header: d.packet.subarray(0, d.headerLen), consumed: d.consumed };
  }

  private checksumKey(src: Uint8Array, dst: Uint8Array, size: number, tag: number): string {
    return `${toHex(src)}>${toHex(dst)}/${size}/${tag}`;
  }

  // ------------------------------------------------------------------ broadcast memory, timers

  private seenBefore(key: string, now: number): boolean {
    const until = this.seen.get(key);
    return until !== undefined && until > now;
  }

  private remember(key: string, now: number): void {
    this.seen.delete(key);
    this.seen.set(key, now + this.bcMemoryMs);
    if (this.seen.size > 256) this.seen.delete(this.seen.keys().next().value as string);
  }

  /** When something times out next (a reassembly), or undefined. */
  pollAt(): number | undefined {
    return this.reassembler.pollAt();
  }

  /** Expires reassemblies whose time is up and forgets old broadcasts. */
  poll(now: number): void {
    for (const e of this.reassembler.poll(now)) this.pendingChecksums.delete(this.checksumKey(e.src, e.dst, e.size, e.tag));
    for (const [k, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(k);
    }
  }
}
