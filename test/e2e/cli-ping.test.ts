/**
 * `iotnet ping` as a child process: --help; ICMP echo on the built-in virtual network
 * (`--via embedded`: IPv4, IPv6 with fragmented 3000-byte echoes), TCP connect probes on the
 * host stack (accepted and refused), exit 1 when nothing answers, and usage errors (exit 2).
 * ICMP over a TAP (`--via tap:IF`) needs root and a network namespace: see
 * test/interop/cli-tap-ping-mqtt.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { assertUsageError, closedPort, runCli, type CliResult } from '../support/cli-run.ts';

describe('iotnet ping', () => {
  it('--help: the options, --via explained, exit 0', async () => {
    const r = await runCli(['ping', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: iotnet ping HOST/);
    for (const o of ['--via host', '--via tap:IF', '--via embedded', '--count', '--interval', '--size', '--timeout', '--port']) assert.ok(r.stdout.includes(o), o);
    assert.equal(r.stderr, '');
  });

  it('--via embedded: ICMP echo replies from the responder stack, statistics, exit 0', async () => {
    const r = await runCli(['ping', '--via', 'embedded', '192.168.77.1', '-c', '3', '-i', '0.05']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^PING 192\.168\.77\.1 via the embedded virtual network/m);
    assert.equal(r.stdout.match(/^64 bytes from 192\.168\.77\.1: icmp_seq=\d ttl=64 time=[\d.]+ ms$/gm)?.length, 3, r.stdout);
    assert.match(r.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
    assert.match(r.stdout, /^rtt min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms$/m);
  });

  it('--via embedded -6 with 3000-byte echoes (fragmented both ways), exit 0', async () => {
    const r = await runCli(['ping', '--via', 'embedded', 'fd00:77::1', '-c', '2', '-i', '0.05', '-s', '3000']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/^3008 bytes from fd00:77::1: icmp_seq=\d hlim=64/gm)?.length, 2, r.stdout);
    assert.doesNotMatch(r.stdout, /DIFFERENT DATA/);
  });

  it('--via embedded to an address nobody has: no replies, exit 1', async () => {
    const r = await runCli(['ping', '--via', 'embedded', '192.168.77.9', '-c', '2', '-i', '0.05', '-W', '0.3']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /2 packets transmitted, 0 received, 100% packet loss/);
    assert.doesNotMatch(r.stdout, /rtt min/);
  });

  it('--via host (the default): TCP connect probes, accepted and refused both count as replies', async () => {
    const server = net.createServer((s) => s.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['ping', '127.0.0.1', '--port', String(port), '-c', '2', '-i', '0.05']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /TCP connect probes/);
      assert.equal(r.stdout.match(new RegExp(`^connected to 127\\.0\\.0\\.1:${port}: seq=\\d time=`, 'gm'))?.length, 2, r.stdout);
      assert.match(r.stdout, /2 packets transmitted, 2 received/);
    } finally {
      server.close();
    }
    // A port nobody listens on: RST, the host is up.
    const free = await closedPort();
    const r = await runCli(['ping', '127.0.0.1', '--port', String(free), '-c', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /refused by 127\.0\.0\.1:\d+ \(host up, port closed\)/);
  });

  it('bad arguments: a clear message, the usage, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /HOST is missing/],
      [['a', 'b'], /one HOST only/],
      [['x', '--bogus'], /unknown option '--bogus'/],
      [['x', '-c', 'many'], /-c: expected a whole number/],
      [['x', '-i', '-1'], /-i: expected seconds/],
      [['x', '--via', 'carrier-pigeon'], /--via: expected host, embedded, tap:IF/],
      [['x', '--via', 'tap:'], /not an interface name/],
      [['x', '--via', 'embedded'], /--via embedded: HOST must be an address/],
      [['127.0.0.1', '--size', '100'], /--size is for ICMP/],
      [['10.0.0.1', '-6', '--via', 'embedded'], /-6: '10\.0\.0\.1' is an IPv4 address/],
      [['10.0.0.1', '--via', 'embedded', '--port', '80'], /--port is for --via host/],
      [['10.0.0.1', '--ipv4', '10.0.0.2/24'], /--ipv4 is for --via tap:IF/],
      [['10.0.0.1', '--via', 'tap:tap0', '--ipv4', '10.0.0.2'], /--ipv4: expected ADDR\/LEN/],
      [['10.0.0.1', '-c'], /-c needs a value/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['ping', ...args])));
    cases.forEach(([args, message], i) => assertUsageError(results[i] as CliResult, 'ping', message, `ping ${args.join(' ')}`));
  });
});
