/**
 * The faithful mux (issue 9) end to end: an IoT Socket mux over two userspace stacks
 * (backend A at 10.0.0.1, backend B at 10.0.0.2) with a peer at 10.0.0.3, all on one
 * virtual switch and one VirtualScheduler. TCP and UDP sockets and a listener are opened
 * on A, B is registered, more sockets are opened on B; the A sockets complete their
 * exchanges (send/recv, accept on the listener created before the switch, peer close,
 * close) while the B sockets work, through a `null` registration and back. Ids stay
 * unique, and the bookkeeping and both layers end empty (leak check).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IOT_SOCKET_AF_INET, IOT_SOCKET_ECONNRESET, IOT_SOCKET_ERROR, IOT_SOCKET_SOCK_DGRAM, IOT_SOCKET_SOCK_STREAM,
} from '../../../src/base/iot-constants.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import type { VirtualScheduler } from '../../../src/base/time.ts';
import { createUserspaceBackend } from '../../../src/backends/userspace/index.ts';
import { IotSocketLayer } from '../../../src/socket/iot-socket-layer.ts';
import { IotSocketMux } from '../../../src/socket/iot-socket-mux.ts';
import type { IotSocketApi, Ref } from '../../../src/socket/iot-socket-types.ts';
import { dec, enc, resolveOn, threeHosts, type Host } from '../../support/stack-net.ts';

const ANY4 = new Uint8Array(4);
const IP_A = new Uint8Array([10, 0, 0, 1]);
const IP_B = new Uint8Array([10, 0, 0, 2]);
const IP_PEER = new Uint8Array([10, 0, 0, 3]);
const TCP_PORT = 7000;
const UDP_PORT = 7001;
const LISTEN_PORT = 8000;
const ref = (value: number): Ref<number> => ({ value });

function layerOn(sched: VirtualScheduler, host: Host, seed: number): IotSocketLayer {
  return new IotSocketLayer(createUserspaceBackend(host.stack, host.runner, { rng: new XorShiftRng(seed) }), { scheduler: sched });
}

describe('IotSocketMux over two userspace stacks', () => {
  it('sockets opened before a re-registration keep working to completion; new ones use the new backend', async () => {
    const { sched, hosts } = threeHosts();
    const layerA = layerOn(sched, hosts[0], 101);
    const layerB = layerOn(sched, hosts[1], 102);
    const layerPeer = layerOn(sched, hosts[2], 103);
    const peer = layerPeer.api();
    const mux = new IotSocketMux();
    const A = layerA.api();
    const B = layerB.api();
    const r = (p: Promise<number>): Promise<number> => resolveOn(sched, p, 60_000);
    const ok = async (p: Promise<number>, what: string): Promise<number> => {
      const v = await r(p);
      assert.ok(v >= 0, `${what}: ${v}`);
      return v;
    };
    const create = (api: IotSocketApi, type: number): Promise<number> => ok(api.socketCreate(IOT_SOCKET_AF_INET, type, 0), 'create');
    /** Sends all of `text`, then reads exactly its length on the other side. */
    const transfer = async (from: IotSocketApi, fs: number, to: IotSocketApi, ts: number, text: string): Promise<void> => {
      const data = enc.encode(text);
      assert.equal(await r(from.socketSend(fs, data, data.length)), data.length, `send ${text}`);
      const buf = new Uint8Array(data.length);
      let got = 0;
      while (got < data.length) got += await ok(to.socketRecv(ts, buf.subarray(got), data.length - got), `recv ${text}`);
      assert.equal(dec.decode(buf), text);
    };
    /** The local (or peer) IPv4 address of a socket. */
    const addrOf = async (api: IotSocketApi, s: number, peerSide = false): Promise<number[]> => {
      const ip = new Uint8Array(4);
      const fn = peerSide ? api.socketGetPeerName : api.socketGetSockName;
      assert.equal(await r(fn.call(api, s, ip, ref(4), null)), 0);
      return [...ip];
    };
    /** A datagram round trip: `s` sends, the peer echoes to the source it saw, `s` receives; returns that source. */
    const udpRoundTrip = async (s: number, pu: number, text: string, sendTo: boolean): Promise<number[]> => {
      const data = enc.encode(text);
      const sent = sendTo ? mux.socketSendTo(s, data, data.length, IP_PEER, 4, UDP_PORT) : mux.socketSend(s, data, data.length);
      assert.equal(await r(sent), data.length);
      const buf = new Uint8Array(64);
      const src = new Uint8Array(4);
      const srcPort = ref(0);
      const n = await ok(peer.socketRecvFrom(pu, buf, buf.length, src, ref(4), srcPort), 'peer recvfrom');
      assert.equal(dec.decode(buf.subarray(0, n)), text);
      assert.equal(await r(peer.socketSendTo(pu, buf, n, src, 4, srcPort.value)), n);
      const back = new Uint8Array(64);
      const from = ref(0);
      const m = await ok(mux.socketRecvFrom(s, back, back.length, null, null, from), 'recvfrom');
      assert.equal(dec.decode(back.subarray(0, m)), text);
      assert.equal(from.value, UDP_PORT);
      return [...src];
    };

    // The peer: a TCP listener and a UDP socket.
    const pl = await create(peer, IOT_SOCKET_SOCK_STREAM);
    assert.equal(await r(peer.socketBind(pl, ANY4, 4, TCP_PORT)), 0);
    assert.equal(await r(peer.socketListen(pl, 4)), 0);
    const pu = await create(peer, IOT_SOCKET_SOCK_DGRAM);
    assert.equal(await r(peer.socketBind(pu, ANY4, 4, UDP_PORT)), 0);

    // Backend A: a TCP client, a connected UDP socket, a TCP listener.
    assert.equal(mux.register(A), 0);
    const tA = await create(mux, IOT_SOCKET_SOCK_STREAM);
    assert.equal(await r(mux.socketConnect(tA, IP_PEER, 4, TCP_PORT)), 0);
    const pA = await ok(peer.socketAccept(pl, null, null, null), 'peer accept A');
    const uA = await create(mux, IOT_SOCKET_SOCK_DGRAM);
    assert.equal(await r(mux.socketConnect(uA, IP_PEER, 4, UDP_PORT)), 0);
    const lA = await create(mux, IOT_SOCKET_SOCK_STREAM);
    assert.equal(await r(mux.socketBind(lA, ANY4, 4, LISTEN_PORT)), 0);
    assert.equal(await r(mux.socketListen(lA, 2)), 0);
    await transfer(mux, tA, peer, pA, 'A before the switch');

    // Switch to B: new sockets go there.
    assert.equal(mux.register(B), 0);
    const tB = await create(mux, IOT_SOCKET_SOCK_STREAM);
    assert.equal(await r(mux.socketConnect(tB, IP_PEER, 4, TCP_PORT)), 0);
    const pB = await ok(peer.socketAccept(pl, null, null, null), 'peer accept B');
    const uB = await create(mux, IOT_SOCKET_SOCK_DGRAM);
    assert.deepEqual(await addrOf(mux, tA), [...IP_A]);
    assert.deepEqual(await addrOf(mux, tB), [...IP_B]);
    assert.deepEqual(await addrOf(peer, pA, true), [...IP_A]);
    assert.deepEqual(await addrOf(peer, pB, true), [...IP_B]);
    assert.equal(layerA.openSockets, 3);
    assert.equal(layerB.openSockets, 2);

    // Both backends carry traffic, interleaved.
    await transfer(mux, tA, peer, pA, 'A after the switch');
    await transfer(mux, tB, peer, pB, 'B, new socket');
    await transfer(peer, pA, mux, tA, 'to A');
    await transfer(peer, pB, mux, tB, 'to B');
    assert.deepEqual(await udpRoundTrip(uA, pu, 'udp via A', false), [...IP_A]);
    assert.deepEqual(await udpRoundTrip(uB, pu, 'udp via B', true), [...IP_B]);

    // Accept on A's listener, created before the switch: the new socket is on A.
    const pc = await create(peer, IOT_SOCKET_SOCK_STREAM);
    assert.equal(await r(peer.socketConnect(pc, IP_A, 4, LISTEN_PORT)), 0);
    const remote = new Uint8Array(4);
    const aA = await ok(mux.socketAccept(lA, remote, ref(4), null), 'accept on A');
    assert.deepEqual([...remote], [...IP_PEER]);
    assert.deepEqual(mux.sockets(A).map((e) => e.id), [tA, uA, lA, aA]);
    assert.deepEqual(await addrOf(mux, aA), [...IP_A]);
    await transfer(peer, pc, mux, aA, 'accepted after the switch');
    await transfer(mux, aA, peer, pc, 'answer from the accepted socket');

    // A null registration stops every call; registering B again brings A's sockets back.
    assert.equal(mux.register(null), 0);
    assert.equal(await mux.socketSend(tA, enc.encode('x'), 1), IOT_SOCKET_ERROR);
    assert.equal(await mux.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0), IOT_SOCKET_ERROR);
    assert.equal(await mux.socketGetHostByName('10.0.0.3', IOT_SOCKET_AF_INET, new Uint8Array(4), ref(4)), IOT_SOCKET_ERROR);
    assert.equal(mux.register(B), 0);
    await transfer(mux, tA, peer, pA, 'A after null and back');

    // The peer ends A's TCP connection: A's socket sees it through, then closes.
    await transfer(peer, pA, mux, tA, 'last words to A');
    assert.equal(await r(peer.socketClose(pA)), 0);
    assert.equal(await r(mux.socketRecv(tA, new Uint8Array(8), 8)), IOT_SOCKET_ECONNRESET);

    // Ids are unique across both tables; closing everything empties the bookkeeping.
    const ids = [tA, uA, lA, aA, tB, uB];
    assert.equal(new Set(ids).size, ids.length, `ids ${ids.join(',')}`);
    assert.deepEqual(mux.sockets().map((e) => e.id), [...ids].sort((x, y) => x - y));
    for (const s of ids) assert.equal(await r(mux.socketClose(s)), 0, `close ${s}`);
    for (const s of [pB, pc, pl, pu]) assert.equal(await r(peer.socketClose(s)), 0);
    assert.equal(mux.openSockets, 0);
    assert.deepEqual(mux.sockets(A), []);
    assert.deepEqual(mux.sockets(B), []);
    for (const l of [layerA, layerB, layerPeer]) {
      assert.equal(l.openSockets, 0);
      assert.equal(l.pendingCalls, 0);
    }
  });
});
