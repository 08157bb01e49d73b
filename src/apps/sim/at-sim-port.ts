/**
 * `AtSimPort`: the serial front end of an AT module simulator (ESP-AT, Quectel, any V.250 modem).
 * It sits on the module's end of a `ByteStream` (one end of `createBytePipe`, a pty master, a
 * serial port), cuts the host's bytes into command lines, echoes them, keeps the module strictly
 * serial, collects data phases, and writes the module's output through a writer that can split,
 * merge, delay and corrupt it (seeded `SimFaults`). It knows no command: the simulator's `onLine`
 * handler does.
 *
 * Input, by mode:
 * - `off` (before boot completes, `setReady(false)`): bytes are dropped (or, with
 *   `preBoot: 'busy'`, each line is answered with the busy reply);
 * - command lines: a line ends at LF (`terminator: 'crlf'`, ESP-AT: the CR before it is part of
 *   the terminator) or at CR (`'cr'`, V.250 S3: an LF right after is skipped). The line text is
 *   latin1 without terminator; over `maxLineBytes` it is cut there and flagged `overflow`.
 *   Echo (`setEcho`) writes, before the handler runs, the typed bytes (`echoStyle: 'typed'`:
 *   ESP-AT `AT\r\n`, 3GPP `AT\r`), the text + `\r\r\n` (`'text-cr-crlf'`: NONOS `AT\r\r\n`), or
 *   what a function returns;
 * - strictly serial: while a command runs (from `onLine` until its returned promise settles, or
 *   at once for a plain return), every further line is answered with `busyReply`
 *   (default `'\r\nbusy p...\r\n'`; undefined: dropped silently) and dropped;
 * - counted data (`readData(n)`, call it synchronously from the handler right after writing the
 *   prompt): exactly `n` raw bytes, whatever they contain; bytes after them are command input
 *   again (answered busy while the command still runs); too few leave it waiting;
 * - variable data (`readVariableData`): raw bytes until the end byte (0x1A, not included),
 *   cancelled by the cancel byte (0x1B), or cut at `maxBytes`;
 * - raw (`enterRaw`, passthrough/PPP): every byte to a callback, except an escape sequence
 *   (`+++`) with guard times: at least `guardMs` silence before, each `+` less than `guardMs`
 *   after the previous one, `guardMs` silence after; a broken sequence is delivered as data.
 *   With `noInjection` (V.250 online data state, PPP) no URC injection point or URC storm fires
 *   while the port is in that raw mode, so nothing but the data reaches the host.
 *
 * Output: `write(bytes | text, kind)` (text is latin1). Faults apply per message: garbage
 * before it, a corrupted byte, split into delayed pieces, merged by holding; URCs (`urc()`) may be
 * dropped or duplicated; `point(p)` is a URC injection opportunity (reference §5 item 12), using
 * the rule's `lines` or the simulator's `urcPool`. Order is always kept. `writeLines` writes
 * response parts with an injection point between them. `changeBaudRate(b)` calls
 * `stream.setBaudRate?.(b)` once everything written so far has crossed the wire at the old rate
 * (so the `OK` before it goes out at the old rate).
 *
 * Output of kind `'online'` (bytes of a V.250 data-mode call) gets none of the faults above; only
 * the `onlineDrop` rule (the message is lost) and the `onlineCorrupt` rule (one byte flipped) apply,
 * asked once per message (`onlineFaults`, which a simulator also applies to the host's data-mode
 * bytes).
 *
 * `reset()` (a reboot) drops buffered input, pending data reads (they resolve with undefined),
 * delayed output and the busy state; `close()` detaches from the stream. Nothing here throws on
 * input; handler errors are counted (`stats.handlerErrors`) and reported to `onError`.
 */
