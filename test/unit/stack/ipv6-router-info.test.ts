/** RFC 4861 §6.3.4, RFC 4862 §5.5.3 and RFC 8106 processing of Router Advertisements. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RouterInfo, type RaInfo, type RaPrefix } from '../../../src/stack/ipv6-router-info.ts';
import { isFault } from '../../../src/wire/fault.ts';
import { emitIcmpv6, icmpv6BufferLen, parseIcmpv6 } from '../../../src/wire/icmpv6.ts';

const ip6 = (...words: number[]): Uint8Array => {
  const a = new Uint8Array(16);
  words.forEach((w, i) => { a[i * 2] = w >> 8; a[i * 2 + 1] = w & 0xff; });
  return a;
};
const ROUTER = ip6(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const P1 = ip6(0x2001, 0xdb8, 1, 2);
const DNS1 = ip6(0x2001, 0xdb8, 1, 2, 0, 0, 0, 0x53);
const H = 3600;

function ra(over: Partial<RaInfo> = {}, prefixes: RaPrefix[] = []): RaInfo {
  return { source: ROUTER, hopLimit: 64, managed: false, other: false, routerLifetime: 1800, reachableTime: 0, retransTimer: 0, prefixes, ...over };
}
const pio = (over: Partial<RaPrefix> = {}): RaPrefix => ({ prefix: P1, prefixLen: 64, onLink: true, autonomous: true, validLifetime: 24 * H, preferredLifetime: 4 * H, ...over });

describe('Router Advertisement processing', () => {
  it('learns the default router, on-link prefix, a SLAAC prefix, link parameters and RDNSS', () => {
    const r = new RouterInfo();
    const res = r.receive(ra({ reachableTime: 20_000, retransTimer: 500, mtu: 1400, other: true, rdnss: [{ servers: [DNS1], lifetime: 600 }] }, [pio()]), 0);
    assert.deepEqual(r.defaultRouters(), [ROUTER]);
    assert.equal(r.isOnLink(ip6(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9)), true);
    assert.equal(r.isOnLink(ip6(0x2001, 0xdb8, 1, 3, 9)), false);
    assert.equal(r.isOnLink(ip6(0xfe80, 0, 0, 0, 1)), true, 'link-local is always on-link');
    assert.equal(res.slaac.length, 1);
    assert.equal(res.slaac[0]?.created, true);
    assert.equal(res.slaac[0]?.validUntil, 24 * H * 1000);
    assert.equal(res.slaac[0]?.preferredUntil, 4 * H * 1000);
    assert.deepEqual([res.curHopLimit, res.reachableTime, res.retransTimer, res.mtu, res.other, res.dnsChanged], [64, 20_000, 500, 1400, true, true]);
    assert.deepEqual(r.dnsServers(), [DNS1]);
  });

  it('ignores the link-local prefix, preferred > valid, non-/64 SLAAC prefixes and MTUs below 1280', () => {
    const r = new RouterInfo();
    const res = r.receive(ra({ mtu: 1000 }, [
      pio({ prefix: ip6(0xfe80), prefixLen: 64 }),
      pio({ prefix: ip6(0x2001, 0xdb8, 9), preferredLifetime: 10, validLifetime: 5 }),
      pio({ prefix: ip6(0x2001, 0xdb8, 8), prefixLen: 56 }),
    ]), 0);
    assert.equal(res.slaac.length, 0);
    assert.equal(res.mtu, undefined);
  });

  it('RFC 4862 §5.5.3 (e): the two-hour rule', () => {
    const r = new RouterInfo();
    r.receive(ra({}, [pio({ validLifetime: 24 * H })]), 0);
    // A (possibly forged) RA with a short valid lifetime: cut to 2 hours, not to 60 s.
    let s = r.receive(ra({}, [pio({ validLifetime: 60, preferredLifetime: 30 })]), 1000).slaac[0];
    assert.equal(s?.created, false);
    assert.equal(s?.validUntil, 1000 + 2 * H * 1000);
    assert.equal(s?.preferredUntil, 1000 + 30_000, 'the preferred lifetime is taken as received');
    // Remaining <= 2 h: a shorter received lifetime is ignored.
    s = r.receive(ra({}, [pio({ validLifetime: 60, preferredLifetime: 30 })]), 2000).slaac[0];
    assert.equal(s?.validUntil, 1000 + 2 * H * 1000);
    // Longer than the remaining time: taken.
    s = r.receive(ra({}, [pio({ validLifetime: 3 * H, preferredLifetime: H })]), 3000).slaac[0];
    assert.equal(s?.validUntil, 3000 + 3 * H * 1000);
    // Valid lifetime 0 for an unknown prefix: nothing created.
    assert.equal(r.receive(ra({}, [pio({ prefix: ip6(0x2001, 0xdb8, 5), validLifetime: 0, preferredLifetime: 0 })]), 4000).slaac.length, 0);
  });

  it('expiry: router lifetime, deprecation at the preferred lifetime, removal at the valid lifetime, RDNSS lifetime', () => {
    const r = new RouterInfo();
    r.receive(ra({ routerLifetime: 100, rdnss: [{ servers: [DNS1], lifetime: 50 }] }, [pio({ validLifetime: 300, preferredLifetime: 200 })]), 0);
    assert.equal(r.pollAt(), 50_000);
    let p = r.poll(50_000);
    assert.equal(p.dnsChanged, true);
    assert.deepEqual(r.dnsServers(), []);
    p = r.poll(100_000);
    assert.deepEqual(p.routersExpired, [ROUTER]);
    assert.deepEqual(r.defaultRouters(), []);
    p = r.poll(200_000);
    assert.deepEqual(p.slaacDeprecated.map((x) => x[7]), [2]);
    assert.equal(r.poll(250_000).slaacDeprecated.length, 0, 'reported once');
    p = r.poll(300_000);
    assert.deepEqual(p.slaacExpired.map((x) => x[7]), [2]);
    assert.equal(r.isOnLink(ip6(0x2001, 0xdb8, 1, 2, 1)), false, 'the on-link prefix expired too');
    assert.equal(r.pollAt(), undefined);
  });

  it('router lifetime 0 removes the router; RDNSS lifetime 0 removes the server; infinite lifetimes never expire; bounded lists', () => {
    const r = new RouterInfo({ maxEntries: 2 });
    r.receive(ra({ rdnss: [{ servers: [DNS1], lifetime: 0xffffffff }] }, [pio({ validLifetime: 0xffffffff, preferredLifetime: 0xffffffff })]), 0);
    assert.equal(r.pollAt(), 1_800_000, 'only the router lifetime is finite');
    r.receive(ra({ routerLifetime: 0, rdnss: [{ servers: [DNS1], lifetime: 0 }] }), 10);
    assert.deepEqual(r.defaultRouters(), []);
    assert.deepEqual(r.dnsServers(), []);
    for (let i = 2; i < 6; i++) r.receive(ra({ source: ip6(0xfe80, 0, 0, 0, 0, 0, 0, i) }), 20);
    assert.equal(r.defaultRouters().length, 2);
    r.removeRouter(ip6(0xfe80, 0, 0, 0, 0, 0, 0, 2));
    assert.equal(r.defaultRouters().length, 1);
  });
});

describe('Router Advertisement processing from the wire codec', () => {
  it("takes a parsed 'router-advert' and its options as they come: encode, parse, receive", () => {
    const dst = ip6(0xff02, 0, 0, 0, 0, 0, 0, 1);
    const repr = {
      kind: 'router-advert' as const, hopLimit: 64, managed: false, other: true, routerPreference: 0, routerLifetime: 1800,
      reachableTime: 0, retransTimer: 0,
      options: {
        sourceLinkAddr: Uint8Array.from([2, 0, 0, 0, 0, 1]), mtu: 1480,
        prefixes: [{ prefix: P1, prefixLen: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400 }],
        rdnss: [{ lifetime: 600, servers: [DNS1] }],
      },
    };
    const buf = new Uint8Array(icmpv6BufferLen(repr));
    emitIcmpv6(repr, buf, ROUTER, dst);
    const parsed = parseIcmpv6(buf, ROUTER, dst);
    assert.ok(!isFault(parsed) && parsed.kind === 'router-advert', JSON.stringify(parsed));
    const r = new RouterInfo();
    const res = r.receive({ ...parsed, ...parsed.options, source: ROUTER }, 0);
    assert.deepEqual(r.defaultRouters(), [ROUTER]);
    assert.equal(res.slaac[0]?.created, true);
    assert.equal(res.mtu, 1480);
    assert.equal(res.other, true);
    assert.deepEqual(r.dnsServers(), [DNS1]);
  });
});
