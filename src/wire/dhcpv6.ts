/**
 * DHCPv6 messages (RFC 8415) between clients and servers over UDP ports 546 (client) and
 * 547 (server), enough for stateless service (RFC 8415 §6.1, formerly RFC 3736):
 * Information-request / Reply with the configuration options.
 *
 * Layout (RFC 8415 §8): msg-type (1 byte), transaction-id (3 bytes), then options, each
 * option-code (2), option-len (2) and option-len bytes of data (§21.1). Relay messages
 * (RELAY-FORW 12, RELAY-REPL 13, §9) have another layout and are `'unsupported'` here: a
 * client never receives them.
 *
 * `Dhcpv6Repr` is the validated meaning. Options:
 * - typed fields (`Dhcpv6Options`) for Client and Server Identifier (1, 2: DUIDs,
 *   `Dhcpv6Duid`), Option Request (6), Elapsed Time (8, hundredths of a second), Status
 *   Code (13, code and UTF-8 message), DNS Recursive Name Server (23, RFC 3646), Domain
 *   Search List (24, RFC 3646), Information Refresh Time (32), SOL_MAX_RT (82) and
 *   INF_MAX_RT (83);
 * - every other option in `other`, raw, in order of appearance, repeats included (IA_NA
 *   and friends may legitimately repeat, RFC 8415 §21).
 *
 * DUIDs (RFC 8415 §11): 2-byte type and 1-128 bytes of identifier. DUID-LLT (1: hardware
 * type, time, link-layer address) and DUID-LL (3: hardware type, link-layer address) are
 * decoded; DUID-EN (2), DUID-UUID (4, RFC 6355) and unknown types are kept opaque with
 * their type. RFC 8415 §11 says DUIDs are compared only for equality: `duidEquals`
 * compares the encodings.
 *
 * Domain names (RFC 8415 §10, RFC 1035 §3.1): uncompressed label sequences, each ending
 * with the root label; a compression pointer (or any label length over 63), a name over
 * 255 bytes, a '.' inside a label or a name cut by the end of the option is malformed.
 * Names are strings without the trailing dot, one character per byte (lossless). A bare
 * root name (a single zero byte) says nothing in a search list and is skipped. Parsing is
 * linear in the option length.
 *
 * Faults: under 4 bytes → `'truncated'`; message type 0 (reserved), an option header or
 * data running past the message, a typed option of impossible length or content (an odd
 * ORO, a DNS list not a multiple of 16, a bad name, a DUID outside 3..130 bytes or a
 * DUID-LLT/LL shorter than its fixed fields, a Status Code under 2 bytes) or a typed
 * option that appears twice (RFC 8415 §21: at most once) → `'malformed'`; relay messages
 * → `'unsupported'`. `parseDhcpv6` never throws; the repr holds copies (no aliasing of
 * `buf`).
 *
 * `emitDhcpv6` writes `dhcpv6BufferLen(repr)` bytes: header, typed options in code order,
 * then `other` as given. It throws RangeError only on a caller bug (out-of-range fields,
 * an option over 65535 bytes, an unencodable name or DUID, a typed code in `other`).
 */
import { equalBytes, rd16, rd32, rd8, wr16, wr32, wr8 } from './bytes.ts';
import type { WireFault } from './fault.ts';

export const DHCPV6_CLIENT_PORT = 546;
export const DHCPV6_SERVER_PORT = 547;
/** RFC 8415 §7.1: All_DHCP_Relay_Agents_and_Servers, ff02::1:2 (link-scoped; clients send here). */
export const DHCPV6_ALL_RELAY_AGENTS_AND_SERVERS: Uint8Array = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2);
/** RFC 8415 §7.1: All_DHCP_Servers, ff05::1:3 (site-scoped; used by relays). */
export const DHCPV6_ALL_SERVERS: Uint8Array = Uint8Array.of(0xff, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3);
/** msg-type and transaction-id. */
export const DHCPV6_HEADER_LEN = 4;
/** Option code and length. */
export const DHCPV6_OPTION_HEADER_LEN = 4;
/** Largest transaction id (24 bits). */
export const DHCPV6_MAX_TRANSACTION_ID = 0xffffff;
/** RFC 8415 §7.7: a 32-bit time of all ones is infinity. */
export const DHCPV6_INFINITY = 0xffffffff;

