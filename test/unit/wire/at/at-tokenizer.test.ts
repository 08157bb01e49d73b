// Byte sequences from ../shared/reference/at-modules.md §1.3, §1.6 (ESP-AT, NONOS) and §3 (Quectel).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AtTokenizer, type AtToken } from '../../../../src/wire/at/at-tokenizer.ts';
import { espRecognisers, parseIpdHeader, parseRecvDataHeader } from '../../../../src/wire/at/esp-headers.ts';
import {
  parseQirdHeader,
  parseRecvUrcHeader,
  quectelPushRecvRecogniser,
  quectelQirdRecogniser,
} from '../../../../src/wire/at/quectel-headers.ts';

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const line = (text: string): AtToken => ({ kind: 'line', text });
const prompt: AtToken = { kind: 'prompt', text: '>' };
const data = (header: string, bytes: string): AtToken => ({ kind: 'data', header, bytes: enc(bytes) });

function esp(dinfo = false): AtTokenizer {
  return new AtTokenizer({ partial: espRecognisers({ dinfo }) });
}
function quectel(push = false): AtTokenizer {
  return new AtTokenizer({ full: [quectelQirdRecogniser(), ...(push ? [quectelPushRecvRecogniser()] : [])] });
}
/** Whole, then one byte at a time: both must give `want`. */
function check(make: () => AtTokenizer, input: string, want: AtToken[]): void {
  assert.deepEqual(make().push(enc(input)), want);
  const t = make();
  const got: AtToken[] = [];
  for (const b of enc(input)) got.push(...t.push(Uint8Array.of(b)));
  assert.deepEqual(got, want);
}

describe('AT tokenizer: lines and prompts', () => {
  it('boot banner, OK, ERROR; CR/LF runs fold, empty lines vanish', () => {
    check(esp, '\r\nready\r\n', [line('ready')]);
    check(esp, '+CWMODE:1\r\n\r\nOK\r\n', [line('+CWMODE:1'), line('OK')]);
    check(esp, 'ERR CODE:0x01090000\r\n\r\nERROR\r\n', [line('ERR CODE:0x01090000'), line('ERROR')]);
    check(esp, 'a\n\rb\rc\n\n\n', [line('a'), line('b'), line('c')]);
  });
  it('echo lines are plain lines (ESP-AT `AT\\r\\n`, NONOS and 3GPP `AT\\r\\r\\n`)', () => {
    check(esp, 'AT\r\n\r\nOK\r\n', [line('AT'), line('OK')]);
    check(esp, 'AT\r\r\n\r\nOK\r\n', [line('AT'), line('OK')]);
  });
  it('multi-line CIPSTA reply', () => {
    check(
      esp,
      '+CIPSTA:ip:"192.168.3.112"\r\n+CIPSTA:gateway:"192.168.3.1"\r\n+CIPSTA:netmask:"255.255.255.0"\r\n\r\nOK\r\n',
      [line('+CIPSTA:ip:"192.168.3.112"'), line('+CIPSTA:gateway:"192.168.3.1"'), line('+CIPSTA:netmask:"255.255.255.0"'), line('OK')],
    );
  });
  it('prompts: ESP-AT `OK\\r\\n\\r\\n>`, NONOS `OK\\r\\n> `, Quectel `\\r\\n> `, emitted before any end of line', () => {
    check(esp, '\r\nOK\r\n\r\n>', [line('OK'), prompt]);
    check(esp, 'OK\r\n> ', [line('OK'), prompt]);
    check(quectel, '\r\n> ', [prompt]);
    // A space after the prompt is swallowed; what follows starts a new line.
    check(esp, '> \r\nRecv 4 bytes\r\n\r\nSEND OK\r\n', [prompt, line('Recv 4 bytes'), line('SEND OK')]);
    check(esp, '>\r\nSEND OK\r\n', [prompt, line('SEND OK')]);
    // `>` inside a line is text.
    check(esp, 'a>b\r\n', [line('a>b')]);
  });
  it('latin1 decoding: one char per byte', () => {
    check(esp, 'caf\xe9\x00\xff\r\n', [line('caf\xe9\x00\xff')]);
  });
});

