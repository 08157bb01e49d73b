/**
 * `--via`: which network a client command (`iotnet ping`, `iotnet mqtt`) goes through, its
 * options, and bringing it up.
 *
 *   host            the operating system's stack (Node's sockets)
 *   tap:IF          our userspace stack on the TAP interface IF (root or CAP_NET_ADMIN):
 *                   --ipv4 ADDR/LEN|dhcp (default dhcp), --gateway, --dns, --ipv6 auto|ADDR/LEN
 *   esp-at:PORT     an ESP-AT WiFi module on the serial device PORT: --ssid, --wifi-password
 *   quectel:PORT    a Quectel cellular module on the serial device PORT: --apn
 *   embedded        (ping only) an in-process virtual network with a responder stack
 *
 * `--baud N` sets the serial line rate of an AT module. Progress of the bring-up is
 * reported through `onStatus` (one line per step).
 */
import { startTapNode, type TapNode, type TapNodeStatus } from '../apps/tap-node/tap-node.ts';
import { createEspAt } from '../backends/esp-at/index.ts';
import { createHostBackend } from '../backends/host/index.ts';
import { createQuectel } from '../backends/quectel/index.ts';
import { formatIPv4, parseIPv6 } from '../base/ip-address.ts';
import { openSerialPort } from '../runtime/serial-port.ts';
import { systemScheduler } from '../runtime/system-scheduler.ts';
import { isInterfaceName } from '../runtime/tap-native.ts';
import { Network } from '../socket/network.ts';
import { intArg, ipv4Arg, ipv4PrefixArg, ipv6PrefixArg, secondsArg } from './args.ts';
import { statusLine } from './tap-command.ts';
import { UsageError } from './usage-error.ts';

export type Via =
  | { readonly kind: 'host' }
  | { readonly kind: 'embedded' }
  | { readonly kind: 'tap'; readonly ifname: string }
  | { readonly kind: 'esp-at' | 'quectel'; readonly port: string };

/** The options of every `--via`, as given (checked against the chosen one by `checkViaOptions`). */
export interface ViaOptions {
  ipv4?: { address: string; prefixLen: number } | 'dhcp';
  ipv6?: { address: string; prefixLen: number } | 'auto';
  gateway?: string;
  dns: string[];
  ssid?: string;
  wifiPassword?: string;
  apn?: string;
  baud?: number;
  /** How long bringing the network up may take (ms). */
  upTimeoutMs: number;
}

/** Help text of the `--via` options, for the commands' usage texts. */
export const VIA_OPTIONS_HELP = `  --ipv4 ADDR/LEN|dhcp  tap: the stack's IPv4 address (default dhcp)
  --gateway ADDR        tap: default gateway (with --ipv4 ADDR/LEN)
  --dns ADDR            tap: a DNS server (repeatable; default from DHCP)
  --ipv6 auto|ADDR/LEN  tap: IPv6 by SLAAC, or a static address
  --ssid NAME           esp-at: the access point to join (default iotnet, as 'iotnet sim esp-at')
  --wifi-password PW    esp-at: its passphrase (default iotnet-pass)
  --apn NAME            quectel: the APN (default internet)
  --baud N              esp-at, quectel: the serial line rate (default 115200)
  --up-timeout S        bringing the network up may take S seconds (default 60)`;

/** Parses `--via` text; `allowed` lists the kinds the command supports. */
export function parseVia(text: string, allowed: readonly Via['kind'][]): Via {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  if (!(allowed as readonly string[]).includes(kind)) throw new UsageError(`--via: expected ${allowed.map(viaSyntax).join(', ')}; got '${text}'`);
  switch (kind) {
    case 'host':
    case 'embedded':
      if (colon >= 0) throw new UsageError(`--via ${kind} takes no argument, got '${text}'`);
      return { kind };
    case 'tap':
      if (!isInterfaceName(rest)) throw new UsageError(`--via tap:IF: not an interface name: '${rest}' (1-15 characters)`);
      return { kind: 'tap', ifname: rest };
    default:
      if (rest === '') throw new UsageError(`--via ${kind}:PORT: the serial device is missing (e.g. ${kind}:/dev/ttyUSB0)`);
      return { kind: kind as 'esp-at' | 'quectel', port: rest };
  }
}

