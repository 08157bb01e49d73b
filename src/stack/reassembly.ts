/**
 * Fragment reassembly, the part IPv4 (RFC 791 §3.2, RFC 1122 §3.3.2) and IPv6 (RFC 8200
 * §4.5) share: the fragment list with its hole and overlap checks, the limits, the timeout,
 * eviction and the counters. `Ipv4Reassembler` (ipv4-reassembly.ts) and `Ipv6Reassembler`
 * (ipv6-reassembly.ts) are thin front ends: they say what identifies a datagram and what
 * the header kept from its first fragment is for (`ReassemblyPolicy`).
 *
 * - Datagrams are found by a 32-bit hash of their key and an equality test (`ReassemblyKeys`):
 *   a front end looks a fragment up without building a string per fragment.
 * - A datagram not completed within `timeoutMs` of its first-arriving fragment is dropped
 *   by `poll(now)` (at `pollAt()`), which hands back the key and the header kept from the
 *   fragment at offset 0 (with 8 data bytes), for ICMP time exceeded code 1.
 * - Memory is capped globally (`maxBytes`) and in count (`maxDatagrams`); when a new
 *   datagram does not fit, the oldest datagrams in progress are evicted to make room.
 * - Overlaps: an exact duplicate fragment is ignored (RFC 8200 §4.5 allows keeping the
 *   first copy); any other overlap discards the whole datagram silently (RFC 5722: an attack
 *   pattern, e.g. teardrop, never needed by a correct sender), and so do two different last
 *   fragments, or a last fragment ending before fragments already held.
 * - Non-final fragments must carry a non-zero multiple of 8 bytes (`'malformed'`); a
 *   fragment reaching beyond `maxLength` discards the datagram (`'oversize'`, ping of death).
 *
 * Fragment data is copied (the caller's frame buffer is reused by the link). Nothing here
 * throws on what the network sends; time is the caller's `now` (ms).
 */

import { equalBytes } from '../wire/bytes.ts';

export interface ReassemblyOptions {
  /** Time to complete a datagram, ms (default: the front end's, 30 s for IPv4, 60 s for IPv6). */
  timeoutMs?: number;
  /** Datagrams in progress at once (default 64). */
  maxDatagrams?: number;
  /** Fragment bytes held in total (default 1 MiB). */
  maxBytes?: number;
}

/** Why fragments were dropped (counters for diagnostics). */
export interface ReassemblyStats {
  completed: number;
  timedOut: number;
  overlaps: number;
  malformed: number;
  oversize: number;
  evicted: number;
}

/** How a front end's datagram keys are hashed, compared and kept. */
export interface ReassemblyKeys<K> {
  /** Any 32-bit number; equal keys must hash alike. */
  hash(key: K): number;
  equals(held: K, probe: K): boolean;
  /** The copy a new datagram keeps: the key given to `add` may be a reused probe over the caller's buffers. */
  keep(probe: K): K;
}

/** What differs between IPv4 and IPv6 reassembly. */
export interface ReassemblyPolicy<K> {
  readonly keys: ReassemblyKeys<K>;
  /** Default `timeoutMs`. */
  readonly timeoutMs: number;
  /**
   * Bound on a fragment's end (offset + length), plus the length of the header kept from
   * the first fragment when `headerInPacket`.
   */
  readonly maxLength: number;
  /**
   * IPv6: the header kept from the first fragment (the unfragmentable part) heads the
   * reassembled packet, counts towards `maxLength` (the length of that fragment's own header
   * until the first fragment arrived) and towards `bytesHeld`. IPv4: the result is the
   * payload alone; the header is kept for ICMP only and not counted.
   */
  readonly headerInPacket: boolean;
  /**
   * With `headerInPacket`: the least header length a fragment is measured with against
   * `maxLength` before the first fragment came (IPv6: 40, the fixed header; a caller may
   * pass an empty header with fragments other than the first).
   */
  readonly minHeaderLen: number;
  /**
   * A fragment with the offset and length of one held is an exact duplicate only when its
   * bytes are the same too (IPv6; else it is an overlap). IPv4: offset and length suffice.
   */
  readonly duplicatesCompareBytes: boolean;
}

/** Why `add` refused a fragment (each also counted in `stats`). */
export type ReassemblyDrop = 'malformed' | 'oversize' | 'overlap' | 'memory';

/** A datagram that timed out. */
export interface ExpiredDatagram<K> {
  readonly key: K;
  /** The header kept from the fragment at offset 0 + its first 8 data bytes; undefined when that fragment never came. */
  readonly first: Uint8Array | undefined;
}

