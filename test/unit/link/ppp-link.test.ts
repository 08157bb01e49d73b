/**
 * PppLink over an in-memory byte pipe (seeded chunking, line-rate model, virtual time): a client
 * and a server stack negotiate (CHAP or PAP), get their addresses applied by attachPpp, and move
 * 64 KiB over TCP through the socket API, also over a line corrupting 1 % of the bytes; plus
 * the pcap tap read back by tshark when it is installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { formatIPv4, formatIPv6 } from '../../../src/base/ip-address.ts';
import { createBytePipe } from '../../../src/link/byte-pipe.ts';
import { ByteFaultInjector } from '../../../src/link/byte-fault-injector.ts';
import { pppCaptureTap } from '../../../src/link/ppp-capture.ts';
import { PcapLinkType } from '../../../src/link/pcap-writer.ts';
import { concatBytes } from '../../../src/wire/bytes.ts';
import { pppNet, PPP_CLIENT_IP, PPP_SERVER_IP, type PppNet } from '../../support/ppp-net.ts';
import { pattern, resolveOn, settle, tcpEcho } from '../../support/stack-net.ts';
import { skipWithoutTool } from '../../support/system-tool.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function echo64k(sched: VirtualScheduler, n: PppNet, seed: number): Promise<void> {
  const data = pattern(65_536, seed);
  const { back } = await tcpEcho(sched, n.server.net, n.client.net, PPP_SERVER_IP, 7, data);
  assert.equal(sha(back), sha(data));
}

describe('PppLink: client and server stacks over a byte pipe', () => {
  for (const { auth, baud, seed } of [
    { auth: 'chap' as const, baud: 921_600, seed: 1 },
    { auth: 'pap' as const, baud: 115_200, seed: 2 },
  ]) {
    it(`${auth.toUpperCase()}, ${baud} baud: addresses applied, TCP echo of 64 KiB`, async () => {
      const sched = new VirtualScheduler();
      const streams = createBytePipe({ scheduler: sched, baudRate: baud, chunking: { rng: new XorShiftRng(seed), min: 1, max: 200 } });
      const n = pppNet({ scheduler: sched, streams, auth, seed });
      await resolveOn(sched, n.up, 60_000);
      const c = n.client.stack.interface(n.client.attachment.ifIndex);
      assert.equal(formatIPv4(new Uint8Array([c!.address >>> 24, (c!.address >>> 16) & 255, (c!.address >>> 8) & 255, c!.address & 255])), PPP_CLIENT_IP);
      assert.equal(c?.prefixLen, 32);
      const ll = n.client.stack.ipv6Addresses(n.client.attachment.ifIndex).map((a) => formatIPv6(a.address));
      assert.ok(ll.some((a) => a.startsWith('fe80::')), ll.join(' '));
      const auths = n.client.events.filter((e) => e.type === 'auth');
      assert.equal(auths.length, 1);
      assert.equal(auths[0]?.type === 'auth' && auths[0].outcome.protocol, auth);
      const up = n.client.events.find((e) => e.type === 'ipcp-up');
      assert.deepEqual(up?.type === 'ipcp-up' && up.negotiated.dnsServers.length, 1);
      await echo64k(sched, n, seed);
      const s = n.client.link.stats();
      assert.equal(s.decoder.badFcs, 0);
      assert.equal(s.session.malformed, 0);
      await resolveOn(sched, n.close());
    });
  }

  it('a wrong password: both sides go down with auth-failed, no address applied', async () => {
    const sched = new VirtualScheduler();
    const streams = createBytePipe({ scheduler: sched, chunking: { rng: new XorShiftRng(5) } });
    const n = pppNet({ scheduler: sched, streams, password: 'nope' });
    await assert.rejects(resolveOn(sched, n.up, 60_000), /auth-failed/);
    const c = n.client.stack.interface(n.client.attachment.ifIndex);
    assert.equal(c?.address, 0);
    await resolveOn(sched, n.close());
  });

  it('1 % of the bytes corrupted both ways (bursts of 256): bad frames dropped and counted, TCP recovers', async () => {
    const sched = new VirtualScheduler();
    const [a, b] = createBytePipe({ scheduler: sched, baudRate: 921_600, chunking: { rng: new XorShiftRng(9), min: 1, max: 200 } });
    const noisy = new ByteFaultInjector(a, new XorShiftRng(77), { corruptPct: 1, burstBytes: 256 });
    const n = pppNet({ scheduler: sched, streams: [noisy, b], seed: 3 });
    await resolveOn(sched, n.up, 120_000);
    await echo64k(sched, n, 3);
    const bad = n.client.link.stats().decoder.badFcs + n.server.link.stats().decoder.badFcs;
    assert.ok(noisy.stats.corrupted > 500, `corrupted ${noisy.stats.corrupted}`);
    assert.ok(bad > 5, `bad-FCS frames ${bad}`);
    await resolveOn(sched, n.close());
  });

  it('terminate(): the peer sees peer-terminated, addresses removed on both sides', async () => {
    const sched = new VirtualScheduler();
    const streams = createBytePipe({ scheduler: sched, chunking: { rng: new XorShiftRng(4) } });
    const n = pppNet({ scheduler: sched, streams, auth: 'none', seed: 4 });
    await resolveOn(sched, n.up, 60_000);
    assert.equal(await resolveOn(sched, n.client.link.terminate()), 'closed');
    await settle(sched, 5000);
    const down = n.server.events.find((e) => e.type === 'down');
    assert.equal(down?.type === 'down' && down.reason, 'peer-terminated');
    assert.equal(n.client.stack.interface(n.client.attachment.ifIndex)?.address, 0);
    assert.equal(n.server.stack.interface(n.server.attachment.ifIndex)?.address, 0);
    assert.equal(n.client.stack.ipv6Addresses(n.client.attachment.ifIndex).length, 0);
    await resolveOn(sched, n.close());
  });

  it('the stream closing is the lower layer going down', async () => {
    const sched = new VirtualScheduler();
    const [a, b] = createBytePipe({ scheduler: sched });
    const n = pppNet({ scheduler: sched, streams: [a, b], auth: 'none', seed: 6 });
    await resolveOn(sched, n.up, 60_000);
    b.close();
    await settle(sched, 100);
    const down = n.client.events.find((e) => e.type === 'down');
    assert.equal(down?.type === 'down' && down.reason, 'lower-down');
    await resolveOn(sched, n.close());
  });

  it('pcap capture (PPP with direction) dissects without malformed packets', async (t) => {
    const sched = new VirtualScheduler();
    const chunks: Uint8Array[] = [];
    const capture = pppCaptureTap({ clock: sched, sink: (c) => chunks.push(c), linkType: PcapLinkType.PPP_WITH_DIR });
    const streams = createBytePipe({ scheduler: sched, chunking: { rng: new XorShiftRng(8) } });
    const n = pppNet({ scheduler: sched, streams, seed: 8, client: { capture } });
    await resolveOn(sched, n.up, 60_000);
    await echo64k(sched, n, 8);
    await resolveOn(sched, n.close());
    assert.ok(chunks.length > 100);
    if (skipWithoutTool(t, 'tshark', 'tshark', 'the tshark dissection of a PPP capture')) return;
    const dir = mkdtempSync(join(tmpdir(), 'ppp-pcap-'));
    try {
      const file = join(dir, 'ppp.pcap');
      writeFileSync(file, concatBytes(chunks));
      const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.protocols', '-e', '_ws.malformed', '-e', '_ws.expert.severity'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      assert.ok(lines.some((l) => l.includes('lcp')), 'LCP dissected');
      assert.ok(lines.some((l) => l.includes('chap')), 'CHAP dissected');
      assert.ok(lines.some((l) => l.includes('ipcp')), 'IPCP dissected');
      assert.ok(lines.some((l) => l.includes('ipv6cp')), 'IPV6CP dissected');
      assert.ok(lines.some((l) => l.includes('tcp')), 'TCP dissected');
      const bad = lines.filter((l) => (l.split('\t')[1] ?? '') !== '' || (l.split('\t')[2] ?? '').includes('error'));
      assert.deepEqual(bad, [], 'no malformed packets, no expert errors');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
