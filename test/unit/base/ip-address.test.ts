import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatIPv4,
  formatIPv6,
  formatIp,
  ipEquals,
  ipv4Any,
  ipv6Any,
  isBroadcast,
  isLoopback,
  isMulticast,
  isUnspecified,
  parseIPv4,
  parseIPv6,
  parseIp,
} from '../../../src/base/ip-address.ts';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
/** 16 bytes from eight 16-bit groups. */
const v6 = (...groups: number[]): Uint8Array => {
  assert.equal(groups.length, 8);
  return Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
};
const canon6 = (text: string): string | undefined => {
  const b = parseIPv6(text);
  return b === undefined ? undefined : formatIPv6(b);
};

describe('parseIPv4', () => {
  it('accepts strict dotted quads', () => {
    assert.deepEqual(parseIPv4('192.0.2.1'), bytes(192, 0, 2, 1));
    assert.deepEqual(parseIPv4('0.0.0.0'), bytes(0, 0, 0, 0));
    assert.deepEqual(parseIPv4('255.255.255.255'), bytes(255, 255, 255, 255));
    assert.deepEqual(parseIPv4('10.0.100.9'), bytes(10, 0, 100, 9));
  });

  const rejects = [
    '', '256.1.1.1', '1.256.1.1', '1.2.3.256', '999.1.1.1', '01.2.3.4', '1.2.3.00', '1.2.3.04',
    '1.2.3', '1.2', '1', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4\n',
    '0x7f.0.0.1', '0x7f000001', '2130706433', '010.0.0.1', '+1.2.3.4', '-1.2.3.4', '1.2.3.-0', '1e2.1.1.1',
    '1.2.3.4/8', '1.2.3.4:80', '١.٢.٣.٤', '1.2.3.4\u0000', '::1', 'localhost', '0000000001.2.3.4',
  ];
  for (const text of rejects) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseIPv4(text), undefined));
  }
});

describe('parseIPv6', () => {
  it('accepts the RFC 4291 §2.2 forms', () => {
    assert.deepEqual(parseIPv6('2001:db8:0:0:8:800:200c:417a'), v6(0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a));
    assert.deepEqual(parseIPv6('2001:DB8::8:800:200C:417A'), v6(0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a));
    assert.deepEqual(parseIPv6('ff01::101'), v6(0xff01, 0, 0, 0, 0, 0, 0, 0x101));
    assert.deepEqual(parseIPv6('::1'), v6(0, 0, 0, 0, 0, 0, 0, 1));
    assert.deepEqual(parseIPv6('::'), new Uint8Array(16));
    assert.deepEqual(parseIPv6('1::'), v6(1, 0, 0, 0, 0, 0, 0, 0));
    assert.deepEqual(parseIPv6('0:0:0:0:0:0:13.1.68.3'), v6(0, 0, 0, 0, 0, 0, 0x0d01, 0x4403));
    assert.deepEqual(parseIPv6('::13.1.68.3'), v6(0, 0, 0, 0, 0, 0, 0x0d01, 0x4403));
    assert.deepEqual(parseIPv6('::FFFF:129.144.52.38'), v6(0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426));
    assert.deepEqual(parseIPv6('64:ff9b::192.0.2.33'), v6(0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221));
    assert.deepEqual(parseIPv6('1:2:3:4:5:6:1.2.3.4'), v6(1, 2, 3, 4, 5, 6, 0x0102, 0x0304));
    assert.deepEqual(parseIPv6('0001:0002:0003:0004:0005:0006:0007:0008'), v6(1, 2, 3, 4, 5, 6, 7, 8));
    assert.deepEqual(parseIPv6('FFFF:ffff:FfFf:ffff:ffff:ffff:ffff:ffff'), new Uint8Array(16).fill(0xff));
  });

  it('lets :: stand for one or more zero groups', () => {
    assert.deepEqual(parseIPv6('1:2:3:4:5:6:7::'), v6(1, 2, 3, 4, 5, 6, 7, 0));
    assert.deepEqual(parseIPv6('::2:3:4:5:6:7:8'), v6(0, 2, 3, 4, 5, 6, 7, 8));
    assert.deepEqual(parseIPv6('1:2:3::5:6:7:8'), v6(1, 2, 3, 0, 5, 6, 7, 8));
    assert.deepEqual(parseIPv6('1::8'), v6(1, 0, 0, 0, 0, 0, 0, 8));
    assert.deepEqual(parseIPv6('1:2:3:4:5::1.2.3.4'), v6(1, 2, 3, 4, 5, 0, 0x0102, 0x0304));
  });

  const rejects = [
    '', ':', ':::', '::::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3', '::1::', '1:::2', '12345::',
    '::12345', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::8', ':1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:',
    ':1::', '::1:', '1:', ':1', 'g::', '::g', '::1%eth0', 'fe80::1%1', '[::1]', '::1 ', ' ::1', ':: 1', '::1\n',
    '1.2.3.4', '::1.2.3', '::256.1.1.1', '::01.2.3.4', '::1.2.3.4:5', '1.2.3.4::', '::1.2.3.4.5',
    '1:2:3:4:5:6:7:1.2.3.4', '1:2:3:4:5:6::1.2.3.4', '::ffff:1.2.3.4/96', '0x1::', '-1::', '+1::', '1::-0',
    '::ffff:0x7f.0.0.1', 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255x', '0'.repeat(100) + '::',
  ];
  for (const text of rejects) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseIPv6(text), undefined));
  }
});

