/**
 * A stream `CoreSocket` over a module link (ESP-AT link id, Quectel connect id).
 *
 * - `bind` only reserves the port in the backend's table (the module picks a client's local
 *   port itself); `listen` asks the module for a server on it; accepted links become sockets.
 * - `connect` opens the link (`AT+CIPSTART`, `AT+QIOPEN`) and returns `EINPROGRESS`; the
 *   backend's deadline aborts the attempt with `ETIMEDOUT`.
 * - Receive: pushed bytes go into a bounded ring (overflow aborts the stream, as bytes were
 *   lost); in pull mode the socket reads ahead from the module (`AT+CIPRECVDATA`, `AT+QIRD`)
 *   while its ring has room, never asking for more than the room.
 * - Send: bytes are copied into a bounded ring and pumped to the module in chunks of at most
 *   `maxSend`, one at a time; a chunk the module refused (`SEND FAIL` = buffer full) is retried
 *   after a pause; a failed send breaks the stream (`ECONNABORTED`), as after a TCP send failure
 *   the byte stream can no longer be trusted (reference §6 item 7).
 * - A module link has no half-close: `shutdown` stops local sending only (the peer sees no FIN
 *   until `close`), and once the module reports the link closed, sending fails with
 *   `ECONNRESET` (the link is gone, nothing can be sent after the peer's FIN).
 * - `close` lets queued bytes reach the module first (bounded by `closeFlushMs`), then closes
 *   the link; with unread data or `abort` it closes at once.
 */
import {
  IOT_SOCKET_EADDRINUSE, IOT_SOCKET_EAGAIN, IOT_SOCKET_ECONNABORTED, IOT_SOCKET_ECONNRESET, IOT_SOCKET_EINPROGRESS,
  IOT_SOCKET_ENOTCONN, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ETIMEDOUT,
} from '../../base/iot-constants.ts';
import type { CancelTimer } from '../../base/time.ts';
import { RingBuffer } from '../../stack/ring-buffer.ts';
import type { Accepted, Af, CoreSocket, Endpoint, RecvInfo } from '../contract.ts';
import { CORE_EOF } from '../contract.ts';
import type { Reservation } from '../port-table.ts';
import type { SocketError } from '../../base/socket-error.ts';
import { failureCode, failureError, type LinkOwner, type ModuleEnv } from './module-env.ts';
import type { ModuleReceived } from './module-driver.ts';
import { PullLoop } from './module-pull.ts';

type State = 'idle' | 'connecting' | 'connected' | 'listening' | 'closed';

export class ModuleTcpSocket implements CoreSocket, LinkOwner {
  readonly af: Af;
  readonly type = 1 as const;
  private readonly env: ModuleEnv;
  private state: State = 'idle';
  private callback: (() => void) | undefined;
  private link: number | undefined;
  private reservation: Reservation | undefined;
  private localPort = 0;
  private remote: Endpoint | undefined;
  /** Outcome of the last connection attempt (`connectResult`). */
  private outcome = 0;
  private attempt: AbortController | undefined;
  private cancelDeadline: CancelTimer | undefined;
  private rx: RingBuffer | undefined;
  private tx: RingBuffer | undefined;
  /** The link is gone: 0 for the peer's orderly close, else the IoT code. */
  private ended: number | undefined;
  /** The driver's error behind the last failure (`lastFailure`). */
  private failure: SocketError | undefined;
  private writeShut = false;
  private keepAlive = false;
  private pumping = false;
  /** Pull mode: read-ahead from the module. */
  private readonly puller: PullLoop;
  private closeAfterFlush = false;
  private cancelFlush: CancelTimer | undefined;
  private backlog = 0;
  private readonly pendingAccepts: Accepted[] = [];

  constructor(env: ModuleEnv, af: Af) {
    this.env = env;
    this.af = af;
    this.puller = new PullLoop(() => this.readOnce(), { scheduler: env.scheduler, pollMs: env.pullPollMs });
  }

