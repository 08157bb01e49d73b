import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, rd16, toHex, wr16 } from '../../../../src/wire/bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../../../../src/wire/checksum.ts';
import { compressNhcUdp, decompressNhcUdp, fillUdpChecksumV6, isNhcUdp, nhcUdpLen } from '../../../../src/wire/lowpan/nhc-udp.ts';

describe('LOWPAN_NHC UDP codec', () => {
  it('11110xxx is UDP', () => {
    for (let b = 0; b < 256; b++) assert.equal(isNhcUdp(b), b >= 0xf0 && b <= 0xf7);
  });
  const modes: [number, number, string][] = [
    [0xf0b1, 0xf0b2, 'f312'],
    [0x1234, 0xf0ab, 'f11234ab'],
    [0xf012, 0x1234, 'f2121234'],
    [0x1234, 0x5678, 'f012345678'],
  ];
  for (const [sp, dp, c] of modes) {
    it(`ports ${sp.toString(16)}/${dp.toString(16)} <-> ${c}, every shorter input truncated`, () => {
      const udp = Uint8Array.of(sp >> 8, sp & 0xff, dp >> 8, dp & 0xff, 0, 0, 0xbe, 0xef);
      for (const elide of [false, true]) {
        const out: number[] = [];
        compressNhcUdp(udp, elide, out);
        const want = elide ? `${(parseInt(c.slice(0, 2), 16) | 4).toString(16)}${c.slice(2)}` : `${c}beef`;
        assert.equal(toHex(Uint8Array.from(out)), want);
        assert.equal(nhcUdpLen(sp, dp, elide), out.length);
        const d = decompressNhcUdp(Uint8Array.of(0xaa, ...out, 0x99), 1);
        assert.ok(typeof d !== 'string');
        assert.equal(d.next, 1 + out.length);
        assert.equal(d.checksumElided, elide);
        assert.equal(toHex(d.header), elide ? toHex(udp.subarray(0, 6)) + '0000' : toHex(udp));
        for (let n = 1; n < out.length; n++) assert.equal(decompressNhcUdp(Uint8Array.from(out.slice(0, n)), 0), 'truncated');
      }
    });
  }
  it('fillUdpChecksumV6 computes the pseudo-header checksum; a computed 0 goes out as 0xffff', () => {
    const p = fromHex('6000000000091140' + 'fe80' + '00'.repeat(13) + '01' + 'fe80' + '00'.repeat(13) + '02' + '0001000200090000aa') as Uint8Array;
    fillUdpChecksumV6(p, 0, 40);
    const acc = onesSum(p, 40, 49, pseudoHeaderSumV6(p.subarray(8, 24), p.subarray(24, 40), 17, 9));
    assert.equal(foldChecksum(acc), 0);
    // a source port for which the checksum computes to 0: the field must then be 0xffff
    let found = false;
    for (let port = 0; port <= 0xffff && !found; port++) {
      wr16(p, 40, port);
      wr16(p, 46, 0);
      if (foldChecksum(onesSum(p, 40, 49, pseudoHeaderSumV6(p.subarray(8, 24), p.subarray(24, 40), 17, 9))) !== 0) continue;
      found = true;
      fillUdpChecksumV6(p, 0, 40);
      assert.equal(rd16(p, 46), 0xffff);
    }
    assert.ok(found);
  });
});
