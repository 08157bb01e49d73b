/**
 * The sender's segment log: one record per transmitted data (or FIN) segment between
 * SND.UNA and SND.MAX, with its sequence range, last transmission time and state
 * (SACKed, lost, retransmission in flight). It is the scoreboard of RFC 6675 and the
 * per-segment transmit times RACK (RFC 8985) needs; the bytes themselves stay in the
 * send ring.
 *
 * Records live in one `Float64Array` ring (4 numbers each), grown by doubling and
 * dropped when empty (`release`), so the steady state allocates nothing and an idle
 * connection holds nothing. Byte counters for the pipe (RFC 6675 §4) are kept up to
 * date on every flag change.
 */
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from '../../wire/tcp-seq.ts';

/** Record state bits. */
export const SegFlag = {
  /** Fully covered by a SACK block the peer sent. */
  SACKED: 1,
  /** Deemed lost (RACK, duplicate ACKs, or a retransmission timeout). */
  LOST: 2,
  /** A retransmission of this lost record is in flight. */
  RETRANS: 4,
  /** Sent more than once (its ACK cannot give an unambiguous RTT sample). */
  EVER_RETRANS: 8,
  /** The segment carries our FIN (its last sequence number). */
  FIN: 16,
} as const;

/** Called for every record the peer newly acknowledged (cumulatively or by SACK). */
export interface DeliverySink {
  delivered(xmitTime: number, endSeq: number, flags: number): void;
}

const STRIDE = 4;
const START = 0, END = 1, TIME = 2, FLAGS = 3;
const EMPTY = new Float64Array(0);

export class SegLog {
  private a: Float64Array = EMPTY;
  private head = 0;
  private n = 0;
  private mask = -1;
  /** Bytes in SACKed records. */
  sackedBytes = 0;
  /** SACKed records. */
  sackedSegs = 0;
  /** Bytes in records deemed lost and not SACKed. */
  lostBytes = 0;
  /** Bytes in lost records whose retransmission is in flight (not SACKed). */
  retransBytes = 0;
  /** Records ever retransmitted still in the log (their transmit times are out of order). */
  everRetrans = 0;

  /** Records held. */
  get length(): number {
    return this.n;
  }

  /** Bytes of lost records not yet retransmitted. */
  get pendingLostBytes(): number {
    return this.lostBytes - this.retransBytes;
  }

  private slot(i: number): number {
    return ((this.head + i) & this.mask) * STRIDE;
  }

  start(i: number): number {
    return this.a[this.slot(i) + START] as number;
  }

  end(i: number): number {
    return this.a[this.slot(i) + END] as number;
  }

  time(i: number): number {
    return this.a[this.slot(i) + TIME] as number;
  }

  flags(i: number): number {
    return this.a[this.slot(i) + FLAGS] as number;
  }

  /** Appends a record for a segment sent at `time`. */
  push(start: number, end: number, time: number, flags: number): void {
    const cap = this.a.length / STRIDE;
    if (this.n === cap) this.grow();
    const s = this.slot(this.n);
    const a = this.a;
    a[s + START] = start;
    a[s + END] = end;
    a[s + TIME] = time;
    a[s + FLAGS] = flags;
    this.n++;
  }

  private grow(): void {
    const cap = this.a.length / STRIDE;
    const next = new Float64Array(Math.max(16, cap * 2) * STRIDE);
    for (let i = 0; i < this.n; i++) next.set(this.a.subarray(this.slot(i), this.slot(i) + STRIDE), i * STRIDE);
    this.a = next;
    this.head = 0;
    this.mask = next.length / STRIDE - 1;
  }

  /** Records that the segment was sent again at `time`. */
  setTime(i: number, time: number): void {
    this.a[this.slot(i) + TIME] = time;
  }

  /** Changes a record's flags, keeping the byte counters right. */
  setFlags(i: number, flags: number): void {
    const s = this.slot(i);
    const old = this.a[s + FLAGS] as number;
    if (old === flags) return;
    const len = seqSub(this.a[s + END] as number, this.a[s + START] as number);
    this.countRecord(old, len, -1);
    this.countRecord(flags, len, 1);
    this.a[s + FLAGS] = flags;
  }

  /** Adds (sign 1) or removes (-1) a whole record with flags `f` and `len` bytes. */
  private countRecord(f: number, len: number, sign: number): void {
    this.countBytes(f, sign * len);
    if ((f & SegFlag.SACKED) !== 0) this.sackedSegs += sign;
    if ((f & SegFlag.EVER_RETRANS) !== 0) this.everRetrans += sign;
  }

  /** Adds `bytes` (negative: removes) to the byte counters a record with flags `f` feeds. */
  private countBytes(f: number, bytes: number): void {
    if ((f & SegFlag.SACKED) !== 0) {
      this.sackedBytes += bytes;
      return;
    }
    if ((f & SegFlag.LOST) !== 0) this.lostBytes += bytes;
    if ((f & SegFlag.RETRANS) !== 0) this.retransBytes += bytes;
  }

