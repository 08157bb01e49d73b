/**
 * RFC 1662 async HDLC-like framing for PPP: `HdlcEncoder` turns one PPP frame into bytes for a
 * serial line, `HdlcDecoder` turns a byte stream back into frames.
 *
 * A *frame* here is what lies between the flags once transparency is undone and the FCS is
 * removed: Address (0xFF) and Control (0x03) unless the sender uses ACFC, the Protocol field (1 or
 * 2 bytes with PFC) and the Information field (with any padding). This module does not look
 * inside; src/wire/ppp/ppp-packet.ts parses it.
 *
 * On the wire (RFC 1662 §4):
 * - Flag Sequence 0x7E delimits frames (§3.1); one flag may both close a frame and open the next
 *   (§4.4.1), and idle time is filled with flags or nothing.
 * - Octet stuffing (§4.2): 0x7E and 0x7D (Control Escape) are always sent as 0x7D followed by the
 *   octet XOR 0x20, and so is every octet below 0x20 whose bit is set in the transmit ACCM
 *   (Async-Control-Character-Map, 32 bits, bit n for octet n; 0xFFFFFFFF until LCP agrees on
 *   another, §7.1). The FCS is stuffed like the data.
 * - The FCS (16 or 32 bits, src/wire/ppp/fcs.ts) covers Address through Information and is sent
 *   complemented, least significant byte first (§C.2, §C.3).
 *
 * Receiving (RFC 1662 §4.2, §4.3, §7.1), byte by byte, so a stream split anywhere gives the same
 * frames and the same counters:
 * - bytes before the first flag (and after `reset()`) are discarded while hunting for a flag;
 * - an octet below 0x20 whose bit is set in the *receive* ACCM is removed wherever it arrives,
 *   even between a Control Escape and the octet it escapes (data communications equipment may
 *   insert XON/XOFF); counted;
 * - 0x7D XORs 0x20 into the next octet (0x7D 0x7D gives 0x5D); 0x7D followed by the flag aborts
 *   the frame (counted, §4.3);
 * - frames shorter than the FCS plus 2 octets (less than 4 with FCS-16) are silently discarded,
 *   counted apart from bad FCS (§4.3); back-to-back flags are idle, not frames;
 * - a frame whose FCS does not check is dropped and counted;
 * - a frame longer than `maxFrame` (FCS excluded) is dropped and counted; its bytes are not
 *   buffered past that bound.
 * FCS mode, receive ACCM and `maxFrame` may change at any time, also from inside the frame
 * callback (LCP Configure-Ack received): the change applies from the next octet on. No input
 * makes the decoder throw.
 */
import { appendFcs, FCS16_GOOD, FCS32_GOOD, fcs16, fcs32, fcsLength, type FcsMode } from './fcs.ts';

export type { FcsMode } from './fcs.ts';

/** Flag Sequence. */
export const HDLC_FLAG = 0x7e;
/** Control Escape. */
export const HDLC_ESCAPE = 0x7d;
/** XORed into an escaped octet. */
export const HDLC_ESCAPE_XOR = 0x20;
/** The default ACCM (RFC 1662 §7.1): every control character 0x00-0x1F escaped. */
export const DEFAULT_ACCM = 0xffffffff;
/** Largest header before the Information field: Address, Control, 2-byte Protocol. */
export const PPP_HEADER_MAX = 4;
/** RFC 1661's default MRU. */
export const PPP_DEFAULT_MRU = 1500;
/** Default `maxFrame`: the default MRU plus the largest header. */
export const DEFAULT_HDLC_MAX_FRAME = PPP_DEFAULT_MRU + PPP_HEADER_MAX;

function checkAccm(accm: number): number {
  if (!Number.isInteger(accm) || accm < 0 || accm > 0xffffffff) throw new RangeError(`ACCM must be a 32-bit unsigned integer, got ${accm}`);
  return accm;
}

