/**
 * The cellular side of a Quectel BG96/BG95/EC2x module (reference `at-modules.md` §2, §3, §6):
 * owns the byte stream and the `AtEngine` (`\r` line ending), brings the module up (resync by `AT`
 * until `OK`, baud probing, `ATE0`, `AT+CMEE=1`, identity, stale sockets closed, SIM with PIN,
 * signal, registration URCs, PDP context), follows registration and PDP loss, and re-runs the
 * bring-up after a module reset, rate-limited (3 immediate attempts an hour, then 10 min, 30 min,
 * 1 h). Commands are strictly serial; after a command times out the next one waits until `AT`
 * answers `OK` again, so a late reply is never taken for another command's.
 *
 * Status model: `off` → `starting` → `sim-ready` → `registered` → `pdp-active` (`failed` after a
 * bring-up failure, `closed` once the stream ends). The socket side (`QuectelDriver`) hears `reset`
 * and `pdp-down` to fail its links.
 */
import { Listeners, type Unsubscribe } from '../../base/listeners.ts';
import { SocketError } from '../../base/socket-error.ts';
import type { CancelTimer, Scheduler } from '../../base/time.ts';
import type { ByteStream } from '../../link/byte-stream.ts';
import { quectelQirdRecogniser } from '../../wire/at/quectel-headers.ts';
import { AtEngine, type AtCommand, type AtResponse, type AtUrc } from '../at/at-engine.ts';
import { AtError, isAtError } from '../at/at-error.ts';
import { quectelSocketError } from './quectel-errors.ts';
import {
  isRegisteredStat,
  parseAti,
  parseCsq,
  parseQiact,
  parseQiurc,
  parseRegistration,
  type ModuleIdentity,
  type RegistrationInfo,
  type RegistrationKind,
  type SignalInfo,
} from './quectel-parse.ts';

/** Where the modem is. */
export type ModemStatus = 'off' | 'starting' | 'sim-ready' | 'registered' | 'pdp-active' | 'failed' | 'closed';

/** Why every link was lost at once. */
export type ModemLossReason = 'module-reset' | 'unresponsive' | 'stream-closed' | 'disposed';

/** Events of a {@link QuectelModem}, by name. */
export interface QuectelModemEventMap {
  /** The modem's status changed. */
  status: ModemStatus;
  /** Network registration changed (`+CREG`/`+CGREG`/`+CEREG`). */
  registration: RegistrationInfo;
  /** A new signal quality reading. */
  signal: SignalInfo;
  /** A PDP context came up with an address. */
  'pdp-up': {
    /** The context id. */
    readonly cid: number;
    /** Its IPv4 address. */
    readonly address: string;
  };
  /** A PDP context went down, and why. */
  'pdp-down': {
    /** The context id. */
    readonly cid: number;
    /** Why it went down (`pdp-deact` from the network, `deactivated`, ...). */
    readonly reason: string;
  };
  /** The module rebooted (banner `RDY`/`APP RDY`), stopped answering, or the stream ended. */
  reset: {
    /** Rebooted, stopped answering, the stream ended, or the modem was disposed. */
    readonly reason: ModemLossReason;
    /** The boot banner seen, if any. */
    readonly banner: string | undefined;
  };
  /** A background bring-up (after a reset or PDP loss) failed; another is scheduled. */
  error: SocketError;
}

