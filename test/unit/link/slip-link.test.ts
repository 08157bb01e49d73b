/**
 * SlipLink over an in-memory byte pipe (seeded chunking, line-rate model, virtual time, no sleeps):
 * two userspace stacks talk TCP through their socket APIs over SLIP; plus the link contract on its
 * own: receive queue bound and wake-ups, transmit drops (oversize, closed), backpressure with a
 * bounded backlog written on drain, noise on the line, close() and the stream.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createUserspaceBackend } from '../../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createBytePipe, type BytePipeEnd, type BytePipeOptions } from '../../../src/link/byte-pipe.ts';
import { lineRateBytesPerSecond } from '../../../src/link/byte-stream.ts';
import { SlipLink } from '../../../src/link/index.ts';
import { Network } from '../../../src/socket/network.ts';
import { fromHex, toHex } from '../../../src/wire/bytes.ts';
import { slipEncode } from '../../../src/wire/slip.ts';
import { addHost, pattern, resolveOn, run, tcpEcho } from '../../support/stack-net.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const hex = (s: string): Uint8Array => fromHex(s) as Uint8Array;

function pipe(sched: VirtualScheduler, seed: number, extra: Partial<BytePipeOptions> = {}): [BytePipeEnd, BytePipeEnd] {
  return createBytePipe({ scheduler: sched, chunking: { rng: new XorShiftRng(seed), min: 1, max: 300 }, ...extra });
}

describe('SlipLink: two stacks over SLIP on a byte pipe', () => {
  for (const { baud, seed } of [
    { baud: undefined, seed: 1 },
    { baud: 921_600, seed: 2 },
    { baud: 115_200, seed: 3 },
  ]) {
    it(`TCP echo of 64 KiB, seeded chunking${baud !== undefined ? `, ${baud} baud` : ''}`, async () => {
      const sched = new VirtualScheduler();
      const [pa, pb] = pipe(sched, seed, baud !== undefined ? { baudRate: baud } : {});
      const la = new SlipLink(pa);
      const lb = new SlipLink(pb);
      const A = addHost(sched, la, '10.9.0.1', 10 + seed, { prefixLen: 32, iface: { gateway: '10.9.0.2' } });
      const B = addHost(sched, lb, '10.9.0.2', 20 + seed, { prefixLen: 32, iface: { gateway: '10.9.0.1' } });
      const netA = new Network(createUserspaceBackend(A.stack, A.runner, { rng: new XorShiftRng(seed + 30) }), { scheduler: sched, rng: new XorShiftRng(seed + 40) });
      const netB = new Network(createUserspaceBackend(B.stack, B.runner, { rng: new XorShiftRng(seed + 50) }), { scheduler: sched, rng: new XorShiftRng(seed + 60) });
      const data = pattern(65_536, seed);
      const { back, ms } = await tcpEcho(sched, netB, netA, '10.9.0.2', 7, data);
      assert.equal(back.length, data.length);
      assert.equal(sha(back), sha(data));
      const sa = la.stats();
      const sb = lb.stats();
      for (const s of [sa, sb]) {
        assert.equal(s.dropped, 0, JSON.stringify(s));
        assert.equal(s.decoder.badEscapes + s.decoder.runts + s.decoder.oversize, 0);
        assert.ok(s.txFrames > 64 && s.rxFrames > 64);
      }
      assert.equal(sa.txFrames, sb.rxFrames);
      assert.ok(sa.txBytes <= 1006 * sa.txFrames);
      if (baud !== undefined) {
        // 128 KiB crossed the line (each way 64 KiB plus headers): no faster than the line allows.
        const minMs = (65_536 / lineRateBytesPerSecond(baud)) * 1000;
        assert.ok(ms >= minMs, `${ms} ms < ${minMs} ms`);
      }
      await resolveOn(sched, netA.close());
      await resolveOn(sched, netB.close());
      la.close();
      lb.close();
      assert.ok(pa.closed && pb.closed);
    });
  }
});

describe('SlipLink contract', () => {
  it('queues decoded packets, wakes once per packet, bounds the queue', () => {
    const sched = new VirtualScheduler();
    const [a, b] = pipe(sched, 7);
    const link = new SlipLink(b, { queueFrames: 2 });
    assert.deepEqual(link.caps, { medium: 'ip', mtu: 1006 });
    let wakes = 0;
    const off = link.onReadable(() => wakes++);
    for (const p of ['450001', '450002', '450003']) a.write(slipEncode(hex(p)));
    run(sched, 10);
    assert.equal(wakes, 2);
    assert.equal(link.queued, 2);
    assert.equal(toHex(link.receive(0) as Uint8Array), '450001');
    assert.equal(toHex(link.receive(0) as Uint8Array), '450002');
    assert.equal(link.receive(0), undefined);
    const s = link.stats();
    assert.equal(s.droppedQueueFull, 1);
    assert.equal(s.rxFrames, 2);
    assert.equal(s.rxBytes, 6);
    // A subscriber arriving while packets wait is woken at once.
    a.write(slipEncode(hex('450004')));
    off();
    run(sched, 10);
    let late = 0;
    link.onReadable(() => late++);
    assert.equal(late, 1);
    link.close();
  });

  it('transmit: oversize and closed drops are counted, never thrown', () => {
    const sched = new VirtualScheduler();
    const [a, b] = pipe(sched, 8);
    const link = new SlipLink(a, { mtu: 100, closeStream: false });
    assert.equal(link.transmit(0, new Uint8Array(101)), false);
    assert.equal(link.transmit(0, new Uint8Array(100)), true);
    const got: string[] = [];
    b.onData((d) => got.push(toHex(d)));
    run(sched, 10);
    assert.equal(got.join('').length, (100 + 2) * 2);
    link.close();
    assert.equal(a.closed, false, 'closeStream: false leaves the stream open');
    assert.equal(link.transmit(0, new Uint8Array(10)), false);
    const s = link.stats();
    assert.equal(s.droppedOversize, 1);
    assert.equal(s.droppedClosed, 1);
    assert.equal(s.dropped, 2);
    assert.equal(s.txFrames, 1);
    // A stream that closed by itself.
    const link2 = new SlipLink(b);
    b.close();
    assert.equal(link2.transmit(0, new Uint8Array(10)), false);
    assert.equal(link2.stats().droppedClosed, 1);
    link2.close();
  });

  it('backpressure: holds a bounded backlog while the stream waits, writes it on drain, in order', () => {
    const sched = new VirtualScheduler();
    const [a, b] = pipe(sched, 9, { baudRate: 115_200, highWaterMark: 1000 });
    const tx = new SlipLink(a, { txBacklogBytes: 2000 });
    const rx = new SlipLink(b);
    let sent = 0;
    const accepted: number[] = [];
    for (let i = 0; i < 10; i++) {
      const p = new Uint8Array(600).fill(i);
      if (tx.transmit(0, p)) accepted.push(i);
      sent++;
    }
    const s = tx.stats();
    // 2 written (the second crosses the mark), 3 fit the 2000-byte backlog (602 each), 5 dropped.
    assert.equal(s.txBlocked, 1);
    assert.deepEqual(accepted, [0, 1, 2, 3, 4]);
    assert.equal(s.droppedBacklog, 5);
    assert.equal(tx.backlogged, 3 * 602);
    run(sched, 1000);
    const got: number[] = [];
    for (let p = rx.receive(0); p !== undefined; p = rx.receive(0)) got.push(p[0] as number);
    assert.deepEqual(got, accepted);
    assert.equal(tx.backlogged, 0);
    assert.equal(sent, 10);
    assert.ok(tx.transmit(0, new Uint8Array(10)));
    tx.close();
    rx.close();
  });

  it('noise, bad escapes and oversize packets on the line are counted; good packets still get through', () => {
    const sched = new VirtualScheduler();
    const [a, b] = pipe(sched, 10);
    const link = new SlipLink(b, { mru: 200 });
    a.write(hex('0102 c0 db41c0 c0'));
    a.write(slipEncode(new Uint8Array(201)));
    a.write(slipEncode(hex('45000000')));
    run(sched, 10);
    const s = link.stats();
    // 0102: a runt; ESC 41 END: a bad escape (41 kept, as Linux does), then a 1-byte runt.
    assert.equal(s.decoder.runts, 2);
    assert.equal(s.decoder.badEscapes, 1);
    assert.equal(s.decoder.oversize, 1);
    assert.equal(toHex(link.receive(0) as Uint8Array), '45000000');
    assert.equal(link.receive(0), undefined);
    link.close();
  });

  it('rejects bad options', () => {
    const sched = new VirtualScheduler();
    const [a] = pipe(sched, 11);
    assert.throws(() => new SlipLink(a, { mtu: 0 }), RangeError);
    assert.throws(() => new SlipLink(a, { queueFrames: 0 }), RangeError);
  });
});

