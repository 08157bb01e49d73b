import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../../src/wire/bytes.ts';
import { pseudoHeaderSumV4 } from '../../../src/wire/checksum.ts';
import { isFault } from '../../../src/wire/fault.ts';
import {
  TCP_HEADER_LEN,
  TCP_PROTOCOL,
  TcpFlag,
  TcpView,
  checkTcp,
  emitTcp,
  fillTcpChecksum,
  formatTcp,
  formatTcpFlags,
  parseTcp,
  tcpHeaderLen,
  tcpOptionBytes,
  tcpPayload,
  tcpSegmentLen,
  tcpSeqLen,
  verifyTcpChecksum,
} from '../../../src/wire/tcp.ts';
import type { TcpRepr } from '../../../src/wire/tcp.ts';
import {
  NO_TCP_OPTIONS,
  TcpOptionKind,
  formatTcpOptionBytes,
  parseTcpOptions,
  tcpOptionsLen,
} from '../../../src/wire/tcp-options.ts';
import { seqAdd, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqMax, seqMin, seqSub } from '../../../src/wire/tcp-seq.ts';

/*
 * Golden vectors: whole IPv4 packets (20-byte IP header, then the TCP segment), generated with
 * Debian 12's scapy 2.5.0 (python3-scapy, /usr/bin/python3), e.g.
 *
 *   from scapy.all import *
 *   bytes(IP(src="192.0.2.1", dst="198.51.100.2", id=1)/TCP(sport=49152, dport=80, seq=1000,
 *     flags="S", window=65535, options=[("MSS",1460),("SAckOK",b""),("Timestamp",(1,0)),
 *     ("NOP",None),("WScale",7)])).hex()
 *
 * (the parameters of each vector are its Repr below; SACK vectors use options
 * [NOP, NOP, Timestamp, NOP, NOP, SAck(...)] — the layout emitTcp writes). All ten were written
 * to a LINKTYPE_RAW (101) pcap and dissected by tshark 4.0.17 (`tshark -r v.pcap -V
 * -o tcp.check_checksum:TRUE`): 10 × "[Checksum Status: Good]", no malformed packet, every
 * field and option as in the Reprs here (expert info only about the synthetic flow: dup ACK,
 * retransmission, RST). scapy and tshark agree with each other and with this codec.
 */
const V = {
  syn: '4500003c0001000040068e84c0000201c6336402'
    + 'c0000050000003e800000000a002ffff978f0000'
    + '020405b40402080a000000010000000001030307',
  synack: '4500003c0001000040068e84c6336402c0000201'
    + '0050c00000001388000003e9a012fe8885090000'
    + '020405b40402080a000000640000000101030307',
  synEcn: '4500002c0001000040068e94c0000201c6336402'
    + 'c001075bfffffffe0000000060c216d0d09f0000'
    + '02040218',
  ackSack1: '450000400001000040068e80c0000201c6336402'
    + 'c0000050000003e900001389b01001f647860000'
    + '0101080a00000002000000640101050a0000177100001b59',
  ackSack2: '450000480001000040068e78c0000201c6336402'
    + 'c0000050000003e900001389d01001f6e5090000'
    + '0101080a0000000300000065010105120000177100001b5900001f4100002329',
  ackSack3: '450000500001000040068e70c0000201c6336402'
    + 'c0000050000003e900001389f01001f672ed0000'
    + '0101080a00000004000000660101051a0000177100001b5900001f41000023290000271100002af9',
  ackSack4: '4500004c0001000040068e74c0000201c6336402'
    + 'c0000050000003e900001389e01001f68cbd0000'
    + '010105220000177100001b5900001f41000023290000271100002af9fffffed8000000c8',
  data: '450000410001000040068e7fc0000201c6336402'
    + 'c0000050fffffffa00001389801801f669ee0000'
    + '0101080a0000000500000067'
    + '68656c6c6f2c20776f726c640a', // "hello, world\n" (13 bytes: odd length)
  fin: '450000280001000040068e98c6336402c0000201'
    + '0050c00000001389000003f6501101fde9cf0000',
  rst: '450000280001000040068e98c0000201c6336402'
    + 'c0000050000003f60000000050040000ff620000',
} as const;
type Name = keyof typeof V;

