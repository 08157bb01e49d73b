/**
 * RFC 6775 6LoWPAN-ND options (ARO, 6CO, ABRO) and the RFC 4944 §8 link-layer address
 * option: byte vectors written out from the RFC layouts, round trips, faults on every bad
 * length, the options inside whole NS/NA/RA messages of the icmpv6 codec, and a capture
 * dissected by tshark (fields compared with what we encoded; no malformed packet, no expert
 * error, checksums good).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatIPv6 } from '../../../../src/base/ip-address.ts';
import { PcapLinkType, pcapGlobalHeader, pcapRecord } from '../../../../src/link/pcap-writer.ts';
import { concatBytes, fromHex, toHex } from '../../../../src/wire/bytes.ts';
import { isFault } from '../../../../src/wire/fault.ts';
import { emitIcmpv6, icmpv6BufferLen, parseIcmpv6, parseNdOptions, type Icmpv6Repr, type NdOptions, type NdRawOption } from '../../../../src/wire/icmpv6.ts';
import {
  ABRO_DEFAULT_LIFETIME_MINUTES,
  AroStatus,
  emit6co,
  emitAbro,
  emitAro,
  findLowpanNdOptions,
  LowpanNdOptionType,
  lowpanLinkAddrFromOption,
  lowpanLinkAddrOption,
  lowpanNdRawOptions,
  parse6co,
  parseAbro,
  parseAro,
  SIXCO_LIFETIME_INFINITY,
  type Nd6co,
  type NdAbro,
  type NdAro,
} from '../../../../src/wire/lowpan/nd-options.ts';
import { skipWithoutTool } from '../../../support/system-tool.ts';
import { ip6, ipv6Packet } from './iphc-cases.ts';

/** Hex to bytes (test vectors are well-formed). */
function hex(text: string): Uint8Array {
  const b = fromHex(text);
  assert.ok(b !== undefined, text);
  return b;
}

/** A raw option from the whole option's bytes (type, length, data), as `parseNdOptions` gives it. */
function rawOf(option: Uint8Array): NdRawOption {
  assert.equal(option.length, (option[1] as number) * 8, 'length field matches');
  return { type: option[0] as number, data: option.subarray(2) };
}

/** The whole option (type, length, data) of a raw option. */
function wholeOf(raw: NdRawOption | string): string {
  assert.ok(typeof raw !== 'string', String(raw));
  return toHex(Uint8Array.of(raw.type, (raw.data.length + 2) / 8, ...raw.data));
}

function ok<T>(x: T | string): T {
  assert.ok(typeof x !== 'string', `fault: ${String(x)}`);
  return x as T;
}

const EUI = hex('00124b0001020304');
const HOST_LL = ip6('fe80::212:4b00:102:304');
const HOST_GLOBAL = ip6('2001:db8:1::212:4b00:102:304');
const ROUTER_LL = ip6('fe80::1');
const LBR = ip6('2001:db8::1');

// RFC 6775 §4.1: Type 33 | Length 2 | Status | Reserved (3) | Registration Lifetime | EUI-64
const ARO_VEC = hex('21 02 00 00 0000 0078 00124b0001020304');
const ARO: NdAro = { status: AroStatus.SUCCESS, lifetimeMinutes: 120, eui64: EUI };
// RFC 6775 §4.2: Type 34 | Length | Context Length | Res C CID | Reserved (2) | Valid Lifetime | Prefix
const CO64_VEC = hex('22 02 40 13 0000 003c 20010db800010000');
const CO64: Nd6co = { contextLength: 64, compress: true, cid: 3, lifetimeMinutes: 60, prefix: ip6('2001:db8:1::') };
const CO80_VEC = hex('22 03 50 05 0000 ffff 20010db800020003aabb 000000000000');
const CO80: Nd6co = { contextLength: 80, compress: false, cid: 5, lifetimeMinutes: SIXCO_LIFETIME_INFINITY, prefix: ip6('2001:db8:2:3:aabb::') };
// RFC 6775 §4.3: Type 35 | Length 3 | Version Low | Version High | Valid Lifetime | 6LBR Address
const ABRO_VEC = hex('23 03 0001 0002 05a0 20010db8000000000000000000000001');
const ABRO: NdAbro = { version: 0x0002_0001, lifetimeMinutes: 1440, address: LBR };

