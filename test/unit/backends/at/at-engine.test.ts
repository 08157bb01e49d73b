// The AT engine against a scripted fake module on virtual time. Every scenario runs three times:
// replies delivered whole, in 3-byte reads and in 1-byte reads; the outcome must not change.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { AtEngine, type AtEngineOptions, type AtUrc } from '../../../../src/backends/at/at-engine.ts';
import { isAtError } from '../../../../src/backends/at/at-error.ts';
import type { AtToken } from '../../../../src/wire/at/at-tokenizer.ts';
import { espRecognisers } from '../../../../src/wire/at/esp-headers.ts';
import { quectelQirdRecogniser } from '../../../../src/wire/at/quectel-headers.ts';

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dec = (b: Uint8Array): string => String.fromCharCode(...b);

/** One expected write and the module's answer to it (delivered 1 ms later). */
interface Step {
  readonly expect: string;
  readonly reply: string;
}

/** A module that answers each expected write with scripted bytes, read `chunk` bytes at a time. */
class FakeModule {
  readonly written: string[] = [];
  readonly unexpected: string[] = [];
  readonly sched = new VirtualScheduler();
  readonly engine: AtEngine;
  readonly urcs: AtUrc[] = [];
  readonly unsolicited: AtToken[] = [];
  readonly resets: string[] = [];
  private readonly steps: Step[];

  constructor(steps: Step[], readonly chunk: number, options: Partial<AtEngineOptions> = {}) {
    this.steps = [...steps];
    this.engine = new AtEngine({
      scheduler: this.sched,
      write: (b) => this.onWrite(dec(b)),
      onUnsolicited: (t) => this.unsolicited.push(t),
      onReset: (banner) => this.resets.push(banner),
      tokenizer: { partial: espRecognisers(), full: [quectelQirdRecogniser()] },
      ...options,
    });
  }

  private onWrite(s: string): void {
    this.written.push(s);
    const step = this.steps[0];
    if (step === undefined || step.expect !== s) {
      this.unexpected.push(s);
      return;
    }
    this.steps.shift();
    this.sched.setTimer(1, () => this.inject(step.reply));
  }

  /** Delivers module bytes now, `chunk` at a time. */
  inject(s: string): void {
    const bytes = enc(s);
    for (let i = 0; i < bytes.length; i += this.chunk) this.engine.receive(bytes.subarray(i, i + this.chunk));
  }
}

const CHUNKS = [1 << 20, 3, 1];
function each(name: string, fn: (chunk: number) => Promise<void>): void {
  for (const chunk of CHUNKS) it(`${name} (reads of ${chunk === 1 << 20 ? 'any size' : `${chunk} B`})`, () => fn(chunk));
}

