/**
 * The authoritative answer logic (RFC 1034 §4.3.2, simplified: no delegations, no
 * glue), from query bytes to response bytes, for any transport. Pure: no sockets.
 *
 * - One question of class IN (or ANY). The zone is the one with the longest origin
 *   containing the name; none: REFUSED (not authoritative, no recursion offered).
 * - In the zone: records of the type asked (any type for ANY), or a CNAME, which is
 *   followed through every zone this server holds (at most 8 links; a loop stops the
 *   chain); a name that does not exist may match a wildcard (RFC 4592), and otherwise
 *   gives NXDOMAIN; an existing name without the type (or an empty non-terminal)
 *   gives NODATA. Negative answers carry the zone's SOA in the authority section
 *   (RFC 2308 §3). AA is set; RD is copied; RA is clear.
 * - Transport limits: over UDP a response larger than 512 bytes, or the client's
 *   EDNS(0) size (capped by ours), is sent with TC set and no records (RFC 2181 §9,
 *   RFC 7766 §8) so the client asks again over TCP. EDNS(0) queries get an OPT back;
 *   an EDNS version other than 0 gets BADVERS (RFC 6891 §6.1.3).
 * - Bad input: a message that cannot be decoded but has a query header gets FORMERR
 *   (id echoed, no question); shorter junk and responses (QR set) are dropped; other
 *   opcodes get NOTIMP; not exactly one question gets FORMERR. Nothing throws.
 */
import type { Answer, Packet, Question } from '../../backends/dns/dns-codec.ts';
import {
  DNS_UDP_CLASSIC, FLAG_QR, FLAG_RD, RCODE_FORMERR, RCODE_NOERROR, RCODE_NOTIMP, RCODE_NXDOMAIN, RCODE_REFUSED, RCODE_SERVFAIL,
  decodeDnsMessage, dnsFlags, encodeDnsMessage, opcodeOf, peekFlags, peekId,
} from '../../backends/dns/dns-codec.ts';
import { canonicalName, checkHostName } from '../../backends/dns/dns-name.ts';
import { DnsZone, type ZoneRecord } from './dns-zone.ts';

/** How one query was answered (for the server's counters). */
export type DnsOutcome = 'answer' | 'nodata' | 'nxdomain' | 'refused' | 'formerr' | 'notimp' | 'servfail' | 'badvers' | 'dropped';

/** A response to send (or nothing), and how the query was answered. */
export interface DnsReply {
  readonly bytes: Uint8Array | undefined;
  readonly outcome: DnsOutcome;
  readonly truncated: boolean;
}

/** Settings of the responder. */
export interface DnsResponderOptions {
  /** Our EDNS(0) UDP payload size (advertised, and the largest UDP answer). Default 1232. */
  readonly ednsUdpSize?: number;
}

const MAX_CHAIN = 8;
const DROP: DnsReply = Object.freeze({ bytes: undefined, outcome: 'dropped', truncated: false });

interface Built {
  rcode: number;
  outcome: DnsOutcome;
  answers: Answer[];
  authorities: Answer[];
  aa: boolean;
}

function soaAnswer(zone: DnsZone): Answer {
  return { type: 'SOA', name: zone.origin, ttl: zone.soaTtl, class: 'IN', data: { ...zone.soa } };
}

function toAnswer(owner: string, r: ZoneRecord): Answer {
  switch (r.type) {
    case 'TXT':
      return { type: 'TXT', name: owner, ttl: r.ttl, class: 'IN', data: DnsZone.txtChunks(r.data) };
    default:
      return { type: r.type, name: owner, ttl: r.ttl, class: 'IN', data: r.data };
  }
}

export class DnsResponder {
  private readonly zones: readonly DnsZone[];
  readonly ednsUdpSize: number;

  constructor(zones: readonly DnsZone[], options: DnsResponderOptions = {}) {
    this.zones = [...zones].sort((a, b) => b.origin.length - a.origin.length);
    const size = options.ednsUdpSize ?? 1232;
    this.ednsUdpSize = Math.min(4096, Math.max(DNS_UDP_CLASSIC, Math.floor(size)));
  }

  private zoneOf(name: string): DnsZone | undefined {
    return this.zones.find((z) => z.contains(name));
  }

