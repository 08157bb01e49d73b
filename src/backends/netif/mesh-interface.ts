/**
 * `MeshInterface`: a 6LoWPAN node (Mbed's `MeshInterface`, reference `network-layers.md` §4) — the
 * project's userspace stack on an IEEE 802.15.4 radio (`RadioLink` or any `Device` with medium
 * `'ieee802154'`) as a `NetworkInterface`, IPv6 only, mesh-under, with RFC 6775 neighbour discovery
 * against a border router.
 *
 * It owns a `Stack` with one 6LoWPAN interface on the radio, the `StackRunner` driving it on the
 * injected `Scheduler`, and a userspace socket backend (`backend`) whose sockets go over the mesh
 * (DNS servers: fixed by `dns`, else RDNSS from the router's RAs).
 *
 * - `connect()` brings the stack's interface up with IPv6: the link-local address from the radio's
 *   EUI-64 is preferred at once (no DAD on the mesh) → `local-up` (`link-local`); router
 *   solicitation, SLAAC from the border router's RA, and the global address's registration
 *   (NS+ARO); once the router accepted it (NA status 0) the address is preferred → `global-up`
 *   (`registered`). `connect()` resolves there (or at `local-up` with `waitFor: 'local-up'`); it
 *   fails with `ETIMEDOUT` (`no-router`, `not-registered`, `no-carrier`) after `connectTimeoutMs`.
 * - While connected the status follows the stack: a registration that lapses (the router out of
 *   reach: refreshes unanswered until the lifetime ran out; the address goes tentative) →
 *   `local-up` (`registration-lost`), a global address removed → `local-up` (`address-removed`);
 *   the stack keeps retrying the registration with back-off, and an accepted one → `global-up`
 *   again. A device carrier (`linkState`, absent on a `RadioLink`: always up) going down →
 *   `connecting` (`link-down`), the stack's interface down, until it is back.
 * - `disconnect()` takes the interface out of the stack (addresses, registrations and the learned
 *   router forgotten; no de-registration is sent: the router's entry runs out with its lifetime)
 *   and puts a fresh one in its place for the next `connect()`, which starts over (new
 *   solicitation, new registration): `ifIndex` changes. Open sockets stay open and fail on their
 *   own (no route; like `EthernetInterface`): close them, or use the mux to fail them promptly.
 * - `close()` also closes the backend (every socket), the runner and the stack. The radio belongs
 *   to the caller and stays open.
 */
import { formatIPv6, isLinkLocal } from '../../base/ip-address.ts';
import type { Rng } from '../../base/rand.ts';
import { SocketError } from '../../base/socket-error.ts';
import type { Scheduler } from '../../base/time.ts';
import type { StackRunner } from '../../runtime/stack-runner.ts';
import type { Device } from '../../stack/device.ts';
import type { Ipv6AddressInfo } from '../../stack/ipv6-interface.ts';
import type { Ipv6Event } from '../../stack/ipv6-layer.ts';
import type { LowpanAdaptationOptions } from '../../stack/lowpan/adaptation.ts';
import type { Stack } from '../../stack/stack.ts';
import type { UserspaceBackend } from '../userspace/index.ts';
import { InterfaceBase, type InterfaceAddresses, type InterfaceStatus } from './network-interface.ts';
import { userspaceHost, type UserspaceHost, type UserspaceHostOptions } from './userspace-host.ts';

/**
 * Options of `MeshInterface`: the radio, clock, randomness, name, mesh routes, 6LoWPAN and registration settings,
 * DNS servers and when `connect()` resolves.
 */
export interface MeshInterfaceOptions {
  /** The radio: a `RadioLink` or any device with medium `'ieee802154'` (its `linkState`, when present, is the carrier). */
  readonly link: Device;
  /** Clock and timers of the stack runner and the connect timeout. */
  readonly scheduler: Scheduler;
  /** Randomness of the stack (6LoWPAN sequence numbers and tags, ISNs, ports) and the resolver. */
  readonly rng: Rng;
  /** Default `mesh0`. */
  readonly name?: string | undefined;
  /**
   * Mesh-under next hops: the neighbour (2- or 8-byte MAC address) to send to for a final
   * destination, undefined when it is a neighbour itself (e.g. `medium.meshRouter(port)`).
   * Absent: a single-hop link (the border router in radio range, no mesh headers).
   */
  readonly meshRoutes?: ((final: Uint8Array) => Uint8Array | undefined) | undefined;
  /** The registration lifetime asked of the border router, minutes (default 60; 1..65535). Refreshed at 3/4 of it. */
  readonly registrationLifetimeMin?: number | undefined;
  /** Other 6LoWPAN adaptation settings (hops left, reassembly bounds, static contexts). */
  readonly lowpan?: Omit<LowpanAdaptationOptions, 'rng' | 'meshRoutes'> | undefined;
  /** DNS servers (`'2001:db8::53'`, `'[2001:db8::53]:53'`) replacing those of RAs (RDNSS). */
  readonly dns?: readonly string[] | undefined;
  /** Where `connect()` resolves: `'global-up'` (default: a registered global address) or `'local-up'`. */
  readonly waitFor?: 'global-up' | 'local-up' | undefined;
  /**
   * `connect()` fails with `ETIMEDOUT` when not at `waitFor` after this long (default 120 s: a
   * 6LoWPAN host's router solicitations back off up to 60 s apart; 0: never).
   */
  readonly connectTimeoutMs?: number | undefined;
  /** Stack and socket backend settings (the backend's name defaults to `userspace:<name>`). */
  readonly host?: Pick<UserspaceHostOptions, 'stack' | 'backend'> | undefined;
}

