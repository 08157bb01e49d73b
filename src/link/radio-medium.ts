/**
 * A simulated IEEE 802.15.4 radio medium on a `Scheduler`, for 6LoWPAN meshes tested
 * deterministically: nodes (`RadioPort`s) joined by a link matrix with per-link loss, the 127-byte
 * PHY limit, air time at the channel's bit rate (250 kbit/s at 2.4 GHz O-QPSK), and the MAC's
 * acknowledged transmission: a unicast data frame with the AR bit is retried up to `maxRetries`
 * times (default 3, macMaxFrameRetries) after `ackWaitMs` without an ACK, with a random back-off,
 * and its sender learns whether it was acknowledged. Broadcasts reach every neighbour once,
 * unacknowledged. Each node sends one frame at a time (a FIFO) after a random CSMA back-off, and
 * defers while it hears the channel busy: a frame (and its ACK) occupies the air at the sender
 * and at every node in its range, so neighbours share the channel (a relay cannot receive and
 * send at once, a TCP sender and its ACKs take turns). Sensing is perfect: hidden terminals and
 * collisions are not modelled (say so when measuring).
 *
 * Frames are MAC frames without the FCS (the medium adds and checks nothing: a frame is lost or
 * delivered whole); each delivered frame is a fresh array. Loss draws from a seeded `Rng`, per
 * transmission and per receiver, for data frames and ACKs independently. ACKs are implicit (an
 * outcome of the transmission, no frame goes through a port), but `capture` writes them as
 * Imm-Ack frames so that a capture shows what was on the air.
 *
 * Also here: static mesh routes from the simulated topology (`meshNextHops`, `meshRoutes`,
 * `meshKey`), what a mesh-under node uses instead of a routing protocol, and a medium-wide pcap
 * capture (`capture`).
 */
import { randomInt, type Rng } from '../base/rand.ts';
import type { CancelTimer, Scheduler } from '../base/time.ts';
import { equalBytes } from '../wire/bytes.ts';
import { isFault } from '../wire/fault.ts';
import { buildImmAck, MAC_BROADCAST, MAC_FCS_LEN, MAX_PHY_PACKET, parseMacFrame, type MacAddress } from '../wire/ieee802154.ts';
import { DEFAULT_SNAPLEN, PcapLinkType, pcapGlobalHeader, pcapRecord } from './pcap-writer.ts';

/** PHY header + preamble bytes on air (SHR 5 + PHR 1) at 2.4 GHz. */
const PHY_OVERHEAD = 6;
/** The back-off unit: 20 symbols of 16 µs. */
const BACKOFF_UNIT_MS = 0.32;
/** aTurnaroundTime: 12 symbols of 16 µs between a frame's end and its ACK. */
const TURNAROUND_MS = 0.192;
/** An Imm-Ack on air: 5 bytes (FC, seq, FCS) + 6 of PHY header. */
const ACK_AIR_BYTES = 11;
/** Short addresses that mean "none" (0xfffe: associated without a short address) or broadcast. */
const SHORT_NONE = 0xfffe;

/** Options of `RadioMedium`: clock, randomness, bit rate, MAC retries and timing, CSMA back-off and queue bounds. */
export interface RadioMediumOptions {
  /** Clock of air time, back-offs and ACK waits. */
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
  /** The EUI-64 (8 bytes). */
  readonly extended: Uint8Array;
  /** The 16-bit short address, if assigned. */
  readonly short?: number | undefined;
  /** The PAN identifier. */
  readonly pan: number;
}

/** Outcome of a send: acknowledged (unicast with AR), or just sent (broadcast, no AR), or given up. */
export type RadioTxResult = 'acked' | 'sent' | 'no-ack';

/** Counters of one node on the medium (`RadioPort.stats`). */
export interface RadioStats {
  /** Frames given to `send` and queued. */
  framesSent: number;
  /** Transmission attempts (first tries and retries). */
  attempts: number;
  /** Retries after a missing ACK. */
  retries: number;
  /** Frames given up without an ACK after the retries. */
  noAck: number;
  /** Frames received. */
  received: number;
  /** Frames a neighbour lost (per receiver). */
  lost: number;
  /** ACKs lost on the way back to this sender. */
  acksLost: number;
  /** Sends refused: queue full, frame too long, not a MAC frame. */
  refused: number;
  /** Attempts put off because the channel was busy (clear channel assessment failed). */
  deferred: number;
}

interface Pending {
  readonly frame: Uint8Array;
  readonly done: ((r: RadioTxResult) => void) | undefined;
  attempts: number;
  deferrals: number;
}

