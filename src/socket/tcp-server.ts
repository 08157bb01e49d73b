/**
 * `TcpServer`: a listening TCP socket of the idiomatic API. Connections are taken
 * with `accept()` or by async iteration (`for await (const socket of server)`).
 */
import type { CoreSocket } from '../backends/contract.ts';
import { IOT_SOCKET_EAGAIN } from '../base/iot-constants.ts';
import type { SocketError } from '../base/socket-error.ts';
import type { OpWhere, SocketContext } from './idiomatic-support.ts';
import { checkTimeout, closeCore, codeError, socketError, untilClosed, waitChange } from './idiomatic-support.ts';
import type { Readiness} from './readiness.ts';
import { deadlineAfter } from './readiness.ts';
import { SocketAddress } from './socket-address.ts';
import type { TcpSocket } from './tcp-socket.ts';

/** Options of `TcpServer.accept`. */
export interface AcceptOptions {
  /** Cancels the wait (rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Rejects with `SocketError('ETIMEDOUT')` when no connection came in time (0 = no limit). */
  timeoutMs?: number | undefined;
}

/**
 * A TCP listener. `accept()` resolves with the next connection; async iteration yields
 * connections until the server is closed (it then ends quietly). Closing the server
 * resets connections not yet accepted; accepted sockets stay open (they are closed by
 * their own `close()`, or by `Network.close()`).
 */
export class TcpServer implements AsyncIterable<TcpSocket> {
  /** The bound local address (`0.0.0.0:port` for a wildcard listener). */
  readonly address: SocketAddress;

  readonly #core: CoreSocket;
  readonly #readiness: Readiness;
  readonly #ctx: SocketContext;
  readonly #adopt: (core: CoreSocket, remote: SocketAddress) => TcpSocket;
  #closed = false;
  #closePromise: Promise<void> | undefined;

  /**
   * @internal Wraps a listening core socket. `adopt` turns an accepted core socket
   * into a tracked `TcpSocket`. Applications get servers from `Network.listen`.
   */
  constructor(
    core: CoreSocket,
    readiness: Readiness,
    ctx: SocketContext,
    address: SocketAddress,
    adopt: (core: CoreSocket, remote: SocketAddress) => TcpSocket,
  ) {
    this.#core = core;
    this.#readiness = readiness;
    this.#ctx = ctx;
    this.#adopt = adopt;
    const local = core.localEndpoint();
    this.address = local !== undefined ? SocketAddress.fromBytes(local.address, local.port) : address;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #where(op: string): OpWhere {
    return { op, backend: this.#ctx.backend, address: this.address.toString() };
  }

  #closedError(op: string): SocketError {
    return socketError('ESOCK', this.#where(op), 'closed');
  }

  /** The next incoming connection. */
  async accept(opts: AcceptOptions = {}): Promise<TcpSocket> {
    const where = this.#where('accept');
    checkTimeout(opts.timeoutMs, where);
    opts.signal?.throwIfAborted();
    const deadline = deadlineAfter(this.#ctx.scheduler, opts.timeoutMs);
    for (;;) {
      if (this.#closed) throw this.#closedError('accept');
      const r = this.#core.accept();
      if (typeof r !== 'number') {
        return this.#adopt(r.socket, SocketAddress.fromBytes(r.remote.address, r.remote.port));
      }
      if (r !== IOT_SOCKET_EAGAIN) throw codeError(r, where);
      await waitChange(this.#readiness, deadline, opts.signal, where, () => this.#closedError('accept'));
    }
  }

  /** Stops listening; pending `accept()` calls reject with `ESOCK` (reason `'closed'`). */
  close(): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    this.#closed = true;
    this.#closePromise = closeCore(this.#core, this.#readiness, this.#ctx);
    return this.#closePromise;
  }

  /** Connections until the server is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<TcpSocket> {
    yield* untilClosed(() => this.accept(), () => this.#closed);
  }
}
