/**
 * TCP sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4, comparisons as in RFC 1982
 * serial-number arithmetic with SERIAL_BITS = 32).
 *
 * Sequence numbers are plain `number`s holding a uint32 (`0 … 2^32-1`); every result that is
 * a sequence number is normalised with `>>> 0`. Comparisons look at the signed 32-bit
 * difference, so they are meaningful only while the two numbers are less than 2^31 apart —
 * always true inside one connection, whose windows are at most 2^30 (RFC 7323 §2.3).
 * At exactly 2^31 apart the order is undefined (RFC 1982 §3.2); these helpers then answer
 * `seqLt(a, b) === seqLt(b, a) === true`, and callers must not rely on it.
 */

/** `(a + n) mod 2^32`; `n` may be negative. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * The signed distance `a − b` in `[-2^31, 2^31)`: how far `a` is ahead of `b`
 * (negative when behind). `seqAdd(b, seqSub(a, b)) === a` for all uint32 `a`, `b`.
 */
export function seqSub(a: number, b: number): number {
  return (a - b) | 0;
}

/** `a < b` modulo 2^32 (RFC 9293 §3.4 "=<" family). */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** `a =< b` modulo 2^32. */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** `a > b` modulo 2^32. */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** `a >= b` modulo 2^32. */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/**
 * `start =< x < start + len` modulo 2^32 (RFC 9293 §3.4, e.g. the acceptability test
 * `RCV.NXT =< SEG.SEQ < RCV.NXT + RCV.WND`). `len` is `0 … 2^32-1`; a zero-length window
 * contains nothing (the RFC's zero-window cases are the caller's, as they depend on the
 * segment length too).
 */
export function seqInWindow(x: number, start: number, len: number): boolean {
  return ((x - start) >>> 0) < len;
}

/** The larger of two sequence numbers modulo 2^32. */
export function seqMax(a: number, b: number): number {
  return seqLt(a, b) ? b >>> 0 : a >>> 0;
}

/** The smaller of two sequence numbers modulo 2^32. */
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a >>> 0 : b >>> 0;
}
