/**
 * Splitting a V.250 command line (as a Quectel module reads it) into commands: the `AT` prefix
 * (either case), basic commands (`E0`, `V1`, `I`, `Z`, `&F`, `D…` which takes the rest of the
 * line, `S<n>?`/`S<n>=<v>` S-registers named `S<n>`) concatenated without separators, and extended commands (`+NAME` in the four forms
 * `+X=?` test, `+X?` read, `+X=<args>` set, `+X` exec) separated by `;` outside quotes.
 * Pure; never throws.
 */
import { parseAtFields, type AtField } from '../../../wire/at/at-params.ts';

/** The form of an extended command. */
export type CommandForm = 'exec' | 'read' | 'test' | 'set';

/** One command of a line. */
export interface ParsedCommand {
  /** Upper-case name: `+QIOPEN`, `E`, `V`, `I`, `Z`, `&F`, `D`. */
  readonly name: string;
  readonly form: CommandForm;
  /** The parameter text after `=` (set form), or the number after a basic command, or the dial string. */
  readonly args: string;
  /** `args` split into fields (set form). */
  readonly fields: AtField[];
}

/** A parsed line: its commands, or a syntax error. */
export type ParsedLine = { readonly kind: 'commands'; readonly commands: ParsedCommand[] } | { readonly kind: 'error' } | { readonly kind: 'none' };

/** Finds the end of an extended command: the first `;` outside quotes, or the end. */
function extendedEnd(s: string, from: number): number {
  let quoted = false;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) return i;
  }
  return s.length;
}

function parseExtended(text: string): ParsedCommand | undefined {
  const m = /^(\+[A-Za-z][A-Za-z0-9_]*)(=\?|\?|=(.*))?$/s.exec(text);
  if (m === null) return undefined;
  const name = (m[1] as string).toUpperCase();
  const suffix = m[2];
  if (suffix === undefined) return { name, form: 'exec', args: '', fields: [] };
  if (suffix === '=?') return { name, form: 'test', args: '', fields: [] };
  if (suffix === '?') return { name, form: 'read', args: '', fields: [] };
  const args = m[3] ?? '';
  return { name, form: 'set', args, fields: args === '' ? [] : parseAtFields(args) };
}

/**
 * Parses one command line from its `AT` prefix on (anything before it is ignored); a line with no
 * prefix gives `none` (ignored, as V.250 does with characters that never form one).
 */
export function parseCommandLine(line: string): ParsedLine {
  // V.250 §5.2.1: characters before the "AT" prefix are ignored (e.g. the last PPP bytes a host
  // sent after the modem went back to command mode, merged with its next command).
  const at = line.search(/at/i);
  if (at < 0) return { kind: 'none' };
  const trimmed = line.slice(at);
  const s = trimmed.slice(2).replace(/\s+$/, '');
  const commands: ParsedCommand[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === ';') {
      i++;
      continue;
    }
    if (c === '+') {
      const end = extendedEnd(s, i);
      const cmd = parseExtended(s.slice(i, end));
      if (cmd === undefined) return { kind: 'error' };
      commands.push(cmd);
      i = end;
      continue;
    }
    const upper = c.toUpperCase();
    if (upper === 'D') {
      commands.push({ name: 'D', form: 'exec', args: s.slice(i + 1), fields: [] });
      break;
    }
    if (upper === 'S') {
      const m = /^S(\d{1,3})(\?|=(\d{0,3}))?/i.exec(s.slice(i));
      if (m === null) return { kind: 'error' };
      const name = `S${Number(m[1])}`;
      const value = m[3] ?? '';
      if (m[2] === '?') commands.push({ name, form: 'read', args: '', fields: [] });
      else if (m[2] !== undefined) commands.push({ name, form: 'set', args: value, fields: value === '' ? [] : parseAtFields(value) });
      else commands.push({ name, form: 'exec', args: '', fields: [] });
      i += m[0].length;
      continue;
    }
    let name = upper;
    let j = i + 1;
    if (c === '&') {
      const letter = s[j];
      if (letter === undefined || !/[A-Za-z]/.test(letter)) return { kind: 'error' };
      name = `&${letter.toUpperCase()}`;
      j++;
    } else if (!/[A-Z]/.test(upper)) {
      return { kind: 'error' };
    }
    let digits = '';
    while (j < s.length && /[0-9]/.test(s[j] as string)) digits += s[j++];
    if (s[j] === '?') {
      commands.push({ name, form: 'read', args: digits, fields: [] });
      j++;
    } else {
      commands.push({ name, form: 'exec', args: digits, fields: [] });
    }
    i = j;
  }
  if (commands.length === 0) commands.push({ name: '', form: 'exec', args: '', fields: [] });
  return { kind: 'commands', commands };
}

/** A field as a non-negative integer within [lo, hi], or undefined. */
export function intField(f: AtField | undefined, lo: number, hi: number): number | undefined {
  if (f === undefined || f.quoted || !/^\d{1,9}$/.test(f.text)) return undefined;
  const n = Number(f.text);
  return n >= lo && n <= hi ? n : undefined;
}

/** A quoted string field, or undefined. */
export function strField(f: AtField | undefined): string | undefined {
  return f !== undefined && f.quoted ? f.text : undefined;
}
