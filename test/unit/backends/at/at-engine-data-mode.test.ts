// The AT engine's data mode (V.250 online data state, PPP dial-up) against scripted module bytes
// on virtual time: the switch right after CONNECT (same chunk included), NO CARRIER and reset
// banners in the data, leaveDataMode, the +++ escape with guard times. Each byte scenario runs
// with the bytes whole, in 3-byte and 1-byte reads and in seeded random chunks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XorShiftRng, randomInt } from '../../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { AtEngine, type AtDataModeExit, type AtDataModeHandlers, type AtResponse } from '../../../../src/backends/at/at-engine.ts';
import { isAtError } from '../../../../src/backends/at/at-error.ts';
import { DataMarkerScanner, dataMarker } from '../../../../src/backends/at/at-data-mode.ts';
import { AtTokenizer, type AtToken } from '../../../../src/wire/at/at-tokenizer.ts';
import { quectelQirdRecogniser } from '../../../../src/wire/at/quectel-headers.ts';

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dec = (b: Uint8Array): string => String.fromCharCode(...b);

type Chunking = number | 'random';
const CHUNKINGS: Chunking[] = [1_000_000, 3, 1, 'random'];

class Rig {
  readonly sched = new VirtualScheduler();
  readonly written: string[] = [];
  readonly unsolicited: AtToken[] = [];
  readonly resets: string[] = [];
  readonly errors: unknown[] = [];
  readonly data: string[] = [];
  readonly exits: AtDataModeExit[] = [];
  noCarriers = 0;
  readonly engine: AtEngine;
  private readonly rng: XorShiftRng;

  constructor(
    readonly chunking: Chunking,
    seed = 1,
  ) {
    this.rng = new XorShiftRng(seed);
    this.engine = new AtEngine({
      scheduler: this.sched,
      write: (b) => this.written.push(dec(b)),
      lineEnding: '\r',
      onUnsolicited: (t) => this.unsolicited.push(t),
      onReset: (b) => this.resets.push(b),
      onHandlerError: (e) => this.errors.push(e),
      tokenizer: { full: [quectelQirdRecogniser()] },
    });
  }

  /** Data-mode handlers recording into this rig; `leaveOnNoCarrier` leaves data mode in the callback. */
  handlers(leaveOnNoCarrier = true, extra: Partial<AtDataModeHandlers> = {}): AtDataModeHandlers {
    return {
      onData: (b) => this.data.push(dec(b)),
      onNoCarrier: () => {
        this.noCarriers++;
        if (leaveOnNoCarrier) this.engine.leaveDataMode();
      },
      onExit: (r) => this.exits.push(r),
      ...extra,
    };
  }

  /** Module bytes, cut per the chunking. */
  inject(s: string): void {
    const bytes = enc(s);
    let i = 0;
    while (i < bytes.length) {
      const n = this.chunking === 'random' ? randomInt(this.rng, 1, 8) : this.chunking;
      this.engine.receive(bytes.subarray(i, i + n));
      i += n;
    }
  }

  get dataText(): string {
    return this.data.join('');
  }

  async settle<T>(p: Promise<T>): Promise<T> {
    for (let i = 0; i < 10; i++) await Promise.resolve();
    return p;
  }

  /** Advances virtual time by `ms`, letting promise continuations run between timers. */
  async advance(ms: number): Promise<void> {
    const end = this.sched.now() + ms;
    for (;;) {
      for (let i = 0; i < 10; i++) await Promise.resolve();
      const next = this.sched.nextDeadline();
      if (next === undefined || next > end) break;
      this.sched.advanceTo(next);
    }
    this.sched.advanceTo(end);
    for (let i = 0; i < 10; i++) await Promise.resolve();
  }
}

const DIAL = 'ATD*99***1#';
/** HDLC-looking bytes full of AT framing. */
const PPP = '~\xff\x7d\x23\xc0\x21OK\r\n+QIRD: 5\r\n>ERROR\r\nRDY~';

