/**
 * A cellular interface over dial-up PPP (reference `at-modules.md` §2, `network-layers.md` §4): the
 * 3GPP 27.007 bring-up of a modem on a serial line (sync, SIM and PIN, signal, registration URCs,
 * `AT+CGDCONT`; `QuectelModem` in `'dial-up'` mode), the dial (`ATD*99***<cid>#` or
 * `AT+CGDATA="PPP",<cid>`), PPP over the data mode (`PppLink` in the client role, attached to the
 * userspace `Stack` with `attachPpp`, DNS servers from IPCP to the resolver), and the hang-up
 * (LCP Terminate, then `+++` and `ATH` if the modem stays online).
 *
 * Status (`InterfaceStatus`): `disconnected` → `connecting` → `global-up` (IPv4 address from IPCP;
 * `local-up` while only IPV6CP's link-local address exists). Every change is reported with its
 * reason. Once connected the interface keeps itself connected until `disconnect()`: when the call
 * ends (`NO CARRIER`: registration lost, network detach; PPP link dead; module reset) it goes back to
 * `connecting`, waits for the registration, and redials with exponential back-off (1 s doubling to
 * 60 s by default, ±20 % jitter; back to the first step after a call that lasted a minute).
 *
 * `connect()` resolves at `global-up`; it rejects with the bring-up's failure (no SIM, PIN
 * refused, registration timeout) or after `dialAttempts` failed dials in a row, and with
 * `EISCONN` when already connected. A second `connect()` while connecting shares the first's
 * promise. `disconnect()` on a disconnected interface rejects with `ENOTCONN` (Mbed:
 * NO_CONNECTION).
 */
import { Listeners, type Unsubscribe } from '../../base/listeners.ts';
import type { Rng } from '../../base/rand.ts';
import { SocketError } from '../../base/socket-error.ts';
import type { Scheduler } from '../../base/time.ts';
import type { ByteStream } from '../../link/byte-stream.ts';
import { attachPpp, type PppAttachment } from '../../link/ppp-attach.ts';
import { PppLink, type PppFrameTap } from '../../link/ppp-link.ts';
import type { PppEvent, PppSessionOptions } from '../../stack/ppp/ppp-session.ts';
import { Stack } from '../../stack/stack.ts';
import { atSocketError } from '../at/at-socket-error.ts';
import type { InterfaceStatus, InterfaceStatusEvent } from '../interface-status.ts';
import { QuectelModem, type ModemStatus, type QuectelModemOptions } from '../quectel/quectel-modem.ts';
import type { RegistrationInfo, SignalInfo } from '../quectel/quectel-parse.ts';
import { DataChannel } from './data-channel.ts';

/** Where DNS servers learnt from IPCP go (the userspace backend's resolver). */
export interface DnsSink {
  /** Takes the DNS servers IPCP negotiated (IPv4 literals). */
  setDnsServers(servers: readonly string[]): void;
}

/**
 * Options of `CellularDialup`: the modem's serial line, the clock, randomness, the userspace stack the PPP link
 * joins, and the dial settings.
 */
export interface CellularDialupOptions {
  /** The modem's serial line. */
  stream: ByteStream;
  /** Clock for deadlines, back-off and PPP timers. */
  scheduler: Scheduler;
  /** PPP magic numbers and identifiers, redial jitter. */
  rng: Rng;
  /** The userspace stack the PPP interface joins. */
  stack: Stack;
  /** Receives the DNS servers IPCP gives (e.g. the `UserspaceBackend`). */
  dns?: DnsSink;
  /** Access point name. */
  apn: string;
  /** PPP credentials towards the modem (most accept anything; default empty). */
  user?: string;
  /** PPP password towards the modem. */
  password?: string;
  /** SIM PIN, entered once when asked. */
  pin?: string;
  /** PDP context id (default 1). */
  contextId?: number;
  /** 1 IPv4 (default), 2 IPv6, 3 IPv4v6. */
  pdpType?: 1 | 2 | 3;
  /** `'atd'` (default): `ATD*99***<cid>#`; `'cgdata'`: `AT+CGDATA="PPP",<cid>`. */
  dial?: 'atd' | 'cgdata';
  /** Time allowed for `CONNECT` (default 60 s). */
  dialTimeoutMs?: number;
  /** Failed dials in a row before the first `connect()` gives up (default 5). */
  dialAttempts?: number;
  /** Redial back-off: first delay and cap (defaults 1 s and 60 s). */
  redial?: {
    /** First delay (default 1 s). */
    firstMs?: number;
    /** Largest delay (default 60 s). */
    maxMs?: number;
  };
  /** PPP settings (LCP echo keep-alive default 20 s × 3 here; timing; capture). */
  ppp?: {
    /** LCP options (echo keep-alive default 20 s x 3 here). */
    lcp?: PppSessionOptions['lcp'];
    /** Control protocol timing. */
    timing?: PppSessionOptions['timing'];
    /** Sees every PPP frame (see `pppCaptureTap`). */
    capture?: PppFrameTap;
  };
  /** Modem bring-up settings (timeouts, baud rates, recovery). */
  modem?: Partial<Omit<QuectelModemOptions, 'stream' | 'scheduler' | 'apn' | 'pdp'>>;
  /** Interface name in the stack (default `ppp0`). */
  name?: string;
}

