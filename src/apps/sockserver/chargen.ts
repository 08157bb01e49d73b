/**
 * Character generator patterns (RFC 864) of the reference test server
 * (iot-socket-api.md §16). Pure and deterministic.
 */

/** First and last characters of the SockServer ring (`!` … `~`, 94 characters). */
const SS_FIRST = 0x21;
const SS_END = 0x7f;

/**
 * SockServer v1.1 chargen: each line of length `L` is `L − 2` characters, then
 * `0x0A 0x0D` ("\n\r", in that order). A start character `s` begins at `'@'`; before
 * each line `s = s + 1`, reset to `'!'` when below `0x21` or at `0x7F`; the line starts
 * at `s` and each next character is the previous + 1, wrapping `0x7F` → `0x21`.
 * So line 1 starts `ABC…`, line 2 `BCD…`.
 *
 * One instance is one state: per TCP connection, or shared by all UDP clients.
 */
export class SockServerChargen {
  #start = 0x40; // '@'

  /** The next line of `length` bytes (at least 2; the line is just "\n\r" then). */
  line(length: number): Uint8Array {
    const len = Math.max(2, Math.floor(length));
    let s = this.#start + 1;
    if (s < SS_FIRST || s === SS_END) s = SS_FIRST;
    this.#start = s;
    const out = new Uint8Array(len);
    let ch = s;
    for (let i = 0; i < len - 2; i++) {
      out[i] = ch;
      if (++ch === SS_END) ch = SS_FIRST;
    }
    out[len - 2] = 0x0a;
    out[len - 1] = 0x0d;
    return out;
  }
}

/** Length of a TCP chargen line of the SockServer style: 79 characters + "\n\r". */
export const SOCKSERVER_TCP_LINE = 81;

/** RFC 864 ring: the 95 printable ASCII characters 0x20 … 0x7E. */
const RFC_FIRST = 0x20;
const RFC_RING = 95;
/** RFC 864 line: 72 characters + CR LF. */
export const RFC864_LINE = 74;
const RFC_CHARS = 72;

/**
 * RFC 864 style chargen as a continuous byte stream of 74-byte lines: 72 characters
 * then CR LF; line k (k = 0, 1, …) starts at ring position k mod 95 of the ring
 * 0x20 … 0x7E (so line 0 starts with a space, as BSD inetd's chargen does). `take(n)`
 * returns the next `n` bytes of the stream, continuing where the last call stopped.
 */
export class Rfc864Chargen {
  #line = 0;
  #col = 0;

  /** The next `n` bytes of the stream. */
  take(n: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.floor(n)));
    for (let i = 0; i < out.length; i++) {
      const col = this.#col;
      if (col < RFC_CHARS) out[i] = RFC_FIRST + ((this.#line + col) % RFC_RING);
      else out[i] = col === RFC_CHARS ? 0x0d : 0x0a;
      if (++this.#col === RFC864_LINE) {
        this.#col = 0;
        this.#line = (this.#line + 1) % RFC_RING;
      }
    }
    return out;
  }
}

/** Line `k` (from 0) of the RFC 864 pattern, for tests and checks. */
export function rfc864Line(k: number): Uint8Array {
  const out = new Uint8Array(RFC864_LINE);
  for (let i = 0; i < RFC_CHARS; i++) out[i] = RFC_FIRST + ((k + i) % RFC_RING);
  out[RFC_CHARS] = 0x0d;
  out[RFC_CHARS + 1] = 0x0a;
  return out;
}
