/**
 * Line noise for byte streams: a `ByteStream` wrapper that damages bytes the way a bad serial line
 * does, seeded and counted, in either or both directions. Each byte is, with the given
 * probabilities: corrupted (one random bit flipped), dropped, or followed by an inserted random
 * byte. Corruption comes in bursts of up to `burstBytes` consecutive bytes (default 1: every byte
 * on its own), as line noise does; `corruptPct` stays the share of bytes corrupted. (Independent
 * 1 % byte errors leave a 1500-byte frame a 3·10⁻⁷ chance to arrive intact; the same 1 % in bursts
 * of 256 bytes hits about one frame in 14.) Noise lasts milliseconds at serial rates, so a burst
 * never outlives the write (transmit side) or the received chunk (receive side) it started in: it
 * cannot reach across an idle spell into the next frame, seconds later. Each direction keeps its
 * own burst. The kernel here has no netem and no serial line to disturb: PPP's FCS and the
 * transports' recovery are tested with this instead.
 *
 * Receive-side damage applies to what the wrapper's `onData` listeners see; transmit-side damage to
 * what it writes into the inner stream. Everything else (close, drain, baud rate, modem lines) is
 * the inner stream's.
 */
import type { Rng } from '../base/rand.ts';
import { Listeners } from '../base/listeners.ts';
import type { ByteStream, ModemInputs, ModemOutputs, Unsubscribe } from './byte-stream.ts';

/**
 * Damage of one direction of a `ByteFaultInjector`: percentages of bytes corrupted (in bursts), dropped or followed
 * by an inserted byte.
 */
export interface ByteFaultSettings {
  /** Percent of bytes with one bit flipped (0..100). */
  corruptPct?: number;
  /** Corrupted bytes come in runs of this many (default 1). */
  burstBytes?: number;
  /** Percent of bytes dropped. */
  dropPct?: number;
  /** Percent of bytes followed by an inserted random byte. */
  insertPct?: number;
  /** Which way the damage applies (default `'both'`). */
  direction?: 'rx' | 'tx' | 'both';
}

/** Counters of a `ByteFaultInjector`. */
export interface ByteFaultStats {
  /** Bytes with a bit flipped. */
  corrupted: number;
  /** Bytes dropped. */
  dropped: number;
  /** Random bytes inserted. */
  inserted: number;
  /** Bytes that went through the damaged direction(s) (the share corrupted is `corrupted / seen`). */
  seen: number;
}

function pct(v: number | undefined, name: string): number {
  const x = v ?? 0;
  if (!Number.isFinite(x) || x < 0 || x > 100) throw new RangeError(`${name} must be 0..100, got ${String(v)}`);
  return x / 100;
}

/**
 * A `ByteStream` wrapper that damages bytes as a bad serial line does (seeded, counted, in either or both
 * directions): bits flipped in bursts, bytes dropped or inserted. Close, drain, baud rate and modem lines are the
 * inner stream's.
 */
export class ByteFaultInjector implements ByteStream {
  /** Counters (see `ByteFaultStats`). */
  readonly stats: ByteFaultStats = { corrupted: 0, dropped: 0, inserted: 0, seen: 0 };
  private readonly inner: ByteStream;
  private readonly rng: Rng;
  private corrupt: number;
  private burst = 1;
  private dropP: number;
  private insert: number;
  private rx: boolean;
  private tx: boolean;
  private readonly data = new Listeners<[Uint8Array]>();
  private readonly offInner: Unsubscribe;

  constructor(inner: ByteStream, rng: Rng, settings: ByteFaultSettings = {}) {
    this.inner = inner;
    this.rng = rng;
    this.corrupt = 0;
    this.dropP = 0;
    this.insert = 0;
    this.rx = true;
    this.tx = true;
    this.configure(settings);
    this.offInner = inner.onData((bytes) => this.data.emit(this.rx ? this.damage(bytes) : bytes));
  }

  /** Changes the rates and direction (e.g. noise only after the link came up). */
  configure(settings: ByteFaultSettings): void {
    this.corrupt = pct(settings.corruptPct, 'corruptPct');
    const burst = settings.burstBytes ?? 1;
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`burstBytes must be an integer >= 1, got ${burst}`);
    this.burst = burst;
    this.dropP = pct(settings.dropPct, 'dropPct');
    this.insert = pct(settings.insertPct, 'insertPct');
    const dir = settings.direction ?? 'both';
    this.rx = dir !== 'tx';
    this.tx = dir !== 'rx';
  }

  /** True once the inner stream closed. */
  get closed(): boolean {
    return this.inner.closed;
  }

  get baudRate(): number | undefined {
    return this.inner.baudRate;
  }

  write(bytes: Uint8Array): boolean {
    return this.inner.write(this.tx ? this.damage(bytes) : bytes);
  }

  onData(cb: (bytes: Uint8Array) => void): Unsubscribe {
    return this.data.add(cb);
  }

  onClose(cb: (error?: Error) => void): Unsubscribe {
    return this.inner.onClose(cb);
  }

  onDrain(cb: () => void): Unsubscribe {
    return this.inner.onDrain(cb);
  }

  close(): void {
    this.offInner();
    this.inner.close();
  }

  setBaudRate(baud: number): Promise<void> {
    return this.inner.setBaudRate?.(baud) ?? Promise.resolve();
  }

  setModemOutputs(lines: ModemOutputs): Promise<void> {
    return this.inner.setModemOutputs?.(lines) ?? Promise.resolve();
  }

  getModemInputs(): Promise<ModemInputs> {
    return this.inner.getModemInputs?.() ?? Promise.resolve({ cts: true, dsr: true, dcd: true });
  }

  private chance(p: number): boolean {
    return p > 0 && this.rng.nextU32() / 0x1_0000_0000 < p;
  }

  /** A damaged copy (the caller's bytes are never changed); a burst ends with the chunk. */
  private damage(bytes: Uint8Array): Uint8Array {
    this.stats.seen += bytes.length;
    if (this.corrupt === 0 && this.dropP === 0 && this.insert === 0) return bytes;
    const out: number[] = [];
    let burstLeft = 0;
    for (const b of bytes) {
      if (this.chance(this.dropP)) {
        this.stats.dropped++;
        continue;
      }
      if (burstLeft > 0 || this.chance(this.corrupt / this.burst)) {
        burstLeft = burstLeft > 0 ? burstLeft - 1 : this.burst - 1;
        this.stats.corrupted++;
        out.push(b ^ (1 << (this.rng.nextU32() & 7)));
      } else {
        out.push(b);
      }
      if (this.chance(this.insert)) {
        this.stats.inserted++;
        out.push(this.rng.nextU32() & 0xff);
      }
    }
    return Uint8Array.from(out);
  }
}
