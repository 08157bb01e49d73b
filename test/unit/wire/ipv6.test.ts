// Golden frames: scapy 2.5.0 + tshark 4.0.17 agree on every byte (provenance in ./ipv6-golden.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  IPV6_ALL_MLDV2_ROUTERS,
  IPV6_ALL_NODES,
  IPV6_ALL_ROUTERS,
  IPV6_HEADER_LEN,
  IPV6_MAX_EXT_CHAIN_LEN,
  IPV6_MAX_EXT_HEADERS,
  IPV6_MAX_EXT_OPTIONS,
  Ipv6ExtWalk,
  Ipv6NextHeader,
  Ipv6OptionAction,
  Ipv6ParamProblemCode,
  Ipv6View,
  checkIpv6,
  emitIpv6,
  emitIpv6ExtHeader,
  emitRouterAlertHopByHop,
  ipv6ExtHeaderLen,
  ipv6ExtHeaderType,
  ipv6HeaderLen,
  ipv6Payload,
  isIpv6ExtensionHeader,
  parseIpv6,
  parseIpv6ExtHeader,
  parseIpv6Quoted,
  validateIpv6,
  walkIpv6Extensions,
  type Ipv6ExtHeaderRepr,
  type Ipv6Repr,
} from '../../../src/wire/ipv6.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../../../src/wire/checksum.ts';
import { fromHex, rd16, toHex, wr16, wr8 } from '../../../src/wire/bytes.ts';
import { isFault } from '../../../src/wire/fault.ts';
import {
  ETH,
  ETH_ICMPV6_PORT_UNREACHABLE,
  ETH_IP6,
  ETH_IPV6_ECHO_REQUEST,
  ETH_IPV6_EXT_CHAIN,
  ETH_IPV6_FRAGMENT_FIRST,
  ETH_IPV6_FRAGMENT_LAST,
  ETH_IPV6_UDP,
  ETH_MLDV1_QUERY,
  ETH_MLDV2_REPORT,
  IP6_D,
  IP6_S,
  canary,
} from './ipv6-golden.ts';

const UDP_PKT = ETH_IPV6_UDP.subarray(ETH);
const ECHO_PKT = ETH_IPV6_ECHO_REQUEST.subarray(ETH);
const CHAIN_PKT = ETH_IPV6_EXT_CHAIN.subarray(ETH);

const UDP_REPR: Ipv6Repr = { dscp: 0, ecn: 0, flowLabel: 0, payloadLen: 13, nextHeader: 17, hopLimit: 64, src: IP6_S, dst: IP6_D };
const ECHO_REPR: Ipv6Repr = { dscp: 46, ecn: 1, flowLabel: 0x12345, payloadLen: 16, nextHeader: 58, hopLimit: 64, src: IP6_S, dst: IP6_D };

const with_ = (b: Uint8Array, f: (x: Uint8Array) => void): Uint8Array => {
  const c = b.slice();
  f(c);
  return c;
};

function hex(text: string): Uint8Array {
  const b = fromHex(text);
  if (b === undefined) throw new Error('bad hex');
  return b;
}

/** An IPv6 packet from S to `dst` whose payload is `ext` (extension headers + upper layer), first Next Header `nh`. */
function packet(nh: number, ext: Uint8Array, dst: Uint8Array = IP6_D): Uint8Array {
  const out = new Uint8Array(IPV6_HEADER_LEN + ext.length);
  emitIpv6({ ...UDP_REPR, nextHeader: nh, payloadLen: ext.length, dst }, out);
  out.set(ext, IPV6_HEADER_LEN);
  return out;
}

/** A chain from reprs: `[repr, ...]` then `upper` bytes with protocol `upperNh`. */
function chain(headers: Ipv6ExtHeaderRepr[], upperNh: number, upper: Uint8Array = new Uint8Array(8), dst?: Uint8Array): Uint8Array {
  const len = headers.reduce((n, h) => n + ipv6ExtHeaderLen(h), 0) + upper.length;
  const ext = new Uint8Array(len);
  let off = 0;
  headers.forEach((h, i) => {
    const next = headers[i + 1];
    off += emitIpv6ExtHeader(h, next === undefined ? upperNh : ipv6ExtHeaderType(next), ext, off);
  });
  ext.set(upper, off);
  const first = headers[0];
  return packet(first === undefined ? upperNh : ipv6ExtHeaderType(first), ext, dst);
}

