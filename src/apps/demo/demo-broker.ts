/**
 * The IoT demo's MQTT broker behind the gateway's TLS listener: the gateway terminates TLS
 * (`node:tls` over the userspace socket's `Duplex`, the demo-only broker certificate) and hands
 * the plain MQTT stream to one of
 *
 * - **aedes**, in this process (`broker.handle(stream)`), or
 * - **mosquitto**, a child process on a free loopback port: each stream is relayed to it over a
 *   TCP connection through the host stack (`createHostBackend`).
 *
 * Every stream passes an `MqttPublishTap` on its way in, so the gateway knows which connection
 * (and so which interface of which device) each PUBLISH came through, whatever the broker.
 * The gateway's own client (`connectClient`: the controller that reads the telemetry and sends
 * the commands) connects in process to aedes, and over loopback to mosquitto.
 */
import { Duplex } from 'node:stream';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import { createHostBackend } from '../../backends/host/index.ts';
import { MqttClient, type MqttClientOptions } from '../../clients/mqtt/index.ts';
import { findMosquitto, startMosquittoProcess, type MosquittoProcess } from '../../runtime/mosquitto-process.ts';
import { Network } from '../../socket/network.ts';
import type { TcpSocket } from '../../socket/tcp-socket.ts';
import { DEMO_BROKER_CERT_PEM, DEMO_BROKER_KEY_PEM } from './demo-pki.ts';
import { MqttPublishTap, type TappedPublish } from './mqtt-publish-tap.ts';

/** Which broker: `auto` (mosquitto when installed, else aedes), or either one. */
export type DemoBrokerChoice = 'auto' | 'aedes' | 'mosquitto';

/** One device connection through the gateway's TLS listener. */
export interface BrokerConnection {
  /** The TCP peer (a device's address, or the access point's for the WiFi device). */
  readonly remote: string;
  readonly tlsProtocol: string | undefined;
  readonly cipher: string | undefined;
}

/** What the gateway is told about device connections. */
export interface DemoBrokerEvents {
  /** A TLS handshake finished. */
  onSecure?: (c: BrokerConnection) => void;
  /** A PUBLISH went from a device towards the broker. */
  onPublish?: (c: BrokerConnection, p: TappedPublish) => void;
  /** A connection failed before or during TLS (handshake error, reset). */
  onError?: (c: BrokerConnection, e: Error) => void;
}

interface Backend {
  readonly kind: 'aedes' | 'mosquitto';
  readonly description: string;
  attach(clear: Duplex): void;
  client(network: Network, options: Omit<MqttClientOptions, 'host' | 'port' | 'tls'>): Promise<MqttClient>;
  close(): Promise<void>;
}

/** Two joined in-memory streams: what one writes the other reads. */
export function duplexPair(): [Duplex, Duplex] {
  const make = (peer: () => Duplex): Duplex => new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      peer().push(chunk);
      cb();
    },
    final(cb) {
      peer().push(null);
      cb();
    },
    destroy(err, cb) {
      const p = peer();
      if (!p.destroyed) p.destroy();
      cb(err);
    },
  });
  const a: Duplex = make(() => b);
  const b: Duplex = make(() => a);
  return [a, b];
}

async function aedesBackend(): Promise<Backend> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  return {
    kind: 'aedes',
    description: 'aedes (in process)',
    attach: (clear) => void broker.handle(clear),
    client: (network, options) => MqttClient.connect(network, { ...options, host: 'aedes.local', port: 1883 }, {
      transport: () => {
        const [ours, theirs] = duplexPair();
        broker.handle(theirs);
        return ours;
      },
    }),
    close: () => new Promise<void>((resolve) => broker.close(() => resolve())),
  };
}

async function mosquittoBackend(binary: string): Promise<Backend> {
  const proc: MosquittoProcess = await startMosquittoProcess({ binary });
  const host = new Network(createHostBackend());
  const relays = new Set<Duplex>();
  return {
    kind: 'mosquitto',
    description: `mosquitto (${binary}, pid ${proc.pid ?? '?'}, ${proc.host}:${proc.port})`,
    attach: (clear) => {
      const up = host.connectDuplex({ host: proc.host, port: proc.port });
      relays.add(up);
      const done = (): void => {
        relays.delete(up);
        if (!up.destroyed) up.destroy();
        if (!clear.destroyed) clear.destroy();
      };
      clear.on('error', done).on('close', done);
      up.on('error', done).on('close', done);
      clear.pipe(up);
      up.pipe(clear);
    },
    client: (_network, options) => MqttClient.connect(host, { ...options, host: proc.host, port: proc.port }),
    close: async () => {
      for (const r of relays) r.destroy();
      await host.close();
      await proc.stop();
    },
  };
}

