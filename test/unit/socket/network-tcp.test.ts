/**
 * The idiomatic API over the host stack: TcpSocket and TcpServer against node:net
 * peers on loopback.
 */
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { Af, CoreSocket, SockType, SocketBackend } from '../../../src/backends/contract.ts';
import { createHostBackend } from '../../../src/backends/host/index.ts';
import type { HostBackend } from '../../../src/backends/host/index.ts';
import { IOT_SOCKET_EAGAIN, IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_EINPROGRESS } from '../../../src/base/iot-constants.ts';
import { isSocketError, SocketError } from '../../../src/base/socket-error.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { Network } from '../../../src/socket/network.ts';
import { SocketAddress } from '../../../src/socket/socket-address.ts';
import type { TcpSocket } from '../../../src/socket/tcp-socket.ts';

const text = (b: Uint8Array | null): string => (b === null ? '<null>' : new TextDecoder().decode(b));

let backend: HostBackend;
let network: Network;
const peers: net.Server[] = [];

beforeEach(() => {
  backend = createHostBackend();
  network = new Network(backend);
});

afterEach(async () => {
  await network.close();
  assert.equal(network.openCount, 0, 'network tracks nothing after close');
  assert.equal(backend.openSockets, 0, 'no core socket leaked');
  await backend.close();
  for (const p of peers.splice(0)) p.close();
});

after(() => {
  for (const p of peers.splice(0)) p.close();
});

/** A node:net server on 127.0.0.1 with a handler; returns its port. */
async function peer(onConnection: (s: net.Socket) => void, host = '127.0.0.1'): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  peers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** Everything the socket yields until the end, as text. */
async function readAll(socket: TcpSocket): Promise<string> {
  const parts: string[] = [];
  for await (const chunk of socket) parts.push(text(chunk));
  return parts.join('');
}

function rejectsWith(p: Promise<unknown>, code: SocketError['code'], check?: (e: SocketError) => void): Promise<void> {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(isSocketError(e, code), `expected ${code}, got ${String(e)}`);
    check?.(e);
    return true;
  });
}

