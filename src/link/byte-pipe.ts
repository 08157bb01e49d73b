/**
 * An in-memory byte-stream pair (a virtual null-modem cable) on a `Scheduler`: what one end
 * writes the other reads, with the impairments a UART shows:
 * - chunking: each direction's bytes are read in chunks of random size from a seeded `Rng`
 *   (by default 1 to 64 bytes, a byte at a time up to a FIFO burst), merging and splitting writes;
 * - a line rate: with a baud rate, a chunk arrives when its last byte has crossed the wire at
 *   10 bits per byte (8N1), so 115200 baud carries 11 520 bytes a second on virtual time;
 * - a fixed latency (`delayMs`) on top;
 * - RTS/CTS: null-modem wiring (RTS to the peer's CTS, DTR to the peer's DSR and DCD); an end
 *   with `rtscts` holds its transmitter while its CTS is low;
 * - an optional baud mismatch model: bytes sent at one rate and read at another arrive garbled.
 *
 * Nothing is delivered re-entrantly: every delivery, drain and peer close is a scheduler timer.
 */
import { randomInt, type Rng } from '../base/rand.ts';
import type { Scheduler } from '../base/time.ts';
import { StreamEvents } from '../base/listeners.ts';
import { BITS_PER_BYTE_8N1, type ByteStream, type ModemInputs, type ModemOutputs } from './byte-stream.ts';

/** How the bytes written by one end travel to the other. */
export interface BytePipeEndOptions {
  /** Split (and merge) into chunks of `min`..`max` bytes (defaults 1 and 64) drawn from `rng`. */
  chunking?: {
    /** Draws the chunk sizes. */
    rng: Rng;
    /** Smallest chunk in bytes (default 1). */
    min?: number;
    /** Largest chunk in bytes (default 64). */
    max?: number;
  };
  /** Fixed latency added to every chunk, milliseconds (default 0). */
  delayMs?: number;
  /** This end's line rate; undefined: no line-rate model (chunks cross at once). */
  baudRate?: number;
  /** Hold this end's transmitter while its CTS (the peer's RTS) is low. */
  rtscts?: boolean;
  /** `write` returns false once this many bytes wait to be sent (default 65 536). */
  highWaterMark?: number;
}

export interface BytePipeOptions extends BytePipeEndOptions {
  /** Clock of delays and line-rate timing. */
  scheduler: Scheduler;
  /** Overrides for end a (`[a, b]`) and end b; the shared options apply to both. */
  a?: BytePipeEndOptions;
  /** Overrides for end b. */
  b?: BytePipeEndOptions;
  /**
   * Bytes sent while the two ends' baud rates differ arrive garbled (each byte inverted), as
   * a UART read at the wrong rate shows; default false (the rates only set the timing).
   */
  garbleOnBaudMismatch?: boolean;
}

/** Counters of one `BytePipeEnd`. */
export interface BytePipeStats {
  /** Bytes written at this end. */
  txBytes: number;
  /** Bytes delivered to this end's data listeners. */
  rxBytes: number;
  /** Chunks delivered to this end. */
  rxChunks: number;
  /** Bytes that arrived garbled because the rates differed. */
  garbledBytes: number;
  /** Bytes dropped because this end closed with them still queued. */
  droppedBytes: number;
}

/** One end of a `createBytePipe` pair. */
export interface BytePipeEnd extends ByteStream {
  readonly baudRate: number | undefined;
  setBaudRate(baud: number): Promise<void>;
  setModemOutputs(lines: ModemOutputs): Promise<void>;
  getModemInputs(): Promise<ModemInputs>;
  /** The modem inputs now (synchronous form of `getModemInputs`). */
  readonly modemInputs: ModemInputs;
  /** Bytes written but not yet sent. */
  readonly queuedBytes: number;
  /** The counters of this end now. */
  stats(): BytePipeStats;
}

const DEFAULT_HWM = 65_536;

class PipeEnd extends StreamEvents implements BytePipeEnd {
  peer!: PipeEnd;
  closed = false;
  baudRate: number | undefined;
  rts = true;
  dtr = true;
  private queue: Uint8Array[] = [];
  private queueHead = 0; // offset into queue[0]
  queuedBytes = 0;
  private needDrain = false;
  private busy = false; // a chunk is on the wire
  private wireAt = 0; // when the wire is free (line-rate model)
  // wireAt = wireOrigin + wireBits / wireBaud, kept in whole bits so long transfers do not drift.
  private wireOrigin = 0;
  private wireBits = 0;
  private wireBaud = 0;
  private lastDeliverAt = 0;
  private peerCloseScheduled = false;
  private readonly counters: BytePipeStats = { txBytes: 0, rxBytes: 0, rxChunks: 0, garbledBytes: 0, droppedBytes: 0 };

