/**
 * `SecureCoreSocket`: a stream `CoreSocket` that runs TLS over another backend's
 * stream socket (the per-socket half of `createSecureBackend`). Non-blocking as the
 * contract wants: `connect` starts TCP and returns `EINPROGRESS`; the handshake runs
 * in the background and `connectResult()` stays `EINPROGRESS` until the server is
 * verified (`0`) or the handshake failed (the failure's IoT code, e.g. `ECONNABORTED`
 * for an untrusted certificate, `ETIMEDOUT` for the handshake deadline). Plaintext
 * is queued on receive (bounded: the TLS socket pauses above 64 KiB, TCP's window
 * then closes) and handed to `node:tls` on send (`EAGAIN` while it wants a drain).
 * Every change calls the one change callback.
 *
 * A connection the backend's `select` leaves plain is the inner socket, passed through.
 */
import type tls from 'node:tls';
import type { Accepted, Af, CoreSocket, Endpoint, MaybePromise, RecvInfo, SockType } from '../backends/contract.ts';
import { CORE_EOF } from '../backends/contract.ts';
import {
  IOT_SOCKET_EAGAIN,
  IOT_SOCKET_EALREADY,
  IOT_SOCKET_EINPROGRESS,
  IOT_SOCKET_EISCONN,
  IOT_SOCKET_ENOTCONN,
  IOT_SOCKET_ENOTSUP,
  iotCodeValue,
} from '../base/iot-constants.ts';
import { formatIp } from '../base/ip-address.ts';
import type { SocketError } from '../base/socket-error.ts';
import type { Scheduler } from '../base/time.ts';
import { SocketDuplex } from '../socket/duplex.ts';
import { SocketAddress } from '../socket/socket-address.ts';
import { TcpSocket } from '../socket/tcp-socket.ts';
import { startTls, peerText, type TlsClient } from './tls-client.ts';
import type { PreparedTls } from './tls-context.ts';
import type { TlsWhere } from './tls-error.ts';
import type { TlsOptions } from './tls-options.ts';
import type { TlsSessionCache } from './tls-session-cache.ts';

/** A stream connection as the secure backend sees it when choosing its TLS settings. */
export interface SecurePeer {
  /** The server's address (canonical text). */
  readonly address: string;
  /** The server's port. */
  readonly port: number;
  /**
   * The host name that resolved to `address` through this backend's `lookup`
   * (`iotSocketGetHostByName`, `Network.connect('name:port')`), if any: the name
   * certificates are checked against unless the settings name a `servername`.
   */
  readonly hostname: string | undefined;
}

/** TLS settings chosen for one connection, ready to use. */
export interface SecureChoice {
  readonly options: TlsOptions;
  readonly prepared: Promise<PreparedTls>;
}

/** What a `SecureCoreSocket` needs from its backend. */
export interface SecureSocketEnv {
  /** Backend name for errors. */
  readonly name: string;
  readonly scheduler: Scheduler;
  readonly sessionCache: TlsSessionCache | undefined;
  /** TLS settings for a connection to `peer`, or `false` for plain TCP. */
  choose(peer: SecurePeer): SecureChoice | false;
  /** The host name `address` was looked up as, if remembered. */
  hostnameOf(address: string): string | undefined;
  /** Reports a TLS failure (the IoT Socket API returns only a code). */
  report(error: SocketError, peer: SecurePeer): void;
  /** A fresh inner stream socket of family `af` (to dial again after a failed handshake). */
  renew(af: Af): CoreSocket | number;
}

/** Plaintext queued on receive before the TLS socket is paused. */
const RECV_HIGH = 64 * 1024;
/** Largest plaintext taken by one `send`. */
const SEND_CHUNK = 64 * 1024;
/** How long a graceful close lets pending records drain into TCP before it aborts (ms). */
const CLOSE_DRAIN_MS = 10_000;

type Phase = 'idle' | 'plain' | 'tcp' | 'handshake' | 'open' | 'failed' | 'closed';

/** See the module comment. */
export class SecureCoreSocket implements CoreSocket {
  readonly af: Af;
  readonly type: SockType = 1;

  #inner: CoreSocket;
  readonly #env: SecureSocketEnv;
  #notify: (() => void) | undefined;
  #phase: Phase = 'idle';
  #peer: SecurePeer | undefined;
  #choice: SecureChoice | undefined;
  #tcp: TcpSocket | undefined;
  #client: TlsClient | undefined;
  #failure: SocketError | undefined;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #peerEnded = false;
  #writeEnded = false;

  constructor(inner: CoreSocket, env: SecureSocketEnv) {
    this.af = inner.af;
    this.#inner = inner;
    this.#env = env;
    inner.onChange(() => this.#onInnerChange());
  }

  /** The TLS socket once the handshake started (for diagnostics and tests). */
  get tlsSocket(): tls.TLSSocket | undefined {
    return this.#client?.socket;
  }

  /** Why the connection failed, when it did (the full `SocketError`). */
  get failure(): SocketError | undefined {
    return this.#failure;
  }

  onChange(callback: (() => void) | undefined): void {
    this.#notify = callback;
  }

  #changed(): void {
    this.#notify?.();
  }

