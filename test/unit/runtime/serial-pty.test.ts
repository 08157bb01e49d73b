/**
 * The pty pair (src/runtime/pty.ts, native/pty) and serialport over it
 * (src/runtime/serial-port.ts): real termios, real file descriptors, both in this process.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync, readdirSync } from 'node:fs';
import type { ByteStream } from '../../../src/link/byte-stream.ts';
import { openPty, type PtyMaster } from '../../../src/runtime/pty.ts';
import { openSerialPort, type SerialByteStream } from '../../../src/runtime/serial-port.ts';
import { skipWithoutPty } from '../../support/pty.ts';

// Both runtime streams satisfy the link contract (runtime/ may not import link/, so checked here).
const asStream = (s: PtyMaster | SerialByteStream): ByteStream => s;

/** Collects what `s` receives; `until(n)` resolves once `n` bytes arrived in total. */
function sink(s: ByteStream): { bytes: () => Uint8Array; until: (n: number) => Promise<Uint8Array>; closed: Promise<Error | undefined> } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let waiter: { n: number; resolve: () => void } | undefined;
  const bytes = (): Uint8Array => {
    const out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  };
  s.onData((c) => {
    chunks.push(c.slice());
    total += c.length;
    if (waiter !== undefined && total >= waiter.n) waiter.resolve();
  });
  const closed = new Promise<Error | undefined>((resolve) => s.onClose(resolve));
  return {
    bytes,
    until: (n) =>
      total >= n
        ? Promise.resolve(bytes())
        : new Promise<Uint8Array>((resolve) => {
            waiter = { n, resolve: () => resolve(bytes()) };
          }),
    closed,
  };
}

const pattern = (n: number, seed: number): Uint8Array => {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
};
const all256 = (): Uint8Array => Uint8Array.from({ length: 256 }, (_, i) => i);

/** Writes `data` honouring back-pressure. */
async function writeAll(s: ByteStream, data: Uint8Array, step = 4096): Promise<void> {
  for (let o = 0; o < data.length; o += step) {
    if (!s.write(data.subarray(o, o + step))) await new Promise<void>((r) => s.onDrain(r));
  }
}

/**
 * The process's open fds with their targets. An fd that closes between the directory listing and
 * its readlink (another thread's short-lived fd) is left out: it is not open any more.
 */