describe('AT engine: finals', () => {
  each('command, information line, OK', async (chunk) => {
    const m = new FakeModule([{ expect: 'AT+CWMODE?\r\n', reply: '+CWMODE:1\r\n\r\nOK\r\n' }], chunk);
    const p = m.engine.send('AT+CWMODE?');
    m.sched.advance(5);
    assert.deepEqual(await p, { command: 'AT+CWMODE?', final: 'OK', lines: ['+CWMODE:1'], payloads: [] });
    assert.equal(m.sched.pendingTimers(), 0);
  });

  each('ERROR rejects with the lines received (CWJAP bad password)', async (chunk) => {
    const m = new FakeModule([{ expect: 'AT+CWJAP="my\\,ssid","pa\\"ss"\r\n', reply: '+CWJAP:2\r\n\r\nERROR\r\n' }], chunk);
    const p = m.engine.send({ text: 'AT+CWJAP="my\\,ssid","pa\\"ss"', timeoutMs: 15_000 });
    m.sched.advance(5);
    await assert.rejects(p, (e) => isAtError(e, 'error') && e.final === 'ERROR' && e.lines[0] === '+CWJAP:2');
  });

  each('+CME ERROR carries its code; Quectel CR line ending', async (chunk) => {
    const m = new FakeModule([{ expect: 'AT+CPIN?\r', reply: '\r\n+CME ERROR: 10\r\n' }], chunk, { lineEnding: '\r' });
    const p = m.engine.send('AT+CPIN?');
    m.sched.advance(5);
    await assert.rejects(p, (e) => isAtError(e, 'cme') && e.code === 10 && e.command === 'AT+CPIN?');
  });

  each('+CMS ERROR and a custom success final (CONNECT)', async (chunk) => {
    const m = new FakeModule(
      [
        { expect: 'AT+CMGS=1\r\n', reply: '+CMS ERROR: 500\r\n' },
        { expect: 'ATD*99***1#\r\n', reply: '\r\nCONNECT 150000000\r\n' },
      ],
      chunk,
    );
    const a = m.engine.send('AT+CMGS=1');
    const b = m.engine.send({ text: 'ATD*99***1#', success: [/^CONNECT( |$)/] });
    m.sched.advance(5);
    await assert.rejects(a, (e) => isAtError(e, 'cms') && e.code === 500);
    assert.equal((await b).final, 'CONNECT 150000000');
  });

  each('timeout, then the queue moves on', async (chunk) => {
    const m = new FakeModule([{ expect: 'AT+GMR\r\n', reply: 'AT version:2.2.0.0\r\nOK\r\n' }], chunk);
    const a = m.engine.send({ text: 'AT+CIFSR', timeoutMs: 1000 });
    const b = m.engine.send('AT+GMR');
    assert.deepEqual(m.written, ['AT+CIFSR\r\n']);
    m.sched.advance(999);
    assert.equal(m.engine.pending, 2);
    m.sched.advance(1);
    await assert.rejects(a, (e) => isAtError(e, 'timeout') && e.final === undefined);
    m.sched.advance(5);
    assert.deepEqual((await b).lines, ['AT version:2.2.0.0']);
  });

  each('streaming reply: the timeout counts from the last byte', async (chunk) => {
    const m = new FakeModule([], chunk);
    const p = m.engine.send({ text: 'AT+CWLAP', timeoutMs: 100, streaming: true });
    for (let i = 0; i < 5; i++) {
      m.sched.advance(90);
      m.inject(`+CWLAP:(3,"ap${i}",-60,"aa:bb:cc:dd:ee:0${i}",6)\r\n`);
    }
    m.sched.advance(90);
    m.inject('\r\nOK\r\n');
    assert.equal((await p).lines.length, 5);
    const q = m.engine.send({ text: 'AT+CWLAP', timeoutMs: 100, streaming: true });
    m.sched.advance(100);
    await assert.rejects(q, (e) => isAtError(e, 'timeout'));
  });

  each('abort pattern ends the command at once', async (chunk) => {
    const m = new FakeModule([{ expect: 'AT+CIPSTART=0,"TCP","h",1\r\n', reply: 'DNS Fail\r\n' }], chunk);
    const p = m.engine.send({ text: 'AT+CIPSTART=0,"TCP","h",1', abort: ['DNS Fail'], timeoutMs: 20_000 });
    m.sched.advance(5);
    await assert.rejects(p, (e) => isAtError(e, 'aborted') && e.final === 'DNS Fail');
  });
});

