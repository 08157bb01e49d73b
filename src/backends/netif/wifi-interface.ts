/**
 * `WiFiInterface`: an ESP-AT Wi-Fi module (`createEspAt`: module, Wi-Fi face, socket driver and
 * module socket backend) as a `NetworkInterface`, after Mbed's `WiFiInterface` (reference
 * `network-layers.md` §4). `backend` is the module's socket backend: the module's own IP stack.
 *
 * - Credentials: `setCredentials(ssid, password, security)` or `connect({ ssid, password, security,
 *   channel, bssid })`, copied at call time (later changes to the caller's object do nothing). Mbed's
 *   rules: an empty SSID (or one over 32 bytes) is `EINVAL`; a WPA-family passphrase must be 8-63
 *   characters (`EINVAL` otherwise; without `security`, a non-empty password counts as WPA2); `open`
 *   takes no password. Credentials given to a `connect()` that is refused (`EALREADY`, ...) are not
 *   kept. `channel` is informational: ESP-AT's station join picks the channel itself.
 * - `connect()`: initialises the module if needed, joins (`AT+CWJAP`), reads the station's
 *   addresses, DNS servers (`AT+CIPDNS?`; the gateway when the module reports none), MAC and RSSI,
 *   then `global-up` (reason `got-ip`). Status `connecting` (`joining`) before. A refused join
 *   rejects with the `+CWJAP` reason (`ECONNREFUSED` `wifi-auth-failure`, `EHOSTNOTFOUND`
 *   `wifi-ap-not-found`, `ETIMEDOUT` `wifi-timeout`, `ERROR` `wifi-join-failed`) and the interface
 *   ends `disconnected` with it.
 * - While connected, the AP lost (`WIFI DISCONNECT`) or a module reset → `link` down and status
 *   `connecting` (reason `wifi-lost` or `module-reset`); the module's own auto-reconnect, else
 *   `EspWifi`'s re-join with back-off (after `rejoinAfterMs`, and after every reset), brings it back:
 *   `WIFI GOT IP` → addresses read again → `global-up` (`got-ip`). Until `disconnect()`.
 * - `disconnect()` leaves the AP (`AT+CWQAP`; the stored credentials of `EspWifi` are forgotten, so
 *   nothing re-joins).
 * - `scan()` lists the APs in range (`AT+CWLAP`), initialising the module first if needed; `rssi`
 *   is the signal of the AP in use as last read (0 while not up), `readRssi()` reads it now.
 * - `close()` detaches from the Wi-Fi face; the module, driver and backend stay the caller's.
 */
import { SocketError } from '../../base/socket-error.ts';
import { formatIPv4 } from '../../base/ip-address.ts';
import type { EspAt } from '../esp-at/index.ts';
import type { AccessPoint, WifiSecurity } from '../esp-at/esp-parse.ts';
import type { WifiNetInfo } from '../esp-at/esp-wifi.ts';
import type { ModuleBackend } from '../at/module-backend.ts';
import { InterfaceBase, NO_ADDRESSES, type ConnectOptions, type InterfaceAddresses } from './network-interface.ts';

/** What a station join needs. */
export interface WiFiCredentials {
  /** The access point's SSID (1-32 bytes). */
  readonly ssid: string;
  /** The passphrase (empty or absent for an open network). */
  readonly password?: string | undefined;
  /** Default: `open` without a password, else WPA2 (for the passphrase check; the module picks the real one). */
  readonly security?: WifiSecurity | undefined;
  /** Informational (the module picks the channel). */
  readonly channel?: number | undefined;
  /** Join this AP only (`aa:bb:cc:dd:ee:ff`). */
  readonly bssid?: string | undefined;
}

/** `connect()` options: an abort signal and, optionally, credentials for this and later connects. */
export interface WiFiConnectOptions extends ConnectOptions {
  /** SSID for this and later connects. */
  readonly ssid?: string | undefined;
  /** Passphrase for this and later connects. */
  readonly password?: string | undefined;
  /** Security (for the passphrase check; the module picks the real one). */
  readonly security?: WifiSecurity | undefined;
  /** Channel (informational). */
  readonly channel?: number | undefined;
  /** Join this AP only (`aa:bb:cc:dd:ee:ff`). */
  readonly bssid?: string | undefined;
}

/** Options of `WiFiInterface`: the `createEspAt` parts, name, initial credentials and join timeout. */
export interface WiFiInterfaceOptions {
  /** The parts `createEspAt` built. */
  readonly esp: Pick<EspAt, 'module' | 'wifi' | 'backend'>;
  /** Default `wlan0`. */
  readonly name?: string | undefined;
  /** Initial credentials (copied). */
  readonly credentials?: WiFiCredentials | undefined;
  /** `AT+CWJAP` timeout; default the module's (20 s). */
  readonly joinTimeoutMs?: number | undefined;
}

