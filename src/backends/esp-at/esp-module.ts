/**
 * ESP-AT module control (reference `at-modules.md` §1, §4, §6): one `AtEngine` over a `ByteStream`,
 * bring-up in the manner of the CMSIS ESP32 driver (baud probing with `AT`, `ATE0` with echo
 * tolerated, `AT+GMR` → dialect table, station mode, `AT+CIPMUX=1` with stale links closed, passive
 * receive where the firmware has it, `AT+CIPDINFO=1`, optional `AT+SYSMSG` and `AT+UART_CUR`), one
 * command sequence at a time (`run`), resynchronisation by `AT` after a timeout (a late reply is
 * never taken for the next command's), and reset handling: `ready`, `wdt reset` or garbage →
 * `reset` event (the socket driver reports `lost`), re-initialisation rate-limited with back-off,
 * then `ready` again (the Wi-Fi face re-joins).
 */
import { Listeners, type Unsubscribe } from '../../base/listeners.ts';
import { SocketError } from '../../base/socket-error.ts';
import type { CancelTimer, Scheduler } from '../../base/time.ts';
import type { ByteStream } from '../../link/byte-stream.ts';
import { espIpdRecogniser, espRecvDataRecogniser } from '../../wire/at/esp-headers.ts';
import { AtEngine, type AtCommand, type AtResponse } from '../at/at-engine.ts';
import { AtError, isAtError } from '../at/at-error.ts';
import { atSocketError } from '../at/at-socket-error.ts';
import { parseGmr, type EspDialect } from './esp-dialect.ts';
import { isGarbage } from './esp-parse.ts';

/** Per-command timeouts in ms (reference §1.6 Mbed values and §6 item 14). */
export interface EspTimeouts {
  /** Ordinary commands. */
  readonly misc: number;
  /** `AT+CWJAP` (the module's own limit is 15 s). */
  readonly join: number;
  /** `AT+CIPSTART` TCP/UDP. */
  readonly connect: number;
  /** `AT+CIPSTART` SSL. */
  readonly ssl: number;
  /** `AT+CIPDOMAIN`. */
  readonly dns: number;
  /** Each phase of `AT+CIPSEND` (prompt, then acknowledgement), plus the payload's line time. */
  readonly send: number;
  /** `AT+CIPCLOSE`. */
  readonly close: number;
  /** `AT+CWLAP`, from the last byte received. */
  readonly scan: number;
  /** From a crash banner (`wdt reset`) to `ready`. */
  readonly boot: number;
  /** One `AT` while probing baud rates. */
  readonly probe: number;
  /** Silence required after a resync `OK`. */
  readonly quiet: number;
  /** How long a late `SEND OK` is awaited after `SEND FAIL` or `ERROR` (reference §6 item 7). */
  readonly sendGrace: number;
}

/**
 * Default deadlines of an ESP-AT module in ms (`EspTimeouts`: 2 s for most commands, 20 s to join or connect, 60 s
 * for SSL, 15 s for DNS and scans, 5 s to send or close, 10 s to boot, ...).
 */
export const ESP_DEFAULT_TIMEOUTS: EspTimeouts = {
  misc: 2000,
  join: 20_000,
  connect: 20_000,
  ssl: 60_000,
  dns: 15_000,
  send: 5000,
  close: 5000,
  scan: 15_000,
  boot: 10_000,
  probe: 300,
  quiet: 100,
  sendGrace: 1000,
};

