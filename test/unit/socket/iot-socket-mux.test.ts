/**
 * The IoT Socket mux (src/socket/iot-socket-mux.ts, issue 9 "the faithful mux"):
 * per-socket bookkeeping across re-registrations, id allocation, `null` registration,
 * unknown ids, Close, throwing tables, and the global `iotSocket*` functions. Tables are
 * `IotSocketLayer`s over scripted backends, or a recording fake table; no network, no timers.
 * The end-to-end exchange over two userspace stacks is in iot-socket-mux-switch.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IOT_SOCKET_AF_INET, IOT_SOCKET_EAGAIN, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOMEM, IOT_SOCKET_ERROR, IOT_SOCKET_ESOCK,
  IOT_SOCKET_IO_FIONBIO, IOT_SOCKET_SOCK_DGRAM, IOT_SOCKET_SOCK_STREAM,
} from '../../../src/base/iot-constants.ts';
import { IotSocketLayer } from '../../../src/socket/iot-socket-layer.ts';
import { IotSocketMux } from '../../../src/socket/iot-socket-mux.ts';
import { IOT_SOCKET_API_MEMBERS, type IotSocketApi, type Ref } from '../../../src/socket/iot-socket-types.ts';
import {
  iotSocketClose, iotSocketCreate, iotSocketGetSockName, iotSocketOpenSockets, iotSocketRegisterApi,
} from '../../../src/socket/iot-socket.ts';
import { ScriptedBackend } from '../../support/scripted-backend.ts';

type Fn = keyof IotSocketApi;
const MAX_ID = 0x3fffffff;
const INT32_MAX = 0x7fffffff;
const ANY4 = new Uint8Array(4);
const ref = (value: number): Ref<number> => ({ value });
const opt = (v: number): Uint8Array => new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);

/** Valid-looking arguments after the socket id (or all arguments for Create/GetHostByName). */
function argsFor(fn: Fn, socket: number): unknown[] {
  const b = new Uint8Array(16);
  switch (fn) {
    case 'socketCreate': return [IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0];
    case 'socketGetHostByName': return ['localhost', IOT_SOCKET_AF_INET, b, ref(4)];
    case 'socketBind': case 'socketConnect': return [socket, ANY4, 4, 7];
    case 'socketListen': return [socket, 1];
    case 'socketAccept': case 'socketGetSockName': case 'socketGetPeerName': return [socket, b, ref(16), ref(0)];
    case 'socketRecv': case 'socketSend': return [socket, b, 4];
    case 'socketRecvFrom': return [socket, b, 4, b, ref(16), ref(0)];
    case 'socketSendTo': return [socket, b, 4, ANY4, 4, 7];
    case 'socketGetOpt': return [socket, 2, new Uint8Array(4), ref(4)];
    case 'socketSetOpt': return [socket, 2, opt(0), 4];
    case 'socketClose': return [socket];
  }
}

function callFn(api: IotSocketApi, fn: Fn, args: unknown[]): Promise<number> {
  return (api[fn] as (...a: unknown[]) => Promise<number>)(...args);
}

/** A layer over a scripted backend, the tables of these tests. */
function layerTable(): { backend: ScriptedBackend; layer: IotSocketLayer; api: IotSocketApi } {
  const backend = new ScriptedBackend();
  const layer = new IotSocketLayer(backend);
  return { backend, layer, api: layer.api() };
}

/** A table that records every call (member, socket id) and answers from `answer`. */
function fakeTable(answer: (fn: Fn, socket: unknown) => number): { api: IotSocketApi; calls: [Fn, unknown][] } {
  const calls: [Fn, unknown][] = [];
  const api = Object.fromEntries(IOT_SOCKET_API_MEMBERS.map((fn) => [fn, (...a: unknown[]) => {
    calls.push([fn, a[0]]);
    return Promise.resolve(answer(fn, a[0]));
  }])) as unknown as IotSocketApi;
  return { api, calls };
}

/** A mux with a layer over a scripted backend registered. */
function muxOverLayer(): { A: ReturnType<typeof layerTable>; mux: IotSocketMux } {
  const A = layerTable();
  const mux = new IotSocketMux();
  mux.register(A.api);
  return { A, mux };
}

