/**
 * DNS server addresses as configured (static options, `iotnet tap --dns`, DHCP option 6):
 * `'10.0.0.1'`, `'10.0.0.1:5353'`, `'fd00::1'`, `'[fd00::1]'`, `'[fd00::1]:5353'`, or
 * raw address bytes (4 or 16, port 53).
 */
import type { Af } from '../contract.ts';
import { formatIp, isMulticast, isUnspecified, parseIPv4, parseIPv6 } from '../../base/ip-address.ts';
import { DNS_PORT } from './dns-codec.ts';

/** A server entry as given: address text with optional port, or address bytes. */
export type DnsServerSpec = string | Uint8Array;

/** A parsed DNS server endpoint. */
export interface DnsServerAddress {
  /** Address family: 1 IPv4, 2 IPv6. */
  readonly af: Af;
  /** 4 or 16 bytes. */
  readonly address: Uint8Array;
  /** Port (53 unless the entry named another). */
  readonly port: number;
  /** `'10.0.0.1:53'` / `'[fd00::1]:53'`. */
  readonly text: string;
}

function make(address: Uint8Array, port: number): DnsServerAddress | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (isUnspecified(address) || isMulticast(address)) return undefined;
  const bytes = Uint8Array.from(address);
  const af: Af = bytes.length === 4 ? 1 : 2;
  const host = formatIp(bytes);
  return { af, address: bytes, port, text: af === 1 ? `${host}:${port}` : `[${host}]:${port}` };
}

function parsePort(text: string): number {
  return /^[0-9]{1,5}$/.test(text) ? Number(text) : -1;
}

/** Parses one server entry; undefined if it is not an address (with an optional port). */
export function parseDnsServer(spec: DnsServerSpec): DnsServerAddress | undefined {
  if (spec instanceof Uint8Array) {
    return spec.length === 4 || spec.length === 16 ? make(spec, DNS_PORT) : undefined;
  }
  if (typeof spec !== 'string') return undefined;
  const text = spec.trim();
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    const v6 = parseIPv6(text.slice(1, close));
    const rest = text.slice(close + 1);
    if (v6 === undefined) return undefined;
    if (rest === '') return make(v6, DNS_PORT);
    return rest.startsWith(':') ? make(v6, parsePort(rest.slice(1))) : undefined;
  }
  const v6 = parseIPv6(text);
  if (v6 !== undefined) return make(v6, DNS_PORT);
  const colon = text.lastIndexOf(':');
  const host = colon < 0 ? text : text.slice(0, colon);
  const v4 = parseIPv4(host);
  if (v4 === undefined) return undefined;
  return make(v4, colon < 0 ? DNS_PORT : parsePort(text.slice(colon + 1)));
}

/** Parses a server list; throws `RangeError` naming the first bad entry (configuration errors). */
export function parseDnsServers(list: readonly DnsServerSpec[]): DnsServerAddress[] {
  return list.map((spec, i) => {
    const server = parseDnsServer(spec);
    if (server === undefined) {
      const shown = typeof spec === 'string' ? JSON.stringify(spec) : `${spec instanceof Uint8Array ? spec.length : typeof spec}-byte address`;
      throw new RangeError(`DNS server ${i}: ${shown} is not an IPv4/IPv6 address with an optional port`);
    }
    return server;
  });
}