/** Options of `EspAtModule`: the serial line, the clock, and the line-rate, reset and deadline settings. */
export interface EspAtModuleOptions {
  /** The module's serial line. */
  readonly stream: ByteStream;
  /** Clock of deadlines, pauses and probes. */
  readonly scheduler: Scheduler;
  /** Backend name for errors (`at:esp`). */
  readonly name?: string;
  /**
   * The module's line rate is known to be the stream's current one. False (default when the stream
   * can change its rate): probe `probeBaudRates` with `AT` when the current rate gets no answer.
   */
  readonly baudKnown?: boolean;
  /** Rates tried after the stream's own (CMSIS ESP32 order); default 115200, 921600, 460800, 230400, 57600, 38400, 19200, 9600. */
  readonly probeBaudRates?: readonly number[];
  /** Switch to this rate with `AT+UART_CUR` after bring-up (the `OK` comes at the old rate). */
  readonly targetBaudRate?: number;
  /** `AT+UART_CUR` flow control: 0 none, 1 RTS, 2 CTS, 3 both; default 0. */
  readonly flowControl?: 0 | 1 | 2 | 3;
  /** Use passive (pull) receive where the firmware has it; default true. */
  readonly passive?: boolean;
  /** `AT+SYSMSG=2` (`+LINK_CONN` instead of `<id>,CONNECT`) on ESP-AT; default false. */
  readonly sysmsg?: boolean;
  /** Command deadline overrides (default `ESP_DEFAULT_TIMEOUTS`). */
  readonly timeouts?: Partial<EspTimeouts>;
  /** Delay before the n-th re-initialisation of a reset series; default 0, 1 s, 5 s, 30 s, 60 s. */
  readonly reinitBackoffMs?: readonly number[];
  /** A module up this long ends a reset series (the back-off starts again); default 60 s. */
  readonly stableMs?: number;
}

/** Where the module is. */
export type EspModuleState = 'down' | 'initialising' | 'ready' | 'resetting' | 'closed';

/** Why every link is gone. */
export type EspResetReason = 'module-reset' | 'module-unresponsive' | 'stream-closed';

/** Counters for tests and diagnostics. */
export interface EspModuleStats {
  /** Module resets seen (banner, silence, stream end). */
  resets: number;
  /** Re-initialisations after a reset. */
  reinits: number;
  /** Resynchronisations after a command timeout. */
  resyncs: number;
  /** Lines of bytes that are not module text. */
  garbageLines: number;
  /** Lines nobody waited for (late replies, unknown URCs). */
  unsolicitedLines: number;
  /** Event handlers that threw. */
  handlerErrors: number;
}

const DEFAULT_PROBE = [115200, 921600, 460800, 230400, 57600, 38400, 19200, 9600];
const RESET_BANNERS = ['ready', /wdt reset/i, /^Will force to restart/];

/** One ESP-AT module on a byte stream. */
export class EspAtModule {
  /** Backend name for errors (`at:esp`). */
  readonly name: string;
  /** The AT engine on the module's serial line. */
  readonly engine: AtEngine;
  /** Clock of deadlines, pauses and probes. */
  readonly scheduler: Scheduler;
  /** The module's serial line. */
  readonly stream: ByteStream;
  /** Command deadlines in effect (ms). */
  readonly timeouts: EspTimeouts;
  /** Counters (see `EspModuleStats`). */
  readonly stats: EspModuleStats = { resets: 0, reinits: 0, resyncs: 0, garbageLines: 0, unsolicitedLines: 0, handlerErrors: 0 };
  private readonly opts: EspAtModuleOptions;
  private dialectValue: EspDialect | undefined;
  private stateValue: EspModuleState = 'down';
  private passiveValue = false;
  private dinfoValue = false;
  private generation = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly readyCbs = new Listeners<[{ reinit: boolean }]>();
  private readonly resetCbs = new Listeners<[EspResetReason]>();
  private readonly lineWaiters = new Set<(line: string) => void>();
  private readonly unsubs: Unsubscribe[] = [];
  private removeRecvData: (() => void) | undefined;
  private initPromise: Promise<void> | undefined;
  private initialBaud: number | undefined;
  private baudChanged = false;
  private lastResetAt = -Infinity;
  private consecutive = 0;
  private cancelBoot: CancelTimer | undefined;
  private cancelReinit: CancelTimer | undefined;
  private cancelCheck: CancelTimer | undefined;
  /** The last unsolicited lines, numbered (a late acknowledgement may come before anyone waits for it). */
  private readonly recent: { seq: number; text: string }[] = [];
  private lineSeq = 0;
  /** The last bytes handed to the stream (a data phase's payload is written as the same array). */
  private lastWrite: Uint8Array | undefined;

