/**
 * TCP over IPv6 between the userspace stack (over a TAP) and Linux kernel sockets, both
 * directions, 64 MiB with SHA-256 compared; then again with 2 % seeded loss each way on
 * our side of the TAP (the kernel has no netem: our fault injector drops the frames).
 * The IPv6 twin of tap-tcp.test.ts: static addresses fd00:N::1/64 (kernel) and
 * fd00:N::2/64 (stack, DAD on, no SLAAC), the kernel side a plain node:net process
 * (test/support/tcp-peer.mjs) given IPv6 literals.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { formatIPv6, parseIPv6 } from '../../src/base/ip-address.ts';
import { Peers, skipWithoutInterop } from '../support/interop.ts';
import { ipv6TapHost, kernelDadResult, waitUntil, type Ipv6TapHost } from '../support/ipv6-interop.ts';
import { kernelToStack, stackToKernel } from '../support/kernel-bulk.ts';

const MIB = Number(process.env.IOTNET_INTEROP_MIB ?? 64);
const BYTES = MIB * 1024 * 1024;

for (const lossPct of [0, 2]) {
  const subnet = 45 + (lossPct === 0 ? 0 : 1);
  const kernelIp = `fd00:${subnet}::1`;
  const stackIp = `fd00:${subnet}::2`;
  describe(`TCP over IPv6 with Linux kernel sockets over TAP (fd00:${subnet}::/64), ${MIB} MiB each way${lossPct ? `, ${lossPct} % loss each way` : ''}`, () => {
    let h: Ipv6TapHost | undefined;
    let ready: Promise<Ipv6TapHost> | undefined;
    const peers = new Peers();
    /** The TAP with both addresses past DAD (the kernel cannot bind a tentative address). */
    const host = (): Promise<Ipv6TapHost> => (ready ??= (async () => {
      const hh = (h = ipv6TapHost({ subnet, lossPct, addresses: [`${kernelIp}/64`] }));
      hh.enableStack({ addresses: [{ address: parseIPv6(stackIp) as Uint8Array, prefixLen: 64 }], autoconf: false });
      const flags = await kernelDadResult(hh.name, kernelIp, 10_000);
      assert.ok(!flags.includes('dadfailed'), `the kernel's ${kernelIp}: ${flags.join(' ')}`);
      const mine = await waitUntil(`the stack's ${stackIp} to leave DAD`, 10_000, () =>
        hh.stack.ipv6Addresses(hh.ifIndex).find((a) => formatIPv6(a.address) === stackIp && a.state !== 'tentative'));
      assert.equal(mine.state, 'preferred', `the stack's ${stackIp}`);
      return hh;
    })());
    after(async () => {
      await peers.killAll();
      await h?.close();
    });

    it('stack -> kernel', async (t) => {
      if (skipWithoutInterop(t)) return;
      const hh = await host();
      await stackToKernel(t, hh, peers, kernelIp, `[${kernelIp}]:9000`, 9000, BYTES);
    });

    it('kernel -> stack', async (t) => {
      if (skipWithoutInterop(t)) return;
      const hh = await host();
      await kernelToStack(t, hh, peers, stackIp, 9001, BYTES);
    });
  });
}
