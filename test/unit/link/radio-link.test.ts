/**
 * RadioLink: a `Link` over one node of the simulated 802.15.4 medium. Frames both ways, wake-ups,
 * the bounded receive ring, refused frames, MAC outcomes (acked / sent / no-ack) in the stats and
 * through `onTxStatus`, idempotent close, and a per-node `PcapCapture` defaulting to linktype 230.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import type { Link } from '../../../src/link/link.ts';
import { PcapCapture, PcapLinkType } from '../../../src/link/pcap-writer.ts';
import { LOWPAN_IPV6_MTU, RadioLink, type RadioTxStatus } from '../../../src/link/radio-link.ts';
import { RadioMedium } from '../../../src/link/radio-medium.ts';
import { parseMacFrame } from '../../../src/wire/ieee802154.ts';
import { isFault } from '../../../src/wire/fault.ts';
import { RADIO_PAN, radioData, radioExt } from '../../support/radio-frames.ts';

const PAN = RADIO_PAN;
const ext = radioExt;
const data = radioData;

/** `count` RadioLinks on one medium, chained (node i hears i-1 and i+1) with `lossPct`. */
function links(count: number, opts: { lossPct?: number; queueFrames?: number; seed?: number } = {}) {
  const sched = new VirtualScheduler();
  const medium = new RadioMedium({ scheduler: sched, rng: new XorShiftRng(opts.seed ?? 1) });
  const ports = Array.from({ length: count }, (_, i) => medium.attach({ extended: ext(i + 1), short: i + 1, pan: PAN }));
  medium.chain(ports, opts.lossPct ?? 0);
  const ls = ports.map((p) => new RadioLink(p, opts.queueFrames === undefined ? {} : { queueFrames: opts.queueFrames }));
  return { sched, medium, ports, links: ls };
}

function drain(l: RadioLink, now: number): number[][] {
  const out: number[][] = [];
  for (let f = l.receive(now); f !== undefined; f = l.receive(now)) {
    const m = parseMacFrame(f);
    assert.ok(!isFault(m));
    out.push([...m.payload]);
  }
  return out;
}

