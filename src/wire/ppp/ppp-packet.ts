/**
 * PPP packets without their HDLC-like framing (RFC 1661 §2, RFC 1662 §3): the frame header
 * (Address 0xFF, Control 0x03, Protocol), and the packet format shared by the control protocols
 * LCP, IPCP and IPV6CP (RFC 1661 §5: Code, Identifier, Length, Data) with their
 * type-length-value options (§6). Pure codecs: parsing never throws, a bad packet is a `WireFault`.
 *
 * Frame header compression: with ACFC (Address-and-Control-Field-Compression) the `FF 03` is
 * left out; with PFC (Protocol-Field-Compression) a protocol below 0x100 is sent in one byte.
 * Whatever was negotiated, the parser accepts both forms (RFC 1661 §6.5, §6.6: "implementations
 * SHOULD accept" both), and tells compressed protocols apart by the low bit of the first byte
 * (protocol numbers are odd in the low byte and even in the high byte).
 */
import { rd16, wr16 } from '../bytes.ts';
import type { WireFault } from '../fault.ts';

/** PPP protocol numbers (RFC 1661 §2, IANA "PPP DLL Protocol Numbers"). */
export const PppProtocol = {
  IPV4: 0x0021,
  /** Van Jacobson compressed TCP/IP (RFC 1144): not supported, rejected. */
  VJ_COMPRESSED: 0x002d,
  VJ_UNCOMPRESSED: 0x002f,
  IPV6: 0x0057,
  IPCP: 0x8021,
  IPV6CP: 0x8057,
  /** Compression Control Protocol (RFC 1962): not supported, rejected. */
  CCP: 0x80fd,
  LCP: 0xc021,
  PAP: 0xc023,
  /** Link Quality Report (RFC 1989): not supported. */
  LQR: 0xc025,
  CHAP: 0xc223,
} as const;

/** Control protocol codes (RFC 1661 §5; 8–11 are LCP only). */
export const CpCode = {
  CONFIGURE_REQUEST: 1,
  CONFIGURE_ACK: 2,
  CONFIGURE_NAK: 3,
  CONFIGURE_REJECT: 4,
  TERMINATE_REQUEST: 5,
  TERMINATE_ACK: 6,
  CODE_REJECT: 7,
  PROTOCOL_REJECT: 8,
  ECHO_REQUEST: 9,
  ECHO_REPLY: 10,
  DISCARD_REQUEST: 11,
} as const;

/** Header of a control packet: Code, Identifier, Length (2 bytes). */
export const CP_HEADER_LEN = 4;

/** A PPP frame's protocol and information field (a view into the frame). */
export interface PppFrame {
  readonly protocol: number;
  readonly info: Uint8Array;
  /** The frame carried `FF 03` (no ACFC). */
  readonly addressControl: boolean;
}

/**
 * Splits a de-framed PPP frame (HDLC framing and FCS already removed) into protocol and
 * information. `malformed` for an Address/Control other than `FF 03`, or an invalid protocol
 * field (RFC 1661 §2: the least significant bit of the least significant octet is 1, of the
 * most significant octet 0).
 */
export function parsePppFrame(frame: Uint8Array): PppFrame | WireFault {
  let off = 0;
  let addressControl = false;
  if (frame.length >= 2 && frame[0] === 0xff) {
    if (frame[1] !== 0x03) return 'malformed';
    off = 2;
    addressControl = true;
  }
  if (frame.length < off + 1) return 'truncated';
  const first = frame[off] as number;
  let protocol: number;
  if ((first & 1) === 1) {
    protocol = first; // compressed: one byte
    off += 1;
  } else {
    if (frame.length < off + 2) return 'truncated';
    protocol = rd16(frame, off);
    if ((protocol & 0x0001) === 0) return 'malformed';
    off += 2;
  }
  return { protocol, info: frame.subarray(off), addressControl };
}

/** Header bytes `writePppHeader` writes: 4, less 2 with ACFC, less 1 with PFC on a small protocol. */
export function pppHeaderLen(protocol: number, acfc: boolean, pfc: boolean): number {
  return (acfc ? 0 : 2) + (pfc && protocol < 0x100 ? 1 : 2);
}

/** Writes the frame header at `off`; returns its length. */
export function writePppHeader(buf: Uint8Array, off: number, protocol: number, acfc: boolean, pfc: boolean): number {
  let o = off;
  if (!acfc) {
    buf[o++] = 0xff;
    buf[o++] = 0x03;
  }
  if (pfc && protocol < 0x100) buf[o++] = protocol;
  else {
    wr16(buf, o, protocol);
    o += 2;
  }
  return o - off;
}

