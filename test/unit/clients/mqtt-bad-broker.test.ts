/**
 * The MQTT client against a scripted broker that misbehaves: garbage instead of a
 * CONNACK (random, seeded, and bytes crafted to make mqtt-packet's parser throw), a
 * truncated CONNACK then FIN, a truncated packet then silence (connect timeout, keep-
 * alive), garbage in the middle of a session, refusals (3.1.1 return code 5, MQTT 5
 * reason code 0x87), a packet announcing 200 MB, a duplicate CONNACK, and garbage over
 * TLS. After each fault the client reports one clear error (an `MqttError` with a
 * reason, or a `SocketError`), goes offline and reconnects; the broker then behaves, and
 * a publish goes through. With `reconnect: false`, `connect()` rejects with that error.
 * No uncaught exception, no unhandled rejection, no client socket left open. On the host
 * stack (node:net broker on 127.0.0.1) and over two userspace stacks (the broker is a
 * TCP server on stack B); the error classification and the frame tracker also alone.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { after, afterEach, before, describe, it } from 'node:test';
import mqttPacket, { type IConnectPacket, type ISubscribePacket, type Packet } from 'mqtt-packet';
import { isSocketError } from '../../../src/base/socket-error.ts';
import { randomInt, XorShiftRng } from '../../../src/base/rand.ts';
import { MqttClient, MqttError, type MqttClientOptions, type MqttMessage } from '../../../src/clients/mqtt/index.ts';
import { MqttFrameTracker } from '../../../src/clients/mqtt/mqtt-frames.ts';
import { createTestPki, type TestPki } from '../../support/test-pki.ts';
import { hostFixture, userspaceFixture, type Fixture } from '../tls/tls-fixtures.ts';

/** One connection to the scripted broker, from the broker's side. */
class BrokerConn {
  readonly #d: Duplex;
  readonly #queue: Packet[] = [];
  #wake: (() => void) | undefined;
  #version: 4 | 5 = 4;
  readonly closed: Promise<void>;
  /** The topic filters of the first SUBSCRIBE that `serve` answered. */
  readonly subscribed: Promise<string[]>;
  #onSubscribe: (filters: string[]) => void = () => undefined;

