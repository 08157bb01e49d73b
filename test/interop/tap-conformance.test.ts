/**
 * The IoT Socket conformance suite across a real TAP, both ways round:
 * 1. the client on the userspace stack (over the TAP), the reference test server on the
 *    kernel's side (`iotnet sockserver` on the host backend, in this namespace);
 * 2. roles swapped: `iotnet tap IFNAME --serve sockserver` (the test server on the
 *    userspace stack, over a persistent TAP made with `ip tuntap`), the client on the
 *    kernel's stack (the host backend in this process).
 * Black-hole port: a SYN filter on our link in (1), an nftables output rule in (2).
 * Each runs twice: over IPv4, then over IPv6 (AF_INET6 sockets; static addresses on
 * fd00:N::/64, the kernel's without DAD, the stack's after its DAD), with names from a
 * resolver that has both A and AAAA records (DNS itself over IPv6 in (1)).
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

/** Client on the userspace stack over a TAP, test server (and dnsmasq) on the kernel. */
async function clientOnTap(family: 4 | 6): Promise<ConformanceEnv> {
  if (interopUnavailable() !== undefined) unavailable();
  const peers = new Peers();
  const p = ports(OFFSET);
  const subnet = family === 4 ? 5 : 47;
  const kernelIp6 = `fd00:${subnet}::1`;
  const stackIp6 = `fd00:${subnet}::2`;
  const h = tapHost({
    subnet,
    capture: `conformance-client-on-tap${family === 6 ? '-ipv6' : ''}.pcap`,
    wrap: (l) => new SynFilter(l, p.blackHole),
    ...(family === 6 ? { kernelIpv6: { addresses: [`${kernelIp6}/64 nodad`], sysctl: { accept_ra: 0 } } } : {}),
  });
  if (family === 6) {
    h.stack.enableIpv6(h.ifIndex, { addresses: [{ address: parseIp(stackIp6) as Uint8Array, prefixLen: 64 }], dadTransmits: 0, autoconf: false }, h.runner.now());
  }
  const serverHost = family === 4 ? h.kernelIp : kernelIp6;
  const server = peers.spawn(process.execPath, [CLI, 'sockserver', '--port-offset', String(OFFSET), '--host', serverHost]);
  await peers.waitFor(server, /ready/);
  // Names through a real dnsmasq on the kernel side (DNS only, port 53 of the TAP's kernel address).
  if (ensureTool('dnsmasq', 'dnsmasq') !== undefined) throw new Error('dnsmasq is needed for the DNS cases');
  const record = family === 4 ? h.kernelIp : `${h.kernelIp},${kernelIp6}`;
  const dns = peers.spawn('dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '-u', 'root', `--listen-address=${serverHost}`, '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--port=53', '--local=/test/', `--host-record=sockserver.test,${record}`, '--log-queries']);
  await peers.waitFor(dns, /started, version/);
  const backend = createUserspaceBackend(h.stack, h.runner, { tcp: h.backend.tcp, connectTimeoutMs: CONNECT_TIMEOUT_MS, dns: { servers: [serverHost] } });
  const layer = new IotSocketLayer(backend);
  return {
    layer,
    caps: backend.caps,
    serverIp4: parseIp(h.kernelIp) as Uint8Array,
    serverIp6: family === 6 ? parseIp(kernelIp6) as Uint8Array : undefined,
    ports: p,
    listenPorts: [OFFSET + 2000, OFFSET + 2001],
    blackHole: true,
    dns: { name: 'sockserver.test', ip4: parseIp(h.kernelIp) as Uint8Array, ip6: family === 6 ? parseIp(kernelIp6) as Uint8Array : undefined, missing: 'missing.sockserver.test' },
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    async teardown() {
      await layer.closeAll();
      await backend.close();
      await peers.killAll();
      await h.close();
    },
  };
}

/** Test server on 'iotnet tap --serve sockserver' (a child process), client on the kernel (the host backend). */
async function serverOnTap(family: 4 | 6): Promise<ConformanceEnv> {
  const peers = new Peers();
  const subnet = family === 4 ? 6 : 48;
  const ifname = `iotcli${process.pid % 100000}`.slice(0, 13) + (family === 6 ? 'v6' : '');
  const kernelIp = `10.99.${subnet}.1`;
  const stackIp = `10.99.${subnet}.2`;
  const kernelIp6 = `fd00:${subnet}::1`;
  const stackIp6 = `fd00:${subnet}::2`;
  sh('ip', ['tuntap', 'add', 'mode', 'tap', 'name', ifname]);
  sh('sysctl', ['-q', '-w', `net.ipv6.conf.${ifname}.disable_ipv6=${family === 4 ? 1 : 0}`], { allowFail: family === 4 });
  if (family === 6) {
    sh('sysctl', ['-q', '-w', `net.ipv6.conf.${ifname}.accept_ra=0`]);
    sh('ip', ['-6', 'addr', 'add', `${kernelIp6}/64`, 'nodad', 'dev', ifname]);
  }
  sh('ip', ['addr', 'add', `${kernelIp}/24`, 'dev', ifname]);
  sh('ip', ['link', 'set', ifname, 'up']);
  const pcap = `${process.env.IOTNET_INTEROP_PCAP_DIR ?? '/tmp'}/conformance-server-on-tap${family === 6 ? '-ipv6' : ''}.pcap`;
  const node = peers.spawn(process.execPath, [CLI, 'tap', ifname, '--ipv4', `${stackIp}/24`, ...(family === 6 ? ['--ipv6', `${stackIp6}/64`] : []),
    '--serve', 'sockserver', '--port-offset', String(OFFSET), '--pcap', pcap]);
  await peers.waitFor(node, /ready/);
  // The stack's static address is usable once its DAD passed (the CLI prints the state).
  if (family === 6) await peers.waitFor(node, new RegExp(`ipv6 address ${stackIp6}/64 \\(\\w+\\) preferred`));
  const p = ports(OFFSET);
  const hole = installBlackHole(p.blackHole, 'output');
  const dns = await startDnsFixture({ records: { 'sockserver.test': { A: [stackIp], ...(family === 6 ? { AAAA: [stackIp6] } : {}) } } });
  const backend = createHostBackend({ dnsServers: [`127.0.0.1:${dns.port}`], connectTimeoutMs: CONNECT_TIMEOUT_MS });
  const layer = new IotSocketLayer(backend);
  return {
    layer,
    caps: { ...backend.caps, ipv6: family === 6 },
    serverIp4: parseIp(stackIp) as Uint8Array,
    serverIp6: family === 6 ? parseIp(stackIp6) as Uint8Array : undefined,
    ports: p,
    listenPorts: [OFFSET + 2000, OFFSET + 2001],
    blackHole: !('reason' in hole),
    dns: { name: 'sockserver.test', ip4: parseIp(stackIp) as Uint8Array, ip6: family === 6 ? parseIp(stackIp6) as Uint8Array : undefined, missing: 'missing.sockserver.test' },
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
}

if (interopUnavailable() === undefined) {
  for (const family of [4, 6] as const) {
    defineConformance({ name: `userspace stack over TAP (client) <-> iotnet sockserver on the Linux kernel, IPv${family}`, family, setup: () => clientOnTap(family) });
    defineConformance({ name: `kernel stack (client) <-> 'iotnet tap --serve sockserver' over TAP, IPv${family}`, family, setup: () => serverOnTap(family) });
  }
}
else {
  it('IoT Socket conformance over TAP, both ways round', (t) => {
    skipWithoutInterop(t);
  });
}
