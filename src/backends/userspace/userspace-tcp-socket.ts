/**
 * A stream `CoreSocket` over the userspace stack's TCP layer (`src/stack/tcp/`).
 *
 * Semantics as the contract (`../contract.ts`) and the host backend's TCP socket:
 * - `bind` reserves a local port (`EADDRINUSE` if a listener or connection has it);
 *   `connect` picks a random ephemeral port (RFC 6056) when unbound, starts the
 *   handshake and returns `EINPROGRESS`; the backend's connection deadline (default
 *   15 s) ends an attempt with `ETIMEDOUT`; an RST answer is `ECONNREFUSED`.
 * - `recv` copies from the receive ring (the TCB opens the window as the ring drains);
 *   `CORE_EOF` after the peer's FIN once drained; `ECONNRESET` after an RST;
 *   `ECONNABORTED` when the connection was lost locally (retransmission or keep-alive
 *   failure, user timeout).
 * - `send` copies into the send ring (the TCP send buffer): bytes taken, or `EAGAIN`
 *   when full. Sending after the peer's FIN is allowed (half-open) until `shutdown`.
 * - `close` sends FIN after the queued data (RST when unread data remains, RFC 1122
 *   4.2.2.13, or on `abort`); the connection finishes in the stack (FIN exchange,
 *   TIME-WAIT) after the socket is gone.
 * - Readiness: the stack calls the change callback after the poll in which something
 *   changed (never from inside it).
 */
import { ipv4Mapped, isIpv4Mapped, isUnspecified } from '../../base/ip-address.ts';
import type { Accepted, Af, CoreSocket, Endpoint, RecvInfo } from '../contract.ts';
import { CORE_EOF } from '../contract.ts';
import {
  IOT_SOCKET_EADDRINUSE, IOT_SOCKET_EAGAIN, IOT_SOCKET_ECONNABORTED, IOT_SOCKET_ECONNRESET, IOT_SOCKET_EINPROGRESS,
  IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTCONN, IOT_SOCKET_ETIMEDOUT,
} from '../../base/iot-constants.ts';
import type { CancelTimer, Scheduler } from '../../base/time.ts';
import { ip4FromBytes, ip4ToBytes } from '../../stack/ipv4-addr.ts';
import type { TcpAddress, TcpConn, TcpLayer, TcpListener } from '../../stack/tcp/tcp-layer.ts';
import type { UserspaceEnv } from './userspace-udp-socket.ts';

export interface UserspaceTcpEnv extends UserspaceEnv {
  readonly tcp: TcpLayer;
  readonly scheduler: Scheduler;
  readonly connectTimeoutMs: number;
  /** Registers a socket created by accept (for the backend's bookkeeping). */
  adopt(socket: CoreSocket): void;
}

export class UserspaceTcpSocket implements CoreSocket {
  readonly af: Af;
  readonly type = 1 as const;
  private readonly env: UserspaceTcpEnv;
  private conn: TcpConn | undefined;
  private listener: TcpListener | undefined;
  /** Bound local address: a uint32 (IPv4 socket) or 16 bytes (IPv6 socket; `::` = any). */
  private localIp: TcpAddress = 0;
  private localPort = 0;
  private callback: (() => void) | undefined;
  private outcome = 0;
  private cancelDeadline: CancelTimer | undefined;
  private closed = false;
  private reserved = false;
  /** SO_KEEPALIVE set before there is a connection: applied when it is made. */
  private keepAlive = false;

  /** `af` 2: an IPv6 socket (v6-only listeners, as the host backend's; a connect to an IPv4-mapped address goes over IPv4). */
  constructor(env: UserspaceTcpEnv, conn?: TcpConn, af: Af = 1) {
    this.env = env;
    this.af = af;
    this.localIp = af === 2 ? new Uint8Array(16) : 0;
    if (conn !== undefined) this.attach(conn);
  }

  private attach(conn: TcpConn): void {
    this.conn = conn;
    this.localIp = this.af === 1 ? conn.localIp : conn.localIp6.length === 16 ? conn.localIp6 : ipv4Mapped(ip4ToBytes(conn.localIp));
    this.localPort = conn.localPort;
    conn.onChange = () => this.callback?.();
  }

