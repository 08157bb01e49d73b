import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pseudoHeaderSumV4 } from '../../src/wire/checksum.ts';
import { isFault } from '../../src/wire/fault.ts';
import {
  TCP_PROTOCOL,
  TcpView,
  checkTcp,
  emitTcp,
  formatTcp,
  parseTcp,
  tcpHeaderLen,
  tcpPayload,
  tcpSegmentLen,
} from '../../src/wire/tcp.ts';
import type { TcpOptions, TcpRepr } from '../../src/wire/tcp.ts';
import { TCP_MAX_OPTIONS_LEN, formatTcpOptionBytes, tcpOptionsLen } from '../../src/wire/tcp-options.ts';
import { seqAdd, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqMax, seqMin, seqSub } from '../../src/wire/tcp-seq.ts';

const RUNS = { numRuns: 2000 };

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** uint32 biased toward the wrap point and the 2^31 midpoint. */
const seqNum = fc.oneof(
  { weight: 3, arbitrary: u32 },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 64 }).map((d) => (0xffffffff - 32 + d) >>> 0) },
);
const sackBlock = fc.tuple(seqNum, seqNum).map(([l, r]) => [l, r] as const);

/** Any combination of options (absent keys are absent, not undefined), kept within 40 bytes. */
const options: fc.Arbitrary<TcpOptions> = fc
  .record(
    {
      mss: u16,
      windowScale: fc.integer({ min: 0, max: 14 }),
      sackPermitted: fc.constant(true),
      sack: fc.array(sackBlock, { minLength: 1, maxLength: 4 }),
      timestamp: fc.record({ value: seqNum, echo: seqNum }, { noNullPrototype: true }),
    },
    { requiredKeys: [], noNullPrototype: true },
  )
  .filter((o) => tcpOptionsLen(o) <= TCP_MAX_OPTIONS_LEN);

const repr: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: seqNum,
  ack: seqNum,
  flags: fc.integer({ min: 0, max: 0xff }),
  window: u16,
  urgent: u16,
  options,
  payloadLength: fc.constant(0),
}, { noNullPrototype: true });

const addr = fc.uint8Array({ minLength: 4, maxLength: 4 });
const payload = fc.uint8Array({ minLength: 0, maxLength: 96 });

/** Emits into a 0xa5-prefilled buffer with 8 spare bytes; returns the segment. */
function emit(r: TcpRepr, src: Uint8Array, dst: Uint8Array, data: Uint8Array): { seg: Uint8Array; out: Uint8Array; pseudo: number } {
  const len = tcpSegmentLen(r);
  const pseudo = pseudoHeaderSumV4(src, dst, TCP_PROTOCOL, len);
  const out = new Uint8Array(len + 8).fill(0xa5);
  emitTcp(r, out, pseudo, data);
  return { seg: out.subarray(0, len), out, pseudo };
}

describe('tcp codec properties', () => {
  it('round trip: parse(emit(r)) ≡ r, exact header length, nothing written beyond', () => {
    fc.assert(
      fc.property(repr, payload, addr, addr, (r0, data, src, dst) => {
        const r: TcpRepr = { ...r0, payloadLength: data.length };
        const { seg, out, pseudo } = emit(r, src, dst, data);
        const hl = tcpHeaderLen(r);
        assert.equal(hl % 4, 0);
        assert.equal(new TcpView(seg).headerLen, hl);
        assert.equal(seg.length, hl + data.length);
        assert.ok(out.subarray(seg.length).every((b) => b === 0xa5));
        assert.equal(checkTcp(seg), undefined);
        assert.deepEqual(parseTcp(seg, pseudo), r);
        assert.deepEqual(tcpPayload(seg), data);
      }),
      RUNS,
    );
  });

  it('totality on arbitrary bytes: a Repr or a fault, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), u16, fc.boolean(), (buf, pseudo, offload) => {
        const r = parseTcp(buf, pseudo, { checksumOffload: offload });
        if (isFault(r)) {
          assert.ok(['truncated', 'bad-length', 'bad-checksum', 'malformed'].includes(r));
        } else {
          assert.equal(new TcpView(buf).headerLen + r.payloadLength, buf.length);
          formatTcp(r);
        }
        formatTcpOptionBytes(buf);
      }),
      RUNS,
    );
  });

  it('totality on mutated valid segments; whatever parses re-emits to the same Repr', () => {
    const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xff })), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(repr, payload, addr, addr, mutation, fc.nat(), (r0, data, src, dst, muts, cut) => {
        const r: TcpRepr = { ...r0, payloadLength: data.length };
        const { seg } = emit(r, src, dst, data);
        const bad = seg.slice(0, seg.length - (cut % 8 === 0 ? cut % (seg.length + 1) : 0));
        for (const [i, v] of muts) if (bad.length > 0) bad[i % bad.length] = v;
        const pseudo = pseudoHeaderSumV4(src, dst, TCP_PROTOCOL, bad.length);
        const checked = parseTcp(bad, pseudo);
        const p = parseTcp(bad, pseudo, { checksumOffload: true });
        if (!isFault(checked)) assert.deepEqual(checked, p);
        if (isFault(p)) return;
        formatTcp(p);
        // A normal form: the parsed Repr re-emits (when its options fit our aligned layout) to itself.
        if (tcpOptionsLen(p.options) > TCP_MAX_OPTIONS_LEN) return;
        const again = emit(p, src, dst, tcpPayload(bad));
        assert.deepEqual(parseTcp(again.seg, again.pseudo), p);
      }),
      RUNS,
    );
  });
});

