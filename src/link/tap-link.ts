/**
 * A `Link` over a Linux TAP (Ethernet frames) or TUN (bare IP packets) interface, through
 * the project's N-API addon (`native/tap`, loaded by `src/runtime/tap-native.ts`).
 *
 * - **No threadpool, no blocking:** the fd is non-blocking and watched by a `uv_poll` on
 *   the main loop that wakes the link once per arm. A wake-up only schedules the stack's
 *   poll; frames are read inside `receive()`, in batches of up to `batch` frames per
 *   native call, into one preallocated area (no allocation per frame). `receive()`
 *   returns views into that area, valid until the next `receive()` (the link contract).
 *   When a read comes back short or empty the kernel queue is dry: the link re-arms the
 *   poll and reads again only after its wake-up or after sending a frame (the kernel may
 *   answer inside the write), not just to see EAGAIN. A request/response exchange thus
 *   costs one read and one write system call per frame and no epoll changes (the addon
 *   keeps the poll started while the link keeps re-arming).
 * - **Backpressure like a NIC:** frames the stack has not asked for stay in the kernel's
 *   queue (bounded by the interface's `txqueuelen`); a write the kernel refuses (`EAGAIN`)
 *   is a dropped frame, counted, never an exception.
 * - **Lifetime:** the poll handle never keeps Node alive (the stack runner holds the
 *   process while sockets are open); `close()` stops the poll and closes the fd at once,
 *   so the process can exit right after. A non-persistent TAP vanishes with its last fd.
 *
 * - **Carrier:** `linkState` is always up: a TAP has no cable (the kernel side's
 *   administrative state is another matter; `iotnet tap` watches it in sysfs).
 *
 * `TapLink.open(name)` throws a `SocketError` (`ENOTSUP` where the addon is missing or
 * this is not Linux, `ERROR` with the errno reason when the kernel refuses).
 */
import { SocketError } from '../base/socket-error.ts';
import type { Instant } from '../base/time.ts';
import { interfaceMtu, loadTapAddon, type TapAddon, type TapHandle } from '../runtime/tap-native.ts';
import { ALWAYS_UP } from './carrier.ts';
import type { Link, LinkCaps, LinkState, LinkStats } from './link.ts';
import { WakeSet } from './wake-set.ts';

/** Options of `TapLink.open`: TUN instead of TAP, MTU, frames per native read. */
export interface TapLinkOptions {
  /** TUN (bare IP packets, medium `'ip'`) instead of TAP (Ethernet). Default false. */
  readonly tun?: boolean;
  /** Largest IP packet; default the kernel interface's MTU (sysfs), else 1500. */
  readonly mtu?: number;
  /** Frames read per native call (default 64). */
  readonly batch?: number;
}

/** `LinkStats` with the TAP's own drop reasons. */
export interface TapLinkStats extends LinkStats {
  /** Writes refused because the kernel queue was full (`EAGAIN`). */
  txQueueFull: number;
  /** Writes that failed otherwise (interface down: `EIO`, oversize: `EINVAL`). */
  txErrors: number;
  /** Frames given to `transmit` after `close()`. */
  txClosed: number;
  /** Reads that failed with an error other than "nothing queued". */
  rxErrors: number;
  /** Native read calls that returned at least one frame (frames / batches = mean batch). */
  rxBatches: number;
  /** Native read calls that found the kernel queue empty (each one a system call for nothing). */
  rxEmptyReads: number;
  /** Wake-ups from the kernel (readable fd). */
  wakeups: number;
}

const EAGAIN = 11;
/** Room for a VLAN tag on top of the Ethernet header, so a tagged full-size frame is not truncated. */
const SLOT_SLACK = 4;

