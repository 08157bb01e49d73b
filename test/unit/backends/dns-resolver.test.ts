/**
 * The DNS resolver against scripted servers (`test/support/dns-script-net.ts`) on
 * virtual time with a seeded Rng: answers, CNAME chains, negative answers and their
 * caching, timeouts and failover, TC -> TCP, RFC 5452 matching, abort, coalescing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsResolver, type DnsResolverOptions } from '../../../src/backends/dns/resolver.ts';
import {
  IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_EINVAL, IOT_SOCKET_ERROR, IOT_SOCKET_ETIMEDOUT,
} from '../../../src/base/iot-constants.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../src/base/time.ts';
import { a, aaaa, cname, DnsScriptNet, soa, type ServerScript } from '../../support/dns-script-net.ts';

const S1 = '10.0.0.53:53';
const S2 = '10.0.0.54:53';

function setup(scripts: Record<string, ServerScript>, options: DnsResolverOptions = {}) {
  const sched = new VirtualScheduler();
  const net = new DnsScriptNet(sched, scripts);
  const resolver = new DnsResolver(net, { scheduler: sched, rng: new XorShiftRng(42), servers: Object.keys(scripts), ...options });
  return { sched, net, resolver };
}

/** Runs virtual time until `p` settles; returns its value and the virtual time it took. */
async function drive<T>(sched: VirtualScheduler, p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = sched.now();
  let done = false;
  let value: T | undefined;
  void p.then((v) => {
    done = true;
    value = v;
  });
  for (let i = 0; i < 10_000 && !done; i++) {
    await new Promise<void>((r) => setImmediate(r));
    if (done) break;
    const next = sched.nextDeadline();
    if (next !== undefined) sched.advanceTo(next);
  }
  assert.ok(done, 'did not settle');
  return { value: value as T, ms: sched.now() - t0 };
}

const bytes = (r: unknown): number[] => {
  assert.ok(r instanceof Uint8Array, `expected an address, got ${String(r)}`);
  return [...r];
};

