// MeshInterface on virtual time: a 6LoWPAN node on the simulated 802.15.4 medium of
// test/support/mesh-net.ts, two radio hops (a relay node between) from the border router, which
// routes the mesh prefix to an Ethernet host on its backbone. Status sequences with reasons and
// times (link-local at once, global once registered), UDP and TCP with the backbone host through
// the interface's backend, disconnect, the border router out of range (registration lapses →
// local-up, back in range → global-up), a reconnect, timeouts and the rules.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { isSocketError } from '../../../../src/base/socket-error.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { MeshInterface, type MeshInterfaceOptions } from '../../../../src/backends/netif/mesh-interface.ts';
import { RadioLink } from '../../../../src/link/radio-link.ts';
import type { RadioPort } from '../../../../src/link/radio-medium.ts';
import { createUserspaceBackend } from '../../../../src/backends/userspace/index.ts';
import { Network } from '../../../../src/socket/network.ts';
import { BACKBONE_HOST_ADDR, meshNet, type MeshNet } from '../../../support/mesh-net.ts';
import { pattern, resolveOn, settle, tcpEcho } from '../../../support/stack-net.ts';

interface Lab {
  sched: VirtualScheduler;
  mesh: MeshNet;
  port: RadioPort;
  mi: MeshInterface;
  /** `status:reason@ms` since the lab was built. */
  statuses: string[];
  hostNet: Network;
}

/** The BR, one relay node, and our interface's radio two hops from the BR. */
function lab(opts: Partial<MeshInterfaceOptions> & { lossPct?: number } = {}): Lab {
  const sched = new VirtualScheduler();
  const { lossPct, ...mopts } = opts;
  const mesh = meshNet({ scheduler: sched, hops: 2, bareNodes: 1, seed: 3, ...(lossPct !== undefined ? { lossPct } : {}) });
  const port = mesh.ports[2] as RadioPort;
  const t0 = sched.now();
  const mi = new MeshInterface({ link: new RadioLink(port), scheduler: sched, rng: new XorShiftRng(5), meshRoutes: mesh.medium.meshRouter(port), ...mopts });
  const statuses: string[] = [];
  mi.on('status', (e) => statuses.push(`${e.status}:${e.reason}@${Math.round(sched.now() - t0)}`));
  const host = mesh.host;
  assert.ok(host !== undefined);
  const hostNet = new Network(createUserspaceBackend(host.stack, host.runner, { rng: new XorShiftRng(60) }), { scheduler: sched, rng: new XorShiftRng(61) });
  return { sched, mesh, port, mi, statuses, hostNet };
}

const names = (l: Lab): string[] => l.statuses.map((s) => s.replace(/@[\d.]+$/, ''));

const rejectsWith = (code: string, reason?: string) => (e: unknown): boolean =>
  isSocketError(e, code as never) && (reason === undefined || e.detail.reason === reason);

