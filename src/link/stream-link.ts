/**
 * What every link over a `ByteStream` shares (SLIP, PPP): the transmit side that writes encoded
 * frames and, while the stream asks to wait, keeps a backlog bounded in bytes that it writes on
 * `onDrain`; the receive side's bounded packet queue with its `onReadable` wake-ups; and the
 * counters and the lifetime (`close()` unsubscribes and closes the stream unless told not to).
 * Internal to `src/link/`; the framing is the subclass's business.
 */
import type { Instant } from '../base/time.ts';
import type { ByteStream, Unsubscribe } from './byte-stream.ts';
import type { Link, LinkCaps, LinkStats } from './link.ts';
import { WakeSet } from './wake-set.ts';

/** Options every stream link takes. */
export interface StreamLinkOptions {
  /** Receive queue bound in packets (default 64). */
  queueFrames?: number;
  /** Encoded bytes held back while the stream asks to wait (default 16 384). */
  txBacklogBytes?: number;
  /** `close()` closes the stream too (default true). */
  closeStream?: boolean;
}

/** `LinkStats` with the drops split by reason. */
export interface StreamLinkStats extends LinkStats {
  /** Packets given to `transmit` larger than the MTU. */
  droppedOversize: number;
  /** Packets given to `transmit` after the link or the stream closed. */
  droppedClosed: number;
  /** Packets given to `transmit` while the backlog was full. */
  droppedBacklog: number;
  /** Received packets dropped because the receive queue was full. */
  droppedQueueFull: number;
  /** Times the stream asked to wait (`write` returned false). */
  txBlocked: number;
}

export type StreamLinkDrop = 'droppedClosed' | 'droppedOversize' | 'droppedBacklog';

const DEFAULT_QUEUE_FRAMES = 64;
const DEFAULT_BACKLOG_BYTES = 16_384;

export abstract class StreamLink implements Link {
  /** Medium `'ip'` and the link's MTU. */
  readonly caps: LinkCaps;
  /** The byte stream underneath. */
  protected readonly stream: ByteStream;
  /** True once `close()` was called. */
  protected closed = false;
  /** Counters (see `StreamLinkStats`). */
  protected readonly counters: StreamLinkStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    dropped: 0,
    droppedOversize: 0,
    droppedClosed: 0,
    droppedBacklog: 0,
    droppedQueueFull: 0,
    txBlocked: 0,
  };
  private readonly wakes = new WakeSet();
  private readonly subscriptions: Unsubscribe[] = [];
  private readonly closeStream: boolean;
  /** Receive ring of decoded packets. */
  private readonly rx: (Uint8Array | undefined)[];
  private rxHead = 0;
  private rxCount = 0;
  /** Encoded frames waiting for the stream's drain. */
  private backlog: Uint8Array[] = [];
  private backlogBytes = 0;
  private readonly backlogLimit: number;
  /** The stream asked to wait and has not drained yet. */
  private blocked = false;

  protected constructor(stream: ByteStream, caps: LinkCaps, options: StreamLinkOptions) {
    const queueFrames = options.queueFrames ?? DEFAULT_QUEUE_FRAMES;
    if (!Number.isInteger(queueFrames) || queueFrames < 1) throw new RangeError(`queueFrames must be an integer >= 1, got ${queueFrames}`);
    this.backlogLimit = Math.max(0, Math.floor(options.txBacklogBytes ?? DEFAULT_BACKLOG_BYTES));
    this.caps = Object.freeze({ ...caps });
    this.stream = stream;
    this.closeStream = options.closeStream ?? true;
    this.rx = new Array<Uint8Array | undefined>(queueFrames);
    this.subscriptions.push(
      stream.onData((bytes) => {
        if (!this.closed) this.input(bytes);
      }),
      stream.onDrain(() => this.flush()),
      stream.onClose((error) => this.streamClosed(error)),
    );
  }

  /** Bytes from the stream (not called after `close()`). */
  protected abstract input(bytes: Uint8Array): void;

  /** The stream ended by itself (or was closed); the default does nothing more. */
  protected streamClosed(_error: Error | undefined): void {}

  /** Packets waiting for `receive()`. */
  get queued(): number {
    return this.rxCount;
  }

  /** Encoded bytes held back for the stream's drain. */
  get backlogged(): number {
    return this.backlogBytes;
  }

  receive(_now: Instant): Uint8Array | undefined {
    if (this.rxCount === 0) return undefined;
    const i = this.rxHead;
    const packet = this.rx[i] as Uint8Array;
    this.rx[i] = undefined;
    this.rxHead = (i + 1) % this.rx.length;
    this.rxCount--;
    this.counters.rxFrames++;
    this.counters.rxBytes += packet.length;
    return packet;
  }

  abstract transmit(now: Instant, frame: Uint8Array): boolean;

  onReadable(wake: () => void): () => void {
    if (this.closed) return () => {};
    const off = this.wakes.add(wake);
    if (this.rxCount > 0) wake();
    return off;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.subscriptions) off();
    this.wakes.clear();
    this.rx.fill(undefined);
    this.rxCount = 0;
    this.backlog = [];
    this.backlogBytes = 0;
    this.closing();
    if (this.closeStream) this.stream.close();
  }

  /** Subclass clean-up at `close()`, before the stream is closed. */
  protected closing(): void {}

  /**
   * Writes one encoded frame (a view the caller may reuse afterwards), or backlogs a copy while the
   * stream asks to wait. False, counted, when the backlog is full or the stream is closed.
   */
  protected write(wire: Uint8Array): boolean {
    if (this.closed || this.stream.closed) return this.drop('droppedClosed');
    if (this.blocked) {
      if (this.backlogBytes + wire.length > this.backlogLimit) return this.drop('droppedBacklog');
      this.backlog.push(wire.slice());
      this.backlogBytes += wire.length;
    } else if (!this.stream.write(wire)) {
      if (this.stream.closed) return this.drop('droppedClosed');
      this.blocked = true;
      this.counters.txBlocked++;
    }
    return true;
  }

  /** Counts a dropped packet under `reason`; returns false (for `transmit`). */
  protected drop(reason: StreamLinkDrop): false {
    this.counters.dropped++;
    this.counters[reason]++;
    return false;
  }

  /** Queues a received packet for the stack (the link gives up ownership). */
  protected enqueue(packet: Uint8Array): void {
    const n = this.rx.length;
    if (this.rxCount >= n) {
      this.counters.dropped++;
      this.counters.droppedQueueFull++;
      return;
    }
    this.rx[(this.rxHead + this.rxCount) % n] = packet;
    this.rxCount++;
    this.wakes.notify();
  }

  /** The stream drained: write the backlog until it asks to wait again. */
  private flush(): void {
    if (this.closed) return;
    this.blocked = false;
    while (this.backlog.length > 0) {
      const next = this.backlog.shift() as Uint8Array;
      this.backlogBytes -= next.length;
      if (!this.stream.write(next)) {
        this.blocked = true;
        this.counters.txBlocked++;
        return;
      }
    }
  }
}
