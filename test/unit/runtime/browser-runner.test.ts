/**
 * The browser runner (src/runtime/browser-runner.ts), run in Node (which has MessageChannel,
 * performance.now and setTimeout too): TaskQueue order, task boundaries, cancel and close; the
 * plain scheduler; createBrowserRunner coalescing wake-ups into one poll per task and closing
 * its queue. No timing assertions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBrowserRunner, createBrowserScheduler, TaskQueue } from '../../../src/runtime/browser-runner.ts';
import type { PolledStack } from '../../../src/runtime/stack-runner.ts';
import { SystemScheduler } from '../../../src/runtime/system-scheduler.ts';

/** Resolves after the queue has run everything posted before. */
function drained(q: TaskQueue): Promise<void> {
  return new Promise((resolve) => q.post(resolve));
}

class CountingStack implements PolledStack {
  polls = 0;
  openSockets = 0;
  wake: (() => void) | undefined;
  private waiter: (() => void) | undefined;
  poll(): boolean {
    this.polls++;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
    return false;
  }
  /** Resolves at the next poll. */
  polled(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
  pollAt(): number | undefined {
    return undefined;
  }
  onWake(w: () => void): () => void {
    this.wake = w;
    return () => {
      this.wake = undefined;
    };
  }
}

describe('TaskQueue', () => {
  it('runs posted callbacks in order, each in a task of its own; cancelled ones are skipped', async () => {
    const q = new TaskQueue();
    const seen: string[] = [];
    q.post(() => {
      seen.push('a');
      queueMicrotask(() => seen.push('a-micro'));
    });
    const cancel = q.post(() => seen.push('cancelled'));
    q.post(() => seen.push('b'));
    cancel();
    await drained(q);
    assert.deepEqual(seen, ['a', 'a-micro', 'b']);
    q.close();
  });

  it('close() drops pending callbacks and ignores later posts', async () => {
    const q = new TaskQueue();
    const seen: string[] = [];
    q.post(() => seen.push('pending'));
    q.close();
    q.close();
    q.post(() => seen.push('after'));
    const other = new TaskQueue();
    await drained(other);
    await drained(other);
    other.close();
    assert.deepEqual(seen, []);
  });
});

describe('createBrowserScheduler / createBrowserRunner', () => {
  it('the scheduler is a plain real-time Scheduler, not a SystemScheduler', async () => {
    const s = createBrowserScheduler();
    assert.ok(!(s instanceof SystemScheduler));
    const t0 = s.now();
    await new Promise<void>((resolve) => s.setTimer(0, resolve));
    assert.ok(s.now() >= t0);
    assert.ok(Math.abs(s.wallClock() - Date.now()) < 60_000);
    const cancel = s.setTimer(0, () => assert.fail('cancelled timer fired'));
    cancel();
  });

  it('coalesces wake-ups into one poll per task and stops on close', async () => {
    const stack = new CountingStack();
    const first = stack.polled();
    const runner = createBrowserRunner(stack);
    assert.equal(stack.polls, 0, 'no poll inside the constructor');
    await first;
    assert.equal(stack.polls, 1, 'the initial wake-up polled once');
    // Three wake-ups, one poll: had each posted a task, they would all run before the fourth's.
    stack.wake?.();
    stack.wake?.();
    stack.wake?.();
    assert.equal(stack.polls, 1, 'polls are deferred to a task');
    await stack.polled();
    stack.wake?.();
    await stack.polled();
    assert.equal(stack.polls, 3);
    runner.close();
    assert.equal(stack.wake, undefined, 'close() unsubscribed from the stack');
  });
});
