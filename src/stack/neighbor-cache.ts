/**
 * The IPv6 neighbor cache (RFC 4861 §7.3, Neighbor Unreachability Detection and address
 * resolution), as a pure state machine with explicit `now`, the IPv6 counterpart of
 * `ArpCache`. The stack asks it where to send, feeds it what Neighbor Discovery
 * messages say, confirms reachability from upper layers (TCP forward progress), and runs
 * `poll(now)` for retransmissions and timeouts; the cache never sends anything itself:
 * it returns the solicitations to send.
 *
 * States (RFC 4861 §7.3.2) and transitions (Appendix C):
 * - INCOMPLETE: address resolution under way. Packets wait in a bounded queue (oldest
 *   dropped); multicast NS to the solicited-node group every `retransTimerMs`, at most
 *   `maxMulticastSolicit`; then the entry fails, its packets are handed back (ICMPv6
 *   address unreachable), and new packets fail at once for `failHoldMs`.
 * - REACHABLE: confirmed within `reachableTimeMs`; sending needs nothing more. After
 *   that the entry is STALE (evaluated lazily: no timer per entry).
 * - STALE: usable; the first packet sent moves it to DELAY.
 * - DELAY: usable; if nothing confirms it within `delayFirstProbeMs` it goes to PROBE.
 * - PROBE: usable; unicast NS to the cached link-layer address every `retransTimerMs`,
 *   at most `maxUnicastSolicit`; then the entry is removed (the next packet starts
 *   address resolution again).
 *
 * Inputs:
 * - `learn(addr, lladdr, now, isRouter?)`: an NS, RS, RA or Redirect carried a source
 *   (or redirect target) link-layer address (§7.2.3, §6.2.6, §6.3.4, §8.3): a new entry
 *   is created STALE; a different link-layer address replaces the old one and the entry
 *   becomes STALE; an INCOMPLETE entry gets the address, becomes STALE and releases its
 *   packets.
 * - `advertised(addr, lladdr, flags, now)`: a Neighbor Advertisement (§7.2.5): the rules
 *   for INCOMPLETE entries and for the Override / Solicited flags; returns the packets
 *   released and whether the sender stopped being a router (R flag cleared: the caller
 *   removes it from the default router list, §7.2.5 last paragraph).
 * - `confirm(addr, now)`: upper-layer reachability confirmation (§7.3.1).
 *
 * Addresses are 16-byte `Uint8Array`s; the cache copies what it keeps. Lookups hash the
 * 16 bytes into a number and compare bytes (no strings, no allocation on the send path).
 * Bounded: `maxEntries`; when full, the least recently used entry without waiting packets
 * is evicted, else the new resolution fails.
 */

import { ipv6EqualAt } from '../base/ip-address.ts';
import { equalBytes } from '../wire/bytes.ts';

export interface NeighborCacheOptions {
  /** Most entries (default 512). */
  maxEntries?: number;
  /** ReachableTime (ms): how long a confirmation holds (default 30 s; the stack sets the randomised value, RFC 4861 §6.3.2). */
  reachableTimeMs?: number;
  /** RetransTimer (ms) between solicitations (default 1000, RFC 4861 §10). */
  retransTimerMs?: number;
  /** MAX_MULTICAST_SOLICIT (default 3). */
  maxMulticastSolicit?: number;
  /** MAX_UNICAST_SOLICIT (default 3). */
  maxUnicastSolicit?: number;
  /** DELAY_FIRST_PROBE_TIME (ms, default 5000). */
  delayFirstProbeMs?: number;
  /** Packets held per unresolved address (default 4; RFC 4861 §7.2.2: at least one). */
  maxPending?: number;
  /** Negative-cache time after a failed resolution (default 3000 ms). */
  failHoldMs?: number;
  /** Unused entries (STALE, nothing sent) are dropped after this long (default 10 min). */
  staleLifetimeMs?: number;
}

export type NeighborState = 'INCOMPLETE' | 'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE' | 'FAILED';

