/**
 * IPv6 header (RFC 8200 §3) and extension-header walking (RFC 8200 §4).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |Version| Traffic Class |           Flow Label                  |
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * |                 Source Address (16 bytes)                     |
 * |              Destination Address (16 bytes)                   |
 * ```
 *
 * Validation (`checkIpv6`, in this order; a fault is returned, never thrown):
 * - fewer than 40 bytes → `'truncated'`;
 * - version ≠ 6 → `'malformed'`;
 * - 40 + payload length beyond the buffer → `'bad-length'`. A *longer* buffer is fine
 *   (Ethernet pads short frames): the packet stops at 40 + payload length.
 * `validateIpv6` adds the receive rule of RFC 4291 §2.7 (a multicast source address is
 * `'malformed'`). There is no header checksum. Jumbograms (RFC 2675, payload length 0 with a
 * Jumbo Payload option) are not supported: the Jumbo option is an unrecognized option to
 * `walkIpv6Extensions`.
 *
 * Extension headers are not part of `Ipv6Repr`: `walkIpv6Extensions` walks the chain of a
 * received packet without allocating (see `Ipv6ExtWalk` for what it reports and decides),
 * and `emitIpv6ExtHeader` / `parseIpv6ExtHeader` build and read single headers.
 *
 * Aliasing: `src` and `dst` of a parsed Repr and the view's byte getters are `subarray`s of
 * the input — copy them (`slice()`) to keep them beyond the buffer's lifetime.
 */
import { rd16, rd32, rd8, wr16, wr32, wr8 } from './bytes.ts';
import type { WireFault } from './fault.ts';

/** The fixed header. */
export const IPV6_HEADER_LEN = 40;
/** RFC 8200 §5: every link has an MTU of at least 1280 bytes. */
export const IPV6_MIN_MTU = 1280;
/** RFC 8200 §5: a node must reassemble packets of at least 1500 bytes. */
export const IPV6_MIN_REASSEMBLY_LEN = 1500;
/** IANA "ip-parameters" / RFC 4861 §6.3.2 `CurHopLimit` default. */
export const IPV6_DEFAULT_HOP_LIMIT = 64;
/** Payload length is 16 bits (jumbograms unsupported). */
export const IPV6_MAX_PAYLOAD_LEN = 0xffff;
/** Fragment header length (RFC 8200 §4.5). */
export const IPV6_FRAGMENT_HEADER_LEN = 8;

/**
 * Bounds of `walkIpv6Extensions` (RFC 8504 §5.3 lets hosts limit the chain). A chain beyond
 * them is dropped (`'unsupported'`), so a hostile chain costs at most a few hundred steps.
 */
export const IPV6_MAX_EXT_HEADERS = 8;
/** Total bytes of extension headers walked. */
export const IPV6_MAX_EXT_CHAIN_LEN = 2048;
/** Options other than padding in one Hop-by-Hop or Destination Options header (Linux's default, 8). */
export const IPV6_MAX_EXT_OPTIONS = 8;
/** Longest run of padding (Pad1/PadN bytes) in an options header: 7 (RFC 4942 §2.1.9.5, as Linux enforces). */
export const IPV6_MAX_PAD_RUN = 7;

/** RFC 8200 §3 field offsets. */
const F = {
  VER_TC_FL: 0, // version (4) | traffic class (8) | flow label (20)
  PAYLOAD_LEN: 4,
  NEXT_HEADER: 6,
  HOP_LIMIT: 7,
  SRC: 8,
  DST: 24,
} as const;

/** IANA "Assigned Internet Protocol Numbers" used as IPv6 Next Header values. */
export const Ipv6NextHeader = {
  HOP_BY_HOP: 0,
  TCP: 6,
  UDP: 17,
  /** IPv6-in-IPv6 encapsulation (RFC 2473). */
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NO_NEXT_HEADER: 59,
  DEST_OPTIONS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140,
} as const;

/** Option types of Hop-by-Hop and Destination Options headers (IANA "Destination Options and Hop-by-Hop Options"). */
export const Ipv6OptionType = {
  PAD1: 0x00,
  PADN: 0x01,
  /** RFC 2473 §5.1 (Destination Options). */
  TUNNEL_ENCAP_LIMIT: 0x04,
  /** RFC 2711 (Hop-by-Hop): value 0 = the packet carries MLD. */
  ROUTER_ALERT: 0x05,
  /** RFC 2675 (unsupported here). */
  JUMBO_PAYLOAD: 0xc2,
  /** RFC 6275 (Destination Options). */
  HOME_ADDRESS: 0xc9,
} as const;

