/**
 * The DNS server and the resolver over the host backend on 127.0.0.1 (real sockets,
 * real time, short timeouts), and `dig` (bind9-dnsutils) as a real client of the
 * server over UDP and TCP.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';
import { startDnsServer, type DnsServer } from '../../../../src/apps/dns-server/index.ts';
import { createHostBackend, type HostBackend } from '../../../../src/backends/host/index.ts';
import { DnsResolver, type DnsResolverOptions } from '../../../../src/backends/dns/resolver.ts';
import { IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_ETIMEDOUT } from '../../../../src/base/iot-constants.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { systemScheduler } from '../../../../src/runtime/system-scheduler.ts';
import { Network } from '../../../../src/socket/network.ts';
import { skipWithoutTool } from '../../../support/system-tool.ts';

/** The RCODE name of a decoded message. */
const rc = (m: DecodedPacket | undefined): string => ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'][(m?.flags ?? 0) & 0xf] ?? 'OTHER';

const run = promisify(execFile);

const ZONE = {
  origin: 'iot.test',
  records: [
    { name: 'broker', type: 'A' as const, data: '10.0.0.1' },
    { name: 'broker', type: 'AAAA' as const, data: 'fd00::1' },
    { name: 'mqtt', type: 'CNAME' as const, data: 'broker.iot.test' },
    { name: 'v4only', type: 'A' as const, data: '10.0.0.4' },
    ...Array.from({ length: 100 }, (_, i) => ({ name: 'big', type: 'A' as const, data: `10.1.${i >> 8}.${i & 255}` })),
  ],
};

