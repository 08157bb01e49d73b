/**
 * SLIP (RFC 1055): the encoding (END before and after, ESC ESC_END / ESC ESC_ESC), and the decoder
 * rules copied from Linux slip.c: empty packets ignored, 1-2 byte runts dropped, bad escapes
 * counted with Linux's outcome (the octet kept, the escape state kept), oversize packets dropped
 * without unbounded buffering, any split giving the same packets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../../src/wire/bytes.ts';
import { SlipDecoder, SlipEncoder, slipEncode, slipMaxEncodedLength, type SlipDecoderOptions } from '../../../src/wire/slip.ts';

const hex = (s: string): Uint8Array => fromHex(s) as Uint8Array;

function decode(input: Uint8Array, options: SlipDecoderOptions = {}): { packets: string[]; dec: SlipDecoder } {
  const packets: string[] = [];
  const dec = new SlipDecoder((p) => packets.push(toHex(p)), options);
  dec.push(input);
  return { packets, dec };
}

describe('slipEncode / SlipEncoder', () => {
  it('frames with END on both sides and escapes END and ESC', () => {
    assert.equal(toHex(slipEncode(hex('45 c0 db dc dd 00'))), 'c045dbdcdbdddcdd00c0');
    assert.equal(toHex(slipEncode(new Uint8Array(0))), 'c0c0');
    assert.equal(slipMaxEncodedLength(10), 22);
  });

  it('SlipEncoder reuses one buffer and grows it', () => {
    const enc = new SlipEncoder();
    const a = enc.encode(hex('010203'));
    const b = enc.encode(hex('040506'));
    assert.equal(a.buffer, b.buffer);
    const big = enc.encode(new Uint8Array(5000).fill(0xc0));
    assert.equal(big.length, 10_002);
    assert.equal(toHex(enc.encode(hex('45c0'))), 'c045dbdcc0');
  });
});

describe('SlipDecoder', () => {
  it('decodes what the encoder wrote, byte by byte too', () => {
    const pkts = [hex('450000c0dbdcdd'), hex('0102030405'), new Uint8Array(1006).fill(0xdb)];
    const wire = pkts.map((p) => slipEncode(p));
    const got: string[] = [];
    const dec = new SlipDecoder((p) => got.push(toHex(p)));
    for (const w of wire) for (const b of w) dec.push(Uint8Array.of(b));
    assert.deepEqual(got, pkts.map(toHex));
    const s = dec.stats();
    assert.equal(s.packets, 3);
    assert.equal(s.bytes, 7 + 5 + 1006);
    assert.equal(s.badEscapes + s.runts + s.oversize, 0);
  });

  it('packets are fresh arrays the caller may keep', () => {
    const kept: Uint8Array[] = [];
    const dec = new SlipDecoder((p) => kept.push(p));
    dec.push(slipEncode(hex('010203')));
    dec.push(slipEncode(hex('040506')));
    assert.deepEqual(kept.map(toHex), ['010203', '040506']);
  });

  it('empty packets are ignored; 1-2 byte packets are runts (Linux delivers > 2 bytes)', () => {
    const { packets, dec } = decode(hex('c0c0c0 01 c0 0102 c0 010203 c0 c0'));
    assert.deepEqual(packets, ['010203']);
    assert.equal(dec.stats().runts, 2);
  });

  it('bytes before the first END form a packet like any other (Linux has no hunting)', () => {
    assert.deepEqual(decode(hex('414243 c0')).packets, ['414243']);
  });

  it('ESC then another octet: counted, octet kept, escape state stays (Linux slip_unesc)', () => {
    // ESC 41 -> 41 kept, escape still set, so the later DC becomes C0.
    const { packets, dec } = decode(hex('c0 01 db 41 02 dc 03 c0'));
    assert.deepEqual(packets, ['014102c003']);
    assert.equal(dec.stats().badEscapes, 1);
  });

  it('ESC_END / ESC_ESC without ESC are data; ESC ESC is a bad escape; ESC END still ends the packet', () => {
    assert.deepEqual(decode(hex('c0 dcdd01 c0')).packets, ['dcdd01']);
    const r = decode(hex('c0 0102 db db dd 03 c0 040506 db c0'));
    assert.deepEqual(r.packets, ['0102db03', '040506']);
    assert.equal(r.dec.stats().badEscapes, 2);
  });

  it('oversize packets are dropped and counted once, memory bounded', () => {
    const got: number[] = [];
    const dec = new SlipDecoder((p) => got.push(p.length), { maxPacket: 100 });
    dec.push(slipEncode(new Uint8Array(101)));
    dec.push(slipEncode(new Uint8Array(100)));
    assert.deepEqual(got, [100]);
    dec.push(hex('c0'));
    for (let i = 0; i < 16; i++) dec.push(new Uint8Array(65_536).fill(0x45));
    dec.push(hex('c0'));
    assert.equal(dec.stats().oversize, 2);
    dec.maxPacket = 2000;
    dec.push(slipEncode(new Uint8Array(1500)));
    assert.deepEqual(got, [100, 1500]);
    assert.equal(dec.maxPacket, 2000);
  });

  it('reset() drops a partial packet', () => {
    const { packets, dec } = decode(hex('c0 010203'));
    dec.reset();
    dec.push(hex('040506 c0'));
    assert.deepEqual(packets, ['040506']);
  });

  it('rejects a bad maxPacket', () => {
    assert.throws(() => new SlipDecoder(() => {}, { maxPacket: 0 }), RangeError);
  });
});
