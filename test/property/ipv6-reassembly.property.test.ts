/**
 * IPv6 reassembly under random fragmentation and random abuse: any split, any order, any
 * exact duplicates give back exactly the original packet once; an overlapping fragment
 * that is not an exact duplicate never lets a packet through; garbage never throws;
 * memory and count stay within their caps and `pollAt()` is honest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Ipv6Reassembler } from '../../src/stack/ipv6-reassembly.ts';

const SRC = Uint8Array.from([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const DST = Uint8Array.from([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

/** Cuts `len` bytes into [offset, length] pieces of 8-aligned sizes (the last may be any size). */
function fragment(len: number, sizes: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let off = 0, i = 0; off < len; i++) {
    const want = Math.max(8, ((sizes[i % sizes.length] as number) >> 3) << 3);
    const n = Math.min(want, len - off);
    out.push([off, n]);
    off += n;
  }
  return out;
}

/** A random permutation of 0..n-1 from random numbers. */
function shuffle(n: number, rnd: number[]): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = (rnd[i % rnd.length] as number) % (i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/** An unfragmentable part: a 40-byte header (random, as the reassembler must not care) + 0-3 extension headers' worth. */
const unfragArb = fc.tuple(fc.uint8Array({ minLength: 40, maxLength: 40 }), fc.nat(3)).chain(([h, n]) =>
  fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n }).map((ext) => Uint8Array.of(...h, ...ext)));

const packetArb = fc.record({
  unfrag: unfragArb,
  data: fc.uint8Array({ minLength: 9, maxLength: 5000 }),
  sizes: fc.array(fc.integer({ min: 8, max: 1500 }), { minLength: 1, maxLength: 8 }),
  perm: fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
  ident: fc.nat({ max: 0xffffffff }),
});

function expected(unfrag: Uint8Array, data: Uint8Array): Uint8Array {
  const out = Uint8Array.of(...unfrag, ...data);
  const plen = out.length - 40;
  out[4] = plen >> 8;
  out[5] = plen & 0xff;
  return out;
}

