/**
 * LOWPAN_NHC for UDP (RFC 6282 §4.3): `11110CPP`, then the ports and the checksum.
 *
 * Ports (P): 00 both inline (16 + 16 bits); 01 source inline, destination 0xF0xx (8 bits);
 * 10 source 0xF0xx (8 bits), destination inline; 11 both 0xF0Bx (4 bits each, source in the
 * high nibble). The compressor picks the shortest.
 *
 * Checksum (C): 0 inline; 1 elided — only when the upper layer authorizes it (§4.3.2: the
 * compressor "MUST NOT set the C bit unless it has received such authorization"); the
 * decompressor then recomputes it from the pseudo-header. The UDP length is always elided:
 * the decompressor infers it from the IPv6 payload length (or the datagram size of a
 * fragmented packet).
 */
import { rd16, wr16 } from '../bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../checksum.ts';
import type { WireFault } from '../fault.ts';
import { UDP_HEADER_LEN } from '../udp.ts';

export const NHC_UDP_MASK = 0xf8;
export const NHC_UDP_ID = 0xf0;
/** The C bit: checksum elided. */
export const NHC_UDP_CHECKSUM_ELIDED = 0x04;

/** True when the NHC byte `b` is UDP (`11110xxx`). */
export function isNhcUdp(b: number): boolean {
  return (b & NHC_UDP_MASK) === NHC_UDP_ID;
}

/** Compressed size of a UDP header with these ports (NHC byte included). */
export function nhcUdpLen(srcPort: number, dstPort: number, elideChecksum: boolean): number {
  return 1 + portBytes(srcPort, dstPort) + (elideChecksum ? 0 : 2);
}

function portMode(srcPort: number, dstPort: number): number {
  if ((srcPort & 0xfff0) === 0xf0b0 && (dstPort & 0xfff0) === 0xf0b0) return 3;
  if ((dstPort & 0xff00) === 0xf000) return 1;
  if ((srcPort & 0xff00) === 0xf000) return 2;
  return 0;
}

function portBytes(srcPort: number, dstPort: number): number {
  return [4, 3, 3, 1][portMode(srcPort, dstPort)] as number;
}

/**
 * Appends the compressed form of the 8-byte UDP header at `udp[0]` to `out` (the length
 * field is dropped; the checksum too when `elideChecksum`).
 */
export function compressNhcUdp(udp: Uint8Array, elideChecksum: boolean, out: number[]): void {
  const sp = rd16(udp, 0);
  const dp = rd16(udp, 2);
  const p = portMode(sp, dp);
  out.push(NHC_UDP_ID | (elideChecksum ? NHC_UDP_CHECKSUM_ELIDED : 0) | p);
  switch (p) {
    case 0: out.push(sp >> 8, sp & 0xff, dp >> 8, dp & 0xff); break;
    case 1: out.push(sp >> 8, sp & 0xff, dp & 0xff); break;
    case 2: out.push(sp & 0xff, dp >> 8, dp & 0xff); break;
    default: out.push(((sp & 0xf) << 4) | (dp & 0xf));
  }
  if (!elideChecksum) out.push(udp[6] as number, udp[7] as number);
}

/** A decompressed UDP header: 8 bytes with the length field 0 (filled in later), and whether the checksum was elided. */
export interface NhcUdpDecoded {
  readonly header: Uint8Array;
  readonly checksumElided: boolean;
  /** Index after the compressed header. */
  readonly next: number;
}

/** Reads the compressed UDP header at `buf[at]` (the NHC byte). `'truncated'` when the inline fields run past the buffer. */
export function decompressNhcUdp(buf: Uint8Array, at: number): NhcUdpDecoded | WireFault {
  const b = buf[at] as number;
  const p = b & 3;
  const elided = (b & NHC_UDP_CHECKSUM_ELIDED) !== 0;
  const need = 1 + ([4, 3, 3, 1][p] as number) + (elided ? 0 : 2);
  if (at + need > buf.length) return 'truncated';
  const h = new Uint8Array(UDP_HEADER_LEN);
  let i = at + 1;
  let sp: number;
  let dp: number;
  switch (p) {
    case 0: sp = rd16(buf, i); dp = rd16(buf, i + 2); i += 4; break;
    case 1: sp = rd16(buf, i); dp = 0xf000 | (buf[i + 2] as number); i += 3; break;
    case 2: sp = 0xf000 | (buf[i] as number); dp = rd16(buf, i + 1); i += 3; break;
    default: sp = 0xf0b0 | ((buf[i] as number) >> 4); dp = 0xf0b0 | ((buf[i] as number) & 0xf); i += 1;
  }
  wr16(h, 0, sp);
  wr16(h, 2, dp);
  if (!elided) {
    h[6] = buf[i] as number;
    h[7] = buf[i + 1] as number;
    i += 2;
  }
  return { header: h, checksumElided: elided, next: i };
}

/**
 * Computes the checksum of the UDP datagram at `packet[udpOffset]` (length field already
 * set) over the pseudo-header of the IPv6 header at `packet[ipOffset]`, and writes it (a
 * computed 0 is sent as 0xffff). What a decompressor does for an elided checksum (RFC 6282
 * §4.3.2), once the whole datagram is present.
 */
export function fillUdpChecksumV6(packet: Uint8Array, ipOffset: number, udpOffset: number): void {
  const len = rd16(packet, udpOffset + 4);
  const src = packet.subarray(ipOffset + 8, ipOffset + 24);
  const dst = packet.subarray(ipOffset + 24, ipOffset + 40);
  wr16(packet, udpOffset + 6, 0);
  const c = foldChecksum(onesSum(packet, udpOffset, udpOffset + len, pseudoHeaderSumV6(src, dst, 17, len)));
  wr16(packet, udpOffset + 6, c === 0 ? 0xffff : c);
}
