/**
 * AtSimPort: line cutting (CR LF and bare CR), echo styles, strict serial busy replies, counted,
 * variable and raw data phases (+++ guard times), pre-boot input, output faults (order kept),
 * URC injection points and the baud-rate change after the OK. Virtual time, byte pipe.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AtSimPort, latin1Text, type AtLine, type AtLineResult, type AtSimPortOptions } from '../../../../src/apps/sim/at-sim-port.ts';
import { SimFaults } from '../../../../src/apps/sim/sim-faults.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { createBytePipe } from '../../../../src/link/byte-pipe.ts';
import { settle } from '../../../support/stack-net.ts';

function setup(onLine: (line: AtLine, port: AtSimPort) => AtLineResult, opts: Partial<AtSimPortOptions> = {}) {
  const sched = new VirtualScheduler();
  const [host, module] = createBytePipe({ scheduler: sched });
  let out = '';
  host.onData((b) => {
    out += latin1Text(b);
  });
  const lines: AtLine[] = [];
  const port: AtSimPort = new AtSimPort({
    stream: module,
    scheduler: sched,
    rng: new XorShiftRng(1),
    onLine: (l) => {
      lines.push(l);
      return onLine(l, port);
    },
    ...opts,
  });
  port.setReady(true);
  const send = (s: string | Uint8Array): void => {
    host.write(typeof s === 'string' ? Uint8Array.from(s, (c) => c.charCodeAt(0)) : s);
    sched.advance(1);
  };
  return { sched, host, module, port, lines, send, out: () => out, clear: () => (out = '') };
}

const ok = (_l: AtLine, port: AtSimPort): void => port.write('\r\nOK\r\n');

/** Runs virtual time forward by `ms`, letting promise continuations run between timers. */
const tick = (sched: VirtualScheduler, ms = 0): Promise<void> => settle(sched, ms);