  constructor(options: EspAtModuleOptions) {
    this.opts = options;
    this.name = options.name ?? 'at:esp';
    this.stream = options.stream;
    this.scheduler = options.scheduler;
    this.timeouts = { ...ESP_DEFAULT_TIMEOUTS, ...options.timeouts };
    this.initialBaud = options.stream.baudRate;
    this.engine = new AtEngine({
      scheduler: options.scheduler,
      write: (bytes) => {
        this.lastWrite = bytes;
        if (!this.stream.closed) this.stream.write(bytes);
      },
      timeoutMs: this.timeouts.misc,
      resetBanners: RESET_BANNERS,
      tokenizer: { partial: [espIpdRecogniser()] },
      onReset: (banner) => this.onEngineReset(banner),
      onUnsolicited: (t) => {
        if (t.kind !== 'line') return;
        this.stats.unsolicitedLines++;
        this.recent.push({ seq: ++this.lineSeq, text: t.text });
        if (this.recent.length > 32) this.recent.shift();
        for (const w of [...this.lineWaiters]) w(t.text);
        if (isGarbage(t.text)) {
          this.stats.garbageLines++;
          this.suspectReset();
        }
      },
      onHandlerError: () => {
        this.stats.handlerErrors++;
      },
    });
    this.removeRecvData = this.engine.addPartialRecogniser(espRecvDataRecogniser());
    this.unsubs.push(
      this.stream.onData((bytes) => this.engine.receive(bytes)),
      this.stream.onClose(() => {
        if (this.stateValue === 'closed') return;
        const wasUp = this.stateValue === 'ready';
        this.shutdown();
        if (wasUp) this.emitReset('stream-closed');
      }),
    );
  }

  /** The firmware's dialect, once `AT+GMR` has answered. */
  get dialect(): EspDialect | undefined {
    return this.dialectValue;
  }

  /** The module's state now (`EspModuleState`). */
  get state(): EspModuleState {
    return this.stateValue;
  }

  /** Passive (pull) receive is on. */
  get passive(): boolean {
    return this.passiveValue;
  }

  /** `AT+CIPDINFO=1` took: `+IPD` carries the source. */
  get dinfo(): boolean {
    return this.dinfoValue;
  }

  /** The module finished (re-)initialising. */
  onReady(cb: (info: { reinit: boolean }) => void): Unsubscribe {
    return this.readyCbs.add(cb);
  }

  /** The module lost every link and its Wi-Fi state (reboot, no answer, stream gone). */
  onReset(cb: (reason: EspResetReason) => void): Unsubscribe {
    return this.resetCbs.add(cb);
  }

  /** Brings the module up. Rejects with a `SocketError` when it does not answer. */
  initialize(): Promise<void> {
    if (this.stateValue === 'ready') return Promise.resolve();
    if (this.stateValue === 'closed') return Promise.reject(this.error('ECONNABORTED', 'closed'));
    if (this.initPromise !== undefined) return this.initPromise;
    this.stateValue = 'initialising';
    const p = this.bringUp(false).then(
      () => {
        this.initPromise = undefined;
        if (this.stateValue !== 'initialising') return;
        this.stateValue = 'ready';
        this.lastResetAt = -Infinity;
        this.emitReady(false);
      },
      (e: unknown) => {
        this.initPromise = undefined;
        if (this.stateValue === 'initialising') this.stateValue = 'down';
        throw atSocketError(e, { op: 'initialize', backend: this.name, reason: 'no-module' });
      },
    );
    this.initPromise = p;
    return p;
  }

