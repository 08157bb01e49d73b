/**
 * ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861, options from RFC 8106) messages.
 *
 * Every message starts with type (1), code (1) and checksum (2); the checksum covers the
 * IPv6 pseudo-header (RFC 8200 §8.1, Next Header 58) and the whole message, so parse and
 * emit take the packet's source and destination addresses. `buf` is always exactly one
 * message (the upper-layer bytes of the packet, up to its payload end).
 *
 * Decoded kinds (`Icmpv6Repr.kind`):
 * - errors (RFC 4443 §3): `'dest-unreachable'` (1, code), `'packet-too-big'` (2, MTU; the
 *   code is ignored on receive and sent as 0), `'time-exceeded'` (3, code),
 *   `'parameter-problem'` (4, code and pointer); `data` is the invoking packet;
 * - `'echo-request'` (128) / `'echo-reply'` (129) with code 0: identifier, sequence, data;
 * - ND (RFC 4861 §4): `'router-solicit'` (133), `'router-advert'` (134), `'neighbor-solicit'`
 *   (135), `'neighbor-advert'` (136), `'redirect'` (137), each with its options
 *   (`NdOptions`);
 * - `'other'`: every other type (MLD 130-132 and 143 included: see `mld.ts`) and echo with
 *   a nonzero code: type, code, the raw 32-bit rest of header, data.
 *
 * Faults (`checkIcmpv6`, then the checksum): fewer than 8 bytes → `'truncated'`; for ND
 * messages (RFC 4861 §6.1, §7.1, §8.1 — the checks that need no IP field): a nonzero code →
 * `'malformed'`, shorter than the fixed part → `'truncated'`, an option of length 0 (§4.6)
 * or running past the message → `'malformed'`, a known option of impossible length (link
 * address, prefix ≠ 4, MTU ≠ 1, RDNSS < 3 or even, DNSSL < 2 or a bad name) → `'malformed'`,
 * a multicast NS/NA target or Redirect destination → `'malformed'`. Unknown options are
 * skipped (kept in `NdOptions.unknown`). Then `'bad-checksum'` unless `checksumOffload`.
 * The IP-level ND rules (hop limit 255, link-local router source, DAD form) are
 * `checkNdIpFields`.
 *
 * Aliasing: `data`, `target`, addresses and option bytes in a parsed Repr are `subarray`s of
 * the message (DNSSL names are strings).
 */
import { isLinkLocal, isSolicitedNodeMulticast, isUnspecified } from '../base/ip-address.ts';
import { latin1Text, rd16, rd32, rd8, wr16, wr32, wr8 } from './bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from './checksum.ts';
import type { WireFault } from './fault.ts';
import { IPV6_HEADER_LEN, IPV6_MIN_MTU, Ipv6ExtWalk, Ipv6NextHeader, Ipv6ParamProblemCode, walkIpv6Extensions } from './ipv6.ts';

export { Ipv6ParamProblemCode as Icmpv6ParamProblem };

/** Type, code, checksum and the 4-byte rest of header. */
export const ICMPV6_HEADER_LEN = 8;
/** RFC 4443 §2.4 (c): an error carries as much of the invoking packet as fits in the minimum MTU. */
export const ICMPV6_ERROR_MAX_QUOTE = IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMPV6_HEADER_LEN;
/** RFC 4861 §6.1.1 etc.: ND messages are accepted only with IP hop limit 255. */
export const ND_HOP_LIMIT = 255;
/** IP protocol number (Next Header) of ICMPv6. */
export const ICMPV6_PROTOCOL = Ipv6NextHeader.ICMPV6;

/** ICMPv6 message types (IANA "ICMPv6 Parameters"). Others pass through. */
export const Icmpv6Type = {
  DEST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  MLD_QUERY: 130,
  MLD_REPORT: 131,
  MLD_DONE: 132,
  ROUTER_SOLICIT: 133,
  ROUTER_ADVERT: 134,
  NEIGHBOR_SOLICIT: 135,
  NEIGHBOR_ADVERT: 136,
  REDIRECT: 137,
  MLDV2_REPORT: 143,
} as const;

/** Destination unreachable codes (RFC 4443 §3.1; 7 from RFC 6554, 8 from RFC 8883). */
export const Icmpv6Unreachable = {
  NO_ROUTE: 0,
  ADMIN_PROHIBITED: 1,
  BEYOND_SCOPE: 2,
  ADDRESS: 3,
  PORT: 4,
  SOURCE_POLICY: 5,
  REJECT_ROUTE: 6,
  SOURCE_ROUTING_HEADER: 7,
  HEADERS_TOO_LONG: 8,
} as const;

/** Time exceeded codes (RFC 4443 §3.3). */
export const Icmpv6TimeExceeded = { HOP_LIMIT: 0, REASSEMBLY: 1 } as const;

/** ND option types (RFC 4861 §4.6, RFC 8106). */
export const NdOptionType = {
  SOURCE_LINK_ADDR: 1,
  TARGET_LINK_ADDR: 2,
  PREFIX_INFO: 3,
  REDIRECTED_HEADER: 4,
  MTU: 5,
  RDNSS: 25,
  DNSSL: 31,
} as const;

/** RFC 4191 §2.2 Default Router Preference (RA flags bits 3-4); 2 is reserved (receivers treat it as medium). */
export const RouterPreference = { MEDIUM: 0, HIGH: 1, RESERVED: 2, LOW: 3 } as const;

