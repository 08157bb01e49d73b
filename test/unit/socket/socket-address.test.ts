import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SocketAddress } from '../../../src/socket/socket-address.ts';
import { SocketError, isSocketError } from '../../../src/base/socket-error.ts';

function assertEinval(fn: () => unknown, reason: string, op = 'parse'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isSocketError(e, 'EINVAL'), String(e));
    assert.equal(e.detail.op, op);
    assert.equal(e.detail.reason, reason);
    return true;
  });
}

describe('SocketAddress.parse', () => {
  it('parses IPv4 host:port', () => {
    const a = SocketAddress.parse('192.0.2.1:80');
    assert.equal(a.family, 4);
    assert.equal(a.address, '192.0.2.1');
    assert.equal(a.port, 80);
    assert.deepEqual(a.bytes, Uint8Array.from([192, 0, 2, 1]));
    assert.equal(a.toString(), '192.0.2.1:80');
  });

  it('parses [IPv6]:port and canonicalizes the address', () => {
    const a = SocketAddress.parse('[2001:0DB8:0:0:0:0:0:0001]:443');
    assert.equal(a.family, 6);
    assert.equal(a.address, '2001:db8::1');
    assert.equal(a.port, 443);
    assert.equal(a.bytes.length, 16);
    assert.equal(a.toString(), '[2001:db8::1]:443');
    assert.equal(SocketAddress.parse('[::1]:0').toString(), '[::1]:0');
    assert.equal(SocketAddress.parse('[::ffff:1.2.3.4]:65535').toString(), '[::ffff:1.2.3.4]:65535');
  });

  it('accepts bare literals only with a default port', () => {
    assert.equal(SocketAddress.parse('10.0.0.1', 1883).toString(), '10.0.0.1:1883');
    assert.equal(SocketAddress.parse('::1', 53).toString(), '[::1]:53');
    assert.equal(SocketAddress.parse('[::1]', 53).toString(), '[::1]:53');
    assert.equal(SocketAddress.parse('10.0.0.1:7', 1883).port, 7, 'an explicit port wins');
    assertEinval(() => SocketAddress.parse('10.0.0.1'), 'missing-port');
    assertEinval(() => SocketAddress.parse('::1'), 'missing-port');
    assertEinval(() => SocketAddress.parse('[::1]'), 'missing-port');
  });

  it('reads an unbracketed IPv6 address with a trailing group as a bare address, never a port', () => {
    const a = SocketAddress.parse('::1:80', 9);
    assert.equal(a.address, '::1:80');
    assert.equal(a.port, 9);
  });

  const badAddress = [
    '', ':80', '1.2.3:80', '256.1.1.1:80', '01.2.3.4:80', 'example.com:80', 'localhost:80', '[1.2.3.4]:80',
    '[::1', '::1]:80', '[::1]80', '[[::1]]:80', '[::1%eth0]:80', '[fe80::1%25eth0]:80', ' 1.2.3.4:80',
    '[ ::1]:80', '1::2::3',
  ];
  for (const text of badAddress) {
    it(`rejects address in ${JSON.stringify(text)}`, () => {
      assertEinval(() => SocketAddress.parse(text, 1), 'bad-address');
      assert.equal(SocketAddress.tryParse(text, 1), undefined);
    });
  }

  const badPort = [
    '1.2.3.4:', '1.2.3.4:65536', '1.2.3.4:99999', '1.2.3.4:-1', '1.2.3.4:+80', '1.2.3.4:080', '1.2.3.4:8o',
    '1.2.3.4:80 ', '1.2.3.4:0x50', '1.2.3.4:1e3', '1.2.3.4:80.0', '[::1]:', '[::1]:65536', '[::1]:123456', '[::1]:80x', '[::1]:80]',
  ];
  for (const text of badPort) {
    it(`rejects port in ${JSON.stringify(text)}`, () => {
      assertEinval(() => SocketAddress.parse(text), 'bad-port');
      assert.equal(SocketAddress.tryParse(text), undefined);
    });
  }

  it('rejects a bad default port', () => {
    for (const p of [-1, 65536, 1.5, NaN, Infinity]) {
      assertEinval(() => SocketAddress.parse('1.2.3.4', p), 'bad-port');
    }
  });

  it('throws a SocketError carrying the input', () => {
    try {
      SocketAddress.parse('1.2.3.4:x');
      assert.fail('no throw');
    } catch (e) {
      assert.ok(e instanceof SocketError);
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.errno, -3);
      assert.equal(e.detail.address, '1.2.3.4:x');
    }
  });

  it('never throws anything but EINVAL on junk from untyped callers', () => {
    for (const junk of [undefined, null, 42, {}, []]) {
      assertEinval(() => SocketAddress.parse(junk as unknown as string, 1), 'bad-address');
      assert.equal(SocketAddress.tryParse(junk as unknown as string), undefined);
    }
  });

  it('round-trips through toString', () => {
    for (const text of ['0.0.0.0:0', '255.255.255.255:65535', '[::]:1', '[2001:db8::1:0:0:1]:8883', '[::ffff:10.0.0.1]:5683']) {
      assert.equal(SocketAddress.parse(text).toString(), text);
      assert.ok(SocketAddress.parse(SocketAddress.parse(text).toString()).equals(SocketAddress.parse(text)));
    }
  });
});

