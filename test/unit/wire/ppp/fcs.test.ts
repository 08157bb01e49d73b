/**
 * FCS-16 and FCS-32 (RFC 1662 §C.2, §C.3): the CRC catalogue check values over "123456789"
 * (CRC-16/X-25 0x906E, CRC-32 0xCBF43926), the good residues over data plus appended FCS,
 * chaining across chunks, a bit-by-bit reference on random data, clamped bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import {
  appendFcs,
  FCS16_GOOD,
  FCS16_INIT,
  FCS32_GOOD,
  FCS32_INIT,
  fcs16,
  fcs16Value,
  fcs32,
  fcs32Value,
  fcsGood,
  fcsLength,
} from '../../../../src/wire/ppp/fcs.ts';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Bit-at-a-time reference (RFC 1662's definition, no table). */
function slow(data: Uint8Array, poly: number, init: number): number {
  let f = init;
  for (const b of data) {
    f = (f ^ b) >>> 0;
    for (let i = 0; i < 8; i++) f = f & 1 ? ((f >>> 1) ^ poly) >>> 0 : f >>> 1;
  }
  return f >>> 0;
}

function randomBytes(rng: XorShiftRng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextU32() & 0xff;
  return out;
}

describe('FCS-16', () => {
  it('CRC-16/X-25 check value of "123456789" is 0x906E', () => {
    assert.equal(fcs16Value(ascii('123456789')), 0x906e);
    assert.equal(~fcs16(ascii('123456789')) & 0xffff, 0x906e);
  });
  it('data plus appended FCS (LSB first) leaves the good residue 0xF0B8', () => {
    const buf = new Uint8Array(11);
    buf.set(ascii('123456789'));
    assert.equal(appendFcs(16, buf, 9), 11);
    assert.deepEqual([...buf.subarray(9)], [0x6e, 0x90]);
    assert.equal(fcs16(buf), FCS16_GOOD);
    assert.ok(fcsGood(16, buf));
    buf[3] = (buf[3] as number) ^ 1;
    assert.ok(!fcsGood(16, buf));
  });
  it('the empty range leaves the initial register', () => {
    assert.equal(fcs16(new Uint8Array(0)), FCS16_INIT);
  });
  it('clamps out-of-range bounds', () => {
    const d = ascii('123456789');
    assert.equal(fcs16(d, -5, 100), fcs16(d));
  });
});

describe('FCS-32', () => {
  it('CRC-32 check value of "123456789" is 0xCBF43926', () => {
    assert.equal(fcs32Value(ascii('123456789')), 0xcbf43926);
  });
  it('data plus appended FCS leaves the good residue 0xDEBB20E3', () => {
    const buf = new Uint8Array(13);
    buf.set(ascii('123456789'));
    assert.equal(appendFcs(32, buf, 9), 13);
    assert.deepEqual([...buf.subarray(9)], [0x26, 0x39, 0xf4, 0xcb]);
    assert.equal(fcs32(buf), FCS32_GOOD);
    assert.ok(fcsGood(32, buf));
    buf[0] = (buf[0] as number) ^ 0x80;
    assert.ok(!fcsGood(32, buf));
  });
  it('the empty range leaves the initial register; results are unsigned', () => {
    assert.equal(fcs32(new Uint8Array(0)), FCS32_INIT);
    const rng = new XorShiftRng(7);
    for (let i = 0; i < 50; i++) assert.ok(fcs32(randomBytes(rng, 20)) >= 0);
  });
});

describe('both FCS sizes', () => {
  const cases = [
    { name: 'FCS-16', fcs: fcs16, poly: 0x8408, init: 0xffff },
    { name: 'FCS-32', fcs: fcs32, poly: 0xedb88320, init: 0xffffffff },
  ];
  for (const { name, fcs, poly, init } of cases) {
    it(`${name} chains across chunks and matches the bit-by-bit definition`, () => {
      const rng = new XorShiftRng(1662);
      for (let n = 0; n < 300; n += 7) {
        const d = randomBytes(rng, n);
        const cut = n >> 1;
        assert.equal(fcs(d), slow(d, poly, init));
        assert.equal(fcs(d, cut, n, fcs(d, 0, cut)), fcs(d));
      }
    });
  }

  it('sizes and too-short ranges', () => {
    assert.equal(fcsLength(16), 2);
    assert.equal(fcsLength(32), 4);
    assert.ok(!fcsGood(16, Uint8Array.of(0xb8)));
    assert.ok(!fcsGood(32, Uint8Array.of(1, 2, 3)));
  });
});
