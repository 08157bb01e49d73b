/**
 * The one loop that drives a userspace stack: the only place with real timers for it.
 *
 * - Wake-ups: the stack forwards every device's `onReadable` and every application-side
 *   change through `stack.onWake`; the runner (and the userspace backend, after each
 *   application call, via `wake()`) turns them into one poll "soon":
 *   `scheduler.setTimer(0, ...)` on a virtual scheduler; in real time a microtask (the
 *   poll runs at the end of the current job, so bytes an application writes go out
 *   before the event loop turns, as a kernel sends them in `write()`, and a frame the
 *   TAP's poll reports is taken in at once), but at most one microtask poll per turn of
 *   the event loop: later wake-ups in the same turn get `setImmediate`. An exchange
 *   that keeps waking the stack (a reply read, the application answers, ...) thus
 *   alternates with the event loop and never starves timers or other I/O. Wake-ups are
 *   coalesced: any number of them before the poll runs give one poll, and a poll never
 *   runs re-entrantly (wake-ups during a poll schedule the next one).
 * - After each poll: when the stack reports more work (`poll` returned true: a device
 *   still holds frames past its batch), another poll is scheduled soon; otherwise
 *   exactly **one** timer is kept, for `stack.pollAt()` (re-armed only when the deadline
 *   changes).
 * - Process lifetime (real time): the runner's timers and immediates are `unref`'d, so
 *   the stack alone never keeps Node running; while the stack has open sockets
 *   (`stack.openSockets > 0`) the runner holds one ref'd handle, as an open OS socket
 *   would. The count is re-checked after every poll and wake-up.
 *
 * Layering: runtime/ imports base/ only, so the stack is seen through the structural
 * `PolledStack` interface (which `Stack` from src/stack/stack.ts satisfies).
 */
import type { CancelTimer, Instant, Scheduler } from '../base/time.ts';
import { SystemScheduler, systemScheduler } from './system-scheduler.ts';

/** What the runner needs from a stack (`Stack` satisfies it). */
export interface PolledStack {
  /** Runs the stack at `now`; true when a device may still hold frames (poll again soon). */
  poll(now: Instant): boolean;
  /** The stack's next deadline, or `undefined` when it waits only for input. */
  pollAt(now?: Instant): Instant | undefined;
  /**
   * Calls `wake` when the stack has work (a device became readable, an application call); returns the function that
   * unsubscribes.
   */
  onWake(wake: () => void): () => void;
  /** Sockets open now: while above 0 the runner keeps Node alive. */
  readonly openSockets: number;
}

/** Options of `StackRunner`. */
export interface StackRunnerOptions {
  /** Clock and timers (default: the real `systemScheduler`). */
  scheduler?: Scheduler;
  /**
   * How to run a poll "soon". Default: with the real scheduler a microtask, at most one
   * per event-loop turn, else `setImmediate` (see above); `scheduler.setTimer(0, fn)`
   * otherwise. May return a cancel function.
   */
  defer?: (fn: () => void) => void | (() => void);
  /** Called with an exception thrown by a poll (default: rethrown from the timer callback, i.e. an uncaught exception). */
  onError?: (error: unknown) => void;
}

/** Keep-alive interval: long, never fires in practice (re-armed by Node after 2^31-1 ms anyway). */
const KEEPALIVE_MS = 0x3fffffff;
/** Largest delay `setTimeout` honours (2^31 - 1 ms); Node fires at once beyond it. */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * The one loop that drives a userspace stack in real (or virtual) time: coalesced wake-ups become one poll soon (a
 * microtask, at most one per event-loop turn), one timer for `stack.pollAt()`, and while sockets are open one ref'd
 * handle keeps Node alive (nothing else does).
 */
export class StackRunner {
  /** Clock and timers the runner uses. */
  readonly scheduler: Scheduler;
  private readonly stack: PolledStack;
  private readonly real: boolean;
  private readonly defer: (fn: () => void) => void | (() => void);
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly unsubscribe: () => void;

  private scheduled = false;
  private cancelSoon: (() => void) | undefined = undefined;
  /** Real time, default defer: the pending immediate (no cancel closure per wake-up). */
  private immediate: ReturnType<typeof setImmediate> | undefined = undefined;
  private timerAt: Instant | undefined = undefined;
  private cancelTimer: CancelTimer | undefined = undefined;
  /** Real time: the one Node timer, at `timerAt`. */
  private timeout: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Whether `defer` is the built-in real-time one (then `wake` uses a microtask or `immediate` directly). */
  private readonly defaultDefer: boolean;
  /**
   * Real time, default defer: a microtask poll ran (or is queued) and the event loop has
   * not turned since, so the next wake-up uses `setImmediate`.
   */
  private microUsed = false;
  /** Real time, default defer: a poll is queued as a microtask (it cannot be cancelled: `close` makes it a no-op). */
  private microQueued = false;
  /** Real time, default defer: the immediate that clears `microUsed` when the loop turns. */
  private microReset: ReturnType<typeof setImmediate> | undefined = undefined;
  private keepAlive: ReturnType<typeof setInterval> | undefined = undefined;
  private closed = false;
  private running = false;
  /** Polls run so far (diagnostics, tests). */
  polls = 0;

