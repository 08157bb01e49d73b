/**
 * Our 6LoWPAN fragment, mesh and broadcast headers dissected by tshark (linktype 230,
 * IEEE 802.15.4 without FCS): hand-built data-frame MAC headers (PAN ID compressed,
 * extended or short addresses) carrying uncompressed IPv6 (dispatch 0x41) UDP datagrams,
 * fragmented by `lowpanFragment` (some frames out of order), behind mesh headers (short
 * and extended addresses, a Deep Hops Left byte) and a BC0 header. tshark must reassemble
 * every datagram to the size we sent with good UDP checksums, report the header fields we
 * wrote, and find no malformed packet or expert error; our reassembler gives the same
 * datagrams back. tshark is installed when missing (root); otherwise a loud skip.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { concatBytes, fromHex, toHex, wr16 } from '../../../../src/wire/bytes.ts';
import { emitIpv6 } from '../../../../src/wire/ipv6.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../../../../src/wire/checksum.ts';
import { walkLowpanHeaders } from '../../../../src/wire/lowpan/dispatch.ts';
import { emitLowpanBc0, emitLowpanMesh, lowpanMeshLen, type LowpanMeshRepr } from '../../../../src/wire/lowpan/mesh-header.ts';
import { lowpanFragment } from '../../../../src/stack/lowpan/fragmenter.ts';
import { LowpanReassembler } from '../../../../src/stack/lowpan/reassembly.ts';
import { PcapLinkType, pcapGlobalHeader, pcapRecord } from '../../../../src/link/pcap-writer.ts';
import { formatIPv6 } from '../../../../src/base/ip-address.ts';
import { skipWithoutTool } from '../../../support/system-tool.ts';
import { assertCleanCapture, tsharkCounter } from '../../../support/tshark-count.ts';

const hex = (s: string): Uint8Array => fromHex(s) as Uint8Array;
const PAN = 0xabcd;
const EXT_A = hex('0212345678abcdef');
const EXT_B = hex('02fedcba98765432');

/** An 802.15.4-2003 data frame MAC header, PAN ID compressed; addresses of 2 or 8 bytes (network order, written little-endian). */
function macHeader(seq: number, dst: Uint8Array, src: Uint8Array): Uint8Array {
  const mode = (a: Uint8Array): number => (a.length === 2 ? 2 : 3);
  const fcf = 0x0001 | 0x0040 | (mode(dst) << 10) | (mode(src) << 14);
  return Uint8Array.of(fcf & 0xff, fcf >> 8, seq & 0xff, PAN & 0xff, PAN >> 8, ...[...dst].reverse(), ...[...src].reverse());
}

/** A link-local IPv6 address from a 2- or 8-byte MAC address (RFC 4944 §6, §12). */
function linkLocal(a: Uint8Array): Uint8Array {
  const iid = a.length === 8 ? Uint8Array.of((a[0] as number) ^ 2, ...a.subarray(1)) : Uint8Array.of(0, 0, 0, 0xff, 0xfe, 0, ...a);
  return Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, ...iid);
}

function udpDatagram(src: Uint8Array, dst: Uint8Array, payloadLen: number, seed: number): Uint8Array {
  const d = new Uint8Array(48 + payloadLen);
  for (let i = 48; i < d.length; i++) d[i] = (i * seed) & 0xff;
  const len = 8 + payloadLen;
  wr16(d, 40, 50000);
  wr16(d, 42, 50001);
  wr16(d, 44, len);
  wr16(d, 46, foldChecksum(onesSum(d, 40, d.length, pseudoHeaderSumV6(src, dst, 17, len))) || 0xffff);
  emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLen: 8 + payloadLen, nextHeader: 17, hopLimit: 64, src, dst }, d);
  return d;
}

function meshBytes(m: LowpanMeshRepr): Uint8Array {
  const out = new Uint8Array(lowpanMeshLen(m));
  emitLowpanMesh(m, out);
  return out;
}

interface Sent {
  readonly datagram: Uint8Array;
  readonly frames: Uint8Array[];
  readonly macSrc: Uint8Array;
  readonly macDst: Uint8Array;
}

function send(macSrc: Uint8Array, macDst: Uint8Array, datagram: Uint8Array, tag: number, prefix?: Uint8Array): Sent {
  const mac = macHeader(0, macDst, macSrc);
  const room = 127 - mac.length - 2;
  const f = lowpanFragment({ compressedHeader: Uint8Array.of(0x41), headerUncompressedLength: 0, payload: datagram, tag, room, ...(prefix ? { prefix } : {}) });
  assert.ok(typeof f !== 'string');
  return { datagram, frames: f, macSrc, macDst };
}

