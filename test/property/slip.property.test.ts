/**
 * SLIP properties: encode-then-decode gives every packet back (3 bytes and more, up to the
 * maximum), however the stream is split; arbitrary streams (packets, noise, bad escapes) decode to
 * the same packets and counters for any split; random bytes never throw and never yield a packet
 * over `maxPacket`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { concatBytes, toHex } from '../../src/wire/bytes.ts';
import { SlipDecoder, SlipEncoder, type SlipDecoderStats } from '../../src/wire/slip.ts';
import { splitAt } from '../support/split-bytes.ts';

const RUNS = { numRuns: 500 };
const octet = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xc0, 0xdb, 0xdc, 0xdd));
const packet = fc.array(octet, { minLength: 3, maxLength: 400 }).map((a) => Uint8Array.from(a));
const cuts = fc.array(fc.nat(), { maxLength: 20 });

function run(chunks: Uint8Array[], maxPacket: number): { packets: string[]; stats: SlipDecoderStats } {
  const packets: string[] = [];
  const dec = new SlipDecoder((p) => packets.push(toHex(p)), { maxPacket });
  for (const c of chunks) dec.push(c);
  return { packets, stats: dec.stats() };
}

describe('SLIP properties', () => {
  it('round trip for any packets and any split', () => {
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 12 }), cuts, (packets, cutList) => {
        const enc = new SlipEncoder();
        const wire = concatBytes(packets.map((p) => enc.encode(p).slice()));
        const { packets: got, stats } = run(splitAt(wire, cutList), 400);
        assert.deepEqual(got, packets.map(toHex));
        assert.equal(stats.badEscapes + stats.runts + stats.oversize, 0);
      }),
      RUNS,
    );
  });

  it('split independence over packets, noise and bad escapes', () => {
    const piece = fc.oneof(
      packet.map((p) => new SlipEncoder().encode(p).slice()),
      fc.array(octet, { maxLength: 30 }).map((a) => Uint8Array.from(a)),
      fc.constantFrom(Uint8Array.of(0xdb, 0x41), Uint8Array.of(0xdb, 0xc0), Uint8Array.of(0xdb, 0xdb), Uint8Array.of(0xc0)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 15 }), fc.integer({ min: 1, max: 500 }), cuts, (pieces, maxPacket, cutList) => {
        const all = concatBytes(pieces);
        const whole = run([all], maxPacket);
        assert.deepEqual(run(splitAt(all, cutList), maxPacket), whole);
        assert.deepEqual(run([...all].map((b) => Uint8Array.of(b)), maxPacket), whole);
      }),
      RUNS,
    );
  });

  it('random bytes never throw; packets never exceed maxPacket', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 2000 }), cuts, (bytes, maxPacket, cutList) => {
        for (const p of run(splitAt(bytes, cutList), maxPacket).packets) assert.ok(p.length / 2 <= maxPacket);
      }),
      RUNS,
    );
  });
});
