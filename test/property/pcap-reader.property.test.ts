/**
 * pcap reader properties: random bytes (with or without a valid global header in front) never
 * throw and give the same records, header, error and leftover however they are split; files
 * written by our own pcap encoders (both byte orders, microsecond and nanosecond magic) read
 * back record for record; a file cut anywhere gives the records before the cut and the rest as
 * truncated bytes. The summary of `iotnet pcap` (PcapSummarizer) never throws on random records
 * of any link type it decodes, counts each record once, and does not depend on the split.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pcapGlobalHeader, pcapRecord } from '../../src/link/pcap-writer.ts';
import { concatBytes, toHex } from '../../src/wire/bytes.ts';
import { PCAP_MAX_RECORD_LEN, PcapReader, readPcap } from '../../src/wire/pcap-reader.ts';
import { PcapSummarizer } from '../../src/apps/pcap-summary/pcap-summary.ts';
import { splitAt } from '../support/split-bytes.ts';

const RUNS = { numRuns: 400 };
const cuts = fc.array(fc.nat(), { maxLength: 20 });

interface Outcome {
  header: string;
  records: string[];
  truncatedBytes: number;
  error: string | undefined;
}

function read(chunks: readonly Uint8Array[]): Outcome {
  const r = new PcapReader();
  const records: string[] = [];
  for (const c of chunks) for (const rec of r.push(c)) records.push(`${rec.timeMs}/${rec.origLen}/${toHex(rec.data)}`);
  const end = r.finish();
  return { header: JSON.stringify(r.header), records, truncatedBytes: end.truncatedBytes, error: end.error };
}

/** A record in either byte order and timestamp precision. */
function record(sec: number, frac: number, data: Uint8Array, origLen: number, le: boolean): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, sec, le);
  v.setUint32(4, frac, le);
  v.setUint32(8, data.length, le);
  v.setUint32(12, origLen, le);
  out.set(data, 16);
  return out;
}

function header(linkType: number, le: boolean, ns: boolean): Uint8Array {
  const out = new Uint8Array(24);
  const v = new DataView(out.buffer);
  v.setUint32(0, ns ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, 65535, le);
  v.setUint32(20, linkType, le);
  return out;
}

const frame = fc.uint8Array({ maxLength: 300 });

