/**
 * A LAN of DHCP clients and our server under seeded loss, duplication, reordering and
 * jitter, for a day of virtual time with 30-minute leases: every client gets a distinct
 * address, keeps it through every renewal (RENEWING and REBINDING retransmissions make an
 * expiry at 10 % loss a one-in-a-million event per renewal), and the server's table agrees
 * with the clients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../src/base/rand.ts';
import { FaultInjector } from '../../src/link/index.ts';
import type { Dhcp4Client, Dhcp4ClientEvent } from '../../src/stack/dhcp/dhcp4-client.ts';
import { addClientHost, dhcpLan, kinds, startClient, type Node } from '../support/dhcp4-net.ts';
import { run } from '../support/stack-net.ts';

const CLIENTS = 30;
const HOURS = 24;
const LEASE_S = 1800;

describe('DHCPv4 on a lossy LAN (sim)', () => {
  it(`${CLIENTS} clients, 10 % loss + 5 % duplication + 5 % reordering each way, ${HOURS} h: distinct addresses, every renewal, tables agree`, (t) => {
    const lan = dhcpLan({ server: { leaseSeconds: LEASE_S } });
    const hosts: { node: Node; client: Dhcp4Client; events: Dhcp4ClientEvent[] }[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const node = addClientHost(lan, 1000 + i, {
        wrap: (port) => new FaultInjector(port, {
          rng: new XorShiftRng(5000 + i), scheduler: lan.sched, direction: 'both', lossPct: 10, dupPct: 5, reorderPct: 5, delayMs: 1, jitterMs: 5,
        }),
      });
      hosts.push({ node, ...startClient(lan, node, { hostname: `node-${i}` }) });
    }
    run(lan.sched, HOURS * 3600_000);
    const now = lan.sched.now();
    const addresses = new Set<number>();
    let renewals = 0;
    let rebinds = 0;
    for (const h of hosts) {
      assert.ok(['BOUND', 'RENEWING', 'REBINDING'].includes(h.client.state), `${h.node.stack.name}: ${h.client.state}`);
      const lease = h.client.lease;
      assert.ok(lease !== undefined);
      addresses.add(lease.address);
      assert.equal(h.node.stack.interface(h.node.ifIndex)?.address, lease.address);
      const row = lan.dhcp?.leaseFor(h.node.mac, now);
      assert.equal(row?.address, lease.address, 'the server agrees');
      assert.ok(row !== undefined && row.expiresAt >= lease.expiresAt, 'the server holds the lease at least as long as the client uses it');
      const k = kinds(h.events);
      assert.equal(k[0], 'bound');
      assert.deepEqual(k.filter((x) => !['bound', 'renewed', 'rebound'].includes(x)), [], `${h.node.stack.name}: no expiry, NAK or conflict`);
      assert.equal(k.filter((x) => x === 'bound').length, 1, 'bound once, then only renewed');
      renewals += k.filter((x) => x === 'renewed').length;
      rebinds += k.filter((x) => x === 'rebound').length;
      assert.equal(h.node.stack.stats.drops.internalError, 0);
    }
    assert.equal(addresses.size, CLIENTS, 'distinct addresses');
    assert.equal(lan.dhcp?.leases(now).filter((l) => l.state === 'bound').length, CLIENTS);
    // T1 = 900 s: 96 renewals per client in 24 h, minus the first.
    assert.ok(renewals + rebinds >= CLIENTS * ((HOURS * 3600) / (LEASE_S / 2) - 1), `renewals ${renewals}, rebinds ${rebinds}`);
    t.diagnostic(`renewed ${renewals}, rebound ${rebinds}; server: ${JSON.stringify(lan.dhcp?.stats)}`);
  });
});
