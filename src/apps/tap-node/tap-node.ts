/**
 * A userspace stack attached to a Linux TAP interface: the engine of `iotnet tap`.
 *
 * `startTapNode(options)` opens the TAP (`TapLink`), optionally wraps it in a pcap
 * capture, puts a `Stack` with its `StackRunner`, a userspace backend and a `Network`
 * on it, configures IPv4 (a static address, gateway and DNS servers, or a DHCPv4 client
 * whose lease sets the address, route, MTU and, unless DNS servers were given, the
 * resolver's servers), IPv6 (`'auto'`: link-local, SLAAC, RDNSS and stateless DHCPv6
 * when the router sets the O flag; or a static address; DAD in both cases) and
 * optionally runs the
 * reference test server (`sockserver`) on the stack. Every state change is reported
 * through `onStatus` as one `TapNodeStatus` (the CLI prints one line each); the node
 * runs until `close()`.
 *
 * The kernel interface's administrative state is watched (sysfs, once per second): a
 * TAP that is down drops every frame we write (EIO), so "link down"/"link up" are
 * state changes worth a line.
 */
import { startSockServer, type SockServer } from '../sockserver/index.ts';
import { createUserspaceBackend, type UserspaceBackend } from '../../backends/userspace/index.ts';
import { PcapCapture, type Link } from '../../link/index.ts';
import { TapLink } from '../../link/tap-link.ts';
import { interfaceAdminUp as adminUp } from '../../runtime/tap-native.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';
import { pcapFileSink, type FileSink } from '../../runtime/pcap-file.ts';
import { StackRunner } from '../../runtime/stack-runner.ts';
import { systemScheduler } from '../../runtime/system-scheduler.ts';
import { Network } from '../../socket/network.ts';
import { Dhcp4Client, type Dhcp4ClientEvent, type Dhcp4ClientState } from '../../stack/dhcp/dhcp4-client.ts';
import { Dhcp6Stateless } from '../../stack/dhcp/dhcp6-stateless.ts';
import type { Ipv6AddressInfo } from '../../stack/ipv6-interface.ts';
import type { Ipv6Event } from '../../stack/ipv6-layer.ts';
import { Stack, toIpv6 } from '../../stack/stack.ts';
import { formatIPv6 } from '../../base/ip-address.ts';

export interface TapNodeOptions {
  /** The TAP interface to attach to (it must exist, or we must be allowed to create it). */
  readonly ifname: string;
  /** Static IPv4 address and prefix length, or `'dhcp'`; none: IPv6 only. */
  readonly ipv4?: { readonly address: string; readonly prefixLen: number } | 'dhcp';
  /** IPv6: `'auto'` (SLAAC, RDNSS, stateless DHCPv6) or a static address and prefix length; none: IPv4 only. */
  readonly ipv6?: { readonly address: string; readonly prefixLen: number } | 'auto';
  /** IPv6 default router (with a static IPv6 address). */
  readonly gateway6?: string;
  /** DHCP: host name sent to the server (option 12). */
  readonly hostname?: string;
  /** Default gateway. */
  readonly gateway?: string;
  /** DNS servers (`'10.0.0.1'` or `'10.0.0.1:53'`). */
  readonly dns?: readonly string[];
  /** Ethernet MAC of the stack (default random, locally administered). */
  readonly mac?: string;
  /** Capture every frame to this pcap file. */
  readonly pcap?: string;
  /** Run the reference test server on the stack. */
  readonly serve?: 'sockserver';
  /** Port offset of the served test server. */
  readonly portOffset?: number;
  /** Called once per state change. */
  readonly onStatus?: (status: TapNodeStatus) => void;
  /** Called with failures inside served sessions. */
  readonly onServeError?: (error: unknown, service: string) => void;
}

export type TapNodeStatus =
  | { readonly type: 'link-up' | 'link-down'; readonly ifname: string; readonly mtu: number; readonly mac: string }
  | { readonly type: 'address'; readonly address: string; readonly prefixLen: number; readonly source: 'static'; readonly gateway?: string; readonly dns: readonly string[] }
  | {
      readonly type: 'dhcp';
      /** bound: address acquired; renewed/rebound: lease extended; expired/nak/declined: address lost or refused. */
      readonly event: 'bound' | 'renewed' | 'rebound' | 'expired' | 'nak' | 'declined' | 'reboot-failed';
      readonly address: string;
      readonly prefixLen?: number;
      readonly server?: string;
      readonly gateway?: string;
      readonly dns?: readonly string[];
      readonly leaseSeconds?: number;
      readonly mtu?: number;
    }
  | { readonly type: 'dhcp-state'; readonly state: Dhcp4ClientState }
  /** An IPv6 address changed state (tentative, preferred, deprecated, duplicate) or went (`removed`). */
  | { readonly type: 'ipv6-address'; readonly address: string; readonly prefixLen: number; readonly state: Ipv6AddressInfo['state'] | 'removed'; readonly origin: Ipv6AddressInfo['origin'] }
  | { readonly type: 'ipv6-router'; readonly router: string; readonly added: boolean }
  /** DNS servers learned over IPv6: from RAs (RFC 8106) or stateless DHCPv6. */
  | { readonly type: 'ipv6-dns'; readonly source: 'ra' | 'dhcpv6'; readonly servers: readonly string[]; readonly domains?: readonly string[] }
  | { readonly type: 'serving'; readonly service: 'sockserver'; readonly ports: string }
  | { readonly type: 'stopped' };

