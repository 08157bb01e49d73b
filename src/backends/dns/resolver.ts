/**
 * A stub DNS resolver (RFC 1034/1035, 3596, 2308, 5452, 7766) over any backend's
 * sockets, on an injected `Scheduler` and `Rng`.
 *
 * - **Questions**: A for `af` 1, AAAA for `af` 2 (class IN, RD set, EDNS(0) with a
 *   1232-byte UDP size unless `ednsUdpSize: 0`; a FORMERR without OPT is retried
 *   once without EDNS, RFC 6891 §7).
 * - **Servers** (resolv.conf-like): each of `attempts` rounds asks every server in
 *   order (`rotate` starts each lookup one server further), each try waiting
 *   `timeoutMs`. NOERROR with data, NODATA and NXDOMAIN end the lookup; SERVFAIL moves
 *   to the next server (and is asked again next round); REFUSED, NOTIMP and other
 *   RCODEs drop that server for this lookup; a socket error (unreachable, ICMP port
 *   unreachable) moves on at once.
 * - **Results**: the addresses, `EHOSTNOTFOUND` for NXDOMAIN, NODATA (no record of the
 *   family) and names that cannot exist (bad labels or length); `ETIMEDOUT` when every
 *   try timed out; `ERROR` otherwise (all servers failed, no servers configured, CNAME
 *   loop or chain too long, aborted, closed); `EINVAL` for an empty name.
 * - **CNAME chains** are followed inside the answer; a chain that ends without the
 *   wanted type is asked again at its target; at most `maxCnameDepth` links in all,
 *   a name met twice is a loop.
 * - **Security** (RFC 5452): a random 16-bit id per query from the `Rng`, a fresh UDP
 *   socket (random source port) per query, responses matched on source, id and
 *   question (`dns-transport.ts`); mismatches are dropped and counted.
 * - **TC bit**: the same question again over TCP (2-byte framing), `tcpTimeoutMs`.
 * - **Cache**: `cacheSize` entries (LRU); positive answers for the smallest TTL of
 *   the chain (capped at `maxTtlS`), negative answers for min(SOA TTL, SOA MINIMUM)
 *   (RFC 2308 §5, capped at `maxNegativeTtlS`) or `negativeTtlS` without an SOA.
 *   New servers flush it.
 * - **Coalescing**: concurrent lookups of the same name and type share one query; an
 *   `AbortSignal` ends one caller's wait (`ERROR`), and the query itself stops when
 *   every caller gave up.
 *
 * Malformed or unexpected messages never throw; they are dropped and counted in
 * `stats`.
 */
import type { Af, LookupResult } from '../contract.ts';
import {
  IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR, IOT_SOCKET_ETIMEDOUT,
} from '../../base/iot-constants.ts';
import { parseIPv4, parseIPv6 } from '../../base/ip-address.ts';
import type { Rng } from '../../base/rand.ts';
import type { Scheduler } from '../../base/time.ts';
import { DnsCache, type DnsCacheEntry } from './dns-cache.ts';
import type { Answer, DecodedPacket, StringAnswer } from './dns-codec.ts';
import {
  DNS_MAX_MESSAGE, FLAG_RD, RCODE_FORMERR, RCODE_NOERROR, RCODE_NXDOMAIN, RCODE_SERVFAIL, encodeDnsMessage, rcodeOf, ttlOf,
} from './dns-codec.ts';
import { checkHostName, sameName } from './dns-name.ts';
import { parseDnsServers, type DnsServerAddress, type DnsServerSpec } from './dns-servers.ts';
import { tcpExchange, udpExchange, type DnsRequest, type DnsSocketFactory, type ExchangeContext, type ExchangeOutcome } from './dns-transport.ts';

/** The record types a lookup asks for. */
type RecordType = 'A' | 'AAAA';

