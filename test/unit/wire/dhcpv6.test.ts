/**
 * DHCPv6 codec (RFC 8415, RFC 3646): golden messages read field by field and emitted into
 * a 0xa5 canary, DUIDs, domain names, status text, every fault; and a capture of what we
 * emit (the stateless client's own Information-requests included) dissected by tshark.
 *
 * Provenance of the golden vectors: Debian's scapy 2.5.0 (`/usr/bin/python3`),
 * `bytes(pkt).hex()` of
 *   mac = '02:00:00:00:00:01'; srv = '00:11:22:33:44:55'
 *   INFO_REQUEST = DHCP6_InfoRequest(trid=0x123456)/DHCP6OptClientId(duid=DUID_LL(lladdr=mac))
 *     /DHCP6OptOptReq(reqopts=[23,24,32,83])/DHCP6OptElapsedTime(elapsedtime=0)
 *   REPLY = DHCP6_Reply(trid=0x123456)/DHCP6OptClientId(duid=DUID_LL(lladdr=mac))
 *     /DHCP6OptServerId(duid=DUID_LLT(timeval=0x2a2b2c2d, lladdr=srv))
 *     /DHCP6OptDNSServers(dnsservers=['2001:db8::53','2001:db8:0:1::53'])
 *     /DHCP6OptDNSDomains(dnsdomains=['lan.test','example.org'])
 *     /DHCP6OptInfoRefreshTime(reftime=7200)/DHCP6OptUnknown(optcode=83, data=b'\x00\x00\x0e\x10')
 *   REPLY_STATUS = DHCP6_Reply(trid=0xabcdef)/DHCP6OptServerId(duid=DUID_EN(enterprisenum=32473, id=b'\x01\x02\x03\x04'))
 *     /DHCP6OptStatusCode(statuscode=1, statusmsg=b'no info')/DHCP6OptUnknown(optcode=82, data=b'\x00\x00\x00\x3c')
 *   REPLY_UUID = DHCP6_Reply(trid=1)/DHCP6OptServerId(duid=DUID_UUID(uuid=uuid.UUID('12345678-9abc-def0-1122-334455667788')))
 *     /DHCP6OptClientId(duid=DUID_LLT(hwtype=1, timeval=1, lladdr=mac))/DHCP6OptElapsedTime(elapsedtime=0xffff)
 *     /DHCP6OptUnknown(optcode=7, data=b'\xff')
 * (scapy 2.5 has no class for options 82/83, hence DHCP6OptUnknown), each also written to a
 * pcap behind Ether/IPv6/UDP 546<->547 and dissected by tshark 4.0.17 (`tshark -V`): no
 * malformed packet or expert info; the DUIDs, requested codes, DNS servers, "lan.test." and
 * "example.org.", "Lifetime: 7200" (tshark's name for option 32), UnspecFail "no info",
 * SOL_MAX_RT and INF_MAX_RT as listed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatIPv6, parseIPv6 } from '../../../src/base/ip-address.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { Dhcp6InfoClient } from '../../../src/stack/dhcp/dhcp6-info-client.ts';
import { fromHex, toHex, wr16 } from '../../../src/wire/bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../../../src/wire/checksum.ts';
import {
  checkDhcpv6, DHCPV6_ALL_RELAY_AGENTS_AND_SERVERS, DHCPV6_CLIENT_PORT, DHCPV6_SERVER_PORT, dhcpv6BufferLen, dhcpv6MessageTypeName,
  Dhcpv6MessageType as T, Dhcpv6Option, Dhcpv6StatusCode, Dhcpv6View, duidEquals, duidLen, duidLl, emitDhcpv6, encodeDhcpv6, encodeDuid,
  parseDhcpv6, parseDuid, type Dhcpv6Duid, type Dhcpv6Options, type Dhcpv6Repr,
} from '../../../src/wire/dhcpv6.ts';
import { isFault } from '../../../src/wire/fault.ts';
import { emitIpv6 } from '../../../src/wire/ipv6.ts';
import { skipWithoutTool } from '../../support/system-tool.ts';
import { canary } from './golden.ts';

function hex(text: string): Uint8Array {
  const b = fromHex(text);
  if (b === undefined) throw new Error(`bad hex: ${text.slice(0, 40)}`);
  return b;
}

const MAC = hex('020000000001');
const SRV_MAC = hex('001122334455');
const v6 = (s: string): Uint8Array => parseIPv6(s) as Uint8Array;

const INFO_REQUEST = hex(`
  0b 123456                                 # Information-request, xid 0x123456
  0001 000a 0003 0001 020000000001          # client id: DUID-LL, Ethernet, MAC
  0006 0008 0017 0018 0020 0053             # ORO: 23, 24, 32, 83
  0008 0002 0000                            # elapsed time 0`);
const REPLY = hex(`
  07 123456                                 # Reply
  0001 000a 0003 0001 020000000001          # client id
  0002 000e 0001 0001 2a2b2c2d 001122334455 # server id: DUID-LLT, Ethernet, time, MAC
  0017 0020 20010db8000000000000000000000053 20010db8000000010000000000000053
  0018 0017 03 6c616e 04 74657374 00 07 6578616d706c65 03 6f7267 00
  0020 0004 00001c20                        # information refresh time 7200
  0053 0004 00000e10                        # INF_MAX_RT 3600`);
const REPLY_STATUS = hex(`
  07 abcdef
  0002 000a 0002 00007ed9 01020304          # server id: DUID-EN 32473 (opaque)
  000d 0009 0001 6e6f20696e666f             # status UnspecFail "no info"
  0052 0004 0000003c                        # SOL_MAX_RT 60`);
const REPLY_UUID = hex(`
  07 000001
  0002 0012 0004 123456789abcdef01122334455667788
  0001 000e 0001 0001 00000001 020000000001
  0008 0002 ffff
  0007 0001 ff                              # preference 255 (untyped)`);

const INFO_REQUEST_REPR: Dhcpv6Repr = {
  msgType: T.INFORMATION_REQUEST,
  transactionId: 0x123456,
  options: { clientId: { kind: 'll', hardwareType: 1, linkLayerAddress: MAC }, optionRequest: [23, 24, 32, 83], elapsedTime: 0 },
};
const REPLY_REPR: Dhcpv6Repr = {
  msgType: T.REPLY,
  transactionId: 0x123456,
  options: {
    clientId: { kind: 'll', hardwareType: 1, linkLayerAddress: MAC },
    serverId: { kind: 'llt', hardwareType: 1, time: 0x2a2b2c2d, linkLayerAddress: SRV_MAC },
    dnsServers: [v6('2001:db8::53'), v6('2001:db8:0:1::53')],
    domainList: ['lan.test', 'example.org'],
    informationRefreshTime: 7200,
    infMaxRt: 3600,
  },
};

function repr(buf: Uint8Array): Dhcpv6Repr {
  const r = parseDhcpv6(buf);
  if (isFault(r)) assert.fail(`parse failed: ${r}`);
  return r;
}

/** A message of type `t` (xid 1) with the given raw options appended. */
function msg(optionsHex: string, t: number = T.REPLY): Uint8Array {
  return hex(`${t.toString(16).padStart(2, '0')} 000001 ${optionsHex}`);
}

