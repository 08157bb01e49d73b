/**
 * IPv4 fragment reassembly (RFC 791 §3.2, RFC 1122 §3.3.2), bounded and defensive.
 *
 * - Datagrams are keyed by (source, destination, protocol, identification).
 * - A datagram not completed within `timeoutMs` is dropped; the stack may send ICMP
 *   time exceeded (code 1) quoting the first fragment, which is kept for that purpose.
 * - Memory is capped globally (`maxBytes`) and in count (`maxDatagrams`); when full,
 *   the oldest datagram in progress is evicted.
 * - Overlaps: an exact duplicate fragment is ignored; any other overlap discards the
 *   whole datagram (as RFC 5722 orders for IPv6: overlapping fragments are an attack
 *   pattern, e.g. teardrop, and never needed by a correct sender).
 * - Non-final fragments must carry a multiple of 8 bytes (RFC 791); a datagram whose
 *   total length would exceed 65,535 bytes is discarded (ping of death).
 *
 * Fragment payloads are copied (the caller's frame buffer is reused by the link).
 */

export interface ReassemblyOptions {
  /** Time to complete a datagram (default 30 s; RFC 1122 suggests 60-120 s, we bound memory sooner). */
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

interface Frag {
  offset: number;
  data: Uint8Array;
}

interface Pending {
  readonly key: string;
  readonly createdAt: number;
  frags: Frag[]; // sorted by offset, non-overlapping
  bytes: number;
  /** Total payload length, once the last fragment (MF = 0) arrived. */
  total: number | undefined;
  /** IP header + first 8 bytes of the first fragment (for ICMP time exceeded). */
  firstHeader: Uint8Array | undefined;
}

/** A datagram that timed out, with what an ICMP time-exceeded message needs. */
export interface Expired {
  readonly src: number;
  readonly dst: number;
  /** IP header + 8 bytes of the first fragment, when it had arrived. */
  readonly firstHeader: Uint8Array | undefined;
}

const MAX_IP_PAYLOAD = 65535 - 20;

export class Ipv4Reassembler {
  private readonly pending = new Map<string, Pending>();
  private readonly timeoutMs: number;
  private readonly maxDatagrams: number;
  private readonly maxBytes: number;
  private heldBytes = 0;
  readonly stats: ReassemblyStats = { completed: 0, timedOut: 0, overlaps: 0, malformed: 0, oversize: 0, evicted: 0 };

  constructor(opts: ReassemblyOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxDatagrams = opts.maxDatagrams ?? 64;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
  }

  /** Datagrams in progress. */
  get inProgress(): number {
    return this.pending.size;
  }

  /** Fragment bytes held. */
  get bytesHeld(): number {
    return this.heldBytes;
  }

  /**
   * Adds one fragment. `offset` is in bytes (fragment offset field x 8), `more` the MF
   * flag, `payload` the fragment's data (copied), `header` the fragment's IP header
   * (kept, with 8 payload bytes, when this is the first fragment). Returns the complete
   * payload when this fragment finished the datagram, else undefined.
   */
  add(src: number, dst: number, protocol: number, id: number, offset: number, more: boolean,
    payload: Uint8Array, header: Uint8Array, now: number): Uint8Array | undefined {
    const end = offset + payload.length;
    if ((more && payload.length % 8 !== 0) || (more && payload.length === 0)) {
      this.stats.malformed++;
      return undefined;
    }
    if (end > MAX_IP_PAYLOAD) {
      this.stats.oversize++;
      this.drop(`${src}/${dst}/${protocol}/${id}`);
      return undefined;
    }
    const key = `${src}/${dst}/${protocol}/${id}`;
    let p = this.pending.get(key);
    if (p === undefined) {
      while (this.pending.size >= this.maxDatagrams || this.heldBytes + payload.length > this.maxBytes) {
        if (!this.evictOldest()) break;
      }
      if (this.heldBytes + payload.length > this.maxBytes) {
        this.stats.evicted++;
        return undefined;
      }
      p = { key, createdAt: now, frags: [], bytes: 0, total: undefined, firstHeader: undefined };
      this.pending.set(key, p);
    }
    if (!more) {
      if (p.total !== undefined && p.total !== end) {
        // Two different "last" fragments: inconsistent, discard.
        this.stats.overlaps++;
        this.drop(key);
        return undefined;
      }
      // Fragments held from beyond the end this one declares: inconsistent, discard (else
      // their bytes could add up to the total while a hole remains inside it).
      const lastHeld = p.frags[p.frags.length - 1];
      if (lastHeld !== undefined && lastHeld.offset + lastHeld.data.length > end) {
        this.stats.overlaps++;
        this.drop(key);
        return undefined;
      }
      p.total = end;
    }
    if (p.total !== undefined && end > p.total) {
      this.stats.overlaps++;
      this.drop(key);
      return undefined;
    }
    // Insert, checking overlaps against neighbours (fragments are sorted and disjoint).
    let i = 0;
    while (i < p.frags.length && (p.frags[i] as Frag).offset < offset) i++;
    const prev = p.frags[i - 1];
    const next = p.frags[i];
    if (next !== undefined && next.offset === offset && next.data.length === payload.length) {
      return undefined; // exact duplicate (a retransmission): keep the first copy
    }
    if ((prev !== undefined && prev.offset + prev.data.length > offset) || (next !== undefined && next.offset < end)) {
      this.stats.overlaps++;
      this.drop(key);
      return undefined;
    }
    if (this.heldBytes + payload.length > this.maxBytes) {
      this.stats.evicted++;
      this.drop(key);
      return undefined;
    }
    p.frags.splice(i, 0, { offset, data: payload.slice() });
    p.bytes += payload.length;
    this.heldBytes += payload.length;
    if (offset === 0) {
      const keep = new Uint8Array(header.length + Math.min(8, payload.length));
      keep.set(header);
      keep.set(payload.subarray(0, 8), header.length);
      p.firstHeader = keep;
    }
    if (p.total === undefined || p.bytes !== p.total) return undefined;
    // Complete (disjoint fragments whose sizes add up to the total cover it exactly).
    const out = new Uint8Array(p.total);
    for (const f of p.frags) out.set(f.data, f.offset);
    this.drop(key);
    this.stats.completed++;
    return out;
  }

  /** Drops datagrams older than the timeout; returns them (for ICMP time exceeded). */
  poll(now: number): Expired[] {
    const out: Expired[] = [];
    for (const p of this.pending.values()) {
      if (now < p.createdAt + this.timeoutMs) continue; // the sum pollAt() returns (now - createdAt can round below it)
      const [src, dst] = p.key.split('/').map(Number) as [number, number];
      out.push({ src, dst, firstHeader: p.firstHeader });
      this.stats.timedOut++;
      this.drop(p.key);
    }
    return out;
  }

  /** When the oldest datagram in progress times out, or undefined. */
  pollAt(): number | undefined {
    let at = Infinity;
    for (const p of this.pending.values()) at = Math.min(at, p.createdAt + this.timeoutMs);
    return at === Infinity ? undefined : at;
  }

  private drop(key: string): void {
    const p = this.pending.get(key);
    if (p === undefined) return;
    this.heldBytes -= p.bytes;
    this.pending.delete(key);
  }

  private evictOldest(): boolean {
    let oldest: Pending | undefined;
    for (const p of this.pending.values()) if (oldest === undefined || p.createdAt < oldest.createdAt) oldest = p;
    if (oldest === undefined) return false;
    this.stats.evicted++;
    this.drop(oldest.key);
    return true;
  }
}
