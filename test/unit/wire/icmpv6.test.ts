// Golden frames: scapy 2.5.0 + tshark 4.0.17 agree on every byte, ICMPv6 checksums
// `[correct]` (provenance in ./ipv6-golden.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ICMPV6_ERROR_MAX_QUOTE,
  ICMPV6_HEADER_LEN,
  Icmpv6ParamProblem,
  Icmpv6Type,
  Icmpv6Unreachable,
  Icmpv6View,
  NO_ND_OPTIONS,
  NdOptionType,
  RouterPreference,
  checkIcmpv6,
  checkNdIpFields,
  checkNdOptions,
  emitIcmpv6,
  emitNdOptions,
  findNdOption,
  icmpv6BufferLen,
  icmpv6DestUnreachable,
  icmpv6ErrorAllowed,
  icmpv6ErrorQuote,
  icmpv6PacketTooBig,
  icmpv6ParameterProblem,
  icmpv6TimeExceeded,
  isIcmpv6ErrorType,
  isNdType,
  ndLinkAddr,
  ndOptionsLen,
  parseIcmpv6,
  parseNdOptions,
  validateIcmpv6,
  verifyIcmpv6Checksum,
  type Icmpv6Repr,
  type NdOptions,
} from '../../../src/wire/icmpv6.ts';
import { emitIpv6, parseIpv6Quoted } from '../../../src/wire/ipv6.ts';
import { fromHex, toHex, wr16, wr8 } from '../../../src/wire/bytes.ts';
import { isFault } from '../../../src/wire/fault.ts';
import {
  ETH,
  ETH_ICMPV6_PACKET_TOO_BIG,
  ETH_ICMPV6_PARAM_PROBLEM,
  ETH_ICMPV6_PORT_UNREACHABLE,
  ETH_ICMPV6_TIME_EXCEEDED,
  ETH_IP6,
  ETH_IPV6_ECHO_REPLY,
  ETH_IPV6_ECHO_REQUEST,
  ETH_IPV6_UDP,
  ETH_MLDV2_REPORT,
  ETH_ND_NA,
  ETH_ND_NS,
  ETH_ND_NS_DAD,
  ETH_ND_RA,
  ETH_ND_REDIRECT,
  ETH_ND_RS,
  IP6_ALL_NODES,
  IP6_ALL_ROUTERS,
  IP6_D,
  IP6_ROUTER,
  IP6_S,
  IP6_UNSPECIFIED,
  LL_A,
  LL_B,
  MAC_A,
  MAC_B,
  SNM_A,
  canary,
} from './ipv6-golden.ts';

function hex(text: string): Uint8Array {
  const b = fromHex(text);
  if (b === undefined) throw new Error('bad hex');
  return b;
}

const msg = (frame: Uint8Array): Uint8Array => frame.subarray(ETH_IP6);
const ABC = new TextEncoder().encode('abcdefgh');
/** The invoking packet every golden error quotes: ETH_IPV6_UDP's IPv6 packet. */
const ORIG = ETH_IPV6_UDP.subarray(ETH);
const SNM_B = hex('ff0200000000000000000001ff334455');

interface Case {
  name: string;
  frame: Uint8Array;
  src: Uint8Array;
  dst: Uint8Array;
  repr: Icmpv6Repr;
}

