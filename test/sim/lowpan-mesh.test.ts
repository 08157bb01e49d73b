/**
 * The 6LoWPAN acceptance topology on virtual time: a 3-hop mesh-under chain with 10 % frame loss
 * on every radio link, a border router, and a host on its Ethernet backbone. The farthest node
 * registers its address, then exchanges UDP (fragmented and not) and 1 MiB of TCP with the host.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { XorShiftRng } from '../../src/base/rand.ts';
import { VirtualScheduler } from '../../src/base/time.ts';
import { createUserspaceBackend } from '../../src/backends/userspace/userspace-backend.ts';
import type { StackRunner } from '../../src/runtime/stack-runner.ts';
import { Network } from '../../src/socket/network.ts';
import type { Stack } from '../../src/stack/stack.ts';
import { BACKBONE_HOST_ADDR, meshNet } from '../support/mesh-net.ts';
import { pattern, resolveOn, run, tcpEcho } from '../support/stack-net.ts';

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function setup(): { sched: VirtualScheduler; mesh: ReturnType<typeof meshNet>; farNet: Network; hostNet: Network } {
  const sched = new VirtualScheduler();
  const mesh = meshNet({ scheduler: sched, hops: 3, lossPct: 10, seed: 7 });
  for (let i = 0; i < 240 && !mesh.allRegistered(); i++) run(sched, 500);
  assert.ok(mesh.allRegistered(), 'every node registered its global address with the border router');
  const far = mesh.nodes[2];
  const host = mesh.host;
  assert.ok(far !== undefined && host !== undefined);
  const net = (stack: Stack, runner: StackRunner, seed: number): Network =>
    new Network(createUserspaceBackend(stack, runner, { rng: new XorShiftRng(seed) }), { scheduler: sched, rng: new XorShiftRng(seed + 1) });
  return { sched, mesh, farNet: net(far.stack, far.runner, 50), hostNet: net(host.stack, host.runner, 60) };
}

test('3-hop mesh, 10 % frame loss: UDP request/response between the farthest node and a backbone host', async () => {
  const { sched, mesh, farNet, hostNet } = setup();
  const server = await resolveOn(sched, hostNet.udp({ family: 6, port: 7001 }));
  void (async () => {
    for await (const d of server) await server.send(d.data, d.from);
  })().catch(() => undefined);
  const client = await resolveOn(sched, farNet.udp({ family: 6 }));
  let retries = 0;
  for (const size of [8, 60, 90, 200, 700, 1232]) {
    const payload = pattern(size, size);
    for (;;) {
      await resolveOn(sched, client.send(payload, `[${BACKBONE_HOST_ADDR}]:7001`));
      try {
        // A retried request can be answered twice: skip late echoes of earlier ones.
        let back = await resolveOn(sched, client.recv({ timeoutMs: 5000 }));
        while (back.data.length !== size) back = await resolveOn(sched, client.recv({ timeoutMs: 5000 }));
        assert.equal(sha(back.data), sha(payload), `${size}-byte datagram echoed intact`);
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== 'ETIMEDOUT' || ++retries > 10) throw e;
      }
    }
  }
  const far = mesh.nodes[2];
  assert.ok(far !== undefined);
  const lp = far.stack.interface(far.ifIndex)?.lowpan?.stats;
  assert.ok(lp !== undefined && lp.fragmentedOut >= 2, 'the large datagrams went out in fragments');
  assert.equal(lp.malformed, 0);
  await resolveOn(sched, client.close());
  await resolveOn(sched, server.close());
  mesh.close();
});

test('3-hop mesh, 10 % frame loss: 1 MiB TCP echo with the backbone host, SHA-256 equal', async () => {
  const { sched, mesh, farNet, hostNet } = setup();
  const data = pattern(1024 * 1024, 3);
  const { back, ms } = await tcpEcho(sched, hostNet, farNet, BACKBONE_HOST_ADDR, 7000, data);
  assert.equal(back.length, data.length);
  assert.equal(sha(back), sha(data));
  assert.ok(ms > 0);
  const lost = mesh.nodes.reduce((n, x) => n + x.port.stats.lost, 0);
  assert.ok(lost > 0, 'the medium did lose frames');
  for (const n of [mesh.br, ...mesh.nodes]) assert.equal(n.stack.interface(n.ifIndex)?.lowpan?.stats.malformed, 0);
  mesh.close();
});
