/**
 * TCP between two userspace stacks in one process, joined by a virtual Ethernet cable
 * (MTU 1500), on real time, through the idiomatic API: bulk throughput and 32-byte echo
 * round-trip time, each beside `node:net` over loopback with both ends in this process
 * (the issue 3 baselines `tcp_bulk_node_net_mbps` and `tcp_rtt_node_net_us`), plus peak
 * RSS while moving 1 GiB (in a child process) and heap per idle connection.
 *
 * Like for like:
 * - Both userspace stacks run on the main thread, so both `node:net` ends do too (one
 *   event loop; the kernel's loopback work runs in the same thread's syscalls). The host
 *   bench's baselines talk to a peer in a worker thread instead (they isolate the client
 *   side): two threads move bulk data faster, and every round trip there pays two
 *   cross-thread wake-ups (about 30-110 us on this VM against about 22 us on one thread).
 * - Same chunk (64 KiB writes) and the same amount queued: `node:net` keeps up to 256 KiB
 *   queued and waits for 'drain' (as the host baseline does), the userspace stack's send
 *   buffer is 256 KiB and `write` resolves once the chunk is queued.
 * - Checksums: Linux loopback computes and verifies no TCP/IP checksums (it marks packets
 *   CHECKSUM_PARTIAL / UNNECESSARY). The primary userspace figures therefore run the cable
 *   with interface checksum offload on (`addInterface(..., { checksumOffload: true })`);
 *   the same transfers with offload off (every checksum computed in JavaScript on send
 *   and verified on receive) are reported beside them (`*_nooffload_*`), against the same
 *   baseline.
 *
 * `tcp6_bulk_userspace_mbps` is the same bulk transfer (offload on) over IPv6: static
 * fd00::1 and fd00::2/64 on a third pair of stacks (DAD off, so it starts at once),
 * connecting to 'fd00::2' through the same `Network` API; its baseline is the IPv4
 * userspace figure of the same round.
 *
 * Each variant keeps one bulk and one echo connection for the whole bench (see `Paths`).
 * Variants run in a rotating order each round, after a full GC; figures are medians over
 * rounds (RTT: the mean of each round) and ratios the median of per-round ratios to the
 * baseline of the same round.
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import { createUserspaceBackend } from '../src/backends/userspace/index.ts';
import { XorShiftRng } from '../src/base/rand.ts';
import { createCable } from '../src/link/index.ts';
import { StackRunner } from '../src/runtime/stack-runner.ts';
import { Network } from '../src/socket/network.ts';
import { Stack, toIpv6 } from '../src/stack/stack.ts';
import type { Figure } from './main.ts';
import type { RssReport } from './rss-transfer-child.ts';

const CHUNK = 64 * 1024;
const RTT_BYTES = 32;
/** Bytes the node:net baseline keeps queued before waiting for 'drain' (= the userspace send buffer, = the host baseline's budget). */
const SEND_BUDGET = 256 * 1024;
const MiB = 1024 * 1024;

interface Options {
  quick: boolean;
  progress: (msg: string) => void;
}

export interface Pair {
  client: Network;
  server: Network;
  close(): Promise<void>;
}

/** IPv6 on the pair: static fd00::1 (A) and fd00::2 (B), /64, no DAD and no SLAAC, so traffic can start at once. */
const ipv6On = (address: string) => ({ addresses: [{ address: toIpv6(address), prefixLen: 64 }], dadTransmits: 0, autoconf: false });

/**
 * Two stacks on one virtual cable (MTU 1500), each with a runner and an idiomatic
 * `Network`: 10.0.0.1 and 10.0.0.2/24, plus fd00::1 and fd00::2/64 with `ipv6`.
 */
