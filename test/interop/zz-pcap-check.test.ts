/**
 * Last file of the interop tier: every capture the tier wrote (every frame our stacks
 * sent and received over TAP, in every file) is merged into one pcap of the whole run,
 * and tshark reads it with checksum validation on: no malformed packets, no bad IPv4 /
 * TCP / UDP / ICMP / ICMPv6 checksums, no expert errors. IPv6 is part of it: tshark
 * reassembles IPv6 fragments and always verifies ICMPv6 checksums (over the IPv6
 * pseudo-header; a zero UDP checksum over IPv6 is an expert error); the same pass
 * counts the ICMPv6 messages whose checksum it verified, so a run whose IPv6 traffic was
 * not captured (or not checked) fails. The capture directory is removed when the check
 * passes (kept for inspection when it fails).
 *
 * Bulk transfers use TCP ports 9000-9999 (a convention of this tier), decoded as plain
 * data: tshark's heuristic dissectors otherwise read random payload as Thrift or ONC RPC
 * and report "malformed" frames that are not ours (and take ten times longer).
 */
import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { run, skipWithoutInterop } from '../support/interop.ts';
import { skipWithoutTool } from '../support/system-tool.ts';

const DECODE_AS = ['-d', 'tcp.port==9000-9999,data'];
/**
 * What counts as bad. One exception: Linux writes a TCP checksum that comes out as 0 as
 * 0xFFFF (equivalent in one's complement; tshark flags it "tcp.checksum.ffff", about one
 * kernel frame in 65,536). Our stack writes 0x0000 then (RFC 1624), so such frames are
 * the kernel's and are not counted.
 */
const BAD = '(_ws.malformed || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || icmpv6.checksum.status == "Bad" || _ws.expert.severity == "Error") && !tcp.checksum.ffff';
/** Counted in the same pass (tshark's io,stat tap sees every frame, whatever -Y selects): what of IPv6 was checked. */
const COVERAGE = {
  ipv6: 'ipv6',
  icmpv6Verified: 'icmpv6.checksum.status == "Good"',
  ipv6Reassembled: 'ipv6.reassembled.length',
  udp6Verified: 'ipv6 && udp.checksum.status == "Good"',
} as const;

it('tshark reads the pcap of the whole interop run: no malformed packets, no checksum errors', async (t) => {
  if (skipWithoutInterop(t) || skipWithoutTool(t, 'tshark', 'tshark', 'the interop capture') || skipWithoutTool(t, 'mergecap', 'wireshark-common', 'the interop capture')) return;
  const dir = process.env.IOTNET_INTEROP_PCAP_DIR;
  assert.ok(dir !== undefined, 'the tier runner sets IOTNET_INTEROP_PCAP_DIR');
  const parts = readdirSync(dir).filter((f) => f.endsWith('.pcap') && f !== 'interop-run.pcap').map((f) => join(dir, f));
  assert.ok(parts.length >= 3, `captures from the tier's files: ${parts.join(', ')}`);
  const merged = join(dir, 'interop-run.pcap');
  const m = await run('mergecap', ['-F', 'pcap', '-w', merged, ...parts]);
  assert.equal(m.code, 0, m.out);
  const stat = `io,stat,0,${Object.values(COVERAGE).join(',')}`;
  const r = await run('tshark', ['-r', merged, '-n', ...DECODE_AS, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
    '-o', 'udp.check_checksum:TRUE', '-Y', BAD, '-T', 'fields', '-e', 'frame.number', '-z', stat], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, `tshark failed: ${r.out.slice(-2000)}`);
  const bad = r.out.split('\n').filter((l) => /^\d+$/.test(l.trim())).length;
  // The io,stat row: | 0.0 <> 61.2 | frames | bytes | frames | bytes | ... (one pair per filter).
  const row = r.out.split('\n').find((l) => l.includes('<>'));
  const cells = (row ?? '').split('|').map((c) => c.trim()).filter((c) => c !== '');
  const covered = Object.fromEntries(Object.keys(COVERAGE).map((k, i) => [k, Number(cells[1 + 2 * i] ?? NaN)])) as Record<keyof typeof COVERAGE, number>;
  const frames = Number((await run('capinfos', ['-c', '-M', merged])).out.match(/Number of packets:\s*(\d+)/)?.[1] ?? NaN);
  t.diagnostic(`${parts.length} captures, ${frames} frames, ${(statSync(merged).size / 1e6).toFixed(0)} MB, ${bad} bad`);
  t.diagnostic(`IPv6: ${covered.ipv6} frames, ${covered.icmpv6Verified} ICMPv6 checksums verified, ${covered.ipv6Reassembled} packets reassembled, ${covered.udp6Verified} UDP/IPv6 checksums verified`);
  assert.ok(frames > 50_000, `${frames} frames in the run`);
  assert.ok(covered.icmpv6Verified > 0, `tshark verified ICMPv6 checksums in the run (${row ?? r.out.slice(-1500)})`);
  if (bad > 0) {
    const detail = await run('tshark', ['-r', merged, '-n', ...DECODE_AS, '-T', 'fields', '-e', 'frame.number', '-e', '_ws.col.Info', '-e', '_ws.expert.message', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
      '-Y', BAD]);
    assert.fail(`${bad} bad frames in ${merged}:\n${detail.out.split('\n').slice(0, 40).join('\n')}`);
  }
  rmSync(dir, { recursive: true, force: true });
});
