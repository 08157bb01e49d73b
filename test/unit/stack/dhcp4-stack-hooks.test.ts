/**
 * The stack hooks DHCP uses: services polled with the stack, UDP PCBs tied to an
 * interface (limited broadcast from 0.0.0.0 on an unaddressed interface), RFC 5227 ARP
 * probes and conflict watches, neighbour entries from a DHCP server, a settable MTU.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IOT_SOCKET_EADDRINUSE, IOT_SOCKET_EINVAL } from '../../../src/base/iot-constants.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createCable, VirtualSwitch } from '../../../src/link/index.ts';
import { StackRunner } from '../../../src/runtime/stack-runner.ts';
import { Stack, toIpv4 } from '../../../src/stack/stack.ts';
import { addHost, dec, drain, enc, ipv4Of, openUdp, run, Tap, twoHosts } from '../../support/stack-net.ts';

const BCAST = 0xffffffff;

function arpFields(f: Uint8Array): { op: number; senderIp: number; targetIp: number; ethDst: string } | undefined {
  if (f[12] !== 0x08 || f[13] !== 0x06) return undefined;
  const a = f.subarray(14);
  const rd32 = (o: number): number => (((a[o] as number) << 24) | ((a[o + 1] as number) << 16) | ((a[o + 2] as number) << 8) | (a[o + 3] as number)) >>> 0;
  return { op: ((a[6] as number) << 8) | (a[7] as number), senderIp: rd32(14), targetIp: rd32(24), ethDst: [...f.subarray(0, 6)].join(',') };
}

/** A host whose interface has no address yet (as before DHCP). */
function unaddressed(sched: VirtualScheduler, device: Parameters<Stack['addInterface']>[0], seed: number): { stack: Stack; runner: StackRunner; ifIndex: number } {
  const stack = new Stack({ rng: new XorShiftRng(seed), name: `bare${seed}` });
  const ifIndex = stack.addInterface(device);
  const runner = new StackRunner(stack, { scheduler: sched });
  return { stack, runner, ifIndex };
}

describe('Stack hooks for DHCP: services', () => {
  it('a service is polled with every stack poll, its deadline drives the runner, removal stops it', () => {
    const { sched, A } = twoHosts();
    run(sched, 3000); // past the gratuitous ARP announcements: no stack timer left
    const polls: number[] = [];
    let deadline: number | undefined = sched.now() + 5000;
    const remove = A.stack.addService({
      poll: (now) => {
        polls.push(now);
        if (deadline !== undefined && now >= deadline) deadline = undefined;
      },
      pollAt: () => deadline,
    });
    run(sched, 1);
    assert.ok(polls.length >= 1, 'polled soon after being added');
    assert.equal(A.stack.pollAt(), 8000, 'the service deadline is the stack\'s');
    polls.length = 0;
    run(sched, 10_000);
    assert.ok(polls.includes(8000), 'the runner polled at the service deadline on virtual time');
    assert.equal(deadline, undefined);
    remove();
    polls.length = 0;
    A.stack.requestPoll();
    run(sched, 1);
    assert.deepEqual(polls, []);
  });

  it('an exception in a service is caught and counted, the poll completes', () => {
    const { sched, A } = twoHosts();
    A.stack.addService({ poll: () => { throw new Error('bug'); }, pollAt: () => undefined });
    run(sched, 1);
    assert.ok(A.stack.stats.drops.internalError >= 1);
    assert.equal((A.stack.lastInternalError as Error).message, 'bug');
  });
});

