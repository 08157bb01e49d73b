/**
 * A virtual Ethernet learning switch (IEEE 802.1D transparent bridging, without spanning tree).
 *
 * Each `port()` is a `Link` for one station. A frame a station transmits enters the switch at its
 * port: the switch learns `source MAC -> port`, then forwards a unicast frame to the learned port of
 * its destination, or floods it to every other port when the destination is broadcast, multicast or
 * unknown (or its entry has aged out). A frame whose destination was learned on the ingress port is
 * filtered (not sent back). Learned entries age out `agingMs` after the source was last seen, on the
 * clock given as `now` to `transmit`.
 *
 * Each port has a carrier (`linkState`): `unplug()` takes the station's cable out (frames queued
 * for it are lost, its MAC table entries are flushed as 802.1D does on a link-down, frames it sends
 * are rejected and nothing is delivered to it) until `plug()`.
 */
import type { Instant } from '../base/time.ts';
import { Carrier } from './carrier.ts';
import { FrameRing } from './frame-ring.ts';
import type { Link, LinkCaps, LinkStats } from './link.ts';
import { ETHERNET_HEADER_LEN, checkMtu } from './virtual-cable.ts';
import { WakeSet } from './wake-set.ts';

/** Options of `VirtualSwitch`. */
export interface SwitchOptions {
  /** Largest IP packet (default 1500): frames up to mtu + 14 bytes. */
  mtu?: number;
  /** Most ports open at once (default unlimited): `port()` throws `RangeError` beyond it. */
  ports?: number;
  /** Receive queue bound per port, in frames (default 1024): egress drops beyond it. */
  queueFrames?: number;
  /** MAC table entry lifetime in ms after the source was last seen (default 300,000: the 802.1D default). */
  agingMs?: number;
}

export interface SwitchPortStats extends LinkStats {
  /** Frames the station sent that the switch rejected: shorter than an Ethernet header, oversize, port closed or unplugged. */
  droppedIngress: number;
  /** Frames for this station dropped because its receive queue was full (or lost when it was unplugged). */
  droppedEgress: number;
}

/** Counters of a `VirtualSwitch`. */
export interface SwitchStats {
  /** Unicast frames sent to exactly one learned port. */
  forwarded: number;
  /** Frames flooded (broadcast, multicast, unknown or aged-out unicast). */
  flooded: number;
  /** Frames whose destination was learned on their own ingress port (not sent back). */
  filtered: number;
  /** MAC table insertions and port moves. */
  learned: number;
  /** MAC table entries removed by aging. */
  aged: number;
  /** Frames rejected at ingress (runt, oversize, closed port). */
  droppedIngress: number;
  /** Copies dropped at a full egress queue. */
  droppedEgress: number;
}

/** One learned MAC table entry. */
export interface MacTableEntry {
  /** `aa:bb:cc:dd:ee:ff`. */
  mac: string;
  /** The switch port it was learned on. */
  port: number;
  /** When the source was last seen. */
  lastSeen: Instant;
}

interface Learned {
  port: SwitchPort;
  lastSeen: Instant;
}

/** A 48-bit MAC at `off` as an exact number (< 2^53). */
function macKey(f: Uint8Array, off: number): number {
  return (
    ((f[off] as number) * 0x100_0000 + (((f[off + 1] as number) << 16) | ((f[off + 2] as number) << 8) | (f[off + 3] as number))) * 0x1_0000 +
    (((f[off + 4] as number) << 8) | (f[off + 5] as number))
  );
}

function macText(key: number): string {
  return key.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

/** One switch port: the `Link` a station attaches to. */
export class SwitchPort implements Link {
  /** Medium `'ethernet'` and the switch's MTU. */
  readonly caps: LinkCaps;
  /** Port number, unique within its switch (0, 1, 2, ... in creation order). */
  readonly id: number;
  /** @internal */
  readonly rx: FrameRing;
  /** @internal */
  readonly wakes = new WakeSet();
  /** @internal */
  closed = false;
  /** The station's cable: `unplug()` / `plug()`. */
  readonly linkState = new Carrier();
  /** @internal */
  readonly counters: SwitchPortStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    dropped: 0,
    droppedIngress: 0,
    droppedEgress: 0,
  };
  private readonly sw: VirtualSwitch;

  /** @internal use `VirtualSwitch.port()` */
  constructor(sw: VirtualSwitch, id: number, caps: LinkCaps, queueFrames: number) {
    this.sw = sw;
    this.id = id;
    this.caps = caps;
    this.rx = new FrameRing(queueFrames, caps.mtu + ETHERNET_HEADER_LEN);
  }

  receive(_now: Instant): Uint8Array | undefined {
    return this.closed ? undefined : this.rx.shiftCounted(this.counters);
  }

  /**
   * Hands the frame to the switch. True when the switch accepted it (it may still find no port to
   * deliver to, or drop a copy at a full egress queue, counted there); false for a runt (< 14
   * bytes), an oversize frame or a closed port.
   */
  transmit(now: Instant, frame: Uint8Array): boolean {
    return this.sw.ingress(this, now, frame);
  }

  onReadable(wake: () => void): () => void {
    if (this.closed) return () => {};
    return this.wakes.add(wake);
  }

  /** Takes the station's cable out: queued frames are lost, its MAC table entries flushed. Idempotent. */
  unplug(): void {
    if (!this.linkState.up || this.closed) return;
    const n = this.rx.length;
    this.counters.dropped += n;
    this.counters.droppedEgress += n;
    this.rx.clear();
    this.sw.forget(this);
    this.linkState.set(false);
  }

  /** Puts the cable back. Idempotent. */
  plug(): void {
    if (this.closed) return;
    this.linkState.set(true);
  }

  /** Detaches the station: the port leaves the switch and its MAC table entries are forgotten. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rx.clear();
    this.wakes.clear();
    this.linkState.clear();
    this.sw.detach(this);
  }

  /** A copy of this port's counters. */
  stats(): SwitchPortStats {
    return { ...this.counters };
  }

  /** Frames waiting for the station. */
  get queued(): number {
    return this.rx.length;
  }
}

