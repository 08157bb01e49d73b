/**
 * Properties of the wire codecs (src/wire): round trips `parse(emit(r)) ≡ r` with exact
 * header lengths, totality of every parser on arbitrary and on mutated valid frames,
 * checksum error detection, and the incremental checksum (any split, RFC 1624 updates).
 * fast-check prints the seed and path of a failing case; pin regressions as examples.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checksumAdjust, foldChecksum, internetChecksum, onesSum } from '../../src/wire/checksum.ts';
import { rd16, wr16 } from '../../src/wire/bytes.ts';
import { isFault } from '../../src/wire/fault.ts';
import { EtherType, EthernetView, checkEthernet, emitEthernet, ethernetPayload, parseEthernet, type EthernetRepr } from '../../src/wire/ethernet.ts';
import { ArpView, checkArp, emitArp, parseArp, type ArpRepr } from '../../src/wire/arp.ts';
import {
  IpProtocol,
  Ipv4View,
  checkIpv4,
  emitIpv4,
  ipv4HeaderLen,
  ipv4Payload,
  parseIpv4,
  parseIpv4Quoted,
  type Ipv4Repr,
} from '../../src/wire/ipv4.ts';
import { UdpView, checkUdp, emitUdp, parseUdp, udpPayload, type UdpRepr } from '../../src/wire/udp.ts';
import { Icmpv4View, checkIcmpv4, emitIcmpv4, icmpv4BufferLen, parseIcmpv4, type Icmpv4Repr } from '../../src/wire/icmpv4.ts';
import * as golden from '../unit/wire/golden.ts';

const RUNS = { numRuns: 1000 };

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
const ip4 = fc.uint8Array({ minLength: 4, maxLength: 4 });

// ---- generators -------------------------------------------------------------------

/** fast-check records have a null prototype; parse returns plain objects, so copy before comparing. */
const plain = <T extends object>(r: T): T => ({ ...r });

const ethernetRepr: fc.Arbitrary<EthernetRepr> = fc.record({ dst: mac, src: mac, etherType: u16 }).map(plain);

const arpRepr: fc.Arbitrary<ArpRepr> = fc.record({ op: u16, senderMac: mac, senderIp: ip4, targetMac: mac, targetIp: ip4 }).map(plain);

/** One option: NOP, or type 2..255 with a length byte covering 0..10 data bytes. */
const ipv4Option = fc.oneof(
  fc.constant([1]),
  fc.tuple(fc.integer({ min: 2, max: 255 }), fc.uint8Array({ maxLength: 10 })).map(([t, d]) => [t, d.length + 2, ...d]),
);
/** A structurally valid option area, a multiple of 4 bytes, ≤ 40 — sometimes with garbage after an explicit EOL. */
const ipv4Options: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.array(ipv4Option, { maxLength: 8 }), fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }))
  .map(([opts, tail]) => {
    const bytes = opts.flat();
    if (tail !== undefined) bytes.push(0, ...tail);
    while (bytes.length % 4 !== 0) bytes.push(0);
    return Uint8Array.from(bytes);
  })
  .filter((o) => o.length <= 40);

const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc.record({
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  ident: u16,
  dontFrag: fc.boolean(),
  moreFrags: fc.boolean(),
  fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8),
  ttl: u8,
  protocol: u8,
  src: ip4,
  dst: ip4,
  options: fc.oneof({ weight: 2, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 3, arbitrary: ipv4Options }),
  payloadLen: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.constant(65535 - 60)),
}).map(plain);

const icmpData = fc.uint8Array({ maxLength: 80 });
const icmpv4Repr = fc.oneof(
  fc.record({ kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const), ident: u16, seq: u16, data: icmpData }),
  fc
    .record({ kind: fc.constant('dest-unreachable' as const), code: u8, nextHopMtu: u16, data: icmpData })
    .map((r) => (r.code === 4 ? r : { ...r, nextHopMtu: 0 })),
  fc.record({ kind: fc.constant('time-exceeded' as const), code: u8, data: icmpData }),
  fc
    .record({ kind: fc.constant('other' as const), type: u8, code: u8, rest: u32, data: icmpData })
    .filter((r) => r.type !== 3 && r.type !== 11 && !((r.type === 0 || r.type === 8) && r.code === 0)),
).map(plain) as fc.Arbitrary<Icmpv4Repr>;

