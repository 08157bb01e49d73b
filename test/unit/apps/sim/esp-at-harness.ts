/**
 * Test harness for the ESP-AT simulator: two userspace stacks on a virtual cable (the module's
 * network on 10.0.0.1, a peer on 10.0.0.2 with `Network` netB), a byte pipe to the module, the
 * host end's output collected as latin1 text, and helpers that run virtual time (timers and
 * promise continuations) until an expected output appears.
 */
import assert from 'node:assert/strict';
import { latin1, latin1Text } from '../../../../src/apps/sim/at-sim-port.ts';
import { EspAtSim, type EspAtSimOptions } from '../../../../src/apps/sim/esp-at/esp-at-sim.ts';
import type { EspAp } from '../../../../src/apps/sim/esp-at/esp-wifi-model.ts';
import { createUserspaceBackend } from '../../../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { createBytePipe, type BytePipeOptions } from '../../../../src/link/byte-pipe.ts';
import { Network } from '../../../../src/socket/network.ts';
import { twoHosts } from '../../../support/stack-net.ts';

export const LAB_AP: EspAp = { ssid: 'my,ssid', password: 'pa"ss', bssid: 'aa:bb:cc:dd:ee:01', rssi: -52, channel: 6, ecn: 3 };
export const OTHER_AP: EspAp = { ssid: 'open', password: '', bssid: 'aa:bb:cc:dd:ee:02', rssi: -70, channel: 11, ecn: 0 };
export const STATION = { ip: '10.0.0.1', gateway: '10.0.0.254', netmask: '255.255.255.0' };

export type Harness = Awaited<ReturnType<typeof espHarness>>;

export async function espHarness(
  opts: Partial<Omit<EspAtSimOptions, 'stream' | 'scheduler' | 'network' | 'rng'>> & { pipe?: Partial<BytePipeOptions>; seed?: number } = {},
) {
  const net = twoHosts();
  const { sched } = net;
  const ba = createUserspaceBackend(net.A.stack, net.A.runner, { rng: new XorShiftRng(11), hosts: { 'peer.test': '10.0.0.2' } });
  const bb = createUserspaceBackend(net.B.stack, net.B.runner, { rng: new XorShiftRng(12) });
  const netA = new Network(ba, { scheduler: sched, rng: new XorShiftRng(13) });
  const netB = new Network(bb, { scheduler: sched, rng: new XorShiftRng(14) });
  const { pipe, seed, ...simOpts } = opts;
  const [host, module] = createBytePipe({ scheduler: sched, ...pipe });
  const sim = new EspAtSim({
    stream: module,
    scheduler: sched,
    network: netA,
    rng: new XorShiftRng(seed ?? 5),
    dialect: 'esp-at',
    aps: [LAB_AP, OTHER_AP],
    station: STATION,
    ...simOpts,
  });
  let out = '';
  host.onData((b) => {
    out += latin1Text(b);
  });

  /** Lets promise continuations run, then fires the next timer; false when nothing is left. */
  const step = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  };
  const h = {
    sched,
    sim,
    netA,
    netB,
    host,
    module,
    out: (): string => out,
    /** Returns the output so far and clears it. */
    take: (): string => {
      const o = out;
      out = '';
      return o;
    },
    send(text: string | Uint8Array): void {
      host.write(typeof text === 'string' ? latin1(text) : text);
    },
    /** Runs virtual time by `ms`, letting promises settle on the way. */
    async run(ms = 0): Promise<void> {
      const end = sched.now() + ms;
      for (let i = 0; i < 100_000; i++) {
        await step();
        const next = sched.nextDeadline();
        if (next === undefined || next > end) break;
        sched.advanceTo(next);
      }
      sched.advanceTo(end);
      await step();
    },
    /** Runs until the output (since the last take) includes `text`; fails after `maxMs` of virtual time. */
    async waitFor(text: string, maxMs = 60_000): Promise<string> {
      const end = sched.now() + maxMs;
      for (let i = 0; i < 200_000; i++) {
        if (out.includes(text)) return out;
        await step();
        if (out.includes(text)) return out;
        const next = sched.nextDeadline();
        if (next === undefined || next > end) break;
        sched.advanceTo(next);
      }
      assert.fail(`no ${JSON.stringify(text)} within ${maxMs} ms; output ${JSON.stringify(out)}`);
    },
    /** Sends `command` and waits for `final`; returns the output and clears it. */
    async cmd(command: string, final = '\r\nOK\r\n', maxMs = 60_000): Promise<string> {
      h.send(command);
      await h.waitFor(final, maxMs);
      await h.run(1);
      return h.take();
    },
    /** Boots the module, waits for ready, turns echo off. */
    async boot(echoOff = true): Promise<void> {
      sim.powerOn();
      await h.waitFor('\r\nready\r\n');
      h.take();
      if (echoOff) await h.cmd('ATE0\r\n');
    },
    /** Joins LAB_AP and sets MUX=1. */
    async online(): Promise<void> {
      await h.boot();
      await h.cmd(`AT+CWJAP${sim.dialect.curDef ? '_CUR' : ''}="my\\,ssid","pa\\"ss"\r\n`);
      await h.cmd('AT+CIPMUX=1\r\n');
    },
  };
  return h;
}
