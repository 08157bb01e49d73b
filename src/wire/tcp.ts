/**
 * TCP segment codec (RFC 9293 §3.1): a zero-copy view for the hot path and a validated `TcpRepr`
 * with symmetric `parseTcp` / `emitTcp` (after smoltcp's `wire/tcp.rs`). Pure: no I/O, no time.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * |                        Sequence Number                        |
 * |                    Acknowledgment Number                      |
 * |  DOffset |  Rsrvd  |C|E|U|A|P|R|S|F|          Window          |
 * |           Checksum            |         Urgent Pointer        |
 * |                   [Options]                   |  ...  data    |
 * ```
 *
 * Buffers: `buf` is always exactly one TCP segment — header, options and payload, as delimited
 * by the IP layer (IPv4 total length or IPv6 payload length), without link-layer padding —
 * because the checksum covers `buf.length` bytes. Validation contract: {@link checkTcp} first;
 * after it passes, no accessor reads outside `buf`, and none ever throws.
 *
 * Checksums take the pseudo-header as a partial ones'-complement sum (a `number`, e.g.
 * `pseudoHeaderSumV4(src, dst, 6, buf.length)` from `checksum.ts`), so the same code serves
 * IPv4 and IPv6; the segment is summed incrementally on top of it, without concatenation.
 *
 * Options are in `tcp-options.ts` (emit order and layout documented there); sequence-number
 * arithmetic is in `tcp-seq.ts`.
 */
import type { WireFault } from './fault.ts';
import { rd16, rd32, wr16, wr32 } from './bytes.ts';
import { foldChecksum, onesSum } from './checksum.ts';
import {
  NO_TCP_OPTIONS,
  TCP_MAX_OPTIONS_LEN,
  TCP_MAX_SACK_BLOCKS,
  formatTcpOptions,
  parseTcpOptions,
  tcpOptionsLen,
  writeTcpOptions,
} from './tcp-options.ts';
import type { TcpOptions } from './tcp-options.ts';

export type { SackBlock, TcpOptions, TcpTimestamp } from './tcp-options.ts';

/** Fixed header length, data offset 5 (RFC 9293 §3.1). */
export const TCP_HEADER_LEN = 20;
/** Largest header, data offset 15 (RFC 9293 §3.1). */
export const TCP_MAX_HEADER_LEN = 60;
/** IP protocol number of TCP (IANA "Assigned Internet Protocol Numbers"), for the pseudo-header. */
export const TCP_PROTOCOL = 6;

/** Field offsets (RFC 9293 §3.1). */
const F = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  /** High nibble: data offset in 32-bit words; low nibble: reserved. */
  DATA_OFF: 12,
  FLAGS: 13,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT: 18,
} as const;

/**
 * Control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1), as they sit in byte 13. A
 * segment's `flags` is their bitwise OR, e.g. `TcpFlag.SYN | TcpFlag.ACK`.
 */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/**
 * The validated meaning of a segment. `window` is the raw 16-bit field (scaling is connection
 * state, RFC 7323 §2.3); `ack` and `urgent` are the raw fields whether or not ACK/URG are set;
 * the 4 reserved bits are not represented (RFC 9293 §3.1: zero when sent, ignored when received —
 * use {@link TcpView.reserved} to see them). Numbers: ports/window/urgent uint16, seq/ack uint32,
 * flags uint8 (a {@link TcpFlag} set).
 */
export interface TcpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly window: number;
  readonly urgent: number;
  readonly options: TcpOptions;
  /** Bytes of data after the header (SEG.LEN minus SYN and FIN). */
  readonly payloadLength: number;
}

/**
 * Field access over a raw segment, without copying (after smoltcp's `TcpPacket`). `buf` is
 * public and may be re-pointed to reuse one view across packets. Getters never throw (bytes
 * outside `buf` read as 0) but mean something only after {@link checkTcp}; setters write
 * unchecked (values masked to the field width) — they are for buffers being built or rewritten,
 * and leave the checksum stale until {@link fillTcpChecksum}.
 */
