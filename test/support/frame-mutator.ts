/**
 * Raw frames for robustness tests: shaping random bytes into frames a stack looks at,
 * mutating golden frames, crafting TCP segments with arbitrary (also malformed) options,
 * inserting IPv6 extension headers, and fixing checksums after a mutation so the frame
 * reaches the deeper layers instead of dying at the first checksum. Shared by the
 * fast-check property test and the 1,000,000-frame simulations (IPv4 and IPv6).
 */
import { foldChecksum, onesSum, pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../../src/wire/checksum.ts';
import { Ipv6ExtWalk, walkIpv6Extensions } from '../../src/wire/ipv6.ts';

const walk = new Ipv6ExtWalk();

/**
 * Recomputes the IPv4 header checksum and, with `transport`, the transport checksum of an
 * unfragmented UDP/ICMP/TCP datagram. IPv6 (no header checksum): with `transport`, the
 * UDP/ICMPv6/TCP checksum over the IPv6 pseudo-header of a packet whose extension-header
 * chain a host would walk to its end (atomic fragments included; not real fragments).
 */
export function fixChecksums(f: Uint8Array, transport: boolean): void {
  if (f.length >= 54 && f[12] === 0x86 && f[13] === 0xdd) {
    if (transport) fixIpv6Transport(f.subarray(14));
    return;
  }
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) return;
  const ip = f.subarray(14);
  const hl = ((ip[0] as number) & 0x0f) * 4;
  if (hl < 20 || hl > ip.length) return;
  ip[10] = 0;
  ip[11] = 0;
  const c = foldChecksum(onesSum(ip, 0, hl));
  ip[10] = c >> 8;
  ip[11] = c & 0xff;
  if (!transport) return;
  const total = ((ip[2] as number) << 8) | (ip[3] as number);
  const frag = (((ip[6] as number) << 8) | (ip[7] as number)) & 0x3fff;
  if (frag !== 0 || total > ip.length || total < hl) return;
  const l4 = ip.subarray(hl, total);
  const proto = ip[9] as number;
  const at = proto === 17 ? 6 : proto === 1 ? 2 : proto === 6 ? 16 : -1;
  if (at < 0 || l4.length < at + 2) return;
  l4[at] = 0;
  l4[at + 1] = 0;
  const pseudo = proto === 1 ? 0 : pseudoHeaderSumV4(ip.subarray(12, 16), ip.subarray(16, 20), proto, l4.length);
  const s = foldChecksum(onesSum(l4, 0, l4.length, pseudo));
  l4[at] = s >> 8;
  l4[at + 1] = s & 0xff;
}

function fixIpv6Transport(ip: Uint8Array): void {
  const w = walkIpv6Extensions(ip, walk);
  if (w.verdict !== 'ok') return;
  const proto = w.upperProtocol;
  const at = proto === 17 ? 6 : proto === 58 ? 2 : proto === 6 ? 16 : -1;
  const l4 = ip.subarray(w.upperOffset, w.end);
  if (at < 0 || l4.length < at + 2) return;
  l4[at] = 0;
  l4[at + 1] = 0;
  let s = foldChecksum(onesSum(l4, 0, l4.length, pseudoHeaderSumV6(ip.subarray(8, 24), ip.subarray(24, 40), proto, l4.length)));
  if (s === 0 && proto === 17) s = 0xffff; // RFC 8200 §8.1: zero is no checksum, which IPv6 UDP may not send
  l4[at] = s >> 8;
  l4[at + 1] = s & 0xff;
}

/**
 * Inserts `header` (one or more IPv6 extension headers, chained among themselves; the
 * Next Header byte of the last one is overwritten) into the IPv6 frame `f` after
 * `depth` headers of its chain (0: right after the fixed header; the chain is followed
 * while it holds together), and grows the Payload Length. `type` is the Next Header
 * value naming the first inserted header. A frame that is no IPv6 is returned as is.
 */