const dest = (...options: { type: number; data: Uint8Array }[]): Ipv6ExtHeaderRepr => ({ kind: 'dest-options', options });
const hbh = (...options: { type: number; data: Uint8Array }[]): Ipv6ExtHeaderRepr => ({ kind: 'hop-by-hop', options });
const opt = (type: number, n = 2): { type: number; data: Uint8Array } => ({ type, data: new Uint8Array(n) });

describe('IPv6 header (RFC 8200 §3)', () => {
  it('deconstruct: view fields of the golden echo request (traffic class 0xb9, flow label 0x12345)', () => {
    assert.equal(checkIpv6(ECHO_PKT), undefined);
    const v = new Ipv6View(ECHO_PKT);
    assert.equal(v.version, 6);
    assert.equal(v.trafficClass, 0xb9);
    assert.equal(v.dscp, 46);
    assert.equal(v.ecn, 1);
    assert.equal(v.flowLabel, 0x12345);
    assert.equal(v.payloadLen, 16);
    assert.equal(v.nextHeader, Ipv6NextHeader.ICMPV6);
    assert.equal(v.hopLimit, 64);
    assert.deepEqual(v.src, IP6_S);
    assert.deepEqual(v.dst, IP6_D);
    assert.equal(v.dstIsMulticast, false);
    assert.equal(toHex(v.payload), '8000505c424200076162636465666768');
    // at an offset inside the frame
    const f = new Ipv6View(ETH_IPV6_ECHO_REQUEST, ETH);
    assert.equal(f.flowLabel, 0x12345);
    assert.deepEqual(f.dst, IP6_D);
    assert.equal(f.payload.length, 16);
  });

  it('parse: the golden UDP and echo packets', () => {
    assert.deepEqual(parseIpv6(UDP_PKT), UDP_REPR);
    assert.deepEqual(parseIpv6(ECHO_PKT), ECHO_REPR);
    assert.equal(toHex(ipv6Payload(UDP_PKT)), 'c0009c40000d044768656c6c6f');
    assert.equal(ipv6HeaderLen(), 40);
  });

  it('construct: emit writes exactly 40 bytes equal to the golden headers into a 0xa5 canary', () => {
    for (const [repr, pkt] of [[UDP_REPR, UDP_PKT], [ECHO_REPR, ECHO_PKT]] as const) {
      const out = canary(48);
      emitIpv6(repr, out);
      assert.equal(toHex(out.subarray(0, 40)), toHex(pkt.subarray(0, 40)));
      assert.ok(out.subarray(40).every((x) => x === 0xa5));
    }
  });

  it('a longer buffer (link padding) is fine: the packet stops at 40 + payload length', () => {
    const padded = new Uint8Array(UDP_PKT.length + 7);
    padded.set(UDP_PKT);
    assert.deepEqual(parseIpv6(padded), UDP_REPR);
    assert.equal(ipv6Payload(padded).length, 13);
    assert.equal(new Ipv6View(padded).payload.length, 13);
  });

  it('every truncated length is a fault, never a throw', () => {
    for (let n = 0; n < UDP_PKT.length; n++) {
      const r = parseIpv6(UDP_PKT.subarray(0, n));
      assert.equal(r, n < IPV6_HEADER_LEN ? 'truncated' : 'bad-length', `n=${n}`);
      assert.equal(checkIpv6(UDP_PKT.subarray(0, n)), r);
    }
  });

  it('version other than 6 is malformed; a multicast source fails validateIpv6 (RFC 4291 §2.7) but not checkIpv6', () => {
    for (const ver of [0, 4, 15]) assert.equal(parseIpv6(with_(UDP_PKT, (b) => wr8(b, 0, ver << 4))), 'malformed');
    const mcastSrc = with_(UDP_PKT, (b) => b.set(IPV6_ALL_NODES, 8));
    assert.equal(checkIpv6(mcastSrc), undefined);
    assert.equal(validateIpv6(mcastSrc), 'malformed');
    assert.equal(parseIpv6(mcastSrc), 'malformed');
    assert.equal(validateIpv6(UDP_PKT), undefined);
  });

  it('payload length beyond the buffer is bad-length; a header-only packet is valid', () => {
    assert.equal(parseIpv6(with_(UDP_PKT, (b) => wr16(b, 4, 14))), 'bad-length');
    assert.equal(parseIpv6(with_(UDP_PKT, (b) => wr16(b, 4, 0xffff))), 'bad-length');
    const r = parseIpv6(with_(UDP_PKT.subarray(0, 40), (b) => wr16(b, 4, 0)));
    assert.ok(!isFault(r));
    assert.equal(r.payloadLen, 0);
  });

  it('parseIpv6Quoted: the invoking packet in an ICMPv6 error may be cut short', () => {
    const quote = ETH_ICMPV6_PORT_UNREACHABLE.subarray(ETH_IP6 + 8);
    assert.deepEqual(parseIpv6Quoted(quote), UDP_REPR);
    assert.deepEqual(parseIpv6Quoted(quote.subarray(0, 44)), UDP_REPR, 'payload length beyond the quote');
    assert.equal(parseIpv6(quote.subarray(0, 44)), 'bad-length');
    assert.equal(parseIpv6Quoted(quote.subarray(0, 39)), 'truncated');
    assert.equal(parseIpv6Quoted(with_(quote, (b) => wr8(b, 0, 0x45))), 'malformed');
  });

  it('view setters: traffic class (flow label kept), payload length, next header, hop limit', () => {
    const b = ECHO_PKT.slice();
    const v = new Ipv6View(b);
    v.trafficClass = 0x2e;
    assert.deepEqual([v.version, v.trafficClass, v.flowLabel], [6, 0x2e, 0x12345]);
    v.hopLimit = v.hopLimit - 1;
    v.nextHeader = 59;
    v.payloadLen = 8;
    const r = parseIpv6(b);
    assert.ok(!isFault(r));
    assert.deepEqual([r.dscp, r.ecn, r.flowLabel, r.hopLimit, r.nextHeader, r.payloadLen], [0x0b, 2, 0x12345, 63, 59, 8]);
  });

  it('emit masks field values and refuses caller bugs with RangeError', () => {
    const out = new Uint8Array(40);
    emitIpv6({ ...UDP_REPR, dscp: 0xff, ecn: 7, flowLabel: 0xfffffff, hopLimit: 0x1ff, nextHeader: 0x13a, payloadLen: 0 }, out);
    const r = parseIpv6(out);
    assert.ok(!isFault(r));
    assert.deepEqual([r.dscp, r.ecn, r.flowLabel, r.hopLimit, r.nextHeader], [0x3f, 3, 0xfffff, 0xff, 0x3a]);
    assert.equal(out[0] as number >> 4, 6);
    assert.throws(() => emitIpv6(UDP_REPR, new Uint8Array(39)), RangeError);
    assert.throws(() => emitIpv6({ ...UDP_REPR, src: new Uint8Array(4) }, out), RangeError);
    assert.throws(() => emitIpv6({ ...UDP_REPR, dst: new Uint8Array(15) }, out), RangeError);
    assert.throws(() => emitIpv6({ ...UDP_REPR, payloadLen: 0x10000 }, out), RangeError);
    assert.throws(() => emitIpv6({ ...UDP_REPR, payloadLen: -1 }, out), RangeError);
    assert.throws(() => emitIpv6({ ...UDP_REPR, payloadLen: NaN }, out), RangeError);
    emitIpv6({ ...UDP_REPR, payloadLen: 0xffff }, out);
    assert.equal(rd16(out, 4), 0xffff);
  });

  it('well-known addresses', () => {
    assert.equal(toHex(IPV6_ALL_NODES), 'ff020000000000000000000000000001');
    assert.equal(toHex(IPV6_ALL_ROUTERS), 'ff020000000000000000000000000002');
    assert.equal(toHex(IPV6_ALL_MLDV2_ROUTERS), 'ff020000000000000000000000000016');
  });
});

