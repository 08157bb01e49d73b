/**
 * `TcpSocket`: a connected TCP stream of the idiomatic, promise-first API.
 *
 * Every operation is the non-blocking core call of the backend contract, retried
 * after `Readiness.wait` on `EAGAIN`. Reads of one socket are served in call order,
 * and so are writes; a read and a write may be pending at the same time.
 */
import type { Duplex } from 'node:stream';
import type { CoreSocket } from '../backends/contract.ts';
import { CORE_EOF } from '../backends/contract.ts';
import { IOT_SOCKET_EAGAIN } from '../base/iot-constants.ts';
import type { SocketError } from '../base/socket-error.ts';
import type { Scheduler } from '../base/time.ts';
import { SocketDuplex } from './duplex.ts';
import type { SocketDuplexOptions } from './duplex.ts';
import type { OpWhere, SocketContext } from './idiomatic-support.ts';
import {
  SerialQueue,
  destroyedError,
  checkTimeout,
  codeError,
  coreError,
  raceDeadline,
  socketError,
  toBytes,
  waitChange,
} from './idiomatic-support.ts';
import { LEND_MIN_BYTES } from './iot-socket-layer.ts';
import { Readiness, deadlineAfter } from './readiness.ts';
import { SocketAddress } from './socket-address.ts';

/** Options of `TcpSocket.read`. */
export interface ReadOptions {
  /** Largest chunk to return (default and maximum 65536). */
  maxBytes?: number | undefined;
  /** Cancels the read (rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Rejects with `SocketError('ETIMEDOUT')` when nothing arrived in time (0 = no limit). */
  timeoutMs?: number | undefined;
}

/** Options of `TcpSocket.write`. */
export interface WriteOptions {
  /** Cancels the write (rejects with the signal's reason; bytes queued stay queued). */
  signal?: AbortSignal | undefined;
  /**
   * Rejects with `SocketError('ETIMEDOUT')` when the bytes were not all queued in time
   * (0 = no limit). Bytes queued before the expiry stay queued.
   */
  timeoutMs?: number | undefined;
}

/** Options of `TcpSocket.close`. */
export interface CloseOptions {
  /**
   * Close at once, like `close(2)`: bytes the stack already holds are delivered, then
   * FIN; writes still waiting for room in the send buffer are dropped (default false:
   * they are queued first).
   */
  discardPending?: boolean | undefined;
}

/** Largest chunk one `read` returns. */
export const MAX_READ = 65536;

type State = 'open' | 'closing' | 'closed';

/**
 * A connected TCP socket. Obtain one from `Network.connect` or `TcpServer.accept`.
 *
 * - `read()` resolves with the next chunk, or `null` at the orderly end of the peer's
 *   stream (FIN); `for await (const chunk of socket)` does the same until the end.
 * - `write()` resolves once every byte is queued in the stack (back-pressure: it waits
 *   while the send buffer is full). It keeps working after the peer's FIN (`read()`
 *   gave `null`): TCP is half-open then and the peer may still read, until our `end()`
 *   or `close()`; after a peer reset it rejects with `ECONNRESET`.
 * - `end()` half-closes (FIN), reads go on; `close()` is graceful (pending writes are
 *   queued first, then FIN); `destroy()` aborts (RST) and rejects pending calls.
 * - `toDuplex()` adapts it to a `node:stream` `Duplex` (for `node:tls`, `node:http`, MQTT).
 *
 * Failures are `SocketError`s; a `timeoutMs` expiry is `ETIMEDOUT` (reason `'timeout'`),
 * an abort rejects with the signal's reason, calls on a closed socket reject with
 * `ESOCK` (reason `'closed'`).
 */
export class TcpSocket implements AsyncIterable<Uint8Array> {
  /** The local endpoint. */
  readonly localAddress: SocketAddress;
  /** The peer. */
  readonly remoteAddress: SocketAddress;

  readonly #core: CoreSocket;
  readonly #readiness: Readiness;
  readonly #ctx: SocketContext;
  readonly #reads = new SerialQueue();
  readonly #writes = new SerialQueue();
  #scratch: Uint8Array | undefined;
  #state: State = 'open';
  #eof = false;
  #writeEnded = false;
  #coreClosing: Promise<void> | undefined;
  #destroyError: SocketError | undefined;
  #closePromise: Promise<void> | undefined;

  /**
   * @internal Wraps a connected core socket; `readiness` must already be attached to it.
   * Applications get sockets from `Network.connect` and `TcpServer.accept`.
   */
  constructor(core: CoreSocket, readiness: Readiness | undefined, ctx: SocketContext, remote?: SocketAddress) {
    this.#core = core;
    this.#readiness = readiness ?? new Readiness(core, ctx.scheduler);
    this.#ctx = ctx;
    const peer = core.remoteEndpoint();
    const local = core.localEndpoint();
    this.remoteAddress = remote ?? (peer !== undefined
      ? SocketAddress.fromBytes(peer.address, peer.port)
      : SocketAddress.fromBytes(new Uint8Array(core.af === 2 ? 16 : 4), 0));
    this.localAddress = local !== undefined
      ? SocketAddress.fromBytes(local.address, local.port)
      : SocketAddress.fromBytes(new Uint8Array(core.af === 2 ? 16 : 4), 0);
  }

