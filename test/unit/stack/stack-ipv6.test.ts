/**
 * IPv6 in the stack, two (or three) hosts on virtual links on virtual time: link-local
 * addresses and DAD, ping (link-local, global, 4000 bytes fragmented both ways), UDP
 * over IPv6 (port unreachable, dual stack), DAD conflicts, SLAAC/RDNSS/default router
 * from a crafted Router Advertisement, Packet Too Big lowering the path MTU.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IOT_SOCKET_ECONNREFUSED } from '../../../src/base/iot-constants.ts';
import { formatIPv6, parseIPv6 } from '../../../src/base/ip-address.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createCable, VirtualSwitch } from '../../../src/link/index.ts';
import { StackRunner } from '../../../src/runtime/stack-runner.ts';
import type { Ipv6Event } from '../../../src/stack/ipv6-layer.ts';
import { Stack, type PingResult } from '../../../src/stack/stack.ts';
import type { UdpPcb } from '../../../src/stack/udp.ts';
import { emitIcmpv6, icmpv6BufferLen, type Icmpv6Repr } from '../../../src/wire/icmpv6.ts';
import { run, Tap } from '../../support/stack-net.ts';

const ip6 = (s: string): Uint8Array => parseIPv6(s) as Uint8Array;

interface Host6 {
  stack: Stack;
  runner: StackRunner;
  ifIndex: number;
  events: Ipv6Event[];
}

function host(sched: VirtualScheduler, dev: Parameters<Stack['addInterface']>[0], seed: number, addresses: string[] = [], v4?: string): Host6 {
  const stack = new Stack({ rng: new XorShiftRng(seed), name: `h${seed}` });
  const events: Ipv6Event[] = [];
  stack.onIpv6Event((e) => events.push(e));
  const ifIndex = stack.addInterface(dev, {
    ...(v4 !== undefined ? { ipv4: { address: v4, prefixLen: 24 } } : {}),
    ipv6: { addresses: addresses.map((a) => ({ address: ip6(a), prefixLen: 64 })) },
  });
  const runner = new StackRunner(stack, { scheduler: sched });
  return { stack, runner, ifIndex, events };
}

function pair(opts: { tapA?: boolean } = {}) {
  const sched = new VirtualScheduler();
  const ends = createCable({ mtu: 1500 });
  const tap = opts.tapA === true ? new Tap(ends[0]) : undefined;
  const A = host(sched, tap ?? ends[0], 1, ['2001:db8::1'], '10.0.0.1');
  const B = host(sched, ends[1], 2, ['2001:db8::2'], '10.0.0.2');
  return { sched, A, B, tap };
}

function linkLocal(h: Host6): Uint8Array {
  const a = h.stack.ipv6Addresses(h.ifIndex).find((x) => x.origin === 'link-local' && x.state === 'preferred');
  assert.ok(a !== undefined, 'a preferred link-local address');
  return a.address;
}

function ping(h: Host6, sched: VirtualScheduler, dst: Uint8Array, opts: { size?: number } = {}): PingResult {
  let result: PingResult | undefined;
  const r = h.stack.ping(sched.now(), dst, { timeoutMs: 3000, ...opts }, (x) => {
    result = x;
  });
  assert.equal(r, 0, 'ping sent');
  run(sched, 3500);
  assert.ok(result !== undefined, 'ping finished');
  return result;
}

function udp6(stack: Stack, port: number, address = new Uint8Array(16)): UdpPcb {
  const pcb = stack.udpOpen(6);
  assert.ok(typeof pcb !== 'number');
  assert.equal(stack.udpBind(pcb, address, port), 0);
  return pcb;
}

describe('IPv6 in the stack', () => {
  it('forms a link-local address, passes DAD, reports the states in order', () => {
    const { sched, A, B } = pair();
    assert.equal(A.stack.ipv6Addresses(A.ifIndex).filter((a) => a.state === 'tentative').length, 2, 'link-local and static start tentative');
    run(sched, 3000);
    for (const h of [A, B]) {
      const addrs = h.stack.ipv6Addresses(h.ifIndex);
      assert.deepEqual(addrs.map((a) => a.state), ['preferred', 'preferred']);
      const ll = addrs.find((a) => a.origin === 'link-local');
      assert.ok(ll !== undefined && formatIPv6(ll.address).startsWith('fe80::'), 'fe80::/64');
      assert.ok(h.stack.stats.nd.nsOut >= 2, 'DAD probes sent');
      assert.ok(h.stack.stats.mld.reportsOut >= 2, 'MLD reports for the solicited-node groups');
      const states = h.events.filter((e) => e.kind === 'address').map((e) => (e.kind === 'address' ? e.info.state : ''));
      assert.deepEqual(states.filter((s) => s === 'tentative').length, 2);
      assert.deepEqual(states.filter((s) => s === 'preferred').length, 2);
      assert.equal(h.stack.stats.drops.internalError, 0);
    }
    assert.notDeepEqual(linkLocal(A), linkLocal(B));
  });

  it('pings link-local and global addresses both ways; 4000-byte pings are fragmented and reassembled both ways', () => {
    const { sched, A, B } = pair();
    run(sched, 3000);
    const r1 = ping(A, sched, linkLocal(B));
    assert.equal(r1.code, 0);
    assert.ok(r1.dataMatches);
    assert.deepEqual(r1.from6, linkLocal(B));
    const r2 = ping(B, sched, ip6('2001:db8::1'));
    assert.equal(r2.code, 0);
    assert.deepEqual(r2.from6, ip6('2001:db8::1'));
    const big = ping(A, sched, ip6('2001:db8::2'), { size: 4000 });
    assert.equal(big.code, 0);
    assert.equal(big.bytes, 4000);
    assert.ok(big.dataMatches);
    for (const h of [A, B]) {
      assert.ok(h.stack.stats.ip6.fragmentsOut >= 3, `fragments sent (${h.stack.stats.ip6.fragmentsOut})`);
      assert.ok(h.stack.stats.ip6.reassembled >= 1, 'reassembled');
    }
    const nope = ping(A, sched, ip6('2001:db8::99'));
    assert.notEqual(nope.code, 0, 'unresolvable neighbor fails');
    assert.ok(A.stack.stats.nd.resolutionFailed >= 1);
  });

  it('UDP over IPv6 both ways; a closed port answers with port unreachable (ECONNREFUSED on a connected socket)', () => {
    const { sched, A, B } = pair();
    run(sched, 3000);
    const srv = udp6(B.stack, 5353);
    const cli = udp6(A.stack, 0);
    const data = new TextEncoder().encode('hello over v6');
    assert.equal(A.stack.udpSendTo(sched.now(), cli, data, data.length, ip6('2001:db8::2'), 5353), data.length);
    run(sched, 10);
    const buf = new Uint8Array(100);
    const from: { address: number; port: number; address6?: Uint8Array | undefined } = { address: 0, port: 0 };
    const n = B.stack.udpRecvFrom(srv, buf, 100, from);
    assert.equal(n, data.length);
    assert.deepEqual(from.address6, ip6('2001:db8::1'));
    assert.equal(from.port, cli.localPort);
    assert.equal(B.stack.udpSendTo(sched.now(), srv, buf.subarray(0, n), n, from.address6, from.port), n);
    run(sched, 10);
    assert.equal(A.stack.udpRecvFrom(cli, buf, 100), n);

    const conn = A.stack.udpOpen(6) as UdpPcb;
    assert.equal(A.stack.udpConnect(conn, ip6('2001:db8::2'), 9), 0);
    assert.equal(A.stack.udpSendTo(sched.now(), conn, data), data.length);
    run(sched, 10);
    assert.equal(A.stack.udpRecvFrom(conn, buf), IOT_SOCKET_ECONNREFUSED);
    assert.ok(B.stack.stats.icmp6.errorsOut >= 1);
  });

  it('a dual-stack IPv6 socket receives IPv4 datagrams from IPv4-mapped addresses and answers them over IPv4', () => {
    const { sched, A, B } = pair();
    run(sched, 3000);
    const srv = udp6(B.stack, 7000);
    const cli = A.stack.udpOpen(4) as UdpPcb;
    const data = Uint8Array.of(1, 2, 3);
    assert.equal(A.stack.udpSendTo(sched.now(), cli, data, 3, 0x0a000002, 7000), 3);
    run(sched, 10);
    const buf = new Uint8Array(10);
    const from: { address: number; port: number; address6?: Uint8Array | undefined } = { address: 0, port: 0 };
    assert.equal(B.stack.udpRecvFrom(srv, buf, 10, from), 3);
    assert.equal(formatIPv6(from.address6 as Uint8Array), '::ffff:10.0.0.1');
    assert.equal(B.stack.udpSendTo(sched.now(), srv, data, 3, from.address6, from.port), 3);
    run(sched, 10);
    assert.equal(A.stack.udpRecvFrom(cli, buf), 3);
    // The port is taken for IPv4 too.
    const v4 = B.stack.udpOpen(4) as UdpPcb;
    assert.notEqual(B.stack.udpBind(v4, 0, 7000), 0);
  });

  it('detects a duplicate address: the second host marks it duplicate and never uses it', () => {
    const sched = new VirtualScheduler();
    const sw = new VirtualSwitch();
    const A = host(sched, sw.port(), 1, ['2001:db8::5']);
    run(sched, 3000);
    const B = host(sched, sw.port(), 2, ['2001:db8::5']);
    run(sched, 3000);
    const b = B.stack.ipv6Addresses(B.ifIndex).find((a) => a.origin === 'static');
    assert.equal(b?.state, 'duplicate');
    assert.ok(B.events.some((e) => e.kind === 'address' && e.info.state === 'duplicate'));
    assert.equal(A.stack.ipv6Addresses(A.ifIndex).find((a) => a.origin === 'static')?.state, 'preferred', 'the first owner keeps it');
    assert.equal(B.stack.isLocalAddress6(ip6('2001:db8::5')), false);
    assert.ok(B.stack.stats.nd.dadConflicts >= 1);
  });

  it('SLAAC, default router, RDNSS and the O flag from a Router Advertisement', () => {
    const sched = new VirtualScheduler();
    const ends = createCable({ mtu: 1500 });
    const A = host(sched, ends[0], 1);
    const router = ends[1];
    run(sched, 3000);
    // The host solicits routers after its link-local address passed DAD.
    const frames: Uint8Array[] = [];
    for (let f = router.receive(sched.now()); f !== undefined; f = router.receive(sched.now())) frames.push(f.slice());
    assert.ok(frames.some((f) => f[12] === 0x86 && f[13] === 0xdd && f[14 + 40] === 133), 'a router solicitation went out');
    const routerLl = ip6('fe80::1');
    const routerMac = Uint8Array.of(2, 0, 0, 0, 0, 0x42);
    const ra: Icmpv6Repr = {
      kind: 'router-advert', hopLimit: 61, managed: false, other: true, routerPreference: 0, routerLifetime: 1800, reachableTime: 0, retransTimer: 0,
      options: {
        sourceLinkAddr: routerMac,
        mtu: 1400,
        prefixes: [{ prefix: ip6('2001:db8:1::'), prefixLen: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400 }],
        rdnss: [{ lifetime: 600, servers: [ip6('2001:db8:1::53')] }],
      },
    };
    router.transmit(sched.now(), ethIpv6(routerMac, Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), routerLl, ip6('ff02::1'), 255, ra));
    run(sched, 3000);
    const global = A.stack.ipv6Addresses(A.ifIndex).find((a) => a.origin === 'slaac');
    assert.ok(global !== undefined, 'SLAAC address formed');
    assert.equal(global.state, 'preferred');
    assert.ok(formatIPv6(global.address).startsWith('2001:db8:1:0:'));
    assert.equal(global.validUntil - global.preferredUntil, (86400 - 14400) * 1000);
    assert.deepEqual(A.stack.ipv6Routers(A.ifIndex), [routerLl]);
    assert.deepEqual(A.stack.ipv6DnsServers(), [ip6('2001:db8:1::53')]);
    assert.equal(A.stack.pathMtu6(ip6('2001:db8:99::1')), 1400, 'RA MTU');
    assert.ok(A.events.some((e) => e.kind === 'other-config'));
    assert.ok(A.events.some((e) => e.kind === 'dns'));
    assert.deepEqual(A.stack.sourceAddressFor6(ip6('2001:db8:99::1')), global.address, 'off-link destination: the SLAAC address');
    assert.deepEqual(A.stack.sourceAddressFor6(ip6('fe80::1'))?.subarray(0, 2), Uint8Array.of(0xfe, 0x80));
    // Off-link traffic goes to the router's MAC.
    const pcb = A.stack.udpOpen(6) as UdpPcb;
    assert.equal(A.stack.udpSendTo(sched.now(), pcb, Uint8Array.of(1), 1, ip6('2001:db8:99::1'), 53), 1);
    run(sched, 10);
    const out: Uint8Array[] = [];
    for (let f = router.receive(sched.now()); f !== undefined; f = router.receive(sched.now())) out.push(f.slice());
    const udp = out.find((f) => f[12] === 0x86 && f[13] === 0xdd && f[14 + 6] === 17);
    assert.ok(udp !== undefined, 'UDP sent to the router');
    assert.deepEqual(udp.subarray(0, 6), routerMac);
    assert.equal(udp[14 + 7], 61, 'RA hop limit applied');
  });
});

/** An Ethernet frame with an IPv6 packet carrying an ICMPv6 message. */
function ethIpv6(srcMac: Uint8Array, dstMac: Uint8Array, src: Uint8Array, dst: Uint8Array, hop: number, repr: Icmpv6Repr): Uint8Array {
  const len = icmpv6BufferLen(repr);
  const f = new Uint8Array(14 + 40 + len);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  f[14] = 0x60;
  f[18] = len >> 8;
  f[19] = len & 0xff;
  f[20] = 58;
  f[21] = hop;
  f.set(src, 22);
  f.set(dst, 38);
  emitIcmpv6(repr, f.subarray(54), src, dst);
  return f;
}

