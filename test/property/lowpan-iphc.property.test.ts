/**
 * Properties of 6LoWPAN header compression (src/wire/lowpan/iphc.ts, nhc-*.ts):
 * - compress -> decompress gives back the very packet, for arbitrary IPv6 headers (addresses
 *   random, derived from the link addresses, 16-bit forms, under random contexts, ::,
 *   multicast of every compressible form and RFC 3306 ones, traffic classes, flow labels, hop
 *   limits) carrying UDP (any ports, checksum carried or elided), extension-header chains,
 *   IPv6 in IPv6 or opaque payloads, with and without NHC;
 * - decompress never throws on random or mutated bytes, and what it returns is a consistent
 *   IPv6 packet that compresses and decompresses to itself again.
 * fast-check prints the seed of a failing case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { rd16, toHex } from '../../src/wire/bytes.ts';
import { isFault } from '../../src/wire/fault.ts';
import { emitIpv6ExtHeader, ipv6ExtHeaderLen, ipv6ExtHeaderType, type Ipv6ExtHeaderRepr } from '../../src/wire/ipv6.ts';
import { compressIphc, decompressIphc, type LowpanContext, type LowpanContextTable, type LowpanLinkAddr } from '../../src/wire/lowpan/iphc.ts';
import { ipv6Packet, udpDatagram } from '../unit/wire/lowpan/iphc-cases.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const plain = <T extends object>(r: T): T => ({ ...r });

const link: fc.Arbitrary<LowpanLinkAddr> = fc.oneof(
  u16.map((value): LowpanLinkAddr => ({ mode: 'short', value, pan: 0xabcd })),
  bytes(8).map((value): LowpanLinkAddr => ({ mode: 'extended', value })),
);

const context: fc.Arbitrary<LowpanContext> = fc.record({ prefix: bytes(16), prefixLen: fc.oneof(fc.constantFrom(48, 64), fc.integer({ min: 0, max: 128 })) }).map(plain);
const contexts: fc.Arbitrary<LowpanContextTable> = fc.array(fc.option(context, { nil: undefined }), { maxLength: 16 });

/** The IID a link address stands for (RFC 6282 §3.2.2), computed here independently of the codec. */
function iidOf(l: LowpanLinkAddr): Uint8Array {
  if (l.mode === 'short') return Uint8Array.of(0, 0, 0, 0xff, 0xfe, 0, l.value >> 8, l.value & 0xff);
  const v = l.value.slice();
  v[0] = (v[0] as number) ^ 2;
  return v;
}

function withPrefix(prefix: Uint8Array, bits: number, rest: Uint8Array): Uint8Array {
  const a = rest.slice();
  for (let i = 0; i < 128; i++) {
    if (i >= bits) break;
    const m = 0x80 >> (i & 7);
    a[i >> 3] = ((a[i >> 3] as number) & ~m) | ((prefix[i >> 3] as number) & m);
  }
  return a;
}

const concat = (...p: Uint8Array[]): Uint8Array => Uint8Array.from(p.flatMap((x) => [...x]));

