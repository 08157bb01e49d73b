/**
 * IPv6 forwarding (RFC 8200, RFC 4443): three stacks A — R — B on virtual cables, R
 * routing between its interfaces, on virtual time. Ping, UDP and TCP through R; hop limit
 * expiry, no route, Packet Too Big (and TCP recovering by path MTU discovery), link-local
 * scope, martians, neighbor resolution failure behind R, the Router flag of R's Neighbor
 * Advertisements, the switch off, and an `'ip'` medium egress as a PPP interface would be.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IOT_SOCKET_ERROR, IOT_SOCKET_ETIMEDOUT } from '../../../src/base/iot-constants.ts';
import { toIpv6, type PingResult } from '../../../src/stack/stack.ts';
import { routedNet, tcpThrough, type RoutedNetOptions } from '../../support/router-net.ts';
import { drain, enc, ip6Frame, openUdp, run } from '../../support/stack-net.ts';

const A6 = toIpv6('2001:db8:1::2');
const R6 = toIpv6('2001:db8:1::1');
const B6 = toIpv6('2001:db8:2::2');

function net6(opts: RoutedNetOptions = {}): ReturnType<typeof routedNet> {
  const net = routedNet({ ipv6: true, ...opts });
  run(net.sched, 3000); // DAD
  net.tapA.clear();
  return net;
}

function ping6(net: ReturnType<typeof routedNet>, dst: Uint8Array, opts: Parameters<typeof net.A.stack.ping>[2] = {}, ms = 2000): PingResult | undefined {
  let result: PingResult | undefined;
  assert.equal(net.A.stack.ping(net.sched.now(), dst, { timeoutMs: ms, ...opts }, (x) => { result = x; }), 0, 'ping sent');
  run(net.sched, ms + 10);
  return result;
}

/** ICMPv6 messages A received: source, type, code, the 32-bit field (MTU), and the quoted packet's destination and hop limit. */
function icmp6AtA(net: ReturnType<typeof routedNet>, types: number[]): { from: string; type: number; code: number; mtu: number; qdst: string; qhop: number }[] {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const out = [];
  for (const f of net.tapA.rx) {
    if (f[12] !== 0x86 || f[13] !== 0xdd || f[14 + 6] !== 58) continue;
    const ip = f.subarray(14);
    const m = ip.subarray(40);
    if (!types.includes(m[0] as number)) continue;
    const q = m.subarray(8);
    out.push({ from: hex(ip.subarray(8, 24)), type: m[0] as number, code: m[1] as number, mtu: (((m[4] as number) << 24) | ((m[5] as number) << 16) | ((m[6] as number) << 8) | (m[7] as number)) >>> 0, qdst: hex(q.subarray(24, 40)), qhop: q[7] as number });
  }
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('IPv6 forwarding', () => {
  it('ping A -> B through R: the reply comes back with hop limit 63', () => {
    const net = net6();
    const r = ping6(net, B6);
    assert.equal(r?.code, 0);
    assert.deepEqual(r?.from6, B6);
    assert.equal(r?.ttl, 63);
    assert.equal(r?.dataMatches, true);
    assert.equal(net.R.stack.stats.ip6.forwarded, 2);
    assert.equal(net.R.stack.stats.ip6.rxPackets > 0, true, 'ND and MLD only');
    assert.equal(net.R.stack.stats.icmp6.echoRequestsIn, 0);
  });

  it('UDP both ways and TCP (200 KB each way) through R', () => {
    const net = net6();
    const { sched, A, B } = net;
    const pa = openUdp(A.stack, 4000, new Uint8Array(16));
    const pb = openUdp(B.stack, 5000, new Uint8Array(16));
    B.stack.udpSendTo(sched.now(), pb, enc.encode('from B'), 6, A6, 4000);
    run(sched, 50);
    const got = drain(A.stack, pa);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]?.from6, B6);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('from A'), 6, B6, 5000);
    run(sched, 50);
    assert.equal(new TextDecoder().decode(drain(B.stack, pb)[0]?.data), 'from A');
    const t = tcpThrough(net, 200_000, B6);
    assert.ok(t.established);
    assert.ok(t.ok);
  });

  it('hop limit 1 at R: time exceeded (code 0) from R, quoting the packet as received', () => {
    const net = net6();
    const r = ping6(net, B6, { ttl: 1 });
    assert.equal(r?.code, IOT_SOCKET_ERROR);
    assert.equal(r?.icmpType, 3);
    assert.equal(r?.icmpCode, 0);
    assert.deepEqual(r?.from6, R6);
    assert.deepEqual(icmp6AtA(net, [3]), [{ from: hex(R6), type: 3, code: 0, mtu: 0, qdst: hex(B6), qhop: 1 }]);
    assert.equal(net.R.stack.stats.drops.ttlExpired, 1);
    assert.equal(net.B.stack.stats.icmp6.echoRequestsIn, 0);
    assert.equal(ping6(net, B6, { ttl: 2 })?.code, 0);
  });

  it('no route at R: destination unreachable code 0', () => {
    const net = net6();
    const r = ping6(net, toIpv6('2001:db8:77::7'));
    assert.equal(r?.icmpType, 1);
    assert.equal(r?.icmpCode, 0);
    assert.deepEqual(r?.from6, R6);
    assert.equal(net.R.stack.stats.drops.noRoute, 1);
  });

  it('Packet Too Big with the egress MTU (R never fragments); A then fragments to fit', () => {
    const net = net6();
    net.R.stack.setInterfaceMtu(net.rIf1, 1280);
    const r = ping6(net, B6, { size: 1400 });
    assert.equal(r?.icmpType, 2);
    const [e] = icmp6AtA(net, [2]);
    assert.equal(e?.mtu, 1280);
    assert.equal(net.R.stack.stats.drops.tooBig, 1);
    assert.equal(net.A.stack.pathMtu6(B6), 1280, "A's path MTU lowered (RFC 8201)");
    const again = ping6(net, B6, { size: 1400 });
    assert.equal(again?.code, 0);
    assert.equal(again?.dataMatches, true);
    assert.equal(net.R.stack.stats.ip6.fragmentsOut, 0);
    assert.ok(net.A.stack.stats.ip6.fragmentsOut >= 2);
  });

  it('TCP over a 1280-byte egress between 1500-byte links: Packet Too Big lowers the MSS and the transfer completes', () => {
    const net = net6();
    net.R.stack.setInterfaceMtu(net.rIf1, 1280); // B announces MSS 1440
    const t = tcpThrough(net, 100_000, B6);
    assert.ok(t.ok);
    assert.ok(net.R.stack.stats.drops.tooBig >= 1);
    assert.ok(net.R.stack.stats.icmp6.errorsOut >= 1);
  });

  it('link-local sources and destinations never leave their link: beyond scope (code 2) to a link-local source', () => {
    const net = net6();
    const { sched, A, R, left } = net;
    const ll = A.stack.ipv6Addresses(A.ifIndex).find((a) => a.address[0] === 0xfe)?.address as Uint8Array;
    const payload = new Uint8Array(16);
    payload[0] = 128; // an echo request (checksum wrong: R never looks)
    left[0].transmit(sched.now(), ip6Frame({ dstMac: R.mac, srcMac: A.mac, src: ll, dst: B6, nextHeader: 58, payload }));
    left[0].transmit(sched.now(), ip6Frame({ dstMac: R.mac, srcMac: A.mac, src: A6, dst: toIpv6('fe80::99'), nextHeader: 58, payload }));
    run(sched, 20);
    assert.equal(R.stack.stats.drops.beyondScope, 2);
    assert.equal(R.stack.stats.ip6.forwarded, 0);
    const errs = icmp6AtA(net, [1]);
    assert.equal(errs.length, 1);
    assert.equal(errs[0]?.code, 2);
    assert.equal(errs[0]?.from.startsWith('fe80'), true, 'from R\'s link-local address');
  });

  it('martians (unspecified source, loopback or unspecified destination, our own address as source) and unicast in link multicast are dropped', () => {
    const net = net6();
    const { sched, R, left } = net;
    const payload = new Uint8Array(8);
    const send = (src: Uint8Array, dst: Uint8Array, mac = R.mac): boolean => left[0].transmit(sched.now(), ip6Frame({ dstMac: mac, src, dst, nextHeader: 59, payload }));
    const notForUs = R.stack.stats.drops.notForUs;
    send(new Uint8Array(16), B6);
    send(A6, toIpv6('::1'));
    send(A6, new Uint8Array(16));
    send(toIpv6('2001:db8:2::1'), B6);
    send(A6, B6, Uint8Array.of(0x33, 0x33, 0, 0, 0, 1));
    run(sched, 20);
    const d = R.stack.stats.drops;
    assert.equal(d.martian, 4);
    assert.equal(R.stack.stats.ip6.forwarded, 0);
    assert.equal(d.notForUs - notForUs, 1, 'the unicast packet in a link-layer multicast');
  });

  it('next hop not answering behind R: address unreachable (code 3) after the solicitations', () => {
    const net = net6();
    const r = ping6(net, toIpv6('2001:db8:2::77'), {}, 4000);
    assert.equal(r?.icmpType, 1);
    assert.equal(r?.icmpCode, 3);
    assert.equal(net.R.stack.stats.nd.resolutionFailed, 1);
  });

  it("R's Neighbor Advertisements carry the Router flag only while it forwards IPv6", () => {
    const routerFlags = (net: ReturnType<typeof routedNet>): boolean[] => net.tapA.rx
      .filter((f) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 58 && f[54] === 136)
      .map((f) => ((f[58] as number) & 0x80) !== 0);
    const on = net6();
    ping6(on, B6);
    assert.deepEqual(routerFlags(on), [true]);
    const off = net6({ forwarding: { ipv4: true } });
    ping6(off, R6);
    assert.deepEqual(routerFlags(off), [false]);
  });

  it('forwarding off for IPv6 (IPv4 on): not forwarded, counted as not for us; on at run time', () => {
    const net = net6({ forwarding: { ipv4: true } });
    assert.equal(ping6(net, B6, {}, 500)?.code, IOT_SOCKET_ETIMEDOUT);
    assert.equal(net.R.stack.stats.ip6.forwarded, 0);
    assert.ok(net.R.stack.stats.drops.notForUs >= 1);
    net.R.stack.setForwarding({ ipv6: true });
    assert.deepEqual(net.R.stack.forwarding, { ipv4: true, ipv6: true });
    assert.equal(ping6(net, B6)?.code, 0);
  });

  it("an 'ip' medium egress (as PPP): ping and TCP through R, no neighbor discovery on that side", () => {
    const net = net6({ rightMedium: 'ip' });
    assert.equal(ping6(net, B6)?.code, 0);
    const t = tcpThrough(net, 100_000, B6);
    assert.ok(t.ok);
    assert.equal(net.R.stack.interface(net.rIf1)?.medium, 'ip');
  });
});