function errnoName(e: unknown): string {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

/**
 * A `Link` over a Linux TAP (Ethernet) or TUN (IP) interface through the project's N-API addon: a non-blocking fd on
 * a `uv_poll` on the main loop, batched reads into one preallocated area (views valid until the next `receive()`),
 * one write per frame, refused writes dropped and counted. Needs Linux and `npm run build:native`.
 */
export class TapLink implements Link {
  /** Medium `'ethernet'` (TAP) or `'ip'` (TUN), and the interface MTU. */
  readonly caps: LinkCaps;
  /** Always up (see the module comment). */
  readonly linkState: LinkState = ALWAYS_UP;
  /** Interface name as the kernel reports it. */
  readonly name: string;
  private readonly addon: TapAddon;
  private handle: TapHandle | undefined;
  private readonly wakes = new WakeSet();
  private readonly slot: number;
  private readonly batch: number;
  private readonly area: Uint8Array;
  private readonly lengths: Int32Array;
  /** Frames in the area, and the next one `receive()` hands out. */
  private count = 0;
  private next = 0;
  private armed = false;
  /** The last read emptied the kernel queue (a short batch or none) and nothing was sent since: see `receive`. */
  private dry = false;
  /** errno of a read failure that ended reception (the interface was deleted, say), or 0. */
  private failedErrno = 0;
  private readonly counters: TapLinkStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    dropped: 0,
    txQueueFull: 0,
    txErrors: 0,
    txClosed: 0,
    rxErrors: 0,
    rxBatches: 0,
    rxEmptyReads: 0,
    wakeups: 0,
  };
  /** The poll callback, made once (no closure per wake-up). */
  private readonly onKernelReadable = (): void => {
    this.armed = false;
    if (this.handle === undefined) return;
    this.counters.wakeups++;
    this.wakes.notify();
  };

  /**
   * Attaches to TAP (or TUN) interface `name`: an existing one (persistent, e.g. made by
   * `ip tuntap add mode tap name NAME`), or, as root, a new non-persistent one.
   */
  static open(name: string, options: TapLinkOptions = {}): TapLink {
    const load = loadTapAddon();
    if (!load.ok) throw new SocketError('ENOTSUP', { op: 'tap-open', reason: 'no-addon', address: name }, { message: `cannot open TAP '${name}': ${load.reason}` });
    let handle: TapHandle;
    try {
      handle = load.addon.open(name, options.tun === true);
    } catch (e) {
      const reason = errnoName(e);
      const hint = reason === 'EACCES' ? ' (opening /dev/net/tun needs root or CAP_NET_ADMIN)' : reason === 'EBUSY' ? ' (another process holds it, or it is a TUN/TAP of the other kind)' : '';
      throw new SocketError('ERROR', { op: 'tap-open', reason, address: name }, { cause: e, message: `cannot open TAP '${name}': ${e instanceof Error ? e.message : String(e)}${hint}` });
    }
    return new TapLink(load.addon, handle, options);
  }

  private constructor(addon: TapAddon, handle: TapHandle, options: TapLinkOptions) {
    this.addon = addon;
    this.handle = handle;
    this.name = handle.name;
    const mtu = options.mtu ?? interfaceMtu(handle.name) ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      addon.close(handle);
      throw new RangeError(`mtu must be an integer 68..65535, got ${mtu}`);
    }
    const medium = options.tun === true ? 'ip' : 'ethernet';
    this.caps = { medium, mtu };
    this.slot = mtu + (medium === 'ethernet' ? 14 + SLOT_SLACK : 0);
    this.batch = Math.max(1, Math.min(1024, Math.floor(options.batch ?? 64)));
    this.area = new Uint8Array(this.slot * this.batch);
    this.lengths = new Int32Array(this.batch);
  }

  /** Counters (a live object: read, do not change). */
  stats(): TapLinkStats {
    return this.counters;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.handle === undefined;
  }

  /**
   * The errno (positive) of the read error that ended reception, e.g. 77 (EBADFD) when
   * the interface was deleted under us; 0 while receiving works. Close the link then.
   */
  get failure(): number {
    return this.failedErrno;
  }

  receive(_now: Instant): Uint8Array | undefined {
    if (this.next >= this.count) {
      const h = this.handle;
      if (h === undefined || this.failedErrno !== 0) return undefined;
      // Dry and armed: the queue was empty at the last read, nothing was sent since (the
      // kernel may answer inside the write) and the poll has not fired. A read would only
      // say EAGAIN; the poll's wake-up tells when there is something.
      if (this.dry && this.armed) return undefined;
      this.count = 0;
      this.next = 0;
      const n = this.addon.read(h, this.area, this.lengths, this.slot, this.batch);
      if (n <= 0) {
        if (n < 0 && n !== -EAGAIN) {
          // A hard error (EBADFD once the interface is deleted, EIO): the fd stays
          // readable-with-error, so re-arming would spin. Reception ends here.
          this.counters.rxErrors++;
          this.failedErrno = -n;
          return undefined;
        }
        this.counters.rxEmptyReads++;
        this.dry = true;
        this.arm();
        return undefined;
      }
      this.count = n;
      this.counters.rxBatches++;
      // A short batch means the kernel queue ran dry: arm now instead of reading again
      // only to get EAGAIN (a frame that came in meanwhile makes the poll fire at once).
      this.dry = n < this.batch;
      if (this.dry) this.arm();
    }
    const i = this.next++;
    const len = this.lengths[i] as number;
    this.counters.rxFrames++;
    this.counters.rxBytes += len;
    const off = i * this.slot;
    return this.area.subarray(off, off + len);
  }

  transmit(_now: Instant, frame: Uint8Array): boolean {
    const h = this.handle;
    if (h === undefined) {
      this.counters.txClosed++;
      this.counters.dropped++;
      return false;
    }
    this.dry = false;
    const r = this.addon.write(h, frame);
    if (r < 0) {
      if (r === -EAGAIN) this.counters.txQueueFull++;
      else this.counters.txErrors++;
      this.counters.dropped++;
      return false;
    }
    this.counters.txFrames++;
    this.counters.txBytes += frame.length;
    return true;
  }

  onReadable(wake: () => void): () => void {
    const off = this.wakes.add(wake);
    // Frames may already wait in the kernel: let the new subscriber poll once, which
    // drains them and arms the watch when the queue is empty.
    wake();
    return off;
  }

  close(): void {
    const h = this.handle;
    if (h === undefined) return;
    this.handle = undefined;
    this.count = 0;
    this.next = 0;
    this.dry = false;
    this.wakes.clear();
    this.addon.close(h);
  }

  private arm(): void {
    const h = this.handle;
    if (h === undefined || this.armed) return;
    if (this.addon.arm(h, this.onKernelReadable) === 0) this.armed = true;
    else this.counters.rxErrors++;
  }
}