/** Option `code` with `data` as hex. */
function opt(code: number, data: string): string {
  const d = hex(data);
  return `${code.toString(16).padStart(4, '0')}${d.length.toString(16).padStart(4, '0')}${toHex(d)}`;
}

describe('DHCPv6 codec: golden messages (scapy)', () => {
  it('Information-request: view, repr, emit gives scapy\'s bytes into a canary', () => {
    assert.equal(checkDhcpv6(INFO_REQUEST), undefined);
    const v = new Dhcpv6View(INFO_REQUEST);
    assert.equal(v.msgType, 11);
    assert.equal(v.transactionId, 0x123456);
    assert.equal(v.options.length, INFO_REQUEST.length - 4);
    assert.deepEqual(repr(INFO_REQUEST), INFO_REQUEST_REPR);
    assert.equal(dhcpv6BufferLen(INFO_REQUEST_REPR), INFO_REQUEST.length);
    const out = canary(INFO_REQUEST.length + 8);
    assert.equal(emitDhcpv6(INFO_REQUEST_REPR, out), INFO_REQUEST.length);
    assert.equal(toHex(out.subarray(0, INFO_REQUEST.length)), toHex(INFO_REQUEST));
    assert.ok(out.subarray(INFO_REQUEST.length).every((x) => x === 0xa5), 'canary untouched');
    assert.throws(() => emitDhcpv6(INFO_REQUEST_REPR, new Uint8Array(INFO_REQUEST.length - 1)), RangeError);
  });

  it('Reply with DNS servers, domain search list, refresh time and INF_MAX_RT; emit round trip', () => {
    assert.deepEqual(repr(REPLY), REPLY_REPR);
    assert.equal(toHex(encodeDhcpv6(REPLY_REPR)), toHex(REPLY));
    assert.deepEqual(repr(REPLY).options.dnsServers?.map(formatIPv6), ['2001:db8::53', '2001:db8:0:1::53']);
  });

  it('Reply with a DUID-EN server id (opaque), a failure status and SOL_MAX_RT', () => {
    const r = repr(REPLY_STATUS);
    assert.deepEqual(r, {
      msgType: T.REPLY,
      transactionId: 0xabcdef,
      options: {
        serverId: { kind: 'opaque', type: 2, data: hex('00007ed9 01020304') },
        status: { code: Dhcpv6StatusCode.UNSPEC_FAIL, message: 'no info' },
        solMaxRt: 60,
      },
    });
    assert.equal(toHex(encodeDhcpv6(r)), toHex(REPLY_STATUS));
  });

  it('Reply with a DUID-UUID server id, a DUID-LLT client id, elapsed 0xffff and an untyped option; options in another order re-encode in code order', () => {
    const r = repr(REPLY_UUID);
    assert.deepEqual(r.options, {
      serverId: { kind: 'opaque', type: 4, data: hex('123456789abcdef01122334455667788') },
      clientId: { kind: 'llt', hardwareType: 1, time: 1, linkLayerAddress: MAC },
      elapsedTime: 0xffff,
      other: [{ code: Dhcpv6Option.PREFERENCE, data: Uint8Array.of(0xff) }],
    });
    const again = encodeDhcpv6(r);
    assert.equal(again.length, REPLY_UUID.length);
    assert.equal(again[5], Dhcpv6Option.CLIENTID, 'client id first on emit');
    assert.deepEqual(repr(again), r);
  });

  it('constants and names', () => {
    assert.equal(DHCPV6_CLIENT_PORT, 546);
    assert.equal(DHCPV6_SERVER_PORT, 547);
    assert.equal(formatIPv6(DHCPV6_ALL_RELAY_AGENTS_AND_SERVERS), 'ff02::1:2');
    assert.deepEqual(Object.values(T), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert.equal(dhcpv6MessageTypeName(11), 'INFORMATION_REQUEST');
    assert.equal(dhcpv6MessageTypeName(7), 'REPLY');
    assert.equal(dhcpv6MessageTypeName(99), 'TYPE99');
  });
});

describe('DHCPv6 codec: DUIDs', () => {
  it('parse, encode, equality, DUID-LL of a MAC', () => {
    const ll = duidLl(MAC);
    assert.deepEqual(ll, { kind: 'll', hardwareType: 1, linkLayerAddress: MAC });
    assert.equal(toHex(encodeDuid(ll)), '00030001020000000001');
    assert.deepEqual(parseDuid(encodeDuid(ll)), ll);
    const llt: Dhcpv6Duid = { kind: 'llt', hardwareType: 1, time: 0x2a2b2c2d, linkLayerAddress: SRV_MAC };
    assert.equal(toHex(encodeDuid(llt)), '000100012a2b2c2d001122334455');
    assert.equal(duidLen(llt), 14);
    assert.ok(duidEquals(ll, duidLl(MAC.slice())));
    assert.ok(!duidEquals(ll, duidLl(SRV_MAC)));
    assert.ok(!duidEquals(ll, llt));
    assert.ok(!duidEquals(ll, { kind: 'opaque', type: 2, data: hex('0001020000000001') }));
    assert.ok(duidEquals({ kind: 'opaque', type: 4, data: new Uint8Array(16) }, { kind: 'opaque', type: 4, data: new Uint8Array(16) }));
    const mac = MAC.slice();
    const held = duidLl(mac);
    mac[0] = 0xff;
    assert.equal(held.kind === 'll' && held.linkLayerAddress[0], 2, 'duidLl copies the MAC');
  });

  it('lengths: 3..130 bytes; LLT needs 8 and LL 4; unknown types are opaque', () => {
    assert.equal(parseDuid(hex('0003')), 'malformed');
    assert.equal(parseDuid(hex('000300')), 'malformed', 'DUID-LL without its hardware type');
    assert.deepEqual(parseDuid(hex('00030001')), { kind: 'll', hardwareType: 1, linkLayerAddress: new Uint8Array(0) });
    assert.equal(parseDuid(hex('00010001000000')), 'malformed', 'DUID-LLT cut in its time');
    assert.deepEqual(parseDuid(hex('0001000100000000')), { kind: 'llt', hardwareType: 1, time: 0, linkLayerAddress: new Uint8Array(0) });
    assert.deepEqual(parseDuid(hex('ffff00')), { kind: 'opaque', type: 0xffff, data: Uint8Array.of(0) });
    assert.deepEqual(parseDuid(new Uint8Array(130)), { kind: 'opaque', type: 0, data: new Uint8Array(128) });
    assert.equal(parseDuid(new Uint8Array(131)), 'malformed');
    // a bad DUID makes the message malformed
    assert.equal(parseDhcpv6(msg(opt(2, '0003'))), 'malformed');
    assert.equal(parseDhcpv6(msg(opt(1, '0001000100'))), 'malformed');
  });

  it('emit refuses DUIDs that cannot be sent', () => {
    assert.throws(() => encodeDuid({ kind: 'opaque', type: 1, data: new Uint8Array(10) }), RangeError, 'type 1 must be kind llt');
    assert.throws(() => encodeDuid({ kind: 'opaque', type: 3, data: new Uint8Array(10) }), RangeError);
    assert.throws(() => encodeDuid({ kind: 'opaque', type: 2, data: new Uint8Array(0) }), RangeError, 'no identifier');
    assert.throws(() => encodeDuid({ kind: 'opaque', type: 0x10000, data: new Uint8Array(1) }), RangeError);
    assert.throws(() => encodeDuid({ kind: 'll', hardwareType: 1, linkLayerAddress: new Uint8Array(127) }), RangeError, '131 bytes');
    assert.throws(() => encodeDuid({ kind: 'llt', hardwareType: 1, time: -1, linkLayerAddress: MAC }), RangeError);
    assert.throws(() => encodeDhcpv6({ ...INFO_REQUEST_REPR, options: { clientId: { kind: 'opaque', type: 3, data: MAC } } }), RangeError);
  });
});

describe('DHCPv6 codec: options', () => {
  it('domain names: uncompressed, labels up to 63, names up to 255, no dots in labels, root names skipped', () => {
    const names = (data: string): readonly string[] | undefined | 'fault' => {
      const r = parseDhcpv6(msg(opt(24, data)));
      return isFault(r) ? 'fault' : r.options.domainList;
    };
    assert.deepEqual(names(''), []);
    assert.deepEqual(names('01 61 00'), ['a']);
    assert.deepEqual(names('00 01 61 00 00'), ['a'], 'root names skipped');
    assert.deepEqual(names(`3f ${'61'.repeat(63)} 00`), ['a'.repeat(63)]);
    assert.equal(names(`40 ${'61'.repeat(64)} 00`), 'fault', 'label of 64');
    assert.equal(names('01 61 c0 0c'), 'fault', 'compression pointer (RFC 8415 §10)');
    assert.equal(names('01 61'), 'fault', 'no root label');
    assert.equal(names('03 61 2e 62 00'), 'fault', 'a dot inside a label');
    assert.equal(names('05 61 62'), 'fault', 'label past the option');
    // 255 bytes on the wire: 3 x (1 + 63) + (1 + 61) + root
    const l63 = `3f ${'61'.repeat(63)}`;
    const max = `${l63} ${l63} ${l63} 3d ${'62'.repeat(61)} 00`;
    assert.equal((names(max) as string[])[0]?.length, 63 * 3 + 61 + 3);
    assert.equal(names(`${l63} ${l63} ${l63} 3e ${'62'.repeat(62)} 00`), 'fault', '256 bytes');
    // bytes above 0x7f are kept one character per byte
    assert.deepEqual(names('02 e9 ff 00'), ['\u00e9\u00ff']);
    const r: Dhcpv6Repr = { msgType: T.REPLY, transactionId: 1, options: { domainList: ['\u00e9\u00ff', 'x.y'] } };
    assert.deepEqual(repr(encodeDhcpv6(r)), r);
  });

  it('emit refuses unencodable names', () => {
    const e = (name: string): Uint8Array => encodeDhcpv6({ msgType: T.REPLY, transactionId: 1, options: { domainList: [name] } });
    for (const bad of ['', '.', 'a.', '.a', 'a..b', 'x'.repeat(64), 'caf\u0101', `${'a'.repeat(63)}.${'a'.repeat(63)}.${'a'.repeat(63)}.${'a'.repeat(62)}`]) {
      assert.throws(() => e(bad), RangeError, JSON.stringify(bad));
    }
    assert.equal(e(`${'a'.repeat(63)}.${'a'.repeat(63)}.${'a'.repeat(63)}.${'a'.repeat(61)}`).length, 4 + 4 + 255);
  });

  it('status message is UTF-8 (invalid sequences become U+FFFD, a BOM is kept), absent message is empty', () => {
    const r: Dhcpv6Repr = { msgType: T.REPLY, transactionId: 7, options: { status: { code: 5, message: 'café ✓ 𝄞' } } };
    const b = encodeDhcpv6(r);
    assert.equal(b.length, 4 + 4 + 2 + 14);
    assert.deepEqual(repr(b), r);
    assert.deepEqual(repr(msg(opt(13, '0000'))).options.status, { code: 0, message: '' });
    assert.deepEqual(repr(msg(opt(13, '0001 61ff62'))).options.status, { code: 1, message: 'a\ufffdb' });
    assert.deepEqual(repr(msg(opt(13, '0001 efbbbf61'))).options.status, { code: 1, message: '\ufeffa' });
  });

  it('unknown options are kept raw, in order, repeats included; empty typed lists parse', () => {
    const b = msg(`${opt(3, '00000001 00000000 00000000')} ${opt(0xfff0, '')} ${opt(3, '00000002 00000000 00000000')} ${opt(6, '')} ${opt(23, '')}`);
    const r = repr(b);
    assert.deepEqual(r.options, {
      optionRequest: [],
      dnsServers: [],
      other: [
        { code: 3, data: hex('00000001 00000000 00000000') },
        { code: 0xfff0, data: new Uint8Array(0) },
        { code: 3, data: hex('00000002 00000000 00000000') },
      ],
    });
    assert.deepEqual(repr(encodeDhcpv6(r)), r);
  });

  it('every message type but the relay ones parses; the 24-bit transaction id', () => {
    for (let t = 1; t <= 255; t++) {
      const b = msg('', t);
      b.set([0xfe, 0xdc, 0xba], 1);
      const r = parseDhcpv6(b);
      if (t === 12 || t === 13) assert.equal(r, 'unsupported', `type ${t}`);
      else assert.deepEqual(r, { msgType: t, transactionId: 0xfedcba, options: {} }, `type ${t}`);
    }
  });

  it('emit refuses caller bugs', () => {
    const base: Dhcpv6Repr = { msgType: T.REPLY, transactionId: 1, options: {} };
    const o = (options: Dhcpv6Options): Dhcpv6Repr => ({ ...base, options });
    for (const bad of [
      { ...base, msgType: 0 }, { ...base, msgType: 12 }, { ...base, msgType: 13 }, { ...base, msgType: 256 },
      { ...base, transactionId: 0x1000000 }, { ...base, transactionId: -1 }, { ...base, transactionId: 1.5 },
      o({ elapsedTime: 0x10000 }), o({ optionRequest: [0x10000] }), o({ status: { code: -1, message: '' } }),
      o({ dnsServers: [new Uint8Array(4)] }), o({ informationRefreshTime: 2 ** 32 }), o({ solMaxRt: -1 }), o({ infMaxRt: 0.5 }),
      o({ other: [{ code: Dhcpv6Option.DNS_SERVERS, data: new Uint8Array(0) }] }), o({ other: [{ code: 0x10000, data: new Uint8Array(0) }] }),
      o({ other: [{ code: 17, data: new Uint8Array(0x10000) }] }), o({ dnsServers: Array.from({ length: 4096 }, () => new Uint8Array(16)) }),
    ] as Dhcpv6Repr[]) {
      assert.throws(() => encodeDhcpv6(bad), RangeError, JSON.stringify(bad, (_k, v: unknown) => (v instanceof Uint8Array ? v.length : v)));
    }
    assert.equal(encodeDhcpv6(o({ other: [{ code: 17, data: new Uint8Array(0xffff) }] })).length, 4 + 4 + 0xffff);
  });
});

describe('DHCPv6 codec: faults (never thrown)', () => {
  it('under 4 bytes is truncated; type 0 malformed; relay messages unsupported; the bare header parses', () => {
    for (let n = 0; n < 4; n++) assert.equal(parseDhcpv6(INFO_REQUEST.subarray(0, n)), 'truncated', `length ${n}`);
    assert.deepEqual(parseDhcpv6(INFO_REQUEST.subarray(0, 4)), { msgType: 11, transactionId: 0x123456, options: {} });
    assert.equal(parseDhcpv6(msg('', 0)), 'malformed');
    assert.equal(parseDhcpv6(msg('', 12)), 'unsupported');
    assert.equal(checkDhcpv6(msg('', 13)), 'unsupported');
  });

  it('an option header or data cut by the end of the message', () => {
    for (let n = 5; n < INFO_REQUEST.length; n++) {
      const boundary = [4, 18, 30].includes(n);
      const r = parseDhcpv6(INFO_REQUEST.subarray(0, n));
      if (boundary) assert.ok(!isFault(r), `cut at option boundary ${n}`);
      else assert.equal(r, 'malformed', `cut at ${n}`);
    }
  });

  it('typed options of impossible length, and typed options twice', () => {
    for (const bad of [
      opt(6, '00'), opt(6, '001700'), opt(8, ''), opt(8, '000000'), opt(13, '00'), opt(13, ''), opt(23, '20010db8'),
      opt(23, `${'00'.repeat(16)}00`), opt(32, '000000'), opt(82, '0000000000'), opt(83, ''), opt(1, ''), opt(2, '00'),
      `${opt(8, '0000')}${opt(8, '0000')}`, `${opt(23, '')}${opt(23, '')}`, `${opt(2, '0003 0001')}${opt(2, '0003 0001')}`,
    ]) {
      assert.equal(parseDhcpv6(msg(bad)), 'malformed', bad);
    }
  });

  it('the parsed repr is a copy: changing the buffer afterwards changes nothing', () => {
    const b = REPLY.slice();
    const r = repr(b);
    b.fill(0x55);
    assert.deepEqual(r, REPLY_REPR);
    const u = REPLY_UUID.slice();
    const ru = repr(u);
    u.fill(0);
    assert.deepEqual(ru.options.other, [{ code: 7, data: Uint8Array.of(0xff) }]);
  });
});

// ---------------------------------------------------------------- tshark

const CLIENT_LL = v6('fe80::ff:fe00:1');
const SERVER_LL = v6('fe80::211:22ff:fe33:4455');

/** Ethernet + IPv6 + UDP around a DHCPv6 message, checksum computed. */
function frame(m: Uint8Array, toServer: boolean): Uint8Array {
  const src = toServer ? CLIENT_LL : SERVER_LL;
  const dst = toServer ? DHCPV6_ALL_RELAY_AGENTS_AND_SERVERS : CLIENT_LL;
  const udpLen = 8 + m.length;
  const f = new Uint8Array(14 + 40 + udpLen);
  f.set(toServer ? [0x33, 0x33, 0, 1, 0, 2, ...MAC, 0x86, 0xdd] : [...MAC, ...SRV_MAC, 0x86, 0xdd]);
  emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLen: udpLen, nextHeader: 17, hopLimit: toServer ? 1 : 64, src, dst }, f.subarray(14));
  const udp = f.subarray(54);
  udp.set(m, 8);
  wr16(udp, 0, toServer ? DHCPV6_CLIENT_PORT : DHCPV6_SERVER_PORT);
  wr16(udp, 2, toServer ? DHCPV6_SERVER_PORT : DHCPV6_CLIENT_PORT);
  wr16(udp, 4, udpLen);
  const c = foldChecksum(onesSum(udp, 0, udpLen, pseudoHeaderSumV6(src, dst, 17, udpLen)));
  wr16(udp, 6, c === 0 ? 0xffff : c);
  return f;
}

