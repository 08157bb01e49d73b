/**
 * The TCP state machine between two TCBs joined by a simulated wire on a virtual clock
 * (no IP, no stack): segments are converted to `TcpRepr`s, delayed, and dropped with a
 * seeded probability. Deterministic.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { XorShiftRng } from '../../../src/base/rand.ts';
import { IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_ECONNRESET, IOT_SOCKET_ETIMEDOUT } from '../../../src/base/iot-constants.ts';
import { Tcb, type TcbConfig, type TcpSegmentOut } from '../../../src/stack/tcp/tcb.ts';
import { TcpFlag, type TcpRepr } from '../../../src/wire/tcp.ts';
import { tcpOptionsLen } from '../../../src/wire/tcp-options.ts';
import { seqAdd } from '../../../src/wire/tcp-seq.ts';
import { pattern } from '../../support/stack-net.ts';

interface InFlight {
  at: number;
  to: 'a' | 'b';
  repr: TcpRepr;
  payload: Uint8Array;
}

class Wire {
  now = 0;
  readonly queue: InFlight[] = [];
  readonly log: { from: 'a' | 'b'; repr: TcpRepr }[] = [];
  lossPct = 0;
  delayMs = 5;
  /** Drops chosen segments (targeted loss); called before random loss. */
  dropIf: ((from: 'a' | 'b', repr: TcpRepr) => boolean) | undefined;
  readonly rng: XorShiftRng;
  a: Tcb;
  b: Tcb | undefined;
  /** Called with the first SYN that reaches b (the test's "listener"). */
  onSynToB: ((repr: TcpRepr) => void) | undefined;
  bCfg: Partial<TcbConfig>;

  constructor(seed: number, aCfg: Partial<TcbConfig> = {}, bCfg: Partial<TcbConfig> = {}) {
    this.rng = new XorShiftRng(seed);
    this.a = new Tcb(aCfg);
    this.bCfg = bCfg;
  }

  emit(from: 'a' | 'b'): (seg: TcpSegmentOut) => boolean {
    return (seg) => {
      const payload = new Uint8Array(seg.payloadLength);
      let o = 0;
      for (const v of seg.payload) {
        payload.set(v, o);
        o += v.length;
      }
      const repr: TcpRepr = {
        srcPort: from === 'a' ? 1000 : 80, dstPort: from === 'a' ? 80 : 1000, seq: seg.seq, ack: seg.ack,
        flags: seg.flags, window: seg.window, urgent: 0, options: seg.options, payloadLength: seg.payloadLength,
      };
      this.log.push({ from, repr });
      if (this.dropIf?.(from, repr) === true) return true;
      if (this.lossPct > 0 && this.rng.nextU32() % 10000 < this.lossPct * 100) return true; // lost on the wire
      this.queue.push({ at: this.now + this.delayMs, to: from === 'a' ? 'b' : 'a', repr, payload });
      return true;
    };
  }

  /** One round: outputs, then deliveries due now. */
  step(): void {
    this.a.output(this.now, this.emit('a'));
    this.b?.output(this.now, this.emit('b'));
    this.queue.sort((x, y) => x.at - y.at);
    while (this.queue.length > 0 && (this.queue[0] as InFlight).at <= this.now) {
      const m = this.queue.shift() as InFlight;
      if (m.to === 'b') {
        if (this.b === undefined) {
          if ((m.repr.flags & TcpFlag.SYN) !== 0 && this.onSynToB) this.onSynToB(m.repr);
          continue;
        }
        this.b.input(this.now, m.repr, m.payload);
      } else {
        this.a.input(this.now, m.repr, m.payload);
      }
    }
  }

  /** Advances to the next event (delivery or timer). */
  advance(): void {
    const times = [this.queue[0]?.at, this.a.pollAt(), this.b?.pollAt()].filter((t): t is number => t !== undefined);
    const next = Math.min(...times.map((t) => Math.max(t, this.now)));
    this.now = Number.isFinite(next) ? Math.max(this.now, next) : this.now + 1000;
  }

  run(until: () => boolean, maxMs = 600_000, onStep?: () => void): void {
    const end = this.now + maxMs;
    for (let i = 0; i < 5_000_000 && !until(); i++) {
      this.step();
      onStep?.();
      if (until()) break;
      this.advance();
      if (this.now > end) assert.fail(`condition not reached within ${maxMs} ms of virtual time (a ${this.a.state}, b ${this.b?.state})`);
    }
    // A loop that stops making progress (a timer stuck in the past) must fail, not pass.
    if (!until()) assert.fail(`condition not reached: the simulation stopped advancing at ${this.now} ms (a ${this.a.state}, b ${this.b?.state})`);
  }

  /** Connects a -> b with b accepting the first SYN. */
  connect(): void {
    this.onSynToB = (syn) => {
      this.b = new Tcb(this.bCfg);
      this.b.accept(this.now, syn, 0x8000_0000 + 12345);
    };
    this.a.connect(this.now, 0xffff_f000); // near the wrap, on purpose
    this.run(() => this.a.state === 'ESTABLISHED' && this.b?.state === 'ESTABLISHED', 30_000);
  }
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Moves `data` a -> b and `back` b -> a through the app APIs, reading as it arrives. */
function transfer(w: Wire, data: Uint8Array, back: Uint8Array, maxMs = 3_600_000): { atB: Uint8Array; atA: Uint8Array } {
  const b = w.b as Tcb;
  const atB = new Uint8Array(data.length), atA = new Uint8Array(back.length);
  let sentA = 0, sentB = 0, gotB = 0, gotA = 0;
  const tmp = new Uint8Array(65536);
  w.run(() => gotB === data.length && gotA === back.length, maxMs, () => {
    if (sentA < data.length) sentA += w.a.send(data.subarray(sentA, Math.min(data.length, sentA + 65536)));
    if (sentB < back.length) sentB += b.send(back.subarray(sentB, Math.min(back.length, sentB + 65536)));
    for (let n; (n = b.recv(tmp)) > 0;) { atB.set(tmp.subarray(0, n), gotB); gotB += n; }
    for (let n; (n = w.a.recv(tmp)) > 0;) { atA.set(tmp.subarray(0, n), gotA); gotA += n; }
  });
  return { atB, atA };
}