describe('tcp sequence arithmetic properties (modulo 2^32)', () => {
  /** A forward distance strictly between 0 and 2^31. */
  const ahead = fc.integer({ min: 1, max: 0x7fffffff });

  it('seqAdd stays uint32 and seqSub inverts it', () => {
    fc.assert(
      fc.property(seqNum, fc.integer({ min: -0x80000000, max: 0x7fffffff }), (a, n) => {
        const b = seqAdd(a, n);
        assert.ok(Number.isInteger(b) && b >= 0 && b <= 0xffffffff);
        assert.equal(seqSub(b, a), n);
        assert.equal(seqAdd(a, seqSub(b, a)), b);
      }),
      RUNS,
    );
  });

  it('b = a + d with 0 < d < 2^31 is after a, across the wrap', () => {
    fc.assert(
      fc.property(seqNum, ahead, (a, d) => {
        const b = seqAdd(a, d);
        assert.ok(seqLt(a, b) && seqLe(a, b) && seqGt(b, a) && seqGe(b, a));
        assert.ok(!seqLt(b, a) && !seqLe(b, a) && !seqGt(a, b) && !seqGe(a, b));
        assert.equal(seqMax(a, b), b);
        assert.equal(seqMin(a, b), a);
        assert.ok(seqLe(a, a) && seqGe(a, a) && !seqLt(a, a) && !seqGt(a, a));
      }),
      RUNS,
    );
  });

  it('comparisons are translation invariant and trichotomous (away from the 2^31 ambiguity)', () => {
    fc.assert(
      fc.property(seqNum, seqNum, u32, (a, b, k) => {
        fc.pre(((a - b) >>> 0) !== 0x80000000);
        const lt = seqLt(a, b);
        const gt = seqGt(a, b);
        const eq = a === b;
        assert.equal(Number(lt) + Number(gt) + Number(eq), 1);
        assert.equal(seqLt(seqAdd(a, k), seqAdd(b, k)), lt);
        assert.equal(seqGe(a, b), !lt);
        assert.equal(seqLe(a, b), !gt);
      }),
      RUNS,
    );
  });

  it('seqInWindow(x, start, len) ⇔ start =< x < start + len, for 0 <= len <= 2^31', () => {
    fc.assert(
      fc.property(seqNum, seqNum, fc.integer({ min: 0, max: 0x80000000 }), (x, start, len) => {
        const expected = len > 0 && seqLe(start, x) && seqLt(x, seqAdd(start, len));
        assert.equal(seqInWindow(x, start, len), expected);
      }),
      RUNS,
    );
  });

  it('window edges: start is in, start + len is out, start + len - 1 is in (len >= 1)', () => {
    fc.assert(
      fc.property(seqNum, fc.integer({ min: 1, max: 0xffffffff }), (start, len) => {
        assert.ok(seqInWindow(start, start, len));
        assert.ok(seqInWindow(seqAdd(start, len - 1), start, len));
        assert.ok(!seqInWindow(seqAdd(start, len), start, len));
        assert.ok(!seqInWindow(start, start, 0));
      }),
      RUNS,
    );
  });
});
