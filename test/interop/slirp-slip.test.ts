/**
 * SLIP against a real peer (issue 8): `slirp-fullbolt nozeros` (Debian package `slirp`) with its
 * stdin/stdout on the slave of one of our pty pairs; on the master, a `SlipLink` under our
 * userspace stack (10.0.2.15/24, gateway 10.0.2.2: slirp's address for the host). Slirp NATs
 * 10.0.2.2 to the host's 127.0.0.1, where this process runs a node:net TCP echo service. Through
 * our socket API (`createUserspaceBackend` + `Network`) 64 KiB go out and must come back with the
 * same SHA-256. Every packet our stack sent and received is captured (pcap, linktype RAW 101) and
 * read by tshark with checksum validation: no malformed packet, no bad IPv4/TCP checksum, no
 * expert error.
 *
 * The capture stays in a temporary directory of its own (removed when the check passes): the
 * tier's shared capture directory is merged into one classic pcap by zz-pcap-check, which cannot
 * mix raw-IP records with the Ethernet captures there. `nozeros` is always passed: without it five
 * 0x00 bytes in a row make slirp end the session. Slirp is killed (SIGKILL) however the test ends;
 * the tier's namespace runner kills anything left too.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { PcapCapture, PcapLinkType, SlipLink } from '../../src/link/index.ts';
import { pcapFileSink } from '../../src/runtime/pcap-file.ts';
import { openPty, type PtyMaster } from '../../src/runtime/pty.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import { Network } from '../../src/socket/network.ts';
import { Stack } from '../../src/stack/stack.ts';
import { concatBytes } from '../../src/wire/bytes.ts';
import { Peers, run, skipWithoutInterop } from '../support/interop.ts';
import { skipWithoutPty } from '../support/pty.ts';
import { pattern } from '../support/stack-net.ts';
import { skipWithoutTool } from '../support/system-tool.ts';

const SIZE = 64 * 1024;
const TIMEOUT_MS = 60_000;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const BAD = '_ws.malformed || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || _ws.expert.severity == "Error"';

const peers = new Peers();
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await peers.killAll();
});

it('slirp-fullbolt over a pty: 64 KiB TCP echo to a host service through our SLIP link, capture clean in tshark', { timeout: 120_000 }, async (t) => {
  if (
    skipWithoutInterop(t) ||
    skipWithoutPty(t, 'SLIP against slirp-fullbolt') ||
    skipWithoutTool(t, 'slirp-fullbolt', 'slirp', 'SLIP against slirp-fullbolt') ||
    skipWithoutTool(t, 'tshark', 'tshark', 'the SLIP capture against slirp-fullbolt')
  ) return;

  // The kernel-side echo service slirp reaches for 10.0.2.2.
  const echo = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  cleanups.push(() => new Promise<void>((r) => echo.close(() => r())));
  const port = (echo.address() as net.AddressInfo).port;

  // slirp with stdin/stdout on the pty slave (raw mode: set by our pty addon).
  const master: PtyMaster = openPty();
  cleanups.push(() => master.close());
  const fd = openSync(master.path, 'r+');
  const slirp = peers.spawn('slirp-fullbolt', ['nozeros'], { stdio: [fd, fd, 'pipe'] });
  closeSync(fd);
  cleanups.push(() => {
    slirp.kill('SIGKILL');
  });
  await peers.waitFor(slirp, /SLiRP Ready/, 10_000);

  const dir = mkdtempSync(join(tmpdir(), 'iotnet-slirp-slip-'));
  const file = join(dir, 'slirp-slip.pcap');
  const pcap = pcapFileSink(file);
  const slip = new SlipLink(master, { closeStream: false });
  const link = new PcapCapture(slip, { clock: systemScheduler, sink: pcap.sink, linkType: PcapLinkType.RAW });
  const stack = new Stack({ rng: new XorShiftRng(1055), name: 'slip' });
  stack.addInterface(link, { ipv4: { address: '10.0.2.15', prefixLen: 24 }, gateway: '10.0.2.2' });
  const runner = new StackRunner(stack);
  const backend = createUserspaceBackend(stack, runner, { rng: new XorShiftRng(1056), connectTimeoutMs: 10_000 });
  const network = new Network(backend);
  cleanups.push(async () => {
    await network.close();
    await backend.close();
    runner.close();
    stack.close();
    link.close();
    await pcap.close();
  });

  const data = pattern(SIZE, 1055);
  const socket = await network.connect(`10.0.2.2:${port}`);
  const t0 = Date.now();
  const reading = (async () => {
    const parts: Uint8Array[] = [];
    for await (const chunk of socket) parts.push(chunk.slice());
    return concatBytes(parts);
  })();
  await socket.write(data);
  await socket.end();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no full echo within ${TIMEOUT_MS} ms; slirp said:\n${slirp.out()}`)), TIMEOUT_MS).unref());
  const back = await Promise.race([reading, timeout]);
  const ms = Date.now() - t0;
  await socket.close();
  assert.equal(back.length, SIZE);
  assert.equal(sha(back), sha(data));
  const s = slip.stats();
  t.diagnostic(`64 KiB echoed in ${ms} ms; link tx ${s.txFrames} packets / rx ${s.rxFrames}, dropped ${s.dropped}; decoder ${JSON.stringify(s.decoder)}`);
  assert.equal(s.decoder.badEscapes + s.decoder.oversize, 0, JSON.stringify(s));
  assert.ok(s.rxFrames > SIZE / 1500 && s.txFrames > SIZE / 1006, JSON.stringify(s));

  // Close everything (the capture file is complete then), and let tshark read it.
  for (const c of cleanups.splice(0).reverse()) await c();
  const r = await run('tshark', ['-r', file, '-n', '-d', `tcp.port==${port},data`, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
    '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-e', 'frame.number', '-e', 'ip.src', '-e', 'tcp.len', '-e', '_ws.malformed', '-e', '_ws.expert.severity', '-Y', `${BAD} || tcp`], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.out.slice(-2000));
  const rows = r.out.split('\n').filter((l) => /^\d+\t/.test(l));
  const bad = await run('tshark', ['-r', file, '-n', '-d', `tcp.port==${port},data`, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
    '-o', 'udp.check_checksum:TRUE', '-Y', BAD, '-T', 'fields', '-e', 'frame.number', '-e', '_ws.col.Info', '-e', '_ws.expert.message'], { timeoutMs: 60_000 });
  const badRows = bad.out.split('\n').filter((l) => /^\d+\t/.test(l));
  t.diagnostic(`tshark: ${rows.length} TCP frames in the capture, ${badRows.length} bad`);
  assert.ok(rows.length >= s.rxFrames / 2, `tshark saw ${rows.length} TCP frames`);
  assert.equal(badRows.length, 0, `bad frames in ${file}:\n${badRows.slice(0, 30).join('\n')}`);
  rmSync(dir, { recursive: true, force: true });
});
