/**
 * DHCPv4 messages (RFC 2131 §2, options RFC 2132, long options RFC 3396) over UDP ports
 * 67 (server) and 68 (client).
 *
 * Layout (RFC 2131 figure 1): op, htype, hlen, hops (1 byte each), xid (4), secs (2),
 * flags (2; bit 15 = BROADCAST), ciaddr, yiaddr, siaddr, giaddr (4 each), chaddr (16),
 * sname (64), file (128), then the magic cookie 99.130.83.99 and the options.
 *
 * `Dhcpv4Repr` is the validated meaning. Addresses are uint32 numbers (as inside the
 * stack), `chaddr` the first `hlen` bytes of the field, `sname`/`file` text up to the
 * first NUL (one character per byte, code 0-255: lossless). Options:
 * - typed fields for the options the client and server use (`Dhcpv4Options`);
 * - every other option in `other`, in order of first appearance;
 * - RFC 3396: all instances of one option code are concatenated in order (options field,
 *   then `file`, then `sname` when option 52 overloads them, RFC 2131 §4.1), and emit
 *   splits values longer than 255 bytes into consecutive instances (address lists at 252
 *   bytes, so each instance is still a whole list for parsers without RFC 3396, such as
 *   Wireshark's, which flags a 255-byte router or DNS option as an error);
 * - option 52 (overload) is honoured on parse and never emitted (emit always fits the
 *   options into the options field, which simply grows); an overloaded `sname`/`file`
 *   parses as ''.
 * - string options (12, 15, 56) drop trailing NULs (some clients send them).
 *
 * Faults: under 240 bytes → `'truncated'`; op not 1/2, hlen > 16, an option running past
 * its area, a bad overload value, or a typed option of impossible length (e.g. a 3-byte
 * subnet mask, an MTU below 68, an empty router list) → `'malformed'`; no magic cookie
 * (plain BOOTP) → `'unsupported'`. A missing END option is tolerated (the area ends).
 * `parseDhcpv4` never throws; the repr holds copies (no aliasing of `buf`).
 *
 * `emitDhcpv4` writes `dhcpv4BufferLen(repr)` bytes: END after the options, zero padding
 * to at least 300 bytes (the BOOTP minimum, RFC 951 / RFC 1542 §2.1, which some relays and
 * servers still enforce). Message type (53) goes first, then typed options by code, then
 * `other`.
 */
import { concatBytes, latin1Text, rd16, rd32, rd8, wr16, wr32, wr8 } from './bytes.ts';
import type { WireFault } from './fault.ts';

export const DHCPV4_SERVER_PORT = 67;
export const DHCPV4_CLIENT_PORT = 68;
/** RFC 2131 §3: the first four octets of the options field, 99.130.83.99. */
export const DHCPV4_MAGIC_COOKIE = 0x63825363;
/** Fixed header (236) plus the magic cookie. */
export const DHCPV4_FIXED_LEN = 240;
/** RFC 1542 §2.1: BOOTP messages are at least 300 bytes; we pad to it. */
export const DHCPV4_MIN_LEN = 300;
/** RFC 2131 §2: BROADCAST bit of `flags`. */
export const DHCPV4_FLAG_BROADCAST = 0x8000;
/** RFC 2132 §9.10: the smallest maximum message size a client may announce. */
export const DHCPV4_MIN_MAX_MESSAGE_SIZE = 576;
/** `op`. */
export const BootpOp = { REQUEST: 1, REPLY: 2 } as const;
/** `htype` for Ethernet (RFC 1700 hardware types). */
export const DHCPV4_HTYPE_ETHERNET = 1;

/** RFC 2131 §2 field offsets. */
const F = {
  OP: 0, HTYPE: 1, HLEN: 2, HOPS: 3, XID: 4, SECS: 8, FLAGS: 10,
  CIADDR: 12, YIADDR: 16, SIADDR: 20, GIADDR: 24, CHADDR: 28, SNAME: 44, FILE: 108, COOKIE: 236, OPTIONS: 240,
} as const;
const CHADDR_LEN = 16;
const SNAME_LEN = 64;
const FILE_LEN = 128;