describe('TCB: handshake', () => {
  it('three-way handshake negotiates MSS, window scaling, timestamps and SACK; ISNs near the wrap', () => {
    const w = new Wire(1);
    w.connect();
    const syn = w.log[0]?.repr;
    assert.equal(syn?.flags, TcpFlag.SYN);
    assert.equal(syn?.options.mss, 1460);
    assert.equal(syn?.options.sackPermitted, true);
    assert.ok(syn?.options.windowScale !== undefined && syn.options.timestamp !== undefined);
    const synAck = w.log.find((l) => l.from === 'b')?.repr;
    assert.equal(synAck?.flags, TcpFlag.SYN | TcpFlag.ACK);
    assert.equal(synAck?.ack, (0xffff_f000 + 1) >>> 0);
    assert.equal(w.a.sndUna, (0xffff_f000 + 1) >>> 0);
  });

  it('connection refused: RST+ACK to the SYN -> ECONNREFUSED', () => {
    const w = new Wire(2);
    w.onSynToB = (syn) => {
      w.queue.push({ at: w.now + 5, to: 'a', payload: new Uint8Array(0), repr: { srcPort: 80, dstPort: 1000, seq: 0, ack: (syn.seq + 1) >>> 0, flags: TcpFlag.RST | TcpFlag.ACK, window: 0, urgent: 0, options: {}, payloadLength: 0 } });
    };
    w.a.connect(0, 1000);
    w.run(() => w.a.state === 'CLOSED', 10_000);
    assert.equal(w.a.error, IOT_SOCKET_ECONNREFUSED);
  });

  it('a lost SYN: the initial window is one segment (RFC 6928 2)', () => {
    const firstFlight = (loseSyn: boolean): number => {
      const w = new Wire(4);
      let dropped = !loseSyn;
      w.dropIf = (from, r) => from === 'a' && (r.flags & TcpFlag.SYN) !== 0 && !dropped && (dropped = true);
      w.connect();
      w.a.send(pattern(20 * 1448, 1));
      const n0 = w.log.length;
      w.a.output(w.now, w.emit('a'));
      return w.log.slice(n0).filter((l) => l.repr.payloadLength > 0).length;
    };
    assert.equal(firstFlight(false), 10, 'IW10 after a clean handshake');
    assert.equal(firstFlight(true), 1, 'one segment after the SYN was retransmitted');
  });

  it('no answer: SYN retransmitted with back-off, then ETIMEDOUT', () => {
    const w = new Wire(3, { synRetries: 3 });
    w.a.connect(0, 1000);
    w.run(() => w.a.state === 'CLOSED', 120_000);
    assert.equal(w.a.error, IOT_SOCKET_ETIMEDOUT);
    const syns = w.log.filter((l) => l.repr.flags === TcpFlag.SYN);
    assert.equal(syns.length, 4, 'the SYN and 3 retransmissions');
  });
});