describe('AT tokenizer: ESP counted payloads', () => {
  it('canonical exchange (§1.6): join, connect, send, receive glued to CLOSED', () => {
    const t = esp();
    assert.deepEqual(t.push(enc('WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n')), [
      line('WIFI CONNECTED'),
      line('WIFI GOT IP'),
      line('OK'),
    ]);
    assert.deepEqual(t.push(enc('0,CONNECT\r\n\r\nOK\r\n')), [line('0,CONNECT'), line('OK')]);
    assert.deepEqual(t.push(enc('\r\nOK\r\n\r\n>')), [line('OK'), prompt]);
    assert.deepEqual(t.push(enc('\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n')), [line('Recv 4 bytes'), line('SEND OK')]);
    assert.deepEqual(t.push(enc('\r\n+IPD,0,2:hi0,CLOSED\r\n')), [data('+IPD,0,2:', 'hi'), line('0,CLOSED')]);
  });
  it('every +IPD form: MUX=0, MUX=1, CIPDINFO quoted and bare, quoted IPv6', () => {
    check(esp, '+IPD,5:hello', [data('+IPD,5:', 'hello')]);
    check(esp, '+IPD,3,5:hello', [data('+IPD,3,5:', 'hello')]);
    check(esp, '+IPD,0,5,"192.168.1.3",5285:hello', [data('+IPD,0,5,"192.168.1.3",5285:', 'hello')]);
    check(esp, '+IPD,0,5,192.168.1.3,5285:hello', [data('+IPD,0,5,192.168.1.3,5285:', 'hello')]);
    check(esp, '+IPD,0,2,"2001:db8::1",80:hi', [data('+IPD,0,2,"2001:db8::1",80:', 'hi')]);
    check(esp, '+IPD,2,192.168.1.3,5285:hi', [data('+IPD,2,192.168.1.3,5285:', 'hi')]);
    assert.deepEqual(parseIpdHeader('+IPD,0,5,"192.168.1.3",5285:'), { id: 0, length: 5, ip: '192.168.1.3', port: 5285 });
    assert.deepEqual(parseIpdHeader('+IPD,7:'), { length: 7 });
    assert.equal(parseIpdHeader('+IPD,0,5'), undefined);
  });
  it('payload holding CR LF, OK, +IPD, >, NUL is read by count, never line-split', () => {
    const payload = '\r\nOK\r\n+IPD,0,3:>\x00\r\nERROR\r\n';
    check(esp, `\r\n+IPD,1,${payload.length}:${payload}\r\n+IPD,1,1:>1,CLOSED\r\n`, [
      data(`+IPD,1,${payload.length}:`, payload),
      data('+IPD,1,1:', '>'),
      line('1,CLOSED'),
    ]);
  });
  it('passive notice `+IPD,0,4` is a line; CIPRECVLEN keeps its empty fields', () => {
    check(esp, '\r\n+IPD,0,4\r\n+CIPRECVLEN:4,,,,,\r\n\r\nOK\r\n', [line('+IPD,0,4'), line('+CIPRECVLEN:4,,,,,'), line('OK')]);
  });
  it('+CIPRECVDATA: ESP-AT `:<len>,`, NONOS `,<len>:`, CIPDINFO `:<len>,"ip",port,`', () => {
    check(esp, '+CIPRECVDATA:4,test\r\n\r\nOK\r\n', [data('+CIPRECVDATA:4,', 'test'), line('OK')]);
    check(esp, '+CIPRECVDATA,4:test\r\nOK\r\n', [data('+CIPRECVDATA,4:', 'test'), line('OK')]);
    check(() => esp(true), '+CIPRECVDATA:4,"10.0.0.2",80,test\r\n\r\nOK\r\n', [
      data('+CIPRECVDATA:4,"10.0.0.2",80,', 'test'),
      line('OK'),
    ]);
    // Without CIPDINFO, a payload that starts with a quote is still payload.
    check(esp, '+CIPRECVDATA:4,"a",\r\nOK\r\n', [data('+CIPRECVDATA:4,', '"a",'), line('OK')]);
    assert.deepEqual(parseRecvDataHeader('+CIPRECVDATA:4,"10.0.0.2",80,'), { length: 4, ip: '10.0.0.2', port: 80 });
  });
  it('zero-length payload', () => {
    check(esp, '+IPD,0,0:OK\r\n', [data('+IPD,0,0:', ''), line('OK')]);
  });
});

