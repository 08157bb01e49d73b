/**
 * Injected randomness. Protocol code takes an `Rng`; production passes the
 * crypto-backed one from `src/runtime/`, tests a seeded `XorShiftRng`.
 */
export interface Rng {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number;
}

/** Uniform integer in [lo, hi] (inclusive) from `rng`, without modulo bias. */
export function randomInt(rng: Rng, lo: number, hi: number): number {
  const span = hi - lo + 1;
  if (span <= 1) return lo;
  const limit = Math.floor(0x1_0000_0000 / span) * span;
  for (;;) {
    const x = rng.nextU32();
    if (x < limit) return lo + (x % span);
  }
}

/** Marsaglia xorshift32: fast, seeded, deterministic. For tests and simulations only. */
export class XorShiftRng implements Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  nextU32(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
}
