/**
 * IPv6 in the userspace stack: the per-stack IPv6 layer that `Stack` owns and feeds.
 * Pure (no timers, no I/O): time is the `now` argument, sends go through the host's
 * `transmit`, transports through the host's `deliver`.
 *
 * ## Receive (`input`)
 * - Header checks (version, payload length within the frame), martian sources
 *   (multicast, loopback from the wire) dropped; the destination must be one of our
 *   usable addresses (weak host) or a group the interface joined. A tentative address
 *   receives nothing but ND (RFC 4862 §5.4).
 * - Extension headers walked allocation-free (`walkIpv6Extensions`, RFC 8200 §4):
 *   unknown options and routing headers with segments left answered with Parameter
 *   Problem; fragments reassembled (`Ipv6Reassembler`: bounded, overlap discard per RFC
 *   5722, 60 s, Time Exceeded code 1 when fragment 0 arrived); a first fragment that
 *   does not hold the upper-layer header is answered with Parameter Problem code 3 (RFC
 *   7112 §5) and dropped.
 * - ICMPv6 (RFC 4443): echo answered (also to multicast, as Linux), replies to the
 *   stack's pings; errors quoting one of our packets go to the transport
 *   (`deliverError`); Packet Too Big lowers the path MTU (RFC 8201). Neighbor Discovery
 *   (RFC 4861) with its IP-field checks: NS answered, NA into the neighbor cache and
 *   DAD, RA into the router information (routers, prefixes, RDNSS, link parameters,
 *   SLAAC), Redirect into the destination cache. MLD queries answered with MLDv2
 *   reports (RFC 3810).
 * - UDP and TCP delivered through the host with an `IpInputContext` of family 6.
 *
 * ## Send (`send`)
 * Destination cache (one entry for the last destination, invalidated by any routing
 * change), on-link determination (link-local, static prefixes, RA prefixes), redirects,
 * default router selection (RFC 4861 §6.3.6: a reachable router first), RFC 6724
 * source selection, path MTU, fragmentation with a random 32-bit identification (RFC
 * 7739), neighbor resolution with a bounded queue per neighbor, and the same zero-copy
 * build into the interface's frame buffer as IPv4.
 *
 * ## Autoconfiguration (RFC 4862, RFC 7217, RFC 4861 §6.3.7)
 * An interface gets a link-local address at once (stable identifier, RFC 8064), runs
 * DAD, then solicits routers; each autonomous /64 prefix of an RA yields a stable
 * address (RFC 7217), also after DAD. A DAD conflict marks the address `duplicate` (never
 * used) and, for generated identifiers, forms the next one (RFC 7217 §6, up to
 * IDGEN_RETRIES = 3). Addresses follow the prefix lifetimes (deprecated, then removed).
 * State changes are reported as `Ipv6Event`s after the poll.
 */
import { InputContext } from './input-context.ts';
import { IOT_SOCKET_EAGAIN, IOT_SOCKET_EINVAL, IOT_SOCKET_ERROR } from '../base/iot-constants.ts';
import {
  ipEquals, ipPrefixMatches, ipv6EqualAt, ipv6FromPrefixAndIid, ipv6LinkLocalFromIid, ipv6MulticastMac, isLinkLocal,
  isUnspecified, modifiedEui64, solicitedNodeMulticast,
} from '../base/ip-address.ts';
import { randomInt, type Rng } from '../base/rand.ts';
import { rd16, rd32, wr16, wr32 } from '../wire/bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../wire/checksum.ts';
import { EtherType } from '../wire/ethernet.ts';
import type { WireFault } from '../wire/fault.ts';
import { isFault } from '../wire/fault.ts';
import {
  Icmpv6Type, Icmpv6Unreachable, Icmpv6TimeExceeded, checkNdIpFields, emitIcmpv6, icmpv6BufferLen, icmpv6DestUnreachable, icmpv6ErrorAllowed,
  icmpv6PacketTooBig, icmpv6ParameterProblem, icmpv6TimeExceeded,
  isNdType, parseIcmpv6, validateIcmpv6, ND_HOP_LIMIT, type Icmpv6Repr,
} from '../wire/icmpv6.ts';
import {
  IPV6_ALL_MLDV2_ROUTERS, IPV6_ALL_NODES, IPV6_ALL_ROUTERS, IPV6_HEADER_LEN, IPV6_MIN_MTU, Ipv6ExtWalk, Ipv6NextHeader,
  Ipv6ParamProblemCode, emitRouterAlertHopByHop, parseIpv6Quoted, walkIpv6Extensions,
} from '../wire/ipv6.ts';
import { MLD_DEFAULT_ROBUSTNESS, MLD_UNSOLICITED_REPORT_INTERVAL, MldRecordType, checkMldIpFields, emitMld, isMldType, mldBufferLen, mldv2MaxResponseDelay, parseMld, type MldRecord } from '../wire/mld.ts';
import type { NetInterface } from './interface.ts';
import { Ip6Addr, Ip6Group, Ip6Iface, type Ipv6AddressInfo, type Ipv6AddressOrigin, type Pending6 } from './ipv6-interface.ts';
import { Ipv6Reassembler, type ReassemblyOptions } from './ipv6-reassembly.ts';
import { stableIid } from './ipv6-iid.ts';
import { selectSourceAddress, type SourceCandidate } from './ipv6-source-select.ts';
import { PmtuCache } from './pmtu-cache.ts';
import { isLinkLocal6At } from './ip-forward.ts';
import { LowpanNd, type HostRegistration, type LowpanNdOptions } from './lowpan/lowpan-nd.ts';
import { AroStatus, findLowpanNdOptions, lowpanLinkAddrFromOption, lowpanNdRawOptions } from '../wire/lowpan/nd-options.ts';
import type { IcmpErrorInfo, Ip6Send, IpInputContext, StackStats } from './stack.ts';

// ------------------------------------------------------------------------------------
// Public types

/** How an interface takes part in IPv6 (`Stack.enableIpv6`, `InterfaceOptions.ipv6`). */
export interface Ipv6InterfaceOptions {
  /** SLAAC from Router Advertisements, and router solicitation (default true). */
  autoconf?: boolean;
  /** Static addresses (`ADDR/LEN`); their prefixes are on-link. */
  addresses?: readonly { readonly address: Uint8Array; readonly prefixLen: number }[];
  /**
   * A static default router (used while no RA offers one). On a point-to-point `'ip'` link
   * (PPP) the peer's link-local address (fe80:: + its IPV6CP identifier) will do: nothing is
   * resolved there, every packet simply goes out of the link.
   */
  gateway?: Uint8Array;
  /** RFC 7217 secret key, 16 bytes (default: 16 random bytes from the stack's `Rng`; keep one per device for stable addresses across restarts). */
  secretKey?: Uint8Array;
  /** DupAddrDetectTransmits (default 1; 0 disables DAD). */
  dadTransmits?: number;
  /**
   * Link-local identifier: `'stable'` (RFC 7217/8064, default), `'eui64'` (modified EUI-64
   * of the MAC, RFC 4291; Ethernet only, else stable), or an explicit 8-byte identifier,
   * not all zero (RangeError otherwise): the one PPP's IPV6CP negotiated (RFC 5072 §4.1,
   * the address being fe80::/64 + it). An explicit identifier is kept as it is: a DAD
   * conflict marks the address duplicate without forming another one.
   */
  linkLocalIid?: 'stable' | 'eui64' | Uint8Array;
  /** Router solicitations sent at start (default 3, RFC 4861 MAX_RTR_SOLICITATIONS). */
  routerSolicitations?: number;
  /**
   * 6LoWPAN Neighbor Discovery (RFC 6775) on an `'ieee802154'` interface (ignored elsewhere):
   * the registration lifetime a host asks for, or the router role (`router`: RAs with the
   * mesh prefix, contexts and ABRO, address registrations). On such an interface DAD is off
   * by default (`dadTransmits` 0: addresses are unique by their EUI-64 and by registration),
   * identifiers are the EUI-64's, no multicast Neighbor Solicitation or MLD report is sent,
   * and a host's global address stays tentative until a router registered it.
   */
  lowpan?: LowpanNdOptions;
}

/** Stack-wide IPv6 settings (`StackOptions.ipv6`). */
export interface Ipv6StackOptions {
  reassembly?: ReassemblyOptions;
  /** Neighbor cache entries per interface (default 512). */
  maxNeighbors?: number;
  /** Path MTU entries (default 1024). */
  maxPathMtuEntries?: number;
}

/** What `onIpv6Event` listeners get (after the poll in which it happened). */
export type Ipv6Event =
  /** An address was added or changed state (tentative -> preferred, deprecated, duplicate). */
  | { readonly kind: 'address'; readonly info: Ipv6AddressInfo }
  /** An address went away (lifetime over, removed). */
  | { readonly kind: 'address-removed'; readonly info: Ipv6AddressInfo }
  /** A default router was learned (`added`) or lost. */
  | { readonly kind: 'router'; readonly ifIndex: number; readonly router: Uint8Array; readonly added: boolean }
  /** The RDNSS servers of an interface changed (RFC 8106). */
  | { readonly kind: 'dns'; readonly ifIndex: number; readonly servers: Uint8Array[] }
  /** An RA set the O (other configuration) flag: DHCPv6 information-request time (RFC 4861 §4.2, RFC 8415 §18.2.6). */
  | { readonly kind: 'other-config'; readonly ifIndex: number; readonly managed: boolean };

/** What the layer needs from its stack. */
export interface Ipv6Host {
  readonly stats: StackStats;
  readonly rng: Rng;
  iface(ifIndex: number): NetInterface | undefined;
  /** Hands `iface.tx[0, len)` to the device after writing the link header; false when refused. */
  transmit(iface: NetInterface, mac: Uint8Array | undefined, etherType: number, len: number, now: number): boolean;
  /** Queues a packet to one of our own addresses for the next poll; false when the loop queue is full. */
  loop(ifIndex: number, packet: Uint8Array): boolean;
  /** UDP/TCP delivery: false when nothing handles `ctx.protocol` (the layer answers with Parameter Problem). */
  deliver(now: number, ctx: IpInputContext, payload: Uint8Array, reassembled: boolean): boolean;
  deliverError(now: number, e: IcmpErrorInfo): void;
  /** An echo reply for one of the stack's pings. */
  echoReply(now: number, ident: number, seq: number, from: Uint8Array, hopLimit: number, data: Uint8Array): void;
  /** The ICMP error rate limiter (shared with IPv4). */
  takeErrorToken(now: number): boolean;
  event(e: Ipv6Event): void;
  /** Asks for a poll soon (a deadline moved earlier outside a poll). */
  requestPoll(): void;
  /** A 64 KiB scratch buffer. */
  scratch(): Uint8Array;
}

// ------------------------------------------------------------------------------------

const EMPTY = new Uint8Array(0);
// Hot-path constants as module locals (an imported object is read through a getter under tsx).
const NH_TCP = 6;
const NH_UDP = 17;
const NH_ICMPV6 = 58;
const UNSPECIFIED = new Uint8Array(16);
const FRAG_HLEN = 8;
const MAX_RTR_SOLICITATION_DELAY = 1000;
const RTR_SOLICITATION_INTERVAL = 4000;
const IDGEN_RETRIES = 3;
const MAX_REDIRECTS = 64;
const TEXT = new TextEncoder();


interface Redirect {
  readonly dst: Uint8Array;
  readonly nextHop: Uint8Array;
  readonly ifIndex: number;
}

const FAULT_KEYS: Record<WireFault, 'truncated' | 'badLength' | 'badChecksum' | 'malformed' | 'unsupported'> = {
  truncated: 'truncated', 'bad-length': 'badLength', 'bad-checksum': 'badChecksum', malformed: 'malformed', unsupported: 'unsupported',
};

