/**
 * The simulated 802.15.4 medium on virtual time: acknowledged unicast, broadcast to neighbours
 * only, retries and give-up out of range, seeded loss, the 127-byte limit, address filtering,
 * FIFO sending and air time at 250 kbit/s.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { RadioMedium, type RadioPort, type RadioTxResult } from '../../../src/link/radio-medium.ts';
import { buildMacFrame, MAC_BROADCAST, macFrame, parseMacFrame, type MacFrame } from '../../../src/wire/ieee802154.ts';
import { isFault } from '../../../src/wire/fault.ts';

const PAN = 0xabcd;
const ext = (n: number): Uint8Array => new Uint8Array([0x02, 0, 0, 0, 0, 0, 0, n]);

function nodes(count: number, lossPct = 0, seed = 1) {
  const sched = new VirtualScheduler();
  const medium = new RadioMedium({ scheduler: sched, rng: new XorShiftRng(seed) });
  const ports = Array.from({ length: count }, (_, i) => medium.attach({ extended: ext(i + 1), short: i + 1, pan: PAN }));
  medium.chain(ports, lossPct);
  const got = ports.map(() => [] as MacFrame[]);
  ports.forEach((p, i) => p.onFrame((f) => {
    const m = parseMacFrame(f);
    assert.ok(!isFault(m));
    got[i]?.push(m);
  }));
  return { sched, medium, ports, got };
}

function data(from: number, to: number | 'broadcast', payload: number[], seq = 1): Uint8Array {
  return buildMacFrame(macFrame('data', {
    seq,
    ackRequest: to !== 'broadcast',
    panIdCompression: true,
    dst: { pan: PAN, addr: to === 'broadcast' ? { mode: 'short', value: MAC_BROADCAST } : { mode: 'extended', value: ext(to) } },
    src: { pan: PAN, addr: { mode: 'extended', value: ext(from) } },
    payload: new Uint8Array(payload),
  }));
}

function send(p: RadioPort, frame: Uint8Array): { result: RadioTxResult | undefined } {
  const r: { result: RadioTxResult | undefined } = { result: undefined };
  assert.equal(p.send(frame, (x) => (r.result = x)), true);
  return r;
}

describe('RadioMedium', () => {
  it('acknowledged unicast to a neighbour, after its air time at 250 kbit/s', () => {
    const { sched, ports, got } = nodes(2);
    const frame = data(1, 2, Array.from({ length: 50 }, (_, i) => i));
    const r = send(ports[0] as RadioPort, frame);
    sched.advanceTo(100);
    assert.equal(r.result, 'acked');
    assert.equal(got[1]?.length, 1);
    assert.deepEqual([...(got[1]?.[0]?.payload ?? [])], Array.from({ length: 50 }, (_, i) => i));
    // 50 + 19 bytes of MAC header... the exact bytes: frame + FCS 2 + PHY 6, 8 bits each at 250 kbit/s.
    const air = ((frame.length + 8) * 8) / 250;
    const s = new VirtualScheduler();
    const m = new RadioMedium({ scheduler: s, rng: new XorShiftRng(9) });
    const [a, b] = [m.attach({ extended: ext(1), pan: PAN }), m.attach({ extended: ext(2), pan: PAN })];
    m.link(a, b);
    let at = -1;
    b.onFrame(() => (at = s.now()));
    a.send(frame);
    s.advanceTo(100);
    assert.ok(at >= air && at <= air + 7 * 0.32 + 1e-9, `delivered at ${at} ms, air ${air} ms`);
  });

  it('broadcast reaches neighbours only (one hop), unacknowledged', () => {
    const { sched, ports, got } = nodes(3);
    const r = send(ports[1] as RadioPort, data(2, 'broadcast', [1, 2, 3]));
    sched.advanceTo(100);
    assert.equal(r.result, 'sent');
    assert.equal(got[0]?.length, 1);
    assert.equal(got[2]?.length, 1);
    const r2 = send(ports[0] as RadioPort, data(1, 'broadcast', [4]));
    sched.advanceTo(200);
    assert.equal(r2.result, 'sent');
    assert.equal(got[2]?.length, 1, 'two hops away: not heard');
  });

  it('a unicast out of range is retried 3 times, then no-ack', () => {
    const { sched, ports, got } = nodes(3);
    const p0 = ports[0] as RadioPort;
    const r = send(p0, data(1, 3, [9]));
    sched.advanceTo(1000);
    assert.equal(r.result, 'no-ack');
    assert.equal(p0.stats.attempts, 4);
    assert.equal(p0.stats.retries, 3);
    assert.equal(p0.stats.noAck, 1);
    assert.equal(got[2]?.length, 0);
    assert.equal(got[1]?.length, 0, 'a frame for node 3 is not delivered to node 2');
  });

  it('seeded loss: retries recover most frames; duplicates when only the ACK was lost', () => {
    const { sched, ports, got } = nodes(2, 30, 7);
    const p0 = ports[0] as RadioPort;
    const results: (RadioTxResult | undefined)[] = [];
    for (let i = 0; i < 200; i++) {
      const r = { v: undefined as RadioTxResult | undefined };
      assert.equal(p0.send(data(1, 2, [i & 0xff], i & 0xff), (x) => (r.v = x)), true);
      results.push(undefined);
      sched.advanceTo(sched.now() + 50);
      results[i] = r.v;
    }
    const acked = results.filter((x) => x === 'acked').length;
    // Per attempt 0.7 (frame) x 0.7 (ACK) = 0.49; four attempts fail together 0.51^4 = 6.8 %: about 186 of 200.
    assert.ok(acked >= 180 && acked < 200, `acked ${acked} of 200`);
    assert.ok(p0.stats.retries > 20, `retries ${p0.stats.retries}`);
    assert.ok((got[1]?.length ?? 0) >= acked, 'every acked frame arrived');
    assert.ok((ports[1]?.stats.lost ?? 0) > 0 && p0.stats.acksLost > 0);
  });

  it('refuses frames over 127 bytes with the FCS, and non-MAC bytes; sends in FIFO order', () => {
    const { sched, ports, got } = nodes(2);
    const p0 = ports[0] as RadioPort;
    const header = data(1, 2, []).length;
    assert.equal(p0.send(data(1, 2, new Array(125 - header).fill(1))), true);
    assert.equal(p0.send(data(1, 2, new Array(126 - header).fill(1))), false);
    assert.equal(p0.send(new Uint8Array([0xff])), false);
    assert.equal(p0.stats.refused, 2);
    for (let i = 0; i < 5; i++) p0.send(data(1, 2, [i], i));
    sched.advanceTo(500);
    assert.deepEqual(got[1]?.slice(1).map((f) => f.payload[0]), [0, 1, 2, 3, 4]);
  });
});
