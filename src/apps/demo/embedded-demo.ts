/**
 * The default demo (`npm start`, `iotnet demo`): an embedded virtual network in this
 * process, in real time; no root, nothing to install.
 *
 *   gateway 192.168.7.1/24 ──┐
 *                            ├── VirtualSwitch
 *   device (no address) ─────┘
 *
 * 1. The **gateway**, a userspace `Stack` on a switch port, runs the DHCPv4 server
 *    (pool 192.168.7.100-199, router and DNS itself, domain `iot.test`), the
 *    authoritative DNS server (zone `iot.test`: `sockserver.iot.test` -> the gateway)
 *    and the reference test server on its standard ports (no root on a userspace stack).
 * 2. The **device**, another userspace `Stack` on another port, starts without an
 *    address: its DHCPv4 client gets a lease (RFC 5227 probing shortened for the demo,
 *    see `DEMO_PROBE_TIMING`), the resolver takes the DNS servers of the lease, and the
 *    shared client session (client-steps.ts) runs against `sockserver.iot.test`: the IoT
 *    Socket API (an `IotSocketLayer` over the device's userspace backend, registered with
 *    `iotSocketRegisterApi`), then the idiomatic API and its `Duplex` adapter, which
 *    connect by `echo.iot.test` (a CNAME to it).
 * 3. The device releases its lease and everything is closed; the stacks' sockets are
 *    counted on the way out (none may be left), so the process exits by itself.
 *
 * Both stacks run on `StackRunner`s on the system scheduler: real time, real speed.
 * Each step goes to `report`; nothing is written to the console here.
 */
import { startDnsServer, type DnsRecord, type DnsServer } from '../dns-server/index.ts';
import { startSockServer, type SockServer } from '../sockserver/index.ts';
import { createUserspaceBackend, type UserspaceBackend } from '../../backends/userspace/index.ts';
import { parseIPv4 } from '../../base/ip-address.ts';
import { VirtualSwitch, type SwitchPort } from '../../link/index.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';
import { StackRunner } from '../../runtime/stack-runner.ts';
import { systemScheduler } from '../../runtime/system-scheduler.ts';
import { iotSocketRegisterApi } from '../../socket/iot-socket.ts';
import { IotSocketLayer } from '../../socket/iot-socket-layer.ts';
import { Network } from '../../socket/network.ts';
import { Dhcp4Client, type Dhcp4ClientEvent, type Dhcp4ClientTiming, type Dhcp4Lease } from '../../stack/dhcp/dhcp4-client.ts';
import { Dhcp4Server, type Dhcp4ServerEvent } from '../../stack/dhcp/dhcp4-server.ts';
import { Stack } from '../../stack/stack.ts';
import { runIdiomaticSteps, runIotSocketSteps, stepRecorder, type DemoResult, type DemoStep, type StepSink } from './client-steps.ts';

export type { DemoResult, DemoStep } from './client-steps.ts';

export interface EmbeddedDemoOptions {
  /** Called once per finished step. */
  report?: (step: DemoStep) => void;
  /** Added to the test server's ports (default 0: the standard ports, fine on a userspace stack). */
  portOffset?: number;
  /** How long the device may take to get its lease (default 10 s). */
  dhcpTimeoutMs?: number;
  /** Bytes of the bulk transfer through the echo service (default 32 MiB). */
  bulkBytes?: number;
}

export interface EmbeddedDemoResult extends DemoResult {
  /** The device's lease, when it got one. */
  readonly lease: Dhcp4Lease | undefined;
}

/** The virtual network's plan. */
export const EMBEDDED_DEMO_NET = Object.freeze({
  gateway: '192.168.7.1',
  prefixLen: 24,
  gatewayMac: '02:00:c0:a8:07:01',
  deviceMac: '02:00:c0:a8:07:02',
  pool: Object.freeze({ start: '192.168.7.100', end: '192.168.7.199' }),
  domain: 'iot.test',
  serverName: 'sockserver.iot.test',
  echoAlias: 'echo.iot.test',
  deviceHostname: 'iot-device',
  leaseSeconds: 3600,
});

