// EthernetInterface on virtual time: the userspace stack on one end of a virtual cable (or a
// switch port), a peer stack on the other end running our DHCPv4 server on 192.168.7.1/24.
// Status sequences with reasons, the carrier (cable cut and restored: INIT-REBOOT back to the
// same address), DHCP release, the connect/disconnect rules, AbortSignal, timeouts, repeated
// cycles without leaks, and TCP through the interface's backend.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { isSocketError } from '../../../../src/base/socket-error.ts';
import type { VirtualScheduler } from '../../../../src/base/time.ts';
import { EthernetInterface, type EthernetInterfaceOptions } from '../../../../src/backends/netif/ethernet-interface.ts';
import type { InterfaceStatusEvent, LinkEvent } from '../../../../src/backends/netif/network-interface.ts';
import { createUserspaceBackend } from '../../../../src/backends/userspace/index.ts';
import { createCable, VirtualSwitch, type CableEnd } from '../../../../src/link/index.ts';
import { Dhcp4Server } from '../../../../src/stack/dhcp/dhcp4-server.ts';
import { Network } from '../../../../src/socket/network.ts';
import { addHost, pattern, resolveOn, settle, tcpEcho, type Host } from '../../../support/stack-net.ts';
import { VirtualScheduler as Sched } from '../../../../src/base/time.ts';

interface Lab {
  sched: VirtualScheduler;
  ends: [CableEnd, CableEnd];
  peer: Host;
  server: Dhcp4Server | undefined;
  peerNet: Network;
  eth: EthernetInterface;
  statuses: string[];
  links: string[];
}

function lab(opts: { dhcpServer?: boolean; eth?: Partial<EthernetInterfaceOptions>; seed?: number } = {}): Lab {
  const sched = new Sched();
  const ends = createCable();
  const peer = addHost(sched, ends[1], '192.168.7.1', 100, { name: 'peer' });
  const server = opts.dhcpServer === false ? undefined : new Dhcp4Server(peer.stack, {
    ifIndex: peer.ifIndex,
    pool: { start: '192.168.7.100', end: '192.168.7.150' },
    routers: ['192.168.7.1'],
    dnsServers: ['192.168.7.1', '9.9.9.9'],
    leaseSeconds: 3600,
  });
  const peerNet = new Network(createUserspaceBackend(peer.stack, peer.runner, { rng: new XorShiftRng(101) }), { scheduler: sched, rng: new XorShiftRng(102) });
  const eth = new EthernetInterface({ link: ends[0], scheduler: sched, rng: new XorShiftRng(opts.seed ?? 7), mac: '02:00:00:00:00:07', ...opts.eth });
  const statuses: string[] = [];
  const links: string[] = [];
  eth.on('status', (e: InterfaceStatusEvent) => statuses.push(`${e.status}:${e.reason}`));
  eth.on('link', (e: LinkEvent) => links.push(`${e.up ? 'up' : 'down'}:${e.reason}`));
  return { sched, ends, peer, server, peerNet, eth, statuses, links };
}

const rejectsWith = (code: string, reason?: string) => (e: unknown): boolean =>
  isSocketError(e, code as never) && (reason === undefined || e.detail.reason === reason);