describe('MeshInterface', () => {
  it('connect: disconnected -> connecting -> local-up (link-local) -> global-up (registered); addresses; UDP and TCP with the backbone host; disconnect', async () => {
    const l = lab();
    const { mi, sched, mesh } = l;
    assert.equal(mi.name, 'mesh0');
    assert.equal(mi.kind, 'mesh');
    assert.equal(mi.status, 'disconnected');
    assert.equal(mi.linkUp, true);
    assert.equal(mi.mac, '02:00:00:00:00:00:00:03');
    assert.deepEqual(mi.addresses, { ipv4: undefined, prefixLen: undefined, gateway: undefined, ipv6: [], dnsServers: [] });
    await resolveOn(sched, mi.connect());
    assert.deepEqual(names(l), ['connecting:ipv6', 'local-up:link-local', 'global-up:registered']);
    assert.equal(mi.status, 'global-up');
    const ours = mesh.address(1);
    assert.deepEqual([...mi.addresses.ipv6].sort(), ['fe80::3', ours].sort());
    assert.equal(mi.addresses.gateway, 'fe80::1', 'the default router: the BR, by its EUI-64 link-local address');
    assert.deepEqual(mi.globalAddress, { address: ours, registered: true });

    // UDP through the interface's backend to the backbone host, and back.
    const net = new Network(mi.backend, { scheduler: sched, rng: new XorShiftRng(8) });
    const server = await resolveOn(sched, l.hostNet.udp({ family: 6, port: 7001 }));
    const client = await resolveOn(sched, net.udp({ family: 6 }));
    const payload = pattern(300, 1); // three fragments on the air
    await resolveOn(sched, client.send(payload, `[${BACKBONE_HOST_ADDR}]:7001`));
    const got = await resolveOn(sched, server.recv({ timeoutMs: 5000 }));
    assert.deepEqual(got.data, payload);
    assert.equal(got.from.address, ours, 'from our registered global address');
    await resolveOn(sched, server.send(got.data.subarray(0, 20), got.from));
    const back = await resolveOn(sched, client.recv({ timeoutMs: 5000 }));
    assert.deepEqual(back.data, payload.subarray(0, 20));
    // TCP echo.
    const data = pattern(8000, 2);
    const echoed = await tcpEcho(sched, l.hostNet, net, BACKBONE_HOST_ADDR, 7000, data);
    assert.deepEqual(echoed.back, data);

    // disconnect: disconnected, addresses gone; sends on the open socket fail (no route); closed, nothing left open.
    await resolveOn(sched, mi.disconnect());
    assert.deepEqual(names(l).slice(3), ['disconnected:disconnect']);
    assert.equal(mi.status, 'disconnected');
    assert.deepEqual(mi.addresses, { ipv4: undefined, prefixLen: undefined, gateway: undefined, ipv6: [], dnsServers: [] });
    assert.equal(mi.globalAddress, undefined);
    assert.equal(mi.stack.ipv6Addresses().length, 0);
    await assert.rejects(resolveOn(sched, client.send(payload, `[${BACKBONE_HOST_ADDR}]:7001`)));
    await resolveOn(sched, client.close());
    await resolveOn(sched, server.close());
    await resolveOn(sched, net.close());
    assert.equal(mi.backend.openSockets, 0);
    await resolveOn(sched, mi.close());
    mesh.close();
  });

  it('the border router out of range: the registration lapses -> local-up (registration-lost); back in range -> global-up', async () => {
    const l = lab({ registrationLifetimeMin: 1 });
    const { mi, sched, mesh } = l;
    await resolveOn(sched, mi.connect());
    const upAt = sched.now();
    mesh.medium.unlink(mesh.ports[0] as RadioPort, mesh.ports[1] as RadioPort);
    // Refreshed at 45 s (3/4 of the minute), unanswered; the registration runs out at 60 s.
    await settle(sched, 30_000);
    assert.equal(mi.status, 'global-up', 'still registered before the lifetime ran out');
    await settle(sched, 40_000);
    assert.equal(mi.status, 'local-up');
    assert.deepEqual(names(l), ['connecting:ipv6', 'local-up:link-local', 'global-up:registered', 'local-up:registration-lost']);
    const lostAt = Number((l.statuses[3] as string).split('@')[1]);
    assert.ok(lostAt - upAt >= 59_000 && lostAt - upAt <= 61_000, `lapsed ${lostAt - upAt} ms after registering`);
    assert.deepEqual(mi.addresses.ipv6, ['fe80::3'], 'only the link-local address is usable');
    assert.deepEqual(mi.globalAddress, { address: mesh.address(1), registered: false });
    // The BR back in range: the retried registration is accepted again (back-off up to 60 s).
    mesh.medium.link(mesh.ports[0] as RadioPort, mesh.ports[1] as RadioPort);
    for (let i = 0; i < 130 && mi.status !== 'global-up'; i++) await settle(sched, 1000);
    assert.equal(mi.status, 'global-up');
    assert.deepEqual(names(l).slice(4), ['global-up:registered']);
    await resolveOn(sched, mi.close());
    assert.equal(mi.status, 'disconnected');
    mesh.close();
  });

  it('reconnect after disconnect starts over (new interface, new registration); 10 % frame loss', async () => {
    const l = lab({ lossPct: 10 });
    const { mi, sched, mesh } = l;
    for (let i = 0; i < 3; i++) {
      const before = mi.ifIndex;
      await resolveOn(sched, mi.connect());
      assert.equal(mi.status, 'global-up');
      assert.ok(mi.addresses.ipv6.includes(mesh.address(1)));
      await resolveOn(sched, mi.disconnect());
      assert.notEqual(mi.ifIndex, before);
    }
    assert.deepEqual(names(l), Array.from({ length: 3 }, () => ['connecting:ipv6', 'local-up:link-local', 'global-up:registered', 'disconnected:disconnect']).flat());
    await resolveOn(sched, mi.close());
    mesh.close();
  });

  it('no border router: local-up only; connect fails ETIMEDOUT no-router; waitFor local-up resolves at local-up', async () => {
    const l = lab({ connectTimeoutMs: 30_000 });
    const { mi, sched, mesh } = l;
    mesh.medium.unlink(mesh.ports[0] as RadioPort, mesh.ports[1] as RadioPort);
    await assert.rejects(resolveOn(sched, mi.connect()), rejectsWith('ETIMEDOUT', 'no-router'));
    assert.deepEqual(names(l), ['connecting:ipv6', 'local-up:link-local', 'disconnected:no-router']);
    await assert.rejects(mi.disconnect(), rejectsWith('ENOTCONN'));
    await resolveOn(sched, mi.close());

    const l2 = lab({ waitFor: 'local-up' });
    l2.mesh.medium.unlink(l2.mesh.ports[0] as RadioPort, l2.mesh.ports[1] as RadioPort);
    await resolveOn(l2.sched, l2.mi.connect());
    assert.equal(l2.mi.status, 'local-up');
    assert.deepEqual(l2.mi.addresses.ipv6, ['fe80::3']);
    await assert.rejects(l2.mi.connect(), rejectsWith('EISCONN'));
    // The router reachable later: global-up on its own.
    l2.mesh.medium.link(l2.mesh.ports[0] as RadioPort, l2.mesh.ports[1] as RadioPort);
    for (let i = 0; i < 70 && (l2.mi.status as string) !== 'global-up'; i++) await settle(l2.sched, 1000);
    assert.equal(l2.mi.status, 'global-up');
    await resolveOn(l2.sched, l2.mi.close());
    mesh.close();
    l2.mesh.close();
  });

  it('rules: EALREADY, disconnect during connect (ECONNABORTED), AbortSignal; a non-802.15.4 device is refused', async () => {
    const l = lab();
    const { mi, sched } = l;
    const c = mi.connect();
    await assert.rejects(mi.connect(), rejectsWith('EALREADY'));
    await settle(sched, 1);
    const d = mi.disconnect();
    await assert.rejects(resolveOn(sched, c), rejectsWith('ECONNABORTED'));
    await resolveOn(sched, d);
    assert.equal(mi.status, 'disconnected');
    const ac = new AbortController();
    const c2 = mi.connect({ signal: ac.signal });
    await settle(sched, 1);
    ac.abort();
    await assert.rejects(resolveOn(sched, c2), rejectsWith('ECONNABORTED', 'aborted'));
    assert.equal(mi.status, 'disconnected');
    await resolveOn(sched, mi.connect());
    assert.equal(mi.status, 'global-up');
    await resolveOn(sched, mi.close());
    l.mesh.close();
    const eth = { caps: { medium: 'ethernet' as const, mtu: 1500 }, receive: () => undefined, transmit: () => false, onReadable: () => () => undefined, close: () => undefined };
    assert.throws(() => new MeshInterface({ link: eth, scheduler: sched, rng: new XorShiftRng(1) }), RangeError);
    assert.throws(() => new MeshInterface({ link: new RadioLink(l.port), scheduler: sched, rng: new XorShiftRng(1), registrationLifetimeMin: 0 }), RangeError);
  });
});
