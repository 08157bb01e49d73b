// Golden frames: scapy 2.5.0 + tshark 4.0.17 agree on every byte, ICMPv6 checksums
// `[correct]` (provenance in ./ipv6-golden.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MLDV1_LEN,
  MldRecordType,
  checkMld,
  checkMldIpFields,
  emitMld,
  isMldType,
  mldBufferLen,
  mldv2EncodeMaxResponseCode,
  mldv2EncodeQqic,
  mldv2MaxResponseDelay,
  mldv2QueryInterval,
  parseMld,
  type MldRepr,
} from '../../../src/wire/mld.ts';
import { walkIpv6Extensions } from '../../../src/wire/ipv6.ts';
import { parseIcmpv6 } from '../../../src/wire/icmpv6.ts';
import { fromHex, toHex, wr16, wr8 } from '../../../src/wire/bytes.ts';
import { isFault } from '../../../src/wire/fault.ts';
import {
  ETH,
  ETH_IP6_HBH,
  ETH_MLDV1_DONE,
  ETH_MLDV1_QUERY,
  ETH_MLDV1_REPORT,
  ETH_MLDV2_QUERY,
  ETH_MLDV2_REPORT,
  IP6_ALL_NODES,
  IP6_ALL_ROUTERS,
  IP6_MLDV2_ROUTERS,
  IP6_S,
  IP6_UNSPECIFIED,
  LL_A,
  LL_B,
  SITE_ROUTERS,
  SNM_A,
  canary,
} from './ipv6-golden.ts';

function hex(text: string): Uint8Array {
  const b = fromHex(text);
  if (b === undefined) throw new Error('bad hex');
  return b;
}

const msg = (frame: Uint8Array): Uint8Array => frame.subarray(ETH_IP6_HBH);
const SRC9 = hex('20010db8000000000000000000000009');
const SRCA = hex('20010db800000000000000000000000a');

const CASES: { name: string; frame: Uint8Array; src: Uint8Array; dst: Uint8Array; repr: MldRepr }[] = [
  { name: 'v1 query', frame: ETH_MLDV1_QUERY, src: LL_B, dst: IP6_ALL_NODES, repr: { kind: 'mldv1-query', maxResponseDelay: 10000, group: IP6_UNSPECIFIED } },
  { name: 'v1 report', frame: ETH_MLDV1_REPORT, src: LL_A, dst: SNM_A, repr: { kind: 'mldv1-report', maxResponseDelay: 0, group: SNM_A } },
  { name: 'v1 done', frame: ETH_MLDV1_DONE, src: LL_A, dst: IP6_ALL_ROUTERS, repr: { kind: 'mldv1-done', maxResponseDelay: 0, group: SNM_A } },
  {
    name: 'v2 query',
    frame: ETH_MLDV2_QUERY,
    src: LL_B,
    dst: SITE_ROUTERS,
    repr: { kind: 'mldv2-query', maxResponseCode: 0x8123, group: SITE_ROUTERS, suppressRouterSide: true, qrv: 2, qqic: 125, sources: [SRC9] },
  },
  {
    name: 'v2 report',
    frame: ETH_MLDV2_REPORT,
    src: LL_A,
    dst: IP6_MLDV2_ROUTERS,
    repr: {
      kind: 'mldv2-report',
      records: [
        { recordType: MldRecordType.CHANGE_TO_EXCLUDE, group: SNM_A, sources: [] },
        { recordType: MldRecordType.MODE_IS_INCLUDE, group: SITE_ROUTERS, sources: [SRC9, SRCA] },
      ],
    },
  },
];

const with_ = (b: Uint8Array, f: (x: Uint8Array) => void): Uint8Array => {
  const c = b.slice();
  f(c);
  return c;
};

