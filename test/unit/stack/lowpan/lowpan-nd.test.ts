/**
 * LowpanNd (RFC 6775 state): router registrations (success, duplicate EUI-64, table full,
 * de-registration, expiry), host registration retries, back-off, answers and refresh at 3/4
 * lifetime, RS back-off, and resolution from interface identifiers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toIpv6 } from '../../../../src/stack/stack.ts';
import { linkAddrFromIid, LowpanNd } from '../../../../src/stack/lowpan/lowpan-nd.ts';
import { toHex } from '../../../../src/wire/bytes.ts';

const PREFIX = toIpv6('2001:db8:1::');
const ADDR = toIpv6('2001:db8:1::5');
const EUI1 = Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 1);
const EUI2 = Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 2);

describe('LowpanNd router', () => {
  it('registers, refuses a second EUI-64 for the address (status 1), accepts the holder refreshing', () => {
    const nd = new LowpanNd({ router: { prefix: PREFIX } });
    assert.deepEqual(nd.register(ADDR, EUI1, EUI1, 10, 0), { status: 0, lifetimeMin: 10 });
    assert.deepEqual(nd.register(ADDR, EUI2, EUI2, 10, 1000), { status: 1, lifetimeMin: 10 });
    assert.equal(nd.stats.duplicates, 1);
    assert.equal(toHex(nd.resolve(ADDR, 1000) ?? new Uint8Array(0)), toHex(EUI1), 'still the first holder');
    assert.equal(nd.register(ADDR, EUI1, EUI1, 10, 2000).status, 0);
    assert.equal(nd.registeredCount, 1);
  });

  it('table full: maxRegistrations 1 gives status 2 to a second address', () => {
    const nd = new LowpanNd({ router: { prefix: PREFIX, maxRegistrations: 1 } });
    assert.equal(nd.register(ADDR, EUI1, EUI1, 10, 0).status, 0);
    assert.equal(nd.register(toIpv6('2001:db8:1::6'), EUI2, EUI2, 10, 0).status, 2);
    assert.equal(nd.stats.tableFull, 1);
    // Once the first expires there is room.
    assert.equal(nd.register(toIpv6('2001:db8:1::6'), EUI2, EUI2, 10, 10 * 60_000).status, 0);
    assert.equal(nd.stats.expired, 1);
  });

  it('de-registration (lifetime 0) frees the address for another EUI-64', () => {
    const nd = new LowpanNd({ router: { prefix: PREFIX } });
    nd.register(ADDR, EUI1, EUI1, 10, 0);
    assert.deepEqual(nd.register(ADDR, EUI1, EUI1, 0, 1000), { status: 0, lifetimeMin: 0 });
    assert.equal(nd.registeredCount, 0);
    assert.equal(nd.resolve(ADDR, 1000), undefined, 'a global address resolves from registrations only');
    assert.equal(nd.register(ADDR, EUI2, EUI2, 10, 2000).status, 0);
  });

  it('entries expire with their lifetime; nextAt names the expiry', () => {
    const nd = new LowpanNd({ router: { prefix: PREFIX } });
    nd.register(ADDR, EUI1, EUI1, 1, 0);
    assert.equal(nd.nextAt(), 60_000);
    nd.expire(59_999);
    assert.equal(nd.registeredCount, 1);
    nd.expire(60_000);
    assert.equal(nd.registeredCount, 0);
    assert.equal(nd.stats.expired, 1);
    assert.equal(nd.register(ADDR, EUI2, EUI2, 1, 60_000).status, 0, 'an expired holder is no duplicate');
  });
});

describe('LowpanNd host', () => {
  it('retries an unanswered NS+ARO 3 times RetransTimer apart, then backs off 10 s doubling to 60 s', () => {
    const nd = new LowpanNd({ registrationLifetimeMin: 1 });
    nd.startRegistration(ADDR, 0);
    const r = nd.registrations[0];
    assert.ok(r !== undefined);
    const at: number[] = [];
    let now = 0;
    for (let i = 0; i < 12; i++) {
      now = r.nextAt;
      nd.sent(r, EUI1, now, 1000);
      at.push(r.nextAt - now);
    }
    assert.deepEqual(at, [1000, 1000, 10_000, 1000, 1000, 20_000, 1000, 1000, 40_000, 1000, 1000, 60_000]);
    assert.equal(nd.stats.nsAroOut, 12);
  });

  it('status 0 registers and schedules the refresh at 3/4 lifetime; unrefreshed it lapses', () => {
    const nd = new LowpanNd({ registrationLifetimeMin: 1 });
    nd.startRegistration(ADDR, 0);
    const r = nd.registrations[0];
    assert.ok(r !== undefined);
    nd.sent(r, EUI1, 0, 1000);
    assert.equal(nd.answered(ADDR, 0, 1, 100)?.outcome, 'registered');
    assert.equal(r.state, 'registered');
    assert.equal(r.nextAt, 100 + 45_000);
    assert.equal(r.until, 100 + 60_000);
    // The refresh goes unanswered: retried fast, never past the registration's end.
    nd.sent(r, EUI1, 45_100, 20_000);
    assert.equal(r.nextAt, 60_100);
    assert.equal(nd.lapsed(60_099).length, 0);
    assert.deepEqual(nd.lapsed(60_100).map((x) => x.state), ['pending']);
  });

  it('status 1 makes the address a duplicate (registration dropped); status 2 retries with back-off', () => {
    const nd = new LowpanNd();
    nd.startRegistration(ADDR, 0);
    assert.equal(nd.answered(ADDR, 2, 60, 0)?.outcome, 'retry');
    assert.equal(nd.registrations[0]?.nextAt, 10_000);
    assert.equal(nd.answered(ADDR, 2, 60, 10_000)?.outcome, 'retry');
    assert.equal(nd.registrations[0]?.nextAt, 30_000);
    assert.equal(nd.answered(ADDR, 1, 60, 30_000)?.outcome, 'duplicate');
    assert.equal(nd.registrations.length, 0);
    assert.equal(nd.answered(ADDR, 0, 60, 30_000), undefined, 'an answer for an unknown address is ignored');
  });

  it('router solicitations back off 10 s doubling to 60 s', () => {
    const nd = new LowpanNd();
    assert.deepEqual(Array.from({ length: 6 }, () => nd.nextRsInterval()), [10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
  });

  it('resolves link-local addresses from their IIDs (EUI-64 and short forms), nothing else', () => {
    assert.equal(toHex(linkAddrFromIid(toIpv6('fe80::0000:0000:0000:0001')) ?? new Uint8Array(0)), '0200000000000001');
    assert.equal(toHex(linkAddrFromIid(toIpv6('fe80::ff:fe00:1234')) ?? new Uint8Array(0)), '1234');
    assert.equal(linkAddrFromIid(ADDR), undefined);
    const nd = new LowpanNd();
    assert.equal(nd.resolve(ADDR, 0), undefined);
    nd.learn(ADDR, EUI2, 0, 1000);
    assert.equal(toHex(nd.resolve(ADDR, 999) ?? new Uint8Array(0)), toHex(EUI2));
    assert.equal(nd.resolve(ADDR, 1000), undefined, 'learned entries expire');
  });
});
