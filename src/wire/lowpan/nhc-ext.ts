/**
 * LOWPAN_NHC for IPv6 extension headers (RFC 6282 §4.2): `1110 EID NH`.
 *
 * EID: 0 Hop-by-Hop Options, 1 Routing, 2 Fragment, 3 Destination Options, 4 Mobility,
 * 7 IPv6 (an encapsulated IPv6 header compressed with LOWPAN_IPHC right after the NHC byte;
 * NH unused and zero — the chain logic is in iphc.ts); 5 and 6 reserved. NH: 0 the Next
 * Header inline after the NHC byte, 1 elided (the next header is LOWPAN_NHC too).
 *
 * The header then follows unmodified except for its first two bytes: the Length byte counts
 * the octets after it (not 8-octet units), and for Hop-by-Hop and Destination Options a single
 * trailing Pad1 or PadN (≤ 7 bytes, zero contents) is elided — the decompressor pads the
 * header back to a multiple of 8 (Pad1 or PadN; zeros for the other kinds). The Fragment
 * header has no length: its reserved byte stands in place of the Length byte and 6 bytes
 * follow (as Wireshark reads it).
 */
import type { WireFault } from '../fault.ts';
import { IPV6_FRAGMENT_HEADER_LEN, Ipv6NextHeader, Ipv6OptionType } from '../ipv6.ts';

export const NHC_EXT_MASK = 0xf0;
export const NHC_EXT_ID = 0xe0;
/** The NH bit of an extension-header NHC byte. */
export const NHC_EXT_NH = 0x01;

/** EID values (RFC 6282 §4.2). */
export const NhcEid = {
  HOP_BY_HOP: 0,
  ROUTING: 1,
  FRAGMENT: 2,
  DEST_OPTIONS: 3,
  MOBILITY: 4,
  IPV6: 7,
} as const;

const EID_PROTO = [Ipv6NextHeader.HOP_BY_HOP, Ipv6NextHeader.ROUTING, Ipv6NextHeader.FRAGMENT, Ipv6NextHeader.DEST_OPTIONS, Ipv6NextHeader.MOBILITY, -1, -1, Ipv6NextHeader.IPV6];

/** True when the NHC byte `b` is an extension header (`1110xxxx`). */
export function isNhcExt(b: number): boolean {
  return (b & NHC_EXT_MASK) === NHC_EXT_ID;
}

/** The IPv6 Next Header value of an EID; −1 for a reserved one. */
export function nhcEidProtocol(eid: number): number {
  return EID_PROTO[eid & 7] as number;
}

/** The EID of an IPv6 Next Header value; −1 when it has none. */
export function nhcEidOf(protocol: number): number {
  return EID_PROTO.indexOf(protocol);
}

/** Length in bytes of the (uncompressed) extension header of kind `protocol` at `buf[at]`; −1 past `end`. */
export function extHeaderLen(protocol: number, buf: Uint8Array, at: number, end: number): number {
  if (at + 2 > end) return -1;
  const len = protocol === Ipv6NextHeader.FRAGMENT ? IPV6_FRAGMENT_HEADER_LEN : ((buf[at + 1] as number) + 1) * 8;
  return at + len > end ? -1 : len;
}

/**
 * Bytes of an options header after the two first ones that go on the wire: the trailing
 * Pad1/PadN is elided when it is the only padding at the end, at most 7 bytes long, zero
 * filled, and the options parse exactly to the end.
 */
function optionsBody(buf: Uint8Array, at: number, len: number): number {
  const end = at + len;
  let i = at + 2;
  let last = -1;
  while (i < end) {
    last = i;
    if (buf[i] === Ipv6OptionType.PAD1) {
      i++;
      continue;
    }
    if (i + 2 > end) return len - 2;
    i += 2 + (buf[i + 1] as number);
  }
  if (i !== end || last < 0) return len - 2;
  const t = buf[last];
  if (t === Ipv6OptionType.PADN) for (let j = last + 2; j < end; j++) if (buf[j] !== 0) return len - 2;
  if ((t === Ipv6OptionType.PAD1 || t === Ipv6OptionType.PADN) && end - last <= 7) return last - at - 2;
  return len - 2;
}

