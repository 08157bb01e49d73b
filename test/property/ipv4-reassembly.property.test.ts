import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Ipv4Reassembler } from '../../src/stack/ipv4-reassembly.ts';

const HDR = new Uint8Array(20).fill(0x45);

/** Cuts `len` bytes into fragments of 8-aligned sizes (the last may be any size). */
function fragment(len: number, sizes: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let off = 0, i = 0; off < len; i++) {
    const want = Math.max(8, ((sizes[i % sizes.length] as number) >> 3) << 3);
    const n = Math.min(want, len - off);
    out.push([off, n]);
    off += n;
  }
  return out;
}

describe('IPv4 reassembly', () => {
  it('any fragmentation, any order, with duplicates: the exact datagram, once', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 9, maxLength: 4000 }),
      fc.array(fc.integer({ min: 8, max: 1480 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
      (data, sizes, perm) => {
        const frags = fragment(data.length, sizes);
        // One piece covering the whole datagram is not a fragment (offset 0, MF 0).
        fc.pre(frags.length >= 2);
        const order = frags.map((_, i) => i);
        for (let i = order.length - 1; i > 0; i--) {
          const j = (perm[i % perm.length] as number) % (i + 1);
          [order[i], order[j]] = [order[j] as number, order[i] as number];
        }
        // Duplicates of pieces that arrive before the last one: only the final missing
        // piece completes the datagram (a duplicate after completion would start anew).
        const body = order.slice(0, -1);
        const deliveries = [...body.slice(0, 2), ...body, order[order.length - 1] as number];
        const r = new Ipv4Reassembler();
        const results: Uint8Array[] = [];
        for (const k of deliveries) {
          const [off, n] = frags[k] as [number, number];
          const out = r.add(1, 2, 17, 7, off, off + n < data.length, data.subarray(off, off + n), HDR, 0);
          if (out !== undefined) results.push(out);
        }
        assert.equal(results.length, 1, 'completed exactly once');
        assert.deepEqual(results[0], data);
        assert.equal(r.inProgress, 0);
        assert.equal(r.bytesHeld, 0, 'no memory left behind');
      },
    ), { numRuns: 300 });
  });

  it('random fragments never throw and memory stays within the cap', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(70000), fc.boolean(), fc.integer({ min: 0, max: 3000 }), fc.nat(100_000)), { maxLength: 200 }), (ops) => {
      const r = new Ipv4Reassembler({ maxBytes: 32 * 1024, maxDatagrams: 8 });
      for (const [id, off, more, len, t] of ops) {
        r.add(1, 2, 6, id, off, more, new Uint8Array(len), HDR, t);
        r.poll(t);
        assert.ok(r.bytesHeld <= 32 * 1024, `held ${r.bytesHeld}`);
        assert.ok(r.inProgress <= 8);
      }
    }), { numRuns: 300 });
  });
});

describe('IPv4 reassembly: defences', () => {
  it('a partial overlap (teardrop) discards the datagram; an exact duplicate does not', () => {
    const r = new Ipv4Reassembler();
    assert.equal(r.add(1, 2, 17, 1, 0, true, new Uint8Array(16), HDR, 0), undefined);
    assert.equal(r.add(1, 2, 17, 1, 8, false, new Uint8Array(16), HDR, 0), undefined, 'overlaps [8,16)');
    assert.equal(r.stats.overlaps, 1);
    assert.equal(r.inProgress, 0, 'discarded');
    r.add(1, 2, 17, 2, 0, true, new Uint8Array(16), HDR, 0);
    r.add(1, 2, 17, 2, 0, true, new Uint8Array(16), HDR, 0);
    assert.equal(r.add(1, 2, 17, 2, 16, false, new Uint8Array(4), HDR, 0)?.length, 20, 'duplicates tolerated');
  });

  it('a last fragment ending before fragments already held discards the datagram (they must not complete it around a hole)', () => {
    // Regression (found by the 1,000,000-frame robustness run): [0,8) and [24,32) held,
    // then a last fragment [16,24): 24 bytes held for a 24-byte total, with [8,16)
    // missing and [24,32) beyond the end, "completed" into a RangeError.
    const r = new Ipv4Reassembler();
    assert.equal(r.add(1, 2, 17, 6, 0, true, new Uint8Array(8), HDR, 0), undefined);
    assert.equal(r.add(1, 2, 17, 6, 24, true, new Uint8Array(8), HDR, 0), undefined);
    assert.equal(r.add(1, 2, 17, 6, 16, false, new Uint8Array(8), HDR, 0), undefined);
    assert.equal(r.stats.overlaps, 1);
    assert.equal(r.inProgress, 0, 'discarded');
    assert.equal(r.bytesHeld, 0);
  });

  it('ping of death (> 65535 bytes) and misaligned non-final fragments are dropped', () => {
    const r = new Ipv4Reassembler();
    assert.equal(r.add(1, 2, 1, 3, 65528, false, new Uint8Array(100), HDR, 0), undefined);
    assert.equal(r.stats.oversize, 1);
    assert.equal(r.add(1, 2, 1, 4, 0, true, new Uint8Array(13), HDR, 0), undefined);
    assert.equal(r.stats.malformed, 1);
    assert.equal(r.inProgress, 0);
  });

  it('timeout: the datagram expires with its first header for ICMP time exceeded', () => {
    const r = new Ipv4Reassembler({ timeoutMs: 30_000 });
    r.add(5, 6, 17, 9, 0, true, new Uint8Array(16).fill(1), HDR, 1000);
    assert.equal(r.pollAt(), 31_000);
    assert.deepEqual(r.poll(30_999), []);
    const [e] = r.poll(31_000);
    assert.equal(e?.src, 5);
    assert.equal(e?.firstHeader?.length, 28, 'IP header + 8 bytes');
    assert.equal(r.inProgress, 0);
    assert.equal(r.stats.timedOut, 1);
  });

  it('the caller may reuse its frame buffer: fragments are copied', () => {
    const r = new Ipv4Reassembler();
    const buf = new Uint8Array(16).fill(9);
    r.add(1, 2, 17, 5, 0, true, buf, HDR, 0);
    buf.fill(0);
    assert.deepEqual([...(r.add(1, 2, 17, 5, 16, false, new Uint8Array([1]), HDR, 0) ?? [])].slice(0, 16), new Array(16).fill(9));
  });
});