const base = { srcPort: 49152, dstPort: 80, ack: 0, urgent: 0, payloadLength: 0 } as const;
const REPR: Record<Name, TcpRepr> = {
  syn: {
    ...base, seq: 1000, flags: TcpFlag.SYN, window: 65535,
    options: { mss: 1460, sackPermitted: true, timestamp: { value: 1, echo: 0 }, windowScale: 7 },
  },
  synack: {
    ...base, srcPort: 80, dstPort: 49152, seq: 5000, ack: 1001, flags: TcpFlag.SYN | TcpFlag.ACK, window: 65160,
    options: { mss: 1460, sackPermitted: true, timestamp: { value: 100, echo: 1 }, windowScale: 7 },
  },
  synEcn: {
    ...base, srcPort: 49153, dstPort: 1883, seq: 0xfffffffe, flags: TcpFlag.SYN | TcpFlag.ECE | TcpFlag.CWR,
    window: 5840, options: { mss: 536 },
  },
  ackSack1: {
    ...base, seq: 1001, ack: 5001, flags: TcpFlag.ACK, window: 502,
    options: { timestamp: { value: 2, echo: 100 }, sack: [[6001, 7001]] },
  },
  ackSack2: {
    ...base, seq: 1001, ack: 5001, flags: TcpFlag.ACK, window: 502,
    options: { timestamp: { value: 3, echo: 101 }, sack: [[6001, 7001], [8001, 9001]] },
  },
  ackSack3: {
    ...base, seq: 1001, ack: 5001, flags: TcpFlag.ACK, window: 502,
    options: { timestamp: { value: 4, echo: 102 }, sack: [[6001, 7001], [8001, 9001], [10001, 11001]] },
  },
  ackSack4: {
    ...base, seq: 1001, ack: 5001, flags: TcpFlag.ACK, window: 502,
    options: { sack: [[6001, 7001], [8001, 9001], [10001, 11001], [4294967000, 200]] },
  },
  data: {
    ...base, seq: 4294967290, ack: 5001, flags: TcpFlag.PSH | TcpFlag.ACK, window: 502,
    options: { timestamp: { value: 5, echo: 103 } }, payloadLength: 13,
  },
  fin: { ...base, srcPort: 80, dstPort: 49152, seq: 5001, ack: 1014, flags: TcpFlag.FIN | TcpFlag.ACK, window: 509, options: {} },
  rst: { ...base, seq: 1014, flags: TcpFlag.RST, window: 0, options: {} },
};

const FORMAT: Record<Name, string> = {
  syn: 'S 1000:1000(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>',
  synack: 'S 5000:5000(0) ack 1001 win 65160 <mss 1460,sackOK,TS val 100 ecr 1,nop,wscale 7>',
  synEcn: 'SWE 4294967294:4294967294(0) win 5840 <mss 536>',
  ackSack1: '. ack 5001 win 502 <nop,nop,TS val 2 ecr 100,nop,nop,sack 1 {6001:7001}>',
  ackSack2: '. ack 5001 win 502 <nop,nop,TS val 3 ecr 101,nop,nop,sack 2 {6001:7001}{8001:9001}>',
  ackSack3: '. ack 5001 win 502 <nop,nop,TS val 4 ecr 102,nop,nop,sack 3 {6001:7001}{8001:9001}{10001:11001}>',
  ackSack4: '. ack 5001 win 502 <nop,nop,sack 4 {6001:7001}{8001:9001}{10001:11001}{4294967000:200}>',
  data: 'P 4294967290:7(13) ack 5001 win 502 <nop,nop,TS val 5 ecr 103>',
  fin: 'F 5001:5001(0) ack 1014 win 509',
  rst: 'R 1014:1014(0) win 0',
};

const NAMES = Object.keys(V) as Name[];
const PAYLOAD = new TextEncoder().encode('hello, world\n');

