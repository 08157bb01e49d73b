/**
 * `httpRequest(network, url, options)`: one HTTP(S) request over any iotnet stack,
 * resolved with the whole response (`HttpResponse`: status, headers, body bytes).
 *
 * ```ts
 * import { httpRequest, IotnetHttpsAgent } from 'iotnet/http';
 * const res = await httpRequest(network, 'http://10.0.0.2:8080/readings', {
 *   method: 'POST', headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ t: 21.5 }), timeoutMs: 10_000,
 * });
 * if (!res.ok) throw new Error(`HTTP ${res.status}`);
 *
 * // HTTPS, reusing connections and TLS sessions across requests: keep an agent.
 * const agent = new IotnetHttpsAgent(network, { ca: { file: 'root-ca.pem' } });
 * const config = (await httpRequest(network, 'https://api.example.com/v1/config', { agent })).json();
 * agent.destroy();
 * ```
 *
 * - Without `agent`, the request gets a connection of its own (`Connection: close`),
 *   over TLS with the `tls` settings for `https:` (verification on; PEM files are read
 *   asynchronously). With `agent` (an `IotnetHttpAgent` for `http:` or an
 *   `IotnetHttpsAgent` for `https:`, on the same network), connections are pooled and
 *   kept alive by the agent, with the agent's TLS settings.
 * - A request sent over a kept connection that the server had closed meanwhile (a
 *   hang-up before any response) is sent once more on a new connection when its method
 *   is idempotent (GET, HEAD, OPTIONS, PUT, DELETE, TRACE), as browsers do.
 * - `timeoutMs` bounds the whole exchange (connect, TLS, request, response body):
 *   `SocketError('ETIMEDOUT', reason 'timeout')`; `signal` aborts it: rejects with the
 *   signal's reason. Either way the connection is closed.
 * - The body is kept in memory: `maxResponseBytes` (default 16 MiB) bounds it
 *   (`ENOMEM`, `http-body-too-large`). Redirects are not followed; content encodings are
 *   not decoded. For streaming, use `node:http` with the agents directly.
 * - Every failure is a `SocketError` (see `http-error.ts`), except an abort.
 */
import http from 'node:http';
import https from 'node:https';
import { abortReason, checkTimeout, socketError, type OpWhere } from '../../socket/idiomatic-support.ts';
import type { Network } from '../../socket/network.ts';
import { prepareTls, type PreparedTls } from '../../tls/tls-context.ts';
import type { TlsOptions } from '../../tls/tls-options.ts';
import type { TlsSessionCache } from '../../tls/tls-session-cache.ts';
import { toHttpFailure } from './http-error.ts';
import { HttpResponse } from './http-response.ts';
import { IotnetHttpAgent } from './http-agent.ts';
import { IotnetHttpsAgent } from './https-agent.ts';

/** TLS settings of an `https:` request made without an agent. */
export interface HttpRequestTlsOptions extends TlsOptions {
  /** Sessions to resume from and to store new ones in (default: none). */
  readonly sessionCache?: TlsSessionCache | undefined;
  /** Credentials already loaded by `prepareTls`. */
  readonly prepared?: PreparedTls | undefined;
}

/** Options of `httpRequest`. */
export interface HttpRequestOptions {
  /** Method (default `'GET'`). */
  readonly method?: string | undefined;
  /** Request headers (`Host`, and `Content-Length` for a body, are added). */
  readonly headers?: Readonly<Record<string, string | number | readonly string[]>> | undefined;
  /** Request body: bytes, or text sent as UTF-8. */
  readonly body?: string | Uint8Array | undefined;
  /** Aborts the exchange: rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Deadline of the whole exchange in ms (default none; 0 = none). */
  readonly timeoutMs?: number | undefined;
  /** Pooled connections (the agent's protocol must match the URL's; same network). */
  readonly agent?: IotnetHttpAgent | IotnetHttpsAgent | undefined;
  /** TLS settings for an `https:` URL without `agent` (with one, the agent's apply). */
  readonly tls?: HttpRequestTlsOptions | undefined;
  /** Largest response body accepted, in bytes (default 16 MiB). */
  readonly maxResponseBytes?: number | undefined;
}

/** Default bound of a response body held in memory. */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Why one attempt failed, and whether it may be retried on a new connection. */
interface AttemptFailure {
  readonly error: unknown;
  /** The request went over a kept connection and got no response at all. */
  readonly stale: boolean;
}

interface Exchange {
  readonly url: URL;
  readonly agent: http.Agent;
  readonly method: string;
  readonly headers: Readonly<Record<string, string | number | readonly string[]>>;
  readonly body: Buffer | undefined;
  readonly maxBytes: number;
  readonly where: OpWhere;
}

function parseUrl(url: string | URL, where: OpWhere): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw socketError('EINVAL', where, 'http-bad-request', e);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw socketError('EINVAL', where, 'http-bad-request', new Error(`unsupported protocol ${parsed.protocol}`));
  }
  return parsed;
}

function badOption(where: OpWhere, what: string): never {
  throw socketError('EINVAL', where, 'http-bad-request', new Error(what));
}