/** Configuration of a {@link QuectelModem}. */
export interface QuectelModemOptions {
  /** The module's serial line. */
  readonly stream: ByteStream;
  /** Clock for deadlines and retries. */
  readonly scheduler: Scheduler;
  /** Access point name for `AT+QICSGP`. */
  readonly apn: string;
  /** PDP context user name (`AT+QICSGP`). */
  readonly user?: string;
  /** PDP context password (`AT+QICSGP`). */
  readonly password?: string;
  /** 0 none, 1 PAP, 2 CHAP; default 1 when a user is given, else 0. */
  readonly auth?: 0 | 1 | 2;
  /** 1 IPv4 (default), 2 IPv6, 3 IPv4v6. */
  readonly pdpType?: 1 | 2 | 3;
  /** PDP context id (default 1). */
  readonly contextId?: number;
  /**
   * `'activate'` (default): the module's own IP stack, `AT+QICSGP` and `AT+QIACT` (socket mode).
   * `'dial-up'`: only define the context (`AT+CGDCONT`) and stop at `registered`: the host dials
   * (`ATD*99***<cid>#`) and runs PPP over the data mode (src/backends/cellular/).
   */
  readonly pdp?: 'activate' | 'dial-up';
  /** SIM PIN, entered once when the SIM asks (`+CPIN: SIM PIN`); never retried. */
  readonly pin?: string;
  /** Rates tried when `AT` gets no answer and the stream can change its rate. */
  readonly baudRates?: readonly number[];
  /** How long to wait for network registration (default 180 s). */
  readonly registrationTimeoutMs?: number;
  /** Registration is re-queried this often while waiting (default 10 s). */
  readonly registrationPollMs?: number;
  /** `+CME ERROR: 14` (SIM busy) and unknown SIM states are retried this often (default 1 s) … */
  readonly simRetryMs?: number;
  /** … this many times (default 20). */
  readonly simRetries?: number;
  /** Close link ids 0–11 at the first bring-up (the host may have restarted while the module ran on); default true. */
  readonly closeStaleSockets?: boolean;
  /** Default timeout of ordinary commands (default 5 s). */
  readonly commandTimeoutMs?: number;
  /** Pause after a reset banner before the bring-up starts (boot URCs; default 1 s). */
  readonly settleMs?: number;
  /** Bring-ups allowed within an hour without back-off (default 3). */
  readonly immediateRecoveries?: number;
  /** Back-off after those (default 10 min, 30 min, 1 h; the last repeats). */
  readonly recoveryDelaysMs?: readonly number[];
  /** Backend name for errors before the model is known (default `at:quectel`). */
  readonly name?: string;
}

/** Timeouts of the reference (§3 Timing). */
export const QUECTEL_TIMEOUTS = {
  /** `AT+QIACT` (150 s). */
  qiact: 150_000,
  /** `AT+QIOPEN` (150 s). */
  qiopen: 150_000,
  /** The module forces the close after 10 s; one more second for its `OK` to arrive. */
  qiclose: 11_000,
  /** `AT+QIDEACT` (40 s). */
  qideact: 40_000,
  /** `AT+QIDNSGIP` (60 s). */
  qidnsgip: 60_000,
  /** One `AT` of a resync. */
  sync: 500,
} as const;

/** Link ids of the module (0–11). */
export const QUECTEL_MAX_SOCKETS = 12;

const DEFAULT_BAUDS = [115_200, 9_600, 19_200, 38_400, 57_600, 230_400, 460_800, 921_600];
const HOUR = 3_600_000;

/** A bring-up superseded by a reset or by disposal: not a failure. */
class Superseded extends Error {}

type EventListeners = { [K in keyof QuectelModemEventMap]: Listeners<[QuectelModemEventMap[K]]> };

/** The cellular control side of a Quectel module. */
export class QuectelModem {
  /** The AT engine on the module's serial line. */
  readonly engine: AtEngine;
  /** Clock for deadlines and retries. */
  readonly scheduler: Scheduler;
  /** The PDP context id in use. */
  readonly contextId: number;
  private readonly opts: QuectelModemOptions;
  private readonly listeners: EventListeners = {
    status: new Listeners(),
    registration: new Listeners(),
    signal: new Listeners(),
    'pdp-up': new Listeners(),
    'pdp-down': new Listeners(),
    reset: new Listeners(),
    error: new Listeners(),
  };
  private readonly unsubs: Unsubscribe[] = [];
  private tail: Promise<void> = Promise.resolve();
  private needResync = false;
  private gen = 0;
  private phase: 'off' | 'starting' | 'up' | 'failed' | 'closed' = 'off';
  private simReady = false;
  private pdpAddress: string | undefined;
  private readonly reg = new Map<RegistrationKind, RegistrationInfo>();
  private regWaiters: (() => void)[] = [];
  private lastStatus: ModemStatus = 'off';
  private started = false;
  private startWaiter: { resolve: () => void; reject: (e: SocketError) => void } | undefined;
  private startPromise: Promise<void> | undefined;
  private recoveryTimer: CancelTimer | undefined;
  private readonly recoveries: number[] = [];
  private readonly timers = new Set<CancelTimer>();
  private identityValue: ModuleIdentity | undefined;
  private imeiValue: string | undefined;
  private signalValue: SignalInfo | undefined;
  private staleClosed = false;