function hex(h: string): Uint8Array {
  const b = fromHex(h);
  assert.ok(b);
  return b;
}
/** The TCP segment of a golden IPv4 packet, and its pseudo-header sum. */
function vec(name: Name): { seg: Uint8Array; pseudo: number } {
  const ip = hex(V[name]);
  const seg = ip.slice(20);
  return { seg, pseudo: pseudoHeaderSumV4(ip.subarray(12, 16), ip.subarray(16, 20), TCP_PROTOCOL, seg.length) };
}
const SRC = Uint8Array.of(192, 0, 2, 1);
const DST = Uint8Array.of(198, 51, 100, 2);
const pseudoFor = (len: number): number => pseudoHeaderSumV4(SRC, DST, TCP_PROTOCOL, len);

/** A segment with hand-made option bytes (a multiple of 4) and payload, correct checksum. */
function rawSegment(opts: number[], payload: number[] = []): { seg: Uint8Array; pseudo: number } {
  const seg = new Uint8Array(20 + opts.length + payload.length);
  const v = new TcpView(seg);
  v.srcPort = 1234;
  v.dstPort = 80;
  v.seq = 1;
  v.ack = 2;
  v.headerLen = 20 + opts.length;
  v.flags = TcpFlag.ACK;
  v.window = 1000;
  seg.set(opts, 20);
  seg.set(payload, 20 + opts.length);
  const pseudo = pseudoFor(seg.length);
  fillTcpChecksum(seg, pseudo);
  return { seg, pseudo };
}