  /** A socket for a link the module accepted on a listening socket. */
  static accepted(env: ModuleEnv, af: Af, link: number, remote: Endpoint, port: number): ModuleTcpSocket {
    const s = new ModuleTcpSocket(env, af);
    s.localPort = port;
    s.established(link, remote);
    s.outcome = 0;
    return s;
  }

  private established(link: number, remote: Endpoint): void {
    this.state = 'connected';
    this.link = link;
    this.remote = remote;
    this.rx = new RingBuffer(this.env.rxBufferBytes);
    this.tx = new RingBuffer(this.env.txBufferBytes);
    this.env.own(link, this);
    // Pull mode: bytes may already wait in the module (sent right after the connection opened).
    if (this.env.driver.pull) this.puller.notice();
  }

  private notify(): void {
    this.callback?.();
  }

  onChange(callback: (() => void) | undefined): void {
    this.callback = callback;
  }

  bind(address: Uint8Array, port: number): number {
    const r = this.env.tcpPorts.reserve(this.af, address, port);
    if (r === undefined) return IOT_SOCKET_EADDRINUSE;
    this.reservation = r;
    this.localPort = port;
    return 0;
  }

  async listen(backlog: number): Promise<number> {
    if (!this.env.driver.caps.listen) return IOT_SOCKET_ENOTSUP;
    try {
      await this.env.driver.listen(this.localPort, backlog);
    } catch (e) {
      return failureCode(e);
    }
    if (this.state === 'closed') {
      void this.env.driver.unlisten(this.localPort);
      return IOT_SOCKET_ECONNABORTED;
    }
    this.state = 'listening';
    this.backlog = backlog;
    return 0;
  }

  /** The backend routes a link accepted on this socket's port here. */
  offer(link: number, remote: Endpoint): boolean {
    if (this.state !== 'listening' || this.pendingAccepts.length >= this.backlog) return false;
    const socket = ModuleTcpSocket.accepted(this.env, this.af, link, remote, this.localPort);
    this.env.adopt(socket);
    this.pendingAccepts.push({ socket, remote });
    this.notify();
    return true;
  }

  get listeningPort(): number | undefined {
    return this.state === 'listening' ? this.localPort : undefined;
  }

  accept(): Accepted | number {
    if (this.state !== 'listening') return IOT_SOCKET_ECONNABORTED;
    return this.pendingAccepts.shift() ?? IOT_SOCKET_EAGAIN;
  }

  connect(address: Uint8Array, port: number): number {
    const attempt = new AbortController();
    this.attempt = attempt;
    this.state = 'connecting';
    this.outcome = IOT_SOCKET_EINPROGRESS;
    this.ended = undefined;
    const remote: Endpoint = { address: address.slice(), port };
    this.cancelDeadline = this.env.scheduler.setTimer(this.env.connectTimeoutMs, () => {
      this.cancelDeadline = undefined;
      if (this.attempt !== attempt) return;
      attempt.abort();
      this.failAttempt(IOT_SOCKET_ETIMEDOUT);
    });
    this.env.driver.open({ kind: 'tcp', af: this.af, remote, localPort: this.localPort, keepAliveS: this.keepAlive ? 60 : 0 }, attempt.signal)
      .then((link) => {
        if (this.attempt !== attempt || this.state !== 'connecting') {
          // Timed out or closed meanwhile: the module connected anyway, so let the link go.
          this.env.stats.linksOpened++;
          this.env.closeLink(link.id);
          return;
        }
        this.env.stats.linksOpened++;
        this.settleAttempt();
        if (link.localPort !== undefined && link.localPort > 0) this.localPort = link.localPort;
        this.established(link.id, remote);
        this.outcome = 0;
        this.notify();
      }, (e: unknown) => {
        if (this.attempt !== attempt) return;
        this.failAttempt(failureCode(e), failureError(e));
      });
    return IOT_SOCKET_EINPROGRESS;
  }

