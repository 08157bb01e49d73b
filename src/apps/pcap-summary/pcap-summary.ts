/**
 * A summary of a pcap capture, the engine of `iotnet pcap`: link type, record count, time
 * span, bytes, per-protocol counts, the top conversations and the malformed count.
 *
 * `PcapSummarizer` takes the file in chunks (`push`) and decodes every record with iotnet's
 * own wire codecs, as far as they go: Ethernet (ARP, IPv4, IPv6, VLAN), PPP (linktypes 9, 50
 * and 204: LCP, IPCP, IPv6CP, PAP, CHAP, IPv4, IPv6), raw IP (101, 228, 229) and IEEE
 * 802.15.4 (195 with FCS, 230 without) with 6LoWPAN (mesh, BC0, fragments, IPHC decompressed
 * to IPv6 for the first fragment or a whole datagram; context-based addresses use an empty
 * context table). Above IP: ICMP, ICMPv6, TCP, UDP, and by well-known port DNS, mDNS, DHCP,
 * DHCPv6, NTP, HTTP, HTTPS and MQTT (1883, and MQTT over TLS on 8883). Checksums are not
 * verified (captures of checksum-offloading hosts would all look bad); a record that a codec
 * refuses counts as malformed, with the codec's reason, and is never thrown.
 */
import { formatIPv4, formatIPv6 } from '../../base/ip-address.ts';
import { parseArp } from '../../wire/arp.ts';
import { rd16 } from '../../wire/bytes.ts';
import { EtherType, ETHERNET_HEADER_LEN, parseEthernet } from '../../wire/ethernet.ts';
import { parseMacFrame, type MacAddress } from '../../wire/ieee802154.ts';
import { IpProtocol, ipv4Payload, parseIpv4 } from '../../wire/ipv4.ts';
import { ipv6Payload, parseIpv6, parseIpv6ExtHeader } from '../../wire/ipv6.ts';
import { walkLowpanHeaders } from '../../wire/lowpan/dispatch.ts';
import { decompressIphc } from '../../wire/lowpan/iphc.ts';
import type { LowpanLinkAddr } from '../../wire/lowpan/iphc-address.ts';
import { PcapReader, type PcapFileHeader, type PcapReadError, type PcapRecord } from '../../wire/pcap-reader.ts';
import { parsePppFrame } from '../../wire/ppp/ppp-packet.ts';
import { parseTcp } from '../../wire/tcp.ts';
import { parseUdp } from '../../wire/udp.ts';

/** Names of the link types this summary decodes (others are counted, not decoded). */
export const PCAP_LINK_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'Ethernet',
  9: 'PPP',
  50: 'PPP in HDLC-like framing',
  101: 'raw IP',
  195: 'IEEE 802.15.4 with FCS',
  204: 'PPP with direction',
  228: 'raw IPv4',
  229: 'raw IPv6',
  230: 'IEEE 802.15.4 without FCS',
};

/** Application protocols recognised by port (either end). */
const PORTS: ReadonlyMap<number, string> = new Map([
  [53, 'DNS'], [5353, 'mDNS'], [67, 'DHCP'], [68, 'DHCP'], [546, 'DHCPv6'], [547, 'DHCPv6'], [123, 'NTP'],
  [80, 'HTTP'], [443, 'HTTPS'], [1883, 'MQTT'], [8883, 'MQTT-TLS'],
]);

const PPP_PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [0xc021, 'LCP'], [0x8021, 'IPCP'], [0x8057, 'IPv6CP'], [0xc023, 'PAP'], [0xc223, 'CHAP'],
]);

/** One conversation: a protocol between two endpoints (addresses with ports for TCP and UDP), both ways. */
export interface PcapConversation {
  readonly protocol: string;
  readonly a: string;
  readonly b: string;
  readonly packets: number;
  readonly bytes: number;
}

export interface PcapSummary {
  readonly linkType: number | undefined;
  readonly linkTypeName: string;
  readonly records: number;
  /** Bytes captured (record data, headers not counted). */
  readonly bytes: number;
  /** Bytes on the wire (orig_len): more than `bytes` when frames were cut at the snap length. */
  readonly wireBytes: number;
  /** Unix time in ms of the first and last record (undefined without records). */
  readonly firstMs: number | undefined;
  readonly lastMs: number | undefined;
  readonly durationMs: number;
  /** Records per protocol; a record counts for every layer it has (Ethernet, IPv4, TCP, MQTT). */
  readonly protocols: Readonly<Record<string, number>>;
  /** Records a codec refused, and why (`'IPv4: bad-length'`, ...). */
  readonly malformed: number;
  readonly malformedReasons: Readonly<Record<string, number>>;
  /** The conversations with the most bytes, most first. */
  readonly conversations: readonly PcapConversation[];
  /** Bytes after the last complete record (a file cut short). */
  readonly truncatedBytes: number;
  /** The file could not be read to its end (not a pcap, pcapng, an impossible record). */
  readonly error: PcapReadError | undefined;
}

