/**
 * Conformance of the host stack: the client is the IoT Socket layer over one host
 * backend; the reference test server runs on a second host backend in the same
 * process (loopback), at a random port offset; names resolve through the local DNS
 * fixture; the black-hole port is an nftables drop rule (root), else unsupported.
 */
import { createHostBackend } from '../../src/backends/host/index.ts';
import { startSockServer } from '../../src/apps/sockserver/index.ts';
import { parseIp } from '../../src/base/ip-address.ts';
import { IotSocketLayer } from '../../src/socket/iot-socket-layer.ts';
import { Network } from '../../src/socket/network.ts';
import { installBlackHole } from '../support/black-hole.ts';
import { startDnsFixture } from '../support/dns-fixture.ts';
import type { ConformanceEnv } from './env.ts';
import { defineConformance } from './suite.ts';

const CONNECT_TIMEOUT_MS = 3000;

defineConformance({
  name: 'host stack (node:net / node:dgram) over loopback',
  async setup(): Promise<ConformanceEnv> {
    // Offsets keep every port below the implicit-bind range 49152-65535.
    const offset = 20000 + 100 * Math.floor(Math.random() * 200);
    const dns = await startDnsFixture({
      records: { 'sockserver.test': { A: ['127.0.0.1'], AAAA: ['::1'] } },
    });
    const serverNet = new Network(createHostBackend());
    const server = await startSockServer(serverNet, { portOffset: offset });
    const hole = installBlackHole(server.ports.blackHole);
    if ('reason' in hole && process.env.CI === 'true') {
      throw new Error(`CI requires the black-hole case: ${hole.reason}`);
    }
    const backend = createHostBackend({ dnsServers: [`127.0.0.1:${dns.port}`], connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const layer = new IotSocketLayer(backend);
    return {
      layer,
      caps: backend.caps,
      serverIp4: parseIp('127.0.0.1') as Uint8Array,
      serverIp6: server.ipv6 ? parseIp('::1') : undefined,
      ports: server.ports,
      listenPorts: [offset + 2000, offset + 2001],
      blackHole: !('reason' in hole),
      dns: { name: 'sockserver.test', ip4: parseIp('127.0.0.1') as Uint8Array, ip6: parseIp('::1'), missing: 'missing.sockserver.test' },
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      async teardown() {
        if (!('reason' in hole)) hole.remove();
        await layer.closeAll();
        await server.close();
        await serverNet.close();
        await backend.close?.();
        await dns.close();
      },
    };
  },
});
