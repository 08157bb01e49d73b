/**
 * Robustness (issue 3 acceptance): 1,000,000 random and mutated frames, seeded and
 * deterministic, into a live stack with open TCP connections and UDP sockets, on virtual
 * time with timers firing and real traffic flowing in between.
 *
 * Set-up: two stacks on a virtual cable; B is the stack under test, A its honest peer.
 * Four TCP connections (two opened by each side) carry a seeded byte pattern both ways,
 * paced over the whole run; a fifth, idle one is the designated victim of one exact
 * RST; UDP echo, a connected UDP socket and a broadcast listener on B; A sends a
 * datagram to the echo port after every batch of 256 frames.
 * The injector writes frames straight into B's side of the cable (A's frames share that
 * queue, in order):
 * - random bytes, mostly full-size, aimed at B's MAC/IP or broadcast or nowhere;
 * - golden frames (A's real traffic: ARP, UDP, fragmented ping, ICMP errors, and a
 *   rolling window of A's latest TCP segments on the live connections) mutated by byte
 *   and bit edits, truncation, extension and overwrites of interesting fields (IPv4
 *   IHL/total length/fragment field/protocol/addresses, TCP data offset/flags/options,
 *   sequence and acknowledgment numbers set near the live windows, ARP fields, UDP
 *   length), checksums recomputed for most of them so they reach TCP/UDP/ICMP;
 * - crafted TCP segments on the live 4-tuples (seq at and around RCV.NXT and the window
 *   edges, ACK around SND.UNA/SND.MAX, RST/SYN/FIN/any flags, garbage SACK, timestamp,
 *   window-scale, MSS and unknown options, malformed option lengths, lying data
 *   offsets), some of them fragmented; SYN floods on the listener; segments to closed
 *   ports; overlapping, partial and oversize fragments; ICMP errors quoting the live
 *   connections; ARP requests and replies from strangers.
 *
 * What a blind injector may legitimately break, and the choice made here: TCP cannot
 * tell a forged segment from a real one once it carries the right 4-tuple, a sequence
 * number the receiver accepts and a valid checksum. Such a segment can legitimately
 * corrupt or stall a stream: in-window data or FIN; an RST at exactly RCV.NXT (RFC
 * 5961 3.2); an acceptable ACK (RFC 5961 5.2: acknowledging data the peer never got,
 * shrinking the window with a newer SND.WL1, a newer TS.Recent that makes PAWS drop the
 * peer's real segments). So every injected frame passes through a guard that parses it
 * as B would (same wire parsers) and, if it reaches a live connection and could do one
 * of those things, moves its sequence number out of the window (an RST only off the
 * exact value) and fixes the checksum: it still exercises PAWS, the acceptability test,
 * RFC 5961 challenge ACKs and their rate limit. The guard is conservative about timing:
 * a frame is judged against every state B can be in when it is processed (RCV.NXT
 * between B's value and A's SND.MAX: the cable is FIFO; a receive window up to the
 * buffer, see `rcvWindowBound`). Left through on purpose:
 * in-window RST off RCV.NXT and in-window SYN (challenge ACKs), segments without ACK,
 * ACKs of data never sent, everything out of window, and everything for other 4-tuples.
 * Not covered by the guard: TCP segments that only exist after reassembly of mutated
 * fragments (a forged one would need a matching checksum as well). ARP spoofing of A's
 * address by mutated ARP frames is not guarded either: B must survive the resulting
 * loss. Integrity is then checked on every connection except the victim: each must
 * deliver the full pattern byte-equal, and none may be reset.
 *
 * Checked while injecting: nothing escapes (`advanceTo` never throws, `internalError`
 * and `callbackErrors` stay 0 on both stacks), and invariants seen from outside (the
 * stack exposes no invariant check of its own): SND.UNA <= SND.NXT <= SND.MAX,
 * in-flight within the send buffer, ring contents within their capacity, the
 * connection table, half-open queue, ARP cache, reassembly memory and UDP queues within
 * their bounds. Heap (after a forced GC) at 10 % and at the end of the run must not grow
 * by more than `HEAP_GROWTH_LIMIT`. Afterwards: the streams complete intact, new TCP
 * connections, UDP echo and ping work, and the survivors close gracefully.
 *
 * Environment: IOTNET_ROBUSTNESS_FRAMES (default 1,000,000), IOTNET_ROBUSTNESS_SEED,
 * IOTNET_ROBUSTNESS_STREAM_KIB (per direction per connection, default 1024),
 * IOTNET_ROBUSTNESS_DEBUG (progress on stderr, TCB dumps on failure).
 *
 * The machinery (dice, streams, guard, TCP kinds, mutation framework, the run) is shared
 * with the IPv6 run in test/support/robustness.ts; this file holds what is IPv4's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PingResult } from '../../src/stack/stack.ts';
import { aimRandomFrame, fixChecksums } from '../support/frame-mutator.ts';
import {
  Dice, Guard, InjectorBase, checkFreshConnections, checkNothingEscaped, checkTcpInvariants, closeSurvivors, injectFrames, rd16,
  reportRun, robustnessEnv, secs, tcpRig, wr16, wr32, type FrameKind, type InjectionSetup, type Live,
} from '../support/robustness.ts';
import { dec, drain, enc, ipFrame, run, twoHosts, udpTargets, type Host } from '../support/stack-net.ts';

const { frames: FRAMES, seed: SEED, streamBytes: STREAM_BYTES, debug: DEBUG } = robustnessEnv(0x5eed1);
/** Heap growth allowed from 10 % of the run to its end (measured: about 0.5 MiB, flat from 1M to 3M frames). */
const HEAP_GROWTH_LIMIT = 4 * 1024 * 1024;

