/**
 * Pseudo-terminal pairs for serial-port simulations, without socat: `openPty()` returns the
 * slave's device path (e.g. /dev/pts/7, for serialport or any terminal program) and a
 * byte stream over the master side (what a simulated module reads and writes). Built on the
 * project's `native/pty` addon (non-blocking master fd, watched with uv_poll on the main loop).
 *
 * A real UART outlives the host program that opens it, and so does this pair: the master
 * keeps a slave fd open itself, so the client may open, close and reopen the path; only the
 * master's `close()` ends the pair (the client then sees its port fail). The line rate the
 * client set (baudRate, update()) can be read back with `baudRate`; a pty has no modem lines.
 * An open master keeps the process alive (as a listening socket does) until it is closed.
 *
 * Loading never throws: `loadPtyAddon()` returns the binding, or why it is not available.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { StreamEvents } from '../base/listeners.ts';

/** An open pty pair (opaque; owned by the addon). */
export interface PtyHandle {
  readonly path: string;
  readonly master: number;
}

/** The addon's functions (see native/pty/pty.c). */
export interface PtyAddon {
  open(): PtyHandle;
  /** Level-triggered interest: 1 readable, 2 writable, 0 none; `cb(status, events)`. */
  watch(handle: PtyHandle, events: number, cb: (status: number, events: number) => void): number;
  /** Bytes read, or -errno (-11 EAGAIN: nothing to read). */
  read(handle: PtyHandle, buf: Uint8Array): number;
  /** Bytes written, or -errno (-11 EAGAIN: the pty buffer is full). */
  write(handle: PtyHandle, buf: Uint8Array): number;
  /** The line rate the slave's termios is set to, or -errno. */
  baudRate(handle: PtyHandle): number;
  close(handle: PtyHandle): void;
}

export type PtyAddonLoad = { readonly ok: true; readonly addon: PtyAddon } | { readonly ok: false; readonly reason: string };

const GYP_PATH = new URL('../../native/pty/binding.gyp', import.meta.url).pathname;
const ADDON_PATH = new URL('../../native/pty/build/Release/iotnet_pty.node', import.meta.url).pathname;

/** Loads the addon (Node caches the module, so repeated calls are cheap). */
export function loadPtyAddon(): PtyAddonLoad {
  if (process.platform !== 'linux') return { ok: false, reason: `pty pairs are built for Linux (this is ${process.platform})` };
  if (!existsSync(ADDON_PATH)) {
    return { ok: false, reason: existsSync(GYP_PATH)
      ? "the pty addon is not built: run 'npm run build:native' (needs a C compiler and Node headers)"
      : 'the npm package ships no native code: the pty addon needs a source checkout of iotnet (npm ci or npm run build:native there)' };
  }
  try {
    return { ok: true, addon: createRequire(import.meta.url)(ADDON_PATH) as PtyAddon };
  } catch (e) {
    return { ok: false, reason: `the pty addon does not load (${e instanceof Error ? e.message : String(e)}): rebuild with 'npm run build:native'` };
  }
}

const READABLE = 1;
const WRITABLE = 2;
const EAGAIN = 11;
const EIO = 5;
const READ_BUF = 65_536;
const DEFAULT_HWM = 65_536;

/** The master side of a pty pair, as a `ByteStream` (structurally: runtime/ does not import link/). */
export class PtyMaster extends StreamEvents {
  /** The slave's device path, for the client (serialport, a terminal program). */
  readonly path: string;
  /** True once the master closed. */
  closed = false;
  private readonly handle: PtyHandle;
  private readonly addon: PtyAddon;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private needDrain = false;
  private readonly readBuf = new Uint8Array(READ_BUF);
  private readonly onEvent = (status: number, events: number): void => this.handleEvent(status, events);

  constructor(addon: PtyAddon, private readonly highWaterMark = DEFAULT_HWM) {
    super();
    this.addon = addon;
    this.handle = addon.open();
    this.path = this.handle.path;
    this.arm();
  }

  /** The line rate the client set on the slave (8N1 assumed), or undefined when unknown. */
  get baudRate(): number | undefined {
    if (this.closed) return undefined;
    const b = this.addon.baudRate(this.handle);
    return b > 0 ? b : undefined;
  }

  /** Bytes written but not yet taken by the pty. */
  get queuedBytes(): number {
    return this.queued;
  }

  /**
   * Writes what the pty takes at once and queues the rest; false when the queue reached its high-water mark (wait
   * for drain), the write failed or the master is closed.
   */
  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    if (bytes.length > 0) {
      if (this.queued === 0) {
        const n = this.addon.write(this.handle, bytes);
        if (n === bytes.length) return true;
        if (n < 0 && n !== -EAGAIN) {
          this.fail(n, 'write');
          return false;
        }
        const rest = bytes.slice(Math.max(n, 0));
        this.queue.push(rest);
        this.queued += rest.length;
        this.arm();
      } else {
        this.queue.push(bytes.slice());
        this.queued += bytes.length;
      }
    }
    if (this.queued >= this.highWaterMark) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /** Closes the master (queued bytes are dropped); the pair ends. Idempotent. */
  close(): void {
    this.finish(undefined);
  }

  private arm(): void {
    if (this.closed) return;
    this.addon.watch(this.handle, READABLE | (this.queued > 0 ? WRITABLE : 0), this.onEvent);
  }

  private handleEvent(status: number, events: number): void {
    if (this.closed) return;
    if (status < 0) {
      this.fail(status, 'poll');
      return;
    }
    if ((events & WRITABLE) !== 0) this.flush();
    if ((events & READABLE) !== 0) this.drainReads();
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.closed) {
      const head = this.queue[0];
      if (head === undefined) break;
      const n = this.addon.write(this.handle, head);
      if (n === -EAGAIN) return;
      if (n < 0) {
        this.fail(n, 'write');
        return;
      }
      this.queued -= n;
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
    }
    if (this.closed) return;
    this.arm();
    if (this.needDrain && this.queued < this.highWaterMark) {
      this.needDrain = false;
      this.drainCbs.emit();
    }
  }

  /** Reads until EAGAIN, bounded so one busy pty cannot starve the loop. */
  private drainReads(): void {
    for (let i = 0; i < 16 && !this.closed; i++) {
      const n = this.addon.read(this.handle, this.readBuf);
      if (n === -EAGAIN || n === 0) return;
      if (n < 0) {
        // EIO: no slave fd open; cannot happen while we hold one, but treat it as the end.
        this.fail(n, 'read');
        return;
      }
      this.dataCbs.emit(this.readBuf.slice(0, n));
    }
  }

  private fail(negErrno: number, op: string): void {
    const err = Object.assign(new Error(`pty ${this.path}: ${op} failed (errno ${-negErrno}${-negErrno === EIO ? ', EIO' : ''})`), {
      code: -negErrno === EIO ? 'EIO' : 'EPTY',
      errno: -negErrno,
    });
    this.finish(err);
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.queued = 0;
    this.addon.close(this.handle);
    this.ended(err);
  }
}

/**
 * Opens a pty pair: `path` is the device a serial-port client opens; the returned object is
 * the master side. Throws when the addon is not available (see `loadPtyAddon` to check first)
 * or the system has no ptys left.
 */
export function openPty(options: { highWaterMark?: number } = {}): PtyMaster {
  const load = loadPtyAddon();
  if (!load.ok) throw Object.assign(new Error(load.reason), { code: 'ENOTSUP' });
  return new PtyMaster(load.addon, options.highWaterMark);
}
