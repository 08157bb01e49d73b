/**
 * Payload goodput through the AT module drivers (issue 7): the ESP-AT driver against `EspAtSim`
 * (dialect ESP-AT v2) and the Quectel driver against `QuectelSim` (BG96), each through the
 * generic module socket backend and `Network`, at 115200 and 921600 baud, as a fraction of the
 * raw line rate (baud / 10 bytes per second: 8N1).
 *
 * Set-up, per driver and rate: a `VirtualScheduler`; two userspace stacks on a virtual cable
 * (the module's network on 10.0.0.1, a peer on 10.0.0.2, as the simulator tests build it); the
 * simulator on one end of `createBytePipe` carrying its links over the module's stack; the driver
 * on the other end. Both pipe ends and the simulator's UART run at the measured rate from boot.
 * The pipe's line-rate model delivers each chunk when its last byte has crossed the wire at 10
 * bits per byte, and chunks reads 1-64 bytes (a UART FIFO), so virtual time is the honest clock:
 * goodput = payload bytes / virtual seconds, ratio = goodput / (baud / 10).
 *
 * Transfers: upload = host -> module -> peer (the host writes, the peer's socket reads); download
 * = peer -> module -> host. Each runs on a fresh TCP connection, from the first write until the
 * receiver holds every byte. The headline `at_<driver>_goodput_ratio_<baud>` is the lower of
 * the two directions.
 *
 * Simulator timing model (their defaults, not zeroed here):
 * - `EspAtSim` (`EspTiming`): commands answer as soon as their line has arrived (`commandMs` 0,
 *   `sendMs` 0 extra before `SEND OK`), so the cost of each `AT+CIPSEND` / `AT+CIPRECVDATA` is
 *   its bytes on the wire both ways plus the turnaround of one command at a time.
 * - `QuectelSim` (`QuectelTiming`): every command's answer comes 5 ms after its line
 *   (`commandMs`), which bounds each `AT+QISEND` (<= 1460 bytes) and `AT+QIRD` (<= 1500 bytes).
 * - The network (two userspace stacks on a cable) is far faster than either line, and neither
 *   simulator adds radio latency, so the UART is the bottleneck by construction.
 *
 * What limits the figures: one command at a time. Quectel moves at most 1460 bytes per
 * `AT+QISEND` and 1500 per `AT+QIRD`, each waiting the 5 ms answer delay (461 byte-times at
 * 921600), so the protocol bound there is about 0.75 each way; ESP-AT moves up to 8192 bytes per
 * command with no delay, about 0.98-0.99. The progress line shows, per transfer, the commands
 * answered and the line's idle time per command.
 *
 * Wall-clock seconds per run are printed as progress lines.
 */
import { EspAtSim } from '../src/apps/sim/esp-at/esp-at-sim.ts';
import { QuectelSim } from '../src/apps/sim/quectel/quectel-sim.ts';
import { createEspAt } from '../src/backends/esp-at/index.ts';
import { createQuectel } from '../src/backends/quectel/index.ts';
import { createUserspaceBackend } from '../src/backends/userspace/index.ts';
import { XorShiftRng } from '../src/base/rand.ts';
import type { VirtualScheduler } from '../src/base/time.ts';
import { createBytePipe, type BytePipeEnd } from '../src/link/byte-pipe.ts';
import { Network } from '../src/socket/network.ts';
import type { TcpSocket } from '../src/socket/tcp-socket.ts';
import { twoHosts } from '../test/support/stack-net.ts';
import type { Figure } from './main.ts';

interface Options {
  quick: boolean;
  progress: (msg: string) => void;
}

type DriverName = 'esp' | 'quectel';

const RATES = [115_200, 921_600] as const;
const PEER = '10.0.0.2';
const MODULE_IP = '10.0.0.1';
const AP = { ssid: 'bench', password: 'benchpass', bssid: 'aa:bb:cc:dd:ee:01', rssi: -50, channel: 6, ecn: 3 };
/** Bytes the host writes per `write` call (the backend splits them per its send buffer and the driver's `maxSend`). */
const WRITE_CHUNK = 16 * 1024;

/** Payload per direction: 256 KiB at 921600, 64 KiB at 115200 (about 3 and 6 s of line time); quick: an eighth. */
function payloadBytes(baud: number, quick: boolean): number {
  const full = baud >= 921_600 ? 256 * 1024 : 64 * 1024;
  return quick ? full / 8 : full;
}

/** Lets promise continuations run, then fires timers one deadline at a time, until `p` settles. */
async function drive<T>(sched: VirtualScheduler, p: Promise<T>, maxMs = 600_000): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  const end = sched.now() + maxMs;
  for (;;) {
    await new Promise<void>((r) => setImmediate(r));
    if (done) break;
    const next = sched.nextDeadline();
    if (next === undefined || next > end) {
      await new Promise<void>((r) => setImmediate(r));
      if (done) break;
      throw new Error(`at-modules bench: stalled at ${sched.now()} ms of virtual time`);
    }
    sched.advanceTo(next);
  }
  return p;
}