/** Splits an unfragmented IPv4 frame into fragments (8-byte multiples), in order. */
function fragment4(f: Uint8Array, pieces: number, dice: Dice): Uint8Array[] {
  const hl = ((f[14] ?? 0) & 0x0f) * 4;
  const payload = f.subarray(14 + hl, 14 + rd16(f, 16));
  const out: Uint8Array[] = [];
  let off = 0;
  for (let i = 0; i < pieces && off < payload.length; i++) {
    let len = i === pieces - 1 ? payload.length - off : Math.max(8, (dice.int(Math.ceil(payload.length / pieces) + 8) >> 3) << 3);
    len = Math.min(len, payload.length - off);
    const last = off + len >= payload.length;
    const g = new Uint8Array(14 + hl + len);
    g.set(f.subarray(0, 14 + hl));
    g.set(payload.subarray(off, off + len), 14 + hl);
    wr16(g, 16, hl + len);
    wr16(g, 20, (last ? 0 : 0x2000) | (off >> 3));
    fixChecksums(g, false);
    out.push(g);
    off += len;
  }
  return out;
}

/** The seeded IPv4 frame generator. */
class Injector4 extends InjectorBase {
  protected readonly mix: readonly FrameKind[] = [
    ['random', 20, () => this.randomFrame()],
    ['mutated', 40, () => this.mutated()],
    ['live-tcp', 22, () => this.liveTcp()],
    ['syn-flood', 4, () => this.synFlood()],
    ['closed-port', 2, () => this.closedPort()],
    ['fragments', 6, () => this.fragments()],
    ['icmp-error', 3, () => this.icmpError()],
    ['arp', 3, () => this.arp()],
  ];
  private readonly A: Host;
  private readonly B: Host;
  private ipId = 1;

  constructor(dice: Dice, A: Host, B: Host, live: readonly Live[], golden: Uint8Array[]) {
    super(dice, live, golden);
    this.A = A;
    this.B = B;
  }

