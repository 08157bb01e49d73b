/**
 * `iotnet/tls`: TLS over any stream socket of any stack.
 *
 * - `connectTls(network, target, options)` → `SecureSocket` (read/write/end/close, the
 *   negotiated parameters, session reuse) on the idiomatic API;
 *   `connectTlsDuplex(...)` → the `node:tls` `TLSSocket` at once, for mqtt.js's stream
 *   builder and `node:http(s)`'s `createConnection`.
 * - `createSecureBackend(inner, options)` / `secureSocketApi(inner, options)`: the
 *   secure variant of any stack for the IoT Socket API (and for `Network`): its stream
 *   sockets run TLS transparently, the handshake inside Connect (as CMSIS-mbedTLS over
 *   IoT Socket); settings per backend and per connection (`select`).
 * - `TlsSessionCache`: bounded session store for resumption (none is used by
 *   `connectTls` unless given; one per secure backend by default).
 * - `prepareTls(options)`: load PEM material once for many connections.
 * - `tls-error.ts` documents how TLS failures map onto `SocketError` (`code`,
 *   `detail.reason`).
 *
 * The settings are the plain-data `TlsOptions` shared with the MQTT client and the
 * cloud presets.
 *
 * @module iotnet/tls
 */
export type { PemSource, TlsOptions } from './tls-options.ts';
export { connectTls, connectTlsDuplex, type ConnectTlsOptions } from './connect-tls.ts';
export { SecureSocket, type PeerCertificateSummary } from './secure-socket.ts';
export { TlsSessionCache, type TlsSessionCacheOptions } from './tls-session-cache.ts';
export { prepareTls, DEFAULT_HANDSHAKE_TIMEOUT_MS, type PreparedTls } from './tls-context.ts';
export { classifyTlsError, type TlsFailureReason } from './tls-error.ts';
export { SecureBackend, createSecureBackend, secureSocketApi, type SecureBackendOptions, type SecurePeer } from './secure-backend.ts';