interface ConversationCount {
  packets: number;
  bytes: number;
  protocol: string;
  a: string;
  b: string;
}

/** Summarises a pcap stream chunk by chunk. */
export class PcapSummarizer {
  private readonly reader = new PcapReader();
  private readonly protocols = new Map<string, number>();
  private readonly reasons = new Map<string, number>();
  private readonly conversations = new Map<string, ConversationCount>();
  private malformed = 0;
  private bytes = 0;
  private wireBytes = 0;
  private firstMs: number | undefined;
  private lastMs: number | undefined;
  /** Per record: protocols already counted (a protocol counts once per record). */
  private seen = new Set<string>();
  private bad = false;
  private size = 0;
  /** Conversations kept at most (the rest are not tracked; counts stay right). */
  private readonly maxConversations: number;

  constructor(options: { maxConversations?: number } = {}) {
    this.maxConversations = options.maxConversations ?? 100_000;
  }

  /** Bytes of file read so far. */
  get consumed(): number {
    return this.reader.consumed;
  }

  /** Records read so far. */
  get records(): number {
    return this.reader.records;
  }

  /** Set once the file cannot be read further (the summary stays valid up to there). */
  get error(): PcapReadError | undefined {
    return this.reader.error;
  }

  /** Takes the next chunk of the file. Never throws. */
  push(chunk: Uint8Array): void {
    for (const r of this.reader.push(chunk)) this.record(r, this.reader.header as PcapFileHeader);
  }

  /** The summary so far (call after the last chunk for the whole file). */
  summary(topConversations = 10): PcapSummary {
    const end = this.reader.finish();
    const linkType = this.reader.header?.linkType;
    const conversations = [...this.conversations.values()]
      .sort((x, y) => y.bytes - x.bytes || y.packets - x.packets)
      .slice(0, topConversations)
      .map((c) => ({ protocol: c.protocol, a: c.a, b: c.b, packets: c.packets, bytes: c.bytes }));
    return {
      linkType,
      linkTypeName: linkType === undefined ? 'none' : (PCAP_LINK_TYPE_NAMES[linkType] ?? `linktype ${linkType} (not decoded)`),
      records: this.reader.records,
      bytes: this.bytes,
      wireBytes: this.wireBytes,
      firstMs: this.firstMs,
      lastMs: this.lastMs,
      durationMs: this.firstMs === undefined || this.lastMs === undefined ? 0 : this.lastMs - this.firstMs,
      protocols: Object.fromEntries([...this.protocols].sort((x, y) => y[1] - x[1])),
      malformed: this.malformed,
      malformedReasons: Object.fromEntries(this.reasons),
      conversations,
      truncatedBytes: end.truncatedBytes,
      error: end.error,
    };
  }

  private record(r: PcapRecord, header: PcapFileHeader): void {
    this.bytes += r.data.length;
    this.wireBytes += Math.max(r.origLen, r.data.length);
    if (this.firstMs === undefined || r.timeMs < this.firstMs) this.firstMs = r.timeMs;
    if (this.lastMs === undefined || r.timeMs > this.lastMs) this.lastMs = r.timeMs;
    this.seen = new Set();
    this.bad = false;
    this.size = r.data.length;
    this.link(header.linkType, r.data);
  }

  private count(protocol: string): void {
    if (this.seen.has(protocol)) return;
    this.seen.add(protocol);
    this.protocols.set(protocol, (this.protocols.get(protocol) ?? 0) + 1);
  }

  private fault(layer: string, reason: string): void {
    if (this.bad) return;
    this.bad = true;
    this.malformed++;
    const key = `${layer}: ${reason}`;
    this.reasons.set(key, (this.reasons.get(key) ?? 0) + 1);
  }

  private conversation(protocol: string, src: string, dst: string): void {
    const [a, b] = src <= dst ? [src, dst] : [dst, src];
    const key = `${protocol} ${a} ${b}`;
    let c = this.conversations.get(key);
    if (c === undefined) {
      if (this.conversations.size >= this.maxConversations) return;
      c = { packets: 0, bytes: 0, protocol, a, b };
      this.conversations.set(key, c);
    }
    c.packets++;
    c.bytes += this.size;
  }

