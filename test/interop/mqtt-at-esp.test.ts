/**
 * MQTT QoS 1 through a simulated ESP-AT module to mosquitto, across a module crash (issue 7).
 *
 * The module end to end over a real serial line (`startAtModule`): `EspAtSim` on the master of a
 * pty pair carrying its sockets over the host stack, and on the slave serialport, the ESP-AT
 * driver (`createEspAt`, initialised and joined to the simulated AP) and the module socket
 * backend. Our `MqttClient` runs over a `Network` on that backend, to mosquitto in the tier's
 * network namespace; a second `MqttClient` on the host stack subscribes with QoS 1 first and
 * sees what the broker got.
 *
 * The module client publishes numbered QoS 1 messages; in the middle the simulated module
 * crashes (`wdt reset`): the driver reports the reset (the socket fails with `ECONNABORTED`
 * `module-reset`), initialises the module again and re-joins the AP; the client reconnects and
 * re-sends what was not acknowledged. Every number must reach the subscriber (duplicates are
 * allowed by QoS 1 and counted), with one crash and one reconnect, within a bound; once with a
 * `wdt reset` banner, once with a Guru Meditation panic (known to the driver only by the `ready`
 * after it). Another case crashes the module once half of a 20 KB publish crossed the serial line.
 * Both dialects (ESP-AT v2, NONOS 1.7). The time from the crash to the first delivery of a message
 * published after it is printed as a diagnostic.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EspAtSim } from '../../src/apps/sim/esp-at/esp-at-sim.ts';
import { createHostBackend } from '../../src/backends/host/index.ts';
import { createEspAt, type EspAt } from '../../src/backends/esp-at/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { MqttClient, type MqttMessage } from '../../src/clients/mqtt/index.ts';
import type { MqttClientOptions } from '../../src/clients/mqtt/mqtt-options.ts';
import { Network } from '../../src/socket/network.ts';
import { startAtModule, type AtModuleEnv, type AtModuleParts, type RunningDriver } from '../support/at-module-env.ts';
import { skipWithoutInterop } from '../support/interop.ts';
import { skipWithoutMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.ts';
import { skipWithoutPty } from '../support/pty.ts';

const PORT = 1883;
const AP = { ssid: 'iotnet-lab', password: 'mqtt-interop', bssid: '02:00:00:00:00:01', rssi: -48, channel: 6, ecn: 3 };
/** Messages of the stream case, and the gap between them. */
const N = 60;
const GAP_MS = 50;
const CRASH_AT = 30;
/** The whole case (publishing, crash, recovery, delivery) finishes within this. */
const BOUND_MS = 30_000;
const LARGE = 20 * 1024;

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `pred()` holds (polled), or fails after `ms`. */
async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

interface EspDriver extends RunningDriver {
  readonly esp: EspAt;
}

/** Bytes the module received from the host so far (counted after the simulator handled them), and a hook called with the total. */
interface RxTap {
  bytes: number;
  onBytes: ((total: number) => void) | undefined;
}

function parts(dialect: 'esp-at' | 'nonos', rx: RxTap): AtModuleParts<EspAtSim, EspDriver> {
  return {
    startSim(stream, network, scheduler) {
      const sim = new EspAtSim({
        stream, scheduler, network, rng: new XorShiftRng(7), dialect, aps: [AP],
        station: { ip: '127.0.0.1', gateway: '127.0.0.1', netmask: '255.0.0.0' },
        timing: { bootMs: 100, cwjapMs: 100 },
      });
      // Registered after the simulator's own listener: it sees each chunk once the module has.
      stream.onData((b) => {
        rx.bytes += b.length;
        rx.onBytes?.(rx.bytes);
      });
      sim.powerOn();
      return sim;
    },
    async startDriver(stream, scheduler) {
      const esp = createEspAt({ stream, scheduler, baudKnown: true, backend: { connectTimeoutMs: 3000 } });
      await esp.wifi.initialize();
      await esp.wifi.join({ ssid: AP.ssid, password: AP.password });
      return {
        esp,
        backend: esp.backend,
        async close() {
          await esp.backend.close();
        },
      };
    },
  };
}

let broker: Mosquitto | undefined;
let hostNetwork: Network | undefined;
let tagCounter = 0;
const tag = (): string => `esp${process.pid}x${++tagCounter}`;

before(() => {
  hostNetwork = new Network(createHostBackend());
});

after(async () => {
  await hostNetwork?.close();
  await broker?.stop();
});

