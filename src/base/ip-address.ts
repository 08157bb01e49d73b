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
  for (let i = 0; i < b.length; i++) if (b[i] !== value) return false;
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

// ---- IPv6 address helpers (RFC 4291) -------------------------------------------------

/** `::ffff:0:0/96`: an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2). False for other lengths. */
export function isIpv4Mapped(b: Uint8Array): boolean {
  if (!isBytes(b, 16)) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** `::ffff:a.b.c.d` for the 4-byte IPv4 address `v4` (a fresh array). */
export function ipv4Mapped(v4: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  b[10] = 0xff;
  b[11] = 0xff;
  b.set(v4.subarray(0, 4), 12);
  return b;
}

/**
 * The 16 bytes of `a` equal the 16 bytes of `b` at `bOff`: the check-free, allocation-free
 * compare of the per-packet paths (callers pass 16-byte addresses; see `ipEquals` otherwise).
 */
export function ipv6EqualAt(a: Uint8Array, b: Uint8Array, bOff = 0): boolean {
  // From the last byte: addresses that differ mostly differ in the interface identifier
  // (same prefix), so a mismatch is usually found at once.
  for (let i = 15; i >= 0; i--) if (a[i] !== b[bOff + i]) return false;
  return true;
}

/**
 * Link-local unicast: `fe80::/10` (RFC 4291 §2.5.6) or `169.254.0.0/16` (RFC 3927).
 * False for other lengths.
 */
export function isLinkLocal(b: Uint8Array): boolean {
  if (isBytes(b, 16)) return b[0] === 0xfe && ((b[1] as number) & 0xc0) === 0x80;
  if (isBytes(b, 4)) return b[0] === 169 && b[1] === 254;
  return false;
}

/** Solicited-node multicast `ff02::1:ff00:0/104` (RFC 4291 §2.7.1). */
export function isSolicitedNodeMulticast(b: Uint8Array): boolean {
  if (!isBytes(b, 16) || b[0] !== 0xff || b[1] !== 0x02) return false;
  for (let i = 2; i < 11; i++) if (b[i] !== 0) return false;
  return b[11] === 0x01 && b[12] === 0xff;
}

/**
 * The scope field (low 4 bits of byte 1) of an IPv6 multicast address (RFC 4291 §2.7:
 * 1 interface-local, 2 link-local, 5 site-local, 8 organization, 14 global); undefined for
 * anything that is not a 16-byte multicast address.
 */
export function ipv6MulticastScope(b: Uint8Array): number | undefined {
  return isBytes(b, 16) && b[0] === 0xff ? (b[1] as number) & 0x0f : undefined;
}

/**
 * The solicited-node multicast address of a unicast or anycast IPv6 address (RFC 4291
 * §2.7.1): `ff02::1:ff` + its low 24 bits. Writes into `out` (16 bytes) when given, else a
 * fresh array. Undefined when `addr` is not 16 bytes.
 */
export function solicitedNodeMulticast(addr: Uint8Array, out: Uint8Array = new Uint8Array(16)): Uint8Array | undefined {
  if (!isBytes(addr, 16) || out.length < 16) return undefined;
  const a = addr[13] as number;
  const b = addr[14] as number;
  const c = addr[15] as number;
  out.fill(0, 0, 16);
  out[0] = 0xff;
  out[1] = 0x02;
  out[11] = 0x01;
  out[12] = 0xff;
  out[13] = a;
  out[14] = b;
  out[15] = c;
  return out;
}

/**
 * The Ethernet destination of an IPv6 multicast address (RFC 2464 §7): `33:33` + its low
 * 32 bits. Writes into `out` (6 bytes) when given, else a fresh array. Undefined when
 * `addr` is not a 16-byte multicast address.
 */
export function ipv6MulticastMac(addr: Uint8Array, out: Uint8Array = new Uint8Array(6)): Uint8Array | undefined {
  if (!isBytes(addr, 16) || addr[0] !== 0xff || out.length < 6) return undefined;
  out[0] = 0x33;
  out[1] = 0x33;
  out[2] = addr[12] as number;
  out[3] = addr[13] as number;
  out[4] = addr[14] as number;
  out[5] = addr[15] as number;
  return out;
}

/**
 * The modified EUI-64 interface identifier (RFC 4291 §2.5.1 and appendix A) of a 48-bit MAC
 * (`ff:fe` inserted in the middle) or of a 64-bit EUI-64, with the universal/local bit
 * (0x02 of the first byte) inverted. 8 fresh bytes; undefined for other lengths.
 */
export function modifiedEui64(mac: Uint8Array): Uint8Array | undefined {
  if (!(mac instanceof Uint8Array)) return undefined;
  let iid: Uint8Array;
  if (mac.length === 6) iid = Uint8Array.of(mac[0] as number, mac[1] as number, mac[2] as number, 0xff, 0xfe, mac[3] as number, mac[4] as number, mac[5] as number);
  else if (mac.length === 8) iid = mac.slice();
  else return undefined;
  iid[0] = (iid[0] as number) ^ 0x02;
  return iid;
}

/**
 * A 16-byte address from the first 64 bits of `prefix` (8 or 16 bytes) and an 8-byte
 * interface identifier (RFC 4291 §2.5.1 / RFC 4862 §5.3, 64-bit IIDs as on Ethernet).
 * Undefined for other lengths.
 */
export function ipv6FromPrefixAndIid(prefix: Uint8Array, iid: Uint8Array): Uint8Array | undefined {
  if (!(prefix instanceof Uint8Array) || (prefix.length !== 8 && prefix.length !== 16) || !isBytes(iid, 8)) return undefined;
  const out = new Uint8Array(16);
  out.set(prefix.subarray(0, 8), 0);
  out.set(iid, 8);
  return out;
}

/** The link-local address `fe80::/64` + `iid` (RFC 4862 §5.3); undefined unless `iid` is 8 bytes. */
export function ipv6LinkLocalFromIid(iid: Uint8Array): Uint8Array | undefined {
  return ipv6FromPrefixAndIid(Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0), iid);
}

/**
 * Length in bits of the common prefix of two addresses of the same length (RFC 6724 §2.2
 * CommonPrefixLen); −1 when the lengths differ or are not 4 or 16.
 */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return -1;
  if (a.length !== 4 && a.length !== 16) return -1;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) ^ (b[i] as number);
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return a.length * 8;
}

/** True when the first `prefixLen` bits of `addr` and `prefix` agree (same length, 0 ≤ prefixLen ≤ bits). */
export function ipPrefixMatches(addr: Uint8Array, prefix: Uint8Array, prefixLen: number): boolean {
  const n = commonPrefixLength(addr, prefix);
  return n >= 0 && Number.isInteger(prefixLen) && prefixLen >= 0 && prefixLen <= addr.length * 8 && n >= prefixLen;
}
