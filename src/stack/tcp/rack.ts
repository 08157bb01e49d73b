/**
 * RACK loss detection (RFC 8985 §6): a segment is deemed lost when a segment sent
 * after it was delivered and more than one RTT plus a reordering window has passed
 * since it was sent. Time-based, so it also finds lost retransmissions and losses at
 * the tail that three duplicate ACKs never reveal.
 *
 * The TCB feeds every delivered record (`delivered`, via the segment log) and asks
 * `detect` to mark losses in the log; the answer includes when to look again (the
 * reordering timer).
 */
import { seqGt, seqLt } from '../../wire/tcp-seq.ts';
import { SegFlag, type DeliverySink, type SegLog } from './seg-log.ts';

/** RFC 8985 §6.2: DupThresh for the reordering-window shortcut. */
const DUP_THRESH = 3;

export class Rack implements DeliverySink {
  /** Transmit time and end sequence of the most recently sent segment delivered. */
  private xmitTs = -Infinity;
  private endSeq = 0;
  /** RTT of that segment (ms). */
  private rtt = 0;
  /** Smallest RTT seen (ms); the reordering window is a quarter of it. */
  minRtt = Infinity;
  /** Highest end sequence delivered ("forward ACK"). */
  private fack = 0;
  private fackSet = false;
  /** A segment was delivered below one delivered earlier: the path reorders. */
  reorderingSeen = false;
  /** The most recent delivery moved `xmitTs` forward: `detect` has work to do. */
  advanced = false;
  /** Set by the TCB before feeding deliveries: the time they are seen. */
  now = 0;
  /** After `detect`: when the reordering timer must look again (Infinity: not needed). */
  timeoutAt = Infinity;

  delivered(xmitTime: number, endSeq: number, flags: number): void {
    const retransmitted = (flags & SegFlag.EVER_RETRANS) !== 0;
    const rtt = this.now - xmitTime;
    // RFC 8985 §6.2 step 2: an ACK that may be for the original transmission of a
    // retransmitted segment (sooner than the minimum RTT) says nothing about timing.
    if (retransmitted && rtt < this.minRtt) return;
    if (!retransmitted && rtt < this.minRtt) this.minRtt = Math.max(0, rtt);
    if (xmitTime > this.xmitTs || (xmitTime === this.xmitTs && seqGt(endSeq, this.endSeq))) {
      this.xmitTs = xmitTime;
      this.endSeq = endSeq;
      this.rtt = rtt;
      this.advanced = true;
    }
    // Step 3: reordering.
    if (!this.fackSet || seqGt(endSeq, this.fack)) {
      this.fack = endSeq;
      this.fackSet = true;
    } else if (seqLt(endSeq, this.fack) && !retransmitted) {
      this.reorderingSeen = true;
    }
  }

  /** RFC 8985 §6.2 step 4: the reordering window (ms). */
  reoWnd(inRecovery: boolean, sackedSegs: number, srtt: number | undefined): number {
    if (!this.reorderingSeen && (inRecovery || sackedSegs >= DUP_THRESH)) return 0;
    const quarter = this.minRtt === Infinity ? 0 : this.minRtt / 4;
    return srtt === undefined ? quarter : Math.min(quarter, srtt);
  }

  /**
   * RFC 8985 §6.2 step 5: marks lost every record sent before the most recently
   * delivered one whose time is up. Returns whether anything new was marked; sets
   * `timeoutAt` to the earliest time a still-pending record would expire (Infinity: none).
   */
  detect(now: number, log: SegLog, reoWnd: number): boolean {
    this.advanced = false;
    let lost = false;
    let timeoutAt = Infinity;
    // Without retransmissions in the log, records are in transmit order: stop at the
    // first one not sent before the RACK segment.
    const ordered = log.everRetrans === 0;
    for (let i = 0; i < log.length; i++) {
      const f = log.flags(i);
      const t = log.time(i);
      const sentBefore = t < this.xmitTs || (t === this.xmitTs && seqLt(log.end(i), this.endSeq));
      if (!sentBefore) {
        if (ordered) break;
        continue;
      }
      if ((f & SegFlag.SACKED) !== 0) continue;
      if ((f & SegFlag.LOST) !== 0 && (f & SegFlag.RETRANS) === 0) continue; // already awaiting retransmission
      const remaining = t + this.rtt + reoWnd - now;
      if (remaining <= 0) {
        log.setFlags(i, (f | SegFlag.LOST) & ~SegFlag.RETRANS);
        lost = true;
      } else {
        timeoutAt = Math.min(timeoutAt, now + remaining);
      }
    }
    this.timeoutAt = timeoutAt;
    return lost;
  }
}
