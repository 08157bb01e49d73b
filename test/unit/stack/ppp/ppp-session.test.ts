import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { toIpv4 } from '../../../../src/stack/stack.ts';
import { PppSession, type PppEvent } from '../../../../src/stack/ppp/ppp-session.ts';
import { buildCpOptions, buildCpPacket, CpCode, LcpOption, parseCpPacket, parsePppFrame, PppProtocol, uintOption } from '../../../../src/wire/ppp/ppp-packet.ts';
import { isFault } from '../../../../src/wire/fault.ts';
import { eventsOf, PppPair } from './ppp-pair.ts';

const SERVER_V4 = { localAddress: toIpv4('10.64.0.1'), peerAddress: toIpv4('10.64.0.2'), dnsServers: [toIpv4('10.64.0.53'), toIpv4('10.64.0.54')] };
const secrets = (user: string): string | undefined => (user === 'iot' ? 's3cret' : undefined);

function server(protocols: ('pap' | 'chap')[] = ['chap', 'pap']): ConstructorParameters<typeof PppPair>[1] {
  return { ipv4: SERVER_V4, authenticate: { secrets, protocols, name: 'gw' } };
}

function client(password = 's3cret', protocols?: ('pap' | 'chap')[]): ConstructorParameters<typeof PppPair>[0] {
  return { credentials: { user: 'iot', password, ...(protocols !== undefined ? { protocols } : {}) } };
}

function downReason(events: PppEvent[]): string | undefined {
  const d = events.find((e) => e.type === 'down');
  return d?.type === 'down' ? d.reason : undefined;
}

function ipv4Packet(src: string, dst: string, payload = 8): Uint8Array {
  const p = new Uint8Array(20 + payload);
  p[0] = 0x45;
  p[2] = (20 + payload) >> 8;
  p[3] = (20 + payload) & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set([...src.split('.').map(Number)], 12);
  p.set([...dst.split('.').map(Number)], 16);
  return p;
}