/**
 * The two high bits of an option type (RFC 8200 §4.2): what a node that does not recognize
 * the option must do.
 */
export const Ipv6OptionAction = {
  /** 00: skip the option and continue. */
  SKIP: 0,
  /** 01: discard the packet. */
  DISCARD: 1,
  /** 10: discard and send ICMPv6 Parameter Problem code 2 pointing at the option type. */
  DISCARD_ICMP: 2,
  /** 11: as 10, but only when the destination is not multicast. */
  DISCARD_ICMP_UNLESS_MULTICAST: 3,
} as const;

/** ICMPv6 Parameter Problem codes (RFC 4443 §3.4; 3 from RFC 7112). */
export const Ipv6ParamProblemCode = {
  ERRONEOUS_HEADER_FIELD: 0,
  UNRECOGNIZED_NEXT_HEADER: 1,
  UNRECOGNIZED_OPTION: 2,
  INCOMPLETE_HEADER_CHAIN: 3,
} as const;

/** Validated meaning of an IPv6 fixed header. */
export interface Ipv6Repr {
  /** RFC 2474 Differentiated Services codepoint: the high 6 bits of the traffic class. */
  readonly dscp: number;
  /** RFC 3168 ECN: the low 2 bits of the traffic class. */
  readonly ecn: number;
  /** 20-bit flow label (RFC 6437). */
  readonly flowLabel: number;
  /** Bytes after the 40-byte header (extension headers included). */
  readonly payloadLen: number;
  /** First Next Header value: an extension header or the upper-layer protocol. */
  readonly nextHeader: number;
  readonly hopLimit: number;
  /** Source address, 16 bytes. */
  readonly src: Uint8Array;
  /** Destination address, 16 bytes. */
  readonly dst: Uint8Array;
}

/** Always `IPV6_HEADER_LEN` (40): what `emitIpv6` writes. */
export function ipv6HeaderLen(_repr?: Ipv6Repr): number {
  return IPV6_HEADER_LEN;
}

/**
 * Structure and length check (see the module doc). After `undefined`, no `Ipv6View`
 * accessor reads outside `buf`.
 */
export function checkIpv6(buf: Uint8Array): WireFault | undefined {
  if (buf.length < IPV6_HEADER_LEN) return 'truncated';
  if ((buf[F.VER_TC_FL] as number) >> 4 !== 6) return 'malformed';
  return IPV6_HEADER_LEN + rd16(buf, F.PAYLOAD_LEN) > buf.length ? 'bad-length' : undefined;
}

/**
 * The receive-path check without building a representation (read the fields through an
 * `Ipv6View` afterwards): `checkIpv6`, then a multicast source address (RFC 4291 §2.7:
 * "must not be used as source addresses") is `'malformed'`.
 */
export function validateIpv6(buf: Uint8Array): WireFault | undefined {
  const fault = checkIpv6(buf);
  if (fault !== undefined) return fault;
  return buf[F.SRC] === 0xff ? 'malformed' : undefined;
}

function reprOf(buf: Uint8Array): Ipv6Repr {
  const w = rd32(buf, F.VER_TC_FL);
  const tc = (w >>> 20) & 0xff;
  return {
    dscp: tc >> 2,
    ecn: tc & 0x03,
    flowLabel: w & 0xfffff,
    payloadLen: rd16(buf, F.PAYLOAD_LEN),
    nextHeader: buf[F.NEXT_HEADER] as number,
    hopLimit: buf[F.HOP_LIMIT] as number,
    src: buf.subarray(F.SRC, F.SRC + 16),
    dst: buf.subarray(F.DST, F.DST + 16),
  };
}

/** Parses an IPv6 packet's fixed header (`validateIpv6`). Addresses alias `buf`; the payload is `ipv6Payload(buf)`. */
export function parseIpv6(buf: Uint8Array): Ipv6Repr | WireFault {
  return validateIpv6(buf) ?? reprOf(buf);
}

/**
 * Parses the IPv6 header quoted in an ICMPv6 error (RFC 4443 §2.4 (c): as much of the
 * invoking packet as fits), so the payload length may exceed `buf`. Still required: 40
 * bytes and version 6. `payloadLen` is the original's; the quoted rest is
 * `buf.subarray(40)`.
 */
