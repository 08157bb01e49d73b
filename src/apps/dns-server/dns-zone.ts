/**
 * One authoritative zone from a simple record table, validated when built.
 *
 * ```ts
 * new DnsZone({
 *   origin: 'iot.test',
 *   records: [
 *     { name: 'broker', type: 'A', data: '10.0.0.1' },          // relative to the origin
 *     { name: 'broker.iot.test', type: 'AAAA', data: 'fd00::1' }, // or absolute
 *     { name: 'mqtt', type: 'CNAME', data: 'broker.iot.test' },
 *     { name: '*.devices', type: 'A', data: '10.0.0.9' },         // wildcard (RFC 4592)
 *     { name: '@', type: 'TXT', data: 'v=1' },                    // the apex
 *   ],
 * });
 * ```
 *
 * - Record types: A, AAAA, CNAME, TXT, NS; an SOA at the apex is made from `soa`
 *   (defaults below) and gives negative answers their TTL (RFC 2308: the SOA's
 *   MINIMUM, the SOA record's own TTL being the same value).
 * - A name is absolute if it is the origin or ends in it, else relative; `@` is the
 *   apex. Names compare case-insensitively; the table's spelling is kept for targets.
 * - A CNAME owner has no other data (RFC 1034 §3.6.2) and is not the apex; a wildcard
 *   is a leftmost `*` label only.
 * - Bad tables throw `RangeError` (configuration, not network input).
 */
import { parseIPv4, parseIPv6 } from '../../base/ip-address.ts';
import { checkHostName, isInZone } from '../../backends/dns/dns-name.ts';

/** Record types a zone table may hold. */
export type DnsRecordType = 'A' | 'AAAA' | 'CNAME' | 'TXT' | 'NS';

/** One row of the record table. */
export interface DnsRecord {
  /** Owner: absolute, relative to the origin, `@` for the apex, or `*.<name>` (wildcard). */
  readonly name: string;
  /** Record type. */
  readonly type: DnsRecordType;
  /** Address text (A, AAAA), target name (CNAME, NS) or text (TXT, up to 255 bytes per string; longer text is split). */
  readonly data: string;
  /** TTL in seconds (default: the zone's). */
  readonly ttl?: number;
}

/** SOA fields (RFC 1035 §3.3.13). */
export interface DnsSoa {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  /** Negative-caching TTL (RFC 2308). */
  readonly minimum: number;
}

/** A zone as configured. */
export interface DnsZoneConfig {
  /** The zone's apex name, e.g. `'iot.test'`. */
  readonly origin: string;
  /** The record table. */
  readonly records: readonly DnsRecord[];
  /** Default TTL of the records, s (default 300). */
  readonly ttl?: number;
  /** SOA fields; defaults: `ns.<origin>`, `hostmaster.<origin>`, serial 1, 3600, 600, 86400, minimum 60. */
  readonly soa?: Partial<DnsSoa>;
}

/** A record as stored: owner in comparison form, data ready for the codec. */
export interface ZoneRecord {
  readonly type: DnsRecordType;
  readonly data: string;
  readonly ttl: number;
}

const MAX_TTL = 0x7fff_ffff;

function checkTtl(ttl: number, where: string): number {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) throw new RangeError(`${where}: TTL ${ttl} is not an integer 0..2^31-1`);
  return ttl;
}

function utf8Bytes(s: string): number {
  return new TextEncoder().encode(s).length;
}

/**
 * One authoritative zone built from a simple record table (relative or absolute names, `@` for the apex, wildcards),
 * validated when built: a bad table throws `RangeError`.
 */
export class DnsZone {
  /** The apex in comparison form. */
  readonly origin: string;
  /** The zone's SOA data (primary name server, mailbox, serial, timers). */
  readonly soa: DnsSoa;
  /** TTL of the SOA record (= its MINIMUM, as RFC 2308 §4 recommends for negative answers). */
  readonly soaTtl: number;
  private readonly nodes = new Map<string, ZoneRecord[]>();
  /** Every owner name and every name between an owner and the apex (empty non-terminals). */
  private readonly names = new Set<string>();

