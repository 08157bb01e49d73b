/**
 * The host stack backend: the operating system's TCP/IP through `node:net`,
 * `node:dgram` and `node:dns`, behind the backend contract (`../contract.ts`).
 */
import dns from 'node:dns';
import type { Af, BackendCaps, CoreSocket, LookupResult, SocketBackend, SockType } from '../contract.ts';
import {
  IOT_SOCKET_EHOSTNOTFOUND,
  IOT_SOCKET_ENOMEM,
  IOT_SOCKET_ENOTSUP,
  IOT_SOCKET_ERROR,
  IOT_SOCKET_ETIMEDOUT,
} from '../../base/iot-constants.ts';
import type { Rng } from '../../base/rand.ts';
import type { Scheduler } from '../../base/time.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';
import { systemScheduler } from '../../runtime/system-scheduler.ts';
import { PortTable } from '../port-table.ts';
import { addressBytes, errorCode, publish, type HostEnv, type TrackedHandle } from './host-common.ts';
import { HostTcpSocket } from './host-tcp-socket.ts';
import { HostUdpSocket, MAX_UDP4_PAYLOAD } from './host-udp-socket.ts';

/** Settings of `createHostBackend`. Every field is optional. */
export interface HostBackendOptions {
  /** Timers (connect deadline, lookup budget, linger). Default: the real `systemScheduler`. */
  readonly scheduler?: Scheduler;
  /** Randomness for implicit ports. Default: a crypto-backed `CryptoRng`. */
  readonly rng?: Rng;
  /** TCP connection-establishment deadline in ms (spec §7: below 18 s). Default 15000. */
  readonly connectTimeoutMs?: number;
  /** Most sockets open at once, accepted ones included; `createSocket` says `ENOMEM` beyond. Default 1024. */
  readonly maxSockets?: number;
  /**
   * DNS servers (`'192.0.2.53'`, `'127.0.0.1:5353'`, `'[::1]:53'`). When set, lookups
   * query them directly (A / AAAA through a `dns.promises.Resolver`); otherwise they use
   * the system resolver (`dns.promises.lookup`: getaddrinfo, /etc/hosts included).
   */
  readonly dnsServers?: readonly string[];
  /** Budget of one lookup in ms; `ETIMEDOUT` after it. Default 5000. */
  readonly lookupTimeoutMs?: number;
  /** TCP: reading from the OS pauses while this many received bytes wait unread. Default 256 KiB. */
  readonly recvBufferBytes?: number;
  /** TCP: bytes queued in Node beyond the kernel buffer; UDP: bytes in flight. `EAGAIN` beyond. Default 256 KiB. */
  readonly sendBufferBytes?: number;
  /** UDP: datagrams waiting to be received per socket; more are dropped. Default 256. */
  readonly udpQueueDatagrams?: number;
  /** Graceful TCP close: how long a closed socket may take to flush before it is reset. Default 10000. */
  readonly lingerMs?: number;
}

const DEFAULTS = {
  connectTimeoutMs: 15_000,
  maxSockets: 1024,
  lookupTimeoutMs: 5_000,
  recvBufferBytes: 256 * 1024,
  sendBufferBytes: 256 * 1024,
  udpQueueDatagrams: 256,
  lingerMs: 10_000,
} as const;

/** Resolver errors that mean "no such name / no such record" (spec §12: EHOSTNOTFOUND). */
const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME', 'EAI_NONAME', 'EAI_NODATA']);
/** Resolver errors that mean "no answer in time". */
const TIMEOUT_CODES = new Set(['ETIMEOUT', 'ETIMEDOUT', 'EAI_AGAIN']);

/** IoT code for a resolver error. */
export function lookupErrorCode(code: string | undefined): number {
  if (code !== undefined && NOT_FOUND_CODES.has(code)) return IOT_SOCKET_EHOSTNOTFOUND;
  if (code !== undefined && TIMEOUT_CODES.has(code)) return IOT_SOCKET_ETIMEDOUT;
  return IOT_SOCKET_ERROR;
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
}

/** The host backend; `createHostBackend()` is the public way to make one. */
export class HostBackend implements SocketBackend {
  readonly name = 'host';
  readonly caps: BackendCaps;

  private readonly env: HostEnv;
  private readonly sockets = new Set<CoreSocket>();
  private readonly handles = new Set<TrackedHandle & { destroy?: () => unknown; close?: () => unknown }>();
  private readonly dnsServers: readonly string[] | undefined;
  private readonly lookupTimeoutMs: number;
  private readonly scheduler: Scheduler;
  private closed = false;