interface Frag {
  readonly offset: number;
  readonly data: Uint8Array;
}

interface Pending<K> {
  readonly key: K;
  readonly hash: number;
  readonly createdAt: number;
  /** Sorted by offset, non-overlapping. */
  readonly frags: Frag[];
  /** Data bytes held. */
  bytes: number;
  /** Bytes counted in `bytesHeld` (data, and the first fragment's header when `headerInPacket`). */
  charged: number;
  /** Total data length, once the last fragment (more = false) arrived. */
  total: number | undefined;
  /** Header + first 8 data bytes of the fragment at offset 0. */
  first: Uint8Array | undefined;
  /** Length of the header in `first`. */
  headerLen: number;
}

export class Reassembly<K> {
  /** Datagrams by key hash: usually one per hash, several on a collision. */
  private readonly byHash = new Map<number, Pending<K>[]>();
  /** Every datagram in progress, in creation order (the order of `poll` results and of eviction ties). */
  private readonly order = new Set<Pending<K>>();
  private readonly keys: ReassemblyKeys<K>;
  private readonly maxLength: number;
  private readonly headerInPacket: boolean;
  private readonly minHeaderLen: number;
  private readonly compareBytes: boolean;
  private readonly timeoutMs: number;
  private readonly maxDatagrams: number;
  private readonly maxBytes: number;
  private heldBytes = 0;
  readonly stats: ReassemblyStats = { completed: 0, timedOut: 0, overlaps: 0, malformed: 0, oversize: 0, evicted: 0 };

  constructor(policy: ReassemblyPolicy<K>, opts: ReassemblyOptions = {}) {
    this.keys = policy.keys;
    this.maxLength = policy.maxLength;
    this.headerInPacket = policy.headerInPacket;
    this.minHeaderLen = policy.minHeaderLen;
    this.compareBytes = policy.duplicatesCompareBytes;
    this.timeoutMs = opts.timeoutMs ?? policy.timeoutMs;
    this.maxDatagrams = opts.maxDatagrams ?? 64;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
  }

  /** Datagrams in progress. */
  get inProgress(): number {
    return this.order.size;
  }

  /** Bytes held (fragment data; with `headerInPacket`, the kept first header too). */
  get bytesHeld(): number {
    return this.heldBytes;
  }

  /**
   * Adds one fragment of the datagram `key` (not kept: `keys.keep` copies it for a new
   * datagram). `offset` in bytes, `more` the more-fragments flag, `data` the fragment's
   * data (copied), `header` the header to keep (with 8 data bytes) when `offset` is 0.
   * Returns the complete datagram when this fragment finished it (the data, after the
   * kept header when `headerInPacket`), the reason when the fragment was refused, and
   * undefined when it was taken (or was an exact duplicate) and the datagram is not complete.
   */
  add(key: K, offset: number, more: boolean, data: Uint8Array, header: Uint8Array, now: number): Uint8Array | ReassemblyDrop | undefined {
    const len = data.length;
    const end = offset + len;
    if (more && (len % 8 !== 0 || len === 0)) {
      this.stats.malformed++;
      return 'malformed';
    }
    const hash = this.keys.hash(key);
    let p = this.find(hash, key);
    // The header that will head the packet: the first fragment's once it came, else this one's.
    let reach = end;
    let headerLen = 0;
    if (this.headerInPacket) {
      headerLen = p?.first !== undefined ? p.headerLen : Math.max(header.length, this.minHeaderLen);
      // The first fragment arriving last: its header must fit with what is held already.
      if (offset === 0 && p !== undefined && p.first === undefined) reach = Math.max(end, reachOf(p));
    }
    if (headerLen + reach > this.maxLength) {
      this.stats.oversize++;
      if (p !== undefined) this.drop(p);
      return 'oversize';
    }
    const cost = len + (this.headerInPacket && offset === 0 ? header.length + Math.min(8, len) : 0);
    if (p === undefined) {
      while (this.order.size >= this.maxDatagrams || this.heldBytes + cost > this.maxBytes) {
        if (!this.evictOldest()) break;
      }
      if (this.heldBytes + cost > this.maxBytes) {
        this.stats.evicted++;
        return 'memory';
      }
      p = { key: this.keys.keep(key), hash, createdAt: now, frags: [], bytes: 0, charged: 0, total: undefined, first: undefined, headerLen: 0 };
      this.insert(p);
    }
    if (!more) {
      if (p.total !== undefined && p.total !== end) {
        // Two different last fragments: inconsistent, discard.
        return this.overlap(p);
      }
      // Fragments held from beyond the end this one declares: inconsistent, discard (else
      // their bytes could add up to the total while a hole remains inside it).
      const lastHeld = p.frags[p.frags.length - 1];
      if (lastHeld !== undefined && lastHeld.offset + lastHeld.data.length > end) return this.overlap(p);
      p.total = end;
    }
    if (p.total !== undefined && end > p.total) return this.overlap(p);
    // Insert, checking overlaps against the neighbours (fragments are sorted and disjoint).
    let i = 0;
    while (i < p.frags.length && (p.frags[i] as Frag).offset < offset) i++;
    const prev = p.frags[i - 1];
    const next = p.frags[i];
    if (next !== undefined && next.offset === offset && next.data.length === len && (!this.compareBytes || equalBytes(next.data, data))) {
      return undefined; // an exact duplicate (a retransmission): keep the first copy
    }
    if ((prev !== undefined && prev.offset + prev.data.length > offset) || (next !== undefined && next.offset < end)) return this.overlap(p);
    if (this.heldBytes + cost > this.maxBytes) {
      this.stats.evicted++;
      this.drop(p);
      return 'memory';
    }
    p.frags.splice(i, 0, { offset, data: data.slice() });
    p.bytes += len;
    if (offset === 0) {
      const first = new Uint8Array(header.length + Math.min(8, len));
      first.set(header);
      first.set(data.subarray(0, 8), header.length);
      p.first = first;
      p.headerLen = header.length;
    }
    const charge = this.headerInPacket ? cost : len;
    p.charged += charge;
    this.heldBytes += charge;
    if (p.total === undefined || p.bytes !== p.total) return undefined;
    // Complete: disjoint fragments within [0, total) whose sizes add up to the total cover
    // it exactly, so the fragment at offset 0 (and its header) is among them.
    const head = this.headerInPacket && p.first !== undefined ? p.first.subarray(0, p.headerLen) : undefined;
    const at = head?.length ?? 0;
    const out = new Uint8Array(at + p.total);
    if (head !== undefined) out.set(head);
    for (const f of p.frags) out.set(f.data, at + f.offset);
    this.drop(p);
    this.stats.completed++;
    return out;
  }

