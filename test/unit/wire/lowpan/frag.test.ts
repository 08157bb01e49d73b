/**
 * RFC 4944 §5.3 fragmentation headers: hand-built FRAG1/FRAGN vectors decode and re-encode
 * byte-exact; the 11-bit size, 16-bit tag and 8-octet offset units; short or foreign
 * buffers are faults; `checkLowpanFragRepr` bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../../../src/wire/bytes.ts';
import {
  checkLowpanFragRepr,
  emitLowpanFrag,
  isLowpanFrag1,
  isLowpanFragN,
  lowpanFragLen,
  parseLowpanFrag,
  type LowpanFragRepr,
} from '../../../../src/wire/lowpan/frag.ts';

const hex = (s: string): Uint8Array => fromHex(s) as Uint8Array;

function emit(r: LowpanFragRepr): string {
  const out = new Uint8Array(lowpanFragLen(r));
  assert.equal(emitLowpanFrag(r, out), out.length);
  return toHex(out);
}

describe('6LoWPAN fragmentation headers', () => {
  it('FRAG1: 11000 + 11-bit size + tag', () => {
    // 1280-byte datagram (0x500), tag 0x1234.
    assert.deepEqual(parseLowpanFrag(hex('c5001234 7a33')), { first: true, size: 1280, tag: 0x1234, offset: 0 });
    assert.equal(emit({ first: true, size: 1280, tag: 0x1234, offset: 0 }), 'c5001234');
    assert.equal(emit({ first: true, size: 2047, tag: 0xffff, offset: 0 }), 'c7ffffff');
    assert.deepEqual(parseLowpanFrag(hex('c7ffffff')), { first: true, size: 2047, tag: 0xffff, offset: 0 });
  });

  it('FRAGN: 11100 + size + tag + offset in 8-octet units', () => {
    assert.deepEqual(parseLowpanFrag(hex('e50012340c')), { first: false, size: 1280, tag: 0x1234, offset: 96 });
    assert.equal(emit({ first: false, size: 1280, tag: 0x1234, offset: 96 }), 'e50012340c');
    assert.deepEqual(parseLowpanFrag(hex('e7ff0000ff')), { first: false, size: 2047, tag: 0, offset: 2040 });
    assert.equal(emit({ first: false, size: 2047, tag: 0, offset: 2040 }), 'e7ff0000ff');
  });

  it('dispatch tests and lengths', () => {
    for (let b = 0; b < 256; b++) {
      assert.equal(isLowpanFrag1(b), b >= 0xc0 && b <= 0xc7, `frag1 ${b}`);
      assert.equal(isLowpanFragN(b), b >= 0xe0 && b <= 0xe7, `fragn ${b}`);
    }
    assert.equal(lowpanFragLen({ first: true }), 4);
    assert.equal(lowpanFragLen({ first: false }), 5);
  });

  it('faults: short, empty, not a fragment header', () => {
    assert.equal(parseLowpanFrag(new Uint8Array(0)), 'truncated');
    assert.equal(parseLowpanFrag(hex('c50012')), 'truncated');
    assert.equal(parseLowpanFrag(hex('e5001234')), 'truncated');
    assert.equal(parseLowpanFrag(hex('c8001234')), 'malformed');
    assert.equal(parseLowpanFrag(hex('41001234')), 'malformed');
  });

  it('checkLowpanFragRepr bounds', () => {
    assert.equal(checkLowpanFragRepr({ first: true, size: 1280, tag: 1, offset: 0 }), undefined);
    assert.equal(checkLowpanFragRepr({ first: true, size: 2048, tag: 1, offset: 0 }), 'bad-length');
    assert.equal(checkLowpanFragRepr({ first: true, size: 100, tag: 0x10000, offset: 0 }), 'malformed');
    assert.equal(checkLowpanFragRepr({ first: true, size: 100, tag: 1, offset: 8 }), 'malformed');
    assert.equal(checkLowpanFragRepr({ first: false, size: 100, tag: 1, offset: 12 }), 'bad-length');
    assert.equal(checkLowpanFragRepr({ first: false, size: 100, tag: 1, offset: 104 }), 'bad-length');
    assert.equal(checkLowpanFragRepr({ first: false, size: 2047, tag: 1, offset: 2048 }), 'bad-length');
    assert.equal(checkLowpanFragRepr({ first: false, size: 100, tag: 1, offset: 96 }), undefined);
  });
});