describe('pseudoHeaderSumV6 (RFC 8200 §8.1)', () => {
  /** Reference: the 40-byte pseudo-header as bytes, summed by onesSum. */
  function reference(src: Uint8Array, dst: Uint8Array, nh: number, len: number): number {
    const p = new Uint8Array(40);
    p.set(src, 0);
    p.set(dst, 16);
    p[32] = len >>> 24;
    p[33] = (len >>> 16) & 0xff;
    p[34] = (len >>> 8) & 0xff;
    p[35] = len & 0xff;
    p[39] = nh;
    return onesSum(p);
  }

  it('verifies the golden UDP datagram and ICMPv6 echo (scapy/tshark checksums)', () => {
    const udp = ipv6Payload(UDP_PKT);
    assert.equal(foldChecksum(onesSum(udp, 0, udp.length, pseudoHeaderSumV6(IP6_S, IP6_D, 17, udp.length))), 0);
    const icmp = ipv6Payload(ECHO_PKT);
    assert.equal(foldChecksum(onesSum(icmp, 0, icmp.length, pseudoHeaderSumV6(IP6_S, IP6_D, 58, icmp.length))), 0);
    // the UDP checksum field itself: recompute with the field zeroed
    const z = with_(udp, (b) => wr16(b, 6, 0));
    assert.equal(foldChecksum(onesSum(z, 0, z.length, pseudoHeaderSumV6(IP6_S, IP6_D, 17, z.length))), 0x0447);
  });

  it('equals the sum over the pseudo-header bytes, 32-bit lengths included', () => {
    const a = hex('ffffffffffffffffffffffffffffffff');
    for (const [s, d, nh, len] of [
      [IP6_S, IP6_D, 17, 13],
      [a, a, 255, 0xffffffff],
      [new Uint8Array(16), new Uint8Array(16), 0, 0],
      [IP6_D, a, 6, 0x12345],
    ] as const) {
      assert.equal(pseudoHeaderSumV6(s, d, nh, len), reference(s, d, nh, len));
    }
  });
});

