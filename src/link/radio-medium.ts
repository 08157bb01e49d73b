/**
 * A simulated IEEE 802.15.4 radio medium on a `Scheduler`, for 6LoWPAN meshes tested
 * deterministically: nodes (`RadioPort`s) joined by a link matrix with per-link loss, the 127-byte
 * PHY limit, air time at the channel's bit rate (250 kbit/s at 2.4 GHz O-QPSK), and the MAC's
 * acknowledged transmission: a unicast data frame with the AR bit is retried up to `maxRetries`
 * times (default 3, macMaxFrameRetries) after `ackWaitMs` without an ACK, with a random back-off,
 * and its sender learns whether it was acknowledged. Broadcasts reach every neighbour once,
 * unacknowledged. Each node sends one frame at a time (a FIFO), the simplest CSMA: collisions
 * between nodes are not modelled (say so when measuring).
 *
 * Frames are MAC frames without the FCS (the medium adds and checks nothing: a frame is lost or
 * delivered whole); each delivered frame is a fresh array. Loss draws from a seeded `Rng`, per
 * transmission and per receiver, for data frames and ACKs independently.
 */
import { randomInt, type Rng } from '../base/rand.ts';
import type { CancelTimer, Scheduler } from '../base/time.ts';
import { equalBytes } from '../wire/bytes.ts';
import { isFault } from '../wire/fault.ts';
import { MAC_BROADCAST, MAC_FCS_LEN, MAX_PHY_PACKET, parseMacFrame, type MacAddress } from '../wire/ieee802154.ts';

/** PHY header + preamble bytes on air (SHR 5 + PHR 1) at 2.4 GHz. */
const PHY_OVERHEAD = 6;
/** The back-off unit: 20 symbols of 16 µs. */
const BACKOFF_UNIT_MS = 0.32;

export interface RadioMediumOptions {
  scheduler: Scheduler;
  /** Loss draws and back-offs. */
  rng: Rng;
  /** Channel bit rate (default 250 000). */
  bitrate?: number;
  /** Retries after the first attempt when no ACK came (default 3). */
  maxRetries?: number;
  /** Time to wait for an ACK after a frame ended (default 0.864 ms: macAckWaitDuration at 2.4 GHz). */
  ackWaitMs?: number;
  /** Frames queued per node before sends are refused (default 32). */
  queueFrames?: number;
}

/** The node's addresses, which decide what it receives and acknowledges. */
export interface RadioAddress {
  readonly extended: Uint8Array;
  readonly short?: number | undefined;
  readonly pan: number;
}

/** Outcome of a send: acknowledged (unicast with AR), or just sent (broadcast, no AR), or given up. */
export type RadioTxResult = 'acked' | 'sent' | 'no-ack';

export interface RadioStats {
  framesSent: number;
  attempts: number;
  retries: number;
  noAck: number;
  received: number;
  /** Frames a neighbour lost (per receiver). */
  lost: number;
  acksLost: number;
  /** Sends refused: queue full, frame too long, not a MAC frame. */
  refused: number;
}

interface Pending {
  readonly frame: Uint8Array;
  readonly done: ((r: RadioTxResult) => void) | undefined;
  attempts: number;
}

/** One node on the medium. */
export class RadioPort {
  readonly address: RadioAddress;
  readonly stats: RadioStats = { framesSent: 0, attempts: 0, retries: 0, noAck: 0, received: 0, lost: 0, acksLost: 0, refused: 0 };
  private readonly medium: RadioMedium;
  private readonly queue: Pending[] = [];
  private busy = false;
  private listener: ((frame: Uint8Array) => void) | undefined;
  private timer: CancelTimer | undefined;
  closed = false;

  /** @internal */
  constructor(medium: RadioMedium, address: RadioAddress) {
    this.medium = medium;
    this.address = { ...address, extended: address.extended.slice() };
  }

  /** Frames for this node (its addresses, or broadcast on its PAN), as fresh arrays. One listener. */
  onFrame(cb: ((frame: Uint8Array) => void) | undefined): void {
    this.listener = cb;
  }

  /**
   * Queues a MAC frame (without FCS; at most 125 bytes so that it fits 127 with the FCS).
   * False when refused (too long, not a MAC frame, queue full, closed); `done` then never runs.
   */
  send(frame: Uint8Array, done?: (r: RadioTxResult) => void): boolean {
    if (this.closed || frame.length + MAC_FCS_LEN > MAX_PHY_PACKET || this.queue.length >= this.medium.queueFrames || isFault(parseMacFrame(frame))) {
      this.stats.refused++;
      return false;
    }
    this.queue.push({ frame: frame.slice(), done, attempts: 0 });
    this.stats.framesSent++;
    this.kick();
    return true;
  }

  /** Frames waiting to be sent. */
  get queued(): number {
    return this.queue.length;
  }

  close(): void {
    this.closed = true;
    this.timer?.();
    this.queue.length = 0;
    this.listener = undefined;
    this.medium.detach(this);
  }

  /** @internal A frame arrived from a neighbour. */
  deliver(frame: Uint8Array): void {
    if (this.closed) return;
    this.stats.received++;
    this.listener?.(frame);
  }

  /** @internal Whether a frame's destination is this node. */
  accepts(dst: MacAddress | undefined, pan: number | undefined): boolean {
    if (dst === undefined) return true; // no destination: the PAN coordinator's business; accept
    if (pan !== undefined && pan !== MAC_BROADCAST && pan !== this.address.pan) return false;
    if (dst.mode === 'short') return dst.value === MAC_BROADCAST || dst.value === this.address.short;
    return equalBytes(dst.value, this.address.extended);
  }