import type { Rng } from '../../base/rand.ts';
import type { CancelTimer, Scheduler } from '../../base/time.ts';
import type { ByteStream, Unsubscribe } from '../../link/byte-stream.ts';
import { lineTimeMs } from '../../link/byte-stream.ts';
import { concatBytes, latin1Bytes, latin1Text } from '../../wire/bytes.ts';
import { SimFaults, urcPointKind, type UrcPoint } from './sim-faults.ts';

/** The latin1 helpers, under the names the simulators and their tests use. */
export { latin1Bytes as latin1, latin1Text };

/** One command line from the host. */
export interface AtLine {
  /** The line without its terminator, latin1 (cut at `maxLineBytes`). */
  readonly text: string;
  /** The bytes typed, terminator included. */
  readonly raw: Uint8Array;
  /** The line was longer than `maxLineBytes`. */
  readonly overflow: boolean;
}

/** What an `onLine` handler returns: nothing (done) or a promise (busy until it settles). */
export type AtLineResult = void | Promise<void>;

/** How a command line is echoed. */
export type EchoStyle = 'typed' | 'text-cr-crlf' | ((line: AtLine) => Uint8Array);

/** The kind of an output message (faults treat them differently). */
export type OutputKind = 'response' | 'urc' | 'echo' | 'prompt' | 'data' | 'online';

/**
 * The data-mode faults of one message: undefined when `onlineDrop` fires (the message is lost),
 * else the bytes, with one byte flipped when `onlineCorrupt` fires (a copy; `bytes` is not changed).
 * Without those rules the bytes come back untouched.
 */
export function onlineFaults(faults: SimFaults, bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length === 0) return bytes;
  if (faults.fire('onlineDrop')) return undefined;
  if (!faults.fire('onlineCorrupt')) return bytes;
  const out = bytes.slice();
  const at = faults.int(0, out.length - 1);
  out[at] = ((out[at] as number) ^ faults.int(1, 255)) & 0xff;
  return out;
}

export interface AtSimPortOptions {
  /** The module's end of the serial line. */
  stream: ByteStream;
  /** Clock of answers and timers. */
  scheduler: Scheduler;
  /** Randomness for faults made here when `faults` is not given. */
  rng: Rng;
  /** The fault injector (shared with the simulator); default: one with no rules. */
  faults?: SimFaults | undefined;
  /** The command handler. */
  onLine: (line: AtLine) => AtLineResult;
  /** `'crlf'` (default, ESP-AT) or `'cr'` (V.250 S3, 3GPP). */
  terminator?: 'crlf' | 'cr' | undefined;
  /** Echo on at start (default true). */
  echo?: boolean | undefined;
  /** Default `'typed'`. */
  echoStyle?: EchoStyle | undefined;
  /** Reply to a line that arrives while busy; default `'\r\nbusy p...\r\n'`; undefined (explicitly): drop silently. */
  busyReply?: string | undefined;
  /** Before boot completes: `'ignore'` (default) drops input, `'busy'` answers lines busy. */
  preBoot?: 'ignore' | 'busy' | undefined;
  /** Longest line kept (default 256 bytes). */
  maxLineBytes?: number | undefined;
  /** The line rate when the stream does not report one (for `changeBaudRate` timing; default 115200). */
  baudRate?: number | undefined;
  /** URC lines (with framing) the injection faults draw from. */
  urcPool?: readonly string[] | undefined;
  /** A handler threw or its promise rejected. */
  onError?: ((error: unknown) => void) | undefined;
}

/** Counters of an `AtSimPort`. */
export interface AtSimPortStats {
  /** Bytes received from the host. */
  bytesIn: number;
  /** Bytes written to the host. */
  bytesOut: number;
  /** Command lines taken. */
  lines: number;
  /** Lines answered (or dropped) because a command was running. */
  busyLines: number;
  /** Bytes dropped before boot completed. */
  preBootBytes: number;
  /** Bytes taken by data phases (counted, variable, raw). */
  dataBytes: number;
  /** Lines longer than `maxLineBytes` (dropped). */
  overflowLines: number;
  /** Handler exceptions or rejections. */
  handlerErrors: number;
  /** Writes to the stream. */
  writes: number;
}