  /**
   * Runs `fn` with the module to itself: no other command sequence interleaves (one send
   * outstanding, a late acknowledgement awaited without a command in between). Refused with
   * `ECONNABORTED` (`module-not-ready`) unless the module is up, and with `module-reset` when it
   * rebooted while `fn` waited for its turn.
   */
  run<T>(fn: () => Promise<T>, internal = false): Promise<T> {
    const gen = this.generation;
    const p = this.chain.then(() => {
      if (this.stateValue === 'closed') throw this.error('ECONNABORTED', 'closed');
      if (!internal) {
        if (gen !== this.generation) throw this.error('ECONNABORTED', 'module-reset');
        if (this.stateValue !== 'ready') throw this.error('ECONNABORTED', 'module-not-ready');
      }
      return fn();
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** One command in its own `run`. Rejects with an `AtError` or a `SocketError`. */
  exec(cmd: AtCommand | string): Promise<AtResponse> {
    return this.run(() => this.command(cmd));
  }

  /**
   * Inside `run` only: sends a command; after a timeout the module is resynchronised before the
   * error is passed on (and declared unresponsive when that fails).
   */
  async command(cmd: AtCommand | string): Promise<AtResponse> {
    try {
      return await this.engine.send(cmd);
    } catch (e) {
      if (isAtError(e, 'timeout')) await this.recover();
      throw e;
    }
  }

  /** Inside `run` only: whether `bytes` were the last thing written to the module. */
  lastWritten(bytes: Uint8Array): boolean {
    return this.lastWrite === bytes;
  }

  /** A mark for `waitLine`: unsolicited lines after it count. */
  lineMark(): number {
    return this.lineSeq;
  }

  /** Inside `run` only: an unsolicited line matching `re` since `mark`, else waits up to `ms` for one. */
  waitLine(re: RegExp, ms: number, mark = this.lineSeq): Promise<string | undefined> {
    const seen = this.recent.find((l) => l.seq > mark && re.test(l.text));
    if (seen !== undefined) return Promise.resolve(seen.text);
    return new Promise((resolve) => {
      const waiter = (line: string): void => {
        if (!re.test(line)) return;
        done(line);
      };
      const cancel = this.scheduler.setTimer(ms, () => done(undefined));
      const done = (line: string | undefined): void => {
        cancel();
        this.lineWaiters.delete(waiter);
        resolve(line);
      };
      this.lineWaiters.add(waiter);
    });
  }

  /** Pauses on the module's scheduler. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.scheduler.setTimer(ms, resolve));
  }

  /** Releases the engine, timers and stream listeners; pending commands reject. Leaves the stream open. */
  close(): Promise<void> {
    this.shutdown();
    return Promise.resolve();
  }

  /** A `SocketError` of this module. */
  error(code: SocketError['code'], reason: string, op?: string, cause?: unknown): SocketError {
    return new SocketError(code, { ...(op !== undefined ? { op } : {}), backend: this.name, reason }, cause !== undefined ? { cause } : undefined);
  }

  // ---- bring-up

  private bringUp(reinit: boolean): Promise<void> {
    return this.run(async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.bringUpOnce(reinit || attempt > 0);
          return;
        } catch (e) {
          // The module rebooted under us (power-up `ready` while probing): start again.
          if (isAtError(e, 'reset') && attempt < 3) continue;
          throw e;
        }
      }
    }, true);
  }

