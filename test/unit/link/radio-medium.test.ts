/**
 * The simulated 802.15.4 medium on virtual time: acknowledged unicast, broadcast to neighbours
 * only, retries and give-up out of range, seeded loss, the 127-byte limit, address filtering,
 * FIFO sending and air time at 250 kbit/s. Static mesh routes from the topology (chain, grid,
 * unreachable nodes, short-address keys). The medium-wide capture: one record per attempt plus
 * the implicit ACKs, dissected by tshark (6LoWPAN IPHC/UDP payloads, wpan addresses, no
 * malformed frames); tshark is installed when missing (root), else a loud skip.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatIPv6, modifiedEui64 } from '../../../src/base/ip-address.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { meshKey, meshRoutes, RadioMedium, type MeshRoute, type RadioPort, type RadioTxResult } from '../../../src/link/radio-medium.ts';
import { concatBytes, wr16 } from '../../../src/wire/bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../../../src/wire/checksum.ts';
import { buildMacFrame, MAC_BROADCAST, macFrame, parseMacFrame, type MacAddress, type MacFrame } from '../../../src/wire/ieee802154.ts';
import { emitIpv6 } from '../../../src/wire/ipv6.ts';
import { compressIphc } from '../../../src/wire/lowpan/iphc.ts';
import { isFault } from '../../../src/wire/fault.ts';
import { RADIO_PAN, radioData, radioExt } from '../../support/radio-frames.ts';
import { skipWithoutTool } from '../../support/system-tool.ts';
import { assertCleanCapture, tsharkCounter } from '../../support/tshark-count.ts';

const PAN = RADIO_PAN;
const ext = radioExt;
const data = radioData;

function nodes(count: number, lossPct = 0, seed = 1) {
  const sched = new VirtualScheduler();
  const medium = new RadioMedium({ scheduler: sched, rng: new XorShiftRng(seed) });
  const ports = Array.from({ length: count }, (_, i) => medium.attach({ extended: ext(i + 1), short: i + 1, pan: PAN }));
  medium.chain(ports, lossPct);
  const got = ports.map(() => [] as MacFrame[]);
  ports.forEach((p, i) => p.onFrame((f) => {
    const m = parseMacFrame(f);
    assert.ok(!isFault(m));
    got[i]?.push(m);
  }));
  return { sched, medium, ports, got };
}


function send(p: RadioPort, frame: Uint8Array): { result: RadioTxResult | undefined } {
  const r: { result: RadioTxResult | undefined } = { result: undefined };
  assert.equal(p.send(frame, (x) => (r.result = x)), true);
  return r;
}

describe('RadioMedium', () => {
  it('acknowledged unicast to a neighbour, after its air time at 250 kbit/s', () => {
    const { sched, ports, got } = nodes(2);
    const frame = data(1, 2, Array.from({ length: 50 }, (_, i) => i));
    const r = send(ports[0] as RadioPort, frame);
    sched.advanceTo(100);
    assert.equal(r.result, 'acked');
    assert.equal(got[1]?.length, 1);
    assert.deepEqual([...(got[1]?.[0]?.payload ?? [])], Array.from({ length: 50 }, (_, i) => i));
    // 50 + 19 bytes of MAC header... the exact bytes: frame + FCS 2 + PHY 6, 8 bits each at 250 kbit/s.
    const air = ((frame.length + 8) * 8) / 250;
    const s = new VirtualScheduler();
    const m = new RadioMedium({ scheduler: s, rng: new XorShiftRng(9) });
    const [a, b] = [m.attach({ extended: ext(1), pan: PAN }), m.attach({ extended: ext(2), pan: PAN })];
    m.link(a, b);
    let at = -1;
    b.onFrame(() => (at = s.now()));
    a.send(frame);
    s.advanceTo(100);
    assert.ok(at >= air && at <= air + 7 * 0.32 + 1e-9, `delivered at ${at} ms, air ${air} ms`);
  });

  it('broadcast reaches neighbours only (one hop), unacknowledged', () => {
    const { sched, ports, got } = nodes(3);
    const r = send(ports[1] as RadioPort, data(2, 'broadcast', [1, 2, 3]));
    sched.advanceTo(100);
    assert.equal(r.result, 'sent');
    assert.equal(got[0]?.length, 1);
    assert.equal(got[2]?.length, 1);
    const r2 = send(ports[0] as RadioPort, data(1, 'broadcast', [4]));
    sched.advanceTo(200);
    assert.equal(r2.result, 'sent');
    assert.equal(got[2]?.length, 1, 'two hops away: not heard');
  });

  it('a unicast out of range is retried 3 times, then no-ack', () => {
    const { sched, ports, got } = nodes(3);
    const p0 = ports[0] as RadioPort;
    const r = send(p0, data(1, 3, [9]));
    sched.advanceTo(1000);
    assert.equal(r.result, 'no-ack');
    assert.equal(p0.stats.attempts, 4);
    assert.equal(p0.stats.retries, 3);
    assert.equal(p0.stats.noAck, 1);
    assert.equal(got[2]?.length, 0);
    assert.equal(got[1]?.length, 0, 'a frame for node 3 is not delivered to node 2');
  });

  it('seeded loss: retries recover most frames; duplicates when only the ACK was lost', () => {
    const { sched, ports, got } = nodes(2, 30, 7);
    const p0 = ports[0] as RadioPort;
    const results: (RadioTxResult | undefined)[] = [];
    for (let i = 0; i < 200; i++) {
      const r = { v: undefined as RadioTxResult | undefined };
      assert.equal(p0.send(data(1, 2, [i & 0xff], i & 0xff), (x) => (r.v = x)), true);
      results.push(undefined);
      sched.advanceTo(sched.now() + 50);
      results[i] = r.v;
    }
    const acked = results.filter((x) => x === 'acked').length;
    // Per attempt 0.7 (frame) x 0.7 (ACK) = 0.49; four attempts fail together 0.51^4 = 6.8 %: about 186 of 200.
    assert.ok(acked >= 180 && acked < 200, `acked ${acked} of 200`);
    assert.ok(p0.stats.retries > 20, `retries ${p0.stats.retries}`);
    assert.ok((got[1]?.length ?? 0) >= acked, 'every acked frame arrived');
    assert.ok((ports[1]?.stats.lost ?? 0) > 0 && p0.stats.acksLost > 0);
  });

  it('refuses frames over 127 bytes with the FCS, and non-MAC bytes; sends in FIFO order', () => {
    const { sched, ports, got } = nodes(2);
    const p0 = ports[0] as RadioPort;
    const header = data(1, 2, []).length;
    assert.equal(p0.send(data(1, 2, new Array(125 - header).fill(1))), true);
    assert.equal(p0.send(data(1, 2, new Array(126 - header).fill(1))), false);
    assert.equal(p0.send(new Uint8Array([0xff])), false);
    assert.equal(p0.stats.refused, 2);
    for (let i = 0; i < 5; i++) p0.send(data(1, 2, [i], i));
    sched.advanceTo(500);
    assert.deepEqual(got[1]?.slice(1).map((f) => f.payload[0]), [0, 1, 2, 3, 4]);
  });
});

/** The extended address of a route's next hop, as the node number `ext(n)` was built from. */
const hopOf = (r: MeshRoute | undefined): number | undefined => r?.nextHop.extended[7];
const extKey = (n: number): string => meshKey({ mode: 'extended', value: ext(n) });