  /**
   * Drops the records SND.UNA = `una` covers (a record it splits is trimmed), telling
   * `sink` about each that was not SACKed before. Returns the bytes so delivered.
   */
  ackTo(una: number, sink: DeliverySink): number {
    let delivered = 0;
    while (this.n > 0) {
      const s = this.slot(0);
      const a = this.a;
      const start = a[s + START] as number, end = a[s + END] as number, f = a[s + FLAGS] as number;
      if (seqLe(end, una)) {
        const len = seqSub(end, start);
        this.countRecord(f, len, -1);
        if ((f & SegFlag.SACKED) === 0) {
          delivered += len;
          sink.delivered(a[s + TIME] as number, end, f);
        }
        this.head = (this.head + 1) & this.mask;
        this.n--;
        continue;
      }
      if (seqGt(una, start)) {
        // Partly acknowledged (the peer trimmed a segment to its window).
        const cut = seqSub(una, start);
        this.countBytes(f, -cut);
        if ((f & SegFlag.SACKED) === 0) delivered += cut;
        a[s + START] = una;
      }
      break;
    }
    if (this.n === 0) this.head = 0;
    return delivered;
  }

  /**
   * Marks the records wholly inside the SACK block `[left, right)` as SACKed, telling
   * `sink` about each. Returns the bytes newly SACKed.
   */
  sack(left: number, right: number, sink: DeliverySink): number {
    let newly = 0;
    for (let i = 0; i < this.n; i++) {
      const s = this.slot(i);
      const start = this.a[s + START] as number;
      if (seqGe(start, right)) break;
      const end = this.a[s + END] as number;
      const f = this.a[s + FLAGS] as number;
      if ((f & SegFlag.SACKED) !== 0 || seqLt(start, left) || seqGt(end, right)) continue;
      this.setFlags(i, (f | SegFlag.SACKED) & ~(SegFlag.LOST | SegFlag.RETRANS));
      newly += seqSub(end, start);
      sink.delivered(this.a[s + TIME] as number, end, f);
    }
    return newly;
  }

  /** Index of the lowest lost record awaiting retransmission, or -1. */
  firstPendingLost(): number {
    if (this.lostBytes === this.retransBytes) return -1;
    for (let i = 0; i < this.n; i++) {
      const f = this.flags(i);
      if ((f & (SegFlag.LOST | SegFlag.RETRANS | SegFlag.SACKED)) === SegFlag.LOST) return i;
    }
    return -1;
  }

  /** Marks every record not SACKed as lost, with no retransmission in flight (RTO). */
  markAllLost(): void {
    for (let i = 0; i < this.n; i++) {
      const f = this.flags(i);
      if ((f & SegFlag.SACKED) === 0) this.setFlags(i, (f | SegFlag.LOST) & ~SegFlag.RETRANS);
    }
  }

  /** Forgets every SACK mark (the peer reneged: RFC 2018 §8). */
  clearSacks(): void {
    for (let i = 0; i < this.n; i++) {
      const f = this.flags(i);
      if ((f & SegFlag.SACKED) !== 0) this.setFlags(i, f & ~SegFlag.SACKED);
    }
  }

  /**
   * Splits every record carrying more than `maxPayload` data bytes into records of at
   * most that many, each with the original send time and flags (a FIN stays on the last
   * piece): the path MTU shrank (RFC 8201 §5.2) and segments that large were dropped on
   * the way. The pieces of a record not SACKed are marked lost, with no retransmission
   * in flight, so they go out again at the new size. Records that fit are left alone.
   * Returns how many records were split (O(records); only after a Packet Too Big).
   */
  splitLarge(maxPayload: number): number {
    if (!(maxPayload >= 1)) return 0;
    let split = 0, total = this.n;
    for (let i = 0; i < this.n; i++) {
      const data = seqSub(this.end(i), this.start(i)) - ((this.flags(i) & SegFlag.FIN) !== 0 ? 1 : 0);
      if (data > maxPayload) {
        split++;
        total += Math.ceil(data / maxPayload) - 1;
      }
    }
    if (split === 0) return 0;
    let cap = 16;
    while (cap < total) cap *= 2;
    const next = new Float64Array(cap * STRIDE);
    let k = 0;
    const put = (start: number, end: number, time: number, flags: number): void => {
      const s = k++ * STRIDE;
      next[s + START] = start;
      next[s + END] = end;
      next[s + TIME] = time;
      next[s + FLAGS] = flags;
    };
    for (let i = 0; i < this.n; i++) {
      const start = this.start(i), end = this.end(i), time = this.time(i);
      let f = this.flags(i);
      const fin = (f & SegFlag.FIN) !== 0;
      let left = seqSub(end, start) - (fin ? 1 : 0);
      if (left <= maxPayload) {
        put(start, end, time, f);
        continue;
      }
      if ((f & SegFlag.SACKED) === 0) f = (f | SegFlag.LOST) & ~SegFlag.RETRANS;
      for (let s = start; left > 0;) {
        const len = Math.min(maxPayload, left);
        left -= len;
        const last = left === 0;
        const e = seqAdd(s, len + (last && fin ? 1 : 0));
        put(s, e, time, last ? f : f & ~SegFlag.FIN);
        s = e;
      }
    }
    this.a = next;
    this.head = 0;
    this.mask = cap - 1;
    this.n = total;
    this.sackedBytes = this.sackedSegs = this.lostBytes = this.retransBytes = this.everRetrans = 0;
    for (let i = 0; i < total; i++) this.countRecord(this.flags(i), seqSub(this.end(i), this.start(i)), 1);
    return split;
  }

  /** Drops everything (connection closed). */
  clear(): void {
    this.head = 0;
    this.n = 0;
    this.sackedBytes = this.sackedSegs = this.lostBytes = this.retransBytes = this.everRetrans = 0;
  }

  /** Frees the store when empty (idle connections hold no log memory). */
  release(): void {
    if (this.n !== 0) return;
    this.a = EMPTY;
    this.head = 0;
    this.mask = -1;
  }

  /** True when the store is allocated. */
  get allocated(): boolean {
    return this.a.length > 0;
  }
}
