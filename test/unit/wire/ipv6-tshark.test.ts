/**
 * What our IPv6 emitters write, dissected by tshark: seeded random RS/RA/NS/NA/Redirect
 * messages with every ND option, echo and errors, MLDv1/MLDv2 messages behind the Router
 * Alert Hop-by-Hop header, and UDP behind chains of Hop-by-Hop, Destination Options,
 * Routing (segments left 0) and atomic Fragment headers. tshark must find no malformed
 * packet, no expert warning or error, every ICMPv6 and UDP checksum good, and the message
 * types, prefixes, RDNSS servers, DNSSL names and MLD records we sent. tshark is installed
 * when missing (root); otherwise a loud skip (a failure under CI).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { emitIcmpv6, icmpv6BufferLen, icmpv6DestUnreachable, icmpv6PacketTooBig, type Icmpv6Repr, type NdOptions } from '../../../src/wire/icmpv6.ts';
import { emitMld, mldBufferLen, type MldRepr } from '../../../src/wire/mld.ts';
import {
  IPV6_ALL_MLDV2_ROUTERS,
  emitIpv6,
  emitIpv6ExtHeader,
  emitRouterAlertHopByHop,
  ipv6ExtHeaderLen,
  ipv6ExtHeaderType,
  type Ipv6ExtHeaderRepr,
} from '../../../src/wire/ipv6.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../../../src/wire/checksum.ts';
import { wr16 } from '../../../src/wire/bytes.ts';
import { formatIPv6 } from '../../../src/base/ip-address.ts';
import { skipWithoutTool } from '../../support/system-tool.ts';

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const plain = <T extends object>(r: T): T => ({ ...r });
const global6 = fc.uint8Array({ minLength: 14, maxLength: 14 }).map((a) => Uint8Array.of(0x20, 0x01, ...a));
const linkLocal = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((iid) => Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, ...iid));
const group = fc.uint8Array({ minLength: 14, maxLength: 14 }).map((a) => Uint8Array.of(0xff, 0x05, ...a));
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
const domain = fc.array(fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/), { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));

const raOptions: fc.Arbitrary<NdOptions> = fc
  .record(
    {
      sourceLinkAddr: mac,
      mtu: fc.integer({ min: 1280, max: 9000 }),
      prefixes: fc.array(
        fc.record({ prefixLen: fc.integer({ min: 0, max: 128 }), onLink: fc.boolean(), autonomous: fc.boolean(), validLifetime: u32, preferredLifetime: u32, prefix: global6 }).map(plain),
        { minLength: 1, maxLength: 3 },
      ),
      rdnss: fc.array(fc.record({ lifetime: u32, servers: fc.array(global6, { minLength: 1, maxLength: 3 }) }).map(plain), { minLength: 1, maxLength: 2 }),
      dnssl: fc.array(fc.record({ lifetime: u32, domains: fc.array(domain, { minLength: 1, maxLength: 3 }) }).map(plain), { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: [] },
  )
  .map(plain);
const sll = fc.option(mac, { nil: undefined }).map((m): NdOptions => (m === undefined ? {} : { sourceLinkAddr: m }));
const tll = fc.option(mac, { nil: undefined }).map((m): NdOptions => (m === undefined ? {} : { targetLinkAddr: m }));

const icmp: fc.Arbitrary<Icmpv6Repr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const), ident: u16, seq: u16, data: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ kind: fc.constant('router-solicit' as const), options: sll }),
  fc.record({
    kind: fc.constant('router-advert' as const), hopLimit: u8, managed: fc.boolean(), other: fc.boolean(), routerPreference: fc.constantFrom(0, 1, 3),
    routerLifetime: u16, reachableTime: u32, retransTimer: u32, options: raOptions,
  }),
  fc.record({ kind: fc.constant('neighbor-solicit' as const), target: global6, options: sll }),
  fc.record({ kind: fc.constant('neighbor-advert' as const), router: fc.boolean(), solicited: fc.boolean(), override: fc.boolean(), target: global6, options: tll }),
  fc.record({ kind: fc.constant('redirect' as const), target: linkLocal, destination: global6, options: tll }),
) as fc.Arbitrary<Icmpv6Repr>;

const mld: fc.Arbitrary<MldRepr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('mldv1-query' as const, 'mldv1-report' as const, 'mldv1-done' as const), maxResponseDelay: u16, group }),
  fc.record({
    kind: fc.constant('mldv2-query' as const), maxResponseCode: u16, group, suppressRouterSide: fc.boolean(), qrv: fc.integer({ min: 0, max: 7 }), qqic: u8,
    sources: fc.array(global6, { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('mldv2-report' as const),
    records: fc.array(fc.record({ recordType: fc.integer({ min: 1, max: 6 }), group, sources: fc.array(global6, { maxLength: 3 }) }).map(plain), { minLength: 1, maxLength: 4 }),
  }),
) as fc.Arbitrary<MldRepr>;

/** IANA's RFC 3692-style experimental option types with the "skip" action: dissected as unknown, never invalid. */
const option = fc.record({ type: fc.constantFrom(0x1e, 0x3e), data: fc.uint8Array({ maxLength: 12 }) }).map(plain);
const chain: fc.Arbitrary<Ipv6ExtHeaderRepr[]> = fc
  .tuple(
    fc.option(fc.record({ kind: fc.constant('hop-by-hop' as const), options: fc.array(option, { maxLength: 3 }) }).map(plain), { nil: undefined }),
    fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('dest-options' as const), options: fc.array(option, { maxLength: 3 }) }).map(plain),
        fc.record({ kind: fc.constant('fragment' as const), fragOffset: fc.constant(0), moreFrags: fc.constant(false), ident: u32 }).map(plain),
        fc.record({ kind: fc.constant('routing' as const), routingType: fc.constant(0), segmentsLeft: fc.constant(0), data: fc.constant(new Uint8Array(20)) }).map(plain),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([h, rest]) => (h === undefined ? rest : [h, ...rest]));

