/** RFC 6724 source address selection: the §10.1 examples, each rule on its own, the policy table and scopes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from '../../../src/base/ip-address.ts';
import { addressScope, label, precedence, selectSourceAddress, type SourceCandidate } from '../../../src/stack/ipv6-source-select.ts';

const ip = (text: string): Uint8Array => {
  const a = parseIp(text);
  if (a === undefined) throw new Error(`bad test address ${text}`);
  return a;
};

type Extra = Partial<Omit<SourceCandidate, 'addr'>>;
const cand = (text: string, extra: Extra = {}): SourceCandidate => ({ addr: ip(text), ifIndex: 1, deprecated: false, prefixLen: 64, ...extra });

/** The selection, checked in both candidate orders (so that no example passes by the tie-break). */
function pick(dst: string, cands: SourceCandidate[], outIfIndex?: number): string {
  const a = selectSourceAddress(ip(dst), cands, outIfIndex);
  const b = selectSourceAddress(ip(dst), [...cands].reverse(), outIfIndex);
  assert.equal(a, b, `order-independent for ${dst}`);
  assert.ok(a !== undefined);
  return [...a.addr].map((x) => x.toString(16).padStart(2, '0')).join('');
}
const hex = (text: string): string => [...ip(text)].map((x) => x.toString(16).padStart(2, '0')).join('');

describe('RFC 6724 §10.1: Default Source Address Selection, every example', () => {
  it('1. Destination 2001:db8:1::1, candidates 2001:db8:3::1 or fe80::1: 2001:db8:3::1 (prefer appropriate scope)', () => {
    // (the RFC prints the result as 2001:db8::1, which is not a candidate; 2001:db8:3::1 is the one in scope)
    assert.equal(pick('2001:db8:1::1', [cand('2001:db8:3::1'), cand('fe80::1')]), hex('2001:db8:3::1'));
  });

  it('2. Destination ff05::1, candidates 2001:db8:3::1 or fe80::1: 2001:db8:3::1 (prefer appropriate scope)', () => {
    assert.equal(pick('ff05::1', [cand('2001:db8:3::1'), cand('fe80::1')]), hex('2001:db8:3::1'));
  });

  it('3. Destination 2001:db8:1::1, candidates 2001:db8:1::1 (deprecated) or 2001:db8:2::1: 2001:db8:1::1 (prefer same address)', () => {
    assert.equal(pick('2001:db8:1::1', [cand('2001:db8:1::1', { deprecated: true }), cand('2001:db8:2::1')]), hex('2001:db8:1::1'));
  });

  it('4. Destination fe80::1, candidates fe80::2 (deprecated) or 2001:db8:1::1: fe80::2 (prefer appropriate scope)', () => {
    assert.equal(pick('fe80::1', [cand('fe80::2', { deprecated: true }), cand('2001:db8:1::1')]), hex('fe80::2'));
  });

  it('5. Destination 2001:db8:1::1, candidates 2001:db8:1::2 or 2001:db8:3::2: 2001:db8:1::2 (longest matching prefix)', () => {
    assert.equal(pick('2001:db8:1::1', [cand('2001:db8:1::2'), cand('2001:db8:3::2')]), hex('2001:db8:1::2'));
  });

  it('6. Destination 2001:db8:1::1, candidates 2001:db8:1::2 (care-of address) or 2001:db8:3::2 (home address): 2001:db8:3::2 (prefer home address)', () => {
    assert.equal(pick('2001:db8:1::1', [cand('2001:db8:1::2', { careOf: true }), cand('2001:db8:3::2', { home: true })]), hex('2001:db8:3::2'));
  });

  it('7. Destination 2002:c633:6401::1, candidates 2002:c633:6401::d5e3:7953:13eb:22e8 (temporary) or 2001:db8:1::2: the 6to4 one (prefer matching label)', () => {
    assert.equal(pick('2002:c633:6401::1', [cand('2002:c633:6401::d5e3:7953:13eb:22e8', { temporary: true }), cand('2001:db8:1::2')]), hex('2002:c633:6401::d5e3:7953:13eb:22e8'));
    // Matching label alone decides it (not the temporary flag).
    assert.equal(pick('2002:c633:6401::1', [cand('2002:c633:6401::d5e3:7953:13eb:22e8'), cand('2001:db8:1::2', { temporary: true })]), hex('2002:c633:6401::d5e3:7953:13eb:22e8'));
  });

  it('8. Destination 2001:db8:1::d5e3:0:0:1, candidates 2001:db8:1::2 or 2001:db8:1::d5e3:7953:13eb:22e8 (temporary): the temporary one (prefer temporary address)', () => {
    assert.equal(pick('2001:db8:1::d5e3:0:0:1', [cand('2001:db8:1::2'), cand('2001:db8:1::d5e3:7953:13eb:22e8', { temporary: true })]), hex('2001:db8:1::d5e3:7953:13eb:22e8'));
  });
});

