/**
 * IEEE 802.15.4 MAC frame codec properties: parse(build(x)) == x for arbitrary valid reprs (with
 * and without FCS), lengths and budgets agree with the bytes, random bytes never throw, and any
 * frame the parser accepts (beacon fields aside, whose reserved bits it drops) rebuilds byte-exact.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isFault } from '../../src/wire/fault.ts';
import { buildMacFrame, macFrameLength, macFrameOverhead, macFcsValid, macHeaderLength, parseMacFrame } from '../../src/wire/ieee802154.ts';
import { macFrameArb } from '../support/ieee802154-arb.ts';

const RUNS = { numRuns: 2000 };

describe('IEEE 802.15.4 MAC frame properties', () => {
  it('parse(build(x)) == x, with and without FCS', () => {
    fc.assert(
      fc.property(macFrameArb, fc.boolean(), (f, fcs) => {
        const bytes = buildMacFrame(f, { fcs });
        assert.equal(bytes.length, macFrameLength(f, { fcs }));
        assert.equal(bytes.length - f.payload.length, macFrameOverhead(f, { fcs }));
        assert.ok(macHeaderLength(f) <= macFrameOverhead(f, { fcs }));
        if (fcs) assert.ok(macFcsValid(bytes));
        assert.deepEqual(parseMacFrame(bytes, { fcs }), f);
      }),
      RUNS,
    );
  });

  it('any single corrupted byte under the FCS is caught', () => {
    fc.assert(
      fc.property(macFrameArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (f, at, x) => {
        const bytes = buildMacFrame(f, { fcs: true });
        const i = at % bytes.length;
        bytes[i] = (bytes[i] ?? 0) ^ x;
        assert.equal(parseMacFrame(bytes, { fcs: true }), 'bad-checksum');
      }),
      RUNS,
    );
  });

  it('truncated valid frames are faults or shorter frames, never exceptions', () => {
    fc.assert(
      fc.property(macFrameArb, fc.nat(), (f, cut) => {
        const bytes = buildMacFrame(f, { fcs: false });
        const r = parseMacFrame(bytes.subarray(0, cut % (bytes.length + 1)), { fcs: false });
        assert.ok(isFault(r) || typeof r === 'object');
      }),
      RUNS,
    );
  });

  it('random bytes never throw; accepted frames rebuild byte-exact', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 140 }), fc.boolean(), (bytes, fcs) => {
        const r = parseMacFrame(bytes, { fcs });
        if (isFault(r) || r.beacon !== undefined) return;
        assert.deepEqual(buildMacFrame(r, { fcs }), bytes);
      }),
      { numRuns: 20000 },
    );
  });
});
