/**
 * TCP goodput over the serial links of issue 8 (`PppLink`, `SlipLink`), through the socket API
 * (`Network`), between two userspace stacks joined by `createBytePipe` (an in-memory UART pair).
 *
 * **Line rate (virtual time).** Both pipe ends run at the named baud rate; each direction is read
 * in chunks of 1-64 bytes (a UART FIFO) and a chunk arrives when its last byte has crossed the wire
 * at 10 bits per byte (8N1). On a `VirtualScheduler` the line model is the clock, so goodput =
 * payload bytes / virtual seconds from the first write until the receiver holds every byte, and
 * the ratio is over the raw line rate baud / 10. The CPU cost is invisible there (see below).
 * - PPP: `pppNet()` (test/support/ppp-net.ts): a dialling client and an answering server with
 *   CHAP, IPCP (10.64.0.2 <-> 10.64.0.1) and IPV6CP, negotiated MRU 1500 both ways, ACCM 0,
 *   ACFC and PFC (1 protocol byte, 2 FCS bytes, an opening and a closing flag per frame), TCP
 *   over IPv4.
 * - SLIP: the same stacks' set-up with a `SlipLink` on each end, MTU 1500 (like for like with
 *   PPP; SLIP's conventional default is 1006), 10.9.0.1 <-> 10.9.0.2.
 * - Upload = client -> server (the dialling device sends), download = server -> client; each on
 *   a fresh connection, 16 KiB writes of seeded random bytes (real data: about 2/256 of the bytes
 *   need an escape), checked by SHA-256 at the receiver. The `*_goodput_ratio_*` figure is the
 *   lower direction. ACKs run on the other direction of the full-duplex line.
 * - The progress line says where the line time went: payload per line byte (framing, escapes,
 *   TCP/IP headers), the forward line's idle time, frames sent, the ACK bytes on the reverse line,
 *   how often the pipe asked the link to wait, the frames the full link backlog refused (TCP
 *   retries them 2 ms later) and receive-queue drops.
 * - What limits it (see README.md, Benchmarks): about 0.954 payload per line byte for random data
 *   at MSS 1448 (1460 less the timestamp option), and at the end of each transfer about 40 ms of
 *   idle line (Nagle holds the last small segment until the delayed ACK of the one before).
 *
 * **CPU cost (real time).** The same PPP and SLIP set-ups on the system scheduler over a pipe with
 * no line rate and no chunking (each write crosses whole, one timer per write): the throughput
 * is mostly what the CPU allows for everything on one thread (both stacks, TCP/IP checksums,
 * framing and de-framing both ends, the pipe); the progress line gives the CPU seconds per second
 * and both links' multiple of the 921600 line rate. `ppp_pipe_realtime_mbps` is beside
 * `slip_pipe_realtime_mbps` (same harness, simpler framing). Upload direction, one connection per
 * link kept for the run after a warm-up, rounds alternating PPP and SLIP, medians and paired
 * ratios. The framing alone (encode + decode) is measured too: `ppp_hdlc_codec_mbps` beside
 * `slip_codec_mbps`.
 */
import { createHash } from 'node:crypto';
import { createUserspaceBackend } from '../src/backends/userspace/index.ts';
import { XorShiftRng } from '../src/base/rand.ts';
import { VirtualScheduler, type Scheduler } from '../src/base/time.ts';
import { createBytePipe, type BytePipeEnd, type BytePipeOptions } from '../src/link/byte-pipe.ts';
import { SlipLink } from '../src/link/slip-link.ts';
import type { StreamLinkStats } from '../src/link/stream-link.ts';
import { StackRunner } from '../src/runtime/stack-runner.ts';
import { systemScheduler } from '../src/runtime/system-scheduler.ts';
import { Network } from '../src/socket/network.ts';
import type { TcpSocket } from '../src/socket/tcp-socket.ts';
import { Stack } from '../src/stack/stack.ts';
import { HdlcDecoder, HdlcEncoder } from '../src/wire/ppp/hdlc.ts';
import { SlipDecoder, SlipEncoder } from '../src/wire/slip.ts';
import { pppNet, PPP_SERVER_IP } from '../test/support/ppp-net.ts';
import { pattern, resolveOn } from '../test/support/stack-net.ts';
import type { Figure } from './main.ts';

