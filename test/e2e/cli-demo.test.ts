import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { startCli } from '../support/cli-run.ts';

const root = new URL('../..', import.meta.url).pathname;
const bin = new URL('../../bin/iotnet.js', import.meta.url).pathname;
type Run = { status: number | null; stdout: string; stderr: string };
function iotnet(...args: string[]): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 150_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** `npm start` itself, as a user types it after `npm ci`. */
function npmStart(): Run {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // Generous: the run itself takes ~25-30 s; a loaded machine must not fail it on time.
  const r = spawnSync(npm, ['start'], { cwd: root, encoding: 'utf8', timeout: 150_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 0, the summary says every step passed, no ✘ line, at least `min` steps. */
function assertAllPassed(r: Run, min: number): void {
  assert.equal(r.status, 0, `exit status; output:\n${r.stdout}\n${r.stderr}`);
  const m = /(\d+) of (\d+) steps passed/.exec(r.stdout);
  assert.ok(m, `summary line; output:\n${r.stdout}`);
  assert.equal(m[1], m[2], `every step passed; output:\n${r.stdout}`);
  assert.ok(Number(m[2]) >= min, 'all demo steps ran');
  assert.doesNotMatch(r.stdout, /\u2718/, 'no failed step');
  assert.equal((r.stdout.match(/^ {2}\u2714 /gm) ?? []).length, Number(m[2]), 'one \u2714 line per step');
}

const CLIENT_STEPS = ['TCP echo (IoT Socket)', 'UDP echo (IoT Socket)', 'daytime (IoT Socket)', 'non-blocking connect (IoT Socket)',
  'stream.pipeline through the echo service (Duplex)', 'chargen by async iteration (idiomatic API)', 'TCP bulk through the echo service (idiomatic API)'];

/** The IoT scenario's summary: OK, nothing lost, both moves timed, the four pcaps (paths returned). */
function assertIotSummary(r: Run): string[] {
  assert.equal(r.status, 0, `exit status; output:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /OK: the IoT demo ran for [\d.]+ s/);
  const m = /telemetry \(MQTT QoS 1 over TLS\): (\d+) published, (\d+) delivered, 0 lost/.exec(r.stdout);
  assert.ok(m !== null && Number(m[1]) > 0 && m[1] === m[2], `every message delivered; output:\n${r.stdout}`);
  for (const d of ['sensor-eth', 'sensor-wifi', 'sensor-cell', 'sensor-mesh']) assert.match(r.stdout, new RegExp(`${d} +\\d+ published +\\d+ delivered +0 lost`));
  const c = /commands \(gateway -> devices, QoS 1\): (\d+) sent, (\d+) received/.exec(r.stdout);
  assert.ok(c !== null && Number(c[1]) > 0 && c[1] === c[2], 'every command received');
  assert.match(r.stdout, /failover +sensor-wifi: wlan0 -> eth0 in \d+ ms/);
  assert.match(r.stdout, /fail-back sensor-wifi: eth0 -> wlan0 in \d+ ms/);
  const pcaps = [...r.stdout.matchAll(/^ {4}(lan|wifi|ppp|radio) +(\/\S+\.pcap)$/gm)].map((x) => x[2] as string);
  assert.equal(pcaps.length, 4, 'a pcap per link');
  for (const p of pcaps) assert.ok(existsSync(p) && statSync(p).size > 100, `${p} has records`);
  assert.doesNotMatch(r.stdout, /\u001b\[/, 'not a terminal: no escape codes');
  return pcaps;
}

describe('iotnet demo (npm start)', () => {
  it('npm start: the IoT deployment, every device up, nothing lost, failover and fail-back, a pcap per link, exit 0', { timeout: 200_000 }, () => {
    const r = npmStart();
    const pcaps = assertIotSummary(r);
    assert.match(r.stdout, /an IoT deployment on an in-process virtual network/);
    for (const dev of ['sensor-eth', 'sensor-wifi', 'sensor-cell', 'sensor-mesh']) assert.match(r.stdout, new RegExp(`${dev} +MQTT connected to broker\\.iot\\.test:8883 via`));
    assert.match(r.stdout, /mux: wlan0 -> eth0/);
    const lines = r.stdout.split('\n').length;
    assert.ok(lines < 150, `one line per notable event, no flood (${lines} lines)`);
    rmSync(dirname(pcaps[0] as string), { recursive: true, force: true });
  });
  it('--broker aedes --pcap-dir DIR --duration 12 --ui --ui-linger 0: the pcaps go to DIR; the dashboard serves the live model and a pcap while the run goes', { timeout: 200_000 }, async (t) => {
    const dir = join(mkdtempSync(join(tmpdir(), 'iotnet-cli-demo-')), 'captures');
    t.after(() => rmSync(dirname(dir), { recursive: true, force: true }));
    const cli = startCli(['demo', '--broker', 'aedes', '--pcap-dir', dir, '--duration=12', '--ui', '--ui-linger', '0']);
    t.after(() => cli.child.kill('SIGKILL'));
    const url = (await cli.waitFor(/^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/m, 60_000))[1] as string;
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    await cli.waitFor(/MQTT connected to broker\.iot\.test:8883 via wlan0/, 120_000);
    const snap = (await (await fetch(new URL('snapshot.json', url))).json()) as { nodes: { label: string }[]; links: { id: string }[] };
    for (const label of ['gateway', 'sensor-eth', 'sensor-wifi', 'sensor-cell', 'sensor-mesh']) assert.ok(snap.nodes.some((n) => n.label === label), `node ${label} in the live model`);
    const radio = snap.links.find((l) => l.id === 'radio');
    assert.ok(radio !== undefined, 'the radio link in the model');
    const pcap = new Uint8Array(await (await fetch(new URL('pcap/radio', url))).arrayBuffer());
    assert.ok(pcap.length >= 24, 'a pcap downloads');
    assert.equal(Buffer.from(pcap.subarray(0, 4)).readUInt32LE(0), 0xa1b2c3d4, 'the pcap magic');
    const code = await cli.exited();
    const r: Run = { status: code, stdout: cli.out(), stderr: cli.err() };
    const pcaps = assertIotSummary(r);
    assert.match(r.stdout, /aedes \(in process\)/);
    assert.deepEqual(pcaps.map((p) => dirname(p)), [dir, dir, dir, dir]);
    await assert.rejects(fetch(url), 'the dashboard closed with the run (--ui-linger 0)');
  });
  it('--scenario sockets: the embedded virtual network: DHCP lease, DNS resolution, both APIs, clean exit 0', () => {
    const r = iotnet('demo', '--scenario', 'sockets');
    assertAllPassed(r, 16);
    assert.match(r.stdout, /an embedded virtual network/);
    assert.match(r.stdout, /\u2714 DHCP lease \(device\) +192\.168\.7\.1\d\d\/24 from 192\.168\.7\.1 in \d+ ms: router 192\.168\.7\.1, DNS 192\.168\.7\.1, domain iot\.test, lease 3600 s/,
      'the lease line: address, router, DNS, lease time');
    assert.match(r.stdout, /\u2714 RFC 5227 address probe \(device\) +.*shortened for the demo/);
    assert.match(r.stdout, /\u2714 iotSocketGetHostByName +sockserver\.iot\.test -> 192\.168\.7\.1 through DNS at 192\.168\.7\.1:53 \(from the lease/,
      'the DNS resolution line');
    for (const step of [...CLIENT_STEPS, 'DHCP release (device)', 'everything closed']) {
      assert.ok(r.stdout.includes(`\u2714 ${step}`), `step '${step}' passed`);
    }
  });
  it('--stack host: the host stack on loopback, every step passes', () => {
    const r = iotnet('demo', '--stack', 'host');
    assertAllPassed(r, 9);
    assert.match(r.stdout, /the host stack talking to the reference test server/);
    assert.match(r.stdout, /\u2714 iotSocketGetHostByName +localhost -> 127\.0\.0\.1/, 'the name resolution line');
    for (const step of CLIENT_STEPS) assert.ok(r.stdout.includes(`\u2714 ${step}`), `step '${step}' passed`);
  });
  it('--stack=host --port-offset K: the test server on the upstream ports + K', () => {
    const k = 20000 + 100 * Math.floor(Math.random() * 200) + 7;
    const r = iotnet('demo', '--stack=host', '--port-offset', String(k));
    assertAllPassed(r, 9);
    assert.match(r.stdout, new RegExp(`\u2714 test server +\\d+ listeners on loopback \\(echo ${k + 7}, chargen ${k + 19}, control ${k + 5000}\\)`));
  });
  it('--help prints the usage and exits 0', () => {
    const r = iotnet('demo', '--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: iotnet demo/);
    assert.match(r.stdout, /--scenario S +iot \(default\) or sockets/);
    assert.match(r.stdout, /--stack S +sockets: embedded \(default\) or host/);
    assert.match(r.stdout, /--broker B/);
    assert.match(r.stdout, /--pcap-dir DIR/);
    assert.match(r.stdout, /--ui +iot: also serve the web dashboard/);
  });
  it('a bad argument exits 2 with a clear message', () => {
    const r = iotnet('demo', '--port-offset', 'abc');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--port-offset needs a number/);
    const u = iotnet('demo', '--bogus');
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown option '--bogus'/);
    const s = iotnet('demo', '--stack', 'kernel');
    assert.equal(s.status, 2);
    assert.match(s.stderr, /--stack needs 'embedded' or 'host', got 'kernel'/);
    const b = iotnet('demo', '--broker', 'hivemq');
    assert.equal(b.status, 2);
    assert.match(b.stderr, /--broker needs 'auto', 'aedes' or 'mosquitto', got 'hivemq'/);
    const sc = iotnet('demo', '--scenario', 'factory');
    assert.equal(sc.status, 2);
    assert.match(sc.stderr, /--scenario needs 'iot' or 'sockets', got 'factory'/);
    const d = iotnet('demo', '--duration', '3');
    assert.equal(d.status, 2);
    assert.match(d.stderr, /--duration: expected seconds from 12 to 600, got '3'/);
    const mix = iotnet('demo', '--scenario', 'iot', '--stack', 'host');
    assert.equal(mix.status, 2);
    assert.match(mix.stderr, /--stack: only for --scenario sockets/);
    const mix2 = iotnet('demo', '--scenario', 'sockets', '--broker', 'aedes');
    assert.equal(mix2.status, 2);
    assert.match(mix2.stderr, /--broker: only for --scenario iot/);
    const ui = iotnet('demo', '--ui-port', '8080');
    assert.equal(ui.status, 2);
    assert.match(ui.stderr, /--ui-port and --ui-linger go with --ui/);
    const up = iotnet('demo', '--ui', '--ui-port', '70000');
    assert.equal(up.status, 2);
    assert.match(up.stderr, /--ui-port/);
  });
});