/** Addresses that exercise every encoding for a node with link address `l` under `ctx`. */
function address(l: LowpanLinkAddr, ctx: LowpanContextTable, multicastOk: boolean): fc.Arbitrary<Uint8Array> {
  const iid = fc.oneof(bytes(8), fc.constant(iidOf(l)), u16.map((x) => Uint8Array.of(0, 0, 0, 0xff, 0xfe, 0, x >> 8, x & 0xff)));
  const present = ctx.filter((c): c is LowpanContext => c !== undefined);
  const kinds: fc.Arbitrary<Uint8Array>[] = [
    bytes(16),
    iid.map((i) => concat(Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0), i)),
    fc.constant(new Uint8Array(16)),
  ];
  if (present.length > 0) {
    const c = fc.constantFrom(...present);
    kinds.push(fc.tuple(c, iid).map(([x, i]) => withPrefix(x.prefix, x.prefixLen, concat(new Uint8Array(8), i))));
  }
  const short = present.filter((x) => x.prefixLen <= 64);
  if (multicastOk && short.length > 0) {
    kinds.push(fc.tuple(fc.constantFrom(...short), u8, u8, bytes(4)).map(([x, fl, riid, g]) =>
      concat(Uint8Array.of(0xff, fl, riid, x.prefixLen), withPrefix(x.prefix, x.prefixLen, new Uint8Array(8)), g)));
  }
  if (multicastOk) {
    kinds.push(
      bytes(15).map((b) => concat(Uint8Array.of(0xff), b)),
      fc.tuple(u8, bytes(5)).map(([s, g]) => concat(Uint8Array.of(0xff, s), new Uint8Array(9), g)),
      fc.tuple(u8, bytes(3)).map(([s, g]) => concat(Uint8Array.of(0xff, s), new Uint8Array(11), g)),
      u8.map((g) => concat(Uint8Array.of(0xff, 0x02), new Uint8Array(13), Uint8Array.of(g))),
    );
  }
  return fc.oneof(...kinds);
}

const port = fc.oneof(u16, fc.integer({ min: 0xf0b0, max: 0xf0bf }), fc.integer({ min: 0xf000, max: 0xf0ff }));
const option = fc.record({ type: fc.constantFrom(0x1e, 0x3e, 0x05), data: fc.uint8Array({ maxLength: 12 }) }).map(plain);
const extHeader: fc.Arbitrary<Ipv6ExtHeaderRepr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('hop-by-hop' as const, 'dest-options' as const), options: fc.array(option, { maxLength: 3 }) }).map(plain),
  fc.record({ kind: fc.constant('routing' as const), routingType: u8, segmentsLeft: u8, data: fc.uint8Array({ maxLength: 30 }) }).map(plain),
  fc.record({ kind: fc.constant('fragment' as const), fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8), moreFrags: fc.boolean(), ident: fc.integer({ min: 0, max: 0xffffffff }) }).map(plain),
);

/** `headers` emitted in a chain ending in `last`; returns the bytes and the first Next Header. */
function chain(headers: readonly Ipv6ExtHeaderRepr[], last: number, tail: Uint8Array): { nh: number; bytes: Uint8Array } {
  const out = new Uint8Array(headers.reduce((n, h) => n + ipv6ExtHeaderLen(h), 0) + tail.length);
  let off = 0;
  headers.forEach((h, i) => {
    const next = headers[i + 1];
    off += emitIpv6ExtHeader(h, next === undefined ? last : ipv6ExtHeaderType(next), out, off);
  });
  out.set(tail, off);
  const first = headers[0];
  return { nh: first === undefined ? last : ipv6ExtHeaderType(first), bytes: out };
}

interface Scenario {
  readonly src: LowpanLinkAddr;
  readonly dst: LowpanLinkAddr;
  readonly contexts: LowpanContextTable;
  readonly packet: Uint8Array;
  readonly elideUdpChecksum: boolean;
  readonly nhc: boolean;
}

const header = (l: { src: LowpanLinkAddr; dst: LowpanLinkAddr; ctx: LowpanContextTable }): fc.Arbitrary<{ src: Uint8Array; dst: Uint8Array; dscp: number; ecn: number; flowLabel: number; hopLimit: number }> =>
  fc.record({
    src: address(l.src, l.ctx, false),
    dst: address(l.dst, l.ctx, true),
    dscp: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 63 })),
    ecn: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })),
    flowLabel: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xfffff })),
    hopLimit: fc.oneof(fc.constantFrom(1, 64, 255), u8),
  });