type Stored = { ssid: string; password: string; security: WifiSecurity | undefined; channel: number | undefined; bssid: string | undefined };

const WPA_FAMILY: ReadonlySet<WifiSecurity> = new Set(['wpa', 'wpa2', 'wpa-wpa2', 'wpa3', 'wpa2-wpa3', 'wpa2-enterprise']);
const utf8 = new TextEncoder();

/** Checks and copies credentials (Mbed's `set_credentials` rules); throws `EINVAL`. */
function checkCredentials(c: WiFiCredentials, backend: string): Stored {
  const bad = (reason: string): SocketError => new SocketError('EINVAL', { op: 'set-credentials', backend, reason });
  if (typeof c.ssid !== 'string') throw bad('ssid-missing');
  const ssid = String(c.ssid);
  const password = c.password === undefined ? '' : String(c.password);
  const len = utf8.encode(ssid).length;
  if (len === 0) throw bad('ssid-empty');
  if (len > 32) throw bad('ssid-length');
  const security: WifiSecurity | undefined = c.security;
  const effective = security ?? (password.length === 0 ? 'open' : 'wpa2');
  if (effective === 'open' && password.length > 0) throw bad('open-with-password');
  if (WPA_FAMILY.has(effective) && (password.length < 8 || password.length > 63)) throw bad('passphrase-length');
  if (effective === 'wep' && password.length === 0) throw bad('password-required');
  if (c.channel !== undefined && (!Number.isInteger(c.channel) || c.channel < 0 || c.channel > 196)) throw bad('channel');
  if (c.bssid !== undefined && !/^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/.test(c.bssid)) throw bad('bssid');
  return { ssid, password, security, channel: c.channel, bssid: c.bssid?.toLowerCase() };
}

