/**
 * The client half of the demos (`iotnet demo`), shared by the host-stack demo
 * (host-demo.ts) and the embedded virtual-network demo (embedded-demo.ts): the same
 * session against the reference test server, whatever stack carries it.
 *
 * - `runIotSocketSteps`: the IoT Socket API through the process-wide mux (the caller
 *   registers its table with `iotSocketRegisterApi` first): name lookup, TCP echo,
 *   UDP echo, daytime, a non-blocking connect;
 * - `runIdiomaticSteps`: the idiomatic API over a `Network`: a `stream.pipeline`
 *   through the echo service over the Node `Duplex` adapter, chargen read by async
 *   iteration, and a timed bulk transfer through the echo service (the stack's real
 *   throughput, SHA-256 checked).
 *
 * Each finished step goes to a `StepSink`; nothing is written to the console here, and
 * a failed step never throws: the next one still runs.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import type { SockServerPorts } from '../sockserver/index.ts';
import {
  IOT_SOCKET_AF_INET, IOT_SOCKET_EALREADY, IOT_SOCKET_EINPROGRESS, IOT_SOCKET_EISCONN, IOT_SOCKET_IO_FIONBIO,
  IOT_SOCKET_SOCK_DGRAM, IOT_SOCKET_SOCK_STREAM, IOT_SOCKET_SO_RCVTIMEO, iotCodeName,
} from '../../base/iot-constants.ts';
import { formatIp } from '../../base/ip-address.ts';
import {
  iotSocketClose, iotSocketConnect, iotSocketCreate, iotSocketGetHostByName, iotSocketRecv, iotSocketRecvFrom, iotSocketSend,
  iotSocketSendTo, iotSocketSetOpt,
} from '../../socket/iot-socket.ts';
import type { Network } from '../../socket/network.ts';
import { systemScheduler } from '../../runtime/system-scheduler.ts';

/** One line of progress. */
export interface DemoStep {
  readonly ok: boolean;
  readonly title: string;
  readonly detail: string;
}

/** What a demo resolves to. */
export interface DemoResult {
  readonly steps: readonly DemoStep[];
  readonly ok: boolean;
}

/** Records a finished step. */
export type StepSink = (ok: boolean, title: string, detail: string) => void;

/** A step list and its sink, which also forwards each step to `report`. */
export function stepRecorder(report?: (step: DemoStep) => void): { steps: DemoStep[]; step: StepSink; result(): DemoResult } {
  const steps: DemoStep[] = [];
  const step: StepSink = (ok, title, detail) => {
    const s = { ok, title, detail };
    steps.push(s);
    report?.(s);
  };
  return { steps, step, result: () => ({ steps, ok: steps.length > 0 && steps.every((s) => s.ok) }) };
}

