/**
 * What our LOWPAN_IPHC/NHC compressor writes, dissected by tshark's 6LoWPAN dissector (a pcap
 * of IEEE 802.15.4 data frames without FCS, linktype 230, with our contexts as 6lowpan
 * preferences): every source x destination encoding over the four link-address pairings,
 * every TF and HLIM mode, every UDP port mode with the checksum carried and elided, and
 * extension-header chains (Hop-by-Hop, Destination Options, Routing, atomic Fragment,
 * Mobility, IPv6 in IPv6). tshark must find no malformed packet, no expert warning or error,
 * every UDP checksum good (an elided one: recomputed by tshark too), and the very IPv6 and UDP
 * headers of the packet we compressed (which our decompressor rebuilds byte for byte).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatIPv6 } from '../../../../src/base/ip-address.ts';
import { rd16, rd32, toHex } from '../../../../src/wire/bytes.ts';
import { isFault } from '../../../../src/wire/fault.ts';
import { compressIphc, decompressIphc, type IphcCompressOptions, type LowpanLinkAddr } from '../../../../src/wire/lowpan/iphc.ts';
import { extHeaderLen } from '../../../../src/wire/lowpan/nhc-ext.ts';
import { skipWithoutTool } from '../../../support/system-tool.ts';
import {
  CONTEXTS,
  destCases,
  EXT_A,
  EXT_B,
  ip6,
  ipv6Packet,
  linkLocalOf,
  SHORT_A,
  SHORT_B,
  sourceCases,
  TSHARK_CONTEXT_PREFS,
  udpDatagram,
  udpPacket,
  wpanFrame,
  wpanPcap,
} from './iphc-cases.ts';

const FIELDS = ['ipv6.src', 'ipv6.dst', 'ipv6.tclass', 'ipv6.flow', 'ipv6.hlim', 'ipv6.plen', 'udp.srcport', 'udp.dstport', 'udp.length', 'udp.checksum',
  'udp.checksum_calculated', 'udp.checksum.status', '_ws.malformed', '_ws.expert.severity', '_ws.expert.message'] as const;
const CHECKED = FIELDS.slice(0, 12);
type Field = (typeof FIELDS)[number];

/**
 * The fields tshark should show for an uncompressed packet (walking IPv6 in IPv6 and extension
 * headers to UDP). Wireshark 4.0 does not recompute an elided UDP checksum (the code is
 * `#if 0` in packet-6lowpan.c): it shows 0xffff, "bad", and as the calculated checksum the
 * one our decompressor rebuilt.
 */
function expectedFields(p: Uint8Array, checksumElided: boolean): Partial<Record<Field, string[]>> {
  const e: Record<string, string[]> = {};
  const add = (k: Field, v: string): void => void (e[k] ??= []).push(v);
  let ip = 0;
  for (;;) {
    const w = rd32(p, ip);
    add('ipv6.src', formatIPv6(p.subarray(ip + 8, ip + 24)));
    add('ipv6.dst', formatIPv6(p.subarray(ip + 24, ip + 40)));
    add('ipv6.tclass', String((w >>> 20) & 0xff));
    add('ipv6.flow', String(w & 0xfffff));
    add('ipv6.hlim', String(p[ip + 7]));
    add('ipv6.plen', String(rd16(p, ip + 4)));
    let nh = p[ip + 6] as number;
    let at = ip + 40;
    while (nh !== 17 && nh !== 41 && extHeaderLen(nh, p, at, p.length) > 0 && nh !== 135) {
      const len = extHeaderLen(nh, p, at, p.length);
      nh = p[at] as number;
      at += len;
    }
    if (nh === 41) {
      ip = at;
      continue;
    }
    if (nh === 17) {
      add('udp.srcport', String(rd16(p, at)));
      add('udp.dstport', String(rd16(p, at + 2)));
      add('udp.length', String(rd16(p, at + 4)));
      add('udp.checksum', String(checksumElided ? 0xffff : rd16(p, at + 6)));
      add('udp.checksum_calculated', String(rd16(p, at + 6)));
      add('udp.checksum.status', checksumElided ? '0' : '1'); // 0 bad, 1 good
    }
    return e;
  }
}

interface Case {
  readonly name: string;
  readonly packet: Uint8Array;
  readonly opts: IphcCompressOptions;
}