describe('TCB: data transfer', () => {
  for (const lossPct of [0, 5, 20]) {
    it(`1 MiB each way concurrently, SHA-256 equal, ${lossPct} % loss`, () => {
      const w = new Wire(10 + lossPct);
      w.connect();
      w.lossPct = lossPct;
      const data = pattern(1 << 20, 7), back = pattern(1 << 20, 8);
      const { atB, atA } = transfer(w, data, back);
      assert.equal(sha(atB), sha(data));
      assert.equal(sha(atA), sha(back));
    });
  }
});

describe('TCB: loss recovery (RFC 6675 pipe, RACK-TLP, PRR)', () => {
  /** Data segments a sent with sequence number `seq` (first transmission and retransmissions). */
  const sentAt = (w: Wire, seq: number): number => w.log.filter((l) => l.from === 'a' && l.repr.payloadLength > 0 && l.repr.seq === seq).length;
  const dataSegs = (w: Wire): number => w.log.filter((l) => l.from === 'a' && l.repr.payloadLength > 0).length;

  it('one segment lost mid-window: only that segment is sent again, by fast recovery, no timeout', () => {
    const w = new Wire(40);
    w.connect();
    const b = w.b as Tcb;
    const data = pattern(100 * 1460, 1);
    const target = seqAdd(w.a.sndUna, 20 * 1448);
    let dropped = false;
    w.dropIf = (from, r) => {
      if (from === 'a' && r.seq === target && !dropped) return (dropped = true);
      return false;
    };
    const got = transfer(w, data, new Uint8Array(0));
    assert.equal(sha(got.atB), sha(data));
    assert.ok(dropped);
    assert.equal(sentAt(w, target), 2, 'the lost segment went out twice');
    assert.deepEqual({ ...w.a.stats }, { retransmittedSegments: 1, timeouts: 0, fastRecoveries: 1, lossProbes: 0 });
    assert.equal(dataSegs(w), Math.ceil(data.length / 1448) + 1, 'no other segment was sent twice');
    assert.equal(b.state, 'ESTABLISHED');
  });

  it('the last two segments of a burst lost: a tail loss probe and RACK repair them, no timeout', () => {
    const w = new Wire(41);
    w.connect();
    const data = pattern(10 * 1448, 2);
    const tail = [seqAdd(w.a.sndUna, 8 * 1448), seqAdd(w.a.sndUna, 9 * 1448)];
    const dropped = new Set<number>();
    w.dropIf = (from, r) => {
      if (from !== 'a' || !tail.includes(r.seq) || dropped.has(r.seq)) return false;
      dropped.add(r.seq);
      return true;
    };
    const t0 = w.now;
    const got = transfer(w, data, new Uint8Array(0));
    assert.equal(sha(got.atB), sha(data));
    assert.equal(dropped.size, 2);
    assert.deepEqual({ ...w.a.stats }, { retransmittedSegments: 2, timeouts: 0, fastRecoveries: 1, lossProbes: 1 });
    assert.ok(w.now - t0 < 200, `repaired well before the 200 ms minimum RTO (${w.now - t0} ms)`);
  });

  it('a single lost tail segment falls back to the RTO (RFC 8985 7.2: PTO includes the worst-case delayed ACK)', () => {
    const w = new Wire(45);
    w.connect();
    const data = pattern(10 * 1448, 2);
    const last = seqAdd(w.a.sndUna, 9 * 1448);
    let dropped = false;
    w.dropIf = (from, r) => from === 'a' && r.seq === last && !dropped && (dropped = true);
    const got = transfer(w, data, new Uint8Array(0));
    assert.equal(sha(got.atB), sha(data));
    assert.equal(w.a.stats.retransmittedSegments, 1);
  });

  it('a lost retransmission is found by RACK while data flows (no timeout)', () => {
    const w = new Wire(42);
    w.connect();
    const data = pattern(400 * 1448, 3);
    const target = seqAdd(w.a.sndUna, 30 * 1448);
    let copies = 0;
    w.dropIf = (from, r) => from === 'a' && r.seq === target && r.payloadLength > 0 && ++copies <= 2;
    const got = transfer(w, data, new Uint8Array(0));
    assert.equal(sha(got.atB), sha(data));
    assert.equal(sentAt(w, target), 3, 'original, lost retransmission, second retransmission');
    assert.equal(w.a.stats.timeouts, 0);
  });

  it('without SACK: three duplicate ACKs trigger fast retransmit (RFC 5681), NewReno partial ACKs repair a second loss', () => {
    const w = new Wire(43, { sack: false }, { sack: false });
    w.connect();
    const data = pattern(200 * 1448, 4);
    const t1 = seqAdd(w.a.sndUna, 40 * 1448), t2 = seqAdd(w.a.sndUna, 44 * 1448);
    const dropped = new Set<number>();
    w.dropIf = (from, r) => {
      if (from !== 'a' || (r.seq !== t1 && r.seq !== t2) || dropped.has(r.seq)) return false;
      dropped.add(r.seq);
      return true;
    };
    const got = transfer(w, data, new Uint8Array(0));
    assert.equal(sha(got.atB), sha(data));
    assert.equal(dropped.size, 2);
    assert.equal(w.a.stats.timeouts, 0);
    assert.equal(w.a.stats.fastRecoveries, 1, 'both losses repaired in one recovery episode');
    assert.equal(w.a.stats.retransmittedSegments, 2);
  });

  it('5 % random loss both ways: recovered mostly without timeouts', () => {
    const w = new Wire(44);
    w.connect();
    w.lossPct = 5;
    const data = pattern(1 << 20, 5);
    const got = transfer(w, data, new Uint8Array(0));
    assert.equal(sha(got.atB), sha(data));
    const st = w.a.stats;
    assert.ok(st.timeouts * 5 < st.fastRecoveries, `timeouts ${st.timeouts} vs fast recoveries ${st.fastRecoveries}`);
  });
});

