/**
 * `EthernetInterface`: the project's userspace TCP/IP stack over any Ethernet `Link` (a TAP, a
 * virtual cable end, a switch port) as a `NetworkInterface` (Mbed's `EthernetInterface` over an
 * EMAC, reference `network-layers.md` §4, §6).
 *
 * It owns a `Stack` with one interface on the link, the `StackRunner` driving it on the injected
 * `Scheduler`, and a userspace socket backend (`backend`): sockets there go over this interface,
 * and its DNS resolver uses this interface's servers (fixed by `dns`, else from the DHCP lease or
 * the static configuration, plus RDNSS over IPv6).
 *
 * - `connect()` brings the stack's interface up and configures IPv4: a DHCPv4 client
 *   (`Dhcp4Client`; the lease sets address, prefix, default route, MTU and DNS servers) or a
 *   static address; optionally IPv6 (`'auto'`: link-local and SLAAC, or a static address). Status
 *   `connecting` (reason `dhcp`, `static`, `ipv6`, or `link-down` while the cable is out) →
 *   `global-up` once an IPv4 address (or a global IPv6 one) is configured (reason `dhcp-bound`,
 *   `static`, `ipv6-address`); with `ipv4: 'none'` a link-local IPv6 address alone gives
 *   `local-up`. `connect()` resolves there; it fails with `ETIMEDOUT` (`dhcp-timeout`,
 *   `no-carrier`, `no-address`) after `connectTimeoutMs`.
 * - The carrier (`Link.linkState`, absent = always up) is followed while connected: cable out →
 *   `link` event down, the stack's interface down (sends fail with no route), the DHCP client
 *   stopped without a release, status `connecting` (`link-down`); cable back → interface up, DHCP
 *   again in INIT-REBOOT asking for the previous address (RFC 2131 §3.2) → `global-up`. A lease that
 *   expires or is NAKed also goes back to `connecting` until the client gets another. This goes on
 *   until `disconnect()`.
 * - `disconnect()` sends a DHCPRELEASE (when the cable is in), removes the address and takes the
 *   stack's interface down. Open sockets stay open (they fail on their own: no route, or the peer's
 *   timeouts); close them or use the mux to fail them promptly.
 * - `close()` also closes the backend (every socket), the runner and the stack. The link belongs to
 *   the caller and stays open.
 */
import type { Rng } from '../../base/rand.ts';
import { formatIPv6 } from '../../base/ip-address.ts';
import { SocketError } from '../../base/socket-error.ts';
import type { Scheduler } from '../../base/time.ts';
import type { Link } from '../../link/link.ts';
import type { StackRunner } from '../../runtime/stack-runner.ts';
import { Dhcp4Client, type Dhcp4ClientEvent, type Dhcp4ClientOptions } from '../../stack/dhcp/dhcp4-client.ts';
import { Stack, toIpv6 } from '../../stack/stack.ts';
import type { UserspaceBackend } from '../userspace/index.ts';
import { InterfaceBase, type InterfaceAddresses, type InterfaceStatus } from './network-interface.ts';
import { userspaceHost, type UserspaceHost, type UserspaceHostOptions } from './userspace-host.ts';

/** IPv4: a DHCPv4 client, a static address with optional gateway and DNS servers, or none (IPv6 only). */
export type EthernetIpv4Config =
  | 'dhcp'
  | 'none'
  | {
    /** The address (text). */
    readonly address: string;
    /** Prefix length, 0-32. */
    readonly prefixLen: number;
    /** Default gateway, if any. */
    readonly gateway?: string | undefined;
    /** DNS servers. */
    readonly dns?: readonly string[] | undefined;
  };

/** IPv6 (optional): `'auto'` (link-local, SLAAC from RAs, RDNSS) or a static address. */
export type EthernetIpv6Config = 'auto' | {
  /** The address (text). */
  readonly address: string;
  /** Prefix length, 0-128. */
  readonly prefixLen: number;
  /** Default router, if any. */
  readonly gateway?: string | undefined;
};

/**
 * Options of `EthernetInterface`: the Ethernet link, clock, randomness, name, MAC, IPv4 (DHCP or static) and IPv6
 * addressing, DNS servers, DHCP and stack settings.
 */
