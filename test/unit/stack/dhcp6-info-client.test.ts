/**
 * Stateless DHCPv6 client (src/stack/dhcp/dhcp6-info-client.ts) on virtual time against a
 * fake server function: the random initial delay, RFC 8415 §15 retransmission (RAND bounds,
 * doubling up to INF_MAX_RT, the server's option 83), the Information-request's options,
 * Reply handling, Information Refresh Time, replies that must be ignored, restart and stop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIPv6 } from '../../../src/base/ip-address.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import {
  DHCP6_INFO_DEFAULT_ORO, DHCP6_INFO_TIMING, Dhcp6InfoClient, type Dhcp6InfoClientOptions, type Dhcp6InfoInputResult,
} from '../../../src/stack/dhcp/dhcp6-info-client.ts';
import {
  DHCPV6_INFINITY, Dhcpv6MessageType as T, Dhcpv6Option, Dhcpv6StatusCode, duidLl, encodeDhcpv6, parseDhcpv6, type Dhcpv6Duid,
  type Dhcpv6Options, type Dhcpv6Repr,
} from '../../../src/wire/dhcpv6.ts';
import { isFault } from '../../../src/wire/fault.ts';

const S = 1000;
const MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const DUID = duidLl(MAC);
const SERVER_DUID: Dhcpv6Duid = { kind: 'llt', hardwareType: 1, time: 0x2a2b2c2d, linkLayerAddress: Uint8Array.of(0, 0x11, 0x22, 0x33, 0x44, 0x55) };
const SERVER_LL = parseIPv6('fe80::211:22ff:fe33:4455') as Uint8Array;
const v6 = (s: string): Uint8Array => parseIPv6(s) as Uint8Array;
const DNS1 = v6('2001:db8::53');
const DNS2 = v6('2001:db8:0:1::53');

function client(seed = 1, extra: Partial<Dhcp6InfoClientOptions> = {}): Dhcp6InfoClient {
  return new Dhcp6InfoClient({ rng: new XorShiftRng(seed), duid: DUID, ...extra });
}

function req(m: Uint8Array): Dhcpv6Repr {
  const r = parseDhcpv6(m);
  if (isFault(r)) assert.fail(`client sent a message that does not parse: ${r}`);
  return r;
}

/** A Reply to `request` with the given options (server id and the request's client id by default). */
function replyTo(request: Dhcpv6Repr, options: Dhcpv6Options = {}, xid = request.transactionId): Uint8Array {
  return encodeDhcpv6({
    msgType: T.REPLY,
    transactionId: xid,
    options: { serverId: SERVER_DUID, ...(request.options.clientId !== undefined ? { clientId: request.options.clientId } : {}), ...options },
  });
}

interface Sent {
  readonly at: number;
  readonly msg: Dhcpv6Repr;
}

/** What a fake server does with a request at time `at`: reply bytes (delivered at once), or nothing. */
type Server = (msg: Dhcpv6Repr, at: number) => Uint8Array | undefined;

/**
 * Virtual time: jump to `pollAt()`, poll, hand each message to `server`, feed its reply
 * back, until `pollAt()` is past `until` (or unset). Returns what was sent and the
 * results of `input`.
 */
function run(c: Dhcp6InfoClient, until: number, server: Server = () => undefined): { sent: Sent[]; results: Dhcp6InfoInputResult[] } {
  const sent: Sent[] = [];
  const results: Dhcp6InfoInputResult[] = [];
  for (let guard = 0; guard < 100_000; guard++) {
    const at = c.pollAt();
    if (at === undefined || at > until) break;
    for (const m of c.poll(at)) {
      const msg = req(m);
      sent.push({ at, msg });
      const r = server(msg, at);
      if (r !== undefined) results.push(c.input(at, r, SERVER_LL));
    }
  }
  return { sent, results };
}

const GOOD: Dhcpv6Options = { dnsServers: [DNS1, DNS2], domainList: ['lan.test', 'example.org'], informationRefreshTime: 7200 };

