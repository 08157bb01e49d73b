/**
 * Every cloud preset, unchanged, against mosquitto 2.0 set up to demand that service's
 * authentication form, on the host stack and on the userspace stack over a TAP:
 *
 * - the presets keep their real host names and ports (`{prefix}-ats.iot.{region}.amazonaws.com`
 *   on 8883 and 443, `myhub.azure-devices.net`, `{org}.messaging.internetofthings.ibmcloud.com`,
 *   ...); dnsmasq in the namespace answers them: with 127.0.0.1 for the host stack (the
 *   host backend's `dnsServers`), with the kernel's side of the TAP for the userspace
 *   stack (its DNS resolver);
 * - mosquitto's server certificate (test PKI) carries those names, trusted through the
 *   presets' `tls.ca`;
 * - AWS IoT Core: mutual TLS, the certificate's CN (the thing name) as the user name, an
 *   ACL per thing; 443 with the ALPN protocol `x-amzn-mqtt-ca` in the ClientHello (seen
 *   by tshark capturing live on lo or the TAP; mosquitto 2.0.11 selects no ALPN
 *   protocol). Azure IoT Hub: the user name and SAS token in mosquitto's password file
 *   (the token computed here independently, for the presets' fixed clock), a token
 *   renewed on reconnect when mosquitto reloads a rotated password file; the X.509 form
 *   with client certificates.
 *   JWT broker (Cloud IoT Core style): RS256 and ES256 JWTs, checked independently, in the
 *   password file. Watson IoT: `use-token-auth` and the device token. Paho options: a
 *   `ssl://` server URI, user name and password, a will;
 * - each device publishes and receives on its service's topic names, with a scripted
 *   service client on a plain listener (127.0.0.1:1883) on the other side (the shadow
 *   service, the hub's twin, methods and cloud-to-device messages, configs and commands);
 * - a wrong credential (another key's token, an expired token, an untrusted certificate)
 *   is refused with a typed error: MqttError `refused` with the CONNACK code, or the TLS
 *   SocketError. mosquitto compares passwords; it does not read tokens, so an "expired"
 *   token is refused because it is not the one in the password file.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createHostBackend } from '../../src/backends/host/index.ts';
import { isSocketError } from '../../src/base/socket-error.ts';
import {
  awsIotCore, awsShadowTopics, azureIotHub, jwtBroker, pahoOptions, parseAwsShadowTopic, parseAzurePropertyBag, watsonIot,
  type JwtBrokerPreset,
} from '../../src/clients/cloud/index.ts';
import { MqttClient, MqttError, type MqttMessage } from '../../src/clients/mqtt/index.ts';
import type { MqttClientOptions } from '../../src/clients/mqtt/mqtt-options.ts';
import { Network } from '../../src/socket/network.ts';
import { interopUnavailable, Peers, skipWithoutInterop, tapHost, type TapHost } from '../support/interop.ts';
import { skipWithoutMosquitto, startMosquitto, type Mosquitto, type MosquittoListener } from '../support/mosquitto.ts';
import { skipWithoutTool } from '../support/system-tool.ts';
import { createTestPki, type TestPki } from '../support/test-pki.ts';

const SUBNET = 50;
const KERNEL_IP = `10.99.${SUBNET}.1`;
/** The service side: plain, anonymous, no ACL, on 127.0.0.1 only. */
const SERVICE_PORT = 1883;
/** The presets' clock (tokens carry absolute times; mosquitto's password file holds the tokens of this instant). */
const NOW = Math.floor(Date.now() / 1000) * 1000;

const AWS_ACCOUNT = { accountPrefix: 'a1b2c3d4e5f6g7', region: 'eu-west-1' };
const AWS_ENDPOINT = 'a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com';
const AZURE_HOST = 'myhub.azure-devices.net';
const JWT_HOST = 'mqtt.googleapis.com';
const WATSON_ORG = 'abc123';
const WATSON_HOST = `${WATSON_ORG}.messaging.internetofthings.ibmcloud.com`;
const PAHO_HOST = 'mqtt.example.com';
const NAMES = [AWS_ENDPOINT, AZURE_HOST, JWT_HOST, WATSON_HOST, PAHO_HOST];

type StackId = 'host' | 'tap';
const STACKS: ReadonlyArray<{ readonly id: StackId; readonly label: string }> = [
  { id: 'host', label: 'host stack' },
  { id: 'tap', label: 'userspace stack over TAP' },
];
const RECONNECT_FAST = { minDelayMs: 100, maxDelayMs: 500 } as const;

// Identities, one per stack where the service allows several.
const thingOf = (s: StackId): string => `thing-${s}`;
const azureDeviceOf = (s: StackId): string => `sensor-${s}`;
const x509DeviceOf = (s: StackId): string => `x509-${s}`;
const azureKeyOf = (device: string): string => createHash('sha256').update(`iotnet test key of ${device}`).digest('base64');
const azureUserOf = (device: string): string => `${AZURE_HOST}/${device}/?api-version=2021-04-12`;

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const json = (b: Uint8Array): Record<string, unknown> => JSON.parse(text(b)) as Record<string, unknown>;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Messages of a client, taken out one by one as the test waits for them. */
class Inbox {
  readonly pending: MqttMessage[] = [];
  constructor(client: MqttClient) {
    client.on('message', (m) => this.pending.push(m));
  }

