import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { atQuote, fieldInt, parseAtFields, parseAtInfo } from '../../../../src/wire/at/at-params.ts';

const q = (text: string): { text: string; quoted: boolean } => ({ text, quoted: true });
const u = (text: string): { text: string; quoted: boolean } => ({ text, quoted: false });

describe('AT parameters', () => {
  it('atQuote escapes , " \\ (reference §1.6: AT+CWJAP="my\\,ssid","pa\\"ss")', () => {
    assert.equal(atQuote('my,ssid'), '"my\\,ssid"');
    assert.equal(atQuote('pa"ss'), '"pa\\"ss"');
    assert.equal(atQuote('a\\b'), '"a\\\\b"');
    assert.equal(`AT+CWJAP=${atQuote('my,ssid')},${atQuote('pa"ss')}\r\n`, 'AT+CWJAP="my\\,ssid","pa\\"ss"\r\n');
  });
  it('CWLAP entry in parentheses, with quoted MAC holding colons', () => {
    assert.deepEqual(parseAtInfo('+CWLAP:(3,"my,ssid",-60,"aa:bb:cc:dd:ee:ff",6,-1,-1,4,4,7,0)'), {
      name: '+CWLAP',
      fields: [u('3'), q('my,ssid'), u('-60'), q('aa:bb:cc:dd:ee:ff'), u('6'), u('-1'), u('-1'), u('4'), u('4'), u('7'), u('0')],
    });
  });
  it('Quectel URCs with a space after the colon', () => {
    assert.deepEqual(parseAtInfo('+QIURC: "recv",0,5'), { name: '+QIURC', fields: [q('recv'), u('0'), u('5')] });
    assert.deepEqual(parseAtInfo('+CME ERROR: 10'), undefined); // a space in the name: not an info line
    assert.deepEqual(parseAtInfo('+CSQ: 20,99')?.fields.map(fieldInt), [20, 99]);
  });
  it('empty fields are kept; escapes inside quotes are undone; bad ints are undefined', () => {
    assert.deepEqual(parseAtFields('4,,,,,'), [u('4'), u(''), u(''), u(''), u(''), u('')]);
    assert.deepEqual(parseAtFields('"a\\"b\\,c\\\\"'), [q('a"b,c\\')]);
    assert.deepEqual(parseAtFields('"unterminated'), [q('unterminated')]);
    assert.equal(fieldInt(u('12a')), undefined);
    assert.equal(fieldInt(undefined), undefined);
    assert.equal(fieldInt(u('-113')), -113);
  });
  it('no colon, no info', () => {
    assert.equal(parseAtInfo('OK'), undefined);
    assert.deepEqual(parseAtInfo('+CIPSTA:ip:"192.168.3.112"'), { name: '+CIPSTA', fields: [u('ip:"192.168.3.112"')] });
  });
});
