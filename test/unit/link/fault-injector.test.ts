import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { FaultInjector, type FaultSettings } from '../../../src/link/fault-injector.ts';
import type { Link, LinkCaps } from '../../../src/link/link.ts';
import { createCable } from '../../../src/link/virtual-cable.ts';

interface Sent {
  at: number;
  bytes: Uint8Array;
}

/** An inner link that records what reaches it (copies, with the virtual time). */
class Recorder implements Link {
  readonly caps: LinkCaps;
  readonly sent: Sent[] = [];
  accept = true;
  closed = false;
  constructor(
    private readonly sched: VirtualScheduler,
    caps: LinkCaps = { medium: 'ethernet', mtu: 1500 },
  ) {
    this.caps = caps;
  }
  receive(): Uint8Array | undefined {
    return undefined;
  }
  transmit(_now: number, frame: Uint8Array): boolean {
    if (!this.accept) return false;
    this.sent.push({ at: this.sched.now(), bytes: frame.slice() });
    return true;
  }
  onReadable(): () => void {
    return () => {};
  }
  close(): void {
    this.closed = true;
  }
  /** Sequence numbers (first 4 bytes, big-endian) of what arrived. */
  seqs(): number[] {
    return this.sent.map((s) => seqOf(s.bytes));
  }
}

/** A 100-byte frame carrying `seq` in its first 4 bytes, the rest a pattern. */
function numbered(seq: number, len = 100): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 4; i < len; i++) f[i] = (i * 7 + seq) & 0xff;
  new DataView(f.buffer).setUint32(0, seq);
  return f;
}
const seqOf = (f: Uint8Array): number => new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(0);

function setup(settings: FaultSettings, seed = 1) {
  const sched = new VirtualScheduler();
  const rec = new Recorder(sched);
  const fi = new FaultInjector(rec, { rng: new XorShiftRng(seed), scheduler: sched, ...settings });
  return { sched, rec, fi };
}

/** Sends `n` numbered frames, one per ms of virtual time, then lets every timer run. */
function pump(s: ReturnType<typeof setup>, n: number): void {
  for (let i = 0; i < n; i++) {
    s.fi.transmit(s.sched.now(), numbered(i));
    s.sched.advance(1);
  }
  s.sched.advance(60_000);
}

/** Within `k` standard deviations of a binomial(n, p) mean. */
function assertBinomial(count: number, n: number, p: number, what: string, k = 4): void {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(count - mean) <= k * sd, `${what}: ${count} not within ${k} sd (${sd.toFixed(1)}) of ${mean}`);
}

const N = 10_000;

describe('FaultInjector: rates over 10,000 frames', () => {
  it('lossPct drops that share, silently (transmit still returns true)', () => {
    const s = setup({ lossPct: 10 });
    let falses = 0;
    for (let i = 0; i < N; i++) if (!s.fi.transmit(0, numbered(i))) falses++;
    assert.equal(falses, 0);
    const lost = N - s.rec.sent.length;
    assertBinomial(lost, N, 0.1, 'lost');
    assert.equal(s.fi.stats().tx.lost, lost);
    assert.equal(s.fi.stats().tx.passed, s.rec.sent.length);
    assert.deepEqual(s.rec.seqs(), [...s.rec.seqs()].sort((a, b) => a - b), 'loss alone keeps order');
  });

  it('dupPct sends that share twice, back to back', () => {
    const s = setup({ dupPct: 5 });
    pump(s, N);
    const seqs = s.rec.seqs();
    const dups = seqs.length - N;
    assertBinomial(dups, N, 0.05, 'duplicated');
    assert.equal(s.fi.stats().tx.duplicated, dups);
    let adjacent = 0;
    for (let i = 1; i < seqs.length; i++) if (seqs[i] === seqs[i - 1]) adjacent++;
    assert.equal(adjacent, dups);
    assert.deepEqual(new Set(seqs).size, N);
  });

  it('corruptPct flips exactly one bit in that share of frames', () => {
    const s = setup({ corruptPct: 3 });
    pump(s, N);
    assert.equal(s.rec.sent.length, N);
    let corrupted = 0;
    for (const [i, { bytes }] of s.rec.sent.entries()) {
      const want = numbered(i);
      let bits = 0;
      for (let j = 0; j < want.length; j++) {
        let x = (want[j] as number) ^ (bytes[j] as number);
        while (x) {
          bits += x & 1;
          x >>= 1;
        }
      }
      assert.ok(bits <= 1, `frame ${i}: ${bits} bits flipped`);
      corrupted += bits;
    }
    assertBinomial(corrupted, N, 0.03, 'corrupted');
    assert.equal(s.fi.stats().tx.corrupted, corrupted);
  });

  it('reorderPct delivers that share of frames late', () => {
    const s = setup({ reorderPct: 10 });
    pump(s, N);
    const seqs = s.rec.seqs();
    assert.equal(seqs.length, N);
    assert.deepEqual([...seqs].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i), 'nothing lost or duplicated');
    // A late frame is one with a higher-numbered frame before it.
    let late = 0;
    let max = -1;
    for (const q of seqs) {
      if (q < max) late++;
      max = Math.max(max, q);
    }
    assertBinomial(late, N, 0.1, 'reordered');
    assert.equal(s.fi.stats().tx.reordered, late);
  });

  it('every fault at once stays within tolerance and accounts for every frame', () => {
    const s = setup({ lossPct: 5, dupPct: 5, reorderPct: 5, corruptPct: 5 });
    pump(s, N);
    const st = s.fi.stats().tx;
    assert.equal(st.frames, N);
    assertBinomial(st.lost, N, 0.05, 'lost');
    const kept = N - st.lost;
    assertBinomial(st.duplicated, kept, 0.05, 'duplicated');
    assertBinomial(st.corrupted, kept, 0.05, 'corrupted');
    assertBinomial(st.reordered, kept, 0.05, 'reordered');
    assert.equal(s.rec.sent.length, kept + st.duplicated);
    assert.equal(st.passed, s.rec.sent.length);
  });
});

