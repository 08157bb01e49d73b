/**
 * `iotnet tap IFNAME`: a userspace stack on an existing TAP interface, one status line
 * per state change, until SIGINT or SIGTERM.
 */
import { startTapNode, type TapNodeOptions, type TapNodeStatus } from '../apps/tap-node/tap-node.ts';
import { parseIPv6 } from '../base/ip-address.ts';
import { isInterfaceName } from '../runtime/tap-native.ts';
import { forEachOption, ipv4Arg, ipv4PrefixArg, ipv6PrefixArg, portOffsetArg } from './args.ts';
import { UsageError } from './usage-error.ts';

export const TAP_USAGE = `Usage: iotnet tap IFNAME [options]

Attaches a userspace TCP/IP stack to the TAP interface IFNAME (an existing one, e.g.
made by 'ip tuntap add mode tap name IFNAME'; root or CAP_NET_ADMIN is needed to open
it) and runs until SIGINT or SIGTERM, printing one line per state change.

Options:
  --ipv4 ADDR/LEN       the stack's IPv4 address and prefix length, or
  --ipv4 dhcp           an address from DHCPv4 (RFC 2131, with RFC 5227 probing): the lease
                        sets address, route, MTU and DNS servers (unless --dns is given)
  --ipv6 auto           IPv6 by autoconfiguration: a link-local address, SLAAC addresses
                        from router advertisements (stable identifiers, RFC 7217), DNS
                        servers from RDNSS and, when the router asks, stateless DHCPv6
  --ipv6 ADDR/LEN       a static IPv6 address (2001:db8::2/64), beside the link-local one
  --gateway6 ADDR       IPv6 default router (with --ipv6 ADDR/LEN)
                        (at least one of --ipv4 and --ipv6 is required; DAD runs for every
                        IPv6 address, and each address state is reported)
  --hostname NAME       DHCP: the host name sent to the server
  --gateway ADDR        default gateway
  --dns ADDR            a DNS server (repeatable)
  --mac MAC             the stack's Ethernet address (default: random, locally administered)
  --serve sockserver    run the reference test server on the stack (ports as 'iotnet sockserver')
  --port-offset K       add K to the served ports (default 0)
  --pcap FILE           capture every frame to FILE (pcap, Ethernet)
  --verbose             report failures inside served sessions on stderr
  -h, --help            this text

The TAP addon must be built: in a source checkout, 'npm ci' builds it when a C
compiler is present, or 'npm run build:native'. The npm package ships no native code.`;

interface TapArgs {
  options: TapNodeOptions;
  help: boolean;
  verbose: boolean;
}

export function parseTapArgs(args: readonly string[]): TapArgs {
  let ifname: string | undefined;
  let ipv4: { address: string; prefixLen: number } | 'dhcp' | undefined;
  let ipv6: { address: string; prefixLen: number } | 'auto' | undefined;
  let gateway6: string | undefined;
  let hostname: string | undefined;
  let gateway: string | undefined;
  const dns: string[] = [];
  let mac: string | undefined;
  let serve: 'sockserver' | undefined;
  let portOffset: number | undefined;
  let pcap: string | undefined;
  let help = false;
  let verbose = false;
  forEachOption(args, (name, value, arg) => {
    switch (name) {
      case '--ipv4': {
        const v = value();
        ipv4 = v === 'dhcp' ? 'dhcp' : ipv4PrefixArg('--ipv4', v);
        break;
      }
      case '--ipv6': {
        const v = value();
        ipv6 = v === 'auto' ? 'auto' : ipv6PrefixArg('--ipv6', v);
        break;
      }
      case '--gateway6': {
        const v = value();
        if (parseIPv6(v) === undefined) throw new UsageError(`--gateway6: not an IPv6 address: '${v}'`);
        gateway6 = v;
        break;
      }
      case '--hostname': {
        const v = value();
        if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(v) || v.length > 253) throw new UsageError(`--hostname: not a host name: '${v}'`);
        hostname = v;
        break;
      }
      case '--gateway':
        gateway = ipv4Arg('--gateway', value());
        break;
      case '--dns': {
        const v = value();
        const host = v.includes(':') ? v.slice(0, v.lastIndexOf(':')) : v;
        ipv4Arg('--dns', host);
        dns.push(v);
        break;
      }
      case '--mac': {
        const v = value();
        if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(v)) throw new UsageError(`--mac: expected aa:bb:cc:dd:ee:ff, got '${v}'`);
        mac = v;
        break;
      }
      case '--serve': {
        const v = value();
        if (v !== 'sockserver') throw new UsageError(`--serve: unknown service '${v}' (known: sockserver)`);
        serve = v;
        break;
      }
      case '--port-offset':
        portOffset = portOffsetArg(value());
        break;
      case '--pcap':
        pcap = value();
        break;
      case '--verbose':
        verbose = true;
        break;
      case '-h':
      case '--help':
        help = true;
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}'`);
        if (ifname !== undefined) throw new UsageError(`one IFNAME only (got '${ifname}' and '${arg}')`);
        if (!isInterfaceName(arg)) throw new UsageError(`not an interface name: '${arg}' (1-15 characters)`);
        ifname = arg;
    }
  });
  if (help) return { options: { ifname: ifname ?? '', ipv4: 'dhcp' }, help, verbose };
  if (ifname === undefined) throw new UsageError('IFNAME is missing');
  if (ipv4 === undefined && ipv6 === undefined) throw new UsageError('--ipv4 (ADDR/LEN or dhcp) or --ipv6 (auto or ADDR/LEN) is required');
  if (hostname !== undefined && ipv4 !== 'dhcp') throw new UsageError('--hostname is for --ipv4 dhcp');
  if (gateway6 !== undefined && (ipv6 === undefined || ipv6 === 'auto')) throw new UsageError('--gateway6 is for --ipv6 ADDR/LEN (with auto, routers come from advertisements)');
  if (gateway !== undefined && (ipv4 === undefined || ipv4 === 'dhcp')) throw new UsageError('--gateway is for --ipv4 ADDR/LEN');
  const options: TapNodeOptions = {
    ifname,
    ...(ipv4 !== undefined ? { ipv4 } : {}),
    ...(ipv6 !== undefined ? { ipv6 } : {}),
    ...(gateway6 !== undefined ? { gateway6 } : {}),
    dns,
    ...(gateway !== undefined ? { gateway } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
    ...(mac !== undefined ? { mac } : {}),
    ...(serve !== undefined ? { serve } : {}),
    ...(portOffset !== undefined ? { portOffset } : {}),
    ...(pcap !== undefined ? { pcap } : {}),
  };
  return { options, help, verbose };
}

