/**
 * 6LoWPAN header compression (RFC 6282) on IEEE 802.15.4: header sizes of typical UDP/CoAP
 * packets, compressed by `compressIphc` against the uncompressed IPv6 + UDP headers (40 + 8 =
 * 48 bytes), what that leaves for UDP payload in one 127-byte frame, the bytes on air for a
 * fragmented and an unfragmented CoAP payload, and the codec's cost per packet.
 *
 * Sizes are exact (no timing): every packet is built with the IPv6/UDP codecs, compressed,
 * checked against the size RFC 6282 gives for it (the breakdown is in `SCENARIOS`; the bench
 * throws on a mismatch) and decompressed back to the same bytes. All packets have traffic
 * class 0, flow label 0 and hop limit 64 (TF = 11, HLIM = 10: all elided) and UDP under
 * LOWPAN_NHC; the checksum stays inline unless a scenario says it is elided (RFC 6282 §4.3.2:
 * only with the upper layer's authorization).
 *
 * Frames: 802.15.4-2006 data frames (version 1), sequence number, PAN ID compression (one PAN
 * id), FCS 2; the MAC overhead is `macFrameOverhead(f, {fcs: true})` of the frame carrying the
 * packet (checked against `buildMacFrame`), the PHY's preamble/SFD/length byte not counted. A
 * frame leaves `macMaxPayload(f)` bytes (127 - overhead) for 6LoWPAN; the uncompressed
 * datagram needs the 0x41 dispatch and the 48 header bytes (49), the compressed one its IPHC
 * and NHC headers. "Fits" counts UDP payload bytes in one frame without fragmentation.
 * Fragmented figures use `lowpanFragment` (FRAG1 4 / FRAGN 5 bytes, 8-byte offsets).
 *
 * Per-packet cost: `compressIphc` and `decompressIphc` of the CoAP link-local packet with a
 * 32-byte payload, against the uncompressed (0x41) path on the same packet: send = a fresh
 * frame with the dispatch and a copy of the packet; receive = `validateIpv6` of the frame's
 * packet and a copy of it (both allocate and copy like the codec does). Median of 7 rounds,
 * figure and baseline alternating within a round; the ratio is the median of per-round ratios.
 *
 * Run alone: `npx tsx bench/lowpan.bench.ts [--quick]`.
 */
import { pathToFileURL } from 'node:url';
import { parseIPv6 } from '../src/base/ip-address.ts';
import { lowpanFragment } from '../src/stack/lowpan/fragmenter.ts';
import { equalBytes } from '../src/wire/bytes.ts';
import { buildMacFrame, macFrame, macFrameOverhead, macMaxPayload, type MacAddress, type MacFrame } from '../src/wire/ieee802154.ts';
import { isFault } from '../src/wire/fault.ts';
import { emitIpv6, Ipv6NextHeader, validateIpv6 } from '../src/wire/ipv6.ts';
import { LOWPAN_DISPATCH_IPV6 } from '../src/wire/lowpan/dispatch.ts';
import { compressIphc, decompressIphc, type LowpanContextTable, type LowpanLinkAddr } from '../src/wire/lowpan/iphc.ts';
import { fillUdpChecksumV6 } from '../src/wire/lowpan/nhc-udp.ts';
import { emitLowpanMesh, lowpanMeshLen, type LowpanMeshRepr } from '../src/wire/lowpan/mesh-header.ts';
import { emitUdp } from '../src/wire/udp.ts';
import { createUserspaceBackend } from '../src/backends/userspace/index.ts';
import { XorShiftRng } from '../src/base/rand.ts';
import { VirtualScheduler } from '../src/base/time.ts';
import type { StackRunner } from '../src/runtime/stack-runner.ts';
import { Network } from '../src/socket/network.ts';
import type { Stack } from '../src/stack/stack.ts';
import { BACKBONE_HOST_ADDR, meshNet } from '../test/support/mesh-net.ts';
import { resolveOn, run } from '../test/support/stack-net.ts';
import type { Figure } from './main.ts';
import { median, timeLoop } from './wire.bench.ts';

export interface LowpanBenchOptions {
  quick: boolean;
  progress?: (msg: string) => void;
}

