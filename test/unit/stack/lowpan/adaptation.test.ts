/**
 * LowpanAdaptation edge cases: mesh hops left running out on a long chain, broadcast duplicate
 * suppression on a triangle, reassembly timeout of a lone FRAG1, frames that are malformed,
 * secured, not data or not for us (counted, never thrown), and txCapacity all-or-nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { LowpanAdaptation, type LowpanInputSink } from '../../../../src/stack/lowpan/adaptation.ts';
import { equalBytes, toHex } from '../../../../src/wire/bytes.ts';
import { buildMacFrame, MAC_BROADCAST, macFrame } from '../../../../src/wire/ieee802154.ts';
import { ipv6Packet, udpDatagram } from '../../../unit/wire/lowpan/iphc-cases.ts';

const PAN = 0xabcd;
const ext = (n: number): Uint8Array => Uint8Array.of(0x02, 0, 0, 0, 0, 0, 0, n);
const ll = (n: number): Uint8Array => Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n);
const ALL_NODES = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

function udp(src: Uint8Array, dst: Uint8Array, n: number): Uint8Array {
  return ipv6Packet({ src, dst, payload: udpDatagram(src, dst, 1000, 2000, new Uint8Array(n).fill(7)) });
}

/** Nodes 1..n on a medium given by `hears(i)`; routes by `next(i, final)`; frames delivered synchronously, breadth first. */
class Net {
  readonly nodes: LowpanAdaptation[] = [];
  readonly got: Uint8Array[][] = [];
  private readonly queue: { from: number; frame: Uint8Array }[] = [];

  constructor(n: number, readonly hears: (i: number) => number[], next: (i: number, final: number) => number | undefined, hops?: number) {
    for (let i = 1; i <= n; i++) {
      this.got.push([]);
      this.nodes.push(new LowpanAdaptation({ extended: ext(i), pan: PAN }, {
        rng: new XorShiftRng(i), ...(hops !== undefined ? { meshHopsLeft: hops } : {}),
        meshRoutes: (final) => {
          const f = final.length === 8 ? final[7] as number : 0;
          const h = next(i, f);
          return h === undefined ? undefined : ext(h);
        },
      }));
    }
  }

  sink(i: number): LowpanInputSink {
    return {
      deliver: (p) => this.got[i - 1]?.push(p.slice()),
      transmit: (f) => {
        this.queue.push({ from: i, frame: f.slice() });
        return true;
      },
    };
  }

  node(i: number): LowpanAdaptation {
    return this.nodes[i - 1] as LowpanAdaptation;
  }

  send(i: number, packet: Uint8Array, dst: number | undefined): void {
    assert.ok(this.node(i).send(packet, dst === undefined ? undefined : ext(dst), (f) => this.sink(i).transmit(f)));
    for (let q = this.queue.shift(); q !== undefined; q = this.queue.shift()) {
      for (const j of this.hears(q.from)) this.node(j).input(0, q.frame, this.sink(j));
    }
  }
}

/** Chain 1 - 2 - ... - n. */
function chain(n: number, hops?: number): Net {
  return new Net(n, (i) => [i - 1, i + 1].filter((j) => j >= 1 && j <= n), (i, f) => (Math.abs(f - i) <= 1 ? undefined : f > i ? i + 1 : i - 1), hops);
}