describe('tcp golden vectors (scapy 2.5.0, confirmed by tshark 4.0.17)', () => {
  it('deconstruct: the view reads every field of the SYN', () => {
    const { seg } = vec('syn');
    assert.equal(checkTcp(seg), undefined);
    const v = new TcpView(seg);
    assert.equal(v.srcPort, 49152);
    assert.equal(v.dstPort, 80);
    assert.equal(v.seq, 1000);
    assert.equal(v.ack, 0);
    assert.equal(v.headerLen, 40);
    assert.equal(v.reserved, 0);
    assert.equal(v.flags, TcpFlag.SYN);
    assert.ok(v.has(TcpFlag.SYN));
    assert.ok(!v.has(TcpFlag.SYN | TcpFlag.ACK));
    assert.equal(v.window, 65535);
    assert.equal(v.checksum, 0x978f);
    assert.equal(v.urgent, 0);
    assert.equal(toHex(v.options), '020405b40402080a000000010000000001030307');
    assert.equal(v.payload.length, 0);
  });

  it('deconstruct: the data segment payload is a subarray aliasing the buffer', () => {
    const { seg } = vec('data');
    const p = tcpPayload(seg);
    assert.deepEqual(p, PAYLOAD);
    assert.equal(p.buffer, seg.buffer);
    assert.equal(p.byteOffset, seg.byteOffset + 32);
    p[0] = 0x48; // writes through
    assert.equal(seg[32], 0x48);
    assert.equal(toHex(tcpOptionBytes(seg)), '0101080a0000000500000067');
    assert.equal(new TcpView(seg).seq, 4294967290);
  });

  it('construct: view setters rebuild the SACK ACK byte for byte', () => {
    const { seg: golden, pseudo } = vec('ackSack1');
    const out = new Uint8Array(golden.length + 8).fill(0xa5);
    const seg = out.subarray(0, golden.length);
    const v = new TcpView(seg);
    v.srcPort = 49152;
    v.dstPort = 80;
    v.seq = 1001;
    v.ack = 5001;
    v.headerLen = 44;
    v.reserved = 0;
    v.flags = TcpFlag.ACK;
    v.window = 502;
    v.urgent = 0;
    seg.set(hex('0101080a00000002000000640101050a0000177100001b59'), 20);
    fillTcpChecksum(seg, pseudo);
    assert.equal(toHex(seg), toHex(golden));
    assert.ok(out.subarray(golden.length).every((b) => b === 0xa5));
  });

  for (const name of NAMES) {
    it(`parse ${name}`, () => {
      const { seg, pseudo } = vec(name);
      assert.ok(verifyTcpChecksum(seg, pseudo));
      assert.deepEqual(parseTcp(seg, pseudo), REPR[name]);
    });

    it(`emit ${name} into a 0xa5-filled buffer: golden bytes, nothing beyond`, () => {
      const { seg: golden, pseudo } = vec(name);
      const repr = REPR[name];
      assert.equal(tcpHeaderLen(repr), new TcpView(golden).headerLen);
      assert.equal(tcpSegmentLen(repr), golden.length);
      const out = new Uint8Array(golden.length + 16).fill(0xa5);
      emitTcp(repr, out, pseudo, repr.payloadLength > 0 ? PAYLOAD : undefined);
      assert.equal(toHex(out.subarray(0, golden.length)), toHex(golden));
      assert.ok(out.subarray(golden.length).every((b) => b === 0xa5), 'bytes beyond the segment untouched');
    });

    it(`format ${name}`, () => {
      assert.equal(formatTcp(REPR[name]), FORMAT[name]);
    });

    it(`${name}: every truncated length is a fault, never a throw`, () => {
      const { seg } = vec(name);
      const hl = new TcpView(seg).headerLen;
      for (let n = 0; n < seg.length; n++) {
        const cut = seg.subarray(0, n);
        const r = parseTcp(cut, pseudoFor(n));
        const want = n < TCP_HEADER_LEN ? 'truncated' : n < hl ? 'bad-length' : 'bad-checksum';
        assert.equal(r, want, `length ${n}`);
        assert.equal(checkTcp(cut), n < hl ? want : undefined, `checkTcp at length ${n}`);
      }
    });

    it(`${name}: a flipped bit anywhere is 'bad-checksum'; offload parses anyway`, () => {
      const { seg, pseudo } = vec(name);
      for (let i = 0; i < seg.length; i++) {
        if (i === 12) continue; // data offset: a length fault instead (covered below)
        const bad = seg.slice();
        bad[i] = (bad[i] ?? 0) ^ (1 << (i % 8));
        assert.equal(parseTcp(bad, pseudo), 'bad-checksum', `byte ${i}`);
      }
      const bad = seg.slice();
      bad[16] = (bad[16] ?? 0) ^ 0xff;
      assert.deepEqual(parseTcp(bad, pseudo, { checksumOffload: true }), REPR[name]);
      assert.equal(parseTcp(seg, pseudo ^ 1), 'bad-checksum', 'wrong pseudo-header');
    });
  }

  it('emit without payload leaves in-place data as the payload (zero copy)', () => {
    const { seg: golden, pseudo } = vec('data');
    const out = new Uint8Array(golden.length + 4).fill(0xa5);
    out.set(PAYLOAD, 32);
    emitTcp(REPR.data, out, pseudo);
    assert.equal(toHex(out.subarray(0, golden.length)), toHex(golden));
    assert.ok(out.subarray(golden.length).every((b) => b === 0xa5));
  });

  it('the SYN matches the brief\'s scapy command exactly (Linux option order)', () => {
    assert.equal(formatTcpOptionBytes(new TcpView(vec('syn').seg).options), 'mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7');
    assert.equal(tcpSeqLen(REPR.syn), 1);
    assert.equal(tcpSeqLen(REPR.data), 13);
    assert.equal(tcpSeqLen(REPR.fin), 1);
    assert.equal(tcpSeqLen(REPR.rst), 0);
  });
});

