/**
 * `Progress` (src/cli/progress.ts) with a fake stream and clock: on a terminal one line redrawn
 * in place (bar, percentage, rate, ETA; a spinner without a total), at most every 100 ms, lines
 * logged above it; not on a terminal, plain lines at most every `plainEveryMs`, no control
 * characters. And the byte and duration formats.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatDuration, Progress } from '../../../src/cli/progress.ts';

function fakeStream(tty: boolean): NodeJS.WritableStream & { isTTY: boolean; columns: number; text: string } {
  const s = {
    isTTY: tty,
    columns: 120,
    text: '',
    write(chunk: string): boolean {
      s.text += chunk;
      return true;
    },
  };
  return s as unknown as NodeJS.WritableStream & { isTTY: boolean; columns: number; text: string };
}

describe('Progress', () => {
  it('terminal: a bar with percentage, rate and ETA redrawn in place, at most every 100 ms', () => {
    let now = 0;
    const stream = fakeStream(true);
    const p = new Progress({ label: 'reading x.pcap', total: 10_000_000, unit: 'bytes', stream, now: () => now });
    try {
      now = 1000;
      p.update(2_500_000, '100 records');
      assert.equal(stream.text, '\r\x1b[Kreading x.pcap: [######------------------]  25% 2.50 MB/10.0 MB, 2.50 MB/s, ETA 3.0s  100 records');
      now = 1050;
      p.update(3_000_000);
      assert.ok(!stream.text.includes('30%'), 'not redrawn within 100 ms');
      now = 1200;
      p.update(3_000_000);
      assert.ok(stream.text.endsWith('30% 3.00 MB/10.0 MB, 2.50 MB/s, ETA 2.8s  100 records'), stream.text);
      const out = fakeStream(false);
      p.log('a result line', out);
      assert.equal(out.text, 'a result line\n');
      assert.ok(stream.text.includes('\r\x1b[K\r\x1b[K'), 'cleared before the line, redrawn after');
      p.done('finished');
      assert.ok(stream.text.endsWith('\r\x1b[Kfinished\n'), JSON.stringify(stream.text.slice(-30)));
      const before = stream.text;
      p.update(5_000_000);
      assert.equal(stream.text, before, 'nothing after done()');
    } finally {
      p.done();
    }
  });

  it('terminal without a total: a spinner with the count and rate', () => {
    let now = 0;
    const stream = fakeStream(true);
    const p = new Progress({ label: 'mqtt sub', unit: 'messages', stream, now: () => now });
    try {
      now = 2000;
      p.update(5, 'of 10');
      assert.match(stream.text, /^\r\x1b\[K. mqtt sub: 5 messages, 2\.5\/s, 2\.0s {2}of 10$/);
    } finally {
      p.done();
    }
  });

  it('not a terminal: a plain line at most every plainEveryMs, no control characters', () => {
    let now = 0;
    const stream = fakeStream(false);
    const p = new Progress({ label: 'bench', total: 100, stream, plainEveryMs: 5000, now: () => now });
    for (let i = 1; i <= 100; i++) {
      now = i * 200;
      p.update(i);
    }
    p.done();
    const lines = stream.text.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 4, stream.text);
    assert.equal(lines[0], 'bench:  25% 25/100, 5.0/s, ETA 15s');
    assert.doesNotMatch(stream.text, /\x1b|\r/);
  });

  it('formats', () => {
    assert.deepEqual([formatBytes(999), formatBytes(1536), formatBytes(25_300_000), formatBytes(4.2e12)], ['999 B', '1.54 kB', '25.3 MB', '4.20 TB']);
    assert.deepEqual([formatDuration(1234), formatDuration(42_000), formatDuration(83_000), formatDuration(3_725_000), formatDuration(-1)], ['1.2s', '42s', '1m23s', '1h02m', '?']);
  });
});