describe('extension headers (RFC 8200 §4): walkIpv6Extensions', () => {
  it('no extension headers: the upper layer at 40, pointer 6', () => {
    const w = walkIpv6Extensions(UDP_PKT);
    assert.equal(w.verdict, 'ok');
    assert.deepEqual([w.upperProtocol, w.upperOffset, w.upperPointer, w.end, w.headerCount], [17, 40, 6, 53, 0]);
    assert.equal(w.hasFragment, false);
    assert.equal(w.routerAlert, -1);
    assert.equal(w.fault, undefined);
  });

  it('the golden chain: HBH (Router Alert), Dest Options (skippable 0x1e), RH0 with segments left 0, atomic fragment, Dest Options, UDP', () => {
    const w = walkIpv6Extensions(CHAIN_PKT);
    assert.equal(w.verdict, 'ok');
    assert.deepEqual([w.upperProtocol, w.upperOffset, w.upperPointer, w.end, w.headerCount], [17, 96, 88, 107, 5]);
    assert.equal(w.routerAlert, 0);
    assert.deepEqual([w.routingOffset, w.routingType, w.segmentsLeft], [56, 0, 0]);
    assert.deepEqual([w.fragHeaderOffset, w.fragNextHeaderField, w.fragOffset, w.moreFrags, w.fragIdent, w.atomicFragment], [80, 56, 0, false, 0x01020304, true]);
    assert.equal(w.optionType, -1, 'the skipped 0x1e option decides nothing');
    // the UDP datagram at upperOffset verifies with the pseudo-header
    const udp = CHAIN_PKT.subarray(w.upperOffset, w.end);
    assert.equal(foldChecksum(onesSum(udp, 0, udp.length, pseudoHeaderSumV6(IP6_S, IP6_D, 17, udp.length))), 0);
  });

  it('fragments: stops at the Fragment header, with offset, M, id and the field to patch; reassembly verifies', () => {
    const first = ETH_IPV6_FRAGMENT_FIRST.subarray(ETH);
    const last = ETH_IPV6_FRAGMENT_LAST.subarray(ETH);
    const w1 = walkIpv6Extensions(first);
    assert.equal(w1.verdict, 'fragment');
    assert.deepEqual([w1.upperProtocol, w1.upperOffset, w1.upperPointer, w1.end], [17, 48, 40, 80]);
    assert.deepEqual([w1.fragHeaderOffset, w1.fragNextHeaderField, w1.fragOffset, w1.moreFrags, w1.fragIdent, w1.atomicFragment], [40, 6, 0, true, 0xabcdef01, false]);
    const w2 = walkIpv6Extensions(last);
    assert.equal(w2.verdict, 'fragment');
    assert.deepEqual([w2.fragOffset, w2.moreFrags, w2.fragIdent, w2.upperOffset, w2.end], [32, false, 0xabcdef01, 48, 64]);
    // Reassemble as the stack will: fragment data at their offsets.
    const dgram = new Uint8Array(w2.fragOffset + (w2.end - w2.upperOffset));
    dgram.set(first.subarray(w1.upperOffset, w1.end), w1.fragOffset);
    dgram.set(last.subarray(w2.upperOffset, w2.end), w2.fragOffset);
    assert.equal(rd16(dgram, 4), 48, 'UDP length');
    assert.equal(foldChecksum(onesSum(dgram, 0, dgram.length, pseudoHeaderSumV6(IP6_S, IP6_D, 17, dgram.length))), 0);
  });

  it('MLD frames: Hop-by-Hop with Router Alert 0, then ICMPv6 at 48', () => {
    for (const f of [ETH_MLDV2_REPORT, ETH_MLDV1_QUERY]) {
      const w = walkIpv6Extensions(f.subarray(ETH));
      assert.equal(w.verdict, 'ok');
      assert.deepEqual([w.upperProtocol, w.upperOffset, w.upperPointer, w.routerAlert, w.headerCount], [58, 48, 40, 0, 1]);
    }
  });

  it('Hop-by-Hop anywhere but first: Parameter Problem code 1 at the Next Header field naming it (§4.1)', () => {
    const p = chain([dest(), hbh()], 17);
    const w = walkIpv6Extensions(p);
    assert.equal(w.verdict, 'param-problem');
    assert.deepEqual([w.problemCode, w.problemPointer], [Ipv6ParamProblemCode.UNRECOGNIZED_NEXT_HEADER, 40]);
    const p2 = chain([hbh(), hbh()], 17);
    assert.deepEqual([walkIpv6Extensions(p2).verdict, walkIpv6Extensions(p2).problemPointer], ['param-problem', 40]);
  });

  it('unrecognized options by their two high bits (§4.2): skip, drop, Parameter Problem code 2, unless multicast', () => {
    const ok = walkIpv6Extensions(chain([dest(opt(0x1e))], 17));
    assert.equal(ok.verdict, 'ok');
    const cases: [number, Uint8Array, string, number][] = [
      [0x5e, IP6_D, 'drop', Ipv6OptionAction.DISCARD],
      [0x9e, IP6_D, 'param-problem', Ipv6OptionAction.DISCARD_ICMP],
      [0x9e, IPV6_ALL_NODES, 'param-problem', Ipv6OptionAction.DISCARD_ICMP],
      [0xde, IP6_D, 'param-problem', Ipv6OptionAction.DISCARD_ICMP_UNLESS_MULTICAST],
      [0xde, IPV6_ALL_NODES, 'drop', Ipv6OptionAction.DISCARD_ICMP_UNLESS_MULTICAST],
      [0xc2, IP6_D, 'param-problem', Ipv6OptionAction.DISCARD_ICMP_UNLESS_MULTICAST], // Jumbo Payload: unsupported
    ];
    for (const [type, dst, verdict, action] of cases) {
      // a skippable option first, so the pointer is not simply the first option byte
      const p = chain([hbh(), dest(opt(0x1e, 1), opt(type, 3))], 17, new Uint8Array(8), dst);
      const w = walkIpv6Extensions(p);
      assert.equal(w.verdict, verdict, `type ${type.toString(16)}`);
      assert.deepEqual([w.optionType, w.optionAction, w.optionOffset], [type, action, 48 + 2 + 3]);
      if (verdict === 'param-problem') assert.deepEqual([w.problemCode, w.problemPointer], [2, 53]);
      else assert.deepEqual([w.problemCode, w.fault], [-1, 'unsupported']);
    }
  });

  it('Router Alert counts only in Hop-by-Hop and must have length 2', () => {
    assert.equal(walkIpv6Extensions(chain([hbh({ type: 5, data: Uint8Array.of(0, 1) })], 58)).routerAlert, 1);
    const inDest = walkIpv6Extensions(chain([dest({ type: 5, data: Uint8Array.of(0, 1) })], 58));
    assert.deepEqual([inDest.verdict, inDest.routerAlert], ['ok', -1]);
    const bad = walkIpv6Extensions(chain([hbh({ type: 5, data: Uint8Array.of(0, 1, 2, 3) })], 58));
    assert.deepEqual([bad.verdict, bad.fault], ['drop', 'malformed']);
  });

  it('padding: PadN contents must be zero; padding runs longer than 7 bytes are malformed', () => {
    const raw = (opts: string): Uint8Array => packet(60, hex(`11 00 ${opts}` + ' 0000000000000000'));
    assert.equal(walkIpv6Extensions(raw('01 04 00000000')).verdict, 'ok');
    assert.equal(walkIpv6Extensions(raw('00 00 00 00 00 00')).verdict, 'ok', 'six Pad1');
    assert.equal(walkIpv6Extensions(raw('01 04 00000001')).fault, 'malformed', 'nonzero PadN');
    // 16-byte header: 14 bytes of options
    const raw16 = (opts: string): Uint8Array => packet(60, hex(`11 01 ${opts}` + ' 0000000000000000'));
    assert.equal(walkIpv6Extensions(raw16('01 05 0000000000 1e00 01 03 000000')).verdict, 'ok', '7 + option + 5');
    assert.equal(walkIpv6Extensions(raw16('01 0c 000000000000000000000000')).fault, 'malformed', 'PadN of 14');
    assert.equal(walkIpv6Extensions(raw16('00 00 00 00 00 00 00 00 1e04 00000000')).fault, 'malformed', 'eight Pad1');
    assert.equal(walkIpv6Extensions(raw16('01 04 00000000 00 00 1e04 00000000')).fault, 'malformed', 'PadN 6 + Pad1 2');
  });

  it('option encoding: an option running past its header, or no room for the length byte, is malformed', () => {
    const raw = (opts: string): Uint8Array => packet(60, hex(`11 00 ${opts}` + ' 0000000000000000'));
    assert.equal(walkIpv6Extensions(raw('1e 05 0000000000')).fault, 'malformed');
    assert.equal(walkIpv6Extensions(raw('1e 03 000000 1e')).fault, 'malformed');
    assert.equal(walkIpv6Extensions(raw('1e 04 00000000')).verdict, 'ok');
  });

  it('Routing header: segments left 0 is ignored (any type); otherwise Parameter Problem code 0 at the type field (§4.4, RFC 5095)', () => {
    for (const type of [0, 2, 3, 4, 253]) {
      const ign = walkIpv6Extensions(chain([{ kind: 'routing', routingType: type, segmentsLeft: 0, data: new Uint8Array(4) }], 17));
      assert.equal(ign.verdict, 'ok');
      assert.deepEqual([ign.routingOffset, ign.routingType, ign.upperOffset], [40, type, 48]);
      const pp = walkIpv6Extensions(chain([hbh(), { kind: 'routing', routingType: type, segmentsLeft: 1, data: new Uint8Array(20) }], 17));
      assert.equal(pp.verdict, 'param-problem');
      assert.deepEqual([pp.problemCode, pp.problemPointer, pp.segmentsLeft, pp.routingType], [0, 50, 1, type]);
    }
  });

  it('Fragment header checks (§4.5): M with a length not a multiple of 8 → code 0 at 4; beyond 65535 → code 0 at the offset field', () => {
    const frag = (fragOffset: number, moreFrags: boolean, n: number): Uint8Array =>
      chain([{ kind: 'fragment', fragOffset, moreFrags, ident: 7 }], 17, new Uint8Array(n));
    const odd = walkIpv6Extensions(frag(0, true, 12));
    assert.deepEqual([odd.verdict, odd.problemCode, odd.problemPointer, odd.fault], ['param-problem', 0, 4, 'bad-length']);
    assert.equal(walkIpv6Extensions(frag(8, false, 12)).verdict, 'fragment', 'the last fragment may have any length');
    const big = walkIpv6Extensions(frag(65528, false, 16));
    assert.deepEqual([big.verdict, big.problemCode, big.problemPointer], ['param-problem', 0, 42]);
    assert.equal(walkIpv6Extensions(frag(65528, false, 7)).verdict, 'fragment', '65528 + 7 = 65535 fits');
    const atomic = walkIpv6Extensions(frag(0, false, 12));
    assert.deepEqual([atomic.verdict, atomic.atomicFragment, atomic.upperProtocol, atomic.upperOffset], ['ok', true, 17, 48]);
  });

  it('a header running past the packet end is dropped as truncated; a payload length beyond the buffer as bad-length', () => {
    const p = CHAIN_PKT.slice();
    for (let plen = 0; plen < 56; plen++) {
      wr16(p, 4, plen);
      const w = walkIpv6Extensions(p);
      // every header of the golden chain is cut somewhere in 0..55 (the upper layer at 96)
      assert.equal(w.verdict, 'drop', `plen ${plen}`);
      assert.equal(w.fault, 'truncated');
    }
    assert.equal(walkIpv6Extensions(CHAIN_PKT.subarray(0, 100)).fault, 'bad-length');
    assert.equal(walkIpv6Extensions(CHAIN_PKT.subarray(0, 39)).fault, 'truncated');
  });

  it('No Next Header (59) and headers this host does not process (ESP, AH, ...) end the walk as the upper layer', () => {
    const nn = walkIpv6Extensions(chain([dest()], 59));
    assert.deepEqual([nn.verdict, nn.upperProtocol, nn.upperOffset, nn.upperPointer], ['ok', 59, 48, 40]);
    for (const nh of [50, 51, 135, 139, 140, 253, 254]) {
      assert.ok(isIpv6ExtensionHeader(nh));
      const w = walkIpv6Extensions(chain([hbh()], nh));
      assert.deepEqual([w.verdict, w.upperProtocol, w.upperPointer], ['ok', nh, 40]);
    }
    for (const nh of [0, 43, 44, 60]) assert.ok(isIpv6ExtensionHeader(nh));
    for (const nh of [6, 17, 58, 59, 41]) assert.ok(!isIpv6ExtensionHeader(nh));
  });

  it('bounds: at most 8 headers, 8 non-padding options per header, 2048 bytes of chain', () => {
    const many = (n: number): Ipv6ExtHeaderRepr[] => Array.from({ length: n }, () => dest());
    assert.equal(walkIpv6Extensions(chain(many(IPV6_MAX_EXT_HEADERS), 17)).verdict, 'ok');
    const w = walkIpv6Extensions(chain(many(IPV6_MAX_EXT_HEADERS + 1), 17));
    assert.deepEqual([w.verdict, w.fault, w.headerCount], ['drop', 'unsupported', IPV6_MAX_EXT_HEADERS]);
    const opts = (n: number): Ipv6ExtHeaderRepr => dest(...Array.from({ length: n }, () => opt(0x1e, 0)));
    assert.equal(walkIpv6Extensions(chain([opts(IPV6_MAX_EXT_OPTIONS)], 17)).verdict, 'ok');
    assert.equal(walkIpv6Extensions(chain([opts(IPV6_MAX_EXT_OPTIONS + 1)], 17)).fault, 'unsupported');
    // one 2048-byte header (7 options of 255 data bytes + one of 245) is fine; 8 more bytes are not
    const huge = dest(...Array.from({ length: 7 }, () => opt(0x1e, 255)), opt(0x1e, 245));
    assert.equal(ipv6ExtHeaderLen(huge), IPV6_MAX_EXT_CHAIN_LEN);
    assert.equal(walkIpv6Extensions(chain([huge], 17)).verdict, 'ok');
    assert.equal(walkIpv6Extensions(chain([huge, dest()], 17)).fault, 'unsupported');
  });

  it('a reused result object is reset on every walk', () => {
    const w = new Ipv6ExtWalk();
    walkIpv6Extensions(chain([hbh(), dest(opt(0x9e))], 17), w);
    assert.equal(w.verdict, 'param-problem');
    walkIpv6Extensions(ETH_IPV6_FRAGMENT_FIRST.subarray(ETH), w);
    assert.equal(w.verdict, 'fragment');
    assert.equal(walkIpv6Extensions(UDP_PKT, w), w);
    assert.deepEqual({ ...w }, { ...new Ipv6ExtWalk(), end: 53, upperProtocol: 17 });
  });
});

