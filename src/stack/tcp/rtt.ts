/**
 * Retransmission timeout computation, RFC 6298.
 *
 * - Before any sample: RTO = `initialRtoMs` (RFC 6298 2.1: 1 s).
 * - First sample R: SRTT = R, RTTVAR = R/2 (2.2); later: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|,
 *   SRTT = 7/8 SRTT + 1/8 R (2.3); RTO = SRTT + max(G, 4 RTTVAR).
 * - RTO is clamped to [minRtoMs, maxRtoMs]. RFC 6298 2.4 says a minimum of 1 s; like
 *   Linux and lwIP we default to 200 ms (configurable), which a LAN or in-process link
 *   needs to recover from loss in reasonable time; RFC 6298 2.5 allows a maximum of at
 *   least 60 s (default 60 s).
 * - Karn's rule (RFC 6298 3) is the caller's: no sample from a retransmitted segment
 *   unless timestamps disambiguate it.
 * - `backoff()` doubles the RTO after a timeout (5.5), up to the maximum; a new valid
 *   sample restores the computed value.
 */
export interface RttOptions {
  initialRtoMs?: number;
  minRtoMs?: number;
  maxRtoMs?: number;
  /** Clock granularity G in ms (default 1). */
  granularityMs?: number;
}

export class RttEstimator {
  private srttMs: number | undefined;
  private rttvarMs = 0;
  private rtoMs: number;
  private readonly minRto: number;
  private readonly maxRto: number;
  private readonly g: number;
  /** Consecutive back-offs since the last valid sample. */
  backoffs = 0;

  constructor(opts: RttOptions = {}) {
    this.minRto = opts.minRtoMs ?? 200;
    this.maxRto = opts.maxRtoMs ?? 60_000;
    this.g = opts.granularityMs ?? 1;
    this.rtoMs = this.clamp(opts.initialRtoMs ?? 1000);
  }

  /** Smoothed RTT in ms, or undefined before the first sample. */
  get srtt(): number | undefined {
    return this.srttMs;
  }

  get rttvar(): number {
    return this.rttvarMs;
  }

  /** The current retransmission timeout in ms (backed off if timeouts occurred). */
  get rto(): number {
    return this.rtoMs;
  }

  /** Records a round-trip sample (ms). */
  sample(rttMs: number): void {
    const r = Math.max(0, rttMs);
    if (this.srttMs === undefined) {
      this.srttMs = r;
      this.rttvarMs = r / 2;
    } else {
      this.rttvarMs = 0.75 * this.rttvarMs + 0.25 * Math.abs(this.srttMs - r);
      this.srttMs = 0.875 * this.srttMs + 0.125 * r;
    }
    this.backoffs = 0;
    this.rtoMs = this.clamp(this.srttMs + Math.max(this.g, 4 * this.rttvarMs));
  }

  /** Doubles the RTO after a retransmission timeout (RFC 6298 5.5). */
  backoff(): void {
    this.backoffs++;
    this.rtoMs = this.clamp(this.rtoMs * 2);
  }

  /**
   * RFC 6298 5.7: when the SYN (or SYN-ACK) timed out and no sample was taken, the RTO
   * once data flows must be at least 3 s.
   */
  afterSynTimeout(): void {
    if (this.srttMs === undefined) this.rtoMs = Math.max(this.rtoMs, this.clamp(3000));
  }

  private clamp(v: number): number {
    return Math.min(this.maxRto, Math.max(this.minRto, v));
  }
}
