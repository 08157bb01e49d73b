/**
 * The policy Mux over three scripted interfaces on virtual time. Each interface owns a userspace
 * stack on a cable of its own to one server stack, which serves on 10.99.0.1 (a loopback address
 * reachable through every cable). Tests: preference, failover with prompt ECONNABORTED on the
 * failed interface, fail-back after the hold with the old sockets aborted, no healthy interface,
 * the probe catching a dead path behind an interface that still says global-up, and 100 failover
 * cycles without leaking sockets or timers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SocketBackend } from '../../../../src/backends/contract.ts';
import { Mux, type MuxSwitch } from '../../../../src/backends/mux/mux.ts';
import { InterfaceBase, NO_ADDRESSES, type InterfaceAddresses, type InterfaceKind } from '../../../../src/backends/netif/network-interface.ts';
import { userspaceHost, type UserspaceHost } from '../../../../src/backends/netif/userspace-host.ts';
import { createUserspaceBackend } from '../../../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { SocketError } from '../../../../src/base/socket-error.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { Loopback } from '../../../../src/link/loopback.ts';
import { FaultInjector } from '../../../../src/link/fault-injector.ts';
import { createCable } from '../../../../src/link/virtual-cable.ts';
import { StackRunner } from '../../../../src/runtime/stack-runner.ts';
import { Network } from '../../../../src/socket/network.ts';
import type { TcpSocket } from '../../../../src/socket/tcp-socket.ts';
import { Stack } from '../../../../src/stack/stack.ts';
import { acceptEach, echoSocket, resolveOn, settle } from '../../../support/stack-net.ts';

const SERVICE = '10.99.0.1';

/** An interface whose status the test sets; sockets go over a real stack on a cable. */
class Switchable extends InterfaceBase {
  readonly kind: InterfaceKind = 'ethernet';
  readonly backend: SocketBackend;
  readonly host: UserspaceHost;
  readonly cut: FaultInjector;
  constructor(readonly name: string, readonly subnet: number, sched: VirtualScheduler, server: Stack, seed: number) {
    super();
    const [a, b] = createCable();
    this.cut = new FaultInjector(a, { rng: new XorShiftRng(seed), scheduler: sched, lossPct: 0, direction: 'both' });
    this.host = userspaceHost({ name, scheduler: sched, rng: new XorShiftRng(seed + 1), backend: { connectTimeoutMs: 3000 } });
    this.host.stack.addInterface(this.cut, { ipv4: { address: `10.${subnet}.0.2`, prefixLen: 24 }, gateway: `10.${subnet}.0.1` });
    server.addInterface(b, { ipv4: { address: `10.${subnet}.0.1`, prefixLen: 24 } });
    this.backend = this.host.backend;
  }
  get addresses(): InterfaceAddresses {
    return this.status === 'global-up' ? { ...NO_ADDRESSES, ipv4: `10.${this.subnet}.0.2`, prefixLen: 24 } : NO_ADDRESSES;
  }
  protected async start(): Promise<void> {
    this.goUp();
  }
  protected async stop(): Promise<void> {
    this.setLink(false, 'stop');
  }
  goUp(): void {
    this.setLink(true, 'carrier');
    this.setStatus('global-up', 'address');
  }
  goDown(reason = 'link-down'): void {
    this.setLink(false, reason);
    this.setStatus('connecting', reason);
  }
}

function world(options: Partial<ConstructorParameters<typeof Mux>[0]> = {}) {
  const sched = new VirtualScheduler();
  const server = new Stack({ rng: new XorShiftRng(5), name: 'server' });
  server.addInterface(new Loopback(), { ipv4: { address: SERVICE, prefixLen: 32 } });
  const serverRunner = new StackRunner(server, { scheduler: sched });
  const serverNet = new Network(createUserspaceBackend(server, serverRunner, { rng: new XorShiftRng(6) }), { scheduler: sched, rng: new XorShiftRng(7) });
  const nifs = [new Switchable('wlan0', 1, sched, server, 10), new Switchable('eth0', 2, sched, server, 20), new Switchable('cell0', 3, sched, server, 30)];
  for (const n of nifs) n.goUp();
  const mux = new Mux({ interfaces: nifs, scheduler: sched, ...options });
  const switches: MuxSwitch[] = [];
  mux.on('switch', (s) => switches.push(s));
  const net = new Network(mux, { scheduler: sched, rng: new XorShiftRng(8) });
  return { sched, server, serverNet, nifs, mux, net, switches };
}

/** An echo service on the server; returns the subnet octet each connection came from. */
async function echoServer(w: ReturnType<typeof world>): Promise<number[]> {
  const from: number[] = [];
  const listener = await resolveOn(w.sched, w.serverNet.listen({ port: 7 }));
  acceptEach(listener, (s) => {
    from.push(Number(s.remoteAddress.toString().split('.')[1]));
    echoSocket(s);
  });
  return from;
}

async function ping(w: ReturnType<typeof world>, s: TcpSocket): Promise<void> {
  await resolveOn(w.sched, s.write(new Uint8Array([1, 2, 3])));
  const it = s[Symbol.asyncIterator]();
  const r = await resolveOn(w.sched, it.next());
  assert.equal(r.done, false);
}

