/**
 * `CellularInterface`: a cellular modem as a network interface, with PPP dial-up into the
 * interface's own userspace stack (`CellularDialup`, src/backends/cellular/). APN, PIN and PPP
 * credentials are copied at construction or at `setCredentials` (applied at the next connect).
 *
 * Status follows the dial-up: `connecting` (bring-up, dial, redial after NO CARRIER or link death),
 * `global-up` (IPCP address), `local-up` (IPv6-only context, link-local). The link event follows
 * the network registration. The module's own IP stack (socket mode, `createQuectel`) is the other
 * way to use a modem; this interface is the PPP one.
 */
import type { Rng } from '../../base/rand.ts';
import type { Scheduler } from '../../base/time.ts';
import { formatIPv6 } from '../../base/ip-address.ts';
import type { ByteStream } from '../../link/byte-stream.ts';
import { CellularDialup, type CellularDialupOptions } from '../cellular/cellular-dialup.ts';
import type { UserspaceBackend } from '../userspace/userspace-backend.ts';
import { InterfaceBase, NO_ADDRESSES, type InterfaceAddresses, type InterfaceKind } from './network-interface.ts';
import { userspaceHost, type UserspaceHost, type UserspaceHostOptions } from './userspace-host.ts';

/**
 * Options of `CellularInterface`: the modem's serial line, clock, randomness, APN, PIN and PPP credentials, and the
 * dial-up settings.
 */
export interface CellularInterfaceOptions {
  /** The modem's serial line. */
  stream: ByteStream;
  /** Clock of deadlines, back-off and PPP timers. */
  scheduler: Scheduler;
  /** Randomness (PPP, ISNs, ports, redial jitter). */
  rng: Rng;
  /** Access point name. */
  apn: string;
  /** SIM PIN, entered once when asked. */
  pin?: string;
  /** PPP user name towards the modem. */
  user?: string;
  /** PPP password towards the modem. */
  password?: string;
  /** Interface name (default `cell0`). */
  name?: string;
  /** Dial-up settings beyond the above (dial command, back-off, PPP, modem timeouts). */
  dialup?: Partial<Omit<CellularDialupOptions, 'stream' | 'scheduler' | 'rng' | 'stack' | 'dns' | 'apn' | 'pin' | 'user' | 'password'>>;
  /** Stack and backend settings. */
  host?: Partial<Pick<UserspaceHostOptions, 'stack' | 'backend'>>;
}

export class CellularInterface extends InterfaceBase {
  readonly name: string;
  readonly kind: InterfaceKind = 'cellular';
  readonly backend: UserspaceBackend;
  /** The userspace stack, runner and backend of this interface. */
  readonly host: UserspaceHost;
  private readonly opts: CellularInterfaceOptions;
  private dialup: CellularDialup;
  private offs: (() => void)[] = [];

  constructor(options: CellularInterfaceOptions) {
    super();
    this.opts = { ...options, dialup: { ...options.dialup } };
    this.name = options.name ?? 'cell0';
    this.host = userspaceHost({ name: this.name, scheduler: options.scheduler, rng: options.rng, ...options.host });
    this.backend = this.host.backend;
    this.dialup = this.makeDialup();
  }

  /** The dial-up machinery (modem, PPP link, counters). */
  get cellular(): CellularDialup {
    return this.dialup;
  }

  /** The modem's IMEI, once read. */
  get imei(): string | undefined {
    return this.dialup.imei;
  }

  /**
   * The PPP link's IPv4 address (prefix 32), IPv6 addresses and the DNS servers from IPCP; `NO_ADDRESSES` without a
   * call.
   */
  get addresses(): InterfaceAddresses {
    const ifIndex = this.dialup.ifIndex;
    if (ifIndex === undefined) return NO_ADDRESSES;
    return {
      ipv4: this.dialup.address,
      prefixLen: this.dialup.address !== undefined ? 32 : undefined,
      gateway: undefined,
      ipv6: this.host.stack.ipv6Addresses(ifIndex).map((a) => formatIPv6(a.address)),
      dnsServers: [...this.dialup.dnsServers],
    };
  }

  /** New APN and credentials, copied; used from the next connect on. */
  setCredentials(c: { apn?: string; pin?: string; user?: string; password?: string }): void {
    const next = { ...this.opts };
    if (c.apn !== undefined) next.apn = c.apn;
    if (c.pin !== undefined) next.pin = c.pin;
    if (c.user !== undefined) next.user = c.user;
    if (c.password !== undefined) next.password = c.password;
    Object.assign(this.opts, next);
    if (this.status === 'disconnected' && !this.wanted) {
      this.dropDialup();
      this.dialup = this.makeDialup();
    }
  }

  protected start(signal: AbortSignal): Promise<void> {
    return this.dialup.connect(signal);
  }

  protected async stop(): Promise<void> {
    await this.dialup.disconnect().catch(() => undefined);
    this.setLink(false, 'disconnect');
  }

  protected override async dispose(): Promise<void> {
    this.dropDialup();
    await this.host.close();
  }

  private makeDialup(): CellularDialup {
    const o = this.opts;
    const d = new CellularDialup({
      ...o.dialup,
      stream: o.stream,
      scheduler: o.scheduler,
      rng: o.rng,
      stack: this.host.stack,
      dns: this.backend,
      apn: o.apn,
      name: `${this.name}-ppp`,
      ...(o.pin !== undefined ? { pin: o.pin } : {}),
      ...(o.user !== undefined ? { user: o.user } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
    });
    this.offs = [
      d.on('status', (e) => {
        // The base reports `disconnected` itself (with the reason of a failed connect, or `disconnect`).
        if (e.status !== 'disconnected') this.setStatus(e.status, e.reason, e.error);
      }),
      d.on('registration', () => {
        const up = d.modem.registered;
        this.setLink(up, up ? 'registered' : 'registration-lost');
      }),
    ];
    return d;
  }

  private dropDialup(): void {
    for (const off of this.offs.splice(0)) off();
    this.dialup.dispose();
  }
}