describe('AT tokenizer: Quectel counted payloads (§3)', () => {
  it('canonical exchange: open, send, recv URC, QIRD 5 then 0, close', () => {
    check(quectel, '\r\nOK\r\n', [line('OK')]);
    check(quectel, '\r\n+QIACT: 1,1,1,"10.171.134.243"\r\n\r\nOK\r\n', [line('+QIACT: 1,1,1,"10.171.134.243"'), line('OK')]);
    check(quectel, '\r\nOK\r\n\r\n+QIOPEN: 0,0\r\n', [line('OK'), line('+QIOPEN: 0,0')]);
    check(quectel, '\r\n> ', [prompt]);
    check(quectel, '\r\nSEND OK\r\n\r\n+QIURC: "recv",0\r\n', [line('SEND OK'), line('+QIURC: "recv",0')]);
    check(quectel, '\r\n+QIRD: 5\r\ntest1\r\n\r\nOK\r\n', [data('+QIRD: 5', 'test1'), line('OK')]);
    check(quectel, '\r\n+QIRD: 0\r\n\r\nOK\r\n', [data('+QIRD: 0', ''), line('OK')]);
  });
  it('exactly one CR LF is skipped: the payload may start with CR LF', () => {
    check(quectel, '+QIRD: 4\r\n\r\nab\r\nOK\r\n', [data('+QIRD: 4', '\r\nab'), line('OK')]);
    // A header ended by a bare LF: the payload starts right after it.
    check(quectel, '+QIRD: 2\n\r\nOK\r\n', [data('+QIRD: 2', '\r\n'), line('OK')]);
  });
  it('QIRD counters and UDP SERVICE', () => {
    check(quectel, '+QIRD: 10,5,5\r\nOK\r\n', [line('+QIRD: 10,5,5'), line('OK')]);
    check(quectel, '+QIRD: 2,"1.2.3.4",53\r\nhi\r\nOK\r\n', [data('+QIRD: 2,"1.2.3.4",53', 'hi'), line('OK')]);
    assert.deepEqual(parseQirdHeader('+QIRD: 2,"1.2.3.4",53'), { length: 2, ip: '1.2.3.4', port: 53 });
  });
  it('push mode `+QIURC: "recv",<id>,<len>` counts; buffer mode does not', () => {
    check(() => quectel(true), '\r\n+QIURC: "recv",1,4\r\nOK\r\n\r\n+QIURC: "closed",1\r\n', [
      data('+QIURC: "recv",1,4', 'OK\r\n'),
      line('+QIURC: "closed",1'),
    ]);
    check(quectel, '\r\n+QIURC: "recv",1,4\r\n', [line('+QIURC: "recv",1,4')]);
    assert.deepEqual(parseRecvUrcHeader('+QIURC: "recv",1,4,"1.2.3.4",9'), { id: 1, length: 4, ip: '1.2.3.4', port: 9 });
  });
});

describe('AT tokenizer: bounds', () => {
  it('a line over maxLine is cut into one overflow token; the rest up to CR/LF is dropped', () => {
    const make = (): AtTokenizer => new AtTokenizer({ maxLine: 16 });
    check(make, `${'x'.repeat(40)}\r\nOK\r\n`, [
      { kind: 'overflow', reason: 'line', text: 'x'.repeat(16), length: 17 },
      line('OK'),
    ]);
    check(make, `${'y'.repeat(16)}\r\n`, [line('y'.repeat(16))]);
  });
  it('a count over the maximum is refused: recogniser or tokenizer', () => {
    check(() => new AtTokenizer({ partial: espRecognisers({ maxLength: 10 }) }), '+IPD,0,11:abc\r\n', [line('+IPD,0,11:abc')]);
    check(() => new AtTokenizer({ maxCounted: 10, partial: espRecognisers() }), '+IPD,0,11:abc\r\n', [
      { kind: 'overflow', reason: 'counted', text: '+IPD,0,11:', length: 11 },
      line('abc'),
    ]);
    check(() => new AtTokenizer({ maxCounted: 10, full: [quectelQirdRecogniser()] }), '+QIRD: 11\r\nab\r\n', [
      { kind: 'overflow', reason: 'counted', text: '+QIRD: 11', length: 11 },
      line('ab'),
    ]);
  });
  it('a throwing recogniser means "no header"', () => {
    const t = new AtTokenizer({
      partial: [{ prefix: '+', match: () => { throw new Error('x'); } }],
      full: [{ prefix: '+', match: () => { throw new Error('y'); } }],
    });
    assert.deepEqual(t.push(enc('+A\r\n')), [line('+A')]);
  });
  it('recognisers can be added and removed; reset drops a half payload', () => {
    const t = new AtTokenizer();
    const remove = t.addPartial(espRecognisers()[0]!);
    assert.deepEqual(t.push(enc('+IPD,4:ab')), []);
    assert.equal(t.inPayload(), true);
    t.reset();
    remove();
    assert.deepEqual(t.push(enc('+IPD,4:ab\r\n')), [line('+IPD,4:ab')]);
  });
});
