/**
 * Out-of-order byte-range tracking for a TCP receive queue.
 *
 * Offsets are relative to the in-order point (RCV.NXT): offset 0 is the next byte the
 * application may read once it arrives. `add` records a received range and reports how
 * many bytes became contiguous from offset 0; those are committed by the caller and
 * every remaining range shifts down by that amount.
 *
 * The number of separate ranges is bounded (`maxRanges`): a segment that would create
 * one more is refused, and the peer retransmits it later (memory stays bounded under
 * any reordering or attack). SACK blocks (RFC 2018) come out with the most recently
 * updated range first, as §4 requires.
 */
interface Range {
  start: number;
  end: number;
  /** Update counter, for "most recent first" SACK ordering. */
  stamp: number;
}

export class Assembler {
  readonly maxRanges: number;
  private ranges: Range[] = [];
  private clock = 0;

  constructor(maxRanges = 32) {
    this.maxRanges = Math.max(1, maxRanges);
  }

  /** True when no out-of-order data is held. */
  get isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  /** Number of separate out-of-order ranges held. */
  get rangeCount(): number {
    return this.ranges.length;
  }

  /** End of the furthest range held (0 when empty): bytes the receive buffer must keep. */
  get extent(): number {
    return this.ranges.length === 0 ? 0 : (this.ranges[this.ranges.length - 1] as Range).end;
  }

  /**
   * Records bytes `[offset, offset + len)`. Returns the number of bytes now contiguous
   * from offset 0 (and shifts what remains down by it), or -1 when the range was
   * refused because it would exceed `maxRanges` (nothing recorded).
   */
  add(offset: number, len: number): number {
    if (len <= 0) return 0;
    let start = Math.max(0, offset);
    let end = offset + len;
    if (end <= start) return 0;
    const stamp = ++this.clock;
    const rs = this.ranges;
    // Find the first range that ends at or after `start` (touching ranges merge).
    let i = 0;
    while (i < rs.length && (rs[i] as Range).end < start) i++;
    // Merge every range overlapping or touching [start, end).
    let j = i;
    while (j < rs.length && (rs[j] as Range).start <= end) {
      const r = rs[j] as Range;
      start = Math.min(start, r.start);
      end = Math.max(end, r.end);
      j++;
    }
    const merged = j - i;
    if (merged === 0 && rs.length >= this.maxRanges && start !== 0) return -1;
    rs.splice(i, merged, { start, end, stamp });
    const first = rs[0] as Range;
    if (first.start !== 0) return 0;
    const advance = first.end;
    rs.shift();
    for (const r of rs) {
      r.start -= advance;
      r.end -= advance;
    }
    return advance;
  }

  /**
   * Shifts every range down by `n` bytes that arrived in order (not through `add`):
   * ranges now at or below 0 are trimmed. Returns the further contiguous bytes that
   * became available (a range that now starts at 0).
   */
  advance(n: number): number {
    if (n <= 0 || this.ranges.length === 0) return 0;
    for (const r of this.ranges) {
      r.start -= n;
      r.end -= n;
    }
    this.ranges = this.ranges.filter((r) => r.end > 0);
    const first = this.ranges[0];
    if (first === undefined || first.start > 0) return 0;
    const more = first.end;
    this.ranges.shift();
    for (const r of this.ranges) {
      r.start -= more;
      r.end -= more;
    }
    return more;
  }

  /**
   * Up to `max` SACK blocks as `[start, end)` offsets, most recently updated first
   * (RFC 2018 §4). The caller adds RCV.NXT to get sequence numbers.
   */
  sackBlocks(max: number): [number, number][] {
    if (max <= 0 || this.ranges.length === 0) return [];
    return [...this.ranges]
      .sort((a, b) => b.stamp - a.stamp)
      .slice(0, max)
      .map((r) => [r.start, r.end]);
  }

  /** Forgets every range. */
  clear(): void {
    this.ranges = [];
  }
}
