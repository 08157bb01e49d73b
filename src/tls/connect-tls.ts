/**
 * `connectTls` and `connectTlsDuplex`: TLS client connections over any `Network`
 * (host OS, userspace stack, AT module): a TCP connection through the network, then
 * `node:tls` over it.
 *
 * ```ts
 * import { Network } from 'iotnet';
 * import { connectTls, TlsSessionCache } from 'iotnet/tls';
 * const sessions = new TlsSessionCache();
 * const socket = await connectTls(network, 'broker.example.com:8883', {
 *   ca: { file: 'root-ca.pem' }, cert: { file: 'device.crt' }, key: { file: 'device.key' },
 *   alpn: ['mqtt'], sessionCache: sessions,
 * });
 * await socket.write('...');
 * ```
 *
 * - Verification is on by default: the chain must end at a root of `ca` (Node's
 *   bundled Mozilla roots without `ca`; given roots replace them) and the certificate
 *   must name the host: `servername`, else the host of the target. A host name is sent
 *   as SNI; an IP literal sends no SNI and is checked against the certificate's IP
 *   entries.
 * - `handshakeTimeoutMs` (default 10 s, 0 = none) bounds the handshake from the moment
 *   TCP is connected; `timeoutMs` bounds the TCP connect (name lookup included) as in
 *   `Network.connect`; `signal` aborts either.
 * - Session resumption: there is no cache by default (iotnet keeps no hidden state);
 *   pass a `TlsSessionCache` as `sessionCache` and keep it for the next connections to
 *   the same servers (a reconnecting client keeps one), or pass one `session` (bytes from
 *   `SecureSocket.session`). TLS 1.3 tickets arrive after the handshake: a connection
 *   closed before the server's first bytes were read may have none to store.
 * - `prepared` (from `prepareTls`) skips loading PEM material and building the secure
 *   context again (then `ca`, `cert`, `key`, `passphrase`, `minVersion` here are
 *   ignored).
 * - Every failure is a `SocketError`; TLS failures have the reasons of `tls-error.ts`.
 *
 * `connectTls` resolves with a `SecureSocket` once the handshake succeeded.
 * `connectTlsDuplex` returns the `node:tls` `TLSSocket` at once (connecting in the
 * background), for callers that need a stream synchronously, such as mqtt.js's stream
 * builder: `new MqttClient(() => connectTlsDuplex(network, 'broker:8883', opts), mqttOpts)`
 * or `node:https`'s `createConnection`. Its `'error'` events carry the same
 * `SocketError`s; PEM files named by `{ file }` are read synchronously there (pass
 * `prepared` to read them once, beforehand).
 */
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { SocketDuplex } from '../socket/duplex.ts';
import { socketError } from '../socket/idiomatic-support.ts';
import type { ConnectOptions, ConnectTarget, Network } from '../socket/network.ts';
import { SocketAddress } from '../socket/socket-address.ts';
import { SecureSocket } from './secure-socket.ts';
import { startTls, peerText, type TlsClient, type TlsPeer } from './tls-client.ts';
import { checkTlsOptions, isPreparedTls, prepareTls, prepareTlsSync, type PreparedTls } from './tls-context.ts';
import type { TlsWhere } from './tls-error.ts';
import type { TlsOptions } from './tls-options.ts';
import type { TlsSessionCache } from './tls-session-cache.ts';

/** Options of `connectTls` and `connectTlsDuplex`: TLS settings plus those of `Network.connect`. */
export interface ConnectTlsOptions extends TlsOptions, ConnectOptions {
  /** Sessions to resume from and to store new ones in (default: none). */
  readonly sessionCache?: TlsSessionCache | undefined;
  /** One session to offer (bytes of `SecureSocket.session`); takes precedence over the cache. */
  readonly session?: Uint8Array | undefined;
  /** Credentials already loaded by `prepareTls` (then the PEM and version fields are ignored). */
  readonly prepared?: PreparedTls | undefined;
  /**
   * Keep the writable side open after the server's `close_notify`/FIN (default false, as
   * `net.Socket`).
   */
  readonly allowHalfOpen?: boolean | undefined;
}