/**
 * Whether the extension header of kind `protocol` at `buf[at]` (up to `end`) can be
 * compressed: a known EID other than IPv6, within bounds, its body at most 255 bytes.
 */
export function canCompressExt(protocol: number, buf: Uint8Array, at: number, end: number): boolean {
  const eid = nhcEidOf(protocol);
  if (eid < 0 || eid === NhcEid.IPV6) return false;
  const len = extHeaderLen(protocol, buf, at, end);
  if (len < 0) return false;
  return protocol === Ipv6NextHeader.FRAGMENT || len - 2 <= 255;
}

/**
 * Appends the compressed extension header at `buf[at]` (check `canCompressExt` first) to
 * `out`; `nextCompressed` sets NH (the next header follows as LOWPAN_NHC) instead of
 * carrying the Next Header inline. Returns the header's uncompressed length.
 */
export function compressNhcExt(protocol: number, buf: Uint8Array, at: number, nextCompressed: boolean, out: number[]): number {
  const eid = nhcEidOf(protocol);
  const len = extHeaderLen(protocol, buf, at, buf.length);
  out.push(NHC_EXT_ID | (eid << 1) | (nextCompressed ? NHC_EXT_NH : 0));
  if (!nextCompressed) out.push(buf[at] as number);
  if (protocol === Ipv6NextHeader.FRAGMENT) {
    for (let i = 1; i < IPV6_FRAGMENT_HEADER_LEN; i++) out.push(buf[at + i] as number);
    return len;
  }
  const body = protocol === Ipv6NextHeader.HOP_BY_HOP || protocol === Ipv6NextHeader.DEST_OPTIONS ? optionsBody(buf, at, len) : len - 2;
  out.push(body);
  for (let i = 0; i < body; i++) out.push(buf[at + 2 + i] as number);
  return len;
}

/** A decompressed extension header (its Next Header byte is the chain's to fill when `nextCompressed`). */
export interface NhcExtDecoded {
  readonly protocol: number;
  /** The full header, a multiple of 8 bytes (padding restored). */
  readonly header: Uint8Array;
  readonly nextCompressed: boolean;
  /** Index after the compressed header. */
  readonly next: number;
}

/**
 * Reads the compressed extension header at `buf[at]` (the NHC byte, not EID 7). Faults:
 * reserved EID → `'unsupported'`; inline fields past the buffer → `'truncated'`.
 */
export function decompressNhcExt(buf: Uint8Array, at: number): NhcExtDecoded | WireFault {
  const b = buf[at] as number;
  const protocol = nhcEidProtocol((b >> 1) & 7);
  if (protocol < 0 || protocol === Ipv6NextHeader.IPV6) return 'unsupported';
  const nextCompressed = (b & NHC_EXT_NH) !== 0;
  let i = at + 1;
  let nh = 0;
  if (!nextCompressed) {
    if (i >= buf.length) return 'truncated';
    nh = buf[i++] as number;
  }
  if (protocol === Ipv6NextHeader.FRAGMENT) {
    if (i + 7 > buf.length) return 'truncated';
    const header = new Uint8Array(IPV6_FRAGMENT_HEADER_LEN);
    header[0] = nh;
    header.set(buf.subarray(i, i + 7), 1);
    return { protocol, header, nextCompressed, next: i + 7 };
  }
  if (i >= buf.length) return 'truncated';
  const body = buf[i++] as number;
  if (i + body > buf.length) return 'truncated';
  const total = (2 + body + 7) & ~7;
  const header = new Uint8Array(total);
  header[0] = nh;
  header[1] = total / 8 - 1;
  header.set(buf.subarray(i, i + body), 2);
  const pad = total - 2 - body;
  if (pad > 0 && (protocol === Ipv6NextHeader.HOP_BY_HOP || protocol === Ipv6NextHeader.DEST_OPTIONS)) {
    if (pad === 1) header[2 + body] = Ipv6OptionType.PAD1;
    else {
      header[2 + body] = Ipv6OptionType.PADN;
      header[3 + body] = pad - 2;
    }
  }
  return { protocol, header, nextCompressed, next: i + body };
}
