/**
 * Properties of the 6LoWPAN adaptation layer (src/stack/lowpan/adaptation.ts), one level above
 * the codec properties (lowpan-iphc: compress/decompress of arbitrary headers; lowpan-frag:
 * fragment/reassemble of arbitrary datagrams in any order):
 * - random bytes and random MAC frames (every type, version, addressing, security; data frames
 *   to us with random LoWPAN payloads behind real dispatches) never throw and are all counted;
 * - an arbitrary IPv6+UDP packet (payload 0..1232 bytes; link-local addresses derived from the
 *   link addresses or not, global ones under context 0 or not, multicast) through one
 *   adaptation's `send`, its frames fed to another's `input` in any order with duplicates,
 *   comes out as the very same packet with a correct UDP checksum — directly, or mesh-under
 *   through a relay adaptation.
 * fast-check prints the seed of a failing case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { XorShiftRng } from '../../src/base/rand.ts';
import { LowpanAdaptation, type LowpanInputSink } from '../../src/stack/lowpan/adaptation.ts';
import { equalBytes, toHex } from '../../src/wire/bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../../src/wire/checksum.ts';
import { buildMacFrame, macFrame, MAC_BROADCAST, type MacAddress } from '../../src/wire/ieee802154.ts';
import type { LowpanContext } from '../../src/wire/lowpan/iphc.ts';
import { macFrameArb } from '../support/ieee802154-arb.ts';
import { ipv6Packet, udpDatagram } from '../unit/wire/lowpan/iphc-cases.ts';

const PAN = 0xabcd;
const CTX0: LowpanContext = { prefix: Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), prefixLen: 64 };
const EXT_A = Uint8Array.of(0x02, 0, 0, 0, 0, 0, 0, 0x0a);
const EXT_B = Uint8Array.of(0x02, 0, 0, 0, 0, 0, 0, 0x0b);
const EXT_R = Uint8Array.of(0x02, 0, 0, 0, 0, 0, 0, 0x0c);

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const concat = (...p: Uint8Array[]): Uint8Array => Uint8Array.from(p.flatMap((x) => [...x]));

/** The IID a 2- or 8-byte link address stands for (RFC 4944 §6, RFC 6282 §3.2.2). */
function iidOf(l: Uint8Array): Uint8Array {
  if (l.length === 2) return Uint8Array.of(0, 0, 0, 0xff, 0xfe, 0, l[0] as number, l[1] as number);
  const v = l.slice();
  v[0] = (v[0] as number) ^ 2;
  return v;
}

const LL = Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0);
const CTX_HI = CTX0.prefix.subarray(0, 8);

/** Address kind `k` of a node whose link address is `l` (r8/r16: random bytes): unicast 0..5, multicast 6..8. */
function address(k: number, l: Uint8Array, r8: Uint8Array, r16: Uint8Array): Uint8Array {
  switch (k) {
    case 0: return concat(LL, iidOf(l));
    case 1: return concat(LL, r8);
    case 2: return concat(CTX_HI, iidOf(l));
    case 3: return concat(CTX_HI, r8);
    case 4: return concat(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0), r8);
    case 5: return concat(Uint8Array.of(0x2a), r16.subarray(1));
    case 6: return concat(Uint8Array.of(0xff, 0x02), new Uint8Array(13), r8.subarray(0, 1));
    case 7: return concat(Uint8Array.of(0xff, r8[0] as number), new Uint8Array(11), r8.subarray(1, 4));
    default: return concat(Uint8Array.of(0xff, 0x05), r16.subarray(2));
  }
}

interface Node {
  readonly lp: LowpanAdaptation;
}

function node(ext: Uint8Array, short: number | undefined, seed: number, withContext: boolean, meshRoutes?: (final: Uint8Array) => Uint8Array | undefined): Node {
  return {
    lp: new LowpanAdaptation({ extended: ext, short, pan: PAN }, {
      rng: new XorShiftRng(seed), contexts: withContext ? [CTX0] : [], ...(meshRoutes !== undefined ? { meshRoutes } : {}),
    }),
  };
}

/** A delivery: every frame once in a random order, some a second time. */
function shuffled<T>(items: readonly T[], rnd: readonly number[], dups: readonly number[]): T[] {
  const order = items.slice();
  for (let i = order.length - 1; i > 0; i--) {
    const j = (rnd[i % rnd.length] as number) % (i + 1);
    [order[i], order[j]] = [order[j] as T, order[i] as T];
  }
  for (const d of dups) order.splice(d % (order.length + 1), 0, order[d % order.length] as T);
  return order;
}

function udpChecksumOk(p: Uint8Array): boolean {
  const len = p.length - 40;
  return foldChecksum(onesSum(p, 40, p.length, pseudoHeaderSumV6(p.subarray(8, 24), p.subarray(24, 40), 17, len))) === 0;
}

