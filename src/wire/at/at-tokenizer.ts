/**
 * The AT byte tokenizer (reference `at-modules.md` §4): turns the byte stream from an AT module into
 * lines, `>` prompts and counted payloads. Pure, incremental and binary-safe; the token sequence does
 * not depend on how the input is split into pushes (down to one byte at a time).
 *
 * - **Lines** end at CR or LF; a run of CR/LF is one separator (Mbed `ATCmdParser` folds CR, LF,
 *   CRLF and LFCR) so empty lines never appear. Text is decoded latin1, one char per byte. An echo
 *   such as `AT+X\r\r\n` is just a line: the engine decides what it is.
 * - **Prompts**: `>` as the first byte of a line is emitted at once, without waiting for an end of
 *   line (ESP-AT `\r\nOK\r\n\r\n>`, NONOS `OK\r\n> `, Quectel `\r\n> `); one space right after it is
 *   part of the prompt and consumed.
 * - **Counted payloads** are entered by recognisers the caller registers (the dialect tables):
 *   a {@link PartialLineRecogniser} sees the line so far and claims a header ending at the current
 *   byte (`+IPD,0,5:`), the payload starting at the next byte; a {@link FullLineRecogniser} claims a
 *   complete line (`+QIRD: 5`), the payload starting after exactly one CR LF. Payload bytes are never
 *   looked at, so they may hold CR LF, `OK`, `+IPD`, `>` or NUL, and the next message may follow them
 *   without a line break (`hi0,CLOSED\r\n`).
 *
 * Memory is bounded: a line longer than `maxLine` bytes is reported as an `overflow` token and the
 * rest of it dropped; a counted length over `maxCounted` is refused (an `overflow` token with reason
 * `counted`, the bytes after it read as lines). `push` never throws.
 */
import { latin1Text } from '../bytes.ts';

/** Default longest line kept (bytes); ESP-AT command lines are at most 256 bytes. */
export const AT_DEFAULT_MAX_LINE = 4096;
/** Default largest counted payload: ESP `+IPD` is at most 2920, `+CIPRECVDATA` and Quectel reads smaller. */
export const AT_DEFAULT_MAX_COUNTED = 8192;
/** Default: partial-line recognisers are asked only while the line is at most this long. */
export const AT_DEFAULT_MAX_HEADER = 128;

/** One unit of module output. */
export type AtToken =
  /** A non-empty line, terminator removed, latin1. */
  | { readonly kind: 'line'; readonly text: string }
  /** The data prompt `>`; a following space has been consumed. */
  | { readonly kind: 'prompt'; readonly text: string }
  /** A counted payload and the header text that announced it. */
  | { readonly kind: 'data'; readonly header: string; readonly bytes: Uint8Array }
  /**
   * Something refused to stay bounded: a line longer than `maxLine` (`text` = its first `maxLine`
   * bytes, the rest up to the next CR/LF dropped), or a header announcing more than `maxCounted`
   * bytes (`text` = the header, `length` = the announced count).
   */
  | { readonly kind: 'overflow'; readonly reason: 'line' | 'counted'; readonly text: string; readonly length: number };

/**
 * Claims a counted header while its line is still arriving. `match` is called after each byte of a
 * line that starts with `prefix` (while the line is at most `maxHeader` bytes) with the line so far;
 * it returns the number of payload bytes that follow this byte, or `undefined` if the line so far is
 * not (yet) a complete header. It must refuse (return `undefined` for) lengths it does not trust.
 */
export interface PartialLineRecogniser {
  readonly prefix: string;
  match(lineSoFar: string): number | undefined;
}

/**
 * Claims a complete line as a counted header: `match` sees each complete line starting with
 * `prefix` and returns the number of payload bytes that follow the line's one CR LF, or `undefined`.
 */
export interface FullLineRecogniser {
  readonly prefix: string;
  match(line: string): number | undefined;
}

