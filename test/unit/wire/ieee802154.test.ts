/**
 * IEEE 802.15.4 MAC frame codec (src/wire/ieee802154.ts).
 *
 * Oracles:
 * - scapy 2.5 (`scapy.layers.dot15d4.Dot15d4FCS`, run once by hand with /usr/bin/python3; the
 *   hex below is its `raw()` output, FCS included) for 2003/2006 data, ack, beacon and command
 *   frames. scapy 2.5 drops the auxiliary security header and has no 2015 PAN ID table, so the
 *   secured and 2015 vectors are ours;
 * - tshark 4.0, run by the last test on every vector and on 300 seeded random frames (pcap link
 *   type 195, with FCS): the frame type, flags, version, sequence number, PAN IDs, addresses,
 *   security fields, command id, header IE ids, beacon GTS/pending fields and "FCS Valid" it
 *   dissects must be ours, with no malformed packet. Skipped loudly without tshark.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { concatBytes, fromHex, toHex } from '../../../src/wire/bytes.ts';
import { isFault } from '../../../src/wire/fault.ts';
import {
  MAC_HT1,
  MAC_HT2,
  MAX_PHY_PACKET,
  MacCommand,
  buildImmAck,
  buildMacFrame,
  emitMacFrame,
  macFcs,
  macFrame,
  macFrameOverhead,
  macHeaderLength,
  macMaxPayload,
  macPanPresence,
  parseMacFrame,
  type MacAddress,
  type MacFrame,
  type MacFrameVersion,
} from '../../../src/wire/ieee802154.ts';
import { PcapLinkType, pcapGlobalHeader, pcapRecord } from '../../../src/link/pcap-writer.ts';
import { macFrameArb } from '../../support/ieee802154-arb.ts';
import { skipWithoutTool } from '../../support/system-tool.ts';

const hex = (s: string): Uint8Array => fromHex(s) ?? assert.fail(`bad hex ${s}`);
const short = (value: number): MacAddress => ({ mode: 'short', value });
const ext = (s: string): MacAddress => ({ mode: 'extended', value: hex(s) });
const empty = new Uint8Array(0);

function parsed(bytes: Uint8Array, fcs = true): MacFrame {
  const f = parseMacFrame(bytes, { fcs });
  if (isFault(f)) assert.fail(`parse fault ${f} on ${toHex(bytes)}`);
  return f;
}

/** Frames built from scapy 2.5 (see the header). */
const SCAPY = {
  dataShortPanc: '619842cdab3412785668656c6c6f268c',
  dataExt2003: '01cc07111177665544332211002222ffeeddccbbaa998841602724',
  ack: '020042aed4',
  beacon: '008001efbe0100ffcf80006270084b',
  dataRequest: '63c809cdab0000080706050403020104f9fd',
};