  async take(pred: (m: MqttMessage) => boolean, what: string, ms = 10_000): Promise<MqttMessage> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.pending.findIndex(pred);
      if (i >= 0) return this.pending.splice(i, 1)[0] as MqttMessage;
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}; pending: ${this.pending.map((m) => m.topic).join(', ') || 'none'}`);
      await sleep(10);
    }
  }

  on(topic: string, ms?: number): Promise<MqttMessage> {
    return this.take((m) => m.topic === topic, topic, ms);
  }
}

/** An SAS token made here from the IoT Hub documentation, not by the preset. */
function expectedSas(device: string, expirySeconds: number): string {
  const sr = encodeURIComponent(`${AZURE_HOST}/devices/${device}`);
  const sig = createHmac('sha256', Buffer.from(azureKeyOf(device), 'base64')).update(`${sr}\n${expirySeconds}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expirySeconds}`;
}

/** Checks a JWT with the public key (header, signature) and returns its claims. */
function verifiedJwt(token: string, publicKey: KeyObject, alg: 'RS256' | 'ES256'): Record<string, unknown> {
  const [h, c, s] = token.split('.');
  assert.ok(h !== undefined && c !== undefined && s !== undefined && token.split('.').length === 3, 'three JWT parts');
  assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString('utf8')), { alg, typ: 'JWT' });
  const key = alg === 'ES256' ? { key: publicKey, dsaEncoding: 'ieee-p1363' as const } : publicKey;
  assert.ok(verify('sha256', Buffer.from(`${h}.${c}`), key, Buffer.from(s, 'base64url')), `the ${alg} signature verifies`);
  return JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function assertRefused(e: unknown, v: 4 | 5 = 4): void {
  assert.ok(e instanceof MqttError, `refused with an MqttError, got ${String(e)}`);
  assert.equal(e.reason, 'refused');
  // 3.1.1: 4 (bad user name or password) or 5 (not authorised); 5: 0x86 or 0x87.
  assert.ok(v === 4 ? [4, 5].includes(e.reasonCode ?? -1) : [0x86, 0x87].includes(e.reasonCode ?? -1), `reason code ${e.reasonCode}`);
}

function assertTlsRefused(e: unknown): void {
  assert.ok(isSocketError(e), `a SocketError, got ${String(e)}`);
  assert.ok(['ECONNREFUSED', 'ECONNRESET'].includes(e.code), `code ${e.code}`);
  assert.match(String(e.detail.reason), /^tls-/);
}

/** What `connect` rejected with (a client that connected after all is closed, and undefined returned). */
async function failureOf(network: Network, options: MqttClientOptions): Promise<unknown> {
  return MqttClient.connect(network, { ...options, reconnect: false }).then(async (c) => {
    await c.end();
    return undefined;
  }, (e: unknown) => e);
}

let pki: TestPki | undefined;
let tap: TapHost | undefined;
let hostNetwork: Network | undefined;
let dnsReady: Promise<void> | undefined;
let dnsLogs: { lo: { out(): string }; tap: { out(): string } } | undefined;
let rsaKeys: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
let ecKeys: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
const peers = new Peers();
const workDir = mkdtempSync(join(tmpdir(), 'iotnet-cloud-'));
let seq = 0;
const tag = (): string => `t${process.pid}x${++seq}`;

before(async () => {
  if (interopUnavailable() !== undefined) return;
  pki = await createTestPki({
    serverSans: [...NAMES, KERNEL_IP],
    clientNames: STACKS.flatMap((s) => [thingOf(s.id), x509DeviceOf(s.id)]),
  });
  tap = tapHost({ subnet: SUBNET });
  tap.backend.setDnsServers([KERNEL_IP]);
  hostNetwork = new Network(createHostBackend({ dnsServers: ['127.0.0.1'] }));
  rsaKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  ecKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
});

after(async () => {
  await hostNetwork?.close();
  await tap?.close();
  await peers.killAll();
  pki?.dispose();
  rmSync(workDir, { recursive: true, force: true });
});

function networkOf(s: StackId): Network {
  return (s === 'host' ? hostNetwork : tap?.network) as Network;
}

/** dnsmasq: one on 127.0.0.1 answering the preset names with 127.0.0.1, one on the TAP answering with the kernel's address there. */
function startDns(): Promise<void> {
  const args = (listen: string, answer: string, name: string): string[] => [
    '--no-daemon', '--conf-file=/dev/null', '-u', 'root', `--pid-file=${join(workDir, `${name}.pid`)}`,
    `--listen-address=${listen}`, '--bind-interfaces', '--no-resolv', '--no-hosts', '--log-queries',
    ...NAMES.map((n) => `--host-record=${n},${answer}`),
  ];
  return (async () => {
    const lo = peers.spawn('dnsmasq', args('127.0.0.1', '127.0.0.1', 'dns-lo'));
    const onTap = peers.spawn('dnsmasq', args(KERNEL_IP, KERNEL_IP, 'dns-tap'));
    await peers.waitFor(lo, /started, version/);
    await peers.waitFor(onTap, /started, version/);
    dnsLogs = { lo, tap: onTap };
  })();
}
/** true (the test was skipped loudly) when the interop tier, mosquitto or dnsmasq is missing. */
async function needWorld(t: { skip(msg: string): void }): Promise<boolean> {
  if (skipWithoutInterop(t) || skipWithoutMosquitto(t) || skipWithoutTool(t, 'dnsmasq', 'dnsmasq', 'the cloud presets against mosquitto (names through DNS)')) return true;
  dnsReady ??= startDns();
  await dnsReady;
  return false;
}

/** One mosquitto per authentication form: the service listener plus the preset's. */
class Broker {
  #broker: Mosquitto | undefined;
  readonly #listeners: () => MosquittoListener[];

  constructor(listeners: () => MosquittoListener[]) {
    this.#listeners = listeners;
  }

  /** Starts the broker (first call); true when the test must skip. */
  async need(t: { skip(msg: string): void }): Promise<boolean> {
    if (await needWorld(t)) return true;
    this.#broker ??= await startMosquitto({ listeners: [{ port: SERVICE_PORT, host: '127.0.0.1' }, ...this.#listeners()] });
    return false;
  }

  get mosquitto(): Mosquitto {
    return this.#broker as Mosquitto;
  }

  /** A client of the service side (the cloud's half of each exchange), on the host stack. */
  service(v: 4 | 5 = 4): Promise<MqttClient> {
    return MqttClient.connect(hostNetwork as Network, { host: '127.0.0.1', port: SERVICE_PORT, protocolVersion: v, clientId: `service-${tag()}`, reconnect: false });
  }

  /** Asserts mosquitto logged a connection with this client id and user name (its log may trail the CONNACK a little). */
  async assertConnected(clientId: string, user: string): Promise<void> {
    const re = new RegExp(`New client connected from \\S+ as ${escapeRe(clientId)} \\(p[25], c[01], k\\d+, u'${escapeRe(user)}'\\)`);
    const end = Date.now() + 3000;
    while (!re.test(this.mosquitto.log()) && Date.now() < end) await sleep(10);
    assert.match(this.mosquitto.log(), re);
  }

  async stop(): Promise<void> {
    await this.#broker?.stop();
    this.#broker = undefined;
  }
}

const tlsFiles = (p: TestPki): { caFile: string; certFile: string; keyFile: string } => ({ caFile: p.caFile, certFile: p.server.chainFile, keyFile: p.server.keyFile });

/**
 * Runs tshark on `iface` (live, one line per packet to `port`), waits until it sees
 * our probes (a TCP connect from `network` to `probeHost`, so the capture is known to
 * be running), runs `body`, and returns the ClientHellos seen: SNI and the ALPN list.
 */
async function clientHellos(iface: string, network: Network, probeHost: string, port: number, body: () => Promise<void>): Promise<Array<{ sni: string; alpn: string }>> {
  const cap = peers.spawn('tshark', ['-i', iface, '-f', `tcp port ${port}`, '-l', '-T', 'fields', '-E', 'separator=|',
    '-e', 'tcp.flags.syn', '-e', 'tls.handshake.type', '-e', 'tls.handshake.extensions_server_name', '-e', 'tls.handshake.extensions_alpn_str']);
  const hellos = (): Array<{ sni: string; alpn: string }> => cap.out().split('\n').map((l) => l.split('|'))
    .filter((f) => f.length === 4 && (f[1] ?? '').split(',').includes('1')).map((f) => ({ sni: f[2] ?? '', alpn: f[3] ?? '' }));
  try {
    await peers.waitFor(cap, /Capturing on/);
    for (let i = 0; !/^(1|True)\|/m.test(cap.out()); i++) {
      if (i === 100) assert.fail(`tshark saw none of our probes: ${cap.out()}`);
      const probe = await network.connect({ host: probeHost, port });
      await probe.close();
      await sleep(50);
    }
    await body();
    const end = Date.now() + 5000;
    while (hellos().length === 0 && Date.now() < end) await sleep(20);
    return hellos();
  } finally {
    const closed = new Promise((r) => cap.once('close', r));
    cap.kill('SIGTERM');
    await closed;
  }
}

describe('the preset host names resolve through dnsmasq', () => {
  for (const s of STACKS) {
    it(`${s.label}: every preset host name resolves to the broker`, async (t) => {
      if (await needWorld(t)) return;
      const want = s.id === 'host' ? '127.0.0.1' : KERNEL_IP;
      for (const name of NAMES) assert.equal(await networkOf(s.id).lookup(name, { family: 4 }), want, name);
      const log = (): string => (s.id === 'host' ? dnsLogs?.lo.out() : dnsLogs?.tap.out()) ?? '';
      const from = s.id === 'host' ? '127.0.0.1' : (tap as TapHost).stackIp;
      const queried = (name: string): RegExp => new RegExp(`query\\[A\\] ${escapeRe(name)} from ${escapeRe(from)}`);
      // dnsmasq's log lines reach us through a pipe, possibly after its answers did.
      const end = Date.now() + 5000;
      while (!NAMES.every((name) => queried(name).test(log())) && Date.now() < end) await sleep(20);
      for (const name of NAMES) assert.match(log(), queried(name));
    });
  }
});

// ---------------------------------------------------------------------------------------
// AWS IoT Core: mutual TLS on 8883 and on 443 with ALPN; the Device Shadow service.

/**
 * A small Device Shadow service: answers `update` (accepted with the version, or rejected
 * for bad JSON, then a delta when desired and reported differ) and `get` (accepted with
 * the document, rejected 404 before the first update). `desire()` sets desired state as
 * an application would.
 */
async function shadowService(svc: MqttClient): Promise<{ seen: string[]; desire(thing: string, desired: Record<string, unknown>): Promise<void> }> {
  const docs = new Map<string, { reported: Record<string, unknown>; desired: Record<string, unknown>; version: number }>();
  const seen: string[] = [];
  const docOf = (prefix: string): { reported: Record<string, unknown>; desired: Record<string, unknown>; version: number } => {
    let d = docs.get(prefix);
    if (d === undefined) docs.set(prefix, (d = { reported: {}, desired: {}, version: 0 }));
    return d;
  };
  const deltaOf = (d: { reported: Record<string, unknown>; desired: Record<string, unknown> }): Record<string, unknown> =>
    Object.fromEntries(Object.entries(d.desired).filter(([k, v]) => JSON.stringify(d.reported[k]) !== JSON.stringify(v)));
  const sendDelta = async (topics: ReturnType<typeof awsShadowTopics>, d: { reported: Record<string, unknown>; desired: Record<string, unknown>; version: number }): Promise<void> => {
    const delta = deltaOf(d);
    if (Object.keys(delta).length > 0) await svc.publish(topics.updateDelta, JSON.stringify({ state: delta, version: d.version, timestamp: Math.floor(NOW / 1000) }), { qos: 1 });
  };
  svc.on('message', (m) => {
    seen.push(m.topic);
    const p = parseAwsShadowTopic(m.topic);
    if (p === undefined || p.result !== undefined) return;
    const topics = awsShadowTopics(p.thingName, p.shadowName);
    const d = docOf(topics.prefix);
    void (async () => {
      let req: { state?: { reported?: Record<string, unknown>; desired?: Record<string, unknown> }; clientToken?: string } = {};
      try {
        if (m.payload.length > 0) req = JSON.parse(text(m.payload)) as typeof req;
      } catch {
        const rejected = p.operation === 'update' ? topics.updateRejected : topics.getRejected;
        await svc.publish(rejected, JSON.stringify({ code: 400, message: 'Payload contains invalid json' }), { qos: 1 });
        return;
      }
      const token = req.clientToken !== undefined ? { clientToken: req.clientToken } : {};
      if (p.operation === 'update') {
        Object.assign(d.reported, req.state?.reported ?? {});
        Object.assign(d.desired, req.state?.desired ?? {});
        d.version++;
        await svc.publish(topics.updateAccepted, JSON.stringify({ state: req.state ?? {}, version: d.version, timestamp: Math.floor(NOW / 1000), ...token }), { qos: 1 });
        await sendDelta(topics, d);
      } else if (p.operation === 'get') {
        if (d.version === 0) {
          await svc.publish(topics.getRejected, JSON.stringify({ code: 404, message: `No shadow exists with name: '${p.thingName}'`, ...token }), { qos: 1 });
        } else {
          const delta = deltaOf(d);
          await svc.publish(topics.getAccepted, JSON.stringify({
            state: { reported: d.reported, desired: d.desired, ...(Object.keys(delta).length > 0 ? { delta } : {}) }, version: d.version, ...token,
          }), { qos: 1 });
        }
      }
    })();
  });
  await svc.subscribe(['$aws/things/+/shadow/update', '$aws/things/+/shadow/get'], { qos: 1 });
  return {
    seen,
    async desire(thing, desired) {
      const topics = awsShadowTopics(thing);
      const d = docOf(topics.prefix);
      Object.assign(d.desired, desired);
      d.version++;
      await sendDelta(topics, d);
    },
  };
}

describe('AWS IoT Core preset: mutual TLS, the thing name from the certificate, Device Shadow', () => {
  const acl = 'pattern readwrite $aws/things/%u/shadow/#\n';
  const broker = new Broker(() => {
    const p = pki as TestPki;
    const tls = { ...tlsFiles(p), requireCertificate: true, useIdentityAsUsername: true };
    return [{ port: 8883, tls, acl }, { port: 443, tls, acl }];
  });
  after(() => broker.stop());

  const preset = (s: StackId, port: 8883 | 443, v: 4 | 5, cert?: { cert: string; key: string }): ReturnType<typeof awsIotCore> => {
    const p = pki as TestPki;
    const own = p.clients[thingOf(s)];
    assert.ok(own !== undefined);
    return awsIotCore({
      ...AWS_ACCOUNT, thingName: thingOf(s), cert: (cert ?? own).cert, key: (cert ?? own).key, port, protocolVersion: v,
      tls: { ca: p.ca }, mqtt: { reconnect: false, keepaliveSeconds: 30 },
    });
  };

  const shadowRoundTrip = async (s: StackId, port: 8883 | 443, v: 4 | 5): Promise<MqttClient> => {
    const { options, topics } = preset(s, port, v);
    assert.equal(options.host, AWS_ENDPOINT);
    assert.equal(options.port, port);
    assert.equal(options.clientId, thingOf(s));
    const svc = await broker.service(v);
    const shadow = await shadowService(svc);
    const device = await MqttClient.connect(networkOf(s), options);
    try {
      await broker.assertConnected(thingOf(s), thingOf(s));
      const inbox = new Inbox(device);
      const sh = topics.shadow();
      const grants = await device.subscribe([sh.updateAccepted, sh.updateRejected, sh.updateDelta, sh.getAccepted, sh.getRejected], { qos: 1 });
      assert.deepEqual(grants.map((g) => g.qos), [1, 1, 1, 1, 1]);
      // A shadow that does not exist yet: get is rejected with 404.
      await device.publish(sh.get, JSON.stringify({ clientToken: 'g0' }), { qos: 1 });
      assert.equal(json((await inbox.on(sh.getRejected)).payload).code, 404);
      // Report state: accepted with version 1 and our client token.
      await device.publish(sh.update, JSON.stringify({ state: { reported: { temp: 21.5, fw: '1.0' } }, clientToken: 'u1' }), { qos: 1 });
      const accepted = json((await inbox.on(sh.updateAccepted)).payload);
      assert.equal(accepted.version, 1);
      assert.equal(accepted.clientToken, 'u1');
      // The application wants fw 1.1: the device gets the delta, applies it, reports.
      await shadow.desire(thingOf(s), { fw: '1.1' });
      const delta = json((await inbox.on(sh.updateDelta)).payload);
      assert.deepEqual(delta.state, { fw: '1.1' });
      await device.publish(sh.update, JSON.stringify({ state: { reported: { fw: '1.1' } }, clientToken: 'u2' }), { qos: 1 });
      assert.equal(json((await inbox.on(sh.updateAccepted)).payload).version, 3);
      await device.publish(sh.get, JSON.stringify({ clientToken: 'g1' }), { qos: 1 });
      const doc = json((await inbox.on(sh.getAccepted)).payload);
      assert.deepEqual(doc.state, { reported: { temp: 21.5, fw: '1.1' }, desired: { fw: '1.1' } });
      assert.equal(doc.clientToken, 'g1');
      // Bad JSON: rejected with 400.
      await device.publish(sh.update, '{"state":', { qos: 1 });
      assert.equal(json((await inbox.on(sh.updateRejected)).payload).code, 400);
      for (const m of [sh.updateAccepted, sh.getAccepted, sh.updateDelta]) assert.deepEqual(topics.parseShadow(m)?.thingName, thingOf(s));

      // The ACL (%u = the certificate's CN): another thing's shadow is out of reach.
      const other = awsShadowTopics('thing-elsewhere');
      await device.subscribe(other.updateAccepted, { qos: 1 }); // mosquitto 2.0 grants it, and filters on delivery
      await svc.publish(other.updateAccepted, '{"version":1}', { qos: 1 });
      const otherPublish = await device.publish(other.update, '{"state":{"reported":{"x":1}}}', { qos: 1 }).then(() => undefined, (e: unknown) => e);
      if (v === 5) {
        assert.ok(otherPublish instanceof MqttError && otherPublish.reasonCode === 0x87, `PUBACK not authorized, got ${String(otherPublish)}`);
      } else {
        assert.equal(otherPublish, undefined, 'MQTT 3.1.1 has no PUBACK code: the publish is dropped silently');
      }
      // Ordered behind both: our own update, answered; by then neither forbidden message went through.
      await device.publish(sh.update, JSON.stringify({ state: { reported: { temp: 22 } }, clientToken: 'u3' }), { qos: 1 });
      assert.equal(json((await inbox.on(sh.updateAccepted)).payload).clientToken, 'u3');
      assert.ok(!shadow.seen.includes(other.update), 'the broker dropped the publish to another thing');
      assert.ok(!inbox.pending.some((m) => m.topic === other.updateAccepted), 'nor delivered another thing\'s shadow');
    } catch (e) {
      await device.end(true);
      throw e;
    } finally {
      await svc.end();
    }
    return device;
  };

  for (const s of STACKS) {
    it(`${s.label}, port 8883, MQTT 3.1.1: shadow update, delta and get; the ACL keeps other things' shadows out`, async (t) => {
      if (await broker.need(t)) return;
      const device = await shadowRoundTrip(s.id, 8883, 4);
      await device.end();
    });

    it(`${s.label}, port 443, MQTT 5: the ClientHello offers ALPN x-amzn-mqtt-ca with the endpoint as SNI (tshark)`, async (t) => {
      if (await broker.need(t)) return;
      if (skipWithoutTool(t, 'tshark', 'tshark', 'the ALPN offer on port 443 (capture)')) return;
      assert.deepEqual((preset(s.id, 443, 5).options.tls as { alpn?: readonly string[] }).alpn, ['x-amzn-mqtt-ca']);
      const negotiated: { alpn?: string | false | null } = {};
      const [iface, probeHost] = s.id === 'host' ? ['lo', '127.0.0.1'] : [(tap as TapHost).name, KERNEL_IP];
      const hellos = await clientHellos(iface, networkOf(s.id), probeHost, 443, async () => {
        const device = await shadowRoundTrip(s.id, 443, 5);
        negotiated.alpn = (device.mqtt.stream as TLSSocket).alpnProtocol;
        await device.end();
      });
      t.diagnostic(`ClientHellos to 443: ${JSON.stringify(hellos)}; negotiated ALPN: ${String(negotiated.alpn)}`);
      assert.ok(hellos.length >= 1, 'a ClientHello was captured');
      for (const h of hellos) {
        assert.equal(h.sni, AWS_ENDPOINT);
        assert.equal(h.alpn, 'x-amzn-mqtt-ca');
      }
      // mosquitto 2.0.11 selects no ALPN protocol; AWS would answer with x-amzn-mqtt-ca.
      assert.ok(negotiated.alpn === false || negotiated.alpn === 'x-amzn-mqtt-ca', `negotiated ${String(negotiated.alpn)}`);
    });

    it(`${s.label}: an untrusted device certificate is refused (TLS), and an untrusted broker too`, async (t) => {
      if (await broker.need(t)) return;
      const p = pki as TestPki;
      for (const port of [8883, 443] as const) {
        assertTlsRefused(await failureOf(networkOf(s.id), preset(s.id, port, 4, p.untrustedClient).options));
      }
      const { options } = awsIotCore({ ...AWS_ACCOUNT, thingName: thingOf(s.id), cert: p.client.cert, key: p.client.key, tls: { ca: p.untrustedCa.cert } });
      const e = await failureOf(networkOf(s.id), options);
      assert.ok(isSocketError(e, 'ECONNABORTED'), `untrusted broker: ${String(e)}`);
      assert.equal(e.detail.reason, 'tls-untrusted');
    });
  }
});