const aborted = (e: unknown): boolean => e instanceof SocketError && e.code === 'ECONNABORTED';

describe('Mux', () => {
  it('uses the most preferred healthy interface; failover is immediate and aborts the failed sockets', async () => {
    const w = world();
    const from = await echoServer(w);
    assert.equal(w.mux.current?.name, 'wlan0');
    const s1 = await resolveOn(w.sched, w.net.connect(`${SERVICE}:7`));
    await ping(w, s1);
    assert.deepEqual(from, [1]);
    w.nifs[0]?.goDown('ap-lost');
    assert.equal(w.mux.current?.name, 'eth0');
    assert.match(w.switches.at(-1)?.reason ?? '', /^failover:.*ap-lost/);
    await assert.rejects(resolveOn(w.sched, s1.write(new Uint8Array([9]))), aborted);
    const s2 = await resolveOn(w.sched, w.net.connect(`${SERVICE}:7`));
    await ping(w, s2);
    assert.deepEqual(from, [1, 2]);
    w.nifs[1]?.goDown();
    assert.equal(w.mux.current?.name, 'cell0');
    const s3 = await resolveOn(w.sched, w.net.connect(`${SERVICE}:7`));
    await ping(w, s3);
    assert.deepEqual(from, [1, 2, 3]);
    await resolveOn(w.sched, w.net.close());
    await w.mux.close();
  });

  it('fails back only after the hold, and moves clients over by aborting their old sockets', async () => {
    const w = world({ failbackHoldMs: 3000 });
    const from = await echoServer(w);
    w.nifs[0]?.goDown();
    const s = await resolveOn(w.sched, w.net.connect(`${SERVICE}:7`));
    await ping(w, s);
    w.nifs[0]?.goUp();
    await settle(w.sched, 2000);
    assert.equal(w.mux.current?.name, 'eth0', 'still in the hold');
    await ping(w, s);
    await settle(w.sched, 1500);
    assert.equal(w.mux.current?.name, 'wlan0');
    assert.deepEqual(w.switches.map((x) => `${x.from ?? '-'}>${x.to ?? '-'}`), ['wlan0>eth0', 'eth0>wlan0']);
    assert.equal(w.switches.at(-1)?.reason, 'fail-back');
    assert.equal(w.switches.at(-1)?.aborted, 1);
    await assert.rejects(resolveOn(w.sched, s.write(new Uint8Array([9]))), aborted);
    const s2 = await resolveOn(w.sched, w.net.connect(`${SERVICE}:7`));
    await ping(w, s2);
    assert.deepEqual(from, [2, 1]);
    await resolveOn(w.sched, w.net.close());
    await w.mux.close();
  });

  it('with no healthy interface new sockets fail at once', async () => {
    const w = world();
    for (const n of w.nifs) n.goDown();
    assert.equal(w.mux.current, undefined);
    await assert.rejects(resolveOn(w.sched, w.net.connect(`${SERVICE}:7`)));
    w.nifs[2]?.goUp();
    assert.equal((w.mux.current as { name: string } | undefined)?.name, 'cell0');
    await w.mux.close();
  });

  it('the probe finds a dead path behind an interface still global-up', async () => {
    const w = world({ probe: { host: SERVICE, port: 7, intervalMs: 500, timeoutMs: 400, failures: 2 } });
    await echoServer(w);
    await settle(w.sched, 1200);
    assert.equal(w.mux.current?.name, 'wlan0');
    w.nifs[0]?.cut.configure({ lossPct: 100, direction: 'both' });
    await settle(w.sched, 2500);
    assert.equal(w.mux.current?.name, 'eth0');
    assert.match(w.switches.at(-1)?.reason ?? '', /probe-failed/);
    w.nifs[0]?.cut.configure({ lossPct: 0, direction: 'both' });
    await settle(w.sched, 6000);
    assert.equal(w.mux.current?.name, 'wlan0', 'back after probes succeed and the hold');
    await w.mux.close();
  });

  it('100 failover cycles with a connection each: no sockets or timers left behind', async () => {
    const w = world({ failbackHoldMs: 0 });
    await echoServer(w);
    const baseline = w.sched.pendingTimers();
    for (let i = 0; i < 100; i++) {
      const s = await resolveOn(w.sched, w.net.connect(`${SERVICE}:7`));
      await ping(w, s);
      const cur = w.nifs.find((n) => n === w.mux.current) as Switchable;
      cur.goDown();
      await assert.rejects(resolveOn(w.sched, s.write(new Uint8Array([1]))), aborted);
      await resolveOn(w.sched, s.close());
      cur.goUp();
      await settle(w.sched, 10);
    }
    await settle(w.sched, 120_000);
    assert.equal(w.mux.openSockets, 0);
    for (const n of w.nifs) assert.equal(n.host.backend.openSockets, 0, `${n.name} sockets`);
    assert.ok(w.sched.pendingTimers() <= baseline + 2, `timers ${w.sched.pendingTimers()} vs ${baseline}`);
    assert.equal(w.switches.length, 200, 'each cycle: failover and fail-back');
    await resolveOn(w.sched, w.net.close());
    await w.mux.close();
  });
});
