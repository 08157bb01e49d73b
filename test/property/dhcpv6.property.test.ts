/**
 * Properties of the DHCPv6 codec (src/wire/dhcpv6.ts): `parse(emit(r)) ≡ r` with the
 * exact buffer length and nothing written past it; DUIDs round trip on their own and
 * compare equal exactly when their encodings do; totality on arbitrary bytes, on
 * option-shaped random bytes and on mutated valid messages (never throws, a repr or a
 * fault); whatever parses re-encodes to something that parses to the same repr.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { equalBytes } from '../../src/wire/bytes.ts';
import {
  dhcpv6BufferLen, duidEquals, emitDhcpv6, encodeDhcpv6, encodeDuid, isTypedDhcpv6Option, parseDhcpv6, parseDuid,
  type Dhcpv6Duid, type Dhcpv6Options, type Dhcpv6Repr,
} from '../../src/wire/dhcpv6.ts';
import { isFault } from '../../src/wire/fault.ts';

const RUNS = { numRuns: 1000 };
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const plain = <T extends object>(r: T): T => ({ ...r });

const duid: fc.Arbitrary<Dhcpv6Duid> = fc.oneof(
  fc.record({ kind: fc.constant('llt' as const), hardwareType: u16, time: u32, linkLayerAddress: fc.uint8Array({ maxLength: 122 }) }).map(plain),
  fc.record({ kind: fc.constant('ll' as const), hardwareType: u16, linkLayerAddress: fc.uint8Array({ maxLength: 124 }) }).map(plain),
  fc.record({ kind: fc.constant('opaque' as const), type: u16.filter((t) => t !== 1 && t !== 3), data: fc.uint8Array({ minLength: 1, maxLength: 128 }) }).map(plain),
);
/** Labels of 1-63 bytes, any byte but '.', names of at most 255 wire bytes. */
const label = fc.array(fc.integer({ min: 0, max: 255 }).filter((c) => c !== 0x2e), { minLength: 1, maxLength: 63 }).map((a) => String.fromCharCode(...a));
const name = fc.array(label, { minLength: 1, maxLength: 6 }).map((l) => l.join('.')).filter((n) => n.length + 2 <= 255);
const options: fc.Arbitrary<Dhcpv6Options> = fc.record(
  {
    clientId: duid,
    serverId: duid,
    optionRequest: fc.array(u16, { maxLength: 20 }),
    elapsedTime: u16,
    status: fc.record({ code: u16, message: fc.string({ unit: 'grapheme', maxLength: 40 }) }).map(plain),
    dnsServers: fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { maxLength: 6 }),
    domainList: fc.array(name, { maxLength: 5 }),
    informationRefreshTime: u32,
    solMaxRt: u32,
    infMaxRt: u32,
    other: fc.array(fc.record({ code: u16.filter((c) => !isTypedDhcpv6Option(c)), data: fc.uint8Array({ maxLength: 60 }) }).map(plain), { minLength: 1, maxLength: 6 }),
  },
  { requiredKeys: [] },
).map(plain);
const repr: fc.Arbitrary<Dhcpv6Repr> = fc.record({
  msgType: fc.integer({ min: 1, max: 255 }).filter((t) => t !== 12 && t !== 13),
  transactionId: fc.integer({ min: 0, max: 0xffffff }),
  options,
}).map(plain);

/** Random option TLVs (mostly typed codes, lengths near the right ones) after a random header. */
const optionShaped = fc.tuple(
  fc.uint8Array({ minLength: 4, maxLength: 4 }),
  fc.array(
    fc.tuple(fc.oneof(fc.constantFrom(1, 2, 6, 8, 13, 23, 24, 32, 82, 83), u16), fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -2, max: 2 })),
    { maxLength: 8 },
  ),
).map(([head, opts]) => {
  const parts: number[] = [...head];
  for (const [code, data, skew] of opts) {
    const len = Math.max(0, Math.min(0xffff, data.length + skew));
    parts.push(code >> 8, code & 0xff, len >> 8, len & 0xff, ...data);
  }
  return Uint8Array.from(parts);
});

/** A valid message, then a few random byte changes and maybe a cut. */
const mutated = fc.tuple(repr, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.option(fc.nat(), { nil: undefined }))
  .map(([r, edits, cut]) => {
    const b = encodeDhcpv6(r);
    for (const [at, v] of edits) b[at % b.length] = v;
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
  });

function reparses(b: Uint8Array): void {
  const r = parseDhcpv6(b);
  if (isFault(r)) return;
  const again = parseDhcpv6(encodeDhcpv6(r));
  assert.ok(!isFault(again), `re-encoded message failed: ${String(again)}`);
  assert.deepEqual(again, r);
}

describe('DHCPv6 codec properties', () => {
  it('round trip: parse(emit(r)) deep-equals r; the length is dhcpv6BufferLen; nothing written past it', () => {
    fc.assert(
      fc.property(repr, (r) => {
        const len = dhcpv6BufferLen(r);
        const out = new Uint8Array(len + 4).fill(0xa5);
        assert.equal(emitDhcpv6(r, out), len);
        assert.ok(out.subarray(len).every((x) => x === 0xa5));
        const p = parseDhcpv6(out.subarray(0, len));
        assert.ok(!isFault(p), String(p));
        assert.deepEqual(p, r);
      }),
      RUNS,
    );
  });

  it('DUIDs: parseDuid(encodeDuid(d)) ≡ d; duidEquals is equality of the encodings', () => {
    fc.assert(
      fc.property(duid, duid, (a, b) => {
        assert.deepEqual(parseDuid(encodeDuid(a)), a);
        assert.equal(duidEquals(a, b), equalBytes(encodeDuid(a), encodeDuid(b)));
        assert.ok(duidEquals(a, parseDuid(encodeDuid(a)) as Dhcpv6Duid));
      }),
      RUNS,
    );
  });

  it('totality: random bytes and option-shaped bytes never throw; what parses re-encodes consistently', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), optionShaped), (b) => reparses(b)), { numRuns: 5000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 140 }), (b) => {
      const d = parseDuid(b);
      if (!isFault(d)) assert.ok(equalBytes(encodeDuid(d), b), 'a parsed DUID encodes to its bytes');
    }), { numRuns: 2000 });
  });

  it('totality: mutated valid messages never throw, and what parses re-encodes consistently', () => {
    fc.assert(fc.property(mutated, (b) => reparses(b)), { numRuns: 3000 });
  });
});
