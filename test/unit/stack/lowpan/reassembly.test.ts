/**
 * 6LoWPAN reassembly (RFC 4944 §5.3): FRAG1's compressed part expanded by the caller's
 * decompressor (a stand-in here) or an uncompressed 0x41 datagram; any order; duplicates
 * ignored; conflicting overlaps drop the datagram; fragments beyond datagram_size,
 * misaligned non-final fragments, non-fragments refused and counted; keys (addresses, mesh
 * originator/final, size, tag) kept apart; 60 s timeout through pollAt/poll; memory caps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../../../src/wire/bytes.ts';
import { walkLowpanHeaders, type LowpanHeaders } from '../../../../src/wire/lowpan/dispatch.ts';
import { lowpanFragment } from '../../../../src/stack/lowpan/fragmenter.ts';
import { LowpanReassembler } from '../../../../src/stack/lowpan/reassembly.ts';
import { FAKE_HEADER_LEN, fakeCompress, fakeDatagram, fakeDecompress } from '../../../support/lowpan-frag.ts';

const hex = (s: string): Uint8Array => fromHex(s) as Uint8Array;
const SRC = hex('0011223344556677');
const DST = hex('8899aabbccddeeff');

function split(datagram: Uint8Array, tag: number, room = 80, prefix?: Uint8Array): Uint8Array[] {
  const r = lowpanFragment({ compressedHeader: fakeCompress(datagram), headerUncompressedLength: FAKE_HEADER_LEN, payload: datagram.subarray(FAKE_HEADER_LEN), tag, room, ...(prefix ? { prefix } : {}) });
  assert.ok(typeof r !== 'string');
  return r;
}

function walked(f: Uint8Array): LowpanHeaders {
  const h = walkLowpanHeaders(f);
  assert.ok(typeof h !== 'string');
  return h;
}

function feed(r: LowpanReassembler, frames: Uint8Array[], now = 0, src = SRC, dst = DST): (Uint8Array | string | undefined)[] {
  return frames.map((f) => r.add(src, dst, walked(f), f, now));
}

describe('LowpanReassembler', () => {
  it('in order and in reverse: the original datagram, once', () => {
    const d = fakeDatagram(1280, (i) => (i * 13) & 0xff);
    for (const order of [(x: Uint8Array[]) => x, (x: Uint8Array[]) => [...x].reverse()]) {
      const r = new LowpanReassembler({ decompressFirst: fakeDecompress });
      const out = feed(r, order(split(d, 0x42)));
      const done = out.filter((x) => x instanceof Uint8Array);
      assert.equal(done.length, 1);
      assert.equal(toHex(done[0] as Uint8Array), toHex(d));
      assert.equal(out.filter((x) => typeof x === 'string').length, 0);
      assert.equal(r.inProgress, 0);
      assert.equal(r.bytesHeld, 0);
      assert.equal(r.stats.completed, 1);
    }
  });

  it('uncompressed IPv6 (0x41) needs no decompressor', () => {
    const d = fakeDatagram(300, (i) => i & 0xff);
    const frames = lowpanFragment({ compressedHeader: Uint8Array.of(0x41), headerUncompressedLength: 0, payload: d, tag: 9, room: 70 });
    assert.ok(typeof frames !== 'string');
    const r = new LowpanReassembler();
    const out = feed(r, frames);
    assert.equal(toHex(out[out.length - 1] as Uint8Array), toHex(d));
  });

  it('duplicates are ignored; a conflicting overlap drops the datagram', () => {
    const d = fakeDatagram(400, (i) => (i * 3) & 0xff);
    const frames = split(d, 1);
    const r = new LowpanReassembler({ decompressFirst: fakeDecompress });
    assert.equal(r.add(SRC, DST, walked(frames[1] as Uint8Array), frames[1] as Uint8Array, 0), undefined);
    assert.equal(r.add(SRC, DST, walked(frames[1] as Uint8Array), frames[1] as Uint8Array, 0), undefined);
    const bad = (frames[2] as Uint8Array).slice();
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    assert.equal(r.add(SRC, DST, walked(frames[2] as Uint8Array), frames[2] as Uint8Array, 0), undefined);
    assert.equal(r.add(SRC, DST, walked(bad), bad, 0), 'overlap');
    assert.equal(r.inProgress, 0);
    assert.equal(r.stats.overlaps, 1);
    // The rest alone never completes.
    for (const f of frames.slice(3)) assert.equal(r.add(SRC, DST, walked(f), f, 0), undefined);
    assert.equal(r.stats.completed, 0);
  });

  it('refusals by reason: not a fragment, beyond the size, misaligned, no decompressor, bad decompression', () => {
    const r = new LowpanReassembler({ decompressFirst: fakeDecompress });
    const whole = hex('41 60000000');
    assert.equal(r.add(SRC, DST, walked(whole), whole, 0), 'invalid');
    const beyond = hex('e0281234 04 0102030405060708 09'); // size 40, offset 32, 9 bytes
    assert.equal(r.add(SRC, DST, walked(beyond), beyond, 0), 'beyond-size');
    const misaligned = hex('e0501234 01 01020304050607'); // 7 bytes, not the last
    assert.equal(r.add(SRC, DST, walked(misaligned), misaligned, 0), 'malformed');
    const shortIphc = hex('c0501234 60 0102');
    assert.equal(r.add(SRC, DST, walked(shortIphc), shortIphc, 0), 'decompress');
    const none = new LowpanReassembler();
    const iphc = split(fakeDatagram(200, () => 1), 3)[0] as Uint8Array;
    assert.equal(none.add(SRC, DST, walked(iphc), iphc, 0), 'decompress');
    assert.equal(r.add(hex('01'), DST, walked(beyond), beyond, 0), 'invalid');
    assert.equal(r.add(SRC, DST, walked(beyond), beyond, NaN), 'invalid');
    const zero = hex('e0001234 00 01');
    assert.equal(r.add(SRC, DST, walked(zero), zero, 0), 'invalid');
    assert.deepEqual([r.stats.invalid, r.stats.beyondSize, r.stats.malformed, r.stats.decompress], [4, 1, 1, 1]);
  });

  it('keys: source, destination, size and tag keep datagrams apart; mesh addresses replace link ones', () => {
    const a = fakeDatagram(200, () => 0xaa);
    const b = fakeDatagram(200, () => 0xbb);
    const r = new LowpanReassembler({ decompressFirst: fakeDecompress });
    const fa = split(a, 5);
    const fb = split(b, 5);
    // Interleaved, same tag, different sources.
    const other = hex('0102');
    const out: (Uint8Array | string | undefined)[] = [];
    for (let i = 0; i < fa.length; i++) {
      out.push(r.add(SRC, DST, walked(fa[i] as Uint8Array), fa[i] as Uint8Array, 0));
      out.push(r.add(other, DST, walked(fb[i] as Uint8Array), fb[i] as Uint8Array, 0));
    }
    const done = out.filter((x) => x instanceof Uint8Array).map((x) => toHex(x));
    assert.deepEqual(done, [toHex(a), toHex(b)]);
    // Mesh-under: the same datagram relayed by two neighbours still completes, keyed on originator/final.
    const mesh = hex('b3 0001 0002');
    const fm = split(a, 6, 80, mesh);
    const m = new LowpanReassembler({ decompressFirst: fakeDecompress });
    const res = fm.map((f, i) => m.add(i % 2 === 0 ? hex('0a0a') : hex('0b0b'), hex('0002'), walked(f), f, 0));
    assert.equal(toHex(res[res.length - 1] as Uint8Array), toHex(a));
  });

  it('times out 60 s after the first fragment: pollAt/poll, then the rest is a new datagram', () => {
    const d = fakeDatagram(300, (i) => i & 0xff);
    const frames = split(d, 0x77);
    const r = new LowpanReassembler({ decompressFirst: fakeDecompress });
    assert.equal(r.pollAt(), undefined);
    feed(r, frames.slice(0, 2), 1000);
    assert.equal(r.pollAt(), 61_000);
    assert.deepEqual(r.poll(60_999), []);
    const expired = r.poll(61_000);
    assert.equal(expired.length, 1);
    assert.deepEqual([toHex((expired[0] as { src: Uint8Array }).src), expired[0]?.size, expired[0]?.tag], [toHex(SRC), 300, 0x77]);
    assert.equal(r.inProgress, 0);
    assert.equal(r.stats.timedOut, 1);
    const out = feed(r, frames.slice(2), 62_000);
    assert.ok(out.every((x) => x === undefined));
    const again = feed(r, frames.slice(0, 2), 62_000);
    assert.equal(toHex(again[1] as Uint8Array), toHex(d));
  });

  it('memory caps: the oldest datagram is evicted', () => {
    const r = new LowpanReassembler({ decompressFirst: fakeDecompress, maxDatagrams: 2 });
    const ds = [0, 1, 2].map((t) => fakeDatagram(300, () => t));
    const fs = ds.map((d, t) => split(d, t));
    for (let t = 0; t < 3; t++) feed(r, [fs[t]?.[0] as Uint8Array], t);
    assert.equal(r.inProgress, 2);
    assert.equal(r.stats.evicted, 1);
    const rest2 = feed(r, (fs[2] as Uint8Array[]).slice(1), 5);
    assert.equal(toHex(rest2[rest2.length - 1] as Uint8Array), toHex(ds[2] as Uint8Array));
    const small = new LowpanReassembler({ decompressFirst: fakeDecompress, maxBytes: 100 });
    const out = feed(small, fs[0] as Uint8Array[]);
    assert.ok(out.includes('memory'));
    assert.ok(small.bytesHeld <= 100);
  });
});
