/**
 * The DNS message codec boundary: `dns-packet` (RFC 1035 messages, Buffer-based) behind
 * functions on `Uint8Array`s that never throw on untrusted bytes.
 *
 * - `decodeDnsMessage` first walks the message's structure itself (`checkDnsStructure`):
 *   every name well-formed (labels <= 63, compression pointers that point backwards
 *   only, as `dns-packet` also enforces, so no loops), every record's RDATA inside the
 *   message, A RDATA exactly 4 and AAAA exactly 16 bytes (`dns-packet` ignores RDLENGTH
 *   for those and would read the wrong bytes). Only then does it call `dns-packet`'s
 *   decoder, inside try/catch. Anything wrong: `undefined` (the caller drops and counts).
 * - `encodeDnsMessage` encodes our own messages; names must have been validated
 *   (`dns-name.ts`): `dns-packet` writes over-long labels without complaint.
 *
 * This file is the one place in `src/backends/dns/` that touches `Buffer` (the codec's
 * type), imported from `node:buffer`: the Node boundary for DNS messages.
 */
import { Buffer } from 'node:buffer';
import dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet } from 'dns-packet';

export type { Answer, DecodedPacket, Packet, Question, RecordType, StringAnswer } from 'dns-packet';

/** Fixed DNS header size. */
export const DNS_HEADER_BYTES = 12;
/** Largest DNS message (TCP length prefix, UDP datagram). */
export const DNS_MAX_MESSAGE = 65_535;
/** Largest UDP message without EDNS(0) (RFC 1035 §4.2.1). */
export const DNS_UDP_CLASSIC = 512;
/** Standard DNS port. */
export const DNS_PORT = 53;

/** RCODE values (RFC 1035 §4.1.1). */
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;

/** Header flag bits (of the 16-bit flags word, QR included). */
export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;

/** Record type numbers this project looks at. */
export const TYPE_A = 1;
export const TYPE_NS = 2;
export const TYPE_CNAME = 5;
export const TYPE_SOA = 6;
export const TYPE_TXT = 16;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const CLASS_IN = 1;

/** The RCODE of a decoded message (low 4 bits of the flags; extended RCODEs are not used). */
export function rcodeOf(message: Packet): number {
  return (message.flags ?? 0) & 0xf;
}

/** The OPCODE of a decoded message (0 = QUERY). */
export function opcodeOf(message: Packet): number {
  return ((message.flags ?? 0) >> 11) & 0xf;
}

/** The 16-bit id of a raw message, or undefined if it is shorter than a header. */
export function peekId(bytes: Uint8Array): number | undefined {
  if (bytes.length < DNS_HEADER_BYTES) return undefined;
  return ((bytes[0] as number) << 8) | (bytes[1] as number);
}

/** The raw flags word (QR included), or undefined if shorter than a header. */
export function peekFlags(bytes: Uint8Array): number | undefined {
  if (bytes.length < DNS_HEADER_BYTES) return undefined;
  return ((bytes[2] as number) << 8) | (bytes[3] as number);
}

function u16(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number);
}

/** Offset just past the (possibly compressed) name at `o`, or -1 if malformed. */
function skipName(b: Uint8Array, o: number): number {
  let wire = 0;
  for (;;) {
    if (o >= b.length) return -1;
    const len = b[o] as number;
    if (len === 0) return o + 1;
    const top = len & 0xc0;
    if (top === 0xc0) {
      if (o + 1 >= b.length) return -1;
      const target = ((len & 0x3f) << 8) | (b[o + 1] as number);
      return target < o ? o + 2 : -1; // pointers go backwards only (no loops)
    }
    if (top !== 0) return -1; // 0x40/0x80: obsolete or reserved label types
    wire += len + 1;
    if (wire > 255) return -1;
    o += 1 + len;
  }
}

/**
 * Walks a raw message: header, questions and every resource record must lie inside
 * `bytes`, names well-formed, A/AAAA RDATA of the right size. True if sound.
 */
export function checkDnsStructure(b: Uint8Array): boolean {
  if (b.length < DNS_HEADER_BYTES || b.length > DNS_MAX_MESSAGE) return false;
  const qd = u16(b, 4);
  const rr = u16(b, 6) + u16(b, 8) + u16(b, 10);
  let o = DNS_HEADER_BYTES;
  for (let i = 0; i < qd; i++) {
    o = skipName(b, o);
    if (o < 0 || o + 4 > b.length) return false;
    o += 4;
  }
  for (let i = 0; i < rr; i++) {
    o = skipName(b, o);
    if (o < 0 || o + 10 > b.length) return false;
    const type = u16(b, o);
    const rdlength = u16(b, o + 8);
    o += 10;
    if (o + rdlength > b.length) return false;
    if (type === TYPE_A && rdlength !== 4) return false;
    if (type === TYPE_AAAA && rdlength !== 16) return false;
    o += rdlength;
  }
  return true;
}

/** Decodes an untrusted message: the decoded packet, or undefined if malformed (never throws). */
export function decodeDnsMessage(bytes: Uint8Array): DecodedPacket | undefined {
  if (!checkDnsStructure(bytes)) return undefined;
  try {
    return dnsPacket.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    return undefined;
  }
}

/**
 * Encodes one of our own messages; undefined if the codec refuses it (a bug or a
 * record value the codec cannot represent: the caller answers SERVFAIL or gives up).
 */
export function encodeDnsMessage(packet: Packet): Uint8Array | undefined {
  try {
    const buf = dnsPacket.encode(packet);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch {
    return undefined;
  }
}

/** The flags word `dns-packet` expects for `encode` (QR is set from `type`). */
export function dnsFlags(parts: { aa?: boolean; tc?: boolean; rd?: boolean; ra?: boolean; rcode?: number; opcode?: number }): number {
  return (
    ((parts.opcode ?? 0) & 0xf) << 11 |
    (parts.aa === true ? FLAG_AA : 0) |
    (parts.tc === true ? FLAG_TC : 0) |
    (parts.rd === true ? FLAG_RD : 0) |
    (parts.ra === true ? FLAG_RA : 0) |
    ((parts.rcode ?? 0) & 0xf)
  );
}

/**
 * A TTL as RFC 2181 §8 reads it: values with the top bit set are 0. `undefined` is 0.
 */
export function ttlOf(ttl: number | undefined): number {
  if (ttl === undefined || !Number.isFinite(ttl) || ttl < 0 || ttl > 0x7fff_ffff) return 0;
  return Math.floor(ttl);
}