export class TcpView {
  buf: Uint8Array;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  get srcPort(): number { return rd16(this.buf, F.SRC_PORT); }
  set srcPort(v: number) { wr16(this.buf, F.SRC_PORT, v); }
  get dstPort(): number { return rd16(this.buf, F.DST_PORT); }
  set dstPort(v: number) { wr16(this.buf, F.DST_PORT, v); }
  get seq(): number { return rd32(this.buf, F.SEQ); }
  set seq(v: number) { wr32(this.buf, F.SEQ, v); }
  get ack(): number { return rd32(this.buf, F.ACK); }
  set ack(v: number) { wr32(this.buf, F.ACK, v); }
  /** Header length in bytes: data offset × 4 (20…60 when valid). Set with a multiple of 4. */
  get headerLen(): number { return ((this.buf[F.DATA_OFF] ?? 0) >>> 4) * 4; }
  set headerLen(bytes: number) {
    this.buf[F.DATA_OFF] = (((bytes >>> 2) & 0x0f) << 4) | ((this.buf[F.DATA_OFF] ?? 0) & 0x0f);
  }
  /** The 4 reserved bits (RFC 9293 §3.1; bit 0 was the historic NS bit of RFC 3540). */
  get reserved(): number { return (this.buf[F.DATA_OFF] ?? 0) & 0x0f; }
  set reserved(v: number) { this.buf[F.DATA_OFF] = ((this.buf[F.DATA_OFF] ?? 0) & 0xf0) | (v & 0x0f); }
  /** The control bits, a {@link TcpFlag} set. */
  get flags(): number { return this.buf[F.FLAGS] ?? 0; }
  set flags(v: number) { this.buf[F.FLAGS] = v & 0xff; }
  get window(): number { return rd16(this.buf, F.WINDOW); }
  set window(v: number) { wr16(this.buf, F.WINDOW, v); }
  get checksum(): number { return rd16(this.buf, F.CHECKSUM); }
  set checksum(v: number) { wr16(this.buf, F.CHECKSUM, v); }
  get urgent(): number { return rd16(this.buf, F.URGENT); }
  set urgent(v: number) { wr16(this.buf, F.URGENT, v); }

  /** True when every bit of `flag` (one or more {@link TcpFlag}s) is set. */
  has(flag: number): boolean {
    return ((this.buf[F.FLAGS] ?? 0) & flag) === flag;
  }

  /** The option bytes, a subarray aliasing `buf` (see {@link tcpOptionBytes}). */
  get options(): Uint8Array { return tcpOptionBytes(this.buf); }
  /** The payload, a subarray aliasing `buf` (see {@link tcpPayload}). */
  get payload(): Uint8Array { return tcpPayload(this.buf); }
}

/**
 * Length check of an untrusted segment: `'truncated'` below 20 bytes; `'bad-length'` when the
 * data offset is below 5 or the header it declares runs past `buf`. Options are not checked
 * here (that is {@link parseTcp}'s job, `'malformed'`), nor is the checksum.
 */
export function checkTcp(buf: Uint8Array): WireFault | undefined {
  if (buf.length < TCP_HEADER_LEN) return 'truncated';
  const hl = ((buf[F.DATA_OFF] ?? 0) >>> 4) * 4;
  if (hl < TCP_HEADER_LEN || hl > buf.length) return 'bad-length';
  return undefined;
}

/** Header length in bytes from the data offset (20…60 after {@link checkTcp}; 0 for an empty buffer). */
export function tcpHeaderLenOf(buf: Uint8Array): number {
  return ((buf[F.DATA_OFF] ?? 0) >>> 4) * 4;
}

/**
 * The payload: `buf.subarray(headerLen)`. It **aliases** `buf` — no copy; it is valid only as
 * long as `buf` is (e.g. until the link device's next `receive()`), and writes through it change
 * the segment. Copy it to keep it. Only meaningful after {@link checkTcp}; never throws.
 */
export function tcpPayload(buf: Uint8Array): Uint8Array {
  return buf.subarray(tcpHeaderLenOf(buf));
}