describe('Stack hooks for DHCP: UDP tied to an interface', () => {
  it('an unaddressed interface sends 255.255.255.255 from 0.0.0.0 and receives broadcasts on port 68', () => {
    const sched = new VirtualScheduler();
    const [a, b] = createCable();
    const tap = new Tap(a);
    const C = unaddressed(sched, tap, 7);
    const S = addHost(sched, b, '10.0.0.1', 8);
    run(sched);
    const client = openUdp(C.stack);
    assert.equal(C.stack.udpBindToInterface(client, C.ifIndex), 0);
    assert.equal(C.stack.udpBind(client, 0, 68), 0);
    const server = openUdp(S.stack, 67);
    assert.equal(C.stack.udpSendTo(sched.now(), client, enc.encode('discover'), 8, BCAST, 67), 8);
    run(sched, 1);
    const sent = tap.tx.map(ipv4Of).find((x) => x?.protocol === 17);
    assert.equal(sent?.src, 0, 'source 0.0.0.0');
    assert.equal(sent?.dst, BCAST);
    const got = drain(S.stack, server);
    assert.deepEqual(got.map((d) => [dec.decode(d.data), d.from, d.port]), [['discover', 0, 68]]);
    S.stack.udpSendTo(sched.now(), server, enc.encode('offer'), 5, BCAST, 68);
    run(sched, 1);
    assert.deepEqual(drain(C.stack, client).map((d) => dec.decode(d.data)), ['offer']);
    // A unicast (to an address the bare host does not have) is not for it.
    const before = C.stack.stats.drops.notForUs;
    S.stack.setNeighbor(sched.now(), toIpv4('10.0.0.9'), C.stack.interface(C.ifIndex)?.mac as Uint8Array);
    S.stack.udpSendTo(sched.now(), server, enc.encode('unicast'), 7, toIpv4('10.0.0.9'), 68);
    run(sched, 1);
    assert.equal(C.stack.stats.drops.notForUs, before + 1);
  });

  it('receive filter and limited broadcasts per interface; same port on two interfaces; EINVAL cases', () => {
    const sched = new VirtualScheduler();
    const sw1 = new VirtualSwitch();
    const sw2 = new VirtualSwitch();
    const G = new Stack({ rng: new XorShiftRng(3), name: 'gw' });
    const if1 = G.addInterface(sw1.port(), { ipv4: { address: '10.1.0.1', prefixLen: 24 } });
    const if2 = G.addInterface(sw2.port(), { ipv4: { address: '10.2.0.1', prefixLen: 24 } });
    new StackRunner(G, { scheduler: sched });
    const H1 = addHost(sched, sw1.port(), '10.1.0.2', 4);
    const H2 = addHost(sched, sw2.port(), '10.2.0.2', 5);
    run(sched);
    const p1 = openUdp(G);
    const p2 = openUdp(G);
    assert.equal(G.udpBindToInterface(p1, if1), 0);
    assert.equal(G.udpBindToInterface(p2, if2), 0);
    assert.equal(G.udpBind(p1, 0, 67), 0);
    assert.equal(G.udpBind(p2, 0, 67), 0, 'same wildcard port, different interfaces');
    const loose = openUdp(G);
    assert.equal(G.udpBind(loose, 0, 67), IOT_SOCKET_EADDRINUSE, 'an untied PCB conflicts with both');
    assert.equal(G.udpBindToInterface(p1, if2), IOT_SOCKET_EINVAL, 'already bound');
    assert.equal(G.udpBindToInterface(loose, 9), IOT_SOCKET_EINVAL, 'no such interface');
    const h1 = openUdp(H1.stack, 68);
    const h2 = openUdp(H2.stack, 68);
    H1.stack.udpSendTo(sched.now(), h1, enc.encode('from1'), 5, BCAST, 67);
    H2.stack.udpSendTo(sched.now(), h2, enc.encode('from2'), 5, toIpv4('10.2.0.1'), 67);
    run(sched, 1);
    assert.deepEqual(drain(G, p1).map((d) => dec.decode(d.data)), ['from1']);
    assert.deepEqual(drain(G, p2).map((d) => dec.decode(d.data)), ['from2']);
    G.udpSendTo(sched.now(), p2, enc.encode('to2'), 3, BCAST, 68);
    run(sched, 1);
    assert.deepEqual(drain(H2.stack, h2).map((d) => [dec.decode(d.data), d.from]), [['to2', toIpv4('10.2.0.1')]]);
    assert.deepEqual(drain(H1.stack, h1), [], 'the broadcast left through interface 2 only');
    G.udpClose(p1);
    const again = openUdp(G);
    assert.equal(G.udpBind(again, 0, 67), IOT_SOCKET_EADDRINUSE, 'p2 still holds port 67 (untied vs tied conflicts)');
  });
});

