/**
 * Pure helpers of the reference test server: chargen patterns, daytime/time payloads,
 * control command parsing, SEND blocks and the RECV STOP counter (iot-socket-api.md §16).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RFC864_LINE, Rfc864Chargen, SOCKSERVER_TCP_LINE, SockServerChargen, rfc864Line } from '../../../../src/apps/sockserver/chargen.ts';
import { RFC868_EPOCH_OFFSET, daytimeBytes, daytimeString, timeBytes } from '../../../../src/apps/sockserver/daytime.ts';
import { SendBlocks, StopCounter, clamp, parseControlCommand, parseControlInput, statReply } from '../../../../src/apps/sockserver/control.ts';

const ascii = (b: Uint8Array): string => String.fromCharCode(...b);

describe('SockServerChargen', () => {
  it('TCP lines: 79 characters + "\\n\\r", line 1 starts ABC, line 2 BCD', () => {
    const gen = new SockServerChargen();
    const l1 = gen.line(SOCKSERVER_TCP_LINE);
    const l2 = gen.line(SOCKSERVER_TCP_LINE);
    assert.equal(l1.length, 81);
    assert.equal(ascii(l1.subarray(0, 5)), 'ABCDE');
    assert.equal(ascii(l2.subarray(0, 5)), 'BCDEF');
    assert.deepEqual([...l1.subarray(79)], [0x0a, 0x0d]);
    // Characters ascend by one, wrapping 0x7E -> 0x21.
    for (let i = 1; i < 79; i++) {
      const prev = l1[i - 1] as number;
      assert.equal(l1[i], prev === 0x7e ? 0x21 : prev + 1);
    }
    assert.equal(ascii(l1.subarray(0, 79)), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~!"#$%&\'()*+,-./01');
  });

  it('the start character runs up to ~ then restarts at !', () => {
    const gen = new SockServerChargen();
    const starts: number[] = [];
    for (let i = 0; i < 200; i++) starts.push(gen.line(10)[0] as number);
    assert.equal(starts[0], 0x41); // 'A'
    assert.equal(starts[0x7e - 0x41], 0x7e); // '~'
    assert.equal(starts[0x7e - 0x41 + 1], 0x21); // then '!'
    assert.ok(starts.every((c) => c >= 0x21 && c <= 0x7e));
  });

  it('line(2) is just "\\n\\r" and still advances the state', () => {
    const gen = new SockServerChargen();
    assert.deepEqual([...gen.line(2)], [0x0a, 0x0d]);
    assert.equal(gen.line(3)[0], 0x42); // 'B': the first line used 'A'
  });
});

describe('Rfc864Chargen', () => {
  it('74-byte lines of 72 characters + CR LF, line k starting at ring position k mod 95', () => {
    const gen = new Rfc864Chargen();
    const data = gen.take(RFC864_LINE * 200);
    for (let k = 0; k < 200; k++) {
      const line = data.subarray(k * RFC864_LINE, (k + 1) * RFC864_LINE);
      assert.deepEqual(line, rfc864Line(k));
      assert.equal(line[0], 0x20 + (k % 95));
      assert.deepEqual([...line.subarray(72)], [0x0d, 0x0a]);
    }
    assert.equal(ascii(rfc864Line(1).subarray(0, 10)), '!"#$%&\'()*');
    assert.deepEqual(rfc864Line(95), rfc864Line(0));
  });

  it('take() continues the stream across calls of any size', () => {
    const a = new Rfc864Chargen();
    const b = new Rfc864Chargen();
    const whole = a.take(5000);
    const parts: number[] = [];
    for (const n of [1, 73, 74, 75, 500, 4277]) parts.push(...b.take(n));
    assert.deepEqual(Uint8Array.from(parts), whole);
  });
});

describe('daytime and time', () => {
  it('ctime style, UTC, 26 bytes, day space-padded', () => {
    const t = Date.UTC(2023, 10, 9, 7, 5, 3); // Thu Nov 9 2023
    assert.equal(daytimeString(t), 'Thu Nov  9 07:05:03 2023\r\n');
    assert.equal(daytimeString(Date.UTC(2024, 1, 29, 23, 59, 59)), 'Thu Feb 29 23:59:59 2024\r\n');
    assert.equal(daytimeString(0), 'Thu Jan  1 00:00:00 1970\r\n');
    for (const ms of [0, t, Date.UTC(2099, 11, 31, 12, 0, 0)]) {
      assert.equal(daytimeBytes(ms).length, 26);
      assert.match(daytimeString(ms), /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] \d{2}:\d{2}:\d{2} \d{4}\r\n$/);
    }
  });

  it('time: big-endian seconds since 1900 (Unix + 2208988800), wrapping modulo 2^32', () => {
    assert.deepEqual([...timeBytes(0)], [0x83, 0xaa, 0x7e, 0x80]); // 2208988800
    assert.equal(RFC868_EPOCH_OFFSET, 2_208_988_800);
    const t = 1_700_000_000_999;
    const v = new DataView(timeBytes(t).buffer).getUint32(0, false);
    assert.equal(v, 1_700_000_000 + 2_208_988_800);
    // 2036-02-07T06:28:16Z is 2^32 seconds after 1900: the counter wraps to 0.
    const wrap = (2 ** 32 - RFC868_EPOCH_OFFSET) * 1000;
    assert.deepEqual([...timeBytes(wrap)], [0, 0, 0, 0]);
  });
});

describe('control commands', () => {
  it('parses CONNECT, SEND and RECV with the §16 clamps', () => {
    assert.deepEqual(parseControlCommand('CONNECT TCP,0.0.0.0,2000,500'), {
      kind: 'connect', protocol: 'tcp', address: new Uint8Array(4), port: 2000, delayMs: 500,
    });
    const udp = parseControlCommand('CONNECT UDP,192.168.1.200,80,1');
    assert.ok(udp?.kind === 'connect');
    assert.equal(udp.protocol, 'udp');
    assert.deepEqual([...udp.address], [192, 168, 1, 200]);
    assert.equal(udp.delayMs, 10);
    assert.equal((parseControlCommand('CONNECT TCP,0.0.0.0,2001,99999') as { delayMs: number }).delayMs, 5000);
    assert.deepEqual(parseControlCommand('SEND TCP,1420,4000'), { kind: 'send', blockSize: 1420, timeMs: 4000 });
    assert.deepEqual(parseControlCommand('SEND TCP,1,1'), { kind: 'send', blockSize: 32, timeMs: 500 });
    assert.deepEqual(parseControlCommand('SEND TCP,99999,999999'), { kind: 'send', blockSize: 1460, timeMs: 60000 });
    assert.deepEqual(parseControlCommand('RECV TCP,1420'), { kind: 'recv', blockSize: 1420 });
    assert.deepEqual(parseControlCommand('RECV TCP,0'), { kind: 'recv', blockSize: 32 });
    assert.deepEqual(parseControlCommand('RECV TCP,5000'), { kind: 'recv', blockSize: 1460 });
  });

  it('tolerates a trailing CR/LF/NUL, accepts bytes, and IPv6 literals (extension)', () => {
    assert.deepEqual(parseControlCommand('RECV TCP,100\r\n'), { kind: 'recv', blockSize: 100 });
    assert.deepEqual(parseControlCommand(new TextEncoder().encode('SEND TCP,64,500\0')), { kind: 'send', blockSize: 64, timeMs: 500 });
    const v6 = parseControlCommand('CONNECT TCP,::1,2000,10');
    assert.ok(v6?.kind === 'connect');
    assert.equal(v6.address.length, 16);
  });

  it('parseControlInput: RECV merged with the first data; everything else whole or nothing', () => {
    const enc = (t: string): Uint8Array => new TextEncoder().encode(t);
    const merged = parseControlInput(enc('RECV TCP,1420Block[1]\0aaaa'));
    assert.deepEqual(merged?.command, { kind: 'recv', blockSize: 1420 });
    assert.equal(new TextDecoder().decode(merged?.rest), 'Block[1]\0aaaa');
    const whole = parseControlInput(enc('SEND TCP,64,500\r\n'));
    assert.deepEqual(whole?.command, { kind: 'send', blockSize: 64, timeMs: 500 });
    assert.equal(whole?.rest.length, 0);
    for (const bad of ['RECV TCP,100,5', 'RECV TCP,', 'RECV TCP,12345678901x', 'SEND TCP,64,500xyz', 'HELLO', '']) {
      assert.equal(parseControlInput(enc(bad)), undefined, bad);
    }
  });

  it('rejects unknown and malformed commands', () => {
    for (const bad of [
      '', 'HELLO', 'CONNECT', 'CONNECT TCP', 'CONNECT SCTP,1.2.3.4,80,10', 'CONNECT TCP,1.2.3,80,10',
      'CONNECT TCP,1.2.3.4,0,10', 'CONNECT TCP,1.2.3.4,65536,10', 'CONNECT TCP,1.2.3.4,80', 'CONNECT TCP,1.2.3.4,80,-1',
      'SEND UDP,100,1000', 'SEND TCP,100', 'SEND TCP,a,1000', 'RECV TCP', 'RECV UDP,100', 'recv TCP,100',
      'RECV TCP,100,5', 'SEND TCP,99999999999,1',
    ]) {
      assert.equal(parseControlCommand(bad), undefined, bad);
    }
  });

  it('clamp', () => {
    assert.equal(clamp(5, 10, 20), 10);
    assert.equal(clamp(25, 10, 20), 20);
    assert.equal(clamp(15, 10, 20), 15);
  });
});

describe('SEND blocks, STAT reply and the STOP counter', () => {
  it('block i is "Block[i] " then a fill from a, advancing per block and wrapping ~ to space', () => {
    const blocks = new SendBlocks(32);
    const b1 = blocks.next();
    assert.equal(b1.length, 32);
    assert.equal(ascii(b1), `Block[1] ${'a'.repeat(23)}`);
    assert.equal(ascii(blocks.next()), `Block[2] ${'b'.repeat(23)}`);
    let last = '';
    for (let i = 3; i <= 200; i++) last = ascii(blocks.next());
    // Block 30 has fill '~' (a + 29), block 31 ' ', so block 200 has fill ' ' + (200 - 31) % 95.
    const fill = String.fromCharCode(0x20 + ((200 - 31) % 95));
    assert.equal(last, `Block[200] ${fill.repeat(32 - 11)}`);
    const wrap = new SendBlocks(40);
    const fills: string[] = [];
    for (let i = 1; i <= 33; i++) fills.push(ascii(wrap.next()).slice(-1));
    assert.equal(fills[29], '~');
    assert.equal(fills[30], ' ');
    assert.equal(fills[31], '!');
  });

  it('STAT reply', () => {
    assert.equal(ascii(statReply(12345)), 'STAT 12345 bytes.');
  });

  it('counts bytes before STOP at the start of a read, mid-read, or split across reads', () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    const a = new StopCounter();
    assert.equal(a.push(enc('x'.repeat(100))), false);
    assert.equal(a.push(enc('STOP 100 bytes.')), true);
    assert.equal(a.count, 100);

    const b = new StopCounter();
    b.push(enc('abcSTOP and more'));
    assert.equal(b.stopped, true);
    assert.equal(b.count, 3);
    b.push(enc('ignored'));
    assert.equal(b.count, 3);

    const c = new StopCounter();
    c.push(enc('12345ST'));
    assert.equal(c.stopped, false);
    c.push(enc('O'));
    c.push(enc('P!'));
    assert.equal(c.stopped, true);
    assert.equal(c.count, 5);

    const d = new StopCounter();
    d.push(enc('SSTOSTSTOP'));
    assert.equal(d.count, 6);
    const e = new StopCounter();
    e.push(enc('STO'));
    e.push(enc('x'));
    assert.equal(e.stopped, false);
    assert.equal(e.count, 4);
  });
});