const udpCase = fc.record({ srcPort: u16, dstPort: u16, payload: fc.uint8Array({ maxLength: 600 }), src: ip4, dst: ip4 });

// ---- a whole-frame decoder (what the stack will do), for totality -------------------

/** Decodes every layer it can; returns how deep it got. Must never throw. */
function decodeFrame(frame: Uint8Array, offload: boolean): number {
  if (checkEthernet(frame) !== undefined) return 0;
  const eth = parseEthernet(frame);
  if (isFault(eth)) return 0;
  const l3 = ethernetPayload(frame);
  if (eth.etherType === EtherType.ARP) {
    const arp = parseArp(l3);
    if (!isFault(arp)) {
      const v = new ArpView(l3);
      assert.deepEqual(v.senderIp, arp.senderIp);
    } else {
      assert.equal(checkArp(l3), arp);
    }
    return 2;
  }
  if (eth.etherType !== EtherType.IPV4) return 1;
  const ip = parseIpv4(l3, offload);
  if (isFault(ip)) return 1;
  // After a passing check: lengths are consistent and in range.
  assert.equal(checkIpv4(l3), undefined);
  const hl = ipv4HeaderLen(ip);
  assert.ok(hl + ip.payloadLen <= l3.length);
  const l4 = ipv4Payload(l3);
  assert.equal(l4.length, ip.payloadLen);
  assert.equal(new Ipv4View(l3).payload.length, ip.payloadLen);
  if (ip.protocol === IpProtocol.UDP) {
    const udp = parseUdp(l4, ip.src, ip.dst, offload);
    if (!isFault(udp)) {
      assert.ok(8 + udp.payloadLen <= l4.length);
      assert.equal(udpPayload(l4).length, udp.payloadLen);
      assert.equal(new UdpView(l4).payload.length, udp.payloadLen);
      return 3;
    }
    assert.ok(checkUdp(l4) !== undefined || udp === 'bad-checksum');
  } else if (ip.protocol === IpProtocol.ICMP) {
    const icmp = parseIcmpv4(l4, offload);
    if (!isFault(icmp)) {
      assert.equal(icmpv4BufferLen(icmp), l4.length);
      assert.equal(new Icmpv4View(l4).data.length, icmp.data.length);
      if (icmp.kind === 'dest-unreachable' || icmp.kind === 'time-exceeded') parseIpv4Quoted(icmp.data);
      return 3;
    }
    assert.ok(checkIcmpv4(l4) !== undefined || icmp === 'bad-checksum');
  }
  return 2;
}

const GOLDEN_FRAMES: Uint8Array[] = Object.values(golden).filter((v): v is Uint8Array => v instanceof Uint8Array && v.length >= 42);

