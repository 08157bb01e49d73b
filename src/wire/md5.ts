/**
 * MD5 (RFC 1321) in plain TypeScript over `Uint8Array`, for CHAP-MD5 (RFC 1994: the response is
 * MD5(Identifier ‖ secret ‖ Challenge)) in code that must also run in a browser (no node:crypto in
 * wire/ or stack/). MD5 is broken for collision resistance; CHAP uses it only because the protocol
 * says so.
 *
 * `md5(...parts)` hashes the concatenation of its arguments without concatenating them; `Md5` is
 * the incremental form (`update` any number of times, then `digest` once). Correct for any length
 * (the bit length is kept as two 32-bit words, RFC 1321 §3.2). The round constants are the RFC's
 * T[i] = floor(2^32 * |sin(i)|), written out (§3.4), and never change.
 */

/** T[1..64] of RFC 1321 §3.4, as signed 32-bit values. */
const T = Int32Array.from([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
].map((x) => x | 0));

/** Per-round shift amounts (§3.4), four per round. */
const S = Uint8Array.of(7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21);

/** Digest length in bytes. */
export const MD5_LENGTH = 16;

/** Incremental MD5. */
export class Md5 {
  private a = 0x67452301;
  private b = 0xefcdab89 | 0;
  private c = 0x98badcfe | 0;
  private d = 0x10325476;
  private readonly block = new Uint8Array(64);
  private readonly x = new Int32Array(16);
  private blockLen = 0;
  /** Message length in bytes, as high and low 32-bit parts (lengths beyond 2^53 stay exact). */
  private lenHi = 0;
  private lenLo = 0;
  private done = false;

  /** Adds `data` to the message. Throws once `digest()` was called. */
  update(data: Uint8Array): this {
    if (this.done) throw new Error('md5: update after digest');
    const n = data.length;
    const lo = this.lenLo + n;
    this.lenHi += Math.floor(lo / 0x100000000);
    this.lenLo = lo % 0x100000000;
    let i = 0;
    if (this.blockLen > 0) {
      const take = Math.min(64 - this.blockLen, n);
      this.block.set(data.subarray(0, take), this.blockLen);
      this.blockLen += take;
      i = take;
      if (this.blockLen < 64) return this;
      this.compress(this.block, 0);
      this.blockLen = 0;
    }
    for (; i + 64 <= n; i += 64) this.compress(data, i);
    if (i < n) {
      this.block.set(data.subarray(i), 0);
      this.blockLen = n - i;
    }
    return this;
  }

  /** The 16-byte digest (RFC 1321 §3.5: A, B, C, D little-endian). Ends the hash. */
  digest(): Uint8Array {
    if (this.done) throw new Error('md5: digest called twice');
    // §3.1-3.2: a 1 bit, zeros to 56 mod 64, then the bit length, little-endian 64 bits.
    const bitsLo = (this.lenLo * 8) % 0x100000000;
    const bitsHi = (this.lenHi * 8 + Math.floor((this.lenLo * 8) / 0x100000000)) % 0x100000000;
    const pad = new Uint8Array((this.blockLen < 56 ? 56 : 120) - this.blockLen + 8);
    pad[0] = 0x80;
    const p = pad.length - 8;
    for (let k = 0; k < 4; k++) {
      pad[p + k] = (bitsLo >>> (8 * k)) & 0xff;
      pad[p + 4 + k] = (bitsHi >>> (8 * k)) & 0xff;
    }
    this.update(pad);
    this.done = true;
    const out = new Uint8Array(MD5_LENGTH);
    const words = [this.a, this.b, this.c, this.d];
    for (let w = 0; w < 4; w++) {
      const v = words[w] as number;
      for (let k = 0; k < 4; k++) out[w * 4 + k] = (v >>> (8 * k)) & 0xff;
    }
    return out;
  }

  /** One 64-byte block at `data[o..o+64)` (§3.4). */
  private compress(data: Uint8Array, o: number): void {
    const x = this.x;
    for (let j = 0; j < 16; j++) {
      const q = o + 4 * j;
      x[j] = (data[q] as number) | ((data[q + 1] as number) << 8) | ((data[q + 2] as number) << 16) | ((data[q + 3] as number) << 24);
    }
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (b & d) | (c & ~d);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const s = S[((i >>> 4) << 2) | (i & 3)] as number;
      const sum = (a + f + (T[i] as number) + (x[g] as number)) | 0;
      const next = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
      a = d;
      d = c;
      c = b;
      b = next;
    }
    this.a = (this.a + a) | 0;
    this.b = (this.b + b) | 0;
    this.c = (this.c + c) | 0;
    this.d = (this.d + d) | 0;
  }
}

/** MD5 of the concatenation of `parts` (16 bytes). */
export function md5(...parts: Uint8Array[]): Uint8Array {
  const h = new Md5();
  for (const p of parts) h.update(p);
  return h.digest();
}
