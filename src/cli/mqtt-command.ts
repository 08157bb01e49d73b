/**
 * `iotnet mqtt pub|sub`: publish a message or subscribe and print messages, with iotnet's MQTT
 * client over the network chosen by `--via` (the host stack, our userspace stack on a TAP, an
 * ESP-AT WiFi module or a Quectel modem on a serial port), plain or TLS.
 */
import { readFileSync } from 'node:fs';
import { MqttClient, type MqttClientOptions } from '../clients/mqtt/index.ts';
import type { TlsOptions } from '../tls/tls-options.ts';
import { forEachOption, intArg, secondsArg } from './args.ts';
import { describeError } from './describe-error.ts';
import { Progress } from './progress.ts';
import { UsageError } from './usage-error.ts';
import { checkViaOptions, defaultViaOptions, openVia, parseVia, VIA_OPTIONS_HELP, viaOption, withTimeout, type Via, type ViaOptions } from './via.ts';

export const MQTT_USAGE = `Usage: iotnet mqtt pub --topic T [--message M | --file F | < stdin] [options]
       iotnet mqtt sub --topic FILTER [--topic FILTER ...] [--count N] [options]

pub publishes one message and exits once the broker has it (QoS 1 and 2: acknowledged).
sub subscribes and prints each message as 'TOPIC PAYLOAD' (one line; --json: one JSON
object per line) until --count messages came, --timeout passed, or SIGINT.

Broker:
  --broker HOST[:PORT]  the broker (port default 1883, 8883 with --tls)
  --url URL             mqtt://[USER[:PASSWORD]@]HOST[:PORT] or mqtts://... (TLS)
  --tls                 TLS (server certificate checked against the system roots or --ca)
  --ca FILE             trusted root certificate(s), PEM
  --cert FILE, --key FILE   client certificate and key, PEM (mutual TLS)
  --insecure            TLS without checking the server's certificate (tests only)
  --username U, --password P, --client-id ID
  --mqtt-version 4|5    MQTT 3.1.1 (default) or 5.0
  --keepalive S         keep-alive interval, seconds (default 60)

Messages:
  --topic T             pub: the topic; sub: a filter (repeatable; + and # wildcards)
  --message M           pub: the payload (UTF-8 text)
  --file F              pub: the payload is the file's bytes
                        (neither: the payload is read from stdin)
  --qos 0|1|2           QoS of the publish or the subscription (default 0)
  --retain              pub: the broker keeps the message for later subscribers
  --count N             sub: exit 0 after N messages (default 0: until SIGINT)
  --timeout S           pub: connect and publish within S seconds (default 30);
                        sub: exit 1 if --count messages did not come within S seconds
  --json                sub: one JSON object per message (topic, payload, qos, retain)

Network (--via):
  --via host            the host's stack (default)
  --via tap:IF          our userspace stack on the TAP interface IF (root or CAP_NET_ADMIN)
  --via esp-at:PORT     an ESP-AT WiFi module on the serial device PORT (e.g. the pty
                        'iotnet sim esp-at' prints)
  --via quectel:PORT    a Quectel cellular modem on the serial device PORT
${VIA_OPTIONS_HELP}
  -h, --help            this text

Exit codes: 0 done, 1 connection, broker or timeout failure, 2 usage error.`;

interface MqttArgs {
  mode: 'pub' | 'sub';
  host: string;
  port: number | undefined;
  tls: boolean;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  insecure: boolean;
  username: string | undefined;
  password: string | undefined;
  clientId: string | undefined;
  version: 4 | 5;
  keepalive: number;
  topics: string[];
  message: string | undefined;
  file: string | undefined;
  qos: 0 | 1 | 2;
  retain: boolean;
  count: number;
  timeoutMs: number | undefined;
  json: boolean;
  via: Via;
  viaOptions: ViaOptions;
  help: boolean;
}

function hostPort(text: string, option: string): { host: string; port: number | undefined } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (m === null || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) throw new UsageError(`${option}: expected HOST[:PORT], got '${text}'`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: m[2] !== undefined ? Number(m[2]) : undefined };
}

