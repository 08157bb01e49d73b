/**
 * 6LoWPAN Neighbor Discovery options (RFC 6775 §4) and the IEEE 802.15.4 form of the
 * Source/Target Link-layer Address option (RFC 4944 §8).
 *
 *     ARO  (33, length 2):   Status | Reserved (3) | Reserved | Registration Lifetime (16) | EUI-64 (8)
 *     6CO  (34, length 2|3): Context Length | Res(3) C CID(4) | Reserved (16) | Valid Lifetime (16) | Prefix (8|16)
 *     ABRO (35, length 3):   Version Low (16) | Version High (16) | Valid Lifetime (16) | 6LBR Address (16)
 *     SLLAO/TLLAO (1/2):     length 2: EUI-64 (8) + 6 zero bytes; length 1: short address (2) + 4 zero bytes
 *
 * All lifetimes count units of 60 seconds. `icmpv6.ts` does not interpret types 33-35: its
 * `parseNdOptions` keeps them in `NdOptions.unknown` as `NdRawOption`s ({type, data: the bytes
 * after the length byte}), and its `emitNdOptions` writes `NdOptions.unknown` back (each
 * zero-padded to a multiple of 8 bytes). So this codec works on `NdRawOption`s: `parseAro` /
 * `parse6co` / `parseAbro` read one, `findLowpanNdOptions` picks them out of a parsed
 * `NdOptions`, and `emitAro` / `emit6co` / `emitAbro` (or `lowpanNdRawOptions`) give the raw
 * options to put in `NdOptions.unknown` for `emitIcmpv6`.
 *
 * Pure and total: parsing never throws; a wrong type or an impossible field is
 * `'malformed'`, too few data bytes `'truncated'`, too many (a length the RFC does not
 * allow) `'bad-length'`. Emitting never throws either: a field out of range is `'malformed'`,
 * an address of the wrong size `'bad-length'`. Reserved fields are sent as zeros and ignored
 * on receive (RFC 6775 §4.1-§4.3), so RFC 8505's EARO flags and TID in the ARO's reserved
 * bytes are not kept.
 *
 * Aliasing: a parsed ARO's `eui64` and ABRO's `address` are `subarray`s of the option data;
 * a 6CO's `prefix` is always a fresh 16-byte array.
 */
import { rd16, rd8, wr16 } from '../bytes.ts';
import type { WireFault } from '../fault.ts';
import type { NdOptions, NdRawOption } from '../icmpv6.ts';

/** ND option types of RFC 6775 §4 (IANA "IPv6 Neighbor Discovery Option Formats"). */
export const LowpanNdOptionType = {
  /** Address Registration Option (§4.1). */
  ARO: 33,
  /** 6LoWPAN Context Option (§4.2). */
  SIXCO: 34,
  /** Authoritative Border Router Option (§4.3). */
  ABRO: 35,
} as const;

/** ARO Status values (RFC 6775 §4.1); later RFCs (8505) add values from 3 up, kept as numbers. */
export const AroStatus = {
  SUCCESS: 0,
  DUPLICATE: 1,
  NEIGHBOR_CACHE_FULL: 2,
} as const;

/** RFC 6775 §4.3: an ABRO Valid Lifetime of 0 on the wire means this many minutes (~one week). */
export const ABRO_DEFAULT_LIFETIME_MINUTES = 10000;

/** RFC 6775 §4.2: a 6CO Valid Lifetime of all ones is infinity (0 removes the context at once). */
export const SIXCO_LIFETIME_INFINITY = 0xffff;

/** Option data bytes (after type and length) of an ARO: RFC 6775 §4.1, length 2. */
const ARO_DATA_LEN = 14;
/** Option data bytes of a 6CO with an 8-byte (length 2) or 16-byte (length 3) prefix field. */
const SIXCO_DATA_SHORT = 14;
const SIXCO_DATA_LONG = 22;
/** Option data bytes of an ABRO: RFC 6775 §4.3, length 3. */
const ABRO_DATA_LEN = 22;
/** 6CO flags byte: Res(3) | C | CID(4). */
const SIXCO_C = 0x10;
const SIXCO_CID = 0x0f;