/**
 * A virtual Ethernet learning switch (802.1D transparent bridging, no spanning tree): each `port()` is a `Link`;
 * unicast goes to the learned port, broadcast, multicast and unknown destinations are flooded; entries age out after
 * `agingMs`.
 */
export class VirtualSwitch {
  /** Medium `'ethernet'` and the MTU of every port. */
  readonly caps: LinkCaps;
  private readonly maxPorts: number;
  private readonly queueFrames: number;
  private readonly agingMs: number;
  private readonly open: SwitchPort[] = [];
  private readonly table = new Map<number, Learned>();
  private nextId = 0;
  private lastSweep: Instant | undefined;
  private readonly counters: SwitchStats = {
    forwarded: 0,
    flooded: 0,
    filtered: 0,
    learned: 0,
    aged: 0,
    droppedIngress: 0,
    droppedEgress: 0,
  };

  constructor(opts: SwitchOptions = {}) {
    this.caps = Object.freeze({ medium: 'ethernet', mtu: checkMtu(opts.mtu ?? 1500) });
    this.maxPorts = opts.ports ?? Infinity;
    this.queueFrames = opts.queueFrames ?? 1024;
    this.agingMs = opts.agingMs ?? 300_000;
    if (!(this.maxPorts >= 1)) throw new RangeError(`ports must be >= 1, got ${opts.ports}`);
    if (!(this.agingMs > 0)) throw new RangeError(`agingMs must be > 0, got ${opts.agingMs}`);
  }

  /** A new port. Throws `RangeError` when `ports` ports are already open. */
  port(): SwitchPort {
    if (this.open.length >= this.maxPorts) throw new RangeError(`switch full: ${this.maxPorts} ports open`);
    const p = new SwitchPort(this, this.nextId++, this.caps, this.queueFrames);
    this.open.push(p);
    return p;
  }

  /** Ports currently open. */
  get portCount(): number {
    return this.open.length;
  }

  /** A copy of the switch's counters. */
  stats(): SwitchStats {
    return { ...this.counters };
  }

  /** The MAC table as of `now` (entries older than `agingMs` left out), in learning order. */
  macTable(now: Instant): MacTableEntry[] {
    const out: MacTableEntry[] = [];
    for (const [key, e] of this.table) {
      if (now - e.lastSeen <= this.agingMs) out.push({ mac: macText(key), port: e.port.id, lastSeen: e.lastSeen });
    }
    return out;
  }

  /** @internal the switching decision for a frame entering at `from`. */
  ingress(from: SwitchPort, now: Instant, frame: Uint8Array): boolean {
    const fc = from.counters;
    if (from.closed || !from.linkState.up || frame.length < ETHERNET_HEADER_LEN || frame.length > this.caps.mtu + ETHERNET_HEADER_LEN) {
      fc.dropped++;
      fc.droppedIngress++;
      this.counters.droppedIngress++;
      return false;
    }
    fc.txFrames++;
    fc.txBytes += frame.length;
    this.sweep(now);

    // Learn the source (a group address is never a valid source: not learned).
    if (((frame[6] as number) & 1) === 0) {
      const src = macKey(frame, 6);
      const e = this.table.get(src);
      if (e === undefined) {
        this.table.set(src, { port: from, lastSeen: now });
        this.counters.learned++;
      } else {
        if (e.port !== from) {
          e.port = from;
          this.counters.learned++;
        }
        e.lastSeen = now;
      }
    }

    if (((frame[0] as number) & 1) === 0) {
      const dst = macKey(frame, 0);
      const e = this.table.get(dst);
      if (e !== undefined) {
        if (now - e.lastSeen > this.agingMs) {
          this.table.delete(dst);
          this.counters.aged++;
        } else if (e.port === from) {
          this.counters.filtered++;
          return true;
        } else {
          this.counters.forwarded++;
          this.deliver(e.port, frame);
          return true;
        }
      }
    }
    this.counters.flooded++;
    for (const p of this.open) {
      if (p !== from) this.deliver(p, frame);
    }
    return true;
  }

  /** @internal */
  detach(p: SwitchPort): void {
    const i = this.open.indexOf(p);
    if (i >= 0) this.open.splice(i, 1);
    this.forget(p);
  }

  /** @internal drops the MAC table entries learned on `p`. */
  forget(p: SwitchPort): void {
    for (const [key, e] of this.table) {
      if (e.port === p) this.table.delete(key);
    }
  }

  private deliver(to: SwitchPort, frame: Uint8Array): void {
    if (!to.linkState.up) return;
    if (!to.rx.push(frame)) {
      to.counters.dropped++;
      to.counters.droppedEgress++;
      this.counters.droppedEgress++;
      return;
    }
    to.wakes.notify();
  }

  /** Removes aged entries, at most once per `agingMs` (lookups check age themselves). */
  private sweep(now: Instant): void {
    if (this.lastSweep === undefined) {
      this.lastSweep = now;
      return;
    }
    if (now - this.lastSweep < this.agingMs) return;
    this.lastSweep = now;
    for (const [key, e] of this.table) {
      if (now - e.lastSeen > this.agingMs) {
        this.table.delete(key);
        this.counters.aged++;
      }
    }
  }
}
