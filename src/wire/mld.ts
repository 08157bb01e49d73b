/**
 * Multicast Listener Discovery: MLDv1 (RFC 2710 §3) and MLDv2 (RFC 3810 §5), ICMPv6 types
 * 130 (query, both versions), 131 (v1 report), 132 (v1 done) and 143 (v2 report).
 *
 * ```text
 * MLDv1 (24 bytes):  type | code | checksum | max response delay (16) | reserved (16) | multicast address (16 bytes)
 * MLDv2 query (≥ 28): as v1, max response code instead of delay, then
 *                     Resv(4) S(1) QRV(3) | QQIC (8) | number of sources (16) | sources (16 bytes each)
 * MLDv2 report:      type 143 | code | checksum | reserved (16) | number of records (16) | records:
 *                     record type (8) | aux data len (8, 32-bit words) | number of sources (16) | address | sources | aux data
 * ```
 *
 * `buf` is exactly one ICMPv6 message (the upper-layer bytes of the packet); the checksum
 * covers the IPv6 pseudo-header, so parse and emit take the addresses.
 *
 * Parse rules: a query of 24 bytes is MLDv1, of 28 bytes or more MLDv2, and of 25-27 bytes
 * `'malformed'` (RFC 3810 §8.1: silently ignored); v1 reports and done need 24 bytes; bytes
 * after the last source or record are ignored. The code is ignored (RFC 2710 §3.2 and
 * RFC 3810 §5.1.2, §5.2.2: "ignored by receivers"); records keep any record type (the
 * consumer ignores types other than 1-6, RFC 3810 §5.2.12) and their auxiliary data is
 * skipped (§5.2.10: never sent, ignored). Faults: fewer bytes than the fixed part →
 * `'truncated'`; a source or record count beyond the message → `'bad-length'`; another
 * ICMPv6 type → `'unsupported'`; then `'bad-checksum'` unless `checksumOffload`.
 *
 * Every MLD message is sent with a link-local source, hop limit 1 and a Hop-by-Hop Router
 * Alert option of value 0 (RFC 2710 §3, RFC 3810 §5; `emitRouterAlertHopByHop` in ipv6.ts);
 * `checkMldIpFields` applies those rules on receive.
 *
 * Aliasing: addresses in a parsed Repr are `subarray`s of the message.
 */
import { isLinkLocal, isUnspecified } from '../base/ip-address.ts';
import { rd16, wr16, wr8 } from './bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from './checksum.ts';
import type { WireFault } from './fault.ts';
import { ICMPV6_PROTOCOL, Icmpv6Type } from './icmpv6.ts';

/** MLDv1 messages and the MLDv1 query. */
export const MLDV1_LEN = 24;
/** MLDv2 query without sources. */
export const MLDV2_QUERY_MIN_LEN = 28;
/** MLDv2 report header before the records. */
export const MLDV2_REPORT_HEADER_LEN = 8;
/** A multicast address record without sources and aux data. */
export const MLDV2_RECORD_HEADER_LEN = 20;
/** RFC 3810 §9.1 default Robustness Variable (QRV). */
export const MLD_DEFAULT_ROBUSTNESS = 2;
/** RFC 3810 §9.2 default Query Interval, seconds. */
export const MLD_DEFAULT_QUERY_INTERVAL = 125;
/** RFC 3810 §9.3 default Query Response Interval, milliseconds. */
export const MLD_DEFAULT_QUERY_RESPONSE_INTERVAL = 10000;
/** RFC 3810 §9.11: Unsolicited Report Interval, milliseconds (MLDv2; RFC 2710 §7.10: 10 s for MLDv1). */
export const MLD_UNSOLICITED_REPORT_INTERVAL = 1000;

/** RFC 3810 §5.2.12 multicast address record types. */
export const MldRecordType = {
  MODE_IS_INCLUDE: 1,
  MODE_IS_EXCLUDE: 2,
  CHANGE_TO_INCLUDE: 3,
  CHANGE_TO_EXCLUDE: 4,
  ALLOW_NEW_SOURCES: 5,
  BLOCK_OLD_SOURCES: 6,
} as const;