/** A control packet (LCP, IPCP, IPV6CP, and the same layout for PAP and CHAP). */
export interface CpPacket {
  readonly code: number;
  readonly id: number;
  /** The Data field, exactly Length − 4 bytes (padding after Length is dropped, §5). */
  readonly data: Uint8Array;
}

/** Parses a control packet; `bad-length` when Length is below 4 or beyond the information field. */
export function parseCpPacket(info: Uint8Array): CpPacket | WireFault {
  if (info.length < CP_HEADER_LEN) return 'truncated';
  const length = rd16(info, 2);
  if (length < CP_HEADER_LEN || length > info.length) return 'bad-length';
  return { code: info[0] as number, id: info[1] as number, data: info.subarray(CP_HEADER_LEN, length) };
}

/** Builds a control packet (header + data) into a new array. */
export function buildCpPacket(code: number, id: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(CP_HEADER_LEN + data.length);
  out[0] = code;
  out[1] = id & 0xff;
  wr16(out, 2, out.length);
  out.set(data, CP_HEADER_LEN);
  return out;
}

/** One configuration option: Type and the value (Length − 2 bytes). */
export interface CpOption {
  readonly type: number;
  readonly data: Uint8Array;
}

/** Parses a Configure-Request/Ack/Nak/Reject's option list; `malformed` when an option's Length is below 2 or overruns. */
export function parseCpOptions(data: Uint8Array): CpOption[] | WireFault {
  const out: CpOption[] = [];
  let off = 0;
  while (off < data.length) {
    if (off + 2 > data.length) return 'malformed';
    const len = data[off + 1] as number;
    if (len < 2 || off + len > data.length) return 'malformed';
    out.push({ type: data[off] as number, data: data.subarray(off + 2, off + len) });
    off += len;
  }
  return out;
}

/** Serialises options in order; RangeError for a value longer than 253 bytes (the caller's bug). */
export function buildCpOptions(options: readonly CpOption[]): Uint8Array {
  let len = 0;
  for (const o of options) {
    if (o.data.length > 253) throw new RangeError(`PPP option ${o.type}: value of ${o.data.length} bytes`);
    len += 2 + o.data.length;
  }
  const out = new Uint8Array(len);
  let off = 0;
  for (const o of options) {
    out[off] = o.type;
    out[off + 1] = 2 + o.data.length;
    out.set(o.data, off + 2);
    off += 2 + o.data.length;
  }
  return out;
}

/** An option whose value is a big-endian unsigned integer of `bytes` bytes (1–4). */
export function uintOption(type: number, value: number, bytes: 1 | 2 | 4): CpOption {
  const data = new Uint8Array(bytes);
  for (let i = bytes - 1, v = value >>> 0; i >= 0; i--, v = Math.floor(v / 256)) data[i] = v & 0xff;
  return { type, data };
}

/** The big-endian value of an option of exactly `bytes` bytes, or undefined when the length differs. */
export function optionUint(o: CpOption, bytes: 1 | 2 | 4): number | undefined {
  if (o.data.length !== bytes) return undefined;
  let v = 0;
  for (let i = 0; i < bytes; i++) v = v * 256 + (o.data[i] as number);
  return v;
}

/** LCP option types (RFC 1661 §6, RFC 1570). */
export const LcpOption = {
  MRU: 1,
  ACCM: 2,
  AUTH_PROTOCOL: 3,
  QUALITY_PROTOCOL: 4,
  MAGIC_NUMBER: 5,
  PFC: 7,
  ACFC: 8,
  /** FCS-Alternatives (RFC 1570). */
  FCS_ALTERNATIVES: 9,
  CALLBACK: 13,
} as const;

/** IPCP option types (RFC 1332, RFC 1877). */
export const IpcpOption = {
  IP_ADDRESSES: 1,
  IP_COMPRESSION: 2,
  IP_ADDRESS: 3,
  PRIMARY_DNS: 129,
  PRIMARY_NBNS: 130,
  SECONDARY_DNS: 131,
  SECONDARY_NBNS: 132,
} as const;

/** IPV6CP option types (RFC 5072). */
export const Ipv6cpOption = {
  INTERFACE_IDENTIFIER: 1,
  IPV6_COMPRESSION: 2,
} as const;

/** CHAP algorithm number of MD5 (RFC 1994 §3; LCP Authentication-Protocol value `C2 23 05`). */
export const CHAP_MD5 = 5;
