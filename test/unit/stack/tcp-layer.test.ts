/**
 * TCP over the stack: two hosts on a virtual cable, each with a `TcpLayer`, on virtual
 * time. Connect/accept, bulk data both ways with SHA-256, RST for closed ports, and a
 * SYN flood against a bounded half-open queue.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { IOT_SOCKET_ECONNREFUSED } from '../../../src/base/iot-constants.ts';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { TcpLayer, type TcpConn, type TcpListener } from '../../../src/stack/tcp/tcp-layer.ts';
import { run, twoHosts } from '../../support/stack-net.ts';
import { ip4ToBytes } from '../../../src/stack/ipv4-addr.ts';
import { pseudoHeaderSumV4 } from '../../../src/wire/checksum.ts';
import { TcpFlag, emitTcp, tcpHeaderLen } from '../../../src/wire/tcp.ts';

function pattern(n: number, seed: number): Uint8Array {
  const r = new XorShiftRng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r.nextU32() & 0xff;
  return out;
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function setup() {
  const net = twoHosts();
  const ta = new TcpLayer(net.A.stack, { rng: new XorShiftRng(100) });
  const tb = new TcpLayer(net.B.stack, { rng: new XorShiftRng(200) });
  return { ...net, ta, tb };
}

describe('TCP layer over the stack', () => {
  it('connect, accept, 1 MiB each way with SHA-256 equal, graceful close', () => {
    const { sched, A, B, ta, tb } = setup();
    const l = tb.listen(0, 80, 4) as TcpListener;
    const c = ta.connect(sched.now(), B.ip, 80) as TcpConn;
    run(sched, 50);
    assert.equal(c.tcb.state, 'ESTABLISHED');
    const s = tb.accept(l);
    assert.ok(s !== undefined, 'accepted');
    assert.equal(s.tcb.state, 'ESTABLISHED');
    assert.equal(s.remoteIp, A.ip);
    const up = pattern(1 << 20, 1), down = pattern(1 << 20, 2);
    const gotB = new Uint8Array(up.length), gotA = new Uint8Array(down.length);
    let sa = 0, sb = 0, ra = 0, rb = 0;
    const tmp = new Uint8Array(65536);
    for (let i = 0; i < 100_000 && (ra < down.length || rb < up.length); i++) {
      if (sa < up.length) { const n = c.tcb.send(up.subarray(sa, sa + 65536)); if (n > 0) { sa += n; ta.touch(c); } }
      if (sb < down.length) { const n = s.tcb.send(down.subarray(sb, sb + 65536)); if (n > 0) { sb += n; tb.touch(s); } }
      for (let n; (n = s.tcb.recv(tmp)) > 0;) { gotB.set(tmp.subarray(0, n), rb); rb += n; tb.touch(s); }
      for (let n; (n = c.tcb.recv(tmp)) > 0;) { gotA.set(tmp.subarray(0, n), ra); ra += n; ta.touch(c); }
      run(sched, 1);
    }
    assert.equal(sha(gotB), sha(up), 'upstream intact');
    assert.equal(sha(gotA), sha(down), 'downstream intact');
    c.tcb.close();
    ta.touch(c);
    run(sched, 100);
    assert.ok(s.tcb.eof);
    s.tcb.close();
    tb.touch(s);
    run(sched, 100);
    assert.equal(s.tcb.state, 'CLOSED');
    assert.equal(c.tcb.state, 'TIME-WAIT');
    // TIME-WAIT holds nothing for an application: it does not keep the process alive.
    assert.equal(ta.connections, 1);
    assert.equal(ta.openSockets, 0);
    run(sched, 61_000);
    assert.equal(c.tcb.state, 'CLOSED');
    assert.equal(ta.connections, 0, 'TIME-WAIT expired: the table is empty');
    assert.equal(tb.connections, 0);
  });

  it('RFC 6191: a new SYN from the same port takes over a server-side TIME-WAIT at once (newer timestamp)', () => {
    const { sched, B, ta, tb } = setup();
    const l = tb.listen(0, 80, 4) as TcpListener;
    const c = ta.connect(sched.now(), B.ip, 80, 0, 40_000) as TcpConn;
    run(sched, 50);
    const s = tb.accept(l) as TcpConn;
    // The server closes first: it ends in TIME-WAIT.
    s.tcb.close();
    tb.touch(s);
    run(sched, 100);
    c.tcb.close();
    ta.touch(c);
    run(sched, 100);
    assert.equal(s.tcb.state, 'TIME-WAIT');
    assert.equal(c.tcb.state, 'CLOSED');
    assert.equal(tb.openSockets, 1, 'the listener only');
    run(sched, 1000); // the timestamp clock moves on
    const again = ta.connect(sched.now(), B.ip, 80, 0, 40_000) as TcpConn;
    assert.equal(typeof again, 'object');
    run(sched, 20);
    assert.equal(again.tcb.state, 'ESTABLISHED', 'no retransmission needed');
    const s2 = tb.accept(l);
    assert.ok(s2 !== undefined && s2 !== s && s2.tcb.state === 'ESTABLISHED');
    assert.equal(tb.openSockets, 2, 'the listener and the new incarnation (the TIME-WAIT one left the count)');
  });

  it('a SYN to a closed port is answered with RST: ECONNREFUSED', () => {
    const { sched, B, ta, tb } = setup();
    const c = ta.connect(sched.now(), B.ip, 81) as TcpConn;
    run(sched, 50);
    assert.equal(c.tcb.state, 'CLOSED');
    assert.equal(c.tcb.error, IOT_SOCKET_ECONNREFUSED);
    assert.equal(tb.resets, 1);
    assert.equal(ta.connections, 0);
  });

  it('SYN flood from spoofed sources: the half-open queue stays bounded and a real client still gets in', () => {
    const { sched, A, B, ta, tb } = setup();
    const l = tb.listen(0, 80, 4) as TcpListener;
    const dst = ip4ToBytes(B.ip);
    // 2,000 SYNs from spoofed addresses (as hping3 --flood --rand-source would send):
    // their SYN-ACKs go nowhere, so every one would stay half-open.
    for (let i = 0; i < 2000; i++) {
      const src = (0x0a000000 | (100 + (i % 150))) >>> 0; // 10.0.0.100-249: nobody answers ARP
      const repr = { srcPort: 1024 + i, dstPort: 80, seq: i * 7919, ack: 0, flags: TcpFlag.SYN, window: 65535, urgent: 0, options: { mss: 1460 }, payloadLength: 0 };
      const seg = new Uint8Array(tcpHeaderLen(repr));
      emitTcp(repr, seg, pseudoHeaderSumV4(ip4ToBytes(src), dst, 6, seg.length));
      tb.input(sched.now(), { family: 4, src6: new Uint8Array(0), dst6: new Uint8Array(0), ifIndex: B.ifIndex, src, dst: B.ip, protocol: 6, ttl: 64, tos: 0, broadcast: false, header: new Uint8Array(20), checksumVerified: false }, seg);
    }
    run(sched, 10);
    assert.ok(l.halfOpen.length <= 64, `half-open ${l.halfOpen.length} <= 64`);
    assert.ok(l.evicted >= 2000 - 64, `old half-open entries were evicted (${l.evicted})`);
    assert.ok(tb.connections <= 64, `connection table bounded (${tb.connections})`);
    const real = ta.connect(sched.now(), B.ip, 80) as TcpConn;
    run(sched, 200);
    assert.equal(real.tcb.state, 'ESTABLISHED', 'a legitimate client completes its handshake');
    const s = tb.accept(l);
    assert.equal(s?.remoteIp, A.ip);
  });
});
