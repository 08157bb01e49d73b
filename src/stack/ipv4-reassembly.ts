/**
 * IPv4 fragment reassembly (RFC 791 §3.2, RFC 1122 §3.3.2), bounded and defensive: the
 * IPv4 front end of the shared core in reassembly.ts (fragment list, limits, timeout,
 * eviction, counters).
 *
 * - Datagrams are keyed by (source, destination, protocol, identification), found by a
 *   numeric hash and a field comparison (no string per fragment).
 * - A datagram not completed within `timeoutMs` (default 30 s) is dropped; the stack may
 *   send ICMP time exceeded (code 1) quoting the first fragment, whose header and first
 *   8 payload bytes are kept for that purpose.
 * - Memory is capped globally (`maxBytes`, fragment payload bytes) and in count
 *   (`maxDatagrams`); when full, the oldest datagram in progress is evicted.
 * - Overlaps: an exact duplicate fragment (same offset and length) is ignored; any other
 *   overlap discards the whole datagram (as RFC 5722 orders for IPv6: overlapping fragments
 *   are an attack pattern, e.g. teardrop, and never needed by a correct sender).
 * - Non-final fragments must carry a multiple of 8 bytes (RFC 791); a datagram whose
 *   total length would exceed 65,535 bytes is discarded (ping of death).
 *
 * Fragment payloads are copied (the caller's frame buffer is reused by the link).
 */

import { Reassembly, type ReassemblyKeys, type ReassemblyOptions, type ReassemblyStats } from './reassembly.ts';

export type { ReassemblyOptions, ReassemblyStats } from './reassembly.ts';

/** A datagram that timed out, with what an ICMP time-exceeded message needs. */
export interface Expired {
  readonly src: number;
  readonly dst: number;
  /** IP header + 8 bytes of the first fragment, when it had arrived. */
  readonly firstHeader: Uint8Array | undefined;
}

interface Ipv4Key {
  src: number;
  dst: number;
  protocol: number;
  id: number;
}

/** 65,535 minus the smallest header: the most payload a datagram can have. */
const MAX_IP_PAYLOAD = 65535 - 20;

/** Same number; NaN equals NaN and -0 equals 0 (as keys built from number text did). */
function same(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/** -0 as 0 (as number text read back gives it). */
function plain(x: number): number {
  return x === 0 ? 0 : x;
}

const IPV4_KEYS: ReassemblyKeys<Ipv4Key> = Object.freeze({
  hash: (k: Ipv4Key): number => {
    let h = Math.imul(k.src | 0, 0x9e3779b1);
    h = Math.imul(h ^ (k.dst | 0), 0x85ebca77);
    h = Math.imul(h ^ (k.protocol | 0), 0xc2b2ae3d);
    return (h ^ (k.id | 0)) >>> 0;
  },
  equals: (a: Ipv4Key, b: Ipv4Key): boolean => same(a.src, b.src) && same(a.dst, b.dst) && same(a.protocol, b.protocol) && same(a.id, b.id),
  keep: (k: Ipv4Key): Ipv4Key => ({ src: plain(k.src), dst: plain(k.dst), protocol: k.protocol, id: k.id }),
});

export class Ipv4Reassembler {
  private readonly core: Reassembly<Ipv4Key>;
  /** The key of the fragment being added (copied only when it starts a datagram). */
  private readonly probe: Ipv4Key = { src: 0, dst: 0, protocol: 0, id: 0 };
  readonly stats: ReassemblyStats;

  constructor(opts: ReassemblyOptions = {}) {
    this.core = new Reassembly<Ipv4Key>({ keys: IPV4_KEYS, timeoutMs: 30_000, maxLength: MAX_IP_PAYLOAD, headerInPacket: false, minHeaderLen: 0, duplicatesCompareBytes: false }, opts);
    this.stats = this.core.stats;
  }

  /** Datagrams in progress. */
  get inProgress(): number {
    return this.core.inProgress;
  }

  /** Fragment bytes held. */
  get bytesHeld(): number {
    return this.core.bytesHeld;
  }

  /**
   * Adds one fragment. `offset` is in bytes (fragment offset field x 8), `more` the MF
   * flag, `payload` the fragment's data (copied), `header` the fragment's IP header
   * (kept, with 8 payload bytes, when this is the first fragment). Returns the complete
   * payload when this fragment finished the datagram, else undefined.
   */
  add(src: number, dst: number, protocol: number, id: number, offset: number, more: boolean,
    payload: Uint8Array, header: Uint8Array, now: number): Uint8Array | undefined {
    const k = this.probe;
    k.src = src;
    k.dst = dst;
    k.protocol = protocol;
    k.id = id;
    const r = this.core.add(k, offset, more, payload, header, now);
    return typeof r === 'string' ? undefined : r;
  }

  /** Drops datagrams older than the timeout; returns them (for ICMP time exceeded). */
  poll(now: number): Expired[] {
    return this.core.poll(now).map((e) => ({ src: e.key.src, dst: e.key.dst, firstHeader: e.first }));
  }

  /** When the oldest datagram in progress times out, or undefined. */
  pollAt(): number | undefined {
    return this.core.pollAt();
  }
}
