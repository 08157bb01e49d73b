/**
 * 6LoWPAN fragmentation headers (RFC 4944 §5.3):
 *
 *     FRAG1:  1 1 0 0 0 | datagram_size (11) | datagram_tag (16)                         4 bytes
 *     FRAGN:  1 1 1 0 0 | datagram_size (11) | datagram_tag (16) | datagram_offset (8)   5 bytes
 *
 * `datagram_size` is the size of the whole IPv6 datagram before 6LoWPAN compression (RFC
 * 6282 §2: header compression does not change it), `datagram_offset` counts 8-octet units of
 * that uncompressed datagram. Here the offset is kept in bytes (the field × 8); FRAG1 has
 * offset 0. Parsing never throws: a short buffer or a byte that is no fragment dispatch is a
 * `WireFault`.
 */
import { rd16, rd8, wr16 } from '../bytes.ts';
import type { WireFault } from '../fault.ts';

/** FRAG1 header length. */
export const LOWPAN_FRAG1_LEN = 4;
/** FRAGN header length. */
export const LOWPAN_FRAGN_LEN = 5;
/** The largest datagram_size (11 bits). */
export const LOWPAN_MAX_DATAGRAM_SIZE = 0x7ff;
/** The largest FRAGN offset in bytes (8 bits of 8-octet units). */
export const LOWPAN_MAX_FRAG_OFFSET = 0xff * 8;

/** A fragmentation header. */
export interface LowpanFragRepr {
  /** FRAG1 (true) or FRAGN (false). */
  readonly first: boolean;
  /** datagram_size: the uncompressed IPv6 datagram's length, 0..2047. */
  readonly size: number;
  /** datagram_tag, 0..0xffff. */
  readonly tag: number;
  /** Offset in bytes of the uncompressed datagram (a multiple of 8, at most 2040); 0 for FRAG1. */
  readonly offset: number;
}

/** `11000xxx`: the first byte of a FRAG1 header. */
export function isLowpanFrag1(b0: number): boolean {
  return (b0 & 0xf8) === 0xc0;
}

/** `11100xxx`: the first byte of a FRAGN header. */
export function isLowpanFragN(b0: number): boolean {
  return (b0 & 0xf8) === 0xe0;
}

/** The header's length: 4 (FRAG1) or 5 (FRAGN). */
export function lowpanFragLen(repr: Pick<LowpanFragRepr, 'first'>): number {
  return repr.first ? LOWPAN_FRAG1_LEN : LOWPAN_FRAGN_LEN;
}

/** Decodes the fragmentation header at the start of `buf`. */
export function parseLowpanFrag(buf: Uint8Array): LowpanFragRepr | WireFault {
  if (buf.length < 1) return 'truncated';
  const b0 = rd8(buf, 0);
  const first = isLowpanFrag1(b0);
  if (!first && !isLowpanFragN(b0)) return 'malformed';
  if (buf.length < (first ? LOWPAN_FRAG1_LEN : LOWPAN_FRAGN_LEN)) return 'truncated';
  const size = rd16(buf, 0) & LOWPAN_MAX_DATAGRAM_SIZE;
  const tag = rd16(buf, 2);
  const offset = first ? 0 : rd8(buf, 4) * 8;
  return { first, size, tag, offset };
}

/**
 * Checks a header to emit: size 0..2047, tag 0..0xffff, FRAGN offset a multiple of 8 up to
 * 2040 and below the size, FRAG1 offset 0. Undefined when fine.
 */
export function checkLowpanFragRepr(repr: LowpanFragRepr): WireFault | undefined {
  const { size, tag, offset } = repr;
  if (!Number.isInteger(size) || size < 0 || size > LOWPAN_MAX_DATAGRAM_SIZE) return 'bad-length';
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffff) return 'malformed';
  if (repr.first) return offset === 0 ? undefined : 'malformed';
  if (!Number.isInteger(offset) || offset < 0 || offset % 8 !== 0 || offset > LOWPAN_MAX_FRAG_OFFSET || offset >= size) return 'bad-length';
  return undefined;
}

/**
 * Writes the header at the start of `out` (at least `lowpanFragLen(repr)` bytes) and returns
 * its length. The fields are masked to their widths; `checkLowpanFragRepr` says whether they fit.
 */
export function emitLowpanFrag(repr: LowpanFragRepr, out: Uint8Array): number {
  wr16(out, 0, ((repr.first ? 0xc0 : 0xe0) << 8) | (repr.size & LOWPAN_MAX_DATAGRAM_SIZE));
  wr16(out, 2, repr.tag);
  if (repr.first) return LOWPAN_FRAG1_LEN;
  out[4] = (repr.offset >>> 3) & 0xff;
  return LOWPAN_FRAGN_LEN;
}