/** RFC 8415 §7.3 message types (and the relay types of §9). */
export const Dhcpv6MessageType = {
  SOLICIT: 1,
  ADVERTISE: 2,
  REQUEST: 3,
  CONFIRM: 4,
  RENEW: 5,
  REBIND: 6,
  REPLY: 7,
  RELEASE: 8,
  DECLINE: 9,
  RECONFIGURE: 10,
  INFORMATION_REQUEST: 11,
  RELAY_FORW: 12,
  RELAY_REPL: 13,
} as const;

/** Option codes (RFC 8415 §24 / IANA "DHCPv6 Option Codes"); the typed ones and the common rest. */
export const Dhcpv6Option = {
  CLIENTID: 1,
  SERVERID: 2,
  IA_NA: 3,
  IA_TA: 4,
  IAADDR: 5,
  ORO: 6,
  PREFERENCE: 7,
  ELAPSED_TIME: 8,
  RELAY_MSG: 9,
  AUTH: 11,
  UNICAST: 12,
  STATUS_CODE: 13,
  RAPID_COMMIT: 14,
  USER_CLASS: 15,
  VENDOR_CLASS: 16,
  VENDOR_OPTS: 17,
  INTERFACE_ID: 18,
  RECONF_MSG: 19,
  RECONF_ACCEPT: 20,
  /** RFC 3646 §3. */
  DNS_SERVERS: 23,
  /** RFC 3646 §4. */
  DOMAIN_LIST: 24,
  IA_PD: 25,
  IAPREFIX: 26,
  /** RFC 8415 §21.23. */
  INFORMATION_REFRESH_TIME: 32,
  /** RFC 8415 §21.24. */
  SOL_MAX_RT: 82,
  /** RFC 8415 §21.25. */
  INF_MAX_RT: 83,
} as const;

/** RFC 8415 §21.13 status codes. */
export const Dhcpv6StatusCode = {
  SUCCESS: 0,
  UNSPEC_FAIL: 1,
  NO_ADDRS_AVAIL: 2,
  NO_BINDING: 3,
  NOT_ON_LINK: 4,
  USE_MULTICAST: 5,
  NO_PREFIX_AVAIL: 6,
} as const;

/** RFC 8415 §11.1 DUID types (4: RFC 6355). */
export const DuidType = { LLT: 1, EN: 2, LL: 3, UUID: 4 } as const;
/** RFC 8415 §11.1: the identifier after the 2-byte type is 1 to 128 bytes. */
export const DUID_MIN_LEN = 3;
export const DUID_MAX_LEN = 130;
/** `hardwareType` of Ethernet (IANA ARP hardware types, as in DHCPv4's htype). */
export const DUID_HW_ETHERNET = 1;

/**
 * A DUID. `'llt'` and `'ll'` are decoded (RFC 8415 §11.2, §11.4; `time` is seconds since
 * 2000-01-01 UTC, mod 2^32); every other type, DUID-EN and DUID-UUID included, is
 * `'opaque'`: `type` and the bytes after it.
 */
export type Dhcpv6Duid =
  | { readonly kind: 'llt'; readonly hardwareType: number; readonly time: number; readonly linkLayerAddress: Uint8Array }
  | { readonly kind: 'll'; readonly hardwareType: number; readonly linkLayerAddress: Uint8Array }
  | { readonly kind: 'opaque'; readonly type: number; readonly data: Uint8Array };

/**
 * Option 13: a status code and a UTF-8 message for humans (RFC 8415 §21.13). Parse turns
 * invalid UTF-8 into U+FFFD; emit encodes as `TextEncoder` does (a lone surrogate becomes
 * U+FFFD).
 */