interface Entry<P> {
  readonly addr: Uint8Array;
  readonly hash: number;
  lladdr: Uint8Array | undefined;
  state: NeighborState;
  isRouter: boolean;
  /** REACHABLE: last confirmation. INCOMPLETE/FAILED: creation/failure. STALE: last update. */
  updatedAt: number;
  /** Last packet sent through this entry (for eviction and stale expiry). */
  usedAt: number;
  solicitsSent: number;
  /** Next solicitation (INCOMPLETE, PROBE) or the DELAY deadline; Infinity when none. */
  timerAt: number;
  pending: P[];
}

/** Outcome of `resolve`. */
export type NeighborResolution =
  /** Send now to this link-layer address. */
  | { readonly kind: 'lladdr'; readonly lladdr: Uint8Array }
  /** Queued; `solicit`: send a multicast NS now. `dropped`: an older packet was dropped to make room. */
  | { readonly kind: 'queued'; readonly solicit: boolean; readonly dropped: boolean }
  /** The address failed to resolve recently (or the cache is full): report unreachable. */
  | { readonly kind: 'failed' };

/** One Neighbor Solicitation to send: multicast (address resolution) or unicast to `lladdr` (NUD probe). */
export interface NeighborSolicit {
  readonly target: Uint8Array;
  /** Unicast probe to this link-layer address; undefined: multicast to the solicited-node group. */
  readonly lladdr: Uint8Array | undefined;
}

export interface NeighborPollResult<P> {
  readonly solicits: NeighborSolicit[];
  /** Entries whose resolution failed: their waiting packets, to report unreachable. */
  readonly failed: { readonly addr: Uint8Array; readonly pending: P[] }[];
  /** Entries removed because NUD probing went unanswered (a router among them leaves the default router list). */
  readonly unreachable: Uint8Array[];
}

/** NA flags (RFC 4861 §4.4). */
export interface NaFlags {
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
}

export interface AdvertisedResult<P> {
  /** Packets that waited for this address: send them now, in order. */
  readonly released: P[];
  /** The sender was a router and its NA cleared the R flag. */
  readonly noLongerRouter: boolean;
}

const NONE: never[] = [];

/** FNV-1a over 16 bytes. */
function hash16(a: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ (a[i] as number), 0x01000193);
  return h >>> 0;
}

function sameLl(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && equalBytes(a, b);
}

export class NeighborCache<P> {
  /** Buckets by hash: one entry, or several on a collision. */
  private readonly buckets = new Map<number, Entry<P> | Entry<P>[]>();
  private count = 0;
  /** The entry `find` returned last (cleared when it is removed). */
  private last: Entry<P> | undefined;
  private readonly maxEntries: number;
  private readonly retransMs: number;
  private readonly maxMulticast: number;
  private readonly maxUnicast: number;
  private readonly delayMs: number;
  private readonly maxPending: number;
  private readonly failHoldMs: number;
  private readonly staleLifetimeMs: number;
  /** ReachableTime in ms; the stack re-randomises it (RFC 4861 §6.3.2) and applies RA values. */
  reachableTimeMs: number;
  /** Packets dropped from full pending queues. */
  droppedPending = 0;
  private armed: number | undefined = undefined;

  constructor(opts: NeighborCacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 512;
    this.reachableTimeMs = opts.reachableTimeMs ?? 30_000;
    this.retransMs = opts.retransTimerMs ?? 1000;
    this.maxMulticast = opts.maxMulticastSolicit ?? 3;
    this.maxUnicast = opts.maxUnicastSolicit ?? 3;
    this.delayMs = opts.delayFirstProbeMs ?? 5000;
    this.maxPending = opts.maxPending ?? 4;
    this.failHoldMs = opts.failHoldMs ?? 3000;
    this.staleLifetimeMs = opts.staleLifetimeMs ?? 600_000;
  }

  get size(): number {
    return this.count;
  }

  /** The state of `addr`'s entry (REACHABLE turns STALE once its time is up), or undefined. */
  state(addr: Uint8Array, now: number): NeighborState | undefined {
    const e = this.find(addr);
    if (e === undefined) return undefined;
    this.age(e, now);
    return e.state;
  }

  /** The link-layer address cached for `addr` (any state that has one), without side effects. */
  lookup(addr: Uint8Array): Uint8Array | undefined {
    const e = this.find(addr);
    return e !== undefined && e.state !== 'FAILED' ? e.lladdr : undefined;
  }

