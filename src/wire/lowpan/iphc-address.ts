/**
 * Address compression of LOWPAN_IPHC (RFC 6282 §3.1.1, §3.2.2–§3.2.4): the link-layer
 * addresses an elided interface identifier comes from, the context table of stateful
 * compression, and the choice of the shortest encoding for a source and a destination.
 *
 * Encodings (`mode` is SAM or DAM, inline bytes in brackets):
 * - stateless unicast (SAC/DAC = 0): 00 the full address [16]; 01 fe80::/64 + IID [8];
 *   10 fe80::0000:00ff:fe00:XXXX [2]; 11 fe80::/64 + the IID derived from the link layer [0];
 * - stateful unicast (SAC/DAC = 1, context `cid`): 00 source: the unspecified address ::
 *   [0] (destination: reserved); 01/10/11 as above with the context prefix instead of
 *   fe80::/64 — the context's bits (up to its length, even beyond 64) override the IID's, any
 *   prefix bits it does not cover are zero (§3.1.1);
 * - stateless multicast (M = 1, DAC = 0): 00 [16]; 01 ffXX::00XX:XXXX:XXXX [6]; 10
 *   ffXX::00XX:XXXX [4]; 11 ff02::00XX [1];
 * - stateful multicast (M = 1, DAC = 1, DAM = 00): the unicast-prefix-based address of RFC
 *   3306, ffXX:XXLL:PPPP:PPPP:PPPP:PPPP:XXXX:XXXX: flags/scope, RIID and group id inline [6],
 *   prefix length LL and prefix P from the context (length ≤ 64). DAM 01..11: reserved.
 *
 * The IID derived from the link layer (§3.2.2): from an extended (EUI-64) address, the
 * modified EUI-64 (universal/local bit inverted); from a short address, 0000:00ff:fe00:XXXX.
 * Inside an IPv6-in-IPv6 NHC header the "link layer" is the encapsulating IPv6 header: its
 * addresses' low 64 bits.
 *
 * Compression tries each encoding that applies and keeps one only if decompressing it gives
 * back the very address (so both directions share one definition), then picks the pair with
 * the fewest bytes, counting the CID extension byte a context other than 0 costs.
 */
import { modifiedEui64 } from '../../base/ip-address.ts';
import type { WireFault } from '../fault.ts';

/**
 * A link-layer (IEEE 802.15.4) address as the MAC codec reports it: 16-bit short (with its
 * PAN id, unused here) or extended, 8 bytes in canonical order (most significant byte first,
 * as printed — not the reversed on-air order).
 */
export type LowpanLinkAddr =
  | { readonly mode: 'short'; readonly value: number; readonly pan?: number }
  | { readonly mode: 'extended'; readonly value: Uint8Array };

/** One entry of the context table: a prefix (16 bytes; bits beyond `prefixLen` ignored) of 0..128 bits. */
export interface LowpanContext {
  readonly prefix: Uint8Array;
  readonly prefixLen: number;
}

/** Contexts by id (0..15); a missing entry is an unknown context. */
export type LowpanContextTable = readonly (LowpanContext | undefined)[];

/** Context ids are 4 bits. */
export const LOWPAN_MAX_CONTEXTS = 16;

/** The 64-bit interface identifier derived from a link-layer address; undefined for an extended address that is not 8 bytes. */
export function lowpanLinkIid(addr: LowpanLinkAddr): Uint8Array | undefined {
  if (addr.mode === 'extended') return addr.value instanceof Uint8Array && addr.value.length === 8 ? modifiedEui64(addr.value) : undefined;
  const v = addr.value & 0xffff;
  return Uint8Array.of(0, 0, 0, 0xff, 0xfe, 0, v >> 8, v & 0xff);
}

/** One address encoding: the SAM/DAM bits, stateful or not, the context id, multicast or not. */
export interface IphcAddrMode {
  readonly mode: number;
  /** SAC/DAC. */
  readonly ctx: boolean;
  /** Context id (0 when stateless or unused). */
  readonly cid: number;
  readonly multicast: boolean;
}

/** Inline bytes of an encoding; −1 for a reserved combination. */
export function iphcAddrInlineLen(m: IphcAddrMode): number {
  if (m.multicast) {
    if (m.ctx) return m.mode === 0 ? 6 : -1;
    return [16, 6, 4, 1][m.mode] as number;
  }
  if (m.ctx && m.mode === 0) return 0;
  return [16, 8, 2, 0][m.mode] as number;
}

const IID16 = [0, 0, 0, 0xff, 0xfe, 0];

/** Copies the first `bits` bits of `prefix` over `out`. */
function overlayPrefix(out: Uint8Array, prefix: Uint8Array, bits: number): void {
  const n = Math.max(0, Math.min(128, bits));
  const whole = n >> 3;
  for (let i = 0; i < whole; i++) out[i] = prefix[i] ?? 0;
  const rem = n & 7;
  if (rem !== 0) {
    const mask = (0xff << (8 - rem)) & 0xff;
    out[whole] = ((prefix[whole] ?? 0) & mask) | ((out[whole] as number) & ~mask & 0xff);
  }
}

/**
 * The address an encoding stands for, given its inline bytes (`iphcAddrInlineLen` of them,
 * from `inl[at]`), the derived IID and the contexts. Faults: a reserved combination
 * (`'malformed'`), an unknown context or one unfit for RFC 3306 (`'unsupported'`).
 */