  constructor(d: Duplex) {
    this.#d = d;
    const parser = mqttPacket.parser();
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connect') this.#version = p.protocolVersion === 5 ? 5 : 4;
      this.#queue.push(p);
      this.#wake?.();
    });
    parser.on('error', () => d.destroy());
    d.on('data', (chunk: Buffer) => parser.parse(chunk));
    this.closed = new Promise((resolve) => d.once('close', () => resolve()));
    void this.closed.then(() => this.#wake?.());
    this.subscribed = new Promise((resolve) => (this.#onSubscribe = resolve));
  }

  get version(): 4 | 5 {
    return this.#version;
  }

  get isClosed(): boolean {
    return this.#d.destroyed;
  }

  /** The next packet from the client (undefined once the connection is gone). */
  async next(): Promise<Packet | undefined> {
    for (;;) {
      const p = this.#queue.shift();
      if (p !== undefined) return p;
      if (this.#d.destroyed) return undefined;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  send(p: Packet): void {
    this.raw(mqttPacket.generate(p, { protocolVersion: this.#version }));
  }

  raw(bytes: Uint8Array): void {
    if (!this.#d.destroyed) this.#d.write(bytes);
  }

  connack(code = 0): void {
    this.send(this.#version === 5
      ? { cmd: 'connack', sessionPresent: false, reasonCode: code }
      : { cmd: 'connack', sessionPresent: false, returnCode: code });
  }

  suback(p: ISubscribePacket): void {
    this.send({ cmd: 'suback', messageId: p.messageId ?? 0, granted: p.subscriptions.map((s) => s.qos) });
  }

  /** Writes `chunk` again and again (with back-pressure) until `max` bytes or the client closes. */
  async flood(chunk: Uint8Array, max: number): Promise<number> {
    let sent = 0;
    while (sent < max && !this.#d.destroyed) {
      sent += chunk.length;
      if (!this.#d.write(chunk)) {
        await Promise.race([once(this.#d, 'drain'), this.closed]).catch(() => undefined);
      }
    }
    return sent;
  }

  /** FIN. */
  end(): void {
    this.#d.end();
  }

  /** Behaves after the CONNACK: SUBACK, PUBACK, PINGRESP, and publishes back to matching subscriptions. */
  async serve(): Promise<void> {
    const subs: string[] = [];
    for (;;) {
      const p = await this.next();
      if (p === undefined) return;
      switch (p.cmd) {
        case 'subscribe':
          for (const s of p.subscriptions) subs.push(s.topic);
          this.#onSubscribe(p.subscriptions.map((s) => s.topic));
          this.suback(p);
          break;
        case 'publish': {
          if (p.qos > 0) this.send({ cmd: 'puback', messageId: p.messageId ?? 0 });
          const topic = p.topic.toString();
          if (subs.some((f) => f === topic || (f.endsWith('#') && topic.startsWith(f.slice(0, -1))))) {
            this.send({ cmd: 'publish', topic, payload: p.payload, qos: 0, retain: false, dup: false });
          }
          break;
        }
        case 'pingreq':
          this.send({ cmd: 'pingresp' });
          break;
        case 'disconnect':
          this.end();
          return;
        default:
          break;
      }
    }
  }
}

type Behaviour = (c: BrokerConn, connect: IConnectPacket) => Promise<void> | void;

/** A TCP server that runs the next behaviour of `script` on each connection (then behaves). */
class ScriptedBroker {
  readonly script: Behaviour[] = [];
  readonly conns: BrokerConn[] = [];
  readonly versions: number[] = [];
  /** Whether the latest connection is served by `good` (the faults of the script are behind). */
  latestGood = false;
  port = 0;

  async start(fx: Fixture): Promise<this> {
    this.port = await fx.tcpServer((d) => this.#handle(d));
    return this;
  }

  /** A TLS listener for the same script; returns its port. */
  async listenTls(fx: Fixture, options: tls.TlsOptions): Promise<number> {
    return (await fx.tlsServer(options, (s) => this.#handle(s))).port;
  }

  #handle(d: Duplex): void {
    const c = new BrokerConn(d);
    this.conns.push(c);
    const behaviour = this.script.shift() ?? good;
    this.latestGood = behaviour === good;
    void (async () => {
      const first = await c.next();
      if (first?.cmd !== 'connect') return c.end();
      this.versions.push(first.protocolVersion ?? 0);
      await behaviour(c, first);
    })().catch(() => undefined);
  }

  /** FIN on every open connection (connected clients go offline and reconnect). */
  dropAll(): void {
    for (const c of this.conns) if (!c.isClosed) c.end();
  }
}

// Behaviours (the CONNECT has been read when they run).
const good: Behaviour = (c) => {
  c.connack();
  return c.serve();
};
const replyWith = (bytes: number[] | Uint8Array): Behaviour => (c) => c.raw(Uint8Array.from(bytes));
const replyThenFin = (bytes: number[]): Behaviour => (c) => {
  c.raw(Uint8Array.from(bytes));
  c.end();
};
const refuse = (code: number): Behaviour => (c) => c.connack(code);

/** Garbage: 1..48 random bytes from `rng`. */
function garbage(rng: XorShiftRng): Uint8Array {
  const out = new Uint8Array(randomInt(rng, 1, 48));
  for (let i = 0; i < out.length; i++) out[i] = rng.nextU32() & 0xff;
  return out;
}

/** The MQTT variable byte integer of `n`. */
function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

const HUGE = 200 * 1024 * 1024;
/** Each case is done in well under a second or two; a hang fails it instead. */
const T = { timeout: 15_000 };

/** Bytes that make mqtt-packet's parser throw, and the message it gives. */
const PARSER_FAULTS: ReadonlyArray<{ name: string; bytes: number[]; message: RegExp }> = [
  { name: 'reserved packet type 0', bytes: [0x00, 0x00], message: /Not supported/ },
  { name: 'CONNACK with reserved flags set', bytes: [0x2f, 0x02, 0x00, 0x00], message: /Invalid header flag bits/ },
  { name: 'remaining length of five bytes', bytes: [0x20, 0xff, 0xff, 0xff, 0xff, 0x01], message: /Invalid variable byte integer/ },
  { name: 'PUBLISH with QoS 3', bytes: [0x36, 0x00], message: /both QoS bits/ },
  { name: 'CONNACK with bits 7-1 of its flags set', bytes: [0x20, 0x02, 0xfe, 0x00], message: /Invalid connack flags/ },
  { name: 'AUTH under MQTT 3.1.1', bytes: [0xf0, 0x00], message: /auth/i },
];

interface Watch {
  readonly errors: Error[];
  readonly offline: Array<Error | undefined>;
  /** Resolves at the next reconnect's 'connect' for which `pred` holds. */
  reconnected(pred?: () => boolean): Promise<void>;
}

function watch(c: MqttClient): Watch {
  const w = { errors: [] as Error[], offline: [] as Array<Error | undefined> };
  c.on('error', (e) => w.errors.push(e));
  c.on('offline', (e) => w.offline.push(e.error));
  return {
    ...w,
    reconnected: (pred = () => true) => new Promise((resolve) => {
      const on = (e: { reconnect: boolean }): void => {
        if (!e.reconnect || !pred()) return;
        c.off('connect', on);
        resolve();
      };
      c.on('connect', on);
    }),
  };
}

function isMqttError(e: unknown, reason: MqttError['reason']): e is MqttError {
  return e instanceof MqttError && e.reason === reason;
}

/** A clear error: an MqttError with a reason, or a SocketError with a code; a message either way. */
function assertClear(e: Error | undefined): void {
  assert.ok(e !== undefined, 'an error');
  assert.ok(e.message.length > 8, `a message: ${e.message}`);
  if (e instanceof MqttError) assert.ok(e.reason !== 'other', `classified: ${e.message}`);
  else assert.ok(isSocketError(e), `an MqttError or a SocketError: ${e.name}: ${e.message}`);
}

/** Subscribes to echo/#, publishes with QoS 1 and waits for the message to come back. */
async function roundTrip(c: MqttClient, tag: string): Promise<void> {
  const got = new Promise<MqttMessage>((resolve) => {
    const on = (m: MqttMessage): void => {
      if (m.topic !== `echo/${tag}`) return;
      c.off('message', on);
      resolve(m);
    };
    c.on('message', on);
  });
  await c.subscribe('echo/#', { qos: 1 });
  await c.publish(`echo/${tag}`, tag, { qos: 1 });
  assert.equal(new TextDecoder().decode((await got).payload), tag);
}

describe('MqttError.from and MqttFrameTracker (no network)', () => {
  it('classifies what mqtt-packet\'s parser and mqtt.js raise', () => {
    for (const f of PARSER_FAULTS) {
      const p = mqttPacket.parser({ protocolVersion: 4 });
      let raised: Error | undefined;
      p.on('error', (e: Error) => (raised ??= e));
      p.parse(Buffer.from(f.bytes));
      assert.ok(raised !== undefined, f.name);
      const e = MqttError.from(raised);
      assert.ok(isMqttError(e, 'protocol'), `${f.name}: ${e.message}`);
      assert.equal(e.reasonCode, 0x81);
      assert.match(e.message, /^malformed packet from the broker: /);
      assert.equal(e.cause, raised);
    }
    const coded = (message: string, code: number): Error => Object.assign(new Error(message), { code });
    const cases: Array<[Error, MqttError['reason'], number | undefined]> = [
      [new Error('connack timeout'), 'timeout', undefined],
      [new Error('Keepalive timeout'), 'timeout', undefined],
      [coded('Connection refused: Not authorized', 5), 'refused', 5],
      [coded('Connection refused: Bad User Name or Password', 0x86), 'refused', 0x86],
      [coded('Protocol error: duplicate CONNACK on the same network connection', 130), 'protocol', 130],
      [new Error('Protocol error: puback does not answer the subscribe pending on message id 7'), 'protocol', 0x82],
      [coded('exceeding packets size connack: 300 bytes, maximumPacketSize is 200', 149), 'protocol', 149],
      [coded('Received unregistered Topic Alias', 130), 'protocol', 130],
      [coded('Publish error: Quota exceeded', 151), 'refused', 151],
      [new Error('Connection closed'), 'closed', undefined],
      [new Error('Invalid topic a/#/b'), 'other', undefined], // ours, not the broker's
      [new Error('Unregistered Topic Alias'), 'other', undefined],
    ];
    for (const [raw, reason, code] of cases) {
      const e = MqttError.from(raw);
      assert.ok(isMqttError(e, reason), `${raw.message}: ${e instanceof MqttError ? e.reason : e.name}`);
      assert.equal(e.reasonCode, code, raw.message);
    }
  });

  it('follows packets across any chunking: the limit at the header, a cut packet at the end', () => {
    const packets = [
      mqttPacket.generate({ cmd: 'connack', sessionPresent: false, returnCode: 0 }),
      mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(300, 1), qos: 1, messageId: 9, retain: false, dup: false }),
      mqttPacket.generate({ cmd: 'pingresp' }),
    ];
    const whole = Buffer.concat(packets);
    const feedAll = (bytes: Uint8Array, cuts: number[], max: number): { error: MqttError | undefined; tracker: MqttFrameTracker } => {
      const tracker = new MqttFrameTracker(max);
      let at = 0;
      for (const cut of [...cuts.filter((c) => c < bytes.length).sort((a, b) => a - b), bytes.length]) {
        const error = tracker.feed(bytes.subarray(at, cut));
        at = cut;
        if (error !== undefined) return { error, tracker };
      }
      return { error: undefined, tracker };
    };
    fc.assert(fc.property(fc.array(fc.nat({ max: whole.length }), { maxLength: 12 }), fc.nat({ max: whole.length }), (cuts, keep) => {
      const full = feedAll(whole, cuts, 1024);
      assert.equal(full.error, undefined);
      assert.equal(full.tracker.ended(), undefined, 'whole packets: nothing cut');
      assert.equal(full.tracker.sawConnack, true);
      // Cut anywhere: reported unless the cut falls between packets.
      const { tracker } = feedAll(whole.subarray(0, keep), cuts, 1024);
      const boundaries = new Set([0, packets[0]!.length, packets[0]!.length + packets[1]!.length, whole.length]);
      const end = tracker.ended();
      if (keep === 0) assert.equal(end?.reason, 'closed');
      else if (boundaries.has(keep)) assert.equal(end, undefined, `cut at ${keep}`);
      else {
        assert.equal(end?.reason, 'protocol', `cut at ${keep}`);
        assert.match(end.message, keep < packets[0]!.length ? /CONNACK/ : keep < packets[0]!.length + packets[1]!.length ? /PUBLISH/ : /PINGRESP/);
      }
      // A limit below the PUBLISH: refused at its header, whatever the chunking.
      const small = feedAll(whole, cuts, 100);
      assert.equal(small.error?.reason, 'protocol');
      assert.equal(small.error.reasonCode, 0x95);
      assert.match(small.error.message, /PUBLISH packet of 310 bytes/);
    }), { seed: 0x5eed, numRuns: 200 });
  });
});

let pki: TestPki;
before(async () => {
  pki = await createTestPki({ serverSans: ['10.0.0.2', 'broker.test'] });
});
after(() => pki.dispose());

for (const kind of ['host', 'userspace'] as const) {
  describe(`MqttClient against a misbehaving broker (${kind} stack)`, () => {
    let fx: Fixture;
    let broker: ScriptedBroker;
    const uncaught: unknown[] = [];
    const unhandled: unknown[] = [];
    const onUncaught = (e: unknown): void => void uncaught.push(e);
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    const clients: MqttClient[] = [];

    before(async () => {
      process.on('uncaughtException', onUncaught);
      process.on('unhandledRejection', onUnhandled);
      fx = kind === 'host' ? await hostFixture() : await userspaceFixture();
      broker = await new ScriptedBroker().start(fx);
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.end(true)));
      broker.script.length = 0;
      broker.dropAll();
      assert.deepEqual(uncaught, [], 'no uncaught exception');
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
    });
    after(async () => {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUnhandled);
      assert.equal(fx.clientOpen, 0, 'no client socket left open');
      await fx.close();
    });

    const options = (extra: Partial<MqttClientOptions> = {}): MqttClientOptions => ({
      host: fx.serverIp,
      port: broker.port,
      reconnect: { minDelayMs: 20, maxDelayMs: 50 },
      connectTimeoutMs: 1000,
      ...extra,
    });
    const connect = async (extra: Partial<MqttClientOptions> = {}): Promise<MqttClient> => {
      const c = await MqttClient.connect(fx.client, options(extra), { rng: new XorShiftRng(99) });
      clients.push(c);
      return c;
    };
    /**
     * Connects to a well-behaved broker, then drops the connection: the reconnects meet
     * `faults`, one connection each; resolves once connected to a well-behaved one again.
     */
    const throughFaults = async (faults: Behaviour[], extra: Partial<MqttClientOptions> = {}): Promise<{ c: MqttClient; w: Watch }> => {
      const c = await connect(extra);
      const w = watch(c);
      const back = w.reconnected(() => broker.latestGood);
      broker.script.push(...faults);
      broker.dropAll();
      await back;
      return { c, w };
    };
    /** `connect` with reconnect off must reject; returns the error. */
    const rejected = async (behaviour: Behaviour, extra: Partial<MqttClientOptions> = {}): Promise<Error> => {
      broker.script.push(behaviour);
      const err = await MqttClient.connect(fx.client, options({ reconnect: false, ...extra }), { rng: new XorShiftRng(98) }).then(
        (c) => {
          clients.push(c);
          return assert.fail('connect resolved');
        },
        (e: unknown) => e as Error,
      );
      assertClear(err);
      return err;
    };

    it('garbage instead of a CONNACK: each crafted parser fault is one protocol error, then a reconnect', T, async () => {
      const { c, w } = await throughFaults(PARSER_FAULTS.map((f) => replyWith(f.bytes)));
      assert.equal(w.errors.length, PARSER_FAULTS.length, w.errors.map((e) => e.message).join('; '));
      for (const [i, f] of PARSER_FAULTS.entries()) {
        const e = w.errors[i];
        assert.ok(isMqttError(e, 'protocol'), `${f.name}: ${e?.name} ${e?.message}`);
        assert.match(e.message, f.message, f.name);
        assert.match(e.message, /broker/, 'the message says who sent it');
      }
      assert.equal(w.offline.length, PARSER_FAULTS.length + 1, 'offline after the drop and after each fault');
      assert.ok(c.connected);
      await roundTrip(c, 'crafted');
    });

    it('random garbage instead of a CONNACK (20 seeded blocks): one clear error per connection, then connected', T, async () => {
      const rng = new XorShiftRng(0x6a7ba9e);
      const blocks = Array.from({ length: 20 }, () => garbage(rng));
      const { c, w } = await throughFaults(blocks.map((b) => replyWith(b)), { connectTimeoutMs: 300 });
      assert.equal(w.errors.length, blocks.length, w.errors.map((e) => e.message).join('; '));
      for (const e of w.errors) {
        assertClear(e);
        assert.ok(isMqttError(e, 'protocol') || isMqttError(e, 'timeout') || isMqttError(e, 'refused'), `${e.name}: ${e.message}`);
      }
      assert.ok(w.errors.filter((e) => isMqttError(e, 'protocol')).length >= 10, 'mostly parser faults');
      await roundTrip(c, 'random');
    });

    it('garbage instead of a CONNACK with reconnect off: connect() rejects with the protocol error', T, async () => {
      const err = await rejected(replyWith([0x2f, 0x02, 0x00, 0x00]));
      assert.ok(isMqttError(err, 'protocol'), `${err.name}: ${err.message}`);
      assert.match(err.message, /Invalid header flag bits/);
    });

    it('a truncated CONNACK then FIN: a protocol error naming the cut packet, then a reconnect', T, async () => {
      const { c, w } = await throughFaults([replyThenFin([0x20, 0x02, 0x00])]);
      assert.equal(w.errors.length, 1, w.errors.map((e) => e.message).join('; '));
      const e = w.errors[0];
      assert.ok(isMqttError(e, 'protocol'), `${e?.name}: ${e?.message}`);
      assert.match(e.message, /CONNACK/);
      assert.match(e.message, /ended|closed/);
      await roundTrip(c, 'fin');
      const err = await rejected(replyThenFin([0x20, 0x02, 0x00]));
      assert.ok(isMqttError(err, 'protocol'), `${err.name}: ${err.message}`);
      // A FIN before any CONNACK byte: 'closed'.
      const closed = await rejected(replyThenFin([]));
      assert.ok(isMqttError(closed, 'closed'), `${closed.name}: ${closed.message}`);
      assert.match(closed.message, /before CONNACK/);
    });

    it('a truncated CONNACK then silence: the connect timeout fires, then a reconnect', T, async () => {
      const t0 = performance.now();
      const { c, w } = await throughFaults([replyWith([0x20, 0x02, 0x00])], { connectTimeoutMs: 250 });
      assert.equal(w.errors.length, 1, w.errors.map((e) => e.message).join('; '));
      const e = w.errors[0];
      assert.ok(isMqttError(e, 'timeout'), `${e?.name}: ${e?.message}`);
      assert.match(e.message, /CONNACK/i);
      assert.ok(performance.now() - t0 < 5000);
      await roundTrip(c, 'silent');
      const err = await rejected(replyWith([0x20, 0x02, 0x00]), { connectTimeoutMs: 250 });
      assert.ok(isMqttError(err, 'timeout'), `${err.name}: ${err.message}`);
    });

    it('a truncated PUBLISH then silence mid-session: the keep-alive fires, then a reconnect', T, async () => {
      const { c, w } = await throughFaults([async (b) => {
        b.connack();
        b.raw(Uint8Array.from([0x30, 0x0a, 0x00])); // announces 10 bytes, sends 1, then nothing (no PINGRESP either)
        while ((await b.next()) !== undefined);
      }], { keepaliveSeconds: 1 });
      assert.equal(w.errors.length, 1, w.errors.map((e) => e.message).join('; '));
      const e = w.errors[0];
      assert.ok(isMqttError(e, 'timeout'), `${e?.name}: ${e?.message}`);
      assert.match(e.message, /keep-?alive/i);
      await roundTrip(c, 'keepalive');
    });

    it('garbage in the middle of a session (after a SUBSCRIBE): a protocol error, a reconnect, the subscription restored', T, async () => {
      // CONNACK, SUBACK; the first PUBLISH gets garbage instead of its PUBACK.
      broker.script.push(async (b) => {
        b.connack();
        for (let p = await b.next(); p !== undefined; p = await b.next()) {
          if (p.cmd === 'subscribe') b.suback(p);
          if (p.cmd === 'publish') b.raw(Uint8Array.from([0x36, 0x00, ...garbage(new XorShiftRng(7))]));
        }
      });
      const c = await connect();
      const w = watch(c);
      const back = w.reconnected();
      await c.subscribe('echo/#', { qos: 1 });
      // Answered with garbage; sent again after the reconnect (QoS 1 stays in the store), then the PUBACK.
      await c.publish('echo/mid', 'mid', { qos: 1 });
      await back;
      assert.equal(w.errors.length, 1, w.errors.map((e) => e.message).join('; '));
      const e = w.errors[0];
      assert.ok(isMqttError(e, 'protocol'), `${e?.name}: ${e?.message}`);
      assert.match(e.message, /both QoS bits/);
      assert.equal(w.offline.length, 1);
      assert.equal(w.offline[0], e, 'offline carries the fault');
      // Resubscribed by the reconnect: a publish comes back without subscribing again.
      assert.deepEqual(await broker.conns.at(-1)?.subscribed, ['echo/#']);
      const got = new Promise<MqttMessage>((resolve) => c.on('message', (m) => m.topic === 'echo/after' && resolve(m)));
      await c.publish('echo/after', 'after', { qos: 1 });
      assert.equal(new TextDecoder().decode((await got).payload), 'after');
    });

    it('a refusal (3.1.1 return code 5, MQTT 5 reason code 0x87) is an MqttError refused with the code', T, async () => {
      const e4 = await rejected(refuse(5));
      assert.ok(isMqttError(e4, 'refused'), `${e4.name}: ${e4.message}`);
      assert.equal(e4.reasonCode, 5);
      assert.match(e4.message, /Not authorized/);
      const e5 = await rejected(refuse(0x87), { protocolVersion: 5 });
      assert.ok(isMqttError(e5, 'refused'), `${e5.name}: ${e5.message}`);
      assert.equal(e5.reasonCode, 0x87);
      assert.equal(broker.versions.at(-1), 5);
      // With reconnecting on: the refusal is reported and the client tries again.
      for (const [version, code] of [[4, 5], [5, 0x87]] as const) {
        const { c, w } = await throughFaults([refuse(code)], { protocolVersion: version });
        assert.equal(w.errors.length, 1, w.errors.map((e) => e.message).join('; '));
        const e = w.errors[0];
        assert.ok(isMqttError(e, 'refused'), `${e?.name}: ${e?.message}`);
        assert.equal(e.reasonCode, code);
        await roundTrip(c, `refused-${version}`);
        await c.end();
      }
    });

    it('a refusal on the first connect with reconnecting on: connect() still resolves once the broker accepts', T, async () => {
      broker.script.push(refuse(5), refuse(5));
      const c = await connect();
      assert.ok(c.connected);
      await roundTrip(c, 'first');
    });

    it('a packet announcing 200 MB: refused at its header (nothing buffered), then a reconnect', T, async () => {
      let flooded: Promise<number> | undefined;
      const header = [0x30, ...varint(HUGE)];
      const { c, w } = await throughFaults([
        async (b) => {
          b.raw(Uint8Array.from([0x20, ...varint(HUGE)]));
          flooded = b.flood(new Uint8Array(16384), 32 << 20);
          await flooded;
        },
        async (b) => {
          b.connack();
          b.raw(Uint8Array.from(header));
          await b.flood(new Uint8Array(65536), 8 << 20);
        },
      ]);
      assert.equal(w.errors.length, 2, w.errors.map((e) => e.message).join('; '));
      for (const e of w.errors) {
        assert.ok(isMqttError(e, 'protocol'), `${e.name}: ${e.message}`);
        assert.match(e.message, /209715200/);
      }
      assert.match(w.errors[0]?.message ?? '', /CONNACK/);
      assert.match(w.errors[1]?.message ?? '', /PUBLISH/);
      const sent = await flooded;
      assert.ok(sent !== undefined && sent < 32 << 20, `the client closed before the broker could send it all (${sent} bytes)`);
      await roundTrip(c, 'huge');
      const err = await rejected(replyWith([0x20, ...varint(HUGE)]));
      assert.ok(isMqttError(err, 'protocol'), `${err.name}: ${err.message}`);
    });

    it('a duplicate CONNACK (mqtt.js drops the connection itself): one protocol error with reason code 130', T, async () => {
      const { c, w } = await throughFaults([(b) => {
        b.connack();
        b.connack();
      }]);

      const e = w.errors[0];
      assert.ok(isMqttError(e, 'protocol'), `${e?.name}: ${e?.message}`);
      assert.equal(e.reasonCode, 130);
      assert.equal(w.errors.length, 1, w.errors.map((x) => x.message).join('; '));
      await roundTrip(c, 'dup');
    });

    it('over TLS: garbage and a truncated CONNACK are protocol errors, then a reconnect; a TLS refusal stays a SocketError', T, async () => {
      const server = { key: pki.server.key, cert: pki.server.chain };
      const port = await broker.listenTls(fx, server);
      const overTls = { host: fx.serverName, port, tls: { ca: pki.ca } };
      const { c, w } = await throughFaults([replyWith([0x2f, 0x02, 0x00, 0x00]), replyThenFin([0x20, 0x02, 0x00])], overTls);
      assert.equal(w.errors.length, 2, w.errors.map((e) => e.message).join('; '));
      assert.ok(isMqttError(w.errors[0], 'protocol'), w.errors[0]?.message);
      assert.match(w.errors[0]?.message ?? '', /Invalid header flag bits/);
      assert.ok(isMqttError(w.errors[1], 'protocol'), w.errors[1]?.message);
      assert.match(w.errors[1]?.message ?? '', /middle of a CONNACK/);
      await roundTrip(c, 'tls');
      // A broker that wants a client certificate: its alert is the error, not the close after it.
      const strict = await fx.tlsServer({ ...server, ca: pki.ca, requestCert: true, rejectUnauthorized: true });
      const err = await MqttClient.connect(fx.client, options({ ...overTls, port: strict.port, reconnect: false })).then(
        () => assert.fail('connect resolved'),
        (e: unknown) => e,
      );
      assert.ok(isSocketError(err), String(err));
      assert.match(String(err.detail.reason), /^tls-/);
    });
  });
}
