import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Loopback } from '../../../src/link/loopback.ts';

const frame = (len: number, tag: number): Uint8Array => new Uint8Array(len).fill(tag);

describe('Loopback', () => {
  it('defaults to medium ip with mtu 65535, ethernet to 1500', () => {
    assert.deepEqual(new Loopback().caps, { medium: 'ip', mtu: 65535 });
    assert.deepEqual(new Loopback({ medium: 'ethernet' }).caps, { medium: 'ethernet', mtu: 1500 });
    assert.deepEqual(new Loopback({ mtu: 1280 }).caps, { medium: 'ip', mtu: 1280 });
  });

  it('returns transmitted frames in order, as copies, and wakes itself per frame', () => {
    const lo = new Loopback();
    let woken = 0;
    lo.onReadable(() => woken++);
    const f = frame(20, 1);
    assert.equal(lo.transmit(0, f), true);
    f.fill(0);
    assert.equal(lo.transmit(0, frame(65535, 2)), true);
    assert.equal(woken, 2);
    assert.deepEqual(lo.receive(0), frame(20, 1));
    assert.deepEqual(lo.receive(0), frame(65535, 2));
    assert.equal(lo.receive(0), undefined);
    assert.deepEqual(lo.stats(), {
      rxFrames: 2,
      rxBytes: 65555,
      txFrames: 2,
      txBytes: 65555,
      dropped: 0,
      droppedOversize: 0,
      droppedQueueFull: 0,
      droppedClosed: 0,
      droppedNoCarrier: 0,
    });
  });

  it('a frame being processed survives transmits made while handling it', () => {
    const lo = new Loopback({ queueFrames: 2 });
    lo.transmit(0, frame(40, 1));
    const rx = lo.receive(0);
    assert.ok(rx);
    // A stack replying to `rx` during the same poll.
    assert.equal(lo.transmit(0, frame(40, 2)), true);
    assert.equal(lo.transmit(0, frame(40, 3)), true);
    assert.equal(lo.transmit(0, frame(40, 4)), false);
    assert.deepEqual(rx, frame(40, 1));
    assert.deepEqual(lo.receive(0), frame(40, 2));
    assert.deepEqual(lo.receive(0), frame(40, 3));
    assert.equal(lo.stats().droppedQueueFull, 1);
  });

  it('drops oversize frames (mtu + 14 on ethernet)', () => {
    const ip = new Loopback({ mtu: 100 });
    assert.equal(ip.transmit(0, frame(101, 0)), false);
    assert.equal(ip.transmit(0, frame(100, 0)), true);
    const eth = new Loopback({ medium: 'ethernet', mtu: 100 });
    assert.equal(eth.transmit(0, frame(114, 0)), true);
    assert.equal(eth.transmit(0, frame(115, 0)), false);
    assert.equal(eth.stats().droppedOversize, 1);
  });

  it('close is idempotent and stops both directions', () => {
    const lo = new Loopback();
    lo.transmit(0, frame(10, 1));
    lo.close();
    lo.close();
    assert.equal(lo.receive(0), undefined);
    assert.equal(lo.transmit(0, frame(10, 1)), false);
    assert.equal(lo.stats().droppedClosed, 1);
  });
});