/** RFC 6775 §4.1 Address Registration Option. */
export interface NdAro {
  /** `AroStatus` (0..255); a host sends 0 in its NS, the router answers in the NA. */
  readonly status: number;
  /** Registration Lifetime in minutes (0..0xffff); a host's NS with 0 de-registers the address (RFC 6775). */
  readonly lifetimeMinutes: number;
  /** The host's EUI-64 in IEEE order (not the U/L-flipped interface identifier), 8 bytes. */
  readonly eui64: Uint8Array;
}

/** RFC 6775 §4.2 6LoWPAN Context Option. */
export interface Nd6co {
  /** Number of valid leading bits of `prefix`, 0..128 (> 64 needs option length 3). */
  readonly contextLength: number;
  /** C: the context may be used for compression (else decompression only). */
  readonly compress: boolean;
  /** Context identifier, 0..15 (RFC 6282 §3.1.2). */
  readonly cid: number;
  /** Valid Lifetime in minutes; `SIXCO_LIFETIME_INFINITY` is infinity, 0 removes the context. */
  readonly lifetimeMinutes: number;
  /** 16 bytes; bits beyond `contextLength` are zero when parsed and are sent as zero. */
  readonly prefix: Uint8Array;
}

/** RFC 6775 §4.3 Authoritative Border Router Option. */
export interface NdAbro {
  /** Version Number, uint32 (Version High << 16 | Version Low). */
  readonly version: number;
  /**
   * Valid Lifetime in minutes. Parsing maps the wire value 0 to
   * `ABRO_DEFAULT_LIFETIME_MINUTES`; emitting writes the value as given (0 stays 0).
   */
  readonly lifetimeMinutes: number;
  /** IPv6 address of the 6LBR, 16 bytes. */
  readonly address: Uint8Array;
}

/** The RFC 6775 options found in one ND message by `findLowpanNdOptions`. */
export interface LowpanNdOptions {
  /** The first valid ARO (later ones are ignored). */
  readonly aro?: NdAro;
  /** Every valid 6CO, in order. */
  readonly contexts: readonly Nd6co[];
  /** The first valid ABRO (later ones are ignored). */
  readonly abro?: NdAbro;
  /** Options of types 33-35 that did not parse (skipped). */
  readonly malformed: number;
}

/** What `lowpanNdRawOptions` encodes. */
export interface LowpanNdOptionSet {
  readonly aro?: NdAro;
  readonly contexts?: readonly Nd6co[];
  readonly abro?: NdAbro;
}