describe('tcp length faults', () => {
  it('data offset below 5 or beyond the buffer is bad-length', () => {
    const { seg, pseudo } = vec('syn'); // 40-byte header, 40-byte segment
    for (let off = 0; off < 16; off++) {
      const s = seg.slice();
      s[12] = (off << 4) | ((s[12] ?? 0) & 0x0f);
      const want = off < 5 || off > 10 ? 'bad-length' : undefined;
      assert.equal(checkTcp(s), want, `data offset ${off}`);
      if (want !== undefined) assert.equal(parseTcp(s, pseudo), want);
    }
  });

  it('a 20-byte header with data offset 15 and 39 bytes after it is bad-length', () => {
    const s = new Uint8Array(59);
    s[12] = 0xf0;
    assert.equal(checkTcp(s), 'bad-length');
    assert.equal(parseTcp(s, 0, { checksumOffload: true }), 'bad-length');
  });

  it('accessors on garbage never throw', () => {
    for (const len of [0, 1, 5, 13, 19]) {
      const s = new Uint8Array(len).fill(0xff);
      const v = new TcpView(s);
      assert.equal(typeof (v.srcPort + v.seq + v.ack + v.headerLen + v.flags + v.window + v.checksum + v.urgent), 'number');
      assert.ok(v.payload.length <= len);
      assert.ok(v.options.length <= len);
      assert.equal(checkTcp(s), 'truncated');
    }
  });
});

