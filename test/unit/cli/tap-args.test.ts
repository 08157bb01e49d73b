import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTapArgs, statusLine } from '../../../src/cli/tap-command.ts';
import { UsageError } from '../../../src/cli/usage-error.ts';

describe('iotnet tap: arguments and status lines', () => {
  it('parses a static configuration, inline and separate values', () => {
    const { options } = parseTapArgs(['tap0', '--ipv4=10.0.9.2/24', '--gateway', '10.0.9.1', '--dns', '10.0.9.1', '--dns', '10.0.9.3:5353',
      '--serve', 'sockserver', '--port-offset', '20000', '--pcap', 'x.pcap', '--mac', '02:00:00:00:00:09']);
    assert.deepEqual(options, {
      ifname: 'tap0', ipv4: { address: '10.0.9.2', prefixLen: 24 }, dns: ['10.0.9.1', '10.0.9.3:5353'], gateway: '10.0.9.1',
      mac: '02:00:00:00:00:09', serve: 'sockserver', portOffset: 20000, pcap: 'x.pcap',
    });
  });

  it('parses DHCP with a host name', () => {
    const { options } = parseTapArgs(['tap0', '--ipv4', 'dhcp', '--hostname', 'sensor-1']);
    assert.equal(options.ipv4, 'dhcp');
    assert.equal(options.hostname, 'sensor-1');
  });

  for (const [args, re] of [
    [[], /IFNAME is missing/],
    [['tap0'], /--ipv4 \(ADDR\/LEN or dhcp\) or --ipv6 \(auto or ADDR\/LEN\) is required/],
    [['tap0', '--ipv6', 'fe80::/129'], /--ipv6: expected auto or ADDR\/LEN/],
    [['tap0', '--ipv6', 'ff02::1/64'], /--ipv6: expected auto or ADDR\/LEN/],
    [['tap0', '--ipv6', '2001:db8::2'], /--ipv6: expected auto or ADDR\/LEN/],
    [['tap0', '--ipv6', 'auto', '--gateway6', 'fe80::1'], /--gateway6 is for --ipv6 ADDR\/LEN/],
    [['tap0', '--ipv6', '2001:db8::2/64', '--gateway6', 'nope'], /--gateway6: not an IPv6 address/],
    [['tap0', '--ipv4', 'dhcp', '--gateway', '10.0.0.1'], /--gateway is for --ipv4 ADDR\/LEN/],
    [['tap0', '--ipv4', '10.0.0.300/24'], /--ipv4: expected ADDR\/LEN/],
    [['tap0', '--ipv4', '10.0.0.2/33'], /--ipv4: expected ADDR\/LEN/],
    [['tap0', '--ipv4', '10.0.0.2/24', '--hostname', 'x'], /--hostname is for --ipv4 dhcp/],
    [['tap0', '--ipv4', 'dhcp', '--hostname', '-bad-'], /not a host name/],
    [['tap0', '--ipv4', 'dhcp', '--serve', 'http'], /unknown service 'http'/],
    [['tap0', '--ipv4', 'dhcp', '--port-offset', '70000'], /not a port offset/],
    [['tap0', '--ipv4', 'dhcp', '--dns'], /--dns needs a value/],
    [['tap0', '--ipv4', 'dhcp', '--mac', '02:00'], /--mac: expected/],
    [['tap0', 'tap1', '--ipv4', 'dhcp'], /one IFNAME only/],
    [['this-name-is-far-too-long', '--ipv4', 'dhcp'], /not an interface name/],
  ] as const) {
    it(`refuses ${JSON.stringify(args)}`, () => {
      assert.throws(() => parseTapArgs(args), (e: unknown) => e instanceof UsageError && re.test(e.message));
    });
  }

  it('parses IPv6: auto, or a static address with a router, alone or beside IPv4', () => {
    assert.equal(parseTapArgs(['tap0', '--ipv6', 'auto']).options.ipv6, 'auto');
    assert.equal(parseTapArgs(['tap0', '--ipv6', 'auto']).options.ipv4, undefined);
    const { options } = parseTapArgs(['tap0', '--ipv4', 'dhcp', '--ipv6', '2001:db8::2/64', '--gateway6', 'fe80::1']);
    assert.deepEqual(options.ipv6, { address: '2001:db8::2', prefixLen: 64 });
    assert.equal(options.gateway6, 'fe80::1');
    assert.equal(options.ipv4, 'dhcp');
  });

  it('prints one line per status', () => {
    assert.equal(statusLine({ type: 'ipv6-address', address: 'fe80::1', prefixLen: 64, state: 'preferred', origin: 'link-local' }), 'tap: ipv6 address fe80::1/64 (link-local) preferred');
    assert.equal(statusLine({ type: 'ipv6-router', router: 'fe80::1', added: true }), 'tap: ipv6 default router fe80::1 added');
    assert.equal(statusLine({ type: 'ipv6-dns', source: 'dhcpv6', servers: ['2001:db8::53'], domains: ['lan.test'] }), 'tap: ipv6 dns (dhcpv6) 2001:db8::53, search lan.test');
    assert.equal(statusLine({ type: 'link-up', ifname: 'tap0', mtu: 1500, mac: '02:00:00:00:00:09' }), 'tap: link up: tap0 (mtu 1500, stack mac 02:00:00:00:00:09)');
    assert.equal(statusLine({ type: 'address', address: '10.0.9.2', prefixLen: 24, source: 'static', gateway: '10.0.9.1', dns: ['10.0.9.1'] }),
      'tap: address 10.0.9.2/24 (static), gateway 10.0.9.1, dns 10.0.9.1');
    assert.equal(statusLine({ type: 'dhcp', event: 'bound', address: '10.0.9.23', prefixLen: 24, server: '10.0.9.1', gateway: '10.0.9.1', dns: ['10.0.9.1'], leaseSeconds: 3600, mtu: 1400 }),
      'tap: address 10.0.9.23/24 (dhcp from 10.0.9.1, lease 3600 s), gateway 10.0.9.1, dns 10.0.9.1, mtu 1400');
    assert.equal(statusLine({ type: 'dhcp', event: 'renewed', address: '10.0.9.23', server: '10.0.9.1', leaseSeconds: 3600 }), 'tap: lease renewed 10.0.9.23 (dhcp from 10.0.9.1, lease 3600 s)');
    assert.equal(statusLine({ type: 'dhcp', event: 'expired', address: '10.0.9.23' }), 'tap: lease expired, address 10.0.9.23 removed');
    assert.equal(statusLine({ type: 'dhcp-state', state: 'SELECTING' }), 'tap: dhcp SELECTING');
  });
});
