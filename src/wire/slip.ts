/**
 * SLIP, RFC 1055: IP packets on a serial line, framed by END octets, with no header, no type field
 * and no checksum (the IP and transport checksums are all there is).
 *
 * Encoding: END (0xC0) before and after each packet (the leading END flushes line noise into an
 * empty or garbage packet the receiver drops); inside, END becomes ESC ESC_END (0xDB 0xDC) and ESC
 * becomes ESC ESC_ESC (0xDB 0xDD). The conventional MTU is 1006 (`SLIP_DEFAULT_MTU`).
 *
 * Decoding follows Linux's drivers/net/slip/slip.c (`slip_unesc`) byte for byte, so a stream split
 * anywhere gives the same packets and the same counters:
 * - END ends a packet; empty packets (back-to-back ENDs) are ignored, packets of 1 or 2 bytes are
 *   dropped and counted as runts (Linux delivers only `rcount > 2`);
 * - ESC sets an escape state; ESC_END / ESC_ESC in that state become END / ESC and clear it, and
 *   outside it they are ordinary data;
 * - a bad escape (ESC followed by anything but ESC_END / ESC_ESC) is counted once; like Linux, the
 *   octet is kept as it is and the escape state stays set until an ESC_END, ESC_ESC or END (so a
 *   later ESC_END still becomes END); an END right after ESC still ends the packet normally;
 * - a packet longer than `maxPacket` is counted once and dropped up to the next END, without
 *   buffering more than `maxPacket` bytes.
 * CSLIP (RFC 1144 header compression) is not implemented: such packets arrive as bad IP packets.
 */

/** Frame end. */
export const SLIP_END = 0xc0;
/** Frame escape. */
export const SLIP_ESC = 0xdb;
/** ESC ESC_END stands for an END data octet. */
export const SLIP_ESC_END = 0xdc;
/** ESC ESC_ESC stands for an ESC data octet. */
export const SLIP_ESC_ESC = 0xdd;
/** The conventional SLIP MTU (RFC 1055, from Berkeley UNIX). */
export const SLIP_DEFAULT_MTU = 1006;
/** Packets shorter than this are dropped (Linux slip.c delivers only more than 2 bytes). */
export const SLIP_MIN_PACKET = 3;

/** Largest encoded size of a `len`-byte packet: both ENDs and every octet escaped. */
export function slipMaxEncodedLength(len: number): number {
  return 2 * len + 2;
}

/** Encodes `packet` into `out` (room for `slipMaxEncodedLength(packet.length)`); returns the length written. */
function encodeInto(packet: Uint8Array, out: Uint8Array): number {
  let o = 0;
  out[o++] = SLIP_END;
  const n = packet.length;
  for (let i = 0; i < n; i++) {
    const c = packet[i] as number;
    if (c === SLIP_END) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_END;
    } else if (c === SLIP_ESC) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_ESC;
    } else {
      out[o++] = c;
    }
  }
  out[o++] = SLIP_END;
  return o;
}

/** One packet, SLIP-encoded, in a fresh array (one allocation per call). Links keep a `SlipEncoder`. */
export function slipEncode(packet: Uint8Array): Uint8Array {
  const out = new Uint8Array(slipMaxEncodedLength(packet.length));
  return out.subarray(0, encodeInto(packet, out));
}

/**
 * Encodes packets into one reusable buffer that grows to the largest packet seen. `encode` returns a
 * view valid until the next `encode` on the same encoder: write it out (a `ByteStream.write`
 * copies) or copy it first.
 */
export class SlipEncoder {
  private buf = new Uint8Array(slipMaxEncodedLength(SLIP_DEFAULT_MTU));

  encode(packet: Uint8Array): Uint8Array {
    const need = slipMaxEncodedLength(packet.length);
    if (this.buf.length < need) this.buf = new Uint8Array(Math.max(need, this.buf.length * 2));
    return this.buf.subarray(0, encodeInto(packet, this.buf));
  }
}

/** Escape state: none; ESC just seen; ESC followed by a bad octet (Linux keeps the state set). */
type EscapeState = 0 | 1 | 2;
const NONE = 0;
const FRESH = 1;
const STALE = 2;

