/**
 * The Wi-Fi station face of an ESP-AT module, modelled on the CMSIS WiFi driver (initialise,
 * scan, activate/deactivate as `join`/`leave`, status, network info) plus the station link events
 * CMSIS lacks: `connected`, `got-ip`, `disconnected`. Failures are `SocketError`s with IoT Socket
 * codes; `+CWJAP:<n>` codes become clear reasons (`wifi-auth-failure`, ...).
 *
 * An unrequested `WIFI DISCONNECT` means "connecting again" (the module reconnects by itself, as
 * Mbed treats it): status `connecting`, `disconnected` with `requested: false` (the socket driver
 * reports `lost` with reason `wifi-lost`). If the module does not get an address back within
 * `rejoinAfterMs`, and after a module reset, the stored credentials are used to join again, with
 * back-off.
 */
import { Listeners, type Unsubscribe } from '../../base/listeners.ts';
import type { IotCode } from '../../base/iot-constants.ts';
import { isSocketError, type SocketError } from '../../base/socket-error.ts';
import type { CancelTimer } from '../../base/time.ts';
import { atQuote } from '../../wire/at/at-params.ts';
import { latin1Text } from '../../wire/bytes.ts';
import { isAtError, type AtError } from '../at/at-error.ts';
import { atSocketError } from '../at/at-socket-error.ts';
import type { EspAtModule } from './esp-module.ts';
import {
  parseCifsr,
  parseCipdns,
  parseCipsta,
  parseCwjapCode,
  parseCwjapQuery,
  parseCwlap,
  type AccessPoint,
  type WifiSecurity,
} from './esp-parse.ts';

/** Station state. */
export type WifiStatus = 'idle' | 'connecting' | 'connected' | 'got-ip';

/** What `join` takes. */
export interface WifiJoinParams {
  /** The access point's SSID (1-32 bytes). */
  readonly ssid: string;
  /** The passphrase (8-64 characters; empty for an open network). */
  readonly password?: string;
  /** Informational (ESP-AT picks the security itself); `open` requires an empty password. */
  readonly security?: WifiSecurity;
  /** Join this AP only (`aa:bb:cc:dd:ee:ff`). */
  readonly bssid?: string;
  /** Command timeout; default the module's `join` timeout (20 s). */
  readonly timeoutMs?: number;
}

/** The station's network configuration. */
export interface WifiNetInfo {
  /** Station IPv4 address (`AT+CIPSTA?`). */
  readonly ip: Uint8Array | undefined;
  /** Gateway address. */
  readonly gateway: Uint8Array | undefined;
  /** Netmask. */
  readonly netmask: Uint8Array | undefined;
  /** DNS servers. */
  readonly dns: readonly Uint8Array[];
  /** Station MAC (`aa:bb:...`). */
  readonly mac: string | undefined;
  /** SSID of the AP joined. */
  readonly ssid: string | undefined;
  /** BSSID of the AP joined. */
  readonly bssid: string | undefined;
  /** Wi-Fi channel. */
  readonly channel: number | undefined;
  /** Signal strength in dBm. */
  readonly rssi: number | undefined;
}

/** A link event's details. */
export interface WifiEvent {
  /** `disconnected`: the host asked for it (`leave`, a new `join`); else the network dropped. */
  readonly requested: boolean;
}

/** Wi-Fi station events: `connected` (associated), `got-ip`, `disconnected`. */
export type WifiEventName = 'connected' | 'got-ip' | 'disconnected';

/** Options of `EspWifi`: automatic re-join after a drop. */
export interface EspWifiOptions {
  /** Join again with the stored credentials when no address came back this long after a drop; default 30 s. */
  readonly rejoinAfterMs?: number;
  /** Pause before the n-th automatic re-join attempt; default 0, 5 s, 15 s, 60 s. */
  readonly rejoinBackoffMs?: readonly number[];
}

/** `+CWJAP:<n>` → code and reason (reference §1.4; Mbed mapping). */
const CWJAP_CODES: Record<number, { code: IotCode; reason: string }> = {
  1: { code: 'ETIMEDOUT', reason: 'wifi-timeout' },
  2: { code: 'ECONNREFUSED', reason: 'wifi-auth-failure' },
  3: { code: 'EHOSTNOTFOUND', reason: 'wifi-ap-not-found' },
  4: { code: 'ERROR', reason: 'wifi-join-failed' },
};