it('drops IPv6 packets from the wire that claim one of our own addresses as source (martian, as IPv4 does): a UDP echo service never answers itself in an endless loop', async () => {
  const { ip6Frame } = await import('../../support/stack-net.ts');
  const { fixChecksums } = await import('../../support/frame-mutator.ts');
  const { sched, B, tap } = pair({ tapA: true });
  run(sched, 3000);
  const echo = udp6(B.stack, 7);
  let answers = 0;
  const buf = new Uint8Array(100);
  echo.onChange = () => {
    const from: { address: number; port: number; address6?: Uint8Array | undefined } = { address: 0, port: 0 };
    for (let n = B.stack.udpRecvFrom(echo, buf, 100, from); n >= 0; n = B.stack.udpRecvFrom(echo, buf, 100, from)) {
      if (++answers > 100) return B.stack.udpClose(echo); // the loop: B echoing its own echoes, at one instant, forever
      B.stack.udpSendTo(sched.now(), echo, buf, n, from.address6, from.port);
    }
  };
  const macB = (B.stack.interface(B.ifIndex) as { mac: Uint8Array }).mac;
  const martians = B.stack.stats.drops.martian;
  for (const own of [linkLocal(B), ip6('2001:db8::2')]) {
    const udp = Uint8Array.of(0, 7, 0, 7, 0, 12, 0, 0, 0x6c, 0x6f, 0x6f, 0x70); // port 7 to port 7, "loop"
    const f = ip6Frame({ dstMac: macB, src: own, dst: ip6('2001:db8::2'), nextHeader: 17, payload: udp });
    fixChecksums(f, true);
    (tap as Tap).transmit(sched.now(), f);
    run(sched, 10);
  }
  assert.equal(answers, 0, 'nothing reached the echo socket');
  assert.equal(B.stack.stats.drops.martian - martians, 2);
  // Its own traffic to itself still loops back.
  const cli = udp6(B.stack, 0);
  assert.equal(B.stack.udpSendTo(sched.now(), cli, Uint8Array.of(1), 1, ip6('2001:db8::2'), 7), 1);
  run(sched, 10);
  assert.equal(answers, 1);
  assert.equal(B.stack.udpRecvFrom(cli, buf), 1);
  assert.equal(B.stack.stats.drops.internalError, 0);
});

