/**
 * The IoT Socket layer (src/socket/iot-socket-layer.ts) on a scripted backend and a
 * virtual clock: blocking, SO_RCVTIMEO/SO_SNDTIMEO, FIONBIO, the non-blocking connect
 * sequence, `len == 0` polls, peer close/reset/abort, Close, ids and capacity, call
 * order, and the UDP rules (iot-socket-api.md §5-§12). No network, no real sleeps.
 *
 * Every test ends with `finish()`: all ids closed, no pending call, no live timer,
 * and no core socket still subscribed to change callbacks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IOT_SOCKET_AF_INET, IOT_SOCKET_AF_INET6, IOT_SOCKET_EAGAIN, IOT_SOCKET_EALREADY, IOT_SOCKET_ECONNABORTED,
  IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_ECONNRESET, IOT_SOCKET_EINPROGRESS, IOT_SOCKET_EINVAL, IOT_SOCKET_EISCONN,
  IOT_SOCKET_ENOMEM, IOT_SOCKET_ENOTCONN, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR, IOT_SOCKET_ESOCK, IOT_SOCKET_ETIMEDOUT,
  IOT_SOCKET_IO_FIONBIO, IOT_SOCKET_SOCK_DGRAM, IOT_SOCKET_SOCK_STREAM, IOT_SOCKET_SO_KEEPALIVE, IOT_SOCKET_SO_RCVTIMEO,
  IOT_SOCKET_SO_SNDTIMEO,
} from '../../../src/base/iot-constants.ts';
import type { BackendCaps } from '../../../src/backends/contract.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { IotSocketLayer } from '../../../src/socket/iot-socket-layer.ts';
import type { IotSocketApi, Ref } from '../../../src/socket/iot-socket-types.ts';
import { SCRIPTED_EPHEMERAL_BASE, ScriptedBackend, type ScriptedSocket } from '../../support/scripted-backend.ts';

const INT32_MAX = 0x7fffffff;
const MAX_ID = 0x3fffffff;
const PEER = new Uint8Array([192, 0, 2, 1]);
const PEER_PORT = 7;
const ANY4 = new Uint8Array(4);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const ref = (value: number): Ref<number> => ({ value });

interface Ctx {
  scheduler: VirtualScheduler;
  backend: ScriptedBackend;
  layer: IotSocketLayer;
  api: IotSocketApi;
}

function setup(caps: Partial<BackendCaps> = {}): Ctx {
  const scheduler = new VirtualScheduler();
  const backend = new ScriptedBackend({ scheduler, caps });
  const layer = new IotSocketLayer(backend, { scheduler });
  return { scheduler, backend, layer, api: layer.api() };
}

/** Lets promise chains and setImmediate-queued work run (no virtual time passes). */
async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Advances virtual time, then lets the woken calls run. */
async function advance(ctx: Ctx, ms: number): Promise<void> {
  ctx.scheduler.advance(ms);
  await flush();
}

interface Watched {
  settled: boolean;
  value: number | undefined;
  readonly promise: Promise<number>;
}

/** Observes a call without awaiting it. */
function watch(promise: Promise<number>): Watched {
  const w: Watched = { settled: false, value: undefined, promise };
  void promise.then((v) => {
    w.settled = true;
    w.value = v;
  });
  return w;
}

function assertPending(w: Watched, what: string): void {
  assert.equal(w.settled, false, `${what}: still pending (settled with ${String(w.value)})`);
}

function assertSettled(w: Watched, expected: number, what: string): void {
  assert.equal(w.settled, true, `${what}: settled`);
  assert.equal(w.value, expected, what);
}

const u32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};

async function setOpt(ctx: Ctx, s: number, id: number, v: number): Promise<void> {
  assert.equal(await ctx.api.socketSetOpt(s, id, u32(v), 4), 0, `SetOpt ${id}=${v}`);
}

async function getOpt(ctx: Ctx, s: number, id: number): Promise<number> {
  const v = new Uint8Array(4);
  const len = ref(4);
  assert.equal(await ctx.api.socketGetOpt(s, id, v, len), 0, `GetOpt ${id}`);
  assert.equal(len.value, 4);
  return new DataView(v.buffer).getUint32(0, true);
}

async function create(ctx: Ctx, type = IOT_SOCKET_SOCK_STREAM): Promise<{ s: number; core: ScriptedSocket }> {
  const s = await ctx.api.socketCreate(IOT_SOCKET_AF_INET, type, 0);
  assert.ok(s > 0, `Create -> ${s}`);
  return { s, core: ctx.backend.last };
}

/** A stream socket connected to PEER:7 (the scripted attempt succeeds at once). */
async function connected(ctx: Ctx): Promise<{ s: number; core: ScriptedSocket }> {
  const c = await create(ctx);
  c.core.connectPlan = { kind: 'immediate', result: 0 };
  assert.equal(await ctx.api.socketConnect(c.s, PEER, 4, PEER_PORT), 0, 'Connect');
  return c;
}

/** A stream socket listening on 0.0.0.0:port. */
async function listener(ctx: Ctx, port = 2000): Promise<{ s: number; core: ScriptedSocket }> {
  const c = await create(ctx);
  assert.equal(await ctx.api.socketBind(c.s, ANY4, 4, port), 0, 'Bind');
  assert.equal(await ctx.api.socketListen(c.s, 2), 0, 'Listen');
  return c;
}

/** Closes the ids (each -> 0) and checks that nothing leaked. */
async function finish(ctx: Ctx, ...ids: number[]): Promise<void> {
  for (const s of ids) assert.equal(await ctx.api.socketClose(s), 0, `Close ${s}`);
  await flush();
  assert.equal(ctx.layer.openSockets, 0, 'no open socket ids');
  assert.equal(ctx.layer.pendingCalls, 0, 'no pending calls');
  assert.equal(ctx.scheduler.pendingTimers(), 0, 'no live timers');
  for (const core of ctx.backend.sockets) assert.equal(core.subscribed, false, 'no core socket still subscribed');
}

// ---------------------------------------------------------------------------------------------