describe('IPv6 reassembly: properties', () => {
  it('any fragmentation, any order, exact duplicates anywhere before the last piece: the exact packet, once', () => {
    fc.assert(fc.property(packetArb, fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 10 }), fc.uint8Array({ maxLength: 60 }), (p, dups, junk) => {
      const frags = fragment(p.data.length, p.sizes);
      fc.pre(frags.length >= 2); // one piece at offset 0 without M would be an atomic fragment
      const order = shuffle(frags.length, p.perm);
      const last = order[order.length - 1] as number;
      // Exact duplicates of any piece but the completing one, at random places before it.
      const seq = order.slice(0, -1);
      for (const [which, where] of dups) {
        const k = order[which % (order.length - 1)] as number;
        seq.splice(where % (seq.length + 1), 0, k);
      }
      seq.push(last);
      const r = new Ipv6Reassembler();
      const results: Uint8Array[] = [];
      let t = 0;
      for (const k of seq) {
        const [off, n] = frags[k] as [number, number];
        // Only the first fragment's unfragmentable part counts: the others carry junk.
        const head = off === 0 ? p.unfrag : junk;
        // The caller's buffer is reused: pass a copy and scribble over it afterwards.
        const buf = p.data.slice(off, off + n);
        const out = r.add(SRC, DST, p.ident, off, off + n < p.data.length, head, buf, t++);
        buf.fill(0xa5);
        assert.equal(r.lastFault, undefined);
        if (out !== undefined) results.push(out);
      }
      assert.equal(results.length, 1, 'completed exactly once');
      assert.deepEqual(results[0], expected(p.unfrag, p.data));
      assert.equal(r.inProgress, 0);
      assert.equal(r.bytesHeld, 0, 'no memory left behind');
      assert.equal(r.stats.overlaps, 0);
    }), { numRuns: 300 });
  });

  // A forged fragment that comes before the genuine one it overlaps can fill the hole in its
  // place (the genuine one then starts a new packet): no reassembler can tell. Overlap is
  // what it can see: the forgery arriving while a genuine fragment it overlaps is held.
  it('an overlapping fragment that is not an exact duplicate, arriving while one it overlaps is held, means no packet at all', () => {
    const evilArb = fc.record({ at: fc.nat(), len: fc.integer({ min: 1, max: 2000 }), more: fc.boolean(), fill: fc.nat(255), where: fc.nat() });
    fc.assert(fc.property(packetArb, evilArb, (p, e) => {
      const total = p.data.length;
      const frags = fragment(total, p.sizes);
      fc.pre(frags.length >= 2);
      // Somewhere inside the packet (so it overlaps at least one piece), 8-aligned.
      const off = ((e.at % total) >> 3) << 3;
      let len = e.len;
      // Offset 0 without M would be an atomic fragment: a packet of its own (RFC 6946), not an overlap.
      let more = e.more || off === 0;
      if (more) len = Math.max(8, (len >> 3) << 3);
      const data = new Uint8Array(len).fill(e.fill);
      // Not an exact duplicate of a piece: same range means different bytes.
      const twin = frags.find(([o, n]) => o === off && n === len);
      if (twin !== undefined) {
        data.set(p.data.subarray(off, off + len));
        data[0] = (data[0] as number) ^ 1;
        more = off + len < total;
      }
      const order = shuffle(frags.length, p.perm);
      const overlaps = (k: number): boolean => {
        const [o, n] = frags[k] as [number, number];
        return o < off + len && off < o + n;
      };
      let i = order.findIndex(overlaps);
      assert.ok(i >= 0, 'the forgery lies inside the packet');
      if (i === order.length - 1) {
        [order[0], order[i]] = [order[i] as number, order[0] as number];
        i = 0;
      }
      // After the first piece it overlaps, before the last piece.
      const seq: (number | 'evil')[] = [...order];
      seq.splice(i + 1 + (e.where % (order.length - 1 - i)), 0, 'evil');
      const r = new Ipv6Reassembler();
      for (const k of seq) {
        let out: Uint8Array | undefined;
        if (k === 'evil') {
          out = r.add(SRC, DST, p.ident, off, more, p.unfrag, data, 0);
        } else {
          const [o, n] = frags[k] as [number, number];
          out = r.add(SRC, DST, p.ident, o, o + n < total, p.unfrag, p.data.subarray(o, o + n), 0);
        }
        assert.equal(out, undefined, 'no packet');
      }
      assert.equal(r.stats.completed, 0);
    }), { numRuns: 500 });
  });

  it('random operations: never throw, memory and count within their caps, pollAt honest', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('add' as const), id: fc.nat(5), off: fc.oneof(fc.nat(16).map((x) => x * 8), fc.nat(0xfff8)), more: fc.boolean(), len: fc.oneof(fc.nat(64), fc.integer({ min: 0, max: 3000 })), hl: fc.constantFrom(0, 40, 48, 400), dt: fc.oneof(fc.nat(3), fc.nat(5000)) }),
      fc.record({ k: fc.constant('poll' as const), dt: fc.oneof(fc.nat(3), fc.nat(70_000)) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 150 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 16 * 1024 }), fc.constantFrom(1, 7, 5000, 60_000), (ops, maxDatagrams, maxBytes, timeoutMs) => {
      const r = new Ipv6Reassembler({ maxDatagrams, maxBytes, timeoutMs });
      let now = 0;
      for (const o of ops) {
        now += o.dt;
        for (let at = r.pollAt(); at !== undefined && at <= now; at = r.pollAt()) {
          r.poll(at);
          assert.ok((r.pollAt() ?? Infinity) > at, 'polling at pollAt() leaves nothing due then');
        }
        assert.deepEqual(r.poll(now), [], 'nothing overdue that pollAt() did not announce');
        if (o.k === 'add') {
          const out = r.add(SRC, DST, o.id, o.off, o.more, new Uint8Array(o.hl), new Uint8Array(o.len), now);
          if (out !== undefined) {
            assert.ok(out.length >= 40);
            assert.equal((out[4] as number) * 256 + (out[5] as number), out.length - 40, 'payload length rewritten');
          }
        } else {
          r.poll(now);
        }
        assert.ok(r.bytesHeld <= maxBytes, `held ${r.bytesHeld} > ${maxBytes}`);
        assert.ok(r.bytesHeld >= 0);
        assert.ok(r.inProgress <= maxDatagrams);
      }
      r.poll(now + timeoutMs);
      assert.equal(r.inProgress, 0);
      assert.equal(r.bytesHeld, 0, 'everything accounted for');
    }), { numRuns: 300 });
  });

  it('garbage arguments never throw', () => {
    // Each argument valid or garbage, so that garbage in one place meets valid values in the others.
    const or = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof(valid, fc.anything(), fc.uint8Array({ maxLength: 48 }), fc.double());
    const callArb = fc.tuple(
      or(fc.constant(SRC)), or(fc.constant(DST)), or(fc.nat({ max: 3 })), or(fc.nat(8).map((x) => x * 8)), or(fc.boolean()),
      or(fc.uint8Array({ minLength: 40, maxLength: 56 })), or(fc.uint8Array({ maxLength: 64 })), or(fc.nat(100_000)),
    );
    fc.assert(fc.property(fc.array(callArb, { maxLength: 30 }), (calls) => {
      const r = new Ipv6Reassembler({ maxBytes: 4096 });
      for (const c of calls) {
        const [a, b, id, off, more, head, data, now] = c as [Uint8Array, Uint8Array, number, number, boolean, Uint8Array, Uint8Array, number];
        const bytesOf = (x: unknown, n?: number): boolean => x instanceof Uint8Array && (n === undefined || x.length === n);
        const valid = bytesOf(a, 16) && bytesOf(b, 16) && Number.isInteger(id) && id >= 0 && id <= 0xffffffff
          && Number.isInteger(off) && off >= 0 && off <= 0xfff8 && off % 8 === 0 && typeof more === 'boolean'
          && bytesOf(head) && bytesOf(data) && Number.isFinite(now) && (off !== 0 || head.length >= 40);
        const before = { n: r.inProgress, held: r.bytesHeld, malformed: r.stats.malformed };
        const out = r.add(a, b, id, off, more, head, data, now);
        if (!valid) {
          assert.equal(out, undefined);
          assert.deepEqual({ n: r.inProgress, held: r.bytesHeld, malformed: r.stats.malformed }, { ...before, malformed: before.malformed + 1 }, 'a bad call only counts');
        }
        r.poll(typeof now === 'number' ? now : 0);
        assert.ok(r.bytesHeld <= 4096);
      }
    }), { numRuns: 500 });
  });
});
