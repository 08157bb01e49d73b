/**
 * MQTT publish throughput to mosquitto (issue 6), in messages per second: QoS 0 and QoS 1
 * on the userspace stack over a TAP (`mqtt_qos0_userspace_mps`, `mqtt_qos1_userspace_mps`)
 * beside the host stack (`mqtt_qos0_host_mps`, `mqtt_qos1_host_mps`), and QoS 1 over
 * mutual TLS on both (`mqtt_qos1_tls_userspace_mps` beside `mqtt_qos1_tls_host_mps`), all
 * measured in this run.
 *
 * Like for like: one mosquitto (2.0, started here, stopped afterwards; default settings)
 * listens inside a network namespace; both clients run in this process with the same code
 * (`MqttClient` over `Network.connectDuplex`, or `connectTlsDuplex` for TLS; MQTT 3.1.1,
 * clean session, no subscriber anywhere) and publish the same 64-byte payload the same
 * number of times. Only the path to the broker differs:
 * - userspace: our stack in this process, over a real TAP whose kernel side is in the
 *   namespace, as a device reaches a broker (every frame through our stack and one
 *   system call each way, checksums computed and verified in JavaScript: TAP frames
 *   carry no offload metadata);
 * - host: `node:net` (the host backend) over a veth pair from this namespace into the
 *   broker's. Not loopback: both paths cross one virtual link into the namespace and
 *   meet the same kernel TCP on the broker's side (veth keeps GSO and checksum offload,
 *   as a kernel-to-kernel link does; at 80-byte packets that saves little).
 * The host backend turns Nagle off on every socket; the userspace stack keeps it on
 * (its default), each as shipped.
 *
 * "Publish throughput" is messages the broker has taken in per second: the clock runs
 * from the first publish call until
 * - QoS 0: the PUBACK of one QoS 1 publish sent after the N QoS 0 ones (a barrier: the
 *   broker reads a connection in order, so it has handled every earlier message);
 * - QoS 1: the PUBACK of the last of the N publishes.
 * The client keeps at most `WINDOW` = 20 publishes unfinished, mosquitto's default
 * `max_inflight_messages` (the receive maximum it announces to MQTT 5 clients): for
 * QoS 1 not yet acknowledged; for QoS 0 not yet handed to the socket (mqtt.js calls back
 * at once while the stream takes more, else at 'drain', so there the stream's 64 KiB
 * write buffer is the real limit). mosquitto itself puts no limit on incoming QoS 1.
 *
 * Both clients of a kind stay connected for the whole bench (a warm-up first); each
 * round measures every variant, host and userspace in alternating order, after a full
 * GC; figures are medians over rounds and ratios the median of per-round ratios
 * (userspace over host of the same round).
 *
 * Needs root (namespaces, /dev/net/tun), the TAP addon and mosquitto (installed with
 * apt-get when missing, as the interop tier does); otherwise the figures are left out
 * with a note. The broker, the namespace and both links are removed afterwards, also on
 * failure.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createHostBackend } from '../src/backends/host/index.ts';
import { createUserspaceBackend } from '../src/backends/userspace/index.ts';
import { XorShiftRng } from '../src/base/rand.ts';
import { MqttClient } from '../src/clients/mqtt/index.ts';
import type { MqttClientOptions } from '../src/clients/mqtt/mqtt-options.ts';
import type { TapLink } from '../src/link/tap-link.ts';
import { StackRunner } from '../src/runtime/stack-runner.ts';
import { Network } from '../src/socket/network.ts';
import { Stack } from '../src/stack/stack.ts';
import { startMosquitto, type Mosquitto } from '../test/support/mosquitto.ts';
import { ensureTool } from '../test/support/system-tool.ts';
import { createTestPki, type TestPki } from '../test/support/test-pki.ts';
import type { Figure } from './main.ts';
import { ip, median, tapIntoNamespace, tapUnavailable } from './tcp-tap.bench.ts';

const PAYLOAD = 64;
/** Publishes unfinished at once (see the file comment). */
const WINDOW = 20;
const PLAIN = 1883;
const MTLS = 8883;
/** The broker's side of the TAP (the stack is .2). */
const TAP_NET = '10.95.0';

interface Options {
  quick: boolean;
  progress: (msg: string) => void;
}

/** Why the MQTT figures cannot be measured here, or undefined. */
function unavailable(): string | undefined {
  return tapUnavailable() ?? ensureTool('mosquitto', 'mosquitto');
}

