import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualSwitch, type SwitchPort } from '../../../src/link/virtual-switch.ts';

const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
/** A locally administered unicast MAC 02:00:00:00:00:nn. */
const mac = (n: number): number[] => [0x02, 0, 0, 0, 0, n];

/** An Ethernet II frame dst, src, type 0x0800, then `payload` bytes of `tag`. */
function eth(dst: number[], src: number[], tag = 0, payload = 46): Uint8Array {
  return Uint8Array.from([...dst, ...src, 0x08, 0x00, ...new Array<number>(payload).fill(tag)]);
}

/** Everything queued at `p`, as the tag byte of each frame (byte 14). */
function drain(p: SwitchPort): number[] {
  const out: number[] = [];
  for (let f = p.receive(0); f !== undefined; f = p.receive(0)) out.push(f[14] as number);
  return out;
}

describe('VirtualSwitch', () => {
  it('floods unknown unicast, learns sources, then forwards unicast to one port', () => {
    const sw = new VirtualSwitch();
    const [p0, p1, p2] = [sw.port(), sw.port(), sw.port()];
    assert.deepEqual([p0.id, p1.id, p2.id], [0, 1, 2]);
    assert.deepEqual(p0.caps, { medium: 'ethernet', mtu: 1500 });

    // Station 1 on p0 talks to station 2 (unknown yet): flooded to p1 and p2, not back to p0.
    assert.equal(p0.transmit(0, eth(mac(2), mac(1), 1)), true);
    assert.deepEqual([drain(p0), drain(p1), drain(p2)], [[], [1], [1]]);
    assert.deepEqual(sw.macTable(0), [{ mac: '02:00:00:00:00:01', port: 0, lastSeen: 0 }]);

    // Station 2 answers from p1: station 1 is known, so only p0 gets it; station 2 is learned.
    p1.transmit(1, eth(mac(1), mac(2), 2));
    assert.deepEqual([drain(p0), drain(p1), drain(p2)], [[2], [], []]);
    // Now 1 -> 2 is forwarded to p1 only.
    p0.transmit(2, eth(mac(2), mac(1), 3));
    assert.deepEqual([drain(p0), drain(p1), drain(p2)], [[], [3], []]);
    assert.deepEqual(
      sw.macTable(2).map((e) => [e.mac, e.port]),
      [
        ['02:00:00:00:00:01', 0],
        ['02:00:00:00:00:02', 1],
      ],
    );
    const s = sw.stats();
    assert.equal(s.flooded, 1);
    assert.equal(s.forwarded, 2);
    assert.equal(s.learned, 2);
    assert.equal(p0.stats().txFrames, 2);
    assert.equal(p1.stats().rxFrames, 2);
  });

  it('floods broadcast and multicast even when the destination bits look learned', () => {
    const sw = new VirtualSwitch();
    const [p0, p1, p2] = [sw.port(), sw.port(), sw.port()];
    p1.transmit(0, eth(mac(2), mac(2), 0)); // learns 02::02 on p1 (frame to itself is filtered)
    assert.equal(sw.stats().filtered, 1);
    p0.transmit(0, eth(BROADCAST, mac(1), 7));
    assert.deepEqual([drain(p0), drain(p1), drain(p2)], [[], [7], [7]]);
    p0.transmit(0, eth([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb], mac(1), 8)); // IPv4 multicast 224.0.0.251
    assert.deepEqual([drain(p0), drain(p1), drain(p2)], [[], [8], [8]]);
    assert.equal(sw.stats().flooded, 2);
  });

  it('does not learn a multicast source', () => {
    const sw = new VirtualSwitch();
    const p0 = sw.port();
    sw.port();
    p0.transmit(0, eth(mac(2), [0x03, 0, 0, 0, 0, 9], 1));
    assert.deepEqual(sw.macTable(0), []);
  });

  it('filters a frame whose destination is on its ingress port', () => {
    const sw = new VirtualSwitch();
    const [p0, p1] = [sw.port(), sw.port()];
    p0.transmit(0, eth(BROADCAST, mac(1)));
    p0.transmit(0, eth(BROADCAST, mac(3))); // two stations behind p0 (a hub, say)
    drain(p1);
    p0.transmit(0, eth(mac(3), mac(1), 5));
    assert.deepEqual([drain(p0), drain(p1)], [[], []]);
    assert.equal(sw.stats().filtered, 1);
  });

  it('moves a station that shows up on another port', () => {
    const sw = new VirtualSwitch();
    const [p0, p1, p2] = [sw.port(), sw.port(), sw.port()];
    p0.transmit(0, eth(BROADCAST, mac(1)));
    p1.transmit(0, eth(BROADCAST, mac(1)));
    assert.deepEqual(sw.macTable(0), [{ mac: '02:00:00:00:00:01', port: 1, lastSeen: 0 }]);
    [p0, p1, p2].forEach(drain);
    p2.transmit(0, eth(mac(1), mac(9), 4));
    assert.deepEqual([drain(p0), drain(p1), drain(p2)], [[], [4], []]);
  });

  it('ages entries out after agingMs and floods again', () => {
    const sw = new VirtualSwitch({ agingMs: 1000 });
    const [p0, p1, p2] = [sw.port(), sw.port(), sw.port()];
    p1.transmit(0, eth(BROADCAST, mac(2)));
    [p0, p1, p2].forEach(drain);
    p0.transmit(1000, eth(mac(2), mac(1), 1)); // exactly agingMs later: still known
    assert.deepEqual([drain(p0), drain(p1), drain(p2)], [[], [1], []]);
    p0.transmit(1001, eth(mac(2), mac(1), 2)); // 1001 ms after 02::02 was last seen: aged, flooded
    assert.deepEqual([drain(p0), drain(p1), drain(p2)], [[], [2], [2]]);
    assert.equal(sw.stats().aged, 1);
    assert.deepEqual(
      sw.macTable(1001).map((e) => e.mac),
      ['02:00:00:00:00:01'],
    );
  });

  it('refreshes an entry each time the source is seen', () => {
    const sw = new VirtualSwitch({ agingMs: 1000 });
    const [p0, p1, p2] = [sw.port(), sw.port(), sw.port()];
    for (let t = 0; t <= 5000; t += 900) p1.transmit(t, eth(mac(1), mac(2)));
    [p0, p1, p2].forEach(drain);
    p0.transmit(5400, eth(mac(2), mac(1), 6));
    assert.deepEqual([drain(p0), drain(p1), drain(p2)], [[], [6], []]);
  });

  it('sweeps stale entries from the table as time passes', () => {
    const sw = new VirtualSwitch({ agingMs: 100 });
    const [p0] = [sw.port(), sw.port()];
    for (let i = 1; i <= 50; i++) p0.transmit(0, eth(BROADCAST, mac(i)));
    assert.equal(sw.macTable(0).length, 50);
    p0.transmit(500, eth(BROADCAST, mac(200)));
    assert.equal(sw.stats().aged, 50);
    assert.equal(sw.macTable(500).length, 1);
  });

  it('rejects runts and oversize frames at ingress', () => {
    const sw = new VirtualSwitch({ mtu: 1000 });
    const [p0, p1] = [sw.port(), sw.port()];
    assert.equal(p0.transmit(0, new Uint8Array(13)), false);
    assert.equal(p0.transmit(0, eth(BROADCAST, mac(1), 0, 1001)), false);
    assert.equal(p0.transmit(0, eth(BROADCAST, mac(1), 0, 1000)), true);
    assert.equal(p0.stats().droppedIngress, 2);
    assert.equal(sw.stats().droppedIngress, 2);
    assert.equal(drain(p1).length, 1);
  });

  it('drops at a full egress queue without affecting other ports', () => {
    const sw = new VirtualSwitch({ queueFrames: 2 });
    const [p0, p1, p2] = [sw.port(), sw.port(), sw.port()];
    for (let i = 1; i <= 3; i++) assert.equal(p0.transmit(0, eth(BROADCAST, mac(1), i)), true);
    assert.equal(p1.stats().droppedEgress, 1);
    assert.equal(p2.stats().droppedEgress, 1);
    assert.equal(sw.stats().droppedEgress, 2);
    assert.deepEqual(drain(p1), [1, 2]);
  });

  it('wakes only the ports that got a frame', () => {
    const sw = new VirtualSwitch();
    const ports = [sw.port(), sw.port(), sw.port()];
    const woken = [0, 0, 0];
    ports.forEach((p, i) => p.onReadable(() => woken[i]!++));
    ports[0]!.transmit(0, eth(BROADCAST, mac(1)));
    assert.deepEqual(woken, [0, 1, 1]);
    ports[2]!.transmit(0, eth(mac(1), mac(3)));
    assert.deepEqual(woken, [1, 1, 1]);
  });

  it('unplugging a port: its frames lost, its stations flushed, nothing in or out until plugged', () => {
    const sw = new VirtualSwitch();
    const [p0, p1, p2] = [sw.port(), sw.port(), sw.port()];
    const seen: boolean[] = [];
    p1.linkState.onChange((up) => seen.push(up));
    p1.transmit(0, eth(mac(1), mac(2), 1)); // learns 02::02 on p1
    p0.transmit(0, eth(mac(2), mac(1), 2)); // queued at p1
    assert.equal(p1.queued, 1);
    p1.unplug();
    assert.deepEqual(seen, [false]);
    assert.equal(p1.queued, 0);
    assert.deepEqual(sw.macTable(0).map((e) => e.mac), ['02:00:00:00:00:01']);
    assert.equal(p1.transmit(0, eth(mac(1), mac(2), 3)), false);
    p0.transmit(0, eth(BROADCAST, mac(1), 4));
    assert.deepEqual([drain(p0), drain(p1), drain(p2)], [[1], [], [1, 4]]);
    p1.plug();
    assert.deepEqual(seen, [false, true]);
    p0.transmit(0, eth(BROADCAST, mac(1), 5));
    assert.deepEqual([drain(p1), drain(p2)], [[5], [5]]);
  });

  it('closing a port detaches it and forgets its stations; ports limit', () => {
    const sw = new VirtualSwitch({ ports: 2 });
    const [p0, p1] = [sw.port(), sw.port()];
    assert.throws(() => sw.port(), RangeError);
    p1.transmit(0, eth(BROADCAST, mac(2)));
    drain(p0);
    p1.close();
    p1.close();
    assert.equal(sw.portCount, 1);
    assert.deepEqual(sw.macTable(0), []);
    assert.equal(p1.transmit(0, eth(BROADCAST, mac(2))), false);
    assert.equal(p1.receive(0), undefined);
    const p2 = sw.port();
    assert.equal(p2.id, 2);
    p0.transmit(0, eth(mac(2), mac(1), 9));
    assert.deepEqual(drain(p2), [9]);
  });
});
