/**
 * 6LoWPAN fragmentation (RFC 4944 §5.3, RFC 6282 §2): a datagram that fits goes out whole;
 * otherwise FRAG1 carries the whole compressed part and FRAGNs follow at 8-byte boundaries
 * of the uncompressed datagram, every frame within the room; mesh/broadcast prefixes in
 * every frame; sizes beyond 2047 and rooms too small are faults.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toHex } from '../../../../src/wire/bytes.ts';
import { walkLowpanHeaders } from '../../../../src/wire/lowpan/dispatch.ts';
import { lowpanFragment } from '../../../../src/stack/lowpan/fragmenter.ts';

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

function frames(r: Uint8Array[] | string): Uint8Array[] {
  assert.ok(typeof r !== 'string', `fragments: ${String(r)}`);
  return r;
}

describe('lowpanFragment', () => {
  it('a datagram that fits goes out whole, without fragment headers', () => {
    const ch = Uint8Array.of(0x7a, 0x33, 0x3a);
    const out = frames(lowpanFragment({ compressedHeader: ch, headerUncompressedLength: 40, payload: bytes(50), tag: 1, room: 53 }));
    assert.equal(out.length, 1);
    assert.equal(toHex(out[0] as Uint8Array), toHex(Uint8Array.of(...ch, ...bytes(50))));
  });

  it('1280-byte datagram, IPHC header of 7 bytes for 48, room 80: FRAG1 + FRAGNs on 8-byte boundaries', () => {
    const ch = Uint8Array.of(0x7e, 0x77, 0xf0, 0x12, 0x34, 0xab, 0xcd);
    const payload = bytes(1232);
    const out = frames(lowpanFragment({ compressedHeader: ch, headerUncompressedLength: 48, payload, tag: 0xbeef, room: 80 }));
    // FRAG1: 4 + 7 + k, 48 + k a multiple of 8 <= 48 + 69 -> k = 64.
    assert.equal(toHex((out[0] as Uint8Array).subarray(0, 4)), 'c500beef');
    assert.equal((out[0] as Uint8Array).length, 4 + 7 + 64);
    // FRAGN: 5 + 72 bytes (floor(75 / 8) * 8), offsets 112, 184, ...
    let expectOff = 112;
    let total = 112;
    for (const f of out.slice(1)) {
      assert.ok(f.length <= 80);
      const h = walkLowpanHeaders(f);
      assert.ok(typeof h !== 'string' && h.frag !== undefined && !h.frag.first);
      assert.equal(h.frag.offset, expectOff);
      assert.equal(h.frag.size, 1280);
      assert.equal(h.frag.tag, 0xbeef);
      const n = f.length - 5;
      if (f !== out[out.length - 1]) assert.equal(n, 72);
      assert.equal(toHex(f.subarray(5)), toHex(payload.subarray(expectOff - 48, expectOff - 48 + n)));
      expectOff += n;
      total += n;
    }
    assert.equal(total, 1280);
    assert.equal(out.length, 1 + Math.ceil((1280 - 112) / 72));
  });

  it('uncompressed IPv6 (0x41) fragments the same way', () => {
    const ipv6 = bytes(200, 9);
    const out = frames(lowpanFragment({ compressedHeader: Uint8Array.of(0x41), headerUncompressedLength: 0, payload: ipv6, tag: 7, room: 60 }));
    // FRAG1: 4 + 1 + 48 (floor(55 / 8) * 8), FRAGNs 48 bytes (floor(55 / 8) * 8).
    assert.equal(toHex((out[0] as Uint8Array).subarray(0, 5)), 'c0c8000741');
    assert.equal((out[0] as Uint8Array).length, 53);
    assert.deepEqual(out.slice(1).map((f) => f.length - 5), [48, 48, 48, 8]);
  });

  it('prefix headers head every frame and count in the room', () => {
    const mesh = Uint8Array.of(0xb5, 0, 1, 0, 2);
    const out = frames(lowpanFragment({ compressedHeader: Uint8Array.of(0x41), headerUncompressedLength: 0, payload: bytes(300), tag: 2, room: 80, prefix: mesh }));
    for (const f of out) {
      assert.ok(f.length <= 80);
      assert.equal(toHex(f.subarray(0, 5)), toHex(mesh));
      const h = walkLowpanHeaders(f);
      assert.ok(typeof h !== 'string' && h.mesh?.hopsLeft === 5 && h.frag !== undefined);
    }
    const whole = frames(lowpanFragment({ compressedHeader: Uint8Array.of(0x41), headerUncompressedLength: 0, payload: bytes(74), tag: 2, room: 80, prefix: mesh }));
    assert.equal(whole.length, 1);
    assert.equal((whole[0] as Uint8Array).length, 80);
  });

  it('faults: beyond 2047 bytes, rooms too small, bad tag', () => {
    const ch = Uint8Array.of(0x41);
    assert.equal(lowpanFragment({ compressedHeader: ch, headerUncompressedLength: 0, payload: bytes(2048), tag: 1, room: 100 }), 'bad-length');
    assert.ok(Array.isArray(lowpanFragment({ compressedHeader: ch, headerUncompressedLength: 0, payload: bytes(2047), tag: 1, room: 100 })));
    assert.equal(lowpanFragment({ compressedHeader: ch, headerUncompressedLength: 0, payload: bytes(100), tag: 1, room: 12 }), 'bad-length');
    assert.equal(lowpanFragment({ compressedHeader: bytes(30), headerUncompressedLength: 48, payload: bytes(100), tag: 1, room: 33 }), 'bad-length');
    assert.equal(lowpanFragment({ compressedHeader: ch, headerUncompressedLength: 0, payload: bytes(100), tag: 0x10000, room: 50 }), 'malformed');
    assert.equal(lowpanFragment({ compressedHeader: ch, headerUncompressedLength: -1, payload: bytes(100), tag: 1, room: 50 }), 'malformed');
  });
});
