/**
 * `PcapSummarizer` (the engine of `iotnet pcap`) on captures our own link code writes, on
 * virtual time:
 * - Ethernet (`PcapCapture` on a cable): ARP, an 8000-byte fragmented ping, UDP to port 53
 *   (answered with port unreachable), a TCP echo on port 1883 (MQTT by port), IPv6 with ND;
 * - PPP with direction (`pppCaptureTap`): LCP, CHAP, IPCP, IPv6CP, IPv4 and TCP;
 * - IEEE 802.15.4 (linktype 230): 6LoWPAN IPHC with UDP, a FRAG1 and an ACK;
 * and on damage: malformed records counted with the codec's reason, the same summary for any
 * chunking, a cut file, a file that is no pcap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PcapSummarizer, type PcapSummary } from '../../../src/apps/pcap-summary/pcap-summary.ts';
import { createUserspaceBackend } from '../../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createBytePipe } from '../../../src/link/byte-pipe.ts';
import { createCable, PcapCapture } from '../../../src/link/index.ts';
import { PcapLinkType, pcapGlobalHeader, pcapRecord } from '../../../src/link/pcap-writer.ts';
import { pppCaptureTap } from '../../../src/link/ppp-capture.ts';
import { Network } from '../../../src/socket/network.ts';
import { toIpv6 } from '../../../src/stack/stack.ts';
import { concatBytes } from '../../../src/wire/bytes.ts';
import { buildMacFrame, macFrame } from '../../../src/wire/ieee802154.ts';
import { compressIphc } from '../../../src/wire/lowpan/iphc.ts';
import { PPP_SERVER_IP, pppNet } from '../../support/ppp-net.ts';
import { RADIO_PAN, radioExt } from '../../support/radio-frames.ts';
import { addHost, openUdp, pattern, resolveOn, run, tcpEcho } from '../../support/stack-net.ts';

function summarize(chunks: readonly Uint8Array[]): PcapSummary {
  const s = new PcapSummarizer();
  for (const c of chunks) s.push(c);
  return s.summary();
}

/** An Ethernet capture of two stacks (A captured) exchanging ARP, ICMP, UDP, TCP and IPv6. */
async function ethernetCapture(): Promise<Uint8Array> {
  const sched = new VirtualScheduler();
  const [a, b] = createCable();
  const chunks: Uint8Array[] = [];
  const cap = new PcapCapture(a, { clock: sched, sink: (c) => chunks.push(c) });
  const v6 = (addr: string): { ipv6: { addresses: { address: Uint8Array; prefixLen: number }[] } } => ({ ipv6: { addresses: [{ address: toIpv6(addr), prefixLen: 64 }] } });
  const A = addHost(sched, cap, '10.0.0.1', 1, { iface: v6('2001:db8::1') });
  const B = addHost(sched, b, '10.0.0.2', 2, { iface: v6('2001:db8::2') });
  run(sched, 3000);
  A.stack.ping(sched.now(), B.ip, { size: 8000 });
  A.stack.ping(sched.now(), '2001:db8::2');
  run(sched, 100);
  const pcb = openUdp(A.stack);
  A.stack.udpSendTo(sched.now(), pcb, new Uint8Array(30), 30, B.ip, 53);
  run(sched, 100);
  const net = (h: typeof A, seed: number): Network => new Network(createUserspaceBackend(h.stack, h.runner, { rng: new XorShiftRng(seed) }), { scheduler: sched, rng: new XorShiftRng(seed + 1) });
  const data = pattern(20_000, 3);
  const { back } = await tcpEcho(sched, net(B, 20), net(A, 30), '10.0.0.2', 1883, data);
  assert.equal(back.length, data.length);
  run(sched, 1000);
  return concatBytes(chunks);
}

