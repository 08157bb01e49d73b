/**
 * Name resolution asks first for the address families the node can source: an IPv6-only node
 * (a 6LoWPAN mesh host, say) gets the AAAA record of a dual-stack name, a node with IPv4 the A
 * record, and a backend that cannot tell keeps IPv4 first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SocketBackend } from '../../../src/backends/contract.ts';
import { createUserspaceBackend } from '../../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createCable } from '../../../src/link/virtual-cable.ts';
import { StackRunner } from '../../../src/runtime/stack-runner.ts';
import { Network } from '../../../src/socket/network.ts';
import { Stack } from '../../../src/stack/stack.ts';
import { resolveOn } from '../../support/stack-net.ts';

const HOSTS = { 'broker.iot.test': ['192.0.2.7', '2001:db8:9::7'] };

function node(ipv4: boolean): { sched: VirtualScheduler; stack: Stack; ifIndex: number; net: Network; backend: SocketBackend } {
  const sched = new VirtualScheduler();
  const stack = new Stack({ rng: new XorShiftRng(5), name: 'n' });
  const [a] = createCable();
  const ifIndex = stack.addInterface(a, { ...(ipv4 ? { ipv4: { address: '10.0.0.2', prefixLen: 24 } } : {}), ipv6: { dadTransmits: 0 } });
  const runner = new StackRunner(stack, { scheduler: sched });
  const backend = createUserspaceBackend(stack, runner, { rng: new XorShiftRng(6), hosts: HOSTS });
  return { sched, stack, ifIndex, backend, net: new Network(backend, { scheduler: sched, rng: new XorShiftRng(7) }) };
}

describe('Network name resolution: address family order', () => {
  it('a node with only IPv6 (global) gets the AAAA record; link-local alone does not count', async () => {
    const n = node(false);
    assert.equal(n.backend.hasSourceAddress?.(1), false);
    assert.equal(n.backend.hasSourceAddress?.(2), false, 'link-local only');
    assert.equal(await resolveOn(n.sched, n.net.lookup('broker.iot.test')), '192.0.2.7', 'no usable source of either: IPv4 first');
    n.stack.addIpv6Address(n.ifIndex, '2001:db8:1::3', 64, n.sched.now());
    n.sched.advance(10);
    assert.equal(n.backend.hasSourceAddress?.(2), true);
    assert.equal(await resolveOn(n.sched, n.net.lookup('broker.iot.test')), '2001:db8:9::7');
    assert.equal(await resolveOn(n.sched, n.net.lookup('broker.iot.test', { family: 4 })), '192.0.2.7', 'an explicit family wins');
  });
  it('a dual-stack node keeps IPv4 first', async () => {
    const n = node(true);
    n.stack.addIpv6Address(n.ifIndex, '2001:db8:1::3', 64, n.sched.now());
    n.sched.advance(10);
    assert.equal(n.backend.hasSourceAddress?.(1), true);
    assert.equal(n.backend.hasSourceAddress?.(2), true);
    assert.equal(await resolveOn(n.sched, n.net.lookup('broker.iot.test')), '192.0.2.7');
  });
  it('a backend without hasSourceAddress: IPv4 first', async () => {
    const n = node(false);
    n.stack.addIpv6Address(n.ifIndex, '2001:db8:1::3', 64, n.sched.now());
    const plain: SocketBackend = { name: 'plain', caps: n.backend.caps, createSocket: (af, t) => n.backend.createSocket(af, t), lookup: (name, af, s) => n.backend.lookup(name, af, s) };
    const net = new Network(plain, { scheduler: n.sched, rng: new XorShiftRng(8) });
    assert.equal(await resolveOn(n.sched, net.lookup('broker.iot.test')), '192.0.2.7');
  });
});
