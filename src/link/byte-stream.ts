/**
 * The byte-stream contract: a duplex stream of bytes such as a UART (a serial port, a pty, an
 * in-memory pipe). AT-command drivers and module simulators run over it. Unlike a `Link` it has
 * no frame boundaries: a write may arrive split into any number of reads, and several writes may
 * arrive merged into one.
 *
 * Invariants shared by every implementation:
 * - `write` copies what it keeps (the caller may reuse its buffer at once) and never delivers
 *   re-entrantly: the peer's data callbacks run later, never inside `write`.
 * - Bytes arrive in order, none lost or duplicated, while the stream is open.
 * - `onData` callbacks get a view that is theirs to keep.
 * - `onClose` callbacks run once, after the last `onData`; `close()` is idempotent and fires the
 *   local close callbacks too (with no error).
 */
import type { Unsubscribe } from '../base/listeners.ts';

export { Listeners, type Unsubscribe } from '../base/listeners.ts';

/** Modem-control outputs (the DTE's RTS and DTR). */
export interface ModemOutputs {
  /** Request To Send. */
  rts?: boolean;
  /** Data Terminal Ready. */
  dtr?: boolean;
}

/** Modem-control inputs as seen by this end. */
export interface ModemInputs {
  /** Clear To Send. */
  cts: boolean;
  /** Data Set Ready. */
  dsr: boolean;
  /** Data Carrier Detect. */
  dcd: boolean;
}


/**
 * A duplex stream of bytes such as a UART (no frame boundaries). `write` copies what it keeps and never delivers
 * re-entrantly; bytes arrive in order while open; `onClose` runs once, after the last `onData`.
 */
export interface ByteStream {
  /**
   * Queues `bytes` for sending. Returns false when the caller should wait for `onDrain` before
   * writing more (the bytes are queued anyway), or when the stream is closed (the bytes are dropped).
   */
  write(bytes: Uint8Array): boolean;
  /** Bytes as they arrive. */
  onData(cb: (bytes: Uint8Array) => void): Unsubscribe;
  /** Once, when the stream ends (locally or from the far side); `error` when it ended by a fault. */
  onClose(cb: (error?: Error) => void): Unsubscribe;
  /** After a `write` returned false, once the queue has drained below its mark. */
  onDrain(cb: () => void): Unsubscribe;
  /** Closes this end; bytes still queued may be dropped. Idempotent. */
  close(): void;
  /** True once the stream ended (locally or from the far side). */
  readonly closed: boolean;
  /** The current line rate, where the transport has one. */
  readonly baudRate?: number | undefined;
  /** Changes the line rate (UART transports). */
  setBaudRate?(baud: number): Promise<void>;
  /** Sets modem-control outputs (transports with RTS/DTR). */
  setModemOutputs?(lines: ModemOutputs): Promise<void>;
  /** Reads modem-control inputs (transports with CTS/DSR/DCD). */
  getModemInputs?(): Promise<ModemInputs>;
}

/** Bits on the wire per byte with 8N1 framing: start bit, 8 data bits, stop bit. */
export const BITS_PER_BYTE_8N1 = 10;

/** The milliseconds a UART at `baud` (8N1) needs to send `bytes` bytes. */
export function lineTimeMs(bytes: number, baud: number): number {
  return (bytes * BITS_PER_BYTE_8N1 * 1000) / baud;
}

/** Payload bytes per second a UART at `baud` (8N1) carries at most. */
export function lineRateBytesPerSecond(baud: number): number {
  return baud / BITS_PER_BYTE_8N1;
}
