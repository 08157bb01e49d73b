/**
 * MD5 (RFC 1321): the §A.5 test suite, agreement with node:crypto on random inputs of every length
 * around the block and padding boundaries and on random splits into parts, the Md5 incremental
 * form, and a CHAP-MD5 response (RFC 1994 §4.1: MD5(Identifier ‖ secret ‖ Challenge)).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { toHex } from '../../../src/wire/bytes.ts';
import { Md5, md5 } from '../../../src/wire/md5.ts';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const nodeMd5 = (...parts: Uint8Array[]): string => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

function randomBytes(rng: XorShiftRng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextU32() & 0xff;
  return out;
}

describe('md5', () => {
  it('RFC 1321 §A.5 test suite', () => {
    const suite: [string, string][] = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
    ];
    for (const [msg, digest] of suite) assert.equal(toHex(md5(ascii(msg))), digest, msg);
  });

  it('agrees with node:crypto for every length 0..300 and some large ones', () => {
    const rng = new XorShiftRng(1321);
    const lengths = [...Array.from({ length: 301 }, (_, i) => i), 1000, 4095, 4096, 65_537, 200_003];
    for (const n of lengths) {
      const d = randomBytes(rng, n);
      assert.equal(toHex(md5(d)), nodeMd5(d), `length ${n}`);
    }
  });

  it('hashes the concatenation of its parts, however the message is split', () => {
    const rng = new XorShiftRng(1994);
    for (let round = 0; round < 200; round++) {
      const parts = Array.from({ length: rng.nextU32() % 6 }, () => randomBytes(rng, rng.nextU32() % 150));
      assert.equal(toHex(md5(...parts)), nodeMd5(...parts));
      const h = new Md5();
      for (const p of parts) h.update(p);
      assert.equal(toHex(h.digest()), nodeMd5(...parts));
    }
  });

  it('CHAP-MD5 response = MD5(identifier ‖ secret ‖ challenge)', () => {
    const id = Uint8Array.of(0x2a);
    const secret = ascii('s3cret');
    const challenge = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    assert.equal(toHex(md5(id, secret, challenge)), nodeMd5(Uint8Array.of(0x2a, ...secret, ...challenge)));
    assert.equal(md5(id, secret, challenge).length, 16);
  });

  it('an ended hash refuses more input', () => {
    const h = new Md5().update(ascii('abc'));
    assert.equal(toHex(h.digest()), '900150983cd24fb0d6963f7d28e17f72');
    assert.throws(() => h.update(ascii('x')));
    assert.throws(() => h.digest());
  });
});