/** Options of `readVariableData`. */
export interface VariableDataOptions {
  /** End byte (default 0x1A, Ctrl-Z). */
  end?: number | undefined;
  /** Cancel byte (default 0x1B, ESC). */
  cancel?: number | undefined;
  /** Most bytes kept; the data phase ends there (default 1460). */
  maxBytes?: number | undefined;
}

/** The outcome of a variable data phase. */
export interface VariableData {
  bytes: Uint8Array;
  /** Ended by the cancel byte. */
  cancelled: boolean;
  /** Ended because `maxBytes` was reached. */
  full: boolean;
}

/** Raw (passthrough) mode handlers. */
export interface RawModeOptions {
  onData: (bytes: Uint8Array) => void;
  /** The escape sequence was recognised; raw mode has ended (the port is back to commands). */
  onEscape?: (() => void) | undefined;
  /** Escape byte repeated three times (default `+`); undefined disables escape detection. */
  escapeByte?: number | null | undefined;
  /** Guard time (default 20 ms, ESP-AT; 1000 for 3GPP S12). */
  guardMs?: number | undefined;
  /** No URC injection point or URC storm fires while in this raw mode (PPP data mode). */
  noInjection?: boolean | undefined;
}

type Mode =
  | { kind: 'command' }
  | { kind: 'counted'; need: number; parts: Uint8Array[]; got: number; resolve: (b: Uint8Array | undefined) => void }
  | {
      kind: 'variable';
      opts: { end: number; cancel: number; maxBytes: number };
      parts: number[];
      resolve: (d: VariableData | undefined) => void;
    }
  | { kind: 'raw'; opts: RawModeOptions };

interface OutItem {
  bytes: Uint8Array;
  at: number;
}

const LF = 0x0a;
const CR = 0x0d;
const DEFAULT_BUSY = '\r\nbusy p...\r\n';

/** The serial front end of a simulated AT module. See the module comment. */
export class AtSimPort {
  /** The module's end of the serial line. */
  readonly stream: ByteStream;
  /** Clock of answers and timers. */
  readonly scheduler: Scheduler;
  /** The fault injector. */
  readonly faults: SimFaults;
  /** Counters (see `AtSimPortStats`). */
  readonly stats: AtSimPortStats = {
    bytesIn: 0,
    bytesOut: 0,
    lines: 0,
    busyLines: 0,
    preBootBytes: 0,
    dataBytes: 0,
    overflowLines: 0,
    handlerErrors: 0,
    writes: 0,
  };
  /** URC lines (with framing) the injection faults draw from. */
  urcPool: readonly string[];
  /** The reply to lines arriving while busy (undefined: dropped silently). */
  busyReply: string | undefined;
  /** How command lines are echoed (see `EchoStyle`). */
  echoStyle: EchoStyle;
  /** The line terminator the host uses: CR LF or CR. */
  terminator: 'crlf' | 'cr';
  /** What happens to input before boot completes. */
  preBoot: 'ignore' | 'busy';

  readonly #onLine: (line: AtLine) => AtLineResult;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #maxLine: number;
  readonly #fallbackBaud: number;
  readonly #unsubs: Unsubscribe[] = [];
  #echo: boolean;
  #ready = false;
  #busy = false;
  #commandSeq = 0;
  #mode: Mode = { kind: 'command' };
  #line: number[] = [];
  #lineOverflow = false;
  #skipLf = false;
  #processing = false;
  #pending: Uint8Array[] = [];
  #out: OutItem[] = [];
  #outTimer: CancelTimer | undefined;
  #lastOutAt = 0;
  #holdUntil = 0;
  #wireFreeAt = 0;
  #writable = true;
  #closed = false;
  #timers = new Set<CancelTimer>();
  // Raw-mode escape detection.
  #lastInputAt = -Infinity;
  #plusHeld = 0;
  #plusAt = 0;
  #plusTimer: CancelTimer | undefined;

