/**
 * The userspace backend: the project's own TCP/IP stack (`src/stack/stack.ts`) behind
 * the backend contract (`../contract.ts`), driven by a `StackRunner`.
 *
 * TCP (`createSocket(af, 1)`, over the stack's `TcpLayer`, created on the stack unless
 * one is given) and UDP (`createSocket(af, 2)`) over IPv4 (`af` 1) and IPv6 (`af` 2;
 * the stack's interfaces need IPv6 enabled, `Stack.enableIpv6`). IPv6 sockets are
 * v6-only, as on the host backend (IPv4 and IPv6 are separate port spaces; the stack
 * itself also offers dual-stack PCBs and listeners).
 *
 * Name lookup (`lookup`): the static `hosts` map first (its entry of the asked family), then the DNS resolver
 * (`../dns/resolver.ts`: A for `af` 1, AAAA for `af` 2) over this stack's own sockets,
 * with the servers of `dns.servers` or `setDnsServers` (from DHCP or the CLI). DNS
 * sockets do not count against `maxSockets` (spec §12: resolution never takes an
 * application socket slot). Without servers: `EHOSTNOTFOUND` for names not in
 * `hosts` when there is a `hosts` map, otherwise `ERROR` (spec §12: no resolver
 * configured).
 *
 * Every operation runs synchronously against the stack with the runner's clock as
 * `now`; whatever the stack must do later (ARP retransmissions, reassembly timeouts,
 * received frames) happens in the runner's polls, which the stack requests itself
 * (`onWake`) whenever an application call changed its work.
 */
import type { Af, BackendCaps, CoreSocket, LookupResult, SocketBackend, SockType } from '../contract.ts';
import { IOT_SOCKET_AF_INET, IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_ENOMEM, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR } from '../../base/iot-constants.ts';
import { parseIp } from '../../base/ip-address.ts';
import type { StackRunner } from '../../runtime/stack-runner.ts';
import { MAX_UDP4_PAYLOAD, type Stack } from '../../stack/stack.ts';
import { UserspaceUdpSocket } from './userspace-udp-socket.ts';
import { UserspaceTcpSocket, type UserspaceTcpEnv } from './userspace-tcp-socket.ts';
import { TcpLayer } from '../../stack/tcp/tcp-layer.ts';
import type { Rng } from '../../base/rand.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';
import { DnsResolver, type DnsResolverOptions } from '../dns/resolver.ts';
import { canonicalName } from '../dns/dns-name.ts';
import type { DnsServerSpec } from '../dns/dns-servers.ts';

/** A `hosts` entry: one address (text or bytes), or up to one of each family. */
export type HostsValue = string | Uint8Array | readonly (string | Uint8Array)[];

/**
 * Options of `createUserspaceBackend`: name, socket limit, static host names, connect deadline, TCP layer,
 * randomness and DNS resolver.
 */
export interface UserspaceBackendOptions {
  /** Name in diagnostics (default `'userspace'`). */
  readonly name?: string;
  /** Most sockets open at once; `createSocket` says `ENOMEM` beyond (default 1024). */
  readonly maxSockets?: number;
  /**
   * Static name table for `lookup` (names compared case-insensitively), one address or
   * one of each family per name: `{ 'broker.local': '10.0.0.1', 'gw.local': ['10.0.0.2', 'fd00::2'] }`.
   */
  readonly hosts?: Readonly<Record<string, HostsValue>> | ReadonlyMap<string, HostsValue>;
  /** Connection-establishment deadline for TCP connects (spec §7: below 18 s). Default 15000. */
  readonly connectTimeoutMs?: number;
  /** The stack's TCP layer (default: a new one on `stack`, with `rng`). */
  readonly tcp?: TcpLayer;
  /** Randomness for a TCP layer created here (ISNs, ports) and for DNS query ids; default crypto-backed. */
  readonly rng?: Rng;
  /**
   * DNS resolver: `servers` (`'10.0.0.1'`, `'10.0.0.1:53'`; more can be set later with
   * `setDnsServers`) and the resolver settings (`DnsResolverOptions`: timeout 2 s per
   * try, 2 attempts, cache of 256 answers, ...). A bad server entry throws `RangeError`.
   */
  readonly dns?: DnsResolverOptions;
}

export class UserspaceBackend implements SocketBackend {
  readonly name: string;
  readonly caps: BackendCaps;
  /** The stack the sockets run on. */
  readonly stack: Stack;
  /** The runner that drives it. */
  readonly runner: StackRunner;
  private readonly sockets = new Set<CoreSocket>();
  /** The resolver's own sockets: not counted against `maxSockets`. */
  private readonly dnsSockets = new Set<CoreSocket>();
  /** Name -> [IPv4, IPv6] address (either may be missing). */
  private readonly hosts: Map<string, [Uint8Array | undefined, Uint8Array | undefined]> | undefined;
  private readonly env: UserspaceTcpEnv;
  private closed = false;
  /** The TCP layer of the stack. */
  readonly tcp: TcpLayer;
  /** The DNS resolver behind `lookup` (servers, stats, cache). */
  readonly resolver: DnsResolver;

