/**
 * `DuplexByteStream` over a real TCP connection (node:net on loopback): PPP between two userspace
 * stacks tunnelled through TCP, CHAP, 64 KiB echoed through the socket API; and the stream's own
 * contract (copies, close both ways).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { DuplexByteStream } from '../../../src/runtime/duplex-stream.ts';
import { systemScheduler } from '../../../src/runtime/system-scheduler.ts';
import { concatBytes } from '../../../src/wire/bytes.ts';
import { pppNet, PPP_SERVER_IP } from '../../support/ppp-net.ts';
import { pattern } from '../../support/stack-net.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function tcpPair(): Promise<{ a: net.Socket; b: net.Socket; close(): void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const a = net.connect(port, '127.0.0.1');
  await once(a, 'connect');
  const [b] = await accepted;
  return { a, b, close: () => server.close() };
}

describe('DuplexByteStream', () => {
  it('carries PPP between two stacks through a TCP connection: CHAP, IPCP, 64 KiB TCP echo inside', async () => {
    const tcp = await tcpPair();
    const n = pppNet({ scheduler: systemScheduler, streams: [new DuplexByteStream(tcp.a), new DuplexByteStream(tcp.b)], seed: 21 });
    await n.up;
    const listener = await n.server.net.listen({ port: 7 });
    const echoed = (async () => {
      const s = await listener.accept();
      for await (const chunk of s) await s.write(chunk);
      await s.end();
    })();
    const data = pattern(65_536, 21);
    const c = await n.client.net.connect(`${PPP_SERVER_IP}:7`);
    const reading = (async () => {
      const parts: Uint8Array[] = [];
      for await (const chunk of c) parts.push(chunk.slice());
      return concatBytes(parts);
    })();
    await c.write(data);
    await c.end();
    const back = await reading;
    await echoed;
    assert.equal(sha(back), sha(data));
    assert.equal(n.client.link.stats().decoder.badFcs, 0);
    listener.close();
    await n.close();
    tcp.close();
  });

  it('copies writes, reports the far end closing, and close() ends the connection', async () => {
    const tcp = await tcpPair();
    const a = new DuplexByteStream(tcp.a);
    const b = new DuplexByteStream(tcp.b);
    const got: Uint8Array[] = [];
    b.onData((x) => got.push(x.slice()));
    const buf = new Uint8Array([1, 2, 3]);
    assert.equal(a.write(buf), true);
    buf.fill(9);
    while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(concatBytes(got), new Uint8Array([1, 2, 3]));
    const closed = new Promise<Error | undefined>((r) => b.onClose(r));
    a.close();
    assert.equal(await closed, undefined);
    assert.equal(a.closed && b.closed, true);
    assert.equal(a.write(new Uint8Array([4])), false);
    tcp.close();
  });
});
