// Golden frames: scapy 2.5.0 + tshark 4.0.17 agree on every byte (provenance in ./golden.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BROADCAST_MAC,
  ETHERNET_HEADER_LEN,
  EtherType,
  EthernetView,
  checkEthernet,
  emitEthernet,
  ethernetHeaderLen,
  ethernetPayload,
  isBroadcastMac,
  isMulticastMac,
  isUnicastMac,
  macToString,
  parseEthernet,
  parseMac,
  type EthernetRepr,
} from '../../../src/wire/ethernet.ts';
import { isFault } from '../../../src/wire/fault.ts';
import { toHex } from '../../../src/wire/bytes.ts';
import { ETH_ARP_REPLY_PADDED, ETH_ARP_REQUEST, ETH_IPV4_UDP, MAC_A, MAC_B, canary } from './golden.ts';

const REPR: EthernetRepr = { dst: MAC_B, src: MAC_A, etherType: EtherType.IPV4 };

describe('Ethernet II', () => {
  it('deconstruct: view fields of the golden IPv4/UDP frame', () => {
    const v = new EthernetView(ETH_IPV4_UDP);
    assert.equal(checkEthernet(ETH_IPV4_UDP), undefined);
    assert.deepEqual(v.dst, MAC_B);
    assert.deepEqual(v.src, MAC_A);
    assert.equal(v.etherType, 0x0800);
    assert.equal(v.payload.length, ETH_IPV4_UDP.length - 14);
    assert.equal(v.payload[0], 0x45);
  });

  it('view at an offset', () => {
    const b = new Uint8Array(4 + ETH_ARP_REQUEST.length);
    b.set(ETH_ARP_REQUEST, 4);
    const v = new EthernetView(b, 4);
    assert.equal(v.etherType, EtherType.ARP);
    assert.ok(isBroadcastMac(v.dst));
  });

  it('parse: Repr fields; addresses alias the frame (zero-copy)', () => {
    const frame = ETH_ARP_REPLY_PADDED.slice();
    const r = parseEthernet(frame);
    assert.ok(!isFault(r));
    assert.deepEqual(r, { dst: MAC_A, src: MAC_B, etherType: EtherType.ARP });
    assert.equal(r.dst.buffer, frame.buffer);
    frame[0] = 0x42;
    assert.equal(r.dst[0], 0x42, 'documented aliasing');
    assert.equal(ethernetPayload(frame).length, 46, 'payload includes the link padding');
  });

  it('construct: emit writes exactly 14 bytes into a 0xa5 canary buffer', () => {
    const out = canary(20);
    emitEthernet(REPR, out);
    assert.equal(toHex(out.subarray(0, 14)), toHex(ETH_IPV4_UDP.subarray(0, 14)));
    assert.ok(out.subarray(14).every((x) => x === 0xa5));
    assert.equal(ethernetHeaderLen(REPR), ETHERNET_HEADER_LEN);
  });

  it('unknown EtherTypes (and 802.3 lengths, 802.1Q) pass through', () => {
    for (const t of [0x88cc, 0x0042, EtherType.VLAN, 0xffff]) {
      const out = new Uint8Array(14);
      emitEthernet({ ...REPR, etherType: t }, out);
      const r = parseEthernet(out);
      assert.ok(!isFault(r));
      assert.equal(r.etherType, t);
    }
  });

  it('every truncated length is a fault, never a throw', () => {
    for (let n = 0; n < ETHERNET_HEADER_LEN; n++) {
      assert.equal(checkEthernet(ETH_IPV4_UDP.subarray(0, n)), 'truncated');
      assert.equal(parseEthernet(ETH_IPV4_UDP.subarray(0, n)), 'truncated');
    }
    assert.ok(!isFault(parseEthernet(ETH_IPV4_UDP.subarray(0, 14))), 'a bare header is a frame with no payload');
  });

  it('emit refuses caller bugs with RangeError', () => {
    assert.throws(() => emitEthernet(REPR, new Uint8Array(13)), RangeError);
    assert.throws(() => emitEthernet({ ...REPR, src: new Uint8Array(4) }, new Uint8Array(14)), RangeError);
  });
});

describe('MAC helpers', () => {
  it('macToString / parseMac', () => {
    assert.equal(macToString(MAC_B), '00:11:22:33:44:55');
    assert.deepEqual(parseMac('00:11:22:33:44:55'), MAC_B);
    assert.deepEqual(parseMac('02-00-00-00-00-01'), MAC_A);
    assert.deepEqual(parseMac('A:b:C:d:E:f'), Uint8Array.of(10, 11, 12, 13, 14, 15));
    for (const bad of ['', '00:11:22:33:44', '00:11:22:33:44:55:66', '00:11-22:33:44:55', '000:11:22:33:44:55', 'gg:11:22:33:44:55', '00:11:22:33:44:55 ']) {
      assert.equal(parseMac(bad), undefined, bad);
    }
  });

  it('broadcast / multicast / unicast', () => {
    assert.ok(isBroadcastMac(BROADCAST_MAC));
    assert.ok(isMulticastMac(BROADCAST_MAC), 'broadcast is a group address');
    assert.ok(!isBroadcastMac(MAC_A));
    assert.ok(isMulticastMac(Uint8Array.of(0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb))); // IPv4 mDNS group
    assert.ok(isMulticastMac(Uint8Array.of(0x33, 0x33, 0, 0, 0, 1))); // IPv6 all-nodes
    assert.ok(isUnicastMac(MAC_A) && isUnicastMac(MAC_B));
    assert.ok(!isUnicastMac(BROADCAST_MAC));
    assert.ok(!isBroadcastMac(new Uint8Array(0)) && !isMulticastMac(new Uint8Array(0)));
  });
});