/** Host and port of a target, as dialled (names are not resolved here). */
export function peerOf(target: ConnectTarget): TlsPeer | undefined {
  if (target instanceof SocketAddress) return { host: target.address, port: target.port };
  if (typeof target === 'string') {
    const literal = SocketAddress.tryParse(target);
    if (literal !== undefined) return { host: literal.address, port: literal.port };
    const colon = target.lastIndexOf(':');
    if (colon <= 0 || target.indexOf(':') !== colon) return undefined;
    const port = Number(target.slice(colon + 1));
    if (!/^[0-9]{1,5}$/.test(target.slice(colon + 1)) || port > 65535) return undefined;
    return { host: target.slice(0, colon), port };
  }
  if (typeof target === 'object' && target !== null && typeof target.host === 'string' && typeof target.port === 'number') {
    const host = target.host.startsWith('[') && target.host.endsWith(']') ? target.host.slice(1, -1) : target.host;
    return { host, port: target.port };
  }
  return undefined;
}

function tcpOptions(o: ConnectTlsOptions): ConnectOptions {
  const out: ConnectOptions = {};
  if (o.signal !== undefined) out.signal = o.signal;
  if (o.timeoutMs !== undefined) out.timeoutMs = o.timeoutMs;
  if (o.localAddress !== undefined) out.localAddress = o.localAddress;
  if (o.localPort !== undefined) out.localPort = o.localPort;
  if (o.keepAlive !== undefined) out.keepAlive = o.keepAlive;
  return out;
}

function resolvePeer(network: Network, target: ConnectTarget): { peer: TlsPeer; where: TlsWhere } {
  const peer = peerOf(target);
  const backend = network.backend.name;
  if (peer === undefined) {
    throw socketError('EINVAL', { op: 'connect', backend, address: typeof target === 'string' ? target : undefined }, 'bad-target');
  }
  return { peer, where: { op: 'connect', backend, address: peerText(peer) } };
}

/**
 * Connects over `network` and runs the TLS handshake. Resolves with a `SecureSocket`
 * once the server is verified; rejects with a `SocketError`. See the module comment.
 */
export async function connectTls(network: Network, target: ConnectTarget, options: ConnectTlsOptions = {}): Promise<SecureSocket> {
  const { peer, where } = resolvePeer(network, target);
  checkTlsOptions(options, where);
  const prepared = isPreparedTls(options.prepared) ? options.prepared : await prepareTls(options, where);
  const tcp = await network.connect(target, tcpOptions(options));
  const client = startClient(network, new SocketDuplex(tcp, { allowHalfOpen: options.allowHalfOpen ?? false }), options, prepared, peer, where);
  try {
    await client.handshake;
  } catch (e) {
    client.socket.destroy();
    tcp.destroy();
    throw e;
  }
  return new SecureSocket(client, tcp, network.scheduler, where);
}

/** `startTls` with what `connectTls` and `connectTlsDuplex` take from their options. */
function startClient(network: Network, transport: Duplex, options: ConnectTlsOptions, prepared: PreparedTls, peer: TlsPeer, where: TlsWhere): TlsClient {
  return startTls({
    transport,
    options,
    prepared,
    peer,
    sessionCache: options.sessionCache,
    session: options.session,
    scheduler: network.scheduler,
    signal: options.signal,
    where,
    allowHalfOpen: options.allowHalfOpen,
  });
}

/**
 * The `node:tls` `TLSSocket` of a new connection, returned at once: TCP connects in
 * the background through `network.connectDuplex`, the handshake follows. Errors
 * (connect, handshake, later) are `'error'` events carrying `SocketError`s; synchronous
 * throws only for bad arguments (`EINVAL`). See the module comment.
 */
export function connectTlsDuplex(network: Network, target: ConnectTarget, options: ConnectTlsOptions = {}): tls.TLSSocket {
  const { peer, where } = resolvePeer(network, target);
  checkTlsOptions(options, where);
  const prepared = isPreparedTls(options.prepared) ? options.prepared : prepareTlsSync(options, where);
  const transport = network.connectDuplex(target, { ...tcpOptions(options), allowHalfOpen: options.allowHalfOpen ?? false });
  return startClient(network, transport, options, prepared, peer, where).socket;
}