  private async bringUpOnce(afterReset: boolean): Promise<void> {
    const gen = this.generation;
    const stream = this.stream;
    if (afterReset && this.baudChanged && this.initialBaud !== undefined && stream.setBaudRate !== undefined) {
      // A rebooted module talks at its default rate again (`AT+UART_CUR` is not kept).
      await stream.setBaudRate(this.initialBaud);
      this.baudChanged = false;
    }
    let found = await this.sync(3, this.timeouts.misc / 4);
    let escaped = false;
    if (!found) {
      // Left in passthrough by an earlier host (reference §6 item 13)?
      await this.escapePassthrough();
      escaped = true;
      found = await this.sync(2, this.timeouts.misc / 4);
    }
    if (!found && stream.setBaudRate !== undefined && this.opts.baudKnown !== true) found = await this.probe();
    if (!found) throw new AtError('timeout', 'AT', []);
    await this.engine.send('ATE0');
    const d = parseGmr((await this.engine.send('AT+GMR')).lines);
    this.dialectValue = d;
    await this.engine.send(`AT+CWMODE${d.cur}=1`);
    if (escaped) await this.tolerate('AT+CIPMODE=0');
    const mux = await this.tolerate('AT+CIPMUX?');
    if (mux?.lines.includes('+CIPMUX:1') === true) {
      // Host reset while the module ran on: drop its server and stale links (reference §6 item 13).
      await this.tolerate('AT+CIPSERVER=0');
      await this.tolerate('AT+CIPCLOSE=5');
    } else if ((await this.tolerate('AT+CIPMUX=1')) === undefined) {
      await this.tolerate('AT+CIPCLOSE'); // a stale MUX=0 link refuses the change
      await this.engine.send('AT+CIPMUX=1');
    }
    this.passiveValue = false;
    if (this.opts.passive !== false && d.passiveCommand !== undefined) {
      this.passiveValue = (await this.tolerate(d.passiveCommand)) !== undefined;
    }
    this.dinfoValue = (await this.tolerate('AT+CIPDINFO=1')) !== undefined;
    if (this.opts.sysmsg === true && d.sysmsg) await this.tolerate('AT+SYSMSG=2');
    this.removeRecvData?.();
    this.removeRecvData = this.engine.addPartialRecogniser(
      espRecvDataRecogniser({ dinfo: this.dinfoValue && d.recvDataInfo, maxLength: d.maxSend }),
    );
    const target = this.opts.targetBaudRate;
    if (target !== undefined && stream.setBaudRate !== undefined && stream.baudRate !== target) {
      const old = stream.baudRate;
      if ((await this.tolerate(`AT+UART_CUR=${target},8,1,0,${this.opts.flowControl ?? 0}`)) !== undefined) {
        await stream.setBaudRate(target); // the OK came at the old rate
        this.baudChanged = true;
        if (!(await this.sync(3, this.timeouts.misc / 4)) && old !== undefined) {
          await stream.setBaudRate(old);
          this.baudChanged = false;
          if (!(await this.sync(3, this.timeouts.misc / 4))) throw new AtError('timeout', 'AT', []);
        }
      }
    }
    if (gen !== this.generation) throw new AtError('reset', 'bring-up', []);
  }

  /** `+++` with the ESP guard times (over 20 ms of silence around it), then 1 s before the next command. */
  private async escapePassthrough(): Promise<void> {
    await this.sleep(50);
    if (!this.stream.closed) this.stream.write(Uint8Array.of(0x2b, 0x2b, 0x2b));
    await this.sleep(1100);
  }

  /** A command whose `ERROR` is acceptable: undefined then (a reset or close still throws). */
  private async tolerate(text: string): Promise<AtResponse | undefined> {
    try {
      return await this.engine.send(text);
    } catch (e) {
      if (isAtError(e, 'error') || isAtError(e, 'aborted')) return undefined;
      if (isAtError(e, 'timeout')) {
        if (!(await this.sync(3, this.timeouts.misc / 4))) throw e;
        return undefined;
      }
      throw e;
    }
  }

  /** Tries the stream's rate, then each probe rate, with `AT` (CMSIS ESP32). */
  private async probe(): Promise<boolean> {
    const setBaud = this.stream.setBaudRate?.bind(this.stream);
    if (setBaud === undefined) return false;
    const tried = new Set<number | undefined>([this.stream.baudRate]);
    for (const rate of this.opts.probeBaudRates ?? DEFAULT_PROBE) {
      if (tried.has(rate)) continue;
      tried.add(rate);
      await setBaud(rate);
      if (await this.sync(2, this.timeouts.probe)) {
        if (this.initialBaud === undefined || !this.baudChanged) this.initialBaud = rate;
        return true;
      }
    }
    return false;
  }

  /**
   * `AT` until `OK`, then a quiet period: a line arriving in it (the `OK` of a late reply we took
   * for ours, or ours after a late one) means we are still one behind, so try again.
   */
  private async sync(tries: number, timeoutMs: number): Promise<boolean> {
    for (let i = 0; i < tries; i++) {
      let extra = 0;
      const waiter = (): void => {
        extra++;
      };
      try {
        await this.engine.send({ text: 'AT', timeoutMs, busyRetries: 2 });
        this.lineWaiters.add(waiter);
        await this.sleep(this.timeouts.quiet);
        if (extra === 0) return true;
      } catch (e) {
        if (isAtError(e, 'reset') || isAtError(e, 'closed')) throw e;
      } finally {
        this.lineWaiters.delete(waiter);
      }
    }
    return false;
  }

