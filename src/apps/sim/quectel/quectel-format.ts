/**
 * Output framing of the Quectel simulator, V.250 §6.2.6 / reference `at-modules.md` §2: verbose
 * (`ATV1`, default) information text `\r\n<line>\r\n<line>\r\n` and result codes
 * `\r\n<text>\r\n`; numeric (`ATV0`) information text `<line>\r\n` and result codes `<n>\r`
 * (0 OK, 1 CONNECT, 4 ERROR; `+CME ERROR: <e>` stays text). `AT+CMEE` selects `ERROR` (0),
 * `+CME ERROR: <code>` (1) or `+CME ERROR: <text>` (2). Pure.
 */
import { CME_TEXT } from './quectel-network-model.ts';

/** How a command ends. `none`: the handler wrote its own ending (data phases, `CONNECT`). */
export type Final = 'OK' | 'ERROR' | 'NO CARRIER' | { readonly cme: number } | 'none';

/** What a command handler answers: information lines (latin1 text; binary data as latin1) and a final. */
export interface Reply {
  readonly lines?: readonly string[] | undefined;
  readonly final: Final;
  /** Runs once the reply is written (URCs that follow `OK`, reboots). */
  readonly after?: (() => void) | undefined;
}

export const OK: Reply = { final: 'OK' };
export const ERROR: Reply = { final: 'ERROR' };
export const NO_CARRIER: Reply = { final: 'NO CARRIER' };

/** A `+CME ERROR` reply. */
export function cme(code: number): Reply {
  return { final: { cme: code } };
}

/** Information lines then OK. */
export function info(...lines: string[]): Reply {
  return { lines, final: 'OK' };
}

/** Result-code framing settings (`ATV`, `AT+CMEE`). */
export interface FormatSettings {
  verbose: boolean;
  cmee: number;
}

const NUMERIC: Readonly<Record<string, number>> = { OK: 0, CONNECT: 1, RING: 2, 'NO CARRIER': 3, ERROR: 4 };

/**
 * A result code (`OK`, `ERROR`, `SEND OK`, `CONNECT 150000000`, …) framed per `ATV`; numeric
 * `CONNECT <rate>` is `1` (the rate is a verbose-only suffix here).
 */
export function resultCode(text: string, s: FormatSettings): string {
  if (s.verbose) return `\r\n${text}\r\n`;
  const n = NUMERIC[text.startsWith('CONNECT ') ? 'CONNECT' : text];
  return n !== undefined ? `${n}\r` : `${text}\r\n`;
}

/** The final result of `f` (empty for `none`). */
export function finalText(f: Final, s: FormatSettings): string {
  if (f === 'none') return '';
  if (f === 'OK' || f === 'ERROR' || f === 'NO CARRIER') return resultCode(f, s);
  if (s.cmee === 0) return resultCode('ERROR', s);
  const detail = s.cmee === 2 ? (CME_TEXT[f.cme] ?? String(f.cme)) : String(f.cme);
  const line = `+CME ERROR: ${detail}`;
  return s.verbose ? `\r\n${line}\r\n` : `${line}\r\n`;
}

/** Information lines as the parts to write (one per line, so URCs can be injected between). */
export function infoParts(lines: readonly string[], s: FormatSettings): string[] {
  return lines.map((l, k) => (s.verbose && k === 0 ? `\r\n${l}\r\n` : `${l}\r\n`));
}

/** An unsolicited line with its framing. */
export function urcText(line: string, s: FormatSettings): string {
  return s.verbose ? `\r\n${line}\r\n` : `${line}\r\n`;
}