/** A UDP socket that never answers (for timeouts); closed by the caller. */
async function silentServer(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

describe('DNS server and resolver over the host backend', () => {
  let backend: HostBackend;
  let network: Network;
  let server: DnsServer;

  const resolverFor = (servers: string[], options: DnsResolverOptions = {}) =>
    new DnsResolver(backend, { scheduler: systemScheduler, rng: new XorShiftRng(7), servers, timeoutMs: 300, attempts: 1, ...options });

  before(async () => {
    backend = createHostBackend();
    network = new Network(backend);
    server = await startDnsServer(network, { port: 0, host: '127.0.0.1', zones: [ZONE] });
  });

  after(async () => {
    await server.close();
    await network.close();
    await backend.close();
  });

  it('A, AAAA, CNAME, NXDOMAIN, NODATA', async () => {
    const r = resolverFor([`127.0.0.1:${server.port}`]);
    assert.deepEqual([...(await r.resolve('broker.iot.test', 1) as Uint8Array)], [10, 0, 0, 1]);
    assert.equal((await r.resolve('MQTT.iot.test', 2) as Uint8Array).length, 16);
    const chain = await r.resolveAll('mqtt.iot.test', 1);
    assert.ok(typeof chain !== 'number' && chain.canonicalName === 'broker.iot.test');
    assert.equal(await r.resolve('nope.iot.test', 1), IOT_SOCKET_EHOSTNOTFOUND);
    assert.equal(await r.resolve('v4only.iot.test', 2), IOT_SOCKET_EHOSTNOTFOUND);
    assert.equal(r.stats.timeouts, 0);
  });

  it('a truncated UDP answer is fetched again over TCP', async () => {
    const r = resolverFor([`127.0.0.1:${server.port}`]);
    const before = server.stats;
    const big = await r.resolveAll('big.iot.test', 1);
    assert.ok(typeof big !== 'number');
    assert.equal(big.addresses.length, 100);
    assert.equal(r.stats.tcpFallbacks, 1);
    assert.equal(server.stats.truncated - before.truncated, 1);
    assert.equal(server.stats.tcpQueries - before.tcpQueries, 1);
  });

  it('a silent server: ETIMEDOUT after the budget; with a second server: failover', async () => {
    const silent = await silentServer();
    try {
      const port = silent.address().port;
      const r1 = resolverFor([`127.0.0.1:${port}`], { timeoutMs: 150, attempts: 2 });
      const t0 = performance.now();
      assert.equal(await r1.resolve('broker.iot.test', 1), IOT_SOCKET_ETIMEDOUT);
      const took = performance.now() - t0;
      assert.ok(took >= 290 && took < 1500, `took ${took} ms`);
      const r2 = resolverFor([`127.0.0.1:${port}`, `127.0.0.1:${server.port}`], { timeoutMs: 150 });
      assert.deepEqual([...(await r2.resolve('broker.iot.test', 1) as Uint8Array)], [10, 0, 0, 1]);
      assert.equal(r2.stats.timeouts, 1);
    } finally {
      silent.close();
    }
  });

  it('spoofed answers (wrong source port, wrong id, wrong question) are not accepted', async () => {
    const fake = await silentServer();
    const spoofer = await silentServer();
    try {
      fake.on('message', (msg, rinfo) => {
        const q = dnsPacket.decode(msg);
        const question = q.questions?.[0];
        if (question === undefined) return;
        const answer = (id: number, data: string, name = question.name) => dnsPacket.encode({
          type: 'response', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ ...question, name }],
          answers: [{ type: 'A', name, ttl: 60, data }],
        });
        spoofer.send(answer(q.id ?? 0, '6.6.6.1'), rinfo.port, rinfo.address); // right id, wrong port
        fake.send(answer(((q.id ?? 0) + 1) & 0xffff, '6.6.6.2'), rinfo.port, rinfo.address); // wrong id
        fake.send(answer(q.id ?? 0, '6.6.6.3', 'evil.iot.test'), rinfo.port, rinfo.address); // wrong question
        setTimeout(() => fake.send(answer(q.id ?? 0, '10.9.9.9'), rinfo.port, rinfo.address), 50);
      });
      const r = resolverFor([`127.0.0.1:${fake.address().port}`]);
      assert.deepEqual([...(await r.resolve('host.test', 1) as Uint8Array)], [10, 9, 9, 9]);
      assert.equal(r.stats.mismatched, 2, 'wrong id and wrong question; the wrong-port datagram never reaches the resolver (the connected socket filters it)');
    } finally {
      fake.close();
      spoofer.close();
    }
  });

  it('TCP: several framed queries on one connection, answered in order; junk does not stop the server', async () => {
    const sock = net.connect(server.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const frame = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
    const q = (id: number, name: string) => frame(dnsPacket.encode({ type: 'query', id, questions: [{ type: 'A', name }] }));
    sock.write(Buffer.concat([q(1, 'broker.iot.test'), frame(Buffer.from([1, 2, 3])), q(2, 'nope.iot.test')]));
    const got: Buffer[] = [];
    let buf = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          got.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (got.length === 2) resolve();
      });
      sock.on('error', reject);
    });
    sock.destroy();
    const [a, b] = got.map((g) => dnsPacket.decode(g));
    assert.equal(a?.id, 1);
    assert.equal(rc(a), 'NOERROR');
    assert.equal(b?.id, 2);
    assert.equal(rc(b), 'NXDOMAIN');
    assert.ok(server.stats.dropped >= 1, 'the 3-byte message was dropped (no header)');
    const r = resolverFor([`127.0.0.1:${server.port}`]);
    assert.deepEqual([...(await r.resolve('broker.iot.test', 1) as Uint8Array)], [10, 0, 0, 1], 'still serving');
  });

  it('dig queries the server over UDP and TCP: answers, NXDOMAIN, truncation', async (t) => {
    if (skipWithoutTool(t, 'dig', 'bind9-dnsutils', 'dig against the iotnet DNS server')) return;
    const dig = async (...args: string[]) => (await run('dig', ['@127.0.0.1', '-p', String(server.port), '+time=2', '+tries=1', ...args])).stdout;
    assert.equal((await dig('+short', 'broker.iot.test', 'A')).trim(), '10.0.0.1');
    assert.equal((await dig('+short', 'broker.iot.test', 'AAAA')).trim(), 'fd00::1');
    assert.deepEqual((await dig('+short', 'mqtt.iot.test')).trim().split('\n'), ['broker.iot.test.', '10.0.0.1']);
    assert.equal((await dig('+short', '+tcp', 'BROKER.IOT.TEST')).trim(), '10.0.0.1');
    const nx = await dig('nope.iot.test');
    assert.match(nx, /status: NXDOMAIN/);
    assert.match(nx, /flags: qr aa rd;/);
    assert.match(nx, /iot\.test\.\s+60\s+IN\s+SOA\s+ns\.iot\.test\. hostmaster\.iot\.test\./);
    assert.match(await dig('+tcp', 'nope.iot.test'), /status: NXDOMAIN[\s\S]*\(TCP\)/);
    assert.match(await dig('v4only.iot.test', 'AAAA'), /status: NOERROR[\s\S]*ANSWER: 0, AUTHORITY: 1/);
    assert.match(await dig('example.com'), /status: REFUSED/);
    const trunc = await dig('+ignore', '+noedns', 'big.iot.test');
    assert.match(trunc, /flags: qr aa tc rd;/);
    const full = await dig('big.iot.test');
    assert.match(full, /ANSWER: 100,/);
    assert.match(full, /\(TCP\)/, 'dig retried over TCP after TC');
  });
});
