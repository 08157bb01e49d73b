/**
 * DHCPv4 client against our server (and a scripted one) on a virtual LAN, virtual time:
 * DORA with RFC 5227 probing, the lease on the interface, renewal, rebinding, expiry,
 * NAKs, INIT-REBOOT, conflicts, release.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dhcp4Client, dhcp4ClientIdFromMac, maskToPrefix, type Dhcp4Lease } from '../../../src/stack/dhcp/dhcp4-client.ts';
import { DHCPV4_FLAG_BROADCAST, Dhcpv4MessageType as T } from '../../../src/wire/dhcpv4.ts';
import { addClientHost, dhcpFrames, dhcpLan, ip, kinds, replyTo, ScriptedServer, SERVER_IP, startClient, transitions } from '../../support/dhcp4-net.ts';
import { openUdp, run } from '../../support/stack-net.ts';

const S = 1000;

function arpProbes(frames: readonly Uint8Array[]): number[] {
  return frames
    .filter((f) => f[12] === 0x08 && f[13] === 0x06 && f[21] === 1 && f.subarray(28, 32).every((x) => x === 0))
    .map((f) => (((f[38] as number) << 24) | ((f[39] as number) << 16) | ((f[40] as number) << 8) | (f[41] as number)) >>> 0);
}

describe('DHCPv4 client: DORA with our server', () => {
  it('DISCOVER, OFFER, REQUEST, ACK, three ARP probes, then the lease on the interface', () => {
    const lan = dhcpLan();
    const h = addClientHost(lan, 1, { tap: true });
    const clientId = dhcp4ClientIdFromMac(h.mac);
    const { client, events } = startClient(lan, h, { hostname: 'iot-1', clientId });
    run(lan.sched, 10 * S);
    assert.equal(client.state, 'BOUND');
    assert.deepEqual(transitions(events), ['STOPPED>INIT', 'INIT>SELECTING', 'SELECTING>REQUESTING', 'REQUESTING>PROBING', 'PROBING>BOUND']);
    assert.deepEqual(kinds(events), ['bound']);
    const lease = client.lease as Dhcp4Lease;
    assert.equal(lease.address, ip('192.168.7.100'));
    assert.equal(lease.prefixLen, 24);
    assert.equal(lease.gateway, SERVER_IP);
    assert.deepEqual(lease.dnsServers, [SERVER_IP, ip('9.9.9.9')]);
    assert.deepEqual(client.dnsServers, lease.dnsServers);
    assert.equal(lease.domainName, 'lan.test');
    assert.equal(lease.mtu, 1400);
    assert.equal(lease.serverId, SERVER_IP);
    assert.equal(lease.leaseSeconds, 3600);
    assert.equal(lease.renewalSeconds, 1800);
    assert.equal(lease.rebindingSeconds, 3150);
    assert.equal(lease.renewAt, lease.startedAt + 1800 * S);
    assert.equal(lease.expiresAt, lease.startedAt + 3600 * S);
    // Applied: address, connected route, default route via the router, MTU.
    const iface = h.stack.interface(h.ifIndex);
    assert.equal(iface?.address, lease.address);
    assert.equal(iface?.prefixLen, 24);
    assert.equal(iface?.mtu, 1400);
    assert.equal(h.stack.routes.lookup(ip('8.8.8.8'))?.nextHop, SERVER_IP);
    // The wire.
    const sent = dhcpFrames(h.tap?.tx ?? []);
    assert.deepEqual(sent.map((f) => f.msg.options.messageType), [T.DISCOVER, T.REQUEST]);
    const [discover, request] = sent;
    assert.equal(discover?.src, 0);
    assert.equal(discover?.dst, 0xffffffff);
    assert.equal(discover?.ethDst, 'ff:ff:ff:ff:ff:ff');
    assert.equal(discover?.srcPort, 68);
    assert.equal(discover?.dstPort, 67);
    assert.equal(discover?.msg.flags, DHCPV4_FLAG_BROADCAST);
    assert.deepEqual(discover?.msg.chaddr, h.mac);
    assert.deepEqual(discover?.msg.options.clientId, clientId);
    assert.equal(discover?.msg.options.hostname, 'iot-1');
    assert.deepEqual([...(discover?.msg.options.parameterRequestList ?? [])], [1, 3, 6, 12, 15, 26, 28, 51, 58, 59]);
    assert.equal(discover?.msg.options.maxMessageSize, 1500);
    assert.equal(request?.msg.xid, discover?.msg.xid, 'the REQUEST answers the OFFER: same xid');
    assert.equal(request?.msg.options.requestedIp, lease.address);
    assert.equal(request?.msg.options.serverId, SERVER_IP);
    assert.equal(request?.msg.ciaddr, 0);
    assert.deepEqual(arpProbes(h.tap?.tx ?? []), [lease.address, lease.address, lease.address], 'RFC 5227: PROBE_NUM probes');
    assert.equal(h.stack.stats.arp.announcementsOut, 2, 'RFC 5227 §2.3: two announcements');
    // The server's table.
    const row = lan.dhcp?.leaseFor(h.mac, lan.sched.now());
    assert.equal(row?.address, lease.address);
    assert.equal(row?.hostname, 'iot-1');
    assert.deepEqual(row?.clientId, clientId);
    // And the address works.
    let rtt = -1;
    h.stack.ping(lan.sched.now(), SERVER_IP, {}, (r) => (rtt = r.code));
    run(lan.sched, 10);
    assert.equal(rtt, 0);
  });

  it('probing follows RFC 5227 timing: first probe within PROBE_WAIT, 1-2 s apart, bound ANNOUNCE_WAIT after the last', () => {
    const lan = dhcpLan();
    const h = addClientHost(lan, 2, { tap: true });
    const { client, events } = startClient(lan, h);
    const times: number[] = [];
    let boundAt = -1;
    for (let t = 0; t < 10 * S && boundAt < 0; t += 10) {
      const before = arpProbes(h.tap?.tx ?? []).length;
      run(lan.sched, 10);
      if (arpProbes(h.tap?.tx ?? []).length > before) times.push(lan.sched.now());
      if (client.state === 'BOUND') boundAt = lan.sched.now();
    }
    assert.equal(times.length, 3);
    const ackAt = 0; // the exchange is instantaneous on the virtual switch
    assert.ok((times[0] as number) - ackAt <= 1000 + 10);
    assert.ok((times[1] as number) - (times[0] as number) >= 1000 - 10 && (times[1] as number) - (times[0] as number) <= 2000 + 10);
    assert.ok((times[2] as number) - (times[1] as number) >= 1000 - 10 && (times[2] as number) - (times[1] as number) <= 2000 + 10);
    assert.ok(boundAt - (times[2] as number) >= 2000 - 10 && boundAt - (times[2] as number) <= 2000 + 10);
    assert.deepEqual(kinds(events), ['bound']);
  });

  it('without probing (probe: false) the lease applies at the ACK', () => {
    const lan = dhcpLan();
    const h = addClientHost(lan, 3);
    const { client } = startClient(lan, h, { probe: false });
    run(lan.sched, 1);
    assert.equal(client.state, 'BOUND');
    assert.equal(h.stack.stats.arp.probesOut, 0);
  });
});

describe('DHCPv4 client: renewal, rebinding, expiry', () => {
  it('renews at T1 with a unicast REQUEST (ciaddr, no 50/54) and gets a fresh lease', () => {
    const lan = dhcpLan({ server: { leaseSeconds: 600 } });
    const h = addClientHost(lan, 4, { tap: true });
    const { client, events } = startClient(lan, h);
    run(lan.sched, 10 * S);
    const first = client.lease as Dhcp4Lease;
    assert.equal(first.renewAt - first.startedAt, 300 * S);
    h.tap?.clear();
    run(lan.sched, first.renewAt - lan.sched.now() - 1);
    assert.equal(dhcpFrames(h.tap?.tx ?? []).length, 0, 'nothing before T1');
    run(lan.sched, 2);
    const renew = dhcpFrames(h.tap?.tx ?? [])[0];
    assert.equal(renew?.msg.options.messageType, T.REQUEST);
    assert.equal(renew?.dst, SERVER_IP, 'unicast to the server');
    assert.equal(renew?.src, first.address);
    assert.equal(renew?.msg.ciaddr, first.address);
    assert.equal(renew?.msg.flags, 0);
    assert.equal(renew?.msg.options.requestedIp, undefined);
    assert.equal(renew?.msg.options.serverId, undefined);
    const reply = dhcpFrames(h.tap?.rx ?? []).find((f) => f.msg.options.messageType === T.ACK);
    assert.equal(reply?.dst, first.address, 'the server answers ciaddr');
    assert.equal(client.state, 'BOUND');
    assert.deepEqual(kinds(events), ['bound', 'renewed']);
    const second = client.lease as Dhcp4Lease;
    assert.equal(second.address, first.address);
    assert.equal(second.startedAt, first.renewAt);
    assert.equal(second.expiresAt, first.renewAt + 600 * S);
    assert.equal(lan.dhcp?.leaseFor(h.mac, lan.sched.now())?.expiresAt, second.startedAt + 600 * S);
    assert.deepEqual(transitions(events).slice(-2), ['BOUND>RENEWING', 'RENEWING>BOUND']);
    // Ten more renewals: still one lease, no probing again.
    run(lan.sched, 3000 * S);
    assert.equal(kinds(events).filter((k) => k === 'renewed').length, 11);
    assert.equal(h.stack.stats.arp.probesOut, 3);
  });

  it('server away at T1, back before T2: RENEWING retransmits (half the time to T2, >= 60 s), REBINDING broadcasts, rebound', () => {
    const lan = dhcpLan({ server: { leaseSeconds: 3600 } });
    const h = addClientHost(lan, 5, { tap: true });
    const { client, events } = startClient(lan, h);
    run(lan.sched, 10 * S);
    const lease = client.lease as Dhcp4Lease;
    lan.server.stack.setInterfaceUp(lan.server.ifIndex, false);
    // Each REQUEST waits half the remaining time to T2, at least 60 s: T1, +675 s, +337.5 s, +168.75 s, +84.4 s, +60 s ...
    const expected: number[] = [];
    for (let t = lease.renewAt; t < lease.rebindAt; t = Math.min(lease.rebindAt, t + Math.max(60 * S, (lease.rebindAt - t) / 2))) expected.push(t);
    const sentAt: number[] = [];
    for (let i = 0; i < 20 && client.state !== 'REBINDING'; i++) {
      const before = client.stats.requestsSent;
      run(lan.sched, (client.pollAt() as number) - lan.sched.now());
      if (client.stats.requestsSent > before) sentAt.push(lan.sched.now());
    }
    assert.deepEqual(sentAt.slice(0, -1), expected, 'RENEWING retransmissions (the last send is REBINDING\'s)');
    assert.equal(sentAt.at(-1), lease.rebindAt);
    assert.equal(client.state, 'REBINDING');
    assert.ok(h.stack.stats.arp.requestsOut > 0, 'unicast to the server: ARP for it (unanswered)');
    h.tap?.clear();
    lan.server.stack.setInterfaceUp(lan.server.ifIndex, true);
    run(lan.sched, (client.pollAt() as number) - lan.sched.now() + 1);
    assert.equal(client.state, 'BOUND');
    assert.deepEqual(kinds(events), ['bound', 'rebound']);
    const rebind = dhcpFrames(h.tap?.tx ?? []).filter((f) => f.msg.options.messageType === T.REQUEST).at(-1);
    assert.equal(rebind?.dst, 0xffffffff, 'REBINDING broadcasts');
    assert.equal(rebind?.msg.ciaddr, lease.address);
    assert.ok(transitions(events).includes('RENEWING>REBINDING'));
    assert.equal((client.lease as Dhcp4Lease).address, lease.address);
  });

  it('a second server answers the rebinding broadcast when the first is gone for good', () => {
    const lan = dhcpLan({ server: { leaseSeconds: 1000 } });
    const h = addClientHost(lan, 6);
    const { client, events } = startClient(lan, h);
    run(lan.sched, 10 * S);
    const lease = client.lease as Dhcp4Lease;
    lan.dhcp?.close();
    run(lan.sched, lease.rebindAt - lan.sched.now() - 10);
    // A backup server on the same subnet, same pool (authoritative): it never saw the client.
    new ScriptedServer(lan, '192.168.7.2', 77, (m) =>
      m.options.messageType === T.REQUEST && m.ciaddr !== 0 && m.options.serverId === undefined
        ? [{ msg: { ...replyTo(m, T.ACK, m.ciaddr, { serverId: ip('192.168.7.2'), leaseTime: 1000, subnetMask: 0xffffff00, routers: [ip('192.168.7.2')] }), ciaddr: m.ciaddr }, to: m.ciaddr }]
        : undefined);
    run(lan.sched, 20);
    assert.equal(client.state, 'BOUND');
    assert.deepEqual(kinds(events), ['bound', 'rebound']);
    assert.equal(client.lease?.serverId, ip('192.168.7.2'));
    assert.equal(client.lease?.gateway, ip('192.168.7.2'), 'routes follow the new lease');
    assert.equal(h.stack.routes.lookup(ip('1.1.1.1'))?.nextHop, ip('192.168.7.2'));
  });

  it('no server at all: the lease expires, the address, routes and MTU go, back to INIT asking for the old address', () => {
    const lan = dhcpLan({ server: { leaseSeconds: 600 } });
    const h = addClientHost(lan, 7, { tap: true });
    const mtuBefore = h.stack.interface(h.ifIndex)?.mtu;
    const { client, events } = startClient(lan, h);
    run(lan.sched, 10 * S);
    const lease = client.lease as Dhcp4Lease;
    assert.equal(h.stack.interface(h.ifIndex)?.mtu, 1400);
    lan.dhcp?.close();
    run(lan.sched, lease.expiresAt - lan.sched.now() - 1);
    assert.equal(client.state, 'REBINDING');
    assert.equal(h.stack.interface(h.ifIndex)?.address, lease.address, 'still usable until the lease ends');
    h.tap?.clear();
    run(lan.sched, 2);
    assert.deepEqual(kinds(events), ['bound', 'expired']);
    assert.ok(transitions(events).join(' ').endsWith('REBINDING>INIT INIT>SELECTING'));
    assert.equal(client.state, 'SELECTING');
    assert.equal(client.lease, undefined);
    const iface = h.stack.interface(h.ifIndex);
    assert.equal(iface?.address, 0);
    assert.equal(iface?.mtu, mtuBefore, 'MTU restored');
    assert.equal(h.stack.routes.lookup(ip('8.8.8.8')), undefined, 'default route gone');
    const discover = dhcpFrames(h.tap?.tx ?? [])[0];
    assert.equal(discover?.msg.options.messageType, T.DISCOVER);
    assert.equal(discover?.msg.options.requestedIp, lease.address, 'option 50: the old address');
    assert.equal(discover?.src, 0);
    // RFC 2131 §4.1 back-off: 4, 8, 16, 32, 64, 64 s (+- 1 s).
    h.tap?.clear();
    const at: number[] = [];
    for (let i = 0; i < 200 * 10; i++) {
      const n = dhcpFrames(h.tap?.tx ?? []).length;
      run(lan.sched, 100);
      if (dhcpFrames(h.tap?.tx ?? []).length > n) at.push(lan.sched.now());
    }
    const start = lease.expiresAt;
    const gaps = at.map((x, i) => x - (i === 0 ? start : (at[i - 1] as number)));
    for (const [i, g] of gaps.slice(0, 6).entries()) {
      const base = [4, 8, 16, 32, 64, 64][i] as number;
      assert.ok(g >= (base - 1) * S - 100 && g <= (base + 1) * S + 100, `gap ${i}: ${g} ms`);
    }
  });
});

describe('DHCPv4 client: NAK, INIT-REBOOT, conflicts, release', () => {
  it('a NAK in REQUESTING restarts at INIT; repeated NAKs back off 0, 1, 2, 4 s', () => {
    const lan = dhcpLan({ server: false });
    const h = addClientHost(lan, 8);
    const server = new ScriptedServer(lan, '192.168.7.1', 50, (m) => {
      if (m.options.messageType === T.DISCOVER) return [replyTo(m, T.OFFER, ip('192.168.7.9'), { serverId: SERVER_IP, leaseTime: 600 })];
      if (m.options.messageType === T.REQUEST) return [replyTo(m, T.NAK, 0, { serverId: SERVER_IP, message: 'no' })];
      return undefined;
    });
    const { client, events } = startClient(lan, h);
    run(lan.sched, 8 * S);
    const naks = events.filter((e) => e.type === 'nak');
    assert.ok(naks.length >= 4);
    assert.deepEqual(naks[0], { type: 'nak', state: 'REQUESTING', serverId: SERVER_IP, message: 'no' });
    const discovers = server.seen.filter((m) => m.options.messageType === T.DISCOVER).length;
    assert.equal(discovers, 5, 'DISCOVER at 0, 0, 1, 3, 7 s');
    assert.notEqual(client.state, 'BOUND');
    assert.equal(h.stack.interface(h.ifIndex)?.address, 0);
  });

  it('a NAK while RENEWING removes the address at once', () => {
    const lan = dhcpLan({ server: false });
    const h = addClientHost(lan, 9);
    let nak = false;
    new ScriptedServer(lan, '192.168.7.1', 51, (m) => {
      const t = m.options.messageType;
      if (t === T.DISCOVER && !nak) return [replyTo(m, T.OFFER, ip('192.168.7.9'), { serverId: SERVER_IP, leaseTime: 100 })];
      if (t === T.REQUEST && m.ciaddr === 0) return [replyTo(m, T.ACK, ip('192.168.7.9'), { serverId: SERVER_IP, leaseTime: 100, subnetMask: 0xffffff00 })];
      if (t === T.REQUEST && nak) return [replyTo(m, T.NAK, 0, { serverId: SERVER_IP })];
      return undefined;
    });
    const { client, events } = startClient(lan, h, { probe: false });
    run(lan.sched, 1);
    assert.equal(client.state, 'BOUND');
    nak = true;
    run(lan.sched, 50 * S);
    assert.deepEqual(kinds(events), ['bound', 'nak']);
    assert.deepEqual(transitions(events).slice(-3), ['BOUND>RENEWING', 'RENEWING>INIT', 'INIT>SELECTING']);
    assert.equal(client.lease, undefined);
    assert.equal(h.stack.interface(h.ifIndex)?.address, 0);
  });

  it('INIT-REBOOT: the previous address is confirmed without DISCOVER', () => {
    const lan = dhcpLan();
    const h1 = addClientHost(lan, 10, { mac: '02:00:00:00:10:01' });
    const first = startClient(lan, h1);
    run(lan.sched, 10 * S);
    const old = first.client.stop(lan.sched.now()) as Dhcp4Lease;
    assert.equal(h1.stack.interface(h1.ifIndex)?.address, 0, 'stop removes the address');
    run(lan.sched, 100 * S);
    const { client, events } = startClient(lan, h1, { previousAddress: old.address });
    run(lan.sched, 10 * S);
    assert.deepEqual(transitions(events), ['STOPPED>INIT-REBOOT', 'INIT-REBOOT>REBOOTING', 'REBOOTING>PROBING', 'PROBING>BOUND']);
    assert.equal(client.lease?.address, old.address);
    assert.equal(lan.dhcp?.stats.discovers, 1, 'only the first client discovered');
  });

  it('INIT-REBOOT on the wrong network: NAK, reboot-failed, then DISCOVER', () => {
    const lan = dhcpLan();
    const h = addClientHost(lan, 11, { tap: true });
    const { client, events } = startClient(lan, h, { previousAddress: '10.9.9.9' });
    run(lan.sched, 10 * S);
    assert.deepEqual(kinds(events), ['nak', 'reboot-failed', 'bound']);
    assert.deepEqual(events.find((e) => e.type === 'reboot-failed'), { type: 'reboot-failed', address: ip('10.9.9.9'), reason: 'nak' });
    assert.equal(client.lease?.address, ip('192.168.7.100'));
    const reboot = dhcpFrames(h.tap?.tx ?? [])[0];
    assert.equal(reboot?.msg.options.requestedIp, ip('10.9.9.9'));
    assert.equal(reboot?.msg.options.serverId, undefined);
    assert.equal(reboot?.msg.ciaddr, 0);
    const discover = dhcpFrames(h.tap?.tx ?? [])[1];
    assert.equal(discover?.msg.options.messageType, T.DISCOVER);
    assert.equal(discover?.msg.options.requestedIp, undefined, 'the NAKed address is not asked for again');
  });

  it('INIT-REBOOT unanswered (non-authoritative server, no record): reboot-failed after 4 tries, then DISCOVER for the same address', () => {
    const lan = dhcpLan({ server: { authoritative: false } });
    const h = addClientHost(lan, 12);
    const { client, events } = startClient(lan, h, { previousAddress: '192.168.7.120' });
    run(lan.sched, 120 * S);
    assert.deepEqual(kinds(events), ['reboot-failed', 'bound']);
    assert.equal(events.find((e) => e.type === 'reboot-failed')?.type, 'reboot-failed');
    assert.equal(client.lease?.address, ip('192.168.7.120'), 'the DISCOVER asked for it (option 50) and got it');
    assert.equal(lan.dhcp?.stats.requests, 4 + 1);
  });

  it('conflict: the owner of the offered address answers a probe -> DECLINE -> the server marks it -> another address', () => {
    const lan = dhcpLan();
    const squatter = addClientHost(lan, 13, { address: '192.168.7.100' }); // static, not known to the server
    const h = addClientHost(lan, 14, { tap: true });
    const { client, events } = startClient(lan, h);
    run(lan.sched, 30 * S);
    assert.deepEqual(kinds(events), ['declined', 'bound']);
    const declined = events.find((e) => e.type === 'declined');
    assert.deepEqual(declined, { type: 'declined', address: ip('192.168.7.100'), serverId: SERVER_IP, conflictMac: squatter.mac });
    assert.equal(client.lease?.address, ip('192.168.7.101'));
    const decline = dhcpFrames(h.tap?.tx ?? []).find((f) => f.msg.options.messageType === T.DECLINE);
    assert.equal(decline?.dst, 0xffffffff);
    assert.equal(decline?.src, 0);
    assert.equal(decline?.msg.options.requestedIp, ip('192.168.7.100'));
    assert.equal(decline?.msg.options.serverId, SERVER_IP);
    assert.equal(decline?.msg.ciaddr, 0);
    const table = lan.dhcp?.leases(lan.sched.now()) ?? [];
    assert.deepEqual(table.map((l) => [l.address, l.state]), [[ip('192.168.7.100'), 'declined'], [ip('192.168.7.101'), 'bound']]);
    // RFC 2131 §4.4.1: at least 10 s between the DECLINE and the next DISCOVER.
    const tx = dhcpFrames(h.tap?.tx ?? []).map((f) => f.msg.options.messageType);
    assert.deepEqual(tx, [T.DISCOVER, T.REQUEST, T.DECLINE, T.DISCOVER, T.REQUEST]);
    assert.equal(client.stats.conflicts, 1);
    assert.equal(squatter.stack.interface(squatter.ifIndex)?.address, ip('192.168.7.100'), 'the squatter kept its address');
  });

  it('stop with release: RELEASE to the server, the address is free again and the same client gets it back', () => {
    const lan = dhcpLan();
    const h = addClientHost(lan, 15, { tap: true });
    const { client, events } = startClient(lan, h);
    run(lan.sched, 10 * S);
    const lease = client.lease as Dhcp4Lease;
    h.tap?.clear();
    client.stop(lan.sched.now(), { release: true });
    run(lan.sched, 1);
    assert.deepEqual(kinds(events), ['bound', 'released']);
    assert.equal(transitions(events).at(-1), 'BOUND>STOPPED');
    const rel = dhcpFrames(h.tap?.tx ?? [])[0];
    assert.equal(rel?.msg.options.messageType, T.RELEASE);
    assert.equal(rel?.msg.ciaddr, lease.address);
    assert.equal(rel?.msg.options.serverId, SERVER_IP);
    assert.equal(rel?.dst, 0xffffffff, 'the server\'s MAC is not cached (broadcast ACKs): broadcast');
    assert.equal(lan.dhcp?.leases(lan.sched.now())[0]?.state, 'released');
    assert.equal(h.stack.interface(h.ifIndex)?.address, 0);
    assert.equal(h.stack.udpOpenCount, 0, 'port 68 closed');
    assert.equal(client.stop(lan.sched.now()), undefined, 'idempotent');
    // After a renewal the server's MAC is cached: the RELEASE is unicast.
    const again = startClient(lan, h);
    run(lan.sched, 10 * S);
    assert.equal(again.client.lease?.address, lease.address);
    run(lan.sched, 1800 * S);
    h.tap?.clear();
    again.client.stop(lan.sched.now(), { release: true });
    run(lan.sched, 1);
    assert.equal(dhcpFrames(h.tap?.tx ?? [])[0]?.dst, SERVER_IP);
    assert.equal(lan.dhcp?.leases(lan.sched.now())[0]?.state, 'released');
  });
});

describe('DHCPv4 client: odd servers', () => {
  it('T1/T2 from options 58/59; invalid ones fall back to 0.5/0.875; 0 means default; short leases count as 20 s', () => {
    const cases: [Record<string, number>, number, number, number][] = [
      [{ leaseTime: 1000, renewalTime: 100, rebindingTime: 200 }, 100, 200, 1000],
      [{ leaseTime: 1000, renewalTime: 900, rebindingTime: 800 }, 500, 800, 1000],
      [{ leaseTime: 1000, renewalTime: 0, rebindingTime: 5000 }, 500, 875, 1000],
      [{ leaseTime: 5 }, 10, 17.5, 20],
    ];
    for (const [opts, t1, t2, l] of cases) {
      const lan = dhcpLan({ server: false });
      const h = addClientHost(lan, 16);
      new ScriptedServer(lan, '192.168.7.1', 52, (m) => {
        const t = m.options.messageType;
        if (t === T.DISCOVER) return [replyTo(m, T.OFFER, ip('192.168.7.9'), { serverId: SERVER_IP, ...opts })];
        if (t === T.REQUEST) return [replyTo(m, T.ACK, ip('192.168.7.9'), { serverId: SERVER_IP, ...opts })];
        return undefined;
      });
      const { client } = startClient(lan, h, { probe: false });
      run(lan.sched, 1);
      const lease = client.lease as Dhcp4Lease;
      assert.deepEqual([lease.renewalSeconds, lease.rebindingSeconds, lease.leaseSeconds], [t1, t2, l], JSON.stringify(opts));
      assert.equal(lease.prefixLen, 24, 'no mask option: classful (class C)');
      assert.equal(lease.gateway, undefined);
    }
  });

  it('an infinite lease never renews', () => {
    const lan = dhcpLan({ server: { leaseSeconds: 0xffffffff } });
    const h = addClientHost(lan, 17);
    const { client, events } = startClient(lan, h, { probe: false });
    run(lan.sched, 1);
    assert.equal(client.lease?.leaseSeconds, Infinity);
    assert.equal(client.pollAt(), undefined);
    run(lan.sched, 1e9);
    assert.deepEqual(kinds(events), ['bound']);
  });

  it('ignores replies with another xid or chaddr, OFFERs without server id or with unusable addresses, ACKs from an unselected server', () => {
    const lan = dhcpLan({ server: false });
    const h = addClientHost(lan, 18);
    new ScriptedServer(lan, '192.168.7.1', 53, (m) => {
      const t = m.options.messageType;
      if (t === T.DISCOVER) {
        return [
          { ...replyTo(m, T.OFFER, ip('192.168.7.5'), { serverId: SERVER_IP }), xid: (m.xid + 1) >>> 0 },
          { ...replyTo(m, T.OFFER, ip('192.168.7.5'), { serverId: SERVER_IP }), chaddr: Uint8Array.of(2, 9, 9, 9, 9, 9) },
          replyTo(m, T.OFFER, ip('192.168.7.5')),
          replyTo(m, T.OFFER, ip('127.0.0.1'), { serverId: SERVER_IP }),
          replyTo(m, T.OFFER, ip('224.0.0.1'), { serverId: SERVER_IP }),
          { ...replyTo(m, T.OFFER, ip('192.168.7.5'), { serverId: SERVER_IP }), op: 1 },
          replyTo(m, T.ACK, ip('192.168.7.5'), { serverId: SERVER_IP, leaseTime: 60 }), // ACK in SELECTING
          replyTo(m, T.OFFER, ip('192.168.7.6'), { serverId: SERVER_IP, leaseTime: 60 }), // the good one
        ];
      }
      if (t === T.REQUEST) {
        return [
          replyTo(m, T.ACK, ip('192.168.7.6'), { serverId: ip('192.168.7.99'), leaseTime: 60 }), // another server
          replyTo(m, T.NAK, 0, { serverId: ip('192.168.7.99') }),
          replyTo(m, T.ACK, ip('192.168.7.6'), { serverId: SERVER_IP }), // no lease time: falls back to the offer's
        ];
      }
      return undefined;
    });
    const { client, events } = startClient(lan, h, { probe: false });
    run(lan.sched, 1);
    assert.equal(client.lease?.address, ip('192.168.7.6'));
    assert.equal(client.lease?.leaseSeconds, 60);
    assert.deepEqual(kinds(events), ['bound']);
    assert.equal(client.stats.ignored, 7 + 2);
  });

  it('configuration errors throw; port 68 taken throws at start', () => {
    const lan = dhcpLan();
    const h = addClientHost(lan, 19);
    assert.throws(() => new Dhcp4Client(h.stack, { ifIndex: 5 }), RangeError);
    assert.throws(() => new Dhcp4Client(h.stack, { ifIndex: h.ifIndex, hostname: 'bad name' }), RangeError);
    assert.throws(() => new Dhcp4Client(h.stack, { ifIndex: h.ifIndex, clientId: Uint8Array.of(1) }), RangeError);
    openUdp(h.stack, 68);
    assert.throws(() => new Dhcp4Client(h.stack, { ifIndex: h.ifIndex }).start(0), /port 68/);
    assert.equal(maskToPrefix(0xffffff00), 24);
    assert.equal(maskToPrefix(0xff00ff00), undefined);
  });
});
