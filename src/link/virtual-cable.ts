/**
 * A virtual cable: two `Link` ends joined back to back, for stack-to-stack tests and simulations.
 *
 * `transmit` on one end copies the frame into the other end's bounded receive queue and runs the
 * other end's wake-ups. Nothing is delivered re-entrantly: the peer's stack picks the frame up with
 * `receive()` in its next poll.
 *
 * Carrier: both ends share one (`linkState`). `unplug()` on either end cuts the cable: both ends
 * report down, frames queued on either end are lost and transmits fail (`droppedNoCarrier`) until
 * `plug()` restores it.
 */
import type { Instant } from '../base/time.ts';
import { MAC_FCS_LEN, MAX_PHY_PACKET } from '../wire/ieee802154.ts';
import { Carrier } from './carrier.ts';
import { FrameRing } from './frame-ring.ts';
import type { Link, LinkCaps, LinkStats } from './link.ts';
import { WakeSet } from './wake-set.ts';

/** Ethernet II header bytes counted on top of the MTU on an `'ethernet'` medium. */
export const ETHERNET_HEADER_LEN = 14;

/** Options of `createCable`. */
export interface CableOptions {
  /** Largest IP packet (default 1500): frames up to mtu + 14 bytes on Ethernet, mtu on `'ip'`. */
  mtu?: number;
  /** Default `'ethernet'`. */
  medium?: 'ethernet' | 'ip';
  /** Receive queue bound per end, in frames (default 1024); a frame arriving at a full queue is dropped. */
  queueFrames?: number;
}

/** `LinkStats` with the drops split by reason. Drops are counted at the end whose `transmit` returned false. */
export interface CableStats extends LinkStats {
  /** Frames longer than the medium allows (mtu + 14 on Ethernet, mtu on IP, 125 on IEEE 802.15.4). */
  droppedOversize: number;
  /** The peer's receive queue was full. */
  droppedQueueFull: number;
  /** This end or the peer was closed. */
  droppedClosed: number;
  /** The cable was cut (`unplug()`): transmits while cut, and frames queued at this end when it was cut. */
  droppedNoCarrier: number;
}

/** One end of a cable: a `Link` plus its counters. */
export interface CableEnd extends Link {
  /** A copy of this end's counters. */
  stats(): CableStats;
  /** Frames waiting in this end's receive queue. */
  readonly queued: number;
  /** The cable's carrier (shared by both ends). */
  readonly linkState: Carrier;
  /** Cuts the cable (both ends go down; queued frames are lost). Idempotent. */
  unplug(): void;
  /** Restores the cable. Idempotent. */
  plug(): void;
}

/** Largest frame a medium carries for `mtu`. */
export function maxFrameLen(medium: LinkCaps['medium'], mtu: number): number {
  if (medium === 'ieee802154') return MAX_PHY_PACKET - MAC_FCS_LEN;
  return medium === 'ethernet' ? mtu + ETHERNET_HEADER_LEN : mtu;
}

export function checkMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 1 || mtu > 0x7fff_ffff) throw new RangeError(`mtu must be a positive integer, got ${mtu}`);
  return mtu;
}

/**
 * A link end with a bounded receive queue that transmits into its peer's queue. A cable
 * is two of them joined; a loopback is one whose peer is itself.
 */
export class QueueEnd implements CableEnd {
  /** Medium and MTU of the cable. */
  readonly caps: LinkCaps;
  /**
   * Where transmitted frames go: the other end of the cable (`Loopback`: itself); undefined before `createCable`
   * joins the ends.
   */
  peer: QueueEnd | undefined;
  /** Shared with the peer end (`createCable` joins them). */
  linkState: Carrier = new Carrier();
  private readonly rx: FrameRing;
  private readonly wakes = new WakeSet();
  private readonly maxFrame: number;
  private closed = false;
  private readonly counters: CableStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    dropped: 0,
    droppedOversize: 0,
    droppedQueueFull: 0,
    droppedClosed: 0,
    droppedNoCarrier: 0,
  };

  constructor(caps: LinkCaps, queueFrames: number) {
    this.caps = caps;
    this.maxFrame = maxFrameLen(caps.medium, caps.mtu);
    this.rx = new FrameRing(queueFrames, this.maxFrame);
  }

  get queued(): number {
    return this.rx.length;
  }

  receive(_now: Instant): Uint8Array | undefined {
    return this.closed ? undefined : this.rx.shiftCounted(this.counters);
  }

  transmit(_now: Instant, frame: Uint8Array): boolean {
    const c = this.counters;
    const peer = this.peer;
    if (this.closed || peer === undefined || peer.closed) {
      c.dropped++;
      c.droppedClosed++;
      return false;
    }
    if (!this.linkState.up) {
      c.dropped++;
      c.droppedNoCarrier++;
      return false;
    }
    if (frame.length > this.maxFrame) {
      c.dropped++;
      c.droppedOversize++;
      return false;
    }
    if (!peer.rx.push(frame)) {
      c.dropped++;
      c.droppedQueueFull++;
      return false;
    }
    c.txFrames++;
    c.txBytes += frame.length;
    peer.wakes.notify();
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

  unplug(): void {
    if (!this.linkState.up) return;
    this.flushCut();
    if (this.peer !== undefined && this.peer !== this) this.peer.flushCut();
    this.linkState.set(false);
  }

  plug(): void {
    this.linkState.set(true);
  }

  /** Frames queued here are lost with the carrier. */
  private flushCut(): void {
    const n = this.rx.length;
    if (n === 0) return;
    this.counters.dropped += n;
    this.counters.droppedNoCarrier += n;
    this.rx.clear();
  }

  stats(): CableStats {
    return { ...this.counters };
  }
}

/**
 * Two joined link ends. Closing one end drops what it had queued and makes transmits towards it
 * fail (`droppedClosed`); the other end can still drain frames already queued for it.
 *
 * Buffer ownership: `transmit` copies the frame (the caller may reuse it at once); `receive` returns
 * a view into a reusable slot, valid until the next `receive()` on the same end.
 *
 * Wake-ups: each frame queued at an end runs that end's wake-ups synchronously inside the sender's
 * `transmit` (see `WakeSet`): they must only schedule a poll.
 */
export function createCable(opts: CableOptions = {}): [CableEnd, CableEnd] {
  const mtu = checkMtu(opts.mtu ?? 1500);
  const caps: LinkCaps = Object.freeze({ medium: opts.medium ?? 'ethernet', mtu });
  const queueFrames = opts.queueFrames ?? 1024;
  const a = new QueueEnd(caps, queueFrames);
  const b = new QueueEnd(caps, queueFrames);
  a.peer = b;
  b.peer = a;
  b.linkState = a.linkState;
  return [a, b];
}
