/**
 * Issue 9's failover scenario on virtual time: an MQTT client publishes QoS 1 every 100 ms through
 * the policy `Mux` over three interfaces in order of preference: WiFi (ESP-AT simulator, its
 * sockets reaching the LAN through a userspace stack), Ethernet (userspace stack over a virtual
 * cable, static address) and cellular (Quectel simulator, PPP dial-up into a routing carrier). All
 * three reach one core stack running the aedes broker on 10.99.0.1.
 *
 * Script: at 5 s the simulated AP goes away (traffic moves to Ethernet); at 10 s the Ethernet cable
 * is cut (traffic moves to cellular); at 15 s both come back (traffic fails back, through Ethernet
 * while WiFi re-joins, to WiFi). Every QoS 1 message must reach the broker; the time from each
 * link loss to the first message delivered through the new interface is measured (goal < 2 s,
 * default mux settings: no probe, 3 s fail-back hold) and printed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Aedes, type Client } from 'aedes';
import { EspAtSim } from '../../src/apps/sim/esp-at/esp-at-sim.ts';
import { pppCarrier } from '../../src/apps/sim/ppp-carrier.ts';
import { QuectelSim } from '../../src/apps/sim/quectel/quectel-sim.ts';
import { createEspAt } from '../../src/backends/esp-at/index.ts';
import { Mux, type MuxSwitch } from '../../src/backends/mux/mux.ts';
import { CellularInterface } from '../../src/backends/netif/cellular-interface.ts';
import { EthernetInterface } from '../../src/backends/netif/ethernet-interface.ts';
import { WiFiInterface } from '../../src/backends/netif/wifi-interface.ts';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { VirtualScheduler } from '../../src/base/time.ts';
import { MqttClient } from '../../src/clients/mqtt/index.ts';
import { createBytePipe } from '../../src/link/byte-pipe.ts';
import { Loopback } from '../../src/link/loopback.ts';
import { createCable } from '../../src/link/virtual-cable.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { Network } from '../../src/socket/network.ts';
import { Stack } from '../../src/stack/stack.ts';
import { acceptEach, addHost, echoSocket, resolveOn, settle } from '../support/stack-net.ts';

const BROKER = '10.99.0.1';
const TOPIC = 'plant/line-1/counter';
const N = 250;
const AP = { ssid: 'plant-wifi', password: 'correct horse', bssid: 'aa:bb:cc:00:00:01', rssi: -50, channel: 6, ecn: 3 };

/** Which path a broker connection came in on, by the second octet of its source address. */
const PATHS: Record<string, string> = { 1: 'wlan0', 2: 'eth0', 64: 'cell0' };

