/**
 * 6LoWPAN fragmentation under random sizes, rooms and delivery: fragment -> walk ->
 * reassemble gives back exactly the original datagram (up to 1280 bytes, compressed with
 * the IPHC stand-in or sent as 0x41) under any order with duplicates; random frames never
 * throw in the header walker or the reassembler, and its caps hold.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../src/wire/bytes.ts';
import { walkLowpanHeaders } from '../../src/wire/lowpan/dispatch.ts';
import { lowpanFragment } from '../../src/stack/lowpan/fragmenter.ts';
import { LowpanReassembler } from '../../src/stack/lowpan/reassembly.ts';
import { FAKE_HEADER_LEN, fakeCompress, fakeDatagram, fakeDecompress } from '../support/lowpan-frag.ts';

const SRC = Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7);
const DST = Uint8Array.of(0xbe, 0xef);

/** A delivery: every frame once in a random order, some a second time. */
function deliver(n: number, rnd: number[], dups: number[]): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = (rnd[i % rnd.length] as number) % (i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  for (const d of dups) order.splice(d % (order.length + 1), 0, order[d % order.length] as number);
  return order;
}

describe('6LoWPAN fragment/reassemble (property)', () => {
  it('any datagram up to 1280 bytes, any room, any order with duplicates: the original', () => {
    fc.assert(fc.property(
      fc.integer({ min: FAKE_HEADER_LEN, max: 1280 }), fc.integer(), fc.integer({ min: 56, max: 116 }), fc.boolean(),
      fc.integer({ min: 0, max: 0xffff }), fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 4 }),
      (size, seed, room, compressed, tag, rnd, dups) => {
        const d = fakeDatagram(size, (i) => (Math.imul(i + 1, seed | 1) >>> 7) & 0xff);
        const frames = compressed
          ? lowpanFragment({ compressedHeader: fakeCompress(d), headerUncompressedLength: FAKE_HEADER_LEN, payload: d.subarray(FAKE_HEADER_LEN), tag, room })
          : lowpanFragment({ compressedHeader: Uint8Array.of(0x41), headerUncompressedLength: 0, payload: d, tag, room });
        assert.ok(typeof frames !== 'string');
        for (const f of frames) assert.ok(f.length <= room);
        if (frames.length === 1) return; // fits one frame: no reassembly involved
        const r = new LowpanReassembler({ decompressFirst: fakeDecompress });
        const done: Uint8Array[] = [];
        for (const i of deliver(frames.length, rnd, dups)) {
          const f = frames[i] as Uint8Array;
          const h = walkLowpanHeaders(f);
          assert.ok(typeof h !== 'string' && h.frag !== undefined);
          const out = r.add(SRC, DST, h, f, 0);
          assert.ok(typeof out !== 'string', `refused: ${String(out)}`);
          if (out !== undefined) done.push(out);
        }
        // Duplicates arriving after completion start the datagram anew (they may complete it again).
        assert.ok(done.length >= 1);
        for (const x of done) assert.equal(toHex(x), toHex(d));
      },
    ), { numRuns: 300 });
  });

  it('random frames never throw; caps hold; pollAt is honest', () => {
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 127 }),
      // Biased towards fragment headers over a few sizes and tags, so datagrams do collide.
      fc.tuple(fc.constantFrom(0xc0, 0xe0, 0xc1, 0xe1), fc.nat(3), fc.nat(2), fc.nat(20), fc.uint8Array({ maxLength: 110 }), fc.constantFrom(0x41, 0x60, 0x7a, 0))
        .map(([d, s, t, o, data, disp]) => Uint8Array.of(d, s * 64, 0, t, ...(d & 0x20 ? [o] : [disp]), ...data)),
    );
    fc.assert(fc.property(fc.array(fc.tuple(frame, fc.nat(120_000), fc.boolean()), { maxLength: 60 }), (events) => {
      const r = new LowpanReassembler({ decompressFirst: fakeDecompress, maxDatagrams: 4, maxBytes: 2000 });
      for (const [f, now, other] of events) {
        const h = walkLowpanHeaders(f);
        if (typeof h === 'string') continue;
        if (h.frag === undefined) continue;
        const due = r.pollAt();
        if (due !== undefined && now >= due) assert.ok(r.poll(now).length > 0);
        const out = r.add(other ? DST : SRC, DST, h, f, now);
        if (out instanceof Uint8Array) assert.equal(out.length, h.frag.size);
        assert.ok(r.inProgress <= 4);
        assert.ok(r.bytesHeld <= 2000);
      }
    }), { numRuns: 300 });
  });
});
