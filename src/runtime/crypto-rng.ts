import { randomFillSync } from 'node:crypto';
import type { Rng } from '../base/rand.ts';

/** Cryptographically secure `Rng` for production (ISNs, ports, DNS ids), refilled in blocks. */
export class CryptoRng implements Rng {
  private readonly pool = new Uint32Array(256);
  private index = 256;

  nextU32(): number {
    if (this.index >= this.pool.length) {
      randomFillSync(this.pool);
      this.index = 0;
    }
    return this.pool[this.index++] ?? 0;
  }
}
