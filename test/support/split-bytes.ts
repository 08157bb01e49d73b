/**
 * Splitting a byte stream at arbitrary points, for "any split decodes the same" properties of
 * incremental decoders (HDLC, SLIP).
 */

/** `bytes` cut at `cuts` (each taken modulo length + 1, duplicates merged); empty pieces are possible. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