describe('RFC 6775 ARO', () => {
  it('encodes the RFC 6775 §4.1 layout byte for byte and parses it back', () => {
    assert.equal(toHex(ARO_VEC), '210200000000007800124b0001020304');
    assert.equal(wholeOf(emitAro(ARO)), toHex(ARO_VEC));
    assert.deepEqual(ok(parseAro(rawOf(ARO_VEC))), ARO);
    const dup = ok(parseAro(rawOf(hex('2102 01 ff ffff 0000 0211223344556677'))));
    assert.deepEqual(dup, { status: AroStatus.DUPLICATE, lifetimeMinutes: 0, eui64: hex('0211223344556677') }, 'reserved bytes ignored');
    assert.equal(ok(parseAro(rawOf(hex('2102 07 00 0000 ffff 0000000000000000')))).status, 7, 'later (RFC 8505) status values kept');
    assert.equal(wholeOf(emitAro({ status: AroStatus.NEIGHBOR_CACHE_FULL, lifetimeMinutes: 0xffff, eui64: EUI })), '210202000000ffff00124b0001020304');
  });

  it('faults: wrong type, short, long, bad fields', () => {
    assert.equal(parseAro({ type: 34, data: ARO_VEC.subarray(2) }), 'malformed');
    assert.equal(parseAro({ type: 33, data: ARO_VEC.subarray(2, 15) }), 'truncated');
    assert.equal(parseAro({ type: 33, data: new Uint8Array(0) }), 'truncated');
    assert.equal(parseAro({ type: 33, data: new Uint8Array(22) }), 'bad-length', 'length 3 (an RFC 8505 EARO with a longer ROVR)');
    assert.equal(emitAro({ ...ARO, eui64: new Uint8Array(6) }), 'bad-length');
    assert.equal(emitAro({ ...ARO, status: 256 }), 'malformed');
    assert.equal(emitAro({ ...ARO, status: -1 }), 'malformed');
    assert.equal(emitAro({ ...ARO, lifetimeMinutes: 0x10000 }), 'malformed');
    assert.equal(emitAro({ ...ARO, lifetimeMinutes: 1.5 }), 'malformed');
  });
});

describe('RFC 6775 6CO', () => {
  it('a /64 context in a length-2 option, a /80 in a length-3 one, per RFC 6775 §4.2', () => {
    assert.equal(wholeOf(emit6co(CO64)), toHex(CO64_VEC));
    assert.deepEqual(ok(parse6co(rawOf(CO64_VEC))), CO64);
    assert.equal(wholeOf(emit6co(CO80)), toHex(CO80_VEC));
    assert.deepEqual(ok(parse6co(rawOf(CO80_VEC))), CO80);
  });

  it('bits beyond the context length are cleared on emit and on parse; lengths 0, 65 and 128', () => {
    const dirty = ip6('2001:db8:abcd:ef12:3456::1');
    assert.equal(wholeOf(emit6co({ contextLength: 36, compress: true, cid: 15, lifetimeMinutes: 0, prefix: dirty })), '2202241f0000000020010db8a0000000');
    const parsed = ok(parse6co(rawOf(hex('2202 24 ff ffff 0001 20010db8abcdef12'))));
    assert.deepEqual(parsed, { contextLength: 36, compress: true, cid: 15, lifetimeMinutes: 1, prefix: ip6('2001:db8:a000::') }, 'Res bits ignored, prefix masked');
    assert.equal(wholeOf(emit6co({ contextLength: 0, compress: false, cid: 0, lifetimeMinutes: 1, prefix: dirty })), '2202000000000001' + '00'.repeat(8));
    assert.equal(wholeOf(emit6co({ contextLength: 65, compress: false, cid: 0, lifetimeMinutes: 1, prefix: dirty })), '2203410000000001' + '20010db8abcdef12' + '00'.repeat(8));
    const full = ip6('2001:db8::dead:beef');
    assert.deepEqual(ok(parse6co(ok(emit6co({ contextLength: 128, compress: true, cid: 1, lifetimeMinutes: 9, prefix: full })))).prefix, full);
  });

  it('a length-3 option with a short context is accepted', () => {
    assert.deepEqual(ok(parse6co(rawOf(hex('2203 30 10 0000 0010 20010db80001 ffff 0000000000000000')))).prefix, ip6('2001:db8:1::'));
  });

  it('faults: wrong type, short, length 4, context length > 128, > 64 in a length-2 option, bad fields', () => {
    assert.equal(parse6co({ type: 33, data: CO64_VEC.subarray(2) }), 'malformed');
    assert.equal(parse6co({ type: 34, data: CO64_VEC.subarray(2, 10) }), 'truncated');
    assert.equal(parse6co({ type: 34, data: new Uint8Array(6) }), 'truncated', 'length 1');
    assert.equal(parse6co({ type: 34, data: new Uint8Array(30) }), 'bad-length', 'length 4');
    assert.equal(parse6co({ type: 34, data: new Uint8Array(18) }), 'bad-length', 'not a whole option');
    assert.equal(parse6co(rawOf(hex('2203 81 00 0000 0001' + '00'.repeat(16)))), 'malformed', '129 bits');
    assert.equal(parse6co(rawOf(hex('2202 41 00 0000 0001' + '00'.repeat(8)))), 'bad-length', '65 bits in 8 bytes');
    assert.equal(emit6co({ ...CO64, contextLength: 129 }), 'malformed');
    assert.equal(emit6co({ ...CO64, cid: 16 }), 'malformed');
    assert.equal(emit6co({ ...CO64, lifetimeMinutes: -1 }), 'malformed');
    assert.equal(emit6co({ ...CO64, prefix: new Uint8Array(8) }), 'bad-length');
  });
});

