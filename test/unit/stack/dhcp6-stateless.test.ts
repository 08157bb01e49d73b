/**
 * Stateless DHCPv6 wired to the stack: a Router Advertisement with the O flag starts an
 * Information-request from the link-local address to ff02::1:2; a Reply from a server
 * stack (which joined ff02::1:2) configures DNS servers and search domains.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIPv6 } from '../../../src/base/ip-address.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { VirtualSwitch } from '../../../src/link/index.ts';
import { StackRunner } from '../../../src/runtime/stack-runner.ts';
import { Dhcp6Stateless, type Dhcp6StatelessEvent } from '../../../src/stack/dhcp/dhcp6-stateless.ts';
import { Stack } from '../../../src/stack/stack.ts';
import type { UdpPcb } from '../../../src/stack/udp.ts';
import { Dhcpv6MessageType, duidLl, encodeDhcpv6, parseDhcpv6 } from '../../../src/wire/dhcpv6.ts';
import { isFault } from '../../../src/wire/fault.ts';
import { run } from '../../support/stack-net.ts';

const ip6 = (s: string): Uint8Array => parseIPv6(s) as Uint8Array;

describe('stateless DHCPv6 on the stack', () => {
  it('asks ff02::1:2 when started, takes the DNS servers and domains of the Reply', () => {
    const sched = new VirtualScheduler();
    const sw = new VirtualSwitch();
    const client = new Stack({ rng: new XorShiftRng(1) });
    const ci = client.addInterface(sw.port(), { ipv6: true });
    new StackRunner(client, { scheduler: sched });
    const server = new Stack({ rng: new XorShiftRng(2) });
    const si = server.addInterface(sw.port(), { ipv6: { autoconf: false } });
    new StackRunner(server, { scheduler: sched });
    server.joinIpv6Group(si, 'ff02::1:2');
    const srv = server.udpOpen(6) as UdpPcb;
    assert.equal(server.udpBind(srv, new Uint8Array(16), 547), 0);
    const dhcp = new Dhcp6Stateless(client, { ifIndex: ci, start: 'now' });
    const events: Dhcp6StatelessEvent[] = [];
    dhcp.on((e) => events.push(e));
    run(sched, 4000);
    const buf = new Uint8Array(1500);
    const from: { address: number; port: number; address6?: Uint8Array | undefined } = { address: 0, port: 0 };
    const n = server.udpRecvFrom(srv, buf, buf.length, from);
    assert.ok(n > 0, 'the server got the Information-request');
    assert.equal(from.port, 546);
    assert.equal(from.address6?.[0], 0xfe, 'from the link-local address');
    const req = parseDhcpv6(buf.subarray(0, n));
    assert.ok(!isFault(req));
    assert.equal(req.msgType, Dhcpv6MessageType.INFORMATION_REQUEST);
    const reply = encodeDhcpv6({
      msgType: Dhcpv6MessageType.REPLY, transactionId: req.transactionId,
      options: {
        serverId: duidLl(Uint8Array.of(2, 0, 0, 0, 0, 9)),
        ...(req.options.clientId !== undefined ? { clientId: req.options.clientId } : {}),
        dnsServers: [ip6('2001:db8::53')], domainList: ['lan.test'],
      },
    });
    assert.equal(server.udpSendTo(sched.now(), srv, reply, reply.length, from.address6, 546), reply.length);
    run(sched, 100);
    assert.equal(dhcp.client.state, 'CONFIGURED');
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]?.dnsServers, [ip6('2001:db8::53')]);
    assert.deepEqual(events[0]?.domainSearch, ['lan.test']);
    dhcp.close();
    assert.equal(client.udpOpenCount, 0);
  });
});
