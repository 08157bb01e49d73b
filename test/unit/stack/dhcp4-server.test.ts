/**
 * DHCPv4 server: crafted client messages from a bare host on the LAN, replies checked on
 * the wire field by field (RFC 2131 §4.3 decisions, §4.1 reply addressing), the lease
 * table, reservations, exhaustion, DECLINE/RELEASE/INFORM, relays.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dhcp4Server, type Dhcp4ServerEvent } from '../../../src/stack/dhcp/dhcp4-server.ts';
import { DHCPV4_FLAG_BROADCAST, encodeDhcpv4, Dhcpv4MessageType as T, type Dhcpv4Options, type Dhcpv4Repr } from '../../../src/wire/dhcpv4.ts';
import { addClientHost, dhcpFrames, dhcpLan, ip, SERVER_IP, type Lan, type Node } from '../../support/dhcp4-net.ts';
import { drain, openUdp, run } from '../../support/stack-net.ts';

const BCAST = 0xffffffff;
const MAC_A = Uint8Array.of(2, 0, 0, 0, 0, 0xa);
const MAC_B = Uint8Array.of(2, 0, 0, 0, 0, 0xb);
const MAC_C = Uint8Array.of(2, 0, 0, 0, 0, 0xc);

function msg(type: number, mac: Uint8Array, f: { xid?: number; flags?: number; ciaddr?: number; giaddr?: number; options?: Dhcpv4Options } = {}): Dhcpv4Repr {
  return {
    op: 1, htype: 1, chaddr: mac, hops: 0, xid: f.xid ?? 0x1234, secs: 0, flags: f.flags ?? DHCPV4_FLAG_BROADCAST,
    ciaddr: f.ciaddr ?? 0, yiaddr: 0, siaddr: 0, giaddr: f.giaddr ?? 0, sname: '', file: '',
    options: { messageType: type, ...f.options },
  };
}

/** A bare host that sends raw DHCP messages from port 68 and reads the replies off its tap. */
class Prober {
  readonly node: Node;
  constructor(readonly lan: Lan, seed: number) {
    this.node = addClientHost(lan, seed, { tap: true });
    const pcb = openUdp(this.node.stack);
    this.node.stack.udpBindToInterface(pcb, this.node.ifIndex);
    this.node.stack.udpBind(pcb, 0, 68);
    this.pcb = pcb;
  }
  private readonly pcb;
  /** Sends `m` and returns the DHCP replies that reached this host. */
  ask(m: Dhcpv4Repr | Uint8Array, to = BCAST): ReturnType<typeof dhcpFrames> {
    this.node.tap?.clear();
    const bytes = m instanceof Uint8Array ? m : encodeDhcpv4(m);
    this.node.stack.udpSendTo(this.lan.sched.now(), this.pcb, bytes, bytes.length, to, 67);
    run(this.lan.sched, 1);
    drain(this.node.stack, this.pcb);
    return dhcpFrames(this.node.tap?.rx ?? []).filter((f) => f.srcPort === 67);
  }
  /** DISCOVER then REQUEST (SELECTING): the address bound. */
  lease(mac: Uint8Array, options: Dhcpv4Options = {}): number {
    const offer = this.ask(msg(T.DISCOVER, mac, { options }))[0]?.msg;
    assert.equal(offer?.options.messageType, T.OFFER);
    const ack = this.ask(msg(T.REQUEST, mac, { options: { ...options, requestedIp: offer?.yiaddr, serverId: SERVER_IP } }))[0]?.msg;
    assert.equal(ack?.options.messageType, T.ACK);
    return ack?.yiaddr as number;
  }
}

function state(lan: Lan, a: string): string | undefined {
  return lan.dhcp?.leases(lan.sched.now()).find((l) => l.address === ip(a))?.state;
}