describe('PcapSummarizer', () => {
  it('an Ethernet capture of two stacks: every layer counted, conversations, no malformed', async () => {
    const file = await ethernetCapture();
    const s = summarize([file]);
    assert.equal(s.linkType, 1);
    assert.equal(s.linkTypeName, 'Ethernet');
    assert.equal(s.error, undefined);
    assert.equal(s.truncatedBytes, 0);
    assert.equal(s.malformed, 0, JSON.stringify(s.malformedReasons));
    assert.ok(s.records > 30, `${s.records} records`);
    assert.equal(s.protocols.Ethernet, s.records);
    for (const p of ['ARP', 'IPv4', 'IPv4 fragment', 'ICMP', 'UDP', 'DNS', 'TCP', 'MQTT', 'IPv6', 'ICMPv6']) assert.ok((s.protocols[p] ?? 0) > 0, `${p}: ${JSON.stringify(s.protocols)}`);
    assert.equal(s.protocols.DNS, 1, 'one datagram to port 53');
    assert.ok(s.bytes > 40_000 && s.bytes === s.wireBytes);
    assert.ok(s.durationMs > 3000);
    const top = s.conversations[0];
    assert.equal(top?.protocol, 'TCP');
    assert.match(`${top?.a} ${top?.b}`, /^10\.0\.0\.1:\d+ 10\.0\.0\.2:1883$/);
    assert.ok((top?.bytes ?? 0) > 40_000, 'the TCP echo carries the most bytes');
    // Any chunking gives the same summary.
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < file.length; i += 997) pieces.push(file.subarray(i, i + 997));
    assert.deepEqual(summarize(pieces), s);
  });

  it('a PPP capture (with direction): LCP, CHAP, IPCP, IPv6CP, IPv4 and TCP', async () => {
    const sched = new VirtualScheduler();
    const chunks: Uint8Array[] = [];
    const capture = pppCaptureTap({ clock: sched, sink: (c) => chunks.push(c), linkType: PcapLinkType.PPP_WITH_DIR });
    const n = pppNet({ scheduler: sched, streams: createBytePipe({ scheduler: sched }), seed: 4, client: { capture } });
    await resolveOn(sched, n.up, 60_000);
    await tcpEcho(sched, n.server.net, n.client.net, PPP_SERVER_IP, 7, pattern(5000, 4));
    await resolveOn(sched, n.close());
    const s = summarize(chunks);
    assert.equal(s.linkType, 204);
    assert.equal(s.malformed, 0, JSON.stringify(s.malformedReasons));
    for (const p of ['PPP', 'LCP', 'CHAP', 'IPCP', 'IPv6CP', 'IPv4', 'TCP']) assert.ok((s.protocols[p] ?? 0) > 0, `${p}: ${JSON.stringify(s.protocols)}`);
    assert.equal(s.protocols.PPP, s.records);
  });

  it('IEEE 802.15.4 (linktype 230): 6LoWPAN IPHC decompressed to IPv6/UDP, a FRAG1, an ACK', () => {
    const src = { mode: 'extended' as const, value: radioExt(1) };
    const dst = { mode: 'extended' as const, value: radioExt(2) };
    // fe80::...:1 -> fe80::...:2, UDP 5683 -> 5683 (CoAP), 10 bytes.
    const ll = (n: number): Uint8Array => Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n);
    const ip = new Uint8Array(40 + 8 + 10);
    ip[0] = 0x60;
    ip[5] = 18;
    ip[6] = 17;
    ip[7] = 64;
    ip.set(ll(1), 8);
    ip.set(ll(2), 24);
    ip.set([0x16, 0x33, 0x16, 0x33, 0, 18, 0x12, 0x34], 40);
    const c = compressIphc(ip, { src, dst });
    assert.ok(typeof c !== 'string');
    const mac = (payload: Uint8Array, seq: number): Uint8Array => buildMacFrame(macFrame('data', {
      seq, ackRequest: true, panIdCompression: true, dst: { pan: RADIO_PAN, addr: dst }, src: { pan: RADIO_PAN, addr: src }, payload,
    }));
    const frag1 = concatBytes([Uint8Array.of(0xc0 | 0, 200, 0x12, 0x34), c.frame]);
    const ack = buildMacFrame(macFrame('ack', { seq: 1 }));
    const file = concatBytes([pcapGlobalHeader(230), pcapRecord(1000, mac(c.frame, 1)), pcapRecord(1001, ack), pcapRecord(1002, mac(frag1, 2)), pcapRecord(1003, Uint8Array.of(0xff))]);
    const s = summarize([file]);
    assert.equal(s.linkTypeName, 'IEEE 802.15.4 without FCS');
    assert.equal(s.records, 4);
    assert.equal(s.protocols['IEEE 802.15.4'], 3);
    assert.equal(s.protocols['802.15.4 data'], 2);
    assert.equal(s.protocols['802.15.4 ack'], 1);
    assert.equal(s.protocols['6LoWPAN'], 2);
    assert.equal(s.protocols['6LoWPAN IPHC'], 2);
    assert.equal(s.protocols['6LoWPAN fragment'], 1);
    assert.equal(s.protocols.IPv6, 2);
    assert.equal(s.protocols.UDP, 2);
    assert.equal(s.malformed, 1, 'the one-byte record');
    assert.deepEqual(Object.keys(s.malformedReasons), ['IEEE 802.15.4: truncated']);
    assert.deepEqual(s.conversations.map((x) => [x.protocol, x.a, x.b, x.packets]), [['UDP', '[fe80::1]:5683', '[fe80::2]:5683', 2]]);
  });

  it('damage: malformed records counted by reason; a cut file; raw IP; not a pcap', () => {
    const v4 = new Uint8Array(28);
    v4.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0xd2, 0x00, 0x35, 0, 8, 0, 0]);
    const badLen = v4.slice();
    badLen[3] = 200;
    const file = concatBytes([pcapGlobalHeader(PcapLinkType.RAW), pcapRecord(0, v4), pcapRecord(1, badLen), pcapRecord(2, Uint8Array.of(0x99)), pcapRecord(3, v4)]);
    const s = summarize([file.subarray(0, file.length - 5)]);
    assert.equal(s.linkTypeName, 'raw IP');
    assert.equal(s.records, 3);
    assert.equal(s.truncatedBytes, 16 + 28 - 5);
    assert.equal(s.malformed, 2);
    assert.deepEqual(s.malformedReasons, { 'IPv4: bad-length': 1, 'IP: malformed': 1 });
    assert.equal(s.protocols.DNS, 1);
    assert.equal(summarize([new TextEncoder().encode('no capture here')]).error, 'not-pcap');
  });
});
