/**
 * The IPv6 state of one interface (`Ipv6Layer` owns one per IPv6-enabled interface):
 * its addresses with their DAD and lifetime state, the multicast groups it listens to
 * (with the MLD report state), its neighbor cache, what Router Advertisements told it
 * (RFC 4861 §6.3.4: routers, prefixes, DNS servers, link parameters), DAD, and the
 * router-solicitation schedule. Data and small helpers only: the protocol logic is in
 * `ipv6-layer.ts`.
 */
import { ipEquals, ipPrefixMatches, isLinkLocal, ipv6MulticastScope } from '../base/ip-address.ts';
import type { NetInterface } from './interface.ts';
import { DuplicateAddressDetection } from './ipv6-dad.ts';
import { RouterInfo } from './ipv6-router-info.ts';
import { NeighborCache } from './neighbor-cache.ts';
import type { LowpanNd } from './lowpan/lowpan-nd.ts';

/**
 * Life of an address (RFC 4862 §2): `tentative` while DAD runs (only ND reaches it),
 * `preferred` (usable), `deprecated` (preferred lifetime over: kept for existing
 * communication, avoided as a source for new), `duplicate` (DAD failed: never used).
 */
export type Ipv6AddressState = 'tentative' | 'preferred' | 'deprecated' | 'duplicate';

/** Where an address came from. */
export type Ipv6AddressOrigin = 'link-local' | 'slaac' | 'static';

/** One address of an interface (read-only to users; `Stack.ipv6Addresses` returns copies). */
export interface Ipv6AddressInfo {
  readonly ifIndex: number;
  /** 16 bytes. */
  readonly address: Uint8Array;
  readonly prefixLen: number;
  readonly state: Ipv6AddressState;
  readonly origin: Ipv6AddressOrigin;
  /** Stack time (ms) at which the address goes (Infinity: never). */
  readonly validUntil: number;
  /** Stack time (ms) at which it becomes deprecated (Infinity: never). */
  readonly preferredUntil: number;
}

/** @internal Mutable address entry. */
export class Ip6Addr {
  state: Ipv6AddressState = 'tentative';
  validUntil = Infinity;
  preferredUntil = Infinity;
  /** RFC 7217 DAD_Counter that produced a SLAAC/link-local identifier. */
  dadCounter = 0;
  constructor(
    readonly addr: Uint8Array,
    readonly prefixLen: number,
    readonly origin: Ipv6AddressOrigin,
    /** The /64 a SLAAC address was formed from (the link-local prefix for link-local). */
    readonly prefix: Uint8Array | undefined,
  ) {}

  /** Usable as a source and as a destination of non-ND traffic. */
  get usable(): boolean {
    return this.state === 'preferred' || this.state === 'deprecated';
  }

  info(ifIndex: number): Ipv6AddressInfo {
    return {
      ifIndex, address: this.addr.slice(), prefixLen: this.prefixLen, state: this.state, origin: this.origin,
      validUntil: this.validUntil, preferredUntil: this.preferredUntil,
    };
  }
}

/** @internal A multicast group membership with its MLDv2 report state (RFC 3810 §6.1). */
export class Ip6Group {
  /** Sockets and addresses holding it (a solicited-node group can be shared by addresses). */
  refs = 1;
  /** Unsolicited reports still to send, and when the next one goes. */
  reportsLeft = 0;
  reportAt = Infinity;
  constructor(readonly addr: Uint8Array) {}

  /** RFC 3810 §6: the all-nodes group and groups of scope < 2 (interface-local) are never reported. */
  get reported(): boolean {
    const scope = ipv6MulticastScope(this.addr) ?? 0;
    if (scope < 2) return false;
    return !(this.addr[1] === 0x02 && this.addr[15] === 1 && this.addr.subarray(2, 15).every((b) => b === 0));
  }
}

/** A datagram waiting for neighbor resolution: the whole (unfragmented) IPv6 packet. */
export interface Pending6 {
  ifIndex: number;
  mtu: number;
  packet: Uint8Array;
  /** Routed through (not ours): a resolution failure is answered with ICMPv6 to its source, not reported to our transports. */
  forwarded?: boolean;
}

