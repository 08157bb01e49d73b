/**
 * The userspace backend: the project's own TCP/IP stack (`src/stack/stack.ts`) behind
 * the backend contract (`../contract.ts`), driven by a `StackRunner`.
 *
 * IPv4 TCP (`createSocket(1, 1)`, over the stack's `TcpLayer`, created on the stack
 * unless one is given) and UDP (`createSocket(1, 2)`). IPv6 (`af 2`) returns `ENOTSUP`
 * until it lands, and `caps` say so. Name lookup has no DNS client yet: with
 * a static `hosts` map it answers from the map (`EHOSTNOTFOUND` for other names),
 * otherwise `ERROR` (spec §12: no resolver configured).
 *
 * Every operation runs synchronously against the stack with the runner's clock as
 * `now`; whatever the stack must do later (ARP retransmissions, reassembly timeouts,
 * received frames) happens in the runner's polls, which the stack requests itself
 * (`onWake`) whenever an application call changed its work.
 */
import type { Af, BackendCaps, CoreSocket, LookupResult, SocketBackend, SockType } from '../contract.ts';
import { IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_ENOMEM, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR } from '../../base/iot-constants.ts';
import { parseIPv4 } from '../../base/ip-address.ts';
import type { StackRunner } from '../../runtime/stack-runner.ts';
import { MAX_UDP4_PAYLOAD, type Stack } from '../../stack/stack.ts';
import { UserspaceUdpSocket } from './userspace-udp-socket.ts';
import { UserspaceTcpSocket, type UserspaceTcpEnv } from './userspace-tcp-socket.ts';
import { TcpLayer } from '../../stack/tcp/tcp-layer.ts';
import type { Rng } from '../../base/rand.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';

export interface UserspaceBackendOptions {
  /** Name in diagnostics (default `'userspace'`). */
  readonly name?: string;
  /** Most sockets open at once; `createSocket` says `ENOMEM` beyond (default 1024). */
  readonly maxSockets?: number;
  /** Static name table for `lookup` (names compared case-insensitively): `{ 'broker.local': '10.0.0.1' }`. */
  readonly hosts?: Readonly<Record<string, string | Uint8Array>> | ReadonlyMap<string, string | Uint8Array>;
  /** Connection-establishment deadline for TCP connects (spec §7: below 18 s). Default 15000. */
  readonly connectTimeoutMs?: number;
  /** The stack's TCP layer (default: a new one on `stack`, with `rng`). */
  readonly tcp?: TcpLayer;
  /** Randomness for a TCP layer created here (ISNs, ports); default crypto-backed. */
  readonly rng?: Rng;
}

export class UserspaceBackend implements SocketBackend {
  readonly name: string;
  readonly caps: BackendCaps;
  readonly stack: Stack;
  readonly runner: StackRunner;
  private readonly sockets = new Set<CoreSocket>();
  private readonly hosts: Map<string, Uint8Array> | undefined;
  private readonly env: UserspaceTcpEnv;
  private closed = false;
  /** The TCP layer of the stack. */
  readonly tcp: TcpLayer;

  constructor(stack: Stack, runner: StackRunner, options: UserspaceBackendOptions = {}) {
    this.stack = stack;
    this.runner = runner;
    this.name = options.name ?? 'userspace';
    const maxSockets = options.maxSockets !== undefined && options.maxSockets >= 1 ? Math.floor(options.maxSockets) : 1024;
    this.caps = {
      ipv4: true,
      ipv6: false,
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
        const bytes = typeof value === 'string' ? parseIPv4(value) : value;
        if (bytes === undefined || bytes.length !== 4) throw new RangeError(`hosts: '${name}' maps to an invalid IPv4 address`);
        this.hosts.set(name.toLowerCase(), Uint8Array.from(bytes));
      }
    }
    this.tcp = options.tcp ?? new TcpLayer(stack, { rng: options.rng ?? new CryptoRng() });
    this.env = {
      stack,
      now: () => runner.now(),
      released: (socket) => {
        this.sockets.delete(socket);
      },
      tcp: this.tcp,
      scheduler: runner.scheduler,
      connectTimeoutMs: this.caps.connectTimeoutMs,
      adopt: (socket) => {
        this.sockets.add(socket);
      },
    };
  }

  /** Open sockets (for leak checks). */
  get openSockets(): number {
    return this.sockets.size;
  }

  createSocket(af: Af, type: SockType): CoreSocket | number {
    if (af !== 1) return IOT_SOCKET_ENOTSUP; // IPv6: not yet
    if (this.closed || this.sockets.size >= this.caps.maxSockets) return IOT_SOCKET_ENOMEM;
    if (type === 1) {
      const tcp = new UserspaceTcpSocket(this.env);
      this.sockets.add(tcp);
      return tcp;
    }
    const pcb = this.stack.udpOpen(4);
    if (typeof pcb === 'number') return pcb;
    const socket = new UserspaceUdpSocket(this.env, pcb);
    this.sockets.add(socket);
    return socket;
  }

  async lookup(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult> {
    if (signal?.aborted) return IOT_SOCKET_ERROR;
    if (af !== 1) return IOT_SOCKET_ENOTSUP;
    if (this.hosts === undefined) return IOT_SOCKET_ERROR; // no resolver configured (spec §12)
    const found = this.hosts.get(name.toLowerCase());
    return found === undefined ? IOT_SOCKET_EHOSTNOTFOUND : Uint8Array.from(found);
  }

  /** Closes every socket. The stack and the runner belong to the caller and stay up. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.sockets]) s.close(true);
    this.sockets.clear();
  }
}

/**
 * A userspace backend over `stack`, driven by `runner` (whose scheduler gives `now`).
 * See `UserspaceBackendOptions`.
 */
export function createUserspaceBackend(stack: Stack, runner: StackRunner, options: UserspaceBackendOptions = {}): UserspaceBackend {
  return new UserspaceBackend(stack, runner, options);
}
