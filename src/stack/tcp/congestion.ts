/**
 * Congestion control: NewReno (RFC 5681 + RFC 6582), with the RFC 6928 initial window
 * of 10 segments and appropriate byte counting (RFC 3465, L = 2 SMSS in slow start).
 *
 * The controller only does window arithmetic; the TCB tells it what happened
 * (new data acknowledged, duplicate ACKs, a retransmission timeout) and asks how much
 * may be in flight and what to retransmit.
 */
import { seqGe, seqLt } from '../../wire/tcp-seq.ts';

/** RFC 6928: IW = min(10 * SMSS, max(2 * SMSS, 14600)). */
export function initialWindow(smss: number): number {
  return Math.min(10 * smss, Math.max(2 * smss, 14600));
}

/** What the TCB must do after an ACK event. */
export type AckAction = 'none' | 'fast-retransmit' | 'partial-retransmit';

export class NewReno {
  /** Congestion window in bytes. */
  cwnd: number;
  /** Slow-start threshold ("arbitrarily high" initially, RFC 5681 3.1). */
  ssthresh = 0x7fffffff;
  /** Duplicate ACKs seen in a row. */
  dupAcks = 0;
  /** In fast recovery until `recover` is acknowledged (RFC 6582). */
  inRecovery = false;
  /** Highest sequence number sent when recovery began. */
  recover = 0;
  private smss: number;
  /** Bytes acknowledged in congestion avoidance not yet turned into window growth. */
  private caAcked = 0;

  constructor(smss: number) {
    this.smss = smss;
    this.cwnd = initialWindow(smss);
  }

  /** Updates the sender MSS (after the handshake); keeps the window in segments. */
  setMss(smss: number): void {
    if (smss === this.smss) return;
    this.cwnd = initialWindow(smss);
    this.smss = smss;
  }

  /**
   * New data acknowledged: `acked` bytes, `ack` the new SND.UNA, `flight` the bytes still
   * outstanding after this ACK. Returns 'partial-retransmit' when, in recovery, the ACK
   * covers only part of the window (RFC 6582 3.2 step 3): retransmit the first unacked.
   */
  onNewAck(acked: number, ack: number, flight: number): AckAction {
    this.dupAcks = 0;
    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        // Full acknowledgment (RFC 6582 3.2 step 3, option 1): deflate.
        this.cwnd = Math.min(this.ssthresh, Math.max(flight, this.smss) + this.smss);
        this.inRecovery = false;
        return 'none';
      }
      // Partial acknowledgment: deflate by the amount acked, add back one SMSS.
      this.cwnd = Math.max(this.smss, this.cwnd - acked + this.smss);
      return 'partial-retransmit';
    }
    if (this.cwnd < this.ssthresh) {
      // Slow start with ABC (RFC 3465): grow by the bytes acked, at most 2 SMSS per ACK.
      this.cwnd += Math.min(acked, 2 * this.smss);
    } else {
      // Congestion avoidance: one SMSS per window's worth of acknowledged bytes.
      this.caAcked += acked;
      if (this.caAcked >= this.cwnd) {
        this.caAcked -= this.cwnd;
        this.cwnd += this.smss;
      }
    }
    return 'none';
  }

  /**
   * A duplicate ACK (RFC 5681 definition, checked by the TCB). On the third, enter fast
   * recovery: returns 'fast-retransmit'. `highestSent` is the sequence number of the
   * last byte sent (SND.NXT - 1); `flight` the bytes outstanding.
   */
  onDupAck(highestSent: number, una: number, flight: number): AckAction {
    this.dupAcks++;
    if (this.inRecovery) {
      this.cwnd += this.smss; // inflate for each further duplicate (RFC 5681 3.2 step 4)
      return 'none';
    }
    if (this.dupAcks !== 3) return 'none';
    // RFC 6582 3.2 step 2: only if the ACK covers more than `recover` (avoid repeated
    // reductions within one window of data).
    if (seqLt(una, this.recover) && this.recover !== 0) return 'none';
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.smss);
    this.recover = highestSent;
    this.cwnd = this.ssthresh + 3 * this.smss;
    this.inRecovery = true;
    return 'fast-retransmit';
  }

  /** A retransmission timeout (RFC 5681 3.1 eq. 4, RFC 6582 4): collapse to one segment. */
  onTimeout(flight: number, highestSent: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.smss);
    this.cwnd = this.smss;
    this.dupAcks = 0;
    this.caAcked = 0;
    this.inRecovery = false;
    this.recover = highestSent;
  }

  /** RFC 5681 4.1: restart after an idle period longer than the RTO. */
  onIdleRestart(): void {
    this.cwnd = Math.min(this.cwnd, initialWindow(this.smss));
  }
}