/**
 * RFC 5227 probing, shortened for the demo (the RFC's PROBE_WAIT 1 s, PROBE_MIN-MAX
 * 1-2 s and ANNOUNCE_WAIT 2 s would add 4-7 s): same probe count, milliseconds apart.
 */
export const DEMO_PROBE_TIMING: Readonly<Pick<Dhcp4ClientTiming, 'probeWaitMs' | 'probeNum' | 'probeMinMs' | 'probeMaxMs' | 'announceWaitMs'>> = Object.freeze({
  probeWaitMs: 10,
  probeNum: 3,
  probeMinMs: 20,
  probeMaxMs: 40,
  announceWaitMs: 50,
});

const ZONE_RECORDS: readonly DnsRecord[] = [
  { name: 'gateway', type: 'A', data: EMBEDDED_DEMO_NET.gateway },
  { name: 'sockserver', type: 'A', data: EMBEDDED_DEMO_NET.gateway },
  { name: 'echo', type: 'CNAME', data: EMBEDDED_DEMO_NET.serverName },
];

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Resolves with the first event of `type` from `source` (a DHCP client or server), or undefined after `timeoutMs`. */
function nextEvent<E extends { type: string }>(source: { on(fn: (e: E) => void): () => void }, type: E['type'], timeoutMs: number): Promise<E | undefined> {
  return new Promise((resolve) => {
    const off = source.on((e) => {
      if (e.type !== type) return;
      cancel();
      off();
      resolve(e);
    });
    const cancel = systemScheduler.setTimer(timeoutMs, () => {
      off();
      resolve(undefined);
    });
  });
}

/** One userspace host on a switch port. */
interface Node {
  readonly stack: Stack;
  readonly runner: StackRunner;
  readonly port: SwitchPort;
  readonly ifIndex: number;
  readonly backend: UserspaceBackend;
  readonly network: Network;
}

function addNode(sw: VirtualSwitch, name: string, mac: string, ipv4: { address: string; prefixLen: number } | undefined): Node {
  const rng = new CryptoRng();
  const stack = new Stack({ rng, name });
  const port = sw.port();
  const ifIndex = stack.addInterface(port, { name: 'eth0', mac, ...(ipv4 !== undefined ? { ipv4 } : {}) });
  const runner = new StackRunner(stack);
  const backend = createUserspaceBackend(stack, runner, { name: `userspace:${name}`, rng, connectTimeoutMs: 5000 });
  return { stack, runner, port, ifIndex, backend, network: new Network(backend, { rng }) };
}

function ms(t0: number): string {
  return `${(systemScheduler.now() - t0).toFixed(0)} ms`;
}

