/**
 * `iotnet sim esp-at|quectel` as a child process: it prints its pty's device path; a client
 * opens that path with serialport and drives the module (boot banner, AT, a join or the SIM
 * check); SIGINT stops it with exit 0. Usage errors exit 2.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { openSerialPort } from '../../src/runtime/serial-port.ts';
import { skipWithoutPty } from '../support/pty.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = 'bin/iotnet.js';

/** Collects latin1 text from a stream; `until(re)` waits for a match (or fails after `ms`). */
function collector(): { push: (b: Uint8Array) => void; until: (re: RegExp, ms?: number) => Promise<string> } {
  let text = '';
  let wake: (() => void) | undefined;
  return {
    push(b) {
      text += Buffer.from(b).toString('latin1');
      wake?.();
    },
    async until(re, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!re.test(text)) {
        assert.ok(Date.now() < deadline, `no ${String(re)} within ${ms} ms; got ${JSON.stringify(text)}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      const all = text;
      text = '';
      return all;
    },
  };
}

describe('iotnet sim', () => {
  it('--help exit 0; no module or a bad option exit 2', () => {
    const help = spawnSync(process.execPath, [bin, 'sim', '--help'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--dialect/);
    for (const bad of [[], ['modem'], ['esp-at', '--dialect', 'x'], ['quectel', '--fault', 'busy=2'], ['esp-at', '--bogus']]) {
      const r = spawnSync(process.execPath, [bin, 'sim', ...bad], { cwd: root, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /Usage: iotnet sim/);
    }
  });

  for (const [kind, script] of [
    ['esp-at', [['AT', /\r\nOK\r\n/], ['AT+CWJAP="iotnet","iotnet-pass"', /WIFI GOT IP\r\n\r\nOK\r\n/], ['AT+CIPSTA?', /\+CIPSTA:ip:"10\.9\.8\.7"/]]],
    ['quectel', [['AT', /\r\nOK\r\n/], ['AT+CPIN?', /\+CPIN: READY\r\n\r\nOK\r\n/], ['AT+QIACT=1', /OK\r\n/], ['AT+QIACT?', /\+QIACT: 1,1,1,"10\.9\.8\.7"/]]],
  ] as const) {
    it(`${kind}: prints its device; a serialport client drives it; SIGINT stops it (exit 0)`, async (t) => {
      if (skipWithoutPty(t, `iotnet sim ${kind}`)) return;
      const child = spawn(process.execPath, [bin, 'sim', kind, '--ip', '10.9.8.7'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const out = collector();
        child.stdout.on('data', (b: Buffer) => out.push(b));
        const banner = await out.until(/device (\/dev\/pts\/\d+)/);
        const path = /device (\/dev\/pts\/\d+)/.exec(banner)?.[1] as string;
        const port = await openSerialPort(path, { baudRate: 115200 });
        try {
          const rx = collector();
          port.onData((b) => rx.push(b));
          await rx.until(kind === 'esp-at' ? /ready\r\n/ : /RDY\r\n/);
          if (kind === 'quectel') {
            // The SIM is busy just after boot and the modem registers a moment later: wait for both.
            for (let i = 0; ; i++) {
              port.write(Buffer.from('AT+CEREG?\r', 'latin1'));
              const r = await rx.until(/OK\r\n|ERROR\r\n/, 5000);
              if (/\+CEREG: \d,[15]/.test(r)) break;
              assert.ok(i < 40, `not registered: ${JSON.stringify(r)}`);
              await new Promise((res) => setTimeout(res, 250));
            }
          }
          for (const [cmd, reply] of script) {
            port.write(Buffer.from(`${cmd}${kind === 'esp-at' ? '\r\n' : '\r'}`, 'latin1'));
            await rx.until(reply, 20_000);
          }
        } finally {
          port.close();
        }
        child.kill('SIGINT');
        const [code] = (await once(child, 'exit')) as [number | null];
        assert.equal(code, 0);
        assert.match(await out.until(/counters/), /stopping; counters \{/);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  }
});
