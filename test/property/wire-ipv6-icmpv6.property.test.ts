/**
 * Properties of the ICMPv6 / ND codec (src/wire/icmpv6.ts): round trip of every message kind
 * with random ND options, the checksum over the pseudo-header, totality of every parser and
 * check on arbitrary bytes, on arbitrary ND bodies and on mutated golden messages, and
 * agreement between the view's hot-path accessors and the representation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Icmpv6View,
  checkIcmpv6,
  checkNdIpFields,
  checkNdOptions,
  emitIcmpv6,
  findNdOption,
  icmpv6BufferLen,
  icmpv6ErrorAllowed,
  icmpv6ErrorQuote,
  isNdType,
  ndOptionsLen,
  parseIcmpv6,
  parseNdOptions,
  validateIcmpv6,
  type Icmpv6Repr,
  type NdOptions,
} from '../../src/wire/icmpv6.ts';
import { isFault } from '../../src/wire/fault.ts';
import * as golden from '../unit/wire/ipv6-golden.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ip6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const unicast6 = ip6.filter((a) => a[0] !== 0xff);
const plain = <T extends object>(r: T): T => ({ ...r });
const data = fc.uint8Array({ maxLength: 100 });

const label = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));

const ndOptions: fc.Arbitrary<NdOptions> = fc
  .record(
    {
      sourceLinkAddr: fc.oneof(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.uint8Array({ minLength: 14, maxLength: 14 })),
      targetLinkAddr: fc.uint8Array({ minLength: 6, maxLength: 6 }),
      mtu: u32,
      prefixes: fc.array(
        fc.record({ prefixLen: fc.integer({ min: 0, max: 128 }), onLink: fc.boolean(), autonomous: fc.boolean(), validLifetime: u32, preferredLifetime: u32, prefix: ip6 }).map(plain),
        { minLength: 1, maxLength: 3 },
      ),
      rdnss: fc.array(fc.record({ lifetime: u32, servers: fc.array(ip6, { minLength: 1, maxLength: 3 }) }).map(plain), { minLength: 1, maxLength: 2 }),
      dnssl: fc.array(fc.record({ lifetime: u32, domains: fc.array(domain, { maxLength: 3 }) }).map(plain), { minLength: 1, maxLength: 2 }),
      redirectedHeader: fc.integer({ min: 0, max: 10 }).chain((n) => fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n })),
      unknown: fc.array(
        fc.record({
          type: u8.filter((t) => ![1, 2, 3, 4, 5, 25, 31].includes(t)),
          data: fc.integer({ min: 0, max: 4 }).chain((n) => fc.uint8Array({ minLength: 8 * n + 6, maxLength: 8 * n + 6 })),
        }).map(plain),
        { minLength: 1, maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  )
  .map(plain);

const icmpv6Repr: fc.Arbitrary<Icmpv6Repr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const), ident: u16, seq: u16, data }),
  fc.record({ kind: fc.constantFrom('dest-unreachable' as const, 'time-exceeded' as const), code: u8, data }),
  fc.record({ kind: fc.constant('packet-too-big' as const), mtu: u32, data }),
  fc.record({ kind: fc.constant('parameter-problem' as const), code: u8, pointer: u32, data }),
  fc
    .record({ kind: fc.constant('other' as const), type: u8, code: u8, rest: u32, data })
    .filter((r) => !(r.type >= 1 && r.type <= 4) && !isNdType(r.type) && !((r.type === 128 || r.type === 129) && r.code === 0)),
  fc.record({ kind: fc.constant('router-solicit' as const), options: ndOptions }),
  fc.record({
    kind: fc.constant('router-advert' as const),
    hopLimit: u8,
    managed: fc.boolean(),
    other: fc.boolean(),
    routerPreference: fc.integer({ min: 0, max: 3 }),
    routerLifetime: u16,
    reachableTime: u32,
    retransTimer: u32,
    options: ndOptions,
  }),
  fc.record({ kind: fc.constant('neighbor-solicit' as const), target: unicast6, options: ndOptions }),
  fc.record({ kind: fc.constant('neighbor-advert' as const), router: fc.boolean(), solicited: fc.boolean(), override: fc.boolean(), target: unicast6, options: ndOptions }),
  fc.record({ kind: fc.constant('redirect' as const), target: unicast6, destination: unicast6, options: ndOptions }),
).map(plain) as fc.Arbitrary<Icmpv6Repr>;

/** Decodes like the stack: validate, view, repr. Must never throw; asserts the pieces agree. */
function decode(m: Uint8Array, src: Uint8Array, dst: Uint8Array, offload: boolean): void {
  const check = checkIcmpv6(m);
  const v = validateIcmpv6(m, src, dst, offload);
  const r = parseIcmpv6(m, src, dst, offload);
  assert.equal(isFault(r) ? r : undefined, v);
  if (check !== undefined) assert.equal(v, check);
  checkNdIpFields(m, src, dst, 255);
  icmpv6ErrorQuote(m);
  if (isFault(r)) return;
  assert.equal(icmpv6BufferLen(r) <= m.length, true);
  const view = new Icmpv6View(m);
  if (r.kind === 'neighbor-solicit' || r.kind === 'neighbor-advert' || r.kind === 'redirect') {
    assert.deepEqual(view.target, r.target);
    assert.deepEqual(view.linkAddr(1), r.options.sourceLinkAddr);
    assert.deepEqual(view.linkAddr(2), r.options.targetLinkAddr);
  }
  if (r.kind === 'neighbor-advert') assert.deepEqual([view.router, view.solicited, view.override], [r.router, r.solicited, r.override]);
  if (r.kind === 'echo-request' || r.kind === 'echo-reply') assert.deepEqual([view.ident, view.seq, view.data], [r.ident, r.seq, r.data]);
}