describe('FaultInjector: determinism', () => {
  const all: FaultSettings = { lossPct: 10, dupPct: 10, reorderPct: 10, corruptPct: 10, delayMs: 5, jitterMs: 20, bandwidthBps: 1_000_000 };
  const trace = (seed: number): string => {
    const s = setup(all, seed);
    pump(s, 2000);
    return s.rec.sent.map((x) => `${x.at}:${Buffer.from(x.bytes).toString('hex')}`).join('\n');
  };

  it('the same seed gives the identical sequence (bytes and times)', () => {
    assert.equal(trace(42), trace(42));
  });

  it('a different seed gives a different sequence', () => {
    assert.notEqual(trace(42), trace(43));
  });
});

describe('FaultInjector: corruption', () => {
  it("never mutates the caller's frame", () => {
    const s = setup({ corruptPct: 100 });
    for (let i = 0; i < 500; i++) {
      const f = numbered(i);
      const before = f.slice();
      s.fi.transmit(0, f);
      assert.deepEqual(f, before);
      assert.notDeepEqual(s.rec.sent[i]?.bytes, before);
    }
    assert.equal(s.fi.stats().tx.corrupted, 500);
  });

  it('leaves an empty frame alone', () => {
    const s = setup({ corruptPct: 100 });
    assert.equal(s.fi.transmit(0, new Uint8Array(0)), true);
    assert.equal(s.rec.sent[0]?.bytes.length, 0);
  });
});

