/**
 * `iotnet`: the idiomatic, promise-first networking API.
 *
 * A `Network` runs over one backend (network stack) and makes TCP connections
 * (`connect` → `TcpSocket`), listeners (`listen` → `TcpServer`), UDP sockets (`udp` →
 * `UdpSocket`) and name lookups. Every failure is a `SocketError` whose `code` is an
 * IoT Socket code name (`'ECONNREFUSED'`, `'ETIMEDOUT'`, ...), with `detail` (`op`,
 * `backend`, `address`, `reason`) and `cause`. Calls take `{ signal, timeoutMs }`: a
 * timeout rejects with `ETIMEDOUT` (reason `'timeout'`), an abort with the signal's reason.
 *
 * The functions exported here (`connect`, `listen`, `udp`, `lookup`) use
 * `defaultNetwork`, a `Network` over the host operating system's stack:
 *
 * ```ts
 * import { connect } from 'iotnet';
 * const socket = await connect('example.com:80', { timeoutMs: 5000 });
 * await socket.write('HEAD / HTTP/1.0\r\n\r\n');
 * for await (const chunk of socket) console.log(new TextDecoder().decode(chunk));
 * ```
 *
 * Other stacks: `new Network(backend)`. Adapters: `socket.toDuplex()` and
 * `network.connectDuplex(target)` give `node:stream` Duplexes for `node:tls`,
 * `node:http` and mqtt.js. The numeric IoT Socket API is `iotnet/iot-socket`.
 *
 * TLS over any of these stacks: `connectTls(network, target, options)` →
 * `SecureSocket`, `connectTlsDuplex(...)` → a `node:tls` `TLSSocket` at once (also in
 * `iotnet/tls`, with the secure IoT Socket backend).
 *
 * `node:http` / `node:https` over any stack: `IotnetHttpAgent`, `IotnetHttpsAgent` and
 * `httpRequest` in `iotnet/http`.
 *
 * @module iotnet
 */
import { createHostBackend } from './backends/host/index.ts';
import { Network } from './socket/network.ts';
import type { ConnectOptions, ConnectTarget, ListenOptions, LookupOptions, UdpOptions } from './socket/network.ts';
import type { TcpServer } from './socket/tcp-server.ts';
import type { TcpSocket } from './socket/tcp-socket.ts';
import type { UdpSocket } from './socket/udp-socket.ts';

export { Network } from './socket/network.ts';
export type {
  ConnectDuplexOptions,
  ConnectOptions,
  ConnectTarget,
  ListenOptions,
  LookupOptions,
  NetworkOptions,
  UdpOptions,
} from './socket/network.ts';
export { TcpSocket } from './socket/tcp-socket.ts';
export type { ReadOptions, WriteOptions } from './socket/tcp-socket.ts';
export { TcpServer } from './socket/tcp-server.ts';
export type { AcceptOptions } from './socket/tcp-server.ts';
export { UdpSocket } from './socket/udp-socket.ts';
export type { Datagram, RecvOptions, SendOptions } from './socket/udp-socket.ts';
export { SocketDuplex } from './socket/duplex.ts';
export type { SocketDuplexOptions } from './socket/duplex.ts';
export { SocketAddress } from './socket/socket-address.ts';
export { SocketError, isSocketError } from './base/socket-error.ts';
export type { SocketErrorDetail } from './base/socket-error.ts';
export type { IotCode } from './base/iot-constants.ts';
export type { SocketBackend } from './backends/contract.ts';
export { SecureSocket, TlsSessionCache, connectTls, connectTlsDuplex, prepareTls } from './tls/index.ts';
export type {
  ConnectTlsOptions,
  PeerCertificateSummary,
  PemSource,
  PreparedTls,
  TlsFailureReason,
  TlsOptions,
  TlsSessionCacheOptions,
} from './tls/index.ts';

/** A `Network` over the host operating system's TCP/IP stack. */
export const defaultNetwork: Network = new Network(createHostBackend());

/** `defaultNetwork.connect`: a TCP connection over the host stack. */
export function connect(target: ConnectTarget, opts?: ConnectOptions): Promise<TcpSocket> {
  return defaultNetwork.connect(target, opts);
}

/** `defaultNetwork.listen`: a TCP listener on the host stack. */
export function listen(opts: ListenOptions): Promise<TcpServer> {
  return defaultNetwork.listen(opts);
}

/** `defaultNetwork.udp`: a UDP socket on the host stack. */
export function udp(opts?: UdpOptions): Promise<UdpSocket> {
  return defaultNetwork.udp(opts);
}

/** `defaultNetwork.lookup`: resolves a host name with the host's resolver. */
export function lookup(name: string, opts?: LookupOptions): Promise<string> {
  return defaultNetwork.lookup(name, opts);
}