  /**
   * The send fast path: the link-layer address of a REACHABLE entry still within its
   * reachable time, or a DELAY/PROBE one (usable, timers already running), with no
   * allocation and no state change; undefined otherwise (call `resolve`).
   */
  usableLladdr(addr: Uint8Array, now: number): Uint8Array | undefined {
    const e = this.find(addr);
    if (e === undefined || e.lladdr === undefined) return undefined;
    if (e.state === 'REACHABLE') {
      if (now - e.updatedAt >= this.reachableTimeMs) return undefined;
    } else if (e.state !== 'DELAY' && e.state !== 'PROBE') return undefined;
    e.usedAt = now;
    return e.lladdr;
  }

  /**
   * The earliest timer `resolve` started since the last `takeArmed()` (STALE -> DELAY,
   * a new INCOMPLETE entry), or undefined: the caller re-arms its deadline cheaply
   * instead of recomputing `pollAt()` for every packet.
   */
  takeArmed(): number | undefined {
    const a = this.armed;
    this.armed = undefined;
    return a;
  }

  /** Whether `addr` is known as a router (its NAs carry the R flag, or it sent an RA). */
  isRouter(addr: Uint8Array): boolean {
    return this.find(addr)?.isRouter ?? false;
  }

  /**
   * Where to send a packet for `addr`. A usable entry answers with its link-layer address
   * (a STALE one moves to DELAY, §7.3.3). Otherwise `packet` is queued (pass a copy you
   * will not reuse) and the answer says whether to send a multicast NS now.
   */
  resolve(addr: Uint8Array, now: number, packet: P): NeighborResolution {
    let e = this.find(addr);
    if (e !== undefined && e.state === 'FAILED') {
      if (now - e.updatedAt < this.failHoldMs) return { kind: 'failed' };
      this.remove(e);
      e = undefined;
    }
    if (e !== undefined && e.state !== 'INCOMPLETE' && e.lladdr !== undefined) {
      this.age(e, now);
      e.usedAt = now;
      if (e.state === 'STALE') {
        e.state = 'DELAY';
        e.timerAt = now + this.delayMs;
        this.noteArmed(e.timerAt);
      }
      return { kind: 'lladdr', lladdr: e.lladdr };
    }
    if (e === undefined) {
      if (this.count >= this.maxEntries && !this.evictOne()) return { kind: 'failed' };
      e = this.add(addr, now);
      e.state = 'INCOMPLETE';
      e.solicitsSent = 1;
      e.timerAt = now + this.retransMs;
      this.noteArmed(e.timerAt);
      e.pending.push(packet);
      return { kind: 'queued', solicit: true, dropped: false };
    }
    // INCOMPLETE: wait with the others; the retransmission timer sends the solicitations.
    e.usedAt = now;
    let dropped = false;
    if (e.pending.length >= this.maxPending) {
      e.pending.shift();
      this.droppedPending++;
      dropped = true;
    }
    e.pending.push(packet);
    return { kind: 'queued', solicit: false, dropped };
  }

  /**
   * A link-layer address for `addr` from an NS, RS, RA or Redirect (the unsolicited
   * rules of §7.2.3 / §6.2.6 / §6.3.4 / §8.3). `isRouter`: the message was an RA (sets
   * the router flag) or a Redirect target that is a router. Returns the packets that
   * were waiting (INCOMPLETE -> STALE): send them now.
   */
  learn(addr: Uint8Array, lladdr: Uint8Array, now: number, isRouter = false): P[] {
    let e = this.find(addr);
    if (e !== undefined && e.state === 'FAILED') {
      this.remove(e);
      e = undefined;
    }
    if (e === undefined) {
      if (this.count >= this.maxEntries && !this.evictOne()) return NONE;
      e = this.add(addr, now);
      e.lladdr = lladdr.slice();
      e.state = 'STALE';
      e.isRouter = isRouter;
      return NONE;
    }
    if (isRouter) e.isRouter = true;
    if (e.state === 'INCOMPLETE') {
      e.lladdr = lladdr.slice();
      e.state = 'STALE';
      e.updatedAt = now;
      e.timerAt = Infinity;
      e.solicitsSent = 0;
      return this.release(e);
    }
    if (!sameLl(e.lladdr, lladdr)) {
      e.lladdr = lladdr.slice();
      e.state = 'STALE';
      e.updatedAt = now;
      e.timerAt = Infinity;
      e.solicitsSent = 0;
    }
    return NONE;
  }

