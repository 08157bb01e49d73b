import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const bin = new URL('../../bin/iotnet.js', import.meta.url).pathname;
type Run = { status: number | null; stdout: string; stderr: string };
function iotnet(...args: string[]): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** `npm start` itself, as a user types it after `npm ci`. */
function npmStart(): Run {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['start'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 0, the summary says every step passed, no ✘ line, at least `min` steps. */
function assertAllPassed(r: Run, min: number): void {
  assert.equal(r.status, 0, `exit status; output:\n${r.stdout}\n${r.stderr}`);
  const m = /(\d+) of (\d+) steps passed/.exec(r.stdout);
  assert.ok(m, `summary line; output:\n${r.stdout}`);
  assert.equal(m[1], m[2], `every step passed; output:\n${r.stdout}`);
  assert.ok(Number(m[2]) >= min, 'all demo steps ran');
  assert.doesNotMatch(r.stdout, /\u2718/, 'no failed step');
  assert.equal((r.stdout.match(/^ {2}\u2714 /gm) ?? []).length, Number(m[2]), 'one \u2714 line per step');
}

const CLIENT_STEPS = ['TCP echo (IoT Socket)', 'UDP echo (IoT Socket)', 'daytime (IoT Socket)', 'non-blocking connect (IoT Socket)',
  'stream.pipeline through the echo service (Duplex)', 'chargen by async iteration (idiomatic API)', 'TCP bulk through the echo service (idiomatic API)'];

describe('iotnet demo (npm start)', () => {
  it('npm start: the embedded virtual network: DHCP lease, DNS resolution, both APIs, clean exit 0', () => {
    const r = npmStart();
    assertAllPassed(r, 16);
    assert.match(r.stdout, /an embedded virtual network/);
    assert.match(r.stdout, /\u2714 DHCP lease \(device\) +192\.168\.7\.1\d\d\/24 from 192\.168\.7\.1 in \d+ ms: router 192\.168\.7\.1, DNS 192\.168\.7\.1, domain iot\.test, lease 3600 s/,
      'the lease line: address, router, DNS, lease time');
    assert.match(r.stdout, /\u2714 RFC 5227 address probe \(device\) +.*shortened for the demo/);
    assert.match(r.stdout, /\u2714 iotSocketGetHostByName +sockserver\.iot\.test -> 192\.168\.7\.1 through DNS at 192\.168\.7\.1:53 \(from the lease/,
      'the DNS resolution line');
    for (const step of [...CLIENT_STEPS, 'DHCP release (device)', 'everything closed']) {
      assert.ok(r.stdout.includes(`\u2714 ${step}`), `step '${step}' passed`);
    }
  });
  it('--stack host: the host stack on loopback, every step passes', () => {
    const r = iotnet('demo', '--stack', 'host');
    assertAllPassed(r, 9);
    assert.match(r.stdout, /the host stack talking to the reference test server/);
    assert.match(r.stdout, /\u2714 iotSocketGetHostByName +localhost -> 127\.0\.0\.1/, 'the name resolution line');
    for (const step of CLIENT_STEPS) assert.ok(r.stdout.includes(`\u2714 ${step}`), `step '${step}' passed`);
  });
  it('--stack=host --port-offset K: the test server on the upstream ports + K', () => {
    const k = 20000 + 100 * Math.floor(Math.random() * 200) + 7;
    const r = iotnet('demo', '--stack=host', '--port-offset', String(k));
    assertAllPassed(r, 9);
    assert.match(r.stdout, new RegExp(`\u2714 test server +\\d+ listeners on loopback \\(echo ${k + 7}, chargen ${k + 19}, control ${k + 5000}\\)`));
  });
  it('--help prints the usage and exits 0', () => {
    const r = iotnet('demo', '--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: iotnet demo/);
    assert.match(r.stdout, /--stack S +embedded \(default\) or host/);
  });
  it('a bad argument exits 2 with a clear message', () => {
    const r = iotnet('demo', '--port-offset', 'abc');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--port-offset needs a number/);
    const u = iotnet('demo', '--bogus');
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown option '--bogus'/);
    const s = iotnet('demo', '--stack', 'kernel');
    assert.equal(s.status, 2);
    assert.match(s.stderr, /--stack needs 'embedded' or 'host', got 'kernel'/);
  });
});
