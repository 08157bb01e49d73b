/**
 * DNS on the userspace stack: two stacks on a virtual cable, the DNS server app on B
 * (port 53, over `Network`), and on A the userspace backend's `lookup` through
 * `iotSocketGetHostByName` and the idiomatic `Network.lookup`. Virtual time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDnsServer } from '../../../src/apps/dns-server/index.ts';
import { createUserspaceBackend, type UserspaceBackendOptions } from '../../../src/backends/userspace/index.ts';
import {
  IOT_SOCKET_AF_INET, IOT_SOCKET_AF_INET6, IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_ENOMEM, IOT_SOCKET_ERROR,
  IOT_SOCKET_ETIMEDOUT,
} from '../../../src/base/iot-constants.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import type { VirtualScheduler } from '../../../src/base/time.ts';
import { IotSocketLayer } from '../../../src/socket/iot-socket-layer.ts';
import { Network } from '../../../src/socket/network.ts';
import { twoHosts } from '../../support/stack-net.ts';

const ZONE = {
  origin: 'iot.test',
  records: [
    { name: 'broker', type: 'A' as const, data: '10.0.0.2' },
    { name: 'broker', type: 'AAAA' as const, data: 'fd00::2' },
    { name: 'mqtt', type: 'CNAME' as const, data: 'broker.iot.test' },
    ...Array.from({ length: 80 }, (_, i) => ({ name: 'big', type: 'A' as const, data: `10.1.0.${i}` })),
  ],
};

/** Runs virtual time (timers and promise continuations) until `p` settles. */
async function drive<T>(sched: VirtualScheduler, p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = sched.now();
  let done = false;
  let value: T | undefined;
  void p.then((v) => {
    done = true;
    value = v;
  });
  for (let i = 0; i < 100_000 && !done; i++) {
    await new Promise<void>((r) => setImmediate(r));
    if (done) break;
    const next = sched.nextDeadline();
    if (next !== undefined) sched.advanceTo(next);
  }
  assert.ok(done, 'did not settle');
  return { value: value as T, ms: sched.now() - t0 };
}

async function setup(a: UserspaceBackendOptions = { dns: { servers: ['10.0.0.2'] } }) {
  const net = twoHosts();
  const { sched } = net;
  const ba = createUserspaceBackend(net.A.stack, net.A.runner, { rng: new XorShiftRng(11), ...a });
  const bb = createUserspaceBackend(net.B.stack, net.B.runner, { rng: new XorShiftRng(12) });
  const netB = new Network(bb, { scheduler: sched, rng: new XorShiftRng(13) });
  const server = await drive(sched, startDnsServer(netB, { port: 53, zones: [ZONE] })).then((r) => r.value);
  const layer = new IotSocketLayer(ba, { scheduler: sched });
  const api = layer.api();
  const netA = new Network(ba, { scheduler: sched, rng: new XorShiftRng(14) });
  const gethost = async (name: string, af = IOT_SOCKET_AF_INET) => {
    const ip = new Uint8Array(16);
    const len = { value: 16 };
    const { value, ms } = await drive(sched, api.socketGetHostByName(name, af, ip, len));
    return { rc: value, ip: [...ip.subarray(0, value === 0 ? len.value : 0)], ms };
  };
  return { ...net, ba, bb, netA, netB, server, api, gethost };
}

