/**
 * The first demo (`npm start`, `iotnet demo`): the host stack talking to the reference
 * test server through both API styles.
 *
 * 1. starts the reference test server (echo, discard, daytime, chargen, time, control)
 *    on the host stack, on loopback, at a free port offset;
 * 2. registers the host stack with the IoT Socket mux and runs a short IoT Socket
 *    session: name lookup, TCP echo, UDP echo, daytime, a non-blocking connect;
 * 3. runs the idiomatic API and its Node `Duplex` adapter: a `stream.pipeline` through
 *    the echo service, and chargen read by async iteration;
 * 4. reports each step through `report` and resolves to a summary (it never writes to
 *    the console itself).
 */
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { startSockServer } from '../sockserver/index.ts';
import { createHostBackend } from '../../backends/host/index.ts';
import {
  IOT_SOCKET_AF_INET, IOT_SOCKET_EALREADY, IOT_SOCKET_EINPROGRESS, IOT_SOCKET_EISCONN, IOT_SOCKET_IO_FIONBIO,
  IOT_SOCKET_SOCK_DGRAM, IOT_SOCKET_SOCK_STREAM, IOT_SOCKET_SO_RCVTIMEO, iotCodeName,
} from '../../base/iot-constants.ts';
import { formatIp } from '../../base/ip-address.ts';
import { IotSocketMux } from '../../socket/iot-socket-mux.ts';
import { IotSocketLayer } from '../../socket/iot-socket-layer.ts';
import { randomInt } from '../../base/rand.ts';
import { CryptoRng } from '../../runtime/crypto-rng.ts';
import { systemScheduler } from '../../runtime/system-scheduler.ts';
import { Network } from '../../socket/network.ts';

/** One line of progress. */
export interface DemoStep {
  readonly ok: boolean;
  readonly title: string;
  readonly detail: string;
}

export interface DemoResult {
  readonly steps: readonly DemoStep[];
  readonly ok: boolean;
}

export interface DemoOptions {
  /** Called once per finished step. */
  report?: (step: DemoStep) => void;
  /** Port offset of the test server (default: a random free range). */
  portOffset?: number;
}

const LOOPBACK = new Uint8Array([127, 0, 0, 1]);
const enc = new TextEncoder();
const dec = new TextDecoder();

function opt(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

/** Runs the demo; resolves with every step (never rejects for a failed step). */
export async function runHostDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const steps: DemoStep[] = [];
  const step = (ok: boolean, title: string, detail: string): void => {
    const s = { ok, title, detail };
    steps.push(s);
    options.report?.(s);
  };
  const rng = new CryptoRng();
  const serverNet = new Network(createHostBackend());
  let server: Awaited<ReturnType<typeof startSockServer>> | undefined;
  for (let attempt = 0; server === undefined && attempt < 5; attempt++) {
    const offset = options.portOffset ?? 20000 + 100 * randomInt(rng, 0, 199);
    try {
      server = await startSockServer(serverNet, { portOffset: offset });
    } catch (e) {
      if (options.portOffset !== undefined || attempt === 4) {
        step(false, 'test server', `could not start: ${(e as Error).message}`);
        await serverNet.close();
        return { steps, ok: false };
      }
    }
  }
  if (server === undefined) return { steps, ok: false };
  const ports = server.ports;
  step(true, 'test server', `${server.listeners.length} listeners on loopback (echo ${ports.echo}, chargen ${ports.chargen}, control ${ports.control})`);

  // ---- IoT Socket API -------------------------------------------------------
  const layer = new IotSocketLayer(createHostBackend());
  const mux = new IotSocketMux();
  mux.register(layer.api());
  const api = mux;
  try {
    const ip = new Uint8Array(4), ipLen = { value: 4 };
    const rc = await api.socketGetHostByName('localhost', IOT_SOCKET_AF_INET, ip, ipLen);
    step(rc === 0, 'iotSocketGetHostByName', rc === 0 ? `localhost -> ${formatIp(ip)}` : `failed: ${iotCodeName(rc)}`);

    const s = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
    let r = await api.socketConnect(s, LOOPBACK, 4, ports.echo);
    const msg = enc.encode('The quick brown fox jumps over the lazy dog.');
    if (r === 0) r = await api.socketSend(s, msg, msg.length);
    const back = new Uint8Array(64);
    let got = 0;
    while (r >= 0 && got < msg.length) {
      r = await api.socketRecv(s, back.subarray(got), back.length - got);
      if (r > 0) got += r;
    }
    const echoed = dec.decode(back.subarray(0, got));
    step(echoed === dec.decode(msg), 'TCP echo (IoT Socket)', `socket ${s}: sent ${msg.length} bytes, got "${echoed}"`);
    await api.socketClose(s);

    const u = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_DGRAM, 0);
    await api.socketSetOpt(u, IOT_SOCKET_SO_RCVTIMEO, opt(2000), 4);
    await api.socketSendTo(u, msg, msg.length, LOOPBACK, 4, ports.echo);
    const fromIp = new Uint8Array(4), fromPort = { value: 0 };
    const n = await api.socketRecvFrom(u, back, back.length, fromIp, { value: 4 }, fromPort);
    step(n === msg.length, 'UDP echo (IoT Socket)', n >= 0 ? `${n} bytes back from ${formatIp(fromIp)}:${fromPort.value}` : `failed: ${iotCodeName(n)}`);
    await api.socketClose(u);

    const d = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
    await api.socketConnect(d, LOOPBACK, 4, ports.daytime);
    const dayBuf = new Uint8Array(64);
    let dayLen = 0, dr = 0;
    while ((dr = await api.socketRecv(d, dayBuf.subarray(dayLen), dayBuf.length - dayLen)) > 0) dayLen += dr;
    const day = dec.decode(dayBuf.subarray(0, dayLen)).trim();
    step(dayLen > 0, 'daytime (IoT Socket)', `"${day}", then ${iotCodeName(dr)} once the server closed`);
    await api.socketClose(d);

    const nb = await api.socketCreate(IOT_SOCKET_AF_INET, IOT_SOCKET_SOCK_STREAM, 0);
    await api.socketSetOpt(nb, IOT_SOCKET_IO_FIONBIO, opt(1), 4);
    const seq: string[] = [];
    let c = await api.socketConnect(nb, LOOPBACK, 4, ports.discard);
    seq.push(iotCodeName(c));
    const t0 = systemScheduler.now();
    while ((c === IOT_SOCKET_EINPROGRESS || c === IOT_SOCKET_EALREADY) && systemScheduler.now() - t0 < 3000) {
      await new Promise<void>((res) => systemScheduler.setTimer(1, res));
      c = await api.socketConnect(nb, LOOPBACK, 4, ports.discard);
      if (seq.at(-1) !== iotCodeName(c)) seq.push(iotCodeName(c));
    }
    step(c === IOT_SOCKET_EISCONN, 'non-blocking connect (IoT Socket)', seq.join(' -> '));
    await api.socketClose(nb);
  } finally {
    await layer.closeAll();
  }

  // ---- Idiomatic API and the Duplex adapter -----------------------------------
  const net = new Network(createHostBackend());
  try {
    const sock = await net.connect({ host: '127.0.0.1', port: ports.echo });
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
    step(text === lines.join(''), 'stream.pipeline through the echo service (Duplex)', `${text.length} bytes round trip`);

    const cg = await net.connect({ host: '127.0.0.1', port: ports.chargenRfc });
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
    step(false, 'idiomatic API', (e as Error).message);
  } finally {
    await net.close();
    await server.close();
    await serverNet.close();
  }
  return { steps, ok: steps.every((s) => s.ok) };
}
