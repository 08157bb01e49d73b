/**
 * TCP over IPv6 between the userspace stack (over a TAP) and Linux kernel sockets, both
 * directions, 64 MiB with SHA-256 compared; then again with 2 % seeded loss each way on
 * our side of the TAP (the kernel has no netem: our fault injector drops the frames).
 * The IPv6 twin of tap-tcp.test.ts: static addresses fd00:N::1/64 (kernel) and
 * fd00:N::2/64 (stack, DAD on, no SLAAC), the kernel side a plain node:net process
 * (test/support/tcp-peer.mjs) given IPv6 literals.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { formatIPv6, parseIPv6 } from '../../src/base/ip-address.ts';
import { Peers, skipWithoutInterop } from '../support/interop.ts';
import { ipv6TapHost, kernelDadResult, waitUntil, type Ipv6TapHost } from '../support/ipv6-interop.ts';

const MIB = Number(process.env.IOTNET_INTEROP_MIB ?? 64);
const BYTES = MIB * 1024 * 1024;
const PEER = new URL('../support/tcp-peer.mjs', import.meta.url).pathname;

interface PeerReport {
  bytes: number;
  sha256: string;
  ms: number;
  mbps: number;
  error?: string;
}

function lastJson(out: string): PeerReport {
  const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  assert.ok(line !== undefined, `no report from the peer:\n${out}`);
  return JSON.parse(line) as PeerReport;
}

function lossText(h: Ipv6TapHost): string {
  const f = h.fault?.stats();
  return f === undefined ? '' : `; frames lost so far: ${f.tx.lost} of ${f.tx.frames} sent, ${f.rx.lost} of ${f.rx.frames} received`;
}

/** Deterministic, incompressible data, one 64 KiB chunk at a time. */
function* chunks(total: number): Generator<Uint8Array> {
  let x = 0x12345678;
  for (let sent = 0; sent < total;) {
    const n = Math.min(65536, total - sent);
    const c = new Uint8Array(n);
    const w = new Int32Array(c.buffer, 0, n >> 2);
    for (let i = 0; i < w.length; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      w[i] = x;
    }
    sent += n;
    yield c;
  }
}

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
      const sink = peers.spawn(process.execPath, [PEER, 'sink', kernelIp, '9000']);
      await peers.waitFor(sink, /ready/);
      const t0 = performance.now();
      const sock = await hh.network.connect(`[${kernelIp}]:9000`, { timeoutMs: 5000 });
      const hash = createHash('sha256');
      for (const c of chunks(BYTES)) {
        hash.update(c);
        await sock.write(c);
      }
      await sock.end();
      assert.equal(await sock.read(), null, 'the kernel closed after reading everything');
      await sock.close();
      const report = lastJson((await peers.waitFor(sink, /\{.*\}\n/, 120_000)).input ?? sink.out());
      const secs = (performance.now() - t0) / 1000;
      t.diagnostic(`${(BYTES / 1e6 / secs).toFixed(1)} MB/s stack -> kernel${lossText(hh)}`);
      assert.equal(report.bytes, BYTES);
      assert.equal(report.sha256, hash.digest('hex'));
    });

    it('kernel -> stack', async (t) => {
      if (skipWithoutInterop(t)) return;
      const hh = await host();
      const server = await hh.network.listen({ host: stackIp, port: 9001 });
      const source = peers.spawn(process.execPath, [PEER, 'source', stackIp, '9001', String(BYTES)]);
      const sock = await server.accept({ timeoutMs: 5000 });
      const t0 = performance.now();
      const hash = createHash('sha256');
      let got = 0;
      for (let c = await sock.read(); c !== null; c = await sock.read()) {
        hash.update(c);
        got += c.length;
      }
      const secs = (performance.now() - t0) / 1000;
      await sock.close();
      await server.close();
      const report = lastJson((await peers.waitFor(source, /\{.*\}\n/, 120_000)).input ?? source.out());
      t.diagnostic(`${(got / 1e6 / secs).toFixed(1)} MB/s kernel -> stack${lossText(hh)}`);
      assert.equal(got, BYTES);
      assert.equal(report.bytes, BYTES);
      assert.equal(hash.digest('hex'), report.sha256);
    });
  });
}
