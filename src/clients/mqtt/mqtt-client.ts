/**
 * `MqttClient`: an MQTT 3.1.1 / 5 client on any iotnet stack. mqtt.js does the protocol
 * (QoS 0/1/2 flows, sessions, keep-alive, offline queue, resubscription); iotnet gives
 * it the transport: a fresh `Duplex` over a socket of the caller's `Network` for every
 * connect (plain TCP, or TLS over it), so the same client runs over the host stack, the
 * userspace stack or an AT module, and after a failover over whatever stack the
 * `Network` now routes to.
 *
 * Reconnecting runs on mqtt.js's own machinery (so its stores, queued publishes and
 * resubscription carry over), with our timing: before each retry is scheduled the
 * period is set to the next back-off step (`minDelayMs`, doubling up to `maxDelayMs`,
 * ±20 % jitter; back to the start after a CONNACK), and a password function is asked
 * for a fresh password while the client waits (expiring SAS tokens and JWTs). QoS 1/2
 * publishes made while offline are kept in the outgoing store and sent after the
 * reconnect; QoS 0 ones too with `queueWhileOffline` (default true).
 *
 * Promise API: `connect` resolves at the first CONNACK; `publish` once the QoS flow ends
 * (written for QoS 0, PUBACK for 1, PUBCOMP for 2); `subscribe` with the grants;
 * `end` after DISCONNECT. Failures are `SocketError`s (transport) or `MqttError`s
 * (broker refusals, with the reason code; timeouts; protocol faults: bytes that are no
 * valid packet, a packet over `maxPacketBytes`, a FIN inside a packet, after which the
 * connection is dropped and the retry follows).
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { MqttClient as MqttJs, type IClientOptions, type IClientPublishOptions, type IPublishPacket, type ISubscriptionGrant } from 'mqtt';
import type { Rng } from '../../base/rand.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';
import type { Network } from '../../socket/network.ts';
import { connectTlsDuplex } from '../../tls/connect-tls.ts';
import { prepareTls, type PreparedTls } from '../../tls/tls-context.ts';
import { TlsSessionCache } from '../../tls/tls-session-cache.ts';
import type { TlsOptions } from '../../tls/tls-options.ts';
import type { MqttClientOptions, MqttPassword } from './mqtt-options.ts';
import { MqttError } from './mqtt-error.ts';
import { watchFrames } from './mqtt-frames.ts';
import type { Scheduler } from '../../base/time.ts';

/** Opens the byte stream to the broker (a fresh one per connect). */
export type MqttTransport = (host: string, port: number) => Duplex;

/** Options beyond `MqttClientOptions` that only programs (and tests) need. */
export interface MqttClientHooks {
  /** Opens the stream for TLS or anything else; default: plain TCP through the network. */
  readonly transport?: MqttTransport;
  /** Randomness for client ids and the back-off jitter (default: crypto). */
  readonly rng?: Rng;
}

/** Options of `MqttClient.publish`: QoS (default 0), retain flag (default false), MQTT 5 properties. */
export interface MqttPublishOptions {
  /** QoS level (default 0). */
  readonly qos?: 0 | 1 | 2;
  /** Retain flag (default false). */
  readonly retain?: boolean;
  /** MQTT 5 properties (content type, user properties, message expiry, ...). */
  readonly properties?: IClientPublishOptions['properties'];
}

/** A message received on a subscription (`message` event). */
export interface MqttMessage {
  /** The topic the message was published on. */
  readonly topic: string;
  /** The payload bytes. */
  readonly payload: Uint8Array;
  /** The QoS it was delivered with. */
  readonly qos: 0 | 1 | 2;
  /** Whether it is a retained message. */
  readonly retain: boolean;
  /** The packet as mqtt.js decoded it (MQTT 5 properties, dup flag, ...). */
  readonly packet: IPublishPacket;
}

/**
 * The client's state: `connecting` (first attempt), `connected`, `offline` (connection lost; waiting to reconnect,
 * or for good without reconnects), `closed` (after `end()` or a final failure).
 */
export type MqttState = 'connecting' | 'connected' | 'offline' | 'closed';