  private link(linkType: number, data: Uint8Array): void {
    switch (linkType) {
      case 1:
        return this.ethernet(data);
      case 9:
        return this.ppp(data);
      case 50:
        return this.ppp(data.subarray(0, Math.max(0, data.length - 2)));
      case 204:
        if (data.length < 1) return this.fault('PPP', 'truncated');
        return this.ppp(data.subarray(1));
      case 101:
        return this.ip(data);
      case 228:
        return this.ipv4(data);
      case 229:
        return this.ipv6(data);
      case 195:
      case 230:
        return this.ieee802154(data, linkType === 195);
      default:
        this.count(`linktype ${linkType}`);
    }
  }

  private ethernet(data: Uint8Array): void {
    const eth = parseEthernet(data);
    if (typeof eth === 'string') return this.fault('Ethernet', eth);
    this.count('Ethernet');
    let type = eth.etherType;
    let rest = data.subarray(ETHERNET_HEADER_LEN);
    if (type === EtherType.VLAN) {
      this.count('VLAN');
      if (rest.length < 4) return this.fault('VLAN', 'truncated');
      type = rd16(rest, 2);
      rest = rest.subarray(4);
    }
    switch (type) {
      case EtherType.IPV4:
        return this.ipv4(rest);
      case EtherType.IPV6:
        return this.ipv6(rest);
      case EtherType.ARP: {
        const arp = parseArp(rest);
        if (typeof arp === 'string') return this.fault('ARP', arp);
        this.count('ARP');
        return this.conversation('ARP', formatIPv4(arp.senderIp), formatIPv4(arp.targetIp));
      }
      default:
        this.count(`EtherType 0x${type.toString(16).padStart(4, '0')}`);
    }
  }

  private ppp(frame: Uint8Array): void {
    const f = parsePppFrame(frame);
    if (typeof f === 'string') return this.fault('PPP', f);
    this.count('PPP');
    if (f.protocol === 0x0021) return this.ipv4(f.info);
    if (f.protocol === 0x0057) return this.ipv6(f.info);
    this.count(PPP_PROTOCOLS.get(f.protocol) ?? `PPP 0x${f.protocol.toString(16).padStart(4, '0')}`);
  }

  private ip(data: Uint8Array): void {
    const v = (data[0] ?? 0) >> 4;
    if (v === 4) return this.ipv4(data);
    if (v === 6) return this.ipv6(data);
    this.fault('IP', data.length === 0 ? 'truncated' : 'malformed');
  }

  private ipv4(data: Uint8Array): void {
    const ip = parseIpv4(data, true);
    if (typeof ip === 'string') return this.fault('IPv4', ip);
    this.count('IPv4');
    const src = formatIPv4(ip.src);
    const dst = formatIPv4(ip.dst);
    if (ip.fragOffset !== 0) {
      this.count('IPv4 fragment');
      return this.conversation('IPv4', src, dst);
    }
    if (ip.moreFrags) this.count('IPv4 fragment');
    this.upper(ip.protocol, ipv4Payload(data), src, dst, ip.src, ip.dst, 4);
  }

  private ipv6(data: Uint8Array): void {
    const ip = parseIpv6(data);
    if (typeof ip === 'string') return this.fault('IPv6', ip);
    this.count('IPv6');
    const payload = ipv6Payload(data);
    const src = formatIPv6(ip.src);
    const dst = formatIPv6(ip.dst);
    let next = ip.nextHeader;
    let at = 0;
    for (let i = 0; i < 8 && (next === 0 || next === 43 || next === 44 || next === 60); i++) {
      const ext = parseIpv6ExtHeader(next, payload, at);
      if (typeof ext === 'string') return this.fault('IPv6 extension', ext);
      if (ext.repr.kind === 'fragment') {
        this.count('IPv6 fragment');
        if (ext.repr.fragOffset !== 0) return this.conversation('IPv6', src, dst);
      }
      next = ext.nextHeader;
      at += ext.length;
    }
    this.upper(next, payload.subarray(at), src, dst, ip.src, ip.dst, 6);
  }