export function stackPair(checksumOffload: boolean, opts: { ipv6?: boolean } = {}): Pair {
  const [ea, eb] = createCable({ mtu: 1500 });
  const A = new Stack({ rng: new XorShiftRng(1), name: 'bench-a' });
  A.addInterface(ea, { ipv4: { address: '10.0.0.1', prefixLen: 24 }, ...(opts.ipv6 === true ? { ipv6: ipv6On('fd00::1') } : {}), checksumOffload });
  const B = new Stack({ rng: new XorShiftRng(2), name: 'bench-b' });
  B.addInterface(eb, { ipv4: { address: '10.0.0.2', prefixLen: 24 }, ...(opts.ipv6 === true ? { ipv6: ipv6On('fd00::2') } : {}), checksumOffload });
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

/** Bytes received so far, and a wait until a cumulative count is reached. */
class Received {
  n = 0;
  private goal = Number.POSITIVE_INFINITY;
  private wake: (() => void) | undefined;
  constructor(private readonly onProgress?: (received: number) => void) {}

  add(k: number): void {
    this.n += k;
    this.onProgress?.(this.n);
    if (this.n >= this.goal) {
      const w = this.wake;
      this.wake = undefined;
      this.goal = Number.POSITIVE_INFINITY;
      w?.();
    }
  }

  until(goal: number): Promise<void> {
    if (this.n >= goal) return Promise.resolve();
    this.goal = goal;
    return new Promise((r) => (this.wake = r));
  }
}

/**
 * One long-lived connection each for bulk and for echo, measured again every round. A
 * fresh pair of stacks per round would measure V8 more than the stack: the full GC
 * before each round frees the previous pair, which deoptimizes code specialised on its
 * objects, and 5,000 round trips on a new pair then ran at about 40 us instead of 17-20.
 */
interface Paths {
  /** Sends `total` bytes in 64 KiB writes; MB/s from the first write until the receiver has them all. */
  bulk(total: number): Promise<number>;
  /** Mean 32-byte echo round-trip time over `n` round trips, us. */
  rtt(n: number): Promise<number>;
  close(): Promise<void>;
}

/** The userspace paths over IPv4 (10.0.0.2), or with `ipv6` over IPv6 (listening on '::', connecting to 'fd00::2'). */
async function userspacePaths(checksumOffload: boolean, onProgress?: (received: number) => void, ipv6 = false): Promise<Paths> {
  const p = stackPair(checksumOffload, { ipv6 });
  const any = ipv6 ? '::' : '0.0.0.0';
  const serverHost = ipv6 ? 'fd00::2' : '10.0.0.2';
  const sink = await p.server.listen({ port: 5001, host: any });
  const echo = await p.server.listen({ port: 5007, host: any });
  const received = new Received(onProgress);
  void (async () => {
    const s = await sink.accept();
    for await (const c of s) received.add(c.length);
  })().catch(() => undefined);
  void (async () => {
    const s = await echo.accept();
    for await (const c of s) await s.write(c);
  })().catch(() => undefined);
  const bulkConn = await p.client.connect({ host: serverHost, port: 5001 });
  const echoConn = await p.client.connect({ host: serverHost, port: 5007 });
  const chunk = new Uint8Array(CHUNK).fill(7);
  const msg = new Uint8Array(RTT_BYTES).fill(1);
  let sent = 0;
  return {
    async bulk(total) {
      const t0 = performance.now();
      for (let s = 0; s < total; s += CHUNK) await bulkConn.write(chunk);
      sent += total;
      await received.until(sent);
      return total / 1e6 / ((performance.now() - t0) / 1000);
    },
    async rtt(n) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        await echoConn.write(msg);
        let got = 0;
        while (got < RTT_BYTES) {
          const d = await echoConn.read({ maxBytes: RTT_BYTES - got });
          if (d === null) throw new Error('userspace rtt: eof');
          got += d.length;
        }
      }
      return ((performance.now() - t0) * 1000) / n;
    },
    async close() {
      bulkConn.destroy();
      echoConn.destroy();
      await sink.close();
      await echo.close();
      await p.close();
    },
  };
}

/**
 * Moves `total` bytes from one stack to the other on a fresh pair (the RSS child), over
 * IPv6 with `ipv6`;
 * `onProgress` sees the receiver's running count after each chunk read. Returns MB/s.
 */
export async function userspaceBulk(total: number, checksumOffload: boolean, onProgress?: (received: number) => void, ipv6 = false): Promise<number> {
  const paths = await userspacePaths(checksumOffload, onProgress, ipv6);
  try {
    return await paths.bulk(total);
  } finally {
    await paths.close();
  }
}

/**
 * node:net over loopback, both ends on this thread. Bulk: 64 KiB writes, up to 256 KiB
 * queued, then 'drain'. Echo: TCP_NODELAY both ways.
 */
