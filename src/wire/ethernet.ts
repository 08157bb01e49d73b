/**
 * Ethernet II frames (IEEE 802.3 clause 3.2.6 "Length/Type" ≥ 0x0600; RFC 894 for IPv4).
 *
 * Layout: destination MAC (6), source MAC (6), EtherType (2), payload. The frame check
 * sequence is not part of what links hand us. Unknown EtherTypes pass through as numbers,
 * and so do values below 0x0600 (802.3 length fields) — the stack simply has no handler.
 * 802.1Q tags are not decoded: a tagged frame parses with EtherType 0x8100 and the tag at
 * the start of the payload.
 *
 * Aliasing: `parseEthernet` returns `dst`/`src` and `EthernetView` returns payloads as
 * `subarray`s of the frame — they change if the frame's buffer is reused (copy with
 * `slice()` to keep them).
 */
import { rd16, wr16 } from './bytes.ts';
import type { WireFault } from './fault.ts';

/** Destination + source + EtherType. */
export const ETHERNET_HEADER_LEN = 14;
/** Length of a MAC-48 address. */
export const MAC_LEN = 6;
/** Minimum frame without FCS (IEEE 802.3 minFrameSize 64 − 4): shorter frames are padded by senders. */
export const ETHERNET_MIN_FRAME_LEN = 60;

/** Field offsets (IEEE 802.3 §3.1.1; RFC 894). */
const F = { DST: 0, SRC: 6, ETHERTYPE: 12, PAYLOAD: 14 } as const;

/** EtherTypes the stack knows (IANA "IEEE 802 Numbers"). Others pass through as numbers. */
export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPV6: 0x86dd,
} as const;

/** The broadcast address ff:ff:ff:ff:ff:ff. Do not mutate. */
export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Validated meaning of an Ethernet II header. */
export interface EthernetRepr {
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly etherType: number;
}

/** `'truncated'` when the frame is shorter than the 14-byte header; otherwise undefined. */
export function checkEthernet(buf: Uint8Array): WireFault | undefined {
  return buf.length < ETHERNET_HEADER_LEN ? 'truncated' : undefined;
}

/**
 * Zero-copy field access over a frame at `offset`. Call `checkEthernet` first on untrusted
 * bytes; afterwards no getter reads out of range.
 */
export class EthernetView {
  readonly buf: Uint8Array;
  readonly offset: number;
  constructor(buf: Uint8Array, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }
  /** Destination MAC (aliases the frame). */
  get dst(): Uint8Array {
    return this.buf.subarray(this.offset + F.DST, this.offset + F.DST + MAC_LEN);
  }
  /** Source MAC (aliases the frame). */
  get src(): Uint8Array {
    return this.buf.subarray(this.offset + F.SRC, this.offset + F.SRC + MAC_LEN);
  }
  get etherType(): number {
    return rd16(this.buf, this.offset + F.ETHERTYPE);
  }
  set etherType(v: number) {
    wr16(this.buf, this.offset + F.ETHERTYPE, v);
  }
  setDst(mac: Uint8Array): void {
    this.buf.set(mac.subarray(0, MAC_LEN), this.offset + F.DST);
  }
  setSrc(mac: Uint8Array): void {
    this.buf.set(mac.subarray(0, MAC_LEN), this.offset + F.SRC);
  }
  /** Everything after the header (aliases the frame; may include padding). */
  get payload(): Uint8Array {
    return this.buf.subarray(this.offset + F.PAYLOAD);
  }
}

/** Header fields of `buf`, or `'truncated'`. `dst` and `src` alias `buf`. */
export function parseEthernet(buf: Uint8Array): EthernetRepr | WireFault {
  const fault = checkEthernet(buf);
  if (fault !== undefined) return fault;
  return {
    dst: buf.subarray(F.DST, F.DST + MAC_LEN),
    src: buf.subarray(F.SRC, F.SRC + MAC_LEN),
    etherType: rd16(buf, F.ETHERTYPE),
  };
}

/** Payload of a checked frame (aliases `buf`; may include link padding). */
export function ethernetPayload(buf: Uint8Array): Uint8Array {
  return buf.subarray(F.PAYLOAD);
}

/** Always `ETHERNET_HEADER_LEN`; the argument keeps the codec shape uniform. */
export function ethernetHeaderLen(_repr?: EthernetRepr): number {
  return ETHERNET_HEADER_LEN;
}

/**
 * Writes exactly 14 bytes at the start of `out` (pass a `subarray` to write elsewhere). The
 * payload is the caller's (at `out[14]`, before or after). Throws RangeError only on a
 * caller bug: `out` too small or an address that is not 6 bytes.
 */
export function emitEthernet(repr: EthernetRepr, out: Uint8Array): void {
  if (out.length < ETHERNET_HEADER_LEN) throw new RangeError('emitEthernet: buffer too small');
  if (repr.dst.length !== MAC_LEN || repr.src.length !== MAC_LEN) throw new RangeError('emitEthernet: MAC must be 6 bytes');
  out.set(repr.dst, F.DST);
  out.set(repr.src, F.SRC);
  wr16(out, F.ETHERTYPE, repr.etherType);
}

/** True for ff:ff:ff:ff:ff:ff. */
export function isBroadcastMac(mac: Uint8Array): boolean {
  if (mac.length !== MAC_LEN) return false;
  for (let i = 0; i < MAC_LEN; i++) if (mac[i] !== 0xff) return false;
  return true;
}

/** True when the I/G bit (least significant bit of the first octet) is set; broadcast counts as multicast. */
export function isMulticastMac(mac: Uint8Array): boolean {
  return ((mac[0] ?? 0) & 0x01) !== 0;
}

/** True for a unicast address (I/G bit clear). */
export function isUnicastMac(mac: Uint8Array): boolean {
  return mac.length === MAC_LEN && ((mac[0] ?? 0) & 0x01) === 0;
}

/** `aa:bb:cc:dd:ee:ff` (lowercase). For diagnostics — not a hot path. */
export function macToString(mac: Uint8Array): string {
  let s = '';
  for (let i = 0; i < mac.length; i++) {
    if (i > 0) s += ':';
    s += (mac[i] ?? 0).toString(16).padStart(2, '0');
  }
  return s;
}

/**
 * Parses `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff` (one or two hex digits per octet,
 * either case; one separator style throughout). Undefined on anything else.
 */
export function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-fA-F]{1,2})([:-])([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})$/.exec(text);
  if (m === null) return undefined;
  const out = new Uint8Array(MAC_LEN);
  const groups = [m[1], m[3], m[4], m[5], m[6], m[7]];
  for (let i = 0; i < MAC_LEN; i++) out[i] = parseInt(groups[i] ?? '', 16);
  return out;
}