const CASES: Case[] = [
  { name: 'echo request', frame: ETH_IPV6_ECHO_REQUEST, src: IP6_S, dst: IP6_D, repr: { kind: 'echo-request', ident: 0x4242, seq: 7, data: ABC } },
  { name: 'echo reply', frame: ETH_IPV6_ECHO_REPLY, src: IP6_D, dst: IP6_S, repr: { kind: 'echo-reply', ident: 0x4242, seq: 7, data: ABC } },
  { name: 'port unreachable', frame: ETH_ICMPV6_PORT_UNREACHABLE, src: IP6_D, dst: IP6_S, repr: { kind: 'dest-unreachable', code: Icmpv6Unreachable.PORT, data: ORIG } },
  { name: 'packet too big', frame: ETH_ICMPV6_PACKET_TOO_BIG, src: IP6_ROUTER, dst: IP6_S, repr: { kind: 'packet-too-big', mtu: 1280, data: ORIG } },
  { name: 'time exceeded', frame: ETH_ICMPV6_TIME_EXCEEDED, src: IP6_ROUTER, dst: IP6_S, repr: { kind: 'time-exceeded', code: 0, data: ORIG } },
  {
    name: 'parameter problem',
    frame: ETH_ICMPV6_PARAM_PROBLEM,
    src: IP6_D,
    dst: IP6_S,
    repr: { kind: 'parameter-problem', code: Icmpv6ParamProblem.UNRECOGNIZED_NEXT_HEADER, pointer: 6, data: ORIG },
  },
  { name: 'RS', frame: ETH_ND_RS, src: LL_A, dst: IP6_ALL_ROUTERS, repr: { kind: 'router-solicit', options: { sourceLinkAddr: MAC_A } } },
  {
    name: 'RA',
    frame: ETH_ND_RA,
    src: LL_B,
    dst: IP6_ALL_NODES,
    repr: {
      kind: 'router-advert',
      hopLimit: 64,
      managed: false,
      other: true,
      routerPreference: RouterPreference.HIGH,
      routerLifetime: 1800,
      reachableTime: 30000,
      retransTimer: 1000,
      options: {
        sourceLinkAddr: MAC_B,
        mtu: 1500,
        prefixes: [{ prefixLen: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: hex('20010db8000000000000000000000000') }],
        rdnss: [{ lifetime: 600, servers: [hex('20010db8000000000000000000000053'), hex('20010db8000000000000000000000054')] }],
        dnssl: [{ lifetime: 600, domains: ['lan.test', 'iot.test'] }],
      },
    },
  },
  { name: 'NS (DAD)', frame: ETH_ND_NS_DAD, src: IP6_UNSPECIFIED, dst: SNM_A, repr: { kind: 'neighbor-solicit', target: LL_A, options: NO_ND_OPTIONS } },
  { name: 'NS', frame: ETH_ND_NS, src: LL_A, dst: SNM_B, repr: { kind: 'neighbor-solicit', target: LL_B, options: { sourceLinkAddr: MAC_A } } },
  {
    name: 'NA',
    frame: ETH_ND_NA,
    src: LL_B,
    dst: LL_A,
    repr: { kind: 'neighbor-advert', router: true, solicited: true, override: true, target: LL_B, options: { targetLinkAddr: MAC_B } },
  },
  {
    name: 'Redirect',
    frame: ETH_ND_REDIRECT,
    src: LL_B,
    dst: LL_A,
    repr: {
      kind: 'redirect',
      target: hex('fe800000000000000000000000000009'),
      destination: IP6_D,
      options: { targetLinkAddr: hex('001122334499'), redirectedHeader: ORIG.subarray(0, 48) },
    },
  },
];

const with_ = (b: Uint8Array, f: (x: Uint8Array) => void): Uint8Array => {
  const c = b.slice();
  f(c);
  return c;
};

/** `m` (an ND message) with its options replaced by `opts` hex, checksum left stale (parse with offload). */
function withOptions(m: Uint8Array, fixed: number, opts: string): Uint8Array {
  const o = hex(opts);
  const out = new Uint8Array(fixed + o.length);
  out.set(m.subarray(0, fixed));
  out.set(o, fixed);
  return out;
}

