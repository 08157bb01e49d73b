/**
 * Harness of the interop tier (`npm test -- interop`): the userspace stack over a real
 * TAP interface, the Linux kernel and standard servers as peers.
 *
 * The tier runner (scripts/test.mjs) runs each interop file inside a fresh network
 * namespace made by scripts/netns-run.mjs (IOTNET_NETNS names it), which kills every
 * process left in it and deletes it afterwards, whatever happened. Inside, a test:
 * - opens a TAP with `tapHost(...)`: the TAP is created by the addon (non-persistent: it
 *   vanishes with the process), its kernel side gets `kernelIp/24` and comes up, and a
 *   userspace `Stack` with its runner, userspace backend and `Network` sits on our side,
 *   every frame captured to a pcap in IOTNET_INTEROP_PCAP_DIR (checked by tshark at the
 *   end of the tier);
 * - starts peers with `peers.spawn(...)`, killed in `peers.killAll()` (call it in `after`).
 *
 * `interopReady(t)` skips loudly (and fails under CI=true) when this is not root, not in
 * a namespace, or the TAP addon cannot be built.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createUserspaceBackend, type UserspaceBackend } from '../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { FaultInjector, PcapCapture, type Link } from '../../src/link/index.ts';
import { TapLink } from '../../src/link/tap-link.ts';
import { pcapFileSink, type FileSink } from '../../src/runtime/pcap-file.ts';
import { loadTapAddon } from '../../src/runtime/tap-native.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import { Network } from '../../src/socket/network.ts';
import { Stack, type StackOptions } from '../../src/stack/stack.ts';

const root = new URL('../..', import.meta.url).pathname;

/** Runs a command, returns stdout; throws with stderr on failure. */
export function sh(cmd: string, args: readonly string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && opts.allowFail !== true) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim()}`);
  }
  return r.stdout ?? '';
}

/**
 * Runs a command without blocking the event loop (the userspace stack in this process
 * must keep answering while a kernel-side tool talks to it). Resolves with its output
 * and exit code.
 */
export function run(cmd: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => { out += `[spawn error: ${e.message}]`; });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Why the interop tier cannot run here, or undefined. Builds the addon when missing. */
export function interopUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (TAP devices and namespaces need root)';
  if (process.env.IOTNET_NETNS === undefined) return "not inside the tier's network namespace (run it with 'npm test -- interop')";
  let load = loadTapAddon();
  if (!load.ok) {
    spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--quiet'], { stdio: 'ignore' });
    load = loadTapAddon();
  }
  return load.ok ? undefined : load.reason;
}

/** For a test: true (skipped loudly) when the tier cannot run; a failure under CI=true. */
export function skipWithoutInterop(t: { skip(msg: string): void }): boolean {
  const why = interopUnavailable();
  if (why === undefined) return false;
  const msg = `SKIPPED: interop tier unavailable: ${why}: tests against the Linux kernel and real servers NOT run`;
  process.stderr.write(`\n!!!!!!!! ${msg} !!!!!!!!\n`);
  if (process.env.CI === 'true') assert.fail(`${msg} (CI=true: a skip is a failure)`);
  t.skip(msg);
  return true;
}

/** Child processes of a test, killed at the end. */
export class Peers {
  private readonly children = new Set<ChildProcess>();

  /** Starts `cmd args`; output is collected in `out` (stdout and stderr). */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess & { out: () => string } {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let text = '';
    child.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
    child.on('error', (e) => { text += `\n[spawn error: ${e.message}]`; });
    this.children.add(child);
    child.on('close', () => this.children.delete(child));
    return Object.assign(child, { out: () => text });
  }

  /** Resolves when `child`'s output matches `re` (or rejects after `timeoutMs`). */
  async waitFor(child: ChildProcess & { out: () => string }, re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(child.out());
      if (m !== null) return m;
      if (child.exitCode !== null || Date.now() > end) throw new Error(`waiting for ${re} from ${child.spawnfile}: ${child.exitCode !== null ? `exited ${child.exitCode}` : 'timed out'}; output:\n${child.out()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGKILLs every child at once (for synchronous cleanup, e.g. in a process 'exit' handler). */
  killNow(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }

  async killAll(): Promise<void> {
    const waits = [...this.children].map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('close', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 2000).unref();
    }));
    await Promise.all(waits);
  }
}

/** Directory for this tier's captures (all checked by tshark at the end of the tier). */
export function pcapDir(): string {
  const dir = process.env.IOTNET_INTEROP_PCAP_DIR ?? join(root, '.interop-pcap');
  mkdirSync(dir, { recursive: true });
  return dir;
}

