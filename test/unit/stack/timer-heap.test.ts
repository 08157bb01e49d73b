import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TimerHeap, type Timed } from '../../../src/stack/timer-heap.ts';

interface Item extends Timed {
  readonly id: number;
}

const item = (id: number): Item => ({ id, deadline: undefined });

describe('TimerHeap', () => {
  it('pops due items in deadline order; nextAt is the earliest live deadline', () => {
    const h = new TimerHeap<Item>();
    const [a, b, c] = [item(1), item(2), item(3)];
    h.schedule(a, 30);
    h.schedule(b, 10);
    h.schedule(c, 20);
    assert.equal(h.nextAt(), 10);
    assert.equal(h.popDue(5), undefined, 'nothing due yet');
    assert.equal(h.popDue(25)?.id, 2);
    assert.equal(b.deadline, undefined, 'a popped item has no deadline');
    assert.equal(h.popDue(25)?.id, 3);
    assert.equal(h.popDue(25), undefined);
    assert.equal(h.nextAt(), 30);
    assert.equal(h.live, 1);
  });

  it('lazy deletion: rescheduling and cancelling leave stale entries that are skipped', () => {
    const h = new TimerHeap<Item>();
    const a = item(1);
    h.schedule(a, 10);
    h.schedule(a, 50); // the entry at 10 is now stale
    assert.equal(h.size, 2);
    assert.equal(h.nextAt(), 50, 'the stale top is dropped');
    assert.equal(h.popDue(20), undefined);
    h.schedule(a, 5);
    h.cancel(a);
    assert.equal(h.nextAt(), undefined);
    assert.equal(h.live, 0);
    // A -> B -> A: two live-looking entries, one pop.
    h.schedule(a, 7);
    h.schedule(a, 8);
    h.schedule(a, 7);
    assert.equal(h.popDue(100)?.id, 1);
    assert.equal(h.popDue(100), undefined, 'the duplicate entry is stale after the pop');
  });

  it('compacts when stale entries dominate: memory stays proportional to live items', () => {
    const h = new TimerHeap<Item>();
    const items = Array.from({ length: 10 }, (_, i) => item(i));
    for (let round = 0; round < 10_000; round++) for (const it of items) h.schedule(it, round * 10 + it.id);
    assert.ok(h.size <= 2 * 10 + 64 + 1, `heap holds ${h.size} entries for 10 live items`);
    const out: number[] = [];
    for (let x = h.popDue(Infinity); x !== undefined; x = h.popDue(Infinity)) out.push(x.id);
    assert.deepEqual(out, items.map((i) => i.id));
  });

  it('model: matches a map of deadlines under any schedule/cancel/pop sequence', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('s' as const), id: fc.nat(15), at: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ k: fc.constant('c' as const), id: fc.nat(15) }),
      fc.record({ k: fc.constant('p' as const), now: fc.integer({ min: 0, max: 1000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const h = new TimerHeap<Item>();
        const items = Array.from({ length: 16 }, (_, i) => item(i));
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.k === 's') {
            h.schedule(items[o.id] as Item, o.at);
            model.set(o.id, o.at);
          } else if (o.k === 'c') {
            h.cancel(items[o.id] as Item);
            model.delete(o.id);
          } else {
            const got = h.popDue(o.now);
            let min = Infinity;
            for (const at of model.values()) min = Math.min(min, at);
            if (min > o.now) assert.equal(got, undefined);
            else {
              assert.ok(got !== undefined);
              assert.equal(model.get(got.id), min, 'popped an earliest due item');
              model.delete(got.id);
            }
          }
          let min: number | undefined;
          for (const at of model.values()) min = min === undefined ? at : Math.min(min, at);
          assert.equal(h.nextAt(), min);
          assert.equal(h.live, model.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