describe('IoT Socket layer: blocking Recv and SO_RCVTIMEO', () => {
  it('a blocking Recv waits (spurious changes included) and wakes on data', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    const buf = new Uint8Array(16);
    const r = watch(ctx.api.socketRecv(s, buf, 16));
    await flush();
    assertPending(r, 'Recv with nothing queued');
    assert.equal(ctx.layer.pendingCalls, 1);
    core.fireChange();
    await flush();
    assertPending(r, 'Recv after a spurious change');
    await advance(ctx, 60_000);
    assertPending(r, 'Recv with RCVTIMEO 0 (forever)');
    core.pushData('hello');
    await flush();
    assertSettled(r, 5, 'Recv woken by data');
    assert.equal(dec(buf.subarray(0, 5)), 'hello');
    await finish(ctx, s);
  });

  it('RCVTIMEO: EAGAIN (not ETIMEDOUT) at exactly T on the virtual clock, for Recv, RecvFrom and polls', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    await setOpt(ctx, s, IOT_SOCKET_SO_RCVTIMEO, 1000);
    for (const call of [
      () => ctx.api.socketRecv(s, new Uint8Array(4), 4),
      () => ctx.api.socketRecvFrom(s, new Uint8Array(4), 4, new Uint8Array(4), ref(4), ref(0)),
      () => ctx.api.socketRecv(s, null, 0),
    ]) {
      const t0 = ctx.scheduler.now();
      const r = watch(call());
      await advance(ctx, 500);
      core.fireChange(); // a spurious change neither ends nor restarts the wait
      await advance(ctx, 499);
      assertPending(r, 'at T - 1 ms');
      await advance(ctx, 1);
      assertSettled(r, IOT_SOCKET_EAGAIN, 'at T');
      assert.equal(ctx.scheduler.now() - t0, 1000);
      assert.equal(ctx.scheduler.pendingTimers(), 0, 'the timeout timer is gone');
    }
    // Data before T: the value, and the timer is cancelled.
    const r = watch(ctx.api.socketRecv(s, new Uint8Array(4), 4));
    await advance(ctx, 10);
    core.pushData('ok');
    await flush();
    assertSettled(r, 2, 'data before T');
    assert.equal(ctx.scheduler.pendingTimers(), 0);
    await finish(ctx, s);
  });

  it('non-blocking Recv with no data: EAGAIN at once, without timers', async () => {
    const ctx = setup();
    const { s } = await connected(ctx);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    await setOpt(ctx, s, IOT_SOCKET_SO_RCVTIMEO, 1000); // ignored in non-blocking mode
    for (let i = 0; i < 50; i++) assert.equal(await ctx.api.socketRecv(s, new Uint8Array(4), 4), IOT_SOCKET_EAGAIN);
    assert.equal(ctx.scheduler.now(), 0);
    assert.equal(ctx.scheduler.pendingTimers(), 0);
    await finish(ctx, s);
  });

  it('setting FIONBIO does not turn a pending blocking call non-blocking (§7: later calls only)', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    const r = watch(ctx.api.socketRecv(s, new Uint8Array(8), 8));
    core.setSendRoom(0);
    const w = watch(ctx.api.socketSend(s, enc('abc'), 3));
    await flush();
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    core.fireChange();
    await flush();
    assertPending(r, 'blocking Recv started before FIONBIO');
    assertPending(w, 'blocking Send started before FIONBIO');
    assert.equal(await ctx.api.socketRecv(s, new Uint8Array(8), 8), IOT_SOCKET_EAGAIN, 'a later Recv is non-blocking');
    core.pushData('data');
    core.setSendRoom(100);
    await flush();
    assertSettled(r, 4, 'blocking Recv served');
    assertSettled(w, 3, 'blocking Send served');
    await finish(ctx, s);
  });
});

describe('IoT Socket layer: blocking Send and SO_SNDTIMEO', () => {
  it('SNDTIMEO with partial sends: the bytes queued so far at T', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    await setOpt(ctx, s, IOT_SOCKET_SO_SNDTIMEO, 500);
    core.setSendRoom(10);
    const data = enc('0123456789abcdefghijklmnopqrst'); // 30 bytes
    const w = watch(ctx.api.socketSend(s, data, 30));
    await flush();
    assertPending(w, 'Send with room for 10 of 30');
    assert.equal(core.sentBytes().length, 10, 'what fits is queued meanwhile');
    await advance(ctx, 200);
    core.setSendRoom(5);
    await flush();
    assertPending(w, 'Send with 15 of 30 queued');
    await advance(ctx, 299);
    assertPending(w, 'at T - 1 ms');
    await advance(ctx, 1);
    assertSettled(w, 15, 'bytes queued so far at T');
    assert.equal(dec(core.sentBytes()), '0123456789abcde');
    await finish(ctx, s);
  });

  it('SNDTIMEO with no room at all: EAGAIN at T, nothing queued', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    await setOpt(ctx, s, IOT_SOCKET_SO_SNDTIMEO, 250);
    core.setSendRoom(0);
    const w = watch(ctx.api.socketSend(s, enc('abc'), 3));
    await advance(ctx, 249);
    assertPending(w, 'at T - 1');
    await advance(ctx, 1);
    assertSettled(w, IOT_SOCKET_EAGAIN, 'at T');
    assert.equal(core.sentBytes().length, 0);
    await finish(ctx, s);
  });

  it('a blocking Send without timeout waits until every byte is queued', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    core.setSendRoom(4);
    const w = watch(ctx.api.socketSend(s, enc('abcdefghij'), 10));
    await advance(ctx, 100_000);
    assertPending(w, 'Send with 4 of 10 queued, SNDTIMEO 0');
    core.setSendRoom(3);
    await flush();
    assertPending(w, 'Send with 7 of 10 queued');
    core.setSendRoom(100);
    await flush();
    assertSettled(w, 10, 'all of it');
    assert.equal(dec(core.sentBytes()), 'abcdefghij');
    await finish(ctx, s);
  });

  it('a non-blocking Send queues what fits, EAGAIN when nothing fits', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    core.setSendRoom(4);
    assert.equal(await ctx.api.socketSend(s, enc('abcdefgh'), 8), 4);
    assert.equal(await ctx.api.socketSend(s, enc('ijkl'), 4), IOT_SOCKET_EAGAIN);
    assert.equal(dec(core.sentBytes()), 'abcd');
    await finish(ctx, s);
  });
});

