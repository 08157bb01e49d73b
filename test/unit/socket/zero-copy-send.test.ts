/**
 * Blocking sends lend the caller's buffer to the backend (no copy) and resolve only once
 * the backend released it. The caller may then reuse the buffer at once: here it
 * overwrites it right after every send, and the peer must still receive the original
 * bytes (SHA-256 over 16 MiB), through the IoT Socket layer and the idiomatic API.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { describe, it } from 'node:test';
import { createHostBackend } from '../../../src/backends/host/index.ts';
import { IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM } from '../../../src/base/iot-constants.ts';
import { IotSocketLayer } from '../../../src/socket/iot-socket-layer.ts';
import { Network } from '../../../src/socket/network.ts';

const TOTAL = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Chunk i of the stream: a deterministic pattern that differs per chunk. */
function fillChunk(buf: Uint8Array, i: number): void {
  for (let j = 0; j < buf.length; j += 4) {
    const v = (Math.imul(i + 1, 2654435761) ^ j) >>> 0;
    buf[j] = v & 0xff;
    buf[j + 1] = (v >>> 8) & 0xff;
    buf[j + 2] = (v >>> 16) & 0xff;
    buf[j + 3] = v >>> 24;
  }
}

/** A sink that hashes everything it receives; resolves with the digest at EOF. */
async function sink(): Promise<{ port: number; digest: Promise<string>; close: () => void }> {
  let resolveDigest!: (d: string) => void;
  const digest = new Promise<string>((r) => (resolveDigest = r));
  const server = net.createServer((s) => {
    const h = createHash('sha256');
    s.on('data', (d) => h.update(d));
    s.on('end', () => {
      resolveDigest(h.digest('hex'));
      s.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const conns = new Set<net.Socket>();
  server.on('connection', (c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
  });
  const close = (): void => {
    for (const c of conns) c.destroy();
    server.close();
  };
  return { port: (server.address() as net.AddressInfo).port, digest, close };
}

function expectedDigest(): string {
  const h = createHash('sha256');
  const buf = new Uint8Array(CHUNK);
  for (let i = 0; i < TOTAL / CHUNK; i++) {
    fillChunk(buf, i);
    h.update(buf);
  }
  return h.digest('hex');
}

describe('zero-copy blocking send: the caller may reuse its buffer once a send resolved', () => {
  const want = expectedDigest();

  it('iotSocketSend (blocking, no SNDTIMEO)', async (t) => {
    const peer = await sink();
    const layer = new IotSocketLayer(createHostBackend());
    t.after(async () => {
      await layer.closeAll();
      peer.close();
    });
    const api = layer.api();
    const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
    assert.equal(await api.socketConnect(s, new Uint8Array([127, 0, 0, 1]), 4, peer.port), 0);
    const buf = new Uint8Array(CHUNK);
    for (let i = 0; i < TOTAL / CHUNK; i++) {
      fillChunk(buf, i);
      assert.equal(await api.socketSend(s, buf, CHUNK), CHUNK);
      buf.fill(0xee); // scribble: must not reach the peer
    }
    assert.equal(await api.socketClose(s), 0);
    assert.equal(await peer.digest, want, 'SHA-256 of what the peer received');
  });

  it('TcpSocket.write (no timeout, no signal)', async (t) => {
    const peer = await sink();
    const network = new Network(createHostBackend());
    t.after(async () => {
      await network.close();
      peer.close();
    });
    const sock = await network.connect({ host: '127.0.0.1', port: peer.port });
    const buf = new Uint8Array(CHUNK);
    for (let i = 0; i < TOTAL / CHUNK; i++) {
      fillChunk(buf, i);
      await sock.write(buf);
      buf.fill(0xee);
    }
    await sock.end();
    assert.equal(await peer.digest, want, 'SHA-256 of what the peer received');
  });

  it('concurrent un-awaited writes of mixed sizes keep call order (partial takes with a 32 KiB send buffer)', async (t) => {
    const peer = await sink();
    const network = new Network(createHostBackend({ sendBufferBytes: 32 * 1024 }));
    t.after(async () => {
      await network.close();
      peer.close();
    });
    const sock = await network.connect({ host: '127.0.0.1', port: peer.port });
    const h = createHash('sha256');
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const size = [10, 70_000, 300, 20_000, 1, 65_536, 16_384][i % 7] as number;
      const buf = new Uint8Array(size);
      fillChunk(buf, i);
      h.update(buf);
      writes.push(sock.write(buf));
    }
    await Promise.all(writes);
    await sock.end();
    assert.equal(await peer.digest, h.digest('hex'), 'the peer got every write, in call order');
  });
});