/** One multicast address record of an MLDv2 report. */
export interface MldRecord {
  /** `MldRecordType` (others pass through). */
  readonly recordType: number;
  /** Multicast address, 16 bytes. */
  readonly group: Uint8Array;
  /** Source addresses, 16 bytes each. */
  readonly sources: readonly Uint8Array[];
}

/** Validated meaning of an MLD message. */
export type MldRepr =
  | {
      readonly kind: 'mldv1-query' | 'mldv1-report' | 'mldv1-done';
      /** Milliseconds (meaningful in queries; senders of reports and done write 0). */
      readonly maxResponseDelay: number;
      /** Multicast address (`::` in a general query), 16 bytes. */
      readonly group: Uint8Array;
    }
  | {
      readonly kind: 'mldv2-query';
      /** Raw Maximum Response Code (`mldv2MaxResponseDelay` decodes it to milliseconds). */
      readonly maxResponseCode: number;
      /** Multicast address (`::` in a general query), 16 bytes. */
      readonly group: Uint8Array;
      /** S flag: routers suppress timer updates (RFC 3810 §5.1.7). */
      readonly suppressRouterSide: boolean;
      /** Querier's Robustness Variable (3 bits; 0 = use the default). */
      readonly qrv: number;
      /** Raw Querier's Query Interval Code (`mldv2QueryInterval` decodes it to seconds). */
      readonly qqic: number;
      /** Source addresses (group-and-source-specific query), 16 bytes each. */
      readonly sources: readonly Uint8Array[];
    }
  | { readonly kind: 'mldv2-report'; readonly records: readonly MldRecord[] };

/** True for the MLD message types (130, 131, 132, 143). */
export function isMldType(type: number): boolean {
  return type === Icmpv6Type.MLD_QUERY || type === Icmpv6Type.MLD_REPORT || type === Icmpv6Type.MLD_DONE || type === Icmpv6Type.MLDV2_REPORT;
}

/**
 * Maximum Response Delay in milliseconds from an MLDv2 Maximum Response Code (RFC 3810
 * §5.1.3): the value itself below 32768, else `(mant | 0x1000) << (exp + 3)`.
 */
export function mldv2MaxResponseDelay(code: number): number {
  const c = code & 0xffff;
  if (c < 0x8000) return c;
  return ((c & 0x0fff) | 0x1000) * 2 ** (((c >> 12) & 0x7) + 3);
}

/** Query interval in seconds from a QQIC (RFC 3810 §5.1.9): the value below 128, else `(mant | 0x10) << (exp + 3)`. */
export function mldv2QueryInterval(qqic: number): number {
  const c = qqic & 0xff;
  if (c < 0x80) return c;
  return ((c & 0x0f) | 0x10) << (((c >> 4) & 0x7) + 3);
}

/** The Maximum Response Code for `ms` milliseconds: exact below 32768, else the largest representable value ≤ `ms` (capped at 8387584). */
export function mldv2EncodeMaxResponseCode(ms: number): number {
  const v = Math.max(0, Math.floor(ms));
  if (v < 0x8000) return v;
  for (let exp = 7; exp >= 0; exp--) {
    const mant = Math.floor(v / 2 ** (exp + 3)) - 0x1000;
    if (mant >= 0) return 0x8000 | (exp << 12) | Math.min(mant, 0x0fff);
  }
  return 0x7fff; // unreachable: v ≥ 32768 always fits exp 0
}

/** The QQIC for `seconds`: exact below 128, else the largest representable value ≤ `seconds` (capped at 31744). */
export function mldv2EncodeQqic(seconds: number): number {
  const v = Math.max(0, Math.floor(seconds));
  if (v < 0x80) return v;
  for (let exp = 7; exp >= 0; exp--) {
    const mant = Math.floor(v / 2 ** (exp + 3)) - 0x10;
    if (mant >= 0) return 0x80 | (exp << 4) | Math.min(mant, 0x0f);
  }
  return 0x7f;
}

