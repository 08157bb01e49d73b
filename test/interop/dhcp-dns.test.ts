/**
 * DHCPv4 and DNS against standard servers and clients over TAP:
 * - our DHCP client gets a lease from **dnsmasq** (address in its range, router, DNS
 *   server and MTU applied), renews it (dnsmasq sends T1 = 4 s), and resolves names
 *   through dnsmasq's DNS (A, NXDOMAIN -> EHOSTNOTFOUND) with the servers of the lease;
 *   the kernel then reaches the leased address;
 * - `iotnet tap --ipv4 dhcp` prints its status lines (link up, address acquired from
 *   dhcp, lease renewed);
 * - busybox **udhcpc** on the kernel side gets a lease from our DHCP server, and **dig**
 *   queries our authoritative DNS server, both running on the userspace stack.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDnsServer, type DnsServer } from '../../src/apps/dns-server/index.ts';
import { IOT_SOCKET_EHOSTNOTFOUND } from '../../src/base/iot-constants.ts';
import { Dhcp4Client, type Dhcp4ClientEvent, type Dhcp4Lease } from '../../src/stack/dhcp/dhcp4-client.ts';
import { Dhcp4Server } from '../../src/stack/dhcp/dhcp4-server.ts';
import { Stack } from '../../src/stack/stack.ts';
import { Peers, run, sh, skipWithoutInterop, tapHost, type TapHost } from '../support/interop.ts';
import { skipWithoutTool } from '../support/system-tool.ts';

const CLI = new URL('../../bin/iotnet.js', import.meta.url).pathname;

function dnsmasqArgs(ifname: string, kernelIp: string, subnet: number, leaseFile: string): string[] {
  return ['--no-daemon', '--conf-file=/dev/null', '-u', 'root', `--interface=${ifname}`, '--except-interface=lo', '--bind-interfaces',
    `--dhcp-range=10.99.${subnet}.10,10.99.${subnet}.50,2m`, `--dhcp-option=option:router,${kernelIp}`,
    '--dhcp-option=option:T1,4', '--dhcp-option=option:T2,7', '--dhcp-option=option:mtu,1400',
    `--dhcp-leasefile=${leaseFile}`, '--no-resolv', '--no-hosts', '--local=/test/', '--address=/broker.test/10.9.3.1',
    '--host-record=mqtt.test,10.9.3.7', '--log-dhcp', '--log-queries'];
}

function nextEvent(client: Dhcp4Client, type: Dhcp4ClientEvent['type'], timeoutMs: number): Promise<Dhcp4ClientEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no '${type}' event within ${timeoutMs} ms (state ${client.state})`)); }, timeoutMs);
    const off = client.on((e) => {
      if (e.type !== type) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

describe('DHCPv4 and DNS with dnsmasq, udhcpc and dig over TAP', () => {
  const peers = new Peers();
  const hosts: TapHost[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'iotnet-dhcp-'));
  after(async () => {
    await peers.killAll();
    for (const h of hosts) await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('our client: lease from dnsmasq applied, renewed at T1, names through its DNS', async (t) => {
    if (skipWithoutInterop(t) || skipWithoutTool(t, 'dnsmasq', 'dnsmasq', 'DHCP and DNS against dnsmasq')) return;
    const h = tapHost({ subnet: 7, noAddress: true });
    hosts.push(h);
    const dnsmasq = peers.spawn('dnsmasq', dnsmasqArgs(h.name, h.kernelIp, 7, join(dir, 'leases7')));
    await peers.waitFor(dnsmasq, /DHCP, IP range/);
    const client = new Dhcp4Client(h.stack, { ifIndex: h.ifIndex, hostname: 'iotnet-test' });
    const bound = nextEvent(client, 'bound', 20_000);
    client.start(h.runner.now());
    const lease = ((await bound) as { lease: Dhcp4Lease }).lease;
    const address = Stack.format(lease.address);
    t.diagnostic(`lease ${address}/${lease.prefixLen} from ${Stack.format(lease.serverId)}, ${lease.leaseSeconds} s, T1 ${lease.renewalSeconds} s`);
    assert.match(address, /^10\.99\.7\.(1\d|[2-4]\d|50)$/);
    assert.equal(lease.prefixLen, 24);
    assert.equal(lease.gateway !== undefined ? Stack.format(lease.gateway) : undefined, h.kernelIp);
    assert.deepEqual(lease.dnsServers.map(Stack.format), [h.kernelIp]);
    assert.equal(lease.mtu, 1400);
    assert.equal(lease.renewalSeconds, 4);
    const iface = h.stack.interface(h.ifIndex);
    assert.equal(iface?.address !== undefined ? Stack.format(iface.address) : '', address, 'the address is on the interface');
    assert.equal(iface?.mtu, 1400, 'option 26 applied');
    assert.ok(h.stack.routes.lookup(0x08080808) !== undefined, 'a default route via the router');
    assert.match(dnsmasq.out(), new RegExp(`DHCPACK\\(${h.name}\\) ${address.replace(/\./g, '\\.')} .* iotnet-test`), 'dnsmasq logged the ACK with our host name');

    // DNS from the lease.
    h.backend.setDnsServers(lease.dnsServers.map(Stack.format));
    assert.equal(await h.network.lookup('mqtt.test'), '10.9.3.7');
    assert.equal(await h.network.lookup('x.broker.test'), '10.9.3.1');
    assert.equal(await h.backend.lookup('nothere.test', 1), IOT_SOCKET_EHOSTNOTFOUND);

    // The kernel reaches the leased address.
    const ping = await run('ping', ['-c', '1', '-W', '2', address]);
    assert.equal(ping.code, 0, ping.out);

    // Renewal at T1 (4 s): unicast REQUEST, ACK.
    const renewed = (await nextEvent(client, 'renewed', 15_000)) as { lease: Dhcp4Lease };
    assert.equal(Stack.format(renewed.lease.address), address);
    assert.ok(client.stats.requestsSent >= 2, 'a second REQUEST went out');
    client.stop(h.runner.now(), { release: true });
    await peers.waitFor(dnsmasq, /DHCPRELEASE/, 5000);
    dnsmasq.kill('SIGTERM');
  });

  it("'iotnet tap --ipv4 dhcp': status lines for link up, address acquired (dhcp), lease renewed", async (t) => {
    if (skipWithoutInterop(t) || skipWithoutTool(t, 'dnsmasq', 'dnsmasq', 'DHCP against dnsmasq')) return;
    const ifname = `iotdh${process.pid % 100000}`.slice(0, 15);
    sh('ip', ['tuntap', 'add', 'mode', 'tap', 'name', ifname]);
    try {
      sh('sysctl', ['-q', '-w', `net.ipv6.conf.${ifname}.disable_ipv6=1`], { allowFail: true });
      sh('ip', ['addr', 'add', '10.99.9.1/24', 'dev', ifname]);
      sh('ip', ['link', 'set', ifname, 'up']);
      const dnsmasq = peers.spawn('dnsmasq', dnsmasqArgs(ifname, '10.99.9.1', 9, join(dir, 'leases9')));
      await peers.waitFor(dnsmasq, /DHCP, IP range/);
      const node = peers.spawn(process.execPath, [CLI, 'tap', ifname, '--ipv4', 'dhcp', '--hostname', 'iotnet-cli', '--pcap', join(process.env.IOTNET_INTEROP_PCAP_DIR ?? dir, 'cli-dhcp.pcap')]);
      await peers.waitFor(node, /tap: lease renewed 10\.99\.9\.\d+/, 25_000);
      const out = node.out();
      t.diagnostic(out.trim().split('\n').join(' | '));
      assert.match(out, new RegExp(`tap: link up: ${ifname} \\(mtu 1500`));
      assert.match(out, /tap: address 10\.99\.9\.\d+\/24 \(dhcp from 10\.99\.9\.1, lease 120 s\), gateway 10\.99\.9\.1, dns 10\.99\.9\.1, mtu 1400/);
      node.kill('SIGTERM');
      await peers.waitFor(node, /tap: stopped/, 5000);
      // The process exits by itself once the stack is closed (nothing native keeps it alive).
      const t0 = Date.now();
      const code = node.exitCode ?? await new Promise<number | null>((resolve) => node.once('exit', (c) => resolve(c)));
      assert.equal(code, 0, `exit code after SIGTERM: ${code}`);
      t.diagnostic(`exited ${Date.now() - t0} ms after 'tap: stopped'`);
      assert.ok(Date.now() - t0 < 2000, 'exits promptly');
      await peers.waitFor(dnsmasq, /DHCPRELEASE\(/, 3000);
    } finally {
      sh('ip', ['link', 'del', ifname], { allowFail: true });
    }
  });

  it('udhcpc gets a lease from our DHCP server; dig queries our DNS server (both on the stack)', async (t) => {
    if (skipWithoutInterop(t) || skipWithoutTool(t, 'udhcpc', 'udhcpc', 'our DHCP server against udhcpc') || skipWithoutTool(t, 'dig', 'bind9-dnsutils', 'our DNS server against dig')) return;
    const h = tapHost({ subnet: 8 });
    hosts.push(h);
    const events: string[] = [];
    const server = new Dhcp4Server(h.stack, {
      ifIndex: h.ifIndex, pool: { start: '10.99.8.100', end: '10.99.8.150' }, routers: [h.stackIp], dnsServers: [h.stackIp],
      domainName: 'iot.test', leaseSeconds: 600, onEvent: (e) => events.push(e.type),
    });
    let dns: DnsServer | undefined;
    try {
      dns = await startDnsServer(h.network, {
        port: 53, host: h.stackIp,
        zones: [{ origin: 'iot.test', records: [{ name: 'broker.iot.test', type: 'A', data: '10.99.8.2' }, { name: 'alias.iot.test', type: 'CNAME', data: 'broker.iot.test' }] }],
      });
      // udhcpc on the kernel's side of the TAP, reporting through a script.
      const script = join(dir, 'udhcpc.sh');
      writeFileSync(script, '#!/bin/sh\necho "udhcpc-event $1 ip=$ip mask=$mask subnet=$subnet router=$router dns=$dns domain=$domain lease=$lease serverid=$serverid"\n');
      chmodSync(script, 0o755);
      const r = await run('udhcpc', ['-i', h.name, '-n', '-q', '-f', '-t', '5', '-T', '2', '-s', script], { timeoutMs: 30_000 });
      t.diagnostic(r.out.trim().split('\n').filter((l) => l.startsWith('udhcpc-event')).join(' | '));
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /udhcpc-event bound ip=10\.99\.8\.1\d\d .*router=10\.99\.8\.2 dns=10\.99\.8\.2 domain=iot\.test lease=600 serverid=10\.99\.8\.2/);
      const leases = server.leases(h.runner.now());
      assert.equal(leases.filter((l) => l.state === 'bound').length, 1, JSON.stringify(leases));

      const q = async (args: string[]): Promise<string> => {
        const d = await run('dig', [`@${h.stackIp}`, '+time=2', '+tries=1', ...args]);
        assert.equal(d.code, 0, d.out);
        return d.out;
      };
      assert.match(await q(['broker.iot.test', 'A', '+short']), /^10\.99\.8\.2$/m);
      assert.match(await q(['alias.iot.test', 'A', '+short']), /broker\.iot\.test\.\n10\.99\.8\.2/);
      assert.match(await q(['+tcp', 'broker.iot.test', 'A', '+short']), /^10\.99\.8\.2$/m);
      assert.match(await q(['nothere.iot.test', 'A']), /status: NXDOMAIN/);
    } finally {
      await dns?.close();
      server.close();
    }
  });
});
