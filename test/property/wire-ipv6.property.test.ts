/**
 * Properties of the IPv6 codec (src/wire/ipv6.ts): header round trip, single extension
 * header round trip, walking generated chains, totality of the header parsers and of
 * `walkIpv6Extensions` on arbitrary and mutated packets, and a walk that does not depend on
 * how it is called (result object reused or fresh, packet at an offset of a larger buffer,
 * trailing link padding) and agrees with stepping through the chain with
 * `parseIpv6ExtHeader`. fast-check prints the seed of a failing case.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  IPV6_HEADER_LEN,
  IPV6_MAX_EXT_HEADERS,
  Ipv6ExtWalk,
  Ipv6View,
  checkIpv6,
  emitIpv6,
  emitIpv6ExtHeader,
  ipv6ExtHeaderLen,
  ipv6ExtHeaderType,
  ipv6Payload,
  parseIpv6,
  parseIpv6ExtHeader,
  parseIpv6Quoted,
  walkIpv6Extensions,
  type Ipv6ExtHeaderRepr,
  type Ipv6Option,
  type Ipv6Repr,
} from '../../src/wire/ipv6.ts';
import { rd16, wr16 } from '../../src/wire/bytes.ts';
import { isFault } from '../../src/wire/fault.ts';
import * as golden from '../unit/wire/ipv6-golden.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ip6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const plain = <T extends object>(r: T): T => ({ ...r });

const ipv6Repr: fc.Arbitrary<Ipv6Repr> = fc.record({
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  payloadLen: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.constant(0xffff)),
  nextHeader: u8,
  hopLimit: u8,
  src: ip6.filter((a) => a[0] !== 0xff),
  dst: ip6,
}).map(plain);

/** An option the walker skips: type with high bits 00, not Pad1/PadN/Router Alert. */
const skipOption: fc.Arbitrary<Ipv6Option> = fc
  .record({ type: fc.integer({ min: 2, max: 0x3f }).filter((t) => t !== 5), data: fc.uint8Array({ maxLength: 40 }) })
  .map(plain);
/** Any non-padding option (for the single-header round trip). */
const anyOption: fc.Arbitrary<Ipv6Option> = fc.record({ type: fc.integer({ min: 2, max: 255 }), data: fc.uint8Array({ maxLength: 255 }) }).map(plain);

const routing = fc
  .record({
    kind: fc.constant('routing' as const),
    routingType: u8,
    segmentsLeft: fc.constant(0),
    data: fc.integer({ min: 0, max: 30 }).chain((n) => fc.uint8Array({ minLength: 8 * n + 4, maxLength: 8 * n + 4 })),
  })
  .map(plain);

/** An extension header the walker passes through (options skippable, no routing to do, atomic fragment). */
const passableHeader = (hbhAllowed: boolean): fc.Arbitrary<Ipv6ExtHeaderRepr> =>
  fc.oneof(
    fc.record({ kind: fc.constant(hbhAllowed ? ('hop-by-hop' as const) : ('dest-options' as const)), options: fc.array(skipOption, { maxLength: 8 }) }).map(plain),
    fc.record({ kind: fc.constant('dest-options' as const), options: fc.array(skipOption, { maxLength: 8 }) }).map(plain),
    routing,
    fc.record({ kind: fc.constant('fragment' as const), fragOffset: fc.constant(0), moreFrags: fc.constant(false), ident: u32 }).map(plain),
  );

const anyHeader: fc.Arbitrary<Ipv6ExtHeaderRepr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('hop-by-hop' as const, 'dest-options' as const), options: fc.array(anyOption, { maxLength: 7 }) }).map(plain),
  routing.chain((r) => u8.map((segmentsLeft) => ({ ...r, segmentsLeft }))),
  fc.record({ kind: fc.constant('fragment' as const), fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8), moreFrags: fc.boolean(), ident: u32 }).map(plain),
);

