/**
 * What a host learns from Router Advertisements, as a pure state machine with explicit
 * `now` (RFC 4861 §6.3.4, RFC 4862 §5.5.3, RFC 8106 §5.3): the default router list, the
 * on-link prefix list, the SLAAC prefixes with their valid and preferred lifetimes
 * (including the "two-hour rule" that stops a forged RA from cutting a lifetime short),
 * the recursive DNS servers, and the link parameters (hop limit, reachable time,
 * retransmission timer, MTU).
 *
 * The stack parses the RA (wire codec), hands the fields to `receive(...)`, configures
 * the addresses `receive` reports (`slaac`: form an address from the prefix and an
 * interface identifier, then run DAD), and calls `poll(now)` at `pollAt()` to expire
 * routers, prefixes, addresses and DNS servers. Lifetimes are seconds on the wire and
 * absolute stack ms here; 0xffffffff is infinity.
 */

import { ipPrefixMatches, isLinkLocal } from '../base/ip-address.ts';

/** A Prefix Information option (RFC 4861 §4.6.2), as the wire codec's `NdPrefixInfo`. */
export interface RaPrefix {
  /** 16 bytes (bits past `prefixLen` are ignored). */
  readonly prefix: Uint8Array;
  readonly prefixLen: number;
  /** L: the prefix is on-link. */
  readonly onLink: boolean;
  /** A: usable for stateless autoconfiguration. */
  readonly autonomous: boolean;
  readonly validLifetime: number;
  readonly preferredLifetime: number;
}

/**
 * The fields of one Router Advertisement that matter to a host, named as the wire codec
 * (`src/wire/icmpv6.ts`, kind `'router-advert'` and its `NdOptions`) names them, plus
 * the IPv6 source address.
 */
export interface RaInfo {
  /** The router's link-local source address. */
  readonly source: Uint8Array;
  /** Cur Hop Limit (0: unspecified). */
  readonly hopLimit: number;
  /** M and O flags. */
  readonly managed: boolean;
  readonly other: boolean;
  /** Router Lifetime, seconds (0: not a default router). */
  readonly routerLifetime: number;
  /** Reachable Time and Retrans Timer, ms (0: unspecified). */
  readonly reachableTime: number;
  readonly retransTimer: number;
  /** MTU option (undefined: none). */
  readonly mtu?: number | undefined;
  readonly prefixes?: readonly RaPrefix[];
  /** RDNSS options (RFC 8106): servers and their lifetime in seconds, each. */
  readonly rdnss?: readonly { readonly servers: readonly Uint8Array[]; readonly lifetime: number }[];
}

/** A SLAAC prefix the stack should have (or keep) an address in. */
export interface SlaacPrefix {
  /** The /64 (first 8 bytes significant). */
  readonly prefix: Uint8Array;
  /** Absolute stack ms; Infinity for infinite lifetimes. */
  readonly validUntil: number;
  readonly preferredUntil: number;
  /** True when this RA created it (form an address and run DAD), false for a lifetime update. */
  readonly created: boolean;
}

export interface RaResult {
  /** SLAAC prefixes created or updated by this RA. */
  readonly slaac: SlaacPrefix[];
  /** Link parameters to apply (undefined: unchanged). */
  readonly curHopLimit: number | undefined;
  readonly reachableTime: number | undefined;
  readonly retransTimer: number | undefined;
  readonly mtu: number | undefined;
  /** The RA's O flag asks for DHCPv6 information (and M for addresses). */
  readonly other: boolean;
  readonly managed: boolean;
  /** The RDNSS list changed. */
  readonly dnsChanged: boolean;
}

export interface RouterInfoPollResult {
  /** Routers whose lifetime ended. */
  readonly routersExpired: Uint8Array[];
  /** SLAAC prefixes whose valid lifetime ended (remove their addresses). */
  readonly slaacExpired: Uint8Array[];
  /** SLAAC prefixes whose preferred lifetime ended (their addresses become deprecated). */
  readonly slaacDeprecated: Uint8Array[];
  /** The RDNSS list changed (servers expired). */
  readonly dnsChanged: boolean;
}

const INFINITE = 0xffffffff;
/** RFC 4862 §5.5.3 (e): two hours, in ms. */
const TWO_HOURS_MS = 2 * 3600 * 1000;

