/**
 * IEEE 802.15.4 MAC frames: beacon, data, acknowledgment and MAC command frames of frame
 * versions 2003 (0), 2006 (1) and 2015 (2) (IEEE 802.15.4-2006 §7.2, IEEE 802.15.4-2015 §7.2-7.4).
 *
 * Layout (all multi-byte fields little-endian on air): Frame Control (2), Sequence Number (1,
 * absent when suppressed, 2015), Destination PAN (0/2), Destination Address (0/2/8), Source PAN
 * (0/2), Source Address (0/2/8), Auxiliary Security Header (0/5-14), Header IEs (2015), then the
 * MAC payload (payload IEs, beacon fields or command id, payload), then the FCS (2).
 *
 * - PAN ID presence: frame versions 0 and 1 follow 2006 §7.2.1.1.5 (with both addresses present,
 *   PAN ID Compression elides the source PAN, which then equals the destination PAN; with one
 *   address or none the bit must be 0, else `'malformed'`); frame version 2 follows
 *   IEEE 802.15.4-2015 Table 7-2 (see `macPanPresence`). When the source PAN is elided but
 *   equal to the destination PAN, `parseMacFrame` reports it in `src.pan` (the effective PAN);
 *   `buildMacFrame` accepts `src.pan` undefined or equal to `dst.pan` there.
 * - Addresses: `{ mode: 'short', value }` (16 bits) or `{ mode: 'extended', value }` with the
 *   8 bytes in the usual big-endian EUI-64 order (as Wireshark prints them, as 6LoWPAN derives
 *   interface identifiers from them); the codec reverses them on the wire, where they travel
 *   least significant byte first. Parsed extended addresses are fresh copies.
 * - Security: the Auxiliary Security Header is parsed and rebuilt (security level, key
 *   identifier mode, 2015 frame counter suppression and ASN-in-nonce bits, frame counter, key
 *   source as on the wire, key index). Security processing (CCM* encryption, authentication) is
 *   NOT done: a secured frame's `payload` is everything after the clear fields, i.e. the
 *   (possibly encrypted) private payload followed by the MIC (`macMicLength(level)` bytes).
 *   For frame versions 0/1 the beacon fields and the command id are the open payload and are
 *   parsed in the clear (2006 §7.6.2.5); in a secured 2015 frame everything after the header
 *   IEs is opaque (payload IEs and the command id are private, as Wireshark dissects it), so
 *   `commandId` and `payloadIes` stay undefined. A secured frame shorter than its MIC (plus the
 *   command id of a 2015 command frame) is `'truncated'`. 2003 security (frame version 0,
 *   another format) is `'unsupported'`.
 * - Information Elements (2015): header IEs are parsed as a list (terminators HT1 0x7e / HT2
 *   0x7f are kept as ordinary elements, so frames rebuild byte-exact); after HT1 in an unsecured
 *   frame the payload IEs are parsed as a list too, up to the Payload Termination IE (group
 *   0xf, kept) or the end. IE contents are not interpreted. IE Present without any header IE,
 *   or HT1 without any payload IE, is `'malformed'`.
 * - Beacons: 2003/2006 beacons carry the superframe specification, GTS fields and pending
 *   addresses, parsed into `beacon` (reserved bits there are ignored). A 2015 beacon is an
 *   Enhanced Beacon: no such fields (`beacon` undefined), only IEs and the beacon payload.
 * - FCS: CRC-16/KERMIT (ITU-T polynomial x^16+x^12+x^5+1 reflected, register 0, no final XOR),
 *   sent least significant byte first (2006 §7.2.1.9). The 4-byte FCS of some 2015 PHYs is not
 *   supported.
 * - Strictness: frame types 4-7 (reserved, multipurpose, fragment, extended) and frame version 3
 *   are `'unsupported'`; addressing mode 1, reserved Frame Control bit 7, the 2015-only bits
 *   (sequence number suppression, IE present, security control bits 5-6) set in an older frame
 *   version, and reserved security-control bit 7 are `'malformed'`. Frames longer than
 *   `MAX_PHY_PACKET` parse (some PHYs carry more); budgeting is the caller's business
 *   (`macFrameOverhead`).
 *
 * Parsing never throws on input; building throws RangeError only on a caller bug (a value out
 * of range, a repr that no frame can carry). Payload, IE contents and key source alias the
 * input of `parseMacFrame` (copy with `slice()` to keep them).
 */
import type { WireFault } from './fault.ts';
import { fcs16 } from './ppp/fcs.ts';