describe('DHCPv4 server: DISCOVER and OFFER', () => {
  it('OFFER field by field, broadcast because the client set the BROADCAST bit', () => {
    const lan = dhcpLan();
    const p = new Prober(lan, 1);
    const id = Uint8Array.of(0xff, 1, 2, 3);
    const r = p.ask(msg(T.DISCOVER, MAC_A, { xid: 0xdeadbeef, options: { clientId: id, hostname: 'a-host' } }));
    assert.equal(r.length, 1);
    const f = r[0] as (typeof r)[number];
    assert.equal(f.ethDst, 'ff:ff:ff:ff:ff:ff');
    assert.equal(f.src, SERVER_IP);
    assert.equal(f.dst, BCAST);
    assert.equal(f.dstPort, 68);
    assert.deepEqual({ ...f.msg, options: undefined }, {
      op: 2, htype: 1, chaddr: MAC_A, hops: 0, xid: 0xdeadbeef, secs: 0, flags: DHCPV4_FLAG_BROADCAST,
      ciaddr: 0, yiaddr: ip('192.168.7.100'), siaddr: 0, giaddr: 0, sname: '', file: '', options: undefined,
    });
    assert.deepEqual(f.msg.options, {
      messageType: T.OFFER,
      subnetMask: 0xffffff00,
      routers: [SERVER_IP],
      dnsServers: [SERVER_IP, ip('9.9.9.9')],
      domainName: 'lan.test',
      interfaceMtu: 1400,
      broadcastAddress: ip('192.168.7.255'),
      leaseTime: 3600,
      serverId: SERVER_IP,
      renewalTime: 1800,
      rebindingTime: 3150,
      clientId: id,
    });
    const row = lan.dhcp?.leases(lan.sched.now())[0];
    assert.equal(row?.state, 'offered');
    assert.equal(row?.hostname, 'a-host');
    assert.equal(row?.expiresAt, lan.sched.now() - 1 + 60_000, 'held 60 s');
  });

  it('without the BROADCAST bit the OFFER is unicast to yiaddr at chaddr, with no ARP', () => {
    const lan = dhcpLan({ serverTap: true });
    const p = new Prober(lan, 2);
    const r = p.ask(msg(T.DISCOVER, p.node.mac, { flags: 0 }));
    assert.equal(r[0]?.ethDst, [...p.node.mac].map((x) => x.toString(16).padStart(2, '0')).join(':'));
    assert.equal(r[0]?.dst, ip('192.168.7.100'));
    assert.equal(lan.server.stack.stats.arp.requestsOut, 0);
  });

  it('address choice: requested if free, the same one for a repeated DISCOVER, the next free for another client', () => {
    const lan = dhcpLan();
    const p = new Prober(lan, 3);
    assert.equal(p.ask(msg(T.DISCOVER, MAC_A, { options: { requestedIp: ip('192.168.7.120') } }))[0]?.msg.yiaddr, ip('192.168.7.120'));
    assert.equal(p.ask(msg(T.DISCOVER, MAC_A))[0]?.msg.yiaddr, ip('192.168.7.120'), 'its offer stands');
    assert.equal(p.ask(msg(T.DISCOVER, MAC_B, { options: { requestedIp: ip('192.168.7.120') } }))[0]?.msg.yiaddr, ip('192.168.7.100'), 'held for A');
    assert.equal(p.ask(msg(T.DISCOVER, MAC_C, { options: { requestedIp: ip('10.0.0.5') } }))[0]?.msg.yiaddr, ip('192.168.7.101'), 'off the pool: ignored');
    // Same MAC, different client identifiers: two clients.
    const x = p.ask(msg(T.DISCOVER, MAC_A, { options: { clientId: Uint8Array.of(0, 1) } }))[0]?.msg.yiaddr;
    assert.equal(x, ip('192.168.7.102'));
  });

  it('pool exhaustion: no offer (counted, event); an expired lease is handed out again', () => {
    const seen: Dhcp4ServerEvent[] = [];
    const lan = dhcpLan({ server: { pool: { start: '192.168.7.100', end: '192.168.7.101' }, leaseSeconds: 100, onEvent: (e) => seen.push(e) } });
    const p = new Prober(lan, 4);
    assert.equal(p.lease(MAC_A), ip('192.168.7.100'));
    assert.equal(p.lease(MAC_B), ip('192.168.7.101'));
    assert.deepEqual(p.ask(msg(T.DISCOVER, MAC_C)), []);
    assert.equal(lan.dhcp?.stats.exhausted, 1);
    assert.deepEqual(seen.map((e) => e.type), ['offer', 'ack', 'offer', 'ack', 'exhausted']);
    run(lan.sched, 101_000);
    assert.equal(state(lan, '192.168.7.100'), 'expired');
    assert.equal(p.lease(MAC_C), ip('192.168.7.100'), 'the one expired longest ago');
    assert.equal(lan.dhcp?.leaseFor(MAC_C, lan.sched.now())?.address, ip('192.168.7.100'));
    assert.equal(lan.dhcp?.leaseFor(MAC_A, lan.sched.now()), undefined);
  });
});