function cases(): Case[] {
  const out: Case[] = [];
  const pairs: [LowpanLinkAddr, LowpanLinkAddr][] = [[EXT_A, EXT_B], [SHORT_A, SHORT_B], [EXT_A, SHORT_B], [SHORT_A, EXT_B]];
  for (const [ls, ld] of pairs) {
    for (const [sName, s] of sourceCases(ls)) {
      for (const [dName, d] of destCases(ld)) out.push({ name: `${sName} -> ${dName}`, packet: udpPacket(s, d), opts: { src: ls, dst: ld, contexts: CONTEXTS } });
    }
  }
  const ext: IphcCompressOptions = { src: EXT_A, dst: EXT_B };
  const a = linkLocalOf(EXT_A);
  const b = linkLocalOf(EXT_B);
  for (const [dscp, ecn, flowLabel] of [[0, 0, 0], [0, 1, 0], [0x2e, 3, 0], [0, 2, 0xabcde], [0x2e, 1, 0x12345]] as const) {
    for (const hopLimit of [1, 64, 255, 17]) {
      out.push({ name: `tc ${dscp}/${ecn} fl ${flowLabel} hl ${hopLimit}`, packet: udpPacket(a, b, 0xf0b1, 0xf0b2, Uint8Array.of(1, 2), { dscp, ecn, flowLabel, hopLimit }), opts: ext });
    }
  }
  for (const [sp, dp] of [[0xf0b1, 0xf0b2], [0x1234, 0xf0ab], [0xf012, 0x1234], [0x1234, 0x5678], [0xf0b1, 0xf0c2]] as const) {
    for (const elide of [false, true]) {
      out.push({ name: `ports ${sp}/${dp} elide ${elide}`, packet: udpPacket(a, b, sp, dp, Uint8Array.of(9, 8, 7, 6, 5)), opts: { ...ext, elideUdpChecksum: elide } });
    }
  }
  const withUdp = (nextHeader: number, headers: number[], src = a, dst = b): Uint8Array => {
    const u = udpDatagram(ip6(src), ip6(dst), 0xf0b1, 0xf0b2, Uint8Array.of(0xaa, 0xbb));
    return ipv6Packet({ src: ip6(src), dst: ip6(dst), nextHeader, payload: Uint8Array.of(...headers, ...u) });
  };
  out.push({ name: 'hop-by-hop router alert', packet: withUdp(0, [17, 0, 5, 2, 0, 0, 1, 0]), opts: ext });
  const routing = [0, 2, 0, 0, ...new Array<number>(20).fill(0)]; // type 0, segments left 0, 24 bytes
  out.push({ name: 'dest opts (Pad1 elided), routing', packet: withUdp(60, [43, 0, 0x1e, 3, 0xaa, 0xbb, 0xcc, 0, 17, ...routing.slice(1)]), opts: { ...ext, elideUdpChecksum: true } });
  // UDP after a Fragment header stays inline
  out.push({ name: 'dest opts, routing, atomic fragment', packet: withUdp(60, [43, 0, 0x1e, 3, 0xaa, 0xbb, 0xcc, 0, 44, ...routing.slice(1), 17, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]), opts: ext });
  out.push({ name: 'mobility (binding refresh request)', packet: ipv6Packet({ src: ip6(a), dst: ip6(b), nextHeader: 135, payload: Uint8Array.of(59, 0, 0, 0, 0, 0, 0, 0) }), opts: ext });
  const inner = withUdp(17, [], 'fe80::212:4b00:102:304', b).subarray(0);
  out.push({
    name: 'IPv6 in IPv6',
    packet: ipv6Packet({ src: ip6('2001:db8:1::212:4b00:102:304'), dst: ip6('2001:db8:1::11:22ff:fe33:4455'), nextHeader: 41, hopLimit: 63, payload: inner }),
    opts: { ...ext, contexts: CONTEXTS },
  });
  return out;
}

function tshark(file: string, ...args: string[]): string[] {
  const r = spawnSync('tshark', ['-r', file, '-o', 'udp.check_checksum:TRUE', ...TSHARK_CONTEXT_PREFS, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

describe('LOWPAN_IPHC/NHC: a capture checked by tshark', () => {
  it('every frame dissected to the IPv6 and UDP headers we compressed, no malformed packet, no warning, checksums good', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', 'the 6LoWPAN IPHC capture')) return;
    const all = cases();
    const frames = all.map((c, i) => {
      const z = compressIphc(c.packet, c.opts);
      assert.ok(!isFault(z), `${c.name}: ${String(z)}`);
      const back = decompressIphc(z.frame, c.opts);
      assert.ok(!isFault(back) && toHex(back.packet) === toHex(c.packet), `${c.name}: round trip`);
      return wpanFrame(i, c.opts.src, c.opts.dst, z.frame);
    });
    const dir = mkdtempSync(join(tmpdir(), 'iotnet-iphc-'));
    const file = join(dir, 'iphc.pcap');
    try {
      writeFileSync(file, wpanPcap(frames));
      const rows = tshark(file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=~', '-E', 'separator=|', ...FIELDS.flatMap((n) => ['-e', n]))
        .map((line) => line.split('|').map((x) => (x === '' ? [] : x.split('~'))));
      assert.equal(rows.length, frames.length, 'tshark reads every frame');
      rows.forEach((row, i) => {
        const c = all[i] as Case;
        // numbers as decimal (tshark prints hex fields as 0x...)
        const got = (f: Field): string[] => (row[FIELDS.indexOf(f)] ?? []).map((x) => (/^0x[0-9a-f]+$/.test(x) ? String(Number(x)) : x));
        assert.deepEqual(got('_ws.malformed'), [], `${c.name}: malformed`);
        const elided = c.opts.elideUdpChecksum === true;
        got('_ws.expert.severity').forEach((sev, k) => {
          const msg = got('_ws.expert.message')[k] ?? '';
          if (elided && msg.startsWith('Bad checksum')) return;
          assert.ok(Number(sev) < 0x00600000, `${c.name}: expert severity ${sev}: ${msg}`);
        });
        const want = expectedFields(c.packet, elided);
        for (const f of CHECKED) assert.deepEqual(got(f), want[f] ?? [], `${c.name}: ${f}`);
      });
      assert.ok(frames.length > 500);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
