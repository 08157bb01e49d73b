/**
 * The stack's timers: one binary min-heap of `(deadline, item)` with lazy deletion.
 *
 * An item (a PCB, the ARP cache, a pending ping, ...) carries its current deadline in
 * its own `deadline` field, which only this heap writes. Rescheduling pushes a new
 * entry and leaves the old one in place; an entry is live only while its `at` equals
 * the item's `deadline`, so stale entries are skipped when they surface (and the heap
 * is compacted when they outnumber the live ones). Nothing is ever searched or removed
 * from the middle: schedule, cancel and pop are O(log n) or O(1), with no allocation
 * beyond the array growth.
 *
 * Pure: no clock. Deadlines are whatever the caller's `now` is measured in (ms).
 */

/** Something with a deadline. `deadline` is owned by the heap: read it, never write it. */
export interface Timed {
  deadline: number | undefined;
}

/** Entries beyond `2 * live + COMPACT_SLACK` trigger a compaction. */
const COMPACT_SLACK = 64;

export class TimerHeap<T extends Timed> {
  private ats: number[] = [];
  private items: T[] = [];
  private liveCount = 0;

  /** Entries in the heap, stale ones included (for tests and memory checks). */
  get size(): number {
    return this.ats.length;
  }

  /** Items with a deadline. */
  get live(): number {
    return this.liveCount;
  }

  /**
   * Sets `item`'s deadline to `at` (undefined cancels it). Scheduling the deadline the
   * item already has is free; any other change pushes one entry.
   */
  schedule(item: T, at: number | undefined): void {
    if (at !== undefined && !Number.isFinite(at)) at = undefined;
    const old = item.deadline;
    if (old === at) return;
    if (old === undefined) this.liveCount++;
    else if (at === undefined) this.liveCount--;
    item.deadline = at;
    if (at === undefined) return;
    this.push(at, item);
    if (this.ats.length > 2 * this.liveCount + COMPACT_SLACK) this.compact();
  }

  /** Cancels `item`'s deadline (same as `schedule(item, undefined)`). */
  cancel(item: T): void {
    this.schedule(item, undefined);
  }

  /** The earliest live deadline, or undefined. Drops stale entries on top. */
  nextAt(): number | undefined {
    this.dropStale();
    return this.ats.length > 0 ? this.ats[0] : undefined;
  }

  /**
   * The item whose deadline is earliest and at or before `now`, removed from the heap
   * (its `deadline` becomes undefined), or undefined when nothing is due. Items due at
   * the same time come out in no particular order.
   */
  popDue(now: number): T | undefined {
    this.dropStale();
    if (this.ats.length === 0 || (this.ats[0] as number) > now) return undefined;
    const item = this.items[0] as T;
    this.removeTop();
    item.deadline = undefined;
    this.liveCount--;
    return item;
  }

  /** Forgets every entry and every item's deadline. */
  clear(): void {
    for (let i = 0; i < this.items.length; i++) (this.items[i] as T).deadline = undefined;
    this.ats = [];
    this.items = [];
    this.liveCount = 0;
  }

  private isLive(i: number): boolean {
    return (this.items[i] as T).deadline === this.ats[i];
  }

  private dropStale(): void {
    while (this.ats.length > 0 && !this.isLive(0)) this.removeTop();
  }

  private push(at: number, item: T): void {
    const ats = this.ats;
    const items = this.items;
    let i = ats.length;
    ats.push(at);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pa = ats[p] as number;
      if (pa <= at) break;
      ats[i] = pa;
      items[i] = items[p] as T;
      i = p;
    }
    ats[i] = at;
    items[i] = item;
  }

  private removeTop(): void {
    const ats = this.ats;
    const items = this.items;
    const lastAt = ats.pop() as number;
    const lastItem = items.pop() as T;
    const n = ats.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (ats[r] as number) < (ats[l] as number) ? r : l;
      const ca = ats[c] as number;
      if (ca >= lastAt) break;
      ats[i] = ca;
      items[i] = items[c] as T;
      i = c;
    }
    ats[i] = lastAt;
    items[i] = lastItem;
  }

  /** Rebuilds the heap from its live entries (one per item). */
  private compact(): void {
    const oldAts = this.ats;
    const oldItems = this.items;
    const seen = new Set<T>();
    this.ats = [];
    this.items = [];
    for (let i = 0; i < oldAts.length; i++) {
      const item = oldItems[i] as T;
      if (item.deadline !== oldAts[i] || seen.has(item)) continue;
      seen.add(item);
      this.push(oldAts[i] as number, item);
    }
    this.liveCount = this.ats.length;
  }
}
