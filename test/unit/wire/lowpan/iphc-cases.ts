/**
 * Shared material of the LOWPAN_IPHC tests: link addresses, a context table, addresses that
 * exercise every source/destination encoding, an IPv6 packet builder, and the IEEE 802.15.4
 * frame and pcap (LINKTYPE_IEEE802_15_4_NOFCS, 230) writers the tshark check uses.
 */
import { parseIPv6 } from '../../../../src/base/ip-address.ts';
import { PcapLinkType, pcapGlobalHeader, pcapRecord } from '../../../../src/link/pcap-writer.ts';
import { concatBytes, wr16 } from '../../../../src/wire/bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../../../../src/wire/checksum.ts';
import { emitIpv6 } from '../../../../src/wire/ipv6.ts';
import type { LowpanContextTable, LowpanLinkAddr } from '../../../../src/wire/lowpan/iphc.ts';

export function ip6(text: string): Uint8Array {
  const a = parseIPv6(text);
  if (a === undefined) throw new Error(`bad address ${text}`);
  return a;
}

export const EXT_A: LowpanLinkAddr = { mode: 'extended', value: Uint8Array.of(0x00, 0x12, 0x4b, 0x00, 0x01, 0x02, 0x03, 0x04) };
export const EXT_B: LowpanLinkAddr = { mode: 'extended', value: Uint8Array.of(0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55) };
export const SHORT_A: LowpanLinkAddr = { mode: 'short', value: 0x0001, pan: 0xabcd };
export const SHORT_B: LowpanLinkAddr = { mode: 'short', value: 0xbeef, pan: 0xabcd };

/** Context 0: 2001:db8:1::/64; context 3: 2001:db8:3::/48 (a CID byte); context 5: 2001:db8:5:6::/64. */
export const CONTEXTS: LowpanContextTable = [
  { prefix: ip6('2001:db8:1::'), prefixLen: 64 },
  undefined,
  undefined,
  { prefix: ip6('2001:db8:3::'), prefixLen: 48 },
  undefined,
  { prefix: ip6('2001:db8:5:6::'), prefixLen: 64 },
];
/** The same table as tshark preferences. */
export const TSHARK_CONTEXT_PREFS = ['-o', '6lowpan.context0:2001:db8:1::/64', '-o', '6lowpan.context3:2001:db8:3::/48', '-o', '6lowpan.context5:2001:db8:5:6::/64'];

/** The interface identifier derived from a link address, as text `:xxxx:xxxx:xxxx:xxxx`. */
export function iidText(l: LowpanLinkAddr): string {
  if (l.mode === 'short') return `:0:ff:fe00:${l.value.toString(16)}`;
  const v = l.value.slice();
  v[0] = (v[0] as number) ^ 2;
  const h = [...v].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `:${h.slice(0, 4)}:${h.slice(4, 8)}:${h.slice(8, 12)}:${h.slice(12, 16)}`;
}

/** The link-local address derived from a link address. */
export function linkLocalOf(l: LowpanLinkAddr): string {
  return `fe80:0:0:0${iidText(l)}`;
}

/** A source address per encoding `[label, address, expected SAC, SAM, CID byte needed]`, for a sender `me`. */
export function sourceCases(me: LowpanLinkAddr): [string, string, number, number, boolean][] {
  const iid = iidText(me);
  return [
    ['stateless 128', '2001:db8:99::1', 0, 0, false],
    ['stateless 64', 'fe80::1234:5678:9abc:def0', 0, 1, false],
    ['stateless 16', 'fe80::ff:fe00:42', 0, 2, false],
    ['stateless 0', linkLocalOf(me), 0, 3, false],
    ['unspecified', '::', 1, 0, false],
    ['context 0, 64', '2001:db8:1:0:1234:5678:9abc:def0', 1, 1, false],
    ['context 0, 16', '2001:db8:1::ff:fe00:99', 1, 2, false],
    ['context 0, 0', `2001:db8:1:0${iid}`, 1, 3, false],
    ['context 3, 64', '2001:db8:3:0:aaaa:bbbb:cccc:dddd', 1, 1, true],
    ['context 5, 0', `2001:db8:5:6${iid}`, 1, 3, true],
  ];
}

