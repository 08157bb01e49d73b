// The ESP-AT Wi-Fi face and module control against the scripted fake module: +CWJAP codes, leave,
// an unrequested WIFI DISCONNECT and the re-join, netInfo, scan per firmware, open forms and abort,
// server limits, a closed stream, an unresponsive module, a silent reboot found through garbage,
// and refusals while the module is not ready.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSocketError } from '../../../../src/base/socket-error.ts';
import { createEspAt } from '../../../../src/backends/esp-at/index.ts';
import { FakeEsp, rig, runFor, until, type Rig } from './fake-esp.test.ts';

const OK = '\r\nOK\r\n';
const tcp = { kind: 'tcp' as const, af: 1 as const, remote: { address: new Uint8Array([192, 168, 3, 102]), port: 8080 }, localPort: 0, keepAliveS: 0 };

async function withLink(r: Rig): Promise<number> {
  return (await until(r.fake.sched, r.driver.open(tcp))).id;
}

describe('ESP-AT Wi-Fi face', () => {
  for (const [code, iot, reason] of [
    [1, 'ETIMEDOUT', 'wifi-timeout'],
    [3, 'EHOSTNOTFOUND', 'wifi-ap-not-found'],
    [4, 'ERROR', 'wifi-join-failed'],
  ] as const) {
    it(`+CWJAP:${code} → ${iot} ${reason}`, async () => {
      const r = await rig({ dialect: 'esp-at', join: false });
      r.fake.on(/^AT\+CWJAP=/, `+CWJAP:${code}\r\n\r\nERROR\r\n`);
      await assert.rejects(until(r.fake.sched, r.wifi.join({ ssid: 'lab', password: 'secret12' })), (e) => isSocketError(e, iot) && e.detail.reason === reason);
      await r.driver.dispose();
    });
  }

  it('a plain ERROR to AT+CIPSTART while the station has no address is no-network, not a refusal', async () => {
    const r = await rig({ dialect: 'nonos', join: false });
    r.fake.on(/^AT\+CIPSTART=/, '\r\nERROR\r\n');
    await assert.rejects(until(r.fake.sched, r.driver.open(tcp)), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'no-network');
    await r.driver.dispose();
  });

  it('leave: requested disconnect, links reported lost (wifi-left), status idle', async () => {
    const r = await rig({ dialect: 'esp-at' });
    await withLink(r);
    const seen: string[] = [];
    r.wifi.on('disconnected', (e) => seen.push(`disconnected requested=${e.requested}`));
    await until(r.fake.sched, r.wifi.leave());
    await runFor(r.fake.sched, 50);
    assert.equal(r.wifi.status, 'idle');
    assert.deepEqual(seen, ['disconnected requested=true']);
    const lost = r.log.find((e) => e.kind === 'lost');
    assert.ok(lost?.kind === 'lost' && lost.error.detail.reason === 'wifi-left');
    assert.equal(r.driver.localAddress(1), undefined);
    await r.driver.dispose();
  });

  it('unrequested WIFI DISCONNECT: connecting, lost wifi-lost, back by itself; else re-joined after rejoinAfterMs', async () => {
    const r = await rig({ dialect: 'nonos', esp: { wifi: { rejoinAfterMs: 10_000, rejoinBackoffMs: [0] } } });
    await withLink(r);
    r.fake.links.clear();
    r.fake.send('WIFI DISCONNECT\r\n');
    await runFor(r.fake.sched, 50);
    assert.equal(r.wifi.status, 'connecting');
    const lost = r.log.filter((e) => e.kind === 'lost');
    assert.ok(lost.length === 1 && lost[0]?.kind === 'lost' && isSocketError(lost[0].error, 'ECONNABORTED') && lost[0].error.detail.reason === 'wifi-lost');
    assert.ok(r.fake.commands.includes('AT+CIPCLOSE=0'), 'the link id is made sure free');
    const before = r.fake.commands.length;
    r.fake.send('WIFI CONNECTED\r\nWIFI GOT IP\r\n');
    await runFor(r.fake.sched, 50);
    assert.equal(r.wifi.status, 'got-ip');
    assert.deepEqual(r.fake.since(before), ['AT+CIPSTA_CUR?'], 'address refreshed after the automatic reconnect');
    r.fake.send('WIFI DISCONNECT\r\n');
    await runFor(r.fake.sched, 9_000);
    assert.equal(r.fake.commands.filter((c) => c.startsWith('AT+CWJAP_CUR=')).length, 1);
    await runFor(r.fake.sched, 2_000);
    assert.equal(r.fake.commands.filter((c) => c.startsWith('AT+CWJAP_CUR=')).length, 2);
    assert.equal(r.wifi.status, 'got-ip');
    await r.driver.dispose();
  });

  it('netInfo: ip, gateway, netmask, dns, mac, rssi', async () => {
    const r = await rig({ dialect: 'esp-at' });
    r.fake.on('AT+CIPDNS?', `+CIPDNS:1,"208.67.222.222","8.8.8.8"\r\n${OK}`);
    r.fake.on('AT+CIFSR', `+CIFSR:STAIP,"192.168.3.112"\r\n+CIFSR:STAMAC,"24:0A:C4:00:00:01"\r\n${OK}`);
    r.fake.on('AT+CWJAP?', `+CWJAP:"lab","aa:bb:cc:dd:ee:ff",6,-58,0,0,0,0,0\r\n${OK}`);
    const n = await until(r.fake.sched, r.wifi.netInfo());
    assert.deepEqual(n, {
      ip: new Uint8Array([192, 168, 3, 112]),
      gateway: new Uint8Array([192, 168, 3, 1]),
      netmask: new Uint8Array([255, 255, 255, 0]),
      dns: [new Uint8Array([208, 67, 222, 222]), new Uint8Array([8, 8, 8, 8])],
      mac: '24:0a:c4:00:00:01',
      ssid: 'lab',
      bssid: 'aa:bb:cc:dd:ee:ff',
      channel: 6,
      rssi: -58,
    });
    await r.driver.dispose();
  });

  it('scan: CWLAPOPT where the firmware has it (not on NONOS 1.5, whose 7-field lines parse too)', async () => {
    const r = await rig({ dialect: 'nonos', join: false, gmr: 'AT version:1.5.0.0(Jul 15 2016 11:00:00)\r\nSDK version:2.0.0\r\nOK\r\n' });
    assert.equal(r.driver.pull, false, 'no passive mode before 1.7');
    r.fake.on('AT+CWLAP', `+CWLAP:(4,"home",-61,"aa:bb:cc:dd:ee:01",11,-3,0)\r\n${OK}`);
    const aps = await until(r.fake.sched, r.wifi.scan());
    assert.deepEqual(aps, [{ ssid: 'home', bssid: 'aa:bb:cc:dd:ee:01', rssi: -61, channel: 11, security: 'wpa-wpa2' }]);
    assert.ok(!r.fake.commands.some((c) => c.startsWith('AT+CWLAPOPT')));
    await r.driver.dispose();
  });
});