const stream = (api: IotSocketApi): Promise<number> => api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
const dgram = (api: IotSocketApi): Promise<number> => api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_DGRAM, 0);
const bindPort = (api: IotSocketApi, s: number, port: number): Promise<number> => api.socketBind(s, ANY4, 4, port);

describe('IotSocketMux: one table', () => {
  it('returns the table\'s own ids and results (a single table behaves as without the mux)', async () => {
    const direct = layerTable();
    const muxed = layerTable();
    const mux = new IotSocketMux();
    assert.equal(mux.register(muxed.api), 0);
    for (let i = 0; i < 6; i++) {
      const a = await (i % 2 === 0 ? stream(direct.api) : dgram(direct.api));
      const b = await (i % 2 === 0 ? stream(mux) : dgram(mux));
      assert.equal(b, a, `create #${i}`);
      if (i % 3 === 0) assert.equal(await mux.socketClose(b), await direct.api.socketClose(a));
    }
    // The same results through the mux for every function on open (non-blocking), closed and implausible ids.
    for (const id of [2, 3, 5, 6]) {
      assert.equal(await mux.socketSetOpt(id, IOT_SOCKET_IO_FIONBIO, opt(1), 4), await direct.api.socketSetOpt(id, IOT_SOCKET_IO_FIONBIO, opt(1), 4));
    }
    for (const id of [2, 3, 5, 6, 1, 4, 99, 0, -1, INT32_MAX, 1.5]) {
      for (const fn of IOT_SOCKET_API_MEMBERS) {
        if (fn === 'socketClose' || fn === 'socketCreate' || fn === 'socketGetHostByName') continue;
        assert.equal(await callFn(mux, fn, argsFor(fn, id)), await callFn(direct.api, fn, argsFor(fn, id)), `${fn}(${id})`);
      }
    }
    // Bad arguments on a closed id: EINVAL first, as the table orders the checks (spec §4).
    assert.equal(await mux.socketRecv(1, null, 5), IOT_SOCKET_EINVAL);
    assert.equal(await mux.socketRecv(1, new Uint8Array(5), 5), IOT_SOCKET_ESOCK);
    assert.equal(await mux.socketBind(1, null, 4, 7), IOT_SOCKET_EINVAL);
    // Table errors pass unchanged.
    muxed.backend.nextCreateError = IOT_SOCKET_ENOMEM;
    assert.equal(await stream(mux), IOT_SOCKET_ENOMEM);
    assert.deepEqual(mux.sockets().map((s) => s.id), [2, 3, 5, 6]);
    for (const s of mux.sockets()) assert.equal(await mux.socketClose(s.id), 0);
    assert.equal(await mux.socketClose(2), IOT_SOCKET_ESOCK, 'close twice');
    assert.equal(mux.openSockets, 0);
    assert.equal(muxed.layer.openSockets, 0);
    await direct.layer.closeAll();
  });

  it('registering the same table again changes nothing; a non-table is refused and changes nothing', async () => {
    const t = layerTable();
    const mux = new IotSocketMux();
    mux.register(t.api);
    const s = await stream(mux);
    assert.equal(mux.register(t.api), 0);
    assert.equal(mux.register({} as IotSocketApi), IOT_SOCKET_EINVAL);
    assert.equal(mux.registered, t.api);
    assert.equal(await bindPort(mux, s, 80), 0);
    assert.equal(await stream(mux), s + 1);
    assert.deepEqual(mux.sockets(t.api).map((e) => [e.id, e.inner]), [[s, s], [s + 1, s + 1]]);
    await t.layer.closeAll();
  });
});

