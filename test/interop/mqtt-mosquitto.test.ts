/**
 * iotnet's MQTT client against mosquitto 2.0 (a real broker nobody on this project
 * wrote), started by the test inside the tier's network namespace, on two stacks: the
 * host stack (node:net, to 127.0.0.1) and the userspace stack over a TAP to the kernel
 * side of the namespace. Three listeners: plain and anonymous (1883), TLS demanding a
 * client certificate from the test CA, whose CN becomes the user name (8883), and plain
 * with a password file (1884).
 *
 * On each stack: MQTT 3.1.1 and 5, plain and mutual TLS, QoS 0/1/2 both ways and
 * retained messages; MQTT 5 properties; persistent sessions; the will; passwords right
 * and wrong; TLS without a client certificate refused; third-party clients
 * (mosquitto_pub/mosquitto_sub) on the other end. On the userspace stack: the
 * connection killed mid-stream by RSTs forged at the link layer during an outage, with
 * QoS 1 publishes made meanwhile all delivered.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createHostBackend } from '../../src/backends/host/index.ts';
import { MqttClient, MqttError, type MqttMessage } from '../../src/clients/mqtt/index.ts';
import type { MqttClientOptions } from '../../src/clients/mqtt/mqtt-options.ts';
import { isSocketError } from '../../src/base/socket-error.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import { Network } from '../../src/socket/network.ts';
import { interopUnavailable, Peers, run, skipWithoutInterop, tapHost, type TapHost } from '../support/interop.ts';
import { skipWithoutMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.ts';
import { TcpCutter } from '../support/tcp-cutter.ts';
import { createTestPki, type TestPki } from '../support/test-pki.ts';

const SUBNET = 49;
const PLAIN = 1883;
const MTLS = 8883;
const PASSWORD = 1884;
const USERS = { alice: 'correct horse battery staple', bob: 'x'.repeat(400) };

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Resolves when `pred()` holds (polled), or fails after `ms`. */
async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function inbox(c: MqttClient): MqttMessage[] {
  const got: MqttMessage[] = [];
  c.on('message', (m) => got.push(m));
  return got;
}

interface Target {
  readonly name: string;
  readonly network: Network;
  readonly brokerIp: string;
}

let pki: TestPki | undefined;
let broker: Mosquitto | undefined;
let tap: TapHost | undefined;
let cutter: TcpCutter | undefined;
let hostNetwork: Network | undefined;
const peers = new Peers();
let tagCounter = 0;
const tag = (): string => `t${process.pid}x${++tagCounter}`;

function targets(): Target[] {
  const out: Target[] = [];
  if (hostNetwork !== undefined) out.push({ name: 'host stack', network: hostNetwork, brokerIp: '127.0.0.1' });
  if (tap !== undefined) out.push({ name: 'userspace stack over TAP', network: tap.network, brokerIp: tap.kernelIp });
  return out;
}

before(async () => {
  if (interopUnavailable() !== undefined) return;
  const kernelIp = `10.99.${SUBNET}.1`;
  pki = await createTestPki({ serverSans: [kernelIp] });
  tap = tapHost({ subnet: SUBNET, wrap: (link) => (cutter = new TcpCutter(link, MTLS)) });
  hostNetwork = new Network(createHostBackend());
});

after(async () => {
  await hostNetwork?.close();
  await tap?.close();
  await broker?.stop();
  await peers.killAll();
  pki?.dispose();
});

/** Starts mosquitto once (for the first test that runs); true when the test must skip. */
async function needBroker(t: { skip(msg: string): void }): Promise<boolean> {
  if (skipWithoutInterop(t) || skipWithoutMosquitto(t)) return true;
  const p = pki as TestPki;
  broker ??= await startMosquitto({
    listeners: [
      { port: PLAIN },
      { port: MTLS, tls: { caFile: p.caFile, certFile: p.server.chainFile, keyFile: p.server.keyFile, requireCertificate: true, useIdentityAsUsername: true } },
      { port: PASSWORD, passwords: USERS },
    ],
  });
  return false;
}

function options(target: Target, secure: boolean, v: 4 | 5, extra: Partial<MqttClientOptions> = {}): MqttClientOptions {
  const p = pki as TestPki;
  return {
    host: target.brokerIp,
    port: secure ? MTLS : PLAIN,
    protocolVersion: v,
    reconnect: { minDelayMs: 100, maxDelayMs: 500 },
    ...(secure ? { tls: { ca: p.ca, cert: p.client.cert, key: p.client.key } } : {}),
    ...extra,
  };
}