function parseMqttArgs(args: readonly string[]): MqttArgs {
  const out: MqttArgs = {
    mode: 'pub', host: '', port: undefined, tls: false, ca: undefined, cert: undefined, key: undefined, insecure: false, username: undefined,
    password: undefined, clientId: undefined, version: 4, keepalive: 60, topics: [], message: undefined, file: undefined, qos: 0, retain: false,
    count: 0, timeoutMs: undefined, json: false, via: { kind: 'host' }, viaOptions: defaultViaOptions(), help: false,
  };
  let mode: string | undefined;
  let broker: string | undefined;
  let url: string | undefined;
  forEachOption(args, (name, value, arg) => {
    if (viaOption(out.viaOptions, name, value)) return;
    switch (name) {
      case '--via':
        out.via = parseVia(value(), ['host', 'tap', 'esp-at', 'quectel']);
        break;
      case '--broker':
        broker = value();
        break;
      case '--url':
        url = value();
        break;
      case '--tls':
        out.tls = true;
        break;
      case '--ca':
        out.ca = value();
        break;
      case '--cert':
        out.cert = value();
        break;
      case '--key':
        out.key = value();
        break;
      case '--insecure':
        out.insecure = true;
        break;
      case '--username':
        out.username = value();
        break;
      case '--password':
        out.password = value();
        break;
      case '--client-id': {
        const v = value();
        if (v.length < 1 || v.length > 65535) throw new UsageError('--client-id: 1 to 65535 characters');
        out.clientId = v;
        break;
      }
      case '--mqtt-version': {
        const v = value();
        if (v !== '4' && v !== '5' && v !== '3.1.1' && v !== '5.0') throw new UsageError(`--mqtt-version: 4 (3.1.1) or 5, got '${v}'`);
        out.version = v.startsWith('5') ? 5 : 4;
        break;
      }
      case '--keepalive':
        out.keepalive = intArg('--keepalive', value(), 0, 65535);
        break;
      case '-t':
      case '--topic': {
        const v = value();
        if (v === '') throw new UsageError('--topic: empty');
        out.topics.push(v);
        break;
      }
      case '-m':
      case '--message':
        out.message = value();
        break;
      case '--file':
        out.file = value();
        break;
      case '-q':
      case '--qos':
        out.qos = intArg(name, value(), 0, 2) as 0 | 1 | 2;
        break;
      case '--retain':
        out.retain = true;
        break;
      case '-C':
      case '--count':
        out.count = intArg(name, value(), 0, 100_000_000);
        break;
      case '--timeout':
        out.timeoutMs = secondsArg('--timeout', value(), 0.1, 86_400);
        break;
      case '--json':
        out.json = true;
        break;
      case '-h':
      case '--help':
        out.help = true;
        break;
      default:
        if (arg.startsWith('-') || mode !== undefined) throw new UsageError(`unknown option '${arg}'`);
        if (arg !== 'pub' && arg !== 'sub') throw new UsageError(`unknown mode '${arg}' (pub or sub)`);
        mode = arg;
    }
  });
  if (out.help) return out;
  if (mode === undefined) throw new UsageError('pub or sub?');
  out.mode = mode as 'pub' | 'sub';
  if (broker !== undefined && url !== undefined) throw new UsageError('--broker or --url, not both');
  if (broker === undefined && url === undefined) throw new UsageError('--broker HOST[:PORT] or --url is required');
  if (broker !== undefined) Object.assign(out, hostPort(broker, '--broker'));
  else {
    const m = /^(mqtts?):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/?$/.exec(url as string);
    if (m === null) throw new UsageError(`--url: expected mqtt://[USER[:PASSWORD]@]HOST[:PORT] or mqtts://..., got '${url as string}'`);
    Object.assign(out, hostPort(m[4] as string, '--url'));
    if (m[1] === 'mqtts') out.tls = true;
    if (m[2] !== undefined && m[2] !== '') out.username ??= decodeURIComponent(m[2]);
    if (m[3] !== undefined) out.password ??= decodeURIComponent(m[3]);
  }
  if (out.topics.length === 0) throw new UsageError('--topic is required');
  if (out.mode === 'pub') {
    if (out.topics.length > 1) throw new UsageError('pub: one --topic');
    if (/[+#]/.test(out.topics[0] as string)) throw new UsageError(`pub: a topic has no wildcards (+, #): '${out.topics[0] as string}'`);
    if (out.message !== undefined && out.file !== undefined) throw new UsageError('--message or --file, not both');
    if (out.count !== 0) throw new UsageError('--count is for sub');
    if (out.json) throw new UsageError('--json is for sub');
  } else {
    if (out.message !== undefined || out.file !== undefined || out.retain) throw new UsageError('--message, --file and --retain are for pub');
    for (const t of out.topics) {
      if (/#./.test(t) || /[^/]#|[^/]\+|\+[^/]/.test(t)) throw new UsageError(`--topic: '${t}' is not a valid filter (+ and # stand for whole levels, # only at the end)`);
    }
  }
  if (!out.tls && (out.ca !== undefined || out.cert !== undefined || out.key !== undefined || out.insecure)) throw new UsageError('--ca, --cert, --key and --insecure need --tls (or an mqtts:// URL)');
  if ((out.cert === undefined) !== (out.key === undefined)) throw new UsageError('--cert and --key go together');
  if (out.version === 4 && out.password !== undefined && out.username === undefined) throw new UsageError('MQTT 3.1.1 sends a password only with a username: add --username (or --mqtt-version 5)');
  checkViaOptions(out.via, out.viaOptions);
  return out;
}

/** The payload of a publish: --message, --file or stdin. */
async function payloadOf(a: MqttArgs): Promise<Uint8Array | string> {
  if (a.message !== undefined) return a.message;
  if (a.file !== undefined) return new Uint8Array(readFileSync(a.file));
  if (process.stdin.isTTY === true) throw new UsageError('pub: --message, --file or a payload on stdin is needed');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

export async function runMqtt(args: readonly string[]): Promise<number> {
  const a = parseMqttArgs(args);
  if (a.help) {
    console.log(MQTT_USAGE);
    return 0;
  }
  const payload = a.mode === 'pub' ? await payloadOf(a) : undefined;
  const progress = new Progress({ label: `mqtt ${a.mode}`, unit: 'messages' });
  const keepAlive = setInterval(() => {}, 1 << 30);
  let closeVia: () => Promise<void> = async () => {};
  let client: MqttClient | undefined;
  let interrupted = false;
  let wake: () => void = () => {};
  const onSignal = (): void => {
    interrupted = true;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const deadlineMs = a.timeoutMs ?? (a.mode === 'pub' ? 30_000 : undefined);
    progress.status(`bringing up ${a.via.kind === 'host' ? 'the host stack' : a.via.kind}`);
    const via = await openVia(a.via, a.viaOptions, (line) => progress.log(line, process.stderr));
    closeVia = () => via.close();
    const port = a.port ?? (a.tls ? 8883 : 1883);
    progress.status(`connecting to ${a.host}:${port} via ${via.describe}`);
    const tls: TlsOptions | undefined = a.tls
      ? {
          ...(a.ca !== undefined ? { ca: { file: a.ca } } : {}),
          ...(a.cert !== undefined ? { cert: { file: a.cert } } : {}),
          ...(a.key !== undefined ? { key: { file: a.key } } : {}),
          ...(a.insecure ? { verify: false } : {}),
        }
      : undefined;
    const options: MqttClientOptions = {
      host: a.host, port, protocolVersion: a.version, keepaliveSeconds: a.keepalive, reconnect: false,
      connectTimeoutMs: Math.min(deadlineMs ?? 30_000, 30_000),
      ...(tls !== undefined ? { tls } : {}),
      ...(a.clientId !== undefined ? { clientId: a.clientId } : {}),
      ...(a.username !== undefined ? { username: a.username } : {}),
      ...(a.password !== undefined ? { password: a.password } : {}),
    };
    const c = await MqttClient.connect(via.network, options);
    client = c;
    const where = `${a.host}:${port}${a.tls ? ' (TLS)' : ''} via ${via.describe}`;
    if (a.mode === 'pub') {
      progress.status(`publishing to ${a.topics[0] as string}`);
      await withTimeout(c.publish(a.topics[0] as string, payload as string | Uint8Array, { qos: a.qos, retain: a.retain }), deadlineMs ?? 30_000, 'publish');
      const size = typeof payload === 'string' ? new TextEncoder().encode(payload).length : (payload as Uint8Array).length;
      progress.done();
      console.log(`published ${size} bytes to ${a.topics[0] as string} (QoS ${a.qos}${a.retain ? ', retained' : ''}) at ${where}`);
      return 0;
    }
    let received = 0;
    let failure: Error | undefined;
    const finished = new Promise<void>((resolve) => {
      wake = resolve;
    });
    c.on('message', (m) => {
      if (a.count !== 0 && received >= a.count) return;
      received++;
      const line = a.json
        ? JSON.stringify({ topic: m.topic, payload: text(m.payload), qos: m.qos, retain: m.retain })
        : `${m.topic} ${text(m.payload)}`;
      progress.log(line);
      progress.update(received, a.count !== 0 ? `of ${a.count}` : '');
      if (a.count !== 0 && received >= a.count) wake();
    });
    c.on('offline', (e) => {
      failure = e.error ?? new Error('the broker closed the connection');
      wake();
    });
    const grants = await c.subscribe(a.topics, { qos: a.qos });
    const refused = grants.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) throw new Error(`the broker refused the subscription to ${refused.join(', ')}`);
    progress.log(`subscribed to ${a.topics.join(', ')} (QoS ${a.qos}) at ${where}`, process.stderr);
    progress.status(a.count !== 0 ? `waiting for ${a.count} messages` : 'waiting for messages (SIGINT stops)');
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    if (a.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        wake();
      }, a.timeoutMs);
    }
    await finished;
    clearTimeout(timer);
    progress.done();
    if (failure !== undefined) throw failure;
    if (timedOut && (a.count === 0 || received < a.count)) {
      console.error(`iotnet mqtt: ${received} message(s)${a.count !== 0 ? ` of ${a.count}` : ''} within ${a.timeoutMs as number / 1000} s`);
      return a.count === 0 ? 0 : 1;
    }
    console.error(`${received} message(s) received${interrupted ? ' (interrupted)' : ''}`);
    return 0;
  } catch (e) {
    progress.done();
    if (e instanceof UsageError) throw e;
    console.error(`iotnet mqtt: ${describeError(e)}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    clearInterval(keepAlive);
    if (client !== undefined) await withTimeout(client.end(), 5000, 'MQTT disconnect').catch(() => client?.end(true)).catch(() => {});
    await closeVia();
  }
}