describe('IotSocketMux: re-registration', () => {
  it('sockets stay on the table that created them; new ones go to the new table; ids unique', async () => {
    const { A, mux } = muxOverLayer();
    const B = layerTable();
    const a1 = await stream(mux);
    const a2 = await dgram(mux);
    assert.deepEqual([a1, a2], [1, 2]);
    mux.register(B.api);
    const b1 = await stream(mux);
    const b2 = await dgram(mux);
    // B counts from 1 again: the mux gives the next ids of its own counter.
    assert.deepEqual([b1, b2], [3, 4]);
    assert.deepEqual(mux.sockets(B.api).map((e) => [e.id, e.inner]), [[3, 1], [4, 2]]);
    assert.deepEqual(mux.sockets(A.api).map((e) => [e.id, e.inner]), [[1, 1], [2, 2]]);
    // Each call reaches the owning table's socket.
    assert.equal(await bindPort(mux, a1, 1001), 0);
    assert.equal(await bindPort(mux, b1, 2001), 0);
    assert.equal(await bindPort(mux, a2, 1002), 0);
    assert.equal(A.backend.sockets[0]?.local?.port, 1001);
    assert.equal(A.backend.sockets[1]?.local?.port, 1002);
    assert.equal(B.backend.sockets[0]?.local?.port, 2001);
    assert.equal(B.backend.sockets[1]?.local, undefined);
    const port = ref(0);
    assert.equal(await mux.socketGetSockName(a2, null, null, port), 0);
    assert.equal(port.value, 1002);
    // Accept on a listener created before the switch: a new id, on the listener's table.
    assert.equal(await mux.socketListen(a1, 2), 0);
    A.backend.sockets[0]?.incoming({ address: new Uint8Array([192, 0, 2, 9]), port: 4000 });
    const peerPort = ref(0);
    const acc = await mux.socketAccept(a1, null, null, peerPort);
    assert.equal(acc, 5);
    assert.equal(peerPort.value, 4000);
    assert.deepEqual(mux.sockets(A.api).map((e) => e.id), [1, 2, 5]);
    assert.equal(A.layer.openSockets, 3);
    assert.equal(B.layer.openSockets, 2);
    const ids = mux.sockets().map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length);
    // Close every socket; the bookkeeping and both tables end empty.
    for (const s of [a1, a2, b1, b2, acc]) assert.equal(await mux.socketClose(s), 0, `close ${s}`);
    assert.equal(mux.openSockets, 0);
    assert.deepEqual(mux.sockets(A.api), []);
    assert.equal(A.layer.openSockets + B.layer.openSockets, 0);
  });

  it('a stale id never reaches the socket another table gave the same number', async () => {
    const { mux } = muxOverLayer();
    const B = layerTable();
    const a1 = await stream(mux);
    assert.equal(await mux.socketClose(a1), 0);
    mux.register(B.api);
    const b1 = await stream(mux); // B's own id 1, the number a1 had
    assert.equal(b1, 2);
    assert.equal(await bindPort(mux, a1, 3000), IOT_SOCKET_ESOCK);
    assert.equal(await mux.socketBind(a1, null, 4, 3000), IOT_SOCKET_EINVAL, 'argument checks first (spec §4)');
    assert.equal(await mux.socketClose(a1), IOT_SOCKET_ESOCK);
    assert.equal(B.backend.sockets[0]?.local, undefined, 'B\'s socket untouched');
    assert.equal(await mux.socketClose(b1), 0);
  });

  it('ids skip live ids, are not reissued before the counter wraps, and wrap below 0x3FFFFFFF', async () => {
    let next = MAX_ID - 1;
    const big = fakeTable((fn) => (fn === 'socketCreate' ? next++ : 0));
    const small = fakeTable((fn) => (fn === 'socketCreate' ? 1 : 0));
    const mux = new IotSocketMux();
    mux.register(big.api);
    assert.equal(await stream(mux), MAX_ID - 1);
    assert.equal(await stream(mux), MAX_ID);
    assert.equal(await stream(mux), 1, 'the table went beyond 0x3FFFFFFF: the counter, wrapped');
    assert.deepEqual(mux.sockets(big.api).map((e) => [e.id, e.inner]), [[1, MAX_ID + 1], [MAX_ID - 1, MAX_ID - 1], [MAX_ID, MAX_ID]]);
    mux.register(small.api);
    assert.equal(await stream(mux), 2);
    assert.equal(await mux.socketClose(2), 0);
    // The small table reissues its id 1 for a new socket: a new mux id (2 is not reissued yet).
    assert.equal(await stream(mux), 3);
    // ...and the table reissuing an id the mux still maps means that socket is gone.
    assert.deepEqual(mux.sockets(small.api).map((e) => [e.id, e.inner]), [[3, 1]]);
    assert.equal(await stream(mux), 4);
    assert.deepEqual(mux.sockets(small.api).map((e) => [e.id, e.inner]), [[4, 1]]);
    small.calls.length = 0;
    assert.equal(await mux.socketListen(3, 1), 0);
    assert.deepEqual(small.calls, [['socketListen', 0]], 'forgotten id 3 is sent as the never-issued 0');
    big.calls.length = 0;
    assert.equal(await mux.socketListen(1, 1), 0);
    assert.deepEqual(big.calls, [['socketListen', MAX_ID + 1]], 'mux id 1 is the big table\'s socket');
    assert.equal(mux.openSockets, 4);
  });
});