describe('RFC 6775 ABRO', () => {
  it('Version Low before Version High, per RFC 6775 §4.3', () => {
    assert.equal(wholeOf(emitAbro(ABRO)), toHex(ABRO_VEC));
    assert.deepEqual(ok(parseAbro(rawOf(ABRO_VEC))), ABRO);
    assert.equal(wholeOf(emitAbro({ version: 0xffff_fffe, lifetimeMinutes: 0, address: LBR })), '2303fffeffff0000' + toHex(LBR));
  });

  it('a Valid Lifetime of 0 on the wire is the default 10000 minutes', () => {
    const a = ok(parseAbro(rawOf(hex('2303 0000 0000 0000 20010db8000000000000000000000001'))));
    assert.equal(a.lifetimeMinutes, ABRO_DEFAULT_LIFETIME_MINUTES);
    assert.equal(ABRO_DEFAULT_LIFETIME_MINUTES, 10000);
    assert.equal(a.version, 0);
  });

  it('faults: wrong type, short, long, bad fields', () => {
    assert.equal(parseAbro({ type: 33, data: ABRO_VEC.subarray(2) }), 'malformed');
    assert.equal(parseAbro({ type: 35, data: ABRO_VEC.subarray(2, 16) }), 'truncated', 'length 2');
    assert.equal(parseAbro({ type: 35, data: new Uint8Array(30) }), 'bad-length');
    assert.equal(emitAbro({ ...ABRO, version: 2 ** 32 }), 'malformed');
    assert.equal(emitAbro({ ...ABRO, version: -1 }), 'malformed');
    assert.equal(emitAbro({ ...ABRO, lifetimeMinutes: 70000 }), 'malformed');
    assert.equal(emitAbro({ ...ABRO, address: new Uint8Array(4) }), 'bad-length');
  });
});

describe('RFC 4944 §8 link-layer address option', () => {
  it('EUI-64: 8 bytes + 6 zero bytes (length 2); short: 2 bytes + 4 zero bytes (length 1)', () => {
    assert.equal(toHex(ok(lowpanLinkAddrOption(EUI))), '00124b0001020304000000000000');
    assert.equal(toHex(ok(lowpanLinkAddrOption(hex('beef')))), 'beef00000000');
    assert.equal(lowpanLinkAddrOption(new Uint8Array(6)), 'bad-length');
    assert.equal(lowpanLinkAddrOption(new Uint8Array(0)), 'bad-length');
    assert.equal(toHex(ok(lowpanLinkAddrFromOption(hex('00124b0001020304000000000000')) ?? 'none')), toHex(EUI));
    assert.equal(toHex(ok(lowpanLinkAddrFromOption(hex('beef00000000')) ?? 'none')), 'beef');
    for (const n of [0, 2, 8, 22, 30]) assert.equal(lowpanLinkAddrFromOption(new Uint8Array(n)), undefined, `${n} bytes`);
  });

  it('emitNdOptions writes the same RFC 4944 bytes for the bare address and the padded data', () => {
    const want = '0102' + '00124b0001020304' + '000000000000';
    for (const a of [EUI, ok(lowpanLinkAddrOption(EUI))]) {
      const repr: Icmpv6Repr = { kind: 'router-solicit', options: { sourceLinkAddr: a } };
      const out = new Uint8Array(icmpv6BufferLen(repr));
      emitIcmpv6(repr, out, HOST_LL, ROUTER_LL);
      assert.equal(toHex(out.subarray(8)), want);
    }
    const short: Icmpv6Repr = { kind: 'router-solicit', options: { sourceLinkAddr: hex('beef') } };
    const out = new Uint8Array(icmpv6BufferLen(short));
    emitIcmpv6(short, out, HOST_LL, ROUTER_LL);
    assert.equal(toHex(out.subarray(8)), '0101beef00000000');
  });
});

