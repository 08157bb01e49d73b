/**
 * Robustness of a live stack: 20,000 random and mutated frames (fast-check) into a stack
 * with UDP sockets open, on virtual time with timers firing in between. Nothing may
 * throw, every frame that is dropped is counted, memory stays within the configured
 * bounds, and afterwards UDP and ping still work. (The 1,000,000-frame run is a separate
 * long test.)
 *
 * Mutated frames start from golden frames captured from a real exchange (ARP, UDP,
 * fragmented ping, ICMP errors, broadcast); after the mutation their IPv4 and transport
 * checksums are usually recomputed, so mutations reach the deeper layers instead of
 * dying at the first checksum.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { PingResult } from '../../src/stack/stack.ts';
import { aimRandomFrame, mutateFrame } from '../support/frame-mutator.ts';
import { drain, enc, ipFrame, openUdp, run, twoHosts, udpTargets } from '../support/stack-net.ts';

describe('Stack robustness (property)', () => {
  it('20,000 random and mutated frames into a live stack: no throw, drops counted, bounded memory, UDP still works', (t) => {
    const { sched, A, B, ends, tap } = twoHosts({ tapA: true });
    // B is the stack under test; A is its peer (and also receives whatever B answers).
    run(sched);
    // Golden frames: a real exchange as A sent it.
    const { echo, connected, broadcast: broadcastListener } = udpTargets(sched, A, B);
    A.stack.sendIp(sched.now(), { dst: B.ip, protocol: 6, payload: new Uint8Array(20) });
    run(sched);
    B.stack.udpSendTo(sched.now(), connected, enc.encode('x'), 1, A.ip, 9); // draws a port unreachable from A
    run(sched);
    const golden: Uint8Array[] = (tap?.tx ?? []).map((f) => f.slice());
    golden.push(ipFrame({ dstMac: B.mac, src: A.ip, dst: B.ip, protocol: 17, id: 9, moreFrags: true, payload: new Uint8Array(64) }));
    assert.ok(golden.length >= 10, `${golden.length} golden frames`);
    drain(B.stack, echo);
    drain(B.stack, connected);
    drain(B.stack, broadcastListener);

    const randomFrame = fc.record({
      bytes: fc.oneof(
        { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 40 }) },
        { weight: 4, arbitrary: fc.uint8Array({ minLength: 14, maxLength: 1514, size: 'max' }) },
      ),
      dst: fc.constantFrom('ours', 'broadcast', 'random'),
      type: fc.constantFrom(0x0800, 0x0806, -1),
    }).map(({ bytes, dst, type }) => aimRandomFrame(bytes, dst, type, B.mac, B.ip));
    const mutatedFrame = fc.record({
      base: fc.nat(golden.length - 1),
      edits: fc.array(fc.record({ at: fc.nat(1513), value: fc.nat(255) }), { minLength: 1, maxLength: 6 }),
      cut: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(1514) }), // a quarter are cut short
      fix: fc.constantFrom('none', 'ip', 'all', 'all'),
    }).map(({ base, edits, cut, fix }) => mutateFrame(golden[base] as Uint8Array, edits, cut, fix));
    const batch = fc.record({
      frames: fc.array(fc.oneof(randomFrame, mutatedFrame, mutatedFrame), { minLength: 100, maxLength: 100 }),
      advanceMs: fc.constantFrom(0, 0, 1, 10, 500, 3000),
    });

    let frames = 0;
    fc.assert(
      fc.property(batch, ({ frames: list, advanceMs }) => {
        for (let i = 0; i < list.length; i++) {
          ends[0].transmit(sched.now(), list[i] as Uint8Array);
          if (i % 50 === 49) run(sched);
        }
        frames += list.length;
        run(sched, advanceMs);
        drain(B.stack, echo);
        drain(B.stack, connected);
        drain(B.stack, broadcastListener);
        assert.equal(B.stack.stats.drops.internalError, 0, String(B.stack.lastInternalError));
        assert.equal(A.stack.stats.drops.internalError, 0, String(A.stack.lastInternalError));
      }),
      { numRuns: 200, seed: 0x5eed },
    );
    assert.equal(frames, 20_000);

    const s = B.stack.stats;
    const dropped = Object.values(s.drops).reduce((x, y) => x + y, 0);
    t.diagnostic(`rx ${s.rxFrames} frames, ${dropped} dropped: ${JSON.stringify(Object.fromEntries(Object.entries(s.drops).filter(([, v]) => v > 0)))}`);
    t.diagnostic(`udp rx ${s.udp.rxDatagrams}, icmp in ${s.icmp.in} (echo ${s.icmp.echoRequestsIn}, errors ${s.icmp.errorsIn}), arp in ${s.arp.requestsIn + s.arp.repliesIn}, fragments ${s.ip.fragmentsIn}, reassembled ${s.ip.reassembled}`);
    assert.ok(dropped > 10_000, `${dropped} drops counted`);
    assert.ok(s.drops.badChecksum > 0 && s.drops.notForUs > 0 && s.drops.truncated > 0 && s.drops.malformed > 0, JSON.stringify(s.drops));
    assert.ok(s.udp.rxDatagrams > 0 && s.icmp.echoRequestsIn > 0 && s.arp.requestsIn > 0, 'mutations reached UDP, ICMP and ARP');
    assert.ok(B.stack.reassembler.bytesHeld <= 1024 * 1024);
    assert.ok(B.stack.arp.size <= 512);
    assert.ok(echo.queued <= 256 && connected.queued <= 256 && broadcastListener.queued <= 256);

    // Afterwards: the mutations may have poisoned B's ARP entry for A (sender 10.0.0.1 with a
    // random MAC); a correct stack recovers once A speaks again. UDP and ping still work.
    run(sched, 120_000);
    const results: PingResult[] = [];
    A.stack.ping(sched.now(), B.ip, { size: 3000 }, (r) => results.push(r));
    const client = openUdp(A.stack);
    run(sched, 5000);
    A.stack.udpSendTo(sched.now(), client, enc.encode('after the storm'), 15, B.ip, 7);
    run(sched, 5000);
    const back = drain(A.stack, client);
    assert.equal(results[0]?.code, 0, 'ping works');
    assert.deepEqual(back.map((d) => new TextDecoder().decode(d.data)), ['after the storm'], 'UDP echo works');
  });
});
