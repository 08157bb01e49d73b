// The ESP-AT driver under the generic module socket backend and the idiomatic Network API, against
// the scripted fake module: TCP both ways with the peer's close, UDP with sources, a server, lookups,
// and a module reset failing the open socket with ECONNABORTED module-reset. Both dialects, active
// and passive receive.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { isSocketError } from '../../../../src/base/socket-error.ts';
import { Network } from '../../../../src/socket/network.ts';
import type { TcpSocket } from '../../../../src/socket/tcp-socket.ts';
import { createEspAt } from '../../../../src/backends/esp-at/index.ts';
import { dec, FakeEsp, runFor, until, type FakeDialect } from './fake-esp.test.ts';

interface Online {
  fake: FakeEsp;
  net: Network;
  esp: ReturnType<typeof createEspAt>;
}

async function online(dialect: FakeDialect, passive: boolean, seed: number): Promise<Online> {
  const fake = new FakeEsp({ dialect, seed });
  const esp = createEspAt({ stream: fake.host, scheduler: fake.sched, passive, backend: { rng: new XorShiftRng(seed + 1) } });
  await until(fake.sched, esp.wifi.initialize());
  await until(fake.sched, esp.wifi.join({ ssid: 'lab', password: 'secret12' }));
  const net = new Network(esp.backend, { scheduler: fake.sched, rng: new XorShiftRng(seed + 2) });
  return { fake, net, esp };
}

async function readAll(o: Online, s: TcpSocket, n: number): Promise<string> {
  let got = '';
  while (got.length < n) {
    const c = await until(o.fake.sched, s.read());
    if (c === null) break;
    got += dec(c);
  }
  return got;
}

for (const dialect of ['esp-at', 'nonos'] as const) {
  for (const passive of [false, true]) {
    const mode = passive ? 'passive' : 'active';
    describe(`ESP-AT driver through Network, ${dialect}, ${mode} receive`, () => {
      it('TCP: connect, write, read (payload with AT-like text), the peer\'s close', async () => {
        const o = await online(dialect, passive, 11);
        assert.equal(o.esp.driver.pull, passive);
        const sock = await until(o.fake.sched, o.net.connect('192.168.3.102:8080'));
        const payload = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(i % 256)).join('');
        await until(o.fake.sched, sock.write(Uint8Array.from(payload, (c) => c.charCodeAt(0))));
        await runFor(o.fake.sched, 100);
        assert.equal(o.fake.sent.get(0), payload);
        const reply = '\r\nOK\r\n+IPD,0,3:> SEND OK\r\n0,CLOSED\r\n';
        o.fake.peerData(0, reply);
        assert.equal(await readAll(o, sock, reply.length), reply);
        o.fake.peerClose(0);
        assert.equal(await until(o.fake.sched, sock.read()), null);
        await until(o.fake.sched, sock.close());
        await until(o.fake.sched, o.net.close());
        await o.esp.driver.dispose();
      });

      it('UDP with sources, lookup, and a server accepting a link', async () => {
        const o = await online(dialect, passive, 12);
        const u = await until(o.fake.sched, o.net.udp({ port: 5000 }));
        await until(o.fake.sched, u.send('ping', '192.168.3.7:7777'));
        await runFor(o.fake.sched, 50);
        assert.ok(o.fake.commands.includes('AT+CIPSTART=0,"UDP","0.0.0.0",5000,5000,2'), o.fake.commands.join('|'));
        assert.ok(o.fake.commands.includes('AT+CIPSEND=0,4,"192.168.3.7",7777'));
        const l = o.fake.links.get(0);
        if (l !== undefined) {
          l.ip = '192.168.3.7';
          l.rport = 7777;
        }
        o.fake.peerData(0, 'pong', { ip: '192.168.3.7', port: 7777 });
        const d = await until(o.fake.sched, u.recv());
        assert.equal(dec(d.data), 'pong');
        assert.equal(d.from.toString(), '192.168.3.7:7777');
        assert.equal(await until(o.fake.sched, o.net.lookup('example.com')), '93.184.216.34');
        await assert.rejects(until(o.fake.sched, o.net.lookup('nx.example')), (e) => isSocketError(e, 'EHOSTNOTFOUND'));
        const server = await until(o.fake.sched, o.net.listen({ port: 333 }));
        const acceptP = server.accept();
        o.fake.peerConnect(1, '192.168.3.50', 40000);
        const s = await until(o.fake.sched, acceptP);
        assert.equal(s.remoteAddress?.toString(), '192.168.3.50:40000');
        o.fake.peerData(1, 'hello server');
        assert.equal(await readAll(o, s, 12), 'hello server');
        await until(o.fake.sched, o.net.close());
        await o.esp.driver.dispose();
      });

      it('a module reset fails the open socket with ECONNABORTED module-reset; a new connect works after re-init', async () => {
        const o = await online(dialect, passive, 13);
        const sock = await until(o.fake.sched, o.net.connect('192.168.3.102:8080'));
        o.fake.reboot('\x00\xff');
        await assert.rejects(until(o.fake.sched, sock.read()), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'module-reset');
        await runFor(o.fake.sched, 3000);
        assert.equal(o.esp.wifi.status, 'got-ip');
        const again = await until(o.fake.sched, o.net.connect('192.168.3.102:8080'));
        await until(o.fake.sched, again.write('x'));
        await until(o.fake.sched, o.net.close());
        await o.esp.driver.dispose();
      });
    });
  }
}
