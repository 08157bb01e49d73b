/**
 * LOWPAN_IPHC (RFC 6282 §3): IPv6 header compression for IEEE 802.15.4, with the LOWPAN_NHC
 * chain of §4 (extension headers, IPv6-in-IPv6, UDP; see nhc-ext.ts, nhc-udp.ts).
 *
 * ```text
 *   0   1   2   3   4   5   6   7   8   9  10  11  12  13  14  15
 * | 0 | 1 | 1 |  TF   |NH | HLIM  |CID|SAC|  SAM  | M |DAC|  DAM  |
 * ```
 * then inline, in this order: the CID extension byte (SCI << 4 | DCI) when CID = 1, the
 * traffic class and flow label (TF 00: ECN DSCP rsv(4) FL(20), 4 bytes; 01: ECN rsv(2) FL, 3
 * bytes; 10: ECN DSCP, 1 byte; 11: all elided), Next Header (NH = 0), Hop Limit (HLIM 00;
 * 01/10/11 = 1/64/255), source, destination (iphc-address.ts), then the LOWPAN_NHC headers
 * when NH = 1, then the rest of the packet unchanged.
 *
 * The compressor always picks the shortest encoding of every field. It compresses the next
 * headers while it can: Hop-by-Hop, Routing, Fragment, Destination Options and Mobility
 * headers (not what follows a Fragment header: that is no whole upper-layer header), an
 * encapsulated IPv6 header, and UDP when its length field matches the packet (the checksum is
 * elided only with `elideUdpChecksum`). Anything else stays inline.
 *
 * The decompressor rebuilds every length: the IPv6 payload lengths and the UDP length come
 * from the datagram size — the caller passes the uncompressed size when it knows it (from a
 * FRAG1 header), else it is the rebuilt headers plus the bytes after the compressed ones. An
 * elided UDP checksum is recomputed (§4.3.2) when the whole datagram is present; for a first
 * fragment the result says where, to be filled after reassembly (`fillUdpChecksumV6`).
 * Nothing throws on input: faults are `WireFault`s (`'truncated'`, `'bad-length'` for a
 * datagram size that does not fit, `'malformed'` for reserved encodings and a wrong dispatch,
 * `'unsupported'` for an unknown context or NHC and chains deeper than `IPHC_MAX_CHAIN`).
 * Pseudo-header caveat: with a Routing header whose Segments Left is not 0 the recomputed
 * checksum uses the IPv6 destination, not the final one.
 */
import { rd16, rd32, wr16 } from '../bytes.ts';
import type { WireFault } from '../fault.ts';
import { IPV6_HEADER_LEN, IPV6_MAX_PAYLOAD_LEN, Ipv6NextHeader } from '../ipv6.ts';
import { UDP_HEADER_LEN } from '../udp.ts';
import {
  iphcAddrCandidates,
  iphcAddrDecode,
  iphcAddrInline,
  iphcAddrInlineLen,
  iphcChooseAddrs,
  lowpanLinkIid,
  type IphcAddrMode,
  type LowpanContextTable,
  type LowpanLinkAddr,
} from './iphc-address.ts';
import { canCompressExt, compressNhcExt, decompressNhcExt, extHeaderLen, isNhcExt, NHC_EXT_ID, NhcEid } from './nhc-ext.ts';
import { compressNhcUdp, decompressNhcUdp, fillUdpChecksumV6, isNhcUdp } from './nhc-udp.ts';

export type { LowpanContext, LowpanContextTable, LowpanLinkAddr } from './iphc-address.ts';

/** Dispatch `011xxxxx`: mask and value of the first byte. */
export const IPHC_DISPATCH_MASK = 0xe0;
export const IPHC_DISPATCH = 0x60;
/** Most LOWPAN_NHC headers (an encapsulated IPv6 header counts as one) a packet may chain; the compressor leaves the rest inline. */
export const IPHC_MAX_CHAIN = 8;