describe('DHCPv6 info client: Information-request', () => {
  it('first message after a random 0..1 s delay: type, 24-bit xid, client id, ORO, elapsed 0', () => {
    const delays: number[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const c = client(seed);
      assert.equal(c.state, 'STOPPED');
      assert.equal(c.pollAt(), undefined);
      c.start(5000);
      assert.equal(c.state, 'DELAYING');
      const at = c.pollAt() as number;
      assert.ok(at >= 5000 && at <= 6000, `delay ${at - 5000}`);
      delays.push(at - 5000);
      if (at > 5000) assert.deepEqual(c.poll(at - 1), [], 'nothing before the deadline');
      const out = c.poll(at);
      assert.equal(out.length, 1);
      assert.equal(c.state, 'REQUESTING');
      const m = req(out[0] as Uint8Array);
      assert.equal(m.msgType, T.INFORMATION_REQUEST);
      assert.ok(m.transactionId >= 0 && m.transactionId <= 0xffffff);
      assert.equal(m.transactionId, c.transactionId);
      assert.deepEqual(m.options, { clientId: DUID, optionRequest: [23, 24, 32, 83], elapsedTime: 0 });
    }
    assert.ok(Math.min(...delays) < 100 && Math.max(...delays) > 900, 'the delay spreads over 0..1 s');
  });

  it('requestOptions are added to the ORO once; a DUID that cannot be sent and bad codes are refused', () => {
    const c = client(3, { requestOptions: [Dhcpv6Option.SOL_MAX_RT, 24, 0xfff0, 82] });
    c.start(0);
    const { sent } = run(c, 1500);
    assert.deepEqual(sent[0]?.msg.options.optionRequest, [...DHCP6_INFO_DEFAULT_ORO, 82, 0xfff0]);
    assert.throws(() => client(1, { requestOptions: [0] }), RangeError);
    assert.throws(() => client(1, { requestOptions: [0x10000] }), RangeError);
    assert.throws(() => client(1, { duid: { kind: 'opaque', type: 2, data: new Uint8Array(0) } }), RangeError);
  });

  it('without a DUID no Client Identifier is sent', () => {
    const c = client(4, { duid: undefined });
    c.start(0);
    const { sent } = run(c, 1500);
    assert.deepEqual(sent[0]?.msg.options, { optionRequest: [23, 24, 32, 83], elapsedTime: 0 });
  });

  it('start twice throws; poll when stopped sends nothing', () => {
    const c = client();
    assert.deepEqual(c.poll(0), []);
    c.start(0);
    assert.throws(() => c.start(1), /already started/);
  });
});

