import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../../../src/wire/bytes.ts';
import { isFault } from '../../../../src/wire/fault.ts';
import {
  compressIphc,
  decompressIphc,
  IPHC_DISPATCH,
  IPHC_DISPATCH_MASK,
  isIphcDispatch,
  type IphcCompressOptions,
  type IphcDecompressed,
  type LowpanLinkAddr,
} from '../../../../src/wire/lowpan/iphc.ts';
import { fillUdpChecksumV6 } from '../../../../src/wire/lowpan/nhc-udp.ts';
import { CONTEXTS, destCases, EXT_A, EXT_B, ip6, ipv6Packet, linkLocalOf, SHORT_A, SHORT_B, sourceCases, udpDatagram, udpPacket } from './iphc-cases.ts';

function hex(text: string): Uint8Array {
  const b = fromHex(text);
  assert.ok(b !== undefined, text);
  return b;
}

function compress(p: Uint8Array, opts: IphcCompressOptions): { frame: Uint8Array; headerLen: number; uncompressedHeaderLen: number } {
  const c = compressIphc(p, opts);
  assert.ok(!isFault(c), `compress: ${String(c)}`);
  return c;
}

function decompress(f: Uint8Array, opts: IphcCompressOptions & { datagramSize?: number }): IphcDecompressed {
  const d = decompressIphc(f, opts);
  assert.ok(!isFault(d), `decompress: ${String(d)}`);
  return d;
}

/** Compresses, decompresses, and checks the round trip is exact; returns the compressed form. */
function roundTrip(p: Uint8Array, opts: IphcCompressOptions): { frame: Uint8Array; headerLen: number } {
  const c = compress(p, opts);
  const d = decompress(c.frame, opts);
  assert.equal(toHex(d.packet), toHex(p));
  assert.equal(d.consumed, c.headerLen);
  assert.equal(d.headerLen, c.uncompressedHeaderLen);
  return c;
}

const LL_A = linkLocalOf(EXT_A);
const LL_B = linkLocalOf(EXT_B);
const EXT: IphcCompressOptions = { src: EXT_A, dst: EXT_B };

describe('LOWPAN_IPHC dispatch', () => {
  it('011xxxxx is IPHC, other dispatches are not', () => {
    assert.equal(IPHC_DISPATCH_MASK, 0xe0);
    assert.equal(IPHC_DISPATCH, 0x60);
    for (let b = 0; b < 256; b++) assert.equal(isIphcDispatch(b), b >= 0x60 && b <= 0x7f, `0x${b.toString(16)}`);
  });
});

