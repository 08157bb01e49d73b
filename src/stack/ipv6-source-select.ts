/**
 * Default source address selection for IPv6 (RFC 6724 §5) and the default policy table
 * (RFC 6724 §2.1), pure: the caller lists the candidate addresses (RFC 6724 §4: usable
 * ones only — not tentative, not duplicate, and for a link-local or link-scope multicast
 * destination only those of the outgoing link) and gets one of them back.
 *
 * Rules, applied in order to each pair; the first that decides wins, and a tie after all of
 * them keeps the candidate listed first (the RFC leaves that to the implementation):
 * - 1, prefer the same address: a candidate equal to the destination.
 * - 2, prefer appropriate scope: of two scopes, the smaller one when it is at least the
 *   destination's, else the larger one. Scopes (RFC 6724 §3.1, §3.2): a multicast
 *   destination's own scope field; link-local unicast `fe80::/10` and the loopback `::1`
 *   are link-local (2); the deprecated site-local `fec0::/10` is site-local (5); everything
 *   else, unique-local `fc00::/7` included, is global (14). IPv4-mapped addresses get their
 *   IPv4 scope: `127.0.0.0/8` and `169.254.0.0/16` link-local, the rest global.
 * - 3, avoid deprecated addresses (RFC 4862 preferred lifetime over).
 * - 4, prefer home addresses (Mobile IPv6; only when the optional `home` / `careOf` flags
 *   are given: a home-and-care-of address over any other, a home address over the rest).
 * - 5, prefer the outgoing interface (`outIfIndex`, when known).
 * - 5.5 (prefer addresses in a prefix advertised by the next hop) is not applied: the
 *   candidates do not carry which router advertised them.
 * - 6, prefer a matching label (`label(S) = label(D)` in the policy table).
 * - 7, prefer temporary addresses (the optional `temporary` flag, RFC 8981).
 * - 8, longest matching prefix: CommonPrefixLen(S, D), which RFC 6724 §2.2 measures "up to
 *   the length of S's prefix (i.e., the portion of the address not including the
 *   interface ID)" — so capped at the candidate's `prefixLen` (64 for a /64: the RFC's
 *   CommonPrefixLen(fe80::1, fe80::2) = 64).
 *
 * Nothing is allocated: the policy table is a constant, the answer one of the candidates.
 * Malformed input does not throw: a destination that is not 16 bytes gives undefined, a
 * candidate whose address is not 16 bytes or whose prefix length is not an integer in
 * 0..128 is skipped.
 */

import { commonPrefixLength, ipEquals, ipPrefixMatches, isLinkLocal, isLoopback, ipv6MulticastScope, parseIPv6 } from '../base/ip-address.ts';

/** One address the host could send from. */
export interface SourceCandidate {
  /** 16 bytes. */
  readonly addr: Uint8Array;
  /** The interface the address is assigned to. */
  readonly ifIndex: number;
  /** Its preferred lifetime is over (RFC 4862 §5.5.4): used only when nothing better fits (rule 3). */
  readonly deprecated: boolean;
  /** Length of the prefix the address was formed or configured from (rule 8), 0..128. */
  readonly prefixLen: number;
  /** Rule 4 (Mobile IPv6, RFC 6275): a home address. Default false. */
  readonly home?: boolean;
  /** Rule 4: a care-of address. Default false. */
  readonly careOf?: boolean;
  /** Rule 7: a temporary address (RFC 8981). Default false. */
  readonly temporary?: boolean;
}

/** Scope values (RFC 4291 §2.7 multicast scopes; RFC 6724 §3.1 maps unicast scopes onto them). */
export const Ipv6Scope = {
  INTERFACE_LOCAL: 0x1,
  LINK_LOCAL: 0x2,
  ADMIN_LOCAL: 0x4,
  SITE_LOCAL: 0x5,
  ORGANIZATION_LOCAL: 0x8,
  GLOBAL: 0xe,
} as const;

interface PolicyRow {
  readonly prefix: Uint8Array;
  readonly prefixLen: number;
  readonly precedence: number;
  readonly label: number;
}

function row(prefix: string, prefixLen: number, precedence: number, label: number): PolicyRow {
  return Object.freeze({ prefix: parseIPv6(prefix) as Uint8Array, prefixLen, precedence, label });
}

/** RFC 6724 §2.1 default policy table, longest prefixes first (so the first match is the longest). */
const DEFAULT_POLICY: readonly PolicyRow[] = Object.freeze([
  row('::1', 128, 50, 0),
  row('::ffff:0:0', 96, 35, 4), // IPv4-mapped
  row('::', 96, 1, 3), // IPv4-compatible (deprecated)
  row('2001::', 32, 5, 5), // Teredo
  row('2002::', 16, 30, 2), // 6to4
  row('3ffe::', 16, 1, 12), // 6bone (returned)
  row('fec0::', 10, 1, 11), // site-local (deprecated)
  row('fc00::', 7, 3, 13), // unique local
  row('::', 0, 40, 1), // everything else
]);

/** The policy row for `addr`: 4 bytes are taken as their IPv4-mapped form; undefined for other lengths. */
function policyOf(addr: Uint8Array): PolicyRow | undefined {
  if (!(addr instanceof Uint8Array)) return undefined;
  if (addr.length === 4) return DEFAULT_POLICY[1];
  if (addr.length !== 16) return undefined;
  for (const r of DEFAULT_POLICY) if (ipPrefixMatches(addr, r.prefix, r.prefixLen)) return r;
  return undefined; // unreachable: ::/0 matches every 16-byte address
}

