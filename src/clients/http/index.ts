/**
 * `iotnet/http`: `node:http` and `node:https` over any iotnet stack.
 *
 * - `IotnetHttpAgent(network, options)`: an `http.Agent` whose connections go through
 *   `network` (Node's keep-alive pooling included): `http.request(url, { agent })`.
 * - `IotnetHttpsAgent(network, options)`: an `https.Agent` whose connections are iotnet
 *   TLS connections (`TlsOptions`: verification on, SNI from the request's host, CA
 *   bundles, client certificates, a session cache for resumption, typed TLS errors).
 * - `httpRequest(network, url, options)`: one request, resolved with status, headers
 *   and body bytes (`HttpResponse`), with `timeoutMs`, `AbortSignal` and a body bound.
 *
 * ```ts
 * import http from 'node:http';
 * import { IotnetHttpAgent, IotnetHttpsAgent, httpRequest } from 'iotnet/http';
 *
 * const agent = new IotnetHttpAgent(network);
 * http.get('http://10.0.0.2:8080/status', { agent }, (res) => res.pipe(process.stdout));
 *
 * const tlsAgent = new IotnetHttpsAgent(network, { ca: { file: 'root-ca.pem' } });
 * const res = await httpRequest(network, 'https://api.example.com/v1/config', { agent: tlsAgent, timeoutMs: 10_000 });
 * console.log(res.status, res.json());
 * ```
 *
 * Failures are `SocketError`s: the connection's (`ECONNREFUSED`, ...), TLS ones with the
 * reasons of `iotnet/tls` (`tls-untrusted`, `tls-hostname`, ...), and `node:http`'s own
 * mapped as `http-error.ts` documents.
 *
 * @module iotnet/http
 */
export { IotnetHttpAgent, type IotnetHttpAgentOptions } from './http-agent.ts';
export { IotnetHttpsAgent, type IotnetHttpsAgentOptions } from './https-agent.ts';
export type { IotnetAgentOptions } from './agent-options.ts';
export { httpRequest, DEFAULT_MAX_RESPONSE_BYTES, type HttpRequestOptions, type HttpRequestTlsOptions } from './http-request.ts';
export { HttpResponse, type HttpResponseInit } from './http-response.ts';
export type { HttpFailureReason } from './http-error.ts';
