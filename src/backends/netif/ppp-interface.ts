/**
 * `PppInterface`: PPP in the client role over a serial line (a UART to a gateway, a pty, a TCP
 * tunnel) as a network interface, into its own userspace stack (Mbed's `PPPInterface`).
 *
 * `connect()` opens the session and resolves at `global-up` (IPCP address) or `local-up` (IPV6CP
 * only). When the session goes down by itself (peer terminated, echo timeout, a line fault) the
 * interface reports `connecting` and opens it again after a back-off (1 s doubling to 30 s) until
 * `disconnect()`, which terminates LCP. A stream that closes cannot be reopened: the interface
 * ends `disconnected` with reason `lower-down`.
 */
import type { Rng } from '../../base/rand.ts';
import { SocketError } from '../../base/socket-error.ts';
import type { CancelTimer, Scheduler } from '../../base/time.ts';
import { formatIPv6 } from '../../base/ip-address.ts';
import type { ByteStream } from '../../link/byte-stream.ts';
import { attachPpp, type PppAttachment } from '../../link/ppp-attach.ts';
import { PppLink, type PppLinkOptions } from '../../link/ppp-link.ts';
import { Stack } from '../../stack/stack.ts';
import type { UserspaceBackend } from '../userspace/userspace-backend.ts';
import { InterfaceBase, NO_ADDRESSES, type InterfaceAddresses, type InterfaceKind } from './network-interface.ts';
import { userspaceHost, type UserspaceHost, type UserspaceHostOptions } from './userspace-host.ts';

/** Options of `PppInterface`: the serial line, clock, randomness, credentials, PPP settings and name. */
export interface PppInterfaceOptions {
  /** The serial line. */
  stream: ByteStream;
  /** Clock of PPP timers and the reopen back-off. */
  scheduler: Scheduler;
  /** Randomness (PPP magic numbers, ISNs, ports). */
  rng: Rng;
  /** Our name and secret when the peer asks (copied). */
  credentials?: {
    /** Our name. */
    user: string;
    /** Our secret. */
    password: string;
  };
  /** PPP settings beyond those (LCP, timing, IPv4/IPv6, capture). */
  ppp?: Partial<Omit<PppLinkOptions, 'scheduler' | 'rng' | 'credentials' | 'closeStream'>>;
  /** Interface name (default `ppp0`). */
  name?: string;
  /** Reopen back-off, first and cap (defaults 1 s, 30 s). */
  reopen?: {
    /** First delay (default 1 s). */
    firstMs?: number;
    /** Largest delay (default 30 s). */
    maxMs?: number;
  };
  /** Settings of the userspace stack and backend underneath. */
  host?: Partial<Pick<UserspaceHostOptions, 'stack' | 'backend'>>;
}

export class PppInterface extends InterfaceBase {
  readonly name: string;
  /** Always `'ppp'`. */
  readonly kind: InterfaceKind = 'ppp';
  readonly backend: UserspaceBackend;
  /** The userspace stack, runner and backend of this interface. */
  readonly host: UserspaceHost;
  /** The PPP link on the serial line. */
  readonly link: PppLink;
  private readonly attachment: PppAttachment;
  private readonly opts: PppInterfaceOptions;
  private address4: number | undefined;
  private dns: string[] = [];
  private waiter: { resolve: () => void; reject: (e: SocketError) => void } | undefined;
  private timer: CancelTimer | undefined;
  private delay: number;
  private ipcpFailed = false;

