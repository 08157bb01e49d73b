/**
 * IPv6 fragment reassembly (RFC 8200 §4.5), bounded and defensive: the IPv6 front end of
 * the shared core in reassembly.ts (fragment list, limits, timeout, eviction, counters).
 *
 * - Packets are keyed by (source, destination, Fragment Identification), found by a hash
 *   of the 36 bytes and a byte comparison (no string per fragment).
 * - The reassembled packet is the Unfragmentable Part of the first fragment (offset 0:
 *   the IPv6 header and the extension headers before the Fragment header, whose last Next
 *   Header field the caller has set to the Fragment header's Next Header) followed by the
 *   fragments' data, with the Payload Length rewritten to the total.
 * - A packet not completed within `timeoutMs` (default 60 s, RFC 8200 §4.5) of its first
 *   arriving fragment is dropped by `poll(now)` (at `pollAt()`), which returns it with the
 *   first fragment's Unfragmentable Part and 8 data bytes when that fragment came, for
 *   ICMPv6 Time Exceeded code 1 (RFC 8200 §4.5: only then).
 * - Overlaps (RFC 5722): a fragment overlapping another one held discards the whole packet
 *   silently; an exact duplicate (same offset, length and bytes) is ignored (RFC 8200 §4.5
 *   allows keeping the first copy). Two different last fragments, or a last fragment ending
 *   before data held, count as overlaps too.
 * - Errors the caller answers with ICMPv6 Parameter Problem code 0 (RFC 8200 §4.5), read
 *   from `lastFault` after `add` returned undefined:
 *   `'misaligned'`: M set and a data length not a multiple of 8 — pointer 4 (Payload
 *   Length); `'oversize'`: the packet reconstructed from the fragment would have a Payload
 *   Length beyond 65,535 — pointer at the Fragment Offset field (Fragment header + 2). Until
 *   the first fragment came, a fragment is measured with its own Unfragmentable Part (at
 *   least the 40-byte header), then with the first fragment's. The packet in progress is
 *   discarded with the fragment (stricter than RFC 8200, which names the fragment only;
 *   as the IPv4 reassembler does). Every other refusal is silent (`lastFault` undefined)
 *   and counted in `stats`.
 * - Memory is capped globally (`maxBytes`: fragment data and kept Unfragmentable Parts) and
 *   in count (`maxDatagrams`); when full, the oldest packet in progress is evicted.
 *
 * The caller's part: RFC 6946 atomic fragments (offset 0, M clear) are processed in
 * isolation and need not come here — if they do, `add` returns them at once, without
 * touching fragments in progress with the same key; RFC 7112: the caller discards a first
 * fragment that does not hold the whole header chain (Parameter Problem code 3) before
 * calling `add`. Untrusted or malformed arguments never throw: the fragment is dropped and
 * counted (`stats.malformed`). Fragment data is copied (the caller's frame buffer is reused).
 */

import { equalBytes, wr16 } from '../wire/bytes.ts';
import { IPV6_HEADER_LEN, IPV6_MAX_PAYLOAD_LEN } from '../wire/ipv6.ts';
import { Reassembly, type ReassemblyKeys, type ReassemblyOptions, type ReassemblyStats } from './reassembly.ts';

export type { ReassemblyOptions, ReassemblyStats } from './reassembly.ts';

/** Why the last `add` refused its fragment in a way the sender must be told about (see the header comment). */
export type Ipv6FragmentFault = 'misaligned' | 'oversize';

/** A packet that timed out, with what an ICMPv6 Time Exceeded message needs. */
export interface Ipv6Expired {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly ident: number;
  /**
   * The first fragment's Unfragmentable Part (as given to `add`) + its first 8 data bytes,
   * when the fragment at offset 0 had arrived; undefined otherwise (then no ICMPv6 error).
   */
  readonly firstFragment: Uint8Array | undefined;
}

interface Ipv6Key {
  src: Uint8Array;
  dst: Uint8Array;
  ident: number;
}

function fnv(h: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h;
}

const IPV6_KEYS: ReassemblyKeys<Ipv6Key> = Object.freeze({
  hash: (k: Ipv6Key): number => {
    let h = fnv(fnv(0x811c9dc5, k.src), k.dst);
    h = Math.imul(h ^ (k.ident >>> 16), 0x01000193);
    return Math.imul(h ^ (k.ident & 0xffff), 0x01000193) >>> 0;
  },
  equals: (a: Ipv6Key, b: Ipv6Key): boolean => a.ident === b.ident && equalBytes(a.src, b.src) && equalBytes(a.dst, b.dst),
  keep: (k: Ipv6Key): Ipv6Key => ({ src: k.src.slice(), dst: k.dst.slice(), ident: k.ident }),
});

/** Largest fragment offset: 13 bits of 8-byte units. */
const MAX_FRAG_OFFSET = 0xfff8;

function isBytes(b: unknown, length?: number): b is Uint8Array {
  return b instanceof Uint8Array && (length === undefined || b.length === length);
}

