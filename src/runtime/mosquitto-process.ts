/**
 * A mosquitto broker as a child process for the IoT demo: a plain MQTT listener on a free
 * loopback port, anonymous, no persistence, its config in a temporary directory that `stop()`
 * removes. `findMosquitto()` says whether the host has one (Debian installs it in /usr/sbin,
 * often not on a user's PATH).
 *
 * ```ts
 * const bin = findMosquitto();
 * if (bin !== undefined) {
 *   const m = await startMosquittoProcess({ binary: bin });
 *   // ... connect to 127.0.0.1:m.port ...
 *   await m.stop();
 * }
 * ```
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stopChildProcess } from './child-stop.ts';

/** Settings of `startMosquittoProcess`. */
export interface MosquittoProcessOptions {
  /** The executable (default: `findMosquitto()`). */
  readonly binary?: string | undefined;
  /** Loopback address to listen on (default 127.0.0.1). */
  readonly host?: string | undefined;
  /** The listener must accept connections within this long (default 5000 ms). */
  readonly readyTimeoutMs?: number | undefined;
  /** More config lines. */
  readonly extra?: readonly string[] | undefined;
}

/** A running mosquitto. */
export interface MosquittoProcess {
  readonly host: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** What mosquitto logged so far (stderr). */
  log(): string;
  /** Stops the broker (SIGTERM, SIGKILL after 2 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** The mosquitto executable: on PATH, or in /usr/sbin or /usr/local/sbin; undefined when none. */
export function findMosquitto(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) {
    const p = join(d, 'mosquitto');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not there
    }
  }
  return undefined;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts mosquitto and resolves once its listener accepts connections. */
export async function startMosquittoProcess(options: MosquittoProcessOptions = {}): Promise<MosquittoProcess> {
  const binary = options.binary ?? findMosquitto();
  if (binary === undefined) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
  const host = options.host ?? '127.0.0.1';
  const port = await freePort(host);
  const dir = mkdtempSync(join(tmpdir(), 'iotnet-demo-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  // `user root`: stay who we are when started as root (mosquitto otherwise switches to its own user).
  const lines = ['user root', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', `listener ${port} ${host}`,
    'allow_anonymous true', 'max_queued_messages 10000', ...(options.extra ?? [])];
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn(binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (text.length < 64 * 1024) text += d.toString();
  });
  child.on('error', (e) => {
    text += `\n[spawn error: ${e.message}]`;
  });
  // Should this process end without stop() (an uncaught error, process.exit), the broker goes too.
  const onExit = (): void => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= (async () => {
    process.off('exit', onExit);
    await stopChildProcess(child);
    rmSync(dir, { recursive: true, force: true });
  })());
  const deadline = performance.now() + (options.readyTimeoutMs ?? 5000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`mosquitto exited at start (${child.exitCode ?? child.signalCode}): ${text.trim()}`);
    }
    if (await canConnect(host, port)) break;
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not listen on ${host}:${port} within ${options.readyTimeoutMs ?? 5000} ms: ${text.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 30));
  }
  return { host, port, pid: child.pid, log: () => text, stop };
}