/** Settings of a `DnsResolver` (all optional). */
export interface DnsResolverOptions {
  /** Servers: `'10.0.0.1'`, `'10.0.0.1:5353'`, `'[fd00::1]:53'`, or address bytes. Default none. */
  readonly servers?: readonly DnsServerSpec[];
  /** Wait per try, ms (resolv.conf `timeout`). Default 2000. */
  readonly timeoutMs?: number;
  /** Rounds over the server list (resolv.conf `attempts`). Default 2. */
  readonly attempts?: number;
  /** Start each lookup at the next server (resolv.conf `rotate`). Default false. */
  readonly rotate?: boolean;
  /** Budget of one TCP exchange after a truncated answer, ms. Default 5000. */
  readonly tcpTimeoutMs?: number;
  /** Cache entries (0 = no cache). Default 256. */
  readonly cacheSize?: number;
  /** Upper bound of a positive answer's cache time, s. Default 86400. */
  readonly maxTtlS?: number;
  /** Cache time of a negative answer without an SOA, s (0 = not cached). Default 30. */
  readonly negativeTtlS?: number;
  /** Upper bound of a negative answer's cache time, s. Default 3600. */
  readonly maxNegativeTtlS?: number;
  /** Most CNAME links followed for one lookup. Default 8. */
  readonly maxCnameDepth?: number;
  /** EDNS(0) UDP payload size advertised (512-4096), 0 = no EDNS. Default 1232. */
  readonly ednsUdpSize?: number;
}

/** A resolver's settings plus its clock and randomness (crypto-backed in production). */
export interface DnsResolverConfig extends DnsResolverOptions {
  /** Clock of query timeouts and cache expiry. */
  readonly scheduler: Scheduler;
  /** Randomness of query ids and source ports (RFC 5452). */
  readonly rng: Rng;
}

/** The defaults of `DnsResolverOptions`. */
export const DNS_RESOLVER_DEFAULTS: Readonly<Required<Omit<DnsResolverOptions, 'servers'>>> = Object.freeze({
  timeoutMs: 2000,
  attempts: 2,
  rotate: false,
  tcpTimeoutMs: 5000,
  cacheSize: 256,
  maxTtlS: 86_400,
  negativeTtlS: 30,
  maxNegativeTtlS: 3600,
  maxCnameDepth: 8,
  ednsUdpSize: 1232,
});

/** Counters (a snapshot from `stats`). */
export interface DnsResolverStats {
  /** Calls of `resolve`/`resolveAll`. */
  readonly lookups: number;
  /** Lookups answered from the cache. */
  readonly cacheHits: number;
  /** Lookups that joined an identical query already under way. */
  readonly coalesced: number;
  /** DNS messages sent (UDP and TCP). */
  readonly queries: number;
  /** Tries after the first one of a question (next server or next round). */
  readonly retries: number;
  /** Tries that timed out. */
  readonly timeouts: number;
  /** Truncated UDP answers asked again over TCP. */
  readonly tcpFallbacks: number;
  /** Responses dropped because source, id or question did not match (RFC 5452). */
  readonly mismatched: number;
  /** Received messages that could not be decoded. */
  readonly malformed: number;
  /** SERVFAIL, REFUSED, NOTIMP, FORMERR and other error RCODEs received. */
  readonly serverFailures: number;
  /** Tries ended by a socket error (no socket, unreachable, refused, reset). */
  readonly socketErrors: number;
}

/** A successful lookup. */
export interface DnsAnswer {
  /** The name asked for (comparison form: lower case, no trailing dot). */
  readonly name: string;
  /** The owner of the addresses at the end of the CNAME chain. */
  readonly canonicalName: string;
  /** Every address of the family, in answer order (4 or 16 bytes each; copies). */
  readonly addresses: readonly Uint8Array[];
  /** Seconds the answer stays valid. */
  readonly ttl: number;
}

type MutableStats = { -readonly [K in keyof DnsResolverStats]: number };

interface Flight {
  readonly controller: AbortController;
  promise: Promise<DnsAnswer | number>;
  waiters: number;
}

/** Result of following a CNAME chain inside one answer section. */
interface Chain {
  readonly final: string;
  readonly addresses: Uint8Array[];
  /** Smallest TTL of the address records (Infinity if none). */
  readonly dataTtl: number;
  /** Smallest TTL of the CNAME links followed (Infinity if none). */
  readonly cnameTtl: number;
  readonly broken: boolean;
}

