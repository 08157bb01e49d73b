/**
 * IPv6 autoconfiguration and names against **dnsmasq** on the kernel's side of a TAP
 * (issue 5, interop tier), and `iotnet tap --ipv6`:
 * - dnsmasq's router advertisements in `ra-stateless` mode (A and O flags, RDNSS,
 *   DNSSL) with its DHCPv6 server: the stack forms its SLAAC address, learns the default
 *   router and the RDNSS server, and its stateless DHCPv6 client (started by the O
 *   flag) gets the DNS server and search domain by Information-request/Reply;
 * - AAAA names (`--host-record`, `--address`) resolve through dnsmasq over IPv6, with the
 *   server learned from RDNSS/DHCPv6 (over the userspace backend's IPv6 sockets);
 * - `iotnet tap IF --ipv6 auto` prints the status lines of the same exchange;
 * - `iotnet tap IF --ipv6 2001:db8:42::2/64` on a link where the kernel holds that
 *   address reports it duplicate and never sends from it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { IOT_SOCKET_EHOSTNOTFOUND } from '../../src/base/iot-constants.ts';
import { formatIPv6 } from '../../src/base/ip-address.ts';
import { Dhcp6Stateless, type Dhcp6StatelessEvent } from '../../src/stack/dhcp/dhcp6-stateless.ts';
import { Peers, pcapDir, run, sh, skipWithoutInterop } from '../support/interop.ts';
import { ipv6TapHost, kernelDadResult, kernelLinkLocal, predictSlaac, waitUntil, type Ipv6TapHost } from '../support/ipv6-interop.ts';
import { skipWithoutTool } from '../support/system-tool.ts';

const CLI = new URL('../../bin/iotnet.js', import.meta.url).pathname;
const KEY = Uint8Array.from({ length: 16 }, (_, i) => 0x41 + i);

/** dnsmasq: RA (stateless: A + O flags, RDNSS with its own address), DHCPv6 information service, DNS with AAAA records. */
function dnsmasqArgs(ifname: string, n: number): string[] {
  return ['--no-daemon', '--conf-file=/dev/null', '-u', 'root', `--interface=${ifname}`, '--except-interface=lo', '--bind-interfaces',
    '--enable-ra', `--dhcp-range=::,constructor:${ifname},ra-stateless,64,10m`, `--ra-param=${ifname},10,600`,
    '--domain=iot6.test', '--dhcp-option=option6:domain-search,iot6.test', '--no-resolv', '--no-hosts', '--local=/test/',
    `--host-record=broker6.test,2001:db8:${n}::77`, `--address=/wild6.test/2001:db8:${n}::78`, '--host-record=dual.test,10.9.4.1,2001:db8:41::79',
    '--log-dhcp', '--log-queries'];
}