describe('LOWPAN_IPHC: vectors built by scapy 2.5 (UDP inline)', () => {
  // scapy.layers.sixlowpan LoWPAN_IPHC over Dot15d4Data, link header stripped: [name, src, dst, compressed, uncompressed].
  const links: Record<string, LowpanLinkAddr> = { A: EXT_A, B: EXT_B, SA: SHORT_A, SB: SHORT_B, BCAST: { mode: 'short', value: 0xffff } };
  // name | link source, destination | compressed | uncompressed
  const table = `
    ext, elided link-local, hlim 64 | A B | 7a3311f0b11633000c053c40010001
      | 60000000000c1140fe8000000000000002124b0001020304fe80000000000000001122fffe334455f0b11633000c053c40010001
    ext, 64-bit inline, hlim 255 | A B | 7b1111123456789abcdef0aaaabbbbccccdddd04d2162e000db09568656c6c6f
      | 60000000000d11fffe80000000000000123456789abcdef0fe80000000000000aaaabbbbccccdddd04d2162e000db09568656c6c6f
    short, 16-bit inline + elided, hlim 1 | SA SB | 7923110042000100020009cda578
      | 6000000000091101fe80000000000000000000fffe000042fe80000000000000000000fffe00beef000100020009cda578
    full addresses, hop limit inline, flow label | A B | 68000abcde111120010db800000000000000000000000120010db800000000000000000000000200070007000cc58270696e67
      | 600abcde000c111120010db800000000000000000000000120010db800000000000000000000000200070007000cc58270696e67
    multicast 8-bit | A BCAST | 7b3b110116331633000c34d050010002
      | 60000000000c11fffe8000000000000002124b0001020304ff02000000000000000000000000000116331633000c34d050010002
    multicast 48-bit | A BCAST | 7a391105abcdef123416331633000c53ff50010002
      | 60000000000c1140fe8000000000000002124b0001020304ff05000000000000000000abcdef123416331633000c53ff50010002
    multicast 32-bit | A BCAST | 7a3a1108abcdef16331633000c663050010002
      | 60000000000c1140fe8000000000000002124b0001020304ff080000000000000000000000abcdef16331633000c663050010002`;
  const vectors = table.replace(/\n\s*\|/g, ' |').trim().split('\n').map((line) => {
    const [name, ls, compressed, full] = line.split('|').map((x) => x.trim()) as [string, string, string, string];
    const [s, d] = ls.split(' ') as [string, string];
    return [name, links[s] as LowpanLinkAddr, links[d] as LowpanLinkAddr, compressed, full] as const;
  });
  assert.equal(vectors.length, 7);
  for (const [name, src, dst, compressed, full] of vectors) {
    it(`${name}: decodes to scapy's packet and encodes to scapy's bytes`, () => {
      assert.equal(toHex(decompress(hex(compressed), { src, dst }).packet), full);
      assert.equal(toHex(compress(hex(full), { src, dst, nhc: false }).frame), compressed);
    });
  }
});