describe('ICMPv6 (RFC 4443) and ND (RFC 4861): golden messages', () => {
  it('parse: every golden message field by field', () => {
    for (const c of CASES) {
      assert.equal(checkIcmpv6(msg(c.frame)), undefined, c.name);
      assert.ok(verifyIcmpv6Checksum(msg(c.frame), c.src, c.dst), c.name);
      assert.deepEqual(parseIcmpv6(msg(c.frame), c.src, c.dst), c.repr, c.name);
    }
  });

  it('construct: emit writes exactly the golden bytes (checksum over the pseudo-header) into a 0xa5 canary', () => {
    for (const c of CASES) {
      const len = icmpv6BufferLen(c.repr);
      assert.equal(len, msg(c.frame).length, c.name);
      const out = canary(len + 8);
      emitIcmpv6(c.repr, out, c.src, c.dst);
      assert.equal(toHex(out.subarray(0, len)), toHex(msg(c.frame)), c.name);
      assert.ok(out.subarray(len).every((x) => x === 0xa5), c.name);
    }
  });

  it('the error builders quote the invoking packet and give the golden errors', () => {
    const built: [Icmpv6Repr, Uint8Array, Uint8Array][] = [
      [icmpv6DestUnreachable(Icmpv6Unreachable.PORT, ORIG), ETH_ICMPV6_PORT_UNREACHABLE, IP6_D],
      [icmpv6PacketTooBig(1280, ORIG), ETH_ICMPV6_PACKET_TOO_BIG, IP6_ROUTER],
      [icmpv6TimeExceeded(0, ORIG), ETH_ICMPV6_TIME_EXCEEDED, IP6_ROUTER],
      [icmpv6ParameterProblem(1, 6, ORIG), ETH_ICMPV6_PARAM_PROBLEM, IP6_D],
    ];
    for (const [repr, frame, src] of built) {
      const out = new Uint8Array(icmpv6BufferLen(repr));
      emitIcmpv6(repr, out, src, IP6_S);
      assert.equal(toHex(out), toHex(msg(frame)));
    }
  });

  it('the quoted packet demultiplexes with parseIpv6Quoted', () => {
    const r = parseIcmpv6(msg(ETH_ICMPV6_PORT_UNREACHABLE), IP6_D, IP6_S);
    assert.ok(!isFault(r) && r.kind === 'dest-unreachable');
    const q = parseIpv6Quoted(r.data);
    assert.ok(!isFault(q));
    assert.deepEqual([q.nextHeader, q.src, q.dst], [17, IP6_S, IP6_D]);
  });

  it('view: echo fields, reply in place (type flip + fillChecksum) equals the golden reply', () => {
    const b = msg(ETH_IPV6_ECHO_REQUEST).slice();
    const v = new Icmpv6View(b);
    assert.deepEqual([v.type, v.code, v.checksum, v.ident, v.seq, v.rest], [128, 0, 0x505c, 0x4242, 7, 0x42420007]);
    assert.deepEqual(v.data, ABC);
    assert.ok(v.verifyChecksum(IP6_S, IP6_D));
    assert.equal(v.ndOptionsOffset, -1);
    assert.equal(v.linkAddr(1), undefined);
    v.type = Icmpv6Type.ECHO_REPLY;
    v.fillChecksum(IP6_D, IP6_S);
    assert.equal(toHex(b), toHex(msg(ETH_IPV6_ECHO_REPLY)));
    // a view at an offset into the frame
    const f = new Icmpv6View(ETH_IPV6_ECHO_REQUEST, ETH_IP6);
    assert.ok(f.verifyChecksum(IP6_S, IP6_D));
    assert.equal(f.seq, 7);
  });

  it('view: NS/NA target, NA flags and link-layer address options without building NdOptions', () => {
    const na = new Icmpv6View(msg(ETH_ND_NA));
    assert.deepEqual([na.type, na.router, na.solicited, na.override], [136, true, true, true]);
    assert.deepEqual(na.target, LL_B);
    assert.equal(na.ndOptionsOffset, 24);
    assert.deepEqual(na.linkAddr(NdOptionType.TARGET_LINK_ADDR), MAC_B);
    assert.equal(na.linkAddr(NdOptionType.SOURCE_LINK_ADDR), undefined);
    const ns = new Icmpv6View(ETH_ND_NS, ETH_IP6);
    assert.deepEqual([ns.type, ns.router, ns.solicited, ns.override], [135, false, false, false]);
    assert.deepEqual(ns.target, LL_B);
    assert.deepEqual(ns.linkAddr(NdOptionType.SOURCE_LINK_ADDR), MAC_A);
    assert.equal(new Icmpv6View(msg(ETH_ND_NS_DAD)).linkAddr(1), undefined);
    const ra = msg(ETH_ND_RA);
    assert.equal(findNdOption(ra, 16, NdOptionType.MTU), 24);
    assert.equal(findNdOption(ra, 16, NdOptionType.DNSSL), 104);
    assert.equal(findNdOption(ra, 16, 99), -1);
    assert.deepEqual(ndLinkAddr(ra, 16, NdOptionType.SOURCE_LINK_ADDR), MAC_B);
    assert.equal(findNdOption(hex('01 00 00000000'), 0, 1), -1, 'stops at a zero length');
    assert.equal(findNdOption(hex('01 02 00000000'), 0, 1), -1, 'stops at an overrun');
  });

  it('type predicates', () => {
    for (const t of [0, 1, 4, 127]) assert.ok(isIcmpv6ErrorType(t));
    for (const t of [128, 133, 143, 255]) assert.ok(!isIcmpv6ErrorType(t));
    for (const t of [133, 134, 135, 136, 137]) assert.ok(isNdType(t));
    for (const t of [132, 138, 1]) assert.ok(!isNdType(t));
  });
});