/** True when a 6LoWPAN header byte is the LOWPAN_IPHC dispatch. */
export function isIphcDispatch(b: number): boolean {
  return (b & IPHC_DISPATCH_MASK) === IPHC_DISPATCH;
}

export interface IphcCompressOptions {
  /** Link-layer source and destination (the IIDs of fully elided addresses). */
  readonly src: LowpanLinkAddr;
  readonly dst: LowpanLinkAddr;
  /** Contexts 0..15 for stateful compression (default none). */
  readonly contexts?: LowpanContextTable | undefined;
  /** The upper layer authorizes eliding UDP checksums (RFC 6282 §4.3.2; default false: kept). */
  readonly elideUdpChecksum?: boolean;
  /** Compress next headers with LOWPAN_NHC (default true). */
  readonly nhc?: boolean;
}

export interface IphcCompressed {
  /** IPHC and NHC headers, then the rest of the packet. */
  readonly frame: Uint8Array;
  /** Bytes of `frame` that are compressed headers. */
  readonly headerLen: number;
  /** Bytes of the packet those headers stand for (the payload starts there in both). */
  readonly uncompressedHeaderLen: number;
}

export interface IphcDecompressOptions {
  readonly src: LowpanLinkAddr;
  readonly dst: LowpanLinkAddr;
  readonly contexts?: LowpanContextTable | undefined;
  /** Size of the uncompressed datagram when known (RFC 4944 FRAG1 `datagram_size`). */
  readonly datagramSize?: number | undefined;
}

export interface IphcDecompressed {
  /** The rebuilt headers followed by the bytes after the compressed ones (all of the datagram, or its first fragment). */
  readonly packet: Uint8Array;
  /** Compressed bytes read from the input (IPHC and NHC headers). */
  readonly consumed: number;
  /** Bytes of rebuilt headers at the start of `packet`. */
  readonly headerLen: number;
  /** Set when a UDP checksum was elided but the datagram is incomplete: fill it with `fillUdpChecksumV6` once reassembled. */
  readonly udpChecksumPending?: { readonly ipOffset: number; readonly udpOffset: number };
}

// ---- compression ---------------------------------------------------------------------

interface Compressor {
  readonly pkt: Uint8Array;
  readonly end: number;
  readonly contexts: LowpanContextTable;
  readonly elideUdp: boolean;
  readonly nhc: boolean;
  readonly out: number[];
  depth: number;
}

/** Whether the header of kind `nh` at `at` can go as LOWPAN_NHC. */
function nhcable(c: Compressor, nh: number, at: number): boolean {
  if (!c.nhc || c.depth >= IPHC_MAX_CHAIN) return false;
  const rest = c.end - at;
  if (nh === Ipv6NextHeader.UDP) return rest >= UDP_HEADER_LEN && rd16(c.pkt, at + 4) === rest;
  if (nh === Ipv6NextHeader.IPV6) return rest >= IPV6_HEADER_LEN && (c.pkt[at] as number) >> 4 === 6 && IPV6_HEADER_LEN + rd16(c.pkt, at + 4) === rest;
  return canCompressExt(nh, c.pkt, at, c.end);
}

/** Compresses the header of kind `nh` at `at` (`nhcable`) and the ones after it; returns where the inline rest starts. */
function compressNext(c: Compressor, nh: number, at: number, ip: number): number {
  c.depth++;
  if (nh === Ipv6NextHeader.UDP) {
    compressNhcUdp(c.pkt.subarray(at), c.elideUdp, c.out);
    return at + UDP_HEADER_LEN;
  }
  if (nh === Ipv6NextHeader.IPV6) {
    c.out.push(NHC_EXT_ID | (NhcEid.IPV6 << 1));
    return compressIpv6(c, at, c.pkt.slice(ip + 16, ip + 24), c.pkt.slice(ip + 32, ip + 40));
  }
  const len = extHeaderLen(nh, c.pkt, at, c.end);
  const next = c.pkt[at] as number;
  const more = nh !== Ipv6NextHeader.FRAGMENT && nhcable(c, next, at + len);
  compressNhcExt(nh, c.pkt, at, more, c.out);
  return more ? compressNext(c, next, at + len, ip) : at + len;
}