  /**
   * A Neighbor Advertisement for `addr` (RFC 4861 §7.2.5). `lladdr`: its target
   * link-layer address option, if any. Advertisements for unknown addresses are ignored
   * (no entry is created).
   */
  advertised(addr: Uint8Array, lladdr: Uint8Array | undefined, flags: NaFlags, now: number): AdvertisedResult<P> {
    const e = this.find(addr);
    if (e === undefined || e.state === 'FAILED') return { released: NONE, noLongerRouter: false };
    if (e.state === 'INCOMPLETE') {
      if (lladdr === undefined) return { released: NONE, noLongerRouter: false }; // silently discarded
      e.lladdr = lladdr.slice();
      e.isRouter = flags.router;
      this.enter(e, flags.solicited ? 'REACHABLE' : 'STALE', now);
      return { released: this.release(e), noLongerRouter: false };
    }
    this.age(e, now);
    const differs = lladdr !== undefined && !sameLl(e.lladdr, lladdr);
    if (!flags.override && differs) {
      // A different address without Override: keep ours; a REACHABLE entry becomes STALE.
      if (e.state === 'REACHABLE') this.enter(e, 'STALE', now);
      return { released: NONE, noLongerRouter: false };
    }
    if (lladdr !== undefined && differs) e.lladdr = lladdr.slice();
    if (flags.solicited) this.enter(e, 'REACHABLE', now);
    else if (differs) this.enter(e, 'STALE', now);
    const wasRouter = e.isRouter;
    e.isRouter = flags.router;
    return { released: NONE, noLongerRouter: wasRouter && !flags.router };
  }

  /** Upper-layer reachability confirmation (§7.3.1): the entry becomes REACHABLE. */
  confirm(addr: Uint8Array, now: number): void {
    const e = this.find(addr);
    if (e === undefined || e.lladdr === undefined || e.state === 'INCOMPLETE' || e.state === 'FAILED') return;
    this.enter(e, 'REACHABLE', now);
  }

  /** Removes an entry (interface down, address conflict); returns its waiting packets. */
  forget(addr: Uint8Array): P[] {
    const e = this.find(addr);
    if (e === undefined) return NONE;
    this.remove(e);
    return e.pending;
  }

  /** Retransmissions, DELAY -> PROBE, probe timeouts and expiry due at `now`. */
  poll(now: number): NeighborPollResult<P> {
    const solicits: NeighborSolicit[] = [];
    const failed: { addr: Uint8Array; pending: P[] }[] = [];
    const unreachable: Uint8Array[] = [];
    for (const e of this.all()) {
      switch (e.state) {
        case 'FAILED':
          if (now >= e.updatedAt + this.failHoldMs) this.remove(e);
          break;
        case 'INCOMPLETE':
          if (now < e.timerAt) break;
          if (e.solicitsSent >= this.maxMulticast) {
            failed.push({ addr: e.addr, pending: e.pending });
            e.pending = [];
            e.state = 'FAILED';
            e.updatedAt = now;
            e.timerAt = Infinity;
            break;
          }
          e.solicitsSent++;
          e.timerAt = now + this.retransMs;
          solicits.push({ target: e.addr, lladdr: undefined });
          break;
        case 'DELAY':
          if (now < e.timerAt) break;
          e.state = 'PROBE';
          e.solicitsSent = 1;
          e.timerAt = now + this.retransMs;
          solicits.push({ target: e.addr, lladdr: e.lladdr });
          break;
        case 'PROBE':
          if (now < e.timerAt) break;
          if (e.solicitsSent >= this.maxUnicast) {
            unreachable.push(e.addr);
            this.remove(e);
            break;
          }
          e.solicitsSent++;
          e.timerAt = now + this.retransMs;
          solicits.push({ target: e.addr, lladdr: e.lladdr });
          break;
        default:
          // REACHABLE / STALE: no timers; unused entries age out.
          if (now >= Math.max(e.usedAt, e.updatedAt) + this.staleLifetimeMs) this.remove(e);
      }
    }
    return { solicits, failed, unreachable };
  }

