/**
 * DHCPv4 codec (RFC 2131/2132/3396): golden messages read field by field, emit into a
 * 0xa5 canary, option overload, long options, every fault.
 *
 * Provenance of DISCOVER, OFFER and NAK: Debian's scapy 2.5.0 (`/usr/bin/python3`),
 * `bytes(pkt).hex()` of
 *   mac = bytes.fromhex('020000000001')
 *   BOOTP(op=1, xid=0x1a2b3c4d, secs=3, flags=0x8000, chaddr=mac)/DHCP(options=[('message-type','discover'),
 *     ('hostname', b'iot-1'), ('param_req_list',[1,3,6,12,15,26,28,51,58,59]), ('max_dhcp_size',1500),
 *     ('client_id', b'\x01'+mac), 'end'])
 *   BOOTP(op=2, xid=0x1a2b3c4d, flags=0x8000, yiaddr='192.168.7.10', chaddr=mac)/DHCP(options=[('message-type','offer'),
 *     ('subnet_mask','255.255.255.0'), ('router','192.168.7.1'), ('name_server','192.168.7.1','9.9.9.9'),
 *     ('domain', b'lan.test'), ('interface-mtu', 1400), ('lease_time', 3600), ('server_id','192.168.7.1'),
 *     ('renewal_time',1800), ('rebinding_time',3150), 'end'])
 *   BOOTP(op=2, xid=0x1a2b3c4d, chaddr=mac)/DHCP(options=[('message-type','nak'), ('server_id','192.168.7.1'),
 *     ('error_message', b'wrong network'), 'end'])
 * each written to a pcap and dissected by tshark 4.0.17 (`tshark -V`): no malformed packet,
 * the options as listed. Scapy pads nothing: the bytes end with END; our emit pads with
 * zeros to 300 bytes (RFC 1542 §2.1). Here each vector is written as its first 34 bytes
 * (op .. the 6 MAC bytes of chaddr), the zeros up to the cookie, then cookie and options.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../../src/wire/bytes.ts';
import {
  checkDhcpv4, DHCPV4_FLAG_BROADCAST, DHCPV4_MAGIC_COOKIE, DHCPV4_MIN_LEN, dhcpv4BufferLen, dhcpv4MessageTypeName,
  Dhcpv4MessageType, Dhcpv4View, emitDhcpv4, encodeDhcpv4, parseDhcpv4, type Dhcpv4Repr,
} from '../../../src/wire/dhcpv4.ts';
import { isFault } from '../../../src/wire/fault.ts';
import { canary } from './golden.ts';

function vec(head: string, options: string): Uint8Array {
  const h = fromHex(head) as Uint8Array;
  const o = fromHex(options) as Uint8Array;
  const out = new Uint8Array(236 + o.length);
  out.set(h, 0);
  out.set(o, 236);
  return out;
}

const MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

const DISCOVER = vec(
  '01 01 06 00  1a2b3c4d  0003 8000  00000000 00000000 00000000 00000000  020000000001',
  `63825363
   350101                                   # 53 message type: DISCOVER
   0c05 696f742d31                          # 12 hostname "iot-1"
   370a 0103060c0f1a1c333a3b                # 55 parameter request list
   3902 05dc                                # 57 max message size 1500
   3d07 01 020000000001                     # 61 client id: type 1 + MAC
   ff`,
);
const OFFER = vec(
  '02 01 06 00  1a2b3c4d  0000 8000  00000000 c0a8070a 00000000 00000000  020000000001',
  `63825363
   350102                                   # OFFER
   0104 ffffff00                            # mask
   0304 c0a80701                            # router
   0608 c0a80701 09090909                   # DNS
   0f08 6c616e2e74657374                    # domain "lan.test"
   1a02 0578                                # MTU 1400
   3304 00000e10                            # lease 3600
   3604 c0a80701                            # server id
   3a04 00000708                            # T1 1800
   3b04 00000c4e                            # T2 3150
   ff`,
);
const NAK = vec(
  '02 01 06 00  1a2b3c4d  0000 0000  00000000 00000000 00000000 00000000  020000000001',
  `63825363 350106 3604c0a80701 380d 77726f6e67206e6574776f726b ff`,
);

const DISCOVER_REPR: Dhcpv4Repr = {
  op: 1, htype: 1, chaddr: MAC, hops: 0, xid: 0x1a2b3c4d, secs: 3, flags: DHCPV4_FLAG_BROADCAST,
  ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, sname: '', file: '',
  options: {
    messageType: Dhcpv4MessageType.DISCOVER,
    hostname: 'iot-1',
    parameterRequestList: Uint8Array.of(1, 3, 6, 12, 15, 26, 28, 51, 58, 59),
    maxMessageSize: 1500,
    clientId: Uint8Array.of(1, 2, 0, 0, 0, 0, 1),
  },
};

function repr(buf: Uint8Array): Dhcpv4Repr {
  const r = parseDhcpv4(buf);
  if (isFault(r)) assert.fail(`parse failed: ${r}`);
  return r;
}

function patched(b: Uint8Array, at: number, bytes: number[]): Uint8Array {
  const c = b.slice();
  c.set(bytes, at);
  return c;
}

describe('DHCPv4 codec: golden messages', () => {
  it('DISCOVER: view and repr field by field', () => {
    assert.equal(checkDhcpv4(DISCOVER), undefined);
    const v = new Dhcpv4View(DISCOVER);
    assert.equal(v.op, 1);
    assert.equal(v.htype, 1);
    assert.equal(v.hlen, 6);
    assert.equal(v.hops, 0);
    assert.equal(v.xid, 0x1a2b3c4d);
    assert.equal(v.secs, 3);
    assert.equal(v.flags, 0x8000);
    assert.equal(v.broadcast, true);
    assert.equal(v.ciaddr, 0);
    assert.equal(v.yiaddr, 0);
    assert.equal(v.siaddr, 0);
    assert.equal(v.giaddr, 0);
    assert.deepEqual([...v.chaddr], [2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(v.sname.length, 64);
    assert.equal(v.file.length, 128);
    assert.equal(v.cookie, DHCPV4_MAGIC_COOKIE);
    assert.equal(v.options[0], 53);
    assert.deepEqual(repr(DISCOVER), DISCOVER_REPR);
  });

  it('DISCOVER: emit gives scapy\'s bytes, zero-padded to 300, nothing written past the length', () => {
    assert.equal(dhcpv4BufferLen(DISCOVER_REPR), DHCPV4_MIN_LEN);
    const out = canary(DHCPV4_MIN_LEN + 8);
    assert.equal(emitDhcpv4(DISCOVER_REPR, out), DHCPV4_MIN_LEN);
    assert.equal(toHex(out.subarray(0, DISCOVER.length)), toHex(DISCOVER));
    assert.ok(out.subarray(DISCOVER.length, DHCPV4_MIN_LEN).every((x) => x === 0), 'padding is zero');
    assert.ok(out.subarray(DHCPV4_MIN_LEN).every((x) => x === 0xa5), 'canary untouched');
    assert.throws(() => emitDhcpv4(DISCOVER_REPR, new Uint8Array(299)), RangeError);
  });

  it('OFFER: every typed option; emit round trip', () => {
    const r = repr(OFFER);
    assert.equal(r.op, 2);
    assert.equal(r.yiaddr, ip(192, 168, 7, 10));
    assert.deepEqual(r.options, {
      messageType: Dhcpv4MessageType.OFFER,
      subnetMask: 0xffffff00,
      routers: [ip(192, 168, 7, 1)],
      dnsServers: [ip(192, 168, 7, 1), ip(9, 9, 9, 9)],
      domainName: 'lan.test',
      interfaceMtu: 1400,
      leaseTime: 3600,
      serverId: ip(192, 168, 7, 1),
      renewalTime: 1800,
      rebindingTime: 3150,
    });
    const out = encodeDhcpv4(r);
    assert.equal(toHex(out.subarray(0, OFFER.length)), toHex(OFFER));
    assert.equal(out.length, OFFER.length, '304 bytes: over the 300-byte minimum, no padding');
  });

  it('NAK: message text and server id', () => {
    const r = repr(NAK);
    assert.equal(r.flags, 0);
    assert.deepEqual(r.options, { messageType: Dhcpv4MessageType.NAK, serverId: ip(192, 168, 7, 1), message: 'wrong network' });
    assert.equal(toHex(encodeDhcpv4(r).subarray(0, NAK.length)), toHex(NAK));
  });

  it('message type names', () => {
    assert.equal(dhcpv4MessageTypeName(1), 'DISCOVER');
    assert.equal(dhcpv4MessageTypeName(8), 'INFORM');
    assert.equal(dhcpv4MessageTypeName(13), 'TYPE13');
    assert.equal(dhcpv4MessageTypeName(undefined), 'NONE');
  });
});

describe('DHCPv4 codec: options', () => {
  it('RFC 3396: a 280-byte DNS list is emitted as 252 + 28 bytes (whole addresses) and concatenated back', () => {
    const dns = Array.from({ length: 70 }, (_, i) => ip(10, 0, 1, i));
    const r: Dhcpv4Repr = { ...DISCOVER_REPR, options: { messageType: 5, dnsServers: dns } };
    const b = encodeDhcpv4(r);
    assert.equal(b.length, 240 + 3 + 2 + 252 + 2 + 28 + 1);
    assert.deepEqual([...b.subarray(243, 245)], [6, 252]);
    assert.deepEqual([...b.subarray(245, 249)], [10, 0, 1, 0]);
    assert.deepEqual([...b.subarray(497, 499)], [6, 28], 'second instance of option 6');
    assert.deepEqual([...b.subarray(499, 503)], [10, 0, 1, 63], 'starts with a whole address');
    assert.deepEqual([...b.subarray(499 + 24, 499 + 28)], [10, 0, 1, 69]);
    assert.equal(b[527], 255);
    assert.deepEqual(repr(b).options.dnsServers, dns);
  });

  it('RFC 3396: other long values are split at 255 bytes', () => {
    const data = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
    const b = encodeDhcpv4({ ...DISCOVER_REPR, options: { other: [{ code: 43, data }] } });
    assert.deepEqual([...b.subarray(240, 242)], [43, 255]);
    assert.deepEqual([...b.subarray(497, 499)], [43, 255]);
    assert.deepEqual([...b.subarray(754, 756)], [43, 90]);
    assert.equal(b[846], 255);
    assert.deepEqual(repr(b).options.other, [{ code: 43, data }]);
  });

  it('RFC 2131 §4.1 overload (52 = 3): options field, then file, then sname; split values concatenated in that order', () => {
    const b = vec('02 01 06 00  00000001  0000 0000  00000000 0a000005 00000000 00000000  020000000001', '638253633501053401033c0161ff');
    // file (offset 108): option 60 continued ("b"), then the lease time; sname (offset 44): option 60 again ("c"), END.
    b.set([0x3c, 0x01, 0x62, 0x33, 0x04, 0x00, 0x00, 0x0e, 0x10, 0xff], 108);
    b.set([0x00, 0x3c, 0x01, 0x63, 0xff], 44); // a PAD first
    const r = repr(b);
    assert.equal(r.sname, '');
    assert.equal(r.file, '');
    assert.equal(r.options.leaseTime, 3600);
    assert.deepEqual(r.options.other, [{ code: 60, data: Uint8Array.of(0x61, 0x62, 0x63) }]);
    // Without the overload option the same fields are text.
    const plain = patched(b, 243, [0, 0, 0]);
    const p = repr(plain);
    assert.equal(p.file, '<\x01b3\x04');
    assert.equal(p.sname, '');
    assert.equal(p.options.leaseTime, undefined);
  });

  it('overload values outside 1..3 and an overload of the wrong length are malformed', () => {
    const base = vec('02 01 06 00  00000001  0000 0000  00000000 00000000 00000000 00000000  020000000001', '63825363350105340100ff');
    assert.equal(parseDhcpv4(base), 'malformed');
    assert.equal(parseDhcpv4(patched(base, 243, [52, 1, 4])), 'malformed');
    assert.equal(parseDhcpv4(patched(base, 243, [52, 2, 1, 1])), 'malformed');
  });

  it('unknown options pass through in order; PAD skipped; no END tolerated; trailing NULs of strings dropped', () => {
    const b = vec('01 01 06 00  00000002  0000 0000  00000000 00000000 00000000 00000000  020000000001',
      '63825363 00 00 350103 4d03616263 0c04 686f7374 0000 2b02 0102 0c02 0000 3c00');
    const r = repr(b);
    assert.deepEqual(r.options, {
      messageType: 3,
      hostname: 'host', // "host" + two NULs in a second instance: concatenated, then trimmed
      other: [{ code: 77, data: Uint8Array.of(0x61, 0x62, 0x63) }, { code: 43, data: Uint8Array.of(1, 2) }, { code: 60, data: new Uint8Array(0) }],
    });
    const again = repr(encodeDhcpv4(r));
    assert.deepEqual(again, r);
  });

  it('sname and file: text to the first NUL, one character per byte', () => {
    const r: Dhcpv4Repr = { ...DISCOVER_REPR, sname: 'boot-server', file: 'pxelinux.0\u00ff' };
    const b = encodeDhcpv4(r);
    assert.equal(b[44], 0x62);
    assert.equal(b[108 + 10], 0xff);
    assert.deepEqual(repr(b), r);
    assert.throws(() => encodeDhcpv4({ ...r, sname: 'x'.repeat(65) }), RangeError);
    assert.throws(() => encodeDhcpv4({ ...r, file: '\u0100' }), RangeError);
  });

  it('emit refuses caller bugs: typed or duplicate codes in other, empty lists, MTU < 68, long chaddr, empty client id', () => {
    const o = (options: Dhcpv4Repr['options']): Dhcpv4Repr => ({ ...DISCOVER_REPR, options });
    assert.throws(() => encodeDhcpv4(o({ other: [{ code: 53, data: Uint8Array.of(1) }] })), RangeError);
    assert.throws(() => encodeDhcpv4(o({ other: [{ code: 52, data: Uint8Array.of(1) }] })), RangeError);
    assert.throws(() => encodeDhcpv4(o({ other: [{ code: 60, data: new Uint8Array(0) }, { code: 60, data: new Uint8Array(0) }] })), RangeError);
    assert.throws(() => encodeDhcpv4(o({ routers: [] })), RangeError);
    assert.throws(() => encodeDhcpv4(o({ interfaceMtu: 67 })), RangeError);
    assert.throws(() => encodeDhcpv4(o({ clientId: new Uint8Array(0) })), RangeError);
    assert.throws(() => encodeDhcpv4({ ...DISCOVER_REPR, chaddr: new Uint8Array(17) }), RangeError);
  });
});

describe('DHCPv4 codec: faults (never thrown)', () => {
  it('every length below 240 is truncated', () => {
    for (let n = 0; n < 240; n++) assert.equal(parseDhcpv4(DISCOVER.subarray(0, n)), 'truncated', `length ${n}`);
    assert.ok(!isFault(parseDhcpv4(DISCOVER.subarray(0, 240))), 'the fixed part alone parses (no options, no END)');
  });

  it('bad op, hlen over 16, no magic cookie', () => {
    assert.equal(parseDhcpv4(patched(DISCOVER, 0, [3])), 'malformed');
    assert.equal(parseDhcpv4(patched(DISCOVER, 0, [0])), 'malformed');
    assert.equal(parseDhcpv4(patched(DISCOVER, 2, [17])), 'malformed');
    assert.equal(parseDhcpv4(patched(DISCOVER, 236, [0x63, 0x82, 0x53, 0x64])), 'unsupported');
    const h16 = repr(patched(DISCOVER, 2, [16]));
    assert.equal(h16.chaddr.length, 16);
    const h0 = repr(patched(DISCOVER, 2, [0]));
    assert.equal(h0.chaddr.length, 0);
  });

  it('an option running past the end of its area, or a code without a length byte', () => {
    assert.equal(parseDhcpv4(DISCOVER.subarray(0, DISCOVER.length - 3)), 'malformed', 'client id cut short');
    assert.equal(parseDhcpv4(DISCOVER.subarray(0, 244)), 'malformed');
    assert.equal(parseDhcpv4(DISCOVER.subarray(0, 241)), 'malformed', 'the code of option 53 alone');
  });

  it('typed options of impossible length or value', () => {
    const at = 240;
    const m = (bytes: number[]): Uint8Array => {
      const b = new Uint8Array(240 + bytes.length + 1);
      b.set(DISCOVER.subarray(0, 240));
      b.set(bytes, at);
      b[b.length - 1] = 255;
      return b;
    };
    assert.ok(!isFault(parseDhcpv4(m([53, 1, 1]))));
    for (const bad of [
      [53, 2, 1, 1], [53, 0], [1, 3, 255, 255, 255], [3, 0], [3, 5, 1, 2, 3, 4, 5], [6, 3, 1, 2, 3], [26, 2, 0, 67], [26, 1, 5],
      [51, 2, 0, 1], [54, 5, 1, 2, 3, 4, 5], [57, 1, 2], [58, 0], [59, 8, 0, 0, 0, 0, 0, 0, 0, 0], [61, 0], [50, 3, 1, 2, 3], [28, 2, 1, 2],
    ]) {
      assert.equal(parseDhcpv4(m(bad)), 'malformed', `option ${bad.join(',')}`);
    }
    assert.deepEqual(repr(m([26, 2, 0, 68])).options.interfaceMtu, 68);
    assert.deepEqual(repr(m([12, 0])).options.hostname, '');
    assert.deepEqual(repr(m([55, 0])).options.parameterRequestList, new Uint8Array(0));
  });

  it('the parsed repr is a copy: changing the buffer afterwards changes nothing', () => {
    const b = DISCOVER.slice();
    const r = repr(b);
    b.fill(0x55);
    assert.deepEqual(r, DISCOVER_REPR);
  });
});