describe('MLD (RFC 2710, RFC 3810): golden messages', () => {
  it('the frames: Hop-by-Hop Router Alert 0, hop limit 1, link-local source; the walk finds ICMPv6 at 48', () => {
    for (const c of CASES) {
      const pkt = c.frame.subarray(ETH);
      const w = walkIpv6Extensions(pkt);
      assert.deepEqual([w.verdict, w.upperProtocol, w.upperOffset, w.routerAlert], ['ok', 58, 48, 0], c.name);
      assert.equal(checkMldIpFields(msg(c.frame), c.src, pkt[7] as number, w.routerAlert), undefined, c.name);
      assert.deepEqual(pkt.subarray(8, 24), c.src);
      assert.deepEqual(pkt.subarray(24, 40), c.dst);
    }
  });

  it('parse: every golden message field by field', () => {
    for (const c of CASES) {
      assert.equal(checkMld(msg(c.frame)), undefined, c.name);
      assert.deepEqual(parseMld(msg(c.frame), c.src, c.dst), c.repr, c.name);
      assert.ok(isMldType(msg(c.frame)[0] as number));
      // ICMPv6 passes them through as 'other' with a verified checksum
      const o = parseIcmpv6(msg(c.frame), c.src, c.dst);
      assert.ok(!isFault(o) && o.kind === 'other', c.name);
    }
  });

  it('construct: emit writes exactly the golden bytes into a 0xa5 canary', () => {
    for (const c of CASES) {
      const len = mldBufferLen(c.repr);
      assert.equal(len, msg(c.frame).length, c.name);
      const out = canary(len + 8);
      emitMld(c.repr, out, c.src, c.dst);
      assert.equal(toHex(out.subarray(0, len)), toHex(msg(c.frame)), c.name);
      assert.ok(out.subarray(len).every((x) => x === 0xa5), c.name);
    }
  });

  it('MLDv2 codes: max response code 0x8123 = 35096 ms, QQIC 125 = 125 s; exponential forms and encoders', () => {
    assert.equal(mldv2MaxResponseDelay(0x8123), 35096);
    assert.equal(mldv2MaxResponseDelay(10000), 10000);
    assert.equal(mldv2MaxResponseDelay(0x7fff), 32767);
    assert.equal(mldv2MaxResponseDelay(0x8000), 32768);
    assert.equal(mldv2MaxResponseDelay(0xffff), 0x1fff << 10);
    assert.equal(mldv2QueryInterval(125), 125);
    assert.equal(mldv2QueryInterval(0x80), 128);
    assert.equal(mldv2QueryInterval(0xff), 31 << 10);
    for (const ms of [0, 1, 10000, 32767, 32768, 35096, 35100, 1e6, 8387584, 1e9]) {
      const c = mldv2EncodeMaxResponseCode(ms);
      assert.ok(c >= 0 && c <= 0xffff);
      assert.ok(mldv2MaxResponseDelay(c) <= Math.max(ms, 0), `${ms}`);
    }
    assert.equal(mldv2EncodeMaxResponseCode(35096), 0x8123);
    assert.equal(mldv2EncodeMaxResponseCode(35100), 0x8123, 'rounded down');
    assert.equal(mldv2EncodeMaxResponseCode(1e9), 0xffff, 'capped');
    assert.equal(mldv2EncodeMaxResponseCode(-5), 0);
    assert.equal(mldv2EncodeQqic(125), 125);
    assert.equal(mldv2EncodeQqic(130), 0x80);
    assert.equal(mldv2EncodeQqic(1e6), 0xff);
  });

  it('type predicate', () => {
    for (const t of [130, 131, 132, 143]) assert.ok(isMldType(t));
    for (const t of [128, 133, 144, 0]) assert.ok(!isMldType(t));
  });
});

