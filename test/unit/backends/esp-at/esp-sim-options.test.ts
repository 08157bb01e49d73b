// The ESP-AT driver's options and the send-result faults against the ESP-AT simulator: AT+SYSMSG
// (+LINK_CONN), ESP-AT 3.3 (AT+CIPRECVTYPE), AT+UART_CUR to 921600 baud on a line that garbles
// mismatched rates, a host reset while the module ran on at the new rate (baud probing), and the
// simulator's data-point faults (SEND FAIL, SEND FAIL then SEND OK, ERROR then SEND OK, missing
// SEND OK, reboot at the data point).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { isSocketError } from '../../../../src/base/socket-error.ts';
import { Network } from '../../../../src/socket/network.ts';
import { createEspAt, type CreateEspAtOptions, type EspAt } from '../../../../src/backends/esp-at/index.ts';
import { espHarness, LAB_AP, type Harness } from '../../apps/sim/esp-at-harness.ts';
import { dec, enc, recorder, runFor, until } from './fake-esp.test.ts';

type SimOptions = Parameters<typeof espHarness>[0];

async function online(sim: SimOptions, esp: Partial<CreateEspAtOptions> = {}): Promise<{ h: Harness; esp: EspAt; net: Network }> {
  const h = await espHarness({ pipe: { chunking: { rng: new XorShiftRng(77), min: 1, max: 64 } }, ...sim });
  const e = createEspAt({ stream: h.host, scheduler: h.sched, backend: { rng: new XorShiftRng(3) }, ...esp });
  h.sim.powerOn();
  await until(h.sched, e.wifi.initialize(), 60_000);
  await until(h.sched, e.wifi.join({ ssid: LAB_AP.ssid, password: LAB_AP.password }), 60_000);
  return { h, esp: e, net: new Network(e.backend, { scheduler: h.sched, rng: new XorShiftRng(4) }) };
}

const PEER = { kind: 'tcp' as const, af: 1 as const, remote: { address: new Uint8Array([10, 0, 0, 2]), port: 8080 }, localPort: 0, keepAliveS: 0 };

describe('ESP-AT driver options against the simulator', () => {
  it('AT+SYSMSG=2: +LINK_CONN gives the local port of an opened link and the remote of an accepted one', async () => {
    const o = await online({ dialect: 'esp-at' }, { sysmsg: true });
    assert.equal(o.h.sim.sysmsg, 2);
    const server = await until(o.h.sched, o.h.netB.listen({ port: 8080 }));
    const acceptP = server.accept();
    const { events, log } = recorder();
    o.esp.driver.attach(events);
    const link = await until(o.h.sched, o.esp.driver.open(PEER));
    const peer = await until(o.h.sched, acceptP);
    assert.equal(link.id, 0);
    assert.equal(link.localPort, peer.remoteAddress.port);
    await until(o.h.sched, o.esp.driver.listen(333, 1));
    const client = await until(o.h.sched, o.h.netB.connect('10.0.0.1:333'));
    await runFor(o.h.sched, 100);
    const acc = log.find((e) => e.kind === 'accepted');
    assert.ok(acc?.kind === 'accepted');
    assert.deepEqual(acc.remote, { address: new Uint8Array([10, 0, 0, 2]), port: client.localAddress.port });
    assert.equal(acc.port, 333);
    assert.equal(o.esp.driver.stats.strayUrcs, 0);
    await o.esp.driver.dispose();
    o.h.sim.close();
  });

  it('ESP-AT 3.3: passive receive with AT+CIPRECVTYPE=5,1', async () => {
    const o = await online({ dialect: 'esp-at', version: 'AT version:3.3.0.0(3b03f9e - ESP32 - Mar 10 2024 08:12:54)' });
    assert.equal(o.esp.module.dialect?.passiveCommand, 'AT+CIPRECVTYPE=5,1');
    assert.equal(o.esp.driver.pull, true);
    const server = await until(o.h.sched, o.h.netB.listen({ port: 8080 }));
    const acceptP = server.accept();
    const sock = await until(o.h.sched, o.net.connect('10.0.0.2:8080'));
    const peer = await until(o.h.sched, acceptP);
    await until(o.h.sched, peer.write('passive v3.3'));
    const got = await until(o.h.sched, sock.read());
    assert.equal(dec(got ?? new Uint8Array()), 'passive v3.3');
    await until(o.h.sched, o.net.close());
    await o.esp.driver.dispose();
    o.h.sim.close();
  });

  for (const dialect of ['esp-at', 'nonos'] as const) {
    it(`${dialect}: AT+UART_CUR to 921600 (the OK at the old rate), then a host reset finds the rate by probing`, async () => {
      const pipe = { baudRate: 115200, garbleOnBaudMismatch: true };
      const o = await online({ dialect, pipe }, { targetBaudRate: 921600 });
      assert.equal(o.h.host.baudRate, 921600);
      assert.equal(o.h.sim.uart.baud, 921600);
      const server = await until(o.h.sched, o.h.netB.listen({ port: 8080 }));
      const acceptP = server.accept();
      const sock = await until(o.h.sched, o.net.connect('10.0.0.2:8080'));
      const peer = await until(o.h.sched, acceptP);
      await until(o.h.sched, sock.write('fast'));
      assert.equal(dec((await until(o.h.sched, peer.read())) ?? new Uint8Array()), 'fast');
      await o.esp.driver.dispose();
      // The host restarts at 115200 while the module runs on at 921600 with echo off and a link open.
      await o.h.host.setBaudRate(115200);
      const again = createEspAt({ stream: o.h.host, scheduler: o.h.sched, backend: { rng: new XorShiftRng(9) } });
      await until(o.h.sched, again.wifi.initialize(), 60_000);
      assert.equal(o.h.host.baudRate, 921600);
      assert.equal(again.module.state, 'ready');
      assert.deepEqual(again.module.dialect?.kind, dialect);
      await again.driver.dispose();
      o.h.sim.close();
    });
  }
});

