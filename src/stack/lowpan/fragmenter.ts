/**
 * 6LoWPAN fragmentation, sending side (RFC 4944 §5.3 with RFC 6282 §2): cuts one compressed
 * datagram into LoWPAN frame payloads that fit the room an IEEE 802.15.4 frame leaves.
 *
 * The datagram is given as its compressed first part (the dispatch, the IPHC header with its
 * inline fields and NHC headers — or 0x41 and the plain IPv6 header), the length of the
 * uncompressed headers that part stands for, and the rest, sent as it is. Offsets and the
 * datagram size count the uncompressed datagram. The FRAG1 carries the whole compressed part
 * (RFC 6282 §2: it must not be split) and as many payload bytes as fit while ending on an
 * 8-byte boundary of the uncompressed datagram; every FRAGN but the last carries a multiple
 * of 8 bytes. A datagram that fits one frame is sent without fragment headers. Optional
 * `prefix` bytes (a mesh and/or broadcast header) head every frame and count in the room.
 */
import type { WireFault } from '../../wire/fault.ts';
import { emitLowpanFrag, LOWPAN_FRAG1_LEN, LOWPAN_FRAGN_LEN, LOWPAN_MAX_DATAGRAM_SIZE } from '../../wire/lowpan/frag.ts';

export interface LowpanFragmentInput {
  /** The compressed first part: dispatch + IPHC (+ inline fields, NHC), or 0x41 + the IPv6 header. */
  readonly compressedHeader: Uint8Array;
  /** How many bytes of the uncompressed datagram `compressedHeader` stands for (0.. its uncompressed headers). */
  readonly headerUncompressedLength: number;
  /** The rest of the datagram, sent uncompressed. */
  readonly payload: Uint8Array;
  /** datagram_tag, 0..0xffff (the sender's counter). */
  readonly tag: number;
  /** Bytes a frame has for LoWPAN headers and data: 127 minus MAC header, security overhead and FCS. */
  readonly room: number;
  /** Headers put before each frame's fragment header (mesh addressing, broadcast), counted in `room`. */
  readonly prefix?: Uint8Array;
}

/**
 * The frame payloads for one datagram, in order; `'bad-length'` when the uncompressed
 * datagram exceeds 2047 bytes (the 11-bit datagram_size) or the room cannot take a fragment
 * with 8 bytes of data; `'malformed'` for a bad tag or lengths.
 */
export function lowpanFragment(input: LowpanFragmentInput): Uint8Array[] | WireFault {
  const { compressedHeader: ch, headerUncompressedLength: h, payload, tag, room } = input;
  const prefix = input.prefix ?? new Uint8Array(0);
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffff || !Number.isInteger(h) || h < 0 || !Number.isInteger(room)) return 'malformed';
  const avail = room - prefix.length;
  if (ch.length + payload.length <= avail) return [join(prefix, undefined, ch, payload, 0, payload.length)];
  const size = h + payload.length;
  if (size > LOWPAN_MAX_DATAGRAM_SIZE) return 'bad-length';
  // FRAG1: the compressed part plus k payload bytes, h + k a multiple of 8.
  const firstRoom = avail - LOWPAN_FRAG1_LEN - ch.length;
  const k = Math.floor((h + firstRoom) / 8) * 8 - h;
  const perFragN = Math.floor((avail - LOWPAN_FRAGN_LEN) / 8) * 8;
  if (firstRoom < 0 || k < 0 || h + k === 0 || perFragN < 8) return 'bad-length';
  const frames = [join(prefix, { first: true, size, tag, offset: 0 }, ch, payload, 0, k)];
  for (let off = h + k; off < size; off += perFragN) {
    const n = Math.min(perFragN, size - off);
    frames.push(join(prefix, { first: false, size, tag, offset: off }, undefined, payload, off - h, off - h + n));
  }
  return frames;
}

function join(prefix: Uint8Array, frag: { first: boolean; size: number; tag: number; offset: number } | undefined,
  ch: Uint8Array | undefined, payload: Uint8Array, from: number, to: number): Uint8Array {
  const fragLen = frag === undefined ? 0 : frag.first ? LOWPAN_FRAG1_LEN : LOWPAN_FRAGN_LEN;
  const out = new Uint8Array(prefix.length + fragLen + (ch?.length ?? 0) + (to - from));
  out.set(prefix);
  let at = prefix.length;
  if (frag !== undefined) at += emitLowpanFrag(frag, out.subarray(at));
  if (ch !== undefined) {
    out.set(ch, at);
    at += ch.length;
  }
  out.set(payload.subarray(from, to), at);
  return out;
}
