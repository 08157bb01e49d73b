/**
 * Stateless DHCPv6 client (RFC 8415 §6.1, §18.2.6, §18.2.10; formerly RFC 3736): the
 * Information-request / Reply exchange that fetches DNS servers and the domain search
 * list (RFC 3646) when a router advertises the O flag and addresses come from SLAAC.
 *
 * A pure, transport-agnostic state machine on explicit time: the owner feeds received UDP
 * payloads (port 546) to `input`, calls `poll(now)` at `pollAt()` and sends every message
 * it returns from the interface's link-local address, UDP port 546, to
 * All_DHCP_Relay_Agents_and_Servers (ff02::1:2, `DHCPV6_ALL_RELAY_AGENTS_AND_SERVERS`)
 * port 547 (RFC 8415 §7.1, §13.1). Its only randomness is the injected `Rng`.
 *
 * States:
 * - STOPPED: nothing runs, no configuration.
 * - DELAYING: `start` / `restart` wait a random 0..INF_MAX_DELAY (1 s) before the first
 *   Information-request (RFC 8415 §18.2.6 MUST).
 * - REQUESTING: an exchange is on: a new 24-bit transaction id, then the Information-request
 *   sent and retransmitted per RFC 8415 §15 with IRT = INF_TIMEOUT (1 s), MRT = INF_MAX_RT
 *   (3600 s, or the server's option 83 when it was 60..86400 s, §21.25), MRC = MRD = 0
 *   (forever): RT = IRT + RAND·IRT, then RT = 2·RTprev + RAND·RTprev, capped as
 *   RT = MRT + RAND·MRT, RAND uniform in [-0.1, +0.1]. Every transmission carries the
 *   Elapsed Time option (hundredths of a second since the first one, 0 in the first,
 *   capped at 0xffff, §21.9), the Client Identifier (the DUID given, unless none) and an
 *   Option Request for DNS servers (23), domain list (24), Information Refresh Time (32)
 *   and INF_MAX_RT (83) (§18.2.6 MUST for the last two), plus `requestOptions`.
 * - CONFIGURED: a Reply was accepted; after its Information Refresh Time (option 32;
 *   IRT_DEFAULT 86400 s without it, at least IRT_MINIMUM 600 s, 0xffffffff = never,
 *   §21.23) a new exchange starts at once (no delay: the delay is for the first message).
 *
 * A Reply is accepted only in REQUESTING with the transaction id of the current exchange,
 * a Server Identifier, and a Client Identifier equal to ours (absent when we sent none)
 * (RFC 8415 §16.10); everything else is counted in `stats` and ignored, never thrown. A
 * valid Reply's INF_MAX_RT is honoured even with a failure status (§18.2.10); a status
 * other than Success leaves the configuration alone and the retransmissions going (the
 * back-off is the rate limit §18.2.10 asks for). An accepted Reply replaces the whole
 * configuration: its DNS servers (without ::, loopback, multicast and duplicates) and
 * search domains (host-name characters only, no duplicates), each list capped
 * (`maxDnsServers`, `maxSearchDomains`); what is dropped is counted.
 *
 * Changes are visible two ways: `input` returns 'changed' when an accepted Reply
 * changed the DNS servers or search domains ('accepted' when it did not), and
 * `configVersion` counts such changes (also the clearing on `stop`).
 *
 * `restart(now)` is for a possible link change or an RA whose O flag just appeared: the
 * current exchange (if any) is abandoned, INF_MAX_RT returns to its default, and a new
 * exchange starts after a fresh random delay; the configuration stays until a Reply
 * replaces it. Calls while already DELAYING keep the pending delay, so a burst of
 * triggers makes one exchange.
 */