// ---------------------------------------------------------------------------------------
// Azure IoT Hub: user name and SAS token in the password file; the X.509 form.

const AZURE_ACL = (id: '%c' | '%u'): string => [
  `pattern write devices/${id}/messages/events/#`,
  `pattern read devices/${id}/messages/devicebound/#`,
  'pattern read $iothub/methods/POST/#',
  'pattern write $iothub/methods/res/#',
  'pattern write $iothub/twin/GET/#',
  'pattern write $iothub/twin/PATCH/properties/reported/#',
  'pattern read $iothub/twin/res/#',
  'pattern read $iothub/twin/PATCH/properties/desired/#',
  '',
].join('\n');

/** The hub's side of one device: telemetry, twin GET and PATCH answered, a direct method, a desired update, a cloud-to-device message. */
async function azureExchange(device: MqttClient, svc: MqttClient, topics: ReturnType<typeof azureIotHub>['topics'], deviceId: string): Promise<void> {
  const atDevice = new Inbox(device);
  const atHub = new Inbox(svc);
  // `#` does not match topics starting with '$': the hub subscribes to $iothub/... explicitly.
  await svc.subscribe([`devices/${deviceId}/messages/events/#`, '$iothub/twin/GET/#', '$iothub/twin/PATCH/properties/reported/#', '$iothub/methods/res/#'], { qos: 1 });
  const grants = await device.subscribe([topics.cloudToDeviceFilter, topics.methodsFilter, topics.twinResponseFilter, topics.twinDesiredFilter], { qos: 1 });
  assert.deepEqual(grants.map((g) => g.qos), [1, 1, 1, 1]);

  // Device to cloud, with system and application properties in the topic.
  const d2c = topics.telemetry({ '$.ct': 'application/json', '$.ce': 'utf-8', level: 'warn' });
  await device.publish(d2c, '{"temp":21.5}', { qos: 1 });
  const events = `devices/${deviceId}/messages/events/`;
  const got = await atHub.take((m) => m.topic.startsWith(events), 'telemetry');
  assert.deepEqual(parseAzurePropertyBag(got.topic.slice(events.length)), { '$.ct': 'application/json', '$.ce': 'utf-8', level: 'warn' });
  assert.equal(text(got.payload), '{"temp":21.5}');

  // Twin GET: the hub answers 200 with the document on $iothub/twin/res.
  await device.publish(topics.twinGet('get-1'), '', { qos: 1 });
  const get = await atHub.take((m) => m.topic.startsWith('$iothub/twin/GET/'), 'twin GET');
  assert.equal(get.topic, '$iothub/twin/GET/?$rid=get-1');
  await svc.publish('$iothub/twin/res/200/?$rid=get-1', JSON.stringify({ desired: { interval: 30, $version: 3 }, reported: { $version: 1 } }), { qos: 1 });
  const twin = await atDevice.take((m) => m.topic.startsWith('$iothub/twin/res/'), 'twin response');
  assert.deepEqual(topics.parseTwinResponse(twin.topic), { status: 200, rid: 'get-1' });
  assert.deepEqual(json(twin.payload).desired, { interval: 30, $version: 3 });

  // Reported properties: 204 with the new version.
  await device.publish(topics.twinPatchReported('patch-1'), '{"fw":"1.2"}', { qos: 1 });
  const patch = await atHub.take((m) => m.topic.startsWith('$iothub/twin/PATCH/properties/reported/'), 'reported PATCH');
  assert.equal(patch.topic, '$iothub/twin/PATCH/properties/reported/?$rid=patch-1');
  await svc.publish('$iothub/twin/res/204/?$rid=patch-1&$version=2', '', { qos: 1 });
  assert.deepEqual(topics.parseTwinResponse((await atDevice.take((m) => m.topic.startsWith('$iothub/twin/res/'), 'PATCH response')).topic), { status: 204, rid: 'patch-1', version: 2 });

  // Desired properties pushed by the hub.
  await svc.publish('$iothub/twin/PATCH/properties/desired/?$version=4', '{"interval":10,"$version":4}', { qos: 1 });
  assert.deepEqual(topics.parseTwinDesired((await atDevice.take((m) => m.topic.startsWith('$iothub/twin/PATCH/'), 'desired update')).topic), { version: 4 });

  // A direct method: request, then the device's response with the same rid.
  await svc.publish('$iothub/methods/POST/reboot/?$rid=1f', '{"delay":5}', { qos: 1 });
  const call = await atDevice.take((m) => m.topic.startsWith('$iothub/methods/POST/'), 'method call');
  const req = topics.parseMethodRequest(call.topic);
  assert.deepEqual(req, { name: 'reboot', rid: '1f' });
  await device.publish(topics.methodResponse(200, req?.rid ?? ''), '{"ok":true}', { qos: 1 });
  const answer = await atHub.take((m) => m.topic.startsWith('$iothub/methods/res/'), 'method response');
  assert.equal(answer.topic, '$iothub/methods/res/200/?$rid=1f');
  assert.deepEqual(json(answer.payload), { ok: true });

  // Cloud to device, with the properties IoT Hub adds.
  const to = encodeURIComponent(`/devices/${deviceId}/messages/devicebound`);
  await svc.publish(`devices/${deviceId}/messages/devicebound/%24.mid=m-1&%24.to=${to}&color=red`, 'hello device', { qos: 1 });
  const c2d = await atDevice.take((m) => m.topic.startsWith(`devices/${deviceId}/messages/devicebound/`), 'cloud-to-device message');
  assert.deepEqual(topics.parseCloudToDevice(c2d.topic), { properties: { '$.mid': 'm-1', '$.to': `/devices/${deviceId}/messages/devicebound`, color: 'red' } });
  assert.equal(text(c2d.payload), 'hello device');
}

