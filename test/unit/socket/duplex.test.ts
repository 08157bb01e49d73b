/**
 * The Duplex adapter (`TcpSocket.toDuplex`, `Network.connectDuplex`) under node:tls,
 * node:http and mqtt.js, plus back-pressure, half-close and error behaviour.
 */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { Aedes } from 'aedes';
import { MqttClient } from 'mqtt';
import { createHostBackend } from '../../../src/backends/host/index.ts';
import type { HostBackend } from '../../../src/backends/host/index.ts';
import { isSocketError } from '../../../src/base/socket-error.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { Network } from '../../../src/socket/network.ts';

let backend: HostBackend;
let network: Network;
const cleanups: Array<() => unknown> = [];

beforeEach(() => {
  backend = createHostBackend();
  network = new Network(backend);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await network.close();
  assert.equal(network.openCount, 0);
  assert.equal(backend.openSockets, 0);
  await backend.close();
});

async function netServer(onConnection: (s: net.Socket) => void, allowHalfOpen = true): Promise<number> {
  const conns = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen }, (s) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
    onConnection(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((r) => {
    for (const c of conns) c.destroy();
    server.close(r);
  }));
  return (server.address() as net.AddressInfo).port;
}

function collect(stream: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    stream.on('data', (d: Buffer) => (s += d.toString()));
    stream.on('end', () => resolve(s));
    stream.on('error', reject);
  });
}

