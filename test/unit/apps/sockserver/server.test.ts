/**
 * The reference test server over the host stack on loopback, with a port offset,
 * exercised with node:net / node:dgram clients (independent of iotnet's client side).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { startSockServer } from '../../../../src/apps/sockserver/index.ts';
import type { SockServer } from '../../../../src/apps/sockserver/index.ts';
import { createHostBackend } from '../../../../src/backends/host/index.ts';
import type { HostBackend } from '../../../../src/backends/host/index.ts';
import { Network } from '../../../../src/socket/network.ts';

const ESC = 0x1b;
const HOST = '127.0.0.1';

let backend: HostBackend;
let network: Network;
let server: SockServer;
const errors: unknown[] = [];

before(async () => {
  backend = createHostBackend();
  network = new Network(backend);
  // Offsets keep every port (up to 5019 + offset) below 65536 and clear of the ephemeral range.
  for (let attempt = 0; ; attempt++) {
    const portOffset = 20000 + randomInt(0, 20) * 500 + randomInt(0, 400);
    try {
      server = await startSockServer(network, { portOffset, onError: (e) => errors.push(e) });
      break;
    } catch (e) {
      if (attempt >= 5) throw e;
    }
  }
});

after(async () => {
  await server.close();
  await network.close();
  assert.equal(network.openCount, 0, 'server.close() left nothing open');
  await backend.close();
});

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects with node:net and collects everything until the server closes. */
async function tcpExchange(port: number, send?: Buffer | string, host = HOST): Promise<{ data: Buffer; ended: boolean }> {
  const s = net.connect({ port, host, allowHalfOpen: true });
  await once(s, 'connect');
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  if (send !== undefined) s.write(send);
  const ended = await new Promise<boolean>((resolve) => {
    s.on('end', () => resolve(true));
    s.on('error', () => resolve(false));
  });
  s.destroy();
  return { data: Buffer.concat(chunks), ended };
}

/** Sends one datagram and waits for one reply. */
async function udpExchange(port: number, payload: Buffer | string, type: 'udp4' | 'udp6' = 'udp4'): Promise<Buffer> {
  const s = dgram.createSocket(type);
  try {
    s.bind(0, type === 'udp4' ? HOST : '::1');
    await once(s, 'listening');
    s.send(payload, port, type === 'udp4' ? HOST : '::1');
    const reply = (await Promise.race([once(s, 'message'), tick(2000).then(() => [undefined])])) as [Buffer | undefined];
    if (reply[0] === undefined) throw new Error('no UDP reply');
    return reply[0];
  } finally {
    s.close();
  }
}