describe('tcp options', () => {
  const parseOpts = (opts: number[]): unknown => {
    const { seg, pseudo } = rawSegment(opts);
    const r = parseTcp(seg, pseudo);
    return isFault(r) ? r : r.options;
  };
  const MALFORMED: [string, number[]][] = [
    ['option length 0', [30, 0, 0, 0]],
    ['option length 1', [30, 1, 0, 0]],
    ['length beyond the header', [30, 6, 0, 0]],
    ['length byte missing at the end', [1, 1, 1, 30]],
    ['MSS length 3', [2, 3, 5, 1]],
    ['MSS length 5', [2, 5, 5, 180, 1, 1, 1, 1]],
    ['MSS beyond the header', [1, 1, 2, 4]],
    ['window scale length 2', [3, 2, 1, 1]],
    ['window scale length 4', [3, 4, 7, 1]],
    ['SACK-permitted length 3', [4, 3, 0, 1]],
    ['SACK length 2 (no blocks)', [5, 2, 1, 1]],
    ['SACK length 9', [5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1]],
    ['SACK length 11', [5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1]],
    ['SACK length 42 (5 blocks) beyond the option space', [1, 1, 5, 42, ...new Array<number>(36).fill(0)]],
    ['timestamps length 8', [8, 8, 0, 0, 0, 1, 0, 0]],
    ['timestamps length 11', [8, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1]],
    ['malformed after a valid MSS', [2, 4, 5, 180, 8, 1, 1, 1]],
  ];
  for (const [what, opts] of MALFORMED) {
    it(`${what} is malformed`, () => {
      assert.equal(opts.length % 4, 0);
      assert.equal(parseOpts(opts), 'malformed');
      assert.doesNotThrow(() => formatTcpOptionBytes(Uint8Array.from(opts)));
      assert.match(formatTcpOptionBytes(Uint8Array.from(opts)), /\[bad opt\]$/);
    });
  }

  it('unknown options are skipped by their length', () => {
    // kind 30 (MPTCP, RFC 8684) len 4, kind 254 (experimental) len 2, then MSS, then kind 99 len 6.
    const opts = [30, 4, 0x10, 0x01, 254, 2, 2, 4, 0x05, 0xb4, 99, 6, 1, 2, 3, 4];
    assert.deepEqual(parseOpts(opts), { mss: 1460 });
    assert.equal(formatTcpOptionBytes(Uint8Array.from(opts)), 'unknown-30 0x1001,unknown-254,mss 1460,unknown-99 0x01020304');
  });

  it('EOL ends the list; bytes after it are ignored', () => {
    assert.deepEqual(parseOpts([2, 4, 0x05, 0xb4, 0, 0xff, 0xff, 0xff]), { mss: 1460 });
    assert.equal(formatTcpOptionBytes(Uint8Array.of(1, 0, 0xff, 0xff)), 'nop,eol');
  });

  it('only NOPs and EOLs: the shared empty options object', () => {
    const { seg, pseudo } = rawSegment([1, 1, 1, 0]);
    const r = parseTcp(seg, pseudo);
    assert.ok(!isFault(r));
    assert.equal(r.options, NO_TCP_OPTIONS);
    assert.ok(Object.isFrozen(NO_TCP_OPTIONS));
  });

  it('window scale above 14 is used as 14 (RFC 7323 §2.3)', () => {
    assert.deepEqual(parseOpts([1, 3, 3, 15]), { windowScale: 14 });
    assert.deepEqual(parseOpts([1, 3, 3, 255]), { windowScale: 14 });
    assert.deepEqual(parseOpts([1, 3, 3, 14]), { windowScale: 14 });
    assert.deepEqual(parseOpts([1, 3, 3, 0]), { windowScale: 0 });
    // emit writes what it is given; the receiver clamps
    const out = new Uint8Array(24);
    const repr: TcpRepr = { ...REPR.rst, options: { windowScale: 15 } };
    emitTcp(repr, out, pseudoFor(24));
    assert.equal(toHex(out.subarray(20)), '0103030f');
    const back = parseTcp(out, pseudoFor(24));
    assert.ok(!isFault(back));
    assert.deepEqual(back.options, { windowScale: 14 });
  });

  it('a duplicated option keeps the last occurrence', () => {
    assert.deepEqual(parseOpts([2, 4, 0, 100, 2, 4, 0, 200]), { mss: 200 });
  });

  it('compact (unaligned) option layouts parse too', () => {
    // MSS, WS, SACKP, TS, SACK(2): 37 bytes + EOL padding = 40 (no NOPs)
    const opts = [2, 4, 5, 180, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8,
      5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0];
    assert.equal(opts.length, 40);
    assert.deepEqual(parseOpts(opts), {
      mss: 1460, windowScale: 7, sackPermitted: true, sack: [[1, 2], [3, 4]], timestamp: { value: 9, echo: 8 },
    });
  });

  it('SACK with 5 blocks is malformed even where it would fit (RFC 2018 §3: at most 4)', () => {
    const five = Uint8Array.from([5, 42, ...new Array<number>(40).fill(1)]);
    assert.equal(parseTcpOptions(five, 0, five.length), 'malformed');
    const four = Uint8Array.from([5, 34, ...new Array<number>(32).fill(1)]);
    assert.deepEqual(parseTcpOptions(four, 0, four.length), { sack: new Array(4).fill([0x01010101, 0x01010101]) });
  });

  it('parseTcpOptions on a bare range allocates nothing', () => {
    assert.equal(parseTcpOptions(new Uint8Array(0), 0, 0), NO_TCP_OPTIONS);
  });

  it('tcpOptionsLen follows the emit layout', () => {
    assert.equal(tcpOptionsLen({}), 0);
    assert.equal(tcpOptionsLen({ sackPermitted: false }), 0);
    assert.equal(tcpOptionsLen({ sackPermitted: true }), 4);
    assert.equal(tcpOptionsLen({ timestamp: { value: 0, echo: 0 } }), 12);
    assert.equal(tcpOptionsLen({ sackPermitted: true, timestamp: { value: 0, echo: 0 } }), 12);
    assert.equal(tcpOptionsLen({ sack: [] }), 0);
    assert.equal(tcpOptionsLen(REPR.syn.options), 20);
    assert.equal(tcpOptionsLen(REPR.ackSack3.options), 40);
  });

  it('SACK-permitted alone emits NOP NOP 04 02; without timestamps', () => {
    const out = new Uint8Array(28).fill(0xa5);
    emitTcp({ ...REPR.syn, options: { mss: 1460, sackPermitted: true } }, out, pseudoFor(28));
    assert.equal(toHex(out.subarray(20)), '020405b401010402');
    const back = parseTcp(out, pseudoFor(28));
    assert.ok(!isFault(back));
    assert.equal(formatTcp(back), 'S 1000:1000(0) win 65535 <mss 1460,nop,nop,sackOK>');
  });

  it('emit refuses options beyond 40 bytes and more than 4 SACK blocks (RangeError)', () => {
    const out = new Uint8Array(100);
    const b: [number, number] = [1, 2];
    assert.throws(() => emitTcp({ ...REPR.ackSack3, options: { ...REPR.ackSack3.options, mss: 1 } }, out, 0), RangeError);
    assert.throws(() => emitTcp({ ...REPR.rst, options: { sack: [b, b, b, b, b] } }, out, 0), RangeError);
    assert.throws(() => emitTcp({ ...REPR.data }, out, 0, new Uint8Array(3)), RangeError);
    assert.throws(() => emitTcp(REPR.syn, new Uint8Array(39), 0), RangeError);
  });

  it('option kinds are the IANA numbers', () => {
    assert.deepEqual(TcpOptionKind, { EOL: 0, NOP: 1, MSS: 2, WINDOW_SCALE: 3, SACK_PERMITTED: 4, SACK: 5, TIMESTAMP: 8 });
  });
});