function compressIpv6(c: Compressor, ip: number, srcIid: Uint8Array, dstIid: Uint8Array): number {
  const p = c.pkt;
  const w = rd32(p, ip);
  const tc = (w >>> 20) & 0xff;
  const ecn = tc & 3;
  const dscp = tc >> 2;
  const fl = w & 0xfffff;
  const nh = p[ip + 6] as number;
  const hl = p[ip + 7] as number;
  const src = p.subarray(ip + 8, ip + 24);
  const dst = p.subarray(ip + 24, ip + 40);
  const tf = fl === 0 ? (dscp === 0 && ecn === 0 ? 3 : 2) : dscp === 0 ? 1 : 0;
  const compressNh = nhcable(c, nh, ip + IPV6_HEADER_LEN);
  const hlim = hl === 1 ? 1 : hl === 64 ? 2 : hl === 255 ? 3 : 0;
  const a = iphcChooseAddrs(iphcAddrCandidates(src, true, srcIid, c.contexts), iphcAddrCandidates(dst, false, dstIid, c.contexts));
  const o = c.out;
  o.push(IPHC_DISPATCH | (tf << 3) | (compressNh ? 4 : 0) | hlim);
  o.push((a.cidByte ? 0x80 : 0) | (a.src.ctx ? 0x40 : 0) | (a.src.mode << 4) | (a.dst.multicast ? 8 : 0) | (a.dst.ctx ? 4 : 0) | a.dst.mode);
  if (a.cidByte) o.push((a.src.cid << 4) | a.dst.cid);
  switch (tf) {
    case 0: o.push((ecn << 6) | dscp, fl >> 16, (fl >> 8) & 0xff, fl & 0xff); break;
    case 1: o.push((ecn << 6) | (fl >> 16), (fl >> 8) & 0xff, fl & 0xff); break;
    case 2: o.push((ecn << 6) | dscp); break;
  }
  if (!compressNh) o.push(nh);
  if (hlim === 0) o.push(hl);
  for (const b of iphcAddrInline(a.src, src)) o.push(b);
  for (const b of iphcAddrInline(a.dst, dst)) o.push(b);
  return compressNh ? compressNext(c, nh, ip + IPV6_HEADER_LEN, ip) : ip + IPV6_HEADER_LEN;
}

/**
 * Compresses the IPv6 packet `packet` (the header at `packet[0]`; bytes beyond 40 + payload
 * length are ignored) for the link from `opts.src` to `opts.dst`. Faults: shorter than 40
 * bytes `'truncated'`, not version 6 `'malformed'`, a payload length beyond the buffer
 * `'bad-length'`, an extended link address not 8 bytes `'unsupported'`.
 */
export function compressIphc(packet: Uint8Array, opts: IphcCompressOptions): IphcCompressed | WireFault {
  if (packet.length < IPV6_HEADER_LEN) return 'truncated';
  if ((packet[0] as number) >> 4 !== 6) return 'malformed';
  const end = IPV6_HEADER_LEN + rd16(packet, 4);
  if (end > packet.length) return 'bad-length';
  const srcIid = lowpanLinkIid(opts.src);
  const dstIid = lowpanLinkIid(opts.dst);
  if (srcIid === undefined || dstIid === undefined) return 'unsupported';
  const c: Compressor = { pkt: packet, end, contexts: opts.contexts ?? [], elideUdp: opts.elideUdpChecksum === true, nhc: opts.nhc !== false, out: [], depth: 0 };
  const rest = compressIpv6(c, 0, srcIid, dstIid);
  const frame = new Uint8Array(c.out.length + end - rest);
  frame.set(c.out, 0);
  frame.set(packet.subarray(rest, end), c.out.length);
  return { frame, headerLen: c.out.length, uncompressedHeaderLen: rest };
}