/** `events.once` for mqtt.js's typed emitter. */
function clientEvent(client: MqttClient, name: 'connect' | 'message'): Promise<unknown[]> {
  return new Promise((resolve) => client.once(name, (...args: unknown[]) => resolve(args)));
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('SocketDuplex basics', () => {
  it('reads, writes, half-closes and closes cleanly (no error event)', async () => {
    const port = await netServer((s) => {
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => s.end(`echo:${got}`));
    });
    const socket = await network.connect(`127.0.0.1:${port}`);
    const duplex = socket.toDuplex();
    const errors: unknown[] = [];
    duplex.on('error', (e) => errors.push(e));
    const all = collect(duplex);
    duplex.write('abc');
    duplex.end('def');
    assert.equal(await all, 'echo:abcdef');
    await once(duplex, 'close');
    assert.deepEqual(errors, []);
    assert.equal(socket.closed, true);
  });

  it('connectDuplex buffers writes until connected and emits connect', async () => {
    const port = await netServer((s) => s.on('data', (d) => s.end(d)));
    const duplex = network.connectDuplex(`127.0.0.1:${port}`);
    assert.equal((duplex as unknown as { connecting: boolean }).connecting, true);
    const connected = once(duplex, 'connect');
    duplex.write('early bird');
    const all = collect(duplex);
    await connected;
    assert.equal(await all, 'early bird');
    duplex.end();
    await once(duplex, 'close');
  });

  it('connectDuplex reports a refused connection as an error with code ECONNREFUSED', async () => {
    const port = await netServer(() => undefined);
    await cleanups.pop()?.();
    const duplex = network.connectDuplex(`127.0.0.1:${port}`);
    duplex.write('lost');
    const [error] = (await once(duplex, 'error')) as [Error & { code?: string }];
    assert.ok(isSocketError(error, 'ECONNREFUSED'));
    assert.equal(error.code, 'ECONNREFUSED');
    await tick(5);
    assert.equal(duplex.destroyed, true);
  });

  it('a peer reset surfaces as an error with code ECONNRESET', async () => {
    const port = await netServer((s) => {
      s.on('data', () => s.resetAndDestroy());
    });
    const duplex = network.connectDuplex(`127.0.0.1:${port}`);
    duplex.resume();
    duplex.write('trigger');
    const [error] = (await once(duplex, 'error')) as [Error & { code?: string }];
    assert.equal(error.code, 'ECONNRESET');
  });

  it('destroy() closes like close(2): written bytes still arrive, then FIN; destroy(err) emits err; resetAndDestroy() sends RST', async () => {
    const peers: Array<{ data: string; outcome: Promise<string> }> = [];
    const port = await netServer((s) => {
      const peer = { data: '', outcome: Promise.resolve('') };
      peer.outcome = new Promise((resolve) => {
        s.on('data', (d: Buffer) => (peer.data += d.toString()));
        s.on('end', () => resolve('end'));
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '?'));
      });
      peers.push(peer);
    });
    const duplex = network.connectDuplex(`127.0.0.1:${port}`);
    await once(duplex, 'connect');
    duplex.write('last words');
    duplex.destroy();
    await once(duplex, 'close');
    const d2 = network.connectDuplex(`127.0.0.1:${port}`);
    await once(d2, 'connect');
    const mine = Object.assign(new Error('mine'), { code: 'EMINE' });
    d2.write('and more');
    d2.destroy(mine);
    const [e] = (await once(d2, 'error')) as [Error];
    assert.equal(e, mine);
    const d3 = network.connectDuplex(`127.0.0.1:${port}`);
    await once(d3, 'connect');
    d3.resetAndDestroy();
    await once(d3, 'close');
    for (let i = 0; i < 100 && peers.length < 3; i++) await tick(5);
    const outcomes = await Promise.all(peers.map((p) => p.outcome));
    assert.deepEqual(outcomes, ['end', 'end', 'ECONNRESET']);
    assert.deepEqual(peers.map((p) => p.data), ['last words', 'and more', '']);
  });

  it("by default (as net.Socket) the peer's FIN ends the writable side too: our FIN follows and the stream closes", async () => {
    let peerEnded: Promise<unknown> | undefined;
    const port = await netServer((s) => {
      peerEnded = once(s, 'end');
      s.end('bye');
    });
    for (const make of [
      () => network.connectDuplex(`127.0.0.1:${port}`),
      async () => (await network.connect(`127.0.0.1:${port}`)).toDuplex(),
    ]) {
      const duplex = await make();
      const errors: unknown[] = [];
      duplex.on('error', (e) => errors.push(e));
      const finished = once(duplex, 'finish');
      const closed = once(duplex, 'close');
      assert.equal(await collect(duplex), 'bye');
      await within(finished, "'finish' after the peer's FIN");
      await within(closed, "'close' after the peer's FIN");
      assert.equal(duplex.writableEnded, true);
      assert.ok(peerEnded !== undefined);
      await within(peerEnded, 'our FIN at the peer');
      assert.deepEqual(errors, []);
    }
  });

  it("with allowHalfOpen: true writes after the peer's FIN reach the peer (half-open) until end()", async () => {
    let peerGot: Promise<string> | undefined;
    const port = await netServer((s) => {
      peerGot = new Promise((resolve) => {
        let got = '';
        s.on('data', (d) => (got += d.toString()));
        s.on('end', () => resolve(got));
      });
      s.end('bye');
    });
    const duplex = network.connectDuplex(`127.0.0.1:${port}`, { allowHalfOpen: true });
    const errors: unknown[] = [];
    duplex.on('error', (e) => errors.push(e));
    assert.equal(await collect(duplex), 'bye');
    await tick(20);
    assert.equal(duplex.writable, true, 'the writable side stays open');
    assert.equal(duplex.destroyed, false);
    await new Promise<void>((resolve, reject) => duplex.write('after', (e) => (e ? reject(e) : resolve())));
    duplex.end(' the FIN');
    await within(once(duplex, 'close'), "'close' after our end()");
    assert.ok(peerGot !== undefined);
    assert.equal(await within(peerGot, 'data and FIN at the peer'), 'after the FIN');
    assert.deepEqual(errors, []);
  });

  it('with allowHalfOpen: false the peer FIN ends the writable side too and the stream closes', async () => {
    const port = await netServer((s) => s.end('bye'));
    const duplex = network.connectDuplex(`127.0.0.1:${port}`, { allowHalfOpen: false });
    assert.equal(await collect(duplex), 'bye');
    await once(duplex, 'close');
  });

  it('back-pressure: a slow reader stops the pull, memory stays bounded, nothing is lost', async () => {
    const total = 32 * 1024 * 1024;
    const port = await netServer((s) => {
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!s.write(chunk)) {
            s.once('drain', pump);
            return;
          }
        }
        s.end();
      };
      pump();
    });
    const duplex = network.connectDuplex(`127.0.0.1:${port}`, { readableHighWaterMark: 64 * 1024 });
    await once(duplex, 'connect');
    duplex.pause();
    await tick(300);
    // Paused: the Duplex holds at most about its high-water mark plus one chunk.
    assert.ok(duplex.readableLength <= 64 * 1024 + 65536, `readable buffer ${duplex.readableLength}`);
    let got = 0;
    duplex.on('data', (d: Buffer) => (got += d.length));
    duplex.resume();
    await once(duplex, 'end');
    assert.equal(got, total);
    duplex.end();
    await once(duplex, 'close');
  });

  it('back-pressure on writes: write() returns false and drain follows; all bytes arrive', async () => {
    let received = 0;
    let peer: net.Socket | undefined;
    const port = await netServer((s) => {
      peer = s;
      s.pause();
      s.on('data', (d) => (received += d.length));
    });
    const duplex = network.connectDuplex(`127.0.0.1:${port}`);
    await once(duplex, 'connect');
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    let written = 0;
    // Write until a 'drain' does not come within 100 ms: the stack is full.
    for (;;) {
      written += chunk.length;
      if (written > 256 * 1024 * 1024) assert.fail('never blocked');
      if (duplex.write(chunk)) continue;
      const drained = await Promise.race([once(duplex, 'drain').then(() => true), tick(100).then(() => false)]);
      if (!drained) break;
    }
    assert.ok(duplex.writableLength > 0, 'data waits in the Duplex while the stack is full');
    assert.ok(written < 64 * 1024 * 1024, `accepted ${written} bytes before blocking`);
    peer?.resume();
    await once(duplex, 'drain');
    duplex.end();
    await once(duplex, 'finish');
    for (let i = 0; i < 400 && received < written; i++) await tick(5);
    assert.equal(received, written);
    duplex.destroy();
  });

  it('net.Socket compatibility for http.Agent: setTimeout on the network scheduler, destroySoon, addresses, ref/unref', async () => {
    const port = await netServer((s) => s.on('data', (d) => s.write(d)));
    const clock = new VirtualScheduler();
    const timed = new Network(backend, { scheduler: clock });
    cleanups.push(() => timed.close());
    const duplex = timed.connectDuplex(`127.0.0.1:${port}`);
    const timeouts: number[] = [];
    duplex.on('timeout', () => timeouts.push(clock.now()));
    assert.equal(duplex.setTimeout(1000), duplex);
    assert.equal(duplex.timeout, 1000);
    await once(duplex, 'connect');
    assert.equal(duplex.remoteAddress, '127.0.0.1');
    assert.equal(duplex.localAddress, '127.0.0.1');
    assert.ok((duplex.localPort ?? 0) > 0);
    assert.equal(duplex.remoteFamily, 'IPv4');
    assert.equal(duplex.ref(), duplex);
    assert.equal(duplex.unref(), duplex);
    assert.throws(() => duplex.setTimeout(-1), RangeError);

    clock.advance(999);
    duplex.write('ping'); // activity at 999: the write completes and the echo is read
    await once(duplex, 'data');
    clock.advance(999);
    assert.deepEqual(timeouts, [], 'idle for 999 ms only');
    clock.advance(1);
    assert.deepEqual(timeouts, [1999]);
    clock.advance(5000);
    assert.deepEqual(timeouts, [1999], 'once until the next activity');
    duplex.write('again');
    await once(duplex, 'data');
    clock.advance(1000);
    assert.deepEqual(timeouts, [1999, 7999], 'activity re-arms it');
    const callback = (): void => undefined;
    duplex.setTimeout(500, callback);
    assert.equal(duplex.listenerCount('timeout'), 2);
    duplex.setTimeout(0, callback);
    assert.equal(duplex.listenerCount('timeout'), 1);
    assert.equal(duplex.timeout, 0);
    clock.advance(10_000);
    assert.deepEqual(timeouts, [1999, 7999], 'off');

    duplex.setTimeout(100);
    duplex.destroySoon(); // FIN after the data, then closed; the timer goes with it
    await once(duplex, 'close');
    assert.equal(clock.pendingTimers(), 0);
  });
});