describe('Mux failover: WiFi -> Ethernet -> cellular -> back to WiFi, MQTT QoS 1 every 100 ms', () => {
  it('every message reaches the broker; each failover delivers on the new interface within 2 s', { timeout: 300_000 }, async (t) => {
    const sched = new VirtualScheduler();
    const rng = (n: number): XorShiftRng => new XorShiftRng(900 + n);

    // The core: the broker's host, 10.99.0.1 on a loopback, one cable per path.
    const core = new Stack({ rng: rng(1), name: 'core' });
    core.addInterface(new Loopback(), { ipv4: { address: BROKER, prefixLen: 32 } });
    const coreNet = new Network(createUserspaceBackend(core, new StackRunner(core, { scheduler: sched }), { rng: rng(2) }), { scheduler: sched, rng: rng(3) });
    const broker = await Aedes.createBroker();
    const via = new Map<Client, string>();
    const delivered: { seq: number; at: number; path: string }[] = [];
    broker.on('publish', (packet, client) => {
      if (client === null || packet.topic !== TOPIC) return;
      delivered.push({ seq: Number(String(packet.payload).slice(4)), at: sched.now(), path: via.get(client) ?? '?' });
    });
    const listener = await resolveOn(sched, coreNet.listen({ port: 1883 }));
    acceptEach(listener, (s) => {
      const path = PATHS[s.remoteAddress.toString().split('.')[1] ?? ''] ?? '?';
      via.set(broker.handle(s.toDuplex()), path);
    });

    // WiFi: the ESP-AT module's sockets go out through the AP's LAN (a stack on a cable to the core).
    const [w0, w1] = createCable();
    core.addInterface(w0, { ipv4: { address: '10.1.0.1', prefixLen: 24 } });
    const lan = addHost(sched, w1, '10.1.0.2', 910, { iface: { gateway: '10.1.0.1' } });
    const lanNet = new Network(createUserspaceBackend(lan.stack, lan.runner, { rng: rng(4) }), { scheduler: sched, rng: rng(5) });
    const [espHost, espModule] = createBytePipe({ scheduler: sched, baudRate: 921_600, chunking: { rng: rng(6), min: 1, max: 128 } });
    const esp = new EspAtSim({
      stream: espModule, scheduler: sched, network: lanNet, rng: rng(7), dialect: 'esp-at', aps: [AP],
      station: { ip: '192.168.4.20', gateway: '192.168.4.1', netmask: '255.255.255.0' },
    });
    esp.powerOn();
    const wifi = new WiFiInterface({ esp: createEspAt({ stream: espHost, scheduler: sched, backend: { rng: rng(8) } }), credentials: { ssid: AP.ssid, password: AP.password } });

    // Ethernet: a cable to the core, static address.
    const [e0, e1] = createCable();
    core.addInterface(e0, { ipv4: { address: '10.2.0.1', prefixLen: 24 } });
    const eth = new EthernetInterface({ link: e1, scheduler: sched, rng: rng(9), ipv4: { address: '10.2.0.2', prefixLen: 24, gateway: '10.2.0.1' } });

    // Cellular: the Quectel simulator's data calls into a routing carrier on a cable to the core.
    const [c0, c1] = createCable();
    const coreToCarrier = core.addInterface(c0, { ipv4: { address: '10.3.0.1', prefixLen: 24 } });
    core.addRoute({ network: '10.64.0.0', prefixLen: 24, gateway: '10.3.0.2', ifIndex: coreToCarrier });
    const carrier = new Stack({ rng: rng(10), name: 'carrier', forwarding: true });
    carrier.addInterface(c1, { ipv4: { address: '10.3.0.2', prefixLen: 24 }, gateway: '10.3.0.1' });
    const carrierNet = new Network(createUserspaceBackend(carrier, new StackRunner(carrier, { scheduler: sched }), { rng: rng(11) }), { scheduler: sched, rng: rng(12) });
    const ppp = pppCarrier({ stack: carrier, scheduler: sched, rng: rng(13) });
    const [cellHost, cellModule] = createBytePipe({ scheduler: sched, baudRate: 921_600, chunking: { rng: rng(14), min: 1, max: 128 } });
    const quectel = new QuectelSim({ stream: cellModule, scheduler: sched, network: carrierNet, rng: rng(15), pdpAddress: '10.64.0.2', dataCall: ppp.handler });
    quectel.powerOn();
    const cell = new CellularInterface({ stream: cellHost, scheduler: sched, rng: rng(16), apn: 'iot.test' });

    await resolveOn(sched, Promise.all([wifi.connect(), eth.connect(), cell.connect()]), 600_000);
    assert.deepEqual([wifi.status, eth.status, cell.status], ['global-up', 'global-up', 'global-up']);

    const mux = new Mux({ interfaces: [wifi, eth, cell], scheduler: sched });
    const switches: MuxSwitch[] = [];
    mux.on('switch', (s) => switches.push(s));
    assert.equal(mux.current?.name, 'wlan0');
    const net = new Network(mux, { scheduler: sched, rng: rng(17) });
    const client = await resolveOn(sched, MqttClient.connect(net, {
      host: BROKER, port: 1883, scheduler: sched, reconnect: { minDelayMs: 200, maxDelayMs: 2000 }, connectTimeoutMs: 10_000,
    }), 60_000);

    const marks: Record<string, number> = {};
    const acked: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      acked.push(client.publish(TOPIC, `seq-${i}`, { qos: 1 }));
      if (i === 50) {
        marks.apLoss = sched.now();
        esp.apLoss();
      } else if (i === 100) {
        marks.ethCut = sched.now();
        e1.unplug();
      } else if (i === 150) {
        marks.restore = sched.now();
        esp.apRestore();
        e1.plug();
      }
      await settle(sched, 100);
    }
    await resolveOn(sched, Promise.all(acked), 120_000);

    const seqs = new Set(delivered.map((d) => d.seq));
    for (let i = 0; i < N; i++) assert.ok(seqs.has(i), `seq-${i} reached the broker`);
    const firstAfter = (from: number, path: string): { seq: number; at: number; path: string } | undefined => delivered.find((d) => d.at >= from && d.path === path);
    const toEth = firstAfter(marks.apLoss ?? 0, 'eth0');
    const toCell = firstAfter(marks.ethCut ?? 0, 'cell0');
    const backToWifi = firstAfter(marks.restore ?? 0, 'wlan0');
    assert.ok(toEth && toCell && backToWifi, JSON.stringify({ toEth, toCell, backToWifi }));
    const ethMs = Math.round(toEth.at - (marks.apLoss ?? 0));
    const cellMs = Math.round(toCell.at - (marks.ethCut ?? 0));
    const wifiMs = Math.round(backToWifi.at - (marks.restore ?? 0));
    t.diagnostic(`link loss -> first delivery on the new interface: AP lost -> eth0 ${ethMs} ms, cable cut -> cell0 ${cellMs} ms; restore -> back on wlan0 ${wifiMs} ms (includes the WiFi re-join and the 3 s fail-back hold)`);
    t.diagnostic(`switches: ${switches.map((s) => `${s.from ?? '-'}>${s.to ?? '-'} (${s.reason}) @${Math.round(s.at - (marks.apLoss ?? 0))} ms after the AP loss`).join(', ')}`);
    const runs = delivered.map((d) => d.path).filter((p, i, a) => i === 0 || a[i - 1] !== p);
    t.diagnostic(`${delivered.length} deliveries for ${N} messages (${delivered.length - seqs.size} QoS 1 duplicates); paths in order ${runs.join(' -> ')}`);
    assert.deepEqual(runs, ['wlan0', 'eth0', 'cell0', 'wlan0']);
    assert.ok(ethMs < 2000, `WiFi -> Ethernet in ${ethMs} ms (goal < 2 s)`);
    assert.ok(cellMs < 2000, `Ethernet -> cellular in ${cellMs} ms (goal < 2 s)`);
    assert.equal(mux.current?.name, 'wlan0', 'failed back to WiFi');
    assert.equal(delivered.at(-1)?.path, 'wlan0');

    await resolveOn(sched, client.end());
    await mux.close();
    await resolveOn(sched, Promise.all([wifi.close(), eth.close(), cell.close()]), 120_000);
    await new Promise<void>((r) => broker.close(() => r()));
  });
});

