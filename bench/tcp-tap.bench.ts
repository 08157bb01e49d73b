/**
 * TCP between the userspace stack and the Linux kernel over a real TAP interface, each
 * way (`tcp_tap_tx_mbps`: stack -> kernel, `tcp_tap_rx_mbps`: kernel -> stack), beside
 * kernel <-> kernel over a veth pair (`tcp_veth_kernel_mbps`), all measured in this run.
 *
 * Like for like: the kernel end is the same program in every figure
 * (test/support/tcp-peer.mjs, plain node:net in its own process, inside a network
 * namespace); only the other end differs: the userspace stack in this process over the
 * TAP, or a second tcp-peer.mjs process in a second namespace over veth. Rates are
 * measured at the receiver, from its first byte to its last. MTU 1500 everywhere, no
 * checksum offload on the TAP (the stack computes and verifies every checksum; the
 * kernel does too, as TAP frames carry no offload metadata), no capture.
 *
 * Needs root (namespaces, /dev/net/tun) and the TAP addon; otherwise the figures are
 * left out with a note. Namespaces and devices are removed afterwards, also on failure.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createUserspaceBackend } from '../src/backends/userspace/index.ts';
import { XorShiftRng } from '../src/base/rand.ts';
import { TapLink } from '../src/link/tap-link.ts';
import { loadTapAddon } from '../src/runtime/tap-native.ts';
import { StackRunner } from '../src/runtime/stack-runner.ts';
import { Network } from '../src/socket/network.ts';
import { Stack } from '../src/stack/stack.ts';
import { Peers } from '../test/support/interop.ts';
import type { Figure } from './main.ts';

const PEER = new URL('../test/support/tcp-peer.mjs', import.meta.url).pathname;
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

interface Options {
  quick: boolean;
  progress: (msg: string) => void;
}

/** Runs `ip ARGS`; throws with its stderr on failure. */
export function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** A tcp-peer.mjs process inside namespace `ns`. */
function peer(peers: Peers, ns: string, args: string[]): ChildProcess & { out: () => string } {
  return peers.spawn('ip', ['netns', 'exec', ns, process.execPath, PEER, ...args]);
}

async function report(peers: Peers, p: ChildProcess & { out: () => string }): Promise<{ bytes: number; mbps: number }> {
  const m = await peers.waitFor(p, /\{.*\}\n/, 60_000);
  return JSON.parse(m[0]) as { bytes: number; mbps: number };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Why the TAP figures (and the others over a TAP in a namespace) cannot be measured here, or undefined. */
export function tapUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (namespaces, /dev/net/tun)';
  const load = loadTapAddon();
  if (!load.ok) return load.reason;
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return "no 'ip netns'";
  return undefined;
}

/**
 * Makes namespace `ns` (loopback up) and a TAP opened here (MTU 1500) whose kernel side
 * is moved into it with address `kernelCidr`, IPv4 only, up. The caller deletes `ns`.
 */
