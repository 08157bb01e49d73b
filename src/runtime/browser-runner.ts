/**
 * Real time for a userspace stack in a browser page (also runs in Node: tests).
 *
 * `StackRunner` on the `systemScheduler` is tuned for Node (a microtask, then `setImmediate`
 * per turn, `unref`'d timers, a keep-alive handle): none of that exists in a browser. In a page
 * the runner gets
 * - `createBrowserScheduler()`: `performance.now()`, `Date.now()` and `setTimeout` (chained for
 *   very long delays), as a plain object, so the runner treats it as an ordinary scheduler;
 * - `TaskQueue`: the "poll soon" as a task posted through a `MessageChannel`, the browser's
 *   `setImmediate`: it runs after pending input (WebSocket messages) and is not clamped to 4 ms
 *   the way nested `setTimeout(0)` calls are.
 *
 * `createBrowserRunner(stack)` puts both together; everything else (coalesced wake-ups, one
 * timer for `pollAt`) is `StackRunner`'s.
 */
import type { Scheduler } from '../base/time.ts';
import { StackRunner, type PolledStack } from './stack-runner.ts';
import { SystemScheduler } from './system-scheduler.ts';

/** The real clock and timers as a plain `Scheduler` (not a `SystemScheduler`: no Node-only handling in `StackRunner`). */
export function createBrowserScheduler(): Scheduler {
  const real = new SystemScheduler({ ref: true });
  return {
    now: () => real.now(),
    wallClock: () => real.wallClock(),
    setTimer: (delayMs, fn) => real.setTimer(delayMs, fn),
  };
}

/** The part of a `MessagePort` used here, as both the DOM and Node (>= 15: `onmessage` starts the port) have it. */
interface Port {
  onmessage: ((event: unknown) => void) | null;
  postMessage(value: unknown): void;
  close(): void;
  /** Node only: a port with a listener keeps the process alive unless unref'd. */
  ref?: () => void;
  unref?: () => void;
}

interface Task {
  fn: (() => void) | undefined;
}

/** Callbacks run as separate tasks, in order, through one `MessageChannel` (a browser's `setImmediate`). */
export class TaskQueue {
  private readonly rx: Port;
  private readonly tx: Port;
  private readonly tasks: Task[] = [];
  private closed = false;

  constructor() {
    const channel = new MessageChannel();
    this.rx = channel.port1 as unknown as Port;
    this.tx = channel.port2 as unknown as Port;
    this.rx.onmessage = () => this.runOne();
    // Node (tests): held only while tasks are pending, as a ref'd `setImmediate` would be.
    this.rx.unref?.();
  }

  /** Runs `fn` in a task of its own soon; returns a cancel function. */
  post(fn: () => void): () => void {
    if (this.closed) return () => {};
    const task: Task = { fn };
    if (this.tasks.length === 0) this.rx.ref?.();
    this.tasks.push(task);
    this.tx.postMessage(0);
    return () => {
      task.fn = undefined;
    };
  }

  /** Drops what is pending and releases the channel. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tasks.length = 0;
    this.rx.onmessage = null;
    this.rx.close();
    this.tx.close();
  }

  private runOne(): void {
    const task = this.tasks.shift();
    if (this.tasks.length === 0) this.rx.unref?.();
    const fn = task?.fn;
    if (task === undefined || fn === undefined) return;
    task.fn = undefined;
    fn();
  }
}

/** Options of `createBrowserRunner`. */
export interface BrowserRunnerOptions {
  /** Clock and timers (default: a new `createBrowserScheduler()`). */
  scheduler?: Scheduler | undefined;
  /** Called with an exception thrown by a poll (default: rethrown, an uncaught exception in the page). */
  onError?: ((error: unknown) => void) | undefined;
}

/** A `StackRunner` for a page: real time, polls "soon" as `MessageChannel` tasks. `close()` the runner when done. */
export function createBrowserRunner(stack: PolledStack, opts: BrowserRunnerOptions = {}): StackRunner {
  const tasks = new TaskQueue();
  const runner = new StackRunner(stack, {
    scheduler: opts.scheduler ?? createBrowserScheduler(),
    defer: (fn) => tasks.post(fn),
    ...(opts.onError !== undefined ? { onError: opts.onError } : {}),
  });
  const close = runner.close.bind(runner);
  runner.close = () => {
    close();
    tasks.close();
  };
  return runner;
}