describe('IoT Socket layer: Accept', () => {
  it('a blocking Accept waits for a connection and reports its address; RCVTIMEO -> EAGAIN at T', async () => {
    const ctx = setup();
    const l = await listener(ctx);
    const ip = new Uint8Array([255, 255, 255, 255, 255, 255]);
    const ipLen = ref(6);
    const port = ref(0);
    const a = watch(ctx.api.socketAccept(l.s, ip, ipLen, port));
    await advance(ctx, 5000);
    assertPending(a, 'Accept with nothing pending (RCVTIMEO 0)');
    l.core.incoming({ address: new Uint8Array([10, 0, 0, 2]), port: 40000 });
    await flush();
    assert.equal(a.settled, true);
    const child = a.value as number;
    assert.ok(child > 0 && child !== l.s, `accepted id ${child} differs from the listener's`);
    assert.deepEqual([...ip], [10, 0, 0, 2, 255, 255], 'exactly 4 bytes written');
    assert.equal(ipLen.value, 4);
    assert.equal(port.value, 40000);

    await setOpt(ctx, l.s, IOT_SOCKET_SO_RCVTIMEO, 300);
    const b = watch(ctx.api.socketAccept(l.s, null, null, null));
    await advance(ctx, 299);
    assertPending(b, 'at T - 1');
    await advance(ctx, 1);
    assertSettled(b, IOT_SOCKET_EAGAIN, 'Accept RCVTIMEO');

    await setOpt(ctx, l.s, IOT_SOCKET_IO_FIONBIO, 1);
    assert.equal(await ctx.api.socketAccept(l.s, null, null, null), IOT_SOCKET_EAGAIN, 'non-blocking, nothing pending');
    await finish(ctx, child, l.s);
  });

  it('accepted sockets inherit FIONBIO, RCVTIMEO, SNDTIMEO and KEEPALIVE (§7 [choice])', async () => {
    const ctx = setup();
    const l = await listener(ctx);
    await setOpt(ctx, l.s, IOT_SOCKET_IO_FIONBIO, 1);
    await setOpt(ctx, l.s, IOT_SOCKET_SO_RCVTIMEO, 1234);
    await setOpt(ctx, l.s, IOT_SOCKET_SO_SNDTIMEO, 567);
    await setOpt(ctx, l.s, IOT_SOCKET_SO_KEEPALIVE, 1);
    const childCore = l.core.incoming({ address: new Uint8Array([10, 0, 0, 3]), port: 1234 });
    const c = await ctx.api.socketAccept(l.s, null, null, null);
    assert.ok(c > 0);
    assert.equal(await getOpt(ctx, c, IOT_SOCKET_SO_RCVTIMEO), 1234);
    assert.equal(await getOpt(ctx, c, IOT_SOCKET_SO_SNDTIMEO), 567);
    assert.equal(await getOpt(ctx, c, IOT_SOCKET_SO_KEEPALIVE), 1);
    assert.equal(childCore.keepAlive, true, 'keep-alive turned on in the backend');
    assert.equal(await ctx.api.socketRecv(c, new Uint8Array(4), 4), IOT_SOCKET_EAGAIN, 'inherited FIONBIO: EAGAIN at once');

    // A listener with the defaults gives blocking children with the defaults.
    const l2 = await listener(ctx, 2001);
    l2.core.incoming({ address: new Uint8Array([10, 0, 0, 4]), port: 1235 });
    const c2 = await ctx.api.socketAccept(l2.s, null, null, null);
    assert.equal(await getOpt(ctx, c2, IOT_SOCKET_SO_RCVTIMEO), 0);
    assert.equal(await getOpt(ctx, c2, IOT_SOCKET_SO_SNDTIMEO), 0);
    assert.equal(await getOpt(ctx, c2, IOT_SOCKET_SO_KEEPALIVE), 0);
    const r = watch(ctx.api.socketRecv(c2, new Uint8Array(4), 4));
    await flush();
    assertPending(r, 'child of a blocking listener blocks');
    await finish(ctx, c, l.s, c2, l2.s);
    assertSettled(r, IOT_SOCKET_ESOCK, 'closed under the pending Recv');
  });

  it('two blocked Accepts are served in call order', async () => {
    const ctx = setup();
    const l = await listener(ctx);
    const port1 = ref(0);
    const port2 = ref(0);
    const a1 = watch(ctx.api.socketAccept(l.s, null, null, port1));
    const a2 = watch(ctx.api.socketAccept(l.s, null, null, port2));
    await flush();
    l.core.incoming({ address: PEER, port: 1001 });
    await flush();
    assert.equal(a1.settled, true, 'first Accept served first');
    assertPending(a2, 'second Accept');
    l.core.incoming({ address: PEER, port: 1002 });
    await flush();
    assert.equal(a2.settled, true);
    assert.deepEqual([port1.value, port2.value], [1001, 1002]);
    await finish(ctx, a1.value as number, a2.value as number, l.s);
  });
});

