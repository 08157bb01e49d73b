/**
 * IP address literals as bytes: strict parsing and canonical formatting.
 *
 * Addresses are plain `Uint8Array`s in network order: 4 bytes for IPv4, 16 for IPv6
 * (the `Endpoint.address` of the backend contract). Everything here is pure and total:
 * parsers return `undefined` and formatters `'<invalid>'` for bad input; nothing throws.
 *
 * - IPv4 text: the strict dotted quad (RFC 791 / RFC 4291 §2.2 form 3 `d.d.d.d`):
 *   exactly four decimal parts 0..255, no leading zeros. The legacy `inet_aton`
 *   forms (`1.2.3`, `0x7f.1`, octal `010.0.0.1`) are rejected on purpose: a leading
 *   zero means octal to some parsers and decimal to others.
 * - IPv6 text: RFC 4291 §2.2 (full form, one `::`, embedded IPv4 in the last 32 bits),
 *   without zone ids (RFC 6874 `%eth0`) and without brackets (those belong to
 *   `host:port` syntax, see `SocketAddress`).
 * - IPv6 output: RFC 5952 §4 canonical text.
 */

/** Longest accepted IPv6 text: six full groups and a dotted quad, `ffff:...:ffff:255.255.255.255`. */
const MAX_IPV6_TEXT = 45;
/** Longest accepted IPv4 text: `255.255.255.255`. */
const MAX_IPV4_TEXT = 15;

const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Parses a strict dotted-quad IPv4 address (`192.0.2.1`) into 4 bytes.
 * Exactly four decimal parts 0..255, no leading zeros (`0` itself is fine), no
 * whitespace, no shorthand (`1.2.3`), hex or octal forms. Returns `undefined` otherwise.
 */
export function parseIPv4(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length > MAX_IPV4_TEXT) return undefined;
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (!IPV4_PART.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    out[i] = value;
  }
  return out;
}

/**
 * Parses the groups of one side of an IPv6 literal (`1:2:3`, or `''` for none) into
 * 16-bit values. When `allowV4` is set, the last part may be a dotted quad, which
 * counts as two groups (RFC 4291 §2.2 form 3).
 */
function parseGroups(text: string, allowV4: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (allowV4 && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4(part);
      if (v4 === undefined) return undefined;
      groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
    } else {
      if (!HEX_GROUP.test(part)) return undefined;
      groups.push(parseInt(part, 16));
    }
  }
  return groups;
}

/**
 * Parses an IPv6 address in any RFC 4291 §2.2 text form into 16 bytes:
 * - full: `2001:db8:0:0:8:800:200c:417a` (1-4 hex digits per group, any case);
 * - compressed: one `::` standing for one or more zero groups (`2001:db8::1`, `::`, `1::`);
 * - with an embedded IPv4 address as the last 32 bits: `::ffff:192.0.2.1`, `64:ff9b::1.2.3.4`.
 *
 * Rejected (returns `undefined`): zone ids (`fe80::1%eth0`, RFC 6874 is URI/host
 * syntax, not an address), brackets, whitespace, more than one `::`, more than eight
 * groups, groups of five or more digits, a dotted quad anywhere but at the end.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length < 2 || text.length > MAX_IPV6_TEXT) return undefined;
  let groups: number[];
  const gap = text.indexOf('::');
  if (gap < 0) {
    const all = parseGroups(text, true);
    if (all === undefined || all.length !== 8) return undefined;
    groups = all;
  } else {
    // A second `::` (searching from gap + 1 also catches `:::`) is ambiguous.
    if (text.indexOf('::', gap + 1) >= 0) return undefined;
    const head = parseGroups(text.slice(0, gap), false);
    const tail = parseGroups(text.slice(gap + 2), true);
    if (head === undefined || tail === undefined) return undefined;
    // `::` stands for at least one zero group (RFC 4291 §2.2 form 2).
    const zeros = 8 - head.length - tail.length;
    if (zeros < 1) return undefined;
    groups = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as number;
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  return out;
}

/** Parses an IPv4 (4 bytes) or IPv6 (16 bytes) literal; see `parseIPv4` / `parseIPv6`. */
export function parseIp(text: string): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined;
  return text.includes(':') ? parseIPv6(text) : parseIPv4(text);
}