  #onInnerChange(): void {
    if (this.#phase === 'tcp') {
      const st = this.#inner.connectResult();
      if (st === IOT_SOCKET_EINPROGRESS || st === IOT_SOCKET_EALREADY) return;
      if (st === 0) this.#startTls();
      else this.#phase = 'idle'; // the inner socket reports the failure through connectResult()
    }
    this.#changed();
  }

  bind(address: Uint8Array, port: number): MaybePromise<number> {
    return this.#inner.bind(address, port);
  }

  /** Listening is not offered over TLS (server-side TLS is not part of this backend). */
  listen(_backlog: number): number {
    return IOT_SOCKET_ENOTSUP;
  }

  accept(): Accepted | number {
    return IOT_SOCKET_ENOTSUP;
  }

  connect(address: Uint8Array, port: number): MaybePromise<number> {
    switch (this.#phase) {
      case 'plain':
        return this.#inner.connect(address, port);
      case 'tcp':
      case 'handshake':
        return IOT_SOCKET_EALREADY;
      case 'open':
        return IOT_SOCKET_EISCONN;
      case 'closed':
        return IOT_SOCKET_ENOTCONN;
      case 'failed': {
        // The handshake failed on an established TCP connection, which is gone: dial
        // again from a fresh inner socket (IoT Socket lets a socket connect again after
        // a failed attempt).
        if (this.#client?.state.established === true) return IOT_SOCKET_EISCONN;
        const fresh = this.#env.renew(this.af);
        if (typeof fresh === 'number') return fresh;
        this.#inner = fresh;
        fresh.onChange(() => this.#onInnerChange());
        this.#tcp = undefined;
        this.#client = undefined;
        this.#phase = 'idle';
        break;
      }
      default:
        break;
    }
    const text = formatIp(address);
    const peer: SecurePeer = { address: text, port, hostname: this.#env.hostnameOf(text) };
    const choice = this.#env.choose(peer);
    if (choice === false) {
      this.#phase = 'plain';
      return this.#inner.connect(address, port);
    }
    this.#peer = peer;
    this.#choice = choice;
    this.#failure = undefined;
    const started = this.#inner.connect(address, port);
    const settle = (r: number): number => {
      if (r === 0) {
        this.#startTls();
        return IOT_SOCKET_EINPROGRESS;
      }
      if (r === IOT_SOCKET_EINPROGRESS) {
        this.#phase = 'tcp';
        // (a change may have come before the phase was set)
        if (this.#inner.connectResult() === 0) this.#startTls();
      }
      return r;
    };
    return typeof started === 'number' ? settle(started) : started.then(settle);
  }

  #where(op: string): TlsWhere {
    const p = this.#peer;
    const address = p === undefined ? undefined : peerText({ host: p.hostname ?? p.address, port: p.port });
    return { op, backend: this.#env.name, address };
  }

  #startTls(): void {
    const peer = this.#peer as SecurePeer;
    const choice = this.#choice as SecureChoice;
    this.#phase = 'handshake';
    const remote = SocketAddress.parse(peerText({ host: peer.address, port: peer.port }));
    // The TcpSocket takes over the inner socket's change callback: from here on our
    // changes come from the TLS socket's events.
    const tcp = new TcpSocket(this.#inner, undefined, { backend: this.#env.name, scheduler: this.#env.scheduler, untrack: () => undefined }, remote);
    this.#tcp = tcp;
    const transport = new SocketDuplex(tcp, { allowHalfOpen: true });
    const fail = (e: SocketError): void => {
      if (this.#phase === 'closed' || this.#phase === 'failed') return;
      this.#failure = e;
      this.#phase = 'failed';
      this.#env.report(e, peer);
      this.#changed();
    };
    choice.prepared.then((prepared) => {
      if (this.#phase !== 'handshake') return;
      const client = startTls({
        transport,
        options: choice.options,
        prepared,
        peer: { host: peer.hostname ?? peer.address, port: peer.port },
        sessionCache: this.#env.sessionCache,
        scheduler: this.#env.scheduler,
        where: this.#where('connect'),
        allowHalfOpen: true,
      });
      this.#client = client;
      const socket = client.socket;
      socket.on('error', (e: SocketError) => fail(e));
      socket.on('end', () => {
        this.#peerEnded = true;
        this.#changed();
      });
      socket.on('drain', () => this.#changed());
      socket.on('close', () => this.#changed());
      client.handshake.then(() => {
        if (this.#phase !== 'handshake') return;
        this.#phase = 'open';
        socket.on('data', (chunk: Uint8Array) => {
          this.#queue.push(chunk);
          this.#queued += chunk.length;
          if (this.#queued >= RECV_HIGH) socket.pause();
          this.#changed();
        });
        this.#changed();
      }, (e: SocketError) => {
        fail(e);
        socket.destroy();
      });
    }, (e: SocketError) => {
      fail(e);
      transport.destroy();
    });
  }

  connectResult(): number {
    switch (this.#phase) {
      case 'tcp':
      case 'handshake':
        return IOT_SOCKET_EINPROGRESS;
      case 'open':
        return 0;
      case 'failed':
        return this.#client?.state.established === true ? 0 : iotCodeValue((this.#failure as SocketError).code);
      default:
        return this.#inner.connectResult();
    }
  }

  recv(buf: Uint8Array, len: number, from?: RecvInfo): number {
    if (this.#phase === 'plain') return this.#inner.recv(buf, len, from);
    if (this.#phase !== 'open' && !(this.#phase === 'failed' && this.#queued > 0)) {
      if (this.#phase === 'failed' && this.#client?.state.established === true) return iotCodeValue((this.#failure as SocketError).code);
      return IOT_SOCKET_ENOTCONN;
    }
    if (this.#queued > 0) {
      if (from !== undefined) {
        const ep = this.#inner.remoteEndpoint();
        from.address = ep?.address;
        from.port = ep?.port ?? 0;
      }
      if (len === 0) return 0;
      let n = 0;
      while (n < len && this.#queue.length > 0) {
        const head = this.#queue[0] as Uint8Array;
        const take = Math.min(head.length, len - n);
        buf.set(head.subarray(0, take), n);
        n += take;
        if (take === head.length) this.#queue.shift();
        else this.#queue[0] = head.subarray(take);
      }
      this.#queued -= n;
      if (this.#queued < RECV_HIGH / 2 && this.#client?.socket.isPaused() === true) this.#client.socket.resume();
      return n;
    }
    if (this.#failure !== undefined) return iotCodeValue(this.#failure.code);
    if (this.#peerEnded) return CORE_EOF;
    return IOT_SOCKET_EAGAIN;
  }

  send(buf: Uint8Array, len: number, to?: Endpoint): number {
    if (this.#phase === 'plain') return this.#inner.send(buf, len, to);
    if (this.#phase === 'failed' && this.#failure !== undefined && this.#client?.state.established === true) {
      return iotCodeValue(this.#failure.code);
    }
    if (this.#phase !== 'open') return IOT_SOCKET_ENOTCONN;
    const socket = (this.#client as TlsClient).socket;
    if (this.#writeEnded || socket.writableEnded || socket.destroyed) return IOT_SOCKET_ENOTCONN;
    if (socket.writableNeedDrain) return IOT_SOCKET_EAGAIN;
    if (len === 0) return 0;
    const n = Math.min(len, SEND_CHUNK);
    socket.write(buf.slice(0, n)); // a copy: the caller may reuse `buf` at once
    return n;
  }

  shutdown(): number {
    if (this.#phase === 'plain') return this.#inner.shutdown();
    if (this.#phase !== 'open') return IOT_SOCKET_ENOTCONN;
    if (!this.#writeEnded) {
      this.#writeEnded = true;
      (this.#client as TlsClient).socket.end(); // close_notify, then FIN
    }
    return 0;
  }

  peerClosed(): boolean {
    if (this.#phase === 'plain' || this.#phase === 'idle' || this.#phase === 'tcp') return this.#inner.peerClosed();
    if (this.#phase === 'handshake') return false;
    return this.#peerEnded || (this.#failure !== undefined && this.#client?.state.established === true);
  }

  localEndpoint(): Endpoint | undefined {
    return this.#inner.localEndpoint();
  }

  remoteEndpoint(): Endpoint | undefined {
    return this.#inner.remoteEndpoint();
  }

  setKeepAlive(on: boolean): number {
    return this.#inner.setKeepAlive(on);
  }

  close(abort = false): MaybePromise<number> {
    const phase = this.#phase;
    this.#phase = 'closed';
    this.#notify = undefined;
    const tcp = this.#tcp;
    if (tcp === undefined) return this.#inner.close(abort);
    return this.#closeTls(tcp, abort || phase !== 'open');
  }

  async #closeTls(tcp: TcpSocket, abort: boolean): Promise<number> {
    const socket = this.#client?.socket;
    this.#queue.length = 0;
    this.#queued = 0;
    if (abort || socket === undefined || socket.destroyed) {
      socket?.destroy();
      tcp.destroy();
      await tcp.close();
      return 0;
    }
    if (!socket.writableFinished) {
      const drained = await new Promise<boolean>((resolve) => {
        const cancel = this.#env.scheduler.setTimer(CLOSE_DRAIN_MS, () => resolve(false));
        const done = (): void => {
          cancel();
          resolve(true);
        };
        if (socket.writableEnded) socket.once('finish', done).once('close', done);
        else socket.end(done); // close_notify, then FIN after the pending records
      });
      if (!drained) tcp.destroy();
    }
    await tcp.close();
    socket.destroy();
    return 0;
  }
}