const until = (now: number, seconds: number): number => (seconds >>> 0 === INFINITE ? Infinity : now + seconds * 1000);

function key(prefix: Uint8Array, len: number): string {
  let s = `${len}/`;
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, len - i * 8));
    s += ((prefix[i] ?? 0) & (0xff << (8 - bits))).toString(16).padStart(2, '0');
  }
  return s;
}

function addrKey(a: Uint8Array): string {
  return key(a, 128);
}

interface Router { readonly addr: Uint8Array; expiresAt: number }
interface OnLink { readonly prefix: Uint8Array; readonly len: number; expiresAt: number }
interface Slaac { readonly prefix: Uint8Array; validUntil: number; preferredUntil: number; deprecated: boolean }
interface Dns { readonly addr: Uint8Array; expiresAt: number }

export interface RouterInfoOptions {
  /** Most routers, prefixes and DNS servers kept each (default 16): more are ignored (RFC 4861 §6.3.4 allows a bound). */
  readonly maxEntries?: number;
}

export class RouterInfo {
  private readonly routers = new Map<string, Router>();
  private readonly onLink = new Map<string, OnLink>();
  private readonly slaac = new Map<string, Slaac>();
  private readonly dns = new Map<string, Dns>();
  private readonly max: number;

  constructor(opts: RouterInfoOptions = {}) {
    this.max = opts.maxEntries ?? 16;
  }

  /** Default routers, in the order learned (the stack prefers reachable ones, RFC 4861 §6.3.6). */
  defaultRouters(): Uint8Array[] {
    return [...this.routers.values()].map((r) => r.addr);
  }

  /** Whether `addr` is on-link per the prefix list (link-local addresses always are). */
  isOnLink(addr: Uint8Array): boolean {
    if (isLinkLocal(addr)) return true;
    for (const p of this.onLink.values()) if (ipPrefixMatches(addr, p.prefix, p.len)) return true;
    return false;
  }

  /** The recursive DNS servers currently valid (RFC 8106). */
  dnsServers(): Uint8Array[] {
    return [...this.dns.values()].map((d) => d.addr);
  }

  /** Removes a router (NUD found it unreachable, or its NA cleared the R flag). */
  removeRouter(addr: Uint8Array): void {
    this.routers.delete(addrKey(addr));
  }

  /** Processes one RA received at `now` (already validated: hop limit 255, link-local source, RFC 4861 §6.1.2). */
  receive(ra: RaInfo, now: number): RaResult {
    // Default router list (§6.3.4).
    const rk = addrKey(ra.source);
    if (ra.routerLifetime === 0) this.routers.delete(rk);
    else {
      const r = this.routers.get(rk);
      if (r !== undefined) r.expiresAt = now + ra.routerLifetime * 1000;
      else if (this.routers.size < this.max) this.routers.set(rk, { addr: ra.source.slice(0, 16), expiresAt: now + ra.routerLifetime * 1000 });
    }
    const slaac: SlaacPrefix[] = [];
    for (const p of ra.prefixes ?? []) {
      if (p.prefixLen > 128) continue;
      if (isLinkLocal(p.prefix)) continue; // §6.3.4 / RFC 4862 §5.5.3 (b): ignore the link-local prefix
      if (p.prefix[0] === 0xff) continue; // a multicast prefix holds no unicast address (RFC 4291 §2.4): neither on-link nor SLAAC
      if (p.onLink) {
        const k = key(p.prefix, p.prefixLen);
        if (p.validLifetime === 0) this.onLink.delete(k);
        else {
          const e = this.onLink.get(k);
          if (e !== undefined) e.expiresAt = until(now, p.validLifetime);
          else if (this.onLink.size < this.max) this.onLink.set(k, { prefix: p.prefix.slice(0, 16), len: p.prefixLen, expiresAt: until(now, p.validLifetime) });
        }
      }
      if (p.autonomous) {
        const s = this.slaacPrefix(p, now);
        if (s !== undefined) slaac.push(s);
      }
    }
    let dnsChanged = false;
    for (const option of ra.rdnss ?? []) {
      for (const server of option.servers) {
        const k = addrKey(server);
        if (option.lifetime === 0) {
          if (this.dns.delete(k)) dnsChanged = true;
          continue;
        }
        const d = this.dns.get(k);
        if (d !== undefined) d.expiresAt = until(now, option.lifetime);
        else if (this.dns.size < this.max) {
          this.dns.set(k, { addr: server.slice(0, 16), expiresAt: until(now, option.lifetime) });
          dnsChanged = true;
        }
      }
    }
    return {
      slaac,
      curHopLimit: ra.hopLimit !== 0 ? ra.hopLimit : undefined,
      reachableTime: ra.reachableTime !== 0 ? ra.reachableTime : undefined,
      retransTimer: ra.retransTimer !== 0 ? ra.retransTimer : undefined,
      mtu: ra.mtu !== undefined && ra.mtu >= 1280 ? ra.mtu : undefined,
      other: ra.other,
      managed: ra.managed,
      dnsChanged,
    };
  }