/** RFC 4861 §4.6.2 Prefix Information. */
export interface NdPrefixInfo {
  readonly prefixLen: number;
  /** L: on-link. */
  readonly onLink: boolean;
  /** A: usable for SLAAC (RFC 4862). */
  readonly autonomous: boolean;
  /** Seconds; 0xffffffff = infinity. */
  readonly validLifetime: number;
  readonly preferredLifetime: number;
  /** 16 bytes. */
  readonly prefix: Uint8Array;
}

/** RFC 8106 §5.1 Recursive DNS Server option. */
export interface NdRdnss {
  /** Seconds; 0xffffffff = infinity, 0 = stop using. */
  readonly lifetime: number;
  /** 16-byte addresses, at least one. */
  readonly servers: readonly Uint8Array[];
}

/** RFC 8106 §5.2 DNS Search List option. */
export interface NdDnssl {
  readonly lifetime: number;
  /** Domain names without the trailing dot (`lan.test`), one character per label byte. */
  readonly domains: readonly string[];
}

/** An option this codec does not interpret: type and the bytes after the length byte. */
export interface NdRawOption {
  readonly type: number;
  readonly data: Uint8Array;
}

/**
 * Options of an ND message. Present keys only; link-layer address, MTU and redirected header
 * keep their first instance (later duplicates are ignored, as Linux does), the lists keep
 * every instance in order.
 */
export interface NdOptions {
  /** Option 1: the data after type and length (6 bytes on Ethernet; len × 8 − 2 in general). */
  readonly sourceLinkAddr?: Uint8Array;
  /** Option 2, as option 1. */
  readonly targetLinkAddr?: Uint8Array;
  /** Option 5. */
  readonly mtu?: number;
  /** Option 3. */
  readonly prefixes?: readonly NdPrefixInfo[];
  /** Option 25. */
  readonly rdnss?: readonly NdRdnss[];
  /** Option 31. */
  readonly dnssl?: readonly NdDnssl[];
  /** Option 4: the bytes after its 8-byte head (the start of the redirected packet, zero-padded to 8 bytes). */
  readonly redirectedHeader?: Uint8Array;
  /** Every other option, in order. */
  readonly unknown?: readonly NdRawOption[];
}

/** Options of a message without any. Do not mutate. */
export const NO_ND_OPTIONS: NdOptions = Object.freeze({});

/** Validated meaning of an ICMPv6 message. */
export type Icmpv6Repr =
  | { readonly kind: 'dest-unreachable'; readonly code: number; readonly data: Uint8Array }
  | { readonly kind: 'packet-too-big'; readonly mtu: number; readonly data: Uint8Array }
  | { readonly kind: 'time-exceeded'; readonly code: number; readonly data: Uint8Array }
  | { readonly kind: 'parameter-problem'; readonly code: number; readonly pointer: number; readonly data: Uint8Array }
  | { readonly kind: 'echo-request' | 'echo-reply'; readonly ident: number; readonly seq: number; readonly data: Uint8Array }
  | { readonly kind: 'router-solicit'; readonly options: NdOptions }
  | {
      readonly kind: 'router-advert';
      /** Cur Hop Limit (0 = unspecified). */
      readonly hopLimit: number;
      /** M: addresses via DHCPv6. */
      readonly managed: boolean;
      /** O: other configuration via DHCPv6. */
      readonly other: boolean;
      /** RFC 4191 (`RouterPreference`). */
      readonly routerPreference: number;
      /** Seconds; 0 = not a default router. */
      readonly routerLifetime: number;
      /** Milliseconds; 0 = unspecified. */
      readonly reachableTime: number;
      /** Milliseconds; 0 = unspecified. */
      readonly retransTimer: number;
      readonly options: NdOptions;
    }
  | { readonly kind: 'neighbor-solicit'; readonly target: Uint8Array; readonly options: NdOptions }
  | {
      readonly kind: 'neighbor-advert';
      readonly router: boolean;
      readonly solicited: boolean;
      readonly override: boolean;
      readonly target: Uint8Array;
      readonly options: NdOptions;
    }
  | { readonly kind: 'redirect'; readonly target: Uint8Array; readonly destination: Uint8Array; readonly options: NdOptions }
  | { readonly kind: 'other'; readonly type: number; readonly code: number; readonly rest: number; readonly data: Uint8Array };

/** Field offsets. */
const F = { TYPE: 0, CODE: 1, CHECKSUM: 2, REST: 4, IDENT: 4, SEQ: 6, MTU: 4, POINTER: 4, DATA: 8, TARGET: 8, DEST: 24 } as const;
/** RA: cur hop limit, flags, router lifetime, reachable time, retrans timer. */
const RA = { HOP_LIMIT: 4, FLAGS: 5, LIFETIME: 6, REACHABLE: 8, RETRANS: 12 } as const;
const RA_M = 0x80;
const RA_O = 0x40;
const NA_R = 0x80;
const NA_S = 0x40;
const NA_O = 0x20;
const PI_L = 0x80;
const PI_A = 0x40;

/** Where the options of each ND message start (= its fixed length). */
function ndOptionsStart(type: number): number {
  switch (type) {
    case Icmpv6Type.ROUTER_SOLICIT: return 8;
    case Icmpv6Type.ROUTER_ADVERT: return 16;
    case Icmpv6Type.NEIGHBOR_SOLICIT:
    case Icmpv6Type.NEIGHBOR_ADVERT: return 24;
    case Icmpv6Type.REDIRECT: return 40;
  }
  return -1;
}

/** True for ND message types (133-137). */
export function isNdType(type: number): boolean {
  return type >= Icmpv6Type.ROUTER_SOLICIT && type <= Icmpv6Type.REDIRECT;
}

