/**
 * RFC 1662 framing properties: encode-then-decode gives every frame back for any transmit ACCM,
 * any receive ACCM that is a subset of it, both FCS sizes, shared or separate flags and idle
 * flags; a stream of frames, corruption, aborts and noise decodes to the same frames and the
 * same counters however it is split; random bytes never throw and never yield a frame over
 * `maxFrame`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { concatBytes, toHex } from '../../src/wire/bytes.ts';
import { HdlcDecoder, HdlcEncoder, type FcsMode, type HdlcDecoderStats } from '../../src/wire/ppp/hdlc.ts';
import { splitAt } from '../support/split-bytes.ts';

const RUNS = { numRuns: 500 };
const fcsMode = fc.constantFrom<FcsMode>(16, 32);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** Frames rich in special octets: flags, escapes, control characters. */
const octet = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x7e, 0x7d, 0x11, 0x13, 0x00, 0x20, 0x5e, 0x5d));
const frame = fc.array(octet, { minLength: 2, maxLength: 300 }).map((a) => Uint8Array.from(a));
const cuts = fc.array(fc.nat(), { maxLength: 20 });

function run(stream: Uint8Array[], fcs: FcsMode, accm: number, maxFrame: number): { frames: string[]; stats: HdlcDecoderStats } {
  const frames: string[] = [];
  const dec = new HdlcDecoder((f) => frames.push(toHex(f)), { fcs, accm, maxFrame });
  for (const c of stream) dec.push(c);
  return { frames, stats: dec.stats() };
}

describe('HDLC framing properties', () => {
  it('round trip: any ACCM (receive ⊆ transmit), both FCS sizes, shared flags, idle flags, any split', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(frame, fc.boolean(), fc.nat(3)), { minLength: 1, maxLength: 12 }), fcsMode, u32, u32, cuts, (items, fcs, txAccm, rxMask, cutList) => {
        const enc = new HdlcEncoder({ fcs, accm: txAccm });
        const parts: Uint8Array[] = [];
        items.forEach(([f, shareFlag, idle], i) => {
          parts.push(new Uint8Array(idle).fill(0x7e));
          parts.push(enc.encode(f, i === 0 || idle > 0 || !shareFlag).slice());
        });
        const rxAccm = (txAccm & rxMask) >>> 0;
        const { frames, stats } = run(splitAt(concatBytes(parts), cutList), fcs, rxAccm, 300);
        assert.deepEqual(frames, items.map(([f]) => toHex(f)));
        assert.equal(stats.frames, items.length);
        assert.equal(stats.badFcs + stats.runts + stats.aborts + stats.oversize + stats.accmDiscarded + stats.huntDiscarded, 0);
      }),
      RUNS,
    );
  });

  it('split independence: frames, corruption, aborts and noise give the same frames and counters for any split', () => {
    const piece = fc.oneof(
      frame.map((f) => ({ kind: 'frame' as const, f })),
      fc.tuple(frame, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([f, at, x]) => ({ kind: 'corrupt' as const, f, at, x })),
      fc.uint8Array({ maxLength: 40 }).map((b) => ({ kind: 'noise' as const, b })),
      fc.constantFrom({ kind: 'abort' as const }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 15 }), fcsMode, u32, u32, fc.integer({ min: 1, max: 400 }), cuts, (pieces, fcs, txAccm, rxAccm, maxFrame, cutList) => {
        const enc = new HdlcEncoder({ fcs, accm: txAccm });
        const parts = pieces.map((p) => {
          switch (p.kind) {
            case 'frame':
              return enc.encode(p.f).slice();
            case 'corrupt': {
              const w = enc.encode(p.f).slice();
              const i = p.at % w.length;
              w[i] = (w[i] as number) ^ p.x;
              return w;
            }
            case 'noise':
              return p.b;
            case 'abort':
              return Uint8Array.of(0x7e, 0xff, 0x03, 0x7d, 0x7e);
          }
        });
        const all = concatBytes(parts);
        const whole = run([all], fcs, rxAccm, maxFrame);
        const split = run(splitAt(all, cutList), fcs, rxAccm, maxFrame);
        const bytewise = run([...all].map((b) => Uint8Array.of(b)), fcs, rxAccm, maxFrame);
        assert.deepEqual(split, whole);
        assert.deepEqual(bytewise, whole);
        for (const f of whole.frames) assert.ok(f.length / 2 <= maxFrame);
      }),
      RUNS,
    );
  });

  it('random bytes never throw; frames never exceed maxFrame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fcsMode, u32, fc.integer({ min: 1, max: 2000 }), cuts, (bytes, fcs, accm, maxFrame, cutList) => {
        const { frames } = run(splitAt(bytes, cutList), fcs, accm, maxFrame);
        for (const f of frames) assert.ok(f.length / 2 <= maxFrame);
      }),
      RUNS,
    );
  });
});