/** A golden frame with 1..4 random edits: byte overwrite, truncation, extension, or a header-length poke. */
const mutatedFrame: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom(...GOLDEN_FRAMES),
    fc.array(
      fc.oneof(
        // Biased toward the deeper headers so that transport parsers see corrupt input too.
        fc.record({ op: fc.constant('set' as const), from: fc.constantFrom(0, 14, 34, 34), at: fc.nat(), value: u8 }),
        fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
        fc.record({ op: fc.constant('len16' as const), which: fc.constantFrom(14 + 2, 34 + 4), value: u16 }),
        fc.record({ op: fc.constant('ihl' as const), value: fc.integer({ min: 0, max: 15 }) }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([frame, edits]) => {
    let b = frame.slice();
    for (const e of edits) {
      if (e.op === 'set') {
        if (b.length > e.from) b[e.from + (e.at % (b.length - e.from))] = e.value;
      } else if (e.op === 'truncate') b = b.slice(0, e.at % (b.length + 1));
      else if (e.op === 'extend') {
        const c = new Uint8Array(b.length + e.bytes.length);
        c.set(b);
        c.set(e.bytes, b.length);
        b = c;
      } else if (e.op === 'len16') {
        if (b.length >= e.which + 2) wr16(b, e.which, e.value);
      } else if (b.length > 14) b[14] = ((b[14] as number) & 0xf0) | e.value;
    }
    return b;
  });

// ---- properties ---------------------------------------------------------------------

describe('wire round trips: parse(emit(r)) ≡ r, emit writes exactly headerLen bytes', () => {
  it('Ethernet', () => {
    fc.assert(
      fc.property(ethernetRepr, (r) => {
        const out = golden.canary(20);
        emitEthernet(r, out);
        assert.ok(out.subarray(14).every((x) => x === 0xa5));
        assert.deepEqual(parseEthernet(out), r);
        assert.equal(new EthernetView(out).etherType, r.etherType);
      }),
      RUNS,
    );
  });

  it('ARP', () => {
    fc.assert(
      fc.property(arpRepr, (r) => {
        const out = golden.canary(32);
        emitArp(r, out);
        assert.ok(out.subarray(28).every((x) => x === 0xa5));
        assert.deepEqual(parseArp(out), r);
      }),
      RUNS,
    );
  });

  it('IPv4 (options, fragments, all field widths, up to the 65535-byte total)', () => {
    fc.assert(
      fc.property(ipv4Repr, (r) => {
        const hl = ipv4HeaderLen(r);
        assert.equal(hl, 20 + r.options.length);
        const out = golden.canary(hl + r.payloadLen + 4);
        emitIpv4(r, out);
        assert.ok(out.subarray(hl, hl + 64).every((x) => x === 0xa5), 'payload area untouched');
        assert.deepEqual(parseIpv4(out), r);
        assert.equal(internetChecksum(out, 0, hl), 0, 'the emitted header checksum verifies');
      }),
      { numRuns: 500 },
    );
  });

  it('UDP (checksum over the pseudo-header and the payload in place)', () => {
    fc.assert(
      fc.property(udpCase, ({ srcPort, dstPort, payload, src, dst }) => {
        const r: UdpRepr = { srcPort, dstPort, payloadLen: payload.length };
        const out = golden.canary(8 + payload.length + 8);
        out.set(payload, 8);
        emitUdp(r, out, src, dst);
        assert.ok(out.subarray(8 + payload.length).every((x) => x === 0xa5));
        assert.deepEqual(udpPayload(out.subarray(0, 8 + payload.length)), payload);
        assert.notEqual(rd16(out, 6), 0, 'a checksum is always sent');
        assert.deepEqual(parseUdp(out, src, dst), r);
      }),
      RUNS,
    );
  });

  it('ICMPv4 (every kind, including pass-through)', () => {
    fc.assert(
      fc.property(icmpv4Repr, (r) => {
        const len = icmpv4BufferLen(r);
        const out = golden.canary(len + 8);
        emitIcmpv4(r, out);
        assert.ok(out.subarray(len).every((x) => x === 0xa5));
        assert.deepEqual(parseIcmpv4(out.subarray(0, len)), r);
      }),
      RUNS,
    );
  });
});

describe('wire totality: parsers never throw', () => {
  it('on arbitrary bytes, every parser returns a fault or a Repr consistent with the buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), ip4, ip4, fc.boolean(), (b, src, dst, offload) => {
        parseEthernet(b);
        parseArp(b);
        const ip = parseIpv4(b, offload);
        if (!isFault(ip)) assert.ok(ipv4HeaderLen(ip) + ip.payloadLen <= b.length);
        const q = parseIpv4Quoted(b);
        if (!isFault(q)) assert.ok(ipv4HeaderLen(q) <= b.length);
        const udp = parseUdp(b, src, dst, offload);
        if (!isFault(udp)) assert.ok(8 + udp.payloadLen <= b.length);
        parseIcmpv4(b, offload);
        decodeFrame(b, offload);
      }),
      { numRuns: 3000 },
    );
  });

  it('on arbitrary bytes behind a valid-looking IPv4 prefix (version 4, sane IHL)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 15 }), fc.uint8Array({ minLength: 19, maxLength: 100 }), (ihl, rest) => {
        const b = Uint8Array.of(0x40 | ihl, ...rest);
        const r = parseIpv4(b, true);
        if (!isFault(r)) assert.equal(ipv4HeaderLen(r), ihl * 4);
        parseIpv4Quoted(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('on mutated golden frames (byte edits, truncations, extensions, length pokes), with and without offload', () => {
    fc.assert(
      fc.property(mutatedFrame, fc.boolean(), (frame, offload) => {
        decodeFrame(frame, offload);
      }),
      { numRuns: 5000 },
    );
  });

  it('every golden frame decodes to the transport layer unchanged', () => {
    for (const f of GOLDEN_FRAMES) {
      const depth = decodeFrame(f, false);
      assert.ok(depth >= 2, `depth ${depth}`);
    }
  });
});