/** True for ICMPv6 error types (0-127, RFC 4443 §2.1): never answered with an error. */
export function isIcmpv6ErrorType(type: number): boolean {
  return type < 128;
}

// ---- ND options: scanning (check, find) -----------------------------------------------

/** Longest DNS name on the wire (RFC 1035 §2.3.4). */
const MAX_NAME_WIRE = 255;

/**
 * Checks the DNS names of a DNSSL option's data `[start, end)`: uncompressed names (RFC 1035
 * §3.1, labels 1-63 bytes without dots, ≤ 255 bytes) until a zero byte where a name would
 * start (the padding). Returns the number of names, or −1 when malformed.
 */
function scanDnssl(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let names = 0;
  while (i < end && buf[i] !== 0) {
    const nameStart = i;
    for (;;) {
      if (i >= end) return -1;
      const l = buf[i] as number;
      if (l === 0) {
        i++;
        break;
      }
      if (l > 63 || i + 1 + l > end) return -1;
      for (let j = i + 1; j <= i + l; j++) if (buf[j] === 0x2e) return -1;
      i += 1 + l;
      if (i - nameStart + 1 > MAX_NAME_WIRE) return -1;
    }
    names++;
  }
  return names;
}

/**
 * Structure check of the ND options in `buf[start, end)` (RFC 4861 §4.6): every option has a
 * nonzero length inside the area, and the options this codec knows have possible lengths.
 * `undefined` when fine, else `'malformed'`.
 */
export function checkNdOptions(buf: Uint8Array, start: number, end: number = buf.length): WireFault | undefined {
  if (end > buf.length) end = buf.length;
  let i = start;
  while (i < end) {
    if (i + 2 > end) return 'malformed';
    const type = buf[i] as number;
    const units = buf[i + 1] as number;
    if (units === 0) return 'malformed';
    const next = i + units * 8;
    if (next > end) return 'malformed';
    switch (type) {
      case NdOptionType.PREFIX_INFO:
        if (units !== 4 || (buf[i + 2] as number) > 128) return 'malformed';
        break;
      case NdOptionType.MTU:
        if (units !== 1) return 'malformed';
        break;
      case NdOptionType.RDNSS:
        if (units < 3 || units % 2 === 0) return 'malformed';
        break;
      case NdOptionType.DNSSL:
        if (units < 2 || scanDnssl(buf, i + 8, next) < 0) return 'malformed';
        break;
    }
    i = next;
  }
  return undefined;
}

/**
 * Offset of the first option of `type` in `buf[start, end)`, or −1. For checked messages
 * (the hot path: the link-layer address of an NS/NA without building `NdOptions`); on
 * unchecked bytes it stops at the first broken option.
 */
export function findNdOption(buf: Uint8Array, start: number, type: number, end: number = buf.length): number {
  if (end > buf.length) end = buf.length;
  let i = start;
  while (i + 2 <= end) {
    const units = buf[i + 1] as number;
    if (units === 0 || i + units * 8 > end) return -1;
    if (buf[i] === type) return i;
    i += units * 8;
  }
  return -1;
}

/**
 * The data of the first source (1) or target (2) link-layer address option in
 * `buf[start, end)`, aliasing `buf` (6 bytes on Ethernet), or undefined.
 */
export function ndLinkAddr(buf: Uint8Array, start: number, type: number, end: number = buf.length): Uint8Array | undefined {
  const o = findNdOption(buf, start, type, end);
  return o < 0 ? undefined : buf.subarray(o + 2, o + (buf[o + 1] as number) * 8);
}

// ---- ND options: parse and emit -----------------------------------------------------

function parseDnsslNames(buf: Uint8Array, start: number, end: number): string[] {
  const out: string[] = [];
  let i = start;
  while (i < end && buf[i] !== 0) {
    const labels: string[] = [];
    for (let l = buf[i] as number; l !== 0; l = buf[i] as number) {
      labels.push(latin1Text(buf, i + 1, i + 1 + l));
      i += 1 + l;
    }
    i++;
    out.push(labels.join('.'));
  }
  return out;
}

/**
 * Parses the ND options in `buf[start, end)` (after `checkNdOptions`' rules; faults as
 * there). Allocates only for the options present; an empty area gives `NO_ND_OPTIONS`.
 */