/** Events of a `CellularDialup`, by name. */
export interface CellularDialupEventMap {
  /** Status changes with their reasons. */
  status: InterfaceStatusEvent;
  /** Every PPP session event (phases, LCP, NCPs, down reasons). */
  ppp: PppEvent;
  /** Modem status changes. */
  modem: ModemStatus;
  /** Network registration changes. */
  registration: RegistrationInfo;
  /** Signal quality readings. */
  signal: SignalInfo;
}

/** Counters. */
export interface CellularDialupStats {
  /** Dial attempts (`ATD`/`AT+CGDATA`). */
  dials: number;
  /** Dials that got no `CONNECT`. */
  dialFailures: number;
  /** Calls that reached CONNECT. */
  calls: number;
  /** Calls that ended without `disconnect()` (NO CARRIER, link dead, reset). */
  drops: number;
  /** Back-off waits before another dial. */
  redials: number;
}

type EventListeners = { [K in keyof CellularDialupEventMap]: Listeners<[CellularDialupEventMap[K]]> };

/** One dialled call: the data channel, the PPP link and its attachment. */
interface Call {
  readonly channel: DataChannel;
  readonly link: PppLink;
  readonly attachment: PppAttachment;
  readonly started: number;
  /** Resolves once with why the call ended. */
  readonly ended: Promise<string>;
  end(reason: string): void;
  noCarrier: boolean;
  /** IPCP (or IPV6CP) gave us an address during this call. */
  reachedUp: boolean;
  /** The hang-up, once started (both the loop and `disconnect()` may ask for it). */
  hangingUp?: Promise<void>;
}

const DEFAULT_ECHO = { echoIntervalMs: 20_000, echoFailures: 3 };

/**
 * A cellular interface over dial-up PPP: 3GPP 27.007 bring-up of a Quectel modem, the dial, PPP under the userspace
 * `Stack`, the hang-up, and redial with exponential back-off (1 s doubling to 60 s, ±20 % jitter) until
 * `disconnect()`.
 * `connect()` resolves at `global-up`; rejects with the bring-up's failure, after `dialAttempts` failed dials, or
 * `EISCONN` when connected; `disconnect()` rejects with `ENOTCONN` when disconnected.
 */
export class CellularDialup {
  /** The modem's control side (bring-up, registration, signal). */
  readonly modem: QuectelModem;
  /** Counters (see `CellularDialupStats`). */
  readonly stats: CellularDialupStats = { dials: 0, dialFailures: 0, calls: 0, drops: 0, redials: 0 };
  private readonly opts: CellularDialupOptions;
  private readonly listeners: EventListeners = {
    status: new Listeners(), ppp: new Listeners(), modem: new Listeners(), registration: new Listeners(), signal: new Listeners(),
  };
  private statusValue: InterfaceStatus = 'disconnected';
  private wanted = false;
  private gen = 0;
  private call: Call | undefined;
  private connecting: { promise: Promise<void>; resolve: () => void; reject: (e: SocketError) => void } | undefined;
  private address4: number | undefined;
  private dnsValue: string[] = [];
  private readonly unsubs: Unsubscribe[] = [];
  /** Who waits for a change (modem status, registration, disconnect): `ready` and `sleep`. */
  private readonly waiters = new Set<() => void>();