describe('ICMPv6 faults', () => {
  it('fewer than 8 bytes is truncated; a bad checksum is detected unless offloaded', () => {
    const echo = msg(ETH_IPV6_ECHO_REQUEST);
    for (let n = 0; n < ICMPV6_HEADER_LEN; n++) assert.equal(parseIcmpv6(echo.subarray(0, n), IP6_S, IP6_D), 'truncated');
    assert.equal(parseIcmpv6(echo.subarray(0, 12), IP6_S, IP6_D), 'bad-checksum');
    assert.equal(parseIcmpv6(echo, IP6_S, IP6_ALL_NODES), 'bad-checksum', 'the pseudo-header counts');
    const bad = with_(echo, (b) => wr16(b, 2, 0x505d));
    assert.equal(parseIcmpv6(bad, IP6_S, IP6_D), 'bad-checksum');
    assert.equal(validateIcmpv6(bad, IP6_S, IP6_D), 'bad-checksum');
    assert.equal(validateIcmpv6(bad, IP6_S, IP6_D, true), undefined);
    assert.deepEqual(parseIcmpv6(bad, IP6_S, IP6_D, true), CASES[0]?.repr);
  });

  it('echo with a nonzero code and unknown types pass through as other', () => {
    const b = with_(msg(ETH_IPV6_ECHO_REQUEST), (x) => wr8(x, 1, 1));
    assert.deepEqual(parseIcmpv6(b, IP6_S, IP6_D, true), { kind: 'other', type: 128, code: 1, rest: 0x42420007, data: ABC });
    const mld = ETH_MLDV2_REPORT.subarray(62);
    const r = parseIcmpv6(mld, LL_A, hex('ff020000000000000000000000000016'));
    assert.ok(!isFault(r) && r.kind === 'other');
    assert.deepEqual([r.type, r.code, r.rest, r.data.length], [143, 0, 2, mld.length - 8]);
  });

  it('packet too big: the code is ignored on receive and sent as 0', () => {
    const b = with_(msg(ETH_ICMPV6_PACKET_TOO_BIG), (x) => wr8(x, 1, 9));
    assert.deepEqual(parseIcmpv6(b, IP6_ROUTER, IP6_S, true), CASES[3]?.repr);
  });

  it('ND: nonzero code, short fixed part, multicast target or destination are malformed/truncated', () => {
    for (const c of CASES.filter((x) => isNdType(msg(x.frame)[0] as number))) {
      const m = msg(c.frame);
      assert.equal(parseIcmpv6(with_(m, (b) => wr8(b, 1, 1)), c.src, c.dst, true), 'malformed', `${c.name} code`);
      const fixed = new Icmpv6View(m).ndOptionsOffset;
      for (let n = ICMPV6_HEADER_LEN; n < fixed; n++) assert.equal(parseIcmpv6(m.subarray(0, n), c.src, c.dst, true), 'truncated', `${c.name} n=${n}`);
      for (let n = fixed; n < m.length; n++) {
        const cut = parseIcmpv6(m.subarray(0, n), c.src, c.dst, true);
        // options cut at an 8-byte boundary are still a valid (shorter) message
        if ((n - fixed) % 8 !== 0) assert.equal(cut, 'malformed', `${c.name} n=${n}`);
      }
    }
    assert.equal(checkIcmpv6(with_(msg(ETH_ND_NS), (b) => wr8(b, 8, 0xff))), 'malformed', 'NS target multicast');
    assert.equal(checkIcmpv6(with_(msg(ETH_ND_NA), (b) => wr8(b, 8, 0xff))), 'malformed', 'NA target multicast');
    assert.equal(checkIcmpv6(with_(msg(ETH_ND_REDIRECT), (b) => wr8(b, 8, 0xff))), 'malformed', 'Redirect target multicast');
    assert.equal(checkIcmpv6(with_(msg(ETH_ND_REDIRECT), (b) => wr8(b, 24, 0xff))), 'malformed', 'Redirect destination multicast');
  });

  it('ND options: length 0 (§4.6), overruns and impossible lengths of known options are malformed', () => {
    const rs = msg(ETH_ND_RS);
    const bad = [
      '01 00 020000000001', // length 0
      '01 02 020000000001', // overrun
      '01', // no room for the length byte
      '05 02 0000 000005dc 0000000000000000', // MTU of 16 bytes
      '03 03 40c0 00000000 00000000 00000000 0000000000000000', // prefix of 24 bytes
      '03 04 81c0 00000000 00000000 00000000 20010db8000000000000000000000000', // prefix length 129
      '19 02 0000 00000000 00000000 00000000', // RDNSS without an address
      '19 04 0000 00000000' + ' 00'.repeat(24), // RDNSS of even length
      '1f 01 0000 00000000', // DNSSL of 8 bytes
      '1f 02 0000 00000000 40' + ' 61'.repeat(7), // label longer than 63
      '1f 02 0000 00000000 c00c 000000000000', // compression pointer
      '1f 02 0000 00000000 05 6c616e 00 0000', // label past the option
      '1f 02 0000 00000000 03 6c616e 04 746573', // name without its root
      '1f 02 0000 00000000 03 6c2e6e 00 000000', // dot inside a label
    ];
    for (const o of bad) {
      const m = withOptions(rs, 8, o);
      assert.equal(checkNdOptions(m, 8), 'malformed', o);
      assert.equal(parseNdOptions(m, 8), 'malformed', o);
      assert.equal(parseIcmpv6(m, LL_A, IP6_ALL_ROUTERS, true), 'malformed', o);
    }
    // a name of more than 255 bytes
    const long = `1f 22 0000 00000000 ${' 3f'.concat(' 61'.repeat(63)).repeat(4)} 00 ${' 00'.repeat(7)}`;
    assert.equal(checkNdOptions(withOptions(rs, 8, long), 8), 'malformed');
    const fine = `1f 22 0000 00000000 ${' 3f'.concat(' 61'.repeat(63)).repeat(3)} 3d ${' 61'.repeat(61)} 00 ${' 00'.repeat(9)}`;
    assert.equal(checkNdOptions(withOptions(rs, 8, fine), 8), undefined, 'exactly 255 bytes');
  });

  it('ND options: unknown options are skipped and kept; duplicates keep the first; lists keep all; empty DNSSL', () => {
    const rs = msg(ETH_ND_RS);
    const m = withOptions(rs, 8, `
      0e 01 aabbccddeeff                 # unknown 14
      01 01 020000000001                 # SLLA A
      01 01 001122334455                 # SLLA B (ignored)
      05 01 0000 00000500                # MTU 1280
      05 01 0000 000005dc                # MTU 1500 (ignored)
      19 03 0000 ffffffff 20010db8000000000000000000000053
      19 03 0000 00000000 20010db8000000000000000000000054
      1f 02 0000 0000003c 0000000000000000   # DNSSL without names
      01 02 0200000000010000000000000000        # SLLA of 14 bytes (ignored: duplicate)
    `);
    const o = parseNdOptions(m, 8);
    assert.deepEqual(o, {
      sourceLinkAddr: MAC_A,
      mtu: 1280,
      rdnss: [
        { lifetime: 0xffffffff, servers: [hex('20010db8000000000000000000000053')] },
        { lifetime: 0, servers: [hex('20010db8000000000000000000000054')] },
      ],
      dnssl: [{ lifetime: 60, domains: [] }],
      unknown: [{ type: 14, data: hex('aabbccddeeff') }],
    });
    assert.equal(parseNdOptions(rs, 16), NO_ND_OPTIONS);
    assert.equal(parseNdOptions(rs, 8, 100) !== 'malformed', true, 'end clamped to the buffer');
  });
});

