import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCable } from '../../../src/link/virtual-cable.ts';
import { FrameRing } from '../../../src/link/frame-ring.ts';

/** A frame of `len` bytes, every byte `tag` (tag 0 gives byte i = i & 0xff). */
const frame = (len: number, tag = 0): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (tag === 0 ? i & 0xff : tag));

describe('createCable', () => {
  it('delivers frames both ways, in order, as copies', () => {
    const [a, b] = createCable();
    assert.deepEqual(a.caps, { medium: 'ethernet', mtu: 1500 });
    const f1 = frame(60, 1);
    assert.equal(a.transmit(0, f1), true);
    assert.equal(a.transmit(0, frame(70, 2)), true);
    f1.fill(9); // the cable copied: the caller may reuse its buffer at once
    assert.equal(b.queued, 2);
    assert.deepEqual(b.receive(0), frame(60, 1));
    assert.deepEqual(b.receive(0), frame(70, 2));
    assert.equal(b.receive(0), undefined);
    assert.equal(a.receive(0), undefined, 'nothing loops back to the sender');

    assert.equal(b.transmit(1, frame(100, 3)), true);
    assert.deepEqual(a.receive(1), frame(100, 3));
    assert.deepEqual(a.stats(), { rxFrames: 1, rxBytes: 100, txFrames: 2, txBytes: 130, dropped: 0, droppedOversize: 0, droppedQueueFull: 0, droppedClosed: 0, droppedNoCarrier: 0 });
    assert.deepEqual(b.stats(), { rxFrames: 2, rxBytes: 130, txFrames: 1, txBytes: 100, dropped: 0, droppedOversize: 0, droppedQueueFull: 0, droppedClosed: 0, droppedNoCarrier: 0 });
  });

  it('bounds the receive queue and counts drops at the sender', () => {
    const [a, b] = createCable({ queueFrames: 4 });
    for (let i = 1; i <= 4; i++) assert.equal(a.transmit(0, frame(64, i)), true);
    assert.equal(a.transmit(0, frame(64, 5)), false);
    assert.equal(a.transmit(0, frame(64, 6)), false);
    assert.equal(a.stats().dropped, 2);
    assert.equal(a.stats().droppedQueueFull, 2);
    assert.equal(a.stats().txFrames, 4);
    assert.equal(b.stats().dropped, 0);
    // Draining one frame makes room for one more.
    assert.deepEqual(b.receive(0), frame(64, 1));
    assert.equal(a.transmit(0, frame(64, 7)), true);
    const got: number[] = [];
    for (let f = b.receive(0); f !== undefined; f = b.receive(0)) got.push(f[0] as number);
    assert.deepEqual(got, [2, 3, 4, 7]);
  });

  it('drops frames longer than mtu + 14 on Ethernet and mtu on IP', () => {
    const [a, b] = createCable({ mtu: 1500 });
    assert.equal(a.transmit(0, frame(1514)), true);
    assert.equal(a.transmit(0, frame(1515)), false);
    assert.equal(a.stats().droppedOversize, 1);
    assert.deepEqual(b.receive(0), frame(1514));
    assert.equal(b.receive(0), undefined);

    const [c, d] = createCable({ mtu: 576, medium: 'ip' });
    assert.deepEqual(c.caps, { medium: 'ip', mtu: 576 });
    assert.equal(c.transmit(0, frame(576)), true);
    assert.equal(c.transmit(0, frame(577)), false);
    assert.equal(c.stats().droppedOversize, 1);
    assert.equal(d.receive(0)?.length, 576);
  });

  it('runs the peer wake-ups once per queued frame, not for drops; unsubscribe works', () => {
    const [a, b] = createCable({ queueFrames: 2 });
    let wokenB = 0;
    let wokenA = 0;
    const off = b.onReadable(() => wokenB++);
    a.onReadable(() => wokenA++);
    a.transmit(0, frame(60));
    a.transmit(0, frame(60));
    a.transmit(0, frame(60)); // dropped: queue full
    a.transmit(0, frame(9000)); // dropped: oversize
    assert.equal(wokenB, 2);
    assert.equal(wokenA, 0);
    off();
    off(); // idempotent
    b.receive(0);
    a.transmit(0, frame(60));
    assert.equal(wokenB, 2);
  });

  it('the same function registered twice wakes twice and unsubscribes separately', () => {
    const [a, b] = createCable();
    let n = 0;
    const w = (): void => {
      n++;
    };
    const off1 = b.onReadable(w);
    b.onReadable(w);
    a.transmit(0, frame(60));
    assert.equal(n, 2);
    off1();
    a.transmit(0, frame(60));
    assert.equal(n, 3);
  });

  it('a received frame stays intact until the next receive, even when the queue refills meanwhile', () => {
    const [a, b] = createCable({ queueFrames: 3 });
    a.transmit(0, frame(100, 1));
    const held = b.receive(0);
    assert.ok(held);
    // Fill every free slot while the consumer still holds `held`.
    for (let i = 2; i <= 4; i++) assert.equal(a.transmit(0, frame(200, i)), true);
    assert.equal(a.transmit(0, frame(200, 5)), false);
    assert.deepEqual(held, frame(100, 1));
    assert.deepEqual(b.receive(0), frame(200, 2));
  });

  it('buffers are reused: a steady stream allocates no new slots', () => {
    const [a, b] = createCable({ queueFrames: 8 });
    const seen = new Set<ArrayBufferLike>();
    for (let i = 0; i < 1000; i++) {
      a.transmit(0, frame(1500, (i % 250) + 1));
      const f = b.receive(0);
      assert.ok(f);
      assert.equal(f[0], (i % 250) + 1);
      seen.add(f.buffer);
    }
    assert.ok(seen.size <= 9, `expected at most queueFrames + 1 buffers, saw ${seen.size}`);
  });

  it('carrier: unplug cuts both ends (queued frames lost, transmits dropped), plug restores', () => {
    const [a, b] = createCable();
    const seen: string[] = [];
    a.linkState.onChange((up) => seen.push(`a ${up}`));
    const off = b.linkState.onChange((up) => seen.push(`b ${up}`));
    assert.equal(a.linkState.up, true);
    a.transmit(0, frame(60, 1));
    b.transmit(0, frame(60, 2));
    b.unplug();
    b.unplug();
    assert.equal(a.linkState.up, false);
    assert.equal(b.linkState.up, false);
    assert.deepEqual(seen, ['a false', 'b false']);
    assert.equal(a.receive(0), undefined);
    assert.equal(b.receive(0), undefined);
    assert.equal(a.transmit(0, frame(60)), false);
    assert.equal(a.stats().droppedNoCarrier, 2, 'one queued at a when cut, one transmit while cut');
    assert.equal(b.stats().droppedNoCarrier, 1);
    off();
    a.plug();
    assert.deepEqual(seen, ['a false', 'b false', 'a true']);
    assert.equal(a.transmit(0, frame(60, 3)), true);
    assert.deepEqual(b.receive(0), frame(60, 3));
  });

  it('close: idempotent, drops queued frames, transmits towards a closed end fail', () => {
    const [a, b] = createCable();
    a.transmit(0, frame(60, 1));
    b.transmit(0, frame(60, 2));
    let woken = 0;
    b.onReadable(() => woken++);
    b.close();
    b.close();
    assert.equal(b.receive(0), undefined);
    assert.equal(b.transmit(0, frame(60)), false);
    assert.equal(b.stats().droppedClosed, 1);
    assert.equal(a.transmit(0, frame(60)), false);
    assert.equal(a.stats().droppedClosed, 1);
    assert.equal(woken, 0);
    // The open end can still drain what was sent to it before the close.
    assert.deepEqual(a.receive(0), frame(60, 2));
    assert.equal(a.receive(0), undefined);
    let lateWake = 0;
    b.onReadable(() => lateWake++)(); // registering on a closed link is harmless
    assert.equal(lateWake, 0);
  });

  it('rejects bad options', () => {
    assert.throws(() => createCable({ mtu: 0 }), RangeError);
    assert.throws(() => createCable({ mtu: 1.5 }), RangeError);
    assert.throws(() => createCable({ queueFrames: 0 }), RangeError);
  });

  it('behaves like a bounded FIFO model under random transmit/receive sequences', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 1600 }), fc.constant(-1)), { maxLength: 200 }),
        (cap, ops) => {
          const [a, b] = createCable({ queueFrames: cap, mtu: 1500 });
          const model: Uint8Array[] = [];
          let held: { view: Uint8Array; copy: Uint8Array } | undefined;
          let n = 0;
          for (const op of ops) {
            if (held !== undefined) assert.deepEqual(held.view, held.copy, 'a lent frame changed before the next receive');
            if (op < 0) {
              const got = b.receive(0);
              const want = model.shift();
              assert.deepEqual(got, want);
              held = got === undefined ? undefined : { view: got, copy: got.slice() };
            } else {
              const f = frame(op, (n++ % 255) + 1);
              const ok = a.transmit(0, f);
              const expect = op <= 1514 && model.length < cap;
              assert.equal(ok, expect);
              if (ok) model.push(f.slice());
            }
          }
        },
      ),
    );
  });
});

describe('FrameRing', () => {
  it('grows slot buffers by doubling from 2 KiB up to the largest frame', () => {
    const r = new FrameRing(2, 65535);
    r.push(new Uint8Array(100));
    assert.equal(r.shift()?.buffer.byteLength, 2048);
    r.push(new Uint8Array(5000));
    assert.equal(r.shift()?.buffer.byteLength, 8192);
    r.push(new Uint8Array(65535));
    assert.equal(r.shift()?.buffer.byteLength, 65535);
    r.clear();
    assert.equal(r.length, 0);
    assert.equal(r.shift(), undefined);
  });
});