import { isLoopback, isMulticast, isUnspecified } from '../../base/ip-address.ts';
import { randomInt, type Rng } from '../../base/rand.ts';
import { equalBytes } from '../../wire/bytes.ts';
import {
  DHCPV6_INFINITY, DHCPV6_MAX_TRANSACTION_ID, Dhcpv6MessageType, Dhcpv6Option, Dhcpv6StatusCode, duidEquals, duidLen, encodeDhcpv6, parseDhcpv6,
  type Dhcpv6Duid, type Dhcpv6Status,
} from '../../wire/dhcpv6.ts';
import { isFault, type WireFault } from '../../wire/fault.ts';

export type Dhcp6InfoClientState = 'STOPPED' | 'DELAYING' | 'REQUESTING' | 'CONFIGURED';

/** Protocol timing; the defaults are RFC 8415 §7.6 values. */
export interface Dhcp6InfoTiming {
  /** INF_MAX_DELAY: largest random delay before the first Information-request (1 s). */
  infMaxDelayMs: number;
  /** INF_TIMEOUT: initial retransmission time IRT (1 s). */
  infTimeoutMs: number;
  /** INF_MAX_RT: largest retransmission time MRT (3600 s) unless a server sends option 83. */
  infMaxRtMs: number;
  /** IRT_DEFAULT: refresh after this many seconds without option 32 (86400). */
  irtDefaultS: number;
  /** IRT_MINIMUM: refresh after at least this many seconds (600). */
  irtMinimumS: number;
}

export const DHCP6_INFO_TIMING: Readonly<Dhcp6InfoTiming> = Object.freeze({
  infMaxDelayMs: 1000,
  infTimeoutMs: 1000,
  infMaxRtMs: 3_600_000,
  irtDefaultS: 86_400,
  irtMinimumS: 600,
});

/** RFC 8415 §21.25: INF_MAX_RT values outside 60..86400 s are ignored. */
export const DHCP6_INF_MAX_RT_MIN_S = 60;
export const DHCP6_INF_MAX_RT_MAX_S = 86_400;

/** What the client asks for in every Information-request (RFC 8415 §18.2.6, RFC 3646). */
export const DHCP6_INFO_DEFAULT_ORO: readonly number[] = Object.freeze([
  Dhcpv6Option.DNS_SERVERS, Dhcpv6Option.DOMAIN_LIST, Dhcpv6Option.INFORMATION_REFRESH_TIME, Dhcpv6Option.INF_MAX_RT,
]);

export interface Dhcp6InfoClientOptions {
  rng: Rng;
  /**
   * Our DUID for the Client Identifier option (`duidLl(mac)` from wire/dhcpv6.ts for a
   * device without stable storage); `undefined` sends none (RFC 7844 anonymity; servers
   * may then not answer).
   */
  duid: Dhcpv6Duid | undefined;
  /** Option codes requested besides `DHCP6_INFO_DEFAULT_ORO` (1..65535). */
  requestOptions?: readonly number[];
  /** Most DNS servers kept from a Reply (default 8). */
  maxDnsServers?: number;
  /** Most search domains kept from a Reply (default 8). */
  maxSearchDomains?: number;
  timing?: Partial<Dhcp6InfoTiming>;
}

/** The configuration of the last accepted Reply. Times are ms on the caller's clock. */
export interface Dhcp6Info {
  /** Option 23 (filtered, capped), 16 bytes each. */
  readonly dnsServers: readonly Uint8Array[];
  /** Option 24 (filtered, capped), names without the trailing dot. */
  readonly domainSearch: readonly string[];
  readonly serverId: Dhcpv6Duid;
  /** Source address of the Reply (a copy of `input`'s `from`). */
  readonly serverAddress: Uint8Array;
  readonly receivedAt: number;
  /** Refresh time in seconds after clamping; `Infinity` when the server said never. */
  readonly refreshSeconds: number;
  /** When the next exchange starts; undefined: never. */
  readonly refreshAt: number | undefined;
}