/** Events of `MqttClient`, by name, with their argument lists. */
export interface MqttClientEvents {
  /**
   * An accepting CONNACK: `sessionPresent` says whether the broker kept the session.
   * After a reconnect, publishes kept during the outage are being re-sent from here on.
   */
  connect: [{
    /** The broker kept the session. */
    sessionPresent: boolean;
    /** This CONNACK ended an outage (not the first connect). */
    reconnect: boolean;
  }];
  /**
   * A PUBLISH from the broker. Messages that arrive before the first listener is
   * attached (say, those a persistent session queued, which follow the CONNACK at once)
   * are held, up to 1000, and handed to it in order.
   */
  message: [MqttMessage];
  /** The connection is gone; a reconnect follows in `delayMs` (undefined: none). */
  offline: [{
    /** Why, when known. */
    error: Error | undefined;
    /** Delay before the next attempt, ms (undefined: none follows). */
    delayMs: number | undefined;
  }];
  /** A reconnect attempt starts (`attempt` counts from 1 since the last CONNACK). */
  reconnect: [{
    /** The attempt, counting from 1 since the last CONNACK. */
    attempt: number;
  }];
  /** Errors of the transport or the broker; the client carries on (reconnecting) unless closed. */
  error: [Error];
  /** `end()` finished, or reconnecting is off and the connection is gone. */
  close: [];
}

const DEFAULT_PORT = 1883;
/** Messages kept for the first `'message'` listener. */
const MAX_HELD_MESSAGES = 1000;
const DEFAULT_TLS_PORT = 8883;
const DEFAULT_MAX_PACKET_BYTES = 16 * 1024 * 1024;

/** The parts of mqtt.js's client used to drop a connection the way it does itself on a protocol error. */
interface MqttJsInternals {
  _cleanUp(forced: boolean): void;
  _currentPump?: { discardParsedPackets(): void } | null;
}

/**
 * An MQTT 3.1.1 / 5 client on any iotnet stack: mqtt.js does the protocol (QoS 0/1/2, sessions, keep-alive, offline
 * queue, resubscription); iotnet gives it a fresh `Duplex` over the caller's `Network` (plain TCP or TLS) for every
 * connect, so it runs over any stack and, after a failover, over whichever the `Network` routes to.
 * Reconnects back off from `minDelayMs` doubling to `maxDelayMs` (±20 % jitter) and ask a password function for a
 * fresh password (expiring SAS tokens, JWTs). `connect` resolves at the first CONNACK; `publish` when the QoS flow
 * ends; failures are `SocketError`s (transport) or `MqttError`s (refusals, timeouts, protocol faults).
 */
export class MqttClient extends EventEmitter<MqttClientEvents> {
  /** The mqtt.js client underneath (for what this API does not cover). */
  readonly mqtt: MqttJs;
  /** The broker host (as given). */
  readonly host: string;
  /** The broker port. */
  readonly port: number;
  #state: MqttState = 'connecting';
  readonly #password: MqttPassword | undefined;
  readonly #rng: Rng;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  readonly #reconnect: boolean;
  readonly #scheduler: Scheduler | undefined;
  #attempt = 0;
  /** Back-off delay of the retry being scheduled, and the timer when a scheduler runs the retries. */
  #retryDelay = 0;
  #retryTimer: (() => void) | undefined;
  #everConnected = false;
  #lastError: Error | undefined;
  #ending = false;
  readonly #held: MqttMessage[] = [];
  #heldDropped = 0;
  /** The stream dropped for a protocol fault (further faults of it are its echoes). */
  #faulted: unknown;