export function parseIpv6Quoted(buf: Uint8Array): Ipv6Repr | WireFault {
  if (buf.length < IPV6_HEADER_LEN) return 'truncated';
  if ((buf[F.VER_TC_FL] as number) >> 4 !== 6) return 'malformed';
  return reprOf(buf);
}

/** Payload of a checked packet: bytes 40 .. 40 + payload length (aliases `buf`; link padding excluded). */
export function ipv6Payload(buf: Uint8Array): Uint8Array {
  return buf.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + rd16(buf, F.PAYLOAD_LEN));
}

/** Copies 16 bytes without `set` (cheaper for short runs). */
function put16(out: Uint8Array, o: number, a: Uint8Array): void {
  for (let i = 0; i < 16; i++) out[o + i] = a[i] as number;
}

/**
 * Writes exactly 40 bytes at the start of `out`; the payload is the caller's. Field values
 * are masked to their widths. Throws RangeError only on a caller bug: `out` shorter than
 * 40, addresses not 16 bytes, a payload length outside 0..65535.
 */
export function emitIpv6(repr: Ipv6Repr, out: Uint8Array): void {
  if (out.length < IPV6_HEADER_LEN) throw new RangeError('emitIpv6: buffer too small');
  if (repr.src.length !== 16 || repr.dst.length !== 16) throw new RangeError('emitIpv6: address must be 16 bytes');
  if (!(repr.payloadLen >= 0 && repr.payloadLen <= IPV6_MAX_PAYLOAD_LEN)) throw new RangeError('emitIpv6: payload length out of range');
  const tc = ((repr.dscp & 0x3f) << 2) | (repr.ecn & 0x03);
  wr32(out, F.VER_TC_FL, (0x60000000 | (tc << 20) | (repr.flowLabel & 0xfffff)) >>> 0);
  wr16(out, F.PAYLOAD_LEN, repr.payloadLen);
  wr8(out, F.NEXT_HEADER, repr.nextHeader);
  wr8(out, F.HOP_LIMIT, repr.hopLimit);
  put16(out, F.SRC, repr.src);
  put16(out, F.DST, repr.dst);
}

/**
 * Zero-copy field access over an IPv6 header at `offset`. Call `checkIpv6` on untrusted
 * bytes first; afterwards no getter reads out of range.
 */
export class Ipv6View {
  readonly buf: Uint8Array;
  readonly offset: number;
  constructor(buf: Uint8Array, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }
  get version(): number {
    return rd8(this.buf, this.offset + F.VER_TC_FL) >> 4;
  }
  /** The whole 8-bit traffic class (DSCP << 2 | ECN). */
  get trafficClass(): number {
    return (rd16(this.buf, this.offset + F.VER_TC_FL) >> 4) & 0xff;
  }
  set trafficClass(v: number) {
    const o = this.offset + F.VER_TC_FL;
    wr16(this.buf, o, 0x6000 | ((v & 0xff) << 4) | (rd8(this.buf, o + 1) & 0x0f));
  }
  get dscp(): number {
    return this.trafficClass >> 2;
  }
  get ecn(): number {
    return this.trafficClass & 0x03;
  }
  get flowLabel(): number {
    return rd32(this.buf, this.offset + F.VER_TC_FL) & 0xfffff;
  }
  get payloadLen(): number {
    return rd16(this.buf, this.offset + F.PAYLOAD_LEN);
  }
  set payloadLen(v: number) {
    wr16(this.buf, this.offset + F.PAYLOAD_LEN, v);
  }
  get nextHeader(): number {
    return rd8(this.buf, this.offset + F.NEXT_HEADER);
  }
  set nextHeader(v: number) {
    wr8(this.buf, this.offset + F.NEXT_HEADER, v);
  }
  get hopLimit(): number {
    return rd8(this.buf, this.offset + F.HOP_LIMIT);
  }
  set hopLimit(v: number) {
    wr8(this.buf, this.offset + F.HOP_LIMIT, v);
  }
  /** Source address (aliases the buffer). */
  get src(): Uint8Array {
    return this.buf.subarray(this.offset + F.SRC, this.offset + F.SRC + 16);
  }
  /** Destination address (aliases the buffer). */
  get dst(): Uint8Array {
    return this.buf.subarray(this.offset + F.DST, this.offset + F.DST + 16);
  }
  /** True when the destination is multicast (ff00::/8), without a subarray. */
  get dstIsMulticast(): boolean {
    return rd8(this.buf, this.offset + F.DST) === 0xff;
  }
  /** Header end to 40 + payload length (aliases the buffer; extension headers included). */
  get payload(): Uint8Array {
    return this.buf.subarray(this.offset + IPV6_HEADER_LEN, this.offset + IPV6_HEADER_LEN + this.payloadLen);
  }
}