  /** Answers one question (class and opcode already checked). */
  private resolve(q: Question): Built {
    const out: Built = { rcode: RCODE_NOERROR, outcome: 'answer', answers: [], authorities: [], aa: true };
    let name = canonicalName(q.name);
    let owner = q.name.endsWith('.') ? q.name.slice(0, -1) : q.name; // the asker's spelling
    const zone0 = this.zoneOf(name);
    if (zone0 === undefined) return { ...out, rcode: RCODE_REFUSED, outcome: 'refused', aa: false };
    const seen = new Set<string>([name]);
    for (let links = 0; ; links++) {
      const zone = this.zoneOf(name);
      if (zone === undefined) return out; // the chain leaves our zones: the client asks elsewhere
      const records = zone.records(name) ?? (zone.exists(name) ? undefined : zone.wildcard(name));
      if (records === undefined) {
        out.authorities.push(soaAnswer(zone));
        if (zone.exists(name)) return { ...out, outcome: 'nodata' }; // empty non-terminal
        return { ...out, rcode: RCODE_NXDOMAIN, outcome: 'nxdomain' };
      }
      const cname = records.find((r) => r.type === 'CNAME');
      if (cname !== undefined && q.type !== 'CNAME') {
        out.answers.push(toAnswer(owner, cname));
        const target = canonicalName(cname.data);
        if (links + 1 >= MAX_CHAIN || seen.has(target)) return out; // overlong or looping chain: stop here
        seen.add(target);
        name = target;
        owner = cname.data;
        continue;
      }
      if (q.type === 'SOA' && name === zone.origin) {
        out.answers.push({ ...soaAnswer(zone), name: owner });
        return out;
      }
      const wanted = records.filter((r) => (q.type as string) === 'ANY' || r.type === q.type);
      if (wanted.length === 0) {
        out.authorities.push(soaAnswer(zone));
        return { ...out, outcome: out.answers.length > 0 ? 'answer' : 'nodata' };
      }
      for (const r of wanted) out.answers.push(toAnswer(owner, r));
      return out;
    }
  }

  /** The reply to one received message over `transport`. */
  respond(bytes: Uint8Array, transport: 'udp' | 'tcp'): DnsReply {
    const flags = peekFlags(bytes);
    const id = peekId(bytes);
    if (flags === undefined || id === undefined || (flags & FLAG_QR) !== 0) return DROP;
    const rd = (flags & FLAG_RD) !== 0;
    const query = decodeDnsMessage(bytes);
    if (query === undefined) return this.error(id, rd, [], RCODE_FORMERR, 'formerr', undefined);
    const questions = query.questions ?? [];
    const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
    const clientSize = opt !== undefined && 'udpPayloadSize' in opt ? opt.udpPayloadSize : undefined;
    const ednsVersion = opt !== undefined && 'ednsVersion' in opt ? opt.ednsVersion : 0;
    const edns = opt !== undefined;
    if (opcodeOf(query) !== 0) return this.error(id, rd, questions.slice(0, 1), RCODE_NOTIMP, 'notimp', edns);
    if (ednsVersion !== 0) return this.badVersion(id, rd, questions.slice(0, 1));
    const q = questions[0];
    if (questions.length !== 1 || q === undefined) return this.error(id, rd, [], RCODE_FORMERR, 'formerr', edns);
    // A name we could not echo faithfully (bad labels, non-ASCII) cannot be in our zones.
    if (q.name !== '.' && checkHostName(q.name) === undefined) return this.error(id, rd, [], RCODE_FORMERR, 'formerr', edns);
    const klass = q.class ?? 'IN';
    if (klass !== 'IN' && klass !== 'ANY') return this.error(id, rd, [q], RCODE_REFUSED, 'refused', edns);
    const built = this.resolve(q);
    const additionals: Answer[] = edns ? [this.opt()] : [];
    const packet = (answers: Answer[], authorities: Answer[], tc: boolean): Packet => ({
      type: 'response',
      id,
      flags: dnsFlags({ aa: built.aa, tc, rd, rcode: built.rcode }),
      questions: [q],
      answers,
      authorities,
      additionals,
    });
    const full = encodeDnsMessage(packet(built.answers, built.authorities, false));
    if (full === undefined) return this.error(id, rd, [q], RCODE_SERVFAIL, 'servfail', edns);
    const limit = transport === 'tcp' ? 65_535 : Math.max(DNS_UDP_CLASSIC, Math.min(clientSize ?? DNS_UDP_CLASSIC, this.ednsUdpSize));
    if (full.length <= limit) return { bytes: full, outcome: built.outcome, truncated: false };
    const cut = encodeDnsMessage(packet([], [], true));
    return { bytes: cut, outcome: built.outcome, truncated: true };
  }

  private opt(): Answer {
    return { type: 'OPT', name: '.', udpPayloadSize: this.ednsUdpSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
  }

  private error(id: number, rd: boolean, questions: Question[], rcode: number, outcome: DnsOutcome, edns: boolean | undefined): DnsReply {
    const bytes = encodeDnsMessage({
      type: 'response',
      id,
      flags: dnsFlags({ rd, rcode }),
      questions,
      additionals: edns === true ? [this.opt()] : [],
    });
    return { bytes, outcome: bytes === undefined ? 'dropped' : outcome, truncated: false };
  }

  /** BADVERS (extended RCODE 16 = upper 8 bits 1, header RCODE 0). */
  private badVersion(id: number, rd: boolean, questions: Question[]): DnsReply {
    const bytes = encodeDnsMessage({
      type: 'response',
      id,
      flags: dnsFlags({ rd }),
      questions,
      additionals: [{ ...(this.opt() as Extract<Answer, { type: 'OPT' }>), extendedRcode: 1 }],
    });
    return { bytes, outcome: bytes === undefined ? 'dropped' : 'badvers', truncated: false };
  }
}

