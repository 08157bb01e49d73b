/**
 * RFC 4944 §5.2 mesh addressing header and §11.1 broadcast header: hand-built vectors for
 * every V/F combination, the 0xF escape to a Deep Hops Left byte, byte-exact re-encoding,
 * the forwarder's hop decrement in place, faults for short or foreign bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../../../src/wire/bytes.ts';
import {
  checkLowpanMeshRepr,
  decrementLowpanMeshHops,
  emitLowpanBc0,
  emitLowpanMesh,
  isLowpanMesh,
  lowpanMeshLen,
  parseLowpanBc0,
  parseLowpanMesh,
  type LowpanMeshRepr,
} from '../../../../src/wire/lowpan/mesh-header.ts';

const hex = (s: string): Uint8Array => fromHex(s) as Uint8Array;
const EXT_A = hex('0011223344556677');
const EXT_B = hex('8899aabbccddeeff');

function emit(r: LowpanMeshRepr): string {
  const out = new Uint8Array(lowpanMeshLen(r));
  assert.equal(emitLowpanMesh(r, out), out.length);
  return toHex(out);
}

function roundTrip(h: string): LowpanMeshRepr {
  const p = parseLowpanMesh(hex(h));
  assert.ok(typeof p !== 'string', `parses ${h}`);
  assert.equal(p.len, hex(h).length);
  assert.equal(emit(p.repr), h.replace(/ /g, ''));
  return p.repr;
}

describe('6LoWPAN mesh addressing header', () => {
  it('short originator, short final (V=1, F=1)', () => {
    const r = roundTrip('b5 0001 0002');
    assert.equal(r.hopsLeft, 5);
    assert.equal(toHex(r.originator), '0001');
    assert.equal(toHex(r.final), '0002');
  });

  it('extended/extended, extended/short, short/extended', () => {
    const ee = roundTrip('8e 0011223344556677 8899aabbccddeeff');
    assert.equal(ee.hopsLeft, 14);
    assert.equal(toHex(ee.originator), toHex(EXT_A));
    const es = roundTrip('93 0011223344556677 beef');
    assert.deepEqual([es.hopsLeft, es.originator.length, es.final.length], [3, 8, 2]);
    const se = roundTrip('a1 beef 8899aabbccddeeff');
    assert.deepEqual([se.hopsLeft, se.originator.length, se.final.length], [1, 2, 8]);
  });

  it('Deep Hops Left: 0xF escapes to a byte; emitted from 15 up, kept when parsed below 15', () => {
    assert.equal(emit({ hopsLeft: 15, originator: hex('0001'), final: hex('0002') }), 'bf0f00010002');
    assert.equal(emit({ hopsLeft: 200, originator: EXT_A, final: EXT_B }), '8fc8' + toHex(EXT_A) + toHex(EXT_B));
    const deep = roundTrip('bf 03 0001 0002');
    assert.equal(deep.hopsLeft, 3);
    assert.equal(deep.deepHops, true);
    assert.equal(lowpanMeshLen({ hopsLeft: 14, originator: EXT_A, final: EXT_B }), 17);
    assert.equal(lowpanMeshLen({ hopsLeft: 15, originator: EXT_A, final: EXT_B }), 18);
  });

  it('faults: short, not a mesh header', () => {
    assert.equal(parseLowpanMesh(new Uint8Array(0)), 'truncated');
    assert.equal(parseLowpanMesh(hex('b5 0001 00')), 'truncated');
    assert.equal(parseLowpanMesh(hex('bf')), 'truncated');
    assert.equal(parseLowpanMesh(hex('85 0011223344556677 8899aabbccddee')), 'truncated');
    assert.equal(parseLowpanMesh(hex('c5 0001 0002')), 'malformed');
    for (let b = 0; b < 256; b++) assert.equal(isLowpanMesh(b), b >= 0x80 && b <= 0xbf);
  });

  it('checkLowpanMeshRepr', () => {
    assert.equal(checkLowpanMeshRepr({ hopsLeft: 255, originator: EXT_A, final: hex('0001') }), undefined);
    assert.equal(checkLowpanMeshRepr({ hopsLeft: 256, originator: EXT_A, final: hex('0001') }), 'malformed');
    assert.equal(checkLowpanMeshRepr({ hopsLeft: -1, originator: EXT_A, final: hex('0001') }), 'malformed');
    assert.equal(checkLowpanMeshRepr({ hopsLeft: 1, originator: hex('00'), final: hex('0001') }), 'bad-length');
    assert.equal(checkLowpanMeshRepr({ hopsLeft: 1, originator: EXT_A, final: hex('000102') }), 'bad-length');
  });

  it('decrementLowpanMeshHops: in place, forward only while above 0, deep form kept', () => {
    const f = hex('b2 0001 0002 41');
    assert.equal(decrementLowpanMeshHops(f), 1);
    assert.equal(toHex(f), 'b100010002' + '41');
    assert.equal(decrementLowpanMeshHops(f), 0);
    assert.equal(decrementLowpanMeshHops(f), 0);
    assert.equal(toHex(f.subarray(0, 1)), 'b0');
    const d = hex('8f 10 0011223344556677 8899aabbccddeeff');
    assert.equal(decrementLowpanMeshHops(d), 15);
    assert.equal(toHex(d.subarray(0, 2)), '8f0f');
    assert.equal(decrementLowpanMeshHops(d), 14);
    assert.equal(toHex(d.subarray(0, 2)), '8f0e');
    assert.equal(decrementLowpanMeshHops(hex('41')), 'malformed');
    assert.equal(decrementLowpanMeshHops(hex('bf')), 'truncated');
    assert.equal(decrementLowpanMeshHops(new Uint8Array(0)), 'truncated');
  });
});

describe('6LoWPAN broadcast header (BC0)', () => {
  it('0x50 + sequence number', () => {
    assert.deepEqual(parseLowpanBc0(hex('50 2a 41')), { sequence: 42 });
    const out = new Uint8Array(2);
    assert.equal(emitLowpanBc0({ sequence: 0x1ff }, out), 2);
    assert.equal(toHex(out), '50ff');
    assert.equal(parseLowpanBc0(hex('50')), 'truncated');
    assert.equal(parseLowpanBc0(new Uint8Array(0)), 'truncated');
    assert.equal(parseLowpanBc0(hex('51 00')), 'malformed');
  });
});