describe('parseIp', () => {
  it('picks the family from the text', () => {
    assert.equal(parseIp('1.2.3.4')?.length, 4);
    assert.equal(parseIp('::1')?.length, 16);
    assert.equal(parseIp('::ffff:1.2.3.4')?.length, 16);
    assert.equal(parseIp(''), undefined);
    assert.equal(parseIp('example.com'), undefined);
    assert.equal(parseIp('[::1]'), undefined);
  });

  it('never throws on non-strings from untyped callers', () => {
    for (const junk of [undefined, null, 42, {}, [], Symbol('x')]) {
      assert.equal(parseIp(junk as unknown as string), undefined);
      assert.equal(parseIPv4(junk as unknown as string), undefined);
      assert.equal(parseIPv6(junk as unknown as string), undefined);
    }
  });
});

describe('formatIPv6 (RFC 5952)', () => {
  const golden: [string, string][] = [
    // §4.1: leading zeros dropped
    ['2001:0db8::0001', '2001:db8::1'],
    ['2001:db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    // §4.2.1: :: used to its maximum capability
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8::0:1', '2001:db8::1'],
    // §4.2.2: a single 16-bit 0 field is not shortened
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    // §4.2.3: the longest run; the first one on ties
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['0:0:1:0:0:0:0:2', '0:0:1::2'],
    ['0:0:1:2:3:4:0:0', '::1:2:3:4:0:0'],
    ['1:2:3:4:5:6:0:0', '1:2:3:4:5:6::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['::', '::'],
    ['0:1:0:1:0:1:0:1', '0:1:0:1:0:1:0:1'],
    // §4.3: lowercase
    ['2001:DB8::AbCd', '2001:db8::abcd'],
    // §5: IPv4-mapped with a dotted tail, other embeddings in hex
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['0:0:0:0:0:FFFF:c000:0201', '::ffff:192.0.2.1'],
    ['::ffff:0.0.0.0', '::ffff:0.0.0.0'],
    ['::ffff:0:0', '::ffff:0.0.0.0'],
    ['::1.2.3.4', '::102:304'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
    ['1::ffff:1.2.3.4', '1::ffff:102:304'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ];
  for (const [input, expected] of golden) {
    it(`${input} -> ${expected}`, () => {
      assert.equal(canon6(input), expected);
      assert.equal(canon6(expected), expected, 'canonical text is a fixed point');
    });
  }

  it('returns <invalid> for wrong lengths and non-bytes', () => {
    assert.equal(formatIPv6(new Uint8Array(4)), '<invalid>');
    assert.equal(formatIPv6(new Uint8Array(15)), '<invalid>');
    assert.equal(formatIPv6(undefined as unknown as Uint8Array), '<invalid>');
    assert.equal(formatIPv6([0, 0] as unknown as Uint8Array), '<invalid>');
  });
});

describe('formatIPv4 / formatIp', () => {
  it('formats 4 bytes as a dotted quad', () => {
    assert.equal(formatIPv4(bytes(192, 0, 2, 1)), '192.0.2.1');
    assert.equal(formatIPv4(bytes(0, 0, 0, 0)), '0.0.0.0');
    assert.equal(formatIPv4(new Uint8Array(16)), '<invalid>');
  });

  it('dispatches on length and never throws', () => {
    assert.equal(formatIp(bytes(10, 1, 2, 3)), '10.1.2.3');
    assert.equal(formatIp(v6(0xfd00, 0, 0, 0, 0, 0, 0, 3)), 'fd00::3');
    for (const n of [0, 1, 3, 5, 15, 17, 32]) assert.equal(formatIp(new Uint8Array(n)), '<invalid>');
    assert.equal(formatIp(null as unknown as Uint8Array), '<invalid>');
    assert.equal(formatIp('1.2.3.4' as unknown as Uint8Array), '<invalid>');
  });

  it('formats a subarray view by its own bytes', () => {
    const buf = bytes(9, 9, 1, 2, 3, 4, 9);
    assert.equal(formatIp(buf.subarray(2, 6)), '1.2.3.4');
  });
});

describe('predicates', () => {
  const p = (text: string): Uint8Array => {
    const b = parseIp(text);
    assert.ok(b, text);
    return b;
  };

  it('isUnspecified', () => {
    assert.equal(isUnspecified(p('0.0.0.0')), true);
    assert.equal(isUnspecified(p('::')), true);
    assert.equal(isUnspecified(p('0.0.0.1')), false);
    assert.equal(isUnspecified(p('::1')), false);
    assert.equal(isUnspecified(p('::ffff:0.0.0.0')), false);
    assert.equal(isUnspecified(new Uint8Array(8)), false);
  });

  it('isMulticast', () => {
    assert.equal(isMulticast(p('224.0.0.1')), true);
    assert.equal(isMulticast(p('239.255.255.250')), true);
    assert.equal(isMulticast(p('223.255.255.255')), false);
    assert.equal(isMulticast(p('240.0.0.0')), false);
    assert.equal(isMulticast(p('ff02::1')), true);
    assert.equal(isMulticast(p('ff00::')), true);
    assert.equal(isMulticast(p('fe80::1')), false);
    assert.equal(isMulticast(p('::ffff:224.0.0.1')), false);
    assert.equal(isMulticast(bytes(0xff)), false);
  });

  it('isBroadcast', () => {
    assert.equal(isBroadcast(p('255.255.255.255')), true);
    assert.equal(isBroadcast(p('255.255.255.254')), false);
    assert.equal(isBroadcast(p('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')), false);
  });

  it('isLoopback', () => {
    assert.equal(isLoopback(p('127.0.0.1')), true);
    assert.equal(isLoopback(p('127.255.0.9')), true);
    assert.equal(isLoopback(p('128.0.0.1')), false);
    assert.equal(isLoopback(p('::1')), true);
    assert.equal(isLoopback(p('::2')), false);
    assert.equal(isLoopback(p('1::1')), false);
    assert.equal(isLoopback(p('::ffff:127.0.0.1')), false);
    assert.equal(isLoopback(new Uint8Array(3)), false);
  });

  it('ipEquals', () => {
    assert.equal(ipEquals(p('1.2.3.4'), bytes(1, 2, 3, 4)), true);
    assert.equal(ipEquals(p('1.2.3.4'), bytes(1, 2, 3, 5)), false);
    assert.equal(ipEquals(p('1.2.3.4'), p('::ffff:1.2.3.4')), false);
    assert.equal(ipEquals(p('2001:db8::1'), p('2001:DB8:0:0:0:0:0:1')), true);
    assert.equal(ipEquals(new Uint8Array(0), new Uint8Array(0)), true);
    assert.equal(ipEquals(p('::'), undefined as unknown as Uint8Array), false);
  });

  it('ipv4Any / ipv6Any return fresh zero arrays', () => {
    const a = ipv4Any();
    assert.deepEqual(a, new Uint8Array(4));
    a[0] = 1;
    assert.deepEqual(ipv4Any(), new Uint8Array(4));
    const b = ipv6Any();
    assert.deepEqual(b, new Uint8Array(16));
    b[15] = 1;
    assert.deepEqual(ipv6Any(), new Uint8Array(16));
    assert.notEqual(ipv6Any(), ipv6Any());
  });
});
