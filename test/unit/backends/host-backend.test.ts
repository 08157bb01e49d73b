/**
 * The host backend (`src/backends/host`) driven through the raw `CoreSocket` contract
 * against real loopback peers (node:net / node:dgram on port 0) and its own listeners.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dgram from 'node:dgram';
import { once } from 'node:events';
import diagnosticsChannel from 'node:diagnostics_channel';
import { createHostBackend, EPHEMERAL_FIRST, EPHEMERAL_LAST, type HostBackend, type HostBackendOptions } from '../../../src/backends/host/index.ts';
import type { CoreSocket, Endpoint, RecvInfo } from '../../../src/backends/contract.ts';
import { CORE_EOF } from '../../../src/backends/contract.ts';
import {
  IOT_SOCKET_EADDRINUSE,
  IOT_SOCKET_EAGAIN,
  IOT_SOCKET_ECONNREFUSED,
  IOT_SOCKET_ECONNRESET,
  IOT_SOCKET_EHOSTNOTFOUND,
  IOT_SOCKET_EINPROGRESS,
  IOT_SOCKET_EINVAL,
  IOT_SOCKET_ENOMEM,
  IOT_SOCKET_ENOTCONN,
  IOT_SOCKET_ENOTSUP,
  IOT_SOCKET_ERROR,
  IOT_SOCKET_ETIMEDOUT,
} from '../../../src/base/iot-constants.ts';
import { formatIp, parseIp } from '../../../src/base/ip-address.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { startDnsFixture } from '../../support/dns-fixture.ts';

const LO4 = parseIp('127.0.0.1') as Uint8Array;
const LO6 = parseIp('::1') as Uint8Array;
const ANY4 = new Uint8Array(4);
const ANY6 = new Uint8Array(16);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A backend closed after the test, with a leak check of its Node handles and ports. */
async function withBackend(t: { after(fn: () => Promise<void>): void }, options: HostBackendOptions = {}): Promise<HostBackend> {
  const backend = createHostBackend(options);
  t.after(async () => {
    await backend.close();
    assert.equal(backend.openHandles, 0, 'Node handles left open');
    assert.deepEqual(backend.reservedPorts, { tcp: 0, udp: 0 }, 'port reservations left');
  });
  return backend;
}

function socketOf(backend: HostBackend, af: 1 | 2, type: 1 | 2): CoreSocket {
  const s = backend.createSocket(af, type);
  assert.equal(typeof s, 'object', `createSocket(${af}, ${type}) failed: ${String(s)}`);
  return s as CoreSocket;
}

/** Waits (change callbacks plus a 10 ms poll) until `probe` returns something other than undefined. */
async function until<T>(sock: CoreSocket, probe: () => T | undefined, what = 'condition', ms = 5000): Promise<T> {
  const started = performance.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (performance.now() - started > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10);
      sock.onChange(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Waits for a connect outcome other than EINPROGRESS. */
function connected(sock: CoreSocket): Promise<number> {
  return until(sock, () => {
    const r = sock.connectResult();
    return r === IOT_SOCKET_EINPROGRESS ? undefined : r;
  }, 'connect outcome');
}

/** recv that waits while EAGAIN. */
function recvWait(sock: CoreSocket, buf: Uint8Array, len = buf.length, from?: RecvInfo): Promise<number> {
  return until(sock, () => {
    const r = sock.recv(buf, len, from);
    return r === IOT_SOCKET_EAGAIN ? undefined : r;
  }, 'recv');
}

/** Reads until `n` bytes arrived (or an end code); returns the bytes. */
async function recvExactly(sock: CoreSocket, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const chunk = new Uint8Array(n - got);
    const r = await recvWait(sock, chunk);
    assert.ok(r > 0, `recv returned ${r} after ${got} of ${n} bytes`);
    out.set(chunk.subarray(0, r), got);
    got += r;
  }
  return out;
}

async function sendAll(sock: CoreSocket, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const rest = data.subarray(off);
    const r = await until(sock, () => {
      const x = sock.send(rest, rest.length);
      return x === IOT_SOCKET_EAGAIN ? undefined : x;
    }, 'send');
    assert.ok(r > 0, `send returned ${r}`);
    off += r;
  }
}