  /** RFC 4862 §5.5.3 (c)-(e) for one autonomous prefix. */
  private slaacPrefix(p: RaPrefix, now: number): SlaacPrefix | undefined {
    if (p.preferredLifetime >>> 0 > p.validLifetime >>> 0) return undefined; // (c)
    if (p.prefixLen !== 64) return undefined; // (d): prefix + IID (64 on Ethernet) must be 128
    const k = key(p.prefix, 64);
    const e = this.slaac.get(k);
    const preferredUntil = until(now, p.preferredLifetime);
    if (e === undefined) {
      if (p.validLifetime === 0 || this.slaac.size >= this.max) return undefined;
      const s: Slaac = { prefix: p.prefix.slice(0, 16), validUntil: until(now, p.validLifetime), preferredUntil, deprecated: p.preferredLifetime === 0 };
      this.slaac.set(k, s);
      return { prefix: s.prefix, validUntil: s.validUntil, preferredUntil: s.preferredUntil, created: true };
    }
    // (e): the preferred lifetime is set as received; the valid lifetime only so far
    // that a forged RA cannot make it end within two hours.
    e.preferredUntil = preferredUntil;
    e.deprecated = preferredUntil <= now;
    const received = until(now, p.validLifetime);
    const remaining = e.validUntil - now;
    if (received - now > TWO_HOURS_MS || received > e.validUntil) e.validUntil = received;
    else if (remaining > TWO_HOURS_MS) e.validUntil = now + TWO_HOURS_MS;
    // else: remaining <= 2 h: ignore the received valid lifetime.
    return { prefix: e.prefix, validUntil: e.validUntil, preferredUntil: e.preferredUntil, created: false };
  }

  /** Expires routers, prefixes, SLAAC lifetimes and DNS servers due at `now`. */
  poll(now: number): RouterInfoPollResult {
    const routersExpired: Uint8Array[] = [];
    for (const [k, r] of this.routers) {
      if (now >= r.expiresAt) {
        this.routers.delete(k);
        routersExpired.push(r.addr);
      }
    }
    for (const [k, p] of this.onLink) if (now >= p.expiresAt) this.onLink.delete(k);
    const slaacExpired: Uint8Array[] = [];
    const slaacDeprecated: Uint8Array[] = [];
    for (const [k, s] of this.slaac) {
      if (now >= s.validUntil) {
        this.slaac.delete(k);
        slaacExpired.push(s.prefix);
      } else if (!s.deprecated && now >= s.preferredUntil) {
        s.deprecated = true;
        slaacDeprecated.push(s.prefix);
      }
    }
    let dnsChanged = false;
    for (const [k, d] of this.dns) {
      if (now >= d.expiresAt) {
        this.dns.delete(k);
        dnsChanged = true;
      }
    }
    return { routersExpired, slaacExpired, slaacDeprecated, dnsChanged };
  }

  /** The earliest expiry, or undefined. */
  pollAt(): number | undefined {
    let at = Infinity;
    for (const r of this.routers.values()) at = Math.min(at, r.expiresAt);
    for (const p of this.onLink.values()) at = Math.min(at, p.expiresAt);
    for (const s of this.slaac.values()) at = Math.min(at, s.validUntil, s.deprecated ? Infinity : s.preferredUntil);
    for (const d of this.dns.values()) at = Math.min(at, d.expiresAt);
    return at === Infinity ? undefined : at;
  }
}