const ROUNDS = 7;
const PAN = 0xabcd;
/** IPv6 (40) + UDP (8). */
const UNCOMPRESSED_HDR = 48;
const COAP = 5683;

function ip6(text: string): Uint8Array {
  const a = parseIPv6(text);
  if (a === undefined) throw new Error(`bench: bad address ${text}`);
  return a;
}

const EXT_A: LowpanLinkAddr = { mode: 'extended', value: Uint8Array.of(0x00, 0x12, 0x4b, 0x00, 0x01, 0x02, 0x03, 0x04) };
const EXT_B: LowpanLinkAddr = { mode: 'extended', value: Uint8Array.of(0x00, 0x12, 0x4b, 0x00, 0x05, 0x06, 0x07, 0x08) };
const SHORT_A: LowpanLinkAddr = { mode: 'short', value: 0x0001 };
const SHORT_B: LowpanLinkAddr = { mode: 'short', value: 0x00b2 };
const BROADCAST: LowpanLinkAddr = { mode: 'short', value: 0xffff };
/** Modified EUI-64 IIDs of EXT_A / EXT_B (U/L bit inverted) and the IIDs of SHORT_A / SHORT_B (0:ff:fe00:XXXX). */
const IID_A = '212:4b00:102:304';
const IID_B = '212:4b00:506:708';
const CTX0: LowpanContextTable = [{ prefix: ip6('2001:db8::'), prefixLen: 64 }];

/** The link a scenario's frame goes over: its MAC addresses (for the overhead) and name. */
type LinkKind = 'ext' | 'short' | 'bcast';
const LINKS: Record<LinkKind, { src: LowpanLinkAddr; dst: LowpanLinkAddr; label: string }> = {
  ext: { src: EXT_A, dst: EXT_B, label: 'extended (EUI-64) source and destination' },
  short: { src: SHORT_A, dst: SHORT_B, label: '16-bit short source and destination' },
  bcast: { src: EXT_A, dst: BROADCAST, label: 'extended source to broadcast 0xffff' },
};

interface Scenario {
  readonly name: string;
  readonly label: string;
  readonly link: LinkKind;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly contexts?: LowpanContextTable;
  readonly elideChecksum?: boolean;
  /** RFC 6282 size of IPHC + inline fields + NHC UDP, and how it adds up. */
  readonly expect: number;
  readonly why: string;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'coap_ll', label: 'CoAP 5683->5683, link-local, IIDs from extended MAC addresses', link: 'ext',
    src: `fe80::${IID_A}`, dst: `fe80::${IID_B}`, srcPort: COAP, dstPort: COAP,
    expect: 9, why: 'IPHC 2 (SAM=DAM=11) + NHC 1 + ports 4 + checksum 2',
  },
  {
    name: 'll_f0b', label: 'UDP 0xF0B1->0xF0B2, link-local, IIDs from extended MAC addresses', link: 'ext',
    src: `fe80::${IID_A}`, dst: `fe80::${IID_B}`, srcPort: 0xf0b1, dstPort: 0xf0b2,
    expect: 6, why: 'IPHC 2 + NHC 1 + ports 1 (4 bits each) + checksum 2',
  },
  {
    name: 'll_f0b_nocsum', label: 'UDP 0xF0B1->0xF0B2, link-local from MAC, checksum elided (authorized)', link: 'ext',
    src: `fe80::${IID_A}`, dst: `fe80::${IID_B}`, srcPort: 0xf0b1, dstPort: 0xf0b2, elideChecksum: true,
    expect: 4, why: 'IPHC 2 + NHC 1 + ports 1, checksum elided',
  },
  {
    name: 'coap_ll_short', label: 'CoAP 5683->5683, link-local, IIDs from 16-bit short MAC addresses', link: 'short',
    src: 'fe80::ff:fe00:1', dst: 'fe80::ff:fe00:b2', srcPort: COAP, dstPort: COAP,
    expect: 9, why: 'IPHC 2 (SAM=DAM=11) + NHC 1 + ports 4 + checksum 2',
  },
  {
    name: 'coap_global_ctx', label: 'CoAP 5683->5683, 2001:db8::/64 both ends, context 0 = that prefix, IIDs from MAC', link: 'ext',
    src: `2001:db8::${IID_A}`, dst: `2001:db8::${IID_B}`, srcPort: COAP, dstPort: COAP, contexts: CTX0,
    expect: 9, why: 'IPHC 2 (SAC=DAC=1, SAM=DAM=11, CID 0: no CID byte) + NHC 1 + ports 4 + checksum 2',
  },
  {
    name: 'coap_global_noctx', label: 'CoAP 5683->5683, 2001:db8::/64 both ends, no context', link: 'ext',
    src: `2001:db8::${IID_A}`, dst: `2001:db8::${IID_B}`, srcPort: COAP, dstPort: COAP,
    expect: 41, why: 'IPHC 2 + source 16 + destination 16 inline (SAM=DAM=00) + NHC 1 + ports 4 + checksum 2',
  },
  {
    name: 'coap_mcast_ff02_1', label: 'CoAP 5683->5683, link-local from MAC to ff02::1 (MAC broadcast)', link: 'bcast',
    src: `fe80::${IID_A}`, dst: 'ff02::1', srcPort: COAP, dstPort: COAP,
    expect: 10, why: 'IPHC 2 + destination 1 (M=1, DAM=11: ff02::00XX) + NHC 1 + ports 4 + checksum 2',
  },
  {
    name: 'coap_mcast_ff05_fd', label: 'CoAP 5683->5683, link-local from MAC to ff05::fd (All CoAP Nodes, site)', link: 'bcast',
    src: `fe80::${IID_A}`, dst: 'ff05::fd', srcPort: COAP, dstPort: COAP,
    expect: 13, why: 'IPHC 2 + destination 4 (M=1, DAM=10: ffXX::00XX:XXXX) + NHC 1 + ports 4 + checksum 2',
  },
];