  /** Inside `run` only, after a timeout: resynchronise, or declare the module unresponsive. */
  async recover(): Promise<void> {
    this.stats.resyncs++;
    let ok = false;
    try {
      ok = await this.sync(5, this.timeouts.misc / 4);
    } catch {
      return; // reset or closed: handled by their own paths
    }
    if (!ok && this.stateValue === 'ready') this.declareReset('module-unresponsive');
  }

  // ---- resets

  private onEngineReset(banner: string): void {
    this.stats.resets++;
    this.generation++;
    if (this.stateValue === 'closed' || this.stateValue === 'down' || this.stateValue === 'initialising') return;
    if (this.stateValue === 'ready') {
      this.stateValue = 'resetting';
      this.cancelCheck?.();
      this.emitReset('module-reset');
    }
    if (banner === 'ready') {
      this.cancelBoot?.();
      this.cancelBoot = undefined;
      this.scheduleReinit();
    } else if (this.cancelBoot === undefined && this.cancelReinit === undefined) {
      // A crash banner: `ready` should follow; re-initialise anyway if it does not.
      this.cancelBoot = this.scheduler.setTimer(this.timeouts.boot, () => {
        this.cancelBoot = undefined;
        this.scheduleReinit();
      });
    }
  }

  /** Garbage while up: a reboot at another baud rate, or line noise. Check a little later. */
  private suspectReset(): void {
    if (this.stateValue !== 'ready' || this.cancelCheck !== undefined) return;
    this.cancelCheck = this.scheduler.setTimer(this.timeouts.misc, () => {
      this.cancelCheck = undefined;
      if (this.stateValue !== 'ready') return;
      this.run(async () => {
        const r = await this.command('AT+CIPMUX?');
        // A module that forgot `AT+CIPMUX=1` rebooted without a `ready` we could read.
        if (!r.lines.includes('+CIPMUX:1') && this.stateValue === 'ready') this.declareReset('module-reset');
      }).catch(() => undefined);
    });
  }

  private declareReset(reason: EspResetReason): void {
    this.generation++;
    this.stats.resets++;
    this.stateValue = 'resetting';
    this.emitReset(reason);
    this.scheduleReinit();
  }

  private scheduleReinit(): void {
    if (this.cancelReinit !== undefined || this.stateValue === 'closed') return;
    const now = this.scheduler.now();
    if (now - this.lastResetAt > (this.opts.stableMs ?? 60_000)) this.consecutive = 0;
    this.lastResetAt = now;
    const backoff = this.opts.reinitBackoffMs ?? [0, 1000, 5000, 30_000, 60_000];
    const delay = backoff[Math.min(this.consecutive, backoff.length - 1)] ?? 0;
    this.consecutive++;
    this.cancelReinit = this.scheduler.setTimer(delay, () => {
      this.cancelReinit = undefined;
      void this.reinit();
    });
  }

  private async reinit(): Promise<void> {
    if (this.stateValue !== 'resetting') return;
    this.stateValue = 'initialising';
    this.stats.reinits++;
    try {
      await this.bringUp(true);
    } catch {
      if (this.stateValue === 'initialising') {
        this.stateValue = 'resetting';
        this.scheduleReinit();
      }
      return;
    }
    if (this.stateValue !== 'initialising') return;
    this.stateValue = 'ready';
    this.emitReady(true);
  }

  private emitReady(reinit: boolean): void {
    try {
      this.readyCbs.emit({ reinit });
    } catch {
      this.stats.handlerErrors++;
    }
  }

  private emitReset(reason: EspResetReason): void {
    try {
      this.resetCbs.emit(reason);
    } catch {
      this.stats.handlerErrors++;
    }
  }

  private shutdown(): void {
    this.stateValue = 'closed';
    this.generation++;
    this.cancelBoot?.();
    this.cancelReinit?.();
    this.cancelCheck?.();
    for (const u of this.unsubs.splice(0)) u();
    this.engine.close();
  }
}