// ---- decompression -------------------------------------------------------------------

interface Decompressor {
  readonly buf: Uint8Array;
  readonly contexts: LowpanContextTable;
  /** Rebuilt header bytes. */
  readonly parts: Uint8Array[];
  len: number;
  /** Offsets of the rebuilt IPv6 headers (payload lengths to fill). */
  readonly ips: number[];
  /** The UDP header: its offset, its IPv6 header's, whether the checksum is to compute. */
  udp: { udpOffset: number; ipOffset: number; elided: boolean } | undefined;
  depth: number;
}

function put(d: Decompressor, bytes: Uint8Array): number {
  const at = d.len;
  d.parts.push(bytes);
  d.len += bytes.length;
  return at;
}

/** Decodes the NHC header at `at` and those after it; returns the position after them and its protocol number. */
function decodeNext(d: Decompressor, at: number, ipHeader: Uint8Array, ipOffset: number): { next: number; protocol: number } | WireFault {
  if (++d.depth > IPHC_MAX_CHAIN) return 'unsupported';
  if (at >= d.buf.length) return 'truncated';
  const b = d.buf[at] as number;
  if (isNhcUdp(b)) {
    const u = decompressNhcUdp(d.buf, at);
    if (typeof u === 'string') return u;
    d.udp = { udpOffset: put(d, u.header), ipOffset, elided: u.checksumElided };
    return { next: u.next, protocol: Ipv6NextHeader.UDP };
  }
  if (!isNhcExt(b)) return 'unsupported';
  if (((b >> 1) & 7) === NhcEid.IPV6) {
    const next = decodeIpv6(d, at + 1, ipHeader.subarray(16, 24), ipHeader.subarray(32, 40));
    return typeof next === 'string' ? next : { next, protocol: Ipv6NextHeader.IPV6 };
  }
  const e = decompressNhcExt(d.buf, at);
  if (typeof e === 'string') return e;
  put(d, e.header);
  if (!e.nextCompressed) return { next: e.next, protocol: e.protocol };
  const r = decodeNext(d, e.next, ipHeader, ipOffset);
  if (typeof r === 'string') return r;
  e.header[0] = r.protocol;
  return { next: r.next, protocol: e.protocol };
}

