/**
 * TCP between the userspace stack (over a TAP) and Linux kernel sockets, both
 * directions, 64 MiB with SHA-256 compared; then again with 2 % seeded loss each way on
 * our side of the TAP (the kernel has no netem: our fault injector drops the frames).
 * The kernel side is a plain node:net process (test/support/tcp-peer.mjs).
 */
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
