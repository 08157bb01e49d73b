/**
 * `Network`: the entry point of the idiomatic, promise-first API over one backend
 * (host OS, userspace TCP/IP, AT module). It creates TCP connections, listeners and
 * UDP sockets, resolves names, and closes everything it created on `close()`.
 *
 * ```ts
 * const net = new Network(createHostBackend());
 * const socket = await net.connect('example.com:80', { timeoutMs: 5000 });
 * await socket.write('GET / HTTP/1.0\r\n\r\n');
 * for await (const chunk of socket) process(chunk);
 * await net.close();
 * ```
 */
import type { Af, CoreSocket, SocketBackend } from '../backends/contract.ts';
import { parseIp } from '../base/ip-address.ts';
import {
  IOT_SOCKET_AF_INET,
  IOT_SOCKET_AF_INET6,
  IOT_SOCKET_EADDRINUSE,
  IOT_SOCKET_EALREADY,
  IOT_SOCKET_EHOSTNOTFOUND,
  IOT_SOCKET_EINPROGRESS,
  IOT_SOCKET_ESOCK,
} from '../base/iot-constants.ts';
import type { Rng } from '../base/rand.ts';
import type { Scheduler } from '../base/time.ts';
import { CryptoRng } from '../runtime/crypto-rng.ts';
import { systemScheduler } from '../runtime/system-scheduler.ts';
import { SocketDuplex } from './duplex.ts';
import type { OpWhere, SocketContext } from './idiomatic-support.ts';
import {
  checkTimeout,
  codeError,
  coreError,
  raceDeadline,
  randomEphemeralPort,
  socketError,
  waitChange,
} from './idiomatic-support.ts';
import { Readiness, deadlineAfter } from './readiness.ts';
import { SocketAddress } from './socket-address.ts';
import { TcpServer } from './tcp-server.ts';
import { TcpSocket } from './tcp-socket.ts';
import { UdpSocket } from './udp-socket.ts';

/** Where to connect: `'host:port'` / `'[v6]:port'` text, an address, or host and port. */
export type ConnectTarget = string | SocketAddress | {
  /** A name or an address literal. */
  host: string;
  /** Port, 1-65535. */
  port: number;
  /** Address family of the lookup; default IPv4 first, then IPv6. */
  family?: 4 | 6 | undefined;
};

/** Options of `Network.connect`. */
export interface ConnectOptions {
  /** Cancels the connect (rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
  /**
   * Gives up after this many ms (name lookup included) with `SocketError('ETIMEDOUT',
   * reason 'timeout')`. The backend's own connection-establishment deadline
   * (`caps.connectTimeoutMs`) applies as well.
   */
  timeoutMs?: number | undefined;
  /** Local address literal to bind to (the port is random unless `localPort` is given). */
  localAddress?: string | undefined;
  /** Local port to bind to. */
  localPort?: number | undefined;
  /** Turns TCP keep-alive on. */
  keepAlive?: boolean | undefined;
}

/** Options of `Network.connectDuplex`. */
export interface ConnectDuplexOptions extends ConnectOptions {
  /**
   * Keep the writable side open after the peer's FIN (default false, as `net.Socket`:
   * the peer's FIN ends both sides, which mqtt.js and `node:http` rely on).
   */
  allowHalfOpen?: boolean | undefined;
  /** Readable side buffer of the Duplex, in bytes (default 64 KiB). */
  readableHighWaterMark?: number | undefined;
  /** Writable side buffer of the Duplex, in bytes (default 64 KiB). */
  writableHighWaterMark?: number | undefined;
}

/** Options of `Network.listen`. */
export interface ListenOptions {
  /** Port 1..65535, or 0 for a random free port from 49152-65535. */
  port: number;
  /** Local address literal or name (default `0.0.0.0`, or `::` with `family: 6`). */
  host?: string | undefined;
  /** 4 or 6 (default: the family of `host`, else 4). */
  family?: 4 | 6 | undefined;
  /** Pending-connection queue length (default 16). */
  backlog?: number | undefined;
}