/** aMaxPHYPacketSize: the largest PSDU (MAC frame with FCS) of the 2.4 GHz O-QPSK PHY. */
export const MAX_PHY_PACKET = 127;
/** Bytes of the FCS. */
export const MAC_FCS_LEN = 2;
/** Bytes of an extended (EUI-64) address. */
export const MAC_EXT_ADDR_LEN = 8;
/** Short address 0xffff: broadcast; also the broadcast PAN ID. */
export const MAC_BROADCAST = 0xffff;
/** Header IE element ids of the header termination IEs (2015 §7.4.2.18-19). */
export const MAC_HT1 = 0x7e;
export const MAC_HT2 = 0x7f;
/** Payload IE group id of the payload termination IE (2015 §7.4.3.3). */
export const MAC_PAYLOAD_TERMINATION = 0xf;

/** The four frame types this codec handles (Frame Type values 0-3). */
export type MacFrameType = 'beacon' | 'data' | 'ack' | 'command';
const FRAME_TYPES: readonly MacFrameType[] = ['beacon', 'data', 'ack', 'command'];

/** Frame Version: 0 = IEEE 802.15.4-2003, 1 = 2006, 2 = 2015. */
export type MacFrameVersion = 0 | 1 | 2;

/** A MAC address; extended addresses in big-endian EUI-64 order (reversed on the wire). */
export type MacAddress = { readonly mode: 'short'; readonly value: number } | { readonly mode: 'extended'; readonly value: Uint8Array };

/** One end of a frame: its PAN ID (when carried or implied) and address (when present). */
export interface MacEndpoint {
  readonly pan: number | undefined;
  readonly addr: MacAddress | undefined;
}

/** The Auxiliary Security Header (2006 §7.6.2, 2015 §9.4). */
export interface MacSecurity {
  /** Security level 0-7 (4-7 encrypt; level & 3 gives the MIC size). */
  readonly level: number;
  /** Key identifier mode 0-3: no key id, index, 4-byte source + index, 8-byte source + index. */
  readonly keyIdMode: 0 | 1 | 2 | 3;
  /** 2015: the frame counter is not carried. */
  readonly frameCounterSuppressed: boolean;
  /** 2015 (TSCH): the ASN, not the frame counter, goes into the nonce. */
  readonly asnInNonce: boolean;
  /** Frame counter (32 bits), undefined when suppressed. */
  readonly frameCounter: number | undefined;
  /** Key source, 4 bytes (mode 2) or 8 (mode 3), in wire order; undefined in modes 0-1. */
  readonly keySource: Uint8Array | undefined;
  /** Key index (modes 1-3). */
  readonly keyIndex: number | undefined;
}

/** A header IE (2015 §7.4.2): element id (8 bits) and content (up to 127 bytes). */
export interface MacHeaderIe {
  readonly id: number;
  readonly content: Uint8Array;
}

/** A payload IE (2015 §7.4.3): group id (4 bits) and content (up to 2047 bytes). */
export interface MacPayloadIe {
  readonly groupId: number;
  readonly content: Uint8Array;
}

/** Superframe Specification (2006 §7.2.2.1.2). */
export interface MacSuperframeSpec {
  readonly beaconOrder: number;
  readonly superframeOrder: number;
  readonly finalCapSlot: number;
  readonly batteryLifeExtension: boolean;
  readonly panCoordinator: boolean;
  readonly associationPermit: boolean;
}

/** One GTS descriptor (2006 §7.2.2.1.6). */
export interface MacGtsDescriptor {
  readonly shortAddr: number;
  readonly startSlot: number;
  readonly length: number;
}

/** The fields of a 2003/2006 beacon before its payload. */
export interface MacBeaconFields {
  readonly superframe: MacSuperframeSpec;
  readonly gtsPermit: boolean;
  /** GTS Directions mask (bit i: descriptor i is a receive GTS); 0 when there are no descriptors. */
  readonly gtsDirections: number;
  /** Up to 7 descriptors. */
  readonly gts: readonly MacGtsDescriptor[];
  /** Up to 7 short addresses with pending data. */
  readonly pendingShort: readonly number[];
  /** Up to 7 extended addresses (EUI-64 order) with pending data. */
  readonly pendingExtended: readonly Uint8Array[];
}