/** Keeps results observable so the loops cannot be optimised away. */
let sink = 0;

/** An IPv6/UDP packet (hop limit 64, TC and flow label 0, IPv6 UDP checksum) with `payload` bytes 0, 1, 2, ... */
function udpPacket(s: Pick<Scenario, 'src' | 'dst' | 'srcPort' | 'dstPort'>, payload: number): Uint8Array {
  const src = ip6(s.src);
  const dst = ip6(s.dst);
  const pkt = new Uint8Array(UNCOMPRESSED_HDR + payload);
  for (let i = 0; i < payload; i++) pkt[UNCOMPRESSED_HDR + i] = i & 0xff;
  emitUdp({ srcPort: s.srcPort, dstPort: s.dstPort, payloadLen: payload }, pkt.subarray(40), src, dst);
  emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLen: 8 + payload, nextHeader: Ipv6NextHeader.UDP, hopLimit: 64, src, dst }, pkt);
  fillUdpChecksumV6(pkt, 0, 40); // emitUdp's checksum uses the IPv4 pseudo-header
  return pkt;
}

/** Compresses `pkt` for scenario `s`, checks the size and the round trip; returns the compressed header bytes. */
function compressChecked(s: Scenario, pkt: Uint8Array, link: { src: LowpanLinkAddr; dst: LowpanLinkAddr }): Uint8Array {
  const opts = { src: link.src, dst: link.dst, contexts: s.contexts, elideUdpChecksum: s.elideChecksum === true };
  const c = compressIphc(pkt, opts);
  if (isFault(c)) throw new Error(`bench: ${s.name}: compressIphc: ${c}`);
  if (c.uncompressedHeaderLen !== UNCOMPRESSED_HDR) throw new Error(`bench: ${s.name}: ${c.uncompressedHeaderLen} header bytes compressed, not 48`);
  if (c.headerLen !== s.expect) throw new Error(`bench: ${s.name}: ${c.headerLen} compressed header bytes, RFC 6282 gives ${s.expect} (${s.why})`);
  const d = decompressIphc(c.frame, { src: link.src, dst: link.dst, contexts: s.contexts });
  if (isFault(d) || !equalBytes(d.packet, pkt)) throw new Error(`bench: ${s.name}: decompressIphc does not give the packet back`);
  return c.frame.subarray(0, c.headerLen);
}