// ---- extension headers -------------------------------------------------------------

/** True for the Next Header values IANA lists as IPv6 extension headers (RFC 7045 §2; 253/254 experimental). */
export function isIpv6ExtensionHeader(nextHeader: number): boolean {
  switch (nextHeader) {
    case 0: case 43: case 44: case 50: case 51: case 60: case 135: case 139: case 140: case 253: case 254:
      return true;
  }
  return false;
}

/**
 * What to do with a packet after `walkIpv6Extensions`:
 * - `'ok'`: deliver `upperOffset..end` to `upperProtocol` (59 = No Next Header: nothing to
 *   deliver; an unknown protocol: answer Parameter Problem code 1 at `upperPointer`);
 * - `'fragment'`: a fragment (offset ≠ 0 or M set); the fields `frag*` describe it; the
 *   fragmentable part starts at `upperOffset` (reassemble, then walk the result again);
 * - `'drop'`: discard silently (`fault` tells why);
 * - `'param-problem'`: discard and answer ICMPv6 Parameter Problem `problemCode` at
 *   `problemPointer` (subject to RFC 4443 §2.4 (e) and the error rate limit).
 */
export type Ipv6WalkVerdict = 'ok' | 'fragment' | 'drop' | 'param-problem';

/**
 * Result of `walkIpv6Extensions`, reused across calls (pass the same object each time: no
 * allocation on the receive path). All offsets count from the first byte of the IPv6 header,
 * as ICMPv6 Parameter Problem pointers do (RFC 4443 §3.4).
 */
export class Ipv6ExtWalk {
  verdict: Ipv6WalkVerdict = 'ok';
  /**
   * Why a `'drop'` or `'param-problem'`: `'truncated'` (a header past the end), `'bad-length'`
   * (payload length beyond the buffer; fragment lengths), `'malformed'` (encoding, misplaced
   * Hop-by-Hop), `'unsupported'` (limits, unrecognized options, a routing header to process).
   */
  fault: WireFault | undefined = undefined;
  /** Next Header value after the last header walked: the upper-layer protocol (for `'fragment'`: the fragment header's). */
  upperProtocol = 0;
  /** Start of the upper-layer header (for `'fragment'`: of the fragment data). */
  upperOffset = IPV6_HEADER_LEN;
  /** Offset of the byte holding `upperProtocol`: the Parameter Problem code 1 pointer when the protocol is unknown. */
  upperPointer = 6;
  /** End of the packet, 40 + payload length. */
  end = IPV6_HEADER_LEN;
  /** Extension headers walked. */
  headerCount = 0;
  /** Parameter Problem code (`Ipv6ParamProblemCode`), when the verdict is `'param-problem'`; else −1. */
  problemCode = -1;
  /** Parameter Problem pointer, when the verdict is `'param-problem'`; else −1. */
  problemPointer = -1;
  /** The unrecognized option that decided a `'drop'`/`'param-problem'` (−1 when none), its action (`Ipv6OptionAction`) and offset. */
  optionType = -1;
  optionAction = -1;
  optionOffset = -1;
  /** Router Alert value from the Hop-by-Hop header (RFC 2711; 0 = MLD), −1 when absent. */
  routerAlert = -1;
  /** Offset of the Routing header (−1 when none), its type and Segments Left. */
  routingOffset = -1;
  routingType = -1;
  segmentsLeft = 0;
  /** Offset of the Fragment header (−1 when none). */
  fragHeaderOffset = -1;
  /** Offset of the Next Header field that names the Fragment header (patched to `upperProtocol` when reassembling). */
  fragNextHeaderField = -1;
  /** Fragment offset in bytes. */
  fragOffset = 0;
  /** M flag. */
  moreFrags = false;
  /** Fragment identification (32 bits). */
  fragIdent = 0;
  /** An atomic fragment (RFC 6946: offset 0, M clear): walked on and delivered as a whole packet. */
  atomicFragment = false;