function viaSyntax(kind: Via['kind']): string {
  return kind === 'tap' ? 'tap:IF' : kind === 'esp-at' || kind === 'quectel' ? `${kind}:PORT` : kind;
}

export function defaultViaOptions(): ViaOptions {
  return { dns: [], upTimeoutMs: 60_000 };
}

/** Takes option `name` if it is a `--via` option; returns false otherwise. */
export function viaOption(o: ViaOptions, name: string, value: () => string): boolean {
  switch (name) {
    case '--ipv4': {
      const v = value();
      o.ipv4 = v === 'dhcp' ? 'dhcp' : ipv4PrefixArg('--ipv4', v);
      return true;
    }
    case '--ipv6': {
      const v = value();
      o.ipv6 = v === 'auto' ? 'auto' : ipv6PrefixArg('--ipv6', v);
      return true;
    }
    case '--gateway':
      o.gateway = ipv4Arg('--gateway', value());
      return true;
    case '--dns': {
      const v = value();
      ipv4Arg('--dns', v);
      o.dns.push(v);
      return true;
    }
    case '--ssid': {
      const v = value();
      if (v.length < 1 || v.length > 32) throw new UsageError(`--ssid: 1 to 32 characters, got '${v}'`);
      o.ssid = v;
      return true;
    }
    case '--wifi-password':
      o.wifiPassword = value();
      return true;
    case '--apn':
      o.apn = value();
      return true;
    case '--baud':
      o.baud = intArg('--baud', value(), 300, 4_000_000);
      return true;
    case '--up-timeout':
      o.upTimeoutMs = secondsArg('--up-timeout', value(), 1, 3600);
      return true;
    default:
      return false;
  }
}

/** Usage errors for options that do not belong to the chosen `--via`. */
export function checkViaOptions(via: Via, o: ViaOptions): void {
  const wrong = (option: string, kinds: string): UsageError => new UsageError(`${option} is for --via ${kinds}, not --via ${via.kind}`);
  if (via.kind !== 'tap') {
    if (o.ipv4 !== undefined) throw wrong('--ipv4', 'tap:IF');
    if (o.ipv6 !== undefined) throw wrong('--ipv6', 'tap:IF');
    if (o.gateway !== undefined) throw wrong('--gateway', 'tap:IF');
    if (o.dns.length > 0) throw wrong('--dns', 'tap:IF');
  } else if (o.gateway !== undefined && (o.ipv4 === undefined || o.ipv4 === 'dhcp')) throw new UsageError('--gateway is for --ipv4 ADDR/LEN');
  if (via.kind !== 'esp-at') {
    if (o.ssid !== undefined) throw wrong('--ssid', 'esp-at:PORT');
    if (o.wifiPassword !== undefined) throw wrong('--wifi-password', 'esp-at:PORT');
  }
  if (via.kind !== 'quectel' && o.apn !== undefined) throw wrong('--apn', 'quectel:PORT');
  if (via.kind !== 'esp-at' && via.kind !== 'quectel' && o.baud !== undefined) throw wrong('--baud', 'esp-at:PORT or quectel:PORT');
}

/** A network brought up for a command. */
export interface OpenedVia {
  readonly network: Network;
  /** The userspace stack (tap), for ICMP. */
  readonly tap: TapNode | undefined;
  /** One line: what the network is (`userspace stack on tap0, 10.0.0.2`). */
  readonly describe: string;
  close(): Promise<void>;
}