/** The agent of the exchange: the caller's (checked), or a one-shot one (to destroy afterwards). */
async function agentFor(network: Network, url: URL, options: HttpRequestOptions, where: OpWhere): Promise<{ agent: http.Agent; owned: boolean }> {
  const secure = url.protocol === 'https:';
  const given = options.agent;
  if (given !== undefined) {
    if (!(given instanceof IotnetHttpAgent) && !(given instanceof IotnetHttpsAgent)) badOption(where, '`agent` must be an IotnetHttpAgent or IotnetHttpsAgent');
    if ((given instanceof IotnetHttpsAgent) !== secure) badOption(where, `the agent does not speak ${url.protocol}`);
    if (given.network !== network) badOption(where, 'the agent belongs to another network');
    if (options.tls !== undefined) badOption(where, '`tls` and `agent` do not go together: the agent has the TLS settings');
    return { agent: given, owned: false };
  }
  if (!secure) return { agent: new IotnetHttpAgent(network, { keepAlive: false }), owned: true };
  const tls = options.tls ?? {};
  const prepared = tls.prepared ?? (await prepareTls(tls, { ...where, op: 'tls' }));
  return {
    agent: new IotnetHttpsAgent(network, { ...tls, prepared, sessionCache: tls.sessionCache ?? null, keepAlive: false }),
    owned: true,
  };
}

/** Makes one request over `network`. See the module comment. */
export async function httpRequest(network: Network, url: string | URL, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const where0: OpWhere = { op: 'http', backend: network.backend.name, address: typeof url === 'string' ? url : url.href };
  const parsed = parseUrl(url, where0);
  const port = parsed.port !== '' ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
  const where: OpWhere = { ...where0, address: `${parsed.hostname}:${port}` };
  checkTimeout(options.timeoutMs, where);
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (typeof maxBytes !== 'number' || !(maxBytes >= 0)) badOption(where, 'bad maxResponseBytes');
  const body = options.body;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) badOption(where, '`body` must be text or bytes');
  options.signal?.throwIfAborted();
  const { agent, owned } = await agentFor(network, parsed, options, where);
  try {
    options.signal?.throwIfAborted();
    return await exchange(network, options, {
      url: parsed,
      agent,
      method: (options.method ?? 'GET').toUpperCase(),
      headers: options.headers ?? {},
      body: body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
      maxBytes,
      where,
    });
  } finally {
    if (owned) agent.destroy();
  }
}

/** Runs the exchange under the deadline and the signal, retrying once on a stale kept connection. */
async function exchange(network: Network, options: HttpRequestOptions, x: Exchange): Promise<HttpResponse> {
  let current: http.ClientRequest | undefined;
  let stopError: unknown;
  let stop: (e: unknown) => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => {
    stop = (e) => {
      if (stopError !== undefined) return;
      stopError = e;
      current?.destroy();
      reject(e);
    };
  });
  stopped.catch(() => undefined);
  const signal = options.signal;
  const onAbort = (): void => stop(abortReason(signal as AbortSignal));
  signal?.addEventListener('abort', onAbort, { once: true });
  const timeoutMs = options.timeoutMs ?? 0;
  const cancelTimer = timeoutMs > 0 ? network.scheduler.setTimer(timeoutMs, () => stop(socketError('ETIMEDOUT', x.where, 'timeout'))) : undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        return await Promise.race([send(x, (req) => (current = req)), stopped]);
      } catch (e) {
        if (stopError !== undefined) throw stopError;
        const failure = e as AttemptFailure;
        if (failure.stale && attempt === 0 && IDEMPOTENT.has(x.method)) continue;
        throw toHttpFailure(failure.error, x.where);
      }
    }
  } finally {
    cancelTimer?.();
    signal?.removeEventListener('abort', onAbort);
  }
}

/** One attempt: resolves with the complete response, rejects with an `AttemptFailure`. */
function send(x: Exchange, onRequest: (req: http.ClientRequest) => void): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      const request = x.url.protocol === 'https:' ? https.request : http.request;
      req = request(x.url, { method: x.method, headers: x.headers as http.OutgoingHttpHeaders, agent: x.agent });
    } catch (error) {
      reject({ error, stale: false } satisfies AttemptFailure);
      return;
    }
    onRequest(req);
    let responded = false;
    const fail = (error: unknown): void => reject({ error, stale: !responded && req.reusedSocket } satisfies AttemptFailure);
    const tooLarge = (): void => {
      fail(socketError('ENOMEM', x.where, 'http-body-too-large'));
      req.destroy();
    };
    req.on('error', fail);
    req.on('response', (res: http.IncomingMessage) => {
      responded = true;
      res.on('error', fail);
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > x.maxBytes) {
        tooLarge();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > x.maxBytes) tooLarge();
        else chunks.push(chunk);
      });
      res.on('end', () => {
        const body = new Uint8Array(size);
        let offset = 0;
        for (const c of chunks) {
          body.set(c, offset);
          offset += c.length;
        }
        resolve(new HttpResponse({
          url: x.url.href,
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          httpVersion: res.httpVersion,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body,
          reusedConnection: req.reusedSocket,
        }));
      });
    });
    req.end(x.body);
  });
}
