/**
 * Fault injection middleware: a `Link` that wraps another and damages the traffic in one or both
 * directions, seeded and deterministic on whatever clock its `Scheduler` runs (after smoltcp's
 * `phy::FaultInjector` and Linux netem).
 *
 * Each frame entering a faulty direction goes through, in order:
 *   1. size: frames longer than `mtu` (+ 14 on Ethernet) are dropped (`oversize`);
 *   2. loss (`lossPct`): dropped silently (`lost`);
 *   3. corruption (`corruptPct`): one random bit flipped in a copy, never in the caller's buffer
 *      (`corrupted`; any bit of the frame, headers included);
 *   4. duplication (`dupPct`): the frame goes out twice (`duplicated`);
 *   5. reordering (`reorderPct`): the frame is held back and released right after the next frame
 *      that gets through, or `reorderHoldMs` later if none comes (`reordered`); one frame is held at a
 *      time (so at most every other frame is late);
 *   6. shaping: with `bandwidthBps`, frames are serialised one after another at that rate
 *      (8 * length / bandwidthBps seconds each); then `delayMs` plus a uniform `[0, jitterMs]` is added.
 *      Shaped frames leave in order (jitter never reorders: use `reorderPct`) through one timer on the
 *      scheduler. `queueBytes` bounds the bytes held (being serialised or in flight); a frame that does
 *      not fit is tail-dropped (`queueDropped`).
 * Random draws happen only for enabled faults, so the same seed and the same traffic give the same
 * result. Timing follows `scheduler.now()`, not the `now` passed by the caller.
 *
 * Return values (tx): false for an oversize frame, a tail drop, or when the inner link refused a
 * frame passed through at once; true for a lost frame (loss is invisible to the sender, as on a wire)
 * and for a frame queued for later (a later refusal by the inner link is counted as `innerDropped`).
 *
 * Receive side: frames pulled from the inner link are run through the same pipeline; frames that come
 * out at once are returned by this `receive()`, shaped or held ones become receivable later (the
 * wake-ups run then). Ownership: as for every link, a returned frame is valid until the next `receive()`.
 *
 * `caps` are the inner link's: a smaller `mtu` here models a path the stack does not know about.
 */
import { randomInt, type Rng } from '../base/rand.ts';
import type { CancelTimer, Instant, Scheduler } from '../base/time.ts';
import type { Link, LinkCaps, LinkState } from './link.ts';
import { ETHERNET_HEADER_LEN } from './virtual-cable.ts';
import { WakeSet } from './wake-set.ts';

/** The adjustable knobs (all optional; `configure` changes them at run time). */
export interface FaultSettings {
  /** Percent of frames dropped, 0-100 (default 0). */
  lossPct?: number;
  /** Percent of frames sent twice, 0-100 (default 0). */
  dupPct?: number;
  /**
   * Percent of frames held back behind the next one, 0-100 (default 0). This is the long-run share
   * of frames delivered late in a steady stream; one frame is held at a time, so 50 or more means
   * every other frame (pairs swapped).
   */
  reorderPct?: number;
  /** Percent of frames with one bit flipped, 0-100 (default 0). */
  corruptPct?: number;
  /** Fixed one-way delay in ms (default 0). */
  delayMs?: number;
  /** Extra delay, uniform in [0, jitterMs] ms (default 0). */
  jitterMs?: number;
  /** Rate cap in bits per second (default 0: unlimited). */
  bandwidthBps?: number;
  /** Bytes held by the shaper (serialising or delayed) before tail drop (default 1 MiB). */
  queueBytes?: number;
  /** Largest IP packet let through; larger frames are dropped (default Infinity: no limit; 0 also means none). */
  mtu?: number;
  /** Which direction is faulty (default `'tx'`). */
  direction?: 'rx' | 'tx' | 'both';
  /** How long a reordered frame waits for a successor before it is released anyway (default 10 ms). */
  reorderHoldMs?: number;
}

export interface FaultInjectorOptions extends FaultSettings {
  /** Randomness of every fault draw (seed it for reproducible runs). */
  rng: Rng;
  /** Clock of delays, shaping and held-back frames. */
  scheduler: Scheduler;
}

