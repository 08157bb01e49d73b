/**
 * The client side of TLS over any `Duplex` (internal, shared by `connectTls`,
 * `connectTlsDuplex` and the secure IoT Socket backend): `node:tls` with our defaults
 * (verification on, SNI from the host name, none for IP literals, ALPN, sessions from a
 * cache), a handshake deadline on the injected scheduler, an `AbortSignal`, and every
 * error the `TLSSocket` emits turned into a `SocketError` (`tls-error.ts`).
 */
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { parseIp } from '../base/ip-address.ts';
import type { SocketError } from '../base/socket-error.ts';
import type { CancelTimer, Scheduler } from '../base/time.ts';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, type PreparedTls } from './tls-context.ts';
import { tlsError, toTlsSocketError, type TlsWhere } from './tls-error.ts';
import type { TlsOptions } from './tls-options.ts';
import { TlsSessionCache } from './tls-session-cache.ts';

/** The server as dialled: host name or IP literal (no brackets), and port. */
export interface TlsPeer {
  readonly host: string;
  readonly port: number;
}

/** What `startTls` needs. */
export interface StartTlsParams {
  /** The transport (connected, or connecting and emitting `'connect'` once it is). */
  readonly transport: Duplex;
  readonly options: TlsOptions;
  readonly prepared: PreparedTls;
  readonly peer: TlsPeer;
  readonly sessionCache?: TlsSessionCache | undefined;
  /** A session to offer (takes precedence over the cache). */
  readonly session?: Uint8Array | undefined;
  readonly scheduler: Scheduler;
  readonly signal?: AbortSignal | undefined;
  /** Backend and address for error details (`op` is set here). */
  readonly where: TlsWhere;
  readonly allowHalfOpen?: boolean | undefined;
}

/** Live state of a TLS client connection. */
export interface TlsClientState {
  /** True once the handshake (and verification) succeeded. */
  established: boolean;
  /** The latest session the server gave (TLS 1.3: tickets after the handshake). */
  session: Uint8Array | undefined;
  /** The first error the socket emitted (already a `SocketError`). */
  error: SocketError | undefined;
}

/** A started TLS client connection. */
export interface TlsClient {
  /** The `TLSSocket`; its `'error'` events carry `SocketError`s. */
  readonly socket: tls.TLSSocket;
  /** Resolves once the handshake succeeded; rejects with the `SocketError` of the failure. */
  readonly handshake: Promise<void>;
  readonly state: TlsClientState;
  /** Session cache key of this server. */
  readonly cacheKey: string;
  /** Name the certificate was checked against (servername, else the host). */
  readonly identity: string;
  /** The SNI name sent, if any. */
  readonly servername: string | undefined;
}

/** Node's session type (a Buffer); our bytes are accepted at run time (any ArrayBufferView). */
type NodeSession = NonNullable<tls.ConnectionOptions['session']>;

/** Formats `host:port` (`[v6]:port`). */
export function peerText(peer: TlsPeer): string {
  return peer.host.includes(':') ? `[${peer.host}]:${peer.port}` : `${peer.host}:${peer.port}`;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Passes the argument of every `'error'` event of `emitter` through `map` (used to make
 * them `SocketError`s, the original as `cause`). Node emits TLS errors from several
 * places (destroy, the handle, the wrapped stream) and `node:http` request errors from
 * several more; they all pass through `emit`.
 */
export function mapErrors<T extends EventEmitter>(emitter: T, map: (e: unknown) => unknown): void {
  const emit = emitter.emit;
  const patched = function (this: T, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') return Reflect.apply(emit, this, ['error', map(args[0])]) as boolean;
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  };
  emitter.emit = patched as T['emit'];
}

/** Starts the TLS client handshake over `params.transport`. See the module comment. */
export function startTls(params: StartTlsParams): TlsClient {
  const { options, peer, scheduler, signal } = params;
  const identity = options.servername ?? peer.host;
  const servername = parseIp(identity) === undefined ? identity : undefined;
  const cacheKey = TlsSessionCache.key(peer.host, peer.port, servername);
  const offered = params.session ?? params.sessionCache?.get(cacheKey);
  const verify = options.verify !== false;
  const state: TlsClientState = { established: false, session: undefined, error: undefined };
  const where = (): TlsWhere => ({ ...params.where, op: state.established ? 'tls' : 'connect' });

  signal?.throwIfAborted();
  // `allowHalfOpen` is honoured by tls.connect (passed to the TLSSocket) but missing from its types.
  const connectOptions: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
    socket: params.transport,
    secureContext: params.prepared.secureContext,
    // The name checked against the certificate (an IP literal is checked against its IP entries).
    host: identity,
    ...(servername !== undefined ? { servername } : {}),
    ...(options.alpn !== undefined && options.alpn.length > 0 ? { ALPNProtocols: [...options.alpn] } : {}),
    ...(offered !== undefined ? { session: offered as NodeSession } : {}),
    rejectUnauthorized: verify,
    ...(verify ? {} : { checkServerIdentity: () => undefined }),
    allowHalfOpen: params.allowHalfOpen ?? false,
  };
  const socket = tls.connect(connectOptions);
  mapErrors(socket, (e) => toTlsSocketError(e, where()));
  // Always listened to: a failure is recorded (and reported through the handshake
  // promise or the caller's own listeners), never an uncaught 'error' event.
  socket.on('error', (e: SocketError) => {
    state.error ??= e;
  });
  socket.on('session', (session: Uint8Array) => {
    state.session = session;
    params.sessionCache?.set(cacheKey, session);
  });

  const handshake = new Promise<void>((resolve, reject) => {
    let cancelTimer: CancelTimer | undefined;
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      cancelTimer?.();
      signal?.removeEventListener('abort', onAbort);
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      params.transport.off('connect', armTimer);
      if (error === undefined) {
        resolve();
        return;
      }
      if (offered !== undefined) params.sessionCache?.delete(cacheKey);
      reject(error);
    };
    const onSecure = (): void => {
      state.established = true;
      settle();
    };
    const onError = (e: SocketError): void => settle(e);
    const onClose = (): void => settle(state.error ?? tlsError('ECONNRESET', 'tls-peer-closed', where()));
    const onAbort = (): void => {
      const reason = abortReason(signal as AbortSignal);
      settle(reason);
      socket.destroy();
    };
    const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    function armTimer(): void {
      if (timeoutMs === 0 || settled || cancelTimer !== undefined) return;
      cancelTimer = scheduler.setTimer(timeoutMs, () => {
        const e = tlsError('ETIMEDOUT', 'tls-handshake-timeout', where());
        settle(e);
        socket.destroy(e);
      });
    }
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    // The deadline counts from the TCP connection (a transport still connecting says so).
    if ((params.transport as { connecting?: boolean }).connecting === true) params.transport.once('connect', armTimer);
    else armTimer();
  });
  handshake.catch(() => undefined); // reported to whoever awaits it, or through 'error' events

  return { socket, handshake, state, cacheKey, identity, servername };
}