/** One line per status. */
export function statusLine(s: TapNodeStatus): string {
  switch (s.type) {
    case 'link-up':
    case 'link-down':
      return `tap: link ${s.type === 'link-up' ? 'up' : 'down'}: ${s.ifname} (mtu ${s.mtu}, stack mac ${s.mac})`;
    case 'address':
      return `tap: address ${s.address}/${s.prefixLen} (${s.source})${s.gateway !== undefined ? `, gateway ${s.gateway}` : ''}${s.dns.length > 0 ? `, dns ${s.dns.join(' ')}` : ''}`;
    case 'dhcp': {
      const lease = s.leaseSeconds !== undefined ? `, lease ${s.leaseSeconds} s` : '';
      const extra = `${s.gateway !== undefined ? `, gateway ${s.gateway}` : ''}${s.dns !== undefined && s.dns.length > 0 ? `, dns ${s.dns.join(' ')}` : ''}${s.mtu !== undefined ? `, mtu ${s.mtu}` : ''}`;
      switch (s.event) {
        case 'bound':
          return `tap: address ${s.address}/${s.prefixLen ?? 0} (dhcp from ${s.server ?? '?'}${lease})${extra}`;
        case 'renewed':
        case 'rebound':
          return `tap: lease ${s.event} ${s.address} (dhcp from ${s.server ?? '?'}${lease})`;
        case 'expired':
          return `tap: lease expired, address ${s.address} removed`;
        case 'nak':
          return `tap: dhcp NAK from ${s.server ?? '?'}`;
        case 'declined':
          return `tap: dhcp address ${s.address} in use by another host (RFC 5227 conflict), declined`;
        case 'reboot-failed':
          return `tap: dhcp could not reuse ${s.address}, starting over`;
      }
      return `tap: dhcp ${String(s.event)}`;
    }
    case 'dhcp-state':
      return `tap: dhcp ${s.state}`;
    case 'serving':
      return `tap: serving ${s.service}: ${s.ports}`;
    case 'ipv6-address':
      return `tap: ipv6 address ${s.address}/${s.prefixLen} (${s.origin}) ${s.state}`;
    case 'ipv6-router':
      return `tap: ipv6 default router ${s.router} ${s.added ? 'added' : 'gone'}`;
    case 'ipv6-dns':
      return `tap: ipv6 dns (${s.source}) ${s.servers.length > 0 ? s.servers.join(' ') : 'none'}${s.domains !== undefined && s.domains.length > 0 ? `, search ${s.domains.join(' ')}` : ''}`;
    case 'stopped':
      return 'tap: stopped';
  }
}

export async function runTap(args: readonly string[], describeError: (e: unknown) => string): Promise<number> {
  const parsed = parseTapArgs(args);
  if (parsed.help) {
    console.log(TAP_USAGE);
    return 0;
  }
  const node = await startTapNode({
    ...parsed.options,
    onStatus: (s) => console.log(statusLine(s)),
    ...(parsed.verbose ? { onServeError: (e: unknown, service: string) => console.error(`tap: ${service}: ${describeError(e)}`) } : {}),
  });
  console.log('tap: ready; SIGINT or SIGTERM stops');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.log(`tap: ${signal}, shutting down`);
  await node.close();
  return 0;
}
