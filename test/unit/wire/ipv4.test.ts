// Golden frames: scapy 2.5.0 + tshark 4.0.17 agree on every byte, header checksums
// included (provenance in ./golden.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  IPV4_HEADER_LEN,
  IpProtocol,
  Ipv4View,
  checkIpv4,
  emitIpv4,
  ipv4HeaderLen,
  ipv4Payload,
  isFragment,
  parseIpv4,
  parseIpv4Quoted,
  verifyIpv4Checksum,
  type Ipv4Repr,
} from '../../../src/wire/ipv4.ts';
import { checksumAdjust } from '../../../src/wire/checksum.ts';
import { rd16, toHex, wr16, wr8 } from '../../../src/wire/bytes.ts';
import { isFault } from '../../../src/wire/fault.ts';
import {
  ETH,
  ETH_ICMP_PORT_UNREACHABLE,
  ETH_IPV4_FRAGMENT_FIRST,
  ETH_IPV4_FRAGMENT_LAST,
  ETH_IPV4_OPTIONS_ICMP_ECHO,
  ETH_IPV4_UDP,
  IP_D,
  IP_S,
  canary,
} from './golden.ts';

/** The IPv4 datagram of the golden frame (33 bytes: 20 header + 13 UDP). */
const DGRAM = ETH_IPV4_UDP.subarray(ETH);
const OPT_DGRAM = ETH_IPV4_OPTIONS_ICMP_ECHO.subarray(ETH);

const REPR: Ipv4Repr = {
  dscp: 0,
  ecn: 0,
  ident: 0x1234,
  dontFrag: true,
  moreFrags: false,
  fragOffset: 0,
  ttl: 64,
  protocol: IpProtocol.UDP,
  src: IP_S,
  dst: IP_D,
  options: new Uint8Array(0),
  payloadLen: 13,
};

const OPT_REPR: Ipv4Repr = {
  dscp: 46,
  ecn: 0,
  ident: 7,
  dontFrag: false,
  moreFrags: false,
  fragOffset: 0,
  ttl: 1,
  protocol: IpProtocol.ICMP,
  src: IP_S,
  dst: IP_D,
  options: Uint8Array.of(0x01, 0x07, 0x07, 0x04, 0xc0, 0x00, 0x02, 0x09), // NOP, Record Route
  payloadLen: 16,
};

const with_ = (b: Uint8Array, f: (x: Uint8Array) => void): Uint8Array => {
  const c = b.slice();
  f(c);
  return c;
};
/** Rewrites the header checksum so a mutation is tested for its own fault. */
const refill = (b: Uint8Array): Uint8Array => {
  new Ipv4View(b).fillChecksum();
  return b;
};

