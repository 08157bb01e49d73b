/**
 * 6LoWPAN fragment reassembly (RFC 4944 §5.3, RFC 6282 §2), bounded and defensive: a front
 * end of the shared core in ../reassembly.ts (fragment list, overlap checks, limits, timeout,
 * eviction, counters).
 *
 * - Datagrams are keyed by (source, destination, datagram_size, datagram_tag) as RFC 4944
 *   §5.3 says. The addresses are the link-layer ones of the frame, or the mesh header's
 *   originator and final addresses when the frame has one (mesh-under: fragments of one
 *   datagram may reach the final node from different neighbours).
 * - A FRAG1 carries the compressed first part: an uncompressed-IPv6 dispatch (0x41) is just
 *   dropped; an IPHC header is expanded by the caller's `decompressFirst` (this module does
 *   not know IPHC) into the uncompressed header bytes, which sit at offset 0 of the
 *   datagram, followed by the FRAG1's remaining bytes. FRAGN data sits at its offset.
 * - Fragments may come in any order; an exact duplicate (same offset, length and bytes) is
 *   ignored; any other overlap, a fragment reaching beyond datagram_size, or a non-final
 *   fragment whose (uncompressed) length is no multiple of 8 drops the fragment — and the
 *   datagram in progress for overlaps. The complete datagram is exactly datagram_size bytes.
 * - A datagram not complete within `timeoutMs` (default 60 s, RFC 4944 §5.3) of its first
 *   arriving fragment is discarded by `poll(now)` (due at `pollAt()`); no timers here.
 * - Memory is capped (`maxBytes`, `maxDatagrams`): the oldest datagram in progress is
 *   evicted to make room.
 *
 * Never throws on what the radio delivers; every refusal is counted in `stats`.
 */
import { equalBytes } from '../../wire/bytes.ts';
import type { WireFault } from '../../wire/fault.ts';
import type { LowpanHeaders } from '../../wire/lowpan/dispatch.ts';
import { LOWPAN_MAX_DATAGRAM_SIZE } from '../../wire/lowpan/frag.ts';
import { Reassembly, type ReassemblyKeys, type ReassemblyOptions, type ReassemblyStats } from '../reassembly.ts';

/** What `decompressFirst` may use besides the bytes (RFC 6282 §3.2.2 address inference, §2 length inference). */
export interface LowpanDecompressContext {
  /** Link-layer (or mesh originator) source address, 2 or 8 bytes. */
  readonly src: Uint8Array;
  /** Link-layer (or mesh final) destination address. */
  readonly dst: Uint8Array;
  /** datagram_size: the uncompressed datagram's length (IPv6 Payload Length = size - 40). */
  readonly datagramSize: number;
  /** datagram_tag: with the addresses and size, what identifies the datagram. */
  readonly tag: number;
}

/**
 * Expands the compressed header at the start of `compressed` (its IPHC dispatch byte):
 * the uncompressed header bytes and how many compressed bytes they took, or a fault.
 */
export type LowpanDecompressFirst = (compressed: Uint8Array, ctx: LowpanDecompressContext) =>
  { readonly header: Uint8Array; readonly consumed: number } | WireFault;

export interface LowpanReassemblyOptions extends ReassemblyOptions {
  /** IPHC expansion for FRAG1s (absent: IPHC FRAG1s are dropped as `'decompress'`). */
  decompressFirst?: LowpanDecompressFirst;
}

/** Counters: the core's, plus fragments refused before reaching it. */
export interface LowpanReassemblyStats extends ReassemblyStats {
  /** Not a fragment, bad arguments, or a datagram_size below 1. */
  invalid: number;
  /** The FRAG1's header could not be expanded. */
  decompress: number;
  /** A fragment reaching beyond datagram_size. */
  beyondSize: number;
}

/** Why `add` refused a fragment. */
export type LowpanReassemblyDrop = 'invalid' | 'decompress' | 'beyond-size' | 'malformed' | 'oversize' | 'overlap' | 'memory';

/** A datagram that timed out. */
export interface LowpanExpired {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly size: number;
  readonly tag: number;
}

interface LowpanKey {
  src: Uint8Array;
  dst: Uint8Array;
  size: number;
  tag: number;
}

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 0x01000193);
}