async function needBroker(t: { skip(msg: string): void }): Promise<boolean> {
  if (skipWithoutInterop(t) || skipWithoutMosquitto(t) || skipWithoutPty(t, 'MQTT through the ESP-AT simulator')) return true;
  broker ??= await startMosquitto({ listeners: [{ port: PORT, host: '127.0.0.1' }] });
  return false;
}

const clientOptions = (extra: Partial<MqttClientOptions> = {}): MqttClientOptions => ({
  host: '127.0.0.1',
  port: PORT,
  reconnect: { minDelayMs: 200, maxDelayMs: 1000 },
  connectTimeoutMs: 10_000,
  ...extra,
});

/** One case's world: the module (sim + driver) and its network, the subscriber, the publisher with its event log. */
interface World {
  readonly env: AtModuleEnv<EspAtSim, EspDriver>;
  readonly moduleNet: Network;
  readonly sub: MqttClient;
  readonly got: MqttMessage[];
  /** When each message arrived at the subscriber (ms, Date.now()). */
  readonly gotAt: number[];
  readonly pub: MqttClient;
  readonly events: string[];
  readonly resets: string[];
  readonly rx: RxTap;
  close(): Promise<void>;
}

async function world(dialect: 'esp-at' | 'nonos', topic: string): Promise<World> {
  const sub = await MqttClient.connect(hostNetwork as Network, clientOptions());
  const got: MqttMessage[] = [];
  const gotAt: number[] = [];
  sub.on('message', (m) => {
    got.push(m);
    gotAt.push(Date.now());
  });
  assert.deepEqual((await sub.subscribe(`${topic}/#`, { qos: 1 })).map((g) => g.qos), [1]);
  const moduleNet = new Network(createHostBackend({ connectTimeoutMs: 10_000 }));
  const rx: RxTap = { bytes: 0, onBytes: undefined };
  const env = await startAtModule(parts(dialect, rx), moduleNet);
  const resets: string[] = [];
  env.driver.esp.module.onReset((r) => resets.push(r));
  const pub = await MqttClient.connect(new Network(env.backend), clientOptions({ keepaliveSeconds: 10 }));
  const events: string[] = [];
  const code = (e: Error | undefined): string => e === undefined ? 'none' : `${(e as { code?: string }).code ?? e.name}/${String((e as { detail?: { reason?: unknown } }).detail?.reason ?? e.message)}`;
  pub.on('offline', (o) => events.push(`offline:${code(o.error)}`));
  pub.on('connect', (x) => events.push(`connect:${x.reconnect}`));
  pub.on('error', (e) => events.push(`error:${code(e)}`));
  pub.on('reconnect', (r) => events.push(`reconnect:${r.attempt}`));
  return {
    env, moduleNet, sub, got, gotAt, pub, events, resets, rx,
    async close() {
      await pub.end(true);
      await sub.end();
      await env.close();
      await moduleNet.close();
    },
  };
}

/** Counts deliveries per payload key; returns the duplicates. */
function tally(keys: readonly string[]): { distinct: Set<string>; duplicates: number } {
  const distinct = new Set(keys);
  return { distinct, duplicates: keys.length - distinct.size };
}