describe('FaultInjector: timing on the virtual clock', () => {
  it('delayMs delays every frame by exactly that, with one timer', () => {
    const s = setup({ delayMs: 25 });
    s.fi.transmit(0, numbered(0));
    s.sched.advance(5);
    s.fi.transmit(5, numbered(1));
    assert.equal(s.sched.pendingTimers(), 1);
    s.sched.advance(19);
    assert.equal(s.rec.sent.length, 0);
    s.sched.advance(1);
    assert.deepEqual(
      s.rec.sent.map((x) => [x.at, seqOf(x.bytes)]),
      [[25, 0]],
    );
    s.sched.advance(100);
    assert.deepEqual(
      s.rec.sent.map((x) => [x.at, seqOf(x.bytes)]),
      [
        [25, 0],
        [30, 1],
      ],
    );
    assert.equal(s.sched.pendingTimers(), 0);
    assert.equal(s.fi.stats().tx.shaped, 2);
  });

  it('bandwidthBps serialises frames back to back: 1000 bytes at 8000 bit/s take 1 s each', () => {
    const s = setup({ bandwidthBps: 8000 });
    for (let i = 0; i < 3; i++) s.fi.transmit(0, numbered(i, 1000));
    s.sched.advance(4000);
    s.fi.transmit(4000, numbered(3, 500)); // idle link: starts at once, takes 0.5 s
    s.sched.advance(10_000);
    assert.deepEqual(
      s.rec.sent.map((x) => [x.at, seqOf(x.bytes)]),
      [
        [1000, 0],
        [2000, 1],
        [3000, 2],
        [4500, 3],
      ],
    );
  });

  it('bandwidth and delay add up', () => {
    const s = setup({ bandwidthBps: 80_000, delayMs: 10 });
    s.fi.transmit(0, numbered(0, 1000)); // 100 ms to serialise
    s.fi.transmit(0, numbered(1, 1000));
    s.sched.advance(1000);
    assert.deepEqual(
      s.rec.sent.map((x) => x.at),
      [110, 210],
    );
  });

  it('jitter stays within [delay, delay + jitter] and never reorders', () => {
    const s = setup({ delayMs: 10, jitterMs: 20 }, 7);
    const sentAt: number[] = [];
    for (let i = 0; i < 1000; i++) {
      sentAt.push(s.sched.now());
      s.fi.transmit(s.sched.now(), numbered(i));
      s.sched.advance(3);
    }
    s.sched.advance(1000);
    const seqs = s.rec.seqs();
    assert.deepEqual(seqs, Array.from({ length: 1000 }, (_, i) => i));
    const lat = s.rec.sent.map((x, i) => x.at - (sentAt[i] as number));
    assert.ok(Math.min(...lat) >= 10 && Math.max(...lat) <= 30, `latencies ${Math.min(...lat)}..${Math.max(...lat)}`);
    assert.ok(new Set(lat).size > 100, 'latencies vary');
    for (let i = 1; i < s.rec.sent.length; i++) assert.ok((s.rec.sent[i]?.at as number) >= (s.rec.sent[i - 1]?.at as number));
  });

  it('queueBytes tail-drops what does not fit, and transmit says so', () => {
    const s = setup({ bandwidthBps: 8000, queueBytes: 2500 });
    assert.equal(s.fi.transmit(0, numbered(0, 1000)), true);
    assert.equal(s.fi.transmit(0, numbered(1, 1000)), true);
    assert.equal(s.fi.transmit(0, numbered(2, 1000)), false);
    assert.equal(s.fi.stats().tx.queueDropped, 1);
    s.sched.advance(1000); // frame 0 leaves: room again
    assert.equal(s.fi.transmit(1000, numbered(3, 1000)), true);
    s.sched.advance(10_000);
    assert.deepEqual(s.rec.seqs(), [0, 1, 3]);
    assert.deepEqual(
      s.rec.sent.map((x) => x.at),
      [1000, 2000, 3000],
    );
  });

  it('frames queue behind shaped ones after shaping is switched off (order kept)', () => {
    const s = setup({ delayMs: 50 });
    s.fi.transmit(0, numbered(0));
    s.fi.configure({ delayMs: 0 });
    s.fi.transmit(1, numbered(1));
    assert.equal(s.rec.sent.length, 0);
    s.sched.advance(50);
    assert.deepEqual(s.rec.seqs(), [0, 1]);
    s.fi.transmit(50, numbered(2)); // shaper empty again: straight through
    assert.deepEqual(s.rec.seqs(), [0, 1, 2]);
  });

  it('counts frames the inner link refuses later', () => {
    const s = setup({ delayMs: 5 });
    s.fi.transmit(0, numbered(0));
    s.rec.accept = false;
    s.sched.advance(5);
    assert.equal(s.fi.stats().tx.innerDropped, 1);
  });
});

describe('FaultInjector: reordering', () => {
  it('reorderPct 100 swaps every pair', () => {
    const s = setup({ reorderPct: 100 });
    for (let i = 0; i < 8; i++) s.fi.transmit(0, numbered(i));
    assert.deepEqual(s.rec.seqs(), [1, 0, 3, 2, 5, 4, 7, 6]);
  });

  it('a held frame with no successor is released after reorderHoldMs', () => {
    const s = setup({ reorderPct: 100, reorderHoldMs: 7 });
    s.fi.transmit(0, numbered(0));
    s.sched.advance(6);
    assert.equal(s.rec.sent.length, 0);
    s.sched.advance(1);
    assert.deepEqual(
      s.rec.sent.map((x) => [x.at, seqOf(x.bytes)]),
      [[7, 0]],
    );
    assert.equal(s.sched.pendingTimers(), 0);
  });

  it('the held frame is a copy: the caller may reuse its buffer', () => {
    const s = setup({ reorderPct: 100 });
    const buf = numbered(0);
    s.fi.transmit(0, buf);
    buf.set(numbered(1));
    s.fi.transmit(0, buf);
    assert.deepEqual(s.rec.seqs(), [1, 0]);
  });
});