describe('DNS resolver: answers', () => {
  it('A and AAAA: first address, all addresses, RD + EDNS query, the name sent in comparison form', async () => {
    const { sched, net, resolver } = setup({
      [S1]: (q) => {
        const name = q.questions?.[0]?.name ?? '';
        return q.questions?.[0]?.type === 'A'
          ? { kind: 'answer', answers: [a(name, '10.1.2.3', 120), a(name, '10.1.2.4', 60)] }
          : { kind: 'answer', answers: [aaaa(name, 'fd00::3')] };
      },
    });
    assert.deepEqual(bytes((await drive(sched, resolver.resolve('Host.Test.', 1))).value), [10, 1, 2, 3]);
    const all = (await drive(sched, resolver.resolveAll('other.test', 1))).value;
    assert.ok(typeof all !== 'number');
    assert.deepEqual(all.addresses.map((x) => [...x]), [[10, 1, 2, 3], [10, 1, 2, 4]]);
    assert.equal(all.ttl, 60, 'the smallest TTL of the RRset');
    assert.equal(all.name, 'other.test');
    const v6 = (await drive(sched, resolver.resolve('host.test', 2))).value;
    assert.deepEqual(bytes(v6), [0xfd, 0, ...new Array(13).fill(0), 3]);
    assert.deepEqual(net.log.map((l) => [l.name, l.type, l.edns, l.transport]), [
      ['host.test', 'A', true, 'udp'], ['other.test', 'A', true, 'udp'], ['host.test', 'AAAA', true, 'udp'],
    ]);
    assert.equal(net.open, 0, 'every socket closed');
  });

  it('a CNAME chain inside the answer: canonical name, TTL = smallest link', async () => {
    const { sched, resolver } = setup({
      [S1]: () => ({
        kind: 'answer',
        answers: [cname('www.test', 'alias.test', 300), cname('alias.test', 'host.test', 30), a('host.test', '10.0.0.7', 100)],
      }),
    });
    const r = (await drive(sched, resolver.resolveAll('WWW.test', 1))).value;
    assert.ok(typeof r !== 'number');
    assert.equal(r.canonicalName, 'host.test');
    assert.deepEqual([...(r.addresses[0] as Uint8Array)], [10, 0, 0, 7]);
    assert.equal(r.ttl, 30);
  });

  it('a chain that ends without the type is asked again at its target', async () => {
    const { sched, net, resolver } = setup({
      [S1]: (q) => {
        const name = (q.questions?.[0]?.name ?? '').toLowerCase();
        if (name === 'www.test') return { kind: 'answer', answers: [cname('www.test', 'cdn.other')] };
        if (name === 'cdn.other') return { kind: 'answer', answers: [cname('cdn.other', 'edge.other'), a('edge.other', '192.0.2.9')] };
        return { kind: 'answer', rcode: 3 };
      },
    });
    assert.deepEqual(bytes((await drive(sched, resolver.resolve('www.test', 1))).value), [192, 0, 2, 9]);
    assert.deepEqual(net.log.map((l) => l.name), ['www.test', 'cdn.other']);
  });

  it('CNAME loops and over-long chains: ERROR, not cached', async () => {
    const loop = setup({
      [S1]: (q) => {
        const name = (q.questions?.[0]?.name ?? '').toLowerCase();
        if (name === 'a.test') return { kind: 'answer', answers: [cname('a.test', 'b.test'), cname('b.test', 'a.test')] };
        if (name === 'x.test') return { kind: 'answer', answers: [cname('x.test', 'y.test')] };
        return { kind: 'answer', answers: [cname('y.test', 'x.test')] };
      },
    });
    assert.equal((await drive(loop.sched, loop.resolver.resolve('a.test', 1))).value, IOT_SOCKET_ERROR);
    assert.deepEqual(loop.net.log.map((l) => l.name), ['a.test'], 'the loop is seen inside the answer');
    assert.equal((await drive(loop.sched, loop.resolver.resolve('a.test', 1))).value, IOT_SOCKET_ERROR);
    assert.equal(loop.net.log.length, 2, 'not cached');
    assert.equal((await drive(loop.sched, loop.resolver.resolve('x.test', 1))).value, IOT_SOCKET_ERROR);
    assert.deepEqual(loop.net.log.slice(2).map((l) => l.name), ['x.test', 'y.test'], 'a loop across re-queries');

    const long = setup({
      [S1]: () => ({ kind: 'answer', answers: [cname('c0.test', 'c1.test'), cname('c1.test', 'c2.test'), cname('c2.test', 'c3.test'), a('c3.test', '10.0.0.3')] }),
    }, { maxCnameDepth: 2 });
    assert.equal((await drive(long.sched, long.resolver.resolve('c0.test', 1))).value, IOT_SOCKET_ERROR);
    const ok = setup({
      [S1]: () => ({ kind: 'answer', answers: [cname('c0.test', 'c1.test'), cname('c1.test', 'c2.test'), a('c2.test', '10.0.0.3')] }),
    }, { maxCnameDepth: 2 });
    assert.deepEqual(bytes((await drive(ok.sched, ok.resolver.resolve('c0.test', 1))).value), [10, 0, 0, 3]);
  });

  it('records of another class, owner or type are ignored (NODATA)', async () => {
    const { sched, resolver } = setup({
      [S1]: () => ({
        kind: 'answer',
        answers: [{ ...a('host.test', '10.0.0.1'), class: 'CH' }, a('other.test', '10.0.0.2'), aaaa('host.test', 'fd00::1')],
      }),
    });
    assert.equal((await drive(sched, resolver.resolve('host.test', 1))).value, IOT_SOCKET_EHOSTNOTFOUND);
  });
});

