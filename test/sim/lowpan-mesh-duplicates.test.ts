/**
 * A unicast frame whose ACK is lost is sent
 * again by the MAC (same data sequence number), and the receiver delivers it twice; nothing
 * drops a repeated (source, DSN) frame (IEEE 802.15.4 receivers discard duplicates by DSN).
 * Over one 10 % lossy hop, UDP datagrams from a mesh node reach the backbone host twice.
 * Found by the real-time interop test (test/interop/lowpan-mesh-kernel.test.ts), where an
 * echo arrived twice; over 3 hops, 133 of 500 datagrams were duplicated.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { XorShiftRng } from '../../src/base/rand.ts';
import { VirtualScheduler } from '../../src/base/time.ts';
import { createUserspaceBackend } from '../../src/backends/userspace/userspace-backend.ts';
import { Network } from '../../src/socket/network.ts';
import { BACKBONE_HOST_ADDR, meshNet } from '../support/mesh-net.ts';
import { resolveOn, run } from '../support/stack-net.ts';

test('a MAC retransmission after a lost ACK is not delivered twice (one hop, 10 % loss)', async () => {
  const sched = new VirtualScheduler();
  const mesh = meshNet({ scheduler: sched, hops: 1, lossPct: 10, seed: 7 });
  for (let i = 0; i < 240 && !mesh.allRegistered(); i++) run(sched, 500);
  assert.ok(mesh.allRegistered());
  const node = mesh.nodes[0];
  const host = mesh.host;
  assert.ok(node !== undefined && host !== undefined);
  const hostNet = new Network(createUserspaceBackend(host.stack, host.runner, { rng: new XorShiftRng(60) }), { scheduler: sched, rng: new XorShiftRng(61) });
  const nodeNet = new Network(createUserspaceBackend(node.stack, node.runner, { rng: new XorShiftRng(50) }), { scheduler: sched, rng: new XorShiftRng(51) });
  const server = await resolveOn(sched, hostNet.udp({ family: 6, port: 7001 }));
  const seen = new Map<number, number>();
  void (async () => {
    for await (const d of server) {
      const id = ((d.data[0] ?? 0) << 8) | (d.data[1] ?? 0);
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
  })().catch(() => undefined);
  const client = await resolveOn(sched, nodeNet.udp({ family: 6 }));
  for (let i = 0; i < 200; i++) {
    await resolveOn(sched, client.send(Uint8Array.of(i >> 8, i & 255, 1, 2, 3, 4), `[${BACKBONE_HOST_ADDR}]:7001`));
    run(sched, 50);
  }
  run(sched, 2000);
  const dups = [...seen.entries()].filter(([, n]) => n > 1).length;
  assert.ok(node.port.stats.retries > 0, 'the MAC did retransmit');
  assert.equal(dups, 0, `${dups} of ${seen.size} datagrams delivered more than once (MAC retries ${node.port.stats.retries})`);
  mesh.close();
});