/** Emits `repr` between `src` and `dst` and parses it back with the icmpv6 codec. */
function throughIcmpv6(repr: Icmpv6Repr, src: Uint8Array, dst: Uint8Array): { bytes: Uint8Array; back: Icmpv6Repr } {
  const bytes = new Uint8Array(icmpv6BufferLen(repr));
  emitIcmpv6(repr, bytes, src, dst);
  return { bytes, back: ok(parseIcmpv6(bytes, src, dst)) };
}

function optionsOf(r: Icmpv6Repr): NdOptions {
  assert.ok('options' in r);
  return r.options;
}

/** The three messages of the registration exchange and the RA, as the tshark test writes them. */
function messages(): { name: string; src: Uint8Array; dst: Uint8Array; repr: Icmpv6Repr }[] {
  const ns: Icmpv6Repr = {
    kind: 'neighbor-solicit', target: HOST_GLOBAL,
    options: { sourceLinkAddr: ok(lowpanLinkAddrOption(EUI)), unknown: ok(lowpanNdRawOptions({ aro: ARO })) },
  };
  const na: Icmpv6Repr = {
    kind: 'neighbor-advert', router: true, solicited: true, override: false, target: HOST_GLOBAL,
    options: { unknown: ok(lowpanNdRawOptions({ aro: { status: AroStatus.DUPLICATE, lifetimeMinutes: 0, eui64: EUI } })) },
  };
  const ra: Icmpv6Repr = {
    kind: 'router-advert', hopLimit: 64, managed: false, other: false, routerPreference: 0, routerLifetime: 1800, reachableTime: 0, retransTimer: 0,
    options: {
      sourceLinkAddr: ok(lowpanLinkAddrOption(hex('0000'))),
      prefixes: [{ prefixLen: 64, onLink: false, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: ip6('2001:db8:1::') }],
      unknown: ok(lowpanNdRawOptions({ contexts: [CO64, CO80], abro: { ...ABRO, lifetimeMinutes: 0 } })),
    },
  };
  return [
    { name: 'NS + SLLAO + ARO', src: HOST_GLOBAL, dst: ROUTER_LL, repr: ns },
    { name: 'NA + ARO duplicate', src: ROUTER_LL, dst: HOST_LL, repr: na },
    { name: 'RA + SLLAO + PIO + 6CO x2 + ABRO', src: ROUTER_LL, dst: ip6('ff02::1'), repr: ra },
  ];
}

