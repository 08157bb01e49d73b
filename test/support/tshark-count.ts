/**
 * Counting packets of a capture with tshark display filters, checksums verified: what the
 * conformance runs' pcap checks ask (frames, malformed packets, bad checksums, expert errors).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

/** Any IPv4, TCP, UDP, ICMP or ICMPv6 checksum tshark found bad. */
export const TSHARK_BAD_CHECKSUM =
  'ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || icmpv6.checksum.status == "Bad"';

/** A counter over `file` (which must exist and hold a record): how many packets match a display filter (tshark must exit 0). */
export function tsharkCounter(file: string): (filter: string) => number {
  assert.ok(existsSync(file) && statSync(file).size > 24, `a capture was written to ${file}`);
  return (filter) => {
    const r = spawnSync('tshark', ['-r', file, '-n', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
      '-o', 'udp.check_checksum:TRUE', '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, `tshark failed: ${r.stderr}`);
    return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
  };
}

/** Asserts tshark finds no malformed packet, bad checksum or expert error (through a `tsharkCounter`). */
export function assertCleanCapture(count: (filter: string) => number): void {
  assert.equal(count('_ws.malformed'), 0, 'malformed packets');
  assert.equal(count(TSHARK_BAD_CHECKSUM), 0, 'bad checksums');
  assert.equal(count('_ws.expert.severity == "Error"'), 0, 'expert errors');
}