describe('DNS resolver: negative answers and the cache', () => {
  it('NXDOMAIN -> EHOSTNOTFOUND, cached for min(SOA TTL, SOA MINIMUM)', async () => {
    const { sched, net, resolver } = setup({ [S1]: () => ({ kind: 'answer', rcode: 3, authorities: [soa('test', 5, 3600)] }) });
    assert.equal((await drive(sched, resolver.resolve('nope.test', 1))).value, IOT_SOCKET_EHOSTNOTFOUND);
    assert.equal((await drive(sched, resolver.resolve('NOPE.test', 1))).value, IOT_SOCKET_EHOSTNOTFOUND);
    assert.equal(net.log.length, 1, 'the second answer came from the cache');
    assert.equal(resolver.stats.cacheHits, 1);
    sched.advance(5000);
    assert.equal((await drive(sched, resolver.resolve('nope.test', 1))).value, IOT_SOCKET_EHOSTNOTFOUND);
    assert.equal(net.log.length, 2, 'asked again after 5 s');
  });

  it('NODATA -> EHOSTNOTFOUND for that family only; without SOA cached for negativeTtlS', async () => {
    const { sched, net, resolver } = setup({
      [S1]: (q) => (q.questions?.[0]?.type === 'A' ? { kind: 'answer', answers: [a('v4.test', '10.0.0.4')] } : { kind: 'answer' }),
    }, { negativeTtlS: 10 });
    assert.equal((await drive(sched, resolver.resolve('v4.test', 2))).value, IOT_SOCKET_EHOSTNOTFOUND);
    assert.deepEqual(bytes((await drive(sched, resolver.resolve('v4.test', 1))).value), [10, 0, 0, 4]);
    sched.advance(9000);
    assert.equal((await drive(sched, resolver.resolve('v4.test', 2))).value, IOT_SOCKET_EHOSTNOTFOUND);
    assert.equal(net.log.length, 2);
    sched.advance(1000);
    await drive(sched, resolver.resolve('v4.test', 2));
    assert.equal(net.log.length, 3);
  });

  it('positive TTL expiry, TTL 0 not cached, maxTtlS cap, LRU size bound, new servers flush', async () => {
    const { sched, net, resolver } = setup({
      [S1]: (q) => {
        const name = q.questions?.[0]?.name ?? '';
        return { kind: 'answer', answers: [a(name, '10.0.0.1', name.startsWith('zero') ? 0 : name.startsWith('long') ? 999_999 : 30)] };
      },
    }, { cacheSize: 2, maxTtlS: 100 });
    await drive(sched, resolver.resolve('one.test', 1));
    await drive(sched, resolver.resolve('one.test', 1));
    assert.equal(net.log.length, 1);
    sched.advance(30_000);
    await drive(sched, resolver.resolve('one.test', 1));
    assert.equal(net.log.length, 2, 'expired after its TTL');
    await drive(sched, resolver.resolve('zero.test', 1));
    await drive(sched, resolver.resolve('zero.test', 1));
    assert.equal(net.log.length, 4, 'TTL 0: never cached');
    const long = (await drive(sched, resolver.resolveAll('long.test', 1))).value;
    assert.ok(typeof long !== 'number');
    assert.equal(long.ttl, 100, 'capped at maxTtlS');
    await drive(sched, resolver.resolve('two.test', 1)); // evicts one.test (least recently used)
    assert.equal(resolver.cacheSize, 2);
    await drive(sched, resolver.resolve('one.test', 1));
    assert.equal(net.log.length, 7);
    resolver.setServers([S1]);
    await drive(sched, resolver.resolve('one.test', 1));
    assert.equal(net.log.length, 7, 'the same list keeps the cache');
    resolver.setServers([S1, S2]);
    await drive(sched, resolver.resolve('one.test', 1));
    assert.equal(net.log.length, 8, 'a new list flushes it');
  });
});