async function nodePaths(): Promise<Paths> {
  const received = new Received();
  const sink = net.createServer((s) => s.on('data', (d: Buffer) => received.add(d.length)));
  const echo = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const connect = async (srv: net.Server): Promise<net.Socket> => {
    const c = net.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1', noDelay: true });
    await new Promise((r) => c.once('connect', r));
    return c;
  };
  const bulkConn = await connect(sink);
  const echoConn = await connect(echo);
  const chunk = Buffer.alloc(CHUNK, 7);
  const msg = Buffer.alloc(RTT_BYTES, 1);
  let got = 0;
  let wake: (() => void) | undefined;
  echoConn.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= RTT_BYTES) {
      got -= RTT_BYTES;
      wake?.();
    }
  });
  let sent = 0;
  return {
    async bulk(total) {
      const t0 = performance.now();
      for (let s = 0; s < total; s += CHUNK) {
        bulkConn.write(chunk);
        if (bulkConn.writableLength >= SEND_BUDGET) await new Promise((r) => bulkConn.once('drain', r));
      }
      sent += total;
      await received.until(sent);
      return total / 1e6 / ((performance.now() - t0) / 1000);
    },
    async rtt(n) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const back = new Promise<void>((r) => (wake = r));
        echoConn.write(msg);
        await back;
      }
      return ((performance.now() - t0) * 1000) / n;
    },
    async close() {
      bulkConn.destroy();
      echoConn.destroy();
      await new Promise((r) => sink.close(r));
      await new Promise((r) => echo.close(r));
    },
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * Runs the 1 GiB transfer in a child process (the same `tsx` runtime: this process's
 * `execArgv`), so the garbage of the other benches does not count, and returns its report.
 */
export function measureTransferRss(totalMiB: number): Promise<RssReport> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./rss-transfer-child.ts', import.meta.url), [String(totalMiB)], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let report: RssReport | undefined;
    child.once('message', (m) => {
      report = m as RssReport;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (report !== undefined && code === 0) resolve(report);
      else reject(new Error(`rss child exited with ${code ?? signal}`));
    });
  });
}

