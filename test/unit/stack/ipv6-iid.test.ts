import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipv6FromPrefixAndIid, ipv6LinkLocalFromIid, modifiedEui64 } from '../../../src/base/ip-address.ts';
import { isReservedIid, stableIid } from '../../../src/stack/ipv6-iid.ts';

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
const key = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
const prefix = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2]);
const eth0 = new TextEncoder().encode('eth0');

describe('IPv6 interface identifiers', () => {
  it('modified EUI-64 (RFC 4291 Appendix A: 34-56-78-9A-BC-DE -> 3656:78ff:fe9a:bcde)', () => {
    assert.equal(hex(modifiedEui64(Uint8Array.from([0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde])) ?? new Uint8Array()), '365678fffe9abcde');
    assert.equal(hex(modifiedEui64(Uint8Array.from([0x02, 0, 0, 0, 0, 1])) ?? new Uint8Array()), '000000fffe000001', 'U/L bit inverted');
  });

  it('RFC 7217: stable for the same inputs, unrelated across prefixes, counters, interfaces, networks and keys', () => {
    const base = { key, prefix, netIface: eth0, dadCounter: 0 };
    const a = stableIid(base).iid;
    assert.equal(hex(stableIid(base).iid), hex(a), 'stable');
    const others = [
      stableIid({ ...base, prefix: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 3]) }).iid,
      stableIid({ ...base, dadCounter: 1 }).iid,
      stableIid({ ...base, netIface: new TextEncoder().encode('eth1') }).iid,
      stableIid({ ...base, networkId: new TextEncoder().encode('ssid') }).iid,
      stableIid({ ...base, key: Uint8Array.from({ length: 16 }, (_, i) => i) }).iid,
    ];
    for (const o of others) assert.notEqual(hex(o), hex(a));
    assert.equal(new Set(others.map(hex)).size, others.length);
    assert.throws(() => stableIid({ ...base, key: new Uint8Array(8) }), RangeError);
  });

  it('the identifier looks random: bits balanced over many prefixes, never reserved', () => {
    const ones = new Array<number>(64).fill(0);
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const p = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, i >> 8, i & 0xff, 0, 0]);
      const { iid } = stableIid({ key, prefix: p, netIface: eth0, dadCounter: 0 });
      assert.equal(isReservedIid(iid), false);
      for (let b = 0; b < 64; b++) if (((iid[b >> 3] as number) >> (7 - (b & 7))) & 1) ones[b] = (ones[b] as number) + 1;
    }
    for (const c of ones) assert.ok(c > n * 0.42 && c < n * 0.58, `bit balance ${c}/${n}`);
  });

  it('RFC 5453 reserved identifiers', () => {
    const r = (h: string): boolean => isReservedIid(Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16))));
    assert.equal(r('0000000000000000'), true);
    assert.equal(r('02005efffe000000'), true);
    assert.equal(r('02005efffeffffff'), true);
    assert.equal(r('fdffffffffffff80'), true);
    assert.equal(r('fdffffffffffffff'), true);
    assert.equal(r('fdffffffffffff7f'), false);
    assert.equal(r('02005efffd000000'), false);
    assert.equal(r('0000000000000001'), false);
  });

  it('addresses from a prefix and an identifier', () => {
    const iid = modifiedEui64(Uint8Array.from([0x02, 0, 0, 0, 0, 9])) ?? new Uint8Array(8);
    assert.equal(hex(ipv6LinkLocalFromIid(iid) ?? new Uint8Array()), 'fe80000000000000' + '000000fffe000009');
    assert.equal(hex(ipv6FromPrefixAndIid(prefix, iid) ?? new Uint8Array()), '20010db800010002000000fffe000009');
  });
});