  /** Drops the datagrams whose time is up (at `pollAt()` or later) and returns them, oldest first. */
  poll(now: number): ExpiredDatagram<K>[] {
    const out: ExpiredDatagram<K>[] = [];
    for (const p of this.order) {
      if (now < p.createdAt + this.timeoutMs) continue; // the sum pollAt() returns (now - createdAt can round below it)
      out.push({ key: p.key, first: p.first });
      this.stats.timedOut++;
      this.drop(p);
    }
    return out;
  }

  /** When the oldest datagram in progress times out, or undefined. */
  pollAt(): number | undefined {
    let at = Infinity;
    for (const p of this.order) at = Math.min(at, p.createdAt + this.timeoutMs);
    return at === Infinity ? undefined : at;
  }

  private find(hash: number, key: K): Pending<K> | undefined {
    const bucket = this.byHash.get(hash);
    if (bucket === undefined) return undefined;
    for (const p of bucket) if (this.keys.equals(p.key, key)) return p;
    return undefined;
  }

  private insert(p: Pending<K>): void {
    const bucket = this.byHash.get(p.hash);
    if (bucket === undefined) this.byHash.set(p.hash, [p]);
    else bucket.push(p);
    this.order.add(p);
  }

  private drop(p: Pending<K>): void {
    if (!this.order.delete(p)) return;
    this.heldBytes -= p.charged;
    const bucket = this.byHash.get(p.hash);
    if (bucket === undefined) return;
    const i = bucket.indexOf(p);
    if (i >= 0) bucket.splice(i, 1);
    if (bucket.length === 0) this.byHash.delete(p.hash);
  }

  private overlap(p: Pending<K>): 'overlap' {
    this.stats.overlaps++;
    this.drop(p);
    return 'overlap';
  }

  private evictOldest(): boolean {
    let oldest: Pending<K> | undefined;
    for (const p of this.order) if (oldest === undefined || p.createdAt < oldest.createdAt) oldest = p;
    if (oldest === undefined) return false;
    this.stats.evicted++;
    this.drop(oldest);
    return true;
  }
}

/** How far the data held for `p` reaches: the declared total, else the end of the last fragment. */
function reachOf(p: Pending<unknown>): number {
  if (p.total !== undefined) return p.total;
  const last = p.frags[p.frags.length - 1];
  return last === undefined ? 0 : last.offset + last.data.length;
}