export async function runUserspaceTcpBench(opts: Options): Promise<Figure[]> {
  const total = (opts.quick ? 16 : 256) * MiB;
  const rttN = opts.quick ? 500 : 5000;
  const rounds = opts.quick ? 1 : 7;
  const rssMiB = opts.quick ? 256 : 1024;
  const gc = (globalThis as { gc?: () => void }).gc;
  const r = { nb: [] as number[], ub: [] as number[], ubx: [] as number[], nr: [] as number[], ur: [] as number[], urx: [] as number[], ub6: [] as number[] };

  // The four paths live for the whole bench (see `Paths`); warm-up (JIT) first: the
  // first few hundred MiB through a fresh process run at about half speed. The IPv6
  // path is only measured for bulk (its echo connection is warmed up with the rest).
  const node = await nodePaths();
  const us = await userspacePaths(true);
  const usx = await userspacePaths(false);
  const us6 = await userspacePaths(true, undefined, true);
  const warm = (opts.quick ? 8 : 128) * MiB;
  opts.progress(`userspace tcp warm-up: ${warm / MiB} MiB and 2,000 round trips per variant`);
  for (const v of [node, us, usx, us6]) {
    await v.bulk(warm);
    await v.rtt(2000);
  }

  const measure = async (into: number[], fn: () => Promise<number>): Promise<void> => {
    gc?.();
    into.push(await fn());
  };
  const bulk: (() => Promise<void>)[] = [
    () => measure(r.nb, () => node.bulk(total)),
    () => measure(r.ub, () => us.bulk(total)),
    () => measure(r.ubx, () => usx.bulk(total)),
    () => measure(r.ub6, () => us6.bulk(total)),
  ];
  const rtt: (() => Promise<void>)[] = [
    () => measure(r.nr, () => node.rtt(rttN)),
    () => measure(r.ur, () => us.rtt(rttN)),
    () => measure(r.urx, () => usx.rtt(rttN)),
  ];
  for (let i = 0; i < rounds; i++) {
    opts.progress(`userspace tcp bulk ${total / MiB} MiB x ${bulk.length} variants, round ${i + 1}/${rounds}`);
    for (let k = 0; k < bulk.length; k++) await (bulk[(k + i) % bulk.length] as () => Promise<void>)();
  }
  for (let i = 0; i < rounds; i++) {
    opts.progress(`userspace tcp rtt ${rttN} x ${RTT_BYTES} B x ${rtt.length} variants, round ${i + 1}/${rounds}`);
    for (let k = 0; k < rtt.length; k++) await (rtt[(k + i) % rtt.length] as () => Promise<void>)();
  }
  await node.close();
  await us.close();
  await usx.close();
  await us6.close();
  opts.progress(`samples: ${JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.map((x) => Math.round(x * 10) / 10)])))}`);
  const paired = (xs: number[], base: number[]): number => median(xs.map((x, i) => x / (base[i] as number)));

  opts.progress(`rss: ${rssMiB} MiB between two userspace stacks in a child process`);
  const rss = await measureTransferRss(rssMiB);
  opts.progress(`rss samples (MiB moved: RSS MiB): ${rss.samples.map(([m, v]) => `${m}:${v.toFixed(0)}`).join(' ')}; peak ${rss.peakMiB.toFixed(0)} MiB; heap after GC ${rss.retainedQuarterMiB?.toFixed(2)} -> ${rss.retainedEndMiB?.toFixed(2)} MiB; ${rss.mbps.toFixed(0)} MB/s`);

  opts.progress(`idle connections: ${opts.quick ? '2,000' : '10,000'} between two stacks`);
  const idle = await measureIdleConnBytes(opts.quick ? 2000 : 10_000);
  const idleFigure: Figure[] = idle === undefined ? [] : [
    { key: 'tcp_idle_conn_bytes', label: 'heap per established idle TCP connection (both ends), 10,000 open', value: idle, unit: 'B', goal: '<= 4096' },
  ];
  const at = (mib: number): number => rss.samples.find(([m]) => m >= mib)?.[1] ?? Number.NaN;
  const growthFrom = rssMiB / 4;
  const growth = `${growthFrom}m_to_${rssMiB === 1024 ? '1g' : `${rssMiB}m`}`;
  return [
    { key: 'tcp_bulk_node_net_mbps', label: `TCP bulk, node:net over loopback, both ends on the main thread, 64 KiB writes, 256 KiB queued + drain, ${total / MiB} MiB (baseline)`, value: median(r.nb), unit: 'MB/s' },
    { key: 'tcp_bulk_userspace_mbps', label: `TCP bulk, two userspace stacks on a virtual cable, MTU 1500, checksum offload (as loopback), 64 KiB writes, ${total / MiB} MiB`, value: median(r.ub), unit: 'MB/s', baseline: 'tcp_bulk_node_net_mbps', ratio: paired(r.ub, r.nb), goal: 'ratio >= 0.5' },
    { key: 'tcp_bulk_userspace_nooffload_mbps', label: 'TCP bulk, as tcp_bulk_userspace_mbps with every checksum computed and verified in JavaScript', value: median(r.ubx), unit: 'MB/s', baseline: 'tcp_bulk_node_net_mbps', ratio: paired(r.ubx, r.nb) },
    { key: 'tcp6_bulk_userspace_mbps', label: `TCP bulk over IPv6, two userspace stacks on a virtual cable, MTU 1500, checksum offload, 64 KiB writes, ${total / MiB} MiB, fd00::1 to fd00::2 (same set-up as tcp_bulk_userspace_mbps)`, value: median(r.ub6), unit: 'MB/s', baseline: 'tcp_bulk_userspace_mbps', ratio: paired(r.ub6, r.ub), goal: 'ratio >= 0.9' },
    { key: 'tcp_rtt_node_net_us', label: 'TCP 32-byte echo RTT, node:net over loopback, both ends on the main thread (baseline)', value: median(r.nr), unit: 'us' },
    { key: 'tcp_rtt_userspace_us', label: 'TCP 32-byte echo RTT, two userspace stacks, checksum offload (as loopback)', value: median(r.ur), unit: 'us', baseline: 'tcp_rtt_node_net_us', ratio: paired(r.ur, r.nr), goal: 'ratio <= 1.0' },
    { key: 'tcp_rtt_userspace_nooffload_us', label: 'TCP 32-byte echo RTT, two userspace stacks, checksums in JavaScript', value: median(r.urx), unit: 'us', baseline: 'tcp_rtt_node_net_us', ratio: paired(r.urx, r.nr) },
    { key: `rss_mib_${rssMiB === 1024 ? '1gib' : `${rssMiB}mib`}_transfer`, label: `peak RSS (kernel high-water mark) of a child process moving ${rssMiB} MiB between two userspace stacks as tcp_bulk_userspace_mbps; RSS before the transfer ${rss.startMiB.toFixed(0)} MiB`, value: rss.peakMiB, unit: 'MiB', goal: '< 150' },
    { key: `rss_mib_growth_${growth}`, label: `RSS after ${rssMiB} MiB moved minus RSS after ${growthFrom} MiB (same child process; follows V8 heap sizing: levels off, about 115-130 MiB up to 4 GiB)`, value: at(rssMiB) - at(growthFrom), unit: 'MiB' },
    ...(rss.retainedQuarterMiB !== undefined && rss.retainedEndMiB !== undefined ? [
      { key: `heap_retained_mib_growth_${growth}`, label: `heap in use after a full GC at ${rssMiB} MiB moved minus the same at ${growthFrom} MiB (a leak would grow with bytes moved)`, value: rss.retainedEndMiB - rss.retainedQuarterMiB, unit: 'MiB', goal: 'about 0' } satisfies Figure,
    ] : []),
    ...idleFigure,
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