describe('SocketDuplex under node:tls, node:http and mqtt.js', () => {
  let dir: string;
  let key: string;
  let cert: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'iotnet-duplex-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' });
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('node:tls client over the Duplex: verified handshake and echo', async () => {
    const server = tls.createServer({ key, cert }, (s) => s.pipe(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as net.AddressInfo).port;

    const socket = await network.connect(`127.0.0.1:${port}`);
    const secure = tls.connect({ socket: socket.toDuplex(), servername: 'localhost', ca: cert });
    await once(secure, 'secureConnect');
    assert.equal(secure.authorized, true);
    secure.write('over tls');
    const [data] = (await once(secure, 'data')) as [Buffer];
    assert.equal(data.toString(), 'over tls');
    secure.end();
    await once(secure, 'close');

    // Without the CA the self-signed certificate is rejected.
    const socket2 = await network.connect(`127.0.0.1:${port}`);
    const bad = tls.connect({ socket: socket2.toDuplex(), servername: 'localhost' });
    const [err] = (await once(bad, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    bad.destroy();
  });

  it('node:http request over the Duplex (createConnection)', async () => {
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => res.end(`${req.method} ${req.url} ${body}`));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((r) => {
      server.closeAllConnections();
      server.close(r);
    }));
    const port = (server.address() as net.AddressInfo).port;

    for (let i = 0; i < 2; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          {
            method: 'POST',
            path: `/x${i}`,
            host: '127.0.0.1',
            port,
            createConnection: () => network.connectDuplex(`127.0.0.1:${port}`) as unknown as net.Socket,
          },
          (res) => {
            let s = '';
            res.on('data', (d) => (s += d));
            res.on('end', () => resolve(s));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end('payload');
      });
      assert.equal(body, `POST /x${i} payload`);
    }
  });

  it('mqtt.js over connectDuplex to aedes: QoS 1 publish/subscribe round trip, clean end', async () => {
    const broker = await Aedes.createBroker();
    const server = net.createServer(broker.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(async () => {
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise((r) => server.close(r));
    });
    const port = (server.address() as net.AddressInfo).port;

    const errors: unknown[] = [];
    let builds = 0;
    const client = new MqttClient(() => {
      builds++;
      return network.connectDuplex(`127.0.0.1:${port}`, { allowHalfOpen: false });
    }, { clientId: 'iotnet-test', protocolVersion: 4, reconnectPeriod: 0, keepalive: 30 });
    client.on('error', (e) => errors.push(e));
    await clientEvent(client, 'connect');
    await client.subscribeAsync('iotnet/test', { qos: 1 });
    const message = clientEvent(client, 'message');
    const packet = await client.publishAsync('iotnet/test', 'hello over iotnet', { qos: 1 });
    assert.equal(packet?.cmd, 'publish');
    const [topic, payload, p] = (await message) as [string, Buffer, { qos: number }];
    assert.equal(topic, 'iotnet/test');
    assert.equal(payload.toString(), 'hello over iotnet');
    assert.equal(p.qos, 1);
    await client.endAsync();
    assert.deepEqual(errors, [], 'no error on an orderly end (no AbortError noise)');
    assert.equal(builds, 1);
  });

  it('mqtt.js reconnects through the builder when the broker drops the connection', async () => {
    const broker = await Aedes.createBroker();
    const conns: net.Socket[] = [];
    const server = net.createServer((s) => {
      conns.push(s);
      broker.handle(s);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(async () => {
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise((r) => server.close(r));
    });
    const port = (server.address() as net.AddressInfo).port;
    let builds = 0;
    const client = new MqttClient(() => {
      builds++;
      return network.connectDuplex(`127.0.0.1:${port}`); // default: the broker's FIN closes the Duplex
    }, { clientId: 'iotnet-reconnect', protocolVersion: 4, reconnectPeriod: 50 });
    const errors: Array<{ code?: unknown }> = [];
    client.on('error', (e) => errors.push(e as { code?: unknown }));
    await clientEvent(client, 'connect');
    conns[0]?.end(); // orderly close from the broker side
    await clientEvent(client, 'connect');
    assert.equal(builds, 2);
    for (const e of errors) assert.ok(e.code !== undefined, 'only coded errors are forwarded');
    await client.endAsync();
  });
});
