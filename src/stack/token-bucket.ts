/**
 * A token bucket (RFC 1812 §4.3.2.8 suggests one for ICMP error rate limiting; RFC 4443
 * §2.4 (f) describes the same for ICMPv6): `burst` tokens at most, refilled at
 * `perSecond` tokens per second; each event takes one token or is refused. Pure: time
 * is the caller's `now` in ms. Starts full.
 */
export class TokenBucket {
  readonly perSecond: number;
  readonly burst: number;
  private tokens: number;
  private last: number | undefined;

  constructor(perSecond: number, burst: number) {
    this.perSecond = Math.max(0, perSecond);
    this.burst = Math.max(0, Math.floor(burst));
    this.tokens = this.burst;
  }

  /** Takes one token at `now`; false (nothing taken) when the bucket is empty. */
  take(now: number): boolean {
    if (this.last === undefined) this.last = now;
    else if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