describe('Stack hooks for DHCP: RFC 5227 probes and conflict watches', () => {
  it('a probe has sender IP 0 and goes to the broadcast MAC; the owner\'s reply is a conflict', () => {
    const sched = new VirtualScheduler();
    const [a, b] = createCable();
    const tap = new Tap(a);
    const C = unaddressed(sched, tap, 9);
    const owner = addHost(sched, b, '10.0.0.50', 10);
    run(sched, 5000);
    tap.clear();
    const target = toIpv4('10.0.0.50');
    const watch = C.stack.watchArp(C.ifIndex, target);
    C.stack.sendArpProbe(sched.now(), C.ifIndex, target);
    assert.deepEqual(arpFields(tap.tx[0] as Uint8Array), { op: 1, senderIp: 0, targetIp: target, ethDst: '255,255,255,255,255,255' });
    assert.equal(C.stack.stats.arp.probesOut, 1);
    assert.equal(C.stack.stats.arp.requestsOut, 0);
    run(sched, 1);
    assert.equal(watch.conflicts, 1, 'the owner answered the probe');
    assert.deepEqual([...(watch.conflictMac ?? [])], [...owner.mac]);
    assert.equal(owner.stack.arp.lookup(0, sched.now()), undefined, 'a probe creates no cache entry at the owner');
    watch.close();
    C.stack.sendArpProbe(sched.now(), C.ifIndex, target);
    run(sched, 1);
    assert.equal(watch.conflicts, 1, 'closed: no longer counted');
  });

  it('another host probing for the same address is a conflict; unrelated ARP is not', () => {
    const sched = new VirtualScheduler();
    const sw = new VirtualSwitch();
    const C = unaddressed(sched, sw.port(), 11);
    const D = unaddressed(sched, sw.port(), 12);
    const E = addHost(sched, sw.port(), '10.0.0.1', 13);
    run(sched, 5000);
    const target = toIpv4('10.0.0.77');
    const watch = C.stack.watchArp(C.ifIndex, target);
    E.stack.ping(sched.now(), toIpv4('10.0.0.99')); // an ARP request for another address
    run(sched, 1);
    assert.equal(watch.conflicts, 0);
    C.stack.sendArpProbe(sched.now(), C.ifIndex, target); // our own probe: not a conflict
    run(sched, 1);
    assert.equal(watch.conflicts, 0);
    D.stack.sendArpProbe(sched.now(), D.ifIndex, target);
    run(sched, 1);
    assert.equal(watch.conflicts, 1, 'a simultaneous probe from another MAC');
  });
});

describe('Stack hooks for DHCP: neighbours and MTU', () => {
  it('setNeighbor: unicast without an ARP request; pending datagrams released', () => {
    const { sched, A, B, tap } = twoHosts({ tapA: true });
    run(sched, 5000);
    const pa = openUdp(A.stack);
    const pb = openUdp(B.stack, 7);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('queued'), 6, B.ip, 7);
    tap?.clear();
    A.stack.setNeighbor(sched.now(), B.ip, B.mac);
    assert.equal(ipv4Of(tap?.tx[0] as Uint8Array)?.protocol, 17, 'the waiting datagram left at once');
    A.stack.udpSendTo(sched.now(), pa, enc.encode('direct'), 6, B.ip, 7);
    run(sched, 1);
    assert.deepEqual(drain(B.stack, pb).map((d) => dec.decode(d.data)), ['queued', 'direct']);
    assert.throws(() => A.stack.setNeighbor(sched.now(), B.ip, new Uint8Array([1, 0, 0, 0, 0, 1])), RangeError);
  });

  it('setInterfaceMtu: clamped to the device, fragments above it, can be raised again', () => {
    const { sched, A, B, tap } = twoHosts({ tapA: true });
    run(sched, 5000);
    assert.equal(A.stack.setInterfaceMtu(A.ifIndex, 9000), 1500, 'clamped to the device MTU');
    assert.equal(A.stack.setInterfaceMtu(A.ifIndex, 576), 576);
    assert.equal(A.stack.pathMtu(B.ip), 576);
    const pa = openUdp(A.stack);
    const pb = openUdp(B.stack, 7);
    tap?.clear();
    A.stack.udpSendTo(sched.now(), pa, new Uint8Array(1000), 1000, B.ip, 7);
    run(sched, 1);
    const frags = (tap?.tx ?? []).map(ipv4Of).filter((x) => x?.protocol === 17);
    assert.equal(frags.length, 2);
    assert.ok(frags.every((f) => (f?.total ?? 0) <= 576));
    assert.equal(drain(B.stack, pb)[0]?.data.length, 1000);
    assert.equal(A.stack.setInterfaceMtu(A.ifIndex, 1500), 1500);
    tap?.clear();
    A.stack.udpSendTo(sched.now(), pa, new Uint8Array(1472), 1472, B.ip, 7);
    run(sched, 1);
    assert.equal((tap?.tx ?? []).filter((f) => ipv4Of(f)?.protocol === 17).length, 1);
    assert.throws(() => A.stack.setInterfaceMtu(A.ifIndex, 67), RangeError);
  });

  it('an interface created with a small MTU grows its frame buffer when raised', () => {
    const sched = new VirtualScheduler();
    const [a, b] = createCable();
    const A = addHost(sched, a, '10.0.0.1', 1, { iface: { mtu: 600 } });
    const B = addHost(sched, b, '10.0.0.2', 2);
    run(sched, 5000);
    A.stack.setInterfaceMtu(A.ifIndex, 1500);
    const pa = openUdp(A.stack);
    const pb = openUdp(B.stack, 7);
    A.stack.udpSendTo(sched.now(), pa, new Uint8Array(1472).fill(7), 1472, B.ip, 7);
    run(sched, 1);
    assert.equal(drain(B.stack, pb)[0]?.data[1471], 7);
    assert.equal(A.stack.stats.ip.fragmentsOut, 0);
  });
});