const utf8 = new TextEncoder();
/** A JavaScript string as the latin1 string of its UTF-8 bytes (the engine sends one byte per char). */
function wire(s: string): string {
  return latin1Text(utf8.encode(s));
}

/** The Wi-Fi station of one ESP-AT module. */
export class EspWifi {
  /** The module this station belongs to. */
  readonly module: EspAtModule;
  private statusValue: WifiStatus = 'idle';
  private ipValue: Uint8Array | undefined;
  private credentials: { ssid: string; password: string; bssid: string | undefined; timeoutMs: number | undefined } | undefined;
  /** The host asked for the next `WIFI DISCONNECT`. */
  private expectDisconnect = false;
  private joining = false;
  private readonly listeners = {
    connected: new Listeners<[WifiEvent]>(),
    'got-ip': new Listeners<[WifiEvent]>(),
    disconnected: new Listeners<[WifiEvent]>(),
  };
  private readonly opts: EspWifiOptions;
  private cancelRejoin: CancelTimer | undefined;
  private rejoinAttempts = 0;
  private readonly unsubs: Unsubscribe[] = [];

  constructor(module: EspAtModule, options: EspWifiOptions = {}) {
    this.module = module;
    this.opts = options;
    const e = module.engine;
    this.unsubs.push(
      e.onUrc(/^WIFI CONNECTED$/, () => this.onConnected()),
      e.onUrc(/^WIFI GOT IP$/, () => this.onGotIp()),
      e.onUrc(/^WIFI DISCONNECT$/, () => this.onDisconnect()),
      e.onUrc(/^WIFI GOT IPv6/, () => undefined),
      module.onReset(() => {
        this.cancelRejoin?.();
        this.cancelRejoin = undefined;
        const was = this.statusValue;
        this.statusValue = 'idle';
        this.ipValue = undefined;
        if (was !== 'idle') this.emit('disconnected', { requested: false });
      }),
      module.onReady(({ reinit }) => {
        if (reinit && this.credentials !== undefined) this.scheduleRejoin(0);
      }),
    );
  }

  /** The station's status now (`WifiStatus`). */
  get status(): WifiStatus {
    return this.statusValue;
  }

  /** The station IPv4 address while it has one. */
  get ip(): Uint8Array | undefined {
    return this.statusValue === 'got-ip' ? this.ipValue : undefined;
  }

  /** `connected`, `got-ip` or `disconnected`; returns the remover. */
  on(event: WifiEventName, cb: (e: WifiEvent) => void): Unsubscribe {
    return this.listeners[event].add(cb);
  }

  /** Brings the module up (CMSIS `Initialize` + `PowerControl(ARM_POWER_FULL)`). */
  initialize(): Promise<void> {
    return this.module.initialize();
  }

  /** Leaves the network and releases the module. */
  async uninitialize(): Promise<void> {
    if (this.module.state === 'ready' && this.statusValue !== 'idle') await this.leave().catch(() => undefined);
    this.cancelRejoin?.();
    for (const u of this.unsubs.splice(0)) u();
    await this.module.close();
  }

  /** Lists access points (`AT+CWLAP`; 11-, 7- or 5-field lines). */
  async scan(): Promise<AccessPoint[]> {
    const d = this.module.dialect;
    try {
      const r = await this.module.run(async () => {
        if (d?.cwlapOpt === true) {
          // Sorted by RSSI, fields ecn, ssid, rssi, mac, channel (mask 31): the first five of every form.
          await this.module.command('AT+CWLAPOPT=1,31').catch((e: unknown) => {
            if (!isAtError(e, 'error')) throw e;
          });
        }
        return this.module.command({ text: 'AT+CWLAP', timeoutMs: this.module.timeouts.scan, streaming: true });
      });
      const out: AccessPoint[] = [];
      for (const line of r.lines) {
        const ap = parseCwlap(line);
        if (ap !== undefined) out.push(ap);
      }
      return out;
    } catch (e) {
      throw atSocketError(e, { op: 'scan', backend: this.module.name });
    }
  }