function positiveInt(v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined || !Number.isFinite(v)) return dflt;
  return Math.min(max, Math.max(min, Math.floor(v)));
}

/** `a` as a record of `type` owned by `owner` (class IN, text data), else undefined. */
function stringRecord(a: Answer, type: 'A' | 'AAAA' | 'CNAME', owner: string): { data: string; ttl: number } | undefined {
  if (a.type !== type) return undefined;
  const r = a as StringAnswer;
  if ((r.class ?? 'IN') !== 'IN' || typeof r.data !== 'string' || !sameName(r.name, owner)) return undefined;
  return { data: r.data, ttl: ttlOf(r.ttl) };
}

/** Follows `start` through CNAMEs in `answers` to records of `type`; `seen` gains every name met. */
function followChain(answers: readonly Answer[], start: string, type: 'A' | 'AAAA', seen: Set<string>, maxLinks: number): Chain {
  let current = start;
  let cnameTtl = Infinity;
  for (;;) {
    const addresses: Uint8Array[] = [];
    let dataTtl = Infinity;
    for (const a of answers) {
      const r = stringRecord(a, type, current);
      const bytes = r === undefined ? undefined : type === 'A' ? parseIPv4(r.data) : parseIPv6(r.data);
      if (r === undefined || bytes === undefined) continue;
      addresses.push(bytes);
      dataTtl = Math.min(dataTtl, r.ttl);
    }
    if (addresses.length > 0) return { final: current, addresses, dataTtl, cnameTtl, broken: false };
    let link: { data: string; ttl: number } | undefined;
    for (const a of answers) link ??= stringRecord(a, 'CNAME', current);
    if (link === undefined) return { final: current, addresses, dataTtl, cnameTtl, broken: false };
    const target = checkHostName(link.data);
    // A target that is no host name, a name met before (loop), or one link too many.
    if (target === undefined || seen.has(target) || seen.size > maxLinks) return { final: current, addresses, dataTtl, cnameTtl, broken: true };
    seen.add(target);
    cnameTtl = Math.min(cnameTtl, link.ttl);
    current = target;
  }
}

/** Negative-caching time from the SOA in the authority section (RFC 2308 §5), if any. */
function soaNegativeTtl(m: DecodedPacket): number | undefined {
  for (const a of m.authorities ?? []) {
    if (a.type === 'SOA' && typeof a.data === 'object' && a.data !== null && 'minimum' in a.data) {
      return Math.min(ttlOf(a.ttl), ttlOf(a.data.minimum));
    }
  }
  return undefined;
}