describe('DNS resolver: servers, retries, timeouts', () => {
  it('every server silent: ETIMEDOUT after attempts x servers x timeout, servers asked in order', async () => {
    const { sched, net, resolver } = setup({ [S1]: () => ({ kind: 'silent' }), [S2]: () => ({ kind: 'silent' }) });
    const { value, ms } = await drive(sched, resolver.resolve('host.test', 1));
    assert.equal(value, IOT_SOCKET_ETIMEDOUT);
    assert.equal(ms, 2 * 2 * 2000);
    assert.deepEqual(net.log.map((l) => [l.server, l.at]), [[S1, 0], [S2, 2000], [S1, 4000], [S2, 6000]]);
    const st = resolver.stats;
    assert.equal(st.timeouts, 4);
    assert.equal(st.retries, 3);
    assert.equal(st.queries, 4);
    assert.equal(net.open, 0);
  });

  it('a silent first server: the second answers after one timeout; SERVFAIL and ICMP refusal move on at once', async () => {
    const silent = setup({ [S1]: () => ({ kind: 'silent' }), [S2]: () => ({ kind: 'answer', answers: [a('h.test', '10.0.0.2')] }) }, { timeoutMs: 500 });
    const r1 = await drive(silent.sched, silent.resolver.resolve('h.test', 1));
    assert.deepEqual(bytes(r1.value), [10, 0, 0, 2]);
    assert.equal(r1.ms, 501);
    const servfail = setup({ [S1]: () => ({ kind: 'answer', rcode: 2 }), [S2]: () => ({ kind: 'answer', answers: [a('h.test', '10.0.0.2')] }) });
    const r2 = await drive(servfail.sched, servfail.resolver.resolve('h.test', 1));
    assert.deepEqual(bytes(r2.value), [10, 0, 0, 2]);
    assert.equal(r2.ms, 2);
    assert.equal(servfail.resolver.stats.serverFailures, 1);
    const icmp = setup({ [S1]: () => ({ kind: 'unreachable' }), [S2]: () => ({ kind: 'answer', answers: [a('h.test', '10.0.0.2')] }) });
    const r3 = await drive(icmp.sched, icmp.resolver.resolve('h.test', 1));
    assert.deepEqual(bytes(r3.value), [10, 0, 0, 2]);
    assert.equal(r3.ms, 2);
    assert.equal(icmp.resolver.stats.socketErrors, 1);
  });

  it('SERVFAIL everywhere -> ERROR (asked again next round); REFUSED servers are not asked again', async () => {
    const sf = setup({ [S1]: () => ({ kind: 'answer', rcode: 2 }), [S2]: () => ({ kind: 'answer', rcode: 2 }) });
    assert.equal((await drive(sf.sched, sf.resolver.resolve('h.test', 1))).value, IOT_SOCKET_ERROR);
    assert.equal(sf.net.log.length, 4);
    const refused = setup({ [S1]: () => ({ kind: 'answer', rcode: 5 }), [S2]: () => ({ kind: 'silent' }) });
    assert.equal((await drive(refused.sched, refused.resolver.resolve('h.test', 1))).value, IOT_SOCKET_ERROR, 'not only timeouts');
    assert.deepEqual(refused.net.log.map((l) => l.server), [S1, S2, S2]);
    const unreachable = setup({ [S1]: () => ({ kind: 'unreachable' }) });
    assert.equal((await drive(unreachable.sched, unreachable.resolver.resolve('h.test', 1))).value, IOT_SOCKET_ERROR);
  });

  it('rotate: each lookup starts one server further', async () => {
    const answer: ServerScript = (q) => ({ kind: 'answer', answers: [a(q.questions?.[0]?.name ?? '', '10.0.0.1')] });
    const { sched, net, resolver } = setup({ [S1]: answer, [S2]: answer }, { rotate: true, cacheSize: 0 });
    for (let i = 0; i < 4; i++) await drive(sched, resolver.resolve('h.test', 1));
    assert.deepEqual(net.log.map((l) => l.server), [S1, S2, S1, S2]);
  });

  it('FORMERR to an EDNS query: asked again without EDNS (RFC 6891 §7)', async () => {
    const { sched, net, resolver } = setup({
      [S1]: (q) => ((q.additionals ?? []).length > 0 ? { kind: 'answer', rcode: 1 } : { kind: 'answer', answers: [a('h.test', '10.0.0.9')] }),
    });
    assert.deepEqual(bytes((await drive(sched, resolver.resolve('h.test', 1))).value), [10, 0, 0, 9]);
    assert.deepEqual(net.log.map((l) => l.edns), [true, false]);
  });

  it('no servers: ERROR without any query; servers set later are used', async () => {
    const sched = new VirtualScheduler();
    const net = new DnsScriptNet(sched, { [S1]: () => ({ kind: 'answer', answers: [a('h.test', '10.0.0.1')] }) });
    const resolver = new DnsResolver(net, { scheduler: sched, rng: new XorShiftRng(1) });
    assert.equal(await resolver.resolve('h.test', 1), IOT_SOCKET_ERROR);
    assert.equal(net.created, 0);
    resolver.setServers(['10.0.0.53']);
    assert.deepEqual(resolver.servers, ['10.0.0.53:53']);
    assert.deepEqual(bytes((await drive(sched, resolver.resolve('h.test', 1))).value), [10, 0, 0, 1]);
    assert.throws(() => resolver.setServers(['10.0.0.256']), RangeError);
  });
});

describe('DNS resolver: TC bit -> TCP', () => {
  it('a truncated UDP answer is asked again over TCP (2-byte framing)', async () => {
    const many = Array.from({ length: 100 }, (_, i) => a('big.test', `10.1.0.${i}`));
    const { sched, net, resolver } = setup({
      [S1]: (_q, info) => (info.transport === 'udp' ? { kind: 'answer', tc: true } : { kind: 'answer', answers: many }),
    });
    const r = (await drive(sched, resolver.resolveAll('big.test', 1))).value;
    assert.ok(typeof r !== 'number');
    assert.equal(r.addresses.length, 100);
    assert.deepEqual(net.log.map((l) => [l.transport, l.edns]), [['udp', true], ['tcp', false]]);
    assert.equal(resolver.stats.tcpFallbacks, 1);
    assert.equal(net.open, 0);
  });

  it('TCP refused: the next server is asked', async () => {
    const { sched, net, resolver } = setup({
      [S1]: () => ({ kind: 'answer', tc: true }),
      [S2]: () => ({ kind: 'answer', answers: [a('h.test', '10.0.0.2')] }),
    });
    net.tcpRefused.add(S1);
    assert.deepEqual(bytes((await drive(sched, resolver.resolve('h.test', 1))).value), [10, 0, 0, 2]);
    assert.deepEqual(net.log.map((l) => `${l.server}/${l.transport}`), [`${S1}/udp`, `${S2}/udp`]);
  });
});