/** RFC 2132 §9.6 message types (option 53). Others pass through as numbers. */
export const Dhcpv4MessageType = {
  DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8,
} as const;

/** Option codes (RFC 2132). */
export const Dhcpv4Option = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVER: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  INTERFACE_MTU: 26,
  BROADCAST_ADDRESS: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  END: 255,
} as const;

/** An option without a typed field: code and value (RFC 3396-concatenated). */
export interface Dhcpv4RawOption {
  readonly code: number;
  readonly data: Uint8Array;
}

/** The options with typed fields. Times are seconds (0xffffffff = infinite), addresses uint32. */
export interface Dhcpv4Options {
  /** 53. */
  readonly messageType?: number;
  /** 1. */
  readonly subnetMask?: number;
  /** 3, at least one. */
  readonly routers?: readonly number[];
  /** 6, at least one. */
  readonly dnsServers?: readonly number[];
  /** 12. */
  readonly hostname?: string;
  /** 15. */
  readonly domainName?: string;
  /** 26, >= 68. */
  readonly interfaceMtu?: number;
  /** 28. */
  readonly broadcastAddress?: number;
  /** 50. */
  readonly requestedIp?: number;
  /** 51. */
  readonly leaseTime?: number;
  /** 54. */
  readonly serverId?: number;
  /** 55: option codes. */
  readonly parameterRequestList?: Uint8Array;
  /** 56: error text (NAK, DECLINE). */
  readonly message?: string;
  /** 57. */
  readonly maxMessageSize?: number;
  /** 58: T1. */
  readonly renewalTime?: number;
  /** 59: T2. */
  readonly rebindingTime?: number;
  /** 61: type byte and identifier. */
  readonly clientId?: Uint8Array;
  /** Every other option (not 0, 52, 255, nor a typed code), in order of first appearance. */
  readonly other?: readonly Dhcpv4RawOption[];
}

/** Validated meaning of a DHCP message. */
export interface Dhcpv4Repr {
  /** 1 BOOTREQUEST, 2 BOOTREPLY. */
  readonly op: number;
  readonly htype: number;
  /** Client hardware address: the first `hlen` (<= 16) bytes of the field. */
  readonly chaddr: Uint8Array;
  readonly hops: number;
  readonly xid: number;
  readonly secs: number;
  /** Bit 15 (`DHCPV4_FLAG_BROADCAST`) is BROADCAST; the other bits are sent as given. */
  readonly flags: number;
  readonly ciaddr: number;
  readonly yiaddr: number;
  readonly siaddr: number;
  readonly giaddr: number;
  /** Server host name / boot file name, text up to the first NUL ('' when overloaded with options). */
  readonly sname: string;
  readonly file: string;
  readonly options: Dhcpv4Options;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Codes with a typed field in `Dhcpv4Options` (and the framing codes): never in `other`. */
const TYPED_CODES: ReadonlySet<number> = new Set([0, 1, 3, 6, 12, 15, 26, 28, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 61, 255]);

/** True when `code` has a typed field (or is PAD, END or OVERLOAD), so it never appears in `other`. */
export function isTypedDhcpv4Option(code: number): boolean {
  return TYPED_CODES.has(code);
}

/**
 * Structure check of the fixed part: `'truncated'` under 240 bytes, `'malformed'` for an
 * op other than 1/2 or hlen > 16, `'unsupported'` without the magic cookie.
 */
export function checkDhcpv4(buf: Uint8Array): WireFault | undefined {
  if (buf.length < DHCPV4_FIXED_LEN) return 'truncated';
  const op = rd8(buf, F.OP);
  if (op !== BootpOp.REQUEST && op !== BootpOp.REPLY) return 'malformed';
  if (rd8(buf, F.HLEN) > CHADDR_LEN) return 'malformed';
  if (rd32(buf, F.COOKIE) !== DHCPV4_MAGIC_COOKIE) return 'unsupported';
  return undefined;
}

/** Zero-copy access to the fixed fields; call `checkDhcpv4` first on untrusted bytes. */
export class Dhcpv4View {
  readonly buf: Uint8Array;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }
  get op(): number {
    return rd8(this.buf, F.OP);
  }
  get htype(): number {
    return rd8(this.buf, F.HTYPE);
  }
  get hlen(): number {
    return rd8(this.buf, F.HLEN);
  }
  get hops(): number {
    return rd8(this.buf, F.HOPS);
  }
  get xid(): number {
    return rd32(this.buf, F.XID);
  }
  get secs(): number {
    return rd16(this.buf, F.SECS);
  }
  get flags(): number {
    return rd16(this.buf, F.FLAGS);
  }
  get broadcast(): boolean {
    return (this.flags & DHCPV4_FLAG_BROADCAST) !== 0;
  }
  get ciaddr(): number {
    return rd32(this.buf, F.CIADDR);
  }
  get yiaddr(): number {
    return rd32(this.buf, F.YIADDR);
  }
  get siaddr(): number {
    return rd32(this.buf, F.SIADDR);
  }
  get giaddr(): number {
    return rd32(this.buf, F.GIADDR);
  }
  /** The whole 16-byte field (aliases the buffer). */
  get chaddr(): Uint8Array {
    return this.buf.subarray(F.CHADDR, F.CHADDR + CHADDR_LEN);
  }
  /** The 64-byte field (aliases the buffer). */
  get sname(): Uint8Array {
    return this.buf.subarray(F.SNAME, F.SNAME + SNAME_LEN);
  }
  /** The 128-byte field (aliases the buffer). */
  get file(): Uint8Array {
    return this.buf.subarray(F.FILE, F.FILE + FILE_LEN);
  }
  get cookie(): number {
    return rd32(this.buf, F.COOKIE);
  }
  /** Options area after the cookie (aliases the buffer). */
  get options(): Uint8Array {
    return this.buf.subarray(F.OPTIONS);
  }
}

