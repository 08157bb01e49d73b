/**
 * The rules every interface shares (`InterfaceBase`), on a scripted interface whose bring-up takes
 * virtual time: status sequence, EISCONN / EALREADY / EAGAIN / ENOTCONN, disconnect during a
 * connect, AbortSignal, a failing bring-up, repeated cycles.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SocketBackend } from '../../../../src/backends/contract.ts';
import { InterfaceBase, NO_ADDRESSES, type InterfaceAddresses, type InterfaceKind } from '../../../../src/backends/netif/network-interface.ts';
import type { InterfaceStatusEvent } from '../../../../src/backends/interface-status.ts';
import { SocketError } from '../../../../src/base/socket-error.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { resolveOn, settle } from '../../../support/stack-net.ts';

class Scripted extends InterfaceBase {
  readonly name = 'fake0';
  readonly kind: InterfaceKind = 'ethernet';
  readonly backend = {} as SocketBackend;
  starts = 0;
  stops = 0;
  fail: SocketError | undefined;
  private readonly sched: VirtualScheduler;

  constructor(sched: VirtualScheduler) {
    super();
    this.sched = sched;
  }

  get addresses(): InterfaceAddresses {
    return this.status === 'global-up' ? { ...NO_ADDRESSES, ipv4: '10.0.0.2', prefixLen: 24 } : NO_ADDRESSES;
  }

  protected start(signal: AbortSignal): Promise<void> {
    this.starts++;
    this.setStatus('connecting', 'starting');
    return new Promise((resolve, reject) => {
      const cancel = this.sched.setTimer(1000, () => {
        if (this.fail !== undefined) {
          reject(this.fail);
          return;
        }
        this.setLink(true, 'carrier');
        this.setStatus('global-up', 'address');
        resolve();
      });
      signal.addEventListener('abort', () => {
        cancel();
        reject(signal.reason);
      }, { once: true });
    });
  }

  protected stop(): Promise<void> {
    this.stops++;
    this.setLink(false, 'stopped');
    return new Promise((resolve) => this.sched.setTimer(200, resolve));
  }

  /** The driver lost the link while up. */
  lose(): void {
    this.setLink(false, 'cable');
    this.setStatus('connecting', 'link-down');
  }
}

const code = (c: string) => (e: unknown): boolean => e instanceof SocketError && e.code === c;

function rig(): { sched: VirtualScheduler; nif: Scripted; seen: string[] } {
  const sched = new VirtualScheduler();
  const nif = new Scripted(sched);
  const seen: string[] = [];
  nif.on('status', (e: InterfaceStatusEvent) => seen.push(`${e.status}:${e.reason}`));
  nif.on('link', (e) => seen.push(`link-${e.up ? 'up' : 'down'}:${e.reason}`));
  return { sched, nif, seen };
}

describe('InterfaceBase rules', () => {
  it('connect -> connecting -> global-up; disconnect -> disconnected; events with reasons', async () => {
    const { sched, nif, seen } = rig();
    assert.equal(nif.status, 'disconnected');
    await resolveOn(sched, nif.connect());
    assert.equal(nif.status, 'global-up');
    assert.equal(nif.addresses.ipv4, '10.0.0.2');
    await resolveOn(sched, nif.disconnect());
    assert.deepEqual(seen, ['connecting:starting', 'link-up:carrier', 'global-up:address', 'link-down:stopped', 'disconnected:disconnect']);
  });

  it('EISCONN when up, EALREADY while connecting, EAGAIN while disconnecting, ENOTCONN when down', async () => {
    const { sched, nif } = rig();
    await assert.rejects(nif.disconnect(), code('ENOTCONN'));
    const p = nif.connect();
    await assert.rejects(nif.connect(), code('EALREADY'));
    await resolveOn(sched, p);
    await assert.rejects(nif.connect(), code('EISCONN'));
    const d = nif.disconnect();
    await assert.rejects(nif.connect(), code('EAGAIN'));
    await assert.rejects(nif.disconnect(), code('EAGAIN'));
    await resolveOn(sched, d);
    await assert.rejects(nif.disconnect(), code('ENOTCONN'));
  });

  it('disconnect during a connect cancels it (ECONNABORTED) and ends disconnected', async () => {
    const { sched, nif, seen } = rig();
    const p = nif.connect();
    await settle(sched, 500);
    await resolveOn(sched, nif.disconnect());
    await assert.rejects(p, code('ECONNABORTED'));
    assert.equal(nif.status, 'disconnected');
    assert.equal(seen.at(-1), 'disconnected:disconnect');
  });

  it('an aborted signal cancels the connect', async () => {
    const { sched, nif } = rig();
    const ac = new AbortController();
    const p = nif.connect({ signal: ac.signal });
    await settle(sched, 100);
    ac.abort(new Error('user'));
    await assert.rejects(resolveOn(sched, p), code('ECONNABORTED'));
    assert.equal(nif.status, 'disconnected');
    await assert.rejects(nif.connect({ signal: AbortSignal.abort() }), code('ECONNABORTED'));
  });

  it('a failing bring-up rejects with its error and leaves the interface disconnected', async () => {
    const { sched, nif, seen } = rig();
    nif.fail = new SocketError('ETIMEDOUT', { op: 'start', reason: 'no-carrier' });
    await assert.rejects(resolveOn(sched, nif.connect()), code('ETIMEDOUT'));
    assert.equal(nif.status, 'disconnected');
    assert.equal(seen.at(-1), 'disconnected:no-carrier');
    nif.fail = undefined;
    await resolveOn(sched, nif.connect());
    assert.equal(nif.status, 'global-up');
  });

  it('a lost link while up is connecting (not disconnected); connect() is then EISCONN-free', async () => {
    const { sched, nif } = rig();
    await resolveOn(sched, nif.connect());
    nif.lose();
    assert.equal(nif.status, 'connecting');
    assert.equal(nif.linkUp, false);
    await resolveOn(sched, nif.disconnect());
    assert.equal(nif.status, 'disconnected');
  });

  it('5 connect/disconnect cycles leave no timers behind', async () => {
    const { sched, nif } = rig();
    for (let i = 0; i < 5; i++) {
      await resolveOn(sched, nif.connect());
      await resolveOn(sched, nif.disconnect());
    }
    assert.equal(nif.starts, 5);
    assert.equal(nif.stops, 5);
    assert.equal(sched.nextDeadline(), undefined);
    await nif.close();
  });
});