  constructor(options: PppInterfaceOptions) {
    super();
    this.opts = { ...options, ...(options.credentials !== undefined ? { credentials: { ...options.credentials } } : {}) };
    this.name = options.name ?? 'ppp0';
    this.delay = options.reopen?.firstMs ?? 1000;
    this.host = userspaceHost({ name: this.name, scheduler: options.scheduler, rng: options.rng, ...options.host });
    this.backend = this.host.backend;
    this.link = new PppLink(options.stream, {
      ...options.ppp,
      scheduler: options.scheduler,
      rng: options.rng,
      closeStream: false,
      ...(this.opts.credentials !== undefined ? { credentials: this.opts.credentials } : {}),
    });
    this.attachment = attachPpp(this.host.stack, this.link, { name: this.name });
    this.attachment.on((e) => {
      if (e.type === 'ipv4-up') {
        this.address4 = e.address;
        this.dns = e.dnsServers.map((d) => Stack.format(d));
        if (this.dns.length > 0) this.backend.setDnsServers(this.dns);
        this.up('global-up', 'ipcp-up');
      } else if (e.type === 'ipv6-up' && this.status !== 'global-up') {
        this.up('local-up', 'ipv6cp-up');
      } else if (e.type === 'ipv4-down') {
        this.address4 = undefined;
      }
    });
    this.link.on((e) => {
      if (e.type === 'lcp-up') this.setLink(true, 'lcp-up');
      if (e.type === 'lcp-down' && this.wanted && (this.status === 'global-up' || this.status === 'local-up')) {
        // Traffic stops now; the session ends (or renegotiates) a moment later.
        this.setStatus('connecting', this.link.session.lcp.state === 'stopping' ? 'peer-terminated' : 'renegotiating');
      }
      if (e.type === 'ncp-failed' && e.protocol === 'ipcp') {
        this.ipcpFailed = true;
        if (this.status === 'local-up') this.up('local-up', 'ipv6cp-up');
      }
      if (e.type === 'down') this.sessionDown(e.reason);
    });
  }

  /** The negotiated IPv4 address (prefix 32), IPv6 addresses and DNS servers; `NO_ADDRESSES` while disconnected. */
  get addresses(): InterfaceAddresses {
    if (this.status === 'disconnected') return NO_ADDRESSES;
    return {
      ipv4: this.address4 !== undefined ? Stack.format(this.address4) : undefined,
      prefixLen: this.address4 !== undefined ? 32 : undefined,
      gateway: undefined,
      ipv6: this.host.stack.ipv6Addresses(this.attachment.ifIndex).map((a) => formatIPv6(a.address)),
      dnsServers: [...this.dns],
    };
  }

  protected start(signal: AbortSignal): Promise<void> {
    if (this.opts.stream.closed) return Promise.reject(new SocketError('ENOTCONN', { op: 'connect', backend: this.name, reason: 'lower-down' }));
    this.setStatus('connecting', 'negotiating');
    this.ipcpFailed = false;
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      signal.addEventListener('abort', () => {
        this.waiter = undefined;
        reject(signal.reason);
      }, { once: true });
      this.link.open();
    });
  }

  protected async stop(): Promise<void> {
    this.timer?.();
    this.timer = undefined;
    this.waiter = undefined;
    if (this.link.session.phase !== 'dead') await this.link.terminate();
    this.setLink(false, 'disconnect');
    this.delay = this.opts.reopen?.firstMs ?? 1000;
  }

  protected override async dispose(): Promise<void> {
    this.attachment.detach();
    this.link.close();
    await this.host.close();
  }

  private up(status: 'global-up' | 'local-up', reason: string): void {
    this.setStatus(status, reason);
    // connect() returns at global-up; at local-up only when IPv4 is off or IPCP gave up.
    if (status === 'local-up' && this.opts.ppp?.ipv4 !== false && !this.ipcpFailed) return;
    this.delay = this.opts.reopen?.firstMs ?? 1000;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }

  private sessionDown(reason: string): void {
    this.setLink(false, reason);
    this.address4 = undefined;
    if (!this.wanted) return;
    const w = this.waiter;
    if (this.opts.stream.closed) {
      // Nothing to reopen on: the connect fails (or, once up, the interface ends disconnected).
      this.waiter = undefined;
      const err = new SocketError('ENOTCONN', { op: 'connect', backend: this.name, reason: 'lower-down' });
      if (w !== undefined) w.reject(err);
      else {
        this.wanted = false;
        this.setStatus('disconnected', 'lower-down', err);
      }
      return;
    }
    if (w !== undefined && (reason === 'auth-failed' || reason === 'auth-refused')) {
      this.waiter = undefined;
      w.reject(new SocketError('ECONNREFUSED', { op: 'connect', backend: this.name, reason }));
      return;
    }
    this.setStatus('connecting', reason);
    const max = this.opts.reopen?.maxMs ?? 30_000;
    const wait = this.delay;
    this.delay = Math.min(max, this.delay * 2);
    this.timer = this.opts.scheduler.setTimer(wait, () => {
      this.timer = undefined;
      if (!this.wanted || this.opts.stream.closed) return;
      this.ipcpFailed = false;
      this.link.open();
    });
  }
}