export class Ipv6Reassembler {
  private readonly core: Reassembly<Ipv6Key>;
  /** The key of the fragment being added (copied only when it starts a packet). */
  private readonly probe: Ipv6Key;
  private readonly none = new Uint8Array(0);
  private fault: Ipv6FragmentFault | undefined = undefined;
  readonly stats: ReassemblyStats;

  constructor(opts: ReassemblyOptions = {}) {
    this.core = new Reassembly<Ipv6Key>({
      keys: IPV6_KEYS,
      timeoutMs: 60_000,
      // Unfragmentable Part + data: the IPv6 header and a 65,535-byte payload.
      maxLength: IPV6_HEADER_LEN + IPV6_MAX_PAYLOAD_LEN,
      headerInPacket: true,
      minHeaderLen: IPV6_HEADER_LEN,
      duplicatesCompareBytes: true,
    }, opts);
    this.stats = this.core.stats;
    this.probe = { src: this.none, dst: this.none, ident: 0 };
  }

  /** Packets in progress. */
  get inProgress(): number {
    return this.core.inProgress;
  }

  /** Bytes held: fragment data and the Unfragmentable Parts (+ 8 bytes) kept from first fragments. */
  get bytesHeld(): number {
    return this.core.bytesHeld;
  }

  /**
   * Why the last `add` refused its fragment, when the sender should get an ICMPv6
   * Parameter Problem code 0 (`'misaligned'`: pointer 4; `'oversize'`: pointer at the
   * Fragment Offset field); undefined after a fragment taken, a packet completed or a
   * silent drop.
   */
  get lastFault(): Ipv6FragmentFault | undefined {
    return this.fault;
  }

  /**
   * Adds one fragment. `src`, `dst`: the 16-byte addresses; `ident`: the 32-bit
   * Identification; `fragOffset`: in bytes (the field x 8); `moreFrags`: the M flag;
   * `unfragmentable`: the IPv6 header and the extension headers before the Fragment header,
   * the last Next Header field naming the fragment's Next Header (kept from the fragment at
   * offset 0, where it is required; for the others only its length counts, in the size
   * check, and it may be empty);
   * `fragmentData`: the bytes after the Fragment header (copied). Returns the whole
   * reassembled packet when this fragment completed it, else undefined (`lastFault` says
   * whether to answer with an error).
   */
  add(src: Uint8Array, dst: Uint8Array, ident: number, fragOffset: number, moreFrags: boolean,
    unfragmentable: Uint8Array, fragmentData: Uint8Array, now: number): Uint8Array | undefined {
    this.fault = undefined;
    if (!isBytes(src, 16) || !isBytes(dst, 16) || !Number.isInteger(ident) || ident < 0 || ident > 0xffffffff
      || !Number.isInteger(fragOffset) || fragOffset < 0 || fragOffset > MAX_FRAG_OFFSET || fragOffset % 8 !== 0
      || typeof moreFrags !== 'boolean' || !isBytes(unfragmentable) || !isBytes(fragmentData) || !Number.isFinite(now)
      || (fragOffset === 0 && unfragmentable.length < IPV6_HEADER_LEN)) {
      this.stats.malformed++;
      return undefined;
    }
    if (fragOffset === 0 && !moreFrags) return this.atomic(unfragmentable, fragmentData);
    const k = this.probe;
    k.src = src;
    k.dst = dst;
    k.ident = ident;
    const r = this.core.add(k, fragOffset, moreFrags, fragmentData, unfragmentable, now);
    k.src = this.none;
    k.dst = this.none;
    if (r === undefined) return undefined;
    if (typeof r === 'string') {
      if (r === 'oversize') this.fault = 'oversize';
      else if (r === 'malformed' && fragmentData.length % 8 !== 0) this.fault = 'misaligned';
      return undefined;
    }
    wr16(r, 4, r.length - IPV6_HEADER_LEN);
    return r;
  }

  /** Drops packets whose time is up (at `pollAt()` or later); returns them, oldest first. */
  poll(now: number): Ipv6Expired[] {
    return this.core.poll(now).map((e) => ({ src: e.key.src, dst: e.key.dst, ident: e.key.ident, firstFragment: e.first }));
  }

  /** When the oldest packet in progress times out, or undefined. */
  pollAt(): number | undefined {
    return this.core.pollAt();
  }

  /** RFC 6946: an atomic fragment is a whole packet on its own. */
  private atomic(unfragmentable: Uint8Array, data: Uint8Array): Uint8Array | undefined {
    const payloadLen = unfragmentable.length - IPV6_HEADER_LEN + data.length;
    if (payloadLen > IPV6_MAX_PAYLOAD_LEN) {
      this.stats.oversize++;
      this.fault = 'oversize';
      return undefined;
    }
    const out = new Uint8Array(unfragmentable.length + data.length);
    out.set(unfragmentable);
    out.set(data, unfragmentable.length);
    wr16(out, 4, payloadLen);
    return out;
  }
}