describe('IotSocketMux: null registration', () => {
  it('every call returns ERROR, sockets of earlier tables included; registering again brings them back', async () => {
    const A = layerTable();
    const B = layerTable();
    const mux = new IotSocketMux();
    for (const fn of IOT_SOCKET_API_MEMBERS) assert.equal(await callFn(mux, fn, argsFor(fn, 1)), IOT_SOCKET_ERROR, `initial ${fn}`);
    mux.register(A.api);
    const a = await stream(mux);
    const ua = await dgram(mux);
    assert.equal(mux.register(null), 0);
    assert.equal(mux.registered, null);
    const createdBefore = A.backend.sockets.length;
    for (const id of [a, ua, 77, -1, INT32_MAX]) {
      for (const fn of IOT_SOCKET_API_MEMBERS) assert.equal(await callFn(mux, fn, argsFor(fn, id)), IOT_SOCKET_ERROR, `${fn}(${id})`);
    }
    assert.equal(A.backend.sockets.length, createdBefore, 'no call reached the table');
    assert.equal(A.backend.lookups.length, 0);
    assert.deepEqual(mux.sockets().map((e) => e.id), [a, ua], 'the bookkeeping is kept (Close returned ERROR)');
    // Another table: the old sockets work again on A, new ones go to B.
    mux.register(B.api);
    assert.equal(await bindPort(mux, a, 1234), 0);
    assert.equal(A.backend.sockets[0]?.local?.port, 1234);
    const b = await stream(mux);
    assert.equal(B.backend.sockets.length, 1);
    for (const s of [a, ua, b]) assert.equal(await mux.socketClose(s), 0);
    assert.equal(mux.openSockets, 0);
    assert.equal(A.layer.openSockets + B.layer.openSockets, 0);
  });

  it('a call started before the null registration completes on its table', async () => {
    const { A, mux } = muxOverLayer();
    const l = await stream(mux);
    await bindPort(mux, l, 80);
    await mux.socketListen(l, 1);
    const accepting = mux.socketAccept(l, null, null, null); // blocking, nothing pending yet
    mux.register(null);
    A.backend.sockets[0]?.incoming({ address: new Uint8Array([192, 0, 2, 1]), port: 5555 });
    const acc = await accepting;
    assert.equal(acc, l + 1);
    assert.deepEqual(mux.sockets(A.api).map((e) => e.id), [l, acc]);
    assert.equal(await mux.socketClose(acc), IOT_SOCKET_ERROR, 'null registered');
    mux.register(A.api);
    for (const s of [l, acc]) assert.equal(await mux.socketClose(s), 0);
    assert.equal(mux.openSockets, 0);
  });
});

describe('IotSocketMux: Close', () => {
  it('a non-blocking close in flight (EAGAIN) keeps the id; the final result forgets it', async () => {
    const { A, mux } = muxOverLayer();
    const s = await stream(mux);
    assert.equal(await mux.socketSetOpt(s, IOT_SOCKET_IO_FIONBIO, opt(1), 4), 0);
    const core = A.backend.sockets[0];
    assert.ok(core);
    core.deferClose = true;
    assert.equal(await mux.socketClose(s), IOT_SOCKET_EAGAIN);
    assert.equal(mux.openSockets, 1);
    assert.equal(await mux.socketClose(s), IOT_SOCKET_EAGAIN);
    core.finishClose(0);
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(await mux.socketClose(s), 0);
    assert.equal(mux.openSockets, 0);
    assert.equal(A.layer.openSockets, 0);
  });

  it('a failing close still forgets the id; a table that drops a socket leaves it until Close', async () => {
    const { A, mux } = muxOverLayer();
    const s = await stream(mux);
    const t = await stream(mux);
    const core = A.backend.sockets[0];
    assert.ok(core);
    core.closeResult = IOT_SOCKET_ERROR;
    assert.equal(await mux.socketClose(s), IOT_SOCKET_ERROR);
    assert.deepEqual(mux.sockets().map((e) => e.id), [t]);
    await A.layer.closeAll();
    assert.equal(await bindPort(mux, t, 99), IOT_SOCKET_ESOCK);
    assert.equal(mux.openSockets, 1);
    assert.equal(await mux.socketClose(t), IOT_SOCKET_ESOCK);
    assert.equal(mux.openSockets, 0);
  });
});