describe('extension headers: emit and parse single headers', () => {
  const GOLDEN_CHAIN: Ipv6ExtHeaderRepr[] = [
    hbh({ type: 5, data: Uint8Array.of(0, 0) }),
    dest({ type: 0x1e, data: Uint8Array.of(0xaa, 0xbb) }),
    { kind: 'routing', routingType: 0, segmentsLeft: 0, data: hex('00000000 20010db8000000000000000000000009') },
    { kind: 'fragment', fragOffset: 0, moreFrags: false, ident: 0x01020304 },
    dest(),
  ];

  it('emitting the golden chain from reprs gives scapy\'s bytes (padding: PadN 0, PadN 4)', () => {
    const p = chain(GOLDEN_CHAIN, 17, hex('04d2 162e 000b 96e4 78797a'));
    assert.equal(toHex(p), toHex(CHAIN_PKT));
  });

  it('parsing each golden header gives the repr, its Next Header and its length', () => {
    let off = 40;
    let type = 0;
    for (const repr of GOLDEN_CHAIN) {
      const r = parseIpv6ExtHeader(type, CHAIN_PKT, off);
      assert.ok(!isFault(r));
      assert.deepEqual(r.repr, repr);
      assert.equal(r.length, ipv6ExtHeaderLen(repr));
      off += r.length;
      type = r.nextHeader;
    }
    assert.deepEqual([off, type], [96, 17]);
  });

  it('parse faults: other types, truncation, options past the header', () => {
    assert.equal(parseIpv6ExtHeader(17, CHAIN_PKT, 40), 'unsupported');
    assert.equal(parseIpv6ExtHeader(0, CHAIN_PKT, 40, 47), 'truncated');
    assert.equal(parseIpv6ExtHeader(44, CHAIN_PKT, 80, 87), 'truncated');
    assert.equal(parseIpv6ExtHeader(60, CHAIN_PKT, 106), 'truncated');
    assert.equal(parseIpv6ExtHeader(60, CHAIN_PKT, -1), 'truncated');
    assert.equal(parseIpv6ExtHeader(60, hex('11 00 1e 05 0000000000'), 0), 'malformed');
    assert.equal(parseIpv6ExtHeader(60, hex('11 00 1e 03 000000 1e'), 0), 'malformed');
  });

  it('Pad1 in the options list is one byte; the fragment offset drops its low 3 bits', () => {
    const out = canary(16);
    assert.equal(emitIpv6ExtHeader(dest({ type: 0, data: new Uint8Array(0) }, opt(0x1e, 0)), 17, out), 8);
    assert.equal(toHex(out.subarray(0, 8)), '1100001e00010100');
    assert.ok(out.subarray(8).every((x) => x === 0xa5));
    emitIpv6ExtHeader({ kind: 'fragment', fragOffset: 0x1237, moreFrags: true, ident: 0xffffffff }, 6, out, 8);
    assert.equal(toHex(out.subarray(8)), '06001231ffffffff');
    // Pad1 as the single padding byte: 2 + 5 = 7 bytes of options
    emitIpv6ExtHeader(dest(opt(0x1e, 3)), 17, out);
    assert.equal(toHex(out.subarray(0, 8)), '11001e0300000000');
    assert.equal(out[7], 0);
  });

  it('emitRouterAlertHopByHop writes the 8 bytes of the MLD frames', () => {
    const out = canary(10);
    assert.equal(emitRouterAlertHopByHop(58, out, 1), 8);
    assert.equal(toHex(out.subarray(1, 9)), toHex(ETH_MLDV2_REPORT.subarray(ETH_IP6, ETH_IP6 + 8)));
    assert.deepEqual([out[0], out[9]], [0xa5, 0xa5]);
    assert.throws(() => emitRouterAlertHopByHop(58, out, 3), RangeError);
  });

  it('emit refuses caller bugs with RangeError', () => {
    assert.throws(() => emitIpv6ExtHeader(dest(), 17, new Uint8Array(7)), RangeError);
    assert.throws(() => emitIpv6ExtHeader(dest(), 17, new Uint8Array(16), 9), RangeError);
    assert.throws(() => emitIpv6ExtHeader(dest(opt(0x1e, 256)), 17, new Uint8Array(300)), RangeError);
    const tooLong = dest(...Array.from({ length: 9 }, () => opt(0x1e, 255)));
    assert.throws(() => emitIpv6ExtHeader(tooLong, 17, new Uint8Array(4096)), RangeError);
  });
});