describe('LOWPAN_IPHC address modes', () => {
  const links: [string, LowpanLinkAddr, LowpanLinkAddr][] = [
    ['extended -> extended', EXT_A, EXT_B],
    ['short -> short', SHORT_A, SHORT_B],
    ['extended -> short', EXT_A, SHORT_B],
    ['short -> extended', SHORT_A, EXT_B],
  ];
  for (const [linkName, ls, ld] of links) {
    it(`${linkName}: every source x destination encoding, shortest, round trip exact`, () => {
      for (const [sName, s, sac, sam, sCid] of sourceCases(ls)) {
        for (const [dName, d, m, dac, dam, dCid] of destCases(ld)) {
          const what = `${sName} -> ${dName}`;
          const c = roundTrip(udpPacket(s, d), { src: ls, dst: ld, contexts: CONTEXTS });
          const b1 = c.frame[1] as number;
          const cid = sCid || dCid;
          assert.deepEqual([b1 >> 7, (b1 >> 6) & 1, (b1 >> 4) & 3, (b1 >> 3) & 1, (b1 >> 2) & 1, b1 & 3], [cid ? 1 : 0, sac, sam, m, dac, dam], what);
          const sLen = sac === 1 && sam === 0 ? 0 : ([16, 8, 2, 0][sam] as number);
          const dLen = m === 1 ? (dac === 1 ? 6 : ([16, 6, 4, 1][dam] as number)) : ([16, 8, 2, 0][dam] as number);
          // IPHC base + CID byte + addresses + NHC UDP (source port 0xf0b3 in 8 bits, destination inline, checksum)
          assert.equal(c.headerLen, 2 + (cid ? 1 : 0) + sLen + dLen + 6, what);
          if (cid) {
            const sci = sName.startsWith('context 3') ? 3 : sName.startsWith('context 5') ? 5 : 0;
            const dci = dName.startsWith('context 3') ? 3 : 0;
            assert.equal(c.frame[2], (sac === 1 && sam !== 0 ? sci << 4 : 0) | (dac === 1 && m === 0 ? dci : 0), `${what}: CID byte`);
          }
        }
      }
    });
  }

  it('without contexts, context-covered addresses go inline; with an unknown context the decompressor refuses', () => {
    const p = udpPacket('2001:db8:1::ff:fe00:99', '2001:db8:1::ff:fe00:77');
    const c = roundTrip(p, EXT);
    assert.equal(c.frame[1], 0x00);
    const withCtx = compress(p, { ...EXT, contexts: CONTEXTS });
    assert.equal(decompressIphc(withCtx.frame, EXT), 'unsupported');
  });

  it('a context longer than 64 bits overrides IID bits; one shorter leaves zeros', () => {
    const contexts = [{ prefix: ip6('2001:db8:aa:bb:cc00::'), prefixLen: 72 }];
    // the IID from the link (0212:4b00:0102:0304) under a /72 context: its first byte becomes cc
    const derived = `2001:db8:aa:bb:cc12:4b00:102:304`;
    const c = roundTrip(udpPacket(derived, LL_B), { ...EXT, contexts });
    assert.equal(((c.frame[1] as number) >> 4) & 7, 0x7, 'SAC=1 SAM=11');
    const ctx48 = [{ prefix: ip6('2001:db8:1::'), prefixLen: 48 }];
    const c2 = roundTrip(udpPacket('2001:db8:1:0:1:2:3:4', LL_B), { ...EXT, contexts: ctx48 });
    assert.equal(((c2.frame[1] as number) >> 4) & 7, 0x5, 'SAC=1 SAM=01');
    const c3 = roundTrip(udpPacket('2001:db8:1:5:1:2:3:4', LL_B), { ...EXT, contexts: ctx48 });
    assert.equal(((c3.frame[1] as number) >> 4) & 7, 0x0, 'bits 48..63 not covered by the context: inline');
  });

  it('a multicast source is carried inline; RFC 3306 needs a context of at most 64 bits matching LL', () => {
    const c = roundTrip(udpPacket('ff02::1', LL_B), EXT);
    assert.equal(((c.frame[1] as number) >> 4) & 7, 0);
    const ctx = [{ prefix: ip6('2001:db8:1::'), prefixLen: 64 }];
    const wrongLen = roundTrip(udpPacket(LL_A, 'ff3e:30:2001:db8:1:0:1234:5678'), { ...EXT, contexts: ctx });
    assert.equal((wrongLen.frame[1] as number) & 0xf, 0x8, 'M=1 DAC=0 DAM=00: 128 bits inline, not the context');
  });
});

describe('LOWPAN_IPHC traffic class, flow label, hop limit, next header', () => {
  const cases: [string, number, number, number, number, string][] = [
    ['all zero', 0, 0, 0, 3, ''],
    ['ECN only', 0, 1, 0, 2, '40'],
    ['DSCP only', 0x2e, 0, 0, 2, '2e'],
    ['ECN + DSCP', 0x2e, 3, 0, 2, 'ee'],
    ['ECN + flow label', 0, 2, 0xabcde, 1, '8abcde'],
    ['flow label only', 0, 0, 0x12345, 1, '012345'],
    ['everything', 0x2e, 1, 0x12345, 0, '6e012345'],
  ];
  for (const [name, dscp, ecn, fl, tf, inline] of cases) {
    it(`TF ${tf}: ${name}`, () => {
      const c = roundTrip(udpPacket(LL_A, LL_B, 0xf0b1, 0xf0b2, Uint8Array.of(1), { dscp, ecn, flowLabel: fl }), EXT);
      assert.equal(((c.frame[0] as number) >> 3) & 3, tf);
      assert.equal(toHex(c.frame.subarray(2, 2 + inline.length / 2)), inline);
    });
  }
  for (const [hl, bits] of [[1, 1], [64, 2], [255, 3], [17, 0], [0, 0]] as const) {
    it(`hop limit ${hl} -> HLIM ${bits}`, () => {
      const c = roundTrip(udpPacket(LL_A, LL_B, 0xf0b1, 0xf0b2, Uint8Array.of(1), { hopLimit: hl }), EXT);
      assert.equal((c.frame[0] as number) & 3, bits);
      assert.equal(c.headerLen, 2 + (bits === 0 ? 1 : 0) + 4);
      if (bits === 0) assert.equal(c.frame[2], hl);
    });
  }
  it('the whole header elided: 2 bytes of IPHC for 40 of IPv6', () => {
    const p = ipv6Packet({ src: ip6(LL_A), dst: ip6(LL_B), nextHeader: 58, payload: Uint8Array.of(128, 0, 0, 0) });
    const c = roundTrip(p, EXT);
    assert.equal(toHex(c.frame), '7a333a80000000', 'TF=11 NH=0 HLIM=10, SAM=11 DAM=11, next header 58 inline');
  });
});