/** Options of `Network.udp`. */
export interface UdpOptions {
  /** 4 or 6 (default: the family of `host`, else 4). */
  family?: 4 | 6 | undefined;
  /** Local port (default: random from 49152-65535). */
  port?: number | undefined;
  /** Local address literal or name (default `0.0.0.0` / `::`). */
  host?: string | undefined;
}

/** Options of `Network.lookup`. */
export interface LookupOptions {
  /** Address family wanted; without it IPv4 is tried first, then IPv6. */
  family?: 4 | 6 | undefined;
  /** Cancels the lookup (rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
}

/** Options of the `Network` constructor. */
export interface NetworkOptions {
  /** Clock and timers (default: the real `systemScheduler`). */
  scheduler?: Scheduler | undefined;
  /** Randomness for port choices (default: crypto-backed). */
  rng?: Rng | undefined;
}

/** How many random ports `listen({ port: 0 })` and `udp()` try before giving up. */
const PORT_TRIES = 8;
const DEFAULT_BACKLOG = 16;

interface Closable {
  close(): Promise<void>;
}

function afOf(family: 4 | 6): Af {
  return family === 6 ? 2 : 1;
}

function anyAddress(family: 4 | 6): Uint8Array {
  return new Uint8Array(family === 6 ? 16 : 4);
}

function isPortNumber(port: unknown, allowZero: boolean): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= (allowZero ? 0 : 1) && port <= 65535;
}

/**
 * Splits `'host:port'` / `'[v6]:port'` text whose host may be a name. Returns
 * undefined when there is no usable port.
 */
function splitHostPort(text: string): { host: string; port: number } | undefined {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return undefined;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0 || text.indexOf(':') !== colon) return undefined;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^(?:0|[1-9][0-9]{0,4})$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535 || host === '') return undefined;
  return { host, port };
}

/** The idiomatic API over one backend. See the module comment. */
export class Network {
  /** The backend this network runs on. */
  readonly backend: SocketBackend;
  readonly #scheduler: Scheduler;
  readonly #rng: Rng;
  readonly #open = new Set<Closable>();
  #closed = false;

  constructor(backend: SocketBackend, options: NetworkOptions = {}) {
    this.backend = backend;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#rng = options.rng ?? new CryptoRng();
  }

  /** The scheduler this network's timeouts run on. */
  get scheduler(): Scheduler {
    return this.#scheduler;
  }

  /** Sockets and servers open now (for leak checks). */
  get openCount(): number {
    return this.#open.size;
  }