export interface Dhcp6InfoClientStats {
  /** Information-requests sent, retransmissions included. */
  requestsSent: number;
  /** Exchanges begun (first transmissions). */
  exchanges: number;
  repliesAccepted: number;
  /** Datagrams that did not parse. */
  malformed: number;
  /** Parsed messages that are not a Reply. */
  wrongType: number;
  /** Replies with another transaction id, or while no exchange is on. */
  wrongTransaction: number;
  /** Replies without a Server Identifier. */
  noServerId: number;
  /** Replies whose Client Identifier is not ours (or missing, or present when we sent none). */
  clientIdMismatch: number;
  /** Valid Replies with a status other than Success. */
  statusFailures: number;
  /** DNS servers and search domains of accepted Replies left out (invalid, duplicate, over the cap). */
  itemsDropped: number;
}

export type Dhcp6InfoIgnoreReason = 'malformed' | 'wrong-type' | 'wrong-transaction' | 'no-server-id' | 'client-id-mismatch' | 'status';

/** Why the most recent message was not used. */
export interface Dhcp6InfoError {
  readonly at: number;
  readonly reason: Dhcp6InfoIgnoreReason;
  /** For 'malformed'. */
  readonly fault?: WireFault;
  /** For 'status'. */
  readonly status?: Dhcpv6Status;
}

/** What `input` did with a datagram. */
export type Dhcp6InfoInputResult = 'changed' | 'accepted' | 'ignored';

/** Labels of host-name characters (letters, digits, '-', '_'), as resolvers expect of search domains. */
const SEARCH_NAME_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

function sameList<T>(a: readonly T[], b: readonly T[], eq: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((x, i) => eq(x, b[i] as T));
}

export class Dhcp6InfoClient {
  readonly stats: Dhcp6InfoClientStats = {
    requestsSent: 0, exchanges: 0, repliesAccepted: 0, malformed: 0, wrongType: 0, wrongTransaction: 0, noServerId: 0, clientIdMismatch: 0,
    statusFailures: 0, itemsDropped: 0,
  };

  private readonly rng: Rng;
  private readonly duid: Dhcpv6Duid | undefined;
  private readonly oro: readonly number[];
  private readonly timing: Dhcp6InfoTiming;
  private readonly maxDnsServers: number;
  private readonly maxSearchDomains: number;

  private st: Dhcp6InfoClientState = 'STOPPED';
  private deadline: number | undefined = undefined;
  /** Transaction id of the exchange in progress (REQUESTING only). */
  private xid: number | undefined = undefined;
  /** First transmission of the current exchange (Elapsed Time counts from it). */
  private exchangeStart = 0;
  /** The last retransmission timeout (RTprev), ms; 0 before the first transmission. */
  private rt = 0;
  /** MRT in force: INF_MAX_RT or the server's option 83. */
  private mrt: number;
  private current: Dhcp6Info | undefined = undefined;
  private version = 0;
  private error: Dhcp6InfoError | undefined = undefined;

  constructor(opts: Dhcp6InfoClientOptions) {
    this.rng = opts.rng;
    if (opts.duid !== undefined) duidLen(opts.duid); // throws RangeError for a DUID that cannot be sent
    this.duid = opts.duid;
    const oro = [...DHCP6_INFO_DEFAULT_ORO];
    for (const c of opts.requestOptions ?? []) {
      if (!Number.isInteger(c) || c < 1 || c > 0xffff) throw new RangeError(`DHCPv6 client: requested option code ${c} out of range`);
      if (!oro.includes(c)) oro.push(c);
    }
    this.oro = oro;
    this.timing = { ...DHCP6_INFO_TIMING, ...opts.timing };
    this.mrt = this.timing.infMaxRtMs;
    this.maxDnsServers = opts.maxDnsServers ?? 8;
    this.maxSearchDomains = opts.maxSearchDomains ?? 8;
  }

  get state(): Dhcp6InfoClientState {
    return this.st;
  }

  /** The configuration of the last accepted Reply, or undefined. */
  get info(): Dhcp6Info | undefined {
    return this.current;
  }

  /** DNS servers (16-byte IPv6 addresses) of the configuration; empty without one. */
  get dnsServers(): readonly Uint8Array[] {
    return this.current?.dnsServers ?? [];
  }