export interface Dhcpv6Status {
  readonly code: number;
  readonly message: string;
}

/** An option without a typed field. */
export interface Dhcpv6RawOption {
  readonly code: number;
  readonly data: Uint8Array;
}

/** The options with typed fields; times are seconds unless said otherwise (0xffffffff = infinity). */
export interface Dhcpv6Options {
  /** 1. */
  readonly clientId?: Dhcpv6Duid;
  /** 2. */
  readonly serverId?: Dhcpv6Duid;
  /** 6: requested option codes. */
  readonly optionRequest?: readonly number[];
  /** 8: hundredths of a second since the exchange began, 0xffff at most. */
  readonly elapsedTime?: number;
  /** 13 (absent means success, RFC 8415 §21.13). */
  readonly status?: Dhcpv6Status;
  /** 23: IPv6 addresses, 16 bytes each. */
  readonly dnsServers?: readonly Uint8Array[];
  /** 24: domain names without the trailing dot. */
  readonly domainList?: readonly string[];
  /** 32. */
  readonly informationRefreshTime?: number;
  /** 82. */
  readonly solMaxRt?: number;
  /** 83. */
  readonly infMaxRt?: number;
  /** Every other option (a typed code never appears here), in order, repeats kept. */
  readonly other?: readonly Dhcpv6RawOption[];
}

/** Validated meaning of a client/server message. */
export interface Dhcpv6Repr {
  /** 1..255 except the relay types 12 and 13. */
  readonly msgType: number;
  /** 24 bits. */
  readonly transactionId: number;
  readonly options: Dhcpv6Options;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const O = Dhcpv6Option;
const TYPED_CODES: ReadonlySet<number> = new Set([
  O.CLIENTID, O.SERVERID, O.ORO, O.ELAPSED_TIME, O.STATUS_CODE, O.DNS_SERVERS, O.DOMAIN_LIST, O.INFORMATION_REFRESH_TIME, O.SOL_MAX_RT, O.INF_MAX_RT,
]);

/** True when `code` has a typed field in `Dhcpv6Options`, so it never appears in `other`. */
export function isTypedDhcpv6Option(code: number): boolean {
  return TYPED_CODES.has(code);
}

function isRelay(t: number): boolean {
  return t === Dhcpv6MessageType.RELAY_FORW || t === Dhcpv6MessageType.RELAY_REPL;
}

/**
 * Structure check of the header: `'truncated'` under 4 bytes, `'malformed'` for message
 * type 0, `'unsupported'` for relay messages. The options are checked by `parseDhcpv6`.
 */
export function checkDhcpv6(buf: Uint8Array): WireFault | undefined {
  if (buf.length < DHCPV6_HEADER_LEN) return 'truncated';
  const t = rd8(buf, 0);
  if (t === 0) return 'malformed';
  if (isRelay(t)) return 'unsupported';
  return undefined;
}

/** Zero-copy access to the header; call `checkDhcpv6` first on untrusted bytes. */
export class Dhcpv6View {
  readonly buf: Uint8Array;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }
  get msgType(): number {
    return rd8(this.buf, 0);
  }
  get transactionId(): number {
    return (rd8(this.buf, 1) << 16) | rd16(this.buf, 2);
  }
  /** The options area (aliases the buffer). */
  get options(): Uint8Array {
    return this.buf.subarray(DHCPV6_HEADER_LEN);
  }
}

// ---------------------------------------------------------------- DUIDs

/** Parses a DUID (the data of option 1 or 2); never throws, holds copies. */
export function parseDuid(v: Uint8Array): Dhcpv6Duid | WireFault {
  if (v.length < DUID_MIN_LEN || v.length > DUID_MAX_LEN) return 'malformed';
  const type = rd16(v, 0);
  if (type === DuidType.LLT) {
    if (v.length < 8) return 'malformed';
    return { kind: 'llt', hardwareType: rd16(v, 2), time: rd32(v, 4), linkLayerAddress: v.slice(8) };
  }
  if (type === DuidType.LL) {
    if (v.length < 4) return 'malformed';
    return { kind: 'll', hardwareType: rd16(v, 2), linkLayerAddress: v.slice(4) };
  }
  return { kind: 'opaque', type, data: v.slice(2) };
}

