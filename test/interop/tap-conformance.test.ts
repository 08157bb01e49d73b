/**
 * The IoT Socket conformance suite across a real TAP, both ways round:
 * 1. the client on the userspace stack (over the TAP), the reference test server on the
 *    kernel's side (`iotnet sockserver` on the host backend, in this namespace);
 * 2. roles swapped: `iotnet tap IFNAME --serve sockserver` (the test server on the
 *    userspace stack, over a persistent TAP made with `ip tuntap`), the client on the
 *    kernel's stack (the host backend in this process).
 * Black-hole port: a SYN filter on our link in (1), an nftables output rule in (2).
 */
import { createHostBackend } from '../../src/backends/host/index.ts';
import { parseIp } from '../../src/base/ip-address.ts';
import { IotSocketLayer } from '../../src/socket/iot-socket-layer.ts';
import { installBlackHole } from '../support/black-hole.ts';
import { ensureTool } from '../support/system-tool.ts';
import { startDnsFixture } from '../support/dns-fixture.ts';
import { Peers, interopUnavailable, sh, skipWithoutInterop, tapHost } from '../support/interop.ts';
import { it } from 'node:test';
import { SynFilter } from '../support/syn-filter.ts';
import type { ConformanceEnv } from '../conformance/env.ts';
import { defineConformance } from '../conformance/suite.ts';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';

const OFFSET = 20000;
const CONNECT_TIMEOUT_MS = 3000;
const CLI = new URL('../../bin/iotnet.js', import.meta.url).pathname;

function unavailable(): never {
  throw new Error(`interop tier unavailable: ${interopUnavailable() ?? 'unknown'}`);
}

const ports = (base: number) => ({
  echo: 7 + base, discard: 9 + base, daytime: 13 + base, chargen: 19 + base, chargenRfc: 5019 + base,
  time: 37 + base, control: 5000 + base, refusing: 5001 + base, blackHole: 5002 + base,
});

if (interopUnavailable() === undefined) {
  defineConformance({
    name: 'userspace stack over TAP (client) <-> iotnet sockserver on the Linux kernel',
    async setup(): Promise<ConformanceEnv> {
      if (interopUnavailable() !== undefined) unavailable();
      const peers = new Peers();
      const p = ports(OFFSET);
      const h = tapHost({ subnet: 5, capture: 'conformance-client-on-tap.pcap', wrap: (l) => new SynFilter(l, p.blackHole) });
      const server = peers.spawn(process.execPath, [CLI, 'sockserver', '--port-offset', String(OFFSET), '--host', h.kernelIp, '--no-ipv6']);
      await peers.waitFor(server, /ready/);
      // Names through a real dnsmasq on the kernel side (DNS only, port 53 of the TAP's kernel address).
      if (ensureTool('dnsmasq', 'dnsmasq') !== undefined) throw new Error('dnsmasq is needed for the DNS cases');
      const dns = peers.spawn('dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '-u', 'root', `--listen-address=${h.kernelIp}`, '--bind-interfaces',
        '--no-resolv', '--no-hosts', '--port=53', '--local=/test/', `--host-record=sockserver.test,${h.kernelIp}`, '--log-queries']);
      await peers.waitFor(dns, /started, version/);
      const backend = createUserspaceBackend(h.stack, h.runner, { tcp: h.backend.tcp, connectTimeoutMs: CONNECT_TIMEOUT_MS, dns: { servers: [h.kernelIp] } });
      const layer = new IotSocketLayer(backend);
      return {
        layer,
        caps: backend.caps,
        serverIp4: parseIp(h.kernelIp) as Uint8Array,
        serverIp6: undefined,
        ports: p,
        listenPorts: [OFFSET + 2000, OFFSET + 2001],
        blackHole: true,
        dns: { name: 'sockserver.test', ip4: parseIp(h.kernelIp) as Uint8Array, ip6: undefined, missing: 'missing.sockserver.test' },
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        async teardown() {
          await layer.closeAll();
          await backend.close();
          await peers.killAll();
          await h.close();
        },
      };
    },
  });

  defineConformance({
    name: "kernel stack (client) <-> 'iotnet tap --serve sockserver' over TAP",
    async setup(): Promise<ConformanceEnv> {
      const peers = new Peers();
      const ifname = `iotcli${process.pid % 100000}`.slice(0, 15);
      const kernelIp = '10.99.6.1';
      const stackIp = '10.99.6.2';
      sh('ip', ['tuntap', 'add', 'mode', 'tap', 'name', ifname]);
      sh('sysctl', ['-q', '-w', `net.ipv6.conf.${ifname}.disable_ipv6=1`], { allowFail: true });
      sh('ip', ['addr', 'add', `${kernelIp}/24`, 'dev', ifname]);
      sh('ip', ['link', 'set', ifname, 'up']);
      const pcap = `${process.env.IOTNET_INTEROP_PCAP_DIR ?? '/tmp'}/conformance-server-on-tap.pcap`;
      const node = peers.spawn(process.execPath, [CLI, 'tap', ifname, '--ipv4', `${stackIp}/24`, '--serve', 'sockserver', '--port-offset', String(OFFSET), '--pcap', pcap]);
      await peers.waitFor(node, /ready/);
      const p = ports(OFFSET);
      const hole = installBlackHole(p.blackHole, 'output');
      const dns = await startDnsFixture({ records: { 'sockserver.test': { A: [stackIp] } } });
      const backend = createHostBackend({ dnsServers: [`127.0.0.1:${dns.port}`], connectTimeoutMs: CONNECT_TIMEOUT_MS });
      const layer = new IotSocketLayer(backend);
      return {
        layer,
        caps: { ...backend.caps, ipv6: false },
        serverIp4: parseIp(stackIp) as Uint8Array,
        serverIp6: undefined,
        ports: p,
        listenPorts: [OFFSET + 2000, OFFSET + 2001],
        blackHole: !('reason' in hole),
        dns: { name: 'sockserver.test', ip4: parseIp(stackIp) as Uint8Array, ip6: undefined, missing: 'missing.sockserver.test' },
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        async teardown() {
          if (!('reason' in hole)) hole.remove();
          await layer.closeAll();
          await backend.close?.();
          await dns.close();
          await peers.killAll();
          sh('ip', ['link', 'del', ifname], { allowFail: true });
        },
      };
    },
  });
}
else {
  it('IoT Socket conformance over TAP, both ways round', (t) => {
    skipWithoutInterop(t);
  });
}