export function tapIntoNamespace(ns: string, tapName: string, kernelCidr: string): TapLink {
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  const tap = TapLink.open(tapName, { mtu: 1500 });
  try {
    ip('link', 'set', tapName, 'netns', ns);
    spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${tapName}.disable_ipv6=1`]);
    ip('-n', ns, 'addr', 'add', kernelCidr, 'dev', tapName);
    ip('-n', ns, 'link', 'set', tapName, 'up');
  } catch (e) {
    tap.close();
    throw e;
  }
  return tap;
}

export async function runTapBench(opts: Options): Promise<Figure[]> {
  const why = tapUnavailable();
  if (why !== undefined) {
    opts.progress(`tcp over TAP: skipped (${why})`);
    return [];
  }
  const bytes = (opts.quick ? 16 : 128) * MiB;
  const rounds = opts.quick ? 1 : 3;
  const tag = `${process.pid}`;
  const nsK = `iotnet-${tag}-bk`;
  const nsA = `iotnet-${tag}-ba`;
  const nsB = `iotnet-${tag}-bb`;
  const tapName = `iotb${tag}`.slice(0, 15);
  const peers = new Peers();
  let tap: TapLink | undefined;
  let stack: Stack | undefined;
  let runner: StackRunner | undefined;
  let network: Network | undefined;
  const cleanup = (): void => {
    peers.killNow();
    for (const ns of [nsK, nsA, nsB]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  };
  process.once('exit', cleanup);
  try {
    // --- the TAP: opened here (root namespace), kernel side moved into nsK.
    tap = tapIntoNamespace(nsK, tapName, '10.98.0.1/24');
    stack = new Stack({ rng: new XorShiftRng(9), name: 'bench-tap' });
    stack.addInterface(tap, { ipv4: { address: '10.98.0.2', prefixLen: 24 } });
    runner = new StackRunner(stack);
    network = new Network(createUserspaceBackend(stack, runner, { rng: new XorShiftRng(10) }));

    // --- veth baseline: nsA <-> nsB.
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', 'bva', 'netns', nsA, 'type', 'veth', 'peer', 'bvb', 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', '10.97.0.1/24', 'dev', 'bva');
    ip('-n', nsB, 'addr', 'add', '10.97.0.2/24', 'dev', 'bvb');
    for (const [ns, dev] of [[nsA, 'bva'], [nsB, 'bvb']] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }

    const tx: number[] = [];
    const rx: number[] = [];
    const veth: number[] = [];
    const chunk = new Uint8Array(CHUNK);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131 + 7) & 0xff;
    let port = 9100;
    for (let round = 0; round < rounds; round++) {
      // stack -> kernel
      {
        const sink = peer(peers, nsK, ['sink', '10.98.0.1', String(++port), '--no-hash']);
        await peers.waitFor(sink, /ready/);
        const s = await network.connect(`10.98.0.1:${port}`, { timeoutMs: 5000 });
        for (let sent = 0; sent < bytes; sent += CHUNK) await s.write(chunk);
        await s.end();
        const r = await report(peers, sink);
        await s.close();
        if (r.bytes !== bytes) throw new Error(`tap tx: the kernel got ${r.bytes} of ${bytes} bytes`);
        tx.push(r.mbps);
        opts.progress(`tcp over TAP, stack -> kernel, round ${round + 1}/${rounds}: ${r.mbps} MB/s`);
      }
      // kernel -> stack
      {
        const server = await network.listen({ host: '10.98.0.2', port: ++port });
        peer(peers, nsK, ['source', '10.98.0.2', String(port), String(bytes), '--no-hash']);
        const s = await server.accept({ timeoutMs: 5000 });
        let got = 0;
        let t0 = 0;
        for (let c = await s.read(); c !== null; c = await s.read()) {
          if (got === 0) t0 = performance.now();
          got += c.length;
        }
        const secs = (performance.now() - t0) / 1000;
        await s.close();
        await server.close();
        if (got !== bytes) throw new Error(`tap rx: the stack got ${got} of ${bytes} bytes`);
        const mbps = bytes / 1e6 / secs;
        rx.push(mbps);
        opts.progress(`tcp over TAP, kernel -> stack, round ${round + 1}/${rounds}: ${mbps.toFixed(1)} MB/s`);
      }
      // kernel -> kernel over veth
      {
        const sink = peer(peers, nsB, ['sink', '10.97.0.2', String(++port), '--no-hash']);
        await peers.waitFor(sink, /ready/);
        peer(peers, nsA, ['source', '10.97.0.2', String(port), String(bytes), '--no-hash']);
        const r = await report(peers, sink);
        if (r.bytes !== bytes) throw new Error(`veth: got ${r.bytes} of ${bytes} bytes`);
        veth.push(r.mbps);
        opts.progress(`tcp kernel <-> kernel over veth, round ${round + 1}/${rounds}: ${r.mbps} MB/s`);
      }
    }
    const goal = '>= 150 MB/s';
    return [
      { key: 'tcp_veth_kernel_mbps', label: 'TCP kernel <-> kernel over veth (node:net both ends)', value: median(veth), unit: 'MB/s' },
      { key: 'tcp_tap_tx_mbps', label: 'TCP stack -> kernel over TAP', value: median(tx), unit: 'MB/s', baseline: 'tcp_veth_kernel_mbps', goal },
      { key: 'tcp_tap_rx_mbps', label: 'TCP kernel -> stack over TAP', value: median(rx), unit: 'MB/s', baseline: 'tcp_veth_kernel_mbps', goal },
    ];
  } finally {
    await network?.close();
    runner?.close();
    stack?.close();
    tap?.close();
    cleanup();
    process.removeListener('exit', cleanup);
  }
}