// ---------------------------------------------------------------- parse

/** Collects option instances of `buf[start, end)` into `parts` (code -> values in order). */
function walkOptions(buf: Uint8Array, start: number, end: number, parts: Map<number, Uint8Array[]>): WireFault | undefined {
  let i = start;
  while (i < end) {
    const code = buf[i] as number;
    if (code === Dhcpv4Option.PAD) {
      i++;
      continue;
    }
    if (code === Dhcpv4Option.END) return undefined;
    if (i + 1 >= end) return 'malformed';
    const len = buf[i + 1] as number;
    if (i + 2 + len > end) return 'malformed';
    const list = parts.get(code);
    const value = buf.subarray(i + 2, i + 2 + len);
    if (list === undefined) parts.set(code, [value]);
    else list.push(value);
    i += 2 + len;
  }
  return undefined;
}


/** Bytes as text, one character per byte, up to the first NUL (fixed fields) or without trailing NULs (options). */
function latin1(b: Uint8Array, stopAtNul: boolean): string {
  let end = b.length;
  if (stopAtNul) {
    const z = b.indexOf(0);
    if (z >= 0) end = z;
  } else {
    while (end > 0 && b[end - 1] === 0) end--;
  }
  return latin1Text(b, 0, end);
}

function addrList(v: Uint8Array): number[] | undefined {
  if (v.length === 0 || v.length % 4 !== 0) return undefined;
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 4) out.push(rd32(v, i));
  return out;
}