  constructor(options: QuectelModemOptions) {
    this.opts = options;
    this.scheduler = options.scheduler;
    this.contextId = options.contextId ?? 1;
    const stream = options.stream;
    this.engine = new AtEngine({
      scheduler: options.scheduler,
      lineEnding: '\r',
      timeoutMs: options.commandTimeoutMs ?? 5000,
      write: (b) => {
        stream.write(b);
      },
      tokenizer: { full: [quectelQirdRecogniser({ maxLength: 1500 })] },
      onReset: (banner) => this.lost('module-reset', banner),
    });
    this.unsubs.push(stream.onData((b) => this.engine.receive(b)));
    this.unsubs.push(stream.onClose(() => this.streamClosed()));
    for (const kind of ['+CREG:', '+CGREG:', '+CEREG:']) this.unsubs.push(this.engine.onUrc(kind, (u) => this.registrationLine(u)));
    this.unsubs.push(this.engine.onUrc('+QIURC: "pdpdeact"', (u) => this.pdpDeact(u)));
  }

  /** Backend name: `at:bg96` once the model is known. */
  get name(): string {
    const model = this.identityValue?.model;
    return model !== undefined ? `at:${model.toLowerCase()}` : (this.opts.name ?? 'at:quectel');
  }

  /** The modem's status now (`ModemStatus`). */
  get status(): ModemStatus {
    return this.lastStatus;
  }

  /** What `ATI` said. */
  get identity(): ModuleIdentity | undefined {
    return this.identityValue;
  }

  /** The IMEI (from `AT+CGSN`), once read. */
  get imei(): string | undefined {
    return this.imeiValue;
  }

  /** The last signal quality read (`AT+CSQ`), if any. */
  get signal(): SignalInfo | undefined {
    return this.signalValue;
  }

  /** The PDP context's address while it is active. */
  get address(): string | undefined {
    return this.pdpAddress;
  }

  /** The latest report of each registration kind. */
  registration(kind: RegistrationKind): RegistrationInfo | undefined {
    return this.reg.get(kind);
  }