  /** True once `close()` or `destroy()` was called. */
  /** The clock and timers of this socket's network (deadlines, and its Duplex's idle timeout). */
  get scheduler(): Scheduler {
    return this.#ctx.scheduler;
  }

  /** True once `close()` or `destroy()` was called. */
  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** True once `read()` returned `null` (the peer's FIN was read). */
  get readableEnded(): boolean {
    return this.#eof;
  }

  /** True once `end()` was called. */
  get writableEnded(): boolean {
    return this.#writeEnded;
  }

  #remoteText: string | undefined;

  #where(op: string): OpWhere {
    // The remote address never changes: format it once, not on every read/write.
    this.#remoteText ??= this.remoteAddress.toString();
    return { op, backend: this.#ctx.backend, address: this.#remoteText };
  }

  #closedError(op: string): SocketError {
    return this.#destroyError ?? socketError('ESOCK', this.#where(op), 'closed');
  }

  /** Throws unless a new call may start. */
  #checkOpen(op: string): void {
    if (this.#state !== 'open') throw this.#closedError(op);
  }

  /** Throws once the socket is closed for good (calls already running go on while closing). */
  #checkAlive(op: string): void {
    if (this.#state === 'closed') throw this.#closedError(op);
  }

  #gate(op: string, deadline: number | undefined, signal: AbortSignal | undefined) {
    return (turn: Promise<void>): Promise<void> => raceDeadline(turn, this.#ctx.scheduler, deadline, signal, this.#where(op));
  }