  #where(op: string, address?: string): OpWhere {
    return { op, backend: this.backend.name, address };
  }

  #checkOpen(op: string): void {
    if (this.#closed) throw socketError('ESOCK', this.#where(op), 'network-closed');
  }

  #context(item: { ref: Closable | undefined }): SocketContext {
    return {
      backend: this.backend.name,
      scheduler: this.#scheduler,
      untrack: () => {
        if (item.ref !== undefined) this.#open.delete(item.ref);
      },
    };
  }

  #track<T extends Closable>(item: { ref: Closable | undefined }, value: T): T {
    item.ref = value;
    this.#open.add(value);
    return value;
  }

  #createSocket(family: 4 | 6, type: 1 | 2, where: OpWhere): CoreSocket {
    const core = this.backend.createSocket(afOf(family), type);
    if (typeof core === 'number') throw codeError(core, where, family === 6 && !this.backend.caps.ipv6 ? 'no-ipv6' : undefined);
    return core;
  }

  /** Wraps an accepted or connected core socket as a tracked `TcpSocket`. */
  #adoptTcp(core: CoreSocket, readiness: Readiness | undefined, remote?: SocketAddress): TcpSocket {
    const item: { ref: Closable | undefined } = { ref: undefined };
    const socket = new TcpSocket(core, readiness, this.#context(item), remote);
    if (this.#closed) {
      socket.destroy();
      return socket;
    }
    return this.#track(item, socket);
  }

  /**
   * Resolves a host name to its canonical address text; literals are returned in
   * canonical form without I/O. A literal of the other family than `family` rejects
   * with `EHOSTNOTFOUND`, as IoT Socket's GetHostByName does.
   */
  async lookup(name: string, opts: LookupOptions = {}): Promise<string> {
    const bytes = await this.#resolveHost(name, opts.family, opts.signal, 'lookup');
    return SocketAddress.fromBytes(bytes, 0).address;
  }

  /** IPv4 then IPv6, unless the backend has a source address of IPv6 only (`hasSourceAddress`). */
  #familyOrder(): Array<4 | 6> {
    const has = this.backend.hasSourceAddress?.bind(this.backend);
    if (has === undefined) return [4, 6];
    return !has(IOT_SOCKET_AF_INET) && has(IOT_SOCKET_AF_INET6) ? [6, 4] : [4, 6];
  }

  async #resolveHost(name: string, family: 4 | 6 | undefined, signal: AbortSignal | undefined, op: string): Promise<Uint8Array> {
    const where = this.#where(op, typeof name === 'string' ? name : undefined);
    if (typeof name !== 'string' || name === '') throw socketError('EINVAL', where, 'bad-name');
    signal?.throwIfAborted();
    const literal = parseIp(name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name);
    if (literal !== undefined) {
      if (family !== undefined && (literal.length === 16) !== (family === 6)) {
        throw socketError('EHOSTNOTFOUND', where, 'literal-of-other-family');
      }
      return literal;
    }
    const families: Array<4 | 6> = family !== undefined ? [family] : this.backend.caps.ipv6 ? this.#familyOrder() : [4];
    let last = IOT_SOCKET_EHOSTNOTFOUND;
    for (const f of families) {
      let result: Uint8Array | number;
      try {
        result = await this.backend.lookup(name, afOf(f), signal);
      } catch (e) {
        signal?.throwIfAborted();
        throw socketError('ERROR', where, 'lookup-failed', e);
      }
      signal?.throwIfAborted();
      if (typeof result !== 'number') return result;
      last = result;
      if (result !== IOT_SOCKET_EHOSTNOTFOUND) break;
    }
    throw codeError(last, where);
  }

  /** A destination from `ConnectTarget`, resolving host names. */
  async #resolveTarget(
    target: ConnectTarget,
    family: 4 | 6 | undefined,
    signal: AbortSignal | undefined,
    op: string,
  ): Promise<SocketAddress> {
    if (target instanceof SocketAddress) return target;
    if (typeof target === 'string') {
      const literal = SocketAddress.tryParse(target);
      if (literal !== undefined) return literal;
      const hp = splitHostPort(target);
      if (hp === undefined) throw socketError('EINVAL', this.#where(op, target), 'bad-target');
      const bytes = await this.#resolveHost(hp.host, family, signal, op);
      return SocketAddress.fromBytes(bytes, hp.port);
    }
    if (typeof target !== 'object' || target === null || typeof target.host !== 'string') {
      throw socketError('EINVAL', this.#where(op), 'bad-target');
    }
    if (!isPortNumber(target.port, true)) throw socketError('EINVAL', this.#where(op, target.host), 'bad-port');
    const bytes = await this.#resolveHost(target.host, target.family ?? family, signal, op);
    return SocketAddress.fromBytes(bytes, target.port);
  }

  /** Opens a TCP connection. Host names are resolved through `lookup`. */
  async connect(target: ConnectTarget, opts: ConnectOptions = {}): Promise<TcpSocket> {
    const where0 = this.#where('connect', typeof target === 'string' ? target : undefined);
    checkTimeout(opts.timeoutMs, where0);
    opts.signal?.throwIfAborted();
    this.#checkOpen('connect');
    const deadline = deadlineAfter(this.#scheduler, opts.timeoutMs);
    const localBytes = opts.localAddress !== undefined ? parseIp(opts.localAddress) : undefined;
    if (opts.localAddress !== undefined && localBytes === undefined) {
      throw socketError('EINVAL', where0, 'bad-local-address');
    }
    if (opts.localPort !== undefined && !isPortNumber(opts.localPort, true)) {
      throw socketError('EINVAL', where0, 'bad-local-port');
    }
    const localFamily = localBytes === undefined ? undefined : localBytes.length === 16 ? 6 : 4;
    const remote = await raceDeadline(
      this.#resolveTarget(target, localFamily, opts.signal, 'connect'),
      this.#scheduler,
      deadline,
      opts.signal,
      where0,
    );
    const where = this.#where('connect', remote.toString());
    if (remote.port === 0) throw socketError('EINVAL', where, 'bad-port');
    if (localFamily !== undefined && localFamily !== remote.family) throw socketError('EINVAL', where, 'family-mismatch');
    this.#checkOpen('connect');

    const core = this.#createSocket(remote.family, 1, where);
    const readiness = new Readiness(core, this.#scheduler);
    const fail = async (error: unknown): Promise<never> => {
      readiness.closeAll();
      try {
        await core.close(true);
      } catch {
        // Nothing left to release.
      }
      throw error;
    };
    try {
      if (opts.keepAlive === true) {
        const r = core.setKeepAlive(true);
        if (r < 0) throw codeError(r, where, 'keep-alive');
      }
      if (localBytes !== undefined || (opts.localPort !== undefined && opts.localPort !== 0)) {
        await this.#bind(core, localBytes ?? anyAddress(remote.family), opts.localPort ?? 0, where);
      }
      const started = await core.connect(remote.bytes, remote.port);
      if (started !== 0 && started !== IOT_SOCKET_EINPROGRESS && started !== IOT_SOCKET_EALREADY) {
        throw coreError(core, started, where);
      }
      for (;;) {
        const state = core.connectResult();
        if (state === 0) break;
        if (state !== IOT_SOCKET_EINPROGRESS && state !== IOT_SOCKET_EALREADY) throw coreError(core, state, where);
        if (this.#closed) throw socketError('ESOCK', where, 'network-closed');
        await waitChange(readiness, deadline, opts.signal, where, () => socketError('ESOCK', where, 'network-closed'));
      }
    } catch (e) {
      return fail(e);
    }
    if (this.#closed) return fail(socketError('ESOCK', where, 'network-closed'));
    return this.#adoptTcp(core, readiness, remote);
  }

  /**
   * A `Duplex` that connects in the background: usable at once (writes are held until
   * the connection exists), destroyed with the connect error if it fails. This is the
   * shape mqtt.js's stream builder needs:
   * `new MqttClient(() => network.connectDuplex('broker:1883'), opts)`.
   */
  connectDuplex(target: ConnectTarget, opts: ConnectDuplexOptions = {}): SocketDuplex {
    const controller = new AbortController();
    const outer = opts.signal;
    const onOuterAbort = (): void => controller.abort(outer?.reason);
    if (outer?.aborted) controller.abort(outer.reason);
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    const { allowHalfOpen, readableHighWaterMark, writableHighWaterMark, ...connectOpts } = opts;
    const pending = this.connect(target, { ...connectOpts, signal: controller.signal });
    void pending.then(
      () => outer?.removeEventListener('abort', onOuterAbort),
      () => outer?.removeEventListener('abort', onOuterAbort),
    );
    return new SocketDuplex(pending, {
      allowHalfOpen,
      readableHighWaterMark,
      writableHighWaterMark,
      scheduler: this.#scheduler,
      cancelConnect: () => controller.abort(socketError('ECONNABORTED', this.#where('connect'), 'destroyed')),
    });
  }

  /** Binds `core`, trying random dynamic ports for port 0. */
  async #bind(core: CoreSocket, address: Uint8Array, port: number, where: OpWhere): Promise<void> {
    if (port !== 0) {
      const r = await core.bind(address, port);
      if (r < 0) throw codeError(r, where, 'bind');
      return;
    }
    let r = IOT_SOCKET_EADDRINUSE;
    for (let i = 0; i < PORT_TRIES && r === IOT_SOCKET_EADDRINUSE; i++) {
      r = await core.bind(address, randomEphemeralPort(this.#rng));
    }
    if (r < 0) throw codeError(r, where, 'bind');
  }

  #localFor(
    host: string | undefined,
    family: 4 | 6 | undefined,
    op: string,
  ): Promise<{ family: 4 | 6; bytes: Uint8Array }> | { family: 4 | 6; bytes: Uint8Array } {
    if (host === undefined) {
      const f = family ?? 4;
      return { family: f, bytes: anyAddress(f) };
    }
    return this.#resolveHost(host, family, undefined, op).then((bytes) => ({
      family: bytes.length === 16 ? 6 : 4,
      bytes,
    }));
  }

  /**
   * Listens for TCP connections. Port 0 picks a random free port from 49152-65535
   * (IoT Socket has no "any port" bind); the chosen one is `server.address.port`.
   */
  async listen(opts: ListenOptions): Promise<TcpServer> {
    const where0 = this.#where('listen', opts?.host);
    if (typeof opts !== 'object' || opts === null || !isPortNumber(opts.port, true)) {
      throw socketError('EINVAL', where0, 'bad-port');
    }
    const backlog = opts.backlog ?? DEFAULT_BACKLOG;
    if (!Number.isInteger(backlog) || backlog < 1) throw socketError('EINVAL', where0, 'bad-backlog');
    this.#checkOpen('listen');
    const local = await this.#localFor(opts.host, opts.family, 'listen');
    const tries = opts.port === 0 ? PORT_TRIES : 1;
    let lastError: unknown;
    for (let i = 0; i < tries; i++) {
      const port = opts.port === 0 ? randomEphemeralPort(this.#rng) : opts.port;
      const address = SocketAddress.fromBytes(local.bytes, port);
      const where = this.#where('listen', address.toString());
      const core = this.#createSocket(local.family, 1, where);
      let r = await core.bind(local.bytes, port);
      if (r === 0) r = await core.listen(backlog);
      if (r === 0 && this.#closed) r = IOT_SOCKET_ESOCK; // the network closed meanwhile
      if (r === 0) {
        const item: { ref: Closable | undefined } = { ref: undefined };
        const readiness = new Readiness(core, this.#scheduler);
        const server = new TcpServer(core, readiness, this.#context(item), address, (c, remote) =>
          this.#adoptTcp(c, undefined, remote),
        );
        return this.#track(item, server);
      }
      try {
        await core.close();
      } catch {
        // Nothing left to release.
      }
      lastError = codeError(r, where, 'listen');
      if (r !== IOT_SOCKET_EADDRINUSE) break;
    }
    throw lastError;
  }

  /** A bound UDP socket. */
  async udp(opts: UdpOptions = {}): Promise<UdpSocket> {
    const where0 = this.#where('udp', opts.host);
    if (opts.port !== undefined && !isPortNumber(opts.port, true)) throw socketError('EINVAL', where0, 'bad-port');
    this.#checkOpen('udp');
    const local = await this.#localFor(opts.host, opts.family, 'udp');
    const port = opts.port ?? 0;
    const tries = port === 0 ? PORT_TRIES : 1;
    let lastError: unknown;
    for (let i = 0; i < tries; i++) {
      const p = port === 0 ? randomEphemeralPort(this.#rng) : port;
      const address = SocketAddress.fromBytes(local.bytes, p);
      const where = this.#where('udp', address.toString());
      const core = this.#createSocket(local.family, 2, where);
      let r = await core.bind(local.bytes, p);
      if (r === 0 && this.#closed) r = IOT_SOCKET_ESOCK; // the network closed meanwhile
      if (r === 0) {
        const item: { ref: Closable | undefined } = { ref: undefined };
        const readiness = new Readiness(core, this.#scheduler);
        const socket = new UdpSocket(core, readiness, this.#context(item), address, (to, family, signal) =>
          this.#resolveTarget(to, family, signal, 'send'),
        );
        return this.#track(item, socket);
      }
      try {
        await core.close();
      } catch {
        // Nothing left to release.
      }
      lastError = codeError(r, where, 'bind');
      if (r !== IOT_SOCKET_EADDRINUSE) break;
    }
    throw lastError;
  }

  /**
   * Closes every socket and server this network created (TCP sockets gracefully) and
   * refuses new ones. The backend itself stays open (it may be shared).
   */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#open];
    this.#open.clear();
    await Promise.all(all.map((s) => s.close().catch(() => undefined)));
  }
}
