/**
 * 6LoWPAN Neighbor Discovery state of one interface (RFC 6775), host and router roles. Data
 * and decisions only, explicit `now`: the IPv6 layer sends and receives the messages.
 *
 * - **Address resolution without multicast** (§5.6, §6): a link-local address maps to the
 *   link address its interface identifier was formed from (EUI-64 with the U/L bit flipped,
 *   or `0000:00ff:fe00:XXXX` for a 16-bit short address); any other address is resolved only
 *   from what a node told us: a router's Source Link-layer Address option in its RA, a host's
 *   registration. Nothing else resolves: no multicast Neighbor Solicitation goes out on the mesh.
 * - **Host** (§5.5): every global address is registered with a default router by a unicast NS
 *   carrying an Address Registration Option (ARO: our EUI-64, a lifetime) and our SLLAO. The
 *   address stays tentative until the router's NA says status 0 (success); status 1 (duplicate)
 *   makes it a duplicate; no answer or status 2 (router's cache full) is retried, 3 times
 *   RetransTimer apart, then with back-off doubling from 10 s to 60 s. Registrations are
 *   refreshed when 3/4 of their lifetime has passed. Router solicitations go on with the same
 *   back-off while there is no default router (§5.3).
 * - **Router** (§6.5, a 6LBR that is also the only 6LR of a mesh-under subnet): an NS with an
 *   ARO from a non-link-local address with an SLLAO creates or refreshes a registered entry
 *   (status 0), unless another EUI-64 holds the address (status 1) or the table is full
 *   (status 2); lifetime 0 removes it. Entries expire with their lifetime.
 */
import { ipEquals, isLinkLocal } from '../../base/ip-address.ts';
import { equalBytes, toHex } from '../../wire/bytes.ts';
import { AroStatus, type NdAbro } from '../../wire/lowpan/nd-options.ts';

/** RFC 6775 §9: MAX_RTR_SOLICITATION_INTERVAL. */
const MAX_RS_INTERVAL_MS = 60_000;
/** RFC 4861 RTR_SOLICITATION_INTERVAL, the back-off's start. */
const RS_INTERVAL_MS = 10_000;
/** RFC 4861 MAX_UNICAST_SOLICIT: NS+ARO tries before backing off. */
const REGISTRATION_TRIES = 3;

/** What a router advertises into the mesh (RFC 6775 §6.1, §8.1). */
export interface LowpanRouterConfig {
  /** The mesh's /64 (16 bytes; the first 8 count): PIO with L=0, A=1, and context 0. */
  readonly prefix: Uint8Array;
  /** RA Router Lifetime, seconds (default 1800). */
  readonly routerLifetimeS?: number;
  /** PIO valid and preferred lifetimes, seconds (default 86400 and 14400). */
  readonly prefixValidS?: number;
  /** PIO preferred lifetime, seconds (default 14400). */
  readonly prefixPreferredS?: number;
  /** 6CO lifetime, minutes (default 60). */
  readonly contextLifetimeMin?: number;
  /** ABRO version (default 1). */
  readonly abroVersion?: number;
  /** Registered addresses kept at most (default 256); more get status 2. */
  readonly maxRegistrations?: number;
}

/** IPv6 options of a 6LoWPAN interface (RFC 6775). */
export interface LowpanNdOptions {
  /** Registration lifetime a host asks for, minutes (default 60; 1..65535). */
  readonly registrationLifetimeMin?: number;
  /** Act as the mesh's router: answer RSs with RAs for this prefix and take registrations. */
  readonly router?: LowpanRouterConfig;
}

/** A link address learned for an IPv6 address. */
interface Learned {
  readonly addr: Uint8Array;
  lladdr: Uint8Array;
  until: number;
  /** Router role: a registration, with the host's EUI-64. */
  eui64: Uint8Array | undefined;
}

/** A host's registration of one of its addresses. */
export interface HostRegistration {
  readonly addr: Uint8Array;
  /** `pending`: not (yet) accepted; `registered`: the router said yes. */
  state: 'pending' | 'registered';
  /** When the next NS+ARO is due. */
  nextAt: number;
  /** NS sent since the last answer. */
  tries: number;
  /** Back-off (ms) after the tries ran out. */
  backoffMs: number;
  /** Registration valid until (registered). */
  until: number;
  /** The router registered with (or being tried). */
  router: Uint8Array | undefined;
}

