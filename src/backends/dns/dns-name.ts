/**
 * Host names as the resolver accepts them (RFC 1035 §2.3.4, RFC 1123 §2.1 length
 * rules; the character rule is looser than RFC 952 so `_service` names still resolve):
 *
 * - one trailing dot is allowed (an absolute name) and dropped;
 * - labels 1..63 octets, no empty label (`a..b`, `.a`), the whole name at most 253
 *   characters without the trailing dot (255 octets on the wire);
 * - printable ASCII only, no backslash (no escapes), no space: internationalised names
 *   must arrive as A-labels (`xn--...`); there is no IDNA mapping here.
 *
 * Names compare case-insensitively in ASCII only (RFC 4343).
 */

/** Longest name in text form, without the trailing dot. */
export const MAX_NAME_CHARS = 253;
/** Longest label. */
export const MAX_LABEL = 63;

/** ASCII-only lower case (RFC 4343: only A-Z fold). */
export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/** The comparison form of a name: ASCII lower case, without one trailing dot. */
export function canonicalName(name: string): string {
  return asciiLower(name.endsWith('.') && name.length > 1 ? name.slice(0, -1) : name);
}

/** True if `a` and `b` are the same DNS name (case-insensitive, trailing dot ignored). */
export function sameName(a: string, b: string): boolean {
  return canonicalName(a) === canonicalName(b);
}

/**
 * The comparison form of `name` if it is a valid host name as above, else undefined
 * (the resolver answers `EHOSTNOTFOUND`: no such name can exist in the DNS).
 */
export function checkHostName(name: string): string | undefined {
  const text = name.endsWith('.') ? name.slice(0, -1) : name;
  if (text.length === 0 || text.length > MAX_NAME_CHARS) return undefined;
  let labelStart = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      const len = i - labelStart;
      if (len === 0 || len > MAX_LABEL) return undefined;
      labelStart = i + 1;
      continue;
    }
    if (c <= 0x20 || c >= 0x7f || c === 0x5c) return undefined;
  }
  return asciiLower(text);
}

/** True if `name` equals `zone` or lies below it (both in comparison form). */
export function isInZone(name: string, zone: string): boolean {
  if (zone === '') return true;
  return name === zone || (name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 0x2e);
}