describe('TcpSocket over the host stack', () => {
  it('connects, writes, reads, half-closes and sees the peer end', async () => {
    const port = await peer((s) => {
      s.on('data', (d) => s.write(d)); // echo
      s.on('end', () => s.end('bye'));
    });
    const socket = await network.connect(`127.0.0.1:${port}`);
    assert.equal(socket.remoteAddress.toString(), `127.0.0.1:${port}`);
    assert.equal(socket.localAddress.address, '127.0.0.1');
    assert.ok(socket.localAddress.port > 0);
    await socket.write('hello');
    assert.equal(text(await socket.read()), 'hello');
    await socket.write(new Uint8Array([0x41, 0x42]));
    assert.equal(text(await socket.read()), 'AB');
    await socket.end();
    assert.equal(socket.writableEnded, true);
    assert.equal(await readAll(socket), 'bye');
    assert.equal(await socket.read(), null, 'read after the end stays null');
    assert.equal(socket.readableEnded, true);
    await socket.close();
    assert.equal(socket.closed, true);
  });

  it('accepts the target as SocketAddress, {host, port} and a host name', async () => {
    const port = await peer((s) => s.end('x'));
    for (const target of [SocketAddress.from('127.0.0.1', port), { host: '127.0.0.1', port }, `localhost:${port}`, { host: 'localhost', port, family: 4 as const }]) {
      const socket = await network.connect(target);
      assert.equal(await readAll(socket), 'x');
      await socket.close();
    }
  });

  it('keeps reading after end() (half-close)', async () => {
    const port = await peer((s) => {
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => {
        s.write(`got:${got}`);
        s.end();
      });
    });
    const socket = await network.connect({ host: '127.0.0.1', port });
    await socket.write('abc');
    await socket.end();
    await socket.end(); // harmless
    await rejectsWith(socket.write('more'), 'ENOTCONN', (e) => assert.equal(e.detail.reason, 'write-after-end'));
    assert.equal(await readAll(socket), 'got:abc');
    await socket.close();
  });

  it("writes after the peer's end() (half-open) reach the peer, until our end()", async () => {
    let peerGot: Promise<string> | undefined;
    const port = await peer((s) => {
      peerGot = new Promise((resolve) => {
        let got = '';
        s.on('data', (d) => (got += d.toString()));
        s.on('end', () => resolve(got));
      });
      s.end('early');
    });
    const socket = await network.connect({ host: '127.0.0.1', port });
    assert.equal(await readAll(socket), 'early');
    assert.equal(socket.readableEnded, true);
    await socket.write('late');
    await socket.write(new Uint8Array(100_000).fill(0x2e)); // large: the zero-copy path too
    await socket.write(' and later');
    await socket.end();
    await rejectsWith(socket.write('too late'), 'ENOTCONN', (e) => assert.equal(e.detail.reason, 'write-after-end'));
    assert.ok(peerGot !== undefined);
    assert.equal(await peerGot, `late${'.'.repeat(100_000)} and later`);
    await socket.close();
  });

  it("after the peer's end() and a reset, write rejects with ECONNRESET", async () => {
    let conn: net.Socket | undefined;
    const port = await peer((s) => {
      conn = s;
      s.on('error', () => undefined);
      s.end();
    });
    const socket = await network.connect({ host: '127.0.0.1', port });
    assert.equal(await readAll(socket), '');
    await socket.write('half-open');
    conn?.resetAndDestroy();
    // The reset shows once a write meets it (reading already ended).
    const deadline = Date.now() + 5000;
    await rejectsWith((async () => {
      while (Date.now() < deadline) {
        await socket.write('x');
        await new Promise((r) => setTimeout(r, 10));
      }
    })(), 'ECONNRESET');
    await socket.close();
  });

  it('honours maxBytes', async () => {
    const port = await peer((s) => s.end('0123456789'));
    const socket = await network.connect(`127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(text(await socket.read({ maxBytes: 4 })), '0123');
    assert.equal(text(await socket.read({ maxBytes: 4 })), '4567');
    assert.equal(text(await socket.read()), '89');
    assert.equal(await socket.read(), null);
    await rejectsWith(socket.read({ maxBytes: 0 }), 'EINVAL');
  });

  it('serves concurrent reads and writes in call order', async () => {
    const port = await peer((s) => s.on('data', (d) => s.write(d)));
    const socket = await network.connect(`127.0.0.1:${port}`);
    const writes = Array.from({ length: 20 }, (_, i) => socket.write(`<${i}>`));
    await Promise.all(writes);
    const expected = Array.from({ length: 20 }, (_, i) => `<${i}>`).join('');
    let got = '';
    while (got.length < expected.length) got += text(await socket.read());
    assert.equal(got, expected);
  });

  it('a read waiting for its turn can time out or abort without disturbing the queue', async () => {
    let peerSocket: net.Socket | undefined;
    const port = await peer((s) => (peerSocket = s));
    const socket = await network.connect(`127.0.0.1:${port}`);
    const first = socket.read();
    const second = socket.read({ timeoutMs: 30 });
    const ac = new AbortController();
    const third = socket.read({ signal: ac.signal });
    ac.abort('not now');
    await assert.rejects(third, (e) => e === 'not now');
    await rejectsWith(second, 'ETIMEDOUT');
    while (peerSocket === undefined) await new Promise((r) => setTimeout(r, 5));
    peerSocket.write('one');
    assert.equal(text(await first), 'one');
    peerSocket.write('two');
    assert.equal(text(await socket.read()), 'two');
  });

  it('reports a refused connection as ECONNREFUSED with detail', async () => {
    const port = await peer(() => undefined);
    peers.pop()?.close();
    await new Promise((r) => setTimeout(r, 10));
    await rejectsWith(network.connect(`127.0.0.1:${port}`), 'ECONNREFUSED', (e) => {
      assert.equal(e.detail.op, 'connect');
      assert.equal(e.detail.backend, 'host');
      assert.equal(e.detail.address, `127.0.0.1:${port}`);
    });
    assert.equal(network.openCount, 0);
  });

  it('rejects bad targets with EINVAL and unknown names with EHOSTNOTFOUND', async () => {
    await rejectsWith(network.connect('127.0.0.1'), 'EINVAL');
    await rejectsWith(network.connect('127.0.0.1:0'), 'EINVAL');
    await rejectsWith(network.connect({ host: '127.0.0.1', port: 70000 }), 'EINVAL');
    await rejectsWith(network.connect('no-such-host.invalid:80'), 'EHOSTNOTFOUND');
  });

  it('read timeoutMs rejects with ETIMEDOUT (reason timeout); abort rejects with the signal reason', async () => {
    const port = await peer(() => undefined); // never sends
    const socket = await network.connect(`127.0.0.1:${port}`);
    const t0 = performance.now();
    await rejectsWith(socket.read({ timeoutMs: 50 }), 'ETIMEDOUT', (e) => {
      assert.equal(e.detail.reason, 'timeout');
      assert.equal(e.detail.op, 'read');
    });
    assert.ok(performance.now() - t0 >= 45);

    const ac = new AbortController();
    const reason = new Error('stop it');
    const pending = socket.read({ signal: ac.signal });
    setTimeout(() => ac.abort(reason), 10);
    await assert.rejects(pending, (e) => e === reason);

    const aborted = AbortSignal.abort();
    await assert.rejects(socket.read({ signal: aborted }), (e: unknown) => (e as Error).name === 'AbortError');
    // The socket still works after timeouts and aborts.
    await socket.write('still alive');
  });

  it('an aborted connect rejects with the signal reason and leaves nothing open', async () => {
    const port = await peer(() => undefined);
    const reason = new Error('cancelled');
    await assert.rejects(network.connect(`127.0.0.1:${port}`, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(network.openCount, 0);
  });

  it('destroy() resets the connection and rejects pending calls', async () => {
    const peerErrors: unknown[] = [];
    const peerClosed: Array<Promise<unknown>> = [];
    const port = await peer((s) => {
      s.on('error', (e) => peerErrors.push(e));
      peerClosed.push(new Promise((resolve) => s.on('close', resolve)));
    });
    const socket = await network.connect(`127.0.0.1:${port}`);
    const pending = socket.read();
    socket.destroy();
    socket.destroy(); // harmless
    await rejectsWith(pending, 'ECONNABORTED', (e) => assert.equal(e.detail.reason, 'destroyed'));
    await rejectsWith(socket.write('x'), 'ECONNABORTED');

    const cause = new Error('app failure');
    const s2 = await network.connect(`127.0.0.1:${port}`);
    const p2 = s2.read();
    s2.destroy(cause);
    await rejectsWith(p2, 'ECONNABORTED', (e) => assert.equal(e.cause, cause));

    const own = new SocketError('ETIMEDOUT', { op: 'app' });
    const s3 = await network.connect(`127.0.0.1:${port}`);
    const p3 = s3.read();
    s3.destroy(own);
    await assert.rejects(p3, (e) => e === own);

    while (peerClosed.length < 3) await new Promise((r) => setTimeout(r, 5));
    await Promise.all(peerClosed);
    assert.equal(peerErrors.length, 3);
    for (const e of peerErrors) assert.equal((e as NodeJS.ErrnoException).code, 'ECONNRESET');
  });

  it('close() is graceful: queued data is delivered, pending reads reject with ESOCK, iteration ends quietly', async () => {
    let received = '';
    const ended = new Promise<void>((resolve) => {
      void peer((s) => {
        s.on('data', (d) => (received += d.toString()));
        s.on('end', () => resolve());
      }).then(async (port) => {
        const socket = await network.connect(`127.0.0.1:${port}`);
        const pendingRead = socket.read();
        const iterated = (async () => {
          const chunks: Uint8Array[] = [];
          for await (const c of socket) chunks.push(c);
          return chunks.length;
        })();
        void socket.write('x'.repeat(100_000)); // not awaited: close() lets it finish first
        await socket.close();
        await rejectsWith(pendingRead, 'ESOCK', (e) => assert.equal(e.detail.reason, 'closed'));
        assert.equal(await iterated, 0);
        await rejectsWith(socket.read(), 'ESOCK');
        await socket.close(); // idempotent
      });
    });
    await ended;
    assert.equal(received.length, 100_000);
  });

  it('setKeepAlive and the keepAlive option', async () => {
    const port = await peer(() => undefined);
    const socket = await network.connect(`127.0.0.1:${port}`, { keepAlive: true });
    socket.setKeepAlive(false);
    socket.setKeepAlive(true);
    await socket.close();
    assert.throws(() => socket.setKeepAlive(true), (e: unknown) => isSocketError(e, 'ESOCK'));
  });

  it('binds to localAddress / localPort', async () => {
    const seen: Array<string | undefined> = [];
    const port = await peer((s) => {
      seen.push(`${s.remoteAddress}:${s.remotePort}`);
      s.end();
    });
    const socket = await network.connect(`127.0.0.1:${port}`, { localAddress: '127.0.0.1' });
    assert.equal(socket.localAddress.address, '127.0.0.1');
    assert.ok(socket.localAddress.port >= 49152);
    await readAll(socket);
    assert.equal(seen[0], socket.localAddress.toString());
    await rejectsWith(network.connect(`127.0.0.1:${port}`, { localAddress: '::1' }), 'EINVAL');
    await rejectsWith(network.connect(`127.0.0.1:${port}`, { localAddress: 'nope' }), 'EINVAL');
  });

  it('write() waits while the peer does not read (back-pressure), memory stays bounded', async () => {
    let peerSocket: net.Socket | undefined;
    let received = 0;
    const gotPeer = new Promise<void>((resolve) => {
      void peer((s) => {
        peerSocket = s;
        s.pause();
        s.on('data', (d) => (received += d.length));
        resolve();
      }).then((port) => network.connect(`127.0.0.1:${port}`).then((s) => (client = s)));
    });
    let client: TcpSocket | undefined;
    await gotPeer;
    while (client === undefined) await new Promise((r) => setTimeout(r, 5));
    const chunk = new Uint8Array(64 * 1024).fill(0x5a);
    let queued = 0;
    let blocked = false;
    const heapBefore = process.memoryUsage().arrayBuffers;
    // Write until a write stays pending for 100 ms.
    for (let i = 0; i < 2000; i++) {
      const w = client.write(chunk);
      const outcome = await Promise.race([w.then(() => 'done'), new Promise((r) => setTimeout(r, 100, 'pending'))]);
      if (outcome === 'pending') {
        blocked = true;
        // Let the peer drain; the pending write completes.
        peerSocket?.resume();
        await w;
        queued += chunk.length;
        break;
      }
      queued += chunk.length;
    }
    assert.ok(blocked, 'a write blocked before 128 MiB were queued');
    assert.ok(queued < 32 * 1024 * 1024, `queued ${queued} bytes before blocking`);
    assert.ok(process.memoryUsage().arrayBuffers - heapBefore < 64 * 1024 * 1024, 'memory bounded');
    await client.end();
    while (received < queued) await new Promise((r) => setTimeout(r, 5));
    assert.equal(received, queued);
  });

  it('write timeoutMs rejects with ETIMEDOUT while the peer does not read', async () => {
    const port = await peer((s) => s.pause());
    const socket = await network.connect(`127.0.0.1:${port}`);
    const chunk = new Uint8Array(1024 * 1024);
    await rejectsWith(
      (async () => {
        for (let i = 0; i < 256; i++) await socket.write(chunk, { timeoutMs: 100 });
      })(),
      'ETIMEDOUT',
      (e) => assert.equal(e.detail.op, 'write'),
    );
    socket.destroy();
  });
});

describe('TcpServer over the host stack', () => {
  it('listens on a random port from 49152-65535 and accepts', async () => {
    const server = await network.listen({ port: 0, host: '127.0.0.1' });
    assert.equal(server.address.address, '127.0.0.1');
    assert.ok(server.address.port >= 49152 && server.address.port <= 65535);
    const client = net.connect(server.address.port, '127.0.0.1');
    const socket = await server.accept();
    await once(client, 'connect');
    assert.equal(socket.remoteAddress.port, client.localPort);
    client.write('ping');
    assert.equal(text(await socket.read()), 'ping');
    await socket.write('pong');
    const [reply] = (await once(client, 'data')) as [Buffer];
    assert.equal(reply.toString(), 'pong');
    client.end();
    assert.equal(await socket.read(), null);
    await socket.close();
    await server.close();
  });

  it('async iteration yields connections and ends when the server closes', async () => {
    const server = await network.listen({ port: 0, host: '127.0.0.1', backlog: 4 });
    const served: string[] = [];
    const loop = (async () => {
      for await (const socket of server) {
        served.push(text(await socket.read()));
        await socket.write('ok');
        await socket.close();
      }
    })();
    for (const name of ['a', 'b', 'c']) {
      const c = net.connect(server.address.port, '127.0.0.1');
      c.write(name);
      await once(c, 'data');
      c.destroy();
    }
    await server.close();
    await loop;
    assert.deepEqual(served, ['a', 'b', 'c']);
    await rejectsWith(server.accept(), 'ESOCK');
  });

  it('accept honours timeoutMs and AbortSignal', async () => {
    const server = await network.listen({ port: 0 });
    assert.equal(server.address.address, '0.0.0.0');
    await rejectsWith(server.accept({ timeoutMs: 30 }), 'ETIMEDOUT', (e) => assert.equal(e.detail.op, 'accept'));
    const ac = new AbortController();
    const p = server.accept({ signal: ac.signal });
    ac.abort('enough');
    await assert.rejects(p, (e) => e === 'enough');
    const pending = server.accept();
    await server.close();
    await rejectsWith(pending, 'ESOCK', (e) => assert.equal(e.detail.reason, 'closed'));
  });

  it('reports a port in use as EADDRINUSE and bad options as EINVAL', async () => {
    const server = await network.listen({ port: 0, host: '127.0.0.1' });
    await rejectsWith(network.listen({ port: server.address.port, host: '127.0.0.1' }), 'EADDRINUSE');
    await rejectsWith(network.listen({ port: -1 }), 'EINVAL');
    await rejectsWith(network.listen({ port: 1.5 }), 'EINVAL');
    await rejectsWith(network.listen({ port: 0, backlog: 0 }), 'EINVAL');
  });

  it('listens on IPv6 and connects over it', async () => {
    const server = await network.listen({ port: 0, family: 6 });
    assert.equal(server.address.address, '::');
    const accepted = server.accept();
    const client = await network.connect(`[::1]:${server.address.port}`);
    const socket = await accepted;
    assert.equal(socket.remoteAddress.family, 6);
    await client.write('v6');
    assert.equal(text(await socket.read()), 'v6');
  });

  it('Network.close() closes every socket and server it created and refuses new ones', async () => {
    const server = await network.listen({ port: 0, host: '127.0.0.1' });
    const client = await network.connect(server.address);
    const accepted = await server.accept();
    assert.equal(network.openCount, 3);
    const iter = (async () => {
      for await (const _ of accepted) {
        // nothing
      }
    })();
    await network.close();
    await iter;
    assert.equal(network.openCount, 0);
    assert.equal(client.closed && accepted.closed && server.closed, true);
    await rejectsWith(network.connect(server.address), 'ESOCK');
    await rejectsWith(network.listen({ port: 0 }), 'ESOCK');
    await rejectsWith(network.udp(), 'ESOCK');
  });
});

describe('Network.lookup', () => {
  it('returns literals in canonical form without I/O, and resolves names', async () => {
    assert.equal(await network.lookup('127.0.0.1'), '127.0.0.1');
    assert.equal(await network.lookup('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(await network.lookup('[::1]'), '::1');
    assert.equal(await network.lookup('localhost', { family: 4 }), '127.0.0.1');
    await rejectsWith(network.lookup('::1', { family: 4 }), 'EHOSTNOTFOUND');
    await rejectsWith(network.lookup('no-such-host.invalid'), 'EHOSTNOTFOUND', (e) => assert.equal(e.detail.op, 'lookup'));
    await rejectsWith(network.lookup(''), 'EINVAL');
    await assert.rejects(network.lookup('localhost', { signal: AbortSignal.abort('x') }), (e) => e === 'x');
  });
});

/** A backend whose stream connects never finish (a black hole), counting closes. */
function blackHoleBackend(): SocketBackend & { closes: boolean[] } {
  const closes: boolean[] = [];
  const socket = (af: Af, type: SockType): CoreSocket => ({
    af,
    type,
    onChange: () => undefined,
    bind: () => 0,
    listen: () => 0,
    accept: () => IOT_SOCKET_EAGAIN,
    connect: () => IOT_SOCKET_EINPROGRESS,
    connectResult: () => IOT_SOCKET_EINPROGRESS,
    recv: () => IOT_SOCKET_EAGAIN,
    send: () => IOT_SOCKET_EAGAIN,
    shutdown: () => 0,
    peerClosed: () => false,
    localEndpoint: () => undefined,
    remoteEndpoint: () => undefined,
    setKeepAlive: () => 0,
    close: (abort?: boolean) => {
      closes.push(abort === true);
      return 0;
    },
  });
  return {
    name: 'stub',
    caps: { ipv4: true, ipv6: true, tcp: true, udp: true, listen: true, maxSockets: 8, maxDatagram: 1472, connectTimeoutMs: 15000 },
    createSocket: socket,
    lookup: async () => IOT_SOCKET_EHOSTNOTFOUND,
    closes,
  };
}

describe('Network on virtual time (stub backend)', () => {
  it('connect timeoutMs rejects with ETIMEDOUT at the deadline and aborts the attempt', async () => {
    const scheduler = new VirtualScheduler();
    const stub = blackHoleBackend();
    const net2 = new Network(stub, { scheduler });
    let settled: unknown;
    const p = net2.connect('192.0.2.1:80', { timeoutMs: 3000 }).then(
      () => (settled = 'connected'),
      (e: unknown) => (settled = e),
    );
    await new Promise((r) => setImmediate(r));
    scheduler.advance(2999);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, undefined, 'not before the deadline');
    scheduler.advance(1);
    await p;
    const error = settled as unknown;
    assert.ok(isSocketError(error, 'ETIMEDOUT'));
    assert.deepEqual(error.detail, { op: 'connect', backend: 'stub', address: '192.0.2.1:80', reason: 'timeout' });
    assert.deepEqual(stub.closes, [true], 'the attempt was aborted');
    assert.equal(scheduler.pendingTimers(), 0);
    assert.equal(net2.openCount, 0);
  });

  it('an abort during connect rejects with the reason; a destroyed connectDuplex cancels the attempt', async () => {
    const scheduler = new VirtualScheduler();
    const stub = blackHoleBackend();
    const net2 = new Network(stub, { scheduler });
    const ac = new AbortController();
    const p = net2.connect('192.0.2.1:80', { signal: ac.signal });
    await new Promise((r) => setImmediate(r));
    ac.abort('bye');
    await assert.rejects(p, (e) => e === 'bye');
    assert.deepEqual(stub.closes, [true]);

    const duplex = net2.connectDuplex('192.0.2.1:80');
    duplex.write('held until connected');
    await new Promise((r) => setImmediate(r));
    duplex.destroy();
    await once(duplex, 'close');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(stub.closes, [true, true]);
    assert.equal(net2.openCount, 0);
  });
});
