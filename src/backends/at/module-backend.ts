/**
 * The generic socket backend over an AT module (`createModuleBackend(driver)`): the socket
 * contract (`../contract.ts`) implemented once for every module driver (ESP-AT, Quectel, ...),
 * which supply only the module operations (`ModuleDriver`).
 *
 * The backend routes the driver's link events to the sockets that own the links, routes
 * accepted links to the listening socket of their port, keeps the bind bookkeeping (the module
 * has none), and fails every socket at once with `ECONNABORTED` when the driver reports the
 * module or its network lost. Limits (buffers, queues, deadlines) are per backend instance.
 */
import { IOT_SOCKET_ECONNABORTED, IOT_SOCKET_ENOTSUP, iotCodeValue } from '../../base/iot-constants.ts';
import type { Rng } from '../../base/rand.ts';
import type { SocketError } from '../../base/socket-error.ts';
import type { Scheduler } from '../../base/time.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';
import type { Af, BackendCaps, CoreSocket, Endpoint, LookupResult, SockType, SocketBackend } from '../contract.ts';
import { PortTable } from '../port-table.ts';
import type { ModuleDriver, ModuleEvents, ModuleReceived } from './module-driver.ts';
import { failureCode, type LinkOwner, type ModuleBackendStats, type ModuleEnv } from './module-env.ts';
import { ModuleTcpSocket } from './module-tcp-socket.ts';
import { ModuleUdpSocket } from './module-udp-socket.ts';

export type { ModuleBackendStats } from './module-env.ts';

/** Options of `createModuleBackend`: clock, randomness and per-socket buffer sizes. */
export interface ModuleBackendOptions {
  /** The clock for deadlines and retry pauses (the driver's). */
  readonly scheduler: Scheduler;
  /** Randomness for implicit UDP ports. Default: a crypto-backed `CryptoRng`. */
  readonly rng?: Rng;
  /** Stream receive buffer per socket; default 8192 bytes (Mbed's `socket-bufsize`). */
  readonly rxBufferBytes?: number;
  /** Stream send buffer per socket; default 8192 bytes. */
  readonly txBufferBytes?: number;
  /** Datagrams queued per UDP socket, each way; default 64 (about what a host stack's 200 KB socket buffer holds of small datagrams). */
  readonly datagramQueue?: number;
  /** Connection-establishment deadline; default the driver's `caps.connectTimeoutMs`. */
  readonly connectTimeoutMs?: number;
  /** Pause before re-sending what the module refused (buffer full); default 100 ms. */
  readonly sendRetryMs?: number;
  /** How long a graceful close waits for queued bytes to reach the module; default 10 s. */
  readonly closeFlushMs?: number;
  /**
   * Pull mode: an idle open link is read this often in case the module's data notice was lost
   * (a garbled `+IPD,<id>,<len>` or `+QIURC: "recv"` is not repeated until the data is read);
   * default 2000 ms, 0 = never.
   */
  readonly pullPollMs?: number;
}

/** A socket of this backend. */
type ModuleSocket = ModuleTcpSocket | ModuleUdpSocket;

export class ModuleBackend implements SocketBackend {
  readonly name: string;
  readonly caps: BackendCaps;
  /** The module's socket driver. */
  readonly driver: ModuleDriver;
  /** Counters (see `ModuleBackendStats`). */
  readonly stats: ModuleBackendStats = {
    linksOpened: 0, linksClosed: 0, datagramsDropped: 0, rxOverflows: 0, sendRetries: 0, strayLinks: 0, losses: 0,
  };
  private readonly env: ModuleEnv;
  private readonly owners = new Map<number, LinkOwner>();
  private readonly sockets = new Set<CoreSocket>();
  private closed = false;

