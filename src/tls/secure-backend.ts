/**
 * `createSecureBackend(inner, options)`: the secure variant of any stack, as a
 * `SocketBackend` decorator (what CMSIS-mbedTLS is over IoT Socket). Stream sockets of
 * the returned backend run TLS over `inner`'s stream sockets; datagram sockets and name
 * lookups are `inner`'s. Whatever sits on top gets TLS transparently:
 *
 * ```ts
 * import { IotSocketLayer, iotSocketRegisterApi } from 'iotnet/iot-socket';
 * import { createHostBackend } from 'iotnet/host';
 * import { createSecureBackend } from 'iotnet/tls';
 * const secure = createSecureBackend(createHostBackend(), { ca: { file: 'root.pem' } });
 * iotSocketRegisterApi(new IotSocketLayer(secure).api());   // or secureSocketApi(...)
 * // iotSocketGetHostByName('broker.example.com', ...) then iotSocketConnect(ip, 8883):
 * // the handshake runs inside Connect, checked against 'broker.example.com'.
 * ```
 *
 * The option that turns TLS on is the wrapping itself; the TLS settings are given per
 * backend (`TlsOptions`) and per connection through `select(peer)`, which sees the
 * server's address, port and the host name it was looked up as, and returns `true`
 * (the backend's settings), `false` (plain TCP for this connection, e.g. a port other
 * than 8883/443), or `TlsOptions` merged over the backend's (another `servername`,
 * `alpn`, or other credentials: those are prepared once per returned object).
 *
 * - Names: certificates are checked against the host name that resolved to the
 *   address through this backend's `lookup` (the last 256 names are remembered), else
 *   `servername`, else the IP literal (against the certificate's IP entries; no SNI).
 *   A `servername` in the settings always wins.
 * - Connect: `EINPROGRESS` until the handshake finished (a blocking `iotSocketConnect`
 *   returns once the server is verified). Failures come back as the IoT code of the
 *   `SocketError` in the `tls-error.ts` table (`ECONNABORTED` for an untrusted, expired
 *   or misnamed certificate, `ECONNREFUSED` for the server's alert, `ETIMEDOUT` for the
 *   handshake deadline, `EINVAL` for unusable credentials); `onError` receives the
 *   full `SocketError` (the numeric API has no room for the reason). The socket may
 *   connect again afterwards (a fresh inner socket is dialled; an explicit local
 *   binding is not carried over).
 * - Sessions: a `TlsSessionCache` per backend by default, so reconnecting to the same
 *   server resumes (pass your own, or `null` for none).
 * - Close: graceful close sends `close_notify` and FIN after the pending records (it
 *   waits up to 10 s for them to reach TCP, then aborts); abort resets.
 * - Listening: not offered (`caps.listen` false, `listen` says `ENOTSUP`): client TLS
 *   only.
 */
import type { Af, BackendCaps, CoreSocket, LookupResult, SockType, SocketBackend } from '../backends/contract.ts';
import { formatIp } from '../base/ip-address.ts';
import type { SocketError } from '../base/socket-error.ts';
import type { Scheduler } from '../base/time.ts';
import { systemScheduler } from '../runtime/system-scheduler.ts';
import { IotSocketLayer, type IotSocketLayerOptions } from '../socket/iot-socket-layer.ts';
import type { IotSocketApi } from '../socket/iot-socket-types.ts';
import { SecureCoreSocket, type SecureChoice, type SecurePeer, type SecureSocketEnv } from './secure-core-socket.ts';
import { checkTlsOptions, prepareTls, type PreparedTls } from './tls-context.ts';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from './tls-context.ts';
import { toTlsSocketError, type TlsWhere } from './tls-error.ts';
import type { TlsOptions } from './tls-options.ts';
import { TlsSessionCache } from './tls-session-cache.ts';

export type { SecurePeer } from './secure-core-socket.ts';

/** Options of `createSecureBackend`: the backend's TLS settings and how it applies them. */
export interface SecureBackendOptions extends TlsOptions {
  /**
   * TLS settings per connection: `true` (default) uses the backend's, `false` leaves
   * the connection plain TCP, `TlsOptions` are merged over the backend's.
   */
  readonly select?: ((peer: SecurePeer) => TlsOptions | boolean) | undefined;
  /** Sessions for resumption (default: a new cache per backend; `null`: no resumption). */
  readonly sessionCache?: TlsSessionCache | null | undefined;
  /** Clock for handshake and close deadlines (default: real time). */
  readonly scheduler?: Scheduler | undefined;
  /** Receives every TLS failure as a `SocketError` (the IoT Socket API returns only a code). */
  readonly onError?: ((error: SocketError, peer: SecurePeer) => void) | undefined;
  /** Name in diagnostics and errors (default `'<inner name>+tls'`). */
  readonly name?: string | undefined;
}

/** Host names remembered for certificate checks. */
const MAX_NAMES = 256;