/** A MAC frame. */
export interface MacFrame {
  readonly type: MacFrameType;
  readonly version: MacFrameVersion;
  readonly framePending: boolean;
  readonly ackRequest: boolean;
  readonly panIdCompression: boolean;
  /** Sequence number; undefined when suppressed (2015 only). */
  readonly seq: number | undefined;
  readonly dst: MacEndpoint;
  readonly src: MacEndpoint;
  /** Auxiliary security header; undefined when Security Enabled is 0. */
  readonly security: MacSecurity | undefined;
  /** Header IEs (2015); undefined when IE Present is 0. */
  readonly headerIes: readonly MacHeaderIe[] | undefined;
  /** Payload IEs: only after HT1 in an unsecured 2015 frame. */
  readonly payloadIes: readonly MacPayloadIe[] | undefined;
  /** Beacon fields of a 2003/2006 beacon. */
  readonly beacon: MacBeaconFields | undefined;
  /** Command Frame Identifier of a command frame (undefined only in a secured 2015 frame, see above). */
  readonly commandId: number | undefined;
  /** The rest: data, beacon or command payload (for secured frames: private payload + MIC). */
  readonly payload: Uint8Array;
}

/** Parse/build options. */
export interface MacFcsOptions {
  /** The frame ends with (parse: verify and strip; build: append) the 2-byte FCS. */
  readonly fcs: boolean;
}

/** MAC command frame identifiers (2006 Table 82, 2015 Table 7-49 first entries). */
export const MacCommand = {
  ASSOCIATION_REQUEST: 0x01,
  ASSOCIATION_RESPONSE: 0x02,
  DISASSOCIATION_NOTIFICATION: 0x03,
  DATA_REQUEST: 0x04,
  PAN_ID_CONFLICT_NOTIFICATION: 0x05,
  ORPHAN_NOTIFICATION: 0x06,
  BEACON_REQUEST: 0x07,
  COORDINATOR_REALIGNMENT: 0x08,
  GTS_REQUEST: 0x09,
} as const;

/** CRC-16/KERMIT of `data[start..end)`: the FCS value (send LSB first). "123456789" gives 0x2189. */
export function macFcs(data: Uint8Array, start = 0, end = data.length): number {
  return fcs16(data, start, end, 0);
}

/** True when `frame` (at least 2 bytes) ends with its correct FCS. */
export function macFcsValid(frame: Uint8Array): boolean {
  return frame.length >= MAC_FCS_LEN && fcs16(frame, 0, frame.length, 0) === 0;
}

/** MIC bytes of a security level: 0, 4, 8 or 16. */
export function macMicLength(level: number): number {
  return (level & 3) === 0 ? 0 : 2 << (level & 3);
}

/** A secured payload holds the MIC, and in a 2015 command frame the private command id too. */
function securedMinPayload(type: MacFrameType, version: MacFrameVersion, s: MacSecurity): number {
  return macMicLength(s.level) + (type === 'command' && version === 2 ? 1 : 0);
}

/** Which PAN IDs a frame carries, and whether an absent source PAN equals the destination PAN. */
export interface MacPanPresence {
  readonly dstPan: boolean;
  readonly srcPan: boolean;
  readonly srcPanIsDstPan: boolean;
}

type ModeName = 'none' | 'short' | 'extended';

/**
 * PAN ID presence for a frame version, addressing modes and PAN ID Compression bit: 2006
 * §7.2.1.1.5 for versions 0/1, 2015 Table 7-2 for version 2. Undefined when the combination is
 * invalid (compression with fewer than two addresses before 2015).
 */
export function macPanPresence(version: MacFrameVersion, dst: ModeName, src: ModeName, panIdCompression: boolean): MacPanPresence | undefined {
  let d: boolean;
  let s: boolean;
  if (version < 2) {
    if (dst !== 'none' && src !== 'none') [d, s] = [true, !panIdCompression];
    else if (panIdCompression) return undefined;
    else [d, s] = [dst !== 'none', src !== 'none'];
  } else if (dst === 'none' && src === 'none') [d, s] = [panIdCompression, false];
  else if (src === 'none') [d, s] = [!panIdCompression, false];
  else if (dst === 'none') [d, s] = [false, !panIdCompression];
  else if (dst === 'extended' && src === 'extended') [d, s] = [!panIdCompression, false];
  else [d, s] = [true, !panIdCompression];
  return { dstPan: d, srcPan: s, srcPanIsDstPan: src !== 'none' && d && !s };
}

const MODE_BY_BITS: readonly (ModeName | undefined)[] = ['none', undefined, 'short', 'extended'];
const KEY_ID_LEN = [0, 1, 5, 9] as const;

function addrLen(a: MacAddress | undefined): number {
  return a === undefined ? 0 : a.mode === 'short' ? 2 : MAC_EXT_ADDR_LEN;
}

function modeOf(a: MacAddress | undefined): ModeName {
  return a === undefined ? 'none' : a.mode;
}