function checkFcs(mode: number): FcsMode {
  if (mode !== 16 && mode !== 32) throw new RangeError(`FCS mode must be 16 or 32, got ${mode}`);
  return mode;
}

export interface HdlcEncoderOptions {
  /** FCS size (default 16). */
  fcs?: FcsMode;
  /** Transmit ACCM (default 0xFFFFFFFF). */
  accm?: number;
}

/** Largest encoded size of a `len`-byte frame: both flags, every octet and the FCS escaped. */
export function hdlcMaxEncodedLength(len: number, fcs: FcsMode = 16): number {
  return 2 + 2 * (len + fcsLength(fcs));
}

/**
 * Encodes frames for the line, into one reusable buffer that grows to the largest frame seen.
 *
 * Buffer ownership: `encode` returns a view into that buffer, valid until the next `encode` on the
 * same encoder. Write it out (a `ByteStream.write` copies) or copy it before encoding again.
 */
export class HdlcEncoder {
  private buf: Uint8Array;
  /** Per octet: 1 when it is sent escaped. */
  private readonly escapes = new Uint8Array(256);
  private accmValue = DEFAULT_ACCM;
  private fcsMode: FcsMode;

  constructor(options: HdlcEncoderOptions = {}) {
    this.fcsMode = checkFcs(options.fcs ?? 16);
    this.buf = new Uint8Array(hdlcMaxEncodedLength(DEFAULT_HDLC_MAX_FRAME, 32));
    this.escapes[HDLC_FLAG] = 1;
    this.escapes[HDLC_ESCAPE] = 1;
    this.accm = options.accm ?? DEFAULT_ACCM;
  }

  /** Transmit ACCM: bit n set means octet n (0..31) is escaped. 0x7E and 0x7D always are. */
  get accm(): number {
    return this.accmValue;
  }

  set accm(accm: number) {
    this.accmValue = checkAccm(accm);
    for (let c = 0; c < 32; c++) this.escapes[c] = (accm >>> c) & 1;
  }

  get fcs(): FcsMode {
    return this.fcsMode;
  }

  set fcs(mode: FcsMode) {
    this.fcsMode = checkFcs(mode);
  }

  /**
   * Encodes `frame` (Address, or Protocol with ACFC, through Information) followed by `rest`, when
   * given (a frame header and its packet, sent as one frame without joining them first): stuffed
   * frame, stuffed FCS, closing flag, and an opening flag unless `openingFlag` is false (allowed
   * right after the previous frame's closing flag, RFC 1662 §4.4.1). Returns a view valid until the
   * next `encode`.
   */
  encode(frame: Uint8Array, openingFlag = true, rest?: Uint8Array): Uint8Array {
    const mode = this.fcsMode;
    const n = frame.length + (rest?.length ?? 0);
    const need = hdlcMaxEncodedLength(n, mode);
    if (this.buf.length < need) this.buf = new Uint8Array(Math.max(need, this.buf.length * 2));
    const out = this.buf;
    let o = 0;
    if (openingFlag) out[o++] = HDLC_FLAG;
    o = this.stuff(frame, out, o);
    let fcs = mode === 32 ? fcs32(frame) : fcs16(frame);
    if (rest !== undefined) {
      o = this.stuff(rest, out, o);
      fcs = mode === 32 ? fcs32(rest, 0, rest.length, fcs) : fcs16(rest, 0, rest.length, fcs);
    }
    let v = mode === 32 ? ~fcs >>> 0 : ~fcs & 0xffff;
    const esc = this.escapes;
    for (let k = mode === 32 ? 4 : 2; k > 0; k--) {
      const c = v & 0xff;
      v >>>= 8;
      if (esc[c] === 1) {
        out[o++] = HDLC_ESCAPE;
        out[o++] = c ^ HDLC_ESCAPE_XOR;
      } else {
        out[o++] = c;
      }
    }
    out[o++] = HDLC_FLAG;
    return out.subarray(0, o);
  }

