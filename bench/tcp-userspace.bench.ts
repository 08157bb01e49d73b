/**
 * TCP between two userspace stacks in one process, joined by a virtual Ethernet cable
 * (MTU 1500), on real time, through the idiomatic API: bulk throughput and 32-byte
 * echo round-trip time, each beside `node:net` with both ends in the same process
 * (same chunk size). Rounds alternate; medians and paired per-round ratios.
 */
import net from 'node:net';
import { createUserspaceBackend } from '../src/backends/userspace/index.ts';
import { XorShiftRng } from '../src/base/rand.ts';
import { createCable } from '../src/link/index.ts';
import { StackRunner } from '../src/runtime/stack-runner.ts';
import { Network } from '../src/socket/network.ts';
import { Stack } from '../src/stack/stack.ts';
import type { Figure } from './main.ts';

const CHUNK = 64 * 1024;
const RTT_BYTES = 32;

interface Pair {
  client: Network;
  server: Network;
  close(): Promise<void>;
}

function stackPair(): Pair {
  const [ea, eb] = createCable({ mtu: 1500 });
  const A = new Stack({ rng: new XorShiftRng(1), name: 'bench-a' });
  A.addInterface(ea, { ipv4: { address: '10.0.0.1', prefixLen: 24 } });
  const B = new Stack({ rng: new XorShiftRng(2), name: 'bench-b' });
  B.addInterface(eb, { ipv4: { address: '10.0.0.2', prefixLen: 24 } });
  const ra = new StackRunner(A), rb = new StackRunner(B);
  const client = new Network(createUserspaceBackend(A, ra, { rng: new XorShiftRng(3) }));
  const server = new Network(createUserspaceBackend(B, rb, { rng: new XorShiftRng(4) }));
  return {
    client, server,
    async close() {
      await client.close();
      await server.close();
      ra.close();
      rb.close();
      A.close();
      B.close();
    },
  };
}

async function userspaceBulk(total: number): Promise<number> {
  const p = stackPair();
  const server = await p.server.listen({ port: 5001, host: '0.0.0.0' });
  const done = (async () => {
    const s = await server.accept();
    let n = 0;
    for await (const c of s) {
      n += c.length;
      if (n >= total) break;
    }
  })();
  const c = await p.client.connect({ host: '10.0.0.2', port: 5001 });
  const chunk = new Uint8Array(CHUNK).fill(7);
  const t0 = performance.now();
  for (let s = 0; s < total; s += CHUNK) await c.write(chunk);
  await done;
  const mbps = total / 1e6 / ((performance.now() - t0) / 1000);
  c.destroy();
  await server.close();
  await p.close();
  return mbps;
}

async function userspaceRtt(n: number): Promise<number> {
  const p = stackPair();
  const server = await p.server.listen({ port: 5007, host: '0.0.0.0' });
  void (async () => {
    const s = await server.accept();
    for await (const c of s) await s.write(c);
  })().catch(() => undefined);
  const c = await p.client.connect({ host: '10.0.0.2', port: 5007 });
  const msg = new Uint8Array(RTT_BYTES).fill(1);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await c.write(msg);
    let got = 0;
    while (got < RTT_BYTES) got += (await c.read({ maxBytes: RTT_BYTES - got }))?.length ?? RTT_BYTES;
  }
  const us = ((performance.now() - t0) * 1000) / n;
  c.destroy();
  await server.close();
  await p.close();
  return us;
}