describe('ND IP-level checks (checkNdIpFields)', () => {
  it('accepts the golden messages with their addresses and hop limit 255; non-ND types pass', () => {
    for (const c of CASES) assert.equal(checkNdIpFields(msg(c.frame), c.src, c.dst, 255), undefined, c.name);
    assert.equal(checkNdIpFields(msg(ETH_IPV6_ECHO_REQUEST), IP6_S, IP6_D, 1), undefined);
  });

  it('refuses a hop limit other than 255, routers without a link-local source, and the bad DAD/NA forms', () => {
    assert.equal(checkNdIpFields(msg(ETH_ND_NS), LL_A, SNM_B, 254), 'malformed');
    assert.equal(checkNdIpFields(msg(ETH_ND_RA), IP6_ROUTER, IP6_ALL_NODES, 255), 'malformed', 'RA from a global address');
    assert.equal(checkNdIpFields(msg(ETH_ND_REDIRECT), IP6_ROUTER, LL_A, 255), 'malformed', 'Redirect from a global address');
    assert.equal(checkNdIpFields(msg(ETH_ND_RS), IP6_UNSPECIFIED, IP6_ALL_ROUTERS, 255), 'malformed', 'RS from :: with SLLA');
    assert.equal(checkNdIpFields(msg(ETH_ND_RS).subarray(0, 8), IP6_UNSPECIFIED, IP6_ALL_ROUTERS, 255), undefined, 'RS from :: without');
    assert.equal(checkNdIpFields(msg(ETH_ND_NS), IP6_UNSPECIFIED, SNM_B, 255), 'malformed', 'DAD NS with SLLA');
    assert.equal(checkNdIpFields(msg(ETH_ND_NS_DAD), IP6_UNSPECIFIED, LL_A, 255), 'malformed', 'DAD NS to a unicast address');
    assert.equal(checkNdIpFields(msg(ETH_ND_NA), LL_B, IP6_ALL_NODES, 255), 'malformed', 'solicited NA to multicast');
    const unsolicited = with_(msg(ETH_ND_NA), (b) => wr8(b, 4, 0x20));
    assert.equal(checkNdIpFields(unsolicited, LL_B, IP6_ALL_NODES, 255), undefined, 'unsolicited NA to all nodes');
  });
});