describe('IotSocketMux: misbehaving tables', () => {
  it('throwing, rejecting or non-integer tables give ERROR; a failed Create adopts nothing', async () => {
    const { A, mux } = muxOverLayer();
    const s = await stream(mux);
    const throwing = Object.fromEntries(IOT_SOCKET_API_MEMBERS.map((f) => [f, () => { throw new Error('boom'); }])) as unknown as IotSocketApi;
    const rejecting = Object.fromEntries(IOT_SOCKET_API_MEMBERS.map((f) => [f, () => Promise.reject(new Error('boom'))])) as unknown as IotSocketApi;
    const weird = Object.fromEntries(IOT_SOCKET_API_MEMBERS.map((f) => [f, () => Promise.resolve(f === 'socketCreate' ? 2.5 : 'x')])) as unknown as IotSocketApi;
    for (const bad of [throwing, rejecting, weird]) {
      assert.equal(mux.register(bad), 0);
      for (const fn of IOT_SOCKET_API_MEMBERS) {
        assert.equal(await callFn(mux, fn, argsFor(fn, 42)), IOT_SOCKET_ERROR, fn);
      }
      assert.deepEqual(mux.sockets().map((e) => e.id), [s], 'nothing adopted');
      // The socket of the well-behaved table is unaffected.
      const port = ref(0);
      assert.equal(await mux.socketGetOpt(s, 2, new Uint8Array(4), ref(4)), 0);
      assert.equal(await mux.socketGetSockName(s, null, null, port), IOT_SOCKET_EINVAL, 'unbound (row 39)');
    }
    // A socket whose own table throws: ERROR, and Close forgets it.
    const flaky = layerTable();
    let broken = false;
    const wrapped = Object.fromEntries(IOT_SOCKET_API_MEMBERS.map((f) => [f, (...a: unknown[]) => {
      if (broken) throw new Error('boom');
      return callFn(flaky.api, f, a);
    }])) as unknown as IotSocketApi;
    mux.register(wrapped);
    const f = await stream(mux);
    broken = true;
    mux.register(A.api);
    assert.equal(await bindPort(mux, f, 10), IOT_SOCKET_ERROR);
    assert.equal(await mux.socketClose(f), IOT_SOCKET_ERROR);
    assert.equal(await mux.socketClose(s), 0);
    assert.equal(mux.openSockets, 0);
    await flaky.layer.closeAll();
  });
});

describe('iotSocket* functions (the process-wide mux)', () => {
  it('switch tables with a socket open; iotSocketOpenSockets shows the bookkeeping', async () => {
    const A = layerTable();
    const B = layerTable();
    try {
      assert.equal(iotSocketRegisterApi(A.api), 0);
      const base = iotSocketOpenSockets().length;
      const a = await iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_DGRAM, 0);
      assert.ok(a > 0);
      assert.equal(iotSocketRegisterApi(B.api), 0);
      const b = await iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_DGRAM, 0);
      assert.ok(b > 0 && b !== a);
      assert.deepEqual(iotSocketOpenSockets(A.api).map((e) => e.id), [a]);
      assert.deepEqual(iotSocketOpenSockets(B.api).map((e) => e.id), [b]);
      assert.equal(iotSocketOpenSockets().length, base + 2);
      assert.equal(await iotSocketGetSockName(a, null, null, null), IOT_SOCKET_EINVAL, 'A\'s socket, unbound');
      iotSocketRegisterApi(null);
      assert.equal(await iotSocketClose(a), IOT_SOCKET_ERROR);
      iotSocketRegisterApi(A.api);
      assert.equal(await iotSocketClose(a), 0);
      assert.equal(await iotSocketClose(b), 0);
      assert.equal(iotSocketOpenSockets().length, base);
      assert.equal(A.layer.openSockets + B.layer.openSockets, 0);
    } finally {
      iotSocketRegisterApi(null);
    }
  });
});
