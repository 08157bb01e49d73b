/**
 * Random operation sequences against the IPv6 host state machines (neighbor cache,
 * Router Advertisement state, DAD): they never throw, stay within their bounds, and
 * `pollAt()` is honest (polling at it never leaves work that was due).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NeighborCache } from '../../src/stack/neighbor-cache.ts';
import { RouterInfo } from '../../src/stack/ipv6-router-info.ts';
import { DuplicateAddressDetection } from '../../src/stack/ipv6-dad.ts';

const addrArb = fc.integer({ min: 0, max: 11 }).map((i) => Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, i >> 8, i]));
const macArb = fc.integer({ min: 0, max: 3 }).map((i) => Uint8Array.from([2, 0, 0, 0, 0, i]));

describe('IPv6 state machines under random operations', () => {
  it('neighbor cache: bounded, never throws, pollAt honest, every queued packet comes back exactly once or stays queued', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('resolve' as const), a: addrArb, dt: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ k: fc.constant('learn' as const), a: addrArb, m: macArb, r: fc.boolean(), dt: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ k: fc.constant('na' as const), a: addrArb, m: fc.option(macArb, { nil: undefined }), s: fc.boolean(), o: fc.boolean(), r: fc.boolean(), dt: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ k: fc.constant('confirm' as const), a: addrArb, dt: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ k: fc.constant('forget' as const), a: addrArb, dt: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ k: fc.constant('poll' as const), dt: fc.integer({ min: 0, max: 40_000 }) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const c = new NeighborCache<number>({ maxEntries: 6, maxPending: 3, reachableTimeMs: 5000, staleLifetimeMs: 60_000 });
      let now = 0;
      let next = 0;
      // Model: the packets waiting per address, oldest first.
      const model = new Map<number, number[]>();
      const keyOf = (a: Uint8Array): number => a[15] as number;
      const back = (a: Uint8Array, ps: readonly number[]): void => {
        assert.deepEqual([...ps], model.get(keyOf(a)) ?? [], `packets handed back for address ${keyOf(a)}`);
        model.delete(keyOf(a));
      };
      const pollTo = (at: number): void => {
        const r = c.poll(at);
        for (const f of r.failed) back(f.addr, f.pending);
      };
      for (const o of ops) {
        now += o.dt;
        // Work due before `now` is done at its own time, as the runner would.
        for (let at = c.pollAt(); at !== undefined && at <= now; at = c.pollAt()) {
          pollTo(at);
          assert.ok((c.pollAt() ?? Infinity) > at, 'polling at pollAt() leaves nothing due at that time');
        }
        switch (o.k) {
          case 'resolve': {
            const p = next++;
            const r = c.resolve(o.a, now, p);
            if (r.kind === 'queued') {
              const q = model.get(keyOf(o.a)) ?? [];
              if (r.dropped) q.shift();
              q.push(p);
              assert.ok(q.length <= 3, 'bounded queue');
              model.set(keyOf(o.a), q);
            } else if (r.kind === 'lladdr') {
              assert.equal(model.get(keyOf(o.a)), undefined, 'no packets wait for a resolved address');
            }
            break;
          }
          case 'learn': {
            const released = c.learn(o.a, o.m, now, o.r);
            if (released.length > 0) back(o.a, released);
            break;
          }
          case 'na': {
            const { released } = c.advertised(o.a, o.m, { router: o.r, solicited: o.s, override: o.o }, now);
            if (released.length > 0) back(o.a, released);
            break;
          }
          case 'confirm':
            c.confirm(o.a, now);
            break;
          case 'forget':
            back(o.a, c.forget(o.a));
            break;
          case 'poll':
            pollTo(now);
            break;
        }
        assert.ok(c.size <= 6, `size ${c.size}`);
        for (const [k, q] of model) assert.equal(c.state(Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, k]), now), 'INCOMPLETE', `address ${k} has ${q.length} packets waiting: it must be INCOMPLETE`);
      }
    }), { numRuns: 300, seed: 4861 });
  });

  it('RA state and DAD: never throw on arbitrary lifetimes and flags; pollAt honest', () => {
    const pfx = fc.integer({ min: 0, max: 5 }).map((i) => Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    const life = fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.integer({ min: 0, max: 20_000 }));
    const ra = fc.record({
      source: addrArb, hopLimit: fc.integer({ min: 0, max: 255 }), managed: fc.boolean(), other: fc.boolean(),
      routerLifetime: fc.integer({ min: 0, max: 9000 }), reachableTime: fc.integer({ min: 0, max: 100_000 }), retransTimer: fc.integer({ min: 0, max: 10_000 }),
      mtu: fc.option(fc.integer({ min: 0, max: 70_000 }), { nil: undefined }),
      prefixes: fc.array(fc.record({ prefix: pfx, prefixLen: fc.integer({ min: 0, max: 130 }), onLink: fc.boolean(), autonomous: fc.boolean(), validLifetime: life, preferredLifetime: life }), { maxLength: 4 }),
      rdnss: fc.array(fc.record({ servers: fc.array(addrArb, { minLength: 1, maxLength: 3 }), lifetime: life }), { maxLength: 2 }),
    });
    fc.assert(fc.property(fc.array(fc.tuple(ra, fc.integer({ min: 0, max: 5_000_000 })), { maxLength: 30 }), (steps) => {
      const r = new RouterInfo({ maxEntries: 4 });
      const d = new DuplicateAddressDetection({ transmits: 2, retransTimerMs: 700 });
      let now = 0;
      for (const [info, dt] of steps) {
        now += dt;
        for (let at = r.pollAt(); at !== undefined && at <= now; at = r.pollAt()) {
          r.poll(at);
          assert.ok((r.pollAt() ?? Infinity) > at, 'RouterInfo pollAt made progress');
        }
        for (let at = d.pollAt(); at !== undefined && at <= now; at = d.pollAt()) {
          d.poll(at);
          assert.ok((d.pollAt() ?? Infinity) > at, 'DAD pollAt made progress');
        }
        const res = r.receive(info, now);
        for (const s of res.slaac) {
          assert.ok(s.preferredUntil <= s.validUntil || s.validUntil === Infinity || !s.created);
          if (s.created) d.start(s.prefix, now, 10);
        }
        if (info.routerLifetime % 7 === 0 && res.slaac[0] !== undefined) d.conflict(res.slaac[0].prefix);
        assert.ok(r.defaultRouters().length <= 4 && r.dnsServers().length <= 4);
      }
    }), { numRuns: 300, seed: 4862 });
  });
});
