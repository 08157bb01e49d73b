/**
 * Properties of the DHCPv4 codec (src/wire/dhcpv4.ts): `parse(emit(r)) ≡ r` with the
 * exact buffer length; totality on arbitrary bytes and on mutated valid messages (never
 * throws, a repr or a fault); whatever parses re-encodes to something that parses to the
 * same repr (a mutated message is still handled consistently).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DHCPV4_FIXED_LEN, DHCPV4_MAGIC_COOKIE, DHCPV4_MIN_LEN, dhcpv4BufferLen, emitDhcpv4, encodeDhcpv4, isTypedDhcpv4Option, parseDhcpv4,
  type Dhcpv4Options, type Dhcpv4Repr,
} from '../../src/wire/dhcpv4.ts';
import { isFault } from '../../src/wire/fault.ts';

const RUNS = { numRuns: 1000 };
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** Text without NUL (fixed fields stop at the first NUL, options drop trailing ones). */
const text = (maxLength: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 1, max: 255 }), { maxLength }).map((a) => String.fromCharCode(...a));
const addrs = (maxLength: number): fc.Arbitrary<number[]> => fc.array(u32, { minLength: 1, maxLength });
/** Values up to 600 bytes so RFC 3396 splitting is exercised. */
const bytes = fc.oneof({ weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }) });
const otherCode = fc.integer({ min: 1, max: 254 }).filter((c) => !isTypedDhcpv4Option(c));

const options: fc.Arbitrary<Dhcpv4Options> = fc.record(
  {
    messageType: u8,
    subnetMask: u32,
    routers: addrs(4),
    dnsServers: fc.oneof(addrs(4), addrs(80)),
    hostname: text(300),
    domainName: text(64),
    interfaceMtu: fc.integer({ min: 68, max: 0xffff }),
    broadcastAddress: u32,
    requestedIp: u32,
    leaseTime: u32,
    serverId: u32,
    parameterRequestList: bytes,
    message: text(80),
    maxMessageSize: u16,
    renewalTime: u32,
    rebindingTime: u32,
    clientId: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    other: fc.uniqueArray(fc.record({ code: otherCode, data: bytes }).map((r) => ({ ...r })), { selector: (r) => r.code, minLength: 1, maxLength: 6 }),
  },
  { requiredKeys: [] },
).map((o) => ({ ...o }));

const repr: fc.Arbitrary<Dhcpv4Repr> = fc.record({
  op: fc.constantFrom(1, 2),
  htype: u8,
  chaddr: fc.uint8Array({ maxLength: 16 }),
  hops: u8,
  xid: u32,
  secs: u16,
  flags: u16,
  ciaddr: u32,
  yiaddr: u32,
  siaddr: u32,
  giaddr: u32,
  sname: text(64),
  file: text(128),
  options,
}).map((r) => ({ ...r }));

/** A valid message, then a few random byte changes and maybe a cut. */
const mutated = fc.tuple(
  repr,
  fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 8 }),
  fc.option(fc.nat(), { nil: undefined }),
).map(([r, edits, cut]) => {
  const b = encodeDhcpv4(r);
  for (const [at, v] of edits) b[DHCPV4_FIXED_LEN - 4 + (at % Math.max(1, b.length - DHCPV4_FIXED_LEN + 4))] = v; // mostly in the options
  if (edits.length > 4) b[(edits[0] as [number, number])[0] % b.length] = (edits[0] as [number, number])[1]; // sometimes the fixed part
  return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
});

function reparses(b: Uint8Array): void {
  const r = parseDhcpv4(b);
  if (isFault(r)) return;
  const again = parseDhcpv4(encodeDhcpv4(r));
  assert.ok(!isFault(again), `re-encoded message failed: ${String(again)}`);
  assert.deepEqual(again, r);
}

describe('DHCPv4 codec properties', () => {
  it('round trip: parse(emit(r)) deep-equals r; the length is dhcpv4BufferLen and at least 300', () => {
    fc.assert(
      fc.property(repr, (r) => {
        const len = dhcpv4BufferLen(r);
        assert.ok(len >= DHCPV4_MIN_LEN);
        const out = new Uint8Array(len + 4).fill(0xa5);
        assert.equal(emitDhcpv4(r, out), len);
        assert.ok(out.subarray(len).every((x) => x === 0xa5));
        const p = parseDhcpv4(out.subarray(0, len));
        assert.ok(!isFault(p), String(p));
        assert.deepEqual(p, r);
      }),
      RUNS,
    );
  });

  it('totality: random bytes (with and without a valid fixed part) never throw', () => {
    const withCookie = fc.uint8Array({ minLength: DHCPV4_FIXED_LEN, maxLength: 700 }).map((b) => {
      b[0] = 1 + (b[0] as number % 2);
      b[2] = (b[2] as number) % 17;
      b[236] = DHCPV4_MAGIC_COOKIE >>> 24;
      b[237] = (DHCPV4_MAGIC_COOKIE >>> 16) & 0xff;
      b[238] = (DHCPV4_MAGIC_COOKIE >>> 8) & 0xff;
      b[239] = DHCPV4_MAGIC_COOKIE & 0xff;
      return b;
    });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 700 }), withCookie), (b) => reparses(b)), { numRuns: 3000 });
  });

  it('totality: mutated valid messages never throw, and what parses re-encodes consistently', () => {
    fc.assert(fc.property(mutated, (b) => reparses(b)), { numRuns: 3000 });
  });
});
