/**
 * The serial line while the modem is in data mode, as a `ByteStream` of its own for PPP: writes go
 * straight to the modem's stream, bytes come from the AT engine's data-mode handler (`push`). It
 * ends (`onClose`) when the call ends or the owner closes it; closing it never closes the modem's
 * stream, which goes back to AT commands.
 */
import { StreamEvents, type Unsubscribe } from '../../base/listeners.ts';
import type { ByteStream } from '../../link/byte-stream.ts';

export class DataChannel extends StreamEvents implements ByteStream {
  private ended_ = false;
  private readonly line: ByteStream;
  private readonly offDrain: Unsubscribe;

  constructor(line: ByteStream) {
    super();
    this.line = line;
    this.offDrain = line.onDrain(() => this.drainCbs.emit());
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
    if (!this.ended_) this.dataCbs.emit(bytes);
  }

  /** The call ended (or the owner is done with it). Idempotent. */
  close(): void {
    if (this.ended_) return;
    this.ended_ = true;
    this.offDrain();
    this.ended();
  }
}