/** The 2006 data frame from `link.src` to `link.dst` on one PAN (PAN ID compression) carrying `payload`. */
function dataFrame(link: { src: LowpanLinkAddr; dst: LowpanLinkAddr }, payload: Uint8Array): MacFrame {
  const mac = (a: LowpanLinkAddr): MacAddress => (a.mode === 'short' ? { mode: 'short', value: a.value } : a);
  return macFrame('data', {
    panIdCompression: true,
    seq: 7,
    dst: { pan: PAN, addr: mac(link.dst) },
    src: { pan: undefined, addr: mac(link.src) },
    payload,
  });
}

/** MAC header + FCS of such a frame, checked against the bytes `buildMacFrame` writes. */
function macOverhead(link: { src: LowpanLinkAddr; dst: LowpanLinkAddr }): number {
  const f = dataFrame(link, new Uint8Array(10));
  const overhead = macFrameOverhead(f, { fcs: true });
  if (buildMacFrame(f, { fcs: true }).length !== overhead + 10) throw new Error('bench: macFrameOverhead disagrees with buildMacFrame');
  if (macMaxPayload(f) !== 127 - overhead) throw new Error('bench: macMaxPayload is not 127 - overhead');
  return overhead;
}

/** Frames and MAC-frame bytes (overhead included) to send `header` + `payload`, fragmented when needed. */
function onAir(header: Uint8Array, payload: Uint8Array, room: number, overhead: number, prefix?: Uint8Array): { frames: number; bytes: number } {
  const frames = lowpanFragment({ compressedHeader: header, headerUncompressedLength: UNCOMPRESSED_HDR, payload, tag: 1, room, ...(prefix ? { prefix } : {}) });
  if (isFault(frames)) throw new Error(`bench: lowpanFragment: ${frames}`);
  let bytes = 0;
  for (const f of frames) {
    if (f.length > room) throw new Error('bench: a fragment exceeds the room');
    bytes += f.length + overhead;
  }
  return { frames: frames.length, bytes };
}

