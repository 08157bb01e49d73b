/**
 * A loopback `Link`: every transmitted frame comes back out of `receive()`.
 */
import { type CableStats, QueueEnd, checkMtu } from './virtual-cable.ts';

/** Options of `Loopback`. */
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
export class Loopback extends QueueEnd {
  constructor(opts: LoopbackOptions = {}) {
    const medium = opts.medium ?? 'ip';
    const mtu = checkMtu(opts.mtu ?? (medium === 'ip' ? 65535 : 1500));
    super(Object.freeze({ medium, mtu }), opts.queueFrames ?? 1024);
    this.peer = this;
  }
}