/** Tokenizer limits and the initial recognisers. */
export interface AtTokenizerOptions {
  readonly maxLine?: number;
  readonly maxCounted?: number;
  readonly maxHeader?: number;
  readonly partial?: readonly PartialLineRecogniser[];
  readonly full?: readonly FullLineRecogniser[];
}

const CR = 0x0d;
const LF = 0x0a;
const GT = 0x3e;
const SPACE = 0x20;

/** Where the next byte goes. */
const enum Mode {
  /** Collecting a line (possibly empty). */
  Line,
  /** Right after a prompt: one space is swallowed. */
  AfterPrompt,
  /** A line overflowed: dropping bytes up to the next CR/LF. */
  Discard,
  /** A full-line header ended with CR: one LF is swallowed before the payload. */
  SkipLf,
  /** Filling a counted payload. */
  Counted,
}


/** The incremental tokenizer; one per byte stream. */
export class AtTokenizer {
  readonly maxLine: number;
  readonly maxCounted: number;
  readonly maxHeader: number;
  private readonly partial: PartialLineRecogniser[];
  private readonly full: FullLineRecogniser[];
  private readonly line: Uint8Array;
  private lineLen = 0;
  private mode: Mode = Mode.Line;
  private header = '';
  private payload: Uint8Array = new Uint8Array(0);
  private filled = 0;
  /** Count announced by a full-line header, entered after its CR LF. */
  private pendingCount = 0;

  constructor(options: AtTokenizerOptions = {}) {
    this.maxLine = Math.max(16, options.maxLine ?? AT_DEFAULT_MAX_LINE);
    this.maxCounted = Math.max(0, options.maxCounted ?? AT_DEFAULT_MAX_COUNTED);
    this.maxHeader = Math.min(this.maxLine, Math.max(1, options.maxHeader ?? AT_DEFAULT_MAX_HEADER));
    this.partial = [...(options.partial ?? [])];
    this.full = [...(options.full ?? [])];
    this.line = new Uint8Array(this.maxLine);
  }

  /** Registers a partial-line recogniser; returns a function that removes it. */
  addPartial(r: PartialLineRecogniser): () => void {
    this.partial.push(r);
    return () => removeFrom(this.partial, r);
  }

  /** Registers a full-line recogniser; returns a function that removes it. */
  addFull(r: FullLineRecogniser): () => void {
    this.full.push(r);
    return () => removeFrom(this.full, r);
  }

  /** True while a counted payload (or the CR LF before it) is being read. */
  inPayload(): boolean {
    return this.mode === Mode.Counted || this.mode === Mode.SkipLf;
  }

  /** Drops any partial line or payload (after a module reset, for example). */
  reset(): void {
    this.lineLen = 0;
    this.mode = Mode.Line;
    this.header = '';
    this.payload = new Uint8Array(0);
    this.filled = 0;
  }

  /** Feeds bytes; returns the tokens they complete, in order. Never throws. */
  push(bytes: Uint8Array): AtToken[] {
    return this.pushUntil(bytes, () => false).tokens;
  }

  /**
   * Feeds bytes up to the end of the first token `stop` accepts (`stop` must not throw); `consumed`
   * says how many bytes were used, the rest is for the caller (the bytes after a `CONNECT` line
   * are data-mode bytes, not AT output). A line ends at its first CR or LF, so an LF after a CR
   * is left unconsumed. Never throws.
   */
  pushUntil(bytes: Uint8Array, stop: (token: AtToken) => boolean): { tokens: AtToken[]; consumed: number } {
    const out: AtToken[] = [];
    let i = 0;
    let asked = 0;
    const n = bytes.length;
    while (i < n) {
      if (out.length > asked) {
        asked = out.length;
        if (stop(out[asked - 1] as AtToken)) break;
      }
      if (this.mode === Mode.Counted) {
        const take = Math.min(n - i, this.payload.length - this.filled);
        this.payload.set(bytes.subarray(i, i + take), this.filled);
        this.filled += take;
        i += take;
        if (this.filled === this.payload.length) this.finishPayload(out);
        continue;
      }
      const b = bytes[i++] as number;
      switch (this.mode) {
        case Mode.SkipLf:
          if (b === LF) {
            this.startPayload(out, this.header, this.pendingCount);
            break;
          }
          this.startPayload(out, this.header, this.pendingCount);
          i--; // not the LF: the byte is payload
          break;
        case Mode.AfterPrompt:
          this.mode = Mode.Line;
          if (b !== SPACE) this.lineByte(b, out);
          break;
        case Mode.Discard:
          if (b === CR || b === LF) this.mode = Mode.Line;
          break;
        default:
          this.lineByte(b, out);
      }
    }
    return { tokens: out, consumed: i };
  }