describe('FaultInjector: configuration', () => {
  it('configure turns faults on and off at run time', () => {
    const s = setup({});
    s.fi.transmit(0, numbered(0));
    s.fi.configure({ lossPct: 100 });
    s.fi.transmit(0, numbered(1));
    s.fi.configure({ lossPct: 0, dupPct: 100 });
    s.fi.transmit(0, numbered(2));
    s.fi.configure({ dupPct: 0 });
    s.fi.transmit(0, numbered(3));
    assert.deepEqual(s.rec.seqs(), [0, 2, 2, 3]);
    assert.equal(s.fi.options().lossPct, 0);
  });

  it('rejects out-of-range settings and keeps the old ones', () => {
    const s = setup({ lossPct: 5 });
    assert.throws(() => s.fi.configure({ lossPct: 101 }), RangeError);
    assert.throws(() => s.fi.configure({ dupPct: -1 }), RangeError);
    assert.throws(() => s.fi.configure({ delayMs: Number.NaN }), RangeError);
    assert.throws(() => s.fi.configure({ direction: 'up' as 'tx' }), RangeError);
    assert.equal(s.fi.options().lossPct, 5);
  });

  it('mtu drops larger frames (mtu + 14 on Ethernet) and says so', () => {
    const s = setup({ mtu: 100 });
    assert.equal(s.fi.transmit(0, new Uint8Array(114)), true);
    assert.equal(s.fi.transmit(0, new Uint8Array(115)), false);
    assert.equal(s.fi.stats().tx.oversize, 1);
    assert.deepEqual(s.fi.caps, { medium: 'ethernet', mtu: 1500 }, 'caps stay the inner link’s');
  });

  it("direction 'tx' leaves received frames alone", () => {
    const sched = new VirtualScheduler();
    const [a, b] = createCable();
    const fi = new FaultInjector(a, { rng: new XorShiftRng(1), scheduler: sched, lossPct: 100 });
    b.transmit(0, numbered(5));
    assert.equal(seqOf(fi.receive(0) as Uint8Array), 5);
    fi.transmit(0, numbered(6));
    assert.equal(b.receive(0), undefined);
  });
});

describe('FaultInjector: receive side', () => {
  function rxSetup(settings: FaultSettings) {
    const sched = new VirtualScheduler();
    const [a, b] = createCable();
    const fi = new FaultInjector(a, { rng: new XorShiftRng(3), scheduler: sched, direction: 'rx', ...settings });
    let woken = 0;
    fi.onReadable(() => woken++);
    return { sched, a, b, fi, woken: () => woken };
  }
  const drain = (fi: FaultInjector): number[] => {
    const out: number[] = [];
    for (let f = fi.receive(0); f !== undefined; f = fi.receive(0)) out.push(seqOf(f));
    return out;
  };

  it('delays received frames and wakes when they become receivable', () => {
    const r = rxSetup({ delayMs: 10 });
    r.b.transmit(0, numbered(1));
    assert.equal(r.woken(), 1, 'the inner wake-up is forwarded');
    assert.equal(r.fi.receive(0), undefined);
    r.sched.advance(9);
    assert.equal(r.woken(), 1);
    r.sched.advance(1);
    assert.equal(r.woken(), 2);
    assert.deepEqual(drain(r.fi), [1]);
    r.fi.transmit(10, numbered(2)); // tx untouched in 'rx' mode
    assert.equal(seqOf(r.b.receive(10) as Uint8Array), 2);
  });

  it('duplicates and reorders received frames; the duplicate is a separate buffer', () => {
    const r = rxSetup({ dupPct: 100 });
    r.b.transmit(0, numbered(1));
    const first = r.fi.receive(0) as Uint8Array;
    first.fill(0); // the consumer owns it until the next receive
    assert.equal(seqOf(r.fi.receive(0) as Uint8Array), 1);
    r.fi.configure({ dupPct: 0, reorderPct: 100 });
    for (let i = 2; i <= 5; i++) r.b.transmit(0, numbered(i));
    assert.deepEqual(drain(r.fi), [3, 2, 5, 4]);
  });

  it('drops with lossPct on receive', () => {
    const r = rxSetup({ lossPct: 100 });
    for (let i = 0; i < 10; i++) r.b.transmit(0, numbered(i));
    assert.equal(r.fi.receive(0), undefined);
    assert.equal(r.fi.stats().rx.lost, 10);
    assert.equal(r.a.queued, 0, 'the inner link was drained');
  });
});

describe('FaultInjector: close', () => {
  it('cancels timers, drops held frames, closes the inner link; idempotent', () => {
    const s = setup({ delayMs: 10, reorderPct: 100 });
    s.fi.transmit(0, numbered(0));
    s.fi.transmit(0, numbered(1));
    s.fi.transmit(0, numbered(2)); // held
    assert.equal(s.sched.pendingTimers(), 2);
    s.fi.close();
    s.fi.close();
    assert.equal(s.sched.pendingTimers(), 0);
    assert.ok(s.rec.closed);
    s.sched.advance(100);
    assert.equal(s.rec.sent.length, 0);
    assert.equal(s.fi.transmit(100, numbered(3)), false);
    assert.equal(s.fi.receive(100), undefined);
  });
});