const CREDENTIAL_FIELDS = ['ca', 'cert', 'key', 'passphrase', 'minVersion'] as const;

/** The `SocketBackend` of `createSecureBackend`. See the module comment. */
export class SecureBackend implements SocketBackend {
  readonly name: string;
  readonly caps: BackendCaps;
  /** The backend underneath. */
  readonly inner: SocketBackend;
  /** The session cache in use, if any. */
  readonly sessionCache: TlsSessionCache | undefined;

  readonly #options: SecureBackendOptions;
  readonly #scheduler: Scheduler;
  readonly #names = new Map<string, string>();
  readonly #preparedFor = new WeakMap<TlsOptions, Promise<PreparedTls>>();
  #prepared: Promise<PreparedTls> | undefined;
  readonly #env: SecureSocketEnv;

  constructor(inner: SocketBackend, options: SecureBackendOptions = {}) {
    this.inner = inner;
    this.#options = options;
    this.name = options.name ?? `${inner.name}+tls`;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.sessionCache = options.sessionCache === null ? undefined : options.sessionCache ?? new TlsSessionCache();
    const handshakeMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.caps = { ...inner.caps, listen: false, connectTimeoutMs: inner.caps.connectTimeoutMs + handshakeMs };
    checkTlsOptions(options, this.#where());
    const onError = options.onError;
    this.#env = {
      name: this.name,
      scheduler: this.#scheduler,
      sessionCache: this.sessionCache,
      choose: (peer) => this.#choose(peer),
      hostnameOf: (address) => this.#names.get(address),
      renew: (af) => this.inner.createSocket(af, 1),
      report: (error, peer) => {
        try {
          onError?.(error, peer);
        } catch {
          // A throwing listener must not break the socket's state machine.
        }
      },
    };
  }

  #where(address?: string): TlsWhere {
    return { op: 'connect', backend: this.name, address };
  }

  /** The backend's own prepared credentials (made on first use). */
  #base(): Promise<PreparedTls> {
    this.#prepared ??= prepareTls(this.#options, this.#where());
    this.#prepared.catch(() => undefined);
    return this.#prepared;
  }

  #choose(peer: SecurePeer): SecureChoice | false {
    let picked: TlsOptions | boolean = true;
    if (this.#options.select !== undefined) {
      try {
        picked = this.#options.select(peer);
      } catch (e) {
        const failed = Promise.reject(toTlsSocketError(e, this.#where(`${peer.address}:${peer.port}`)));
        failed.catch(() => undefined);
        return { options: this.#options, prepared: failed };
      }
    }
    if (picked === false) return false;
    if (picked === true) return { options: this.#options, prepared: this.#base() };
    const merged: TlsOptions = { ...this.#options, ...picked };
    const ownCredentials = CREDENTIAL_FIELDS.some((f) => picked[f] !== undefined);
    if (!ownCredentials) return { options: merged, prepared: this.#base() };
    let prepared = this.#preparedFor.get(picked);
    if (prepared === undefined) {
      prepared = prepareTls(merged, this.#where(`${peer.address}:${peer.port}`));
      prepared.catch(() => undefined);
      this.#preparedFor.set(picked, prepared);
    }
    return { options: merged, prepared };
  }

  createSocket(af: Af, type: SockType): CoreSocket | number {
    const core = this.inner.createSocket(af, type);
    if (typeof core === 'number' || type !== 1) return core;
    return new SecureCoreSocket(core, this.#env);
  }

  /** `inner`'s answer. */
  hasSourceAddress(af: Af): boolean {
    return this.inner.hasSourceAddress?.(af) === true;
  }

  /** `inner`'s lookup; remembers which name gave which address, for certificate checks. */
  async lookup(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult> {
    const r = await this.inner.lookup(name, af, signal);
    if (typeof r !== 'number') {
      const text = formatIp(r);
      this.#names.delete(text);
      this.#names.set(text, name);
      if (this.#names.size > MAX_NAMES) {
        const oldest = this.#names.keys().next().value;
        if (oldest !== undefined) this.#names.delete(oldest);
      }
    }
    return r;
  }

  /** Closes `inner`. */
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/** Wraps `inner` so that its stream sockets run TLS. See the module comment. */
export function createSecureBackend(inner: SocketBackend, options: SecureBackendOptions = {}): SecureBackend {
  return new SecureBackend(inner, options);
}

/**
 * The IoT Socket API table of a secure instance over `inner`, for `iotSocketRegisterApi`:
 * `new IotSocketLayer(createSecureBackend(inner, options)).api()`.
 */
export function secureSocketApi(inner: SocketBackend, options: SecureBackendOptions = {}, layer: IotSocketLayerOptions = {}): IotSocketApi {
  const backend = createSecureBackend(inner, options);
  return new IotSocketLayer(backend, { ...layer, ...(options.scheduler !== undefined && layer.scheduler === undefined ? { scheduler: options.scheduler } : {}) }).api();
}