/** One node on the medium. */
export class RadioPort {
  /** The node's addresses. */
  readonly address: RadioAddress;
  /** Counters (see `RadioStats`). */
  readonly stats: RadioStats = { framesSent: 0, attempts: 0, retries: 0, noAck: 0, received: 0, lost: 0, acksLost: 0, refused: 0, deferred: 0 };
  private readonly medium: RadioMedium;
  private readonly queue: Pending[] = [];
  private busy = false;
  private listener: ((frame: Uint8Array) => void) | undefined;
  private timer: CancelTimer | undefined;
  /** True once `close()` was called. */
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
    this.queue.push({ frame: frame.slice(), done, attempts: 0, deferrals: 0 });
    this.stats.framesSent++;
    this.kick();
    return true;
  }

  /** Frames waiting to be sent. */
  get queued(): number {
    return this.queue.length;
  }

  /** Frames `send` still accepts before its queue is full. */
  get capacity(): number {
    return this.closed ? 0 : Math.max(0, this.medium.queueFrames - this.queue.length);
  }

  /**
   * Detaches the node: pending timers stop and queued frames are dropped (their outcome never reported); idempotent.
   */
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

  /** @internal Until when this node hears a frame (or its ACK) on the air: its channel is busy. */
  hearsUntil = 0;

  private attempt(p: Pending): void {
    this.timer = undefined;
    if (this.closed) return;
    // Clear channel assessment: while we hear a transmission, back off (CSMA-CA, BE growing to
    // macMaxBE 5) and assess again when it ends. Sensing is perfect: no hidden terminals.
    const busy = this.hearsUntil - this.medium.scheduler.now();
    if (busy > 0) {
      this.stats.deferred++;
      p.deferrals++;
      const be = Math.min(5, 3 + p.deferrals);
      this.timer = this.medium.scheduler.setTimer(busy + randomInt(this.medium.rng, 0, 2 ** be - 1) * BACKOFF_UNIT_MS, () => this.attempt(p));
      return;
    }
    p.deferrals = 0;
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
  /** Clock of air time, back-offs and ACK waits. */
  readonly scheduler: Scheduler;
  /** Randomness of losses and back-offs. */
  readonly rng: Rng;
  /** Channel bit rate (bits per second). */
  readonly bitrate: number;
  /** Retries after the first attempt without an ACK. */
  readonly maxRetries: number;
  /** ACK wait after a frame ended, in ms. */
  readonly ackWaitMs: number;
  /** Transmit queue bound per node, in frames. */
  readonly queueFrames: number;
  /** Bumped by every topology change (mesh routers recompute their tables). */
  private generation = 0;
  private readonly ports: RadioPort[] = [];
  /** Loss in percent per directed pair (absent: not in range). */
  private readonly links = new Map<RadioPort, Map<RadioPort, number>>();
  private readonly taps = new Set<CaptureTap>();

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
    this.generation++;
    this.links.set(p, new Map());
    return p;
  }

  /**
   * Puts `a` and `b` in range of each other with `lossPct` loss each way (0..100, default 0), or
   * changes the loss of their link. (An explicit `undefined` means the default: use `unlink`.)
   */
  link(a: RadioPort, b: RadioPort, lossPct = 0): void {
    if (!Number.isFinite(lossPct) || lossPct < 0 || lossPct > 100) throw new RangeError(`lossPct 0..100, got ${lossPct}`);
    this.setLink(a, b, lossPct);
  }

  /** Takes `a` and `b` out of range of each other (both ways). */
  unlink(a: RadioPort, b: RadioPort): void {
    this.setLink(a, b, undefined);
  }

  private setLink(a: RadioPort, b: RadioPort, lossPct: number | undefined): void {
    this.generation++;
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

  /**
   * Records everything put on the air, medium-wide, as a classic pcap with linktype 230 (IEEE
   * 802.15.4 without FCS) through `sink`: the global header at once, then one record per
   * transmission attempt (a retried frame appears once per attempt, a broadcast once however many
   * neighbours hear it, a frame that nobody receives still appears) and one Imm-Ack frame (3 bytes:
   * Frame Control and the sequence number) for each receiver that got an acknowledged unicast,
   * whether or not the ACK then gets lost on its way back. Timestamps are the scheduler's clock
   * when the frame starts on the air (ACKs: the data frame's end + aTurnaroundTime, 0.192 ms),
   * plus `epochMs`. Returns the function that stops this capture (idempotent); the sink's file is
   * the caller's to close. Several captures may run at once.
   */
  capture(sink: (chunk: Uint8Array) => void, opts: RadioCaptureOptions = {}): () => void {
    const snapLen = opts.snapLen ?? DEFAULT_SNAPLEN;
    const header = pcapGlobalHeader(PcapLinkType.IEEE802_15_4_NOFCS, snapLen);
    const epochMs = opts.epochMs ?? this.scheduler.wallClock() - this.scheduler.now();
    const tap: CaptureTap = (frame, at) => sink(pcapRecord(epochMs + at, frame, snapLen));
    sink(header);
    this.taps.add(tap);
    return () => {
      this.taps.delete(tap);
    };
  }

  /**
   * The link matrix as a graph: the attached nodes in attach order and, for each, the indices
   * (ascending) of the nodes that hear it with a loss below 100 %. Links are symmetric (`link`
   * sets both directions), so this is both "who hears i" and "whom i hears".
   */
  topology(): MeshTopology {
    const index = new Map<RadioPort, number>();
    this.ports.forEach((p, i) => index.set(p, i));
    return {
      nodes: this.ports.map((p) => p.address),
      neighbours: this.ports.map((p) => {
        const out: number[] = [];
        for (const [to, loss] of this.links.get(p) ?? []) {
          const j = index.get(to);
          if (j !== undefined && loss < 100) out.push(j);
        }
        return out.sort((a, b) => a - b);
      }),
    };
  }

  /**
   * Static mesh routes from `from` over the current topology: see `meshRoutes`. Recompute after
   * changing links or attaching nodes (nothing is cached).
   */
  meshNextHops(from: RadioPort): Map<string, MeshRoute> {
    const i = this.ports.indexOf(from);
    if (i < 0) return new Map();
    return meshRoutes(this.topology(), i);
  }

  /**
   * The mesh-under routes of `from` as the stack's 6LoWPAN adaptation takes them
   * (`InterfaceOptions.lowpan.meshRoutes`): the next hop's link address (its extended address,
   * 8 bytes, or its short one when the final destination was given as a short address) for a
   * final destination of 2 or 8 bytes, undefined for a neighbour or an unknown node (sent
   * directly). Follows topology changes: the table is recomputed after `link`/`unlink`/`attach`.
   */
  meshRouter(from: RadioPort): (final: Uint8Array) => Uint8Array | undefined {
    let gen = -1;
    let table = new Map<string, MeshRoute>();
    return (final) => {
      if (gen !== this.generation) {
        table = this.meshNextHops(from);
        gen = this.generation;
      }
      if (final.length !== 2 && final.length !== 8) return undefined;
      const r = table.get(meshKey(final.length === 8 ? { mode: 'extended', value: final } : { mode: 'short', value: ((final[0] as number) << 8) | (final[1] as number) }));
      if (r === undefined || r.hops <= 1) return undefined;
      const short = r.nextHop.short;
      return final.length === 2 && short !== undefined && short < 0xfffe ? Uint8Array.of(short >> 8, short & 0xff) : r.nextHop.extended;
    };
  }

  /** Air time of `bytes` on the channel, in ms. */
  airTimeMs(bytes: number): number {
    return (bytes * 8 * 1000) / this.bitrate;
  }

  /** @internal */
  detach(p: RadioPort): void {
    const i = this.ports.indexOf(p);
    if (i >= 0) this.ports.splice(i, 1);
    this.generation++;
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
    this.record(frame, 0);
    // The sender and everyone in its range hear the channel busy for the frame and its ACK.
    const end = this.scheduler.now() + air + (unicast ? TURNAROUND_MS + this.airTimeMs(ACK_AIR_BYTES) : 0);
    from.hearsUntil = Math.max(from.hearsUntil, end);
    for (const to of (this.links.get(from) ?? new Map<RadioPort, number>()).keys()) to.hearsUntil = Math.max(to.hearsUntil, end);
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
        if (this.taps.size > 0 && f.seq !== undefined) this.record(buildImmAck(f.seq, { fcs: false }), air + TURNAROUND_MS);
        // The receiver acknowledges; the ACK crosses the same link back and may be lost too.
        if (this.lost(this.links.get(to)?.get(from) ?? 100)) from.stats.acksLost++;
        else acked = true;
      }
    }
    if (!unicast) return 'broadcast';
    return acked ? 'acked' : 'lost';
  }

  /** Hands `frame` to every capture, stamped `delayMs` from now (later frames through a timer, to keep records in time order). */
  private record(frame: Uint8Array, delayMs: number): void {
    if (this.taps.size === 0) return;
    const write = (): void => {
      const at = this.scheduler.now();
      for (const tap of this.taps) tap(frame, at);
    };
    if (delayMs === 0) write();
    else this.scheduler.setTimer(delayMs, write);
  }

  private lost(pct: number): boolean {
    return pct > 0 && this.rng.nextU32() % 10_000 < pct * 100;
  }
}