describe('Azure IoT Hub preset: SAS token in the password, checked by mosquitto', () => {
  const LIFETIME = 3600;
  /** The password file: each device's user name and its token for NOW (rotated by the renewal test). */
  const passwords: Record<string, string> = Object.fromEntries(STACKS.map((s) => [azureUserOf(azureDeviceOf(s.id)), expectedSas(azureDeviceOf(s.id), NOW / 1000 + LIFETIME)]));
  const broker = new Broker(() => [{ port: 8883, tls: tlsFiles(pki as TestPki), passwords, acl: AZURE_ACL('%c') }]);
  after(() => broker.stop());

  const preset = (device: string, o: { now?: () => number; key?: string; reconnect?: false | typeof RECONNECT_FAST } = {}): ReturnType<typeof azureIotHub> => azureIotHub({
    connectionString: `HostName=${AZURE_HOST};DeviceId=${device};SharedAccessKey=${o.key ?? azureKeyOf(device)}`,
    now: o.now ?? (() => NOW),
    tokenLifetimeSeconds: LIFETIME,
    renewBeforeSeconds: 600,
    tls: { ca: (pki as TestPki).ca },
    mqtt: { reconnect: o.reconnect ?? false },
  });

  for (const s of STACKS) {
    const id = azureDeviceOf(s.id);
    it(`${s.label}: device-to-cloud, cloud-to-device, a direct method and the twin (GET, reported PATCH, desired)`, async (t) => {
      if (await broker.need(t)) return;
      const { options, topics } = preset(id);
      assert.equal(options.host, AZURE_HOST);
      assert.equal(options.port, 8883);
      assert.equal(options.clientId, id);
      assert.equal(options.username, azureUserOf(id));
      const svc = await broker.service();
      const device = await MqttClient.connect(networkOf(s.id), options);
      try {
        await broker.assertConnected(id, azureUserOf(id));
        await azureExchange(device, svc, topics, id);
      } finally {
        await device.end();
        await svc.end();
      }
    });

    it(`${s.label}: a token from another key, an expired token and another device's token are refused (CONNACK)`, async (t) => {
      if (await broker.need(t)) return;
      const wrongKey = createHash('sha256').update('not the device key').digest('base64');
      assertRefused(await failureOf(networkOf(s.id), preset(id, { key: wrongKey }).options));
      // Made two hours ago with a one-hour lifetime: expired an hour ago.
      const old = preset(id, { now: () => NOW - 2 * 3600_000 });
      assert.ok((old.token?.().expiresAtMs ?? Infinity) < NOW);
      assertRefused(await failureOf(networkOf(s.id), old.options));
      // The right token for the right device, presented under another device's name.
      const other = STACKS.find((x) => x.id !== s.id)?.id as StackId;
      const swapped = { ...preset(id).options, password: expectedSas(azureDeviceOf(other), NOW / 1000 + LIFETIME) };
      assertRefused(await failureOf(networkOf(s.id), swapped));
      // A ready token that has expired is refused by the preset itself.
      assert.throws(() => azureIotHub({ hostName: AZURE_HOST, deviceId: id, sharedAccessSignature: expectedSas(id, NOW / 1000 - 60), now: () => NOW }), RangeError);
    });

    it(`${s.label}: the token is renewed on reconnect: mosquitto reloads a rotated password file, drops the old token, the password function makes the new one`, async (t) => {
      if (await broker.need(t)) return;
      let clock = NOW;
      const p = preset(id, { now: () => clock, reconnect: RECONNECT_FAST });
      const password = p.options.password as () => string;
      let calls = 0;
      const device = await MqttClient.connect(networkOf(s.id), { ...p.options, password: () => (calls++, password()) });
      const events: string[] = [];
      device.on('offline', (o) => events.push(`offline:${o.error?.message ?? 'none'}`));
      device.on('connect', (c) => events.push(`connect:${c.reconnect}`));
      const svc = await broker.service();
      try {
        assert.equal(calls, 1);
        const first = p.token?.().token;
        assert.equal(first, passwords[azureUserOf(id)], 'the first token is the one computed here');
        // 50 minutes later (10 left of the hour, the renewal margin): the service rotates the credential.
        clock = NOW + 3000_000;
        const renewed = expectedSas(id, (NOW + 3000_000) / 1000 + LIFETIME);
        passwords[azureUserOf(id)] = renewed;
        const reconnected = new Promise<void>((resolve) => device.on('connect', (c) => c.reconnect && resolve()));
        await broker.mosquitto.setPasswords(8883, passwords);
        await reconnected;
        t.diagnostic(`events: ${events.join(', ')}; password calls: ${calls}`);
        assert.ok(events[0]?.startsWith('offline'), `mosquitto dropped the connection with the old token: ${events.join(', ')}`);
        assert.equal(calls, 2, 'the password function was asked again for the reconnect');
        assert.equal(p.token?.().token, renewed, 'the preset made the renewed token');
        assert.notEqual(renewed, first);
        // The renewed connection works.
        const atHub = new Inbox(svc);
        await svc.subscribe(`devices/${id}/messages/events/#`, { qos: 1 });
        await device.publish(p.topics.telemetry(), 'after renewal', { qos: 1 });
        assert.equal(text((await atHub.take((m) => m.topic === `devices/${id}/messages/events/`, 'telemetry after renewal')).payload), 'after renewal');
        // And the old token is refused now.
        assertRefused(await failureOf(networkOf(s.id), { ...p.options, password: first ?? '' }));
      } finally {
        await device.end();
        await svc.end();
      }
    });
  }
});