/** Counters for one direction. */
export interface FaultCounters {
  /** Frames that entered the faulty pipeline. */
  frames: number;
  /** Frames handed on (to the inner link on tx, to the caller on rx), duplicates included. */
  passed: number;
  /** Frames dropped by `lossPct`. */
  lost: number;
  /** Frames sent twice by `dupPct`. */
  duplicated: number;
  /** Frames held back by `reorderPct`. */
  reordered: number;
  /** Frames with a bit flipped by `corruptPct`. */
  corrupted: number;
  /** Frames longer than the MTU, dropped. */
  oversize: number;
  /** Frames that went through the shaper (delay, jitter or bandwidth). */
  shaped: number;
  /** Tail drops at the shaper (`queueBytes`). */
  queueDropped: number;
  /** Frames the inner link refused when the injector handed them on (tx only). */
  innerDropped: number;
}

/** Counters of a `FaultInjector`, per direction. */
export interface FaultInjectorStats {
  /** Counters of frames going out through the wrapper. */
  tx: FaultCounters;
  /** Counters of frames coming in from the inner link. */
  rx: FaultCounters;
}

type Resolved = Required<FaultSettings>;

const DEFAULTS: Resolved = {
  lossPct: 0,
  dupPct: 0,
  reorderPct: 0,
  corruptPct: 0,
  delayMs: 0,
  jitterMs: 0,
  bandwidthBps: 0,
  queueBytes: 1 << 20,
  mtu: Infinity,
  direction: 'tx',
  reorderHoldMs: 10,
};

/** What a direction that is not faulty applies: nothing (frames still queue behind shaped ones, in order). */
const NEUTRAL: Resolved = { ...DEFAULTS, queueBytes: Infinity };

function validate(s: Resolved): void {
  for (const k of ['lossPct', 'dupPct', 'reorderPct', 'corruptPct'] as const) {
    const v = s[k];
    if (!(v >= 0 && v <= 100)) throw new RangeError(`${k} must be within 0-100, got ${v}`);
  }
  for (const k of ['delayMs', 'jitterMs', 'bandwidthBps', 'queueBytes', 'mtu', 'reorderHoldMs'] as const) {
    const v = s[k];
    if (!(v >= 0)) throw new RangeError(`${k} must be >= 0, got ${v}`);
  }
  if (!Number.isFinite(s.delayMs) || !Number.isFinite(s.jitterMs) || !Number.isFinite(s.reorderHoldMs)) {
    throw new RangeError('delayMs, jitterMs and reorderHoldMs must be finite');
  }
  if (s.direction !== 'rx' && s.direction !== 'tx' && s.direction !== 'both') {
    throw new RangeError(`direction must be 'rx', 'tx' or 'both', got ${String(s.direction)}`);
  }
}

function zeroCounters(): FaultCounters {
  return {
    frames: 0,
    passed: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    corrupted: 0,
    oversize: 0,
    shaped: 0,
    queueDropped: 0,
    innerDropped: 0,
  };
}

/** 2^32 / 100: compares a uniform u32 against a percentage. */
const PCT_SCALE = 0x1_0000_0000 / 100;

interface Shaped {
  frame: Uint8Array;
  at: Instant;
}