/** A capture's record writer: the frame and when it started on the air. */
type CaptureTap = (frame: Uint8Array, at: number) => void;

/** Options of `RadioMedium.capture`. */
export interface RadioCaptureOptions {
  /** Bytes kept per frame (default 65535: all of it). */
  snapLen?: number;
  /** Unix time in ms at scheduler time 0 (default `scheduler.wallClock() - scheduler.now()`). */
  epochMs?: number;
}

/** A radio topology: nodes (in attach order) and each node's neighbours by index. See `RadioMedium.topology`. */
export interface MeshTopology {
  /** Nodes in attach order. */
  readonly nodes: readonly RadioAddress[];
  /** `neighbours[i]`: indices of the nodes node i can reach in one hop. */
  readonly neighbours: readonly (readonly number[])[];
}

/** How to reach one destination from a node. */
export interface MeshRoute {
  /** The destination's addresses. */
  readonly dst: RadioAddress;
  /** The neighbour to hand the frame to (its addresses: frame it with its extended or short one). */
  readonly nextHop: RadioAddress;
  /** Radio hops to the destination (1: a neighbour). What a mesh header's Hops Left needs at least. */
  readonly hops: number;
}

/**
 * The key of a link-layer address in a `meshRoutes` map: an extended address is its 16 lowercase
 * hex digits as written (EUI-64 order, "0200000000000001"), a short address its 4 lowercase hex
 * digits ("0001"). The lengths keep the two forms apart. PAN ids play no part.
 */