  /** Search domains of the configuration; empty without one. */
  get domainSearch(): readonly string[] {
    return this.current?.domainSearch ?? [];
  }

  /** Incremented whenever `dnsServers` or `domainSearch` change. */
  get configVersion(): number {
    return this.version;
  }

  /** Why the most recent unusable message was ignored (kept after later successes; see `at`). */
  get lastError(): Dhcp6InfoError | undefined {
    return this.error;
  }

  /** Transaction id of the exchange in progress, or undefined. */
  get transactionId(): number | undefined {
    return this.xid;
  }

  /** The MRT in force, ms (INF_MAX_RT, or what a server set with option 83). */
  get maxRetransmitMs(): number {
    return this.mrt;
  }

  /** Begins: the first Information-request goes out after a random 0..INF_MAX_DELAY. Throws when already started. */
  start(now: number): void {
    if (this.st !== 'STOPPED') throw new Error('DHCPv6 client: already started');
    this.delay(now);
  }

  /**
   * A possible link change, or the RA's O flag appeared: abandon the exchange in progress
   * and start a new one after a random delay (see the module comment). Starts a stopped
   * client; keeps a pending delay.
   */
  restart(now: number): void {
    if (this.st === 'DELAYING') return;
    this.delay(now);
  }

  /** Stops: no more messages; the configuration is cleared. Idempotent. */
  stop(): void {
    this.st = 'STOPPED';
    this.deadline = undefined;
    this.xid = undefined;
    this.mrt = this.timing.infMaxRtMs;
    if (this.current !== undefined) {
      if (this.current.dnsServers.length > 0 || this.current.domainSearch.length > 0) this.version++;
      this.current = undefined;
    }
  }

  /** When `poll` next has something to do; undefined: nothing scheduled. */
  pollAt(): number | undefined {
    return this.deadline;
  }

  /** Runs what is due at `now`; returns the messages to send (UDP payloads for ff02::1:2 port 547), usually none or one. */
  poll(now: number): Uint8Array[] {
    if (this.deadline === undefined || now < this.deadline) return [];
    switch (this.st) {
      case 'DELAYING':
      case 'CONFIGURED':
        this.beginExchange(now);
        return [this.transmit(now)];
      case 'REQUESTING':
        return [this.transmit(now)];
      default:
        this.deadline = undefined;
        return [];
    }
  }

  /**
   * A UDP payload received on port 546 from `from` (the IPv6 source address). Never throws
   * on its content: unusable messages are counted and ignored.
   */
  input(now: number, payload: Uint8Array, from: Uint8Array): Dhcp6InfoInputResult {
    const m = parseDhcpv6(payload);
    if (isFault(m)) {
      this.stats.malformed++;
      return this.ignore(now, 'malformed', { fault: m });
    }
    if (m.msgType !== Dhcpv6MessageType.REPLY) {
      this.stats.wrongType++;
      return this.ignore(now, 'wrong-type');
    }
    if (this.st !== 'REQUESTING' || m.transactionId !== this.xid) {
      this.stats.wrongTransaction++;
      return this.ignore(now, 'wrong-transaction');
    }
    const o = m.options;
    if (o.serverId === undefined) {
      this.stats.noServerId++;
      return this.ignore(now, 'no-server-id');
    }
    const ours = this.duid;
    if (ours === undefined ? o.clientId !== undefined : o.clientId === undefined || !duidEquals(o.clientId, ours)) {
      this.stats.clientIdMismatch++;
      return this.ignore(now, 'client-id-mismatch');
    }
    // RFC 8415 §18.2.10: INF_MAX_RT is processed even in a Reply with a failure status.
    if (o.infMaxRt !== undefined && o.infMaxRt >= DHCP6_INF_MAX_RT_MIN_S && o.infMaxRt <= DHCP6_INF_MAX_RT_MAX_S) this.mrt = o.infMaxRt * 1000;
    if (o.status !== undefined && o.status.code !== Dhcpv6StatusCode.SUCCESS) {
      this.stats.statusFailures++;
      return this.ignore(now, 'status', { status: o.status });
    }
    this.stats.repliesAccepted++;
    const dnsServers = this.servers(o.dnsServers ?? []);
    const domainSearch = this.domains(o.domainList ?? []);
    const refreshSeconds = this.refreshSeconds(o.informationRefreshTime);
    const refreshAt = Number.isFinite(refreshSeconds) ? now + refreshSeconds * 1000 : undefined;
    const prev = this.current;
    const changed = !sameList(prev?.dnsServers ?? [], dnsServers, equalBytes) || !sameList(prev?.domainSearch ?? [], domainSearch, (a, b) => a === b);
    this.current = { dnsServers, domainSearch, serverId: o.serverId, serverAddress: from.slice(), receivedAt: now, refreshSeconds, refreshAt };
    if (changed) this.version++;
    this.xid = undefined;
    this.st = 'CONFIGURED';
    this.deadline = refreshAt;
    return changed ? 'changed' : 'accepted';
  }

