/**
 * `SocketDuplex`: a `node:stream` `Duplex` over a `TcpSocket` (or over one still being
 * connected), for `node:tls` (`tls.connect({ socket })`), `node:http`
 * (`createConnection`) and mqtt.js (`new MqttClient(() => duplex, opts)`).
 *
 * - Reading: data is pulled from the socket only while the readable side wants more
 *   (`push()` returning false stops the pull until the next `_read`), so an idle
 *   consumer leaves data in the stack, whose window then closes: memory stays bounded.
 * - Writing: a `_write` completes only once the socket queued every byte, which waits
 *   while the stack's send buffer is full (the Duplex's own buffer then fills up and
 *   `write()` returns false, as usual).
 * - Half-close: `end()` sends FIN after the data (`_final` → `TcpSocket.end`); the peer's
 *   FIN ends the readable side (`push(null)`). `allowHalfOpen` defaults to false, as
 *   for `net.Socket`: the peer's FIN then also ends the writable side (FIN after the
 *   data already written), so `'finish'` and `'close'` follow — what mqtt.js and
 *   `node:http` expect to notice a server that closed the connection. With
 *   `allowHalfOpen: true` the writable side stays open after the peer's FIN and
 *   writes still reach the peer (a half-open connection) until `end()`.
 * - Closing: as for `net.Socket`, `destroy()` (with or without an error) closes the
 *   connection like `close(2)`: the bytes already handed to the stack still reach the
 *   peer, then FIN (RST when unread received data remains, RFC 1122); bytes still
 *   buffered in the Duplex are dropped. `resetAndDestroy()` aborts with RST at once.
 * - Errors are `SocketError`s with `code` set (mqtt.js forwards only errors with a
 *   `code`); an orderly close emits no error at all.
 * - `net.Socket` compatibility for `node:http`'s client and server and `http.Agent`
 *   pooling: `setTimeout(ms, cb)` emits `'timeout'` after `ms` without a chunk read or a
 *   write completed (on the network's scheduler; nothing is closed, as in `net`),
 *   `timeout`, `destroySoon()`, `setKeepAlive()`, and `ref()`/`unref()`/`setNoDelay()`,
 *   which have no effect here (a stack's own timers decide what keeps the process up).
 *
 * Writes made before the connection exists (a Duplex from `Network.connectDuplex`) are
 * held back by the stream machinery until the socket is there; a failed connect
 * destroys the Duplex with the connect error. `'connect'` is emitted once connected.
 */
import { Duplex } from 'node:stream';
import type { CancelTimer, Scheduler } from '../base/time.ts';
import type { TcpSocket } from './tcp-socket.ts';

/** Options of `SocketDuplex`. */
export interface SocketDuplexOptions {
  /**
   * Keep the writable side open after the peer's FIN, so that writes still reach the
   * peer until `end()` (default false: the peer's FIN ends both sides, as `net.Socket`).
   */
  allowHalfOpen?: boolean | undefined;
  /** Called when the Duplex is destroyed before the pending connect settled (to cancel it). */
  cancelConnect?: (() => void) | undefined;
  /** Readable side buffer, in bytes (default 64 KiB). */
  readableHighWaterMark?: number | undefined;
  /** Writable side buffer, in bytes (default 64 KiB). */
  writableHighWaterMark?: number | undefined;
  /**
   * Timers of `setTimeout`. Default: the socket's own (its network's clock); required
   * when the Duplex is made over a connection still being established.
   */
  scheduler?: Scheduler | undefined;
}

function isSocket(source: TcpSocket | Promise<TcpSocket>): source is TcpSocket {
  return typeof (source as Promise<TcpSocket>).then !== 'function';
}