describe('PppSession: client against server', () => {
  for (const proto of ['chap', 'pap'] as const) {
    it(`${proto.toUpperCase()} succeeds, IPCP assigns the address and DNS servers, IPV6CP agrees identifiers`, () => {
      const pair = new PppPair(client(), server([proto]));
      pair.open();
      pair.run(10_000);
      const auth = eventsOf(pair.a, 'auth');
      assert.equal(auth.length, 1);
      assert.equal(auth[0]?.outcome.ok, true);
      assert.equal(auth[0]?.outcome.protocol, proto);
      assert.equal(auth[0]?.role, 'peer');
      const sAuth = eventsOf(pair.b, 'auth')[0];
      assert.equal(sAuth?.role, 'authenticator');
      assert.equal(sAuth?.outcome.ok && sAuth.outcome.peerName, 'iot');
      const up = eventsOf(pair.a, 'ipcp-up')[0];
      assert.ok(up);
      assert.equal(up.negotiated.localAddress, toIpv4('10.64.0.2'));
      assert.equal(up.negotiated.peerAddress, toIpv4('10.64.0.1'));
      assert.deepEqual(up.negotiated.dnsServers, [toIpv4('10.64.0.53'), toIpv4('10.64.0.54')]);
      const sUp = eventsOf(pair.b, 'ipcp-up')[0];
      assert.equal(sUp?.negotiated.peerAddress, toIpv4('10.64.0.2'));
      const v6a = eventsOf(pair.a, 'ipv6cp-up')[0];
      const v6b = eventsOf(pair.b, 'ipv6cp-up')[0];
      assert.ok(v6a && v6b);
      assert.deepEqual(v6a.negotiated.localIid, v6b.negotiated.peerIid);
      assert.deepEqual(v6a.negotiated.peerIid, v6b.negotiated.localIid);
      assert.notDeepEqual(v6a.negotiated.localIid, v6a.negotiated.peerIid);
      assert.equal(pair.a.session.phase, 'network');
      // Phases in RFC 1661 order.
      assert.deepEqual(eventsOf(pair.a, 'phase').map((e) => e.phase), ['establish', 'authenticate', 'network']);
      // LCP: compression both ways, ACCM 0.
      const n = pair.a.session.lcpNegotiated;
      assert.equal(n.txAccm, 0);
      assert.equal(n.rxAccm, 0);
      assert.equal(n.txAcfc, true);
      assert.equal(n.txPfc, true);
      assert.notEqual(n.localMagic, n.peerMagic);
    });

    it(`${proto.toUpperCase()} with a wrong password fails on both sides and the link goes down`, () => {
      const pair = new PppPair(client('wrong'), server([proto]));
      pair.open();
      pair.run(30_000);
      const a = eventsOf(pair.a, 'auth')[0];
      const b = eventsOf(pair.b, 'auth')[0];
      assert.equal(a?.outcome.ok, false);
      assert.equal(a?.outcome.ok === false && a.outcome.reason, 'rejected');
      assert.equal(b?.outcome.ok === false && b.outcome.reason, 'bad-credentials');
      assert.equal(eventsOf(pair.a, 'ipcp-up').length, 0);
      assert.equal(eventsOf(pair.b, 'ipcp-up').length, 0);
      assert.equal(pair.a.session.phase, 'dead');
      assert.equal(pair.b.session.phase, 'dead');
      assert.equal(downReason(pair.b.events), 'auth-failed');
      assert.equal(downReason(pair.a.events), 'auth-failed');
    });
  }

  it('an unknown user fails PAP', () => {
    const pair = new PppPair({ credentials: { user: 'nobody', password: 's3cret' } }, server(['pap']));
    pair.open();
    pair.run(30_000);
    assert.equal(eventsOf(pair.b, 'auth')[0]?.outcome.ok, false);
    assert.equal(pair.b.session.phase, 'dead');
  });

  it('the client Naks CHAP when it only speaks PAP, and the server falls back to PAP', () => {
    const pair = new PppPair(client('s3cret', ['pap']), server(['chap', 'pap']));
    pair.open();
    pair.run(10_000);
    assert.equal(eventsOf(pair.a, 'auth')[0]?.outcome.protocol, 'pap');
    assert.equal(eventsOf(pair.a, 'ipcp-up').length, 1);
  });

  it('a client without credentials rejects authentication, and the server refuses the link', () => {
    const pair = new PppPair({}, server());
    pair.open();
    pair.run(30_000);
    assert.equal(downReason(pair.b.events), 'auth-refused');
    assert.equal(eventsOf(pair.a, 'ipcp-up').length, 0);
  });

  it('without authentication both go straight to the Network phase', () => {
    const pair = new PppPair({}, { ipv4: SERVER_V4 });
    pair.open();
    pair.run(10_000);
    assert.deepEqual(eventsOf(pair.a, 'phase').map((e) => e.phase), ['establish', 'network']);
    assert.equal(eventsOf(pair.a, 'ipcp-up')[0]?.negotiated.localAddress, toIpv4('10.64.0.2'));
  });

  it('IP packets cross once IPCP is open, with compressed headers, and not before', () => {
    const pair = new PppPair(client(), server());
    const early = ipv4Packet('10.64.0.2', '10.64.0.1');
    assert.equal(pair.a.session.sendIp(early), false);
    pair.open();
    pair.run(10_000);
    const p = ipv4Packet('10.64.0.2', '10.64.0.1', 100);
    assert.equal(pair.a.session.sendIp(p), true);
    const frame = pair.a.sent.at(-1) as Uint8Array;
    assert.equal(frame[0], 0x21, 'ACFC and PFC: the frame starts with the one-byte protocol');
    pair.run(pair.now + 1);
    assert.equal(pair.b.ip.length, 1);
    assert.deepEqual(pair.b.ip[0]?.packet, p);
    assert.equal(pair.b.ip[0]?.version, 4);
    // IPv6 too.
    const p6 = new Uint8Array(40);
    p6[0] = 0x60;
    assert.equal(pair.b.session.sendIp(p6), true);
    pair.run(pair.now + 1);
    assert.equal(pair.a.ip.at(-1)?.version, 6);
    // Larger than the peer's MRU: refused.
    assert.equal(pair.a.session.sendIp(ipv4Packet('10.64.0.2', '10.64.0.1', 1500)), false);
  });

  it('negotiates through 20 % frame loss', () => {
    const pair = new PppPair(client(), server(), { lossPct: 20, seed: 7 });
    pair.open();
    pair.run(120_000);
    assert.equal(eventsOf(pair.a, 'ipcp-up').length, 1);
    assert.equal(eventsOf(pair.b, 'ipcp-up').length, 1);
  });

  it('close() terminates both sides: closed here, peer-terminated there', () => {
    const pair = new PppPair(client(), server());
    pair.open();
    pair.run(10_000);
    pair.a.session.close(pair.now);
    pair.run(pair.now + 10_000);
    assert.equal(downReason(pair.a.events), 'closed');
    assert.equal(downReason(pair.b.events), 'peer-terminated');
    assert.equal(eventsOf(pair.a, 'ipcp-down').length, 1);
    assert.equal(eventsOf(pair.b, 'ipv6cp-down').length, 1);
    assert.equal(pair.a.session.phase, 'dead');
    assert.equal(pair.b.session.phase, 'dead');
  });

  it('echo keep-alive: a peer gone silent is declared dead after the failures', () => {
    let cut = false;
    const pair = new PppPair({ lcp: { echoIntervalMs: 1000, echoFailures: 3 } }, { ipv4: SERVER_V4, lcp: { echoIntervalMs: 0 } }, {
      tap: (from, f) => (cut && from === 'b' ? undefined : f),
    });
    pair.open();
    pair.run(5000);
    assert.equal(eventsOf(pair.a, 'ipcp-up').length, 1);
    assert.ok(pair.a.session.stats.echoRequestsSent >= 3);
    assert.ok(pair.a.session.stats.echoRepliesReceived >= 3, 'the peer answers echoes');
    cut = true;
    const at = pair.now;
    pair.run(at + 10_000);
    assert.equal(downReason(pair.a.events), 'link-dead');
    assert.equal(pair.a.session.phase, 'dead');
  });

  it('a peer without IPv6 Protocol-Rejects IPV6CP: IPv4 still runs', () => {
    const pair = new PppPair(client(), { ...server(), ipv6: false });
    pair.open();
    pair.run(10_000);
    assert.equal(eventsOf(pair.a, 'ipcp-up').length, 1);
    assert.equal(eventsOf(pair.a, 'ipv6cp-up').length, 0);
    assert.equal(pair.a.session.ipv6cp?.state, 'stopped');
    assert.equal(pair.b.session.stats.protocolRejects, 1);
    assert.equal(pair.a.session.phase, 'network');
  });

  it('no NCP in common closes the link (no-network)', () => {
    const pair = new PppPair({ ipv6: false }, { ipv4: false, ipv6: false });
    pair.open();
    pair.run(30_000);
    assert.equal(downReason(pair.b.events), 'no-network');
    assert.equal(downReason(pair.a.events), 'peer-terminated');
  });

  it('no peer: LCP gives up after Max-Configure requests (negotiation-failed)', () => {
    const events: PppEvent[] = [];
    const sent: Uint8Array[] = [];
    const s = new PppSession({ rng: new XorShiftRng(1) }, (f) => sent.push(f), (e) => events.push(e));
    s.open(0);
    let now = 0;
    for (let i = 0; i < 20; i++) {
      const t = s.pollAt();
      if (t === undefined) break;
      now = t;
      s.poll(now);
    }
    assert.equal(sent.length, 10, 'Max-Configure 10 requests');
    assert.equal(now, 30_000, 'one restart period (3 s) after each');
    assert.equal(downReason(events), 'negotiation-failed');
  });

  it('a line looped back to itself is detected', () => {
    const events: PppEvent[] = [];
    const queue: Uint8Array[] = [];
    const s = new PppSession({ rng: new XorShiftRng(3) }, (f) => queue.push(f), (e) => events.push(e));
    s.open(0);
    let now = 0;
    for (let i = 0; i < 10_000 && s.phase !== 'dead'; i++) {
      const f = queue.shift();
      if (f !== undefined) s.input(now, f, () => undefined);
      else {
        const t = s.pollAt();
        if (t === undefined) break;
        now = t;
        s.poll(now);
      }
    }
    assert.equal(downReason(events), 'looped-back');
  });

  it('a peer that Naks forever is given up on after bounded rounds', () => {
    // The server Naks every LCP request of ours with an MRU we never accept.
    const pair = new PppPair({}, { ipv4: SERVER_V4 }, {
      tap: (from, f) => {
        if (from !== 'a') return f;
        const pf = parsePppFrame(f);
        if (isFault(pf) || pf.protocol !== PppProtocol.LCP) return f;
        const p = parseCpPacket(pf.info);
        if (isFault(p) || p.code !== CpCode.CONFIGURE_REQUEST) return f;
        return undefined;
      },
    });
    // Replace the server's answers by hand: every request of A is answered with a Nak of MRU 64000.
    const a = pair.a.session;
    a.open(0);
    let now = 0;
    const sent = pair.a.sent;
    let handled = 0;
    for (let i = 0; i < 200 && a.phase !== 'dead'; i++) {
      const req = sent.slice(handled).find((f) => {
        const pf = parsePppFrame(f);
        if (isFault(pf) || pf.protocol !== PppProtocol.LCP) return false;
        const p = parseCpPacket(pf.info);
        return !isFault(p) && p.code === CpCode.CONFIGURE_REQUEST;
      });
      handled = sent.length;
      if (req === undefined) {
        const t = a.pollAt();
        if (t === undefined) break;
        now = t;
        a.poll(now);
        continue;
      }
      const p = parseCpPacket((parsePppFrame(req) as { info: Uint8Array }).info);
      if (isFault(p)) break;
      const nak = buildCpPacket(CpCode.CONFIGURE_NAK, p.id, buildCpOptions([uintOption(LcpOption.MRU, 64000, 2)]));
      a.input(now, new Uint8Array([0xff, 0x03, 0xc0, 0x21, ...nak]), () => undefined);
    }
    assert.equal(a.phase, 'dead');
    assert.equal(a.lcp.stats.gaveUp, 1);
    assert.equal(downReason(pair.a.events), 'negotiation-failed');
  });

  it('unknown protocols are Protocol-Rejected once LCP is open; junk never throws', () => {
    const pair = new PppPair(client(), server());
    pair.open();
    pair.run(10_000);
    const before = pair.b.session.stats.protocolRejects;
    pair.b.session.input(pair.now, new Uint8Array([0xff, 0x03, 0x80, 0xfd, 1, 1, 0, 4]), () => undefined); // CCP
    assert.equal(pair.b.session.stats.protocolRejects, before + 1);
    const rng = new XorShiftRng(99);
    for (let i = 0; i < 5000; i++) {
      const f = new Uint8Array(rng.nextU32() % 40);
      for (let j = 0; j < f.length; j++) f[j] = rng.nextU32() & 0xff;
      if (i % 3 === 0 && f.length > 4) f.set([0xff, 0x03, 0xc0, 0x21].slice(0, 4));
      pair.b.session.input(pair.now, f, () => undefined);
    }
    assert.ok(pair.b.session.stats.malformed > 0);
  });
});