describe('EthernetInterface', () => {
  it('DHCP: connecting -> global-up with address, gateway, DNS; TCP through its backend; disconnect releases', async () => {
    const l = lab();
    const { eth, sched } = l;
    assert.equal(eth.name, 'eth0');
    assert.equal(eth.kind, 'ethernet');
    assert.equal(eth.status, 'disconnected');
    assert.equal(eth.linkUp, true);
    assert.equal(eth.mac, '02:00:00:00:00:07');
    assert.deepEqual(eth.addresses.dnsServers, []);
    await resolveOn(sched, eth.connect());
    assert.deepEqual(l.statuses, ['connecting:dhcp', 'global-up:dhcp-bound']);
    assert.equal(eth.status, 'global-up');
    assert.deepEqual(eth.addresses, { ipv4: '192.168.7.100', prefixLen: 24, gateway: '192.168.7.1', ipv6: [], dnsServers: ['192.168.7.1', '9.9.9.9'] });
    assert.deepEqual(eth.backend.dnsServers, ['192.168.7.1:53', '9.9.9.9:53']);
    assert.equal(eth.dhcp?.state, 'BOUND');

    const net = new Network(eth.backend, { scheduler: sched, rng: new XorShiftRng(8) });
    const data = pattern(20_000, 3);
    const { back } = await tcpEcho(sched, l.peerNet, net, '192.168.7.1', 7000, data);
    assert.deepEqual(back, data);
    await resolveOn(sched, net.close());

    await resolveOn(sched, eth.disconnect());
    await settle(sched, 10);
    assert.deepEqual(l.statuses, ['connecting:dhcp', 'global-up:dhcp-bound', 'disconnected:disconnect']);
    assert.equal(l.server?.stats.releases, 1);
    assert.equal(l.server?.leases(sched.now()).find((x) => x.address === l.server?.poolStart)?.state, 'released');
    assert.deepEqual(eth.addresses, { ipv4: undefined, prefixLen: undefined, gateway: undefined, ipv6: [], dnsServers: [] });
    assert.equal(eth.dhcp, undefined);
    assert.equal(eth.stack.interface(eth.ifIndex)?.up, false);
    await resolveOn(sched, eth.close());
  });

  it('cable cut while up: link down, connecting (link-down); restored: INIT-REBOOT to the same address, global-up', async () => {
    const l = lab();
    const { eth, sched } = l;
    await resolveOn(sched, eth.connect());
    const discovers = l.server?.stats.discovers;
    l.ends[1].unplug();
    assert.equal(eth.linkUp, false);
    assert.equal(eth.status, 'connecting');
    assert.equal(eth.stack.interface(eth.ifIndex)?.up, false);
    assert.equal(eth.addresses.ipv4, undefined);
    await settle(sched, 30_000);
    assert.equal(eth.status, 'connecting', 'stays connecting while the cable is out');
    l.ends[1].plug();
    await settle(sched, 10_000);
    assert.equal(eth.status, 'global-up');
    assert.equal(eth.addresses.ipv4, '192.168.7.100');
    assert.equal(l.server?.stats.discovers, discovers, 'no new DISCOVER: INIT-REBOOT asked for the old address');
    assert.deepEqual(l.statuses, ['connecting:dhcp', 'global-up:dhcp-bound', 'connecting:link-down', 'global-up:dhcp-bound']);
    assert.deepEqual(l.links, ['down:carrier-lost', 'up:carrier-up']);
    // A TCP exchange works again.
    const net = new Network(eth.backend, { scheduler: sched, rng: new XorShiftRng(9) });
    const { back } = await tcpEcho(sched, l.peerNet, net, '192.168.7.1', 7001, pattern(3000, 4));
    assert.equal(back.length, 3000);
    await resolveOn(sched, net.close());
    await resolveOn(sched, eth.close());
  });

  it('a switch port unplugged and plugged: the same sequence', async () => {
    const sched = new Sched();
    const sw = new VirtualSwitch();
    const peer = addHost(sched, sw.port(), '192.168.7.1', 100);
    new Dhcp4Server(peer.stack, { ifIndex: peer.ifIndex, pool: { start: '192.168.7.100', end: '192.168.7.150' }, routers: ['192.168.7.1'] });
    const port = sw.port();
    const eth = new EthernetInterface({ link: port, scheduler: sched, rng: new XorShiftRng(3), name: 'eth1', dhcp: { probe: false } });
    const seen: string[] = [];
    eth.on('status', (e) => seen.push(`${e.status}:${e.reason}`));
    await resolveOn(sched, eth.connect());
    port.unplug();
    await settle(sched, 1000);
    port.plug();
    await settle(sched, 5000);
    assert.deepEqual(seen, ['connecting:dhcp', 'global-up:dhcp-bound', 'connecting:link-down', 'global-up:dhcp-bound']);
    assert.deepEqual(eth.addresses.dnsServers, []);
    await resolveOn(sched, eth.close());
  });

  it('static configuration; connect with the cable out waits for it (connecting link-down)', async () => {
    const l = lab({ dhcpServer: false, eth: { ipv4: { address: '192.168.7.20', prefixLen: 24, gateway: '192.168.7.1', dns: ['192.168.7.1'] } } });
    const { eth, sched } = l;
    l.ends[0].unplug();
    assert.equal(eth.linkUp, false);
    const p = eth.connect();
    await settle(sched, 5000);
    assert.equal(eth.status, 'connecting');
    l.ends[0].plug();
    await resolveOn(sched, p);
    assert.deepEqual(l.statuses, ['connecting:link-down', 'global-up:static']);
    assert.deepEqual(eth.addresses, { ipv4: '192.168.7.20', prefixLen: 24, gateway: '192.168.7.1', ipv6: [], dnsServers: ['192.168.7.1'] });
    // Cut and restored: the static address stays configured; status follows the carrier.
    l.ends[0].unplug();
    l.ends[0].plug();
    assert.deepEqual(l.statuses.slice(2), ['connecting:link-down', 'global-up:static']);
    await resolveOn(sched, eth.disconnect());
    assert.equal(eth.addresses.ipv4, undefined);
    assert.equal(eth.stack.interface(eth.ifIndex)?.address, 0);
    await resolveOn(sched, eth.close());
  });

  it('IPv6 only (ipv4 none, static IPv6): global-up once DAD made the address preferred', async () => {
    const l = lab({ dhcpServer: false, eth: { ipv4: 'none', ipv6: { address: '2001:db8::7', prefixLen: 64 } } });
    await resolveOn(l.sched, l.eth.connect());
    assert.equal(l.eth.status, 'global-up');
    assert.deepEqual(l.statuses[0], 'connecting:ipv6');
    assert.equal(l.eth.addresses.ipv4, undefined);
    assert.ok(l.eth.addresses.ipv6.includes('2001:db8::7'), l.eth.addresses.ipv6.join(' '));
    await resolveOn(l.sched, l.eth.close());
    assert.equal(l.eth.status, 'disconnected');
  });

  it('fixed DNS servers win over the lease', async () => {
    const l = lab({ eth: { dns: ['1.1.1.1'] } });
    await resolveOn(l.sched, l.eth.connect());
    assert.deepEqual(l.eth.addresses.dnsServers, ['1.1.1.1']);
    assert.deepEqual(l.eth.backend.dnsServers, ['1.1.1.1:53']);
    await resolveOn(l.sched, l.eth.close());
  });

  it('no DHCP server: connect fails with ETIMEDOUT dhcp-timeout, back to disconnected', async () => {
    const l = lab({ dhcpServer: false, eth: { connectTimeoutMs: 20_000 } });
    const t0 = l.sched.now();
    await assert.rejects(resolveOn(l.sched, l.eth.connect()), rejectsWith('ETIMEDOUT', 'dhcp-timeout'));
    assert.equal(l.sched.now() - t0 >= 20_000, true);
    assert.equal(l.eth.status, 'disconnected');
    assert.deepEqual(l.statuses, ['connecting:dhcp', 'disconnected:dhcp-timeout']);
    assert.equal(l.eth.dhcp, undefined);
    await assert.rejects(l.eth.disconnect(), rejectsWith('ENOTCONN'));
    await resolveOn(l.sched, l.eth.close());
  });

  it('rules: EISCONN, EALREADY, EAGAIN while disconnecting, ENOTCONN, disconnect during connect, AbortSignal', async () => {
    const l = lab();
    const { eth, sched } = l;
    await assert.rejects(eth.disconnect(), rejectsWith('ENOTCONN', 'not-connected'));
    const p = eth.connect();
    await assert.rejects(eth.connect(), rejectsWith('EALREADY'));
    await resolveOn(sched, p);
    await assert.rejects(eth.connect(), rejectsWith('EISCONN'));
    const d = eth.disconnect();
    const busyConnect = eth.connect();
    const busyDisconnect = eth.disconnect();
    await assert.rejects(busyConnect, rejectsWith('EAGAIN', 'busy-disconnecting'));
    await assert.rejects(busyDisconnect, rejectsWith('EAGAIN'));
    await resolveOn(sched, d);
    assert.equal(eth.status, 'disconnected');

    // disconnect() during connect(): connect rejects ECONNABORTED, then disconnected.
    const c2 = eth.connect();
    await settle(sched, 1);
    const d2 = eth.disconnect();
    await assert.rejects(resolveOn(sched, c2), rejectsWith('ECONNABORTED'));
    await resolveOn(sched, d2);
    assert.equal(eth.status, 'disconnected');

    // AbortSignal: already aborted, and aborted while connecting.
    await assert.rejects(eth.connect({ signal: AbortSignal.abort() }), rejectsWith('ECONNABORTED', 'aborted'));
    const ac = new AbortController();
    const c3 = eth.connect({ signal: ac.signal });
    await settle(sched, 1);
    ac.abort();
    await assert.rejects(resolveOn(sched, c3), rejectsWith('ECONNABORTED', 'aborted'));
    assert.equal(eth.status, 'disconnected');
    assert.equal(eth.dhcp, undefined);
    // And it still connects afterwards.
    await resolveOn(sched, eth.connect());
    assert.equal(eth.status, 'global-up');
    await resolveOn(sched, eth.close());
  });

  it('5 connect/disconnect cycles (with a cable cut each time): same address, no leaked timers, sockets or PCBs', async () => {
    const l = lab({ eth: { dhcp: { probe: false } } });
    const { eth, sched } = l;
    const net = new Network(eth.backend, { scheduler: sched, rng: new XorShiftRng(10) });
    const listener = await resolveOn(sched, l.peerNet.listen({ port: 7100 }));
    let baseline: { timers: number; udp: number } | undefined;
    for (let i = 0; i < 6; i++) {
      await resolveOn(sched, eth.connect());
      assert.equal(eth.addresses.ipv4, '192.168.7.100');
      const accepted = listener.accept();
      const s = await resolveOn(sched, net.connect('192.168.7.1:7100'));
      const peer = await resolveOn(sched, accepted);
      await resolveOn(sched, s.write('x'));
      await resolveOn(sched, peer.read());
      await resolveOn(sched, s.close());
      await resolveOn(sched, peer.close());
      l.ends[0].unplug();
      l.ends[0].plug();
      await settle(sched, 2000);
      assert.equal(eth.status, 'global-up');
      await resolveOn(sched, eth.disconnect());
      await settle(sched, 300_000); // TIME_WAIT and ARP entries run out
      const now = { timers: sched.pendingTimers(), udp: eth.stack.udpOpenCount };
      assert.equal(eth.backend.openSockets, 0);
      if (baseline === undefined) baseline = now;
      else assert.deepEqual(now, baseline, `cycle ${i}`);
    }
    assert.equal(l.statuses.filter((s) => s === 'disconnected:disconnect').length, 6);
    assert.equal(l.statuses.filter((s) => s === 'connecting:link-down').length, 6);
    listener.close();
    await resolveOn(sched, net.close());
    await resolveOn(sched, eth.close());
  });
});