const openFds = (): Set<string> => {
  const out = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.add(`${fd}->${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      // closed meanwhile
    }
  }
  return out;
};

/** The fds opened since `before` that are still open, after up to 1 s for asynchronous closes (serialport closes on libuv's pool). */
async function leftoverFds(before: Set<string>): Promise<string[]> {
  const left = (): string[] => [...openFds()].filter((f) => !before.has(f));
  for (let i = 0; i < 100 && left().length > 0; i++) await new Promise<void>((r) => setTimeout(r, 10));
  return left();
}

describe('pty pair and serialport over it', () => {
  it('openPty: a /dev/pts path, 115200 8N1 raw by default, close releases both fds', async (t) => {
    if (skipWithoutPty(t, 'pty pairs (serial simulations over a real tty)')) return;
    const before = openFds();
    const m = openPty();
    assert.match(m.path, /^\/dev\/pts\/\d+$/);
    assert.equal(m.baudRate, 115_200);
    assert.equal(m.closed, false);
    let closes = 0;
    m.onClose((e) => {
      assert.equal(e, undefined);
      closes++;
    });
    m.close();
    m.close();
    assert.equal(closes, 1);
    assert.equal(m.write(Uint8Array.of(1)), false);
    assert.equal(m.baudRate, undefined);
    assert.deepEqual(await leftoverFds(before), [], 'no fd left open');
  });

  it('all 256 byte values and 64 KiB bursts both ways, byte-exact (raw mode: no CR/LF or ^C mangling)', async (t) => {
    if (skipWithoutPty(t, 'pty + serialport byte transparency')) return;
    const m = openPty();
    const port = await openSerialPort(m.path, { baudRate: 921_600 });
    try {
      const atPort = sink(asStream(port));
      const atMaster = sink(asStream(m));
      assert.equal(m.baudRate, 921_600, 'the master sees the rate the client set');
      // All byte values, including XON/XOFF, ^C, CR, LF, NUL, DEL, 0xff.
      m.write(all256());
      port.write(all256());
      assert.deepEqual(await atPort.until(256), all256());
      assert.deepEqual(await atMaster.until(256), all256());
      // 64 KiB bursts at once in both directions (more than a pty buffers: back-pressure on both sides).
      const down = pattern(65_536, 1);
      const up = pattern(65_536, 2);
      await Promise.all([writeAll(m, down, 65_536), writeAll(port, up, 65_536)]);
      const gotDown = (await atPort.until(256 + 65_536)).subarray(256);
      const gotUp = (await atMaster.until(256 + 65_536)).subarray(256);
      assert.ok(Buffer.from(gotDown).equals(Buffer.from(down)), 'master -> port byte-exact');
      assert.ok(Buffer.from(gotUp).equals(Buffer.from(up)), 'port -> master byte-exact');
      // Many small writes keep their order.
      for (let i = 0; i < 200; i++) m.write(Uint8Array.of(i & 0xff, (i >> 8) & 0xff));
      const small = (await atPort.until(256 + 65_536 + 400)).subarray(256 + 65_536);
      for (let i = 0; i < 200; i++) assert.equal(small[2 * i], i & 0xff);
    } finally {
      port.close();
      m.close();
    }
  });

  it('back-pressure on the master: write returns false over the mark, drain follows', async (t) => {
    if (skipWithoutPty(t, 'pty back-pressure')) return;
    const m = openPty({ highWaterMark: 1024 });
    const port = await openSerialPort(m.path);
    try {
      const atPort = sink(port);
      const big = pattern(200_000, 3);
      assert.equal(m.write(big), false, 'a pty buffers a few KiB: the rest waits');
      assert.ok(m.queuedBytes > 0);
      await new Promise<void>((r) => m.onDrain(r));
      const got = await atPort.until(big.length);
      assert.ok(Buffer.from(got).equals(Buffer.from(big)));
      assert.equal(m.queuedBytes, 0);
    } finally {
      port.close();
      m.close();
    }
  });

  it('baud change: the client switches 115200 -> 921600 -> 9600, the master reads each', async (t) => {
    if (skipWithoutPty(t, 'baud changes over a pty')) return;
    const m = openPty();
    const port = await openSerialPort(m.path, { baudRate: 115_200 });
    try {
      assert.equal(port.baudRate, 115_200);
      assert.equal(m.baudRate, 115_200);
      const atMaster = sink(m);
      for (const baud of [921_600, 9600]) {
        await port.setBaudRate(baud);
        assert.equal(port.baudRate, baud);
        assert.equal(m.baudRate, baud);
      }
      port.write(Uint8Array.of(0x41, 0x54, 0x0d, 0x0a));
      assert.deepEqual(await atMaster.until(4), Uint8Array.of(0x41, 0x54, 0x0d, 0x0a), 'bytes still flow after the change');
      // A pty has no modem lines: the calls fail cleanly (reject), they do not throw or hang.
      await assert.rejects(port.getModemInputs());
    } finally {
      port.close();
      m.close();
    }
  });

  it('rtscts: serialport opens the pty with hardware flow control and bytes flow both ways', async (t) => {
    if (skipWithoutPty(t, 'serialport with rtscts over a pty')) return;
    const m = openPty();
    const port = await openSerialPort(m.path, { baudRate: 921_600, rtscts: true });
    try {
      const atPort = sink(port);
      const atMaster = sink(m);
      port.write(Uint8Array.of(0x41, 0x54, 0x0d));
      m.write(Uint8Array.of(0x4f, 0x4b, 0x0d, 0x0a));
      assert.deepEqual(await atMaster.until(3), Uint8Array.of(0x41, 0x54, 0x0d));
      assert.deepEqual(await atPort.until(4), Uint8Array.of(0x4f, 0x4b, 0x0d, 0x0a));
    } finally {
      port.close();
      m.close();
    }
  });

  it('close from the client: the master lives on and the path can be opened again', async (t) => {
    if (skipWithoutPty(t, 'client-side close over a pty')) return;
    const m = openPty();
    try {
      const atMaster = sink(m);
      const first = await openSerialPort(m.path);
      const firstClosed = sink(first).closed;
      first.write(Uint8Array.of(1, 2, 3));
      await atMaster.until(3);
      first.close();
      assert.equal(await firstClosed, undefined, 'a local close carries no error');
      assert.equal(first.closed, true);
      assert.equal(first.write(Uint8Array.of(9)), false);
      assert.equal(m.closed, false, 'a UART outlives the program that opened it');
      const second = await openSerialPort(m.path);
      try {
        const atSecond = sink(second);
        second.write(Uint8Array.of(4));
        assert.deepEqual((await atMaster.until(4)).subarray(3), Uint8Array.of(4));
        m.write(Uint8Array.of(5));
        assert.deepEqual(await atSecond.until(1), Uint8Array.of(5));
      } finally {
        second.close();
      }
    } finally {
      m.close();
    }
  });

  it('close from the master: the client port ends at its next write with EIO, and no fd is left', async (t) => {
    if (skipWithoutPty(t, 'master-side close over a pty')) return;
    const before = openFds();
    const m = openPty();
    const port = await openSerialPort(m.path);
    const atPort = sink(port);
    m.write(Uint8Array.of(7));
    await atPort.until(1);
    m.close();
    // serialport's reader does not notice a pty hang-up by itself; its next write fails with
    // EIO, as a write to an unplugged USB adapter does, and the stream ends with that error.
    port.write(Uint8Array.of(8));
    const err = await atPort.closed;
    assert.equal(port.closed, true);
    assert.ok(err instanceof Error);
    assert.match(err.message, /EIO/);
    port.close();
    assert.deepEqual(await leftoverFds(before), [], 'no fd left open');
  });

  it('openSerialPort rejects for a path that does not exist', async () => {
    await assert.rejects(openSerialPort('/dev/iotnet-no-such-tty'), /no such file|ENOENT|cannot open/i);
  });
});
