/**
 * The AT drivers under their simulators' fault injection (reference §5 and §6): for every fault
 * kind of the serial front end and of each simulator, seeded and on virtual time, a module keeps
 * carrying TCP echo sessions of random binary data (CR LF, `OK`, `+IPD`, `>`, NUL included)
 * between the host (driver + module backend + Network) and a peer behind the simulated module.
 *
 * Each session either delivers exactly the bytes sent, in order, or fails with a `SocketError`;
 * no call may stay pending past a bound of virtual time (the driver's own timeouts), nothing may
 * throw anything else, and once the fault is switched off a clean session succeeds (the driver
 * recovered: resynchronised, re-initialised, re-joined or re-activated as needed). `corrupt` flips
 * bytes on the serial line itself, which no AT driver can detect inside a payload (the UART has no
 * checksum): for it only the absence of hangs, crashes and non-`SocketError` failures is checked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEspAt } from '../../src/backends/esp-at/index.ts';
import { createQuectel } from '../../src/backends/quectel/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { isSocketError } from '../../src/base/socket-error.ts';
import type { VirtualScheduler } from '../../src/base/time.ts';
import type { SimFaults } from '../../src/apps/sim/sim-faults.ts';
import { Network } from '../../src/socket/network.ts';
import { espHarness, LAB_AP } from '../unit/apps/sim/esp-at-harness.ts';
import { makeRig } from '../unit/apps/sim/quectel-rig.ts';

const SERIAL_FAULTS = [
  'garbage', 'urcStorm', 'split', 'merge', 'slow', 'busy', 'dropUrc', 'duplicateUrc', 'urcBetweenCommands',
  'urcBetweenLines', 'urcAfterPrompt', 'urcBeforeSendOk', 'urcAfterIpd', 'urcInEcho', 'corrupt',
] as const;
const ESP_FAULTS = ['sendFail', 'sendFailThenOk', 'errorThenSendOk', 'missingSendOk', 'reboot', 'apLoss'] as const;
const QUECTEL_FAULTS = ['sendFail', 'reboot', 'rebootInSend', 'registrationLoss', 'pdpDeact'] as const;
/** Faults that end sessions by design (the module forgets its links): sessions may fail, recovery must follow. */
const DISRUPTIVE = new Set(['reboot', 'rebootInSend', 'apLoss', 'pdpDeact', 'corrupt']);
const SESSIONS = 4;
const SESSION_BYTES = 3000;
/** Longer than any driver timeout plus a module recovery (bring-up, join, PDP activation). */
const BOUND_MS = 400_000;

/** Runs virtual time (and promise continuations) until `p` settles; fails if it would hang. */
async function drive<T>(sched: VirtualScheduler, p: Promise<T>, what: string, maxMs = BOUND_MS): Promise<T> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  const end = sched.now() + maxMs;
  for (;;) {
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
    if (done) break;
    const next = sched.nextDeadline();
    if (next === undefined || next > end) break;
    sched.advanceTo(next);
  }
  assert.ok(done, `${what}: still pending after ${maxMs} ms of virtual time (a hang)`);
  return p;
}

/** Deterministic binary payload that contains the AT framing a line parser would trip over. */
function payload(seed: number): Uint8Array {
  const rng = new XorShiftRng(seed);
  const tricky = new TextEncoder().encode('\r\nOK\r\n+IPD,0,5:\r\nERROR\r\n> \0SEND OK\r\n+QIRD: 5\r\n0,CLOSED\r\n');
  const out = new Uint8Array(SESSION_BYTES);
  for (let i = 0; i < out.length; i++) out[i] = rng.nextU32() & 0xff;
  out.set(tricky, 100);
  out.set(tricky, SESSION_BYTES - tricky.length);
  return out;
}

interface Target {
  sched: VirtualScheduler;
  faults: SimFaults;
  /** The module's Network on the host (driver side). */
  net: Network;
  /** The echo server's port on the peer (10.0.0.2). */
  echoPort: number;
  close(): Promise<void>;
}

/** One echo session; the outcome, with any delivered bytes checked against what was sent. */
async function session(t: Target, seed: number, checkBytes: boolean): Promise<'ok' | string> {
  const data = payload(seed);
  try {
    const s = await drive(t.sched, t.net.connect(`10.0.0.2:${t.echoPort}`), 'connect');
    try {
      const got: number[] = [];
      const reading = (async () => {
        while (got.length < data.length) {
          const c = await s.read();
          if (c === null) break;
          got.push(...c);
          if (checkBytes) {
            for (let i = got.length - c.length; i < got.length; i++) {
              assert.equal(got[i], data[i], `byte ${i} of the echo differs (payload corrupted or reordered)`);
            }
          }
        }
      })();
      await drive(t.sched, s.write(data), 'write');
      await drive(t.sched, reading, 'read');
      if (got.length < data.length) return `echo ended after ${got.length} bytes`;
    } finally {
      await drive(t.sched, s.close(), 'close').catch(() => undefined);
    }
    return 'ok';
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok(isSocketError(e), `a failure that is not a SocketError: ${String(e)}`);
    return `${e.code}${e.detail.reason !== undefined ? ` ${e.detail.reason}` : ''}`;
  }
}