/** A bounds-checked little-endian reader: reads past `end` yield 0 and set `short`. */
class Reader {
  pos: number;
  short = false;
  constructor(
    readonly buf: Uint8Array,
    pos: number,
    readonly end: number,
  ) {
    this.pos = pos;
  }
  get left(): number {
    return this.end - this.pos;
  }
  take(n: number): Uint8Array {
    if (n > this.left) {
      this.short = true;
      this.pos = this.end;
      return this.buf.subarray(this.end, this.end);
    }
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }
  u8(): number {
    return this.take(1)[0] ?? 0;
  }
  u16(): number {
    const b = this.take(2);
    return (b[0] ?? 0) | ((b[1] ?? 0) << 8);
  }
  u32(): number {
    const b = this.take(4);
    return ((b[0] ?? 0) | ((b[1] ?? 0) << 8) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 24)) >>> 0;
  }
  ext(): Uint8Array {
    return this.take(MAC_EXT_ADDR_LEN).slice().reverse();
  }
  addr(mode: ModeName): MacAddress | undefined {
    if (mode === 'none') return undefined;
    return mode === 'short' ? { mode, value: this.u16() } : { mode, value: this.ext() };
  }
}

function parseSecurity(r: Reader, version: MacFrameVersion): MacSecurity | WireFault {
  if (version === 0) return 'unsupported';
  const sc = r.u8();
  if (r.short) return 'truncated';
  if ((sc & 0x80) !== 0 || (version < 2 && (sc & 0x60) !== 0)) return 'malformed';
  const keyIdMode = ((sc >> 3) & 3) as 0 | 1 | 2 | 3;
  const frameCounterSuppressed = (sc & 0x20) !== 0;
  const frameCounter = frameCounterSuppressed ? undefined : r.u32();
  const keySource = keyIdMode >= 2 ? r.take(keyIdMode === 2 ? 4 : 8) : undefined;
  const keyIndex = keyIdMode >= 1 ? r.u8() : undefined;
  if (r.short) return 'truncated';
  return { level: sc & 7, keyIdMode, frameCounterSuppressed, asnInNonce: (sc & 0x40) !== 0, frameCounter, keySource, keyIndex };
}

function parseHeaderIes(r: Reader): { ies: MacHeaderIe[]; ht1: boolean } | WireFault {
  const ies: MacHeaderIe[] = [];
  if (r.left === 0) return 'malformed'; // IE Present without an IE
  while (r.left > 0) {
    const d = r.u16();
    if (r.short) return 'truncated';
    if ((d & 0x8000) !== 0) return 'malformed';
    const id = (d >> 7) & 0xff;
    const content = r.take(d & 0x7f);
    if (r.short) return 'truncated';
    ies.push({ id, content });
    if (id === MAC_HT1 || id === MAC_HT2) return { ies, ht1: id === MAC_HT1 };
  }
  return { ies, ht1: false };
}

function parsePayloadIes(r: Reader): MacPayloadIe[] | WireFault {
  const ies: MacPayloadIe[] = [];
  if (r.left === 0) return 'malformed'; // HT1 without a payload IE
  while (r.left > 0) {
    const d = r.u16();
    if (r.short) return 'truncated';
    if ((d & 0x8000) === 0) return 'malformed';
    const groupId = (d >> 11) & 0xf;
    const content = r.take(d & 0x7ff);
    if (r.short) return 'truncated';
    ies.push({ groupId, content });
    if (groupId === MAC_PAYLOAD_TERMINATION) break;
  }
  return ies;
}

function parseBeacon(r: Reader): MacBeaconFields | WireFault {
  const sf = r.u16();
  const gtsSpec = r.u8();
  const count = gtsSpec & 7;
  const gtsDirections = count > 0 ? r.u8() & 0x7f : 0;
  const gts: MacGtsDescriptor[] = [];
  for (let i = 0; i < count; i++) {
    const shortAddr = r.u16();
    const b = r.u8();
    gts.push({ shortAddr, startSlot: b & 0xf, length: b >> 4 });
  }
  const pend = r.u8();
  const pendingShort: number[] = [];
  const pendingExtended: Uint8Array[] = [];
  for (let i = 0; i < (pend & 7); i++) pendingShort.push(r.u16());
  for (let i = 0; i < ((pend >> 4) & 7); i++) pendingExtended.push(r.ext());
  if (r.short) return 'truncated';
  const superframe: MacSuperframeSpec = {
    beaconOrder: sf & 0xf,
    superframeOrder: (sf >> 4) & 0xf,
    finalCapSlot: (sf >> 8) & 0xf,
    batteryLifeExtension: (sf & 0x1000) !== 0,
    panCoordinator: (sf & 0x4000) !== 0,
    associationPermit: (sf & 0x8000) !== 0,
  };
  return { superframe, gtsPermit: (gtsSpec & 0x80) !== 0, gtsDirections, gts, pendingShort, pendingExtended };
}