/** Runs the embedded demo; resolves with every step (never rejects for a failed step). */
export async function runEmbeddedDemo(options: EmbeddedDemoOptions = {}): Promise<EmbeddedDemoResult> {
  const { step, result } = stepRecorder(options.report);
  const N = EMBEDDED_DEMO_NET;
  const sw = new VirtualSwitch();
  const gw = addNode(sw, 'gateway', N.gatewayMac, { address: N.gateway, prefixLen: N.prefixLen });
  const dev = addNode(sw, 'device', N.deviceMac, undefined);
  step(true, 'virtual network', `a switch, gateway ${N.gateway}/${N.prefixLen} (${N.gatewayMac}), device ${N.deviceMac} without an address; userspace stacks, real time`);

  let dhcpServer: Dhcp4Server | undefined;
  let dns: DnsServer | undefined;
  let sockserver: SockServer | undefined;
  let client: Dhcp4Client | undefined;
  let lease: Dhcp4Lease | undefined;
  try {
    await startGateway();
    if (dhcpServer !== undefined && dns !== undefined && sockserver !== undefined) await runDevice(sockserver);
  } catch (e) {
    step(false, 'embedded demo', `unexpected failure: ${errorText(e)}`);
  } finally {
    await shutdown();
  }
  return { ...result(), lease };

  async function startGateway(): Promise<void> {
    try {
      dhcpServer = new Dhcp4Server(gw.stack, {
        ifIndex: gw.ifIndex, pool: N.pool, routers: [N.gateway], dnsServers: [N.gateway], domainName: N.domain, leaseSeconds: N.leaseSeconds,
      });
      step(true, 'DHCP server (gateway)', `pool ${N.pool.start}-${N.pool.end}, router and DNS ${N.gateway}, domain ${N.domain}, lease ${N.leaseSeconds} s`);
    } catch (e) {
      step(false, 'DHCP server (gateway)', errorText(e));
    }
    try {
      dns = await startDnsServer(gw.network, { zones: [{ origin: N.domain, records: ZONE_RECORDS }], port: 53, host: N.gateway });
      step(true, 'DNS server (gateway)', `zone ${N.domain} (${ZONE_RECORDS.map((r) => `${r.name} ${r.type}`).join(', ')}) on ${N.gateway}:53, UDP and TCP`);
    } catch (e) {
      step(false, 'DNS server (gateway)', errorText(e));
    }
    try {
      sockserver = await startSockServer(gw.network, { portOffset: options.portOffset ?? 0, host: N.gateway, ipv6: false });
      const p = sockserver.ports;
      step(true, 'test server (gateway)', `${sockserver.listeners.length} listeners on ${N.gateway} (echo ${p.echo}, daytime ${p.daytime}, chargen ${p.chargen}, control ${p.control})`);
    } catch (e) {
      step(false, 'test server (gateway)', errorText(e));
    }
  }

  async function runDevice(server: SockServer): Promise<void> {
    if (!(await getLease(step))) return;
    // The resolver takes its servers from the lease (as `iotnet tap --ipv4 dhcp` does).
    dev.backend.setDnsServers((lease?.dnsServers ?? []).map(Stack.format));
    const queriesBefore = dns?.stats.queries ?? 0;
    const target = {
      name: N.serverName,
      expectedIp: N.gateway,
      fallbackIp: parseIPv4(N.gateway) as Uint8Array,
      lookupNote: () => {
        const n = (dns?.stats.queries ?? 0) - queriesBefore;
        return `through DNS at ${dev.backend.dnsServers.join(', ')} (from the lease; ${n} ${n === 1 ? 'query' : 'queries'} answered)`;
      },
      // The idiomatic API connects by another name: a CNAME to sockserver.iot.test.
      connectHost: N.echoAlias,
      ports: server.ports,
    };

    // ---- IoT Socket API over the device's userspace backend ----------------------
    const layer = new IotSocketLayer(dev.backend);
    iotSocketRegisterApi(layer.api());
    try {
      await runIotSocketSteps(step, target);
    } finally {
      iotSocketRegisterApi(null);
      await layer.closeAll();
    }

    // ---- Idiomatic API and the Duplex adapter ------------------------------------
    await runIdiomaticSteps(step, dev.network, target, options.bulkBytes !== undefined ? { bulkBytes: options.bulkBytes } : {});
  }

  async function getLease(report: StepSink): Promise<boolean> {
    const c = new Dhcp4Client(dev.stack, { ifIndex: dev.ifIndex, hostname: N.deviceHostname, timing: DEMO_PROBE_TIMING });
    client = c;
    let probingSince: number | undefined;
    let probingMs = 0;
    const offState = c.on((e) => {
      if (e.type !== 'state') return;
      if (e.to === 'PROBING') probingSince = systemScheduler.now();
      else if (e.from === 'PROBING' && probingSince !== undefined) probingMs = systemScheduler.now() - probingSince;
    });
    const t0 = systemScheduler.now();
    const bound = nextEvent<Dhcp4ClientEvent>(c, 'bound', options.dhcpTimeoutMs ?? 10_000);
    c.start(dev.runner.now());
    const e = await bound;
    offState();
    if (e === undefined || e.type !== 'bound') {
      report(false, 'DHCP lease (device)', `no lease within ${options.dhcpTimeoutMs ?? 10_000} ms (state ${c.state}; ${c.stats.discoversSent} DISCOVER, ${c.stats.offersReceived} OFFER)`);
      return false;
    }
    lease = e.lease;
    const l = e.lease;
    const f = Stack.format;
    const iface = dev.stack.interface(dev.ifIndex);
    const applied = iface !== undefined && iface.address === l.address;
    report(applied, 'DHCP lease (device)',
      `${f(l.address)}/${l.prefixLen} from ${f(l.serverId)} in ${ms(t0)}: router ${l.gateway !== undefined ? f(l.gateway) : 'none'}, `
      + `DNS ${l.dnsServers.map(f).join(', ') || 'none'}, domain ${l.domainName ?? 'none'}, lease ${l.leaseSeconds} s (renew after ${l.renewalSeconds} s)`
      + (applied ? '' : '; not on the interface'));
    const t = DEMO_PROBE_TIMING;
    report(c.stats.conflicts === 0, 'RFC 5227 address probe (device)',
      `${t.probeNum} ARP probes for ${f(l.address)}, no conflict, ${probingMs.toFixed(0)} ms; shortened for the demo: wait ${t.probeWaitMs} ms, `
      + `probes ${t.probeMinMs}-${t.probeMaxMs} ms apart, announce after ${t.announceWaitMs} ms (RFC 5227: 1 s, 1-2 s, 2 s)`);
    return applied;
  }

  async function shutdown(): Promise<void> {
    const closing: string[] = [];
    const attempt = async (what: string, fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        closing.push(`${what}: ${errorText(e)}`);
      }
    };
    await attempt('device network', () => dev.network.close());
    await attempt('device backend', () => dev.backend.close());
    if (client !== undefined && lease !== undefined && dhcpServer !== undefined) {
      const address = lease.address;
      const released = nextEvent<Dhcp4ServerEvent>(dhcpServer, 'released', 2000);
      client.stop(dev.runner.now(), { release: true });
      const ev = await released;
      const row = dhcpServer.leases(gw.runner.now()).find((r) => r.address === address);
      step(ev !== undefined && ev.address === address && dev.stack.interface(dev.ifIndex)?.address === 0, 'DHCP release (device)',
        ev !== undefined ? `${Stack.format(address)} released; the gateway's lease table says ${row?.state ?? 'nothing'}${row?.hostname !== undefined ? ` (host ${row.hostname})` : ''}`
          : `no RELEASE reached the gateway`);
    } else {
      client?.stop(dev.runner.now());
    }
    await attempt('DNS server', () => dns?.close());
    await attempt('test server', () => sockserver?.close());
    await attempt('gateway network', () => gw.network.close());
    await attempt('gateway backend', () => gw.backend.close());
    dhcpServer?.close();
    // Application sockets, UDP PCBs and listeners must all be gone; TCP connections may
    // still be closing (TIME_WAIT: 2 MSL), and go with the stacks.
    const count = (n: Node): { open: number; closing: number } => ({
      // stack.openSockets: UDP PCBs, listeners and the connections not in TIME-WAIT.
      open: n.backend.openSockets + n.stack.openSockets - (n.backend.tcp.connections - n.backend.tcp.timeWaitConnections),
      closing: n.backend.tcp.connections,
    });
    const left = { device: count(dev), gateway: count(gw) };
    const s = sw.stats();
    for (const n of [dev, gw]) {
      n.runner.close();
      n.stack.close();
      n.port.close();
    }
    step(closing.length === 0 && left.device.open === 0 && left.gateway.open === 0, 'everything closed',
      `sockets left: device ${left.device.open}, gateway ${left.gateway.open} (TCP connections in their closing states, dropped with the stacks: `
      + `${left.device.closing} and ${left.gateway.closing}); the switch forwarded ${s.forwarded} frames, flooded ${s.flooded}`
      + (closing.length > 0 ? `; errors: ${closing.join('; ')}` : ''));
  }
}
