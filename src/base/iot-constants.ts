/**
 * IoT Socket API 1.2 constants, with the exact numeric values of Arm's
 * `iot_socket.h` (MDK-Packs/IoT_Socket). One source of truth: the error table,
 * `SocketError` and docs/errors.md are derived from `IOT_CODES` below.
 */

/** Address family: IPv4 (4-byte address). */
export const IOT_SOCKET_AF_INET = 1;
/** Address family: IPv6 (16-byte address). */
export const IOT_SOCKET_AF_INET6 = 2;

/** Socket type: stream (TCP). */
export const IOT_SOCKET_SOCK_STREAM = 1;
/** Socket type: datagram (UDP). */
export const IOT_SOCKET_SOCK_DGRAM = 2;

/** Protocol: TCP (only with SOCK_STREAM). */
export const IOT_SOCKET_IPPROTO_TCP = 1;
/** Protocol: UDP (only with SOCK_DGRAM). */
export const IOT_SOCKET_IPPROTO_UDP = 2;

/** Option: non-blocking mode (set only; 0 = blocking). */
export const IOT_SOCKET_IO_FIONBIO = 1;
/** Option: receive timeout in ms in blocking mode (0 = forever). */
export const IOT_SOCKET_SO_RCVTIMEO = 2;
/** Option: send timeout in ms in blocking mode (0 = forever). */
export const IOT_SOCKET_SO_SNDTIMEO = 3;
/** Option: keep-alive (effective on stream sockets). */
export const IOT_SOCKET_SO_KEEPALIVE = 4;
/** Option: socket type (get only). */
export const IOT_SOCKET_SO_TYPE = 5;

/** Unspecified error. */
export const IOT_SOCKET_ERROR = -1;
/** Invalid socket. */
export const IOT_SOCKET_ESOCK = -2;
/** Invalid argument. */
export const IOT_SOCKET_EINVAL = -3;
/** Operation not supported. */
export const IOT_SOCKET_ENOTSUP = -4;
/** Not enough memory. */
export const IOT_SOCKET_ENOMEM = -5;
/** Operation would block or timed out. */
export const IOT_SOCKET_EAGAIN = -6;
/** Operation in progress. */
export const IOT_SOCKET_EINPROGRESS = -7;
/** Operation timed out. */
export const IOT_SOCKET_ETIMEDOUT = -8;
/** Socket is connected. */
export const IOT_SOCKET_EISCONN = -9;
/** Socket is not connected. */
export const IOT_SOCKET_ENOTCONN = -10;
/** Connection rejected by the peer. */
export const IOT_SOCKET_ECONNREFUSED = -11;
/** Connection reset by the peer. */
export const IOT_SOCKET_ECONNRESET = -12;
/** Connection aborted locally. */
export const IOT_SOCKET_ECONNABORTED = -13;
/** Connection already in progress. */
export const IOT_SOCKET_EALREADY = -14;
/** Address in use. */
export const IOT_SOCKET_EADDRINUSE = -15;
/** Host not found. */
export const IOT_SOCKET_EHOSTNOTFOUND = -16;

const CODE_TABLE = [
  { name: 'ERROR', value: -1, message: 'Unspecified error' },
  { name: 'ESOCK', value: -2, message: 'Invalid socket' },
  { name: 'EINVAL', value: -3, message: 'Invalid argument' },
  { name: 'ENOTSUP', value: -4, message: 'Operation not supported' },
  { name: 'ENOMEM', value: -5, message: 'Not enough memory' },
  { name: 'EAGAIN', value: -6, message: 'Operation would block or timed out' },
  { name: 'EINPROGRESS', value: -7, message: 'Operation in progress' },
  { name: 'ETIMEDOUT', value: -8, message: 'Operation timed out' },
  { name: 'EISCONN', value: -9, message: 'Socket is connected' },
  { name: 'ENOTCONN', value: -10, message: 'Socket is not connected' },
  { name: 'ECONNREFUSED', value: -11, message: 'Connection rejected by the peer' },
  { name: 'ECONNRESET', value: -12, message: 'Connection reset by the peer' },
  { name: 'ECONNABORTED', value: -13, message: 'Connection aborted locally' },
  { name: 'EALREADY', value: -14, message: 'Connection already in progress' },
  { name: 'EADDRINUSE', value: -15, message: 'Address in use' },
  { name: 'EHOSTNOTFOUND', value: -16, message: 'Host not found' },
] as const;

/** The name of an IoT Socket error code, without the `IOT_SOCKET_` prefix. */
export type IotCode = (typeof CODE_TABLE)[number]['name'];

/** One IoT Socket error code. */
export interface IotCodeEntry {
  /** The name without the `IOT_SOCKET_` prefix (`'EAGAIN'`). */
  readonly name: IotCode;
  /** The numeric value (-1 ... -16). */
  readonly value: number;
  /** A short description (after `iot_socket.h`). */
  readonly message: string;
}

/** The IoT Socket error codes by name, in numeric order (-1 ... -16): entry `-value - 1` is the code `value`. */
export const IOT_CODES: readonly IotCodeEntry[] = CODE_TABLE;

/** `IOT_SOCKET_E*` name of a numeric code (`-6` -> `'EAGAIN'`); `'ERROR'` for anything unknown. */
export function iotCodeName(value: number): IotCode {
  const entry = IOT_CODES[-value - 1];
  return entry !== undefined && entry.value === value ? entry.name : 'ERROR';
}

/** Numeric value of a code name (`'EAGAIN'` -> `-6`). */
export function iotCodeValue(name: IotCode): number {
  return IOT_CODES.findIndex((c) => c.name === name) * -1 - 1;
}

/** Human-readable message of a code name. */
export function iotCodeMessage(name: IotCode): string {
  return IOT_CODES[-iotCodeValue(name) - 1]?.message ?? 'Unspecified error';
}
