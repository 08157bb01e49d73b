/**
 * TCP over the host OS (`node:net`), as a non-blocking `CoreSocket`.
 *
 * - `bind` only records the reservation in the backend's TCP port table; the OS bind
 *   happens at `listen` (`server.listen` on that address/port) or at `connect`
 *   (`net.Socket.connect({ localAddress, localPort })`).
 * - An unbound socket that connects is bound implicitly to a random port of the IANA
 *   dynamic range (RFC 6056 Algorithm 1, RFC 6335), so its local endpoint is known at
 *   once and kept after a failed attempt (spec §5: the socket is BOUND again). A port
 *   the OS refuses (held by another process, TIME-WAIT) is replaced, a few times.
 * - The connection-establishment deadline (`connectTimeoutMs`) is enforced here
 *   through the injected `Scheduler` (Linux's own SYN retry budget is about 2 min).
 * - Nagle is off (`setNoDelay(true)`) on every socket: IoT traffic is small request /
 *   response messages, where Nagle plus delayed ACKs costs up to 200 ms per exchange.
 * - Keep-alive (`setKeepAlive`) uses the OS timing (Linux: 2 h idle, 75 s interval, 9 probes).
 * - IPv6 listeners are v6-only (`ipv6Only: true`): IPv4 and IPv6 are separate port spaces.
 * - Half-open connections: every Node socket (client and accepted) has `allowHalfOpen:
 *   true`, so the peer's FIN only ends the receiving direction; `send` goes on until
 *   `shutdown` or `close` (which sends our FIN), as the contract says. Node's own
 *   `autoDestroy` releases the handle once both directions ended.
 */
import net from 'node:net';
import type { Accepted, Af, Borrowed, CoreSocket, Endpoint, RecvInfo } from '../contract.ts';
import { CORE_EOF } from '../contract.ts';
import {
  IOT_SOCKET_EADDRINUSE,
  IOT_SOCKET_EAGAIN,
  IOT_SOCKET_EALREADY,
  IOT_SOCKET_ECONNABORTED,
  IOT_SOCKET_ECONNREFUSED,
  IOT_SOCKET_ECONNRESET,
  IOT_SOCKET_EINPROGRESS,
  IOT_SOCKET_EINVAL,
  IOT_SOCKET_EISCONN,
  IOT_SOCKET_ENOTCONN,
  IOT_SOCKET_ERROR,
  IOT_SOCKET_ETIMEDOUT,
} from '../../base/iot-constants.ts';
import type { CancelTimer } from '../../base/time.ts';
import { formatIp, ipv4Any, ipv6Any } from '../../base/ip-address.ts';
import type { Reservation } from '../port-table.ts';
import {
  callSafely,
  codedError,
  copyEndpoint,
  endpointOf,
  errorCode,
  isLocalAddress,
  publish,
  type HostEnv,
} from './host-common.ts';

type TcpState = 'created' | 'bound' | 'listening' | 'connecting' | 'connected' | 'closed';

/** How often an implicit port the OS refuses (EADDRINUSE) is replaced before giving up. */
const IMPLICIT_PORT_TRIES = 8;

/** Node error codes that mean the peer reset the connection (as opposed to a local failure). */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/** IoT code for a failed connection attempt (spec §6 rows 23-26). */
export function connectErrorCode(code: string | undefined): number {
  switch (code) {
    case 'ECONNREFUSED':
      return IOT_SOCKET_ECONNREFUSED;
    case 'ETIMEDOUT':
      return IOT_SOCKET_ETIMEDOUT;
    case 'EADDRINUSE':
      return IOT_SOCKET_EADDRINUSE;
    default:
      return IOT_SOCKET_ERROR; // EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ...
  }
}

/** IoT code for a failed `listen` (the OS bind). */
function listenErrorCode(code: string | undefined): number {
  switch (code) {
    case 'EADDRINUSE':
    case 'EACCES': // privileged port taken/forbidden: the port is not usable for us
      return IOT_SOCKET_EADDRINUSE;
    case 'EADDRNOTAVAIL':
      return IOT_SOCKET_EINVAL;
    default:
      return IOT_SOCKET_ERROR;
  }
}

/** A stream socket of the host backend. */
export class HostTcpSocket implements CoreSocket {
  readonly af: Af;
  readonly type = 1 as const;