  /** True while the network (packet domain) registration is home or roaming. */
  get registered(): boolean {
    const ps = [this.reg.get('CEREG'), this.reg.get('CGREG')].filter((r) => r !== undefined);
    if (ps.length > 0) return ps.some((r) => isRegisteredStat(r.stat));
    return isRegisteredStat(this.reg.get('CREG')?.stat);
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof QuectelModemEventMap>(event: K, cb: (value: QuectelModemEventMap[K]) => void): Unsubscribe {
    return (this.listeners[event] as Listeners<[QuectelModemEventMap[K]]>).add(cb);
  }

  /**
   * Brings the module up to an active PDP context. Resolves once it is; rejects with the first
   * bring-up failure (a reset during the bring-up restarts it instead).
   */
  start(): Promise<void> {
    if (this.startPromise !== undefined) return this.startPromise;
    this.startPromise = new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
    });
    this.startPromise.catch(() => undefined);
    this.started = true;
    this.bringUp();
    return this.startPromise;
  }

  /**
   * Runs one AT command, strictly after the previous one. After a timeout the module is
   * resynchronised (`AT` until `OK`) before the next command; if it stays silent it is treated as
   * reset (links lost, bring-up scheduled).
   */
  command(cmd: AtCommand | string): Promise<AtResponse> {
    const c = typeof cmd === 'string' ? { text: cmd } : cmd;
    return this.serial(async () => {
      if (this.needResync) {
        if (!(await this.resync(5))) {
          this.lost('unresponsive', undefined);
          throw new AtError('timeout', c.text, []);
        }
      }
      return this.raw(c);
    });
  }

  /** Queries `AT+CSQ` and reports the signal. */
  async refreshSignal(): Promise<SignalInfo | undefined> {
    const r = await this.command('AT+CSQ');
    for (const l of r.lines) {
      const s = parseCsq(l);
      if (s !== undefined) {
        this.signalValue = s;
        this.emit('signal', s);
        return s;
      }
    }
    return undefined;
  }

  /**
   * Activates the PDP context again after `deactivate()` (socket mode): waits for the registration,
   * then `AT+QICSGP`/`AT+QIACT`. Resolves at `pdp-active`.
   */
  async reactivate(): Promise<void> {
    if (this.phase !== 'up') return this.start();
    const gen = this.gen;
    await this.waitRegistered(gen);
    if (this.opts.pdp === 'dial-up') await this.define(gen);
    else await this.activate(gen);
  }

  /** Deactivates the PDP context (`AT+QIDEACT`, 40 s); links are lost with reason `pdp-deact`. */
  async deactivate(): Promise<void> {
    const wasUp = this.pdpAddress !== undefined;
    this.pdpAddress = undefined;
    try {
      await this.command({ text: `AT+QIDEACT=${this.contextId}`, timeoutMs: QUECTEL_TIMEOUTS.qideact });
    } finally {
      if (wasUp) this.emit('pdp-down', { cid: this.contextId, reason: 'deactivated' });
      this.updateStatus();
    }
  }

  /** Stops everything: timers, URC handlers, the engine (pending commands fail). The stream stays open. */
  dispose(): void {
    this.gen++;
    this.recoveryTimer?.();
    this.recoveryTimer = undefined;
    for (const t of this.timers) t();
    this.timers.clear();
    for (const u of this.unsubs.splice(0)) u();
    this.engine.close();
    this.startWaiter?.reject(new SocketError('ECONNABORTED', { op: 'start', backend: this.name, reason: 'disposed' }));
    this.startWaiter = undefined;
    this.phase = 'closed';
    this.updateStatus();
  }

  // ---------------------------------------------------------------------------------------------
  // Serial command execution and resynchronisation

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  private async raw(c: AtCommand): Promise<AtResponse> {
    try {
      return await this.engine.send(c);
    } catch (e) {
      if (isAtError(e, 'timeout')) this.needResync = true;
      throw e;
    }
  }

  /** `AT` until `OK`, at most `attempts` times. Call only inside `serial`. */
  private async resync(attempts: number): Promise<boolean> {
    for (let i = 0; i < attempts; i++) {
      try {
        await this.engine.send({ text: 'AT', timeoutMs: QUECTEL_TIMEOUTS.sync });
        this.needResync = false;
        return true;
      } catch (e) {
        if (isAtError(e, 'closed')) return false;
      }
    }
    return false;
  }

  /** Finds the module: `AT` until `OK`, then at each other rate if the stream can change it. */
  private sync(): Promise<boolean> {
    return this.serial(async () => {
      if (await this.resync(3)) return true;
      const stream = this.opts.stream;
      const original = stream.baudRate;
      if (stream.setBaudRate === undefined) return false;
      for (const rate of this.opts.baudRates ?? DEFAULT_BAUDS) {
        if (rate === original) continue;
        try {
          await stream.setBaudRate(rate);
        } catch {
          continue;
        }
        if (await this.resync(2)) return true;
      }
      // Nobody answered at any rate (module still booting, or off): back to where we started, and
      // ask once more there (a module that was booting during the sweep answers now).
      if (original === undefined) return false;
      await stream.setBaudRate(original).catch(() => undefined);
      return this.resync(3);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Bring-up

  private bringUp(): void {
    const gen = ++this.gen;
    this.phase = 'starting';
    this.updateStatus();
    this.runBringUp(gen).then(
      () => {
        if (gen !== this.gen) return;
        this.phase = 'up';
        this.updateStatus();
        this.startWaiter?.resolve();
        this.startWaiter = undefined;
      },
      (e: unknown) => {
        if (gen !== this.gen || e instanceof Superseded) return;
        const err = quectelSocketError(e, { op: 'start', backend: this.name });
        this.phase = 'failed';
        this.updateStatus();
        if (this.startWaiter !== undefined) {
          this.startWaiter.reject(err);
          this.startWaiter = undefined;
        } else {
          this.emit('error', err);
        }
        this.scheduleRecovery(false);
      },
    );
  }

  private check(gen: number): void {
    if (gen !== this.gen) throw new Superseded();
  }

  private async tolerant(cmd: AtCommand | string): Promise<AtResponse | undefined> {
    try {
      return await this.command(cmd);
    } catch (e) {
      if (isAtError(e, 'reset') || isAtError(e, 'closed')) throw e;
      return undefined;
    }
  }

  private async runBringUp(gen: number): Promise<void> {
    this.simReady = false;
    this.pdpAddress = undefined;
    this.reg.clear();
    if (!(await this.sync())) {
      throw new SocketError('ETIMEDOUT', { op: 'start', backend: this.name, reason: 'no-response' });
    }
    this.check(gen);
    await this.command('ATE0');
    this.check(gen);
    await this.command('AT+CMEE=1');
    this.check(gen);
    const ati = await this.tolerant('ATI');
    const identity = ati !== undefined ? parseAti(ati.lines) : undefined;
    if (identity !== undefined) this.identityValue = identity;
    this.check(gen);
    const gsn = await this.tolerant('AT+CGSN');
    const imei = gsn?.lines.find((l) => /^\d{14,17}$/.test(l));
    if (imei !== undefined) this.imeiValue = imei;
    this.check(gen);
    if (!this.staleClosed && this.opts.closeStaleSockets !== false && this.opts.pdp !== 'dial-up') {
      for (let id = 0; id < QUECTEL_MAX_SOCKETS; id++) {
        await this.tolerant({ text: `AT+QICLOSE=${id}`, timeoutMs: QUECTEL_TIMEOUTS.qiclose });
        this.check(gen);
      }
      this.staleClosed = true;
    }
    await this.sim(gen);
    this.simReady = true;
    this.updateStatus();
    await this.tolerant('AT+CSQ').then((r) => {
      const s = r?.lines.map(parseCsq).find((x) => x !== undefined);
      if (s !== undefined) {
        this.signalValue = s;
        this.emit('signal', s);
      }
    });
    this.check(gen);
    for (const kind of ['CREG', 'CGREG', 'CEREG']) {
      await this.tolerant(`AT+${kind}=2`);
      this.check(gen);
    }
    await this.waitRegistered(gen);
    this.updateStatus();
    if (this.opts.pdp === 'dial-up') await this.define(gen);
    else await this.activate(gen);
  }

  private async sim(gen: number): Promise<void> {
    const retries = this.opts.simRetries ?? 20;
    const detail = { op: 'sim', backend: this.name };
    let pinEntered = false;
    for (let attempt = 0; ; attempt++) {
      let state: string | undefined;
      try {
        const r = await this.command('AT+CPIN?');
        state = r.lines.find((l) => l.startsWith('+CPIN:'))?.slice(6).trim();
      } catch (e) {
        if (isAtError(e, 'cme') && e.code === 10) {
          throw new SocketError('ERROR', { ...detail, reason: 'no-sim' }, { cause: e, message: 'ERROR: no SIM card inserted (+CME ERROR: 10)' });
        }
        if (!(isAtError(e, 'cme') && e.code === 14) || attempt >= retries) throw e;
        state = 'BUSY';
      }
      this.check(gen);
      if (state === 'READY') return;
      if (state === 'SIM PIN') {
        if (this.opts.pin === undefined) throw new SocketError('ERROR', { ...detail, reason: 'sim-pin-required' });
        if (pinEntered) throw new SocketError('ERROR', { ...detail, reason: 'sim-pin-rejected' });
        pinEntered = true;
        try {
          await this.command(`AT+CPIN="${this.opts.pin}"`);
        } catch (e) {
          if (isAtError(e, 'reset') || isAtError(e, 'closed')) throw e;
          throw new SocketError('ERROR', { ...detail, reason: 'sim-pin-rejected' }, { cause: e });
        }
        this.check(gen);
        continue;
      }
      if (state === 'SIM PUK' || state === 'SIM PUK2') throw new SocketError('ERROR', { ...detail, reason: 'sim-puk' });
      if (attempt >= retries) throw new SocketError('ERROR', { ...detail, reason: `sim-state:${state ?? 'none'}` });
      await this.sleep(this.opts.simRetryMs ?? 1000);
      this.check(gen);
    }
  }

  private async queryRegistration(gen: number): Promise<void> {
    for (const kind of ['CEREG', 'CGREG', 'CREG']) {
      await this.tolerant(`AT+${kind}?`);
      this.check(gen);
    }
  }

  private async waitRegistered(gen: number): Promise<void> {
    const deadline = this.scheduler.now() + (this.opts.registrationTimeoutMs ?? 180_000);
    await this.queryRegistration(gen);
    while (!this.registered) {
      const left = deadline - this.scheduler.now();
      if (left <= 0) {
        const denied = [...this.reg.values()].some((r) => r.stat === 3);
        throw new SocketError('ETIMEDOUT', {
          op: 'register',
          backend: this.name,
          reason: denied ? 'registration-denied' : 'registration-timeout',
        });
      }
      await this.waitRegistration(Math.min(left, this.opts.registrationPollMs ?? 10_000));
      this.check(gen);
      if (!this.registered && this.scheduler.now() < deadline) await this.queryRegistration(gen);
    }
  }

  /** Resolves at the next registration report or after `ms`. */
  private waitRegistration(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        this.timers.delete(cancel);
        cancel();
        resolve();
      };
      const cancel = this.scheduler.setTimer(ms, finish);
      this.timers.add(cancel);
      this.regWaiters.push(finish);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const cancel = this.scheduler.setTimer(ms, () => {
        this.timers.delete(cancel);
        resolve();
      });
      this.timers.add(cancel);
    });
  }

  private qicsgp(): string {
    const o = this.opts;
    const type = o.pdpType ?? 1;
    const base = `AT+QICSGP=${this.contextId},${type},"${o.apn}"`;
    if (o.user === undefined && o.password === undefined && o.auth === undefined) return base;
    const auth = o.auth ?? (o.user !== undefined ? 1 : 0);
    return `${base},"${o.user ?? ''}","${o.password ?? ''}",${auth}`;
  }

  /** Dial-up: `AT+CGDCONT=<cid>,"<type>","<apn>"` (3GPP 27.007 §10.1.1); the dial activates it. */
  private async define(gen: number): Promise<void> {
    this.checkApn();
    const type = ['IP', 'IPV6', 'IPV4V6'][(this.opts.pdpType ?? 1) - 1] ?? 'IP';
    await this.command(`AT+CGDCONT=${this.contextId},"${type}","${this.opts.apn}"`);
    this.check(gen);
  }

  private checkApn(): void {
    const o = this.opts;
    if ([o.apn, o.user ?? '', o.password ?? ''].some((t) => /["\r\n]/.test(t) || t.length > 99)) {
      // Quectel strings have no escapes (reference §6.18): refuse what would break the command line.
      throw new SocketError('EINVAL', { op: 'pdp-activate', backend: this.name, reason: 'bad-apn' });
    }
  }

  /** `AT+QICSGP`, `AT+QIACT=<cid>` (an `ERROR` is fine if the context is already active), `AT+QIACT?`. */
  private async activate(gen: number): Promise<void> {
    this.checkApn();
    await this.command(this.qicsgp());
    this.check(gen);
    let actError: unknown;
    try {
      await this.command({ text: `AT+QIACT=${this.contextId}`, timeoutMs: QUECTEL_TIMEOUTS.qiact });
    } catch (e) {
      if (isAtError(e, 'reset') || isAtError(e, 'closed') || isAtError(e, 'timeout')) throw e;
      actError = e;
    }
    this.check(gen);
    const r = await this.command('AT+QIACT?');
    this.check(gen);
    const mine = r.lines.map(parseQiact).find((q) => q !== undefined && q.cid === this.contextId && q.state === 1);
    if (mine?.address === undefined) {
      if (actError !== undefined) throw quectelSocketError(actError, { op: 'pdp-activate', backend: this.name });
      throw new SocketError('ECONNABORTED', { op: 'pdp-activate', backend: this.name, reason: 'no-pdp-address' });
    }
    this.pdpAddress = mine.address;
    this.emit('pdp-up', { cid: this.contextId, address: mine.address });
    this.updateStatus();
  }

  // ---------------------------------------------------------------------------------------------
  // URCs and losses

  private registrationLine(u: AtUrc): void {
    const r = parseRegistration(u.line);
    if (r === undefined) return;
    this.reg.set(r.kind, r);
    this.emit('registration', r);
    this.updateStatus();
    for (const w of this.regWaiters.splice(0)) w();
  }

  private pdpDeact(u: AtUrc): void {
    const cid = Number(parseQiurc(u.line)?.fields[0]?.text);
    if (cid !== this.contextId || this.phase === 'closed') return;
    const wasUp = this.pdpAddress !== undefined;
    this.pdpAddress = undefined;
    this.emit('pdp-down', { cid, reason: 'pdp-deact' });
    this.updateStatus();
    if (!wasUp || this.phase !== 'up') return;
    // Reference §3: AT+QIDEACT, then reactivate; a failure falls back to a full bring-up.
    const gen = this.gen;
    void (async () => {
      await this.tolerant({ text: `AT+QIDEACT=${cid}`, timeoutMs: QUECTEL_TIMEOUTS.qideact });
      this.check(gen);
      await this.waitRegistered(gen);
      await this.activate(gen);
    })().catch((e: unknown) => {
      if (gen !== this.gen || e instanceof Superseded) return;
      this.emit('error', quectelSocketError(e, { op: 'pdp-activate', backend: this.name }));
      this.gen++;
      this.phase = 'failed';
      this.updateStatus();
      this.scheduleRecovery(false);
    });
  }

  private lost(reason: ModemLossReason, banner: string | undefined): void {
    if (this.phase === 'closed') return;
    this.gen++;
    this.simReady = false;
    this.pdpAddress = undefined;
    this.reg.clear();
    this.needResync = reason === 'unresponsive';
    for (const w of this.regWaiters.splice(0)) w();
    this.emit('reset', { reason, banner });
    if (reason === 'stream-closed') return;
    this.phase = this.started ? 'starting' : 'off';
    this.updateStatus();
    if (this.started) this.scheduleRecovery(this.recoveryTimer !== undefined);
  }

  /**
   * Schedules a bring-up: after `settleMs` while fewer than `immediateRecoveries` ran in the last
   * hour, else after the back-off (10 min, 30 min, 1 h). A banner arriving while one is already
   * scheduled (`RDY` then `APP RDY`) reschedules it without counting.
   */
  private scheduleRecovery(again: boolean): void {
    this.recoveryTimer?.();
    const now = this.scheduler.now();
    while (this.recoveries.length > 0 && (this.recoveries[0] ?? 0) <= now - HOUR) this.recoveries.shift();
    if (!again) this.recoveries.push(now);
    const n = this.recoveries.length;
    const free = this.opts.immediateRecoveries ?? 3;
    const delays = this.opts.recoveryDelaysMs ?? [600_000, 1_800_000, HOUR];
    const delay = n <= free ? (this.opts.settleMs ?? 1000) : (delays[Math.min(n - free - 1, delays.length - 1)] ?? HOUR);
    this.recoveryTimer = this.scheduler.setTimer(delay, () => {
      this.recoveryTimer = undefined;
      if (this.phase !== 'closed') this.bringUp();
    });
  }

  private streamClosed(): void {
    this.lost('stream-closed', undefined);
    this.dispose();
  }

  private updateStatus(): void {
    let s: ModemStatus;
    if (this.phase === 'closed') s = 'closed';
    else if (this.simReady && this.registered && this.pdpAddress !== undefined && this.phase === 'up') s = 'pdp-active';
    else if (this.simReady && this.registered) s = 'registered';
    else if (this.simReady) s = 'sim-ready';
    else s = this.phase === 'up' ? 'starting' : this.phase;
    if (s === this.lastStatus) return;
    this.lastStatus = s;
    this.emit('status', s);
  }

  private emit<K extends keyof QuectelModemEventMap>(event: K, value: QuectelModemEventMap[K]): void {
    try {
      (this.listeners[event] as Listeners<[QuectelModemEventMap[K]]>).emit(value);
    } catch {
      // A listener threw: the modem goes on (untrusted callbacks never break the driver).
    }
  }
}
