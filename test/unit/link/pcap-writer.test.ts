import { describe, it } from 'node:test';
import { skipWithoutTool } from '../../support/system-tool.ts';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { Loopback } from '../../../src/link/loopback.ts';
import { PcapCapture, PcapLinkType, pcapGlobalHeader, pcapRecord } from '../../../src/link/pcap-writer.ts';
import { createCable } from '../../../src/link/virtual-cable.ts';
import { pcapFileSink } from '../../../src/runtime/pcap-file.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const concat = (chunks: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(chunks));

describe('pcapGlobalHeader / pcapRecord', () => {
  it('global header: magic a1b2c3d4 (little-endian), 2.4, zone 0, sigfigs 0, snaplen, linktype', () => {
    assert.equal(
      hex(pcapGlobalHeader(PcapLinkType.ETHERNET, 65535)),
      'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '01000000',
    );
    assert.equal(hex(pcapGlobalHeader(PcapLinkType.RAW, 262144)).slice(32), '00000400' + '65000000');
    assert.throws(() => pcapGlobalHeader(1, 0), RangeError);
  });

  it('record: ts_sec, ts_usec (rounded), incl_len, orig_len, then the bytes cut at snaplen', () => {
    // 1234.5678 ms = 1 s + 234568 us (0x39448).
    assert.equal(hex(pcapRecord(1234.5678, unhex('0a0b0c'))), '01000000' + '48940300' + '03000000' + '03000000' + '0a0b0c');
    assert.equal(hex(pcapRecord(0, unhex('0102030405'), 2)), '00000000' + '00000000' + '02000000' + '05000000' + '0102');
    // 999.9996 ms rounds up to 1 s, 0 us (the carry goes into ts_sec).
    assert.equal(hex(pcapRecord(999.9996, new Uint8Array(0))).slice(0, 16), '01000000' + '00000000');
    assert.equal(hex(pcapRecord(-5, new Uint8Array(0))).slice(0, 16), '00000000' + '00000000');
  });
});

describe('PcapCapture', () => {
  it('writes the header at once, then one record per frame each way (golden bytes)', () => {
    const sched = new VirtualScheduler(); // wall clock at time 0: 1_700_000_000_000 ms
    const [a, b] = createCable();
    const chunks: Uint8Array[] = [];
    const cap = new PcapCapture(a, { clock: sched, sink: (c) => chunks.push(c), snapLen: 16 });
    assert.equal(chunks.length, 1);
    assert.equal(cap.epochMs, 1_700_000_000_000);

    const out = unhex('ffffffffffff 020000000001 0806 01020304'); // 18 bytes
    assert.equal(cap.transmit(sched.now(), out), true);
    sched.advance(1.5);
    b.transmit(sched.now(), unhex('020000000001 020000000002 0800 aa'));
    const got = cap.receive(sched.now());
    assert.equal(got?.length, 15);
    assert.equal(cap.receive(sched.now()), undefined);
    assert.equal(cap.frames, 2);

    // 1_700_000_000 s = 0x6553f100; 1.5 ms = 1500 us = 0x5dc.
    const want =
      'd4c3b2a1 0200 0400 00000000 00000000 10000000 01000000' +
      ' 00f15365 00000000 10000000 12000000 ffffffffffff 020000000001 0806 0102' +
      ' 00f15365 dc050000 0f000000 0f000000 020000000001 020000000002 0800 aa';
    assert.equal(hex(concat(chunks)), want.replace(/ /g, ''));
    assert.deepEqual(b.receive(0), out, 'the frame went through unchanged');
  });

  it('records transmit attempts even when the inner link drops them; direction filter', () => {
    const sched = new VirtualScheduler();
    const lo = new Loopback({ mtu: 10 });
    const chunks: Uint8Array[] = [];
    const cap = new PcapCapture(lo, { clock: sched, sink: (c) => chunks.push(c), epochMs: 0, direction: 'tx' });
    assert.equal(cap.linkType, PcapLinkType.RAW);
    assert.equal(cap.transmit(0, new Uint8Array(11)), false);
    assert.equal(cap.transmit(0, new Uint8Array(10)), true);
    assert.equal(cap.receive(0)?.length, 10);
    assert.equal(chunks.length, 3, 'header + two tx records, no rx record');
  });

  it('forwards wake-ups and closes the inner link', () => {
    const lo = new Loopback();
    const cap = new PcapCapture(lo, { clock: new VirtualScheduler(), sink: () => {} });
    let woken = 0;
    cap.onReadable(() => woken++);
    cap.transmit(0, new Uint8Array(20));
    assert.equal(woken, 1);
    cap.close();
    cap.close();
    assert.equal(lo.transmit(0, new Uint8Array(20)), false);
  });
});

