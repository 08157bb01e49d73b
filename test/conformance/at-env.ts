/**
 * Conformance of an AT module driver: the client is the IoT Socket layer over the generic module
 * backend over the driver, which talks through serialport and a real pty pair to the module's
 * simulator; the simulator carries its sockets over the host stack to the reference test server
 * on loopback (at a random port offset), resolves names through the local DNS fixture, and the
 * black-hole port is an nftables drop rule (root), else unsupported. Without the pty addon the
 * suite is skipped loudly (a failure under CI=true).
 */
import { describe, it } from 'node:test';
import { startSockServer } from '../../src/apps/sockserver/index.ts';
import type { BackendCaps } from '../../src/backends/contract.ts';
import { createHostBackend } from '../../src/backends/host/index.ts';
import { parseIp } from '../../src/base/ip-address.ts';
import { IotSocketLayer } from '../../src/socket/iot-socket-layer.ts';
import { Network } from '../../src/socket/network.ts';
import { startAtModule, type AtModuleParts, type RunningDriver, type RunningSim } from '../support/at-module-env.ts';
import { installBlackHole } from '../support/black-hole.ts';
import { startDnsFixture } from '../support/dns-fixture.ts';
import { ptyUnavailable, skipWithoutPty } from '../support/pty.ts';
import type { ConformanceEnv } from './env.ts';
import { defineConformance } from './suite.ts';

export const AT_CONNECT_TIMEOUT_MS = 3000;

/** Defines the suite for one module (or a loud skip when ptys cannot be opened here). */
export function defineAtConformance<S extends RunningSim, D extends RunningDriver>(
  name: string,
  parts: AtModuleParts<S, D>,
  options: { baudRate?: number } = {},
): void {
  if (ptyUnavailable() !== undefined) {
    describe(`IoT Socket conformance: ${name}`, () => {
      it('needs a pty pair', (t) => {
        skipWithoutPty(t, `the conformance suite over ${name}`);
      });
    });
    return;
  }
  defineConformance({
    name,
    async setup(): Promise<ConformanceEnv> {
      // Offsets keep every port below the implicit-bind range 49152-65535.
      const offset = 20000 + 100 * Math.floor(Math.random() * 200);
      const dns = await startDnsFixture({ records: { 'sockserver.test': { A: ['127.0.0.1'], AAAA: ['::1'] } } });
      const serverNet = new Network(createHostBackend());
      const server = await startSockServer(serverNet, { portOffset: offset });
      const hole = installBlackHole(server.ports.blackHole);
      if ('reason' in hole && process.env.CI === 'true') throw new Error(`CI requires the black-hole case: ${hole.reason}`);
      // The simulated module's own network: the host stack, names through the DNS fixture.
      const moduleNet = new Network(createHostBackend({ dnsServers: [`127.0.0.1:${dns.port}`], connectTimeoutMs: 10_000 }));
      const module = await startAtModule(parts, moduleNet, options);
      const layer = new IotSocketLayer(module.backend);
      const caps: BackendCaps = module.backend.caps;
      return {
        layer,
        caps,
        serverIp4: parseIp('127.0.0.1') as Uint8Array,
        serverIp6: undefined,
        ports: server.ports,
        listenPorts: [offset + 2000, offset + 2001],
        blackHole: !('reason' in hole),
        dns: { name: 'sockserver.test', ip4: parseIp('127.0.0.1') as Uint8Array, ip6: undefined, missing: 'missing.sockserver.test' },
        connectTimeoutMs: caps.connectTimeoutMs,
        async teardown() {
          if (!('reason' in hole)) hole.remove();
          await layer.closeAll();
          await module.close();
          await moduleNet.close();
          await server.close();
          await serverNet.close();
          await dns.close();
        },
      };
    },
  });
}
