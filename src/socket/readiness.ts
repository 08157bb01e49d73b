import type { CoreSocket } from '../backends/contract.ts';
import type { CancelTimer, Scheduler } from '../base/time.ts';

/** Why a wait ended. */
export type WaitOutcome = 'changed' | 'timeout' | 'aborted' | 'closed';

interface Waiter {
  resolve: (outcome: WaitOutcome) => void;
  cancelTimer: CancelTimer | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Turns a `CoreSocket`'s one change callback into awaitable waits with deadlines
 * and `AbortSignal`s. This is the single blocking mechanism of the socket layer:
 * an operation tries the non-blocking core call, and on `EAGAIN` waits here for the
 * next change (or its deadline), then tries again.
 *
 * Every change wakes every waiter (in the order they started waiting); each
 * re-checks its own condition. `closeAll()` settles pending waits with `'closed'`.
 */
export class Readiness {
  private readonly waiters = new Set<Waiter>();
  private readonly scheduler: Scheduler;
  private closed = false;

  constructor(core: CoreSocket, scheduler: Scheduler) {
    this.scheduler = scheduler;
    core.onChange(() => this.notify());
  }

  /** Number of pending waits (for leak checks). */
  get pending(): number {
    return this.waiters.size;
  }

  /**
   * Waits for the next change. `deadline` is an absolute `Instant` on the scheduler's
   * clock (undefined = forever).
   */
  wait(deadline?: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.closed) return Promise.resolve('closed');
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = { resolve, cancelTimer: undefined, signal, onAbort: undefined };
      if (deadline !== undefined) {
        const delay = deadline - this.scheduler.now();
        if (delay <= 0) {
          resolve('timeout');
          return;
        }
        waiter.cancelTimer = this.scheduler.setTimer(delay, () => this.settle(waiter, 'timeout'));
      }
      if (signal !== undefined) {
        waiter.onAbort = () => this.settle(waiter, 'aborted');
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.add(waiter);
    });
  }

  /** Wakes every waiter ('changed'). Called by the core socket's change callback. */
  notify(): void {
    if (this.waiters.size === 0) return;
    for (const w of [...this.waiters]) this.settle(w, 'changed');
  }

  /** Settles every pending and future wait with 'closed'. */
  closeAll(): void {
    this.closed = true;
    for (const w of [...this.waiters]) this.settle(w, 'closed');
  }

  private settle(w: Waiter, outcome: WaitOutcome): void {
    if (!this.waiters.delete(w)) return;
    w.cancelTimer?.();
    if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve(outcome);
  }
}

/** Absolute deadline for a timeout in ms (`undefined` or 0 = none). */
export function deadlineAfter(scheduler: Scheduler, timeoutMs: number | undefined): number | undefined {
  return timeoutMs !== undefined && timeoutMs > 0 ? scheduler.now() + timeoutMs : undefined;
}
