/**
 * The userspace backend (UDP over the project's own stack) through the IoT Socket layer:
 * two stacks on a virtual cable, each with its own backend and socket layer, on virtual
 * time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUserspaceBackend, type HostsValue } from '../../../src/backends/userspace/index.ts';
import {
  IOT_SOCKET_AF_INET, IOT_SOCKET_AF_INET6, IOT_SOCKET_EAGAIN, IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_EHOSTNOTFOUND,
  IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTCONN, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR, IOT_SOCKET_IO_FIONBIO,
  IOT_SOCKET_SOCK_DGRAM, IOT_SOCKET_SOCK_STREAM, IOT_SOCKET_SO_KEEPALIVE, IOT_SOCKET_SO_RCVTIMEO,
} from '../../../src/base/iot-constants.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { TcpLayer } from '../../../src/stack/tcp/tcp-layer.ts';
import { IotSocketLayer } from '../../../src/socket/iot-socket-layer.ts';
import type { IotSocketApi } from '../../../src/socket/iot-socket-types.ts';
import { enc, settle, twoHosts } from '../../support/stack-net.ts';

const ANY = new Uint8Array(4);
const IP_A = Uint8Array.of(10, 0, 0, 1);
const IP_B = Uint8Array.of(10, 0, 0, 2);
const FOX = enc.encode('The quick brown fox jumps over the lazy dog.');

function opt(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

function setup(hosts?: Record<string, HostsValue>) {
  const net = twoHosts();
  const ba = createUserspaceBackend(net.A.stack, net.A.runner, hosts !== undefined ? { hosts } : {});
  const bb = createUserspaceBackend(net.B.stack, net.B.runner);
  const la = new IotSocketLayer(ba, { scheduler: net.sched });
  const lb = new IotSocketLayer(bb, { scheduler: net.sched });
  return { ...net, ba, bb, la, lb, a: la.api(), b: lb.api() };
}

async function dgram(api: IotSocketApi): Promise<number> {
  const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_DGRAM, 0);
  assert.ok(s > 0, `socketCreate: ${s}`);
  return s;
}

/** Starts a call, runs the virtual network until it settles, returns its result. */
async function drive<T>(sched: Parameters<typeof settle>[0], call: Promise<T>, ms = 0): Promise<T> {
  let done = false;
  let value: T | undefined;
  void call.then((v) => {
    done = true;
    value = v;
  });
  await settle(sched, ms);
  for (let i = 0; i < 100 && !done; i++) await settle(sched, 10);
  assert.ok(done, 'call did not settle');
  return value as T;
}