/** The broker and the TLS termination in front of it. */
export class DemoBroker {
  readonly kind: 'aedes' | 'mosquitto';
  /** What runs, for people: `aedes (in process)`, `mosquitto (/usr/sbin/mosquitto, pid ..., 127.0.0.1:...)`. */
  readonly description: string;
  readonly #backend: Backend;
  readonly #secure: SecureContext;
  readonly #events: DemoBrokerEvents;
  readonly #open = new Set<Duplex>();

  private constructor(backend: Backend, events: DemoBrokerEvents) {
    this.#backend = backend;
    this.kind = backend.kind;
    this.description = backend.description;
    this.#events = events;
    this.#secure = createSecureContext({ cert: DEMO_BROKER_CERT_PEM, key: DEMO_BROKER_KEY_PEM, minVersion: 'TLSv1.2' });
  }

  /** `auto`: mosquitto when the host has it (and it starts), else aedes. */
  static async start(choice: DemoBrokerChoice, events: DemoBrokerEvents = {}): Promise<DemoBroker> {
    const binary = choice === 'aedes' ? undefined : findMosquitto();
    if (choice === 'mosquitto' && binary === undefined) throw new Error('--broker mosquitto: mosquitto is not installed (apt-get install mosquitto)');
    if (binary === undefined) return new DemoBroker(await aedesBackend(), events);
    try {
      return new DemoBroker(await mosquittoBackend(binary), events);
    } catch (e) {
      if (choice === 'mosquitto') throw e;
      const b = await aedesBackend();
      const why = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
      return new DemoBroker({ ...b, description: `${b.description}; mosquitto did not start: ${why}` }, events);
    }
  }

  /** Serves one accepted TCP connection: TLS, then plain MQTT to the broker. */
  serve(socket: TcpSocket): void {
    const conn = { remote: socket.remoteAddress.address, tlsProtocol: undefined as string | undefined, cipher: undefined as string | undefined };
    const raw = socket.toDuplex();
    const tls = new TLSSocket(raw, { isServer: true, secureContext: this.#secure });
    this.#open.add(tls);
    const tap = new MqttPublishTap((p) => this.#events.onPublish?.(conn, p));
    let failed = false;
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      this.#events.onError?.(conn, e);
    };
    tls.on('secure', () => {
      conn.tlsProtocol = tls.getProtocol() ?? undefined;
      conn.cipher = tls.getCipher()?.name;
      this.#events.onSecure?.(conn);
    });
    const clear = new Duplex({
      read: () => void tls.resume(),
      write: (chunk: Buffer, _enc, cb) => {
        if (tls.destroyed) cb();
        else tls.write(chunk, (e) => cb(e ?? undefined));
      },
      final: (cb) => {
        tls.end();
        cb();
      },
      destroy: (err, cb) => {
        if (!tls.destroyed) tls.destroy();
        cb(err);
      },
    });
    tls.on('data', (d: Buffer) => {
      tap.push(d);
      if (!clear.push(d)) tls.pause();
    });
    tls.on('end', () => clear.push(null));
    tls.on('error', (e) => {
      fail(e);
      clear.destroy();
    });
    raw.on('error', (e) => fail(e));
    tls.on('close', () => {
      this.#open.delete(tls);
      if (!raw.destroyed) raw.destroy();
      if (!clear.destroyed) clear.destroy();
    });
    clear.on('error', () => undefined);
    this.#backend.attach(clear);
  }

  /** The gateway's own MQTT client on the broker. */
  connectClient(network: Network, options: Omit<MqttClientOptions, 'host' | 'port' | 'tls'>): Promise<MqttClient> {
    return this.#backend.client(network, options);
  }

  /** Open device connections. */
  get connections(): number {
    return this.#open.size;
  }

  async close(): Promise<void> {
    for (const s of this.#open) s.destroy();
    this.#open.clear();
    await this.#backend.close();
  }
}
