// Golden frames: scapy 2.5.0 + tshark 4.0.17 agree on every byte, ICMP checksums
// `[correct]` (provenance in ./golden.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ICMPV4_ERROR_MAX_DATAGRAM_LEN,
  ICMPV4_HEADER_LEN,
  Icmpv4Type,
  Icmpv4Unreachable,
  Icmpv4View,
  checkIcmpv4,
  emitIcmpv4,
  icmpv4BufferLen,
  icmpv4DestUnreachable,
  icmpv4ErrorQuote,
  icmpv4HeaderLen,
  icmpv4TimeExceeded,
  isIcmpv4ErrorType,
  parseIcmpv4,
  type Icmpv4Repr,
} from '../../../src/wire/icmpv4.ts';
import { emitIpv4, parseIpv4, parseIpv4Quoted, IpProtocol } from '../../../src/wire/ipv4.ts';
import { toHex, wr16, wr8 } from '../../../src/wire/bytes.ts';
import { isFault } from '../../../src/wire/fault.ts';
import {
  ETH,
  ETH_IP20,
  ETH_ICMP_ECHO_REQUEST,
  ETH_ICMP_FRAG_NEEDED,
  ETH_ICMP_PORT_UNREACHABLE,
  ETH_ICMP_TIME_EXCEEDED,
  ETH_IPV4_OPTIONS_ICMP_ECHO,
  ETH_IPV4_UDP,
  IP_D,
  IP_S,
  canary,
} from './golden.ts';

const ECHO = ETH_ICMP_ECHO_REQUEST.subarray(ETH_IP20);
const UNREACH = ETH_ICMP_PORT_UNREACHABLE.subarray(ETH_IP20);
const FRAG_NEEDED = ETH_ICMP_FRAG_NEEDED.subarray(ETH_IP20);
const TIME_EXCEEDED = ETH_ICMP_TIME_EXCEEDED.subarray(ETH_IP20);
/** What all three errors quote: the first 28 bytes of the golden UDP datagram. */
const QUOTE = ETH_IPV4_UDP.subarray(ETH, ETH + 28);
const ABC = new TextEncoder().encode('abcdefgh');

const ECHO_REPR: Icmpv4Repr = { kind: 'echo-request', ident: 0x4242, seq: 7, data: ABC };

const with_ = (b: Uint8Array, f: (x: Uint8Array) => void): Uint8Array => {
  const c = b.slice();
  f(c);
  return c;
};