describe('mesh routes from the topology', () => {
  it('chain A-B-C-D: everything through the one neighbour, hop counts, short keys', () => {
    const { medium, ports } = nodes(4);
    const [a, b, , d] = ports as [RadioPort, RadioPort, RadioPort, RadioPort];
    const fromA = medium.meshNextHops(a);
    assert.equal(fromA.size, 6, '3 destinations, each under its extended and its short key');
    for (const n of [2, 3, 4]) {
      assert.equal(hopOf(fromA.get(extKey(n))), 2);
      assert.equal(fromA.get(extKey(n))?.hops, n - 1);
      assert.equal(fromA.get(meshKey({ mode: 'short', value: n })), fromA.get(extKey(n)), 'same route by short address');
    }
    assert.equal(fromA.get(extKey(1)), undefined, 'no route to itself');
    assert.equal(extKey(4), '0200000000000004');
    assert.equal(meshKey({ mode: 'short', value: 4 }), '0004');
    const fromB = medium.meshNextHops(b);
    assert.equal(hopOf(fromB.get(extKey(1))), 1);
    assert.equal(hopOf(fromB.get(extKey(4))), 3);
    assert.equal(fromB.get(extKey(4))?.dst.short, 4);
    // Cut C-D: D unreachable from A, and A from D.
    medium.unlink(ports[2] as RadioPort, d);
    assert.equal(medium.meshNextHops(a).get(extKey(4)), undefined);
    assert.equal(medium.meshNextHops(d).size, 0);
    // A 100 % loss link is no link.
    medium.link(ports[2] as RadioPort, d, 100);
    assert.equal(medium.meshNextHops(a).get(extKey(4)), undefined);
    medium.link(ports[2] as RadioPort, d, 99);
    assert.equal(medium.meshNextHops(a).get(extKey(4))?.hops, 3);
  });

  it('3x3 grid: shortest paths, ties to the lowest attach index; a lone node absent', () => {
    const sched = new VirtualScheduler();
    const medium = new RadioMedium({ scheduler: sched, rng: new XorShiftRng(3) });
    // Node numbers 1..9 row by row:  1 2 3 / 4 5 6 / 7 8 9; plus node 10 in range of nobody.
    const p = Array.from({ length: 10 }, (_, i) => medium.attach({ extended: ext(i + 1), short: i + 1, pan: PAN }));
    const at = (n: number): RadioPort => p[n - 1] as RadioPort;
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        const n = r * 3 + c + 1;
        if (c < 2) medium.link(at(n), at(n + 1));
        if (r < 2) medium.link(at(n), at(n + 3));
      }
    }
    const from1 = medium.meshNextHops(at(1));
    const expect: Record<number, [hop: number, hops: number]> = {
      2: [2, 1], 3: [2, 2], 4: [4, 1], 5: [2, 2], 6: [2, 3], 7: [4, 2], 8: [2, 3], 9: [2, 4],
    };
    for (const [n, [hop, hops]] of Object.entries(expect)) {
      const r = from1.get(extKey(Number(n)));
      assert.deepEqual([hopOf(r), r?.hops], [hop, hops], `route 1 -> ${n}`);
    }
    assert.equal(from1.get(extKey(10)), undefined, 'unreachable');
    assert.equal(from1.get(meshKey({ mode: 'short', value: 10 })), undefined);
    // From the centre every node is a neighbour or two hops away; corners via the lower index.
    const from5 = medium.meshNextHops(at(5));
    assert.deepEqual([1, 3, 7, 9].map((n) => hopOf(from5.get(extKey(n)))), [2, 2, 4, 6]);
    // Every route's first hop is a neighbour and the path length is consistent from there.
    for (let s = 1; s <= 9; s++) {
      const routes = medium.meshNextHops(at(s));
      for (let d = 1; d <= 9; d++) {
        if (d === s) continue;
        const r = routes.get(extKey(d));
        assert.ok(r !== undefined);
        const via = r.nextHop.extended[7] as number;
        const rest = via === d ? 0 : (medium.meshNextHops(at(via)).get(extKey(d))?.hops ?? -99);
        assert.equal(r.hops, rest + 1, `${s} -> ${d} via ${via}`);
      }
    }
  });

  it('the pure function: ambiguous and "none" short addresses are not keys; bad origin gives nothing', () => {
    const topo = {
      nodes: [
        { extended: ext(1), short: 7, pan: PAN },
        { extended: ext(2), short: 7, pan: PAN },
        { extended: ext(3), short: 0xfffe, pan: PAN },
        { extended: ext(4), pan: PAN },
      ],
      neighbours: [[1, 2, 3], [0], [0], [0]],
    };
    const r = meshRoutes(topo, 0);
    assert.deepEqual([...r.keys()].sort(), [extKey(2), extKey(3), extKey(4)]);
    assert.equal(meshRoutes(topo, 4).size, 0);
    assert.equal(meshRoutes(topo, -1).size, 0);
  });
});