describe('Azure IoT Hub preset, X.509: the device certificate, its CN as the identity', () => {
  const broker = new Broker(() => [{ port: 8883, tls: { ...tlsFiles(pki as TestPki), requireCertificate: true, useIdentityAsUsername: true }, acl: AZURE_ACL('%u') }]);
  after(() => broker.stop());

  const preset = (device: string, cert: { cert: string; key: string }): ReturnType<typeof azureIotHub> => azureIotHub({
    connectionString: `HostName=${AZURE_HOST};DeviceId=${device};x509=true`,
    x509: { cert: cert.cert, key: cert.key },
    tls: { ca: (pki as TestPki).ca },
    mqtt: { reconnect: false },
  });

  for (const s of STACKS) {
    const id = x509DeviceOf(s.id);
    it(`${s.label}: the same exchanges with certificate authentication; an untrusted certificate is refused`, async (t) => {
      if (await broker.need(t)) return;
      const p = pki as TestPki;
      const { options, topics } = preset(id, p.clients[id] as { cert: string; key: string });
      assert.equal(options.password, undefined);
      assert.equal(options.username, azureUserOf(id));
      const svc = await broker.service();
      const device = await MqttClient.connect(networkOf(s.id), options);
      try {
        await broker.assertConnected(id, id); // mosquitto takes the certificate's CN as the user name
        await azureExchange(device, svc, topics, id);
      } finally {
        await device.end();
        await svc.end();
      }
      assertTlsRefused(await failureOf(networkOf(s.id), preset(id, p.untrustedClient).options));
    });
  }
});

