/**
 * WebSocketLink over an in-memory pair of fake WebSockets (the `WebSocketPort` surface, messages
 * delivered 1 ms later on a VirtualScheduler; no sleeps): frames both ways (ArrayBuffer and
 * Buffer-like message data), two stacks talking TCP over it, the carrier (connecting, open, closed,
 * error), malformed and oversize messages dropped and counted, the bounded receive ring, transmit
 * refusals (bad length, send buffer full, send throwing), and close(). Then the ws-bridge's
 * topology on virtual time: a stack on a WebSocketLink, its peer link pumped (FramePump) onto a
 * VirtualSwitch where a gateway stack runs a DHCP server: lease, then TCP echo.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createUserspaceBackend } from '../../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { WebSocketLink, WS_CLOSED, WS_CONNECTING, WS_OPEN, type WebSocketPort, type WebSocketPortEventType } from '../../../src/link/websocket-link.ts';
import { Network } from '../../../src/socket/network.ts';
import { FramePump } from '../../../src/apps/ws-bridge/frame-pump.ts';
import { VirtualSwitch } from '../../../src/link/virtual-switch.ts';
import { StackRunner } from '../../../src/runtime/stack-runner.ts';
import { Dhcp4Client, type Dhcp4Lease } from '../../../src/stack/dhcp/dhcp4-client.ts';
import { Dhcp4Server } from '../../../src/stack/dhcp/dhcp4-server.ts';
import { Stack } from '../../../src/stack/stack.ts';
import { addHost, pattern, resolveOn, run, tcpEcho } from '../../support/stack-net.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A fake WebSocket: `send` delivers to the peer 1 ms later; `dataAs` chooses the message data type the peer sees. */
class FakeSocket implements WebSocketPort {
  readyState = WS_CONNECTING;
  bufferedAmount = 0;
  binaryType = 'blob';
  peer: FakeSocket | undefined;
  sendThrows = false;
  readonly closeCalls: Array<[number | undefined, string | undefined]> = [];
  private readonly listeners = new Map<string, Set<(event: unknown) => void>>();

  constructor(
    private readonly sched: VirtualScheduler,
    private readonly dataAs: 'arraybuffer' | 'buffer',
  ) {}

