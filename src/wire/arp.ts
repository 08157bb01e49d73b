/**
 * ARP (RFC 826) for Ethernet and IPv4 only: hardware type 1, protocol type 0x0800,
 * hardware length 6, protocol length 4. Any other combination is `'unsupported'`.
 *
 * Operations: 1 request and 2 reply are the ones the stack acts on (`ArpOp`); any other
 * op (RARP 3/4, InARP 8/9, …) has the same layout and **passes through** as a number in
 * `ArpRepr.op` — the stack decides to ignore it. Trailing bytes (Ethernet padding to 60
 * bytes) are ignored.
 *
 * Aliasing: addresses in a parsed Repr and from `ArpView` are `subarray`s of the packet.
 */
import { rd16, rd8, wr16, wr8 } from './bytes.ts';
import { EtherType } from './ethernet.ts';
import type { WireFault } from './fault.ts';

/** The fixed part: htype, ptype, hlen, plen, op. */
export const ARP_FIXED_LEN = 8;
/** Full Ethernet/IPv4 ARP packet: 8 + 2 × (6 + 4). */
export const ARP_HEADER_LEN = 28;

/** RFC 826 "Packet format" field offsets (Ethernet/IPv4 sizes). */
const F = {
  HTYPE: 0, // ar$hrd
  PTYPE: 2, // ar$pro
  HLEN: 4, // ar$hln
  PLEN: 5, // ar$pln
  OP: 6, // ar$op
  SHA: 8, // ar$sha (6)
  SPA: 14, // ar$spa (4)
  THA: 18, // ar$tha (6)
  TPA: 24, // ar$tpa (4)
} as const;

/** RFC 826 hardware type for Ethernet (IANA "Hardware Types" 1). */
export const ARP_HTYPE_ETHERNET = 1;

/** RFC 826 opcodes (IANA "Operation Codes"). Others pass through as numbers. */
export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;

/** Validated meaning of an Ethernet/IPv4 ARP packet. */
export interface ArpRepr {
  /** 1 request, 2 reply; other values pass through. */
  readonly op: number;
  readonly senderMac: Uint8Array;
  readonly senderIp: Uint8Array;
  readonly targetMac: Uint8Array;
  readonly targetIp: Uint8Array;
}

/**
 * Structure check: `'truncated'` below 8 bytes or below 28 for an Ethernet/IPv4 packet,
 * `'unsupported'` for other hardware/protocol types or address lengths.
 */
export function checkArp(buf: Uint8Array): WireFault | undefined {
  if (buf.length < ARP_FIXED_LEN) return 'truncated';
  if (
    rd16(buf, F.HTYPE) !== ARP_HTYPE_ETHERNET ||
    rd16(buf, F.PTYPE) !== EtherType.IPV4 ||
    rd8(buf, F.HLEN) !== 6 ||
    rd8(buf, F.PLEN) !== 4
  ) {
    return 'unsupported';
  }
  if (buf.length < ARP_HEADER_LEN) return 'truncated';
  return undefined;
}

/** Zero-copy access over an ARP packet at `offset`; call `checkArp` first on untrusted bytes. */
export class ArpView {
  readonly buf: Uint8Array;
  readonly offset: number;
  constructor(buf: Uint8Array, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }
  get htype(): number {
    return rd16(this.buf, this.offset + F.HTYPE);
  }
  get ptype(): number {
    return rd16(this.buf, this.offset + F.PTYPE);
  }
  get hlen(): number {
    return rd8(this.buf, this.offset + F.HLEN);
  }
  get plen(): number {
    return rd8(this.buf, this.offset + F.PLEN);
  }
  get op(): number {
    return rd16(this.buf, this.offset + F.OP);
  }
  set op(v: number) {
    wr16(this.buf, this.offset + F.OP, v);
  }
  get senderMac(): Uint8Array {
    return this.buf.subarray(this.offset + F.SHA, this.offset + F.SHA + 6);
  }
  get senderIp(): Uint8Array {
    return this.buf.subarray(this.offset + F.SPA, this.offset + F.SPA + 4);
  }
  get targetMac(): Uint8Array {
    return this.buf.subarray(this.offset + F.THA, this.offset + F.THA + 6);
  }
  get targetIp(): Uint8Array {
    return this.buf.subarray(this.offset + F.TPA, this.offset + F.TPA + 4);
  }
}

/** Parses an Ethernet/IPv4 ARP packet; addresses alias `buf`. */
export function parseArp(buf: Uint8Array): ArpRepr | WireFault {
  const fault = checkArp(buf);
  if (fault !== undefined) return fault;
  return {
    op: rd16(buf, F.OP),
    senderMac: buf.subarray(F.SHA, F.SHA + 6),
    senderIp: buf.subarray(F.SPA, F.SPA + 4),
    targetMac: buf.subarray(F.THA, F.THA + 6),
    targetIp: buf.subarray(F.TPA, F.TPA + 4),
  };
}

/** Always `ARP_HEADER_LEN` (28). */
export function arpHeaderLen(_repr?: ArpRepr): number {
  return ARP_HEADER_LEN;
}

/**
 * Writes exactly 28 bytes at the start of `out` (no Ethernet padding: the link pads).
 * Throws RangeError only on a caller bug: `out` shorter than 28 or an address of the
 * wrong length.
 */
export function emitArp(repr: ArpRepr, out: Uint8Array): void {
  if (out.length < ARP_HEADER_LEN) throw new RangeError('emitArp: buffer too small');
  if (repr.senderMac.length !== 6 || repr.targetMac.length !== 6 || repr.senderIp.length !== 4 || repr.targetIp.length !== 4) {
    throw new RangeError('emitArp: address of the wrong length');
  }
  wr16(out, F.HTYPE, ARP_HTYPE_ETHERNET);
  wr16(out, F.PTYPE, EtherType.IPV4);
  wr8(out, F.HLEN, 6);
  wr8(out, F.PLEN, 4);
  wr16(out, F.OP, repr.op);
  out.set(repr.senderMac, F.SHA);
  out.set(repr.senderIp, F.SPA);
  out.set(repr.targetMac, F.THA);
  out.set(repr.targetIp, F.TPA);
}