describe('DHCPv6 info client: retransmission (RFC 8415 §15)', () => {
  it('RT1 = IRT ± 10 %, then 2·RTprev ± 10 % of RTprev, capped at INF_MAX_RT ± 10 %; same xid; elapsed time in hundredths, capped at 0xffff', () => {
    let capped = 0;
    let exactDoubles = 0;
    let intervals = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const c = client(seed);
      c.start(0);
      const { sent } = run(c, 6 * 3600 * S);
      assert.ok(sent.length > 15, `seed ${seed}: ${sent.length} sent`);
      const t0 = (sent[0] as Sent).at;
      const xid = (sent[0] as Sent).msg.transactionId;
      let prev = 0;
      let reachedCap = false;
      for (let i = 1; i < sent.length; i++) {
        const rt = (sent[i] as Sent).at - (sent[i - 1] as Sent).at;
        const what = `seed ${seed}, transmission ${i + 1}: RT ${rt}, RTprev ${prev}`;
        if (i === 1) {
          assert.ok(rt >= 900 && rt <= 1100, what);
        } else if (!reachedCap && rt >= 1.9 * prev - 1 && rt <= 2.1 * prev + 1) {
          intervals++;
          if (rt === 2 * prev) exactDoubles++;
        } else {
          assert.ok(rt >= 0.9 * 3600 * S - 1 && rt <= 1.1 * 3600 * S + 1, `${what} (capped)`);
          assert.ok(2.1 * prev + 1 > 0.9 * 3600 * S || reachedCap, `${what}: capped only once 2·RTprev could pass MRT`);
          reachedCap = true;
          capped++;
        }
        prev = rt;
        const m = (sent[i] as Sent).msg;
        assert.equal(m.transactionId, xid, 'retransmissions keep the transaction id');
        assert.equal(m.options.elapsedTime, Math.min(0xffff, Math.floor(((sent[i] as Sent).at - t0) / 10)));
      }
      assert.ok(reachedCap, `seed ${seed} reached INF_MAX_RT`);
      assert.equal(c.stats.requestsSent, sent.length);
      assert.equal(c.stats.exchanges, 1);
    }
    assert.ok(capped > 40 && intervals > 300, `${capped} capped, ${intervals} doubled`);
    assert.ok(exactDoubles < intervals / 4, 'RAND is used (not always exactly 2·RTprev)');
  });

  it('the sequence of a fixed seed: 1 s, 2 s, 4 s, ... each within the bounds, ~12 transmissions to reach the cap', () => {
    const c = client(99);
    c.start(0);
    const { sent } = run(c, 4 * 3600 * S);
    const rts = sent.slice(1).map((s, i) => s.at - (sent[i] as Sent).at);
    const nominal = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];
    const firstCapped = rts.findIndex((rt, i) => i > 0 && rt < 1.8 * (rts[i - 1] as number));
    assert.ok(firstCapped >= 11 && firstCapped <= 13, `first capped RT at index ${firstCapped}: ${rts.join(' ')}`);
    for (let i = 0; i < firstCapped; i++) {
      const n = (nominal[i] ?? 4096) * S;
      assert.ok(rts[i] as number >= n * 0.9 ** (i + 1) * 0.99 && (rts[i] as number) <= n * 1.1 ** (i + 1) * 1.01, `RT ${i}: ${rts[i]} vs ${n}`);
    }
  });
});