function pcap(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(24 + frames.reduce((n, f) => n + 16 + f.length, 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  let o = 24;
  frames.forEach((f, i) => {
    v.setUint32(o, i, true);
    v.setUint32(o + 8, f.length, true);
    v.setUint32(o + 12, f.length, true);
    out.set(f, o + 16);
    o += 16 + f.length;
  });
  return out;
}

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,14}[a-z0-9]$/);
/** Two labels at least: tshark warns about single-label names ("TLDs are rarely resolvable"). */
const domain = fc.array(label, { minLength: 2, maxLength: 4 }).map((l) => l.join('.'));
const duid: fc.Arbitrary<Dhcpv6Duid> = fc.oneof(
  fc.uint8Array({ minLength: 6, maxLength: 6 }).map((m) => duidLl(m)),
  fc.record({ kind: fc.constant('llt' as const), hardwareType: fc.constant(1), time: fc.nat(), linkLayerAddress: fc.uint8Array({ minLength: 6, maxLength: 6 }) }),
  fc.record({ kind: fc.constant('opaque' as const), type: fc.constant(4), data: fc.uint8Array({ minLength: 16, maxLength: 16 }) }),
);
const addr = fc.uint8Array({ minLength: 14, maxLength: 14 }).map((a) => Uint8Array.of(0x20, 0x01, ...a));
const reply: fc.Arbitrary<Dhcpv6Repr> = fc.record({
  msgType: fc.constant(T.REPLY as number),
  transactionId: fc.integer({ min: 0, max: 0xffffff }),
  options: fc.record(
    {
      clientId: duid,
      serverId: duid,
      status: fc.record({ code: fc.integer({ min: 0, max: 6 }), message: fc.stringMatching(/^[a-zA-Z0-9 .:-]{0,30}$/) }),
      dnsServers: fc.array(addr, { minLength: 1, maxLength: 4 }),
      domainList: fc.array(domain, { minLength: 1, maxLength: 4 }),
      informationRefreshTime: fc.nat(),
      solMaxRt: fc.integer({ min: 60, max: 86400 }),
      infMaxRt: fc.integer({ min: 60, max: 86400 }),
    },
    { requiredKeys: ['serverId'] },
  ).map((o) => ({ ...o })),
}).map((r) => ({ ...r }));