describe('TCB: closing', () => {
  it('graceful close both ways: FIN-WAIT-1/2, CLOSE-WAIT, LAST-ACK, TIME-WAIT, CLOSED', () => {
    const w = new Wire(20);
    w.connect();
    const b = w.b as Tcb;
    assert.equal(w.a.send(new TextEncoder().encode('bye')), 3);
    w.a.close();
    w.run(() => b.state === 'CLOSE-WAIT' && w.a.state === 'FIN-WAIT-2', 10_000);
    const buf = new Uint8Array(8);
    assert.equal(b.recv(buf), 3);
    assert.ok(b.eof, 'the FIN is visible as EOF after the data');
    b.close();
    w.run(() => b.state === 'CLOSED' && w.a.state === 'TIME-WAIT', 10_000);
    const twAt = w.now;
    w.run(() => w.a.state === 'CLOSED', 120_000);
    assert.ok(w.now - twAt >= 60_000 - 10, 'TIME-WAIT lasts 2 MSL');
    assert.equal(w.a.error, undefined);
  });

  it('FIN-WAIT-2: an orphaned connection gives up after finWait2Ms; a half-closed one waits for the peer', () => {
    const finWait2 = (orphan: boolean): Tcb => {
      const w = new Wire(22, { finWait2Ms: 30_000 });
      w.connect();
      w.a.close();
      if (orphan) w.a.orphan(w.now);
      w.run(() => w.a.state === 'FIN-WAIT-2', 10_000);
      const t0 = w.now;
      w.run(() => w.now - t0 > 40_000 || w.a.state === 'CLOSED', 60_000);
      if (orphan) assert.ok(w.now - t0 >= 30_000 - 50, `closed after ${w.now - t0} ms`);
      return w.a;
    };
    assert.equal(finWait2(true).state, 'CLOSED');
    assert.equal(finWait2(false).state, 'FIN-WAIT-2');
  });

  it('RFC 6191: in TIME-WAIT a SYN opens a new incarnation only with a newer timestamp', () => {
    const w = new Wire(21);
    w.connect();
    const b = w.b as Tcb;
    w.a.close();
    w.run(() => b.state === 'CLOSE-WAIT', 10_000);
    b.close();
    w.run(() => w.a.state === 'TIME-WAIT' && b.state === 'CLOSED', 10_000);
    const syn = (tsValue: number): TcpRepr => ({
      srcPort: 80, dstPort: 1000, seq: 5, ack: 0, flags: TcpFlag.SYN, window: 65535, urgent: 0, payloadLength: 0,
      options: { mss: 1460, timestamp: { value: tsValue, echo: 0 } },
    });
    assert.equal(w.a.acceptsNewIncarnation(syn(w.now + 1000)), true, 'newer timestamp');
    assert.equal(w.a.acceptsNewIncarnation(syn(0)), false, 'older timestamp');
  });

  it('RFC 5961: an in-window RST with the wrong sequence draws a challenge ACK; the exact one resets', () => {
    const w = new Wire(21);
    w.connect();
    const b = w.b as Tcb;
    const rst = (seq: number): TcpRepr => ({ srcPort: 80, dstPort: 1000, seq, ack: 0, flags: TcpFlag.RST, window: 0, urgent: 0, options: {}, payloadLength: 0 });
    const before = w.log.length;
    w.a.input(w.now, rst((w.a.rcvNxt + 100) >>> 0), new Uint8Array(0));
    assert.equal(w.a.state, 'ESTABLISHED', 'not reset');
    w.step();
    const challenge = w.log.slice(before).find((l) => l.from === 'a');
    assert.equal(challenge?.repr.flags, TcpFlag.ACK, 'a challenge ACK went out');
    w.a.input(w.now, rst(w.a.rcvNxt), new Uint8Array(0));
    assert.equal(w.a.state, 'CLOSED');
    assert.equal(w.a.error, IOT_SOCKET_ECONNRESET);
    void b;
  });
});

