/**
 * 6LoWPAN mesh addressing header (RFC 4944 §5.2) and broadcast header (RFC 4944 §11.1).
 *
 *     Mesh:  1 0 | V | F | Hops Left (4) | [Deep Hops Left (8)] | Originator (2|8) | Final (2|8)
 *     BC0:   0x50 | Sequence Number (8)
 *
 * V (F) is 1 when the originator (final) address is a 16-bit short address, 0 when it is an
 * EUI-64. Hops Left 0xF is the escape to a Deep Hops Left byte that follows (the later
 * 6lo extension Wireshark dissects), so up to 255 hops; 0..14 fit the 4 bits. A mesh-under
 * forwarder decrements Hops Left and does not forward the frame when it reaches 0
 * (`decrementLowpanMeshHops`). Parsing never throws; faults are `WireFault`s.
 */
import { rd8 } from '../bytes.ts';
import type { WireFault } from '../fault.ts';

/** The broadcast header's dispatch byte (LOWPAN_BC0). */
export const LOWPAN_DISPATCH_BC0 = 0x50;
/** The broadcast header's length. */
export const LOWPAN_BC0_LEN = 2;
/** Hops Left value announcing a Deep Hops Left byte. */
export const LOWPAN_MESH_DEEP_HOPS = 0xf;

/** A mesh addressing header. */
export interface LowpanMeshRepr {
  /** Hops left, 0..255 (beyond 14 the Deep Hops Left byte is used). */
  readonly hopsLeft: number;
  /** Emit the Deep Hops Left byte even below 15 (set by the parser when the frame had one, for byte-exact re-encoding). */
  readonly deepHops?: boolean;
  /** Originator address: 2 bytes (short) or 8 bytes (EUI-64), in network order. */
  readonly originator: Uint8Array;
  /** Final destination address: 2 or 8 bytes. */
  readonly final: Uint8Array;
}

/** A broadcast header. */
export interface LowpanBc0Repr {
  /** Sequence number, 0..255, for duplicate suppression of mesh broadcasts. */
  readonly sequence: number;
}

/** `10xxxxxx`: the first byte of a mesh addressing header. */
export function isLowpanMesh(b0: number): boolean {
  return (b0 & 0xc0) === 0x80;
}

function usesDeep(repr: LowpanMeshRepr): boolean {
  return repr.deepHops === true || repr.hopsLeft >= LOWPAN_MESH_DEEP_HOPS;
}

/** The header's length: 1 (+1 deep hops) + the two addresses. */
export function lowpanMeshLen(repr: LowpanMeshRepr): number {
  return 1 + (usesDeep(repr) ? 1 : 0) + repr.originator.length + repr.final.length;
}

/** Decodes the mesh addressing header at the start of `buf`; `len` is its length. */
export function parseLowpanMesh(buf: Uint8Array): { readonly repr: LowpanMeshRepr; readonly len: number } | WireFault {
  if (buf.length < 1) return 'truncated';
  const b0 = rd8(buf, 0);
  if (!isLowpanMesh(b0)) return 'malformed';
  const origLen = (b0 & 0x20) !== 0 ? 2 : 8;
  const finalLen = (b0 & 0x10) !== 0 ? 2 : 8;
  const deep = (b0 & 0x0f) === LOWPAN_MESH_DEEP_HOPS;
  let at = 1;
  if (deep) at++;
  const len = at + origLen + finalLen;
  if (buf.length < len) return 'truncated';
  const hopsLeft = deep ? rd8(buf, 1) : b0 & 0x0f;
  const originator = buf.slice(at, at + origLen);
  const final = buf.slice(at + origLen, len);
  const repr: LowpanMeshRepr = deep && hopsLeft < LOWPAN_MESH_DEEP_HOPS ? { hopsLeft, deepHops: true, originator, final } : { hopsLeft, originator, final };
  return { repr, len };
}

/** Checks a header to emit: hops 0..255, addresses of 2 or 8 bytes. Undefined when fine. */
export function checkLowpanMeshRepr(repr: LowpanMeshRepr): WireFault | undefined {
  if (!Number.isInteger(repr.hopsLeft) || repr.hopsLeft < 0 || repr.hopsLeft > 0xff) return 'malformed';
  for (const a of [repr.originator, repr.final]) if (!(a instanceof Uint8Array) || (a.length !== 2 && a.length !== 8)) return 'bad-length';
  return undefined;
}

/** Writes the header at the start of `out` (at least `lowpanMeshLen(repr)` bytes); returns its length. */
export function emitLowpanMesh(repr: LowpanMeshRepr, out: Uint8Array): number {
  const deep = usesDeep(repr);
  out[0] = 0x80 | (repr.originator.length === 2 ? 0x20 : 0) | (repr.final.length === 2 ? 0x10 : 0) | (deep ? LOWPAN_MESH_DEEP_HOPS : repr.hopsLeft & 0x0f);
  let at = 1;
  if (deep) out[at++] = repr.hopsLeft & 0xff;
  out.set(repr.originator, at);
  at += repr.originator.length;
  out.set(repr.final, at);
  return at + repr.final.length;
}

/**
 * Decrements Hops Left in place in the mesh header at the start of `buf` (a forwarder's
 * step) and returns the hops left afterwards: forward the frame only when that is above 0.
 * A header already at 0 stays 0. The deep form stays deep (the frame's length does not change).
 */
export function decrementLowpanMeshHops(buf: Uint8Array): number | WireFault {
  if (buf.length < 1) return 'truncated';
  const b0 = rd8(buf, 0);
  if (!isLowpanMesh(b0)) return 'malformed';
  if ((b0 & 0x0f) === LOWPAN_MESH_DEEP_HOPS) {
    if (buf.length < 2) return 'truncated';
    const hops = Math.max(0, rd8(buf, 1) - 1);
    buf[1] = hops;
    return hops;
  }
  const hops = Math.max(0, (b0 & 0x0f) - 1);
  buf[0] = (b0 & 0xf0) | hops;
  return hops;
}

/** Decodes the broadcast header at the start of `buf`. */
export function parseLowpanBc0(buf: Uint8Array): LowpanBc0Repr | WireFault {
  if (buf.length < 1) return 'truncated';
  if (rd8(buf, 0) !== LOWPAN_DISPATCH_BC0) return 'malformed';
  if (buf.length < LOWPAN_BC0_LEN) return 'truncated';
  return { sequence: rd8(buf, 1) };
}

/** Writes the broadcast header at the start of `out`; returns its length (2). */
export function emitLowpanBc0(repr: LowpanBc0Repr, out: Uint8Array): number {
  out[0] = LOWPAN_DISPATCH_BC0;
  out[1] = repr.sequence & 0xff;
  return LOWPAN_BC0_LEN;
}
