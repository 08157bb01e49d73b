/**
 * The secure variant of the IoT Socket API: `createSecureBackend` wraps a backend so that
 * its stream sockets run TLS, used through the `iotSocket*` functions (registered
 * table), through an `IotSocketLayer` in non-blocking mode, and through the idiomatic
 * `Network`; on the host stack and over two userspace stacks.
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { SocketError } from '../../../src/base/socket-error.ts';
import { isSocketError } from '../../../src/base/socket-error.ts';
import {
  IOT_SOCKET_AF_INET,
  IOT_SOCKET_EAGAIN,
  IOT_SOCKET_ECONNABORTED,
  IOT_SOCKET_ECONNREFUSED,
  IOT_SOCKET_ECONNRESET,
  IOT_SOCKET_EINPROGRESS,
  IOT_SOCKET_EINVAL,
  IOT_SOCKET_EISCONN,
  IOT_SOCKET_ENOTSUP,
  IOT_SOCKET_ETIMEDOUT,
  IOT_SOCKET_IO_FIONBIO,
  IOT_SOCKET_SOCK_DGRAM,
  IOT_SOCKET_SOCK_STREAM,
  IotSocketLayer,
  iotSocketClose,
  iotSocketConnect,
  iotSocketCreate,
  iotSocketGetHostByName,
  iotSocketRecv,
  iotSocketRegisterApi,
  iotSocketSend,
} from '../../../src/socket/iot-socket.ts';
import type { IotSocketApi } from '../../../src/socket/iot-socket-types.ts';
import { Network } from '../../../src/socket/network.ts';
import { SocketAddress } from '../../../src/socket/socket-address.ts';
import { type SecureBackend, type SecurePeer, createSecureBackend, secureSocketApi } from '../../../src/tls/index.ts';
import { createTestPki, type LeafPair, type TestPki } from '../../support/test-pki.ts';
import { type Fixture, hostFixture, userspaceFixture } from './tls-fixtures.ts';

let pki: TestPki;

before(async () => {
  pki = await createTestPki({ serverSans: ['10.0.0.2', 'broker.test'] });
});

after(() => pki.dispose());

const enc = new TextEncoder();
const dec = new TextDecoder();

function serving(leaf: LeafPair, extra: tls.TlsOptions = {}): tls.TlsOptions {
  return { key: leaf.key, cert: leaf.chain, ...extra };
}

function ipBytes(text: string): Uint8Array {
  return SocketAddress.parse(`${text}:1`).bytes;
}

function opt(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

/** Receives until `n` bytes arrived (blocking calls). */
async function recvAll(api: IotSocketApi, s: number, n: number): Promise<string> {
  const buf = new Uint8Array(65536);
  let text = '';
  let got = 0;
  while (got < n) {
    const r = await api.socketRecv(s, buf, buf.length);
    assert.ok(r > 0, `recv: ${r}`);
    got += r;
    text += dec.decode(buf.subarray(0, r), { stream: true });
  }
  return text;
}

/** Resolves a name through the API, as an application does before Connect. */
async function resolve(api: IotSocketApi, name: string): Promise<Uint8Array> {
  const ip = new Uint8Array(4);
  assert.equal(await api.socketGetHostByName(name, IOT_SOCKET_AF_INET, ip, { value: 4 }), 0);
  return ip;
}

const FIXTURES: Array<[string, () => Promise<Fixture>]> = [
  ['host', hostFixture],
  ['userspace', userspaceFixture],
];