describe('DNS on the userspace stack', () => {
  it('iotSocketGetHostByName and Network.lookup resolve through the server on the other stack', async () => {
    const { sched, ba, netA, server, gethost } = await setup({ dns: { servers: ['10.0.0.2:53'] }, hosts: { 'static.iot.test': '10.0.0.77' } });
    assert.deepEqual(await gethost('broker.iot.test'), { rc: 0, ip: [10, 0, 0, 2], ms: (await gethost('broker.iot.test')).ms });
    assert.deepEqual((await gethost('mqtt.iot.test')).ip, [10, 0, 0, 2]);
    assert.equal((await gethost('nope.iot.test')).rc, IOT_SOCKET_EHOSTNOTFOUND);
    assert.equal((await gethost('static.iot.test')).ip.join('.'), '10.0.0.77', 'hosts first');
    const aaaa = await gethost('broker.iot.test', IOT_SOCKET_AF_INET6);
    assert.equal(aaaa.rc, 0, 'AAAA through the IoT Socket API (caps.ipv6)');
    assert.equal(aaaa.ip.length, 16);
    const v6 = (await drive(sched, ba.lookup('broker.iot.test', 2))).value;
    assert.ok(v6 instanceof Uint8Array && v6.length === 16, 'the backend itself answers AAAA');
    assert.equal((await drive(sched, netA.lookup('mqtt.iot.test'))).value, '10.0.0.2');
    assert.equal((await drive(sched, netA.lookup('broker.iot.test', { family: 6 }))).value, 'fd00::2');
    const st = ba.resolver.stats;
    assert.ok(st.queries >= 4 && st.cacheHits >= 1 && st.mismatched === 0 && st.timeouts === 0, JSON.stringify(st));
    assert.ok(server.stats.udpQueries >= 4);
    assert.equal(ba.openSockets, 0);
  });

  it('a truncated answer is fetched over the stack\'s TCP', async () => {
    const { sched, ba, server } = await setup();
    const r = (await drive(sched, ba.resolver.resolveAll('big.iot.test', 1))).value;
    assert.ok(typeof r !== 'number');
    assert.equal(r.addresses.length, 80);
    assert.equal(ba.resolver.stats.tcpFallbacks, 1);
    assert.equal(server.stats.tcpQueries, 1);
  });

  it('failures: closed port (ICMP) -> ERROR at once; silent server -> ETIMEDOUT after 2 x 2 s; unknown host -> ERROR', async () => {
    const { sched, ba, netB, gethost } = await setup();
    ba.setDnsServers(['10.0.0.2:5353']);
    const refused = await gethost('broker.iot.test');
    assert.equal(refused.rc, IOT_SOCKET_ERROR);
    assert.ok(refused.ms < 100, `ICMP port unreachable ends each try at once (${refused.ms} ms)`);
    const deaf = await drive(sched, netB.udp({ port: 5300 })).then((r) => r.value); // bound, never read
    ba.setDnsServers(['10.0.0.2:5300']);
    const timeout = await gethost('broker.iot.test');
    assert.equal(timeout.rc, IOT_SOCKET_ETIMEDOUT);
    assert.equal(timeout.ms, 4000);
    await deaf.close();
    ba.setDnsServers(['10.0.0.9']);
    const noArp = await gethost('broker.iot.test');
    assert.equal(noArp.rc, IOT_SOCKET_ERROR, 'ARP finds nobody: an error, not a timeout');
    assert.ok(noArp.ms <= 4000, `ARP gives up after 3 tries 1 s apart, then its negative cache answers (${noArp.ms} ms)`);
    ba.setDnsServers(['10.0.0.9', '10.0.0.2']);
    assert.deepEqual((await gethost('broker.iot.test')).ip, [10, 0, 0, 2], 'the next server answers');
    ba.setDnsServers(['[fd00::53]', '10.0.0.2']);
    const errors = ba.resolver.stats.socketErrors;
    assert.deepEqual((await gethost('mqtt.iot.test')).ip, [10, 0, 0, 2], 'an IPv6 server is skipped on this IPv4-only stack');
    assert.equal(ba.resolver.stats.socketErrors - errors, 1);
  });

  it('servers set at run time (as from DHCP); none: ERROR without hosts', async () => {
    const { ba, gethost } = await setup({});
    assert.deepEqual(ba.dnsServers, []);
    assert.equal((await gethost('broker.iot.test')).rc, IOT_SOCKET_ERROR, 'no resolver configured');
    ba.setDnsServers([Uint8Array.of(10, 0, 0, 2)]);
    assert.deepEqual(ba.dnsServers, ['10.0.0.2:53']);
    assert.deepEqual((await gethost('broker.iot.test')).ip, [10, 0, 0, 2]);
    ba.setDnsServers([]);
    assert.equal((await gethost('broker.iot.test')).rc, IOT_SOCKET_ERROR);
    assert.throws(() => ba.setDnsServers(['dns.example']), RangeError);
  });

  it('resolution never takes an application socket slot (spec §12)', async () => {
    const { ba, gethost } = await setup({ dns: { servers: ['10.0.0.2'] }, maxSockets: 1 });
    const s = ba.createSocket(1, 2);
    assert.ok(typeof s !== 'number');
    assert.equal(ba.createSocket(1, 2), IOT_SOCKET_ENOMEM);
    assert.deepEqual((await gethost('broker.iot.test')).ip, [10, 0, 0, 2]);
    assert.equal(ba.openSockets, 1);
    s.close();
  });

  it('closing the backend ends a lookup under way with ERROR', async () => {
    const { sched, ba, netB } = await setup();
    await drive(sched, netB.udp({ port: 5300 }));
    ba.setDnsServers(['10.0.0.2:5300']);
    const p = ba.lookup('broker.iot.test', 1);
    await drive(sched, new Promise<void>((r) => sched.setTimer(100, r)));
    await ba.close();
    assert.equal((await drive(sched, p)).value, IOT_SOCKET_ERROR);
  });
});