/** A link-local IPv6 UDP datagram between two MAC addresses, IPHC-compressed for them. */
function iphcUdp(src: MacAddress, dst: MacAddress | 'all-nodes', payload: number[]): Uint8Array {
  const ll = (a: MacAddress): Uint8Array => {
    const iid = a.mode === 'extended' ? modifiedEui64(a.value) as Uint8Array : Uint8Array.of(0, 0, 0, 0xff, 0xfe, 0, a.value >> 8, a.value & 0xff);
    return concatBytes([Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0), iid]);
  };
  const s = ll(src);
  const d = dst === 'all-nodes' ? Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1) : ll(dst);
  const pkt = new Uint8Array(48 + payload.length);
  pkt.set(payload, 48);
  const len = 8 + payload.length;
  wr16(pkt, 40, 61616);
  wr16(pkt, 42, 50001);
  wr16(pkt, 44, len);
  wr16(pkt, 46, foldChecksum(onesSum(pkt, 40, pkt.length, pseudoHeaderSumV6(s, d, 17, len))) || 0xffff);
  emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLen: len, nextHeader: 17, hopLimit: 64, src: s, dst: d }, pkt);
  const c = compressIphc(pkt, { src, dst: dst === 'all-nodes' ? { mode: 'short', value: MAC_BROADCAST } : dst });
  assert.ok(!isFault(c));
  return c.frame;
}

