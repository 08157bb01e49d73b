/**
 * Hostile input to the DHCP client and server (sim tier): a host on the LAN that sniffs
 * the victims' transaction ids sends 20,000 datagrams to ports 67 and 68 — random bytes,
 * valid messages of every type with random fields, and mutations of them (byte changes,
 * cuts) — while a client holds a lease through renewals, another searches for a server,
 * and our server serves. Nothing throws (no `internalError`), the garbage is counted, and
 * after the storm the leased client and the server agree again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng, randomInt } from '../../src/base/rand.ts';
import type { VirtualScheduler } from '../../src/base/time.ts';
import { VirtualSwitch } from '../../src/link/index.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { Stack } from '../../src/stack/stack.ts';
import type { UdpPcb } from '../../src/stack/udp.ts';
import { DHCPV4_FLAG_BROADCAST, encodeDhcpv4, type Dhcpv4Options, type Dhcpv4Repr } from '../../src/wire/dhcpv4.ts';
import { addClientHost, dhcpFrames, dhcpLan, ip, SERVER_IP, startClient, type Lan, type Node } from '../support/dhcp4-net.ts';
import { run } from '../support/stack-net.ts';

const DATAGRAMS = 20_000;
const BCAST = 0xffffffff;

type Target = { xid: number; chaddr: Uint8Array; ciaddr: number };
const sniffed = new WeakMap<Node, Target>();

/** The xid, chaddr and ciaddr of the latest DHCP message `victim` sent (what a sniffer sees). */
function sniff(victim: Node): Target {
  const last = dhcpFrames(victim.tap?.tx ?? []).at(-1);
  victim.tap?.clear();
  const t = last === undefined ? sniffed.get(victim) : { xid: last.msg.xid, chaddr: victim.mac, ciaddr: last.msg.ciaddr };
  const out = t ?? { xid: 0, chaddr: victim.mac, ciaddr: 0 };
  sniffed.set(victim, out);
  return out;
}

function randomMessage(r: XorShiftRng, target: Target, toServer: boolean): Dhcpv4Repr {
  const pick = <T>(xs: readonly T[]): T => xs[randomInt(r, 0, xs.length - 1)] as T;
  const addr = (): number => pick([0, SERVER_IP, target.ciaddr, ip('192.168.7.100') + randomInt(r, 0, 160), r.nextU32(), BCAST]);
  const options: Dhcpv4Options = {
    messageType: pick([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 255]),
    ...(randomInt(r, 0, 1) === 1 ? { serverId: pick([SERVER_IP, addr()]) } : {}),
    ...(randomInt(r, 0, 1) === 1 ? { requestedIp: addr() } : {}),
    ...(randomInt(r, 0, 1) === 1 ? { leaseTime: pick([0, 1, 60, 3600, 0xffffffff, r.nextU32()]) } : {}),
    ...(randomInt(r, 0, 2) === 0 ? { renewalTime: pick([0, 10, r.nextU32()]), rebindingTime: pick([0, 5, r.nextU32()]) } : {}),
    ...(randomInt(r, 0, 2) === 0 ? { subnetMask: pick([0xffffff00, 0, 0xff00ff00, r.nextU32()]) } : {}),
    ...(randomInt(r, 0, 2) === 0 ? { routers: [addr(), addr()] } : {}),
    ...(randomInt(r, 0, 3) === 0 ? { interfaceMtu: pick([68, 576, 1500, 9000, 65535]) } : {}),
    ...(randomInt(r, 0, 3) === 0 ? { clientId: Uint8Array.of(1, ...target.chaddr) } : {}),
    ...(randomInt(r, 0, 5) === 0 ? { other: [{ code: 60, data: new Uint8Array(randomInt(r, 0, 400)) }] } : {}),
  };
  return {
    op: toServer ? pick([1, 1, 1, 2]) : pick([2, 2, 2, 1]),
    htype: pick([1, 1, 6]),
    chaddr: randomInt(r, 0, 3) === 0 ? Uint8Array.of(2, 9, 9, 9, 9, randomInt(r, 0, 255)) : target.chaddr,
    hops: 0,
    xid: randomInt(r, 0, 3) === 0 ? r.nextU32() : target.xid,
    secs: 0,
    flags: pick([0, DHCPV4_FLAG_BROADCAST]),
    ciaddr: pick([0, target.ciaddr, addr()]),
    yiaddr: addr(),
    siaddr: 0,
    giaddr: pick([0, 0, 0, ip('192.168.7.77'), ip('10.0.0.1')]),
    sname: '',
    file: '',
    options,
  };
}

function mutate(r: XorShiftRng, b: Uint8Array): Uint8Array {
  const out = b.slice();
  const n = randomInt(r, 1, 8);
  for (let i = 0; i < n; i++) out[randomInt(r, randomInt(r, 0, 1) === 0 ? 236 : 0, out.length - 1)] = r.nextU32() & 0xff;
  return randomInt(r, 0, 3) === 0 ? out.subarray(0, randomInt(r, 0, out.length)) : out;
}