for (const dialect of ['esp-at', 'nonos'] as const) {
  describe(`MQTT QoS 1 through the ESP-AT simulator (${dialect}) over a pty to mosquitto`, () => {
    // `wdt`: a banner the driver knows; `exception`: a Guru Meditation panic, known only by the `ready` after it.
    for (const reason of ['wdt', 'exception'] as const) {
      it(`${N} numbered QoS 1 publishes, the module crashes (${reason}) after #${CRASH_AT}: every one arrives, one reconnect`, async (t) => {
        if (await needBroker(t)) return;
        const topic = tag();
        const w = await world(dialect, topic);
        const sim = w.env.sim;
        const crashesBefore = sim.stats.crashes;
        const bootsBefore = sim.stats.boots;
        const started = Date.now();
        let crashedAt = 0;
        try {
          const acked: Promise<void>[] = [];
          for (let i = 0; i < N; i++) {
            acked.push(w.pub.publish(`${topic}/m`, `seq-${i}`, { qos: 1 }));
            if (i === CRASH_AT) {
              crashedAt = Date.now();
              sim.crash(reason);
            }
            await sleep(GAP_MS);
          }
          await Promise.all(acked);
          const seqs = (): string[] => w.got.map((m) => text(m.payload));
          await until(() => new Set(seqs()).size === N, `all ${N} sequence numbers at the subscriber`, BOUND_MS - (Date.now() - started));
          const { distinct, duplicates } = tally(seqs());
          for (let i = 0; i < N; i++) assert.ok(distinct.has(`seq-${i}`), `seq-${i} delivered`);
          const elapsed = Date.now() - started;
          assert.ok(elapsed < BOUND_MS, `finished in ${elapsed} ms`);
          assert.equal(sim.stats.crashes - crashesBefore, 1, 'one crash');
          assert.equal(sim.stats.boots - bootsBefore, 1, 'one boot after it');
          assert.deepEqual(w.resets, ['module-reset'], 'the driver saw one module reset');
          assert.ok(w.events.some((e) => e.startsWith('offline:')), `the client went offline: ${w.events.join(', ')}`);
          assert.equal(w.events.filter((e) => e === 'connect:true').length, 1, `reconnected once: ${w.events.join(', ')}`);
          // The first delivery after the crash of a message published after it: the recovery time.
          const firstAfter = w.gotAt.find((at, k) => at > crashedAt && Number(seqs()[k]?.slice(4)) > CRASH_AT);
          const recovery = firstAfter !== undefined ? firstAfter - crashedAt : undefined;
          t.diagnostic(`${N} QoS 1 publishes, ${w.got.length} deliveries (${duplicates} duplicates, allowed by QoS 1); ` +
            `crash to first delivery after it: ${recovery ?? '?'} ms; total ${elapsed} ms; ` +
            `module stats: resets ${w.env.driver.esp.module.stats.resets}, reinits ${w.env.driver.esp.module.stats.reinits}; events: ${w.events.join(', ')}`);
        } finally {
          await w.close();
        }
      });
    }

    it(`a ${LARGE / 1024} KB QoS 1 publish, the module crashes halfway through it: it arrives whole after the reconnect`, async (t) => {
      if (await needBroker(t)) return;
      const topic = tag();
      const w = await world(dialect, topic);
      const sim = w.env.sim;
      const crashesBefore = sim.stats.crashes;
      const started = Date.now();
      try {
        const big = new Uint8Array(LARGE);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
        await w.pub.publish(`${topic}/before`, 'before', { qos: 1 });
        const sentBefore = sim.stats.bytesToNetwork;
        // The module crashes once half of the PUBLISH (AT framing included) crossed the serial line.
        let crashedAt = 0;
        let sentAtCrash = 0;
        const rxBefore = w.rx.bytes;
        w.rx.onBytes = (total) => {
          if (total - rxBefore < LARGE / 2) return;
          w.rx.onBytes = undefined;
          crashedAt = Date.now();
          sentAtCrash = sim.stats.bytesToNetwork - sentBefore;
          sim.crash('wdt');
        };
        const acked = w.pub.publish(`${topic}/big`, big, { qos: 1 });
        await until(() => crashedAt > 0, 'half the large publish over the serial line');
        assert.ok(sentAtCrash < LARGE, `the crash came before the module had sent the whole publish (${sentAtCrash} bytes)`);
        const after = w.pub.publish(`${topic}/after`, 'after', { qos: 1 });
        await Promise.all([acked, after]);
        await until(() => w.got.some((m) => m.topic === `${topic}/big`) && w.got.some((m) => m.topic === `${topic}/after`), 'the large message and the one after it', BOUND_MS);
        const bigs = w.got.filter((m) => m.topic === `${topic}/big`);
        for (const m of bigs) assert.deepEqual(m.payload, big, 'the large payload arrived whole');
        assert.equal(sim.stats.crashes - crashesBefore, 1, 'one crash');
        assert.deepEqual(w.resets, ['module-reset']);
        assert.equal(w.events.filter((e) => e === 'connect:true').length, 1, `reconnected once: ${w.events.join(', ')}`);
        const k = w.got.findIndex((m) => m.topic === `${topic}/big`);
        const elapsed = Date.now() - started;
        assert.ok(elapsed < BOUND_MS, `finished in ${elapsed} ms`);
        t.diagnostic(`crash after ${LARGE / 2} bytes over the serial line, ${sentAtCrash} of ~${LARGE} passed on to the broker; the large message delivered ${bigs.length}x, ` +
          `${(w.gotAt[k] ?? 0) - crashedAt} ms after the crash; total ${elapsed} ms; events: ${w.events.join(', ')}`);
      } finally {
        await w.close();
      }
    });
  });
}