function hexColons(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A usable (preferred or deprecated) address. */
function usable(a: Ipv6AddressInfo): boolean {
  return a.state === 'preferred' || a.state === 'deprecated';
}

export class MeshInterface extends InterfaceBase {
  readonly name: string;
  readonly kind = 'mesh' as const;
  /** The radio link. */
  readonly link: Device;
  /** The userspace stack of this node. */
  readonly stack: Stack;
  /** The runner that drives it. */
  readonly runner: StackRunner;
  /** Sockets over this interface. */
  readonly backend: UserspaceBackend;
  private readonly scheduler: Scheduler;
  private readonly host: UserspaceHost;
  private readonly meshRoutes: MeshInterfaceOptions['meshRoutes'];
  private readonly lowpanOptions: MeshInterfaceOptions['lowpan'];
  private readonly registrationLifetimeMin: number | undefined;
  private readonly fixedDns: readonly string[] | undefined;
  private readonly waitFor: 'global-up' | 'local-up';
  private readonly connectTimeoutMs: number;
  private readonly unsubscribe: (() => void)[] = [];
  private ifIndexValue: number;
  /** Between `start` and `stop`. */
  private running = false;
  private dns6: string[] = [];
  private dnsApplied: string | undefined;

  constructor(options: MeshInterfaceOptions) {
    super();
    this.name = options.name ?? 'mesh0';
    this.link = options.link;
    if (this.link.caps.medium !== 'ieee802154') throw new RangeError(`MeshInterface needs an 'ieee802154' device, got '${this.link.caps.medium}'`);
    const lt = options.registrationLifetimeMin;
    if (lt !== undefined && !(Number.isInteger(lt) && lt >= 1 && lt <= 0xffff)) throw new RangeError(`registrationLifetimeMin: an integer 1..65535, got ${lt}`);
    this.registrationLifetimeMin = lt;
    this.scheduler = options.scheduler;
    this.meshRoutes = options.meshRoutes;
    this.lowpanOptions = options.lowpan;
    this.fixedDns = options.dns !== undefined && options.dns.length > 0 ? [...options.dns] : undefined;
    this.waitFor = options.waitFor ?? 'global-up';
    this.connectTimeoutMs = options.connectTimeoutMs ?? 120_000;
    this.host = userspaceHost({ name: this.name, scheduler: this.scheduler, rng: options.rng, ...options.host });
    this.stack = this.host.stack;
    this.runner = this.host.runner;
    this.backend = this.host.backend;
    this.ifIndexValue = this.addStackInterface();
    this.applyDns();
    const carrier = this.link.linkState;
    if (carrier !== undefined) this.unsubscribe.push(carrier.onChange((up) => this.onCarrier(up)));
    this.unsubscribe.push(this.stack.onIpv6Event((e) => this.onIpv6(e)));
    this.setLink(this.carrierUp, 'initial');
  }

  /** The stack's interface index for the radio (a new one after each `disconnect()`). */
  get ifIndex(): number {
    return this.ifIndexValue;
  }

  /** The radio's EUI-64 (`02:00:…`, 8 bytes): its MAC address on 802.15.4. */
  get mac(): string {
    return hexColons(this.link.caps.ieee802154?.extended ?? new Uint8Array(0));
  }

  /**
   * `ipv6`: the usable addresses (link-local, and the global one once registered); `gateway`: the
   * default router (the border router's link-local address) once its RA came; no IPv4.
   */
  get addresses(): InterfaceAddresses {
    const router = this.running ? this.stack.ipv6Routers(this.ifIndexValue)[0] : undefined;
    return {
      ipv4: undefined,
      prefixLen: undefined,
      gateway: router !== undefined ? formatIPv6(router) : undefined,
      ipv6: this.running ? this.usableAddresses().map((a) => formatIPv6(a.address)) : [],
      dnsServers: this.dnsList(),
    };
  }

  /** The global address being registered or registered (tentative until the router accepted it). */
  get globalAddress(): {
    /** The address (text). */
    readonly address: string;
    /** The border router accepted its registration. */
    readonly registered: boolean;
  } | undefined {
    if (!this.running) return undefined;
    const a = this.stack.ipv6Addresses(this.ifIndexValue).find((x) => !isLinkLocal(x.address) && x.state !== 'duplicate');
    return a !== undefined ? { address: formatIPv6(a.address), registered: usable(a) } : undefined;
  }

  private get carrierUp(): boolean {
    return this.link.linkState?.up ?? true;
  }

  // ---------------------------------------------------------------- InterfaceBase hooks

  protected async start(signal: AbortSignal): Promise<void> {
    this.running = true;
    this.setStatus('connecting', this.carrierUp ? 'ipv6' : 'link-down');
    const lowpan = this.registrationLifetimeMin !== undefined ? { registrationLifetimeMin: this.registrationLifetimeMin } : {};
    if (this.carrierUp) this.stack.setInterfaceUp(this.ifIndexValue, true);
    this.stack.enableIpv6(this.ifIndexValue, { lowpan }, this.runner.now());
    this.update('link-local');
    await this.untilUp(signal);
  }

  protected async stop(): Promise<void> {
    this.running = false;
    // A fresh interface in place of the old one: the next connect starts from scratch.
    this.stack.removeInterface(this.ifIndexValue);
    this.ifIndexValue = this.addStackInterface();
    this.dns6 = [];
    this.applyDns();
  }

  protected override async dispose(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    await this.host.close();
  }

  // ---------------------------------------------------------------- internals

  private addStackInterface(): number {
    return this.stack.addInterface(this.link, {
      name: this.name,
      up: false,
      lowpan: { ...this.lowpanOptions, ...(this.meshRoutes !== undefined ? { meshRoutes: this.meshRoutes } : {}) },
    });
  }

  private usableAddresses(): Ipv6AddressInfo[] {
    return this.stack.ipv6Addresses(this.ifIndexValue).filter(usable);
  }

  private onIpv6(e: Ipv6Event): void {
    if (e.kind === 'dns' && e.ifIndex === this.ifIndexValue) {
      this.dns6 = e.servers.map(formatIPv6);
      this.applyDns();
      return;
    }
    if ((e.kind !== 'address' && e.kind !== 'address-removed') || e.info.ifIndex !== this.ifIndexValue) return;
    const global = !isLinkLocal(e.info.address);
    const reason = e.kind === 'address-removed' ? 'address-removed'
      : !global ? 'link-local'
      : usable(e.info) ? 'registered' : 'registration-lost';
    this.update(reason);
  }

  private onCarrier(up: boolean): void {
    this.setLink(up, up ? 'carrier-up' : 'carrier-lost');
    if (!this.running) return;
    this.stack.setInterfaceUp(this.ifIndexValue, up);
    this.update(up ? 'link-up' : 'link-down');
  }

  /** The status the stack's state gives, reported with `reason` while running. */
  private update(reason: string): void {
    if (this.running) this.setStatus(this.derivedStatus(), reason);
  }

  private derivedStatus(): InterfaceStatus {
    if (!this.carrierUp) return 'connecting';
    const list = this.usableAddresses();
    if (list.some((a) => !isLinkLocal(a.address))) return 'global-up';
    return list.length > 0 ? 'local-up' : 'connecting';
  }

  private dnsList(): string[] {
    if (this.fixedDns !== undefined) return [...this.fixedDns];
    return this.running ? [...this.dns6] : [];
  }

  private applyDns(): void {
    const list = this.dnsList();
    const key = list.join(' ');
    if (key === this.dnsApplied) return;
    this.dnsApplied = key;
    this.backend.setDnsServers(list);
  }

  private reached(status: InterfaceStatus): boolean {
    return status === 'global-up' || (status === 'local-up' && this.waitFor === 'local-up');
  }

  /** Why a connect timed out. */
  private timeoutReason(): string {
    if (!this.carrierUp) return 'no-carrier';
    return this.stack.ipv6Routers(this.ifIndexValue).length === 0 ? 'no-router' : 'not-registered';
  }

  /** Resolves at `waitFor`; rejects with the abort reason or `ETIMEDOUT`. */
  private untilUp(signal: AbortSignal): Promise<void> {
    if (this.reached(this.status)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const cleanups: (() => void)[] = [];
      const settle = (fail: unknown): void => {
        for (const c of cleanups.splice(0)) c();
        if (fail === undefined) resolve();
        else reject(fail);
      };
      cleanups.push(this.on('status', (e) => this.reached(e.status) && settle(undefined)));
      if (signal.aborted) return settle(signal.reason);
      const abort = (): void => settle(signal.reason);
      signal.addEventListener('abort', abort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', abort));
      if (this.connectTimeoutMs > 0) {
        cleanups.push(this.scheduler.setTimer(this.connectTimeoutMs, () => {
          settle(new SocketError('ETIMEDOUT', { op: 'connect', backend: this.name, reason: this.timeoutReason() }));
        }));
      }
    });
  }
}
