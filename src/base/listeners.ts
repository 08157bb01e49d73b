/** Listener sets for event-style interfaces (byte streams and the like). */

/** Removes a listener added by an `onX(cb)` method. */
export type Unsubscribe = () => void;

/**
 * A small listener set used by the implementations: `add` returns the unsubscribe function,
 * `emit` calls a snapshot (listeners added or removed during an emit take effect next time).
 */
export class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();

  add(cb: (...args: A) => void): Unsubscribe {
    // Wrap so that the same function added twice counts twice and unsubscribes once.
    const entry = (...args: A): void => cb(...args);
    this.set.add(entry);
    return () => {
      this.set.delete(entry);
    };
  }

  emit(...args: A): void {
    for (const cb of [...this.set]) cb(...args);
  }

  clear(): void {
    this.set.clear();
  }

  get size(): number {
    return this.set.size;
  }
}

/**
 * The listener half of a byte stream (`onData`, `onClose`, `onDrain`), shared by the
 * implementations: `ended` runs the close callbacks once and drops every listener.
 */
export class StreamEvents {
  /** The data listeners (implementations emit to them). */
  protected readonly dataCbs = new Listeners<[Uint8Array]>();
  /** The drain listeners (implementations emit to them). */
  protected readonly drainCbs = new Listeners<[]>();
  private readonly closeCbs = new Listeners<[Error?]>();
  private closeFired = false;

  /** Calls `cb` with each chunk of bytes as it arrives; returns the function that unsubscribes. */
  onData(cb: (bytes: Uint8Array) => void): Unsubscribe {
    return this.dataCbs.add(cb);
  }

  /**
   * Calls `cb` once when the stream ends (`error` when it ended by a fault); returns the function that unsubscribes.
   */
  onClose(cb: (error?: Error) => void): Unsubscribe {
    return this.closeCbs.add(cb);
  }

  /** Calls `cb` when a write that returned false has drained; returns the function that unsubscribes. */
  onDrain(cb: () => void): Unsubscribe {
    return this.drainCbs.add(cb);
  }

  /** Runs the close callbacks (once) and forgets every listener. */
  protected ended(error?: Error): void {
    if (this.closeFired) return;
    this.closeFired = true;
    this.closeCbs.emit(error);
    this.dataCbs.clear();
    this.drainCbs.clear();
    this.closeCbs.clear();
  }
}