/** The option bytes `buf[20, headerLen)`, aliasing `buf` like {@link tcpPayload}. */
export function tcpOptionBytes(buf: Uint8Array): Uint8Array {
  return buf.subarray(TCP_HEADER_LEN, Math.max(TCP_HEADER_LEN, tcpHeaderLenOf(buf)));
}

/**
 * True when the checksum of the segment `buf[0, len)` verifies against the pseudo-header partial
 * sum `pseudoSum` (which must have been computed with TCP length `len`). RFC 9293 §3.1: the
 * ones'-complement sum of pseudo-header, header and data, with the checksum field included,
 * is all ones.
 */
export function verifyTcpChecksum(buf: Uint8Array, pseudoSum: number, len: number = buf.length): boolean {
  return foldChecksum(onesSum(buf, 0, len, pseudoSum)) === 0;
}

/**
 * Computes and writes the checksum of the segment `buf[0, len)` (header and data in place)
 * over the pseudo-header partial sum `pseudoSum` (computed with TCP length `len`).
 */
export function fillTcpChecksum(buf: Uint8Array, pseudoSum: number, len: number = buf.length): void {
  wr16(buf, F.CHECKSUM, 0);
  wr16(buf, F.CHECKSUM, foldChecksum(onesSum(buf, 0, len, pseudoSum)));
}

/** Options for {@link parseTcp}. */
export interface ParseTcpOptions {
  /** The checksum was verified already (hardware offload, or a trusted loopback): skip it. */
  readonly checksumOffload?: boolean;
}

/**
 * Validates and decodes an untrusted segment (`buf` = exactly the segment, see the module doc).
 * Checks, in order: length ({@link checkTcp}: `'truncated'`, `'bad-length'`), checksum against
 * `pseudoSum` unless offloaded (`'bad-checksum'`), options (`'malformed'`, see
 * `parseTcpOptions`). Never throws. Allocates the Repr, plus an options object only when
 * known options are present (see `tcp-options.ts`).
 */
export function parseTcp(buf: Uint8Array, pseudoSum: number, opts?: ParseTcpOptions): TcpRepr | WireFault {
  const fault = checkTcp(buf);
  if (fault !== undefined) return fault;
  if (opts?.checksumOffload !== true && !verifyTcpChecksum(buf, pseudoSum)) return 'bad-checksum';
  const hl = tcpHeaderLenOf(buf);
  const options = hl === TCP_HEADER_LEN ? NO_TCP_OPTIONS : parseTcpOptions(buf, TCP_HEADER_LEN, hl);
  if (typeof options === 'string') return options;
  return {
    srcPort: rd16(buf, F.SRC_PORT),
    dstPort: rd16(buf, F.DST_PORT),
    seq: rd32(buf, F.SEQ),
    ack: rd32(buf, F.ACK),
    flags: buf[F.FLAGS] ?? 0,
    window: rd16(buf, F.WINDOW),
    urgent: rd16(buf, F.URGENT),
    options,
    payloadLength: buf.length - hl,
  };
}

/** Header length `emitTcp` writes for `repr`: 20 + options (a multiple of 4; at most 60 when emittable). */
export function tcpHeaderLen(repr: TcpRepr): number {
  return TCP_HEADER_LEN + tcpOptionsLen(repr.options);
}

/** Segment length `emitTcp` covers: header + payload — the TCP length of the pseudo-header. */
export function tcpSegmentLen(repr: TcpRepr): number {
  return tcpHeaderLen(repr) + repr.payloadLength;
}

/** SEG.LEN (RFC 9293 §3.4): payload octets plus one each for SYN and FIN — the sequence space used. */
export function tcpSeqLen(repr: TcpRepr): number {
  return repr.payloadLength + (repr.flags & TcpFlag.SYN ? 1 : 0) + (repr.flags & TcpFlag.FIN ? 1 : 0);
}