export function insertIpv6Header(f: Uint8Array, type: number, header: Uint8Array, depth = 0, lastAt = 0): Uint8Array {
  if (f.length < 54 || f[12] !== 0x86 || f[13] !== 0xdd || header.length < 2) return f;
  let nhField = 20;
  let off = 54;
  for (let i = 0; i < depth; i++) {
    const nh = f[nhField] as number;
    if ((nh !== 0 && nh !== 43 && nh !== 44 && nh !== 60) || off + 8 > f.length) break;
    nhField = off;
    off += nh === 44 ? 8 : ((f[off + 1] as number) + 1) * 8;
  }
  if (off > f.length) return f;
  const g = new Uint8Array(f.length + header.length);
  g.set(f.subarray(0, off));
  g.set(header, off);
  g.set(f.subarray(off), off + header.length);
  g[off + lastAt] = f[nhField] as number;
  g[nhField] = type;
  const plen = (((g[18] as number) << 8) | (g[19] as number)) + header.length;
  g[18] = (plen >> 8) & 0xff;
  g[19] = plen & 0xff;
  return g;
}

/** Where a random frame is sent: to the stack's MAC, to broadcast, wherever its bytes say, or to the MAC given. */
export type FrameDst = 'ours' | 'broadcast' | 'random' | Uint8Array;

/**
 * Shapes random bytes (in place) so that most of them get past the Ethernet and IP
 * address checks of the stack at `mac`/`ip`: destination MAC, EtherType (`type` < 0:
 * keep the random one), for IPv4 version/IHL 0x45 and the destination address (`ip` a
 * number), for IPv6 version 6 and the destination address (`ip` 16 bytes).
 */
export function aimRandomFrame(bytes: Uint8Array, dst: FrameDst, type: number, mac: Uint8Array, ip: number | Uint8Array): Uint8Array {
  if (bytes.length < 14) return bytes;
  if (dst === 'ours') bytes.set(mac, 0);
  else if (dst === 'broadcast') bytes.fill(0xff, 0, 6);
  else if (dst !== 'random') bytes.set(dst.subarray(0, 6), 0);
  if (type >= 0) {
    bytes[12] = type >> 8;
    bytes[13] = type & 0xff;
  }
  if (typeof ip !== 'number') {
    if (type === 0x86dd && bytes.length >= 54) {
      bytes[14] = 0x60 | ((bytes[14] as number) & 0x0f);
      bytes.set(ip.subarray(0, 16), 38);
    }
    return bytes;
  }
  if (type === 0x0800 && bytes.length >= 34) {
    bytes[14] = 0x45;
    bytes[30] = ip >>> 24;
    bytes[31] = (ip >>> 16) & 0xff;
    bytes[32] = (ip >>> 8) & 0xff;
    bytes[33] = ip & 0xff;
  }
  return bytes;
}

/** Which checksums to recompute after a mutation. */
export type ChecksumFix = 'none' | 'ip' | 'all';

/** A copy of `golden` with bytes overwritten, optionally cut to `cut` bytes, checksums fixed as asked. */
export function mutateFrame(golden: Uint8Array, edits: readonly { at: number; value: number }[], cut: number | null, fix: ChecksumFix): Uint8Array {
  const f = golden.slice();
  for (const e of edits) if (e.at < f.length) f[e.at] = e.value;
  const g = cut !== null && cut < f.length ? f.slice(0, cut) : f;
  if (fix !== 'none') fixChecksums(g, fix === 'all');
  return g;
}

/** Fields of a raw TCP segment; `options` are written as given (any bytes, padded with zeros to a multiple of 4). */
export interface RawTcp {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgent?: number;
  options?: Uint8Array;
  /** Data offset field to write instead of the real header length (a lie, for malformed segments). */
  dataOffset?: number;
  payload?: Uint8Array;
}

/** A TCP segment (header, options, payload) with a zero checksum: wrap it with `ipFrame` and call `fixChecksums`. */
export function rawTcpSegment(s: RawTcp): Uint8Array {
  const opt = s.options ?? new Uint8Array(0);
  const hl = 20 + ((opt.length + 3) & ~3);
  const payload = s.payload ?? new Uint8Array(0);
  const seg = new Uint8Array(hl + payload.length);
  const w16 = (o: number, v: number): void => {
    seg[o] = (v >>> 8) & 0xff;
    seg[o + 1] = v & 0xff;
  };
  w16(0, s.srcPort);
  w16(2, s.dstPort);
  w16(4, s.seq >>> 16);
  w16(6, s.seq & 0xffff);
  w16(8, s.ack >>> 16);
  w16(10, s.ack & 0xffff);
  seg[12] = ((s.dataOffset ?? hl / 4) & 0x0f) << 4;
  seg[13] = s.flags & 0xff;
  w16(14, s.window);
  w16(18, s.urgent ?? 0);
  seg.set(opt, 20);
  seg.set(payload, hl);
  return seg;
}