export function parseNdOptions(buf: Uint8Array, start: number, end: number = buf.length): NdOptions | WireFault {
  if (end > buf.length) end = buf.length;
  const fault = checkNdOptions(buf, start, end);
  if (fault !== undefined) return fault;
  if (start >= end) return NO_ND_OPTIONS;
  let sourceLinkAddr: Uint8Array | undefined;
  let targetLinkAddr: Uint8Array | undefined;
  let mtu: number | undefined;
  let redirectedHeader: Uint8Array | undefined;
  let prefixes: NdPrefixInfo[] | undefined;
  let rdnss: NdRdnss[] | undefined;
  let dnssl: NdDnssl[] | undefined;
  let unknown: NdRawOption[] | undefined;
  for (let i = start; i < end; ) {
    const type = buf[i] as number;
    const next = i + (buf[i + 1] as number) * 8;
    switch (type) {
      case NdOptionType.SOURCE_LINK_ADDR:
        sourceLinkAddr ??= buf.subarray(i + 2, next);
        break;
      case NdOptionType.TARGET_LINK_ADDR:
        targetLinkAddr ??= buf.subarray(i + 2, next);
        break;
      case NdOptionType.MTU:
        mtu ??= rd32(buf, i + 4);
        break;
      case NdOptionType.REDIRECTED_HEADER:
        redirectedHeader ??= buf.subarray(i + 8, next);
        break;
      case NdOptionType.PREFIX_INFO: {
        const flags = buf[i + 3] as number;
        (prefixes ??= []).push({
          prefixLen: buf[i + 2] as number,
          onLink: (flags & PI_L) !== 0,
          autonomous: (flags & PI_A) !== 0,
          validLifetime: rd32(buf, i + 4),
          preferredLifetime: rd32(buf, i + 8),
          prefix: buf.subarray(i + 16, i + 32),
        });
        break;
      }
      case NdOptionType.RDNSS: {
        const servers: Uint8Array[] = [];
        for (let a = i + 8; a < next; a += 16) servers.push(buf.subarray(a, a + 16));
        (rdnss ??= []).push({ lifetime: rd32(buf, i + 4), servers });
        break;
      }
      case NdOptionType.DNSSL:
        (dnssl ??= []).push({ lifetime: rd32(buf, i + 4), domains: parseDnsslNames(buf, i + 8, next) });
        break;
      default:
        (unknown ??= []).push({ type, data: buf.subarray(i + 2, next) });
    }
    i = next;
  }
  const o: {
    sourceLinkAddr?: Uint8Array; targetLinkAddr?: Uint8Array; mtu?: number; prefixes?: NdPrefixInfo[]; rdnss?: NdRdnss[];
    dnssl?: NdDnssl[]; redirectedHeader?: Uint8Array; unknown?: NdRawOption[];
  } = {};
  if (sourceLinkAddr !== undefined) o.sourceLinkAddr = sourceLinkAddr;
  if (targetLinkAddr !== undefined) o.targetLinkAddr = targetLinkAddr;
  if (mtu !== undefined) o.mtu = mtu;
  if (prefixes !== undefined) o.prefixes = prefixes;
  if (rdnss !== undefined) o.rdnss = rdnss;
  if (dnssl !== undefined) o.dnssl = dnssl;
  if (redirectedHeader !== undefined) o.redirectedHeader = redirectedHeader;
  if (unknown !== undefined) o.unknown = unknown;
  return o;
}

/** Wire bytes of a domain name (labels and the root), or −1 when it cannot be encoded. */
function nameWireLen(name: string): number {
  if (name.length === 0) return -1;
  let n = 1;
  for (const label of name.split('.')) {
    if (label.length === 0 || label.length > 63) return -1;
    for (let k = 0; k < label.length; k++) if (label.charCodeAt(k) > 255) return -1;
    n += 1 + label.length;
  }
  return n > MAX_NAME_WIRE ? -1 : n;
}

const pad8 = (n: number): number => (n + 7) & ~7;

function dnsslLen(d: NdDnssl): number {
  let n = 8;
  for (const name of d.domains) {
    const l = nameWireLen(name);
    if (l < 0) throw new RangeError(`emitNdOptions: domain name cannot be encoded: ${JSON.stringify(name)}`);
    n += l;
  }
  return Math.max(16, pad8(n)); // RFC 8106 §5.2: length at least 2 (a list without names is padding only)
}

/** Bytes `emitNdOptions` writes (each option padded to a multiple of 8). Throws RangeError for a DNSSL name that cannot be encoded. */
export function ndOptionsLen(o: NdOptions): number {
  let n = 0;
  if (o.sourceLinkAddr !== undefined) n += pad8(2 + o.sourceLinkAddr.length);
  if (o.targetLinkAddr !== undefined) n += pad8(2 + o.targetLinkAddr.length);
  if (o.mtu !== undefined) n += 8;
  if (o.prefixes !== undefined) n += 32 * o.prefixes.length;
  if (o.rdnss !== undefined) for (const r of o.rdnss) n += 8 + 16 * r.servers.length;
  if (o.dnssl !== undefined) for (const d of o.dnssl) n += dnsslLen(d);
  if (o.redirectedHeader !== undefined) n += 8 + pad8(o.redirectedHeader.length);
  if (o.unknown !== undefined) for (const u of o.unknown) n += pad8(2 + u.data.length);
  return n;
}

/** Writes type, length (units of 8) and zero fill of an option of `len` bytes at `off`; returns `off + len`. */
function optHead(out: Uint8Array, off: number, type: number, len: number): number {
  if (len > 255 * 8) throw new RangeError('emitNdOptions: option longer than 2040 bytes');
  out.fill(0, off, off + len);
  out[off] = type;
  out[off + 1] = len / 8;
  return off + len;
}

/**
 * Writes the options at `out[offset]` in a fixed order — source and target link-layer
 * address, MTU, prefixes, RDNSS, DNSSL, redirected header, unknown — each zero-padded to a
 * multiple of 8 bytes; returns the bytes written (`ndOptionsLen`). Throws RangeError only on
 * a caller bug: no room, an option beyond 2040 bytes, an RDNSS without servers or with an
 * address not 16 bytes, a prefix not 16 bytes, a DNSSL name that cannot be encoded.
 */