// ---------------------------------------------------------------------------------------
// JWT broker (Cloud IoT Core style): the JWT as the password.

for (const alg of ['RS256', 'ES256'] as const) {
  describe(`JWT broker preset, ${alg}: the JWT in the password, checked by mosquitto`, () => {
    const deviceId = `dev-${alg.toLowerCase()}`;
    const clientId = `projects/iotnet-test/locations/europe-west1/registries/reg-1/devices/${deviceId}`;
    const keys = (): { privateKey: KeyObject; publicKey: KeyObject } => (alg === 'RS256' ? rsaKeys : ecKeys) as { privateKey: KeyObject; publicKey: KeyObject };
    const make = (o: { now?: () => number; privateKey?: KeyObject } = {}): JwtBrokerPreset => jwtBroker({
      host: JWT_HOST, algorithm: alg, privateKey: o.privateKey ?? keys().privateKey, deviceId,
      projectId: 'iotnet-test', region: 'europe-west1', registryId: 'reg-1',
      now: o.now ?? (() => NOW), tls: { ca: (pki as TestPki).ca }, mqtt: { reconnect: false },
    });
    // One preset for the broker's password file and both stacks: an ES256 signature is
    // randomised, so only this preset's cached token is the one in the file.
    let device: JwtBrokerPreset | undefined;
    const broker = new Broker(() => {
      device = make();
      const token = device.token().token;
      const claims = verifiedJwt(token, keys().publicKey, alg);
      assert.deepEqual(claims, { iat: NOW / 1000, exp: NOW / 1000 + 3600, aud: 'iotnet-test' });
      const acl = ['user unused', `topic write /devices/${deviceId}/events/#`, `topic write /devices/${deviceId}/state`,
        `topic read /devices/${deviceId}/config`, `topic read /devices/${deviceId}/commands/#`, ''].join('\n');
      return [{ port: 8883, tls: tlsFiles(pki as TestPki), passwords: { unused: token }, acl }];
    });
    after(() => broker.stop());

    for (const s of STACKS) {
      it(`${s.label}: config (retained) and commands in, telemetry and state out, client id projects/.../devices/...`, async (t) => {
        if (await broker.need(t)) return;
        const { options, topics } = device as JwtBrokerPreset;
        assert.equal(options.host, JWT_HOST);
        assert.equal(options.port, 8883);
        assert.equal(options.clientId, clientId);
        const svc = await broker.service();
        const atService = new Inbox(svc);
        await svc.subscribe(`/devices/${deviceId}/#`, { qos: 1 });
        // The latest configuration waits for the device as a retained message.
        await svc.publish(topics.config, JSON.stringify({ interval: 60, stack: s.id }), { qos: 1, retain: true });
        const c = await MqttClient.connect(networkOf(s.id), options);
        try {
          await broker.assertConnected(clientId, 'unused');
          const inbox = new Inbox(c);
          await c.subscribe(topics.config, { qos: 1 });
          await c.subscribe(topics.commandsFilter, { qos: 1 });
          const config = await inbox.on(topics.config);
          assert.equal(config.retain, true);
          assert.deepEqual(json(config.payload), { interval: 60, stack: s.id });
          await c.publish(topics.events(), '{"t":20.5}', { qos: 1 });
          await c.publish(topics.events('alerts/high'), '{"t":99}', { qos: 1 });
          await c.publish(topics.state, '{"ok":true}', { qos: 1 });
          assert.equal(text((await atService.on(`/devices/${deviceId}/events`)).payload), '{"t":20.5}');
          assert.equal(text((await atService.on(`/devices/${deviceId}/events/alerts/high`)).payload), '{"t":99}');
          assert.equal(text((await atService.on(`/devices/${deviceId}/state`)).payload), '{"ok":true}');
          await svc.publish(`/devices/${deviceId}/commands/reboot`, 'now', { qos: 1 });
          await svc.publish(`/devices/${deviceId}/commands`, 'plain', { qos: 1 });
          assert.deepEqual(topics.parseCommand((await inbox.on(`/devices/${deviceId}/commands/reboot`)).topic), { subfolder: 'reboot' });
          assert.deepEqual(topics.parseCommand((await inbox.on(`/devices/${deviceId}/commands`)).topic), {});
        } finally {
          await c.end();
          await svc.end();
        }
      });

      it(`${s.label}: an expired JWT and one signed by another key are refused (CONNACK)`, async (t) => {
        if (await broker.need(t)) return;
        const expired = make({ now: () => NOW - 2 * 3600_000 });
        assert.ok((verifiedJwt(expired.token().token, keys().publicKey, alg).exp as number) < NOW / 1000, 'expired an hour ago');
        assertRefused(await failureOf(networkOf(s.id), expired.options));
        const otherKey = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
        assertRefused(await failureOf(networkOf(s.id), make({ privateKey: otherKey.privateKey }).options));
      });
    }
  });
}

