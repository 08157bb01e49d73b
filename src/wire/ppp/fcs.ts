/**
 * The PPP Frame Check Sequences of RFC 1662 (async HDLC-like framing): FCS-16 (§C.2) and
 * FCS-32 (§C.3), table-driven, one table lookup per byte, no allocation.
 *
 * Both are reflected CRCs (bits are taken least significant first, as the UART sends them):
 * - FCS-16: polynomial x^16 + x^12 + x^5 + 1 (reflected 0x8408), register starts at 0xFFFF
 *   (`FCS16_INIT`). The sender complements the register and appends it least significant byte
 *   first; the receiver runs the register over data *and* FCS and finds `FCS16_GOOD` (0xF0B8).
 *   This is CRC-16/X-25: the complemented register over ASCII "123456789" is 0x906E.
 * - FCS-32: the Ethernet polynomial (reflected 0xEDB88320), register starts at 0xFFFFFFFF
 *   (`FCS32_INIT`), sent complemented LSB first; good residue `FCS32_GOOD` (0xDEBB20E3).
 *   The complemented register over "123456789" is 0xCBF43926 (CRC-32).
 *
 * `fcs16` / `fcs32` return the *register* (RFC 1662's `pppfcs16()` / `pppfcs32()`), not the
 * complemented value: pass it back as `init` to continue over the next chunk; complement it
 * (`fcs16Value`, `fcs32Value`) for what goes on the wire. The tables are computed once when the
 * module loads and never written after.
 */

/** Register before the first byte (RFC 1662 `PPPINITFCS16`). */
export const FCS16_INIT = 0xffff;
/** Register after a frame with a correct FCS-16, FCS bytes included (`PPPGOODFCS16`). */
export const FCS16_GOOD = 0xf0b8;
/** Register before the first byte (RFC 1662 `PPPINITFCS32`). */
export const FCS32_INIT = 0xffffffff;
/** Register after a frame with a correct FCS-32, FCS bytes included (`PPPGOODFCS32`). */
export const FCS32_GOOD = 0xdebb20e3;

/** Bytes the FCS takes on the wire in each mode. */
export type FcsMode = 16 | 32;

function makeTable16(): Uint16Array {
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    let v = b;
    for (let i = 0; i < 8; i++) v = v & 1 ? (v >>> 1) ^ 0x8408 : v >>> 1;
    t[b] = v;
  }
  return t;
}

/** Signed entries: V8 keeps int32 values unboxed, where a Uint32Array entry above 2^31 would not be. */
function makeTable32(): Int32Array {
  const t = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    let v = b;
    for (let i = 0; i < 8; i++) v = v & 1 ? (v >>> 1) ^ 0xedb88320 : v >>> 1;
    t[b] = v | 0;
  }
  return t;
}

const TABLE16 = makeTable16();
const TABLE32 = makeTable32();

/**
 * The FCS-16 register after `data[start..end)`, starting from `init` (default `FCS16_INIT`).
 * Out-of-range bounds are clamped to the array.
 */
export function fcs16(data: Uint8Array, start = 0, end = data.length, init = FCS16_INIT): number {
  const t = TABLE16;
  const stop = Math.min(end, data.length);
  let fcs = init & 0xffff;
  for (let i = Math.max(0, start); i < stop; i++) fcs = (fcs >>> 8) ^ (t[(fcs ^ (data[i] as number)) & 0xff] as number);
  return fcs;
}

/**
 * The FCS-32 register (unsigned) after `data[start..end)`, starting from `init` (default
 * `FCS32_INIT`). Out-of-range bounds are clamped to the array.
 */
export function fcs32(data: Uint8Array, start = 0, end = data.length, init = FCS32_INIT): number {
  const t = TABLE32;
  const stop = Math.min(end, data.length);
  let fcs = init | 0;
  for (let i = Math.max(0, start); i < stop; i++) fcs = (fcs >>> 8) ^ (t[(fcs ^ (data[i] as number)) & 0xff] as number);
  return fcs >>> 0;
}

/** The FCS-16 a sender appends for `data[start..end)`: the complemented register (send LSB first). */
export function fcs16Value(data: Uint8Array, start = 0, end = data.length): number {
  return ~fcs16(data, start, end) & 0xffff;
}

/** The FCS-32 a sender appends for `data[start..end)`: the complemented register (send LSB first). */
export function fcs32Value(data: Uint8Array, start = 0, end = data.length): number {
  return ~fcs32(data, start, end) >>> 0;
}

/** FCS bytes on the wire for a mode: 2 or 4. */
export function fcsLength(mode: FcsMode): number {
  return mode === 32 ? 4 : 2;
}

/**
 * True when `data[start..end)` ends with a correct FCS of the given mode (the register over data
 * and FCS equals the good residue). False for ranges shorter than the FCS itself.
 */
export function fcsGood(mode: FcsMode, data: Uint8Array, start = 0, end = data.length): boolean {
  if (end - start < fcsLength(mode)) return false;
  return mode === 32 ? fcs32(data, start, end) === FCS32_GOOD : fcs16(data, start, end) === FCS16_GOOD;
}

/** Writes the FCS of `data[0..len)` at `data[len..]` (LSB first) and returns the new length; `data` must have room. */
export function appendFcs(mode: FcsMode, data: Uint8Array, len: number): number {
  if (mode === 32) {
    const v = fcs32Value(data, 0, len);
    data[len] = v & 0xff;
    data[len + 1] = (v >>> 8) & 0xff;
    data[len + 2] = (v >>> 16) & 0xff;
    data[len + 3] = v >>> 24;
    return len + 4;
  }
  const v = fcs16Value(data, 0, len);
  data[len] = v & 0xff;
  data[len + 1] = v >>> 8;
  return len + 2;
}
