/**
 * The resolver's answer cache: positive answers (addresses) and negative ones
 * (NXDOMAIN/NODATA, RFC 2308), each with an absolute expiry on the resolver's clock,
 * at most `maxEntries` entries, least recently used evicted first (a `Map` kept in
 * use order). Expired entries are dropped when met and before an eviction.
 */
import type { Instant } from '../../base/time.ts';

/** One cached answer for a (name, type). */
export interface DnsCacheEntry {
  /** Addresses (4 or 16 bytes each); empty for a negative entry. */
  readonly addresses: readonly Uint8Array[];
  /** 0 for a positive entry, else the IoT Socket code to answer (`EHOSTNOTFOUND`). */
  readonly code: number;
  /** The name the addresses belong to at the end of the CNAME chain. */
  readonly canonicalName: string;
  /** When the entry stops being valid. */
  readonly expiresAt: Instant;
}

export class DnsCache {
  readonly maxEntries: number;
  private readonly entries = new Map<string, DnsCacheEntry>();

  constructor(maxEntries: number) {
    this.maxEntries = Math.max(0, Math.floor(maxEntries));
  }

  /** Entries held now (expired ones included until met). */
  get size(): number {
    return this.entries.size;
  }

  /** The live entry for `key`, marked as recently used; undefined if absent or expired. */
  get(key: string, now: Instant): DnsCacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.entries.set(key, entry);
    return entry;
  }

  /** Stores `entry` (replacing an older one); entries that expire at once are not kept. */
  set(key: string, entry: DnsCacheEntry, now: Instant): void {
    if (this.maxEntries === 0 || entry.expiresAt <= now) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.evict(now);
    this.entries.set(key, entry);
  }

  /** Forgets everything (new servers, a new network). */
  clear(): void {
    this.entries.clear();
  }

  private evict(now: Instant): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(key);
    }
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) return;
      this.entries.delete(oldest.value);
    }
  }
}