describe('IPv4 (RFC 791)', () => {
  it('deconstruct: view fields of the golden UDP datagram', () => {
    assert.equal(checkIpv4(DGRAM), undefined);
    const v = new Ipv4View(DGRAM);
    assert.equal(v.version, 4);
    assert.equal(v.headerLen, 20);
    assert.equal(v.dscp, 0);
    assert.equal(v.ecn, 0);
    assert.equal(v.totalLen, 33);
    assert.equal(v.ident, 0x1234);
    assert.equal(v.dontFrag, true);
    assert.equal(v.moreFrags, false);
    assert.equal(v.fragOffset, 0);
    assert.equal(v.ttl, 64);
    assert.equal(v.protocol, 17);
    assert.equal(v.checksum, 0x3c5c);
    assert.deepEqual(v.src, IP_S);
    assert.deepEqual(v.dst, IP_D);
    assert.equal(v.options.length, 0);
    assert.equal(v.payload.length, 13);
    assert.ok(v.verifyChecksum());
  });

  it('parse: the golden datagram and the one with NOP + Record Route options', () => {
    assert.deepEqual(parseIpv4(DGRAM), REPR);
    assert.deepEqual(parseIpv4(OPT_DGRAM), OPT_REPR);
    assert.equal(ipv4Payload(OPT_DGRAM)[0], 8, 'payload starts after the 28-byte header (ICMP echo request)');
    assert.equal(new Ipv4View(OPT_DGRAM).headerLen, 28);
  });

  it('construct: emit writes exactly the header (checksum included) into a 0xa5 canary buffer', () => {
    for (const [repr, golden] of [[REPR, DGRAM], [OPT_REPR, OPT_DGRAM]] as const) {
      const hl = ipv4HeaderLen(repr);
      const out = canary(hl + 10);
      emitIpv4(repr, out);
      assert.equal(toHex(out.subarray(0, hl)), toHex(golden.subarray(0, hl)));
      assert.ok(out.subarray(hl).every((x) => x === 0xa5), 'nothing written beyond the header');
    }
    assert.equal(ipv4HeaderLen(REPR), 20);
    assert.equal(ipv4HeaderLen(OPT_REPR), 28);
  });

  it('emit pads options to a multiple of 4 with EOL (0)', () => {
    const repr = { ...REPR, options: Uint8Array.of(0x94, 0x04, 0x00, 0x00, 0x01) }; // Router Alert + NOP
    assert.equal(ipv4HeaderLen(repr), 28);
    const out = canary(30);
    emitIpv4(repr, out);
    assert.equal(toHex(out.subarray(20, 28)), '9404000001000000');
    assert.deepEqual([out[28], out[29]], [0xa5, 0xa5]);
    const back = parseIpv4(out.subarray(0, 28 + 0), true);
    assert.equal(back, 'bad-length', 'total length counts the 13-byte payload we did not supply');
    const full = new Uint8Array(28 + 13);
    emitIpv4(repr, full);
    const r = parseIpv4(full);
    assert.ok(!isFault(r));
    assert.equal(toHex(r.options), '9404000001000000');
  });

  it('a buffer longer than the total length (Ethernet padding) is fine; the payload stops at the total length', () => {
    const padded = new Uint8Array(46);
    padded.set(DGRAM);
    padded.fill(0xee, DGRAM.length);
    assert.deepEqual(parseIpv4(padded), REPR);
    assert.equal(ipv4Payload(padded).length, 13);
    assert.equal(new Ipv4View(padded).payload.length, 13);
  });

  it('fragments (scapy fragment(), reassembled by tshark): flags, byte offsets, isFragment', () => {
    const first = parseIpv4(ETH_IPV4_FRAGMENT_FIRST.subarray(ETH));
    const last = parseIpv4(ETH_IPV4_FRAGMENT_LAST.subarray(ETH));
    assert.ok(!isFault(first) && !isFault(last));
    assert.equal(first.ident, 0xabcd);
    assert.equal(first.moreFrags, true);
    assert.equal(first.fragOffset, 0);
    assert.equal(first.payloadLen, 16);
    assert.equal(last.moreFrags, false);
    assert.equal(last.fragOffset, 16);
    assert.equal(last.payloadLen, 8);
    assert.ok(isFragment(first) && isFragment(last));
    assert.ok(!isFragment(REPR));
  });

  it('every truncated length is a fault, never a throw', () => {
    for (const d of [DGRAM, OPT_DGRAM]) {
      for (let n = 0; n < d.length; n++) {
        const r = parseIpv4(d.subarray(0, n));
        assert.ok(isFault(r), `n=${n}`);
        assert.equal(r, n < IPV4_HEADER_LEN ? 'truncated' : 'bad-length', `n=${n}`);
        assert.equal(checkIpv4(d.subarray(0, n)), r);
      }
    }
  });

  it('impossible lengths: IHL < 5, IHL beyond the buffer, total < header, total beyond the buffer', () => {
    for (const ihl of [0, 1, 4]) assert.equal(parseIpv4(with_(DGRAM, (b) => wr8(b, 0, 0x40 | ihl))), 'bad-length', `ihl=${ihl}`);
    assert.equal(parseIpv4(with_(DGRAM, (b) => wr8(b, 0, 0x4f)).subarray(0, 40)), 'bad-length', 'IHL 15 = 60 bytes > 40');
    assert.equal(parseIpv4(with_(DGRAM, (b) => wr16(b, 2, 19))), 'bad-length');
    assert.equal(parseIpv4(with_(OPT_DGRAM, (b) => wr16(b, 2, 27))), 'bad-length', 'total inside the options');
    assert.equal(parseIpv4(with_(DGRAM, (b) => wr16(b, 2, 34))), 'bad-length');
    assert.equal(parseIpv4(with_(DGRAM, (b) => wr16(b, 2, 0xffff))), 'bad-length');
    // A header-only datagram is valid.
    const hdrOnly = refill(with_(DGRAM.subarray(0, 20), (b) => wr16(b, 2, 20)));
    const r = parseIpv4(hdrOnly);
    assert.ok(!isFault(r));
    assert.equal(r.payloadLen, 0);
  });

  it('version other than 4 is malformed', () => {
    for (const ver of [0, 6, 15]) assert.equal(parseIpv4(with_(DGRAM, (b) => wr8(b, 0, (ver << 4) | 5))), 'malformed');
  });

  it('options are checked structurally: lengths must stay inside the header', () => {
    // OPT_DGRAM options area is bytes 20..28: 01 07 07 04 c0 00 02 09.
    const opt = (bytes: number[]): Uint8Array => refill(with_(OPT_DGRAM, (b) => b.set(bytes, 20)));
    assert.ok(!isFault(parseIpv4(opt([0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01]))), 'all NOP');
    assert.ok(!isFault(parseIpv4(opt([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))), 'EOL first: the rest is padding');
    assert.ok(!isFault(parseIpv4(opt([0x44, 0x08, 0x05, 0x00, 0, 0, 0, 0]))), 'one 8-byte option filling the area');
    assert.equal(parseIpv4(opt([0x07, 0x09, 0x04, 0, 0, 0, 0, 0])), 'malformed', 'length past the header');
    assert.equal(parseIpv4(opt([0x07, 0x00, 0, 0, 0, 0, 0, 0])), 'malformed', 'length 0');
    assert.equal(parseIpv4(opt([0x07, 0x01, 0, 0, 0, 0, 0, 0])), 'malformed', 'length 1');
    assert.equal(parseIpv4(opt([0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x94])), 'malformed', 'no room for the length byte');
    assert.equal(parseIpv4(opt([0x94, 0x04, 0x00, 0x00, 0x83, 0x05, 0, 0])), 'malformed', 'second option overruns');
  });

  it('bad checksum is detected; checksumOffload skips the check', () => {
    const bad = with_(DGRAM, (b) => wr16(b, 10, 0x3c5d));
    assert.equal(parseIpv4(bad), 'bad-checksum');
    assert.ok(!verifyIpv4Checksum(bad));
    assert.deepEqual(parseIpv4(bad, true), REPR);
    const flipped = with_(DGRAM, (b) => wr8(b, 15, (b[15] as number) ^ 0x10));
    assert.equal(parseIpv4(flipped), 'bad-checksum');
    // Structural faults still win under offload.
    assert.equal(parseIpv4(with_(DGRAM, (b) => wr8(b, 0, 0x65)), true), 'malformed');
  });

  it('view setters + fillChecksum, and a TTL decrement with checksumAdjust (forwarding path)', () => {
    const b = DGRAM.slice();
    const v = new Ipv4View(b);
    const oldWord = rd16(b, 8);
    v.ttl = v.ttl - 1;
    v.checksum = checksumAdjust(v.checksum, oldWord, rd16(b, 8));
    assert.ok(v.verifyChecksum());
    const r = parseIpv4(b);
    assert.ok(!isFault(r));
    assert.equal(r.ttl, 63);
    v.ident = 0x9999;
    assert.equal(parseIpv4(b), 'bad-checksum');
    v.fillChecksum();
    assert.ok(!isFault(parseIpv4(b)));
  });

  it('parseIpv4Quoted: the quote in an ICMP error (header + 8 bytes; total length beyond the quote)', () => {
    const quote = ETH_ICMP_PORT_UNREACHABLE.subarray(ETH + 20 + 8);
    assert.equal(quote.length, 28);
    assert.equal(parseIpv4(quote), 'bad-length', 'a quote is not a whole datagram');
    const r = parseIpv4Quoted(quote);
    assert.deepEqual(r, REPR);
    assert.equal(parseIpv4Quoted(quote.subarray(0, 19)), 'truncated');
    assert.equal(parseIpv4Quoted(with_(quote, (b) => wr8(b, 0, 0x48))), 'bad-length', 'IHL 8 = 32 bytes > 28');
    assert.equal(parseIpv4Quoted(with_(quote, (b) => wr8(b, 0, 0x46))), 'malformed', 'UDP ports read as an option: c0 00');
    // The quoted checksum is not verified (NATs rewrite quoted addresses).
    assert.deepEqual(parseIpv4Quoted(with_(quote, (b) => wr16(b, 10, 0))), REPR);
  });

  it('emit masks field values and refuses caller bugs with RangeError', () => {
    const out = new Uint8Array(20);
    emitIpv4({ ...REPR, dscp: 0xff, ecn: 7, ttl: 0x1ff, fragOffset: 8 * 0x1fff + 7, payloadLen: 0 }, out);
    const r = parseIpv4(out);
    assert.ok(!isFault(r));
    assert.deepEqual([r.dscp, r.ecn, r.ttl, r.fragOffset], [0x3f, 3, 0xff, 8 * 0x1fff]);
    assert.throws(() => emitIpv4(REPR, new Uint8Array(19)), RangeError);
    assert.throws(() => emitIpv4({ ...REPR, options: new Uint8Array(41) }, new Uint8Array(64)), RangeError);
    assert.throws(() => emitIpv4({ ...REPR, payloadLen: 0xffff - 19 }, out), RangeError);
    assert.throws(() => emitIpv4({ ...REPR, payloadLen: -1 }, out), RangeError);
    assert.throws(() => emitIpv4({ ...REPR, src: new Uint8Array(16) }, out), RangeError);
    emitIpv4({ ...REPR, payloadLen: 0xffff - 20 }, out); // the largest datagram is fine
    assert.equal(rd16(out, 2), 0xffff);
  });
});