describe('ESP-AT driver: a module left in passthrough by an earlier host', () => {
  for (const dialect of ['esp-at', 'nonos'] as const) {
    it(`${dialect}: +++ with guard times, AT+CIPMODE=0, the old link closed, then up as usual`, async () => {
      const h = await espHarness({ dialect, bootNoise: false });
      const cur = dialect === 'nonos' ? '_CUR' : '';
      await h.boot();
      await h.cmd(`AT+CWJAP${cur}="my\\,ssid","pa\\"ss"\r\n`);
      const server = await until(h.sched, h.netB.listen({ port: 8080 }));
      const acceptP = server.accept();
      await h.cmd('AT+CIPMODE=1\r\n');
      await h.cmd('AT+CIPSTART="TCP","10.0.0.2",8080\r\n');
      const peer = await until(h.sched, acceptP);
      h.send('AT+CIPSEND\r\n');
      await h.waitFor('>');
      h.take();
      const esp = createEspAt({ stream: h.host, scheduler: h.sched, backend: { rng: new XorShiftRng(5) } });
      await until(h.sched, esp.wifi.initialize(), 60_000);
      assert.equal(esp.module.state, 'ready');
      assert.equal(h.sim.cipmode, 0);
      assert.equal(h.sim.mux, true);
      // What the new host sent before the escape went to the peer as passthrough data.
      const junk = await until(h.sched, peer.read());
      assert.ok(junk === null || dec(junk).startsWith('AT'));
      await esp.driver.dispose();
      h.sim.close();
    });
  }
});

describe('ESP-AT driver against the simulator\'s send faults', () => {
  for (const dialect of ['esp-at', 'nonos'] as const) {
    it(`${dialect}: SEND FAIL then SEND OK, ERROR then SEND OK, missing SEND OK are sends; SEND FAIL breaks the stream; reboot at the data point`, async () => {
      const o = await online({ dialect });
      const server = await until(o.h.sched, o.h.netB.listen({ port: 8080 }));
      const acceptP = server.accept();
      const link = await until(o.h.sched, o.esp.driver.open(PEER));
      const peer = await until(o.h.sched, acceptP);
      const f = o.h.sim.faults;
      let expect = '';
      for (const kind of ['sendFailThenOk', 'errorThenSendOk', 'missingSendOk']) {
        f.arm(kind);
        assert.equal(await until(o.h.sched, o.esp.driver.send(link.id, enc(kind))), kind.length, kind);
        expect += kind;
      }
      assert.equal(o.esp.driver.stats.lateAcks, 3);
      let got = '';
      while (got.length < expect.length) got += dec((await until(o.h.sched, peer.read())) ?? new Uint8Array());
      assert.equal(got, expect);
      f.arm('sendFail');
      await assert.rejects(until(o.h.sched, o.esp.driver.send(link.id, enc('lost'))), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'send-fail');
      f.arm('reboot');
      await assert.rejects(until(o.h.sched, o.esp.driver.send(link.id, enc('rebooting'))), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'module-reset');
      await runFor(o.h.sched, 15_000);
      assert.equal(o.esp.module.state, 'ready');
      assert.equal(o.esp.wifi.status, 'got-ip');
      await o.esp.driver.dispose();
      o.h.sim.close();
    });
  }
});