  reset(): void {
    this.verdict = 'ok';
    this.fault = undefined;
    this.upperProtocol = 0;
    this.upperOffset = IPV6_HEADER_LEN;
    this.upperPointer = 6;
    this.end = IPV6_HEADER_LEN;
    this.headerCount = 0;
    this.problemCode = -1;
    this.problemPointer = -1;
    this.optionType = -1;
    this.optionAction = -1;
    this.optionOffset = -1;
    this.routerAlert = -1;
    this.routingOffset = -1;
    this.routingType = -1;
    this.segmentsLeft = 0;
    this.fragHeaderOffset = -1;
    this.fragNextHeaderField = -1;
    this.fragOffset = 0;
    this.moreFrags = false;
    this.fragIdent = 0;
    this.atomicFragment = false;
  }

  /** True when there is a Fragment header (atomic or not). */
  get hasFragment(): boolean {
    return this.fragHeaderOffset >= 0;
  }
}

function drop(w: Ipv6ExtWalk, fault: WireFault): Ipv6ExtWalk {
  w.verdict = 'drop';
  w.fault = fault;
  return w;
}

function problem(w: Ipv6ExtWalk, code: number, pointer: number, fault: WireFault): Ipv6ExtWalk {
  w.verdict = 'param-problem';
  w.fault = fault;
  w.problemCode = code;
  w.problemPointer = pointer;
  return w;
}

/**
 * Walks the TLV options of a Hop-by-Hop (`hbh`) or Destination Options header, bytes
 * `[start, hdrEnd)`. Returns true to go on; false when `w` holds a verdict.
 * Recognized: Pad1, PadN (contents must be zero, RFC 4942 §2.1.9.5; padding runs ≤ 7), and
 * Router Alert in Hop-by-Hop (length 2). Anything else is unrecognized and handled by its
 * two high bits (RFC 8200 §4.2).
 */
function walkOptions(buf: Uint8Array, start: number, hdrEnd: number, hbh: boolean, w: Ipv6ExtWalk): boolean {
  let i = start;
  let pad = 0;
  let count = 0;
  while (i < hdrEnd) {
    const type = buf[i] as number;
    if (type === Ipv6OptionType.PAD1) {
      if (++pad > IPV6_MAX_PAD_RUN) return !drop(w, 'malformed');
      i += 1;
      continue;
    }
    if (i + 2 > hdrEnd) return !drop(w, 'malformed');
    const len = buf[i + 1] as number;
    const next = i + 2 + len;
    if (next > hdrEnd) return !drop(w, 'malformed');
    if (type === Ipv6OptionType.PADN) {
      pad += 2 + len;
      if (pad > IPV6_MAX_PAD_RUN) return !drop(w, 'malformed');
      for (let j = i + 2; j < next; j++) if (buf[j] !== 0) return !drop(w, 'malformed');
      i = next;
      continue;
    }
    pad = 0;
    if (++count > IPV6_MAX_EXT_OPTIONS) return !drop(w, 'unsupported');
    if (hbh && type === Ipv6OptionType.ROUTER_ALERT) {
      if (len !== 2) return !drop(w, 'malformed'); // RFC 2711 §2.1: length 2
      w.routerAlert = rd16(buf, i + 2);
    } else {
      const action = type >> 6;
      if (action !== Ipv6OptionAction.SKIP) {
        w.optionType = type;
        w.optionAction = action;
        w.optionOffset = i;
        if (action === Ipv6OptionAction.DISCARD) return !drop(w, 'unsupported');
        if (action === Ipv6OptionAction.DISCARD_ICMP_UNLESS_MULTICAST && buf[F.DST] === 0xff) return !drop(w, 'unsupported');
        return !problem(w, Ipv6ParamProblemCode.UNRECOGNIZED_OPTION, i, 'unsupported');
      }
    }
    i = next;
  }
  return true;
}