/** A destination address per encoding `[label, address, expected M, DAC, DAM, CID byte needed]`, for a receiver `peer`. */
export function destCases(peer: LowpanLinkAddr): [string, string, number, number, number, boolean][] {
  const iid = iidText(peer);
  return [
    ['stateless 128', '2001:db8:99::2', 0, 0, 0, false],
    ['stateless 64', 'fe80::aaaa:bbbb:cccc:dddd', 0, 0, 1, false],
    ['stateless 16', 'fe80::ff:fe00:4242', 0, 0, 2, false],
    ['stateless 0', linkLocalOf(peer), 0, 0, 3, false],
    ['context 0, 16', '2001:db8:1::ff:fe00:77', 0, 1, 2, false],
    ['context 0, 0', `2001:db8:1:0${iid}`, 0, 1, 3, false],
    ['context 3, 16', '2001:db8:3::ff:fe00:7', 0, 1, 2, true],
    ['multicast 128', 'ff0e:1:2:3:4:5:6:7', 1, 0, 0, false],
    ['multicast 48', 'ff05::ab:cdef:1234', 1, 0, 1, false],
    ['multicast 32', 'ff08::ab:cdef', 1, 0, 2, false],
    ['multicast 8', 'ff02::1a', 1, 0, 3, false],
    ['multicast RFC 3306', 'ff3e:40:2001:db8:1:0:1234:5678', 1, 1, 0, false],
  ];
}

export interface PacketSpec {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly dscp?: number;
  readonly ecn?: number;
  readonly flowLabel?: number;
  readonly hopLimit?: number;
  readonly nextHeader?: number;
  /** Bytes after the fixed header (extension headers, upper layer). */
  readonly payload: Uint8Array;
}

export function ipv6Packet(s: PacketSpec): Uint8Array {
  const p = new Uint8Array(40 + s.payload.length);
  emitIpv6({ dscp: s.dscp ?? 0, ecn: s.ecn ?? 0, flowLabel: s.flowLabel ?? 0, payloadLen: s.payload.length, nextHeader: s.nextHeader ?? 17, hopLimit: s.hopLimit ?? 64, src: s.src, dst: s.dst }, p);
  p.set(s.payload, 40);
  return p;
}

/** A UDP datagram (header + data) with its IPv6 checksum for `src` → `dst`. */
export function udpDatagram(src: Uint8Array, dst: Uint8Array, srcPort: number, dstPort: number, data: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  wr16(u, 0, srcPort);
  wr16(u, 2, dstPort);
  wr16(u, 4, u.length);
  u.set(data, 8);
  const c = foldChecksum(onesSum(u, 0, u.length, pseudoHeaderSumV6(src, dst, 17, u.length)));
  wr16(u, 6, c === 0 ? 0xffff : c);
  return u;
}

/** An IPv6 + UDP packet. */
export function udpPacket(src: string, dst: string, srcPort = 0xf0b3, dstPort = 5683, data = Uint8Array.of(0x40, 0x01, 0x00, 0x01), extra: Partial<PacketSpec> = {}): Uint8Array {
  const s = ip6(src);
  const d = ip6(dst);
  return ipv6Packet({ src: s, dst: d, payload: udpDatagram(s, d, srcPort, dstPort, data), ...extra });
}

/** A minimal IEEE 802.15.4-2006 data frame (no FCS): PAN id compression, one PAN id, addresses reversed on air. */
export function wpanFrame(seq: number, src: LowpanLinkAddr, dst: LowpanLinkAddr, payload: Uint8Array, pan = 0xabcd): Uint8Array {
  const mode = (a: LowpanLinkAddr): number => (a.mode === 'short' ? 2 : 3);
  const fcf = 0x0001 | 0x0040 | (mode(dst) << 10) | (mode(src) << 14);
  const addr = (a: LowpanLinkAddr): number[] => (a.mode === 'short' ? [a.value & 0xff, a.value >> 8] : [...a.value].reverse());
  return Uint8Array.from([fcf & 0xff, fcf >> 8, seq & 0xff, pan & 0xff, pan >> 8, ...addr(dst), ...addr(src), ...payload]);
}

/** A pcap of `frames` with LINKTYPE_IEEE802_15_4_NOFCS (230). */
export function wpanPcap(frames: readonly Uint8Array[]): Uint8Array {
  return concatBytes([pcapGlobalHeader(PcapLinkType.IEEE802_15_4_NOFCS), ...frames.map((f, i) => pcapRecord(1_700_000_000_000 + i, f))]);
}