async function nodeBulk(total: number): Promise<number> {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const srv = net.createServer((s) => {
    let n = 0;
    s.on('data', (d) => {
      n += d.length;
      if (n >= total) resolve();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  const chunk = Buffer.alloc(CHUNK, 7);
  const t0 = performance.now();
  for (let s = 0; s < total; s += CHUNK) if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
  await done;
  const mbps = total / 1e6 / ((performance.now() - t0) / 1000);
  c.destroy();
  srv.close();
  return mbps;
}

async function nodeRtt(n: number): Promise<number> {
  const srv = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const c = net.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1', noDelay: true });
  await new Promise((r) => c.once('connect', r));
  const msg = Buffer.alloc(RTT_BYTES, 1);
  let got = 0;
  let wake: (() => void) | undefined;
  c.on('data', (d) => {
    got += d.length;
    if (got >= RTT_BYTES) {
      got -= RTT_BYTES;
      wake?.();
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const back = new Promise<void>((r) => (wake = r));
    c.write(msg);
    await back;
  }
  const us = ((performance.now() - t0) * 1000) / n;
  c.destroy();
  srv.close();
  return us;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function runUserspaceTcpBench(opts: { quick: boolean; progress: (m: string) => void }): Promise<Figure[]> {
  const total = (opts.quick ? 8 : 64) * 1024 * 1024;
  const rttN = opts.quick ? 500 : 3000;
  const rounds = opts.quick ? 1 : 3;
  const r = { ub: [] as number[], nb: [] as number[], ur: [] as number[], nr: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    opts.progress(`userspace tcp bulk ${total / 1048576} MiB, round ${i + 1}/${rounds}`);
    r.nb.push(await nodeBulk(total));
    r.ub.push(await userspaceBulk(total));
    opts.progress(`userspace tcp rtt ${rttN} x ${RTT_BYTES} B, round ${i + 1}/${rounds}`);
    r.nr.push(await nodeRtt(rttN));
    r.ur.push(await userspaceRtt(rttN));
  }
  const paired = (xs: number[], base: number[]): number => median(xs.map((x, i) => x / (base[i] as number)));
  opts.progress('idle connections: 10,000 between two stacks');
  const idle = await measureIdleConnBytes(opts.quick ? 2000 : 10_000);
  const idleFigure: Figure[] = idle === undefined ? [] : [
    { key: 'tcp_idle_conn_bytes', label: 'heap per established idle TCP connection (both ends), 10,000 open', value: idle, unit: 'B', goal: '<= 4096' },
  ];
  return [
    ...idleFigure,
    { key: 'tcp_bulk_node_net_inproc_mbps', label: 'TCP bulk, node:net, both ends in one process (baseline)', value: median(r.nb), unit: 'MB/s' },
    { key: 'tcp_bulk_userspace_mbps', label: 'TCP bulk, two userspace stacks on a virtual cable, MTU 1500', value: median(r.ub), unit: 'MB/s', baseline: 'tcp_bulk_node_net_inproc_mbps', ratio: paired(r.ub, r.nb), goal: 'ratio >= 0.5' },
    { key: 'tcp_rtt_node_net_inproc_us', label: 'TCP 32-byte echo RTT, node:net in one process (baseline)', value: median(r.nr), unit: 'us' },
    { key: 'tcp_rtt_userspace_us', label: 'TCP 32-byte echo RTT, two userspace stacks', value: median(r.ur), unit: 'us', baseline: 'tcp_rtt_node_net_inproc_us', ratio: paired(r.ur, r.nr), goal: 'ratio <= 1.0' },
  ];
}

/**
 * Heap per established idle connection: 10,000 connections between two stacks (virtual
 * time, no real waiting), one small message each way, then idle for 5 s of virtual
 * time (empty rings are released after 1 s). Counts both ends of every connection.
 * Needs `--expose-gc` (npm run bench passes it); undefined without it.
 */
export async function measureIdleConnBytes(n = 10_000): Promise<number | undefined> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return undefined;
  const { VirtualScheduler } = await import('../src/base/time.ts');
  const { TcpLayer } = await import('../src/stack/tcp/tcp-layer.ts');
  const sched = new VirtualScheduler();
  const [ea, eb] = createCable({ mtu: 1500, queueFrames: 4096 });
  const A = new Stack({ rng: new XorShiftRng(5) });
  A.addInterface(ea, { ipv4: { address: '10.0.0.1', prefixLen: 24 } });
  const B = new Stack({ rng: new XorShiftRng(6) });
  B.addInterface(eb, { ipv4: { address: '10.0.0.2', prefixLen: 24 } });
  const ra = new StackRunner(A, { scheduler: sched }), rb = new StackRunner(B, { scheduler: sched });
  const ta = new TcpLayer(A, { rng: new XorShiftRng(7) });
  const tb = new TcpLayer(B, { rng: new XorShiftRng(8) });
  const run = (ms: number): void => sched.advanceTo(sched.now() + ms);
  const l = tb.listen(0, 80, n);
  if (typeof l === 'number') return undefined;
  run(10);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const conns = [];
  const accepted = [];
  for (let i = 0; i < n; i++) {
    conns.push(ta.connect(sched.now(), 0x0a000002, 80));
    if (i % 100 === 99) run(1);
  }
  run(100);
  for (let a = tb.accept(l); a !== undefined; a = tb.accept(l)) accepted.push(a);
  const msg = new Uint8Array(10);
  const tmp = new Uint8Array(64);
  for (const c of conns) if (typeof c !== 'number') { c.tcb.send(msg); ta.touch(c); }
  run(100);
  for (const s of accepted) { s.tcb.recv(tmp); tb.touch(s); }
  run(5000);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const established = conns.filter((c) => typeof c !== 'number' && c.tcb.state === 'ESTABLISHED').length;
  ra.close();
  rb.close();
  if (established < n) return undefined;
  return (after - before) / n;
}