/** The test server as the client sees it. */
export interface ClientTarget {
  /** Name looked up with `iotSocketGetHostByName` (e.g. `localhost`, `sockserver.iot.test`). */
  readonly name: string;
  /** The address the lookup must give (checked when set). */
  readonly expectedIp?: string | undefined;
  /** The test server's IPv4 address, used when the lookup fails so the session still runs. */
  readonly fallbackIp: Uint8Array;
  /** Appended to the lookup step's detail (e.g. which DNS server answered). */
  readonly lookupNote?: (() => string) | undefined;
  /** Host (name or literal) for the idiomatic API's connects. */
  readonly connectHost: string;
  /** The test server's ports. */
  readonly ports: SockServerPorts;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const MESSAGE = 'The quick brown fox jumps over the lazy dog.';

function opt(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The IoT Socket session, through the `iotSocket*` functions: the table registered with
 * `iotSocketRegisterApi` carries it. Resolves with the server address used.
 */
export async function runIotSocketSteps(step: StepSink, target: ClientTarget): Promise<Uint8Array> {
  const { ports } = target;
  const found = new Uint8Array(4), foundLen = { value: 4 };
  const rc = await iotSocketGetHostByName(target.name, IOT_SOCKET_AF_INET, found, foundLen);
  const ipText = rc === 0 ? formatIp(found.subarray(0, foundLen.value)) : '';
  const lookupOk = rc === 0 && (target.expectedIp === undefined || ipText === target.expectedIp);
  const note = target.lookupNote?.() ?? '';
  step(lookupOk, 'iotSocketGetHostByName',
    rc === 0 ? `${target.name} -> ${ipText}${note !== '' ? ` ${note}` : ''}${lookupOk ? '' : ` (expected ${target.expectedIp ?? ''})`}`
      : `${target.name}: failed: ${iotCodeName(rc)}; going on with ${formatIp(target.fallbackIp)}`);
  const ip = lookupOk ? found.slice(0, 4) : target.fallbackIp;
  const where = formatIp(ip);

  const msg = enc.encode(MESSAGE);
  const back = new Uint8Array(64);

  const s = await iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
  if (s < 0) {
    step(false, 'TCP echo (IoT Socket)', `iotSocketCreate: ${iotCodeName(s)}`);
  } else {
    let r = await iotSocketConnect(s, ip, 4, ports.echo);
    if (r === 0) r = await iotSocketSend(s, msg, msg.length);
    let got = 0;
    while (r >= 0 && got < msg.length) {
      r = await iotSocketRecv(s, back.subarray(got), back.length - got);
      if (r > 0) got += r;
    }
    const echoed = dec.decode(back.subarray(0, got));
    step(echoed === MESSAGE, 'TCP echo (IoT Socket)',
      r < 0 && got === 0 ? `socket ${s} to ${where}:${ports.echo}: ${iotCodeName(r)}` : `socket ${s}: sent ${msg.length} bytes, got "${echoed}"`);
    await iotSocketClose(s);
  }

  const u = await iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_DGRAM, 0);
  if (u < 0) {
    step(false, 'UDP echo (IoT Socket)', `iotSocketCreate: ${iotCodeName(u)}`);
  } else {
    await iotSocketSetOpt(u, IOT_SOCKET_SO_RCVTIMEO, opt(2000), 4);
    const sent = await iotSocketSendTo(u, msg, msg.length, ip, 4, ports.echo);
    const fromIp = new Uint8Array(4), fromPort = { value: 0 };
    const n = sent < 0 ? sent : await iotSocketRecvFrom(u, back, back.length, fromIp, { value: 4 }, fromPort);
    step(n === msg.length && dec.decode(back.subarray(0, n)) === MESSAGE, 'UDP echo (IoT Socket)',
      n >= 0 ? `${n} bytes back from ${formatIp(fromIp)}:${fromPort.value}` : `failed: ${iotCodeName(n)}`);
    await iotSocketClose(u);
  }

  const d = await iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
  if (d < 0) {
    step(false, 'daytime (IoT Socket)', `iotSocketCreate: ${iotCodeName(d)}`);
  } else {
    const c = await iotSocketConnect(d, ip, 4, ports.daytime);
    const dayBuf = new Uint8Array(64);
    let dayLen = 0, dr = c;
    if (c === 0) while ((dr = await iotSocketRecv(d, dayBuf.subarray(dayLen), dayBuf.length - dayLen)) > 0) dayLen += dr;
    const day = dec.decode(dayBuf.subarray(0, dayLen)).trim();
    step(dayLen > 0, 'daytime (IoT Socket)', c === 0 ? `"${day}", then ${iotCodeName(dr)} once the server closed` : `connect: ${iotCodeName(c)}`);
    await iotSocketClose(d);
  }

  const nb = await iotSocketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
  if (nb < 0) {
    step(false, 'non-blocking connect (IoT Socket)', `iotSocketCreate: ${iotCodeName(nb)}`);
  } else {
    await iotSocketSetOpt(nb, IOT_SOCKET_IO_FIONBIO, opt(1), 4);
    const seq: string[] = [];
    let c = await iotSocketConnect(nb, ip, 4, ports.discard);
    seq.push(iotCodeName(c));
    const t0 = systemScheduler.now();
    while ((c === IOT_SOCKET_EINPROGRESS || c === IOT_SOCKET_EALREADY) && systemScheduler.now() - t0 < 3000) {
      await new Promise<void>((res) => systemScheduler.setTimer(1, res));
      c = await iotSocketConnect(nb, ip, 4, ports.discard);
      if (seq.at(-1) !== iotCodeName(c)) seq.push(iotCodeName(c));
    }
    step(c === IOT_SOCKET_EISCONN, 'non-blocking connect (IoT Socket)', seq.join(' -> '));
    await iotSocketClose(nb);
  }
  return ip;
}

/** Options of `runIdiomaticSteps`. */
export interface IdiomaticStepOptions {
  /** Bytes sent through the echo service and read back in the bulk step (default 32 MiB). */
  readonly bulkBytes?: number;
}

/** The idiomatic API and its `Duplex` adapter over `net`. Closes what it opened, not `net`. */
export async function runIdiomaticSteps(step: StepSink, net: Network, target: ClientTarget, options: IdiomaticStepOptions = {}): Promise<void> {
  const { ports, connectHost } = target;
  try {
    const sock = await net.connect({ host: connectHost, port: ports.echo }, { timeoutMs: 5000 });
    const duplex = sock.toDuplex();
    const lines = ['hello over a Duplex\n', 'back-pressure and half-close\n', 'work with node:stream\n'];
    const chunks: Buffer[] = [];
    await Promise.all([
      pipeline(Readable.from(lines.map((l) => Buffer.from(l))), duplex),
      pipeline(duplex, new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          if (Buffer.concat(chunks).length >= lines.join('').length) duplex.destroy();
          cb();
        },
      })).catch(() => undefined),
    ]);
    const text = Buffer.concat(chunks).toString();
    step(text === lines.join(''), 'stream.pipeline through the echo service (Duplex)', `${text.length} bytes round trip with ${connectHost}:${ports.echo}`);
  } catch (e) {
    step(false, 'stream.pipeline through the echo service (Duplex)', errorText(e));
  }

  try {
    const cg = await net.connect({ host: connectHost, port: ports.chargenRfc }, { timeoutMs: 5000 });
    let total = 0;
    let first = '';
    for await (const chunk of cg) {
      if (first === '') first = dec.decode(chunk.subarray(0, 72));
      total += chunk.length;
      if (total >= 64 * 1024) break;
    }
    cg.destroy();
    step(total >= 64 * 1024, 'chargen by async iteration (idiomatic API)', `${total} bytes; first line "${first.slice(0, 24)}..."`);
  } catch (e) {
    step(false, 'chargen by async iteration (idiomatic API)', errorText(e));
  }

  const bulk = options.bulkBytes ?? 32 * 1024 * 1024;
  try {
    step(...await bulkEcho(net, connectHost, ports.echo, bulk));
  } catch (e) {
    step(false, 'TCP bulk through the echo service (idiomatic API)', errorText(e));
  }
}