  private constructor(
    network: Network,
    options: MqttClientOptions,
    hooks: MqttClientHooks,
    password: string | Uint8Array | undefined,
    tls: { readonly options: TlsOptions; readonly prepared: PreparedTls } | undefined,
  ) {
    super();
    this.host = options.host;
    this.port = options.port ?? (options.tls !== undefined && options.tls !== false ? DEFAULT_TLS_PORT : DEFAULT_PORT);
    this.#password = options.password;
    this.#rng = hooks.rng ?? new CryptoRng();
    const rc = options.reconnect;
    this.#reconnect = rc !== false;
    this.#scheduler = options.scheduler;
    this.#minDelay = rc !== false ? rc?.minDelayMs ?? 1000 : 0;
    this.#maxDelay = rc !== false ? Math.max(this.#minDelay, rc?.maxDelayMs ?? 30_000) : 0;
    // TLS: credentials loaded once, and a session cache so reconnects resume the session.
    const sessions = tls !== undefined ? new TlsSessionCache({ maxEntries: 4 }) : undefined;
    const transport = hooks.transport ?? (tls !== undefined
      ? (host: string, port: number) => connectTlsDuplex(network, { host, port }, { ...tls.options, prepared: tls.prepared, sessionCache: sessions })
      : (host: string, port: number) => network.connectDuplex({ host, port }));
    const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    const v5 = options.protocolVersion === 5;
    const properties: IClientOptions['properties'] = {
      ...(options.sessionExpirySeconds !== undefined ? { sessionExpiryInterval: options.sessionExpirySeconds } : {}),
      // MQTT 5: the broker must not send larger packets (it drops them instead).
      ...(v5 && maxPacketBytes <= 0xffffffff ? { maximumPacketSize: maxPacketBytes } : {}),
    };
    const opts: IClientOptions = {
      protocolVersion: options.protocolVersion ?? 4,
      clientId: options.clientId ?? `iotnet_${this.#rng.nextU32().toString(16).padStart(8, '0')}`,
      keepalive: options.keepaliveSeconds ?? 60,
      clean: options.clean ?? true,
      // mqtt.js reconnects (its stores and queues carry over); the period is set per retry.
      reconnectPeriod: this.#reconnect ? this.#minDelay : 0,
      // A refusing CONNACK is retried too (with the back-off, and a fresh password).
      reconnectOnConnackError: this.#reconnect,
      connectTimeout: options.connectTimeoutMs ?? 30_000,
      queueQoSZero: options.queueWhileOffline ?? true,
      resubscribe: true,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(password !== undefined ? { password: toBuffer(password) } : {}),
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
      ...(options.will !== undefined ? {
        will: {
          topic: options.will.topic,
          payload: toBuffer(options.will.payload),
          qos: options.will.qos ?? 0,
          retain: options.will.retain ?? false,
        },
      } : {}),
    };
    this.mqtt = new MqttJs(() => {
      const stream = transport(this.host, this.port);
      // Oversized packets refused at their header, a FIN inside a packet or before CONNACK reported.
      watchFrames(stream, maxPacketBytes, (e) => {
        if (!this.#ending && stream === this.mqtt.stream) this.mqtt.emit('error', e);
      });
      return stream as ReturnType<ConstructorParameters<typeof MqttJs>[0]>;
    }, opts);
    // Connected at the accepting CONNACK (mqtt.js's own 'connect' waits until the
    // publishes kept during an outage were all re-sent and acknowledged, one at a time);
    // announced once mqtt.js has handled the CONNACK, so publishing from a listener works.
    this.mqtt.on('packetreceive', (packet) => {
      if (packet.cmd !== 'connack' || (packet.returnCode ?? packet.reasonCode ?? 0) !== 0) return;
      queueMicrotask(() => {
        if (this.#ending || !this.mqtt.connected) return;
        const reconnect = this.#everConnected;
        this.#everConnected = true;
        this.#attempt = 0;
        this.#lastError = undefined;
        this.#state = 'connected';
        this.emit('connect', { sessionPresent: packet.sessionPresent ?? false, reconnect });
      });
    });
    this.mqtt.on('message', (topic, payload, packet) => {
      const m: MqttMessage = {
        topic,
        payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
        qos: packet.qos,
        retain: packet.retain,
        packet,
      };
      // Held while nobody listens yet (a persistent session's queued messages come right
      // behind the CONNACK, before `connect()` has resolved), and while held ones are
      // still being handed over, so the order holds.
      if (this.#held.length > 0 || this.listenerCount('message') === 0) {
        if (this.#held.length < MAX_HELD_MESSAGES) this.#held.push(m);
        else this.#heldDropped++;
        return;
      }
      this.emit('message', m);
    });
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'message' && this.#held.length > 0) queueMicrotask(() => this.#flushHeld());
    });
    this.mqtt.on('error', (e) => {
      const err = MqttError.from(e);
      if (err instanceof MqttError && err.reason === 'protocol') {
        // MQTT §4.8: bytes that are no valid packet, or a packet that breaks the protocol,
        // close the connection (mqtt.js leaves it open after a parser error): the retry
        // follows. What the parser still finds in the same dead stream is not reported.
        if (this.#faulted === this.mqtt.stream) return;
        this.#faulted = this.mqtt.stream;
        this.#dropConnection();
      }
      // The first failure of a connection explains what follows it (a broker's refusal
      // or a TLS alert, then the reset): keep the first until the next attempt.
      this.#lastError ??= err;
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    // Before mqtt.js's own 'close' handler schedules the retry: our back-off step.
    this.mqtt.prependListener('close', () => this.#beforeRetry());
    this.mqtt.on('close', () => this.#afterClose());
    this.mqtt.on('reconnect', () => {
      this.#state = 'connecting';
      this.#lastError = undefined;
      this.emit('reconnect', { attempt: this.#attempt });
    });
  }

  /**
   * Connects to the broker of `options` through `network` and resolves at the first
   * CONNACK. Rejects with the first failure when `reconnect` is false; otherwise keeps
   * trying (with back-off) until connected or `signal` aborts.
   */
  static async connect(network: Network, options: MqttClientOptions, hooks: MqttClientHooks & { signal?: AbortSignal } = {}): Promise<MqttClient> {
    if ((options.protocolVersion ?? 4) === 4 && options.password !== undefined && options.username === undefined) {
      // MQTT 3.1.1 §3.1.2.9: no password without a user name.
      throw new TypeError('MQTT 3.1.1 sends a password only with a username: set `username` (or use protocolVersion 5)');
    }
    let tls: { options: TlsOptions; prepared: PreparedTls } | undefined;
    if (options.tls !== undefined && options.tls !== false && hooks.transport === undefined) {
      const tlsOptions = options.tls === true ? {} : options.tls;
      tls = { options: tlsOptions, prepared: await prepareTls(tlsOptions, { op: 'mqtt-connect', backend: network.backend.name, address: `${options.host}:${options.port ?? DEFAULT_TLS_PORT}` }) };
    }
    const password = await resolvePassword(options.password);
    const client = new MqttClient(network, options, hooks, password, tls);
    return new Promise<MqttClient>((resolve, reject) => {
      const cleanup = (): void => {
        client.off('connect', onConnect);
        client.off('close', onClose);
        client.off('offline', onOffline);
        hooks.signal?.removeEventListener('abort', onAbort);
      };
      const onConnect = (): void => {
        cleanup();
        resolve(client);
      };
      const onClose = (): void => {
        cleanup();
        reject(client.#lastError ?? new MqttError('connection closed before CONNACK', 'closed'));
      };
      const onOffline = (): void => {
        if (client.#reconnect) return;
        cleanup();
        const err = client.#lastError ?? new MqttError('connection lost before CONNACK', 'closed');
        void client.end(true).finally(() => reject(err));
      };
      const onAbort = (): void => {
        cleanup();
        void client.end(true).finally(() => reject(hooks.signal?.reason));
      };
      client.on('connect', onConnect);
      client.on('close', onClose);
      client.on('offline', onOffline);
      if (hooks.signal?.aborted) onAbort();
      else hooks.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The state now (see `MqttState`). */
  get state(): MqttState {
    return this.#state;
  }

  /** True while a CONNACK-accepted connection is up. */
  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** Publishes; resolves when the QoS flow completed (or the packet was queued offline, for QoS 0). */
  publish(topic: string, payload: string | Uint8Array, opts: MqttPublishOptions = {}): Promise<void> {
    const po: IClientPublishOptions = { qos: opts.qos ?? 0, retain: opts.retain ?? false, ...(opts.properties !== undefined ? { properties: opts.properties } : {}) };
    return new Promise((resolve, reject) => {
      this.mqtt.publish(topic, typeof payload === 'string' ? payload : toBuffer(payload), po, (err) => (err ? reject(MqttError.from(err)) : resolve()));
    });
  }

  /** Subscribes; resolves with the broker's grants (a grant of 128 is a refusal). */
  subscribe(filters: string | readonly string[], opts: { qos?: 0 | 1 | 2 } = {}): Promise<ISubscriptionGrant[]> {
    return new Promise((resolve, reject) => {
      this.mqtt.subscribe(typeof filters === 'string' ? filters : [...filters], { qos: opts.qos ?? 0 }, (err, granted) => (err ? reject(MqttError.from(err)) : resolve(granted ?? [])));
    });
  }

  /** Unsubscribes; resolves at the broker's UNSUBACK; rejects with `MqttError` or `SocketError`. */
  unsubscribe(filters: string | readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.mqtt.unsubscribe(typeof filters === 'string' ? filters : [...filters], (err) => (err ? reject(MqttError.from(err)) : resolve()));
    });
  }

  /** Disconnects (DISCONNECT after the queued packets; `force`: drop the connection at once) and stops reconnecting. */
  end(force = false): Promise<void> {
    this.#ending = true;
    this.#retryTimer?.();
    this.#retryTimer = undefined;
    if (this.#state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      this.mqtt.end(force, () => {
        this.#setClosed();
        resolve();
      });
    });
  }

  /** Messages that arrived while no `'message'` listener was attached and were dropped (over the 1000 held). */
  get droppedUnheard(): number {
    return this.#heldDropped;
  }

  #flushHeld(): void {
    while (this.#held.length > 0 && this.listenerCount('message') > 0) this.emit('message', this.#held.shift() as MqttMessage);
  }

  /** Drops the connection as mqtt.js does on its own protocol errors, and everything parsed from it still queued. */
  #dropConnection(): void {
    const m = this.mqtt as unknown as MqttJsInternals;
    if (m._currentPump) {
      m._currentPump.discardParsedPackets();
      m._currentPump = null; // packets the parser still finds in this stream are dropped too
    }
    if (!this.mqtt.stream.destroyed) m._cleanUp(true);
  }

  #setClosed(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.emit('close');
  }

  /** The connection is gone: set the next retry's delay (mqtt.js schedules it right after) and refresh the password meanwhile. */
  #beforeRetry(): void {
    if (this.#ending || !this.#reconnect || this.#state === 'closed') return;
    // mqtt.js keeps one interval timer per outage; a new one at the new period is set
    // only once the old one is gone.
    (this.mqtt as unknown as { _clearReconnect(): void })._clearReconnect();
    const delay = this.#backoff();
    this.#attempt++;
    this.#retryDelay = delay;
    this.mqtt.options.reconnectPeriod = delay;
    this.#state = 'offline';
    this.emit('offline', { error: this.#lastError, delayMs: delay });
    if (typeof this.#password === 'function') void this.#refreshPassword();
  }

  #afterClose(): void {
    if (this.#state === 'closed') return;
    if (this.#ending) {
      this.#setClosed();
      return;
    }
    if (this.#reconnect) {
      this.#moveRetryToScheduler();
      return;
    }
    const wasConnecting = !this.#everConnected;
    this.#state = 'offline';
    this.emit('offline', { error: this.#lastError, delayMs: undefined });
    if (!wasConnecting) this.#setClosed();
  }

  /**
   * With `scheduler`: mqtt.js has just armed its real-time retry timer; replace it by one on the
   * scheduler's clock (mqtt.js's own retry, `_reconnect`, keeps its stores and queued publishes).
   */
  #moveRetryToScheduler(): void {
    const scheduler = this.#scheduler;
    const m = this.mqtt as unknown as { _clearReconnect(): void; _reconnect(): void; reconnectTimer: unknown };
    if (scheduler === undefined || m.reconnectTimer === null || m.reconnectTimer === undefined) return;
    m._clearReconnect();
    this.#retryTimer?.();
    this.#retryTimer = scheduler.setTimer(this.#retryDelay, () => {
      this.#retryTimer = undefined;
      if (this.#ending || this.#state === 'closed' || this.mqtt.connected) return;
      m._reconnect();
    });
  }

  #backoff(): number {
    const base = Math.min(this.#maxDelay, this.#minDelay * 2 ** Math.min(this.#attempt, 30));
    const jitter = 0.8 + 0.4 * (this.#rng.nextU32() / 0x100000000);
    return Math.max(1, Math.round(base * jitter));
  }

  async #refreshPassword(): Promise<void> {
    try {
      const pw = await resolvePassword(this.#password);
      if (pw !== undefined) this.mqtt.options.password = toBuffer(pw);
    } catch (e) {
      this.#lastError = new MqttError('the password function failed', 'password', { cause: e });
      if (this.listenerCount('error') > 0) this.emit('error', this.#lastError);
    }
  }
}

async function resolvePassword(p: MqttPassword | undefined): Promise<string | Uint8Array | undefined> {
  return typeof p === 'function' ? await p() : p;
}

function toBuffer(v: string | Uint8Array): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