/** A Duplex over a (possibly still connecting) `TcpSocket`. See the module comment. */
export class SocketDuplex extends Duplex {
  #socket: TcpSocket | undefined;
  readonly #ready: Promise<TcpSocket>;
  readonly #cancelConnect: (() => void) | undefined;
  readonly #scheduler: Scheduler;
  #pulling = false;
  #wanted = false;
  #reset = false;
  /** Idle timeout of `setTimeout` (0 = off). */
  #idleMs = 0;
  #lastActivity = 0;
  #cancelIdle: CancelTimer | undefined;

  /** The idle timeout set by `setTimeout` (like `net.Socket#timeout`), if any. */
  timeout: number | undefined;

  constructor(source: TcpSocket | Promise<TcpSocket>, options: SocketDuplexOptions = {}) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      emitClose: true,
      autoDestroy: true,
      decodeStrings: true,
      readableHighWaterMark: options.readableHighWaterMark ?? 65536,
      writableHighWaterMark: options.writableHighWaterMark ?? 65536,
    });
    this.#cancelConnect = options.cancelConnect;
    const scheduler = options.scheduler ?? (isSocket(source) ? source.scheduler : undefined);
    if (scheduler === undefined) throw new TypeError('SocketDuplex over a pending connection needs options.scheduler');
    this.#scheduler = scheduler;
    if (isSocket(source)) {
      this.#socket = source;
      this.#ready = Promise.resolve(source);
    } else {
      this.#ready = source.then(
        (socket) => {
          if (this.destroyed) {
            socket.destroy();
          } else {
            this.#socket = socket;
            this.emit('connect');
          }
          return socket;
        },
        (error: unknown) => {
          if (!this.destroyed) this.destroy(toError(error));
          throw error;
        },
      );
      // The rejection is reported through destroy(); keep it from being "unhandled".
      this.#ready.catch(() => undefined);
    }
  }

  /** The socket, once connected. */
  get socket(): TcpSocket | undefined {
    return this.#socket;
  }

  /** `true` until the underlying connection exists (like `net.Socket#connecting`). */
  get connecting(): boolean {
    return this.#socket === undefined && !this.destroyed;
  }

  /** Remote address text (like `net.Socket#remoteAddress`), once connected. */
  get remoteAddress(): string | undefined {
    return this.#socket?.remoteAddress.address;
  }

  /** Remote port (like `net.Socket#remotePort`), once connected. */
  get remotePort(): number | undefined {
    return this.#socket?.remoteAddress.port;
  }

  /** Local address text (like `net.Socket#localAddress`), once connected. */
  get localAddress(): string | undefined {
    return this.#socket?.localAddress.address;
  }

  /** Local port (like `net.Socket#localPort`), once connected. */
  get localPort(): number | undefined {
    return this.#socket?.localAddress.port;
  }

  /** `'IPv4'` or `'IPv6'` (like `net.Socket#remoteFamily`), once connected. */
  get remoteFamily(): 'IPv4' | 'IPv6' | undefined {
    const socket = this.#socket;
    if (socket === undefined) return undefined;
    return socket.remoteAddress.family === 6 ? 'IPv6' : 'IPv4';
  }

  /**
   * `net.Socket` compatibility: turns keep-alive on or off once connected (the delay is
   * the backend's).
   */
  setKeepAlive(enable = false, _initialDelay?: number): this {
    void this.#ready.then((s) => s.setKeepAlive(enable)).catch(() => undefined);
    return this;
  }

  /** `net.Socket` compatibility (Nagle is a backend matter here): no effect. */
  setNoDelay(_noDelay = true): this {
    return this;
  }

  /** `net.Socket` compatibility: no effect (the stack's timers decide whether the process stays up). */
  ref(): this {
    return this;
  }

  /** `net.Socket` compatibility: no effect (see `ref`). */
  unref(): this {
    return this;
  }

  /**
   * As `net.Socket#setTimeout`: after `ms` without a chunk read or a write completed,
   * `'timeout'` is emitted (once, until the next activity); the connection stays open.
   * `0` turns it off (and removes `callback` from the `'timeout'` listeners).
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (this.destroyed) return this;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`setTimeout: ms must be a finite number >= 0, got ${String(ms)}`);
    }
    this.timeout = ms;
    this.#idleMs = ms;
    this.#cancelIdle?.();
    this.#cancelIdle = undefined;
    if (ms === 0) {
      if (callback !== undefined) this.removeListener('timeout', callback);
      return this;
    }
    this.#lastActivity = this.#scheduler.now();
    this.#armIdle(ms);
    if (callback !== undefined) this.once('timeout', callback);
    return this;
  }

  #armIdle(delay: number): void {
    this.#cancelIdle = this.#scheduler.setTimer(delay, () => {
      this.#cancelIdle = undefined;
      if (this.destroyed || this.#idleMs === 0) return;
      const idle = this.#scheduler.now() - this.#lastActivity;
      if (idle < this.#idleMs) this.#armIdle(this.#idleMs - idle);
      else this.emit('timeout');
    });
  }

  /** Notes a read or a completed write for the idle timeout (re-arming it after a `'timeout'`). */
  #active(): void {
    if (this.#idleMs === 0) return;
    this.#lastActivity = this.#scheduler.now();
    if (this.#cancelIdle === undefined && !this.destroyed) this.#armIdle(this.#idleMs);
  }

  /** As `net.Socket#destroySoon`: ends the writable side, destroys once it finished. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** `node:stream` hook: pulls the next chunk from the socket. */
  override _read(_size: number): void {
    if (this.#pulling) {
      this.#wanted = true;
      return;
    }
    this.#pulling = true;
    void this.#pull();
  }

  async #pull(): Promise<void> {
    try {
      const socket = this.#socket ?? (await this.#ready);
      for (;;) {
        this.#wanted = false;
        const chunk = await socket.read();
        if (this.destroyed) return;
        if (chunk === null) {
          this.push(null);
          return;
        }
        this.#active();
        const more = this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if (!more && !this.#wanted) break;
      }
      this.#pulling = false;
    } catch (error) {
      if (!this.destroyed) this.destroy(toError(error));
    }
  }

  /** `node:stream` hook: writes one chunk to the socket. */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#withSocket(callback, (socket) => socket.write(chunk));
  }

  /** `node:stream` hook: writes buffered chunks to the socket as one. */
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    const data = chunks.length === 1 ? (chunks[0] as { chunk: Buffer }).chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.#withSocket(callback, (socket) => socket.write(data));
  }

  /** `node:stream` hook: half-closes the socket (FIN) after the last write. */
  override _final(callback: (error?: Error | null) => void): void {
    this.#withSocket(callback, (socket) => socket.end());
  }

  /** `node:stream` hook: closes the socket (abortively when `error` is set). */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#cancelIdle?.();
    this.#cancelIdle = undefined;
    const socket = this.#socket;
    if (socket === undefined) {
      this.#cancelConnect?.();
      callback(error);
      return;
    }
    if (this.#reset) {
      socket.destroy(error ?? undefined);
      callback(error);
      return;
    }
    if (error === null && this.writableFinished && this.readableEnded) {
      socket.close().then(() => callback(null), () => callback(null));
      return;
    }
    // Closes in the background (the stack finishes sending on its own, as a kernel does
    // after close(2)); the stream is released now.
    socket.close({ discardPending: true }).catch(() => undefined);
    callback(error);
  }

  /** Aborts the connection with RST and destroys the stream (as `net.Socket`'s). */
  resetAndDestroy(): this {
    this.#reset = true;
    return this.destroy();
  }

  #withSocket(callback: (error?: Error | null) => void, op: (socket: TcpSocket) => Promise<void>): void {
    const run = (socket: TcpSocket): void => {
      op(socket).then(() => {
        this.#active();
        callback();
      }, (e: unknown) => callback(toError(e)));
    };
    if (this.#socket !== undefined) run(this.#socket);
    else this.#ready.then(run, (e: unknown) => callback(toError(e)));
  }
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