/**
 * Writes `total` bytes (a pattern, 64 KiB writes) to the echo service while reading
 * them back, compares SHA-256 of both, and times it: the stack's real throughput.
 */
async function bulkEcho(net: Network, host: string, port: number, total: number): Promise<[boolean, string, string]> {
  const title = 'TCP bulk through the echo service (idiomatic API)';
  // Printable bytes only: a chunk starting with ESC (0x1b) ends an echo session (SockServer).
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = 0x20 + ((i * 7 + (i >>> 10)) % 95);
  const sent = createHash('sha256');
  const got = createHash('sha256');
  const sock = await net.connect({ host, port }, { timeoutMs: 5000 });
  try {
    const t0 = systemScheduler.now();
    const writer = (async () => {
      for (let off = 0; off < total; off += chunk.length) {
        const part = total - off >= chunk.length ? chunk : chunk.subarray(0, total - off);
        sent.update(part);
        await sock.write(part);
      }
    })();
    let received = 0;
    try {
      while (received < total) {
        const data = await sock.read({ timeoutMs: 10_000 });
        if (data === null) break;
        got.update(data);
        received += data.length;
      }
    } finally {
      if (received < total) sock.destroy();
      await writer.catch(() => undefined);
    }
    await writer;
    const ms = systemScheduler.now() - t0;
    const same = received === total && sent.digest('hex') === got.digest('hex');
    const mb = total / 1e6;
    return [same, title, `${(total / 1048576).toFixed(0)} MiB there and back in ${ms.toFixed(0)} ms (${(mb / (ms / 1000)).toFixed(0)} MB/s each way), `
      + (same ? 'SHA-256 equal' : `${received} bytes back, ${received === total ? 'SHA-256 differs' : 'short'}`)];
  } finally {
    await sock.close();
  }
}
