// Golden frames: scapy 2.5.0 + tshark 4.0.17 agree on every byte, UDP checksums
// `[correct]` (provenance in ./golden.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UDP_HEADER_LEN, UdpView, checkUdp, emitUdp, parseUdp, udpHeaderLen, udpPayload, type UdpRepr } from '../../../src/wire/udp.ts';
import { toHex, wr16, wr8 } from '../../../src/wire/bytes.ts';
import { isFault } from '../../../src/wire/fault.ts';
import { ETH_IP20, ETH_IPV4_UDP, ETH_IPV4_UDP_NO_CHECKSUM, ETH_UDP_CHECKSUM_FFFF, IP_D, IP_S, canary } from './golden.ts';

const DGRAM = ETH_IPV4_UDP.subarray(ETH_IP20); // 13 bytes: header + "hello"
const NO_CSUM = ETH_IPV4_UDP_NO_CHECKSUM.subarray(ETH_IP20);
const FFFF = ETH_UDP_CHECKSUM_FFFF.subarray(ETH_IP20);
const REPR: UdpRepr = { srcPort: 49152, dstPort: 40000, payloadLen: 5 };

const with_ = (b: Uint8Array, f: (x: Uint8Array) => void): Uint8Array => {
  const c = b.slice();
  f(c);
  return c;
};

describe('UDP (RFC 768) over IPv4', () => {
  it('deconstruct: view fields of the golden datagram', () => {
    assert.equal(checkUdp(DGRAM), undefined);
    const v = new UdpView(DGRAM);
    assert.equal(v.srcPort, 49152);
    assert.equal(v.dstPort, 40000);
    assert.equal(v.length, 13);
    assert.equal(v.checksum, 0x7384);
    assert.equal(new TextDecoder().decode(v.payload), 'hello');
    assert.ok(v.verifyChecksum(IP_S, IP_D));
    assert.ok(!v.verifyChecksum(IP_D, Uint8Array.of(192, 0, 2, 2)), 'the pseudo-header matters');
  });

  it('parse: the golden datagram; payload via udpPayload (aliases the buffer)', () => {
    assert.deepEqual(parseUdp(DGRAM, IP_S, IP_D), REPR);
    const p = udpPayload(DGRAM);
    assert.equal(new TextDecoder().decode(p), 'hello');
    assert.equal(p.buffer, DGRAM.buffer);
  });

  it('construct: emit writes exactly 8 bytes (checksum over the payload already in place) into a 0xa5 canary buffer', () => {
    const out = canary(13 + 4);
    out.set(new TextEncoder().encode('hello'), 8);
    emitUdp(REPR, out, IP_S, IP_D);
    assert.equal(toHex(out.subarray(0, 13)), toHex(DGRAM));
    assert.ok(out.subarray(13).every((x) => x === 0xa5));
    assert.equal(udpHeaderLen(REPR), UDP_HEADER_LEN);
  });

  it('checksum 0 on receive means "none sent" (RFC 768); no verification', () => {
    assert.equal(new UdpView(NO_CSUM).checksum, 0);
    assert.deepEqual(parseUdp(NO_CSUM, IP_S, IP_D), { srcPort: 1234, dstPort: 5678, payloadLen: 3 });
    assert.ok(!isFault(parseUdp(with_(NO_CSUM, (b) => wr8(b, 10, 0)), IP_S, IP_D)), 'payload change undetectable without a checksum');
  });

  it('a computed checksum of 0 is sent as 0xffff (golden: scapy sends it, tshark says correct)', () => {
    const out = canary(10);
    out.set(FFFF.subarray(8), 8);
    emitUdp({ srcPort: 4000, dstPort: 4001, payloadLen: 2 }, out, IP_S, IP_D);
    assert.equal(toHex(out), toHex(FFFF));
    assert.equal(new UdpView(out).checksum, 0xffff);
    assert.deepEqual(parseUdp(FFFF, IP_S, IP_D), { srcPort: 4000, dstPort: 4001, payloadLen: 2 });
    const v = new UdpView(out);
    v.fillChecksum(IP_S, IP_D);
    assert.equal(v.checksum, 0xffff);
  });

  it('a buffer longer than the length field is fine; the payload stops at the length', () => {
    const b = new Uint8Array(20);
    b.set(DGRAM);
    b.fill(0x55, 13);
    assert.deepEqual(parseUdp(b, IP_S, IP_D), REPR);
    assert.equal(udpPayload(b).length, 5);
    assert.equal(new UdpView(b).payload.length, 5);
  });

  it('every truncated length is a fault, never a throw', () => {
    for (let n = 0; n < DGRAM.length; n++) {
      const r = parseUdp(DGRAM.subarray(0, n), IP_S, IP_D);
      assert.equal(r, n < 8 ? 'truncated' : 'bad-length', `n=${n}`);
      assert.equal(checkUdp(DGRAM.subarray(0, n)), r);
    }
  });

  it('impossible lengths: below 8, beyond the buffer', () => {
    for (const len of [0, 1, 7]) assert.equal(parseUdp(with_(DGRAM, (b) => wr16(b, 4, len)), IP_S, IP_D), 'bad-length');
    for (const len of [14, 0xffff]) assert.equal(parseUdp(with_(DGRAM, (b) => wr16(b, 4, len)), IP_S, IP_D), 'bad-length');
    // A shorter (still valid) length re-scopes the checksum: this one no longer verifies.
    assert.equal(parseUdp(with_(DGRAM, (b) => wr16(b, 4, 8)), IP_S, IP_D), 'bad-checksum');
  });

  it('bad checksum is detected; checksumOffload skips the check', () => {
    const bad = with_(DGRAM, (b) => wr8(b, 12, 0x70)); // "hellp"
    assert.equal(parseUdp(bad, IP_S, IP_D), 'bad-checksum');
    assert.deepEqual(parseUdp(bad, IP_S, IP_D, true), REPR);
    assert.equal(parseUdp(DGRAM, IP_S, Uint8Array.of(198, 51, 100, 8)), 'bad-checksum', 'wrong pseudo-header destination');
    assert.ok(!new UdpView(bad).verifyChecksum(IP_S, IP_D));
  });

  it('view setters + fillChecksum (e.g. NAT port rewrite)', () => {
    const b = DGRAM.slice();
    const v = new UdpView(b);
    v.srcPort = 50000;
    assert.equal(parseUdp(b, IP_S, IP_D), 'bad-checksum');
    v.fillChecksum(IP_S, IP_D);
    assert.deepEqual(parseUdp(b, IP_S, IP_D), { ...REPR, srcPort: 50000 });
  });

  it('emit refuses caller bugs with RangeError', () => {
    assert.throws(() => emitUdp(REPR, new Uint8Array(12), IP_S, IP_D), RangeError, 'payload does not fit');
    assert.throws(() => emitUdp({ ...REPR, payloadLen: 0xffff }, new Uint8Array(8), IP_S, IP_D), RangeError);
    assert.throws(() => emitUdp({ ...REPR, payloadLen: -1 }, new Uint8Array(8), IP_S, IP_D), RangeError);
  });
});