describe('DNS resolver: RFC 5452 matching', () => {
  it('answers from a wrong port or address, with a wrong id or question, or malformed, are dropped and counted', async () => {
    const { sched, resolver } = setup({
      [S1]: (q) => {
        const name = q.questions?.[0]?.name ?? '';
        const evil = [a(name, '6.6.6.6')];
        return [
          { kind: 'answer', answers: evil, from: { port: 5353 }, delayMs: 1 },
          { kind: 'answer', answers: evil, from: { address: '10.0.0.66' }, delayMs: 1 },
          { kind: 'answer', answers: evil, id: ((q.id ?? 0) + 1) & 0xffff, delayMs: 1 },
          { kind: 'answer', answers: evil, questions: [{ type: 'A', name: 'evil.test' }], delayMs: 1 },
          { kind: 'answer', answers: evil, questions: [{ type: 'AAAA', name }], delayMs: 1 },
          { kind: 'raw', bytes: new Uint8Array([0, 1, 2, 3, 4]), delayMs: 2 },
          { kind: 'raw', bytes: Uint8Array.of(q.id! >> 8, q.id! & 0xff, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 0x0c), delayMs: 2 },
          { kind: 'answer', answers: [a(name, '10.0.0.1')], delayMs: 5 },
        ];
      },
    });
    assert.deepEqual(bytes((await drive(sched, resolver.resolve('h.test', 1))).value), [10, 0, 0, 1]);
    assert.equal(resolver.stats.mismatched, 5);
    assert.equal(resolver.stats.malformed, 2);
  });

  it('spoofed answers only: the try times out', async () => {
    const { sched, resolver } = setup({
      [S1]: (q) => ({ kind: 'answer', answers: [a('h.test', '6.6.6.6')], id: ((q.id ?? 0) ^ 0x5555) & 0xffff }),
    }, { attempts: 1 });
    assert.equal((await drive(sched, resolver.resolve('h.test', 1))).value, IOT_SOCKET_ETIMEDOUT);
    assert.equal(resolver.stats.mismatched, 1);
  });

  it('every query gets a fresh random id and a fresh socket (source port)', async () => {
    const { sched, net, resolver } = setup({ [S1]: () => ({ kind: 'silent' }), [S2]: () => ({ kind: 'silent' }) }, { attempts: 4 });
    await drive(sched, resolver.resolve('h.test', 1));
    assert.equal(net.log.length, 8);
    assert.equal(new Set(net.log.map((l) => l.id)).size, 8);
    assert.equal(new Set(net.log.map((l) => l.localPort)).size, 8);
    assert.equal(net.created, 8);
    assert.equal(net.open, 0);
  });
});

