/**
 * `UdpSocket`: a bound UDP socket of the idiomatic API.
 */
import type { CoreSocket, Endpoint, RecvInfo } from '../backends/contract.ts';
import { IOT_SOCKET_EAGAIN } from '../base/iot-constants.ts';
import type { SocketError } from '../base/socket-error.ts';
import type { OpWhere, SocketContext } from './idiomatic-support.ts';
import { checkTimeout, closeCore, codeError, coreError, socketError, toBytes, untilClosed, waitChange } from './idiomatic-support.ts';
import type { Readiness} from './readiness.ts';
import { deadlineAfter } from './readiness.ts';
import { SocketAddress } from './socket-address.ts';

/** One received datagram and its source. */
export interface Datagram {
  /** The payload. */
  readonly data: Uint8Array;
  /** Who sent it. */
  readonly from: SocketAddress;
}

/** Options of `UdpSocket.recv`. */
export interface RecvOptions {
  /** Cancels the wait (rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Rejects with `SocketError('ETIMEDOUT')` when no datagram came in time (0 = no limit). */
  timeoutMs?: number | undefined;
}

/** Options of `UdpSocket.send`. */
export interface SendOptions {
  /** Cancels the wait for room (rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Rejects with `SocketError('ETIMEDOUT')` when the datagram could not be queued in time. */
  timeoutMs?: number | undefined;
}

/** Largest datagram payload (IPv4: 65535 - 20 - 8). */
export const MAX_DATAGRAM = 65507;

/** Turns a destination (`'host:port'` text, possibly a host name, or an address) into an address. */
export type Resolve = (to: string | SocketAddress, family: 4 | 6, signal?: AbortSignal) => Promise<SocketAddress>;

/**
 * A UDP socket, always bound (`Network.udp` picks a random port from 49152-65535
 * unless one is given). `send()` sends one datagram (to `to`, else to the connected
 * peer); `recv()` returns the next datagram; async iteration yields datagrams until
 * the socket is closed (then ends quietly). `connect(to)` sets a default destination
 * and a receive filter (other sources are dropped); `disconnect()` clears both.
 * Zero-length datagrams cannot be sent (the backend contract reserves length 0 for
 * readiness polls): `send` rejects them with `EINVAL`.
 */
export class UdpSocket implements AsyncIterable<Datagram> {
  readonly #core: CoreSocket;
  readonly #readiness: Readiness;
  readonly #ctx: SocketContext;
  readonly #resolve: Resolve;
  readonly #family: 4 | 6;
  #address: SocketAddress;
  #remote: SocketAddress | undefined;
  #scratch: Uint8Array | undefined;
  #closed = false;
  #closePromise: Promise<void> | undefined;

  /** @internal Wraps a bound core socket. Applications get sockets from `Network.udp`. */
  constructor(core: CoreSocket, readiness: Readiness, ctx: SocketContext, bound: SocketAddress, resolve: Resolve) {
    this.#core = core;
    this.#readiness = readiness;
    this.#ctx = ctx;
    this.#resolve = resolve;
    this.#family = core.af === 2 ? 6 : 4;
    this.#address = bound;
    this.#refreshAddress();
  }

  /** The local address (`0.0.0.0:port` for a wildcard bind). */
  get address(): SocketAddress {
    return this.#address;
  }

  /** The connected peer, if any. */
  get remoteAddress(): SocketAddress | undefined {
    return this.#remote;
  }

  /** 4 or 6. */
  get family(): 4 | 6 {
    return this.#family;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #refreshAddress(): void {
    const local = this.#core.localEndpoint();
    if (local !== undefined) this.#address = SocketAddress.fromBytes(local.address, local.port);
  }

  #where(op: string, address?: SocketAddress): OpWhere {
    return { op, backend: this.#ctx.backend, address: (address ?? this.#address).toString() };
  }

  #closedError(op: string): SocketError {
    return socketError('ESOCK', this.#where(op), 'closed');
  }

  #checkOpen(op: string): void {
    if (this.#closed) throw this.#closedError(op);
  }

