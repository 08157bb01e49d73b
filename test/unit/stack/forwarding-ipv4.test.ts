/**
 * IPv4 forwarding (RFC 1812): three stacks A — R — B on virtual cables, R routing between
 * its interfaces, on virtual time. Ping, UDP and TCP through R; TTL expiry, no route, DF
 * with a small egress MTU, fragmentation (also of fragments), ARP failure behind R,
 * martian filters, the switch off and on at run time, and an `'ip'` medium egress as a
 * PPP interface would be.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IOT_SOCKET_ERROR, IOT_SOCKET_ETIMEDOUT } from '../../../src/base/iot-constants.ts';
import { decrementTtl4, forwardingConfig, isMartianDestination4, isMartianSource4 } from '../../../src/stack/ip-forward.ts';
import { toIpv4, type PingResult } from '../../../src/stack/stack.ts';
import { foldChecksum, onesSum } from '../../../src/wire/checksum.ts';
import { routedNet, tcpThrough } from '../../support/router-net.ts';
import { drain, enc, ipFrame, ipv4Of, openUdp, pattern, run, udpDatagram } from '../../support/stack-net.ts';

function pingOnce(net: ReturnType<typeof routedNet>, dst: number | string, opts: Parameters<typeof net.A.stack.ping>[2] = {}, ms = 2000): PingResult | undefined {
  let result: PingResult | undefined;
  const r = net.A.stack.ping(net.sched.now(), dst, { timeoutMs: ms, ...opts }, (x) => { result = x; });
  assert.equal(r, 0, 'ping sent');
  run(net.sched, ms + 10);
  return result;
}

/** The ICMP messages A received: type, code, next-hop MTU and the quoted IPv4 header fields. */
function icmpAtA(net: ReturnType<typeof routedNet>): { from: number; type: number; code: number; mtu: number; quoted: { src: number; dst: number; ttl: number; protocol: number } }[] {
  const out = [];
  for (const f of net.tapA.rx) {
    const ip = ipv4Of(f);
    if (ip === undefined || ip.protocol !== 1) continue;
    const icmp = f.subarray(14 + 20);
    const type = icmp[0] as number;
    if (type !== 3 && type !== 11) continue;
    const q = ipv4Of(Uint8Array.of(...new Uint8Array(12), 0x08, 0x00, ...icmp.subarray(8))) as NonNullable<ReturnType<typeof ipv4Of>>;
    out.push({ from: ip.src, type, code: icmp[1] as number, mtu: ((icmp[6] as number) << 8) | (icmp[7] as number), quoted: { src: q.src, dst: q.dst, ttl: q.ttl, protocol: q.protocol } });
  }
  return out;
}

