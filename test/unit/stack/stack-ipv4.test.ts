/**
 * The userspace stack core (Ethernet, ARP, IPv4, ICMP, UDP) between stacks on virtual
 * links, on virtual time, deterministic.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IOT_SOCKET_EAGAIN, IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_EINVAL, IOT_SOCKET_ERROR, IOT_SOCKET_ETIMEDOUT } from '../../../src/base/iot-constants.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createCable } from '../../../src/link/index.ts';
import { StackRunner } from '../../../src/runtime/stack-runner.ts';
import { Stack, toIpv4, type PingResult } from '../../../src/stack/stack.ts';
import { emitIcmpv4, icmpv4DestUnreachable, icmpv4TimeExceeded, Icmpv4Unreachable } from '../../../src/wire/icmpv4.ts';
import { addHost, dec, drain, enc, ipFrame, ipv4Of, openUdp, run, Tap, threeHosts, twoHosts, udpDatagram } from '../../support/stack-net.ts';

const BCAST = 0xffffffff;

function icmpMessage(repr: Parameters<typeof emitIcmpv4>[0]): Uint8Array {
  const out = new Uint8Array(8 + repr.data.length);
  emitIcmpv4(repr, out);
  return out;
}

function arpOp(frame: Uint8Array): number | undefined {
  return frame[12] === 0x08 && frame[13] === 0x06 ? ((frame[20] as number) << 8) | (frame[21] as number) : undefined;
}

describe('Stack: ARP', () => {
  it('resolves on demand: one broadcast request, a unicast reply, the cache filled both ways, pending datagrams flushed in order', () => {
    const { sched, A, B, tap } = twoHosts({ tapA: true });
    run(sched); // first polls: gratuitous ARP announcements
    assert.equal(A.stack.stats.arp.announcementsOut, 1);
    assert.equal(A.stack.arp.lookup(B.ip, sched.now()), undefined, 'an announcement does not create entries (RFC 826 merge)');
    tap?.clear();
    const pa = openUdp(A.stack);
    const pb = openUdp(B.stack, 7);
    for (const m of ['m1', 'm2', 'm3']) assert.equal(A.stack.udpSendTo(sched.now(), pa, enc.encode(m), 2, B.ip, 7), 2);
    assert.equal(tap?.tx.length, 1, 'only the ARP request is on the wire');
    const req = tap?.tx[0] as Uint8Array;
    assert.equal(arpOp(req), 1);
    assert.deepEqual([...req.subarray(0, 6)], [255, 255, 255, 255, 255, 255], 'request is broadcast');
    assert.deepEqual([...req.subarray(14 + 24, 14 + 28)], [10, 0, 0, 2], 'target protocol address');
    assert.equal(req.length, 60, 'padded to the Ethernet minimum');
    run(sched);
    const reply = tap?.rx.find((f) => arpOp(f) === 2);
    assert.ok(reply, 'an ARP reply came back');
    assert.deepEqual([...reply.subarray(0, 6)], [...A.mac], 'reply is unicast to the requester');
    assert.deepEqual(drain(B.stack, pb).map((d) => dec.decode(d.data)), ['m1', 'm2', 'm3'], 'pending datagrams released in order');
    assert.deepEqual([...(A.stack.arp.lookup(B.ip, sched.now()) ?? [])], [...B.mac]);
    assert.deepEqual([...(B.stack.arp.lookup(A.ip, sched.now()) ?? [])], [...A.mac], 'the target learned the requester (RFC 826)');
    assert.equal(A.stack.stats.arp.requestsOut, 1);
    assert.equal(B.stack.stats.arp.repliesOut, 1);
    // Resolved: the next datagram goes straight out, no ARP.
    tap?.clear();
    A.stack.udpSendTo(sched.now(), pa, enc.encode('m4'), 2, B.ip, 7);
    assert.equal(tap?.tx.length, 1);
    assert.equal(ipv4Of(tap?.tx[0] as Uint8Array)?.protocol, 17);
  });

  it('bounded pending queue: the oldest waiting datagrams are dropped and counted', () => {
    const { sched, A, B } = twoHosts();
    run(sched);
    const pa = openUdp(A.stack);
    const pb = openUdp(B.stack, 7);
    for (let i = 1; i <= 6; i++) A.stack.udpSendTo(sched.now(), pa, enc.encode(`m${i}`), 2, B.ip, 7);
    run(sched);
    assert.equal(A.stack.stats.drops.arpQueue, 2);
    assert.deepEqual(drain(B.stack, pb).map((d) => dec.decode(d.data)), ['m3', 'm4', 'm5', 'm6']);
  });

  it('ARP failure: 3 requests 1 s apart, then host unreachable (ERROR) on the connected UDP socket; negative cache; retry after the hold', () => {
    const { sched, A } = twoHosts();
    run(sched);
    const pa = openUdp(A.stack);
    const ghost = toIpv4('10.0.0.77');
    assert.equal(A.stack.udpConnect(pa, ghost, 5000), 0);
    let changes = 0;
    pa.onChange = () => changes++;
    assert.equal(A.stack.udpSendTo(sched.now(), pa, enc.encode('x')), 1, 'queued for ARP: accepted');
    run(sched, 2999);
    assert.equal(A.stack.stats.arp.requestsOut, 3, 'at most one request per second (RFC 1122)');
    assert.equal(A.stack.udpRecvFrom(pa, new Uint8Array(10)), IOT_SOCKET_EAGAIN);
    run(sched, 1);
    assert.equal(A.stack.stats.arp.failed, 1);
    assert.equal(A.stack.stats.drops.arpFailed, 1);
    assert.ok(changes >= 1, 'the socket was notified');
    assert.equal(A.stack.udpRecvFrom(pa, new Uint8Array(10)), IOT_SOCKET_ERROR, 'host unreachable -> ERROR');
    assert.equal(A.stack.udpRecvFrom(pa, new Uint8Array(10)), IOT_SOCKET_EAGAIN, 'reported once');
    assert.equal(A.stack.udpSendTo(sched.now(), pa, enc.encode('y')), IOT_SOCKET_ERROR, 'negative cache: fails at once');
    run(sched, 3000);
    assert.equal(A.stack.udpSendTo(sched.now(), pa, enc.encode('z')), 1, 'a new attempt after the hold');
  });

  it('answers ARP requests only for its own address and counts address conflicts', () => {
    const { sched, A, B, ends } = twoHosts();
    run(sched);
    const arp = (op: number, sender: number, target: number): Uint8Array => {
      const f = new Uint8Array(60);
      f.fill(0xff, 0, 6);
      f.set([2, 0, 0, 0, 0, 0x55], 6);
      f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, op, 2, 0, 0, 0, 0, 0x55], 12);
      f.set([sender >>> 24, (sender >>> 16) & 255, (sender >>> 8) & 255, sender & 255], 28);
      f.set([target >>> 24, (target >>> 16) & 255, (target >>> 8) & 255, target & 255], 38);
      return f;
    };
    const before = B.stack.stats.arp.repliesOut;
    ends[0].transmit(0, arp(1, toIpv4('10.0.0.9'), toIpv4('10.0.0.200')));
    run(sched);
    assert.equal(B.stack.stats.arp.repliesOut, before, 'not our address: no reply');
    assert.equal(B.stack.arp.lookup(toIpv4('10.0.0.9'), sched.now()), undefined, 'and no entry created');
    ends[0].transmit(0, arp(1, B.ip, toIpv4('10.0.0.200')));
    run(sched);
    assert.equal(B.stack.stats.arp.conflicts, 1, 'someone else claims our address');
    void A;
  });
});

describe('Stack: ICMP echo', () => {
  it('ping both ways', () => {
    const { sched, A, B } = twoHosts();
    run(sched);
    const results: PingResult[] = [];
    assert.equal(A.stack.ping(sched.now(), B.ip, {}, (r) => results.push(r)), 0);
    assert.equal(B.stack.ping(sched.now(), '10.0.0.1', { size: 100 }, (r) => results.push(r)), 0);
    run(sched);
    assert.equal(results.length, 2);
    for (const r of results) {
      assert.equal(r.code, 0);
      assert.equal(r.dataMatches, true);
      assert.equal(r.ttl, 64);
    }
    assert.deepEqual(results.map((r) => r.bytes).sort((x, y) => x - y), [56, 100]);
    assert.equal(A.stack.stats.icmp.echoRepliesOut, 1);
    assert.equal(B.stack.stats.icmp.echoRepliesOut, 1);
  });

  it('8000-byte ping: fragmented (6 fragments of <= 1500 bytes) and reassembled, both ways', () => {
    const { sched, A, B, tap } = twoHosts({ tapA: true });
    run(sched);
    const results: PingResult[] = [];
    A.stack.ping(sched.now(), B.ip, { size: 8000 }, (r) => results.push(r));
    B.stack.ping(sched.now(), A.ip, { size: 8000 }, (r) => results.push(r));
    run(sched);
    assert.equal(results.length, 2);
    for (const r of results) assert.deepEqual([r.code, r.bytes, r.dataMatches], [0, 8000, true]);
    const ours = (tap?.tx ?? []).map(ipv4Of).filter((h) => h !== undefined && h.protocol === 1);
    assert.equal(ours.length, 12, 'request and reply, 6 fragments each');
    for (const f of tap?.tx ?? []) assert.ok(f.length <= 1514, `frame of ${f.length} bytes`);
    const firstId = ours.find((h) => h?.dst === B.ip)?.id;
    const request = ours.filter((h) => h?.dst === B.ip && h.id === firstId);
    assert.deepEqual(request.map((h) => h?.offset), [0, 1480, 2960, 4440, 5920, 7400], 'offsets in bytes, multiples of 8');
    assert.deepEqual(request.map((h) => h?.mf), [true, true, true, true, true, false]);
    assert.equal(new Set(request.map((h) => h?.id)).size, 1, 'one Identification per datagram');
    assert.equal(A.stack.stats.ip.reassembled, 2, "B's request and B's reply");
    assert.equal(B.stack.stats.ip.reassembled, 2);
    assert.equal(B.stack.reassembler.bytesHeld, 0);
  });

  it('ping timeout, ping to our own address (loopback), echo requests to broadcast ignored', () => {
    const { sched, A, B } = twoHosts();
    run(sched);
    const results: PingResult[] = [];
    A.stack.ping(sched.now(), A.ip, {}, (r) => results.push(r));
    run(sched);
    assert.equal(results[0]?.code, 0, 'own address answers through the loopback queue');
    assert.equal(A.stack.stats.ip.looped, 2);
    B.stack.setInterfaceUp(B.ifIndex, false);
    A.stack.ping(sched.now(), B.ip, { timeoutMs: 500 }, (r) => results.push(r));
    run(sched, 499);
    assert.equal(results.length, 1);
    run(sched, 1);
    assert.equal(results[1]?.code, IOT_SOCKET_ETIMEDOUT);
    assert.ok(B.stack.stats.drops.interfaceDown > 0, 'a down interface drops what it receives');
    B.stack.setInterfaceUp(B.ifIndex, true);
    A.stack.ping(sched.now(), BCAST, {}, (r) => results.push(r));
    run(sched, 1000);
    assert.equal(results[2]?.code, IOT_SOCKET_ETIMEDOUT, 'broadcast echo requests are not answered');
    // B got two requests: the broadcast one, and the timed-out unicast one, released by ARP once B was up.
    assert.equal(B.stack.stats.icmp.echoRequestsIn, 2);
    assert.equal(B.stack.stats.icmp.echoRepliesOut, 1, 'only the unicast one was answered');
  });
});

describe('Stack: routes, TTL and errors', () => {
  it('no route, TTL 0, send on a down interface: errors at once', () => {
    const { sched, A } = twoHosts();
    run(sched);
    assert.equal(A.stack.ping(sched.now(), '192.168.1.1'), IOT_SOCKET_ERROR);
    assert.equal(A.stack.stats.drops.noRoute, 1);
    assert.equal(A.stack.ping(sched.now(), '10.0.0.2', { ttl: 0 }), IOT_SOCKET_EINVAL, 'RFC 1122 3.2.1.7: never send TTL 0');
    assert.equal(A.stack.sendIp(sched.now(), { dst: toIpv4('10.0.0.2'), protocol: 253, payload: new Uint8Array(4), ttl: 256 }), IOT_SOCKET_EINVAL);
    assert.equal(A.stack.sendIp(sched.now(), { dst: toIpv4('10.0.0.2'), protocol: 253, payload: new Uint8Array(65516) }), IOT_SOCKET_EINVAL, 'more than 65535 bytes');
    assert.equal(A.stack.sendIp(sched.now(), { dst: toIpv4('10.0.0.2'), protocol: 253, payload: new Uint8Array(3000), dontFragment: true }), IOT_SOCKET_EINVAL, 'DF and too big');
    A.stack.setInterfaceUp(A.ifIndex, false);
    const pa = openUdp(A.stack);
    assert.equal(A.stack.udpSendTo(sched.now(), pa, enc.encode('x'), 1, toIpv4('10.0.0.2'), 7), IOT_SOCKET_ERROR);
    assert.equal(A.stack.anyInterfaceUp, false);
  });

  it('TTL is set on the wire; a host answers whatever TTL arrives', () => {
    const { sched, A, B, tap } = twoHosts({ tapA: true });
    run(sched);
    const results: PingResult[] = [];
    A.stack.ping(sched.now(), B.ip, { ttl: 1 }, (r) => results.push(r));
    run(sched);
    const req = (tap?.tx ?? []).map(ipv4Of).find((h) => h?.protocol === 1);
    assert.equal(req?.ttl, 1);
    assert.equal(results[0]?.code, 0);
  });

  it('longest-prefix match and source address selection across two interfaces; gateway next hop', () => {
    const sched = new VirtualScheduler();
    const [a0, b0] = createCable();
    const [a1, c1] = createCable();
    const tap0 = new Tap(a0);
    const A = new Stack({ rng: new XorShiftRng(7), name: 'A' });
    A.addInterface(tap0, { ipv4: { address: '10.0.0.1', prefixLen: 24 } });
    A.addInterface(a1, { ipv4: { address: '10.1.0.1', prefixLen: 24 } });
    const ra = new StackRunner(A, { scheduler: sched });
    const B = addHost(sched, b0, '10.0.0.2', 8);
    const C = addHost(sched, c1, '10.1.0.2', 9);
    run(sched);
    const pb = openUdp(B.stack, 9);
    const pc = openUdp(C.stack, 9);
    const pa = openUdp(A);
    A.udpSendTo(sched.now(), pa, enc.encode('b'), 1, B.ip, 9);
    A.udpSendTo(sched.now(), pa, enc.encode('c'), 1, C.ip, 9);
    run(sched);
    assert.equal(drain(B.stack, pb)[0]?.from, toIpv4('10.0.0.1'), 'source = the outgoing interface address');
    assert.equal(drain(C.stack, pc)[0]?.from, toIpv4('10.1.0.1'));
    // A more specific route through B (as a gateway): 10.1.0.128/25 leaves on interface 0.
    A.addRoute({ network: '10.1.0.128', prefixLen: 25, gateway: '10.0.0.2', ifIndex: 0 });
    tap0.clear();
    const notForUs = B.stack.stats.drops.notForUs;
    A.udpSendTo(sched.now(), pa, enc.encode('g'), 1, toIpv4('10.1.0.200'), 9);
    run(sched);
    const f = tap0.tx.find((x) => ipv4Of(x)?.dst === toIpv4('10.1.0.200'));
    assert.ok(f, 'sent on interface 0');
    assert.deepEqual([...f.subarray(0, 6)], [...B.mac], 'to the gateway MAC');
    assert.equal(B.stack.stats.drops.notForUs, notForUs + 1, 'B is a host, not a router: dropped');
    assert.equal(A.sourceAddressFor(toIpv4('10.1.0.200')), toIpv4('10.0.0.1'));
    assert.equal(A.pathMtu(toIpv4('10.1.0.5')), 1500);
    ra.close();
  });

  it('ICMP errors from the network: soft ones (time exceeded) ignored, hard ones (host prohibited) -> ERROR on the connected socket; errors quoting others are martians', () => {
    const { sched, A, B, tap } = twoHosts({ tapA: true });
    run(sched);
    const pa = openUdp(A.stack);
    A.stack.udpConnect(pa, B.ip, 4000);
    openUdp(B.stack, 4000);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('hello'));
    run(sched);
    const sent = (tap?.tx ?? []).find((f) => ipv4Of(f)?.protocol === 17) as Uint8Array;
    const offending = sent.subarray(14);
    B.stack.sendIp(sched.now(), { dst: A.ip, protocol: 1, payload: icmpMessage(icmpv4TimeExceeded(0, offending)) });
    run(sched);
    assert.equal(A.stack.stats.icmp.errorsIn, 1);
    assert.equal(A.stack.udpRecvFrom(pa, new Uint8Array(10)), IOT_SOCKET_EAGAIN, 'time exceeded is a soft error');
    B.stack.sendIp(sched.now(), { dst: A.ip, protocol: 1, payload: icmpMessage(icmpv4DestUnreachable(Icmpv4Unreachable.HOST_PROHIBITED, offending)) });
    run(sched);
    assert.equal(A.stack.udpRecvFrom(pa, new Uint8Array(10)), IOT_SOCKET_ERROR, 'administratively prohibited is hard');
    const forged = offending.slice();
    forged.set([10, 0, 0, 99], 12); // quotes a datagram from someone else
    const martians = A.stack.stats.drops.martian;
    B.stack.sendIp(sched.now(), { dst: A.ip, protocol: 1, payload: icmpMessage(icmpv4DestUnreachable(Icmpv4Unreachable.PORT, forged)) });
    run(sched);
    assert.equal(A.stack.stats.drops.martian, martians + 1);
    assert.equal(A.stack.udpRecvFrom(pa, new Uint8Array(10)), IOT_SOCKET_EAGAIN);
  });
});

describe('Stack: UDP', () => {
  it('echo between two stacks, 0 to 65507 bytes (fragmented above 1472); 65508 is EINVAL', () => {
    const { sched, A, B } = twoHosts();
    run(sched);
    const server = openUdp(B.stack, 7);
    const buf = new Uint8Array(70_000);
    server.onChange = () => {
      const from = { address: 0, port: 0 };
      for (let n = B.stack.udpRecvFrom(server, buf, buf.length, from); n >= 0; n = B.stack.udpRecvFrom(server, buf, buf.length, from)) {
        B.stack.udpSendTo(sched.now(), server, buf, n, from.address, from.port);
      }
    };
    const client = openUdp(A.stack);
    const sizes = [0, 1, 100, 1472, 1473, 4000, 30_000, 65_507];
    const sent = sizes.map((n, i) => Uint8Array.from({ length: n }, (_, j) => (i * 31 + j * 7) & 0xff));
    for (const d of sent) {
      assert.equal(A.stack.udpSendTo(sched.now(), client, d, d.length, B.ip, 7), d.length);
      run(sched);
    }
    const got = drain(A.stack, client);
    assert.deepEqual(got.map((g) => g.data.length), sizes);
    got.forEach((g, i) => assert.deepEqual(g.data, sent[i]));
    assert.ok(got.every((g) => g.from === B.ip && g.port === 7));
    assert.equal(A.stack.udpSendTo(sched.now(), client, new Uint8Array(65_508), 65_508, B.ip, 7), IOT_SOCKET_EINVAL);
    assert.equal(A.stack.stats.drops.internalError + B.stack.stats.drops.internalError, 0);
  });

  it('implicit bind to 49152-65535, bind conflicts, connect filter, truncation, bounded queue', () => {
    const { sched, A, B } = twoHosts({ b: { stack: { udpQueueDatagrams: 8 } } });
    run(sched);
    const pa = openUdp(A.stack);
    assert.equal(pa.localPort, 0);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('x'), 1, B.ip, 9);
    assert.ok(pa.localPort >= 49152 && pa.localPort <= 65535, `implicit port ${pa.localPort}`);
    const p1 = openUdp(B.stack, 5000);
    const p2 = openUdp(B.stack);
    assert.equal(B.stack.udpBind(p2, 0, 5000), -15, 'EADDRINUSE');
    assert.equal(B.stack.udpBind(p2, B.ip, 5000), -15, 'specific vs wildcard conflicts too');
    assert.equal(B.stack.udpBind(p2, toIpv4('10.9.9.9'), 5001), IOT_SOCKET_EINVAL, 'not a local address');
    assert.equal(B.stack.udpBind(p1, 0, 5002), IOT_SOCKET_EINVAL, 'already bound');
    // Connect filter: only the connected peer gets through.
    const other = openUdp(A.stack, 6000);
    assert.equal(B.stack.udpConnect(p1, A.ip, 6001), 0);
    A.stack.udpSendTo(sched.now(), other, enc.encode('filtered'), 8, B.ip, 5000);
    run(sched);
    assert.equal(p1.queued, 0);
    assert.equal(p1.stats.filtered, 1);
    assert.equal(B.stack.stats.icmp.errorsOut, 1, 'only the port 9 datagram drew a port unreachable');
    B.stack.udpConnect(p1, 0, 0); // clears the filter
    A.stack.udpSendTo(sched.now(), other, enc.encode('0123456789'), 10, B.ip, 5000);
    run(sched);
    const small = new Uint8Array(4);
    assert.equal(B.stack.udpRecvFrom(p1, small, 0), 0, 'len 0: readiness poll, nothing consumed');
    assert.equal(B.stack.udpRecvFrom(p1, small, 4), 4, 'truncated to the buffer');
    assert.equal(dec.decode(small), '0123');
    assert.equal(B.stack.udpRecvFrom(p1, small, 4), IOT_SOCKET_EAGAIN, 'the rest of the datagram is discarded');
    for (let i = 0; i < 12; i++) A.stack.udpSendTo(sched.now(), other, enc.encode(`d${i}`), 2, B.ip, 5000);
    run(sched);
    assert.equal(p1.queued, 8);
    assert.equal(p1.stats.dropped, 4);
    assert.equal(B.stack.stats.drops.queueFull, 4);
  });

  it('port unreachable is generated and becomes ECONNREFUSED on a connected socket (once, by recv or send); not on unconnected ones', () => {
    const { sched, A, B } = twoHosts();
    run(sched);
    const pa = openUdp(A.stack);
    assert.equal(A.stack.udpConnect(pa, B.ip, 9999), 0);
    let changes = 0;
    pa.onChange = () => changes++;
    assert.equal(A.stack.udpSendTo(sched.now(), pa, enc.encode('knock'), 5), 5);
    run(sched);
    assert.equal(B.stack.stats.drops.noPcb, 1);
    assert.equal(B.stack.stats.icmp.errorsOut, 1);
    assert.equal(A.stack.stats.icmp.errorsIn, 1);
    assert.ok(changes >= 1);
    assert.equal(A.stack.udpRecvFrom(pa, new Uint8Array(8)), IOT_SOCKET_ECONNREFUSED);
    assert.equal(A.stack.udpRecvFrom(pa, new Uint8Array(8)), IOT_SOCKET_EAGAIN);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('knock'), 5);
    run(sched);
    assert.equal(A.stack.udpSendTo(sched.now(), pa, enc.encode('knock'), 5), IOT_SOCKET_ECONNREFUSED, 'send reports it too');
    const loose = openUdp(A.stack);
    A.stack.udpSendTo(sched.now(), loose, enc.encode('knock'), 5, B.ip, 9998);
    run(sched);
    assert.equal(A.stack.udpRecvFrom(loose, new Uint8Array(8)), IOT_SOCKET_EAGAIN, 'unconnected sockets do not get ICMP errors');
  });

  it('ICMP errors are rate-limited (token bucket: 10 at once, then 10 per second)', () => {
    const { sched, A, B } = twoHosts();
    run(sched);
    const pa = openUdp(A.stack);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('warm'), 4, B.ip, 9999);
    run(sched);
    run(sched, 1000); // refill after the first error
    for (let i = 0; i < 50; i++) A.stack.udpSendTo(sched.now(), pa, enc.encode('x'), 1, B.ip, 9999);
    run(sched);
    assert.equal(B.stack.stats.icmp.errorsOut, 1 + 10);
    assert.equal(B.stack.stats.icmp.rateLimited, 40);
    run(sched, 500);
    for (let i = 0; i < 50; i++) A.stack.udpSendTo(sched.now(), pa, enc.encode('x'), 1, B.ip, 9999);
    run(sched);
    assert.equal(B.stack.stats.icmp.errorsOut, 1 + 10 + 5, 'half a second refills 5 tokens');
    assert.equal(B.stack.stats.drops.noPcb, 101);
  });

  it('broadcast send and receive through a switch (three stacks); no ICMP errors about broadcasts', () => {
    const { sched, hosts } = threeHosts();
    const [A, B, C] = hosts;
    run(sched);
    const pb = openUdp(B.stack, 5000);
    const pc = openUdp(C.stack, 5000);
    const pcUnicast = openUdp(C.stack, 5001, C.ip);
    const pa = openUdp(A.stack);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('limited'), 7, BCAST, 5000);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('directed'), 8, toIpv4('10.0.0.255'), 5000);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('unicast-bound'), 13, BCAST, 5001);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('nobody'), 6, BCAST, 6000);
    run(sched);
    for (const [stack, pcb] of [[B.stack, pb], [C.stack, pc]] as const) {
      const got = drain(stack, pcb);
      assert.deepEqual(got.map((g) => dec.decode(g.data)), ['limited', 'directed']);
      assert.ok(got.every((g) => g.from === A.ip && g.port === pa.localPort));
    }
    assert.equal(pcUnicast.queued, 0, 'a PCB bound to a unicast address does not see broadcasts');
    assert.equal(B.stack.stats.icmp.errorsOut + C.stack.stats.icmp.errorsOut, 0);
    // Unicast among the three still works, and pings cross the switch.
    const results: PingResult[] = [];
    A.stack.ping(sched.now(), B.ip, {}, (r) => results.push(r));
    A.stack.ping(sched.now(), C.ip, {}, (r) => results.push(r));
    B.stack.ping(sched.now(), C.ip, { size: 3000 }, (r) => results.push(r));
    run(sched);
    assert.deepEqual(results.map((r) => r.code), [0, 0, 0]);
  });

  it('datagrams to our own address go through the loopback queue', () => {
    const { sched, A } = twoHosts();
    run(sched);
    const p = openUdp(A.stack, 7000);
    const q = openUdp(A.stack);
    A.stack.udpSendTo(sched.now(), q, enc.encode('self'), 4, A.ip, 7000);
    run(sched);
    const got = drain(A.stack, p);
    assert.equal(dec.decode(got[0]?.data), 'self');
    assert.equal(got[0]?.from, A.ip);
  });

  it('checksum offload: no transport checksum on the wire, still delivered', () => {
    const { sched, A, B, tap } = twoHosts({ tapA: true, a: { iface: { checksumOffload: true } }, b: { iface: { checksumOffload: true } } });
    run(sched);
    const pb = openUdp(B.stack, 7);
    const pa = openUdp(A.stack);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('offload'), 7, B.ip, 7);
    run(sched);
    const f = (tap?.tx ?? []).find((x) => ipv4Of(x)?.protocol === 17) as Uint8Array;
    assert.equal((f[14 + 20 + 6] as number) | (f[14 + 20 + 7] as number), 0);
    assert.equal(dec.decode(drain(B.stack, pb)[0]?.data), 'offload');
  });

  it('IP Identification: consecutive per destination, unrelated across destinations (RFC 6864/7739)', () => {
    const { sched, hosts } = threeHosts();
    const [A, B, C] = hosts;
    run(sched);
    A.stack.ping(sched.now(), B.ip);
    A.stack.ping(sched.now(), C.ip);
    run(sched); // both resolved: sendIp now builds in the interface's frame buffer and sends at once
    const idsTo = (dst: number): number[] => {
      const out: number[] = [];
      for (let i = 0; i < 3; i++) {
        assert.equal(A.stack.sendIp(sched.now(), { dst, protocol: 253, payload: Uint8Array.of(i) }), 0);
        const tx = A.stack.interface(0)?.tx as Uint8Array; // holds the last frame sent
        out.push(((tx[18] as number) << 8) | (tx[19] as number));
      }
      return out;
    };
    const b = idsTo(B.ip);
    const c = idsTo(C.ip);
    const b0 = b[0] as number;
    const c0 = c[0] as number;
    assert.deepEqual(b, [b0, (b0 + 1) & 0xffff, (b0 + 2) & 0xffff], 'consecutive per destination');
    assert.deepEqual(c, [c0, (c0 + 1) & 0xffff, (c0 + 2) & 0xffff]);
    assert.notEqual(c0, (b0 + 3) & 0xffff, 'not one global counter');
    run(sched);
    assert.equal(B.stack.stats.drops.unknownProtocol, 3);
  });
});

describe('Stack: robustness and memory', () => {
  it('bad frames are counted by reason, never thrown; UDP still works afterwards', () => {
    const { sched, A, B, ends } = twoHosts();
    run(sched);
    const pb = openUdp(B.stack, 7);
    const pa = openUdp(A.stack, 8);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('hi'), 2, B.ip, 7);
    run(sched);
    drain(B.stack, pb);
    const d = B.stack.stats.drops;
    const inject = (f: Uint8Array): void => {
      ends[0].transmit(sched.now(), f);
    };
    const base = { dstMac: B.mac, src: A.ip, dst: B.ip };
    inject(new Uint8Array(10));
    inject(Uint8Array.from([2, 9, 9, 9, 9, 9, ...A.mac, 0x08, 0x00, ...new Uint8Array(40)]));
    const v6 = ipFrame({ ...base, protocol: 17, payload: new Uint8Array(8) });
    v6[12] = 0x86;
    v6[13] = 0xdd;
    inject(v6);
    const arpBad = new Uint8Array(60);
    arpBad.set(B.mac, 0);
    arpBad.set([0x08, 0x06, 0, 6, 0x08, 0, 6, 4, 0, 1], 12);
    inject(arpBad);
    inject(ipFrame({ ...base, protocol: 17, payload: udpDatagram(A.ip, B.ip, 8, 7, enc.encode('x')), badIpChecksum: true }));
    const ver = ipFrame({ ...base, protocol: 17, payload: new Uint8Array(8) });
    ver[14] = 0x65;
    inject(ver);
    const long = ipFrame({ ...base, protocol: 17, payload: new Uint8Array(8) });
    long[16] = 0x10; // total length 4096+ > frame
    inject(long);
    inject(ipFrame({ ...base, protocol: 17, payload: udpDatagram(A.ip, B.ip, 8, 7, enc.encode('x'), true) }));
    const udpLong = udpDatagram(A.ip, B.ip, 8, 7, enc.encode('x'));
    udpLong[5] = 200;
    inject(ipFrame({ ...base, protocol: 17, payload: udpLong }));
    inject(ipFrame({ ...base, protocol: 1, payload: Uint8Array.from([8, 0, 0, 0, 0, 1, 0, 1]) })); // bad ICMP checksum
    inject(ipFrame({ ...base, protocol: 6, payload: new Uint8Array(20) }));
    inject(ipFrame({ ...base, protocol: 99, payload: new Uint8Array(20) }));
    inject(ipFrame({ ...base, src: BCAST, protocol: 17, payload: new Uint8Array(8) }));
    inject(ipFrame({ ...base, dstMac: new Uint8Array(6).fill(0xff), protocol: 17, payload: new Uint8Array(8) }));
    run(sched);
    assert.equal(d.truncated, 1, 'runt');
    assert.equal(d.notForUs, 2, 'other MAC; unicast IP in a link broadcast');
    assert.equal(d.unknownEtherType, 1);
    assert.equal(d.unsupported, 1, 'ARP for another hardware type');
    assert.equal(d.badChecksum, 3, 'IP header, UDP, ICMP');
    assert.equal(d.malformed, 1, 'IP version 6 in an IPv4 frame');
    assert.equal(d.badLength, 2, 'IP and UDP length beyond the data');
    assert.equal(d.noHandler, 1, 'TCP without a TCP implementation');
    assert.equal(d.unknownProtocol, 1);
    assert.equal(B.stack.stats.icmp.errorsOut, 1, 'protocol unreachable for protocol 99');
    assert.equal(d.martian, 1, 'broadcast source');
    assert.equal(d.internalError, 0);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('still'), 5, B.ip, 7);
    run(sched);
    assert.equal(dec.decode(drain(B.stack, pb)[0]?.data), 'still');
  });

  it('memory stays bounded under a reassembly flood; everything times out; UDP still works', () => {
    const { sched, A, B, ends } = twoHosts();
    run(sched);
    const src = toIpv4('10.0.0.50');
    const chunk = new Uint8Array(1480);
    for (let id = 1; id <= 3000; id++) {
      ends[0].transmit(sched.now(), ipFrame({ dstMac: B.mac, src, dst: B.ip, protocol: 17, id, moreFrags: true, fragOffset: 0, payload: chunk }));
      if (id % 500 === 0) run(sched);
    }
    run(sched);
    const r = B.stack.reassembler;
    assert.ok(r.inProgress <= 64, `${r.inProgress} datagrams held`);
    assert.ok(r.bytesHeld <= 1024 * 1024, `${r.bytesHeld} bytes held`);
    assert.equal(B.stack.stats.ip.fragmentsIn, 3000);
    assert.equal(B.stack.stats.drops.reassembly, 3000 - r.inProgress, 'every evicted datagram counted');
    run(sched, 30_000);
    assert.equal(r.inProgress, 0);
    assert.equal(r.bytesHeld, 0);
    assert.ok(B.stack.stats.icmp.errorsOut <= 10, 'time exceeded errors are rate-limited');
    assert.ok(B.stack.stats.icmp.rateLimited > 0);
    const pb = openUdp(B.stack, 7);
    const pa = openUdp(A.stack);
    A.stack.udpSendTo(sched.now(), pa, new Uint8Array(5000), 5000, B.ip, 7);
    run(sched);
    assert.equal(drain(B.stack, pb)[0]?.data.length, 5000);
  });

  it('the runner keeps one timer at pollAt and polls on wake-ups only', () => {
    const { sched, A, B } = twoHosts();
    run(sched);
    run(sched, 5000); // announcements done
    const polls = A.runner.polls;
    run(sched, 10_000);
    assert.ok(A.runner.polls - polls <= 2, `idle stack polled ${A.runner.polls - polls} times in 10 s`);
    assert.equal(A.stack.pollAt(), A.stack.arp.pollAt(), 'next deadline: ARP entry aging');
    const pa = openUdp(A.stack);
    A.stack.udpSendTo(sched.now(), pa, enc.encode('x'), 1, toIpv4('10.0.0.66'), 9);
    assert.equal(A.stack.pollAt(), sched.now() + 1000, 'ARP retransmission deadline');
    void B;
  });
});
