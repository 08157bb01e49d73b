/**
 * Parsers of ESP-AT response and URC lines, both dialects (reference `at-modules.md` §1.3-§1.5):
 * link notices, `+CWLAP`, `+CIPSTA`, `+CIFSR`, `+CWJAP?`, `+CIPSTATE`/`+CIPSTATUS`, `+CIPDOMAIN`,
 * `+CIPRECVLEN`, `+CIPDNS`, `+LINK_CONN`. Pure; untrusted text gives undefined, never a throw.
 */
import { parseIPv4 } from '../../base/ip-address.ts';
import { fieldInt, parseAtInfo, type AtField } from '../../wire/at/at-params.ts';

/** Wi-Fi security as `+CWLAP` reports it (`ecn`). */
export type WifiSecurity = 'open' | 'wep' | 'wpa' | 'wpa2' | 'wpa-wpa2' | 'wpa2-enterprise' | 'wpa3' | 'wpa2-wpa3' | 'unknown';

const ECN: readonly WifiSecurity[] = ['open', 'wep', 'wpa', 'wpa2', 'wpa-wpa2', 'wpa2-enterprise', 'wpa3', 'wpa2-wpa3'];

/** One access point of a scan. */
export interface AccessPoint {
  /** The network's SSID. */
  readonly ssid: string;
  /** `aa:bb:cc:dd:ee:ff`, lower case. */
  readonly bssid: string;
  /** dBm. */
  readonly rssi: number;
  /** Wi-Fi channel. */
  readonly channel: number;
  /** Security (from `ecn`). */
  readonly security: WifiSecurity;
}

/** `<id>,CONNECT` / `<id>,CLOSED` / `<id>,CONNECT FAIL`. */
export const LINK_LINE = /^([0-4]),(CONNECT|CLOSED|CONNECT FAIL)$/;

/** A link notice, or undefined. */
export function parseLinkLine(line: string): { id: number; event: 'CONNECT' | 'CLOSED' | 'CONNECT FAIL' } | undefined {
  const m = LINK_LINE.exec(line);
  if (m === null) return undefined;
  return { id: Number(m[1]), event: m[2] as 'CONNECT' | 'CLOSED' | 'CONNECT FAIL' };
}

/** The fields after `+NAME:` when the line's name is one of `names`. */
function fieldsOf(line: string, names: readonly string[]): AtField[] | undefined {
  const info = parseAtInfo(line);
  if (info === undefined || !names.includes(info.name)) return undefined;
  return info.fields;
}

const MAC_RE = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;

/** One `+CWLAP:(…)` line: 11 fields (or 7 on NONOS < 1.6, or 5 with CWLAPOPT mask 31); the first five are positional. */
export function parseCwlap(line: string): AccessPoint | undefined {
  const f = fieldsOf(line, ['+CWLAP']);
  if (f === undefined || f.length < 5) return undefined;
  const ecn = fieldInt(f[0]);
  const rssi = fieldInt(f[2]);
  const channel = fieldInt(f[4]);
  const bssid = f[3]?.text ?? '';
  if (ecn === undefined || rssi === undefined || channel === undefined || !MAC_RE.test(bssid)) return undefined;
  return { ssid: f[1]?.text ?? '', bssid: bssid.toLowerCase(), rssi, channel, security: ECN[ecn] ?? 'unknown' };
}

/** Station addresses from `+CIPSTA:ip:"…"` (or `+CIPSTA_CUR:`) lines. */
export interface StationAddresses {
  ip?: Uint8Array;
  gateway?: Uint8Array;
  netmask?: Uint8Array;
}

/** Parses the lines of `AT+CIPSTA?` / `AT+CIPSTA_CUR?`. */
export function parseCipsta(lines: readonly string[]): StationAddresses {
  const out: StationAddresses = {};
  for (const line of lines) {
    const m = /^\+CIPSTA(?:_CUR|_DEF)?:(ip|gateway|netmask):"?([0-9.]{7,15})"?$/.exec(line);
    if (m === null) continue;
    const addr = parseIPv4(m[2] ?? '');
    if (addr !== undefined) out[m[1] as 'ip' | 'gateway' | 'netmask'] = addr;
  }
  return out;
}

/** Parses `AT+CIFSR`: the station IP and MAC. */
export function parseCifsr(lines: readonly string[]): { ip?: Uint8Array; mac?: string } {
  const out: { ip?: Uint8Array; mac?: string } = {};
  for (const line of lines) {
    const f = fieldsOf(line, ['+CIFSR']);
    if (f === undefined || f.length < 2) continue;
    const key = f[0]?.text;
    const value = f[1]?.text ?? '';
    if (key === 'STAIP') {
      const ip = parseIPv4(value);
      if (ip !== undefined) out.ip = ip;
    } else if (key === 'STAMAC' && MAC_RE.test(value)) {
      out.mac = value.toLowerCase();
    }
  }
  return out;
}

