/**
 * RFC 6724 source selection and the RFC 8201 path MTU cache under random input: the chosen
 * source is a usable candidate that no other candidate beats and does not depend on the
 * list's order (but for exact ties); the PMTU cache agrees with a model, never raises an
 * estimate within its lifetime, stays bounded, and never throws on garbage.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { selectSourceAddress, type SourceCandidate } from '../../src/stack/ipv6-source-select.ts';
import { PmtuCache } from '../../src/stack/pmtu-cache.ts';

/** Addresses from a few interesting prefixes, so that scopes, labels and prefixes collide often. */
const addrArb = fc.tuple(
  fc.constantFrom([0xfe, 0x80], [0x20, 0x01, 0x0d, 0xb8], [0x20, 0x01, 0x0d, 0xb8, 0, 1], [0x20, 0x02], [0xfd, 0], [0xfe, 0xc0], [0xff, 0x02], [0xff, 0x05], [0xff, 0x0e], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], [0x20, 0x01, 0, 0], [0x3f, 0xfe]),
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.nat(3),
).map(([prefix, rest, zeros]) => {
  const a = rest.slice();
  a.set(prefix);
  for (let i = 0; i < zeros * 3; i++) a[15 - i] = 0; // often the same low bits too
  return a;
});

const candArb: fc.Arbitrary<SourceCandidate> = fc.record({
  addr: addrArb.filter((a) => a[0] !== 0xff),
  ifIndex: fc.nat(2),
  deprecated: fc.boolean(),
  prefixLen: fc.constantFrom(48, 64, 64, 96, 128),
  home: fc.boolean(),
  careOf: fc.boolean(),
  temporary: fc.boolean(),
});

describe('RFC 6724 source selection: properties', () => {
  it('the choice is one of the candidates, none beats it, and a candidate equal to the destination is always chosen', () => {
    fc.assert(fc.property(addrArb, fc.array(candArb, { maxLength: 8 }), fc.option(fc.nat(2), { nil: undefined }), fc.boolean(), (dst, cands, out, addSame) => {
      const list = addSame ? [...cands, { addr: dst.slice(), ifIndex: 0, deprecated: true, prefixLen: 64 }] : cands;
      const best = selectSourceAddress(dst, list, out);
      if (list.length === 0) {
        assert.equal(best, undefined);
        return;
      }
      assert.ok(best !== undefined && list.includes(best));
      if (addSame) assert.deepEqual(best.addr, dst, 'rule 1');
      for (const c of list) {
        // Against any single rival, the choice holds (listed first, it keeps ties).
        assert.equal(selectSourceAddress(dst, [best, c], out), best);
      }
      // Any order gives a candidate equally good: it beats the first choice or ties with it, and vice versa.
      const other = selectSourceAddress(dst, [...list].reverse(), out) as SourceCandidate;
      assert.equal(selectSourceAddress(dst, [best, other], out), best);
      assert.equal(selectSourceAddress(dst, [other, best], out), other);
    }), { numRuns: 1000 });
  });

  it('garbage never throws', () => {
    const or = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof(valid, fc.anything(), fc.uint8Array({ maxLength: 20 }));
    const garbageCand = fc.oneof(candArb, fc.anything(), fc.record({ addr: or(addrArb), ifIndex: or(fc.nat(2)), deprecated: or(fc.boolean()), prefixLen: or(fc.nat(130)), home: or(fc.boolean()) }));
    fc.assert(fc.property(or(addrArb), or(fc.array(garbageCand, { maxLength: 5 })), or(fc.nat(2)), (dst, cands, out) => {
      const best = selectSourceAddress(dst as Uint8Array, cands as SourceCandidate[], out as number);
      if (best !== undefined) {
        assert.ok((cands as unknown[]).includes(best));
        assert.ok(best.addr instanceof Uint8Array && best.addr.length === 16, 'a usable address');
        assert.ok(Number.isInteger(best.prefixLen) && best.prefixLen >= 0 && best.prefixLen <= 128, 'a usable prefix length');
      }
    }), { numRuns: 1000 });
  });
});

describe('PMTU cache: properties', () => {
  const dstArb = fc.integer({ min: 0, max: 9 }).map((i) => (i < 7 ? Uint8Array.of(0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, i) : Uint8Array.of(192, 0, 2, i)));
  const op = fc.record({ dst: dstArb, mtu: fc.oneof(fc.integer({ min: 1200, max: 9000 }), fc.constant(1280)), dt: fc.oneof(fc.nat(1000), fc.nat(700_000)), get: fc.boolean() });

  it('agrees with a model: only lowered, never below the floor, gone after ageMs; bounded, it only forgets', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 1, max: 12 }), (ops, maxEntries) => {
      const full = new PmtuCache();
      const small = new PmtuCache({ maxEntries });
      const model = new Map<string, { mtu: number; until: number }>();
      let now = 0;
      for (const o of ops) {
        now += o.dt;
        const key = o.dst.join('.');
        let m = model.get(key);
        if (m !== undefined && now >= m.until) m = undefined;
        if (!o.get) {
          const lowered = o.mtu >= 1280 && (m === undefined || o.mtu < m.mtu);
          if (lowered) model.set(key, { mtu: o.mtu, until: now + 600_000 });
          assert.equal(full.update(o.dst, o.mtu, now), lowered);
          small.update(o.dst, o.mtu, now);
          m = model.get(key);
          if (m !== undefined && now >= m.until) m = undefined;
        }
        assert.equal(full.get(o.dst, now), m?.mtu);
        const s = small.get(o.dst, now);
        // Forgetting raises the estimate back towards the link MTU (and a later report may then set a higher one than the model's); never lower.
        assert.ok(s === undefined || (s >= 1280 && s >= (m?.mtu ?? 0)), 'the bounded cache only forgets');
        assert.ok(small.size <= maxEntries);
      }
    }), { numRuns: 500 });
  });

  it('garbage never throws and is never stored', () => {
    // Each argument valid or garbage, so that garbage in one place meets valid values in the others.
    const or = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof(valid, fc.anything(), fc.uint8Array({ maxLength: 20 }), fc.double());
    fc.assert(fc.property(fc.array(fc.tuple(or(dstArb), or(fc.integer({ min: 1280, max: 9000 })), or(fc.nat(1000))), { maxLength: 20 }), (calls) => {
      const c = new PmtuCache({ maxEntries: 4 });
      let stored = 0;
      for (const [d, m, t] of calls) {
        const valid = d instanceof Uint8Array && (d.length === 4 || d.length === 16) && Number.isInteger(m) && (m as number) >= 1280 && (m as number) <= 0xffffffff && Number.isFinite(t);
        const ok = c.update(d as Uint8Array, m as number, t as number);
        if (!valid) assert.equal(ok, false, 'garbage is not stored');
        if (ok) stored++;
        c.get(d as Uint8Array, t as number);
      }
      assert.ok(c.size <= Math.min(4, stored));
    }), { numRuns: 500 });
  });
});