describe('LOWPAN_NHC UDP', () => {
  const ports: [number, number, string][] = [
    [0xf0b1, 0xf0b2, 'f312'],
    [0x1234, 0xf0ab, 'f11234ab'],
    [0xf012, 0x1234, 'f2121234'],
    [0x1234, 0x5678, 'f012345678'],
    [0xf0b1, 0xf0c2, 'f1f0b1c2'],
  ];
  for (const [sp, dp, expected] of ports) {
    it(`ports ${sp.toString(16)} -> ${dp.toString(16)}: ${expected} + checksum inline`, () => {
      const p = udpPacket(LL_A, LL_B, sp, dp, Uint8Array.of(9, 8, 7));
      const c = roundTrip(p, EXT);
      assert.equal(toHex(c.frame.subarray(2, c.headerLen)), expected + toHex(p.subarray(46, 48)));
    });
  }
  it('checksum elided only when allowed, and recomputed by the decompressor', () => {
    const p = udpPacket(LL_A, LL_B, 0xf0b1, 0xf0b2, Uint8Array.of(1, 2, 3, 4, 5));
    const c = roundTrip(p, { ...EXT, elideUdpChecksum: true });
    assert.equal(toHex(c.frame.subarray(2, c.headerLen)), 'f712');
    assert.equal(c.headerLen, 4);
  });
  it('a UDP length that does not match the packet keeps UDP inline', () => {
    const s = ip6(LL_A);
    const d = ip6(LL_B);
    const u = udpDatagram(s, d, 1, 2, Uint8Array.of(1, 2));
    const p = ipv6Packet({ src: s, dst: d, payload: Uint8Array.of(...u, 0, 0) });
    const c = roundTrip(p, EXT);
    assert.equal(((c.frame[0] as number) >> 2) & 1, 0, 'NH=0');
    assert.equal(c.frame[2], 17);
  });
  it('nhc: false keeps every next header inline', () => {
    const c = roundTrip(udpPacket(LL_A, LL_B, 0xf0b1, 0xf0b2), { ...EXT, nhc: false });
    assert.equal(c.headerLen, 3);
  });
});

/** An IPv6 packet from LL_A to LL_B with these bytes after the fixed header. */
function withPayload(nextHeader: number, payload: Uint8Array): Uint8Array {
  return ipv6Packet({ src: ip6(LL_A), dst: ip6(LL_B), nextHeader, payload });
}

function udpAfter(headers: Uint8Array, sp = 0xf0b1, dp = 0xf0b2, data = Uint8Array.of(0xaa)): Uint8Array {
  const u = udpDatagram(ip6(LL_A), ip6(LL_B), sp, dp, data);
  return Uint8Array.of(...headers, ...u);
}

