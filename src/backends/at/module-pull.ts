/**
 * Pull-mode read-ahead for one module link (ESP passive receive, Quectel buffer mode): after the
 * module says data waits (`readable`), read until it says nothing is left, one read at a time,
 * pausing while the socket has no room and resuming when asked (`kick`). A notice that arrives
 * while a read is in flight is not lost: an empty answer older than the latest notice does not
 * end the loop.
 */
export class PullLoop {
  private pulling = false;
  private notices = 0;
  /** The module may hold unread bytes for the link. */
  more = false;

  /**
   * @param readOnce one read from the module: resolves the bytes it got (0: the module had
   *   nothing), or undefined to pause (no room, link gone, read refused).
   */
  constructor(private readonly readOnce: () => Promise<number | undefined>) {}

  /** The module announced data. */
  notice(): void {
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
    this.more = false;
  }

  private async run(): Promise<void> {
    if (this.pulling) return;
    this.pulling = true;
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
  }
}