describe('RFC 6724 §5: each rule', () => {
  it('rule 2 against multicast scopes: the smallest scope that reaches the group', () => {
    const cs = [cand('2001:db8::1'), cand('fe80::1'), cand('fec0::1')];
    assert.equal(pick('ff01::1', cs), hex('fe80::1'), 'interface-local group: link-local is the smallest at least as large');
    assert.equal(pick('ff02::1', cs), hex('fe80::1'));
    assert.equal(pick('ff05::1', cs), hex('fec0::1'), 'site-local group: the site-local address');
    assert.equal(pick('ff08::1', cs), hex('2001:db8::1'));
    assert.equal(pick('ff0e::1', cs), hex('2001:db8::1'));
    assert.equal(pick('ff0e::1', [cand('fe80::1'), cand('fec0::1')]), hex('fec0::1'), 'none large enough: the largest');
  });

  it('rule 2: a unique-local address is global in scope, so it does not beat a global one on scope', () => {
    // fd00::/8 and 2001:db8::/32 are both global; rule 6 then prefers the ULA for a ULA destination.
    assert.equal(pick('fd00::9', [cand('2001:db8::1'), cand('fd00::1')]), hex('fd00::1'));
    assert.equal(pick('fd00::9', [cand('2001:db8::1'), cand('fe80::1')]), hex('2001:db8::1'));
  });

  it('rule 3: a deprecated address only when nothing preferred is as good', () => {
    assert.equal(pick('2001:db8::9', [cand('2001:db8::1', { deprecated: true }), cand('2001:db8::2')]), hex('2001:db8::2'));
    assert.equal(pick('2001:db8::9', [cand('2001:db8::1', { deprecated: true }), cand('fe80::2')]), hex('2001:db8::1'), 'scope first');
  });

  it('rule 4: an address that is both home and care-of beats a home address', () => {
    assert.equal(pick('2001:db8::9', [cand('2001:db8::1', { home: true }), cand('2001:db8::2', { home: true, careOf: true })]), hex('2001:db8::2'));
  });

  it('rule 5: the outgoing interface, when given', () => {
    const cs = [cand('2001:db8:1::1', { ifIndex: 1 }), cand('2001:db8:2::1', { ifIndex: 2 })];
    assert.equal(pick('2001:db8:1::9', cs, 2), hex('2001:db8:2::1'));
    assert.equal(pick('2001:db8:1::9', cs, 1), hex('2001:db8:1::1'));
    assert.equal(pick('2001:db8:1::9', cs), hex('2001:db8:1::1'), 'without it: longest matching prefix');
  });

  it('rule 6 before rule 8: a matching label beats a longer matching prefix', () => {
    // 2001:0:db8::1 (Teredo, label 5) shares 20 bits with the destination, 3000::1 (label 1, as the destination) 3.
    assert.equal(pick('2001:db8::1', [cand('2001:0:db8::1'), cand('3000::1')]), hex('3000::1'));
    assert.equal(pick('::ffff:192.0.2.9', [cand('::192.0.2.1', { prefixLen: 128 }), cand('::ffff:203.0.113.1', { prefixLen: 96 })]), hex('::ffff:203.0.113.1'));
  });

  it('rule 8: CommonPrefixLen stops at the candidate\'s prefix length (RFC 6724 §2.2)', () => {
    // Both in the destination's /64: 126 and 112 bits in common, but 64 each counted: a tie, the first listed wins.
    const near = cand('2001:db8:1::1:2');
    const far = cand('2001:db8:1::ffff');
    assert.equal(selectSourceAddress(ip('2001:db8:1::1:1'), [far, near]), far);
    assert.equal(selectSourceAddress(ip('2001:db8:1::1:1'), [near, far]), near);
    // With a /128 the whole address counts.
    assert.equal(pick('2001:db8:1::1:1', [cand('2001:db8:1::1:2', { prefixLen: 128 }), far]), hex('2001:db8:1::1:2'));
    // A /48 caps below a 56-bit match.
    assert.equal(selectSourceAddress(ip('2001:db8:1:1::9'), [cand('2001:db8:1:2::1', { prefixLen: 48 }), cand('2001:db8:1:1::1', { prefixLen: 48 })])?.addr[7], 2);
  });

  it('ties keep the first candidate; unusable candidates are skipped; nothing usable gives undefined', () => {
    const a = cand('2001:db8::1');
    const b = cand('2001:db8::2');
    assert.equal(selectSourceAddress(ip('2001:db8:9::1'), [a, b]), a);
    assert.equal(selectSourceAddress(ip('2001:db8:9::1'), [b, a]), b);
    assert.equal(selectSourceAddress(ip('2001:db8:9::1'), []), undefined);
    const bad = [cand('192.0.2.1'), { ...a, prefixLen: 129 }, { ...a, prefixLen: -1 }, { ...a, prefixLen: 1.5 }];
    assert.equal(selectSourceAddress(ip('2001:db8:9::1'), bad), undefined);
    assert.equal(selectSourceAddress(ip('2001:db8:9::1'), [...bad, b]), b);
    assert.equal(selectSourceAddress(ip('192.0.2.1'), [a]), undefined, 'the destination must be 16 bytes');
  });
});