describe('DHCPv4 server: REQUEST', () => {
  it('SELECTING: ACK binds; a REQUEST naming another server drops our offer silently; an address never offered gets a NAK', () => {
    const lan = dhcpLan();
    const p = new Prober(lan, 5);
    const offer = p.ask(msg(T.DISCOVER, MAC_A))[0]?.msg.yiaddr as number;
    assert.deepEqual(p.ask(msg(T.REQUEST, MAC_A, { options: { requestedIp: offer, serverId: ip('192.168.7.2') } })), []);
    assert.equal(state(lan, '192.168.7.100'), 'expired', 'the offer is released at once');
    assert.equal(p.ask(msg(T.DISCOVER, MAC_B, { options: { requestedIp: ip('192.168.7.100') } }))[0]?.msg.yiaddr, ip('192.168.7.100'), 'so another client can have it');
    const nak = p.ask(msg(T.REQUEST, MAC_A, { options: { requestedIp: ip('192.168.7.100'), serverId: SERVER_IP } }));
    assert.equal(nak[0]?.msg.options.messageType, T.NAK);
    assert.equal(nak[0]?.dst, BCAST);
    assert.equal(nak[0]?.msg.yiaddr, 0);
    assert.equal(nak[0]?.msg.options.serverId, SERVER_IP);
    assert.equal(nak[0]?.msg.options.message, 'address not offered to you');
    assert.equal(nak[0]?.msg.options.leaseTime, undefined);
    const ack = p.ask(msg(T.REQUEST, MAC_B, { options: { requestedIp: ip('192.168.7.100'), serverId: SERVER_IP, leaseTime: 60 } }))[0]?.msg;
    assert.equal(ack?.options.messageType, T.ACK);
    assert.equal(ack?.options.leaseTime, 60, 'a shorter lease asked for is granted');
    assert.equal(ack?.options.renewalTime, 30);
    assert.equal(ack?.options.rebindingTime, 52);
    assert.equal(state(lan, '192.168.7.100'), 'bound');
  });

  it('INIT-REBOOT: own address ACK; wrong network, another client\'s or a declined address NAK; unknown free address ACK (authoritative)', () => {
    const lan = dhcpLan();
    const p = new Prober(lan, 6);
    const a = p.lease(MAC_A);
    const reboot = (mac: Uint8Array, want: string): Dhcpv4Repr | undefined => p.ask(msg(T.REQUEST, mac, { options: { requestedIp: ip(want) } }))[0]?.msg;
    assert.equal(reboot(MAC_A, '192.168.7.100')?.options.messageType, T.ACK);
    assert.equal(a, ip('192.168.7.100'));
    const wrong = reboot(MAC_A, '10.1.1.1');
    assert.equal(wrong?.options.messageType, T.NAK);
    assert.equal(wrong?.options.message, 'wrong network');
    assert.equal(reboot(MAC_B, '192.168.7.100')?.options.messageType, T.NAK, 'held by A');
    assert.equal(reboot(MAC_B, '192.168.7.140')?.options.messageType, T.ACK, 'free, in the pool');
    assert.equal(reboot(MAC_C, '192.168.7.1')?.options.messageType, T.NAK, 'the server\'s own address');
    assert.equal(reboot(MAC_C, '192.168.7.20')?.options.messageType, T.NAK, 'on the subnet, not in the pool');
  });

  it('non-authoritative: INIT-REBOOT for an address it has no record of is ignored (RFC 2131 §4.3.2)', () => {
    const lan = dhcpLan({ server: { authoritative: false } });
    const p = new Prober(lan, 7);
    assert.deepEqual(p.ask(msg(T.REQUEST, MAC_A, { options: { requestedIp: ip('192.168.7.140') } })), []);
    assert.equal(p.ask(msg(T.REQUEST, MAC_A, { options: { requestedIp: ip('10.1.1.1') } }))[0]?.msg.options.messageType, T.NAK, 'wrong network still NAKed');
    p.lease(MAC_A);
    assert.equal(p.ask(msg(T.REQUEST, MAC_A, { options: { requestedIp: ip('192.168.7.100') } }))[0]?.msg.options.messageType, T.ACK);
  });

  it('RENEWING: REQUEST from ciaddr unicast to the server, ACK unicast to ciaddr, the lease extended', () => {
    const lan = dhcpLan({ server: { leaseSeconds: 1000 } });
    const p = new Prober(lan, 8);
    const a = p.lease(p.node.mac);
    p.node.stack.setIpv4(p.node.ifIndex, { address: a, prefixLen: 24 });
    run(lan.sched, 500_000);
    const before = lan.dhcp?.leaseFor(p.node.mac, lan.sched.now())?.expiresAt as number;
    const r = p.ask(msg(T.REQUEST, p.node.mac, { flags: 0, ciaddr: a }), SERVER_IP);
    assert.equal(r[0]?.msg.options.messageType, T.ACK);
    assert.equal(r[0]?.dst, a);
    assert.equal(r[0]?.msg.ciaddr, a);
    assert.equal(r[0]?.msg.yiaddr, a);
    const after = lan.dhcp?.leaseFor(p.node.mac, lan.sched.now())?.expiresAt as number;
    assert.equal(after - before, 500_000 + 1);
    // Somebody else's address: NAK (broadcast).
    const other = p.ask(msg(T.REQUEST, MAC_B, { flags: 0, ciaddr: a }), SERVER_IP);
    assert.equal(other[0]?.msg.options.messageType, T.NAK);
    assert.equal(other[0]?.dst, BCAST);
  });
});