interface Options {
  quick: boolean;
  progress: (msg: string) => void;
}

type LinkKind = 'ppp' | 'slip';
type Direction = 'upload' | 'download';

const WRITE_CHUNK = 16 * 1024;
const SLIP_MTU = 1500;
const SLIP_CLIENT_IP = '10.9.0.1';
const SLIP_SERVER_IP = '10.9.0.2';
/** Real-time rounds, bytes per round and warm-up (full; quick: fewer and smaller). */
const RT_ROUNDS = 5;
const RT_BYTES = 16 * 1024 * 1024;
const RT_WARMUP = 4 * 1024 * 1024;
/**
 * Receive queue of both links in the real-time runs (default 64 packets). The unthrottled pipe
 * delivers each write on its own timer, so one timers phase can hand a link more packets than
 * the stack's next poll takes in; at 64, about one packet in 320 is dropped there and TCP's
 * loss recovery leaves the CPU idle a quarter of the time. With 1024 no packet is dropped.
 */
const RT_QUEUE_FRAMES = 1024;
/** Codec rounds and frames per round (1500-byte packets of random bytes). */
const CODEC_ROUNDS = 5;
const CODEC_FRAMES = 4000;

/** Payload per direction on the line: 256 KiB at 921600, 64 KiB at 115200 (about 2.8 and 5.7 s of line time); quick: an eighth. */
function linePayload(baud: number, quick: boolean): number {
  const full = baud >= 921_600 ? 256 * 1024 : 64 * 1024;
  return quick ? full / 8 : full;
}

/** Two stacks over a byte pipe, each side's `Network`, and how to wait on their promises. */
interface Rig {
  clock: Scheduler;
  /** Waits for `p`, driving virtual time when the rig runs on it. */
  run<T>(p: Promise<T>): Promise<T>;
  client: Network;
  server: Network;
  serverIp: string;
  /** Pipe ends: [client, server]. */
  ends: [BytePipeEnd, BytePipeEnd];
  /** Link counters: [client, server]. */
  links(): [StreamLinkStats, StreamLinkStats];
  close(): Promise<void>;
}

function pipe(scheduler: Scheduler, baud: number | undefined, seed: number): [BytePipeEnd, BytePipeEnd] {
  const o: BytePipeOptions =
    baud === undefined
      ? { scheduler }
      : {
          scheduler,
          baudRate: baud,
          a: { chunking: { rng: new XorShiftRng(seed + 50), min: 1, max: 64 } },
          b: { chunking: { rng: new XorShiftRng(seed + 60), min: 1, max: 64 } },
        };
  return createBytePipe(o);
}

function runner(clock: Scheduler): Rig['run'] {
  return clock instanceof VirtualScheduler ? (p) => resolveOn(clock, p, 3_600_000) : (p) => p;
}

async function pppRig(clock: Scheduler, baud: number | undefined, seed: number, queueFrames?: number): Promise<Rig> {
  const ends = pipe(clock, baud, seed);
  const link = queueFrames !== undefined ? { queueFrames } : {};
  const n = pppNet({ scheduler: clock, streams: ends, seed, client: link, server: link });
  const run = runner(clock);
  await run(n.up);
  return {
    clock,
    run,
    client: n.client.net,
    server: n.server.net,
    serverIp: PPP_SERVER_IP,
    ends,
    links: () => [n.client.link.stats(), n.server.link.stats()],
    close: () => run(n.close()),
  };
}