function tsharkFields(file: string, fields: string[], filter: string): string[][] {
  const r = spawnSync('tshark', ['-r', file, '-n', '-o', 'udp.check_checksum:TRUE', '-Y', filter, '-T', 'fields', '-E', 'occurrence=f',
    ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

describe('6LoWPAN headers through tshark', () => {
  it('fragments, mesh and broadcast headers dissect clean and reassemble to what we sent', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', '6LoWPAN fragment/mesh/broadcast dissection')) return;
    const llA = linkLocal(EXT_A);
    const llB = linkLocal(EXT_B);
    const s1 = hex('0001');
    const s2 = hex('0002');
    const sends: Sent[] = [
      // 1000 bytes extended -> extended, frames out of order.
      send(EXT_A, EXT_B, udpDatagram(llA, llB, 952, 3), 0x1001),
      // Mesh-under, short originator/final, 5 hops left.
      send(s1, s2, udpDatagram(linkLocal(s1), linkLocal(s2), 552, 5), 0x1002, meshBytes({ hopsLeft: 5, originator: s1, final: s2 })),
      // Mesh with extended addresses and a Deep Hops Left byte (20 hops).
      send(EXT_B, EXT_A, udpDatagram(llB, llA, 300, 7), 0x1003, meshBytes({ hopsLeft: 20, originator: EXT_B, final: EXT_A })),
    ];
    const first = sends[0] as Sent;
    first.frames.reverse();
    // A broadcast: BC0 + a whole small datagram to ff02::1 at MAC 0xffff.
    const bc = new Uint8Array(2);
    emitLowpanBc0({ sequence: 0x42 }, bc);
    const all1 = hex('ff020000000000000000000000000001');
    const small = udpDatagram(llA, all1, 20, 9);
    sends.push({ datagram: small, frames: [concatBytes([bc, Uint8Array.of(0x41), small])], macSrc: EXT_A, macDst: hex('ffff') });

    const records: Uint8Array[] = [pcapGlobalHeader(PcapLinkType.IEEE802_15_4_NOFCS)];
    let seq = 0;
    for (const s of sends) {
      const r = new LowpanReassembler();
      let got: Uint8Array | undefined;
      for (const f of s.frames) {
        const frame = concatBytes([macHeader(seq, s.macDst, s.macSrc), f]);
        assert.ok(frame.length + 2 <= 127, 'fits 127 bytes with the FCS');
        records.push(pcapRecord(1_700_000_000_000 + seq * 10, frame));
        seq++;
        const h = walkLowpanHeaders(f);
        assert.ok(typeof h !== 'string');
        if (h.frag === undefined) {
          got = f.subarray(h.offset);
          continue;
        }
        const out = r.add(s.macSrc, s.macDst, h, f, seq);
        if (out instanceof Uint8Array) got = out;
      }
      assert.equal(toHex(got ?? new Uint8Array(0)), toHex(s.datagram), 'our reassembler');
    }
    const dir = mkdtempSync(join(tmpdir(), 'lowpan-tshark-'));
    try {
      const file = join(dir, 'lowpan.pcap');
      writeFileSync(file, concatBytes(records));
      const count = tsharkCounter(file);
      assertCleanCapture(count);
      assert.equal(count('wpan'), seq);
      assert.equal(count('6lowpan'), seq);
      // Every datagram reassembled, with a good UDP checksum and its full length.
      const udp = tsharkFields(file, ['ipv6.plen', 'udp.checksum.status', 'ipv6.src', 'ipv6.dst'], 'udp');
      // tshark lists a datagram at its last frame: the first datagram's (sent in reverse) comes first still.
      assert.deepEqual(udp, sends.map((s) => [String(s.datagram.length - 40), '1' /* Good */,
        formatIPv6(s.datagram.subarray(8, 24)), formatIPv6(s.datagram.subarray(24, 40))]));
      assert.equal(count('6lowpan.reassembled.length'), 3);
      assert.equal(count('6lowpan.fragment.error || 6lowpan.fragment.overlap'), 0);
      // The header fields we wrote.
      const frags = tsharkFields(file, ['6lowpan.frag.size', '6lowpan.frag.tag', '6lowpan.frag.offset'], '6lowpan.frag.size');
      assert.equal(frags.length, seq - 1);
      const expectFrag = sends.slice(0, 3).flatMap((s) => s.frames.map((f) => {
        const h = walkLowpanHeaders(f);
        assert.ok(typeof h !== 'string' && h.frag !== undefined);
        return [String(h.frag.size), `0x${h.frag.tag.toString(16).padStart(4, '0')}`, h.frag.first ? '' : String(h.frag.offset) /* tshark shows bytes */];
      }));
      assert.deepEqual(frags.map((r) => [r[0], r[1], r[2] ?? '']), expectFrag);
      const mesh = tsharkFields(file, ['6lowpan.mesh.hops', '6lowpan.mesh.hops8', '6lowpan.mesh.orig16', '6lowpan.mesh.dest16', '6lowpan.mesh.orig64', '6lowpan.mesh.dest64'], '6lowpan.mesh.hops');
      const meshA = (sends[1] as Sent).frames.length;
      assert.equal(mesh.length, meshA + (sends[2] as Sent).frames.length);
      assert.deepEqual(mesh[0], ['5', '', '0x0001', '0x0002', '', '']);
      assert.deepEqual(mesh[meshA], ['15', '20', '', '', '0x02fedcba98765432', '0x0212345678abcdef']);
      assert.deepEqual(tsharkFields(file, ['6lowpan.bcast.seqnum'], '6lowpan.bcast.seqnum'), [['66']]);
    } finally {
      if (process.env.KEEP_PCAP === undefined) rmSync(dir, { recursive: true, force: true });
    }
  });
});
