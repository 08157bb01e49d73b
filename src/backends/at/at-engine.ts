/**
 * The AT engine (reference `at-modules.md` §4): one command in flight over any byte stream, a
 * queue behind it, per-command timeouts on an injected `Scheduler`, expected finals and abort
 * patterns, a URC registry consulted on every line before the pending command, data phases
 * (command → `>` → payload → acknowledgement), `busy p...` retried with back-off, echo lines of the
 * pending command ignored, and a reset detector (`ready`, `RDY`, `APP RDY`) that fails everything
 * pending with `AtError('reset')` and tells the owner.
 *
 * The engine does no I/O and reads no clock: module bytes come in through {@link AtEngine.receive},
 * command bytes go out through the `write` callback given at construction. `receive` never throws,
 * whatever the bytes and whatever the handlers do. Counted payloads are the tokenizer's business
 * (`src/wire/at/at-tokenizer.ts`); the dialect tables register its recognisers here.
 *
 * Data mode (V.250 online data state, PPP over a cellular modem; reference §2): a command with
 * `dataMode` handlers (`ATD*99***1#`, `AT+CGDATA="PPP",1`, `ATO`) succeeds on `CONNECT` (with or
 * without a suffix) and switches the engine to data mode at once: from the byte right after the
 * `CONNECT` line (same chunk included; an LF right after its CR is skipped) every received byte
 * goes to `onData`, none to the tokenizer. The owner writes data to the stream itself. Commands
 * sent meanwhile wait in the queue (their timeout starts when they are written). The data are
 * watched for `\r\nNO CARRIER\r\n` (`onNoCarrier`) and for the reset banners (data mode ends,
 * pending commands fail, `onReset`). `leaveDataMode()` returns to command mode with a clean
 * tokenizer; `escapeDataMode()` does the `+++` escape with guard times and awaits `OK`;
 * `enterDataMode()` forces data mode (a modem known to be online).
 */
import type { CancelTimer, Scheduler } from '../../base/time.ts';
import {
  AtTokenizer,
  type AtToken,
  type AtTokenizerOptions,
  type FullLineRecogniser,
  type PartialLineRecogniser,
} from '../../wire/at/at-tokenizer.ts';
import { latin1Bytes } from '../../wire/bytes.ts';
import { DataMarkerScanner, dataMarker, type AtDataModeHandlers, type AtEscapeOptions } from './at-data-mode.ts';
import { AtError, type AtErrorReason } from './at-error.ts';

export type { AtDataModeExit, AtDataModeHandlers, AtEscapeOptions } from './at-data-mode.ts';

/** A line pattern: a string matches the whole line exactly, a RegExp is tested against it. */
export type AtPattern = string | RegExp;

/** One AT command and what ends it. */
export interface AtCommand {
  /** The command without line ending: `AT+CIPSTART=0,"TCP","10.0.0.1",80`. */
  readonly text: string;
  /** Milliseconds allowed for the final response (each phase); default the engine's. */
  readonly timeoutMs?: number;
  /** Streaming reply: the timeout counts from the last byte received, not from the write. */
  readonly streaming?: boolean;
  /** Success finals; default `['OK']`. */
  readonly success?: readonly AtPattern[];
  /** Failure finals (reason `error`) besides the standard ones (`ERROR`, `+CME ERROR`, …). */
  readonly failure?: readonly AtPattern[];
  /** Lines that end the command at once with reason `aborted`. */
  readonly abort?: readonly AtPattern[];
  /**
   * Payload of a data phase: the engine waits for the `>` prompt (lines before it, such as ESP-AT's
   * `OK`, are information), writes these bytes as they are, then waits for the acknowledgement.
   */
  readonly data?: Uint8Array;
  /** Acknowledgements of a data phase that succeed; default `['SEND OK']`. */
  readonly ackSuccess?: readonly AtPattern[];
  /** Acknowledgements of a data phase that fail with reason `send-fail`; default `['SEND FAIL']`. */
  readonly ackFailure?: readonly AtPattern[];
  /** How many `busy p...` answers are retried; default the engine's. */
  readonly busyRetries?: number;
  /**
   * Fire and forget: resolve (final `''`) as soon as the command is written, awaiting nothing
   * (Zephyr's dial `ATD*99***1#` and `AT+CMUX=…`).
   */
  readonly noReply?: boolean;
  /** Overrides the engine's line ending for this command (`''` for `+++`). */
  readonly lineEnding?: string;
  /**
   * A dial (`ATD*99***1#`, `AT+CGDATA="PPP",1`, `ATO`): `success` defaults to `CONNECT` with or
   * without a suffix, and on success the engine enters data mode with these handlers before the
   * promise resolves. See the module comment.
   */
  readonly dataMode?: AtDataModeHandlers;
}