/** Hand-made frames: every 2015 Table 7-2 row, IEs, security, beacon fields; tshark checks them below. */
function vectors(): MacFrame[] {
  const out: MacFrame[] = [];
  const modes = [undefined, short(0x1234), ext('0011223344556677')] as const;
  const srcModes = [undefined, short(0xbeef), ext('a0a1a2a3a4a5a6a7')] as const;
  for (const version of [1, 2] as MacFrameVersion[]) {
    for (const d of modes) {
      for (const s of srcModes) {
        for (const panc of [false, true]) {
          const p = macPanPresence(version, d?.mode ?? 'none', s?.mode ?? 'none', panc);
          if (p === undefined) continue;
          const dstPan = p.dstPan ? 0xabcd : undefined;
          out.push(
            macFrame('data', {
              version,
              seq: 0x21,
              ackRequest: d !== undefined,
              panIdCompression: panc,
              dst: { pan: dstPan, addr: d },
              src: { pan: p.srcPan ? 0x4321 : p.srcPanIsDstPan ? dstPan : undefined, addr: s },
              payload: Uint8Array.of(0x00, 0x01, 0x02),
            }),
          );
        }
      }
    }
  }
  const sec = { level: 5, keyIdMode: 1 as const, frameCounterSuppressed: false, asnInNonce: false, frameCounter: 0x01020304, keySource: undefined, keyIndex: 7 };
  out.push(
    macFrame('data', {
      seq: 0x10,
      panIdCompression: true,
      dst: { pan: 0x1234, addr: short(0xffff) },
      src: { pan: 0x1234, addr: ext('0011223344556677') },
      security: sec,
      payload: hex('aabbcc 01020304'),
    }),
    macFrame('command', {
      seq: 3,
      ackRequest: true,
      dst: { pan: 0x0777, addr: short(0) },
      src: { pan: 0xffff, addr: ext('0102030405060708') },
      commandId: MacCommand.ASSOCIATION_REQUEST,
      payload: Uint8Array.of(0x8e),
    }),
    macFrame('command', { seq: 4, dst: { pan: 0xffff, addr: short(0xffff) }, commandId: MacCommand.BEACON_REQUEST }),
    macFrame('beacon', {
      seq: 200,
      src: { pan: 0x0777, addr: ext('0102030405060708') },
      beacon: {
        superframe: { beaconOrder: 6, superframeOrder: 5, finalCapSlot: 9, batteryLifeExtension: true, panCoordinator: false, associationPermit: true },
        gtsPermit: true,
        gtsDirections: 0x02,
        gts: [
          { shortAddr: 0x1111, startSlot: 10, length: 2 },
          { shortAddr: 0x2222, startSlot: 12, length: 3 },
        ],
        pendingShort: [0x3333],
        pendingExtended: [hex('a1a2a3a4a5a6a7a8')],
      },
      payload: Uint8Array.of(0x00),
    }),
    // 2015 Enhanced Beacon: HT1, then a payload termination IE, then the beacon payload.
    macFrame('beacon', {
      version: 2,
      seq: undefined,
      src: { pan: 0xabcd, addr: ext('0011223344556677') },
      headerIes: [{ id: MAC_HT1, content: empty }],
      payloadIes: [{ groupId: 0xf, content: empty }],
      payload: Uint8Array.of(0x55),
    }),
    // 2015 Enh-Ack with a header IE, secured with a suppressed frame counter.
    macFrame('ack', {
      version: 2,
      seq: 0x99,
      panIdCompression: true,
      dst: { pan: undefined, addr: ext('0011223344556677') },
      security: { level: 1, keyIdMode: 2, frameCounterSuppressed: true, asnInNonce: true, frameCounter: undefined, keySource: hex('01020304'), keyIndex: 1 },
      headerIes: [{ id: 0x7f, content: empty }],
      payload: hex('deadbeef'),
    }),
    // 2015 command behind HT2, 8-byte key source.
    macFrame('command', {
      version: 2,
      seq: 1,
      dst: { pan: 0x1234, addr: short(0x0001) },
      src: { pan: 0x1234, addr: short(0x0002) },
      headerIes: [{ id: MAC_HT2, content: empty }],
      commandId: MacCommand.DATA_REQUEST,
    }),
  );
  return out;
}

describe('IEEE 802.15.4 FCS', () => {
  it('is CRC-16/KERMIT: "123456789" gives 0x2189, sent LSB first', () => {
    assert.equal(macFcs(new TextEncoder().encode('123456789')), 0x2189);
    assert.deepEqual(buildImmAck(0x42), hex(SCAPY.ack));
  });
});

describe('IEEE 802.15.4 frames from scapy', () => {
  it('data, short addresses, PAN ID compression (2006)', () => {
    const f = parsed(hex(SCAPY.dataShortPanc));
    assert.equal(f.type, 'data');
    assert.equal(f.version, 1);
    assert.equal(f.ackRequest, true);
    assert.equal(f.panIdCompression, true);
    assert.equal(f.seq, 0x42);
    assert.deepEqual(f.dst, { pan: 0xabcd, addr: short(0x1234) });
    assert.deepEqual(f.src, { pan: 0xabcd, addr: short(0x5678) }, 'the elided source PAN is the destination PAN');
    assert.deepEqual(f.payload, new TextEncoder().encode('hello'));
    assert.deepEqual(buildMacFrame(f, { fcs: true }), hex(SCAPY.dataShortPanc));
  });

  it('data, extended addresses in EUI-64 order, both PANs (2003)', () => {
    const f = parsed(hex(SCAPY.dataExt2003));
    assert.equal(f.version, 0);
    assert.deepEqual(f.dst, { pan: 0x1111, addr: ext('0011223344556677') });
    assert.deepEqual(f.src, { pan: 0x2222, addr: ext('8899aabbccddeeff') });
    assert.deepEqual(f.payload, Uint8Array.of(0x41, 0x60));
    assert.deepEqual(buildMacFrame(f, { fcs: true }), hex(SCAPY.dataExt2003));
  });

  it('imm-ack: 5 bytes, no addresses; frame pending', () => {
    const f = parsed(hex(SCAPY.ack));
    assert.deepEqual(f, macFrame('ack', { version: 0, seq: 0x42 }));
    assert.equal(macFrameOverhead(f, { fcs: true }), 5);
    const pending = buildImmAck(7, { framePending: true });
    assert.equal(pending.length, 5);
    assert.equal(parsed(pending).framePending, true);
    assert.deepEqual(buildImmAck(7, { fcs: false }), Uint8Array.of(0x02, 0x00, 0x07));
  });

  it('beacon: superframe spec, empty GTS and pending lists', () => {
    const f = parsed(hex(SCAPY.beacon));
    assert.equal(f.type, 'beacon');
    assert.deepEqual(f.src, { pan: 0xbeef, addr: short(0x0001) });
    assert.equal(f.dst.addr, undefined);
    assert.deepEqual(f.beacon?.superframe, { beaconOrder: 15, superframeOrder: 15, finalCapSlot: 15, batteryLifeExtension: false, panCoordinator: true, associationPermit: true });
    assert.equal(f.beacon?.gtsPermit, true);
    assert.deepEqual(f.payload, Uint8Array.of(0x62, 0x70));
    assert.deepEqual(buildMacFrame(f, { fcs: true }), hex(SCAPY.beacon));
  });

  it('command: data request with the command id', () => {
    const f = parsed(hex(SCAPY.dataRequest));
    assert.equal(f.type, 'command');
    assert.equal(f.commandId, MacCommand.DATA_REQUEST);
    assert.deepEqual(f.src, { pan: 0xabcd, addr: ext('0102030405060708') });
    assert.equal(f.payload.length, 0);
    assert.deepEqual(buildMacFrame(f, { fcs: true }), hex(SCAPY.dataRequest));
  });
});

