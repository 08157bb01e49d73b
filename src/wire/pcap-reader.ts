/**
 * An incremental reader of classic libpcap files (what `PcapCapture` and tcpdump -w write):
 * feed it chunks in any split with `push`, get the complete records back; `finish()` tells
 * what was left over. The inverse of src/link/pcap-writer.ts, kept in wire/ (pure, no I/O).
 *
 * Format: a 24-byte global header (magic 0xa1b2c3d4 = microsecond timestamps, 0xa1b23c4d =
 * nanosecond ones, in either byte order: the order of the magic is the file's), then per
 * record a 16-byte header (ts_sec, ts_frac, incl_len, orig_len) and incl_len bytes.
 *
 * Untrusted input never throws: a file that is not a pcap (a pcapng file, anything else) or a
 * record whose captured length is impossible (beyond `PCAP_MAX_RECORD_LEN`) ends the reading
 * with `error` set; records already returned stay valid. A file cut short leaves its last
 * partial record in `finish().truncatedBytes`. The results do not depend on how the bytes
 * were split into chunks.
 */
/** Largest captured length accepted for one record (tcpdump's own bound, 256 KiB). */
export const PCAP_MAX_RECORD_LEN = 262144;

const GLOBAL_LEN = 24;
const RECORD_LEN = 16;
const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const MAGIC_PCAPNG = 0x0a0d0d0a;

/** The global header. */
export interface PcapFileHeader {
  readonly linkType: number;
  readonly snapLen: number;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** Timestamps in nanoseconds (magic 0xa1b23c4d); else microseconds. */
  readonly nanoseconds: boolean;
  /** The file was written big-endian. */
  readonly bigEndian: boolean;
}

/** One record. */
export interface PcapRecord {
  /** Time of capture: Unix time in milliseconds (fractions kept). */
  readonly timeMs: number;
  /** Bytes on the wire (may exceed `data.length` when the capture was cut at the snap length). */
  readonly origLen: number;
  /** The captured bytes (a copy: the caller may keep it). */
  readonly data: Uint8Array;
}

/** Why the reading stopped early. */
export type PcapReadError =
  /** The first four bytes are no pcap magic. */
  | 'not-pcap'
  /** A pcapng file (section header block magic): not read here. */
  | 'pcapng'
  /** A record header with a captured length over `PCAP_MAX_RECORD_LEN`: the rest cannot be framed. */
  | 'bad-record';

/** What `finish()` reports. */
export interface PcapReadEnd {
  /** Bytes after the last complete record (a file cut short), or of an incomplete global header. */
  readonly truncatedBytes: number;
  /** The reading stopped early. */
  readonly error: PcapReadError | undefined;
}

/** Reads a pcap stream chunk by chunk. */
export class PcapReader {
  /** The global header, once its 24 bytes came. */
  header: PcapFileHeader | undefined;
  /** Set when the reading stopped (see `PcapReadError`); later chunks are ignored. */
  error: PcapReadError | undefined;
  /** Records returned so far. */
  records = 0;
  /** Bytes consumed (headers and records). */
  consumed = 0;
  private pending: Uint8Array = new Uint8Array(0);
  private le = true;

  /** Takes the next chunk; returns the records it completed (in order). Never throws. */
  push(chunk: Uint8Array): PcapRecord[] {
    const out: PcapRecord[] = [];
    if (this.error !== undefined || chunk.length === 0) return out;
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    let at = 0;
    if (this.header === undefined) {
      if (buf.length < GLOBAL_LEN) {
        // The magic can be judged from 4 bytes: fail early on junk.
        if (buf.length >= 4 && this.readHeader(buf) !== undefined) return out;
        this.pending = buf.slice();
        return out;
      }
      if (this.readHeader(buf) !== undefined) return out;
      at = GLOBAL_LEN;
      this.consumed += GLOBAL_LEN;
    }
    const header = this.header as PcapFileHeader | undefined;
    if (header === undefined) return out;
    while (buf.length - at >= RECORD_LEN) {
      const incl = this.u32(buf, at + 8);
      if (incl > PCAP_MAX_RECORD_LEN) {
        this.error = 'bad-record';
        this.pending = new Uint8Array(0);
        return out;
      }
      if (buf.length - at - RECORD_LEN < incl) break;
      const sec = this.u32(buf, at);
      const frac = this.u32(buf, at + 4);
      const timeMs = sec * 1000 + (header.nanoseconds ? frac / 1e6 : frac / 1e3);
      const origLen = this.u32(buf, at + 12);
      const start = at + RECORD_LEN;
      out.push({ timeMs, origLen, data: buf.slice(start, start + incl) });
      at = start + incl;
      this.consumed += RECORD_LEN + incl;
      this.records++;
    }
    this.pending = at === buf.length ? new Uint8Array(0) : buf.slice(at);
    return out;
  }

  /** The end of the input: what was left over, and whether the reading stopped early. */
  finish(): PcapReadEnd {
    return { truncatedBytes: this.error === undefined ? this.pending.length : 0, error: this.error };
  }

  /** Reads the global header from `buf` (at least 4 bytes; all 24 unless it fails); returns the error, if any. */
  private readHeader(buf: Uint8Array): PcapReadError | undefined {
    const be = (((buf[0] as number) << 24) | ((buf[1] as number) << 16) | ((buf[2] as number) << 8) | (buf[3] as number)) >>> 0;
    const le = (((buf[3] as number) << 24) | ((buf[2] as number) << 16) | ((buf[1] as number) << 8) | (buf[0] as number)) >>> 0;
    let error: PcapReadError | undefined;
    let nanoseconds = false;
    if (be === MAGIC_PCAPNG) error = 'pcapng';
    else if (le === MAGIC_US || le === MAGIC_NS) {
      this.le = true;
      nanoseconds = le === MAGIC_NS;
    } else if (be === MAGIC_US || be === MAGIC_NS) {
      this.le = false;
      nanoseconds = be === MAGIC_NS;
    } else error = 'not-pcap';
    if (error !== undefined) {
      this.error = error;
      this.pending = new Uint8Array(0);
      return error;
    }
    if (buf.length < GLOBAL_LEN) return undefined;
    this.header = {
      versionMajor: this.u16(buf, 4),
      versionMinor: this.u16(buf, 6),
      snapLen: this.u32(buf, 16),
      // The upper bits of the link type field carry FCS information (pcap-linktype(7)).
      linkType: this.u32(buf, 20) & 0x0fffffff,
      nanoseconds,
      bigEndian: !this.le,
    };
    return undefined;
  }

  private u16(b: Uint8Array, o: number): number {
    return this.le ? (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) : ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
  }

  private u32(b: Uint8Array, o: number): number {
    return this.le
      ? ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0
      : (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
  }
}

/** Reads a whole pcap file held in memory. */
export function readPcap(bytes: Uint8Array): { header: PcapFileHeader | undefined; records: PcapRecord[] } & PcapReadEnd {
  const r = new PcapReader();
  const records = r.push(bytes);
  return { header: r.header, records, ...r.finish() };
}