/** A node:net client reading until `done(data)` says so. */
async function readUntil(s: net.Socket, done: (all: Buffer) => boolean, timeoutMs = 10_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = Buffer.alloc(0);
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout; got ${total.length} bytes`)), timeoutMs);
    const onData = (d: Buffer): void => {
      chunks.push(d);
      total = Buffer.concat(chunks);
      if (done(total)) {
        clearTimeout(timer);
        s.off('data', onData);
        resolve(total);
      }
    };
    s.on('data', onData);
  });
}

describe('reference test server (host stack)', () => {
  it('reports its ports (offset applied) and listeners, IPv4 and IPv6', () => {
    const { ports } = server;
    const offset = ports.echo - 7;
    assert.deepEqual(ports, {
      echo: 7 + offset, discard: 9 + offset, daytime: 13 + offset, chargen: 19 + offset, chargenRfc: 5019 + offset,
      time: 37 + offset, control: 5000 + offset, refusing: 5001 + offset, blackHole: 5002 + offset,
    });
    assert.equal(server.ipv6, true);
    const tcp4 = server.listeners.filter((l) => l.protocol === 'tcp' && l.address.family === 4).map((l) => l.service);
    assert.deepEqual(tcp4, ['echo', 'discard', 'daytime', 'chargen', 'chargenRfc', 'time', 'control']);
    const udp4 = server.listeners.filter((l) => l.protocol === 'udp' && l.address.family === 4).map((l) => l.service);
    assert.deepEqual(udp4, ['echo', 'discard', 'daytime', 'chargen', 'chargenRfc', 'time']);
    assert.equal(server.listeners.filter((l) => l.address.family === 6).length, 13);
    for (const l of server.listeners) assert.equal(l.address.port, ports[l.service]);
  });

  it('echo TCP: echoes, closes after a chunk starting with ESC, and on EOF', async () => {
    const s = net.connect(server.ports.echo, HOST);
    await once(s, 'connect');
    s.write('hello echo');
    assert.equal((await readUntil(s, (b) => b.length >= 10)).toString(), 'hello echo');
    const end = once(s, 'end');
    s.write(Buffer.from([ESC, 0x41, 0x42]));
    const back = await readUntil(s, (b) => b.length >= 3);
    assert.deepEqual([...back], [ESC, 0x41, 0x42]);
    await end;
    s.destroy();
  });

  it('echo TCP closes when the client ends, IPv6 too', async () => {
    const s = net.connect({ port: server.ports.echo, host: '::1', allowHalfOpen: true });
    await once(s, 'connect');
    s.end('v6 data');
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    await once(s, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'v6 data');
    s.destroy();
  });

  it('echo UDP (IPv4, IPv6, large datagram)', async () => {
    assert.equal((await udpExchange(server.ports.echo, 'udp echo')).toString(), 'udp echo');
    assert.equal((await udpExchange(server.ports.echo, 'six', 'udp6')).toString(), 'six');
    const big = Buffer.alloc(8000, 7);
    assert.deepEqual(await udpExchange(server.ports.echo, big), big);
  });

  it('discard TCP drops data and closes on an ESC-led chunk', async () => {
    const s = net.connect({ port: server.ports.discard, host: HOST, allowHalfOpen: true });
    await once(s, 'connect');
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.write('x'.repeat(100));
    await tick(50); // let the 40-byte reads drain before the ESC
    s.write(Buffer.from([ESC]));
    await once(s, 'end');
    assert.equal(got, 0);
    s.destroy();
  });

  it('discard UDP answers nothing', async () => {
    await assert.rejects(udpExchange(server.ports.discard, 'gone'), /no UDP reply/);
  });

  it('daytime TCP and UDP: the 26-byte ctime string', async () => {
    const r = await tcpExchange(server.ports.daytime);
    assert.equal(r.ended, true);
    assert.equal(r.data.length, 26);
    const re = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d \d{4}\r\n$/;
    assert.match(r.data.toString(), re);
    const year = new Date().getUTCFullYear();
    assert.ok(r.data.toString().includes(String(year)));
    assert.match((await udpExchange(server.ports.daytime, 'x')).toString(), re);
  });

  it('time TCP and UDP: 4 bytes, seconds since 1900', async () => {
    const r = await tcpExchange(server.ports.time);
    assert.equal(r.ended, true);
    assert.equal(r.data.length, 4);
    const now = Math.floor(Date.now() / 1000) + 2_208_988_800;
    assert.ok(Math.abs(r.data.readUInt32BE(0) - now) <= 2);
    const u = await udpExchange(server.ports.time, 'x');
    assert.equal(u.length, 4);
    assert.ok(Math.abs(u.readUInt32BE(0) - now) <= 2);
  });

  it('chargen TCP: 81-byte lines every 100 ms, ABC… then BCD…; ESC closes', async () => {
    const s = net.connect({ port: server.ports.chargen, host: HOST, allowHalfOpen: true });
    await once(s, 'connect');
    const t0 = performance.now();
    const data = await readUntil(s, (b) => b.length >= 3 * 81);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 180, `3 lines took ${elapsed} ms`);
    assert.equal(data.subarray(0, 3).toString(), 'ABC');
    assert.deepEqual([...data.subarray(79, 81)], [0x0a, 0x0d]);
    assert.equal(data.subarray(81, 84).toString(), 'BCD');
    assert.equal(data.subarray(162, 165).toString(), 'CDE');
    const end = once(s, 'end');
    s.write(Buffer.from([ESC]));
    await end;
    s.destroy();
  });

  it('chargen UDP: one pattern datagram of 2..512 bytes per datagram, one shared state', async () => {
    const replies: Buffer[] = [];
    for (let i = 0; i < 5; i++) replies.push(await udpExchange(server.ports.chargen, 'x'));
    for (const r of replies) {
      assert.ok(r.length >= 2 && r.length <= 512, `length ${r.length}`);
      assert.deepEqual([...r.subarray(r.length - 2)], [0x0a, 0x0d]);
    }
    // Successive replies start at successive characters (the shared start state).
    const starts = replies.filter((r) => r.length > 2).map((r) => r[0] as number);
    for (let i = 1; i < replies.length; i++) {
      const a = replies[i - 1] as Buffer;
      const b = replies[i] as Buffer;
      if (a.length > 2 && b.length > 2) assert.equal(b[0], (a[0] as number) === 0x7e ? 0x21 : (a[0] as number) + 1);
    }
    assert.ok(starts.length > 0);
  });

  it('chargen RFC 864 port: 100 KB of continuous 74-byte lines', async () => {
    const s = net.connect({ port: server.ports.chargenRfc, host: HOST });
    await once(s, 'connect');
    const data = await readUntil(s, (b) => b.length >= 100_000);
    s.destroy();
    for (let k = 0; k < Math.floor(100_000 / 74); k++) {
      const line = data.subarray(k * 74, k * 74 + 74);
      assert.equal(line[0], 0x20 + (k % 95), `line ${k}`);
      assert.equal(line[71], 0x20 + ((k + 71) % 95));
      assert.deepEqual([...line.subarray(72)], [0x0d, 0x0a]);
    }
    assert.equal((await udpExchange(server.ports.chargenRfc, 'x')).subarray(0, 3).toString(), ' !"');
  });

  it('refusing port: ECONNREFUSED (no listener)', async () => {
    const s = net.connect(server.ports.refusing, HOST);
    const [err] = (await once(s, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
  });

  it('control CONNECT TCP,0.0.0.0: connects back to the peer and sends SockServer', async () => {
    const back = net.createServer({ allowHalfOpen: true });
    back.listen(0, HOST);
    await once(back, 'listening');
    const port = (back.address() as net.AddressInfo).port;
    const got = new Promise<{ data: string; ms: number }>((resolve) => {
      back.once('connection', (c) => {
        const t = performance.now();
        let data = '';
        c.on('data', (d) => (data += d.toString()));
        c.on('end', () => {
          resolve({ data, ms: performance.now() - t });
          c.destroy();
        });
      });
    });
    const t0 = performance.now();
    const ctl = await tcpExchange(server.ports.control, `CONNECT TCP,0.0.0.0,${port},100`);
    assert.equal(ctl.ended, true, 'the control connection is closed first');
    assert.equal(ctl.data.length, 0);
    const { data, ms } = await got;
    assert.equal(data, 'SockServer');
    assert.ok(ms >= 450, `closed ${ms} ms after connecting (500 ms linger)`);
    assert.ok(performance.now() - t0 >= 100 + 10 + 500 - 30);
    back.close();
  });

  it('control CONNECT UDP with an explicit address', async () => {
    const u = dgram.createSocket('udp4');
    u.bind(0, HOST);
    await once(u, 'listening');
    const port = u.address().port;
    const msg = once(u, 'message');
    await tcpExchange(server.ports.control, `CONNECT UDP,127.0.0.1,${port},10`);
    const [data] = (await msg) as [Buffer];
    assert.equal(data.toString(), 'SockServer');
    u.close();
  });

  it('control SEND TCP: Block[i] blocks for time_ms, then STAT with the byte count', async () => {
    const s = net.connect({ port: server.ports.control, host: HOST, allowHalfOpen: true });
    await once(s, 'connect');
    const t0 = performance.now();
    s.write('SEND TCP,100,500');
    const data = await readUntil(s, (b) => /STAT \d+ bytes\.$/.test(b.subarray(Math.max(0, b.length - 40)).toString('latin1')));
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 490, `sent for ${elapsed} ms`);
    const text = data.toString('latin1');
    const stat = /STAT (\d+) bytes\.$/.exec(text);
    assert.ok(stat);
    const n = Number(stat[1]);
    assert.equal(n, text.length - stat[0].length, 'STAT counts every block byte');
    assert.equal(n % 100, 0);
    assert.equal(text.slice(0, 100), `Block[1] ${'a'.repeat(91)}`);
    assert.equal(text.slice(100, 200), `Block[2] ${'b'.repeat(91)}`);
    const end = once(s, 'end');
    s.end(); // the server drains until we close, then closes
    await end;
    s.destroy();
  });

  it('control RECV TCP: counts bytes up to STOP, replies STAT', async () => {
    const s = net.connect({ port: server.ports.control, host: HOST, allowHalfOpen: true });
    await once(s, 'connect');
    s.write('RECV TCP,1420');
    await tick(30);
    let sent = 0;
    for (let i = 1; i <= 40; i++) {
      const block = Buffer.alloc(1420, 'a');
      block.write(`Block[${i}]`);
      block[`Block[${i}]`.length] = 0;
      s.write(block);
      sent += block.length;
    }
    s.write(`STOP ${sent} bytes.`);
    const reply = await readUntil(s, (b) => b.toString().endsWith('bytes.'));
    assert.equal(reply.toString(), `STAT ${sent} bytes.`);
    const end = once(s, 'end');
    s.end();
    await end;
    s.destroy();
  });

  it('control RECV TCP: data merged with the command (one segment) is counted, STOP in it too', async () => {
    for (const tail of ['', ' STOP']) {
      const s = net.connect({ port: server.ports.control, host: HOST, allowHalfOpen: true });
      await once(s, 'connect');
      const block = Buffer.alloc(1420, 'a');
      block.write('Block[1]');
      block[8] = 0;
      s.write(Buffer.concat([Buffer.from('RECV TCP,1420'), block, Buffer.from(tail)]));
      if (tail === '') {
        await tick(30);
        s.write('STOP 1420 bytes.');
      }
      const reply = await readUntil(s, (b) => b.toString().endsWith('bytes.'));
      assert.equal(reply.toString(), `STAT ${1420 + (tail === '' ? 0 : 1)} bytes.`, JSON.stringify(tail));
      const end = once(s, 'end');
      s.end();
      await end;
      s.destroy();
    }
  });

  it('control: unknown command closes; silence closes after 2 s', async () => {
    const r = await tcpExchange(server.ports.control, 'HELLO');
    assert.equal(r.ended, true);
    assert.equal(r.data.length, 0);
    const t0 = performance.now();
    const quiet = await tcpExchange(server.ports.control);
    const ms = performance.now() - t0;
    assert.equal(quiet.ended, true);
    assert.ok(ms >= 1900 && ms < 4000, `closed after ${ms} ms`);
  });

  it('no session reported an error', () => {
    assert.deepEqual(errors, []);
  });
});

describe('startSockServer options', () => {
  it('host restricts to one address; ipv6: false; rfc864 chargen style; bad offsets rejected', async () => {
    const b2 = createHostBackend();
    const n2 = new Network(b2);
    try {
      const offset = 41000 + randomInt(0, 1000);
      const s4 = await startSockServer(n2, { portOffset: offset, host: '127.0.0.1', chargenStyle: 'rfc864' });
      assert.equal(s4.ipv6, false);
      assert.ok(s4.listeners.every((l) => l.address.address === '127.0.0.1'));
      const c = net.connect(s4.ports.chargen, HOST);
      const data = await readUntil(c, (b) => b.length >= 148);
      c.destroy();
      assert.equal(data.subarray(0, 3).toString(), ' !"');
      assert.equal(data.subarray(74, 77).toString(), '!"#');
      await s4.close();

      const s5 = await startSockServer(n2, { portOffset: offset, ipv6: false });
      assert.equal(s5.ipv6, false);
      assert.ok(s5.listeners.every((l) => l.address.family === 4));
      await s5.close();
      assert.equal(n2.openCount, 0);

      await assert.rejects(startSockServer(n2, { portOffset: -1 }), /EINVAL/);
      await assert.rejects(startSockServer(n2, { portOffset: 61000 }), /EINVAL/);
      // A port in use: start fails and leaves nothing open.
      const blocker = net.createServer().listen(offset + 13, '0.0.0.0');
      await once(blocker, 'listening');
      await assert.rejects(startSockServer(n2, { portOffset: offset, ipv6: false }), /EADDRINUSE/);
      assert.equal(n2.openCount, 0);
      blocker.close();
    } finally {
      await n2.close();
      await b2.close();
    }
  });
});
