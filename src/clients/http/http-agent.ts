/**
 * `IotnetHttpAgent`: an `http.Agent` whose connections go through an iotnet `Network`
 * (host OS stack, userspace TCP/IP, AT module), so that `node:http` (and libraries that
 * take an `agent`) run over any stack, with Node's own connection pooling.
 *
 * ```ts
 * import http from 'node:http';
 * import { IotnetHttpAgent } from 'iotnet/http';
 * const agent = new IotnetHttpAgent(network);             // keep-alive on, as Node's global agent
 * http.get('http://sensor-hub.local:8080/status', { agent }, (res) => { ... })
 *   .on('error', (e) => { if (isSocketError(e, 'ECONNREFUSED')) ... });
 * // ... later
 * agent.destroy();                                        // closes the kept connections
 * ```
 *
 * - Connections are made with `network.connectDuplex` (names resolve through the
 *   network's `lookup`; `family`, `localAddress` and `localPort` of the request apply),
 *   kept and reused by `http.Agent` (`keepAlive`, `maxSockets`, `maxFreeSockets`,
 *   `scheduling`, `timeout`: see `IotnetAgentOptions`); `req.reusedSocket` says whether a
 *   request went over a kept connection.
 * - Errors are the request's `'error'` events, `SocketError`s with an IoT Socket `code`:
 *   the connection's own (`ECONNREFUSED`, `EHOSTNOTFOUND`, `ETIMEDOUT`, ...) and
 *   `node:http`'s hang-ups and protocol errors mapped as `http-error.ts` says.
 * - Unix socket paths (`socketPath`) are refused (`EINVAL`).
 * - Kept connections hold the process open until they idle out (`timeout`, 5 s by
 *   default) or `agent.destroy()`: `unref()` has no effect on iotnet connections.
 */
import http from 'node:http';
import type { Network } from '../../socket/network.ts';
import { nodeAgentOptions, type IotnetAgentOptions } from './agent-options.ts';
import {
  baseAddRequest,
  mapRequestErrors,
  provideConnection,
  type AgentConnectionOptions,
  type AgentStream,
  type ConnectionCallback,
} from './agent-connection.ts';

/** Options of `IotnetHttpAgent`. */
export type IotnetHttpAgentOptions = IotnetAgentOptions;

/** An `http.Agent` over an iotnet `Network`. See the module comment. */
export class IotnetHttpAgent extends http.Agent {
  /** The network connections are made through. */
  readonly network: Network;
  readonly #connectTimeoutMs: number | undefined;

  constructor(network: Network, options: IotnetHttpAgentOptions = {}) {
    super(nodeAgentOptions(options));
    this.network = network;
    this.#connectTimeoutMs = options.connectTimeoutMs;
  }

  /** @internal Called by `node:http` for each request. */
  addRequest(req: http.ClientRequest, options: unknown, ...legacy: unknown[]): void {
    mapRequestErrors(this.network, req, options);
    baseAddRequest(http.Agent.prototype).call(this, req, options, ...legacy);
  }

  /**
   * A new connection for `http.Agent` (see `agent-connection.ts`): a `SocketDuplex`
   * returned at once, connecting in the background.
   */
  override createConnection(options: AgentConnectionOptions, callback?: ConnectionCallback): AgentStream | undefined {
    return provideConnection(this.network, options, callback, this.#connectTimeoutMs, (target, tcp) =>
      this.network.connectDuplex(target, tcp));
  }
}