describe('IoT Socket layer: Connect', () => {
  it('non-blocking sequence: EINPROGRESS (implicit bind) -> EALREADY... -> EISCONN, and EISCONN ever after', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EINPROGRESS, 'first call');
    const port = ref(0);
    assert.equal(await ctx.api.socketGetSockName(s, null, null, port), 0, 'implicitly bound');
    assert.equal(port.value, SCRIPTED_EPHEMERAL_BASE);
    for (let i = 0; i < 3; i++) assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EALREADY);
    assert.equal(await ctx.api.socketGetPeerName(s, null, null, null), IOT_SOCKET_ENOTCONN, 'GetPeerName while connecting');
    assert.equal(await ctx.api.socketBind(s, ANY4, 4, 3000), IOT_SOCKET_EISCONN, 'Bind while connecting');
    core.completeConnect(0);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EISCONN, 'established');
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EISCONN, 'and ever after');
    const ip = new Uint8Array(4);
    assert.equal(await ctx.api.socketGetPeerName(s, ip, ref(4), port), 0);
    assert.deepEqual([...ip, port.value], [...PEER, PEER_PORT]);
    assert.equal(core.connectCalls.length, 1, 'one backend attempt');
    await finish(ctx, s);
  });

  it('a backend that connects at once: non-blocking still EINPROGRESS first, then EISCONN; blocking 0', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    core.connectPlan = { kind: 'immediate', result: 0 };
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EINPROGRESS, 'first call (row 27)');
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EISCONN, 'then EISCONN');
    assert.equal(await ctx.api.socketSend(s, enc('x'), 1), 1, 'usable at once');
    await finish(ctx, s);
    const b = await create(ctx);
    b.core.connectPlan = { kind: 'immediate', result: 0 };
    assert.equal(await ctx.api.socketConnect(b.s, PEER, 4, PEER_PORT), 0, 'blocking: 0');
    await finish(ctx, b.s);
  });

  it('a failure is reported exactly once, then the socket is BOUND again (same local port) and may reconnect', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    core.connectPlan = { kind: 'after', afterMs: 250, result: IOT_SOCKET_ECONNREFUSED };
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EINPROGRESS);
    await advance(ctx, 249);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EALREADY);
    await advance(ctx, 1);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_ECONNREFUSED, 'reported once');
    // BOUND: Bind says already bound, the local port is kept, Recv/Send say not connected.
    assert.equal(await ctx.api.socketBind(s, ANY4, 4, 3000), IOT_SOCKET_EINVAL);
    const port = ref(0);
    assert.equal(await ctx.api.socketGetSockName(s, null, null, port), 0);
    assert.equal(port.value, SCRIPTED_EPHEMERAL_BASE);
    assert.equal(await ctx.api.socketRecv(s, new Uint8Array(1), 1), IOT_SOCKET_ENOTCONN);
    assert.equal(await ctx.api.socketSend(s, enc('x'), 1), IOT_SOCKET_ENOTCONN);
    assert.equal(await ctx.api.socketGetPeerName(s, null, null, null), IOT_SOCKET_ENOTCONN);
    // A new attempt, not the old failure again.
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EINPROGRESS, 'a new attempt starts');
    core.completeConnect(0);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EISCONN);
    assert.equal(core.local?.port, SCRIPTED_EPHEMERAL_BASE, 'same local port');
    await finish(ctx, s);
  });

  it('a blocking Connect settles at the backend deadline (ETIMEDOUT), reported once', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx);
    core.connectPlan = { kind: 'after', afterMs: 15_000, result: IOT_SOCKET_ETIMEDOUT };
    const c = watch(ctx.api.socketConnect(s, PEER, 4, PEER_PORT));
    await advance(ctx, 14_999);
    assertPending(c, 'blocking Connect before the deadline');
    await advance(ctx, 1);
    assertSettled(c, IOT_SOCKET_ETIMEDOUT, 'at the deadline');
    core.connectPlan = { kind: 'immediate', result: 0 };
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), 0, 'then a new attempt, not the old failure');
    await finish(ctx, s);
  });

  it('a blocking Connect joins a pending non-blocking attempt (success and failure)', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EINPROGRESS);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 0);
    const c = watch(ctx.api.socketConnect(s, PEER, 4, PEER_PORT));
    await flush();
    assertPending(c, 'blocking Connect on a CONNECTING socket');
    assert.equal(core.connectCalls.length, 1, 'no second backend attempt');
    core.completeConnect(0);
    await flush();
    assertSettled(c, 0, 'joined attempt established');
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EISCONN);

    const f = await create(ctx);
    await setOpt(ctx, f.s, IOT_SOCKET_IO_FIONBIO, 1);
    assert.equal(await ctx.api.socketConnect(f.s, PEER, 4, PEER_PORT), IOT_SOCKET_EINPROGRESS);
    await setOpt(ctx, f.s, IOT_SOCKET_IO_FIONBIO, 0);
    const d = watch(ctx.api.socketConnect(f.s, PEER, 4, PEER_PORT));
    await flush();
    f.core.completeConnect(IOT_SOCKET_ECONNREFUSED);
    await flush();
    assertSettled(d, IOT_SOCKET_ECONNREFUSED, 'joined attempt refused');
    f.core.connectPlan = { kind: 'immediate', result: 0 };
    assert.equal(await ctx.api.socketConnect(f.s, PEER, 4, PEER_PORT), 0, 'the failure is not reported again');
    await finish(ctx, s, f.s);
  });

  it('concurrent blocking Connects on one socket share one attempt', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx);
    const c1 = watch(ctx.api.socketConnect(s, PEER, 4, PEER_PORT));
    const c2 = watch(ctx.api.socketConnect(s, PEER, 4, PEER_PORT));
    await flush();
    assertPending(c1, 'first Connect');
    assertPending(c2, 'second Connect');
    assert.equal(core.connectCalls.length, 1, 'one backend attempt');
    core.completeConnect(0);
    await flush();
    assertSettled(c1, 0, 'first Connect');
    assertSettled(c2, 0, 'second Connect');
    core.pushData('x');
    assert.equal(await ctx.api.socketRecv(s, new Uint8Array(1), 1), 1, 'the layer state is CONNECTED');
    await finish(ctx, s);
  });

  it('Recv/Send while CONNECTING: EAGAIN non-blocking; blocking calls wait for the connection', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EINPROGRESS);
    assert.equal(await ctx.api.socketRecv(s, new Uint8Array(4), 4), IOT_SOCKET_EAGAIN);
    assert.equal(await ctx.api.socketSend(s, enc('abcd'), 4), IOT_SOCKET_EAGAIN);
    assert.equal(await ctx.api.socketRecv(s, null, 0), IOT_SOCKET_EAGAIN);
    assert.equal(await ctx.api.socketSend(s, null, 0), IOT_SOCKET_EAGAIN);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 0);
    const buf = new Uint8Array(4);
    const r = watch(ctx.api.socketRecv(s, buf, 4));
    const w = watch(ctx.api.socketSend(s, enc('abcd'), 4));
    await flush();
    assertPending(r, 'blocking Recv while connecting');
    assertPending(w, 'blocking Send while connecting');
    core.completeConnect(0);
    await flush();
    assertSettled(w, 4, 'Send after the connection');
    assertPending(r, 'Recv now waits for data');
    core.pushData('pong');
    await flush();
    assertSettled(r, 4, 'Recv');
    assert.equal(dec(buf), 'pong');
    assert.equal(dec(core.sentBytes()), 'abcd');
    await finish(ctx, s);
  });

  it('Recv/Send while CONNECTING: ENOTCONN when the attempt fails; Connect still reports the failure once; RCVTIMEO applies', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EINPROGRESS);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 0);
    await setOpt(ctx, s, IOT_SOCKET_SO_RCVTIMEO, 100);
    const t = watch(ctx.api.socketRecv(s, new Uint8Array(4), 4));
    await advance(ctx, 100);
    assertSettled(t, IOT_SOCKET_EAGAIN, 'RCVTIMEO while connecting');
    await setOpt(ctx, s, IOT_SOCKET_SO_RCVTIMEO, 0);
    const r = watch(ctx.api.socketRecv(s, new Uint8Array(4), 4));
    const w = watch(ctx.api.socketSend(s, enc('abcd'), 4));
    await flush();
    core.completeConnect(IOT_SOCKET_ECONNREFUSED);
    await flush();
    assertSettled(r, IOT_SOCKET_ENOTCONN, 'Recv when the attempt fails');
    assertSettled(w, IOT_SOCKET_ENOTCONN, 'Send when the attempt fails');
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_ECONNREFUSED, 'failure reported by Connect');
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EINPROGRESS, 'once');
    await finish(ctx, s);
  });
});

