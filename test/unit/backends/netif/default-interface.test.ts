import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultInterface } from '../../../../src/backends/netif/default-interface.ts';
import type { InterfaceKind, NetworkInterface } from '../../../../src/backends/netif/network-interface.ts';

const nif = (name: string, kind: InterfaceKind): NetworkInterface => ({ name, kind }) as NetworkInterface;

describe('defaultInterface', () => {
  const all = [nif('cell0', 'cellular'), nif('wlan0', 'wifi'), nif('eth0', 'ethernet'), nif('ppp0', 'ppp')];
  it("follows Mbed's order without configuration: Ethernet, WiFi, cellular, mesh, PPP", () => {
    assert.equal(defaultInterface(all)?.name, 'eth0');
    assert.equal(defaultInterface(all.filter((n) => n.kind !== 'ethernet'))?.name, 'wlan0');
    assert.equal(defaultInterface([nif('ppp0', 'ppp'), nif('cell0', 'cellular')])?.name, 'cell0');
    assert.equal(defaultInterface([]), undefined);
  });
  it('takes a name or a kind from the configuration, then from IOTNET_DEFAULT_INTERFACE', () => {
    assert.equal(defaultInterface(all, { default: 'ppp0' })?.name, 'ppp0');
    assert.equal(defaultInterface(all, { default: 'cellular' })?.name, 'cell0');
    assert.equal(defaultInterface(all, {}, { IOTNET_DEFAULT_INTERFACE: 'wifi' })?.name, 'wlan0');
    assert.equal(defaultInterface(all, { default: 'eth0' }, { IOTNET_DEFAULT_INTERFACE: 'wifi' })?.name, 'eth0');
    assert.equal(defaultInterface(all, { default: 'mesh' }), undefined);
  });
});