/** Decodes the typed options; false when one has an impossible length or value. */
function typed(o: Mutable<Dhcpv4Options>, code: number, v: Uint8Array): boolean {
  const n = v.length;
  switch (code) {
    case Dhcpv4Option.MESSAGE_TYPE:
      if (n !== 1) return false;
      o.messageType = v[0] as number;
      return true;
    case Dhcpv4Option.SUBNET_MASK:
    case Dhcpv4Option.BROADCAST_ADDRESS:
    case Dhcpv4Option.REQUESTED_IP:
    case Dhcpv4Option.SERVER_ID:
    case Dhcpv4Option.LEASE_TIME:
    case Dhcpv4Option.RENEWAL_TIME:
    case Dhcpv4Option.REBINDING_TIME: {
      if (n !== 4) return false;
      const x = rd32(v, 0);
      if (code === Dhcpv4Option.SUBNET_MASK) o.subnetMask = x;
      else if (code === Dhcpv4Option.BROADCAST_ADDRESS) o.broadcastAddress = x;
      else if (code === Dhcpv4Option.REQUESTED_IP) o.requestedIp = x;
      else if (code === Dhcpv4Option.SERVER_ID) o.serverId = x;
      else if (code === Dhcpv4Option.LEASE_TIME) o.leaseTime = x;
      else if (code === Dhcpv4Option.RENEWAL_TIME) o.renewalTime = x;
      else o.rebindingTime = x;
      return true;
    }
    case Dhcpv4Option.ROUTER:
    case Dhcpv4Option.DNS_SERVER: {
      const list = addrList(v);
      if (list === undefined) return false;
      if (code === Dhcpv4Option.ROUTER) o.routers = list;
      else o.dnsServers = list;
      return true;
    }
    case Dhcpv4Option.HOSTNAME:
      o.hostname = latin1(v, false);
      return true;
    case Dhcpv4Option.DOMAIN_NAME:
      o.domainName = latin1(v, false);
      return true;
    case Dhcpv4Option.MESSAGE:
      o.message = latin1(v, false);
      return true;
    case Dhcpv4Option.INTERFACE_MTU:
      if (n !== 2 || rd16(v, 0) < 68) return false; // RFC 2132 §5.1: minimum 68
      o.interfaceMtu = rd16(v, 0);
      return true;
    case Dhcpv4Option.MAX_MESSAGE_SIZE:
      if (n !== 2) return false;
      o.maxMessageSize = rd16(v, 0);
      return true;
    case Dhcpv4Option.PARAMETER_REQUEST_LIST:
      o.parameterRequestList = v;
      return true;
    case Dhcpv4Option.CLIENT_ID:
      if (n < 1) return false;
      o.clientId = v;
      return true;
    default:
      return false;
  }
}

/** Parses a DHCP message (the UDP payload). Never throws; the result holds copies. */
export function parseDhcpv4(buf: Uint8Array): Dhcpv4Repr | WireFault {
  const fault = checkDhcpv4(buf);
  if (fault !== undefined) return fault;
  const parts = new Map<number, Uint8Array[]>();
  const f1 = walkOptions(buf, F.OPTIONS, buf.length, parts);
  if (f1 !== undefined) return f1;
  // RFC 2131 §4.1 / RFC 2132 §9.3: option 52 in the options field says `file` (1),
  // `sname` (2) or both (3) hold options too; they are read after the options field,
  // `file` first. An overload option found there is ignored.
  let overload = 0;
  const ov = parts.get(Dhcpv4Option.OVERLOAD);
  if (ov !== undefined) {
    const v = concatBytes(ov);
    if (v.length !== 1 || (v[0] as number) < 1 || (v[0] as number) > 3) return 'malformed';
    overload = v[0] as number;
    parts.delete(Dhcpv4Option.OVERLOAD);
  }
  if ((overload & 1) !== 0) {
    const f = walkOptions(buf, F.FILE, F.FILE + FILE_LEN, parts);
    if (f !== undefined) return f;
  }
  if ((overload & 2) !== 0) {
    const f = walkOptions(buf, F.SNAME, F.SNAME + SNAME_LEN, parts);
    if (f !== undefined) return f;
  }
  parts.delete(Dhcpv4Option.OVERLOAD);
  const options: Mutable<Dhcpv4Options> = {};
  const other: Dhcpv4RawOption[] = [];
  for (const [code, list] of parts) {
    const v = concatBytes(list);
    if (TYPED_CODES.has(code)) {
      if (!typed(options, code, v)) return 'malformed';
    } else {
      other.push({ code, data: v });
    }
  }
  if (other.length > 0) options.other = other;
  const hlen = rd8(buf, F.HLEN);
  return {
    op: rd8(buf, F.OP),
    htype: rd8(buf, F.HTYPE),
    chaddr: buf.slice(F.CHADDR, F.CHADDR + hlen),
    hops: rd8(buf, F.HOPS),
    xid: rd32(buf, F.XID),
    secs: rd16(buf, F.SECS),
    flags: rd16(buf, F.FLAGS),
    ciaddr: rd32(buf, F.CIADDR),
    yiaddr: rd32(buf, F.YIADDR),
    siaddr: rd32(buf, F.SIADDR),
    giaddr: rd32(buf, F.GIADDR),
    sname: (overload & 2) !== 0 ? '' : latin1(buf.subarray(F.SNAME, F.SNAME + SNAME_LEN), true),
    file: (overload & 1) !== 0 ? '' : latin1(buf.subarray(F.FILE, F.FILE + FILE_LEN), true),
    options,
  };
}