  /** Writes `bytes` stuffed into `out` at `o`; returns the new offset. */
  private stuff(bytes: Uint8Array, out: Uint8Array, o: number): number {
    const esc = this.escapes;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i] as number;
      if (esc[c] === 1) {
        out[o++] = HDLC_ESCAPE;
        out[o++] = c ^ HDLC_ESCAPE_XOR;
      } else {
        out[o++] = c;
      }
    }
    return o;
  }
}

/** One-shot encoding into a fresh array (tests, tools); links keep an `HdlcEncoder`. */
export function hdlcEncode(frame: Uint8Array, options: HdlcEncoderOptions & { openingFlag?: boolean } = {}): Uint8Array {
  return new HdlcEncoder(options).encode(frame, options.openingFlag ?? true).slice();
}

/** A frame with its FCS appended (not stuffed, no flags): what a PPP_HDLC pcap record (linktype 50) holds. */
export function withFcs(frame: Uint8Array, mode: FcsMode = 16): Uint8Array {
  const out = new Uint8Array(frame.length + fcsLength(mode));
  out.set(frame);
  appendFcs(mode, out, frame.length);
  return out;
}

export interface HdlcDecoderOptions {
  /** FCS size (default 16). */
  fcs?: FcsMode;
  /** Receive ACCM (default 0xFFFFFFFF): unescaped control octets flagged here are removed. */
  accm?: number;
  /** Largest frame accepted, FCS excluded (default 1504: MRU 1500 plus a 4-byte header). */
  maxFrame?: number;
}

/** Counters of an `HdlcDecoder` (monotonic). */
export interface HdlcDecoderStats {
  /** Frames delivered. */
  frames: number;
  /** Bytes delivered (FCS excluded). */
  bytes: number;
  /** Frames aborted by Control Escape + Flag. */
  aborts: number;
  /** Frames too short to hold an FCS and 2 octets, silently discarded. */
  runts: number;
  /** Frames whose FCS did not check. */
  badFcs: number;
  /** Frames longer than `maxFrame`. */
  oversize: number;
  /** Unescaped control octets removed because the receive ACCM flags them. */
  accmDiscarded: number;
  /** Bytes discarded while hunting for the first flag (at the start and after `reset()`). */
  huntDiscarded: number;
}

/** Octet classes in the decoder's table. */
const DATA = 0;
const FLAG = 1;
const ESCAPE = 2;
const REMOVE = 3;

/**
 * Incremental decoder: `push` bytes as they arrive; complete, good frames go to `onFrame`
 * synchronously, FCS removed, each a fresh `Uint8Array` the callback may keep.
 *
 * `onFrame` may change `fcs`, `accm` and `maxFrame` and call `reset()` (the change applies from the
 * next byte on), but must not call `push` (no re-entrant decoding).
 */
export class HdlcDecoder {
  private readonly classes = new Uint8Array(256);
  private accmValue = DEFAULT_ACCM;
  private fcsMode: FcsMode;
  private maxFrameValue: number;
  /** Frame bytes so far, FCS included; room for `maxFrame` plus the largest FCS. */
  private buf: Uint8Array;
  private len = 0;
  private hunting = true;
  private escaped = false;
  /** The frame went over `maxFrame` (counted): drop the rest up to the next flag. */
  private discarding = false;
  private readonly counters: HdlcDecoderStats = {
    frames: 0,
    bytes: 0,
    aborts: 0,
    runts: 0,
    badFcs: 0,
    oversize: 0,
    accmDiscarded: 0,
    huntDiscarded: 0,
  };

  constructor(
    private readonly onFrame: (frame: Uint8Array) => void,
    options: HdlcDecoderOptions = {},
  ) {
    this.fcsMode = checkFcs(options.fcs ?? 16);
    this.maxFrameValue = HdlcDecoder.checkMaxFrame(options.maxFrame ?? DEFAULT_HDLC_MAX_FRAME);
    this.buf = new Uint8Array(this.maxFrameValue + 4);
    this.classes[HDLC_FLAG] = FLAG;
    this.classes[HDLC_ESCAPE] = ESCAPE;
    this.accm = options.accm ?? DEFAULT_ACCM;
  }

