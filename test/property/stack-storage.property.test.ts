/**
 * The TCP storage pieces against simple models: the ring buffer under random
 * write/read/peek/consume sequences (with wrap-around), and the out-of-order assembler
 * under random segmentations, delivery orders, duplicates and overlaps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Assembler } from '../../src/stack/assembler.ts';
import { RingBuffer } from '../../src/stack/ring-buffer.ts';

describe('RingBuffer', () => {
  it('behaves like a bounded byte queue under random operations (model-based)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), data: fc.uint8Array({ maxLength: 40 }) }),
      fc.record({ kind: fc.constant('read' as const), n: fc.nat(40) }),
      fc.record({ kind: fc.constant('peek' as const), off: fc.nat(40), n: fc.nat(40) }),
      fc.record({ kind: fc.constant('consume' as const), n: fc.nat(40) }),
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.array(op, { maxLength: 80 }), (cap, ops) => {
      const ring = new RingBuffer(cap);
      let model: number[] = [];
      for (const o of ops) {
        if (o.kind === 'write') {
          const n = ring.write(o.data);
          const want = Math.min(o.data.length, cap - model.length);
          assert.equal(n, want);
          model.push(...o.data.subarray(0, n));
        } else if (o.kind === 'read') {
          const dst = new Uint8Array(o.n);
          const n = ring.read(dst);
          assert.equal(n, Math.min(o.n, model.length));
          assert.deepEqual([...dst.subarray(0, n)], model.slice(0, n));
          model = model.slice(n);
        } else if (o.kind === 'peek') {
          const views = ring.peek(o.off, o.n);
          const got = views.flatMap((v) => [...v]);
          assert.deepEqual(got, model.slice(o.off, o.off + o.n));
          assert.ok(views.length <= 2);
        } else {
          ring.consume(o.n);
          model = model.slice(Math.min(o.n, model.length));
        }
        assert.equal(ring.length, model.length);
        assert.equal(ring.free, cap - model.length);
        if (model.length === 0) {
          ring.release();
          assert.equal(ring.allocated, false, 'an empty ring releases its memory on request');
        }
      }
    }), { numRuns: 500 });
  });

  it('out-of-order bytes written with writeAt survive until committed, across wrap-around', () => {
    fc.assert(fc.property(fc.integer({ min: 8, max: 64 }), fc.nat(63), fc.uint8Array({ minLength: 1, maxLength: 64 }), (cap, pre, data) => {
      const ring = new RingBuffer(cap);
      // Move the read position somewhere inside the buffer first.
      const p = pre % cap;
      ring.write(new Uint8Array(p));
      ring.keepOutOfOrder = true;
      ring.consume(p);
      const gap = Math.min(3, cap - 1);
      const tail = data.subarray(0, Math.max(0, cap - gap));
      ring.writeAt(gap, tail);
      ring.writeAt(0, new Uint8Array(gap).fill(7));
      ring.commit(gap + tail.length);
      const out = new Uint8Array(gap + tail.length);
      ring.copyOut(0, out, out.length);
      assert.deepEqual([...out], [...new Uint8Array(gap).fill(7), ...tail]);
    }), { numRuns: 300 });
  });
});

describe('Assembler', () => {
  it('any segmentation delivered in any order, with duplicates, reassembles exactly once', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 2000 }),
      fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 60 }),
      (total, cuts, order) => {
        // Segments covering [0, total): sizes from `cuts`, cycled.
        const segs: [number, number][] = [];
        for (let off = 0, i = 0; off < total; i++) {
          const len = Math.min(cuts[i % cuts.length] as number, total - off);
          segs.push([off, len]);
          off += len;
        }
        // Delivery: a permutation (from `order`) plus some duplicates.
        const idx = segs.map((_, i) => i);
        for (let i = idx.length - 1; i > 0; i--) {
          const j = (order[i % Math.max(1, order.length)] ?? 0) % (i + 1);
          [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
        }
        const deliveries = [...idx, ...order.slice(0, 5).map((o) => o % segs.length)];
        const asm = new Assembler(16);
        let nxt = 0; // absolute in-order point
        // A refused segment is delivered again later, as the peer's retransmission would be.
        for (let d = 0; d < deliveries.length; d++) {
          const k = deliveries[d] as number;
          const [off, len] = segs[k] as [number, number];
          const rel = off - nxt;
          if (rel + len <= 0) continue; // entirely old: a duplicate
          const adv = asm.add(rel, len);
          if (adv < 0) {
            assert.equal(asm.rangeCount, 16, 'refused only when the range table is full');
            deliveries.push(k);
            continue;
          }
          nxt += adv;
          assert.ok(deliveries.length < 100_000, 'terminates');
        }
        assert.equal(nxt, total, 'everything became contiguous');
        assert.ok(asm.isEmpty);
      },
    ), { numRuns: 500 });
  });

  it('bounded: never more than maxRanges ranges; refusals change nothing', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 20 })), { maxLength: 100 }), (adds) => {
      const asm = new Assembler(4);
      for (const [off, len] of adds) {
        const before = asm.sackBlocks(100).sort((a, b) => a[0] - b[0]);
        const r = asm.add(off, len);
        if (r === -1) assert.deepEqual(asm.sackBlocks(100).sort((a, b) => a[0] - b[0]), before, 'a refusal records nothing');
        assert.ok(asm.rangeCount <= 4);
      }
    }), { numRuns: 300 });
  });

  it('SACK blocks: most recently updated first, disjoint, never covering offset 0 data', () => {
    const asm = new Assembler(8);
    assert.equal(asm.add(10, 5), 0);
    assert.equal(asm.add(30, 5), 0);
    assert.equal(asm.add(20, 5), 0);
    assert.deepEqual(asm.sackBlocks(3), [[20, 25], [30, 35], [10, 15]]);
    assert.equal(asm.add(15, 5), 0); // joins [10,15) and [20,25) into [10,25)
    assert.deepEqual(asm.sackBlocks(3), [[10, 25], [30, 35]]);
    assert.equal(asm.add(0, 10), 25, 'the hole at 0 fills: 25 contiguous bytes');
    assert.deepEqual(asm.sackBlocks(3), [[5, 10]], 'the rest shifted down by 25');
    assert.equal(asm.advance(5), 5, 'in-order data reaching the next range releases it');
    assert.ok(asm.isEmpty);
  });
});