  private kick(): void {
    if (this.busy || this.closed) return;
    const p = this.queue[0];
    if (p === undefined) return;
    this.busy = true;
    // Initial CSMA back-off: 0..2^3-1 units (macMinBE 3).
    const delay = randomInt(this.medium.rng, 0, 7) * BACKOFF_UNIT_MS;
    this.timer = this.medium.scheduler.setTimer(delay, () => this.attempt(p));
  }

  private attempt(p: Pending): void {
    this.timer = undefined;
    if (this.closed) return;
    p.attempts++;
    this.stats.attempts++;
    if (p.attempts > 1) this.stats.retries++;
    const air = this.medium.airTimeMs(p.frame.length + MAC_FCS_LEN + PHY_OVERHEAD);
    const outcome = this.medium.transmit(this, p.frame);
    if (outcome === 'broadcast') {
      this.timer = this.medium.scheduler.setTimer(air, () => this.finish(p, 'sent'));
      return;
    }
    const wait = air + this.medium.ackWaitMs;
    this.timer = this.medium.scheduler.setTimer(wait, () => {
      this.timer = undefined;
      if (outcome === 'acked') {
        this.finish(p, 'acked');
        return;
      }
      if (p.attempts > this.medium.maxRetries) {
        this.stats.noAck++;
        this.finish(p, 'no-ack');
        return;
      }
      const be = Math.min(5, 3 + p.attempts - 1);
      const backoff = randomInt(this.medium.rng, 0, 2 ** be - 1) * BACKOFF_UNIT_MS;
      this.timer = this.medium.scheduler.setTimer(backoff, () => this.attempt(p));
    });
  }

  private finish(p: Pending, r: RadioTxResult): void {
    this.timer = undefined;
    this.queue.shift();
    this.busy = false;
    try {
      p.done?.(r);
    } catch {
      // The owner's callback threw: the port goes on.
    }
    this.kick();
  }
}

/** The medium: nodes and who hears whom. */
export class RadioMedium {
  readonly scheduler: Scheduler;
  readonly rng: Rng;
  readonly bitrate: number;
  readonly maxRetries: number;
  readonly ackWaitMs: number;
  readonly queueFrames: number;
  private readonly ports: RadioPort[] = [];
  /** Loss in percent per directed pair (absent: not in range). */
  private readonly links = new Map<RadioPort, Map<RadioPort, number>>();

  constructor(options: RadioMediumOptions) {
    this.scheduler = options.scheduler;
    this.rng = options.rng;
    this.bitrate = options.bitrate ?? 250_000;
    this.maxRetries = options.maxRetries ?? 3;
    this.ackWaitMs = options.ackWaitMs ?? 0.864;
    this.queueFrames = options.queueFrames ?? 32;
  }

  /** A new node. */
  attach(address: RadioAddress): RadioPort {
    if (address.extended.length !== 8) throw new RangeError('radio node: an 8-byte extended address');
    const p = new RadioPort(this, address);
    this.ports.push(p);
    this.links.set(p, new Map());
    return p;
  }

  /** Puts `a` and `b` in range of each other with `lossPct` loss each way (0..100); `undefined` removes the link. */
  link(a: RadioPort, b: RadioPort, lossPct: number | undefined = 0): void {
    if (lossPct !== undefined && (!Number.isFinite(lossPct) || lossPct < 0 || lossPct > 100)) throw new RangeError(`lossPct 0..100, got ${lossPct}`);
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const m = this.links.get(x);
      if (m === undefined) continue;
      if (lossPct === undefined) m.delete(y);
      else m.set(y, lossPct);
    }
  }

  /** Links every listed node to the next: a chain (a line topology). */
  chain(ports: readonly RadioPort[], lossPct = 0): void {
    for (let i = 0; i + 1 < ports.length; i++) this.link(ports[i] as RadioPort, ports[i + 1] as RadioPort, lossPct);
  }

  /** Air time of `bytes` on the channel, in ms. */
  airTimeMs(bytes: number): number {
    return (bytes * 8 * 1000) / this.bitrate;
  }

  /** @internal */
  detach(p: RadioPort): void {
    const i = this.ports.indexOf(p);
    if (i >= 0) this.ports.splice(i, 1);
    this.links.delete(p);
    for (const m of this.links.values()) m.delete(p);
  }

  /**
   * @internal One transmission from `from`: delivered (after its air time) to each neighbour
   * the frame is for, unless lost; the result tells whether an ACK came back.
   */
  transmit(from: RadioPort, frame: Uint8Array): 'broadcast' | 'acked' | 'lost' {
    const f = parseMacFrame(frame);
    if (isFault(f)) return 'lost';
    const dst = f.dst?.addr;
    const unicast = f.ackRequest && dst !== undefined && !(dst.mode === 'short' && dst.value === MAC_BROADCAST);
    const air = this.airTimeMs(frame.length + MAC_FCS_LEN + PHY_OVERHEAD);
    let acked = false;
    for (const [to, loss] of this.links.get(from) ?? []) {
      if (!to.accepts(f.dst?.addr, f.dst?.pan)) continue;
      if (this.lost(loss)) {
        to.stats.lost++;
        continue;
      }
      const copy = frame.slice();
      this.scheduler.setTimer(air, () => to.deliver(copy));
      if (unicast) {
        // The receiver acknowledges; the ACK crosses the same link back and may be lost too.
        if (this.lost(this.links.get(to)?.get(from) ?? 100)) from.stats.acksLost++;
        else acked = true;
      }
    }
    if (!unicast) return 'broadcast';
    return acked ? 'acked' : 'lost';
  }

  private lost(pct: number): boolean {
    return pct > 0 && this.rng.nextU32() % 10_000 < pct * 100;
  }
}