/** Chains the walker must pass: HBH only first, up to the header limit, then `upper` with protocol `nh`. */
const passableChain = fc
  .tuple(
    fc.option(passableHeader(true), { nil: undefined }),
    fc.array(passableHeader(false), { maxLength: IPV6_MAX_EXT_HEADERS - 1 }),
    fc.constantFrom(6, 17, 58, 59, 50, 51, 253),
    fc.uint8Array({ maxLength: 40 }),
  )
  .map(([first, rest, nh, upper]) => ({ headers: first === undefined ? rest : [first, ...rest], nh, upper }));

function buildPacket(headers: readonly Ipv6ExtHeaderRepr[], upperNh: number, upper: Uint8Array, dst: Uint8Array = golden.IP6_D): Uint8Array {
  const extLen = headers.reduce((n, h) => n + ipv6ExtHeaderLen(h), 0);
  const out = new Uint8Array(IPV6_HEADER_LEN + extLen + upper.length);
  const first = headers[0];
  emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLen: extLen + upper.length, nextHeader: first === undefined ? upperNh : ipv6ExtHeaderType(first), hopLimit: 64, src: golden.IP6_S, dst }, out);
  let off = IPV6_HEADER_LEN;
  headers.forEach((h, i) => {
    const next = headers[i + 1];
    off += emitIpv6ExtHeader(h, next === undefined ? upperNh : ipv6ExtHeaderType(next), out, off);
  });
  out.set(upper, off);
  return out;
}

/** Invariants of any walk result over `buf`. */
function checkWalk(buf: Uint8Array, w: Ipv6ExtWalk): void {
  assert.ok(w.headerCount <= IPV6_MAX_EXT_HEADERS);
  switch (w.verdict) {
    case 'ok':
    case 'fragment':
      assert.ok(w.upperOffset >= IPV6_HEADER_LEN && w.upperOffset <= w.end && w.end <= buf.length, 'offsets inside the packet');
      assert.ok(w.upperPointer < w.upperOffset);
      assert.equal(buf[w.upperPointer], w.upperProtocol, 'the pointer names the protocol byte');
      assert.equal(w.fault, undefined);
      if (w.verdict === 'fragment') {
        assert.ok(w.fragHeaderOffset >= IPV6_HEADER_LEN && w.fragHeaderOffset + 8 === w.upperOffset);
        assert.equal(buf[w.fragNextHeaderField], 44);
        assert.ok(w.fragOffset !== 0 || w.moreFrags);
      }
      break;
    case 'param-problem':
      assert.ok(w.problemCode >= 0 && w.problemCode <= 2);
      assert.ok(w.problemPointer >= 0 && w.problemPointer < w.end, 'the pointer is inside the packet');
      assert.ok(w.fault !== undefined);
      break;
    case 'drop':
      assert.ok(w.fault !== undefined);
      break;
  }
}

/** Walks `pkt` four ways and asserts the same outcome: fresh, reused, embedded at an offset with trailing bytes, padded. */
function walkEveryWay(pkt: Uint8Array, reused: Ipv6ExtWalk, junk: Uint8Array): Ipv6ExtWalk {
  const before = pkt.slice();
  const w = walkIpv6Extensions(pkt);
  checkWalk(pkt, w);
  assert.deepEqual(pkt, before, 'the walk does not write');
  assert.deepEqual({ ...walkIpv6Extensions(pkt, reused) }, { ...w });
  const big = new Uint8Array(junk.length + pkt.length + junk.length);
  big.set(junk, 0);
  big.set(pkt, junk.length);
  big.set(junk, junk.length + pkt.length);
  const embedded = walkIpv6Extensions(big.subarray(junk.length));
  if (pkt.length < IPV6_HEADER_LEN || IPV6_HEADER_LEN + rd16(pkt, 4) > pkt.length) return w; // trailing bytes may complete a short packet
  assert.deepEqual({ ...embedded }, { ...w }, 'at an offset, with trailing bytes');
  return w;
}

