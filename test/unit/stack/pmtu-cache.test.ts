/** RFC 8201 path MTU estimates: only lowered, never below the floor, raised back after ageMs, bounded. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from '../../../src/base/ip-address.ts';
import { PmtuCache } from '../../../src/stack/pmtu-cache.ts';

const ip = (text: string): Uint8Array => parseIp(text) as Uint8Array;
const A = ip('2001:db8::1');
const B = ip('2001:db8::2');
const C = ip('2001:db8::3');
const D = ip('2001:db8::4');

describe('PMTU cache (RFC 8201)', () => {
  it('a Packet Too Big lowers the estimate; a larger or equal one is ignored (RFC 8201 §4)', () => {
    const c = new PmtuCache();
    assert.equal(c.get(A, 0), undefined);
    assert.equal(c.update(A, 1400, 0), true);
    assert.equal(c.get(A, 0), 1400);
    assert.equal(c.update(A, 1450, 1), false);
    assert.equal(c.update(A, 1400, 1), false);
    assert.equal(c.get(A, 1), 1400);
    assert.equal(c.update(A, 1300, 2), true);
    assert.equal(c.get(A, 2), 1300);
    assert.equal(c.get(B, 2), undefined, 'per destination');
  });

  it('below the floor is ignored (RFC 8201 §4: 1280 for IPv6); the floor itself is taken', () => {
    const c = new PmtuCache();
    assert.equal(c.update(A, 1279, 0), false);
    assert.equal(c.get(A, 0), undefined);
    assert.equal(c.update(A, 1280, 0), true);
    assert.equal(c.get(A, 0), 1280);
    const v4 = new PmtuCache({ floor: 68 });
    assert.equal(v4.update(ip('192.0.2.1'), 576, 0), true);
    assert.equal(v4.update(ip('192.0.2.1'), 67, 0), false);
    assert.equal(v4.get(ip('192.0.2.1'), 0), 576);
  });

  it('an estimate lasts ageMs (default 10 minutes, RFC 8201 §5.3) from the report that lowered it, then the link MTU is back', () => {
    const c = new PmtuCache();
    c.update(A, 1400, 1000);
    c.update(A, 1450, 300_000); // ignored: does not refresh the age
    assert.equal(c.get(A, 600_999), 1400);
    assert.equal(c.get(A, 601_000), undefined);
    assert.equal(c.update(A, 1480, 601_000), true, 'after expiry a larger report is an estimate again');
    assert.equal(c.get(A, 601_000), 1480);
    // A lowering restarts the age.
    c.update(A, 1300, 700_000);
    assert.equal(c.get(A, 1_299_999), 1300);
    assert.equal(c.get(A, 1_300_000), undefined);
    const short = new PmtuCache({ ageMs: 5000 });
    short.update(A, 1300, 0);
    assert.equal(short.get(A, 4999), 1300);
    assert.equal(short.get(A, 5000), undefined);
  });

  it('IPv4 and IPv6 destinations are kept apart, also an IPv4 address and its IPv4-mapped form; other lengths are ignored', () => {
    const c = new PmtuCache({ floor: 68 });
    c.update(ip('192.0.2.1'), 1000, 0);
    c.update(ip('::ffff:192.0.2.1'), 1200, 0);
    assert.equal(c.get(ip('192.0.2.1'), 0), 1000);
    assert.equal(c.get(ip('::ffff:192.0.2.1'), 0), 1200);
    assert.equal(c.update(new Uint8Array(6), 1000, 0), false);
    assert.equal(c.get(new Uint8Array(6), 0), undefined);
    assert.equal(c.size, 2);
  });

  it('two destinations whose addresses share a hash are kept apart', () => {
    // Found by search: these two hash alike.
    const x = ip('2001:db8::de:9c9c');
    const y = ip('2001:db8::274:3947');
    const c = new PmtuCache();
    c.update(x, 1400, 0);
    c.update(y, 1300, 0);
    assert.equal(c.get(x, 0), 1400);
    assert.equal(c.get(y, 0), 1300);
    c.update(x, 1350, 1);
    assert.equal(c.get(x, 1), 1350);
    assert.equal(c.get(y, 1), 1300);
  });

  it('the address is copied', () => {
    const c = new PmtuCache();
    const a = A.slice();
    c.update(a, 1400, 0);
    a.fill(0);
    assert.equal(c.get(A, 0), 1400);
  });

  it('bounded: when full, the estimate set longest ago goes', () => {
    const c = new PmtuCache({ maxEntries: 3 });
    c.update(A, 1400, 0);
    c.update(B, 1400, 1);
    c.update(C, 1400, 2);
    c.update(A, 1300, 3); // A lowered: now set most recently
    c.update(D, 1400, 4);
    assert.equal(c.size, 3);
    assert.equal(c.evicted, 1);
    assert.equal(c.get(B, 4), undefined, 'B was set longest ago');
    assert.equal(c.get(A, 4), 1300);
    assert.equal(c.get(C, 4), 1400);
    assert.equal(c.get(D, 4), 1400);
  });

  it('expired estimates make room before a live one is evicted', () => {
    const c = new PmtuCache({ maxEntries: 2, ageMs: 1000 });
    c.update(A, 1400, 0);
    c.update(B, 1400, 500);
    c.update(C, 1400, 1000); // A expired at 1000
    assert.equal(c.evicted, 0);
    assert.equal(c.size, 2);
    assert.equal(c.get(B, 1000), 1400);
    assert.equal(c.get(C, 1000), 1400);
  });

  it('clear() forgets everything; bad arguments are ignored, never thrown', () => {
    const c = new PmtuCache();
    c.update(A, 1400, 0);
    c.clear();
    assert.equal(c.size, 0);
    assert.equal(c.get(A, 0), undefined);
    for (const [dst, mtu, now] of [[A, NaN, 0], [A, 1400.5, 0], [A, 2 ** 32, 0], [A, 1400, NaN], [A, 1400, Infinity]] as const) {
      assert.equal(c.update(dst, mtu, now), false);
    }
    assert.equal(c.size, 0);
    assert.equal(c.update(A, 0xffffffff, 0), true, 'the largest MTU field');
  });
});
