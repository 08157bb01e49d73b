// WiFiInterface against the ESP-AT simulator on virtual time (the module's links go over a
// userspace stack to a peer at 10.0.0.2): status sequences with reasons, the AP lost and back, a
// module crash, bad credentials (Mbed's rules, +CWJAP reasons), credentials copied at call time,
// scan, the connect/disconnect rules, AbortSignal, repeated cycles without leaks, and TCP through
// the module's socket backend.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { isSocketError } from '../../../../src/base/socket-error.ts';
import { createEspAt, type EspAt } from '../../../../src/backends/esp-at/index.ts';
import type { EspAp } from '../../../../src/apps/sim/esp-at/esp-wifi-model.ts';
import { WiFiInterface, type WiFiInterfaceOptions } from '../../../../src/backends/netif/wifi-interface.ts';
import { Network } from '../../../../src/socket/network.ts';
import { espHarness, OTHER_AP, STATION, type Harness } from '../../apps/sim/esp-at-harness.ts';
import { dec, runFor, until } from '../esp-at/fake-esp.test.ts';

const HOME: EspAp = { ssid: 'home-net', password: 'correct horse', bssid: 'aa:bb:cc:dd:ee:03', rssi: -48, channel: 1, ecn: 3 };

interface Rig {
  h: Harness;
  esp: EspAt;
  wifi: WiFiInterface;
  statuses: string[];
  links: string[];
}

async function rig(seed: number, opts: Partial<WiFiInterfaceOptions> = {}): Promise<Rig> {
  const h = await espHarness({ seed, aps: [HOME, OTHER_AP], station: { ...STATION, dns: ['10.0.0.53'], mac: '5c:cf:7f:00:00:01' } });
  const esp = createEspAt({ stream: h.host, scheduler: h.sched, backend: { rng: new XorShiftRng(seed + 1) } });
  h.sim.powerOn();
  const wifi = new WiFiInterface({ esp, ...opts });
  const statuses: string[] = [];
  const links: string[] = [];
  wifi.on('status', (e) => statuses.push(`${e.status}:${e.reason}`));
  wifi.on('link', (e) => links.push(`${e.up ? 'up' : 'down'}:${e.reason}`));
  return { h, esp, wifi, statuses, links };
}

async function shut(r: Rig): Promise<void> {
  await until(r.h.sched, r.wifi.close());
  await r.esp.driver.dispose();
  await r.esp.module.close();
  r.h.sim.close();
}

const rejectsWith = (code: string, reason?: string) => (e: unknown): boolean =>
  isSocketError(e, code as never) && (reason === undefined || e.detail.reason === reason);

