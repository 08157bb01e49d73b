/**
 * The `iotnet` CLI as a child process: the dispatcher's exit codes and
 * `iotnet sockserver` serving, then stopping cleanly on SIGINT / SIGTERM.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = 'bin/iotnet.js';

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('iotnet CLI dispatcher', () => {
  it('--help lists the commands, exit 0', () => {
    const r = run('--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: iotnet <command>/);
    assert.match(r.stdout, /sockserver/);
  });

  it('--version: the package version, exit 0', () => {
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) {
      const r = run(flag);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `iotnet ${version}\n`);
    }
  });

  it('every command listed by --help has its own --help (exit 0, its usage on stdout)', () => {
    const list = run('--help').stdout;
    const commands = [...list.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1] as string);
    assert.deepEqual(commands.sort(), ['bench', 'demo', 'mqtt', 'pcap', 'ping', 'sim', 'sockserver', 'tap']);
    for (const c of commands) {
      const r = run(c, '--help');
      assert.equal(r.status, 0, `${c}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: iotnet ${c}`), c);
      assert.equal(r.stderr, '', c);
    }
  });

  it('no command: usage on stderr, exit 2', () => {
    const r = run();
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Usage: iotnet/);
  });

  it('unknown command: message, exit 2', () => {
    const r = run('frobnicate');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  it('sockserver --help exit 0; bad options exit 2', () => {
    const help = run('sockserver', '--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--port-offset/);
    for (const bad of [['--bogus'], ['--port-offset', 'abc'], ['--port-offset'], ['--port-offset=-3'], ['--chargen-style', 'x']]) {
      const r = run('sockserver', ...bad);
      assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /Usage: iotnet sockserver/);
    }
  });
});

describe('iotnet sockserver', () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`serves with --port-offset and stops cleanly on ${sig} (exit 0)`, async () => {
      const offset = 30000 + randomInt(0, 5000);
      const child = spawn(process.execPath, [bin, 'sockserver', '--port-offset', String(offset), '--no-ipv6'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      try {
        for (let i = 0; i < 300 && !out.includes('ready'); i++) {
          if (child.exitCode !== null) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.match(out, /ready/, `stdout: ${out}\nstderr: ${err}`);
        assert.ok(out.includes(`sockserver: echo tcp 0.0.0.0:${offset + 7}\n`), out);
        assert.ok(out.includes(`sockserver: control tcp 0.0.0.0:${offset + 5000}\n`), out);
        assert.equal(out.split('\n').filter((l) => / (tcp|udp) /.test(l)).length, 13, 'one line per listener');

        const s = net.connect(offset + 7, '127.0.0.1');
        await once(s, 'connect');
        s.write('cli echo');
        const [data] = (await once(s, 'data')) as [Buffer];
        assert.equal(data.toString(), 'cli echo');
        s.destroy();

        const exited = once(child, 'exit');
        child.kill(sig);
        const [code] = (await exited) as [number | null];
        assert.equal(code, 0, `stderr: ${err}`);
        assert.match(out, /stopped/);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  }
});