const shortArb = fc.option(fc.integer({ min: 0, max: 0xfffd }), { nil: undefined });

/** One case: who has short addresses, contexts, the packet's addresses and contents, delivery orders. */
const caseArb = fc.record({
  shortA: shortArb, shortB: shortArb, shortR: shortArb, withContext: fc.boolean(), mesh: fc.boolean(),
  isMulticast: fc.boolean(), payloadLen: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 1232 })),
  seed: fc.integer(), srcPort: u16, dstPort: u16, hopLimit: u8, dscp: fc.integer({ min: 0, max: 63 }), ecn: fc.integer({ min: 0, max: 3 }),
  flowLabel: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xfffff })),
  rnd1: fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), dups1: fc.array(fc.nat(), { maxLength: 3 }),
  rnd2: fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), dups2: fc.array(fc.nat(), { maxLength: 3 }),
  srcKind: fc.integer({ min: 0, max: 5 }), dstKind: fc.integer({ min: 0, max: 5 }), mcKind: fc.integer({ min: 6, max: 8 }),
  r8a: bytes(8), r8b: bytes(8), r16a: bytes(16), r16b: bytes(16),
}).filter((c) => {
  // Distinct short addresses: two nodes with one address are a misconfigured PAN, not a case.
  const s = [c.shortA, c.shortB, c.shortR].filter((x) => x !== undefined);
  return new Set(s).size === s.length;
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/** Runs one case; `mesh`/`isMulticast` from the case unless forced. Returns what B delivered and the packet. */
function runCase(c: Case, pickAddrs: (a: Uint8Array, b: Uint8Array) => [Uint8Array, Uint8Array]): { packet: Uint8Array; got: Uint8Array[]; b: LowpanAdaptation } {
  const b = node(EXT_B, c.shortB, c.seed ^ 2, c.withContext, c.mesh ? () => undefined : undefined);
  const r = node(EXT_R, c.shortR, c.seed ^ 3, c.withContext, () => undefined);
  const a = node(EXT_A, c.shortA, c.seed ^ 1, c.withContext, c.mesh ? (final) => (equalBytes(final, b.lp.linkAddress) ? r.lp.linkAddress : undefined) : undefined);
  const [src, dst] = pickAddrs(a.lp.linkAddress, b.lp.linkAddress);
  const data = new Uint8Array(c.payloadLen);
  for (let i = 0; i < data.length; i++) data[i] = (Math.imul(i + 1, c.seed | 1) >>> 9) & 0xff;
  const packet = ipv6Packet({ src, dst, hopLimit: c.hopLimit, dscp: c.dscp, ecn: c.ecn, flowLabel: c.flowLabel, payload: udpDatagram(src, dst, c.srcPort, c.dstPort, data) });
  const frames: Uint8Array[] = [];
  const ok = a.lp.send(packet, dst[0] === 0xff ? undefined : b.lp.linkAddress, (f) => { frames.push(f.slice()); return true; });
  assert.ok(ok, 'sent');
  const got: Uint8Array[] = [];
  const toB: LowpanInputSink = { deliver: (p) => got.push(p.slice()), transmit: () => true };
  let now = 0;
  if (c.mesh) {
    const relayed: Uint8Array[] = [];
    const toR: LowpanInputSink = { deliver: () => undefined, transmit: (f) => { relayed.push(f.slice()); return true; } };
    for (const f of shuffled(frames, c.rnd1, c.dups1)) r.lp.input(now++, f, toR);
    for (const f of shuffled(relayed, c.rnd2, c.dups2)) b.lp.input(now++, f, toB);
  } else {
    for (const f of shuffled(frames, c.rnd1, c.dups1)) b.lp.input(now++, f, toB);
  }
  return { packet, got, b: b.lp };
}

function addrPicker(c: Case): (a: Uint8Array, b: Uint8Array) => [Uint8Array, Uint8Array] {
  return (a, b) => [address(c.srcKind, a, c.r8a, c.r16a), address(c.isMulticast ? c.mcKind : c.dstKind, b, c.r8b, c.r16b)];
}

/** Mesh cases where the relay's MAC header is longer than the originator's (their own property below). */
function relayHeaderGrows(c: Case): boolean {
  if (!c.mesh) return false;
  const len = (short: number | undefined): number => (short === undefined ? 8 : 2);
  return c.isMulticast ? len(c.shortR) > len(c.shortA) : len(c.shortB) > len(c.shortA);
}

function checkRoundTrip(c: Case): void {
  const { packet, got, b } = runCase(c, addrPicker(c));
  assert.ok(got.length >= 1, `delivered (B: ${JSON.stringify(b.stats)} reassembly ${JSON.stringify(b.reassembly)})`);
  for (const p of got) {
    assert.equal(toHex(p), toHex(packet));
    assert.ok(udpChecksumOk(p), 'UDP checksum');
  }
  assert.equal(b.stats.malformed, 0);
}

describe('6LoWPAN adaptation (property)', () => {
  it('random bytes and random MAC frames never throw and are counted', () => {
    const lp = new LowpanAdaptation({ extended: EXT_B, short: 0x0b, pan: PAN }, { rng: new XorShiftRng(5), contexts: [CTX0], meshRoutes: () => EXT_R });
    const toUs = (src: MacAddress, dst: MacAddress, payload: Uint8Array): Uint8Array => buildMacFrame(macFrame('data', {
      version: 0, panIdCompression: true, seq: 1, dst: { pan: PAN, addr: dst }, src: { pan: PAN, addr: src }, payload,
    }));
    const dispatch = fc.oneof(fc.constant(0x41), fc.integer({ min: 0x60, max: 0x7f }), fc.integer({ min: 0x80, max: 0xbf }), fc.constantFrom(0x50, 0xc0, 0xe0), u8);
    const lowpanPayload = fc.tuple(dispatch, fc.uint8Array({ maxLength: 100 })).map(([d, rest]) => concat(Uint8Array.of(d), rest));
    const mac: fc.Arbitrary<MacAddress> = fc.oneof(
      fc.constant<MacAddress>({ mode: 'short', value: 0x0b }), fc.constant<MacAddress>({ mode: 'extended', value: EXT_B }),
      fc.constant<MacAddress>({ mode: 'short', value: MAC_BROADCAST }), u16.map((value): MacAddress => ({ mode: 'short', value })),
      bytes(8).map((value): MacAddress => ({ mode: 'extended', value })),
    );
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 130 }),
      macFrameArb.map((f) => { try { return buildMacFrame(f); } catch { return new Uint8Array(0); } }),
      fc.tuple(mac, mac, lowpanPayload).map(([s, d, p]) => toUs(s, d, p)),
    );
    let fed = 0;
    const sink: LowpanInputSink = { deliver: () => undefined, transmit: () => true };
    fc.assert(fc.property(fc.array(frame, { maxLength: 20 }), fc.nat({ max: 200_000 }), (frames, dt) => {
      for (const f of frames) {
        lp.input(fed * 10 + dt, f, sink);
        fed++;
      }
      lp.poll(fed * 10 + dt);
      assert.equal(lp.stats.framesIn, fed);
    }), { numRuns: 300 });
    const s = lp.stats;
    const counted = s.malformed + s.unsupported + s.notForUs + s.datagramsIn + s.fragmentsDropped + s.meshForwarded + s.meshHopLimit + s.meshDuplicates;
    assert.ok(counted > 0 && counted <= fed + s.meshBroadcastsRelayed, `counted ${counted} of ${fed}`);
  });

  it('unicast IPv6+UDP, any addresses and size, any order with duplicates, direct or through a mesh relay: the same packet', () => {
    fc.assert(fc.property(caseArb.map((c) => ({ ...c, isMulticast: false })).filter((c) => !relayHeaderGrows(c)), checkRoundTrip), { numRuns: 300 });
  });

  it('unicast mesh-under through a relay whose MAC header is longer than the originator\'s (short originator, extended final)', () => {
    fc.assert(fc.property(caseArb.map((c) => ({ ...c, isMulticast: false, mesh: true, shortB: undefined, shortA: c.shortA ?? 1, payloadLen: 40 + (c.payloadLen % 200) }))
      .filter((c) => c.shortR !== c.shortA), checkRoundTrip), { numRuns: 100 });
  });

  it('multicast IPv6+UDP on a single-hop link (link-layer broadcast), any order with duplicates: the same packet', () => {
    fc.assert(fc.property(caseArb.map((c) => ({ ...c, isMulticast: true, mesh: false })), checkRoundTrip), { numRuns: 200 });
  });

  it('multicast IPv6+UDP small enough for one frame, flooded mesh-under (BC0) through a relay: the same packet', () => {
    fc.assert(fc.property(caseArb.map((c) => ({ ...c, isMulticast: true, mesh: true, payloadLen: c.payloadLen % 20 })).filter((c) => !relayHeaderGrows(c)), checkRoundTrip), { numRuns: 200 });
  });

  it('fragmented multicast flooded mesh-under through a relay: the same packet', () => {
    fc.assert(fc.property(caseArb.map((c) => ({ ...c, isMulticast: true, mesh: true, payloadLen: 200 + (c.payloadLen % 1000), dups1: [], dups2: [] })).filter((c) => !relayHeaderGrows(c)), checkRoundTrip), { numRuns: 50 });
  });
});
