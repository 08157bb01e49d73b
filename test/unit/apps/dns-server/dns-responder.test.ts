/**
 * The DNS server's answer logic, without sockets: zones, CNAME chains, wildcards,
 * negative answers with SOA, REFUSED, truncation, EDNS, malformed queries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet } from 'dns-packet';
import { DnsResponder } from '../../../../src/apps/dns-server/dns-responder.ts';
import { DnsZone } from '../../../../src/apps/dns-server/dns-zone.ts';
import { XorShiftRng } from '../../../../src/base/rand.ts';

/** The RCODE name of a decoded message. */
const rc = (m: DecodedPacket | undefined): string => ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'][(m?.flags ?? 0) & 0xf] ?? 'OTHER';

const zone = new DnsZone({
  origin: 'iot.test',
  ttl: 120,
  soa: { minimum: 30 },
  records: [
    { name: 'broker', type: 'A', data: '10.0.0.1' },
    { name: 'Broker.iot.test', type: 'AAAA', data: 'fd00::1', ttl: 60 },
    { name: 'mqtt', type: 'CNAME', data: 'broker.iot.test' },
    { name: 'www', type: 'CNAME', data: 'mqtt.iot.test.' },
    { name: 'ext', type: 'CNAME', data: 'cdn.example.org' },
    { name: 'other', type: 'CNAME', data: 'host.lab.test' },
    { name: 'loop1', type: 'CNAME', data: 'loop2.iot.test' },
    { name: 'loop2', type: 'CNAME', data: 'loop1.iot.test' },
    { name: '*.devices', type: 'A', data: '10.0.9.9' },
    { name: 'fixed.devices', type: 'A', data: '10.0.9.1' },
    { name: 'a.b.deep', type: 'A', data: '10.0.0.5' },
    { name: '@', type: 'TXT', data: 'v=iot1' },
    { name: '@', type: 'NS', data: 'ns.iot.test' },
    ...Array.from({ length: 30 }, (_, i) => ({ name: 'big', type: 'A' as const, data: `10.2.0.${i}` })),
  ],
});
const lab = new DnsZone({ origin: 'lab.test', records: [{ name: 'host', type: 'A', data: '10.3.0.1' }] });
const responder = new DnsResponder([zone, lab]);

function query(name: string, type: string, extra: Partial<Packet> = {}): Uint8Array {
  return new Uint8Array(dnsPacket.encode({
    type: 'query', id: 0xbeef, flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as 'A' }], ...extra,
  }));
}

function ask(name: string, type: string, transport: 'udp' | 'tcp' = 'udp', extra: Partial<Packet> = {}): { m: DecodedPacket; outcome: string; truncated: boolean; size: number } {
  const r = responder.respond(query(name, type, extra), transport);
  assert.ok(r.bytes !== undefined, 'a reply');
  return { m: dnsPacket.decode(Buffer.from(r.bytes)), outcome: r.outcome, truncated: r.truncated, size: r.bytes.length };
}

const data = (m: DecodedPacket) => (m.answers ?? []).map((x) => `${x.name} ${x.type} ${'data' in x ? JSON.stringify(x.data) : ''}`);