/** Rejects after `ms` with a clear message, unless `p` settles first. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no success within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Brings up the network of `via` (not `embedded`: the ping command builds that itself). */
export async function openVia(via: Via, o: ViaOptions, onStatus: (line: string) => void): Promise<OpenedVia> {
  switch (via.kind) {
    case 'host':
    case 'embedded': {
      const backend = createHostBackend();
      const network = new Network(backend);
      return {
        network, tap: undefined, describe: 'the host stack',
        async close() {
          await network.close();
          await backend.close();
        },
      };
    }
    case 'tap':
      return openTap(via.ifname, o, onStatus);
    case 'esp-at': {
      const stream = await openSerialPort(via.port, { baudRate: o.baud ?? 115200 });
      const esp = createEspAt({ stream, scheduler: systemScheduler, baudKnown: true });
      const close = async (): Promise<void> => {
        await esp.backend.close();
        await esp.module.close();
        stream.close();
      };
      try {
        onStatus(`esp-at: initialising the module on ${via.port}`);
        await withTimeout(esp.wifi.initialize(), o.upTimeoutMs, `esp-at on ${via.port}: module initialisation`);
        const ssid = o.ssid ?? 'iotnet';
        onStatus(`esp-at: joining ${ssid}`);
        await withTimeout(esp.wifi.join({ ssid, password: o.wifiPassword ?? 'iotnet-pass' }), o.upTimeoutMs, `esp-at: joining ${ssid}`);
        const info = await esp.wifi.netInfo();
        const ip = info.ip !== undefined ? formatIPv4(info.ip) : '?';
        onStatus(`esp-at: joined ${ssid}, address ${ip}`);
        return { network: new Network(esp.backend), tap: undefined, describe: `ESP-AT module on ${via.port} (WiFi ${ssid}, ${ip})`, close };
      } catch (e) {
        await close();
        throw e;
      }
    }
    case 'quectel': {
      const stream = await openSerialPort(via.port, { baudRate: o.baud ?? 115200 });
      const apn = o.apn ?? 'internet';
      const q = createQuectel({ stream, scheduler: systemScheduler, apn });
      const close = async (): Promise<void> => {
        await q.backend.close();
        q.modem.dispose();
        stream.close();
      };
      try {
        onStatus(`quectel: bringing the modem on ${via.port} up (SIM, registration, PDP context, APN ${apn})`);
        await withTimeout(q.modem.start(), o.upTimeoutMs, `quectel on ${via.port}: bring-up`);
        const a = q.modem.address;
        onStatus(`quectel: PDP context active${a !== undefined ? `, address ${a}` : ''}`);
        return { network: new Network(q.backend), tap: undefined, describe: `Quectel modem on ${via.port} (APN ${apn})`, close };
      } catch (e) {
        await close();
        throw e;
      }
    }
  }
}

async function openTap(ifname: string, o: ViaOptions, onStatus: (line: string) => void): Promise<OpenedVia> {
  const ipv4 = o.ipv4 ?? (o.ipv6 === undefined ? 'dhcp' : undefined);
  // Up once the addresses asked for are usable: IPv4 (static at once, or bound by DHCP) and
  // a static IPv6 address after DAD; with IPv6 'auto' alone, the first global address.
  const static6 = o.ipv6 !== undefined && o.ipv6 !== 'auto' ? o.ipv6.address : undefined;
  let have4: string | undefined;
  let have6: string | undefined;
  let ready: (address: string) => void = () => {};
  const up = new Promise<string>((resolve) => {
    ready = resolve;
  });
  const check = (): void => {
    if (ipv4 !== undefined && have4 === undefined) return;
    if ((static6 !== undefined || ipv4 === undefined) && have6 === undefined) return;
    ready([have4, have6].filter((x) => x !== undefined).join(', '));
  };
  const status = (s: TapNodeStatus): void => {
    onStatus(statusLine(s));
    if (s.type === 'address' || (s.type === 'dhcp' && s.event === 'bound')) have4 = s.address;
    if (s.type === 'ipv6-address' && s.state === 'preferred') {
      const global = !s.address.toLowerCase().startsWith('fe80');
      if (static6 !== undefined ? sameIpv6(s.address, static6) : global) have6 = s.address;
    }
    check();
  };
  const node = await startTapNode({
    ifname,
    ...(ipv4 !== undefined ? { ipv4 } : {}),
    ...(o.ipv6 !== undefined ? { ipv6: o.ipv6 } : {}),
    ...(o.gateway !== undefined ? { gateway: o.gateway } : {}),
    dns: o.dns,
    onStatus: status,
  });
  try {
    const address = await withTimeout(up, o.upTimeoutMs, `tap ${ifname}: getting an address${ipv4 === 'dhcp' ? ' by DHCP' : ''}`);
    return { network: node.network, tap: node, describe: `our userspace stack on ${ifname} (${address})`, close: () => node.close() };
  } catch (e) {
    await node.close();
    throw e;
  }
}

function sameIpv6(a: string, b: string): boolean {
  const x = parseIPv6(a);
  const y = parseIPv6(b);
  return x !== undefined && y !== undefined && x.every((v, i) => v === y[i]);
}