export function emitNdOptions(o: NdOptions, out: Uint8Array, offset = 0): number {
  const total = ndOptionsLen(o);
  if (offset < 0 || offset + total > out.length) throw new RangeError('emitNdOptions: buffer too small');
  let i = offset;
  const linkAddr = (type: number, a: Uint8Array): void => {
    const next = optHead(out, i, type, pad8(2 + a.length));
    out.set(a, i + 2);
    i = next;
  };
  if (o.sourceLinkAddr !== undefined) linkAddr(NdOptionType.SOURCE_LINK_ADDR, o.sourceLinkAddr);
  if (o.targetLinkAddr !== undefined) linkAddr(NdOptionType.TARGET_LINK_ADDR, o.targetLinkAddr);
  if (o.mtu !== undefined) {
    const next = optHead(out, i, NdOptionType.MTU, 8);
    wr32(out, i + 4, o.mtu >>> 0);
    i = next;
  }
  for (const p of o.prefixes ?? []) {
    if (p.prefix.length !== 16) throw new RangeError('emitNdOptions: prefix must be 16 bytes');
    const next = optHead(out, i, NdOptionType.PREFIX_INFO, 32);
    out[i + 2] = Math.min(p.prefixLen & 0xff, 128);
    out[i + 3] = (p.onLink ? PI_L : 0) | (p.autonomous ? PI_A : 0);
    wr32(out, i + 4, p.validLifetime >>> 0);
    wr32(out, i + 8, p.preferredLifetime >>> 0);
    out.set(p.prefix, i + 16);
    i = next;
  }
  for (const r of o.rdnss ?? []) {
    if (r.servers.length === 0) throw new RangeError('emitNdOptions: RDNSS needs at least one server');
    const next = optHead(out, i, NdOptionType.RDNSS, 8 + 16 * r.servers.length);
    wr32(out, i + 4, r.lifetime >>> 0);
    r.servers.forEach((s, k) => {
      if (s.length !== 16) throw new RangeError('emitNdOptions: RDNSS address must be 16 bytes');
      out.set(s, i + 8 + 16 * k);
    });
    i = next;
  }
  for (const d of o.dnssl ?? []) {
    const next = optHead(out, i, NdOptionType.DNSSL, dnsslLen(d));
    wr32(out, i + 4, d.lifetime >>> 0);
    let p = i + 8;
    for (const name of d.domains) {
      for (const label of name.split('.')) {
        out[p++] = label.length;
        for (let k = 0; k < label.length; k++) out[p++] = label.charCodeAt(k);
      }
      out[p++] = 0;
    }
    i = next;
  }
  if (o.redirectedHeader !== undefined) {
    const next = optHead(out, i, NdOptionType.REDIRECTED_HEADER, 8 + pad8(o.redirectedHeader.length));
    out.set(o.redirectedHeader, i + 8);
    i = next;
  }
  for (const u of o.unknown ?? []) {
    const next = optHead(out, i, u.type, pad8(2 + u.data.length));
    out.set(u.data, i + 2);
    i = next;
  }
  return i - offset;
}

// ---- messages -----------------------------------------------------------------------

/**
 * Structure check without the checksum (see the module doc). After `undefined`, every
 * `Icmpv6View` accessor that the message type has reads inside `buf`.
 */
export function checkIcmpv6(buf: Uint8Array): WireFault | undefined {
  if (buf.length < ICMPV6_HEADER_LEN) return 'truncated';
  const type = buf[F.TYPE] as number;
  if (!isNdType(type)) return undefined;
  if (buf[F.CODE] !== 0) return 'malformed';
  const start = ndOptionsStart(type);
  if (buf.length < start) return 'truncated';
  if ((type === Icmpv6Type.NEIGHBOR_SOLICIT || type === Icmpv6Type.NEIGHBOR_ADVERT || type === Icmpv6Type.REDIRECT) && buf[F.TARGET] === 0xff) {
    return 'malformed'; // RFC 4861 §7.1.1, §7.1.2: Target Address is not multicast
  }
  if (type === Icmpv6Type.REDIRECT && buf[F.DEST] === 0xff) return 'malformed'; // §8.1
  return checkNdOptions(buf, start, buf.length);
}

/** Checksum accumulator of pseudo-header + message, checksum field included as it stands. */
function icmpv6Sum(buf: Uint8Array, len: number, src: Uint8Array, dst: Uint8Array): number {
  return onesSum(buf, 0, len, pseudoHeaderSumV6(src, dst, ICMPV6_PROTOCOL, len));
}

/** True when the checksum over the pseudo-header (`src`, `dst`) and the whole message verifies. */
export function verifyIcmpv6Checksum(buf: Uint8Array, src: Uint8Array, dst: Uint8Array): boolean {
  return foldChecksum(icmpv6Sum(buf, buf.length, src, dst)) === 0;
}

/** The receive-path checks without a representation: `checkIcmpv6`, then the checksum unless `checksumOffload`. */
export function validateIcmpv6(buf: Uint8Array, src: Uint8Array, dst: Uint8Array, checksumOffload = false): WireFault | undefined {
  const fault = checkIcmpv6(buf);
  if (fault !== undefined) return fault;
  return checksumOffload || verifyIcmpv6Checksum(buf, src, dst) ? undefined : 'bad-checksum';
}

/**
 * Parses a whole ICMPv6 message carried from `src` to `dst` (16 bytes each, for the
 * checksum). `data`, addresses and option bytes alias `buf`.
 */
