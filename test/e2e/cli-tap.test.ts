/**
 * `iotnet tap` as a child process: --help and usage errors (exit 2). Running it needs root
 * and a TAP device: the successful run (a static address and DHCP, the kernel pinging the
 * stack, the test server served, SIGINT stopping it with exit 0) is in
 * test/interop/cli-tap-ping-mqtt.test.ts, inside the interop tier's network namespace.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertUsageError, runCli, type CliResult } from '../support/cli-run.ts';

describe('iotnet tap', () => {
  it('--help: the options, exit 0', async () => {
    const r = await runCli(['tap', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: iotnet tap IFNAME/);
    for (const o of ['--ipv4 ADDR/LEN', '--ipv4 dhcp', '--ipv6 auto', '--gateway', '--dns', '--serve sockserver', '--pcap', 'root or CAP_NET_ADMIN']) assert.ok(r.stdout.includes(o), o);
  });

  it('bad arguments: a clear message, the usage, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /IFNAME is missing/],
      [['tap0'], /--ipv4 \(ADDR\/LEN or dhcp\) or --ipv6 \(auto or ADDR\/LEN\) is required/],
      [['a-name-much-too-long-for-linux', '--ipv4', 'dhcp'], /not an interface name/],
      [['tap0', '--ipv4', '10.0.0.300/24'], /--ipv4: expected ADDR\/LEN/],
      [['tap0', '--ipv4', 'dhcp', '--gateway', '10.0.0.1'], /--gateway is for --ipv4 ADDR\/LEN/],
      [['tap0', '--ipv6', 'ff02::1/64'], /--ipv6: expected auto or ADDR\/LEN/],
      [['tap0', '--ipv4', '10.0.0.2/24', '--serve', 'ftp'], /--serve: unknown service 'ftp'/],
      [['tap0', '--ipv4', '10.0.0.2/24', '--mac', 'zz'], /--mac: expected aa:bb:cc:dd:ee:ff/],
      [['tap0', 'tap1'], /one IFNAME only/],
      [['tap0', '--ipv4', 'dhcp', '--bogus'], /unknown option '--bogus'/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['tap', ...args])));
    cases.forEach(([args, message], i) => assertUsageError(results[i] as CliResult, 'tap', message, `tap ${args.join(' ')}`));
  });
});