describe('IEEE 802.15.4 hand-built frames', () => {
  it('every vector round-trips, with and without FCS, through emit into a larger buffer', () => {
    for (const v of vectors()) {
      for (const fcs of [false, true]) {
        const bytes = buildMacFrame(v, { fcs });
        assert.deepEqual(parseMacFrame(bytes, { fcs }), v, toHex(bytes));
        const big = new Uint8Array(200).fill(0xee);
        assert.equal(emitMacFrame(v, big, { fcs }), bytes.length);
        assert.deepEqual(big.subarray(0, bytes.length), bytes);
      }
    }
  });

  it('the secured data frame: aux header, payload = ciphertext + MIC', () => {
    const bytes = buildMacFrame(vectors().find((v) => v.security?.level === 5) ?? assert.fail('no vector'), { fcs: false });
    assert.equal(toHex(bytes), '49d8103412ffff7766554433221100' + '0d0403020107' + 'aabbcc01020304');
    // A MIC-32 frame with 3 payload bytes is too short.
    assert.equal(parseMacFrame(bytes.subarray(0, bytes.length - 4), { fcs: false }), 'truncated');
  });

  it('2015 PAN ID compression follows Table 7-2', () => {
    const row = (d: 'none' | 'short' | 'extended', s: 'none' | 'short' | 'extended', c: boolean): string => {
      const p = macPanPresence(2, d, s, c);
      return p === undefined ? 'invalid' : `${p.dstPan ? 'D' : '-'}${p.srcPan ? 'S' : '-'}`;
    };
    assert.equal(row('none', 'none', false), '--');
    assert.equal(row('none', 'none', true), 'D-');
    assert.equal(row('short', 'none', false), 'D-');
    assert.equal(row('extended', 'none', true), '--');
    assert.equal(row('none', 'short', false), '-S');
    assert.equal(row('none', 'extended', true), '--');
    assert.equal(row('extended', 'extended', false), 'D-');
    assert.equal(row('extended', 'extended', true), '--');
    assert.equal(row('short', 'short', false), 'DS');
    assert.equal(row('short', 'extended', false), 'DS');
    assert.equal(row('extended', 'short', false), 'DS');
    assert.equal(row('short', 'extended', true), 'D-');
    assert.equal(row('extended', 'short', true), 'D-');
    assert.equal(row('short', 'short', true), 'D-');
    assert.equal(macPanPresence(1, 'short', 'none', true), undefined, '2006: compression needs both addresses');
  });

  it('header length and payload budget for the usual 6LoWPAN data frame', () => {
    const f = macFrame('data', { panIdCompression: true, dst: { pan: 0xabcd, addr: ext('0011223344556677') }, src: { pan: 0xabcd, addr: ext('8899aabbccddeeff') } });
    assert.equal(macHeaderLength(f), 2 + 1 + 2 + 8 + 8);
    assert.equal(macMaxPayload(f), MAX_PHY_PACKET - 21 - 2);
    const s = macFrame('data', { panIdCompression: true, dst: { pan: 1, addr: short(1) }, src: { pan: 1, addr: short(2) } });
    assert.equal(macMaxPayload(s), 127 - 9 - 2);
    const secured = { ...s, security: { level: 6, keyIdMode: 1 as const, frameCounterSuppressed: false, asnInNonce: false, frameCounter: 0, keySource: undefined, keyIndex: 1 } };
    assert.equal(macMaxPayload(secured), 127 - 9 - 6 - 2 - 8);
  });
});

