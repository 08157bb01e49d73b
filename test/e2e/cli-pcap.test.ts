/**
 * `iotnet pcap FILE` as a child process, on a capture this test makes with our own link
 * capture code (`PcapCapture` on a virtual cable, written by `pcapFileSink`): two stacks on
 * virtual time exchange ARP, a fragmented ping, UDP to port 53 and a TCP echo on port 1883.
 * The text summary and `--json` must say so; a missing file, a file that is no pcap and a
 * cut file are run-time failures or reported; bad arguments exit 2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { VirtualScheduler } from '../../src/base/time.ts';
import { createCable, PcapCapture } from '../../src/link/index.ts';
import { pcapFileSink } from '../../src/runtime/pcap-file.ts';
import { Network } from '../../src/socket/network.ts';
import { assertUsageError, runCli, type CliResult } from '../support/cli-run.ts';
import { addHost, openUdp, pattern, run, tcpEcho, type Host } from '../support/stack-net.ts';

describe('iotnet pcap', () => {
  let dir = '';
  let file = '';
  let frames = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iotnet-cli-pcap-'));
    file = join(dir, 'two-stacks.pcap');
    const sched = new VirtualScheduler();
    const [a, b] = createCable();
    const sink = pcapFileSink(file);
    const cap = new PcapCapture(a, { clock: sched, sink: sink.sink });
    const A = addHost(sched, cap, '10.0.0.1', 1);
    const B = addHost(sched, b, '10.0.0.2', 2);
    run(sched, 10);
    A.stack.ping(sched.now(), B.ip, { size: 4000 });
    run(sched, 100);
    A.stack.udpSendTo(sched.now(), openUdp(A.stack), new Uint8Array(20), 20, B.ip, 53);
    run(sched, 100);
    const net = (h: Host, seed: number): Network => new Network(createUserspaceBackend(h.stack, h.runner, { rng: new XorShiftRng(seed) }), { scheduler: sched, rng: new XorShiftRng(seed + 1) });
    await tcpEcho(sched, net(B, 20), net(A, 30), '10.0.0.2', 1883, pattern(10_000, 1));
    run(sched, 1000);
    frames = cap.frames;
    await sink.close();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--help: what it decodes and the options, exit 0', async () => {
    const r = await runCli(['pcap', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: iotnet pcap FILE/);
    for (const o of ['--json', '--top', 'Ethernet', 'PPP', '802.15.4', 'MQTT']) assert.ok(r.stdout.includes(o), o);
  });

  it('a capture of our own stacks: the text summary, exit 0', async () => {
    const r = await runCli(['pcap', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^link type: +1 \(Ethernet\)$/m);
    assert.match(r.stdout, new RegExp(`^records: +${frames}$`, 'm'));
    assert.match(r.stdout, /^malformed: +0$/m);
    for (const p of ['Ethernet', 'ARP', 'IPv4', 'IPv4 fragment', 'ICMP', 'UDP', 'DNS', 'TCP', 'MQTT']) assert.match(r.stdout, new RegExp(`^  ${p} +\\d+$`, 'm'), p);
    assert.match(r.stdout, /^top conversations \(by bytes\):\n {2}TCP +10\.0\.0\.1:\d+ <-> 10\.0\.0\.2:1883 +\d+ records, \d+ bytes$/m);
  });

  it('--json: one object with the counts, exit 0', async () => {
    const r = await runCli(['pcap', '--json', '--top', '2', file]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { linkType: number; records: number; malformed: number; protocols: Record<string, number>; conversations: unknown[]; bytes: number };
    assert.equal(s.linkType, 1);
    assert.equal(s.records, frames);
    assert.equal(s.malformed, 0);
    assert.equal(s.protocols.Ethernet, frames);
    assert.equal(s.protocols.DNS, 1);
    assert.ok((s.protocols.MQTT ?? 0) > 0);
    assert.equal(s.conversations.length, 2);
    assert.equal(s.bytes, readFileSync(file).length - 24 - 16 * frames);
  });

  it("FILE '-' reads the capture from stdin, exit 0", async () => {
    const r = await runCli(['pcap', '-', '--json'], { input: readFileSync(file) });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { file: string; records: number; malformed: number };
    assert.deepEqual([s.file, s.records, s.malformed], ['-', frames, 0]);
  });

  it('a cut file is summarised up to the cut (exit 0); no file or no pcap: exit 1', async () => {
    const cut = join(dir, 'cut.pcap');
    const bytes = readFileSync(file);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'this is not a capture at all');
    const [c, missing, notPcap] = await Promise.all([runCli(['pcap', cut]), runCli(['pcap', join(dir, 'nope.pcap')]), runCli(['pcap', junk])]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, new RegExp(`^records: +${frames - 1}$`, 'm'));
    assert.match(c.stdout, /^truncated: +\d+ bytes after the last whole record/m);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /iotnet pcap: cannot read .*nope\.pcap: no such file/);
    assert.equal(notPcap.code, 1);
    assert.match(notPcap.stderr, /not a pcap file/);
  });

  it('bad arguments: a clear message, the usage, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /FILE is missing/],
      [['a.pcap', 'b.pcap'], /one FILE only/],
      [['a.pcap', '--top', 'ten'], /--top: not a count/],
      [['a.pcap', '--bogus'], /unknown option '--bogus'/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['pcap', ...args])));
    cases.forEach(([args, message], i) => assertUsageError(results[i] as CliResult, 'pcap', message, `pcap ${args.join(' ')}`));
  });
});
