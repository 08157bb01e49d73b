/**
 * StackRunner: coalesced wake-ups, one timer at pollAt, no re-entrant polls, close;
 * in real time, wake-ups served by a microtask poll but never a chain of them (the event
 * loop keeps turning); and a real-time run (setImmediate / setTimeout) of two stacks on
 * a cable.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createCable } from '../../../src/link/index.ts';
import { StackRunner, type PolledStack } from '../../../src/runtime/stack-runner.ts';
import { Stack } from '../../../src/stack/stack.ts';
import type { UdpPcb } from '../../../src/stack/udp.ts';

class MockStack implements PolledStack {
  polls: number[] = [];
  depth = 0;
  maxDepth = 0;
  more = 0;
  at: number | undefined = undefined;
  openSockets = 0;
  wake: (() => void) | undefined;
  during: (() => void) | undefined;
  poll(now: number): boolean {
    this.polls.push(now);
    this.depth++;
    this.maxDepth = Math.max(this.maxDepth, this.depth);
    this.during?.();
    this.depth--;
    if (this.more > 0) {
      this.more--;
      return true;
    }
    return false;
  }
  pollAt(): number | undefined {
    return this.at;
  }
  onWake(w: () => void): () => void {
    this.wake = w;
    return () => {
      this.wake = undefined;
    };
  }
}

describe('StackRunner (virtual time)', () => {
  it('coalesces wake-ups into one poll; polls again while the stack reports more', () => {
    const sched = new VirtualScheduler();
    const s = new MockStack();
    const r = new StackRunner(s, { scheduler: sched });
    for (let i = 0; i < 10; i++) s.wake?.();
    sched.advance(0);
    assert.equal(s.polls.length, 1, 'constructor wake + 10 wake-ups: one poll');
    s.more = 3;
    s.wake?.();
    sched.advance(0);
    assert.equal(s.polls.length, 5, 'one poll, then three more while it reports more');
    r.close();
  });

  it('keeps exactly one timer for pollAt, re-armed only when the deadline changes', () => {
    const sched = new VirtualScheduler();
    const s = new MockStack();
    s.at = 100;
    const r = new StackRunner(s, { scheduler: sched });
    sched.advance(0);
    assert.equal(sched.pendingTimers(), 1);
    assert.equal(sched.nextDeadline(), 100);
    s.wake?.();
    sched.advance(0);
    assert.equal(sched.pendingTimers(), 1, 'same deadline: not re-armed');
    s.at = 50;
    s.wake?.();
    sched.advance(0);
    assert.equal(sched.pendingTimers(), 1, 'the old timer was cancelled');
    assert.equal(sched.nextDeadline(), 50);
    const before = s.polls.length;
    s.at = undefined;
    sched.advance(49);
    assert.equal(s.polls.length, before);
    sched.advance(1);
    assert.deepEqual(s.polls.slice(before), [50], 'polled at the deadline');
    assert.equal(sched.pendingTimers(), 0, 'nothing scheduled: no timer');
    r.close();
  });

  it('a wake-up during a poll schedules the next poll (never re-entrant); close stops everything', () => {
    const sched = new VirtualScheduler();
    const s = new MockStack();
    const r = new StackRunner(s, { scheduler: sched });
    let n = 0;
    s.during = () => {
      if (n++ < 3) s.wake?.();
    };
    sched.advance(0);
    assert.equal(s.polls.length, 4);
    assert.equal(s.maxDepth, 1);
    s.at = 10;
    s.wake?.();
    r.close();
    sched.advance(100);
    assert.equal(s.polls.length, 4, 'no poll after close');
    assert.equal(sched.pendingTimers(), 0);
  });
});

describe('StackRunner (real time)', () => {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const until = async (cond: () => boolean, ms: number): Promise<void> => {
    const end = performance.now() + ms;
    while (!cond() && performance.now() < end) await sleep(1);
  };

  it('serves a wake-up with a poll at the end of the current job (a microtask), before the event loop turns', async () => {
    const s = new MockStack();
    const r = new StackRunner(s);
    try {
      await new Promise<void>((resolve) => setImmediate(resolve)); // the constructor's poll
      const n = s.polls.length;
      let immediateRan = false;
      setImmediate(() => {
        immediateRan = true;
      });
      s.wake?.(); // as an application's write does
      assert.equal(s.polls.length, n, 'not inside the caller');
      await Promise.resolve();
      assert.equal(s.polls.length, n + 1, 'polled once the current job ended');
      assert.equal(immediateRan, false, 'before the event loop turned');
      for (let i = 0; i < 5; i++) s.wake?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
      assert.equal(s.polls.length, n + 2, 'the next wake-ups (coalesced) waited for the event loop');
    } finally {
      r.close();
    }
  });

  it('never chains microtask polls: a stack woken after every poll still lets timers and I/O run, one microtask poll per loop-driven poll', async () => {
    const s = new MockStack();
    let immediates = 0;
    // An exchange that never ends: every poll makes the application write again.
    s.during = () => queueMicrotask(() => s.wake?.());
    const r = new StackRunner(s);
    const tick = (): void => {
      immediates++;
      if (!r.keepingAlive && immediates < 1e6) setImmediate(tick);
    };
    try {
      setImmediate(tick);
      const t0 = performance.now();
      await sleep(20); // would never fire if the polls chained as microtasks
      const polls = s.polls.length;
      assert.ok(performance.now() - t0 < 1000, 'the timer fired in time');
      assert.ok(polls > 10, `the runner kept polling: ${polls}`);
      assert.ok(polls <= 2 * immediates + 4, `at most two polls per event-loop turn: ${polls} polls, ${immediates} turns`);
      assert.equal(s.maxDepth, 1, 'never re-entrant');
    } finally {
      r.close();
      immediates = 1e6;
    }
    const n = s.polls.length;
    await sleep(10);
    assert.equal(s.polls.length, n, 'no poll after close');
  });

  it('a poll queued as a microtask does not run after close', async () => {
    const s = new MockStack();
    const r = new StackRunner(s);
    await new Promise<void>((resolve) => setImmediate(resolve));
    const n = s.polls.length;
    s.wake?.();
    r.close();
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(s.polls.length, n);
  });

  it('keeps one Node timer: a later deadline keeps the armed (earlier) timer, which fires once early and re-arms; an earlier one re-arms', async () => {
    const s = new MockStack();
    // As a real stack: a deadline's work is done by the poll at or after it.
    s.during = () => {
      if (s.at !== undefined && performance.now() >= s.at) s.at = undefined;
    };
    const r = new StackRunner(s);
    try {
      await until(() => s.polls.length >= 1, 1000);
      const t0 = performance.now();
      s.at = t0 + 30;
      s.wake?.();
      await until(() => s.polls.length >= 2, 1000);
      // The deadline moves later (as RTO and delayed ACK do with every segment).
      s.at = t0 + 80;
      s.wake?.();
      await until(() => s.polls.some((t) => t >= t0 + 80), 2000);
      const late = s.polls.filter((t) => t >= t0 + 25);
      assert.ok(late.some((t) => t >= t0 + 80), 'polled at the later deadline');
      assert.ok(late.length <= 3, `no spinning: ${late.length} polls after the first deadline`);
      // An earlier deadline than the armed one re-arms at once.
      const t1 = performance.now();
      s.at = t1 + 1000;
      s.wake?.();
      await sleep(5);
      s.at = t1 + 20;
      s.wake?.();
      await until(() => s.polls.some((t) => t >= t1 + 20), 900);
      assert.ok(s.polls.some((t) => t >= t1 + 20 && t < t1 + 900), 'polled at the earlier deadline, not the first one');
      s.at = undefined;
    } finally {
      r.close();
    }
    const n = s.polls.length;
    await sleep(30);
    assert.equal(s.polls.length, n, 'no poll after close');
  });

  it('drives two stacks with setImmediate/setTimeout; holds a keep-alive handle only while sockets are open', async () => {
    const [a, b] = createCable();
    const A = new Stack({ rng: new XorShiftRng(1) });
    const B = new Stack({ rng: new XorShiftRng(2) });
    A.addInterface(a, { ipv4: { address: '10.0.0.1', prefixLen: 24 } });
    B.addInterface(b, { ipv4: { address: '10.0.0.2', prefixLen: 24 } });
    const ra = new StackRunner(A);
    const rb = new StackRunner(B);
    try {
      assert.equal(ra.keepingAlive, false, 'no sockets: the process may exit');
      const server = B.udpOpen() as UdpPcb;
      B.udpBind(server, 0, 7);
      assert.equal(rb.keepingAlive, true, 'an open socket keeps the process alive');
      const buf = new Uint8Array(64);
      server.onChange = () => {
        const from = { address: 0, port: 0 };
        for (let n = B.udpRecvFrom(server, buf, 64, from); n >= 0; n = B.udpRecvFrom(server, buf, 64, from)) {
          B.udpSendTo(rb.now(), server, buf, n, from.address, from.port);
        }
      };
      const client = A.udpOpen() as UdpPcb;
      const echoed = new Promise<string>((resolve) => {
        client.onChange = () => {
          const n = A.udpRecvFrom(client, buf, 64);
          if (n >= 0) resolve(new TextDecoder().decode(buf.subarray(0, n)));
        };
      });
      A.udpSendTo(ra.now(), client, new TextEncoder().encode('real time'), 9, 0x0a000002, 7);
      assert.equal(await echoed, 'real time');
      const pinged = new Promise<number>((resolve) => A.ping(ra.now(), '10.0.0.2', {}, (r) => resolve(r.code)));
      assert.equal(await pinged, 0);
      A.udpClose(client);
      B.udpClose(server);
      assert.equal(rb.keepingAlive, false, 'released with the last socket');
    } finally {
      ra.close();
      rb.close();
    }
  });
});