/** What a router answers an NS+ARO with. */
export interface RegistrationVerdict {
  readonly status: number;
  readonly lifetimeMin: number;
}

/** The link address a link-local address was formed from, or undefined when it was not. */
export function linkAddrFromIid(addr: Uint8Array): Uint8Array | undefined {
  if (!isLinkLocal(addr)) return undefined;
  if (addr[8] === 0 && addr[9] === 0 && addr[10] === 0 && addr[11] === 0xff && addr[12] === 0xfe && addr[13] === 0) return addr.slice(14, 16);
  const ext = addr.slice(8, 16);
  ext[0] = (ext[0] as number) ^ 0x02;
  return ext;
}

export class LowpanNd {
  readonly registrationLifetimeMin: number;
  readonly router: LowpanRouterConfig | undefined;
  readonly maxRegistrations: number;
  readonly registrations: HostRegistration[] = [];
  /** Counters: registrations by outcome, router side. */
  readonly stats = { registered: 0, duplicates: 0, tableFull: 0, expired: 0, nsAroOut: 0, naAroIn: 0 };
  /** The last Authoritative Border Router Option heard (host). */
  abro: NdAbro | undefined = undefined;
  /** Router solicitation back-off (host) while no router is known; 0: not started. */
  rsBackoffMs = 0;
  private readonly learned = new Map<string, Learned>();

  constructor(opts: LowpanNdOptions = {}) {
    const life = opts.registrationLifetimeMin ?? 60;
    if (!Number.isInteger(life) || life < 1 || life > 0xffff) throw new RangeError(`registration lifetime: 1..65535 minutes, got ${life}`);
    this.registrationLifetimeMin = life;
    this.router = opts.router;
    if (opts.router !== undefined && opts.router.prefix.length !== 16) throw new RangeError('6LoWPAN router prefix: 16 bytes');
    this.maxRegistrations = opts.router?.maxRegistrations ?? 256;
  }

  /** Number of registered entries (router). */
  get registeredCount(): number {
    let n = 0;
    for (const e of this.learned.values()) if (e.eui64 !== undefined) n++;
    return n;
  }

  /** The link address for `addr` at `now`, or undefined (never a multicast solicitation). */
  resolve(addr: Uint8Array, now: number): Uint8Array | undefined {
    const e = this.learned.get(toHex(addr));
    if (e !== undefined && e.until > now) return e.lladdr;
    return linkAddrFromIid(addr);
  }

  /** Learns `lladdr` for `addr` from an SLLAO (RA, RS, NS), valid for `lifetimeMs`. A registration keeps its own lifetime. */
  learn(addr: Uint8Array, lladdr: Uint8Array, now: number, lifetimeMs: number): void {
    const k = toHex(addr);
    const e = this.learned.get(k);
    if (e !== undefined) {
      e.lladdr = lladdr.slice();
      if (e.eui64 === undefined) e.until = Math.max(e.until, now + lifetimeMs);
      return;
    }
    if (this.learned.size >= this.maxRegistrations + 64) this.expire(now);
    if (this.learned.size >= this.maxRegistrations + 64) return;
    this.learned.set(k, { addr: addr.slice(), lladdr: lladdr.slice(), until: now + lifetimeMs, eui64: undefined });
  }

  // ------------------------------------------------------------------ router

  /** Router: an NS+ARO from `addr` (not link-local) with the host's EUI-64 and link address. */
  register(addr: Uint8Array, eui64: Uint8Array, lladdr: Uint8Array, lifetimeMin: number, now: number): RegistrationVerdict {
    const k = toHex(addr);
    const e = this.learned.get(k);
    if (e !== undefined && e.eui64 !== undefined && e.until > now && !equalBytes(e.eui64, eui64)) {
      this.stats.duplicates++;
      return { status: AroStatus.DUPLICATE, lifetimeMin };
    }
    if (lifetimeMin === 0) {
      this.learned.delete(k);
      return { status: AroStatus.SUCCESS, lifetimeMin: 0 };
    }
    if (e === undefined || e.eui64 === undefined) {
      if (this.registeredCount >= this.maxRegistrations) {
        this.expire(now);
        if (this.registeredCount >= this.maxRegistrations) {
          this.stats.tableFull++;
          return { status: AroStatus.NEIGHBOR_CACHE_FULL, lifetimeMin };
        }
      }
    }
    this.learned.set(k, { addr: addr.slice(), lladdr: lladdr.slice(), until: now + lifetimeMin * 60_000, eui64: eui64.slice() });
    this.stats.registered++;
    return { status: AroStatus.SUCCESS, lifetimeMin };
  }

