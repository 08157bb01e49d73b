import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArpCache } from '../../../src/stack/arp-cache.ts';

const MAC = new Uint8Array([2, 0, 0, 0, 0, 1]);
const IP = 0x0a000002;

describe('ArpCache', () => {
  it('unknown address: queues, requests at once, then at most once per second; reply releases packets in order', () => {
    const arp = new ArpCache<string>();
    assert.deepEqual(arp.resolve(IP, 0, 'p1'), { kind: 'queued', request: true, dropped: false });
    assert.deepEqual(arp.resolve(IP, 10, 'p2'), { kind: 'queued', request: false, dropped: false });
    assert.deepEqual(arp.poll(999).requests, [], 'no second request within 1 s (RFC 1122)');
    assert.equal(arp.pollAt(), 1000);
    assert.deepEqual(arp.poll(1000).requests, [IP], 'retransmitted after 1 s');
    assert.deepEqual(arp.update(IP, MAC, 1200, false), ['p1', 'p2'], 'released in order');
    const r = arp.resolve(IP, 1300, 'p3');
    assert.equal(r.kind, 'mac');
    assert.deepEqual(r.kind === 'mac' ? [...r.mac] : [], [...MAC]);
  });

  it('bounded pending queue: the oldest packet is dropped and counted', () => {
    const arp = new ArpCache<number>({ maxPending: 2 });
    arp.resolve(IP, 0, 1);
    arp.resolve(IP, 0, 2);
    assert.deepEqual(arp.resolve(IP, 0, 3), { kind: 'queued', request: false, dropped: true });
    assert.equal(arp.droppedPending, 1);
    assert.deepEqual(arp.update(IP, MAC, 5, false), [2, 3]);
  });

  it('no answer: 3 requests, then FAILED with the packets handed back; negative cache; retry after the hold', () => {
    const arp = new ArpCache<string>({ maxRequests: 3, failHoldMs: 3000 });
    arp.resolve(IP, 0, 'a');
    assert.deepEqual(arp.poll(1000).requests, [IP]);
    assert.deepEqual(arp.poll(2000).requests, [IP]);
    const out = arp.poll(3000);
    assert.deepEqual(out.requests, []);
    assert.deepEqual(out.failed, [{ ip: IP, pending: ['a'] }]);
    assert.deepEqual(arp.resolve(IP, 4000, 'b'), { kind: 'failed' }, 'negative cache: fail at once');
    arp.poll(6000);
    assert.deepEqual(arp.resolve(IP, 6001, 'c'), { kind: 'queued', request: true, dropped: false }, 'a fresh attempt after the hold');
  });

  it('refresh: an expired entry still sends (to the old MAC) with one refresh request; unanswered, it goes', () => {
    const arp = new ArpCache<string>({ reachableMs: 60_000 });
    arp.update(IP, MAC, 0, true);
    assert.deepEqual(arp.resolve(IP, 30_000, 'x'), { kind: 'mac', mac: MAC, refresh: false });
    const r = arp.resolve(IP, 60_000, 'y');
    assert.equal(r.kind === 'mac' && r.refresh, true, 'one refresh request');
    const again = arp.resolve(IP, 60_001, 'z');
    assert.equal(again.kind, 'mac', 'still sendable while refreshing');
    assert.equal(again.kind === 'mac' && again.refresh, false, 'only one refresh request');
    assert.deepEqual(arp.poll(61_000).requests, [IP]);
    assert.deepEqual(arp.poll(62_000).requests, [IP]);
    arp.poll(63_000);
    assert.equal(arp.lookup(IP, 63_000), undefined, 'unanswered refresh: removed');
    assert.equal(arp.size, 0);
  });

  it('RFC 826 merge: update(create=false) only refreshes known entries; create=true adds', () => {
    const arp = new ArpCache<string>();
    assert.deepEqual(arp.update(IP, MAC, 0, false), []);
    assert.equal(arp.size, 0, 'not addressed to us: not added');
    arp.update(IP, MAC, 0, true);
    assert.equal(arp.size, 1);
    const mac2 = new Uint8Array([2, 0, 0, 0, 0, 9]);
    arp.update(IP, mac2, 10, false);
    assert.deepEqual([...(arp.lookup(IP, 10) ?? [])], [...mac2], 'a known entry takes the new MAC');
  });

  it('bounded: a full cache evicts the least recently confirmed complete entry, never one with waiting packets', () => {
    const arp = new ArpCache<string>({ maxEntries: 2 });
    arp.update(1, MAC, 0, true);
    arp.resolve(2, 5, 'waiting');
    assert.equal(arp.resolve(3, 10, 'new').kind, 'queued', 'entry 1 evicted');
    assert.equal(arp.lookup(1, 10), undefined);
    assert.equal(arp.resolve(4, 11, 'more').kind, 'failed', 'nothing evictable: the new resolution fails');
  });

  it('the caller keeps its MAC buffer: the cache copies it', () => {
    const arp = new ArpCache<string>();
    const mac = MAC.slice();
    arp.update(IP, mac, 0, true);
    mac.fill(0);
    assert.deepEqual([...(arp.lookup(IP, 1) ?? [])], [...MAC]);
  });
});