describe('IoT Socket layer: peer close, reset, abort', () => {
  it('FIN: buffered data stays readable, then ECONNRESET (CORE_EOF) for Recv, polls and Send', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    core.pushData('abc');
    core.setPeerFin();
    const buf = new Uint8Array(4);
    assert.equal(await ctx.api.socketRecv(s, buf, 2), 2);
    assert.equal(await ctx.api.socketRecv(s, null, 0), 0, 'poll: still readable');
    assert.equal(await ctx.api.socketRecv(s, buf, 4), 1);
    assert.equal(await ctx.api.socketRecv(s, buf, 4), IOT_SOCKET_ECONNRESET, 'drained');
    assert.equal(await ctx.api.socketRecv(s, null, 0), IOT_SOCKET_ECONNRESET, 'poll drained');
    assert.equal(await ctx.api.socketSend(s, enc('x'), 1), IOT_SOCKET_ECONNRESET);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, PEER_PORT), IOT_SOCKET_EISCONN, 'Connect after the connection ended');
    await finish(ctx, s);
  });

  it('a blocked Recv is woken by FIN (ECONNRESET), RST (ECONNRESET) and local abort (ECONNABORTED)', async () => {
    const ctx = setup();
    const cases: [keyof Pick<ScriptedSocket, 'setPeerFin' | 'setPeerReset' | 'setAborted'>, number][] = [
      ['setPeerFin', IOT_SOCKET_ECONNRESET], ['setPeerReset', IOT_SOCKET_ECONNRESET], ['setAborted', IOT_SOCKET_ECONNABORTED],
    ];
    const ids: number[] = [];
    for (const [step, code] of cases) {
      const { s, core } = await connected(ctx);
      ids.push(s);
      const r = watch(ctx.api.socketRecv(s, new Uint8Array(4), 4));
      const p = watch(ctx.api.socketRecv(s, null, 0));
      await flush();
      core[step]();
      await flush();
      assertSettled(r, code, `Recv after ${step}`);
      assertSettled(p, code, `poll after ${step}`);
      assert.equal(await ctx.api.socketSend(s, enc('x'), 1), code, `Send after ${step}`);
      assert.equal(await ctx.api.socketSend(s, null, 0), code, `Send poll after ${step}`);
    }
    await finish(ctx, ...ids);
  });

  it('Send after FIN is ECONNRESET without reaching the core (row 31), even with data unread; polls too', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    core.pushData('unread');
    core.setPeerFin();
    assert.equal(core.peerClosed(), true);
    // The backend itself would still send after a FIN (half-open, contract): the layer refuses.
    assert.equal(await ctx.api.socketSend(s, enc('x'), 1), IOT_SOCKET_ECONNRESET, 'Send, blocking');
    assert.equal(await ctx.api.socketSend(s, new Uint8Array(20_000), 20_000), IOT_SOCKET_ECONNRESET, 'Send, large');
    assert.equal(await ctx.api.socketSendTo(s, enc('x'), 1, PEER, 4, PEER_PORT), IOT_SOCKET_ECONNRESET, 'SendTo');
    assert.equal(await ctx.api.socketSend(s, null, 0), IOT_SOCKET_ECONNRESET, 'Send poll, blocking');
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    assert.equal(await ctx.api.socketSend(s, enc('x'), 1), IOT_SOCKET_ECONNRESET, 'Send, non-blocking');
    assert.equal(await ctx.api.socketSend(s, null, 0), IOT_SOCKET_ECONNRESET, 'Send poll, non-blocking');
    assert.equal(core.sentBytes().length, 0, 'nothing reached the core');
    // Recv is unchanged: the data first, then ECONNRESET (row 30).
    const buf = new Uint8Array(16);
    assert.equal(await ctx.api.socketRecv(s, buf, 16), 6);
    assert.equal(dec(buf.subarray(0, 6)), 'unread');
    assert.equal(await ctx.api.socketRecv(s, buf, 16), IOT_SOCKET_ECONNRESET);
    await finish(ctx, s);
  });

  it('a Send blocked on a full buffer is woken by FIN: ECONNRESET, or the bytes already queued', async () => {
    const ctx = setup();
    const a = await connected(ctx);
    a.core.setSendRoom(0);
    const w = watch(ctx.api.socketSend(a.s, enc('abcd'), 4));
    const p = watch(ctx.api.socketSend(a.s, null, 0));
    await flush();
    assertPending(w, 'Send, no room');
    assertPending(p, 'Send poll, no room');
    a.core.setPeerFin();
    await flush();
    assertSettled(w, IOT_SOCKET_ECONNRESET, 'Send woken by FIN');
    assertSettled(p, IOT_SOCKET_ECONNRESET, 'Send poll woken by FIN');

    const b = await connected(ctx);
    b.core.setSendRoom(2);
    const part = watch(ctx.api.socketSend(b.s, enc('abcd'), 4));
    await flush();
    assertPending(part, 'blocking Send, 2 of 4 bytes queued');
    b.core.setPeerFin();
    b.core.setSendRoom(10); // room again: the layer must still stop
    await flush();
    assertSettled(part, 2, 'the bytes queued before the FIN');
    assert.equal(dec(b.core.sentBytes()), 'ab');
    await finish(ctx, a.s, b.s);
  });

  it('RST discards buffered data: ECONNRESET at once', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    core.pushData('lost');
    core.setPeerReset();
    assert.equal(await ctx.api.socketRecv(s, new Uint8Array(4), 4), IOT_SOCKET_ECONNRESET);
    await finish(ctx, s);
  });
});

describe('IoT Socket layer: len == 0 polls (§8)', () => {
  it('stream polls in every state: created, bound, listening, connecting, connected, peer closed, aborted', async () => {
    const ctx = setup();
    const poll = async (s: number): Promise<[number, number]> =>
      [await ctx.api.socketRecv(s, null, 0), await ctx.api.socketSend(s, null, 0)];
    const nb = async (s: number): Promise<void> => setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);

    const created = await create(ctx);
    await nb(created.s);
    assert.deepEqual(await poll(created.s), [IOT_SOCKET_ENOTCONN, IOT_SOCKET_ENOTCONN], 'created');
    const bound = await create(ctx);
    await nb(bound.s);
    assert.equal(await ctx.api.socketBind(bound.s, ANY4, 4, 3000), 0);
    assert.deepEqual(await poll(bound.s), [IOT_SOCKET_ENOTCONN, IOT_SOCKET_ENOTCONN], 'bound');
    const listening = await listener(ctx);
    await nb(listening.s);
    assert.deepEqual(await poll(listening.s), [IOT_SOCKET_ENOTCONN, IOT_SOCKET_ENOTCONN], 'listening');
    const connecting = await create(ctx);
    await nb(connecting.s);
    assert.equal(await ctx.api.socketConnect(connecting.s, PEER, 4, PEER_PORT), IOT_SOCKET_EINPROGRESS);
    assert.deepEqual(await poll(connecting.s), [IOT_SOCKET_EAGAIN, IOT_SOCKET_EAGAIN], 'connecting');

    const c = await connected(ctx);
    await nb(c.s);
    assert.deepEqual(await poll(c.s), [IOT_SOCKET_EAGAIN, 0], 'connected, nothing queued, room to send');
    c.core.setSendRoom(0);
    assert.deepEqual(await poll(c.s), [IOT_SOCKET_EAGAIN, IOT_SOCKET_EAGAIN], 'connected, no room');
    c.core.pushData('q');
    // buf, ip, ip_len, port are neither validated nor written when len == 0.
    const junk = 'junk' as unknown as Uint8Array;
    const ipOut = new Uint8Array([9, 9, 9, 9]);
    const lenOut = ref(99);
    const portOut = ref(99);
    assert.equal(await ctx.api.socketRecv(c.s, junk, 0), 0, 'data queued');
    assert.equal(await ctx.api.socketRecvFrom(c.s, junk, 0, ipOut, lenOut, portOut), 0);
    assert.equal(await ctx.api.socketRecvFrom(c.s, null, 0, junk, 'x' as unknown as Ref<number>, null), 0);
    assert.deepEqual([...ipOut, lenOut.value, portOut.value], [9, 9, 9, 9, 99, 99], 'outputs untouched');
    assert.equal(await ctx.api.socketSendTo(c.s, junk, 0, junk, -1, -1), IOT_SOCKET_EAGAIN, 'SendTo poll, no room');
    assert.equal(await ctx.api.socketRecv(c.s, new Uint8Array(1), 1), 1, 'the poll consumed nothing');

    const fin = await connected(ctx);
    fin.core.pushData('z');
    fin.core.setPeerFin();
    assert.equal(await ctx.api.socketRecv(fin.s, null, 0), 0, 'peer closed, data left');
    assert.equal(await ctx.api.socketRecv(fin.s, new Uint8Array(1), 1), 1);
    assert.deepEqual(await poll(fin.s), [IOT_SOCKET_ECONNRESET, IOT_SOCKET_ECONNRESET], 'peer closed, drained');
    const ab = await connected(ctx);
    ab.core.setAborted();
    assert.deepEqual(await poll(ab.s), [IOT_SOCKET_ECONNABORTED, IOT_SOCKET_ECONNABORTED], 'aborted');
    await finish(ctx, created.s, bound.s, listening.s, connecting.s, c.s, fin.s, ab.s);
  });

  it('blocking polls wait for readiness; RCVTIMEO / SNDTIMEO -> EAGAIN', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    const r = watch(ctx.api.socketRecv(s, null, 0));
    core.setSendRoom(0);
    const w = watch(ctx.api.socketSend(s, null, 0));
    await advance(ctx, 10_000);
    assertPending(r, 'Recv poll, blocking');
    assertPending(w, 'Send poll, blocking');
    core.pushData('x');
    core.setSendRoom(10);
    await flush();
    assertSettled(r, 0, 'readable');
    assertSettled(w, 0, 'writable');
    assert.equal(await ctx.api.socketRecv(s, new Uint8Array(1), 1), 1);
    await setOpt(ctx, s, IOT_SOCKET_SO_RCVTIMEO, 40);
    await setOpt(ctx, s, IOT_SOCKET_SO_SNDTIMEO, 60);
    core.setSendRoom(0);
    const r2 = watch(ctx.api.socketRecv(s, null, 0));
    const w2 = watch(ctx.api.socketSend(s, null, 0));
    await advance(ctx, 40);
    assertSettled(r2, IOT_SOCKET_EAGAIN, 'RCVTIMEO');
    assertPending(w2, 'SNDTIMEO not yet');
    await advance(ctx, 20);
    assertSettled(w2, IOT_SOCKET_EAGAIN, 'SNDTIMEO');
    await finish(ctx, s);
  });

  it('datagram polls: unbound Recv poll waits or EAGAIN (never ENOTCONN); Send poll needs no destination', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx, IOT_SOCKET_SOCK_DGRAM);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    assert.equal(await ctx.api.socketRecv(s, null, 0), IOT_SOCKET_EAGAIN);
    assert.equal(await ctx.api.socketSend(s, null, 0), 0);
    core.pushDatagram('dgram', { address: PEER, port: 53 });
    assert.equal(await ctx.api.socketRecv(s, null, 0), 0, 'a datagram is queued');
    assert.equal(await ctx.api.socketRecv(s, new Uint8Array(8), 8), 5, 'and was not consumed by the poll');
    await finish(ctx, s);
  });
});

