/**
 * UdpSocket over the host stack, against itself and node:dgram peers on loopback.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createHostBackend } from '../../../src/backends/host/index.ts';
import type { HostBackend } from '../../../src/backends/host/index.ts';
import { isSocketError } from '../../../src/base/socket-error.ts';
import type { SocketError } from '../../../src/base/socket-error.ts';
import { Network } from '../../../src/socket/network.ts';
import { SocketAddress } from '../../../src/socket/socket-address.ts';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

let backend: HostBackend;
let network: Network;
const peers: dgram.Socket[] = [];

beforeEach(() => {
  backend = createHostBackend();
  network = new Network(backend);
});

afterEach(async () => {
  await network.close();
  assert.equal(network.openCount, 0);
  assert.equal(backend.openSockets, 0);
  await backend.close();
  for (const p of peers.splice(0)) p.close();
});

async function dgramPeer(type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  peers.push(s);
  s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1');
  await once(s, 'listening');
  return s;
}

function rejectsWith(p: Promise<unknown>, code: SocketError['code'], check?: (e: SocketError) => void): Promise<void> {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(isSocketError(e, code), `expected ${code}, got ${String(e)}`);
    check?.(e);
    return true;
  });
}

describe('UdpSocket over the host stack', () => {
  it('is bound at once to a random port from 49152-65535 unless a port is given', async () => {
    const a = await network.udp();
    assert.equal(a.address.address, '0.0.0.0');
    assert.ok(a.address.port >= 49152 && a.address.port <= 65535);
    assert.equal(a.family, 4);
    const b = await network.udp({ host: '127.0.0.1', port: a.address.port + (a.address.port < 65535 ? 1 : -1) });
    assert.equal(b.address.address, '127.0.0.1');
    const c = await network.udp({ family: 6 });
    assert.equal(c.address.address, '::');
    assert.equal(c.family, 6);
    await rejectsWith(network.udp({ port: 70000 }), 'EINVAL');
  });

  it('sends and receives datagrams with their source', async () => {
    const a = await network.udp({ host: '127.0.0.1' });
    const b = await network.udp({ host: '127.0.0.1' });
    await a.send('one', b.address);
    await a.send(new Uint8Array([1, 2, 3]), b.address.toString());
    const d1 = await b.recv();
    assert.equal(text(d1.data), 'one');
    assert.ok(d1.from.equals(a.address));
    const d2 = await b.recv();
    assert.deepEqual([...d2.data], [1, 2, 3]);
  });

  it('talks to node:dgram peers (IPv4 and IPv6), names resolved', async () => {
    const p4 = await dgramPeer('udp4');
    p4.on('message', (msg, rinfo) => p4.send(Buffer.concat([Buffer.from('re:'), msg]), rinfo.port, rinfo.address));
    const s = await network.udp();
    await s.send('hi', `localhost:${p4.address().port}`);
    const r = await s.recv({ timeoutMs: 2000 });
    assert.equal(text(r.data), 're:hi');
    assert.equal(r.from.toString(), `127.0.0.1:${p4.address().port}`);

    const p6 = await dgramPeer('udp6');
    p6.on('message', (msg, rinfo) => p6.send(msg, rinfo.port, rinfo.address));
    const s6 = await network.udp({ family: 6 });
    await s6.send('six', `[::1]:${p6.address().port}`);
    const r6 = await s6.recv({ timeoutMs: 2000 });
    assert.equal(text(r6.data), 'six');
    assert.equal(r6.from.family, 6);
    await rejectsWith(s6.send('x', `127.0.0.1:${p4.address().port}`), 'EINVAL', (e) => assert.equal(e.detail.reason, 'family-mismatch'));
  });

  it('connect() sets the default destination and filters other sources; disconnect() clears both', async () => {
    const a = await network.udp({ host: '127.0.0.1' });
    const b = await network.udp({ host: '127.0.0.1' });
    const c = await network.udp({ host: '127.0.0.1' });
    await rejectsWith(a.send('no destination'), 'ENOTCONN');
    await a.connect(b.address);
    assert.ok(a.remoteAddress?.equals(b.address));
    await a.send('to b');
    assert.equal(text((await b.recv()).data), 'to b');
    await c.send('filtered', a.address);
    await b.send('allowed', a.address);
    const got = await a.recv({ timeoutMs: 2000 });
    assert.equal(text(got.data), 'allowed');
    await a.disconnect();
    assert.equal(a.remoteAddress, undefined);
    await c.send('now allowed', a.address);
    assert.equal(text((await a.recv({ timeoutMs: 2000 })).data), 'now allowed');
    await rejectsWith(a.connect('127.0.0.1:0'), 'EINVAL');
  });

  it('recv honours timeoutMs and AbortSignal; close ends iteration and rejects pending calls', async () => {
    const s = await network.udp({ host: '127.0.0.1' });
    await rejectsWith(s.recv({ timeoutMs: 30 }), 'ETIMEDOUT', (e) => {
      assert.equal(e.detail.reason, 'timeout');
      assert.equal(e.detail.op, 'recv');
    });
    const ac = new AbortController();
    const p = s.recv({ signal: ac.signal });
    ac.abort('stop');
    await assert.rejects(p, (e) => e === 'stop');

    const sender = await network.udp({ host: '127.0.0.1' });
    const seen: string[] = [];
    const loop = (async () => {
      for await (const { data } of s) {
        seen.push(text(data));
        if (seen.length === 3) break;
      }
    })();
    for (const m of ['a', 'b', 'c']) await sender.send(m, s.address);
    await loop;
    assert.deepEqual(seen, ['a', 'b', 'c']);

    const pending = s.recv();
    const iter = (async () => {
      let n = 0;
      for await (const _ of s) n++;
      return n;
    })();
    await s.close();
    await rejectsWith(pending, 'ESOCK', (e) => assert.equal(e.detail.reason, 'closed'));
    assert.equal(await iter, 0);
    await rejectsWith(s.send('x', sender.address), 'ESOCK');
  });

  it('rejects empty and oversized datagrams with EINVAL', async () => {
    const s = await network.udp({ host: '127.0.0.1' });
    const target = SocketAddress.from('127.0.0.1', 9);
    await rejectsWith(s.send(new Uint8Array(0), target), 'EINVAL', (e) => assert.equal(e.detail.reason, 'empty-datagram'));
    await rejectsWith(s.send(new Uint8Array(70000), target), 'EINVAL');
  });

  it('carries the largest IPv4 datagram (65507 bytes)', async () => {
    const a = await network.udp({ host: '127.0.0.1' });
    const b = await network.udp({ host: '127.0.0.1' });
    const big = new Uint8Array(65507).map((_, i) => i & 0xff);
    await a.send(big, b.address);
    const r = await b.recv({ timeoutMs: 2000 });
    assert.equal(r.data.length, 65507);
    assert.deepEqual(r.data, big);
  });
});