function u16ok(x: number): boolean {
  return Number.isInteger(x) && x >= 0 && x <= 0xffff;
}

function u32ok(x: number): boolean {
  return Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
}

/** Encoded length of a DUID; throws RangeError for one that cannot be sent. */
export function duidLen(d: Dhcpv6Duid): number {
  let n: number;
  if (d.kind === 'llt') {
    if (!u16ok(d.hardwareType) || !u32ok(d.time)) throw new RangeError('DUID-LLT: hardware type or time out of range');
    n = 8 + d.linkLayerAddress.length;
  } else if (d.kind === 'll') {
    if (!u16ok(d.hardwareType)) throw new RangeError('DUID-LL: hardware type out of range');
    n = 4 + d.linkLayerAddress.length;
  } else {
    if (!u16ok(d.type) || d.type === DuidType.LLT || d.type === DuidType.LL) {
      throw new RangeError(`DUID: type ${d.type} cannot be opaque (out of range, or LLT/LL: use that kind)`);
    }
    n = 2 + d.data.length;
  }
  if (n < DUID_MIN_LEN || n > DUID_MAX_LEN) throw new RangeError(`DUID: ${n} bytes, not ${DUID_MIN_LEN}..${DUID_MAX_LEN}`);
  return n;
}

function writeDuid(d: Dhcpv6Duid, out: Uint8Array, o: number): void {
  if (d.kind === 'llt') {
    wr16(out, o, DuidType.LLT);
    wr16(out, o + 2, d.hardwareType);
    wr32(out, o + 4, d.time);
    out.set(d.linkLayerAddress, o + 8);
  } else if (d.kind === 'll') {
    wr16(out, o, DuidType.LL);
    wr16(out, o + 2, d.hardwareType);
    out.set(d.linkLayerAddress, o + 4);
  } else {
    wr16(out, o, d.type);
    out.set(d.data, o + 2);
  }
}

/** The wire bytes of a DUID (type first); throws RangeError for one that cannot be sent. */
export function encodeDuid(d: Dhcpv6Duid): Uint8Array {
  const out = new Uint8Array(duidLen(d));
  writeDuid(d, out, 0);
  return out;
}

/**
 * RFC 8415 §11: DUIDs compare as opaque byte strings. For DUIDs that can be encoded this
 * is byte equality of the encodings (an opaque DUID never has type 1 or 3).
 */
export function duidEquals(a: Dhcpv6Duid, b: Dhcpv6Duid): boolean {
  if (a.kind === 'llt') return b.kind === 'llt' && a.hardwareType === b.hardwareType && a.time === b.time && equalBytes(a.linkLayerAddress, b.linkLayerAddress);
  if (a.kind === 'll') return b.kind === 'll' && a.hardwareType === b.hardwareType && equalBytes(a.linkLayerAddress, b.linkLayerAddress);
  return b.kind === 'opaque' && a.type === b.type && equalBytes(a.data, b.data);
}

/** DUID-LL (RFC 8415 §11.4) of a link-layer address: the usual DUID of a device without stable storage. */
export function duidLl(mac: Uint8Array, hardwareType: number = DUID_HW_ETHERNET): Dhcpv6Duid {
  return { kind: 'll', hardwareType, linkLayerAddress: mac.slice() };
}

// ---------------------------------------------------------------- names

/** RFC 1035 §2.3.4. */
const MAX_NAME_WIRE = 255;
const MAX_LABEL = 63;

/**
 * Decodes the domain names of `v` (option 24 data) into `out`; false when malformed.
 * Root names are skipped (see the module comment).
 */