  /**
   * The next chunk of data (at most `maxBytes`), or `null` once the peer closed its
   * direction in an orderly way and every byte was read.
   */
  async read(opts: ReadOptions = {}): Promise<Uint8Array | null> {
    const where = this.#where('read');
    checkTimeout(opts.timeoutMs, where);
    opts.signal?.throwIfAborted();
    this.#checkOpen('read');
    const maxBytes = opts.maxBytes ?? MAX_READ;
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw socketError('EINVAL', where, 'bad-max-bytes');
    const max = Math.min(MAX_READ, maxBytes);
    // Fast path: no read queued before this one and data (or the end) already here.
    if (this.#reads.size === 0 && !this.#eof) {
      const buf = (this.#scratch ??= new Uint8Array(MAX_READ));
      const n = this.#core.recv(buf, max);
      if (n > 0) return buf.slice(0, n);
      if (n === CORE_EOF) {
        this.#eof = true;
        return null;
      }
    }
    const deadline = deadlineAfter(this.#ctx.scheduler, opts.timeoutMs);
    return this.#reads.run(async () => {
      for (;;) {
        if (this.#eof) return null;
        this.#checkAlive('read');
        const buf = (this.#scratch ??= new Uint8Array(MAX_READ));
        const n = this.#core.recv(buf, max);
        if (n > 0) return buf.slice(0, n);
        if (n === CORE_EOF) {
          this.#eof = true;
          return null;
        }
        if (n !== IOT_SOCKET_EAGAIN && n !== 0) throw coreError(this.#core, n, where);
        await waitChange(this.#readiness, deadline, opts.signal, where, () => this.#closedError('read'));
      }
    }, this.#reads.size === 0 ? undefined : this.#gate('read', deadline, opts.signal));
  }

  /**
   * Queues every byte of `data` (strings as UTF-8); resolves when all are queued.
   * Allowed until `end()`, also after the peer's FIN (half-open connection).
   */
  async write(data: Uint8Array | string, opts: WriteOptions = {}): Promise<void> {
    const where = this.#where('write');
    const bytes = toBytes(data, where);
    checkTimeout(opts.timeoutMs, where);
    opts.signal?.throwIfAborted();
    this.#checkOpen('write');
    if (this.#writeEnded) throw socketError('ENOTCONN', where, 'write-after-end');
    if (bytes.length === 0) return;
    const deadline = deadlineAfter(this.#ctx.scheduler, opts.timeoutMs);
    // No deadline and no signal: lend `bytes` to the backend (zero copy) and resolve once
    // it released them (large writes only). Otherwise copy, so a timeout or abort can
    // return at once.
    const lend = deadline === undefined && opts.signal === undefined && bytes.length >= LEND_MIN_BYTES
      ? this.#core.sendBorrowed?.bind(this.#core) : undefined;
    // Fast path: no write queued before this one and the backend takes every byte now.
    // (A partial take continues in the queue, registered before anything else can run,
    // so call order holds.)
    let first = 0;
    let firstReleased: Promise<void> | undefined;
    if (this.#writes.size === 0) {
      if (lend !== undefined) {
        const b = lend(bytes, bytes.length);
        if (typeof b !== 'number') {
          if (b.taken === bytes.length) return b.released;
          first = b.taken;
          firstReleased = b.released;
        }
      } else {
        const n = this.#core.send(bytes, bytes.length);
        if (n === bytes.length) return;
        if (n > 0) first = n;
      }
    }
    return this.#writes.run(async () => {
      if (firstReleased !== undefined) await firstReleased;
      let off = first;
      while (off < bytes.length) {
        this.#checkAlive('write');
        if (lend !== undefined) {
          const b = lend(bytes.subarray(off), bytes.length - off);
          if (typeof b !== 'number') {
            off += b.taken;
            await b.released;
            continue;
          }
          if (b !== IOT_SOCKET_EAGAIN && b !== 0) throw coreError(this.#core, b, where);
          await waitChange(this.#readiness, deadline, opts.signal, where, () => this.#closedError('write'));
          continue;
        }
        const n = this.#core.send(bytes.subarray(off), bytes.length - off);
        if (n > 0) {
          off += n;
          continue;
        }
        if (n !== IOT_SOCKET_EAGAIN && n !== 0) throw coreError(this.#core, n, where);
        await waitChange(this.#readiness, deadline, opts.signal, where, () => this.#closedError('write'));
      }
    }, this.#writes.size === 0 ? undefined : this.#gate('write', deadline, opts.signal));
  }

  /**
   * Half-closes: sends FIN after every pending write; reading goes on. Later writes
   * reject (`ENOTCONN`, reason `'write-after-end'`). Calling it again is harmless.
   */
  async end(): Promise<void> {
    if (this.#writeEnded) return;
    this.#checkOpen('end');
    this.#writeEnded = true;
    const where = this.#where('end');
    await this.#writes.run(async () => {
      this.#checkAlive('end');
      const r = this.#core.shutdown();
      if (r < 0) throw codeError(r, where);
    });
  }

  /** Turns TCP keep-alive on or off (timing is a backend setting). */
  setKeepAlive(on: boolean): void {
    this.#checkOpen('setKeepAlive');
    const r = this.#core.setKeepAlive(on);
    if (r < 0) throw codeError(r, this.#where('setKeepAlive'));
  }

  /**
   * Graceful close: lets pending writes queue their bytes, then closes (FIN after the
   * queued data; RST if unread data remains, RFC 1122). Pending reads reject with
   * `ESOCK` (reason `'closed'`). Never waits for the peer's FIN or TIME-WAIT.
   * See `CloseOptions.discardPending` for closing at once.
   */
  close(opts: CloseOptions = {}): Promise<void> {
    if (opts.discardPending === true && this.#state !== 'closed') {
      // As close(2) on a kernel socket: what the stack already holds is sent, then FIN;
      // writes still waiting for room reject (ESOCK, reason 'closed').
      this.#state = 'closed';
      this.#readiness.closeAll();
      this.#closePromise ??= this.#closeCore(false);
      return this.#closePromise;
    }
    if (this.#closePromise !== undefined) return this.#closePromise;
    if (this.#state === 'closed') return this.#coreClosing ?? Promise.resolve();
    this.#state = 'closing';
    this.#closePromise = (async () => {
      await this.#writes.idle();
      if (this.#state !== 'closed') {
        this.#state = 'closed';
        this.#readiness.closeAll();
      }
      await this.#closeCore(false); // (joins the abortive close when destroyed meanwhile)
    })();
    return this.#closePromise;
  }

  /**
   * Aborts the connection (RST) at once. Pending and later calls reject with `error`
   * when it is a `SocketError`, else with `SocketError('ECONNABORTED', reason
   * 'destroyed')` whose `cause` is `error`.
   */
  destroy(error?: Error): void {
    if (this.#state === 'closed') return;
    this.#destroyError = destroyedError(this.#where('destroy'), error);
    this.#state = 'closed';
    this.#readiness.closeAll();
    void this.#closeCore(true);
  }

  #closeCore(abort: boolean): Promise<void> {
    this.#coreClosing ??= (async () => {
      try {
        await this.#core.close(abort);
      } catch {
        // A backend that throws on close has nothing left to release here.
      }
      this.#ctx.untrack();
    })();
    return this.#coreClosing;
  }

  /** Chunks until the orderly end; ends quietly too when the socket is closed locally. */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await this.read();
      } catch (e) {
        if (this.#state !== 'open' && this.#destroyError === undefined) return;
        throw e;
      }
      if (chunk === null) return;
      yield chunk;
    }
  }

  /**
   * A `node:stream` `Duplex` over this socket (back-pressure both ways). As a
   * `net.Socket`, it ends its writable side when the peer's FIN arrives unless
   * `allowHalfOpen: true` (see `SocketDuplexOptions`). Use the Duplex or the socket's
   * own methods, not both at once.
   */
  toDuplex(options: Omit<SocketDuplexOptions, 'cancelConnect'> = {}): Duplex {
    return new SocketDuplex(this, options);
  }
}
