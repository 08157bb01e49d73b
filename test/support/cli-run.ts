/**
 * The `iotnet` CLI as a child process, for the CLI tests: `runCli(...)` runs a command to its
 * end without blocking the event loop (an in-process broker or server keeps answering), and
 * `startCli(...)` starts a long-running one (sockserver, sim, tap) whose output can be waited
 * for. `assertUsageError` checks the usage-error contract: exit 2, a message naming the
 * problem and the command's usage on stderr.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const CLI_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = 'bin/iotnet.js';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `iotnet args...` to its end (killed after `timeoutMs`, default 60 s). */
export function runCli(args: readonly string[], opts: { timeoutMs?: number; input?: string | Uint8Array; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: CLI_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** A running `iotnet` command. */
export interface CliProcess {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves with the first match of `re` in stdout (or stderr with `stream: 'stderr'`); fails after `ms` or when the child exits. */
  waitFor(re: RegExp, ms?: number, stream?: 'stdout' | 'stderr'): Promise<RegExpExecArray>;
  /** Resolves with the exit code once the command exits by itself. */
  exited(): Promise<number | null>;
  /** Sends `signal` (default SIGINT) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startCli(args: readonly string[]): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: CLI_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    out: () => out,
    err: () => err,
    exited: () => exited,
    async waitFor(re, ms = 20_000, stream = 'stdout') {
      const end = Date.now() + ms;
      for (;;) {
        const m = re.exec(stream === 'stdout' ? out : err);
        if (m !== null) return m;
        if (child.exitCode !== null || Date.now() > end) {
          assert.fail(`iotnet ${args.join(' ')}: no ${String(re)} ${child.exitCode !== null ? `(exited ${child.exitCode})` : `within ${ms} ms`}\nstdout: ${out}\nstderr: ${err}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(t);
        return code;
      }
      return child.exitCode;
    },
  };
}

/** The usage-error contract: exit 2, `message` on stderr, then the command's usage. */
export function assertUsageError(r: CliResult, command: string, message: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, message, `${what}: stderr`);
  assert.match(r.stderr, new RegExp(`Usage: iotnet ${command}`), `${what}: the usage follows`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
}

/** A TCP port on 127.0.0.1 that nobody listens on (just closed): a connection there is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}