  /** The last Node error (or deadline error) seen by this socket, for diagnostics. */
  lastError: unknown = undefined;

  private readonly env: HostEnv;
  private state: TcpState = 'created';
  private callback: (() => void) | undefined;

  // Local side.
  private reservation: Reservation | undefined;
  private implicitPort = false;
  private local: Endpoint | undefined; // actual local endpoint once connected

  // Connection.
  private sock: net.Socket | undefined;
  private remote: Endpoint | undefined;
  private outcome = IOT_SOCKET_ENOTCONN;
  private cancelDeadline: CancelTimer | undefined;
  private triedPorts = new Set<number>();
  private keepAlive = false;

  // Receive queue.
  private readonly rx: Buffer[] = [];
  private rxOffset = 0;
  private rxBytes = 0;
  private paused = false;

  // Connection end conditions.
  private peerFin = false;
  private peerReset = false;
  private aborted = false;
  private localShut = false;
  private wantDrain = false;

  // Listener.
  private server: net.Server | undefined;
  private backlog = 0;
  private readonly pending: HostTcpSocket[] = [];
  private listenerFailed = false;
  private settleListen: ((code: number) => void) | undefined;

  constructor(env: HostEnv, af: Af) {
    this.env = env;
    this.af = af;
  }

  /** Wraps a connection a listener of this backend accepted (already established). */
  static accepted(env: HostEnv, af: Af, sock: net.Socket): HostTcpSocket | undefined {
    const remote = endpointOf(sock.remoteAddress, sock.remotePort, af);
    if (remote === undefined) return undefined; // already gone
    const s = new HostTcpSocket(env, af);
    s.state = 'connected';
    s.outcome = 0;
    s.sock = sock;
    s.remote = remote;
    s.local = endpointOf(sock.localAddress, sock.localPort, af);
    s.attach(sock);
    try {
      sock.setNoDelay(true);
    } catch (error) {
      s.note('nodelay-failed', error);
    }
    return s;
  }

  onChange(callback: (() => void) | undefined): void {
    this.callback = callback;
  }

  bind(address: Uint8Array, port: number): number {
    if (this.state === 'closed') return IOT_SOCKET_ERROR;
    if (this.reservation !== undefined || this.state !== 'created') return IOT_SOCKET_EINVAL;
    if (!isLocalAddress(this.af, address)) return IOT_SOCKET_EINVAL;
    const r = this.env.tcpPorts.reserve(this.af, address, port);
    if (r === undefined) return IOT_SOCKET_EADDRINUSE;
    this.reservation = r;
    this.implicitPort = false;
    this.state = 'bound';
    return 0;
  }