export interface EthernetInterfaceOptions {
  /** The Ethernet link (its `linkState`, when present, is the carrier). */
  readonly link: Link;
  /** Clock and timers of the stack runner, DHCP and the connect timeout. */
  readonly scheduler: Scheduler;
  /** Randomness of the stack (MAC when not given, ISNs, ports, DHCP xids) and the resolver. */
  readonly rng: Rng;
  /** Default `eth0`. */
  readonly name?: string | undefined;
  /** `aa:bb:cc:dd:ee:ff`; default random, locally administered. */
  readonly mac?: string | undefined;
  /** Default `'dhcp'`. */
  readonly ipv4?: EthernetIpv4Config | undefined;
  /** IPv6: `'auto'` (SLAAC from RAs, RDNSS, DHCPv6) or a static address; absent: no IPv6. */
  readonly ipv6?: EthernetIpv6Config | undefined;
  /** DNS servers (`'10.0.0.1'`, `'10.0.0.1:53'`) replacing those of DHCP, the static config and RAs. */
  readonly dns?: readonly string[] | undefined;
  /** DHCP client settings (host name, client id, RFC 5227 probing, timing). */
  readonly dhcp?: Omit<Dhcp4ClientOptions, 'ifIndex' | 'previousAddress' | 'onEvent'> | undefined;
  /** `connect()` fails with `ETIMEDOUT` when not up after this long (default 60 s, Mbed's DHCP timeout; 0: never). */
  readonly connectTimeoutMs?: number | undefined;
  /** Stack and socket backend settings (the backend's name defaults to `userspace:<name>`). */
  readonly host?: Pick<UserspaceHostOptions, 'stack' | 'backend'> | undefined;
}