function nextDhcp6(client: Dhcp6Stateless, timeoutMs: number): Promise<Dhcp6StatelessEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no DHCPv6 reply within ${timeoutMs} ms (state ${client.client.state})`)); }, timeoutMs);
    const off = client.on((e) => {
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

describe('IPv6 with dnsmasq: RA (stateless), stateless DHCPv6, AAAA names (2001:db8:41::/64)', () => {
  const peers = new Peers();
  let h: Ipv6TapHost | undefined;
  let dhcp6: Dhcp6Stateless | undefined;
  let dnsmasq: ReturnType<Peers['spawn']> | undefined;
  let dnsServers: string[] = [];
  after(async () => {
    dhcp6?.close();
    await peers.killAll();
    await h?.close();
  });

  it('SLAAC, default router and RDNSS from dnsmasq; the O flag starts stateless DHCPv6, which gets DNS servers and domains', async (t) => {
    if (skipWithoutInterop(t) || skipWithoutTool(t, 'dnsmasq', 'dnsmasq', 'RA and DHCPv6 from dnsmasq')) return;
    h = ipv6TapHost({ subnet: 41, router: true, addresses: ['2001:db8:41::1/64'], capture: 'ipv6-dnsmasq.pcap' });
    const kernelLl = await kernelLinkLocal(h.name);
    await kernelDadResult(h.name, '2001:db8:41::1');
    dnsmasq = peers.spawn('dnsmasq', dnsmasqArgs(h.name, 41));
    await peers.waitFor(dnsmasq, /router advertisement on 2001:db8:41::/, 10_000);
    h.enableStack({ secretKey: KEY });
    dhcp6 = new Dhcp6Stateless(h.stack, { ifIndex: h.ifIndex });
    const reply = nextDhcp6(dhcp6, 20_000);
    const addrs = () => h?.stack.ipv6Addresses(h.ifIndex) ?? [];
    const slaac = await waitUntil('a preferred SLAAC address', 15_000, () => addrs().find((a) => a.origin === 'slaac' && a.state === 'preferred'));
    const global = formatIPv6(slaac.address);
    assert.equal(global, predictSlaac('2001:db8:41::', KEY, h.mac));
    assert.deepEqual(h.stack.ipv6Routers(h.ifIndex).map(formatIPv6), [kernelLl]);
    const rdnss = await waitUntil('RDNSS servers', 5000, () => {
      const s = h?.stack.ipv6DnsServers().map(formatIPv6) ?? [];
      return s.length > 0 ? s : undefined;
    });
    const other = h.events.find((x) => x.e.kind === 'other-config');
    assert.ok(other !== undefined && other.e.kind === 'other-config' && !other.e.managed, "the O flag (not M) reported as 'other-config'");
    const r = await reply;
    const dhcpDns = r.dnsServers.map(formatIPv6);
    const replyAt = Date.now() - (h.enabledAt ?? 0);
    t.diagnostic(`SLAAC ${global} (preferred at ${h.events.find((x) => x.e.kind === 'address' && x.e.info.origin === 'slaac' && x.e.info.state === 'preferred')?.at} ms); router ${kernelLl}; RDNSS ${rdnss.join(' ')}; O flag at ${other.at} ms; DHCPv6 reply at ${replyAt} ms: dns ${dhcpDns.join(' ')}, search ${r.domainSearch.join(' ')}`);
    // dnsmasq advertises one of its own addresses on the link (its global one, or its link-local one).
    for (const s of [...rdnss, ...dhcpDns]) assert.ok(s === '2001:db8:41::1' || s === kernelLl, `a DNS server of dnsmasq's: ${s}`);
    assert.ok(dhcpDns.length >= 1, 'DNS servers by DHCPv6');
    assert.deepEqual(r.domainSearch, ['iot6.test'], 'search domain by DHCPv6 (option 24)');
    assert.match(dnsmasq.out(), new RegExp(`DHCPINFORMATION-REQUEST\\(${h.name}\\)`), 'dnsmasq saw the Information-request');
    assert.match(dnsmasq.out(), /sent size: +\d+ option: 23 dns-server/, 'and answered with its DNS server');
    dnsServers = [...new Set([...rdnss, ...dhcpDns])];
  });

  it('AAAA names resolve through dnsmasq over IPv6 (the server learned from RDNSS/DHCPv6)', async (t) => {
    if (skipWithoutInterop(t) || h === undefined) return;
    assert.ok(dnsmasq !== undefined && dnsServers.length > 0, 'the test above set up dnsmasq and learned its DNS servers');
    assert.ok(h.backend.caps.ipv6, 'the userspace backend has IPv6 sockets');
    const server = dnsServers.find((s) => !s.startsWith('fe80:')) ?? (dnsServers[0] as string);
    h.backend.setDnsServers([server]);
    assert.equal(await h.network.lookup('broker6.test', { family: 6 }), '2001:db8:41::77');
    assert.equal(await h.network.lookup('x.wild6.test', { family: 6 }), '2001:db8:41::78');
    assert.equal(await h.network.lookup('dual.test', { family: 6 }), '2001:db8:41::79');
    assert.equal(await h.network.lookup('dual.test', { family: 4 }), '10.9.4.1');
    assert.equal(await h.backend.lookup('nothere.test', 2), IOT_SOCKET_EHOSTNOTFOUND);
    const stackGlobal = h.stack.ipv6Addresses(h.ifIndex).find((a) => a.origin === 'slaac');
    const from = stackGlobal !== undefined ? formatIPv6(stackGlobal.address) : '?';
    t.diagnostic(`server ${server}; dnsmasq: ${dnsmasq.out().split('\n').filter((l) => /query\[/.test(l)).join(' | ')}`);
    assert.match(dnsmasq.out(), new RegExp(`query\\[AAAA\\] broker6\\.test from ${from}`), 'the query came over IPv6 from the SLAAC address');
  });
});