/** A counted payload received for a command (`+CIPRECVDATA`, `+QIRD`), with its header. */
export interface AtPayload {
  /** The line that announced the payload (`+CIPRECVDATA:...`). */
  readonly header: string;
  /** The payload bytes. */
  readonly bytes: Uint8Array;
}

/** A command's successful outcome. */
export interface AtResponse {
  /** The command line sent (without the terminator). */
  readonly command: string;
  /** The final line (`OK`, `SEND OK`, `CONNECT`, …). */
  readonly final: string;
  /** Information lines in order (URCs, echo and the final excluded). */
  readonly lines: readonly string[];
  /** Counted payloads in order. */
  readonly payloads: readonly AtPayload[];
}

/** An unsolicited result: a line, or a counted payload with the header that announced it. */
export interface AtUrc {
  /** The URC line. */
  readonly line: string;
  /** The counted payload that followed the line, if any. */
  readonly bytes?: Uint8Array;
}

/** Engine configuration. */
export interface AtEngineOptions {
  /** Clock of command deadlines. */
  readonly scheduler: Scheduler;
  /** Sends bytes to the module. */
  readonly write: (bytes: Uint8Array) => void;
  /** Appended to every command: `'\r\n'` (default; ESP-AT) or `'\r'` (V.250 S3). */
  readonly lineEnding?: string;
  /** Default per-command timeout; default 2000 ms (Mbed's ESP8266 default). */
  readonly timeoutMs?: number;
  /** Lines announcing a module reboot; default `ready`, `RDY`, `APP RDY`. */
  readonly resetBanners?: readonly AtPattern[];
  /** Lines meaning "busy, input dropped"; default `busy p...` and `busy s...`. */
  readonly busyLines?: readonly AtPattern[];
  /** Retries after busy lines; default 5. */
  readonly busyRetries?: number;
  /** First back-off after a busy line, doubled at each retry; default 100 ms. */
  readonly busyBackoffMs?: number;
  /** Tokenizer limits and initial recognisers. */
  readonly tokenizer?: AtTokenizerOptions;
  /** The module rebooted: every pending command has already been failed. */
  readonly onReset?: (banner: string) => void;
  /** Tokens nobody claimed: lines with no command pending, stray prompts, overflows. */
  readonly onUnsolicited?: (token: AtToken) => void;
  /** A URC handler or owner callback threw; the engine went on. */
  readonly onHandlerError?: (error: unknown) => void;
}

const STANDARD_FAILURES: readonly AtPattern[] = ['ERROR', 'FAIL', 'NO CARRIER', 'BUSY', 'NO ANSWER', 'NO DIALTONE'];
const CONNECT_SUCCESS: readonly AtPattern[] = [/^CONNECT( .*)?$/];
const CR = 0x0d;
const LF = 0x0a;
const NO_BYTES = new Uint8Array(0);

interface DataMode {
  readonly handlers: AtDataModeHandlers;
  readonly scanner: DataMarkerScanner;
  /** The CONNECT line ended with CR: one LF right after it is not data. */
  skipLf: boolean;
}
const CME = /^\+CME ERROR: ?(.*)$/;
const CMS = /^\+CMS ERROR: ?(.*)$/;

/** Where a command is in its life. */
type Phase = 'queued' | 'final' | 'prompt' | 'ack' | 'backoff';