describe('IPv6 round trips', () => {
  it('fixed header: parse(emit(r)) ≡ r, exactly 40 bytes written', () => {
    fc.assert(
      fc.property(ipv6Repr, (r) => {
        const out = golden.canary(40 + r.payloadLen + 4);
        emitIpv6(r, out);
        assert.ok(out.subarray(40, 104).every((x) => x === 0xa5));
        assert.deepEqual(parseIpv6(out), r);
        assert.deepEqual(parseIpv6Quoted(out.subarray(0, 40)), r);
        const v = new Ipv6View(out);
        assert.deepEqual([v.dscp, v.ecn, v.flowLabel, v.hopLimit, v.nextHeader], [r.dscp, r.ecn, r.flowLabel, r.hopLimit, r.nextHeader]);
      }),
      { numRuns: 300 },
    );
  });

  it('single extension header: parseIpv6ExtHeader(emit(r)) ≡ r, length a multiple of 8', () => {
    fc.assert(
      fc.property(anyHeader, u8, (r, nh) => {
        const len = ipv6ExtHeaderLen(r);
        assert.equal(len % 8, 0);
        const out = golden.canary(len + 8);
        assert.equal(emitIpv6ExtHeader(r, nh, out, 0), len);
        assert.ok(out.subarray(len).every((x) => x === 0xa5));
        const p = parseIpv6ExtHeader(ipv6ExtHeaderType(r), out, 0, len);
        assert.ok(!isFault(p));
        assert.deepEqual(p, { repr: r, nextHeader: nh, length: len });
      }),
      { numRuns: 500 },
    );
  });

  it('walking a generated chain: ok, every header counted, the upper layer where it was put; same as stepping', () => {
    fc.assert(
      fc.property(passableChain, ({ headers, nh, upper }) => {
        const pkt = buildPacket(headers, nh, upper);
        const w = walkIpv6Extensions(pkt);
        assert.equal(w.verdict, 'ok', String(w.fault));
        assert.equal(w.headerCount, headers.length);
        assert.equal(w.upperProtocol, nh);
        assert.equal(w.upperOffset, pkt.length - upper.length);
        assert.equal(w.end, pkt.length);
        assert.equal(w.atomicFragment, headers.some((h) => h.kind === 'fragment'));
        // stepping with parseIpv6ExtHeader reaches the same place
        let off = IPV6_HEADER_LEN;
        let type = pkt[6] as number;
        let ptr = 6;
        for (let i = 0; i < headers.length; i++) {
          const p = parseIpv6ExtHeader(type, pkt, off, w.end);
          assert.ok(!isFault(p));
          assert.deepEqual(p.repr, headers[i]);
          ptr = off;
          off += p.length;
          type = p.nextHeader;
        }
        assert.deepEqual([off, type, ptr], [w.upperOffset, w.upperProtocol, w.upperPointer]);
      }),
      { numRuns: 500 },
    );
  });

  it('a chain ending in a real fragment stops there; any routing header with segments left is a Parameter Problem', () => {
    fc.assert(
      fc.property(
        passableChain,
        fc.integer({ min: 0, max: 0x1fff }),
        fc.boolean(),
        u32,
        fc.integer({ min: 1, max: 255 }),
        ({ headers, nh, upper }, fo, m, ident, segs) => {
          fc.pre(headers.length < IPV6_MAX_EXT_HEADERS);
          const data = upper.subarray(0, m ? upper.length & ~7 : upper.length);
          fc.pre(fo * 8 + data.length <= 0xffff);
          const frag: Ipv6ExtHeaderRepr = { kind: 'fragment', fragOffset: fo * 8, moreFrags: m, ident };
          const w = walkIpv6Extensions(buildPacket([...headers, frag], nh, data));
          if (fo === 0 && !m) assert.equal(w.verdict, 'ok');
          else {
            assert.equal(w.verdict, 'fragment');
            assert.deepEqual([w.fragOffset, w.moreFrags, w.fragIdent, w.upperProtocol], [fo * 8, m, ident, nh]);
          }
          const rh: Ipv6ExtHeaderRepr = { kind: 'routing', routingType: segs & 7, segmentsLeft: segs, data: new Uint8Array(4) };
          const pp = walkIpv6Extensions(buildPacket([...headers, rh], nh, upper));
          assert.equal(pp.verdict, 'param-problem');
          assert.deepEqual([pp.problemCode, pp.problemPointer], [0, pp.routingOffset + 2]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

const GOLDEN_PACKETS: Uint8Array[] = Object.values(golden)
  .filter((v): v is Uint8Array => v instanceof Uint8Array && v.length > 54 && v[12] === 0x86 && v[13] === 0xdd)
  .map((f) => f.subarray(golden.ETH));

/** A golden packet with 1..4 edits biased toward the header chain: byte sets, truncation, extension, length pokes. */
const mutatedPacket: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom(...GOLDEN_PACKETS),
    fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('set' as const), at: fc.integer({ min: 0, max: 120 }), value: u8 }),
        fc.record({ op: fc.constant('set' as const), at: fc.constantFrom(4, 5, 6, 40, 41, 42, 43, 48, 49, 50, 51, 56, 57, 58, 59, 80, 82, 83, 88, 89), value: u8 }),
        fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
        fc.record({ op: fc.constant('plen' as const), value: fc.integer({ min: 0, max: 0xffff }) }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([pkt, edits]) => {
    let b = pkt.slice();
    for (const e of edits) {
      if (e.op === 'set') {
        if (e.at < b.length) b[e.at] = e.value;
      } else if (e.op === 'truncate') b = b.slice(0, e.at % (b.length + 1));
      else if (e.op === 'extend') {
        const c = new Uint8Array(b.length + e.bytes.length);
        c.set(b);
        c.set(e.bytes, b.length);
        b = c;
      } else if (b.length >= 6) wr16(b, 4, e.op === 'plen' && e.value % 2 === 0 ? Math.max(0, b.length - 40) : e.value);
    }
    return b;
  });

describe('IPv6 totality: parsers and the walker never throw', () => {
  const reused = new Ipv6ExtWalk();

  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 160 }), fc.uint8Array({ maxLength: 9 }), (b, junk) => {
        const r = parseIpv6(b);
        if (!isFault(r)) {
          assert.equal(checkIpv6(b), undefined);
          assert.equal(ipv6Payload(b).length, r.payloadLen);
        }
        parseIpv6Quoted(b);
        walkEveryWay(b, reused, junk);
        for (const t of [0, 43, 44, 60]) parseIpv6ExtHeader(t, b, b.length > 40 ? 40 : 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('on arbitrary chains behind a valid header (version 6, payload length = the bytes)', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 43, 44, 60, 0, 60), fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.boolean(), fc.uint8Array({ maxLength: 9 }), (nh, rest, mcast, junk) => {
        const pkt = new Uint8Array(40 + rest.length);
        emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLen: rest.length, nextHeader: nh, hopLimit: 1, src: golden.IP6_S, dst: mcast ? golden.IP6_ALL_NODES : golden.IP6_D }, pkt);
        pkt.set(rest, 40);
        walkEveryWay(pkt, reused, junk);
      }),
      { numRuns: 2000 },
    );
  });

  it('on mutated golden packets', () => {
    fc.assert(
      fc.property(mutatedPacket, fc.uint8Array({ maxLength: 9 }), (pkt, junk) => {
        parseIpv6(pkt);
        parseIpv6Quoted(pkt);
        walkEveryWay(pkt, reused, junk);
      }),
      { numRuns: 3000 },
    );
  });

  it('every golden packet walks without a fault', () => {
    for (const p of GOLDEN_PACKETS) {
      const w = walkEveryWay(p, reused, new Uint8Array(3));
      assert.ok(w.verdict === 'ok' || w.verdict === 'fragment', `${w.verdict} ${String(w.fault)}`);
    }
  });
});
