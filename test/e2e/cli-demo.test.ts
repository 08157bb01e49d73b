import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const bin = new URL('../../bin/iotnet.js', import.meta.url).pathname;
function iotnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('iotnet demo (npm start)', () => {
  it('runs every step against the test server and exits 0', () => {
    const r = iotnet('demo');
    assert.equal(r.status, 0, `exit status; output:\n${r.stdout}\n${r.stderr}`);
    const m = /(\d+) of (\d+) steps passed/.exec(r.stdout);
    assert.ok(m, 'summary line');
    assert.equal(m[1], m[2], 'every step passed');
    assert.ok(Number(m[2]) >= 8, 'all demo steps ran');
    for (const step of ['TCP echo (IoT Socket)', 'UDP echo (IoT Socket)', 'non-blocking connect (IoT Socket)',
      'stream.pipeline through the echo service (Duplex)', 'chargen by async iteration (idiomatic API)']) {
      assert.ok(r.stdout.includes(`\u2714 ${step}`), `step '${step}' passed`);
    }
  });
  it('--help prints the usage and exits 0', () => {
    const r = iotnet('demo', '--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: iotnet demo/);
  });
  it('a bad argument exits 2 with a clear message', () => {
    const r = iotnet('demo', '--port-offset', 'abc');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--port-offset needs a number/);
    const u = iotnet('demo', '--bogus');
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown option '--bogus'/);
  });
});