  constructor(options: CellularDialupOptions) {
    this.opts = options;
    this.modem = new QuectelModem({
      ...options.modem,
      stream: options.stream,
      scheduler: options.scheduler,
      apn: options.apn,
      pdp: 'dial-up',
      ...(options.pin !== undefined ? { pin: options.pin } : {}),
      ...(options.contextId !== undefined ? { contextId: options.contextId } : {}),
      ...(options.pdpType !== undefined ? { pdpType: options.pdpType } : {}),
      name: options.modem?.name ?? 'cellular',
    });
    this.unsubs.push(
      this.modem.on('status', (s) => {
        this.emit('modem', s);
        this.wakeAll();
      }),
      this.modem.on('registration', (r) => {
        this.emit('registration', r);
        this.wakeAll();
      }),
      this.modem.on('signal', (s) => this.emit('signal', s)),
      this.modem.on('reset', () => this.call?.end('module-reset')),
    );
  }

  /** The status now (`disconnected` at first). */
  get status(): InterfaceStatus {
    return this.statusValue;
  }

  /** Our IPv4 address while `global-up`. */
  get address(): string | undefined {
    return this.address4 !== undefined ? Stack.format(this.address4) : undefined;
  }

  /** DNS servers from IPCP (RFC 1877). */
  get dnsServers(): readonly string[] {
    return this.dnsValue;
  }

  /** The modem's IMEI (from `AT+CGSN`), once read. */
  get imei(): string | undefined {
    return this.modem.imei;
  }

  /** The PPP link of the current call. */
  get link(): PppLink | undefined {
    return this.call?.link;
  }

  /** The stack interface of the current call. */
  get ifIndex(): number | undefined {
    return this.call?.attachment.ifIndex;
  }

  /**
   * Subscribes to `status`, `ppp`, `modem`, `registration` or `signal` events; returns the function that
   * unsubscribes.
   */
  on<K extends keyof CellularDialupEventMap>(event: K, cb: (value: CellularDialupEventMap[K]) => void): Unsubscribe {
    return (this.listeners[event] as Listeners<[CellularDialupEventMap[K]]>).add(cb);
  }

  /** Brings the interface up; resolves at `global-up`. */
  connect(signal?: AbortSignal): Promise<void> {
    if (this.statusValue === 'global-up' && this.wanted) {
      return Promise.reject(new SocketError('EISCONN', { op: 'connect', backend: 'cellular', reason: 'already-connected' }));
    }
    if (this.connecting !== undefined) return this.connecting.promise;
    let resolve!: () => void;
    let reject!: (e: SocketError) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.connecting = { promise, resolve, reject };
    if (signal !== undefined) {
      const abort = (): void => {
        this.failConnect(new SocketError('ECONNABORTED', { op: 'connect', backend: 'cellular', reason: 'aborted' }, { cause: signal.reason }));
        void this.disconnect().catch(() => undefined);
      };
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    }
    if (!this.wanted) {
      this.wanted = true;
      const gen = ++this.gen;
      void this.run(gen);
    }
    return promise;
  }

  /** Hangs up and stops redialling. */
  async disconnect(): Promise<void> {
    if (!this.wanted && this.statusValue === 'disconnected') {
      throw new SocketError('ENOTCONN', { op: 'disconnect', backend: 'cellular', reason: 'not-connected' });
    }
    this.wanted = false;
    this.gen++;
    this.wakeAll();
    this.failConnect(new SocketError('ECONNABORTED', { op: 'connect', backend: 'cellular', reason: 'disconnect' }));
    const call = this.call;
    if (call !== undefined) await this.hangUp(call, 'disconnect');
    this.setStatus('disconnected', 'disconnect');
  }

  /** Stops everything (the stream stays open). */
  dispose(): void {
    this.wanted = false;
    this.gen++;
    this.wakeAll();
    this.call?.end('disposed');
    for (const u of this.unsubs.splice(0)) u();
    this.modem.dispose();
  }

  // ---------------------------------------------------------------------------------------------