/** Header and frame-size figures (exact). */
function sizeFigures(progress: (m: string) => void): Figure[] {
  const figures: Figure[] = [];
  const hdrBase = 'lowpan_hdr_uncompressed_bytes';
  figures.push({ key: hdrBase, label: 'IPv6 + UDP headers uncompressed (40 + 8; the 0x41 dispatch adds 1 on the air)', value: UNCOMPRESSED_HDR, unit: 'B' });
  const room: Record<LinkKind, number> = { ext: 0, short: 0, bcast: 0 };
  for (const kind of ['ext', 'short', 'bcast'] as const) {
    const link = LINKS[kind];
    const overhead = macOverhead(link);
    room[kind] = 127 - overhead;
    figures.push({ key: `lowpan_mac_overhead_${kind}_bytes`, label: `802.15.4 MAC header + FCS, PAN ID compressed, ${link.label}`, value: overhead, unit: 'B' });
    figures.push({
      key: `lowpan_udp_fit_uncompressed_${kind}_bytes`,
      label: `UDP payload in one 127-byte frame uncompressed (0x41 + 48), ${link.label}`,
      value: room[kind] - 1 - UNCOMPRESSED_HDR,
      unit: 'B',
    });
  }
  for (const s of SCENARIOS) {
    const link = LINKS[s.link];
    const hdr = compressChecked(s, udpPacket(s, 16), link);
    const fit = room[s.link] - hdr.length;
    progress(`lowpan ${s.name}: ${hdr.length} of 48 header bytes (${s.why}); ${fit} B of UDP payload per frame`);
    figures.push({ key: `lowpan_hdr_${s.name}_bytes`, label: `IPHC + NHC UDP, ${s.label}`, value: hdr.length, unit: 'B', baseline: hdrBase });
    figures.push({
      key: `lowpan_udp_fit_${s.name}_bytes`,
      label: `UDP payload in one 127-byte frame, IPHC, ${s.label}`,
      value: fit,
      unit: 'B',
      baseline: `lowpan_udp_fit_uncompressed_${s.link}_bytes`,
    });
  }

  // Mesh-under (RFC 4944 §5.2): a mesh header with 16-bit originator and final addresses in every frame.
  const mesh: LowpanMeshRepr = { hopsLeft: 5, originator: Uint8Array.of(0x00, 0x01), final: Uint8Array.of(0x00, 0xb2) };
  const meshHdr = new Uint8Array(lowpanMeshLen(mesh));
  emitLowpanMesh(mesh, meshHdr);
  const coapShort = SCENARIOS.find((s) => s.name === 'coap_ll_short') as Scenario;
  const meshHc = compressChecked(coapShort, udpPacket(coapShort, 16), LINKS.short);
  figures.push({
    key: 'lowpan_udp_fit_uncompressed_short_mesh_bytes',
    label: `UDP payload in one frame uncompressed behind a ${meshHdr.length}-byte mesh header (short originator/final), short MAC addresses`,
    value: room.short - meshHdr.length - 1 - UNCOMPRESSED_HDR,
    unit: 'B',
  });
  figures.push({
    key: 'lowpan_udp_fit_coap_ll_short_mesh_bytes',
    label: `UDP payload in one frame, IPHC, behind a ${meshHdr.length}-byte mesh header, CoAP link-local, short MAC addresses`,
    value: room.short - meshHdr.length - meshHc.length,
    unit: 'B',
    baseline: 'lowpan_udp_fit_uncompressed_short_mesh_bytes',
  });

  // Bytes on air (MAC frames with FCS) for CoAP link-local payloads, fragmented when needed.
  const coapLl = SCENARIOS.find((s) => s.name === 'coap_ll') as Scenario;
  const overhead = 127 - room.ext;
  for (const payloadLen of [64, 1024]) {
    const pkt = udpPacket(coapLl, payloadLen);
    const hc = compressChecked(coapLl, pkt, LINKS.ext);
    const plain = new Uint8Array(1 + UNCOMPRESSED_HDR);
    plain[0] = LOWPAN_DISPATCH_IPV6;
    plain.set(pkt.subarray(0, UNCOMPRESSED_HDR), 1);
    const payload = pkt.subarray(UNCOMPRESSED_HDR);
    const u = onAir(plain, payload, room.ext, overhead);
    const c = onAir(hc, payload, room.ext, overhead);
    progress(`lowpan coap_ll ${payloadLen} B payload: ${c.frames} frame(s), ${c.bytes} B on air compressed; ${u.frames} frame(s), ${u.bytes} B uncompressed`);
    const baseKey = `lowpan_air_coap_ll_${payloadLen}B_uncompressed_bytes`;
    figures.push({ key: baseKey, label: `MAC bytes on air, ${payloadLen}-byte CoAP payload, link-local, 0x41 uncompressed: ${u.frames} frame(s)`, value: u.bytes, unit: 'B' });
    figures.push({ key: `lowpan_air_coap_ll_${payloadLen}B_bytes`, label: `MAC bytes on air, ${payloadLen}-byte CoAP payload, link-local, IPHC: ${c.frames} frame(s)`, value: c.bytes, unit: 'B', baseline: baseKey });
  }
  return figures;
}