describe('RadioLink', () => {
  it('caps: ieee802154, mtu 1280, the port addresses', () => {
    const { links: [a] } = links(1);
    assert.ok(a !== undefined);
    assert.equal(a.caps.medium, 'ieee802154');
    assert.equal(a.caps.mtu, LOWPAN_IPV6_MTU);
    assert.deepEqual([...(a.caps.ieee802154?.extended ?? [])], [...ext(1)]);
    assert.equal(a.caps.ieee802154?.short, 1);
    assert.equal(a.caps.ieee802154?.pan, PAN);
    const dev: Link = a;
    assert.equal(dev.linkState, undefined, 'no carrier: always up');
  });

  it('frames both ways, each waking the receiver once; acked outcomes counted', () => {
    const { sched, links: [a, b] } = links(2);
    assert.ok(a !== undefined && b !== undefined);
    let wa = 0;
    let wb = 0;
    a.onReadable(() => wa++);
    const offB = b.onReadable(() => wb++);
    assert.equal(a.transmit(sched.now(), data(1, 2, [1, 2, 3], 1)), true);
    assert.equal(a.transmit(sched.now(), data(1, 2, [4], 2)), true);
    assert.equal(b.transmit(sched.now(), data(2, 1, [5, 6], 3)), true);
    assert.equal(b.receive(sched.now()), undefined, 'nothing before the air time');
    sched.advanceTo(50);
    assert.equal(wb, 2);
    assert.equal(wa, 1);
    assert.deepEqual(drain(b, sched.now()), [[1, 2, 3], [4]]);
    assert.deepEqual(drain(a, sched.now()), [[5, 6]]);
    const sa = a.stats();
    assert.equal(sa.txFrames, 2);
    assert.equal(sa.txAcked, 2);
    assert.equal(sa.rxFrames, 1);
    assert.equal(sa.rxBytes, data(2, 1, [5, 6]).length);
    assert.equal(sa.dropped, 0);
    assert.equal(b.stats().txAcked, 1);
    // A broadcast: 'sent', no ACK expected.
    offB();
    assert.equal(a.transmit(sched.now(), data(1, 'broadcast', [7])), true);
    sched.advanceTo(100);
    assert.equal(wb, 2, 'unsubscribed');
    assert.deepEqual(drain(b, sched.now()), [[7]]);
    assert.equal(a.stats().txSent, 1);
  });

  it('a full receive ring drops and counts; the ring drains in order', () => {
    const { sched, links: [a, b] } = links(2, { queueFrames: 4 });
    assert.ok(a !== undefined && b !== undefined);
    for (let i = 0; i < 6; i++) assert.equal(a.transmit(sched.now(), data(1, 2, [i], i)), true);
    sched.advanceTo(200);
    assert.equal(b.queued, 4);
    assert.equal(b.stats().rxDropped, 2);
    assert.equal(b.stats().dropped, 2);
    assert.deepEqual(drain(b, sched.now()), [[0], [1], [2], [3]]);
    assert.equal(a.stats().txAcked, 6, 'the MAC acknowledged them all: the drop is above the MAC');
  });

  it('refuses an oversize frame and non-MAC bytes: false, counted', () => {
    const { sched, links: [a] } = links(2);
    assert.ok(a !== undefined);
    const header = data(1, 2, []).length;
    assert.equal(a.transmit(sched.now(), data(1, 2, new Array(126 - header).fill(0))), false);
    assert.equal(a.transmit(sched.now(), new Uint8Array([0xff])), false);
    assert.equal(a.transmit(sched.now(), data(1, 2, new Array(125 - header).fill(0))), true);
    const s = a.stats();
    assert.equal(s.txRefused, 2);
    assert.equal(s.dropped, 2);
    assert.equal(s.txFrames, 1);
  });

  it('no-ack out of range and at 100 % loss: counted and reported with the destination', () => {
    const { sched, links: [a, , c] } = links(3);
    assert.ok(a !== undefined && c !== undefined);
    const seen: RadioTxStatus[] = [];
    a.onTxStatus((s) => seen.push(s));
    assert.equal(a.transmit(sched.now(), data(1, 3, [1], 9)), true);
    sched.advanceTo(100);
    assert.equal(a.stats().txNoAck, 1);
    assert.equal(c.queued, 0);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.result, 'no-ack');
    assert.equal(seen[0]?.seq, 9);
    assert.deepEqual(seen[0]?.dst, { mode: 'extended', value: ext(3) });

    const lossy = links(2, { lossPct: 100 });
    const [x, y] = lossy.links;
    assert.ok(x !== undefined && y !== undefined);
    for (let i = 0; i < 3; i++) x.transmit(lossy.sched.now(), data(1, 2, [i], i));
    lossy.sched.advanceTo(500);
    assert.equal(x.stats().txNoAck, 3);
    assert.equal(x.stats().txAcked, 0);
    assert.equal(y.queued, 0);
  });

  it('close is idempotent, closes the port, and refuses further frames', () => {
    const { sched, ports: [pa, pb], links: [a, b] } = links(2);
    assert.ok(a !== undefined && b !== undefined && pa !== undefined && pb !== undefined);
    let woke = 0;
    b.onReadable(() => woke++);
    a.transmit(sched.now(), data(1, 2, [1]));
    sched.advanceTo(50);
    assert.equal(b.queued, 1);
    b.close();
    b.close();
    assert.equal(pb.closed, true);
    assert.equal(b.receive(sched.now()), undefined, 'queued frames are gone');
    assert.equal(b.transmit(sched.now(), data(2, 1, [2])), false);
    assert.equal(b.stats().droppedClosed, 1);
    assert.deepEqual(b.onReadable(() => woke++)(), undefined);
    a.transmit(sched.now(), data(1, 2, [3]));
    sched.advanceTo(100);
    assert.equal(woke, 1, 'no wake-up after close');
    assert.equal(a.stats().txNoAck, 1, 'the closed node no longer acknowledges');
  });

  it('a PcapCapture around a RadioLink writes linktype 230 by default', () => {
    const { sched, links: [a, b] } = links(2);
    assert.ok(a !== undefined && b !== undefined);
    const chunks: Uint8Array[] = [];
    const cap = new PcapCapture(b, { clock: sched, sink: (c) => chunks.push(c) });
    assert.equal(cap.linkType, PcapLinkType.IEEE802_15_4_NOFCS);
    const header = chunks[0] as Uint8Array;
    assert.equal(new DataView(header.buffer, header.byteOffset).getUint32(20, true), 230);
    const frame = data(1, 2, [1, 2]);
    a.transmit(sched.now(), frame);
    sched.advanceTo(50);
    assert.ok(cap.receive(sched.now()) !== undefined);
    assert.equal(cap.frames, 1);
    assert.deepEqual([...(chunks[1] as Uint8Array).subarray(16)], [...frame]);
  });
});