function parseNames(v: Uint8Array, out: string[]): boolean {
  let i = 0;
  while (i < v.length) {
    const start = i;
    let name = '';
    for (;;) {
      if (i >= v.length) return false; // cut before the root label
      const l = v[i] as number;
      if (l === 0) {
        i++;
        break;
      }
      if (l > MAX_LABEL || i + 1 + l > v.length) return false; // compression pointer, bad length
      if (i + 1 + l + 1 - start > MAX_NAME_WIRE) return false;
      if (name.length > 0) name += '.';
      for (let j = i + 1; j <= i + l; j++) {
        const c = v[j] as number;
        if (c === 0x2e) return false;
        name += String.fromCharCode(c);
      }
      i += 1 + l;
    }
    if (i - start > 1) out.push(name);
  }
  return true;
}

/** Wire bytes of a name (labels and root); throws RangeError when it cannot be encoded. */
function nameLen(name: string): number {
  if (name.length === 0) throw new RangeError('emitDhcpv6: empty domain name');
  let n = 1;
  for (const label of name.split('.')) {
    if (label.length === 0 || label.length > MAX_LABEL) throw new RangeError(`emitDhcpv6: bad label in domain name ${JSON.stringify(name)}`);
    for (let k = 0; k < label.length; k++) {
      if (label.charCodeAt(k) > 0xff) throw new RangeError(`emitDhcpv6: character above U+00FF in domain name ${JSON.stringify(name)}`);
    }
    n += 1 + label.length;
  }
  if (n > MAX_NAME_WIRE) throw new RangeError(`emitDhcpv6: domain name over 255 bytes: ${JSON.stringify(name)}`);
  return n;
}

function writeName(name: string, out: Uint8Array, o: number): number {
  for (const label of name.split('.')) {
    out[o++] = label.length;
    for (let k = 0; k < label.length; k++) out[o++] = label.charCodeAt(k);
  }
  out[o++] = 0;
  return o;
}

// ---------------------------------------------------------------- parse

function utf8(v: Uint8Array): string {
  // Non-fatal: invalid sequences become U+FFFD; a leading BOM is kept as a character.
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(v);
}

/** Decodes one typed option into `o`; false when its length or content is impossible. */
function typed(o: Mutable<Dhcpv6Options>, code: number, v: Uint8Array): boolean {
  const n = v.length;
  switch (code) {
    case O.CLIENTID:
    case O.SERVERID: {
      const d = parseDuid(v);
      if (typeof d === 'string') return false;
      if (code === O.CLIENTID) o.clientId = d;
      else o.serverId = d;
      return true;
    }
    case O.ORO: {
      if (n % 2 !== 0) return false;
      const codes: number[] = [];
      for (let i = 0; i < n; i += 2) codes.push(rd16(v, i));
      o.optionRequest = codes;
      return true;
    }
    case O.ELAPSED_TIME:
      if (n !== 2) return false;
      o.elapsedTime = rd16(v, 0);
      return true;
    case O.STATUS_CODE:
      if (n < 2) return false;
      o.status = { code: rd16(v, 0), message: utf8(v.subarray(2)) };
      return true;
    case O.DNS_SERVERS: {
      if (n % 16 !== 0) return false;
      const list: Uint8Array[] = [];
      for (let i = 0; i < n; i += 16) list.push(v.slice(i, i + 16));
      o.dnsServers = list;
      return true;
    }
    case O.DOMAIN_LIST: {
      const names: string[] = [];
      if (!parseNames(v, names)) return false;
      o.domainList = names;
      return true;
    }
    case O.INFORMATION_REFRESH_TIME:
    case O.SOL_MAX_RT:
    case O.INF_MAX_RT: {
      if (n !== 4) return false;
      const x = rd32(v, 0);
      if (code === O.INFORMATION_REFRESH_TIME) o.informationRefreshTime = x;
      else if (code === O.SOL_MAX_RT) o.solMaxRt = x;
      else o.infMaxRt = x;
      return true;
    }
    default:
      return false;
  }
}

