/**
 * MQTT through a cellular dial-up PPP link to mosquitto, across a registration loss (issue 8).
 *
 * The whole path over real serial and real network plumbing: the Quectel simulator on the master
 * of a pty pair, its data calls running our PPP server (`pppCarrier`) into a carrier userspace
 * stack with forwarding on, whose other interface is a TAP into the tier's network namespace
 * where mosquitto listens (10.99.52.1; the kernel routes the PPP pool 10.64.0.0/24 back through
 * the carrier). On the slave, serialport and our `CellularDialup`: 27.007 bring-up, `ATD*99***1#`,
 * PPP in the client role under a second userspace stack, whose `Network` carries our
 * `MqttClient`. A subscriber on the host stack sees what the broker got.
 *
 * The publisher sends numbered QoS 1 messages every 100 ms; in the middle the simulated network
 * drops the registration (NO CARRIER), and restores it 2 s later: the interface reports
 * `connecting` (no-carrier), redials once registered and reaches `global-up` again with the same
 * address, so TCP retransmits what the outage held up (or, had the keep-alive run out, the MQTT
 * client reconnects and re-sends). Every message must arrive (QoS 1 duplicates allowed and
 * counted), and every status change must have been reported. The time from the registration
 * coming back to the first delivery after it is printed.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { pppCarrier } from '../../src/apps/sim/ppp-carrier.ts';
import { QuectelSim } from '../../src/apps/sim/quectel/quectel-sim.ts';
import { CellularDialup } from '../../src/backends/cellular/cellular-dialup.ts';
import { createHostBackend } from '../../src/backends/host/index.ts';
import type { InterfaceStatusEvent } from '../../src/backends/interface-status.ts';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { MqttClient, type MqttMessage } from '../../src/clients/mqtt/index.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import { Network } from '../../src/socket/network.ts';
import { Stack } from '../../src/stack/stack.ts';
import { startAtModule } from '../support/at-module-env.ts';
import { sh, skipWithoutInterop, tapHost, type TapHost } from '../support/interop.ts';
import { skipWithoutMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.ts';
import { skipWithoutPty } from '../support/pty.ts';

const SUBNET = 52;
const PORT = 1883;
const N = 50;
const GAP_MS = 100;
const LOSE_AT = 20;
const OUTAGE_MS = 2000;
const BOUND_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function until(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('MQTT QoS 1 through the Quectel simulator\'s PPP data call to mosquitto survives a registration loss by redialling', { timeout: 180_000 }, async (t) => {
  if (skipWithoutInterop(t) || skipWithoutMosquitto(t) || skipWithoutPty(t, 'MQTT over cellular PPP')) return;

  // The operator network: a routing carrier stack on a TAP; mosquitto on the kernel side.
  const carrier: TapHost = tapHost({ subnet: SUBNET, stack: { forwarding: true } });
  cleanups.push(() => carrier.close());
  sh('ip', ['route', 'add', '10.64.0.0/24', 'via', carrier.stackIp]);
  const broker: Mosquitto = await startMosquitto({ listeners: [{ port: PORT, host: carrier.kernelIp }] });
  cleanups.push(() => broker.stop());
  const ppp = pppCarrier({ stack: carrier.stack, scheduler: systemScheduler, rng: new XorShiftRng(8), dnsServers: [carrier.kernelIp] });

  // The host side: a stack with no interface yet, its backend and network.
  const stack = new Stack({ rng: new XorShiftRng(81), name: 'cellular-host' });
  const runner = new StackRunner(stack);
  const backend = createUserspaceBackend(stack, runner, { rng: new XorShiftRng(82), connectTimeoutMs: 5000, dns: { servers: [] } });
  const statuses: InterfaceStatusEvent[] = [];
  let cell: CellularDialup | undefined;
  const env = await startAtModule({
    startSim(stream, network, scheduler) {
      const sim = new QuectelSim({ stream, scheduler, network, rng: new XorShiftRng(83), pdpAddress: '10.64.0.2', dataCall: ppp.handler, timing: { bootMs: 200 } });
      sim.powerOn();
      return sim;
    },
    async startDriver(stream, scheduler) {
      const c = new CellularDialup({ stream, scheduler, rng: new XorShiftRng(84), stack, dns: backend, apn: 'iot.test', redial: { firstMs: 500 } });
      cell = c;
      c.on('status', (e) => statuses.push(e));
      const t0 = Date.now();
      await c.connect();
      t.diagnostic(`dial-up connected in ${Date.now() - t0} ms: ${c.address ?? '?'} DNS ${c.dnsServers.join(',')}, IMEI ${c.imei ?? '?'}`);
      return {
        backend,
        async close() {
          await c.disconnect().catch(() => undefined);
          c.dispose();
          await backend.close();
          runner.close();
          stack.close();
        },
      };
    },
  }, new Network(createHostBackend()));
  cleanups.push(() => env.close());
  const dial = cell as CellularDialup;
  assert.equal(dial.status, 'global-up');
  assert.equal(dial.address, '10.64.0.2');
  assert.deepEqual(dial.dnsServers, [carrier.kernelIp]);

  // The subscriber on the kernel's stack, the publisher over PPP.
  const hostNet = new Network(createHostBackend());
  cleanups.push(() => hostNet.close());
  const options = { host: carrier.kernelIp, port: PORT, reconnect: { minDelayMs: 200, maxDelayMs: 1000 }, connectTimeoutMs: 5000 };
  const sub = await MqttClient.connect(hostNet, options);
  cleanups.push(() => sub.end());
  const got: MqttMessage[] = [];
  const gotAt: number[] = [];
  sub.on('message', (m) => {
    got.push(m);
    gotAt.push(Date.now());
  });
  const topic = `cell${process.pid}`;
  await sub.subscribe(`${topic}/#`, { qos: 1 });
  const pub = await MqttClient.connect(new Network(backend), { ...options, keepaliveSeconds: 10 });
  cleanups.push(() => pub.end(true));
  const events: string[] = [];
  pub.on('offline', () => events.push('offline'));
  pub.on('connect', (x) => events.push(`connect:${x.reconnect}`));

  const started = Date.now();
  let restoredAt = 0;
  const acked: Promise<void>[] = [];
  for (let i = 0; i < N; i++) {
    acked.push(pub.publish(`${topic}/m`, `seq-${i}`, { qos: 1 }));
    if (i === LOSE_AT) {
      (env.sim as QuectelSim).loseRegistration(2);
      setTimeout(() => {
        restoredAt = Date.now();
        (env.sim as QuectelSim).restoreRegistration();
      }, OUTAGE_MS);
    }
    await sleep(GAP_MS);
  }
  await Promise.all(acked);
  await until(() => new Set(got.map((m) => text(m.payload))).size >= N, 'every message at the subscriber', BOUND_MS);
  const keys = got.map((m) => text(m.payload));
  const distinct = new Set(keys);
  for (let i = 0; i < N; i++) assert.ok(distinct.has(`seq-${i}`), `seq-${i} arrived`);
  const firstAfter = gotAt.find((at) => at >= restoredAt);
  t.diagnostic(`${N} QoS 1 messages in ${Date.now() - started} ms, ${keys.length - distinct.size} duplicates; registration back -> first delivery ${firstAfter !== undefined ? firstAfter - restoredAt : '?'} ms; publisher ${events.join(' ')}; dial-up ${JSON.stringify(dial.stats)}; carrier ${JSON.stringify(ppp.stats)}`);
  const seq = statuses.map((s) => `${s.status}:${s.reason}`);
  t.diagnostic(`statuses: ${seq.join(' -> ')}`);
  assert.deepEqual(seq, ['connecting:dialling', 'global-up:ipcp-up', 'connecting:no-carrier', 'global-up:ipcp-up']);
  assert.equal(dial.stats.calls, 2);
  // The redialled call gets the same PDP address, so the broker's TCP connection usually survives
  // the outage (retransmissions resume once PPP is back) and the MQTT client need not reconnect;
  // when it did (a keep-alive ran out), the events above show it.
});