/**
 * Writes the segment into `out[0, tcpSegmentLen(repr))` and nothing beyond: the header with
 * options (order and NOP alignment in `tcp-options.ts`; reserved bits zero), then `payload` if
 * given, then the checksum over header + payload on top of `pseudoSum` (computed by the caller
 * with TCP length `tcpSegmentLen(repr)`).
 *
 * Pass `payload` to have it copied to `out[headerLen…]`; omit it when the data is already in
 * place there (zero-copy: reserve `tcpHeaderLen(repr)` bytes of headroom and fill the payload
 * first). Either way `repr.payloadLength` is the payload size.
 *
 * Throws `RangeError` only on a broken caller invariant: options over 40 bytes or more than 4
 * SACK blocks, `payload.length !== repr.payloadLength`, or `out` shorter than the segment.
 * Values are written modulo their field width.
 */
export function emitTcp(repr: TcpRepr, out: Uint8Array, pseudoSum: number, payload?: Uint8Array): void {
  const optLen = tcpOptionsLen(repr.options);
  if (optLen > TCP_MAX_OPTIONS_LEN || (repr.options.sack?.length ?? 0) > TCP_MAX_SACK_BLOCKS) {
    throw new RangeError(`emitTcp: options need ${optLen} bytes (max ${TCP_MAX_OPTIONS_LEN}, at most ${TCP_MAX_SACK_BLOCKS} SACK blocks)`);
  }
  const hl = TCP_HEADER_LEN + optLen;
  const segLen = hl + repr.payloadLength;
  if (payload !== undefined && payload.length !== repr.payloadLength) {
    throw new RangeError(`emitTcp: payload is ${payload.length} bytes, repr.payloadLength ${repr.payloadLength}`);
  }
  if (out.length < segLen) throw new RangeError(`emitTcp: out has ${out.length} bytes, segment needs ${segLen}`);
  wr16(out, F.SRC_PORT, repr.srcPort);
  wr16(out, F.DST_PORT, repr.dstPort);
  wr32(out, F.SEQ, repr.seq);
  wr32(out, F.ACK, repr.ack);
  out[F.DATA_OFF] = (hl >>> 2) << 4;
  out[F.FLAGS] = repr.flags & 0xff;
  wr16(out, F.WINDOW, repr.window);
  wr16(out, F.CHECKSUM, 0);
  wr16(out, F.URGENT, repr.urgent);
  writeTcpOptions(repr.options, out, TCP_HEADER_LEN);
  if (payload !== undefined) out.set(payload, hl);
  wr16(out, F.CHECKSUM, foldChecksum(onesSum(out, 0, segLen, pseudoSum)));
}

/**
 * The control bits in classic tcpdump style: `S`, `F`, `R`, `P`, `W` (CWR), `E` (ECE) in that
 * order, or `.` when none of them is set (ACK and URG show as `ack N` / `urg N` instead).
 */
export function formatTcpFlags(flags: number): string {
  let s = '';
  if (flags & TcpFlag.SYN) s += 'S';
  if (flags & TcpFlag.FIN) s += 'F';
  if (flags & TcpFlag.RST) s += 'R';
  if (flags & TcpFlag.PSH) s += 'P';
  if (flags & TcpFlag.CWR) s += 'W';
  if (flags & TcpFlag.ECE) s += 'E';
  return s === '' ? '.' : s;
}

/**
 * One line in classic tcpdump style, without addresses and ports (the IP-level formatter
 * prefixes `src.port > dst.port: `):
 * `S 1000:1000(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>`,
 * `P 1:101(100) ack 1 win 502`, `. ack 101 win 502 <nop,nop,TS val 9 ecr 7>`.
 * The `seq:end(len)` part appears when there is payload or SYN/FIN/RST; sequence numbers are
 * absolute; options are shown as `emitTcp` lays them out. Never throws.
 */
export function formatTcp(repr: TcpRepr): string {
  let s = formatTcpFlags(repr.flags);
  if (repr.payloadLength > 0 || repr.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) {
    s += ` ${repr.seq >>> 0}:${(repr.seq + repr.payloadLength) >>> 0}(${repr.payloadLength})`;
  }
  if (repr.flags & TcpFlag.ACK) s += ` ack ${repr.ack >>> 0}`;
  s += ` win ${repr.window}`;
  if (repr.flags & TcpFlag.URG) s += ` urg ${repr.urgent}`;
  const opts = formatTcpOptions(repr.options);
  if (opts !== '') s += ` <${opts}>`;
  return s;
}
