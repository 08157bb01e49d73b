/**
 * Big-endian (network order) field access over `Uint8Array`, without DataView
 * allocation. Callers check lengths first (the wire rule: validate, then read);
 * out-of-range reads yield NaN-free garbage (`undefined | 0`), never an exception.
 */

export function rd8(b: Uint8Array, o: number): number {
  return b[o] ?? 0;
}

export function rd16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

export function rd32(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

export function wr8(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
}

export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Same length and same bytes (MACs, identifiers, option data). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lowercase hex of bytes, for diagnostics and golden tests. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Bytes from hex text; whitespace and `#` comments to the end of a line are ignored. Undefined on bad input. */
export function fromHex(text: string): Uint8Array | undefined {
  const clean = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) return undefined;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
