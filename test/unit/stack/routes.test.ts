import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ip4FromBytes, ip4ToBytes, ip4ToString, prefixMask } from '../../../src/stack/ipv4-addr.ts';
import { RouteTable } from '../../../src/stack/routes.ts';

const ip = (s: string): number => ip4FromBytes(new Uint8Array(s.split('.').map(Number)));

describe('IPv4 addresses as uint32', () => {
  it('converts both ways and masks prefixes', () => {
    assert.equal(ip('10.1.2.3'), 0x0a010203);
    assert.equal(ip('255.255.255.255'), 0xffffffff);
    assert.deepEqual([...ip4ToBytes(0xc0a80101)], [192, 168, 1, 1]);
    assert.equal(ip4ToString(0xc0a80101), '192.168.1.1');
    assert.equal(prefixMask(0), 0);
    assert.equal(prefixMask(24), 0xffffff00);
    assert.equal(prefixMask(32), 0xffffffff);
    assert.equal(prefixMask(1), 0x80000000);
  });
});

describe('RouteTable', () => {
  it('longest prefix wins; default route; gateway vs on-link next hop', () => {
    const t = new RouteTable();
    t.add({ network: 0, prefixLen: 0, gateway: ip('10.0.0.1'), ifIndex: 0 });
    t.add({ network: ip('10.0.0.0'), prefixLen: 24, ifIndex: 0 });
    t.add({ network: ip('10.0.0.128'), prefixLen: 25, ifIndex: 1, mtu: 1280 });
    assert.equal(t.lookup(ip('10.0.0.7'))?.nextHop, ip('10.0.0.7'), 'on link');
    assert.equal(t.lookup(ip('10.0.0.7'))?.route.ifIndex, 0);
    const r = t.lookup(ip('10.0.0.200'));
    assert.equal(r?.route.ifIndex, 1, '/25 beats /24');
    assert.equal(r?.route.mtu, 1280);
    assert.equal(t.lookup(ip('8.8.8.8'))?.nextHop, ip('10.0.0.1'), 'default route via the gateway');
  });

  it('no route -> undefined; network bits are masked; equal prefixes go by metric; remove', () => {
    const t = new RouteTable();
    assert.equal(t.lookup(ip('1.2.3.4')), undefined);
    const added = t.add({ network: ip('192.168.1.77'), prefixLen: 24, ifIndex: 2, metric: 5 });
    assert.equal(added.network, ip('192.168.1.0'));
    t.add({ network: ip('192.168.1.0'), prefixLen: 24, ifIndex: 3, metric: 1 });
    assert.equal(t.lookup(ip('192.168.1.9'))?.route.ifIndex, 3, 'lower metric first');
    assert.equal(t.remove((r) => r.ifIndex === 3), 1);
    assert.equal(t.lookup(ip('192.168.1.9'))?.route.ifIndex, 2);
    assert.equal(t.list().length, 1);
  });
});
