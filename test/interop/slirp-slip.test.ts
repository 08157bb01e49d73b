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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { PcapCapture, PcapLinkType, SlipLink } from '../../src/link/index.ts';
import { pcapFileSink } from '../../src/runtime/pcap-file.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import { Network } from '../../src/socket/network.ts';
import { Stack } from '../../src/stack/stack.ts';
import { Peers, skipWithoutInterop } from '../support/interop.ts';
import { checkSlirpCapture, echoThroughSlirp, startSlirp } from '../support/slirp.ts';
import { skipWithoutPty } from '../support/pty.ts';
import { skipWithoutTool } from '../support/system-tool.ts';

const SIZE = 64 * 1024;
const TIMEOUT_MS = 60_000;

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

  const slirp = await startSlirp('slip', peers, cleanups);
  const { master, port } = slirp;

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

  const ms = await echoThroughSlirp(network, slirp, SIZE, 1055, TIMEOUT_MS);
  const s = slip.stats();
  t.diagnostic(`64 KiB echoed in ${ms} ms; link tx ${s.txFrames} packets / rx ${s.rxFrames}, dropped ${s.dropped}; decoder ${JSON.stringify(s.decoder)}`);
  assert.equal(s.decoder.badEscapes + s.decoder.oversize, 0, JSON.stringify(s));
  assert.ok(s.rxFrames > SIZE / 1500 && s.txFrames > SIZE / 1006, JSON.stringify(s));

  // Close everything (the capture file is complete then), and let tshark read it.
  for (const c of cleanups.splice(0).reverse()) await c();
  t.diagnostic(await checkSlirpCapture(file, port, s.rxFrames / 2));
  rmSync(dir, { recursive: true, force: true });
});
