/**
 * Packet capture in the classic libpcap format (what tcpdump -w writes; Wireshark and tshark read it).
 *
 * The encoders are pure: `pcapGlobalHeader` and `pcapRecord` return bytes. `PcapCapture` is a
 * pass-through `Link` that hands those bytes to a sink; writing them to a file is the sink's business
 * (`src/runtime/pcap-file.ts`).
 *
 * Format (little-endian, as written by most x86 tools): a 24-byte global header
 * (magic 0xa1b2c3d4 = microsecond timestamps, version 2.4, thiszone 0, sigfigs 0, snaplen, linktype),
 * then per frame a 16-byte record header (ts_sec, ts_usec, incl_len, orig_len) and incl_len bytes.
 * Link types: https://www.tcpdump.org/linktypes.html
 */
import type { Clock, Instant } from '../base/time.ts';
import type { Link, LinkCaps, LinkState } from './link.ts';

/** LINKTYPE_* values for the media we have or plan. */
export const PcapLinkType = {
  /** Ethernet II frames. */
  ETHERNET: 1,
  /** PPP with the protocol field (no HDLC framing). */
  PPP: 9,
  /** PPP in HDLC-like framing (RFC 1662), as on a serial line. */
  PPP_HDLC: 50,
  /** Bare IPv4/IPv6 packets (the version nibble tells which). */
  RAW: 101,
  /** PPP with a one-byte direction pseudo-header (0 received, 1 sent) before the Address field. */
  PPP_WITH_DIR: 204,
  /** IEEE 802.15.4 with FCS. */
  IEEE802_15_4_WITHFCS: 195,
  /** IEEE 802.15.4 without FCS. */
  IEEE802_15_4_NOFCS: 230,
} as const;

/** Default snapshot length: whole frames up to 64 KiB - 1. */
export const DEFAULT_SNAPLEN = 65535;

/** Size of the pcap file header (bytes). */
export const PCAP_GLOBAL_HEADER_LEN = 24;
/** Size of a pcap record header (bytes). */
export const PCAP_RECORD_HEADER_LEN = 16;

function checkSnapLen(snapLen: number): number {
  if (!Number.isInteger(snapLen) || snapLen < 1 || snapLen > 0xffff_ffff) throw new RangeError(`snapLen must be a positive 32-bit integer, got ${snapLen}`);
  return snapLen;
}

/** The 24-byte file header. */
export function pcapGlobalHeader(linkType: number, snapLen: number = DEFAULT_SNAPLEN): Uint8Array {
  checkSnapLen(snapLen);
  const out = new Uint8Array(PCAP_GLOBAL_HEADER_LEN);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone: timestamps are UTC
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, snapLen, true);
  v.setUint32(20, linkType >>> 0, true);
  return out;
}

/**
 * One record: header and the first `snapLen` bytes of `frame`, in a new array (the sink may keep it).
 * `tsMs` is milliseconds since the Unix epoch; fractions become microseconds (rounded). Negative
 * times are written as 0; seconds wrap at 2^32 (year 2106) as the format does.
 */
export function pcapRecord(tsMs: number, frame: Uint8Array, snapLen: number = DEFAULT_SNAPLEN): Uint8Array {
  const incl = Math.min(frame.length, snapLen);
  const out = new Uint8Array(PCAP_RECORD_HEADER_LEN + incl);
  const v = new DataView(out.buffer);
  const us = Number.isFinite(tsMs) && tsMs > 0 ? Math.round(tsMs * 1000) : 0;
  const sec = Math.floor(us / 1_000_000);
  v.setUint32(0, sec >>> 0, true);
  v.setUint32(4, us - sec * 1_000_000, true);
  v.setUint32(8, incl, true);
  v.setUint32(12, frame.length, true);
  out.set(incl === frame.length ? frame : frame.subarray(0, incl), PCAP_RECORD_HEADER_LEN);
  return out;
}

/** Options of `PcapCapture`: clock and sink, link type, snap length, epoch and the directions captured. */
export interface PcapCaptureOptions {
  /** Timestamps come from `clock.now()` (+ `epochMs`). */
  clock: Clock;
  /** Receives the global header (at construction) and one chunk per record; it may keep the chunks. */
  sink: (chunk: Uint8Array) => void;
  /** Default: 1 (Ethernet) on an `'ethernet'` link, 101 (raw IP) on an `'ip'` link, 230 (802.15.4 without FCS) on `'ieee802154'`. */
  linkType?: number;
  /** Bytes kept per frame (default 65535); orig_len still records the full length. */
  snapLen?: number;
  /**
   * Unix time in ms at clock time 0. Default: `clock.wallClock() - clock.now()` when the clock is a
   * `Scheduler` (real time, or the virtual scheduler's fixed epoch), else 0.
   */
  epochMs?: number;
  /** Which frames to record (default `'both'`). */
  direction?: 'rx' | 'tx' | 'both';
}

/**
 * A pass-through `Link` recording every frame received from and transmitted to the inner link.
 * Transmitted frames are recorded when the stack hands them over, whether or not the inner link
 * accepts them. `receive()` returns the inner link's frame unchanged (same buffer, same ownership).
 * Closing the capture closes the inner link; closing the file is up to the sink's owner.
 */
export class PcapCapture implements Link {
  /** The inner link's capabilities. */
  readonly caps: LinkCaps;
  /** The pcap link type written. */
  readonly linkType: number;
  /** Bytes kept per frame. */
  readonly snapLen: number;
  /** Unix time in ms at clock time 0. */
  readonly epochMs: number;
  private readonly inner: Link;
  private readonly clock: Clock;
  private readonly sink: (chunk: Uint8Array) => void;
  private readonly rx: boolean;
  private readonly tx: boolean;
  private closed = false;
  private recorded = 0;

  constructor(inner: Link, opts: PcapCaptureOptions) {
    this.inner = inner;
    this.caps = inner.caps;
    this.clock = opts.clock;
    this.sink = opts.sink;
    this.linkType = opts.linkType ?? { ethernet: PcapLinkType.ETHERNET, ip: PcapLinkType.RAW, ieee802154: PcapLinkType.IEEE802_15_4_NOFCS }[inner.caps.medium];
    this.snapLen = checkSnapLen(opts.snapLen ?? DEFAULT_SNAPLEN);
    const wall = (opts.clock as Partial<{ wallClock(): number }>).wallClock;
    this.epochMs = opts.epochMs ?? (typeof wall === 'function' ? wall.call(opts.clock) - opts.clock.now() : 0);
    const dir = opts.direction ?? 'both';
    this.rx = dir !== 'tx';
    this.tx = dir !== 'rx';
    this.sink(pcapGlobalHeader(this.linkType, this.snapLen));
  }

  /** Records written so far. */
  get frames(): number {
    return this.recorded;
  }

  receive(now: Instant): Uint8Array | undefined {
    const f = this.inner.receive(now);
    if (f !== undefined && this.rx && !this.closed) this.record(f);
    return f;
  }

  transmit(now: Instant, frame: Uint8Array): boolean {
    if (this.tx && !this.closed) this.record(frame);
    return this.inner.transmit(now, frame);
  }

  onReadable(wake: () => void): () => void {
    return this.inner.onReadable(wake);
  }

  /** The inner link's carrier. */
  get linkState(): LinkState | undefined {
    return this.inner.linkState;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
  }

  private record(frame: Uint8Array): void {
    this.recorded++;
    this.sink(pcapRecord(this.epochMs + this.clock.now(), frame, this.snapLen));
  }
}
