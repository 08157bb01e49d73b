/**
 * IPv6 between the userspace stack (over a TAP) and the Linux kernel with **radvd** on
 * the kernel's side, 2001:db8:40::/64 (issue 5, interop tier):
 * - autoconfiguration: the stack's link-local address passes DAD, its router
 *   solicitation brings radvd's advertisement, and the SLAAC address (the RFC 7217 one
 *   predicted from the secret key) passes DAD; the default router (radvd's link-local
 *   address) and the RDNSS server are learned;
 * - ICMPv6 echo both ways to link-local and global addresses, 56 and 4000 bytes (4000
 *   needs fragmentation both ways: reassembly counters of the stack, the kernel's
 *   replies);
 * - **ndisc6** resolves the stack's addresses to its MAC; the kernel's own DAD for an
 *   address the stack holds fails (the stack defends it), and the stack keeps it;
 * - **rdisc6**: the stack is a host and answers no router solicitation (RFC 4861 §6.2.6),
 *   unicast or multicast; radvd's farewell advertisement (router lifetime 0) removes
 *   the default router;
 * - a SLAAC address the kernel already holds (predicted from the key) is found duplicate
 *   by DAD, never used, and the next RFC 7217 identifier is formed instead.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatIPv6 } from '../../src/base/ip-address.ts';
import { toIpv6 } from '../../src/stack/stack.ts';
import { Peers, run, sh, skipWithoutInterop } from '../support/interop.ts';
import { ipv6TapHost, kernelDadResult, kernelLinkLocal, kernelPing6, predictSlaac, stackPing6, waitUntil, type Ipv6TapHost } from '../support/ipv6-interop.ts';
import { skipWithoutTool } from '../support/system-tool.ts';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);
const KEY_DUP = Uint8Array.from({ length: 16 }, (_, i) => 0x43 + i);

function radvdConf(ifname: string, n: number): string {
  return `interface ${ifname} {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 10;
  AdvDefaultLifetime 600;
  prefix 2001:db8:${n}::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 3600; AdvPreferredLifetime 1800; };
  RDNSS 2001:db8:${n}::1 { };
};
`;
}

function startRadvd(peers: Peers, dir: string, ifname: string, n: number): ReturnType<Peers['spawn']> {
  const conf = join(dir, `radvd-${n}.conf`);
  writeFileSync(conf, radvdConf(ifname, n));
  return peers.spawn('radvd', ['-n', '-C', conf, '-p', join(dir, `radvd-${n}.pid`), '-m', 'stderr', '-d', '2']);
}

describe('IPv6 with radvd and the Linux kernel over TAP (2001:db8:40::/64)', () => {
  const peers = new Peers();
  const dir = mkdtempSync(join(tmpdir(), 'iotnet-radvd-'));
  let h: Ipv6TapHost | undefined;
  let radvd: ReturnType<Peers['spawn']> | undefined;
  let kernelLl = '';
  let stackLl = '';
  let stackGlobal = '';
  before(() => {
    if (process.env.IOTNET_NETNS !== undefined && process.getuid?.() === 0) h = ipv6TapHost({ subnet: 40, router: true, addresses: ['2001:db8:40::1/64'], capture: 'ipv6-radvd.pcap' });
  });
  after(async () => {
    await peers.killAll();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SLAAC: link-local and RFC 7217 global address pass DAD; default router and RDNSS learned from radvd', async (t) => {
    if (skipWithoutInterop(t) || h === undefined || skipWithoutTool(t, 'radvd', 'radvd', 'SLAAC from radvd')) return;
    kernelLl = await kernelLinkLocal(h.name);
    radvd = startRadvd(peers, dir, h.name, 40);
    await peers.waitFor(radvd, /version [\d.]+ started/, 10_000);
    h.enableStack({ secretKey: KEY });
    const predicted = predictSlaac('2001:db8:40::', KEY, h.mac);
    const addrs = () => h?.stack.ipv6Addresses(h.ifIndex) ?? [];
    const slaac = await waitUntil('a preferred SLAAC address', 15_000, () => addrs().find((a) => a.origin === 'slaac' && a.state === 'preferred'));
    stackGlobal = formatIPv6(slaac.address);
    // The two DADs run side by side, each with its own random delay (RFC 4862 5.4.2), so the
    // global address may pass first: wait for the link-local one too.
    const ll = await waitUntil('a preferred link-local address', 5_000, () => addrs().find((a) => a.origin === 'link-local' && a.state === 'preferred'));
    stackLl = formatIPv6(ll.address);
    const llTentative = h.events.find((x) => x.e.kind === 'address' && x.e.info.origin === 'link-local' && x.e.info.state === 'tentative')?.at;
    const llPreferred = h.events.find((x) => x.e.kind === 'address' && x.e.info.origin === 'link-local' && x.e.info.state === 'preferred')?.at;
    const gTentative = h.events.find((x) => x.e.kind === 'address' && x.e.info.origin === 'slaac' && x.e.info.state === 'tentative')?.at;
    const gPreferred = h.events.find((x) => x.e.kind === 'address' && x.e.info.origin === 'slaac' && x.e.info.state === 'preferred')?.at;
    t.diagnostic(`stack ${h.mac}: link-local ${stackLl} tentative at ${llTentative} ms, preferred at ${llPreferred} ms; SLAAC ${stackGlobal} tentative at ${gTentative} ms, preferred at ${gPreferred} ms (DAD ${gPreferred !== undefined && gTentative !== undefined ? gPreferred - gTentative : NaN} ms)`);
    assert.match(stackLl, /^fe80::/);
    assert.equal(stackGlobal, predicted, 'the RFC 7217 address of the key, the prefix and the MAC');
    assert.equal(slaac.prefixLen, 64);
    // DAD: one probe from :: for each address, no conflict.
    assert.deepEqual(h.counter.dadProbes.sort(), [stackGlobal, stackLl].sort(), 'one DAD probe per address');
    assert.equal(h.stack.stats.nd.dadConflicts, 0);
    assert.ok((gPreferred ?? 0) - (gTentative ?? 0) >= 900, 'DAD waited RetransTimer (1 s) before the address became preferred');
    // Router and RDNSS.
    const routers = await waitUntil('the default router', 5000, () => {
      const r = h?.stack.ipv6Routers(h.ifIndex).map(formatIPv6) ?? [];
      return r.length > 0 ? r : undefined;
    });
    assert.deepEqual(routers, [kernelLl], "radvd's link-local address is the default router");
    assert.deepEqual(h.stack.ipv6DnsServers().map(formatIPv6), ['2001:db8:40::1'], 'RDNSS (RFC 8106)');
    assert.ok(h.events.some((x) => x.e.kind === 'dns' && x.e.servers.map(formatIPv6).join() === '2001:db8:40::1'), "a 'dns' event");
    // RFC 4861 6.3.7: the first RS waits a random 0-1 s, and a host that hears an RA with a
    // router lifetime desists; radvd's own start-up RAs can come first.
    const rsOut = h.counter.tx.get(133) ?? 0;
    assert.ok(rsOut <= 3, `at most MAX_RTR_SOLICITATIONS (3) router solicitations, sent ${rsOut}`);
    assert.ok(rsOut >= 1 || (gTentative ?? Infinity) < 1000, 'a router solicitation went out, unless an unsolicited RA came within the first RS delay');
    assert.ok((h.counter.rx.get(134) ?? 0) >= 1, 'an advertisement came in');
    t.diagnostic(`router ${routers.join()} ; RS out ${h.counter.tx.get(133)}, RA in ${h.counter.rx.get(134)}; radvd: ${radvd.out().split('\n').filter((l) => /RS|RA/.test(l)).slice(0, 4).join(' | ')}`);
  });

  for (const size of [56, 4000]) {
    it(`the kernel pings the stack's link-local and global addresses (${size} bytes)`, async (t) => {
      if (skipWithoutInterop(t) || h === undefined || stackGlobal === '' || skipWithoutTool(t, 'ping', 'iputils-ping', 'the kernel pinging the stack')) return;
      for (const dst of [stackLl, stackGlobal]) {
        const before = { ...h.stack.stats.ip6 };
        const r = await kernelPing6(h.name, dst, size);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /3 packets transmitted, 3 received/, r.out);
        assert.match(r.out, new RegExp(`${size + 8} bytes from ${dst}`), r.out);
        const s = h.stack.stats.ip6;
        t.diagnostic(`${dst}: avg RTT ${r.avgMs} ms; stack fragments in ${s.fragmentsIn - before.fragmentsIn}, reassembled ${s.reassembled - before.reassembled}, fragments out ${s.fragmentsOut - before.fragmentsOut}`);
        if (size > 1452) {
          assert.ok(s.fragmentsIn - before.fragmentsIn >= 9 && s.reassembled - before.reassembled === 3, 'the requests came in fragments and were reassembled');
          assert.ok(s.fragmentsOut - before.fragmentsOut >= 9, 'the replies went out in fragments');
        }
      }
    });

    it(`the stack pings the kernel's link-local and global addresses (${size} bytes)`, async (t) => {
      if (skipWithoutInterop(t) || h === undefined || stackGlobal === '') return;
      for (const dst of [kernelLl, '2001:db8:40::1']) {
        const before = { ...h.stack.stats.ip6 };
        const rtts: number[] = [];
        for (let i = 0; i < 3; i++) {
          const r = await stackPing6(h, dst, size);
          assert.equal(r.code, 0, `ping ${dst} ${i}: ${JSON.stringify(r)}`);
          assert.equal(r.bytes, size);
          assert.equal(r.dataMatches, true);
          assert.equal(r.from6 !== undefined ? formatIPv6(r.from6) : '', dst);
          rtts.push(r.rttMs);
        }
        const s = h.stack.stats.ip6;
        t.diagnostic(`${dst}: RTTs ${rtts.join(', ')} ms; stack fragments out ${s.fragmentsOut - before.fragmentsOut}, in ${s.fragmentsIn - before.fragmentsIn}, reassembled ${s.reassembled - before.reassembled}`);
        if (size > 1452) {
          assert.ok(s.fragmentsOut - before.fragmentsOut >= 9, 'the requests went out in fragments');
          assert.ok(s.fragmentsIn - before.fragmentsIn >= 9 && s.reassembled - before.reassembled === 3, 'the replies came in fragments and were reassembled');
        }
      }
    });
  }

  it("ndisc6 resolves the stack's link-local and global addresses to its MAC", async (t) => {
    if (skipWithoutInterop(t) || h === undefined || stackGlobal === '' || skipWithoutTool(t, 'ndisc6', 'ndisc6', 'neighbor discovery with ndisc6')) return;
    for (const dst of [stackLl, stackGlobal]) {
      const naBefore = h.stack.stats.nd.naOut;
      const r = await run('ndisc6', ['-1', '-r', '3', '-w', '1000', dst, h.name], { timeoutMs: 10_000 });
      t.diagnostic(`ndisc6 ${dst}: ${r.out.trim().split('\n').join(' | ')}`);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, new RegExp(`Target link-layer address: ${h.mac}`, 'i'), r.out);
      assert.ok(h.stack.stats.nd.naOut > naBefore, 'the stack sent a Neighbor Advertisement');
    }
  });

  it("the kernel's DAD for an address the stack holds fails; the stack keeps its address", async (t) => {
    if (skipWithoutInterop(t) || h === undefined || stackGlobal === '') return;
    const conflictsBefore = h.stack.stats.nd.dadConflicts;
    sh('ip', ['-6', 'addr', 'add', `${stackGlobal}/64`, 'dev', h.name]);
    try {
      const flags = await kernelDadResult(h.name, stackGlobal);
      t.diagnostic(`kernel's ${stackGlobal}: ${flags.join(' ')}`);
      assert.ok(flags.includes('dadfailed'), `the kernel found the address in use: ${flags.join(' ')}`);
    } finally {
      sh('ip', ['-6', 'addr', 'del', `${stackGlobal}/64`, 'dev', h.name], { allowFail: true });
    }
    assert.equal(h.stack.stats.nd.dadConflicts, conflictsBefore);
    assert.equal(h.stack.ipv6Addresses(h.ifIndex).find((a) => formatIPv6(a.address) === stackGlobal)?.state, 'preferred');
    const r = await kernelPing6(h.name, stackGlobal, 56, 1);
    assert.equal(r.code, 0, r.out);
  });

  it('rdisc6: the stack (a host) answers no router solicitation; radvd leaving removes the default router', async (t) => {
    if (skipWithoutInterop(t) || h === undefined || stackGlobal === '' || radvd === undefined || skipWithoutTool(t, 'rdisc6', 'ndisc6', 'router discovery with rdisc6')) return;
    // radvd says goodbye (router lifetime 0) on SIGTERM: the stack drops the router.
    radvd.kill('SIGTERM');
    await waitUntil('radvd to exit', 5000, () => radvd?.exitCode !== null || radvd.signalCode !== null);
    await waitUntil('the router to go', 5000, () => h?.stack.ipv6Routers(h.ifIndex).length === 0);
    assert.ok(h.events.some((x) => x.e.kind === 'router' && !x.e.added), "a 'router gone' event");
    const raOut = h.counter.tx.get(134) ?? 0;
    const rsIn = h.counter.rx.get(133) ?? 0;
    for (const target of [stackLl, undefined]) {
      const r = await run('rdisc6', ['-1', '-r', '2', '-w', '800', ...(target !== undefined ? [target] : []), h.name], { timeoutMs: 10_000 });
      t.diagnostic(`rdisc6 ${target ?? 'ff02::2'}: exit ${r.code}: ${r.out.trim().split('\n').join(' | ')}`);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, /No response/i, r.out);
    }
    const rsSeen = (h.counter.rx.get(133) ?? 0) - rsIn;
    t.diagnostic(`router solicitations seen by the stack: ${rsSeen}; advertisements sent: ${(h.counter.tx.get(134) ?? 0) - raOut}`);
    assert.ok(rsSeen >= 4, 'the solicitations reached the stack (2 unicast, 2 to ff02::2)');
    assert.equal(h.counter.tx.get(134) ?? 0, 0, 'the stack never sent a Router Advertisement');
  });
});

describe('IPv6 duplicate SLAAC address with radvd (2001:db8:43::/64)', () => {
  const peers = new Peers();
  const dir = mkdtempSync(join(tmpdir(), 'iotnet-radvd-'));
  let h: Ipv6TapHost | undefined;
  after(async () => {
    await peers.killAll();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the SLAAC address the kernel already holds is found duplicate, never used; the next RFC 7217 address is formed', async (t) => {
    if (skipWithoutInterop(t) || skipWithoutTool(t, 'radvd', 'radvd', 'SLAAC from radvd')) return;
    h = ipv6TapHost({ subnet: 43, router: true, addresses: ['2001:db8:43::1/64'], capture: 'ipv6-radvd-dup.pcap' });
    const first = predictSlaac('2001:db8:43::', KEY_DUP, h.mac, 0);
    const second = predictSlaac('2001:db8:43::', KEY_DUP, h.mac, 1);
    sh('ip', ['-6', 'addr', 'add', `${first}/64`, 'dev', h.name, 'nodad']);
    await kernelLinkLocal(h.name);
    const radvd = startRadvd(peers, dir, h.name, 43);
    await peers.waitFor(radvd, /version [\d.]+ started/, 10_000);
    h.enableStack({ secretKey: KEY_DUP });
    const good = await waitUntil('a preferred SLAAC address', 15_000, () => h?.stack.ipv6Addresses(h.ifIndex).find((a) => a.origin === 'slaac' && a.state === 'preferred'));
    const all = h.stack.ipv6Addresses(h.ifIndex).map((a) => `${formatIPv6(a.address)} ${a.origin} ${a.state}`);
    const dupAt = h.events.find((x) => x.e.kind === 'address' && x.e.info.state === 'duplicate')?.at;
    const okAt = h.events.find((x) => x.e.kind === 'address' && x.e.info.origin === 'slaac' && x.e.info.state === 'preferred')?.at;
    t.diagnostic(`kernel holds ${first}; stack: ${all.join(' ; ')}; duplicate at ${dupAt} ms, replacement preferred at ${okAt} ms`);
    assert.equal(formatIPv6(good.address), second, 'the DAD_Counter 1 address (RFC 7217 §6)');
    assert.equal(h.stack.ipv6Addresses(h.ifIndex).find((a) => formatIPv6(a.address) === first)?.state, 'duplicate');
    assert.equal(h.stack.stats.nd.dadConflicts, 1);
    assert.ok(h.counter.dadProbes.includes(first) && h.counter.dadProbes.includes(second), h.counter.dadProbes.join());
    // The duplicate is not used: the kernel reaches the stack at the new address, and the
    // stack's pings to the router go out from it.
    const r = await kernelPing6(h.name, second, 56, 1);
    assert.equal(r.code, 0, r.out);
    const p = await stackPing6(h, '2001:db8:43::1', 56);
    assert.equal(p.code, 0, JSON.stringify(p));
    assert.equal(formatIPv6(h.stack.sourceAddressFor6(toIpv6('2001:db8:43::1')) ?? new Uint8Array(16)), second, 'RFC 6724 picks the new address');
    t.diagnostic(`sources of the stack's packets: ${[...h.counter.txSources].map(([a, c]) => `${a} x${c}`).join(', ')}`);
    assert.equal(h.counter.txSources.get(first), undefined, 'no packet ever left from the duplicate address');
    assert.ok((h.counter.txSources.get(second) ?? 0) >= 2, 'the echo reply and request left from the new one');
  });
});
