/**
 * A `Link` over one node of the simulated IEEE 802.15.4 medium (`RadioPort`, radio-medium.ts):
 * what a 6LoWPAN stack polls. Build it from an attached port:
 * `new RadioLink(medium.attach({ extended, short, pan }))`.
 *
 * Caps: medium `'ieee802154'`, mtu 1280 (the IPv6 MTU the adaptation layer offers; frames are MAC
 * frames without FCS, at most 125 bytes), `ieee802154` the port's addresses.
 *
 * Receive: frames the medium delivers for this node go into a bounded `FrameRing` (default 64
 * frames; a frame arriving at a full ring is dropped and counted in `rxDropped`) and run the
 * `onReadable` wake-ups; `receive()` lends the oldest one out (valid until the next `receive()`).
 *
 * Transmit: `transmit` hands the frame to `port.send` (which copies it and queues it for the air)
 * and returns false when the port refuses it (too long, not a MAC frame, its queue full, closed).
 * A true return means queued, not delivered: the MAC's outcome ('acked', 'sent' for a broadcast
 * or a frame without the AR bit, 'no-ack' after the retries) comes later, counted in the stats
 * and reported to `onTxStatus` listeners (a mesh-under layer learns that a neighbour is gone).
 *
 * No carrier (`linkState` undefined: always up). `close()` closes the port (queued frames either
 * way are lost, their outcome never reported); idempotent.
 */
import type { Instant } from '../base/time.ts';
import { isFault } from '../wire/fault.ts';
import { MAC_FCS_LEN, MAX_PHY_PACKET, parseMacFrame, type MacAddress } from '../wire/ieee802154.ts';
import { FrameRing } from './frame-ring.ts';
import type { Link, LinkCaps, LinkStats } from './link.ts';
import type { RadioPort, RadioTxResult } from './radio-medium.ts';
import { WakeSet } from './wake-set.ts';

/** The IPv6 MTU a 6LoWPAN link offers (RFC 4944 §4). */
export const LOWPAN_IPV6_MTU = 1280;

/** Options of `RadioLink`. */
export interface RadioLinkOptions {
  /** Receive ring bound in frames (default 64). */
  queueFrames?: number;
}

/** `LinkStats` plus the MAC outcomes and drops by reason (`dropped` = txRefused + droppedClosed + rxDropped). */
export interface RadioLinkStats extends LinkStats {
  /** Unicast frames the receiver acknowledged. */
  txAcked: number;
  /** Frames sent without an acknowledgment expected (broadcast, no AR bit). */
  txSent: number;
  /** Frames given up after the retries: no ACK came. */
  txNoAck: number;
  /** `transmit` refused by the port (too long, not a MAC frame, its send queue full). */
  txRefused: number;
  /** `transmit` after `close()`. */
  droppedClosed: number;
  /** Frames received while the ring was full. */
  rxDropped: number;
}

/** One transmission's outcome, for `onTxStatus`. */
export interface RadioTxStatus {
  /** `acked`, `sent` (broadcast or no ACK requested) or `no-ack`. */
  readonly result: RadioTxResult;
  /** The frame's MAC destination (undefined when it had none). */
  readonly dst: MacAddress | undefined;
  /** Its sequence number (undefined when suppressed). */
  readonly seq: number | undefined;
}

/**
 * A `Link` (medium `'ieee802154'`, MTU 1280) over one node of the simulated 802.15.4 medium: `new
 * RadioLink(medium.attach({ extended, short, pan }))`. Received frames wait in a bounded ring; `transmit` queues a
 * frame for the air (false when the port refuses it), and the MAC outcome comes later through `onTxStatus` and the
 * stats.
 */
export class RadioLink implements Link {
  /** Medium `'ieee802154'`, MTU 1280 and the port's addresses. */
  readonly caps: LinkCaps;
  /** The node on the medium. */
  readonly port: RadioPort;
  private readonly rx: FrameRing;
  private readonly wakes = new WakeSet();
  private readonly txListeners = new Set<(s: RadioTxStatus) => void>();
  private closed = false;
  private readonly counters: RadioLinkStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    dropped: 0,
    txAcked: 0,
    txSent: 0,
    txNoAck: 0,
    txRefused: 0,
    droppedClosed: 0,
    rxDropped: 0,
  };

  /** Takes over `port`: its frame listener is this link's from now on, and `close()` closes it. */
  constructor(port: RadioPort, opts: RadioLinkOptions = {}) {
    this.port = port;
    const a = port.address;
    this.caps = Object.freeze({ medium: 'ieee802154', mtu: LOWPAN_IPV6_MTU, ieee802154: Object.freeze({ extended: a.extended.slice(), short: a.short, pan: a.pan }) });
    this.rx = new FrameRing(opts.queueFrames ?? 64, MAX_PHY_PACKET - MAC_FCS_LEN);
    port.onFrame((frame) => this.arrived(frame));
  }

  /** Frames waiting in the receive ring. */
  get queued(): number {
    return this.rx.length;
  }

  /** Frames the port's send queue still takes (0 once closed). */
  txCapacity(): number {
    return this.closed ? 0 : this.port.capacity;
  }

  receive(_now: Instant): Uint8Array | undefined {
    return this.closed ? undefined : this.rx.shiftCounted(this.counters);
  }

  transmit(_now: Instant, frame: Uint8Array): boolean {
    const c = this.counters;
    if (this.closed) {
      c.dropped++;
      c.droppedClosed++;
      return false;
    }
    // The destination and sequence number for the status listeners, read before the caller may reuse `frame`.
    let dst: MacAddress | undefined;
    let seq: number | undefined;
    if (this.txListeners.size > 0) {
      const f = parseMacFrame(frame);
      if (!isFault(f)) {
        dst = f.dst.addr;
        seq = f.seq;
      }
    }
    const len = frame.length;
    if (!this.port.send(frame, (result) => this.sent(result, dst, seq))) {
      c.dropped++;
      c.txRefused++;
      return false;
    }
    c.txFrames++;
    c.txBytes += len;
    return true;
  }

  onReadable(wake: () => void): () => void {
    if (this.closed) return () => {};
    return this.wakes.add(wake);
  }

  /**
   * Calls `cb` with the MAC outcome of every frame `transmit` accepted, when it is known (after
   * the ACK or the last retry). Only frames transmitted while a listener is registered carry `dst`
   * and `seq`. `cb` runs from a scheduler timer, never inside `transmit`; it must not throw.
   * Returns the unsubscribe function.
   */
  onTxStatus(cb: (status: RadioTxStatus) => void): () => void {
    const entry = (s: RadioTxStatus): void => cb(s);
    this.txListeners.add(entry);
    return () => {
      this.txListeners.delete(entry);
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rx.clear();
    this.wakes.clear();
    this.txListeners.clear();
    this.port.close();
  }

  /** A copy of the counters now. */
  stats(): RadioLinkStats {
    return { ...this.counters };
  }

  private arrived(frame: Uint8Array): void {
    if (this.closed) return;
    if (frame.length > this.rx.maxFrame || !this.rx.push(frame)) {
      this.counters.dropped++;
      this.counters.rxDropped++;
      return;
    }
    this.wakes.notify();
  }

  private sent(result: RadioTxResult, dst: MacAddress | undefined, seq: number | undefined): void {
    const c = this.counters;
    if (result === 'acked') c.txAcked++;
    else if (result === 'sent') c.txSent++;
    else c.txNoAck++;
    if (this.closed) return;
    for (const l of this.txListeners) {
      try {
        l({ result, dst, seq });
      } catch {
        // A listener that throws does not stop the others.
      }
    }
  }
}