/**
 * Decodes a MAC frame. With `{ fcs: true }` the last two bytes are the FCS: verified
 * (`'bad-checksum'`) and not part of the payload.
 */
export function parseMacFrame(bytes: Uint8Array, opts: MacFcsOptions = { fcs: false }): MacFrame | WireFault {
  let end = bytes.length;
  if (opts.fcs) {
    if (end < 2 + MAC_FCS_LEN) return 'truncated';
    if (!macFcsValid(bytes)) return 'bad-checksum';
    end -= MAC_FCS_LEN;
  }
  const r = new Reader(bytes, 0, end);
  const fc = r.u16();
  if (r.short) return 'truncated';
  const type = FRAME_TYPES[fc & 7];
  const version = (fc >> 12) & 3;
  if (type === undefined || version === 3) return 'unsupported';
  const v = version as MacFrameVersion;
  const seqSuppressed = (fc & 0x100) !== 0;
  const iePresent = (fc & 0x200) !== 0;
  const dstMode = MODE_BY_BITS[(fc >> 10) & 3];
  const srcMode = MODE_BY_BITS[(fc >> 14) & 3];
  if ((fc & 0x80) !== 0 || (v < 2 && (seqSuppressed || iePresent)) || dstMode === undefined || srcMode === undefined) return 'malformed';
  const panIdCompression = (fc & 0x40) !== 0;
  const pans = macPanPresence(v, dstMode, srcMode, panIdCompression);
  if (pans === undefined) return 'malformed';
  const seq = seqSuppressed ? undefined : r.u8();
  const dstPan = pans.dstPan ? r.u16() : undefined;
  const dstAddr = r.addr(dstMode);
  const srcPanOnAir = pans.srcPan ? r.u16() : undefined;
  const srcAddr = r.addr(srcMode);
  if (r.short) return 'truncated';
  let security: MacSecurity | undefined;
  if ((fc & 0x8) !== 0) {
    const s = parseSecurity(r, v);
    if (typeof s === 'string') return s;
    security = s;
  }
  let headerIes: MacHeaderIe[] | undefined;
  let payloadIes: MacPayloadIe[] | undefined;
  if (iePresent) {
    const h = parseHeaderIes(r);
    if (typeof h === 'string') return h;
    headerIes = h.ies;
    if (h.ht1 && security === undefined) {
      const p = parsePayloadIes(r);
      if (typeof p === 'string') return p;
      payloadIes = p;
    }
  }
  let beacon: MacBeaconFields | undefined;
  if (type === 'beacon' && v < 2) {
    const b = parseBeacon(r);
    if (typeof b === 'string') return b;
    beacon = b;
  }
  let commandId: number | undefined;
  if (type === 'command' && !(security !== undefined && v === 2)) {
    commandId = r.u8();
    if (r.short) return 'truncated';
  }
  if (security !== undefined && end - r.pos < securedMinPayload(type, v, security)) return 'truncated';
  return {
    type,
    version: v,
    framePending: (fc & 0x10) !== 0,
    ackRequest: (fc & 0x20) !== 0,
    panIdCompression,
    seq,
    dst: { pan: dstPan, addr: dstAddr },
    src: { pan: srcPanOnAir ?? (pans.srcPanIsDstPan ? dstPan : undefined), addr: srcAddr },
    security,
    headerIes,
    payloadIes,
    beacon,
    commandId,
    payload: bytes.subarray(r.pos, end),
  };
}

function securityLen(s: MacSecurity | undefined): number {
  return s === undefined ? 0 : 1 + (s.frameCounterSuppressed ? 0 : 4) + KEY_ID_LEN[s.keyIdMode];
}

function beaconLen(b: MacBeaconFields | undefined): number {
  if (b === undefined) return 0;
  return 4 + (b.gts.length > 0 ? 1 + 3 * b.gts.length : 0) + 2 * b.pendingShort.length + MAC_EXT_ADDR_LEN * b.pendingExtended.length;
}

function iesLen(ies: readonly { content: Uint8Array }[] | undefined): number {
  let n = 0;
  for (const ie of ies ?? []) n += 2 + ie.content.length;
  return n;
}

