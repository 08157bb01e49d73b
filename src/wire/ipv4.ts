/**
 * IPv4 header (RFC 791 §3.1), with the header checksum of RFC 1071.
 *
 * Validation (`checkIpv4`, in this order; a fault is returned, never thrown):
 * - fewer than 20 bytes → `'truncated'`;
 * - version ≠ 4 → `'malformed'`;
 * - IHL < 5, IHL × 4 beyond the buffer, total length < IHL × 4, or total length beyond the
 *   buffer → `'bad-length'`. A buffer *longer* than the total length is fine (Ethernet pads
 *   short frames to 60 bytes): the payload stops at the total length;
 * - options (IHL > 5) are checked structurally only — EOL (0) ends the list, NOP (1) is one
 *   byte, every other option's length byte must be ≥ 2 and keep the option inside the
 *   header — else `'malformed'`. Options are never interpreted: the Repr carries their raw
 *   bytes.
 * `parseIpv4` then verifies the header checksum (`'bad-checksum'`) unless `checksumOffload`
 * says the link did it.
 *
 * Not interpreted: the reserved flag bit (ignored on receive, sent as 0 — RFC 791 "must be
 * zero"), option semantics (source routes, record route, timestamps: carried as bytes).
 * Fragments parse like any datagram (`isFragment` tells them apart); reassembly is the
 * stack's job.
 *
 * Aliasing: `src`, `dst`, `options` in a parsed Repr and everything the view returns as
 * bytes are `subarray`s of the input — copy them (`slice()`) to keep them beyond the
 * buffer's lifetime. (Option-less headers share one empty `options` array.)
 */
import { rd16, rd8, wr16, wr8 } from './bytes.ts';
import { foldChecksum, onesSum } from './checksum.ts';
import type { WireFault } from './fault.ts';

/** Header without options (IHL 5). */
export const IPV4_HEADER_LEN = 20;
/** Largest header: IHL 15. */
export const IPV4_MAX_HEADER_LEN = 60;
/** Largest option area: 60 − 20. */
export const IPV4_MAX_OPTIONS_LEN = 40;
/** RFC 791 total length is 16 bits. */
export const IPV4_MAX_TOTAL_LEN = 0xffff;
/** RFC 791 §3.2 / RFC 1122 §3.3.2: every host must accept datagrams of 576 bytes. */
export const IPV4_MIN_REASSEMBLY_LEN = 576;
/** RFC 1700 / RFC 1122 §3.2.1.7: recommended default TTL (IANA "ip-parameters"). */
export const IPV4_DEFAULT_TTL = 64;

/** RFC 791 §3.1 field offsets. */
const F = {
  VER_IHL: 0, // version (4 bits) | IHL (4 bits, 32-bit words)
  DSCP_ECN: 1, // RFC 2474 DSCP (6 bits) | RFC 3168 ECN (2 bits)
  TOTAL_LEN: 2,
  IDENT: 4,
  FLAGS_FRAG: 6, // reserved | DF | MF | fragment offset (13 bits, 8-octet units)
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
} as const;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;

/** RFC 791 §3.1 option types with a fixed one-byte form. */
const OPT_EOL = 0;
const OPT_NOP = 1;

/** IANA "Assigned Internet Protocol Numbers" the stack handles. Others pass through. */
export const IpProtocol = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  IPV6_ICMP: 58,
} as const;

/** Validated meaning of an IPv4 header. */
export interface Ipv4Repr {
  /** RFC 2474 Differentiated Services codepoint (6 bits). */
  readonly dscp: number;
  /** RFC 3168 ECN field (2 bits). */
  readonly ecn: number;
  /** Identification (16 bits). */
  readonly ident: number;
  /** Don't Fragment. */
  readonly dontFrag: boolean;
  /** More Fragments. */
  readonly moreFrags: boolean;
  /** Fragment offset in **bytes** (the wire field × 8); emit drops the low 3 bits. */
  readonly fragOffset: number;
  readonly ttl: number;
  /** Upper-layer protocol number (`IpProtocol`, others pass through). */
  readonly protocol: number;
  /** Source address, 4 bytes. */
  readonly src: Uint8Array;
  /** Destination address, 4 bytes. */
  readonly dst: Uint8Array;
  /** Raw option bytes (empty without options; a multiple of 4 bytes when parsed). */
  readonly options: Uint8Array;
  /** Total length − header length. */
  readonly payloadLen: number;
}

