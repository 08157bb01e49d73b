/**
 * The sender's segment log (scoreboard) and RACK loss detection, in isolation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rack } from '../../../src/stack/tcp/rack.ts';
import { SegFlag, SegLog, type DeliverySink } from '../../../src/stack/tcp/seg-log.ts';

class Sink implements DeliverySink {
  readonly seen: [number, number, number][] = [];
  delivered(xmitTime: number, endSeq: number, flags: number): void {
    this.seen.push([xmitTime, endSeq, flags]);
  }
}

/** Ten 100-byte records from `base` (wrapping the sequence space when near 2^32), sent at t = index. */
function tenRecords(base: number): SegLog {
  const log = new SegLog();
  for (let i = 0; i < 10; i++) log.push((base + i * 100) >>> 0, (base + (i + 1) * 100) >>> 0, i, 0);
  return log;
}

describe('SegLog', () => {
  for (const base of [1000, 0xffff_fe00]) {
    it(`cumulative ACKs pop and trim records; SACK marks whole records; counters follow (base ${base.toString(16)})`, () => {
      const log = tenRecords(base);
      const sink = new Sink();
      assert.equal(log.length, 10);
      // SACK records 3..5 (and a partial range that covers no whole record).
      assert.equal(log.sack((base + 300) >>> 0, (base + 600) >>> 0, sink), 300);
      assert.equal(log.sack((base + 650) >>> 0, (base + 720) >>> 0, sink), 0);
      assert.equal(log.sackedBytes, 300);
      assert.equal(log.sackedSegs, 3);
      assert.equal(sink.seen.length, 3);
      // Again: nothing new.
      assert.equal(log.sack((base + 300) >>> 0, (base + 600) >>> 0, sink), 0);
      // Records 0..2 lost; 0 retransmitted.
      for (const i of [0, 1, 2]) log.setFlags(i, SegFlag.LOST);
      log.setFlags(0, SegFlag.LOST | SegFlag.RETRANS | SegFlag.EVER_RETRANS);
      assert.equal(log.lostBytes, 300);
      assert.equal(log.retransBytes, 100);
      assert.equal(log.pendingLostBytes, 200);
      assert.equal(log.firstPendingLost(), 1);
      assert.equal(log.everRetrans, 1);
      // A cumulative ACK to the middle of record 1: record 0 delivered, record 1 trimmed.
      sink.seen.length = 0;
      assert.equal(log.ackTo((base + 150) >>> 0, sink), 150);
      assert.equal(log.length, 9);
      assert.equal(log.start(0), (base + 150) >>> 0);
      assert.equal(log.lostBytes, 150);
      assert.equal(log.retransBytes, 0);
      assert.equal(log.everRetrans, 0);
      assert.deepEqual(sink.seen.map((s) => s[1]), [(base + 100) >>> 0]);
      // Past the SACKed records: they are not reported delivered twice.
      sink.seen.length = 0;
      assert.equal(log.ackTo((base + 600) >>> 0, sink), 50 + 100);
      assert.deepEqual(sink.seen.map((s) => s[1]), [(base + 200) >>> 0, (base + 300) >>> 0]);
      assert.equal(log.length, 4);
      assert.equal(log.sackedBytes, 0);
      assert.equal(log.sackedSegs, 0);
      assert.equal(log.lostBytes, 0);
      // RTO: everything not SACKed is lost.
      log.markAllLost();
      assert.equal(log.lostBytes, 400);
      assert.equal(log.firstPendingLost(), 0);
      log.ackTo((base + 1000) >>> 0, sink);
      assert.equal(log.length, 0);
      assert.equal(log.lostBytes, 0);
      log.release();
      assert.equal(log.allocated, false);
    });
  }

  it('grows past its initial capacity while wrapped around the ring', () => {
    const log = new SegLog();
    const sink = new Sink();
    let next = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 12; i++, next += 10) log.push(next, next + 10, next, 0);
      log.ackTo(next - 50, sink);
    }
    assert.equal(log.length, 5);
    for (let i = 0; i < log.length; i++) assert.equal(log.start(i), next - 50 + i * 10);
    for (let i = 0; i < 40; i++, next += 10) log.push(next, next + 10, next, 0);
    assert.equal(log.length, 45);
    for (let i = 0; i < log.length; i++) assert.equal(log.end(i) - log.start(i), 10);
    assert.equal(log.start(44), next - 10);
  });

  it('splitLarge: oversized records become pieces of at most maxPayload (FIN on the last), marked lost unless SACKed; counters follow', () => {
    const base = 0xffff_ff00; // the pieces cross the sequence wrap
    const log = new SegLog();
    const sink = new Sink();
    log.push(base, (base + 250) >>> 0, 1, 0); // 250 bytes: 100 + 100 + 50
    log.push((base + 250) >>> 0, (base + 330) >>> 0, 2, 0); // 80 bytes: fits
    log.push((base + 330) >>> 0, (base + 560) >>> 0, 3, 0); // 230: 100 + 100 + 30, a retransmission in flight below
    log.push((base + 560) >>> 0, (base + 760) >>> 0, 4, 0); // 200 bytes, SACKed below
    log.push((base + 760) >>> 0, (base + 911) >>> 0, 5, SegFlag.FIN); // 150 data + FIN: 100 + (50 + FIN)
    log.push((base + 911) >>> 0, (base + 912) >>> 0, 6, SegFlag.FIN); // (never happens twice; a bare FIN fits)
    log.setFlags(2, SegFlag.RETRANS | SegFlag.LOST | SegFlag.EVER_RETRANS);
    log.sack((base + 560) >>> 0, (base + 760) >>> 0, sink);
    assert.equal(log.retransBytes, 230);
    assert.equal(log.splitLarge(100), 4);
    const rows = Array.from({ length: log.length }, (_, i) => [(log.start(i) - base) >>> 0, (log.end(i) - base) >>> 0, log.time(i), log.flags(i)]);
    const L = SegFlag.LOST, S = SegFlag.SACKED, F = SegFlag.FIN, E = SegFlag.EVER_RETRANS;
    assert.deepEqual(rows, [
      [0, 100, 1, L], [100, 200, 1, L], [200, 250, 1, L],
      [250, 330, 2, 0],
      [330, 430, 3, L | E], [430, 530, 3, L | E], [530, 560, 3, L | E],
      [560, 660, 4, S], [660, 760, 4, S],
      [760, 860, 5, L], [860, 911, 5, L | F],
      [911, 912, 6, F],
    ]);
    assert.equal(log.lostBytes, 250 + 230 + 151);
    assert.equal(log.retransBytes, 0, 'the retransmission in flight was too large as well');
    assert.equal(log.sackedBytes, 200);
    assert.equal(log.sackedSegs, 2);
    assert.equal(log.everRetrans, 3);
    assert.equal(log.firstPendingLost(), 0);
    assert.equal(log.splitLarge(100), 0, 'nothing left to split');
    assert.equal(log.splitLarge(0), 0);
    // Cumulative ACKs still walk the pieces.
    assert.equal(log.ackTo((base + 330) >>> 0, sink), 330);
    assert.equal(log.length, 8);
    assert.equal(log.lostBytes, 230 + 151);
  });
});