  /** The connection loop of one `connect()` (until `disconnect()` bumps `gen`). */
  private async run(gen: number): Promise<void> {
    const first = this.opts.redial?.firstMs ?? 1000;
    const max = this.opts.redial?.maxMs ?? 60_000;
    let delay = first;
    let failures = 0;
    let reason = 'dialling';
    while (gen === this.gen) {
      this.setStatus('connecting', reason);
      try {
        await this.ready(gen);
      } catch (e) {
        if (gen !== this.gen) return;
        const err = e instanceof SocketError ? e : atSocketError(e, { op: 'start', backend: 'cellular' });
        // The bring-up failed: a first connect() reports it; afterwards the modem retries on its own.
        if (this.failConnect(err)) {
          this.wanted = false;
          this.gen++;
          this.setStatus('disconnected', err.detail.reason ?? 'bring-up-failed', err);
          return;
        }
        await this.sleep(gen, delay);
        delay = Math.min(max, delay * 2);
        continue;
      }
      if (gen !== this.gen) return;
      const call = await this.dial(gen);
      if (gen !== this.gen) {
        if (call !== undefined) await this.hangUp(call, 'disconnect');
        return;
      }
      let failed: string | undefined;
      if (call === undefined) failed = 'dial-failed';
      else {
        const why = await call.ended;
        await this.hangUp(call, why);
        if (gen !== this.gen) return;
        this.stats.drops++;
        reason = why;
        if (this.opts.scheduler.now() - call.started >= 60_000) delay = first;
        // A call that never got an address (authentication refused, IPCP failed) is a failed attempt.
        if (!call.reachedUp) failed = why;
      }
      if (failed === undefined) failures = 0;
      else {
        failures++;
        reason = failed;
        if (this.connecting !== undefined && failures >= (this.opts.dialAttempts ?? 5)) {
          const code = failed === 'dial-failed' ? 'ECONNREFUSED' : 'ECONNABORTED';
          const err = new SocketError(code, { op: 'connect', backend: 'cellular', reason: failed });
          this.failConnect(err);
          this.wanted = false;
          this.gen++;
          this.setStatus('disconnected', failed, err);
          return;
        }
      }
      // Back off (±20 % jitter) before the next dial.
      const jitter = 0.8 + ((this.opts.rng.nextU32() % 1000) / 1000) * 0.4;
      this.setStatus('connecting', reason);
      this.stats.redials++;
      await this.sleep(gen, Math.round(delay * jitter));
      delay = Math.min(max, delay * 2);
    }
  }

  /** Waits until the modem is brought up and registered (starting it the first time). */
  private async ready(gen: number): Promise<void> {
    const start = this.modem.start();
    if (this.modem.status !== 'registered') await start;
    while (gen === this.gen && !(this.modem.status === 'registered' && this.modem.registered)) {
      await new Promise<void>((resolve) => {
        const w = (): void => {
          this.waiters.delete(w);
          resolve();
        };
        this.waiters.add(w);
      });
      if (this.modem.status === 'failed' || this.modem.status === 'closed') {
        throw new SocketError('ECONNABORTED', { op: 'start', backend: 'cellular', reason: `modem-${this.modem.status}` });
      }
    }
  }

  /** Dials; the call once `CONNECT` came, or undefined when the dial failed. */
  private async dial(gen: number): Promise<Call | undefined> {
    const o = this.opts;
    const cid = o.contextId ?? 1;
    const text = o.dial === 'cgdata' ? `AT+CGDATA="PPP",${cid}` : `ATD*99***${cid}#`;
    const channel = new DataChannel(o.stream, o.scheduler);
    /** The call once PPP started; what happened before that (NO CARRIER or a reset right after CONNECT). */
    const st: { call: Call | undefined; early: string | undefined; noCarrier: boolean } = { call: undefined, early: undefined, noCarrier: false };
    this.stats.dials++;
    try {
      await this.modem.command({
        text,
        timeoutMs: o.dialTimeoutMs ?? 60_000,
        dataMode: {
          onData: (b) => channel.push(b),
          onNoCarrier: () => {
            this.modem.engine.leaveDataMode();
            st.noCarrier = true;
            if (st.call !== undefined) {
              st.call.noCarrier = true;
              st.call.end('no-carrier');
            } else st.early = 'no-carrier';
            // Not one more PPP byte: the modem reads commands again.
            channel.close();
          },
          onExit: (why) => {
            if (why === 'left') return;
            const reason = why === 'reset' ? 'module-reset' : 'closed';
            if (st.call !== undefined) st.call.end(reason);
            else st.early = reason;
          },
        },
      });
    } catch {
      // NO CARRIER, ERROR, a timeout, a reset: counted, and the loop backs off and redials.
      channel.close();
      this.stats.dialFailures++;
      return undefined;
    }
    if (gen !== this.gen) {
      channel.close();
      return undefined;
    }
    this.stats.calls++;
    const call = this.startPpp(channel);
    st.call = call;
    call.noCarrier = st.noCarrier;
    if (st.early !== undefined) call.end(st.early);
    return call;
  }

