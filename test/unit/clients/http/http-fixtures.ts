/**
 * HTTP and HTTPS servers for the `iotnet/http` tests, on the stacks of the TLS fixtures
 * (`test/unit/tls/tls-fixtures.ts`): on the host stack (servers on 127.0.0.1) and over
 * two userspace stacks (servers on stack B, 10.0.0.2, name `broker.test`).
 *
 * The `node:http` server is never bound: each accepted connection (a `net.Socket`, our
 * `SocketDuplex`, or the server-side `TLSSocket` over either) is handed to it with
 * `emit('connection', socket)`, so its whole behaviour (keep-alive, chunked encoding,
 * timeouts) runs over every stack. The handle counts connections and requests and
 * keeps the server-side sockets, for keep-alive and resumption checks.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { Fixture } from '../../tls/tls-fixtures.ts';

export { FIXTURES, fixturePerTest, hostFixture, userspaceFixture, type Fixture } from '../../tls/tls-fixtures.ts';

/** An HTTP(S) server of a fixture. */
export interface HttpServerHandle {
  readonly port: number;
  /** Server-side connections, in order of arrival (TLS: after the handshake). */
  readonly connections: Duplex[];
  /** Requests handled, in order. */
  readonly requests: http.IncomingMessage[];
  /** Resolves once `count` requests arrived in all. */
  requested(count: number): Promise<void>;
  /** `http://host:port` (or `https://`) for the fixture's server name. */
  readonly origin: string;
  /** The same with the server's IP literal. */
  readonly ipOrigin: string;
}

/** Counts what reaches `server`; `accept` hands it a connection. */
function track(server: http.Server): Omit<HttpServerHandle, 'port' | 'origin' | 'ipOrigin'> & { accept: (s: Duplex) => void } {
  const connections: Duplex[] = [];
  const requests: http.IncomingMessage[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  // Counted before the test's listener runs.
  server.prependListener('request', (req: http.IncomingMessage) => {
    requests.push(req);
    for (const w of waiters.filter((x) => requests.length >= x.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    connections,
    requests,
    requested: (count) => new Promise<void>((resolve) => {
      if (requests.length >= count) resolve();
      else waiters.push({ count, resolve });
    }),
    accept: (s) => {
      connections.push(s);
      server.emit('connection', s);
    },
  };
}

function handle(fx: Fixture, scheme: 'http' | 'https', port: number, t: ReturnType<typeof track>): HttpServerHandle {
  return {
    port,
    connections: t.connections,
    requests: t.requests,
    requested: t.requested,
    origin: `${scheme}://${fx.serverName}:${port}`,
    ipOrigin: `${scheme}://${fx.serverIp}:${port}`,
  };
}

/** A plain HTTP server on the fixture's server side. */
export async function httpServer(fx: Fixture, listener: http.RequestListener): Promise<HttpServerHandle> {
  const t = track(http.createServer(listener));
  return handle(fx, 'http', await fx.tcpServer(t.accept), t);
}

/** An HTTPS server on the fixture's server side (`node:tls` options: key, cert, ca, requestCert, ...). */
export async function httpsServer(
  fx: Fixture,
  options: tls.TlsOptions,
  listener: http.RequestListener,
): Promise<HttpServerHandle & { readonly secured: tls.TLSSocket[] }> {
  const t = track(http.createServer(listener));
  const server = await fx.tlsServer(options, t.accept);
  return { ...handle(fx, 'https', server.port, t), secured: server.secured };
}

/** `count` bytes of a fixed pseudo-random pattern (the same for the same `seed`). */
export function pattern(count: number, seed = 1): Uint8Array {
  const out = new Uint8Array(count);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

/** The whole body of a request or response. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