describe('ESP-AT socket driver: forms and limits', () => {
  it('open forms: TCP keep-alive, SSL, connected UDP with a local port; IPv6 refused', async () => {
    const r = await rig({ dialect: 'esp-at' });
    await until(r.fake.sched, r.driver.open({ ...tcp, keepAliveS: 60 }));
    await until(r.fake.sched, r.driver.open({ ...tcp, kind: 'ssl', remote: { ...tcp.remote, port: 8883 } }));
    const u = await until(r.fake.sched, r.driver.open({ ...tcp, kind: 'udp', localPort: 6000 }));
    assert.deepEqual(u, { id: 2, localPort: 6000 });
    assert.deepEqual(r.fake.commands.filter((c) => c.startsWith('AT+CIPSTART')), [
      'AT+CIPSTART=0,"TCP","192.168.3.102",8080,60',
      'AT+CIPSTART=1,"SSL","192.168.3.102",8883',
      'AT+CIPSTART=2,"UDP","192.168.3.102",8080,6000,0',
    ]);
    await assert.rejects(r.driver.open({ ...tcp, af: 2, remote: { address: new Uint8Array(16), port: 1 } }), (e) => isSocketError(e, 'ENOTSUP'));
    await r.driver.dispose();
  });

  it('all five ids in use → ENOMEM; listen: same port EADDRINUSE, another port ENOTSUP', async () => {
    const r = await rig({ dialect: 'esp-at' });
    for (let i = 0; i < 5; i++) await withLink(r);
    await assert.rejects(until(r.fake.sched, r.driver.open(tcp)), (e) => isSocketError(e, 'ENOMEM'));
    await until(r.fake.sched, r.driver.listen(80, 3));
    assert.ok(r.fake.commands.includes('AT+CIPSERVERMAXCONN=3'));
    await assert.rejects(r.driver.listen(80, 3), (e) => isSocketError(e, 'EADDRINUSE'));
    await assert.rejects(r.driver.listen(81, 3), (e) => isSocketError(e, 'ENOTSUP'));
    await until(r.fake.sched, r.driver.unlisten(80));
    assert.ok(r.fake.commands.includes('AT+CIPSERVER=0'));
    await r.driver.dispose();
  });

  it('an aborted open: rejected at once; the link the module opened late is closed', async () => {
    const r = await rig({ dialect: 'esp-at' });
    r.fake.on(/^AT\+CIPSTART=0,/, () => {
      r.fake.sched.setTimer(3000, () => {
        r.fake.links.set(0, { type: 'TCP', ip: '192.168.3.102', rport: 8080, lport: 1, server: false, buf: [], noticed: false, closedPending: false });
        r.fake.send(`0,CONNECT\r\n${OK}`);
      });
      return null;
    });
    const ac = new AbortController();
    const p = r.driver.open(tcp, ac.signal);
    r.fake.sched.setTimer(1000, () => ac.abort());
    await assert.rejects(until(r.fake.sched, p), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'aborted');
    await runFor(r.fake.sched, 5000);
    assert.ok(r.fake.commands.includes('AT+CIPCLOSE=0'));
    assert.equal(r.fake.links.size, 0);
    assert.equal((await until(r.fake.sched, r.driver.open(tcp))).id, 0);
    await r.driver.dispose();
  });
});