describe('IoT Socket layer: Close', () => {
  it('Close settles every call pending on the socket with ESOCK (row 55)', async () => {
    const ctx = setup();
    const c = await connected(ctx);
    c.core.setSendRoom(0);
    const recv = watch(ctx.api.socketRecv(c.s, new Uint8Array(4), 4));
    const send = watch(ctx.api.socketSend(c.s, enc('abcd'), 4));
    const poll = watch(ctx.api.socketRecv(c.s, null, 0));
    const l = await listener(ctx);
    const acc = watch(ctx.api.socketAccept(l.s, null, null, null));
    const k = await create(ctx);
    const conn = watch(ctx.api.socketConnect(k.s, PEER, 4, PEER_PORT));
    const u = await create(ctx, IOT_SOCKET_SOCK_DGRAM);
    const urecv = watch(ctx.api.socketRecvFrom(u.s, new Uint8Array(4), 4, null, null, null));
    await flush();
    assert.equal(ctx.layer.pendingCalls, 6);
    await finish(ctx, c.s, l.s, k.s, u.s);
    for (const [w, what] of [[recv, 'Recv'], [send, 'Send'], [poll, 'poll'], [acc, 'Accept'], [conn, 'Connect'], [urecv, 'RecvFrom']] as const) {
      assertSettled(w, IOT_SOCKET_ESOCK, what);
    }
    assert.equal(await ctx.api.socketClose(c.s), IOT_SOCKET_ESOCK, 'Close twice');
    assert.equal(await ctx.api.socketRecv(c.s, new Uint8Array(4), 4), IOT_SOCKET_ESOCK, 'closed id');
    assert.deepEqual(c.core.closeCalls, [false], 'graceful close');
  });

  it('non-blocking Close with the backend close in flight: EAGAIN until done, then 0; the id stays reserved', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    core.deferClose = true;
    assert.equal(await ctx.api.socketClose(s), IOT_SOCKET_EAGAIN, 'first call');
    assert.equal(await ctx.api.socketClose(s), IOT_SOCKET_EAGAIN, 'still in flight');
    assert.equal(await ctx.api.socketRecv(s, new Uint8Array(1), 1), IOT_SOCKET_ESOCK, 'other calls while CLOSING');
    assert.equal(ctx.layer.openSockets, 1, 'id still valid');
    const other = await create(ctx);
    assert.notEqual(other.s, s, 'a CLOSING id is not reissued');
    assert.deepEqual(core.closeCalls, [false], 'one backend close');
    core.finishClose(0);
    await flush();
    assert.equal(await ctx.api.socketClose(s), 0, 'then 0');
    assert.equal(await ctx.api.socketClose(s), IOT_SOCKET_ESOCK, 'then ESOCK');
    await finish(ctx, other.s);
  });

  it('blocking Close waits for the backend close; pending calls settle first', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    core.deferClose = true;
    const r = watch(ctx.api.socketRecv(s, new Uint8Array(1), 1));
    await flush();
    const c = watch(ctx.api.socketClose(s));
    await flush();
    assertSettled(r, IOT_SOCKET_ESOCK, 'pending Recv');
    assertPending(c, 'blocking Close');
    assert.equal(ctx.layer.openSockets, 1);
    core.finishClose(0);
    await flush();
    assertSettled(c, 0, 'blocking Close');
    await finish(ctx);
  });

  it('a failed backend close gives ERROR and releases the id, whether it settles at once or later', async () => {
    const ctx = setup();
    const a = await connected(ctx);
    a.core.closeResult = IOT_SOCKET_ERROR;
    assert.equal(await ctx.api.socketClose(a.s), IOT_SOCKET_ERROR, 'synchronous backend');
    const b = await connected(ctx);
    b.core.deferClose = true;
    const c = watch(ctx.api.socketClose(b.s));
    await flush();
    b.core.finishClose(IOT_SOCKET_ERROR);
    await flush();
    assertSettled(c, IOT_SOCKET_ERROR, 'asynchronous backend, blocking Close');
    const d = await connected(ctx);
    await setOpt(ctx, d.s, IOT_SOCKET_IO_FIONBIO, 1);
    d.core.deferClose = true;
    assert.equal(await ctx.api.socketClose(d.s), IOT_SOCKET_EAGAIN);
    d.core.finishClose(IOT_SOCKET_ERROR);
    await flush();
    assert.equal(await ctx.api.socketClose(d.s), IOT_SOCKET_ERROR, 'asynchronous backend, non-blocking Close');
    for (const s of [a.s, b.s, d.s]) assert.equal(await ctx.api.socketClose(s), IOT_SOCKET_ESOCK, 'released');
    await finish(ctx);
  });
});