  constructor(stack: PolledStack, opts: StackRunnerOptions = {}) {
    this.stack = stack;
    this.scheduler = opts.scheduler ?? systemScheduler;
    this.real = this.scheduler === systemScheduler || this.scheduler instanceof SystemScheduler;
    this.onError = opts.onError;
    this.defaultDefer = opts.defer === undefined && this.real;
    this.defer =
      opts.defer ??
      (this.real
        ? (fn) => {
            // Not unref'd: Node does not wake its event loop for unref'd immediates (they
            // run only after the next I/O or timer event, which delayed every poll by up
            // to a second). A ref'd immediate holds the loop for one iteration only.
            const h = setImmediate(fn);
            return () => clearImmediate(h);
          }
        : (fn) => this.scheduler.setTimer(0, fn));
    this.unsubscribe = stack.onWake(() => this.wake());
    this.wake();
  }

  /** The scheduler's clock: the `now` every stack call should get. */
  now(): Instant {
    return this.scheduler.now();
  }

  /**
   * Schedules a poll soon (coalesced). Call after application calls that may have
   * changed the stack's work or deadlines; device wake-ups call it through the stack.
   */
  wake(): void {
    if (this.closed) return;
    this.updateKeepAlive();
    if (this.scheduled) return;
    this.scheduled = true;
    // One callback for the runner's life: no closures per wake-up or per timer on the
    // hot path (a poll runs per frame burst: every allocation there shows).
    if (this.defaultDefer) {
      if (!this.microUsed) {
        this.microUsed = true;
        this.microQueued = true;
        queueMicrotask(this.soonMicro);
        this.microReset ??= setImmediate(this.endTurn);
        return;
      }
      this.immediate = setImmediate(this.soon);
      return;
    }
    const cancel = this.defer(this.soon);
    this.cancelSoon = typeof cancel === 'function' ? cancel : undefined;
  }

  private readonly soon = (): void => {
    this.scheduled = false;
    this.cancelSoon = undefined;
    this.immediate = undefined;
    this.run();
  };

  /** The event loop turned since the last microtask poll: the next wake-up may use one again. */
  private readonly endTurn = (): void => {
    this.microReset = undefined;
    this.microUsed = false;
  };

  private readonly soonMicro = (): void => {
    if (!this.microQueued) return; // closed meanwhile
    this.microQueued = false;
    this.scheduled = false;
    this.run();
  };

  private readonly fire = (): void => {
    this.cancelTimer = undefined;
    this.timeout = undefined;
    this.timerAt = undefined;
    this.run();
  };

  /** Runs one poll now (synchronously), then re-arms as usual. For tests and benchmarks. */
  pollNow(): boolean {
    if (this.closed || this.running) return false;
    this.running = true;
    let more = false;
    try {
      this.polls++;
      more = this.stack.poll(this.scheduler.now());
    } finally {
      this.running = false;
    }
    this.afterPoll(more);
    return more;
  }

  /** Stops: no more polls, timers cancelled, the keep-alive handle released. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.cancelSoon?.();
    this.cancelSoon = undefined;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.microQueued = false;
    if (this.microReset !== undefined) clearImmediate(this.microReset);
    this.microReset = undefined;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    this.timeout = undefined;
    this.timerAt = undefined;
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  /** Whether a keep-alive handle is held (real time only). */
  get keepingAlive(): boolean {
    return this.keepAlive !== undefined;
  }

  private run(): void {
    if (this.closed) return;
    try {
      this.pollNow();
    } catch (error) {
      if (this.onError === undefined) throw error;
      this.onError(error);
      this.afterPoll(false);
    }
  }

  private afterPoll(more: boolean): void {
    if (this.closed) return;
    this.updateKeepAlive();
    if (more) {
      this.wake();
      return;
    }
    const now = this.scheduler.now();
    const at = this.stack.pollAt(now);
    if (at !== undefined && at <= now) {
      this.wake();
      return;
    }
    this.armTimer(at);
  }

  /**
   * Keeps exactly one timer for `at` (none when undefined). On virtual time it is at
   * `at`. On real time it may be earlier: deadlines move on almost every poll (RTO and
   * delayed ACK restart with each segment), nearly always later, and a Node timer costs
   * an object, a list insert and a cancel each time; so an armed timer that fires no
   * later than `at` is kept. Firing early costs one poll with nothing due, after which
   * the timer is armed for the deadline then current.
   */
  private armTimer(at: Instant | undefined): void {
    if (at === this.timerAt) return;
    if (this.real) {
      if (this.timerAt !== undefined && (at === undefined || at >= this.timerAt)) return;
      if (this.timeout !== undefined) clearTimeout(this.timeout);
      this.timeout = undefined;
      this.timerAt = at;
      if (at === undefined) return;
      // ms resolution: a deadline a fraction of a ms away is rounded up so the poll
      // never runs early (no spinning); capped where Node would fire at once instead.
      const delay = Math.min(MAX_TIMER_MS, Math.ceil(Math.max(0, at - this.scheduler.now())));
      const h = setTimeout(this.fire, delay);
      h.unref();
      this.timeout = h;
      return;
    }
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerAt = at;
    if (at === undefined) return;
    this.cancelTimer = this.scheduler.setTimer(Math.max(0, at - this.scheduler.now()), this.fire);
  }

  private updateKeepAlive(): void {
    if (!this.real) return;
    const want = !this.closed && this.stack.openSockets > 0;
    if (want && this.keepAlive === undefined) this.keepAlive = setInterval(() => {}, KEEPALIVE_MS);
    else if (!want && this.keepAlive !== undefined) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }
}
