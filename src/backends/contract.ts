/**
 * The backend contract: what every network stack (host OS, userspace TCP/IP,
 * AT-command modules) provides to the socket layer.
 *
 * Every `CoreSocket` operation is **non-blocking**: it does what it can at once and
 * returns a number, `>= 0` for success (a byte count, or 0) and a negative IoT Socket
 * code otherwise, `IOT_SOCKET_EAGAIN` when nothing can be done yet. When anything
 * changes (data arrived, room to send, connect finished, peer closed) the backend
 * calls the socket's one change callback; callbacks may be spurious and coalesced.
 * Blocking, timeouts, non-blocking mode, argument checks and the API state matrix
 * are implemented once, above this contract (`src/socket/`), for every backend.
 *
 * Control operations (bind, listen, close, name lookup) may settle asynchronously
 * (a `Promise`), because some backends need a round trip (OS bind, AT command).
 */

import type { SocketError } from '../base/socket-error.ts';

/** Address family as in IoT Socket: 1 = IPv4, 2 = IPv6. */
export type Af = 1 | 2;
/** Socket type as in IoT Socket: 1 = stream (TCP), 2 = datagram (UDP). */
export type SockType = 1 | 2;

/** An IP endpoint: raw address bytes (4 or 16, network order) and a host-order port. */
export interface Endpoint {
  /** Address bytes (4 or 16). */
  readonly address: Uint8Array;
  /** Port, 0-65535. */
  readonly port: number;
}

/** A result that is ready now or later. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Internal result of `CoreSocket.recv` on a stream socket whose peer closed in an
 * orderly way (FIN) once every byte was read. Not an IoT Socket code: the IoT Socket
 * layer turns it into `IOT_SOCKET_ECONNRESET` (spec §6 row 30), the idiomatic API
 * into end-of-stream.
 */
export const CORE_EOF = -100;

/** What a backend can do; the conformance suite reads this to report unsupported cases. */
export interface BackendCaps {
  /** Supports IPv4 sockets. */
  readonly ipv4: boolean;
  /** Supports IPv6 sockets. */
  readonly ipv6: boolean;
  /** Supports stream (TCP) sockets. */
  readonly tcp: boolean;
  /** Supports datagram (UDP) sockets. */
  readonly udp: boolean;
  /** Supports listening stream sockets. */
  readonly listen: boolean;
  /** Most sockets open at once (accepted sockets included). */
  readonly maxSockets: number;
  /** Largest UDP payload accepted by one send, IPv4 (1472 for an IP stack; an AT module may take less: Quectel 1460). */
  readonly maxDatagram: number;
  /** Connection-establishment deadline in ms (spec §7: below 18 s). */
  readonly connectTimeoutMs: number;
}

/** Result of `CoreSocket.sendBorrowed`: bytes taken, and when their buffer is free again. */
export interface Borrowed {
  readonly taken: number;
  readonly released: Promise<void>;
}

/** Result of a successful accept. */
export interface Accepted {
  /** The new connection's socket. */
  readonly socket: CoreSocket;
  /** The peer's address and port. */
  readonly remote: Endpoint;
}

/** Result of a successful datagram (or stream) receive with source address. */
export interface RecvInfo {
  /** Source of the data (the peer, for streams). Set by `recvFrom` on success. */
  address: Uint8Array | undefined;
  /** Source port (set by `recvFrom` on success). */
  port: number;
}

/**
 * A non-blocking socket of some backend. The socket layer guarantees that calls
 * arrive with valid arguments and in a valid API state (for instance `listen` only
 * on a bound stream socket, `accept` only on a listening one), so a backend checks
 * only what depends on the network or its own resources.
 */
export interface CoreSocket {
  /** Address family: 1 IPv4, 2 IPv6. */
  readonly af: Af;
  /** Socket type: 1 stream, 2 datagram. */
  readonly type: SockType;

  /** Sets the one change callback (Mbed `sigio` style): called on any change; may be spurious. */
  onChange(callback: (() => void) | undefined): void;

  /**
   * Binds to a local address (all-zero = any) and port (>= 1).
   * `0`, `EADDRINUSE`, `EINVAL` (address not local), `ERROR`.
   */
  bind(address: Uint8Array, port: number): MaybePromise<number>;

  /** Stream: starts listening with the given backlog (>= 1). `0`, `EADDRINUSE`, `ERROR`. */
  listen(backlog: number): MaybePromise<number>;

  /** Stream, listening: a pending connection, or `EAGAIN`; `ECONNABORTED` if the listener failed. */
  accept(): Accepted | number;

  /**
   * Stream: starts a connection attempt (implicitly binding if needed) and returns
   * `EINPROGRESS`, or `0` if connected at once, or a failure code.
   * The outcome is read with `connectResult()`.
   * Datagram: sets (or, with an all-zero address, clears) the default destination
   * and the receive filter; implicitly binds; `0` or a failure code.
   */
  connect(address: Uint8Array, port: number): MaybePromise<number>;

