/**
 * Path MTU estimates per destination (RFC 8201 for IPv6, RFC 1191 for IPv4), learned from
 * ICMPv6 Packet Too Big (or ICMP fragmentation needed) messages, as a pure structure with
 * explicit `now`. Destinations are 16-byte IPv6 or 4-byte IPv4 addresses (one cache may
 * hold both; the lengths keep them apart).
 *
 * - `update(dst, mtu, now)`: a report lowers the estimate; it is ignored when `mtu` is
 *   below the `floor` (RFC 8201 §4: a Packet Too Big below the IPv6 minimum link MTU is
 *   discarded, the estimate never goes below 1280) and when it is not below the current
 *   estimate (RFC 8201 §4: a Packet Too Big never increases the estimate, nor refreshes it).
 * - An estimate lasts `ageMs` from the report that set it (default 10 minutes, RFC 8201
 *   §5.3); after that `get` forgets it: the path MTU is the link MTU again, and the next
 *   Packet Too Big lowers it anew.
 * - The caller sends with min(link MTU, `get(dst, now)`): an entry above the link MTU (a
 *   report of an MTU the link itself does not reach) is harmless.
 *
 * Expiry is lazy: `get` answers for the `now` it is given, so no timer is needed and the
 * cache has no deadline to report. Expired entries are removed when a new one is added
 * (before any live one is evicted), so the cache stays within `maxEntries`; when it is
 * full of live entries, the one set longest ago goes (it is the next to expire anyway).
 * Entries are kept in the order they were set — their expiry order, as `now` never goes
 * back — so each operation is O(1) but for hash collisions. Lookups hash the address bytes
 * (no string per packet). Malformed arguments never throw: they are ignored.
 */

import { equalBytes } from '../wire/bytes.ts';

export interface PmtuCacheOptions {
  /** Lowest MTU a report may set (default 1280, the IPv6 minimum link MTU; 68 or 576 for an IPv4 cache). */
  floor?: number;
  /** How long a lowered estimate lasts, ms (default 10 min, RFC 8201 §5.3). */
  ageMs?: number;
  /** Destinations remembered at most (default 1024). */
  maxEntries?: number;
}

interface Entry {
  readonly dst: Uint8Array;
  readonly hash: number;
  mtu: number;
  expiresAt: number;
}

/** FNV-1a over the address bytes and their count. */
function hashAddr(a: Uint8Array): number {
  let h = Math.imul(0x811c9dc5 ^ a.length, 0x01000193);
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ (a[i] as number), 0x01000193);
  return h >>> 0;
}

function isAddr(a: unknown): a is Uint8Array {
  return a instanceof Uint8Array && (a.length === 4 || a.length === 16);
}

export class PmtuCache {
  /** Entries by address hash: usually one, several on a collision. */
  private readonly byHash = new Map<number, Entry[]>();
  /** Every entry, in the order it was set (= expiry order). */
  private readonly order = new Set<Entry>();
  private readonly floor: number;
  private readonly ageMs: number;
  private readonly maxEntries: number;
  /** Live entries evicted to make room (diagnostics). */
  evicted = 0;

  constructor(opts: PmtuCacheOptions = {}) {
    this.floor = opts.floor ?? 1280;
    this.ageMs = opts.ageMs ?? 600_000;
    this.maxEntries = Math.max(1, opts.maxEntries ?? 1024);
  }

  /** Entries held (expired ones included until they are cleared out). */
  get size(): number {
    return this.order.size;
  }

  /**
   * A report (Packet Too Big) that the path to `dst` takes at most `mtu` bytes. Returns
   * true when the estimate was lowered (or set): the caller may resend smaller at once.
   */
  update(dst: Uint8Array, mtu: number, now: number): boolean {
    if (!isAddr(dst) || !Number.isInteger(mtu) || mtu < this.floor || mtu > 0xffffffff || !Number.isFinite(now)) return false;
    const hash = hashAddr(dst);
    const e = this.find(hash, dst);
    if (e !== undefined && now < e.expiresAt) {
      if (mtu >= e.mtu) return false;
      e.mtu = mtu;
      e.expiresAt = now + this.ageMs;
      this.order.delete(e); // to the end: set last, expires last
      this.order.add(e);
      return true;
    }
    if (e !== undefined) this.remove(e);
    this.clearExpired(now);
    if (this.order.size >= this.maxEntries) {
      const oldest = this.order.values().next().value;
      if (oldest !== undefined) {
        this.remove(oldest);
        this.evicted++;
      }
    }
    const fresh: Entry = { dst: dst.slice(), hash, mtu, expiresAt: now + this.ageMs };
    const bucket = this.byHash.get(hash);
    if (bucket === undefined) this.byHash.set(hash, [fresh]);
    else bucket.push(fresh);
    this.order.add(fresh);
    return true;
  }

  /** The path MTU estimate for `dst` at `now`, or undefined (none, or expired: use the link MTU). */
  get(dst: Uint8Array, now: number): number | undefined {
    if (!isAddr(dst)) return undefined;
    const e = this.find(hashAddr(dst), dst);
    return e !== undefined && now < e.expiresAt ? e.mtu : undefined;
  }

  /** Forgets every estimate (e.g. when the link MTU changes). */
  clear(): void {
    this.byHash.clear();
    this.order.clear();
  }

  private find(hash: number, dst: Uint8Array): Entry | undefined {
    const bucket = this.byHash.get(hash);
    if (bucket === undefined) return undefined;
    for (const e of bucket) if (equalBytes(e.dst, dst)) return e;
    return undefined;
  }

  private remove(e: Entry): void {
    this.order.delete(e);
    const bucket = this.byHash.get(e.hash);
    if (bucket === undefined) return;
    const i = bucket.indexOf(e);
    if (i >= 0) bucket.splice(i, 1);
    if (bucket.length === 0) this.byHash.delete(e.hash);
  }

  /** Removes expired entries from the front of the expiry order. */
  private clearExpired(now: number): void {
    for (const e of this.order) {
      if (now < e.expiresAt) return;
      this.remove(e);
    }
  }
}