/** RFC 6724 §2.1 default policy table: the precedence of `addr` (an IPv4 address counts as IPv4-mapped); −1 unless 4 or 16 bytes. */
export function precedence(addr: Uint8Array): number {
  return policyOf(addr)?.precedence ?? -1;
}

/** RFC 6724 §2.1 default policy table: the label of `addr` (an IPv4 address counts as IPv4-mapped); −1 unless 4 or 16 bytes. */
export function label(addr: Uint8Array): number {
  return policyOf(addr)?.label ?? -1;
}

function ipv4Scope(a: number, b: number): number {
  return a === 127 || (a === 169 && b === 254) ? Ipv6Scope.LINK_LOCAL : Ipv6Scope.GLOBAL;
}

function isV4Mapped(addr: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (addr[i] !== 0) return false;
  return addr[10] === 0xff && addr[11] === 0xff;
}

/**
 * The scope of an address for RFC 6724 (§3.1, §3.2): a multicast address's scope field;
 * link-local for `fe80::/10`, `::1`, and (IPv4, also IPv4-mapped) `127.0.0.0/8` and
 * `169.254.0.0/16`; site-local for `fec0::/10`; global for the rest (unique-local
 * included). −1 for anything but 4 or 16 bytes.
 */
export function addressScope(addr: Uint8Array): number {
  if (!(addr instanceof Uint8Array)) return -1;
  if (addr.length === 4) return ipv4Scope(addr[0] as number, addr[1] as number);
  if (addr.length !== 16) return -1;
  const m = ipv6MulticastScope(addr);
  if (m !== undefined) return m;
  if (isLinkLocal(addr) || isLoopback(addr)) return Ipv6Scope.LINK_LOCAL;
  if (addr[0] === 0xfe && ((addr[1] as number) & 0xc0) === 0xc0) return Ipv6Scope.SITE_LOCAL;
  if (isV4Mapped(addr)) return ipv4Scope(addr[12] as number, addr[13] as number);
  return Ipv6Scope.GLOBAL;
}

function usable(c: SourceCandidate | undefined): c is SourceCandidate {
  return c !== null && typeof c === 'object' && c.addr instanceof Uint8Array && c.addr.length === 16
    && Number.isInteger(c.prefixLen) && c.prefixLen >= 0 && c.prefixLen <= 128;
}

/** CommonPrefixLen(S, D) of RFC 6724 §2.2: at most the length of S's prefix. */
function commonPrefixLen(s: SourceCandidate, dst: Uint8Array): number {
  return Math.min(commonPrefixLength(s.addr, dst), s.prefixLen);
}

/**
 * Rule 4 as a rank: home-and-care-of 2, home 1, anything else 0. The RFC orders only
 * home-and-care-of over the rest and home over care-of; taking an address that is
 * neither as a care-of address (on a mobile node, an address that is not a home address
 * is one) makes the rule an order, so the choice does not depend on the list's order.
 */
function homeRank(c: SourceCandidate): number {
  if (c.home !== true) return 0;
  return c.careOf === true ? 2 : 1;
}

/**
 * RFC 6724 §5 for a pair: > 0 when `a` is preferred, < 0 when `b` is, 0 when no rule
 * decides. `dScope` and `dLabel` are the destination's scope and label.
 */
function compare(a: SourceCandidate, b: SourceCandidate, dst: Uint8Array, dScope: number, dLabel: number, outIfIndex: number | undefined): number {
  // Rule 1: prefer same address.
  const aSame = ipEquals(a.addr, dst);
  if (aSame !== ipEquals(b.addr, dst)) return aSame ? 1 : -1;
  // Rule 2: prefer appropriate scope.
  const aScope = addressScope(a.addr);
  const bScope = addressScope(b.addr);
  if (aScope < bScope) return aScope < dScope ? -1 : 1;
  if (bScope < aScope) return bScope < dScope ? 1 : -1;
  // Rule 3: avoid deprecated addresses.
  const aDep = a.deprecated === true;
  if (aDep !== (b.deprecated === true)) return aDep ? -1 : 1;
  // Rule 4: prefer home addresses.
  const home = homeRank(a) - homeRank(b);
  if (home !== 0) return home;
  // Rule 5: prefer outgoing interface.
  if (outIfIndex !== undefined) {
    const aOut = a.ifIndex === outIfIndex;
    if (aOut !== (b.ifIndex === outIfIndex)) return aOut ? 1 : -1;
  }
  // Rule 6: prefer matching label.
  const aMatch = label(a.addr) === dLabel;
  if (aMatch !== (label(b.addr) === dLabel)) return aMatch ? 1 : -1;
  // Rule 7: prefer temporary addresses.
  const aTemp = a.temporary === true;
  if (aTemp !== (b.temporary === true)) return aTemp ? 1 : -1;
  // Rule 8: use longest matching prefix.
  return commonPrefixLen(a, dst) - commonPrefixLen(b, dst);
}

/**
 * The RFC 6724 §5 choice among `candidates` for sending to `dst` (16 bytes) out of
 * interface `outIfIndex` (rule 5; omitted: not applied). Undefined when no candidate is
 * usable. Returns the candidate object itself.
 */
export function selectSourceAddress(dst: Uint8Array, candidates: readonly SourceCandidate[], outIfIndex?: number): SourceCandidate | undefined {
  if (!(dst instanceof Uint8Array) || dst.length !== 16 || !Array.isArray(candidates)) return undefined;
  const dScope = addressScope(dst);
  const dLabel = label(dst);
  let best: SourceCandidate | undefined;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    if (!usable(c)) continue;
    if (best === undefined || compare(c, best, dst, dScope, dLabel, outIfIndex) > 0) best = c;
  }
  return best;
}
