/**
 * RFC 1662 async HDLC-like framing: a hand-checked LCP Configure-Request encoded with the default
 * ACCM (frame bytes as scapy builds them, FCS confirmed by tshark on a PPP_HDLC pcap), escaping
 * under other ACCMs, FCS-32, the shared-flag option, and every decoder rule: hunting, idle flags,
 * aborts, runts, bad FCS, oversize without unbounded buffering, receive-ACCM removal, settings
 * changed from inside the frame callback.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { concatBytes, fromHex, toHex } from '../../../../src/wire/bytes.ts';
import { HdlcDecoder, HdlcEncoder, hdlcEncode, hdlcMaxEncodedLength, withFcs, type HdlcDecoderOptions } from '../../../../src/wire/ppp/hdlc.ts';
import { pcapGlobalHeader, pcapRecord, PcapLinkType } from '../../../../src/link/pcap-writer.ts';
import { skipWithoutTool } from '../../../support/system-tool.ts';

const hex = (s: string): Uint8Array => fromHex(s) as Uint8Array;

/** LCP Configure-Request id 1: MRU 1500, Magic 0x12345678, PFC, ACFC (scapy: HDLC()/PPP()/PPP_LCP_Configure(...)). */
const LCP_CONFREQ = hex('ff03 c021 01 01 0012 010405dc 0506 12345678 0702 0802');
/** Its FCS-16 (0x0971, LSB first; tshark: "FCS 16: 0x0971 [correct]"). */
const LCP_FCS = hex('7109');
/** Default ACCM: every octet < 0x20 and 0x7D/0x7E escaped, the FCS too (0x09 -> 7D 29). */
const LCP_WIRE = hex('7e ff 7d23 c0 21 7d21 7d21 7d20 7d32 7d21 7d24 7d25 dc 7d25 7d26 7d32 345678 7d27 7d22 7d28 7d22 71 7d29 7e');

function decodeAll(input: Uint8Array | Uint8Array[], options: HdlcDecoderOptions = {}): { frames: string[]; dec: HdlcDecoder } {
  const frames: string[] = [];
  const dec = new HdlcDecoder((f) => frames.push(toHex(f)), options);
  for (const chunk of Array.isArray(input) ? input : [input]) dec.push(chunk);
  return { frames, dec };
}

const cat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