async function soak(make: () => Promise<Target>, kind: string): Promise<string[]> {
  const t = await make();
  try {
    t.faults.update(kind, { probability: kind === 'corrupt' ? 0.02 : 0.25, delayMs: 200, count: 3 });
    const outcomes: string[] = [];
    for (let i = 0; i < SESSIONS; i++) outcomes.push(await session(t, 1000 * i + kind.length, kind !== 'corrupt'));
    t.faults.clear();
    // Recovery: with the fault off, a clean session must succeed (after any re-initialisation).
    let recovered = 'never tried';
    for (let i = 0; i < 5 && recovered !== 'ok'; i++) {
      recovered = await session(t, 77 + i, true);
      if (recovered !== 'ok') await drive(t.sched, new Promise<void>((r) => t.sched.setTimer(5000, r)), 'pause');
    }
    assert.equal(recovered, 'ok', `no clean session after the fault was switched off (outcomes: ${outcomes.join(', ')})`);
    if (!DISRUPTIVE.has(kind)) assert.ok(outcomes.includes('ok'), `every session failed under ${kind}: ${outcomes.join(', ')}`);
    return outcomes;
  } finally {
    await t.close();
  }
}

/** An echo service on port 7 of the peer's network. */
async function startEcho(sched: VirtualScheduler, peer: Network): Promise<{ close(): Promise<void> }> {
  const echo = await drive(sched, peer.listen({ port: 7 }), 'listen');
  void (async () => {
    for await (const c of echo) void (async () => {
      try {
        for await (const chunk of c) await c.write(chunk);
      } catch {
        // the module's side went away
      }
      await c.close().catch(() => undefined);
    })();
  })().catch(() => undefined);
  return echo;
}

async function espTarget(dialect: 'esp-at' | 'nonos', seed: number): Promise<Target> {
  const h = await espHarness({ dialect, seed, pipe: { chunking: { rng: new XorShiftRng(seed + 50), min: 1, max: 64 } } });
  const echo = await startEcho(h.sched, h.netB);
  const esp = createEspAt({ stream: h.host, scheduler: h.sched, backend: { rng: new XorShiftRng(seed + 1) } });
  h.sim.powerOn();
  await drive(h.sched, esp.wifi.initialize(), 'initialize');
  await drive(h.sched, esp.wifi.join({ ssid: LAB_AP.ssid, password: LAB_AP.password }), 'join');
  const net = new Network(esp.backend, { scheduler: h.sched, rng: new XorShiftRng(seed + 2) });
  return {
    sched: h.sched, faults: h.sim.faults, net, echoPort: 7,
    async close() {
      await drive(h.sched, net.close(), 'net close').catch(() => undefined);
      await echo.close().catch(() => undefined);
      await esp.driver.dispose();
      h.sim.close();
    },
  };
}

async function quectelTarget(seed: number): Promise<Target> {
  const rig = await makeRig({ seed, pipe: { chunking: { rng: new XorShiftRng(seed + 50), min: 1, max: 64 } }, sim: { timing: { bootMs: 500, simReadyMs: 300 } } });
  const echo = await startEcho(rig.sched, rig.peerNet);
  const q = createQuectel({ stream: rig.host, scheduler: rig.sched, apn: 'internet', backend: { rng: new XorShiftRng(seed + 1) } });
  rig.sim.powerOn();
  await drive(rig.sched, q.modem.start(), 'bring-up');
  const net = new Network(q.backend, { scheduler: rig.sched, rng: new XorShiftRng(seed + 2) });
  return {
    sched: rig.sched, faults: rig.sim.faults, net, echoPort: 7,
    async close() {
      await drive(rig.sched, net.close(), 'net close').catch(() => undefined);
      await echo.close().catch(() => undefined);
      await q.driver.dispose();
      rig.sim.close();
    },
  };
}

for (const dialect of ['esp-at', 'nonos'] as const) {
  describe(`ESP-AT driver (${dialect}) under the simulator's fault injection`, () => {
    for (const kind of [...SERIAL_FAULTS, ...ESP_FAULTS]) {
      it(`${kind}: intact echoes or SocketErrors, no hang, recovery`, async (t) => {
        const outcomes = await soak(() => espTarget(dialect, 3 + kind.length), kind);
        t.diagnostic(`${kind}: ${outcomes.join(', ')}`);
      });
    }
  });
}

describe('Quectel driver (BG96) under the simulator\'s fault injection', () => {
  for (const kind of [...SERIAL_FAULTS, ...QUECTEL_FAULTS]) {
    it(`${kind}: intact echoes or SocketErrors, no hang, recovery`, async (t) => {
      const outcomes = await soak(() => quectelTarget(5 + kind.length), kind);
      t.diagnostic(`${kind}: ${outcomes.join(', ')}`);
    });
  }
});