describe('AT engine: URCs, echo, data phases', () => {
  each('URCs between information lines and OK are routed to handlers, not the response', async (chunk) => {
    const m = new FakeModule(
      [{ expect: 'AT+CIPSTA?\r\n', reply: '+CIPSTA:ip:"192.168.3.112"\r\nWIFI DISCONNECT\r\n+CIPSTA:gateway:"192.168.3.1"\r\n\r\n+IPD,0,4:OK\r\n\r\nOK\r\n' }],
      chunk,
    );
    m.engine.onUrc('WIFI ', (u) => m.urcs.push(u));
    m.engine.onUrc('+IPD,', (u) => m.urcs.push(u));
    const p = m.engine.send('AT+CIPSTA?');
    m.sched.advance(5);
    const r = await p;
    assert.deepEqual(r.lines, ['+CIPSTA:ip:"192.168.3.112"', '+CIPSTA:gateway:"192.168.3.1"']);
    assert.deepEqual(m.urcs, [{ line: 'WIFI DISCONNECT' }, { line: '+IPD,0,4:', bytes: enc('OK\r\n') }]);
  });

  each('send data phase (§1.6): prompt, payload with OK and >, URCs between > and SEND OK', async (chunk) => {
    const payload = 'OK\r\n>x';
    const m = new FakeModule(
      [
        { expect: 'AT+CIPSEND=0,6\r\n', reply: '\r\nOK\r\n\r\n>' },
        { expect: payload, reply: '\r\n+IPD,1,2:hi1,CLOSED\r\n\r\nRecv 6 bytes\r\n\r\nSEND OK\r\n' },
      ],
      chunk,
    );
    m.engine.onUrc('+IPD,', (u) => m.urcs.push(u));
    m.engine.onUrc(/^\d,CLOSED$/, (u) => m.urcs.push(u));
    const p = m.engine.send({ text: 'AT+CIPSEND=0,6', data: enc(payload) });
    m.sched.advance(5);
    const r = await p;
    assert.deepEqual(m.written, ['AT+CIPSEND=0,6\r\n', payload]);
    assert.deepEqual(r, { command: 'AT+CIPSEND=0,6', final: 'SEND OK', lines: ['OK', 'Recv 6 bytes'], payloads: [] });
    assert.deepEqual(m.urcs, [{ line: '+IPD,1,2:', bytes: enc('hi') }, { line: '1,CLOSED' }]);
  });

  each('Quectel send: `\\r\\n> ` prompt, SEND FAIL rejects with send-fail', async (chunk) => {
    const m = new FakeModule(
      [
        { expect: 'AT+QISEND=0,4\r', reply: '\r\n> ' },
        { expect: 'test', reply: '\r\nSEND FAIL\r\n' },
      ],
      chunk,
      { lineEnding: '\r' },
    );
    const p = m.engine.send({ text: 'AT+QISEND=0,4', data: enc('test') });
    m.sched.advance(5);
    await assert.rejects(p, (e) => isAtError(e, 'send-fail'));
  });

  each('no prompt: ERROR instead of > fails the send without writing the payload', async (chunk) => {
    const m = new FakeModule([{ expect: 'AT+CIPSEND=0,4\r\n', reply: '\r\nERROR\r\n' }], chunk);
    const p = m.engine.send({ text: 'AT+CIPSEND=0,4', data: enc('test') });
    m.sched.advance(5);
    await assert.rejects(p, (e) => isAtError(e, 'error'));
    assert.deepEqual(m.written, ['AT+CIPSEND=0,4\r\n']);
  });

  each('Quectel QIRD: the counted payload belongs to the response', async (chunk) => {
    const m = new FakeModule([{ expect: 'AT+QIRD=0,1500\r', reply: '\r\n+QIRD: 5\r\nOK\r\n\r\n\r\nOK\r\n' }], chunk, { lineEnding: '\r' });
    const p = m.engine.send('AT+QIRD=0,1500');
    m.sched.advance(5);
    const r = await p;
    assert.deepEqual(r.payloads, [{ header: '+QIRD: 5', bytes: enc('OK\r\n\r') }]);
    assert.equal(r.final, 'OK');
  });

  each('echo on: the echoed command is ignored (ESP-AT `AT\\r\\n`, NONOS `AT\\r\\r\\n`)', async (chunk) => {
    const m = new FakeModule(
      [
        { expect: 'AT\r\n', reply: 'AT\r\n\r\nOK\r\n' },
        { expect: 'AT+CWMODE?\r\n', reply: 'AT+CWMODE?\r\r\n+CWMODE:1\r\n\r\nOK\r\n' },
      ],
      chunk,
    );
    const a = m.engine.send('AT');
    const b = m.engine.send('AT+CWMODE?');
    m.sched.advance(5);
    assert.deepEqual((await a).lines, []);
    assert.deepEqual((await b).lines, ['+CWMODE:1']);
  });
});

describe('AT engine: URC spliced into the echo', () => {
  each('NONOS `AT+CIPSEND=0,1,CONNECT\\r\\n98`: URC delivered, both echo parts ignored', async (chunk) => {
    const m = new FakeModule(
      [
        { expect: 'AT+CIPSEND=0,98\r\n', reply: 'AT+CIPSEND=0,1,CONNECT\r\n98\r\n\r\nOK\r\n> ' },
        { expect: 'x'.repeat(98), reply: '\r\nSEND OK\r\n' },
      ],
      chunk,
    );
    m.engine.onUrc(/^\d,CONNECT$/, (u) => m.urcs.push(u));
    const p = m.engine.send({ text: 'AT+CIPSEND=0,98', data: enc('x'.repeat(98)) });
    m.sched.advance(5);
    const r = await p;
    assert.deepEqual(r.lines, ['OK']);
    assert.deepEqual(m.urcs, [{ line: '1,CONNECT' }]);
  });

  each('a line that only starts like the command is an information line', async (chunk) => {
    const m = new FakeModule([{ expect: 'AT+GMR\r\n', reply: 'AT version:1.7.0.0(Aug 16 2018 00:57:04)\r\nOK\r\n' }], chunk);
    m.engine.onUrc('WIFI ', (u) => m.urcs.push(u));
    const p = m.engine.send('AT+GMR');
    m.sched.advance(5);
    assert.deepEqual((await p).lines, ['AT version:1.7.0.0(Aug 16 2018 00:57:04)']);
    assert.deepEqual(m.urcs, []);
  });
});