/** `p`, or a rejection with `signal.reason` as soon as `signal` aborts. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export class WiFiInterface extends InterfaceBase {
  readonly name: string;
  readonly kind = 'wifi' as const;
  /** The module's socket backend. */
  readonly backend: ModuleBackend;
  private readonly esp: Pick<EspAt, 'module' | 'wifi' | 'backend'>;
  private readonly joinTimeoutMs: number | undefined;
  private credentials: Stored | undefined;
  /** Credentials of the `connect()` being started (kept only if the connect is accepted). */
  private offered: Stored | undefined;
  private running = false;
  /** Our own join is under way (its got-ip is not a reconnect). */
  private joining = false;
  private info: WifiNetInfo | undefined;
  private macValue: string | undefined;
  /** Refreshes of the addresses after a reconnect; only the latest one counts. */
  private refreshSeq = 0;
  private readonly offs: (() => void)[];

  constructor(options: WiFiInterfaceOptions) {
    super();
    this.name = options.name ?? 'wlan0';
    this.esp = options.esp;
    this.backend = options.esp.backend;
    this.joinTimeoutMs = options.joinTimeoutMs;
    if (options.credentials !== undefined) this.credentials = checkCredentials(options.credentials, this.name);
    const wifi = this.esp.wifi;
    this.offs = [
      wifi.on('connected', () => {
        if (this.running) this.setLink(true, 'associated');
      }),
      wifi.on('got-ip', () => this.onGotIp()),
      wifi.on('disconnected', (e) => {
        if (!this.running || e.requested) return;
        const reason = this.esp.module.state === 'resetting' ? 'module-reset' : 'wifi-lost';
        this.info = undefined;
        this.refreshSeq++;
        this.setLink(false, reason);
        if (!this.joining) this.setStatus('connecting', reason);
      }),
    ];
  }

  /** Station MAC (`aa:bb:…`), once read (at the first connect). */
  get mac(): string | undefined {
    return this.macValue;
  }

  /** The SSID of the stored credentials. */
  get ssid(): string | undefined {
    return this.credentials?.ssid;
  }

  /** The AP's RSSI in dBm as last read; 0 while not up. */
  get rssi(): number {
    return this.status === 'global-up' ? (this.info?.rssi ?? 0) : 0;
  }

  /** The station's IPv4 address, prefix, gateway and DNS servers while `global-up`; `NO_ADDRESSES` otherwise. */
  get addresses(): InterfaceAddresses {
    const i = this.info;
    if (i === undefined || i.ip === undefined || this.status !== 'global-up') return NO_ADDRESSES;
    const prefixLen = i.netmask !== undefined ? [...i.netmask].reduce((n, b) => n + popcount(b), 0) : undefined;
    const gateway = i.gateway !== undefined && !i.gateway.every((b) => b === 0) ? formatIPv4(i.gateway) : undefined;
    const dns = i.dns.map(formatIPv4);
    return { ipv4: formatIPv4(i.ip), prefixLen, gateway, ipv6: [], dnsServers: dns.length > 0 ? dns : gateway !== undefined ? [gateway] : [] };
  }

  /** Sets the credentials of the next `connect()` (checked and copied now). */
  setCredentials(ssid: string, password?: string, security?: WifiSecurity): void {
    this.credentials = checkCredentials({ ssid, password, security }, this.name);
  }

  /**
   * Joins the access point: credentials given here (`ssid`, `password`, `security`) are checked (`EINVAL`) and
   * copied, and replace the stored ones once the call is accepted; then as `NetworkInterface.connect` (`EINVAL`,
   * reason `no-ssid`, without any credentials).
   */
  override connect(options: WiFiConnectOptions = {}): Promise<void> {
    const { signal, ...c } = options;
    if (c.ssid !== undefined || c.password !== undefined || c.security !== undefined) {
      try {
        this.offered = checkCredentials({ ...c, ssid: c.ssid ?? this.credentials?.ssid ?? '' }, this.name);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    // `start` runs synchronously inside the base's connect when it accepts the call.
    try {
      return super.connect(signal !== undefined ? { signal } : {});
    } finally {
      this.offered = undefined;
    }
  }

  /** Access points in range (`AT+CWLAP`), initialising the module first when needed. */
  async scan(): Promise<AccessPoint[]> {
    await this.esp.wifi.initialize();
    return this.esp.wifi.scan();
  }

  /** Reads the AP's RSSI now (0 while not up). */
  async readRssi(): Promise<number> {
    if (this.status !== 'global-up') return 0;
    await this.refresh();
    return this.rssi;
  }

  // ---------------------------------------------------------------- InterfaceBase hooks

  protected async start(signal: AbortSignal): Promise<void> {
    if (this.offered !== undefined) this.credentials = this.offered;
    const c = this.credentials;
    if (c === undefined) throw new SocketError('EINVAL', { op: 'connect', backend: this.name, reason: 'no-ssid' });
    this.running = true;
    this.joining = true;
    this.setStatus('connecting', 'joining');
    try {
      await abortable(this.esp.wifi.initialize(), signal);
      await abortable(this.esp.wifi.join({
        ssid: c.ssid,
        password: c.password,
        ...(c.security !== undefined ? { security: c.security } : {}),
        ...(c.bssid !== undefined ? { bssid: c.bssid } : {}),
        ...(this.joinTimeoutMs !== undefined ? { timeoutMs: this.joinTimeoutMs } : {}),
      }), signal);
      this.setLink(true, 'associated');
      await abortable(this.refresh(), signal);
    } finally {
      this.joining = false;
    }
    if (this.esp.wifi.status === 'got-ip') this.setStatus('global-up', 'got-ip');
    else this.setStatus('connecting', 'wifi-lost');
    if (this.status !== 'global-up') {
      // Lost again between the join and now: up once the module reconnects.
      await abortable(new Promise<void>((resolve) => {
        const off = this.on('status', (e) => {
          if (e.status === 'global-up') {
            off();
            resolve();
          }
        });
        signal.addEventListener('abort', off, { once: true });
      }), signal);
    }
  }

  protected async stop(): Promise<void> {
    this.running = false;
    this.refreshSeq++;
    this.info = undefined;
    // Always: `leave` forgets EspWifi's stored credentials even when the module cannot answer.
    await this.esp.wifi.leave().catch(() => undefined);
    this.setLink(false, 'left');
  }

  protected override async dispose(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
  }

  // ---------------------------------------------------------------- internals

  /** Reads addresses, DNS, MAC and RSSI (`EspWifi.netInfo`). */
  private async refresh(): Promise<void> {
    const seq = ++this.refreshSeq;
    const info = await this.esp.wifi.netInfo();
    if (seq !== this.refreshSeq) return;
    this.info = info;
    if (info.mac !== undefined) this.macValue = info.mac;
  }

  /** `WIFI GOT IP` outside our own join: the module reconnected. */
  private onGotIp(): void {
    if (!this.running || this.joining) return;
    this.setLink(true, 'associated');
    const seq = this.refreshSeq + 1;
    this.refresh().then(
      () => {
        if (this.running && seq === this.refreshSeq && this.esp.wifi.status === 'got-ip') this.setStatus('global-up', 'got-ip');
      },
      () => {
        // The module went away again: its next event says what happens.
      },
    );
  }
}

function popcount(b: number): number {
  let n = 0;
  for (let x = b; x !== 0; x &= x - 1) n++;
  return n;
}
