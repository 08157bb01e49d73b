import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checksumAdjust,
  foldChecksum,
  internetChecksum,
  onesSum,
  pseudoHeaderSumV4,
  pseudoHeaderSumV4Addr,
} from '../../../src/wire/checksum.ts';
import { rd16, wr16 } from '../../../src/wire/bytes.ts';
import { ETH, ETH_IP20, ETH_IPV4_UDP, IP_D, IP_S, RFC1071_EXAMPLE, RFC1071_EXAMPLE_SUM } from './golden.ts';

/** Reference: the RFC 1071 definition, one word at a time with a big accumulator. */
function naiveSum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += ((b[i] ?? 0) << 8) + (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

describe('onesSum / foldChecksum (RFC 1071)', () => {
  it('RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 folds to 0xddf2, checksum 0x220d', () => {
    assert.equal(onesSum(RFC1071_EXAMPLE), RFC1071_EXAMPLE_SUM);
    assert.equal(foldChecksum(onesSum(RFC1071_EXAMPLE)), 0x220d);
    assert.equal(internetChecksum(RFC1071_EXAMPLE), 0x220d);
  });

  it('RFC 1071 §3 example summed in chunks, including odd-length ones with oddStart', () => {
    const b = RFC1071_EXAMPLE;
    assert.equal(onesSum(b, 4, 8, onesSum(b, 0, 4)), 0xddf2);
    // 3 + 5 bytes: the second chunk starts at an odd offset.
    assert.equal(onesSum(b, 3, 8, onesSum(b, 0, 3), true), 0xddf2);
    // byte by byte
    let acc = 0;
    for (let i = 0; i < b.length; i++) acc = onesSum(b, i, i + 1, acc, i % 2 === 1);
    assert.equal(acc, 0xddf2);
  });

  it('pads an odd trailing byte with a zero low byte', () => {
    assert.equal(onesSum(Uint8Array.of(0x12)), 0x1200);
    assert.equal(onesSum(Uint8Array.of(0x12, 0x34, 0x56)), 0x1234 + 0x5600);
  });

  it('empty ranges and all-zero data sum to 0; a checksum of an empty range is 0xffff', () => {
    assert.equal(onesSum(new Uint8Array(0)), 0);
    assert.equal(onesSum(new Uint8Array(10)), 0);
    assert.equal(onesSum(Uint8Array.of(1, 2), 1, 1), 0);
    assert.equal(internetChecksum(new Uint8Array(0)), 0xffff);
  });

  it('clamps out-of-range bounds instead of reading past the buffer', () => {
    const b = Uint8Array.of(0x01, 0x02, 0x03);
    assert.equal(onesSum(b, -5, 100), onesSum(b));
    assert.equal(onesSum(b, 5, 2), 0);
  });

  it('end-around carry: 0xffff + 0x0001 folds to 0x0001; sums of 0xffff stay 0xffff', () => {
    assert.equal(onesSum(Uint8Array.of(0xff, 0xff, 0x00, 0x01)), 0x0001);
    assert.equal(onesSum(new Uint8Array(64).fill(0xff)), 0xffff);
    assert.equal(foldChecksum(0x1ffff), 0xfffe); // 0xffff + 1 -> 0x0001, complemented
  });

  it('foldChecksum folds any accumulator width then complements', () => {
    assert.equal(foldChecksum(0), 0xffff);
    assert.equal(foldChecksum(0xffff), 0);
    assert.equal(foldChecksum(0x1fffe), 0); // 0xfffe + 1 = 0xffff
    assert.equal(foldChecksum(0x2_0000_0000 + 0x1234), ~(0x1234 + 2) & 0xffff);
  });

  it('stays exact for 64 KiB, 1 MiB and beyond of 0xff (worst case for the accumulator; crosses its 1 MiB blocks)', () => {
    for (const n of [65536, 65535, 1 << 20, (1 << 20) + 1, (1 << 21) + 3]) {
      const b = new Uint8Array(n).fill(0xff);
      assert.equal(onesSum(b), naiveSum(b), `n=${n}`);
    }
  });

  it('agrees with the naive definition on pseudo-random buffers of many sizes', () => {
    let x = 0x12345678;
    for (const n of [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1499, 1500, 32768 + 5, 65536, (1 << 20) + 17]) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        b[i] = x & 0xff;
      }
      assert.equal(onesSum(b), naiveSum(b), `n=${n}`);
      for (const start of [0, 1, 2, 3]) {
        assert.equal(onesSum(b, start), naiveSum(b.subarray(start)), `n=${n} start=${start}`);
      }
    }
  });
});

describe('pseudoHeaderSumV4', () => {
  it('equals the sum over the 12 pseudo-header bytes laid out (RFC 768)', () => {
    const ph = Uint8Array.of(...IP_S, ...IP_D, 0, 17, 0x00, 0x0d);
    assert.equal(pseudoHeaderSumV4(IP_S, IP_D, 17, 13), onesSum(ph));
  });

  it('verifies the golden UDP datagram (scapy/tshark): pseudo-header + segment folds to 0', () => {
    const udp = ETH_IPV4_UDP.subarray(ETH_IP20);
    const src = ETH_IPV4_UDP.subarray(ETH + 12, ETH + 16);
    const dst = ETH_IPV4_UDP.subarray(ETH + 16, ETH + 20);
    assert.equal(foldChecksum(onesSum(udp, 0, udp.length, pseudoHeaderSumV4(src, dst, 17, udp.length))), 0);
  });
});

describe('checksumAdjust (RFC 1624 eqn. 3)', () => {
  it('updates the golden IPv4 header checksum after a TTL decrement like a recomputation', () => {
    const hdr = ETH_IPV4_UDP.slice(ETH, ETH_IP20);
    const oldSum = rd16(hdr, 10);
    const oldWord = rd16(hdr, 8); // TTL | protocol
    hdr[8] = (hdr[8] as number) - 1;
    const adjusted = checksumAdjust(oldSum, oldWord, rd16(hdr, 8));
    wr16(hdr, 10, 0);
    assert.equal(adjusted, internetChecksum(hdr));
    wr16(hdr, 10, adjusted);
    assert.equal(internetChecksum(hdr), 0);
  });

  it('RFC 1624 §4 example: eqn. 3 gives 0x0000 where eqn. 2 would give 0xffff', () => {
    // RFC 1624 §4: HC = 0xdd2f, m = 0x5555, m' = 0x3285 -> HC' = 0x0000.
    assert.equal(checksumAdjust(0xdd2f, 0x5555, 0x3285), 0x0000);
  });

  it('an unchanged word leaves a checksum unchanged (except the all-zero corner, documented)', () => {
    for (const c of [0x0001, 0x1234, 0xfffe, 0x0000]) assert.equal(checksumAdjust(c, 0xabcd, 0xabcd), c);
  });
});

describe('pseudoHeaderSumV4Addr', () => {
  it('equals pseudoHeaderSumV4 over the same addresses as bytes (fast-check)', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.nat({ max: 255 }), fc.nat({ max: 0xffff }), (src, dst, proto, len) => {
      const b = (x: number): Uint8Array => Uint8Array.of(x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff);
      assert.equal(pseudoHeaderSumV4Addr(src, dst, proto, len), pseudoHeaderSumV4(b(src), b(dst), proto, len));
    }));
  });
});
