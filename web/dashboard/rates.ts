/**
 * Message and byte rates from the deltas between successive snapshots: per node, and for all
 * devices together. Pure (no DOM), so it is unit-tested in Node.
 */
import type { DemoCounters, DemoSnapshot } from './model.ts';

/** One rate sample: per second, over the interval that ends at `t` (ms since the run started). */
export interface RateSample {
  readonly t: number;
  readonly msgs: number;
  readonly bytes: number;
}

/** The key of the all-devices series. */
export const ALL_DEVICES = '*devices';

function totals(c: DemoCounters): { msgs: number; bytes: number } {
  return { msgs: c.sent + c.received, bytes: c.bytesIn + c.bytesOut };
}

export class RateHistory {
  private last: { t: number; counters: Map<string, { msgs: number; bytes: number }> } | undefined;
  private readonly series = new Map<string, RateSample[]>();

  /** Keeps the latest `max` samples of each series. */
  constructor(private readonly max = 60) {}

  /** Takes a snapshot in; a snapshot older than the last one (a new run) starts over. */
  add(s: DemoSnapshot): void {
    const now = new Map<string, { msgs: number; bytes: number }>();
    const all = { msgs: 0, bytes: 0 };
    for (const n of s.nodes) {
      const c = totals(n.counters);
      now.set(n.id, c);
      if (n.role === 'device') {
        all.msgs += c.msgs;
        all.bytes += c.bytes;
      }
    }
    now.set(ALL_DEVICES, all);
    const prev = this.last;
    if (prev !== undefined && s.t < prev.t) this.series.clear();
    if (prev !== undefined && s.t > prev.t) {
      const dt = (s.t - prev.t) / 1000;
      for (const [id, c] of now) {
        const p = prev.counters.get(id);
        if (p === undefined) continue;
        const list = this.series.get(id) ?? [];
        list.push({ t: s.t, msgs: Math.max(0, c.msgs - p.msgs) / dt, bytes: Math.max(0, c.bytes - p.bytes) / dt });
        if (list.length > this.max) list.splice(0, list.length - this.max);
        this.series.set(id, list);
      }
    }
    if (prev === undefined || s.t !== prev.t) this.last = { t: s.t, counters: now };
  }

  /** The samples of a node (or `ALL_DEVICES`), oldest first. */
  of(id: string): readonly RateSample[] {
    return this.series.get(id) ?? [];
  }
}