  /**
   * Joins a network (`AT+CWJAP`, NONOS `AT+CWJAP_CUR`). The credentials are checked (SSID 1-32
   * bytes, password ≤ 64 bytes, both escaped) and copied now; they are used again to re-join
   * after a module reset. Rejects with the `+CWJAP:<n>` reason.
   */
  async join(params: WifiJoinParams): Promise<void> {
    const op = 'join';
    const ssid = String(params.ssid);
    const password = String(params.password ?? '');
    const bssid = params.bssid !== undefined ? String(params.bssid) : undefined;
    const ssidLen = utf8.encode(ssid).length;
    if (ssidLen < 1 || ssidLen > 32) throw this.module.error('EINVAL', 'ssid-length', op);
    if (utf8.encode(password).length > 64) throw this.module.error('EINVAL', 'password-length', op);
    if (params.security === 'open' && password.length > 0) throw this.module.error('EINVAL', 'open-with-password', op);
    if (params.security !== undefined && params.security !== 'open' && password.length === 0) {
      throw this.module.error('EINVAL', 'password-required', op);
    }
    if (bssid !== undefined && !/^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/.test(bssid)) throw this.module.error('EINVAL', 'bssid', op);
    const timeoutMs = params.timeoutMs;
    this.credentials = { ssid, password, bssid, timeoutMs };
    this.cancelRejoin?.();
    this.cancelRejoin = undefined;
    this.rejoinAttempts = 0;
    await this.doJoin(false);
  }

  /** Leaves the network (`AT+CWQAP`); the stored credentials are forgotten. */
  async leave(): Promise<void> {
    this.credentials = undefined;
    this.cancelRejoin?.();
    this.cancelRejoin = undefined;
    const was = this.statusValue;
    this.expectDisconnect = was !== 'idle';
    try {
      await this.module.exec('AT+CWQAP');
    } catch (e) {
      this.expectDisconnect = false;
      throw atSocketError(e, { op: 'leave', backend: this.module.name });
    }
    this.ipValue = undefined;
    if (this.statusValue !== 'idle') {
      // Unless its `WIFI DISCONNECT` (ours) came with the OK and said it already.
      this.statusValue = 'idle';
      if (was !== 'idle') this.emit('disconnected', { requested: true });
    }
  }

  /** IP, gateway, netmask, DNS servers, MAC and the AP's RSSI (`AT+CIPSTA?`, `AT+CIPDNS?`, `AT+CIFSR`, `AT+CWJAP?`). */
  async netInfo(): Promise<WifiNetInfo> {
    const cur = this.module.dialect?.cur ?? '';
    try {
      return await this.module.run(async () => {
        const sta = parseCipsta((await this.module.command(`AT+CIPSTA${cur}?`)).lines);
        const dns = await this.module.command(`AT+CIPDNS${cur}?`).then((r) => parseCipdns(r.lines), () => []);
        const ifs = await this.module.command('AT+CIFSR').then((r) => parseCifsr(r.lines), () => ({ mac: undefined, ip: undefined }));
        const ap = await this.module.command(`AT+CWJAP${cur}?`).then((r) => parseCwjapQuery(r.lines), () => undefined);
        if (sta.ip !== undefined) this.ipValue = sta.ip;
        return {
          ip: sta.ip ?? ifs.ip,
          gateway: sta.gateway,
          netmask: sta.netmask,
          dns,
          mac: ifs.mac,
          ssid: ap?.ssid,
          bssid: ap?.bssid,
          channel: ap?.channel,
          rssi: ap?.rssi,
        };
      });
    } catch (e) {
      throw atSocketError(e, { op: 'netInfo', backend: this.module.name });
    }
  }

  // ---- internals

