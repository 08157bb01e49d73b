/**
 * CellularInterface (PPP dial-up into its own userspace stack) against the Quectel simulator and a
 * simulated operator network, on virtual time: status sequence and reasons, link events from the
 * registration, the contract's rules, credentials copied, 5 connect/disconnect cycles without
 * leftover calls or sockets, TCP through the interface's backend.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { CellularInterface, type CellularInterfaceOptions } from '../../../../src/backends/netif/cellular-interface.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { SocketError } from '../../../../src/base/socket-error.ts';
import { Network } from '../../../../src/socket/network.ts';
import { CALL_ADDRESS, CALL_DNS, CARRIER_SERVER_IP, operatorNet } from '../../../support/cellular-net.ts';
import { pattern, resolveOn, settle, tcpEcho } from '../../../support/stack-net.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const code = (c: string) => (e: unknown): boolean => e instanceof SocketError && e.code === c;

function rig(seed = 1) {
  const op = operatorNet(seed);
  const options: CellularInterfaceOptions = { stream: op.line, scheduler: op.sched, rng: new XorShiftRng(seed + 20), apn: 'iot.test' };
  const cell = new CellularInterface(options);
  const seen: string[] = [];
  cell.on('status', (e) => seen.push(`${e.status}:${e.reason}`));
  cell.on('link', (e) => seen.push(`link-${e.up ? 'up' : 'down'}:${e.reason}`));
  return { op, cell, seen, options };
}

describe('CellularInterface', () => {
  it('connects to global-up with the call address and DNS; TCP through its backend; disconnect', async () => {
    const { op, cell, seen } = rig();
    assert.equal(cell.status, 'disconnected');
    await resolveOn(op.sched, cell.connect(), 300_000);
    assert.equal(cell.status, 'global-up');
    assert.equal(cell.addresses.ipv4, CALL_ADDRESS);
    assert.deepEqual(cell.addresses.dnsServers, [CALL_DNS]);
    assert.equal(cell.imei, '866425030123456');
    assert.equal(cell.linkUp, true);
    const net = new Network(cell.backend, { scheduler: op.sched, rng: new XorShiftRng(9) });
    const data = pattern(16_384, 1);
    const { back } = await tcpEcho(op.sched, op.serverNet, net, CARRIER_SERVER_IP, 7, data);
    assert.equal(sha(back), sha(data));
    await assert.rejects(cell.connect(), code('EISCONN'));
    await resolveOn(op.sched, cell.disconnect());
    assert.equal(cell.status, 'disconnected');
    assert.equal(op.sim.data.state, 'idle');
    assert.deepEqual(seen.filter((s) => !s.startsWith('link')), ['connecting:dialling', 'global-up:ipcp-up', 'disconnected:disconnect']);
    assert.ok(seen.includes('link-up:registered'), seen.join(' '));
    await assert.rejects(cell.disconnect(), code('ENOTCONN'));
    await resolveOn(op.sched, net.close());
    await resolveOn(op.sched, cell.close());
  });

  it('registration loss: link down, connecting, then global-up again by itself', async () => {
    const { op, cell, seen } = rig(2);
    await resolveOn(op.sched, cell.connect(), 300_000);
    op.sim.loseRegistration(2);
    await settle(op.sched, 1000);
    assert.equal(cell.status, 'connecting');
    assert.equal(cell.linkUp, false);
    op.sim.restoreRegistration();
    for (let i = 0; i < 60 && (cell.status as string) !== 'global-up'; i++) await settle(op.sched, 1000);
    assert.equal(cell.status as string, 'global-up');
    const st = seen.filter((s) => !s.startsWith('link'));
    assert.deepEqual(st, ['connecting:dialling', 'global-up:ipcp-up', 'connecting:no-carrier', 'global-up:ipcp-up']);
    assert.ok(seen.includes('link-down:registration-lost'));
    await resolveOn(op.sched, cell.close());
  });

  it('the rules: EALREADY while connecting; disconnect during connect aborts it; 5 cycles leave nothing behind', async () => {
    const { op, cell, options } = rig(3);
    options.apn = 'changed-after-construction';
    const p = cell.connect();
    await assert.rejects(cell.connect(), code('EALREADY'));
    await settle(op.sched, 200);
    await resolveOn(op.sched, cell.disconnect());
    await assert.rejects(p, code('ECONNABORTED'));
    assert.equal(cell.status, 'disconnected');
    for (let i = 0; i < 5; i++) {
      await resolveOn(op.sched, cell.connect(), 300_000);
      assert.equal(cell.status, 'global-up');
      await resolveOn(op.sched, cell.disconnect());
      assert.equal(op.sim.data.state, 'idle');
    }
    assert.equal(cell.host.stack.interfaces.length, 0, 'no PPP interface left');
    assert.equal(cell.backend.openSockets, 0);
    assert.equal(op.sim.stats.data.calls, 5);
    assert.equal(op.sim.net.contexts.get(1)?.apn, 'iot.test', 'the APN was copied at construction');
    await resolveOn(op.sched, cell.close());
  });
});