/** Decodes the IPHC header at `at`; returns the position after it and its NHC headers. */
function decodeIpv6(d: Decompressor, at: number, srcIid: Uint8Array, dstIid: Uint8Array): number | WireFault {
  const buf = d.buf;
  if (at >= buf.length) return 'truncated';
  const b0 = buf[at] as number;
  if (!isIphcDispatch(b0)) return 'malformed';
  if (at + 2 > buf.length) return 'truncated';
  const b1 = buf[at + 1] as number;
  const tf = (b0 >> 3) & 3;
  const compressedNh = (b0 & 4) !== 0;
  const hlim = b0 & 3;
  let i = at + 2;
  let cids = 0;
  if (b1 & 0x80) {
    if (i >= buf.length) return 'truncated';
    cids = buf[i++] as number;
  }
  const sm: IphcAddrMode = { mode: (b1 >> 4) & 3, ctx: (b1 & 0x40) !== 0, cid: cids >> 4, multicast: false };
  const dm: IphcAddrMode = { mode: b1 & 3, ctx: (b1 & 4) !== 0, cid: cids & 0xf, multicast: (b1 & 8) !== 0 };
  const sLen = iphcAddrInlineLen(sm);
  const dLen = iphcAddrInlineLen(dm);
  if (dLen < 0 || (dm.ctx && !dm.multicast && dm.mode === 0)) return 'malformed';
  const need = ([4, 3, 1, 0][tf] as number) + (compressedNh ? 0 : 1) + (hlim === 0 ? 1 : 0) + sLen + dLen;
  if (i + need > buf.length) return 'truncated';
  let ecn = 0;
  let dscp = 0;
  let fl = 0;
  if (tf !== 3) {
    const t = buf[i] as number;
    ecn = t >> 6;
    if (tf === 0 || tf === 2) dscp = t & 0x3f;
    if (tf === 0) fl = (((buf[i + 1] as number) & 0xf) << 16) | ((buf[i + 2] as number) << 8) | (buf[i + 3] as number);
    if (tf === 1) fl = ((t & 0xf) << 16) | ((buf[i + 1] as number) << 8) | (buf[i + 2] as number);
    i += [4, 3, 1][tf] as number;
  }
  const nh = compressedNh ? 0 : (buf[i++] as number);
  const hl = hlim === 0 ? (buf[i++] as number) : ([0, 1, 64, 255][hlim] as number);
  const src = iphcAddrDecode(sm, buf, i, srcIid, d.contexts);
  if (typeof src === 'string') return src;
  i += sLen;
  const dst = iphcAddrDecode(dm, buf, i, dstIid, d.contexts);
  if (typeof dst === 'string') return dst;
  i += dLen;
  const h = new Uint8Array(IPV6_HEADER_LEN);
  const tc = (dscp << 2) | ecn;
  h[0] = 0x60 | (tc >> 4);
  h[1] = ((tc & 0xf) << 4) | (fl >> 16);
  wr16(h, 2, fl & 0xffff);
  h[6] = nh;
  h[7] = hl;
  h.set(src, 8);
  h.set(dst, 24);
  const ipOffset = put(d, h);
  d.ips.push(ipOffset);
  if (!compressedNh) return i;
  const r = decodeNext(d, i, h, ipOffset);
  if (typeof r === 'string') return r;
  h[6] = r.protocol;
  return r.next;
}

/**
 * Decompresses the LOWPAN_IPHC packet at `buf[0]` (the dispatch byte) received from
 * `opts.src` to `opts.dst`. See the module doc for lengths, checksums and faults.
 */
export function decompressIphc(buf: Uint8Array, opts: IphcDecompressOptions): IphcDecompressed | WireFault {
  const srcIid = lowpanLinkIid(opts.src);
  const dstIid = lowpanLinkIid(opts.dst);
  if (srcIid === undefined || dstIid === undefined) return 'unsupported';
  const d: Decompressor = { buf, contexts: opts.contexts ?? [], parts: [], len: 0, ips: [], udp: undefined, depth: 0 };
  const consumed = decodeIpv6(d, 0, srcIid, dstIid);
  if (typeof consumed === 'string') return consumed;
  const headerLen = d.len;
  const rest = buf.length - consumed;
  const total = opts.datagramSize ?? headerLen + rest;
  if (!Number.isInteger(total) || headerLen + rest > total || total - IPV6_HEADER_LEN > IPV6_MAX_PAYLOAD_LEN) return 'bad-length';
  const packet = new Uint8Array(headerLen + rest);
  let o = 0;
  for (const part of d.parts) {
    packet.set(part, o);
    o += part.length;
  }
  packet.set(buf.subarray(consumed), headerLen);
  for (const ip of d.ips) wr16(packet, ip + 4, total - ip - IPV6_HEADER_LEN);
  const u = d.udp;
  if (u === undefined) return { packet, consumed, headerLen };
  wr16(packet, u.udpOffset + 4, total - u.udpOffset);
  if (!u.elided) return { packet, consumed, headerLen };
  if (packet.length === total) {
    fillUdpChecksumV6(packet, u.ipOffset, u.udpOffset);
    return { packet, consumed, headerLen };
  }
  return { packet, consumed, headerLen, udpChecksumPending: { ipOffset: u.ipOffset, udpOffset: u.udpOffset } };
}