function sum(buf: Uint8Array, len: number, src: Uint8Array, dst: Uint8Array): number {
  return onesSum(buf, 0, len, pseudoHeaderSumV6(src, dst, ICMPV6_PROTOCOL, len));
}

/** Structure check of an MLD message (see the module doc), without the checksum. */
export function checkMld(buf: Uint8Array): WireFault | undefined {
  if (buf.length < 8) return 'truncated';
  const type = buf[0] as number;
  switch (type) {
    case Icmpv6Type.MLD_QUERY: {
      if (buf.length < MLDV1_LEN) return 'truncated';
      if (buf.length === MLDV1_LEN) return undefined;
      if (buf.length < MLDV2_QUERY_MIN_LEN) return 'malformed';
      return MLDV2_QUERY_MIN_LEN + 16 * rd16(buf, 26) > buf.length ? 'bad-length' : undefined;
    }
    case Icmpv6Type.MLD_REPORT:
    case Icmpv6Type.MLD_DONE:
      return buf.length < MLDV1_LEN ? 'truncated' : undefined;
    case Icmpv6Type.MLDV2_REPORT: {
      let off = MLDV2_REPORT_HEADER_LEN;
      for (let n = rd16(buf, 6); n > 0; n--) {
        if (off + MLDV2_RECORD_HEADER_LEN > buf.length) return 'bad-length';
        off += MLDV2_RECORD_HEADER_LEN + 16 * rd16(buf, off + 2) + 4 * (buf[off + 1] as number);
        if (off > buf.length) return 'bad-length';
      }
      return undefined;
    }
  }
  return 'unsupported';
}

function addresses(buf: Uint8Array, start: number, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(buf.subarray(start + 16 * i, start + 16 * i + 16));
  return out;
}

/** Parses an MLD message carried from `src` to `dst` (16 bytes each, for the checksum). Addresses alias `buf`. */
export function parseMld(buf: Uint8Array, src: Uint8Array, dst: Uint8Array, checksumOffload = false): MldRepr | WireFault {
  const fault = checkMld(buf);
  if (fault !== undefined) return fault;
  if (!checksumOffload && foldChecksum(sum(buf, buf.length, src, dst)) !== 0) return 'bad-checksum';
  const type = buf[0] as number;
  if (type === Icmpv6Type.MLDV2_REPORT) {
    const records: MldRecord[] = [];
    let off = MLDV2_REPORT_HEADER_LEN;
    for (let n = rd16(buf, 6); n > 0; n--) {
      const ns = rd16(buf, off + 2);
      records.push({ recordType: buf[off] as number, group: buf.subarray(off + 4, off + 20), sources: addresses(buf, off + 20, ns) });
      off += MLDV2_RECORD_HEADER_LEN + 16 * ns + 4 * (buf[off + 1] as number);
    }
    return { kind: 'mldv2-report', records };
  }
  const group = buf.subarray(8, 24);
  if (type === Icmpv6Type.MLD_QUERY && buf.length >= MLDV2_QUERY_MIN_LEN) {
    const flags = buf[24] as number;
    return {
      kind: 'mldv2-query',
      maxResponseCode: rd16(buf, 4),
      group,
      suppressRouterSide: (flags & 0x08) !== 0,
      qrv: flags & 0x07,
      qqic: buf[25] as number,
      sources: addresses(buf, MLDV2_QUERY_MIN_LEN, rd16(buf, 26)),
    };
  }
  const kind = type === Icmpv6Type.MLD_QUERY ? 'mldv1-query' : type === Icmpv6Type.MLD_REPORT ? 'mldv1-report' : 'mldv1-done';
  return { kind, maxResponseDelay: rd16(buf, 4), group };
}

