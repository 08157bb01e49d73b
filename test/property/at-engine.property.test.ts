import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualScheduler } from '../../src/base/time.ts';
import { AtEngine, type AtUrc } from '../../src/backends/at/at-engine.ts';
import { espRecognisers } from '../../src/wire/at/esp-headers.ts';

const RUNS = { numRuns: 300 };
const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dec = (b: Uint8Array): string => String.fromCharCode(...b);

/** A module message: an information line, a line URC, or an `+IPD` URC with a binary payload. */
type Piece = { info: string } | { urc: string } | { ipd: Uint8Array };

const piece: fc.Arbitrary<Piece> = fc.oneof(
  fc.stringMatching(/^\+[A-Z]{2,8}:[0-9a-z,"]{0,12}$/).map((info) => ({ info })),
  fc.constantFrom('WIFI DISCONNECT', 'WIFI GOT IP', '0,CLOSED', '1,CONNECT').map((urc) => ({ urc })),
  fc.uint8Array({ maxLength: 40 }).map((ipd) => ({ ipd })),
);
/** One exchange: a command (maybe with a data phase) and the pieces the module interleaves with its reply. */
const exchange = fc.record({ pieces: fc.array(piece, { maxLength: 6 }), send: fc.option(fc.uint8Array({ minLength: 1, maxLength: 30 }), { nil: undefined }) });

interface Outcome {
  responses: unknown[];
  urcs: AtUrc[];
}

/** Runs the exchanges against a fake module whose replies are read in `sizes`-byte chunks (cycled). */
function run(exchanges: { pieces: Piece[]; send: Uint8Array | undefined }[], sizes: number[]): Outcome {
  const sched = new VirtualScheduler();
  const urcs: AtUrc[] = [];
  const responses: unknown[] = [];
  let k = 0;
  let step = 0;
  const deliver = (s: string): void => {
    const bytes = enc(s);
    for (let i = 0; i < bytes.length; ) {
      const n = Math.max(1, sizes[k++ % sizes.length] ?? 1);
      engine.receive(bytes.subarray(i, i + n));
      i += n;
    }
  };
  const body = (pieces: Piece[]): string =>
    pieces.map((p) => ('info' in p ? `${p.info}\r\n` : 'urc' in p ? `\r\n${p.urc}\r\n` : `\r\n+IPD,0,${p.ipd.length}:${dec(p.ipd)}`)).join('');
  const engine: AtEngine = new AtEngine({
    scheduler: sched,
    tokenizer: { partial: espRecognisers() },
    write: (b) => {
      const text = dec(b);
      const ex = exchanges[step];
      if (ex === undefined) return;
      if (ex.send !== undefined && text.startsWith('AT+')) {
        sched.setTimer(1, () => deliver('\r\nOK\r\n\r\n>'));
      } else {
        step++;
        const tail = ex.send !== undefined ? `\r\nRecv ${ex.send.length} bytes\r\n\r\nSEND OK\r\n` : '\r\nOK\r\n';
        sched.setTimer(1, () => deliver(body(ex.pieces) + tail));
      }
    },
  });
  engine.onUrc('WIFI ', (u) => urcs.push(u));
  engine.onUrc(/^\d,(CLOSED|CONNECT)$/, (u) => urcs.push(u));
  engine.onUrc('+IPD,', (u) => urcs.push(u));
  exchanges.forEach((ex, i) => {
    const cmd = ex.send !== undefined ? { text: `AT+CIPSEND=0,${ex.send.length}`, data: ex.send } : { text: `AT+Q${i}` };
    engine.send(cmd).then(
      (r) => responses.push(r),
      (e: unknown) => responses.push(e),
    );
  });
  sched.advance(1000);
  return { responses, urcs };
}

describe('AT engine properties', () => {
  it('outcome independent of read sizes; URCs routed, information lines and payloads intact', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(exchange, { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), async (exchanges, sizes) => {
        const whole = run(exchanges, [1 << 20]);
        const chunked = run(exchanges, sizes);
        const ones = run(exchanges, [1]);
        await Promise.resolve();
        assert.equal(whole.responses.length, exchanges.length);
        assert.deepEqual(chunked, whole);
        assert.deepEqual(ones, whole);
        const wantUrcs = exchanges.flatMap((ex) =>
          ex.pieces.flatMap((p) => ('urc' in p ? [{ line: p.urc }] : 'ipd' in p ? [{ line: `+IPD,0,${p.ipd.length}:`, bytes: p.ipd }] : [])),
        );
        assert.deepEqual(whole.urcs, wantUrcs);
        exchanges.forEach((ex, i) => {
          const info = ex.pieces.flatMap((p) => ('info' in p ? [p.info] : []));
          const want = ex.send !== undefined ? ['OK', ...info, `Recv ${ex.send.length} bytes`] : info;
          assert.deepEqual((whole.responses[i] as { lines: string[] }).lines, want);
        });
      }),
      RUNS,
    );
  });
});
