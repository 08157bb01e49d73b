/**
 * TCP between the userspace stack (over a TAP) and Linux kernel sockets, both
 * directions, 64 MiB with SHA-256 compared; then again with 2 % seeded loss each way on
 * our side of the TAP (the kernel has no netem: our fault injector drops the frames).
 * The kernel side is a plain node:net process (test/support/tcp-peer.mjs).
 *
 * Then small request/response exchanges with a kernel echo server, where the link's
 * system calls per frame show: each frame is read once (no extra read only to see an
 * empty queue) and wakes the stack once.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Peers, skipWithoutInterop, tapHost, type TapHost } from '../support/interop.ts';
import { kernelToStack, stackToKernel } from '../support/kernel-bulk.ts';

const MIB = Number(process.env.IOTNET_INTEROP_MIB ?? 64);
const BYTES = MIB * 1024 * 1024;

for (const lossPct of [0, 2]) {
  describe(`TCP with Linux kernel sockets over TAP, ${MIB} MiB each way${lossPct ? `, ${lossPct} % loss each way` : ''}`, () => {
    let h: TapHost | undefined;
    const peers = new Peers();
    const host = (): TapHost => (h ??= tapHost({ subnet: 2 + lossPct, lossPct }));
    after(async () => {
      await peers.killAll();
      await h?.close();
    });

    it('stack -> kernel', async (t) => {
      if (skipWithoutInterop(t)) return;
      const hh = host();
      await stackToKernel(t, hh, peers, hh.kernelIp, `${hh.kernelIp}:9000`, 9000, BYTES);
    });

    it('kernel -> stack', async (t) => {
      if (skipWithoutInterop(t)) return;
      const hh = host();
      await kernelToStack(t, hh, peers, hh.stackIp, 9001, BYTES);
    });
  });
}

describe('TCP request/response with a kernel echo server over TAP', () => {
  let h: TapHost | undefined;
  const peers = new Peers();
  after(async () => {
    await peers.killAll();
    await h?.close();
  });

  it('500 round trips of 64 bytes: every frame read once, no read that finds the queue empty', async (t) => {
    if (skipWithoutInterop(t)) return;
    const hh = (h = tapHost({ subnet: 5 }));
    const port = 9010;
    const echo = peers.spawn(process.execPath, ['-e', `
      const s = require('node:net').createServer((c) => c.pipe(c));
      s.listen(${port}, '${hh.kernelIp}', () => console.log('ready'));`]);
    await peers.waitFor(echo, /ready/);
    const sock = await hh.network.connect(`${hh.kernelIp}:${port}`, { timeoutMs: 5000 });
    const msg = new Uint8Array(64).fill(0x5a);
    const roundTrip = async (): Promise<void> => {
      await sock.write(msg);
      for (let got = 0; got < msg.length;) {
        const c = await sock.read();
        assert.ok(c !== null, 'the echo server closed early');
        got += c.length;
      }
    };
    for (let i = 0; i < 50; i++) await roundTrip();
    const before = { ...hh.tap.stats() };
    const n = 500;
    for (let i = 0; i < n; i++) await roundTrip();
    const after = hh.tap.stats();
    await sock.close();
    const frames = after.rxFrames - before.rxFrames;
    const empty = after.rxEmptyReads - before.rxEmptyReads;
    const wakeups = after.wakeups - before.wakeups;
    t.diagnostic(`${frames} frames in, ${after.rxBatches - before.rxBatches} reads with frames, ${empty} empty reads, ${wakeups} wake-ups, ${after.txFrames - before.txFrames} frames out`);
    assert.ok(frames >= n, `a frame per echo at least: ${frames}`);
    // Before the link stopped at a short read, every burst cost one more read (EAGAIN).
    assert.ok(empty <= n / 20, `reads that found the queue empty: ${empty} for ${n} round trips`);
    assert.ok(wakeups <= frames, `wake-ups ${wakeups} for ${frames} frames`);
  });
});