  listen(backlog: number): Promise<number> | number {
    if (this.state === 'listening') return IOT_SOCKET_EINVAL;
    if (this.state !== 'bound' || this.reservation === undefined) return IOT_SOCKET_EINVAL;
    if (this.server !== undefined) return IOT_SOCKET_EALREADY; // a listen is already under way
    const r = this.reservation;
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false });
    this.server = server;
    this.backlog = Math.max(1, backlog);
    return new Promise<number>((resolve) => {
      let settled = false;
      const settle = (code: number): void => {
        if (settled) return;
        settled = true;
        this.settleListen = undefined;
        resolve(code);
      };
      this.settleListen = settle;
      server.on('error', (error) => {
        this.lastError = error;
        this.note('listen-error', error, 'listener');
        if (!settled) {
          if (this.server === server) this.server = undefined;
          closeServer(server);
          settle(listenErrorCode(errorCode(error)));
        } else if (this.server === server) {
          this.listenerFailed = true;
          this.notify();
        }
      });
      server.on('listening', () => {
        if (this.state === 'closed' || this.server !== server) {
          closeServer(server);
          settle(IOT_SOCKET_ERROR);
          return;
        }
        this.env.track(server);
        this.state = 'listening';
        settle(0);
      });
      server.on('connection', (sock: net.Socket) => this.onIncoming(server, sock));
      try {
        server.listen({ host: formatIp(r.address), port: r.port, backlog: this.backlog, ipv6Only: this.af === 2 });
      } catch (error) {
        this.lastError = error;
        this.server = undefined;
        settle(IOT_SOCKET_ERROR);
      }
    });
  }

  accept(): Accepted | number {
    if (this.state !== 'listening') return this.listenerFailed ? IOT_SOCKET_ECONNABORTED : IOT_SOCKET_EINVAL;
    const child = this.pending.shift();
    if (child === undefined) return this.listenerFailed ? IOT_SOCKET_ECONNABORTED : IOT_SOCKET_EAGAIN;
    const remote = child.remoteEndpoint();
    return { socket: child, remote: remote ?? { address: this.af === 1 ? ipv4Any() : ipv6Any(), port: 0 } };
  }

  connect(address: Uint8Array, port: number): number {
    switch (this.state) {
      case 'closed':
        return IOT_SOCKET_ERROR;
      case 'listening':
        return IOT_SOCKET_EINVAL;
      case 'connecting':
        return IOT_SOCKET_EALREADY;
      case 'connected':
        return IOT_SOCKET_EISCONN;
      default:
        break;
    }
    if (this.reservation === undefined) {
      const r = this.env.tcpPorts.reserveEphemeral(this.af, this.any(), this.env.rng);
      if (r === undefined) return IOT_SOCKET_EADDRINUSE;
      this.reservation = r;
      this.implicitPort = true;
    }
    this.remote = { address: Uint8Array.from(address), port };
    this.local = undefined;
    this.resetConnectionState();
    this.triedPorts = new Set([this.reservation.port]);
    this.state = 'connecting';
    this.outcome = IOT_SOCKET_EINPROGRESS;
    this.cancelDeadline = this.env.scheduler.setTimer(this.env.connectTimeoutMs, () => this.onDeadline());
    this.startAttempt();
    // The attempt may already have failed synchronously; the outcome tells.
    return this.state === 'connecting' ? IOT_SOCKET_EINPROGRESS : this.outcome;
  }

  connectResult(): number {
    return this.outcome;
  }

  recv(buf: Uint8Array, len: number, from?: RecvInfo): number {
    if (this.state === 'connecting') return IOT_SOCKET_EAGAIN;
    if (this.state !== 'connected') return IOT_SOCKET_ENOTCONN;
    if (this.peerReset) return IOT_SOCKET_ECONNRESET;
    if (this.rxBytes > 0) {
      if (len === 0) return 0;
      const n = this.take(buf, len);
      if (from !== undefined && this.remote !== undefined) {
        from.address = Uint8Array.from(this.remote.address);
        from.port = this.remote.port;
      }
      return n;
    }
    if (this.peerFin) return CORE_EOF;
    if (this.aborted) return IOT_SOCKET_ECONNABORTED;
    return IOT_SOCKET_EAGAIN;
  }

  send(buf: Uint8Array, len: number): number {
    const room = this.sendRoom(len);
    if (room <= 0 || len === 0) return room;
    const sock = this.sock as net.Socket;
    const n = Math.min(len, room);
    try {
      // Buffer.from(Uint8Array) copies: the caller may reuse `buf` at once.
      if (!sock.write(Buffer.from(buf.subarray(0, n)))) this.wantDrain = true;
    } catch (error) {
      this.lastError = error;
      this.note('write-failed', error);
      return IOT_SOCKET_ERROR;
    }
    return n;
  }

  /**
   * Zero-copy send: writes a view of `buf` and releases it in Node's write callback
   * (called once libuv handed the bytes to the kernel, or the socket was destroyed).
   */
  sendBorrowed(buf: Uint8Array, len: number): Borrowed | number {
    const room = this.sendRoom(len);
    if (room <= 0 || len === 0) return room;
    const sock = this.sock as net.Socket;
    const n = Math.min(len, room);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    try {
      if (!sock.write(Buffer.from(buf.buffer, buf.byteOffset, n), () => release())) this.wantDrain = true;
    } catch (error) {
      this.lastError = error;
      this.note('write-failed', error);
      return IOT_SOCKET_ERROR;
    }
    return { taken: n, released };
  }

  /**
   * The state checks shared by `send` and `sendBorrowed`: the room left in the send
   * buffer (> 0), 0 for a zero-length poll with room, or a negative code. The peer's
   * FIN does not stop sending (half-open); its RST does.
   */
  private sendRoom(len: number): number {
    if (this.state === 'connecting') return IOT_SOCKET_EAGAIN;
    if (this.state !== 'connected') return IOT_SOCKET_ENOTCONN;
    if (this.peerReset) return IOT_SOCKET_ECONNRESET;
    if (this.aborted) return IOT_SOCKET_ECONNABORTED;
    const sock = this.sock;
    if (sock === undefined || sock.destroyed) return IOT_SOCKET_ECONNABORTED;
    if (this.localShut) return IOT_SOCKET_ENOTCONN; // sending direction shut down
    const room = this.env.sendBufferBytes - sock.writableLength;
    if (room <= 0) {
      this.wantDrain = true;
      return IOT_SOCKET_EAGAIN;
    }
    return len === 0 ? 0 : room;
  }

  shutdown(): number {
    if (this.state !== 'connected' || this.sock === undefined) return IOT_SOCKET_ENOTCONN;
    if (this.localShut) return 0;
    this.localShut = true;
    try {
      this.sock.end();
    } catch (error) {
      this.lastError = error;
      return IOT_SOCKET_ERROR;
    }
    return 0;
  }

  peerClosed(): boolean {
    return this.peerFin || this.peerReset;
  }

  localEndpoint(): Endpoint | undefined {
    if (this.local !== undefined) return copyEndpoint(this.local);
    const r = this.reservation;
    return r === undefined ? undefined : { address: Uint8Array.from(r.address), port: r.port };
  }

  remoteEndpoint(): Endpoint | undefined {
    return this.state === 'connected' ? copyEndpoint(this.remote) : undefined;
  }

  setKeepAlive(on: boolean): number {
    this.keepAlive = on;
    if (this.sock !== undefined && !this.sock.destroyed) {
      try {
        this.sock.setKeepAlive(on);
      } catch (error) {
        this.lastError = error;
        return IOT_SOCKET_ERROR;
      }
    }
    return 0;
  }

  close(abort = false): number {
    if (this.state === 'closed') return 0;
    const prev = this.state;
    this.state = 'closed';
    this.callback = undefined;
    this.cancelDeadline?.();
    this.cancelDeadline = undefined;

    // Listener (or a listen still under way): stop it and reset unaccepted connections.
    if (this.server !== undefined) {
      const server = this.server;
      this.server = undefined;
      this.settleListen?.(IOT_SOCKET_ERROR);
      if (prev === 'listening') closeServer(server); // else the 'listening' handler closes it
    }
    for (const child of this.pending.splice(0)) child.close(true);

    const sock = this.sock;
    this.sock = undefined;
    if (sock !== undefined) {
      const unread = this.rxBytes > 0;
      if (prev !== 'connected' || sock.destroyed || this.peerReset || this.aborted) {
        destroyQuietly(sock);
      } else if (abort || unread) {
        resetQuietly(sock); // RST (RFC 1122 §4.2.2.13: unread data is not acknowledged by a FIN)
      } else {
        this.lingerClose(sock);
      }
    }
    this.rx.length = 0;
    this.rxBytes = 0;
    this.rxOffset = 0;
    if (this.reservation !== undefined) this.env.tcpPorts.release(this.reservation);
    this.reservation = undefined;
    this.env.released(this);
    return 0;
  }

  // ---------------------------------------------------------------- internals

  private any(): Uint8Array {
    return this.af === 1 ? ipv4Any() : ipv6Any();
  }

  private notify(): void {
    callSafely(this.env.name, this.callback);
  }

  private note(event: string, error: unknown, kind = 'tcp'): void {
    publish('error', {
      backend: this.env.name,
      kind,
      event,
      error,
      ...(this.remote !== undefined ? { remote: `${formatIp(this.remote.address)}:${this.remote.port}` } : {}),
      ...(this.reservation !== undefined ? { local: `${formatIp(this.reservation.address)}:${this.reservation.port}` } : {}),
    });
  }

  private resetConnectionState(): void {
    this.rx.length = 0;
    this.rxBytes = 0;
    this.rxOffset = 0;
    this.paused = false;
    this.peerFin = false;
    this.peerReset = false;
    this.aborted = false;
    this.localShut = false;
    this.wantDrain = false;
  }

  /** Starts one OS connection attempt from the reserved local address/port. */
  private startAttempt(): void {
    const r = this.reservation;
    const remote = this.remote;
    if (r === undefined || remote === undefined) {
      this.finishAttempt(IOT_SOCKET_ERROR);
      return;
    }
    const sock = new net.Socket({ allowHalfOpen: true });
    this.sock = sock;
    this.env.track(sock);
    this.attach(sock);
    try {
      sock.setNoDelay(true);
      if (this.keepAlive) sock.setKeepAlive(true);
      sock.connect({
        host: formatIp(remote.address),
        port: remote.port,
        localAddress: formatIp(r.address),
        localPort: r.port,
        family: this.af === 1 ? 4 : 6,
      });
    } catch (error) {
      this.lastError = error;
      this.finishAttempt(IOT_SOCKET_ERROR);
    }
  }

  /** Handlers of a connection's Node socket; each ignores events of a socket it no longer owns. */
  private attach(sock: net.Socket): void {
    sock.on('connect', () => {
      if (this.sock !== sock || this.state !== 'connecting') return;
      this.cancelDeadline?.();
      this.cancelDeadline = undefined;
      this.state = 'connected';
      this.outcome = 0;
      this.local = endpointOf(sock.localAddress, sock.localPort, this.af);
      publish('connect', { backend: this.env.name, kind: 'tcp', event: 'connected', ...this.describe() });
      this.notify();
    });
    sock.on('data', (chunk: Buffer) => {
      if (this.sock !== sock || this.state !== 'connected' || this.peerReset) return;
      this.rx.push(chunk);
      this.rxBytes += chunk.length;
      if (this.rxBytes >= this.env.recvBufferBytes && !this.paused) {
        this.paused = true;
        sock.pause();
      }
      this.notify();
    });
    sock.on('end', () => {
      if (this.sock !== sock || this.state !== 'connected') return;
      this.peerFin = true;
      this.notify();
    });
    sock.on('drain', () => {
      if (this.sock !== sock || !this.wantDrain) return;
      this.wantDrain = false;
      this.notify();
    });
    // Every 'error' is handled here, including ones after close (the handler stays).
    sock.on('error', (error: Error) => this.onSocketError(sock, error));
    sock.on('close', () => {
      if (this.sock !== sock) return;
      if (this.state === 'connecting') {
        this.finishAttempt(IOT_SOCKET_ERROR);
      } else if (this.state === 'connected' && !this.peerReset && !this.aborted && !this.peerFin) {
        this.aborted = true;
        this.notify();
      } else if (this.state === 'connected') {
        this.notify();
      }
    });
  }

  private onSocketError(sock: net.Socket, error: Error): void {
    if (this.sock !== sock) return; // a socket we already gave up (closed, lingering, replaced)
    this.lastError = error;
    const code = errorCode(error);
    if (this.state === 'connecting') {
      if (code === 'EADDRINUSE' && this.implicitPort && this.triedPorts.size < IMPLICIT_PORT_TRIES) {
        // The OS holds our random port (another process, TIME-WAIT): take another one.
        const next = this.env.tcpPorts.reserveEphemeral(this.af, this.any(), this.env.rng, this.triedPorts);
        if (next !== undefined) {
          this.env.tcpPorts.release(this.reservation);
          this.reservation = next;
          this.triedPorts.add(next.port);
          this.sock = undefined;
          destroyQuietly(sock);
          this.startAttempt();
          return;
        }
      }
      this.finishAttempt(connectErrorCode(code));
      return;
    }
    if (this.state === 'connected') {
      this.note(code !== undefined && RESET_CODES.has(code) ? 'reset' : 'aborted', error);
      if (code !== undefined && RESET_CODES.has(code)) {
        // RST: queued data is discarded (RFC 793 §3.4), recv reports ECONNRESET at once.
        this.peerReset = true;
        this.rx.length = 0;
        this.rxBytes = 0;
        this.rxOffset = 0;
      } else {
        this.aborted = true; // keep-alive/retransmission timeout, unreachable, ...: lost locally
      }
      this.notify();
    }
  }

  private onDeadline(): void {
    this.cancelDeadline = undefined;
    if (this.state !== 'connecting') return;
    this.lastError = codedError('ETIMEDOUT', `connect timed out after ${this.env.connectTimeoutMs} ms`);
    this.finishAttempt(IOT_SOCKET_ETIMEDOUT);
  }

  /** Ends a failed attempt: the socket is bound again (keeping its port) and may connect again. */
  private finishAttempt(code: number): void {
    this.cancelDeadline?.();
    this.cancelDeadline = undefined;
    const sock = this.sock;
    this.sock = undefined;
    if (sock !== undefined) destroyQuietly(sock);
    this.outcome = code;
    this.state = 'bound';
    publish('connect', { backend: this.env.name, kind: 'tcp', event: 'failed', error: this.lastError, code, ...this.describe() });
    this.notify();
  }

  private describe(): { local?: string; remote?: string } {
    const local = this.localEndpoint();
    return {
      ...(local !== undefined ? { local: `${formatIp(local.address)}:${local.port}` } : {}),
      ...(this.remote !== undefined ? { remote: `${formatIp(this.remote.address)}:${this.remote.port}` } : {}),
    };
  }

  /** Copies up to `len` queued bytes into `buf` (across chunks); resumes reading when below the limit. */
  private take(buf: Uint8Array, len: number): number {
    let n = 0;
    while (n < len) {
      const chunk = this.rx[0];
      if (chunk === undefined) break;
      const avail = chunk.length - this.rxOffset;
      const k = Math.min(avail, len - n);
      buf.set(chunk.subarray(this.rxOffset, this.rxOffset + k), n);
      n += k;
      if (k === avail) {
        this.rx.shift();
        this.rxOffset = 0;
      } else {
        this.rxOffset += k;
      }
    }
    this.rxBytes -= n;
    if (this.paused && this.rxBytes < this.env.recvBufferBytes) {
      this.paused = false;
      try {
        this.sock?.resume();
      } catch (error) {
        this.note('resume-failed', error);
      }
    }
    return n;
  }

  /**
   * Graceful close: FIN after the queued data, then the handle is released once the
   * FIN is out ('finish'); the kernel finishes the close (FIN-WAIT, TIME-WAIT) on its
   * own. A linger timer destroys the socket if the data cannot be flushed in time.
   */
  private lingerClose(sock: net.Socket): void {
    if (this.paused) sock.resume(); // keep reading (and discarding) so the stream can end
    const cancel = this.env.scheduler.setTimer(this.env.lingerMs, () => resetQuietly(sock));
    sock.once('close', cancel);
    if (sock.writableFinished) {
      destroyQuietly(sock);
      return;
    }
    sock.once('finish', () => destroyQuietly(sock));
    try {
      if (!this.localShut) sock.end();
    } catch {
      destroyQuietly(sock);
    }
  }

  /** A connection arrived on the listener. */
  private onIncoming(server: net.Server, sock: net.Socket): void {
    sock.on('error', () => undefined); // until (unless) wrapped: errors of a rejected connection
    if (this.server !== server || this.state !== 'listening') {
      resetQuietly(sock);
      return;
    }
    if (this.pending.length >= this.backlog) {
      publish('drop', { backend: this.env.name, kind: 'listener', event: 'backlog-full', remote: `${sock.remoteAddress}:${sock.remotePort}` });
      resetQuietly(sock);
      return;
    }
    const child = HostTcpSocket.accepted(this.env, this.af, sock);
    if (child === undefined) {
      destroyQuietly(sock);
      return;
    }
    if (!this.env.adopt(child)) {
      publish('drop', { backend: this.env.name, kind: 'listener', event: 'max-sockets', remote: `${sock.remoteAddress}:${sock.remotePort}` });
      child.state = 'closed';
      resetQuietly(sock);
      return;
    }
    this.env.track(sock);
    if (this.keepAlive) child.setKeepAlive(true);
    this.pending.push(child);
    this.notify();
  }
}

function destroyQuietly(sock: net.Socket): void {
  try {
    sock.destroy();
  } catch {
    // destroy does not throw in practice; nothing more to do
  }
}

/**
 * Aborts a connection with RST (`resetAndDestroy`), or just destroys it if that is not
 * possible: while connecting, and while the shutdown of `end()` is in flight (ended, no
 * write left before it, not finished), where Node's reset fails with EINVAL and then
 * never closes the handle (no 'close', the descriptor stays open).
 */
function resetQuietly(sock: net.Socket): void {
  try {
    const shuttingDown = sock.writableEnded && !sock.writableFinished && sock.writableLength === 0;
    if (sock.connecting || sock.destroyed || shuttingDown) sock.destroy();
    else sock.resetAndDestroy();
  } catch {
    destroyQuietly(sock);
  }
}

function closeServer(server: net.Server): void {
  try {
    server.close();
  } catch {
    // not running: nothing to close
  }
}
