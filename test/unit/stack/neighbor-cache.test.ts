/** RFC 4861 §7.3 neighbor cache: every state and transition of Appendix C, with explicit time. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NeighborCache } from '../../../src/stack/neighbor-cache.ts';

const addr = (last: number): Uint8Array => Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0xff, 0xfe, 0, 0, last]);
const mac = (last: number): Uint8Array => Uint8Array.from([0x02, 0, 0, 0, 0, last]);
const NA = { router: false, solicited: true, override: true };

describe('IPv6 neighbor cache (RFC 4861)', () => {
  it('address resolution: INCOMPLETE queues, retransmits every RetransTimer, a solicited NA makes it REACHABLE and releases the packets', () => {
    const c = new NeighborCache<string>();
    const a = addr(1);
    assert.deepEqual(c.resolve(a, 0, 'p1'), { kind: 'queued', solicit: true, dropped: false });
    assert.deepEqual(c.resolve(a, 10, 'p2'), { kind: 'queued', solicit: false, dropped: false });
    assert.equal(c.state(a, 10), 'INCOMPLETE');
    assert.equal(c.pollAt(), 1000);
    assert.deepEqual(c.poll(999).solicits, []);
    const p = c.poll(1000);
    assert.equal(p.solicits.length, 1);
    assert.equal(p.solicits[0]?.lladdr, undefined, 'multicast NS');
    const r = c.advertised(a, mac(1), NA, 1200);
    assert.deepEqual(r.released, ['p1', 'p2']);
    assert.equal(c.state(a, 1200), 'REACHABLE');
    assert.deepEqual(c.resolve(a, 1300, 'p3'), { kind: 'lladdr', lladdr: mac(1) });
  });

  it('an NA without a target link-layer address is ignored for an INCOMPLETE entry; an unsolicited NA makes it STALE', () => {
    const c = new NeighborCache<string>();
    const a = addr(2);
    c.resolve(a, 0, 'p');
    assert.deepEqual(c.advertised(a, undefined, NA, 5).released, []);
    assert.equal(c.state(a, 5), 'INCOMPLETE');
    assert.deepEqual(c.advertised(a, mac(2), { router: false, solicited: false, override: false }, 6).released, ['p']);
    assert.equal(c.state(a, 6), 'STALE');
  });

  it('resolution fails after MAX_MULTICAST_SOLICIT: packets handed back, negative cache, then a new attempt', () => {
    const c = new NeighborCache<string>();
    const a = addr(3);
    c.resolve(a, 0, 'p');
    assert.equal(c.poll(1000).solicits.length, 1);
    assert.equal(c.poll(2000).solicits.length, 1); // 3 sent in all
    const p = c.poll(3000);
    assert.deepEqual(p.failed.map((f) => f.pending), [['p']]);
    assert.deepEqual(c.resolve(a, 3500, 'q'), { kind: 'failed' });
    assert.equal(c.poll(6000).failed.length, 0);
    assert.equal(c.state(a, 6000), undefined, 'negative entry expired');
    assert.equal(c.resolve(a, 6001, 'q').kind, 'queued');
  });

  it('NUD: REACHABLE -> STALE after ReachableTime -> DELAY on use -> PROBE (unicast NS) -> removed after MAX_UNICAST_SOLICIT', () => {
    const c = new NeighborCache<string>({ reachableTimeMs: 30_000 });
    const a = addr(4);
    c.resolve(a, 0, 'p');
    c.advertised(a, mac(4), NA, 100);
    assert.equal(c.state(a, 30_099), 'REACHABLE');
    assert.equal(c.state(a, 30_100), 'STALE');
    assert.equal(c.resolve(a, 31_000, 'x').kind, 'lladdr');
    assert.equal(c.state(a, 31_000), 'DELAY');
    assert.equal(c.pollAt(), 36_000);
    const probe = c.poll(36_000);
    assert.equal(c.state(a, 36_000), 'PROBE');
    assert.deepEqual(probe.solicits.map((s) => [...(s.lladdr ?? [])]), [[...mac(4)]], 'unicast NS to the cached address');
    assert.equal(c.resolve(a, 36_500, 'y').kind, 'lladdr', 'PROBE still sends');
    assert.equal(c.poll(37_000).solicits.length, 1);
    assert.equal(c.poll(38_000).solicits.length, 1);
    const gone = c.poll(39_000);
    assert.deepEqual(gone.unreachable.map((u) => u[15]), [4]);
    assert.equal(c.state(a, 39_000), undefined);
  });

  it('DELAY -> REACHABLE on an upper-layer confirmation or a solicited NA; no probe goes out', () => {
    const c = new NeighborCache<string>();
    const a = addr(5);
    c.learn(a, mac(5), 0);
    assert.equal(c.state(a, 0), 'STALE', 'learned from an NS: STALE');
    c.resolve(a, 10, 'x');
    assert.equal(c.state(a, 10), 'DELAY');
    c.confirm(a, 20);
    assert.equal(c.state(a, 20), 'REACHABLE');
    assert.deepEqual(c.poll(6000).solicits, []);
    const b = addr(6);
    c.learn(b, mac(6), 0);
    c.resolve(b, 10, 'x');
    c.advertised(b, undefined, NA, 30);
    assert.equal(c.state(b, 30), 'REACHABLE');
  });

  it('NA Override rules: a different address without O keeps ours (REACHABLE -> STALE); with O it replaces it', () => {
    const c = new NeighborCache<string>();
    const a = addr(7);
    c.resolve(a, 0, 'p');
    c.advertised(a, mac(7), NA, 1);
    c.advertised(a, mac(8), { router: false, solicited: true, override: false }, 2);
    assert.deepEqual(c.lookup(a), mac(7));
    assert.equal(c.state(a, 2), 'STALE');
    c.advertised(a, mac(8), { router: false, solicited: false, override: true }, 3);
    assert.deepEqual(c.lookup(a), mac(8));
    assert.equal(c.state(a, 3), 'STALE', 'unsolicited with a new address: STALE');
    c.advertised(a, mac(8), { router: false, solicited: true, override: true }, 4);
    assert.equal(c.state(a, 4), 'REACHABLE');
  });

  it('learn: a new link-layer address makes the entry STALE; the same one changes nothing; an INCOMPLETE entry releases its packets', () => {
    const c = new NeighborCache<string>();
    const a = addr(9);
    c.resolve(a, 0, 'p');
    assert.deepEqual(c.learn(a, mac(9), 5), ['p']);
    c.confirm(a, 6);
    assert.deepEqual(c.learn(a, mac(9), 7), []);
    assert.equal(c.state(a, 7), 'REACHABLE');
    c.learn(a, mac(10), 8);
    assert.equal(c.state(a, 8), 'STALE');
    assert.deepEqual(c.lookup(a), mac(10));
  });

  it('router flag: set by RAs, cleared by an NA without R (reported so the router leaves the default router list)', () => {
    const c = new NeighborCache<string>();
    const a = addr(11);
    c.learn(a, mac(11), 0, true);
    assert.equal(c.isRouter(a), true);
    const r = c.advertised(a, mac(11), { router: false, solicited: false, override: false }, 1);
    assert.equal(r.noLongerRouter, true);
    assert.equal(c.isRouter(a), false);
  });

  it('NAs for unknown addresses create nothing; bounded pending queue; bounded size with LRU eviction', () => {
    const c = new NeighborCache<number>({ maxEntries: 3, maxPending: 2 });
    c.advertised(addr(20), mac(20), NA, 0);
    assert.equal(c.size, 0);
    c.resolve(addr(21), 0, 1);
    c.resolve(addr(21), 0, 2);
    assert.deepEqual(c.resolve(addr(21), 0, 3), { kind: 'queued', solicit: false, dropped: true });
    assert.equal(c.droppedPending, 1);
    c.learn(addr(22), mac(22), 1);
    c.learn(addr(23), mac(23), 2);
    c.resolve(addr(23), 3, 9); // used more recently than 22
    c.learn(addr(24), mac(24), 4); // full: evicts 22 (least recently used, no packets)
    assert.equal(c.size, 3);
    assert.equal(c.lookup(addr(22)), undefined);
    assert.deepEqual(c.lookup(addr(23)), mac(23));
    assert.equal(c.state(addr(21), 4), 'INCOMPLETE', 'an entry with waiting packets is never evicted');
  });

  it('colliding and odd-length keys; unused entries age out', () => {
    const c = new NeighborCache<string>({ staleLifetimeMs: 1000 });
    for (let i = 0; i < 200; i++) c.learn(addr(i), mac(i), 0);
    assert.equal(c.size, 200);
    for (let i = 0; i < 200; i++) assert.deepEqual(c.lookup(addr(i)), mac(i));
    assert.equal(c.lookup(new Uint8Array(4)), undefined, 'not an IPv6 address: no entry');
    c.poll(1000);
    assert.equal(c.size, 0);
  });
});