/** Bytes of the MAC header: Frame Control through the header IEs (the MHR of 2015 §7.2). */
export function macHeaderLength(f: MacFrame): number {
  const pans = macPanPresence(f.version, modeOf(f.dst.addr), modeOf(f.src.addr), f.panIdCompression);
  const panBytes = pans === undefined ? 0 : (pans.dstPan ? 2 : 0) + (pans.srcPan ? 2 : 0);
  return 2 + (f.seq === undefined ? 0 : 1) + panBytes + addrLen(f.dst.addr) + addrLen(f.src.addr) + securityLen(f.security) + iesLen(f.headerIes);
}

/** Every byte of the frame but the payload: header, payload IEs, beacon fields, command id and the FCS if asked. */
export function macFrameOverhead(f: MacFrame, opts: MacFcsOptions = { fcs: false }): number {
  return macHeaderLength(f) + iesLen(f.payloadIes) + beaconLen(f.beacon) + (f.commandId === undefined ? 0 : 1) + (opts.fcs ? MAC_FCS_LEN : 0);
}

/**
 * The most plaintext payload bytes a frame shaped like `f` (its payload ignored) can carry in
 * `MAX_PHY_PACKET` bytes with FCS, the MIC of its security level reserved; negative when the
 * header alone is too big.
 */
export function macMaxPayload(f: MacFrame): number {
  return MAX_PHY_PACKET - macFrameOverhead(f, { fcs: true }) - (f.security === undefined ? 0 : macMicLength(f.security.level));
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new RangeError(`buildMacFrame: ${what}`);
}

function isInt(x: number | undefined, max: number): boolean {
  return x !== undefined && Number.isInteger(x) && x >= 0 && x <= max;
}

function checkAddr(a: MacAddress | undefined): void {
  if (a === undefined) return;
  if (a.mode === 'short') check(isInt(a.value, 0xffff), 'short address must be 0..0xffff');
  else check(a.value.length === MAC_EXT_ADDR_LEN, 'extended address must be 8 bytes');
}

function checkSecurity(s: MacSecurity, version: MacFrameVersion): void {
  check(version !== 0, 'security needs frame version 1 or 2 (2003 security is not supported)');
  check(isInt(s.level, 7), 'security level must be 0..7');
  check(version === 2 || (!s.frameCounterSuppressed && !s.asnInNonce), 'frame counter suppression and ASN in nonce need frame version 2');
  check(s.frameCounterSuppressed === (s.frameCounter === undefined), 'frameCounter must be given unless suppressed');
  check(s.frameCounter === undefined || isInt(s.frameCounter, 0xffffffff), 'frame counter must be 32 bits');
  check(s.keyIdMode < 2 ? s.keySource === undefined : s.keySource?.length === (s.keyIdMode === 2 ? 4 : 8), 'key source must match the key id mode');
  check(s.keyIdMode === 0 ? s.keyIndex === undefined : isInt(s.keyIndex, 0xff), 'key index must match the key id mode');
}

function checkBeacon(b: MacBeaconFields): void {
  const sf = b.superframe;
  check(isInt(sf.beaconOrder, 15) && isInt(sf.superframeOrder, 15) && isInt(sf.finalCapSlot, 15), 'superframe fields must be 4 bits');
  check(b.gts.length <= 7 && b.pendingShort.length <= 7 && b.pendingExtended.length <= 7, 'at most 7 GTS descriptors and 7 + 7 pending addresses');
  check(isInt(b.gtsDirections, 0x7f) && (b.gts.length > 0 || b.gtsDirections === 0), 'GTS directions: 7 bits, 0 without descriptors');
  for (const g of b.gts) check(isInt(g.shortAddr, 0xffff) && isInt(g.startSlot, 15) && isInt(g.length, 15), 'GTS descriptor out of range');
  for (const a of b.pendingShort) check(isInt(a, 0xffff), 'pending short address out of range');
  for (const a of b.pendingExtended) check(a.length === MAC_EXT_ADDR_LEN, 'pending extended address must be 8 bytes');
}