/** compressIphc / decompressIphc per packet against the 0x41 path, paired per round. */
function codecFigures(quick: boolean, progress: (m: string) => void): Figure[] {
  const budgetMs = quick ? 20 : 150;
  const rounds = quick ? 3 : ROUNDS;
  const s = SCENARIOS.find((x) => x.name === 'coap_ll') as Scenario;
  const link = LINKS.ext;
  const pkt = udpPacket(s, 32);
  compressChecked(s, pkt, link);
  const copts = { src: link.src, dst: link.dst };
  const compressed = compressIphc(pkt, copts);
  if (isFault(compressed)) throw new Error(`bench: ${compressed}`);
  const hcFrame = compressed.frame;
  const plainFrame = new Uint8Array(1 + pkt.length);
  plainFrame[0] = LOWPAN_DISPATCH_IPV6;
  plainFrame.set(pkt, 1);

  const runs = {
    compress: (n: number): void => {
      for (let i = 0; i < n; i++) {
        const c = compressIphc(pkt, copts);
        if (isFault(c)) throw new Error(`bench: ${c}`);
        sink ^= c.headerLen;
      }
    },
    frame: (n: number): void => {
      for (let i = 0; i < n; i++) {
        const f = new Uint8Array(1 + pkt.length);
        f[0] = LOWPAN_DISPATCH_IPV6;
        f.set(pkt, 1);
        sink ^= f[8] as number;
      }
    },
    decompress: (n: number): void => {
      for (let i = 0; i < n; i++) {
        const d = decompressIphc(hcFrame, copts);
        if (isFault(d)) throw new Error(`bench: ${d}`);
        sink ^= d.headerLen;
      }
    },
    unframe: (n: number): void => {
      for (let i = 0; i < n; i++) {
        const fault = validateIpv6(plainFrame.subarray(1));
        if (fault !== undefined) throw new Error(`bench: ${fault}`);
        const p = plainFrame.slice(1);
        sink ^= p[7] as number;
      }
    },
  };
  const secs: Record<keyof typeof runs, number[]> = { compress: [], frame: [], decompress: [], unframe: [] };
  for (let r = 0; r < rounds; r++) {
    // Alternate which of each pair goes first.
    const order: (keyof typeof runs)[] = r % 2 === 0 ? ['frame', 'compress', 'unframe', 'decompress'] : ['compress', 'frame', 'decompress', 'unframe'];
    for (const k of order) secs[k].push(timeLoop(budgetMs, runs[k]));
  }
  const paired = (a: number[], b: number[]): number => median(a.map((x, i) => x / (b[i] as number)));
  const ns = (k: keyof typeof runs): number => median(secs[k]) * 1e9;
  const pps = (k: keyof typeof runs): string => `${(1e9 / ns(k) / 1e6).toFixed(2)} M packets/s`;
  progress(`lowpan compressIphc ${ns('compress').toFixed(0)} ns (${pps('compress')}), 0x41 framing ${ns('frame').toFixed(0)} ns (${pps('frame')})`);
  progress(`lowpan decompressIphc ${ns('decompress').toFixed(0)} ns (${pps('decompress')}), 0x41 unframing ${ns('unframe').toFixed(0)} ns (${pps('unframe')})`);
  return [
    { key: 'lowpan_ipv6_frame_ns', label: `0x41 framing of a CoAP link-local packet (32-byte payload): new frame + copy, ${pps('frame')}`, value: ns('frame'), unit: 'ns' },
    {
      key: 'lowpan_iphc_compress_ns', label: `compressIphc, CoAP link-local packet (32-byte payload, 48 -> 9 header bytes), ${pps('compress')}`,
      value: ns('compress'), unit: 'ns', baseline: 'lowpan_ipv6_frame_ns', ratio: paired(secs.compress, secs.frame),
    },
    { key: 'lowpan_ipv6_unframe_ns', label: `0x41 unframing of the same: validateIpv6 + copy of the packet, ${pps('unframe')}`, value: ns('unframe'), unit: 'ns' },
    {
      key: 'lowpan_iphc_decompress_ns', label: `decompressIphc of the same (9 -> 48 header bytes), ${pps('decompress')}`,
      value: ns('decompress'), unit: 'ns', baseline: 'lowpan_ipv6_unframe_ns', ratio: paired(secs.decompress, secs.unframe),
    },
  ];
}

/**
 * TCP goodput from the farthest node of a mesh-under chain to a host behind the border router,
 * one way (bytes received / virtual time from connected to the last byte), on the simulated
 * medium at 250 kbit/s: CSMA back-off, clear channel assessment shared by neighbours, MAC ACKs
 * and retries; no collisions or hidden terminals (the medium does not model them).
 */