/** The header length `emitIpv4` writes: 20 + options padded to a multiple of 4. */
export function ipv4HeaderLen(repr: Ipv4Repr): number {
  return IPV4_HEADER_LEN + ((repr.options.length + 3) & ~3);
}

/** True when `repr` is a fragment (MF set or a nonzero offset), i.e. needs reassembly. */
export function isFragment(repr: Ipv4Repr): boolean {
  return repr.moreFrags || repr.fragOffset !== 0;
}

/** Structural check of an options area `buf[start, end)` (RFC 791 §3.1 "Options"). */
function checkOptions(buf: Uint8Array, start: number, end: number): WireFault | undefined {
  let i = start;
  while (i < end) {
    const type = buf[i] as number;
    if (type === OPT_EOL) return undefined; // the rest is padding
    if (type === OPT_NOP) {
      i += 1;
      continue;
    }
    if (i + 1 >= end) return 'malformed'; // no room for the length byte
    const len = buf[i + 1] as number;
    if (len < 2 || i + len > end) return 'malformed';
    i += len;
  }
  return undefined;
}

/** Checks shared by full and quoted headers: size, version, IHL, total ≥ IHL, options. */
function checkHeader(buf: Uint8Array): WireFault | undefined {
  if (buf.length < IPV4_HEADER_LEN) return 'truncated';
  const verIhl = buf[F.VER_IHL] as number;
  if (verIhl >> 4 !== 4) return 'malformed';
  const hl = (verIhl & 0x0f) * 4;
  if (hl < IPV4_HEADER_LEN || hl > buf.length) return 'bad-length';
  if (rd16(buf, F.TOTAL_LEN) < hl) return 'bad-length';
  return hl > IPV4_HEADER_LEN ? checkOptions(buf, F.OPTIONS, hl) : undefined;
}

/**
 * Structure and length check of an IPv4 datagram (see the module doc for the order and
 * faults). The checksum is not verified here (`verifyIpv4Checksum`). After `undefined`,
 * no `Ipv4View` accessor reads outside `buf`.
 */
export function checkIpv4(buf: Uint8Array): WireFault | undefined {
  const fault = checkHeader(buf);
  if (fault !== undefined) return fault;
  return rd16(buf, F.TOTAL_LEN) > buf.length ? 'bad-length' : undefined;
}

/** True when the header checksum of a checked header verifies (sum over the header folds to 0xffff). */
export function verifyIpv4Checksum(buf: Uint8Array): boolean {
  return foldChecksum(onesSum(buf, 0, ((buf[0] ?? 0) & 0x0f) * 4)) === 0;
}

/** Shared `options` of option-less headers (saves a `subarray` per packet; zero-length, so nothing to mutate). */
const NO_OPTIONS = new Uint8Array(0);

function reprOf(buf: Uint8Array, hl: number): Ipv4Repr {
  const ff = rd16(buf, F.FLAGS_FRAG);
  const tos = buf[F.DSCP_ECN] as number;
  return {
    dscp: tos >> 2,
    ecn: tos & 0x03,
    ident: rd16(buf, F.IDENT),
    dontFrag: (ff & FLAG_DF) !== 0,
    moreFrags: (ff & FLAG_MF) !== 0,
    fragOffset: (ff & FRAG_OFFSET_MASK) * 8,
    ttl: buf[F.TTL] as number,
    protocol: buf[F.PROTOCOL] as number,
    src: buf.subarray(F.SRC, F.SRC + 4),
    dst: buf.subarray(F.DST, F.DST + 4),
    options: hl === IPV4_HEADER_LEN ? NO_OPTIONS : buf.subarray(F.OPTIONS, hl),
    payloadLen: rd16(buf, F.TOTAL_LEN) - hl,
  };
}