describe('checksums catch corruption', () => {
  const ipv4Dgrams = [golden.ETH_IPV4_UDP, golden.ETH_IPV4_OPTIONS_ICMP_ECHO, golden.ETH_ICMP_PORT_UNREACHABLE].map((f) => f.subarray(14));

  it('any single-byte change in an IPv4 header (other than version/IHL) is a fault', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ipv4Dgrams), fc.nat(), fc.integer({ min: 1, max: 255 }), (d, at, x) => {
        const hl = ((d[0] as number) & 0x0f) * 4;
        const i = 1 + (at % (hl - 1));
        const b = d.slice();
        b[i] = (b[i] as number) ^ x;
        assert.ok(isFault(parseIpv4(b)), `byte ${i}`);
      }),
      RUNS,
    );
  });

  it('any single-byte change in a UDP datagram or ICMP message (other than the UDP length) is a fault', () => {
    const udp = golden.ETH_IPV4_UDP.subarray(34);
    const icmps = [golden.ETH_ICMP_ECHO_REQUEST, golden.ETH_ICMP_PORT_UNREACHABLE, golden.ETH_ICMP_TIME_EXCEEDED].map((f) => f.subarray(34));
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom(...icmps), (at, x, icmp) => {
        const i = at % udp.length;
        if (i !== 4 && i !== 5) {
          const b = udp.slice();
          b[i] = (b[i] as number) ^ x;
          assert.ok(isFault(parseUdp(b, golden.IP_S, golden.IP_D)), `udp byte ${i}`);
        }
        const j = at % icmp.length;
        const c = icmp.slice();
        c[j] = (c[j] as number) ^ x;
        assert.ok(isFault(parseIcmpv4(c)), `icmp byte ${j}`);
      }),
      RUNS,
    );
  });
});

describe('incremental checksum', () => {
  it('onesSum over any split (odd chunks flagged with oddStart) equals the one-shot sum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 8 }), (b, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
        let acc = 0;
        let prev = 0;
        for (const p of [...points, b.length]) {
          acc = onesSum(b, prev, p, acc, prev % 2 === 1);
          prev = p;
        }
        assert.equal(acc, onesSum(b));
      }),
      RUNS,
    );
  });

  it('even-length chunks chain without the flag (the common header + payload case)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), (b, cut) => {
        const c = (cut % (b.length + 1)) & ~1;
        assert.equal(onesSum(b, c, b.length, onesSum(b, 0, c)), onesSum(b));
      }),
      RUNS,
    );
  });

  it('large buffers (up to 128 KiB) match a reference sum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 131072 }), u8, u32, (n, fill, seed) => {
        const b = new Uint8Array(n).fill(fill);
        if (n > 0) wr16(b, (seed % n) & ~1, seed & 0xffff);
        let s = 0;
        for (let i = 0; i < n; i += 2) s += ((b[i] as number) << 8) + (b[i + 1] ?? 0);
        while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
        assert.equal(onesSum(b), s);
      }),
      { numRuns: 50 },
    );
  });

  it('checksumAdjust (RFC 1624 eqn. 3) equals recomputation after a 16-bit word changes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }).chain((words) =>
          fc.tuple(fc.uint8Array({ minLength: 2 * words, maxLength: 2 * words }), fc.integer({ min: 1, max: words - 1 }), u16),
        ),
        ([data, w, newWord]) => {
          // Word 0 holds the checksum; word w changes.
          const b = data.slice();
          wr16(b, 0, 0);
          const before = foldChecksum(onesSum(b));
          const oldWord = rd16(b, 2 * w);
          wr16(b, 2 * w, newWord);
          // Documented corner: data that becomes all zeros (recompute 0xffff, adjust 0x0000).
          fc.pre(b.some((x) => x !== 0));
          const after = foldChecksum(onesSum(b));
          assert.equal(checksumAdjust(before, oldWord, newWord), after);
          wr16(b, 0, after);
          assert.equal(internetChecksum(b), 0);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