async function dialled(chunking: Chunking, reply: string, seed = 1): Promise<{ rig: Rig; r: AtResponse; urcs: string[] }> {
  const rig = new Rig(chunking, seed);
  const urcs: string[] = [];
  rig.engine.onUrc('+CEREG:', (u) => urcs.push(u.line));
  const p = rig.engine.send({ text: DIAL, dataMode: rig.handlers(), timeoutMs: 5000 });
  assert.deepEqual(rig.written, [`${DIAL}\r`]);
  rig.inject(reply);
  const r = await rig.settle(p);
  return { rig, r, urcs };
}

describe('AtEngine data mode', () => {
  it('CONNECT with the first data bytes in the same chunk: every byte after the line is data', async () => {
    for (const chunking of CHUNKINGS) {
      for (const connect of ['CONNECT', 'CONNECT 150000000']) {
        const { rig, r, urcs } = await dialled(chunking, `${DIAL}\r\r\n+CEREG: 1\r\n\r\n${connect}\r\n${PPP}`);
        assert.equal(r.final, connect);
        assert.ok(rig.engine.inDataMode);
        assert.equal(rig.dataText, PPP, `chunking ${chunking}`);
        assert.deepEqual(urcs, ['+CEREG: 1'], 'the URC before CONNECT was AT output');
        assert.deepEqual(r.lines, [], 'the echo too');
        assert.deepEqual(rig.unsolicited, []);
        rig.inject('more\r\nOK\r\n');
        assert.equal(rig.dataText, PPP + 'more\r\nOK\r\n');
        assert.deepEqual(rig.errors, []);
      }
    }
  });

  it('an LF right after the CR of CONNECT is skipped, also in the next chunk; ATV0-style CR only keeps the next byte', async () => {
    const rig = new Rig(1_000_000);
    const p = rig.engine.send({ text: DIAL, dataMode: rig.handlers() });
    rig.inject('\r\nCONNECT\r');
    rig.inject('\n~a~');
    await rig.settle(p);
    assert.equal(rig.dataText, '~a~');
    const rig2 = new Rig(1_000_000);
    const p2 = rig2.engine.send({ text: DIAL, dataMode: rig2.handlers() });
    rig2.inject('\r\nCONNECT\r~b~');
    await rig2.settle(p2);
    assert.equal(rig2.dataText, '~b~');
  });

  it('commands sent in data mode wait; NO CARRIER in the data ends it and the rest is AT output again', async () => {
    for (const chunking of CHUNKINGS) {
      const { rig, urcs } = await dialled(chunking, `\r\nCONNECT\r\n~ppp~`);
      const csq = rig.engine.send('AT+CSQ');
      await rig.advance(10_000);
      assert.deepEqual(rig.written, [`${DIAL}\r`], 'nothing written in data mode, no timeout');
      rig.inject('~x~\r\nNO CARRIER\r\n\r\n+CEREG: 2\r\n');
      assert.equal(rig.noCarriers, 1);
      assert.equal(rig.engine.inDataMode, false);
      assert.deepEqual(rig.exits, ['left']);
      assert.equal(rig.dataText, '~ppp~~x~\r\nNO CARRIER\r\n', 'the NO CARRIER bytes are delivered as data too');
      assert.deepEqual(urcs, ['+CEREG: 2'], `chunking ${chunking}`);
      assert.deepEqual(rig.written, [`${DIAL}\r`, 'AT+CSQ\r'], 'the queued command goes once data mode ended');
      rig.inject('\r\n+CSQ: 20,99\r\n\r\nOK\r\n');
      assert.deepEqual((await rig.settle(csq)).lines, ['+CSQ: 20,99']);
    }
  });

  it('NO CARRIER reported without leaving: the owner decides, bytes keep flowing to onData', async () => {
    const rig = new Rig(1);
    const p = rig.engine.send({ text: DIAL, dataMode: rig.handlers(false) });
    rig.inject('\r\nCONNECT\r\nab\r\nNO CARRIER\r\ncd\r\nNO CARRIER\r\n');
    await rig.settle(p);
    assert.equal(rig.noCarriers, 2);
    assert.ok(rig.engine.inDataMode);
    rig.engine.leaveDataMode();
    assert.deepEqual(rig.exits, ['left']);
    rig.inject('\r\nOK\r\n');
    assert.deepEqual(rig.unsolicited.map((t) => (t.kind === 'line' ? t.text : '')), ['OK']);
  });

  it('a failed dial stays in command mode: NO CARRIER, ERROR, CME, timeout', async () => {
    for (const [reply, reason] of [
      ['\r\nNO CARRIER\r\n', 'error'],
      ['\r\nERROR\r\n', 'error'],
      ['\r\n+CME ERROR: 30\r\n', 'cme'],
      ['', 'timeout'],
    ] as const) {
      const rig = new Rig(3);
      const p = rig.engine.send({ text: DIAL, dataMode: rig.handlers(), timeoutMs: 1000 });
      p.catch(() => undefined);
      rig.inject(`${reply}~after~\r\n`);
      await rig.advance(1500);
      await assert.rejects(p, (e: unknown) => isAtError(e, reason));
      assert.equal(rig.engine.inDataMode, false);
      assert.equal(rig.dataText, '');
    }
  });

  it('a reset banner in the data ends data mode, fails queued commands and tells onReset', async () => {
    for (const chunking of CHUNKINGS) {
      const { rig } = await dialled(chunking, '\r\nCONNECT\r\n~a~');
      const queued = rig.engine.send('AT');
      queued.catch(() => undefined);
      rig.inject('~b~\r\nRDY\r\n\r\n+CFUN: 1\r\n');
      await assert.rejects(queued, (e: unknown) => isAtError(e, 'reset'));
      assert.deepEqual(rig.resets, ['RDY']);
      assert.deepEqual(rig.exits, ['reset']);
      assert.equal(rig.engine.inDataMode, false);
      assert.deepEqual(rig.unsolicited.map((t) => (t.kind === 'line' ? t.text : '')), ['+CFUN: 1']);
    }
    const rig = new Rig(1);
    const p = rig.engine.send({ text: DIAL, dataMode: rig.handlers(true, { watchResets: false }) });
    rig.inject('\r\nCONNECT\r\n\r\nRDY\r\n');
    await rig.settle(p);
    assert.ok(rig.engine.inDataMode, 'watchResets: false');
    assert.deepEqual(rig.resets, []);
  });

  it('escapeDataMode: guard, +++ without line ending ahead of queued commands, guard, OK', async () => {
    const { rig } = await dialled(1_000_000, '\r\nCONNECT\r\n');
    const queued = rig.engine.send('ATH');
    const esc = rig.engine.escapeDataMode();
    await rig.advance(999);
    assert.deepEqual(rig.written, [`${DIAL}\r`]);
    await rig.advance(1);
    assert.deepEqual(rig.written, [`${DIAL}\r`, '+++']);
    assert.equal(rig.engine.inDataMode, false);
    assert.deepEqual(rig.exits, ['left']);
    await rig.advance(1000);
    rig.inject('~late ppp~\r\nOK\r\n');
    const r = await rig.settle(esc);
    assert.equal(r.final, 'OK');
    assert.deepEqual(rig.written, [`${DIAL}\r`, '+++', 'ATH\r']);
    rig.inject('\r\nOK\r\n');
    assert.equal((await rig.settle(queued)).final, 'OK');
    const ato = rig.engine.send({ text: 'ATO', dataMode: rig.handlers() });
    rig.inject('\r\nCONNECT\r\nxyz');
    assert.equal((await rig.settle(ato)).final, 'CONNECT');
    assert.equal(rig.dataText, 'xyz');
  });

  it('escapeDataMode times out when no OK comes (the modem may still be online); enterDataMode resumes', async () => {
    const { rig } = await dialled(1_000_000, '\r\nCONNECT\r\n');
    const esc = rig.engine.escapeDataMode({ guardMs: 1000, timeoutMs: 500 });
    esc.catch(() => undefined);
    await rig.advance(1000 + 1499);
    assert.equal(rig.engine.pending, 1);
    await rig.advance(1);
    await assert.rejects(esc, (e: unknown) => isAtError(e, 'timeout'));
    rig.engine.enterDataMode(rig.handlers());
    rig.inject('~q~');
    assert.equal(rig.dataText, '~q~');
    const esc2 = rig.engine.escapeDataMode();
    esc2.catch(() => undefined);
    await rig.advance(1000);
    rig.inject('\r\nNO CARRIER\r\n');
    await assert.rejects(esc2, (e: unknown) => isAtError(e, 'error'), 'the call had ended');
  });

  it('escapeDataMode without awaiting OK (ESP-AT passthrough timing)', async () => {
    const rig = new Rig(1_000_000);
    let done = false;
    void rig.engine.escapeDataMode({ guardMs: 50, awaitOk: false, afterMs: 1100 }).then(() => {
      done = true;
    });
    await rig.advance(50);
    assert.deepEqual(rig.written, ['+++']);
    await rig.advance(1099);
    assert.equal(done, false);
    await rig.advance(1);
    assert.equal(done, true);
  });

  it('close in data mode: onExit closed, later commands refused; throwing handlers are contained', async () => {
    const rig = new Rig(1_000_000);
    const p = rig.engine.send({
      text: DIAL,
      dataMode: rig.handlers(true, {
        onData: () => {
          throw new Error('boom');
        },
      }),
    });
    rig.inject('\r\nCONNECT\r\n~a~');
    await rig.settle(p);
    assert.equal(rig.errors.length, 1);
    rig.engine.close();
    assert.deepEqual(rig.exits, ['closed']);
    await assert.rejects(rig.engine.send('AT'), (e: unknown) => isAtError(e, 'closed'));
    await assert.rejects(rig.engine.escapeDataMode({ guardMs: 0 }), (e: unknown) => isAtError(e, 'closed'));
  });

  it('tokenizer pushUntil stops right after the accepted token and leaves the rest', () => {
    const t = new AtTokenizer();
    const bytes = enc('\r\nOK\r\n\r\nCONNECT 1\r\n~data\r\n');
    const r = t.pushUntil(bytes, (tok) => tok.kind === 'line' && tok.text.startsWith('CONNECT'));
    assert.deepEqual(r.tokens, [
      { kind: 'line', text: 'OK' },
      { kind: 'line', text: 'CONNECT 1' },
    ]);
    assert.equal(dec(bytes.subarray(r.consumed)), '\n~data\r\n');
    assert.deepEqual(t.push(enc('x\r')), [{ kind: 'line', text: 'x' }], 'the tokenizer goes on normally');
  });

  it('the marker scanner finds markers across chunks and only once', () => {
    const s = new DataMarkerScanner([dataMarker('no-carrier', 'NO CARRIER'), dataMarker('reset', 'RDY')]);
    const text = 'xx\r\nNO CARRIER\r\nyy\r\nRDY\r\nzz';
    for (let cut = 1; cut < text.length; cut++) {
      s.reset();
      const found: string[] = [];
      for (const part of [text.slice(0, cut), text.slice(cut)]) {
        let chunk = enc(part);
        for (;;) {
          const hit = s.find(chunk);
          if (hit === undefined) break;
          found.push(hit.marker.text);
          chunk = chunk.subarray(hit.end);
        }
      }
      assert.deepEqual(found, ['NO CARRIER', 'RDY'], `cut ${cut}`);
    }
  });
});