export function parseIcmpv6(buf: Uint8Array, src: Uint8Array, dst: Uint8Array, checksumOffload = false): Icmpv6Repr | WireFault {
  const fault = validateIcmpv6(buf, src, dst, checksumOffload);
  if (fault !== undefined) return fault;
  const type = buf[F.TYPE] as number;
  const code = buf[F.CODE] as number;
  const data = buf.subarray(F.DATA);
  switch (type) {
    case Icmpv6Type.DEST_UNREACHABLE:
      return { kind: 'dest-unreachable', code, data };
    case Icmpv6Type.PACKET_TOO_BIG:
      return { kind: 'packet-too-big', mtu: rd32(buf, F.MTU), data };
    case Icmpv6Type.TIME_EXCEEDED:
      return { kind: 'time-exceeded', code, data };
    case Icmpv6Type.PARAMETER_PROBLEM:
      return { kind: 'parameter-problem', code, pointer: rd32(buf, F.POINTER), data };
    case Icmpv6Type.ECHO_REQUEST:
    case Icmpv6Type.ECHO_REPLY:
      if (code !== 0) break;
      return { kind: type === Icmpv6Type.ECHO_REQUEST ? 'echo-request' : 'echo-reply', ident: rd16(buf, F.IDENT), seq: rd16(buf, F.SEQ), data };
  }
  if (!isNdType(type)) return { kind: 'other', type, code, rest: rd32(buf, F.REST), data };
  const options = parseNdOptions(buf, ndOptionsStart(type), buf.length);
  if (typeof options === 'string') return options; // unreachable after checkIcmpv6
  switch (type) {
    case Icmpv6Type.ROUTER_SOLICIT:
      return { kind: 'router-solicit', options };
    case Icmpv6Type.ROUTER_ADVERT: {
      const flags = buf[RA.FLAGS] as number;
      return {
        kind: 'router-advert',
        hopLimit: buf[RA.HOP_LIMIT] as number,
        managed: (flags & RA_M) !== 0,
        other: (flags & RA_O) !== 0,
        routerPreference: (flags >> 3) & 0x03,
        routerLifetime: rd16(buf, RA.LIFETIME),
        reachableTime: rd32(buf, RA.REACHABLE),
        retransTimer: rd32(buf, RA.RETRANS),
        options,
      };
    }
    case Icmpv6Type.NEIGHBOR_SOLICIT:
      return { kind: 'neighbor-solicit', target: buf.subarray(F.TARGET, F.TARGET + 16), options };
    case Icmpv6Type.NEIGHBOR_ADVERT: {
      const flags = buf[F.REST] as number;
      return {
        kind: 'neighbor-advert',
        router: (flags & NA_R) !== 0,
        solicited: (flags & NA_S) !== 0,
        override: (flags & NA_O) !== 0,
        target: buf.subarray(F.TARGET, F.TARGET + 16),
        options,
      };
    }
    default: // REDIRECT
      return { kind: 'redirect', target: buf.subarray(F.TARGET, F.TARGET + 16), destination: buf.subarray(F.DEST, F.DEST + 16), options };
  }
}

/**
 * The RFC 4861 validity checks that involve IP header fields, for a message that passed
 * `checkIcmpv6` (non-ND types pass): hop limit 255 (§6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1);
 * RS from `::` without a source link-layer address option (§6.1.1); RA and Redirect from a
 * link-local source (§6.1.2, §8.1); NS from `::` (DAD) only to a solicited-node group and
 * without a source link-layer address option (§7.1.1); NA to a multicast destination
 * without the Solicited flag (§7.1.2). `'malformed'` when violated.
 */
export function checkNdIpFields(buf: Uint8Array, src: Uint8Array, dst: Uint8Array, hopLimit: number): WireFault | undefined {
  const type = buf[F.TYPE] as number;
  if (!isNdType(type)) return undefined;
  if (hopLimit !== ND_HOP_LIMIT) return 'malformed';
  const start = ndOptionsStart(type);
  switch (type) {
    case Icmpv6Type.ROUTER_SOLICIT:
      if (isUnspecified(src) && findNdOption(buf, start, NdOptionType.SOURCE_LINK_ADDR) >= 0) return 'malformed';
      break;
    case Icmpv6Type.ROUTER_ADVERT:
    case Icmpv6Type.REDIRECT:
      if (!isLinkLocal(src)) return 'malformed';
      break;
    case Icmpv6Type.NEIGHBOR_SOLICIT:
      if (isUnspecified(src) && (!isSolicitedNodeMulticast(dst) || findNdOption(buf, start, NdOptionType.SOURCE_LINK_ADDR) >= 0)) return 'malformed';
      break;
    case Icmpv6Type.NEIGHBOR_ADVERT:
      if (dst[0] === 0xff && ((buf[F.REST] as number) & NA_S) !== 0) return 'malformed';
      break;
  }
  return undefined;
}

/** Bytes `emitIcmpv6` writes: the whole message (the checksum covers it). */
export function icmpv6BufferLen(repr: Icmpv6Repr): number {
  switch (repr.kind) {
    case 'router-solicit': return 8 + ndOptionsLen(repr.options);
    case 'router-advert': return 16 + ndOptionsLen(repr.options);
    case 'neighbor-solicit':
    case 'neighbor-advert': return 24 + ndOptionsLen(repr.options);
    case 'redirect': return 40 + ndOptionsLen(repr.options);
    default: return ICMPV6_HEADER_LEN + repr.data.length;
  }
}

function put16(out: Uint8Array, o: number, a: Uint8Array, what: string): void {
  if (a.length !== 16) throw new RangeError(`emitIcmpv6: ${what} must be 16 bytes`);
  for (let i = 0; i < 16; i++) out[o + i] = a[i] as number;
}

/**
 * Writes exactly `icmpv6BufferLen(repr)` bytes at the start of `out` — header, body (data
 * copied unless it already sits at `out[8]`), options — and the checksum over the
 * pseudo-header (`src`, `dst`) and the message. Reserved fields are sent as zeros; field
 * values are masked to their widths. Throws RangeError only on a caller bug (`out` too
 * small, an address not 16 bytes, see `emitNdOptions`).
 */
