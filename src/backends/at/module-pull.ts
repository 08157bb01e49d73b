/**
 * Pull-mode read-ahead for one module link (ESP passive receive, Quectel buffer mode): after the
 * module says data waits (`readable`), read until it says nothing is left, one read at a time,
 * pausing while the socket has no room and resuming when asked (`kick`). A notice that arrives
 * while a read is in flight is not lost: an empty answer older than the latest notice does not
 * end the loop.
 *
 * A notice the host never saw (garbled on the line, or a module that announces data only once
 * until it is read) would leave bytes in the module forever, so while the link is open and idle
 * the loop also reads on its own every `pollMs` (an empty read is one short command).
 */
import type { CancelTimer, Scheduler } from '../../base/time.ts';

export class PullLoop {
  private pulling = false;
  private notices = 0;
  private stopped = false;
  private cancelPoll: CancelTimer | undefined;
  /** The module may hold unread bytes for the link. */
  more = false;

  /**
   * @param readOnce one read from the module: resolves the bytes it got (0: the module had
   *   nothing), or undefined to pause (no room, link gone, read refused).
   * @param poll the clock and the idle poll period (0: no polling).
   */
  constructor(
    private readonly readOnce: () => Promise<number | undefined>,
    private readonly poll?: { readonly scheduler: Scheduler; readonly pollMs: number },
  ) {}

  /** The module announced data. */
  notice(): void {
    if (this.stopped) return;
    this.notices++;
    this.more = true;
    void this.run();
  }

  /** Room was made: go on reading if the module may still hold bytes. */
  kick(): void {
    if (this.more) void this.run();
  }

  /** The link is gone: nothing more to read. */
  stop(): void {
    this.stopped = true;
    this.more = false;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
  }

  private async run(): Promise<void> {
    if (this.pulling) return;
    this.pulling = true;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
    try {
      while (this.more) {
        const seen = this.notices;
        const got = await this.readOnce();
        if (got === undefined) break;
        if (got === 0 && this.notices === seen) this.more = false;
      }
    } finally {
      this.pulling = false;
    }
    this.armPoll();
  }

  /** Idle and caught up: look again after `pollMs` in case a notice was lost. */
  private armPoll(): void {
    const p = this.poll;
    if (p === undefined || p.pollMs <= 0 || this.stopped || this.more || this.cancelPoll !== undefined) return;
    this.cancelPoll = p.scheduler.setTimer(p.pollMs, () => {
      this.cancelPoll = undefined;
      this.notice();
    });
  }
}