function slipHost(clock: Scheduler, link: SlipLink, address: string, peer: string, seed: number): { net: Network; runner: StackRunner } {
  const stack = new Stack({ rng: new XorShiftRng(seed), name: `slip-${address}` });
  stack.addInterface(link, { ipv4: { address, prefixLen: 32 }, gateway: peer });
  const runner = new StackRunner(stack, { scheduler: clock });
  const backend = createUserspaceBackend(stack, runner, { rng: new XorShiftRng(seed + 1) });
  return { net: new Network(backend, { scheduler: clock, rng: new XorShiftRng(seed + 2) }), runner };
}

function slipRig(clock: Scheduler, baud: number | undefined, seed: number, queueFrames?: number): Rig {
  const ends = pipe(clock, baud, seed);
  const o = { mtu: SLIP_MTU, ...(queueFrames !== undefined ? { queueFrames } : {}) };
  const links = [new SlipLink(ends[0], o), new SlipLink(ends[1], o)] as const;
  const client = slipHost(clock, links[0], SLIP_CLIENT_IP, SLIP_SERVER_IP, seed * 100 + 10);
  const server = slipHost(clock, links[1], SLIP_SERVER_IP, SLIP_CLIENT_IP, seed * 100 + 20);
  const run = runner(clock);
  return {
    clock,
    run,
    client: client.net,
    server: server.net,
    serverIp: SLIP_SERVER_IP,
    ends,
    links: () => [links[0].stats(), links[1].stats()],
    close: async () => {
      await run(Promise.all([client.net.close(), server.net.close()]));
      client.runner.close();
      server.runner.close();
      for (const l of links) l.close();
    },
  };
}

/** An open connection between the rig's client and server. */
interface Conn {
  client: TcpSocket;
  server: TcpSocket;
}

async function connect(rig: Rig, port: number): Promise<Conn> {
  const listener = await rig.run(rig.server.listen({ port }));
  const accepted = listener.accept();
  const client = await rig.run(rig.client.connect(`${rig.serverIp}:${port}`));
  const server = await rig.run(accepted);
  listener.close();
  return { client, server };
}

async function disconnect(rig: Rig, c: Conn): Promise<void> {
  await rig.run(Promise.all([c.client.close(), c.server.close()])).catch(() => undefined);
}

interface Transfer {
  /** Milliseconds (virtual or real) from the first write until the receiver had every byte. */
  ms: number;
  /** Bytes that crossed the forward line (sender to receiver) and the reverse one (ACKs) meanwhile. */
  lineFwd: number;
  lineRev: number;
  /** The sending link's counters meanwhile: frames sent, frames refused (backlog full: TCP retries 2 ms later), times the stream asked to wait. */
  frames: number;
  refused: number;
  blocked: number;
  /** Packets the receiving link dropped because its receive queue was full. */
  rxQueueFull: number;
  /** SHA-256 of what arrived (when asked to hash). */
  digest: string | undefined;
}

