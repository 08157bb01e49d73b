/**
 * A real serial port (serialport v13: its prebuilt bindings ship in the tarball, so no install
 * script is needed) as a byte stream: `openSerialPort(path, { baudRate, rtscts })` resolves once
 * the port is open. Matches the `ByteStream` contract of src/link/byte-stream.ts structurally
 * (runtime/ imports base/ only): write with back-pressure, onData/onClose/onDrain, close,
 * setBaudRate (port.update), RTS/DTR (port.set) and CTS/DSR/DCD (port.get).
 *
 * Bytes are handed out as plain Uint8Array views (no Buffer in the contract). A port that goes
 * away (unplugged, the pty master closed) ends the stream with the error serialport reports; on
 * Linux its reader does not notice a hang-up by itself, so that is at the next write (EIO).
 */
import { SerialPort } from 'serialport';
import { StreamEvents } from '../base/listeners.ts';

/** Options of `openSerialPort`. */
export interface SerialPortOptions {
  /** Line rate, bits per second (default 115 200). */
  baudRate?: number;
  /** Hardware flow control (RTS/CTS), default false. */
  rtscts?: boolean;
}

export interface SerialModemInputs {
  cts: boolean;
  dsr: boolean;
  dcd: boolean;
}

const errorOf = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** An open serial port as a byte stream. */
export class SerialByteStream extends StreamEvents {
  /** True once the port closed. */
  closed = false;
  private currentBaud: number;

  constructor(
    private readonly port: SerialPort,
    baudRate: number,
  ) {
    super();
    this.currentBaud = baudRate;
    port.on('data', (b: Buffer) => {
      if (!this.closed) this.dataCbs.emit(new Uint8Array(b.buffer, b.byteOffset, b.length));
    });
    port.on('drain', () => {
      if (!this.closed) this.drainCbs.emit();
    });
    port.on('error', (e: unknown) => this.finish(errorOf(e)));
    port.on('close', (e: unknown) => this.finish(e === undefined || e === null ? undefined : errorOf(e)));
  }

  /** The device path. */
  get path(): string {
    return this.port.path;
  }

  /** The line rate now, bits per second. */
  get baudRate(): number {
    return this.currentBaud;
  }

  /** Writes a copy of `bytes`; false when closed (bytes dropped) or when serialport asks to wait for drain. */
  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    // serialport may keep the buffer until written: hand it a copy.
    return this.port.write(Buffer.from(bytes));
  }

  /** Closes the port; idempotent. */
  close(): void {
    if (this.closed) return;
    if (this.port.isOpen) this.port.close(() => undefined);
    this.finish(undefined);
  }

  /** Changes the line rate; rejects with serialport's error. */
  setBaudRate(baud: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.port.update({ baudRate: baud }, (e) => {
        if (e) reject(e);
        else {
          this.currentBaud = baud;
          resolve();
        }
      });
    });
  }

  /** Sets RTS and/or DTR; rejects with serialport's error. */
  setModemOutputs(lines: { rts?: boolean; dtr?: boolean }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.port.set({ ...(lines.rts !== undefined ? { rts: lines.rts } : {}), ...(lines.dtr !== undefined ? { dtr: lines.dtr } : {}) }, (e) =>
        e ? reject(e) : resolve(),
      );
    });
  }

  /** Reads CTS, DSR and DCD; rejects with serialport's error. */
  getModemInputs(): Promise<SerialModemInputs> {
    return new Promise((resolve, reject) => {
      this.port.get((e, bits) => {
        if (e || !bits) reject(e ?? new Error('serial port: no modem bits'));
        else resolve({ cts: bits.cts, dsr: bits.dsr, dcd: bits.dcd });
      });
    });
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.ended(err);
  }
}

const UV_READABLE = 1;
const UV_WRITABLE = 2;

interface PollerLike {
  poll(flags?: number): void;
  listenerCount(event: string): number;
}

/**
 * Works around a lost wake-up in serialport's Unix poller (@serialport/bindings-cpp 13.0.0,
 * src/poller.cpp): `Poller::poll(events)` records the interest but calls `uv_poll_start` with the
 * new flags only, so a reader re-arming 'readable' while a write waits for 'writable' (EAGAIN)
 * cancels the writable interest, and the write (and `drain`) stalls until a byte arrives from the
 * other side. A PPP peer sending bulk data to one that only ACKs stalled for seconds. Every
 * `poll()` from JS now also asks for the events somebody still waits for (the poller is an
 * EventEmitter whose waiters are `once` listeners). Does nothing when the internals differ.
 */
function fixPoller(port: SerialPort): void {
  const poller = (port as unknown as { port?: { poller?: PollerLike } }).port?.poller;
  if (poller === undefined || typeof poller.poll !== 'function' || typeof poller.listenerCount !== 'function') return;
  const poll = poller.poll.bind(poller);
  poller.poll = (flags = 0): void => {
    const waiting = (poller.listenerCount('readable') > 0 ? UV_READABLE : 0) | (poller.listenerCount('writable') > 0 ? UV_WRITABLE : 0);
    poll(flags | waiting);
  };
}

/** Opens `path` (e.g. /dev/ttyUSB0, or a pty's slave path); rejects with serialport's error. */
export function openSerialPort(path: string, options: SerialPortOptions = {}): Promise<SerialByteStream> {
  const baudRate = options.baudRate ?? 115_200;
  return new Promise((resolve, reject) => {
    const port: SerialPort = new SerialPort({ path, baudRate, rtscts: options.rtscts ?? false, autoOpen: false });
    port.open((e) => {
      if (e) reject(e);
      else {
        fixPoller(port);
        resolve(new SerialByteStream(port, baudRate));
      }
    });
  });
}