/** A node:net server on loopback; `conns` collects its connections. */
async function netServer(host = '127.0.0.1', onConn?: (s: net.Socket) => void): Promise<{ server: net.Server; port: number; conns: net.Socket[]; next(): Promise<net.Socket>; close(): Promise<void> }> {
  const conns: net.Socket[] = [];
  const waiting: ((s: net.Socket) => void)[] = [];
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    conns.push(s);
    onConn?.(s);
    waiting.shift()?.(s);
  });
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  let seen = 0;
  return {
    server,
    port,
    conns,
    next: () => {
      const i = seen++;
      const c = conns[i];
      if (c !== undefined) return Promise.resolve(c);
      return new Promise((resolve) => waiting.push(resolve));
    },
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port that was free a moment ago (a server on port 0, closed). */
async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  s.listen(0, host);
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function udpPeer(type: 'udp4' | 'udp6' = 'udp4', host = type === 'udp4' ? '127.0.0.1' : '::1'): Promise<{ sock: dgram.Socket; port: number; messages: { data: Buffer; port: number; address: string }[]; next(): Promise<{ data: Buffer; port: number; address: string }>; close(): Promise<void> }> {
  const sock = dgram.createSocket(type);
  const messages: { data: Buffer; port: number; address: string }[] = [];
  const waiting: ((m: { data: Buffer; port: number; address: string }) => void)[] = [];
  let seen = 0;
  sock.on('message', (data, rinfo) => {
    const m = { data, port: rinfo.port, address: rinfo.address };
    messages.push(m);
    waiting.shift()?.(m);
  });
  sock.bind(0, host);
  await once(sock, 'listening');
  return {
    sock,
    port: sock.address().port,
    messages,
    next: () => {
      const i = seen++;
      const m = messages[i];
      if (m !== undefined) return Promise.resolve(m);
      return new Promise((resolve) => waiting.push(resolve));
    },
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ----------------------------------------------------------------------------------

describe('host backend: creation and caps', () => {
  test('caps describe the host stack', async (t) => {
    const backend = await withBackend(t, { connectTimeoutMs: 12000, maxSockets: 7 });
    assert.equal(backend.name, 'host');
    assert.deepEqual(backend.caps, {
      ipv4: true, ipv6: true, tcp: true, udp: true, listen: true,
      maxSockets: 7, maxDatagram: 65507, connectTimeoutMs: 12000,
    });
    assert.equal(createHostBackend().caps.connectTimeoutMs, 15000);
    assert.equal(createHostBackend().caps.maxSockets, 1024);
  });

  test('createSocket: ENOTSUP for unknown family/type, ENOMEM beyond maxSockets, slot freed on close', async (t) => {
    const backend = await withBackend(t, { maxSockets: 2 });
    assert.equal(backend.createSocket(3 as 1, 1), IOT_SOCKET_ENOTSUP);
    assert.equal(backend.createSocket(1, 3 as 1), IOT_SOCKET_ENOTSUP);
    const a = socketOf(backend, 1, 1);
    socketOf(backend, 2, 2);
    assert.equal(backend.createSocket(1, 2), IOT_SOCKET_ENOMEM);
    assert.equal(await a.close(), 0);
    socketOf(backend, 1, 2);
    assert.equal(backend.openSockets, 2);
  });

  test('accepted connections count against maxSockets; beyond it they are reset', async (t) => {
    const backend = await withBackend(t, { maxSockets: 2 });
    const lst = socketOf(backend, 1, 1);
    const port = await freePort();
    assert.equal(lst.bind(LO4, port), 0);
    assert.equal(await lst.listen(4), 0);
    const c1 = net.connect(port, '127.0.0.1');
    c1.on('error', () => undefined);
    const a1 = await until(lst, () => {
      const r = lst.accept();
      return typeof r === 'number' ? undefined : r;
    }, 'accept');
    assert.equal(backend.openSockets, 2);
    assert.equal(backend.createSocket(1, 1), IOT_SOCKET_ENOMEM);
    const c2 = net.connect(port, '127.0.0.1');
    const c2err = new Promise<string | undefined>((resolve) => {
      c2.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      c2.on('close', () => resolve('closed'));
    });
    assert.ok(['ECONNRESET', 'closed'].includes((await c2err) ?? ''), 'second connection is refused with a reset');
    assert.equal(lst.accept(), IOT_SOCKET_EAGAIN);
    await a1.socket.close();
    c1.destroy();
    c2.destroy();
  });
});

describe('host backend: TCP client', () => {
  test('connect, send, recv across chunks, peer FIN gives CORE_EOF once drained, sending goes on (half-open)', async (t) => {
    const backend = await withBackend(t);
    const srv = await netServer();
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    assert.equal(s.connect(LO4, srv.port), IOT_SOCKET_EINPROGRESS);
    const local = s.localEndpoint();
    assert.ok(local !== undefined, 'implicit bind gives a local endpoint at once');
    assert.ok(local.port >= EPHEMERAL_FIRST && local.port <= EPHEMERAL_LAST, `port ${local.port} in 49152-65535`);
    assert.equal(s.recv(new Uint8Array(4), 4), IOT_SOCKET_EAGAIN, 'recv while connecting');
    assert.equal(s.send(new Uint8Array(4), 4), IOT_SOCKET_EAGAIN, 'send while connecting');
    assert.equal(s.remoteEndpoint(), undefined);
    assert.equal(await connected(s), 0);
    assert.equal(s.connectResult(), 0);
    const peer = await srv.next();
    assert.equal(peer.remotePort, local.port, 'the reserved port is the one used');
    assert.deepEqual(s.remoteEndpoint(), { address: LO4, port: srv.port });
    assert.deepEqual(s.localEndpoint(), { address: LO4, port: local.port }, 'actual local address once connected');

    // send: copied (caller's buffer reused at once)
    const out = enc.encode('hello');
    assert.equal(s.send(out, out.length), 5);
    out.fill(0);
    const [got] = (await once(peer, 'data')) as [Buffer];
    assert.equal(got.toString(), 'hello');
    assert.equal(s.send(new Uint8Array(0), 0), 0, 'len 0: room to send');

    // two chunks, read across them and in pieces
    assert.equal(s.recv(new Uint8Array(1), 0), IOT_SOCKET_EAGAIN, 'len 0: nothing queued');
    peer.write('abc');
    await until(s, () => (s.recv(new Uint8Array(0), 0) === 0 ? true : undefined), 'data');
    peer.write('defgh');
    await sleep(30);
    const buf = new Uint8Array(16);
    const from: RecvInfo = { address: undefined, port: 0 };
    let r = s.recv(buf, 2, from);
    assert.equal(r, 2);
    assert.deepEqual(from, { address: LO4, port: srv.port });
    const rest = await recvExactly(s, 6);
    assert.equal(dec.decode(buf.subarray(0, 2)) + dec.decode(rest), 'abcdefgh');

    // FIN with data still queued: the data first, then CORE_EOF (repeatable)
    peer.end('bye');
    await until(s, () => (s.recv(new Uint8Array(0), 0) === 0 ? true : undefined), 'data before FIN');
    await sleep(20);
    r = s.recv(buf, 16);
    assert.equal(dec.decode(buf.subarray(0, r)), 'bye');
    assert.equal(await recvWait(s, buf), CORE_EOF);
    assert.equal(s.recv(buf, 16), CORE_EOF);
    assert.equal(s.peerClosed(), true);
    assert.equal(s.send(enc.encode('x'), 1), 1, 'send after peer FIN (half-open)');
    assert.equal(await s.close(), 0);
  });

  test('peer FIN: the connection stays half-open, what we send still arrives; close sends our FIN and frees the handle', async (t) => {
    const backend = await withBackend(t);
    const srv = await netServer();
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    assert.equal(s.peerClosed(), false, 'not connected yet');
    s.connect(LO4, srv.port);
    assert.equal(await connected(s), 0);
    assert.equal(s.peerClosed(), false, 'connected');
    const peer = await srv.next();
    const received: Buffer[] = [];
    peer.on('data', (d: Buffer) => received.push(d));
    const peerEnd = once(peer, 'end');
    peer.end('last words');
    assert.equal(dec.decode(await recvExactly(s, 10)), 'last words');
    assert.equal(await recvWait(s, new Uint8Array(4)), CORE_EOF);
    assert.equal(s.peerClosed(), true, 'after FIN');
    assert.equal(s.send(new Uint8Array(0), 0), 0, 'len 0 poll: writable');
    await sendAll(s, enc.encode('still '));
    const lent = enc.encode('talking');
    const b = s.sendBorrowed?.(lent, lent.length);
    assert.ok(b !== undefined && typeof b !== 'number', `sendBorrowed after FIN: ${String(b)}`);
    assert.equal(b.taken, 7);
    await b.released;
    const big = new Uint8Array(300_000).fill(0x5a);
    await sendAll(s, big);
    assert.equal(backend.openHandles, 1, 'the half-open connection keeps its handle');
    assert.equal(await s.close(), 0);
    await peerEnd; // our FIN, after every byte
    const all = Buffer.concat(received);
    assert.equal(all.subarray(0, 13).toString(), 'still talking');
    assert.equal(all.length, 13 + big.length);
    // Released without backend.close(): nothing lingers.
    await until(s, () => (backend.openHandles === 0 ? true : undefined), 'handle released after close');
    assert.equal(backend.openSockets, 0);
  });

  test('peer FIN then RST: send says ECONNRESET; shutdown after FIN ends the connection on its own', async (t) => {
    const backend = await withBackend(t);
    const srv = await netServer();
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    s.connect(LO4, srv.port);
    assert.equal(await connected(s), 0);
    const peer = await srv.next();
    peer.end();
    assert.equal(await recvWait(s, new Uint8Array(4)), CORE_EOF);
    assert.equal(s.send(enc.encode('x'), 1), 1, 'half-open');
    peer.resetAndDestroy();
    // The RST shows on the next write (reading stopped at the FIN).
    const code = await until(s, () => {
      const r = s.send(enc.encode('y'), 1);
      return r < 0 ? r : undefined;
    }, 'ECONNRESET after RST');
    assert.equal(code, IOT_SOCKET_ECONNRESET);
    assert.equal(s.peerClosed(), true);
    assert.equal(s.send(new Uint8Array(0), 0), IOT_SOCKET_ECONNRESET, 'len 0 poll too');
    assert.equal(await s.close(), 0);

    // FIN both ways without close(): Node ends the connection; close() then has nothing left to end.
    const s2 = socketOf(backend, 1, 1);
    s2.connect(LO4, srv.port);
    assert.equal(await connected(s2), 0);
    const peer2 = await srv.next();
    peer2.resume();
    peer2.end();
    assert.equal(await recvWait(s2, new Uint8Array(4)), CORE_EOF);
    assert.equal(s2.shutdown(), 0);
    assert.equal(s2.send(enc.encode('x'), 1), IOT_SOCKET_ENOTCONN, 'after our shutdown');
    await until(s2, () => (backend.openHandles === 0 ? true : undefined), 'handle released after FIN both ways');
    assert.equal(await s2.close(), 0);
    assert.equal(backend.openSockets, 0);
  });

  test('peer RST: recv and send say ECONNRESET at once', async (t) => {
    const backend = await withBackend(t);
    const srv = await netServer();
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    s.connect(LO4, srv.port);
    assert.equal(await connected(s), 0);
    const peer = await srv.next();
    peer.resetAndDestroy();
    assert.equal(await recvWait(s, new Uint8Array(8)), IOT_SOCKET_ECONNRESET);
    assert.equal(s.peerClosed(), true);
    assert.equal(s.send(enc.encode('x'), 1), IOT_SOCKET_ECONNRESET);
    assert.equal(s.recv(new Uint8Array(1), 0), IOT_SOCKET_ECONNRESET, 'len 0 poll reports the reset too');
    assert.equal((s as unknown as { lastError: { code: string } }).lastError.code, 'ECONNRESET');
    await s.close();
  });

  test('refused connect: ECONNREFUSED once, the socket keeps its port and can connect again', async (t) => {
    const backend = await withBackend(t);
    const port = await freePort();
    const s = socketOf(backend, 1, 1);
    assert.equal(s.connect(LO4, port), IOT_SOCKET_EINPROGRESS);
    const local = s.localEndpoint();
    assert.equal(await connected(s), IOT_SOCKET_ECONNREFUSED);
    assert.deepEqual(s.localEndpoint(), local, 'still bound to the same port');
    assert.equal(s.recv(new Uint8Array(1), 1), IOT_SOCKET_ENOTCONN);
    assert.equal((s as unknown as { lastError: { code: string } }).lastError.code, 'ECONNREFUSED');

    const srv = await netServer();
    t.after(() => srv.close());
    assert.equal(s.connect(LO4, srv.port), IOT_SOCKET_EINPROGRESS);
    assert.equal(await connected(s), 0);
    assert.equal((await srv.next()).remotePort, local?.port);
    await s.close();
  });

  test('connect deadline: ETIMEDOUT when the scheduler fires before the connection completes', async (t) => {
    // No target on this machine leaves SYNs unanswered (a transparent proxy answers
    // every external address), so the deadline is driven by a virtual clock instead.
    const scheduler = new VirtualScheduler();
    const backend = await withBackend(t, { scheduler, connectTimeoutMs: 300 });
    const srv = await netServer();
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    assert.equal(s.connect(LO4, srv.port), IOT_SOCKET_EINPROGRESS);
    let changes = 0;
    s.onChange(() => changes++);
    scheduler.advance(299);
    assert.equal(s.connectResult(), IOT_SOCKET_EINPROGRESS);
    scheduler.advance(1);
    assert.equal(s.connectResult(), IOT_SOCKET_ETIMEDOUT);
    assert.equal(changes, 1, 'the change callback fired');
    assert.equal((s as unknown as { lastError: { code: string } }).lastError.code, 'ETIMEDOUT');
    assert.equal(scheduler.pendingTimers(), 0);
    await sleep(30);
    assert.equal(s.connectResult(), IOT_SOCKET_ETIMEDOUT, 'a late OS connect does not revive the attempt');
    // and a new attempt (on the same port) succeeds
    assert.equal(s.connect(LO4, srv.port), IOT_SOCKET_EINPROGRESS);
    assert.equal(await connected(s), 0);
    assert.equal(scheduler.pendingTimers(), 0, 'deadline cancelled on success');
    await s.close();
  });

  test('explicit bind: connect from the bound port; EADDRINUSE when the OS holds it', async (t) => {
    const backend = await withBackend(t);
    const srv = await netServer();
    t.after(() => srv.close());
    const port = await freePort();
    const s = socketOf(backend, 1, 1);
    assert.equal(s.bind(ANY4, port), 0);
    assert.deepEqual(s.localEndpoint(), { address: ANY4, port });
    s.connect(LO4, srv.port);
    assert.equal(await connected(s), 0);
    assert.equal((await srv.next()).remotePort, port);

    // an explicit port held by a foreign listener: the OS refuses the bind at connect time
    const foreign = await netServer('127.0.0.1');
    t.after(() => foreign.close());
    const s2 = socketOf(backend, 1, 1);
    assert.equal(s2.bind(LO4, foreign.port), 0, 'the table does not know foreign sockets');
    s2.connect(LO4, srv.port);
    assert.equal(await connected(s2), IOT_SOCKET_EADDRINUSE);
    await s.close();
    await s2.close();
  });

  test('send backpressure: EAGAIN when sendBufferBytes are queued, change on drain', async (t) => {
    const backend = await withBackend(t, { sendBufferBytes: 4096 });
    let peer: net.Socket | undefined;
    const srv = await netServer('127.0.0.1', (c) => {
      peer = c;
      c.pause();
    });
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    s.connect(LO4, srv.port);
    assert.equal(await connected(s), 0);
    const chunk = new Uint8Array(64 * 1024).fill(7);
    let total = 0;
    let sawEagain = false;
    for (let i = 0; i < 10_000 && !sawEagain; i++) {
      const r = s.send(chunk, chunk.length);
      if (r === IOT_SOCKET_EAGAIN) sawEagain = true;
      else {
        assert.ok(r > 0 && r <= 4096, `partial send of at most the room (${r})`);
        total += r;
      }
    }
    assert.ok(sawEagain, 'EAGAIN once the kernel and Node buffers are full');
    assert.equal(s.send(chunk, 0), IOT_SOCKET_EAGAIN, 'len 0: no room');
    let received = 0;
    assert.ok(peer !== undefined);
    peer.on('data', (d: Buffer) => (received += d.length));
    peer.resume();
    const r = await until(s, () => {
      const x = s.send(chunk, 10);
      return x === IOT_SOCKET_EAGAIN ? undefined : x;
    }, 'room after drain');
    assert.equal(r, 10);
    total += 10;
    await until(s, () => (received === total ? true : undefined), 'all bytes delivered');
    await s.close();
  });

  test('receive backpressure: reading pauses at recvBufferBytes and resumes; nothing lost', async (t) => {
    const backend = await withBackend(t, { recvBufferBytes: 8192 });
    const srv = await netServer();
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    s.connect(LO4, srv.port);
    assert.equal(await connected(s), 0);
    const peer = await srv.next();
    const size = 4 * 1024 * 1024;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31) & 0xff;
    let flushed = false;
    peer.write(data, () => (flushed = true));
    await sleep(100);
    assert.equal(flushed, false, 'the peer cannot flush 4 MiB while we do not read');
    const got = await recvExactly(s, size);
    assert.ok(Buffer.from(got).equals(data), 'bytes in order');
    await s.close();
  });

  test('close with unread data resets the connection (RST)', async (t) => {
    const backend = await withBackend(t);
    const srv = await netServer();
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    s.connect(LO4, srv.port);
    assert.equal(await connected(s), 0);
    const peer = await srv.next();
    peer.write('unread');
    await until(s, () => (s.recv(new Uint8Array(0), 0) === 0 ? true : undefined), 'data');
    const err = new Promise<string | undefined>((resolve) => {
      peer.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      peer.on('end', () => resolve('FIN'));
    });
    assert.equal(await s.close(), 0);
    assert.equal(await err, 'ECONNRESET');
  });

  test('close(abort) resets; graceful close flushes the data then FIN', async (t) => {
    const backend = await withBackend(t);
    const srv = await netServer();
    t.after(() => srv.close());
    const a = socketOf(backend, 1, 1);
    a.connect(LO4, srv.port);
    assert.equal(await connected(a), 0);
    const pa = await srv.next();
    const aEnd = new Promise<string | undefined>((resolve) => {
      pa.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      pa.on('end', () => resolve('FIN'));
    });
    pa.resume();
    assert.equal(await a.close(true), 0);
    assert.equal(await aEnd, 'ECONNRESET');

    const b = socketOf(backend, 1, 1);
    b.connect(LO4, srv.port);
    assert.equal(await connected(b), 0);
    const pb = await srv.next();
    const chunks: Buffer[] = [];
    pb.on('data', (d: Buffer) => chunks.push(d));
    const bEnd = once(pb, 'end');
    const payload = new Uint8Array(200_000).fill(42);
    let sent = 0;
    while (sent < payload.length) {
      const r = b.send(payload.subarray(sent), payload.length - sent);
      if (r === IOT_SOCKET_EAGAIN) break;
      sent += r;
    }
    assert.ok(sent > 0);
    assert.equal(await b.close(), 0, 'close returns at once');
    await bEnd;
    assert.equal(Buffer.concat(chunks).length, sent, 'every accepted byte arrives before the FIN');
  });

  test('shutdown sends FIN, the socket still receives', async (t) => {
    const backend = await withBackend(t);
    const srv = await netServer('127.0.0.1', (c) => {
      c.on('end', () => c.end('reply'));
      c.resume();
    });
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    s.connect(LO4, srv.port);
    assert.equal(await connected(s), 0);
    assert.equal(s.shutdown(), 0);
    assert.equal(s.send(enc.encode('x'), 1), IOT_SOCKET_ENOTCONN, 'nothing can be sent after shutdown');
    const got = await recvExactly(s, 5);
    assert.equal(dec.decode(got), 'reply');
    assert.equal(await recvWait(s, new Uint8Array(4)), CORE_EOF);
    await s.close();
  });

  test('half-open: close(abort) right after shutdown, or a linger expiry, still frees the handle', async (t) => {
    // Node cannot reset a socket while its end() (shutdown) is in flight: resetAndDestroy
    // fails with EINVAL and the handle is never closed (no 'close'). The backend destroys it then.
    const backend = await withBackend(t, { lingerMs: 100, sendBufferBytes: 8 * 1024 * 1024 });
    const srv = await netServer();
    t.after(() => srv.close());
    const big = new Uint8Array(4 * 1024 * 1024).fill(1);
    for (const how of ['shutdown, then close(abort) at once', 'graceful close, linger expires'] as const) {
      const s = socketOf(backend, 1, 1);
      s.connect(LO4, srv.port);
      assert.equal(await connected(s), 0);
      const peer = await srv.next();
      peer.pause(); // never reads
      peer.end();
      assert.equal(await recvWait(s, new Uint8Array(4)), CORE_EOF);
      if (how === 'shutdown, then close(abort) at once') {
        assert.equal(s.shutdown(), 0);
        assert.equal(await s.close(true), 0);
      } else {
        assert.ok(s.send(big, big.length) > 0); // more than the peer's window: cannot flush
        assert.equal(await s.close(), 0);
      }
      await until(s, () => (backend.openHandles === 0 ? true : undefined), `handle released (${how})`, 3000);
      assert.equal(backend.openSockets, 0);
    }
  });

  test('setKeepAlive before and after connect', async (t) => {
    const backend = await withBackend(t);
    const srv = await netServer();
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    assert.equal(s.setKeepAlive(true), 0);
    s.connect(LO4, srv.port);
    assert.equal(await connected(s), 0);
    assert.equal(s.setKeepAlive(false), 0);
    await s.close();
  });
});

describe('host backend: TCP listener', () => {
  test('bind, listen, accept EAGAIN then a connection; data both ways; graceful close', async (t) => {
    const backend = await withBackend(t);
    const lst = socketOf(backend, 1, 1);
    const port = await freePort();
    assert.equal(lst.bind(ANY4, port), 0);
    assert.equal(await lst.listen(4), 0);
    assert.deepEqual(lst.localEndpoint(), { address: ANY4, port });
    assert.equal(lst.accept(), IOT_SOCKET_EAGAIN);
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    await once(client, 'connect');
    client.write('ping');
    const acc = await until(lst, () => {
      const r = lst.accept();
      return typeof r === 'number' ? undefined : r;
    }, 'accept');
    assert.deepEqual(acc.remote, { address: LO4, port: client.localPort });
    assert.deepEqual(acc.socket.remoteEndpoint(), acc.remote);
    assert.deepEqual(acc.socket.localEndpoint(), { address: LO4, port });
    assert.equal(acc.socket.connectResult(), 0);
    assert.equal(dec.decode(await recvExactly(acc.socket, 4)), 'ping', 'data queued before accept is kept');
    assert.equal(acc.socket.send(enc.encode('pong'), 4), 4);
    const [d] = (await once(client, 'data')) as [Buffer];
    assert.equal(d.toString(), 'pong');
    const end = once(client, 'end');
    assert.equal(await acc.socket.close(), 0);
    await end;
    client.destroy();
    assert.equal(await lst.close(), 0);
  });

  test('accepted connection after the client FIN: still sends (half-open), close sends FIN, nothing leaks', async (t) => {
    const backend = await withBackend(t);
    const lst = socketOf(backend, 1, 1);
    const port = await freePort();
    assert.equal(lst.bind(LO4, port), 0);
    assert.equal(await lst.listen(2), 0);
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => undefined);
    await once(client, 'connect');
    const got: Buffer[] = [];
    client.on('data', (d: Buffer) => got.push(d));
    const clientEnd = once(client, 'end');
    client.end('request');
    const acc = await until(lst, () => {
      const r = lst.accept();
      return typeof r === 'number' ? undefined : r;
    }, 'accept');
    assert.equal(dec.decode(await recvExactly(acc.socket, 7)), 'request');
    assert.equal(await recvWait(acc.socket, new Uint8Array(4)), CORE_EOF);
    assert.equal(acc.socket.peerClosed(), true);
    await sendAll(acc.socket, enc.encode('response'));
    assert.equal(await acc.socket.close(), 0);
    await clientEnd;
    assert.equal(Buffer.concat(got).toString(), 'response');
    client.destroy();
    assert.equal(await lst.close(), 0);
    await until(lst, () => (backend.openHandles === 0 ? true : undefined), 'handles released');
    assert.equal(backend.openSockets, 0);
  });

  test('backlog: connections beyond the backlog are reset; close resets unaccepted ones', async (t) => {
    const backend = await withBackend(t);
    const lst = socketOf(backend, 1, 1);
    const port = await freePort();
    assert.equal(lst.bind(LO4, port), 0);
    assert.equal(await lst.listen(1), 0);
    const outcome = (c: net.Socket): Promise<string> =>
      new Promise((resolve) => {
        c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        c.on('end', () => resolve('FIN'));
        c.on('close', () => resolve('closed'));
      });
    const c1 = net.connect(port, '127.0.0.1');
    const o1 = outcome(c1);
    await once(c1, 'connect');
    await until(lst, () => (backend.openSockets === 2 ? true : undefined), 'first pending');
    const c2 = net.connect(port, '127.0.0.1');
    const o2 = outcome(c2);
    assert.equal(await o2, 'ECONNRESET', 'second is reset (backlog 1)');
    assert.equal(await lst.close(), 0);
    assert.equal(await o1, 'ECONNRESET', 'the pending one is reset when the listener closes');
    assert.equal(backend.openSockets, 0);
  });

  test('TCP port table: EADDRINUSE for the same port (wildcard overlaps), separate v4/v6 spaces, freed on close', async (t) => {
    const backend = await withBackend(t);
    const port = await freePort();
    const a = socketOf(backend, 1, 1);
    const b = socketOf(backend, 1, 1);
    const c = socketOf(backend, 1, 1);
    const v6 = socketOf(backend, 2, 1);
    const udp = socketOf(backend, 1, 2);
    assert.equal(a.bind(LO4, port), 0);
    assert.equal(b.bind(ANY4, port), IOT_SOCKET_EADDRINUSE, 'wildcard overlaps 127.0.0.1');
    assert.equal(b.bind(LO4, port), IOT_SOCKET_EADDRINUSE);
    assert.equal(v6.bind(ANY6, port), 0, 'IPv6 is a separate space (v6-only sockets)');
    assert.equal(await udp.bind(LO4, port), 0, 'UDP is a separate space');
    await a.close();
    assert.equal(b.bind(ANY4, port), 0, 'free again after close');
    assert.equal(c.bind(parseIp('203.0.113.9') as Uint8Array, port + 1), IOT_SOCKET_EINVAL, 'not a local address');
  });

  test('listen: EADDRINUSE when the OS port is held by someone else', async (t) => {
    const backend = await withBackend(t);
    const foreign = await netServer('127.0.0.1');
    t.after(() => foreign.close());
    const s = socketOf(backend, 1, 1);
    assert.equal(s.bind(LO4, foreign.port), 0);
    assert.equal(await s.listen(2), IOT_SOCKET_EADDRINUSE);
    assert.equal((s as unknown as { lastError: { code: string } }).lastError.code, 'EADDRINUSE');
    await s.close();
  });

  test('own client to own listener over IPv6 ::1', async (t) => {
    const backend = await withBackend(t);
    const lst = socketOf(backend, 2, 1);
    const port = await freePort('::1');
    assert.equal(lst.bind(LO6, port), 0);
    assert.equal(await lst.listen(2), 0);
    const cli = socketOf(backend, 2, 1);
    assert.equal(cli.connect(LO6, port), IOT_SOCKET_EINPROGRESS);
    assert.equal(await connected(cli), 0);
    const acc = await until(lst, () => {
      const r = lst.accept();
      return typeof r === 'number' ? undefined : r;
    }, 'accept');
    assert.equal(acc.remote.address.length, 16);
    assert.deepEqual(acc.remote, cli.localEndpoint());
    assert.deepEqual(cli.remoteEndpoint(), { address: LO6, port });
    await sendAll(cli, enc.encode('over v6'));
    assert.equal(dec.decode(await recvExactly(acc.socket, 7)), 'over v6');
    await cli.close();
    assert.equal(await recvWait(acc.socket, new Uint8Array(4)), CORE_EOF);
    await acc.socket.close();
    await lst.close();
  });
});

describe('host backend: UDP', () => {
  test('implicit bind on sendto: random port in 49152-65535; reply with source; truncation', async (t) => {
    const backend = await withBackend(t, { rng: new XorShiftRng(7) });
    const peer = await udpPeer();
    t.after(() => peer.close());
    const s = socketOf(backend, 1, 2);
    assert.equal(s.localEndpoint(), undefined);
    assert.equal(s.recv(new Uint8Array(4), 4), IOT_SOCKET_EAGAIN, 'unbound: nothing to receive, not ENOTCONN');
    assert.equal(s.send(enc.encode('x'), 1), IOT_SOCKET_ENOTCONN, 'no destination');
    assert.equal(s.send(new Uint8Array(0), 0), 0, 'len 0 is a readiness poll: writable without a destination (§8)');
    const to: Endpoint = { address: LO4, port: peer.port };
    assert.equal(s.send(enc.encode('hello udp'), 9, to), 9, 'accepted while the implicit bind runs');
    const local = s.localEndpoint();
    assert.ok(local !== undefined && local.port >= EPHEMERAL_FIRST && local.port <= EPHEMERAL_LAST, `implicit port ${local?.port}`);
    const m = await peer.next();
    assert.equal(m.data.toString(), 'hello udp');
    assert.equal(m.port, local.port);

    peer.sock.send('0123456789', m.port, '127.0.0.1');
    const buf = new Uint8Array(16).fill(0xee);
    const from: RecvInfo = { address: undefined, port: 0 };
    await until(s, () => (s.recv(buf, 0) === 0 ? true : undefined), 'datagram');
    assert.equal(s.recv(buf, 4, from), 4, 'truncated to len');
    assert.equal(dec.decode(buf.subarray(0, 4)), '0123');
    assert.equal(buf[4], 0xee, 'nothing written beyond len');
    assert.deepEqual(from, { address: LO4, port: peer.port });
    assert.equal(s.recv(buf, 16), IOT_SOCKET_EAGAIN, 'the rest of the datagram is gone');
    assert.equal(s.peerClosed(), false, 'datagram sockets have no peer that closes');
    await s.close();
  });

  test('implicit ports are spread over the dynamic range', async (t) => {
    const backend = await withBackend(t);
    const peer = await udpPeer();
    t.after(() => peer.close());
    const ports = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const s = socketOf(backend, 1, 2);
      assert.equal(await s.connect(LO4, peer.port), 0);
      const p = s.localEndpoint()?.port ?? 0;
      assert.ok(p >= EPHEMERAL_FIRST && p <= EPHEMERAL_LAST);
      ports.add(p);
      await s.close();
    }
    assert.ok(ports.size >= 6, `random ports (${[...ports].join(',')})`);
  });

  test('connect sets the destination and the receive filter; all-zero connect clears both', async (t) => {
    const backend = await withBackend(t);
    const a = await udpPeer();
    const b = await udpPeer();
    t.after(() => a.close());
    t.after(() => b.close());
    const s = socketOf(backend, 1, 2);
    assert.equal(await s.connect(LO4, a.port), 0);
    assert.deepEqual(s.remoteEndpoint(), { address: LO4, port: a.port });
    assert.equal(s.connectResult(), 0);
    const me = s.localEndpoint();
    assert.ok(me !== undefined);
    assert.equal(s.send(enc.encode('to-a'), 4), 4, 'send uses the default destination');
    assert.equal((await a.next()).data.toString(), 'to-a');

    b.sock.send('from-b', me.port, '127.0.0.1');
    a.sock.send('from-a', me.port, '127.0.0.1');
    const buf = new Uint8Array(32);
    const from: RecvInfo = { address: undefined, port: 0 };
    const n = await recvWait(s, buf, 32, from);
    assert.equal(dec.decode(buf.subarray(0, n)), 'from-a');
    assert.equal(from.port, a.port);
    await sleep(30);
    assert.equal(s.recv(buf, 32), IOT_SOCKET_EAGAIN, 'b was filtered out');
    assert.equal((s as unknown as { filteredDatagrams: number }).filteredDatagrams, 1);

    // sendto another destination while connected
    assert.equal(s.send(enc.encode('to-b'), 4, { address: LO4, port: b.port }), 4);
    assert.equal((await b.next()).data.toString(), 'to-b');

    assert.equal(await s.connect(ANY4, 0), 0);
    assert.equal(s.remoteEndpoint(), undefined);
    assert.equal(s.send(enc.encode('x'), 1), IOT_SOCKET_ENOTCONN);
    b.sock.send('from-b-2', me.port, '127.0.0.1');
    const n2 = await recvWait(s, buf, 32, from);
    assert.equal(dec.decode(buf.subarray(0, n2)), 'from-b-2');
    assert.equal(from.port, b.port);
    await s.close();
  });

  test('EADDRINUSE: in the UDP table, and from the OS for a foreign socket', async (t) => {
    const backend = await withBackend(t);
    const foreign = await udpPeer();
    t.after(() => foreign.close());
    const s = socketOf(backend, 1, 2);
    assert.equal(await s.bind(LO4, foreign.port), IOT_SOCKET_EADDRINUSE, 'OS bind refused');
    assert.equal(s.localEndpoint(), undefined, 'the failed bind leaves the socket unbound');
    const port = await freePort();
    assert.equal(await s.bind(ANY4, port), 0, 'and it can bind elsewhere');
    assert.deepEqual(s.localEndpoint(), { address: ANY4, port });
    const s2 = socketOf(backend, 1, 2);
    assert.equal(await s2.bind(LO4, port), IOT_SOCKET_EADDRINUSE, 'table conflict');
    assert.equal(await s2.bind(parseIp('203.0.113.9') as Uint8Array, port), IOT_SOCKET_EINVAL, 'address not local');
    await s.close();
    await s2.close();
  });

  test('datagram size limits: EINVAL above 65507 (v4) / 65527 (v6); the maximum goes through', async (t) => {
    const backend = await withBackend(t);
    const peer = await udpPeer();
    t.after(() => peer.close());
    const s = socketOf(backend, 1, 2);
    const big = new Uint8Array(65528);
    const to = { address: LO4, port: peer.port };
    assert.equal(s.send(big, 65508, to), IOT_SOCKET_EINVAL);
    assert.equal(s.send(big, 65507, to), 65507);
    assert.equal((await peer.next()).data.length, 65507);
    const s6 = socketOf(backend, 2, 2);
    assert.equal(s6.send(big, 65528, { address: LO6, port: 9 }), IOT_SOCKET_EINVAL);
    await s.close();
    await s6.close();
  });

  test('atomic sends: EAGAIN while sendBufferBytes are in flight, then room again', async (t) => {
    const backend = await withBackend(t, { sendBufferBytes: 1000 });
    const peer = await udpPeer();
    t.after(() => peer.close());
    const s = socketOf(backend, 1, 2);
    const to = { address: LO4, port: peer.port };
    const d = new Uint8Array(600);
    assert.equal(s.send(d, 600, to), 600);
    assert.equal(s.send(d, 600, to), IOT_SOCKET_EAGAIN, 'the whole datagram or nothing');
    assert.equal(s.send(d, 400, to), 400, 'what fits goes');
    assert.equal(s.send(d, 0, to), IOT_SOCKET_EAGAIN, 'len 0: no room');
    const r = await until(s, () => {
      const x = s.send(d, 600, to);
      return x === IOT_SOCKET_EAGAIN ? undefined : x;
    }, 'room');
    assert.equal(r, 600);
    await until(s, () => (peer.messages.length === 3 ? true : undefined), 'three datagrams');
    await s.close();
  });

  test('receive queue bounded by udpQueueDatagrams: the excess is dropped and counted', async (t) => {
    const backend = await withBackend(t, { udpQueueDatagrams: 4 });
    const drops: unknown[] = [];
    const onDrop = (m: unknown): void => void drops.push(m);
    diagnosticsChannel.subscribe('iotnet:host:drop', onDrop);
    t.after(() => diagnosticsChannel.unsubscribe('iotnet:host:drop', onDrop));
    const peer = await udpPeer();
    t.after(() => peer.close());
    const s = socketOf(backend, 1, 2);
    const port = await freePort();
    assert.equal(await s.bind(LO4, port), 0);
    for (let i = 0; i < 10; i++) peer.sock.send(`d${i}`, port, '127.0.0.1');
    const stats = s as unknown as { droppedDatagrams: number };
    await until(s, () => (stats.droppedDatagrams === 6 ? true : undefined), 'drops');
    const buf = new Uint8Array(8);
    const got: string[] = [];
    for (;;) {
      const n = s.recv(buf, 8);
      if (n < 0) break;
      got.push(dec.decode(buf.subarray(0, n)));
    }
    assert.deepEqual(got, ['d0', 'd1', 'd2', 'd3']);
    assert.equal(drops.length, 6);
    await s.close();
  });

  test('IPv6 on ::1: bind, sendto, recvfrom with a 16-byte source', async (t) => {
    const backend = await withBackend(t);
    const peer = await udpPeer('udp6');
    t.after(() => peer.close());
    const s = socketOf(backend, 2, 2);
    const port = await freePort('::1');
    assert.equal(await s.bind(LO6, port), 0);
    assert.equal(s.send(enc.encode('six'), 3, { address: LO6, port: peer.port }), 3);
    const m = await peer.next();
    assert.equal(m.data.toString(), 'six');
    assert.equal(m.port, port);
    peer.sock.send('back', port, '::1');
    const buf = new Uint8Array(8);
    const from: RecvInfo = { address: undefined, port: 0 };
    const n = await recvWait(s, buf, 8, from);
    assert.equal(dec.decode(buf.subarray(0, n)), 'back');
    assert.deepEqual(from, { address: LO6, port: peer.port });
    await s.close();

    // v6-only: a wildcard IPv6 socket leaves the IPv4 port free for others
    const w = socketOf(backend, 2, 2);
    const wport = await freePort();
    assert.equal(await w.bind(ANY6, wport), 0);
    const v4 = dgram.createSocket('udp4');
    v4.bind(wport, '0.0.0.0');
    await once(v4, 'listening');
    await new Promise<void>((resolve) => v4.close(() => resolve()));
    await w.close();
  });

  test('closing during the implicit bind settles connect; the backend closes everything', async (t) => {
    const backend = await withBackend(t);
    const s = socketOf(backend, 1, 2);
    const p = s.connect(LO4, 9);
    assert.ok(p instanceof Promise);
    assert.equal(await s.close(), 0);
    assert.notEqual(await p, 0);
    const u = socketOf(backend, 2, 2);
    assert.equal(await u.connect(LO6, 9), 0);
    const tcp = socketOf(backend, 1, 1);
    tcp.connect(LO4, await freePort());
    assert.equal(backend.openSockets, 2);
  });
});