  private upper(protocol: number, payload: Uint8Array, src: string, dst: string, srcBytes: Uint8Array, dstBytes: Uint8Array, version: 4 | 6): void {
    const family = version === 4 ? 'IPv4' : 'IPv6';
    const join = (addr: string, port: number): string => (version === 6 ? `[${addr}]:${port}` : `${addr}:${port}`);
    switch (protocol) {
      case IpProtocol.ICMP:
        this.count('ICMP');
        return this.conversation('ICMP', src, dst);
      case IpProtocol.IPV6_ICMP:
        this.count('ICMPv6');
        return this.conversation('ICMPv6', src, dst);
      case IpProtocol.TCP: {
        // Checksums are not judged (see the module doc): the pseudo-header sum does not matter.
        const tcp = parseTcp(payload, 0, { checksumOffload: true });
        if (typeof tcp === 'string') return this.fault('TCP', tcp);
        this.count('TCP');
        this.app(tcp.srcPort, tcp.dstPort, tcp.payloadLength > 0);
        return this.conversation('TCP', join(src, tcp.srcPort), join(dst, tcp.dstPort));
      }
      case IpProtocol.UDP: {
        // IPv6 addresses are 16 bytes; parseUdp needs them only for the checksum it skips here.
        const udp = parseUdp(payload, version === 4 ? srcBytes : srcBytes.subarray(0, 4), version === 4 ? dstBytes : dstBytes.subarray(0, 4), true);
        if (typeof udp === 'string') return this.fault('UDP', udp);
        this.count('UDP');
        this.app(udp.srcPort, udp.dstPort, true);
        return this.conversation('UDP', join(src, udp.srcPort), join(dst, udp.dstPort));
      }
      default:
        this.count(`${family} protocol ${protocol}`);
        return this.conversation(family, src, dst);
    }
  }

  /** Counts the application protocol of a TCP segment with data (or any UDP datagram) by port. */
  private app(srcPort: number, dstPort: number, hasData: boolean): void {
    const name = PORTS.get(dstPort) ?? PORTS.get(srcPort);
    if (name !== undefined && hasData) this.count(name);
  }

  private ieee802154(data: Uint8Array, fcs: boolean): void {
    const mac = parseMacFrame(data, { fcs });
    if (typeof mac === 'string') return this.fault('IEEE 802.15.4', mac);
    this.count('IEEE 802.15.4');
    this.count(`802.15.4 ${mac.type}`);
    if (mac.type !== 'data' || mac.security !== undefined || mac.payload.length === 0) return;
    const h = walkLowpanHeaders(mac.payload);
    if (typeof h === 'string') return this.fault('6LoWPAN', h);
    this.count('6LoWPAN');
    if (h.mesh !== undefined) this.count('6LoWPAN mesh');
    if (h.bc0 !== undefined) this.count('6LoWPAN BC0');
    if (h.frag !== undefined) this.count('6LoWPAN fragment');
    if (h.kind === 'fragn') return;
    const rest = mac.payload.subarray(h.offset);
    if (h.kind === 'ipv6') {
      // Only a whole datagram can be parsed (the first fragment's IPv6 header is cut short).
      if (h.frag === undefined) this.ipv6(rest);
      return;
    }
    this.count('6LoWPAN IPHC');
    // The link addresses the IPHC addresses are derived from: the mesh header's when there is one.
    const src = h.mesh !== undefined ? h.mesh.originator : mac.src.addr;
    const dst = h.mesh !== undefined ? h.mesh.final : mac.dst.addr;
    if (src === undefined || dst === undefined) return;
    const ip = decompressIphc(rest, {
      src: linkAddr(src, mac.src.pan), dst: linkAddr(dst, mac.dst.pan),
      ...(h.frag !== undefined ? { datagramSize: h.frag.size } : {}),
    });
    if (typeof ip === 'string') return this.fault('6LoWPAN IPHC', ip);
    if (h.frag !== undefined) {
      // The first fragment: the IPv6 header is whole, its payload length the datagram's.
      // The upper header may be cut short: count it by Next Header, ports from its first bytes.
      const v6 = ip.packet;
      if (v6.length < 40) return;
      this.count('IPv6');
      const next = v6[6] as number;
      const from = formatIPv6(v6.subarray(8, 24));
      const to = formatIPv6(v6.subarray(24, 40));
      const name = next === IpProtocol.TCP ? 'TCP' : next === IpProtocol.UDP ? 'UDP' : next === IpProtocol.IPV6_ICMP ? 'ICMPv6' : `IPv6 protocol ${next}`;
      this.count(name);
      if ((name === 'TCP' || name === 'UDP') && v6.length >= 44) {
        const sp = rd16(v6, 40);
        const dp = rd16(v6, 42);
        this.app(sp, dp, true);
        return this.conversation(name, `[${from}]:${sp}`, `[${to}]:${dp}`);
      }
      return this.conversation(name === 'ICMPv6' ? name : 'IPv6', from, to);
    }
    this.ipv6(ip.packet);
  }
}

/** A MAC address, or a mesh header's (2 bytes short, 8 bytes extended), as IPHC wants it. */
function linkAddr(a: MacAddress | Uint8Array, pan: number | undefined): LowpanLinkAddr {
  if (a instanceof Uint8Array) {
    if (a.length === 8) return { mode: 'extended', value: a };
    a = { mode: 'short', value: rd16(a, 0) };
  }
  if (a.mode === 'extended') return { mode: 'extended', value: a.value };
  return pan === undefined ? { mode: 'short', value: a.value } : { mode: 'short', value: a.value, pan };
}