export interface TapNode {
  readonly stack: Stack;
  readonly runner: StackRunner;
  readonly backend: UserspaceBackend;
  readonly network: Network;
  readonly link: TapLink;
  readonly server: SockServer | undefined;
  /** The DHCP client (with `ipv4: 'dhcp'`). */
  readonly dhcp: Dhcp4Client | undefined;
  /** The stateless DHCPv6 client (with `ipv6: 'auto'`). */
  readonly dhcp6: Dhcp6Stateless | undefined;
  close(): Promise<void>;
}

function macText(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export async function startTapNode(options: TapNodeOptions): Promise<TapNode> {
  const status = options.onStatus ?? (() => {});
  const tap = TapLink.open(options.ifname);
  let file: FileSink | undefined;
  let link: Link = tap;
  try {
    if (options.pcap !== undefined) {
      file = pcapFileSink(options.pcap);
      link = new PcapCapture(tap, { clock: systemScheduler, sink: file.sink });
    }
  } catch (e) {
    tap.close();
    throw e;
  }
  const stack = new Stack({ rng: new CryptoRng(), name: options.ifname });
  const ipv4 = options.ipv4;
  const ipv6 = options.ipv6;
  const ifIndex = stack.addInterface(link, {
    name: options.ifname,
    ...(ipv4 !== undefined && ipv4 !== 'dhcp' ? { ipv4: { address: ipv4.address, prefixLen: ipv4.prefixLen } } : {}),
    ...(options.gateway !== undefined ? { gateway: options.gateway } : {}),
    ...(options.mac !== undefined ? { mac: options.mac } : {}),
  });
  const iface = stack.interface(ifIndex);
  const runner = new StackRunner(stack);
  const backend = createUserspaceBackend(stack, runner, {
    name: `userspace:${options.ifname}`,
    ...(options.dns !== undefined && options.dns.length > 0 ? { dns: { servers: options.dns } } : {}),
  });
  const network = new Network(backend);
  const linkInfo = { ifname: tap.name, mtu: tap.caps.mtu, mac: iface !== undefined ? macText(iface.mac) : '' };

  let up = adminUp(tap.name) ?? true;
  status({ type: up ? 'link-up' : 'link-down', ...linkInfo });
  // A ref'd timer, once per second: it also keeps the process alive while nothing else does.
  let stopWatch: (() => void) | undefined;
  const watch = (): void => {
    stopWatch = systemScheduler.setTimer(1000, watch);
    // A deleted interface (no sysfs entry, or reads failing) is down for good.
    const now = tap.failure !== 0 ? false : (adminUp(tap.name) ?? false);
    if (now === up) return;
    up = now;
    status({ type: up ? 'link-up' : 'link-down', ...linkInfo });
  };
  stopWatch = systemScheduler.setTimer(1000, watch);
  // DNS servers: --dns fixes them; otherwise the union of DHCPv4, RA (RDNSS) and DHCPv6 ones.
  const fixedDns = options.dns !== undefined && options.dns.length > 0;
  const learned = { dhcp4: [] as string[], ra: [] as string[], dhcp6: [] as string[] };
  const applyDns = (): void => {
    if (fixedDns) return;
    const all = [...learned.dhcp4, ...learned.ra, ...learned.dhcp6];
    backend.setDnsServers(all.filter((x, i) => all.indexOf(x) === i));
  };
  let dhcp6: Dhcp6Stateless | undefined;
  if (ipv6 !== undefined) {
    stack.onIpv6Event((e) => {
      const st = ipv6Status(e);
      if (st !== undefined) status(st);
      if (e.kind === 'dns') {
        learned.ra = e.servers.map(formatIPv6);
        applyDns();
      }
    });
    if (ipv6 === 'auto') stack.enableIpv6(ifIndex, {}, runner.now());
    else {
      stack.enableIpv6(ifIndex, {
        autoconf: false, addresses: [{ address: toIpv6(ipv6.address), prefixLen: ipv6.prefixLen }],
        ...(options.gateway6 !== undefined ? { gateway: toIpv6(options.gateway6) } : {}),
      }, runner.now());
    }
    if (ipv6 === 'auto') {
      dhcp6 = new Dhcp6Stateless(stack, { ifIndex });
      dhcp6.on((e) => {
        learned.dhcp6 = e.dnsServers.map(formatIPv6);
        status({ type: 'ipv6-dns', source: 'dhcpv6', servers: learned.dhcp6, domains: e.domainSearch });
        applyDns();
      });
    }
  }
  let dhcp: Dhcp4Client | undefined;
  if (ipv4 === 'dhcp') {
    dhcp = new Dhcp4Client(stack, { ifIndex, ...(options.hostname !== undefined ? { hostname: options.hostname } : {}) });
    dhcp.on((e) => {
      const s = dhcpStatus(e);
      if (s !== undefined) status(s);
      // Servers from the lease feed the resolver unless --dns fixed them.
      if (e.type === 'bound' || e.type === 'renewed' || e.type === 'rebound') learned.dhcp4 = e.lease.dnsServers.map(Stack.format);
      if (e.type === 'expired') learned.dhcp4 = [];
      if (e.type === 'bound' || e.type === 'renewed' || e.type === 'rebound' || e.type === 'expired') applyDns();
    });
    dhcp.start(runner.now());
  } else if (ipv4 !== undefined) {
    status({
      type: 'address',
      address: ipv4.address,
      prefixLen: ipv4.prefixLen,
      source: 'static',
      ...(options.gateway !== undefined ? { gateway: options.gateway } : {}),
      dns: options.dns ?? [],
    });
  }

  let server: SockServer | undefined;
  const close = async (): Promise<void> => {
    stopWatch?.();
    stopWatch = undefined;
    dhcp?.stop(runner.now(), { release: true });
    dhcp6?.close();
    await server?.close();
    await network.close();
    await backend.close();
    runner.close();
    stack.close();
    link.close();
    await file?.close();
    status({ type: 'stopped' });
  };
  if (options.serve === 'sockserver') {
    try {
      server = await startSockServer(network, {
        portOffset: options.portOffset ?? 0,
        // IPv4, and IPv6 too when the interface has it (separate v6-only sockets on '::').
        ...(ipv6 === undefined ? { host: '0.0.0.0', ipv6: false } : {}),
        ...(options.onServeError !== undefined ? { onError: options.onServeError } : {}),
      });
    } catch (e) {
      await close();
      throw e;
    }
    const ports = server.listeners.map((l) => `${l.service}/${l.protocol} ${l.address.port}`).join(', ');
    status({ type: 'serving', service: 'sockserver', ports });
  }
  return { stack, runner, backend, network, link: tap, server, dhcp, dhcp6, close };
}

/** The status line of an IPv6 event (undefined: not reported). */
function ipv6Status(e: Ipv6Event): TapNodeStatus | undefined {
  switch (e.kind) {
    case 'address':
    case 'address-removed':
      return {
        type: 'ipv6-address', address: formatIPv6(e.info.address), prefixLen: e.info.prefixLen,
        state: e.kind === 'address' ? e.info.state : 'removed', origin: e.info.origin,
      };
    case 'router':
      return { type: 'ipv6-router', router: formatIPv6(e.router), added: e.added };
    case 'dns':
      return { type: 'ipv6-dns', source: 'ra', servers: e.servers.map(formatIPv6) };
    case 'other-config':
      return undefined; // the DHCPv6 client reports what it learns
  }
}

/** The status of a DHCP client event (state changes are reported as 'dhcp-state'). */
function dhcpStatus(e: Dhcp4ClientEvent): TapNodeStatus | undefined {
  switch (e.type) {
    case 'state':
      return { type: 'dhcp-state', state: e.to };
    case 'bound':
    case 'renewed':
    case 'rebound':
    case 'expired': {
      const l = e.lease;
      return {
        type: 'dhcp',
        event: e.type,
        address: Stack.format(l.address),
        prefixLen: l.prefixLen,
        server: Stack.format(l.serverId),
        ...(l.gateway !== undefined ? { gateway: Stack.format(l.gateway) } : {}),
        dns: l.dnsServers.map(Stack.format),
        leaseSeconds: l.leaseSeconds,
        ...(l.mtu !== undefined ? { mtu: l.mtu } : {}),
      };
    }
    case 'released':
      return undefined; // reported by 'stopped'
    case 'nak':
      return { type: 'dhcp', event: 'nak', address: '', server: Stack.format(e.serverId) };
    case 'declined':
      return { type: 'dhcp', event: 'declined', address: Stack.format(e.address), server: Stack.format(e.serverId) };
    case 'reboot-failed':
      return { type: 'dhcp', event: 'reboot-failed', address: Stack.format(e.address) };
  }
}
