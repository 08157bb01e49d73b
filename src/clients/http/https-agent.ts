/**
 * `IotnetHttpsAgent`: an `https.Agent` whose connections are iotnet TLS connections
 * (`connectTlsDuplex`) over any `Network`, with the settings of `TlsOptions`, so that
 * `node:https` runs over any stack with Node's connection pooling and iotnet's
 * verification, session resumption and typed TLS errors.
 *
 * ```ts
 * import https from 'node:https';
 * import { IotnetHttpsAgent } from 'iotnet/http';
 * const agent = new IotnetHttpsAgent(network, {
 *   ca: { file: 'root-ca.pem' },                          // default: Node's bundled roots
 *   cert: { file: 'device.crt' }, key: { file: 'device.key' },   // mutual TLS, optional
 * });
 * https.get('https://api.example.com/v1/config', { agent }, (res) => { ... })
 *   .on('error', (e) => { if (isSocketError(e) && e.detail.reason === 'tls-untrusted') ... });
 * agent.destroy();
 * ```
 *
 * - Verification is on by default (chain and name). The name checked and sent as SNI
 *   is `servername` of the agent if set, else the request's (Node takes it from the
 *   `Host` header, else the host); an IP literal sends no SNI and is checked against the
 *   certificate's IP entries. `verify: false` is for tests against throw-away servers.
 * - PEM material is loaded once, when the agent is made (files synchronously; pass
 *   `prepared` from `prepareTls` to load them asynchronously beforehand). Bad
 *   credentials throw `SocketError('EINVAL')` (`tls-bad-credentials`, `tls-pem-file`) there.
 * - Session resumption: the agent keeps a `TlsSessionCache` (`sessionCache`, default a
 *   new one per agent, as `https.Agent` keeps sessions; `null` for none), so a new
 *   connection to a server already visited resumes (one round trip and the certificate
 *   exchange saved).
 * - ALPN offers `http/1.1` unless `alpn` says otherwise.
 * - TLS settings belong to the agent: a request carrying `node:tls` options of its own
 *   (`ca`, `cert`, `key`, `rejectUnauthorized`, ...) fails with `EINVAL`
 *   (`tls-options-per-request`) rather than have them silently ignored; use another agent.
 * - Errors are the request's `'error'` events: TLS failures as `tls-error.ts` says
 *   (`ECONNABORTED` with `tls-untrusted`, `tls-hostname`, `tls-expired`, ...;
 *   `ECONNREFUSED` with `tls-client-cert-rejected`, ...), connection failures with their
 *   own codes, `node:http`'s as `http-error.ts` says.
 */
import https from 'node:https';
import type http from 'node:http';
import { socketError } from '../../socket/idiomatic-support.ts';
import type { Network } from '../../socket/network.ts';
import { connectTlsDuplex } from '../../tls/connect-tls.ts';
import { isPreparedTls, prepareTlsSync, type PreparedTls } from '../../tls/tls-context.ts';
import type { TlsOptions } from '../../tls/tls-options.ts';
import { TlsSessionCache } from '../../tls/tls-session-cache.ts';
import { nodeAgentOptions, type IotnetAgentOptions } from './agent-options.ts';
import {
  agentWhere,
  baseAddRequest,
  mapRequestErrors,
  provideConnection,
  type AgentConnectionOptions,
  type AgentStream,
  type ConnectionCallback,
} from './agent-connection.ts';

/** Options of `IotnetHttpsAgent`: the pool's, and the TLS settings of every connection. */
export interface IotnetHttpsAgentOptions extends IotnetAgentOptions, TlsOptions {
  /**
   * Sessions to resume from and to store new ones in: default a new `TlsSessionCache` of
   * this agent; `null` turns resumption off. Share one only between agents with the same
   * client identity (certificate and trust settings).
   */
  readonly sessionCache?: TlsSessionCache | null | undefined;
  /** Credentials already loaded by `prepareTls` (then `ca`, `cert`, `key`, `passphrase`, `minVersion` are not read again). */
  readonly prepared?: PreparedTls | undefined;
}

/** `node:tls` options a request could carry that only the agent's settings may decide. */
const PER_REQUEST_TLS = [
  'ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'checkServerIdentity', 'secureContext',
  'ALPNProtocols', 'session', 'minVersion', 'maxVersion', 'ciphers', 'crl', 'secureProtocol',
] as const;

/** The `TlsOptions` fields of `options` (the pool options left out). */
function tlsOptionsOf(options: IotnetHttpsAgentOptions): TlsOptions {
  const { keepAlive: _a, keepAliveMsecs: _b, maxSockets: _c, maxTotalSockets: _d, maxFreeSockets: _e, scheduling: _f,
    timeout: _g, connectTimeoutMs: _h, sessionCache: _i, prepared: _j, ...tls } = options;
  return tls;
}

/** An `https.Agent` over an iotnet `Network` with iotnet TLS. See the module comment. */
export class IotnetHttpsAgent extends https.Agent {
  /** The network connections are made through. */
  readonly network: Network;
  /** The sessions this agent resumes from (undefined: resumption off). */
  readonly sessionCache: TlsSessionCache | undefined;
  readonly #tls: TlsOptions;
  readonly #prepared: PreparedTls;
  readonly #connectTimeoutMs: number | undefined;

  constructor(network: Network, options: IotnetHttpsAgentOptions = {}) {
    // Node's own session cache stays off: connections are not made by https.Agent's createConnection.
    super({ ...nodeAgentOptions(options), maxCachedSessions: 0 });
    this.network = network;
    const tls = tlsOptionsOf(options);
    this.#tls = { ...tls, alpn: tls.alpn ?? ['http/1.1'] };
    this.#prepared = isPreparedTls(options.prepared)
      ? options.prepared
      : prepareTlsSync(this.#tls, { op: 'tls', backend: network.backend.name });
    this.sessionCache = options.sessionCache === null ? undefined : (options.sessionCache ?? new TlsSessionCache());
    this.#connectTimeoutMs = options.connectTimeoutMs;
  }

  /** @internal Called by `node:http` for each request. */
  addRequest(req: http.ClientRequest, options: unknown, ...legacy: unknown[]): void {
    mapRequestErrors(this.network, req, options);
    baseAddRequest(https.Agent.prototype).call(this, req, options, ...legacy);
  }

  /**
   * A new TLS connection for `http.Agent` (see `agent-connection.ts`): the `TLSSocket`
   * of `connectTlsDuplex`, returned at once, connecting and verifying in the background.
   */
  override createConnection(options: AgentConnectionOptions, callback?: ConnectionCallback): AgentStream | undefined {
    return provideConnection(this.network, options, callback, this.#connectTimeoutMs, (target, tcp) => {
      const given = PER_REQUEST_TLS.filter((k) => (options as Record<string, unknown>)[k] !== undefined);
      if (given.length > 0) {
        throw socketError('EINVAL', agentWhere(this.network, options), 'tls-options-per-request',
          new Error(`IotnetHttpsAgent: TLS settings belong to the agent, not to a request (got ${given.join(', ')})`));
      }
      const servername = this.#tls.servername ?? (options.servername !== '' ? options.servername : undefined);
      return connectTlsDuplex(this.network, target, {
        ...this.#tls,
        ...(servername !== undefined ? { servername } : {}),
        ...tcp,
        prepared: this.#prepared,
        sessionCache: this.sessionCache,
      });
    });
  }
}
