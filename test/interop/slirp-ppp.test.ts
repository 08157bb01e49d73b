/**
 * PPP against a real peer (issue 8): `slirp-fullbolt ppp nozeros` (Debian package `slirp`, a
 * userspace PPP implementation nobody on this project wrote) with its stdin/stdout on the slave
 * of one of our pty pairs; on the master, our `PppLink` in the client role under our userspace
 * stack, attached with `attachPpp`. LCP and IPCP must open and the address slirp assigns
 * (10.0.2.15) be applied to the interface, with a DNS server offered (RFC 1877). Slirp NATs
 * 10.0.2.2 to the host's 127.0.0.1, where this process runs a node:net TCP echo service; through
 * our socket API 64 KiB go out and must come back with the same SHA-256. Every PPP frame both ways
 * is captured (pcap, linktype PPP_WITH_DIR 204) and read by tshark with checksum validation: no
 * malformed packet, no bad IPv4/TCP checksum, no expert error.
 *
 * Slirp also asks for IPCP Van Jacobson compression and CCP, which we Reject and Protocol-Reject;
 * it has no IPV6CP (it Protocol-Rejects ours), so IPv4 alone runs. The capture stays in a
 * temporary directory of its own (zz-pcap-check merges Ethernet captures only). `nozeros` is always
 * passed: without it five 0x00 bytes in a row make slirp end the session. Slirp is killed however
 * the test ends.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import { attachPpp, PcapLinkType, PppLink, pppCaptureTap } from '../../src/link/index.ts';
import { pcapFileSink } from '../../src/runtime/pcap-file.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import { Network } from '../../src/socket/network.ts';
import { Stack, toIpv4 } from '../../src/stack/stack.ts';
import type { PppEvent } from '../../src/stack/ppp/ppp-session.ts';
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

it('slirp-fullbolt PPP over a pty: LCP and IPCP open, the assigned address applied, 64 KiB TCP echo to a host service, capture clean in tshark', { timeout: 120_000 }, async (t) => {
  if (
    skipWithoutInterop(t) ||
    skipWithoutPty(t, 'PPP against slirp-fullbolt') ||
    skipWithoutTool(t, 'slirp-fullbolt', 'slirp', 'PPP against slirp-fullbolt') ||
    skipWithoutTool(t, 'tshark', 'tshark', 'the PPP capture against slirp-fullbolt')
  ) return;

  const slirp = await startSlirp('ppp', peers, cleanups);
  const { master, port } = slirp;

  const dir = mkdtempSync(join(tmpdir(), 'iotnet-slirp-ppp-'));
  const file = join(dir, 'slirp-ppp.pcap');
  const pcap = pcapFileSink(file);
  const events: PppEvent[] = [];
  const link = new PppLink(master, {
    scheduler: systemScheduler,
    rng: new XorShiftRng(1661),
    closeStream: false,
    capture: pppCaptureTap({ clock: systemScheduler, sink: pcap.sink, linkType: PcapLinkType.PPP_WITH_DIR }),
    lcp: { echoIntervalMs: 5000 },
    // Slirp asks for IP-Address 0.0.0.0 for itself and closes IPCP when it ends up without one
    // (pppd rejects a 0.0.0.0 request when it has no address for the peer, as we do by default):
    // the address to give it, as pppd's "local:remote" option `:10.0.2.2` would.
    ipv4: { peerAddress: '10.0.2.2' },
  });
  link.on((e) => events.push(e));
  const stack = new Stack({ rng: new XorShiftRng(1662), name: 'ppp' });
  const attachment = attachPpp(stack, link);
  const runner = new StackRunner(stack);
  const backend = createUserspaceBackend(stack, runner, { rng: new XorShiftRng(1663), connectTimeoutMs: 10_000 });
  const network = new Network(backend);
  cleanups.push(async () => {
    await network.close();
    await backend.close();
    runner.close();
    stack.close();
    link.close();
    await pcap.close();
  });
  const up = new Promise<Extract<PppEvent, { type: 'ipcp-up' }>>((resolve, reject) => {
    link.on((e) => {
      if (e.type === 'ipcp-up') resolve(e);
      else if (e.type === 'down') reject(new Error(`PPP down: ${e.reason}; slirp said:\n${slirp.out()}`));
    });
    setTimeout(() => reject(new Error(`IPCP not up within 20 s; events ${events.map((e) => e.type).join(' ')}`)), 20_000).unref();
  });
  const t0up = Date.now();
  link.open();
  const ipcp = await up;
  t.diagnostic(`IPCP up in ${Date.now() - t0up} ms: ${JSON.stringify({ ...ipcp.negotiated })}; LCP ${JSON.stringify(link.session.lcpNegotiated)}`);
  assert.equal(ipcp.negotiated.localAddress, toIpv4('10.0.2.15'), 'the address slirp assigns');
  const iface = stack.interface(attachment.ifIndex);
  t.diagnostic(`events: ${events.map((e) => e.type + (e.type === 'phase' ? `:${e.phase}` : '')).join(' ')}`);
  assert.equal(iface?.address, toIpv4('10.0.2.15'), 'applied to the interface');
  assert.equal(iface?.prefixLen, 32);
  assert.ok(ipcp.negotiated.dnsServers.length > 0, 'slirp offers a DNS server (RFC 1877)');
  assert.equal(ipcp.negotiated.peerAddress, toIpv4('10.0.2.2'));
  assert.equal(link.session.lcp.state, 'opened');

  const ms = await echoThroughSlirp(network, slirp, SIZE, 1055, TIMEOUT_MS);
  const s = link.stats();
  t.diagnostic(`64 KiB echoed in ${ms} ms; link tx ${s.txFrames} packets / rx ${s.rxFrames}, dropped ${s.dropped}; decoder ${JSON.stringify(s.decoder)}; session ${JSON.stringify(s.session)}`);
  assert.equal(s.decoder.badFcs + s.decoder.oversize + s.decoder.aborts, 0, JSON.stringify(s));
  assert.equal(s.session.malformed, 0);
  assert.ok(s.rxFrames > SIZE / 1500 && s.txFrames > SIZE / 1500, JSON.stringify(s));
  // A graceful end: LCP Terminate-Request answered by slirp.
  assert.equal(await link.terminate(), 'closed');

  // Close everything (the capture file is complete then), and let tshark read it.
  for (const c of cleanups.splice(0).reverse()) await c();
  t.diagnostic(await checkSlirpCapture(file, port, s.rxFrames / 2));
  rmSync(dir, { recursive: true, force: true });
});