// ---------------------------------------------------------------- emit

function textBytes(s: string, what: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`emitDhcpv4: ${what} has a character above U+00FF`);
    out[i] = c;
  }
  return out;
}

function u32Bytes(x: number): Uint8Array {
  const b = new Uint8Array(4);
  wr32(b, 0, x);
  return b;
}

function u16Bytes(x: number): Uint8Array {
  const b = new Uint8Array(2);
  wr16(b, 0, x);
  return b;
}

function addrBytes(list: readonly number[], what: string): Uint8Array {
  if (list.length === 0) throw new RangeError(`emitDhcpv4: empty ${what} list`);
  const b = new Uint8Array(4 * list.length);
  for (let i = 0; i < list.length; i++) wr32(b, 4 * i, list[i] as number);
  return b;
}

/** The options as (code, value) pairs in emit order; throws RangeError on a caller bug. */
function optionList(o: Dhcpv4Options): Dhcpv4RawOption[] {
  const out: Dhcpv4RawOption[] = [];
  const add = (code: number, data: Uint8Array | undefined): void => {
    if (data !== undefined) out.push({ code, data });
  };
  const u32 = (x: number | undefined): Uint8Array | undefined => (x === undefined ? undefined : u32Bytes(x));
  if (o.messageType !== undefined) add(Dhcpv4Option.MESSAGE_TYPE, Uint8Array.of(o.messageType & 0xff));
  add(Dhcpv4Option.SUBNET_MASK, u32(o.subnetMask));
  if (o.routers !== undefined) add(Dhcpv4Option.ROUTER, addrBytes(o.routers, 'router'));
  if (o.dnsServers !== undefined) add(Dhcpv4Option.DNS_SERVER, addrBytes(o.dnsServers, 'DNS server'));
  if (o.hostname !== undefined) add(Dhcpv4Option.HOSTNAME, textBytes(o.hostname, 'hostname'));
  if (o.domainName !== undefined) add(Dhcpv4Option.DOMAIN_NAME, textBytes(o.domainName, 'domain name'));
  if (o.interfaceMtu !== undefined) {
    if (o.interfaceMtu < 68 || o.interfaceMtu > 0xffff) throw new RangeError('emitDhcpv4: interface MTU out of range');
    add(Dhcpv4Option.INTERFACE_MTU, u16Bytes(o.interfaceMtu));
  }
  add(Dhcpv4Option.BROADCAST_ADDRESS, u32(o.broadcastAddress));
  add(Dhcpv4Option.REQUESTED_IP, u32(o.requestedIp));
  add(Dhcpv4Option.LEASE_TIME, u32(o.leaseTime));
  add(Dhcpv4Option.SERVER_ID, u32(o.serverId));
  add(Dhcpv4Option.PARAMETER_REQUEST_LIST, o.parameterRequestList);
  if (o.message !== undefined) add(Dhcpv4Option.MESSAGE, textBytes(o.message, 'message'));
  if (o.maxMessageSize !== undefined) add(Dhcpv4Option.MAX_MESSAGE_SIZE, u16Bytes(o.maxMessageSize));
  add(Dhcpv4Option.RENEWAL_TIME, u32(o.renewalTime));
  add(Dhcpv4Option.REBINDING_TIME, u32(o.rebindingTime));
  if (o.clientId !== undefined) {
    if (o.clientId.length === 0) throw new RangeError('emitDhcpv4: empty client identifier');
    add(Dhcpv4Option.CLIENT_ID, o.clientId);
  }
  if (o.other !== undefined) {
    const seen = new Set<number>();
    for (const r of o.other) {
      if (!Number.isInteger(r.code) || r.code < 1 || r.code > 254 || TYPED_CODES.has(r.code) || seen.has(r.code)) {
        throw new RangeError(`emitDhcpv4: option ${r.code} cannot go in 'other' (framing, typed or duplicate)`);
      }
      seen.add(r.code);
      out.push(r);
    }
  }
  return out;
}

