/**
 * A loopback `Link`: every transmitted frame comes back out of `receive()`.
 */
import type { Instant } from '../base/time.ts';
import { FrameRing } from './frame-ring.ts';
import type { Link, LinkCaps } from './link.ts';
import { type CableStats, checkMtu, maxFrameLen } from './virtual-cable.ts';
import { WakeSet } from './wake-set.ts';

export interface LoopbackOptions {
  /** Default `'ip'`. */
  medium?: 'ethernet' | 'ip';
  /** Largest IP packet: default 65535 on `'ip'`, 1500 on `'ethernet'`. */
  mtu?: number;
  /** Receive queue bound in frames (default 1024). */
  queueFrames?: number;
}

/** Same counters as a cable end (`droppedQueueFull` when the own queue is full). */
export type LoopbackStats = CableStats;

/**
 * Transmit copies the frame into the link's own receive queue and runs its wake-ups synchronously,
 * so a stack that transmits during its poll is woken from inside that poll: the wake-up must only
 * schedule another poll. A frame returned by `receive()` stays valid until the next `receive()`,
 * even if the stack transmits meanwhile.
 */
export class Loopback implements Link {
  readonly caps: LinkCaps;
  private readonly rx: FrameRing;
  private readonly wakes = new WakeSet();
  private readonly maxFrame: number;
  private closed = false;
  private readonly counters: LoopbackStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    dropped: 0,
    droppedOversize: 0,
    droppedQueueFull: 0,
    droppedClosed: 0,
  };

  constructor(opts: LoopbackOptions = {}) {
    const medium = opts.medium ?? 'ip';
    const mtu = checkMtu(opts.mtu ?? (medium === 'ip' ? 65535 : 1500));
    this.caps = Object.freeze({ medium, mtu });
    this.maxFrame = maxFrameLen(medium, mtu);
    this.rx = new FrameRing(opts.queueFrames ?? 1024, this.maxFrame);
  }

  /** Frames waiting in the receive queue. */
  get queued(): number {
    return this.rx.length;
  }

  receive(_now: Instant): Uint8Array | undefined {
    if (this.closed) return undefined;
    const frame = this.rx.shift();
    if (frame !== undefined) {
      this.counters.rxFrames++;
      this.counters.rxBytes += frame.length;
    }
    return frame;
  }

  transmit(_now: Instant, frame: Uint8Array): boolean {
    const c = this.counters;
    if (this.closed) {
      c.dropped++;
      c.droppedClosed++;
      return false;
    }
    if (frame.length > this.maxFrame) {
      c.dropped++;
      c.droppedOversize++;
      return false;
    }
    if (!this.rx.push(frame)) {
      c.dropped++;
      c.droppedQueueFull++;
      return false;
    }
    c.txFrames++;
    c.txBytes += frame.length;
    this.wakes.notify();
    return true;
  }

  onReadable(wake: () => void): () => void {
    if (this.closed) return () => {};
    return this.wakes.add(wake);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rx.clear();
    this.wakes.clear();
  }

  stats(): LoopbackStats {
    return { ...this.counters };
  }
}