describe('6LoWPAN-ND options inside ND messages (icmpv6 codec)', () => {
  it('NS with SLLAO (RFC 4944 form) + ARO: bytes as the RFCs lay them out, found again after parseIcmpv6', () => {
    const [m] = messages();
    assert.ok(m !== undefined);
    const { bytes, back } = throughIcmpv6(m.repr, m.src, m.dst);
    // type 135 | code | checksum | reserved | target | SLLAO (length 2) | ARO (length 2)
    assert.equal(toHex(bytes.subarray(24)), '0102' + toHex(EUI) + '000000000000' + toHex(ARO_VEC));
    assert.equal(back.kind, 'neighbor-solicit');
    const opts = optionsOf(back);
    assert.equal(toHex(lowpanLinkAddrFromOption(opts.sourceLinkAddr ?? new Uint8Array(0)) ?? new Uint8Array(0)), toHex(EUI));
    const found = findLowpanNdOptions(opts);
    assert.deepEqual(found, { aro: ARO, contexts: [], malformed: 0 });
    // and through parseNdOptions directly
    assert.deepEqual(findLowpanNdOptions(ok(parseNdOptions(bytes, 24))).aro, ARO);
  });

  it('NA with ARO status 1 and RA with two 6COs and an ABRO', () => {
    const [, na, ra] = messages();
    assert.ok(na !== undefined && ra !== undefined);
    assert.deepEqual(findLowpanNdOptions(optionsOf(throughIcmpv6(na.repr, na.src, na.dst).back)), {
      aro: { status: AroStatus.DUPLICATE, lifetimeMinutes: 0, eui64: EUI }, contexts: [], malformed: 0,
    });
    const { bytes, back } = throughIcmpv6(ra.repr, ra.src, ra.dst);
    assert.equal(toHex(bytes.subarray(bytes.length - 16 - 24 - 24)), toHex(concatBytes([CO64_VEC, CO80_VEC, hex('2303 0001 0002 0000'), LBR])));
    const found = findLowpanNdOptions(optionsOf(back));
    assert.deepEqual(found, { contexts: [CO64, CO80], abro: { ...ABRO, lifetimeMinutes: ABRO_DEFAULT_LIFETIME_MINUTES }, malformed: 0 });
    assert.equal(toHex(lowpanLinkAddrFromOption(optionsOf(back).sourceLinkAddr ?? new Uint8Array(0)) ?? new Uint8Array(0)), '0000');
  });

  it('findLowpanNdOptions: bad ones skipped and counted, first ARO/ABRO kept, other types ignored', () => {
    const options: NdOptions = {
      unknown: [
        { type: 14, data: new Uint8Array(6) }, // Nonce: not ours
        { type: LowpanNdOptionType.ARO, data: new Uint8Array(22) },
        rawOf(ARO_VEC),
        rawOf(hex('2102 01 00 0000 0001 0000000000000000')),
        rawOf(hex('2202 41 00 0000 0001' + '00'.repeat(8))),
        rawOf(CO64_VEC),
        { type: LowpanNdOptionType.SIXCO, data: new Uint8Array(2) },
        rawOf(CO80_VEC),
        { type: LowpanNdOptionType.ABRO, data: new Uint8Array(14) },
        rawOf(ABRO_VEC),
        rawOf(hex('2303 0000 0000 0000' + '00'.repeat(16))),
      ],
    };
    assert.deepEqual(findLowpanNdOptions(options), { aro: ARO, contexts: [CO64, CO80], abro: ABRO, malformed: 4 });
    assert.deepEqual(findLowpanNdOptions({}), { contexts: [], malformed: 0 });
  });

  it('lowpanNdRawOptions: order ARO, 6COs, ABRO; the first fault otherwise', () => {
    const raws = ok(lowpanNdRawOptions({ abro: ABRO, contexts: [CO80, CO64], aro: ARO }));
    assert.deepEqual(raws.map((r) => r.type), [33, 34, 34, 35]);
    assert.deepEqual(ok(lowpanNdRawOptions({})), []);
    assert.equal(lowpanNdRawOptions({ aro: ARO, contexts: [{ ...CO64, cid: 99 }] }), 'malformed');
    assert.equal(lowpanNdRawOptions({ abro: { ...ABRO, address: new Uint8Array(0) } }), 'bad-length');
  });

  it('truncated and oversized data of every size: a fault or a value, never a throw', () => {
    for (let n = 0; n <= 40; n++) {
      const data = new Uint8Array(n).fill(0xff);
      for (const type of [33, 34, 35]) {
        const raw = { type, data };
        const rs = [parseAro(raw), parse6co(raw), parseAbro(raw)];
        for (const r of rs) if (isFault(r)) assert.ok(['malformed', 'truncated', 'bad-length'].includes(r));
      }
      assert.equal(isFault(parseAro({ type: 33, data })), n !== 14);
      assert.equal(isFault(parseAbro({ type: 35, data })), n !== 22);
      assert.equal(isFault(parse6co({ type: 34, data })), true, '0xff context length > 128');
      lowpanLinkAddrFromOption(data);
    }
  });
});

