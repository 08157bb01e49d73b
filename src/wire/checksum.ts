/**
 * The internet checksum (RFC 1071), incremental and allocation-free.
 *
 * A checksum is computed in two steps: `onesSum` accumulates the 16-bit ones'-complement
 * sum of one or more byte ranges (pseudo-header, header, payload, each summed in place —
 * never concatenated), and `foldChecksum` turns the accumulator into the value written to
 * the wire. A receiver verifies by summing the whole range *including* the checksum field:
 * the data is intact when `foldChecksum(sum) === 0`.
 *
 * Accumulators returned here are always folded to 16 bits (0..0xffff), so they can be
 * chained without limit. The value 0 only arises from all-zero input.
 *
 * Chaining rule (odd-length chunks): `onesSum` sums its range as if the range started at
 * an even offset of the logical message. Chunks of even length chain freely. A chunk that
 * starts at an *odd* offset of the message (because the chunks before it have an odd total
 * length) must be summed with `oddStart = true`: its sum is then byte-swapped before being
 * added (RFC 1071 §2 (B), byte-order independence; Linux's `csum_block_add` does the same).
 * With that flag any split of a message yields the one-shot sum. IPv4, UDP, TCP and ICMP
 * headers and the pseudo-header all have even lengths, so callers summing pseudo-header,
 * header and then payload never need the flag.
 */

/**
 * Bytes summed before the partial sums are folded: high and low bytes are summed
 * separately (each ≤ 255 × 2^19 per block, far below 2^30, a V8 small integer).
 */
const BLOCK_BYTES = 1 << 20;

/** Folds carries into the low 16 bits (end-around carry). `x` must be a non-negative safe integer. */
function fold16(x: number): number {
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return x;
}

/** Swaps the two bytes of a 16-bit value. */
function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >>> 8);
}

/**
 * Ones'-complement sum of `buf[start, end)` as big-endian 16-bit words added to `acc`;
 * an odd trailing byte is padded with a zero low byte (RFC 1071 §4.1). Returns a folded
 * 16-bit accumulator (0..0xffff). Bounds are clamped to the buffer, so out-of-range
 * arguments never read past it. No allocation; any length (64 KiB and beyond).
 *
 * `oddStart`: set when the bytes summed before this chunk (in the same logical message)
 * have an odd total length — see the chaining rule in the module doc.
 */
export function onesSum(buf: Uint8Array, start = 0, end: number = buf.length, acc = 0, oddStart = false): number {
  if (end > buf.length) end = buf.length;
  if (start < 0) start = 0;
  let total = 0;
  let i = start;
  while (i + 1 < end) {
    // Sum word high bytes and low bytes apart (Σ words = 256 × Σ high + Σ low, exactly),
    // 16 bytes per step, in blocks; then fold the block into the total.
    const blockEnd = Math.min(end, i + BLOCK_BYTES);
    let hi = 0;
    let lo = 0;
    for (const last = blockEnd - 15; i < last; i += 16) {
      hi += (buf[i] as number) + (buf[i + 2] as number) + (buf[i + 4] as number) + (buf[i + 6] as number) +
        (buf[i + 8] as number) + (buf[i + 10] as number) + (buf[i + 12] as number) + (buf[i + 14] as number);
      lo += (buf[i + 1] as number) + (buf[i + 3] as number) + (buf[i + 5] as number) + (buf[i + 7] as number) +
        (buf[i + 9] as number) + (buf[i + 11] as number) + (buf[i + 13] as number) + (buf[i + 15] as number);
    }
    for (; i + 1 < blockEnd; i += 2) {
      hi += buf[i] as number;
      lo += buf[i + 1] as number;
    }
    total = fold16(total + hi * 256 + lo);
  }
  if (i < end) total = fold16(total + ((buf[i] as number) << 8));
  if (oddStart) total = swap16(total);
  return fold16(acc + total);
}

/**
 * The checksum field value for accumulator `acc`: carries folded, complemented, 16 bits.
 * On verification (sum including the checksum field) a result of 0 means "intact".
 */
export function foldChecksum(acc: number): number {
  return ~fold16(acc) & 0xffff;
}

/** One-shot internet checksum of `buf[start, end)` (the value to put in a checksum field). */
export function internetChecksum(buf: Uint8Array, start = 0, end: number = buf.length): number {
  return foldChecksum(onesSum(buf, start, end));
}

/**
 * Ones'-complement sum of the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1): source and
 * destination address (4 bytes each, read in place), zero, protocol, and the transport
 * length. Returns a folded accumulator to pass as `acc` to `onesSum` over the segment.
 */
export function pseudoHeaderSumV4(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  const s =
    ((((src[0] ?? 0) << 8) | (src[1] ?? 0)) + (((src[2] ?? 0) << 8) | (src[3] ?? 0))) +
    ((((dst[0] ?? 0) << 8) | (dst[1] ?? 0)) + (((dst[2] ?? 0) << 8) | (dst[3] ?? 0))) +
    (protocol & 0xff) +
    (length & 0xffff);
  return fold16(s);
}

/** As `pseudoHeaderSumV4`, with the addresses as uint32 numbers (no byte views needed). */
export function pseudoHeaderSumV4Addr(src: number, dst: number, protocol: number, length: number): number {
  const s = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (protocol & 0xff) + (length & 0xffff);
  return fold16(s);
}

/**
 * Ones'-complement sum of the IPv6 pseudo-header (RFC 8200 §8.1): source and destination
 * address (16 bytes each, read in place), the 32-bit upper-layer packet length, three zero
 * bytes and the Next Header value of the upper-layer protocol (not of an extension header).
 * Returns a folded accumulator to pass as `acc` to `onesSum` over the upper-layer packet.
 * With a Routing header the destination is the final one (not this node's concern: hosts
 * process no routing header with segments left).
 */
export function pseudoHeaderSumV6(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): number {
  let s = 0;
  for (let i = 0; i < 16; i += 2) {
    s += (((src[i] ?? 0) << 8) | (src[i + 1] ?? 0)) + (((dst[i] ?? 0) << 8) | (dst[i + 1] ?? 0));
  }
  const len = length >>> 0;
  s += (len >>> 16) + (len & 0xffff) + (nextHeader & 0xff);
  return fold16(s);
}

/**
 * Incremental update of a checksum field after one 16-bit word of the covered data
 * changed from `oldWord` to `newWord`: RFC 1624 eqn. 3, `HC' = ~(~HC + ~m + m')`.
 * Equals recomputation except for data that becomes all zeros (where recomputation
 * gives 0xffff and this gives 0x0000, both valid — RFC 1624 §3); no real header is all
 * zeros. For a changed 32-bit field (an address), apply it once per half.
 */
export function checksumAdjust(oldChecksum: number, oldWord: number, newWord: number): number {
  const s = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~fold16(s) & 0xffff;
}