const LOWPAN_KEYS: ReassemblyKeys<LowpanKey> = Object.freeze({
  hash: (k: LowpanKey): number => {
    let h = mix(mix(0x811c9dc5, k.size), k.tag);
    for (const b of k.src) h = mix(h, b);
    h = mix(h, 0x100 | k.dst.length);
    for (const b of k.dst) h = mix(h, b);
    return h >>> 0;
  },
  equals: (a: LowpanKey, b: LowpanKey): boolean => a.size === b.size && a.tag === b.tag && equalBytes(a.src, b.src) && equalBytes(a.dst, b.dst),
  keep: (k: LowpanKey): LowpanKey => ({ src: k.src.slice(), dst: k.dst.slice(), size: k.size, tag: k.tag }),
});

const NONE = new Uint8Array(0);

function isAddr(a: unknown): a is Uint8Array {
  return a instanceof Uint8Array && (a.length === 2 || a.length === 8);
}

export class LowpanReassembler {
  private readonly core: Reassembly<LowpanKey>;
  private readonly decompressFirst: LowpanDecompressFirst | undefined;
  private readonly probe: LowpanKey = { src: NONE, dst: NONE, size: 0, tag: 0 };
  private readonly own = { invalid: 0, decompress: 0, beyondSize: 0 };

  constructor(opts: LowpanReassemblyOptions = {}) {
    this.core = new Reassembly<LowpanKey>({
      keys: LOWPAN_KEYS,
      timeoutMs: 60_000,
      maxLength: LOWPAN_MAX_DATAGRAM_SIZE,
      headerInPacket: false,
      minHeaderLen: 0,
      duplicatesCompareBytes: true,
    }, { maxDatagrams: 16, maxBytes: 32 * 1024, ...opts });
    this.decompressFirst = opts.decompressFirst;
  }

  /** Counters by reason (a snapshot). */
  get stats(): LowpanReassemblyStats {
    return { ...this.core.stats, ...this.own };
  }

  /** Datagrams in progress. */
  get inProgress(): number {
    return this.core.inProgress;
  }

  /** Fragment bytes held (uncompressed). */
  get bytesHeld(): number {
    return this.core.bytesHeld;
  }

  /**
   * Adds the fragment in `payload` (a frame's MAC payload), walked into `headers` by
   * `walkLowpanHeaders`; `linkSrc`/`linkDst` the frame's link-layer addresses (2 or 8 bytes;
   * the mesh header's replace them when present). Returns the whole uncompressed datagram
   * when this fragment completed it, the reason when the fragment was refused, undefined
   * when it was taken (or was a duplicate).
   */
  add(linkSrc: Uint8Array, linkDst: Uint8Array, headers: LowpanHeaders, payload: Uint8Array, now: number): Uint8Array | LowpanReassemblyDrop | undefined {
    const frag = headers.frag;
    const src = headers.mesh?.originator ?? linkSrc;
    const dst = headers.mesh?.final ?? linkDst;
    if (frag === undefined || !isAddr(src) || !isAddr(dst) || !(payload instanceof Uint8Array) || !Number.isFinite(now)
      || frag.size < 1 || frag.size > LOWPAN_MAX_DATAGRAM_SIZE || headers.offset > payload.length) {
      this.own.invalid++;
      return 'invalid';
    }
    let data = payload.subarray(headers.offset);
    if (headers.kind === 'iphc') {
      const d = this.decompressFirst?.(data, { src, dst, datagramSize: frag.size, tag: frag.tag }) ?? 'unsupported';
      if (typeof d === 'string' || d.consumed < 1 || d.consumed > data.length) {
        this.own.decompress++;
        return 'decompress';
      }
      const rest = data.subarray(d.consumed);
      const joined = new Uint8Array(d.header.length + rest.length);
      joined.set(d.header);
      joined.set(rest, d.header.length);
      data = joined;
    }
    const offset = frag.first ? 0 : frag.offset;
    const end = offset + data.length;
    if (end > frag.size) {
      this.own.beyondSize++;
      return 'beyond-size';
    }
    const k = this.probe;
    k.src = src;
    k.dst = dst;
    k.size = frag.size;
    k.tag = frag.tag;
    const r = this.core.add(k, offset, end < frag.size, data, NONE, now);
    k.src = NONE;
    k.dst = NONE;
    return r;
  }

  /** Discards the datagrams whose time is up (at `pollAt()` or later); returns them, oldest first. */
  poll(now: number): LowpanExpired[] {
    return this.core.poll(now).map((e) => ({ src: e.key.src, dst: e.key.dst, size: e.key.size, tag: e.key.tag }));
  }

  /** When the oldest datagram in progress times out, or undefined. */
  pollAt(): number | undefined {
    return this.core.pollAt();
  }
}