/** RFC 791 header checksum. */
function ipChecksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += ((h[i] as number) << 8) | (h[i + 1] as number);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** IPv4/UDP 10.0.0.1:1000 -> 10.0.0.2:2000 carrying `payload` (UDP checksum 0: none). */
function udpPacket(payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(28 + payload.length);
  const v = new DataView(p.buffer);
  p.set([0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  v.setUint16(2, p.length);
  v.setUint16(10, ipChecksum(p.subarray(0, 20)));
  v.setUint16(20, 1000);
  v.setUint16(22, 2000);
  v.setUint16(24, 8 + payload.length);
  p.set(payload, 28);
  return p;
}

/** Runs tshark on `file`; returns stdout lines, failing on a non-zero exit or any stderr beyond the root warning. */
function tshark(file: string, fields: string[]): string[] {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  const stderr = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('Running as user'))
    .join('\n');
  assert.equal(r.status, 0, `tshark exit ${r.status}: ${r.stderr}`);
  assert.equal(stderr, '', `tshark complained: ${stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('pcap files read by tshark', () => {
  const skip = (t: { skip(msg: string): void }): boolean => skipWithoutTool(t, 'tshark', 'tshark', 'pcap files against Wireshark');

  it('an Ethernet capture through a cable: every frame, both directions, decoded', async (t) => {
    if (skip(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'iotnet-pcap-'));
    try {
      const file = join(dir, 'eth.pcap');
      const sched = new VirtualScheduler();
      const [a, b] = createCable();
      const fileSink = pcapFileSink(file);
      const cap = new PcapCapture(a, { clock: sched, sink: fileSink.sink });
      const macA = [2, 0, 0, 0, 0, 1];
      const macB = [2, 0, 0, 0, 0, 2];
      const eth = (dst: number[], src: number[], ip: Uint8Array): Uint8Array => Uint8Array.from([...dst, ...src, 0x08, 0x00, ...ip]);
      const sizes = [0, 18, 100, 1472];
      for (const n of sizes) {
        cap.transmit(sched.now(), eth(macB, macA, udpPacket(new Uint8Array(n).fill(0x41))));
        sched.advance(10);
      }
      b.transmit(sched.now(), eth(macA, macB, udpPacket(new Uint8Array(5))));
      assert.ok(cap.receive(sched.now()));
      await fileSink.close();
      await fileSink.close();

      const lines = tshark(file, ['frame.len', 'eth.src', 'ip.src', 'udp.dstport', 'frame.time_epoch']);
      assert.equal(lines.length, 5);
      const cols = lines.map((l) => l.split('\t'));
      assert.deepEqual(
        cols.map((c) => Number(c[0])),
        [...sizes.map((n) => 14 + 28 + n), 14 + 28 + 5],
      );
      assert.deepEqual(
        cols.map((c) => c[1]),
        ['02:00:00:00:00:01', '02:00:00:00:00:01', '02:00:00:00:00:01', '02:00:00:00:00:01', '02:00:00:00:00:02'],
      );
      assert.deepEqual(new Set(cols.map((c) => c[2])), new Set(['10.0.0.1']));
      assert.deepEqual(new Set(cols.map((c) => c[3])), new Set(['2000']));
      assert.deepEqual(
        cols.map((c) => Number(c[4])),
        [1_700_000_000, 1_700_000_000.01, 1_700_000_000.02, 1_700_000_000.03, 1_700_000_000.04],
      );
      assert.equal(readFileSync(file).length, 24 + 5 * 16 + 5 * 42 + 0 + 18 + 100 + 1472 + 5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a raw-IP capture (linktype 101) with truncation at snaplen', async (t) => {
    if (skip(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'iotnet-pcap-'));
    try {
      const file = join(dir, 'raw.pcap');
      const sched = new VirtualScheduler();
      const fileSink = pcapFileSink(file);
      const cap = new PcapCapture(new Loopback(), { clock: sched, sink: fileSink.sink, snapLen: 64 });
      cap.transmit(0, udpPacket(new Uint8Array(10)));
      cap.transmit(0, udpPacket(new Uint8Array(1000)));
      while (cap.receive(0) !== undefined);
      await fileSink.close();
      const lines = tshark(file, ['frame.len', 'frame.cap_len', 'ip.dst']);
      assert.deepEqual(lines, ['38\t38\t10.0.0.2', '1028\t64\t10.0.0.2', '38\t38\t10.0.0.2', '1028\t64\t10.0.0.2']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
