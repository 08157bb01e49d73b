import type { CancelTimer, Scheduler } from '../base/time.ts';

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
    const t = setTimeout(fn, Math.max(0, delayMs));
    if (!this.refTimers) t.unref();
    return () => clearTimeout(t);
  }
}

/** The shared real-time scheduler (stateless apart from Node's own timer list). */
export const systemScheduler: Scheduler = new SystemScheduler();