  constructor(options: HostBackendOptions = {}) {
    const scheduler = options.scheduler ?? systemScheduler;
    this.scheduler = scheduler;
    const maxSockets = positive(options.maxSockets, DEFAULTS.maxSockets);
    const connectTimeoutMs = positive(options.connectTimeoutMs, DEFAULTS.connectTimeoutMs);
    this.caps = {
      ipv4: true,
      ipv6: true,
      tcp: true,
      udp: true,
      listen: true,
      maxSockets,
      maxDatagram: MAX_UDP4_PAYLOAD,
      connectTimeoutMs,
    };
    this.dnsServers = options.dnsServers !== undefined && options.dnsServers.length > 0 ? [...options.dnsServers] : undefined;
    this.lookupTimeoutMs = positive(options.lookupTimeoutMs, DEFAULTS.lookupTimeoutMs);
    this.env = {
      name: this.name,
      scheduler,
      rng: options.rng ?? new CryptoRng(),
      connectTimeoutMs,
      lingerMs: positive(options.lingerMs, DEFAULTS.lingerMs),
      recvBufferBytes: positive(options.recvBufferBytes, DEFAULTS.recvBufferBytes),
      sendBufferBytes: positive(options.sendBufferBytes, DEFAULTS.sendBufferBytes),
      udpQueueDatagrams: positive(options.udpQueueDatagrams, DEFAULTS.udpQueueDatagrams),
      tcpPorts: new PortTable(),
      udpPorts: new PortTable(),
      adopt: (socket) => {
        if (this.closed || this.sockets.size >= maxSockets) return false;
        this.sockets.add(socket);
        return true;
      },
      released: (socket) => {
        this.sockets.delete(socket);
      },
      track: (handle) => {
        const h = handle as TrackedHandle & { destroy?: () => unknown; close?: () => unknown };
        this.handles.add(h);
        handle.once('close', () => this.handles.delete(h));
      },
    };
  }

  /** Open sockets (accepted ones included). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Node handles not yet closed (sockets, listeners, lingering connections): for leak checks. */
  get openHandles(): number {
    return this.handles.size;
  }

  /** Port reservations held (TCP, UDP): for leak checks. */
  get reservedPorts(): {
    /** TCP ports reserved. */
    tcp: number;
    /** UDP ports reserved. */
    udp: number;
  } {
    return { tcp: this.env.tcpPorts.size, udp: this.env.udpPorts.size };
  }

  createSocket(af: Af, type: SockType): CoreSocket | number {
    if ((af !== 1 && af !== 2) || (type !== 1 && type !== 2)) return IOT_SOCKET_ENOTSUP;
    if (this.closed || this.sockets.size >= this.caps.maxSockets) return IOT_SOCKET_ENOMEM;
    const socket = type === 1 ? new HostTcpSocket(this.env, af) : new HostUdpSocket(this.env, af);
    this.sockets.add(socket);
    return socket;
  }

  async lookup(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult> {
    if (signal?.aborted) return IOT_SOCKET_ERROR;
    let cancelTimer: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    let resolver: dns.promises.Resolver | undefined;
    const query = async (): Promise<LookupResult> => {
      try {
        let text: string | undefined;
        if (this.dnsServers !== undefined) {
          resolver = new dns.promises.Resolver({ timeout: this.lookupTimeoutMs, tries: 1 });
          resolver.setServers(this.dnsServers);
          const list = af === 1 ? await resolver.resolve4(name) : await resolver.resolve6(name);
          text = list[0];
        } else {
          const found = await dns.promises.lookup(name, { family: af === 1 ? 4 : 6 });
          text = found.address;
        }
        if (text === undefined) return IOT_SOCKET_EHOSTNOTFOUND;
        return addressBytes(text, af) ?? IOT_SOCKET_ERROR;
      } catch (error) {
        const code = errorCode(error);
        if (code !== 'ECANCELLED') publish('error', { backend: this.name, kind: 'lookup', event: 'lookup-failed', error, name, af });
        return lookupErrorCode(code);
      }
    };
    const limits = new Promise<LookupResult>((resolve) => {
      cancelTimer = this.scheduler.setTimer(this.lookupTimeoutMs, () => {
        publish('error', { backend: this.name, kind: 'lookup', event: 'lookup-timeout', name, af });
        resolve(IOT_SOCKET_ETIMEDOUT);
      });
      if (signal !== undefined) {
        onAbort = () => resolve(IOT_SOCKET_ERROR);
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    try {
      return await Promise.race([query(), limits]);
    } finally {
      cancelTimer?.();
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      try {
        resolver?.cancel(); // ends a query still running after a timeout or abort
      } catch {
        // nothing to cancel
      }
    }
  }

  /** Closes every socket still open (abortively: RST), ends lingering connections and waits for Node's handles. */
  async close(): Promise<void> {
    this.closed = true;
    for (const socket of [...this.sockets]) {
      try {
        await socket.close(true);
      } catch {
        // close never throws; keep going regardless
      }
    }
    this.sockets.clear();
    const waits: Promise<void>[] = [];
    for (const h of [...this.handles]) {
      // Every handle still here has not emitted 'close' yet; ending it (or an end already
      // under way, when close() throws "not running") emits it.
      waits.push(new Promise<void>((resolve) => h.once('close', () => resolve())));
      try {
        if (typeof h.destroy === 'function') h.destroy();
        else h.close?.();
      } catch {
        // already closing: its 'close' event is on the way
      }
    }
    await Promise.all(waits);
  }
}

/**
 * Creates a host backend: the OS TCP/IP stack under the IoT Socket contract.
 * See `HostBackendOptions` for the settings and their defaults.
 */
export function createHostBackend(options: HostBackendOptions = {}): HostBackend {
  return new HostBackend(options);
}
