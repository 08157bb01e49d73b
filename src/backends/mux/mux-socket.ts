/**
 * A socket of the policy `Mux`: the socket of one interface's backend, remembered with the
 * interface it was created on, so the mux can abort it when that interface fails or the mux moves
 * away from it. After `abort`, the inner socket is reset and closed at once and every call returns
 * `ECONNABORTED` (with `lastFailure()` naming the interface and the reason): nothing waits on a
 * dead interface. Otherwise every call passes through unchanged.
 */
import {
  IOT_SOCKET_ECONNABORTED,
} from '../../base/iot-constants.ts';
import { SocketError } from '../../base/socket-error.ts';
import type { Accepted, Af, Borrowed, CoreSocket, Endpoint, MaybePromise, RecvInfo, SockType } from '../contract.ts';
import type { NetworkInterface } from '../netif/network-interface.ts';

/** What the mux needs from its sockets. */
export interface MuxSocketOwner {
  /** The socket closed (by its user, or aborted and then closed). */
  released(s: MuxSocket): void;
  /** A socket accepted on a mux listener: wrap it on the same interface. */
  adopt(inner: CoreSocket, nif: NetworkInterface): MuxSocket;
}

export class MuxSocket implements CoreSocket {
  readonly af: Af;
  readonly type: SockType;
  readonly nif: NetworkInterface;
  private readonly inner: CoreSocket;
  private readonly owner: MuxSocketOwner;
  private change: (() => void) | undefined;
  private failure: SocketError | undefined;
  private closed = false;

  constructor(inner: CoreSocket, nif: NetworkInterface, owner: MuxSocketOwner) {
    this.inner = inner;
    this.nif = nif;
    this.owner = owner;
    this.af = inner.af;
    this.type = inner.type;
  }

  /** True once aborted by the mux. */
  get aborted(): boolean {
    return this.failure !== undefined;
  }

  /** Resets the inner socket and fails every later call with `ECONNABORTED`. */
  abort(reason: string): void {
    if (this.failure !== undefined || this.closed) return;
    this.failure = new SocketError('ECONNABORTED', { op: 'socket', backend: this.nif.name, reason });
    this.inner.onChange(undefined);
    void Promise.resolve(this.inner.close(true)).catch(() => undefined);
    this.change?.();
  }

  onChange(callback: (() => void) | undefined): void {
    this.change = callback;
    if (this.failure === undefined) this.inner.onChange(callback);
  }

  bind(address: Uint8Array, port: number): MaybePromise<number> {
    return this.failure !== undefined ? IOT_SOCKET_ECONNABORTED : this.inner.bind(address, port);
  }

  listen(backlog: number): MaybePromise<number> {
    return this.failure !== undefined ? IOT_SOCKET_ECONNABORTED : this.inner.listen(backlog);
  }

  accept(): Accepted | number {
    if (this.failure !== undefined) return IOT_SOCKET_ECONNABORTED;
    const r = this.inner.accept();
    if (typeof r === 'number') return r;
    return { socket: this.owner.adopt(r.socket, this.nif), remote: r.remote };
  }

  connect(address: Uint8Array, port: number): MaybePromise<number> {
    return this.failure !== undefined ? IOT_SOCKET_ECONNABORTED : this.inner.connect(address, port);
  }

  connectResult(): number {
    return this.failure !== undefined ? IOT_SOCKET_ECONNABORTED : this.inner.connectResult();
  }

  recv(buf: Uint8Array, len: number, from?: RecvInfo): number {
    return this.failure !== undefined ? IOT_SOCKET_ECONNABORTED : this.inner.recv(buf, len, from);
  }

  send(buf: Uint8Array, len: number, to?: Endpoint): number {
    return this.failure !== undefined ? IOT_SOCKET_ECONNABORTED : this.inner.send(buf, len, to);
  }

  sendBorrowed(buf: Uint8Array, len: number): Borrowed | number {
    if (this.failure !== undefined) return IOT_SOCKET_ECONNABORTED;
    if (this.inner.sendBorrowed === undefined) {
      const n = this.inner.send(buf, len);
      return n > 0 ? { taken: n, released: Promise.resolve() } : n;
    }
    return this.inner.sendBorrowed(buf, len);
  }

  shutdown(): number {
    return this.failure !== undefined ? IOT_SOCKET_ECONNABORTED : this.inner.shutdown();
  }

  peerClosed(): boolean {
    return this.failure !== undefined ? false : this.inner.peerClosed();
  }

  localEndpoint(): Endpoint | undefined {
    return this.inner.localEndpoint();
  }

  remoteEndpoint(): Endpoint | undefined {
    return this.inner.remoteEndpoint();
  }

  setKeepAlive(on: boolean): number {
    return this.failure !== undefined ? IOT_SOCKET_ECONNABORTED : this.inner.setKeepAlive(on);
  }

  close(abort?: boolean): MaybePromise<number> {
    if (this.closed) return 0;
    this.closed = true;
    this.owner.released(this);
    if (this.failure !== undefined) return 0; // the inner socket was closed at the abort
    return this.inner.close(abort);
  }

  lastFailure(): SocketError | undefined {
    return this.failure ?? this.inner.lastFailure?.();
  }
}