it('ignores multicast prefixes in Router Advertisements: no SLAAC address, no on-link prefix, never a multicast source', () => {
  const sched = new VirtualScheduler();
  const ends = createCable({ mtu: 1500 });
  const A = host(sched, ends[0], 1);
  run(sched, 3000);
  const routerMac = Uint8Array.of(2, 0, 0, 0, 0, 0x42);
  const prefix = (p: string) => ({ prefix: ip6(p), prefixLen: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400 });
  const ra: Icmpv6Repr = {
    kind: 'router-advert', hopLimit: 64, managed: false, other: false, routerPreference: 0, routerLifetime: 1800, reachableTime: 0, retransTimer: 0,
    options: { sourceLinkAddr: routerMac, prefixes: [prefix('ff0e::'), prefix('ff02::'), prefix('2001:db8:1::')] },
  };
  ends[1].transmit(sched.now(), ethIpv6(routerMac, Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), ip6('fe80::1'), ip6('ff02::1'), 255, ra));
  run(sched, 3000);
  const slaac = A.stack.ipv6Addresses(A.ifIndex).filter((a) => a.origin === 'slaac');
  assert.deepEqual(slaac.map((a) => formatIPv6(a.address).split(':').slice(0, 3).join(':')), ['2001:db8:1'], 'only the unicast prefix gave an address');
  assert.equal(A.stack.sourceAddressFor6(ip6('ff0e::1'))?.[0] === 0xff, false, 'no multicast source address');
  assert.equal(A.stack.stats.drops.internalError, 0);
});