describe('host backend: lookup', () => {
  test('system resolver: localhost A; nonexistent.invalid is EHOSTNOTFOUND', async (t) => {
    const backend = await withBackend(t);
    assert.deepEqual(await backend.lookup('localhost', 1), LO4);
    assert.equal(await backend.lookup('nonexistent.invalid', 1), IOT_SOCKET_EHOSTNOTFOUND);
    assert.equal(await backend.lookup('nonexistent.invalid', 2), IOT_SOCKET_EHOSTNOTFOUND);
    const v6 = await backend.lookup('localhost', 2);
    // /etc/hosts may or may not map localhost to ::1
    assert.ok(v6 === IOT_SOCKET_EHOSTNOTFOUND || (v6 instanceof Uint8Array && formatIp(v6) === '::1'), `localhost AAAA: ${String(v6)}`);
  });

  test('dnsServers: A and AAAA by family, NXDOMAIN and NODATA are EHOSTNOTFOUND, silence is ETIMEDOUT', async (t) => {
    const dns = await startDnsFixture({
      records: { 'host.test': { A: ['10.1.2.3', '10.1.2.4'], AAAA: ['fd00::3'] }, 'v4only.test': { A: ['10.9.9.9'] } },
      silent: ['blackhole.test'],
    });
    t.after(() => dns.close());
    const backend = await withBackend(t, { dnsServers: [`127.0.0.1:${dns.port}`], lookupTimeoutMs: 300 });
    assert.deepEqual(await backend.lookup('host.test', 1), parseIp('10.1.2.3'));
    assert.deepEqual(await backend.lookup('host.test', 2), parseIp('fd00::3'));
    assert.equal(await backend.lookup('missing.test', 1), IOT_SOCKET_EHOSTNOTFOUND);
    assert.equal(await backend.lookup('v4only.test', 2), IOT_SOCKET_EHOSTNOTFOUND);
    const t0 = performance.now();
    assert.equal(await backend.lookup('blackhole.test', 1), IOT_SOCKET_ETIMEDOUT);
    const took = performance.now() - t0;
    assert.ok(took >= 290 && took < 2000, `timed out after ${Math.round(took)} ms`);
  });

  test('lookup budget on a virtual clock, and abort', async (t) => {
    const dns = await startDnsFixture({ silent: ['blackhole.test'] });
    t.after(() => dns.close());
    const scheduler = new VirtualScheduler();
    const backend = await withBackend(t, { scheduler, dnsServers: [`127.0.0.1:${dns.port}`], lookupTimeoutMs: 1000 });
    const p = backend.lookup('blackhole.test', 1);
    scheduler.advance(1000);
    assert.equal(await p, IOT_SOCKET_ETIMEDOUT);
    const ac = new AbortController();
    const q = backend.lookup('blackhole.test', 2, ac.signal);
    ac.abort();
    assert.equal(await q, IOT_SOCKET_ERROR, "an aborted lookup says ERROR");
    assert.equal(scheduler.pendingTimers(), 0);
  });
});

describe('host backend: robustness', () => {
  test('a throwing change callback does not escape into Node', async (t) => {
    const backend = await withBackend(t);
    const errors: unknown[] = [];
    const onErr = (m: unknown): void => void errors.push(m);
    diagnosticsChannel.subscribe('iotnet:host:error', onErr);
    t.after(() => diagnosticsChannel.unsubscribe('iotnet:host:error', onErr));
    const srv = await netServer();
    t.after(() => srv.close());
    const s = socketOf(backend, 1, 1);
    s.onChange(() => {
      throw new Error('boom');
    });
    s.connect(LO4, srv.port);
    const peer = await srv.next();
    peer.write('data');
    await sleep(50);
    assert.ok(errors.length >= 1, 'reported on iotnet:host:error');
    assert.equal(s.recv(new Uint8Array(8), 8), 4);
    await s.close();
  });
});