describe('ICMPv6 errors: quoting and when to send (RFC 4443 §2.4)', () => {
  function pkt(nh: number, payload: Uint8Array, src: Uint8Array = IP6_S, dst: Uint8Array = IP6_D): Uint8Array {
    const b = new Uint8Array(40 + payload.length);
    emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLen: payload.length, nextHeader: nh, hopLimit: 64, src, dst }, b);
    b.set(payload, 40);
    return b;
  }

  it('the quote stops at the packet end (no link padding) and at 1232 bytes', () => {
    const padded = new Uint8Array(ORIG.length + 9);
    padded.set(ORIG);
    assert.equal(icmpv6ErrorQuote(padded).length, ORIG.length);
    assert.equal(icmpv6ErrorQuote(ORIG.subarray(0, 30)).length, 30);
    const big = pkt(17, new Uint8Array(1400));
    assert.equal(icmpv6ErrorQuote(big).length, ICMPV6_ERROR_MAX_QUOTE);
    assert.equal(ICMPV6_ERROR_MAX_QUOTE, 1232);
    assert.equal(icmpv6ErrorQuote(big).buffer, big.buffer, 'no copy');
    const e = icmpv6PacketTooBig(1280, big);
    assert.equal(40 + icmpv6BufferLen(e), 1280, 'the error packet is exactly the minimum MTU');
  });

  it('allowed for a unicast UDP packet; not about errors or redirects; multicast only for PTB and code 2', () => {
    assert.ok(icmpv6ErrorAllowed(ORIG, 1, 4));
    assert.ok(icmpv6ErrorAllowed(ETH_IPV6_ECHO_REQUEST.subarray(ETH), 4, 1), 'about an echo request');
    assert.ok(!icmpv6ErrorAllowed(ETH_ICMPV6_PORT_UNREACHABLE.subarray(ETH), 4, 0), 'about an error (e.1)');
    assert.ok(!icmpv6ErrorAllowed(ETH_ND_REDIRECT.subarray(ETH), 4, 0), 'about a redirect (e.2)');
    const toGroup = pkt(17, new Uint8Array(8), IP6_S, IP6_ALL_NODES);
    assert.ok(!icmpv6ErrorAllowed(toGroup, 1, 4), 'multicast destination (e.3)');
    assert.ok(icmpv6ErrorAllowed(toGroup, 2, 0), 'PTB exempt');
    assert.ok(icmpv6ErrorAllowed(toGroup, 4, 2), 'unrecognized option exempt');
    assert.ok(!icmpv6ErrorAllowed(toGroup, 4, 1));
    assert.ok(!icmpv6ErrorAllowed(ORIG, 1, 4, true), 'link-layer multicast (e.4, e.5)');
    assert.ok(icmpv6ErrorAllowed(ORIG, 2, 0, true));
    assert.ok(!icmpv6ErrorAllowed(pkt(17, new Uint8Array(8), IP6_UNSPECIFIED), 1, 4), 'source :: (e.6)');
    assert.ok(!icmpv6ErrorAllowed(pkt(17, new Uint8Array(8), IP6_ALL_NODES), 2, 0), 'multicast source (e.6)');
    assert.ok(!icmpv6ErrorAllowed(ORIG.subarray(0, 39), 1, 4), 'not a packet');
    // an ICMPv6 error behind a Hop-by-Hop header is still recognized
    const hbhErr = pkt(0, hex('3a 00 0502 0000 0100 01 04 0000 00000000'));
    assert.ok(!icmpv6ErrorAllowed(hbhErr, 4, 1));
  });
});