describe('TCB: unacceptable segments', () => {
  it('old data always draws a duplicate ACK (no rate limit); out-of-window pure ACKs are limited to 10/s', () => {
    const w = new Wire(23);
    w.connect();
    const ackedSegs = (make: (i: number) => [TcpRepr, Uint8Array]): number => {
      const before = w.log.length;
      for (let i = 0; i < 15; i++) {
        const [repr, payload] = make(i);
        w.a.input(w.now, repr, payload);
        w.step();
      }
      return w.log.slice(before).filter((l) => l.from === 'a' && l.repr.flags === TcpFlag.ACK).length;
    };
    // A retransmission of bytes a already has (its ACK was lost on the way back).
    const old = (): [TcpRepr, Uint8Array] => [{
      srcPort: 80, dstPort: 1000, seq: (w.a.rcvNxt - 100) >>> 0, ack: w.a.sndNxt, flags: TcpFlag.ACK, window: 65535, urgent: 0, options: {}, payloadLength: 50,
    }, new Uint8Array(50)];
    assert.equal(ackedSegs(old), 15, 'each old data segment is answered');
    // Pure ACKs far beyond the window (a spoofer or an ACK loop): challenge-ACK budget.
    const far = (): [TcpRepr, Uint8Array] => [{
      srcPort: 80, dstPort: 1000, seq: (w.a.rcvNxt + 0x40000000) >>> 0, ack: w.a.sndNxt, flags: TcpFlag.ACK, window: 65535, urgent: 0, options: {}, payloadLength: 0,
    }, new Uint8Array(0)];
    assert.equal(ackedSegs(far), 10, 'rate-limited to 10 per second');
    assert.equal(w.a.state, 'ESTABLISHED');
  });
});