for (const [kind, make] of FIXTURES) {
  describe(`secure IoT Socket backend over the ${kind} stack`, () => {
    let fx: Fixture;
    let layers: IotSocketLayer[];
    const errors: Array<{ error: SocketError; peer: SecurePeer }> = [];
    const cleanups: Array<() => unknown> = [];

    beforeEach(async () => {
      fx = await make();
      layers = [];
      errors.length = 0;
    });

    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
      for (const l of layers) {
        assert.equal(l.openSockets, 0, 'IoT sockets left open');
        await l.closeAll();
      }
      await fx.close();
    });

    function secure(options: Parameters<typeof createSecureBackend>[1] = {}): { backend: SecureBackend; api: IotSocketApi } {
      const backend = createSecureBackend(fx.clientBackend, {
        ca: pki.ca,
        onError: (error, peer) => errors.push({ error, peer }),
        ...options,
      });
      const layer = new IotSocketLayer(backend);
      layers.push(layer);
      return { backend, api: layer.api() };
    }

    it('iotSocket* functions: GetHostByName, Connect (handshake inside), Send, Recv, Close over TLS', async () => {
      let sni: string | false | null | undefined;
      const server = await fx.tlsServer(serving(pki.server), (s) => {
        sni = s.servername;
        s.pipe(s);
      });
      const { api } = secure();
      assert.equal(iotSocketRegisterApi(api), 0);
      cleanups.push(() => iotSocketRegisterApi(null));
      const ip = new Uint8Array(4);
      const ipLen = { value: 4 };
      assert.equal(await iotSocketGetHostByName(fx.serverName, IOT_SOCKET_AF_INET, ip, ipLen), 0);
      assert.deepEqual([...ip], [...ipBytes(fx.serverIp)]);
      const s = await iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.ok(s > 0);
      assert.equal(await iotSocketConnect(s, ip, 4, server.port), 0);
      const msg = enc.encode('hello through iotSocketSend');
      assert.equal(await iotSocketSend(s, msg, msg.length), msg.length);
      const buf = new Uint8Array(100);
      let got = '';
      while (got.length < msg.length) {
        const r = await iotSocketRecv(s, buf, buf.length);
        assert.ok(r > 0, `recv ${r}`);
        got += dec.decode(buf.subarray(0, r));
      }
      assert.equal(got, 'hello through iotSocketSend');
      assert.equal(sni, fx.serverName); // the looked-up name went out as SNI (and was verified)
      assert.equal(await iotSocketClose(s), 0);
      assert.equal(errors.length, 0);
    });

    it('by IP without a lookup: no SNI, the certificate checked against its IP entries', async () => {
      let sni: string | false | null | undefined = 'unset';
      const server = await fx.tlsServer(serving(pki.server), (s) => {
        sni = s.servername;
        s.pipe(s);
      });
      const { api } = secure();
      const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await api.socketConnect(s, ipBytes(fx.serverIp), 4, server.port), 0);
      assert.equal(await api.socketSend(s, enc.encode('ip'), 2), 2);
      assert.equal(await recvAll(api, s, 2), 'ip');
      assert.equal(sni, false);
      assert.equal(await api.socketClose(s), 0);
    });

    it('verification failures: Connect returns ECONNABORTED, onError gets the reason; a later Connect can succeed', async () => {
      const expired = await fx.tlsServer(serving(pki.expired));
      const wrong = await fx.tlsServer(serving(pki.wrongHost));
      const self = await fx.tlsServer(serving(pki.selfSigned));
      const good = await fx.tlsServer(serving(pki.server));
      const { api } = secure();
      const ip = await resolve(api, fx.serverName);
      for (const [port, reason] of [[expired.port, 'tls-expired'], [wrong.port, 'tls-hostname'], [self.port, 'tls-untrusted']] as const) {
        const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
        assert.equal(await api.socketConnect(s, ip, 4, port), IOT_SOCKET_ECONNABORTED);
        const last = errors.at(-1);
        assert.equal(last?.error.detail.reason, reason);
        assert.equal(last?.peer.hostname, fx.serverName);
        assert.equal(last?.peer.port, port);
        // IoT Socket: a failed connect leaves the socket usable for another attempt.
        assert.equal(await api.socketConnect(s, ip, 4, good.port), 0);
        assert.equal(await api.socketSend(s, enc.encode('ok'), 2), 2);
        assert.equal(await recvAll(api, s, 2), 'ok');
        assert.equal(await api.socketClose(s), 0);
      }
      assert.equal(errors.length, 3);
    });

    it('client certificate, ALPN and the server refusing: ECONNREFUSED', async () => {
      const server = await fx.tlsServer(serving(pki.server, { ca: pki.ca, requestCert: true, rejectUnauthorized: true, maxVersion: 'TLSv1.2', ALPNProtocols: ['mqtt'] }), (s) => {
        s.end(`${s.alpnProtocol} ${String((s.getPeerCertificate().subject as { CN?: string }).CN)}`);
      });
      const withCert = secure({ cert: { file: pki.client.certFile }, key: pki.client.key, alpn: ['mqtt'] });
      const ip = await resolve(withCert.api, fx.serverName);
      const s = await withCert.api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await withCert.api.socketConnect(s, ip, 4, server.port), 0);
      assert.equal(await recvAll(withCert.api, s, 'mqtt iotnet-test-client'.length), 'mqtt iotnet-test-client');
      // The server closed after its answer: Recv reports ECONNRESET (IoT Socket's end of stream).
      assert.equal(await withCert.api.socketRecv(s, new Uint8Array(10), 10), IOT_SOCKET_ECONNRESET);
      assert.equal(await withCert.api.socketClose(s), 0);

      const without = secure();
      const t = await without.api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await without.api.socketConnect(t, ip, 4, server.port), IOT_SOCKET_ECONNREFUSED);
      assert.equal(errors.at(-1)?.error.detail.reason, 'tls-alert');
      assert.equal(await without.api.socketClose(t), 0);
    });

    it('handshake timeout: Connect returns ETIMEDOUT', async () => {
      const held: Duplex[] = [];
      const port = await fx.tcpServer((d) => held.push(d));
      cleanups.push(() => held.forEach((d) => d.destroy()));
      const { api } = secure({ handshakeTimeoutMs: 300 });
      const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      const t0 = performance.now();
      assert.equal(await api.socketConnect(s, ipBytes(fx.serverIp), 4, port), IOT_SOCKET_ETIMEDOUT);
      assert.ok(performance.now() - t0 >= 290);
      assert.equal(errors.at(-1)?.error.detail.reason, 'tls-handshake-timeout');
      assert.equal(await api.socketClose(s), 0);
    });

    it('garbage from the server: a clean error code, no crash', async () => {
      const port = await fx.tcpServer((d) => d.end('SSH-2.0-OpenSSH_9.2\r\n'));
      const { api } = secure();
      const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await api.socketConnect(s, ipBytes(fx.serverIp), 4, port), IOT_SOCKET_ECONNABORTED);
      assert.equal(errors.at(-1)?.error.detail.reason, 'tls-protocol');
      assert.equal(await api.socketClose(s), 0);
    });

    it('non-blocking: Connect EINPROGRESS until verified, EAGAIN without data, then EISCONN', async () => {
      const server = await fx.tlsServer(serving(pki.server), (s) => {
        s.on('data', (d: Uint8Array) => setTimeout(() => s.write(d), 30));
      });
      const { api } = secure();
      const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await api.socketSetOpt(s, IOT_SOCKET_IO_FIONBIO, opt(1), 4), 0);
      const ip = ipBytes(fx.serverIp);
      assert.equal(await api.socketConnect(s, ip, 4, server.port), IOT_SOCKET_EINPROGRESS);
      let r = IOT_SOCKET_EINPROGRESS;
      for (let i = 0; i < 500 && r !== IOT_SOCKET_EISCONN; i++) {
        await new Promise((res) => setTimeout(res, 5));
        r = await api.socketConnect(s, ip, 4, server.port);
        assert.ok(r === IOT_SOCKET_EISCONN || r === -14 /* EALREADY */, `connect poll: ${r}`);
      }
      assert.equal(r, IOT_SOCKET_EISCONN);
      const buf = new Uint8Array(16);
      assert.equal(await api.socketRecv(s, buf, 16), IOT_SOCKET_EAGAIN);
      assert.equal(await api.socketSend(s, enc.encode('nb'), 2), 2);
      let n = IOT_SOCKET_EAGAIN;
      for (let i = 0; i < 500 && n === IOT_SOCKET_EAGAIN; i++) {
        await new Promise((res) => setTimeout(res, 5));
        n = await api.socketRecv(s, buf, 16);
      }
      assert.equal(dec.decode(buf.subarray(0, n)), 'nb');
      // A non-blocking Close that has to flush TLS says EAGAIN until it is done.
      let c = await api.socketClose(s);
      for (let i = 0; i < 500 && c === IOT_SOCKET_EAGAIN; i++) {
        await new Promise((res) => setTimeout(res, 5));
        c = await api.socketClose(s);
      }
      assert.equal(c, 0);
    });

    it('sessions: the second connection through the backend resumes (its own cache by default)', async () => {
      const reused: boolean[] = [];
      const server = await fx.tlsServer(serving(pki.server), (t) => {
        reused.push(t.isSessionReused());
        t.pipe(t);
      });
      const { api, backend } = secure();
      const ip = await resolve(api, fx.serverName);
      for (let i = 0; i < 2; i++) {
        const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
        assert.equal(await api.socketConnect(s, ip, 4, server.port), 0);
        assert.equal(await api.socketSend(s, enc.encode('x'), 1), 1);
        assert.equal(await recvAll(api, s, 1), 'x'); // (the TLS 1.3 ticket came with it)
        assert.equal(await api.socketClose(s), 0);
      }
      assert.equal(backend.sessionCache?.size, 1);
      assert.deepEqual(reused, [false, true]);
    });

    it('select: plain TCP for one port, other settings for another; UDP untouched; no listening', async () => {
      const plainPort = await fx.tcpServer((d) => d.pipe(d));
      const tlsServer = await fx.tlsServer(serving(pki.server, { ALPNProtocols: ['x-amzn-mqtt-ca'] }), (s) => s.end(String(s.alpnProtocol)));
      const seen: SecurePeer[] = [];
      const { api } = secure({
        select: (peer) => {
          seen.push(peer);
          return peer.port === plainPort ? false : { alpn: ['x-amzn-mqtt-ca'], servername: fx.serverName };
        },
      });
      const ip = ipBytes(fx.serverIp);
      const p = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await api.socketConnect(p, ip, 4, plainPort), 0);
      assert.equal(await api.socketSend(p, enc.encode('plain'), 5), 5);
      assert.equal(await recvAll(api, p, 5), 'plain');
      assert.equal(await api.socketClose(p), 0);
      const t = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await api.socketConnect(t, ip, 4, tlsServer.port), 0);
      assert.equal(await recvAll(api, t, 'x-amzn-mqtt-ca'.length), 'x-amzn-mqtt-ca');
      assert.equal(await api.socketClose(t), 0);
      assert.deepEqual(seen.map((x) => [x.address, x.port, x.hostname]), [
        [fx.serverIp, plainPort, undefined],
        [fx.serverIp, tlsServer.port, undefined],
      ]);
      const u = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_DGRAM, 0);
      assert.ok(u > 0);
      assert.equal(await api.socketClose(u), 0);
      const l = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await api.socketBind(l, new Uint8Array(4), 4, 40000 + Math.floor(Math.random() * 1000)), 0);
      assert.equal(await api.socketListen(l, 1), IOT_SOCKET_ENOTSUP);
      assert.equal(await api.socketClose(l), 0);
      // Credentials that do not load fail the connect with EINVAL.
      const bad = secure({ select: () => ({ ca: 'garbage' }) });
      const b = await bad.api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await bad.api.socketConnect(b, ip, 4, tlsServer.port), IOT_SOCKET_EINVAL);
      assert.equal(errors.at(-1)?.error.detail.reason, 'tls-bad-credentials');
      assert.equal(await bad.api.socketClose(b), 0);
    });

    it('bulk both ways with blocking Send (256 KiB) and a graceful Close that flushes', async () => {
      let received = 0;
      let closedAt = -1;
      const server = await fx.tlsServer(serving(pki.server), (s) => {
        s.on('data', (d: Uint8Array) => {
          received += d.length;
          s.write(d);
        });
        s.on('end', () => {
          closedAt = received;
          s.end();
        });
      });
      const { api } = secure();
      const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await api.socketConnect(s, ipBytes(fx.serverIp), 4, server.port), 0);
      const data = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 31) & 255);
      const reader = (async () => {
        const buf = new Uint8Array(65536);
        const back = new Uint8Array(data.length);
        let got = 0;
        while (got < data.length) {
          const r = await api.socketRecv(s, buf, buf.length);
          assert.ok(r > 0, `recv ${r}`);
          back.set(buf.subarray(0, r), got);
          got += r;
        }
        return back;
      })();
      assert.equal(await api.socketSend(s, data, data.length), data.length);
      assert.deepEqual(await reader, data);
      // Data sent right before Close still reaches the server.
      const tail = new Uint8Array(100_000).fill(9);
      assert.equal(await api.socketSend(s, tail, tail.length), tail.length);
      assert.equal(await api.socketClose(s), 0);
      for (let i = 0; i < 200 && closedAt < 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(closedAt, data.length + tail.length);
    });

    it('the idiomatic Network over a secure backend: TcpSocket and connectDuplex speak TLS', async () => {
      const server = await fx.tlsServer(serving(pki.server));
      const backend = createSecureBackend(fx.clientBackend, { ca: pki.ca });
      const network = new Network(backend);
      cleanups.push(() => network.close());
      const socket = await network.connect(`${fx.serverName}:${server.port}`);
      await socket.write('idiomatic');
      let text = '';
      while (text.length < 9) text += dec.decode((await socket.read()) ?? new Uint8Array());
      assert.equal(text, 'idiomatic');
      await socket.close();
      const expired = await fx.tlsServer(serving(pki.expired));
      await assert.rejects(network.connect(`${fx.serverName}:${expired.port}`), (e: unknown) => isSocketError(e, 'ECONNABORTED'));
      assert.equal(network.openCount, 0);
    });

    it('secureSocketApi: a ready IoT Socket table', async () => {
      const server = await fx.tlsServer(serving(pki.server));
      const api = secureSocketApi(fx.clientBackend, { ca: pki.ca });
      const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await api.socketConnect(s, await resolve(api, fx.serverName), 4, server.port), 0);
      assert.equal(await api.socketSend(s, enc.encode('t'), 1), 1);
      assert.equal(await recvAll(api, s, 1), 't');
      assert.equal(await api.socketClose(s), 0);
    });
  });
}
