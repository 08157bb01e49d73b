/**
 * Time as a parameter. `Instant` is a monotonic millisecond count; a `Scheduler`
 * is the only way code above the pure core waits. Real implementations live in
 * `src/runtime/`; tests use `VirtualScheduler`.
 */

/** Monotonic milliseconds (not wall-clock). */
export type Instant = number;

/** A source of monotonic time. */
export interface Clock {
  /** The time now (monotonic ms). */
  now(): Instant;
}

/** Cancels a scheduled timer; calling it twice, or after the timer fired, is harmless. */
export type CancelTimer = () => void;

/** Timers on some clock: real (`runtime/`) or virtual (tests, simulations). */
export interface Scheduler extends Clock {
  /** Runs `fn` once, no earlier than `delayMs` from now. */
  setTimer(delayMs: number, fn: () => void): CancelTimer;
  /** Wall-clock milliseconds since the Unix epoch (for daytime/time services and certificates). */
  wallClock(): number;
}

interface VirtualTimer {
  at: Instant;
  seq: number;
  fn: (() => void) | undefined;
}

/**
 * A virtual clock with an ordered timer queue: `advance(ms)` / `runUntilIdle()` fire due timers in
 * deadline order (ties in scheduling order), as gVisor's ManualClock does. Deterministic.
 */
export class VirtualScheduler implements Scheduler {
  private time: Instant;
  private seq = 0;
  private readonly queue: VirtualTimer[] = [];
  private readonly epochMs: number;

  constructor(start: Instant = 0, epochMs = 1_700_000_000_000) {
    this.time = start;
    this.epochMs = epochMs;
  }

  /** The virtual time now. */
  now(): Instant {
    return this.time;
  }

  wallClock(): number {
    return this.epochMs + this.time;
  }

  setTimer(delayMs: number, fn: () => void): CancelTimer {
    const timer: VirtualTimer = { at: this.time + Math.max(0, delayMs), seq: this.seq++, fn };
    // Insert keeping (at, seq) order; timers are few, a linear scan from the end is fine.
    let i = this.queue.length;
    while (i > 0) {
      const prev = this.queue[i - 1];
      if (prev === undefined || prev.at <= timer.at) break;
      i--;
    }
    this.queue.splice(i, 0, timer);
    return () => {
      timer.fn = undefined;
    };
  }

  /** The next pending deadline, or undefined. */
  nextDeadline(): Instant | undefined {
    return this.queue.find((t) => t.fn !== undefined)?.at;
  }

  /** Number of live timers (for leak checks). */
  pendingTimers(): number {
    return this.queue.filter((t) => t.fn !== undefined).length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way in order. */
  advance(ms: number): void {
    this.advanceTo(this.time + ms);
  }

  /** Moves time to `t`, firing every timer due on the way in order. */
  advanceTo(t: Instant): void {
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.at > t) break;
      this.queue.shift();
      this.time = Math.max(this.time, next.at);
      next.fn?.();
    }
    this.time = Math.max(this.time, t);
  }
}