/**
 * A /24 in 10.94.0.0/16 that no interface of this namespace uses yet, for the veth's
 * near end (it lives in this process's namespace, where other benches or tests may run).
 */
function freeSubnet(): string {
  for (let i = 0; i < 256; i++) {
    const net = `10.94.${(process.pid + i) % 256}`;
    const r = spawnSync('ip', ['-4', '-o', 'addr', 'show', 'to', `${net}.0/24`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === '') return net;
  }
  throw new Error('no free /24 in 10.94.0.0/16 for the veth');
}

/**
 * Publishes `n` messages of `payload` at QoS `qos`, at most `WINDOW` unfinished, and
 * resolves with the rate (messages/s) once the broker has them all (see the file comment).
 */
async function publishRate(client: MqttClient, topic: string, payload: Uint8Array, qos: 0 | 1, n: number): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let done = 0;
    let failed = false;
    const onDone = (): void => {
      if (++done === n) resolve();
      else pump();
    };
    const onError = (e: unknown): void => {
      if (!failed) reject(e);
      failed = true;
    };
    const pump = (): void => {
      while (sent < n && sent - done < WINDOW && !failed) {
        sent++;
        client.publish(topic, payload, { qos }).then(onDone, onError);
      }
    };
    pump();
  });
  if (qos === 0) await client.publish(topic, payload, { qos: 1 });
  return n / ((performance.now() - t0) / 1000);
}

interface Variant {
  /** Key part: `qos0`, `qos1`, `qos1_tls`. */
  readonly name: string;
  readonly qos: 0 | 1;
  readonly n: number;
  readonly host: MqttClient;
  readonly userspace: MqttClient;
}