  private lineByte(b: number, out: AtToken[]): void {
    if (b === CR || b === LF) {
      if (this.lineLen > 0) this.endLine(b, out);
      return;
    }
    if (this.lineLen === 0 && b === GT) {
      out.push({ kind: 'prompt', text: '>' });
      this.mode = Mode.AfterPrompt;
      return;
    }
    if (this.lineLen === this.maxLine) {
      out.push({ kind: 'overflow', reason: 'line', text: latin1Text(this.line, 0, this.lineLen), length: this.lineLen + 1 });
      this.lineLen = 0;
      this.mode = Mode.Discard;
      return;
    }
    this.line[this.lineLen++] = b;
    if (this.partial.length > 0 && this.lineLen <= this.maxHeader) this.tryPartial(out);
  }

  private tryPartial(out: AtToken[]): void {
    let text: string | undefined;
    for (const r of this.partial) {
      const p = r.prefix;
      if (this.lineLen < p.length || !this.startsWith(p)) continue;
      text ??= latin1Text(this.line, 0, this.lineLen);
      const count = safeMatch(r, text);
      if (count === undefined) continue;
      this.lineLen = 0;
      this.startPayload(out, text, count);
      return;
    }
  }

  private startsWith(p: string): boolean {
    for (let k = 0; k < p.length; k++) if (this.line[k] !== p.charCodeAt(k)) return false;
    return true;
  }

  private endLine(terminator: number, out: AtToken[]): void {
    const text = latin1Text(this.line, 0, this.lineLen);
    this.lineLen = 0;
    for (const r of this.full) {
      if (!text.startsWith(r.prefix)) continue;
      const count = safeMatch(r, text);
      if (count === undefined) continue;
      if (count > this.maxCounted) {
        out.push({ kind: 'overflow', reason: 'counted', text, length: count });
        return;
      }
      if (terminator === CR) {
        this.header = text;
        this.pendingCount = count;
        this.mode = Mode.SkipLf;
      } else {
        this.startPayload(out, text, count);
      }
      return;
    }
    out.push({ kind: 'line', text });
  }

  private startPayload(out: AtToken[], header: string, count: number): void {
    if (count > this.maxCounted) {
      out.push({ kind: 'overflow', reason: 'counted', text: header, length: count });
      this.mode = Mode.Line;
      return;
    }
    this.header = header;
    this.payload = new Uint8Array(count);
    this.filled = 0;
    this.mode = Mode.Counted;
    if (count === 0) this.finishPayload(out);
  }

  private finishPayload(out: AtToken[]): void {
    out.push({ kind: 'data', header: this.header, bytes: this.payload });
    this.payload = new Uint8Array(0);
    this.filled = 0;
    this.header = '';
    this.mode = Mode.Line;
  }
}

/** A recogniser is caller code: a throw or a nonsense count means "not a header". */
function safeMatch(r: PartialLineRecogniser | FullLineRecogniser, text: string): number | undefined {
  try {
    const c = r.match(text);
    return c !== undefined && Number.isSafeInteger(c) && c >= 0 ? c : undefined;
  } catch {
    return undefined;
  }
}

function removeFrom<T>(list: T[], item: T): void {
  const k = list.indexOf(item);
  if (k >= 0) list.splice(k, 1);
}