describe('ICMPv4 (RFC 792)', () => {
  it('deconstruct: view fields of the golden echo request', () => {
    assert.equal(checkIcmpv4(ECHO), undefined);
    const v = new Icmpv4View(ECHO);
    assert.equal(v.type, 8);
    assert.equal(v.code, 0);
    assert.equal(v.checksum, 0x2421);
    assert.equal(v.ident, 0x4242);
    assert.equal(v.seq, 7);
    assert.equal(v.rest, 0x42420007);
    assert.deepEqual(v.data, ABC);
    assert.ok(v.verifyChecksum());
  });

  it('parse: echo request (also behind IPv4 options), port unreachable, frag needed, time exceeded', () => {
    assert.deepEqual(parseIcmpv4(ECHO), ECHO_REPR);
    assert.deepEqual(parseIcmpv4(ETH_IPV4_OPTIONS_ICMP_ECHO.subarray(ETH + 28)), ECHO_REPR);
    assert.deepEqual(parseIcmpv4(UNREACH), { kind: 'dest-unreachable', code: Icmpv4Unreachable.PORT, nextHopMtu: 0, data: QUOTE });
    assert.deepEqual(parseIcmpv4(FRAG_NEEDED), { kind: 'dest-unreachable', code: Icmpv4Unreachable.FRAG_NEEDED, nextHopMtu: 1400, data: QUOTE });
    assert.deepEqual(parseIcmpv4(TIME_EXCEEDED), { kind: 'time-exceeded', code: 0, data: QUOTE });
  });

  it('the quoted datagram demultiplexes with parseIpv4Quoted (original header + 8 bytes)', () => {
    const r = parseIcmpv4(UNREACH);
    assert.ok(!isFault(r));
    const q = parseIpv4Quoted(r.data);
    assert.ok(!isFault(q));
    assert.equal(q.protocol, IpProtocol.UDP);
    assert.deepEqual([q.src, q.dst], [IP_S, IP_D]);
    assert.equal(toHex(r.data.subarray(20)), 'c0009c40000d7384', 'the original UDP header');
  });

  it('construct: emit writes exactly header + data (checksum over both) into a 0xa5 canary buffer', () => {
    const cases: [Icmpv4Repr, Uint8Array][] = [
      [ECHO_REPR, ECHO],
      [{ kind: 'dest-unreachable', code: 3, nextHopMtu: 0, data: QUOTE }, UNREACH],
      [{ kind: 'dest-unreachable', code: 4, nextHopMtu: 1400, data: QUOTE }, FRAG_NEEDED],
      [{ kind: 'time-exceeded', code: 0, data: QUOTE }, TIME_EXCEEDED],
    ];
    for (const [repr, golden] of cases) {
      const len = icmpv4BufferLen(repr);
      assert.equal(len, golden.length);
      const out = canary(len + 6);
      emitIcmpv4(repr, out);
      assert.equal(toHex(out.subarray(0, len)), toHex(golden), repr.kind);
      assert.ok(out.subarray(len).every((x) => x === 0xa5));
    }
    assert.equal(icmpv4HeaderLen(ECHO_REPR), ICMPV4_HEADER_LEN);
  });

  it('emit in place: data already at out[8] is not copied (and the result is the same)', () => {
    const out = canary(16);
    out.set(ABC, 8);
    emitIcmpv4({ ...ECHO_REPR, data: out.subarray(8, 16) }, out);
    assert.equal(toHex(out), toHex(ECHO));
  });

  it('echo reply for a request: flip the type (as a responder would) and the checksum follows', () => {
    const req = parseIcmpv4(ECHO);
    assert.ok(!isFault(req) && req.kind === 'echo-request');
    const out = new Uint8Array(icmpv4BufferLen(req));
    emitIcmpv4({ ...req, kind: 'echo-reply' }, out);
    assert.equal(out[0], Icmpv4Type.ECHO_REPLY);
    assert.deepEqual(parseIcmpv4(out), { ...ECHO_REPR, kind: 'echo-reply' });
  });

  it('other types, and echo with a nonzero code, pass through losslessly', () => {
    const cases: Icmpv4Repr[] = [
      { kind: 'other', type: Icmpv4Type.PARAMETER_PROBLEM, code: 0, rest: 0x14000000, data: QUOTE },
      { kind: 'other', type: 13, code: 0, rest: 0x00010002, data: new Uint8Array(12) }, // timestamp
      { kind: 'other', type: 8, code: 1, rest: 0x42420007, data: ABC },
      { kind: 'other', type: 255, code: 255, rest: 0xffffffff, data: new Uint8Array(0) },
    ];
    for (const repr of cases) {
      const out = new Uint8Array(icmpv4BufferLen(repr));
      emitIcmpv4(repr, out);
      assert.deepEqual(parseIcmpv4(out), repr);
    }
  });

  it('unused rest-of-header bytes of errors are ignored on parse (RFC 4884 length byte included)', () => {
    const b = with_(UNREACH, (x) => wr16(x, 4, 0x0007));
    new Icmpv4View(b).fillChecksum();
    assert.deepEqual(parseIcmpv4(b), { kind: 'dest-unreachable', code: 3, nextHopMtu: 0, data: QUOTE });
  });

  it('every truncated length is a fault or a shorter valid message, never a throw', () => {
    for (let n = 0; n < ECHO.length; n++) {
      const r = parseIcmpv4(ECHO.subarray(0, n));
      assert.equal(r, n < 8 ? 'truncated' : 'bad-checksum', `n=${n}`);
    }
    for (let n = 0; n < 8; n++) assert.equal(checkIcmpv4(ECHO.subarray(0, n)), 'truncated');
  });

  it('bad checksum is detected; checksumOffload skips the check', () => {
    const bad = with_(ECHO, (b) => wr8(b, 15, 0x69));
    assert.equal(parseIcmpv4(bad), 'bad-checksum');
    assert.ok(!isFault(parseIcmpv4(bad, true)));
    assert.equal(parseIcmpv4(with_(UNREACH, (b) => wr8(b, 1, 1))), 'bad-checksum', 'the code is covered');
  });

  it('error builders quote per RFC 1812 §4.3.2.3: whole small datagrams, at most 548 bytes of big ones', () => {
    const dgram = ETH_IPV4_UDP.subarray(ETH);
    const r = icmpv4DestUnreachable(Icmpv4Unreachable.PORT, dgram);
    assert.deepEqual(r, { kind: 'dest-unreachable', code: 3, nextHopMtu: 0, data: dgram });
    assert.equal(r.data.buffer, dgram.buffer, 'quote is a subarray, no copy');
    // Ethernet padding beyond the total length is not quoted.
    const padded = new Uint8Array(46);
    padded.set(dgram);
    assert.equal(icmpv4ErrorQuote(padded).length, 33);
    // A 1500-byte datagram: 576 - 20 - 8 = 548 bytes quoted; the error datagram is 576 bytes.
    const big = new Uint8Array(1500);
    emitIpv4({ dscp: 0, ecn: 0, ident: 1, dontFrag: true, moreFrags: false, fragOffset: 0, ttl: 64, protocol: 17, src: IP_S, dst: IP_D, options: new Uint8Array(0), payloadLen: 1480 }, big);
    const te = icmpv4TimeExceeded(0, big);
    assert.equal(te.data.length, 548);
    assert.equal(20 + icmpv4BufferLen(te), ICMPV4_ERROR_MAX_DATAGRAM_LEN);
    assert.equal(icmpv4ErrorQuote(big, 24).length, 544, 'an outer header with options leaves less room');
    // Frag needed carries the MTU; other codes never do.
    assert.equal((icmpv4DestUnreachable(4, big, 1280) as { nextHopMtu: number }).nextHopMtu, 1280);
    assert.equal((icmpv4DestUnreachable(3, big, 1280) as { nextHopMtu: number }).nextHopMtu, 0);
    // A whole error message round-trips and its quote still demultiplexes.
    const out = new Uint8Array(icmpv4BufferLen(te));
    emitIcmpv4(te, out);
    const back = parseIcmpv4(out);
    assert.ok(!isFault(back) && back.kind === 'time-exceeded');
    assert.ok(!isFault(parseIpv4Quoted(back.data)));
    assert.equal(parseIpv4(back.data), 'bad-length', 'a truncated quote is not a datagram');
  });

  it('isIcmpv4ErrorType', () => {
    for (const t of [3, 4, 5, 11, 12]) assert.ok(isIcmpv4ErrorType(t));
    for (const t of [0, 8, 13, 14, 255]) assert.ok(!isIcmpv4ErrorType(t));
  });

  it('emit refuses a buffer too small with RangeError', () => {
    assert.throws(() => emitIcmpv4(ECHO_REPR, new Uint8Array(15)), RangeError);
  });
});