  /** A connection's address in this socket's family (4 bytes, or 16 with IPv4 mapped). */
  private addressOf(c: TcpConn, local: boolean): Uint8Array {
    if (c.family === 6) return (local ? c.localIp6 : c.remoteIp6).slice();
    const v4 = local ? c.localIp : c.remoteIp;
    return this.af === 2 ? ipv4Mapped(ip4ToBytes(v4)) : ip4ToBytes(v4);
  }

  onChange(callback: (() => void) | undefined): void {
    this.callback = callback;
  }

  bind(address: Uint8Array, port: number): number {
    let ip: TcpAddress;
    if (this.af === 2) {
      if (address.length !== 16) return IOT_SOCKET_EINVAL;
      const local = isUnspecified(address) || (isIpv4Mapped(address) ? this.env.stack.isLocalAddress(ip4FromBytes(address, 12)) : this.env.stack.isLocalAddress6(address));
      if (!local) return IOT_SOCKET_EINVAL;
      ip = address.slice();
    } else {
      if (address.length !== 4) return IOT_SOCKET_EINVAL;
      ip = ip4FromBytes(address);
      if (ip !== 0 && !this.env.stack.isLocalAddress(ip)) return IOT_SOCKET_EINVAL;
    }
    if (!this.env.tcp.reservePort(port, this.af === 2 ? 6 : 4)) return IOT_SOCKET_EADDRINUSE;
    this.localIp = ip;
    this.localPort = port;
    this.reserved = true;
    return 0;
  }

  /** Drops the bind reservation (the port now belongs to a listener or connection, or is free). */
  private unreserve(): void {
    if (this.reserved) this.env.tcp.releasePort(this.localPort, this.af === 2 ? 6 : 4);
    this.reserved = false;
  }

  listen(backlog: number): number {
    this.unreserve();
    // IPv6 sockets are v6-only, as on the host backend: IPv4 and IPv6 are separate port spaces.
    const l = this.env.tcp.listen(this.localIp, this.localPort, backlog, { v6only: this.af === 2 });
    if (typeof l === 'number') return l;
    this.listener = l;
    l.onChange = () => this.callback?.();
    return 0;
  }

  accept(): Accepted | number {
    const l = this.listener;
    if (l === undefined || l.closed) return IOT_SOCKET_ECONNABORTED;
    const c = this.env.tcp.accept(l);
    if (c === undefined) return IOT_SOCKET_EAGAIN;
    const socket = new UserspaceTcpSocket(this.env, c, this.af);
    this.env.adopt(socket);
    return { socket, remote: { address: this.addressOf(c, false), port: c.remotePort } };
  }

  connect(address: Uint8Array, port: number): number {
    if (address.length !== (this.af === 2 ? 16 : 4)) return IOT_SOCKET_EINVAL;
    this.unreserve();
    const c = this.env.tcp.connect(this.env.now(), this.af === 2 ? address.slice() : ip4FromBytes(address), port, this.localIp, this.localPort);
    if (typeof c === 'number') return c;
    this.attach(c);
    if (this.keepAlive) c.tcb.setKeepAlive(true, this.env.now());
    this.outcome = IOT_SOCKET_EINPROGRESS;
    this.cancelDeadline = this.env.scheduler.setTimer(this.env.connectTimeoutMs, () => {
      if (this.conn === c && this.outcome === IOT_SOCKET_EINPROGRESS && !c.tcb.isSynchronized) {
        c.tcb.abort();
        c.tcb.error = IOT_SOCKET_ETIMEDOUT;
        this.env.tcp.touch(c);
        this.callback?.();
      }
    });
    return IOT_SOCKET_EINPROGRESS;
  }

  connectResult(): number {
    const c = this.conn;
    if (c === undefined) return this.outcome !== 0 ? this.outcome : IOT_SOCKET_ENOTCONN;
    const t = c.tcb;
    if (t.state === 'SYN-SENT' || t.state === 'SYN-RECEIVED') return IOT_SOCKET_EINPROGRESS;
    if (t.state === 'CLOSED' && t.error !== undefined && this.outcome === IOT_SOCKET_EINPROGRESS) {
      // The attempt failed: report it, and be BOUND again (a new connect may follow).
      this.settleDeadline();
      this.outcome = t.error;
      this.conn = undefined;
      return this.outcome;
    }
    this.settleDeadline();
    if (this.outcome === IOT_SOCKET_EINPROGRESS) this.outcome = 0;
    return this.outcome;
  }

