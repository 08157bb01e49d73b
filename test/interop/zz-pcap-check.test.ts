/**
 * Last file of the interop tier: every capture the tier wrote (every frame our stacks
 * sent and received over TAP, in every file) is merged into one pcap of the whole run,
 * and tshark reads it with checksum validation on: no malformed packets, no bad IPv4 /
 * TCP / UDP / ICMP checksums, no expert errors. The capture directory is removed when
 * the check passes (kept for inspection when it fails).
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
const BAD = '(_ws.malformed || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || _ws.expert.severity == "Error") && !tcp.checksum.ffff';

it('tshark reads the pcap of the whole interop run: no malformed packets, no checksum errors', async (t) => {
  if (skipWithoutInterop(t) || skipWithoutTool(t, 'tshark', 'tshark', 'the interop capture') || skipWithoutTool(t, 'mergecap', 'wireshark-common', 'the interop capture')) return;
  const dir = process.env.IOTNET_INTEROP_PCAP_DIR;
  assert.ok(dir !== undefined, 'the tier runner sets IOTNET_INTEROP_PCAP_DIR');
  const parts = readdirSync(dir).filter((f) => f.endsWith('.pcap') && f !== 'interop-run.pcap').map((f) => join(dir, f));
  assert.ok(parts.length >= 3, `captures from the tier's files: ${parts.join(', ')}`);
  const merged = join(dir, 'interop-run.pcap');
  const m = await run('mergecap', ['-F', 'pcap', '-w', merged, ...parts]);
  assert.equal(m.code, 0, m.out);
  const fields = async (filter: string): Promise<number> => {
    const r = await run('tshark', ['-r', merged, '-n', ...DECODE_AS, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
      '-o', 'udp.check_checksum:TRUE', '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { timeoutMs: 600_000 });
    assert.equal(r.code, 0, `tshark failed: ${r.out.slice(-2000)}`);
    return r.out.split('\n').filter((l) => /^\d+$/.test(l.trim())).length;
  };
  const bad = await fields(BAD);
  const frames = Number((await run('capinfos', ['-c', '-M', merged])).out.match(/Number of packets:\s*(\d+)/)?.[1] ?? NaN);
  t.diagnostic(`${parts.length} captures, ${frames} frames, ${(statSync(merged).size / 1e6).toFixed(0)} MB, ${bad} bad`);
  assert.ok(frames > 50_000, `${frames} frames in the run`);
  if (bad > 0) {
    const detail = await run('tshark', ['-r', merged, '-n', ...DECODE_AS, '-T', 'fields', '-e', 'frame.number', '-e', '_ws.col.Info', '-e', '_ws.expert.message', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
      '-Y', BAD]);
    assert.fail(`${bad} bad frames in ${merged}:\n${detail.out.split('\n').slice(0, 40).join('\n')}`);
  }
  rmSync(dir, { recursive: true, force: true });
});
