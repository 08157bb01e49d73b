/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012) in pure 32-bit arithmetic, so it runs
 * anywhere (no BigInt on the hot path, no node:crypto). Used as the keyed PRF of
 * RFC 6528 initial sequence numbers and for SYN cookies.
 *
 * 64-bit lanes are held as (hi, lo) pairs of uint32 in a reusable state array.
 */

// State layout: v0h v0l v1h v1l v2h v2l v3h v3l
function add64(s: Uint32Array, a: number, b: number): void {
  const lo = (s[a + 1] as number) + (s[b + 1] as number);
  const carry = lo > 0xffffffff ? 1 : 0;
  s[a + 1] = lo >>> 0;
  s[a] = ((s[a] as number) + (s[b] as number) + carry) >>> 0;
}

function rotl64(s: Uint32Array, a: number, n: number): void {
  const hi = s[a] as number;
  const lo = s[a + 1] as number;
  if (n === 32) {
    s[a] = lo;
    s[a + 1] = hi;
  } else if (n < 32) {
    s[a] = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    s[a + 1] = ((lo << n) | (hi >>> (32 - n))) >>> 0;
  } else {
    const m = n - 32;
    s[a] = ((lo << m) | (hi >>> (32 - m))) >>> 0;
    s[a + 1] = ((hi << m) | (lo >>> (32 - m))) >>> 0;
  }
}

function xor64(s: Uint32Array, a: number, b: number): void {
  s[a] = ((s[a] as number) ^ (s[b] as number)) >>> 0;
  s[a + 1] = ((s[a + 1] as number) ^ (s[b + 1] as number)) >>> 0;
}

const V0 = 0, V1 = 2, V2 = 4, V3 = 6;

function round(s: Uint32Array): void {
  add64(s, V0, V1); rotl64(s, V1, 13); xor64(s, V1, V0); rotl64(s, V0, 32);
  add64(s, V2, V3); rotl64(s, V3, 16); xor64(s, V3, V2);
  add64(s, V0, V3); rotl64(s, V3, 21); xor64(s, V3, V0);
  add64(s, V2, V1); rotl64(s, V1, 17); xor64(s, V1, V2); rotl64(s, V2, 32);
}

function le32(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}

/** A SipHash-2-4 instance with a 16-byte key. */
export class SipHash24 {
  private readonly k = new Uint32Array(4); // k0 lo, k0 hi, k1 lo, k1 hi
  private readonly s = new Uint32Array(8);
  private readonly m = new Uint32Array(8); // scratch lane at index 0..1 (hi, lo)

  constructor(key: Uint8Array) {
    this.k[0] = le32(key, 0);
    this.k[1] = le32(key, 4);
    this.k[2] = le32(key, 8);
    this.k[3] = le32(key, 12);
  }

  /** The 64-bit hash of `msg` as [hi, lo] uint32 halves. */
  hash(msg: Uint8Array): [number, number] {
    const s = this.s, k = this.k, m = this.m;
    // v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera", v3 = k1 ^ "tedbytes"
    s[0] = ((k[1] as number) ^ 0x736f6d65) >>> 0; s[1] = ((k[0] as number) ^ 0x70736575) >>> 0;
    s[2] = ((k[3] as number) ^ 0x646f7261) >>> 0; s[3] = ((k[2] as number) ^ 0x6e646f6d) >>> 0;
    s[4] = ((k[1] as number) ^ 0x6c796765) >>> 0; s[5] = ((k[0] as number) ^ 0x6e657261) >>> 0;
    s[6] = ((k[3] as number) ^ 0x74656462) >>> 0; s[7] = ((k[2] as number) ^ 0x79746573) >>> 0;
    const len = msg.length;
    const full = len - (len % 8);
    const mix = (hi: number, lo: number): void => {
      m[0] = hi; m[1] = lo;
      s[6] = ((s[6] as number) ^ hi) >>> 0; s[7] = ((s[7] as number) ^ lo) >>> 0;
      round(s); round(s);
      s[0] = ((s[0] as number) ^ hi) >>> 0; s[1] = ((s[1] as number) ^ lo) >>> 0;
    };
    for (let i = 0; i < full; i += 8) mix(le32(msg, i + 4), le32(msg, i));
    // Last block: remaining bytes, length in the top byte.
    const tail = new Uint8Array(8);
    tail.set(msg.subarray(full));
    tail[7] = len & 0xff;
    mix(le32(tail, 4), le32(tail, 0));
    s[5] = ((s[5] as number) ^ 0xff) >>> 0; // v2 ^= 0xff
    round(s); round(s); round(s); round(s);
    const hi = ((s[0] as number) ^ (s[2] as number) ^ (s[4] as number) ^ (s[6] as number)) >>> 0;
    const lo = ((s[1] as number) ^ (s[3] as number) ^ (s[5] as number) ^ (s[7] as number)) >>> 0;
    return [hi, lo];
  }
}
