/**
 * How the iotnet agents answer `http.Agent`'s calls (internal, shared by
 * `IotnetHttpAgent` and `IotnetHttpsAgent`).
 *
 * Node's `Agent#createSocket` calls `createConnection(options, oncreate)` with the
 * request's options merged with the agent's (`host` without brackets, `port`,
 * `family`, `localAddress`, `timeout`, `keepAlive`, and for HTTPS `servername` from the
 * `Host` header, empty for IP literals). It takes the stream either as the return value
 * or through `oncreate(error, stream)`, and it does not catch a throw (that would escape
 * `http.request`). So `provideConnection` returns the stream at once (the connection is
 * made in the background; its failure destroys the stream with a `SocketError`, which
 * `node:http` reports as the request's `'error'`), and turns a synchronous failure (a
 * bad target, bad TLS credentials) into `oncreate(error)`, which `node:http` reports as
 * the request's `'error'` too.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { SocketError } from '../../base/socket-error.ts';
import { socketError, type OpWhere } from '../../socket/idiomatic-support.ts';
import type { ConnectOptions, ConnectTarget, Network } from '../../socket/network.ts';
import { mapErrors } from '../../tls/tls-client.ts';
import { toHttpSocketError } from './http-error.ts';

/** The fields of `createConnection`'s options that iotnet uses (Node passes many more). */
export interface AgentConnectionOptions {
  readonly host?: string | null | undefined;
  readonly hostname?: string | null | undefined;
  readonly port?: number | string | null | undefined;
  readonly family?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly socketPath?: string | undefined;
  readonly servername?: string | undefined;
  readonly timeout?: number | undefined;
  readonly keepAlive?: boolean | undefined;
}

/** `createConnection`'s callback. */
export type ConnectionCallback = (error: Error | null, stream: Duplex) => void;

/** A stream that can take an idle timeout (`SocketDuplex`, `TLSSocket`). */
export type AgentStream = Duplex & { setTimeout(ms: number): unknown };

/** Host (without brackets) and port of `options`, unchecked (`host` first, as `net.connect`; `node:http` sets it). */
function hostPort(options: AgentConnectionOptions): { host: string; port: unknown } {
  let host = options.host || options.hostname || 'localhost';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: options.port };
}

/** Where errors of a connection for `options` happened. */
export function agentWhere(network: Network, options: AgentConnectionOptions, op = 'connect'): OpWhere {
  const { host, port } = hostPort(options);
  const hostText = host.includes(':') ? `[${host}]` : host;
  return { op, backend: network.backend.name, address: `${hostText}:${String(port ?? '')}` };
}

/** The connect target of `options`; throws `EINVAL` for a missing port or a Unix socket path. */
export function targetOf(options: AgentConnectionOptions, where: OpWhere): ConnectTarget {
  if (options.socketPath !== undefined && options.socketPath !== null) {
    throw socketError('EINVAL', where, 'unix-socket-unsupported');
  }
  const { host, port } = hostPort(options);
  const portNumber = typeof port === 'string' && /^[0-9]{1,5}$/.test(port) ? Number(port) : port;
  if (typeof portNumber !== 'number' || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    throw socketError('EINVAL', where, 'bad-port');
  }
  const family = options.family === 4 || options.family === 6 ? options.family : undefined;
  return family === undefined ? { host, port: portNumber } : { host, port: portNumber, family };
}

/** The `Network.connect` options of `options`. */
export function tcpOptionsOf(options: AgentConnectionOptions, connectTimeoutMs: number | undefined): ConnectOptions {
  const out: ConnectOptions = {};
  if (connectTimeoutMs !== undefined) out.timeoutMs = connectTimeoutMs;
  if (typeof options.localAddress === 'string') out.localAddress = options.localAddress;
  if (typeof options.localPort === 'number') out.localPort = options.localPort;
  if (options.keepAlive === true) out.keepAlive = true;
  return out;
}

/**
 * The stream for `createConnection`: `open(target, tcpOptions)` makes it (connecting in
 * the background); a synchronous failure goes to `callback` as a `SocketError` (or is
 * thrown when there is no callback). The agent's idle `timeout` is applied as
 * `net.createConnection` does.
 */
export function provideConnection(
  network: Network,
  options: AgentConnectionOptions,
  callback: ConnectionCallback | undefined,
  connectTimeoutMs: number | undefined,
  open: (target: ConnectTarget, tcp: ConnectOptions) => AgentStream,
): AgentStream | undefined {
  const where = agentWhere(network, options);
  let stream: AgentStream;
  try {
    stream = open(targetOf(options, where), tcpOptionsOf(options, connectTimeoutMs));
  } catch (e) {
    const error = e instanceof SocketError ? e : socketError('EINVAL', where, 'bad-connect-options', e);
    if (callback === undefined) throw error;
    callback(error, undefined as unknown as Duplex);
    return undefined;
  }
  if (typeof options.timeout === 'number' && options.timeout > 0) stream.setTimeout(options.timeout);
  return stream;
}

const MAPPED = Symbol('iotnet.httpRequestErrors');

/**
 * Makes the `'error'` events of `req` carry `SocketError`s for `node:http`'s own
 * connection and protocol errors (see `http-error.ts`); done once per request.
 */
export function mapRequestErrors(network: Network, req: http.ClientRequest, options: unknown): void {
  const marked = req as unknown as Record<symbol, boolean>;
  if (marked[MAPPED] === true || typeof options !== 'object' || options === null) return;
  marked[MAPPED] = true;
  const where = agentWhere(network, options as AgentConnectionOptions, 'http');
  mapErrors(req, (e) => toHttpSocketError(e, where));
}

type AddRequest = (this: http.Agent, req: http.ClientRequest, ...rest: unknown[]) => void;

/** `http.Agent.prototype.addRequest` (not in Node's type declarations). */
export function baseAddRequest(proto: http.Agent): AddRequest {
  return (proto as unknown as { addRequest: AddRequest }).addRequest;
}
