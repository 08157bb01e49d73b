import type { CancelTimer, Scheduler } from '../base/time.ts';

/** Largest delay `setTimeout` honours (2^31 - 1 ms). */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * The real clock and timers: `performance.now()` and `setTimeout`. Timers are
 * `unref`'d unless `ref` is asked for, so a library timer never keeps a
 * process alive on its own (sockets keep it alive through their own handles).
 */
export class SystemScheduler implements Scheduler {
  private readonly refTimers: boolean;

  constructor(options: { ref?: boolean } = {}) {
    this.refTimers = options.ref ?? true;
  }

  now(): number {
    return performance.now();
  }

  wallClock(): number {
    return Date.now();
  }

  setTimer(delayMs: number, fn: () => void): CancelTimer {
    // Node fires setTimeout after ~1 ms for delays above 2^31-1 ms (about 24.8 days),
    // while IoT Socket timeouts are uint32 ms: chain timers for longer delays.
    const due = this.now() + Math.max(0, delayMs);
    let t: ReturnType<typeof setTimeout>;
    const arm = (): void => {
      const left = due - this.now();
      if (left > MAX_TIMER_MS) {
        t = setTimeout(arm, MAX_TIMER_MS);
      } else {
        t = setTimeout(fn, Math.max(0, left));
      }
      if (!this.refTimers) t.unref();
    };
    arm();
    return () => clearTimeout(t);
  }
}

/** The shared real-time scheduler (stateless apart from Node's own timer list). */
export const systemScheduler: Scheduler = new SystemScheduler();
