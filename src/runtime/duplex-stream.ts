/**
 * Any Node `Duplex` as a `ByteStream`: a TCP connection (`net.Socket`, so PPP or SLIP can run
 * over TCP as tunnels and serial-over-IP servers such as ser2net do), a TLS socket, a child
 * process's stdio pair, or one of our own `SocketDuplex`es. Writes are copied; `false` from
 * `write` means the duplex is above its high-water mark (wait for `onDrain`). The stream ends
 * when the duplex closes, errors, or its readable side ends.
 */
import type { Duplex } from 'node:stream';
import { StreamEvents } from '../base/listeners.ts';

const errorOf = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** Structurally a `ByteStream` (src/link/byte-stream.ts; runtime/ may not import link/). */
export class DuplexByteStream extends StreamEvents {
  /** True once closed (locally or by the Duplex ending). */
  closed = false;
  private readonly duplex: Duplex;

  constructor(duplex: Duplex) {
    super();
    this.duplex = duplex;
    duplex.on('data', (b: Buffer | string) => {
      if (this.closed) return;
      const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
      this.dataCbs.emit(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
    });
    duplex.on('drain', () => {
      if (!this.closed) this.drainCbs.emit();
    });
    duplex.on('error', (e: unknown) => this.finish(errorOf(e)));
    duplex.on('end', () => this.finish(undefined));
    duplex.on('close', () => this.finish(undefined));
  }

  /** Writes a copy of `bytes` to the Duplex; false when it asks to wait for drain, or when closed (bytes dropped). */
  write(bytes: Uint8Array): boolean {
    if (this.closed || this.duplex.destroyed || this.duplex.writableEnded) return false;
    return this.duplex.write(Buffer.from(bytes));
  }

  /** Ends and destroys the Duplex; idempotent. */
  close(): void {
    if (this.closed) return;
    this.duplex.end();
    this.duplex.destroy();
    this.finish(undefined);
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.ended(err);
  }
}