function macText(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function unique(list: readonly string[]): string[] {
  return list.filter((x, i) => list.indexOf(x) === i);
}

export class EthernetInterface extends InterfaceBase {
  readonly name: string;
  readonly kind = 'ethernet' as const;
  /** The Ethernet link. */
  readonly link: Link;
  /** The userspace stack of this interface. */
  readonly stack: Stack;
  /** The runner that drives it. */
  readonly runner: StackRunner;
  /** Sockets over this interface. */
  readonly backend: UserspaceBackend;
  /** The stack's interface index for the link. */
  readonly ifIndex: number;
  private readonly scheduler: Scheduler;
  private readonly host: UserspaceHost;
  private readonly ipv4: EthernetIpv4Config;
  private readonly ipv6: EthernetIpv6Config | undefined;
  private readonly fixedDns: readonly string[] | undefined;
  private readonly dhcpOptions: EthernetInterfaceOptions['dhcp'];
  private readonly connectTimeoutMs: number;
  private readonly unsubscribe: (() => void)[] = [];
  /** Between `start` and `stop`: follow the carrier and the configuration. */
  private running = false;
  private ipv6Enabled = false;
  private client: { dhcp: Dhcp4Client; off: () => void } | undefined;
  /** The last lease's address, asked for again (INIT-REBOOT) after the cable was out. */
  private rebootAddress: number | undefined;
  private gateway4: string | undefined;
  private dns4: string[] = [];
  private dns6: string[] = [];
  /** The DNS list last given to the backend (`undefined`: none given yet). */
  private dnsApplied: string | undefined;

  constructor(options: EthernetInterfaceOptions) {
    super();
    this.name = options.name ?? 'eth0';
    this.link = options.link;
    if (this.link.caps.medium !== 'ethernet') throw new RangeError(`EthernetInterface needs an 'ethernet' link, got '${this.link.caps.medium}'`);
    this.scheduler = options.scheduler;
    this.ipv4 = options.ipv4 ?? 'dhcp';
    this.ipv6 = options.ipv6;
    this.fixedDns = options.dns !== undefined && options.dns.length > 0 ? [...options.dns] : undefined;
    this.dhcpOptions = options.dhcp;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 60_000;
    this.host = userspaceHost({ name: this.name, scheduler: this.scheduler, rng: options.rng, ...options.host });
    this.stack = this.host.stack;
    this.runner = this.host.runner;
    this.backend = this.host.backend;
    this.ifIndex = this.stack.addInterface(this.link, { name: this.name, up: false, ...(options.mac !== undefined ? { mac: options.mac } : {}) });
    this.applyDns();
    const carrier = this.link.linkState;
    if (carrier !== undefined) this.unsubscribe.push(carrier.onChange((up) => this.onCarrier(up)));
    this.unsubscribe.push(this.stack.onIpv6Event((e) => {
      if (e.kind === 'dns') {
        this.dns6 = e.servers.map(formatIPv6);
        this.applyDns();
      }
      if (e.kind === 'address' || e.kind === 'address-removed') this.update(`ipv6-${e.kind}`);
    }));
    this.setLink(this.carrierUp, 'initial');
  }

  /** The interface's MAC. */
  get mac(): string {
    const iface = this.stack.interface(this.ifIndex);
    return iface !== undefined ? macText(iface.mac) : '';
  }

  /** The DHCP client while one runs. */
  get dhcp(): Dhcp4Client | undefined {
    return this.client?.dhcp;
  }

  /** The interface's IPv4 address, prefix, gateway, usable IPv6 addresses and DNS servers while running. */
  get addresses(): InterfaceAddresses {
    const iface = this.stack.interface(this.ifIndex);
    const v4 = this.running && iface !== undefined && iface.address !== 0 ? iface : undefined;
    const ipv6 = this.running
      ? this.stack.ipv6Addresses(this.ifIndex).filter((a) => a.state === 'preferred' || a.state === 'deprecated').map((a) => formatIPv6(a.address))
      : [];
    return {
      ipv4: v4 !== undefined ? Stack.format(v4.address) : undefined,
      prefixLen: v4?.prefixLen,
      gateway: v4 !== undefined ? this.gateway4 : undefined,
      ipv6,
      dnsServers: this.dnsList(),
    };
  }

  private get carrierUp(): boolean {
    return this.link.linkState?.up ?? true;
  }

  // ---------------------------------------------------------------- InterfaceBase hooks

  protected async start(signal: AbortSignal): Promise<void> {
    this.running = true;
    this.setStatus('connecting', !this.carrierUp ? 'link-down' : typeof this.ipv4 === 'object' ? 'static' : this.ipv4 === 'dhcp' ? 'dhcp' : 'ipv6');
    if (this.carrierUp) this.bringUp();
    await this.waitUp(signal);
  }

  protected async stop(): Promise<void> {
    this.running = false;
    const now = this.runner.now();
    this.stopDhcp(now, this.carrierUp);
    this.rebootAddress = undefined;
    if (typeof this.ipv4 === 'object') this.stack.setIpv4(this.ifIndex, undefined);
    this.stack.setInterfaceUp(this.ifIndex, false);
    this.gateway4 = undefined;
    this.dns4 = [];
    this.applyDns();
  }

  protected override async dispose(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    await this.host.close();
  }

  // ---------------------------------------------------------------- internals

  /** Carrier up while running: the interface up and IPv4/IPv6 configured (DHCP started). */
  private bringUp(): void {
    const stack = this.stack;
    const now = this.runner.now();
    stack.setInterfaceUp(this.ifIndex, true);
    if (this.ipv6 !== undefined && !this.ipv6Enabled) {
      this.ipv6Enabled = true;
      const v6 = this.ipv6;
      stack.enableIpv6(this.ifIndex, v6 === 'auto' ? {} : {
        autoconf: false,
        addresses: [{ address: toIpv6(v6.address), prefixLen: v6.prefixLen }],
        ...(v6.gateway !== undefined ? { gateway: toIpv6(v6.gateway) } : {}),
      }, now);
    }
    const v4 = this.ipv4;
    if (v4 === 'dhcp') {
      const dhcp = new Dhcp4Client(stack, { ...this.dhcpOptions, ifIndex: this.ifIndex, ...(this.rebootAddress !== undefined ? { previousAddress: this.rebootAddress } : {}) });
      const off = dhcp.on((e) => this.onDhcp(e));
      this.client = { dhcp, off };
      dhcp.start(now);
    } else if (v4 !== 'none') {
      stack.setIpv4(this.ifIndex, { address: v4.address, prefixLen: v4.prefixLen }, v4.gateway);
      this.gateway4 = v4.gateway;
      this.dns4 = [...(v4.dns ?? [])];
      this.applyDns();
      this.update('static');
    }
  }

  private stopDhcp(now: number, release: boolean): void {
    const c = this.client;
    if (c === undefined) return;
    this.client = undefined;
    c.off();
    const lease = c.dhcp.stop(now, { release });
    if (lease !== undefined) this.rebootAddress = lease.address;
  }

  private onDhcp(e: Dhcp4ClientEvent): void {
    if (!this.running) return;
    switch (e.type) {
      case 'bound':
      case 'renewed':
      case 'rebound':
        this.gateway4 = e.lease.gateway !== undefined ? Stack.format(e.lease.gateway) : undefined;
        this.dns4 = e.lease.dnsServers.map(Stack.format);
        this.rebootAddress = e.lease.address;
        this.applyDns();
        this.update('dhcp-bound');
        return;
      case 'expired':
      case 'nak':
        this.gateway4 = undefined;
        this.dns4 = [];
        this.applyDns();
        this.update(e.type === 'expired' ? 'lease-expired' : 'dhcp-nak');
        return;
      default:
        return;
    }
  }

  private onCarrier(up: boolean): void {
    this.setLink(up, up ? 'carrier-up' : 'carrier-lost');
    if (!this.running) return;
    if (up) {
      this.bringUp();
      this.update('link-up');
      return;
    }
    this.stopDhcp(this.runner.now(), false);
    this.stack.setInterfaceUp(this.ifIndex, false);
    if (this.ipv4 === 'dhcp') {
      this.gateway4 = undefined;
      this.dns4 = [];
    }
    this.applyDns();
    this.update('link-down');
  }

  /** The status the stack's state gives, reported with `reason` while running. */
  private update(reason: string): void {
    if (!this.running) return;
    this.setStatus(this.derivedStatus(), reason);
  }

  private derivedStatus(): InterfaceStatus {
    if (!this.carrierUp) return 'connecting';
    const iface = this.stack.interface(this.ifIndex);
    if (iface !== undefined && iface.address !== 0) return 'global-up';
    const v6 = this.stack.ipv6Addresses(this.ifIndex).filter((a) => a.state === 'preferred' || a.state === 'deprecated');
    if (v6.some((a) => !(a.address[0] === 0xfe && ((a.address[1] as number) & 0xc0) === 0x80))) return 'global-up';
    // A link-local address alone is `local-up` only without IPv4 to wait for.
    return v6.length > 0 && this.ipv4 === 'none' ? 'local-up' : 'connecting';
  }

  private dnsList(): string[] {
    if (this.fixedDns !== undefined) return [...this.fixedDns];
    return this.running ? unique([...this.dns4, ...this.dns6]) : [];
  }

  private applyDns(): void {
    const list = this.dnsList();
    const key = list.join(' ');
    if (key === this.dnsApplied) return;
    this.dnsApplied = key;
    this.backend.setDnsServers(list);
  }

  /** `connect()` is done: `global-up`, or `local-up` with IPv6 only (`ipv4: 'none'`). */
  private isUp(status: InterfaceStatus): boolean {
    return status === 'global-up' || (status === 'local-up' && this.ipv4 === 'none');
  }

  /** Resolves once up (`isUp`); rejects when `signal` aborts or after `connectTimeoutMs`. */
  private waitUp(signal: AbortSignal): Promise<void> {
    if (this.isUp(this.status)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let cancelTimer: (() => void) | undefined;
      const finish = (err?: unknown): void => {
        off();
        signal.removeEventListener('abort', onAbort);
        cancelTimer?.();
        if (err === undefined) resolve();
        else reject(err);
      };
      const off = this.on('status', (e) => {
        if (this.isUp(e.status)) finish();
      });
      const onAbort = (): void => finish(signal.reason);
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      if (this.connectTimeoutMs > 0) {
        cancelTimer = this.scheduler.setTimer(this.connectTimeoutMs, () => {
          cancelTimer = undefined;
          const reason = !this.carrierUp ? 'no-carrier' : this.ipv4 === 'dhcp' ? 'dhcp-timeout' : 'no-address';
          finish(new SocketError('ETIMEDOUT', { op: 'connect', backend: this.name, reason }));
        });
      }
    });
  }
}