  /** The earliest time `poll` has something to do, or undefined. */
  pollAt(): number | undefined {
    let at = Infinity;
    for (const e of this.all()) {
      if (e.state === 'FAILED') at = Math.min(at, e.updatedAt + this.failHoldMs);
      else if (e.state === 'INCOMPLETE' || e.state === 'DELAY' || e.state === 'PROBE') at = Math.min(at, e.timerAt);
      else at = Math.min(at, Math.max(e.usedAt, e.updatedAt) + this.staleLifetimeMs);
    }
    return at === Infinity ? undefined : at;
  }

  // ------------------------------------------------------------------ internals

  private noteArmed(at: number): void {
    if (this.armed === undefined || at < this.armed) this.armed = at;
  }

  /** REACHABLE whose time is up reads as STALE (RFC 4861 §7.3.3: no timer needed). */
  private age(e: Entry<P>, now: number): void {
    if (e.state === 'REACHABLE' && now - e.updatedAt >= this.reachableTimeMs) {
      e.state = 'STALE';
      e.updatedAt = now;
    }
  }

  private enter(e: Entry<P>, state: 'REACHABLE' | 'STALE', now: number): void {
    e.state = state;
    e.updatedAt = now;
    e.timerAt = Infinity;
    e.solicitsSent = 0;
  }

  private release(e: Entry<P>): P[] {
    const released = e.pending;
    e.pending = [];
    return released;
  }

  private find(addr: Uint8Array): Entry<P> | undefined {
    if (addr.length !== 16) return undefined;
    // A bulk transfer asks for the same neighbor for every segment: 16 byte compares
    // instead of hashing and a map lookup.
    const last = this.last;
    if (last !== undefined && ipv6EqualAt(last.addr, addr)) return last;
    const b = this.buckets.get(hash16(addr));
    if (b === undefined) return undefined;
    const found = Array.isArray(b) ? b.find((e) => ipv6EqualAt(e.addr, addr)) : ipv6EqualAt(b.addr, addr) ? b : undefined;
    if (found !== undefined) this.last = found;
    return found;
  }

  private add(addr: Uint8Array, now: number): Entry<P> {
    const e: Entry<P> = {
      addr: addr.slice(0, 16), hash: hash16(addr), lladdr: undefined, state: 'STALE', isRouter: false,
      updatedAt: now, usedAt: now, solicitsSent: 0, timerAt: Infinity, pending: [],
    };
    const b = this.buckets.get(e.hash);
    if (b === undefined) this.buckets.set(e.hash, e);
    else if (Array.isArray(b)) b.push(e);
    else this.buckets.set(e.hash, [b, e]);
    this.count++;
    return e;
  }

  private remove(e: Entry<P>): void {
    if (this.last === e) this.last = undefined;
    const b = this.buckets.get(e.hash);
    if (b === e) this.buckets.delete(e.hash);
    else if (Array.isArray(b)) {
      const rest = b.filter((x) => x !== e);
      if (rest.length === 0) this.buckets.delete(e.hash);
      else this.buckets.set(e.hash, rest.length === 1 ? (rest[0] as Entry<P>) : rest);
    } else return;
    this.count--;
  }

  /** A snapshot of every entry (poll may remove while iterating). */
  private all(): Entry<P>[] {
    const out: Entry<P>[] = [];
    for (const b of this.buckets.values()) {
      if (Array.isArray(b)) out.push(...b);
      else out.push(b);
    }
    return out;
  }

  /** Evicts the least recently used entry without waiting packets (never INCOMPLETE). */
  private evictOne(): boolean {
    let victim: Entry<P> | undefined;
    for (const e of this.all()) {
      if (e.state === 'INCOMPLETE' || e.pending.length > 0) continue;
      if (victim === undefined || e.usedAt < victim.usedAt) victim = e;
    }
    if (victim === undefined) return false;
    this.remove(victim);
    return true;
  }
}
