/**
 * TCP over the host stack: bulk throughput and 32-byte echo round-trip time through
 * `iotnet/iot-socket` and through the idiomatic API, each beside a raw `node:net`
 * client (same peer, same chunk size, same process). Each variant runs 7 rounds
 * (256 MiB bulk, 4,000 round trips), in a rotating order after a full GC; a figure is
 * the median over rounds and its ratio the median of per-round ratios to the baseline
 * of that round.
 *
 * The peer is a raw `node:net` server in a worker thread (`peer.mjs`), so only the
 * client side differs between a figure and its baseline: the baselines are keyed
 * `*_node_net_worker_peer_*`. They are not the userspace bench's baselines
 * (`tcp_bulk_node_net_mbps`, `tcp_rtt_node_net_us`: both `node:net` ends on the main
 * thread, as both userspace stacks are); see `tcp-userspace.bench.ts`.
 */
import net from 'node:net';
import { createHostBackend } from '../src/backends/host/index.ts';
import { IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM } from '../src/base/iot-constants.ts';
import { IotSocketLayer } from '../src/socket/iot-socket-layer.ts';
import { Network } from '../src/socket/network.ts';
import type { Figure } from './main.ts';

const CHUNK = 64 * 1024;
const RTT_BYTES = 32;
/** The host backend's default send buffer. */
const SEND_BUDGET = 256 * 1024;
const LOOPBACK = new Uint8Array([127, 0, 0, 1]);
/** Keys of the host baselines (raw node:net client, peer in a worker thread). */
const BULK_BASE = 'tcp_bulk_node_net_worker_peer_mbps';
const RTT_BASE = 'tcp_rtt_node_net_worker_peer_us';

interface Options {
  quick: boolean;
  progress: (msg: string) => void;
}