describe('ESP-AT module control', () => {
  it('refuses work before initialise (module-not-ready) and after dispose (closed)', async () => {
    const fake = new FakeEsp({ dialect: 'esp-at' });
    const esp = createEspAt({ stream: fake.host, scheduler: fake.sched });
    await assert.rejects(esp.driver.open(tcp), (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'module-not-ready');
    await until(fake.sched, esp.wifi.initialize());
    fake.mute = true;
    const pending = esp.driver.lookup('example.com', 1);
    await runFor(fake.sched, 10);
    await esp.driver.dispose();
    await assert.rejects(pending, (e) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'closed');
    await assert.rejects(esp.driver.send(0, new Uint8Array(1)), (e) => isSocketError(e, 'ENOTCONN'));
  });

  it('no module at all: initialise rejects after probing every rate, without hanging', async () => {
    const fake = new FakeEsp({ dialect: 'esp-at' });
    fake.mute = true;
    const esp = createEspAt({ stream: fake.host, scheduler: fake.sched, probeBaudRates: [115200, 9600] });
    const t0 = fake.sched.now();
    await assert.rejects(until(fake.sched, esp.wifi.initialize()), (e) => isSocketError(e, 'ETIMEDOUT') && e.detail.op === 'initialize');
    assert.ok(fake.sched.now() - t0 < 10_000);
    assert.equal(esp.module.state, 'down');
    await esp.driver.dispose();
  });

  it('the stream closes: lost with stream-closed, pending work rejects', async () => {
    const r = await rig({ dialect: 'esp-at' });
    await withLink(r);
    r.fake.mute = true;
    const pending = r.driver.send(0, new Uint8Array([1, 2, 3]));
    await runFor(r.fake.sched, 10);
    r.fake.dev.close();
    await assert.rejects(until(r.fake.sched, pending), (e) => isSocketError(e, 'ECONNABORTED'));
    const lost = r.log.find((e) => e.kind === 'lost');
    assert.ok(lost?.kind === 'lost' && lost.error.detail.reason === 'stream-closed');
    assert.equal(r.module.state, 'closed');
  });

  it('a module that stops answering: resync fails, lost module-unresponsive, re-initialised once it answers again', async () => {
    const r = await rig({ dialect: 'esp-at', esp: { reinitBackoffMs: [2000] } });
    await withLink(r);
    r.fake.mute = true;
    const l = until(r.fake.sched, r.driver.lookup('example.com', 1));
    assert.equal(await l, -8, 'ETIMEDOUT');
    await runFor(r.fake.sched, 100);
    const lost = r.log.find((e) => e.kind === 'lost');
    assert.ok(lost?.kind === 'lost' && lost.error.detail.reason === 'module-unresponsive');
    assert.equal(r.module.state, 'resetting', 'waiting out the back-off');
    r.fake.mute = false;
    await runFor(r.fake.sched, 30_000);
    assert.equal(r.module.state, 'ready');
    assert.equal(r.wifi.status, 'got-ip');
    await r.driver.dispose();
  });

  it('garbage while up, then a module that forgot CIPMUX=1: a silent reboot, handled as a reset', async () => {
    const r = await rig({ dialect: 'nonos' });
    await withLink(r);
    r.fake.links.clear();
    r.fake.mux = 0;
    r.fake.echo = false;
    r.fake.send('\r\n\x8a\xf3\x12\xfe\x80\xff\r\n');
    await runFor(r.fake.sched, 5000);
    const lost = r.log.find((e) => e.kind === 'lost');
    assert.ok(lost?.kind === 'lost' && lost.error.detail.reason === 'module-reset');
    assert.equal(r.module.stats.garbageLines, 1);
    assert.equal(r.module.state, 'ready');
    assert.equal(r.fake.mux, 1);
    assert.equal(r.wifi.status, 'got-ip');
    await r.driver.dispose();
  });
});