/** The current AP from `AT+CWJAP?` (`+CWJAP:"ssid","bssid",ch,rssi,…`; NONOS `+CWJAP_CUR:`). */
export function parseCwjapQuery(lines: readonly string[]): { ssid: string; bssid: string; channel: number; rssi: number } | undefined {
  for (const line of lines) {
    const f = fieldsOf(line, ['+CWJAP', '+CWJAP_CUR']);
    if (f === undefined || f.length < 4 || f[0]?.quoted !== true) continue;
    const channel = fieldInt(f[2]);
    const rssi = fieldInt(f[3]);
    if (channel === undefined || rssi === undefined) continue;
    return { ssid: f[0].text, bssid: (f[1]?.text ?? '').toLowerCase(), channel, rssi };
  }
  return undefined;
}

/** A `+CWJAP:<n>` failure code (NONOS also `+CWJAP_CUR:<n>`), or undefined. */
export function parseCwjapCode(lines: readonly string[]): number | undefined {
  for (const line of lines) {
    const m = /^\+CWJAP(?:_CUR|_DEF)?:(\d)$/.exec(line);
    if (m !== null) return Number(m[1]);
  }
  return undefined;
}

/** One link of `AT+CIPSTATE?` / `AT+CIPSTATUS`. */
export interface LinkState {
  readonly id: number;
  readonly type: string;
  readonly ip: Uint8Array | undefined;
  readonly remotePort: number;
  readonly localPort: number;
  readonly server: boolean;
}

/** Parses `+CIPSTATE:<id>,"<type>","<ip>",<rport>,<lport>,<0|1>` (NONOS `+CIPSTATUS:` the same). */
export function parseLinkState(line: string): LinkState | undefined {
  const f = fieldsOf(line, ['+CIPSTATE', '+CIPSTATUS']);
  if (f === undefined || f.length < 6) return undefined;
  const id = fieldInt(f[0]);
  const rport = fieldInt(f[3]);
  const lport = fieldInt(f[4]);
  const tetype = fieldInt(f[5]);
  if (id === undefined || rport === undefined || lport === undefined) return undefined;
  return { id, type: f[1]?.text ?? '', ip: parseIPv4(f[2]?.text ?? ''), remotePort: rport, localPort: lport, server: tetype === 1 };
}

/**
 * `+LINK_CONN:<status>,<id>,"<type>",<server>,"<ip>",<rport>,<lport>` (ESP-AT with `AT+SYSMSG`
 * bit 1): a link opened (`status` 0) or failed.
 */
export function parseLinkConn(line: string): { ok: boolean; id: number; server: boolean; ip: Uint8Array | undefined; remotePort: number; localPort: number } | undefined {
  const f = fieldsOf(line, ['+LINK_CONN']);
  if (f === undefined || f.length < 7) return undefined;
  const status = fieldInt(f[0]);
  const id = fieldInt(f[1]);
  const server = fieldInt(f[3]);
  const rport = fieldInt(f[5]);
  const lport = fieldInt(f[6]);
  if (status === undefined || id === undefined || rport === undefined || lport === undefined) return undefined;
  return { ok: status === 0, id, server: server === 1, ip: parseIPv4(f[4]?.text ?? ''), remotePort: rport, localPort: lport };
}

/** The address of `+CIPDOMAIN:"1.2.3.4"` or `+CIPDOMAIN:1.2.3.4`, as text (undefined when absent). */
export function parseCipdomain(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const f = fieldsOf(line, ['+CIPDOMAIN']);
    const text = f?.[0]?.text;
    if (text !== undefined && text.length > 0) return text;
  }
  return undefined;
}

/** `+CIPRECVLEN:<l0>,…,<l4>`: bytes waiting per link (empty field = 0; extra fields ignored). */
export function parseCiprecvlen(lines: readonly string[]): number[] | undefined {
  for (const line of lines) {
    const f = fieldsOf(line, ['+CIPRECVLEN']);
    if (f === undefined) continue;
    const out: number[] = [];
    for (let i = 0; i < 5; i++) {
      const v = fieldInt(f[i]);
      out.push(v !== undefined && v > 0 ? v : 0);
    }
    return out;
  }
  return undefined;
}

/** DNS servers from `AT+CIPDNS?` (`+CIPDNS:1,"8.8.8.8","…"`, old builds one `+CIPDNS_CUR:8.8.8.8` per line). */
export function parseCipdns(lines: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const line of lines) {
    const f = fieldsOf(line, ['+CIPDNS', '+CIPDNS_CUR', '+CIPDNS_DEF']);
    if (f === undefined) continue;
    for (const field of f) {
      const addr = parseIPv4(field.text);
      if (addr !== undefined) out.push(addr);
    }
  }
  return out;
}

/** `Recv <n> bytes` among a send's lines: what the module took, or undefined. */
export function parseRecvBytes(lines: readonly string[]): number | undefined {
  for (const line of lines) {
    const m = /^Recv (\d{1,6}) bytes$/.exec(line);
    if (m !== null) return Number(m[1]);
  }
  return undefined;
}

/** True when a line is not module text (bytes outside printable latin1: baud mismatch, boot ROM noise). */
export function isGarbage(line: string): boolean {
  let bad = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c >= 0x7f) bad++;
  }
  return bad > 0 && bad * 4 >= line.length;
}
