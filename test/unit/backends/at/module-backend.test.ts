// The generic module socket backend over a fake ModuleDriver (an in-memory "module" whose links
// echo, refuse, hang or fail as each test scripts), through the idiomatic Network API on virtual
// time: connect outcomes and deadlines, chunked sends with refusals, broken streams, pull-mode
// read-ahead bounded by the buffer, orderly and abortive closes, module loss, server links, UDP.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Af, BackendCaps, Endpoint, LookupResult } from '../../../../src/backends/contract.ts';
import { createModuleBackend, type ModuleBackend } from '../../../../src/backends/at/module-backend.ts';
import type { ModuleDriver, ModuleEvents, ModuleLink, ModuleOpenRequest, ModuleReceived } from '../../../../src/backends/at/module-driver.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { SocketError, isSocketError } from '../../../../src/base/socket-error.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { Network } from '../../../../src/socket/network.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const MODULE_IP = Uint8Array.of(10, 0, 0, 2);

interface FakeLink {
  readonly id: number;
  readonly req: ModuleOpenRequest;
  /** Bytes the module holds for the host (pull mode). */
  held: Uint8Array[];
  readonly sent: Uint8Array[];
  closed: boolean;
}

/** A scriptable in-memory module: by default every TCP link echoes what it is sent. */
class FakeDriver implements ModuleDriver {
  readonly name = 'at:fake';
  readonly caps: BackendCaps = {
    ipv4: true, ipv6: false, tcp: true, udp: true, listen: true, maxSockets: 5, maxDatagram: 1460, connectTimeoutMs: 5000,
  };
  readonly maxSend = 16;
  events!: ModuleEvents;
  readonly links = new Map<number, FakeLink>();
  readonly closedLinks: number[] = [];
  readonly reads: number[] = [];
  readonly sendSizes: number[] = [];
  /** Order of completed sends and link closes. */
  readonly log: string[] = [];
  readonly listening = new Set<number>();
  /** How `open` behaves: resolve (default), or a scripted outcome. */
  openHook: ((req: ModuleOpenRequest, signal?: AbortSignal) => Promise<ModuleLink>) | undefined;
  /** How `send` behaves for one call: a count, or an error; default: all taken. */
  sendHook: ((link: FakeLink, bytes: Uint8Array) => number | SocketError) | undefined;
  echo = true;
  /** How long a read takes (ms). */
  readDelayMs = 1;

  constructor(readonly pull: boolean, private readonly sched: VirtualScheduler) {}

  attach(events: ModuleEvents): void {
    this.events = events;
  }

  private freeId(): number | undefined {
    for (let i = 0; i < this.caps.maxSockets; i++) if (!this.links.has(i)) return i;
    return undefined;
  }

  open(req: ModuleOpenRequest, signal?: AbortSignal): Promise<ModuleLink> {
    if (this.openHook !== undefined) return this.openHook(req, signal);
    const id = this.freeId();
    if (id === undefined) return Promise.reject(new SocketError('ENOMEM', { op: 'connect', reason: 'no free link' }));
    this.links.set(id, { id, req, held: [], sent: [], closed: false });
    return new Promise((resolve) => this.sched.setTimer(5, () => resolve({ id, localPort: 40000 + id })));
  }

  /** The module receives bytes for the host on `link` (`silent`: its data notice is lost). */
  deliver(id: number, bytes: Uint8Array, from?: Endpoint, silent = false): void {
    const l = this.links.get(id);
    if (l === undefined) return;
    if (this.pull) {
      l.held.push(bytes);
      if (!silent) this.events.readable(id, bytes.length);
    } else {
      this.events.data(id, from !== undefined ? { bytes, from } : { bytes });
    }
  }

  send(id: number, bytes: Uint8Array, to?: Endpoint): Promise<number> {
    const l = this.links.get(id);
    this.sendSizes.push(bytes.length);
    if (l === undefined) return Promise.reject(new SocketError('ECONNABORTED', { op: 'send' }));
    const r = this.sendHook?.(l, bytes) ?? bytes.length;
    if (r instanceof SocketError) return Promise.reject(r);
    const taken = bytes.slice(0, r);
    l.sent.push(taken);
    if (this.echo && taken.length > 0) this.sched.setTimer(1, () => this.deliver(id, taken, to));
    return new Promise((resolve) => this.sched.setTimer(1, () => {
      this.log.push(`sent ${id} ${r}`);
      resolve(r);
    }));
  }

