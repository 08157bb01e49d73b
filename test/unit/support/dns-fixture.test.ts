import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import { type DnsFixture, startDnsFixture } from '../../support/dns-fixture.ts';

describe('dns fixture', () => {
  let dns: DnsFixture;
  let resolver: Resolver;

  before(async () => {
    dns = await startDnsFixture({
      records: {
        'host.test': { A: ['10.1.2.3', '10.1.2.4'], AAAA: ['fd00::3'] },
        'v4only.test': { A: ['10.9.9.9'] },
        'alias.test': { CNAME: 'host.test' },
        'alias2.test': { CNAME: 'alias.test' },
        'dangling.test': { CNAME: 'missing.test' },
        'loop1.test': { CNAME: 'loop2.test' },
        'loop2.test': { CNAME: 'loop1.test' },
      },
      silent: ['blackhole.test'],
      host: '127.0.0.1',
    });
    resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([`127.0.0.1:${dns.port}`]);
  });

  after(async () => {
    await dns.close();
    await dns.close(); // idempotent
  });

  it('listens on an ephemeral port of the given host', () => {
    assert.equal(dns.address, '127.0.0.1');
    assert.ok(dns.port > 0);
  });

  it('resolve4 / resolve6', async () => {
    assert.deepEqual((await resolver.resolve4('host.test')).sort(), ['10.1.2.3', '10.1.2.4']);
    assert.deepEqual(await resolver.resolve6('host.test'), ['fd00::3']);
    assert.deepEqual((await resolver.resolve4('HoSt.TEST.')).sort(), ['10.1.2.3', '10.1.2.4'], 'names match case-insensitively');
  });

  it('answers with TTLs', async () => {
    const [rec] = await resolver.resolve4('v4only.test', { ttl: true });
    assert.deepEqual(rec, { address: '10.9.9.9', ttl: 60 });
  });

  it('follows CNAME chains', async () => {
    assert.deepEqual((await resolver.resolve4('alias.test')).sort(), ['10.1.2.3', '10.1.2.4']);
    assert.deepEqual(await resolver.resolve6('alias2.test'), ['fd00::3']);
    assert.deepEqual(await resolver.resolveCname('alias.test'), ['host.test']);
  });

  it('unknown name -> NXDOMAIN (ENOTFOUND)', async () => {
    await assert.rejects(resolver.resolve4('nope.test'), { code: 'ENOTFOUND' });
    await assert.rejects(resolver.resolve4('dangling.test'), { code: 'ENOTFOUND' });
  });

  it('known name without the type -> NODATA (ENODATA)', async () => {
    await assert.rejects(resolver.resolve6('v4only.test'), { code: 'ENODATA' });
    await assert.rejects(resolver.resolveCname('host.test'), { code: 'ENODATA' });
  });

  it('a CNAME loop ends (NOERROR, chain cut after 8 links) without an address', async () => {
    // c-ares reports the CNAME-only answer as an empty list.
    assert.deepEqual(await resolver.resolve4('loop1.test').catch(() => []), []);
  });

  it('silent names are never answered (ETIMEOUT) but counted', async () => {
    const before = dns.queries;
    await assert.rejects(resolver.resolve4('blackhole.test'), { code: 'ETIMEOUT' });
    assert.ok(dns.queries > before);
  });

  it('counts queries', async () => {
    const before = dns.queries;
    await resolver.resolve4('host.test');
    assert.equal(dns.queries, before + 1);
  });

  it('replies on the wire: id echoed, AA set, rcode, answers in chain order', async () => {
    const client = dgram.createSocket('udp4');
    try {
      const ask = (name: string, type: 'A' | 'AAAA', id: number) =>
        new Promise<dnsPacket.DecodedPacket & { rcode?: string }>((resolve) => {
          client.once('message', (msg) => resolve(dnsPacket.decode(msg)));
          client.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), dns.port, '127.0.0.1');
        });
      const r = await ask('alias2.test', 'A', 4242);
      assert.equal(r.id, 4242);
      assert.equal(r.flag_aa, true);
      assert.equal(r.flag_rd, true);
      assert.equal(r.rcode, 'NOERROR');
      assert.deepEqual(r.answers?.map((a) => [a.type, a.name, 'data' in a ? a.data : undefined]), [
        ['CNAME', 'alias2.test', 'alias.test'],
        ['CNAME', 'alias.test', 'host.test'],
        ['A', 'host.test', '10.1.2.3'],
        ['A', 'host.test', '10.1.2.4'],
      ]);
      const loop = await ask('loop1.test', 'A', 5);
      assert.equal(loop.rcode, 'NOERROR');
      assert.equal(loop.answers?.length, 8);
      assert.ok(loop.answers?.every((a) => a.type === 'CNAME'));
      const nx = await ask('nope.test', 'AAAA', 7);
      assert.equal(nx.rcode, 'NXDOMAIN');
      assert.deepEqual(nx.answers, []);
    } finally {
      client.close();
    }
  });
});

describe('dns fixture setup', () => {
  it('rejects bad records', async () => {
    await assert.rejects(startDnsFixture({ records: { 'x.test': { A: ['fd00::1'] } } }), /bad A record/);
    await assert.rejects(startDnsFixture({ records: { 'x.test': { AAAA: ['10.0.0.1'] } } }), /bad AAAA record/);
    await assert.rejects(startDnsFixture({ records: { 'x.test': { CNAME: 'y.test', A: ['10.0.0.1'] } } }), /CNAME/);
  });

  it('serves over IPv6 when given an IPv6 host', async (t) => {
    let dns: DnsFixture;
    try {
      dns = await startDnsFixture({ host: '::1', records: { 'six.test': { AAAA: ['2001:db8::6'] } } });
    } catch {
      t.skip('no IPv6 loopback');
      return;
    }
    try {
      const resolver = new Resolver({ timeout: 500, tries: 1 });
      resolver.setServers([`[::1]:${dns.port}`]);
      assert.deepEqual(await resolver.resolve6('six.test'), ['2001:db8::6']);
    } finally {
      await dns.close();
    }
  });
});