describe('DHCPv6 info client: Reply', () => {
  it('a good Reply configures DNS servers and search domains; refresh after option 32; a new exchange at once then', () => {
    const c = client(5);
    c.start(0);
    let now = 0;
    const { sent, results } = run(c, 10 * S, (m, at) => {
      now = at;
      return replyTo(m, { ...GOOD, infMaxRt: 120 });
    });
    assert.equal(sent.length, 1);
    assert.deepEqual(results, ['changed']);
    assert.equal(c.state, 'CONFIGURED');
    assert.equal(c.transactionId, undefined);
    assert.deepEqual(c.dnsServers, [DNS1, DNS2]);
    assert.deepEqual(c.domainSearch, ['lan.test', 'example.org']);
    assert.equal(c.configVersion, 1);
    assert.equal(c.maxRetransmitMs, 120 * S, 'option 83 taken');
    const info = c.info;
    assert.deepEqual(info?.serverId, SERVER_DUID);
    assert.deepEqual(info?.serverAddress, SERVER_LL);
    assert.equal(info?.receivedAt, now);
    assert.equal(info?.refreshSeconds, 7200);
    assert.equal(info?.refreshAt, now + 7200 * S);
    assert.equal(c.pollAt(), now + 7200 * S);
    assert.equal(c.stats.repliesAccepted, 1);
    assert.equal(c.lastError, undefined);

    // Refresh: a new exchange exactly at refreshAt (no delay), new xid, elapsed 0; same data -> 'accepted'.
    const second = run(c, now + 7200 * S, (m) => replyTo(m, GOOD));
    assert.equal(second.sent.length, 1);
    assert.equal(second.sent[0]?.at, now + 7200 * S);
    assert.notEqual(second.sent[0]?.msg.transactionId, sent[0]?.msg.transactionId);
    assert.equal(second.sent[0]?.msg.options.elapsedTime, 0);
    assert.deepEqual(second.results, ['accepted']);
    assert.equal(c.configVersion, 1, 'unchanged configuration: no new version');
    assert.equal(c.stats.exchanges, 2);

    // Another refresh with other servers and no domains -> 'changed', the lists replaced.
    const third = run(c, now + 2 * 7200 * S, (m) => replyTo(m, { dnsServers: [DNS2], informationRefreshTime: 7200 }));
    assert.deepEqual(third.results, ['changed']);
    assert.deepEqual(c.dnsServers, [DNS2]);
    assert.deepEqual(c.domainSearch, []);
    assert.equal(c.configVersion, 2);
  });

  it('Information Refresh Time: default 86400 s, at least 600 s, 0xffffffff never', () => {
    const cases: [number | undefined, number | undefined][] = [[undefined, 86400], [100, 600], [0, 600], [600, 600], [3600, 3600], [DHCPV6_INFINITY, undefined]];
    for (const [irt, expected] of cases) {
      const c = client(6);
      c.start(0);
      let at = 0;
      run(c, 5 * S, (m, t) => {
        at = t;
        return replyTo(m, irt === undefined ? { dnsServers: [DNS1] } : { dnsServers: [DNS1], informationRefreshTime: irt });
      });
      assert.equal(c.state, 'CONFIGURED');
      assert.equal(c.info?.refreshSeconds, expected ?? Infinity, `option 32 = ${irt}`);
      assert.equal(c.pollAt(), expected === undefined ? undefined : at + expected * S, `option 32 = ${irt}`);
    }
  });

  it('INF_MAX_RT from the server caps later retransmissions; values outside 60..86400 s are ignored', () => {
    for (const [opt83, cap] of [[60, 60], [59, 3600], [86401, 3600], [86400, 86400]] as const) {
      const c = client(7);
      c.start(0);
      let answered = false;
      run(c, 5 * S, (m) => {
        answered = true;
        return replyTo(m, { informationRefreshTime: 600, infMaxRt: opt83 });
      });
      assert.ok(answered);
      assert.equal(c.maxRetransmitMs, cap * S, `option 83 = ${opt83}`);
      if (cap !== 60) continue;
      // The server goes silent: the refresh exchange backs off to 60 s ± 10 %.
      const { sent } = run(c, 600 * S + 20 * 60 * S);
      const rts = sent.slice(1).map((s, i) => s.at - (sent[i] as Sent).at);
      const late = rts.slice(7);
      assert.ok(late.length > 5);
      for (const rt of late) assert.ok(rt >= 54 * S - 1 && rt <= 66 * S + 1, `RT ${rt}`);
    }
  });

  it('a Reply with a failure status is ignored (retransmissions go on) but its INF_MAX_RT is honoured', () => {
    const c = client(8);
    c.start(0);
    let n = 0;
    const { sent, results } = run(c, 8 * S, (m) => {
      n++;
      return n === 1 ? replyTo(m, { ...GOOD, status: { code: Dhcpv6StatusCode.UNSPEC_FAIL, message: 'busy' }, infMaxRt: 60 }) : undefined;
    });
    assert.deepEqual(results, ['ignored']);
    assert.equal(c.state, 'REQUESTING');
    assert.ok(sent.length >= 3, 'still retransmitting');
    assert.deepEqual(c.dnsServers, []);
    assert.equal(c.stats.statusFailures, 1);
    assert.deepEqual(c.lastError, { at: sent[0]?.at, reason: 'status', status: { code: 1, message: 'busy' } });
    assert.equal(c.maxRetransmitMs, 60 * S);
    // An explicit Success status is fine.
    const ok = c.input(sent.at(-1)?.at ?? 0, replyTo(sent.at(-1)?.msg as Dhcpv6Repr, { ...GOOD, status: { code: 0, message: 'ok' } }), SERVER_LL);
    assert.equal(ok, 'changed');
  });

  it('DNS servers without ::, loopback, multicast and duplicates; search domains of host-name characters, no duplicates; both capped', () => {
    const c = client(9, { maxDnsServers: 3, maxSearchDomains: 2 });
    c.start(0);
    run(c, 5 * S, (m) => replyTo(m, {
      dnsServers: [v6('::'), DNS1, v6('::1'), v6('ff02::fb'), DNS1, DNS2, v6('2001:db8::3'), v6('2001:db8::4')],
      domainList: ['ok.test', 'bad name.test', 'ok.test', 'x\n.test', 'b_c-d.example', 'third.test'],
    }));
    assert.deepEqual(c.dnsServers, [DNS1, DNS2, v6('2001:db8::3')]);
    assert.deepEqual(c.domainSearch, ['ok.test', 'b_c-d.example']);
    assert.equal(c.stats.itemsDropped, 5 + 4);
  });
});