  protected frameToB(protocol: number, payload: Uint8Array, src?: number | Uint8Array): Uint8Array {
    const id = this.ipId++ & 0xffff;
    if (src === undefined) return ipFrame({ dstMac: this.B.mac, srcMac: this.A.mac, src: this.A.ip, dst: this.B.ip, protocol, payload, id });
    return ipFrame({ dstMac: this.B.mac, src: src as number, dst: this.B.ip, protocol, payload, id });
  }

  protected fragment(f: Uint8Array, pieces: number): Uint8Array[] {
    return fragment4(f, pieces, this.dice);
  }

  protected cutPoints(f: Uint8Array): number[] {
    const hl = ((f[14] ?? 0) & 0x0f) * 4;
    return [13, 14, 15, 33, 34, 14 + hl, 14 + hl + 7, 14 + hl + 19, f.length - 1];
  }

  protected growLength(g: Uint8Array): void {
    wr16(g, 16, g.length - 14);
  }

  private randomFrame(): Uint8Array {
    const d = this.dice;
    const len = d.chance(0.2) ? d.int(41) : 14 + d.int(1501);
    return aimRandomFrame(d.bytes(len), d.pick(['ours', 'broadcast', 'random'] as const), d.pick([0x0800, 0x0806, -1]), this.B.mac, this.B.ip);
  }

  protected overwriteField(f: Uint8Array): Uint8Array {
    const d = this.dice;
    const type = rd16(f, 12);
    if (type === 0x0806) {
      const at = d.pick([14, 16, 18, 19, 20, 22, 28, 32, 38]);
      if (at === 18 || at === 19) f[at] = d.pick([0, 4, 6, 16, 255]);
      else if (at === 14 || at === 16 || at === 20) wr16(f, at, d.pick([0, 1, 2, 3, 0x0800, 0x86dd, d.int(65536)]));
      else if (at === 28 || at === 38) wr32(f, at, d.pick([0, 0xffffffff, this.A.ip, this.B.ip, 0x0a000000 | d.int(256), d.u32()]));
      else for (let i = 0; i < 6; i++) f[at + i] = d.int(256);
      return f;
    }
    if (type !== 0x0800 || f.length < 34) {
      f[d.int(f.length)] = d.int(256);
      return f;
    }
    const hl = ((f[14] as number) & 0x0f) * 4;
    const l4 = 14 + hl;
    const proto = f[23] as number;
    const ipField = d.int(proto === 6 ? 2 : 1) === 0 || f.length <= l4 + 4;
    if (ipField) {
      switch (d.int(9)) {
        case 0: f[14] = d.pick([0x40, 0x44, 0x45, 0x46, 0x4f, 0x35, 0x65, 0x00, 0xff, d.int(256)]); break;
        case 1: wr16(f, 16, d.pick([0, 1, 19, 20, 21, hl - 1, hl, f.length - 15, f.length - 13, 576, 1500, 65535, d.int(65536)])); break;
        case 2: wr16(f, 20, d.pick([0x2000, 0x4000, 0x1fff, 0x3fff, 0x2001, 0x0001, 0x6000, d.int(65536)])); break;
        case 3: f[22] = d.pick([0, 1, 255]); break;
        case 4: f[23] = d.pick([0, 1, 2, 6, 17, 41, 58, 255, d.int(256)]); break;
        case 5: wr32(f, 26, d.pick([0, 0xffffffff, 0x7f000001, 0xe0000001, this.B.ip, 0x0a0000ff, d.u32()])); break;
        case 6: wr32(f, 30, d.pick([0, 0xffffffff, 0x0a0000ff, 0xe0000001, this.A.ip, d.u32()])); break;
        case 7: wr16(f, 18, d.int(65536)); break;
        default: for (let i = 34; i < l4 && i < f.length; i++) f[i] = d.int(256); // IPv4 options
      }
      return f;
    }
    if (proto === 6) {
      this.overwriteTcpField(f, l4);
    } else if (proto === 17) {
      wr16(f, l4 + d.pick([0, 2, 4, 4, 6]), d.pick([0, 7, 8, 9, 67, 68, 7, 65535, d.int(65536)]));
    } else {
      // ICMP: type/code, or the quoted header
      const at = d.chance(0.5) ? l4 + d.int(2) : l4 + 8 + d.int(28);
      if (at < f.length) f[at] = d.pick([0, 3, 4, 5, 8, 11, 12, 0xff, d.int(256)]);
    }
    return f;
  }