describe('MQTT against mosquitto', () => {
  for (const which of ['host stack', 'userspace stack over TAP']) {
    for (const secure of [false, true]) {
      for (const v of [4, 5] as const) {
        it(`${which}, ${secure ? 'mutual TLS' : 'plain'}, MQTT ${v === 4 ? '3.1.1' : '5'}: QoS 0/1/2 both ways and retained messages`, async (t) => {
          if (await needBroker(t)) return;
          const target = targets().find((x) => x.name === which) as Target;
          const topic = tag();
          const a = await MqttClient.connect(target.network, options(target, secure, v));
          const b = await MqttClient.connect(target.network, options(target, secure, v));
          try {
            const atA = inbox(a);
            const atB = inbox(b);
            assert.deepEqual((await a.subscribe(`${topic}/a/#`, { qos: 2 })).map((g) => g.qos), [2]);
            assert.deepEqual((await b.subscribe(`${topic}/b/#`, { qos: 2 })).map((g) => g.qos), [2]);
            const payloads = [0, 1, 2].map(() => randomBytes(64));
            for (const q of [0, 1, 2] as const) {
              await a.publish(`${topic}/b/q${q}`, payloads[q] as Buffer, { qos: q });
              await b.publish(`${topic}/a/q${q}`, payloads[q] as Buffer, { qos: q });
            }
            await until(() => atA.length === 3 && atB.length === 3, 'three messages each way');
            for (const [inboxOf, dir] of [[atA, 'a'], [atB, 'b']] as const) {
              for (const q of [0, 1, 2] as const) {
                const m = inboxOf.find((x) => x.topic === `${topic}/${dir}/q${q}`);
                assert.ok(m !== undefined, `${dir} q${q} arrived`);
                assert.equal(m.qos, q);
                assert.equal(m.retain, false);
                assert.deepEqual(Buffer.from(m.payload), payloads[q]);
              }
            }
            // Retained: stored by the broker, handed to a later subscriber with retain set.
            await a.publish(`${topic}/keep`, 'kept', { qos: 1, retain: true });
            const late = await MqttClient.connect(target.network, options(target, secure, v));
            const atLate = inbox(late);
            await late.subscribe(`${topic}/keep`, { qos: 1 });
            await until(() => atLate.length === 1, 'the retained message');
            assert.equal(atLate[0]?.retain, true);
            assert.equal(text(atLate[0]?.payload ?? new Uint8Array()), 'kept');
            await a.publish(`${topic}/keep`, '', { qos: 1, retain: true }); // clears it
            await late.end();
          } finally {
            await a.end();
            await b.end();
          }
        });
      }
    }

    it(`${which}: MQTT 5 properties (user properties, content type, message expiry) pass through`, async (t) => {
      if (await needBroker(t)) return;
      const target = targets().find((x) => x.name === which) as Target;
      const topic = tag();
      const c = await MqttClient.connect(target.network, options(target, true, 5));
      try {
        const got = inbox(c);
        await c.subscribe(`${topic}/p`, { qos: 1 });
        await c.publish(`${topic}/p`, '{"t":21.5}', {
          qos: 1,
          properties: { contentType: 'application/json', userProperties: { site: 'lab', n: '7' }, messageExpiryInterval: 60 },
        });
        await until(() => got.length === 1, 'the message');
        const props = got[0]?.packet.properties;
        assert.equal(props?.contentType, 'application/json');
        assert.deepEqual({ ...props?.userProperties }, { site: 'lab', n: '7' });
        assert.ok((props?.messageExpiryInterval ?? 0) > 0 && (props?.messageExpiryInterval ?? 99) <= 60);
      } finally {
        await c.end();
      }
    });

    for (const v of [4, 5] as const) {
      it(`${which}, MQTT ${v === 4 ? '3.1.1' : '5'}: a persistent session keeps the subscription and QoS 1 messages sent while away`, async (t) => {
        if (await needBroker(t)) return;
        const target = targets().find((x) => x.name === which) as Target;
        const topic = tag();
        const clientId = `persist-${topic}`;
        const session = { clientId, clean: false, ...(v === 5 ? { sessionExpirySeconds: 300 } : {}) };
        const first = await MqttClient.connect(target.network, options(target, false, v, session));
        await first.subscribe(`${topic}/#`, { qos: 1 });
        await first.end();
        const pub = await MqttClient.connect(target.network, options(target, false, v));
        for (let i = 0; i < 5; i++) await pub.publish(`${topic}/m`, `m${i}`, { qos: 1 });
        await pub.end();
        const second = await MqttClient.connect(target.network, options(target, false, v, session));
        let present: boolean | undefined;
        const got = inbox(second);
        second.on('connect', (c) => (present = c.sessionPresent));
        try {
          await until(() => got.length === 5, 'the five queued messages');
          assert.deepEqual(got.map((m) => text(m.payload)), ['m0', 'm1', 'm2', 'm3', 'm4']);
          assert.ok(present === undefined || present, 'sessionPresent');
          assert.equal(second.mqtt.options.clean, false);
        } finally {
          await second.end();
          // Drop the session: a clean connect with the same id.
          const cleanup = await MqttClient.connect(target.network, options(target, false, v, { clientId }));
          await cleanup.end();
        }
      });
    }

    it(`${which}: the will is published when the client vanishes without DISCONNECT`, async (t) => {
      if (await needBroker(t)) return;
      const target = targets().find((x) => x.name === which) as Target;
      const topic = tag();
      const watcher = await MqttClient.connect(target.network, options(target, true, 5));
      const got = inbox(watcher);
      await watcher.subscribe(`${topic}/status`, { qos: 1 });
      const dying = await MqttClient.connect(target.network, options(target, true, 5, {
        will: { topic: `${topic}/status`, payload: 'offline', qos: 1, retain: false },
        reconnect: false,
      }));
      await dying.end(true); // the socket goes, no DISCONNECT
      try {
        await until(() => got.length === 1, 'the will');
        assert.equal(text(got[0]?.payload ?? new Uint8Array()), 'offline');
      } finally {
        await watcher.end();
      }
    });

    for (const v of [4, 5] as const) {
      it(`${which}, MQTT ${v === 4 ? '3.1.1' : '5'}: mosquitto checks the password: right accepted, wrong refused with a typed error`, async (t) => {
        if (await needBroker(t)) return;
        const target = targets().find((x) => x.name === which) as Target;
        for (const [user, pw] of Object.entries(USERS)) {
          const ok = await MqttClient.connect(target.network, { ...options(target, false, v), port: PASSWORD, username: user, password: pw });
          await ok.publish(`${tag()}/x`, 'hi', { qos: 1 });
          await ok.end();
        }
        const bad = await MqttClient.connect(target.network, { ...options(target, false, v), port: PASSWORD, username: 'alice', password: 'wrong', reconnect: false })
          .then(() => undefined, (e: unknown) => e);
        assert.ok(bad instanceof MqttError, `refused with an MqttError, got ${String(bad)}`);
        assert.equal(bad.reason, 'refused');
        // 3.1.1: 4 (bad user name or password) or 5 (not authorised); 5: 0x86 or 0x87.
        assert.ok(v === 4 ? [4, 5].includes(bad.reasonCode ?? -1) : [0x86, 0x87].includes(bad.reasonCode ?? -1), `reason code ${bad.reasonCode}`);
      });
    }

    it(`${which}: TLS without a client certificate, or with an untrusted one, is refused with a typed error`, async (t) => {
      if (await needBroker(t)) return;
      const target = targets().find((x) => x.name === which) as Target;
      const p = pki as TestPki;
      for (const tls of [{ ca: p.ca }, { ca: p.ca, cert: p.untrustedClient.cert, key: p.untrustedClient.key }]) {
        const e = await MqttClient.connect(target.network, { ...options(target, true, 4), tls, reconnect: false }).then(() => undefined, (x: unknown) => x);
        assert.ok(isSocketError(e), `a SocketError, got ${String(e)}`);
        assert.ok(['ECONNREFUSED', 'ECONNRESET'].includes(e.code), `code ${e.code}`);
        assert.match(String(e.detail.reason), /^tls-/);
      }
      // And the server is verified: a CA we do not hold is an untrusted server.
      const untrusted = await MqttClient.connect(target.network, { ...options(target, true, 4), tls: { ca: p.untrustedCa.cert, cert: p.client.cert, key: p.client.key }, reconnect: false })
        .then(() => undefined, (x: unknown) => x);
      assert.ok(isSocketError(untrusted, 'ECONNABORTED'));
      assert.equal(untrusted.detail.reason, 'tls-untrusted');
    });

    it(`${which}: third-party clients on the other end (mosquitto_sub and mosquitto_pub, MQTT 5, QoS 2)`, async (t) => {
      if (await needBroker(t)) return;
      const target = targets().find((x) => x.name === which) as Target;
      const topic = tag();
      const sub = peers.spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(PLAIN), '-V', 'mqttv5', '-q', '2', '-t', `${topic}/to-them`, '-C', '3', '-v']);
      const c = await MqttClient.connect(target.network, options(target, false, 5));
      try {
        const got = inbox(c);
        await c.subscribe(`${topic}/to-us`, { qos: 2 });
        // mosquitto_sub has no "subscribed" signal: publish until it has all three.
        const closed = new Promise((r) => sub.once('close', r));
        let i = 0;
        while (sub.exitCode === null && i < 200) {
          await c.publish(`${topic}/to-them`, `n${i++}`, { qos: 2 });
          await Promise.race([closed, new Promise((r) => setTimeout(r, 50))]);
        }
        assert.equal(sub.exitCode, 0, sub.out());
        assert.match(sub.out(), new RegExp(`${topic}/to-them n\\d+\\n.*\\n.*\\n`));
        const pub = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(PLAIN), '-V', 'mqttv5', '-q', '2', '-t', `${topic}/to-us`, '-m', 'from mosquitto_pub']);
        assert.equal(pub.code, 0, pub.out);
        await until(() => got.length === 1, 'the message from mosquitto_pub');
        assert.equal(text(got[0]?.payload ?? new Uint8Array()), 'from mosquitto_pub');
        assert.equal(got[0]?.qos, 2);
      } finally {
        await c.end();
      }
    });
  }

  it('userspace stack over TAP, mutual TLS, MQTT 5: RSTs forged at the link layer mid-stream during an outage; every QoS 1 publish arrives', async (t) => {
    if (await needBroker(t)) return;
    const target = targets().find((x) => x.name === 'userspace stack over TAP') as Target;
    const hostTarget = targets().find((x) => x.name === 'host stack') as Target;
    const c = cutter as TcpCutter;
    const topic = tag();
    // The subscriber is on the host stack: it sees what the broker got.
    const sub = await MqttClient.connect(hostTarget.network, options(hostTarget, false, 5));
    const got = inbox(sub);
    await sub.subscribe(`${topic}/#`, { qos: 1 });
    const pub = await MqttClient.connect(target.network, options(target, true, 5, { keepaliveSeconds: 5 }));
    const events: string[] = [];
    pub.on('offline', (o) => events.push(`offline:${o.error instanceof Error ? (o.error as { code?: string }).code ?? o.error.message : 'none'}`));
    pub.on('connect', (x) => events.push(`connect:${x.reconnect}`));
    pub.on('error', (e) => events.push(`error:${(e as { code?: string }).code ?? e.message}`));
    pub.on('reconnect', (r) => events.push(`reconnect:${r.attempt}`));
    const N = 300;
    const acked: Promise<void>[] = [];
    try {
      for (let i = 0; i < N; i++) {
        acked.push(pub.publish(`${topic}/m`, `m${i}`, { qos: 1 }));
        if (i === 100) {
          c.blocked = true;
          assert.equal(c.cut(systemScheduler.now()), 1, 'one live connection to cut');
          c.blocked = true;
        }
        if (i === 200) setTimeout(() => (c.blocked = false), 1500);
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      await until(() => !c.blocked, 'the outage to end', 5000);
      await Promise.all(acked);
      await until(() => new Set(got.map((m) => text(m.payload))).size === N, `all ${N} messages at the subscriber`, 20_000);
      const seen = new Set(got.map((m) => text(m.payload)));
      for (let i = 0; i < N; i++) assert.ok(seen.has(`m${i}`), `m${i} delivered`);
      assert.ok(events.some((e) => e === 'offline:ECONNRESET'), `the forged RST reset the client: ${events.join(', ')}`);
      assert.ok(events.includes('connect:true'), `reconnected: ${events.join(', ')}`);
      t.diagnostic(`${N} QoS 1 publishes, ${got.length} deliveries (${got.length - N} duplicates, allowed by QoS 1); events: ${events.join(', ')}`);
    } finally {
      c.blocked = false;
      await pub.end();
      await sub.end();
    }
  });
});
