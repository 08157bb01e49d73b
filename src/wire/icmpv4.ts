/**
 * ICMP for IPv4 (RFC 792).
 *
 * Every message starts with type (1), code (1), checksum (2) and a 4-byte "rest of
 * header" whose meaning depends on the type; the checksum covers the whole message
 * (header and data). `parseIcmpv4` takes the whole IPv4 payload (`ipv4Payload`, which
 * already stops at the total length).
 *
 * Decoded kinds (`Icmpv4Repr.kind`):
 * - `'echo-request'` (8) / `'echo-reply'` (0), code 0: identifier, sequence number, data;
 * - `'dest-unreachable'` (3): code, next-hop MTU (RFC 1191 §4, code 4 only; 0 otherwise),
 *   and the quoted datagram (original IP header + at least 64 bits of its data);
 * - `'time-exceeded'` (11): code and the quoted datagram;
 * - `'other'`: every other type — and echo messages with a nonzero code — pass through with
 *   type, code and the raw 32-bit rest of header, so nothing is lost.
 * "Unused" rest-of-header bytes of unreachable / time exceeded are ignored on parse (and
 * with them RFC 4884's length byte) and sent as zeros.
 *
 * Faults: fewer than 8 bytes → `'truncated'`; checksum mismatch → `'bad-checksum'`
 * (unless `checksumOffload`). Quoted datagrams are not validated here; use
 * `parseIpv4Quoted` on `data` to demultiplex an error to its socket.
 *
 * Aliasing: `data` in a parsed Repr is a `subarray` of the message.
 */
import { rd16, rd32, rd8, wr16, wr32, wr8 } from './bytes.ts';
import { foldChecksum, onesSum } from './checksum.ts';
import type { WireFault } from './fault.ts';
import { IPV4_HEADER_LEN } from './ipv4.ts';

/** Type, code, checksum and the 4-byte rest of header. */
export const ICMPV4_HEADER_LEN = 8;
/**
 * RFC 1812 §4.3.2.3: an ICMP error "SHOULD contain as much of the original datagram as
 * possible without the length of the ICMP datagram exceeding 576 bytes" (the whole IP
 * datagram carrying the error, RFC 1122 §3.2.2 alike).
 */
export const ICMPV4_ERROR_MAX_DATAGRAM_LEN = 576;
/** RFC 792: the quote holds the original "Internet Header + 64 bits of Original Data Datagram". */
export const ICMPV4_ERROR_MIN_QUOTED_DATA = 8;

/** RFC 792 field offsets. */
const F = { TYPE: 0, CODE: 1, CHECKSUM: 2, IDENT: 4, SEQ: 6, REST: 4, MTU: 6, DATA: 8 } as const;

/** RFC 792 message types (IANA "ICMP Type Numbers"). Others pass through. */
export const Icmpv4Type = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
} as const;

/** Destination unreachable codes: RFC 792 (0–5), RFC 1122 §3.2.2.1 (6–12), RFC 1812 §5.2.7.1 (13–15). */
export const Icmpv4Unreachable = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  /** "fragmentation needed and DF set"; carries the next-hop MTU (RFC 1191 §4). */
  FRAG_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
  NET_UNKNOWN: 6,
  HOST_UNKNOWN: 7,
  HOST_ISOLATED: 8,
  NET_PROHIBITED: 9,
  HOST_PROHIBITED: 10,
  NET_TOS: 11,
  HOST_TOS: 12,
  COMM_PROHIBITED: 13,
  HOST_PRECEDENCE: 14,
  PRECEDENCE_CUTOFF: 15,
} as const;

/** Time exceeded codes (RFC 792). */
export const Icmpv4TimeExceeded = { TTL: 0, REASSEMBLY: 1 } as const;

/** Validated meaning of an ICMPv4 message. */
export type Icmpv4Repr =
  | { readonly kind: 'echo-request' | 'echo-reply'; readonly ident: number; readonly seq: number; readonly data: Uint8Array }
  | { readonly kind: 'dest-unreachable'; readonly code: number; readonly nextHopMtu: number; readonly data: Uint8Array }
  | { readonly kind: 'time-exceeded'; readonly code: number; readonly data: Uint8Array }
  | { readonly kind: 'other'; readonly type: number; readonly code: number; readonly rest: number; readonly data: Uint8Array };