let tapCounter = 0;

export interface TapHostOptions {
  /** Third octet of 10.99.N.0/24 (kernel .1, stack .2); default a counter. */
  readonly subnet?: number;
  /** Capture file name (in `pcapDir()`); default `<tap>.pcap`. None with `capture: false`. */
  readonly capture?: string | false;
  /** Seeded loss (percent, each way) on our side of the TAP. */
  readonly lossPct?: number;
  /** Give the stack no address (DHCP tests). */
  readonly noAddress?: boolean;
  readonly stack?: Partial<StackOptions>;
  readonly mtu?: number;
  /** Wraps the link under the capture (a filter, say). */
  readonly wrap?: (link: Link) => Link;
  /**
   * IPv6 on the kernel's side of the TAP (default: disabled there): `sysctl` settings of
   * `net.ipv6.conf.<tap>.*` (`accept_dad`, `accept_ra`, ...) and `addresses` (`ADDR/LEN`,
   * with any `ip addr` flags after a space: `'2001:db8::1/64 nodad'`), applied before the
   * link comes up. The stack's IPv6 is the test's (`stack.enableIpv6`).
   */
  readonly kernelIpv6?: { readonly sysctl?: Readonly<Record<string, string | number>>; readonly addresses?: readonly string[] };
}

export interface TapHost {
  readonly tap: TapLink;
  readonly name: string;
  readonly kernelIp: string;
  readonly stackIp: string;
  readonly stack: Stack;
  readonly runner: StackRunner;
  readonly backend: UserspaceBackend;
  readonly network: Network;
  readonly ifIndex: number;
  readonly fault: FaultInjector | undefined;
  close(): Promise<void>;
}

/** A TAP whose kernel side is 10.99.N.1/24, with a userspace stack (10.99.N.2/24) on ours. */
export function tapHost(opts: TapHostOptions = {}): TapHost {
  const n = opts.subnet ?? 10 + (tapCounter++ % 200);
  const name = `iot${process.pid % 100000}x${n}`.slice(0, 15);
  const tap = TapLink.open(name, opts.mtu !== undefined ? { mtu: opts.mtu } : {});
  const kernelIp = `10.99.${n}.1`;
  const stackIp = `10.99.${n}.2`;
  // IPv4 only unless asked: no MLD/ND/RS frames from the kernel side.
  const v6 = opts.kernelIpv6;
  sh('sysctl', ['-q', '-w', `net.ipv6.conf.${name}.disable_ipv6=${v6 === undefined ? 1 : 0}`], { allowFail: v6 === undefined });
  for (const [key, value] of Object.entries(v6?.sysctl ?? {})) sh('sysctl', ['-q', '-w', `net.ipv6.conf.${name}.${key}=${value}`]);
  for (const a of v6?.addresses ?? []) sh('ip', ['-6', 'addr', 'add', ...a.split(' '), 'dev', name]);
  sh('ip', ['addr', 'add', `${kernelIp}/24`, 'dev', name]);
  sh('ip', ['link', 'set', name, 'up']);
  let link: Link = tap;
  const fault = opts.lossPct !== undefined && opts.lossPct > 0
    ? new FaultInjector(link, { rng: new XorShiftRng(7000 + n), scheduler: systemScheduler, lossPct: opts.lossPct, direction: 'both' })
    : undefined;
  if (fault !== undefined) link = fault;
  if (opts.wrap !== undefined) link = opts.wrap(link);
  let file: FileSink | undefined;
  if (opts.capture !== false) {
    file = pcapFileSink(join(pcapDir(), opts.capture ?? `${name}.pcap`));
    link = new PcapCapture(link, { clock: systemScheduler, sink: file.sink });
  }
  const stack = new Stack({ rng: new XorShiftRng(100 + n), name: `tap${n}`, ...opts.stack });
  const ifIndex = stack.addInterface(link, opts.noAddress === true ? {} : { ipv4: { address: stackIp, prefixLen: 24 } });
  const runner = new StackRunner(stack);
  const backend = createUserspaceBackend(stack, runner, { connectTimeoutMs: 5000 });
  const network = new Network(backend);
  return {
    tap, name, kernelIp, stackIp, stack, runner, backend, network, ifIndex, fault,
    async close() {
      await network.close();
      await backend.close();
      runner.close();
      stack.close();
      link.close();
      await file?.close();
    },
  };
}
