/**
 * RFC 6775 ND options under random input: any ARO, 6CO or ABRO emits and parses back to
 * itself (6CO prefixes masked to the context length, ABRO lifetime 0 read as 10000), also
 * inside a whole RA/NS through the icmpv6 codec; random option data and random option areas
 * never throw, and every result is a value or a wire fault.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isFault } from '../../src/wire/fault.ts';
import { emitIcmpv6, icmpv6BufferLen, parseIcmpv6, parseNdOptions, type Icmpv6Repr } from '../../src/wire/icmpv6.ts';
import {
  ABRO_DEFAULT_LIFETIME_MINUTES,
  emit6co,
  emitAbro,
  emitAro,
  findLowpanNdOptions,
  lowpanLinkAddrFromOption,
  lowpanLinkAddrOption,
  lowpanNdRawOptions,
  parse6co,
  parseAbro,
  parseAro,
  type Nd6co,
  type NdAbro,
  type NdAro,
} from '../../src/wire/lowpan/nd-options.ts';

const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const u16 = fc.integer({ min: 0, max: 0xffff });

const aroArb: fc.Arbitrary<NdAro> = fc.record({ status: fc.integer({ min: 0, max: 255 }), lifetimeMinutes: u16, eui64: bytes(8) }).map((r) => ({ ...r }));
const sixcoArb: fc.Arbitrary<Nd6co> = fc.record({
  contextLength: fc.integer({ min: 0, max: 128 }), compress: fc.boolean(), cid: fc.integer({ min: 0, max: 15 }), lifetimeMinutes: u16, prefix: bytes(16),
}).map((r) => ({ ...r }));
const abroArb: fc.Arbitrary<NdAbro> = fc.record({ version: fc.integer({ min: 0, max: 0xffff_ffff }), lifetimeMinutes: u16, address: bytes(16) }).map((r) => ({ ...r }));

// (fc.record builds objects without a prototype; the spreads make them plain for deepEqual)

/** `prefix` with the bits beyond `bits` cleared. */
function masked(prefix: Uint8Array, bits: number): Uint8Array {
  return prefix.map((b, i) => (i * 8 + 8 <= bits ? b : i * 8 >= bits ? 0 : b & (0xff << (8 - (bits - i * 8)))));
}

const expect6co = (c: Nd6co): Nd6co => ({ ...c, prefix: masked(c.prefix, c.contextLength) });
const expectAbro = (a: NdAbro): NdAbro => ({ ...a, lifetimeMinutes: a.lifetimeMinutes === 0 ? ABRO_DEFAULT_LIFETIME_MINUTES : a.lifetimeMinutes });

function ok<T>(x: T | string): T {
  assert.ok(typeof x !== 'string', `fault: ${String(x)}`);
  return x as T;
}

const LL = Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
const ALL_NODES = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

describe('RFC 6775 ND options (property)', () => {
  it('ARO, 6CO, ABRO: emit then parse gives the option back', () => {
    fc.assert(fc.property(aroArb, sixcoArb, abroArb, (aro, co, abro) => {
      const rawAro = ok(emitAro(aro));
      assert.equal((rawAro.data.length + 2) % 8, 0);
      assert.deepEqual(ok(parseAro(rawAro)), aro);
      const rawCo = ok(emit6co(co));
      assert.equal(rawCo.data.length + 2, co.contextLength > 64 ? 24 : 16);
      assert.deepEqual(ok(parse6co(rawCo)), expect6co(co));
      assert.deepEqual(ok(parseAbro(ok(emitAbro(abro)))), expectAbro(abro));
    }));
  });

  it('any set of options in an RA through emitIcmpv6/parseIcmpv6: findLowpanNdOptions gives it back', () => {
    fc.assert(fc.property(fc.option(aroArb, { nil: undefined }), fc.array(sixcoArb, { maxLength: 4 }), fc.option(abroArb, { nil: undefined }), (aro, contexts, abro) => {
      const unknown = ok(lowpanNdRawOptions({ ...(aro !== undefined ? { aro } : {}), contexts, ...(abro !== undefined ? { abro } : {}) }));
      const repr: Icmpv6Repr = {
        kind: 'router-advert', hopLimit: 64, managed: false, other: false, routerPreference: 0, routerLifetime: 0, reachableTime: 0, retransTimer: 0,
        options: unknown.length > 0 ? { unknown } : {},
      };
      const buf = new Uint8Array(icmpv6BufferLen(repr));
      emitIcmpv6(repr, buf, LL, ALL_NODES);
      const back = ok(parseIcmpv6(buf, LL, ALL_NODES));
      assert.ok(back.kind === 'router-advert');
      const want: Record<string, unknown> = { contexts: contexts.map(expect6co), malformed: 0 };
      if (aro !== undefined) want.aro = aro;
      if (abro !== undefined) want.abro = expectAbro(abro);
      assert.deepEqual(findLowpanNdOptions(back.options), want);
    }));
  });

  it('RFC 4944 link-layer address option: 8 or 2 bytes round-trip', () => {
    fc.assert(fc.property(fc.oneof(bytes(8), bytes(2)), (a) => {
      assert.deepEqual(lowpanLinkAddrFromOption(ok(lowpanLinkAddrOption(a))), a);
    }));
  });

  it('random option data never throws: a value or a wire fault', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 48 }), (type, data) => {
      const raw = { type, data };
      for (const r of [parseAro(raw), parse6co(raw), parseAbro(raw)]) {
        if (isFault(r)) assert.ok(['malformed', 'truncated', 'bad-length'].includes(r));
      }
      const link = lowpanLinkAddrFromOption(data);
      assert.ok(link === undefined || link.length === 8 || link.length === 2);
      const found = findLowpanNdOptions({ unknown: [raw, raw] });
      assert.ok(found.malformed >= 0 && found.malformed <= 2);
    }));
  });

  it('random option areas through parseNdOptions and findLowpanNdOptions never throw', () => {
    const opt = fc.tuple(fc.constantFrom(1, 2, 14, 33, 34, 35), fc.integer({ min: 1, max: 4 }), fc.uint8Array({ maxLength: 30 }))
      .map(([type, units, fill]) => {
        const o = new Uint8Array(units * 8);
        o.set(fill.subarray(0, o.length - 2), 2);
        o[0] = type;
        o[1] = units;
        return o;
      });
    fc.assert(fc.property(fc.array(opt, { maxLength: 6 }), fc.uint8Array({ maxLength: 8 }), (opts, tail) => {
      const area = new Uint8Array(opts.reduce((n, o) => n + o.length, 0) + tail.length);
      let at = 0;
      for (const o of opts) {
        area.set(o, at);
        at += o.length;
      }
      area.set(tail, at);
      const parsed = parseNdOptions(area, 0);
      if (isFault(parsed)) return;
      const found = findLowpanNdOptions(parsed);
      const ours = (parsed.unknown ?? []).filter((u) => u.type >= 33 && u.type <= 35).length;
      assert.ok(found.malformed + found.contexts.length + (found.aro ? 1 : 0) + (found.abro ? 1 : 0) <= ours);
      if (parsed.sourceLinkAddr !== undefined) lowpanLinkAddrFromOption(parsed.sourceLinkAddr);
    }));
  });
});
