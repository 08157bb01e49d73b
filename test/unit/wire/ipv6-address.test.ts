// IPv6 address helpers of src/base/ip-address.ts (RFC 4291, RFC 2464, RFC 6724), checked
// against the addresses scapy put in the golden frames (./ipv6-golden.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  commonPrefixLength,
  formatIPv6,
  ipPrefixMatches,
  ipv6FromPrefixAndIid,
  ipv6LinkLocalFromIid,
  ipv6MulticastMac,
  ipv6MulticastScope,
  isLinkLocal,
  isSolicitedNodeMulticast,
  modifiedEui64,
  parseIPv6,
  parseIPv4,
  solicitedNodeMulticast,
} from '../../../src/base/ip-address.ts';
import { toHex } from '../../../src/wire/bytes.ts';
import { ETH_MLDV1_REPORT, ETH_ND_NS, IP6_D, IP6_S, LL_A, LL_B, MAC_A, MAC_B, SNM_A } from './ipv6-golden.ts';

const v6 = (t: string): Uint8Array => parseIPv6(t) as Uint8Array;

describe('IPv6 address helpers', () => {
  it('modified EUI-64 (RFC 4291 appendix A): the golden link-local addresses of MAC A and B', () => {
    assert.equal(toHex(modifiedEui64(MAC_A) as Uint8Array), '000000fffe000001');
    assert.equal(toHex(modifiedEui64(MAC_B) as Uint8Array), '021122fffe334455');
    assert.deepEqual(ipv6LinkLocalFromIid(modifiedEui64(MAC_A) as Uint8Array), LL_A);
    assert.deepEqual(ipv6LinkLocalFromIid(modifiedEui64(MAC_B) as Uint8Array), LL_B);
    // a 64-bit EUI-64 only gets its U/L bit inverted; the input is not modified
    const eui = Uint8Array.of(0x00, 0x12, 0x4b, 0x00, 0x01, 0x02, 0x03, 0x04);
    assert.equal(toHex(modifiedEui64(eui) as Uint8Array), '02124b0001020304');
    assert.equal(eui[0], 0);
    assert.equal(modifiedEui64(new Uint8Array(7)), undefined);
    assert.equal(ipv6LinkLocalFromIid(new Uint8Array(6)), undefined);
  });

  it('prefix + IID', () => {
    const iid = modifiedEui64(MAC_A) as Uint8Array;
    assert.equal(formatIPv6(ipv6FromPrefixAndIid(v6('2001:db8:1:2::'), iid) as Uint8Array), '2001:db8:1:2:0:ff:fe00:1');
    assert.equal(formatIPv6(ipv6FromPrefixAndIid(v6('2001:db8:1:2::').subarray(0, 8), iid) as Uint8Array), '2001:db8:1:2:0:ff:fe00:1');
    assert.equal(ipv6FromPrefixAndIid(new Uint8Array(4), iid), undefined);
    assert.equal(ipv6FromPrefixAndIid(IP6_S, new Uint8Array(4)), undefined);
  });

  it('solicited-node multicast (RFC 4291 §2.7.1): the groups of the golden NS and MLD report', () => {
    assert.deepEqual(solicitedNodeMulticast(LL_A), SNM_A);
    assert.deepEqual(solicitedNodeMulticast(LL_B), ETH_ND_NS.subarray(14 + 24, 14 + 40));
    assert.equal(formatIPv6(solicitedNodeMulticast(v6('2001:db8::abcd:1234:5678')) as Uint8Array), 'ff02::1:ff34:5678');
    const out = new Uint8Array(16).fill(0xee);
    assert.equal(solicitedNodeMulticast(IP6_D, out), out);
    assert.equal(formatIPv6(out), 'ff02::1:ff00:7');
    assert.equal(solicitedNodeMulticast(new Uint8Array(4)), undefined);
    assert.ok(isSolicitedNodeMulticast(SNM_A));
    assert.ok(!isSolicitedNodeMulticast(v6('ff02::1')));
    assert.ok(!isSolicitedNodeMulticast(v6('ff05::1:ff00:1')));
    assert.ok(!isSolicitedNodeMulticast(v6('ff02::2:ff00:1')));
    assert.ok(!isSolicitedNodeMulticast(LL_A));
  });

  it('multicast MAC (RFC 2464 §7): 33:33 + the low 32 bits, as in the golden frames', () => {
    assert.deepEqual(ipv6MulticastMac(SNM_A), ETH_MLDV1_REPORT.subarray(0, 6));
    assert.equal(toHex(ipv6MulticastMac(v6('ff02::16')) as Uint8Array), '333300000016');
    const out = new Uint8Array(6);
    assert.equal(ipv6MulticastMac(v6('ff02::1'), out), out);
    assert.equal(ipv6MulticastMac(IP6_S), undefined, 'not multicast');
    assert.equal(ipv6MulticastMac(new Uint8Array(4)), undefined);
  });

  it('link-local and multicast scope', () => {
    for (const t of ['fe80::1', 'febf::1', 'fe80::ff:fe00:1']) assert.ok(isLinkLocal(v6(t)), t);
    for (const t of ['fec0::1', 'fe00::1', '2001:db8::1', 'ff02::1', '::1']) assert.ok(!isLinkLocal(v6(t)), t);
    assert.ok(isLinkLocal(parseIPv4('169.254.1.2') as Uint8Array));
    assert.ok(!isLinkLocal(parseIPv4('169.253.1.2') as Uint8Array));
    assert.ok(!isLinkLocal(new Uint8Array(6)));
    assert.equal(ipv6MulticastScope(v6('ff02::1')), 2);
    assert.equal(ipv6MulticastScope(v6('ff05::2')), 5);
    assert.equal(ipv6MulticastScope(v6('ff1e::1')), 14);
    assert.equal(ipv6MulticastScope(LL_A), undefined);
  });

  it('common prefix length (RFC 6724 §2.2) and prefix match', () => {
    assert.equal(commonPrefixLength(IP6_S, IP6_D), 125);
    assert.equal(commonPrefixLength(IP6_S, IP6_S), 128);
    assert.equal(commonPrefixLength(v6('8000::'), v6('::')), 0);
    assert.equal(commonPrefixLength(v6('2001:db8::'), v6('2001:db9::')), 31);
    assert.equal(commonPrefixLength(parseIPv4('10.0.0.1') as Uint8Array, parseIPv4('10.0.0.3') as Uint8Array), 30);
    assert.equal(commonPrefixLength(IP6_S, new Uint8Array(4)), -1);
    assert.equal(commonPrefixLength(new Uint8Array(6), new Uint8Array(6)), -1);
    assert.ok(ipPrefixMatches(v6('2001:db8::1234'), v6('2001:db8::'), 64));
    assert.ok(!ipPrefixMatches(v6('2001:db8:0:1::1'), v6('2001:db8::'), 64));
    assert.ok(ipPrefixMatches(LL_A, v6('fe80::'), 10));
    assert.ok(ipPrefixMatches(LL_A, IP6_S, 0));
    assert.ok(!ipPrefixMatches(LL_A, LL_A, 129));
    assert.ok(!ipPrefixMatches(LL_A, LL_A, -1));
    assert.ok(!ipPrefixMatches(LL_A, LL_A, 1.5));
  });
});
