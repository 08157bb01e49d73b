/**
 * IPv6 on point-to-point `'ip'` medium links, as PPP gives them (RFC 5072): an explicit
 * link-local interface identifier (`linkLocalIid` as 8 bytes, from IPV6CP) and its
 * validation, no DAD (`dadTransmits: 0`) with router solicitation still sent, no
 * neighbor resolution (packets go straight out), the peer's link-local address as the
 * default router, and the same with DAD on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createCable } from '../../../src/link/index.ts';
import { StackRunner } from '../../../src/runtime/stack-runner.ts';
import type { Ipv6InterfaceOptions } from '../../../src/stack/ipv6-layer.ts';
import { Stack, toIpv6, type PingResult } from '../../../src/stack/stack.ts';
import { drain, enc, openUdp, run } from '../../support/stack-net.ts';

const IID_A = Uint8Array.of(0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55);
const IID_B = Uint8Array.of(0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x01);
const LL_A = toIpv6('fe80::211:22ff:fe33:4455');
const LL_B = toIpv6('fe80::abb:ccdd:eeff:1');

/** Two stacks on an `'ip'` cable (MTU 1500), IPv6 only; `a`/`b`: their interface options. */
function pppPair(a: Ipv6InterfaceOptions, b: Ipv6InterfaceOptions) {
  const sched = new VirtualScheduler();
  const [ea, eb] = createCable({ medium: 'ip' });
  const A = new Stack({ rng: new XorShiftRng(41), name: 'A' });
  const B = new Stack({ rng: new XorShiftRng(42), name: 'B' });
  const ia = A.addInterface(ea, { ipv6: a });
  const ib = B.addInterface(eb, { ipv6: b });
  new StackRunner(A, { scheduler: sched });
  new StackRunner(B, { scheduler: sched });
  return { sched, A, B, ia, ib, ea, eb };
}

function ping(sched: VirtualScheduler, s: Stack, dst: Uint8Array, ifIndex?: number): PingResult | undefined {
  let r: PingResult | undefined;
  assert.equal(s.ping(sched.now(), dst, { timeoutMs: 1000, ...(ifIndex !== undefined ? { ifIndex } : {}) }, (x) => { r = x; }), 0);
  run(sched, 1010);
  return r;
}

