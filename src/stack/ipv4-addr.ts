/**
 * IPv4 addresses inside the stack are uint32 numbers (fast Map keys, no allocation);
 * these convert at the edges.
 */

/** The 4 bytes at `off` as a uint32. */
export function ip4FromBytes(b: Uint8Array, off = 0): number {
  return (((b[off] ?? 0) << 24) | ((b[off + 1] ?? 0) << 16) | ((b[off + 2] ?? 0) << 8) | (b[off + 3] ?? 0)) >>> 0;
}

/** Writes a uint32 address as 4 bytes at `off`. */
export function ip4ToBytes(a: number, out: Uint8Array = new Uint8Array(4), off = 0): Uint8Array {
  out[off] = a >>> 24;
  out[off + 1] = (a >>> 16) & 0xff;
  out[off + 2] = (a >>> 8) & 0xff;
  out[off + 3] = a & 0xff;
  return out;
}

/** Netmask of a prefix length (0..32) as a uint32. */
export function prefixMask(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

/** Dotted text of a uint32 address (diagnostics only). */
export function ip4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}