  read(id: number, max: number): Promise<ModuleReceived> {
    this.reads.push(max);
    const l = this.links.get(id);
    if (l === undefined) return Promise.reject(new SocketError('ERROR', { op: 'recv' }));
    let out: Uint8Array = new Uint8Array(0);
    if (l.req.kind === 'udp') {
      out = l.held.shift() ?? out;
    } else {
      const all = Uint8Array.from(l.held.flatMap((b) => [...b]));
      out = all.slice(0, max);
      l.held = all.length > max ? [all.slice(max)] : [];
    }
    return new Promise((resolve) => this.sched.setTimer(this.readDelayMs, () => resolve({ bytes: out })));
  }

  closeLink(id: number): Promise<void> {
    this.closedLinks.push(id);
    this.log.push(`close ${id}`);
    this.links.delete(id);
    return Promise.resolve();
  }

  listen(port: number): Promise<void> {
    this.listening.add(port);
    return Promise.resolve();
  }

  unlisten(port: number): Promise<void> {
    this.listening.delete(port);
    return Promise.resolve();
  }

  lookup(name: string, af: Af): Promise<LookupResult> {
    return Promise.resolve(name === 'broker.test' && af === 1 ? Uint8Array.of(192, 0, 2, 7) : -16);
  }

  localAddress(): Uint8Array {
    return MODULE_IP;
  }

  /** The module's peer closes a link in an orderly way (after the held bytes, in pull mode). */
  peerClose(id: number): void {
    this.links.delete(id);
    this.events.closed(id);
  }
}

function setup(pull: boolean, options: { rxBufferBytes?: number; txBufferBytes?: number } = {}): {
  sched: VirtualScheduler; driver: FakeDriver; backend: ModuleBackend; net: Network; run: (ms?: number) => Promise<void>;
} {
  const sched = new VirtualScheduler();
  const driver = new FakeDriver(pull, sched);
  const backend = createModuleBackend(driver, { scheduler: sched, rng: new XorShiftRng(7), ...options });
  const net = new Network(backend, { scheduler: sched, rng: new XorShiftRng(8) });
  /** Lets promises settle and virtual time pass, 1 ms at a time. */
  const run = async (ms = 50): Promise<void> => {
    for (let i = 0; i < ms; i++) {
      await new Promise<void>((r) => setImmediate(r));
      sched.advance(1);
    }
    await new Promise<void>((r) => setImmediate(r));
  };
  return { sched, driver, backend, net, run };
}

/** Runs `p` to completion on virtual time. */
async function settle<T>(p: Promise<T>, run: (ms?: number) => Promise<void>, ms = 2000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  let failed = false;
  p.then((v) => { done = true; value = v; }, (e: unknown) => { done = true; failed = true; error = e; });
  for (let i = 0; i < ms && !done; i += 10) await run(10);
  if (!done) await new Promise<void>((r) => setImmediate(r));
  assert.ok(done, 'operation did not settle on virtual time');
  if (failed) throw error;
  return value as T;
}