  private startPpp(channel: DataChannel): Call {
    const o = this.opts;
    const pdpType = o.pdpType ?? 1;
    const link = new PppLink(channel, {
      scheduler: o.scheduler,
      rng: o.rng,
      credentials: { user: o.user ?? '', password: o.password ?? '' },
      lcp: { ...DEFAULT_ECHO, ...o.ppp?.lcp },
      ...(o.ppp?.timing !== undefined ? { timing: o.ppp.timing } : {}),
      ...(o.ppp?.capture !== undefined ? { capture: o.ppp.capture } : {}),
      ipv4: pdpType === 2 ? false : {},
      ipv6: pdpType === 1 ? false : {},
    });
    const attachment = attachPpp(o.stack, link, { name: o.name ?? 'ppp0' });
    let resolveEnded!: (why: string) => void;
    const ended = new Promise<string>((r) => {
      resolveEnded = r;
    });
    let done = false;
    const call: Call = {
      channel, link, attachment, ended, noCarrier: false, reachedUp: false,
      started: o.scheduler.now(),
      end: (why) => {
        if (done) return;
        done = true;
        resolveEnded(why);
      },
    };
    link.on((e) => {
      this.emit('ppp', e);
      if (e.type === 'down') call.end(e.reason);
    });
    attachment.on((e) => {
      if (e.type === 'ipv4-up' || e.type === 'ipv6-up') call.reachedUp = true;
      if (e.type === 'ipv4-up') {
        this.address4 = e.address;
        this.dnsValue = e.dnsServers.map((d) => Stack.format(d));
        if (this.dnsValue.length > 0) o.dns?.setDnsServers(this.dnsValue);
        this.setStatus('global-up', 'ipcp-up');
        this.connecting?.resolve();
        this.connecting = undefined;
      } else if (e.type === 'ipv6-up' && this.statusValue !== 'global-up') {
        this.setStatus('local-up', 'ipv6cp-up');
      } else if (e.type === 'ipv4-down') {
        this.address4 = undefined;
      }
    });
    channel.onClose(() => call.end('closed'));
    this.call = call;
    link.open();
    return call;
  }

  /**
   * Ends a call: LCP Terminate while PPP still runs, then, unless the modem already said NO
   * CARRIER, the `+++` escape and `ATH`. The PPP link and its interface go away.
   */
  private hangUp(call: Call, why: string): Promise<void> {
    call.hangingUp ??= this.doHangUp(call, why);
    return call.hangingUp;
  }

  private async doHangUp(call: Call, why: string): Promise<void> {
    if (this.call === call) this.call = undefined;
    call.end(why);
    this.address4 = undefined;
    if (!call.noCarrier && call.link.session.phase !== 'dead' && !this.opts.stream.closed) {
      await Promise.race([call.link.terminate(), this.timeout(7000)]);
      // The network usually drops the call after LCP terminates; give NO CARRIER a moment.
      if (!call.noCarrier) await Promise.race([call.ended, this.timeout(2000)]);
    }
    call.attachment.detach();
    call.link.close();
    call.channel.close();
    if (!call.noCarrier && this.modem.engine.inDataMode && !this.opts.stream.closed) {
      try {
        await this.modem.engine.escapeDataMode();
      } catch {
        // Already back in command mode (NO CARRIER crossed the escape), or the modem is gone.
      }
      await this.modem.command({ text: 'ATH', timeoutMs: 20_000 }).catch(() => undefined);
    }
    if (this.modem.engine.inDataMode) this.modem.engine.leaveDataMode();
  }

  private timeout(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.opts.scheduler.setTimer(ms, resolve);
    });
  }

  /** Waits `ms`, or less when `disconnect()` (or `dispose()`) ends this loop's generation. */
  private sleep(gen: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (gen !== this.gen) {
        resolve();
        return;
      }
      const done = (): void => {
        this.waiters.delete(w);
        cancel();
        resolve();
      };
      const w = (): void => {
        if (gen !== this.gen) done();
      };
      const cancel = this.opts.scheduler.setTimer(ms, done);
      this.waiters.add(w);
    });
  }

  private wakeAll(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Rejects a pending first `connect()`; true when there was one. */
  private failConnect(e: SocketError): boolean {
    const c = this.connecting;
    if (c === undefined) return false;
    this.connecting = undefined;
    c.reject(e);
    return true;
  }

  private setStatus(status: InterfaceStatus, reason: string, error?: SocketError): void {
    if (status === this.statusValue) return;
    this.statusValue = status;
    this.emit('status', { status, reason, ...(error !== undefined ? { error } : {}) });
  }

  private emit<K extends keyof CellularDialupEventMap>(event: K, value: CellularDialupEventMap[K]): void {
    try {
      (this.listeners[event] as Listeners<[CellularDialupEventMap[K]]>).emit(value);
    } catch {
      // A listener threw: the interface goes on.
    }
  }
}