/**
 * The receive rules of RFC 3810 §5 / RFC 2710 §3 that involve the IP layer: hop limit 1, a
 * Router Alert of value 0 (`routerAlert` as `walkIpv6Extensions` reports it, −1 = none), and
 * a link-local source (RFC 3810 §5.1.14 for queries; reports may also come from `::`,
 * §5.2.13). `'malformed'` when violated.
 */
export function checkMldIpFields(buf: Uint8Array, src: Uint8Array, hopLimit: number, routerAlert: number): WireFault | undefined {
  if (hopLimit !== 1 || routerAlert !== 0) return 'malformed';
  if (isLinkLocal(src)) return undefined;
  return buf[0] !== Icmpv6Type.MLD_QUERY && isUnspecified(src) ? undefined : 'malformed';
}

/** Bytes `emitMld` writes. */
export function mldBufferLen(repr: MldRepr): number {
  switch (repr.kind) {
    case 'mldv2-query':
      return MLDV2_QUERY_MIN_LEN + 16 * repr.sources.length;
    case 'mldv2-report': {
      let n = MLDV2_REPORT_HEADER_LEN;
      for (const r of repr.records) n += MLDV2_RECORD_HEADER_LEN + 16 * r.sources.length;
      return n;
    }
    default:
      return MLDV1_LEN;
  }
}

function put16(out: Uint8Array, o: number, a: Uint8Array): void {
  if (a.length !== 16) throw new RangeError('emitMld: address must be 16 bytes');
  out.set(a, o);
}

/**
 * Writes exactly `mldBufferLen(repr)` bytes at the start of `out` with the checksum over the
 * pseudo-header (`src`, `dst`). Code, reserved fields and aux data length are sent as 0.
 * Throws RangeError only on a caller bug: `out` too small, an address not 16 bytes, more
 * than 65535 sources or records.
 */
export function emitMld(repr: MldRepr, out: Uint8Array, src: Uint8Array, dst: Uint8Array): void {
  const len = mldBufferLen(repr);
  if (out.length < len) throw new RangeError('emitMld: buffer too small');
  out.fill(0, 0, 8);
  switch (repr.kind) {
    case 'mldv2-report': {
      if (repr.records.length > 0xffff) throw new RangeError('emitMld: too many records');
      wr8(out, 0, Icmpv6Type.MLDV2_REPORT);
      wr16(out, 6, repr.records.length);
      let off = MLDV2_REPORT_HEADER_LEN;
      for (const r of repr.records) {
        if (r.sources.length > 0xffff) throw new RangeError('emitMld: too many sources');
        wr8(out, off, r.recordType);
        wr8(out, off + 1, 0);
        wr16(out, off + 2, r.sources.length);
        put16(out, off + 4, r.group);
        r.sources.forEach((s, i) => put16(out, off + 20 + 16 * i, s));
        off += MLDV2_RECORD_HEADER_LEN + 16 * r.sources.length;
      }
      break;
    }
    case 'mldv2-query':
      if (repr.sources.length > 0xffff) throw new RangeError('emitMld: too many sources');
      wr8(out, 0, Icmpv6Type.MLD_QUERY);
      wr16(out, 4, repr.maxResponseCode);
      put16(out, 8, repr.group);
      wr8(out, 24, (repr.suppressRouterSide ? 0x08 : 0) | (repr.qrv & 0x07));
      wr8(out, 25, repr.qqic);
      wr16(out, 26, repr.sources.length);
      repr.sources.forEach((s, i) => put16(out, MLDV2_QUERY_MIN_LEN + 16 * i, s));
      break;
    default:
      wr8(out, 0, repr.kind === 'mldv1-query' ? Icmpv6Type.MLD_QUERY : repr.kind === 'mldv1-report' ? Icmpv6Type.MLD_REPORT : Icmpv6Type.MLD_DONE);
      wr16(out, 4, repr.maxResponseDelay);
      put16(out, 8, repr.group);
  }
  wr16(out, 2, foldChecksum(sum(out, len, src, dst)));
}