describe('IoT Socket layer: ids and capacity', () => {
  it('ids are unique, within 1..0x3FFFFFFF, never 0x7FFFFFFF, and a closed id is not reissued until wrap', async () => {
    const ctx = setup();
    const a = (await create(ctx)).s;
    const b = (await create(ctx)).s;
    const c = (await create(ctx)).s;
    assert.deepEqual([a, b, c], [1, 2, 3]);
    assert.equal(await ctx.api.socketClose(b), 0);
    const d = (await create(ctx)).s;
    assert.equal(d, 4, 'the closed id 2 is not reissued');
    // Jump the counter to the end of the range (private field: no public way to get there).
    (ctx.layer as unknown as { nextId: number }).nextId = MAX_ID - 1;
    const e = (await create(ctx)).s;
    const f = (await create(ctx)).s;
    assert.deepEqual([e, f], [MAX_ID - 1, MAX_ID]);
    const g = (await create(ctx)).s;
    assert.equal(g, 2, 'wraps to 1, skips live 1, reuses the closed 2');
    const h = (await create(ctx)).s;
    assert.equal(h, 5, 'skips live 3 and 4');
    const all = [a, c, d, e, f, g, h];
    assert.equal(new Set(all).size, all.length, 'unique');
    assert.ok(all.every((id) => id >= 1 && id <= MAX_ID && id !== INT32_MAX));
    assert.equal(await ctx.api.socketRecv(INT32_MAX, new Uint8Array(1), 1), IOT_SOCKET_ESOCK);
    assert.equal(await ctx.api.socketClose(INT32_MAX), IOT_SOCKET_ESOCK);
    await finish(ctx, ...all);
  });

  it('ENOMEM when the table is full; a closed slot is free again; ENOTSUP from caps and backend', async () => {
    const ctx = setup({ maxSockets: 4, ipv6: false });
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push((await create(ctx, i % 2 === 0 ? IOT_SOCKET_SOCK_STREAM : IOT_SOCKET_SOCK_DGRAM)).s);
    assert.equal(await ctx.api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0), IOT_SOCKET_ENOMEM);
    assert.equal(await ctx.api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_DGRAM, 0), IOT_SOCKET_ENOMEM);
    assert.equal(await ctx.api.socketClose(ids.shift() as number), 0);
    ids.push((await create(ctx)).s);
    assert.equal(await ctx.api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0), IOT_SOCKET_ENOMEM);
    assert.equal(await ctx.api.socketClose(ids.shift() as number), 0);
    assert.equal(await ctx.api.socketCreate(IOT_SOCKET_AF_INET6, IOT_SOCKET_SOCK_STREAM, 0), IOT_SOCKET_ENOTSUP, 'IPv6 not in caps');
    ctx.backend.nextCreateError = IOT_SOCKET_ENOMEM;
    assert.equal(await ctx.api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0), IOT_SOCKET_ENOMEM, 'from the backend');
    assert.equal(ctx.layer.openSockets, 3);
    await finish(ctx, ...ids);
  });
});

describe('IoT Socket layer: call order', () => {
  it('two blocked Recvs are served in call order', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    const b1 = new Uint8Array(4);
    const b2 = new Uint8Array(4);
    const r1 = watch(ctx.api.socketRecv(s, b1, 4));
    const r2 = watch(ctx.api.socketRecv(s, b2, 4));
    await flush();
    core.pushData('ab');
    await flush();
    assertSettled(r1, 2, 'first Recv gets the first data');
    assertPending(r2, 'second Recv');
    core.pushData('cd');
    await flush();
    assertSettled(r2, 2, 'second Recv');
    assert.deepEqual([dec(b1.subarray(0, 2)), dec(b2.subarray(0, 2))], ['ab', 'cd']);
    // Both woken by one arrival: the earlier call still reads first.
    const r3 = watch(ctx.api.socketRecv(s, b1, 2));
    const r4 = watch(ctx.api.socketRecv(s, b2, 2));
    await flush();
    core.pushData('wxyz');
    await flush();
    assertSettled(r3, 2, 'third');
    assertSettled(r4, 2, 'fourth');
    assert.deepEqual([dec(b1.subarray(0, 2)), dec(b2.subarray(0, 2))], ['wx', 'yz']);
    await finish(ctx, s);
  });

  it('two blocked Sends queue their bytes in call order', async () => {
    const ctx = setup();
    const { s, core } = await connected(ctx);
    core.setSendRoom(0);
    const w1 = watch(ctx.api.socketSend(s, enc('AAAA'), 4));
    const w2 = watch(ctx.api.socketSend(s, enc('BBBB'), 4));
    await flush();
    core.setSendRoom(6);
    await flush();
    assertSettled(w1, 4, 'first Send');
    assertPending(w2, 'second Send (2 of 4 queued)');
    core.setSendRoom(10);
    await flush();
    assertSettled(w2, 4, 'second Send');
    assert.equal(dec(core.sentBytes()), 'AAAABBBB');
    await finish(ctx, s);
  });
});

