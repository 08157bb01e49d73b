/**
 * TypeScript shapes of the IoT Socket API 1.2 (spec §1, §3, §13).
 */

/** An in/out scalar (C's `uint32_t *ip_len`, `uint16_t *port`, `uint32_t *opt_len`). */
export interface Ref<T> {
  /** The value in and out. */
  value: T;
}

/** A byte buffer or C's `NULL`. */
export type Bytes = Uint8Array | null | undefined;

/** An in/out length or port box, or `NULL`. */
export type NumRef = Ref<number> | null | undefined;

/**
 * The function table of one IoT Socket backend, mirroring C's `iotSocketApi_t`
 * (members in the C order). Every member resolves to `>= 0` on success or a
 * negative `IOT_SOCKET_E*` code, and never throws or rejects.
 */
export interface IotSocketApi {
  /**
   * `iotSocketCreate`: a new socket of family `af`, `type` and `protocol` (0 = the type's default); resolves to its
   * id (>= 0) or a code (`EINVAL`, `ENOTSUP`, `ENOMEM`).
   */
  socketCreate(af: number, type: number, protocol: number): Promise<number>;
  /**
   * `iotSocketBind`: binds to `ip` (`ip_len` 4 or 16 bytes, all zeros = any) and `port` (1-65535); 0 or `EINVAL`,
   * `EADDRINUSE`, `EISCONN`, `ESOCK`.
   */
  socketBind(socket: number, ip: Bytes, ip_len: number, port: number): Promise<number>;
  /**
   * `iotSocketListen`: makes a bound stream socket listen with `backlog`; 0 or `EINVAL`, `ENOTSUP` (datagram),
   * `EISCONN`, `ESOCK`.
   */
  socketListen(socket: number, backlog: number): Promise<number>;
  /**
   * `iotSocketAccept`: the next connection of a listening socket (its id), writing the peer's address and port into
   * the boxes when given; blocks unless non-blocking (`EAGAIN`).
   */
  socketAccept(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number>;
  /**
   * `iotSocketConnect`: connects to `ip`/`port` (datagram: sets the default destination); 0, or
   * `EINPROGRESS`/`EALREADY`/`EISCONN` in non-blocking mode, or `ECONNREFUSED`, `ETIMEDOUT`, `ERROR`, ...
   */
  socketConnect(socket: number, ip: Bytes, ip_len: number, port: number): Promise<number>;
  /**
   * `iotSocketRecv`: up to `len` bytes into `buf`; the byte count, `ECONNRESET` at the peer's end of stream,
   * `EAGAIN` on timeout or when non-blocking; `len == 0` polls readability.
   */
  socketRecv(socket: number, buf: Bytes, len: number): Promise<number>;
  /**
   * `iotSocketRecvFrom`: as `socketRecv`, also writing the sender's address and port into the boxes when given (one
   * datagram per call; the rest of a longer one is dropped).
   */
  socketRecvFrom(socket: number, buf: Bytes, len: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number>;
  /**
   * `iotSocketSend`: sends up to `len` bytes of `buf`; the bytes taken (a stream may take fewer when non-blocking),
   * or `ENOTCONN`, `ECONNRESET`, `EAGAIN`; `len == 0` polls writability.
   */
  socketSend(socket: number, buf: Bytes, len: number): Promise<number>;
  /** `iotSocketSendTo`: as `socketSend`, to `ip`/`port` for a datagram socket (streams ignore the address). */
  socketSendTo(socket: number, buf: Bytes, len: number, ip: Bytes, ip_len: number, port: number): Promise<number>;
  /** `iotSocketGetSockName`: the local address and port of a bound socket into the boxes; `EINVAL` when not bound. */
  socketGetSockName(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number>;
  /** `iotSocketGetPeerName`: the peer's address and port into the boxes; `ENOTCONN` when not connected. */
  socketGetPeerName(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number>;
  /**
   * `iotSocketGetOpt`: reads option `opt_id` (`SO_RCVTIMEO`, `SO_SNDTIMEO`, `SO_KEEPALIVE`, `SO_TYPE`) as a 4-byte
   * little-endian value; `opt_len` is the buffer size in, 4 out.
   */
  socketGetOpt(socket: number, opt_id: number, opt_val: Bytes, opt_len: NumRef): Promise<number>;
  /**
   * `iotSocketSetOpt`: sets option `opt_id` (`IO_FIONBIO`, `SO_RCVTIMEO`, `SO_SNDTIMEO`, `SO_KEEPALIVE`) from a
   * 4-byte little-endian value; 0 or `EINVAL`.
   */
  socketSetOpt(socket: number, opt_id: number, opt_val: Bytes, opt_len: number): Promise<number>;
  /** `iotSocketClose`: closes the socket and frees its id; calls blocked on it end with `ESOCK`. */
  socketClose(socket: number): Promise<number>;
  /**
   * `iotSocketGetHostByName`: resolves `name` for family `af` into `ip` (`ip_len`: buffer size in, 4 or 16 out); 0,
   * `EHOSTNOTFOUND`, `ETIMEDOUT` or `EINVAL`.
   */
  socketGetHostByName(name: string | null | undefined, af: number, ip: Bytes, ip_len: NumRef): Promise<number>;
}

/** Names of the 15 members of `IotSocketApi`, in C order. */
export const IOT_SOCKET_API_MEMBERS = [
  'socketCreate', 'socketBind', 'socketListen', 'socketAccept', 'socketConnect',
  'socketRecv', 'socketRecvFrom', 'socketSend', 'socketSendTo', 'socketGetSockName',
  'socketGetPeerName', 'socketGetOpt', 'socketSetOpt', 'socketClose', 'socketGetHostByName',
] as const satisfies readonly (keyof IotSocketApi)[];
