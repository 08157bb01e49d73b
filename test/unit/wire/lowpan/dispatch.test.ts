/**
 * 6LoWPAN dispatch classification (RFC 4944 §5.1, RFC 6282 §3.1/§5, RFC 8066) for all 256
 * first bytes, and the header walker: mesh, broadcast, fragment, datagram in that order
 * (RFC 4944 §5), where the datagram part starts, and faults for out-of-order, repeated,
 * reserved, unsupported or short headers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../../../src/wire/bytes.ts';
import { lowpanDispatch, walkLowpanHeaders, type LowpanDispatch, type LowpanHeaders } from '../../../../src/wire/lowpan/dispatch.ts';

const hex = (s: string): Uint8Array => fromHex(s) as Uint8Array;

function walk(s: string): LowpanHeaders {
  const r = walkLowpanHeaders(hex(s));
  assert.ok(typeof r !== 'string', `walks ${s}: ${String(r)}`);
  return r;
}

function expected(b: number): LowpanDispatch {
  if (b < 0x40) return 'nalp';
  if (b === 0x40) return 'esc';
  if (b === 0x41) return 'ipv6';
  if (b === 0x42) return 'hc1';
  if (b === 0x50) return 'bc0';
  if (b >= 0x60 && b <= 0x7f) return 'iphc';
  if (b >= 0x80 && b <= 0xbf) return 'mesh';
  if (b >= 0xc0 && b <= 0xc7) return 'frag1';
  if (b >= 0xe0 && b <= 0xe7) return 'fragn';
  return 'reserved';
}

describe('lowpanDispatch', () => {
  it('classifies every first byte', () => {
    for (let b = 0; b < 256; b++) assert.equal(lowpanDispatch(b), expected(b), `0x${b.toString(16)}`);
  });

  it('0x7f is IPHC (RFC 6282 §5 preempted RFC 4944 ESC; ESC is 0x40)', () => {
    assert.equal(lowpanDispatch(0x7f), 'iphc');
    assert.equal(lowpanDispatch(0x40), 'esc');
  });
});

describe('walkLowpanHeaders', () => {
  it('a bare IPHC or uncompressed IPv6 datagram', () => {
    const iphc = walk('7a33 3a');
    assert.deepEqual([iphc.kind, iphc.offset, iphc.mesh, iphc.bc0, iphc.frag], ['iphc', 0, undefined, undefined, undefined]);
    const v6 = walk('41 60000000');
    assert.deepEqual([v6.kind, v6.offset], ['ipv6', 1]);
  });

  it('mesh + BC0 + FRAG1 + IPHC, in order', () => {
    const r = walk('b5 0001 ffff  50 07  c5001234  7a33 3a');
    assert.equal(r.mesh?.hopsLeft, 5);
    assert.equal(toHex(r.mesh?.final ?? new Uint8Array(0)), 'ffff');
    assert.equal(r.bc0?.sequence, 7);
    assert.deepEqual(r.frag, { first: true, size: 1280, tag: 0x1234, offset: 0 });
    assert.deepEqual([r.kind, r.offset], ['iphc', 11]);
  });

  it('FRAG1 + uncompressed IPv6; FRAGN data; mesh + FRAGN', () => {
    const f1 = walk('c0501234 41 6000');
    assert.deepEqual([f1.kind, f1.offset, f1.frag?.size], ['ipv6', 5, 80]);
    const fn = walk('e0501234 05 0102030405');
    assert.deepEqual([fn.kind, fn.offset, fn.frag?.offset], ['fragn', 5, 40]);
    // FRAGN data may start with any byte: it is never taken for a dispatch.
    const fz = walk('e0501234 05 00');
    assert.deepEqual([fz.kind, fz.offset], ['fragn', 5]);
    const mfn = walk('8e 0011223344556677 8899aabbccddeeff e0501234 05 aa');
    assert.deepEqual([mfn.kind, mfn.offset, mfn.mesh?.hopsLeft], ['fragn', 22, 14]);
    const bfn = walk('50 ff e0501234 01');
    assert.deepEqual([bfn.kind, bfn.offset, bfn.bc0?.sequence], ['fragn', 7, 255]);
  });

  it('order violations and repeats are malformed', () => {
    assert.equal(walkLowpanHeaders(hex('50 01 b5 0001 0002 41')), 'malformed'); // mesh after BC0
    assert.equal(walkLowpanHeaders(hex('b5 0001 0002 b5 0001 0002 41')), 'malformed'); // two mesh headers
    assert.equal(walkLowpanHeaders(hex('50 01 50 02 41')), 'malformed'); // two BC0
    assert.equal(walkLowpanHeaders(hex('c0501234 b5 0001 0002')), 'malformed'); // mesh after FRAG1
    assert.equal(walkLowpanHeaders(hex('c0501234 50 01')), 'malformed'); // BC0 after FRAG1
    assert.equal(walkLowpanHeaders(hex('c0501234 c0501234 41')), 'malformed'); // FRAG1 after FRAG1
    assert.equal(walkLowpanHeaders(hex('c8 00')), 'malformed'); // reserved
    assert.equal(walkLowpanHeaders(hex('43 00')), 'malformed');
  });

  it('unsupported: NALP, ESC, HC1 (also after a FRAG1)', () => {
    assert.equal(walkLowpanHeaders(hex('00 01')), 'unsupported');
    assert.equal(walkLowpanHeaders(hex('40 01')), 'unsupported');
    assert.equal(walkLowpanHeaders(hex('42 01')), 'unsupported');
    assert.equal(walkLowpanHeaders(hex('c0501234 42')), 'unsupported');
  });

  it('short frames are truncated', () => {
    assert.equal(walkLowpanHeaders(new Uint8Array(0)), 'truncated');
    assert.equal(walkLowpanHeaders(hex('b5 0001 0002')), 'truncated');
    assert.equal(walkLowpanHeaders(hex('b5 0001')), 'truncated');
    assert.equal(walkLowpanHeaders(hex('50')), 'truncated');
    assert.equal(walkLowpanHeaders(hex('50 01')), 'truncated');
    assert.equal(walkLowpanHeaders(hex('c0501234')), 'truncated');
    assert.equal(walkLowpanHeaders(hex('e0501234')), 'truncated');
  });
});