function checkIes(f: MacFrame): void {
  const h = f.headerIes;
  check(f.version === 2 || (h === undefined && f.seq !== undefined), 'IEs and sequence number suppression need frame version 2');
  for (const ie of h ?? []) check(isInt(ie.id, 0xff) && ie.content.length <= 0x7f, 'header IE id 8 bits, content up to 127 bytes');
  check(h === undefined || h.length > 0, 'IE Present needs at least one header IE (HT1/HT2 if only payload follows)');
  const last = h?.[h.length - 1];
  for (let i = 0; i + 1 < (h?.length ?? 0); i++) check(h?.[i]?.id !== MAC_HT1 && h?.[i]?.id !== MAC_HT2, 'HT1/HT2 only as the last header IE');
  const p = f.payloadIes;
  check(p === undefined || (last?.id === MAC_HT1 && f.security === undefined), 'payload IEs need HT1 as the last header IE and no security');
  for (let i = 0; i < (p?.length ?? 0); i++) {
    const ie = p?.[i];
    check(ie !== undefined && isInt(ie.groupId, 0xf) && ie.content.length <= 0x7ff, 'payload IE group 4 bits, content up to 2047 bytes');
    check(ie?.groupId !== MAC_PAYLOAD_TERMINATION || i === (p?.length ?? 0) - 1, 'payload termination IE only last');
  }
  if (f.security === undefined && last?.id === MAC_HT1) check(p !== undefined && p.length > 0, 'HT1 in an unsecured frame needs payload IEs');
  // A list without its terminator runs to the end of the frame: nothing may follow it.
  const rest = (f.beacon !== undefined ? 1 : 0) + (f.commandId !== undefined ? 1 : 0) + f.payload.length;
  if (h !== undefined && last?.id !== MAC_HT1 && last?.id !== MAC_HT2) check(rest === 0, 'header IEs need HT1/HT2 when anything follows them');
  if (p !== undefined && p[p.length - 1]?.groupId !== MAC_PAYLOAD_TERMINATION) check(rest === 0, 'payload IEs need the termination IE when anything follows them');
}

function validate(f: MacFrame): MacPanPresence {
  check(f.version === 0 || f.version === 1 || f.version === 2, 'frame version must be 0, 1 or 2');
  check(FRAME_TYPES.includes(f.type), 'unknown frame type');
  check(f.seq === undefined || isInt(f.seq, 0xff), 'sequence number must be 0..255');
  checkAddr(f.dst.addr);
  checkAddr(f.src.addr);
  const pans = macPanPresence(f.version, modeOf(f.dst.addr), modeOf(f.src.addr), f.panIdCompression);
  check(pans !== undefined, 'PAN ID compression needs both addresses before frame version 2');
  const p = pans as MacPanPresence;
  check(p.dstPan ? isInt(f.dst.pan, 0xffff) : f.dst.pan === undefined, 'dst.pan must be given exactly when the frame carries it');
  check(p.srcPan ? isInt(f.src.pan, 0xffff) : f.src.pan === undefined || (p.srcPanIsDstPan && f.src.pan === f.dst.pan), 'src.pan must be given when carried, else undefined or equal to dst.pan');
  if (f.security !== undefined) checkSecurity(f.security, f.version);
  check(f.security === undefined || f.payload.length >= securedMinPayload(f.type, f.version, f.security), 'a secured payload includes the MIC (and a 2015 command id)');
  checkIes(f);
  check((f.type === 'beacon' && f.version < 2) === (f.beacon !== undefined), 'beacon fields exactly on 2003/2006 beacons');
  if (f.beacon !== undefined) checkBeacon(f.beacon);
  const wantCmd = f.type === 'command' && !(f.security !== undefined && f.version === 2);
  check(wantCmd ? isInt(f.commandId, 0xff) : f.commandId === undefined, 'commandId exactly on command frames (but secured 2015 ones)');
  return p;
}

