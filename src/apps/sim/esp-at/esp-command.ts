/**
 * ESP-AT command lines as the module reads them (reference §1.2): `AT`, basic `ATE0`, extended
 * `AT+NAME` / `AT+NAME?` / `AT+NAME=?` / `AT+NAME=<params>`, case-sensitive (`at` is rejected),
 * no trailing spaces; string parameters quoted with `\,` `\"` `\\` escapes; omitted middle
 * parameters keep their comma. Also the `ERR CODE` numbers `AT+SYSLOG=1` prints.
 */
import type { AtLineResult } from '../at-sim-port.ts';
import type { EspAtSim } from './esp-at-sim.ts';

/** One parameter: its (unescaped) text, whether it was quoted; empty unquoted = omitted. */
export interface EspParam {
  readonly text: string;
  readonly quoted: boolean;
}

/** A parsed command line. */
export interface EspCommand {
  /** `''` for `AT`, `E0` for `ATE0`, `CWJAP_CUR` for `AT+CWJAP_CUR=…`. */
  readonly name: string;
  /** The name without `_CUR`/`_DEF`. */
  readonly base: string;
  readonly suffix: '' | '_CUR' | '_DEF';
  readonly form: 'exec' | 'query' | 'test' | 'set';
  readonly params: readonly EspParam[];
  readonly line: string;
}

/** `ERR CODE` subcategories (esp-at `at_error_code`): printed as `ERR CODE:0x01<sub>0000`. */
export const ERR = {
  common: 0x01,
  noTerminator: 0x02,
  noAt: 0x03,
  paramLength: 0x04,
  paramType: 0x05,
  paramCount: 0x06,
  paramInvalid: 0x07,
  paramParse: 0x08,
  unsupported: 0x09,
  execFail: 0x0a,
  processing: 0x0b,
  opError: 0x0c,
} as const;

/** The `ERR CODE:0x…` line of a subcategory. */
export function errCodeLine(sub: number): string {
  return `ERR CODE:0x${((0x01 << 24) | ((sub & 0xff) << 16)).toString(16).padStart(8, '0')}\r\n`;
}

/** Splits parameter text; undefined when a quote is not closed or text follows a closing quote. */
export function parseEspParams(text: string): EspParam[] | undefined {
  const out: EspParam[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        const c = text[i] as string;
        if (c === '\\' && i + 1 < text.length) {
          s += text[i + 1];
          i += 2;
          continue;
        }
        if (c === '"') break;
        s += c;
        i++;
      }
      i++;
      out.push({ text: s, quoted: true });
      if (i >= text.length) return out;
      if (text[i] !== ',') return undefined;
      i++;
    } else {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      const s = text.slice(i, end);
      if (s.includes('"')) return undefined;
      out.push({ text: s, quoted: false });
      if (comma < 0) return out;
      i = comma + 1;
    }
  }
}

/** Parses a command line; `{ error }` with an `ERR` subcategory when it is malformed. */
export function parseEspCommand(line: string): EspCommand | { error: number } {
  if (!line.startsWith('AT')) return { error: ERR.noAt };
  const rest = line.slice(2);
  if (rest === '') return { name: '', base: '', suffix: '', form: 'exec', params: [], line };
  if (!rest.startsWith('+')) {
    // Basic commands: ATE0, ATE1 (and whatever else, refused by the table).
    if (!/^[A-Z][0-9]?$/.test(rest)) return { error: ERR.unsupported };
    return { name: rest, base: rest, suffix: '', form: 'exec', params: [], line };
  }
  const m = /^\+([A-Z][A-Z0-9_]*)(.*)$/s.exec(rest);
  if (m === null) return { error: ERR.unsupported };
  const name = m[1] as string;
  const tail = m[2] as string;
  const suffix = name.endsWith('_CUR') ? '_CUR' : name.endsWith('_DEF') ? '_DEF' : '';
  const base = suffix === '' ? name : name.slice(0, -4);
  if (tail === '') return { name, base, suffix, form: 'exec', params: [], line };
  if (tail === '?') return { name, base, suffix, form: 'query', params: [], line };
  if (tail === '=?') return { name, base, suffix, form: 'test', params: [], line };
  if (!tail.startsWith('=') || tail.length === 1) return { error: ERR.paramParse };
  const params = parseEspParams(tail.slice(1));
  if (params === undefined) return { error: ERR.paramParse };
  return { name, base, suffix, form: 'set', params, line };
}

/** A command handler: writes the response (sync or later). */
export type EspHandler = (sim: EspAtSim, cmd: EspCommand) => AtLineResult;

/** A table entry: the handler and which forms `AT+CMD?` lists (`t`est, `q`uery, `s`et, `e`xec). */
export interface EspCommandEntry {
  readonly run: EspHandler;
  readonly forms: string;
  /** Only on ESP-AT. */
  readonly espAtOnly?: boolean;
  /** Takes `_CUR`/`_DEF` on NONOS (plain names on ESP-AT). */
  readonly curDef?: boolean;
  /** Only `_CUR`/`_DEF`, in both dialects (`AT+UART_CUR`). */
  readonly suffixOnly?: boolean;
  /** On NONOS the plain name exists as well (deprecated alias). */
  readonly plainOnNonos?: boolean;
}

/** Integer parameter `i` within [lo, hi], or undefined (omitted or bad). */
export function intParam(cmd: EspCommand, i: number, lo: number, hi: number): number | undefined {
  const p = cmd.params[i];
  if (p === undefined || p.quoted || !/^-?\d{1,10}$/.test(p.text)) return undefined;
  const n = Number(p.text);
  return n >= lo && n <= hi ? n : undefined;
}

/** Quoted string parameter `i` of at most `max` characters, or undefined. */
export function strParam(cmd: EspCommand, i: number, max: number): string | undefined {
  const p = cmd.params[i];
  if (p === undefined || !p.quoted || p.text.length > max) return undefined;
  return p.text;
}

/** Parameter `i` is absent or empty (omitted). */
export function omitted(cmd: EspCommand, i: number): boolean {
  const p = cmd.params[i];
  return p === undefined || (!p.quoted && p.text === '');
}
