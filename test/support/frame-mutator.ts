/**
 * Raw frames for robustness tests: shaping random bytes into frames a stack looks at,
 * mutating golden frames, crafting TCP segments with arbitrary (also malformed) options,
 * and fixing checksums after a mutation so the frame reaches the deeper layers instead
 * of dying at the first checksum. Shared by the fast-check property test and the
 * 1,000,000-frame simulation.
 */
import { foldChecksum, onesSum, pseudoHeaderSumV4 } from '../../src/wire/checksum.ts';

/** Recomputes the IPv4 header checksum and, for an unfragmented UDP/ICMP/TCP datagram, the transport checksum. */
export function fixChecksums(f: Uint8Array, transport: boolean): void {
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

/** Where a random frame is sent: to the stack's MAC, to broadcast, or wherever its bytes say. */
export type FrameDst = 'ours' | 'broadcast' | 'random';

/**
 * Shapes random bytes (in place) so that most of them get past the Ethernet and IPv4
 * address checks of the stack at `mac`/`ip`: destination MAC, EtherType (`type` < 0:
 * keep the random one), and for IPv4 version/IHL 0x45 and the destination address.
 */
export function aimRandomFrame(bytes: Uint8Array, dst: FrameDst, type: number, mac: Uint8Array, ip: number): Uint8Array {
  if (bytes.length < 14) return bytes;
  if (dst === 'ours') bytes.set(mac, 0);
  else if (dst === 'broadcast') bytes.fill(0xff, 0, 6);
  if (type >= 0) {
    bytes[12] = type >> 8;
    bytes[13] = type & 0xff;
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