describe('tcp header details', () => {
  it('reserved bits are ignored on parse and zero on emit (RFC 9293 §3.1)', () => {
    const { seg, pseudo } = vec('fin');
    const s = seg.slice();
    const v = new TcpView(s);
    v.reserved = 0x0f;
    fillTcpChecksum(s, pseudo);
    assert.equal(v.reserved, 0x0f);
    assert.equal(v.headerLen, 20);
    assert.deepEqual(parseTcp(s, pseudo), REPR.fin);
    v.headerLen = 24;
    assert.equal(v.reserved, 0x0f, 'headerLen setter keeps reserved bits');
  });

  it('all eight flags round trip and format', () => {
    const all = 0xff;
    const out = new Uint8Array(20);
    const repr: TcpRepr = { ...REPR.fin, flags: all, urgent: 7 };
    emitTcp(repr, out, pseudoFor(20));
    assert.equal(out[13], 0xff);
    assert.deepEqual(parseTcp(out, pseudoFor(20)), repr);
    assert.equal(formatTcp(repr), 'SFRPWE 5001:5001(0) ack 1014 win 509 urg 7');
    assert.equal(formatTcpFlags(TcpFlag.ACK), '.');
    assert.equal(formatTcpFlags(TcpFlag.URG), '.');
    assert.deepEqual(TcpFlag, { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 });
  });

  it('odd-length payload checksum (data vector) verifies after emit with a fresh buffer', () => {
    const { seg } = vec('data');
    const out = new Uint8Array(seg.length);
    emitTcp(REPR.data, out, pseudoFor(seg.length), PAYLOAD);
    assert.ok(verifyTcpChecksum(out, pseudoFor(seg.length)));
    assert.equal(new TcpView(out).checksum, 0x69ee);
  });
});

describe('tcp sequence arithmetic (RFC 9293 §3.4, modulo 2^32)', () => {
  it('wraps around 2^32', () => {
    assert.equal(seqAdd(0xffffffff, 1), 0);
    assert.equal(seqAdd(0, -1), 0xffffffff);
    assert.equal(seqAdd(4294967290, 13), 7);
    assert.equal(seqSub(0, 0xffffffff), 1);
    assert.equal(seqSub(0xffffffff, 0), -1);
    assert.ok(seqLt(0xffffffff, 0));
    assert.ok(seqGt(0, 0xffffffff));
    assert.ok(seqLe(5, 5) && seqGe(5, 5) && !seqLt(5, 5) && !seqGt(5, 5));
    assert.ok(seqLt(0x7ffffffe, 0xfffffffd) && seqGt(0xffffffff, 0x80000000));
    assert.equal(seqMax(0xfffffff0, 5), 5);
    assert.equal(seqMin(0xfffffff0, 5), 0xfffffff0);
  });

  it('seqInWindow: RCV.NXT =< SEG.SEQ < RCV.NXT + RCV.WND across the wrap', () => {
    const nxt = 0xfffffff0;
    assert.ok(seqInWindow(nxt, nxt, 100));
    assert.ok(seqInWindow(0, nxt, 100));
    assert.ok(seqInWindow(seqAdd(nxt, 99), nxt, 100));
    assert.ok(!seqInWindow(seqAdd(nxt, 100), nxt, 100));
    assert.ok(!seqInWindow(seqAdd(nxt, -1), nxt, 100));
    assert.ok(!seqInWindow(nxt, nxt, 0), 'a zero window holds nothing');
  });
});