describe('TCB: flow control and timers', () => {
  it('zero window: the sender stops, probes with the persist timer, resumes when the reader drains', () => {
    const w = new Wire(30, {}, { recvBufferBytes: 8192 });
    w.connect();
    const b = w.b as Tcb;
    const data = pattern(64 * 1024, 3);
    let sent = 0;
    // Fill b's 8 KiB window without reading.
    w.run(() => b.readable === 8192, 60_000, () => {
      if (sent < data.length) sent += w.a.send(data.subarray(sent));
    });
    const before = w.log.length;
    const t0 = w.now;
    w.run(() => w.now - t0 > 5000, 10_000);
    const probes = w.log.slice(before).filter((l) => l.from === 'a' && l.repr.payloadLength <= 1 && (l.repr.flags & TcpFlag.ACK) !== 0);
    assert.ok(probes.length >= 2, `window probes sent while the window was closed (${probes.length})`);
    assert.equal(b.readable, 8192, 'nothing beyond the window was accepted');
    // Drain: the transfer completes.
    const got: number[] = [];
    const tmp = new Uint8Array(4096);
    w.run(() => got.length === data.length, 600_000, () => {
      if (sent < data.length) sent += w.a.send(data.subarray(sent));
      for (let n; (n = b.recv(tmp)) > 0;) got.push(...tmp.subarray(0, n));
    });
    assert.equal(sha(Uint8Array.from(got)), sha(data));
  });

  it('delayed ACK: a lone segment is acknowledged after delayedAckMs; every second full segment at once', () => {
    const w = new Wire(31, { noDelay: true });
    w.connect();
    w.delayMs = 1;
    const b = w.b as Tcb;
    const start = w.log.length;
    w.a.send(new Uint8Array(100));
    w.run(() => b.readable === 100, 1000);
    const arrived = w.now;
    w.run(() => w.log.slice(start).some((l) => l.from === 'b'), 1000);
    const ack = w.log.slice(start).find((l) => l.from === 'b');
    assert.ok(ack !== undefined);
    assert.ok(w.now - arrived >= 40 - 1 && w.now - arrived <= 41, `lone segment ACKed after ${w.now - arrived} ms (delayed ACK 40 ms)`);
    // Two full segments: the second is ACKed immediately.
    const s2 = w.log.length;
    w.a.send(new Uint8Array(2 * 1448));
    w.run(() => b.readable === 100 + 2 * 1448, 1000);
    const t2 = w.now;
    w.run(() => w.log.slice(s2).some((l) => l.from === 'b'), 1000);
    assert.ok(w.now - t2 <= 1, 'ACK for every second full-sized segment at once');
  });

  it('Nagle: small writes coalesce while data is unacknowledged; noDelay sends each at once', () => {
    const count = (noDelay: boolean): number => {
      const w = new Wire(32, { noDelay });
      w.connect();
      w.delayMs = 20;
      const s0 = w.log.length;
      for (let i = 0; i < 10; i++) {
        w.a.send(new Uint8Array(10));
        w.step();
        w.now += 1;
      }
      w.run(() => (w.b as Tcb).readable === 100, 10_000);
      // Distinct segments: the path's RTT just grew 4x, so a tail loss probe may repeat one.
      return new Set(w.log.slice(s0).filter((l) => l.from === 'a' && l.repr.payloadLength > 0).map((l) => l.repr.seq)).size;
    };
    const nagle = count(false), nodelay = count(true);
    assert.equal(nodelay, 10, 'noDelay: one segment per write');
    assert.ok(nagle <= 3, `Nagle coalesced 10 writes into ${nagle} segments`);
  });

  it('simultaneous open: both send SYN, both reach SYN-RECEIVED, then ESTABLISHED; data flows', () => {
    const w = new Wire(33);
    w.b = new Tcb();
    w.a.connect(w.now, 0x1000);
    w.b.connect(w.now, 0x9000);
    const b = w.b;
    let sawSynReceived = false;
    w.run(() => w.a.state === 'ESTABLISHED' && b.state === 'ESTABLISHED', 30_000, () => {
      if (w.a.state === 'SYN-RECEIVED' && b.state === 'SYN-RECEIVED') sawSynReceived = true;
    });
    assert.ok(sawSynReceived, 'both ends passed through SYN-RECEIVED');
    assert.ok(w.now < 1000, `no retransmission timeout needed (${w.now} ms)`);
    const data = pattern(10_000, 9);
    const got = transfer(w, data, data.subarray(0, 5000));
    assert.equal(sha(got.atB), sha(data));
    assert.equal(sha(got.atA), sha(data.subarray(0, 5000)));
  });

  it('simultaneous close: both send FIN, CLOSING, both reach TIME-WAIT', () => {
    const w = new Wire(33);
    w.connect();
    const b = w.b as Tcb;
    w.a.close();
    b.close();
    w.run(() => w.a.state === 'TIME-WAIT' && b.state === 'TIME-WAIT', 10_000);
  });

  it('keep-alive: probes after the idle time; a dead peer is aborted after keepCount probes', () => {
    const w = new Wire(34, { keepAlive: true, keepIdleMs: 10_000, keepIntervalMs: 1000, keepCount: 3 });
    w.connect();
    // The peer disappears: nothing reaches it any more.
    w.lossPct = 100;
    w.run(() => w.a.state === 'CLOSED', 60_000);
    assert.equal(w.a.error, -13, 'ECONNABORTED');
    const probes = w.log.filter((l) => l.from === 'a' && l.repr.payloadLength === 0 && l.repr.seq === ((w.a.sndMax - 1) >>> 0));
    assert.ok(probes.length >= 3, `${probes.length} keep-alive probes`);
  });
});