describe('HdlcEncoder', () => {
  it('encodes the LCP Configure-Request vector with the default ACCM', () => {
    assert.equal(toHex(withFcs(LCP_CONFREQ).subarray(LCP_CONFREQ.length)), toHex(LCP_FCS));
    assert.equal(toHex(new HdlcEncoder().encode(LCP_CONFREQ)), toHex(LCP_WIRE));
    assert.equal(toHex(hdlcEncode(LCP_CONFREQ)), toHex(LCP_WIRE));
  });

  it('tshark dissects the frame (PPP_HDLC pcap) with a good FCS and nothing malformed', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', 'PPP FCS-16 against the tshark dissector')) return;
    const dir = mkdtempSync(join(tmpdir(), 'iotnet-hdlc-'));
    try {
      const file = join(dir, 'lcp.pcap');
      writeFileSync(file, cat(pcapGlobalHeader(PcapLinkType.PPP_HDLC), pcapRecord(0, withFcs(LCP_CONFREQ)), pcapRecord(1, withFcs(hex('ff03 0021 4500'), 16))));
      const r = spawnSync('tshark', ['-r', file, '-o', 'ppp.fcs_type:16-Bit', '-T', 'fields', '-e', 'ppp.fcs.status', '-e', 'lcp.opt.mru', '-e', 'lcp.opt.magic_number', '-e', '_ws.malformed', '-e', '_ws.expert.severity'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      const [status, mru, magic, malformed] = (lines[0] ?? '').split('\t');
      assert.equal(status, '1', r.stdout);
      assert.equal(mru, '1500');
      assert.equal(magic, '0x12345678');
      assert.equal(malformed, '');
      // The second record (IPv4 fragment) only has to show a good FCS.
      assert.equal((lines[1] ?? '').split('\t')[0], '1', r.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ACCM 0 escapes only 0x7E and 0x7D; a partial ACCM escapes exactly its bits', () => {
    const frame = Uint8Array.of(0x00, 0x11, 0x13, 0x1f, 0x7e, 0x7d, 0x20, 0x5e, 0xff);
    const enc = new HdlcEncoder({ accm: 0 });
    const w0 = enc.encode(frame);
    assert.ok(toHex(w0).startsWith('7e0011131f7d5e7d5d205eff'), toHex(w0));
    enc.accm = 0x000a0000; // XON 0x11 and XOFF 0x13
    const w1 = enc.encode(frame);
    assert.ok(toHex(w1).startsWith('7e007d317d331f7d5e7d5d205eff'), toHex(w1));
    assert.equal(enc.accm, 0x000a0000);
  });

  it('FCS-32 appends four stuffed bytes; openingFlag false omits the first flag', () => {
    const enc = new HdlcEncoder({ fcs: 32, accm: 0 });
    const frame = hex('ff03c021 0901 0008 00000000');
    const w = enc.encode(frame, false);
    assert.notEqual(w[0], 0x7e);
    const { frames, dec } = decodeAll(cat(Uint8Array.of(0x7e), w), { fcs: 32, accm: 0 });
    assert.deepEqual(frames, [toHex(frame)]);
    assert.equal(dec.stats().badFcs, 0);
    assert.equal(enc.fcs, 32);
  });

  it('returns a view into a reused buffer that grows for large frames', () => {
    const enc = new HdlcEncoder();
    const a = enc.encode(Uint8Array.of(1, 2, 3));
    const aCopy = a.slice();
    const b = enc.encode(Uint8Array.of(4, 5, 6));
    assert.equal(a.buffer, b.buffer);
    assert.notDeepEqual([...a], [...aCopy]);
    const big = new Uint8Array(10_000).fill(0x7e);
    const w = enc.encode(big);
    assert.ok(w.length <= hdlcMaxEncodedLength(big.length));
    assert.ok(w.length >= 2 + 20_000 + 2, `${w.length}`);
    const { frames } = decodeAll(w, { maxFrame: 10_000 });
    assert.equal(frames.length, 1);
  });

  it('rejects bad settings', () => {
    assert.throws(() => new HdlcEncoder({ accm: -1 }), RangeError);
    assert.throws(() => new HdlcEncoder({ fcs: 8 as 16 }), RangeError);
    assert.throws(() => new HdlcDecoder(() => {}, { maxFrame: 0 }), RangeError);
  });
});

describe('HdlcDecoder', () => {
  it('decodes the LCP vector, byte by byte too, and strips the FCS', () => {
    const whole = decodeAll(LCP_WIRE);
    assert.deepEqual(whole.frames, [toHex(LCP_CONFREQ)]);
    const bytewise = decodeAll([...LCP_WIRE].map((b) => Uint8Array.of(b)));
    assert.deepEqual(bytewise.frames, whole.frames);
    assert.deepEqual(bytewise.dec.stats(), whole.dec.stats());
    assert.equal(whole.dec.stats().bytes, LCP_CONFREQ.length);
  });

  it('frames are fresh arrays the caller may keep', () => {
    const kept: Uint8Array[] = [];
    const dec = new HdlcDecoder((f) => kept.push(f));
    dec.push(hdlcEncode(Uint8Array.of(1, 2, 3)));
    dec.push(hdlcEncode(Uint8Array.of(4, 5, 6)));
    assert.deepEqual(kept.map((f) => [...f]), [[1, 2, 3], [4, 5, 6]]);
  });

  it('bytes before the first flag are hunted away; idle flags are not frames', () => {
    const noise = hex('434f4e4e4543540d0a'); // CONNECT\r\n
    const { frames, dec } = decodeAll(cat(noise, hex('7e7e7e'), LCP_WIRE, hex('7e7e')));
    assert.deepEqual(frames, [toHex(LCP_CONFREQ)]);
    const s = dec.stats();
    assert.equal(s.huntDiscarded, noise.length);
    assert.equal(s.runts + s.badFcs + s.aborts, 0);
  });

  it('one flag between frames suffices', () => {
    const enc = new HdlcEncoder();
    const a = enc.encode(Uint8Array.of(0xff, 3, 0, 0x21, 1)).slice();
    const b = enc.encode(Uint8Array.of(0xff, 3, 0, 0x21, 2), false).slice();
    assert.deepEqual(decodeAll(cat(a, b)).frames, ['ff03002101', 'ff03002102']);
  });

  it('7D 7E aborts the frame (counted), and the flag opens the next one', () => {
    const good = hdlcEncode(Uint8Array.of(0xc0, 0x21, 9, 9));
    const { frames, dec } = decodeAll(cat(hex('7e ff03c021 7d'), good));
    assert.deepEqual(frames, ['c0210909']);
    assert.equal(dec.stats().aborts, 1);
  });

  it('frames shorter than 4 bytes are runts, not FCS errors; a bad FCS is counted', () => {
    const bad = hdlcEncode(Uint8Array.of(0xff, 3, 0xc0, 0x21, 1, 2));
    bad[3] = (bad[3] as number) ^ 1;
    const { frames, dec } = decodeAll(cat(hex('7e 41 7e 4142 7e 414243 7e'), bad));
    assert.deepEqual(frames, []);
    const s = dec.stats();
    assert.equal(s.runts, 3);
    assert.equal(s.badFcs, 1);
    // FCS-32: fewer than 6 bytes is a runt.
    const d32 = decodeAll(hex('7e 4142434445 7e'), { fcs: 32 }).dec.stats();
    assert.equal(d32.runts, 1);
  });

  it('a 2-byte frame (PFC and ACFC, one information byte) decodes', () => {
    assert.deepEqual(decodeAll(hdlcEncode(Uint8Array.of(0x21, 0x45))).frames, ['2145']);
  });

  it('oversize frames are dropped and counted, memory bounded, next frame fine', () => {
    const dec = new HdlcDecoder(() => {}, { maxFrame: 100 });
    const frames: number[] = [];
    const d2 = new HdlcDecoder((f) => frames.push(f.length), { maxFrame: 100 });
    const big = hdlcEncode(new Uint8Array(101).fill(0x41));
    const exact = hdlcEncode(new Uint8Array(100).fill(0x41));
    d2.push(big);
    d2.push(exact);
    assert.deepEqual(frames, [100]);
    assert.equal(d2.stats().oversize, 1);
    // A megabyte without a flag: counted once, not buffered.
    dec.push(hex('7e'));
    for (let i = 0; i < 16; i++) dec.push(new Uint8Array(65536).fill(0x55));
    assert.equal(dec.stats().oversize, 1);
    dec.push(exact);
    assert.equal(dec.stats().frames, 1);
  });

  it('maxFrame can be raised (MRU negotiated) and lowered at run time', () => {
    const sizes: number[] = [];
    const dec = new HdlcDecoder((f) => sizes.push(f.length), { maxFrame: 64 });
    const f200 = hdlcEncode(new Uint8Array(200).fill(7));
    dec.push(f200);
    dec.maxFrame = 300;
    assert.equal(dec.maxFrame, 300);
    dec.push(f200);
    // Raised while a frame is half in: the bytes so far survive.
    dec.maxFrame = 100;
    dec.push(f200.subarray(0, 50));
    dec.maxFrame = 2000;
    dec.push(f200.subarray(50));
    assert.deepEqual(sizes, [200, 200]);
    assert.equal(dec.stats().oversize, 1);
  });

  it('control octets flagged in the receive ACCM are removed, even after 7D; unflagged ones are data', () => {
    const frame = Uint8Array.of(0xff, 3, 0, 0x21, 0x11, 0x13, 0x41);
    const wire = hdlcEncode(frame, { accm: 0 }); // 11 and 13 sent raw
    // Insert XON/XOFF everywhere: after the flag, in the middle, between an escape and its octet.
    const withEsc = hdlcEncode(Uint8Array.of(0x7e, 0x7d, 1), { accm: 0 });
    const noisy = cat(hex('11'), wire.subarray(0, 3), hex('1311'), wire.subarray(3));
    const rx = decodeAll(noisy, { accm: 0x000a0000 });
    // 11 and 13 inside the frame were sent raw and are flagged: removed, so the FCS fails.
    assert.equal(rx.frames.length, 0);
    assert.equal(rx.dec.stats().badFcs, 1);
    const rx0 = decodeAll(wire, { accm: 0 });
    assert.deepEqual(rx0.frames, [toHex(frame)]);
    const escNoise = cat(withEsc.subarray(0, 2), hex('13'), withEsc.subarray(2));
    assert.equal(toHex(withEsc.subarray(0, 3)), '7e7d5e');
    const rx2 = decodeAll(escNoise, { accm: 0x000a0000 });
    assert.deepEqual(rx2.frames, ['7e7d01']);
    assert.equal(rx2.dec.stats().accmDiscarded, 1);
    // A default-ACCM sender escapes them, so a default-ACCM receiver gets them back.
    const rx3 = decodeAll(cat(hex('7e11'), hdlcEncode(frame).subarray(1)));
    assert.deepEqual(rx3.frames, [toHex(frame)]);
    assert.equal(rx3.dec.stats().accmDiscarded, 1);
  });

  it('7D 7D decodes as 0x5D (the escaped octet XOR 0x20)', () => {
    const body = Uint8Array.of(0x21, 0x5d, 0x5d);
    const w = hdlcEncode(body);
    // Re-escape the first 0x5D as 7D 7D by hand: the wire has 5d raw; build 7e 21 7d7d 5d fcs 7e.
    const hand = cat(hex('7e 21 7d7d 5d'), w.subarray(4));
    assert.deepEqual(decodeAll(hand).frames, ['215d5d']);
  });

  it('FCS mode and ACCM changed from inside the callback apply to the next frame', () => {
    const got: string[] = [];
    const dec: HdlcDecoder = new HdlcDecoder((f) => {
      got.push(toHex(f));
      dec.fcs = 32;
      dec.accm = 0;
    });
    const first = hdlcEncode(Uint8Array.of(0xc0, 0x21, 2, 1));
    const second = hdlcEncode(Uint8Array.of(0x00, 0x21, 0x11, 0x45), { fcs: 32, accm: 0 });
    dec.push(cat(first, second.subarray(1)));
    assert.deepEqual(got, ['c0210201', '00211145']);
    assert.equal(dec.accm, 0);
    assert.equal(dec.fcs, 32);
  });

  it('reset() drops a partial frame and hunts for a flag again', () => {
    const { frames, dec } = decodeAll(hex('7e ff03c021 0101'));
    dec.reset();
    dec.push(hex('ff 03'));
    dec.push(LCP_WIRE);
    assert.deepEqual(frames, [toHex(LCP_CONFREQ)]);
    assert.equal(dec.stats().huntDiscarded, 2);
    assert.equal(dec.stats().badFcs, 0);
  });
});
