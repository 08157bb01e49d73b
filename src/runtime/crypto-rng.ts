import type { Rng } from '../base/rand.ts';

/**
 * Cryptographically secure `Rng` for production (ISNs, ports, DNS ids), refilled in blocks from
 * the Web Crypto API's `crypto.getRandomValues` (a global in Node >= 19 and in browsers, so this
 * also runs in the browser bundle).
 */
export class CryptoRng implements Rng {
  private readonly pool = new Uint32Array(256);
  private index = 256;

  nextU32(): number {
    if (this.index >= this.pool.length) {
      globalThis.crypto.getRandomValues(this.pool);
      this.index = 0;
    }
    return this.pool[this.index++] ?? 0;
  }
}
