/**
 * AT parameter text: quoting strings for commands and splitting response parameters into fields
 * (reference `at-modules.md` §1.2: strings are quoted, `,` `"` `\` escaped as `\,` `\"` `\\`).
 * Pure; never throws.
 */

/** One parameter of a response line: its text (unescaped) and whether it was quoted. */
export interface AtField {
  readonly text: string;
  readonly quoted: boolean;
}

/** A response line `+NAME:params` / `+NAME: params` split into its name and fields. */
export interface AtInfo {
  readonly name: string;
  readonly fields: AtField[];
}

/** Quotes `s` as an AT string parameter: `my,ssid` → `"my\,ssid"`. */
export function atQuote(s: string): string {
  return `"${s.replace(/[\\",]/g, (c) => `\\${c}`)}"`;
}

/**
 * Splits a parameter list into fields: `3,"ssid",-60` → `3`, `ssid` (quoted), `-60`. One pair of
 * parentheses around the whole list (`+CWLAP:(…)`) is removed; spaces around unquoted fields are
 * trimmed; empty fields stay (`4,,,,,` has six); inside quotes `\x` stands for `x`; an unterminated
 * quote runs to the end.
 */
export function parseAtFields(params: string): AtField[] {
  let s = params.trim();
  if (s.length >= 2 && s.startsWith('(') && s.endsWith(')')) s = s.slice(1, -1);
  const fields: AtField[] = [];
  let i = 0;
  for (;;) {
    while (s[i] === ' ') i++;
    if (s[i] === '"') {
      let text = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        text += s[i];
        i++;
      }
      i++; // closing quote
      const comma = s.indexOf(',', i);
      fields.push({ text, quoted: true });
      if (comma < 0) break;
      i = comma + 1;
    } else {
      const comma = s.indexOf(',', i);
      const end = comma < 0 ? s.length : comma;
      fields.push({ text: s.slice(i, end).trim(), quoted: false });
      if (comma < 0) break;
      i = comma + 1;
    }
  }
  return fields;
}

/** Splits `+NAME:params` or `+NAME: params` (also without `+`), or undefined if there is no `:`. */
export function parseAtInfo(line: string): AtInfo | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0) return undefined;
  const name = line.slice(0, colon);
  if (!/^\+?[A-Za-z0-9_]+$/.test(name)) return undefined;
  return { name, fields: parseAtFields(line.slice(colon + 1)) };
}

/** A field as an integer, or undefined when it is not a plain (optionally negative) decimal. */
export function fieldInt(f: AtField | undefined): number | undefined {
  if (f === undefined || !/^-?\d{1,15}$/.test(f.text)) return undefined;
  return Number(f.text);
}