describe('DHCPv6 info client: replies to ignore', () => {
  it('malformed bytes, other message types, wrong xid, no server id, client id missing / foreign, replies out of an exchange', () => {
    const c = client(10);
    c.start(0);
    const { sent } = run(c, 1500);
    const m = sent[0]?.msg as Dhcpv6Repr;
    const at = 2000;
    const other = duidLl(Uint8Array.of(2, 0, 0, 0, 0, 2));
    const cases: [Uint8Array, keyof Dhcp6InfoClient['stats'], string][] = [
      [Uint8Array.of(7, 0, 0), 'malformed', 'malformed'],
      [Uint8Array.of(7, 0, 0, 1, 0, 23, 0, 3, 0, 0, 0), 'malformed', 'malformed'],
      [encodeDhcpv6({ msgType: T.ADVERTISE, transactionId: m.transactionId, options: { serverId: SERVER_DUID, clientId: DUID } }), 'wrongType', 'wrong-type'],
      [encodeDhcpv6({ msgType: T.RECONFIGURE, transactionId: m.transactionId, options: { serverId: SERVER_DUID, clientId: DUID } }), 'wrongType', 'wrong-type'],
      [replyTo(m, GOOD, (m.transactionId + 1) & 0xffffff), 'wrongTransaction', 'wrong-transaction'],
      [encodeDhcpv6({ msgType: T.REPLY, transactionId: m.transactionId, options: { clientId: DUID, ...GOOD } }), 'noServerId', 'no-server-id'],
      [encodeDhcpv6({ msgType: T.REPLY, transactionId: m.transactionId, options: { serverId: SERVER_DUID, ...GOOD } }), 'clientIdMismatch', 'client-id-mismatch'],
      [encodeDhcpv6({ msgType: T.REPLY, transactionId: m.transactionId, options: { serverId: SERVER_DUID, clientId: other, ...GOOD } }), 'clientIdMismatch', 'client-id-mismatch'],
    ];
    for (const [bytes, counter, reason] of cases) {
      const before = c.stats[counter];
      assert.equal(c.input(at, bytes, SERVER_LL), 'ignored', reason);
      assert.equal(c.stats[counter], before + 1, reason);
      assert.equal(c.lastError?.reason, reason);
      assert.equal(c.lastError?.at, at);
      assert.equal(c.state, 'REQUESTING');
    }
    assert.equal(c.stats.malformed, 2);
    assert.deepEqual(c.dnsServers, []);
    assert.equal(c.configVersion, 0);
    // The right reply still works afterwards; a second copy of it is out of any exchange.
    const good = replyTo(m, GOOD);
    assert.equal(c.input(at, good, SERVER_LL), 'changed');
    assert.equal(c.input(at, good, SERVER_LL), 'ignored');
    assert.equal(c.lastError?.reason, 'wrong-transaction');
    assert.equal(c.stats.wrongTransaction, 2);
    assert.equal(c.state, 'CONFIGURED');
    // Without a DUID, a reply carrying a client id is not for us.
    const anon = client(11, { duid: undefined });
    anon.start(0);
    const q = run(anon, 1500).sent[0]?.msg as Dhcpv6Repr;
    const withId = encodeDhcpv6({ msgType: T.REPLY, transactionId: q.transactionId, options: { serverId: SERVER_DUID, clientId: DUID, ...GOOD } });
    assert.equal(anon.input(1600, withId, SERVER_LL), 'ignored');
    assert.equal(anon.stats.clientIdMismatch, 1);
    assert.equal(anon.input(1600, replyTo(q, GOOD), SERVER_LL), 'changed');
  });

  it('replies in DELAYING or STOPPED are ignored; input never throws on random bytes', () => {
    const c = client(12);
    assert.equal(c.input(0, Uint8Array.of(7, 0, 0, 1), SERVER_LL), 'ignored');
    c.start(0);
    assert.equal(c.input(0, Uint8Array.of(7, 0, 0, 1, 0, 2, 0, 4, 0, 3, 0, 1), SERVER_LL), 'ignored');
    assert.equal(c.stats.wrongTransaction, 2);
    const rng = new XorShiftRng(77);
    run(c, 1500);
    for (let i = 0; i < 2000; i++) {
      const b = Uint8Array.from({ length: rng.nextU32() % 64 }, () => rng.nextU32() & 0xff);
      if (i % 2 === 0 && b.length >= 4) b[0] = 7;
      assert.equal(c.input(2000, b, SERVER_LL), 'ignored');
    }
    assert.equal(c.state, 'REQUESTING');
  });
});

