/**
 * A small local authoritative DNS server for tests (UDP only), using `dns-packet`
 * for the message codec.
 *
 * ```ts
 * const dns = await startDnsFixture({
 *   records: { 'host.test': { A: ['10.1.2.3'], AAAA: ['fd00::3'] }, 'alias.test': { CNAME: 'host.test' } },
 *   silent: ['blackhole.test'],
 * });
 * resolver.setServers([`127.0.0.1:${dns.port}`]);
 * ...
 * await dns.close();
 * ```
 *
 * Answers (RFC 1034 §4.3.2, simplified to one zone that holds every name):
 * - a name with records of the asked type: NOERROR with those records (AA set);
 * - a known name without the asked type: NOERROR with no answers (NODATA);
 * - an unknown name: NXDOMAIN;
 * - a CNAME: the CNAME record, then the target's answer (chains followed, up to 8 links);
 *   a chain ending in an unknown name gives NXDOMAIN with the CNAMEs (RFC 6604 §2.1);
 * - a name listed in `silent`: no reply at all (for timeout tests); still counted in `queries`.
 * Names match case-insensitively, with or without a trailing dot. Only the first question
 * is answered; no SOA is put in negative answers; no TCP, no truncation handling (keep
 * record sets small).
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Question } from 'dns-packet';
import { parseIPv4, parseIPv6 } from '../../src/base/ip-address.ts';

/** The records of one name. A CNAME excludes other data (RFC 1034 §3.6.2). */
export interface DnsFixtureRecordSet {
  readonly A?: readonly string[];
  readonly AAAA?: readonly string[];
  readonly CNAME?: string;
}

export interface DnsFixtureOptions {
  /** Records by name (`'host.test'`). */
  readonly records?: Readonly<Record<string, DnsFixtureRecordSet>>;
  /** Names whose queries are never answered. */
  readonly silent?: readonly string[];
  /** Address to listen on; `'127.0.0.1'` by default (an IPv6 literal listens on UDP6). */
  readonly host?: string;
  /** Port to listen on; 0 (ephemeral) by default. */
  readonly port?: number;
  /** TTL of every answer, in seconds; 60 by default. */
  readonly ttl?: number;
}

export interface DnsFixture {
  /** The bound UDP port. */
  readonly port: number;
  /** The bound address (`'127.0.0.1'`). */
  readonly address: string;
  /** Number of DNS queries received so far (silent ones included, undecodable datagrams not). */
  readonly queries: number;
  /** Stops the server; calling it again is harmless. */
  close(): Promise<void>;
}

const RCODE_NOERROR = 0;
const RCODE_FORMERR = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;
const MAX_CHAIN = 8;

const normalize = (name: string): string => name.toLowerCase().replace(/\.$/, '');

function validate(records: Readonly<Record<string, DnsFixtureRecordSet>>): Map<string, DnsFixtureRecordSet> {
  const zone = new Map<string, DnsFixtureRecordSet>();
  for (const [name, set] of Object.entries(records)) {
    for (const a of set.A ?? []) {
      if (parseIPv4(a) === undefined) throw new Error(`dns fixture: ${name}: bad A record ${JSON.stringify(a)}`);
    }
    for (const a of set.AAAA ?? []) {
      if (parseIPv6(a) === undefined) throw new Error(`dns fixture: ${name}: bad AAAA record ${JSON.stringify(a)}`);
    }
    if (set.CNAME !== undefined && (set.A !== undefined || set.AAAA !== undefined)) {
      throw new Error(`dns fixture: ${name}: a CNAME cannot have other records`);
    }
    zone.set(normalize(name), set);
  }
  return zone;
}

/** Builds the answer section and rcode for one question. */
function answer(zone: Map<string, DnsFixtureRecordSet>, q: Question, ttl: number): { rcode: number; answers: Answer[] } {
  const answers: Answer[] = [];
  let owner = q.name; // the first owner name echoes the question's spelling
  let name = normalize(q.name);
  for (let links = 0; ; links++) {
    const set = zone.get(name);
    if (set === undefined) return { rcode: RCODE_NXDOMAIN, answers };
    if (set.CNAME !== undefined && q.type !== 'CNAME') {
      if (links >= MAX_CHAIN) return { rcode: RCODE_NOERROR, answers }; // loop or overlong chain: stop
      answers.push({ type: 'CNAME', name: owner, ttl, data: set.CNAME });
      owner = set.CNAME;
      name = normalize(set.CNAME);
      continue;
    }
    if (q.type === 'A') for (const data of set.A ?? []) answers.push({ type: 'A', name: owner, ttl, data });
    if (q.type === 'AAAA') for (const data of set.AAAA ?? []) answers.push({ type: 'AAAA', name: owner, ttl, data });
    if (q.type === 'CNAME' && set.CNAME !== undefined) answers.push({ type: 'CNAME', name: owner, ttl, data: set.CNAME });
    return { rcode: RCODE_NOERROR, answers };
  }
}

/** Starts the server; resolves once it is listening. Rejects on bad records or a bind failure. */
export async function startDnsFixture(options: DnsFixtureOptions = {}): Promise<DnsFixture> {
  const zone = validate(options.records ?? {});
  const silent = new Set((options.silent ?? []).map(normalize));
  const host = options.host ?? '127.0.0.1';
  const ttl = options.ttl ?? 60;
  const socket = dgram.createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  let queries = 0;

  socket.on('message', (msg, rinfo) => {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: drop
    }
    if (query.type !== 'query') return;
    queries++;
    const questions = query.questions ?? [];
    const q = questions[0];
    if (q !== undefined && silent.has(normalize(q.name))) return;
    let rcode: number;
    let answers: Answer[] = [];
    if (q === undefined) rcode = RCODE_FORMERR;
    else if ((query.flags ?? 0) & 0x7800) rcode = RCODE_NOTIMP; // opcode other than QUERY
    else ({ rcode, answers } = answer(zone, q, ttl));
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | rcode,
      questions: q === undefined ? [] : [q],
      answers,
    });
    socket.send(reply, rinfo.port, rinfo.address);
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 0, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => {}); // a failed send must not crash the test process
  const bound = socket.address();
  let closed: Promise<void> | undefined;

  return {
    port: bound.port,
    address: bound.address,
    get queries() {
      return queries;
    },
    close() {
      closed ??= new Promise<void>((resolve) => socket.close(() => resolve()));
      return closed;
    },
  };
}
