/**
 * `iotnet/iot-socket`: a faithful TypeScript port of Arm's IoT Socket API 1.2.
 *
 * The 15 `iotSocket*` functions keep their C names, argument order and numeric
 * constants; every one returns `Promise<number>`: `>= 0` on success (socket id,
 * byte count or 0), a negative `IOT_SOCKET_E*` code on failure. They never throw
 * or reject. Addresses are `Uint8Array`s of 4 or 16 bytes with an explicit length;
 * in/out parameters are boxes `{ value }`; `null` where C allows `NULL`; option
 * values are 4-byte little-endian integers.
 *
 * The functions forward to the table installed with `iotSocketRegisterApi` (the
 * upstream mux, spec §13). **Nothing is registered by default**: until a table is
 * registered every call returns `IOT_SOCKET_ERROR` (-1), exactly as the upstream
 * mux. Register a stack explicitly:
 *
 * ```ts
 * import { iotSocketRegisterApi } from 'iotnet/iot-socket';
 * import { hostSocketApi } from 'iotnet/host';
 * iotSocketRegisterApi(hostSocketApi());
 * ```
 *
 * Registering another table at run time (say from a wireless to a wired stack) is
 * defined, unlike upstream: sockets opened before keep working on the table that
 * created them until they are closed, new sockets go to the newly registered table,
 * and ids stay unique across tables. While `null` is registered every call returns
 * `IOT_SOCKET_ERROR`; sockets of earlier tables work again once a table is registered
 * (see `IotSocketMux`). `iotSocketOpenSockets()` lists the open sockets per table.
 *
 * This module holds the one piece of process-wide state of iotnet, the mux with the
 * registered table (C has the same global). Code that needs several independent
 * instances uses `IotSocketMux` or `createIotSocketApi(backend)` directly.
 *
 * @module iotnet/iot-socket
 */
import { IotSocketMux, type IotSocketMuxSocket } from './iot-socket-mux.ts';
import type { Bytes, IotSocketApi, NumRef } from './iot-socket-types.ts';

export * from '../base/iot-constants.ts';
export type { Bytes, IotSocketApi, NumRef, Ref } from './iot-socket-types.ts';
export { IOT_SOCKET_API_MEMBERS } from './iot-socket-types.ts';
export { IotSocketMux, type IotSocketMuxSocket } from './iot-socket-mux.ts';
export { IotSocketLayer, createIotSocketApi, type IotSocketLayerOptions } from './iot-socket-layer.ts';

const mux = new IotSocketMux();

/**
 * Installs the IoT Socket API table new sockets (and GetHostByName) go to; `null`
 * unregisters. Open sockets stay on the table that created them. Returns 0 (EINVAL for a non-table).
 */
export function iotSocketRegisterApi(api: IotSocketApi | null): number {
  return mux.register(api);
}

/**
 * iotnet extension (not in the C API): the sockets opened through the `iotSocket*`
 * functions and not closed yet (id, table, the table's own id), optionally of one table. For leak checks.
 */
export function iotSocketOpenSockets(api?: IotSocketApi): IotSocketMuxSocket[] {
  return mux.sockets(api);
}

/** Creates a socket: `af` AF_INET/AF_INET6, `type` SOCK_STREAM/SOCK_DGRAM, `protocol` 0 or the matching IPPROTO. Resolves to the id. */
export function iotSocketCreate(af: number, type: number, protocol: number): Promise<number> {
  return mux.socketCreate(af, type, protocol);
}
/** Binds to a local address (`ip` 4/16 bytes, all-zero = any) and port (1..65535). */
export function iotSocketBind(socket: number, ip: Bytes, ip_len: number, port: number): Promise<number> {
  return mux.socketBind(socket, ip, ip_len, port);
}
/** Listens on a bound stream socket; `backlog >= 1`. */
export function iotSocketListen(socket: number, backlog: number): Promise<number> {
  return mux.socketListen(socket, backlog);
}
/** Accepts a connection; fills the optional remote address outputs. Resolves to the new id. */
export function iotSocketAccept(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
  return mux.socketAccept(socket, ip, ip_len, port);
}
/** Connects (stream) or sets the default destination and receive filter (datagram; the unspecified address clears them). */
export function iotSocketConnect(socket: number, ip: Bytes, ip_len: number, port: number): Promise<number> {
  return mux.socketConnect(socket, ip, ip_len, port);
}
/** Receives up to `len` bytes; `len == 0` polls readability. */
export function iotSocketRecv(socket: number, buf: Bytes, len: number): Promise<number> {
  return mux.socketRecv(socket, buf, len);
}
/** Receives up to `len` bytes (one datagram) and its source address. */
export function iotSocketRecvFrom(socket: number, buf: Bytes, len: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
  return mux.socketRecvFrom(socket, buf, len, ip, ip_len, port);
}
/** Sends up to `len` bytes; `len == 0` polls writability. */
export function iotSocketSend(socket: number, buf: Bytes, len: number): Promise<number> {
  return mux.socketSend(socket, buf, len);
}
/** Sends a datagram to `ip`/`port` (ignored on stream sockets). */
export function iotSocketSendTo(socket: number, buf: Bytes, len: number, ip: Bytes, ip_len: number, port: number): Promise<number> {
  return mux.socketSendTo(socket, buf, len, ip, ip_len, port);
}
/** The local address and port. */
export function iotSocketGetSockName(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
  return mux.socketGetSockName(socket, ip, ip_len, port);
}
/** The peer address and port. */
export function iotSocketGetPeerName(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
  return mux.socketGetPeerName(socket, ip, ip_len, port);
}
/** Reads an option as a 4-byte little-endian integer. */
export function iotSocketGetOpt(socket: number, opt_id: number, opt_val: Bytes, opt_len: NumRef): Promise<number> {
  return mux.socketGetOpt(socket, opt_id, opt_val, opt_len);
}
/** Sets an option from a 4-byte little-endian integer (`opt_len` must be 4). */
export function iotSocketSetOpt(socket: number, opt_id: number, opt_val: Bytes, opt_len: number): Promise<number> {
  return mux.socketSetOpt(socket, opt_id, opt_val, opt_len);
}
/** Closes the socket and releases its id. */
export function iotSocketClose(socket: number): Promise<number> {
  return mux.socketClose(socket);
}
/** Resolves `name` to the first address of family `af` (literals without I/O). */
export function iotSocketGetHostByName(name: string | null, af: number, ip: Bytes, ip_len: NumRef): Promise<number> {
  return mux.socketGetHostByName(name, af, ip, ip_len);
}
