/**
 * The MQTT client over the userspace stack: two stacks on a virtual cable, aedes (MQTT
 * 3.1.1, in process) on stack B, the client on stack A. QoS 0/1/2, retained messages,
 * the will, persistent sessions, reconnect with back-off and a fresh password per
 * attempt, QoS 1 publishes made during an outage delivered after it. (Refusals and a
 * broker sending garbage: mqtt-bad-broker.test.ts; mosquitto, MQTT 5 and TLS in the
 * interop tier.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Aedes } from 'aedes';
import { stackPair, type Pair } from '../../../bench/tcp-userspace.bench.ts';
import { MqttClient, type MqttMessage } from '../../../src/clients/mqtt/index.ts';
import { SocketDuplex } from '../../../src/socket/duplex.ts';
import type { TcpServer } from '../../../src/socket/tcp-server.ts';
import type { TcpSocket } from '../../../src/socket/tcp-socket.ts';

const PORT = 1883;

function nextMessage(c: MqttClient, pred: (m: MqttMessage) => boolean = () => true): Promise<MqttMessage> {
  return new Promise((resolve) => {
    const on = (m: MqttMessage): void => {
      if (!pred(m)) return;
      c.off('message', on);
      resolve(m);
    };
    c.on('message', on);
  });
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('MqttClient over the userspace stack, aedes broker', () => {
  let pair: Pair;
  let broker: Aedes;
  let server: TcpServer;
  /** Broker-side sockets, to cut connections. */
  const conns = new Set<TcpSocket>();
  let lastAccepted: TcpSocket | undefined;
  const passwords: string[] = [];
  let accepting = true;

  before(async () => {
    pair = stackPair(true);
    broker = await Aedes.createBroker({
      authenticate: (_client, _user, pw, done) => {
        const p = pw?.toString() ?? '';
        passwords.push(p);
        done(null, !p.startsWith('bad'));
      },
    });
    server = await pair.server.listen({ host: '0.0.0.0', port: PORT });
    void (async () => {
      for (;;) {
        let s: TcpSocket;
        try {
          s = await server.accept();
        } catch {
          return;
        }
        if (!accepting) {
          s.destroy();
          continue;
        }
        conns.add(s);
        lastAccepted = s;
        const d = new SocketDuplex(s);
        d.on('close', () => conns.delete(s));
        d.on('error', () => undefined);
        broker.handle(d);
      }
    })();
  });
  after(async () => {
    await server.close();
    await new Promise<void>((r) => broker.close(() => r()));
    await pair.close();
  });

  const connect = (extra: Partial<Parameters<typeof MqttClient.connect>[1]> = {}): Promise<MqttClient> =>
    MqttClient.connect(pair.client, { host: '10.0.0.2', port: PORT, reconnect: { minDelayMs: 50, maxDelayMs: 400 }, ...extra });

  it('QoS 0, 1 and 2 round trips through the broker, retained messages', async () => {
    const sub = await connect({ clientId: 'sub-1' });
    const pub = await connect({ clientId: 'pub-1' });
    const grants = await sub.subscribe('t/#', { qos: 2 });
    assert.equal(grants[0]?.qos, 2);
    for (const qos of [0, 1, 2] as const) {
      const got = nextMessage(sub, (m) => m.topic === `t/q${qos}`);
      await pub.publish(`t/q${qos}`, `hello ${qos}`, { qos });
      const m = await got;
      assert.equal(text(m.payload), `hello ${qos}`);
      assert.equal(m.qos, qos);
    }
    await pub.publish('r/state', 'on', { qos: 1, retain: true });
    const late = await connect({ clientId: 'late-1' });
    const retained = nextMessage(late, (m) => m.topic === 'r/state');
    await late.subscribe('r/state', { qos: 1 });
    const r = await retained;
    assert.equal(text(r.payload), 'on');
    assert.equal(r.retain, true);
    await Promise.all([sub.end(), pub.end(), late.end()]);
    assert.equal(sub.state, 'closed');
  });

  it('the will is published when the client vanishes without DISCONNECT', async () => {
    const watcher = await connect({ clientId: 'watch-1' });
    await watcher.subscribe('will/#', { qos: 1 });
    const dying = await connect({ clientId: 'dying-1', will: { topic: 'will/dying-1', payload: 'gone', qos: 1 }, reconnect: false });
    const will = nextMessage(watcher, (m) => m.topic === 'will/dying-1');
    lastAccepted?.destroy(); // the dying client's connection, RST from the broker's side: no DISCONNECT
    assert.equal(text((await will).payload), 'gone');
    await dying.end(true);
    await watcher.end();
  });

  it('reconnects with back-off and a fresh password; QoS 1 publishes during the outage all arrive', async () => {
    let n = 0;
    const sub = await connect({ clientId: 'sub-2', clean: false });
    await sub.subscribe('o/#', { qos: 1 });
    const pub = await connect({ clientId: 'pub-2', username: 'device', password: () => `token-${++n}` });
    assert.equal(passwords.at(-1), 'token-1');
    const received: string[] = [];
    sub.on('message', (m) => received.push(text(m.payload)));
    const offline = new Promise<number | undefined>((r) => pub.once('offline', (e) => r(e.delayMs)));
    accepting = false;
    for (const s of conns) s.destroy();
    const delay = await offline;
    assert.ok(delay !== undefined && delay >= 40 && delay <= 60, `first retry after ${delay} ms`);
    // Published while the publisher is offline: queued, sent after the reconnect.
    const sends = Array.from({ length: 20 }, (_, i) => pub.publish('o/x', `m${i}`, { qos: 1 }));
    await new Promise((r) => setTimeout(r, 300));
    accepting = true;
    await Promise.all(sends);
    const deadline = Date.now() + 5000;
    while (new Set(received).size < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([...new Set(received)].sort(), Array.from({ length: 20 }, (_, i) => `m${i}`).sort(), 'every QoS 1 message arrived');
    assert.ok(n >= 2, `the password function ran again for the reconnect (${n} calls)`);
    assert.ok(passwords.includes(`token-${n}`));
    await Promise.all([sub.end(), pub.end()]);
  });

  it('MQTT 3.1.1: a password without a username is refused before connecting', async () => {
    await assert.rejects(connect({ clientId: 'bad-0', password: 'x' }), /username/);
  });
});