describe('RFC 6724 §2.1 policy table and §3 scopes', () => {
  it('precedence and label of every row of the default table', () => {
    const rows: [string, number, number][] = [
      ['::1', 50, 0],
      ['2001:db8::1', 40, 1],
      ['ff02::1', 40, 1],
      ['::ffff:192.0.2.1', 35, 4],
      ['2002:c633:6401::1', 30, 2],
      ['2001:0:4136:e378::1', 5, 5],
      ['fd12:3456::1', 3, 13],
      ['fc00::1', 3, 13],
      ['::192.0.2.1', 1, 3],
      ['::', 1, 3],
      ['fec0::1', 1, 11],
      ['feff::1', 1, 11],
      ['3ffe::1', 1, 12],
    ];
    for (const [a, p, l] of rows) {
      assert.equal(precedence(ip(a)), p, `precedence of ${a}`);
      assert.equal(label(ip(a)), l, `label of ${a}`);
    }
  });

  it('an IPv4 address counts as IPv4-mapped; other lengths give -1', () => {
    assert.equal(precedence(ip('192.0.2.1')), 35);
    assert.equal(label(ip('192.0.2.1')), 4);
    assert.equal(precedence(new Uint8Array(5)), -1);
    assert.equal(label(new Uint8Array(0)), -1);
  });

  it('scopes', () => {
    const cases: [string, number][] = [
      ['fe80::1', 2], ['febf::1', 2], ['::1', 2], ['fec0::1', 5], ['fd00::1', 14], ['2001:db8::1', 14],
      ['ff01::1', 1], ['ff02::1', 2], ['ff05::1', 5], ['ff08::1', 8], ['ff0e::1', 14], ['ff15::1', 5],
      ['::ffff:127.0.0.1', 2], ['::ffff:169.254.1.1', 2], ['::ffff:10.0.0.1', 14],
      ['127.0.0.1', 2], ['169.254.9.9', 2], ['169.253.9.9', 14], ['192.168.1.1', 14],
    ];
    for (const [a, s] of cases) assert.equal(addressScope(ip(a)), s, a);
    assert.equal(addressScope(new Uint8Array(8)), -1);
  });
});