describe('RACK (RFC 8985 6.2)', () => {
  it('marks lost what was sent before a delivered segment once RTT + reordering window passed; arms the timer otherwise', () => {
    const log = tenRecords(0);
    const rack = new Rack();
    // Records sent at t = 0..9; the ACK arrives at t = 20 and SACKs record 5 (sent at 5): RTT 15.
    rack.now = 20;
    log.sack(500, 600, rack);
    assert.equal(rack.minRtt, 15);
    // Reordering window min_RTT / 4 = 3.75: records 0..4 sent at 0..4 are lost when
    // t_sent + 15 + 3.75 <= 20, i.e. t_sent <= 1.25: records 0 and 1.
    assert.equal(rack.reoWnd(false, log.sackedSegs, 15), 3.75);
    assert.equal(rack.detect(20, log, 3.75), true);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => (log.flags(i) & SegFlag.LOST) !== 0), [true, true, false, false, false]);
    assert.equal(rack.timeoutAt, 2 + 15 + 3.75); // record 2 expires next
    assert.equal(log.lostBytes, 200);
    // With three segments SACKed and no reordering seen, the window is 0 (DupThresh).
    log.sack(600, 800, rack);
    assert.equal(rack.reoWnd(false, log.sackedSegs, 15), 0);
    assert.equal(rack.reorderingSeen, false);
    // A delivery below the forward-most one that was never retransmitted: reordering.
    log.sack(200, 300, rack);
    assert.equal(rack.reorderingSeen, true);
    assert.equal(rack.reoWnd(true, log.sackedSegs, 15), 13 / 4); // min RTT is now 13 (record 7: sent at 7, SACKed at 20)
  });

  it('ignores an ACK for a retransmitted segment that came sooner than the minimum RTT (it was for the original)', () => {
    const log = tenRecords(0);
    const rack = new Rack();
    rack.now = 20;
    log.sack(500, 600, rack); // min RTT 15
    log.setFlags(0, SegFlag.LOST | SegFlag.RETRANS | SegFlag.EVER_RETRANS);
    log.setTime(0, 19);
    rack.now = 21;
    log.ackTo(100, rack); // 2 ms after the retransmission: must not move RACK's clock
    assert.equal(rack.detect(21, log, 0), true, 'records sent before record 5 are lost with reo_wnd 0 and RTT 15 at t=21: 1..');
    assert.equal((log.flags(0) & SegFlag.LOST) !== 0, true);
  });
});