describe('userspace backend: UDP through the IoT Socket layer', () => {
  it('SendTo with implicit bind, RecvFrom with source, reply, Recv without Connect', async () => {
    const { sched, a, b, ba, bb, A } = setup();
    const sa = await dgram(a);
    const sb = await dgram(b);
    assert.equal(await b.socketBind(sb, ANY, 4, 7), 0);
    assert.equal(await a.socketSendTo(sa, FOX, FOX.length, IP_B, 4, 7), 44);
    const port = { value: 0 };
    const ip = new Uint8Array(4).fill(255);
    const ipLen = { value: 4 };
    assert.equal(await a.socketGetSockName(sa, ip, ipLen, port), 0);
    assert.ok(port.value >= 49152 && port.value <= 65535, `implicit port ${port.value}`);
    assert.deepEqual([...ip], [0, 0, 0, 0]);
    const buf = new Uint8Array(100);
    const from = new Uint8Array(6).fill(255);
    const fromLen = { value: 6 };
    const fromPort = { value: 0 };
    assert.equal(await drive(sched, b.socketRecvFrom(sb, buf, 100, from, fromLen, fromPort)), 44);
    assert.deepEqual([...from.subarray(0, 4)], [...IP_A]);
    assert.equal(fromLen.value, 4);
    assert.equal(fromPort.value, port.value);
    assert.equal(await b.socketSendTo(sb, buf, 44, from, 4, fromPort.value), 44);
    const back = new Uint8Array(100);
    assert.equal(await drive(sched, a.socketRecv(sa, back, 100)), 44);
    assert.deepEqual(back.subarray(0, 44), FOX);
    assert.equal(await a.socketClose(sa), 0);
    assert.equal(await b.socketClose(sb), 0);
    assert.equal(ba.openSockets + bb.openSockets, 0);
    assert.equal(A.stack.udpOpenCount, 0);
  });

  it('Connect sets the destination and the receive filter; Connect to 0.0.0.0 clears both', async () => {
    const { sched, a, b } = setup();
    const sa = await dgram(a);
    const s7 = await dgram(b);
    const s8 = await dgram(b);
    await b.socketBind(s7, ANY, 4, 7);
    await b.socketBind(s8, ANY, 4, 8);
    assert.equal(await a.socketConnect(sa, IP_B, 4, 7), 0);
    const peer = { value: 0 };
    const peerIp = new Uint8Array(4);
    assert.equal(await a.socketGetPeerName(sa, peerIp, { value: 4 }, peer), 0);
    assert.deepEqual([...peerIp, peer.value], [10, 0, 0, 2, 7]);
    const local = { value: 0 };
    await a.socketGetSockName(sa, null, null, local);
    assert.equal(await a.socketSend(sa, FOX, 10), 10, 'Send uses the default destination');
    assert.equal(await drive(sched, b.socketRecv(s7, new Uint8Array(64), 64)), 10);
    assert.equal(await b.socketSendTo(s8, FOX, 5, IP_A, 4, local.value), 5, 'from port 8: filtered at A');
    assert.equal(await b.socketSendTo(s7, FOX, 7, IP_A, 4, local.value), 7, 'from port 7: the connected peer');
    await settle(sched);
    await a.socketSetOpt(sa, IOT_SOCKET_IO_FIONBIO, opt(1), 4);
    const buf = new Uint8Array(64);
    assert.equal(await a.socketRecv(sa, buf, 64), 7);
    assert.equal(await a.socketRecv(sa, buf, 64), IOT_SOCKET_EAGAIN, 'the datagram from port 8 was dropped');
    assert.equal(await a.socketConnect(sa, ANY, 4, 0), 0, 'Connect to 0.0.0.0 clears');
    assert.equal(await a.socketGetPeerName(sa, null, null, peer), IOT_SOCKET_ENOTCONN);
    assert.equal(await a.socketSend(sa, FOX, 10), IOT_SOCKET_ENOTCONN);
    assert.equal(await b.socketSendTo(s8, FOX, 5, IP_A, 4, local.value), 5);
    await settle(sched);
    assert.equal(await a.socketRecv(sa, buf, 64), 5, 'no filter any more');
  });

  it('one Recv is one datagram, truncated to len; len 0 polls; size limits; ENOTCONN without destination', async () => {
    const { sched, a, b } = setup();
    const sa = await dgram(a);
    const sb = await dgram(b);
    await b.socketBind(sb, ANY, 4, 7);
    await b.socketSetOpt(sb, IOT_SOCKET_IO_FIONBIO, opt(1), 4);
    assert.equal(await b.socketRecv(sb, null, 0), IOT_SOCKET_EAGAIN, 'len 0 poll: nothing queued');
    assert.equal(await a.socketSend(sa, null, 0), 0, 'len 0 send poll: ready');
    assert.equal(await a.socketSend(sa, FOX, 44), IOT_SOCKET_ENOTCONN);
    const big = new Uint8Array(65_507).map((_, i) => i & 0xff);
    assert.equal(await a.socketSendTo(sa, big, 65_508, IP_B, 4, 7), IOT_SOCKET_EINVAL);
    assert.equal(await a.socketSendTo(sa, new Uint8Array(65_508), 65_508, IP_B, 4, 7), IOT_SOCKET_EINVAL, 'above 65507');
    assert.equal(await a.socketSendTo(sa, FOX, 44, IP_B, 4, 7), 44);
    assert.equal(await a.socketSendTo(sa, big, 65_507, IP_B, 4, 7), 65_507, 'the largest datagram, fragmented');
    await settle(sched);
    assert.equal(await b.socketRecv(sb, null, 0), 0, 'len 0 poll: a datagram is queued');
    const small = new Uint8Array(10);
    assert.equal(await b.socketRecv(sb, small, 10), 10, 'truncated');
    assert.deepEqual(small, FOX.subarray(0, 10));
    const whole = new Uint8Array(70_000);
    assert.equal(await b.socketRecv(sb, whole, whole.length), 65_507, 'the rest of the first datagram was discarded');
    assert.deepEqual(whole.subarray(0, 65_507), big);
    assert.equal(await b.socketRecv(sb, whole, whole.length), IOT_SOCKET_EAGAIN);
  });

  it('a connected socket gets ECONNREFUSED from an ICMP port unreachable (blocking Recv wakes)', async () => {
    const { sched, a } = setup();
    const sa = await dgram(a);
    await a.socketSetOpt(sa, IOT_SOCKET_SO_RCVTIMEO, opt(5000), 4);
    assert.equal(await a.socketConnect(sa, IP_B, 4, 9999), 0);
    assert.equal(await a.socketSend(sa, FOX, 44), 44);
    const t0 = sched.now();
    assert.equal(await drive(sched, a.socketRecv(sa, new Uint8Array(64), 64)), IOT_SOCKET_ECONNREFUSED);
    assert.ok(sched.now() - t0 < 5000, 'well before the receive timeout');
  });

  it('a blocking Recv with RCVTIMEO returns EAGAIN on time (virtual clock)', async () => {
    const { sched, a } = setup();
    const sa = await dgram(a);
    await a.socketBind(sa, ANY, 4, 5555);
    await a.socketSetOpt(sa, IOT_SOCKET_SO_RCVTIMEO, opt(1000), 4);
    const t0 = sched.now();
    assert.equal(await drive(sched, a.socketRecv(sa, new Uint8Array(8), 8), 1000), IOT_SOCKET_EAGAIN);
    assert.equal(sched.now() - t0, 1000);
  });

  it('caps: IPv6 and TCP as caps say; lookup: ERROR without resolver, a static hosts map otherwise', async () => {
    const { a, b, ba, B } = setup({ 'Broker.Local': '10.0.0.2', 'dual.local': ['fd00::7', '10.0.0.7'] });
    assert.equal(ba.caps.ipv6, true);
    assert.equal(ba.caps.maxDatagram, 65_507);
    const stream = await a.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
    if (ba.caps.tcp) {
      assert.ok(stream > 0, 'caps.tcp: stream sockets can be created');
      assert.equal(await a.socketClose(stream), 0);
    } else {
      assert.equal(stream, IOT_SOCKET_ENOTSUP, 'no TCP: ENOTSUP, as caps say');
      assert.equal(ba.createSocket(1, 1), IOT_SOCKET_ENOTSUP);
    }
    const d6 = await a.socketCreate(IOT_SOCKET_AF_INET6, IOT_SOCKET_SOCK_DGRAM, 0);
    assert.ok(d6 > 0, 'caps.ipv6: IPv6 datagram sockets can be created');
    assert.equal(await a.socketClose(d6), 0);
    const b6 = ba.createSocket(2, 2);
    assert.ok(typeof b6 !== 'number' && b6.af === 2);
    b6.close(true);
    const ip = new Uint8Array(4);
    assert.equal(await a.socketGetHostByName('broker.local', IOT_SOCKET_AF_INET, ip, { value: 4 }), 0);
    assert.deepEqual([...ip], [10, 0, 0, 2]);
    assert.equal(await a.socketGetHostByName('nowhere.local', IOT_SOCKET_AF_INET, ip, { value: 4 }), IOT_SOCKET_EHOSTNOTFOUND);
    assert.equal(await b.socketGetHostByName('broker.local', IOT_SOCKET_AF_INET, ip, { value: 4 }), IOT_SOCKET_ERROR, 'no resolver configured');
    assert.equal(await a.socketGetHostByName('10.1.2.3', IOT_SOCKET_AF_INET, ip, { value: 4 }), 0, 'literals never reach the backend');
    // One entry of each family per name; a name with only IPv4 has no AAAA.
    assert.equal(await a.socketGetHostByName('dual.local', IOT_SOCKET_AF_INET, ip, { value: 4 }), 0);
    assert.deepEqual([...ip], [10, 0, 0, 7]);
    const ip6 = new Uint8Array(16);
    assert.equal(await a.socketGetHostByName('dual.local', IOT_SOCKET_AF_INET6, ip6, { value: 16 }), 0);
    assert.deepEqual([...ip6], [0xfd, 0, ...new Array<number>(13).fill(0), 7]);
    assert.equal(await a.socketGetHostByName('broker.local', IOT_SOCKET_AF_INET6, ip6, { value: 16 }), IOT_SOCKET_EHOSTNOTFOUND);
    assert.throws(() => createUserspaceBackend(B.stack, B.runner, { hosts: { x: ['10.0.0.1', '10.0.0.2'] } }), /two IPv4 addresses/);
    assert.throws(() => createUserspaceBackend(B.stack, B.runner, { hosts: { x: 'not-an-ip' } }), /invalid IP address/);
  });

  it('bind rules: EADDRINUSE, EINVAL for a non-local address, EINVAL when bound twice', async () => {
    const { a } = setup();
    const s1 = await dgram(a);
    const s2 = await dgram(a);
    assert.equal(await a.socketBind(s1, IP_A, 4, 2000), 0);
    assert.equal(await a.socketBind(s2, ANY, 4, 2000), -15);
    assert.equal(await a.socketBind(s2, Uint8Array.of(10, 0, 0, 9), 4, 2001), IOT_SOCKET_EINVAL);
    assert.equal(await a.socketBind(s1, ANY, 4, 2002), IOT_SOCKET_EINVAL);
  });
});

