/**
 * The ARP cache (RFC 826, RFC 1122 §2.3.2): IPv4 address -> MAC, as a pure state
 * machine with explicit `now`. The stack asks it where to send, feeds it every ARP
 * packet it sees, and runs `poll(now)` for retransmissions and expiry.
 *
 * - Unknown address: the packet waits in a bounded per-entry queue (oldest dropped
 *   first) while requests go out at most once per `requestIntervalMs` (RFC 1122
 *   2.3.2.1: no more than one per second per destination), up to `maxRequests`;
 *   then the entry FAILS, its packets are handed back (the stack reports host
 *   unreachable) and new packets to that address fail at once for `failHoldMs`
 *   (negative caching, so a dead host does not cause a request storm).
 * - Known address: REACHABLE for `reachableMs` after the last confirmation; a packet
 *   sent after that still uses the MAC but triggers one refresh request; without an
 *   answer the entry is removed after the refresh budget.
 * - RFC 826 merge rule: `update(..., create=false)` refreshes an existing entry only;
 *   `create=true` (a packet addressed to us) also adds one.
 * - Bounded: at most `maxEntries`; when full, the least recently updated complete
 *   entry is evicted (never one with packets waiting), else the new resolution fails.
 */

export interface ArpCacheOptions {
  /** Most entries (default 512). */
  maxEntries?: number;
  /** Validity of a confirmed entry before a refresh (default 60 s). */
  reachableMs?: number;
  /** Interval between requests for one address (default 1000 ms, RFC 1122). */
  requestIntervalMs?: number;
  /** Requests before giving up (default 3). */
  maxRequests?: number;
  /** Packets held per unresolved address (default 4). */
  maxPending?: number;
  /** Negative-cache time after a failure (default 3000 ms). */
  failHoldMs?: number;
}

type State = 'incomplete' | 'reachable' | 'failed';

interface Entry<P> {
  readonly ip: number;
  mac: Uint8Array | undefined;
  state: State;
  /** Last confirmation (reachable) or creation (incomplete/failed). */
  updatedAt: number;
  requestsSent: number;
  /** Next request due (incomplete, or a reachable entry being refreshed); Infinity when none. */
  nextRequestAt: number;
  refreshing: boolean;
  pending: P[];
}

/** Outcome of `resolve`. */
export type ArpResolution =
  /** Send now, to this MAC (`refresh`: also send one ARP request to confirm it). */
  | { readonly kind: 'mac'; readonly mac: Uint8Array; readonly refresh: boolean }
  /** Queued; `request`: send an ARP request now. `dropped`: an older packet was dropped to make room. */
  | { readonly kind: 'queued'; readonly request: boolean; readonly dropped: boolean }
  /** The address recently failed to resolve (or the cache is full): report unreachable. */
  | { readonly kind: 'failed' };

export interface ArpPollResult<P> {
  /** Addresses to send an ARP request for now. */
  readonly requests: number[];
  /** Entries that failed: their waiting packets, to report unreachable. */
  readonly failed: { readonly ip: number; readonly pending: P[] }[];
}

export class ArpCache<P> {
  private readonly entries = new Map<number, Entry<P>>();
  private readonly maxEntries: number;
  private readonly reachableMs: number;
  private readonly intervalMs: number;
  private readonly maxRequests: number;
  private readonly maxPending: number;
  private readonly failHoldMs: number;
  /** Packets dropped from full pending queues (a counter for diagnostics). */
  droppedPending = 0;