/** Sends `total` bytes of `data` (repeated) one way on `c`; the receiver reads until it has them all. */
async function transfer(rig: Rig, c: Conn, direction: Direction, data: Uint8Array, total: number, hash: boolean): Promise<Transfer> {
  const [from, to] = direction === 'upload' ? [c.client, c.server] : [c.server, c.client];
  // Line bytes as they arrive: [sender's end, receiver's end].
  const [fromEnd, toEnd] = direction === 'upload' ? rig.ends : [rig.ends[1], rig.ends[0]];
  // Link counters as [sender's link, receiver's link].
  const links = (): [StreamLinkStats, StreamLinkStats] => {
    const [a, b] = rig.links();
    return direction === 'upload' ? [a, b] : [b, a];
  };
  const fwd0 = toEnd.stats().rxBytes;
  const rev0 = fromEnd.stats().rxBytes;
  const [tx0, rx0] = links();
  let fwd1 = fwd0;
  let rev1 = rev0;
  const h = hash ? createHash('sha256') : undefined;
  const t0 = rig.clock.now();
  let tEnd = t0;
  const sink = (async (): Promise<number> => {
    let n = 0;
    while (n < total) {
      const chunk = await to.read();
      if (chunk === null) break;
      h?.update(chunk);
      n += chunk.length;
    }
    tEnd = rig.clock.now();
    fwd1 = toEnd.stats().rxBytes;
    rev1 = fromEnd.stats().rxBytes;
    return n;
  })();
  const source = (async (): Promise<void> => {
    for (let sent = 0; sent < total; ) {
      const off = sent % data.length;
      const n = Math.min(WRITE_CHUNK, total - sent, data.length - off);
      await from.write(data.subarray(off, off + n));
      sent += n;
    }
  })();
  const [got] = await rig.run(Promise.all([sink, source]));
  if (got !== total) throw new Error(`serial-links bench: ${direction} delivered ${got} of ${total} bytes`);
  const [tx1, rx1] = links();
  return {
    ms: tEnd - t0,
    lineFwd: fwd1 - fwd0,
    lineRev: rev1 - rev0,
    frames: tx1.txFrames - tx0.txFrames,
    refused: tx1.droppedBacklog - tx0.droppedBacklog,
    blocked: tx1.txBlocked - tx0.txBlocked,
    rxQueueFull: rx1.droppedQueueFull - rx0.droppedQueueFull,
    digest: h?.digest('hex'),
  };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const LABEL: Readonly<Record<LinkKind, string>> = { ppp: 'PPP', slip: 'SLIP (MTU 1500)' };

/** Both directions at `baud` on virtual time; returns B/s per direction and a progress note. */
async function lineRun(kind: LinkKind, baud: number, quick: boolean): Promise<{ rate: Record<Direction, number>; note: string }> {
  const started = performance.now();
  const seed = kind === 'ppp' ? 11 : 12;
  const clock = new VirtualScheduler();
  const rig = kind === 'ppp' ? await pppRig(clock, baud, seed) : slipRig(clock, baud, seed);
  const total = linePayload(baud, quick);
  const data = pattern(total, seed);
  const lineRate = baud / 10;
  const rate: Record<Direction, number> = { upload: 0, download: 0 };
  const notes: string[] = [];
  let port = 7000;
  for (const direction of ['upload', 'download'] as const) {
    const c = await connect(rig, port++);
    const t = await transfer(rig, c, direction, data, total, true);
    if (t.digest !== sha256(data)) throw new Error(`serial-links bench: ${kind} ${direction} at ${baud}: data differ`);
    await disconnect(rig, c);
    rate[direction] = total / (t.ms / 1000);
    const idleMs = t.ms - (t.lineFwd / lineRate) * 1000;
    notes.push(
      `${direction} ${(rate[direction] / lineRate).toFixed(3)} (${t.ms.toFixed(0)} ms; payload per line byte ${(total / t.lineFwd).toFixed(3)}, ` +
        `line idle ${idleMs.toFixed(0)} ms; ${t.frames} frames, ${(t.lineFwd / t.frames).toFixed(0)} line bytes each; ACK line ${t.lineRev} B; ` +
        `stream full ${t.blocked}x, frames refused ${t.refused}, rx queue drops ${t.rxQueueFull})`,
    );
  }
  await rig.close();
  const note = `${kind} ${baud}: ${total} B each way: ${notes.join(', ')}; ${((performance.now() - started) / 1000).toFixed(1)} s wall`;
  return { rate, note };
}

/** Median of a non-empty list. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** PPP and SLIP over an unthrottled pipe on real time, alternating per round: MB/s medians and the paired PPP/SLIP ratio. */
async function realtimeRuns(quick: boolean, progress: Options['progress']): Promise<{ ppp: number; slip: number; ratio: number }> {
  const rounds = quick ? 1 : RT_ROUNDS;
  const total = quick ? RT_BYTES / 8 : RT_BYTES;
  const data = pattern(1024 * 1024, 21);
  const rigs: Record<LinkKind, Rig> = {
    ppp: await pppRig(systemScheduler, undefined, 21, RT_QUEUE_FRAMES),
    slip: slipRig(systemScheduler, undefined, 22, RT_QUEUE_FRAMES),
  };
  const conns: Record<LinkKind, Conn> = { ppp: await connect(rigs.ppp, 7100), slip: await connect(rigs.slip, 7101) };
  const mbps: Record<LinkKind, number[]> = { ppp: [], slip: [] };
  const cpu: Record<LinkKind, number[]> = { ppp: [], slip: [] };
  const ratios: number[] = [];
  let losses = 0;
  try {
    for (const kind of ['ppp', 'slip'] as const) await transfer(rigs[kind], conns[kind], 'upload', data, quick ? RT_WARMUP / 8 : RT_WARMUP, false);
    for (let r = 0; r < rounds; r++) {
      const order: LinkKind[] = r % 2 === 0 ? ['ppp', 'slip'] : ['slip', 'ppp'];
      const round: Partial<Record<LinkKind, number>> = {};
      for (const kind of order) {
        (globalThis as { gc?: () => void }).gc?.();
        const c0 = process.cpuUsage();
        const t = await transfer(rigs[kind], conns[kind], 'upload', data, total, false);
        const c1 = process.cpuUsage(c0);
        losses += t.rxQueueFull + t.refused;
        const v = total / 1e6 / (t.ms / 1000);
        round[kind] = v;
        mbps[kind].push(v);
        cpu[kind].push((c1.user + c1.system) / 1000 / t.ms);
      }
      ratios.push((round.ppp as number) / (round.slip as number));
    }
  } finally {
    for (const kind of ['ppp', 'slip'] as const) {
      await disconnect(rigs[kind], conns[kind]);
      await rigs[kind].close();
    }
  }
  const ppp = median(mbps.ppp);
  const slip = median(mbps.slip);
  const line = 921_600 / 10 / 1e6;
  progress(
    `serial realtime (unthrottled pipe, upload, ${total} B x ${rounds}): PPP ${mbps.ppp.map((v) => v.toFixed(1)).join('/')} MB/s ` +
      `(${(ppp / line).toFixed(0)}x the 921600 line), SLIP ${mbps.slip.map((v) => v.toFixed(1)).join('/')} MB/s (${(slip / line).toFixed(0)}x); ` +
      `CPU per wall second PPP ${median(cpu.ppp).toFixed(2)}, SLIP ${median(cpu.slip).toFixed(2)}; packets dropped or refused by the links ${losses}`,
  );
  return { ppp, slip, ratio: median(ratios) };
}

/**
 * The framing alone: `CODEC_FRAMES` IPv4-sized packets of random bytes encoded and decoded again
 * (HDLC with ACCM 0 and FCS-16 both ways, as `PppLink` does with PFC/ACFC; SLIP beside it), per
 * round in alternating order; MB/s of packet bytes, medians and the paired PPP/SLIP ratio.
 */
function codecRuns(quick: boolean): { ppp: number; slip: number; ratio: number } {
  const packets = Array.from({ length: 16 }, (_, i) => pattern(1500, 31 + i));
  const frames = packets.map((p) => Uint8Array.of(0x21, ...p)); // PPP protocol 0x0021 (IPv4) with PFC
  const frameCount = quick ? CODEC_FRAMES / 8 : CODEC_FRAMES;
  let got = 0;
  const hdlcEnc = new HdlcEncoder({ accm: 0 });
  const hdlcDec = new HdlcDecoder((f) => (got += f.length - 1), { accm: 0 });
  const slipEnc = new SlipEncoder();
  const slipDec = new SlipDecoder((p) => (got += p.length), { maxPacket: 1500 });
  const once: Record<LinkKind, () => void> = {
    ppp: () => {
      for (let i = 0; i < frameCount; i++) hdlcDec.push(hdlcEnc.encode(frames[i & 15] as Uint8Array));
    },
    slip: () => {
      for (let i = 0; i < frameCount; i++) slipDec.push(slipEnc.encode(packets[i & 15] as Uint8Array));
    },
  };
  const mbps: Record<LinkKind, number[]> = { ppp: [], slip: [] };
  const ratios: number[] = [];
  for (const kind of ['ppp', 'slip'] as const) once[kind](); // warm-up
  for (let r = 0; r < (quick ? 1 : CODEC_ROUNDS); r++) {
    const order: LinkKind[] = r % 2 === 0 ? ['ppp', 'slip'] : ['slip', 'ppp'];
    for (const kind of order) {
      got = 0;
      const t0 = performance.now();
      once[kind]();
      const ms = performance.now() - t0;
      if (got !== frameCount * 1500) throw new Error(`serial-links bench: ${kind} codec decoded ${got} bytes, not ${frameCount * 1500}`);
      mbps[kind].push(got / 1e3 / ms);
    }
    ratios.push((mbps.ppp[r] as number) / (mbps.slip[r] as number));
  }
  return { ppp: median(mbps.ppp), slip: median(mbps.slip), ratio: median(ratios) };
}

export async function runSerialBench(opts: Options): Promise<Figure[]> {
  const figures: Figure[] = [];
  const lineKey = (baud: number): string => `serial_line_rate_${baud}`;
  for (const baud of [921_600, 115_200]) {
    figures.push({ key: lineKey(baud), label: `Raw line rate at ${baud} baud, 8N1 (baud / 10)`, value: baud / 10, unit: 'B/s' });
  }
  const runs: { kind: LinkKind; baud: number }[] = [
    { kind: 'ppp', baud: 921_600 },
    { kind: 'ppp', baud: 115_200 },
    { kind: 'slip', baud: 921_600 },
  ];
  for (const { kind, baud } of runs) {
    const { rate, note } = await lineRun(kind, baud, opts.quick);
    opts.progress(note);
    if (kind === 'ppp' && baud === 921_600) {
      for (const direction of ['upload', 'download'] as const) {
        figures.push({
          key: `ppp_${direction}_${baud}`,
          label: `PPP ${direction === 'upload' ? 'client -> server' : 'server -> client'} TCP goodput at ${baud} baud`,
          value: rate[direction],
          unit: 'B/s',
          baseline: lineKey(baud),
        });
      }
    }
    figures.push({
      key: `${kind}_goodput_ratio_${baud}`,
      label: `${LABEL[kind]} TCP goodput at ${baud} baud, lower of upload and download, over the line rate`,
      value: Math.min(rate.upload, rate.download),
      unit: 'B/s',
      baseline: lineKey(baud),
      ...(kind === 'ppp' && baud === 921_600 ? { goal: 'ratio >= 0.9' } : {}),
    });
  }
  const codec = codecRuns(opts.quick);
  const line = 921_600 / 10 / 1e6;
  opts.progress(`serial codecs (encode + decode, 1500-byte packets): HDLC ${codec.ppp.toFixed(1)} MB/s (${(codec.ppp / line).toFixed(0)}x the 921600 line), SLIP ${codec.slip.toFixed(1)} MB/s`);
  figures.push(
    { key: 'slip_codec_mbps', label: 'SLIP encode + decode, 1500-byte random packets', value: codec.slip, unit: 'MB/s' },
    { key: 'ppp_hdlc_codec_mbps', label: 'PPP HDLC encode + decode with FCS-16, ACCM 0, 1500-byte random packets', value: codec.ppp, unit: 'MB/s', baseline: 'slip_codec_mbps', ratio: codec.ratio },
  );
  const rt = await realtimeRuns(opts.quick, opts.progress);
  figures.push(
    { key: 'slip_pipe_realtime_mbps', label: 'SLIP TCP goodput over an unthrottled byte pipe, real time', value: rt.slip, unit: 'MB/s' },
    {
      key: 'ppp_pipe_realtime_mbps',
      label: 'PPP TCP goodput over an unthrottled byte pipe, real time',
      value: rt.ppp,
      unit: 'MB/s',
      baseline: 'slip_pipe_realtime_mbps',
      ratio: rt.ratio,
    },
  );
  return figures;
}