/** Largest instance of an option (RFC 3396 pieces): whole addresses for the address lists. */
function pieceLen(code: number): number {
  return code === Dhcpv4Option.ROUTER || code === Dhcpv4Option.DNS_SERVER ? 252 : 255;
}

/** Bytes one option takes: RFC 3396 splits values over 255 bytes into consecutive instances. */
function encodedLen(code: number, data: Uint8Array): number {
  const pieces = Math.max(1, Math.ceil(data.length / pieceLen(code)));
  return 2 * pieces + data.length;
}

/** Bytes `emitDhcpv4` writes: fixed part, options, END, padding to 300. */
export function dhcpv4BufferLen(repr: Dhcpv4Repr): number {
  let n = DHCPV4_FIXED_LEN + 1;
  for (const o of optionList(repr.options)) n += encodedLen(o.code, o.data);
  return Math.max(DHCPV4_MIN_LEN, n);
}

/**
 * Writes the message at the start of `out` and returns its length
 * (`dhcpv4BufferLen(repr)`); the bytes up to that length are all written (padding is
 * zero). Throws RangeError only on a caller bug: `out` too short, `chaddr` over 16
 * bytes, `sname`/`file` too long or with characters above U+00FF, an impossible typed
 * option (empty list, MTU < 68), or a framing/typed/duplicate code in `other`.
 */
export function emitDhcpv4(repr: Dhcpv4Repr, out: Uint8Array): number {
  const opts = optionList(repr.options);
  let len = DHCPV4_FIXED_LEN + 1;
  for (const o of opts) len += encodedLen(o.code, o.data);
  len = Math.max(DHCPV4_MIN_LEN, len);
  if (out.length < len) throw new RangeError('emitDhcpv4: buffer too small');
  if (repr.chaddr.length > CHADDR_LEN) throw new RangeError('emitDhcpv4: chaddr over 16 bytes');
  const sname = textBytes(repr.sname, 'sname');
  const file = textBytes(repr.file, 'file');
  if (sname.length > SNAME_LEN || file.length > FILE_LEN) throw new RangeError('emitDhcpv4: sname or file too long');
  out.fill(0, 0, len);
  wr8(out, F.OP, repr.op);
  wr8(out, F.HTYPE, repr.htype);
  wr8(out, F.HLEN, repr.chaddr.length);
  wr8(out, F.HOPS, repr.hops);
  wr32(out, F.XID, repr.xid);
  wr16(out, F.SECS, repr.secs);
  wr16(out, F.FLAGS, repr.flags);
  wr32(out, F.CIADDR, repr.ciaddr);
  wr32(out, F.YIADDR, repr.yiaddr);
  wr32(out, F.SIADDR, repr.siaddr);
  wr32(out, F.GIADDR, repr.giaddr);
  out.set(repr.chaddr, F.CHADDR);
  out.set(sname, F.SNAME);
  out.set(file, F.FILE);
  wr32(out, F.COOKIE, DHCPV4_MAGIC_COOKIE);
  let o = F.OPTIONS;
  for (const { code, data } of opts) {
    const piece = pieceLen(code);
    let pos = 0;
    do {
      const n = Math.min(piece, data.length - pos);
      out[o] = code;
      out[o + 1] = n;
      out.set(data.subarray(pos, pos + n), o + 2);
      o += 2 + n;
      pos += n;
    } while (pos < data.length);
  }
  out[o] = Dhcpv4Option.END;
  return len;
}

/** `emitDhcpv4` into a new buffer of the right size. */
export function encodeDhcpv4(repr: Dhcpv4Repr): Uint8Array {
  const out = new Uint8Array(dhcpv4BufferLen(repr));
  emitDhcpv4(repr, out);
  return out;
}

/** Name of a message type for diagnostics ('DISCOVER', ..., or 'TYPE<n>'). */
export function dhcpv4MessageTypeName(t: number | undefined): string {
  for (const [k, v] of Object.entries(Dhcpv4MessageType)) if (v === t) return k;
  return t === undefined ? 'NONE' : `TYPE${t}`;
}
