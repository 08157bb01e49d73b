/**
 * The resolver (host backend) against a real dnsmasq on 127.0.0.1 at a random high
 * port: A, AAAA, wildcard `--address`, NXDOMAIN (`--local=/test/`), REFUSED outside
 * it (no upstream), the cache with dnsmasq's TTL, and TC -> TCP with a classic
 * 512-byte query (no EDNS). dnsmasq is started here and killed by its PID.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { createHostBackend } from '../../../src/backends/host/index.ts';
import { DnsResolver } from '../../../src/backends/dns/resolver.ts';
import { IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_ERROR } from '../../../src/base/iot-constants.ts';
import { formatIp } from '../../../src/base/ip-address.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { CryptoRng } from '../../../src/runtime/crypto-rng.ts';
import { systemScheduler } from '../../../src/runtime/system-scheduler.ts';
import { skipWithoutTool } from '../../support/system-tool.ts';

/** A UDP port that was free a moment ago (dnsmasq binds it for UDP and TCP). */
async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const MANY = Array.from({ length: 40 }, (_, i) => `--address=/many.test/10.7.0.${i + 1}`);

async function startDnsmasq(port: number): Promise<{ child: ChildProcess; exited: Promise<number | null>; log: () => string }> {
  const child = spawn('dnsmasq', [
    '--no-daemon', '--conf-file=/dev/null', '-u', 'root', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--local=/test/', '--local-ttl=60', '--address=/broker.test/10.9.3.1',
    '--host-record=mqtt.test,10.9.3.7,fd00::7', ...MANY, '--log-facility=-',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, log: () => log };
}

describe('resolver against dnsmasq (real peer)', () => {
  it('A, AAAA, wildcard, NXDOMAIN, REFUSED, cache, TC -> TCP', async (t) => {
    if (skipWithoutTool(t, 'dnsmasq', 'dnsmasq', 'the resolver against dnsmasq')) return;
    const backend = createHostBackend();
    let peer: Awaited<ReturnType<typeof startDnsmasq>> | undefined;
    try {
      const port = await freePort();
      peer = await startDnsmasq(port);
      const server = `127.0.0.1:${port}`;
      const probe = new DnsResolver(backend, { scheduler: systemScheduler, rng: new XorShiftRng(3), servers: [server], timeoutMs: 100, attempts: 1, cacheSize: 0 });
      let up = false;
      for (let i = 0; i < 30 && !up; i++) {
        if (peer.child.exitCode !== null) break;
        up = (await probe.resolve('mqtt.test', 1)) instanceof Uint8Array;
      }
      assert.ok(up, `dnsmasq did not answer: ${peer.log()}`);

      const r = new DnsResolver(backend, { scheduler: systemScheduler, rng: new CryptoRng(), servers: [server], timeoutMs: 1000 });
      const ip = async (name: string, af: 1 | 2) => {
        const x = await r.resolve(name, af);
        return typeof x === 'number' ? x : formatIp(x);
      };
      assert.equal(await ip('mqtt.test', 1), '10.9.3.7');
      assert.equal(await ip('MQTT.test.', 2), 'fd00::7');
      assert.equal(await ip('broker.test', 1), '10.9.3.1');
      assert.equal(await ip('x.y.broker.test', 1), '10.9.3.1');
      assert.equal(await ip('nothere.test', 1), IOT_SOCKET_EHOSTNOTFOUND, 'NXDOMAIN');
      assert.equal(await ip('example.com', 1), IOT_SOCKET_ERROR, 'REFUSED (no upstream)');
      const queries = r.stats.queries;
      assert.equal(await ip('x.y.broker.test', 1), '10.9.3.1');
      assert.equal(r.stats.queries, queries, 'answered from the cache (TTL 60)');
      assert.equal(r.stats.cacheHits, 1);

      const classic = new DnsResolver(backend, { scheduler: systemScheduler, rng: new CryptoRng(), servers: [server], ednsUdpSize: 0 });
      const many = await classic.resolveAll('many.test', 1);
      assert.ok(typeof many !== 'number', `many.test: ${String(many)}`);
      assert.equal(many.addresses.length, 40);
      assert.equal(classic.stats.tcpFallbacks, 1, 'dnsmasq truncated at 512 bytes; the TCP answer is whole');
      const st = r.stats;
      assert.equal(st.mismatched + st.malformed + st.timeouts, 0, JSON.stringify(st));
    } finally {
      if (peer !== undefined && peer.child.exitCode === null && peer.child.pid !== undefined) {
        process.kill(peer.child.pid, 'SIGTERM');
        await peer.exited;
      }
      await backend.close();
    }
  });
});