/** A driver brought up over its simulator at `baud`, with a peer network to talk to. */
interface Rig {
  sched: VirtualScheduler;
  /** The host's `Network` over the driver's module backend. */
  net: Network;
  /** The peer host's `Network` (userspace stack on the module's network). */
  peerNet: Network;
  host: BytePipeEnd;
  /** Command lines the simulator has answered so far. */
  commands(): number;
  /** Counters worth printing (commands, sends, reads). */
  counters(): string;
  close(): Promise<void>;
}

/** The figure is only honest at the rate it names: both ends must still run at `baud` after bring-up. */
function checkRate(host: BytePipeEnd, module: BytePipeEnd, baud: number): void {
  if (host.baudRate !== baud || module.baudRate !== baud) {
    throw new Error(`at-modules bench: after bring-up the line runs at ${host.baudRate}/${module.baudRate} baud, not ${baud}`);
  }
}

function baseNetworks(seed: number, dns: boolean): { sched: VirtualScheduler; moduleNet: Network; peerNet: Network } {
  const { sched, A, B } = twoHosts();
  const ba = createUserspaceBackend(A.stack, A.runner, { rng: new XorShiftRng(seed + 10), ...(dns ? { hosts: { 'peer.test': PEER } } : {}) });
  const bb = createUserspaceBackend(B.stack, B.runner, { rng: new XorShiftRng(seed + 20) });
  return {
    sched,
    moduleNet: new Network(ba, { scheduler: sched, rng: new XorShiftRng(seed + 30) }),
    peerNet: new Network(bb, { scheduler: sched, rng: new XorShiftRng(seed + 40) }),
  };
}

function pipeAt(sched: VirtualScheduler, baud: number, seed: number): [BytePipeEnd, BytePipeEnd] {
  return createBytePipe({
    scheduler: sched,
    baudRate: baud,
    // Bytes read at the wrong rate arrive garbled, as on a real UART: the drivers' baud probing
    // while the module still boots must not settle on a rate where the simulator seems to answer.
    garbleOnBaudMismatch: true,
    a: { chunking: { rng: new XorShiftRng(seed + 50), min: 1, max: 64 } },
    b: { chunking: { rng: new XorShiftRng(seed + 60), min: 1, max: 64 } },
  });
}

async function espRig(baud: number, seed: number): Promise<Rig> {
  const { sched, moduleNet, peerNet } = baseNetworks(seed, true);
  const [host, moduleEnd] = pipeAt(sched, baud, seed);
  const sim = new EspAtSim({
    stream: moduleEnd,
    scheduler: sched,
    network: moduleNet,
    rng: new XorShiftRng(seed),
    dialect: 'esp-at',
    baudRate: baud,
    aps: [AP],
    station: { ip: MODULE_IP, gateway: '10.0.0.254', netmask: '255.255.255.0' },
  });
  const esp = createEspAt({ stream: host, scheduler: sched, backend: { rng: new XorShiftRng(seed + 1) } });
  sim.powerOn();
  await drive(sched, esp.wifi.initialize());
  await drive(sched, esp.wifi.join({ ssid: AP.ssid, password: AP.password }));
  checkRate(host, moduleEnd, baud);
  const net = new Network(esp.backend, { scheduler: sched, rng: new XorShiftRng(seed + 2) });
  return {
    sched,
    net,
    peerNet,
    host,
    commands: () => sim.stats.commands,
    counters: () => `passive ${esp.driver.pull}, sim commands ${sim.stats.commands}, SEND OK ${sim.stats.sendOk}, +IPD ${sim.stats.ipd}`,
    close: async () => {
      await drive(sched, net.close()).catch(() => undefined);
      await esp.driver.dispose();
      sim.close();
      await drive(sched, moduleNet.close()).catch(() => undefined);
      await drive(sched, peerNet.close()).catch(() => undefined);
    },
  };
}

async function quectelRig(baud: number, seed: number): Promise<Rig> {
  const { sched, moduleNet, peerNet } = baseNetworks(seed, false);
  const [host, moduleEnd] = pipeAt(sched, baud, seed);
  const sim = new QuectelSim({ stream: moduleEnd, scheduler: sched, network: moduleNet, rng: new XorShiftRng(seed), pdpAddress: MODULE_IP });
  const q = createQuectel({ stream: host, scheduler: sched, apn: 'internet', backend: { rng: new XorShiftRng(seed + 1) } });
  // Power the modem first and let it boot (RDY, SIM ready; about 4.5 s): started at once,
  // `modem.start()` gives up (ETIMEDOUT) on a line that garbles mismatched rates, because its
  // baud sweep runs while the modem still boots and never comes back to the first rate.
  sim.powerOn();
  await drive(sched, new Promise<void>((resolve) => sched.setTimer(6000, resolve)));
  await drive(sched, q.modem.start());
  checkRate(host, moduleEnd, baud);
  const net = new Network(q.backend, { scheduler: sched, rng: new XorShiftRng(seed + 2) });
  return {
    sched,
    net,
    peerNet,
    host,
    commands: () => sim.stats.commandLines,
    counters: () => {
      const s = sim.stats;
      return `sim command lines ${s.commandLines}, SEND OK ${s.sendOk}, SEND FAIL ${s.sendFail}`;
    },
    close: async () => {
      await drive(sched, net.close()).catch(() => undefined);
      sim.close();
      await drive(sched, moduleNet.close()).catch(() => undefined);
      await drive(sched, peerNet.close()).catch(() => undefined);
    },
  };
}