describe('SocketAddress.from / fromBytes', () => {
  it('from takes a literal host and a port', () => {
    assert.equal(SocketAddress.from('10.1.2.3', 53).toString(), '10.1.2.3:53');
    assert.equal(SocketAddress.from('FD00::3', 53).toString(), '[fd00::3]:53');
    assertEinval(() => SocketAddress.from('host.test', 53), 'bad-address', 'from');
    assertEinval(() => SocketAddress.from('[::1]', 53), 'bad-address', 'from');
    assertEinval(() => SocketAddress.from('1.2.3.4:80', 53), 'bad-address', 'from');
    assertEinval(() => SocketAddress.from('1.2.3.4', 65536), 'bad-port', 'from');
    assertEinval(() => SocketAddress.from('1.2.3.4', -1), 'bad-port', 'from');
  });

  it('fromBytes copies 4 or 16 bytes', () => {
    const raw = Uint8Array.from([127, 0, 0, 1]);
    const a = SocketAddress.fromBytes(raw, 8080);
    raw[0] = 10;
    assert.equal(a.toString(), '127.0.0.1:8080');
    const b = SocketAddress.fromBytes(new Uint8Array(16), 0);
    assert.equal(b.toString(), '[::]:0');
    assert.equal(b.family, 6);
    assertEinval(() => SocketAddress.fromBytes(new Uint8Array(5), 1), 'bad-address', 'fromBytes');
    assertEinval(() => SocketAddress.fromBytes(new Uint8Array(4), 70000), 'bad-port', 'fromBytes');
  });

  it('bytes is a copy: mutating it does not change the address', () => {
    const a = SocketAddress.parse('1.2.3.4:5');
    a.bytes[0] = 9;
    assert.equal(a.address, '1.2.3.4');
    assert.deepEqual(a.bytes, Uint8Array.from([1, 2, 3, 4]));
  });
});

describe('SocketAddress.equals / isUnspecified', () => {
  it('compares family, bytes and port', () => {
    const a = SocketAddress.parse('1.2.3.4:80');
    assert.ok(a.equals(SocketAddress.from('1.2.3.4', 80)));
    assert.ok(!a.equals(SocketAddress.parse('1.2.3.4:81')));
    assert.ok(!a.equals(SocketAddress.parse('1.2.3.5:80')));
    assert.ok(!a.equals(SocketAddress.parse('[::ffff:1.2.3.4]:80')), 'IPv4-mapped is a different address');
    assert.ok(SocketAddress.parse('[2001:db8:0:0:0:0:0:1]:1').equals(SocketAddress.parse('[2001:db8::1]:1')));
    assert.ok(!a.equals({ family: 4, address: '1.2.3.4', port: 80 } as unknown as SocketAddress));
  });

  it('isUnspecified', () => {
    assert.equal(SocketAddress.parse('0.0.0.0:80').isUnspecified, true);
    assert.equal(SocketAddress.parse('[::]:80').isUnspecified, true);
    assert.equal(SocketAddress.parse('0.0.0.1:80').isUnspecified, false);
    assert.equal(SocketAddress.parse('[::1]:80').isUnspecified, false);
  });
});