  private settleAttempt(): void {
    this.cancelDeadline?.();
    this.cancelDeadline = undefined;
    this.attempt = undefined;
  }

  private failAttempt(code: number, error?: SocketError): void {
    this.settleAttempt();
    if (this.state !== 'connecting') return;
    this.state = 'idle';
    this.outcome = code;
    this.failure = error;
    this.notify();
  }

  connectResult(): number {
    return this.outcome;
  }

  recv(buf: Uint8Array, len: number, from?: RecvInfo): number {
    if (this.state === 'connecting') return IOT_SOCKET_EAGAIN;
    const rx = this.rx;
    if (rx === undefined || (this.state !== 'connected' && rx.length === 0)) return IOT_SOCKET_ENOTCONN;
    if (rx.length > 0) {
      if (len === 0) return 0;
      const n = rx.read(len === buf.length ? buf : buf.subarray(0, len));
      if (from !== undefined && this.remote !== undefined) {
        from.address = this.remote.address.slice();
        from.port = this.remote.port;
      }
      this.puller.kick();
      return n;
    }
    if (this.ended === undefined) return IOT_SOCKET_EAGAIN;
    return this.ended === 0 ? CORE_EOF : this.ended;
  }

  send(buf: Uint8Array, len: number): number {
    if (this.state === 'connecting') return IOT_SOCKET_EAGAIN;
    const tx = this.tx;
    if (this.state !== 'connected' || tx === undefined) return IOT_SOCKET_ENOTCONN;
    if (this.ended !== undefined) return this.ended === 0 || this.ended === IOT_SOCKET_ECONNRESET ? IOT_SOCKET_ECONNRESET : IOT_SOCKET_ECONNABORTED;
    if (this.writeShut || this.closeAfterFlush) return IOT_SOCKET_ENOTCONN;
    if (len === 0) return tx.free > 0 ? 0 : IOT_SOCKET_EAGAIN;
    const n = tx.write(len === buf.length ? buf : buf.subarray(0, len));
    if (n === 0) return IOT_SOCKET_EAGAIN;
    void this.pump();
    return n;
  }

  /** Hands queued bytes to the module, one chunk at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const { driver, scheduler } = this.env;
      for (;;) {
        const tx = this.tx;
        const link = this.link;
        if (tx === undefined || link === undefined || tx.length === 0 || this.ended !== undefined) break;
        const n = Math.min(tx.length, driver.maxSend);
        const chunk = new Uint8Array(n);
        tx.copyOut(0, chunk, n);
        let taken: number;
        try {
          taken = await driver.send(link, chunk);
        } catch (e) {
          if (this.link === link) {
            const error = failureError(e);
            this.breakStream(error?.code === 'ECONNRESET' ? IOT_SOCKET_ECONNRESET : IOT_SOCKET_ECONNABORTED, error?.code === 'ECONNRESET' || error?.code === 'ECONNABORTED' ? error : undefined);
          }
          break;
        }
        if (this.tx !== tx) break;
        if (taken > 0) {
          tx.consume(Math.min(taken, n));
          this.notify();
        } else {
          this.env.stats.sendRetries++;
          await new Promise<void>((resolve) => scheduler.setTimer(this.env.sendRetryMs, resolve));
        }
      }
    } finally {
      this.pumping = false;
    }
    if (this.closeAfterFlush && (this.tx === undefined || this.tx.length === 0 || this.ended !== undefined)) this.finishClose();
  }

  /** One read-ahead from the module (pull mode), at most the room in the ring. */
  private async readOnce(): Promise<number | undefined> {
    const link = this.link;
    const rx = this.rx;
    if (link === undefined || rx === undefined || rx.free === 0) return undefined;
    let got: ModuleReceived;
    try {
      got = await this.env.driver.read(link, rx.free);
    } catch {
      // The module refused the read (link gone, module busy): its `closed` or `lost` event says the rest.
      return undefined;
    }
    if (this.link !== link || this.rx !== rx) return undefined;
    if (got.bytes.length > 0) this.data(got);
    return got.bytes.length;
  }