describe('IPv4 forwarding', () => {
  it('ping A -> B through R: the reply comes back with TTL 63; R counts what it forwarded', () => {
    const net = routedNet();
    const r = pingOnce(net, net.B.ip);
    assert.equal(r?.code, 0);
    assert.equal(r?.from, net.B.ip);
    assert.equal(r?.ttl, 63, "B's 64 less R's hop");
    assert.equal(r?.dataMatches, true);
    assert.equal(net.R.stack.stats.ip.forwarded, 2);
    assert.equal(net.R.stack.stats.ip.rxDatagrams, 0, 'nothing was for R itself');
    assert.equal(net.R.stack.stats.drops.notForUs, 0);
  });

  it('UDP both ways through R (also B -> A first, with ARP pending at R on both sides)', () => {
    const net = routedNet();
    const { sched, A, B } = net;
    const pa = openUdp(A.stack, 4000);
    const pb = openUdp(B.stack, 5000);
    assert.equal(B.stack.udpSendTo(sched.now(), pb, enc.encode('from B'), 6, A.ip, 4000), 6);
    assert.equal(B.stack.udpSendTo(sched.now(), pb, enc.encode('again'), 5, A.ip, 4000), 5);
    run(sched, 50);
    assert.deepEqual(drain(A.stack, pa).map((d) => [new TextDecoder().decode(d.data), d.from, d.port]), [['from B', B.ip, 5000], ['again', B.ip, 5000]]);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('from A'), 6, B.ip, 5000);
    run(sched, 50);
    assert.deepEqual(drain(B.stack, pb).map((d) => [new TextDecoder().decode(d.data), d.from]), [['from A', A.ip]]);
    assert.equal(net.R.stack.stats.ip.forwarded, 3);
  });

  it('TCP A <-> B through R: 200 KB each way intact', () => {
    const net = routedNet();
    const t = tcpThrough(net, 200_000);
    assert.ok(t.established);
    assert.ok(t.ok, 'both directions intact');
    assert.ok(net.R.stack.stats.ip.forwarded > 100);
  });

  it('TTL 1 arriving at R: time exceeded (code 0) from R quoting the original header; nothing reaches B', () => {
    const net = routedNet();
    const r = pingOnce(net, net.B.ip, { ttl: 1 });
    assert.equal(r?.code, IOT_SOCKET_ERROR);
    assert.equal(r?.icmpType, 11);
    assert.equal(r?.icmpCode, 0);
    assert.equal(r?.from, toIpv4('10.0.1.1'));
    const [e] = icmpAtA(net);
    assert.deepEqual(e, { from: toIpv4('10.0.1.1'), type: 11, code: 0, mtu: 0, quoted: { src: net.A.ip, dst: net.B.ip, ttl: 1, protocol: 1 } });
    assert.equal(net.R.stack.stats.drops.ttlExpired, 1);
    assert.equal(net.R.stack.stats.ip.forwarded, 0);
    assert.equal(net.B.stack.stats.icmp.echoRequestsIn, 0);
    // TTL 2 passes (B sees TTL 1).
    const ok = pingOnce(net, net.B.ip, { ttl: 2 });
    assert.equal(ok?.code, 0);
  });

  it('no route at R: destination unreachable, net (code 0)', () => {
    const net = routedNet();
    const r = pingOnce(net, '192.168.77.7');
    assert.equal(r?.code, IOT_SOCKET_ERROR);
    assert.equal(r?.icmpType, 3);
    assert.equal(r?.icmpCode, 0);
    assert.equal(r?.from, toIpv4('10.0.1.1'));
    assert.equal(net.R.stack.stats.drops.noRoute, 1);
    assert.equal(net.R.stack.stats.icmp.errorsOut, 1);
  });

  it('ICMP errors about forwarded datagrams share the token bucket (10 at once)', () => {
    const net = routedNet();
    pingOnce(net, net.B.ip); // resolves R at A (its ARP queue holds only 4)
    for (let i = 0; i < 25; i++) net.A.stack.ping(net.sched.now(), '192.168.77.7', { timeoutMs: 100 });
    run(net.sched, 200);
    assert.equal(net.R.stack.stats.icmp.errorsOut, 10);
    assert.equal(net.R.stack.stats.icmp.rateLimited, 15);
    assert.equal(net.R.stack.stats.drops.noRoute, 25);
  });

  it('DF beyond the egress MTU: fragmentation needed (code 4) with the next-hop MTU; without DF R fragments', () => {
    const net = routedNet({ rightMtu: 576 });
    const r = pingOnce(net, net.B.ip, { size: 1000, dontFragment: true });
    assert.equal(r?.code, IOT_SOCKET_ERROR);
    assert.equal(r?.icmpType, 3);
    assert.equal(r?.icmpCode, 4);
    const [e] = icmpAtA(net);
    assert.equal(e?.mtu, 576, 'RFC 1191 next-hop MTU');
    assert.equal(e?.quoted.ttl, 64, 'quoted as received');
    assert.equal(net.R.stack.stats.drops.tooBig, 1);
    // Fitting with DF: passes. Without DF: R fragments into <= 576-byte pieces, B reassembles.
    assert.equal(pingOnce(net, net.B.ip, { size: 500, dontFragment: true })?.code, 0);
    const before = net.R.stack.stats.ip.fragmentsOut;
    const big = pingOnce(net, net.B.ip, { size: 1000 });
    assert.equal(big?.code, 0);
    assert.equal(big?.dataMatches, true);
    assert.equal(net.R.stack.stats.ip.fragmentsOut - before, 2, '1028 bytes -> 2 fragments of <= 576');
    assert.ok(net.B.stack.stats.ip.reassembled >= 1);
  });

  it('fragments are forwarded as they are and fragmented again when they still do not fit (offsets and MF kept)', () => {
    const net = routedNet({ rightMtu: 576 });
    const { sched, A, B } = net;
    const pb = openUdp(B.stack, 5000);
    const pa = openUdp(A.stack, 4000);
    const data = pattern(4000, 9); // A sends 3 fragments (1500 MTU); R cuts each into <= 576
    A.stack.udpSendTo(sched.now(), pa, data, data.length, B.ip, 5000);
    run(sched, 50);
    const got = drain(B.stack, pb);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]?.data, data);
    assert.equal(A.stack.stats.ip.fragmentsOut, 3);
    assert.equal(net.R.stack.stats.ip.forwarded, 3);
    assert.equal(net.R.stack.stats.ip.fragmentsOut, 8, '1480 -> 552 + 552 + 376 (twice), 1048 -> 552 + 496');
    assert.equal(net.R.stack.stats.ip.reassembled, 0, 'R never reassembles what it forwards');
  });

  it('TCP through a 576-byte egress MTU between 1500-byte links: works (IPv4 TCP sends without DF, R fragments)', () => {
    const net = routedNet();
    net.R.stack.setInterfaceMtu(net.rIf1, 576); // B still announces MSS 1460
    const t = tcpThrough(net, 50_000);
    assert.ok(t.ok);
    assert.ok(net.R.stack.stats.ip.fragmentsOut > 0);
  });

  it('next hop not answering ARP behind R: host unreachable (code 1) to the source after the requests', () => {
    const net = routedNet();
    const r = pingOnce(net, '10.0.2.77', {}, 3100);
    assert.equal(r?.code, IOT_SOCKET_ERROR);
    assert.equal(r?.icmpType, 3);
    assert.equal(r?.icmpCode, 1);
    assert.equal(net.R.stack.stats.drops.arpFailed, 1);
    assert.equal(net.R.stack.stats.arp.failed, 1);
    // Within the negative-cache hold R answers at once.
    const again = pingOnce(net, '10.0.2.77', {}, 100);
    assert.equal(again?.icmpCode, 1);
  });

  it('martians, directed broadcasts and unicast in link broadcasts are dropped and counted, never forwarded', () => {
    const net = routedNet();
    const { sched, R, left } = net;
    const rMac = R.mac;
    const bcast = new Uint8Array(6).fill(0xff);
    const send = (src: string, dst: string, mac = rMac): void => {
      const s = toIpv4(src), d = toIpv4(dst);
      left[0].transmit(sched.now(), ipFrame({ dstMac: mac, src: s, dst: d, protocol: 17, payload: udpDatagram(s, d, 1, 2, enc.encode('x')) }));
    };
    send('127.0.0.1', '10.0.2.2');
    send('0.1.2.3', '10.0.2.2');
    send('224.1.2.3', '10.0.2.2');
    send('240.0.0.1', '10.0.2.2');
    send('10.0.2.255', '10.0.2.2'); // a subnet broadcast as source
    send('10.0.1.1', '10.0.2.2'); // R's own address
    send('10.0.1.2', '127.0.0.1');
    send('10.0.1.2', '0.0.0.9');
    send('10.0.1.2', '250.1.1.1');
    send('10.0.1.2', '10.0.2.255'); // directed broadcast of R's other subnet
    send('10.0.1.2', '10.0.2.2', bcast); // unicast in a link-layer broadcast
    run(sched, 50);
    const d = R.stack.stats.drops;
    assert.equal(d.martian, 9);
    assert.equal(d.directedBroadcast, 1);
    assert.equal(d.notForUs, 1);
    assert.equal(R.stack.stats.ip.forwarded, 0);
    assert.equal(R.stack.stats.icmp.errorsOut, 0);
    assert.equal(net.B.stack.stats.ip.rxDatagrams + net.B.stack.stats.drops.notForUs, 0, 'nothing reached B');
  });

  it('forwarding off: the old host behaviour (dropped as not for us); switched on at run time, then off again', () => {
    const net = routedNet({ forwarding: false });
    assert.deepEqual(net.R.stack.forwarding, { ipv4: false, ipv6: false });
    const r = pingOnce(net, net.B.ip, {}, 500);
    assert.equal(r?.code, IOT_SOCKET_ETIMEDOUT);
    assert.equal(net.R.stack.stats.drops.notForUs, 1);
    assert.equal(net.R.stack.stats.ip.forwarded, 0);
    assert.equal(net.R.stack.stats.icmp.errorsOut, 0);
    net.R.stack.setForwarding({ ipv4: true });
    assert.deepEqual(net.R.stack.forwarding, { ipv4: true, ipv6: false });
    assert.equal(pingOnce(net, net.B.ip)?.code, 0);
    net.R.stack.setForwarding(false);
    assert.equal(pingOnce(net, net.B.ip, {}, 500)?.code, IOT_SOCKET_ETIMEDOUT);
    assert.equal(net.R.stack.stats.ip.forwarded, 2);
  });

  it("an 'ip' medium egress (as PPP): ping, UDP and TCP through R; no ARP on that side", () => {
    const net = routedNet({ rightMedium: 'ip' });
    assert.equal(pingOnce(net, net.B.ip)?.code, 0);
    const pb = openUdp(net.B.stack, 5000);
    const pa = openUdp(net.A.stack, 4000);
    net.A.stack.udpSendTo(net.sched.now(), pa, enc.encode('over ppp'), 8, net.B.ip, 5000);
    run(net.sched, 20);
    assert.equal(new TextDecoder().decode(drain(net.B.stack, pb)[0]?.data), 'over ppp');
    const t = tcpThrough(net, 100_000);
    assert.ok(t.ok);
    assert.equal(net.B.stack.stats.arp.requestsOut + net.B.stack.stats.arp.requestsIn, 0);
  });

  it('forwarding back out of the arrival interface is allowed (no redirect)', () => {
    const net = routedNet();
    // R routes 10.0.9.0/24 back out of the interface it came in on, to A.
    net.R.stack.addRoute({ network: '10.0.9.0', prefixLen: 24, gateway: '10.0.1.2', ifIndex: net.R.ifIndex });
    net.A.stack.addRoute({ network: '10.0.9.0', prefixLen: 24, gateway: '10.0.1.1', ifIndex: net.A.ifIndex });
    // A pings 10.0.9.9: R forwards it back to A (its gateway for 10.0.9.0/24), A drops it as not for it.
    pingOnce(net, '10.0.9.9', {}, 100);
    assert.equal(net.R.stack.stats.ip.forwarded, 1);
    assert.equal(net.A.stack.stats.drops.notForUs, 1);
  });

  it('RFC 1624 incremental TTL decrement equals a full header checksum', () => {
    const h = new Uint8Array(24);
    for (let seed = 1; seed < 2000; seed++) {
      for (let i = 0; i < 24; i++) h[i] = (seed * 7919 + i * 104729) % 251;
      h[0] = 0x46;
      h[8] = 2 + (seed % 254);
      h[10] = 0;
      h[11] = 0;
      const c = foldChecksum(onesSum(h, 0, 24));
      h[10] = c >> 8;
      h[11] = c & 0xff;
      decrementTtl4(h, 0);
      assert.equal(foldChecksum(onesSum(h, 0, 24)), 0, `valid after decrement (seed ${seed})`);
    }
  });

  it('helpers: martian ranges and the option forms', () => {
    for (const a of ['0.0.0.0', '0.1.1.1', '127.0.0.1', '224.0.0.1', '239.255.255.255', '240.0.0.1', '255.255.255.255']) assert.ok(isMartianSource4(toIpv4(a)), a);
    for (const a of ['1.1.1.1', '10.0.0.1', '223.255.255.255']) assert.ok(!isMartianSource4(toIpv4(a)), a);
    for (const a of ['0.0.0.1', '127.1.1.1', '240.0.0.1']) assert.ok(isMartianDestination4(toIpv4(a)), a);
    assert.ok(!isMartianDestination4(toIpv4('8.8.8.8')));
    assert.deepEqual(forwardingConfig(undefined), { ipv4: false, ipv6: false });
    assert.deepEqual(forwardingConfig(true), { ipv4: true, ipv6: true });
    assert.deepEqual(forwardingConfig({ ipv6: true }), { ipv4: false, ipv6: true });
  });
});