export interface Ip6IfaceConfig {
  readonly dadTransmits: number;
  readonly retransTimerMs: number;
  readonly reachableTimeMs: number;
  readonly maxNeighbors: number;
}

export class Ip6Iface {
  readonly addresses: Ip6Addr[] = [];
  readonly groups: Ip6Group[] = [];
  readonly neighbors: NeighborCache<Pending6>;
  readonly routers = new RouterInfo();
  readonly dad: DuplicateAddressDetection;
  /** Static on-link prefixes (from `ADDR/LEN` addresses). */
  readonly staticPrefixes: { prefix: Uint8Array; len: number }[] = [];
  /** A static default router (`gateway6`). */
  staticRouter: Uint8Array | undefined = undefined;
  /** Link parameters (RFC 4861 §6.3.2), updated by RAs. */
  hopLimit = 64;
  baseReachableMs: number;
  retransMs: number;
  /** IPv6 MTU of the link: the interface MTU, lowered by an RA's MTU option. */
  raMtu = 0;
  /** SLAAC from Router Advertisements. */
  readonly autoconf: boolean;
  /** RFC 7217 secret key. */
  readonly secret: Uint8Array;
  /** Router solicitations sent and the next one's time (Infinity: none due). */
  rsSent = 0;
  rsAt = Infinity;
  /** MLDv2 general-query response due (Infinity: none). */
  queryReportAt = Infinity;
  /** 6LoWPAN Neighbor Discovery (RFC 6775) on an IEEE 802.15.4 interface. */
  lowpan: LowpanNd | undefined = undefined;
  /** The RA's O and M flags as last seen. */
  otherConfig = false;
  managedConfig = false;

  constructor(readonly iface: NetInterface, cfg: Ip6IfaceConfig, autoconf: boolean, secret: Uint8Array) {
    this.baseReachableMs = cfg.reachableTimeMs;
    this.retransMs = cfg.retransTimerMs;
    this.neighbors = new NeighborCache<Pending6>({ maxEntries: cfg.maxNeighbors, reachableTimeMs: cfg.reachableTimeMs, retransTimerMs: cfg.retransTimerMs });
    this.dad = new DuplicateAddressDetection({ transmits: cfg.dadTransmits, retransTimerMs: cfg.retransTimerMs });
    this.autoconf = autoconf;
    this.secret = secret;
  }

  get index(): number {
    return this.iface.index;
  }

  /** The IPv6 MTU: the interface's, or the RA's when smaller (RFC 4861 §6.3.4). */
  get mtu(): number {
    return this.raMtu > 0 ? Math.min(this.raMtu, this.iface.mtu) : this.iface.mtu;
  }

  findAddress(addr: Uint8Array): Ip6Addr | undefined {
    for (let i = 0; i < this.addresses.length; i++) {
      const a = this.addresses[i] as Ip6Addr;
      if (ipEquals(a.addr, addr)) return a;
    }
    return undefined;
  }

  /** The preferred (else any usable) link-local address. */
  linkLocal(): Ip6Addr | undefined {
    let fallback: Ip6Addr | undefined;
    for (const a of this.addresses) {
      if (!isLinkLocal(a.addr) || !a.usable) continue;
      if (a.state === 'preferred') return a;
      fallback ??= a;
    }
    return fallback;
  }

  findGroup(addr: Uint8Array): Ip6Group | undefined {
    for (let i = 0; i < this.groups.length; i++) {
      const g = this.groups[i] as Ip6Group;
      if (ipEquals(g.addr, addr)) return g;
    }
    return undefined;
  }

  /** Whether `addr` is on-link: link-local, a static prefix, or an RA on-link prefix. */
  isOnLink(addr: Uint8Array): boolean {
    for (const p of this.staticPrefixes) if (ipPrefixMatches(addr, p.prefix, p.len)) return true;
    return this.routers.isOnLink(addr);
  }
}