// ---------------------------------------------------------------------------------------
// Watson IoT: d:{org}:{type}:{id}, use-token-auth and the device token.

describe('Watson IoT preset: use-token-auth with the device token', () => {
  const TOKEN = 'Xy4!pT8-sR(wQ)9zK_';
  const broker = new Broker(() => [{
    port: 8883, tls: tlsFiles(pki as TestPki), passwords: { 'use-token-auth': TOKEN },
    acl: 'user use-token-auth\ntopic write iot-2/evt/+/fmt/+\ntopic read iot-2/cmd/+/fmt/+\n',
  }]);
  after(() => broker.stop());
  const preset = (token: string): ReturnType<typeof watsonIot> => watsonIot({
    org: WATSON_ORG, deviceType: 'sensor', deviceId: 'dev-1', authToken: token, tls: { ca: (pki as TestPki).ca }, mqtt: { reconnect: false },
  });

  for (const s of STACKS) {
    it(`${s.label}: events out, commands in; a wrong token is refused`, async (t) => {
      if (await broker.need(t)) return;
      const { options, topics } = preset(TOKEN);
      assert.equal(options.host, WATSON_HOST);
      assert.equal(options.port, 8883);
      const svc = await broker.service();
      const atApp = new Inbox(svc);
      await svc.subscribe('iot-2/evt/+/fmt/+', { qos: 1 });
      const c = await MqttClient.connect(networkOf(s.id), options);
      try {
        await broker.assertConnected(`d:${WATSON_ORG}:sensor:dev-1`, 'use-token-auth');
        const inbox = new Inbox(c);
        await c.subscribe(topics.commandFilter(), { qos: 1 });
        await c.publish(topics.event('status'), JSON.stringify({ d: { temp: 20 } }), { qos: 1 });
        assert.deepEqual(json((await atApp.on('iot-2/evt/status/fmt/json')).payload), { d: { temp: 20 } });
        await svc.publish('iot-2/cmd/reboot/fmt/json', '{"delay":0}', { qos: 1 });
        const cmd = await inbox.take((m) => m.topic.startsWith('iot-2/cmd/'), 'a command');
        assert.deepEqual(topics.parseCommand(cmd.topic), { command: 'reboot', format: 'json' });
      } finally {
        await c.end();
        await svc.end();
      }
      assertRefused(await failureOf(networkOf(s.id), preset(`${TOKEN}x`).options));
    });
  }
});