  /** Sends one datagram to `to`, or to the connected peer when `to` is omitted. */
  async send(data: Uint8Array | string, to?: string | SocketAddress, opts: SendOptions = {}): Promise<void> {
    const where0 = this.#where('send');
    const bytes = toBytes(data, where0);
    checkTimeout(opts.timeoutMs, where0);
    opts.signal?.throwIfAborted();
    this.#checkOpen('send');
    const deadline = deadlineAfter(this.#ctx.scheduler, opts.timeoutMs);
    let dest: Endpoint | undefined;
    let where = where0;
    if (to !== undefined) {
      const target = await this.#resolve(to, this.#family, opts.signal);
      where = this.#where('send', target);
      if (target.family !== this.#family) throw socketError('EINVAL', where, 'family-mismatch');
      dest = { address: target.bytes, port: target.port };
    } else if (this.#remote === undefined) {
      throw socketError('ENOTCONN', where, 'no-destination');
    } else {
      where = this.#where('send', this.#remote);
    }
    if (bytes.length === 0) throw socketError('EINVAL', where, 'empty-datagram');
    for (;;) {
      this.#checkOpen('send');
      const n = dest !== undefined ? this.#core.send(bytes, bytes.length, dest) : this.#core.send(bytes, bytes.length);
      if (n > 0) return;
      if (n !== IOT_SOCKET_EAGAIN && n !== 0) throw coreError(this.#core, n, where);
      await waitChange(this.#readiness, deadline, opts.signal, where, () => this.#closedError('send'));
    }
  }

  /** The next datagram (up to 65507 bytes) and its source. */
  async recv(opts: RecvOptions = {}): Promise<Datagram> {
    const where = this.#where('recv');
    checkTimeout(opts.timeoutMs, where);
    opts.signal?.throwIfAborted();
    this.#checkOpen('recv');
    const deadline = deadlineAfter(this.#ctx.scheduler, opts.timeoutMs);
    for (;;) {
      this.#checkOpen('recv');
      const buf = (this.#scratch ??= new Uint8Array(MAX_DATAGRAM));
      const info: RecvInfo = { address: undefined, port: 0 };
      const n = this.#core.recv(buf, buf.length, info);
      if (n >= 0) {
        const fromBytes = info.address ?? this.#remote?.bytes ?? new Uint8Array(this.#family === 6 ? 16 : 4);
        const from = SocketAddress.fromBytes(fromBytes, info.address !== undefined ? info.port : (this.#remote?.port ?? 0));
        return { data: buf.slice(0, n), from };
      }
      if (n !== IOT_SOCKET_EAGAIN) throw coreError(this.#core, n, where);
      await waitChange(this.#readiness, deadline, opts.signal, where, () => this.#closedError('recv'));
    }
  }

  /**
   * Sets the default destination and the receive filter (datagrams from other
   * sources are dropped). Host names are resolved.
   */
  async connect(to: string | SocketAddress, opts: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    this.#checkOpen('connect');
    const target = await this.#resolve(to, this.#family, opts.signal);
    const where = this.#where('connect', target);
    if (target.family !== this.#family) throw socketError('EINVAL', where, 'family-mismatch');
    if (target.port === 0 || target.isUnspecified) throw socketError('EINVAL', where, 'bad-destination');
    this.#checkOpen('connect');
    const r = await this.#core.connect(target.bytes, target.port);
    if (r < 0) throw codeError(r, where);
    this.#remote = target;
    this.#refreshAddress();
  }

  /** Clears the default destination and the receive filter. */
  async disconnect(): Promise<void> {
    this.#checkOpen('disconnect');
    const r = await this.#core.connect(new Uint8Array(this.#family === 6 ? 16 : 4), 0);
    if (r < 0) throw codeError(r, this.#where('disconnect'));
    this.#remote = undefined;
  }

  /** Closes the socket; pending calls reject with `ESOCK` (reason `'closed'`). */
  close(): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    this.#closed = true;
    this.#closePromise = closeCore(this.#core, this.#readiness, this.#ctx);
    return this.#closePromise;
  }

  /** Datagrams until the socket is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<Datagram> {
    yield* untilClosed(() => this.recv(), () => this.#closed);
  }
}
