/**
 * A patch cable between two `Link`s: every frame one receives, the other transmits. The
 * WebSocket bridge uses it to join a connection's `WebSocketLink` to a `VirtualSwitch` port.
 *
 * A link's wake-up only schedules a drain (a microtask: wake-ups may run inside somebody's
 * `transmit`, where `receive` must not be called); the drain moves at most `batch` frames each
 * way and schedules itself again when frames are left. A frame the far side refuses is counted
 * (`refusedAtoB` / `refusedBtoA`): the far link has counted why.
 */
import type { Clock } from '../../base/time.ts';
import type { Link } from '../../link/link.ts';

/** What a `FramePump` has moved, and what the far side refused. */
export interface FramePumpStats {
  /** Frames moved from `a` to `b`. */
  aToB: number;
  /** Frames moved from `b` to `a`. */
  bToA: number;
  /** Frames from `a` that `b`'s `transmit` refused. */
  refusedAtoB: number;
  /** Frames from `b` that `a`'s `transmit` refused. */
  refusedBtoA: number;
}

/** Moves frames between two links, both ways (see the module comment). */
export class FramePump {
  private readonly a: Link;
  private readonly b: Link;
  private readonly clock: Clock;
  private readonly batch: number;
  private readonly offs: Array<() => void>;
  private scheduled = false;
  private closed = false;
  private readonly counters: FramePumpStats = { aToB: 0, bToA: 0, refusedAtoB: 0, refusedBtoA: 0 };

  constructor(a: Link, b: Link, clock: Clock, opts: { batch?: number } = {}) {
    this.a = a;
    this.b = b;
    this.clock = clock;
    this.batch = opts.batch ?? 64;
    this.offs = [a.onReadable(this.wake), b.onReadable(this.wake)];
    this.wake();
  }

  /** A snapshot of the counters. */
  stats(): FramePumpStats {
    return { ...this.counters };
  }

  /** Stops moving frames (the links stay open: close them yourself). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
  }

  private readonly wake = (): void => {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(this.drain);
  };

  private readonly drain = (): void => {
    this.scheduled = false;
    if (this.closed) return;
    const now = this.clock.now();
    const moreAtoB = this.move(this.a, this.b, now, 'aToB', 'refusedAtoB');
    const moreBtoA = this.move(this.b, this.a, now, 'bToA', 'refusedBtoA');
    if (moreAtoB || moreBtoA) this.wake();
  };

  /** Moves up to `batch` frames; true when it stopped with frames possibly left. */
  private move(from: Link, to: Link, now: number, moved: 'aToB' | 'bToA', refused: 'refusedAtoB' | 'refusedBtoA'): boolean {
    for (let i = 0; i < this.batch; i++) {
      const frame = from.receive(now);
      if (frame === undefined) return false;
      if (to.transmit(now, frame)) this.counters[moved]++;
      else this.counters[refused]++;
    }
    return true;
  }
}
