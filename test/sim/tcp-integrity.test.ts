/**
 * Integrity under impairment (issue 3 acceptance): 16 MiB each way, concurrently,
 * between two full userspace stacks (Ethernet, ARP, IPv4, TCP) on a virtual cable whose
 * one end runs a seeded fault injector in both directions. Deterministic on the virtual
 * clock; time jumps from event to event. SHA-256 of what arrived must equal what was
 * sent, for every scenario. Goodput at 1 % loss is reported against the lossless run.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../src/base/rand.ts';
import { VirtualScheduler } from '../../src/base/time.ts';
import { FaultInjector, createCable, type FaultInjectorOptions } from '../../src/link/index.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { Stack } from '../../src/stack/stack.ts';
import { TcpLayer, type TcpConn, type TcpListener } from '../../src/stack/tcp/tcp-layer.ts';
import { pattern } from '../support/stack-net.ts';

const SIZE = Number(process.env.IOTNET_INTEGRITY_MIB ?? 16) * 1024 * 1024;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Result {
  virtualMs: number;
  upOk: boolean;
  downOk: boolean;
  faults: string;
  tcp: string;
}

function transfer(faults: Omit<FaultInjectorOptions, 'rng' | 'scheduler'>, seed: number): Result {
  const sched = new VirtualScheduler();
  const [ea, eb] = createCable({ mtu: 1500, queueFrames: 4096 });
  // A realistic path: 1 ms one-way delay and 100 Mbit/s, so goodput in virtual time means something.
  const fi = new FaultInjector(ea, { rng: new XorShiftRng(seed), scheduler: sched, direction: 'both', delayMs: 1, bandwidthBps: 100e6, queueBytes: 4 << 20, ...faults });
  const A = new Stack({ rng: new XorShiftRng(seed + 1) });
  A.addInterface(fi, { ipv4: { address: '10.0.0.1', prefixLen: 24 } });
  const B = new Stack({ rng: new XorShiftRng(seed + 2) });
  B.addInterface(eb, { ipv4: { address: '10.0.0.2', prefixLen: 24 } });
  const ra = new StackRunner(A, { scheduler: sched });
  const rb = new StackRunner(B, { scheduler: sched });
  const ta = new TcpLayer(A, { rng: new XorShiftRng(seed + 3) });
  const tb = new TcpLayer(B, { rng: new XorShiftRng(seed + 4) });
  const l = tb.listen(0, 80, 4) as TcpListener;
  const c = ta.connect(sched.now(), 0x0a000002, 80) as TcpConn;
  let s: TcpConn | undefined;
  const up = pattern(SIZE, seed + 5), down = pattern(SIZE, seed + 6);
  const gotB = createHash('sha256'), gotA = createHash('sha256');
  let sa = 0, sb = 0, ra2 = 0, rb2 = 0;
  const tmp = new Uint8Array(256 * 1024);
  const start = sched.now();
  for (let guard = 0; guard < 50_000_000; guard++) {
    s ??= tb.accept(l);
    if (sa < SIZE) { const n = c.tcb.send(up.subarray(sa, Math.min(SIZE, sa + 256 * 1024))); if (n > 0) { sa += n; ta.touch(c); } }
    if (s !== undefined) {
      if (sb < SIZE) { const n = s.tcb.send(down.subarray(sb, Math.min(SIZE, sb + 256 * 1024))); if (n > 0) { sb += n; tb.touch(s); } }
      for (let n; (n = s.tcb.recv(tmp)) > 0;) { gotB.update(tmp.subarray(0, n)); rb2 += n; tb.touch(s); }
    }
    for (let n; (n = c.tcb.recv(tmp)) > 0;) { gotA.update(tmp.subarray(0, n)); ra2 += n; ta.touch(c); }
    if (ra2 >= SIZE && rb2 >= SIZE) break;
    if (c.tcb.state === 'CLOSED' || s?.tcb.state === 'CLOSED') assert.fail(`connection lost (${c.tcb.state}/${s?.tcb.state}, error ${c.tcb.error ?? s?.tcb.error})`);
    // Jump to the next event (a poll the runners scheduled, a delayed frame, a timer).
    const next = sched.nextDeadline();
    if (next === undefined) assert.fail('nothing scheduled: the transfer stalled');
    sched.advanceTo(next);
  }
  const virtualMs = sched.now() - start;
  const st = fi.stats();
  ra.close();
  rb.close();
  return {
    virtualMs,
    upOk: rb2 === SIZE && gotB.digest('hex') === sha(up),
    downOk: ra2 === SIZE && gotA.digest('hex') === sha(down),
    faults: JSON.stringify({ tx: st.tx, rx: st.rx }),
    tcp: JSON.stringify({ a: c.tcb.stats, b: s?.tcb.stats }),
  };
}

describe(`TCP integrity under impairment: ${SIZE / 1048576} MiB each way between two stacks`, () => {
  let lossless = 0;
  const scenarios: [string, Omit<FaultInjectorOptions, 'rng' | 'scheduler'>][] = [
    ['lossless', {}],
    ['1 % loss', { lossPct: 1 }],
    ['5 % loss', { lossPct: 5 }],
    ['20 % loss', { lossPct: 20 }],
    ['5 % reordering', { reorderPct: 5 }],
    ['2 % duplication', { dupPct: 2 }],
    ['1 % corruption', { corruptPct: 1 }],
  ];
  for (const [name, faults] of scenarios) {
    it(name, () => {
      const t0 = performance.now();
      const r = transfer(faults, 1000 + name.length);
      assert.ok(r.upOk, 'upstream SHA-256 equal');
      assert.ok(r.downOk, 'downstream SHA-256 equal');
      const goodput = (2 * SIZE) / 1e6 / (r.virtualMs / 1000);
      if (name === 'lossless') lossless = goodput;
      const rel = lossless > 0 ? ` (${(goodput / lossless).toFixed(3)} of lossless)` : '';
      process.stdout.write(`# integrity ${name}: ${(performance.now() - t0).toFixed(0)} ms CPU, ${(r.virtualMs / 1000).toFixed(2)} s virtual, goodput ${goodput.toFixed(1)} MB/s both ways${rel}\n`);
      if (process.env.IOTNET_INTEGRITY_VERBOSE !== undefined) process.stdout.write(`# ${r.tcp}\n`);
    });
  }
});