export class DnsResolver {
  readonly #sockets: DnsSocketFactory;
  readonly #scheduler: Scheduler;
  readonly #rng: Rng;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #rotate: boolean;
  readonly #tcpTimeoutMs: number;
  readonly #maxTtlS: number;
  readonly #negativeTtlS: number;
  readonly #maxNegativeTtlS: number;
  readonly #maxCnameDepth: number;
  readonly #ednsUdpSize: number;
  readonly #cache: DnsCache;
  readonly #flights = new Map<string, Flight>();
  readonly #stats: MutableStats = {
    lookups: 0, cacheHits: 0, coalesced: 0, queries: 0, retries: 0, timeouts: 0, tcpFallbacks: 0,
    mismatched: 0, malformed: 0, serverFailures: 0, socketErrors: 0,
  };
  readonly #scratch = new Uint8Array(DNS_MAX_MESSAGE);
  #servers: readonly DnsServerAddress[] = [];
  #next = 0;
  /** Bumped by a new server list: answers from older lookups are not cached, nor joined. */
  #generation = 0;
  #closed = false;

  /** A resolver whose sockets come from `sockets` (any `SocketBackend`). Bad server entries throw `RangeError`. */
  constructor(sockets: DnsSocketFactory, config: DnsResolverConfig) {
    const d = DNS_RESOLVER_DEFAULTS;
    this.#sockets = sockets;
    this.#scheduler = config.scheduler;
    this.#rng = config.rng;
    this.#timeoutMs = positiveInt(config.timeoutMs, d.timeoutMs, 1, 3_600_000);
    this.#attempts = positiveInt(config.attempts, d.attempts, 1, 16);
    this.#rotate = config.rotate ?? d.rotate;
    this.#tcpTimeoutMs = positiveInt(config.tcpTimeoutMs, d.tcpTimeoutMs, 1, 3_600_000);
    this.#cache = new DnsCache(positiveInt(config.cacheSize, d.cacheSize, 0, 1_000_000));
    this.#maxTtlS = positiveInt(config.maxTtlS, d.maxTtlS, 0, 0x7fff_ffff);
    this.#negativeTtlS = positiveInt(config.negativeTtlS, d.negativeTtlS, 0, 0x7fff_ffff);
    this.#maxNegativeTtlS = positiveInt(config.maxNegativeTtlS, d.maxNegativeTtlS, 0, 0x7fff_ffff);
    this.#maxCnameDepth = positiveInt(config.maxCnameDepth, d.maxCnameDepth, 0, 64);
    const edns = positiveInt(config.ednsUdpSize, d.ednsUdpSize, 0, 4096);
    this.#ednsUdpSize = edns === 0 ? 0 : Math.max(512, edns);
    if (config.servers !== undefined) this.setServers(config.servers);
  }

  /** The servers in use, as `'address:port'` text. */
  get servers(): readonly string[] {
    return this.#servers.map((s) => s.text);
  }

  /** A snapshot of the counters. */
  get stats(): DnsResolverStats {
    return { ...this.#stats };
  }

  /** Entries in the cache. */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /**
   * Replaces the server list (from DHCP, or configuration). Lookups under way finish
   * with the servers they started with. A changed list flushes the cache. Throws
   * `RangeError` on an entry that is not an address with an optional port.
   */
  setServers(list: readonly DnsServerSpec[]): void {
    const servers = Object.freeze(parseDnsServers(list));
    const same = servers.length === this.#servers.length && servers.every((s, i) => s.text === this.#servers[i]?.text);
    this.#servers = servers;
    this.#next = 0;
    if (!same) {
      this.#cache.clear();
      this.#generation++;
    }
  }

  /** Forgets every cached answer. */
  clearCache(): void {
    this.#cache.clear();
  }

  /** Ends every lookup under way (they answer `ERROR`) and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const flight of this.#flights.values()) flight.controller.abort();
    this.#cache.clear();
  }

  /** The first address of family `af` for `name` (a copy), or an IoT Socket code. */
  async resolve(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult> {
    const r = await this.resolveAll(name, af, signal);
    if (typeof r === 'number') return r;
    const first = r.addresses[0];
    return first === undefined ? IOT_SOCKET_EHOSTNOTFOUND : Uint8Array.from(first);
  }

  /** Every address of family `af` for `name`, or an IoT Socket code (see the module comment). */
  async resolveAll(name: string, af: Af, signal?: AbortSignal): Promise<DnsAnswer | number> {
    this.#stats.lookups++;
    if (typeof name !== 'string' || name.length === 0 || (af !== 1 && af !== 2)) return IOT_SOCKET_EINVAL;
    if (this.#closed || signal?.aborted === true) return IOT_SOCKET_ERROR;
    const qname = checkHostName(name);
    if (qname === undefined) return IOT_SOCKET_EHOSTNOTFOUND;
    const type: RecordType = af === 1 ? 'A' : 'AAAA';
    const key = `${type} ${qname}`;
    const now = this.#scheduler.now();
    const hit = this.#cache.get(key, now);
    if (hit !== undefined) {
      this.#stats.cacheHits++;
      return this.#fromEntry(qname, hit, now);
    }
    if (this.#servers.length === 0) return IOT_SOCKET_ERROR; // no resolver configured (spec §12)
    const generation = this.#generation;
    const flightKey = `${generation} ${key}`;
    let flight = this.#flights.get(flightKey);
    if (flight === undefined) {
      const controller = new AbortController();
      const f: Flight = { controller, waiters: 0, promise: Promise.resolve(IOT_SOCKET_ERROR) };
      f.promise = this.#lookup(qname, type, key, generation, controller.signal)
        .catch(() => IOT_SOCKET_ERROR)
        .finally(() => {
          if (this.#flights.get(flightKey) === f) this.#flights.delete(flightKey);
        });
      this.#flights.set(flightKey, f);
      flight = f;
    } else {
      this.#stats.coalesced++;
    }
    const r = await this.#join(flightKey, flight, signal);
    return typeof r === 'number' ? r : { ...r, addresses: r.addresses.map((a) => Uint8Array.from(a)) };
  }

  #fromEntry(name: string, e: DnsCacheEntry, now: number): DnsAnswer | number {
    if (e.code !== 0) return e.code;
    return {
      name,
      canonicalName: e.canonicalName,
      addresses: e.addresses.map((a) => Uint8Array.from(a)),
      ttl: Math.max(0, Math.ceil((e.expiresAt - now) / 1000)),
    };
  }

  /**
   * Waits for a shared query, or for this caller's abort (`ERROR`). The last caller
   * to give up stops the query, and a later lookup starts a new one.
   */
  #join(key: string, flight: Flight, signal: AbortSignal | undefined): Promise<DnsAnswer | number> {
    flight.waiters++;
    return new Promise((resolve) => {
      let done = false;
      const onAbort = (): void => {
        if (done) return;
        done = true;
        if (--flight.waiters === 0) {
          flight.controller.abort();
          if (this.#flights.get(key) === flight) this.#flights.delete(key);
        }
        resolve(IOT_SOCKET_ERROR);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      void flight.promise.then((r) => {
        if (done) return;
        done = true;
        flight.waiters--;
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      });
    });
  }

  #remember(key: string, generation: number, entry: Omit<DnsCacheEntry, 'expiresAt'>, ttlS: number): void {
    if (ttlS <= 0 || generation !== this.#generation || this.#closed) return;
    const now = this.#scheduler.now();
    this.#cache.set(key, { ...entry, expiresAt: now + ttlS * 1000 }, now);
  }

  #negative(key: string, generation: number, m: DecodedPacket, chainTtl: number): number {
    const soa = soaNegativeTtl(m);
    const ttl = Math.min(chainTtl, soa === undefined ? this.#negativeTtlS : Math.min(soa, this.#maxNegativeTtlS));
    this.#remember(key, generation, { addresses: [], code: IOT_SOCKET_EHOSTNOTFOUND, canonicalName: '' }, ttl);
    return IOT_SOCKET_EHOSTNOTFOUND;
  }

  /** One uncached lookup: queries, CNAME re-queries, caching. */
  async #lookup(qname: string, type: RecordType, key: string, generation: number, signal: AbortSignal): Promise<DnsAnswer | number> {
    const seen = new Set([qname]);
    let current = qname;
    let chainTtl = Infinity;
    for (;;) {
      const m = await this.#query(current, type, signal);
      if (typeof m === 'number') return m;
      const chain = followChain(m.answers ?? [], current, type, seen, this.#maxCnameDepth);
      if (chain.broken) return IOT_SOCKET_ERROR; // CNAME loop, bad target or chain too long: not cached
      chainTtl = Math.min(chainTtl, chain.cnameTtl);
      if (rcodeOf(m) === RCODE_NXDOMAIN) return this.#negative(key, generation, m, chainTtl);
      if (chain.addresses.length > 0) {
        const ttl = Math.min(chainTtl, chain.dataTtl, this.#maxTtlS);
        const answer: DnsAnswer = { name: qname, canonicalName: chain.final, addresses: chain.addresses, ttl };
        this.#remember(key, generation, { addresses: chain.addresses, code: 0, canonicalName: chain.final }, ttl);
        return answer;
      }
      if (chain.final === current) return this.#negative(key, generation, m, chainTtl); // NODATA
      current = chain.final; // the chain ends without data: ask for its target (RFC 1034 §5.3.3)
    }
  }

  /**
   * Asks the servers about (`name`, `type`) until one gives a definitive answer
   * (NOERROR or NXDOMAIN): that message, or `ETIMEDOUT`/`ERROR`.
   */
  async #query(name: string, type: RecordType, signal: AbortSignal): Promise<DecodedPacket | number> {
    const servers = this.#servers;
    const n = servers.length;
    if (n === 0) return IOT_SOCKET_ERROR;
    const first = this.#rotate ? this.#next++ % n : 0;
    const dropped = new Set<number>();
    let onlyTimeouts = true;
    let tries = 0;
    for (let round = 0; round < this.#attempts && dropped.size < n; round++) {
      for (let k = 0; k < n; k++) {
        const i = (first + k) % n;
        const server = servers[i];
        if (server === undefined || dropped.has(i)) continue;
        if (tries++ > 0) this.#stats.retries++;
        const out = await this.#ask(server, name, type, signal);
        if (out.kind === 'aborted' || signal.aborted) return IOT_SOCKET_ERROR;
        if (out.kind === 'timeout') {
          this.#stats.timeouts++;
          continue;
        }
        onlyTimeouts = false;
        if (out.kind === 'error') {
          this.#stats.socketErrors++;
          if (out.code === IOT_SOCKET_ENOTSUP) dropped.add(i); // e.g. an IPv6 server on an IPv4-only stack
          continue;
        }
        const rcode = rcodeOf(out.message);
        if (rcode === RCODE_NOERROR || rcode === RCODE_NXDOMAIN) return out.message;
        this.#stats.serverFailures++;
        if (rcode !== RCODE_SERVFAIL) dropped.add(i); // REFUSED, NOTIMP, FORMERR, ...: not again
      }
    }
    return onlyTimeouts ? IOT_SOCKET_ETIMEDOUT : IOT_SOCKET_ERROR;
  }

  /** One try at one server: UDP, then TCP if truncated. */
  async #ask(server: DnsServerAddress, name: string, type: RecordType, signal: AbortSignal): Promise<ExchangeOutcome> {
    const ctx: ExchangeContext = { sockets: this.#sockets, scheduler: this.#scheduler, signal, counters: this.#stats, scratch: this.#scratch };
    let edns = this.#ednsUdpSize > 0;
    for (;;) {
      const req = this.#request(name, type, edns);
      if (req === undefined) return { kind: 'error', code: IOT_SOCKET_ERROR };
      this.#stats.queries++;
      const out = await udpExchange(ctx, server, req, this.#timeoutMs);
      if (out.kind !== 'response') return out;
      const m = out.message;
      const hasOpt = (m.additionals ?? []).some((a) => a.type === 'OPT');
      if (edns && rcodeOf(m) === RCODE_FORMERR && !hasOpt) {
        edns = false; // a server without EDNS(0): ask again plainly (RFC 6891 §7)
        continue;
      }
      if (!m.flag_tc) return out;
      this.#stats.tcpFallbacks++;
      const tcpReq = this.#request(name, type, false);
      if (tcpReq === undefined) return { kind: 'error', code: IOT_SOCKET_ERROR };
      this.#stats.queries++;
      return tcpExchange(ctx, server, tcpReq, this.#tcpTimeoutMs);
    }
  }

  #request(name: string, type: RecordType, edns: boolean): DnsRequest | undefined {
    const id = this.#rng.nextU32() & 0xffff;
    const bytes = encodeDnsMessage({
      type: 'query',
      id,
      flags: FLAG_RD,
      questions: [{ type, name, class: 'IN' }],
      additionals: edns
        ? [{ type: 'OPT', name: '.', udpPayloadSize: this.#ednsUdpSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
        : [],
    });
    return bytes === undefined ? undefined : { id, name, type, bytes };
  }
}

/** `new DnsResolver(sockets, config)`. */
export function createDnsResolver(sockets: DnsSocketFactory, config: DnsResolverConfig): DnsResolver {
  return new DnsResolver(sockets, config);
}