/**
 * Parses an IPv4 datagram: `checkIpv4`, then the header checksum (skipped when
 * `checksumOffload` is true: the link verified it). Addresses and options alias `buf`;
 * the payload is `ipv4Payload(buf)`.
 */
export function parseIpv4(buf: Uint8Array, checksumOffload = false): Ipv4Repr | WireFault {
  return validateIpv4(buf, checksumOffload) ?? reprOf(buf, ((buf[F.VER_IHL] as number) & 0x0f) * 4);
}

/**
 * The checks of `parseIpv4` without building a representation (receive hot path: read
 * the fields through an `Ipv4View` afterwards): `checkIpv4`, then the header checksum
 * unless `checksumOffload`.
 */
export function validateIpv4(buf: Uint8Array, checksumOffload = false): WireFault | undefined {
  const fault = checkIpv4(buf);
  if (fault !== undefined) return fault;
  return checksumOffload || verifyIpv4Checksum(buf) ? undefined : 'bad-checksum';
}

/**
 * Parses the IPv4 header quoted in an ICMP error (RFC 792: "Internet Header + 64 bits of
 * Original Data Datagram"). The quote is a prefix of the original datagram, so the total
 * length may exceed `buf` and the checksum is not verified (NATs rewrite quoted addresses
 * without fixing it). Still required: version 4, a sane IHL inside `buf`, structurally
 * valid options. `payloadLen` is the original's (from its total length); the quoted
 * transport bytes are `buf.subarray(ipv4HeaderLen(repr))`, at most what was quoted.
 */
export function parseIpv4Quoted(buf: Uint8Array): Ipv4Repr | WireFault {
  const fault = checkHeader(buf);
  if (fault !== undefined) return fault;
  return reprOf(buf, ((buf[F.VER_IHL] as number) & 0x0f) * 4);
}

/** Payload of a checked datagram: from the end of the header to the total length (aliases `buf`; Ethernet padding excluded). */
export function ipv4Payload(buf: Uint8Array): Uint8Array {
  return buf.subarray(((buf[F.VER_IHL] ?? 0) & 0x0f) * 4, rd16(buf, F.TOTAL_LEN));
}

/**
 * Writes exactly `ipv4HeaderLen(repr)` bytes at the start of `out`, checksum included;
 * the payload is the caller's. Options are copied and zero-padded (EOL) to a multiple of
 * 4. Field values are masked to their widths. Throws RangeError only on a caller bug:
 * `out` too small, options longer than 40 bytes, addresses not 4 bytes, or a total length
 * above 65535.
 */
export function emitIpv4(repr: Ipv4Repr, out: Uint8Array): void {
  const hl = ipv4HeaderLen(repr);
  if (repr.options.length > IPV4_MAX_OPTIONS_LEN) throw new RangeError('emitIpv4: options longer than 40 bytes');
  if (out.length < hl) throw new RangeError('emitIpv4: buffer too small');
  if (repr.src.length !== 4 || repr.dst.length !== 4) throw new RangeError('emitIpv4: address must be 4 bytes');
  const total = hl + repr.payloadLen;
  if (repr.payloadLen < 0 || total > IPV4_MAX_TOTAL_LEN) throw new RangeError('emitIpv4: total length out of range');
  wr8(out, F.VER_IHL, 0x40 | (hl >> 2));
  wr8(out, F.DSCP_ECN, ((repr.dscp & 0x3f) << 2) | (repr.ecn & 0x03));
  wr16(out, F.TOTAL_LEN, total);
  wr16(out, F.IDENT, repr.ident);
  wr16(
    out,
    F.FLAGS_FRAG,
    (repr.dontFrag ? FLAG_DF : 0) | (repr.moreFrags ? FLAG_MF : 0) | ((repr.fragOffset >>> 3) & FRAG_OFFSET_MASK),
  );
  wr8(out, F.TTL, repr.ttl);
  wr8(out, F.PROTOCOL, repr.protocol);
  wr16(out, F.CHECKSUM, 0);
  // Byte stores: cheaper than `set` for 4 bytes.
  const { src, dst } = repr;
  out[F.SRC] = src[0] as number;
  out[F.SRC + 1] = src[1] as number;
  out[F.SRC + 2] = src[2] as number;
  out[F.SRC + 3] = src[3] as number;
  out[F.DST] = dst[0] as number;
  out[F.DST + 1] = dst[1] as number;
  out[F.DST + 2] = dst[2] as number;
  out[F.DST + 3] = dst[3] as number;
  if (hl > IPV4_HEADER_LEN) {
    out.set(repr.options, F.OPTIONS);
    out.fill(OPT_EOL, F.OPTIONS + repr.options.length, hl);
  }
  wr16(out, F.CHECKSUM, foldChecksum(onesSum(out, 0, hl)));
}