  constructor(config: DnsZoneConfig) {
    const origin = checkHostName(config.origin);
    if (origin === undefined) throw new RangeError(`zone origin ${JSON.stringify(config.origin)} is not a valid name`);
    this.origin = origin;
    const ttl = checkTtl(config.ttl ?? 300, `zone ${origin}`);
    const s = config.soa ?? {};
    const mname = checkHostName(s.mname ?? `ns.${origin}`);
    const rname = checkHostName(s.rname ?? `hostmaster.${origin}`);
    if (mname === undefined || rname === undefined) throw new RangeError(`zone ${origin}: bad SOA mname or rname`);
    this.soa = {
      mname,
      rname,
      serial: s.serial ?? 1,
      refresh: s.refresh ?? 3600,
      retry: s.retry ?? 600,
      expire: s.expire ?? 86_400,
      minimum: checkTtl(s.minimum ?? 60, `zone ${origin} SOA minimum`),
    };
    this.soaTtl = this.soa.minimum;
    this.names.add(origin);
    for (const [i, r] of config.records.entries()) this.add(r, ttl, `zone ${origin} record ${i}`);
  }

  private absolute(name: string, where: string): string {
    const text = name === '@' ? this.origin : name;
    const wild = text.startsWith('*.');
    const checked = checkHostName(wild ? text.slice(2) : text);
    if (checked === undefined) throw new RangeError(`${where}: ${JSON.stringify(name)} is not a valid name`);
    const full = isInZone(checked, this.origin) ? checked : checkHostName(`${checked}.${this.origin}`);
    if (full === undefined) throw new RangeError(`${where}: ${JSON.stringify(name)} is too long in zone ${this.origin}`);
    return wild ? `*.${full}` : full;
  }

  private add(r: DnsRecord, defaultTtl: number, where: string): void {
    const owner = this.absolute(r.name, where);
    const ttl = checkTtl(r.ttl ?? defaultTtl, where);
    let data = r.data;
    switch (r.type) {
      case 'A':
        if (parseIPv4(data) === undefined) throw new RangeError(`${where}: A data ${JSON.stringify(data)} is not an IPv4 address`);
        break;
      case 'AAAA':
        if (parseIPv6(data) === undefined) throw new RangeError(`${where}: AAAA data ${JSON.stringify(data)} is not an IPv6 address`);
        break;
      case 'CNAME':
      case 'NS': {
        const target = checkHostName(data);
        if (target === undefined) throw new RangeError(`${where}: ${r.type} target ${JSON.stringify(data)} is not a valid name`);
        data = data.endsWith('.') ? data.slice(0, -1) : data;
        break;
      }
      case 'TXT':
        if (typeof data !== 'string') throw new RangeError(`${where}: TXT data must be a string`);
        break;
      default:
        throw new RangeError(`${where}: unsupported type ${JSON.stringify((r as { type: unknown }).type)}`);
    }
    const list = this.nodes.get(owner) ?? [];
    const hasCname = list.some((x) => x.type === 'CNAME');
    if (r.type === 'CNAME' ? list.length > 0 : hasCname) {
      throw new RangeError(`${where}: ${owner} has a CNAME and other data (RFC 1034 §3.6.2)`);
    }
    if (r.type === 'CNAME' && owner === this.origin) throw new RangeError(`${where}: the zone apex cannot be a CNAME`);
    list.push({ type: r.type, data, ttl });
    this.nodes.set(owner, list);
    for (let n = owner; n !== this.origin; n = n.slice(n.indexOf('.') + 1)) this.names.add(n);
  }

  /** True if `name` (comparison form) lies in this zone. */
  contains(name: string): boolean {
    return isInZone(name, this.origin);
  }

  /** The records owned by `name` exactly (a stored wildcard owner is `*.<name>`), or undefined. */
  records(name: string): readonly ZoneRecord[] | undefined {
    return this.nodes.get(name);
  }

  /** True if `name` exists: it owns records or has descendants that do (an empty non-terminal). */
  exists(name: string): boolean {
    return this.names.has(name);
  }

  /**
   * The wildcard records that apply to `name` if it does not exist (RFC 4592 §3.3.1:
   * `*.<closest encloser>`), or undefined.
   */
  wildcard(name: string): readonly ZoneRecord[] | undefined {
    let n = name;
    while (n !== this.origin) {
      const dot = n.indexOf('.');
      if (dot < 0) return undefined;
      n = n.slice(dot + 1);
      if (this.names.has(n)) return this.nodes.get(`*.${n}`); // the closest encloser
    }
    return undefined;
  }

  /** TXT strings as the codec takes them: chunks of at most 255 bytes. */
  static txtChunks(text: string): string[] {
    if (utf8Bytes(text) <= 255) return [text];
    const out: string[] = [];
    let cur = '';
    for (const ch of text) {
      if (utf8Bytes(cur + ch) > 255) {
        out.push(cur);
        cur = '';
      }
      cur += ch;
    }
    out.push(cur);
    return out;
  }
}
