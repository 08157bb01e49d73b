/**
 * 6LoWPAN dispatch (RFC 4944 §5.1, RFC 6282 §3.1 and §5, RFC 8066): what the first byte of
 * a LoWPAN header is, and a walker over the headers of one IEEE 802.15.4 frame payload.
 *
 *     00xxxxxx  NALP: not a LoWPAN frame
 *     01000000  ESC: an extension dispatch byte follows (RFC 6282 §5 moved it here, RFC 8066)
 *     01000001  uncompressed IPv6 (the datagram follows)
 *     01000010  LOWPAN_HC1 (RFC 4944 compression, superseded by RFC 6282: not supported)
 *     01010000  LOWPAN_BC0 broadcast header
 *     011xxxxx  LOWPAN_IPHC (RFC 6282); 01111111 included: RFC 6282 §5 preempted RFC 4944's ESC
 *     10xxxxxx  mesh addressing header
 *     11000xxx  FRAG1, 11100xxx FRAGN
 *     other     reserved (01xxxxxx gaps; 11xxxxxx outside the fragment headers, incl. RFC 8025 pages)
 *
 * RFC 4944 §5: headers come in the order mesh, broadcast, fragment, then the datagram (an
 * IPHC header or an uncompressed IPv6 dispatch); a FRAGN is followed by datagram bytes only.
 * `walkLowpanHeaders` checks that order and returns the headers with where the datagram part
 * starts. It never throws; anything out of order, reserved or short is a `WireFault`.
 */
import type { WireFault } from '../fault.ts';
import { isLowpanFrag1, isLowpanFragN, LOWPAN_FRAG1_LEN, LOWPAN_FRAGN_LEN, parseLowpanFrag, type LowpanFragRepr } from './frag.ts';
import { isLowpanMesh, LOWPAN_BC0_LEN, LOWPAN_DISPATCH_BC0, parseLowpanBc0, parseLowpanMesh, type LowpanBc0Repr, type LowpanMeshRepr } from './mesh-header.ts';

/** RFC 8066 ESC dispatch (RFC 6282 §5's replacement for RFC 4944's 0x7f). */
export const LOWPAN_DISPATCH_ESC = 0x40;
/** Uncompressed IPv6 follows. */
export const LOWPAN_DISPATCH_IPV6 = 0x41;
/** RFC 4944 HC1 compressed IPv6 follows (unsupported). */
export const LOWPAN_DISPATCH_HC1 = 0x42;

/** What a dispatch byte introduces. */
export type LowpanDispatch = 'nalp' | 'esc' | 'ipv6' | 'hc1' | 'bc0' | 'iphc' | 'mesh' | 'frag1' | 'fragn' | 'reserved';

/** Classifies the first byte of a LoWPAN header. */
export function lowpanDispatch(b0: number): LowpanDispatch {
  if ((b0 & 0xc0) === 0x00) return 'nalp';
  if (isLowpanMesh(b0)) return 'mesh';
  if (isLowpanFrag1(b0)) return 'frag1';
  if (isLowpanFragN(b0)) return 'fragn';
  if ((b0 & 0xe0) === 0x60) return 'iphc';
  switch (b0) {
    case LOWPAN_DISPATCH_ESC: return 'esc';
    case LOWPAN_DISPATCH_IPV6: return 'ipv6';
    case LOWPAN_DISPATCH_HC1: return 'hc1';
    case LOWPAN_DISPATCH_BC0: return 'bc0';
    default: return 'reserved';
  }
}

/** The LoWPAN headers of one frame payload, in the order they came. */
export interface LowpanHeaders {
  readonly mesh: LowpanMeshRepr | undefined;
  readonly bc0: LowpanBc0Repr | undefined;
  readonly frag: LowpanFragRepr | undefined;
  /**
   * What the rest is: `'iphc'` an RFC 6282 compressed datagram, `offset` at its IPHC
   * dispatch byte; `'ipv6'` an uncompressed IPv6 datagram (or, after a FRAG1, its first
   * bytes), `offset` just after the 0x41 dispatch byte; `'fragn'` bytes of the uncompressed
   * datagram at `frag.offset`, from `offset` on.
   */
  readonly kind: 'iphc' | 'ipv6' | 'fragn';
  /** Where the datagram part starts in the walked buffer. */
  readonly offset: number;
}

/**
 * Walks the LoWPAN headers at the start of `payload` (the MAC payload of a data frame).
 * Faults: `'truncated'` (a header cut short, or nothing after the headers where a datagram
 * must come), `'unsupported'` (NALP, ESC, HC1), `'malformed'` (reserved dispatch, headers
 * out of order or repeated).
 */
export function walkLowpanHeaders(payload: Uint8Array): LowpanHeaders | WireFault {
  let at = 0;
  let mesh: LowpanMeshRepr | undefined;
  let bc0: LowpanBc0Repr | undefined;
  /** 0: nothing yet, 1: after mesh, 2: after BC0. */
  let stage = 0;
  for (;;) {
    if (at >= payload.length) return 'truncated';
    const rest = payload.subarray(at);
    const d = lowpanDispatch(rest[0] as number);
    switch (d) {
      case 'mesh': {
        if (stage >= 1) return 'malformed';
        const m = parseLowpanMesh(rest);
        if (typeof m === 'string') return m;
        mesh = m.repr;
        at += m.len;
        stage = 1;
        continue;
      }
      case 'bc0': {
        if (stage >= 2) return 'malformed';
        const b = parseLowpanBc0(rest);
        if (typeof b === 'string') return b;
        bc0 = b;
        at += LOWPAN_BC0_LEN;
        stage = 2;
        continue;
      }
      case 'frag1':
      case 'fragn': {
        const frag = parseLowpanFrag(rest);
        if (typeof frag === 'string') return frag;
        if (!frag.first) return { mesh, bc0, frag, kind: 'fragn', offset: at + LOWPAN_FRAGN_LEN };
        const inner = datagramStart(payload, at + LOWPAN_FRAG1_LEN);
        if (typeof inner === 'string') return inner;
        return { mesh, bc0, frag, kind: inner.kind, offset: inner.offset };
      }
      default: {
        const inner = datagramStart(payload, at);
        if (typeof inner === 'string') return inner;
        return { mesh, bc0, frag: undefined, kind: inner.kind, offset: inner.offset };
      }
    }
  }
}

/** The datagram's dispatch at `at`: IPHC or uncompressed IPv6, else a fault. */
function datagramStart(payload: Uint8Array, at: number): { kind: 'iphc' | 'ipv6'; offset: number } | WireFault {
  if (at >= payload.length) return 'truncated';
  switch (lowpanDispatch(payload[at] as number)) {
    case 'iphc': return { kind: 'iphc', offset: at };
    case 'ipv6': return { kind: 'ipv6', offset: at + 1 };
    case 'nalp':
    case 'esc':
    case 'hc1': return 'unsupported';
    default: return 'malformed';
  }
}