describe('IEEE 802.15.4 faults', () => {
  it('every proper prefix of a valid frame is a fault, never an exception', () => {
    for (const v of vectors()) {
      const bytes = buildMacFrame(v, { fcs: false });
      for (let n = 0; n < bytes.length; n++) {
        const r = parseMacFrame(bytes.subarray(0, n), { fcs: false });
        assert.ok(isFault(r) || r.payload.length < v.payload.length || r.payload.length === 0, `${toHex(bytes)} cut at ${n}`);
      }
    }
  });

  it('bad FCS, reserved types and versions, reserved modes and bits', () => {
    const good = hex(SCAPY.dataShortPanc);
    const bad = good.slice();
    bad[0] = (bad[0] ?? 0) ^ 0x20;
    assert.equal(parseMacFrame(bad, { fcs: true }), 'bad-checksum');
    assert.equal(parseMacFrame(Uint8Array.of(0x02, 0x00), { fcs: true }), 'truncated');
    assert.equal(parseMacFrame(Uint8Array.of(0x02), { fcs: false }), 'truncated');
    assert.equal(parseMacFrame(Uint8Array.of(0x05, 0x20, 0x00), { fcs: false }), 'unsupported', 'multipurpose frame type');
    assert.equal(parseMacFrame(Uint8Array.of(0x02, 0x30, 0x00), { fcs: false }), 'unsupported', 'frame version 3');
    assert.equal(parseMacFrame(Uint8Array.of(0x01, 0x04, 0x00, 0, 0, 0), { fcs: false }), 'malformed', 'addressing mode 1');
    assert.equal(parseMacFrame(Uint8Array.of(0x82, 0x00, 0x00), { fcs: false }), 'malformed', 'reserved bit 7');
    assert.equal(parseMacFrame(Uint8Array.of(0x02, 0x11), { fcs: false }), 'malformed', 'sequence number suppression in 2006');
    assert.equal(parseMacFrame(Uint8Array.of(0x41, 0x18, 0x00, 0x34, 0x12, 0xff, 0xff), { fcs: false }), 'malformed', '2006 compression with one address');
    assert.equal(parseMacFrame(Uint8Array.of(0x09, 0x00, 0x00, 0x00), { fcs: false }), 'unsupported', '2003 security');
    assert.equal(parseMacFrame(Uint8Array.of(0x09, 0x10, 0x00, 0x20, 0, 0, 0, 0), { fcs: false }), 'malformed', '2015 security bits in 2006');
  });

  it('builders reject impossible reprs with RangeError', () => {
    assert.throws(() => buildMacFrame(macFrame('data', { dst: { pan: undefined, addr: short(1) } })), RangeError);
    assert.throws(() => buildMacFrame(macFrame('data', { seq: undefined })), RangeError);
    assert.throws(() => buildMacFrame(macFrame('command')), RangeError);
    assert.throws(() => buildMacFrame(macFrame('beacon')), RangeError);
    assert.throws(() => buildMacFrame(macFrame('data', { dst: { pan: 1, addr: ext('0011') } })), RangeError);
    assert.throws(() => buildMacFrame(macFrame('data', { version: 2, headerIes: [{ id: 1, content: empty }], payload: Uint8Array.of(1) })), RangeError, 'unterminated IEs before a payload');
    assert.throws(() => emitMacFrame(macFrame('ack'), new Uint8Array(2)), RangeError);
  });
});