  constructor(options: AtSimPortOptions) {
    this.stream = options.stream;
    this.scheduler = options.scheduler;
    this.faults = options.faults ?? new SimFaults(options.rng);
    this.#onLine = options.onLine;
    this.#onError = options.onError;
    this.terminator = options.terminator ?? 'crlf';
    this.#echo = options.echo ?? true;
    this.echoStyle = options.echoStyle ?? 'typed';
    this.busyReply = 'busyReply' in options ? options.busyReply : DEFAULT_BUSY;
    this.preBoot = options.preBoot ?? 'ignore';
    this.#maxLine = options.maxLineBytes ?? 256;
    this.#fallbackBaud = options.baudRate ?? 115_200;
    this.urcPool = options.urcPool ?? [];
    this.#unsubs.push(
      this.stream.onData((bytes) => this.#input(bytes)),
      this.stream.onDrain(() => {
        this.#writable = true;
        this.#drainCbs.forEach((cb) => cb());
      }),
      this.stream.onClose(() => this.close()),
    );
  }

  readonly #drainCbs = new Set<() => void>();

  // ---------------------------------------------------------------- state

  /** Boot complete (input accepted) or not (input ignored). */
  get ready(): boolean {
    return this.#ready;
  }

  /** Marks boot complete (input accepted) or not (input ignored, or answered `busy` per `preBoot`). */
  setReady(ready: boolean): void {
    this.#ready = ready;
  }

  /** Whether command echo (`ATE1`) is on. */
  get echo(): boolean {
    return this.#echo;
  }

  /** Turns command echo on or off. */
  setEcho(on: boolean): void {
    this.#echo = on;
  }

  /** A command is running. */
  get busy(): boolean {
    return this.#busy;
  }

  /** The current input mode. */
  get mode(): Mode['kind'] {
    return this.#mode.kind;
  }

  /** False after a stream write asked to wait (back-pressure) until the stream drained. */
  get writable(): boolean {
    return this.#writable;
  }

  /** Calls `cb` each time the stream drains after back-pressure. */
  onDrain(cb: () => void): Unsubscribe {
    this.#drainCbs.add(cb);
    return () => this.#drainCbs.delete(cb);
  }

  /** True once the port closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The line rate now (the stream's, else the configured one). */
  get baudRate(): number {
    return this.stream.baudRate ?? this.#fallbackBaud;
  }

  // ---------------------------------------------------------------- timers

  /** A scheduler timer cancelled by `reset()`/`close()`. */
  setTimer(ms: number, fn: () => void): CancelTimer {
    const cancel = this.scheduler.setTimer(ms, () => {
      this.#timers.delete(cancel);
      fn();
    });
    this.#timers.add(cancel);
    return () => {
      this.#timers.delete(cancel);
      cancel();
    };
  }