const scenario: fc.Arbitrary<Scenario> = fc.record({ src: link, dst: link, ctx: contexts }).chain((l) =>
  fc.record({
    outer: header(l),
    inner: fc.option(header(l), { nil: undefined }),
    headers: fc.array(extHeader, { maxLength: 3 }),
    upper: fc.constantFrom('udp', 'opaque'),
    ports: fc.tuple(port, port),
    data: fc.uint8Array({ maxLength: 64 }),
    elideUdpChecksum: fc.boolean(),
    nhc: fc.oneof(fc.constant(true), fc.boolean()),
  }).map((s): Scenario => {
    const ip = (h: typeof s.outer, nextHeader: number, payload: Uint8Array): Uint8Array => ipv6Packet({ ...h, nextHeader, payload });
    const inner = s.inner ?? s.outer;
    const upper = s.upper === 'udp' ? udpDatagram(inner.src, inner.dst, s.ports[0], s.ports[1], s.data) : s.data;
    const c = chain(s.headers, s.upper === 'udp' ? 17 : 58, upper);
    const packet = s.inner === undefined ? ip(s.outer, c.nh, c.bytes) : ip(s.outer, 41, ip(s.inner, c.nh, c.bytes));
    return { src: l.src, dst: l.dst, contexts: l.ctx, packet, elideUdpChecksum: s.elideUdpChecksum, nhc: s.nhc };
  }),
);

describe('6LoWPAN IPHC/NHC properties', () => {
  it('compress -> decompress is the identity on arbitrary IPv6 packets', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const c = compressIphc(s.packet, s);
        assert.ok(!isFault(c), String(c));
        assert.ok(c.headerLen <= c.uncompressedHeaderLen + 4 * 2, 'compressed headers stay small');
        const d = decompressIphc(c.frame, s);
        assert.ok(!isFault(d), `decompress: ${String(d)}`);
        assert.equal(toHex(d.packet), toHex(s.packet));
        assert.equal(d.consumed, c.headerLen);
        assert.equal(d.headerLen, c.uncompressedHeaderLen);
        // as the first fragment of the same datagram: the lengths come from the datagram size
        const cut = Math.min(c.frame.length, c.headerLen + 3);
        const f = decompressIphc(c.frame.subarray(0, cut), { ...s, datagramSize: s.packet.length });
        assert.ok(!isFault(f), `first fragment: ${String(f)}`);
        const headers = s.packet.slice(0, f.headerLen);
        if (f.udpChecksumPending !== undefined) headers.set(f.packet.subarray(f.udpChecksumPending.udpOffset + 6, f.udpChecksumPending.udpOffset + 8), f.udpChecksumPending.udpOffset + 6);
        assert.equal(toHex(f.packet.subarray(0, f.headerLen)), toHex(headers), 'the same headers (a pending checksum aside)');
      }),
      { seed: 20261121, numRuns: 400 },
    );
  });

  const frame = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 0x1f }), fc.uint8Array({ maxLength: 80 })).map(([d, rest]) => Uint8Array.of(0x60 | d, ...rest)),
    // valid frames with a few bytes changed: deeper paths
    fc.tuple(scenario, fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 3 })).map(([s, edits]) => {
      const c = compressIphc(s.packet, s);
      const f = isFault(c) ? new Uint8Array(0) : c.frame.slice();
      for (const [at, v] of edits) if (f.length > 0) f[at % f.length] = v;
      return f;
    }),
  );

  it('decompress never throws; its packets are consistent and survive another round trip', () => {
    fc.assert(
      fc.property(frame, link, link, contexts, fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }), (buf, src, dst, ctx, datagramSize) => {
        const d = decompressIphc(buf, { src, dst, contexts: ctx, datagramSize });
        if (isFault(d)) return;
        assert.ok(d.consumed <= buf.length);
        assert.equal(d.packet.length, d.headerLen + buf.length - d.consumed);
        assert.equal((d.packet[0] as number) >> 4, 6);
        assert.equal(rd16(d.packet, 4), (datagramSize ?? d.packet.length) - 40);
        if (datagramSize !== undefined) return;
        const again = compressIphc(d.packet, { src, dst, contexts: ctx });
        assert.ok(!isFault(again), String(again));
        const back = decompressIphc(again.frame, { src, dst, contexts: ctx });
        assert.ok(!isFault(back), String(back));
        assert.equal(toHex(back.packet), toHex(d.packet));
      }),
      { seed: 20261122, numRuns: 1500 },
    );
  });
});
