/**
 * The serial line while the modem is in data mode, as a `ByteStream` of its own for PPP: writes go
 * straight to the modem's stream, bytes come from the AT engine's data-mode handler (`push`). It
 * ends (`onClose`) when the call ends or the owner closes it; closing it never closes the modem's
 * stream, which goes back to AT commands.
 *
 * Bytes pushed before anybody listens (the peer's first LCP frame often shares a chunk with
 * `CONNECT`, before the PPP link exists) are kept and delivered to the first listener on the next
 * timer turn, never inside `onData` itself.
 */
import { StreamEvents, type Unsubscribe } from '../../base/listeners.ts';
import type { Scheduler } from '../../base/time.ts';
import type { ByteStream } from '../../link/byte-stream.ts';

/** Early bytes kept for the first listener at most. */
const EARLY_LIMIT = 65_536;

export class DataChannel extends StreamEvents implements ByteStream {
  private ended_ = false;
  private readonly line: ByteStream;
  private readonly scheduler: Scheduler;
  private readonly offDrain: Unsubscribe;
  private early: Uint8Array[] | undefined = [];
  private earlyBytes = 0;

  constructor(line: ByteStream, scheduler: Scheduler) {
    super();
    this.line = line;
    this.scheduler = scheduler;
    this.offDrain = line.onDrain(() => this.drainCbs.emit());
  }

  override onData(cb: (bytes: Uint8Array) => void): Unsubscribe {
    const off = super.onData(cb);
    const early = this.early;
    if (early !== undefined) {
      this.early = undefined;
      if (early.length > 0) {
        this.scheduler.setTimer(0, () => {
          for (const b of early) if (!this.ended_) this.dataCbs.emit(b);
        });
      }
    }
    return off;
  }

  get closed(): boolean {
    return this.ended_ || this.line.closed;
  }

  get baudRate(): number | undefined {
    return this.line.baudRate;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    return this.line.write(bytes);
  }

  /** Bytes the modem sent in data mode. */
  push(bytes: Uint8Array): void {
    if (this.ended_) return;
    if (this.early !== undefined) {
      if (this.earlyBytes + bytes.length <= EARLY_LIMIT) {
        this.early.push(bytes.slice());
        this.earlyBytes += bytes.length;
      }
      return;
    }
    this.dataCbs.emit(bytes);
  }

  /** The call ended (or the owner is done with it). Idempotent. */
  close(): void {
    if (this.ended_) return;
    this.ended_ = true;
    this.offDrain();
    this.ended();
  }
}