export function emitIcmpv6(repr: Icmpv6Repr, out: Uint8Array, src: Uint8Array, dst: Uint8Array): void {
  const len = icmpv6BufferLen(repr);
  if (out.length < len) throw new RangeError('emitIcmpv6: buffer too small');
  let data: Uint8Array | undefined;
  let options: NdOptions | undefined;
  switch (repr.kind) {
    case 'dest-unreachable':
    case 'time-exceeded':
      wr8(out, F.TYPE, repr.kind === 'dest-unreachable' ? Icmpv6Type.DEST_UNREACHABLE : Icmpv6Type.TIME_EXCEEDED);
      wr8(out, F.CODE, repr.code);
      wr32(out, F.REST, 0);
      data = repr.data;
      break;
    case 'packet-too-big':
      wr8(out, F.TYPE, Icmpv6Type.PACKET_TOO_BIG);
      wr8(out, F.CODE, 0);
      wr32(out, F.MTU, repr.mtu >>> 0);
      data = repr.data;
      break;
    case 'parameter-problem':
      wr8(out, F.TYPE, Icmpv6Type.PARAMETER_PROBLEM);
      wr8(out, F.CODE, repr.code);
      wr32(out, F.POINTER, repr.pointer >>> 0);
      data = repr.data;
      break;
    case 'echo-request':
    case 'echo-reply':
      wr8(out, F.TYPE, repr.kind === 'echo-request' ? Icmpv6Type.ECHO_REQUEST : Icmpv6Type.ECHO_REPLY);
      wr8(out, F.CODE, 0);
      wr16(out, F.IDENT, repr.ident);
      wr16(out, F.SEQ, repr.seq);
      data = repr.data;
      break;
    case 'other':
      wr8(out, F.TYPE, repr.type);
      wr8(out, F.CODE, repr.code);
      wr32(out, F.REST, repr.rest >>> 0);
      data = repr.data;
      break;
    case 'router-solicit':
      wr8(out, F.TYPE, Icmpv6Type.ROUTER_SOLICIT);
      wr8(out, F.CODE, 0);
      wr32(out, F.REST, 0);
      options = repr.options;
      break;
    case 'router-advert':
      wr8(out, F.TYPE, Icmpv6Type.ROUTER_ADVERT);
      wr8(out, F.CODE, 0);
      wr8(out, RA.HOP_LIMIT, repr.hopLimit);
      wr8(out, RA.FLAGS, (repr.managed ? RA_M : 0) | (repr.other ? RA_O : 0) | ((repr.routerPreference & 0x03) << 3));
      wr16(out, RA.LIFETIME, repr.routerLifetime);
      wr32(out, RA.REACHABLE, repr.reachableTime >>> 0);
      wr32(out, RA.RETRANS, repr.retransTimer >>> 0);
      options = repr.options;
      break;
    case 'neighbor-solicit':
    case 'neighbor-advert':
      wr8(out, F.TYPE, repr.kind === 'neighbor-solicit' ? Icmpv6Type.NEIGHBOR_SOLICIT : Icmpv6Type.NEIGHBOR_ADVERT);
      wr8(out, F.CODE, 0);
      wr32(out, F.REST, 0);
      if (repr.kind === 'neighbor-advert') wr8(out, F.REST, (repr.router ? NA_R : 0) | (repr.solicited ? NA_S : 0) | (repr.override ? NA_O : 0));
      put16(out, F.TARGET, repr.target, 'target');
      options = repr.options;
      break;
    case 'redirect':
      wr8(out, F.TYPE, Icmpv6Type.REDIRECT);
      wr8(out, F.CODE, 0);
      wr32(out, F.REST, 0);
      put16(out, F.TARGET, repr.target, 'target');
      put16(out, F.DEST, repr.destination, 'destination');
      options = repr.options;
      break;
  }
  if (data !== undefined) {
    if (!(data.buffer === out.buffer && data.byteOffset === out.byteOffset + F.DATA)) out.set(data, F.DATA);
  } else if (options !== undefined) {
    emitNdOptions(options, out, ndOptionsStart(out[F.TYPE] as number));
  }
  wr16(out, F.CHECKSUM, 0);
  wr16(out, F.CHECKSUM, foldChecksum(icmpv6Sum(out, len, src, dst)));
}

// ---- errors -------------------------------------------------------------------------

/**
 * The part of an offending packet (IPv6 header first) to quote in an error: as much as
 * fits in a minimum-MTU error packet (RFC 4443 §2.4 (c)): 1232 bytes after a 40-byte outer
 * header and the 8-byte ICMPv6 header, never beyond the packet's own end (40 + payload
 * length; link padding is not quoted). A `subarray` of `offending`.
 */
export function icmpv6ErrorQuote(offending: Uint8Array): Uint8Array {
  let n = offending.length;
  if (n >= IPV6_HEADER_LEN) {
    const total = IPV6_HEADER_LEN + rd16(offending, 4);
    if (total < n) n = total;
  }
  return offending.subarray(0, Math.min(n, ICMPV6_ERROR_MAX_QUOTE));
}

/** A destination unreachable message about `offending`, quoting per `icmpv6ErrorQuote`. */
export function icmpv6DestUnreachable(code: number, offending: Uint8Array): Icmpv6Repr {
  return { kind: 'dest-unreachable', code, data: icmpv6ErrorQuote(offending) };
}

/** A packet too big message (RFC 4443 §3.2) about `offending` with the next-hop `mtu`. */
export function icmpv6PacketTooBig(mtu: number, offending: Uint8Array): Icmpv6Repr {
  return { kind: 'packet-too-big', mtu, data: icmpv6ErrorQuote(offending) };
}