/** One direction's pipeline. `sink` hands a frame on; false when refused. */
class Pipe {
  readonly counters = zeroCounters();
  private held: Uint8Array | undefined;
  private heldDup = false;
  private heldTimer: CancelTimer | undefined;
  private readonly queue: (Shaped | undefined)[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private busyUntil: Instant = -Infinity;
  private lastRelease: Instant = -Infinity;
  private timer: CancelTimer | undefined;

  constructor(
    private readonly fi: FaultInjector,
    private readonly isTx: boolean,
    private readonly sink: (frame: Uint8Array) => boolean,
  ) {}

  /** True when this direction is faulty now. */
  active(): boolean {
    const d = this.fi.settings.direction;
    return d === 'both' || (d === 'tx') === this.isTx;
  }

  /** The settings this direction applies now: none when it is not the faulty one. */
  private effective(): Resolved {
    return this.active() ? this.fi.settings : NEUTRAL;
  }

  /** True when nothing is held or shaped (a frame may then bypass the pipeline). */
  idle(): boolean {
    return this.held === undefined && this.queueHead === this.queue.length;
  }

  /**
   * Runs one frame through the faults. `frame` is only valid during this call: anything kept is copied.
   * Returns false for an oversize frame, a tail drop, or a refusal of the first copy passed on at once.
   */
  input(frame: Uint8Array): boolean {
    const s = this.effective();
    const c = this.counters;
    const rng = this.fi.rng;
    c.frames++;
    const limit = s.mtu > 0 ? s.mtu + (this.fi.caps.medium === 'ethernet' ? ETHERNET_HEADER_LEN : 0) : Infinity;
    if (frame.length > limit) {
      c.oversize++;
      return false;
    }
    if (chance(rng, s.lossPct)) {
      c.lost++;
      return true;
    }
    let out = frame;
    let owned = false;
    if (chance(rng, s.corruptPct) && frame.length > 0) {
      out = frame.slice();
      owned = true;
      const bit = randomInt(rng, 0, frame.length * 8 - 1);
      out[bit >>> 3] = (out[bit >>> 3] as number) ^ (1 << (bit & 7));
      c.corrupted++;
    }
    const dup = chance(rng, s.dupPct);
    if (dup) c.duplicated++;
    // Only one frame can be held: while one is, no other is chosen. Drawing with p / (1 - p) when
    // free makes the long-run share of held frames p (which caps it at 50%).
    if (this.held === undefined && s.reorderPct > 0 && chance(rng, s.reorderPct >= 50 ? 100 : (100 * s.reorderPct) / (100 - s.reorderPct))) {
      c.reordered++;
      this.held = owned ? out : out.slice();
      this.heldDup = dup;
      this.heldTimer = this.fi.scheduler.setTimer(s.reorderHoldMs, () => {
        this.heldTimer = undefined;
        this.releaseHeld();
      });
      return true;
    }
    const ok = this.emit(out, owned);
    // The duplicate is a separate copy: a receiver may modify the first one in place.
    if (dup) this.emit(out.slice(), true);
    if (this.held !== undefined) this.releaseHeld();
    return ok;
  }

  /** Drops everything held and cancels the timers. */
  reset(): void {
    this.heldTimer?.();
    this.heldTimer = undefined;
    this.held = undefined;
    this.timer?.();
    this.timer = undefined;
    this.queue.length = 0;
    this.queueHead = 0;
    this.queuedBytes = 0;
  }

  private releaseHeld(): void {
    const f = this.held;
    if (f === undefined) return;
    this.heldTimer?.();
    this.heldTimer = undefined;
    this.held = undefined;
    this.emit(f, true);
    if (this.heldDup) this.emit(f.slice(), true);
  }

  /** Into the shaper, or straight to the sink when nothing shapes and nothing waits. */
  private emit(frame: Uint8Array, owned: boolean): boolean {
    const s = this.effective();
    const shaping = s.delayMs > 0 || s.jitterMs > 0 || s.bandwidthBps > 0;
    if (!shaping && this.queueHead === this.queue.length) return this.pass(frame);
    const c = this.counters;
    if (this.queuedBytes + frame.length > s.queueBytes) {
      c.queueDropped++;
      return false;
    }
    const now = this.fi.scheduler.now();
    let at = now;
    if (s.bandwidthBps > 0) {
      at = Math.max(now, this.busyUntil) + (frame.length * 8000) / s.bandwidthBps;
      this.busyUntil = at;
    }
    at += s.delayMs;
    if (s.jitterMs > 0) at += (s.jitterMs * this.fi.rng.nextU32()) / 0x1_0000_0000;
    if (at < this.lastRelease) at = this.lastRelease;
    this.lastRelease = at;
    this.queue.push({ frame: owned ? frame : frame.slice(), at });
    this.queuedBytes += frame.length;
    c.shaped++;
    if (this.timer === undefined) this.arm();
    return true;
  }

  private arm(): void {
    const next = this.queue[this.queueHead];
    if (next === undefined) return;
    const sched = this.fi.scheduler;
    this.timer = sched.setTimer(next.at - sched.now(), () => {
      this.timer = undefined;
      this.release();
    });
  }

  private release(): void {
    const now = this.fi.scheduler.now();
    for (;;) {
      const next = this.queue[this.queueHead];
      if (next === undefined || next.at > now) break;
      this.queue[this.queueHead] = undefined;
      this.queueHead++;
      this.queuedBytes -= next.frame.length;
      this.pass(next.frame);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else {
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      if (this.timer === undefined) this.arm();
    }
  }

  private pass(frame: Uint8Array): boolean {
    this.counters.passed++;
    const ok = this.sink(frame);
    if (!ok) this.counters.innerDropped++;
    return ok;
  }
}

function chance(rng: Rng, pct: number): boolean {
  if (pct <= 0) return false;
  if (pct >= 100) return true;
  return rng.nextU32() < pct * PCT_SCALE;
}

/**
 * A `Link` that wraps another and damages its traffic in one or both directions (oversize drop, loss, corruption,
 * duplication, reordering, shaping with delay and jitter), seeded and deterministic on its `Scheduler`'s clock
 * (after smoltcp's `FaultInjector` and netem).
 */
export class FaultInjector implements Link {
  /** The inner link's capabilities. */
  readonly caps: LinkCaps;
  /** @internal */
  readonly rng: Rng;
  /** @internal */
  readonly scheduler: Scheduler;
  /** @internal the current settings (read by the pipes on every frame). */
  settings: Resolved;
  private readonly inner: Link;
  private readonly tx: Pipe;
  private readonly rx: Pipe;
  /** Frames out of the rx pipeline waiting for `receive()`. */
  private readonly rxReady: (Uint8Array | undefined)[] = [];
  private rxReadyHead = 0;
  private readonly wakes = new WakeSet();
  private readonly unsubscribeInner: () => void;
  private closed = false;

  constructor(inner: Link, opts: FaultInjectorOptions) {
    this.inner = inner;
    this.caps = inner.caps;
    this.rng = opts.rng;
    this.scheduler = opts.scheduler;
    const { rng: _rng, scheduler: _scheduler, ...settings } = opts;
    this.settings = { ...DEFAULTS };
    this.configure(settings);
    this.tx = new Pipe(this, true, (f) => this.inner.transmit(this.scheduler.now(), f));
    this.rx = new Pipe(this, false, (f) => {
      this.rxReady.push(f);
      this.wakes.notify();
      return true;
    });
    this.unsubscribeInner = inner.onReadable(() => this.wakes.notify());
  }

  /** Changes some settings now (the rest stay); frames already held or shaped keep their schedule. */
  configure(partial: FaultSettings): void {
    const next: Resolved = { ...this.settings };
    for (const [k, v] of Object.entries(partial)) {
      if (v !== undefined && Object.hasOwn(DEFAULTS, k)) (next as unknown as Record<string, unknown>)[k] = v;
    }
    validate(next);
    this.settings = next;
  }

  /** Current settings (a copy). */
  options(): Required<FaultSettings> {
    return { ...this.settings };
  }

  /** Counters per direction (copies). */
  stats(): FaultInjectorStats {
    return { tx: { ...this.tx.counters }, rx: { ...this.rx.counters } };
  }

  receive(now: Instant): Uint8Array | undefined {
    if (this.closed) return undefined;
    for (;;) {
      if (this.rxReadyHead < this.rxReady.length) {
        const f = this.rxReady[this.rxReadyHead] as Uint8Array;
        this.rxReady[this.rxReadyHead++] = undefined;
        if (this.rxReadyHead === this.rxReady.length) {
          this.rxReady.length = 0;
          this.rxReadyHead = 0;
        }
        return f;
      }
      const f = this.inner.receive(now);
      if (f === undefined) return undefined;
      if (!this.rx.active() && this.rx.idle()) return f;
      // Frames the pipe emits at once land in rxReady uncopied: they are returned before the next
      // inner.receive() (the only thing that could invalidate them), since rxReady is drained first.
      this.rx.input(f);
    }
  }

  transmit(now: Instant, frame: Uint8Array): boolean {
    if (this.closed) return false;
    if (!this.tx.active() && this.tx.idle()) return this.inner.transmit(now, frame);
    return this.tx.input(frame);
  }

  onReadable(wake: () => void): () => void {
    if (this.closed) return () => {};
    return this.wakes.add(wake);
  }

  /** The inner link's carrier. */
  get linkState(): LinkState | undefined {
    return this.inner.linkState;
  }

  /** Drops held and shaped frames, cancels timers, closes the inner link. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tx.reset();
    this.rx.reset();
    this.rxReady.length = 0;
    this.rxReadyHead = 0;
    this.unsubscribeInner();
    this.wakes.clear();
    this.inner.close();
  }
}
