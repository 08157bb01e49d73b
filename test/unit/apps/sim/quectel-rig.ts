/**
 * Test rig for the Quectel simulator: a userspace network of two hosts on a virtual cable
 * (the module's network on 10.0.0.1, a peer on 10.0.0.2 with a DNS server), a byte pipe whose
 * module end the simulator drives, and helpers to type commands and read the module's bytes,
 * all on one `VirtualScheduler`.
 */
import assert from 'node:assert/strict';
import { startDnsServer } from '../../../../src/apps/dns-server/index.ts';
import { QuectelSim, type QuectelSimOptions } from '../../../../src/apps/sim/quectel/quectel-sim.ts';
import { createUserspaceBackend } from '../../../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import type { VirtualScheduler } from '../../../../src/base/time.ts';
import { createBytePipe, type BytePipeEnd, type BytePipeOptions } from '../../../../src/link/byte-pipe.ts';
import { Network } from '../../../../src/socket/network.ts';
import type { TcpSocket } from '../../../../src/socket/tcp-socket.ts';
import { twoHosts } from '../../../support/stack-net.ts';

export const PEER = '10.0.0.2';
export const MODULE_IP = '10.0.0.1';

const ZONE = { origin: 'iot.test', records: [{ name: 'peer', type: 'A' as const, data: PEER }] };

/** Bytes to latin1 text. */
export function text(bytes: Uint8Array | number[]): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Latin1 text to bytes. */
export function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

export interface Rig {
  sched: VirtualScheduler;
  sim: QuectelSim;
  host: BytePipeEnd;
  /** The peer host's network (servers, clients). */
  peerNet: Network;
  /** The module's network. */
  moduleNet: Network;
  /** Everything received from the module since the last `take`, as latin1, and clears it. */
  take(): string;
  /** What was received since the last `take`, without clearing. */
  peek(): string;
  /** Types `s` (latin1) to the module. */
  send(s: string | Uint8Array): void;
  /** Runs virtual time (and promise continuations) for `ms`. */
  run(ms?: number): Promise<void>;
  /** Runs until `pred()` holds (fails after `maxMs` of virtual time). */
  until(pred: () => boolean, maxMs?: number): Promise<void>;
  /** Runs until the received text contains `s`, then takes everything. */
  expect(s: string, maxMs?: number): Promise<string>;
  /**
   * `AT+QISEND=<id>,<len>`: waits for the prompt, types `data`, returns what followed it up to
   * `SEND OK` / `SEND FAIL` / `ERROR`.
   */
  qisend(id: number, data: string): Promise<string>;
  /** Reads from a peer socket until `n` bytes (latin1) came or it ended. */
  readText(socket: TcpSocket, n: number): Promise<string>;
  /** Drives virtual time until `p` settles; its value (rejections are rethrown). */
  resolve<T>(p: Promise<T>, maxMs?: number): Promise<T>;
  /** Powers on and waits for registration; takes the boot output. Echo is left on. */
  boot(): Promise<string>;
  /** Sends `cmd\r` and waits for a final (`OK`/`ERROR`/`+CME ERROR`), returning what came (echo included). */
  at(cmd: string, maxMs?: number): Promise<string>;
  close(): Promise<void>;
}

export interface RigOptions {
  sim?: Partial<Omit<QuectelSimOptions, 'stream' | 'scheduler' | 'network' | 'rng'>>;
  pipe?: Partial<Omit<BytePipeOptions, 'scheduler'>>;
  seed?: number;
  dns?: boolean;
}

async function tick(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

export async function makeRig(options: RigOptions = {}): Promise<Rig> {
  const { sched, A, B } = twoHosts();
  const seed = options.seed ?? 1;
  const ba = createUserspaceBackend(A.stack, A.runner, { rng: new XorShiftRng(seed + 10), dns: { servers: [PEER] } });
  const bb = createUserspaceBackend(B.stack, B.runner, { rng: new XorShiftRng(seed + 20) });
  const moduleNet = new Network(ba, { scheduler: sched, rng: new XorShiftRng(seed + 30) });
  const peerNet = new Network(bb, { scheduler: sched, rng: new XorShiftRng(seed + 40) });
  const [host, moduleEnd] = createBytePipe({ scheduler: sched, ...options.pipe });
  const sim = new QuectelSim({
    stream: moduleEnd,
    scheduler: sched,
    network: moduleNet,
    rng: new XorShiftRng(seed),
    ...options.sim,
  });
  let rx: number[] = [];
  host.onData((b) => {
    for (const x of b) rx.push(x);
  });
  const run = async (ms = 0): Promise<void> => {
    const end = sched.now() + ms;
    for (let i = 0; i < 100_000; i++) {
      await tick();
      const next = sched.nextDeadline();
      if (next === undefined || next > end) break;
      sched.advanceTo(next);
    }
    sched.advanceTo(end);
    await tick();
  };
  const until = async (pred: () => boolean, maxMs = 200_000): Promise<void> => {
    const end = sched.now() + maxMs;
    for (let i = 0; i < 200_000; i++) {
      await tick();
      if (pred()) return;
      const next = sched.nextDeadline();
      if (next === undefined || next > end) break;
      sched.advanceTo(next);
    }
    await tick();
    assert.ok(pred(), `condition not reached; received so far: ${JSON.stringify(text(rx))}`);
  };
  const take = (): string => {
    const s = text(rx);
    rx = [];
    return s;
  };
  const peek = (): string => text(rx);
  const rig: Rig = {
    sched,
    sim,
    host,
    peerNet,
    moduleNet,
    take,
    peek,
    send: (s) => {
      host.write(typeof s === 'string' ? bytes(s) : s);
    },
    run,
    until,
    expect: async (s, maxMs) => {
      await until(() => peek().includes(s), maxMs);
      return take();
    },
    resolve: async <T>(p: Promise<T>, maxMs?: number): Promise<T> => {
      let settled = false;
      const wrapped = p.finally(() => {
        settled = true;
      });
      wrapped.catch(() => undefined);
      await until(() => settled, maxMs);
      return wrapped;
    },
    qisend: async (id, data) => {
      rig.send(`AT+QISEND=${id},${data.length}\r`);
      await until(() => peek().includes('> '));
      take();
      rig.send(data);
      await until(() => /(SEND OK|SEND FAIL|ERROR)\r\n$/.test(peek()));
      return take();
    },
    readText: async (socket, n) => {
      let got = '';
      while (got.length < n) {
        const c = await rig.resolve(socket.read());
        if (c === null) break;
        got += text(c);
      }
      return got;
    },
    boot: async () => {
      sim.powerOn();
      await until(() => sim.net.registered && peek().includes('PB DONE'), 60_000);
      await run(10);
      return take();
    },
    at: async (cmd, maxMs) => {
      rig.send(`${cmd}\r`);
      await until(() => /\r\n(OK|ERROR|\+CME ERROR: [^\r]*)\r\n$/.test(peek()), maxMs);
      return take();
    },
    close: async () => {
      sim.close();
      await moduleNet.close();
      await peerNet.close();
      host.close();
    },
  };
  if (options.dns === true) {
    let started = false;
    void startDnsServer(peerNet, { port: 53, zones: [ZONE] }).then(() => {
      started = true;
    });
    await until(() => started, 5000);
  }
  return rig;
}

/** A rig booted and registered, echo off, context 1 active. */
export async function online(options: RigOptions = {}): Promise<Rig> {
  const rig = await makeRig(options);
  await rig.boot();
  await rig.at('ATE0');
  assert.equal(await rig.at('AT+QIACT=1'), '\r\nOK\r\n');
  return rig;
}
