/**
 * PppInterface over an in-memory UART pair against our PPP server on virtual time: global-up with
 * the assigned address and DNS, TCP through the interface's backend, the peer terminating ->
 * connecting -> reopened -> global-up, wrong password -> connect rejects, cycles, stream closed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PppInterface } from '../../../../src/backends/netif/ppp-interface.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { SocketError } from '../../../../src/base/socket-error.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { attachPpp } from '../../../../src/link/ppp-attach.ts';
import { createBytePipe } from '../../../../src/link/byte-pipe.ts';
import { PppLink } from '../../../../src/link/ppp-link.ts';
import { StackRunner } from '../../../../src/runtime/stack-runner.ts';
import { Stack } from '../../../../src/stack/stack.ts';
import { resolveOn, settle } from '../../../support/stack-net.ts';

const code = (c: string) => (e: unknown): boolean => e instanceof SocketError && e.code === c;

function rig(seed = 1, password = 'pw') {
  const sched = new VirtualScheduler();
  const [a, b] = createBytePipe({ scheduler: sched, baudRate: 115_200, chunking: { rng: new XorShiftRng(seed), min: 1, max: 64 } });
  const serverStack = new Stack({ rng: new XorShiftRng(seed + 1), name: 'gw' });
  new StackRunner(serverStack, { scheduler: sched });
  const server = new PppLink(b, {
    scheduler: sched, rng: new XorShiftRng(seed + 2), closeStream: false,
    authenticate: { secrets: (u) => (u === 'dev' ? 'pw' : undefined), protocols: ['chap'] },
    ipv4: { localAddress: '10.80.0.1', peerAddress: '10.80.0.2', dnsServers: ['10.80.0.1'] },
  });
  attachPpp(serverStack, server, { defaultRoute: false, routerSolicitations: 0 });
  const serverUp = (): void => server.open();
  server.on((e) => {
    // The gateway listens again after a session ends, as a getty would.
    if (e.type === 'down') sched.setTimer(10, serverUp);
  });
  serverUp();
  const nif = new PppInterface({ stream: a, scheduler: sched, rng: new XorShiftRng(seed + 3), credentials: { user: 'dev', password } });
  const seen: string[] = [];
  nif.on('status', (e) => seen.push(`${e.status}:${e.reason}`));
  return { sched, nif, server, seen, a, b };
}

describe('PppInterface', () => {
  it('global-up with the assigned address and DNS; the peer ends the session -> connecting -> up again; disconnect', async () => {
    const { sched, nif, server, seen } = rig();
    await resolveOn(sched, nif.connect(), 60_000);
    assert.equal(nif.status, 'global-up');
    assert.equal(nif.addresses.ipv4, '10.80.0.2');
    assert.deepEqual(nif.addresses.dnsServers, ['10.80.0.1']);
    assert.ok(nif.addresses.ipv6.some((x) => x.startsWith('fe80:')));
    await resolveOn(sched, server.terminate());
    await settle(sched, 100);
    assert.equal(nif.status, 'connecting');
    await settle(sched, 5000);
    assert.equal(nif.status as string, 'global-up', seen.join(' '));
    // IPV6CP may open before IPCP: local-up (link-local only) on the way to global-up, as the model allows.
    assert.deepEqual(seen.filter((x) => !x.startsWith('local-up')), ['connecting:negotiating', 'global-up:ipcp-up', 'connecting:peer-terminated', 'global-up:ipcp-up']);
    seen.forEach((x, i) => {
      if (x.startsWith('local-up')) assert.equal(seen[i + 1], 'global-up:ipcp-up');
    });
    await resolveOn(sched, nif.disconnect());
    assert.equal(nif.status as string, 'disconnected');
    await assert.rejects(nif.disconnect(), code('ENOTCONN'));
    for (let i = 0; i < 5; i++) {
      await resolveOn(sched, nif.connect(), 60_000);
      await resolveOn(sched, nif.disconnect());
    }
    assert.equal(nif.status as string, 'disconnected');
    await resolveOn(sched, nif.close());
  });

  it('a wrong password: connect rejects (ECONNREFUSED auth-failed), disconnected', async () => {
    const { sched, nif } = rig(2, 'nope');
    await assert.rejects(resolveOn(sched, nif.connect(), 120_000), (e: unknown) => code('ECONNREFUSED')(e) && (e as SocketError).detail.reason === 'auth-failed');
    assert.equal(nif.status, 'disconnected');
    await resolveOn(sched, nif.close());
  });

  it('the line closing ends the interface (lower-down)', async () => {
    const { sched, nif, b } = rig(3);
    await resolveOn(sched, nif.connect(), 60_000);
    b.close();
    await settle(sched, 100);
    assert.equal(nif.status, 'disconnected');
    await assert.rejects(nif.connect(), code('ENOTCONN'));
    await resolveOn(sched, nif.close());
  });
});