describe('TCB: path MTU (lowerMss)', () => {
  it('a narrower path mid-transfer: lowerMss splits and resends the dropped segments at once, later ones fit, no timeout', () => {
    const w = new Wire(60);
    w.connect();
    const b = w.b as Tcb;
    assert.equal(w.a.sndMss, 1460);
    // From now on the path carries 1280-byte IPv6 packets: TCP header + options + data <= 1240.
    const mss6 = 1280 - 60;
    let narrow = false, ptb = false, dropped = 0;
    const tooBig = (r: TcpRepr): boolean => 20 + tcpOptionsLen(r.options) + r.payloadLength > 1280 - 40;
    w.dropIf = (from, r) => {
      if (!narrow || from !== 'a' || !tooBig(r)) return false;
      dropped++;
      ptb = true; // the router answers with a Packet Too Big
      return true;
    };
    const data = pattern(400 * 1448, 61);
    let sent = 0, got = 0;
    const atB = new Uint8Array(data.length), tmp = new Uint8Array(65536);
    let lowered = false, afterLower = 0, oversizedAfter = 0;
    w.run(() => got === data.length, 60_000, () => {
      if (sent < data.length) sent += w.a.send(data.subarray(sent, Math.min(data.length, sent + 65536)));
      for (let n; (n = b.recv(tmp)) > 0;) { atB.set(tmp.subarray(0, n), got); got += n; }
      if (!narrow && got > 50 * 1448) narrow = true;
      if (ptb && !lowered) {
        assert.equal(w.a.lowerMss(mss6), true);
        assert.equal(w.a.lowerMss(mss6), false, 'the same value again changes nothing');
        assert.equal(w.a.lowerMss(1460), false, 'never raised');
        lowered = true;
        afterLower = w.log.length;
      }
    });
    for (const l of w.log.slice(afterLower)) if (l.from === 'a' && tooBig(l.repr)) oversizedAfter++;
    assert.equal(sha(atB), sha(data));
    assert.ok(lowered && dropped > 0, `segments were dropped (${dropped}) and the MSS lowered`);
    assert.equal(w.a.sndMss, mss6);
    assert.equal(oversizedAfter, 0, 'nothing too large after lowerMss');
    assert.equal(w.a.stats.timeouts, 0, 'the dropped segments went out again without waiting for the RTO');
    assert.equal(w.a.stats.fastRecoveries, 0, 'not treated as congestion');
  });

  it('lowerMss does nothing in SYN-SENT or CLOSED and keeps a floor of 64', () => {
    const w = new Wire(62);
    assert.equal(w.a.lowerMss(500), false, 'CLOSED');
    w.a.connect(0, 1000);
    assert.equal(w.a.lowerMss(500), false, 'SYN-SENT: the peer MSS is not known yet');
    w.connect();
    assert.equal(w.a.lowerMss(10), true);
    assert.equal(w.a.sndMss, 64);
  });

  it('defaultPeerMss: the send MSS assumed without an MSS option (RFC 9293 MUST-15: 1220 on IPv6)', () => {
    const syn: TcpRepr = { srcPort: 1000, dstPort: 80, seq: 5, ack: 0, flags: TcpFlag.SYN, window: 65535, urgent: 0, options: {}, payloadLength: 0 };
    const v4 = new Tcb({});
    v4.accept(0, syn, 1);
    assert.equal(v4.sndMss, 536);
    const v6 = new Tcb({ mss: 1440, defaultPeerMss: 1220 });
    v6.accept(0, syn, 1);
    assert.equal(v6.sndMss, 1220);
  });
});

describe('TCB: a link that refuses frames', () => {
  it('retries on a short timer (no data stranded, no busy loop) once the link takes frames again', () => {
    const w = new Wire(40);
    w.connect();
    const b = w.b as Tcb;
    // The link refuses every frame from a for 50 ms (a full queue).
    let refusing = true;
    const inner = w.emit.bind(w);
    w.emit = (from) => {
      const send = inner(from);
      return (seg) => (from === 'a' && refusing ? false : send(seg));
    };
    assert.equal(w.a.send(new Uint8Array(10).fill(9)), 10);
    const t0 = w.now;
    w.a.output(w.now, w.emit('a'));
    const at = w.a.pollAt();
    assert.ok(at !== undefined && at > w.now, `blocked: the next attempt is in the future (${at}), not a busy loop`);
    let attempts = 0;
    w.run(() => w.now - t0 >= 50, 1000, () => attempts++);
    assert.ok(attempts < 100, `${attempts} polls in 50 ms while blocked`);
    refusing = false;
    w.run(() => b.readable === 10 && w.a.sendBuf.length === 0, 1000);
    assert.equal(b.readable, 10, 'delivered');
    assert.equal(w.a.sendBuf.length, 0, 'and acknowledged');
  });
});
