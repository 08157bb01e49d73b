// Chat scripts on a VirtualScheduler, with a fake module that answers each written command.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { AtEngine } from '../../../../src/backends/at/at-engine.ts';
import { AtError, isAtError } from '../../../../src/backends/at/at-error.ts';
import { runChat, type AtChatStep } from '../../../../src/backends/at/at-chat.ts';

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dec = (b: Uint8Array): string => String.fromCharCode(...b);

/** An engine whose module answers `replies[command]` 5 ms after each write (nothing if absent). */
function rig(replies: Record<string, string>): { engine: AtEngine; sched: VirtualScheduler; log: [number, string][] } {
  const sched = new VirtualScheduler();
  const log: [number, string][] = [];
  const engine: AtEngine = new AtEngine({
    scheduler: sched,
    lineEnding: '\r',
    write: (b) => {
      const cmd = dec(b).replace(/\r$/, '');
      log.push([sched.now(), cmd]);
      const reply = replies[cmd];
      if (reply !== undefined) sched.setTimer(5, () => engine.receive(enc(reply)));
    },
  });
  return { engine, sched, log };
}

/** Advances virtual time in 10 ms steps, letting promise reactions run between steps, until `p` settles. */
async function drive<T>(sched: VirtualScheduler, p: Promise<T>): Promise<T> {
  let done = false;
  const stop = (): void => {
    done = true;
  };
  p.then(stop, stop); // also marks a rejection handled while time is still being driven
  for (let i = 0; i < 10_000 && !done; i++) {
    sched.advance(10);
    await new Promise((r) => setImmediate(r));
  }
  return p;
}

const DIAL: AtChatStep[] = [
  { send: 'AT+CGACT=0,1', optional: true },
  { send: 'AT+CGDCONT=1,"IP","internet"' },
  { send: 'AT+CFUN=1', timeoutMs: 15_000, delayMs: 300 },
  { send: 'ATD*99***1#', noReply: true },
];

describe('AT chat scripts', () => {
  it('Zephyr-style dial: optional ERROR tolerated, pause honoured, last step not awaited', async () => {
    const { engine, sched, log } = rig({
      'AT+CGACT=0,1': '\r\nERROR\r\n',
      'AT+CGDCONT=1,"IP","internet"': '\r\nOK\r\n',
      'AT+CFUN=1': '\r\nOK\r\n',
    });
    const out = await drive(sched, runChat(engine, DIAL));
    assert.equal(out.length, 4);
    assert.ok(out[0] instanceof AtError && out[0].reason === 'error');
    assert.deepEqual(out.slice(1).map((r) => (r instanceof AtError ? r.reason : r.final)), ['OK', 'OK', '']);
    assert.deepEqual(log.map(([, c]) => c), ['AT+CGACT=0,1', 'AT+CGDCONT=1,"IP","internet"', 'AT+CFUN=1', 'ATD*99***1#']);
    const cfun = log[2]?.[0] ?? 0;
    const dial = log[3]?.[0] ?? 0;
    assert.ok(dial - cfun >= 305, `dial ${dial - cfun} ms after CFUN`);
  });

  it('a failing required step stops the script with its AtError', async () => {
    const { engine, sched, log } = rig({ 'AT+CGACT=0,1': '\r\nOK\r\n', 'AT+CGDCONT=1,"IP","internet"': '\r\n+CME ERROR: 4\r\n' });
    await assert.rejects(drive(sched, runChat(engine, DIAL)), (e) => isAtError(e, 'cme') && e.code === 4);
    assert.equal(log.length, 2);
  });

  it('script-wide abort patterns and custom expects', async () => {
    const { engine, sched } = rig({ 'AT+CPIN?': '\r\n+CPIN: READY\r\n\r\nOK\r\n', 'ATD*99#': '\r\nNO DIALTONE\r\n', AT: '\r\nSIM REMOVED\r\n' });
    const ok = await drive(sched, runChat(engine, [{ send: 'AT+CPIN?', expect: ['OK'] }]));
    assert.deepEqual(ok.map((r) => (r instanceof AtError ? r.reason : r.lines)), [['+CPIN: READY']]);
    await assert.rejects(drive(sched, runChat(engine, [{ send: 'ATD*99#', expect: [/^CONNECT/] }])), (e) => isAtError(e, 'error'));
    await assert.rejects(drive(sched, runChat(engine, [{ send: 'AT' }], { abort: ['SIM REMOVED'] })), (e) => isAtError(e, 'aborted'));
  });

  it('a step with no reply times out', async () => {
    const { engine, sched } = rig({});
    await assert.rejects(drive(sched, runChat(engine, [{ send: 'AT', timeoutMs: 500 }])), (e) => isAtError(e, 'timeout'));
  });
});