/**
 * Walks the extension-header chain of the IPv6 packet in `buf` (fixed header at `buf[0]`;
 * run `checkIpv6` first — on unchecked bytes the walk is still total and drops), writing the
 * outcome into `out` (reset first; a fresh `Ipv6ExtWalk` when omitted) and returning it.
 * Host rules (RFC 8200 §4):
 * - Hop-by-Hop only directly after the fixed header; a Next Header of 0 anywhere else →
 *   Parameter Problem code 1 at that Next Header field (§4.1);
 * - options: see `walkOptions` (unrecognized: 00 skip, 01 drop, 10 Parameter Problem code
 *   2 at the option type, 11 the same unless the destination is multicast, then drop);
 * - Routing header: Segments Left 0 → ignored (any type, also the deprecated type 0 of
 *   RFC 5095); otherwise this host processes no routing type → Parameter Problem code 0 at
 *   the Routing Type field (§4.4; RFC 5095 §3 for type 0);
 * - Fragment header (§4.5): M set with a fragment data length not a multiple of 8 →
 *   Parameter Problem code 0 at the Payload Length field (4); offset + data length beyond
 *   65535 → code 0 at the Fragment Offset field; a real fragment stops the walk
 *   (`'fragment'`); an atomic fragment (offset 0, M clear, RFC 6946) is walked on;
 * - any other Next Header ends the walk (`'ok'`): TCP, UDP, ICMPv6, No Next Header, and
 *   also the extension headers this host does not process (ESP, AH, Mobility, HIP, Shim6,
 *   experimental): the stack answers those as unknown protocols (code 1 at `upperPointer`);
 * - a header running past the packet end → `'drop'` (`'truncated'`); bad option encoding or
 *   padding → `'drop'` (`'malformed'`); more than `IPV6_MAX_EXT_HEADERS` headers,
 *   `IPV6_MAX_EXT_CHAIN_LEN` bytes or `IPV6_MAX_EXT_OPTIONS` options in one header →
 *   `'drop'` (`'unsupported'`).
 */
export function walkIpv6Extensions(buf: Uint8Array, out: Ipv6ExtWalk = new Ipv6ExtWalk()): Ipv6ExtWalk {
  const w = out;
  w.reset();
  if (buf.length < IPV6_HEADER_LEN) return drop(w, 'truncated');
  const end = IPV6_HEADER_LEN + rd16(buf, F.PAYLOAD_LEN);
  if (end > buf.length) return drop(w, 'bad-length');
  w.end = end;
  let nh = buf[F.NEXT_HEADER] as number;
  let nhField: number = F.NEXT_HEADER;
  let off = IPV6_HEADER_LEN;
  for (;;) {
    switch (nh) {
      case Ipv6NextHeader.HOP_BY_HOP:
      case Ipv6NextHeader.DEST_OPTIONS:
      case Ipv6NextHeader.ROUTING:
      case Ipv6NextHeader.FRAGMENT:
        break;
      default:
        w.upperProtocol = nh;
        w.upperOffset = off;
        w.upperPointer = nhField;
        return w;
    }
    if (nh === Ipv6NextHeader.HOP_BY_HOP && nhField !== F.NEXT_HEADER) {
      return problem(w, Ipv6ParamProblemCode.UNRECOGNIZED_NEXT_HEADER, nhField, 'malformed');
    }
    if (w.headerCount >= IPV6_MAX_EXT_HEADERS) return drop(w, 'unsupported');
    if (off + 2 > end) return drop(w, 'truncated');
    const len = nh === Ipv6NextHeader.FRAGMENT ? IPV6_FRAGMENT_HEADER_LEN : ((buf[off + 1] as number) + 1) * 8;
    if (off + len > end) return drop(w, 'truncated');
    if (off + len - IPV6_HEADER_LEN > IPV6_MAX_EXT_CHAIN_LEN) return drop(w, 'unsupported');
    w.headerCount++;
    if (nh === Ipv6NextHeader.ROUTING) {
      w.routingOffset = off;
      w.routingType = buf[off + 2] as number;
      w.segmentsLeft = buf[off + 3] as number;
      if (w.segmentsLeft !== 0) return problem(w, Ipv6ParamProblemCode.ERRONEOUS_HEADER_FIELD, off + 2, 'unsupported');
    } else if (nh === Ipv6NextHeader.FRAGMENT) {
      const fo = rd16(buf, off + 2);
      w.fragHeaderOffset = off;
      w.fragNextHeaderField = nhField;
      w.fragOffset = fo & 0xfff8;
      w.moreFrags = (fo & 1) !== 0;
      w.fragIdent = rd32(buf, off + 4);
      const dataLen = end - off - IPV6_FRAGMENT_HEADER_LEN;
      if (w.moreFrags && dataLen % 8 !== 0) return problem(w, Ipv6ParamProblemCode.ERRONEOUS_HEADER_FIELD, F.PAYLOAD_LEN, 'bad-length');
      if (w.fragOffset + dataLen > IPV6_MAX_PAYLOAD_LEN) return problem(w, Ipv6ParamProblemCode.ERRONEOUS_HEADER_FIELD, off + 2, 'bad-length');
      if (w.fragOffset !== 0 || w.moreFrags) {
        w.verdict = 'fragment';
        w.upperProtocol = buf[off] as number;
        w.upperOffset = off + IPV6_FRAGMENT_HEADER_LEN;
        w.upperPointer = off;
        return w;
      }
      w.atomicFragment = true;
    } else if (!walkOptions(buf, off + 2, off + len, nh === Ipv6NextHeader.HOP_BY_HOP, w)) {
      return w;
    }
    nhField = off;
    nh = buf[off] as number;
    off += len;
  }
}