export function iphcAddrDecode(m: IphcAddrMode, inl: Uint8Array, at: number, iid: Uint8Array, contexts: LowpanContextTable): Uint8Array | WireFault {
  const out = new Uint8Array(16);
  const len = iphcAddrInlineLen(m);
  if (len < 0) return 'malformed';
  if (m.ctx && !m.multicast && m.mode === 0) return out; // the unspecified address
  const context = m.ctx ? contexts[m.cid] : undefined;
  if (m.ctx && context === undefined) return 'unsupported';
  if (m.multicast) {
    out[0] = 0xff;
    if (m.ctx) {
      const c = context as LowpanContext;
      if (!(c.prefixLen >= 0 && c.prefixLen <= 64)) return 'unsupported';
      out[1] = inl[at] as number;
      out[2] = inl[at + 1] as number;
      out[3] = c.prefixLen;
      const p = new Uint8Array(8);
      overlayPrefix(p, c.prefix, c.prefixLen);
      out.set(p, 4);
      for (let i = 0; i < 4; i++) out[12 + i] = inl[at + 2 + i] as number;
      return out;
    }
    switch (m.mode) {
      case 0: for (let i = 0; i < 16; i++) out[i] = inl[at + i] as number; break;
      case 1: out[1] = inl[at] as number; for (let i = 0; i < 5; i++) out[11 + i] = inl[at + 1 + i] as number; break;
      case 2: out[1] = inl[at] as number; for (let i = 0; i < 3; i++) out[13 + i] = inl[at + 1 + i] as number; break;
      default: out[1] = 0x02; out[15] = inl[at] as number;
    }
    return out;
  }
  switch (m.mode) {
    case 0: for (let i = 0; i < 16; i++) out[i] = inl[at + i] as number; return out;
    case 1: for (let i = 0; i < 8; i++) out[8 + i] = inl[at + i] as number; break;
    case 2: out.set(IID16, 8); out[14] = inl[at] as number; out[15] = inl[at + 1] as number; break;
    default: for (let i = 0; i < 8; i++) out[8 + i] = iid[i] ?? 0;
  }
  if (context !== undefined) overlayPrefix(out, context.prefix, context.prefixLen);
  else {
    out[0] = 0xfe;
    out[1] = 0x80;
  }
  return out;
}

/** The inline bytes of encoding `m` for address `a` (what `iphcAddrDecode` reads back). */
export function iphcAddrInline(m: IphcAddrMode, a: Uint8Array): Uint8Array {
  if (m.multicast) {
    if (m.ctx) return Uint8Array.of(a[1] as number, a[2] as number, ...a.subarray(12, 16));
    switch (m.mode) {
      case 0: return a.slice(0, 16);
      case 1: return Uint8Array.of(a[1] as number, ...a.subarray(11, 16));
      case 2: return Uint8Array.of(a[1] as number, ...a.subarray(13, 16));
      default: return Uint8Array.of(a[15] as number);
    }
  }
  if (m.ctx && m.mode === 0) return new Uint8Array(0);
  switch (m.mode) {
    case 0: return a.slice(0, 16);
    case 1: return a.slice(8, 16);
    case 2: return a.slice(14, 16);
    default: return new Uint8Array(0);
  }
}

function sameAddr(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Every encoding of `a` that decodes back to `a` (as source or destination), shortest first. */
export function iphcAddrCandidates(a: Uint8Array, source: boolean, iid: Uint8Array, contexts: LowpanContextTable): IphcAddrMode[] {
  const multicast = a[0] === 0xff;
  const tries: IphcAddrMode[] = [];
  const ctxIds: number[] = [];
  for (let cid = 0; cid < Math.min(LOWPAN_MAX_CONTEXTS, contexts.length); cid++) if (contexts[cid] !== undefined) ctxIds.push(cid);
  if (multicast && !source) {
    for (const mode of [3, 2, 1]) tries.push({ mode, ctx: false, cid: 0, multicast });
    for (const cid of ctxIds) tries.push({ mode: 0, ctx: true, cid, multicast });
  } else if (!multicast) {
    if (source) tries.push({ mode: 0, ctx: true, cid: 0, multicast });
    for (const mode of [3, 2, 1]) {
      tries.push({ mode, ctx: false, cid: 0, multicast });
      for (const cid of ctxIds) tries.push({ mode, ctx: true, cid, multicast });
    }
  }
  const ok = tries.filter((m) => {
    const back = iphcAddrDecode(m, iphcAddrInline(m, a), 0, iid, contexts);
    return typeof back !== 'string' && sameAddr(back, a);
  });
  ok.push({ mode: 0, ctx: false, cid: 0, multicast: multicast && !source });
  return ok.sort((x, y) => iphcAddrInlineLen(x) - iphcAddrInlineLen(y));
}

/** Whether an encoding needs the CID extension byte (a context other than 0). */
function needsCid(m: IphcAddrMode): boolean {
  return m.ctx && m.cid !== 0 && !(m.mode === 0 && !m.multicast);
}

/** The cheapest source/destination pair (inline bytes + the CID byte when needed). */
export function iphcChooseAddrs(src: readonly IphcAddrMode[], dst: readonly IphcAddrMode[]): { src: IphcAddrMode; dst: IphcAddrMode; cidByte: boolean } {
  let best = { src: src[src.length - 1] as IphcAddrMode, dst: dst[dst.length - 1] as IphcAddrMode, cidByte: false };
  let bestCost = Infinity;
  for (const s of src) {
    for (const d of dst) {
      const cidByte = needsCid(s) || needsCid(d);
      const cost = iphcAddrInlineLen(s) + iphcAddrInlineLen(d) + (cidByte ? 1 : 0);
      if (cost < bestCost) {
        bestCost = cost;
        best = { src: s, dst: d, cidByte };
      }
    }
  }
  return best;
}