  // ---------------------------------------------------------------- internals

  private delay(now: number): void {
    this.st = 'DELAYING';
    this.xid = undefined;
    this.mrt = this.timing.infMaxRtMs;
    this.deadline = now + randomInt(this.rng, 0, Math.max(0, Math.floor(this.timing.infMaxDelayMs)));
  }

  private beginExchange(now: number): void {
    this.st = 'REQUESTING';
    this.xid = this.rng.nextU32() & DHCPV6_MAX_TRANSACTION_ID;
    this.exchangeStart = now;
    this.rt = 0;
    this.stats.exchanges++;
  }

  /** RAND of RFC 8415 §15: uniform in [-0.1, +0.1] (steps of 1e-4). */
  private rand(): number {
    return randomInt(this.rng, -1000, 1000) / 10_000;
  }

  /** The next RT (RFC 8415 §15), ms, at least 1. */
  private nextRt(): number {
    const r = this.rand();
    let rt = this.rt === 0 ? this.timing.infTimeoutMs * (1 + r) : this.rt * (2 + r);
    if (rt > this.mrt) rt = this.mrt * (1 + r);
    return Math.max(1, Math.round(rt));
  }

  /** Sends (or re-sends) the Information-request and schedules the next retransmission. */
  private transmit(now: number): Uint8Array {
    const elapsed = Math.min(0xffff, Math.floor((now - this.exchangeStart) / 10));
    const msg = encodeDhcpv6({
      msgType: Dhcpv6MessageType.INFORMATION_REQUEST,
      transactionId: this.xid ?? 0,
      options: {
        ...(this.duid !== undefined ? { clientId: this.duid } : {}),
        optionRequest: this.oro,
        elapsedTime: elapsed,
      },
    });
    this.stats.requestsSent++;
    this.rt = this.nextRt();
    this.deadline = now + this.rt;
    return msg;
  }

  private ignore(now: number, reason: Dhcp6InfoIgnoreReason, extra: { fault?: WireFault; status?: Dhcpv6Status } = {}): 'ignored' {
    this.error = { at: now, reason, ...extra };
    return 'ignored';
  }

  private refreshSeconds(v: number | undefined): number {
    if (v === undefined) return this.timing.irtDefaultS;
    if (v === DHCPV6_INFINITY) return Infinity;
    return Math.max(this.timing.irtMinimumS, v);
  }

  private servers(list: readonly Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const a of list) {
      if (isUnspecified(a) || isLoopback(a) || isMulticast(a) || out.length >= this.maxDnsServers || out.some((b) => equalBytes(a, b))) {
        this.stats.itemsDropped++;
        continue;
      }
      out.push(a);
    }
    return out;
  }

  private domains(list: readonly string[]): string[] {
    const out: string[] = [];
    for (const d of list) {
      if (!SEARCH_NAME_RE.test(d) || out.length >= this.maxSearchDomains || out.includes(d)) {
        this.stats.itemsDropped++;
        continue;
      }
      out.push(d);
    }
    return out;
  }
}