  constructor(
    private readonly scheduler: Scheduler,
    private readonly opts: BytePipeEndOptions,
    private readonly garble: boolean,
  ) {
    super();
    this.baudRate = opts.baudRate;
    if (opts.baudRate !== undefined) checkBaud(opts.baudRate);
    const c = opts.chunking;
    if (c !== undefined) {
      const min = c.min ?? 1;
      const max = c.max ?? 64;
      if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
        throw new RangeError(`byte pipe: chunk sizes must be integers with 1 <= min <= max (got ${min}..${max})`);
      }
    }
  }

  get modemInputs(): ModemInputs {
    return { cts: this.peer.rts, dsr: this.peer.dtr, dcd: this.peer.dtr };
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    if (bytes.length > 0) {
      this.queue.push(bytes.slice());
      this.queuedBytes += bytes.length;
      this.counters.txBytes += bytes.length;
      this.pump();
    }
    const hwm = this.opts.highWaterMark ?? DEFAULT_HWM;
    if (this.queuedBytes >= hwm) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.shutdown();
    // A chunk on the wire still arrives; the peer's close follows it.
    if (!this.busy) this.schedulePeerClose();
  }

  setBaudRate(baud: number): Promise<void> {
    checkBaud(baud);
    this.baudRate = baud;
    return Promise.resolve();
  }

  setModemOutputs(lines: ModemOutputs): Promise<void> {
    if (lines.dtr !== undefined) this.dtr = lines.dtr;
    if (lines.rts !== undefined) {
      const rose = lines.rts && !this.rts;
      this.rts = lines.rts;
      // The peer's CTS rose: its held transmitter may go on.
      if (rose) this.scheduler.setTimer(0, () => this.peer.pump());
    }
    return Promise.resolve();
  }

  getModemInputs(): Promise<ModemInputs> {
    return Promise.resolve(this.modemInputs);
  }

  stats(): BytePipeStats {
    return { ...this.counters };
  }

  /** Sends queued chunks while the wire is free and flow control allows. */
  pump(): void {
    while (!this.busy && this.queuedBytes > 0 && !this.closed) {
      if (this.opts.rtscts === true && !this.peer.rts) return;
      const chunk = this.take(this.chunkSize());
      const garbled = this.garble && this.baudRate !== this.peer.baudRate;
      if (garbled) for (let i = 0; i < chunk.length; i++) chunk[i] = ~(chunk[i] ?? 0) & 0xff;
      const baud = this.baudRate;
      if (baud === undefined) {
        this.deliver(chunk, garbled);
      } else {
        const now = this.scheduler.now();
        if (baud !== this.wireBaud || now >= this.wireAt) {
          this.wireOrigin = Math.max(this.wireAt, now);
          this.wireBits = 0;
          this.wireBaud = baud;
        }
        this.wireBits += chunk.length * BITS_PER_BYTE_8N1;
        this.wireAt = this.wireOrigin + (this.wireBits * 1000) / baud;
        this.busy = true;
        this.scheduler.setTimer(this.wireAt - now, () => {
          this.busy = false;
          this.deliver(chunk, garbled);
          if (this.closed) this.schedulePeerClose();
          else this.pump();
        });
      }
      this.maybeDrain();
    }
  }

  private chunkSize(): number {
    const c = this.opts.chunking;
    if (c === undefined) return this.queuedBytes;
    return randomInt(c.rng, c.min ?? 1, c.max ?? 64);
  }

  /** Removes up to `n` bytes from the front of the queue. */
  private take(n: number): Uint8Array {
    const out = new Uint8Array(Math.min(n, this.queuedBytes));
    let filled = 0;
    while (filled < out.length) {
      const head = this.queue[0];
      if (head === undefined) break;
      const part = head.subarray(this.queueHead, this.queueHead + (out.length - filled));
      out.set(part, filled);
      filled += part.length;
      this.queueHead += part.length;
      if (this.queueHead >= head.length) {
        this.queue.shift();
        this.queueHead = 0;
      }
    }
    this.queuedBytes -= filled;
    return out;
  }

  private deliver(chunk: Uint8Array, garbled: boolean): void {
    const now = this.scheduler.now();
    const at = Math.max(now + (this.opts.delayMs ?? 0), this.lastDeliverAt);
    this.lastDeliverAt = at;
    const peer = this.peer;
    this.scheduler.setTimer(at - now, () => peer.receive(chunk, garbled));
  }

  receive(chunk: Uint8Array, garbled: boolean): void {
    if (this.closed) return;
    this.counters.rxBytes += chunk.length;
    this.counters.rxChunks++;
    if (garbled) this.counters.garbledBytes += chunk.length;
    this.dataCbs.emit(chunk);
  }

  private maybeDrain(): void {
    const hwm = this.opts.highWaterMark ?? DEFAULT_HWM;
    if (!this.needDrain || this.queuedBytes >= hwm) return;
    this.needDrain = false;
    this.scheduler.setTimer(0, () => {
      if (!this.closed) this.drainCbs.emit();
    });
  }

  /** The peer sees the close after every chunk already on its way. */
  private schedulePeerClose(): void {
    if (this.peerCloseScheduled) return;
    this.peerCloseScheduled = true;
    const now = this.scheduler.now();
    const at = Math.max(now + (this.opts.delayMs ?? 0), this.lastDeliverAt);
    const peer = this.peer;
    this.scheduler.setTimer(at - now, () => {
      if (!peer.closed) peer.shutdown();
    });
  }

  /** Marks this end closed, drops what it had queued and runs its close callbacks. */
  private shutdown(): void {
    this.closed = true;
    this.counters.droppedBytes += this.queuedBytes;
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
    this.ended();
  }
}

function checkBaud(baud: number): void {
  if (!Number.isFinite(baud) || baud <= 0) throw new RangeError(`byte pipe: baud rate must be positive (got ${baud})`);
}

/** Creates a connected pair `[a, b]`: what `a` writes `b` reads, and the reverse. */
export function createBytePipe(options: BytePipeOptions): [BytePipeEnd, BytePipeEnd] {
  const { scheduler, a, b, garbleOnBaudMismatch, ...shared } = options;
  const endA = new PipeEnd(scheduler, { ...shared, ...a }, garbleOnBaudMismatch === true);
  const endB = new PipeEnd(scheduler, { ...shared, ...b }, garbleOnBaudMismatch === true);
  endA.peer = endB;
  endB.peer = endA;
  return [endA, endB];
}