/** A time exceeded message about `offending` (code 0 hop limit, 1 reassembly). */
export function icmpv6TimeExceeded(code: number, offending: Uint8Array): Icmpv6Repr {
  return { kind: 'time-exceeded', code, data: icmpv6ErrorQuote(offending) };
}

/** A parameter problem message about `offending`: `code` and `pointer` as `walkIpv6Extensions` reports them. */
export function icmpv6ParameterProblem(code: number, pointer: number, offending: Uint8Array): Icmpv6Repr {
  return { kind: 'parameter-problem', code, pointer, data: icmpv6ErrorQuote(offending) };
}

/**
 * RFC 4443 §2.4 (e) for an error of `errType`/`errCode` about `offending` (the received
 * IPv6 packet, header first; `linkMulticast`: it came as a link-layer multicast or
 * broadcast): no error about an ICMPv6 error or a Redirect (e.1, e.2); about a packet to a
 * multicast address or a link-layer multicast, only Packet Too Big and Parameter Problem
 * code 2 (e.3-e.5); none when the source is unspecified or multicast (e.6). Rate limiting
 * (§2.4 (f)) is the stack's. `walk`: scratch for the extension-header walk (pass one to
 * reuse; default a fresh one).
 */
export function icmpv6ErrorAllowed(offending: Uint8Array, errType: number, errCode: number, linkMulticast = false, walk: Ipv6ExtWalk = new Ipv6ExtWalk()): boolean {
  if (offending.length < IPV6_HEADER_LEN) return false;
  if (offending[8] === 0xff) return false;
  let unspecified = true;
  for (let i = 8; i < 24 && unspecified; i++) unspecified = offending[i] === 0;
  if (unspecified) return false;
  const exempt = errType === Icmpv6Type.PACKET_TOO_BIG || (errType === Icmpv6Type.PARAMETER_PROBLEM && errCode === Ipv6ParamProblemCode.UNRECOGNIZED_OPTION);
  if ((offending[24] === 0xff || linkMulticast) && !exempt) return false;
  const w = walkIpv6Extensions(offending, walk);
  if (w.verdict === 'ok' && w.upperProtocol === ICMPV6_PROTOCOL && w.upperOffset < w.end) {
    const t = offending[w.upperOffset] as number;
    if (isIcmpv6ErrorType(t) || t === Icmpv6Type.REDIRECT) return false;
  }
  return true;
}

// ---- view ---------------------------------------------------------------------------

/**
 * Zero-copy access over an ICMPv6 message at `offset` (message end = end of `buf`): the hot
 * path for echo and NS/NA. Call `checkIcmpv6` (or `validateIcmpv6`) on untrusted bytes
 * first; afterwards the accessors of the message's type read inside `buf`.
 */
export class Icmpv6View {
  readonly buf: Uint8Array;
  readonly offset: number;
  constructor(buf: Uint8Array, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }
  get type(): number {
    return rd8(this.buf, this.offset + F.TYPE);
  }
  set type(v: number) {
    wr8(this.buf, this.offset + F.TYPE, v);
  }
  get code(): number {
    return rd8(this.buf, this.offset + F.CODE);
  }
  get checksum(): number {
    return rd16(this.buf, this.offset + F.CHECKSUM);
  }
  set checksum(v: number) {
    wr16(this.buf, this.offset + F.CHECKSUM, v);
  }
  /** The raw 32-bit rest of header (MTU of Packet Too Big, pointer of Parameter Problem). */
  get rest(): number {
    return rd32(this.buf, this.offset + F.REST);
  }
  /** Echo identifier. */
  get ident(): number {
    return rd16(this.buf, this.offset + F.IDENT);
  }
  /** Echo sequence number. */
  get seq(): number {
    return rd16(this.buf, this.offset + F.SEQ);
  }
  /** Data after the 8-byte header (echo data, the invoking packet of an error; aliases the buffer). */
  get data(): Uint8Array {
    return this.buf.subarray(this.offset + F.DATA);
  }
  /** NS/NA/Redirect Target Address (aliases the buffer). */
  get target(): Uint8Array {
    return this.buf.subarray(this.offset + F.TARGET, this.offset + F.TARGET + 16);
  }
  /** NA flags R, S, O. */
  get router(): boolean {
    return (rd8(this.buf, this.offset + F.REST) & NA_R) !== 0;
  }
  get solicited(): boolean {
    return (rd8(this.buf, this.offset + F.REST) & NA_S) !== 0;
  }
  get override(): boolean {
    return (rd8(this.buf, this.offset + F.REST) & NA_O) !== 0;
  }
  /** Offset in `buf` where the ND options start; −1 for other types. */
  get ndOptionsOffset(): number {
    const s = ndOptionsStart(this.type);
    return s < 0 ? -1 : this.offset + s;
  }
  /** Data of the first source (1) or target (2) link-layer address option, or undefined (aliases the buffer). */
  linkAddr(type: number): Uint8Array | undefined {
    const s = this.ndOptionsOffset;
    return s < 0 ? undefined : ndLinkAddr(this.buf, s, type);
  }
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    const len = this.buf.length - this.offset;
    return foldChecksum(onesSum(this.buf, this.offset, this.buf.length, pseudoHeaderSumV6(src, dst, ICMPV6_PROTOCOL, len))) === 0;
  }
  /** Recomputes the checksum in place (e.g. after turning an echo request into a reply). */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    this.checksum = 0;
    const len = this.buf.length - this.offset;
    this.checksum = foldChecksum(onesSum(this.buf, this.offset, this.buf.length, pseudoHeaderSumV6(src, dst, ICMPV6_PROTOCOL, len)));
  }
}