interface Pending {
  readonly cmd: AtCommand;
  readonly resolve: (r: AtResponse) => void;
  readonly reject: (e: AtError) => void;
  phase: Phase;
  lines: string[];
  payloads: AtPayload[];
  busy: number;
  /** The rest of an echo a URC was spliced into (`AT+CIPSEND=0,` `1,CONNECT` … `98`). */
  echoRest: string | undefined;
  cancelTimer: CancelTimer | undefined;
}

interface Urc {
  readonly prefix: AtPattern;
  readonly handler: (urc: AtUrc) => void;
}

function matches(line: string, patterns: readonly AtPattern[]): boolean {
  for (const p of patterns) {
    if (typeof p === 'string' ? line === p : p.test(line)) return true;
  }
  return false;
}

function urcMatches(line: string, prefix: AtPattern): boolean {
  return typeof prefix === 'string' ? line.startsWith(prefix) : prefix.test(line);
}

function errorCode(m: RegExpExecArray): number | undefined {
  const s = (m[1] ?? '').trim();
  return /^\d{1,6}$/.test(s) ? Number(s) : undefined;
}

/** One AT conversation with one module. */
export class AtEngine {
  /** The line tokenizer on the module's output. */
  readonly tokenizer: AtTokenizer;
  private readonly opts: AtEngineOptions;
  private readonly encoder: (s: string) => Uint8Array;
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private readonly urcs: Urc[] = [];
  private closed = false;
  private data: DataMode | undefined;

  constructor(options: AtEngineOptions) {
    this.opts = options;
    this.tokenizer = new AtTokenizer(options.tokenizer);
    this.encoder = latin1Bytes;
  }

  /** The engine's scheduler (chat scripts pause on it). */
  get scheduler(): Scheduler {
    return this.opts.scheduler;
  }

  /** Registers a URC handler for lines (and counted headers) starting with `prefix`; returns its remover. */
  onUrc(prefix: AtPattern, handler: (urc: AtUrc) => void): () => void {
    const urc: Urc = { prefix, handler };
    this.urcs.push(urc);
    return () => {
      const k = this.urcs.indexOf(urc);
      if (k >= 0) this.urcs.splice(k, 1);
    };
  }

  /** Registers a partial-line counted-header recogniser with the tokenizer. */
  addPartialRecogniser(r: PartialLineRecogniser): () => void {
    return this.tokenizer.addPartial(r);
  }

  /** Registers a full-line counted-header recogniser with the tokenizer. */
  addFullRecogniser(r: FullLineRecogniser): () => void {
    return this.tokenizer.addFull(r);
  }

  /** Commands queued or in flight. */
  get pending(): number {
    return this.queue.length + (this.current !== undefined ? 1 : 0);
  }

  /** Queues a command; resolves with its response or rejects with an {@link AtError}. */
  send(cmd: AtCommand | string): Promise<AtResponse> {
    const command = typeof cmd === 'string' ? { text: cmd } : cmd;
    return new Promise<AtResponse>((resolve, reject) => {
      if (this.closed) {
        reject(new AtError('closed', command.text, []));
        return;
      }
      this.queue.push({ cmd: command, resolve, reject, phase: 'queued', lines: [], payloads: [], busy: 0, echoRest: undefined, cancelTimer: undefined });
      if (this.current === undefined) this.next();
    });
  }

  /** Feeds module bytes. Never throws. */
  receive(bytes: Uint8Array): void {
    const cur = this.current;
    if (cur !== undefined && cur.cmd.streaming === true && bytes.length > 0 && cur.phase !== 'backoff') this.arm(cur);
    let rest = bytes;
    while (rest.length > 0) rest = this.data !== undefined ? this.dataBytes(this.data, rest) : this.commandBytes(rest);
  }

  /** Fails everything pending with reason `closed`; later commands are refused. */
  close(): void {
    this.closed = true;
    this.exitData('closed');
    this.failAll('closed', undefined);
  }

  /** In data mode: received bytes go to the data handler, commands wait. */
  get inDataMode(): boolean {
    return this.data !== undefined;
  }