describe('pcap reader properties', () => {
  it('random bytes never throw, and any split reads the same', () => {
    const prefix = fc.constantFrom(new Uint8Array(0), pcapGlobalHeader(1), header(101, false, true));
    fc.assert(
      fc.property(prefix, fc.uint8Array({ maxLength: 2000 }), cuts, (p, bytes, cutList) => {
        const all = concatBytes([p, bytes]);
        const whole = read([all]);
        assert.deepEqual(read(splitAt(all, cutList)), whole);
        assert.deepEqual(read([...all].map((b) => Uint8Array.of(b))), whole);
        if (whole.error === undefined) assert.ok(whole.truncatedBytes <= all.length);
      }),
      RUNS,
    );
  });

  it('records from our encoder and hand-made ones in either byte order read back, for any split', () => {
    const rec = fc.record({ sec: fc.integer({ min: 0, max: 2 ** 32 - 1 }), frac: fc.integer({ min: 0, max: 999_999 }), data: frame, extra: fc.nat({ max: 2000 }) });
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 300 }), fc.array(rec, { maxLength: 12 }), cuts, (le, ns, linkType, recs, cutList) => {
        const file = concatBytes([header(linkType, le, ns), ...recs.map((r) => record(r.sec, r.frac, r.data, r.data.length + r.extra, le))]);
        const got = read(splitAt(file, cutList));
        assert.equal(got.error, undefined);
        assert.equal(got.truncatedBytes, 0);
        const h = JSON.parse(got.header) as { linkType: number; bigEndian: boolean; nanoseconds: boolean };
        assert.deepEqual([h.linkType, h.bigEndian, h.nanoseconds], [linkType, !le, ns]);
        assert.deepEqual(got.records, recs.map((r) => `${r.sec * 1000 + (ns ? r.frac / 1e6 : r.frac / 1e3)}/${r.data.length + r.extra}/${toHex(r.data)}`));
      }),
      RUNS,
    );
    // Our own writer (little-endian, microseconds).
    const frames = [Uint8Array.of(1, 2, 3), new Uint8Array(1514).fill(7), new Uint8Array(0)];
    const file = concatBytes([pcapGlobalHeader(230), ...frames.map((f, i) => pcapRecord(1_700_000_000_000 + i * 1.5, f))]);
    const r = readPcap(file);
    assert.equal(r.header?.linkType, 230);
    assert.deepEqual(r.records.map((x) => toHex(x.data)), frames.map(toHex));
    assert.deepEqual(r.records.map((x) => x.timeMs), [1_700_000_000_000, 1_700_000_000_001.5, 1_700_000_000_003]);
  });

  it('a file cut anywhere: the records before the cut, the rest counted as truncated', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 8 }), fc.nat(), (frames, cut) => {
        const parts = [pcapGlobalHeader(1), ...frames.map((f, i) => pcapRecord(i, f))];
        const file = concatBytes(parts);
        const at = cut % (file.length + 1);
        const got = readPcap(file.subarray(0, at));
        let ends = 24;
        let whole = 0;
        for (const p of parts.slice(1)) {
          if (ends + p.length > at) break;
          ends += p.length;
          whole++;
        }
        assert.equal(got.error, undefined);
        assert.equal(got.records.length, at < 24 ? 0 : whole);
        assert.equal(got.truncatedBytes, at < 24 ? at : at - ends);
      }),
      RUNS,
    );
  });

  it('the summariser: random records of every decoded link type never throw; any split summarises the same', () => {
    // Records that often get past the first layer: a plausible header in front of random bytes.
    const heads: Record<number, number[]> = {
      1: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45, 0], 9: [0xff, 0x03, 0x00, 0x21, 0x45, 0], 50: [0xff, 0x03, 0x00, 0x57, 0x60, 0],
      101: [0x60, 0, 0, 0, 0, 8, 17, 64], 195: [0x41, 0xcc], 204: [1, 0xff, 0x03, 0xc0, 0x21], 228: [0x45, 0], 229: [0x60, 0], 230: [0x41, 0xcc, 1, 0xcd, 0xab],
    };
    const linkTypes = [...Object.keys(heads).map(Number), 999];
    const rec = fc.record({ head: fc.boolean(), body: fc.uint8Array({ maxLength: 200 }) });
    fc.assert(
      fc.property(fc.constantFrom(...linkTypes), fc.array(rec, { maxLength: 20 }), cuts, (linkType, recs, cutList) => {
        const file = concatBytes([pcapGlobalHeader(linkType), ...recs.map((r, i) => pcapRecord(i, concatBytes([Uint8Array.from(r.head ? heads[linkType] ?? [] : []), r.body])))]);
        const run = (chunks: Uint8Array[]): string => {
          const sum = new PcapSummarizer();
          for (const c of chunks) sum.push(c);
          return JSON.stringify(sum.summary());
        };
        const whole = run([file]);
        const s = JSON.parse(whole) as { records: number; malformed: number };
        assert.equal(s.records, recs.length);
        assert.ok(s.malformed <= s.records);
        assert.equal(run(splitAt(file, cutList)), whole);
      }),
      RUNS,
    );
  });

  it('junk: not a pcap, pcapng, an impossible record length', () => {
    assert.equal(readPcap(new TextEncoder().encode('hello, world, this is text')).error, 'not-pcap');
    assert.equal(readPcap(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0)).error, 'pcapng');
    const bad = concatBytes([pcapGlobalHeader(1), pcapRecord(0, Uint8Array.of(1)), record(0, 0, new Uint8Array(0), 0, true)]);
    new DataView(bad.buffer).setUint32(24 + 17 + 8, PCAP_MAX_RECORD_LEN + 1, true);
    const r = readPcap(bad);
    assert.equal(r.error, 'bad-record');
    assert.equal(r.records.length, 1);
    assert.equal(readPcap(Uint8Array.of(0xd4, 0xc3)).truncatedBytes, 2);
  });
});
