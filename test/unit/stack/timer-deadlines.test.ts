/**
 * Deadlines are honoured exactly: a poll at the time `pollAt()` returned does the work,
 * also at fractional times (real clocks and jittered links give them), where
 * `now - start < limit` can round below the `start + limit` that `pollAt()` computed and
 * the timer would fire again and again at the same instant (found by the DHCP LAN sim:
 * the ARP cache spun at t = 2025015.781623196 + 120000).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArpCache } from '../../../src/stack/arp-cache.ts';
import { Ipv4Reassembler } from '../../../src/stack/ipv4-reassembly.ts';

const MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);

describe('pollAt deadlines at fractional times', () => {
  it('ARP cache: an unused entry goes at exactly its pollAt()', () => {
    const arp = new ArpCache<number>();
    const t0 = 2025015.781623196;
    assert.ok(t0 + 120000 - t0 < 120000, 'the case: the difference rounds below the limit');
    arp.update(1, MAC, t0, true);
    const at = arp.pollAt() as number;
    assert.equal(at, t0 + 120000);
    arp.poll(at);
    assert.equal(arp.size, 0);
    assert.equal(arp.pollAt(), undefined);
  });

  it('ARP cache: a failed entry is forgotten at exactly its pollAt()', () => {
    const arp = new ArpCache<number>({ maxRequests: 1 });
    const t0 = 2025015.781623196;
    arp.resolve(7, t0, 0);
    const fail = arp.pollAt() as number;
    assert.equal(arp.poll(fail).failed.length, 1);
    const at = arp.pollAt() as number;
    arp.poll(at);
    assert.equal(arp.size, 0);
  });

  it('reassembly: a datagram times out at exactly its pollAt()', () => {
    const r = new Ipv4Reassembler({ timeoutMs: 120000 });
    const t0 = 2025015.781623196;
    r.add(1, 2, 17, 9, 0, true, new Uint8Array(8), new Uint8Array(20), t0);
    const at = r.pollAt() as number;
    assert.equal(r.poll(at).length, 1);
    assert.equal(r.pollAt(), undefined);
  });
});