describe('MLD faults and receive rules', () => {
  it('lengths: short messages truncated, queries of 25-27 bytes malformed, counts beyond the message bad-length', () => {
    const q1 = msg(ETH_MLDV1_QUERY);
    for (let n = 0; n < MLDV1_LEN; n++) assert.equal(parseMld(q1.subarray(0, n), LL_B, IP6_ALL_NODES, true), 'truncated', `n=${n}`);
    for (const n of [25, 26, 27]) {
      const q = new Uint8Array(n);
      q.set(q1);
      assert.equal(checkMld(q), 'malformed', `n=${n}`);
    }
    const q2 = msg(ETH_MLDV2_QUERY);
    assert.equal(checkMld(with_(q2, (b) => wr16(b, 26, 2))), 'bad-length', 'two sources announced, one present');
    assert.equal(checkMld(q2.subarray(0, 43)), 'bad-length');
    assert.equal(checkMld(q2.subarray(0, 28)), 'bad-length');
    const r2 = msg(ETH_MLDV2_REPORT);
    assert.equal(checkMld(with_(r2, (b) => wr16(b, 6, 3))), 'bad-length', 'a third record announced');
    assert.equal(checkMld(with_(r2, (b) => wr16(b, 30, 3))), 'bad-length', 'a third source announced');
    assert.equal(checkMld(with_(r2, (b) => wr8(b, 29, 1))), 'bad-length', 'aux data beyond the message');
    for (let n = 8; n < r2.length; n++) assert.equal(checkMld(r2.subarray(0, n)), 'bad-length', `n=${n}`);
    assert.equal(checkMld(r2.subarray(0, 7)), 'truncated');
    for (const n of [8, 23]) assert.equal(checkMld(msg(ETH_MLDV1_REPORT).subarray(0, n)), 'truncated');
  });

  it('other types are unsupported; a bad checksum is detected unless offloaded; the code is ignored', () => {
    assert.equal(parseMld(with_(msg(ETH_MLDV1_QUERY), (b) => wr8(b, 0, 128)), LL_B, IP6_ALL_NODES, true), 'unsupported');
    const bad = with_(msg(ETH_MLDV2_REPORT), (b) => wr8(b, 7, 1));
    assert.equal(parseMld(bad, LL_A, IP6_MLDV2_ROUTERS), 'bad-checksum');
    assert.equal(parseMld(msg(ETH_MLDV1_REPORT), LL_B, SNM_A), 'bad-checksum', 'pseudo-header source');
    const coded = with_(msg(ETH_MLDV1_DONE), (b) => wr8(b, 1, 7));
    assert.deepEqual(parseMld(coded, LL_A, IP6_ALL_ROUTERS, true), CASES[2]?.repr);
  });

  it('auxiliary data is skipped, trailing bytes ignored, unknown record types kept', () => {
    // one record (type 9) with 1 source and 1 word of aux data, then a record with none, then 4 junk bytes
    const m = hex(`
      8f 00 0000 0000 0002
      09 01 0001 ff0200000000000000000001ff000001 20010db8000000000000000000000009 deadbeef
      02 00 0000 ff050000000000000000000000000002
      01020304`);
    const r = parseMld(m, LL_A, IP6_MLDV2_ROUTERS, true);
    assert.deepEqual(r, {
      kind: 'mldv2-report',
      records: [
        { recordType: 9, group: SNM_A, sources: [SRC9] },
        { recordType: MldRecordType.MODE_IS_EXCLUDE, group: SITE_ROUTERS, sources: [] },
      ],
    });
    const q = new Uint8Array(30);
    q.set(msg(ETH_MLDV1_QUERY));
    wr16(q, 26, 0);
    const p = parseMld(q, LL_B, IP6_ALL_NODES, true);
    assert.ok(!isFault(p) && p.kind === 'mldv2-query' && p.sources.length === 0, 'two trailing bytes after a source-less v2 query');
  });

  it('checkMldIpFields: hop limit 1, Router Alert 0, link-local source (reports also from ::)', () => {
    const q = msg(ETH_MLDV1_QUERY);
    const rep = msg(ETH_MLDV2_REPORT);
    assert.equal(checkMldIpFields(q, LL_B, 1, 0), undefined);
    assert.equal(checkMldIpFields(q, LL_B, 2, 0), 'malformed');
    assert.equal(checkMldIpFields(q, LL_B, 1, -1), 'malformed', 'no Router Alert');
    assert.equal(checkMldIpFields(q, LL_B, 1, 1), 'malformed', 'Router Alert not MLD');
    assert.equal(checkMldIpFields(q, IP6_S, 1, 0), 'malformed', 'global source');
    assert.equal(checkMldIpFields(q, IP6_UNSPECIFIED, 1, 0), 'malformed', 'query from ::');
    assert.equal(checkMldIpFields(rep, IP6_UNSPECIFIED, 1, 0), undefined, 'report from :: (RFC 3810 §5.2.13)');
    assert.equal(checkMldIpFields(rep, IP6_S, 1, 0), 'malformed');
  });

  it('emit refuses caller bugs with RangeError', () => {
    assert.throws(() => emitMld(CASES[0]?.repr as MldRepr, new Uint8Array(23), LL_A, IP6_ALL_NODES), RangeError);
    assert.throws(() => emitMld({ kind: 'mldv1-report', maxResponseDelay: 0, group: new Uint8Array(4) }, new Uint8Array(24), LL_A, SNM_A), RangeError);
    assert.throws(
      () => emitMld({ kind: 'mldv2-report', records: [{ recordType: 1, group: SNM_A, sources: [new Uint8Array(15)] }] }, new Uint8Array(64), LL_A, SNM_A),
      RangeError,
    );
  });
});