  /** Resolves after `ms` of virtual time (never if `reset()`/`close()` cancels it first). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.setTimer(ms, resolve);
    });
  }

  // ---------------------------------------------------------------- input

  #input(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.stats.bytesIn += bytes.length;
    if (!this.#ready) {
      this.stats.preBootBytes += bytes.length;
      if (this.preBoot === 'busy') this.#preBootBusy(bytes);
      return;
    }
    this.#pending.push(bytes.slice());
    if (this.#processing) return;
    this.#processing = true;
    try {
      while (this.#pending.length > 0) {
        const chunk = this.#pending.shift() as Uint8Array;
        this.#consume(chunk);
      }
    } finally {
      this.#processing = false;
    }
    this.#lastInputAt = this.scheduler.now();
  }

  #preBootBusy(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (b === (this.terminator === 'cr' ? CR : LF) && this.busyReply !== undefined) this.write(this.busyReply, 'response');
    }
  }

  #consume(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && !this.#closed) {
      const mode = this.#mode;
      switch (mode.kind) {
        case 'counted': {
          const take = Math.min(mode.need - mode.got, chunk.length - i);
          mode.parts.push(chunk.slice(i, i + take));
          mode.got += take;
          i += take;
          this.stats.dataBytes += take;
          if (mode.got === mode.need) {
            this.#mode = { kind: 'command' };
            mode.resolve(concatBytes(mode.parts));
          }
          break;
        }
        case 'variable': {
          const b = chunk[i++] as number;
          this.stats.dataBytes++;
          if (b === mode.opts.end || b === mode.opts.cancel) {
            this.#mode = { kind: 'command' };
            mode.resolve({ bytes: Uint8Array.from(mode.parts), cancelled: b === mode.opts.cancel, full: false });
          } else {
            mode.parts.push(b);
            if (mode.parts.length >= mode.opts.maxBytes) {
              this.#mode = { kind: 'command' };
              mode.resolve({ bytes: Uint8Array.from(mode.parts), cancelled: false, full: true });
            }
          }
          break;
        }
        case 'raw':
          i = this.#consumeRaw(mode.opts, chunk, i);
          break;
        case 'command':
          i = this.#consumeCommand(chunk, i);
          break;
      }
    }
  }

  #consumeCommand(chunk: Uint8Array, start: number): number {
    let i = start;
    const end = this.terminator === 'cr' ? CR : LF;
    while (i < chunk.length) {
      const b = chunk[i++] as number;
      if (this.#skipLf) {
        this.#skipLf = false;
        if (b === LF) continue;
      }
      if (b === end) {
        this.#skipLf = this.terminator === 'cr';
        this.#lineDone(b);
        return i; // the mode may have changed
      }
      if (this.#line.length < this.#maxLine + 1) this.#line.push(b);
      else this.#lineOverflow = true;
    }
    return i;
  }

  #lineDone(terminator: number): void {
    const typed = this.#line;
    this.#line = [];
    const overflow = this.#lineOverflow || typed.length > this.#maxLine;
    this.#lineOverflow = false;
    const raw = Uint8Array.from([...typed, terminator]);
    let body = typed;
    if (terminator === LF && body[body.length - 1] === CR) body = body.slice(0, -1);
    if (body.length > this.#maxLine) body = body.slice(0, this.#maxLine);
    const line: AtLine = { text: String.fromCharCode(...body), raw, overflow };
    if (overflow) this.stats.overflowLines++;
    if (this.#busy) {
      this.stats.busyLines++;
      if (this.busyReply !== undefined) this.write(this.busyReply, 'response');
      return;
    }
    this.stats.lines++;
    if (this.#echo) this.#writeEcho(line);
    this.#dispatch(line);
  }

  #writeEcho(line: AtLine): void {
    const style = this.echoStyle;
    const bytes =
      style === 'typed' ? line.raw : style === 'text-cr-crlf' ? latin1Bytes(`${line.text}\r\r\n`) : style(line);
    if (bytes.length > 1 && this.faults.fire(urcPointKind('inEcho'))) {
      const urc = this.#pickUrc(urcPointKind('inEcho'));
      if (urc !== undefined) {
        const cut = this.faults.int(1, bytes.length - 1);
        this.write(bytes.subarray(0, cut), 'echo');
        this.write(urc, 'urc');
        this.write(bytes.subarray(cut), 'echo');
        return;
      }
    }
    this.write(bytes, 'echo');
  }

  #dispatch(line: AtLine): void {
    this.#busy = true;
    const seq = ++this.#commandSeq;
    if (this.faults.fire('busy')) {
      if (this.busyReply !== undefined) this.write(this.busyReply, 'response');
      this.#finish(seq);
      return;
    }
    if (this.faults.fire('slow')) {
      this.setTimer(this.faults.param('slow', 'delayMs', 500), () => this.#run(line, seq));
      return;
    }
    this.#run(line, seq);
  }

  #run(line: AtLine, seq: number): void {
    let result: AtLineResult;
    try {
      result = this.#onLine(line);
    } catch (e) {
      this.#handlerError(e);
      this.#finish(seq);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.#finish(seq),
        (e: unknown) => {
          this.#handlerError(e);
          this.#finish(seq);
        },
      );
    } else {
      this.#finish(seq);
    }
  }

  #handlerError(e: unknown): void {
    this.stats.handlerErrors++;
    this.#onError?.(e);
  }

  #finish(seq: number): void {
    if (seq !== this.#commandSeq || !this.#busy) return;
    this.#busy = false;
    if (this.#mode.kind === 'counted' || this.#mode.kind === 'variable') {
      // The handler ended without its data: abandon the data phase.
      const mode = this.#mode;
      this.#mode = { kind: 'command' };
      mode.resolve(undefined);
    }
    this.point('betweenCommands');
    if (!this.#injectionOff() && this.faults.fire('urcStorm')) {
      const n = this.faults.param('urcStorm', 'count', 8);
      for (let k = 0; k < n; k++) {
        const urc = this.#pickUrc('urcStorm');
        if (urc !== undefined) this.write(urc, 'urc');
      }
    }
  }

  /**
   * Starts a counted data phase: resolves with exactly `n` bytes, or undefined if `reset()` or
   * the end of the command abandons it. Call it synchronously after writing the prompt.
   */
  readData(n: number): Promise<Uint8Array | undefined> {
    this.#abandonData();
    if (n <= 0) return Promise.resolve(new Uint8Array(0));
    return new Promise((resolve) => {
      this.#mode = { kind: 'counted', need: n, parts: [], got: 0, resolve };
    });
  }

