import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { createBytePipe } from '../../../src/link/byte-pipe.ts';
import { lineRateBytesPerSecond, lineTimeMs, type ByteStream } from '../../../src/link/byte-stream.ts';

function collect(s: ByteStream): { chunks: Uint8Array[]; bytes: () => Uint8Array; closed: () => boolean } {
  const chunks: Uint8Array[] = [];
  let closed = false;
  s.onData((c) => chunks.push(c));
  s.onClose(() => {
    closed = true;
  });
  return {
    chunks,
    bytes: () => {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      return out;
    },
    closed: () => closed,
  };
}

const allBytes = (): Uint8Array => Uint8Array.from({ length: 256 }, (_, i) => i);

describe('createBytePipe', () => {
  it('carries bytes both ways, copies on write, never delivers inside write', () => {
    const sched = new VirtualScheduler();
    const [a, b] = createBytePipe({ scheduler: sched });
    const ra = collect(a);
    const rb = collect(b);
    const buf = allBytes();
    assert.equal(a.write(buf), true);
    buf.fill(0);
    b.write(Uint8Array.of(1, 2, 3));
    assert.equal(rb.chunks.length, 0, 'nothing delivered re-entrantly');
    sched.advance(0);
    assert.deepEqual(rb.bytes(), allBytes());
    assert.deepEqual(ra.bytes(), Uint8Array.of(1, 2, 3));
    assert.deepEqual(a.stats(), { txBytes: 256, rxBytes: 3, rxChunks: 1, garbledBytes: 0, droppedBytes: 0 });
  });

  it('splits and merges writes into seeded 1..64-byte chunks, keeping order', () => {
    const sched = new VirtualScheduler();
    const [a, b] = createBytePipe({ scheduler: sched, chunking: { rng: new XorShiftRng(7) } });
    const rb = collect(b);
    const sent = new Uint8Array(10_000);
    const rng = new XorShiftRng(99);
    for (let i = 0; i < sent.length; i++) sent[i] = rng.nextU32() & 0xff;
    let off = 0;
    for (const n of [1, 3, 500, 2, 4000, 5494]) {
      a.write(sent.subarray(off, off + n));
      off += n;
    }
    sched.advance(0);
    assert.deepEqual(rb.bytes(), sent);
    const sizes = rb.chunks.map((c) => c.length);
    assert.ok(Math.max(...sizes) <= 64 && Math.min(...sizes) >= 1);
    assert.ok(sizes.includes(1) || sizes.some((s) => s < 8), 'small reads happen');
    assert.ok(new Set(sizes).size > 20, 'sizes vary');
    // Same seed, same chunking.
    const sched2 = new VirtualScheduler();
    const [a2, b2] = createBytePipe({ scheduler: sched2, chunking: { rng: new XorShiftRng(7) } });
    const rb2 = collect(b2);
    off = 0;
    for (const n of [1, 3, 500, 2, 4000, 5494]) {
      a2.write(sent.subarray(off, off + n));
      off += n;
    }
    sched2.advance(0);
    assert.deepEqual(rb2.chunks.map((c) => c.length), sizes);
  });

  it('fixed chunk sizes and a latency', () => {
    const sched = new VirtualScheduler();
    const [a, b] = createBytePipe({ scheduler: sched, chunking: { rng: new XorShiftRng(1), min: 1, max: 1 }, delayMs: 5 });
    const rb = collect(b);
    a.write(Uint8Array.of(65, 84, 13, 10));
    sched.advance(4);
    assert.equal(rb.chunks.length, 0);
    sched.advance(1);
    assert.deepEqual(rb.chunks, [Uint8Array.of(65), Uint8Array.of(84), Uint8Array.of(13), Uint8Array.of(10)]);
    assert.throws(() => createBytePipe({ scheduler: sched, chunking: { rng: new XorShiftRng(1), min: 0 } }), RangeError);
  });

  it('models the line rate: 8N1, 10 bits per byte', () => {
    assert.equal(lineRateBytesPerSecond(115_200), 11_520);
    assert.equal(lineTimeMs(11_520, 115_200), 1000);
    for (const baud of [115_200, 921_600]) {
      const sched = new VirtualScheduler();
      const [a, b] = createBytePipe({ scheduler: sched, baudRate: baud, chunking: { rng: new XorShiftRng(3) } });
      const rb = collect(b);
      const n = baud / 10; // one second's worth
      let lastAt = 0;
      b.onData(() => {
        lastAt = sched.now();
      });
      a.write(new Uint8Array(n).fill(0x55));
      sched.advance(999);
      assert.ok(rb.bytes().length < n, `${baud}: not all there before 1 s`);
      assert.ok(rb.bytes().length > n * 0.99, `${baud}: nearly all there just before 1 s`);
      sched.advance(1 + 1e-6); // timers are relative: allow float rounding
      assert.equal(rb.bytes().length, n);
      assert.ok(Math.abs(lastAt - 1000) < 1e-5, `${baud}: last byte at ${lastAt} ms`);
    }
  });

  it('a baud change applies to bytes sent afterwards; mismatched rates can garble', async () => {
    const sched = new VirtualScheduler();
    const [a, b] = createBytePipe({ scheduler: sched, baudRate: 115_200, garbleOnBaudMismatch: true });
    const rb = collect(b);
    a.write(Uint8Array.of(0x41));
    sched.advance(1);
    assert.deepEqual(rb.bytes(), Uint8Array.of(0x41));
    await a.setBaudRate(921_600);
    assert.equal(a.baudRate, 921_600);
    a.write(Uint8Array.of(0x42));
    sched.advance(1);
    assert.deepEqual(rb.bytes(), Uint8Array.of(0x41, 0xbd), 'sent at 921600, read at 115200: garbage');
    await b.setBaudRate(921_600);
    a.write(Uint8Array.of(0x43));
    sched.advance(1);
    assert.deepEqual(rb.bytes(), Uint8Array.of(0x41, 0xbd, 0x43));
    assert.equal(b.stats().garbledBytes, 1);
    assert.throws(() => void a.setBaudRate(0), RangeError);
  });

  it('RTS/CTS: an end with rtscts holds while the peer drops RTS', async () => {
    const sched = new VirtualScheduler();
    const [a, b] = createBytePipe({ scheduler: sched, baudRate: 115_200, a: { rtscts: true } });
    const rb = collect(b);
    assert.deepEqual(await a.getModemInputs(), { cts: true, dsr: true, dcd: true });
    await b.setModemOutputs({ rts: false, dtr: false });
    assert.deepEqual(a.modemInputs, { cts: false, dsr: false, dcd: false });
    a.write(new Uint8Array(100).fill(1));
    sched.advance(100);
    assert.equal(rb.bytes().length, 0);
    assert.equal(a.queuedBytes, 100);
    await b.setModemOutputs({ rts: true });
    sched.advance(100);
    assert.equal(rb.bytes().length, 100);
    // b has no rtscts: it sends regardless of its CTS.
    await a.setModemOutputs({ rts: false });
    const ra = collect(a);
    b.write(Uint8Array.of(9));
    sched.advance(1);
    assert.deepEqual(ra.bytes(), Uint8Array.of(9));
  });

  it('back-pressure: write returns false over the high-water mark, then drain', () => {
    const sched = new VirtualScheduler();
    const [a, b] = createBytePipe({ scheduler: sched, baudRate: 115_200, highWaterMark: 1000, chunking: { rng: new XorShiftRng(5) } });
    const rb = collect(b);
    let drains = 0;
    a.onDrain(() => drains++);
    assert.equal(a.write(new Uint8Array(500)), true);
    assert.equal(a.write(new Uint8Array(600)), false);
    assert.ok(a.queuedBytes >= 1000);
    sched.advance(2000);
    assert.equal(drains, 1);
    assert.equal(rb.bytes().length, 1100);
  });

  it('close: local callbacks at once, the peer after the bytes in flight; idempotent', () => {
    const sched = new VirtualScheduler();
    const [a, b] = createBytePipe({ scheduler: sched, baudRate: 921_600, chunking: { rng: new XorShiftRng(11) }, delayMs: 2 });
    const ra = collect(a);
    const rb = collect(b);
    a.write(new Uint8Array(64).fill(7));
    sched.advance(0.1); // the first chunk is on the wire
    a.close();
    a.close();
    assert.equal(ra.closed(), true);
    assert.equal(a.closed, true);
    assert.equal(a.write(Uint8Array.of(1)), false);
    assert.equal(rb.closed(), false);
    sched.advance(10);
    assert.equal(rb.closed(), true);
    assert.equal(b.closed, true);
    const got = rb.bytes().length;
    assert.ok(got > 0 && got <= 64);
    assert.equal(a.stats().droppedBytes, 64 - got);
    assert.equal(b.write(Uint8Array.of(1)), false);
    assert.equal(sched.pendingTimers(), 0);
  });

  it('close from the other side, with nothing queued', () => {
    const sched = new VirtualScheduler();
    const [a, b] = createBytePipe({ scheduler: sched });
    const ra = collect(a);
    b.write(Uint8Array.of(1, 2));
    b.close();
    sched.advance(0);
    assert.deepEqual(ra.bytes(), Uint8Array.of(1, 2), 'data before the close');
    assert.equal(ra.closed(), true);
  });
});