  protected strangerIp(): number {
    const d = this.dice;
    return d.pick([this.A.ip, (0x0a000000 | (3 + d.int(250))) >>> 0, d.u32(), 0xc0a80001]);
  }

  private fragments(): Uint8Array {
    const d = this.dice;
    const src = d.pick([this.A.ip, this.strangerIp()]);
    const protocol = d.pick([1, 17, 6, 99]);
    const size = d.pick([16, 100, 1400, 2900, 8000]);
    const id = d.chance(0.3) ? d.int(4) : d.int(65536); // a few ids are reused on purpose
    const payload = d.bytes(size);
    if (protocol === 1) {
      payload[0] = 8; // echo request
      payload[1] = 0;
    }
    // Fragments of a datagram too large for one frame: built piece by piece.
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < size) {
      const len = Math.min(size - off, d.pick([8, 16, 512, 1024, 1480]));
      const more = off + len < size;
      const p = ipFrame({ dstMac: this.B.mac, src, dst: this.B.ip, protocol, payload: payload.subarray(off, off + len), id, fragOffset: off, moreFrags: more });
      out.push(p);
      off += len;
    }
    switch (d.int(6)) {
      case 0: out.reverse(); break; // out of order
      case 1: out.splice(d.int(out.length), 1); break; // one missing: waits until the reassembly timeout
      case 2: { // an overlapping copy with other bytes
        const i = d.int(out.length);
        const c = (out[i] as Uint8Array).slice();
        for (let k = 34; k < c.length; k += 7) c[k] = d.int(256);
        wr16(c, 20, (rd16(c, 20) & 0xe000) | (((rd16(c, 20) & 0x1fff) + d.pick([0, 1, -1])) & 0x1fff));
        fixChecksums(c, false);
        out.splice(d.int(out.length + 1), 0, c);
        break;
      }
      case 3: { // ping of death: a last fragment beyond 65,535 bytes
        const p = ipFrame({ dstMac: this.B.mac, src, dst: this.B.ip, protocol, payload: d.bytes(200), id, fragOffset: 0x1fff * 8, moreFrags: false });
        out.push(p);
        break;
      }
      case 4: { // a non-final fragment whose length is not a multiple of 8
        const p = ipFrame({ dstMac: this.B.mac, src, dst: this.B.ip, protocol, payload: d.bytes(13), id, fragOffset: 8 * d.int(100), moreFrags: true });
        out.splice(d.int(out.length + 1), 0, p);
        break;
      }
      default:
        break;
    }
    if (protocol !== 6 && d.chance(0.5)) {
      // Make the reassembled datagram's transport checksum right sometimes: rebuild it
      // whole, fix it, and take its first fragment's header bytes.
      const full = ipFrame({ dstMac: this.B.mac, src, dst: this.B.ip, protocol, payload, id });
      fixChecksums(full, true);
      const first = out.find((p) => (rd16(p, 20) & 0x1fff) === 0);
      if (first !== undefined) {
        const at = protocol === 17 ? 6 : 2;
        if (34 + at + 1 < first.length) {
          first[34 + at] = full[34 + at] as number;
          first[34 + at + 1] = full[34 + at + 1] as number;
        }
      }
    }
    const head = out.shift();
    this.queue.push(...out);
    return head ?? this.randomFrame(); // the only fragment was the one left out
  }

  private icmpError(): Uint8Array {
    const d = this.dice;
    const l = d.pick(this.live);
    // The quoted datagram: one B sent (B -> A on a live 4-tuple, or the connected UDP socket), or anything.
    const quoted = new Uint8Array(28);
    quoted[0] = 0x45;
    wr16(quoted, 2, d.pick([40, 1500, 576, d.int(65536)]));
    quoted[8] = 64;
    quoted[9] = d.pick([6, 6, 17, 1, d.int(256)]);
    wr32(quoted, 12, d.chance(0.8) ? this.B.ip : d.u32());
    wr32(quoted, 16, d.chance(0.8) ? this.A.ip : d.u32());
    if (quoted[9] === 17) {
      wr16(quoted, 20, 5000);
      wr16(quoted, 22, 5001);
    } else {
      wr16(quoted, 20, l.b.localPort);
      wr16(quoted, 22, l.b.remotePort);
      wr32(quoted, 24, d.chance(0.5) ? this.nearSeq() : d.u32());
    }
    if (d.chance(0.1)) quoted[0] = d.int(256);
    const icmp = new Uint8Array(8 + quoted.length);
    icmp[0] = d.pick([3, 3, 3, 11, 4, 12, 5, d.int(256)]);
    icmp[1] = d.int(16);
    if (icmp[0] === 3 && icmp[1] === 4) wr16(icmp, 6, d.pick([0, 68, 296, 576, 1006, 1500, 65535]));
    icmp.set(quoted, 8);
    const f = ipFrame({ dstMac: this.B.mac, src: d.pick([this.A.ip, this.strangerIp()]), dst: this.B.ip, protocol: 1, payload: icmp, id: this.ipId++ & 0xffff });
    if (d.chance(0.9)) fixChecksums(f, true);
    return f;
  }

  private arp(): Uint8Array {
    const d = this.dice;
    const f = new Uint8Array(42);
    f.set(d.chance(0.5) ? this.B.mac : [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
    const mac = d.bytes(6);
    mac[0] = (mac[0] as number) & 0xfe; // unicast
    f.set(mac, 6);
    wr16(f, 12, 0x0806);
    wr16(f, 14, 1);
    wr16(f, 16, 0x0800);
    f[18] = 6;
    f[19] = 4;
    wr16(f, 20, d.pick([1, 1, 2, 3]));
    f.set(mac, 22);
    // Strangers only: a sender claiming A's address is ARP spoofing (mutations still do it).
    wr32(f, 28, d.pick([(0x0a000000 | (3 + d.int(250))) >>> 0, this.B.ip, 0, d.u32()]));
    wr32(f, 38, d.chance(0.8) ? this.B.ip : d.u32());
    return f;
  }
}

describe('Stack robustness: 1,000,000 frames into a live stack (issue 3)', () => {
  it(`${FRAMES.toLocaleString('en-US')} seeded random and mutated frames (seed ${SEED}): nothing escapes, invariants hold, memory bounded, the connections still deliver intact data`, (t) => {
    const t0 = performance.now();
    const { sched, A, B, ends, tap } = twoHosts({ tapA: true });
    // ---- connections: two opened by A, two by B, and the victim (opened by A, idle)
    const rig = tcpRig(sched, A, B, A.ip, B.ip, SEED, STREAM_BYTES);
    const { streams } = rig;

    // ---- UDP on B: echo on 7 (answers from its change callback), a connected socket, a broadcast listener
    // ---- golden frames: a real exchange as A sent it (ARP, UDP, fragmented ping, ICMP error, TCP)
    const udp = udpTargets(sched, A, B);
    A.stack.ping(sched.now(), 0x0a00004d); // an ARP request from A (10.0.0.77 is nobody)
    run(sched);
    B.stack.udpSendTo(sched.now(), udp.connected, enc.encode('x'), 1, A.ip, 9); // draws a port unreachable from A
    for (const s of streams) s.step(4096);
    run(sched, 50);
    const golden: Uint8Array[] = (tap?.tx ?? []).map((f) => f.slice());
    golden.push(ipFrame({ dstMac: B.mac, src: A.ip, dst: B.ip, protocol: 17, id: 9, moreFrags: true, payload: new Uint8Array(64) }));
    assert.ok(golden.length >= 12, `${golden.length} golden frames`);
    tap?.clear();
    drain(B.stack, udp.connected);
    drain(B.stack, udp.broadcast);

    const dice = new Dice(SEED);
    const guard = new Guard(B, rig.live, dice);
    const inj = new Injector4(dice, A, B, rig.live, golden);

    const bounds = { arp: 512, reassemblyBytes: 1024 * 1024 };
    const checkInvariants = (where: string): void => {
      checkNothingEscaped(where, A, B);
      checkTcpInvariants(where, rig);
      assert.ok(B.stack.arp.size <= bounds.arp, `${where}: ARP cache ${B.stack.arp.size}`);
      assert.ok(B.stack.reassembler.bytesHeld <= bounds.reassemblyBytes, `${where}: reassembly ${B.stack.reassembler.bytesHeld} bytes`);
      for (const p of [udp.echo, udp.connected, udp.broadcast]) assert.ok(p.queued <= 256, `${where}: UDP queue ${p.queued}`);
    };

    const setup: InjectionSetup = {
      sched, A, B, ends, tap, rig, udp, dice, guard, injector: inj, frames: FRAMES, streamBytes: STREAM_BYTES, debug: DEBUG,
      victimRst: (seg) => ipFrame({ dstMac: B.mac, srcMac: A.mac, src: A.ip, dst: B.ip, protocol: 6, payload: seg }),
      macsOfA: () => [B.stack.arp.lookup(A.ip, sched.now())],
      afterBatch: (injected) => checkInvariants(`after ${injected} frames`),
    };
    const r = injectFrames(setup);

    // ---- afterwards: the streams complete, intact; the counters show where frames went
    const bs = B.stack.stats;
    reportRun(t, setup, r, {
      seed: SEED,
      lines: [`B udp rx ${bs.udp.rxDatagrams}, icmp in ${bs.icmp.in} (echo ${bs.icmp.echoRequestsIn}, errors ${bs.icmp.errorsIn}), rate-limited ${bs.icmp.rateLimited}, arp in ${bs.arp.requestsIn + bs.arp.repliesIn} (conflicts ${bs.arp.conflicts}), fragments ${bs.ip.fragmentsIn}, reassembled ${bs.ip.reassembled}`],
      spoofWhat: 'ARP entry',
      dropKinds: ['badChecksum', 'notForUs', 'truncated', 'malformed', 'badLength', 'martian', 'reassembly'],
      heapLimit: HEAP_GROWTH_LIMIT,
    });
    assert.ok(bs.udp.rxDatagrams > 0 && bs.icmp.echoRequestsIn > 0 && bs.icmp.errorsIn > 0 && bs.arp.requestsIn > 0 && bs.ip.reassembled > 0, 'frames reached UDP, ICMP, ARP and reassembly');

    // ---- afterwards: new connections, UDP, ping
    checkFreshConnections(sched, rig, SEED);
    const pings: PingResult[] = [];
    A.stack.ping(sched.now(), B.ip, { size: 3000 }, (p) => pings.push(p));
    drain(A.stack, udp.client);
    A.stack.udpSendTo(sched.now(), udp.client, enc.encode('after the storm'), 15, B.ip, 7);
    run(sched, 5000);
    assert.equal(pings[0]?.code, 0, 'ping works');
    assert.deepEqual(drain(A.stack, udp.client).map((d) => dec.decode(d.data)), ['after the storm'], 'UDP echo works');

    // ---- the survivors close gracefully
    closeSurvivors(sched, rig);
    checkInvariants('at the end');
    t.diagnostic(`total ${secs(performance.now() - t0)} s`);
  });
});