describe('IoT Socket layer: UDP (§9)', () => {
  it('Send without destination -> ENOTCONN; SendTo with ip null behaves as Send; Connect to 0.0.0.0 clears', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx, IOT_SOCKET_SOCK_DGRAM);
    const data = enc('hello');
    assert.equal(await ctx.api.socketSend(s, data, 5), IOT_SOCKET_ENOTCONN, 'Send, no destination');
    assert.equal(await ctx.api.socketSendTo(s, data, 5, null, 0, 0), IOT_SOCKET_ENOTCONN, 'SendTo ip null, no destination');
    assert.equal(await ctx.api.socketGetPeerName(s, null, null, null), IOT_SOCKET_ENOTCONN);
    const dest = new Uint8Array([10, 0, 0, 9]);
    assert.equal(await ctx.api.socketConnect(s, dest, 4, 5000), 0);
    assert.equal(await ctx.api.socketSend(s, data, 5), 5);
    assert.equal(await ctx.api.socketSendTo(s, data, 5, null, 0, 0), 5, 'SendTo ip null -> default destination');
    const other = new Uint8Array([10, 0, 0, 10]);
    assert.equal(await ctx.api.socketSendTo(s, data, 5, other, 4, 6000), 5, 'SendTo an address while connected');
    assert.deepEqual(core.sentDatagrams.map((d) => [d.to.address[3], d.to.port]), [[9, 5000], [9, 5000], [10, 6000]]);
    assert.equal(await ctx.api.socketSendTo(s, data, 5, other, 4, 0), IOT_SOCKET_EINVAL, 'SendTo port 0');
    assert.equal(await ctx.api.socketSendTo(s, data, 5, other, 16, 6000), IOT_SOCKET_EINVAL, 'SendTo ip_len of the other family');
    const port = ref(0);
    assert.equal(await ctx.api.socketGetPeerName(s, null, null, port), 0);
    assert.equal(port.value, 5000);
    assert.equal(await ctx.api.socketBind(s, ANY4, 4, 7000), IOT_SOCKET_EISCONN, 'Bind with a destination (row 9)');
    assert.equal(await ctx.api.socketConnect(s, ANY4, 4, 0), 0, 'Connect to 0.0.0.0 (row 20)');
    assert.equal(await ctx.api.socketGetPeerName(s, null, null, null), IOT_SOCKET_ENOTCONN, 'destination cleared');
    assert.equal(await ctx.api.socketSend(s, data, 5), IOT_SOCKET_ENOTCONN, 'Send after clearing');
    assert.equal(await ctx.api.socketBind(s, ANY4, 4, 7000), IOT_SOCKET_EINVAL, 'still bound implicitly (row 7)');
    await finish(ctx, s);
  });

  it('SendTo binds implicitly; Recv works without Connect; one Recv consumes one datagram, truncated', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx, IOT_SOCKET_SOCK_DGRAM);
    assert.equal(await ctx.api.socketGetSockName(s, null, null, null), IOT_SOCKET_EINVAL, 'unbound');
    assert.equal(await ctx.api.socketSendTo(s, enc('ping'), 4, PEER, 4, 53), 4);
    const port = ref(0);
    assert.equal(await ctx.api.socketGetSockName(s, null, null, port), 0);
    assert.equal(port.value, SCRIPTED_EPHEMERAL_BASE, 'implicit bind');
    core.pushDatagram('0123456789', { address: PEER, port: 53 });
    core.pushDatagram('second', { address: new Uint8Array([198, 51, 100, 7]), port: 9999 });
    const buf = new Uint8Array(4);
    const ip = new Uint8Array([255, 255, 255, 255, 255, 255]);
    const ipLen = ref(6);
    const from = ref(0);
    assert.equal(await ctx.api.socketRecvFrom(s, buf, 4, ip, ipLen, from), 4, 'bytes stored');
    assert.equal(dec(buf), '0123');
    assert.deepEqual([...ip, ipLen.value, from.value], [...PEER, 255, 255, 4, 53]);
    const big = new Uint8Array(16);
    assert.equal(await ctx.api.socketRecvFrom(s, big, 16, ip, ipLen, from), 6, 'the rest of the first datagram was discarded');
    assert.equal(dec(big.subarray(0, 6)), 'second');
    assert.deepEqual([ip[0], ip[3], from.value], [198, 7, 9999]);
    assert.equal(await ctx.api.socketRecvFrom(s, buf, 4, new Uint8Array(3), ref(3), null), IOT_SOCKET_EINVAL, 'ip too short');
    assert.equal(await ctx.api.socketSendTo(s, new Uint8Array(1473), 1473, PEER, 4, 53), IOT_SOCKET_EINVAL, 'above the backend maximum');
    await setOpt(ctx, s, IOT_SOCKET_SO_RCVTIMEO, 70);
    const r = watch(ctx.api.socketRecv(s, buf, 4));
    await advance(ctx, 70);
    assertSettled(r, IOT_SOCKET_EAGAIN, 'blocking datagram Recv, RCVTIMEO');
    await finish(ctx, s);
  });

  it('an unbound datagram socket just has nothing to receive (waits; never ENOTCONN)', async () => {
    const ctx = setup();
    const { s } = await create(ctx, IOT_SOCKET_SOCK_DGRAM);
    const r = watch(ctx.api.socketRecv(s, new Uint8Array(4), 4));
    await advance(ctx, 1000);
    assertPending(r, 'blocking Recv on an unbound socket');
    await finish(ctx, s);
    assertSettled(r, IOT_SOCKET_ESOCK, 'closed');
  });

  it('a blocking datagram Send waits for room for the whole datagram; SNDTIMEO -> EAGAIN', async () => {
    const ctx = setup();
    const { s, core } = await create(ctx, IOT_SOCKET_SOCK_DGRAM);
    assert.equal(await ctx.api.socketConnect(s, PEER, 4, 53), 0);
    core.setSendRoom(3);
    const w = watch(ctx.api.socketSend(s, enc('abcde'), 5));
    await flush();
    assertPending(w, 'no room for 5 bytes');
    assert.equal(core.sentDatagrams.length, 0, 'nothing partial');
    core.setSendRoom(5);
    await flush();
    assertSettled(w, 5, 'whole datagram');
    await setOpt(ctx, s, IOT_SOCKET_SO_SNDTIMEO, 30);
    core.setSendRoom(0);
    const w2 = watch(ctx.api.socketSend(s, enc('abcde'), 5));
    await advance(ctx, 30);
    assertSettled(w2, IOT_SOCKET_EAGAIN, 'SNDTIMEO');
    await setOpt(ctx, s, IOT_SOCKET_IO_FIONBIO, 1);
    assert.equal(await ctx.api.socketSend(s, enc('abcde'), 5), IOT_SOCKET_EAGAIN, 'non-blocking, no room');
    await finish(ctx, s);
  });
});

describe('IoT Socket layer: GetHostByName', () => {
  it('ENOTSUP for a family the backend lacks (IPv4 or IPv6), without a lookup', async () => {
    for (const [caps, af] of [[{ ipv4: false }, IOT_SOCKET_AF_INET], [{ ipv6: false }, IOT_SOCKET_AF_INET6]] as const) {
      const ctx = setup(caps);
      ctx.backend.names.set('host.test', af === IOT_SOCKET_AF_INET ? new Uint8Array(4) : new Uint8Array(16));
      assert.equal(await ctx.api.socketGetHostByName('host.test', af, new Uint8Array(16), ref(16)), IOT_SOCKET_ENOTSUP, `af ${af}`);
      assert.equal(ctx.backend.lookups.length, 0);
      await finish(ctx);
    }
  });

  it('resolves through the backend; literals need no lookup; names over 255 UTF-8 bytes -> EINVAL', async () => {
    const ctx = setup();
    ctx.backend.names.set('host.test', new Uint8Array([203, 0, 113, 5]));
    const ip = new Uint8Array(6);
    const len = ref(6);
    assert.equal(await ctx.api.socketGetHostByName('host.test', IOT_SOCKET_AF_INET, ip, len), 0);
    assert.deepEqual([...ip.subarray(0, 4), len.value], [203, 0, 113, 5, 4]);
    assert.equal(await ctx.api.socketGetHostByName('192.0.2.77', IOT_SOCKET_AF_INET, ip, len), 0);
    assert.equal(ip[3], 77);
    assert.equal(ctx.backend.lookups.length, 1, 'the literal did not reach the backend');
    // 250 ASCII + a lone high surrogate (U+FFFD, 3 bytes) + U+4E00 (3 bytes) = 256 bytes.
    const long = 'a'.repeat(250) + '\ud800\u4e00';
    assert.equal(new TextEncoder().encode(long).length, 256);
    assert.equal(await ctx.api.socketGetHostByName(long, IOT_SOCKET_AF_INET, ip, ref(4)), IOT_SOCKET_EINVAL);
    const ok = 'a'.repeat(252) + '\ud83d\ude00'; // 252 + a 4-byte pair = 256 -> EINVAL; one 'a' less = 255 -> looked up
    assert.equal(await ctx.api.socketGetHostByName(ok, IOT_SOCKET_AF_INET, ip, ref(4)), IOT_SOCKET_EINVAL);
    assert.notEqual(await ctx.api.socketGetHostByName(ok.slice(1), IOT_SOCKET_AF_INET, ip, ref(4)), IOT_SOCKET_EINVAL);
    assert.equal(ctx.backend.lookups.length, 2);
    await finish(ctx);
  });
});