describe('DNS responder', () => {
  it('A and AAAA, case-insensitive, the asker spelling echoed, AA set, RD copied, RA clear', () => {
    const { m, outcome } = ask('BROKER.iot.TEST', 'A');
    assert.equal(outcome, 'answer');
    assert.equal(m.id, 0xbeef);
    assert.equal(rc(m), 'NOERROR');
    assert.ok(m.flag_aa && m.flag_rd && !m.flag_ra && !m.flag_tc);
    assert.equal(m.questions?.[0]?.name, 'BROKER.iot.TEST');
    assert.deepEqual(data(m), ['BROKER.iot.TEST A "10.0.0.1"']);
    assert.equal(m.answers?.[0] && 'ttl' in m.answers[0] ? m.answers[0].ttl : -1, 120);
    assert.deepEqual(data(ask('broker.iot.test.', 'AAAA').m), ['broker.iot.test AAAA "fd00::1"']);
  });

  it('CNAME chains inside the zone and across our zones; out of our zones the chain stops', () => {
    assert.deepEqual(data(ask('www.iot.test', 'A').m), [
      'www.iot.test CNAME "mqtt.iot.test"', 'mqtt.iot.test CNAME "broker.iot.test"', 'broker.iot.test A "10.0.0.1"',
    ]);
    assert.deepEqual(data(ask('other.iot.test', 'A').m), ['other.iot.test CNAME "host.lab.test"', 'host.lab.test A "10.3.0.1"']);
    const ext = ask('ext.iot.test', 'A');
    assert.equal(rc(ext.m), 'NOERROR');
    assert.deepEqual(data(ext.m), ['ext.iot.test CNAME "cdn.example.org"']);
    assert.deepEqual(data(ask('mqtt.iot.test', 'CNAME').m), ['mqtt.iot.test CNAME "broker.iot.test"'], 'CNAME asked: not followed');
    const loop = ask('loop1.iot.test', 'A');
    assert.equal(rc(loop.m), 'NOERROR');
    assert.equal(loop.m.answers?.length, 2, 'the loop stops when a name repeats');
  });

  it('NXDOMAIN and NODATA carry the SOA (TTL = MINIMUM); empty non-terminals are NODATA', () => {
    const nx = ask('nope.iot.test', 'A');
    assert.equal(rc(nx.m), 'NXDOMAIN');
    assert.equal(nx.outcome, 'nxdomain');
    const s = nx.m.authorities?.[0];
    assert.ok(s !== undefined && s.type === 'SOA');
    assert.equal(s.ttl, 30);
    assert.equal(s.data.minimum, 30);
    assert.equal(s.data.mname, 'ns.iot.test');
    const nd = ask('broker.iot.test', 'TXT');
    assert.equal(rc(nd.m), 'NOERROR');
    assert.equal(nd.outcome, 'nodata');
    assert.equal(nd.m.answers?.length, 0);
    assert.equal(nd.m.authorities?.[0]?.type, 'SOA');
    assert.equal(ask('b.deep.iot.test', 'A').outcome, 'nodata');
    assert.equal(ask('deep.iot.test', 'A').outcome, 'nodata');
    assert.equal(ask('c.deep.iot.test', 'A').outcome, 'nxdomain');
  });

  it('wildcards (RFC 4592): for names that do not exist below the closest encloser', () => {
    assert.deepEqual(data(ask('Sensor7.devices.iot.test', 'A').m), ['Sensor7.devices.iot.test A "10.0.9.9"']);
    assert.deepEqual(data(ask('x.y.devices.iot.test', 'A').m), ['x.y.devices.iot.test A "10.0.9.9"']);
    assert.deepEqual(data(ask('fixed.devices.iot.test', 'A').m), ['fixed.devices.iot.test A "10.0.9.1"']);
    assert.equal(ask('sensor7.devices.iot.test', 'AAAA').outcome, 'nodata');
    assert.equal(ask('sub.fixed.devices.iot.test', 'A').outcome, 'nxdomain', 'the closest encloser has no wildcard');
  });

  it('apex: SOA, NS, TXT; ANY gives every record', () => {
    assert.equal(ask('iot.test', 'SOA').m.answers?.[0]?.type, 'SOA');
    assert.deepEqual(data(ask('iot.test', 'NS').m), ['iot.test NS "ns.iot.test"']);
    assert.deepEqual(data(ask('iot.test', 'TXT').m), ['iot.test TXT [{"type":"Buffer","data":[118,61,105,111,116,49]}]']);
    assert.equal(ask('broker.iot.test', 'ANY').m.answers?.length, 2);
  });

  it('names outside every zone, other classes: REFUSED without AA', () => {
    const r = ask('example.com', 'A');
    assert.equal(rc(r.m), 'REFUSED');
    assert.ok(!r.m.flag_aa);
    const root = ask('.', 'NS');
    assert.equal(rc(root.m), 'REFUSED');
    const ch = responder.respond(new Uint8Array(dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] })), 'udp');
    assert.equal(ch.outcome, 'refused');
  });

  it('UDP: TC over 512 bytes without EDNS, over the EDNS size with it; TCP: whole', () => {
    const plain = ask('big.iot.test', 'A');
    assert.ok(plain.truncated && plain.m.flag_tc);
    assert.equal(plain.m.answers?.length, 0);
    assert.ok(plain.size <= 512);
    const edns = ask('big.iot.test', 'A', 'udp', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as never] });
    assert.ok(!edns.truncated, '30 A records fit in 1232 bytes (no name compression: dns-packet does not compress)');
    assert.equal(edns.m.answers?.length, 30);
    const opt = edns.m.additionals?.find((x) => x.type === 'OPT');
    assert.ok(opt !== undefined && 'udpPayloadSize' in opt && opt.udpPayloadSize === 1232);
    const small = new DnsResponder([zone], { ednsUdpSize: 600 });
    const r = small.respond(query('big.iot.test', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as never] }), 'udp');
    assert.ok(r.truncated, 'our own EDNS size caps the answer');
    const tcp = ask('big.iot.test', 'A', 'tcp');
    assert.ok(!tcp.truncated);
    assert.equal(tcp.m.answers?.length, 30);
  });

  it('malformed input: FORMERR with the id, or dropped; NOTIMP; BADVERS; never throws', () => {
    assert.equal(responder.respond(new Uint8Array(5), 'udp').outcome, 'dropped');
    const resp = new Uint8Array(dnsPacket.encode({ type: 'response', id: 5, questions: [{ name: 'broker.iot.test', type: 'A' }] }));
    assert.equal(responder.respond(resp, 'udp').outcome, 'dropped', 'responses are never answered');
    const junk = Uint8Array.of(0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0xff);
    const fe = responder.respond(junk, 'udp');
    assert.equal(fe.outcome, 'formerr');
    const m = dnsPacket.decode(Buffer.from(fe.bytes!));
    assert.equal(m.id, 0xabcd);
    assert.equal(rc(m), 'FORMERR');
    const two = new Uint8Array(dnsPacket.encode({ type: 'query', id: 2, questions: [{ name: 'a.iot.test', type: 'A' }, { name: 'b.iot.test', type: 'A' }] }));
    assert.equal(responder.respond(two, 'udp').outcome, 'formerr');
    const notify = query('broker.iot.test', 'A');
    notify[2] = (notify[2] as number) | (4 << 3); // opcode NOTIFY
    assert.equal(responder.respond(notify, 'udp').outcome, 'notimp');
    const v1 = responder.respond(query('broker.iot.test', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: 1 } as never] }), 'udp');
    assert.equal(v1.outcome, 'badvers');
    const rng = new XorShiftRng(99);
    const base = query('www.iot.test', 'A');
    for (let i = 0; i < 10_000; i++) {
      const b = base.slice();
      for (let k = 1 + (rng.nextU32() % 3); k > 0; k--) b[rng.nextU32() % b.length] = rng.nextU32() & 0xff;
      responder.respond(b.subarray(0, b.length - (rng.nextU32() % 3)), i % 2 === 0 ? 'udp' : 'tcp');
    }
  });

  it('bad zone tables throw RangeError', () => {
    assert.throws(() => new DnsZone({ origin: 'z.test', records: [{ name: 'a', type: 'A', data: '10.0.0.256' }] }), RangeError);
    assert.throws(() => new DnsZone({ origin: 'z.test', records: [{ name: 'a', type: 'AAAA', data: '10.0.0.1' }] }), RangeError);
    assert.throws(() => new DnsZone({ origin: 'z.test', records: [{ name: 'a', type: 'CNAME', data: 'b.z.test' }, { name: 'a', type: 'A', data: '10.0.0.1' }] }), /CNAME and other data/);
    assert.throws(() => new DnsZone({ origin: 'z.test', records: [{ name: '@', type: 'CNAME', data: 'b.z.test' }] }), RangeError);
    assert.throws(() => new DnsZone({ origin: 'z..test', records: [] }), RangeError);
    assert.throws(() => new DnsZone({ origin: 'z.test', records: [{ name: 'a', type: 'MX' as 'A', data: 'x' }] }), /unsupported/);
    assert.throws(() => new DnsZone({ origin: 'z.test', records: [{ name: 'a', type: 'A', data: '10.0.0.1', ttl: -1 }] }), /TTL/);
  });
});