describe('DHCPv6 info client: restart and stop', () => {
  it('restart in CONFIGURED: a fresh delay and exchange, the configuration kept until the new Reply, INF_MAX_RT back to default', () => {
    const c = client(13);
    c.start(0);
    run(c, 5 * S, (m) => replyTo(m, { ...GOOD, infMaxRt: 60 }));
    assert.equal(c.state, 'CONFIGURED');
    const t = 100 * S;
    c.restart(t);
    assert.equal(c.state, 'DELAYING');
    assert.equal(c.maxRetransmitMs, DHCP6_INFO_TIMING.infMaxRtMs);
    const at = c.pollAt() as number;
    assert.ok(at >= t && at <= t + 1000);
    assert.deepEqual(c.dnsServers, [DNS1, DNS2], 'kept meanwhile');
    c.restart(t + 10);
    assert.equal(c.pollAt(), at, 'a second trigger keeps the pending delay');
    const { sent, results } = run(c, t + 5 * S, (m) => replyTo(m, { dnsServers: [DNS2] }));
    assert.equal(sent[0]?.msg.options.elapsedTime, 0);
    assert.deepEqual(results, ['changed']);
    assert.deepEqual(c.dnsServers, [DNS2]);
    assert.equal(c.stats.exchanges, 2);
  });

  it('restart while REQUESTING abandons the transaction: replies to it are ignored, the new one has short timeouts again', () => {
    const c = client(14);
    c.start(0);
    const first = run(c, 600 * S); // no server: backs off to minutes
    const last = first.sent.at(-1) as Sent;
    c.restart(700 * S);
    assert.equal(c.transactionId, undefined);
    assert.equal(c.input(700 * S, replyTo(last.msg, GOOD), SERVER_LL), 'ignored');
    const again = run(c, 705 * S);
    assert.ok(again.sent.length >= 2, 'IRT again: several transmissions within seconds');
    assert.notEqual(again.sent[0]?.msg.transactionId, last.msg.transactionId);
    assert.equal(c.input(705 * S, replyTo(again.sent[0]?.msg as Dhcpv6Repr, GOOD), SERVER_LL), 'changed');
  });

  it('restart from STOPPED starts; stop clears the configuration (a new version), stops polling, and allows start again', () => {
    const c = client(15);
    c.restart(0);
    assert.equal(c.state, 'DELAYING');
    run(c, 5 * S, (m) => replyTo(m, GOOD));
    assert.equal(c.configVersion, 1);
    c.stop();
    assert.equal(c.state, 'STOPPED');
    assert.equal(c.pollAt(), undefined);
    assert.deepEqual(c.poll(10 ** 9), []);
    assert.deepEqual(c.dnsServers, []);
    assert.deepEqual(c.domainSearch, []);
    assert.equal(c.info, undefined);
    assert.equal(c.configVersion, 2);
    c.stop();
    assert.equal(c.configVersion, 2, 'idempotent');
    c.start(10 * S);
    assert.equal(c.state, 'DELAYING');
  });
});