export interface SlipDecoderOptions {
  /** Largest packet accepted (default 1006, the conventional SLIP MTU). */
  maxPacket?: number;
}

/** Counters of a `SlipDecoder` (monotonic). */
export interface SlipDecoderStats {
  /** Packets delivered. */
  packets: number;
  /** Bytes delivered. */
  bytes: number;
  /** ESC followed by something other than ESC_END / ESC_ESC. */
  badEscapes: number;
  /** Packets of 1 or 2 bytes, dropped. */
  runts: number;
  /** Packets longer than `maxPacket`, dropped. */
  oversize: number;
}

/**
 * Incremental decoder: `push` bytes as they arrive; packets go to `onPacket` synchronously, each a
 * fresh `Uint8Array` the callback may keep. `onPacket` may change `maxPacket` but must not call
 * `push`. Never throws for any input.
 */
export class SlipDecoder {
  private buf: Uint8Array;
  private maxPacketValue: number;
  private len = 0;
  private escaped: EscapeState = NONE;
  /** Over `maxPacket` (counted): drop up to the next END. */
  private discarding = false;
  private readonly counters: SlipDecoderStats = { packets: 0, bytes: 0, badEscapes: 0, runts: 0, oversize: 0 };

  constructor(
    private readonly onPacket: (packet: Uint8Array) => void,
    options: SlipDecoderOptions = {},
  ) {
    this.maxPacketValue = SlipDecoder.check(options.maxPacket ?? SLIP_DEFAULT_MTU);
    this.buf = new Uint8Array(this.maxPacketValue);
  }

  private static check(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x1000000) throw new RangeError(`maxPacket must be an integer 1..16777216, got ${n}`);
    return n;
  }

  get maxPacket(): number {
    return this.maxPacketValue;
  }

  set maxPacket(n: number) {
    this.maxPacketValue = SlipDecoder.check(n);
    if (this.buf.length < n) {
      const grown = new Uint8Array(n);
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
  }

  /** Counters (a copy). */
  stats(): SlipDecoderStats {
    return { ...this.counters };
  }

  /** Drops any partial packet. */
  reset(): void {
    this.len = 0;
    this.escaped = NONE;
    this.discarding = false;
  }

  /** Decodes `bytes`, delivering each complete packet to `onPacket`. */
  push(bytes: Uint8Array): void {
    const n = bytes.length;
    const c = this.counters;
    let i = 0;
    while (i < n) {
      const buf = this.buf;
      const cap = this.maxPacketValue;
      let len = this.len;
      let escaped = this.escaped;
      let discarding = this.discarding;
      let ended = false;
      for (; i < n; i++) {
        let b = bytes[i] as number;
        if (b === SLIP_END) {
          ended = true;
          i++;
          break;
        }
        if (escaped !== NONE) {
          if (b === SLIP_ESC_END) {
            b = SLIP_END;
            escaped = NONE;
          } else if (b === SLIP_ESC_ESC) {
            b = SLIP_ESC;
            escaped = NONE;
          } else {
            if (escaped === FRESH) c.badEscapes++;
            if (b === SLIP_ESC) {
              escaped = FRESH;
              continue;
            }
            escaped = STALE;
          }
        } else if (b === SLIP_ESC) {
          escaped = FRESH;
          continue;
        }
        if (len < cap) buf[len++] = b;
        else if (!discarding) {
          discarding = true;
          c.oversize++;
        }
      }
      this.len = len;
      this.escaped = escaped;
      this.discarding = discarding;
      if (ended) this.endPacket();
    }
  }

  private endPacket(): void {
    const c = this.counters;
    const len = this.len;
    const discarding = this.discarding;
    if (this.escaped === FRESH) c.badEscapes++;
    this.len = 0;
    this.escaped = NONE;
    this.discarding = false;
    if (discarding || len === 0) return;
    if (len < SLIP_MIN_PACKET) {
      c.runts++;
      return;
    }
    const packet = this.buf.slice(0, len);
    c.packets++;
    c.bytes += len;
    this.onPacket(packet);
  }
}