describe('LowpanAdaptation mesh-under', () => {
  it('delivers over a 4-hop chain with enough hops left', () => {
    const net = chain(5);
    const p = udp(ll(1), ll(5), 300);
    net.send(1, p, 5);
    assert.equal(net.got[4]?.length, 1);
    assert.equal(toHex(net.got[4]?.[0] as Uint8Array), toHex(p));
    assert.ok(net.node(2).stats.meshForwarded > 0 && net.node(4).stats.meshForwarded > 0);
  });

  it('drops frames whose hops left run out, counted in meshHopLimit', () => {
    const net = chain(5, 2);
    net.send(1, udp(ll(1), ll(5), 20), 5);
    assert.equal(net.got[4]?.length, 0, 'not delivered');
    assert.equal(net.node(2).stats.meshForwarded, 1, 'node 2 forwards with 1 hop left');
    assert.equal(net.node(3).stats.meshHopLimit, 1, 'node 3 has none left to give');
    assert.equal(net.node(4).stats.framesIn, 0);
    // RFC 4944 §11: a forwarder decrementing Hops Left to 0 drops; 3 forwarders need 4.
    const short = chain(5, 3);
    short.send(1, udp(ll(1), ll(5), 20), 5);
    assert.equal(short.got[4]?.length, 0);
    assert.equal(short.node(4).stats.meshHopLimit, 1);
    const ok = chain(5, 4);
    ok.send(1, udp(ll(1), ll(5), 20), 5);
    assert.equal(ok.got[4]?.length, 1);
  });

  it('floods a broadcast on a triangle: each node delivers it once, the rest are duplicates', () => {
    const net = new Net(3, (i) => [1, 2, 3].filter((j) => j !== i), () => undefined);
    const p = udp(ll(1), ALL_NODES, 10);
    net.send(1, p, undefined);
    assert.equal(net.got[0]?.length, 0, 'the originator does not deliver its own');
    assert.equal(net.got[1]?.length, 1);
    assert.equal(net.got[2]?.length, 1);
    assert.ok(equalBytes(net.got[1]?.[0] as Uint8Array, p));
    assert.equal(net.node(2).stats.meshBroadcastsRelayed, 1);
    assert.equal(net.node(3).stats.meshBroadcastsRelayed, 1);
    assert.equal(net.node(2).stats.meshDuplicates + net.node(3).stats.meshDuplicates, 2, 'each hears the other\'s relay once');
    assert.equal(net.node(1).stats.meshHopLimit, 2, 'the originator drops its own broadcast coming back');
  });

  it('a fragmented broadcast floods through a relay', () => {
    const net = chain(3);
    const p = udp(ll(1), ALL_NODES, 300);
    net.send(1, p, undefined);
    assert.equal(net.got[1]?.length, 1, 'the neighbour');
    assert.equal(net.got[2]?.length, 1, 'two hops away');
  });

  it('a relay whose frame is longer than the originator\'s does not throw', () => {
    const a = new LowpanAdaptation({ extended: ext(1), short: 1, pan: PAN }, { rng: new XorShiftRng(1), meshRoutes: (f) => (f.length === 8 && f[7] === 3 ? ext(2) : undefined) });
    const r = new LowpanAdaptation({ extended: ext(2), pan: PAN }, { rng: new XorShiftRng(2), meshRoutes: () => undefined });
    const frames: Uint8Array[] = [];
    assert.ok(a.send(udp(ll(1), ll(3), 200), ext(3), (f) => frames.push(f.slice()) > 0));
    const out: Uint8Array[] = [];
    for (const f of frames) assert.doesNotThrow(() => r.input(0, f, { deliver: () => undefined, transmit: (x) => out.push(x.slice()) > 0 }));
    for (const f of out) assert.ok(f.length <= 125);
  });
});

describe('LowpanAdaptation reassembly timeout', () => {
  it('a lone FRAG1 is gone after 60 s, counted', () => {
    const a = new LowpanAdaptation({ extended: ext(1), pan: PAN }, { rng: new XorShiftRng(1) });
    const b = new LowpanAdaptation({ extended: ext(2), pan: PAN }, { rng: new XorShiftRng(2) });
    const frames: Uint8Array[] = [];
    assert.ok(a.send(udp(ll(1), ll(2), 400), ext(2), (f) => frames.push(f.slice()) > 0));
    assert.ok(frames.length >= 4);
    const got: Uint8Array[] = [];
    const sink: LowpanInputSink = { deliver: (p) => got.push(p), transmit: () => true };
    b.input(1000, frames[0] as Uint8Array, sink);
    assert.equal(b.pollAt(), 61_000);
    b.poll(60_999);
    assert.equal(b.reassembly.timedOut, 0);
    b.poll(61_000);
    assert.equal(b.reassembly.timedOut, 1);
    assert.equal(b.pollAt(), undefined);
    // The rest arriving later cannot complete it.
    for (const f of frames.slice(1)) b.input(62_000, f, sink);
    assert.equal(got.length, 0);
    assert.equal(b.stats.datagramsIn, 0);
  });
});