  /**
   * Enters data mode without a dial (a modem known to be online, e.g. after a failed escape).
   * Any data mode before ends with `left`.
   */
  enterDataMode(handlers: AtDataModeHandlers): void {
    this.exitData('left');
    const markers = [dataMarker('no-carrier', 'NO CARRIER')];
    if (handlers.watchResets !== false) {
      for (const b of this.opts.resetBanners ?? ['ready', 'RDY', 'APP RDY']) if (typeof b === 'string') markers.push(dataMarker('reset', b));
    }
    this.tokenizer.reset();
    this.data = { handlers, scanner: new DataMarkerScanner(markers), skipLf: false };
  }

  /** Back to command mode (after `NO CARRIER`, or after `+++` was answered): clean tokenizer, queued commands go on. */
  leaveDataMode(): void {
    if (this.data === undefined) return;
    this.exitData('left');
    this.next();
  }

  /**
   * The `+++` escape (reference §2, §6 item 19): waits `guardMs` (the owner must write nothing
   * meanwhile), writes `+++` without a line ending ahead of any queued command, leaves data mode,
   * and awaits `OK` for `guardMs + timeoutMs` (the bytes the modem still sends before it are read
   * as AT output and ignored). Rejects with an `AtError`: `timeout` (the modem did not take the
   * escape and may still be online: `enterDataMode` again, or drop DTR), `error` on `NO CARRIER`
   * (the call had already ended), `closed`, `reset`. With `awaitOk: false` (ESP-AT passthrough)
   * it resolves (final `''`) `afterMs` after writing. Works in command mode too.
   */
  async escapeDataMode(options: AtEscapeOptions = {}): Promise<AtResponse> {
    const guard = options.guardMs ?? 1000;
    const awaitOk = options.awaitOk !== false;
    if (this.closed) throw new AtError('closed', '+++', []);
    await this.sleep(guard);
    const done = this.sendFirst({
      text: '+++',
      lineEnding: '',
      timeoutMs: guard + (options.timeoutMs ?? 2000),
      noReply: !awaitOk,
    });
    this.leaveDataMode();
    const r = await done;
    if (!awaitOk) await this.sleep(options.afterMs ?? guard);
    return r;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.opts.scheduler.setTimer(ms, resolve);
    });
  }

  /** Queues `cmd` ahead of every queued command. */
  private sendFirst(cmd: AtCommand): Promise<AtResponse> {
    return new Promise<AtResponse>((resolve, reject) => {
      if (this.closed) {
        reject(new AtError('closed', cmd.text, []));
        return;
      }
      this.queue.unshift({ cmd, resolve, reject, phase: 'queued', lines: [], payloads: [], busy: 0, echoRest: undefined, cancelTimer: undefined });
      if (this.current === undefined) this.next();
    });
  }

  /** Tokenizes command-mode bytes; returns the bytes left when a dial's CONNECT switched to data mode. */
  private commandBytes(bytes: Uint8Array): Uint8Array {
    // While a dial is pending, one token at a time: the bytes after its CONNECT are data.
    const stepwise = this.current?.cmd.dataMode !== undefined || this.queue.some((p) => p.cmd.dataMode !== undefined);
    let tokens: AtToken[];
    let consumed: number;
    try {
      ({ tokens, consumed } = this.tokenizer.pushUntil(bytes, () => stepwise));
    } catch (e) {
      this.handlerError(e);
      return NO_BYTES;
    }
    for (const t of tokens) {
      try {
        this.token(t);
      } catch (e) {
        this.handlerError(e);
      }
    }
    if (this.data !== undefined && consumed > 0 && bytes[consumed - 1] === CR) this.data.skipLf = true;
    return bytes.subarray(consumed);
  }

  /** Data-mode bytes up to the first marker; returns what is left when data mode ended there. */
  private dataBytes(dm: DataMode, bytes: Uint8Array): Uint8Array {
    let chunk = bytes;
    if (dm.skipLf) {
      dm.skipLf = false;
      if (chunk[0] === LF) chunk = chunk.subarray(1);
    }
    while (chunk.length > 0) {
      const hit = dm.scanner.find(chunk);
      const upTo = hit === undefined ? chunk.length : hit.end;
      this.notify(() => dm.handlers.onData(chunk.subarray(0, upTo)));
      const rest = chunk.subarray(upTo);
      if (hit === undefined) return NO_BYTES;
      if (hit.marker.kind === 'reset') {
        this.exitData('reset');
        this.failAll('reset', hit.marker.text);
        this.notify(() => this.opts.onReset?.(hit.marker.text));
        return rest;
      }
      this.notify(() => dm.handlers.onNoCarrier?.());
      if (this.data !== dm) return rest;
      chunk = rest;
    }
    return NO_BYTES;
  }

  private exitData(reason: 'left' | 'reset' | 'closed'): void {
    const dm = this.data;
    if (dm === undefined) return;
    this.data = undefined;
    this.tokenizer.reset();
    this.notify(() => dm.handlers.onExit?.(reason));
  }

  private token(t: AtToken): void {
    if (t.kind === 'line') {
      this.line(t.text);
    } else if (t.kind === 'data') {
      const urc = this.urcs.find((u) => urcMatches(t.header, u.prefix));
      if (urc !== undefined) this.callUrc(urc, { line: t.header, bytes: t.bytes });
      else if (this.current !== undefined && this.current.phase !== 'backoff') {
        this.current.payloads.push({ header: t.header, bytes: t.bytes });
      } else this.unsolicited(t);
    } else if (t.kind === 'prompt') {
      const cur = this.current;
      if (cur !== undefined && cur.phase === 'prompt' && cur.cmd.data !== undefined) {
        cur.phase = 'ack';
        this.arm(cur);
        this.write(cur, cur.cmd.data);
      } else this.unsolicited(t);
    } else {
      this.unsolicited(t);
    }
  }

  private line(text: string): void {
    if (matches(text, this.opts.resetBanners ?? ['ready', 'RDY', 'APP RDY'])) {
      this.failAll('reset', text);
      this.notify(() => this.opts.onReset?.(text));
      return;
    }
    const urc = this.urcs.find((u) => urcMatches(text, u.prefix));
    if (urc !== undefined) {
      this.callUrc(urc, { line: text });
      return;
    }
    const cur = this.current;
    if (cur === undefined || cur.phase === 'backoff' || cur.phase === 'queued') {
      this.unsolicited({ kind: 'line', text });
      return;
    }
    if (text === cur.cmd.text || text === cur.echoRest) return; // echo, or the tail of a split echo
    if (this.splicedEcho(cur, text)) return;
    const cmd = cur.cmd;
    if (cmd.abort !== undefined && matches(text, cmd.abort)) {
      this.fail(cur, 'aborted', text);
      return;
    }
    if (cur.phase !== 'ack' && matches(text, this.opts.busyLines ?? ['busy p...', 'busy s...'])) {
      this.busy(cur, text);
      return;
    }
    if (cur.phase === 'ack') {
      if (matches(text, cmd.ackSuccess ?? ['SEND OK'])) return this.succeed(cur, text);
      if (matches(text, cmd.ackFailure ?? ['SEND FAIL'])) return this.fail(cur, 'send-fail', text);
    } else if (cur.phase === 'final' && matches(text, cmd.success ?? (cmd.dataMode !== undefined ? CONNECT_SUCCESS : ['OK']))) {
      if (cmd.dataMode !== undefined) this.enterDataMode(cmd.dataMode);
      return this.succeed(cur, text);
    }
    const cme = CME.exec(text);
    if (cme !== null) return this.fail(cur, 'cme', text, errorCode(cme));
    const cms = CMS.exec(text);
    if (cms !== null) return this.fail(cur, 'cms', text, errorCode(cms));
    if (matches(text, STANDARD_FAILURES) || (cmd.failure !== undefined && matches(text, cmd.failure))) {
      return this.fail(cur, 'error', text);
    }
    cur.lines.push(text);
  }

  /**
   * A URC spliced into the echo of the pending command (reference §6.5, NONOS
   * `AT+CIPSEND=0,1,CONNECT\r\n98` for `AT+CIPSEND=0,98`): the line is a head of the command
   * followed by a registered URC. The URC is delivered and the echo's tail expected as a line.
   */
  private splicedEcho(cur: Pending, text: string): boolean {
    const cmd = cur.cmd.text;
    if (cmd.length < 3 || !text.startsWith(cmd.slice(0, 2))) return false;
    for (let k = Math.min(cmd.length - 1, text.length - 1); k >= 2; k--) {
      if (text.charCodeAt(k - 1) !== cmd.charCodeAt(k - 1) || !text.startsWith(cmd.slice(0, k))) continue;
      const rest = text.slice(k);
      const urc = this.urcs.find((u) => urcMatches(rest, u.prefix));
      if (urc === undefined) continue;
      cur.echoRest = cmd.slice(k);
      this.callUrc(urc, { line: rest });
      return true;
    }
    return false;
  }

  private busy(cur: Pending, text: string): void {
    cur.busy++;
    if (cur.busy > (cur.cmd.busyRetries ?? this.opts.busyRetries ?? 5)) {
      this.fail(cur, 'busy', text);
      return;
    }
    cur.cancelTimer?.();
    cur.phase = 'backoff';
    const delay = (this.opts.busyBackoffMs ?? 100) * 2 ** (cur.busy - 1);
    cur.cancelTimer = this.opts.scheduler.setTimer(delay, () => {
      if (this.current === cur) this.start(cur);
    });
  }

  private next(): void {
    while (this.current === undefined && this.data === undefined) {
      const p = this.queue.shift();
      if (p === undefined) return;
      this.current = p;
      this.start(p);
    }
  }

  private start(p: Pending): void {
    p.phase = p.cmd.data !== undefined ? 'prompt' : 'final';
    p.lines = [];
    p.payloads = [];
    p.echoRest = undefined;
    this.arm(p);
    this.write(p, this.encoder(p.cmd.text + (p.cmd.lineEnding ?? this.opts.lineEnding ?? '\r\n')));
    if (p.cmd.noReply === true && this.current === p) this.succeed(p, '');
  }

  private write(p: Pending, bytes: Uint8Array): void {
    try {
      this.opts.write(bytes);
    } catch (e) {
      this.handlerError(e);
      if (this.current === p) this.fail(p, 'closed', undefined);
    }
  }

  private arm(p: Pending): void {
    p.cancelTimer?.();
    p.cancelTimer = this.opts.scheduler.setTimer(p.cmd.timeoutMs ?? this.opts.timeoutMs ?? 2000, () => {
      if (this.current === p) this.fail(p, 'timeout', undefined);
    });
  }

  private succeed(p: Pending, final: string): void {
    this.finish(p);
    p.resolve({ command: p.cmd.text, final, lines: p.lines, payloads: p.payloads });
    this.next();
  }

  private fail(p: Pending, reason: AtErrorReason, final: string | undefined, code?: number): void {
    this.finish(p);
    p.reject(new AtError(reason, p.cmd.text, p.lines, final, code));
    this.next();
  }

  private finish(p: Pending): void {
    p.cancelTimer?.();
    p.cancelTimer = undefined;
    if (this.current === p) this.current = undefined;
  }

  private failAll(reason: AtErrorReason, final: string | undefined): void {
    const all = [...(this.current !== undefined ? [this.current] : []), ...this.queue.splice(0)];
    this.current = undefined;
    for (const p of all) {
      p.cancelTimer?.();
      p.reject(new AtError(reason, p.cmd.text, p.lines, final));
    }
  }

  private callUrc(urc: Urc, value: AtUrc): void {
    this.notify(() => urc.handler(value));
  }

  private unsolicited(t: AtToken): void {
    this.notify(() => this.opts.onUnsolicited?.(t));
  }

  private notify(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.handlerError(e);
    }
  }

  private handlerError(e: unknown): void {
    try {
      this.opts.onHandlerError?.(e);
    } catch {
      // The error reporter itself failed: nothing more to do.
    }
  }
}