  /** Starts a variable data phase (ends on `end`, cancelled by `cancel`). */
  readVariableData(options: VariableDataOptions = {}): Promise<VariableData | undefined> {
    this.#abandonData();
    const opts = {
      end: options.end ?? 0x1a,
      cancel: options.cancel ?? 0x1b,
      maxBytes: options.maxBytes ?? 1460,
    };
    return new Promise((resolve) => {
      this.#mode = { kind: 'variable', opts, parts: [], resolve };
    });
  }

  #abandonData(): void {
    const mode = this.#mode;
    if (mode.kind === 'counted' || mode.kind === 'variable') {
      this.#mode = { kind: 'command' };
      mode.resolve(undefined);
    } else if (mode.kind === 'raw') {
      this.exitRaw();
    }
  }

  /** Enters raw (passthrough) mode until `exitRaw()` or the escape sequence. */
  enterRaw(options: RawModeOptions): void {
    this.#abandonData();
    this.#plusHeld = 0;
    this.#mode = { kind: 'raw', opts: options };
  }

  /** Leaves raw mode (held escape bytes are dropped). */
  exitRaw(): void {
    if (this.#mode.kind !== 'raw') return;
    this.#mode = { kind: 'command' };
    this.#plusHeld = 0;
    this.#plusTimer?.();
    this.#plusTimer = undefined;
  }

  #consumeRaw(opts: RawModeOptions, chunk: Uint8Array, start: number): number {
    const esc = opts.escapeByte === undefined ? 0x2b : opts.escapeByte;
    const guard = opts.guardMs ?? 20;
    const now = this.scheduler.now();
    let i = start;
    let runStart = i;
    const flushRun = (to: number): void => {
      if (to > runStart) {
        this.stats.dataBytes += to - runStart;
        opts.onData(chunk.slice(runStart, to));
      }
    };
    while (i < chunk.length) {
      const b = chunk[i] as number;
      const first = i === start;
      const quietBefore = first && now - this.#lastInputAt >= guard;
      if (esc !== null && b === esc && this.#plusHeld === 0 && quietBefore) {
        this.#plusHeld = 1;
        this.#plusAt = now;
        i++;
        runStart = i;
        this.#armPlusTimer(opts, guard);
        continue;
      }
      if (esc !== null && b === esc && this.#plusHeld > 0 && this.#plusHeld < 3 && now - this.#plusAt < guard) {
        this.#plusHeld++;
        this.#plusAt = now;
        i++;
        runStart = i;
        this.#armPlusTimer(opts, guard);
        continue;
      }
      if (this.#plusHeld > 0) {
        this.#releasePlus(opts);
        runStart = i;
      }
      i++;
    }
    flushRun(i);
    return i;
  }

  #armPlusTimer(opts: RawModeOptions, guard: number): void {
    this.#plusTimer?.();
    const held = this.#plusHeld;
    this.#plusTimer = this.setTimer(guard, () => {
      this.#plusTimer = undefined;
      if (this.#mode.kind !== 'raw' || this.#plusHeld !== held) return;
      if (held === 3 && this.scheduler.now() - this.#lastInputAt >= guard) {
        this.#plusHeld = 0;
        this.#mode = { kind: 'command' };
        opts.onEscape?.();
      } else {
        this.#releasePlus(opts);
      }
    });
  }

  #releasePlus(opts: RawModeOptions): void {
    const n = this.#plusHeld;
    this.#plusHeld = 0;
    this.#plusTimer?.();
    this.#plusTimer = undefined;
    if (n > 0) {
      this.stats.dataBytes += n;
      opts.onData(new Uint8Array(n).fill(opts.escapeByte ?? 0x2b));
    }
  }

  // ---------------------------------------------------------------- output

  /** Writes one message (text is latin1), applying the output faults (kind `'online'`: only the data-mode ones). */
  write(data: Uint8Array | string, kind: OutputKind = 'response'): void {
    if (this.#closed) return;
    const bytes = typeof data === 'string' ? latin1Bytes(data) : data.slice();
    if (bytes.length === 0) return;
    if (kind === 'online') {
      const out = onlineFaults(this.faults, bytes);
      if (out !== undefined) this.#enqueue(out);
      return;
    }
    const f = this.faults;
    if (kind !== 'data' && kind !== 'echo' && f.fire('garbage')) {
      this.#enqueue(f.garbage(f.param('garbage', 'maxBytes', 16)));
    }
    if (f.fire('corrupt')) {
      const at = f.int(0, bytes.length - 1);
      bytes[at] = ((bytes[at] as number) ^ f.int(1, 255)) & 0xff;
    }
    if (f.fire('merge')) this.#holdUntil = Math.max(this.#holdUntil, this.scheduler.now() + f.param('merge', 'delayMs', 5));
    if (bytes.length > 1 && f.fire('split')) {
      const pieces = f.int(2, Math.min(4, bytes.length));
      const maxDelay = f.param('split', 'delayMs', 5);
      let from = 0;
      for (let p = 0; p < pieces; p++) {
        const to = p === pieces - 1 ? bytes.length : f.int(from + 1, bytes.length - (pieces - 1 - p));
        this.#enqueue(bytes.subarray(from, to), p === 0 ? 0 : f.int(0, maxDelay));
        from = to;
      }
      return;
    }
    this.#enqueue(bytes);
  }

  /** Writes a URC (may be dropped or duplicated by faults). */
  urc(data: Uint8Array | string): void {
    if (this.faults.fire('dropUrc')) return;
    this.write(data, 'urc');
    if (this.faults.fire('duplicateUrc')) this.write(data, 'urc');
  }

  /** Writes response parts in order, with a `betweenLines` injection point between each two. */
  writeLines(parts: readonly string[], kind: OutputKind = 'response'): void {
    parts.forEach((p, k) => {
      if (k > 0) this.point('betweenLines');
      this.write(p, kind);
    });
  }

  /** A URC injection opportunity: writes one URC when the point's fault fires. */
  point(p: UrcPoint): void {
    if (this.#injectionOff() || !this.faults.fire(urcPointKind(p))) return;
    const urc = this.#pickUrc(urcPointKind(p));
    if (urc !== undefined) this.write(urc, 'urc');
  }

  /** In a raw mode that asked for no URC injection. */
  #injectionOff(): boolean {
    return this.#mode.kind === 'raw' && this.#mode.opts.noInjection === true;
  }

  #pickUrc(kind: string): string | undefined {
    const lines = this.faults.rule(kind)?.lines;
    return this.faults.pick(lines !== undefined && lines.length > 0 ? lines : this.urcPool);
  }

  #enqueue(bytes: Uint8Array, extraDelay = 0): void {
    const now = this.scheduler.now();
    const at = Math.max(now + extraDelay, this.#lastOutAt, this.#holdUntil);
    this.#lastOutAt = at;
    this.#out.push({ bytes, at });
    if (this.#outTimer === undefined) this.#pump();
  }

  #pump(): void {
    this.#outTimer = undefined;
    const now = this.scheduler.now();
    const due: Uint8Array[] = [];
    while (this.#out.length > 0 && (this.#out[0] as OutItem).at <= now) due.push((this.#out.shift() as OutItem).bytes);
    if (due.length > 0) this.#toWire(due.length === 1 ? (due[0] as Uint8Array) : concatBytes(due));
    const head = this.#out[0];
    if (head !== undefined) this.#outTimer = this.setTimer(head.at - now, () => this.#pump());
  }

  #toWire(bytes: Uint8Array): void {
    if (this.stream.closed) return;
    this.stats.writes++;
    this.stats.bytesOut += bytes.length;
    const now = this.scheduler.now();
    this.#wireFreeAt = Math.max(now, this.#wireFreeAt) + lineTimeMs(bytes.length, this.baudRate);
    if (!this.stream.write(bytes)) this.#writable = false;
  }

  /** Resolves once everything written so far has left the port (delayed output included). */
  flushed(): Promise<void> {
    return new Promise((resolve) => this.#afterOutput(resolve));
  }

  #afterOutput(fn: () => void): void {
    const last = this.#out[this.#out.length - 1];
    if (last === undefined) {
      fn();
      return;
    }
    this.setTimer(last.at - this.scheduler.now(), () => this.#afterOutput(fn));
  }

  /**
   * Changes the line rate once everything written so far crossed the wire at the old rate;
   * resolves after `stream.setBaudRate` did.
   */
  changeBaudRate(baud: number): Promise<void> {
    return new Promise((resolve) => {
      this.#afterOutput(() => {
        const wait = Math.max(0, this.#wireFreeAt - this.scheduler.now());
        this.setTimer(Math.ceil(wait), () => {
          const p = this.stream.setBaudRate?.(baud);
          if (p === undefined) resolve();
          else p.then(resolve, resolve);
        });
      });
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * A reboot: drops buffered input, the data phase, the busy state, delayed output and every
   * timer made with `setTimer`/`sleep`; input is ignored until `setReady(true)`. Echo goes back to
   * `echo` (default on).
   */
  reset(echo = true): void {
    this.#ready = false;
    this.#busy = false;
    this.#commandSeq++;
    this.#abandonData();
    this.#mode = { kind: 'command' };
    this.#line = [];
    this.#lineOverflow = false;
    this.#skipLf = false;
    this.#pending = [];
    this.#out = [];
    this.#holdUntil = 0;
    this.#echo = echo;
    for (const cancel of [...this.#timers]) cancel();
    this.#timers.clear();
    this.#outTimer = undefined;
    this.#plusTimer = undefined;
    this.#plusHeld = 0;
  }

  /** Detaches from the stream (does not close it) and cancels every timer. */
  close(): void {
    if (this.#closed) return;
    this.reset();
    this.#closed = true;
    for (const u of this.#unsubs) u();
    this.#drainCbs.clear();
  }
}