describe('LowpanAdaptation input accounting', () => {
  const us = ext(2);
  const data = (payload: number[], o: { dst?: Uint8Array | 'broadcast'; secured?: boolean } = {}): Uint8Array => buildMacFrame(macFrame('data', {
    version: o.secured === true ? 1 : 0, panIdCompression: true, seq: 1,
    dst: { pan: PAN, addr: o.dst === 'broadcast' ? { mode: 'short', value: MAC_BROADCAST } : { mode: 'extended', value: o.dst ?? us } },
    src: { pan: PAN, addr: { mode: 'extended', value: ext(1) } },
    security: o.secured === true ? { level: 5, keyIdMode: 1, frameCounterSuppressed: false, asnInNonce: false, frameCounter: 1, keySource: undefined, keyIndex: 1 } : undefined,
    payload: Uint8Array.from(payload),
  }));

  it('malformed, secured, non-data, foreign and unsupported-dispatch frames are counted, never thrown', () => {
    const b = new LowpanAdaptation({ extended: us, pan: PAN }, { rng: new XorShiftRng(2) });
    const got: Uint8Array[] = [];
    const sink: LowpanInputSink = { deliver: (p) => got.push(p), transmit: () => assert.fail('no relay') };
    b.input(0, Uint8Array.of(0x41), sink); // truncated MAC header
    b.input(0, new Uint8Array(0), sink);
    assert.equal(b.stats.malformed, 2);
    b.input(0, buildMacFrame(macFrame('ack', { version: 0, seq: 5 })), sink);
    b.input(0, buildMacFrame(macFrame('command', { version: 0, seq: 5, panIdCompression: true, dst: { pan: PAN, addr: { mode: 'extended', value: us } }, src: { pan: PAN, addr: { mode: 'extended', value: ext(1) } }, commandId: 4 })), sink);
    b.input(0, data([0x41, 1, 2, 3], { secured: true }), sink);
    assert.equal(b.stats.unsupported, 3, 'ack, command, secured data');
    b.input(0, data([0x00, 1, 2]), sink); // NALP
    assert.equal(b.stats.unsupported, 4);
    b.input(0, data([0x7a, 0x33]), sink); // IPHC cut short
    assert.equal(b.stats.malformed, 3);
    b.input(0, data([0x41, 1], { dst: ext(9) }), sink);
    assert.equal(b.stats.notForUs, 1);
    assert.equal(b.stats.framesIn, 8);
    assert.equal(got.length, 0);
    assert.equal(b.stats.datagramsIn, 0);
  });
});

describe('LowpanAdaptation txCapacity', () => {
  it('a datagram needing more frames than the device takes is not sent at all', () => {
    const a = new LowpanAdaptation({ extended: ext(1), pan: PAN }, { rng: new XorShiftRng(1) });
    const p = udp(ll(1), ll(2), 500);
    const frames: Uint8Array[] = [];
    const tx = (f: Uint8Array): boolean => frames.push(f.slice()) > 0;
    assert.equal(a.send(p, ext(2), tx, 3), false);
    assert.equal(frames.length, 0);
    assert.equal(a.stats.txBusy, 1);
    assert.equal(a.stats.framesOut, 0);
    assert.equal(a.stats.datagramsOut, 0);
    assert.equal(a.send(p, ext(2), tx, 100), true);
    const n = frames.length;
    assert.ok(n > 3);
    assert.equal(a.stats.fragmentsOut, n);
    // Exactly enough is enough.
    assert.equal(a.send(p, ext(2), tx, n), true);
    assert.equal(frames.length, 2 * n);
    assert.equal(a.stats.txBusy, 1);
    // A device refusing frames mid-datagram is reported, not hidden.
    let left = 2;
    assert.equal(a.send(p, ext(2), () => left-- > 0), false);
    assert.equal(a.stats.framesRefused, n - 2);
  });
});
