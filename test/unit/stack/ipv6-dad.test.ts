/** RFC 4862 §5.4 duplicate address detection. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuplicateAddressDetection } from '../../../src/stack/ipv6-dad.ts';

const a = (last: number): Uint8Array => Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, last]);

describe('duplicate address detection', () => {
  it('one probe after the delay, preferred RetransTimer later', () => {
    const d = new DuplicateAddressDetection();
    assert.equal(d.start(a(1), 0, 300), false);
    assert.equal(d.state(a(1)), 'TENTATIVE');
    assert.deepEqual(d.poll(299), { probe: [], preferred: [] });
    assert.equal(d.poll(300).probe.length, 1);
    assert.equal(d.pollAt(), 1300);
    assert.equal(d.poll(1299).preferred.length, 0);
    assert.equal(d.poll(1300).preferred.length, 1);
    assert.equal(d.state(a(1)), 'PREFERRED');
    assert.equal(d.pollAt(), undefined);
  });

  it('several transmits; an NA (or another host probing) for a tentative address makes it DUPLICATE, never preferred', () => {
    const d = new DuplicateAddressDetection({ transmits: 3, retransTimerMs: 500 });
    d.start(a(2), 0);
    assert.equal(d.poll(0).probe.length, 1);
    assert.equal(d.poll(500).probe.length, 1);
    assert.equal(d.conflict(a(2)), true);
    assert.equal(d.state(a(2)), 'DUPLICATE');
    assert.deepEqual(d.poll(5000), { probe: [], preferred: [] });
    assert.equal(d.conflict(a(2)), false, 'reported once');
  });

  it('a conflict for a preferred or unknown address changes nothing; transmits 0 means preferred at once; stop forgets', () => {
    const d = new DuplicateAddressDetection({ transmits: 0 });
    assert.equal(d.start(a(3), 0), true);
    assert.equal(d.conflict(a(3)), false);
    assert.equal(d.state(a(3)), 'PREFERRED');
    assert.equal(d.conflict(a(4)), false);
    d.stop(a(3));
    assert.equal(d.state(a(3)), undefined);
  });
});