/**
 * Zero-copy field access over an IPv4 header at `offset` (for forwarding, in-place edits
 * and fast demultiplexing). Call `checkIpv4` on untrusted bytes first; afterwards no
 * getter reads out of range. Setters do not update the checksum: call `fillChecksum()`
 * or use `checksumAdjust`.
 */
export class Ipv4View {
  readonly buf: Uint8Array;
  readonly offset: number;
  constructor(buf: Uint8Array, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }
  get version(): number {
    return rd8(this.buf, this.offset + F.VER_IHL) >> 4;
  }
  /** Header length in bytes (IHL × 4). */
  get headerLen(): number {
    return (rd8(this.buf, this.offset + F.VER_IHL) & 0x0f) * 4;
  }
  get dscp(): number {
    return rd8(this.buf, this.offset + F.DSCP_ECN) >> 2;
  }
  get ecn(): number {
    return rd8(this.buf, this.offset + F.DSCP_ECN) & 0x03;
  }
  get totalLen(): number {
    return rd16(this.buf, this.offset + F.TOTAL_LEN);
  }
  set totalLen(v: number) {
    wr16(this.buf, this.offset + F.TOTAL_LEN, v);
  }
  get ident(): number {
    return rd16(this.buf, this.offset + F.IDENT);
  }
  set ident(v: number) {
    wr16(this.buf, this.offset + F.IDENT, v);
  }
  get dontFrag(): boolean {
    return (rd16(this.buf, this.offset + F.FLAGS_FRAG) & FLAG_DF) !== 0;
  }
  get moreFrags(): boolean {
    return (rd16(this.buf, this.offset + F.FLAGS_FRAG) & FLAG_MF) !== 0;
  }
  /** Fragment offset in bytes. */
  get fragOffset(): number {
    return (rd16(this.buf, this.offset + F.FLAGS_FRAG) & FRAG_OFFSET_MASK) * 8;
  }
  get ttl(): number {
    return rd8(this.buf, this.offset + F.TTL);
  }
  set ttl(v: number) {
    wr8(this.buf, this.offset + F.TTL, v);
  }
  get protocol(): number {
    return rd8(this.buf, this.offset + F.PROTOCOL);
  }
  get checksum(): number {
    return rd16(this.buf, this.offset + F.CHECKSUM);
  }
  set checksum(v: number) {
    wr16(this.buf, this.offset + F.CHECKSUM, v);
  }
  /** Source address (aliases the buffer). */
  get src(): Uint8Array {
    return this.buf.subarray(this.offset + F.SRC, this.offset + F.SRC + 4);
  }
  /** Destination address (aliases the buffer). */
  get dst(): Uint8Array {
    return this.buf.subarray(this.offset + F.DST, this.offset + F.DST + 4);
  }
  /** Raw options (aliases the buffer). */
  get options(): Uint8Array {
    return this.buf.subarray(this.offset + F.OPTIONS, this.offset + this.headerLen);
  }
  /** Header end to total length (aliases the buffer). */
  get payload(): Uint8Array {
    return this.buf.subarray(this.offset + this.headerLen, this.offset + this.totalLen);
  }
  /** True when the header checksum verifies. */
  verifyChecksum(): boolean {
    return foldChecksum(onesSum(this.buf, this.offset, this.offset + this.headerLen)) === 0;
  }
  /** Recomputes the header checksum in place. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = foldChecksum(onesSum(this.buf, this.offset, this.offset + this.headerLen));
  }
}