/** tshark fields compared, in this order (`-E occurrence=a`, aggregator `~`). */
const FIELDS = [
  'icmpv6.type', 'icmpv6.checksum.status',
  'icmpv6.opt.src_linkaddr_eui64',
  'icmpv6.opt.aro.status', 'icmpv6.opt.aro.registration_lifetime', 'icmpv6.opt.aro.eui64',
  'icmpv6.opt.6co.context_length', 'icmpv6.opt.6co.flag.c', 'icmpv6.opt.6co.flag.cid', 'icmpv6.opt.6co.valid_lifetime', 'icmpv6.opt.6co.context_prefix',
  'icmpv6.opt.abro.version_low', 'icmpv6.opt.abro.version_high', 'icmpv6.opt.abro.valid_lifetime', 'icmpv6.opt.abro.6lbr_address',
  '_ws.malformed', '_ws.expert.severity', '_ws.expert.message',
] as const;
type Field = (typeof FIELDS)[number];

const colon = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');

/** What tshark should print for each message (`messages()` order); wire values, so the ABRO lifetime 0 stays 0. */
const EXPECTED: Partial<Record<Field, string[]>>[] = [
  {
    'icmpv6.type': ['135'], 'icmpv6.checksum.status': ['1'], 'icmpv6.opt.src_linkaddr_eui64': [colon(EUI)],
    'icmpv6.opt.aro.status': ['0'], 'icmpv6.opt.aro.registration_lifetime': ['120'], 'icmpv6.opt.aro.eui64': [colon(EUI)],
  },
  {
    'icmpv6.type': ['136'], 'icmpv6.checksum.status': ['1'],
    'icmpv6.opt.aro.status': ['1'], 'icmpv6.opt.aro.registration_lifetime': ['0'], 'icmpv6.opt.aro.eui64': [colon(EUI)],
  },
  {
    'icmpv6.type': ['134'], 'icmpv6.checksum.status': ['1'],
    'icmpv6.opt.6co.context_length': ['64', '80'], 'icmpv6.opt.6co.flag.c': ['1', '0'], 'icmpv6.opt.6co.flag.cid': ['3', '5'],
    'icmpv6.opt.6co.valid_lifetime': ['60', '65535'], 'icmpv6.opt.6co.context_prefix': ['2001:db8:1::', '2001:db8:2:3:aabb::'],
    'icmpv6.opt.abro.version_low': ['1'], 'icmpv6.opt.abro.version_high': ['2'], 'icmpv6.opt.abro.valid_lifetime': ['0'],
    'icmpv6.opt.abro.6lbr_address': [formatIPv6(LBR)],
  },
];

describe('6LoWPAN-ND options: a capture checked by tshark', () => {
  it('NS (SLLAO + ARO), NA (ARO duplicate), RA (6CO /64 and /80, ABRO): the values we encoded, nothing malformed', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', 'the RFC 6775 ND option capture')) return;
    const ms = messages();
    const packets = ms.map((m) => {
      const body = new Uint8Array(icmpv6BufferLen(m.repr));
      emitIcmpv6(m.repr, body, m.src, m.dst);
      return ipv6Packet({ src: m.src, dst: m.dst, nextHeader: 58, hopLimit: 255, payload: body });
    });
    const dir = mkdtempSync(join(tmpdir(), 'iotnet-6lowpan-nd-'));
    const file = join(dir, 'nd.pcap');
    try {
      writeFileSync(file, concatBytes([pcapGlobalHeader(PcapLinkType.RAW), ...packets.map((p, i) => pcapRecord(1_700_000_000_000 + i, p))]));
      const r = spawnSync('tshark', ['-r', file, '-n', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=~', '-E', 'separator=|',
        ...FIELDS.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const rows = r.stdout.split('\n').filter((l) => l.trim() !== '').map((line) => line.split('|').map((x) => (x === '' ? [] : x.split('~'))));
      assert.equal(rows.length, packets.length, 'tshark reads every packet');
      rows.forEach((row, i) => {
        const name = ms[i]?.name ?? String(i);
        const got = (f: Field): string[] => (row[FIELDS.indexOf(f)] ?? []).map((x) => (/^0x[0-9a-f]+$/.test(x) ? String(Number(x)) : x));
        assert.deepEqual(got('_ws.malformed'), [], `${name}: malformed`);
        assert.deepEqual(got('_ws.expert.severity').filter((s) => Number(s) >= 0x00600000), [], `${name}: expert warnings/errors: ${got('_ws.expert.message').join('; ')}`);
        const want = EXPECTED[i] ?? {};
        for (const f of FIELDS.slice(0, 15)) assert.deepEqual(got(f), want[f] ?? [], `${name}: ${f}`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