  constructor(stack: Stack, runner: StackRunner, options: UserspaceBackendOptions = {}) {
    this.stack = stack;
    this.runner = runner;
    this.name = options.name ?? 'userspace';
    const maxSockets = options.maxSockets !== undefined && options.maxSockets >= 1 ? Math.floor(options.maxSockets) : 1024;
    this.caps = {
      ipv4: true,
      ipv6: true,
      tcp: true,
      udp: true,
      listen: true,
      maxSockets,
      maxDatagram: MAX_UDP4_PAYLOAD,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
    };
    if (options.hosts !== undefined) {
      this.hosts = new Map();
      const entries = options.hosts instanceof Map ? [...options.hosts.entries()] : Object.entries(options.hosts);
      for (const [name, value] of entries) {
        const pair: [Uint8Array | undefined, Uint8Array | undefined] = [undefined, undefined];
        for (const one of Array.isArray(value) ? value : [value as string | Uint8Array]) {
          const bytes = typeof one === 'string' ? parseIp(one) : one;
          if (bytes === undefined || (bytes.length !== 4 && bytes.length !== 16)) throw new RangeError(`hosts: '${name}' maps to an invalid IP address`);
          const i = bytes.length === 4 ? 0 : 1;
          if (pair[i] !== undefined) throw new RangeError(`hosts: '${name}' has two IPv${bytes.length === 4 ? 4 : 6} addresses`);
          pair[i] = Uint8Array.from(bytes);
        }
        this.hosts.set(canonicalName(name), pair);
      }
    }
    const rng = options.rng ?? new CryptoRng();
    this.tcp = options.tcp ?? new TcpLayer(stack, { rng });
    this.env = {
      stack,
      now: () => runner.now(),
      released: (socket) => {
        this.sockets.delete(socket);
        this.dnsSockets.delete(socket);
      },
      tcp: this.tcp,
      scheduler: runner.scheduler,
      connectTimeoutMs: this.caps.connectTimeoutMs,
      adopt: (socket) => {
        this.sockets.add(socket);
      },
    };
    this.resolver = new DnsResolver(
      { createSocket: (af, type) => this.open(af, type, this.dnsSockets) },
      { ...options.dns, scheduler: runner.scheduler, rng },
    );
  }

  /**
   * Replaces the DNS servers (from a DHCP lease, the CLI's `--dns`, configuration):
   * `'10.0.0.1'`, `'10.0.0.1:5353'`, or 4-byte addresses; an empty list turns DNS off.
   * Lookups under way finish with the old servers; a changed list flushes the cache.
   * Throws `RangeError` on an entry that is not an address with an optional port.
   */
  setDnsServers(list: readonly DnsServerSpec[]): void {
    this.resolver.setServers(list);
  }

  /** The DNS servers in use, as `'address:port'` text. */
  get dnsServers(): readonly string[] {
    return this.resolver.servers;
  }

  /** Open sockets (for leak checks). */
  get openSockets(): number {
    return this.sockets.size;
  }

  createSocket(af: Af, type: SockType): CoreSocket | number {
    if (!this.closed && this.sockets.size >= this.caps.maxSockets) return IOT_SOCKET_ENOMEM;
    return this.open(af, type, this.sockets);
  }

  /** A socket recorded in `into` (application sockets or the resolver's). */
  private open(af: Af, type: SockType, into: Set<CoreSocket>): CoreSocket | number {
    if (af !== 1 && af !== 2) return IOT_SOCKET_ENOTSUP;
    if (this.closed) return IOT_SOCKET_ENOMEM;
    if (type === 1) {
      const tcp = new UserspaceTcpSocket(this.env, undefined, af);
      into.add(tcp);
      return tcp;
    }
    const pcb = this.stack.udpOpen(af === 2 ? 6 : 4);
    if (typeof pcb === 'number') return pcb;
    const socket = new UserspaceUdpSocket(this.env, pcb);
    into.add(socket);
    return socket;
  }

  /**
   * `hosts` first (entries of the asked family), then DNS (A or AAAA). Without DNS servers:
   * `EHOSTNOTFOUND` if a `hosts` map is configured, else `ERROR` (no resolver).
   */
  /** An IPv4 address on some interface, or a preferred IPv6 address that is not link-local, loopback or unspecified. */
  hasSourceAddress(af: Af): boolean {
    if (af === IOT_SOCKET_AF_INET) return this.stack.interfaces.some((i) => i.address !== 0 && i.address >>> 24 !== 127);
    return this.stack.ipv6Addresses().some((a) => a.state === 'preferred' && !(a.address[0] === 0xfe && ((a.address[1] ?? 0) & 0xc0) === 0x80)
      && !a.address.every((b, k) => b === (k === 15 ? 1 : 0)) && !a.address.every((b) => b === 0));
  }

  async lookup(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult> {
    if (signal?.aborted) return IOT_SOCKET_ERROR;
    if (af !== 1 && af !== 2) return IOT_SOCKET_ENOTSUP;
    const found = this.hosts?.get(canonicalName(name))?.[af - 1];
    if (found !== undefined) return Uint8Array.from(found);
    if (this.resolver.servers.length === 0) return this.hosts === undefined ? IOT_SOCKET_ERROR : IOT_SOCKET_EHOSTNOTFOUND;
    return this.resolver.resolve(name, af, signal);
  }

  /** Closes every socket and ends DNS lookups under way. The stack and the runner belong to the caller and stay up. */
  async close(): Promise<void> {
    this.closed = true;
    this.resolver.close();
    for (const s of [...this.sockets, ...this.dnsSockets]) s.close(true);
    this.sockets.clear();
    this.dnsSockets.clear();
  }
}

/**
 * A userspace backend over `stack`, driven by `runner` (whose scheduler gives `now`).
 * See `UserspaceBackendOptions`.
 */
export function createUserspaceBackend(stack: Stack, runner: StackRunner, options: UserspaceBackendOptions = {}): UserspaceBackend {
  return new UserspaceBackend(stack, runner, options);
}