function isUint(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

/** `'truncated'` below `want` data bytes, `'bad-length'` above, else undefined. */
function exactLen(data: Uint8Array, want: number): WireFault | undefined {
  if (data.length < want) return 'truncated';
  return data.length > want ? 'bad-length' : undefined;
}

/**
 * Reads an ARO (RFC 6775 §4.1) from a raw option (`type` 33, data the 14 bytes after the
 * length byte). Any Status value is accepted; the reserved bytes are ignored.
 */
export function parseAro(raw: NdRawOption): NdAro | WireFault {
  if (raw.type !== LowpanNdOptionType.ARO) return 'malformed';
  const d = raw.data;
  const f = exactLen(d, ARO_DATA_LEN);
  if (f !== undefined) return f;
  return { status: rd8(d, 0), lifetimeMinutes: rd16(d, 4), eui64: d.subarray(6, 14) };
}

/** The raw option (type 33, 14 data bytes) of an ARO (RFC 6775 §4.1), reserved bytes zero. */
export function emitAro(aro: NdAro): NdRawOption | WireFault {
  if (!isUint(aro.status, 0xff) || !isUint(aro.lifetimeMinutes, 0xffff)) return 'malformed';
  if (aro.eui64.length !== 8) return 'bad-length';
  const data = new Uint8Array(ARO_DATA_LEN);
  data[0] = aro.status;
  wr16(data, 4, aro.lifetimeMinutes);
  data.set(aro.eui64, 6);
  return { type: LowpanNdOptionType.ARO, data };
}

/** `prefix`'s first `bits` bits in a fresh 16-byte array, the rest zero. */
function maskedPrefix(prefix: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(16);
  const whole = bits >>> 3;
  out.set(prefix.subarray(0, whole));
  if ((bits & 7) !== 0) out[whole] = (prefix[whole] ?? 0) & (0xff << (8 - (bits & 7)));
  return out;
}

/**
 * Reads a 6CO (RFC 6775 §4.2) from a raw option (`type` 34, 14 data bytes for length 2 or 22
 * for length 3). A Context Length above 128, or above 64 in a length-2 option, is
 * `'malformed'` / `'bad-length'`; a length-3 option with a short context is accepted. The
 * prefix is copied into 16 bytes with the bits beyond the Context Length cleared.
 */
export function parse6co(raw: NdRawOption): Nd6co | WireFault {
  if (raw.type !== LowpanNdOptionType.SIXCO) return 'malformed';
  const d = raw.data;
  if (d.length < SIXCO_DATA_SHORT) return 'truncated';
  if (d.length !== SIXCO_DATA_SHORT && d.length !== SIXCO_DATA_LONG) return 'bad-length';
  const contextLength = rd8(d, 0);
  if (contextLength > 128) return 'malformed';
  if (contextLength > 64 && d.length === SIXCO_DATA_SHORT) return 'bad-length';
  const flags = rd8(d, 1);
  return {
    contextLength,
    compress: (flags & SIXCO_C) !== 0,
    cid: flags & SIXCO_CID,
    lifetimeMinutes: rd16(d, 4),
    prefix: maskedPrefix(d.subarray(6), contextLength),
  };
}

/**
 * The raw option (type 34) of a 6CO (RFC 6775 §4.2): length 2 (14 data bytes, 8 prefix
 * bytes) when `contextLength` ≤ 64, else length 3 (22 data bytes); prefix bits beyond
 * `contextLength` and the reserved fields are sent as zeros.
 */
export function emit6co(c: Nd6co): NdRawOption | WireFault {
  if (!isUint(c.contextLength, 128) || !isUint(c.cid, SIXCO_CID) || !isUint(c.lifetimeMinutes, 0xffff)) return 'malformed';
  if (c.prefix.length !== 16) return 'bad-length';
  const data = new Uint8Array(c.contextLength > 64 ? SIXCO_DATA_LONG : SIXCO_DATA_SHORT);
  data[0] = c.contextLength;
  data[1] = (c.compress ? SIXCO_C : 0) | c.cid;
  wr16(data, 4, c.lifetimeMinutes);
  data.set(maskedPrefix(c.prefix, c.contextLength).subarray(0, data.length - 6), 6);
  return { type: LowpanNdOptionType.SIXCO, data };
}

/**
 * Reads an ABRO (RFC 6775 §4.3) from a raw option (`type` 35, 22 data bytes). A Valid
 * Lifetime of 0 becomes `ABRO_DEFAULT_LIFETIME_MINUTES`.
 */
export function parseAbro(raw: NdRawOption): NdAbro | WireFault {
  if (raw.type !== LowpanNdOptionType.ABRO) return 'malformed';
  const d = raw.data;
  const f = exactLen(d, ABRO_DATA_LEN);
  if (f !== undefined) return f;
  const lifetime = rd16(d, 4);
  return {
    version: ((rd16(d, 2) << 16) | rd16(d, 0)) >>> 0,
    lifetimeMinutes: lifetime === 0 ? ABRO_DEFAULT_LIFETIME_MINUTES : lifetime,
    address: d.subarray(6, 22),
  };
}

/** The raw option (type 35, 22 data bytes) of an ABRO (RFC 6775 §4.3): Version Low first, then Version High. */
export function emitAbro(a: NdAbro): NdRawOption | WireFault {
  if (!isUint(a.version, 0xffff_ffff) || !isUint(a.lifetimeMinutes, 0xffff)) return 'malformed';
  if (a.address.length !== 16) return 'bad-length';
  const data = new Uint8Array(ABRO_DATA_LEN);
  wr16(data, 0, a.version & 0xffff);
  wr16(data, 2, a.version >>> 16);
  wr16(data, 4, a.lifetimeMinutes);
  data.set(a.address, 6);
  return { type: LowpanNdOptionType.ABRO, data };
}

/**
 * The RFC 6775 options (ARO, 6COs, ABRO) among the uninterpreted options of a parsed ND
 * message (`options.unknown`, as `parseNdOptions` leaves them). Invalid ones are skipped and
 * counted in `malformed`; other option types are ignored. Which message may carry which
 * option (ARO in NS/NA, 6CO and ABRO in RA: RFC 6775 §5-§6) is the caller's check.
 */
export function findLowpanNdOptions(options: NdOptions): LowpanNdOptions {
  let aro: NdAro | undefined;
  let abro: NdAbro | undefined;
  const contexts: Nd6co[] = [];
  let malformed = 0;
  for (const raw of options.unknown ?? []) {
    let r: NdAro | Nd6co | NdAbro | WireFault;
    switch (raw.type) {
      case LowpanNdOptionType.ARO:
        r = parseAro(raw);
        if (typeof r !== 'string') aro ??= r;
        break;
      case LowpanNdOptionType.SIXCO:
        r = parse6co(raw);
        if (typeof r !== 'string') contexts.push(r);
        break;
      case LowpanNdOptionType.ABRO:
        r = parseAbro(raw);
        if (typeof r !== 'string') abro ??= r;
        break;
      default:
        continue;
    }
    if (typeof r === 'string') malformed++;
  }
  const out: { aro?: NdAro; contexts: Nd6co[]; abro?: NdAbro; malformed: number } = { contexts, malformed };
  if (aro !== undefined) out.aro = aro;
  if (abro !== undefined) out.abro = abro;
  return out;
}

/**
 * The raw options of `set` in the order ARO, 6COs, ABRO, to place in `NdOptions.unknown`
 * (`emitNdOptions` writes them after the options it knows); the first fault of any of them
 * otherwise.
 */
export function lowpanNdRawOptions(set: LowpanNdOptionSet): NdRawOption[] | WireFault {
  const parts: (NdRawOption | WireFault)[] = [];
  if (set.aro !== undefined) parts.push(emitAro(set.aro));
  for (const c of set.contexts ?? []) parts.push(emit6co(c));
  if (set.abro !== undefined) parts.push(emitAbro(set.abro));
  const out: NdRawOption[] = [];
  for (const p of parts) {
    if (typeof p === 'string') return p;
    out.push(p);
  }
  return out;
}

/**
 * The data (after type and length) of a Source/Target Link-layer Address option for an
 * IEEE 802.15.4 address (RFC 4944 §8): an 8-byte EUI-64 plus 6 zero bytes (14 bytes, option
 * length 2), or a 2-byte short address plus 4 zero bytes (6 bytes, option length 1); any
 * other size is `'bad-length'`. For `NdOptions.sourceLinkAddr` / `targetLinkAddr`: note that
 * `emitNdOptions` pads every option to a multiple of 8 with zeros, so giving it the bare 8-
 * or 2-byte address writes the very same RFC 4944 bytes (2 + 8 → 16, 2 + 2 → 8).
 */
export function lowpanLinkAddrOption(addr: Uint8Array): Uint8Array | WireFault {
  if (addr.length !== 8 && addr.length !== 2) return 'bad-length';
  const data = new Uint8Array(addr.length === 8 ? 14 : 6);
  data.set(addr);
  return data;
}

/**
 * The IEEE 802.15.4 address in the data of a Source/Target Link-layer Address option
 * (`NdOptions.sourceLinkAddr` / `targetLinkAddr`, RFC 4944 §8): 14 data bytes (length 2) →
 * the EUI-64 (first 8 bytes), 6 data bytes (length 1) → the short address (first 2 bytes),
 * aliasing `data`; undefined for any other size. The padding is not checked.
 */
export function lowpanLinkAddrFromOption(data: Uint8Array): Uint8Array | undefined {
  if (data.length === 14) return data.subarray(0, 8);
  if (data.length === 6) return data.subarray(0, 2);
  return undefined;
}
