/**
 * Congestion control: Reno window growth (RFC 5681) with the RFC 6928 initial window of
 * 10 segments and appropriate byte counting (RFC 3465, L = 2 SMSS in slow start), and
 * proportional rate reduction (RFC 6937) during fast recovery.
 *
 * The controller only does window arithmetic. Loss detection (RACK, duplicate ACKs,
 * timeouts), the pipe (RFC 6675) and what to retransmit are the TCB's; it tells the
 * controller what happened.
 */

/** RFC 6928: IW = min(10 * SMSS, max(2 * SMSS, 14600)). */
export function initialWindow(smss: number): number {
  return Math.min(10 * smss, Math.max(2 * smss, 14600));
}

export class NewReno {
  /** Congestion window in bytes. */
  cwnd: number;
  /** Slow-start threshold ("arbitrarily high" initially, RFC 5681 3.1). */
  ssthresh = 0x7fffffff;
  private smss: number;
  /** Bytes acknowledged in congestion avoidance not yet turned into window growth. */
  private caAcked = 0;
  // Proportional rate reduction state (RFC 6937 3).
  private prrDelivered = 0;
  private prrOut = 0;
  private recoverFs = 1;

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
   * The path MTU shrank mid-connection (RFC 8201): the sender MSS drops to `smss`. Not a
   * congestion signal: the window and ssthresh keep their size in segments (as Linux,
   * which counts both in packets), so the bytes in flight shrink with the segments.
   * Never raises the MSS.
   */
  lowerMss(smss: number): void {
    if (!(smss > 0 && smss < this.smss)) return;
    const ratio = smss / this.smss;
    this.cwnd = Math.max(smss, Math.floor(this.cwnd * ratio));
    if (this.ssthresh !== 0x7fffffff) this.ssthresh = Math.max(2 * smss, Math.floor(this.ssthresh * ratio));
    this.caAcked = Math.floor(this.caAcked * ratio);
    this.smss = smss;
  }

  /**
   * New data acknowledged outside fast recovery (`acked` bytes): slow start with
   * appropriate byte counting (RFC 3465, at most 2 SMSS per ACK), or congestion
   * avoidance (one SMSS per window's worth of acknowledged bytes).
   */
  onAck(acked: number): void {
    if (acked <= 0) return;
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, 2 * this.smss);
      return;
    }
    this.caAcked += acked;
    if (this.caAcked >= this.cwnd) {
      this.caAcked -= this.cwnd;
      this.cwnd += this.smss;
    }
  }

  /**
   * Loss detected: fast recovery begins (RFC 6675 5 step 4, RFC 5681 eq. 4):
   * ssthresh = max(FlightSize / 2, 2 SMSS). The window then follows PRR; it starts at
   * `pipe` + 1 SMSS so the first retransmission goes out at once.
   */
  enterRecovery(flight: number, pipe: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.smss);
    this.prrDelivered = 0;
    this.prrOut = 0;
    this.recoverFs = Math.max(1, flight);
    this.caAcked = 0;
    this.cwnd = pipe + this.smss;
  }

  /**
   * An ACK in fast recovery delivered `delivered` bytes (cumulatively or by SACK) and
   * left `pipe` bytes in flight: PRR (RFC 6937 3) sets the window so that the sending
   * rate falls smoothly to ssthresh (proportional part) and, once the pipe is below
   * it, slow-starts back up to it (PRR-SSRB).
   */
  onRecoveryAck(delivered: number, pipe: number): void {
    this.prrDelivered += Math.max(0, delivered);
    let sndcnt: number;
    if (pipe > this.ssthresh) {
      sndcnt = Math.ceil((this.prrDelivered * this.ssthresh) / this.recoverFs) - this.prrOut;
    } else {
      sndcnt = Math.min(this.ssthresh - pipe, Math.max(this.prrDelivered - this.prrOut, delivered) + this.smss);
    }
    // Like Linux: the fast retransmit always goes out.
    if (this.prrOut === 0) sndcnt = Math.max(sndcnt, this.smss);
    this.cwnd = pipe + Math.max(0, sndcnt);
  }

  /** Bytes sent during fast recovery (PRR's prr_out). */
  onRecoverySent(bytes: number): void {
    this.prrOut += bytes;
  }

  /** Fast recovery ends (the recovery point was acknowledged): cwnd = ssthresh (RFC 6937 3). */
  exitRecovery(): void {
    this.cwnd = this.ssthresh;
    this.caAcked = 0;
  }

  /** A retransmission timeout (RFC 5681 3.1 eq. 4): collapse to one segment. */
  onTimeout(flight: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.smss);
    this.cwnd = this.smss;
    this.caAcked = 0;
  }

  /** A tail loss probe repaired a loss (RFC 8985 7.4.2): the same reduction as fast recovery. */
  onProbeRepairedLoss(): void {
    this.ssthresh = Math.max(Math.floor(this.cwnd / 2), 2 * this.smss);
    this.cwnd = this.ssthresh;
    this.caAcked = 0;
  }

  /** The SYN or SYN-ACK was lost: the initial window is one segment (RFC 6928 2, RFC 5681 3.1). */
  onSynLoss(): void {
    this.cwnd = this.smss;
  }

  /** RFC 5681 4.1: restart after an idle period longer than the RTO. */
  onIdleRestart(): void {
    this.cwnd = Math.min(this.cwnd, initialWindow(this.smss));
  }
}
