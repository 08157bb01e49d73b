import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { IsnGenerator } from '../../../src/stack/tcp/isn.ts';
import { RttEstimator } from '../../../src/stack/tcp/rtt.ts';
import { SipHash24 } from '../../../src/stack/tcp/siphash.ts';

describe('SipHash-2-4', () => {
  it('matches the reference test vector (paper appendix A: key 00..0f, message 00..0e)', () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    const msg = Uint8Array.from({ length: 15 }, (_, i) => i);
    const [hi, lo] = new SipHash24(key).hash(msg);
    assert.equal(hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0'), 'a129ca6149be45e5');
  });

  it('matches reference vectors.h entries for message lengths 0, 1 and 8 (key 00..0f, message 00..n-1)', () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    const h = new SipHash24(key);
    const hex = (n: number): string => {
      const [hi, lo] = h.hash(Uint8Array.from({ length: n }, (_, i) => i));
      // vectors.h lists the 8 output bytes little-endian
      const bytes = [lo & 0xff, (lo >>> 8) & 0xff, (lo >>> 16) & 0xff, lo >>> 24, hi & 0xff, (hi >>> 8) & 0xff, (hi >>> 16) & 0xff, hi >>> 24];
      return bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
    };
    assert.equal(hex(0), '310e0edd47db6f72');
    assert.equal(hex(1), 'fd67dc93c539f874');
    assert.equal(hex(8), '6224939a79f5f593');
  });
});

describe('RFC 6528 ISNs', () => {
  const a = new Uint8Array([10, 0, 0, 1]);
  const b = new Uint8Array([10, 0, 0, 2]);
  it('differ per connection identifier, advance with time (4 us ticks), depend on the secret', () => {
    const g = new IsnGenerator(new XorShiftRng(1));
    const x = g.isn(1000, a, 5000, b, 80);
    assert.notEqual(g.isn(1000, a, 5001, b, 80), x, 'another port');
    assert.equal(g.isn(1000, a, 5000, b, 80), x, 'deterministic for the same inputs and time');
    assert.equal((g.isn(1001, a, 5000, b, 80) - x) >>> 0, 250, '1 ms later: +250 ticks');
    assert.notEqual(new IsnGenerator(new XorShiftRng(2)).isn(1000, a, 5000, b, 80), x, 'another secret');
  });
});

describe('RFC 6298 RTO', () => {
  it('initial 1 s; first sample sets SRTT and RTTVAR; smoothing; bounds; back-off; 3 s after a SYN timeout', () => {
    const r = new RttEstimator();
    assert.equal(r.rto, 1000);
    r.sample(100);
    assert.equal(r.srtt, 100);
    assert.equal(r.rttvar, 50);
    assert.equal(r.rto, 300, '100 + 4*50');
    r.sample(100);
    assert.equal(r.rttvar, 37.5);
    assert.equal(r.rto, 250);
    for (let i = 0; i < 50; i++) r.sample(10);
    assert.equal(r.rto, 200, 'clamped to the 200 ms minimum');
    r.backoff();
    assert.equal(r.rto, 400);
    for (let i = 0; i < 20; i++) r.backoff();
    assert.equal(r.rto, 60_000, 'clamped to 60 s');
    const s = new RttEstimator();
    s.afterSynTimeout();
    assert.equal(s.rto, 3000);
  });
});