  /**
   * Stream: state of the last connection attempt: `EINPROGRESS` while pending, `0` once
   * established, or the failure code (`ECONNREFUSED`, `ETIMEDOUT`, `ECONNABORTED`, `ERROR`).
   */
  connectResult(): number;

  /**
   * Copies up to `len` bytes (one datagram, truncated to `len`, for datagram sockets)
   * into `buf`; fills `from` with the source when given. `len == 0` is a readiness poll:
   * `0` if data (or a datagram) is queued.
   * Returns bytes, `EAGAIN`, `CORE_EOF` (stream drained after FIN), `ECONNRESET` (RST),
   * `ECONNABORTED` (lost locally), `ENOTCONN`.
   */
  recv(buf: Uint8Array, len: number, from?: RecvInfo): number;

  /**
   * Queues up to `len` bytes of `buf` (copied: the caller may reuse `buf` at once).
   * Stream: bytes queued (may be fewer than `len`), or `EAGAIN` if none fit.
   * Datagram: the whole datagram or `EAGAIN`; `to` gives the destination (else the
   * default destination, else `ENOTCONN`). `len == 0` is a readiness poll.
   * Stream after the peer's FIN: sending goes on (a half-open connection: the peer may
   * still read) until `shutdown` or `close`; layers without half-close (IoT Socket, spec
   * §6 row 31) check `peerClosed()` first.
   * Errors: `ECONNRESET` (peer reset), `ECONNABORTED`, `ENOTCONN` (not connected, or
   * after `shutdown`), `EINVAL` (datagram too big), `ERROR`.
   */
  send(buf: Uint8Array, len: number, to?: Endpoint): number;

  /**
   * Optional zero-copy variant of `send` for stream sockets. The backend may keep
   * referencing `buf` after returning: the caller must not modify the taken bytes
   * until `released` settles (they were handed to the OS, or the socket closed).
   * Returns the bytes taken (>= 1) with `released`, or a code exactly as `send`
   * (`EAGAIN` when no room, errors). Used by blocking sends that wait anyway.
   */
  sendBorrowed?(buf: Uint8Array, len: number): Borrowed | number;

  /** Stream: half-closes the sending direction (FIN after queued data). Idiomatic API only. */
  shutdown(): number;

  /**
   * Stream: true once the peer closed its sending direction, in an orderly way (FIN) or
   * by a reset (RST), whether or not received data is still unread; false before, and
   * for a new connection attempt. Datagram: always false.
   * After a FIN `send` still works (half-open); after an RST it returns `ECONNRESET`.
   * The IoT Socket layer uses it for Send after peer close (spec §6 row 31: `ECONNRESET`).
   */
  peerClosed(): boolean;

  /** Local endpoint (after bind, implicit bind, connect or accept), else undefined. */
  localEndpoint(): Endpoint | undefined;

  /** Remote endpoint of a connected stream, or the default destination of a datagram socket. */
  remoteEndpoint(): Endpoint | undefined;

  /** Turns TCP keep-alive on or off; `0` or `ENOTSUP`. Datagram sockets accept and ignore it. */
  setKeepAlive(on: boolean): number;

  /**
   * Closes the socket and releases its resources. A connected stream closes
   * gracefully (FIN after queued data) unless unread data remains or `abort` is set,
   * in which case it resets (RST). Never waits for FIN/TIME-WAIT.
   */
  close(abort?: boolean): MaybePromise<number>;

  /**
   * Optional: the backend's own error behind the failure code a call last returned (the AT
   * driver's reason such as `module-reset` or `qi:566`, with its cause), so the idiomatic API can
   * pass it on. Only used when its code equals the returned code.
   */
  lastFailure?(): SocketError | undefined;
}

/** Resolver result: the first address of the requested family, or an IoT code. */
export type LookupResult = Uint8Array | number;

/** A network stack under the socket layer. */
export interface SocketBackend {
  /** Short name used in errors and diagnostics (`'host'`, `'userspace:eth0'`). */
  readonly name: string;
  /** What this backend supports (families, types, listening, limits, deadlines). */
  readonly caps: BackendCaps;
  /** Creates a socket, or returns `ENOTSUP` (family or type not available) or `ENOMEM`. */
  createSocket(af: Af, type: SockType): CoreSocket | number;
  /**
   * Resolves a host name (never a literal; the socket layer handles those) to the first
   * address of family `af`: 4 or 16 bytes, or `EHOSTNOTFOUND`, `ETIMEDOUT`, `ERROR`.
   */
  lookup(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult>;
  /**
   * True when the backend has a usable source address of family `af` beyond its own link (an
   * IPv4 address; a preferred IPv6 address of global scope). Optional: the socket layer resolves
   * a name to those families first, so an IPv6-only node (a 6LoWPAN mesh) asks for AAAA before
   * A. Without it, IPv4 goes first.
   */
  hasSourceAddress?(af: Af): boolean;
  /** Releases everything the backend holds (servers, timers). */
  close?(): Promise<void>;
}
