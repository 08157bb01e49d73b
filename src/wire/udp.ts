/**
 * UDP header (RFC 768) over IPv4, with the pseudo-header checksum.
 *
 * Validation (`checkUdp`): fewer than 8 bytes → `'truncated'`; a length field below 8 or
 * beyond the buffer → `'bad-length'`. A buffer longer than the length field is fine (the
 * datagram stops at the length field). `parseUdp` then verifies the checksum over the
 * IPv4 pseudo-header and the datagram, except when the field is 0 — RFC 768 "all zero
 * transmitted checksum value means that the transmitter generated no checksum" (IPv4 only;
 * RFC 8200 §8.1 forbids it on IPv6) — or when `checksumOffload` says the link verified it.
 *
 * On emit the checksum is always computed (RFC 1122 §4.1.3.4: "MUST default to checksum
 * on"), and a computed 0 is sent as 0xffff (RFC 768: "If the computed checksum is zero, it
 * is transmitted as all ones").
 *
 * Aliasing: `udpPayload` and `UdpView.payload` are `subarray`s of the datagram.
 */
import { rd16, wr16 } from './bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV4 } from './checksum.ts';
import type { WireFault } from './fault.ts';
import { IpProtocol } from './ipv4.ts';

export const UDP_HEADER_LEN = 8;

/** RFC 768 field offsets. */
const F = { SRC_PORT: 0, DST_PORT: 2, LENGTH: 4, CHECKSUM: 6, PAYLOAD: 8 } as const;

/** Validated meaning of a UDP header. */
export interface UdpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  /** Length field − 8. */
  readonly payloadLen: number;
}

/** Always `UDP_HEADER_LEN` (8). */
export function udpHeaderLen(_repr?: UdpRepr): number {
  return UDP_HEADER_LEN;
}

/** Length check: `'truncated'` below 8 bytes, `'bad-length'` for a length field < 8 or beyond `buf`. */
export function checkUdp(buf: Uint8Array): WireFault | undefined {
  if (buf.length < UDP_HEADER_LEN) return 'truncated';
  const len = rd16(buf, F.LENGTH);
  if (len < UDP_HEADER_LEN || len > buf.length) return 'bad-length';
  return undefined;
}

/**
 * Checksum accumulator (not yet complemented) of pseudo-header + datagram `buf[0, len)`,
 * checksum field included as it stands. Verification: `foldChecksum(...) === 0`.
 */
function udpSum(buf: Uint8Array, len: number, src: Uint8Array, dst: Uint8Array): number {
  return onesSum(buf, 0, len, pseudoHeaderSumV4(src, dst, IpProtocol.UDP, len));
}

/**
 * Parses a UDP datagram carried by IPv4 from `src` to `dst` (pseudo-header inputs,
 * 4 bytes each). The checksum is verified unless it is 0 (none sent) or `checksumOffload`.
 * The payload is `udpPayload(buf)`.
 */
export function parseUdp(buf: Uint8Array, src: Uint8Array, dst: Uint8Array, checksumOffload = false): UdpRepr | WireFault {
  const fault = checkUdp(buf);
  if (fault !== undefined) return fault;
  const len = rd16(buf, F.LENGTH);
  if (!checksumOffload && rd16(buf, F.CHECKSUM) !== 0 && foldChecksum(udpSum(buf, len, src, dst)) !== 0) {
    return 'bad-checksum';
  }
  return { srcPort: rd16(buf, F.SRC_PORT), dstPort: rd16(buf, F.DST_PORT), payloadLen: len - UDP_HEADER_LEN };
}

/** Payload of a checked datagram, up to the length field (aliases `buf`). */
export function udpPayload(buf: Uint8Array): Uint8Array {
  return buf.subarray(F.PAYLOAD, rd16(buf, F.LENGTH));
}

/**
 * Writes exactly 8 bytes at the start of `out`: ports, length (8 + `payloadLen`) and the
 * checksum over the pseudo-header (`src`, `dst`), the header and the payload, which must
 * **already be in place** at `out[8, 8 + payloadLen)` (write the payload first, then the
 * headers — the payload is read, never written). Throws RangeError only on a caller bug:
 * `out` shorter than 8 + `payloadLen`, or a length above 65535.
 */
export function emitUdp(repr: UdpRepr, out: Uint8Array, src: Uint8Array, dst: Uint8Array): void {
  const len = UDP_HEADER_LEN + repr.payloadLen;
  if (repr.payloadLen < 0 || len > 0xffff) throw new RangeError('emitUdp: length out of range');
  if (out.length < len) throw new RangeError('emitUdp: buffer too small for header and payload');
  wr16(out, F.SRC_PORT, repr.srcPort);
  wr16(out, F.DST_PORT, repr.dstPort);
  wr16(out, F.LENGTH, len);
  wr16(out, F.CHECKSUM, 0);
  const c = foldChecksum(udpSum(out, len, src, dst));
  wr16(out, F.CHECKSUM, c === 0 ? 0xffff : c);
}

/**
 * Zero-copy access over a UDP header at `offset`. Call `checkUdp` on untrusted bytes
 * first; afterwards no getter reads out of range.
 */
export class UdpView {
  readonly buf: Uint8Array;
  readonly offset: number;
  constructor(buf: Uint8Array, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }
  get srcPort(): number {
    return rd16(this.buf, this.offset + F.SRC_PORT);
  }
  set srcPort(v: number) {
    wr16(this.buf, this.offset + F.SRC_PORT, v);
  }
  get dstPort(): number {
    return rd16(this.buf, this.offset + F.DST_PORT);
  }
  set dstPort(v: number) {
    wr16(this.buf, this.offset + F.DST_PORT, v);
  }
  get length(): number {
    return rd16(this.buf, this.offset + F.LENGTH);
  }
  set length(v: number) {
    wr16(this.buf, this.offset + F.LENGTH, v);
  }
  get checksum(): number {
    return rd16(this.buf, this.offset + F.CHECKSUM);
  }
  set checksum(v: number) {
    wr16(this.buf, this.offset + F.CHECKSUM, v);
  }
  /** Header end to the length field (aliases the buffer). */
  get payload(): Uint8Array {
    return this.buf.subarray(this.offset + F.PAYLOAD, this.offset + this.length);
  }
  /** True when the checksum is 0 (none sent) or verifies against the pseudo-header. */
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    if (this.checksum === 0) return true;
    const len = this.length;
    const acc = onesSum(this.buf, this.offset, this.offset + len, pseudoHeaderSumV4(src, dst, IpProtocol.UDP, len));
    return foldChecksum(acc) === 0;
  }
  /** Recomputes the checksum in place over the current length (0 is sent as 0xffff). */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    this.checksum = 0;
    const len = this.length;
    const c = foldChecksum(onesSum(this.buf, this.offset, this.offset + len, pseudoHeaderSumV4(src, dst, IpProtocol.UDP, len)));
    this.checksum = c === 0 ? 0xffff : c;
  }
}
