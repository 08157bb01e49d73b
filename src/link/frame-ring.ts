/**
 * A bounded FIFO of frames over reusable buffers: the receive queue behind the virtual links.
 *
 * `push` copies a frame into a slot; `shift` lends the oldest frame out as a view into its slot.
 * The lent slot is not reused until the next `shift` (the `Link.receive` ownership rule), so a
 * link may keep accepting frames while its consumer still holds the last one. Slot buffers are
 * allocated on first use and kept: a steady stream of frames allocates nothing (and frames of a
 * repeated length reuse the same view object too).
 *
 * Internal to `src/link/`.
 */

/** Slot buffers start at this size (or `maxFrame` if smaller) and double up to `maxFrame`. */
const MIN_SLOT = 2048;

export class FrameRing {
  /** `capacity + 1` slots: `capacity` queued frames plus the one lent out. */
  private readonly slots: (Uint8Array | undefined)[];
  private readonly views: (Uint8Array | undefined)[];
  private readonly lens: Uint32Array;
  /** Oldest slot: the lent one when `lent`, else the next to lend. */
  private head = 0;
  /** Frames queued (the lent one not included). */
  private count = 0;
  private lent = false;

  /**
   * @param capacity largest number of queued frames (the frame lent out by `shift` not counted)
   * @param maxFrame largest frame in bytes; callers check it before `push`
   */
  constructor(
    readonly capacity: number,
    readonly maxFrame: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be an integer >= 1, got ${capacity}`);
    if (!Number.isInteger(maxFrame) || maxFrame < 1) throw new RangeError(`largest frame must be an integer >= 1, got ${maxFrame}`);
    this.slots = new Array<Uint8Array | undefined>(capacity + 1);
    this.views = new Array<Uint8Array | undefined>(capacity + 1);
    this.lens = new Uint32Array(capacity + 1);
  }

  /** Frames waiting (not counting the one lent out). */
  get length(): number {
    return this.count;
  }

  /** Copies `frame` to the tail; false (nothing copied) when `capacity` frames are already queued. */
  push(frame: Uint8Array): boolean {
    if (this.count >= this.capacity) return false;
    const n = this.slots.length;
    const i = (this.head + (this.lent ? 1 : 0) + this.count) % n;
    const len = frame.length;
    let buf = this.slots[i];
    if (buf === undefined || buf.length < len) {
      let size = MIN_SLOT;
      while (size < len) size *= 2;
      buf = new Uint8Array(Math.max(len, Math.min(size, this.maxFrame)));
      this.slots[i] = buf;
      this.views[i] = undefined;
    }
    buf.set(frame);
    this.lens[i] = len;
    this.count++;
    return true;
  }

  /**
   * Releases the frame lent by the previous call and lends the oldest queued one: a view valid
   * until the next `shift` or `clear`. Undefined when nothing is queued.
   */
  shift(): Uint8Array | undefined {
    const n = this.slots.length;
    if (this.lent) {
      this.head = (this.head + 1) % n;
      this.lent = false;
    }
    if (this.count === 0) return undefined;
    const i = this.head;
    const buf = this.slots[i] as Uint8Array;
    const len = this.lens[i] as number;
    let view = this.views[i];
    if (view === undefined || view.length !== len) {
      view = len === buf.length ? buf : buf.subarray(0, len);
      this.views[i] = view;
    }
    this.count--;
    this.lent = true;
    return view;
  }

  /** `shift`, counting the frame it lends in `counters` (a link's receive counters). */
  shiftCounted(counters: { rxFrames: number; rxBytes: number }): Uint8Array | undefined {
    const frame = this.shift();
    if (frame !== undefined) {
      counters.rxFrames++;
      counters.rxBytes += frame.length;
    }
    return frame;
  }

  /** Drops every queued frame and releases the lent one (buffers are kept for reuse). */
  clear(): void {
    this.head = 0;
    this.count = 0;
    this.lent = false;
  }
}