// ---------------------------------------------------------------------------------------
// Paho options: ssl:// server URI, user name and password, a will.

describe('Paho options: ssl:// server URI, user name and password, the will', () => {
  const broker = new Broker(() => [{ port: 8883, tls: tlsFiles(pki as TestPki), passwords: { 'paho-user': 'paho secret 42' } }]);
  after(() => broker.stop());
  const preset = (clientId: string, v: 4 | 5, password: string): ReturnType<typeof pahoOptions> => pahoOptions({
    serverURI: `ssl://${PAHO_HOST}:8883`, clientId, userName: 'paho-user', password, mqttVersion: v, cleanSession: true,
    keepAliveInterval: 20, connectionTimeout: 10,
    willMessage: { topic: `paho/${clientId}/status`, payload: 'connection lost', qos: 1, retained: false },
    sslOptions: { trustStore: (pki as TestPki).caFile },
  });

  for (const s of STACKS) {
    it(`${s.label}: MQTT 3.1.1 and 5 round trips, the will after a lost connection; a wrong password is refused`, async (t) => {
      if (await broker.need(t)) return;
      for (const v of [4, 5] as const) {
        const clientId = `paho-${s.id}-v${v}`;
        const { options, servers } = preset(clientId, v, 'paho secret 42');
        assert.equal(servers.length, 1);
        assert.deepEqual([options.host, options.port, options.protocolVersion], [PAHO_HOST, 8883, v]);
        assert.deepEqual((options.tls as { ca?: unknown }).ca, { file: (pki as TestPki).caFile });
        const svc = await broker.service(v);
        const atSvc = new Inbox(svc);
        await svc.subscribe(`paho/${clientId}/#`, { qos: 1 });
        const c = await MqttClient.connect(networkOf(s.id), options);
        try {
          await broker.assertConnected(clientId, 'paho-user');
          const inbox = new Inbox(c);
          await c.subscribe(`paho/${clientId}/in`, { qos: 1 });
          await svc.publish(`paho/${clientId}/in`, 'to device', { qos: 1 });
          assert.equal(text((await inbox.on(`paho/${clientId}/in`)).payload), 'to device');
          await c.publish(`paho/${clientId}/out`, 'from device', { qos: 1 });
          assert.equal(text((await atSvc.on(`paho/${clientId}/out`)).payload), 'from device');
          await c.end(true); // gone without DISCONNECT
          assert.equal(text((await atSvc.on(`paho/${clientId}/status`)).payload), 'connection lost');
        } finally {
          await c.end();
          await svc.end();
        }
        assertRefused(await failureOf(networkOf(s.id), preset(`${clientId}-bad`, v, 'wrong').options), v);
      }
    });
  }
});