  private settleDeadline(): void {
    this.cancelDeadline?.();
    this.cancelDeadline = undefined;
  }

  recv(buf: Uint8Array, len: number, from?: RecvInfo): number {
    const c = this.conn;
    if (c === undefined) return IOT_SOCKET_ENOTCONN;
    const t = c.tcb;
    if (t.state === 'SYN-SENT' || t.state === 'SYN-RECEIVED') return IOT_SOCKET_EAGAIN;
    if (t.readable > 0) {
      if (len === 0) return 0;
      const n = t.recv(len === buf.length ? buf : buf.subarray(0, len));
      this.env.tcp.touch(c); // a window update may be due
      if (from !== undefined) {
        from.address = this.addressOf(c, false);
        from.port = c.remotePort;
      }
      return n;
    }
    if (t.error === IOT_SOCKET_ECONNRESET) return IOT_SOCKET_ECONNRESET;
    if (t.error !== undefined) return IOT_SOCKET_ECONNABORTED;
    if (t.eof) return CORE_EOF;
    if (t.state === 'CLOSED') return IOT_SOCKET_ECONNABORTED;
    return IOT_SOCKET_EAGAIN;
  }

  send(buf: Uint8Array, len: number): number {
    const c = this.conn;
    if (c === undefined) return IOT_SOCKET_ENOTCONN;
    const t = c.tcb;
    if (t.state === 'SYN-SENT' || t.state === 'SYN-RECEIVED') return IOT_SOCKET_EAGAIN;
    if (t.error === IOT_SOCKET_ECONNRESET) return IOT_SOCKET_ECONNRESET;
    if (t.error !== undefined || t.state === 'CLOSED') return IOT_SOCKET_ECONNABORTED;
    if (t.sendShut) return IOT_SOCKET_ENOTCONN;
    if (!t.maySend) return IOT_SOCKET_ECONNRESET;
    if (len === 0) return t.canSend ? 0 : IOT_SOCKET_EAGAIN;
    const n = t.send(len === buf.length ? buf : buf.subarray(0, len));
    if (n === 0) return IOT_SOCKET_EAGAIN;
    this.env.tcp.touch(c);
    return n;
  }

  peerClosed(): boolean {
    return this.conn?.tcb.peerClosed ?? false;
  }

  shutdown(): number {
    const c = this.conn;
    if (c === undefined || !c.tcb.isSynchronized) return IOT_SOCKET_ENOTCONN;
    c.tcb.close();
    this.env.tcp.touch(c);
    return 0;
  }

  localEndpoint(): Endpoint | undefined {
    if (this.conn !== undefined) return { address: this.addressOf(this.conn, true), port: this.conn.localPort };
    if (this.localPort !== 0) {
      const a = this.localIp;
      return { address: typeof a === 'number' ? ip4ToBytes(a) : a.slice(), port: this.localPort };
    }
    return undefined;
  }

  remoteEndpoint(): Endpoint | undefined {
    const c = this.conn;
    return c === undefined ? undefined : { address: this.addressOf(c, false), port: c.remotePort };
  }

  setKeepAlive(on: boolean): number {
    this.keepAlive = on;
    const c = this.conn;
    if (c !== undefined) {
      c.tcb.setKeepAlive(on, this.env.now());
      this.env.tcp.touch(c);
    }
    return 0;
  }

  close(abort = false): number {
    if (this.closed) return 0;
    this.closed = true;
    this.settleDeadline();
    this.unreserve();
    this.callback = undefined;
    if (this.listener !== undefined) {
      this.env.tcp.closeListener(this.env.now(), this.listener);
      this.listener.onChange = undefined;
    }
    const c = this.conn;
    if (c !== undefined) {
      c.onChange = undefined;
      // Unread data, or an abort: RST (RFC 1122 4.2.2.13); else FIN after queued data.
      if (abort || c.tcb.readable > 0) c.tcb.abort();
      else c.tcb.close();
      c.tcb.orphan(this.env.now());
      this.env.tcp.touch(c);
    }
    this.env.released(this);
    return 0;
  }
}