describe('ND options emit', () => {
  it('emitNdOptions writes the golden RA options; ndOptionsLen counts them', () => {
    const ra = CASES[7]?.repr as Extract<Icmpv6Repr, { kind: 'router-advert' }>;
    const golden = msg(ETH_ND_RA).subarray(16);
    assert.equal(ndOptionsLen(ra.options), golden.length);
    const out = canary(golden.length + 4);
    assert.equal(emitNdOptions(ra.options, out, 2), golden.length);
    assert.equal(toHex(out.subarray(2, 2 + golden.length)), toHex(golden));
  });

  it('unknown options, long link-layer addresses and redirected headers are zero-padded to 8 bytes', () => {
    const o: NdOptions = { sourceLinkAddr: hex('0011223344556677'), redirectedHeader: hex('6000000000'), unknown: [{ type: 200, data: hex('01') }] };
    const out = new Uint8Array(ndOptionsLen(o));
    emitNdOptions(o, out);
    assert.equal(toHex(out), '0102001122334455667700000000000004020000000000006000000000000000c801010000000000');
    assert.deepEqual(parseNdOptions(out, 0), {
      sourceLinkAddr: hex('00112233445566770000000000'.padEnd(28, '0')),
      redirectedHeader: hex('6000000000000000'),
      unknown: [{ type: 200, data: hex('010000000000') }],
    });
  });

  it('refuses caller bugs with RangeError', () => {
    const bugs: NdOptions[] = [
      { rdnss: [{ lifetime: 1, servers: [] }] },
      { rdnss: [{ lifetime: 1, servers: [new Uint8Array(4)] }] },
      { prefixes: [{ prefixLen: 64, onLink: true, autonomous: true, validLifetime: 1, preferredLifetime: 1, prefix: new Uint8Array(8) }] },
      { dnssl: [{ lifetime: 1, domains: [''] }] },
      { dnssl: [{ lifetime: 1, domains: ['a..b'] }] },
      { dnssl: [{ lifetime: 1, domains: ['x'.repeat(64)] }] },
      { dnssl: [{ lifetime: 1, domains: ['ü.€'] }] },
      { unknown: [{ type: 9, data: new Uint8Array(2039) }] },
    ];
    for (const o of bugs) assert.throws(() => emitNdOptions(o, new Uint8Array(4096)), RangeError, JSON.stringify(o));
    assert.throws(() => emitNdOptions({ mtu: 1500 }, new Uint8Array(7)), RangeError);
    assert.throws(() => emitIcmpv6({ kind: 'neighbor-solicit', target: new Uint8Array(4), options: {} }, new Uint8Array(24), LL_A, LL_B), RangeError);
    assert.throws(() => emitIcmpv6({ kind: 'echo-request', ident: 1, seq: 1, data: ABC }, new Uint8Array(15), LL_A, LL_B), RangeError);
    // a 255-byte name encodes; Latin-1 labels encode one byte per character
    const o: NdOptions = { dnssl: [{ lifetime: 1, domains: [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, 'café.test'] }] };
    const out = new Uint8Array(ndOptionsLen(o));
    emitNdOptions(o, out);
    assert.deepEqual(parseNdOptions(out, 0), o);
  });

  it('emit masks fields: prefix length capped at 128, RA preference 2 bits, NA reserved bits zero', () => {
    const ra: Icmpv6Repr = {
      kind: 'router-advert', hopLimit: 0x140, managed: true, other: false, routerPreference: 7, routerLifetime: 0x10000, reachableTime: -1, retransTimer: 2 ** 32 + 5,
      options: { prefixes: [{ prefixLen: 200, onLink: false, autonomous: true, validLifetime: 0xffffffff, preferredLifetime: 0, prefix: IP6_D }] },
    };
    const out = new Uint8Array(icmpv6BufferLen(ra));
    emitIcmpv6(ra, out, LL_B, IP6_ALL_NODES);
    const r = parseIcmpv6(out, LL_B, IP6_ALL_NODES);
    assert.ok(!isFault(r) && r.kind === 'router-advert');
    assert.deepEqual([r.hopLimit, r.managed, r.other, r.routerPreference, r.routerLifetime, r.reachableTime, r.retransTimer], [0x40, true, false, 3, 0, 0xffffffff, 5]);
    assert.equal(r.options.prefixes?.[0]?.prefixLen, 128);
  });
});