function lowpanData(from: number, to: number | 'broadcast', payload: number[], seq: number): Uint8Array {
  const src: MacAddress = { mode: 'extended', value: ext(from) };
  const dst: MacAddress = to === 'broadcast' ? { mode: 'short', value: MAC_BROADCAST } : { mode: 'extended', value: ext(to) };
  return buildMacFrame(macFrame('data', {
    seq,
    ackRequest: to !== 'broadcast',
    panIdCompression: true,
    dst: { pan: PAN, addr: dst },
    src: { pan: PAN, addr: src },
    payload: iphcUdp(src, to === 'broadcast' ? 'all-nodes' : dst, payload),
  }));
}

function tsharkRows(file: string, fields: string[]): string[][] {
  const r = spawnSync('tshark', ['-r', file, '-n', '-T', 'fields', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

describe('RadioMedium.capture', () => {
  /** On a chain 1-2-3: 1 -> 2 acked, 1 -> 3 out of range (4 attempts), 2 broadcasts. */
  function scenario() {
    const { sched, medium, ports } = nodes(3);
    const chunks: Uint8Array[] = [];
    const stop = medium.capture((c) => chunks.push(c));
    const frames = [lowpanData(1, 2, [1, 2, 3, 4], 10), lowpanData(1, 3, [5, 6], 11), lowpanData(2, 'broadcast', [7], 12)];
    const results: (RadioTxResult | undefined)[] = [];
    frames.forEach((f, i) => {
      const p = ports[i === 2 ? 1 : 0] as RadioPort;
      assert.equal(p.send(f, (r) => (results[i] = r)), true);
    });
    sched.advanceTo(200);
    return { sched, medium, ports, chunks, stop, frames, results };
  }

  it('one record per attempt, an Imm-Ack per acknowledged reception, timestamps from the scheduler', () => {
    const { chunks, stop, frames, results, sched, ports } = scenario();
    assert.deepEqual(results, ['acked', 'no-ack', 'sent']);
    const header = chunks[0] as Uint8Array;
    const hv = new DataView(header.buffer, header.byteOffset);
    assert.equal(hv.getUint32(0, true), 0xa1b2c3d4);
    assert.equal(hv.getUint32(20, true), 230);
    const recs = chunks.slice(1).map((c) => {
      const v = new DataView(c.buffer, c.byteOffset);
      return { ms: v.getUint32(0, true) * 1000 + v.getUint32(4, true) / 1000, bytes: c.subarray(16) };
    });
    // 1 data + 1 ACK, 4 attempts, 1 broadcast (the two ports send concurrently: order by time).
    assert.equal(recs.length, 7);
    const kinds = recs.map((r) => {
      const m = parseMacFrame(r.bytes);
      assert.ok(!isFault(m));
      return m.type === 'ack' ? `ack${m.seq}` : `data${m.seq}`;
    });
    assert.deepEqual([...kinds].sort(), ['ack10', 'data10', 'data11', 'data11', 'data11', 'data11', 'data12']);
    for (let i = 1; i < recs.length; i++) assert.ok((recs[i]?.ms ?? 0) >= (recs[i - 1]?.ms ?? 0) - 1e-3, 'records in time order');
    const epoch = sched.wallClock() - sched.now();
    assert.ok((recs[0]?.ms ?? 0) >= epoch && (recs[6]?.ms ?? 0) <= epoch + 200);
    const data10 = recs[kinds.indexOf('data10')];
    const ack10 = recs[kinds.indexOf('ack10')];
    assert.deepEqual([...(data10?.bytes ?? [])], [...(frames[0] as Uint8Array)]);
    const air = (((frames[0] as Uint8Array).length + 8) * 8) / 250;
    assert.ok(Math.abs((ack10?.ms ?? 0) - (data10?.ms ?? 0) - air - 0.192) < 2e-3, 'ACK after the frame and the turnaround');
    assert.equal(ack10?.bytes.length, 3, 'Imm-Ack without FCS');
    // Stopped: nothing more is recorded.
    stop();
    stop();
    (ports[0] as RadioPort).send(data(1, 2, [1]));
    sched.advanceTo(400);
    assert.equal(chunks.length, 8);
  });

  it('tshark dissects the capture: frame count, wpan addresses, 6LoWPAN/UDP, nothing malformed', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', 'the radio medium capture')) return;
    const { chunks } = scenario();
    const dir = mkdtempSync(join(tmpdir(), 'radio-capture-'));
    try {
      const file = join(dir, 'radio.pcap');
      writeFileSync(file, concatBytes(chunks));
      const count = tsharkCounter(file);
      assertCleanCapture(count);
      assert.equal(count('wpan'), 7);
      assert.equal(count('wpan.frame_type == 2'), 1, 'one ACK');
      assert.equal(count('wpan.frame_type == 1'), 6);
      assert.equal(count('6lowpan.pattern == 0x03'), 6, 'IPHC in every data frame');
      assert.equal(count('udp.checksum.status == "Good"'), 6);
      const rows = tsharkRows(file, ['wpan.frame_type', 'wpan.seq_no', 'wpan.src64', 'wpan.dst64', 'wpan.dst16', 'ipv6.src', 'ipv6.dst', 'udp.dstport']);
      const bySeq = (seq: string, type: string): string[][] => rows.filter((r) => r[0] === type && r[1] === seq);
      const ll = (n: number): string => formatIPv6(concatBytes([Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0), modifiedEui64(ext(n)) as Uint8Array]));
      assert.deepEqual(bySeq('10', '0x0001'), [['0x0001', '10', '02:00:00:00:00:00:00:01', '02:00:00:00:00:00:00:02', '', ll(1), ll(2), '50001']]);
      assert.equal(bySeq('11', '0x0001').length, 4);
      assert.deepEqual(bySeq('11', '0x0001')[0], ['0x0001', '11', '02:00:00:00:00:00:00:01', '02:00:00:00:00:00:00:03', '', ll(1), ll(3), '50001']);
      assert.deepEqual(bySeq('12', '0x0001'), [['0x0001', '12', '02:00:00:00:00:00:00:02', '', '0xffff', ll(2), 'ff02::1', '50001']]);
      assert.deepEqual(bySeq('10', '0x0002').length, 1);
    } finally {
      if (process.env.KEEP_PCAP === undefined) rmSync(dir, { recursive: true, force: true });
    }
  });
});
