/**
 * The cellular dial-up interface against the Quectel simulator on virtual time: the simulator's
 * data calls run our PPP server into a carrier stack that routes (forwarding) to a server stack on
 * a virtual cable. The host's stack reaches the server through PPP; registration loss drops the
 * call (NO CARRIER) and the interface redials once the network is back; disconnect hangs up.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { CellularDialup, type CellularDialupOptions } from '../../../../src/backends/cellular/cellular-dialup.ts';
import type { InterfaceStatusEvent } from '../../../../src/backends/interface-status.ts';
import { createUserspaceBackend } from '../../../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { StackRunner } from '../../../../src/runtime/stack-runner.ts';
import { Network } from '../../../../src/socket/network.ts';
import { Stack } from '../../../../src/stack/stack.ts';
import type { PppCarrierOptions } from '../../../../src/apps/sim/ppp-carrier.ts';
import { operatorNet } from '../../../support/cellular-net.ts';
import { pattern, resolveOn, settle, tcpEcho } from '../../../support/stack-net.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function rig(seed = 1, extra: { carrier?: Partial<PppCarrierOptions>; cell?: Partial<CellularDialupOptions> } = {}) {
  const op = operatorNet(seed, { carrier: extra.carrier ?? {} });
  const { sched, sim, ppp, serverNet } = op;
  // The host: a userspace stack with no interface yet; the dial-up interface adds ppp0.
  const stack = new Stack({ rng: new XorShiftRng(seed + 10), name: 'host' });
  const runner = new StackRunner(stack, { scheduler: sched });
  const backend = createUserspaceBackend(stack, runner, { rng: new XorShiftRng(seed + 11), dns: { servers: [] } });
  const net = new Network(backend, { scheduler: sched, rng: new XorShiftRng(seed + 12) });
  const cell = new CellularDialup({ stream: op.line, scheduler: sched, rng: new XorShiftRng(seed + 13), stack, dns: backend, apn: 'iot.test', ...extra.cell });
  const statuses: InterfaceStatusEvent[] = [];
  cell.on('status', (e) => statuses.push(e));
  return { sched, sim, ppp, cell, stack, net, serverNet, statuses, backend };
}

describe('CellularDialup against the Quectel simulator', () => {
  it('dials, reaches global-up with the PDP address and DNS, and carries TCP to the operator network', async () => {
    const r = rig();
    await resolveOn(r.sched, r.cell.connect(), 300_000);
    assert.equal(r.cell.status, 'global-up');
    assert.equal(r.cell.address, '10.64.0.2');
    assert.deepEqual(r.cell.dnsServers, ['10.70.0.53']);
    assert.deepEqual(r.statuses.map((s) => `${s.status}:${s.reason}`), ['connecting:dialling', 'global-up:ipcp-up']);
    assert.equal(r.sim.data.state, 'online');
    assert.equal(r.cell.imei, '866425030123456');
    const data = pattern(32_768, 1);
    const { back } = await tcpEcho(r.sched, r.serverNet, r.net, '10.70.0.2', 7, data);
    assert.equal(sha(back), sha(data));
    // Connecting again while connected: EISCONN.
    await assert.rejects(r.cell.connect(), (e: Error & { code?: string }) => e.code === 'EISCONN');
    await resolveOn(r.sched, r.cell.disconnect());
    assert.equal(r.cell.status, 'disconnected');
    assert.equal(r.sim.data.state, 'idle', 'the call is hung up');
    assert.equal(r.ppp.stats.pppEnded, 1, 'LCP Terminate ended the call from our side');
    assert.equal(r.stack.interfaces.length, 0, 'ppp0 removed');
    await assert.rejects(r.cell.disconnect(), (e: Error & { code?: string }) => e.code === 'ENOTCONN');
    r.cell.dispose();
  });

  it('survives a registration loss: NO CARRIER, connecting, redial after re-registration, global-up again', async () => {
    const r = rig(2);
    await resolveOn(r.sched, r.cell.connect(), 300_000);
    r.sim.loseRegistration(2);
    await settle(r.sched, 100);
    assert.equal(r.cell.status, 'connecting');
    assert.equal(r.statuses.at(-1)?.reason, 'no-carrier');
    await settle(r.sched, 30_000);
    assert.equal(r.cell.status as string, 'connecting', 'no redial while unregistered');
    r.sim.restoreRegistration();
    for (let i = 0; i < 120 && (r.cell.status as string) !== 'global-up'; i++) await settle(r.sched, 1000);
    assert.equal(r.cell.status as string, 'global-up');
    assert.deepEqual(r.statuses.map((s) => `${s.status}:${s.reason}`), ['connecting:dialling', 'global-up:ipcp-up', 'connecting:no-carrier', 'global-up:ipcp-up']);
    assert.equal(r.cell.stats.calls, 2);
    const data = pattern(8192, 2);
    const { back } = await tcpEcho(r.sched, r.serverNet, r.net, '10.70.0.2', 7, data);
    assert.equal(sha(back), sha(data));
    await resolveOn(r.sched, r.cell.disconnect());
    r.cell.dispose();
  });

  it('a module reboot mid-call: the call ends and is redialled after the bring-up', async () => {
    const r = rig(3);
    await resolveOn(r.sched, r.cell.connect(), 300_000);
    r.sim.reboot();
    for (let i = 0; i < 180 && !(r.cell.status === 'global-up' && r.cell.stats.calls === 2); i++) await settle(r.sched, 1000);
    assert.equal(r.cell.status, 'global-up');
    assert.equal(r.cell.stats.calls, 2);
    assert.ok(r.statuses.some((s) => s.status === 'connecting' && s.reason !== 'dialling'), JSON.stringify(r.statuses));
    await resolveOn(r.sched, r.cell.disconnect());
    r.cell.dispose();
  });

  it('CHAP towards the network: the right password reaches global-up, a wrong one makes connect() fail', async () => {
    const secrets = (user: string): string | undefined => (user === 'u' ? 'p' : undefined);
    const good = rig(4, { carrier: { secrets }, cell: { user: 'u', password: 'p' } });
    await resolveOn(good.sched, good.cell.connect(), 300_000);
    assert.equal(good.cell.status, 'global-up');
    await resolveOn(good.sched, good.cell.disconnect());
    good.cell.dispose();
    const bad = rig(5, { carrier: { secrets }, cell: { user: 'u', password: 'wrong', dialAttempts: 2 } });
    await assert.rejects(resolveOn(bad.sched, bad.cell.connect(), 600_000), (e: Error & { code?: string; detail?: { reason?: string } }) => e.detail?.reason === 'auth-failed');
    assert.equal(bad.cell.status, 'disconnected');
    assert.equal(bad.cell.stats.calls, 2);
    assert.equal(bad.sim.data.state, 'idle');
    bad.cell.dispose();
  });
});
