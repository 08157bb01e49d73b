/**
 * The DNS pieces below the resolver: the defensive codec boundary, host-name rules,
 * server-address parsing and the answer cache.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { DnsCache } from '../../../src/backends/dns/dns-cache.ts';
import { checkDnsStructure, decodeDnsMessage, encodeDnsMessage, ttlOf } from '../../../src/backends/dns/dns-codec.ts';
import { canonicalName, checkHostName, isInZone, sameName } from '../../../src/backends/dns/dns-name.ts';
import { parseDnsServer, parseDnsServers } from '../../../src/backends/dns/dns-servers.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';

function response(): Uint8Array {
  return new Uint8Array(dnsPacket.encode({
    type: 'response',
    id: 0x1234,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: 'host.example.test' }],
    answers: [
      { type: 'CNAME', name: 'host.example.test', ttl: 60, data: 'real.example.test' },
      { type: 'A', name: 'real.example.test', ttl: 60, data: '10.0.0.1' },
      { type: 'AAAA', name: 'real.example.test', ttl: 60, data: 'fd00::1' },
    ],
    authorities: [{ type: 'SOA', name: 'example.test', ttl: 60, data: { mname: 'ns.example.test', rname: 'h.example.test', minimum: 5 } }],
  }));
}

describe('DNS codec boundary', () => {
  it('decodes a sound message; encodes ours', () => {
    const m = decodeDnsMessage(response());
    assert.ok(m !== undefined);
    assert.equal(m.id, 0x1234);
    assert.equal(m.answers?.length, 3);
    const q = encodeDnsMessage({ type: 'query', id: 7, questions: [{ type: 'AAAA', name: 'x.test' }] });
    assert.ok(q instanceof Uint8Array);
    assert.equal(decodeDnsMessage(q)?.questions?.[0]?.type, 'AAAA');
  });

  it('rejects truncations, forward and looping compression pointers, wrong A/AAAA sizes', () => {
    const good = response();
    for (let n = 0; n < good.length; n++) assert.equal(decodeDnsMessage(good.subarray(0, n)), undefined, `cut at ${n}`);
    // Header + question whose name is a pointer to itself (offset 12).
    const self = Uint8Array.of(0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1);
    assert.equal(checkDnsStructure(self), false);
    const forward = Uint8Array.of(0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0, 0, 1, 0, 1);
    assert.equal(decodeDnsMessage(forward), undefined);
    // An A record with RDLENGTH 5.
    const badA = Uint8Array.of(0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 5, 1, 2, 3, 4, 5);
    assert.equal(decodeDnsMessage(badA), undefined);
    // A label type 0x40 (obsolete extended label).
    const ext = Uint8Array.of(0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0x61, 0, 0, 1, 0, 1);
    assert.equal(decodeDnsMessage(ext), undefined);
  });

  it('never throws: 20,000 random and mutated messages', () => {
    const rng = new XorShiftRng(2024);
    const good = response();
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      let b: Uint8Array;
      if (i % 2 === 0) {
        b = new Uint8Array(rng.nextU32() % 300);
        for (let k = 0; k < b.length; k++) b[k] = rng.nextU32() & 0xff;
      } else {
        b = good.slice(0, good.length - (rng.nextU32() % 8));
        for (let k = 1 + (rng.nextU32() % 4); k > 0; k--) b[rng.nextU32() % b.length] = rng.nextU32() & 0xff;
      }
      if (decodeDnsMessage(b) !== undefined) decoded++;
    }
    assert.ok(decoded > 0, 'some mutations still decode');
  });

  it('TTL: top bit set reads as 0 (RFC 2181 §8)', () => {
    assert.equal(ttlOf(0x8000_0000), 0);
    assert.equal(ttlOf(undefined), 0);
    assert.equal(ttlOf(300), 300);
  });
});

describe('DNS names', () => {
  it('host-name rules and comparison form', () => {
    assert.equal(checkHostName('Broker.Example.'), 'broker.example');
    assert.equal(checkHostName('_mqtt._tcp.local'), '_mqtt._tcp.local');
    for (const bad of ['', '.', '..', 'a..b', '.a', `${'a'.repeat(64)}`, 'a b', 'ü.de', 'a\\065', 'tab\t.x', `${'a.'.repeat(127)}a`]) {
      assert.equal(checkHostName(bad), undefined, JSON.stringify(bad));
    }
    assert.equal(checkHostName(`${'a.'.repeat(126)}a`)?.length, 253);
    assert.ok(sameName('A.B.', 'a.b'));
    assert.ok(!sameName('a.b', 'a.c'));
    assert.equal(canonicalName('ÄB.Test'), 'Äb.test', 'ASCII folding only');
    assert.ok(isInZone('a.iot.test', 'iot.test'));
    assert.ok(isInZone('iot.test', 'iot.test'));
    assert.ok(!isInZone('xiot.test', 'iot.test'));
  });
});

describe('DNS server addresses', () => {
  it('parses address[:port], [v6][:port], bytes; rejects the rest', () => {
    assert.equal(parseDnsServer('10.0.0.1')?.text, '10.0.0.1:53');
    assert.equal(parseDnsServer(' 10.0.0.1:5353 ')?.port, 5353);
    assert.equal(parseDnsServer('fd00::1')?.text, '[fd00::1]:53');
    assert.equal(parseDnsServer('[fd00::1]:5353')?.text, '[fd00::1]:5353');
    assert.equal(parseDnsServer(Uint8Array.of(192, 0, 2, 1))?.text, '192.0.2.1:53');
    for (const bad of ['', 'dns.example', '10.0.0.1:0', '10.0.0.1:65536', '10.0.0.1:x', '0.0.0.0', '224.0.0.251', '[fd00::1', '[fd00::1]x', '01.2.3.4']) {
      assert.equal(parseDnsServer(bad), undefined, bad);
    }
    assert.equal(parseDnsServer(new Uint8Array(5)), undefined);
    assert.throws(() => parseDnsServers(['10.0.0.1', 'nope']), /DNS server 1: "nope"/);
  });
});

describe('DNS cache', () => {
  it('expiry, LRU eviction, expired entries evicted first, size 0 keeps nothing', () => {
    const c = new DnsCache(2);
    const e = (exp: number) => ({ addresses: [Uint8Array.of(1, 2, 3, 4)], code: 0, canonicalName: 'x', expiresAt: exp });
    c.set('a', e(100), 0);
    c.set('b', e(1000), 0);
    assert.ok(c.get('a', 50));
    c.set('c', e(1000), 60); // evicts b (a was used more recently)
    assert.equal(c.get('b', 60), undefined);
    assert.ok(c.get('a', 60));
    assert.equal(c.get('a', 100), undefined, 'expired at its deadline');
    c.set('d', e(50), 60);
    assert.equal(c.size, 1, 'already expired: not stored');
    c.set('e', e(200), 60);
    c.set('f', e(300), 150); // c is live, e live: evicts the least recently used (c)
    assert.equal(c.size, 2);
    const none = new DnsCache(0);
    none.set('a', e(100), 0);
    assert.equal(none.size, 0);
  });
});