describe('userspace backend: TCP options', () => {
  it('SO_KEEPALIVE set before Connect holds for the connection: probes flow while idle', async () => {
    const probesWhileIdle = async (keepAlive: boolean): Promise<number> => {
      const net = twoHosts({ tapA: true });
      const tcpA = new TcpLayer(net.A.stack, { rng: new XorShiftRng(11), config: { keepIdleMs: 1000, keepIntervalMs: 500 } });
      const la = new IotSocketLayer(createUserspaceBackend(net.A.stack, net.A.runner, { tcp: tcpA }), { scheduler: net.sched });
      const lb = new IotSocketLayer(createUserspaceBackend(net.B.stack, net.B.runner), { scheduler: net.sched });
      const a = la.api(), b = lb.api();
      const srv = await b.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await b.socketBind(srv, ANY, 4, 7000), 0);
      assert.equal(await b.socketListen(srv, 1), 0);
      const cli = await a.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
      assert.equal(await a.socketSetOpt(cli, IOT_SOCKET_SO_KEEPALIVE, opt(keepAlive ? 1 : 0), 4), 0);
      assert.equal(await drive(net.sched, a.socketConnect(cli, IP_B, 4, 7000)), 0);
      assert.ok(await drive(net.sched, b.socketAccept(srv, undefined, undefined, undefined)) > 0);
      await settle(net.sched, 100);
      (net.tap as NonNullable<typeof net.tap>).clear();
      await settle(net.sched, 5000);
      // IPv4 frames only (the second gratuitous ARP announcement falls in this window too).
      return (net.tap as NonNullable<typeof net.tap>).tx.filter((f) => f[12] === 0x08 && f[13] === 0x00).length;
    };
    assert.equal(await probesWhileIdle(false), 0, 'no keep-alive: silence while idle');
    assert.ok(await probesWhileIdle(true) >= 4, 'keep-alive probes every 500 ms after 1 s idle');
  });
});