for (const pull of [false, true]) {
  describe(`module backend (${pull ? 'pull' : 'push'} mode)`, () => {
    it('TCP echo through a link: bytes chunked to maxSend, in order, local and peer names', async () => {
      const { driver, net, run, backend } = setup(pull);
      const s = await settle(net.connect('192.0.2.1:7'), run);
      const msg = enc('The quick brown fox jumps over the lazy dog, twice over.');
      await settle(s.write(msg), run);
      const got: number[] = [];
      while (got.length < msg.length) got.push(...((await settle(s.read(), run)) ?? []));
      assert.equal(dec(Uint8Array.from(got)), dec(msg));
      assert.ok(driver.sendSizes.every((n) => n <= driver.maxSend), `chunks ${driver.sendSizes.join(',')}`);
      assert.equal(s.localAddress.address, '10.0.0.2');
      assert.equal(s.localAddress.port, 40000);
      assert.equal(s.remoteAddress?.port, 7);
      await settle(s.close(), run);
      assert.deepEqual(driver.closedLinks, [0]);
      assert.equal(backend.openLinks, 0);
      assert.equal(backend.openSockets, 0);
    });

    it('connect failures keep the driver code; the deadline aborts a hanging open and frees its late link', async () => {
      const { driver, net, run } = setup(pull);
      driver.openHook = () => Promise.reject(new SocketError('ECONNREFUSED', { op: 'connect', reason: 'qi:566' }));
      await assert.rejects(settle(net.connect('192.0.2.1:9'), run), (e: unknown) => isSocketError(e, 'ECONNREFUSED') && e.detail.reason === 'qi:566' && e.cause instanceof SocketError);
      let aborted = false;
      let late: ((l: ModuleLink) => void) | undefined;
      driver.openHook = (_req, signal) => {
        signal?.addEventListener('abort', () => { aborted = true; });
        return new Promise((resolve) => { late = resolve; });
      };
      await assert.rejects(settle(net.connect('192.0.2.1:9'), run, 10_000), (e: unknown) => isSocketError(e, 'ETIMEDOUT'));
      assert.ok(aborted, 'the open was aborted');
      late?.({ id: 3 });
      await run(5);
      assert.deepEqual(driver.closedLinks, [3], 'a link opened after the deadline is closed');
    });

    it('a refused chunk (SEND FAIL, buffer full) is retried; nothing lost or duplicated', async () => {
      const { driver, net, run, backend } = setup(pull);
      let refusals = 3;
      driver.sendHook = (_l, bytes) => (refusals-- > 0 ? 0 : Math.min(bytes.length, 5));
      const s = await settle(net.connect('192.0.2.1:7'), run);
      const msg = enc('0123456789abcdefghijklmnopqrstuvwxyz');
      await settle(s.write(msg), run);
      await run(500);
      const link = [...driver.links.values()][0];
      assert.equal(dec(Uint8Array.from(link?.sent.flatMap((b) => [...b]) ?? [])), dec(msg));
      assert.equal(backend.stats.sendRetries, 3);
      await settle(s.close(), run);
    });

    it('a failed send breaks the stream: ECONNABORTED, link closed', async () => {
      const { driver, net, run } = setup(pull);
      const s = await settle(net.connect('192.0.2.1:7'), run);
      driver.sendHook = () => new SocketError('ECONNABORTED', { op: 'send', reason: 'send-fail' });
      const failed = settle(s.write(enc('doomed')).then(() => s.write(enc('again'))), run);
      await assert.rejects(failed, (e: unknown) => isSocketError(e, 'ECONNABORTED') || isSocketError(e, 'ECONNRESET'));
      assert.deepEqual(driver.closedLinks, [0]);
      s.destroy();
    });

    it('orderly peer close: buffered bytes first, then end of stream', async () => {
      const { driver, net, run } = setup(pull);
      driver.echo = false;
      const s = await settle(net.connect('192.0.2.1:13'), run);
      driver.deliver(0, enc('Tuesday'));
      await run(5);
      if (!pull) driver.peerClose(0);
      else {
        // Pull mode: the driver reports the close only once the module holds nothing unread.
        await run(20);
        driver.peerClose(0);
      }
      const chunks: string[] = [];
      for await (const c of s) chunks.push(dec(c));
      assert.equal(chunks.join(''), 'Tuesday');
      await settle(s.close(), run);
    });

    it('module lost: every socket fails with the driver error, links forgotten', async () => {
      const { driver, net, run, backend } = setup(pull);
      const a = await settle(net.connect('192.0.2.1:7'), run);
      const b = await settle(net.connect('192.0.2.1:7'), run);
      const reading = settle(a.read(), run);
      driver.events.lost(new SocketError('ECONNABORTED', { op: 'recv', reason: 'module-reset' }));
      await assert.rejects(reading, (e: unknown) => isSocketError(e, 'ECONNABORTED') && e.detail.reason === 'module-reset');
      await assert.rejects(settle(b.write(enc('x')), run), (e: unknown) => isSocketError(e, 'ECONNABORTED'));
      assert.equal(backend.openLinks, 0);
      a.destroy();
      b.destroy();
    });

    it('server: accepted links reach the listener of their port; others are closed', async () => {
      const { driver, net, run } = setup(pull);
      const server = await settle(net.listen({ port: 333 }), run);
      assert.ok(driver.listening.has(333));
      driver.links.set(2, { id: 2, req: { kind: 'tcp', af: 1, remote: { address: Uint8Array.of(192, 0, 2, 9), port: 5000 }, localPort: 333, keepAliveS: 0 }, held: [], sent: [], closed: false });
      driver.events.accepted(2, { address: Uint8Array.of(192, 0, 2, 9), port: 5000 }, 333);
      driver.events.accepted(3, { address: Uint8Array.of(192, 0, 2, 9), port: 5001 }, 444);
      const c = await settle(server.accept(), run);
      assert.equal(c.remoteAddress?.address, '192.0.2.9');
      assert.deepEqual(driver.closedLinks, [3]);
      await settle(c.write(enc('hello')), run);
      assert.equal(dec((await settle(c.read(), run)) ?? new Uint8Array()), 'hello');
      await settle(c.close(), run);
      await settle(server.close(), run);
      assert.ok(!driver.listening.has(333));
    });

    it('UDP: one link per socket, the destination with every datagram, the connect filter', async () => {
      const { driver, net, run } = setup(pull);
      const u = await settle(net.udp({ port: 5683 }), run);
      const link = [...driver.links.values()][0];
      assert.equal(link?.req.kind, 'udp');
      assert.equal(link?.req.localPort, 5683);
      driver.echo = false;
      await settle(u.send(enc('ping'), '192.0.2.1:5683'), run);
      driver.deliver(0, enc('pong'), { address: Uint8Array.of(192, 0, 2, 1), port: 5683 });
      const d = await settle(u.recv(), run);
      assert.equal(dec(d.data), 'pong');
      if (!pull) assert.equal(d.from.address, '192.0.2.1');
      await settle(u.close(), run);
      assert.deepEqual(driver.closedLinks, [0]);
    });
  });
}

