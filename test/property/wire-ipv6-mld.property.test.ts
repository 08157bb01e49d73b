/**
 * Properties of the MLD codec (src/wire/mld.ts): round trip of every message kind, the
 * exponential code encodings, totality on arbitrary bytes, on arbitrary MLD bodies and on
 * mutated golden messages (any single-byte change caught by the checksum).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checkMld,
  checkMldIpFields,
  emitMld,
  mldBufferLen,
  mldv2EncodeMaxResponseCode,
  mldv2EncodeQqic,
  mldv2MaxResponseDelay,
  mldv2QueryInterval,
  parseMld,
  type MldRepr,
} from '../../src/wire/mld.ts';
import { isFault } from '../../src/wire/fault.ts';
import * as golden from '../unit/wire/ipv6-golden.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const ip6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const plain = <T extends object>(r: T): T => ({ ...r });

const mldRepr: fc.Arbitrary<MldRepr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('mldv1-query' as const, 'mldv1-report' as const, 'mldv1-done' as const), maxResponseDelay: u16, group: ip6 }),
  fc.record({
    kind: fc.constant('mldv2-query' as const),
    maxResponseCode: u16,
    group: ip6,
    suppressRouterSide: fc.boolean(),
    qrv: fc.integer({ min: 0, max: 7 }),
    qqic: u8,
    sources: fc.array(ip6, { maxLength: 5 }),
  }),
  fc.record({
    kind: fc.constant('mldv2-report' as const),
    records: fc.array(fc.record({ recordType: u8, group: ip6, sources: fc.array(ip6, { maxLength: 4 }) }).map(plain), { maxLength: 5 }),
  }),
).map(plain) as fc.Arbitrary<MldRepr>;

function decode(m: Uint8Array, src: Uint8Array, dst: Uint8Array, offload: boolean): void {
  const r = parseMld(m, src, dst, offload);
  const c = checkMld(m);
  if (c !== undefined) assert.equal(r, c);
  else assert.ok(!isFault(r) || r === 'bad-checksum');
  checkMldIpFields(m, src, m[0] ?? 0, 0);
  if (!isFault(r)) assert.ok(mldBufferLen(r) <= m.length);
}

describe('MLD round trips', () => {
  it('every kind: parse(emit(r)) ≡ r, exact length', () => {
    fc.assert(
      fc.property(mldRepr, ip6, ip6, (r, src, dst) => {
        const len = mldBufferLen(r);
        const out = golden.canary(len + 8);
        emitMld(r, out, src, dst);
        assert.ok(out.subarray(len).every((x) => x === 0xa5));
        assert.deepEqual(parseMld(out.subarray(0, len), src, dst), r);
      }),
      { numRuns: 500 },
    );
  });

  it('exponential codes: decode(encode(x)) is the largest value ≤ x; encode(decode(c)) = c', () => {
    fc.assert(
      fc.property(u16, u8, fc.integer({ min: 0, max: 9_000_000 }), fc.integer({ min: 0, max: 40_000 }), (code, qqic, ms, s) => {
        assert.equal(mldv2EncodeMaxResponseCode(mldv2MaxResponseDelay(code)), code);
        assert.equal(mldv2EncodeQqic(mldv2QueryInterval(qqic)), qqic);
        const d = mldv2MaxResponseDelay(mldv2EncodeMaxResponseCode(ms));
        assert.ok(d <= ms);
        const next = mldv2EncodeMaxResponseCode(ms) + 1;
        if (next <= 0xffff) assert.ok(mldv2MaxResponseDelay(next) > ms, 'no larger code fits');
        const q = mldv2QueryInterval(mldv2EncodeQqic(s));
        assert.ok(q <= s);
        const nq = mldv2EncodeQqic(s) + 1;
        if (nq <= 0xff) assert.ok(mldv2QueryInterval(nq) > s);
      }),
      { numRuns: 1000 },
    );
  });
});

const GOLDEN: { m: Uint8Array; src: Uint8Array; dst: Uint8Array }[] = [
  golden.ETH_MLDV1_QUERY, golden.ETH_MLDV1_REPORT, golden.ETH_MLDV1_DONE, golden.ETH_MLDV2_QUERY, golden.ETH_MLDV2_REPORT,
].map((f) => ({ m: f.subarray(golden.ETH_IP6_HBH), src: f.subarray(22, 38), dst: f.subarray(38, 54) }));

describe('MLD totality: parsers never throw', () => {
  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), ip6, ip6, fc.boolean(), (b, src, dst, offload) => decode(b, src, dst, offload)),
      { numRuns: 2000 },
    );
  });

  it('on arbitrary bodies of the MLD types, with offload', () => {
    fc.assert(
      fc.property(fc.constantFrom(130, 131, 132, 143), fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 6 }), ip6, (type, body, count, src) => {
        const m = Uint8Array.of(type, 0, 0, 0, 0, 0, 0, count, ...body);
        decode(m, src, golden.IP6_ALL_NODES, true);
      }),
      { numRuns: 2000 },
    );
  });

  it('on mutated golden messages; any single-byte change is a fault', () => {
    fc.assert(
      fc.property(fc.constantFrom(...GOLDEN), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), ({ m, src, dst }, at, x, cut) => {
        const b = m.slice();
        const i = at % b.length;
        b[i] = (b[i] as number) ^ x;
        assert.ok(isFault(parseMld(b, src, dst)), `byte ${i}`);
        decode(b, src, dst, true);
        decode(b.subarray(0, cut % (b.length + 1)), src, dst, true);
      }),
      { numRuns: 2000 },
    );
  });
});