function lengthHeader(total: number): Uint8Array {
  const h = new Uint8Array(8);
  new DataView(h.buffer).setBigUint64(0, BigInt(total));
  return h;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

// ---- raw node:net ---------------------------------------------------------------

async function nodeConnect(port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return s;
}

/**
 * Raw node:net bulk send with one of two idiomatic strategies: 'budget' keeps up to
 * 256 KiB (the host backend's send buffer) queued and waits for 'drain'; 'callback'
 * waits for each write's callback (what our zero-copy blocking send does internally).
 * The baseline is the better median of the two, so no ratio can flatter our layer.
 */
async function nodeBulkWith(port: number, total: number, strategy: 'budget' | 'callback'): Promise<number> {
  const s = await nodeConnect(port);
  const chunk = Buffer.alloc(CHUNK, 0x61);
  const done = new Promise<void>((resolve) => s.once('data', () => resolve()));
  const t0 = performance.now();
  s.write(lengthHeader(total));
  for (let sent = 0; sent < total; sent += CHUNK) {
    if (strategy === 'callback') {
      await new Promise<void>((r) => s.write(chunk, () => r()));
    } else {
      s.write(chunk);
      if (s.writableLength >= SEND_BUDGET) await new Promise((r) => s.once('drain', r));
    }
  }
  await done;
  const dt = performance.now() - t0;
  s.destroy();
  return total / 1e6 / (dt / 1000);
}

async function nodeRtt(port: number, n: number): Promise<number> {
  const s = await nodeConnect(port);
  const msg = Buffer.alloc(RTT_BYTES, 0x62);
  let got = 0;
  let wake: (() => void) | undefined;
  s.on('data', (d) => {
    got += d.length;
    if (got >= RTT_BYTES) {
      got -= RTT_BYTES;
      wake?.();
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const back = new Promise<void>((r) => (wake = r));
    s.write(msg);
    await back;
  }
  const dt = performance.now() - t0;
  s.destroy();
  return (dt * 1000) / n;
}

// ---- iotnet/iot-socket over the host stack ----------------------------------------

async function iotBulk(layer: IotSocketLayer, port: number, total: number): Promise<number> {
  const api = layer.api();
  const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
  if ((await api.socketConnect(s, LOOPBACK, 4, port)) !== 0) throw new Error('iot connect failed');
  const chunk = new Uint8Array(CHUNK).fill(0x61);
  const t0 = performance.now();
  const h = lengthHeader(total);
  await api.socketSend(s, h, h.length);
  for (let sent = 0; sent < total; sent += CHUNK) {
    const r = await api.socketSend(s, chunk, CHUNK);
    if (r !== CHUNK) throw new Error(`iot send returned ${r}`);
  }
  const ack = new Uint8Array(1);
  if ((await api.socketRecv(s, ack, 1)) !== 1) throw new Error('no ack');
  const dt = performance.now() - t0;
  await api.socketClose(s);
  return total / 1e6 / (dt / 1000);
}

async function iotRtt(layer: IotSocketLayer, port: number, n: number): Promise<number> {
  const api = layer.api();
  const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
  if ((await api.socketConnect(s, LOOPBACK, 4, port)) !== 0) throw new Error('iot connect failed');
  const msg = new Uint8Array(RTT_BYTES).fill(0x62);
  const buf = new Uint8Array(RTT_BYTES);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await api.socketSend(s, msg, RTT_BYTES);
    let got = 0;
    while (got < RTT_BYTES) {
      const r = await api.socketRecv(s, buf.subarray(got), RTT_BYTES - got);
      if (r <= 0) throw new Error(`iot recv returned ${r}`);
      got += r;
    }
  }
  const dt = performance.now() - t0;
  await api.socketClose(s);
  return (dt * 1000) / n;
}

// ---- the idiomatic API over the host stack ------------------------------------------

async function apiBulk(network: Network, port: number, total: number): Promise<number> {
  const s = await network.connect({ host: '127.0.0.1', port });
  const chunk = new Uint8Array(CHUNK).fill(0x61);
  const t0 = performance.now();
  await s.write(lengthHeader(total));
  for (let sent = 0; sent < total; sent += CHUNK) await s.write(chunk);
  const ack = await s.read();
  if (ack === null) throw new Error('no ack');
  const dt = performance.now() - t0;
  s.destroy();
  return total / 1e6 / (dt / 1000);
}

async function apiRtt(network: Network, port: number, n: number): Promise<number> {
  const s = await network.connect({ host: '127.0.0.1', port });
  const msg = new Uint8Array(RTT_BYTES).fill(0x62);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await s.write(msg);
    let got = 0;
    while (got < RTT_BYTES) {
      const d = await s.read({ maxBytes: RTT_BYTES - got });
      if (d === null) throw new Error('eof');
      got += d.length;
    }
  }
  const dt = performance.now() - t0;
  s.destroy();
  return (dt * 1000) / n;
}

export async function runTcpBench(ports: { sink: number; echo: number }, opts: Options): Promise<Figure[]> {
  const total = (opts.quick ? 32 : 256) * 1024 * 1024;
  const rttN = opts.quick ? 1000 : 4000;
  const rounds = opts.quick ? 1 : 7;
  const backend = createHostBackend();
  const layer = new IotSocketLayer(backend);
  const network = new Network(createHostBackend());
  const res = { nc: [] as number[], nb: [] as number[], ib: [] as number[], ab: [] as number[], nr: [] as number[], ir: [] as number[], ar: [] as number[] };
  // Warm-up (JIT) before measuring.
  await nodeBulkWith(ports.sink, 8 * CHUNK, 'budget');
  await nodeBulkWith(ports.sink, 8 * CHUNK, 'callback');
  await iotBulk(layer, ports.sink, 8 * CHUNK);
  await apiBulk(network, ports.sink, 8 * CHUNK);
  await nodeRtt(ports.echo, 500);
  await iotRtt(layer, ports.echo, 500);
  await apiRtt(network, ports.echo, 500);
  // Each round runs every variant once, in a rotating order, after a full GC when the
  // runtime allows it (npm run bench passes --expose-gc): no variant always goes first.
  const gc = (globalThis as { gc?: () => void }).gc;
  const measure = async <T>(fn: () => Promise<T>): Promise<T> => {
    gc?.();
    return fn();
  };
  const bulk: (() => Promise<void>)[] = [
    async () => { res.nb.push(await measure(() => nodeBulkWith(ports.sink, total, 'budget'))); },
    async () => { res.nc.push(await measure(() => nodeBulkWith(ports.sink, total, 'callback'))); },
    async () => { res.ib.push(await measure(() => iotBulk(layer, ports.sink, total))); },
    async () => { res.ab.push(await measure(() => apiBulk(network, ports.sink, total))); },
  ];
  const rtt: (() => Promise<void>)[] = [
    async () => { res.nr.push(await measure(() => nodeRtt(ports.echo, rttN))); },
    async () => { res.ir.push(await measure(() => iotRtt(layer, ports.echo, rttN))); },
    async () => { res.ar.push(await measure(() => apiRtt(network, ports.echo, rttN))); },
  ];
  for (let r = 0; r < rounds; r++) {
    opts.progress(`tcp bulk ${total / 1048576} MiB x 4 variants, round ${r + 1}/${rounds}`);
    for (let i = 0; i < bulk.length; i++) await (bulk[(i + r) % bulk.length] as () => Promise<void>)();
  }
  for (let r = 0; r < rounds; r++) {
    opts.progress(`tcp rtt ${rttN} x ${RTT_BYTES} B x 3 variants, round ${r + 1}/${rounds}`);
    for (let i = 0; i < rtt.length; i++) await (rtt[(i + r) % rtt.length] as () => Promise<void>)();
  }
  opts.progress(`samples: ${JSON.stringify(Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.map((x) => Math.round(x))])))}`);
  await layer.closeAll();
  await network.close();
  // Ratios are paired: each round's figure over the baseline measured next to it in the
  // same round, then the median over rounds (drift in machine speed cancels out).
  const paired = (xs: number[], base: number[]): number => median(xs.map((x, i) => x / (base[i] as number)));
  return [
    { key: BULK_BASE, label: 'TCP bulk, raw node:net client to the worker-thread peer, 256 KiB queued + drain (host baseline)', value: median(res.nb), unit: 'MB/s' },
    { key: 'tcp_bulk_node_net_worker_peer_callback_mbps', label: 'TCP bulk, raw node:net client to the worker-thread peer, awaiting each write callback', value: median(res.nc), unit: 'MB/s', baseline: BULK_BASE, ratio: paired(res.nc, res.nb) },
    { key: 'tcp_bulk_iot_socket_host_mbps', label: 'TCP bulk, iotnet/iot-socket on host', value: median(res.ib), unit: 'MB/s', baseline: BULK_BASE, ratio: paired(res.ib, res.nb), goal: 'ratio >= 0.90' },
    { key: 'tcp_bulk_api_host_mbps', label: 'TCP bulk, idiomatic API on host', value: median(res.ab), unit: 'MB/s', baseline: BULK_BASE, ratio: paired(res.ab, res.nb), goal: 'ratio >= 0.90' },
    { key: RTT_BASE, label: 'TCP 32-byte echo RTT, raw node:net client to the worker-thread peer (host baseline)', value: median(res.nr), unit: 'us' },
    { key: 'tcp_rtt_iot_socket_host_us', label: 'TCP 32-byte echo RTT, iotnet/iot-socket on host', value: median(res.ir), unit: 'us', baseline: RTT_BASE, ratio: paired(res.ir, res.nr), goal: 'ratio <= 1.20' },
    { key: 'tcp_rtt_api_host_us', label: 'TCP 32-byte echo RTT, idiomatic API on host', value: median(res.ar), unit: 'us', baseline: RTT_BASE, ratio: paired(res.ar, res.nr), goal: 'ratio <= 1.20' },
  ];
}