  private static checkMaxFrame(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x1000000) throw new RangeError(`maxFrame must be an integer 1..16777216, got ${n}`);
    return n;
  }

  /** Receive ACCM: bit n set means an unescaped octet n (0..31) is removed. */
  get accm(): number {
    return this.accmValue;
  }

  set accm(accm: number) {
    this.accmValue = checkAccm(accm);
    for (let c = 0; c < 32; c++) this.classes[c] = (accm >>> c) & 1 ? REMOVE : DATA;
  }

  get fcs(): FcsMode {
    return this.fcsMode;
  }

  set fcs(mode: FcsMode) {
    this.fcsMode = checkFcs(mode);
  }

  /** Largest frame accepted, FCS excluded (Address through Information: MRU + header). */
  get maxFrame(): number {
    return this.maxFrameValue;
  }

  set maxFrame(n: number) {
    this.maxFrameValue = HdlcDecoder.checkMaxFrame(n);
    const size = n + 4;
    if (this.buf.length < size) {
      const grown = new Uint8Array(size);
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
  }

  /** Counters (a copy). */
  stats(): HdlcDecoderStats {
    return { ...this.counters };
  }

  /** Drops any partial frame and hunts for a flag again (e.g. when the line is reopened). */
  reset(): void {
    this.len = 0;
    this.escaped = false;
    this.discarding = false;
    this.hunting = true;
  }

  /** Decodes `bytes`, delivering each complete good frame to `onFrame`. Never throws for any input. */
  push(bytes: Uint8Array): void {
    const n = bytes.length;
    const c = this.counters;
    let i = 0;
    while (i < n) {
      if (this.hunting) {
        const from = i;
        while (i < n && bytes[i] !== HDLC_FLAG) i++;
        c.huntDiscarded += i - from;
        if (i >= n) break;
        this.hunting = false;
        i++;
        continue;
      }
      // The hot loop: state in locals, written back before any frame is delivered.
      const cls = this.classes;
      const buf = this.buf;
      const cap = this.maxFrameValue + fcsLength(this.fcsMode);
      let len = this.len;
      let escaped = this.escaped;
      let discarding = this.discarding;
      let flagAt = -1;
      for (; i < n; i++) {
        let b = bytes[i] as number;
        const k = cls[b];
        if (k === DATA || (k === ESCAPE && escaped)) {
          if (escaped) {
            b ^= HDLC_ESCAPE_XOR;
            escaped = false;
          }
          if (len < cap) buf[len++] = b;
          else if (!discarding) {
            discarding = true;
            c.oversize++;
          }
        } else if (k === ESCAPE) {
          escaped = true;
        } else if (k === REMOVE) {
          c.accmDiscarded++;
        } else {
          flagAt = i++;
          break;
        }
      }
      this.len = len;
      this.escaped = escaped;
      this.discarding = discarding;
      if (flagAt >= 0) this.endFrame();
    }
  }

  /** A flag arrived: deliver, drop or count the frame in the buffer, then start the next one. */
  private endFrame(): void {
    const c = this.counters;
    const len = this.len;
    const escaped = this.escaped;
    const discarding = this.discarding;
    this.len = 0;
    this.escaped = false;
    this.discarding = false;
    if (discarding) return;
    if (escaped) {
      c.aborts++;
      return;
    }
    if (len === 0) return;
    const mode = this.fcsMode;
    const fcsLen = fcsLength(mode);
    if (len < fcsLen + 2) {
      c.runts++;
      return;
    }
    const good = mode === 32 ? fcs32(this.buf, 0, len) === FCS32_GOOD : fcs16(this.buf, 0, len) === FCS16_GOOD;
    if (!good) {
      c.badFcs++;
      return;
    }
    const frame = this.buf.slice(0, len - fcsLen);
    c.frames++;
    c.bytes += frame.length;
    this.onFrame(frame);
  }
}