export class Ipv6Layer {
  /** Router role: packets for others are forwarded (`forward`), NAs carry the Router flag. */
  forwarding = false;
  private readonly host: Ipv6Host;
  private readonly ifs: (Ip6Iface | undefined)[] = [];
  readonly reassembler: Ipv6Reassembler;
  readonly pmtu: PmtuCache;
  private readonly maxNeighbors: number;
  private readonly walk = new Ipv6ExtWalk();
  /** For walks beside the receive walk (error rules, quoted packets, packets given back): never the one `input` is reading. */
  private readonly sideWalk = new Ipv6ExtWalk();
  private readonly ctx = new InputContext(6);
  /** The input context's addresses (copied: cheaper than two views per packet). */
  private readonly src6 = new Uint8Array(16);
  private readonly dst6 = new Uint8Array(16);
  private redirects: Redirect[] = [];
  /** Earliest deadline of any interface machine (Infinity: none). */
  private nextAt = Infinity;
  // One-entry destination cache, invalidated by `routeGen`.
  private routeGen = 1;
  private cacheGen = 0;
  private readonly cacheDst = new Uint8Array(16);
  private cacheIf: Ip6Iface | undefined = undefined;
  private cacheHop: Uint8Array = UNSPECIFIED;
  // Route lookup results (no allocation per packet).
  private rIf: Ip6Iface | undefined = undefined;
  private rHop: Uint8Array = UNSPECIFIED;

  constructor(host: Ipv6Host, opts: Ipv6StackOptions = {}) {
    this.host = host;
    this.reassembler = new Ipv6Reassembler(opts.reassembly);
    this.pmtu = new PmtuCache({ floor: IPV6_MIN_MTU, ...(opts.maxPathMtuEntries !== undefined ? { maxEntries: opts.maxPathMtuEntries } : {}) });
    this.maxNeighbors = opts.maxNeighbors ?? 512;
  }

  // ---------------------------------------------------------------- configuration

  /** IPv6 state of an interface (undefined: IPv6 not enabled there). */
  state(ifIndex: number): Ip6Iface | undefined {
    return this.ifs[ifIndex];
  }

  /** Interfaces with IPv6. */
  get enabled(): Ip6Iface[] {
    return this.ifs.filter((s): s is Ip6Iface => s !== undefined);
  }

  enable(now: number, iface: NetInterface, opts: Ipv6InterfaceOptions = {}): void {
    if (this.ifs[iface.index] !== undefined) throw new RangeError(`IPv6 already enabled on ${iface.name}`);
    if (iface.mtu < IPV6_MIN_MTU) throw new RangeError(`IPv6 needs an MTU of at least 1280 (RFC 8200 §5), ${iface.name} has ${iface.mtu}`);
    const iidOpt = opts.linkLocalIid;
    if (iidOpt instanceof Uint8Array) {
      if (iidOpt.length !== 8 || iidOpt.every((b) => b === 0)) throw new RangeError('IPv6 link-local interface identifier: 8 bytes, not all zero');
    } else if (iidOpt !== undefined && iidOpt !== 'stable' && iidOpt !== 'eui64') {
      throw new RangeError(`IPv6 link-local identifier: 'stable', 'eui64' or 8 bytes, got ${String(iidOpt)}`);
    }
    let secret = opts.secretKey;
    if (secret === undefined) {
      secret = new Uint8Array(16);
      for (let i = 0; i < 16; i += 4) wr32(secret, i, this.host.rng.nextU32());
    } else if (secret.length !== 16) throw new RangeError('IPv6 secret key: 16 bytes');
    const lowpan = iface.medium === 'ieee802154';
    const st = new Ip6Iface(iface, {
      dadTransmits: opts.dadTransmits ?? (lowpan ? 0 : 1), retransTimerMs: 1000, reachableTimeMs: 30_000, maxNeighbors: this.maxNeighbors,
    }, opts.autoconf ?? true, secret.slice());
    if (lowpan) st.lowpan = new LowpanNd(opts.lowpan);
    this.ifs[iface.index] = st;
    st.neighbors.reachableTimeMs = this.randomReachable(st.baseReachableMs);
    this.joinGroup(now, st, IPV6_ALL_NODES);
    const lowpanRouter = st.lowpan?.router;
    if (lowpanRouter !== undefined) {
      this.joinGroup(now, st, IPV6_ALL_ROUTERS); // RSs come to ff02::2
      // The prefix it advertises as context 0 (6CO) compresses its own traffic too.
      const table = iface.lowpan?.contexts;
      if (table !== undefined) table[0] = { prefix: lowpanRouter.prefix.slice(0, 16), prefixLen: 64 };
    }
    // Link-local address first (RFC 4862 §5.3), with the DAD delay of the first address.
    const llDelay = randomInt(this.host.rng, 0, MAX_RTR_SOLICITATION_DELAY);
    if (iidOpt instanceof Uint8Array) {
      this.addAddress(now, st, ipv6LinkLocalFromIid(iidOpt) as Uint8Array, 64, 'link-local', undefined, llDelay);
    } else if ((iidOpt === 'eui64' && iface.medium === 'ethernet') || (iidOpt !== 'stable' && lowpan)) {
      const iid = modifiedEui64(iface.mac) as Uint8Array;
      this.addAddress(now, st, ipv6LinkLocalFromIid(iid) as Uint8Array, 64, 'link-local', LINK_LOCAL_PREFIX, llDelay);
    } else {
      this.formAddress(now, st, LINK_LOCAL_PREFIX, 'link-local', 0, llDelay);
    }
    for (const a of opts.addresses ?? []) this.addStatic(now, iface.index, a.address, a.prefixLen);
    if (opts.gateway !== undefined) st.staticRouter = opts.gateway.slice(0, 16);
    st.rsSent = st.autoconf ? -Math.max(0, Math.floor(opts.routerSolicitations ?? 3)) : 0; // negative: still to send, after link-local DAD
    // Without DAD (`dadTransmits: 0`, e.g. a PPP link whose IPV6CP made the identifier
    // unique) the link-local address is preferred already: solicit after the usual delay.
    if (st.rsSent < 0 && st.linkLocal() !== undefined) st.rsAt = now + randomInt(this.host.rng, 0, MAX_RTR_SOLICITATION_DELAY);
    this.changedRouting();
    this.reschedule();
  }

  /** Stops IPv6 on an interface (addresses dropped, waiting packets discarded). */
  disable(ifIndex: number): void {
    const st = this.ifs[ifIndex];
    if (st === undefined) return;
    for (const a of [...st.addresses]) this.removeAddress(st, a);
    this.ifs[ifIndex] = undefined;
    this.redirects = this.redirects.filter((r) => r.ifIndex !== ifIndex);
    this.changedRouting();
    this.reschedule();
  }

  /** Adds a static address (its prefix becomes on-link); DAD runs first. */
  addStatic(now: number, ifIndex: number, address: Uint8Array, prefixLen: number): void {
    const st = this.mustState(ifIndex);
    if (address.length !== 16 || address[0] === 0xff || isUnspecified(address)) throw new RangeError('not a unicast IPv6 address');
    if (!Number.isInteger(prefixLen) || prefixLen < 1 || prefixLen > 128) throw new RangeError(`bad IPv6 prefix length: ${prefixLen}`);
    if (st.findAddress(address) !== undefined) return;
    if (!isLinkLocal(address) && prefixLen < 128) st.staticPrefixes.push({ prefix: address.slice(), len: prefixLen });
    this.addAddress(now, st, address.slice(), prefixLen, 'static', undefined, 0);
    this.changedRouting();
  }

  /** Removes an address of any origin. */
  removeStatic(ifIndex: number, address: Uint8Array): boolean {
    const st = this.mustState(ifIndex);
    const a = st.findAddress(address);
    if (a === undefined) return false;
    this.removeAddress(st, a);
    const i = st.staticPrefixes.findIndex((p) => ipEquals(p.prefix, address));
    if (i >= 0) st.staticPrefixes.splice(i, 1);
    this.changedRouting();
    return true;
  }

  addresses(ifIndex?: number): Ipv6AddressInfo[] {
    const out: Ipv6AddressInfo[] = [];
    for (const st of this.enabled) {
      if (ifIndex !== undefined && st.index !== ifIndex) continue;
      for (const a of st.addresses) out.push(a.info(st.index));
    }
    return out;
  }

  /** Default routers of an interface (RA-learned, then the static one). */
  routers(ifIndex: number): Uint8Array[] {
    const st = this.ifs[ifIndex];
    if (st === undefined) return [];
    const r = st.routers.defaultRouters();
    if (st.staticRouter !== undefined) r.push(st.staticRouter.slice());
    return r;
  }

