/**
 * The `onReadable` subscribers of one link. Internal to `src/link/`.
 *
 * Wake-up semantics shared by every link here: `notify()` runs each wake-up synchronously, once
 * per frame that becomes receivable, possibly from inside somebody's `transmit()` (or, for a
 * loopback, from inside the consumer's own poll). A wake-up must therefore only note that a poll
 * is due (set a flag, schedule a poll); it must not call `receive()` or `transmit()` itself.
 * Spurious wake-ups are allowed; a missed one is a bug.
 */
export class WakeSet {
  private readonly wakes = new Set<() => void>();

  add(wake: () => void): () => void {
    // A wrapper per registration, so registering the same function twice gives two wake-ups
    // and each unsubscribe removes only its own.
    const entry = (): void => wake();
    this.wakes.add(entry);
    return () => {
      this.wakes.delete(entry);
    };
  }

  notify(): void {
    if (this.wakes.size === 0) return;
    for (const wake of this.wakes) wake();
  }

  clear(): void {
    this.wakes.clear();
  }

  get size(): number {
    return this.wakes.size;
  }
}