describe('LOWPAN_NHC extension headers', () => {
  it('Hop-by-Hop with Router Alert: the trailing PadN is elided, UDP chained', () => {
    const p = withPayload(0, udpAfter(hex('1100050200000100')));
    const c = roundTrip(p, EXT);
    assert.equal(toHex(c.frame.subarray(2, 8)), 'e10405020000', 'EID 0 NH=1, length 4, the option');
    assert.equal(c.frame[8], 0xf3);
  });
  it('Destination Options ending in Pad1, Routing (segments left 0), atomic Fragment: UDP after the fragment stays inline', () => {
    // dest opts: nh=43 len=0 | option 1e len 3 (3 bytes) | Pad1
    const dest = hex('2b001e03aabbcc00');
    const routing = hex('2c01 0000 0000000000000000 00000000'); // type 0, segments left 0
    const frag = hex('1100000012345678');
    const p = withPayload(60, udpAfter(Uint8Array.of(...dest, ...routing, ...frag)));
    const c = roundTrip(p, EXT);
    assert.equal(toHex(c.frame.subarray(2, 9)), 'e7051e03aabbcc', 'EID 3 NH=1, length 5: the Pad1 elided');
    const fragAt = 2 + 1 + 1 + 5 + 1 + 1 + 14;
    assert.equal(c.frame[fragAt], 0xe4, 'EID 2, NH=0');
    assert.equal(toHex(c.frame.subarray(fragAt + 1, fragAt + 9)), toHex(frag), 'next header inline, then the reserved byte and 6 bytes');
  });
  it('PadN with non-zero contents is not elided', () => {
    const p = withPayload(60, udpAfter(hex('1100' + '1e01aa' + '0101ff')));
    const c = roundTrip(p, EXT);
    assert.equal(c.frame[3], 6);
  });
  it('Mobility header (next header 59 inline)', () => {
    const p = withPayload(135, hex('3b01050000001234' + '0000000000000000'));
    const c = roundTrip(p, EXT);
    assert.equal(toHex(c.frame.subarray(2, 5)), 'e83b0e');
  });
  it('Fragment header with more fragments: what follows stays inline', () => {
    const p = withPayload(44, hex('1100000112345678' + 'f0b1f0b20010000001020304050607'));
    const c = roundTrip(p, EXT);
    assert.equal(c.headerLen, 2 + 1 + 7 + 1);
  });
  it('IPv6 in IPv6: the inner header compressed with IIDs from the outer addresses, then UDP', () => {
    const innerSrc = 'fe80::212:4b00:102:304';
    const inner = udpPacket(innerSrc, LL_B, 0xf0b5, 0xf0b6, Uint8Array.of(1, 2, 3));
    const p = ipv6Packet({ src: ip6('2001:db8::212:4b00:102:304'), dst: ip6('2001:db8::11:22ff:fe33:4455'), nextHeader: 41, hopLimit: 63, payload: inner });
    const c = roundTrip(p, EXT);
    // outer: full addresses (no context), NH=1; then EID 7, the inner IPHC with both addresses elided, NHC UDP
    assert.equal(toHex(c.frame.subarray(c.headerLen - 7, c.headerLen)), 'ee7e33f356' + toHex(inner.subarray(46, 48)));
  });
  it('more than 8 chained headers: the rest stays inline', () => {
    let chain: number[] = [];
    for (let i = 0; i < 10; i++) chain = [...chain, i === 9 ? 17 : 60, 0, 1, 4, 0, 0, 0, 0];
    const p = withPayload(60, udpAfter(Uint8Array.from(chain)));
    roundTrip(p, EXT);
  });
  it('ICMPv6 stays inline', () => {
    const c = roundTrip(withPayload(58, hex('8000f00d00010002')), EXT);
    assert.equal(c.frame[2], 58);
  });
});