describe('DNS resolver: names, abort, coalescing, close', () => {
  it('name rules: empty -> EINVAL; bad labels or length -> EHOSTNOTFOUND without a query', async () => {
    const { sched, net, resolver } = setup({ [S1]: (q) => ({ kind: 'answer', answers: [a(q.questions?.[0]?.name ?? '', '10.0.0.1')] }) });
    assert.equal(await resolver.resolve('', 1), IOT_SOCKET_EINVAL);
    for (const bad of ['a..b', '.a', 'a.b..', `${'x'.repeat(64)}.test`, `${'abcdefghi.'.repeat(25)}abcd`, 'sp ace.test', 'bä.test', 'a\\.b']) {
      assert.equal(await resolver.resolve(bad, 1), IOT_SOCKET_EHOSTNOTFOUND, bad);
    }
    assert.equal(net.log.length, 0);
    const max = `${'abcdefghi.'.repeat(25)}abc`; // 253 characters
    assert.equal(max.length, 253);
    assert.deepEqual(bytes((await drive(sched, resolver.resolve(`${max}.`, 1))).value), [10, 0, 0, 1]);
    assert.deepEqual(bytes((await drive(sched, resolver.resolve(`${'x'.repeat(63)}.test`, 1))).value), [10, 0, 0, 1]);
  });

  it('abort: the caller gets ERROR at once and the query stops (socket closed)', async () => {
    const { sched, net, resolver } = setup({ [S1]: () => ({ kind: 'silent' }) });
    const ac = new AbortController();
    const p = resolver.resolve('h.test', 1, ac.signal);
    await new Promise<void>((r) => setImmediate(r));
    sched.advance(100);
    ac.abort();
    const { value, ms } = await drive(sched, p);
    assert.equal(value, IOT_SOCKET_ERROR);
    assert.equal(ms, 0);
    await drive(sched, Promise.resolve());
    assert.equal(net.open, 0);
    assert.equal(net.log.length, 1, 'no further tries');
    const pre = new AbortController();
    pre.abort();
    assert.equal(await resolver.resolve('h.test', 1, pre.signal), IOT_SOCKET_ERROR);
  });

  it('new servers: lookups under way neither serve nor fill the cache for later ones', async () => {
    const { sched, net, resolver } = setup({
      [S1]: () => ({ kind: 'answer', answers: [a('h.test', '10.0.0.1')], delayMs: 50 }),
      [S2]: () => ({ kind: 'answer', answers: [a('h.test', '10.0.0.2')], delayMs: 1 }),
    });
    resolver.setServers([S1]);
    const old = resolver.resolve('h.test', 1);
    await new Promise<void>((r) => setImmediate(r));
    resolver.setServers([S2]);
    const fresh = resolver.resolve('h.test', 1);
    const [r1, r2] = (await drive(sched, Promise.all([old, fresh]))).value;
    assert.deepEqual(bytes(r1), [10, 0, 0, 1]);
    assert.deepEqual(bytes(r2), [10, 0, 0, 2]);
    assert.deepEqual(bytes((await drive(sched, resolver.resolve('h.test', 1))).value), [10, 0, 0, 2], 'the old answer was not cached');
    assert.equal(net.log.length, 2);
    assert.equal(resolver.stats.coalesced, 0);
  });

  it('after every caller gave up, the next lookup starts a new query', async () => {
    const { sched, net, resolver } = setup({ [S1]: () => ({ kind: 'answer', answers: [a('h.test', '10.0.0.1')], delayMs: 50 }) });
    const ac = new AbortController();
    const p1 = resolver.resolve('h.test', 1, ac.signal);
    await new Promise<void>((r) => setImmediate(r));
    ac.abort();
    const p2 = resolver.resolve('h.test', 1);
    const [r1, r2] = (await drive(sched, Promise.all([p1, p2]))).value;
    assert.equal(r1, IOT_SOCKET_ERROR);
    assert.deepEqual(bytes(r2), [10, 0, 0, 1]);
    assert.equal(net.log.length, 2);
    assert.equal(resolver.stats.coalesced, 0);
  });

  it('identical concurrent lookups share one query; one caller aborting leaves the others', async () => {
    const { sched, net, resolver } = setup({ [S1]: () => ({ kind: 'answer', answers: [a('h.test', '10.0.0.1')], delayMs: 50 }) });
    const ac = new AbortController();
    const p1 = resolver.resolve('h.test', 1, ac.signal);
    const p2 = resolver.resolve('H.TEST.', 1);
    const p3 = resolver.resolve('h.test', 2);
    await new Promise<void>((r) => setImmediate(r));
    ac.abort();
    const [r1, r2, r3] = (await drive(sched, Promise.all([p1, p2, p3]))).value;
    assert.equal(r1, IOT_SOCKET_ERROR);
    assert.deepEqual(bytes(r2), [10, 0, 0, 1]);
    assert.equal(r3, IOT_SOCKET_EHOSTNOTFOUND, 'AAAA is another question');
    assert.deepEqual(net.log.map((l) => l.type), ['A', 'AAAA']);
    assert.equal(resolver.stats.coalesced, 1);
  });

  it('close: lookups under way answer ERROR, later ones too', async () => {
    const { sched, net, resolver } = setup({ [S1]: () => ({ kind: 'silent' }) });
    const p = resolver.resolve('h.test', 1);
    await new Promise<void>((r) => setImmediate(r));
    resolver.close();
    assert.equal((await drive(sched, p)).value, IOT_SOCKET_ERROR);
    assert.equal(await resolver.resolve('h.test', 1), IOT_SOCKET_ERROR);
    await drive(sched, Promise.resolve());
    assert.equal(net.open, 0);
  });
});