describe('DHCPv4 server: DECLINE, RELEASE, INFORM', () => {
  it('DECLINE marks the address unusable for the hold time; then it is offered again', () => {
    const lan = dhcpLan({ server: { declineHoldMs: 600_000 } });
    const p = new Prober(lan, 9);
    const a = p.lease(MAC_A);
    assert.deepEqual(p.ask(msg(T.DECLINE, MAC_B, { options: { requestedIp: a, serverId: SERVER_IP } })), [], 'not B\'s: ignored');
    assert.equal(state(lan, '192.168.7.100'), 'bound');
    assert.deepEqual(p.ask(msg(T.DECLINE, MAC_A, { options: { requestedIp: a, serverId: SERVER_IP } })), []);
    assert.equal(state(lan, '192.168.7.100'), 'declined');
    assert.equal(lan.dhcp?.leases(lan.sched.now())[0]?.mac, undefined);
    assert.equal(p.ask(msg(T.DISCOVER, MAC_A))[0]?.msg.yiaddr, ip('192.168.7.101'), 'not even to the same client');
    assert.equal(p.ask(msg(T.REQUEST, MAC_C, { options: { requestedIp: a } }))[0]?.msg.options.messageType, T.NAK);
    run(lan.sched, 600_000);
    assert.equal(state(lan, '192.168.7.100'), undefined, 'the hold is over');
    assert.equal(p.ask(msg(T.DISCOVER, MAC_C, { options: { requestedIp: a } }))[0]?.msg.yiaddr, ip('192.168.7.100'));
  });

  it('RELEASE frees the address now, and the client gets it back later; other clients get never-used ones first', () => {
    const lan = dhcpLan();
    const p = new Prober(lan, 10);
    const a = p.lease(MAC_A);
    assert.deepEqual(p.ask(msg(T.RELEASE, MAC_B, { ciaddr: a, options: { serverId: SERVER_IP } })), []);
    assert.equal(state(lan, '192.168.7.100'), 'bound', 'B cannot release A\'s lease');
    p.ask(msg(T.RELEASE, MAC_A, { ciaddr: a, options: { serverId: SERVER_IP } }));
    assert.equal(state(lan, '192.168.7.100'), 'released');
    assert.equal(p.ask(msg(T.DISCOVER, MAC_B))[0]?.msg.yiaddr, ip('192.168.7.101'));
    assert.equal(p.ask(msg(T.DISCOVER, MAC_A))[0]?.msg.yiaddr, a);
  });

  it('INFORM: ACK to ciaddr with the options and no lease', () => {
    const lan = dhcpLan();
    const p = new Prober(lan, 11);
    p.node.stack.setIpv4(p.node.ifIndex, { address: '192.168.7.30', prefixLen: 24 });
    run(lan.sched, 5000);
    const r = p.ask(msg(T.INFORM, p.node.mac, { flags: 0, ciaddr: ip('192.168.7.30') }), SERVER_IP);
    assert.equal(r[0]?.dst, ip('192.168.7.30'));
    assert.equal(r[0]?.msg.options.messageType, T.ACK);
    assert.equal(r[0]?.msg.yiaddr, 0);
    assert.equal(r[0]?.msg.options.leaseTime, undefined);
    assert.equal(r[0]?.msg.options.renewalTime, undefined);
    assert.deepEqual(r[0]?.msg.options.dnsServers, [SERVER_IP, ip('9.9.9.9')]);
    assert.deepEqual(lan.dhcp?.leases(lan.sched.now()), [], 'no lease recorded');
  });
});