describe('module backend: pull mode never asks for more than the buffer holds', () => {
  it('read-ahead stops when the ring is full and resumes as the reader drains it', async () => {
    const { driver, net, run } = setup(true, { rxBufferBytes: 64 });
    driver.echo = false;
    const s = await settle(net.connect('192.0.2.1:19'), run);
    const big = Uint8Array.from({ length: 1000 }, (_, i) => 33 + (i % 90));
    driver.deliver(0, big);
    await run(50);
    assert.ok(driver.reads.every((n) => n <= 64), `reads ${driver.reads.join(',')}`);
    const got: number[] = [];
    while (got.length < big.length) got.push(...((await settle(s.read(), run)) ?? []));
    assert.deepEqual(Uint8Array.from(got), big);
    assert.ok(driver.reads.every((n) => n <= 64));
    await settle(s.close(), run);
  });

  it('a lost data notice costs at most the idle poll period, not the data', async () => {
    const { driver, net, run } = setup(true);
    driver.echo = false;
    const s = await settle(net.connect('192.0.2.1:19'), run);
    await run(100);
    const reads = driver.reads.length;
    driver.deliver(0, enc('unannounced'), undefined, true);
    const got = await settle(s.read(), run, 2500);
    assert.equal(dec(got ?? new Uint8Array()), 'unannounced');
    assert.ok(driver.reads.length - reads <= 2, `idle reads ${driver.reads.length - reads}`);
    await settle(s.close(), run);
  });

  it('a graceful close lets queued bytes reach the module before the link closes', async () => {
    const { driver, net, run } = setup(true);
    driver.echo = false;
    const s = await settle(net.connect('192.0.2.1:9'), run);
    const msg = Uint8Array.from({ length: 200 }, (_, i) => i);
    void s.write(msg);
    await settle(s.close(), run);
    await run(200);
    assert.deepEqual(driver.closedLinks, [0]);
    assert.equal(driver.sendSizes.reduce((a, b) => a + b, 0), 200);
  });

  it('a close right after a write, while the first read-ahead is in flight, still sends the bytes', async () => {
    const { driver, net, run } = setup(true);
    driver.echo = false;
    driver.readDelayMs = 100;
    const s = await settle(net.connect('192.0.2.1:5000'), run);
    await settle(s.write(enc('CONNECT TCP')), run, 0);
    await settle(s.close(), run);
    await run(50);
    assert.deepEqual(driver.log, ['sent 0 11', 'close 0'], 'the queued bytes went out before the close');
  });

  it('names resolve through the driver; a driver rejection keeps its code', async () => {
    const { net, run, driver } = setup(true);
    const a = await settle(net.lookup('broker.test'), run);
    assert.equal(a, '192.0.2.7');
    await assert.rejects(settle(net.lookup('nowhere.test'), run), (e: unknown) => isSocketError(e, 'EHOSTNOTFOUND'));
    driver.lookup = () => Promise.reject(new SocketError('ETIMEDOUT', { op: 'lookup', reason: 'timeout' }));
    await assert.rejects(settle(net.lookup('slow.test'), run), (e: unknown) => isSocketError(e, 'ETIMEDOUT'));
  });
});
