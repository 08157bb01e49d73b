/**
 * Input checks for the names the presets put into topic names, client ids and host
 * names (thing names, device ids, event ids...). A name with `/`, `+` or `#` would
 * silently address another topic or a wildcard, so it is rejected with a TypeError
 * that names the field.
 */
import { parseIPv6 } from '../../base/ip-address.ts';

/** A non-empty string, or a TypeError naming `what`. */
export function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${what} must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** One topic level: non-empty, no `/`, no wildcard `+` or `#`, no U+0000 (MQTT 3.1.1 §4.7). */
export function checkTopicLevel(value: unknown, what: string): string {
  const s = requireString(value, what);
  if (/[/+#\u0000]/.test(s)) {
    throw new TypeError(`${what} must be one topic level without '/', '+', '#' or NUL, got ${JSON.stringify(s)}`);
  }
  return s;
}

/** One or more topic levels joined by `/`: no empty level, no wildcard, no NUL. */
export function checkTopicPath(value: unknown, what: string): string {
  const s = requireString(value, what);
  for (const level of s.split('/')) {
    if (level.length === 0 || /[+#\u0000]/.test(level)) {
      throw new TypeError(`${what} must be topic levels joined by '/', none empty and without '+', '#' or NUL, got ${JSON.stringify(s)}`);
    }
  }
  return s;
}

/** A string matching `pattern` (anchored by the caller), or a TypeError quoting the rule. */
export function checkPattern(value: unknown, what: string, pattern: RegExp, rule: string): string {
  const s = requireString(value, what);
  if (!pattern.test(s)) throw new TypeError(`${what} must be ${rule}, got ${JSON.stringify(s)}`);
  return s;
}

/** A host name (letters, digits, `-`, `.`; labels of 1 to 63) or an IP literal without brackets. */
export function checkHost(value: unknown, what: string): string {
  const s = requireString(value, what);
  const label = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  const isName = s.length <= 253 && s.split('.').every((l) => label.test(l));
  const isV6 = parseIPv6(s) !== undefined;
  if (!isName && !isV6) throw new TypeError(`${what} must be a host name or IP address, got ${JSON.stringify(s)}`);
  return s;
}

/** A TCP port: an integer from 1 to 65535. */
export function checkPort(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new RangeError(`${what} must be an integer port from 1 to 65535, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
