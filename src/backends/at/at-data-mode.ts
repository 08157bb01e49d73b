/**
 * Pieces of the AT engine's data mode (V.250 online data state, reference `at-modules.md` §2): the
 * handlers an owner gives with a dial command, and the scanner that spots the few texts a modem
 * writes into the data stream when it leaves data mode on its own: `\r\nNO CARRIER\r\n` (the call
 * dropped) and reset banners (`\r\nRDY\r\n`: the modem rebooted). Outside PPP frames they are plain
 * ASCII between HDLC flags, so a byte search across chunk boundaries finds them. Pure.
 */
import { concatBytes, latin1Bytes } from '../../wire/bytes.ts';

/** Why data mode ended. */
export type AtDataModeExit = 'left' | 'reset' | 'closed';

/** What the owner of a data-mode call gives the engine (`AtCommand.dataMode`). */
export interface AtDataModeHandlers {
  /**
   * Every byte the module sends in data mode, from the byte right after the `CONNECT` line (an LF
   * right after its CR is skipped), as views of the received chunks. Called from `receive`, also
   * for bytes in the same chunk as `CONNECT`, before the dial's promise resolves.
   */
  readonly onData: (bytes: Uint8Array) => void;
  /**
   * `\r\nNO CARRIER\r\n` appeared in the data (it was delivered to `onData` too): the modem ended
   * the call and is in command mode. Call `leaveDataMode()` here so that the bytes after it are
   * read as AT output (URCs). Not detected with `ATV0` (`3\r`).
   */
  readonly onNoCarrier?: (() => void) | undefined;
  /**
   * Data mode ended: `left` (`leaveDataMode()`, `escapeDataMode()`), `reset` (a reset banner in
   * the data: pending commands failed, `onReset` told), `closed` (the engine closed).
   */
  readonly onExit?: ((reason: AtDataModeExit) => void) | undefined;
  /** Watch the data for the engine's reset banners (default true; string banners only). */
  readonly watchResets?: boolean | undefined;
}

/** Options of `AtEngine.escapeDataMode`. */
export interface AtEscapeOptions {
  /** Guard time before and after `+++` (default 1000 ms, S12; ESP-AT uses 20 ms). */
  readonly guardMs?: number | undefined;
  /** Wait for `OK` (default true, 3GPP modems); false: resolve after the guard time that follows (ESP-AT passthrough). */
  readonly awaitOk?: boolean | undefined;
  /** Time allowed for `OK` after the guard time that follows `+++` (default 2000 ms). */
  readonly timeoutMs?: number | undefined;
  /** With `awaitOk: false`: the wait after `+++` (default `guardMs`). */
  readonly afterMs?: number | undefined;
}

/** A text the scanner looks for. */
export interface DataMarker {
  readonly kind: 'no-carrier' | 'reset';
  /** The line without its framing (`NO CARRIER`, `RDY`). */
  readonly text: string;
  readonly bytes: Uint8Array;
}

/** `\r\n<text>\r\n` as a marker. */
export function dataMarker(kind: DataMarker['kind'], text: string): DataMarker {
  return { kind, text, bytes: latin1Bytes(`\r\n${text}\r\n`) };
}

function indexOfSeq(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0] as number;
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i >= 0 && i <= last; i = hay.indexOf(first, i + 1)) {
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

/** Finds markers in a byte stream fed chunk by chunk (a marker may straddle chunks). */
export class DataMarkerScanner {
  readonly #markers: readonly DataMarker[];
  readonly #keep: number;
  #tail: Uint8Array = new Uint8Array(0);

  constructor(markers: readonly DataMarker[]) {
    this.#markers = markers.filter((m) => m.bytes.length > 0);
    this.#keep = Math.max(0, ...this.#markers.map((m) => m.bytes.length - 1));
  }

  /**
   * The first marker that ends in `chunk`, with `end` the index in `chunk` just after it, or
   * undefined. After a hit the scanner forgets what came before (scan the rest of the chunk with
   * another call).
   */
  find(chunk: Uint8Array): { marker: DataMarker; end: number } | undefined {
    if (this.#markers.length === 0 || chunk.length === 0) return undefined;
    const tailLen = this.#tail.length;
    const window = tailLen === 0 ? chunk : concatBytes([this.#tail, chunk]);
    let best: { marker: DataMarker; end: number } | undefined;
    for (const marker of this.#markers) {
      // Only occurrences that end in `chunk` (earlier ones were found by earlier calls).
      const at = indexOfSeq(window, marker.bytes, Math.max(0, tailLen - marker.bytes.length + 1));
      if (at < 0) continue;
      const end = at + marker.bytes.length - tailLen;
      if (best === undefined || end < best.end) best = { marker, end };
    }
    if (best !== undefined) {
      this.#tail = new Uint8Array(0);
      return best;
    }
    this.#tail = window.slice(Math.max(0, window.length - this.#keep));
    return undefined;
  }

  /** Forgets the bytes kept from earlier chunks. */
  reset(): void {
    this.#tail = new Uint8Array(0);
  }
}
