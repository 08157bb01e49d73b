/**
 * Conformance of the userspace stack: the client is the IoT Socket layer over one
 * userspace stack (10.0.0.1), the reference test server runs on a second one
 * (10.0.0.2), the two joined by a virtual Ethernet cable, both on real time. Names
 * come from a static hosts table (the DNS client arrives with issue 4); the black-hole
 * port is a link filter dropping SYNs to it. The suite runs twice: lossless, and with
 * 2 % seeded loss in both directions on the client's link.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { skipWithoutTool } from '../support/system-tool.ts';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import { startSockServer } from '../../src/apps/sockserver/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { parseIp } from '../../src/base/ip-address.ts';
import { FaultInjector, PcapCapture, createCable } from '../../src/link/index.ts';
import { pcapFileSink } from '../../src/runtime/pcap-file.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { IotSocketLayer } from '../../src/socket/iot-socket-layer.ts';
import { Network } from '../../src/socket/network.ts';
import { Stack } from '../../src/stack/stack.ts';
import { SynFilter } from '../support/syn-filter.ts';
import type { ConformanceEnv } from './env.ts';
import { defineConformance } from './suite.ts';

const CONNECT_TIMEOUT_MS = 3000;
const OFFSET = 20000;
const CAPTURE = join(mkdtempSync(join(tmpdir(), 'iotnet-conformance-')), 'userspace-conformance.pcap');

for (const lossPct of [0, 2]) defineConformance({
  name: `userspace stack <-> userspace stack over a virtual cable${lossPct > 0 ? `, ${lossPct} % loss each way` : ''}`,
  async setup(): Promise<ConformanceEnv> {
    const [endA, endB] = createCable();
    const blackHolePort = 5002 + OFFSET;
    // Seeded loss on the client's link, both directions (the kernel has no netem: our own link layer injects it).
    const lossy = lossPct > 0 ? new FaultInjector(endA, { rng: new XorShiftRng(lossPct * 7919), scheduler: systemScheduler, lossPct, direction: 'both' }) : endA;
    const filtered = new SynFilter(lossy, blackHolePort);
    // The lossless run is captured (everything the client sends and receives) for the
    // tshark check below.
    const file = lossPct === 0 ? pcapFileSink(CAPTURE) : undefined;
    const filter = file !== undefined ? new PcapCapture(filtered, { clock: systemScheduler, sink: file.sink }) : filtered;
    const A = new Stack({ rng: new XorShiftRng(11), name: 'client' });
    A.addInterface(filter, { ipv4: { address: '10.0.0.1', prefixLen: 24 }, ipv6: { addresses: [{ address: parseIp('fd00::1') as Uint8Array, prefixLen: 64 }], dadTransmits: 0, autoconf: false } });
    const B = new Stack({ rng: new XorShiftRng(22), name: 'server' });
    B.addInterface(endB, { ipv4: { address: '10.0.0.2', prefixLen: 24 }, ipv6: { addresses: [{ address: parseIp('fd00::2') as Uint8Array, prefixLen: 64 }], dadTransmits: 0, autoconf: false } });
    const runA = new StackRunner(A);
    const runB = new StackRunner(B);
    const serverBackend = createUserspaceBackend(B, runB, { rng: new XorShiftRng(33) });
    const serverNet = new Network(serverBackend);
    const server = await startSockServer(serverNet, { portOffset: OFFSET });
    assert.ok(server.ipv6, `the server listens on IPv6 too (${String(server.ipv6Error)})`);
    const backend = createUserspaceBackend(A, runA, {
      rng: new XorShiftRng(44),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      hosts: { 'sockserver.test': '10.0.0.2' },
      dns: { servers: [] },
    });
    const layer = new IotSocketLayer(backend);
    return {
      layer,
      caps: backend.caps,
      serverIp4: parseIp('10.0.0.2') as Uint8Array,
      serverIp6: parseIp('fd00::2') as Uint8Array,
      ports: server.ports,
      listenPorts: [OFFSET + 2000, OFFSET + 2001],
      blackHole: true,
      dns: { name: 'sockserver.test', ip4: parseIp('10.0.0.2') as Uint8Array, ip6: undefined, missing: 'missing.sockserver.test' },
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      lossPct,
      async teardown() {
        await layer.closeAll();
        await server.close();
        await serverNet.close();
        await backend.close();
        await serverBackend.close();
        runA.close();
        runB.close();
        A.close();
        B.close();
        await file?.close();
      },
    };
  },
});

describe('pcap of the lossless userspace conformance run', () => {
  after(() => rmSync(dirname(CAPTURE), { recursive: true, force: true }));
  it('tshark reads it with no malformed packets and no IPv4/TCP/UDP/ICMP checksum errors', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', 'the conformance capture')) return;
    assert.ok(existsSync(CAPTURE) && statSync(CAPTURE).size > 24, 'the conformance run wrote a capture');
    const count = (filter: string): number => {
      const r = spawnSync('tshark', ['-r', CAPTURE, '-n', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
        '-o', 'udp.check_checksum:TRUE', '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(r.status, 0, `tshark failed: ${r.stderr}`);
      return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
    };
    const frames = count('frame');
    assert.ok(frames > 10_000, `${frames} frames captured`);
    assert.equal(count('_ws.malformed'), 0, 'malformed packets');
    assert.equal(count('ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad"'), 0, 'bad checksums');
    assert.equal(count('_ws.expert.severity == "Error"'), 0, 'expert errors');
    process.stdout.write(`# pcap: ${frames} frames checked by tshark\n`);
  });
});
