/**
 * Loads the project's TAP addon (`native/tap`, built by `npm run build:native` or the
 * checkout's `prepare` script; the npm package ships no native code) and reads interface facts from sysfs. The only module
 * that touches the addon; `src/link/tap-link.ts` builds the `Link` on top.
 *
 * Loading never throws: `loadTapAddon()` returns the binding, or the reason it is not
 * available (not Linux, not built, built for another Node ABI), so everything that does
 * not need a TAP works where the addon is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** An open TAP/TUN attachment (opaque; owned by the addon). */
export interface TapHandle {
  readonly name: string;
  readonly fd: number;
}

/** The addon's functions (see native/tap/tap.c). */
export interface TapAddon {
  /** Attaches to (or, as root, creates) interface `name`; throws an Error with `code` EACCES/EBUSY/EINVAL/ENODEV. */
  open(name: string, tun: boolean): TapHandle;
  /**
   * One wake-up (`callback(status)`) when the fd is readable; `0` or `-errno`. Pass the
   * same function each time (the handle keeps its reference across arms).
   */
  arm(handle: TapHandle, callback: (status: number) => void): number;
  /** Reads up to `max` frames, frame i at `area[i * slot]`, length in `lengths[i]`; count or `-errno`. */
  read(handle: TapHandle, area: Uint8Array, lengths: Int32Array, slot: number, max: number): number;
  /** Writes one frame; bytes or `-errno` (`-11` EAGAIN: kernel queue full). */
  write(handle: TapHandle, frame: Uint8Array): number;
  close(handle: TapHandle): void;
}

export type TapAddonLoad = { readonly ok: true; readonly addon: TapAddon } | { readonly ok: false; readonly reason: string };

const GYP_PATH = new URL('../../native/tap/binding.gyp', import.meta.url).pathname;
const ADDON_PATH = new URL('../../native/tap/build/Release/iotnet_tap.node', import.meta.url).pathname;

/** Loads the addon (Node caches the module, so repeated calls are cheap). */
export function loadTapAddon(): TapAddonLoad {
  if (process.platform !== 'linux') return { ok: false, reason: `TAP links need Linux (this is ${process.platform})` };
  if (!existsSync(ADDON_PATH)) {
    return { ok: false, reason: existsSync(GYP_PATH)
      ? "the TAP addon is not built: run 'npm run build:native' (needs a C compiler and Node headers)"
      : 'the npm package ships no native code: the TAP addon needs a source checkout of iotnet (npm ci or npm run build:native there)' };
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as TapAddon;
    return { ok: true, addon };
  } catch (e) {
    return { ok: false, reason: `the TAP addon does not load (${e instanceof Error ? e.message : String(e)}): rebuild with 'npm run build:native'` };
  }
}

/**
 * Whether `name` can be a Linux interface name as used here: 1-15 characters (IFNAMSIZ
 * - 1) of letters, digits and `_.:-` (also keeps sysfs paths built from it safe).
 */
export function isInterfaceName(name: string): boolean {
  return /^[A-Za-z0-9_.:-]{1,15}$/.test(name);
}

/** The kernel's MTU of interface `name` (sysfs), or undefined when unknown. */
export function interfaceMtu(name: string): number | undefined {
  if (!isInterfaceName(name)) return undefined;
  try {
    const v = Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim());
    return Number.isInteger(v) && v >= 68 ? v : undefined;
  } catch {
    return undefined;
  }
}

const IFF_UP = 0x1;

/** Whether interface `name` is administratively up (sysfs flags), or undefined when unknown. */
export function interfaceAdminUp(name: string): boolean | undefined {
  if (!isInterfaceName(name)) return undefined;
  try {
    return (Number.parseInt(readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim(), 16) & IFF_UP) !== 0;
  } catch {
    return undefined;
  }
}