/** Little-endian writer over a buffer the caller sized. */
class Writer {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  u8(v: number): void {
    this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number): void {
    this.u8(v);
    this.u8(v >>> 8);
  }
  u32(v: number): void {
    this.u16(v & 0xffff);
    this.u16(v >>> 16);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  ext(a: Uint8Array): void {
    for (let i = MAC_EXT_ADDR_LEN - 1; i >= 0; i--) this.u8(a[i] ?? 0);
  }
  addr(a: MacAddress | undefined): void {
    if (a === undefined) return;
    if (a.mode === 'short') this.u16(a.value);
    else this.ext(a.value);
  }
}

const MODE_BITS: Record<ModeName, number> = { none: 0, short: 2, extended: 3 };

function frameControl(f: MacFrame): number {
  return (
    FRAME_TYPES.indexOf(f.type) |
    (f.security !== undefined ? 0x8 : 0) |
    (f.framePending ? 0x10 : 0) |
    (f.ackRequest ? 0x20 : 0) |
    (f.panIdCompression ? 0x40 : 0) |
    (f.seq === undefined ? 0x100 : 0) |
    (f.headerIes !== undefined ? 0x200 : 0) |
    (MODE_BITS[modeOf(f.dst.addr)] << 10) |
    (f.version << 12) |
    (MODE_BITS[modeOf(f.src.addr)] << 14)
  );
}

function writeSecurity(w: Writer, s: MacSecurity): void {
  w.u8(s.level | (s.keyIdMode << 3) | (s.frameCounterSuppressed ? 0x20 : 0) | (s.asnInNonce ? 0x40 : 0));
  if (s.frameCounter !== undefined) w.u32(s.frameCounter);
  if (s.keySource !== undefined) w.bytes(s.keySource);
  if (s.keyIndex !== undefined) w.u8(s.keyIndex);
}

function writeBeacon(w: Writer, b: MacBeaconFields): void {
  const sf = b.superframe;
  w.u16(
    sf.beaconOrder |
      (sf.superframeOrder << 4) |
      (sf.finalCapSlot << 8) |
      (sf.batteryLifeExtension ? 0x1000 : 0) |
      (sf.panCoordinator ? 0x4000 : 0) |
      (sf.associationPermit ? 0x8000 : 0),
  );
  w.u8(b.gts.length | (b.gtsPermit ? 0x80 : 0));
  if (b.gts.length > 0) w.u8(b.gtsDirections);
  for (const g of b.gts) {
    w.u16(g.shortAddr);
    w.u8(g.startSlot | (g.length << 4));
  }
  w.u8(b.pendingShort.length | (b.pendingExtended.length << 4));
  for (const a of b.pendingShort) w.u16(a);
  for (const a of b.pendingExtended) w.ext(a);
}

/** Length `buildMacFrame(f, opts)` returns. */
export function macFrameLength(f: MacFrame, opts: MacFcsOptions = { fcs: false }): number {
  return macFrameOverhead(f, opts) + f.payload.length;
}

/**
 * Writes the frame at the start of `out` and returns its length (`macFrameLength`). Throws
 * RangeError on an invalid repr or a too-small buffer (caller bugs).
 */
export function emitMacFrame(f: MacFrame, out: Uint8Array, opts: MacFcsOptions = { fcs: false }): number {
  const pans = validate(f);
  const len = macFrameLength(f, opts);
  check(out.length >= len, 'buffer too small');
  const w = new Writer(out);
  w.u16(frameControl(f));
  if (f.seq !== undefined) w.u8(f.seq);
  if (pans.dstPan) w.u16(f.dst.pan ?? 0);
  w.addr(f.dst.addr);
  if (pans.srcPan) w.u16(f.src.pan ?? 0);
  w.addr(f.src.addr);
  if (f.security !== undefined) writeSecurity(w, f.security);
  for (const ie of f.headerIes ?? []) {
    w.u16(ie.content.length | (ie.id << 7));
    w.bytes(ie.content);
  }
  for (const ie of f.payloadIes ?? []) {
    w.u16(ie.content.length | (ie.groupId << 11) | 0x8000);
    w.bytes(ie.content);
  }
  if (f.beacon !== undefined) writeBeacon(w, f.beacon);
  if (f.commandId !== undefined) w.u8(f.commandId);
  w.bytes(f.payload);
  if (opts.fcs) w.u16(macFcs(out, 0, w.pos));
  return w.pos;
}

/** The frame in a new array (see `emitMacFrame`). */
export function buildMacFrame(f: MacFrame, opts: MacFcsOptions = { fcs: false }): Uint8Array {
  const out = new Uint8Array(macFrameLength(f, opts));
  emitMacFrame(f, out, opts);
  return out;
}

/** Options of `buildImmAck`. */
export interface MacAckOptions {
  /** Frame Pending bit (default false). */
  readonly framePending?: boolean;
  /** Append the FCS (default true: the 5-byte imm-ack). */
  readonly fcs?: boolean;
  /** Frame version (default 0, as 2003/2006 devices send it). */
  readonly version?: 0 | 1;
}

/** An empty frame repr for `type`: no addresses, no security, no IEs, empty payload. */
export function macFrame(type: MacFrameType, fields: Partial<MacFrame> = {}): MacFrame {
  return {
    type,
    version: 1,
    framePending: false,
    ackRequest: false,
    panIdCompression: false,
    seq: 0,
    dst: { pan: undefined, addr: undefined },
    src: { pan: undefined, addr: undefined },
    security: undefined,
    headerIes: undefined,
    payloadIes: undefined,
    beacon: undefined,
    commandId: undefined,
    payload: new Uint8Array(0),
    ...fields,
  };
}

/** The immediate acknowledgment of sequence number `seq`: Frame Control, seq (and FCS): 5 bytes by default. */
export function buildImmAck(seq: number, opts: MacAckOptions = {}): Uint8Array {
  return buildMacFrame(macFrame('ack', { version: opts.version ?? 0, seq, framePending: opts.framePending ?? false }), { fcs: opts.fcs ?? true });
}