describe('DHCPv4 server: reservations, relays, bad input, configuration', () => {
  it('a reservation wins over the requested address and sends its host name; nobody else gets it', () => {
    const lan = dhcpLan({ server: { reservations: [{ mac: '02:00:00:00:00:0a', address: '192.168.7.100', hostname: 'sensor-a' }] } });
    const p = new Prober(lan, 12);
    assert.equal(p.ask(msg(T.DISCOVER, MAC_B))[0]?.msg.yiaddr, ip('192.168.7.101'), 'the pool skips the reserved address');
    const offer = p.ask(msg(T.DISCOVER, MAC_A, { options: { requestedIp: ip('192.168.7.130') } }))[0]?.msg;
    assert.equal(offer?.yiaddr, ip('192.168.7.100'));
    assert.equal(offer?.options.hostname, 'sensor-a');
    assert.equal(p.lease(MAC_A), ip('192.168.7.100'));
    assert.equal(lan.dhcp?.leaseFor('02:00:00:00:00:0a', lan.sched.now())?.hostname, 'sensor-a');
    assert.equal(p.ask(msg(T.REQUEST, MAC_A, { options: { requestedIp: ip('192.168.7.130') } }))[0]?.msg.options.messageType, T.NAK, 'INIT-REBOOT elsewhere');
    assert.equal(p.ask(msg(T.REQUEST, MAC_B, { options: { requestedIp: ip('192.168.7.100') } }))[0]?.msg.options.messageType, T.NAK);
    // Reserved addresses may lie outside the pool.
    const lan2 = dhcpLan({ server: { reservations: [{ mac: MAC_C, address: '192.168.7.20' }] } });
    assert.equal(new Prober(lan2, 13).lease(MAC_C), ip('192.168.7.20'));
  });

  it('relayed requests (giaddr on our subnet) are answered to the relay on port 67; NAKs there carry the BROADCAST bit', () => {
    const lan = dhcpLan();
    const relay = addClientHost(lan, 14, { address: '192.168.7.2' });
    const relayPcb = openUdp(relay.stack, 67);
    const p = new Prober(lan, 15);
    p.ask(msg(T.DISCOVER, MAC_A, { flags: 0, giaddr: ip('192.168.7.2') }));
    run(lan.sched, 1);
    const got = drain(relay.stack, relayPcb).filter((d) => d.from === SERVER_IP); // the relay also hears the broadcast DISCOVER
    assert.equal(got.length, 1);
    assert.equal(got[0]?.port, 67);
    p.ask(msg(T.REQUEST, MAC_A, { flags: 0, giaddr: ip('192.168.7.2'), options: { requestedIp: ip('10.0.0.1') } }));
    run(lan.sched, 1);
    const nak = drain(relay.stack, relayPcb).find((d) => d.from === SERVER_IP)?.data as Uint8Array;
    assert.equal(nak[10], 0x80, 'BROADCAST bit set for the relay');
    assert.deepEqual(p.ask(msg(T.DISCOVER, MAC_A, { giaddr: ip('10.5.0.1') })), [], 'a relay from another subnet: no pool there');
  });

  it('bad input is counted and dropped, never thrown', () => {
    const lan = dhcpLan();
    const p = new Prober(lan, 16);
    assert.deepEqual(p.ask(new Uint8Array(100)), []);
    assert.deepEqual(p.ask({ ...msg(T.DISCOVER, MAC_A), op: 2 }), []);
    assert.deepEqual(p.ask({ ...msg(T.DISCOVER, MAC_A), options: {} }), []);
    assert.deepEqual(p.ask(msg(T.OFFER, MAC_A)), []);
    assert.deepEqual(p.ask(msg(T.DISCOVER, new Uint8Array(0))), []);
    assert.deepEqual(p.ask(msg(T.REQUEST, MAC_A)), [], 'neither 50, 54 nor ciaddr');
    assert.deepEqual(p.ask(msg(T.INFORM, MAC_A)), [], 'INFORM without ciaddr');
    assert.deepEqual(p.ask(msg(99, MAC_A)), []);
    assert.equal(lan.dhcp?.stats.malformed, 1);
    assert.equal(lan.dhcp?.stats.ignored, 7);
    assert.equal(lan.server.stack.stats.drops.internalError, 0);
  });

  it('configuration errors throw RangeError', () => {
    const lan = dhcpLan({ server: false });
    const bare = addClientHost(lan, 17);
    assert.throws(() => new Dhcp4Server(bare.stack, { ifIndex: bare.ifIndex, pool: { start: '192.168.7.10', end: '192.168.7.20' } }), /needs an address/);
    const s = lan.server;
    const base = { ifIndex: s.ifIndex, pool: { start: '192.168.7.10', end: '192.168.7.20' } };
    assert.throws(() => new Dhcp4Server(s.stack, { ...base, pool: { start: '192.168.8.10', end: '192.168.8.20' } }), RangeError);
    assert.throws(() => new Dhcp4Server(s.stack, { ...base, pool: { start: '192.168.7.20', end: '192.168.7.10' } }), RangeError);
    assert.throws(() => new Dhcp4Server(s.stack, { ...base, reservations: [{ mac: 'nope', address: '192.168.7.5' }] }), RangeError);
    assert.throws(() => new Dhcp4Server(s.stack, { ...base, reservations: [{ mac: MAC_A, address: '10.0.0.5' }] }), RangeError);
    assert.throws(() => new Dhcp4Server(s.stack, { ...base, mtu: 20 }), RangeError);
    assert.throws(() => new Dhcp4Server(s.stack, { ...base, domainName: 'bad\u0001' }), RangeError);
    const ok = new Dhcp4Server(s.stack, base);
    assert.throws(() => new Dhcp4Server(s.stack, base), /port 67/, 'one server per interface');
    ok.close();
    new Dhcp4Server(s.stack, base).close();
  });
});
