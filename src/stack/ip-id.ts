/**
 * IPv4 Identification values (RFC 6864, RFC 7739).
 *
 * RFC 6864 §4.1: the ID must be unique per (source, destination, protocol) within the
 * maximum datagram lifetime only for datagrams that may be fragmented (DF clear) —
 * which is every datagram this stack sends. RFC 7739 §5 warns against one global
 * counter (it leaks the host's traffic rate and lets an off-path attacker predict IDs
 * to poison reassembly) and recommends per-destination counters; §5.3 (Algorithm 3)
 * keeps a fixed table of counters indexed by a keyed hash of the triple, each counter
 * starting at a random value.
 *
 * That is what this does: `buckets` 16-bit counters (default 4096, 8 KiB), indexed by
 * a keyed 32-bit mix of (src, dst, protocol), each seeded from the `Rng`; the next ID
 * of a triple is its bucket's counter + 1. Consecutive datagrams of one flow get
 * consecutive IDs (what reassembly needs), different flows unrelated ones, memory is
 * bounded, and nothing is allocated per packet. The mix is a keyed integer hash, not a
 * cryptographic PRF: enough to decorrelate flows, cheap on the hot path.
 */
import type { Rng } from '../base/rand.ts';

export class IpIdGenerator {
  private readonly counters: Uint16Array;
  private readonly mask: number;
  private readonly k0: number;
  private readonly k1: number;

  /** `buckets` is rounded up to a power of two (at least 16). */
  constructor(rng: Rng, buckets = 4096) {
    let n = 16;
    while (n < buckets && n < 1 << 20) n <<= 1;
    this.counters = new Uint16Array(n);
    this.mask = n - 1;
    for (let i = 0; i < n; i++) this.counters[i] = rng.nextU32() & 0xffff;
    this.k0 = rng.nextU32() | 1;
    this.k1 = rng.nextU32();
  }

  /** The next Identification for a datagram from `src` to `dst` (uint32 addresses) carrying `protocol`. */
  next(src: number, dst: number, protocol: number): number {
    let h = Math.imul((src ^ this.k1) >>> 0, this.k0);
    h = Math.imul(h ^ (h >>> 15) ^ dst, 0x2c1b3c6d);
    h = Math.imul(h ^ (h >>> 12) ^ protocol, 0x297a2d39);
    h ^= h >>> 15;
    const i = h & this.mask;
    const id = ((this.counters[i] as number) + 1) & 0xffff;
    this.counters[i] = id;
    return id;
  }
}