async function meshGoodput(hops: number, lossPct: number, bytes: number): Promise<{ rate: number; ms: number }> {
  const sched = new VirtualScheduler();
  const mesh = meshNet({ scheduler: sched, hops, lossPct, seed: 11 });
  try {
    for (let i = 0; i < 240 && !mesh.allRegistered(); i++) run(sched, 500);
    const far = mesh.nodes[hops - 1];
    const host = mesh.host;
    if (far === undefined || host === undefined || !mesh.allRegistered()) throw new Error('mesh did not come up');
    const net = (stack: Stack, runner: StackRunner, seed: number): Network =>
      new Network(createUserspaceBackend(stack, runner, { rng: new XorShiftRng(seed) }), { scheduler: sched, rng: new XorShiftRng(seed + 1) });
    const hostNet = net(host.stack, host.runner, 60);
    const farNet = net(far.stack, far.runner, 50);
    const listener = await resolveOn(sched, hostNet.listen({ port: 7000, family: 6 }));
    const received = (async () => {
      const s = await listener.accept();
      let n = 0;
      for await (const chunk of s) n += chunk.length;
      return { n, at: sched.now() };
    })();
    const c = await resolveOn(sched, farNet.connect(`[${BACKBONE_HOST_ADDR}]:7000`));
    const t0 = sched.now();
    const data = new Uint8Array(bytes).map((_, i) => (i * 7) & 0xff);
    await resolveOn(sched, c.write(data));
    await resolveOn(sched, c.end());
    const r = await resolveOn(sched, received);
    listener.close();
    if (r.n !== bytes) throw new Error(`mesh goodput: ${r.n} of ${bytes} bytes arrived`);
    const ms = r.at - t0;
    return { rate: (r.n * 1000) / ms, ms };
  } finally {
    mesh.close();
  }
}

async function goodputFigures(quick: boolean, progress: (m: string) => void): Promise<Figure[]> {
  const raw = 'lowpan_raw_rate_250k';
  const figures: Figure[] = [{ key: raw, label: 'IEEE 802.15.4 raw bit rate, 2.4 GHz O-QPSK (250 kbit/s)', value: 250_000 / 8, unit: 'B/s' }];
  const runs = [
    { key: 'lowpan_goodput_ratio', hops: 1, loss: 0, goal: true },
    { key: 'lowpan_goodput_3hop', hops: 3, loss: 0, goal: false },
    { key: 'lowpan_goodput_3hop_loss10', hops: 3, loss: 10, goal: false },
  ];
  for (const r of runs) {
    const bytes = (quick ? 32 : 128) * 1024;
    const { rate, ms } = await meshGoodput(r.hops, r.loss, bytes);
    progress(`6LoWPAN TCP ${r.hops} hop(s), ${r.loss} % loss: ${bytes} B in ${(ms / 1000).toFixed(1)} s virtual, ${(rate / 1000).toFixed(2)} kB/s`);
    figures.push({
      key: r.key,
      label: `6LoWPAN TCP goodput, node -> host behind the border router, ${r.hops} radio hop(s), ${r.loss} % frame loss, simulated medium at 250 kbit/s (${bytes / 1024} KiB, one way)`,
      value: rate, unit: 'B/s', baseline: raw,
    });
  }
  return figures;
}

export async function runLowpanBench(opts: LowpanBenchOptions): Promise<Figure[]> {
  const progress = opts.progress ?? ((): void => {});
  const figures = sizeFigures(progress);
  await Promise.resolve();
  figures.push(...codecFigures(opts.quick, progress));
  figures.push(...(await goodputFigures(opts.quick, progress)));
  if (sink === 0x7fffffff) progress('(sink)');
  return figures;
}

// Standalone: `npx tsx bench/lowpan.bench.ts [--quick]`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await runLowpanBench({ quick: process.argv.includes('--quick'), progress: (m) => process.stderr.write(`  ${m}\n`) });
  const byKey = new Map(figures.map((f) => [f.key, f]));
  for (const f of figures) {
    const base = f.baseline !== undefined ? byKey.get(f.baseline) : undefined;
    const ratio = f.ratio ?? (base !== undefined ? f.value / base.value : undefined);
    const v = `${f.value.toFixed(0)} ${f.unit}`;
    const b = base !== undefined ? `${base.value.toFixed(0)} ${base.unit}` : '';
    process.stdout.write(`${f.key.padEnd(48)}${v.padEnd(10)}${b.padEnd(10)}${ratio !== undefined ? ratio.toFixed(2) : ''}\n`);
  }
}