  constructor(driver: ModuleDriver, options: ModuleBackendOptions) {
    this.driver = driver;
    this.name = driver.name;
    const connectTimeoutMs = options.connectTimeoutMs ?? driver.caps.connectTimeoutMs;
    this.caps = { ...driver.caps, connectTimeoutMs };
    this.env = {
      driver,
      scheduler: options.scheduler,
      rng: options.rng ?? new CryptoRng(),
      tcpPorts: new PortTable(),
      udpPorts: new PortTable(),
      rxBufferBytes: options.rxBufferBytes ?? 8192,
      txBufferBytes: options.txBufferBytes ?? 8192,
      datagramQueue: options.datagramQueue ?? 64,
      connectTimeoutMs,
      sendRetryMs: options.sendRetryMs ?? 100,
      closeFlushMs: options.closeFlushMs ?? 10_000,
      pullPollMs: options.pullPollMs ?? 2000,
      stats: this.stats,
      own: (link, owner) => {
        const previous = this.owners.get(link);
        if (previous !== undefined && previous !== owner) previous.gone(IOT_SOCKET_ECONNABORTED);
        this.owners.set(link, owner);
      },
      closeLink: (link) => {
        this.owners.delete(link);
        this.stats.linksClosed++;
        void driver.closeLink(link);
      },
      adopt: (socket) => {
        this.sockets.add(socket);
      },
      released: (socket) => {
        this.sockets.delete(socket);
      },
    };
    driver.attach(this.events());
  }

  /** Links currently owned by a socket (for leak checks). */
  get openLinks(): number {
    return this.owners.size;
  }

  /** Sockets created and not yet closed. */
  get openSockets(): number {
    return this.sockets.size;
  }

  private events(): ModuleEvents {
    return {
      data: (link: number, received: ModuleReceived) => {
        const owner = this.owners.get(link);
        if (owner !== undefined) owner.data(received);
      },
      readable: (link: number, available: number) => {
        this.owners.get(link)?.readable(available);
      },
      closed: (link: number, error?: SocketError) => {
        const owner = this.owners.get(link);
        if (owner === undefined) return;
        this.owners.delete(link);
        this.stats.linksClosed++;
        owner.gone(error === undefined ? 0 : iotCodeValue(error.code), error);
      },
      accepted: (link: number, remote: Endpoint, port: number) => {
        for (const s of this.sockets) {
          if (s instanceof ModuleTcpSocket && s.listeningPort === port && s.af === (remote.address.length === 16 ? 2 : 1) && s.offer(link, remote)) {
            this.stats.linksOpened++;
            return;
          }
        }
        // No listener (or its backlog is full): refuse by closing the link.
        this.stats.strayLinks++;
        void this.driver.closeLink(link);
      },
      lost: (error: SocketError) => {
        this.stats.losses++;
        const code = iotCodeValue(error.code);
        const owners = [...this.owners.values()];
        this.owners.clear();
        this.stats.linksClosed += owners.length;
        for (const o of owners) o.gone(code, error);
      },
    };
  }

  createSocket(af: Af, type: SockType): CoreSocket | number {
    if (this.closed) return IOT_SOCKET_ECONNABORTED;
    if ((af === 2 && !this.caps.ipv6) || (af === 1 && !this.caps.ipv4)) return IOT_SOCKET_ENOTSUP;
    if ((type === 1 && !this.caps.tcp) || (type === 2 && !this.caps.udp)) return IOT_SOCKET_ENOTSUP;
    const s: ModuleSocket = type === 1 ? new ModuleTcpSocket(this.env, af) : new ModuleUdpSocket(this.env, af);
    this.sockets.add(s);
    return s;
  }

  async lookup(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult> {
    try {
      return await this.driver.lookup(name, af, signal);
    } catch (e) {
      return failureCode(e);
    }
  }

  /** Closes every socket (links closed at once) and disposes of the driver. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.sockets]) await s.close(true);
    await this.driver.dispose?.();
  }
}

/** The socket backend over a module driver. */
export function createModuleBackend(driver: ModuleDriver, options: ModuleBackendOptions): ModuleBackend {
  return new ModuleBackend(driver, options);
}
