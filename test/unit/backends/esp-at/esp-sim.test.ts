// The ESP-AT driver against the ESP-AT simulator (src/apps/sim/esp-at, another helper's work): the
// module's links go over a userspace stack to a peer `Network` (10.0.0.2) on virtual time. Both
// dialects, active and passive receive: bring-up from power-on (NONOS boot noise included), join,
// TCP both ways with the peer's close, UDP, lookup, a server, a crash, an AP loss.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { isSocketError } from '../../../../src/base/socket-error.ts';
import { Network } from '../../../../src/socket/network.ts';
import type { TcpSocket } from '../../../../src/socket/tcp-socket.ts';
import { createEspAt, type EspAt } from '../../../../src/backends/esp-at/index.ts';
import { espHarness, LAB_AP, type Harness } from '../../apps/sim/esp-at-harness.ts';
import { dec, enc, runFor, until } from './fake-esp.test.ts';

interface Online {
  h: Harness;
  esp: EspAt;
  net: Network;
}

async function online(dialect: 'esp-at' | 'nonos', passive: boolean, seed: number): Promise<Online> {
  const h = await espHarness({ dialect, seed, pipe: { chunking: { rng: new XorShiftRng(seed + 50), min: 1, max: 64 } } });
  const esp = createEspAt({ stream: h.host, scheduler: h.sched, passive, backend: { rng: new XorShiftRng(seed + 1) } });
  h.sim.powerOn();
  await until(h.sched, esp.wifi.initialize(), 60_000);
  await until(h.sched, esp.wifi.join({ ssid: LAB_AP.ssid, password: LAB_AP.password }), 60_000);
  const net = new Network(esp.backend, { scheduler: h.sched, rng: new XorShiftRng(seed + 2) });
  return { h, esp, net };
}

async function readN(o: Online, s: TcpSocket, n: number): Promise<string> {
  let got = '';
  while (got.length < n) {
    const c = await until(o.h.sched, s.read());
    if (c === null) break;
    got += dec(c);
  }
  return got;
}

async function shut(o: Online): Promise<void> {
  await until(o.h.sched, o.net.close()).catch(() => undefined);
  await o.esp.driver.dispose();
  o.h.sim.close();
}

for (const dialect of ['esp-at', 'nonos'] as const) {
  for (const passive of [false, true]) {
    describe(`ESP-AT driver against the simulator, ${dialect}, ${passive ? 'passive' : 'active'} receive`, () => {
      it('power-on bring-up, join, TCP both ways with AT-like payload, the peer\'s close', async () => {
        const o = await online(dialect, passive, 21);
        assert.equal(o.esp.module.dialect?.kind, dialect);
        assert.equal(o.esp.driver.pull, passive);
        assert.equal(o.esp.wifi.status, 'got-ip');
        assert.deepEqual(o.esp.driver.localAddress(1), new Uint8Array([10, 0, 0, 1]));
        const server = await until(o.h.sched, o.h.netB.listen({ port: 8080 }));
        const acceptP = server.accept();
        const sock = await until(o.h.sched, o.net.connect('10.0.0.2:8080'));
        const peer = await until(o.h.sched, acceptP);
        const payload = Array.from({ length: 6000 }, (_, i) => String.fromCharCode((i * 31) % 256)).join('');
        await until(o.h.sched, sock.write(enc(payload)));
        assert.equal(await readN(o, peer, payload.length), payload);
        const back = '\r\nOK\r\n+IPD,0,3:> \0SEND OK\r\n0,CLOSED\r\n' + payload;
        await until(o.h.sched, peer.write(enc(back)));
        assert.equal(await readN(o, sock, back.length), back);
        await until(o.h.sched, peer.close());
        assert.equal(await until(o.h.sched, sock.read()), null);
        await shut(o);
      });

      it('UDP both ways with the source, lookup, a server accepting a link', async () => {
        const o = await online(dialect, passive, 22);
        const pu = await until(o.h.sched, o.h.netB.udp({ port: 7777 }));
        const u = await until(o.h.sched, o.net.udp({ port: 5000 }));
        const got = pu.recv();
        await until(o.h.sched, u.send('ping', '10.0.0.2:7777'));
        const d1 = await until(o.h.sched, got);
        assert.equal(dec(d1.data), 'ping');
        assert.equal(d1.from.port, 5000);
        const back = u.recv();
        await until(o.h.sched, pu.send('pong', '10.0.0.1:5000'));
        const d2 = await until(o.h.sched, back);
        assert.equal(dec(d2.data), 'pong');
        assert.equal(d2.from.toString(), '10.0.0.2:7777');
        assert.equal(await until(o.h.sched, o.net.lookup('peer.test')), '10.0.0.2');
        await assert.rejects(until(o.h.sched, o.net.lookup('nope.test')), (e) => isSocketError(e, 'EHOSTNOTFOUND'));
        const server = await until(o.h.sched, o.net.listen({ port: 333 }));
        const acceptP = server.accept();
        const client = await until(o.h.sched, o.h.netB.connect('10.0.0.1:333'));
        const s = await until(o.h.sched, acceptP);
        assert.equal(s.remoteAddress.toString(), `10.0.0.2:${client.localAddress.port}`);
        await until(o.h.sched, client.write('hello server'));
        assert.equal(await readN(o, s, 12), 'hello server');
        await shut(o);
      });

      it('a crash (wdt reset): the socket fails with module-reset, the driver re-initialises and re-joins', async () => {
        const o = await online(dialect, passive, 23);
        const server = await until(o.h.sched, o.h.netB.listen({ port: 8080 }));
        const acceptP = server.accept();
        const sock = await until(o.h.sched, o.net.connect('10.0.0.2:8080'));
        await until(o.h.sched, acceptP);
        o.h.sim.crash('wdt');
        await assert.rejects(until(o.h.sched, sock.read()), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'module-reset');
        await runFor(o.h.sched, 15_000);
        assert.equal(o.esp.module.state, 'ready');
        assert.equal(o.esp.wifi.status, 'got-ip');
        const again = await until(o.h.sched, o.net.connect('10.0.0.2:8080'));
        await until(o.h.sched, again.write('after'));
        await shut(o);
      });

      it('an AP loss: lost with wifi-lost, status connecting, back to got-ip when the AP returns', async () => {
        const o = await online(dialect, passive, 24);
        const server = await until(o.h.sched, o.h.netB.listen({ port: 8080 }));
        const acceptP = server.accept();
        const sock = await until(o.h.sched, o.net.connect('10.0.0.2:8080'));
        await until(o.h.sched, acceptP);
        const states: string[] = [];
        o.esp.wifi.on('disconnected', (e) => states.push(`disconnected ${e.requested}`));
        o.esp.wifi.on('got-ip', () => states.push('got-ip'));
        o.h.sim.apLoss();
        await assert.rejects(until(o.h.sched, sock.read()), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'wifi-lost');
        assert.equal(o.esp.wifi.status, 'connecting');
        o.h.sim.apRestore();
        await runFor(o.h.sched, 40_000);
        assert.equal(o.esp.wifi.status, 'got-ip');
        assert.deepEqual(states.slice(0, 1), ['disconnected false']);
        assert.ok(states.includes('got-ip'));
        await shut(o);
      });
    });
  }
}