describe('LOWPAN_IPHC with fragmentation (datagram size from FRAG1)', () => {
  for (const elide of [false, true]) {
    it(`first fragment: lengths from the datagram size; checksum ${elide ? 'elided: pending until reassembled' : 'carried'}`, () => {
      const data = Uint8Array.from({ length: 200 }, (_, i) => i);
      const p = udpPacket(LL_A, LL_B, 0xf0b1, 5683, data);
      const c = compress(p, { ...EXT, elideUdpChecksum: elide });
      const first = c.frame.subarray(0, c.headerLen + 40);
      const d = decompress(first, { ...EXT, datagramSize: p.length });
      assert.equal(d.consumed, c.headerLen);
      assert.equal(d.packet.length, 48 + 40);
      assert.equal(toHex(d.packet.subarray(0, 6)), toHex(p.subarray(0, 6)), 'payload length of the whole datagram');
      assert.equal(toHex(d.packet.subarray(44, 46)), toHex(p.subarray(44, 46)), 'UDP length of the whole datagram');
      const whole = new Uint8Array(p.length);
      whole.set(d.packet);
      whole.set(p.subarray(d.packet.length), d.packet.length);
      if (elide) {
        assert.deepEqual(d.udpChecksumPending, { ipOffset: 0, udpOffset: 40 });
        fillUdpChecksumV6(whole, d.udpChecksumPending?.ipOffset ?? 0, d.udpChecksumPending?.udpOffset ?? 0);
      } else assert.equal(d.udpChecksumPending, undefined);
      assert.equal(toHex(whole), toHex(p));
    });
  }
});

describe('LOWPAN_IPHC faults (returned, never thrown)', () => {
  const ok = compress(udpPacket(LL_A, '2001:db8::1', 0x1234, 0x5678, Uint8Array.of(1)), EXT);
  it('truncated anywhere inside the compressed headers', () => {
    for (let n = 0; n < ok.headerLen; n++) assert.equal(decompressIphc(ok.frame.subarray(0, n), EXT), 'truncated', `cut at ${n}`);
  });
  const cases: [string, string, string][] = [
    ['not IPHC', '41', 'malformed'],
    ['DAC=1 M=0 DAM=00 (reserved)', '7b34', 'malformed'],
    ['M=1 DAC=1 DAM=01 (reserved)', '7b3d', 'malformed'],
    ['unknown context', '7b7300', 'unsupported'],
    ['unknown NHC', '7f3300', 'unsupported'],
    ['reserved EID 5', '7f33ea00', 'unsupported'],
  ];
  for (const [name, bytes, fault] of cases) {
    it(`${name} -> ${fault}`, () => assert.equal(decompressIphc(hex(bytes), EXT), fault));
  }
  it('a datagram size smaller than what is there, or beyond 65535 + 40 -> bad-length', () => {
    assert.equal(decompressIphc(ok.frame, { ...EXT, datagramSize: 40 }), 'bad-length');
    assert.equal(decompressIphc(ok.frame, { ...EXT, datagramSize: 70000 }), 'bad-length');
  });
  it('a chain of more than 8 NHC headers -> unsupported', () => {
    const chain = [0x7e, 0x33];
    for (let i = 0; i < 9; i++) chain.push(0xe7, 0);
    chain.push(0xf3, 0x12, 0, 0);
    assert.equal(decompressIphc(Uint8Array.from(chain), EXT), 'unsupported');
    assert.ok(!isFault(decompressIphc(Uint8Array.from([0x7e, 0x33, 0xe7, 0, 0xf3, 0x12, 0, 0]), EXT)));
  });
  it('compressor faults: short, not IPv6, payload length beyond the buffer, bad link address', () => {
    const p = udpPacket(LL_A, LL_B);
    assert.equal(compressIphc(p.subarray(0, 39), EXT), 'truncated');
    assert.equal(compressIphc(Uint8Array.of(0x45, ...p.subarray(1)), EXT), 'malformed');
    assert.equal(compressIphc(p.subarray(0, p.length - 1), EXT), 'bad-length');
    assert.equal(compressIphc(p, { src: { mode: 'extended', value: new Uint8Array(6) }, dst: EXT_B }), 'unsupported');
    assert.equal(decompressIphc(ok.frame, { src: EXT_A, dst: { mode: 'extended', value: new Uint8Array(2) } }), 'unsupported');
  });
});