  // ---- LinkOwner

  data(received: ModuleReceived): void {
    const rx = this.rx;
    if (rx === undefined || this.state === 'closed') return;
    if (rx.write(received.bytes) < received.bytes.length) {
      this.env.stats.rxOverflows++;
      this.breakStream(IOT_SOCKET_ECONNABORTED);
      return;
    }
    this.notify();
  }

  readable(): void {
    this.puller.notice();
  }

  gone(code: number, error?: SocketError): void {
    this.link = undefined;
    this.puller.stop();
    if (this.ended === undefined) {
      this.ended = code;
      this.failure = error;
    }
    if (this.closeAfterFlush) this.finishClose();
    this.notify();
  }

  /** The stream cannot be trusted any more: close the link and report `code`. */
  private breakStream(code: number, error?: SocketError): void {
    const link = this.link;
    this.link = undefined;
    this.puller.stop();
    if (this.ended === undefined) {
      this.ended = code;
      this.failure = error;
    }
    if (link !== undefined) this.env.closeLink(link);
    if (this.closeAfterFlush) this.finishClose();
    this.notify();
  }

  lastFailure(): SocketError | undefined {
    return this.failure;
  }

  peerClosed(): boolean {
    return this.ended !== undefined && this.state === 'connected';
  }

  shutdown(): number {
    if (this.state !== 'connected') return IOT_SOCKET_ENOTCONN;
    this.writeShut = true;
    return 0;
  }

  localEndpoint(): Endpoint | undefined {
    if (this.state === 'connected') {
      const address = this.env.driver.localAddress(this.af) ?? new Uint8Array(this.af === 2 ? 16 : 4);
      return { address: address.slice(), port: this.localPort };
    }
    if (this.reservation !== undefined) return { address: this.reservation.address.slice(), port: this.reservation.port };
    return undefined;
  }

  remoteEndpoint(): Endpoint | undefined {
    return this.state === 'connected' && this.remote !== undefined ? { address: this.remote.address.slice(), port: this.remote.port } : undefined;
  }

  setKeepAlive(on: boolean): number {
    // Applied when the link is opened (ESP `AT+CIPSTART` keep-alive argument); a module link
    // cannot change it afterwards.
    if (this.state === 'connected' && on !== this.keepAlive) return IOT_SOCKET_ENOTSUP;
    this.keepAlive = on;
    return 0;
  }

  close(abort = false): number {
    if (this.state === 'closed' || this.closeAfterFlush) return 0;
    const was = this.state;
    this.callback = undefined;
    if (this.attempt !== undefined) {
      this.attempt.abort();
      this.settleAttempt();
    }
    if (was === 'listening') {
      void this.env.driver.unlisten(this.localPort);
      for (const a of this.pendingAccepts.splice(0)) void a.socket.close(true);
    }
    // Unread = bytes actually held here; a pull in progress (`puller.more`) only means "maybe".
    const unread = (this.rx?.length ?? 0) > 0;
    if (was === 'connected' && !abort && !unread && this.link !== undefined && (this.tx?.length ?? 0) > 0) {
      // Let queued bytes reach the module first, within a bound.
      this.closeAfterFlush = true;
      this.cancelFlush = this.env.scheduler.setTimer(this.env.closeFlushMs, () => {
        this.cancelFlush = undefined;
        this.finishClose();
      });
      void this.pump();
      return 0;
    }
    this.finishClose();
    return 0;
  }

  private finishClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeAfterFlush = false;
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    const link = this.link;
    this.link = undefined;
    if (link !== undefined) this.env.closeLink(link);
    this.env.tcpPorts.release(this.reservation);
    this.reservation = undefined;
    this.rx = undefined;
    this.tx = undefined;
    this.env.released(this);
  }
}
