/**
 * A stand-in for IPHC in the 6LoWPAN fragmentation tests (the reassembler must not depend
 * on the real one): a datagram's first 48 bytes (IPv6 + UDP headers) "compress" to 0x60
 * followed by bytes 8..47 — the first 8 (version, flow label, payload length, next header,
 * hop limit) are rebuilt from the datagram size as IPHC infers the payload length.
 */
import { wr16 } from '../../src/wire/bytes.ts';
import type { LowpanDecompressFirst } from '../../src/stack/lowpan/reassembly.ts';

/** The uncompressed header length the fake compression stands for. */
export const FAKE_HEADER_LEN = 48;

/** A datagram of `size` bytes (at least 48) with an IPv6 + UDP-looking header and `fill` bytes. */
export function fakeDatagram(size: number, fill: (i: number) => number): Uint8Array {
  const d = Uint8Array.from({ length: size }, (_, i) => fill(i));
  d.set([0x60, 0, 0, 0, 0, 0, 17, 64]);
  wr16(d, 4, size - 40);
  return d;
}

/** The compressed first part of `datagram`: 0x60 + bytes 8..47. */
export function fakeCompress(datagram: Uint8Array): Uint8Array {
  return Uint8Array.of(0x60, ...datagram.subarray(8, FAKE_HEADER_LEN));
}

/** The matching `decompressFirst`. */
export const fakeDecompress: LowpanDecompressFirst = (c, ctx) => {
  if (c.length < 41 || c[0] !== 0x60 || ctx.datagramSize < FAKE_HEADER_LEN) return 'truncated';
  const header = new Uint8Array(FAKE_HEADER_LEN);
  header.set([0x60, 0, 0, 0, 0, 0, 17, 64]);
  wr16(header, 4, ctx.datagramSize - 40);
  header.set(c.subarray(1, 41), 8);
  return { header, consumed: 41 };
};