  /** Drops expired entries. */
  expire(now: number): void {
    for (const [k, e] of this.learned) {
      if (e.until > now) continue;
      this.learned.delete(k);
      if (e.eui64 !== undefined) this.stats.expired++;
    }
  }

  // ------------------------------------------------------------------ host

  /** Host: starts registering `addr` (a new global address); the first NS goes at `now`. */
  startRegistration(addr: Uint8Array, now: number): void {
    if (this.registrations.some((r) => ipEquals(r.addr, addr))) return;
    this.registrations.push({ addr: addr.slice(), state: 'pending', nextAt: now, tries: 0, backoffMs: RS_INTERVAL_MS, until: 0, router: undefined });
  }

  /** Host: the address is gone; forget its registration. */
  stopRegistration(addr: Uint8Array): void {
    const i = this.registrations.findIndex((r) => ipEquals(r.addr, addr));
    if (i >= 0) this.registrations.splice(i, 1);
  }

  /** Host: the registration whose NS is due at `now` goes to `router`: schedules its retry. */
  sent(r: HostRegistration, router: Uint8Array, now: number, retransMs: number): void {
    r.router = router.slice();
    this.stats.nsAroOut++;
    if (r.state === 'registered' && now < r.until) {
      // A refresh: retry fast until the registration itself runs out.
      r.nextAt = Math.min(now + retransMs, r.until);
      return;
    }
    r.state = 'pending';
    r.tries++;
    if (r.tries < REGISTRATION_TRIES) r.nextAt = now + retransMs;
    else {
      r.nextAt = now + r.backoffMs;
      r.tries = 0;
      r.backoffMs = Math.min(MAX_RS_INTERVAL_MS, r.backoffMs * 2);
    }
  }

  /** Host: the router's NA+ARO for `addr`. Returns the registration and what changed. */
  answered(addr: Uint8Array, status: number, lifetimeMin: number, now: number): { reg: HostRegistration; outcome: 'registered' | 'duplicate' | 'retry' } | undefined {
    const r = this.registrations.find((x) => ipEquals(x.addr, addr));
    if (r === undefined) return undefined;
    this.stats.naAroIn++;
    if (status === AroStatus.SUCCESS && lifetimeMin > 0) {
      r.state = 'registered';
      r.tries = 0;
      r.backoffMs = RS_INTERVAL_MS;
      r.until = now + lifetimeMin * 60_000;
      r.nextAt = now + Math.max(1000, Math.floor(lifetimeMin * 60_000 * 0.75));
      return { reg: r, outcome: 'registered' };
    }
    if (status === AroStatus.DUPLICATE) {
      this.stopRegistration(addr);
      return { reg: r, outcome: 'duplicate' };
    }
    // Status 2 (the router's cache is full) or another refusal: try again later.
    r.state = 'pending';
    r.tries = 0;
    r.nextAt = now + r.backoffMs;
    r.backoffMs = Math.min(MAX_RS_INTERVAL_MS, r.backoffMs * 2);
    return { reg: r, outcome: 'retry' };
  }

  /** Host: registrations that ran out unrefreshed go back to pending. */
  lapsed(now: number): HostRegistration[] {
    const out: HostRegistration[] = [];
    for (const r of this.registrations) {
      if (r.state === 'registered' && r.until <= now) {
        r.state = 'pending';
        r.tries = 0;
        out.push(r);
      }
    }
    return out;
  }

  /** Host: the next RS interval of the back-off while no router is known (10 s doubling to 60 s). */
  nextRsInterval(): number {
    this.rsBackoffMs = this.rsBackoffMs === 0 ? RS_INTERVAL_MS : Math.min(MAX_RS_INTERVAL_MS, this.rsBackoffMs * 2);
    return this.rsBackoffMs;
  }

  /** The earliest registration deadline (host) or entry expiry (router), or Infinity. */
  nextAt(): number {
    let at = Infinity;
    for (const r of this.registrations) {
      if (r.nextAt < at) at = r.nextAt;
      if (r.state === 'registered' && r.until < at) at = r.until;
    }
    if (this.router !== undefined) for (const e of this.learned.values()) if (e.until < at) at = e.until;
    return at;
  }
}