describe('ICMPv6 round trips', () => {
  it('every kind, random ND options: parse(emit(r)) ≡ r, exact length, checksum verifies', () => {
    fc.assert(
      fc.property(icmpv6Repr, unicast6, ip6, (r, src, dst) => {
        const len = icmpv6BufferLen(r);
        const out = golden.canary(len + 8);
        emitIcmpv6(r, out, src, dst);
        assert.ok(out.subarray(len).every((x) => x === 0xa5));
        const m = out.subarray(0, len);
        assert.ok(new Icmpv6View(m).verifyChecksum(src, dst));
        assert.deepEqual(parseIcmpv6(m, src, dst), r);
        decode(m, src, dst, false);
      }),
      { numRuns: 800 },
    );
  });

  it('ND options alone: parseNdOptions(emitted) ≡ options, lengths multiples of 8', () => {
    fc.assert(
      fc.property(ndOptions, (o) => {
        const r: Icmpv6Repr = { kind: 'router-solicit', options: o };
        const out = new Uint8Array(icmpv6BufferLen(r));
        emitIcmpv6(r, out, golden.LL_A, golden.IP6_ALL_ROUTERS);
        assert.equal(ndOptionsLen(o) % 8, 0);
        assert.equal(checkNdOptions(out, 8), undefined);
        assert.deepEqual(parseNdOptions(out, 8), Object.keys(o).length === 0 ? {} : o);
      }),
      { numRuns: 300 },
    );
  });
});

const GOLDEN_MESSAGES: { m: Uint8Array; src: Uint8Array; dst: Uint8Array }[] = Object.values(golden)
  .filter((v): v is Uint8Array => v instanceof Uint8Array && v.length > 62 && v[12] === 0x86 && v[13] === 0xdd && v[20] === 58)
  .map((f) => ({ m: f.subarray(54), src: f.subarray(22, 38), dst: f.subarray(38, 54) }));

describe('ICMPv6 totality: parsers never throw', () => {
  it('on arbitrary bytes (and the ND helpers on them)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), ip6, ip6, fc.boolean(), fc.nat(), (b, src, dst, offload, at) => {
        decode(b, src, dst, offload);
        const start = at % (b.length + 1);
        const o = parseNdOptions(b, start);
        assert.equal(isFault(o) ? o : undefined, checkNdOptions(b, start));
        findNdOption(b, start, 1);
        icmpv6ErrorAllowed(b, 1, 4);
      }),
      { numRuns: 2000 },
    );
  });

  it('on arbitrary ND bodies (type 133-137, code 0), with offload', () => {
    fc.assert(
      fc.property(fc.integer({ min: 133, max: 137 }), fc.uint8Array({ maxLength: 160 }), ip6, ip6, (type, body, src, dst) => {
        const m = Uint8Array.of(type, 0, 0, 0, ...body);
        decode(m, src, dst, true);
      }),
      { numRuns: 2000 },
    );
  });

  it('on ND messages with random option areas made of plausible TLVs', () => {
    const tlv = fc.tuple(fc.constantFrom(1, 2, 3, 4, 5, 25, 31, 14, 0), fc.integer({ min: 0, max: 5 }), fc.uint8Array({ maxLength: 48 }));
    fc.assert(
      fc.property(fc.integer({ min: 133, max: 137 }), fc.array(tlv, { maxLength: 6 }), ip6, (type, tlvs, dst) => {
        const fixed = new Uint8Array(type === 133 ? 4 : type === 134 ? 12 : type === 137 ? 36 : 20);
        const opts = tlvs.flatMap(([t, units, d]) => [t, units, ...d.subarray(0, Math.max(0, units * 8 - 2))]);
        const m = Uint8Array.of(type, 0, 0, 0, ...fixed, ...opts);
        decode(m, golden.LL_A, dst, true);
      }),
      { numRuns: 2000 },
    );
  });

  it('on mutated golden messages; any single-byte change is caught by the checksum', () => {
    fc.assert(
      fc.property(fc.constantFrom(...GOLDEN_MESSAGES), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), fc.boolean(), ({ m, src, dst }, at, x, cut, offload) => {
        const b = m.slice();
        const i = at % b.length;
        b[i] = (b[i] as number) ^ x;
        assert.ok(isFault(parseIcmpv6(b, src, dst)), `byte ${i}`);
        decode(b, src, dst, offload);
        decode(b.subarray(0, cut % (b.length + 1)), src, dst, offload);
      }),
      { numRuns: 3000 },
    );
  });

  it('every golden message parses', () => {
    assert.ok(GOLDEN_MESSAGES.length >= 12);
    for (const { m, src, dst } of GOLDEN_MESSAGES) assert.ok(!isFault(parseIcmpv6(m, src, dst)));
  });
});