// ---- single extension headers: representation, emit, parse -------------------------

/** One TLV option (never Pad1/PadN on parse: padding is dropped). */
export interface Ipv6Option {
  readonly type: number;
  /** At most 255 bytes. */
  readonly data: Uint8Array;
}

/** An extension header without its Next Header field (that is the chain's business). */
export type Ipv6ExtHeaderRepr =
  | { readonly kind: 'hop-by-hop' | 'dest-options'; readonly options: readonly Ipv6Option[] }
  /** `data`: the type-specific bytes after Segments Left (emit pads them with zeros to a multiple of 8 bytes overall). */
  | { readonly kind: 'routing'; readonly routingType: number; readonly segmentsLeft: number; readonly data: Uint8Array }
  /** `fragOffset` in bytes (a multiple of 8; emit drops the low 3 bits). */
  | { readonly kind: 'fragment'; readonly fragOffset: number; readonly moreFrags: boolean; readonly ident: number };

/** Next Header value naming a header of this kind. */
export function ipv6ExtHeaderType(repr: Ipv6ExtHeaderRepr): number {
  switch (repr.kind) {
    case 'hop-by-hop': return Ipv6NextHeader.HOP_BY_HOP;
    case 'dest-options': return Ipv6NextHeader.DEST_OPTIONS;
    case 'routing': return Ipv6NextHeader.ROUTING;
    case 'fragment': return Ipv6NextHeader.FRAGMENT;
  }
}

function optionsLen(options: readonly Ipv6Option[]): number {
  let n = 2;
  for (const o of options) n += o.type === Ipv6OptionType.PAD1 ? 1 : 2 + o.data.length;
  return n;
}

/** Bytes `emitIpv6ExtHeader` writes: a multiple of 8. */
export function ipv6ExtHeaderLen(repr: Ipv6ExtHeaderRepr): number {
  switch (repr.kind) {
    case 'fragment': return IPV6_FRAGMENT_HEADER_LEN;
    case 'routing': return (4 + repr.data.length + 7) & ~7;
    default: return (optionsLen(repr.options) + 7) & ~7;
  }
}

/**
 * Writes one extension header at `out[offset]` with `nextHeader` as its Next Header and
 * returns its length (`ipv6ExtHeaderLen`). Options are written in order (Pad1 as one byte,
 * every other type as type, length, data), then padded to a multiple of 8 with Pad1 or one
 * PadN of zeros; a Routing header's data is zero-padded. Throws RangeError only on a caller
 * bug: no room, an option longer than 255 bytes, a header longer than 2048 bytes.
 */
export function emitIpv6ExtHeader(repr: Ipv6ExtHeaderRepr, nextHeader: number, out: Uint8Array, offset = 0): number {
  const len = ipv6ExtHeaderLen(repr);
  if (len > 2048) throw new RangeError('emitIpv6ExtHeader: header longer than 2048 bytes');
  if (offset < 0 || offset + len > out.length) throw new RangeError('emitIpv6ExtHeader: buffer too small');
  wr8(out, offset, nextHeader);
  if (repr.kind === 'fragment') {
    wr8(out, offset + 1, 0);
    wr16(out, offset + 2, (repr.fragOffset & 0xfff8) | (repr.moreFrags ? 1 : 0));
    wr32(out, offset + 4, repr.ident >>> 0);
    return len;
  }
  wr8(out, offset + 1, len / 8 - 1);
  if (repr.kind === 'routing') {
    wr8(out, offset + 2, repr.routingType);
    wr8(out, offset + 3, repr.segmentsLeft);
    out.set(repr.data, offset + 4);
    out.fill(0, offset + 4 + repr.data.length, offset + len);
    return len;
  }
  let i = offset + 2;
  for (const o of repr.options) {
    if (o.type === Ipv6OptionType.PAD1) {
      out[i++] = 0;
      continue;
    }
    if (o.data.length > 255) throw new RangeError('emitIpv6ExtHeader: option longer than 255 bytes');
    out[i] = o.type & 0xff;
    out[i + 1] = o.data.length;
    out.set(o.data, i + 2);
    i += 2 + o.data.length;
  }
  const pad = offset + len - i;
  if (pad === 1) out[i] = Ipv6OptionType.PAD1;
  else if (pad >= 2) {
    out[i] = Ipv6OptionType.PADN;
    out[i + 1] = pad - 2;
    out.fill(0, i + 2, i + pad);
  }
  return len;
}

