import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AtTokenizer, type AtToken } from '../../src/wire/at/at-tokenizer.ts';
import { espRecognisers } from '../../src/wire/at/esp-headers.ts';
import { quectelPushRecvRecogniser, quectelQirdRecogniser } from '../../src/wire/at/quectel-headers.ts';
import { atQuote, parseAtFields } from '../../src/wire/at/at-params.ts';
import { splitAt } from '../support/split-bytes.ts';

const RUNS = { numRuns: 1000 };
const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A tokenizer with every ESP and Quectel recogniser (a superset of any one dialect table). */
function make(dinfo: boolean, maxLine = 64, maxCounted = 512): AtTokenizer {
  return new AtTokenizer({
    maxLine,
    maxCounted,
    partial: espRecognisers({ dinfo }),
    full: [quectelQirdRecogniser(), quectelPushRecvRecogniser()],
  });
}

/** Module-like output: messages drawn from real framing, counted payloads of random bytes, and noise. */
const fragment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('\r\n', '\r', '\n', 'OK', 'ERROR', 'ready', '> ', '>', 'SEND OK', '0,CLOSED', '+CME ERROR: 10', '+QIURC: "recv",0'),
  fc.tuple(fc.nat(5), fc.uint8Array({ maxLength: 40 })).map(([k, p]) => {
    const n = p.length;
    const headers = [`+IPD,0,${n}:`, `+IPD,${n}:`, `+CIPRECVDATA:${n},`, `+CIPRECVDATA,${n}:`, `\r\n+QIRD: ${n}\r\n`, `\r\n+QIURC: "recv",1,${n}\r\n`];
    return `${headers[k] ?? ''}${String.fromCharCode(...p)}`;
  }),
  fc.uint8Array({ maxLength: 80 }).map((p) => String.fromCharCode(...p)),
);
const stream = fc.array(fragment, { maxLength: 30 }).map((parts) => enc(parts.join('')));

function tokenSize(t: AtToken): number {
  switch (t.kind) {
    case 'data':
      return t.bytes.length + t.header.length;
    case 'overflow':
      return t.text.length;
    default:
      return t.text.length;
  }
}

describe('AT tokenizer properties', () => {
  it('totality: random bytes never throw; every token is bounded by the limits', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 2000 }), stream), fc.boolean(), (bytes, dinfo) => {
        const t = make(dinfo);
        for (const tok of t.push(bytes)) {
          assert.ok(tokenSize(tok) <= 64 + 512, `token too big: ${tok.kind}`);
          if (tok.kind === 'line') assert.ok(tok.text.length > 0 && tok.text.length <= 64);
          if (tok.kind === 'line') assert.ok(!/[\r\n]/.test(tok.text));
        }
      }),
      RUNS,
    );
  });

  it('independence from splitting: any chunking, and 1-byte pushes, give the same tokens', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), fc.boolean(), (bytes, cuts, dinfo) => {
        const whole = make(dinfo).push(bytes);
        const t = make(dinfo);
        const pieces = splitAt(bytes, cuts).flatMap((c) => t.push(c));
        assert.deepEqual(pieces, whole);
        const b = make(dinfo);
        const ones: AtToken[] = [];
        for (let i = 0; i < bytes.length; i++) ones.push(...b.push(bytes.subarray(i, i + 1)));
        assert.deepEqual(ones, whole);
      }),
      RUNS,
    );
  });

  it('counted payloads come back byte-exact whatever they hold', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 10 }), (payloads) => {
        const parts = payloads.map((p, i) => (i % 2 === 0 ? `\r\n+IPD,0,${p.length}:` : `\r\n+QIRD: ${p.length}\r\n`) + String.fromCharCode(...p));
        const toks = make(false).push(enc(`${parts.join('')}\r\nOK\r\n`));
        const datas = toks.filter((t) => t.kind === 'data');
        assert.deepEqual(datas.map((d) => (d.kind === 'data' ? d.bytes : undefined)), payloads);
        assert.deepEqual(toks.at(-1), { kind: 'line', text: 'OK' });
      }),
      RUNS,
    );
  });

  it('quoting round-trips: parseAtFields(atQuote(s)) gives s back, among other fields', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary-ascii', maxLength: 30 }), { minLength: 1, maxLength: 6 }), fc.boolean(), (ss, paren) => {
        const list = ss.map(atQuote).join(',');
        const fields = parseAtFields(paren ? `(${list})` : list);
        assert.deepEqual(fields, ss.map((text) => ({ text, quoted: true })));
      }),
      RUNS,
    );
  });
});
