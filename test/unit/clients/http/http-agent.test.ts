/**
 * `iotnet/http` over the host stack and over two userspace stacks: `node:http` and
 * `node:https` through `IotnetHttpAgent` / `IotnetHttpsAgent`, and `httpRequest`,
 * against `node:http` servers fed each accepted connection (see `http-fixtures.ts`):
 * 1 MiB bodies both ways checked by SHA-256, keep-alive reuse, chunked bodies, HTTPS
 * with the test PKI (verified, untrusted, wrong host, client certificates, session
 * resumption), abort, timeout, refused connections, stale kept connections, and the
 * error mapping.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { type SocketError, isSocketError } from '../../../../src/base/socket-error.ts';
import {
  HttpResponse,
  IotnetHttpAgent,
  IotnetHttpsAgent,
  httpRequest,
} from '../../../../src/clients/http/index.ts';
import { TlsSessionCache, prepareTls } from '../../../../src/tls/index.ts';
import { createTestPki, type LeafPair, type TestPki } from '../../../support/test-pki.ts';
import { FIXTURES, type Fixture, fixturePerTest, httpServer, httpsServer, pattern, readAll } from './http-fixtures.ts';

let pki: TestPki;

before(async () => {
  pki = await createTestPki({ serverSans: ['10.0.0.2', 'broker.test'] });
});

after(() => pki.dispose());

const MiB = 1024 * 1024;

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function serving(leaf: LeafPair, extra: tls.TlsOptions = {}): tls.TlsOptions {
  return { key: leaf.key, cert: leaf.chain, ...extra };
}

/** Settles with the response (body read) or the request's 'error'. */
function request(
  module: typeof http | typeof https,
  url: string,
  options: https.RequestOptions,
  body?: Uint8Array | string,
): Promise<{ res: http.IncomingMessage; body: Buffer; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = module.request(url, options, (res) => {
      readAll(res).then((b) => resolve({ res, body: b, req }), reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The rejection of `p`, asserted to be a SocketError with this code (and reason). */
async function failsWith(p: Promise<unknown>, code: string, reason?: string): Promise<SocketError> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  assert.ok(isSocketError(error), `expected a SocketError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  if (reason !== undefined) assert.equal(error.detail.reason, reason, error.message);
  return error;
}

/** Answers GET with `size` pattern bytes and POST with the SHA-256 of the body. */
const bulkHandler: http.RequestListener = (req, res) => {
  void readAll(req).then((body) => {
    if (req.method === 'POST') {
      res.setHeader('x-body-bytes', String(body.length));
      res.end(sha256(body));
      return;
    }
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? '0');
    res.setHeader('content-type', 'application/octet-stream');
    res.end(pattern(size, 7));
  });
};

for (const [kind, make] of FIXTURES) {
  describe(`iotnet/http over the ${kind} stack`, () => {
    let fx: Fixture;
    const cleanups: Array<() => unknown> = [];
    fixturePerTest(make, (f) => (fx = f), cleanups);

    /** An agent destroyed after the test. */
    function agentOf<A extends http.Agent>(agent: A): A {
      cleanups.push(() => agent.destroy());
      return agent;
    }

    /** Resolves once every client connection of the test is closed. */
    async function clientsClosed(): Promise<void> {
      for (let i = 0; i < 100 && fx.clientOpen > 0; i++) await new Promise((r) => setImmediate(r));
    }

    it('http: GET of 1 MiB and POST of 1 MiB through the agent, checked by SHA-256', async () => {
      const server = await httpServer(fx, bulkHandler);
      const agent = agentOf(new IotnetHttpAgent(fx.client));
      const got = await request(http, `${server.origin}/bulk?size=${MiB}`, { agent });
      assert.equal(got.res.statusCode, 200);
      assert.equal(got.body.length, MiB);
      assert.equal(sha256(got.body), sha256(pattern(MiB, 7)));

      const upload = pattern(MiB, 3);
      const posted = await request(http, `${server.origin}/upload`, { agent, method: 'POST' }, upload);
      assert.equal(posted.res.headers['x-body-bytes'], String(MiB));
      assert.equal(posted.body.toString(), sha256(upload));
      assert.equal(posted.req.reusedSocket, true, 'the second request reused the connection');
      assert.equal(server.connections.length, 1);

      // The same through httpRequest, by IP literal.
      const res = await httpRequest(fx.client, `${server.ipOrigin}/bulk?size=${MiB}`, { timeoutMs: 20_000 });
      assert.ok(res instanceof HttpResponse);
      assert.equal(res.status, 200);
      assert.equal(res.ok, true);
      assert.equal(sha256(res.body), sha256(pattern(MiB, 7)));
      const res2 = await httpRequest(fx.client, `${server.ipOrigin}/upload`, { method: 'post', body: upload });
      assert.equal(res2.text(), sha256(upload));
      assert.equal(res2.reusedConnection, false);
      assert.equal(server.connections.length, 3, 'httpRequest without an agent: one connection each');
    });

    it('keep-alive: sequential and queued requests share one connection; keepAlive false does not', async () => {
      const server = await httpServer(fx, (req, res) => res.end(`${req.method} ${req.url}`));
      const agent = agentOf(new IotnetHttpAgent(fx.client, { maxSockets: 1 }));
      const first = await httpRequest(fx.client, `${server.origin}/a`, { agent });
      const second = await httpRequest(fx.client, `${server.origin}/b`, { agent });
      assert.equal(first.text(), 'GET /a');
      assert.equal(first.reusedConnection, false);
      assert.equal(second.text(), 'GET /b');
      assert.equal(second.reusedConnection, true);
      // Three at once with maxSockets 1: queued by http.Agent on the same connection.
      const all = await Promise.all(['/c', '/d', '/e'].map((path) => httpRequest(fx.client, `${server.origin}${path}`, { agent })));
      assert.deepEqual(all.map((r) => r.text()), ['GET /c', 'GET /d', 'GET /e']);
      assert.equal(server.connections.length, 1);
      assert.equal(server.requests.length, 5);
      assert.equal(server.requests[4]?.headers.connection, 'keep-alive');

      const closing = agentOf(new IotnetHttpAgent(fx.client, { keepAlive: false }));
      const a = await request(http, `${server.origin}/f`, { agent: closing });
      const b = await request(http, `${server.origin}/g`, { agent: closing });
      assert.equal(a.body.toString(), 'GET /f');
      assert.equal(b.req.reusedSocket, false);
      assert.equal(server.requests.at(-1)?.headers.connection, 'close');
      assert.equal(server.connections.length, 3);
    });

    it('an idle kept connection is closed after the agent timeout; the next request opens a new one', async () => {
      const server = await httpServer(fx, (_req, res) => res.end('ok'));
      const agent = agentOf(new IotnetHttpAgent(fx.client, { timeout: 30 }));
      assert.equal((await httpRequest(fx.client, server.origin, { agent })).text(), 'ok');
      const serverSide = server.connections[0] as Duplex;
      if (!serverSide.readableEnded) await once(serverSide, 'end'); // our FIN after 30 ms idle
      await clientsClosed();
      assert.equal(fx.clientOpen, 0);
      const again = await httpRequest(fx.client, server.origin, { agent });
      assert.equal(again.reusedConnection, false);
      assert.equal(server.connections.length, 2);
    });

    it('chunked: a response in chunks and a streamed request body', async () => {
      const server = await httpServer(fx, (req, res) => {
        void readAll(req).then((body) => {
          res.setHeader('x-request-te', String(req.headers['transfer-encoding']));
          res.write('first;');
          res.write(Buffer.from(pattern(100_000, 5)));
          res.end(`;last:${sha256(body)}`);
        });
      });
      const agent = agentOf(new IotnetHttpAgent(fx.client));
      const res = await httpRequest(fx.client, `${server.origin}/chunks`, { agent });
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      assert.equal(res.headers['content-length'], undefined);
      assert.equal(res.body.length, 6 + 100_000 + 6 + 64);
      assert.equal(new TextDecoder().decode(res.body.subarray(0, 6)), 'first;');
      assert.equal(sha256(res.body.subarray(6, 100_006)), sha256(pattern(100_000, 5)));

      const parts = [pattern(70_000, 1), pattern(1, 2), pattern(300_000, 3)];
      const got = await new Promise<{ res: http.IncomingMessage; body: Buffer }>((resolve, reject) => {
        const req = http.request(`${server.origin}/upload`, { agent, method: 'PUT' }, (r) => {
          readAll(r).then((body) => resolve({ res: r, body }), reject);
        });
        req.on('error', reject);
        for (const p of parts) req.write(p);
        req.end();
      });
      assert.equal(got.res.headers['x-request-te'], 'chunked');
      const all = Buffer.concat(parts);
      assert.ok(got.body.toString('latin1').endsWith(`;last:${sha256(all)}`));
    });

    it('https: verified by name (SNI) and by IP, through https.request and httpRequest', async () => {
      let sni: string | false | null | undefined;
      const server = await httpsServer(fx, serving(pki.server, { ALPNProtocols: ['http/1.1'] }), (req, res) => {
        sni = (req.socket as tls.TLSSocket).servername;
        res.end(`secure ${req.url} ${(req.socket as tls.TLSSocket).alpnProtocol}`);
      });
      const agent = agentOf(new IotnetHttpsAgent(fx.client, { ca: pki.ca }));
      const got = await request(https, `${server.origin}/by-name`, { agent });
      assert.equal(got.body.toString(), 'secure /by-name http/1.1');
      assert.equal(sni, fx.serverName);
      const socket = got.req.socket as tls.TLSSocket;
      assert.equal(socket.authorized, true);

      const byIp = await httpRequest(fx.client, `${server.ipOrigin}/by-ip?size=${MiB}`, { agent });
      assert.equal(byIp.text(), 'secure /by-ip?size=1048576 http/1.1');
      assert.equal(sni, false, 'no SNI for an IP literal');

      // Without an agent: TLS settings per request (files read asynchronously).
      const oneShot = await httpRequest(fx.client, `${server.origin}/one-shot`, { tls: { ca: { file: pki.caFile } } });
      assert.equal(oneShot.text(), 'secure /one-shot http/1.1');

      // A 1 MiB POST over TLS, checked by SHA-256.
      const bulk = await httpsServer(fx, serving(pki.server), bulkHandler);
      const upload = pattern(MiB, 9);
      const posted = await httpRequest(fx.client, `${bulk.origin}/up`, { agent, method: 'POST', body: upload });
      assert.equal(posted.text(), sha256(upload));
      const down = await httpRequest(fx.client, `${bulk.origin}/down?size=${MiB}`, { agent });
      assert.equal(sha256(down.body), sha256(pattern(MiB, 7)));
      assert.equal(down.reusedConnection, true);
    });

    it('https: untrusted, self-signed, wrong host and expired fail with the typed TLS errors', async () => {
      const handler: http.RequestListener = (_req, res) => res.end('should not get here');
      const agent = agentOf(new IotnetHttpsAgent(fx.client, { ca: pki.ca }));
      const untrusted = await httpsServer(fx, serving(pki.untrustedServer), handler);
      const e1 = await failsWith(request(https, untrusted.origin, { agent }), 'ECONNABORTED', 'tls-untrusted');
      assert.equal((e1.cause as { code?: string }).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      await failsWith(httpRequest(fx.client, untrusted.origin, { agent }), 'ECONNABORTED', 'tls-untrusted');
      const self = await httpsServer(fx, serving(pki.selfSigned), handler);
      await failsWith(httpRequest(fx.client, self.origin, { agent }), 'ECONNABORTED', 'tls-untrusted');
      const wrong = await httpsServer(fx, serving(pki.wrongHost), handler);
      const e2 = await failsWith(request(https, wrong.origin, { agent }), 'ECONNABORTED', 'tls-hostname');
      assert.equal(e2.detail.address, `${fx.serverName}:${wrong.port}`);
      await failsWith(httpRequest(fx.client, wrong.ipOrigin, { agent }), 'ECONNABORTED', 'tls-hostname');
      const expired = await httpsServer(fx, serving(pki.expired), handler);
      await failsWith(httpRequest(fx.client, expired.origin, { agent }), 'ECONNABORTED', 'tls-expired');
      // Node's bundled roots do not know the test CA.
      const good = await httpsServer(fx, serving(pki.server), handler);
      await failsWith(httpRequest(fx.client, good.origin), 'ECONNABORTED', 'tls-untrusted');
      // A Host header naming another server is what the certificate is checked against.
      await failsWith(httpRequest(fx.client, good.ipOrigin, { agent, headers: { host: 'other.test' } }), 'ECONNABORTED', 'tls-hostname');
      // verify: false (throw-away servers only) lets the self-signed one through.
      const loose = agentOf(new IotnetHttpsAgent(fx.client, { verify: false }));
      assert.equal((await httpRequest(fx.client, self.origin, { agent: loose })).text(), 'should not get here');
      assert.equal(untrusted.requests.length + wrong.requests.length + expired.requests.length + good.requests.length, 0);
    });

    it('https: client certificate accepted; missing one refused with tls-client-cert-rejected', async () => {
      const server = await httpsServer(fx, serving(pki.server, { ca: pki.ca, requestCert: true, rejectUnauthorized: true }), (req, res) => {
        const cert = (req.socket as tls.TLSSocket).getPeerCertificate();
        res.end(`hello ${String((cert.subject as { CN?: string }).CN)}`);
      });
      const prepared = await prepareTls({ ca: pki.ca, cert: { file: pki.client.certFile }, key: { file: pki.clientEncryptedKeyFile }, passphrase: pki.clientKeyPassphrase });
      const mutual = agentOf(new IotnetHttpsAgent(fx.client, { prepared }));
      assert.equal((await httpRequest(fx.client, `${server.origin}/me`, { agent: mutual })).text(), 'hello iotnet-test-client');
      const fromText = agentOf(new IotnetHttpsAgent(fx.client, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key }));
      assert.equal((await request(https, server.origin, { agent: fromText })).body.toString(), 'hello iotnet-test-client');

      const anonymous = agentOf(new IotnetHttpsAgent(fx.client, { ca: pki.ca }));
      await failsWith(request(https, server.origin, { agent: anonymous }), 'ECONNREFUSED', 'tls-client-cert-rejected');
      await failsWith(httpRequest(fx.client, server.origin, { agent: anonymous, method: 'POST', body: 'x' }), 'ECONNREFUSED', 'tls-client-cert-rejected');
    });

    it('https: the second connection resumes the TLS session from the agent cache (TLS 1.3 and 1.2)', async () => {
      for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
        const server = await httpsServer(fx, serving(pki.server, { maxVersion }), (req, res) => {
          const socket = req.socket as tls.TLSSocket;
          res.end(`${String(socket.getProtocol())} resumed=${String(socket.isSessionReused())}`);
        });
        const agent = agentOf(new IotnetHttpsAgent(fx.client, { ca: pki.ca, keepAlive: false }));
        const first = await request(https, server.origin, { agent });
        assert.equal(first.body.toString(), `${maxVersion} resumed=false`);
        assert.equal(agent.sessionCache?.size, 1);
        const second = await request(https, server.origin, { agent });
        assert.equal(second.req.reusedSocket, false, 'a new connection');
        assert.equal(second.body.toString(), `${maxVersion} resumed=true`);
        assert.equal(server.secured.length, 2);
      }
      // A shared cache carries sessions to httpRequest's one-shot connections; none without.
      const sessions = new TlsSessionCache();
      const server = await httpsServer(fx, serving(pki.server), (req, res) => res.end(String((req.socket as tls.TLSSocket).isSessionReused())));
      assert.equal((await httpRequest(fx.client, server.origin, { tls: { ca: pki.ca, sessionCache: sessions } })).text(), 'false');
      assert.equal((await httpRequest(fx.client, server.origin, { tls: { ca: pki.ca, sessionCache: sessions } })).text(), 'true');
      assert.equal((await httpRequest(fx.client, server.origin, { tls: { ca: pki.ca } })).text(), 'false');
      const off = agentOf(new IotnetHttpsAgent(fx.client, { ca: pki.ca, sessionCache: null, keepAlive: false }));
      assert.equal(off.sessionCache, undefined);
      await httpRequest(fx.client, server.origin, { agent: off });
      assert.equal((await httpRequest(fx.client, server.origin, { agent: off })).text(), 'false');
    });

    it('abort: an AbortSignal ends the exchange with its reason and closes the connection', async () => {
      const server = await httpServer(fx, () => undefined); // never answers
      const controller = new AbortController();
      const agent = agentOf(new IotnetHttpAgent(fx.client));
      const pending = httpRequest(fx.client, `${server.origin}/slow`, { agent, signal: controller.signal });
      await server.requested(1);
      const reason = new Error('user gave up');
      controller.abort(reason);
      await assert.rejects(pending, (e) => e === reason);
      const conn = server.connections[0] as Duplex;
      if (!conn.destroyed) await once(conn, 'close'); // the client closed the connection
      await clientsClosed();
      assert.equal(fx.clientOpen, 0);
      // An aborted signal fails at once; node:http's own signal option works through the agent too.
      await assert.rejects(httpRequest(fx.client, server.origin, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
      const c2 = new AbortController();
      const raw = request(http, `${server.origin}/raw`, { agent, signal: c2.signal });
      await server.requested(2);
      c2.abort();
      await assert.rejects(raw, (e: Error) => e.name === 'AbortError');
      assert.equal(server.requests.length, 2);
    });

    it('timeoutMs bounds the whole exchange: ETIMEDOUT, connection closed', async () => {
      const server = await httpServer(fx, () => undefined); // never answers
      const e = await failsWith(httpRequest(fx.client, `${server.origin}/never`, { timeoutMs: 100 }), 'ETIMEDOUT', 'timeout');
      assert.equal(e.detail.op, 'http');
      assert.equal(e.detail.address, `${fx.serverName}:${server.port}`);
      await clientsClosed();
      assert.equal(fx.clientOpen, 0);
    });

    it('connection refused: ECONNREFUSED as the request error and as the rejection', async () => {
      const agent = agentOf(new IotnetHttpAgent(fx.client));
      const e = await failsWith(request(http, `http://${fx.serverIp}:1/`, { agent }), 'ECONNREFUSED');
      assert.equal(e.detail.op, 'connect');
      await failsWith(httpRequest(fx.client, `http://${fx.serverIp}:1/`), 'ECONNREFUSED');
      const tlsAgent = agentOf(new IotnetHttpsAgent(fx.client, { ca: pki.ca }));
      await failsWith(request(https, `https://${fx.serverIp}:1/`, { agent: tlsAgent }), 'ECONNREFUSED');
      await failsWith(httpRequest(fx.client, 'http://no-such-host.invalid:80/'), 'EHOSTNOTFOUND');
      await clientsClosed();
    });

    it('a kept connection the server dropped: an idempotent request is sent again on a new one, a POST fails', async () => {
      // Answers the first request of each connection, then drops the connection at the next.
      const server = await httpServer(fx, (req, res) => {
        const served = (req.socket as unknown as { served?: number }).served ?? 0;
        (req.socket as unknown as { served: number }).served = served + 1;
        if (served >= 1) {
          req.socket.end(); // FIN without an answer
          return;
        }
        res.end(`${req.method} ${req.url}`);
      });
      const agent = agentOf(new IotnetHttpAgent(fx.client));
      assert.equal((await httpRequest(fx.client, `${server.origin}/1`, { agent })).text(), 'GET /1');
      const retried = await httpRequest(fx.client, `${server.origin}/2`, { agent });
      assert.equal(retried.text(), 'GET /2');
      assert.equal(retried.reusedConnection, false);
      assert.equal(server.connections.length, 2);
      const e = await failsWith(httpRequest(fx.client, `${server.origin}/3`, { agent, method: 'POST', body: 'once only' }), 'ECONNRESET', 'http-hang-up');
      assert.equal((e.cause as { code?: string }).code, 'ECONNRESET');
      assert.equal(server.connections.length, 2);
    });

    it('protocol errors, a cut-short body and a body over the bound are SocketErrors', async () => {
      const garbage = await fx.tcpServer((d) => {
        d.on('data', () => d.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
      });
      const agent = agentOf(new IotnetHttpAgent(fx.client));
      const e = await failsWith(request(http, `http://${fx.serverIp}:${garbage}/`, { agent }), 'ECONNABORTED', 'http-protocol');
      assert.match(String((e.cause as { code?: string }).code), /^HPE_/);
      await failsWith(httpRequest(fx.client, `http://${fx.serverIp}:${garbage}/`), 'ECONNABORTED', 'http-protocol');

      const short = await fx.tcpServer((d) => {
        d.on('data', () => d.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this'));
      });
      await failsWith(httpRequest(fx.client, `http://${fx.serverIp}:${short}/`), 'ECONNRESET', 'http-aborted');

      const big = await httpServer(fx, bulkHandler);
      await failsWith(httpRequest(fx.client, `${big.origin}/?size=5000`, { maxResponseBytes: 4999 }), 'ENOMEM', 'http-body-too-large');
      assert.equal((await httpRequest(fx.client, `${big.origin}/?size=5000`, { maxResponseBytes: 5000 })).body.length, 5000);
      await clientsClosed();
    });

    it('bad arguments: EINVAL as the request error or from the constructor', async () => {
      const server = await httpsServer(fx, serving(pki.server), (_req, res) => res.end('ok'));
      const agent = agentOf(new IotnetHttpsAgent(fx.client, { ca: pki.ca }));
      await failsWith(request(https, server.origin, { agent, rejectUnauthorized: false }), 'EINVAL', 'tls-options-per-request');
      await failsWith(request(https, server.origin, { agent, ca: pki.untrustedCa.cert }), 'EINVAL', 'tls-options-per-request');
      await failsWith(request(http, 'http://localhost/', { agent: agentOf(new IotnetHttpAgent(fx.client)), socketPath: '/tmp/x.sock' }), 'EINVAL', 'unix-socket-unsupported');
      assert.throws(() => new IotnetHttpsAgent(fx.client, { ca: 'not a certificate' }), (e) => isSocketError(e, 'EINVAL') && e.detail.reason === 'tls-bad-credentials');
      assert.throws(() => new IotnetHttpsAgent(fx.client, { ca: { file: '/nonexistent/ca.pem' } }), (e) => isSocketError(e, 'EINVAL') && e.detail.reason === 'tls-pem-file');
      await failsWith(httpRequest(fx.client, 'ftp://x/'), 'EINVAL', 'http-bad-request');
      await failsWith(httpRequest(fx.client, 'not a url'), 'EINVAL', 'http-bad-request');
      await failsWith(httpRequest(fx.client, server.origin, { agent: agentOf(new IotnetHttpAgent(fx.client)) }), 'EINVAL', 'http-bad-request');
      await failsWith(httpRequest(fx.client, server.origin, { agent, tls: { ca: pki.ca } }), 'EINVAL', 'http-bad-request');
      await failsWith(httpRequest(fx.client, server.origin, { agent, headers: { 'bad header': 'x' } }), 'EINVAL', 'http-bad-request');
      await failsWith(httpRequest(fx.client, server.origin, { agent, timeoutMs: -1 }), 'EINVAL', 'bad-timeout');
      assert.equal((await httpRequest(fx.client, server.origin, { agent })).text(), 'ok');
    });
  });
}
