/**
 * `iotnet mqtt pub|sub` as child processes against an aedes broker in this process
 * (127.0.0.1, a free port; a second listener with TLS from a throw-away PKI):
 * - --help; usage errors (exit 2) and run-time failures (exit 1: refused connection, an
 *   untrusted certificate, fewer messages than --count within --timeout);
 * - the host stack: sub --count 2 gets a --message publish (QoS 1) and a stdin one; a
 *   retained --file publish by --url reaches a later sub --json; pub and sub over TLS (--ca);
 * - AT modules: `iotnet sim esp-at` and `iotnet sim quectel` on ptys (their sockets go
 *   through the host stack to the same broker), `--via esp-at:PTY` pub and sub,
 *   `--via quectel:PTY` pub.
 * `--via tap:IF` (root, a network namespace) is in test/interop/cli-tap-ping-mqtt.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Aedes } from 'aedes';
import { assertUsageError, closedPort, runCli, startCli, type CliResult } from '../support/cli-run.ts';
import { skipWithoutPty } from '../support/pty.ts';
import { createTestPki, type TestPki } from '../support/test-pki.ts';

interface Seen {
  topic: string;
  payload: string;
  client: string | undefined;
}

describe('iotnet mqtt', () => {
  let broker: Aedes;
  let server: net.Server;
  let tlsServer: tls.Server;
  let pki: TestPki;
  let port = 0;
  let tlsPort = 0;
  let dir = '';
  const seen: Seen[] = [];

  before(async () => {
    broker = await Aedes.createBroker();
    broker.on('publish', (packet, client) => {
      if (client !== null) seen.push({ topic: packet.topic, payload: Buffer.from(packet.payload).toString(), client: client.id });
    });
    server = net.createServer((s) => broker.handle(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
    pki = await createTestPki();
    tlsServer = tls.createServer({ key: pki.server.key, cert: pki.server.chain }, (s) => broker.handle(s));
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    tlsPort = (tlsServer.address() as net.AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'iotnet-cli-mqtt-'));
  });

  after(async () => {
    server.close();
    tlsServer.close();
    await new Promise<void>((r) => broker.close(() => r()));
    pki.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until the broker saw a publish on `topic`. */
  async function published(topic: string, ms = 20_000): Promise<Seen> {
    const end = Date.now() + ms;
    for (;;) {
      const s = seen.find((x) => x.topic === topic);
      if (s !== undefined) return s;
      assert.ok(Date.now() < end, `no publish on ${topic} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('--help: both modes, broker, TLS and --via options, exit 0', async () => {
    const r = await runCli(['mqtt', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const o of ['iotnet mqtt pub', 'iotnet mqtt sub', '--broker', '--url', '--topic', '--message', '--file', '--qos', '--count', '--timeout', '--tls', '--ca', '--cert', '--username', '--client-id', '--via esp-at:PORT', '--via quectel:PORT', '--via tap:IF', '--ssid', '--apn']) {
      assert.ok(r.stdout.includes(o), o);
    }
  });

  it('host stack: sub --count 2 receives a QoS 1 --message publish and a stdin publish, exit 0', async () => {
    const sub = startCli(['mqtt', 'sub', '--broker', `127.0.0.1:${port}`, '--topic', 'cli/host/#', '--count', '2', '--qos', '1', '--timeout', '60']);
    try {
      await sub.waitFor(/subscribed to cli\/host\/#/, 30_000, 'stderr');
      const p1 = await runCli(['mqtt', 'pub', '--broker', `127.0.0.1:${port}`, '--topic', 'cli/host/a', '--message', 'hello one', '--qos', '1', '--client-id', 'cli-pub-1']);
      assert.equal(p1.code, 0, p1.stderr);
      assert.match(p1.stdout, /published 9 bytes to cli\/host\/a \(QoS 1\) at 127\.0\.0\.1:\d+ via the host stack/);
      const p2 = await runCli(['mqtt', 'pub', '--broker', `127.0.0.1:${port}`, '-t', 'cli/host/b'], { input: 'from stdin' });
      assert.equal(p2.code, 0, p2.stderr);
      assert.equal((await published('cli/host/a')).client, 'cli-pub-1');
      assert.equal(await sub.exited(), 0, sub.err());
      assert.equal(sub.out(), 'cli/host/a hello one\ncli/host/b from stdin\n');
      assert.match(sub.err(), /2 message\(s\) received/);
    } finally {
      await sub.stop('SIGKILL');
    }
  });

  it('host stack: a retained --file publish by --url reaches a later sub --json', async () => {
    const file = join(dir, 'payload.txt');
    writeFileSync(file, '{"t":21.5}');
    const p = await runCli(['mqtt', 'pub', '--url', `mqtt://user:secret@127.0.0.1:${port}`, '--topic', 'cli/retained', '--file', file, '--retain', '--qos', '2']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /published 10 bytes to cli\/retained \(QoS 2, retained\)/);
    const s = await runCli(['mqtt', 'sub', '--broker', `127.0.0.1:${port}`, '--topic', 'cli/retained', '--count', '1', '--json', '--timeout', '30']);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(JSON.parse(s.stdout), { topic: 'cli/retained', payload: '{"t":21.5}', qos: 0, retain: true });
  });

  it('TLS: pub and sub with --ca succeed; without it the certificate is refused (exit 1)', async () => {
    const tlsArgs = ['--broker', `localhost:${tlsPort}`, '--tls', '--ca', pki.caFile];
    const sub = startCli(['mqtt', 'sub', ...tlsArgs, '--topic', 'cli/tls', '--count', '1', '--timeout', '60']);
    try {
      await sub.waitFor(/subscribed to cli\/tls \(QoS 0\) at localhost:\d+ \(TLS\)/, 30_000, 'stderr');
      const p = await runCli(['mqtt', 'pub', ...tlsArgs, '--topic', 'cli/tls', '--message', 'secret']);
      assert.equal(p.code, 0, p.stderr);
      assert.equal(await sub.exited(), 0, sub.err());
      assert.equal(sub.out(), 'cli/tls secret\n');
    } finally {
      await sub.stop('SIGKILL');
    }
    const untrusted = await runCli(['mqtt', 'pub', '--broker', `localhost:${tlsPort}`, '--tls', '--topic', 'cli/tls', '--message', 'x', '--timeout', '20']);
    assert.equal(untrusted.code, 1, untrusted.stdout + untrusted.stderr);
    assert.match(untrusted.stderr, /iotnet mqtt: .*(certificate|CERT|verify)/i);
  });

  it('run-time failures: a refused connection, too few messages within --timeout (exit 1)', async () => {
    const free = await closedPort();
    const [refused, quiet] = await Promise.all([
      runCli(['mqtt', 'pub', '--broker', `127.0.0.1:${free}`, '--topic', 'x', '--message', 'y']),
      runCli(['mqtt', 'sub', '--broker', `127.0.0.1:${port}`, '--topic', 'cli/nobody', '--count', '1', '--timeout', '1']),
    ]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /iotnet mqtt: .*ECONNREFUSED/);
    assert.equal(quiet.code, 1, quiet.stderr);
    assert.match(quiet.stderr, /0 message\(s\) of 1 within 1 s/);
  });

  it('bad arguments: a clear message, the usage, exit 2', async () => {
    const b = ['--broker', '127.0.0.1'];
    const cases: [string[], RegExp][] = [
      [[], /pub or sub\?/],
      [['publish'], /unknown mode 'publish'/],
      [['pub', '--topic', 't', '--message', 'm'], /--broker HOST\[:PORT\] or --url is required/],
      [['pub', ...b, '--message', 'm'], /--topic is required/],
      [['pub', ...b, '--topic', 'a/#', '--message', 'm'], /a topic has no wildcards/],
      [['sub', ...b, '--topic', 'a/b#'], /not a valid filter/],
      [['pub', ...b, '--topic', 't', '--qos', '3'], /--qos: expected a whole number from 0 to 2/],
      [['pub', '--broker', 'h:99999', '--topic', 't'], /--broker: expected HOST\[:PORT\]/],
      [['pub', '--url', 'http://h', '--topic', 't'], /--url: expected mqtt:\/\//],
      [['sub', ...b, '--topic', 't', '--message', 'm'], /--message, --file and --retain are for pub/],
      [['pub', ...b, '--topic', 't', '--ca', 'x.pem', '--message', 'm'], /need --tls/],
      [['pub', ...b, '--topic', 't', '--password', 'p', '--message', 'm'], /only with a username/],
      [['pub', ...b, '--topic', 't', '--via', 'esp-at', '--message', 'm'], /the serial device is missing/],
      [['pub', ...b, '--topic', 't', '--via', 'embedded', '--message', 'm'], /--via: expected host, tap:IF, esp-at:PORT, quectel:PORT/],
      [['pub', ...b, '--topic', 't', '--apn', 'x', '--message', 'm'], /--apn is for --via quectel:PORT/],
      [['pub', ...b, '--topic', 't', '--bogus'], /unknown option '--bogus'/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['mqtt', ...args])));
    cases.forEach(([args, message], i) => assertUsageError(results[i] as CliResult, 'mqtt', message, `mqtt ${args.join(' ')}`));
  });

  it('--via esp-at:PTY (iotnet sim esp-at): pub and sub through the simulated module, exit 0', async (t) => {
    if (skipWithoutPty(t, 'iotnet mqtt --via esp-at')) return;
    const sim = startCli(['sim', 'esp-at', '--ip', '127.0.0.1']);
    try {
      const dev = (await sim.waitFor(/device (\/dev\/pts\/\d+)/))[1] as string;
      const p = await runCli(['mqtt', 'pub', '--via', `esp-at:${dev}`, '--broker', `127.0.0.1:${port}`, '--topic', 'cli/esp', '--message', 'over wifi', '--qos', '1', '--client-id', 'cli-esp']);
      assert.equal(p.code, 0, p.stdout + p.stderr);
      assert.match(p.stdout, new RegExp(`published 9 bytes to cli/esp \\(QoS 1\\) at 127\\.0\\.0\\.1:${port} via ESP-AT module on ${dev}`));
      assert.match(p.stderr, /esp-at: joined iotnet, address 127\.0\.0\.1/);
      assert.deepEqual(await published('cli/esp'), { topic: 'cli/esp', payload: 'over wifi', client: 'cli-esp' });
      const sub = startCli(['mqtt', 'sub', '--via', `esp-at:${dev}`, '--broker', `127.0.0.1:${port}`, '--topic', 'cli/to-esp', '--count', '1', '--timeout', '60']);
      try {
        await sub.waitFor(/subscribed to cli\/to-esp/, 45_000, 'stderr');
        broker.publish({ cmd: 'publish', topic: 'cli/to-esp', payload: Buffer.from('command 1'), qos: 0, retain: false, dup: false }, () => {});
        assert.equal(await sub.exited(), 0, sub.err());
        assert.equal(sub.out(), 'cli/to-esp command 1\n');
      } finally {
        await sub.stop('SIGKILL');
      }
    } finally {
      assert.equal(await sim.stop(), 0, sim.err());
    }
  });

  it('--via quectel:PTY (iotnet sim quectel): pub through the simulated modem, exit 0', async (t) => {
    if (skipWithoutPty(t, 'iotnet mqtt --via quectel')) return;
    const sim = startCli(['sim', 'quectel', '--ip', '127.0.0.1']);
    try {
      const dev = (await sim.waitFor(/device (\/dev\/pts\/\d+)/))[1] as string;
      const p = await runCli(['mqtt', 'pub', '--via', `quectel:${dev}`, '--apn', 'internet', '--broker', `127.0.0.1:${port}`, '--topic', 'cli/quectel', '--message', 'over lte', '--qos', '1']);
      assert.equal(p.code, 0, p.stdout + p.stderr);
      assert.match(p.stdout, /via Quectel modem on \/dev\/pts\/\d+ \(APN internet\)/);
      assert.equal((await published('cli/quectel')).payload, 'over lte');
    } finally {
      assert.equal(await sim.stop(), 0, sim.err());
    }
  });
});
