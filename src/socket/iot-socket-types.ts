/**
 * TypeScript shapes of the IoT Socket API 1.2 (spec §1, §3, §13).
 */

/** An in/out scalar (C's `uint32_t *ip_len`, `uint16_t *port`, `uint32_t *opt_len`). */
export interface Ref<T> {
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
  socketCreate(af: number, type: number, protocol: number): Promise<number>;
  socketBind(socket: number, ip: Bytes, ip_len: number, port: number): Promise<number>;
  socketListen(socket: number, backlog: number): Promise<number>;
  socketAccept(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number>;
  socketConnect(socket: number, ip: Bytes, ip_len: number, port: number): Promise<number>;
  socketRecv(socket: number, buf: Bytes, len: number): Promise<number>;
  socketRecvFrom(socket: number, buf: Bytes, len: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number>;
  socketSend(socket: number, buf: Bytes, len: number): Promise<number>;
  socketSendTo(socket: number, buf: Bytes, len: number, ip: Bytes, ip_len: number, port: number): Promise<number>;
  socketGetSockName(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number>;
  socketGetPeerName(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number>;
  socketGetOpt(socket: number, opt_id: number, opt_val: Bytes, opt_len: NumRef): Promise<number>;
  socketSetOpt(socket: number, opt_id: number, opt_val: Bytes, opt_len: number): Promise<number>;
  socketClose(socket: number): Promise<number>;
  socketGetHostByName(name: string | null | undefined, af: number, ip: Bytes, ip_len: NumRef): Promise<number>;
}

/** Names of the 15 members of `IotSocketApi`, in C order. */
export const IOT_SOCKET_API_MEMBERS = [
  'socketCreate', 'socketBind', 'socketListen', 'socketAccept', 'socketConnect',
  'socketRecv', 'socketRecvFrom', 'socketSend', 'socketSendTo', 'socketGetSockName',
  'socketGetPeerName', 'socketGetOpt', 'socketSetOpt', 'socketClose', 'socketGetHostByName',
] as const satisfies readonly (keyof IotSocketApi)[];
