// Golden frames: scapy 2.5.0 + tshark 4.0.17 agree on every byte (provenance in ./golden.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ARP_HEADER_LEN, ArpOp, ArpView, arpHeaderLen, checkArp, emitArp, parseArp, type ArpRepr } from '../../../src/wire/arp.ts';
import { toHex, wr16, wr8 } from '../../../src/wire/bytes.ts';
import { isFault } from '../../../src/wire/fault.ts';
import { ETH, ETH_ARP_REPLY_PADDED, ETH_ARP_REQUEST, IP_S, MAC_A, MAC_B, canary } from './golden.ts';

const REQUEST = ETH_ARP_REQUEST.subarray(ETH);
const REPLY_PADDED = ETH_ARP_REPLY_PADDED.subarray(ETH);
const GW = Uint8Array.of(192, 0, 2, 254);

const REQUEST_REPR: ArpRepr = {
  op: ArpOp.REQUEST,
  senderMac: MAC_A,
  senderIp: IP_S,
  targetMac: new Uint8Array(6),
  targetIp: GW,
};

describe('ARP (RFC 826, Ethernet/IPv4)', () => {
  it('deconstruct: view fields of the golden request', () => {
    assert.equal(checkArp(REQUEST), undefined);
    const v = new ArpView(REQUEST);
    assert.equal(v.htype, 1);
    assert.equal(v.ptype, 0x0800);
    assert.equal(v.hlen, 6);
    assert.equal(v.plen, 4);
    assert.equal(v.op, 1);
    assert.deepEqual(v.senderMac, MAC_A);
    assert.deepEqual(v.senderIp, IP_S);
    assert.deepEqual(v.targetMac, new Uint8Array(6));
    assert.deepEqual(v.targetIp, GW);
  });

  it('parse: request, and a reply with 18 bytes of Ethernet padding (ignored)', () => {
    assert.deepEqual(parseArp(REQUEST), REQUEST_REPR);
    assert.equal(REPLY_PADDED.length, 46);
    assert.deepEqual(parseArp(REPLY_PADDED), { op: ArpOp.REPLY, senderMac: MAC_B, senderIp: GW, targetMac: MAC_A, targetIp: IP_S });
  });

  it('construct: emit writes exactly 28 bytes into a 0xa5 canary buffer', () => {
    const out = canary(40);
    emitArp(REQUEST_REPR, out);
    assert.equal(toHex(out.subarray(0, ARP_HEADER_LEN)), toHex(REQUEST));
    assert.ok(out.subarray(ARP_HEADER_LEN).every((x) => x === 0xa5));
    assert.equal(arpHeaderLen(REQUEST_REPR), 28);
  });

  it('view setter: turn a request into a reply in place', () => {
    const b = REQUEST.slice();
    new ArpView(b).op = ArpOp.REPLY;
    const r = parseArp(b);
    assert.ok(!isFault(r));
    assert.equal(r.op, 2);
  });

  it('other operations pass through as numbers (RARP 3, InARP 8)', () => {
    for (const op of [3, 4, 8, 9, 0, 0xffff]) {
      const out = new Uint8Array(28);
      emitArp({ ...REQUEST_REPR, op }, out);
      const r = parseArp(out);
      assert.ok(!isFault(r));
      assert.equal(r.op, op);
    }
  });

  it('every truncated length is a fault, never a throw', () => {
    for (let n = 0; n < ARP_HEADER_LEN; n++) {
      assert.equal(parseArp(REQUEST.subarray(0, n)), 'truncated', `n=${n}`);
      assert.equal(checkArp(REQUEST.subarray(0, n)), 'truncated');
    }
  });

  it('other hardware/protocol types and address lengths are unsupported', () => {
    const mutate = (f: (b: Uint8Array) => void): Uint8Array => {
      const b = REQUEST.slice();
      f(b);
      return b;
    };
    assert.equal(parseArp(mutate((b) => wr16(b, 0, 6))), 'unsupported'); // IEEE 802 htype
    assert.equal(parseArp(mutate((b) => wr16(b, 2, 0x86dd))), 'unsupported'); // IPv6 ptype
    assert.equal(parseArp(mutate((b) => wr8(b, 4, 8))), 'unsupported');
    assert.equal(parseArp(mutate((b) => wr8(b, 5, 16))), 'unsupported');
    assert.equal(parseArp(mutate((b) => wr16(b, 0, 6)).subarray(0, 10)), 'unsupported', 'known after 8 bytes');
  });

  it('emit refuses caller bugs with RangeError', () => {
    assert.throws(() => emitArp(REQUEST_REPR, new Uint8Array(27)), RangeError);
    assert.throws(() => emitArp({ ...REQUEST_REPR, senderIp: new Uint8Array(16) }, new Uint8Array(28)), RangeError);
  });
});