  private async doJoin(automatic: boolean): Promise<void> {
    const c = this.credentials;
    if (c === undefined) return;
    const d = this.module.dialect;
    let text = `AT+CWJAP${d?.cur ?? ''}=${atQuote(wire(c.ssid))},${atQuote(wire(c.password))}`;
    if (c.bssid !== undefined) text += `,${atQuote(c.bssid.toLowerCase())}`;
    const wasUp = this.statusValue !== 'idle';
    this.expectDisconnect = wasUp;
    this.joining = true;
    if (!automatic) this.statusValue = 'connecting';
    try {
      await this.module.run(async () => {
        await this.module.command({ text, timeoutMs: c.timeoutMs ?? this.module.timeouts.join });
        await this.refreshAddress();
      });
    } catch (e) {
      this.expectDisconnect = false;
      if (this.statusValue !== 'got-ip') this.statusValue = automatic ? 'connecting' : 'idle';
      const refine = (err: AtError): { code: IotCode; reason: string } | undefined => {
        if (err.reason === 'timeout') return { code: 'ETIMEDOUT', reason: 'wifi-timeout' };
        const n = parseCwjapCode(err.lines);
        return n !== undefined ? CWJAP_CODES[n] : err.reason === 'error' ? { code: 'ERROR', reason: 'wifi-join-failed' } : undefined;
      };
      throw atSocketError(e, { op: 'join', backend: this.module.name }, refine);
    } finally {
      this.joining = false;
    }
    this.expectDisconnect = false;
    this.rejoinAttempts = 0;
    if (this.statusValue !== 'got-ip') {
      // NONOS builds that print no URCs during the join: the OK says it all.
      this.statusValue = 'got-ip';
      this.emit('got-ip', { requested: true });
    }
  }

  /** Inside `run`: the station address for `localAddress`. */
  private async refreshAddress(): Promise<void> {
    const cur = this.module.dialect?.cur ?? '';
    try {
      const sta = parseCipsta((await this.module.command(`AT+CIPSTA${cur}?`)).lines);
      if (sta.ip !== undefined) this.ipValue = sta.ip;
    } catch (e) {
      if (!isAtError(e, 'error')) throw e;
    }
  }

  private onConnected(): void {
    if (this.statusValue === 'idle' || this.statusValue === 'connecting') this.statusValue = 'connected';
    this.emit('connected', { requested: this.joining });
  }

  private onGotIp(): void {
    this.statusValue = 'got-ip';
    this.cancelRejoin?.();
    this.cancelRejoin = undefined;
    this.emit('got-ip', { requested: this.joining });
    if (!this.joining) {
      // Back after an automatic reconnect: the address may have changed.
      this.module.run(() => this.refreshAddress()).catch(() => undefined);
    }
  }

  private onDisconnect(): void {
    const requested = this.expectDisconnect;
    this.expectDisconnect = false;
    const was = this.statusValue;
    if (requested) {
      if (!this.joining) this.statusValue = 'idle';
      if (was !== 'idle') this.emit('disconnected', { requested: true });
      return;
    }
    // The module reconnects by itself (Mbed): connecting, not down.
    this.statusValue = this.credentials !== undefined || was !== 'idle' ? 'connecting' : 'idle';
    this.ipValue = undefined;
    this.emit('disconnected', { requested: false });
    if (this.credentials !== undefined && !this.joining) this.scheduleRejoin(this.opts.rejoinAfterMs ?? 30_000);
  }

  private scheduleRejoin(delayMs: number): void {
    if (this.cancelRejoin !== undefined || this.credentials === undefined) return;
    const backoff = this.opts.rejoinBackoffMs ?? [0, 5000, 15_000, 60_000];
    const extra = backoff[Math.min(this.rejoinAttempts, backoff.length - 1)] ?? 0;
    this.cancelRejoin = this.module.scheduler.setTimer(delayMs + extra, () => {
      this.cancelRejoin = undefined;
      if (this.statusValue === 'got-ip' || this.credentials === undefined || this.module.state !== 'ready') return;
      this.rejoinAttempts++;
      this.statusValue = 'connecting';
      this.doJoin(true).catch((e: unknown) => {
        if (isSocketError(e)) this.lastJoinError = e;
        this.scheduleRejoin(0);
      });
    });
  }

  /** The last automatic re-join's failure, for diagnostics. */
  lastJoinError: SocketError | undefined;

  private emit(event: WifiEventName, e: WifiEvent): void {
    try {
      this.listeners[event].emit(e);
    } catch {
      this.module.stats.handlerErrors++;
    }
  }
}