const infoRequest: fc.Arbitrary<Dhcpv6Repr> = fc.record({
  msgType: fc.constant(T.INFORMATION_REQUEST as number),
  transactionId: fc.integer({ min: 0, max: 0xffffff }),
  options: fc.record(
    {
      clientId: duid,
      optionRequest: fc.uniqueArray(fc.constantFrom(23, 24, 32, 82, 83), { minLength: 1 }),
      elapsedTime: fc.integer({ min: 0, max: 0xffff }),
    },
    { requiredKeys: ['optionRequest', 'elapsedTime'] },
  ).map((o) => ({ ...o })),
}).map((r) => ({ ...r }));

describe('DHCPv6 emitter: a capture checked by tshark', () => {
  it('the stateless client\'s Information-requests, random Information-requests and Replies: no malformed packet or expert warning, fields as sent', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', 'the DHCPv6 emitter capture')) return;
    const messages: { m: Uint8Array; toServer: boolean; repr: Dhcpv6Repr }[] = [];
    // The stateless client's own first Information-request and retransmissions (elapsed time > 0, then capped).
    const client = new Dhcp6InfoClient({ rng: new XorShiftRng(7), duid: duidLl(MAC), requestOptions: [Dhcpv6Option.SOL_MAX_RT] });
    client.start(0);
    for (let i = 0; i < 14; i++) {
      const at = client.pollAt() as number;
      for (const m of client.poll(at)) messages.push({ m, toServer: true, repr: repr(m) });
    }
    const fromClient = messages.length;
    for (const r of fc.sample(infoRequest, { seed: 20250606, numRuns: 10 })) messages.push({ m: encodeDhcpv6(r), toServer: true, repr: r });
    for (const r of fc.sample(reply, { seed: 20250607, numRuns: 40 })) messages.push({ m: encodeDhcpv6(r), toServer: false, repr: r });

    const dir = mkdtempSync(join(tmpdir(), 'iotnet-dhcpv6-'));
    const file = join(dir, 'dhcpv6.pcap');
    try {
      writeFileSync(file, pcap(messages.map(({ m, toServer }) => frame(m, toServer))));
      const names = ['dhcpv6.msgtype', 'dhcpv6.xid', 'dhcpv6.elapsed_time', 'dhcpv6.requested_option_code', 'dhcpv6.dns_server', 'dhcpv6.search_list_entry',
        'dhcpv6.status_code', 'dhcpv6.status_msg', 'dhcpv6.duid.bytes', '_ws.expert.severity', 'udp.checksum.status', '_ws.malformed'];
      const r = spawnSync('tshark', ['-r', file, '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=|',
        ...names.flatMap((n) => ['-e', n])], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const rows = r.stdout.split('\n').filter((l) => l.trim() !== '').map((line) => line.split('|').map((x) => (x === '' ? [] : x.split(','))));
      assert.equal(rows.length, messages.length, 'tshark reads every frame');
      rows.forEach((row, i) => {
        const col = (n: string): string[] => row[names.indexOf(n)] ?? [];
        const { repr: sent } = messages[i] as { repr: Dhcpv6Repr };
        const o = sent.options;
        const what = `frame ${i + 1}`;
        assert.deepEqual(col('_ws.malformed'), [], `${what} malformed`);
        assert.deepEqual(col('_ws.expert.severity'), [], `${what} has expert info`);
        assert.deepEqual(col('udp.checksum.status'), ['1'], `${what} checksum`);
        assert.deepEqual(col('dhcpv6.msgtype'), [String(sent.msgType)], what);
        assert.equal(Number(col('dhcpv6.xid')[0]), sent.transactionId, what);
        assert.deepEqual(col('dhcpv6.elapsed_time').map(Number), o.elapsedTime === undefined ? [] : [o.elapsedTime * 10], `${what} (tshark shows ms)`);
        assert.deepEqual(col('dhcpv6.requested_option_code').map(Number), o.optionRequest ?? [], what);
        assert.deepEqual(col('dhcpv6.dns_server'), (o.dnsServers ?? []).map(formatIPv6), what);
        assert.deepEqual(col('dhcpv6.search_list_entry'), (o.domainList ?? []).map((d) => `${d}.`), what);
        assert.deepEqual(col('dhcpv6.status_code').map(Number), o.status === undefined ? [] : [o.status.code], what);
        const duids = [o.clientId, o.serverId].filter((d): d is Dhcpv6Duid => d !== undefined).map((d) => toHex(encodeDuid(d)));
        assert.deepEqual(col('dhcpv6.duid.bytes'), duids, what);
      });
      const elapsed = messages.slice(0, fromClient).map((x) => x.repr.options.elapsedTime ?? -1);
      assert.ok(fromClient === 14 && elapsed[0] === 0 && (elapsed[1] as number) > 0 && elapsed.at(-1) === 0xffff, `the client's elapsed times ${elapsed.join(' ')}`);
    } finally {
      // KEEP_PCAP=1 keeps the capture for a look with `tshark -V`.
      if (process.env.KEEP_PCAP === undefined) rmSync(dir, { recursive: true, force: true });
      else process.stderr.write(`kept ${file}\n`);
    }
  });
});
