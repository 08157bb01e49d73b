/**
 * A mosquitto broker for tests: written config, started as a child process, stopped
 * (and its directory removed) by `stop()`. Each listener has its own settings
 * (`per_listener_settings true`): plain or TLS, anonymous or a password file, client
 * certificates required or not, the certificate's CN as the user name, an ACL file.
 *
 * mosquitto is a Debian package (`mosquitto`, 2.0.x): `ensureMosquitto()` installs it
 * when missing (root), else says why not (the test then skips loudly, and fails under
 * CI=true, through `skipWithoutTool`). apt's policy-rc.d starts no service: the
 * broker runs only while a test holds it. It runs as root (`user root`) so it can read
 * the test's 0600 key files.
 *
 * ```ts
 * const broker = await startMosquitto({ listeners: [{ port: 1883 }, { port: 8883, tls: { ...pkiFiles, requireCertificate: true } }] });
 * ...
 * await broker.stop();
 * ```
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChildProcess } from '../../src/runtime/child-stop.ts';
import { skipWithoutTool } from './system-tool.ts';

export interface MosquittoTls {
  /** PEM files: trusted root for client certificates, server chain, server key. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Demand a client certificate signed by `caFile` (default false). */
  readonly requireCertificate?: boolean;
  /** The client certificate's CN becomes the user name (default false). */
  readonly useIdentityAsUsername?: boolean;
}

export interface MosquittoListener {
  readonly port: number;
  /** Address to bind (default: every address). */
  readonly host?: string;
  readonly tls?: MosquittoTls;
  /** User names and passwords checked by mosquitto (a hashed password file). */
  readonly passwords?: Readonly<Record<string, string>>;
  /** Anonymous clients (default: true without `passwords` and certificate identities). */
  readonly allowAnonymous?: boolean;
  /** ACL file text (`user ...`, `topic readwrite ...`, `pattern ...`). */
  readonly acl?: string;
}

export interface MosquittoOptions {
  readonly listeners: readonly MosquittoListener[];
  /** More global config lines (`max_inflight_messages 100`, ...). */
  readonly extra?: readonly string[];
  /** Run inside this network namespace (`ip netns exec NS mosquitto ...`; root). Default: this process's. */
  readonly netns?: string;
}

export interface Mosquitto {
  readonly process: ChildProcess;
  readonly dir: string;
  /** Everything mosquitto logged so far. */
  log(): string;
  /**
   * Replaces the password file of the listener on `port` and makes mosquitto reload it
   * (SIGHUP); resolves once the reload was logged. mosquitto 2.0 then disconnects the
   * clients whose credentials the new file no longer accepts (a rotated token).
   */
  setPasswords(port: number, passwords: Readonly<Record<string, string>>): Promise<void>;
  stop(): Promise<void>;
}

/** For a test: true (skipped loudly, a failure under CI=true) when mosquitto cannot be had. */
export function skipWithoutMosquitto(t: { skip(msg: string): void }): boolean {
  return skipWithoutTool(t, 'mosquitto', 'mosquitto', 'MQTT against mosquitto')
    || skipWithoutTool(t, 'mosquitto_passwd', 'mosquitto', 'MQTT against mosquitto')
    || skipWithoutTool(t, 'mosquitto_pub', 'mosquitto-clients', 'MQTT against mosquitto');
}

/** Writes the config, starts mosquitto and resolves once every listener is open. */
export async function startMosquitto(options: MosquittoOptions): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'iotnet-mosquitto-'));
  const lines = [
    'user root',
    'per_listener_settings true',
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages true',
    'log_timestamp false',
    ...(options.extra ?? []),
  ];
  const passwordFiles = new Map<number, string>();
  const writePasswords = (file: string, passwords: Readonly<Record<string, string>>): void => {
    writeFileSync(file, '', { mode: 0o600 });
    for (const [user, password] of Object.entries(passwords)) {
      const r = spawnSync('mosquitto_passwd', ['-b', file, user, password], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mosquitto_passwd failed for ${user}: ${r.stderr || r.stdout}`);
    }
  };
  options.listeners.forEach((l, i) => {
    lines.push('', `listener ${l.port}${l.host !== undefined ? ` ${l.host}` : ''}`);
    const identity = l.tls?.useIdentityAsUsername === true;
    lines.push(`allow_anonymous ${l.allowAnonymous ?? (l.passwords === undefined && !identity)}`);
    if (l.tls !== undefined) {
      lines.push(`cafile ${l.tls.caFile}`, `certfile ${l.tls.certFile}`, `keyfile ${l.tls.keyFile}`);
      lines.push(`require_certificate ${l.tls.requireCertificate ?? false}`);
      if (identity) lines.push('use_identity_as_username true');
    }
    if (l.passwords !== undefined) {
      const file = join(dir, `passwd-${i}`);
      writePasswords(file, l.passwords);
      passwordFiles.set(l.port, file);
      lines.push(`password_file ${file}`);
    }
    if (l.acl !== undefined) {
      const file = join(dir, `acl-${i}`);
      writeFileSync(file, l.acl, { mode: 0o600 });
      lines.push(`acl_file ${file}`);
    }
  });
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  // `ip netns exec` execs mosquitto in place, so the child is mosquitto itself.
  const netns = options.netns !== undefined ? ['netns', 'exec', options.netns, 'mosquitto'] : [];
  const child = spawn(netns.length > 0 ? 'ip' : 'mosquitto', [...netns, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
  child.on('error', (e) => { text += `\n[spawn error: ${e.message}]`; });
  const stop = async (): Promise<void> => {
    await stopChildProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready once it says it runs (after opening every listener), or it died.
  const deadline = Date.now() + 10_000;
  while (!/mosquitto version \S+ running/.test(text)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not start (${child.exitCode !== null ? `exit ${child.exitCode}` : 'timeout'}):\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const setPasswords = async (port: number, passwords: Readonly<Record<string, string>>): Promise<void> => {
    const file = passwordFiles.get(port);
    if (file === undefined) throw new Error(`no listener on port ${port} has a password file`);
    writePasswords(file, passwords);
    const reloads = (): number => text.split('Reloading config.').length;
    const before = reloads();
    child.kill('SIGHUP');
    const end = Date.now() + 5000;
    while (reloads() === before) {
      if (child.exitCode !== null || Date.now() > end) throw new Error(`mosquitto did not reload its config:\n${text}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { process: child, dir, log: () => text, setPasswords, stop };
}
