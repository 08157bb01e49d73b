// MqttPublishTap: PUBLISH packets found in a client-to-broker stream however it is cut, other
// packets skipped, QoS and DUP read, a malformed or oversized length stops the tap without throwing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MqttPublishTap, type TappedPublish } from '../../../../src/apps/demo/mqtt-publish-tap.ts';

const enc = new TextEncoder();

/** A packet: first byte, remaining length as a variable byte integer, body. */
function packet(first: number, body: Uint8Array): Uint8Array {
  const len: number[] = [];
  let n = body.length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  return Uint8Array.from([first, ...len, ...body]);
}

function publish(topic: string, payload: string, qos: 0 | 1, dup = false, id = 7): Uint8Array {
  const t = enc.encode(topic);
  const head = [t.length >> 8, t.length & 255, ...t, ...(qos > 0 ? [id >> 8, id & 255] : [])];
  return packet(0x30 | (dup ? 8 : 0) | (qos << 1), Uint8Array.from([...head, ...enc.encode(payload)]));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('MqttPublishTap', () => {
  const stream = concat(
    packet(0x10, enc.encode('\u0000\u0004MQTT\u0004\u0002\u0000\u003c\u0000\u0001x')), // CONNECT
    publish('iotnet/a/telemetry', '{"seq":1}', 1),
    packet(0xc0, new Uint8Array(0)), // PINGREQ
    publish('iotnet/b/telemetry', 'x'.repeat(300), 0), // two-byte remaining length
    publish('iotnet/a/telemetry', '{"seq":1}', 1, true),
    packet(0x40, Uint8Array.of(0, 9)), // PUBACK
  );
  const expected = [
    { topic: 'iotnet/a/telemetry', payload: '{"seq":1}', qos: 1, dup: false },
    { topic: 'iotnet/b/telemetry', payload: 'x'.repeat(300), qos: 0, dup: false },
    { topic: 'iotnet/a/telemetry', payload: '{"seq":1}', qos: 1, dup: true },
  ];
  const run = (chunks: Uint8Array[]): { got: unknown[]; tap: MqttPublishTap } => {
    const got: unknown[] = [];
    const tap = new MqttPublishTap((p: TappedPublish) => got.push({ topic: p.topic, payload: new TextDecoder().decode(p.payload), qos: p.qos, dup: p.dup }));
    for (const c of chunks) tap.push(c);
    return { got, tap };
  };

  it('in one chunk', () => {
    assert.deepEqual(run([stream]).got, expected);
  });
  it('byte by byte, and in every two-way split', () => {
    assert.deepEqual(run([...stream].map((b) => Uint8Array.of(b))).got, expected);
    for (let cut = 1; cut < stream.length; cut++) assert.deepEqual(run([stream.subarray(0, cut), stream.subarray(cut)]).got, expected, `cut at ${cut}`);
  });
  it('a five-byte remaining length or a packet over the bound stops the tap, without throwing', () => {
    const bad = run([Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff, 0x7f), publish('t', 'p', 0)]);
    assert.deepEqual(bad.got, []);
    assert.equal(bad.tap.following, false);
    const got: string[] = [];
    const small = new MqttPublishTap((p) => got.push(p.topic), 64);
    small.push(publish('big', 'y'.repeat(100), 0));
    small.push(publish('t', 'p', 0));
    assert.deepEqual(got, []);
    assert.equal(small.following, false);
  });
  it('a PUBLISH too short for its topic is skipped', () => {
    const r = run([packet(0x30, Uint8Array.of(0, 50, 65)), publish('ok', 'p', 0)]);
    assert.deepEqual(r.got, [{ topic: 'ok', payload: 'p', qos: 0, dup: false }]);
  });
});