/** Parses a DHCPv6 client/server message (the UDP payload). Never throws; the result holds copies. */
export function parseDhcpv6(buf: Uint8Array): Dhcpv6Repr | WireFault {
  const fault = checkDhcpv6(buf);
  if (fault !== undefined) return fault;
  const options: Mutable<Dhcpv6Options> = {};
  const seen = new Set<number>();
  let other: Dhcpv6RawOption[] | undefined;
  let i = DHCPV6_HEADER_LEN;
  while (i < buf.length) {
    if (i + DHCPV6_OPTION_HEADER_LEN > buf.length) return 'malformed';
    const code = rd16(buf, i);
    const len = rd16(buf, i + 2);
    const start = i + DHCPV6_OPTION_HEADER_LEN;
    if (start + len > buf.length) return 'malformed';
    const v = buf.subarray(start, start + len);
    if (TYPED_CODES.has(code)) {
      if (seen.has(code) || !typed(options, code, v)) return 'malformed';
      seen.add(code);
    } else {
      (other ??= []).push({ code, data: v.slice() });
    }
    i = start + len;
  }
  if (other !== undefined) options.other = other;
  return { msgType: rd8(buf, 0), transactionId: (rd8(buf, 1) << 16) | rd16(buf, 2), options };
}

// ---------------------------------------------------------------- emit

/** One option to write: its code, data length and a writer for the data at an offset. */
interface Piece {
  readonly code: number;
  readonly len: number;
  readonly write: (out: Uint8Array, o: number) => void;
}

function u32Piece(code: number, x: number, what: string): Piece {
  if (!u32ok(x)) throw new RangeError(`emitDhcpv6: ${what} out of range`);
  return { code, len: 4, write: (out, o) => wr32(out, o, x) };
}

/** The options in emit order, validated; throws RangeError on a caller bug. */
function pieces(opts: Dhcpv6Options): Piece[] {
  const out: Piece[] = [];
  if (opts.clientId !== undefined) {
    const d = opts.clientId;
    out.push({ code: O.CLIENTID, len: duidLen(d), write: (b, o) => writeDuid(d, b, o) });
  }
  if (opts.serverId !== undefined) {
    const d = opts.serverId;
    out.push({ code: O.SERVERID, len: duidLen(d), write: (b, o) => writeDuid(d, b, o) });
  }
  if (opts.optionRequest !== undefined) {
    const codes = opts.optionRequest;
    for (const c of codes) if (!u16ok(c)) throw new RangeError(`emitDhcpv6: requested option code ${c} out of range`);
    out.push({ code: O.ORO, len: 2 * codes.length, write: (b, o) => codes.forEach((c, k) => wr16(b, o + 2 * k, c)) });
  }
  if (opts.elapsedTime !== undefined) {
    const t = opts.elapsedTime;
    if (!u16ok(t)) throw new RangeError('emitDhcpv6: elapsed time out of range (0..0xffff hundredths of a second)');
    out.push({ code: O.ELAPSED_TIME, len: 2, write: (b, o) => wr16(b, o, t) });
  }
  if (opts.status !== undefined) {
    const s = opts.status;
    if (!u16ok(s.code)) throw new RangeError('emitDhcpv6: status code out of range');
    const msg = new TextEncoder().encode(s.message);
    out.push({ code: O.STATUS_CODE, len: 2 + msg.length, write: (b, o) => {
      wr16(b, o, s.code);
      b.set(msg, o + 2);
    } });
  }
  if (opts.dnsServers !== undefined) {
    const list = opts.dnsServers;
    for (const a of list) if (a.length !== 16) throw new RangeError('emitDhcpv6: a DNS server address is not 16 bytes');
    out.push({ code: O.DNS_SERVERS, len: 16 * list.length, write: (b, o) => list.forEach((a, k) => b.set(a, o + 16 * k)) });
  }
  if (opts.domainList !== undefined) {
    const names = opts.domainList;
    let len = 0;
    for (const n of names) len += nameLen(n);
    out.push({ code: O.DOMAIN_LIST, len, write: (b, o) => {
      let p = o;
      for (const n of names) p = writeName(n, b, p);
    } });
  }
  if (opts.informationRefreshTime !== undefined) out.push(u32Piece(O.INFORMATION_REFRESH_TIME, opts.informationRefreshTime, 'information refresh time'));
  if (opts.solMaxRt !== undefined) out.push(u32Piece(O.SOL_MAX_RT, opts.solMaxRt, 'SOL_MAX_RT'));
  if (opts.infMaxRt !== undefined) out.push(u32Piece(O.INF_MAX_RT, opts.infMaxRt, 'INF_MAX_RT'));
  for (const r of opts.other ?? []) {
    if (!u16ok(r.code) || TYPED_CODES.has(r.code)) throw new RangeError(`emitDhcpv6: option ${r.code} cannot go in 'other' (out of range or typed)`);
    const data = r.data;
    out.push({ code: r.code, len: data.length, write: (b, o) => b.set(data, o) });
  }
  for (const p of out) if (p.len > 0xffff) throw new RangeError(`emitDhcpv6: option ${p.code} is over 65535 bytes`);
  return out;
}