export async function runMqttBench(opts: Options): Promise<Figure[]> {
  const why = unavailable();
  if (why !== undefined) {
    opts.progress(`mqtt to mosquitto: skipped (${why})`);
    return [];
  }
  const n0 = opts.quick ? 5000 : 50_000;
  const n1 = opts.quick ? 2000 : 20_000;
  const rounds = opts.quick ? 1 : 5;
  const tag = `${process.pid}`;
  const ns = `iotnet-${tag}-mq`;
  const tapName = `iotm${tag}`.slice(0, 15);
  const vethHere = `iotmv${tag}`.slice(0, 15);
  let vnet = '';
  let pki: TestPki | undefined;
  let broker: Mosquitto | undefined;
  let tap: TapLink | undefined;
  let stack: Stack | undefined;
  let runner: StackRunner | undefined;
  let usNet: Network | undefined;
  let hostNet: Network | undefined;
  const clients: MqttClient[] = [];
  const cleanup = (): void => {
    broker?.process.kill('SIGKILL');
    // Deleting one end of a veth deletes the pair; the namespace takes the TAP's far end.
    spawnSync('ip', ['link', 'del', vethHere], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  };
  process.once('exit', cleanup);
  try {
    // The TAP: opened here, its kernel side moved into the broker's namespace.
    tap = tapIntoNamespace(ns, tapName, `${TAP_NET}.1/24`);
    // The veth: near end here (.2), far end in the namespace (.1).
    vnet = freeSubnet();
    ip('link', 'add', vethHere, 'type', 'veth', 'peer', 'name', 'mqv0', 'netns', ns);
    ip('addr', 'add', `${vnet}.2/24`, 'dev', vethHere);
    ip('-n', ns, 'addr', 'add', `${vnet}.1/24`, 'dev', 'mqv0');
    ip('link', 'set', vethHere, 'up');
    ip('-n', ns, 'link', 'set', 'mqv0', 'up');

    pki = await createTestPki({ serverSans: [`${TAP_NET}.1`, `${vnet}.1`] });
    broker = await startMosquitto({
      netns: ns,
      listeners: [
        { port: PLAIN },
        { port: MTLS, tls: { caFile: pki.caFile, certFile: pki.server.chainFile, keyFile: pki.server.keyFile, requireCertificate: true } },
      ],
    });

    stack = new Stack({ rng: new XorShiftRng(21), name: 'bench-mqtt' });
    stack.addInterface(tap, { ipv4: { address: `${TAP_NET}.2`, prefixLen: 24 } });
    runner = new StackRunner(stack);
    usNet = new Network(createUserspaceBackend(stack, runner, { rng: new XorShiftRng(22) }));
    hostNet = new Network(createHostBackend());

    const connect = async (network: Network, host: string, tls: boolean): Promise<MqttClient> => {
      const p = pki as TestPki;
      const o: MqttClientOptions = {
        host,
        port: tls ? MTLS : PLAIN,
        reconnect: false,
        connectTimeoutMs: 5000,
        ...(tls ? { tls: { ca: p.ca, cert: p.client.cert, key: p.client.key } } : {}),
      };
      const c = await MqttClient.connect(network, o);
      clients.push(c);
      return c;
    };
    const host = await connect(hostNet, `${vnet}.1`, false);
    const us = await connect(usNet, `${TAP_NET}.1`, false);
    const hostTls = await connect(hostNet, `${vnet}.1`, true);
    const usTls = await connect(usNet, `${TAP_NET}.1`, true);
    const variants: Variant[] = [
      { name: 'qos0', qos: 0, n: n0, host, userspace: us },
      { name: 'qos1', qos: 1, n: n1, host, userspace: us },
      { name: 'qos1_tls', qos: 1, n: n1, host: hostTls, userspace: usTls },
    ];

    const payload = randomBytes(PAYLOAD);
    const gc = (globalThis as { gc?: () => void }).gc;
    const warm = opts.quick ? 1000 : 5000;
    opts.progress(`mqtt to mosquitto warm-up: ${warm} publishes per variant and stack`);
    for (const v of variants) {
      for (const side of ['host', 'userspace'] as const) await publishRate(v[side], `bench/${side}/${v.name}`, payload, v.qos, warm);
    }

    const r = new Map<string, number[]>();
    const push = (key: string, x: number): void => {
      r.set(key, [...(r.get(key) ?? []), x]);
    };
    for (let round = 0; round < rounds; round++) {
      const line: string[] = [];
      for (const v of variants) {
        const order = round % 2 === 0 ? (['host', 'userspace'] as const) : (['userspace', 'host'] as const);
        for (const side of order) {
          gc?.();
          push(`${v.name}_${side}`, await publishRate(v[side], `bench/${side}/${v.name}`, payload, v.qos, v.n));
        }
        const last = (side: string): string => ((r.get(`${v.name}_${side}`) as number[]).at(-1) as number).toFixed(0);
        line.push(`${v.name} host ${last('host')} / userspace ${last('userspace')}`);
      }
      opts.progress(`mqtt ${PAYLOAD} B publishes (QoS 0: ${n0}, QoS 1: ${n1}), round ${round + 1}/${rounds}, msg/s: ${line.join(', ')}`);
    }
    const series = (key: string): number[] => r.get(key) as number[];
    const ratios = (v: Variant): number[] => series(`${v.name}_userspace`).map((x, i) => x / (series(`${v.name}_host`)[i] as number));
    for (const v of variants) {
      const rs = ratios(v);
      opts.progress(`mqtt ${v.name}: per-round ratios ${rs.map((x) => x.toFixed(2)).join(' ')} (min ${Math.min(...rs).toFixed(2)}, max ${Math.max(...rs).toFixed(2)})`);
    }
    const goal = '>= 0.8';
    const label = (v: Variant, side: string): string =>
      `MQTT QoS ${v.qos}${v.name.endsWith('_tls') ? ' over mutual TLS' : ''}, ${PAYLOAD}-byte publishes to mosquitto, ${side}`;
    const figures: Figure[] = [];
    for (const v of variants) {
      figures.push({ key: `mqtt_${v.name}_host_mps`, label: label(v, 'host stack over veth'), value: median(series(`${v.name}_host`)), unit: 'msg/s' });
      figures.push({
        key: `mqtt_${v.name}_userspace_mps`, label: label(v, 'userspace stack over TAP'), value: median(series(`${v.name}_userspace`)), unit: 'msg/s',
        baseline: `mqtt_${v.name}_host_mps`, ratio: median(ratios(v)), ...(v.name === 'qos1_tls' ? {} : { goal }),
      });
    }
    return figures;
  } finally {
    for (const c of clients) await c.end(true).catch(() => undefined);
    await usNet?.close();
    await hostNet?.close();
    runner?.close();
    stack?.close();
    tap?.close();
    await broker?.stop();
    pki?.dispose();
    cleanup();
    process.removeListener('exit', cleanup);
  }
}