describe('AtSimPort', () => {
  it('cuts lines at LF (CR LF terminator) and echoes the typed bytes', () => {
    const t = setup(ok);
    t.send('AT\r\nAT+GMR\r');
    t.send('\n');
    assert.deepEqual(t.lines.map((l) => l.text), ['AT', 'AT+GMR']);
    assert.equal(t.out(), 'AT\r\n\r\nOK\r\nAT+GMR\r\n\r\nOK\r\n');
    t.port.setEcho(false);
    t.clear();
    t.send('AT\r\n');
    assert.equal(t.out(), '\r\nOK\r\n');
  });

  it('NONOS echo style (text CR CR LF) and 3GPP bare CR terminator', () => {
    const a = setup(ok, { echoStyle: 'text-cr-crlf' });
    a.send('AT\r\n');
    assert.equal(a.out(), 'AT\r\r\n\r\nOK\r\n');
    const b = setup(ok, { terminator: 'cr' });
    b.send('AT\rATE0\r\nAT\r');
    assert.deepEqual(b.lines.map((l) => l.text), ['AT', 'ATE0', 'AT'], 'LF after CR skipped');
    assert.equal(b.out(), 'AT\r\r\nOK\r\nATE0\r\r\nOK\r\nAT\r\r\nOK\r\n');
  });

  it('strictly serial: lines while a command runs get busy p... and are dropped', async () => {
    const t = setup((_l, port) => port.sleep(100).then(() => port.write('\r\nOK\r\n')), { echo: false });
    t.send('AT+CWJAP="a","b"\r\n');
    t.send('AT\r\n');
    assert.equal(t.out(), '\r\nbusy p...\r\n');
    await tick(t.sched, 100);
    assert.equal(t.out(), '\r\nbusy p...\r\n\r\nOK\r\n');
    assert.equal(t.lines.length, 1);
    assert.equal(t.port.stats.busyLines, 1);
    t.send('AT\r\n');
    assert.equal(t.lines.length, 2);
  });

  it('counted data: exactly N bytes whatever they hold; extra bytes are busy input; too few wait', async () => {
    const got: (Uint8Array | undefined)[] = [];
    const t = setup(
      async (l, port) => {
        if (!l.text.startsWith('AT+SEND=')) return port.write('\r\nOK\r\n');
        port.write('\r\nOK\r\n\r\n>');
        const data = await port.readData(Number(l.text.slice(8)));
        got.push(data);
        await port.sleep(10);
        port.write('\r\nSEND OK\r\n');
      },
      { echo: false },
    );
    t.send('AT+SEND=6\r\n');
    t.send('a\r\nOK');
    await tick(t.sched);
    assert.equal(got.length, 0, 'too few bytes: still waiting');
    t.send('\0AT\r\n');
    await tick(t.sched, 20);
    assert.equal(latin1Text(got[0] as Uint8Array), 'a\r\nOK\0');
    assert.equal(t.out(), '\r\nOK\r\n\r\n>\r\nbusy p...\r\n\r\nSEND OK\r\n');
  });

  it('variable data ends on 0x1A, is cancelled by 0x1B', async () => {
    const got: unknown[] = [];
    const t = setup(
      async (_l, port) => {
        port.write('\r\n> ');
        const d = await port.readVariableData();
        got.push(d === undefined ? undefined : { text: latin1Text(d.bytes), cancelled: d.cancelled });
        port.write('\r\nSEND OK\r\n');
      },
      { echo: false, terminator: 'cr' },
    );
    t.send('AT+QISEND=0\rhello\x1a');
    await tick(t.sched);
    t.send('AT+QISEND=0\rbye\x1b');
    await tick(t.sched);
    assert.deepEqual(got, [{ text: 'hello', cancelled: false }, { text: 'bye', cancelled: true }]);
  });

  it('raw mode: +++ with guard times escapes; a broken sequence is data', async () => {
    const data: string[] = [];
    let escaped = 0;
    const t = setup((_l, port) => {
      port.write('\r\nOK\r\n');
      port.enterRaw({ onData: (b) => data.push(latin1Text(b)), onEscape: () => escaped++, guardMs: 20 });
    }, { echo: false });
    t.send('AT+CIPMODE\r\n');
    t.send('a+b');
    t.sched.advance(30);
    t.send('++');
    t.send('x');
    t.sched.advance(30);
    t.send('+');
    t.send('+');
    t.send('+');
    assert.equal(escaped, 0);
    t.sched.advance(25);
    assert.equal(escaped, 1);
    assert.equal(t.port.mode, 'command');
    assert.equal(data.join(''), 'a+b++x');
    await tick(t.sched);
  });

  it('ignores input before boot completes (or answers busy), and after reset', () => {
    const t = setup(ok, { echo: false });
    t.port.reset();
    t.send('AT\r\n');
    assert.equal(t.out(), '');
    assert.equal(t.port.stats.preBootBytes, 4);
    t.port.preBoot = 'busy';
    t.send('AT\r\n');
    assert.equal(t.out(), '\r\nbusy p...\r\n');
    t.port.setReady(true);
    t.send('AT\r\n');
    assert.equal(t.lines.length, 1);
  });

  it('overlong lines are cut and flagged', () => {
    const t = setup(ok, { echo: false, maxLineBytes: 8 });
    t.send('AT+0123456789\r\n');
    assert.equal(t.lines[0]?.text, 'AT+01234');
    assert.equal(t.lines[0]?.overflow, true);
  });

  it('output faults: split/merge/garbage/corrupt keep order and are counted', () => {
    const faults = new SimFaults(new XorShiftRng(9), { split: { probability: 1, delayMs: 3 }, merge: { probability: 0.5 } });
    const t = setup(ok, { echo: false, faults });
    for (let i = 0; i < 20; i++) t.port.write(`line ${i}\r\n`);
    t.sched.advance(200);
    assert.equal(t.out(), Array.from({ length: 20 }, (_, i) => `line ${i}\r\n`).join(''));
    assert.equal(faults.stats.split, 20);
    assert.ok((faults.stats.merge ?? 0) > 0);
    faults.set({ garbage: { once: 1, maxBytes: 4 }, corrupt: { once: 1 } });
    t.clear();
    t.port.write('\r\nOK\r\n');
    t.sched.advance(1);
    const out = t.out();
    assert.ok(out.length >= 9 && out.length <= 12, JSON.stringify(out));
    assert.equal(out.slice(-8, -6), '\r\n', 'garbage ends with CR LF');
    const diff = [...out.slice(-6)].filter((c, i) => c !== '\r\nOK\r\n'[i]).length;
    assert.equal(diff, 1, 'one byte corrupted');
    assert.equal(faults.stats.garbage, 1);
    assert.equal(faults.stats.corrupt, 1);
  });

  it('URC faults: injection points, in-echo splice, drop and duplicate, storms, busy and slow commands', async () => {
    const faults = new SimFaults(new XorShiftRng(3));
    const t = setup((_l, port) => port.writeLines(['+X:1\r\n', '+X:2\r\n', '\r\nOK\r\n']), { faults, urcPool: ['U\r\n'] });
    faults.arm('urcBetweenLines');
    t.port.setEcho(false);
    t.send('AT+X\r\n');
    assert.equal(t.out(), '+X:1\r\nU\r\n+X:2\r\n\r\nOK\r\n');
    t.clear();
    faults.arm('urcInEcho');
    t.port.setEcho(true);
    t.send('AT+X\r\n');
    const o = t.out();
    assert.ok(/^A.*U\r\n.*\r\n\+X:1/.test(o) && o.replace('U\r\n', '').startsWith('AT+X\r\n'), JSON.stringify(o));
    t.port.setEcho(false);
    t.clear();
    faults.arm('dropUrc');
    t.port.urc('A\r\n');
    faults.arm('duplicateUrc');
    t.port.urc('B\r\n');
    faults.set({ urcStorm: { once: 1, count: 3, lines: ['S\r\n'] }, urcBetweenCommands: { once: 1, lines: ['C\r\n'] } });
    t.send('AT\r\n');
    assert.equal(t.out(), 'B\r\nB\r\n+X:1\r\n+X:2\r\n\r\nOK\r\nC\r\nS\r\nS\r\nS\r\n');
    t.clear();
    faults.set({ busy: { once: 1 }, slow: { once: 1, delayMs: 50 } });
    t.send('AT\r\n');
    assert.equal(t.out(), '\r\nbusy p...\r\n');
    t.clear();
    t.send('AT\r\n');
    assert.equal(t.out(), '');
    t.sched.advance(50);
    assert.equal(t.out(), '+X:1\r\n+X:2\r\n\r\nOK\r\n');
    assert.equal(t.lines.length, 4);
    await tick(t.sched);
  });

  it('changeBaudRate waits until the OK crossed the wire at the old rate', async () => {
    const sched = new VirtualScheduler();
    const [host, module] = createBytePipe({ scheduler: sched, baudRate: 115200, garbleOnBaudMismatch: true });
    let out = '';
    host.onData((b) => (out += latin1Text(b)));
    const port: AtSimPort = new AtSimPort({
      stream: module,
      scheduler: sched,
      rng: new XorShiftRng(1),
      echo: false,
      onLine: (_l): Promise<void> => {
        port.write('\r\nOK\r\n');
        return port.changeBaudRate(921600);
      },
    });
    port.setReady(true);
    host.write(Uint8Array.from('AT+UART_CUR=921600,8,1,0,0\r\n', (c) => c.charCodeAt(0)));
    for (let i = 0; i < 20; i++) await tick(sched, 1);
    assert.equal(module.baudRate, 921600);
    assert.equal(out, '\r\nOK\r\n', 'the OK arrived ungarbled');
    await host.setBaudRate(921600);
    host.write(Uint8Array.from('AT\r\n', (c) => c.charCodeAt(0)));
    await tick(sched, 5);
    assert.equal(out, '\r\nOK\r\n\r\nOK\r\n');
  });
});
