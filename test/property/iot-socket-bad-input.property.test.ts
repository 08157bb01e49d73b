/**
 * Bad input never throws: every IoT Socket function, called with wrong types, NaN,
 * non-integers, negative or huge lengths, buffers shorter than `len`, unknown option
 * ids and closed ids, resolves to a success value or one of the codes the header
 * documents for that function (iot-socket-api.md §3), and never throws or rejects.
 * Targeted properties pin the exact code the §4 check order demands.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  IOT_SOCKET_AF_INET, IOT_SOCKET_EADDRINUSE, IOT_SOCKET_EAGAIN, IOT_SOCKET_EALREADY, IOT_SOCKET_ECONNABORTED,
  IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_ECONNRESET, IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_EINPROGRESS, IOT_SOCKET_EINVAL,
  IOT_SOCKET_EISCONN, IOT_SOCKET_ENOMEM, IOT_SOCKET_ENOTCONN, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR, IOT_SOCKET_ESOCK,
  IOT_SOCKET_ETIMEDOUT, IOT_SOCKET_IO_FIONBIO, IOT_SOCKET_SOCK_DGRAM, IOT_SOCKET_SOCK_STREAM, IotSocketMux,
  iotCodeName,
} from '../../src/socket/iot-socket.ts';
import { IotSocketLayer } from '../../src/socket/iot-socket-layer.ts';
import type { IotSocketApi } from '../../src/socket/iot-socket-types.ts';
import { MemoryBackend } from '../support/memory-backend.ts';

type Fn = keyof IotSocketApi;

/** Formats any value for a failure message without throwing. */
function show(v: unknown): string {
  try {
    return typeof v === 'symbol' || typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? `Uint8Array(${v.length})` : JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

const RECV_SEND = [IOT_SOCKET_ESOCK, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTCONN, IOT_SOCKET_ECONNRESET, IOT_SOCKET_ECONNABORTED, IOT_SOCKET_EAGAIN, IOT_SOCKET_ERROR];
const OPT = [IOT_SOCKET_ESOCK, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR];
/** The codes iot_socket.h documents per function (+EISCONN for Bind, which the suite requires). */
const DOCUMENTED: Record<Fn, readonly number[]> = {
  socketCreate: [IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ENOMEM, IOT_SOCKET_ERROR],
  socketBind: [IOT_SOCKET_ESOCK, IOT_SOCKET_EINVAL, IOT_SOCKET_EADDRINUSE, IOT_SOCKET_ERROR, IOT_SOCKET_EISCONN],
  socketListen: [IOT_SOCKET_ESOCK, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTSUP, IOT_SOCKET_EISCONN, IOT_SOCKET_ERROR],
  socketAccept: [IOT_SOCKET_ESOCK, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ECONNRESET, IOT_SOCKET_ECONNABORTED, IOT_SOCKET_EAGAIN, IOT_SOCKET_ERROR],
  socketConnect: [IOT_SOCKET_ESOCK, IOT_SOCKET_EINVAL, IOT_SOCKET_EALREADY, IOT_SOCKET_EINPROGRESS, IOT_SOCKET_EISCONN, IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_ECONNABORTED, IOT_SOCKET_EADDRINUSE, IOT_SOCKET_ETIMEDOUT, IOT_SOCKET_ERROR],
  socketRecv: RECV_SEND,
  socketRecvFrom: RECV_SEND,
  socketSend: RECV_SEND,
  socketSendTo: RECV_SEND,
  socketGetSockName: [IOT_SOCKET_ESOCK, IOT_SOCKET_EINVAL, IOT_SOCKET_ERROR],
  socketGetPeerName: [IOT_SOCKET_ESOCK, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTCONN, IOT_SOCKET_ERROR],
  socketGetOpt: OPT,
  socketSetOpt: OPT,
  socketClose: [IOT_SOCKET_ESOCK, IOT_SOCKET_EAGAIN, IOT_SOCKET_ERROR],
  socketGetHostByName: [IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ETIMEDOUT, IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_ERROR],
};
const ARITY: Record<Fn, number> = {
  socketCreate: 3, socketBind: 4, socketListen: 2, socketAccept: 4, socketConnect: 4, socketRecv: 3,
  socketRecvFrom: 6, socketSend: 3, socketSendTo: 6, socketGetSockName: 4, socketGetPeerName: 4,
  socketGetOpt: 4, socketSetOpt: 4, socketClose: 1, socketGetHostByName: 4,
};
const FNS = Object.keys(ARITY) as Fn[];

/** Values that stress the JS boundary: wrong types, NaN, fractions, extremes, short buffers, boxes. */
const weird = fc.oneof(
  fc.constantFrom(undefined, null, NaN, Infinity, -Infinity, 1.5, -0, 0, 1, 2, 4, 5, 16, -1, 0x7fffffff, -0x80000000,
    0xffffffff, 2 ** 53, '', '1', 'localhost', true, false, {}, [], () => 0, Symbol('x'), 10n),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.uint8Array({ maxLength: 24 }),
  fc.record({ value: fc.oneof(fc.integer(), fc.constant(NaN), fc.string(), fc.constant(-1)) }),
  fc.anything(),
);

/** Well-typed values (valid buffers, boxes, lengths, ports, option ids), so the state checks are reached too. */
const plausible = fc.oneof(
  fc.constantFrom(null, 0, 1, 2, 3, 4, 5, 16, 7, 5000, 'localhost'),
  fc.integer({ min: 0, max: 20 }).map((n) => new Uint8Array(n)),
  fc.constantFrom(4, 5, 6, 16, 0, 3).map((value) => ({ value })),
);
/** Half plausible, half weird. */
const arg = fc.oneof(plausible, weird);

/** A layer with a few open non-blocking sockets and a few closed ids. */
async function fixture(): Promise<{ layer: IotSocketLayer; api: IotSocketApi; open: number[]; closed: number[] }> {
  const layer = new IotSocketLayer(new MemoryBackend());
  const api = layer.api();
  const open: number[] = [];
  for (const type of [IOT_SOCKET_SOCK_STREAM, IOT_SOCKET_SOCK_DGRAM, IOT_SOCKET_SOCK_STREAM]) {
    const s = await api.socketCreate(IOT_SOCKET_AF_INET, type, 0);
    await api.socketSetOpt(s, IOT_SOCKET_IO_FIONBIO, new Uint8Array([1, 0, 0, 0]), 4);
    open.push(s);
  }
  const closed: number[] = [];
  for (let i = 0; i < 2; i++) {
    const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_DGRAM, 0);
    await api.socketClose(s);
    closed.push(s);
  }
  return { layer, api, open, closed };
}

/** Calls `fn`; a call still pending after the socket table is closed settles with ESOCK. */
async function callSettled(layer: IotSocketLayer, api: IotSocketApi, fn: Fn, args: unknown[]): Promise<number> {
  const call = (api[fn] as (...a: unknown[]) => Promise<number>)(...args);
  assert.ok(call instanceof Promise, `${fn} returns a promise`);
  const tick = new Promise<'pending'>((r) => setImmediate(() => r('pending')));
  const first = await Promise.race([call, tick]);
  if (first === 'pending') {
    // A legitimately blocking call (e.g. FIONBIO turned off by a fuzzed SetOpt): closing settles it.
    await layer.closeAll();
  }
  return call;
}

describe('IoT Socket: bad input never throws and yields documented codes', () => {
  it('random calls with arbitrary arguments resolve to success or a documented code', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...FNS), fc.array(arg, { minLength: 6, maxLength: 6 }), fc.nat(4)), { minLength: 1, maxLength: 12 }),
        async (calls) => {
          const { layer, api, open, closed } = await fixture();
          for (const [fn, raw, pick] of calls) {
            const args = raw.slice(0, ARITY[fn]);
            // Half the time aim at a real (open or closed) socket so state checks run, not only step 1.
            if (fn !== 'socketCreate' && fn !== 'socketGetHostByName' && pick < 3) {
              args[0] = pick < 2 ? open[pick] : closed[0];
            }
            const r = await callSettled(layer, api, fn, args);
            assert.ok(Number.isInteger(r), `${fn} resolved to a non-integer ${String(r)}`);
            if (!(r >= 0 || DOCUMENTED[fn].includes(r))) assert.fail(`${fn}(${args.map(show).join(', ')}) -> ${r} (${iotCodeName(r)}) is not documented`);
          }
          await layer.closeAll();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('implausible socket ids -> ESOCK for every function taking a socket (step 1)', async () => {
    const { layer, api } = await fixture();
    const bad = fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 0x40000000 }), fc.double({ noInteger: true }),
      fc.constantFrom(NaN, null, undefined, '1', {}, 2 ** 40));
    const valid: Record<Fn, unknown[]> = {
      socketCreate: [], socketGetHostByName: [],
      socketBind: [new Uint8Array(4), 4, 5000], socketListen: [1], socketAccept: [null, null, null],
      socketConnect: [new Uint8Array([127, 0, 0, 1]), 4, 7], socketRecv: [new Uint8Array(4), 4],
      socketRecvFrom: [new Uint8Array(4), 4, null, null, null], socketSend: [new Uint8Array(4), 4],
      socketSendTo: [new Uint8Array(4), 4, null, 0, 0], socketGetSockName: [null, null, null],
      socketGetPeerName: [null, null, null], socketGetOpt: [2, new Uint8Array(4), { value: 4 }],
      socketSetOpt: [2, new Uint8Array(4), 4], socketClose: [],
    };
    await fc.assert(fc.asyncProperty(bad, fc.constantFrom(...FNS.filter((f) => f !== 'socketCreate' && f !== 'socketGetHostByName')), async (id, fn) => {
      const r = await (api[fn] as (...a: unknown[]) => Promise<number>)(id, ...valid[fn]);
      if (r !== IOT_SOCKET_ESOCK) assert.fail(`${fn}(${show(id)}) -> ${r}, expected ESOCK`);
    }), { numRuns: 300 });
    await layer.closeAll();
  });

  it('buffers shorter than len, negative or huge lengths -> EINVAL; closed ids -> ESOCK', async () => {
    const { layer, api, open, closed } = await fixture();
    await fc.assert(fc.asyncProperty(fc.nat(64), fc.integer({ min: 1, max: 64 }), fc.constantFrom('socketRecv', 'socketSend', 'socketRecvFrom', 'socketSendTo') , async (size, extra, fn) => {
      const buf = new Uint8Array(size);
      const call = api[fn] as (...a: unknown[]) => Promise<number>;
      assert.equal(await call(open[1], buf, size + extra, null, null, null), IOT_SOCKET_EINVAL, `${fn} len > buffer`);
      assert.equal(await call(open[1], buf, -extra, null, null, null), IOT_SOCKET_EINVAL, `${fn} negative len`);
      assert.equal(await call(open[1], buf, 2 ** 32 + extra, null, null, null), IOT_SOCKET_EINVAL, `${fn} len beyond uint32`);
      assert.equal(await call(closed[0], buf, size, null, null, null), IOT_SOCKET_ESOCK, `${fn} closed id`);
    }), { numRuns: 200 });
    await layer.closeAll();
  });

  it('unknown option ids -> EINVAL for GetOpt and SetOpt', async () => {
    const { layer, api, open } = await fixture();
    const known = new Set([1, 2, 3, 4, 5]);
    await fc.assert(fc.asyncProperty(fc.integer().filter((n) => !known.has(n)), async (id) => {
      assert.equal(await api.socketGetOpt(open[0]!, id, new Uint8Array(4), { value: 4 }), IOT_SOCKET_EINVAL);
      assert.equal(await api.socketSetOpt(open[0]!, id, new Uint8Array(4), 4), IOT_SOCKET_EINVAL);
    }), { numRuns: 300 });
    await layer.closeAll();
  });

  it('the mux: nothing registered -> ERROR everywhere; a non-table -> EINVAL; a throwing table -> ERROR', async () => {
    const mux = new IotSocketMux();
    for (const fn of FNS) assert.equal(await (mux[fn] as (...a: unknown[]) => Promise<number>)(1, 2, 3, 4, 5, 6), IOT_SOCKET_ERROR, fn);
    await fc.assert(fc.asyncProperty(weird, async (junk) => {
      if (junk === null || junk === undefined) return;
      assert.equal(mux.register(junk as unknown as IotSocketApi), IOT_SOCKET_EINVAL);
    }), { numRuns: 200 });
    const throwing = Object.fromEntries(FNS.map((f) => [f, () => { throw new Error('boom'); }])) as unknown as IotSocketApi;
    assert.equal(mux.register(throwing), 0);
    for (const fn of FNS) assert.equal(await (mux[fn] as (...a: unknown[]) => Promise<number>)(1), IOT_SOCKET_ERROR, fn);
    const rejecting = Object.fromEntries(FNS.map((f) => [f, () => Promise.reject(new Error('boom'))])) as unknown as IotSocketApi;
    mux.register(rejecting);
    for (const fn of FNS) assert.equal(await (mux[fn] as (...a: unknown[]) => Promise<number>)(1), IOT_SOCKET_ERROR, fn);
    assert.equal(mux.register(null), 0);
    assert.equal(await mux.socketCreate(1, 1, 0), IOT_SOCKET_ERROR, 'unregistered again');
  });
});
