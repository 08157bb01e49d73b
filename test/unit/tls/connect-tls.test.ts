/**
 * `connectTls` / `connectTlsDuplex` against `node:tls` servers (and `openssl s_server`)
 * with the locally generated test PKI, on the host stack and over two userspace
 * stacks: verification (valid chain, expired, not yet valid, wrong host, self-signed,
 * untrusted root), client certificates, ALPN, session resumption (TLS 1.2 and 1.3),
 * handshake timeout, garbage, abort, close semantics, credentials from text, bytes and
 * files.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Aedes } from 'aedes';
import { MqttClient } from 'mqtt';
import { SocketError, isSocketError } from '../../../src/base/socket-error.ts';
import {
  type SecureSocket,
  TlsSessionCache,
  connectTls,
  connectTlsDuplex,
  prepareTls,
  type ConnectTlsOptions,
} from '../../../src/tls/index.ts';
import { createTestPki, type LeafPair, type TestPki } from '../../support/test-pki.ts';
import { FIXTURES, type Fixture, fixturePerTest, hostFixture } from './tls-fixtures.ts';

let pki: TestPki;

before(async () => {
  pki = await createTestPki({ serverSans: ['10.0.0.2', 'broker.test'] });
});

after(() => pki.dispose());

const dec = new TextDecoder();

function serving(leaf: LeafPair, extra: tls.TlsOptions = {}): tls.TlsOptions {
  return { key: leaf.key, cert: leaf.chain, ...extra };
}

/** Asserts a rejection with a SocketError of this code and reason; returns it. */
async function rejectsWith(p: Promise<unknown>, code: string, reason: string, causeCode?: string): Promise<SocketError> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  assert.ok(isSocketError(error), `expected a SocketError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.equal(error.detail.reason, reason, error.message);
  if (causeCode !== undefined) assert.equal((error.cause as { code?: string } | undefined)?.code, causeCode, error.message);
  return error;
}

async function echoOnce(s: SecureSocket, text: string): Promise<string> {
  await s.write(text);
  let got = '';
  while (got.length < text.length) {
    const chunk = await s.read({ timeoutMs: 5000 });
    if (chunk === null) break;
    got += dec.decode(chunk);
  }
  return got;
}

/** `openssl s_server` on 127.0.0.1 with client verification that fails the handshake (alert). */
async function opensslServer(extra: string[]): Promise<{ port: number; stop(): void }> {
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  const child = spawn('openssl', [
    's_server', '-accept', `127.0.0.1:${port}`, '-cert', pki.server.certFile, '-key', pki.server.keyFile,
    '-cert_chain', pki.intermediate.certFile, '-CAfile', pki.caFile, '-Verify', '1', '-verify_return_error',
    '-quiet', ...extra,
  ], { stdio: ['pipe', 'ignore', 'pipe'] });
  // Ready once the port accepts connections.
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, stop: () => child.kill() };
}

for (const [kind, make] of FIXTURES) {
  describe(`connectTls over the ${kind} stack`, () => {
    let fx: Fixture;
    const cleanups: Array<() => unknown> = [];
    fixturePerTest(make, (f) => (fx = f), cleanups);

    it('valid chain by name: verified, SNI, certificate summary, echo, graceful close', async () => {
      let sni: string | false | null | undefined;
      const server = await fx.tlsServer(serving(pki.server), (s) => {
        sni = s.servername;
        s.pipe(s);
      });
      const s = await connectTls(fx.client, `${fx.serverName}:${server.port}`, { ca: pki.ca });
      assert.equal(s.authorized, true);
      assert.equal(s.authorizationError, undefined);
      assert.equal(s.protocol, 'TLSv1.3');
      assert.equal(s.servername, fx.serverName);
      assert.equal(s.peerCertificate?.subject.CN, 'localhost');
      assert.equal(s.peerCertificate?.issuer.CN, 'iotnet Test Intermediate CA');
      assert.match(s.peerCertificate?.subjectAltName ?? '', /DNS:broker\.test/);
      assert.match(s.peerCertificate?.fingerprint256 ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.equal(s.remoteAddress.address, fx.serverIp);
      assert.equal(s.isSessionReused(), false);
      assert.equal(await echoOnce(s, 'hello over tls'), 'hello over tls');
      assert.equal(sni, fx.serverName);
      const serverSide = server.secured[0] as tls.TLSSocket;
      const ended = once(serverSide, 'end');
      await s.close();
      await ended; // close_notify and FIN reached the server
      assert.equal(s.closed, true);
      await assert.rejects(s.read(), (e: unknown) => isSocketError(e, 'ESOCK'));
    });

    it('IP literal: no SNI, checked against the IP entries', async () => {
      let sni: string | false | null | undefined = 'unset';
      const server = await fx.tlsServer(serving(pki.server), (s) => {
        sni = s.servername;
        s.pipe(s);
      });
      const s = await connectTls(fx.client, `${fx.serverIp}:${server.port}`, { ca: pki.ca });
      assert.equal(s.authorized, true);
      assert.equal(s.servername, undefined);
      assert.equal(await echoOnce(s, 'ip'), 'ip');
      assert.equal(sni, false);
      await s.close();
      // An explicit servername is sent and checked instead.
      const t = await connectTls(fx.client, { host: fx.serverIp, port: server.port }, { ca: pki.ca, servername: 'broker.test' });
      assert.equal(await echoOnce(t, 'named'), 'named');
      assert.equal(sni, 'broker.test');
      await t.close();
    });

    it('expired and not-yet-valid certificates: tls-expired', async () => {
      const expired = await fx.tlsServer(serving(pki.expired));
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${expired.port}`, { ca: pki.ca }), 'ECONNABORTED', 'tls-expired', 'CERT_HAS_EXPIRED');
      const future = await fx.tlsServer(serving(pki.notYetValid));
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${future.port}`, { ca: pki.ca }), 'ECONNABORTED', 'tls-expired', 'CERT_NOT_YET_VALID');
    });

    it('wrong host: tls-hostname, by name, by IP and by servername', async () => {
      const wrong = await fx.tlsServer(serving(pki.wrongHost));
      const e = await rejectsWith(connectTls(fx.client, `${fx.serverName}:${wrong.port}`, { ca: pki.ca }), 'ECONNABORTED', 'tls-hostname', 'ERR_TLS_CERT_ALTNAME_INVALID');
      assert.equal(e.detail.op, 'connect');
      assert.equal(e.detail.address, `${fx.serverName}:${wrong.port}`);
      assert.match(e.message, /tls-hostname/);
      await rejectsWith(connectTls(fx.client, `${fx.serverIp}:${wrong.port}`, { ca: pki.ca }), 'ECONNABORTED', 'tls-hostname');
      const good = await fx.tlsServer(serving(pki.server));
      await rejectsWith(connectTls(fx.client, `${fx.serverIp}:${good.port}`, { ca: pki.ca, servername: 'other.test' }), 'ECONNABORTED', 'tls-hostname');
    });

    it('self-signed and untrusted root: tls-untrusted; verify:false lets them through unauthorized', async () => {
      const self = await fx.tlsServer(serving(pki.selfSigned));
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${self.port}`, { ca: pki.ca }), 'ECONNABORTED', 'tls-untrusted', 'DEPTH_ZERO_SELF_SIGNED_CERT');
      const untrusted = await fx.tlsServer(serving(pki.untrustedServer));
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${untrusted.port}`, { ca: pki.ca }), 'ECONNABORTED', 'tls-untrusted', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      const withRoot = await fx.tlsServer({ key: pki.untrustedServer.key, cert: pki.untrustedServer.cert + pki.untrustedCa.cert });
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${withRoot.port}`, { ca: pki.ca }), 'ECONNABORTED', 'tls-untrusted', 'SELF_SIGNED_CERT_IN_CHAIN');
      // Node's bundled roots do not know our CA either.
      const good = await fx.tlsServer(serving(pki.server));
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${good.port}`), 'ECONNABORTED', 'tls-untrusted');
      // A CA bundle: the untrusted CA first, our root second.
      const bundle = await connectTls(fx.client, `${fx.serverName}:${good.port}`, { ca: [pki.untrustedCa.cert, pki.ca] });
      assert.equal(bundle.authorized, true);
      await bundle.close();

      const loose = await connectTls(fx.client, `${fx.serverName}:${self.port}`, { verify: false });
      assert.equal(loose.authorized, false);
      assert.equal(loose.authorizationError, 'DEPTH_ZERO_SELF_SIGNED_CERT');
      assert.equal(await echoOnce(loose, 'anyway'), 'anyway');
      await loose.close();
    });

    it('client certificate: accepted from text, bytes and files (encrypted key with passphrase)', async () => {
      const server = await fx.tlsServer(serving(pki.server, { ca: pki.ca, requestCert: true, rejectUnauthorized: true }), (s) => {
        s.end(`hello ${String((s.getPeerCertificate().subject as { CN?: string }).CN)}`);
      });
      const target = `${fx.serverName}:${server.port}`;
      const enc = new TextEncoder();
      const variants: ConnectTlsOptions[] = [
        { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
        { ca: enc.encode(pki.ca), cert: enc.encode(pki.client.cert), key: enc.encode(pki.client.key) },
        { ca: { file: pki.caFile }, cert: { file: pki.client.certFile }, key: { file: pki.clientEncryptedKeyFile }, passphrase: pki.clientKeyPassphrase },
      ];
      for (const options of variants) {
        const s = await connectTls(fx.client, target, options);
        let text = '';
        for await (const chunk of s) text += dec.decode(chunk);
        assert.equal(text, 'hello iotnet-test-client');
        await s.close();
      }
    });

    it('client certificate required: missing one is refused (TLS 1.3: certificate_required, TLS 1.2: handshake_failure)', async () => {
      const v13 = await fx.tlsServer(serving(pki.server, { ca: pki.ca, requestCert: true, rejectUnauthorized: true }));
      // TLS 1.3: the server checks after our side finished: the refusal is the first read's error.
      const s = await connectTls(fx.client, `${fx.serverName}:${v13.port}`, { ca: pki.ca });
      await rejectsWith((async () => {
        await s.write('x');
        await s.read({ timeoutMs: 5000 });
      })(), 'ECONNREFUSED', 'tls-client-cert-rejected', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
      s.destroy();
      const v12 = await fx.tlsServer(serving(pki.server, { ca: pki.ca, requestCert: true, rejectUnauthorized: true, maxVersion: 'TLSv1.2' }));
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${v12.port}`, { ca: pki.ca }), 'ECONNREFUSED', 'tls-alert', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
    });

    it('client certificate from an untrusted CA: openssl s_server refuses it (unknown_ca), TLS 1.2 and 1.3', async () => {
      for (const flag of ['-tls1_2', '-tls1_3']) {
        const server = await opensslServer([flag]);
        cleanups.push(() => server.stop());
        const port = await fx.forward(server.port);
        const options = { ca: pki.ca, servername: 'localhost', cert: pki.untrustedClient.cert, key: pki.untrustedClient.key };
        const attempt = (async () => {
          const s = await connectTls(fx.client, `${fx.serverIp}:${port}`, options);
          try {
            await s.write('x');
            await s.read({ timeoutMs: 5000 });
          } finally {
            s.destroy();
          }
        })();
        await rejectsWith(attempt, 'ECONNREFUSED', 'tls-client-cert-rejected', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
        server.stop();
      }
      // The same server takes the good certificate.
      const server = await opensslServer(['-tls1_2']);
      cleanups.push(() => server.stop());
      const port = await fx.forward(server.port);
      const s = await connectTls(fx.client, `${fx.serverIp}:${port}`, { ca: pki.ca, servername: 'localhost', cert: pki.client.cert, key: pki.client.key });
      assert.equal(s.authorized, true);
      s.destroy();
    });

    it('ALPN: negotiated, absent, and refused by the server', async () => {
      const server = await fx.tlsServer(serving(pki.server, { ALPNProtocols: ['mqtt', 'x-amzn-mqtt-ca'] }));
      const target = `${fx.serverName}:${server.port}`;
      const s = await connectTls(fx.client, target, { ca: pki.ca, alpn: ['x-amzn-mqtt-ca', 'mqtt'] });
      assert.equal(s.alpnProtocol, 'mqtt'); // the server's preference wins
      await s.close();
      const t = await connectTls(fx.client, target, { ca: pki.ca, alpn: ['x-amzn-mqtt-ca'] });
      assert.equal(t.alpnProtocol, 'x-amzn-mqtt-ca');
      await t.close();
      const u = await connectTls(fx.client, target, { ca: pki.ca });
      assert.equal(u.alpnProtocol, undefined);
      await u.close();
      await rejectsWith(connectTls(fx.client, target, { ca: pki.ca, alpn: ['h2'] }), 'ECONNREFUSED', 'tls-alert', 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL');
    });

    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      it(`session resumption over ${version}: the second connection resumes (cache and explicit session)`, async () => {
        const server = await fx.tlsServer(serving(pki.server, { minVersion: version, maxVersion: version }));
        const target = `${fx.serverName}:${server.port}`;
        const cache = new TlsSessionCache({ maxEntries: 4 });
        const first = await connectTls(fx.client, target, { ca: pki.ca, sessionCache: cache });
        assert.equal(first.protocol, version);
        assert.equal(first.isSessionReused(), false);
        assert.equal(await echoOnce(first, 'one'), 'one'); // (TLS 1.3 tickets come with the first data)
        assert.ok(first.session instanceof Uint8Array);
        assert.equal(cache.size, 1);
        const session = first.session;
        await first.close();

        const second = await connectTls(fx.client, target, { ca: pki.ca, sessionCache: cache });
        assert.equal(second.isSessionReused(), true);
        assert.equal(second.authorized, true);
        assert.equal(await echoOnce(second, 'two'), 'two');
        await second.close();
        assert.equal(server.secured[1]?.isSessionReused(), true);

        const third = await connectTls(fx.client, target, { ca: pki.ca, session });
        assert.equal(third.isSessionReused(), true);
        await third.close();

        // Another server name is another cache entry: no resumption offered.
        const byIp = await connectTls(fx.client, `${fx.serverIp}:${server.port}`, { ca: pki.ca, sessionCache: cache });
        assert.equal(byIp.isSessionReused(), false);
        await byIp.close();
      });
    }

    it('handshake timeout against a TCP server that never answers', async () => {
      const held: Duplex[] = [];
      const port = await fx.tcpServer((d) => held.push(d));
      cleanups.push(() => held.forEach((d) => d.destroy()));
      const t0 = performance.now();
      const e = await rejectsWith(connectTls(fx.client, `${fx.serverName}:${port}`, { ca: pki.ca, handshakeTimeoutMs: 300 }), 'ETIMEDOUT', 'tls-handshake-timeout');
      const ms = performance.now() - t0;
      assert.ok(ms >= 290 && ms < 3000, `took ${ms} ms`);
      assert.equal(e.detail.op, 'connect');
    });

    it('abort during the handshake rejects with the reason and releases the socket', async () => {
      const held: Duplex[] = [];
      const port = await fx.tcpServer((d) => held.push(d));
      cleanups.push(() => held.forEach((d) => d.destroy()));
      const ac = new AbortController();
      const p = connectTls(fx.client, `${fx.serverName}:${port}`, { ca: pki.ca, signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop')), 100);
      await assert.rejects(p, /stop/);
    });

    it('garbage, an early close, a bogus alert and a corrupt record: clean SocketErrors', async () => {
      const garbage = await fx.tcpServer((d) => d.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${garbage}`, { ca: pki.ca }), 'ECONNABORTED', 'tls-protocol', 'ERR_SSL_WRONG_VERSION_NUMBER');
      const closes = await fx.tcpServer((d) => d.end());
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${closes}`, { ca: pki.ca }), 'ECONNRESET', 'tls-peer-closed');
      const alert = await fx.tcpServer((d) => d.end(Uint8Array.of(0x15, 3, 3, 0, 2, 2, 40)));
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${alert}`, { ca: pki.ca }), 'ECONNREFUSED', 'tls-alert');
      const random = await fx.tcpServer((d) => d.write(Uint8Array.from({ length: 3000 }, (_, i) => (i * 7919) & 255)));
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${random}`, { ca: pki.ca }), 'ECONNABORTED', 'tls-protocol');

      // After the handshake: the server's TCP stream gets raw bytes in the middle of TLS.
      const context = tls.createSecureContext({ key: pki.server.key, cert: pki.server.chain });
      const corrupt = await fx.tcpServer((d) => {
        const s = new tls.TLSSocket(d, { isServer: true, secureContext: context });
        s.on('error', () => undefined);
        s.on('secure', () => {
          s.write('fine');
          setTimeout(() => d.write(Uint8Array.of(0x17, 3, 3, 0, 32, ...new Uint8Array(32).fill(0xee))), 50);
        });
      });
      const s = await connectTls(fx.client, `${fx.serverName}:${corrupt}`, { ca: pki.ca });
      assert.equal(dec.decode((await s.read()) ?? new Uint8Array()), 'fine');
      const e = await rejectsWith(s.read({ timeoutMs: 5000 }), 'ECONNABORTED', 'tls-protocol');
      assert.equal(e.detail.op, 'tls');
      await assert.rejects(s.write('more'), (x: unknown) => x === e);
      s.destroy();
    });

    it('minVersion TLSv1.3 against a TLS 1.2 server: tls-version', async () => {
      const server = await fx.tlsServer(serving(pki.server, { maxVersion: 'TLSv1.2' }));
      await rejectsWith(connectTls(fx.client, `${fx.serverName}:${server.port}`, { ca: pki.ca, minVersion: 'TLSv1.3' }), 'ECONNREFUSED', 'tls-version');
      const ok = await connectTls(fx.client, `${fx.serverName}:${server.port}`, { ca: pki.ca });
      assert.equal(ok.protocol, 'TLSv1.2');
      await ok.close();
    });

    it('half-close, end of stream, read limits, destroy', async () => {
      const server = await fx.tlsServer(serving(pki.server), (s) => {
        let got = '';
        s.on('data', (d: Uint8Array) => (got += dec.decode(d)));
        s.on('end', () => s.end(`got ${got}`));
      });
      const s = await connectTls(fx.client, `${fx.serverName}:${server.port}`, { ca: pki.ca });
      await s.write('abc');
      await s.write(new TextEncoder().encode('def'));
      await s.end();
      assert.equal(s.writableEnded, true);
      await assert.rejects(s.write('late'), (e: unknown) => isSocketError(e, 'ENOTCONN'));
      const first = await s.read({ maxBytes: 3 });
      assert.equal(dec.decode(first ?? new Uint8Array()), 'got');
      let rest = '';
      for (;;) {
        const c = await s.read();
        if (c === null) break;
        rest += dec.decode(c);
      }
      assert.equal(rest, ' abcdef');
      assert.equal(s.readableEnded, true);
      assert.equal(await s.read(), null);
      await s.close();

      const d = await connectTls(fx.client, `${fx.serverName}:${server.port}`, { ca: pki.ca });
      const pending = d.read();
      d.destroy();
      await assert.rejects(pending, (e: unknown) => isSocketError(e, 'ECONNABORTED') || isSocketError(e, 'ESOCK'));
      await assert.rejects(d.write('x'), (e: unknown) => isSocketError(e, 'ECONNABORTED'));
      const r = await connectTls(fx.client, `${fx.serverName}:${server.port}`, { ca: pki.ca });
      await rejectsWith(r.read({ timeoutMs: 50 }), 'ETIMEDOUT', 'timeout');
      await r.close();
    });

    it('large transfer both ways with back-pressure', async () => {
      const server = await fx.tlsServer(serving(pki.server));
      const s = await connectTls(fx.client, `${fx.serverName}:${server.port}`, { ca: pki.ca });
      const total = 2 * 1024 * 1024;
      const chunk = Uint8Array.from({ length: 60000 }, (_, i) => i & 255);
      const writer = (async () => {
        for (let sent = 0; sent < total; sent += chunk.length) await s.write(chunk);
      })();
      let got = 0;
      let sum = 0;
      const expected = Math.ceil(total / chunk.length) * chunk.length;
      while (got < expected) {
        const c = await s.read({ timeoutMs: 10_000 });
        assert.ok(c !== null);
        for (let i = 0; i < c.length; i++) sum = (sum + c[i]! * ((got + i) % 7 + 1)) % 1_000_003;
        got += c.length;
      }
      await writer;
      let want = 0;
      for (let i = 0; i < expected; i++) want = (want + (i % 60000 & 255) * (i % 7 + 1)) % 1_000_003;
      assert.equal(sum, want);
      await s.close();
    });

    it('connectTlsDuplex: a TLSSocket at once, for node:http and stream users; errors are SocketErrors', async () => {
      const server = await fx.tlsServer(serving(pki.server, { ALPNProtocols: ['http/1.1'] }), (s) => {
        const httpServer = http.createServer((req, res) => res.end(`${req.method} ${req.url} ok`));
        httpServer.emit('connection', s);
      });
      const target = `${fx.serverName}:${server.port}`;
      const body = await new Promise<string>((resolve, reject) => {
        const req = http.request({
          method: 'GET', path: '/status', headers: { host: fx.serverName },
          createConnection: () => connectTlsDuplex(fx.client, target, { ca: pki.ca, alpn: ['http/1.1'] }),
        }, (res) => {
          let text = '';
          res.on('data', (d: Uint8Array) => (text += dec.decode(d)));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(body, 'GET /status ok');

      const expired = await fx.tlsServer(serving(pki.expired));
      const d = connectTlsDuplex(fx.client, `${fx.serverName}:${expired.port}`, { ca: pki.ca });
      const [err] = (await once(d, 'error')) as [unknown];
      assert.ok(isSocketError(err, 'ECONNABORTED'));
      assert.equal(err.detail.reason, 'tls-expired');
      // TCP failures come through too, as they are.
      const refused = connectTlsDuplex(fx.client, `${fx.serverIp}:1`, { ca: pki.ca });
      const [err2] = (await once(refused, 'error')) as [unknown];
      assert.ok(isSocketError(err2), String(err2));
      assert.equal(err2.code, 'ECONNREFUSED');
      await new Promise((r) => setTimeout(r, 50)); // let the failed sockets untrack
    });

    it('mqtt.js over connectTlsDuplex to aedes with a client certificate: QoS 1 round trip; a bad server is a coded error', async () => {
      const broker = await Aedes.createBroker();
      cleanups.push(() => new Promise<void>((r) => broker.close(() => r())));
      const server = await fx.tlsServer(serving(pki.server, { ca: pki.ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['mqtt'] }), (s) => {
        broker.handle(s);
      });
      const prepared = await prepareTls({ ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
      const sessions = new TlsSessionCache();
      const client = new MqttClient(
        () => connectTlsDuplex(fx.client, `${fx.serverName}:${server.port}`, { prepared, alpn: ['mqtt'], sessionCache: sessions }),
        { clientId: 'iotnet-tls', protocolVersion: 4, reconnectPeriod: 0, keepalive: 30 },
      );
      const errors: unknown[] = [];
      client.on('error', (e) => errors.push(e));
      await new Promise((r) => client.once('connect', r));
      await client.subscribeAsync('iotnet/tls', { qos: 1 });
      const message = new Promise<[string, Uint8Array]>((r) => client.once('message', (t, p) => r([t, p])));
      await client.publishAsync('iotnet/tls', 'secure hello', { qos: 1 });
      const [topic, payload] = await message;
      assert.equal(topic, 'iotnet/tls');
      assert.equal(dec.decode(payload), 'secure hello');
      await client.endAsync();
      assert.deepEqual(errors, []);

      const expired = await fx.tlsServer(serving(pki.expired));
      const bad = new MqttClient(
        () => connectTlsDuplex(fx.client, `${fx.serverName}:${expired.port}`, { prepared }),
        { clientId: 'iotnet-tls-bad', protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 },
      );
      const [e] = await new Promise<unknown[]>((r) => bad.once('error', (...args: unknown[]) => r(args)));
      assert.ok(isSocketError(e, 'ECONNABORTED'), String(e));
      assert.equal(e.detail.reason, 'tls-expired');
      await bad.endAsync(true);
      await new Promise((r) => setTimeout(r, 50)); // let the failed socket untrack
    });

    it('prepareTls once for many connections; bad credentials are EINVAL', async () => {
      const server = await fx.tlsServer(serving(pki.server));
      const prepared = await prepareTls({ ca: { file: pki.caFile } });
      for (let i = 0; i < 3; i++) {
        const s = await connectTls(fx.client, `${fx.serverName}:${server.port}`, { prepared });
        assert.equal(s.authorized, true);
        await s.close();
      }
      const target = `${fx.serverName}:${server.port}`;
      await rejectsWith(connectTls(fx.client, target, { cert: pki.client.cert }), 'EINVAL', 'tls-bad-credentials');
      await rejectsWith(connectTls(fx.client, target, { ca: 'not a certificate' }), 'EINVAL', 'tls-bad-credentials');
      await rejectsWith(connectTls(fx.client, target, { cert: pki.client.cert, key: pki.server.key }), 'EINVAL', 'tls-bad-credentials');
      await rejectsWith(connectTls(fx.client, target, { cert: pki.client.cert, key: pki.clientEncryptedKey, passphrase: 'wrong' }), 'EINVAL', 'tls-bad-credentials');
      await rejectsWith(connectTls(fx.client, target, { ca: { file: `${pki.dir}/missing.pem` } }), 'EINVAL', 'tls-pem-file', 'ENOENT');
      assert.throws(() => connectTlsDuplex(fx.client, target, { ca: { file: `${pki.dir}/missing.pem` } }), (e: unknown) => isSocketError(e, 'EINVAL'));
      await rejectsWith(connectTls(fx.client, target, { ca: pki.ca, alpn: [''] }), 'EINVAL', 'tls-bad-credentials');
      await rejectsWith(connectTls(fx.client, target, { ca: pki.ca, handshakeTimeoutMs: -1 }), 'EINVAL', 'tls-bad-credentials');
      await rejectsWith(connectTls(fx.client, 'no-port', { ca: pki.ca }), 'EINVAL', 'bad-target');
    });
  });
}

describe('TlsSessionCache', () => {
  it('is bounded (least recently used first) and keyed by host, port and servername', () => {
    const cache = new TlsSessionCache({ maxEntries: 2 });
    assert.equal(TlsSessionCache.key('broker', 8883, 'broker'), 'broker:8883:broker');
    assert.equal(TlsSessionCache.key('10.0.0.2', 8883, undefined), '10.0.0.2:8883:');
    cache.set('a', Uint8Array.of(1));
    cache.set('b', Uint8Array.of(2));
    assert.deepEqual(cache.get('a'), Uint8Array.of(1)); // a is now the most recent
    cache.set('c', Uint8Array.of(3));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), undefined);
    cache.set('a', Uint8Array.of(4));
    assert.deepEqual(cache.get('a'), Uint8Array.of(4));
    assert.equal(cache.delete('a'), true);
    cache.clear();
    assert.equal(cache.size, 0);
    assert.throws(() => new TlsSessionCache({ maxEntries: 0 }), RangeError);
  });
});

describe('SocketError instances', () => {
  it('TLS errors are SocketErrors with a cause', async () => {
    const fx = await hostFixture();
    try {
      const server = await fx.tlsServer(serving(pki.selfSigned));
      const e = await rejectsWith(connectTls(fx.client, `localhost:${server.port}`, { ca: pki.ca }), 'ECONNABORTED', 'tls-untrusted');
      assert.ok(e instanceof SocketError);
      assert.equal(e.errno, -13);
      assert.equal(e.detail.backend, 'host');
      assert.match(e.message, /DEPTH_ZERO_SELF_SIGNED_CERT/);
    } finally {
      await fx.close();
    }
  });
});