describe('AT engine: busy, reset, robustness', () => {
  each('busy p... retries the command with back-off, not a failure', async (chunk) => {
    const m = new FakeModule(
      [
        { expect: 'AT+CIPMUX=1\r\n', reply: 'busy p...\r\n' },
        { expect: 'AT+CIPMUX=1\r\n', reply: 'busy p...\r\n' },
        { expect: 'AT+CIPMUX=1\r\n', reply: '\r\nOK\r\n' },
      ],
      chunk,
      { busyBackoffMs: 100 },
    );
    const p = m.engine.send('AT+CIPMUX=1');
    m.sched.advance(1); // first busy at t=1: retry at t=101
    assert.equal(m.written.length, 1);
    m.sched.advance(100);
    assert.equal(m.written.length, 2); // second busy at t=102: retry at t=302
    m.sched.advance(200);
    assert.equal(m.written.length, 2);
    m.sched.advance(1);
    assert.equal(m.written.length, 3);
    m.sched.advance(5);
    assert.equal((await p).final, 'OK');
  });

  each('busy p... past the retry limit fails with reason busy', async (chunk) => {
    const busy = { expect: 'AT\r\n', reply: 'busy p...\r\n' };
    const m = new FakeModule([busy, busy], chunk, { busyRetries: 1 });
    const p = m.engine.send('AT');
    m.sched.advance(1000);
    await assert.rejects(p, (e) => isAtError(e, 'busy'));
  });

  each('reset banner fails every pending command and notifies the owner', async (chunk) => {
    const m = new FakeModule([{ expect: 'AT+CIPSTART=0,"TCP","10.0.0.1",80\r\n', reply: '\x00\xfe garbage\r\nready\r\n' }], chunk);
    const a = m.engine.send({ text: 'AT+CIPSTART=0,"TCP","10.0.0.1",80', timeoutMs: 20_000 });
    const b = m.engine.send('AT+CIPSTATE?');
    m.sched.advance(5);
    await assert.rejects(a, (e) => isAtError(e, 'reset') && e.final === 'ready' && e.lines.length === 1);
    await assert.rejects(b, (e) => isAtError(e, 'reset'));
    assert.deepEqual(m.resets, ['ready']);
    assert.equal(m.engine.pending, 0);
    assert.equal(m.sched.pendingTimers(), 0);
    // Quectel banners too, with nothing pending.
    m.inject('\r\nRDY\r\n\r\nAPP RDY\r\n');
    assert.deepEqual(m.resets, ['ready', 'RDY', 'APP RDY']);
  });

  each('unsolicited lines with nothing pending go to onUnsolicited; throwing handlers never escape receive', async (chunk) => {
    const errors: unknown[] = [];
    const m = new FakeModule([{ expect: 'AT\r\n', reply: '+IPD,0,1:x\r\nOK\r\n' }], chunk, { onHandlerError: (e) => errors.push(e) });
    m.engine.onUrc('+IPD', () => {
      throw new Error('handler bug');
    });
    m.inject('0,CONNECT\r\n>');
    assert.deepEqual(m.unsolicited, [{ kind: 'line', text: '0,CONNECT' }, { kind: 'prompt', text: '>' }]);
    const p = m.engine.send('AT');
    m.sched.advance(5);
    assert.equal((await p).final, 'OK');
    assert.equal(errors.length, 1);
  });

  it('random bytes never throw out of receive, with commands pending', async () => {
    const sched = new VirtualScheduler();
    const engine = new AtEngine({ scheduler: sched, write: () => undefined, tokenizer: { partial: espRecognisers() } });
    const settled: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      const cmd = i % 2 === 0 ? { text: `AT+X${i}`, data: enc('d') } : { text: `AT+X${i}` };
      engine.send(cmd).then(
        (r) => settled.push(r),
        (e: unknown) => settled.push(e),
      );
    }
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      engine.receive(Uint8Array.of(x >>> 24, (x >>> 16) & 0xff));
      if (i % 500 === 0) sched.advance(100);
    }
    sched.advance(100_000);
    assert.equal(engine.pending, 0);
    await Promise.resolve();
    assert.equal(settled.length, 20);
  });

  it('close fails everything and refuses later commands', async () => {
    const m = new FakeModule([], 1);
    const a = m.engine.send('AT');
    const b = m.engine.send('AT');
    m.engine.close();
    await assert.rejects(a, (e) => isAtError(e, 'closed'));
    await assert.rejects(b, (e) => isAtError(e, 'closed'));
    await assert.rejects(m.engine.send('AT'), (e) => isAtError(e, 'closed'));
    assert.equal(m.sched.pendingTimers(), 0);
  });
});