/** What tshark should print for `f` in the fields of `TSHARK_FIELDS`. */
function expectedFields(f: MacFrame): string[] {
  const h = (v: number | undefined, w = 4): string => (v === undefined ? '' : `0x${v.toString(16).padStart(w, '0')}`);
  const b = (x: boolean): string => (x ? '1' : '0');
  const eui = (a: Uint8Array): string => [...a].map((x) => x.toString(16).padStart(2, '0')).join(':');
  const a16 = (a: MacAddress | undefined): string => (a?.mode === 'short' ? h(a.value) : '');
  const a64 = (a: MacAddress | undefined): string => (a?.mode === 'extended' ? eui(a.value) : '');
  const p = macPanPresence(f.version, f.dst.addr?.mode ?? 'none', f.src.addr?.mode ?? 'none', f.panIdCompression);
  const s = f.security;
  return [
    h(['beacon', 'data', 'ack', 'command'].indexOf(f.type)),
    String(f.version),
    b(s !== undefined),
    b(f.framePending),
    b(f.ackRequest),
    b(f.panIdCompression),
    f.seq === undefined ? '' : String(f.seq),
    p?.dstPan === true ? h(f.dst.pan) : '',
    a16(f.dst.addr),
    a64(f.dst.addr),
    p?.srcPan === true ? h(f.src.pan) : '',
    a16(f.src.addr),
    a64(f.src.addr),
    '1',
    s === undefined ? '' : h(s.level, 2),
    s === undefined ? '' : h(s.keyIdMode, 2),
    s?.frameCounter === undefined ? '' : String(s.frameCounter),
    s?.keyIndex === undefined ? '' : h(s.keyIndex, 2),
    h(f.commandId, 2),
    (f.headerIes ?? []).map((ie) => h(ie.id)).join(','),
    f.beacon === undefined ? '' : String(f.beacon.superframe.beaconOrder),
    f.beacon === undefined ? '' : String(f.beacon.gts.length),
    (f.beacon?.gts ?? []).map((g) => h(g.shortAddr)).join(','),
    (f.beacon?.pendingShort ?? []).map((a) => h(a)).join(','),
    (f.beacon?.pendingExtended ?? []).map(eui).join(','),
  ];
}

const TSHARK_FIELDS = [
  'wpan.frame_type', 'wpan.version', 'wpan.security', 'wpan.pending', 'wpan.ack_request', 'wpan.pan_id_compression', 'wpan.seq_no',
  'wpan.dst_pan', 'wpan.dst16', 'wpan.dst64', 'wpan.src_pan', 'wpan.src16', 'wpan.src64', 'wpan.fcs_ok',
  'wpan.aux_sec.sec_level', 'wpan.aux_sec.key_id_mode', 'wpan.aux_sec.frame_counter', 'wpan.aux_sec.key_index', 'wpan.cmd',
  'wpan.header_ie.id', 'wpan.beacon_order', 'wpan.gts.count', 'wpan.gts.address', 'wpan.pending16', 'wpan.pending64',
];

describe('IEEE 802.15.4 against tshark', () => {
  it('tshark dissects our frames (link type 195) as we parse them, FCS valid, nothing malformed', (t) => {
    if (skipWithoutTool(t, 'tshark', 'tshark', 'IEEE 802.15.4 frames against the Wireshark dissector')) return;
    const curated = [...Object.values(SCAPY).map((s) => parsed(hex(s))), ...vectors()];
    // Wireshark checks the addressing and content of the commands it knows: random frames use unassigned ids.
    const random = fc.sample(macFrameArb, { numRuns: 300, seed: 802154 }).map((f) => (f.commandId === undefined ? f : { ...f, commandId: 0xb0 + (f.commandId % 0x40) }));
    const frames = [...curated, ...random];
    const dir = mkdtempSync(join(tmpdir(), 'wpan-'));
    try {
      const file = join(dir, 'wpan.pcap');
      writeFileSync(file, concatBytes([pcapGlobalHeader(PcapLinkType.IEEE802_15_4_WITHFCS), ...frames.map((f, i) => pcapRecord(i, buildMacFrame(f, { fcs: true })))]));
      // Upper-layer heuristics (6LoWPAN, ZigBee, Thread) would dissect the random payloads: off.
      const off = ['6lowpan', 'zbee_nwk', 'zbee_nwk_gp', 'zbee_beacon', 'zbip_beacon', 'thread_bcn', 'lwm'].flatMap((p) => ['--disable-protocol', p]);
      const fields = ['-e', '_ws.malformed', ...TSHARK_FIELDS.flatMap((x) => ['-e', x])];
      const r = spawnSync('tshark', ['-n', '-r', file, ...off, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, frames.length);
      lines.forEach((line, i) => {
        const f = frames[i] ?? assert.fail('frame count');
        const [malformed, ...got] = line.split('\t');
        const what = `frame ${i + 1} (${i < curated.length ? 'curated' : 'random'}) ${toHex(buildMacFrame(f, { fcs: true }))}`;
        assert.equal(malformed, '', `${what}: malformed`);
        assert.deepEqual(Object.fromEntries(TSHARK_FIELDS.map((k, j) => [k, got[j] ?? ''])), Object.fromEntries(TSHARK_FIELDS.map((k, j) => [k, expectedFields(f)[j]])), what);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
