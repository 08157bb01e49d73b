import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../../../src/wire/bytes.ts';
import { canCompressExt, compressNhcExt, decompressNhcExt, isNhcExt, nhcEidOf, nhcEidProtocol } from '../../../../src/wire/lowpan/nhc-ext.ts';

const hex = (t: string): Uint8Array => fromHex(t) as Uint8Array;

describe('LOWPAN_NHC extension-header codec', () => {
  it('1110xxxx is an extension header; EIDs map to Next Header values both ways', () => {
    for (let b = 0; b < 256; b++) assert.equal(isNhcExt(b), b >= 0xe0 && b <= 0xef);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(nhcEidProtocol), [0, 43, 44, 60, 135, -1, -1, 41]);
    assert.deepEqual([0, 43, 44, 60, 135, 41, 17, 58].map(nhcEidOf), [0, 1, 2, 3, 4, 7, -1, -1]);
  });
  // [name, protocol, header, next compressed, compressed, header after decompression]
  const cases: [string, number, string, boolean, string, string][] = [
    ['HBH, trailing PadN(0) elided, an earlier PadN kept', 0, '11000102aaaa0100', false, 'e011 04 0102aaaa', '11000102aaaa0100'],
    ['HBH, trailing Pad1 elided', 0, '11001e03aabbcc00', true, 'e1 05 1e03aabbcc', '11001e03aabbcc00'],
    ['dest opts, trailing PadN with contents kept', 60, '11001e01aa0101ff', true, 'e7 06 1e01aa0101ff', '11001e01aa0101ff'],
    ['dest opts, options only', 60, '11001e04aabbccdd', true, 'e7 06 1e04aabbccdd', '11001e04aabbccdd'],
    ['dest opts, nothing but PadN(6)', 60, '3b00010400000000', false, 'e63b 00', '3b00010400000000'],
    ['routing', 43, '2c020000' + '00'.repeat(20), true, 'e3 16' + '0000' + '00'.repeat(20), '2c020000' + '00'.repeat(20)],
    ['fragment', 44, '1100abcd12345678', false, 'e411 00abcd12345678', '1100abcd12345678'],
    ['mobility', 135, '3b00050000001234', false, 'e83b 06 050000001234', '3b00050000001234'],
  ];
  for (const [name, protocol, header, nextCompressed, compressed, after] of cases) {
    it(name, () => {
      const h = hex(header);
      assert.ok(canCompressExt(protocol, h, 0, h.length));
      const out: number[] = [];
      assert.equal(compressNhcExt(protocol, h, 0, nextCompressed, out), h.length);
      assert.equal(toHex(Uint8Array.from(out)), compressed.replace(/ /g, ''));
      const d = decompressNhcExt(Uint8Array.from(out), 0);
      assert.ok(typeof d !== 'string');
      assert.equal(d.protocol, protocol);
      assert.equal(d.nextCompressed, nextCompressed);
      assert.equal(d.next, out.length);
      const want = hex(after);
      if (nextCompressed) want[0] = 0; // the chain fills the Next Header in
      assert.equal(toHex(d.header), toHex(want));
      for (let n = 1; n < out.length; n++) assert.equal(decompressNhcExt(Uint8Array.from(out.slice(0, n)), 0), 'truncated', `cut at ${n}`);
    });
  }
  it('the decompressor pads to 8 bytes: Pad1 for one byte, PadN otherwise, zeros for routing', () => {
    const header = (t: string): string => toHex((decompressNhcExt(hex(t.replace(/ /g, '')), 0) as { header: Uint8Array }).header);
    assert.equal(header('e011 05 1e03aabbcc'), '11001e03aabbcc00');
    assert.equal(header('e011 04 1e02aabb'), '11001e02aabb0100');
    assert.equal(header('e011 00'), '1100010400000000');
    assert.equal(header('e211 03 aabbcc'), '1100aabbcc000000');
  });
  it('not compressible: EID-less protocols, IPv6, past the end, bodies over 255 bytes; reserved EIDs refused', () => {
    const h = hex('1100000000000000');
    assert.equal(canCompressExt(17, h, 0, 8), false);
    assert.equal(canCompressExt(41, h, 0, 8), false);
    assert.equal(canCompressExt(60, h, 0, 7), false);
    const big = new Uint8Array(264);
    big[1] = 32; // 264 bytes: body 262
    assert.equal(canCompressExt(43, big, 0, big.length), false);
    assert.equal(decompressNhcExt(hex('ea00'), 0), 'unsupported');
    assert.equal(decompressNhcExt(hex('ee00'), 0), 'unsupported');
  });
});