/** A parsed extension header: its meaning, its Next Header, and its length in bytes. */
export interface Ipv6ExtHeaderParsed {
  readonly repr: Ipv6ExtHeaderRepr;
  readonly nextHeader: number;
  readonly length: number;
}

/**
 * Parses the extension header of type `type` (Next Header value 0, 43, 44 or 60) at
 * `buf[offset]`, up to `end` (default: the buffer's end). For diagnostics, tests and
 * building replies; the receive path uses `walkIpv6Extensions`. Allocates; option data and
 * routing data alias `buf`. Faults: another type → `'unsupported'`; running past `end` →
 * `'truncated'`; an option running past the header → `'malformed'` (padding is skipped,
 * not judged: the walker does that).
 */
export function parseIpv6ExtHeader(type: number, buf: Uint8Array, offset: number, end: number = buf.length): Ipv6ExtHeaderParsed | WireFault {
  if (end > buf.length) end = buf.length;
  if (type !== 0 && type !== 43 && type !== 44 && type !== 60) return 'unsupported';
  if (offset < 0 || offset + 2 > end) return 'truncated';
  const nextHeader = buf[offset] as number;
  if (type === Ipv6NextHeader.FRAGMENT) {
    if (offset + 8 > end) return 'truncated';
    const fo = rd16(buf, offset + 2);
    return { repr: { kind: 'fragment', fragOffset: fo & 0xfff8, moreFrags: (fo & 1) !== 0, ident: rd32(buf, offset + 4) }, nextHeader, length: 8 };
  }
  const length = ((buf[offset + 1] as number) + 1) * 8;
  if (offset + length > end) return 'truncated';
  if (type === Ipv6NextHeader.ROUTING) {
    return {
      repr: { kind: 'routing', routingType: buf[offset + 2] as number, segmentsLeft: buf[offset + 3] as number, data: buf.subarray(offset + 4, offset + length) },
      nextHeader,
      length,
    };
  }
  const options: Ipv6Option[] = [];
  const hdrEnd = offset + length;
  let i = offset + 2;
  while (i < hdrEnd) {
    const t = buf[i] as number;
    if (t === Ipv6OptionType.PAD1) {
      i++;
      continue;
    }
    if (i + 2 > hdrEnd) return 'malformed';
    const next = i + 2 + (buf[i + 1] as number);
    if (next > hdrEnd) return 'malformed';
    if (t !== Ipv6OptionType.PADN) options.push({ type: t, data: buf.subarray(i + 2, next) });
    i = next;
  }
  return { repr: { kind: type === 0 ? 'hop-by-hop' : 'dest-options', options }, nextHeader, length };
}

/**
 * The 8-byte Hop-by-Hop header with a Router Alert option (RFC 2711) that MLD messages
 * carry (RFC 2710 §3, RFC 3810 §5): `nh 00 05 02 vv vv 01 00`. Writes at `out[offset]`,
 * returns 8. Value 0 = MLD.
 */
export function emitRouterAlertHopByHop(nextHeader: number, out: Uint8Array, offset = 0, value = 0): number {
  if (offset < 0 || offset + 8 > out.length) throw new RangeError('emitRouterAlertHopByHop: buffer too small');
  out[offset] = nextHeader & 0xff;
  out[offset + 1] = 0;
  out[offset + 2] = Ipv6OptionType.ROUTER_ALERT;
  out[offset + 3] = 2;
  wr16(out, offset + 4, value);
  out[offset + 6] = Ipv6OptionType.PADN;
  out[offset + 7] = 0;
  return 8;
}

// ---- well-known addresses ----------------------------------------------------------

/** ff02::1, all nodes (RFC 4291 §2.7.1). Do not mutate. */
export const IPV6_ALL_NODES: Uint8Array = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
/** ff02::2, all routers (RFC 4291 §2.7.1). Do not mutate. */
export const IPV6_ALL_ROUTERS: Uint8Array = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);
/** ff02::16, all MLDv2-capable routers (RFC 3810 §5.2.14). Do not mutate. */
export const IPV6_ALL_MLDV2_ROUTERS: Uint8Array = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16);