/** A UDP socket of the attacker tied to one of its interfaces, bound to `port`. */
function socketOn(stack: Stack, ifIndex: number, port: number): UdpPcb {
  const pcb = stack.udpOpen();
  assert.ok(typeof pcb !== 'number');
  assert.equal(stack.udpBindToInterface(pcb, ifIndex), 0);
  assert.equal(stack.udpBind(pcb, 0, port), 0);
  return pcb;
}

/**
 * `victims[i]` is reached through the attacker's interface `i` (its segment); the
 * server through interface 0.
 */
function attack(sched: VirtualScheduler, attacker: Stack, victims: Node[], seed: number): void {
  const r = new XorShiftRng(seed);
  const toServer = socketOn(attacker, 0, 68); // as a client: from port 68
  const toClients = victims.map((_, i) => socketOn(attacker, i, 67)); // as a server: from port 67
  for (let sent = 0; sent < DATAGRAMS;) {
    const targets = victims.map(sniff);
    for (let i = 0; i < 50; i++, sent++) {
      const server = randomInt(r, 0, 1) === 0;
      const v = server ? 0 : randomInt(r, 0, targets.length - 1);
      const target = targets[v] as (typeof targets)[number];
      const kind = randomInt(r, 0, 9);
      const bytes = kind === 0
        ? new Uint8Array(randomInt(r, 0, 700)).map(() => r.nextU32() & 0xff)
        : kind < 5 ? encodeDhcpv4(randomMessage(r, target, server)) : mutate(r, encodeDhcpv4(randomMessage(r, target, server)));
      const dst = server && randomInt(r, 0, 1) === 0 ? SERVER_IP : BCAST;
      attacker.udpSendTo(sched.now(), server ? toServer : (toClients[v] as UdpPcb), bytes, bytes.length, dst, server ? 67 : 68);
    }
    run(sched, 1000); // 400 s of storm: through the leased client's renewals (T1 = 150 s)
  }
}

describe('DHCPv4 under hostile input (sim)', () => {
  it(`${DATAGRAMS} random, forged and mutated datagrams into a leased client, a searching client and the server`, (t) => {
    const lan = dhcpLan({ server: { leaseSeconds: 300, pool: { start: '192.168.7.100', end: '192.168.7.250' } } });
    const leased = addClientHost(lan, 1, { tap: true });
    const a = startClient(lan, leased, { hostname: 'leased' });
    run(lan.sched, 10_000);
    assert.equal(a.client.state, 'BOUND');
    // A client on a second segment without a server: it searches (SELECTING) unless forged
    // replies move it on. The attacker has a leg in both segments.
    const lonely: Lan = { ...lan, sw: new VirtualSwitch() };
    const searching = addClientHost(lonely, 2, { tap: true });
    const b = startClient(lonely, searching, { probe: false });
    const attacker = new Stack({ rng: new XorShiftRng(3), name: 'attacker' });
    attacker.addInterface(lan.sw.port(), { ipv4: { address: '192.168.7.9', prefixLen: 24 } });
    attacker.addInterface(lonely.sw.port(), { ipv4: { address: '192.168.8.9', prefixLen: 24 } });
    new StackRunner(attacker, { scheduler: lan.sched });
    attack(lan.sched, attacker, [leased, searching], 42);
    const all = [lan.server.stack, leased.stack, searching.stack, attacker];
    for (const n of all) assert.equal(n.stats.drops.internalError, 0, `${n.name}: ${String(n.lastInternalError)}`);
    const s = lan.dhcp?.stats;
    t.diagnostic(`server ${JSON.stringify(s)}`);
    t.diagnostic(`leased ${a.client.state} ${JSON.stringify(a.client.stats)}`);
    t.diagnostic(`searching ${b.client.state} ${JSON.stringify(b.client.stats)}`);
    assert.ok((s?.malformed ?? 0) > 1000 && (s?.ignored ?? 0) > 1000, 'the server counted the garbage');
    assert.ok(a.client.stats.malformed + b.client.stats.malformed > 1000, 'the clients counted malformed datagrams');
    assert.ok(a.client.stats.ignored + b.client.stats.ignored > 1000, 'and ignored foreign or unexpected messages');
    assert.ok(a.client.stats.requestsSent > 1, 'the leased client renewed during the storm');
    // Quiet again: after two lease times the leased client and the server agree.
    run(lan.sched, 700_000);
    for (const n of all) assert.equal(n.stats.drops.internalError, 0);
    assert.equal(a.client.state, 'BOUND');
    const lease = a.client.lease;
    assert.ok(lease !== undefined);
    assert.equal(leased.stack.interface(leased.ifIndex)?.address, lease.address);
    const now = lan.sched.now();
    assert.equal(lan.dhcp?.leaseFor(leased.mac, now)?.address, lease.address, 'the server agrees');
    const rows = lan.dhcp?.leases(now) ?? [];
    assert.equal(rows.filter((l) => l.address === lease.address && l.state === 'bound').length, 1, 'nobody else holds it');
    const seen = new Set<number>();
    for (const l of rows) {
      assert.ok(!seen.has(l.address));
      seen.add(l.address);
      assert.ok(l.address >= ip('192.168.7.100') && l.address <= ip('192.168.7.250'), 'only pool addresses in the table');
    }
    if (b.client.lease !== undefined) assert.equal(searching.stack.interface(searching.ifIndex)?.address, b.client.lease.address);
  });
});