const SAMPLE = { seed: 20250605, numRuns: 60 };

function packet(nh: number, payload: Uint8Array, src: Uint8Array, dst: Uint8Array, hopLimit: number): Uint8Array {
  const f = new Uint8Array(14 + 40 + payload.length);
  f.set([0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0x86, 0xdd]);
  emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLen: payload.length, nextHeader: nh, hopLimit, src, dst }, f.subarray(14));
  f.set(payload, 54);
  return f;
}

function pcap(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(24 + frames.reduce((n, f) => n + 16 + f.length, 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  let o = 24;
  frames.forEach((f, i) => {
    v.setUint32(o, i, true);
    v.setUint32(o + 8, f.length, true);
    v.setUint32(o + 12, f.length, true);
    out.set(f, o + 16);
    o += 16 + f.length;
  });
  return out;
}

function tshark(file: string, ...args: string[]): string[] {
  const r = spawnSync('tshark', ['-r', file, '-o', 'udp.check_checksum:TRUE', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

describe('IPv6 emitters: a capture checked by tshark', () => {
  it('no malformed packets, expert warnings or bad checksums; types, options and records as sent', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', 'the IPv6/ICMPv6/MLD emitter capture')) return;
    const frames: Uint8Array[] = [];
    const types: string[] = [];
    const prefixes: string[] = [];
    const servers: string[] = [];
    const domains: string[] = [];
    let records = 0;
    for (const [r, src, dst] of fc.sample(fc.tuple(icmp, linkLocal, global6), SAMPLE)) {
      const m = new Uint8Array(icmpv6BufferLen(r));
      emitIcmpv6(r, m, src, dst);
      frames.push(packet(58, m, src, dst, 255));
      types.push(String(m[0]));
      if (r.kind === 'router-advert') {
        for (const p of r.options.prefixes ?? []) prefixes.push(formatIPv6(p.prefix));
        for (const s of r.options.rdnss ?? []) servers.push(...s.servers.map(formatIPv6));
        for (const d of r.options.dnssl ?? []) domains.push(...d.domains);
      }
    }
    for (const [r, src] of fc.sample(fc.tuple(mld, linkLocal), SAMPLE)) {
      const m = new Uint8Array(8 + mldBufferLen(r));
      emitRouterAlertHopByHop(58, m);
      emitMld(r, m.subarray(8), src, IPV6_ALL_MLDV2_ROUTERS);
      frames.push(packet(0, m, src, IPV6_ALL_MLDV2_ROUTERS, 1));
      types.push(String(m[8]));
      if (r.kind === 'mldv2-report') records += r.records.length;
    }
    for (const [hs, src, dst] of fc.sample(fc.tuple(chain, global6, global6), SAMPLE)) {
      const extLen = hs.reduce((n, h) => n + ipv6ExtHeaderLen(h), 0);
      const p = new Uint8Array(extLen + 12);
      let off = 0;
      hs.forEach((h, i) => {
        const next = hs[i + 1];
        off += emitIpv6ExtHeader(h, next === undefined ? 17 : ipv6ExtHeaderType(next), p, off);
      });
      const udp = p.subarray(off);
      udp.set([1, 2, 3, 4], 8);
      wr16(udp, 0, 1234);
      wr16(udp, 2, 5678);
      wr16(udp, 4, 12);
      wr16(udp, 6, 0);
      const c = foldChecksum(onesSum(udp, 0, 12, pseudoHeaderSumV6(src, dst, 17, 12)));
      wr16(udp, 6, c === 0 ? 0xffff : c);
      frames.push(packet(ipv6ExtHeaderType(hs[0] as Ipv6ExtHeaderRepr), p, src, dst, 64));
      types.push('udp');
    }
    // Errors quoting some of the packets above (tshark dissects the quote too).
    for (const f of frames.slice(-4)) {
      for (const e of [icmpv6DestUnreachable(4, f.subarray(14)), icmpv6PacketTooBig(1280, f.subarray(14))]) {
        const m = new Uint8Array(icmpv6BufferLen(e));
        emitIcmpv6(e, m, f.subarray(38, 54), f.subarray(22, 38));
        frames.push(packet(58, m, f.subarray(38, 54), f.subarray(22, 38), 64));
        types.push(String(m[0]));
      }
    }

    const dir = mkdtempSync(join(tmpdir(), 'iotnet-ipv6-'));
    const file = join(dir, 'ipv6.pcap');
    try {
      writeFileSync(file, pcap(frames));
      // One tshark run: per frame its number, ICMPv6 types, the RA options and MLD records
      // we check, every expert severity, checksum statuses (1 = good) and the malformed marker.
      const names = ['frame.number', 'icmpv6.type', 'icmpv6.opt.prefix', 'icmpv6.opt.rdnss', 'icmpv6.opt.dnssl', 'icmpv6.mldr.mar.record_type',
        '_ws.expert.severity', 'icmpv6.checksum.status', 'udp.checksum.status', '_ws.malformed'];
      const rows = tshark(file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=|', ...names.flatMap((n) => ['-e', n]))
        .map((line) => line.split('|').map((x) => (x === '' ? [] : x.split(','))));
      assert.equal(rows.length, frames.length, 'tshark reads every frame');
      const col = (n: string): string[][] => rows.map((r) => r[names.indexOf(n)] ?? []);
      rows.forEach((_, i) => {
        assert.deepEqual(col('_ws.malformed')[i], [], `frame ${i + 1} malformed`);
        for (const sev of col('_ws.expert.severity')[i] ?? []) assert.ok(Number(sev) < 0x00600000, `frame ${i + 1}: expert severity ${sev}`);
        for (const st of [...(col('icmpv6.checksum.status')[i] ?? []), ...(col('udp.checksum.status')[i] ?? [])]) assert.equal(st, '1', `frame ${i + 1} checksum`);
      });
      // the outer ICMPv6 type of each frame (an error's quote may hold another)
      assert.deepEqual(col('icmpv6.type').map((x) => x[0] ?? 'udp'), types);
      const ras = (n: string): string[] => col(n).filter((_, i) => types[i] === '134').flat();
      assert.deepEqual(ras('icmpv6.opt.prefix'), prefixes);
      assert.deepEqual(ras('icmpv6.opt.rdnss'), servers);
      assert.deepEqual(ras('icmpv6.opt.dnssl'), domains);
      assert.equal(col('icmpv6.mldr.mar.record_type').flat().length, records);
      assert.ok(types.filter((x) => x === '134').length >= 5 && records >= 5, 'the sample covers RAs and MLDv2 records');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