describe("'iotnet tap --ipv6' against the Linux kernel and dnsmasq", () => {
  const peers = new Peers();
  const dir = mkdtempSync(join(tmpdir(), 'iotnet-tap6-'));
  after(async () => {
    await peers.killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A persistent TAP (the CLI opens it by name) with IPv6 on the kernel side. */
  function persistentTap(n: number, addresses: string[]): string {
    const ifname = `iot6c${n}x${process.pid % 10000}`.slice(0, 15);
    sh('sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    sh('ip', ['tuntap', 'add', 'mode', 'tap', 'name', ifname]);
    sh('sysctl', ['-q', '-w', `net.ipv6.conf.${ifname}.disable_ipv6=0`]);
    for (const a of addresses) sh('ip', ['-6', 'addr', 'add', ...a.split(' '), 'dev', ifname]);
    return ifname;
  }

  it("'--ipv6 auto': status lines for the link-local and SLAAC addresses, the router, DNS by RDNSS and by DHCPv6", async (t) => {
    if (skipWithoutInterop(t) || skipWithoutTool(t, 'dnsmasq', 'dnsmasq', 'RA and DHCPv6 from dnsmasq')) return;
    const ifname = persistentTap(44, ['2001:db8:44::1/64']);
    try {
      sh('ip', ['link', 'set', ifname, 'up']);
      const node = peers.spawn(process.execPath, [CLI, 'tap', ifname, '--ipv6', 'auto', '--pcap', join(pcapDir(), 'cli-ipv6-auto.pcap')]);
      await peers.waitFor(node, /tap: ready/, 10_000);
      await kernelLinkLocal(ifname);
      await kernelDadResult(ifname, '2001:db8:44::1');
      const dnsmasq = peers.spawn('dnsmasq', dnsmasqArgs(ifname, 44));
      await peers.waitFor(dnsmasq, /router advertisement on 2001:db8:44::/, 10_000);
      await peers.waitFor(node, /tap: ipv6 dns \(dhcpv6\)/, 20_000);
      await peers.waitFor(node, /tap: ipv6 address 2001:db8:44:[0-9a-f:]+\/64 \(slaac\) preferred/, 10_000);
      const out = node.out();
      t.diagnostic(out.trim().split('\n').join(' | '));
      assert.match(out, /tap: ipv6 address fe80::[0-9a-f:]+\/64 \(link-local\) tentative/);
      assert.match(out, /tap: ipv6 address fe80::[0-9a-f:]+\/64 \(link-local\) preferred/);
      assert.match(out, /tap: ipv6 default router fe80::[0-9a-f:]+ added/);
      assert.match(out, /tap: ipv6 dns \(ra\) (2001:db8:44::1|fe80::[0-9a-f:]+)/);
      assert.match(out, /tap: ipv6 dns \(dhcpv6\) (2001:db8:44::1|fe80::[0-9a-f:]+).*, search iot6\.test/);
      // The kernel reaches the SLAAC address printed.
      const addr = /tap: ipv6 address (2001:db8:44:[0-9a-f:]+)\/64 \(slaac\) preferred/.exec(out)?.[1] as string;
      const ping = await run('ping', ['-6', '-c', '1', '-W', '2', addr]);
      assert.equal(ping.code, 0, ping.out);
      node.kill('SIGTERM');
      await peers.waitFor(node, /tap: stopped/, 5000);
    } finally {
      sh('ip', ['link', 'del', ifname], { allowFail: true });
    }
  });

  it("'--ipv6 2001:db8:42::2/64' where the kernel holds 2001:db8:42::2: reported duplicate, never used", async (t) => {
    if (skipWithoutInterop(t) || skipWithoutTool(t, 'tshark', 'tshark', 'the capture of the duplicate address')) return;
    // nodad: the TAP has no carrier until the stack attaches, and the kernel must already hold the address then.
    const ifname = persistentTap(42, ['2001:db8:42::1/64 nodad', '2001:db8:42::2/64 nodad']);
    const pcap = join(pcapDir(), 'cli-ipv6-duplicate.pcap');
    try {
      sh('ip', ['link', 'set', ifname, 'up']);
      await kernelDadResult(ifname, '2001:db8:42::2');
      const node = peers.spawn(process.execPath, [CLI, 'tap', ifname, '--ipv6', '2001:db8:42::2/64', '--pcap', pcap]);
      await peers.waitFor(node, /tap: ipv6 address 2001:db8:42::2\/64 \(static\) duplicate/, 10_000);
      await peers.waitFor(node, /tap: ipv6 address fe80::[0-9a-f:]+\/64 \(link-local\) preferred/, 10_000);
      // The rest of IPv6 works (the link-local address); then the capture is read.
      const ll = /tap: ipv6 address (fe80::[0-9a-f:]+)\/64 \(link-local\) preferred/.exec(node.out())?.[1] as string;
      const ping = await run('ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', `${ll}%${ifname}`]);
      assert.equal(ping.code, 0, `the stack still answers on its link-local address: ${ping.out}`);
      const mac = /stack mac ([0-9a-f:]+)/.exec(node.out())?.[1] as string;
      node.kill('SIGTERM');
      await peers.waitFor(node, /tap: stopped/, 5000);
      t.diagnostic(node.out().trim().split('\n').join(' | '));
      assert.doesNotMatch(node.out(), /2001:db8:42::2\/64 \(static\) preferred/);
      const count = async (filter: string): Promise<number> => {
        const r = await run('tshark', ['-r', pcap, '-n', '-Y', filter, '-T', 'fields', '-e', 'frame.number']);
        assert.equal(r.code, 0, r.out);
        return r.out.split('\n').filter((l) => /^\d+$/.test(l.trim())).length;
      };
      const fromDup = await count(`eth.src == ${mac} && ipv6.src == 2001:db8:42::2`);
      const probes = await count(`eth.src == ${mac} && icmpv6.type == 135 && ipv6.src == :: && icmpv6.nd.ns.target_address == 2001:db8:42::2`);
      const defended = await count(`eth.src != ${mac} && icmpv6.type == 136 && icmpv6.nd.na.target_address == 2001:db8:42::2`);
      t.diagnostic(`stack ${mac}: DAD probes for ::2 ${probes}, kernel's NAs for ::2 ${defended}, packets from ::2 ${fromDup}`);
      assert.equal(probes, 1, 'one DAD probe');
      assert.ok(defended >= 1, "the kernel's Neighbor Advertisement defending the address");
      assert.equal(fromDup, 0, 'no packet from the duplicate address');
    } finally {
      sh('ip', ['link', 'del', ifname], { allowFail: true });
    }
  });
});
