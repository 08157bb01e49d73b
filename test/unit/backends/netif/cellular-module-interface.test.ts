/**
 * CellularModuleInterface: a Quectel modem in socket mode (the module's own IP stack) against the
 * simulator on virtual time: status sequence, registration link events, the rules, 5 cycles
 * (deactivate / reactivate), the network deactivating the context, TCP through the module backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CellularModuleInterface } from '../../../../src/backends/netif/cellular-module-interface.ts';
import { createQuectel } from '../../../../src/backends/quectel/index.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { SocketError } from '../../../../src/base/socket-error.ts';
import { Network } from '../../../../src/socket/network.ts';
import { makeRig, MODULE_IP, PEER } from '../../apps/sim/quectel-rig.ts';

const code = (c: string) => (e: unknown): boolean => e instanceof SocketError && e.code === c;

async function rig(seed: number) {
  const r = await makeRig({ seed, pipe: { chunking: { rng: new XorShiftRng(seed + 100), min: 1, max: 32 } }, sim: { pdpAddress: MODULE_IP } });
  r.sim.powerOn();
  const quectel = createQuectel({ stream: r.host, scheduler: r.sched, apn: 'internet', backend: { rng: new XorShiftRng(seed + 200) } });
  const cell = new CellularModuleInterface({ quectel });
  const seen: string[] = [];
  cell.on('status', (e) => seen.push(`${e.status}:${e.reason}`));
  cell.on('link', (e) => seen.push(`link-${e.up ? 'up' : 'down'}:${e.reason}`));
  return { r, quectel, cell, seen };
}

describe('CellularModuleInterface (socket mode) against the Quectel simulator', () => {
  it('connect -> global-up with the context address; TCP through the module; 5 cycles; rules', async () => {
    const { r, quectel, cell, seen } = await rig(1);
    await r.resolve(cell.connect(), 400_000);
    assert.equal(cell.status, 'global-up');
    assert.equal(cell.addresses.ipv4, MODULE_IP);
    assert.equal(cell.linkUp, true);
    assert.equal(cell.imei, '866425030123456');
    await assert.rejects(cell.connect(), code('EISCONN'));
    const net = new Network(cell.backend, { scheduler: r.sched, rng: new XorShiftRng(9) });
    const server = await r.resolve(r.peerNet.listen({ port: 7100 }));
    const accepted = r.resolve(server.accept());
    const s = await r.resolve(net.connect(`${PEER}:7100`));
    const peer = await accepted;
    await r.resolve(s.write(new TextEncoder().encode('ping')));
    assert.equal(await r.readText(peer, 4), 'ping');
    await r.resolve(s.close());
    peer.destroy();
    server.close();
    for (let i = 0; i < 5; i++) {
      await r.resolve(cell.disconnect(), 100_000);
      assert.equal(cell.status, 'disconnected');
      assert.equal(quectel.modem.address, undefined, 'context deactivated');
      await r.resolve(cell.connect(), 400_000);
      assert.equal(cell.status, 'global-up');
    }
    assert.deepEqual(seen.filter((x) => !x.startsWith('link')).slice(0, 3), ['connecting:starting', 'global-up:pdp-active', 'disconnected:disconnect']);
    await r.resolve(cell.disconnect(), 100_000);
    await assert.rejects(cell.disconnect(), code('ENOTCONN'));
    await r.resolve(net.close());
    await cell.close();
    await r.close();
  });

  it('the network deactivates the context: connecting, then global-up again by the modem\'s recovery', async () => {
    const { r, cell, seen } = await rig(2);
    await r.resolve(cell.connect(), 400_000);
    r.sim.deactivatePdp(1);
    await r.run(100);
    assert.equal(cell.status, 'connecting');
    await r.until(() => cell.status === 'global-up', 300_000);
    assert.ok(seen.includes('connecting:pdp-deact'), seen.join(' '));
    await r.resolve(cell.disconnect(), 100_000);
    await cell.close();
    await r.close();
  });
});