/** True for the RFC 792 error types (3, 4, 5, 11, 12): never answer these with an error (RFC 1122 §3.2.2). */
export function isIcmpv4ErrorType(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** Always `ICMPV4_HEADER_LEN` (8). */
export function icmpv4HeaderLen(_repr?: Icmpv4Repr): number {
  return ICMPV4_HEADER_LEN;
}

/** Header + data: what `emitIcmpv4` writes (the checksum covers the data, so emit writes it too). */
export function icmpv4BufferLen(repr: Icmpv4Repr): number {
  return ICMPV4_HEADER_LEN + repr.data.length;
}

/** `'truncated'` below 8 bytes. */
export function checkIcmpv4(buf: Uint8Array): WireFault | undefined {
  return buf.length < ICMPV4_HEADER_LEN ? 'truncated' : undefined;
}

/** True when the checksum over the whole message verifies. */
export function verifyIcmpv4Checksum(buf: Uint8Array): boolean {
  return foldChecksum(onesSum(buf, 0, buf.length)) === 0;
}

/** Parses a whole ICMPv4 message (the IPv4 payload). `data` aliases `buf`. */
export function parseIcmpv4(buf: Uint8Array, checksumOffload = false): Icmpv4Repr | WireFault {
  const fault = checkIcmpv4(buf);
  if (fault !== undefined) return fault;
  if (!checksumOffload && !verifyIcmpv4Checksum(buf)) return 'bad-checksum';
  const type = buf[F.TYPE] as number;
  const code = buf[F.CODE] as number;
  const data = buf.subarray(F.DATA);
  switch (type) {
    case Icmpv4Type.ECHO_REQUEST:
    case Icmpv4Type.ECHO_REPLY:
      if (code !== 0) break;
      return {
        kind: type === Icmpv4Type.ECHO_REQUEST ? 'echo-request' : 'echo-reply',
        ident: rd16(buf, F.IDENT),
        seq: rd16(buf, F.SEQ),
        data,
      };
    case Icmpv4Type.DEST_UNREACHABLE:
      return { kind: 'dest-unreachable', code, nextHopMtu: code === Icmpv4Unreachable.FRAG_NEEDED ? rd16(buf, F.MTU) : 0, data };
    case Icmpv4Type.TIME_EXCEEDED:
      return { kind: 'time-exceeded', code, data };
  }
  return { kind: 'other', type, code, rest: rd32(buf, F.REST), data };
}

/**
 * Writes exactly `icmpv4BufferLen(repr)` bytes at the start of `out`: the header, a copy of
 * `data` (skipped when `data` already sits at `out[8]`), and the checksum over both.
 * Field values are masked to their widths. Throws RangeError only when `out` is too small.
 */
export function emitIcmpv4(repr: Icmpv4Repr, out: Uint8Array): void {
  const len = icmpv4BufferLen(repr);
  if (out.length < len) throw new RangeError('emitIcmpv4: buffer too small');
  switch (repr.kind) {
    case 'echo-request':
    case 'echo-reply':
      wr8(out, F.TYPE, repr.kind === 'echo-request' ? Icmpv4Type.ECHO_REQUEST : Icmpv4Type.ECHO_REPLY);
      wr8(out, F.CODE, 0);
      wr16(out, F.IDENT, repr.ident);
      wr16(out, F.SEQ, repr.seq);
      break;
    case 'dest-unreachable':
      wr8(out, F.TYPE, Icmpv4Type.DEST_UNREACHABLE);
      wr8(out, F.CODE, repr.code);
      wr16(out, F.REST, 0);
      wr16(out, F.MTU, repr.code === Icmpv4Unreachable.FRAG_NEEDED ? repr.nextHopMtu : 0);
      break;
    case 'time-exceeded':
      wr8(out, F.TYPE, Icmpv4Type.TIME_EXCEEDED);
      wr8(out, F.CODE, repr.code);
      wr32(out, F.REST, 0);
      break;
    case 'other':
      wr8(out, F.TYPE, repr.type);
      wr8(out, F.CODE, repr.code);
      wr32(out, F.REST, repr.rest);
      break;
  }
  const d = repr.data;
  if (!(d.buffer === out.buffer && d.byteOffset === out.byteOffset + F.DATA)) out.set(d, F.DATA);
  wr16(out, F.CHECKSUM, 0);
  wr16(out, F.CHECKSUM, foldChecksum(onesSum(out, 0, len)));
}

/**
 * The part of an offending IPv4 datagram to quote in an ICMP error: as much as fits in a
 * 576-byte error datagram (RFC 1812 §4.3.2.3) — 576 − `outerIpHeaderLen` − 8 bytes, 548
 * with a plain 20-byte outer header — but never beyond the datagram's own total length
 * (Ethernet padding is not quoted). Returns a `subarray` of `offending` (no copy).
 */
export function icmpv4ErrorQuote(offending: Uint8Array, outerIpHeaderLen: number = IPV4_HEADER_LEN): Uint8Array {
  let n = offending.length;
  if (n >= IPV4_HEADER_LEN) {
    const total = rd16(offending, 2);
    if (total >= IPV4_HEADER_LEN && total < n) n = total;
  }
  const room = ICMPV4_ERROR_MAX_DATAGRAM_LEN - outerIpHeaderLen - ICMPV4_HEADER_LEN;
  return offending.subarray(0, Math.max(0, Math.min(n, room)));
}

/**
 * A destination unreachable message about `offending` (the received IPv4 datagram, header
 * first), quoting per `icmpv4ErrorQuote`. `nextHopMtu` is only sent with code 4 (RFC 1191).
 * Whether an error may be sent at all (not about ICMP errors, broadcasts, multicasts or
 * non-initial fragments — RFC 1122 §3.2.2; rate limits) is the caller's decision.
 */
export function icmpv4DestUnreachable(code: number, offending: Uint8Array, nextHopMtu = 0, outerIpHeaderLen: number = IPV4_HEADER_LEN): Icmpv4Repr {
  return {
    kind: 'dest-unreachable',
    code,
    nextHopMtu: code === Icmpv4Unreachable.FRAG_NEEDED ? nextHopMtu & 0xffff : 0,
    data: icmpv4ErrorQuote(offending, outerIpHeaderLen),
  };
}

/** A time exceeded message about `offending`, quoting per `icmpv4ErrorQuote` (see `icmpv4DestUnreachable`). */
export function icmpv4TimeExceeded(code: number, offending: Uint8Array, outerIpHeaderLen: number = IPV4_HEADER_LEN): Icmpv4Repr {
  return { kind: 'time-exceeded', code, data: icmpv4ErrorQuote(offending, outerIpHeaderLen) };
}

/**
 * Zero-copy access over an ICMPv4 message at `offset` (message end = end of `buf`). Call
 * `checkIcmpv4` on untrusted bytes first.
 */
export class Icmpv4View {
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
  set code(v: number) {
    wr8(this.buf, this.offset + F.CODE, v);
  }
  get checksum(): number {
    return rd16(this.buf, this.offset + F.CHECKSUM);
  }
  set checksum(v: number) {
    wr16(this.buf, this.offset + F.CHECKSUM, v);
  }
  /** Echo identifier (rest of header, first half). */
  get ident(): number {
    return rd16(this.buf, this.offset + F.IDENT);
  }
  /** Echo sequence number (rest of header, second half). */
  get seq(): number {
    return rd16(this.buf, this.offset + F.SEQ);
  }
  /** The raw 32-bit rest of header. */
  get rest(): number {
    return rd32(this.buf, this.offset + F.REST);
  }
  /** Data after the 8-byte header (aliases the buffer). */
  get data(): Uint8Array {
    return this.buf.subarray(this.offset + F.DATA);
  }
  verifyChecksum(): boolean {
    return foldChecksum(onesSum(this.buf, this.offset, this.buf.length)) === 0;
  }
  /** Recomputes the checksum over header and data in place. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = foldChecksum(onesSum(this.buf, this.offset, this.buf.length));
  }
}