describe('WiFiInterface over the ESP-AT simulator', () => {
  it('connect: connecting -> global-up with address, DNS, MAC, RSSI; TCP to the peer; disconnect leaves the AP', async () => {
    const r = await rig(31);
    const { wifi, h } = r;
    assert.equal(wifi.name, 'wlan0');
    assert.equal(wifi.kind, 'wifi');
    assert.equal(wifi.status, 'disconnected');
    assert.equal(wifi.rssi, 0);
    await until(h.sched, wifi.connect({ ssid: HOME.ssid, password: HOME.password, security: 'wpa2' }));
    assert.deepEqual(r.statuses, ['connecting:joining', 'global-up:got-ip']);
    assert.deepEqual(r.links, ['up:associated']);
    assert.deepEqual(wifi.addresses, { ipv4: '10.0.0.1', prefixLen: 24, gateway: '10.0.0.254', ipv6: [], dnsServers: ['10.0.0.53'] });
    assert.equal(wifi.mac, '5c:cf:7f:00:00:01');
    assert.equal(wifi.rssi, HOME.rssi);
    assert.equal(await until(h.sched, wifi.readRssi()), HOME.rssi);
    assert.equal(wifi.ssid, HOME.ssid);

    const net = new Network(wifi.backend, { scheduler: h.sched, rng: new XorShiftRng(5) });
    const server = await until(h.sched, h.netB.listen({ port: 8080 }));
    const accepted = server.accept();
    const sock = await until(h.sched, net.connect('10.0.0.2:8080'));
    const peer = await until(h.sched, accepted);
    await until(h.sched, sock.write('hello over wifi'));
    assert.equal(dec((await until(h.sched, peer.read())) ?? new Uint8Array()), 'hello over wifi');
    await until(h.sched, peer.write('and back'));
    assert.equal(dec((await until(h.sched, sock.read())) ?? new Uint8Array()), 'and back');
    await until(h.sched, sock.close());
    await until(h.sched, net.close());

    await until(h.sched, wifi.disconnect());
    assert.deepEqual(r.statuses, ['connecting:joining', 'global-up:got-ip', 'disconnected:disconnect']);
    assert.deepEqual(r.links, ['up:associated', 'down:left']);
    assert.equal(r.esp.wifi.status, 'idle');
    assert.equal(h.sim.wifi.state === 2, false, 'the module left the AP');
    assert.equal(wifi.rssi, 0);
    assert.equal(wifi.addresses.ipv4, undefined);
    await shut(r);
  });

  it('the AP lost while up: link down, connecting (wifi-lost); back: global-up by the module reconnecting', async () => {
    const r = await rig(32, { credentials: { ssid: HOME.ssid, password: HOME.password } });
    const { wifi, h } = r;
    await until(h.sched, wifi.connect());
    h.sim.apLoss();
    await runFor(h.sched, 100);
    assert.equal(wifi.status, 'connecting');
    assert.equal(wifi.linkUp, false);
    assert.equal(wifi.rssi, 0);
    assert.equal(wifi.addresses.ipv4, undefined);
    await runFor(h.sched, 10_000);
    assert.equal(wifi.status, 'connecting');
    h.sim.apRestore();
    await runFor(h.sched, 3000);
    assert.equal(wifi.status, 'global-up');
    assert.equal(wifi.addresses.ipv4, '10.0.0.1');
    assert.deepEqual(r.statuses, ['connecting:joining', 'global-up:got-ip', 'connecting:wifi-lost', 'global-up:got-ip']);
    assert.deepEqual(r.links, ['up:associated', 'down:wifi-lost', 'up:associated']);
    await until(h.sched, wifi.disconnect());
    await shut(r);
  });

  it('a module crash while up: connecting (module-reset), re-initialised and re-joined: global-up', async () => {
    const r = await rig(33, { credentials: { ssid: HOME.ssid, password: HOME.password } });
    const { wifi, h } = r;
    await until(h.sched, wifi.connect());
    h.sim.crash('wdt');
    await runFor(h.sched, 20_000);
    assert.equal(wifi.status, 'global-up');
    assert.deepEqual(r.statuses, ['connecting:joining', 'global-up:got-ip', 'connecting:module-reset', 'global-up:got-ip']);
    await until(h.sched, wifi.disconnect());
    await shut(r);
  });

  it('bad credentials: Mbed rules (EINVAL) at call time, wrong password and unknown SSID from +CWJAP', async () => {
    const r = await rig(34);
    const { wifi, h } = r;
    assert.throws(() => wifi.setCredentials('', 'whatever1'), rejectsWith('EINVAL', 'ssid-empty'));
    assert.throws(() => wifi.setCredentials('x'.repeat(33), 'whatever1'), rejectsWith('EINVAL', 'ssid-length'));
    assert.throws(() => wifi.setCredentials('net', 'short7!', 'wpa2'), rejectsWith('EINVAL', 'passphrase-length'));
    assert.throws(() => wifi.setCredentials('net', 'x'.repeat(64), 'wpa2'), rejectsWith('EINVAL', 'passphrase-length'));
    assert.throws(() => wifi.setCredentials('net', 'x'.repeat(64)), rejectsWith('EINVAL', 'passphrase-length'));
    assert.throws(() => wifi.setCredentials('net', 'password', 'open'), rejectsWith('EINVAL', 'open-with-password'));
    wifi.setCredentials('net', 'x'.repeat(63), 'wpa2');
    wifi.setCredentials('net', 'x'.repeat(8));
    await assert.rejects(wifi.connect({ ssid: '' }), rejectsWith('EINVAL', 'ssid-empty'));
    assert.equal(wifi.status, 'disconnected');
    assert.deepEqual(r.statuses, []);

    await assert.rejects(until(h.sched, wifi.connect({ ssid: HOME.ssid, password: 'wrong password' })), rejectsWith('ECONNREFUSED', 'wifi-auth-failure'));
    assert.equal(wifi.status, 'disconnected');
    assert.deepEqual(r.statuses, ['connecting:joining', 'disconnected:wifi-auth-failure']);
    await assert.rejects(until(h.sched, wifi.connect({ ssid: 'nowhere', password: 'whatever1' })), rejectsWith('EHOSTNOTFOUND', 'wifi-ap-not-found'));
    assert.equal(r.statuses.at(-1), 'disconnected:wifi-ap-not-found');
    assert.equal(r.esp.wifi.status, 'idle');
    await runFor(h.sched, 60_000);
    assert.equal(r.esp.wifi.status, 'idle', 'nothing re-joins after a failed connect');
    await shut(r);
  });

  it('credentials are copied at call time (the caller\'s object changed afterwards changes nothing)', async () => {
    const r = await rig(35);
    const { wifi, h } = r;
    const creds: { ssid: string; password: string } = { ssid: HOME.ssid, password: HOME.password };
    const p = wifi.connect(creds);
    creds.password = 'something else';
    creds.ssid = 'nowhere';
    await until(h.sched, p);
    assert.equal(wifi.status, 'global-up');
    assert.equal(wifi.ssid, HOME.ssid);
    await until(h.sched, wifi.disconnect());
    // Constructor credentials too.
    const init = { ssid: HOME.ssid, password: HOME.password };
    const r2 = await rig(36, { credentials: init });
    init.password = 'wrong password';
    await until(r2.h.sched, r2.wifi.connect());
    assert.equal(r2.wifi.status, 'global-up');
    // Credentials of a refused connect() are not kept.
    await assert.rejects(r2.wifi.connect({ ssid: 'other', password: 'whatever1' }), rejectsWith('EISCONN'));
    assert.equal(r2.wifi.ssid, HOME.ssid);
    await until(r2.h.sched, r2.wifi.disconnect());
    await shut(r);
    await shut(r2);
  });

  it('scan: the APs in range with SSID, BSSID, RSSI, channel, security (module initialised on demand)', async () => {
    const r = await rig(37);
    const aps = await until(r.h.sched, r.wifi.scan());
    assert.deepEqual(
      aps.map((a) => [a.ssid, a.bssid, a.rssi, a.channel, a.security]).sort(),
      [
        [HOME.ssid, HOME.bssid, HOME.rssi, HOME.channel, 'wpa2'],
        [OTHER_AP.ssid, OTHER_AP.bssid, OTHER_AP.rssi, OTHER_AP.channel, 'open'],
      ].sort(),
    );
    assert.equal(r.wifi.status, 'disconnected');
    await shut(r);
  });

  it('rules: ENOTCONN, EALREADY, EISCONN, EAGAIN while disconnecting, disconnect during connect, AbortSignal, no SSID', async () => {
    const r = await rig(38);
    const { wifi, h } = r;
    await assert.rejects(wifi.connect(), rejectsWith('EINVAL', 'no-ssid'));
    await assert.rejects(wifi.disconnect(), rejectsWith('ENOTCONN'));
    wifi.setCredentials(HOME.ssid, HOME.password);
    const p = wifi.connect();
    await assert.rejects(wifi.connect(), rejectsWith('EALREADY'));
    await until(h.sched, p);
    await assert.rejects(wifi.connect(), rejectsWith('EISCONN'));
    const d = wifi.disconnect();
    const busyConnect = wifi.connect();
    const busyDisconnect = wifi.disconnect();
    await assert.rejects(busyConnect, rejectsWith('EAGAIN'));
    await assert.rejects(busyDisconnect, rejectsWith('EAGAIN'));
    await until(h.sched, d);
    assert.equal(wifi.status, 'disconnected');

    // disconnect() while the join runs: connect rejects ECONNABORTED, the module leaves.
    const c2 = wifi.connect();
    await runFor(h.sched, 500);
    assert.equal(wifi.status, 'connecting');
    const d2 = wifi.disconnect();
    await assert.rejects(until(h.sched, c2), rejectsWith('ECONNABORTED'));
    await until(h.sched, d2);
    await runFor(h.sched, 5000);
    assert.equal(wifi.status, 'disconnected');
    assert.equal(r.esp.wifi.status, 'idle');
    assert.notEqual(h.sim.wifi.state, 2);

    const ac = new AbortController();
    const c3 = wifi.connect({ signal: ac.signal });
    await runFor(h.sched, 500);
    ac.abort();
    await assert.rejects(until(h.sched, c3), rejectsWith('ECONNABORTED', 'aborted'));
    await runFor(h.sched, 5000);
    assert.equal(wifi.status, 'disconnected');
    assert.equal(r.esp.wifi.status, 'idle');
    await until(h.sched, wifi.connect());
    assert.equal(wifi.status, 'global-up');
    await until(h.sched, wifi.disconnect());
    await shut(r);
  });

  it('5 connect/disconnect cycles with a socket each: no leaked timers, sockets or links', async () => {
    const r = await rig(39, { credentials: { ssid: HOME.ssid, password: HOME.password } });
    const { wifi, h } = r;
    const net = new Network(wifi.backend, { scheduler: h.sched, rng: new XorShiftRng(6) });
    const server = await until(h.sched, h.netB.listen({ port: 9000 }));
    let baseline: number | undefined;
    // Cycle 0 warms up (the harness's own stacks still hold timers from their set-up then).
    for (let i = 0; i < 7; i++) {
      await until(h.sched, wifi.connect());
      const accepted = server.accept();
      const s = await until(h.sched, net.connect('10.0.0.2:9000'));
      const peer = await until(h.sched, accepted);
      await until(h.sched, s.write(`cycle ${i}`));
      assert.equal(dec((await until(h.sched, peer.read())) ?? new Uint8Array()), `cycle ${i}`);
      await until(h.sched, s.close());
      await until(h.sched, peer.close());
      await until(h.sched, wifi.disconnect());
      await runFor(h.sched, 120_000);
      assert.equal(wifi.backend.openSockets, 0);
      assert.equal(wifi.backend.openLinks, 0);
      const timers = h.sched.pendingTimers();
      if (i === 1) baseline = timers;
      else if (i > 1) assert.equal(timers, baseline, `cycle ${i}`);
    }
    assert.equal(r.statuses.filter((s) => s === 'global-up:got-ip').length, 7);
    assert.equal(r.statuses.filter((s) => s === 'disconnected:disconnect').length, 7);
    await until(h.sched, net.close());
    await shut(r);
  });
});