export function meshKey(addr: MacAddress): string {
  if (addr.mode === 'short') return (addr.value & 0xffff).toString(16).padStart(4, '0');
  let s = '';
  for (const b of addr.value) s += b.toString(16).padStart(2, '0');
  return s;
}

/**
 * Shortest-path next hops from node `from` (an index into `topo.nodes`): breadth-first over
 * `topo.neighbours`, for every node reachable from `from` (not `from` itself, not unreachable
 * nodes) the neighbour of `from` that starts a shortest path. Ties are broken deterministically:
 * among shortest paths, the first hop with the lowest index (attach order) wins (BFS visiting
 * neighbours in ascending index order gives exactly that).
 *
 * Each route is in the map twice when the destination has a short address: under
 * `meshKey({ mode: 'extended', ... })` and under `meshKey({ mode: 'short', ... })`, the same
 * `MeshRoute` object. A short address shared by two or more nodes of the topology (ambiguous) and
 * 0xfffe/0xffff (no short address) are not keys. An out-of-range `from` gives an empty map.
 */
export function meshRoutes(topo: MeshTopology, from: number): Map<string, MeshRoute> {
  const routes = new Map<string, MeshRoute>();
  const n = topo.nodes.length;
  if (!Number.isInteger(from) || from < 0 || from >= n) return routes;
  const shortCount = new Map<number, number>();
  for (const a of topo.nodes) {
    if (a.short !== undefined && a.short < SHORT_NONE) shortCount.set(a.short, (shortCount.get(a.short) ?? 0) + 1);
  }
  /** First hop (node index) and hop count of every node reached so far. */
  const firstHop = new Array<number>(n).fill(-1);
  const hops = new Array<number>(n).fill(-1);
  hops[from] = 0;
  const queue: number[] = [from];
  for (let qi = 0; qi < queue.length; qi++) {
    const u = queue[qi] as number;
    for (const v of [...(topo.neighbours[u] ?? [])].sort((a, b) => a - b)) {
      if (v < 0 || v >= n || hops[v] !== -1) continue;
      hops[v] = (hops[u] as number) + 1;
      firstHop[v] = u === from ? v : (firstHop[u] as number);
      queue.push(v);
    }
  }
  for (const v of queue.slice(1)) {
    const dst = topo.nodes[v] as RadioAddress;
    const route: MeshRoute = { dst, nextHop: topo.nodes[firstHop[v] as number] as RadioAddress, hops: hops[v] as number };
    routes.set(meshKey({ mode: 'extended', value: dst.extended }), route);
    if (dst.short !== undefined && shortCount.get(dst.short) === 1) routes.set(meshKey({ mode: 'short', value: dst.short }), route);
  }
  return routes;
}