/** Reads `socket` until `total` bytes came (or it ended); returns the count. */
async function sink(socket: TcpSocket, total: number): Promise<number> {
  let n = 0;
  while (n < total) {
    const c = await socket.read();
    if (c === null) break;
    n += c.length;
  }
  return n;
}

/** Writes `total` bytes to `socket` in `WRITE_CHUNK` writes. */
async function source(socket: TcpSocket, total: number): Promise<void> {
  const chunk = new Uint8Array(WRITE_CHUNK);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
  for (let sent = 0; sent < total; sent += chunk.length) await socket.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
}

interface Transfer {
  /** Virtual milliseconds from the first write until the receiver had every byte. */
  ms: number;
  /** Bytes on the serial line meanwhile, host to module and module to host. */
  lineTx: number;
  lineRx: number;
  /** Commands the module answered meanwhile. */
  commands: number;
}

/** One bulk transfer on a fresh connection. */
async function transfer(rig: Rig, direction: 'upload' | 'download', total: number, port: number): Promise<Transfer> {
  const { sched } = rig;
  const server = await drive(sched, rig.peerNet.listen({ port }));
  const accepted = server.accept();
  const hostSocket = await drive(sched, rig.net.connect(`${PEER}:${port}`));
  const peerSocket = await drive(sched, accepted);
  const [from, to] = direction === 'upload' ? [hostSocket, peerSocket] : [peerSocket, hostSocket];
  const t0 = sched.now();
  const line0 = rig.host.stats();
  const commands0 = rig.commands();
  const [got] = await drive(sched, Promise.all([sink(to, total), source(from, total)]));
  const ms = sched.now() - t0;
  const line1 = rig.host.stats();
  const commands = rig.commands() - commands0;
  if (got !== total) throw new Error(`at-modules bench: ${direction} delivered ${got} of ${total} bytes`);
  await drive(sched, hostSocket.close()).catch(() => undefined);
  await drive(sched, peerSocket.close()).catch(() => undefined);
  await drive(sched, server.close()).catch(() => undefined);
  return { ms, lineTx: line1.txBytes - line0.txBytes, lineRx: line1.rxBytes - line0.rxBytes, commands };
}

const LABEL: Readonly<Record<DriverName, string>> = { esp: 'ESP-AT', quectel: 'Quectel' };

export async function runAtBench(opts: Options): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const baud of RATES) {
    const lineRate = baud / 10;
    const lineKey = `at_line_rate_${baud}`;
    figures.push({ key: lineKey, label: `Raw line rate at ${baud} baud, 8N1 (baud / 10)`, value: lineRate, unit: 'B/s' });
    for (const driver of ['esp', 'quectel'] as const) {
      const total = payloadBytes(baud, opts.quick);
      const started = performance.now();
      const rig = driver === 'esp' ? await espRig(baud, 7) : await quectelRig(baud, 7);
      const rate: Record<'upload' | 'download', number> = { upload: 0, download: 0 };
      const notes: string[] = [];
      let port = 6000;
      for (const direction of ['upload', 'download'] as const) {
        const t = await transfer(rig, direction, total, port++);
        rate[direction] = total / (t.ms / 1000);
        // Where the time went: the busier direction's bytes at the line rate, the rest per command
        // (turnaround: the module's answer delay, waiting for prompts and final results).
        const wireMs = (Math.max(t.lineTx, t.lineRx) / lineRate) * 1000;
        const idle = t.commands > 0 ? `, idle ${((t.ms - wireMs) / t.commands).toFixed(2)} ms per command` : '';
        notes.push(
          `${direction} ${(rate[direction] / lineRate).toFixed(3)} of the line (${t.ms.toFixed(0)} ms; line bytes out ${t.lineTx}, in ${t.lineRx}; ` +
            `${t.commands} commands${idle})`,
        );
        figures.push({
          key: `at_${driver}_${direction}_${baud}`,
          label: `${LABEL[driver]} ${direction === 'upload' ? 'host -> module -> peer' : 'peer -> module -> host'} at ${baud} baud`,
          value: rate[direction],
          unit: 'B/s',
          baseline: lineKey,
        });
      }
      const counters = rig.counters();
      await rig.close();
      const low = Math.min(rate.upload, rate.download);
      figures.push({
        key: `at_${driver}_goodput_ratio_${baud}`,
        label: `${LABEL[driver]} payload goodput at ${baud} baud, lower of upload and download, over the line rate`,
        value: low,
        unit: 'B/s',
        baseline: lineKey,
        ...(baud === 921_600 ? { goal: 'ratio >= 0.85' } : {}),
      });
      opts.progress(
        `at ${driver} ${baud}: ${total} B each way: ${notes.join(', ')}; ` +
          `${counters}; ${((performance.now() - started) / 1000).toFixed(1)} s wall`,
      );
    }
  }
  return figures;
}