  /** RDNSS servers of every interface (RFC 8106), in interface order, without duplicates. */
  dnsServers(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const st of this.enabled) for (const s of st.routers.dnsServers()) if (!out.some((x) => ipEquals(x, s))) out.push(s.slice());
    return out;
  }

  /** Redirects held (RFC 4861 §8.3; at most MAX_REDIRECTS, the oldest replaced), for diagnostics and bound checks. */
  get redirectCount(): number {
    return this.redirects.length;
  }

  /** Whether `addr` is one of our usable addresses (any interface). */
  isLocal(addr: Uint8Array): boolean {
    return this.localAddress(addr) !== undefined;
  }

  /** Joins a multicast group on an interface (reference counted; MLD reports sent). */
  join(now: number, ifIndex: number, group: Uint8Array): void {
    this.joinGroup(now, this.mustState(ifIndex), group);
    this.reschedule();
  }

  /** Leaves a group joined with `join`. */
  leave(now: number, ifIndex: number, group: Uint8Array): void {
    const st = this.ifs[ifIndex];
    if (st !== undefined) this.leaveGroup(now, st, group);
  }

  // ---------------------------------------------------------------- driving

  /** The earliest deadline of the layer (undefined: none). */
  pollAt(): number | undefined {
    const r = this.reassembler.pollAt();
    let at = this.nextAt;
    if (r !== undefined && r < at) at = r;
    return at === Infinity ? undefined : at;
  }

  /** Runs everything due at `now`. Cheap when nothing is. */
  poll(now: number): void {
    const r = this.reassembler.pollAt();
    if (r !== undefined && r <= now) this.reassemblyTick(now);
    if (now < this.nextAt) return;
    for (const st of this.enabled) this.pollInterface(st, now);
    this.reschedule();
  }

  private pollInterface(st: Ip6Iface, now: number): void {
    // Neighbor cache: solicitations, failures, unreachable routers.
    const n = st.neighbors.poll(now);
    for (const s of n.solicits) this.sendNs(now, st, s.target, s.lladdr, false);
    for (const f of n.failed) {
      this.host.stats.nd.resolutionFailed++;
      for (const p of f.pending) {
        this.host.stats.drops.arpFailed++;
        if (p.forwarded === true) this.sendError(now, p.packet, Icmpv6Type.DEST_UNREACHABLE, Icmpv6Unreachable.ADDRESS, 0, false);
        else this.localUnreachable(now, p.packet);
      }
    }
    for (const u of n.unreachable) {
      if (st.routers.defaultRouters().some((r) => ipEquals(r, u))) {
        st.routers.removeRouter(u);
        this.host.event({ kind: 'router', ifIndex: st.index, router: u.slice(), added: false });
        this.changedRouting();
      }
    }
    // DAD.
    const d = st.dad.poll(now);
    for (const a of d.probe) this.sendNs(now, st, a, undefined, true);
    for (const p of d.preferred) {
      const a = st.findAddress(p);
      if (a === undefined || a.state !== 'tentative') continue;
      a.state = now >= a.preferredUntil ? 'deprecated' : 'preferred';
      this.changedRouting();
      this.host.event({ kind: 'address', info: a.info(st.index) });
      if (a.origin === 'link-local' && st.rsSent < 0) st.rsAt = now + randomInt(this.host.rng, 0, MAX_RTR_SOLICITATION_DELAY);
    }
    // Router information lifetimes.
    const ri = st.routers.poll(now);
    for (const r of ri.routersExpired) this.host.event({ kind: 'router', ifIndex: st.index, router: r.slice(), added: false });
    for (const p of ri.slaacDeprecated) {
      for (const a of st.addresses) {
        if (a.origin === 'slaac' && a.prefix !== undefined && ipEquals(a.prefix, p) && a.state === 'preferred') {
          a.state = 'deprecated';
          this.host.event({ kind: 'address', info: a.info(st.index) });
        }
      }
    }
    for (const p of ri.slaacExpired) {
      for (const a of [...st.addresses]) if (a.origin === 'slaac' && a.prefix !== undefined && ipEquals(a.prefix, p)) this.removeAddress(st, a);
    }
    if (ri.routersExpired.length > 0 || ri.slaacExpired.length > 0 || ri.slaacDeprecated.length > 0) this.changedRouting();
    if (ri.dnsChanged) this.host.event({ kind: 'dns', ifIndex: st.index, servers: st.routers.dnsServers().map((s) => s.slice()) });
    // Router solicitation (RFC 4861 §6.3.7).
    if (now >= st.rsAt) {
      this.sendRs(now, st);
      st.rsSent++;
      st.rsAt = st.rsSent < 0 ? now + RTR_SOLICITATION_INTERVAL : Infinity;
      // RFC 6775 §5.3: a 6LoWPAN host keeps soliciting, backing off, until a router answers.
      if (st.rsAt === Infinity && st.lowpan !== undefined && st.lowpan.router === undefined && st.routers.defaultRouters().length === 0) {
        st.rsAt = now + st.lowpan.nextRsInterval();
      }
    }
    if (st.lowpan !== undefined) this.lowpanPoll(now, st, st.lowpan);
    // MLD: unsolicited reports and query responses.
    for (const g of st.groups) {
      if (now < g.reportAt) continue;
      this.sendMldReport(now, st, [g], MldRecordType.CHANGE_TO_EXCLUDE);
      g.reportsLeft--;
      g.reportAt = g.reportsLeft > 0 ? now + randomInt(this.host.rng, 0, MLD_UNSOLICITED_REPORT_INTERVAL) : Infinity;
    }
    if (now >= st.queryReportAt) {
      st.queryReportAt = Infinity;
      const groups = st.groups.filter((g) => g.reported);
      if (groups.length > 0) this.sendMldReport(now, st, groups, MldRecordType.MODE_IS_EXCLUDE);
    }
  }

  private reschedule(): void {
    let at = Infinity;
    for (const st of this.enabled) {
      const n = st.neighbors.pollAt();
      if (n !== undefined && n < at) at = n;
      st.neighbors.takeArmed();
      const d = st.dad.pollAt();
      if (d !== undefined && d < at) at = d;
      const r = st.routers.pollAt();
      if (r !== undefined && r < at) at = r;
      if (st.rsAt < at) at = st.rsAt;
      if (st.queryReportAt < at) at = st.queryReportAt;
      const l = st.lowpan?.nextAt();
      if (l !== undefined && l < at) at = l;
      for (const g of st.groups) if (g.reportAt < at) at = g.reportAt;
    }
    const moved = at < this.nextAt;
    this.nextAt = at;
    if (moved) this.host.requestPoll();
  }

  /** A neighbor cache started a timer while sending: pull the deadline in. */
  private noteNeighborTimer(st: Ip6Iface): void {
    const a = st.neighbors.takeArmed();
    if (a !== undefined && a < this.nextAt) {
      this.nextAt = a;
      this.host.requestPoll();
    }
  }

  private reassemblyTick(now: number): void {
    const stats = this.reassembler.stats;
    const before = stats.timedOut;
    const expired = this.reassembler.poll(now);
    this.host.stats.drops.reassembly += stats.timedOut - before;
    for (const e of expired) {
      // RFC 8200 §4.5: Time Exceeded code 1, only when fragment zero arrived.
      if (e.firstFragment === undefined) continue;
      this.sendError(now, e.firstFragment, Icmpv6Type.TIME_EXCEEDED, Icmpv6TimeExceeded.REASSEMBLY, 0, false);
    }
  }

  // ---------------------------------------------------------------- addresses

  /** Forms a stable address (RFC 7217) from a /64 `prefix` and adds it (tentative). */
  private formAddress(now: number, st: Ip6Iface, prefix: Uint8Array, origin: Ipv6AddressOrigin, dadCounter: number, delay: number, validUntil = Infinity, preferredUntil = Infinity): Ip6Addr | undefined {
    const netIface = st.iface.medium === 'ethernet' ? st.iface.mac : TEXT.encode(st.iface.name);
    // 6LoWPAN: the EUI-64's identifier (RFC 6775 §5.2), which IPHC elides (RFC 6282 §3.2.2).
    const { iid, dadCounter: used } = st.lowpan !== undefined
      ? { iid: modifiedEui64(st.iface.mac) as Uint8Array, dadCounter }
      : stableIid({ key: st.secret, prefix, netIface, dadCounter });
    const addr = origin === 'link-local' ? ipv6LinkLocalFromIid(iid) : ipv6FromPrefixAndIid(prefix, iid);
    if (addr === undefined || st.findAddress(addr) !== undefined) return undefined;
    const a = this.addAddress(now, st, addr, 64, origin, prefix.slice(0, 16), delay);
    a.dadCounter = used;
    a.validUntil = validUntil;
    a.preferredUntil = preferredUntil;
    return a;
  }

  private addAddress(now: number, st: Ip6Iface, addr: Uint8Array, prefixLen: number, origin: Ipv6AddressOrigin, prefix: Uint8Array | undefined, delay: number): Ip6Addr {
    const a = new Ip6Addr(addr, prefixLen, origin, prefix);
    st.addresses.push(a);
    this.joinGroup(now, st, solicitedNodeMulticast(addr) as Uint8Array);
    if (st.dad.start(addr, now, delay)) a.state = 'preferred';
    if (st.lowpan !== undefined && st.lowpan.router === undefined && !isLinkLocal(addr)) {
      a.state = 'tentative'; // until a router registers it (RFC 6775 §5.5)
      st.lowpan.startRegistration(addr, st.routers.defaultRouters().length > 0 ? now : Infinity);
    }
    this.host.event({ kind: 'address', info: a.info(st.index) });
    this.changedRouting();
    this.reschedule();
    return a;
  }

  private removeAddress(st: Ip6Iface, a: Ip6Addr): void {
    const i = st.addresses.indexOf(a);
    if (i < 0) return;
    st.addresses.splice(i, 1);
    st.dad.stop(a.addr);
    st.lowpan?.stopRegistration(a.addr);
    this.leaveGroup(0, st, solicitedNodeMulticast(a.addr) as Uint8Array);
    this.changedRouting();
    this.host.event({ kind: 'address-removed', info: a.info(st.index) });
  }

  /** RFC 4862 §5.4.5 / RFC 7217 §6: the address is in use elsewhere. */
  private dadFailed(now: number, st: Ip6Iface, a: Ip6Addr): void {
    this.host.stats.nd.dadConflicts++;
    if (!st.dad.conflict(a.addr) && a.state !== 'tentative') return;
    a.state = 'duplicate';
    this.leaveGroup(now, st, solicitedNodeMulticast(a.addr) as Uint8Array);
    this.host.event({ kind: 'address', info: a.info(st.index) });
    this.changedRouting();
    if ((a.origin === 'slaac' || a.origin === 'link-local') && a.prefix !== undefined && a.dadCounter < IDGEN_RETRIES) {
      this.formAddress(now, st, a.prefix, a.origin, a.dadCounter + 1, 0, a.validUntil, a.preferredUntil);
    }
  }

  private joinGroup(now: number, st: Ip6Iface, group: Uint8Array): void {
    const g = st.findGroup(group);
    if (g !== undefined) {
      g.refs++;
      return;
    }
    const ng = new Ip6Group(group.slice(0, 16));
    st.groups.push(ng);
    if (ng.reported && st.lowpan === undefined) {
      ng.reportsLeft = MLD_DEFAULT_ROBUSTNESS;
      ng.reportAt = now;
    }
  }

  private leaveGroup(now: number, st: Ip6Iface, group: Uint8Array): void {
    const g = st.findGroup(group);
    if (g === undefined || --g.refs > 0) return;
    st.groups.splice(st.groups.indexOf(g), 1);
    if (g.reported && now > 0) this.sendMldReport(now, st, [g], MldRecordType.CHANGE_TO_INCLUDE);
  }

  private localAddress(addr: Uint8Array): Ip6Addr | undefined {
    return this.localAt(addr, 0, true)?.a;
  }

  /**
   * The address (of any interface) equal to the 16 bytes of `buf` at `off`; `usable`:
   * only preferred or deprecated ones. Checks the last hit first (one connection's
   * packets in a row).
   */
  private localAt(buf: Uint8Array, off: number, usable: boolean): { st: Ip6Iface; a: Ip6Addr } | undefined {
    const hit = this.lastLocal;
    if (hit !== undefined && hit.gen === this.routeGen && ipv6EqualAt(hit.a.addr, buf, off) && (!usable || hit.a.usable)) return hit;
    for (let i = 0; i < this.ifs.length; i++) {
      const st = this.ifs[i];
      if (st === undefined) continue;
      const list = st.addresses;
      for (let k = 0; k < list.length; k++) {
        const a = list[k] as Ip6Addr;
        if (!ipv6EqualAt(a.addr, buf, off)) continue;
        if (usable && !a.usable) return undefined;
        this.lastLocal = { st, a, gen: this.routeGen };
        return this.lastLocal;
      }
    }
    return undefined;
  }

  private lastLocal: { st: Ip6Iface; a: Ip6Addr; gen: number } | undefined = undefined;

  private localAddressAny(addr: Uint8Array): { st: Ip6Iface; a: Ip6Addr } | undefined {
    return this.localAt(addr, 0, false);
  }

  private randomReachable(base: number): number {
    // RFC 4861 §6.3.2: uniformly between MIN_RANDOM_FACTOR (0.5) and MAX_RANDOM_FACTOR (1.5) times BaseReachableTime.
    return Math.floor(base * (0.5 + this.host.rng.nextU32() / 0x100000000));
  }

  // ---------------------------------------------------------------- routing

  private changedRouting(): void {
    this.routeGen++;
  }

  /**
   * Sets `rIf`/`rHop` for `dst` (the next hop is `dst` itself when on-link). Returns 0 or
   * a negative code (no route).
   */
  private route(dst: Uint8Array, ifIndex: number | undefined): number {
    if (ifIndex === undefined && this.cacheGen === this.routeGen && ipv6EqualAt(this.cacheDst, dst, 0)) {
      this.rIf = this.cacheIf;
      this.rHop = this.cacheHop;
      return 0;
    }
    let st: Ip6Iface | undefined;
    let hop = dst;
    if (dst[0] === 0xff || isLinkLocal(dst)) {
      st = ifIndex !== undefined ? this.ifs[ifIndex] : this.firstUp();
    } else {
      for (const s of this.enabled) {
        if (ifIndex !== undefined && s.index !== ifIndex) continue;
        if (s.iface.up && s.isOnLink(dst)) {
          st = s;
          break;
        }
      }
      if (st === undefined) {
        const r = this.redirects.find((x) => ipEquals(x.dst, dst));
        if (r !== undefined) {
          st = this.ifs[r.ifIndex];
          hop = r.nextHop;
        }
      }
      if (st === undefined) {
        const pick = this.defaultRouter(ifIndex);
        if (pick !== undefined) {
          st = pick.st;
          hop = pick.router;
        }
      }
    }
    if (st === undefined) return IOT_SOCKET_ERROR;
    this.rIf = st;
    this.rHop = hop;
    if (ifIndex === undefined) {
      this.cacheDst.set(dst);
      this.cacheIf = st;
      this.cacheHop = hop === dst ? this.cacheDst : hop;
      this.cacheGen = this.routeGen;
      if (hop === dst) this.rHop = this.cacheDst;
    }
    return 0;
  }

  /** RFC 4861 §6.3.6: a router whose neighbor entry is (probably) reachable first, else any. */
  private defaultRouter(ifIndex: number | undefined): { st: Ip6Iface; router: Uint8Array } | undefined {
    let fallback: { st: Ip6Iface; router: Uint8Array } | undefined;
    for (const st of this.enabled) {
      if ((ifIndex !== undefined && st.index !== ifIndex) || !st.iface.up) continue;
      for (const r of st.routers.defaultRouters()) {
        if (st.neighbors.lookup(r) !== undefined) return { st, router: r }; // has a link-layer address: probably reachable
        fallback ??= { st, router: r };
      }
      if (st.staticRouter !== undefined) fallback ??= { st, router: st.staticRouter };
    }
    return fallback;
  }

  private firstUp(): Ip6Iface | undefined {
    for (const st of this.enabled) if (st.iface.up) return st;
    return undefined;
  }

  /** RFC 6724 source for `dst` leaving through `st` (undefined: no usable address). */
  selectSource(dst: Uint8Array, st: Ip6Iface | undefined): Uint8Array | undefined {
    const cands: SourceCandidate[] = [];
    for (const s of this.enabled) {
      for (const a of s.addresses) if (a.usable) cands.push({ addr: a.addr, ifIndex: s.index, deprecated: a.state === 'deprecated', prefixLen: a.prefixLen });
    }
    // Link-local (and link-scope multicast) destinations need a source on the outgoing link.
    const scoped = isLinkLocal(dst) || (dst[0] === 0xff && ((dst[1] as number) & 0x0f) <= 2);
    const usable = scoped && st !== undefined ? cands.filter((c) => c.ifIndex === st.index) : cands;
    return selectSourceAddress(dst, usable, st?.index)?.addr;
  }

  /** The source address `send` would choose for `dst` (a copy), or undefined without route or address. */
  sourceFor(dst: Uint8Array, ifIndex?: number): Uint8Array | undefined {
    const local = this.localAddress(dst);
    if (local !== undefined) return local.addr.slice();
    if (this.route(dst, ifIndex) !== 0) return undefined;
    return this.selectSource(dst, this.rIf)?.slice();
  }

  /** Largest packet that goes out unfragmented towards `dst` (0: no route). */
  pathMtu(dst: Uint8Array, now: number): number {
    if (this.localAddress(dst) !== undefined) return 65535;
    if (this.route(dst, undefined) !== 0) return 0;
    const st = this.rIf as Ip6Iface;
    const p = this.pmtu.get(dst, now);
    return p !== undefined && p < st.mtu ? p : st.mtu;
  }

  // ---------------------------------------------------------------- send

  /** Sends one IPv6 packet (see `Stack.sendIp6`). */
  send(now: number, p: Ip6Send): number {
    const hopLimitOpt = p.hopLimit;
    if (hopLimitOpt !== undefined && (!Number.isInteger(hopLimitOpt) || hopLimitOpt < 1 || hopLimitOpt > 255)) return IOT_SOCKET_EINVAL;
    const payloadLen = p.payload !== undefined ? p.payload.length : (p.payloadLen ?? -1);
    if (payloadLen < 0 || payloadLen > 0xffff || (p.payload === undefined && p.payloadWriter === undefined)) return IOT_SOCKET_EINVAL;
    const dst = p.dst;
    if (dst.length !== 16 || (dst[0] === 0 && isUnspecified(dst))) return IOT_SOCKET_EINVAL;

    if (p.ifIndex === undefined && this.cacheGen === this.routeGen && ipv6EqualAt(this.cacheDst, dst, 0)) {
      // The destination cache: routed before in this generation, so not one of ours
      // (`route` is only asked after the local check, and a change of addresses starts
      // a new generation).
      this.rIf = this.cacheIf;
      this.rHop = this.cacheHop;
    } else {
      if (dst[0] !== 0xff && this.localAt(dst, 0, true) !== undefined) return this.loopOut(now, p, payloadLen);
      if (this.route(dst, p.ifIndex) !== 0) {
        this.host.stats.drops.noRoute++;
        return IOT_SOCKET_ERROR;
      }
    }
    const st = this.rIf as Ip6Iface;
    const nextHop = this.rHop;
    const iface = st.iface;
    if (!iface.up) {
      this.host.stats.drops.interfaceDown++;
      return IOT_SOCKET_ERROR;
    }
    let src = p.src;
    if (src === undefined || (src[0] === 0 && isUnspecified(src))) {
      src = this.selectSource(dst, st);
      if (src === undefined) {
        this.host.stats.drops.noRoute++;
        return IOT_SOCKET_ERROR;
      }
    } else if (src.length !== 16 || this.localAt(src, 0, true) === undefined) {
      return IOT_SOCKET_EINVAL;
    }
    const hop = hopLimitOpt ?? (dst[0] === 0xff ? 1 : st.hopLimit);
    let mtu = st.mtu;
    if (this.pmtu.size > 0) {
      const pm = this.pmtu.get(dst, now);
      if (pm !== undefined && pm < mtu) mtu = pm;
    }
    const total = IPV6_HEADER_LEN + payloadLen;
    const fragment = total > mtu;
    if (fragment && p.dontFragment === true) {
      this.host.stats.drops.tooBig++;
      return IOT_SOCKET_EINVAL;
    }

    let mac: Uint8Array | undefined;
    if (iface.medium === 'ethernet') {
      if (dst[0] === 0xff) mac = ipv6MulticastMac(dst);
      else {
        mac = st.neighbors.usableLladdr(nextHop, now);
        if (mac === undefined) {
          const packet = new Uint8Array(total);
          this.build(packet, 0, p, src, dst, hop, payloadLen, true);
          const holder: Pending6 = { ifIndex: iface.index, mtu, packet };
          const r = st.neighbors.resolve(nextHop, now, holder);
          this.noteNeighborTimer(st);
          if (r.kind === 'failed') {
            this.host.stats.drops.arpFailed++;
            return IOT_SOCKET_ERROR;
          }
          if (r.kind === 'queued') {
            if (r.dropped) this.host.stats.drops.arpQueue++;
            if (r.solicit) this.sendNs(now, st, nextHop, undefined, false, src);
            this.host.stats.ip6.txPackets++;
            return 0;
          }
          mac = r.lladdr;
          this.host.stats.ip6.txPackets++;
          return this.emitPacket(now, st, mac, packet, mtu) ? 0 : IOT_SOCKET_EAGAIN;
        }
      }
    } else if (st.lowpan !== undefined && dst[0] !== 0xff) {
      mac = st.lowpan.resolve(nextHop, now);
      if (mac === undefined) {
        this.host.stats.nd.resolutionFailed++;
        this.host.stats.drops.arpFailed++;
        return IOT_SOCKET_ERROR;
      }
    }
    this.host.stats.ip6.txPackets++;
    if (!fragment) {
      const off = iface.linkHeaderLen;
      this.build(iface.tx, off, p, src, dst, hop, payloadLen, !iface.checksumOffload);
      return this.host.transmit(iface, mac, EtherType.IPV6, off + total, now) ? 0 : IOT_SOCKET_EAGAIN;
    }
    const scratch = this.host.scratch();
    this.build(scratch, 0, p, src, dst, hop, payloadLen, true);
    return this.fragmentOut(now, st, mac, scratch.subarray(0, total), mtu) ? 0 : IOT_SOCKET_EAGAIN;
  }

  /** Writes the IPv6 header and payload at `buf[off]`; `l4`: compute the transport checksum. */
  private build(buf: Uint8Array, off: number, p: Ip6Send, src: Uint8Array, dst: Uint8Array, hop: number, payloadLen: number, l4: boolean): void {
    const tc = (p.trafficClass ?? 0) & 0xff;
    const nh = p.protocol & 0xff;
    buf[off] = 0x60 | (tc >> 4);
    buf[off + 1] = (tc & 0x0f) << 4;
    buf[off + 2] = 0;
    buf[off + 3] = 0;
    wr16(buf, off + 4, payloadLen);
    buf[off + 6] = nh;
    buf[off + 7] = hop;
    buf.set(src, off + 8);
    buf.set(dst, off + 24);
    const start = off + IPV6_HEADER_LEN;
    const end = start + payloadLen;
    if (p.payload !== undefined) buf.set(p.payload, start);
    else (p.payloadWriter as (out: Uint8Array) => void)(buf.subarray(start, end));
    const co = p.checksumOffset;
    if (co !== undefined && co >= 0 && co + 2 <= payloadLen) {
      wr16(buf, start + co, 0);
      if (l4) {
        let c = foldChecksum(onesSum(buf, start, end, pseudoHeaderSumV6(src, dst, nh, payloadLen)));
        if (c === 0 && nh === Ipv6NextHeader.UDP) c = 0xffff; // RFC 8200 §8.1: a zero UDP checksum goes out as 0xffff
        wr16(buf, start + co, c);
      }
    }
  }

  /** Sends a finished packet (ours, 40-byte header first) to `mac`, fragmenting beyond `mtu`. */
  private emitPacket(now: number, st: Ip6Iface, mac: Uint8Array | undefined, packet: Uint8Array, mtu: number): boolean {
    if (packet.length <= mtu) {
      const iface = st.iface;
      const off = iface.linkHeaderLen;
      iface.tx.set(packet, off);
      return this.host.transmit(iface, mac, EtherType.IPV6, off + packet.length, now);
    }
    return this.fragmentOut(now, st, mac, packet, mtu);
  }

  /**
   * RFC 8200 §4.5 fragmentation of `packet` (a 40-byte header, no extension headers of
   * ours precede the upper layer) into packets of at most `mtu` bytes.
   */
  private fragmentOut(now: number, st: Ip6Iface, mac: Uint8Array | undefined, packet: Uint8Array, mtu: number): boolean {
    const maxData = (mtu - IPV6_HEADER_LEN - FRAG_HLEN) & ~7;
    if (maxData < 8) {
      this.host.stats.drops.tooBig++;
      return true;
    }
    const iface = st.iface;
    const buf = iface.tx;
    const off = iface.linkHeaderLen;
    const nh = packet[6] as number;
    const ident = this.host.rng.nextU32();
    const dataLen = packet.length - IPV6_HEADER_LEN;
    let ok = true;
    for (let pos = 0; pos < dataLen; pos += maxData) {
      const n = Math.min(maxData, dataLen - pos);
      const more = pos + n < dataLen;
      buf.set(packet.subarray(0, IPV6_HEADER_LEN), off);
      wr16(buf, off + 4, FRAG_HLEN + n);
      buf[off + 6] = Ipv6NextHeader.FRAGMENT;
      const f = off + IPV6_HEADER_LEN;
      buf[f] = nh;
      buf[f + 1] = 0;
      wr16(buf, f + 2, pos | (more ? 1 : 0));
      wr32(buf, f + 4, ident);
      buf.set(packet.subarray(IPV6_HEADER_LEN + pos, IPV6_HEADER_LEN + pos + n), f + FRAG_HLEN);
      this.host.stats.ip6.fragmentsOut++;
      if (!this.host.transmit(iface, mac, EtherType.IPV6, f + FRAG_HLEN + n, now)) ok = false;
    }
    return ok;
  }

  private loopOut(now: number, p: Ip6Send, payloadLen: number): number {
    const dst = p.dst;
    const owner = this.localAddressAny(dst) as { st: Ip6Iface; a: Ip6Addr };
    const src = p.src !== undefined && !isUnspecified(p.src) ? p.src : dst;
    const packet = new Uint8Array(IPV6_HEADER_LEN + payloadLen);
    this.build(packet, 0, p, src, dst, p.hopLimit ?? owner.st.hopLimit, payloadLen, true);
    if (!this.host.loop(owner.st.index, packet)) {
      this.host.stats.drops.loopQueue++;
      return 0;
    }
    this.host.stats.ip6.txPackets++;
    this.host.stats.ip6.looped++;
    void now;
    return 0;
  }

  /** Builds an ICMPv6 message and sends it through `send` (errors, echo). */
  sendIcmp(now: number, repr: Icmpv6Repr, dst: Uint8Array, src: Uint8Array | undefined, opts: { hopLimit?: number; ifIndex?: number | undefined } = {}): number {
    const len = icmpv6BufferLen(repr);
    const s = src ?? this.sourceFor(dst, opts.ifIndex);
    if (s === undefined) {
      this.host.stats.drops.noRoute++;
      return IOT_SOCKET_ERROR;
    }
    const body = new Uint8Array(len);
    emitIcmpv6(repr, body, s, dst);
    const r = this.send(now, {
      src: s, dst, protocol: Ipv6NextHeader.ICMPV6, payload: body, ifIndex: opts.ifIndex,
      ...(opts.hopLimit !== undefined ? { hopLimit: opts.hopLimit } : {}),
    });
    if (r === 0) this.host.stats.icmp6.out++;
    return r;
  }

  /**
   * Sends a link-local control message (ND, MLD) on `st` without routing or neighbor
   * resolution: `bytes` is the ICMPv6 message (checksum included), `mac` the link
   * destination. `hbh`: prefix a Router Alert Hop-by-Hop header (MLD).
   */
  private sendControl(now: number, st: Ip6Iface, src: Uint8Array, dst: Uint8Array, mac: Uint8Array | undefined, hop: number, bytes: Uint8Array, hbh: boolean): void {
    const iface = st.iface;
    if (!iface.up) return;
    const buf = iface.tx;
    const off = iface.linkHeaderLen;
    const extLen = hbh ? 8 : 0;
    buf[off] = 0x60;
    buf[off + 1] = 0;
    buf[off + 2] = 0;
    buf[off + 3] = 0;
    wr16(buf, off + 4, extLen + bytes.length);
    buf[off + 6] = hbh ? Ipv6NextHeader.HOP_BY_HOP : Ipv6NextHeader.ICMPV6;
    buf[off + 7] = hop;
    buf.set(src, off + 8);
    buf.set(dst, off + 24);
    if (hbh) emitRouterAlertHopByHop(Ipv6NextHeader.ICMPV6, buf, off + IPV6_HEADER_LEN, 0);
    buf.set(bytes, off + IPV6_HEADER_LEN + extLen);
    this.host.stats.icmp6.out++;
    this.host.transmit(iface, mac, EtherType.IPV6, off + IPV6_HEADER_LEN + extLen + bytes.length, now);
  }

  /**
   * A Neighbor Solicitation for `target`: multicast to its solicited-node group, or
   * unicast to `lladdr` (NUD); `dad`: from `::` without a link-layer option.
   */
  private sendNs(now: number, st: Ip6Iface, target: Uint8Array, lladdr: Uint8Array | undefined, dad: boolean, hint?: Uint8Array): void {
    const iface = st.iface;
    let src: Uint8Array;
    if (dad) src = UNSPECIFIED;
    else {
      // RFC 4861 §7.2.2: the source of the packet that prompted it when that is ours, else one of the interface's.
      const own = hint !== undefined ? st.findAddress(hint) : undefined;
      const pick = own !== undefined && own.usable ? own : (st.linkLocal() ?? st.addresses.find((a) => a.usable));
      if (pick === undefined) return;
      src = pick.addr;
    }
    if (st.lowpan !== undefined && lladdr === undefined) return; // RFC 6775: no multicast NS on the mesh
    const dst = lladdr !== undefined ? target : (solicitedNodeMulticast(target) as Uint8Array);
    const options = !dad && iface.medium !== 'ip' ? { sourceLinkAddr: iface.mac } : {};
    const repr: Icmpv6Repr = { kind: 'neighbor-solicit', target, options };
    const bytes = new Uint8Array(icmpv6BufferLen(repr));
    emitIcmpv6(repr, bytes, src, dst);
    this.host.stats.nd.nsOut++;
    this.sendControl(now, st, src, dst, lladdr ?? (iface.medium === 'ethernet' ? ipv6MulticastMac(dst) : undefined), ND_HOP_LIMIT, bytes, false);
  }

  private sendNa(now: number, st: Ip6Iface, target: Uint8Array, dst: Uint8Array, mac: Uint8Array | undefined, solicited: boolean): void {
    const iface = st.iface;
    const options = iface.medium !== 'ip' ? { targetLinkAddr: iface.mac } : {};
    // RFC 4861 §7.2.4: the Router flag says whether we forward (we send no RAs, though).
    const repr: Icmpv6Repr = { kind: 'neighbor-advert', router: this.forwarding, solicited, override: true, target, options };
    const bytes = new Uint8Array(icmpv6BufferLen(repr));
    emitIcmpv6(repr, bytes, target, dst);
    this.host.stats.nd.naOut++;
    this.sendControl(now, st, target, dst, mac, ND_HOP_LIMIT, bytes, false);
  }

  private sendRs(now: number, st: Ip6Iface): void {
    const ll = st.linkLocal();
    const src = ll?.addr ?? UNSPECIFIED;
    const iface = st.iface;
    // RFC 4861 §4.1: no source link-layer option from the unspecified address.
    const options = ll !== undefined && iface.medium !== 'ip' ? { sourceLinkAddr: iface.mac } : {};
    const repr: Icmpv6Repr = { kind: 'router-solicit', options };
    const bytes = new Uint8Array(icmpv6BufferLen(repr));
    emitIcmpv6(repr, bytes, src, IPV6_ALL_ROUTERS);
    this.host.stats.nd.rsOut++;
    this.sendControl(now, st, src, IPV6_ALL_ROUTERS, iface.medium === 'ethernet' ? ipv6MulticastMac(IPV6_ALL_ROUTERS) : undefined, ND_HOP_LIMIT, bytes, false);
  }

  /** An MLDv2 report (RFC 3810 §5.2) about `groups`, to ff02::16 with Router Alert, hop limit 1. */
  private sendMldReport(now: number, st: Ip6Iface, groups: readonly Ip6Group[], recordType: number): void {
    if (st.lowpan !== undefined) return; // no MLD on the mesh: multicast is flooded
    const records: MldRecord[] = [];
    for (const g of groups) if (g.reported) records.push({ recordType, group: g.addr, sources: [] });
    if (records.length === 0) return;
    const src = st.linkLocal()?.addr ?? UNSPECIFIED; // RFC 3590 §4: :: while no link-local address is valid
    const repr = { kind: 'mldv2-report' as const, records };
    const bytes = new Uint8Array(mldBufferLen(repr));
    emitMld(repr, bytes, src, IPV6_ALL_MLDV2_ROUTERS);
    this.host.stats.mld.reportsOut++;
    const iface = st.iface;
    this.sendControl(now, st, src, IPV6_ALL_MLDV2_ROUTERS, iface.medium === 'ethernet' ? ipv6MulticastMac(IPV6_ALL_MLDV2_ROUTERS) : undefined, 1, bytes, true);
  }

  // ---------------------------------------------------------------- receive

  /**
   * The extension-header walk of `input` (into `this.walk`): fragments are reassembled
   * (the whole packet is returned, walked again), bad chains counted and, where RFC 8200
   * asks, answered with a Parameter Problem. Undefined: nothing more to do.
   */
  private walkInput(now: number, pkt: Uint8Array, tentativeDst: boolean, linkMulticast: boolean): Uint8Array | undefined {
    const stats = this.host.stats;
    let w = walkIpv6Extensions(pkt, this.walk);
    if (w.verdict === 'fragment') {
      stats.ip6.fragmentsIn++;
      if (tentativeDst) {
        stats.drops.notForUs++;
        return undefined;
      }
      const whole = this.reassemble(now, pkt, w, linkMulticast);
      if (whole === undefined) return undefined;
      stats.ip6.reassembled++;
      pkt = whole;
      w = walkIpv6Extensions(pkt, this.walk);
    }
    if (w.verdict === 'drop') {
      this.countFault(w.fault ?? 'malformed');
      return undefined;
    }
    if (w.verdict === 'param-problem') {
      this.countFault(w.fault ?? 'malformed');
      if (!tentativeDst) this.sendError(now, pkt, Icmpv6Type.PARAMETER_PROBLEM, w.problemCode, w.problemPointer, linkMulticast);
      return undefined;
    }
    if (w.verdict === 'fragment') {
      stats.drops.reassembly++; // a fragment inside a reassembled packet
      return undefined;
    }
    return pkt;
  }

  /**
   * One received IPv6 packet (`pkt` from the version byte; link padding allowed).
   * `linkMulticast`: it came in a link-layer multicast/broadcast frame; `ethFrame`: the
   * whole Ethernet frame, whose source MAC answers solicitations without options (only
   * ICMPv6 looks at it: no view is made for other packets).
   */
  input(now: number, iface: NetInterface, pkt: Uint8Array, linkMulticast: boolean, ethFrame: Uint8Array | undefined, looped: boolean): void {
    const stats = this.host.stats;
    const st = this.ifs[iface.index];
    if (st === undefined) {
      stats.drops.unknownEtherType++;
      return;
    }
    if (pkt.length < IPV6_HEADER_LEN) {
      stats.drops.truncated++;
      return;
    }
    if ((pkt[0] as number) >> 4 !== 6) {
      stats.drops.malformed++;
      return;
    }
    const end = IPV6_HEADER_LEN + rd16(pkt, 4);
    if (end > pkt.length) {
      stats.drops.badLength++;
      return;
    }
    if (end < pkt.length) pkt = pkt.subarray(0, end);
    if (pkt[8] === 0xff || (!looped && isLoopback6At(pkt, 8))) {
      stats.drops.martian++;
      return;
    }
    let multicast = false;
    let tentativeDst = false;
    if (pkt[24] === 0xff) {
      if (st.findGroup(pkt.subarray(24, 40)) === undefined) {
        stats.drops.notForUs++;
        return;
      }
      multicast = true;
    } else {
      const a = this.localAt(pkt, 24, false);
      if (a === undefined) {
        if (this.forwarding && !looped) this.forward(now, st, pkt, linkMulticast);
        else stats.drops.notForUs++;
        return;
      }
      if (!a.a.usable) tentativeDst = true;
    }
    stats.ip6.rxPackets++;
    // Fast path: no extension headers (TCP, UDP, ICMPv6 straight after the fixed header),
    // so no walk; anything else goes through `walkInput` (extension headers, fragments).
    const nh0 = pkt[6] as number;
    let protocol: number, upperOffset: number, upperEnd: number, routerAlert: number, upperPointer: number;
    let reassembled = false;
    if (nh0 === NH_TCP || nh0 === NH_UDP || nh0 === NH_ICMPV6) {
      protocol = nh0;
      upperOffset = IPV6_HEADER_LEN;
      upperEnd = end;
      routerAlert = -1;
      upperPointer = 6;
    } else {
      const whole = this.walkInput(now, pkt, tentativeDst, linkMulticast);
      if (whole === undefined) return;
      reassembled = whole !== pkt;
      pkt = whole;
      const w = this.walk;
      protocol = w.upperProtocol;
      upperOffset = w.upperOffset;
      upperEnd = w.end;
      routerAlert = w.routerAlert;
      upperPointer = w.upperPointer;
    }
    const payload = pkt.subarray(upperOffset, upperEnd);
    const verified = looped || iface.checksumOffload;
    // From the wire, one of our own addresses as the source is spoofed (a martian, as in
    // IPv4): answering it would talk to ourselves, and a UDP echo service would answer its
    // own echoes forever. Neighbor Discovery and MLD keep them: another node may defend an
    // address we also have (RFC 4862 §5.4.4).
    if (!looped && this.localAt(pkt, 8, true) !== undefined && !(protocol === Ipv6NextHeader.ICMPV6 && (isNdType(payload[0] as number) || isMldType(payload[0] as number)))) {
      stats.drops.martian++;
      return;
    }
    if (protocol === Ipv6NextHeader.ICMPV6) {
      this.icmpInput(now, st, pkt, payload, routerAlert, linkMulticast, ethFrame?.subarray(6, 12), verified, tentativeDst);
      return;
    }
    if (tentativeDst || isUnspecifiedAt(pkt, 8)) {
      stats.drops.notForUs++;
      return;
    }
    if (protocol === Ipv6NextHeader.NO_NEXT_HEADER) return;
    const ctx = this.ctx;
    ctx.ifIndex = iface.index;
    copy16(pkt, 8, this.src6);
    copy16(pkt, 24, this.dst6);
    ctx.src6 = this.src6;
    ctx.dst6 = this.dst6;
    ctx.protocol = protocol;
    ctx.ttl = pkt[7] as number;
    ctx.tos = ((rd16(pkt, 0) >> 4) & 0xff);
    ctx.broadcast = multicast || linkMulticast;
    ctx.header = EMPTY; // IPv4 only: the IPv6 layer answers errors itself (from `current`)
    ctx.checksumVerified = verified;
    this.current = pkt;
    this.currentLinkMulticast = linkMulticast;
    const handled = this.host.deliver(now, ctx, payload, reassembled);
    this.current = EMPTY;
    if (!handled) {
      stats.drops.unknownProtocol++;
      this.sendError(now, pkt, Icmpv6Type.PARAMETER_PROBLEM, Ipv6ParamProblemCode.UNRECOGNIZED_NEXT_HEADER, upperPointer, linkMulticast);
    }
  }

  /**
   * RFC 8200 / RFC 4443 forwarding of a packet that is not for us (`pkt` trimmed to its
   * payload length; the source is already known not to be multicast or loopback).
   * Dropped and counted: a unicast in a link-layer multicast (`notForUs`); an unspecified
   * source or destination, a loopback destination, our own address as source
   * (`martian`); a link-local source or destination, which must not leave its link
   * (`beyondScope`; RFC 4443 §3.1 destination unreachable code 2 to a link-local source
   * writing to a global destination). Answered with ICMPv6 (rate-limited, RFC 4443 §2.4
   * rules): hop limit <= 1 -> time exceeded code 0 (`ttlExpired`); no route or the
   * egress down -> destination unreachable code 0 (`noRoute`, `interfaceDown`); larger
   * than the egress link MTU -> Packet Too Big with that MTU (`tooBig`: routers never
   * fragment, RFC 8200 §5); next hop not resolving -> address unreachable code 3
   * (`arpFailed`). Otherwise the hop limit is decremented and the packet leaves through
   * the same path as ours: neighbor resolution and its queue on Ethernet, as is on `'ip'`
   * links. Back out of the arrival interface is allowed; no Redirects are sent, and
   * extension headers (Hop-by-Hop included) are not looked at (RFC 8200 §4.3 allows it).
   */
  private forward(now: number, st: Ip6Iface, pkt: Uint8Array, linkMulticast: boolean): void {
    const drops = this.host.stats.drops;
    if (linkMulticast) {
      drops.notForUs++;
      return;
    }
    if (isUnspecifiedAt(pkt, 8) || isUnspecifiedAt(pkt, 24) || isLoopback6At(pkt, 24) || this.localAt(pkt, 8, false) !== undefined) {
      drops.martian++;
      return;
    }
    if (isLinkLocal6At(pkt, 8) || isLinkLocal6At(pkt, 24)) {
      drops.beyondScope++;
      if (!isLinkLocal6At(pkt, 24)) this.sendError(now, pkt, Icmpv6Type.DEST_UNREACHABLE, Icmpv6Unreachable.BEYOND_SCOPE, 0, false, st.index);
      return;
    }
    if ((pkt[7] as number) <= 1) {
      drops.ttlExpired++;
      this.sendError(now, pkt, Icmpv6Type.TIME_EXCEEDED, Icmpv6TimeExceeded.HOP_LIMIT, 0, false);
      return;
    }
    const routed = this.route(pkt.subarray(24, 40), undefined) === 0;
    if (!routed || !(this.rIf as Ip6Iface).iface.up) {
      if (routed) drops.interfaceDown++;
      else drops.noRoute++;
      this.sendError(now, pkt, Icmpv6Type.DEST_UNREACHABLE, Icmpv6Unreachable.NO_ROUTE, 0, false);
      return;
    }
    const out = this.rIf as Ip6Iface;
    const nextHop = this.rHop;
    const mtu = out.mtu;
    if (pkt.length > mtu) {
      drops.tooBig++;
      this.sendError(now, pkt, Icmpv6Type.PACKET_TOO_BIG, 0, mtu, false);
      return;
    }
    const iface = out.iface;
    let mac: Uint8Array | undefined;
    if (iface.medium === 'ethernet') {
      mac = out.neighbors.usableLladdr(nextHop, now);
      if (mac === undefined) {
        const packet = pkt.slice();
        packet[7] = (packet[7] as number) - 1;
        const r = out.neighbors.resolve(nextHop, now, { ifIndex: iface.index, mtu, packet, forwarded: true });
        this.noteNeighborTimer(out);
        if (r.kind === 'failed') {
          drops.arpFailed++;
          this.sendError(now, pkt, Icmpv6Type.DEST_UNREACHABLE, Icmpv6Unreachable.ADDRESS, 0, false);
          return;
        }
        this.host.stats.ip6.forwarded++;
        if (r.kind === 'queued') {
          if (r.dropped) drops.arpQueue++;
          if (r.solicit) this.sendNs(now, out, nextHop, undefined, false);
          return;
        }
        this.emitPacket(now, out, r.lladdr, packet, mtu);
        return;
      }
    } else if (out.lowpan !== undefined) {
      mac = out.lowpan.resolve(nextHop, now);
      if (mac === undefined) {
        drops.arpFailed++; // not registered: no multicast solicitation on the mesh (RFC 6775 §6.5.5)
        this.sendError(now, pkt, Icmpv6Type.DEST_UNREACHABLE, Icmpv6Unreachable.ADDRESS, 0, false);
        return;
      }
    }
    this.host.stats.ip6.forwarded++;
    const off = iface.linkHeaderLen;
    iface.tx.set(pkt, off);
    iface.tx[off + 7] = (pkt[7] as number) - 1;
    this.host.transmit(iface, mac, EtherType.IPV6, off + pkt.length, now);
  }

  /** The packet being delivered (for `portUnreachable`). */
  private current: Uint8Array = EMPTY;
  private currentLinkMulticast = false;

  /** UDP found no socket for the packet being delivered: ICMPv6 port unreachable (RFC 4443 §3.1 code 4). */
  portUnreachable(now: number): void {
    if (this.current.length > 0) this.sendError(now, this.current, Icmpv6Type.DEST_UNREACHABLE, Icmpv6Unreachable.PORT, 0, this.currentLinkMulticast);
  }

  private countFault(f: WireFault): void {
    this.host.stats.drops[FAULT_KEYS[f]]++;
  }

  private reassemble(now: number, pkt: Uint8Array, w: Ipv6ExtWalk, linkMulticast: boolean): Uint8Array | undefined {
    const data = pkt.subarray(w.upperOffset, w.end);
    if (w.fragOffset === 0 && !firstFragmentComplete(w.upperProtocol, data)) {
      // RFC 7112 §5: the first fragment must hold the whole header chain.
      this.host.stats.drops.reassembly++;
      this.sendError(now, pkt, Icmpv6Type.PARAMETER_PROBLEM, Ipv6ParamProblemCode.INCOMPLETE_HEADER_CHAIN, 0, linkMulticast);
      return undefined;
    }
    let unfrag = EMPTY;
    if (w.fragOffset === 0) {
      unfrag = pkt.slice(0, w.fragHeaderOffset);
      unfrag[w.fragNextHeaderField] = w.upperProtocol;
    }
    const rs = this.reassembler.stats;
    const before = rs.overlaps + rs.malformed + rs.oversize + rs.evicted;
    const whole = this.reassembler.add(pkt.subarray(8, 24), pkt.subarray(24, 40), w.fragIdent, w.fragOffset, w.moreFrags, unfrag, data, now);
    this.host.stats.drops.reassembly += rs.overlaps + rs.malformed + rs.oversize + rs.evicted - before;
    const at = this.reassembler.pollAt();
    if (at !== undefined) this.host.requestPoll();
    return whole;
  }

  // ---------------------------------------------------------------- ICMPv6 input

  private icmpInput(now: number, st: Ip6Iface, pkt: Uint8Array, msg: Uint8Array, routerAlert: number, linkMulticast: boolean, ethSrc: Uint8Array | undefined, verified: boolean, tentativeDst: boolean): void {
    const stats = this.host.stats;
    stats.icmp6.in++;
    const src = pkt.subarray(8, 24);
    const dst = pkt.subarray(24, 40);
    const fault = validateIcmpv6(msg, src, dst, verified);
    if (fault !== undefined) {
      this.countFault(fault);
      return;
    }
    const type = msg[0] as number;
    const hopLimit = pkt[7] as number;
    if (isNdType(type)) {
      const f = checkNdIpFields(msg, src, dst, hopLimit);
      if (f !== undefined) {
        this.countFault(f);
        return;
      }
      this.ndInput(now, st, src, dst, msg, ethSrc);
      return;
    }
    if (isMldType(type)) {
      const f = checkMldIpFields(msg, src, hopLimit, routerAlert);
      if (f !== undefined) {
        this.countFault(f);
        return;
      }
      this.mldInput(now, st, src, dst, msg, verified);
      return;
    }
    if (tentativeDst || isUnspecified(src)) {
      stats.drops.notForUs++;
      return;
    }
    switch (type) {
      case Icmpv6Type.ECHO_REQUEST: {
        stats.icmp6.echoRequestsIn++;
        if (msg[1] !== 0) return;
        const reply: Icmpv6Repr = { kind: 'echo-reply', ident: rd16(msg, 4), seq: rd16(msg, 6), data: msg.subarray(8) };
        // A reply to a multicast request comes from one of our unicast addresses (RFC 4443 §4.2).
        const from = dst[0] === 0xff ? undefined : dst.slice();
        if (this.sendIcmp(now, reply, src.slice(), from, { ifIndex: isLinkLocal(src) ? st.index : undefined }) === 0) stats.icmp6.echoRepliesOut++;
        return;
      }
      case Icmpv6Type.ECHO_REPLY:
        stats.icmp6.echoRepliesIn++;
        if (msg[1] !== 0) return;
        this.host.echoReply(now, rd16(msg, 4), rd16(msg, 6), src, hopLimit, msg.subarray(8));
        return;
      case Icmpv6Type.DEST_UNREACHABLE:
      case Icmpv6Type.PACKET_TOO_BIG:
      case Icmpv6Type.TIME_EXCEEDED:
      case Icmpv6Type.PARAMETER_PROBLEM:
        stats.icmp6.errorsIn++;
        this.errorInput(now, src, msg);
        return;
      default:
        return; // informational types we do not implement are ignored (RFC 4443 §2.4 (b))
    }
  }

  /** An ICMPv6 error: find the quoted packet's upper layer and tell whoever sent it. */
  private errorInput(now: number, reporter: Uint8Array, msg: Uint8Array): void {
    const quoted = msg.subarray(8);
    const q = parseIpv6Quoted(quoted);
    if (isFault(q)) {
      this.countFault(q);
      return;
    }
    if (!this.isLocal(q.src)) {
      this.host.stats.drops.martian++; // quotes a packet we did not send
      return;
    }
    const type = msg[0] as number;
    const mtuOrPointer = rd32(msg, 4);
    if (type === Icmpv6Type.PACKET_TOO_BIG) {
      // RFC 8201 §4: below the IPv6 minimum the report is ignored (the path MTU stays >= 1280).
      if (mtuOrPointer >= IPV6_MIN_MTU) this.pmtu.update(q.dst, mtuOrPointer, now);
    }
    // Walk the quoted chain (it may be cut short: only the first bytes of the transport header are needed).
    const padded = quoted.length >= IPV6_HEADER_LEN ? quotedWithLength(quoted) : quoted;
    const w = walkIpv6Extensions(padded, this.sideWalk);
    let protocol = quoted[6] as number;
    let transportOff = IPV6_HEADER_LEN;
    if (w.verdict === 'ok' || (w.verdict === 'fragment' && w.fragOffset === 0)) {
      protocol = w.upperProtocol;
      transportOff = w.upperOffset;
    } else if (w.verdict === 'fragment') return; // a non-first fragment carries no transport header
    this.host.deliverError(now, {
      source: 'icmp', family: 6, type, code: msg[1] as number,
      nextHopMtu: type === Icmpv6Type.PACKET_TOO_BIG ? mtuOrPointer : 0,
      reporter: 0, src: 0, dst: 0, protocol,
      transport: quoted.subarray(Math.min(transportOff, quoted.length)),
      src6: q.src, dst6: q.dst, reporter6: reporter,
    });
  }

  /** A packet of ours waiting for neighbor resolution that failed: host unreachable, like ICMPv6 code 3. */
  private localUnreachable(now: number, packet: Uint8Array): void {
    if (packet.length < IPV6_HEADER_LEN) return;
    const w = walkIpv6Extensions(packet, this.sideWalk);
    if (w.verdict !== 'ok') return;
    this.host.deliverError(now, {
      source: 'local', family: 6, type: Icmpv6Type.DEST_UNREACHABLE, code: Icmpv6Unreachable.ADDRESS,
      nextHopMtu: 0, reporter: 0, src: 0, dst: 0, protocol: w.upperProtocol,
      transport: packet.subarray(w.upperOffset, Math.min(packet.length, w.upperOffset + 64)),
      src6: packet.subarray(8, 24), dst6: packet.subarray(24, 40), reporter6: EMPTY,
    });
  }

  /**
   * Sends an ICMPv6 error about `offending` (the received packet, header first) unless
   * RFC 4443 §2.4 (e) forbids it or the rate limit (§2.4 (f)) refuses. `ifIndex`: the
   * interface to answer a link-local source on (default: the one owning the destination).
   */
  sendError(now: number, offending: Uint8Array, type: number, code: number, mtuOrPointer: number, linkMulticast: boolean, ifIndex?: number): void {
    if (!icmpv6ErrorAllowed(offending, type, code, linkMulticast, this.sideWalk)) return;
    if (!this.host.takeErrorToken(now)) {
      this.host.stats.icmp6.rateLimited++;
      return;
    }
    let repr: Icmpv6Repr;
    switch (type) {
      case Icmpv6Type.PACKET_TOO_BIG: repr = icmpv6PacketTooBig(mtuOrPointer, offending); break;
      case Icmpv6Type.PARAMETER_PROBLEM: repr = icmpv6ParameterProblem(code, mtuOrPointer, offending); break;
      case Icmpv6Type.TIME_EXCEEDED: repr = icmpv6TimeExceeded(code, offending); break;
      default: repr = icmpv6DestUnreachable(code, offending);
    }
    const origDst = offending.subarray(24, 40);
    const from = origDst[0] !== 0xff && this.isLocal(origDst) ? origDst.slice() : undefined;
    const to = offending.slice(8, 24);
    if (this.sendIcmp(now, repr, to, from, { ifIndex: isLinkLocal(to) ? (ifIndex ?? this.ifaceForLinkLocal(from)) : undefined }) === 0) this.host.stats.icmp6.errorsOut++;
  }

  private ifaceForLinkLocal(from: Uint8Array | undefined): number | undefined {
    if (from === undefined) return undefined;
    return this.localAddressAny(from)?.st.index;
  }

  // ---------------------------------------------------------------- ND input

  private ndInput(now: number, st: Ip6Iface, src: Uint8Array, dst: Uint8Array, msg: Uint8Array, ethSrc: Uint8Array | undefined): void {
    const m = parseIcmpv6(msg, src, dst, true);
    if (isFault(m)) {
      this.countFault(m);
      return;
    }
    const nd = this.host.stats.nd;
    if (st.lowpan !== undefined) {
      this.lowpanNdInput(now, st, st.lowpan, src, dst, m);
      return;
    }
    switch (m.kind) {
      case 'neighbor-solicit': {
        nd.nsIn++;
        if (m.target[0] === 0xff) return; // RFC 4861 §7.1.1: the target is never multicast
        const own = st.findAddress(m.target);
        if (isUnspecified(src)) {
          // Another node's DAD probe (RFC 4862 §5.4.3).
          if (own === undefined) return;
          if (own.state === 'tentative') this.dadFailed(now, st, own);
          else if (own.usable) this.sendNa(now, st, own.addr, IPV6_ALL_NODES, ipv6MulticastMac(IPV6_ALL_NODES), false); // defend it
          return;
        }
        const sll = m.options.sourceLinkAddr;
        if (sll !== undefined) this.releaseTo(now, st, src, st.neighbors.learn(src, sll, now));
        if (own === undefined || !own.usable) return;
        this.sendNa(now, st, own.addr, src.slice(), sll ?? ethSrc, true);
        return;
      }
      case 'neighbor-advert': {
        nd.naIn++;
        const own = st.findAddress(m.target);
        if (own !== undefined) {
          if (own.state === 'tentative') this.dadFailed(now, st, own);
          else nd.dadConflicts++; // someone else claims an address we use (RFC 4862 §5.4.4)
          return;
        }
        const r = st.neighbors.advertised(m.target, m.options.targetLinkAddr, m, now);
        this.releaseTo(now, st, m.target, r.released);
        if (r.noLongerRouter && st.routers.defaultRouters().some((x) => ipEquals(x, m.target))) {
          st.routers.removeRouter(m.target);
          this.changedRouting();
          this.host.event({ kind: 'router', ifIndex: st.index, router: m.target.slice(), added: false });
        }
        return;
      }
      case 'router-advert': {
        nd.raIn++;
        this.raInput(now, st, src, m);
        return;
      }
      case 'redirect': {
        nd.redirectsIn++;
        this.redirectInput(now, st, src, m.target, m.destination, m.options.targetLinkAddr);
        return;
      }
      default:
        return; // router solicitations: we are a host
    }
  }

  // ---------------------------------------------------------------- 6LoWPAN-ND (RFC 6775)

  /** ND on a 6LoWPAN interface: registrations, RS/RA, and NS/NA without multicast resolution. */
  private lowpanNdInput(now: number, st: Ip6Iface, lp: LowpanNd, src: Uint8Array, dst: Uint8Array, m: Icmpv6Repr): void {
    const nd = this.host.stats.nd;
    if (m.kind !== 'router-solicit' && m.kind !== 'router-advert' && m.kind !== 'neighbor-solicit' && m.kind !== 'neighbor-advert') return;
    const sllData = m.kind === 'neighbor-advert' ? undefined : m.options.sourceLinkAddr;
    const sll = sllData !== undefined ? lowpanLinkAddrFromOption(sllData) : undefined;
    const lo = findLowpanNdOptions(m.options);
    if (lo.malformed > 0) this.host.stats.drops.malformed += lo.malformed;
    switch (m.kind) {
      case 'router-solicit': {
        if (lp.router === undefined) return;
        const unspecified = isUnspecified(src);
        if (sll !== undefined && !unspecified) lp.learn(src, sll, now, 60_000);
        this.sendLowpanRa(now, st, lp, unspecified ? IPV6_ALL_NODES : src.slice(), unspecified ? undefined : (sll ?? lp.resolve(src, now)));
        return;
      }
      case 'router-advert': {
        nd.raIn++;
        if (lp.router !== undefined) return;
        if (sll !== undefined) lp.learn(src, sll, now, Math.max(m.routerLifetime, 1) * 1000);
        const table = st.iface.lowpan?.contexts;
        if (table !== undefined) {
          for (const c of lo.contexts) table[c.cid] = c.lifetimeMinutes === 0 ? undefined : { prefix: c.prefix.slice(), prefixLen: c.contextLength };
        }
        if (lo.abro !== undefined) lp.abro = lo.abro;
        this.raInput(now, st, src, m);
        if (st.routers.defaultRouters().length > 0) {
          for (const r of lp.registrations) if (r.nextAt === Infinity) r.nextAt = now;
          this.reschedule();
        }
        return;
      }
      case 'neighbor-solicit': {
        nd.nsIn++;
        if (m.target[0] === 0xff || isUnspecified(src)) return; // no multicast DAD on the mesh
        const aro = lo.aro;
        if (aro !== undefined && lp.router !== undefined) {
          // RFC 6775 §6.5.1-2: a registration (only with an SLLAO, from the address registered).
          if (sll === undefined || !ipEquals(src, m.target) || this.localAt(dst, 0, true) === undefined) return;
          const v = lp.register(src, aro.eui64, sll, aro.lifetimeMinutes, now);
          // A duplicate is told at the link-local address of the EUI-64 that asked.
          const to = v.status === AroStatus.DUPLICATE ? (ipv6LinkLocalFromIid(modifiedEui64(aro.eui64) as Uint8Array) as Uint8Array) : src.slice();
          this.sendLowpanNa(now, st, dst.slice(), m.target, to, sll, { status: v.status, lifetimeMinutes: v.lifetimeMin, eui64: aro.eui64 });
          return;
        }
        if (sll !== undefined) lp.learn(src, sll, now, 60_000);
        const own = st.findAddress(m.target);
        if (own === undefined || !own.usable) return;
        const lladdr = sll ?? lp.resolve(src, now);
        if (lladdr !== undefined) this.sendNa(now, st, own.addr, src.slice(), lladdr, true);
        return;
      }
      case 'neighbor-advert': {
        nd.naIn++;
        const aro = lo.aro;
        if (aro === undefined || lp.router !== undefined) return;
        const r = lp.answered(m.target, aro.status, aro.lifetimeMinutes, now);
        const a = st.findAddress(m.target);
        if (r === undefined || a === undefined) return;
        if (r.outcome === 'registered' && a.state === 'tentative') {
          a.state = now >= a.preferredUntil ? 'deprecated' : 'preferred';
          this.changedRouting();
          this.host.event({ kind: 'address', info: a.info(st.index) });
        } else if (r.outcome === 'duplicate') {
          nd.dadConflicts++;
          a.state = 'duplicate';
          this.changedRouting();
          this.host.event({ kind: 'address', info: a.info(st.index) });
        }
        this.reschedule();
        return;
      }
    }
  }

  /** Host registrations due, lapsed ones, and the router's expiring entries. */
  private lowpanPoll(now: number, st: Ip6Iface, lp: LowpanNd): void {
    if (lp.router !== undefined) {
      lp.expire(now);
      return;
    }
    for (const r of lp.lapsed(now)) {
      const a = st.findAddress(r.addr);
      if (a !== undefined && a.usable) {
        a.state = 'tentative';
        this.changedRouting();
        this.host.event({ kind: 'address', info: a.info(st.index) });
      }
    }
    for (const r of lp.registrations) if (r.nextAt <= now) this.sendRegistration(now, st, lp, r);
  }

  /** RFC 6775 §5.5.1: NS from the address to register, to the router, with SLLAO and ARO. */
  private sendRegistration(now: number, st: Ip6Iface, lp: LowpanNd, r: HostRegistration): void {
    const router = st.routers.defaultRouters()[0] ?? st.staticRouter;
    const lladdr = router !== undefined ? lp.resolve(router, now) : undefined;
    if (router === undefined || lladdr === undefined) {
      r.nextAt = Infinity; // wait for a router (an RA sets it due)
      return;
    }
    const iface = st.iface;
    const extra = lowpanNdRawOptions({ aro: { status: 0, lifetimeMinutes: lp.registrationLifetimeMin, eui64: iface.mac } });
    const repr: Icmpv6Repr = { kind: 'neighbor-solicit', target: r.addr, options: { sourceLinkAddr: iface.mac, ...(isFault(extra) ? {} : { unknown: extra }) } };
    const bytes = new Uint8Array(icmpv6BufferLen(repr));
    emitIcmpv6(repr, bytes, r.addr, router);
    this.host.stats.nd.nsOut++;
    this.sendControl(now, st, r.addr, router, lladdr, ND_HOP_LIMIT, bytes, false);
    lp.sent(r, router, now, st.retransMs);
  }

  /** The router's NA answering a registration: ARO with the verdict, TLLAO. */
  private sendLowpanNa(now: number, st: Ip6Iface, src: Uint8Array, target: Uint8Array, dst: Uint8Array, lladdr: Uint8Array, aro: { status: number; lifetimeMinutes: number; eui64: Uint8Array }): void {
    const extra = lowpanNdRawOptions({ aro });
    const repr: Icmpv6Repr = {
      kind: 'neighbor-advert', router: true, solicited: true, override: true, target,
      options: { targetLinkAddr: st.iface.mac, ...(isFault(extra) ? {} : { unknown: extra }) },
    };
    const bytes = new Uint8Array(icmpv6BufferLen(repr));
    emitIcmpv6(repr, bytes, src, dst);
    this.host.stats.nd.naOut++;
    this.sendControl(now, st, src, dst, lladdr, ND_HOP_LIMIT, bytes, false);
  }

  /** RFC 6775 §6.2/§8.1: the router's RA into the mesh: SLLAO, the prefix (L=0, A=1), context 0 and the ABRO. */
  private sendLowpanRa(now: number, st: Ip6Iface, lp: LowpanNd, dst: Uint8Array, lladdr: Uint8Array | undefined): void {
    const cfg = lp.router;
    const ll = st.linkLocal();
    if (cfg === undefined || ll === undefined) return;
    const prefix = new Uint8Array(16);
    prefix.set(cfg.prefix.subarray(0, 8));
    const self = st.addresses.find((a) => a.usable && !isLinkLocal(a.addr))?.addr ?? ll.addr;
    const extra = lowpanNdRawOptions({
      contexts: [{ contextLength: 64, compress: true, cid: 0, lifetimeMinutes: cfg.contextLifetimeMin ?? 60, prefix }],
      abro: { version: cfg.abroVersion ?? 1, lifetimeMinutes: 10000, address: self },
    });
    const repr: Icmpv6Repr = {
      kind: 'router-advert', hopLimit: 64, managed: false, other: false, routerPreference: 0,
      routerLifetime: cfg.routerLifetimeS ?? 1800, reachableTime: 0, retransTimer: 0,
      options: {
        sourceLinkAddr: st.iface.mac,
        prefixes: [{ prefixLen: 64, onLink: false, autonomous: true, validLifetime: cfg.prefixValidS ?? 86400, preferredLifetime: cfg.prefixPreferredS ?? 14400, prefix }],
        ...(isFault(extra) ? {} : { unknown: extra }),
      },
    };
    const bytes = new Uint8Array(icmpv6BufferLen(repr));
    emitIcmpv6(repr, bytes, ll.addr, dst);
    this.sendControl(now, st, ll.addr, dst, lladdr, ND_HOP_LIMIT, bytes, false);
  }

  private releaseTo(now: number, st: Ip6Iface, addr: Uint8Array, released: readonly Pending6[]): void {
    if (released.length === 0) return;
    const mac = st.neighbors.lookup(addr);
    for (const p of released) {
      if (!st.iface.up) {
        this.host.stats.drops.interfaceDown++;
        continue;
      }
      this.emitPacket(now, st, mac, p.packet, p.mtu);
    }
  }

  private raInput(now: number, st: Ip6Iface, src: Uint8Array, m: Extract<Icmpv6Repr, { kind: 'router-advert' }>): void {
    const sll = m.options.sourceLinkAddr;
    if (sll !== undefined && st.lowpan === undefined) this.releaseTo(now, st, src, st.neighbors.learn(src, sll, now, true));
    const hadRouter = st.routers.defaultRouters().some((r) => ipEquals(r, src));
    const r = st.routers.receive({ ...m, ...m.options, source: src.slice() }, now);
    const hasRouter = st.routers.defaultRouters().some((x) => ipEquals(x, src));
    if (hadRouter !== hasRouter) this.host.event({ kind: 'router', ifIndex: st.index, router: src.slice(), added: hasRouter });
    st.rsAt = Infinity; // RFC 4861 §6.3.7: an RA ends the solicitations
    st.rsSent = 0;
    if (r.curHopLimit !== undefined) st.hopLimit = r.curHopLimit;
    if (r.reachableTime !== undefined && r.reachableTime !== st.baseReachableMs) {
      st.baseReachableMs = r.reachableTime;
      st.neighbors.reachableTimeMs = this.randomReachable(r.reachableTime);
    }
    if (r.retransTimer !== undefined) st.retransMs = r.retransTimer;
    if (r.mtu !== undefined) st.raMtu = r.mtu;
    if (st.autoconf) {
      for (const p of r.slaac) {
        let found = false;
        for (const a of st.addresses) {
          if (a.origin !== 'slaac' || a.prefix === undefined || !ipPrefixMatches(a.prefix, p.prefix, 64)) continue;
          found = true;
          a.validUntil = p.validUntil;
          a.preferredUntil = p.preferredUntil;
          const next = a.state === 'deprecated' && p.preferredUntil > now ? 'preferred' : a.state === 'preferred' && p.preferredUntil <= now ? 'deprecated' : a.state;
          if (next !== a.state) {
            a.state = next;
            this.host.event({ kind: 'address', info: a.info(st.index) });
          }
        }
        if (!found && p.created) this.formAddress(now, st, p.prefix, 'slaac', 0, 0, p.validUntil, p.preferredUntil);
      }
    }
    if (r.dnsChanged) this.host.event({ kind: 'dns', ifIndex: st.index, servers: st.routers.dnsServers().map((s) => s.slice()) });
    const otherBefore = st.otherConfig || st.managedConfig;
    st.otherConfig = r.other;
    st.managedConfig = r.managed;
    if (!otherBefore && (r.other || r.managed)) this.host.event({ kind: 'other-config', ifIndex: st.index, managed: r.managed });
    this.changedRouting();
    this.reschedule();
  }

  /** RFC 4861 §8.3: a redirect from the current first-hop router for `destination`. */
  private redirectInput(now: number, st: Ip6Iface, src: Uint8Array, target: Uint8Array, destination: Uint8Array, tll: Uint8Array | undefined): void {
    if (destination[0] === 0xff || (!isLinkLocal(target) && !ipEquals(target, destination))) {
      this.host.stats.drops.malformed++;
      return;
    }
    if (this.route(destination, st.index) !== 0 || !ipEquals(this.rHop, src)) {
      this.host.stats.drops.martian++; // not from the router we use for that destination
      return;
    }
    if (tll !== undefined) this.releaseTo(now, st, target, st.neighbors.learn(target, tll, now, !ipEquals(target, destination)));
    this.redirects = this.redirects.filter((r) => !ipEquals(r.dst, destination));
    if (this.redirects.length >= MAX_REDIRECTS) this.redirects.shift();
    this.redirects.push({ dst: destination.slice(), nextHop: target.slice(), ifIndex: st.index });
    this.changedRouting();
  }

  // ---------------------------------------------------------------- MLD input

  private mldInput(now: number, st: Ip6Iface, src: Uint8Array, dst: Uint8Array, msg: Uint8Array, verified: boolean): void {
    const m = parseMld(msg, src, dst, verified);
    if (isFault(m)) {
      this.countFault(m);
      return;
    }
    if (m.kind !== 'mldv2-query' && m.kind !== 'mldv1-query') return; // other hosts' reports: nothing to do (MLDv2 has no suppression)
    this.host.stats.mld.queriesIn++;
    const maxDelay = m.kind === 'mldv2-query' ? mldv2MaxResponseDelay(m.maxResponseCode) : m.maxResponseDelay;
    const at = now + randomInt(this.host.rng, 0, Math.max(0, maxDelay));
    if (isUnspecified(m.group)) {
      if (at < st.queryReportAt) st.queryReportAt = at;
    } else {
      const g = st.findGroup(m.group);
      if (g === undefined || !g.reported) return;
      g.reportsLeft = Math.max(g.reportsLeft, 1);
      if (at < g.reportAt) g.reportAt = at;
    }
    this.reschedule();
  }

  private mustState(ifIndex: number): Ip6Iface {
    const st = this.ifs[ifIndex];
    if (st === undefined) throw new RangeError(`IPv6 is not enabled on interface ${ifIndex}`);
    return st;
  }
}

