/** RFC 8200 §4.5 IPv6 reassembly: the packet rebuilt, RFC 5722 overlaps, limits, faults, timeout. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIPv6 } from '../../../src/base/ip-address.ts';
import { Ipv6Reassembler } from '../../../src/stack/ipv6-reassembly.ts';

const SRC = parseIPv6('2001:db8::1') as Uint8Array;
const DST = parseIPv6('2001:db8::2') as Uint8Array;

/** An IPv6 header (payload length `plen`, next header `nh`) + `ext` bytes, as the caller passes it. */
function unfrag(plen: number, nh = 17, ext: number[] = []): Uint8Array {
  const b = new Uint8Array(40 + ext.length);
  b[0] = 0x60;
  b[4] = plen >> 8;
  b[5] = plen & 0xff;
  b[6] = ext.length > 0 ? 60 : nh;
  b[7] = 64;
  b.set(SRC, 8);
  b.set(DST, 24);
  b.set(ext, 40);
  return b;
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

const NONE = new Uint8Array(0);

describe('IPv6 reassembly: the rebuilt packet', () => {
  it('fragments out of order: the first fragment\'s unfragmentable part, then the data, payload length rewritten', () => {
    const r = new Ipv6Reassembler();
    // A Destination Options header (next header UDP, 6 bytes of PadN) before the Fragment header.
    const head = unfrag(8 + 8 + 24, 17, [17, 0, 1, 4, 0, 0, 0, 0]);
    const data = bytes(40, 3);
    assert.equal(r.add(SRC, DST, 0x12345678, 24, false, NONE, data.subarray(24), 0), undefined);
    assert.equal(r.add(SRC, DST, 0x12345678, 0, true, head, data.subarray(0, 16), 1), undefined);
    const out = r.add(SRC, DST, 0x12345678, 16, true, unfrag(8 + 8 + 8, 6), data.subarray(16, 24), 2);
    assert.ok(out !== undefined);
    const want = new Uint8Array(48 + 40);
    want.set(head);
    want.set(data, 48);
    want[4] = 0;
    want[5] = 8 + 40; // the Destination Options header + the data
    assert.deepEqual(out, want);
    assert.equal(r.stats.completed, 1);
    assert.equal(r.inProgress, 0);
    assert.equal(r.bytesHeld, 0);
    assert.equal(r.lastFault, undefined);
  });

  it('the largest packet (payload length 65,535) completes; one byte more is oversize', () => {
    const r = new Ipv6Reassembler();
    const data = bytes(65535, 1);
    assert.equal(r.add(SRC, DST, 1, 0, true, unfrag(0), data.subarray(0, 32768), 0), undefined);
    const out = r.add(SRC, DST, 1, 32768, false, NONE, data.subarray(32768), 0);
    assert.equal(out?.length, 40 + 65535);
    assert.equal(out?.[4], 0xff);
    assert.equal(out?.[5], 0xff);
    assert.deepEqual(out?.subarray(40), data);

    assert.equal(r.add(SRC, DST, 2, 32768, false, NONE, new Uint8Array(32768), 0), undefined);
    assert.equal(r.lastFault, 'oversize', 'offset 32768 + 32768 bytes > 65535');
    assert.equal(r.stats.oversize, 1);
  });

  it('the first fragment\'s extension headers count: a packet that would exceed 65,535 with them is oversize, whichever comes first', () => {
    const ext = [17, 0, 1, 4, 0, 0, 0, 0];
    // Last fragment first: [65520, 65535) fits behind a bare header...
    let r = new Ipv6Reassembler();
    assert.equal(r.add(SRC, DST, 3, 65520, false, NONE, new Uint8Array(15), 0), undefined);
    assert.equal(r.lastFault, undefined);
    assert.equal(r.inProgress, 1);
    // ...but not behind 48 bytes of unfragmentable part.
    assert.equal(r.add(SRC, DST, 3, 0, true, unfrag(0, 17, ext), new Uint8Array(8), 0), undefined);
    assert.equal(r.lastFault, 'oversize');
    assert.equal(r.inProgress, 0, 'the packet in progress is discarded');
    assert.equal(r.bytesHeld, 0);
    // First fragment first: the last one is measured with its header.
    r = new Ipv6Reassembler();
    assert.equal(r.add(SRC, DST, 4, 0, true, unfrag(0, 17, ext), new Uint8Array(8), 0), undefined);
    assert.equal(r.add(SRC, DST, 4, 65520, false, NONE, new Uint8Array(15), 0), undefined);
    assert.equal(r.lastFault, 'oversize');
    assert.equal(r.inProgress, 0);
  });

  it('the caller may reuse its buffers: data, unfragmentable part and addresses are copied', () => {
    const r = new Ipv6Reassembler();
    const src = SRC.slice();
    const buf = new Uint8Array(16).fill(9);
    const head = unfrag(24);
    r.add(src, DST, 5, 0, true, head, buf, 0);
    buf.fill(0);
    head.fill(0xee);
    src.fill(0);
    const out = r.add(SRC, DST, 5, 16, false, NONE, Uint8Array.of(1), 0);
    assert.ok(out !== undefined, 'found under the address as it was');
    assert.deepEqual([...out.subarray(40, 56)], new Array(16).fill(9));
    assert.deepEqual(out.subarray(8, 24), SRC);
    assert.equal(out[0], 0x60);
  });

  it('packets are kept apart by source, destination and identification (also when their keys share a hash)', () => {
    const r = new Ipv6Reassembler();
    const other = parseIPv6('2001:db8::3') as Uint8Array;
    // 85108893 and 2685468672 hash alike with these addresses (found by search).
    const ids = [85108893, 2685468672];
    for (const id of ids) r.add(SRC, DST, id, 0, true, unfrag(16), bytes(8, id & 0xff), 0);
    r.add(other, DST, ids[0] as number, 0, true, unfrag(16), bytes(8, 99), 0);
    r.add(SRC, other, ids[0] as number, 0, true, unfrag(16), bytes(8, 98), 0);
    assert.equal(r.inProgress, 4);
    const b = r.add(SRC, DST, ids[1] as number, 8, false, NONE, Uint8Array.of(7), 0);
    assert.deepEqual(b?.subarray(40), Uint8Array.of(...bytes(8, 2685468672 & 0xff), 7));
    const a = r.add(SRC, DST, ids[0] as number, 8, false, NONE, Uint8Array.of(6), 0);
    assert.deepEqual(a?.subarray(40), Uint8Array.of(...bytes(8, 85108893 & 0xff), 6));
    assert.equal(r.inProgress, 2);
  });

  it('an atomic fragment (RFC 6946) is a packet on its own: fragments in progress with its key are left alone', () => {
    const r = new Ipv6Reassembler();
    r.add(SRC, DST, 6, 0, true, unfrag(16), bytes(8, 1), 0);
    const out = r.add(SRC, DST, 6, 0, false, unfrag(99), bytes(5, 2), 0);
    assert.equal(out?.length, 45);
    assert.equal(out?.[5], 5, 'payload length rewritten');
    assert.deepEqual(out?.subarray(40), bytes(5, 2));
    assert.equal(r.inProgress, 1);
    assert.deepEqual(r.add(SRC, DST, 6, 8, false, NONE, Uint8Array.of(1), 0)?.subarray(40), Uint8Array.of(...bytes(8, 1), 1));
  });
});

describe('IPv6 reassembly: overlaps and duplicates (RFC 5722, RFC 8200 §4.5)', () => {
  it('an exact duplicate (same offset, length and bytes) is ignored', () => {
    const r = new Ipv6Reassembler();
    r.add(SRC, DST, 10, 0, true, unfrag(24), bytes(16, 1), 0);
    r.add(SRC, DST, 10, 0, true, unfrag(24), bytes(16, 1), 0);
    assert.equal(r.stats.overlaps, 0);
    assert.equal(r.bytesHeld, 16 + 48, 'held once (data + unfragmentable part and 8 bytes)');
    assert.equal(r.add(SRC, DST, 10, 16, false, NONE, bytes(4, 2), 0)?.length, 40 + 20);
  });

  it('the same range with different bytes is an overlap: the whole packet goes, silently', () => {
    const r = new Ipv6Reassembler();
    r.add(SRC, DST, 11, 0, true, unfrag(24), bytes(16, 1), 0);
    r.add(SRC, DST, 11, 16, true, NONE, bytes(8, 1), 0);
    assert.equal(r.add(SRC, DST, 11, 16, true, NONE, bytes(8, 2), 0), undefined);
    assert.equal(r.stats.overlaps, 1);
    assert.equal(r.lastFault, undefined, 'no ICMPv6 error for an overlap');
    assert.equal(r.inProgress, 0);
    assert.equal(r.bytesHeld, 0);
    // What follows starts a new packet, which the pieces discarded do not complete.
    assert.equal(r.add(SRC, DST, 11, 24, false, NONE, bytes(4, 3), 0), undefined);
    assert.equal(r.inProgress, 1);
  });

  it('a partial overlap discards the packet', () => {
    const r = new Ipv6Reassembler();
    r.add(SRC, DST, 12, 0, true, unfrag(24), bytes(16, 1), 0);
    assert.equal(r.add(SRC, DST, 12, 8, false, NONE, bytes(16, 1), 0), undefined);
    assert.equal(r.stats.overlaps, 1);
    assert.equal(r.inProgress, 0);
  });

  it('two different last fragments, or a last fragment ending before data held, discard the packet', () => {
    const r = new Ipv6Reassembler();
    r.add(SRC, DST, 13, 16, false, NONE, bytes(8, 1), 0);
    assert.equal(r.add(SRC, DST, 13, 32, false, NONE, bytes(8, 1), 0), undefined);
    assert.equal(r.stats.overlaps, 1);
    r.add(SRC, DST, 14, 0, true, unfrag(24), bytes(8, 1), 0);
    r.add(SRC, DST, 14, 24, true, NONE, bytes(8, 1), 0);
    assert.equal(r.add(SRC, DST, 14, 16, false, NONE, bytes(8, 1), 0), undefined, 'ends at 24 with [24, 32) held');
    assert.equal(r.stats.overlaps, 2);
    assert.equal(r.inProgress, 0);
  });

  it('a fragment beyond the end a last fragment declared discards the packet (it must not complete it around a hole)', () => {
    const r = new Ipv6Reassembler();
    r.add(SRC, DST, 15, 16, false, NONE, bytes(8, 1), 0);
    assert.equal(r.add(SRC, DST, 15, 24, true, NONE, bytes(8, 1), 0), undefined);
    assert.equal(r.stats.overlaps, 1);
    assert.equal(r.inProgress, 0);
    // Had [24, 32) been kept, 24 bytes would be held for a 24-byte packet with [8, 16) missing.
    assert.equal(r.add(SRC, DST, 15, 0, true, unfrag(0), bytes(8, 1), 0), undefined);
    assert.equal(r.stats.completed, 0);
  });
});

describe('IPv6 reassembly: faults and malformed input', () => {
  it('a non-final fragment whose length is not a multiple of 8: misaligned (Parameter Problem code 0, pointer 4)', () => {
    const r = new Ipv6Reassembler();
    r.add(SRC, DST, 20, 0, true, unfrag(24), bytes(16, 1), 0);
    assert.equal(r.add(SRC, DST, 20, 16, true, NONE, bytes(12, 1), 0), undefined);
    assert.equal(r.lastFault, 'misaligned');
    assert.equal(r.stats.malformed, 1);
    assert.equal(r.inProgress, 1, 'the packet in progress stays');
    // The next call clears it.
    assert.equal(r.add(SRC, DST, 20, 16, false, NONE, bytes(12, 1), 0)?.length, 40 + 28);
    assert.equal(r.lastFault, undefined);
  });

  it('an empty non-final fragment is dropped silently', () => {
    const r = new Ipv6Reassembler();
    assert.equal(r.add(SRC, DST, 21, 8, true, NONE, NONE, 0), undefined);
    assert.equal(r.lastFault, undefined);
    assert.equal(r.stats.malformed, 1);
    assert.equal(r.inProgress, 0);
  });

  it('bad arguments are dropped and counted, never thrown', () => {
    const r = new Ipv6Reassembler();
    const calls: [Uint8Array, Uint8Array, number, number, boolean, Uint8Array, Uint8Array, number][] = [
      [SRC.subarray(0, 4), DST, 1, 8, true, NONE, bytes(8, 0), 0], // short source
      [SRC, new Uint8Array(17), 1, 8, true, NONE, bytes(8, 0), 0],
      [SRC, DST, -1, 8, true, NONE, bytes(8, 0), 0], // identification out of range
      [SRC, DST, 2 ** 32, 8, true, NONE, bytes(8, 0), 0],
      [SRC, DST, 1, 12, true, NONE, bytes(8, 0), 0], // offset not in 8-byte units
      [SRC, DST, 1, 65536, true, NONE, bytes(8, 0), 0],
      [SRC, DST, 1, 0, true, new Uint8Array(39), bytes(8, 0), 0], // first fragment without an IPv6 header
      [SRC, DST, 1, 8, true, NONE, bytes(8, 0), NaN],
      [SRC, DST, 1.5, 8, true, NONE, bytes(8, 0), 0],
    ];
    for (const c of calls) assert.equal(r.add(...c), undefined);
    assert.equal(r.stats.malformed, calls.length);
    assert.equal(r.inProgress, 0);
    assert.equal(r.lastFault, undefined);
  });
});

describe('IPv6 reassembly: timeout and memory', () => {
  it('a packet expires 60 s after its first fragment arrived, with the first fragment for Time Exceeded', () => {
    const r = new Ipv6Reassembler();
    const head = unfrag(24);
    r.add(SRC, DST, 30, 8, true, NONE, bytes(8, 1), 1000);
    r.add(SRC, DST, 30, 0, true, head, bytes(8, 2), 5000);
    r.add(SRC, DST, 31, 8, true, NONE, bytes(8, 1), 2000);
    assert.equal(r.pollAt(), 61_000, 'from the first arrival, not refreshed by later fragments');
    assert.deepEqual(r.poll(60_999), []);
    const [e] = r.poll(61_000);
    assert.deepEqual(e?.src, SRC);
    assert.deepEqual(e?.dst, DST);
    assert.equal(e?.ident, 30);
    assert.deepEqual(e?.firstFragment, Uint8Array.of(...head, ...bytes(8, 2)), 'unfragmentable part + 8 data bytes');
    assert.equal(r.pollAt(), 62_000);
    const [f] = r.poll(62_000);
    assert.equal(f?.firstFragment, undefined, 'fragment zero never came: no Time Exceeded');
    assert.equal(r.stats.timedOut, 2);
    assert.equal(r.inProgress, 0);
    assert.equal(r.bytesHeld, 0);
    assert.equal(r.pollAt(), undefined);
  });

  it('timeoutMs is an option', () => {
    const r = new Ipv6Reassembler({ timeoutMs: 5000 });
    r.add(SRC, DST, 32, 8, true, NONE, bytes(8, 1), 100);
    assert.equal(r.pollAt(), 5100);
  });

  it('maxDatagrams: a new packet evicts the oldest in progress', () => {
    const r = new Ipv6Reassembler({ maxDatagrams: 2 });
    for (const [id, t] of [[40, 10], [41, 20], [42, 30]] as const) r.add(SRC, DST, id, 0, true, unfrag(0), bytes(8, id), t);
    assert.equal(r.inProgress, 2);
    assert.equal(r.stats.evicted, 1);
    assert.ok(r.add(SRC, DST, 41, 8, false, NONE, bytes(1, 1), 31) !== undefined, '41 was kept');
    assert.equal(r.add(SRC, DST, 40, 8, false, NONE, bytes(1, 1), 32), undefined, '40 was evicted: this starts it anew');
    assert.equal(r.inProgress, 2);
    assert.ok(r.add(SRC, DST, 42, 8, false, NONE, bytes(1, 1), 33) !== undefined, '42 was kept');
  });

  it('maxBytes counts fragment data and the kept unfragmentable parts; a fragment that cannot fit is refused', () => {
    const r = new Ipv6Reassembler({ maxBytes: 200 });
    r.add(SRC, DST, 50, 0, true, unfrag(0), bytes(64, 1), 0);
    assert.equal(r.bytesHeld, 64 + 40 + 8);
    r.add(SRC, DST, 51, 8, true, NONE, bytes(80, 1), 1);
    assert.equal(r.bytesHeld, 112 + 80);
    // 16 more for packet 51 would go beyond 200: the packet is dropped.
    assert.equal(r.add(SRC, DST, 51, 88, true, NONE, bytes(16, 1), 2), undefined);
    assert.equal(r.inProgress, 1);
    assert.equal(r.bytesHeld, 112);
    // A new packet evicts the oldest to fit; one that cannot fit at all is refused.
    r.add(SRC, DST, 52, 8, true, NONE, bytes(96, 1), 3);
    assert.equal(r.inProgress, 1);
    assert.equal(r.bytesHeld, 96);
    assert.equal(r.add(SRC, DST, 53, 8, true, NONE, bytes(208, 1), 4), undefined);
    assert.equal(r.bytesHeld, 0);
    assert.equal(r.inProgress, 0);
    assert.equal(r.stats.evicted, 4);
  });
});