  constructor(opts: ArpCacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 512;
    this.reachableMs = opts.reachableMs ?? 60_000;
    this.intervalMs = opts.requestIntervalMs ?? 1000;
    this.maxRequests = opts.maxRequests ?? 3;
    this.maxPending = opts.maxPending ?? 4;
    this.failHoldMs = opts.failHoldMs ?? 3000;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The MAC of `ip` if confirmed and not expired, without side effects. */
  lookup(ip: number, now: number): Uint8Array | undefined {
    const e = this.entries.get(ip);
    if (e === undefined || e.state !== 'reachable' || e.mac === undefined) return undefined;
    return now - e.updatedAt <= this.reachableMs + this.intervalMs * this.maxRequests ? e.mac : undefined;
  }

  /**
   * The MAC of `ip` when it is confirmed and needs no refresh at `now` (the transmit
   * fast path: no side effects, no allocation). Undefined otherwise: call `resolve`.
   */
  freshMac(ip: number, now: number): Uint8Array | undefined {
    const e = this.entries.get(ip);
    if (e === undefined || e.state !== 'reachable' || e.mac === undefined) return undefined;
    return e.refreshing || now - e.updatedAt < this.reachableMs ? e.mac : undefined;
  }

  /**
   * Where to send a packet for `ip`. Unknown: `packet` is queued (the caller must pass
   * a copy it will not reuse) and the answer says whether to send a request now.
   */
  resolve(ip: number, now: number, packet: P): ArpResolution {
    let e = this.entries.get(ip);
    if (e !== undefined && e.state === 'failed') {
      if (now - e.updatedAt < this.failHoldMs) return { kind: 'failed' };
      this.entries.delete(ip);
      e = undefined;
    }
    if (e !== undefined && e.state === 'reachable' && e.mac !== undefined) {
      let refresh = false;
      if (!e.refreshing && now - e.updatedAt >= this.reachableMs) {
        e.refreshing = true;
        e.requestsSent = 1;
        e.nextRequestAt = now + this.intervalMs;
        refresh = true;
      }
      return { kind: 'mac', mac: e.mac, refresh };
    }
    if (e === undefined) {
      if (this.entries.size >= this.maxEntries && !this.evictOne()) return { kind: 'failed' };
      e = { ip, mac: undefined, state: 'incomplete', updatedAt: now, requestsSent: 1, nextRequestAt: now + this.intervalMs, refreshing: false, pending: [packet] };
      this.entries.set(ip, e);
      return { kind: 'queued', request: true, dropped: false };
    }
    // Incomplete: wait with the others; the retransmission timer sends the requests.
    let dropped = false;
    if (e.pending.length >= this.maxPending) {
      e.pending.shift();
      this.droppedPending++;
      dropped = true;
    }
    e.pending.push(packet);
    return { kind: 'queued', request: false, dropped };
  }

  /**
   * Learns `ip` -> `mac` from a received ARP packet. `create`: add it even if unknown
   * (the packet was addressed to us, RFC 826). Returns the packets that were waiting
   * for this address (send them now, in order).
   */
  update(ip: number, mac: Uint8Array, now: number, create: boolean): P[] {
    let e = this.entries.get(ip);
    if (e === undefined) {
      if (!create) return [];
      if (this.entries.size >= this.maxEntries && !this.evictOne()) return [];
      e = { ip, mac: undefined, state: 'reachable', updatedAt: now, requestsSent: 0, nextRequestAt: Infinity, refreshing: false, pending: [] };
      this.entries.set(ip, e);
    }
    e.mac = mac.slice(0, 6);
    e.state = 'reachable';
    e.updatedAt = now;
    e.requestsSent = 0;
    e.refreshing = false;
    e.nextRequestAt = Infinity;
    const released = e.pending;
    e.pending = [];
    return released;
  }

  /** Removes an entry (e.g. an address conflict, or the interface went down). */
  forget(ip: number): P[] {
    const e = this.entries.get(ip);
    this.entries.delete(ip);
    return e?.pending ?? [];
  }

  /** Retransmits requests and expires entries due at `now`. */
  poll(now: number): ArpPollResult<P> {
    const requests: number[] = [];
    const failed: { ip: number; pending: P[] }[] = [];
    for (const e of this.entries.values()) {
      if (e.state === 'failed') {
        if (now >= e.updatedAt + this.failHoldMs) this.entries.delete(e.ip); // the sum pollAt() returns: exact at fractional times
        continue;
      }
      if (e.state === 'reachable' && !e.refreshing) {
        // Unused entries simply age out.
        if (now >= e.updatedAt + this.reachableMs * 2) this.entries.delete(e.ip);
        continue;
      }
      if (now < e.nextRequestAt) continue;
      if (e.requestsSent >= this.maxRequests) {
        if (e.state === 'reachable') {
          this.entries.delete(e.ip); // refresh unanswered
        } else {
          failed.push({ ip: e.ip, pending: e.pending });
          e.pending = [];
          e.state = 'failed';
          e.updatedAt = now;
          e.nextRequestAt = Infinity;
        }
        continue;
      }
      e.requestsSent++;
      e.nextRequestAt = now + this.intervalMs;
      requests.push(e.ip);
    }
    return { requests, failed };
  }

  /** The earliest time `poll` has something to do, or undefined. */
  pollAt(): number | undefined {
    let at = Infinity;
    for (const e of this.entries.values()) {
      if (e.state === 'failed') at = Math.min(at, e.updatedAt + this.failHoldMs);
      else if (e.state === 'incomplete' || e.refreshing) at = Math.min(at, e.nextRequestAt);
      else at = Math.min(at, e.updatedAt + this.reachableMs * 2);
    }
    return at === Infinity ? undefined : at;
  }

  /** Evicts the least recently updated complete entry without waiting packets. */
  private evictOne(): boolean {
    let victim: Entry<P> | undefined;
    for (const e of this.entries.values()) {
      if (e.state === 'incomplete' || e.pending.length > 0) continue;
      if (victim === undefined || e.updatedAt < victim.updatedAt) victim = e;
    }
    if (victim === undefined) return false;
    this.entries.delete(victim.ip);
    return true;
  }
}