function copy16(from: Uint8Array, off: number, to: Uint8Array): void {
  for (let i = 0; i < 16; i++) to[i] = from[off + i] as number;
}

const LINK_LOCAL_PREFIX = Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

function isLoopback6At(a: Uint8Array, off: number): boolean {
  for (let i = 0; i < 15; i++) if (a[off + i] !== 0) return false;
  return a[off + 15] === 1;
}

function isUnspecifiedAt(a: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (a[off + i] !== 0) return false;
  return true;
}

/**
 * RFC 7112: whether a first fragment's data (after the Fragment header) holds the
 * upper-layer header: the fixed part of TCP, UDP, ICMPv6, or a whole extension header.
 */
function firstFragmentComplete(nh: number, data: Uint8Array): boolean {
  switch (nh) {
    case Ipv6NextHeader.TCP: return data.length >= 20;
    case Ipv6NextHeader.UDP: return data.length >= 8;
    case Ipv6NextHeader.ICMPV6: return data.length >= 4;
    case Ipv6NextHeader.HOP_BY_HOP:
    case Ipv6NextHeader.ROUTING:
    case Ipv6NextHeader.DEST_OPTIONS:
      return data.length >= 2 && data.length >= ((data[1] as number) + 1) * 8;
    default: return true;
  }
}

/** A quoted packet cut short by the error's size limit: a copy whose payload length fits what is there (so the walk can run). */
function quotedWithLength(quoted: Uint8Array): Uint8Array {
  const claimed = IPV6_HEADER_LEN + rd16(quoted, 4);
  if (claimed <= quoted.length) return quoted;
  const c = quoted.slice();
  wr16(c, 4, quoted.length - IPV6_HEADER_LEN);
  return c;
}