describe('Mux and interfaces over 100 failover cycles', () => {
  it('two Ethernet interfaces, the preferred cable cut and restored 100 times with a TCP exchange each: no sockets, PCBs or timers leak', { timeout: 300_000 }, async () => {
    const sched = new VirtualScheduler();
    const core = new Stack({ rng: new XorShiftRng(1), name: 'core' });
    core.addInterface(new Loopback(), { ipv4: { address: BROKER, prefixLen: 32 } });
    const coreNet = new Network(createUserspaceBackend(core, new StackRunner(core, { scheduler: sched }), { rng: new XorShiftRng(2) }), { scheduler: sched, rng: new XorShiftRng(3) });
    const listener = await resolveOn(sched, coreNet.listen({ port: 7 }));
    acceptEach(listener, echoSocket);
    const ends = [1, 2].map((n) => {
      const [a, b] = createCable();
      core.addInterface(a, { ipv4: { address: `10.${n}.0.1`, prefixLen: 24 } });
      return b;
    });
    const nifs = ends.map((link, i) => new EthernetInterface({
      link, scheduler: sched, rng: new XorShiftRng(10 + i), name: `eth${i}`, ipv4: { address: `10.${i + 1}.0.2`, prefixLen: 24, gateway: `10.${i + 1}.0.1` },
    }));
    await resolveOn(sched, Promise.all(nifs.map((n) => n.connect())));
    const mux = new Mux({ interfaces: nifs, scheduler: sched, failbackHoldMs: 500 });
    const net = new Network(mux, { scheduler: sched, rng: new XorShiftRng(4) });
    const exchange = async (): Promise<void> => {
      const s = await resolveOn(sched, net.connect(`${BROKER}:7`));
      await resolveOn(sched, s.write(new Uint8Array([1, 2, 3])));
      const r = await resolveOn(sched, s[Symbol.asyncIterator]().next());
      assert.equal(r.done, false);
      return void (await resolveOn(sched, s.close()));
    };
    await exchange();
    await settle(sched, 1000);
    const baseline = { timers: sched.pendingTimers(), pcbs: nifs.map((n) => n.stack.openSockets) };
    const switches: string[] = [];
    mux.on('switch', (s) => switches.push(`${s.from ?? '-'}>${s.to ?? '-'}`));
    for (let i = 0; i < 100; i++) {
      ends[0]?.unplug();
      await settle(sched, 10);
      await exchange();
      ends[0]?.plug();
      await settle(sched, 800);
      assert.equal(mux.current?.name, 'eth0', `cycle ${i}: failed back`);
      await exchange();
    }
    await settle(sched, 120_000); // TIME-WAITs and timers of the last exchanges run out
    assert.equal(switches.length, 200);
    assert.equal(mux.openSockets, 0);
    for (const n of nifs) assert.equal(n.backend.openSockets, 0, `${n.name}: sockets`);
    assert.deepEqual(nifs.map((n) => n.stack.openSockets), baseline.pcbs, 'PCBs back to the baseline');
    assert.ok(sched.pendingTimers() <= baseline.timers, `timers ${sched.pendingTimers()} <= ${baseline.timers}`);
    await resolveOn(sched, net.close());
    await mux.close();
    await resolveOn(sched, Promise.all(nifs.map((n) => n.close())));
  });
});