function isBytes(b: unknown, length: number): boolean {
  return b instanceof Uint8Array && b.length === length;
}

/** Dotted-quad text of 4 bytes (`192.0.2.1`); `'<invalid>'` for anything else. */
export function formatIPv4(b: Uint8Array): string {
  if (!isBytes(b, 4)) return '<invalid>';
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/**
 * RFC 5952 §4 canonical text of 16 bytes; `'<invalid>'` for anything else.
 * - §4.1: leading zeros of each group dropped;
 * - §4.2: `::` replaces the longest run of two or more zero groups (§4.2.2: never a
 *   single group), the first such run on ties (§4.2.3);
 * - §4.3: lowercase hex;
 * - §5: IPv4-mapped addresses (`::ffff:0:0/96`, RFC 4291 §2.5.5.2) end in a dotted quad,
 *   `::ffff:192.0.2.1`. Other embedded forms (NAT64, deprecated IPv4-compatible) are
 *   printed as plain hex.
 */
export function formatIPv6(b: Uint8Array): string {
  if (!isBytes(b, 16)) return '<invalid>';
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = b[i] === 0;
  if (mapped) return `::ffff:${formatIPv4(b.subarray(12))}`;

  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[2 * i] as number) << 8) | (b[2 * i + 1] as number));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Text of a 4- or 16-byte address (`formatIPv4` / `formatIPv6`); `'<invalid>'` for any other length. */
export function formatIp(b: Uint8Array): string {
  if (isBytes(b, 4)) return formatIPv4(b);
  if (isBytes(b, 16)) return formatIPv6(b);
  return '<invalid>';
}

function allEqual(b: Uint8Array, value: number): boolean {
  for (const x of b) if (x !== value) return false;
  return true;
}

/** The unspecified address, `0.0.0.0` or `::` (RFC 4291 §2.5.2). False for other lengths. */
export function isUnspecified(b: Uint8Array): boolean {
  return (isBytes(b, 4) || isBytes(b, 16)) && allEqual(b, 0);
}

/** Multicast: `224.0.0.0/4` (RFC 5771) or `ff00::/8` (RFC 4291 §2.7). */
export function isMulticast(b: Uint8Array): boolean {
  if (isBytes(b, 4)) return ((b[0] as number) & 0xf0) === 0xe0;
  if (isBytes(b, 16)) return b[0] === 0xff;
  return false;
}

/** The limited broadcast address `255.255.255.255` (RFC 919 §7). IPv6 has no broadcast. */
export function isBroadcast(b: Uint8Array): boolean {
  return isBytes(b, 4) && allEqual(b, 0xff);
}

/**
 * Loopback: `127.0.0.0/8` (RFC 1122 §3.2.1.3) or `::1` (RFC 4291 §2.5.3).
 * The IPv4-mapped form `::ffff:127.0.0.1` is not counted: it is an IPv6 address.
 */
export function isLoopback(b: Uint8Array): boolean {
  if (isBytes(b, 4)) return b[0] === 127;
  if (isBytes(b, 16)) return b[15] === 1 && allEqual(b.subarray(0, 15), 0);
  return false;
}

/** Same length and same bytes. An IPv4 address never equals its IPv4-mapped IPv6 form. */
export function ipEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A fresh `0.0.0.0` (4 zero bytes): bind to any IPv4 address. */
export function ipv4Any(): Uint8Array {
  return new Uint8Array(4);
}

/** A fresh `::` (16 zero bytes): bind to any IPv6 address. */
export function ipv6Any(): Uint8Array {
  return new Uint8Array(16);
}