function checkHeader(repr: Dhcpv6Repr): void {
  const t = repr.msgType;
  if (!Number.isInteger(t) || t < 1 || t > 0xff || isRelay(t)) throw new RangeError(`emitDhcpv6: message type ${t} (1..255, not a relay type)`);
  const x = repr.transactionId;
  if (!Number.isInteger(x) || x < 0 || x > DHCPV6_MAX_TRANSACTION_ID) throw new RangeError('emitDhcpv6: transaction id is 24 bits');
}

function totalLen(list: readonly Piece[]): number {
  let n = DHCPV6_HEADER_LEN;
  for (const p of list) n += DHCPV6_OPTION_HEADER_LEN + p.len;
  return n;
}

/** Bytes `emitDhcpv6` writes. Throws RangeError on a caller bug (as `emitDhcpv6`). */
export function dhcpv6BufferLen(repr: Dhcpv6Repr): number {
  checkHeader(repr);
  return totalLen(pieces(repr.options));
}

/**
 * Writes the message at the start of `out` and returns its length
 * (`dhcpv6BufferLen(repr)`); nothing past it is touched. Throws RangeError only on a
 * caller bug: `out` too short, message type 0 / over 255 / relay, a transaction id over
 * 24 bits, a field out of range, an unencodable DUID or domain name, a DNS address not 16
 * bytes, an option over 65535 bytes, a typed code in `other`.
 */
export function emitDhcpv6(repr: Dhcpv6Repr, out: Uint8Array): number {
  checkHeader(repr);
  const list = pieces(repr.options);
  const len = totalLen(list);
  if (out.length < len) throw new RangeError('emitDhcpv6: buffer too small');
  wr8(out, 0, repr.msgType);
  wr8(out, 1, repr.transactionId >>> 16);
  wr16(out, 2, repr.transactionId);
  let o = DHCPV6_HEADER_LEN;
  for (const p of list) {
    wr16(out, o, p.code);
    wr16(out, o + 2, p.len);
    p.write(out, o + DHCPV6_OPTION_HEADER_LEN);
    o += DHCPV6_OPTION_HEADER_LEN + p.len;
  }
  return len;
}

/** `emitDhcpv6` into a new buffer of the right size. */
export function encodeDhcpv6(repr: Dhcpv6Repr): Uint8Array {
  const out = new Uint8Array(dhcpv6BufferLen(repr));
  emitDhcpv6(repr, out);
  return out;
}

/** Name of a message type for diagnostics ('SOLICIT', ..., 'INFORMATION_REQUEST', or 'TYPE<n>'). */
export function dhcpv6MessageTypeName(t: number): string {
  for (const [k, v] of Object.entries(Dhcpv6MessageType)) if (v === t) return k;
  return `TYPE${t}`;
}