describe('IPv6 on point-to-point links (PPP)', () => {
  it('an explicit 8-byte identifier makes fe80::/64 + it, preferred at once without DAD', () => {
    const { A, ia } = pppPair({ linkLocalIid: IID_A, dadTransmits: 0, autoconf: false }, { dadTransmits: 0, autoconf: false });
    const addrs = A.ipv6Addresses(ia);
    assert.equal(addrs.length, 1);
    assert.deepEqual(addrs[0]?.address, LL_A);
    assert.equal(addrs[0]?.state, 'preferred');
    assert.equal(addrs[0]?.origin, 'link-local');
    assert.ok(A.isLocalAddress6(LL_A));
  });

  it('identifier validation: 8 bytes, not all zero (RangeError, nothing enabled)', () => {
    const s = new Stack({ rng: new XorShiftRng(1) });
    const [e] = createCable({ medium: 'ip' });
    const i = s.addInterface(e);
    for (const bad of [new Uint8Array(7), new Uint8Array(9).fill(1), new Uint8Array(8), new Uint8Array(16).fill(1)]) {
      assert.throws(() => s.enableIpv6(i, { linkLocalIid: bad }), RangeError, `${bad.length} bytes`);
    }
    assert.throws(() => s.enableIpv6(i, { linkLocalIid: 'random' as unknown as 'stable' }), RangeError);
    assert.equal(s.ipv6Addresses(i).length, 0);
    s.enableIpv6(i, { linkLocalIid: IID_B, dadTransmits: 0 });
    assert.deepEqual(s.ipv6Addresses(i).map((a) => a.address), [LL_B]);
  });

  it('explicit identifiers on Ethernet too; eui64 on an ip link falls back to a stable identifier', () => {
    const s = new Stack({ rng: new XorShiftRng(2) });
    const eth = s.addInterface(createCable()[0], { ipv6: { linkLocalIid: IID_A, dadTransmits: 0, autoconf: false } });
    assert.deepEqual(s.ipv6Addresses(eth)[0]?.address, LL_A);
    const ip = s.addInterface(createCable({ medium: 'ip' })[0], { ipv6: { linkLocalIid: 'eui64', dadTransmits: 0, autoconf: false } });
    const ll = s.ipv6Addresses(ip)[0]?.address as Uint8Array;
    assert.equal(ll[0], 0xfe);
    assert.equal(ll[1], 0x80);
  });

  it('no DAD, autoconf on: router solicitations still go out (within 1 s, then 4 s apart)', () => {
    const { sched, A } = pppPair({ linkLocalIid: IID_A, dadTransmits: 0 }, { linkLocalIid: IID_B, dadTransmits: 0, autoconf: false });
    run(sched, 1000);
    assert.equal(A.stats.nd.rsOut, 1);
    run(sched, 9000);
    assert.equal(A.stats.nd.rsOut, 3);
    assert.equal(A.stats.nd.nsOut, 0, 'no DAD, no resolution');
  });

  it('link-local ping both ways, global addresses through the peer link-local as gateway, UDP; no Neighbor Solicitations', () => {
    const { sched, A, B, ia, ib } = pppPair(
      { linkLocalIid: IID_A, dadTransmits: 0, autoconf: true, addresses: [{ address: toIpv6('2001:db8:a::1'), prefixLen: 128 }], gateway: LL_B },
      { linkLocalIid: IID_B, dadTransmits: 0, autoconf: false, addresses: [{ address: toIpv6('2001:db8:b::1'), prefixLen: 128 }], gateway: LL_A },
    );
    assert.equal(ping(sched, A, LL_B, ia)?.code, 0);
    assert.equal(ping(sched, B, LL_A, ib)?.code, 0);
    const r = ping(sched, A, toIpv6('2001:db8:b::1'));
    assert.equal(r?.code, 0);
    assert.deepEqual(r?.from6, toIpv6('2001:db8:b::1'));
    const pb = openUdp(B, 7000, new Uint8Array(16));
    const pa = openUdp(A, 0, new Uint8Array(16));
    A.udpSendTo(sched.now(), pa, enc.encode('over ppp'), 8, toIpv6('2001:db8:b::1'), 7000);
    run(sched, 10);
    const got = drain(B, pb);
    assert.equal(new TextDecoder().decode(got[0]?.data), 'over ppp');
    assert.deepEqual(got[0]?.from6, toIpv6('2001:db8:a::1'));
    assert.equal(A.stats.nd.nsOut + B.stats.nd.nsOut, 0);
  });

  it('with DAD on an ip link: one solicitation per address, then preferred; a peer claiming the address makes it duplicate (no new identifier)', () => {
    const { sched, A, ia } = pppPair({ linkLocalIid: IID_A }, { linkLocalIid: IID_A, dadTransmits: 0, autoconf: false });
    assert.equal(A.ipv6Addresses(ia)[0]?.state, 'tentative');
    run(sched, 3000);
    // B holds the same link-local address (an IPV6CP failure): it defends it against A's probe.
    const addrs = A.ipv6Addresses(ia);
    assert.equal(addrs.length, 1, 'an explicit identifier is not replaced');
    assert.equal(addrs[0]?.state, 'duplicate');
    assert.equal(A.stats.nd.dadConflicts, 1);
  });

  it('with DAD on an ip link and distinct identifiers: preferred after DAD', () => {
    const { sched, A, ia } = pppPair({ linkLocalIid: IID_A, autoconf: false }, { linkLocalIid: IID_B, dadTransmits: 0, autoconf: false });
    run(sched, 3000);
    assert.equal(A.ipv6Addresses(ia)[0]?.state, 'preferred');
    assert.equal(A.stats.nd.nsOut, 1);
  });
});