  addEventListener(type: WebSocketPortEventType, listener: (event: unknown) => void): void {
    let set = this.listeners.get(type);
    if (set === undefined) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: WebSocketPortEventType, listener: (event: unknown) => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  listenerCount(type: WebSocketPortEventType): number {
    return this.listeners.get(type)?.size ?? 0;
  }

  emit(type: WebSocketPortEventType, event: unknown): void {
    for (const l of [...(this.listeners.get(type) ?? [])]) l(event);
  }

  send(data: Uint8Array): void {
    if (this.sendThrows) throw new Error('send failed');
    if (this.readyState !== WS_OPEN) throw new Error('InvalidStateError');
    const copy = data.slice();
    const peer = this.peer;
    this.sched.setTimer(1, () => peer?.message(copy));
  }

  /** A message arrives (as the peer's `dataAs` says). */
  message(bytes: Uint8Array): void {
    if (this.readyState !== WS_OPEN) return;
    if (this.dataAs === 'arraybuffer') {
      this.emit('message', { data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
    } else {
      // Like a Node Buffer: a view at an offset into a larger ArrayBuffer.
      const big = new Uint8Array(bytes.length + 16);
      big.set(bytes, 8);
      this.emit('message', { data: big.subarray(8, 8 + bytes.length) });
    }
  }

  open(): void {
    this.readyState = WS_OPEN;
    this.emit('open', { type: 'open' });
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push([code, reason]);
    this.closedBy(code ?? 1005);
    const peer = this.peer;
    this.sched.setTimer(1, () => peer?.closedBy(code ?? 1005));
  }

  closedBy(code: number): void {
    if (this.readyState === WS_CLOSED) return;
    this.readyState = WS_CLOSED;
    this.emit('close', { code, reason: '' });
  }
}

function socketPair(sched: VirtualScheduler, open = true): [FakeSocket, FakeSocket] {
  const a = new FakeSocket(sched, 'arraybuffer');
  const b = new FakeSocket(sched, 'buffer');
  a.peer = b;
  b.peer = a;
  if (open) {
    a.open();
    b.open();
  }
  return [a, b];
}

/** An Ethernet-sized frame: `len` bytes of a pattern from `seed`. */
function frame(len: number, seed: number): Uint8Array {
  return new Uint8Array(len).map((_, i) => (i * 13 + seed) & 0xff);
}

describe('WebSocketLink', () => {
  it('carries frames both ways, one per message, copied at transmit, and counts them', () => {
    const sched = new VirtualScheduler();
    const [sa, sb] = socketPair(sched);
    const a = new WebSocketLink(sa);
    const b = new WebSocketLink(sb);
    assert.equal(sa.binaryType, 'arraybuffer');
    assert.ok(a.linkState.up && b.linkState.up);
    let wakesB = 0;
    b.onReadable(() => wakesB++);
    const f1 = frame(60, 1);
    const f2 = frame(1514, 2);
    assert.ok(a.transmit(sched.now(), f1));
    assert.ok(a.transmit(sched.now(), f2));
    f1.fill(0); // the link copied it
    assert.ok(b.transmit(sched.now(), frame(100, 3)));
    run(sched, 2);
    assert.equal(wakesB, 2);
    assert.deepEqual(b.receive(sched.now()), frame(60, 1));
    assert.deepEqual(b.receive(sched.now()), frame(1514, 2));
    assert.equal(b.receive(sched.now()), undefined);
    assert.deepEqual(a.receive(sched.now()), frame(100, 3));
    const s = a.stats();
    assert.equal(s.txFrames, 2);
    assert.equal(s.txBytes, 60 + 1514);
    assert.equal(s.rxFrames, 1);
    assert.equal(s.rxBytes, 100);
    assert.equal(s.dropped, 0);
    assert.equal(b.stats().rxFrames, 2);
  });

  it('joins two stacks: TCP echo of 64 KiB on virtual time, nothing dropped', async () => {
    const sched = new VirtualScheduler();
    const [sa, sb] = socketPair(sched);
    const la = new WebSocketLink(sa);
    const lb = new WebSocketLink(sb);
    const A = addHost(sched, la, '10.8.0.1', 11);
    const B = addHost(sched, lb, '10.8.0.2', 12);
    const netA = new Network(createUserspaceBackend(A.stack, A.runner, { rng: new XorShiftRng(13) }), { scheduler: sched, rng: new XorShiftRng(14) });
    const netB = new Network(createUserspaceBackend(B.stack, B.runner, { rng: new XorShiftRng(15) }), { scheduler: sched, rng: new XorShiftRng(16) });
    const data = pattern(65_536, 5);
    const { back } = await tcpEcho(sched, netB, netA, '10.8.0.2', 7, data);
    assert.equal(sha(back), sha(data));
    for (const s of [la.stats(), lb.stats()]) {
      assert.equal(s.dropped, 0, JSON.stringify(s));
      assert.ok(s.txFrames > 45 && s.rxFrames > 45, JSON.stringify(s));
    }
    assert.equal(la.stats().txFrames, lb.stats().rxFrames);
    assert.equal(lb.stats().txFrames, la.stats().rxFrames);
  });

  it('is down while the socket connects (transmit refused: txDown), up on open', () => {
    const sched = new VirtualScheduler();
    const [sa, sb] = socketPair(sched, false);
    const a = new WebSocketLink(sa);
    const changes: boolean[] = [];
    a.linkState.onChange((up) => changes.push(up));
    assert.equal(a.linkState.up, false);
    assert.equal(a.transmit(sched.now(), frame(60, 1)), false);
    assert.equal(a.stats().txDown, 1);
    sa.open();
    sb.open();
    assert.deepEqual(changes, [true]);
    assert.ok(a.transmit(sched.now(), frame(60, 1)));
    assert.equal(a.stats().dropped, 1);
  });

  it('drops and counts malformed and oversize messages without throwing', () => {
    const sched = new VirtualScheduler();
    const [sa] = socketPair(sched);
    const a = new WebSocketLink(sa, { mtu: 1500 });
    let wakes = 0;
    a.onReadable(() => wakes++);
    const malformed: unknown[] = [
      { data: 'a text message, not a frame' },
      { data: new Uint8Array(13).buffer }, // shorter than an Ethernet header
      { data: new ArrayBuffer(0) },
      { data: {} },
      { data: [new Uint8Array(60)] }, // ws 'fragments'
      { data: null },
      {},
      null,
      'not an event',
      42,
    ];
    for (const ev of malformed) assert.doesNotThrow(() => sa.emit('message', ev));
    sa.emit('message', { data: new Uint8Array(1515).buffer }); // mtu + 14 + 1
    sa.emit('message', { data: new Uint8Array(1514).buffer }); // the largest frame: taken
    sa.emit('message', { data: new Uint8Array(14) }); // the smallest: taken
    const s = a.stats();
    assert.equal(s.rxMalformed, malformed.length);
    assert.equal(s.rxOversize, 1);
    assert.equal(s.dropped, malformed.length + 1);
    assert.equal(wakes, 2);
    assert.equal(a.receive(sched.now())?.length, 1514);
    assert.equal(a.receive(sched.now())?.length, 14);
    assert.equal(a.receive(sched.now()), undefined);
  });

  it('bounds its receive ring: frames arriving at a full ring are dropped (rxQueueFull)', () => {
    const sched = new VirtualScheduler();
    const [sa] = socketPair(sched);
    const a = new WebSocketLink(sa, { queueFrames: 4 });
    for (let i = 0; i < 6; i++) sa.message(frame(64, i));
    assert.equal(a.queued, 4);
    assert.equal(a.stats().rxQueueFull, 2);
    for (let i = 0; i < 4; i++) assert.deepEqual(a.receive(sched.now()), frame(64, i));
  });

  it('goes down for good when the peer closes: queued frames lost, transmits refused, cause kept', () => {
    const sched = new VirtualScheduler();
    const [sa, sb] = socketPair(sched);
    const a = new WebSocketLink(sa);
    const b = new WebSocketLink(sb);
    const changes: boolean[] = [];
    b.linkState.onChange((up) => changes.push(up));
    a.transmit(sched.now(), frame(60, 1));
    a.transmit(sched.now(), frame(60, 2));
    run(sched, 2);
    assert.equal(b.queued, 2);
    sa.close(1001, 'going away');
    assert.equal(a.linkState.up, false, 'the closing side is down at once');
    run(sched, 2);
    assert.deepEqual(changes, [false]);
    assert.equal(b.downCause, 'closed (code 1001)');
    assert.equal(b.queued, 0);
    assert.equal(b.stats().rxLost, 2);
    assert.equal(b.receive(sched.now()), undefined);
    assert.equal(b.transmit(sched.now(), frame(60, 3)), false);
    assert.equal(b.stats().txDown, 1);
    sb.open(); // a stray 'open' after the close does not bring it back
    assert.equal(b.linkState.up, false);
  });

  it('goes down on an error event', () => {
    const sched = new VirtualScheduler();
    const [sa] = socketPair(sched);
    const a = new WebSocketLink(sa);
    sa.emit('error', new Error('boom'));
    assert.equal(a.linkState.up, false);
    assert.equal(a.downCause, 'error');
    assert.equal(a.transmit(sched.now(), frame(60, 1)), false);
  });

  it('refuses bad lengths, a full send buffer and a throwing send, each counted', () => {
    const sched = new VirtualScheduler();
    const [sa] = socketPair(sched);
    const a = new WebSocketLink(sa, { mtu: 1000, maxBufferedBytes: 4096 });
    assert.equal(a.transmit(sched.now(), new Uint8Array(13)), false);
    assert.equal(a.transmit(sched.now(), new Uint8Array(1015)), false);
    assert.ok(a.transmit(sched.now(), new Uint8Array(1014)));
    sa.bufferedAmount = 4097;
    assert.equal(a.transmit(sched.now(), frame(60, 1)), false);
    sa.bufferedAmount = 4096;
    assert.ok(a.transmit(sched.now(), frame(60, 1)));
    sa.sendThrows = true;
    assert.equal(a.transmit(sched.now(), frame(60, 1)), false);
    const s = a.stats();
    assert.deepEqual([s.txBadLength, s.txBufferFull, s.txError, s.txFrames, s.dropped], [2, 1, 1, 2, 4]);
  });

  it('close(): closes the socket with 1000 once, detaches, refuses frames; a closed socket gives a down link', () => {
    const sched = new VirtualScheduler();
    const [sa, sb] = socketPair(sched);
    const a = new WebSocketLink(sa);
    let wakes = 0;
    a.onReadable(() => wakes++);
    sb.send(frame(60, 1));
    run(sched, 2);
    assert.equal(a.queued, 1);
    a.close();
    a.close();
    assert.deepEqual(sa.closeCalls, [[1000, 'link closed']]);
    assert.equal(a.linkState.up, false);
    assert.equal(a.queued, 0);
    assert.equal(a.stats().rxLost, 1);
    for (const type of ['open', 'message', 'close'] as const) assert.equal(sa.listenerCount(type), 0, `${type} listener removed`);
    assert.doesNotThrow(() => sa.emit('error', new Error('late error')));
    assert.equal(a.transmit(sched.now(), frame(60, 2)), false);
    assert.equal(a.stats().txClosed, 1);
    assert.equal(wakes, 1);

    const dead = new FakeSocket(sched, 'arraybuffer');
    dead.readyState = WS_CLOSED;
    const d = new WebSocketLink(dead);
    assert.equal(d.linkState.up, false);
    assert.equal(d.downCause, 'closed');
    d.close();
    assert.deepEqual(dead.closeCalls, [], 'a closed socket is not closed again');
  });
});

describe('WebSocketLink through a FramePump onto a VirtualSwitch (the ws-bridge topology)', () => {
  it('a stack behind the link gets a DHCP lease from the switch side and echoes 64 KiB over TCP', async () => {
    const sched = new VirtualScheduler();
    const sw = new VirtualSwitch();
    const gw = addHost(sched, sw.port(), '10.77.0.1', 21);
    const dhcp = new Dhcp4Server(gw.stack, { ifIndex: gw.ifIndex, pool: { start: '10.77.0.100', end: '10.77.0.110' }, routers: ['10.77.0.1'], leaseSeconds: 600 });
    const [pageSocket, bridgeSocket] = socketPair(sched);
    const pageLink = new WebSocketLink(pageSocket);
    const bridgeLink = new WebSocketLink(bridgeSocket);
    const port = sw.port();
    const pump = new FramePump(bridgeLink, port, sched);
    const page = new Stack({ rng: new XorShiftRng(22), name: 'page' });
    const ifIndex = page.addInterface(pageLink, { name: 'ws0' });
    const runner = new StackRunner(page, { scheduler: sched });
    const client = new Dhcp4Client(page, { ifIndex, timing: { probeWaitMs: 10, probeNum: 3, probeMinMs: 20, probeMaxMs: 40, announceWaitMs: 50 } });
    const bound = new Promise<Dhcp4Lease>((resolve) => client.on((e) => {
      if (e.type === 'bound') resolve(e.lease);
    }));
    client.start(runner.now());
    const lease = await resolveOn(sched, bound, 30_000);
    assert.equal(Stack.format(lease.address), '10.77.0.100');
    assert.equal(page.interface(ifIndex)?.address, lease.address);

    const netPage = new Network(createUserspaceBackend(page, runner, { rng: new XorShiftRng(23) }), { scheduler: sched, rng: new XorShiftRng(24) });
    const netGw = new Network(createUserspaceBackend(gw.stack, gw.runner, { rng: new XorShiftRng(25) }), { scheduler: sched, rng: new XorShiftRng(26) });
    const data = pattern(65_536, 7);
    const { back } = await tcpEcho(sched, netGw, netPage, '10.77.0.1', 7, data);
    assert.equal(sha(back), sha(data));
    const ps = pump.stats();
    assert.ok(ps.aToB > 45 && ps.bToA > 45, JSON.stringify(ps));
    assert.equal(ps.refusedAtoB + ps.refusedBtoA, 0);
    assert.equal(ps.aToB, bridgeLink.stats().rxFrames);
    assert.equal(ps.bToA, bridgeLink.stats().txFrames);
    assert.equal(pageLink.stats().dropped + bridgeLink.stats().dropped + port.stats().dropped, 0);

    // The page's socket closes: the bridge side goes down and refuses what the switch sends.
    pageSocket.close(1001);
    run(sched, 2);
    assert.equal(bridgeLink.linkState.up, false);
    pump.close();
    dhcp.close();
  });
});
