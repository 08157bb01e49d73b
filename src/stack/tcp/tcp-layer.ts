/**
 * The TCP layer of a `Stack`: the `TransportHandler` behind `stack.setTcp(...)`.
 *
 * - Demultiplexing by numeric 4-tuple keys (no string building per segment), listeners
 *   by local port.
 * - Passive opens: a listener keeps a bounded half-open queue (SYN-RECEIVED TCBs; when
 *   full, the oldest is dropped, so a SYN flood cannot exhaust memory or lock out
 *   legitimate clients for long) and an accept queue bounded by the backlog.
 * - Segments for no connection and no listener are answered with RST (RFC 9293
 *   3.10.7.1), never for RSTs and never for broadcasts.
 * - Active opens pick a random ephemeral port in 49152-65535 (RFC 6056, RFC 6335) and an
 *   RFC 6528 ISN.
 * - Timers: each connection's next deadline sits in one `TimerHeap`; `poll(now)` runs
 *   the connections that received segments or application calls since the last poll,
 *   then those whose deadline came. Readiness changes reach applications through
 *   `stack.markChanged`, after the poll.
 */
import { IOT_SOCKET_EADDRINUSE, IOT_SOCKET_EAGAIN, IOT_SOCKET_ENOMEM } from '../../base/iot-constants.ts';
import { randomInt, type Rng } from '../../base/rand.ts';
import { pseudoHeaderSumV4Addr } from '../../wire/checksum.ts';
import { wr16, wr32 } from '../../wire/bytes.ts';
import { TcpFlag, parseTcp, type TcpRepr } from '../../wire/tcp.ts';
import { tcpOptionsLen, writeTcpOptions } from '../../wire/tcp-options.ts';
import { seqAdd } from '../../wire/tcp-seq.ts';
import { isFault } from '../../wire/fault.ts';
import { ip4ToBytes } from '../ipv4-addr.ts';
import type { ChangeTarget, IpInputContext, IpSend, Stack, TransportHandler } from '../stack.ts';
import { TimerHeap, type Timed } from '../timer-heap.ts';
import { IsnGenerator } from './isn.ts';
import { Tcb, type TcbConfig, type TcpEmit, type TcpSegmentOut } from './tcb.ts';

const TCP = 6;
const EPHEMERAL_LOW = 49152;
const EPHEMERAL_HIGH = 65535;

/** One connection: a TCB with its endpoints. */
export class TcpConn implements ChangeTarget, Timed {
  readonly tcb: Tcb;
  readonly localIp: number;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
  readonly key: number;
  /** The listener a passive connection belongs to until accepted. */
  listener: TcpListener | undefined;
  onChange: (() => void) | undefined = undefined;
  deadline: number | undefined = undefined;
  /** In the layer's table (false once removed after CLOSED). */
  attached = true;
  /** Counted in the layer's TIME-WAIT count. */
  timeWait = false;

  constructor(tcb: Tcb, localIp: number, localPort: number, remoteIp: number, remotePort: number) {
    this.tcb = tcb;
    this.localIp = localIp;
    this.localPort = localPort;
    this.remoteIp = remoteIp;
    this.remotePort = remotePort;
    this.key = connKey(localIp, localPort, remoteIp, remotePort);
  }
}

/** A listening port. */
export class TcpListener implements ChangeTarget {
  readonly localIp: number;
  readonly localPort: number;
  backlog: number;
  /** Connections in SYN-RECEIVED, oldest first. */
  readonly halfOpen: TcpConn[] = [];
  /** Established connections waiting for `accept`. */
  readonly acceptQueue: TcpConn[] = [];
  onChange: (() => void) | undefined = undefined;
  closed = false;
  /** SYNs dropped because the half-open queue was full (oldest evicted). */
  evicted = 0;

  constructor(localIp: number, localPort: number, backlog: number) {
    this.localIp = localIp;
    this.localPort = localPort;
    this.backlog = backlog;
  }
}

/** A 32-bit mix of a 4-tuple (collisions resolved by comparing the fields). */
function connKey(lip: number, lport: number, rip: number, rport: number): number {
  let h = Math.imul(lip ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ rip ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ ((lport << 16) | rport) ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}

export interface TcpLayerOptions {
  rng: Rng;
  /** TCB settings for every connection (MSS defaults from the route MTU). */
  config?: Partial<TcbConfig>;
  /** Most connections at once (default 16384). */
  maxConnections?: number;
  /** Half-open connections per listener (default max(64, 2 x backlog)). */
  maxHalfOpen?: number;
}

export class TcpLayer implements TransportHandler {
  private readonly stack: Stack;
  private readonly rng: Rng;
  private readonly isn: IsnGenerator;
  private readonly config: Partial<TcbConfig>;
  private readonly maxConnections: number;
  private readonly maxHalfOpen: number | undefined;
  private readonly conns = new Map<number, TcpConn | TcpConn[]>();
  private readonly listeners = new Map<number, TcpListener>();
  private readonly timers = new TimerHeap<TcpConn>();
  private readonly dirty = new Set<TcpConn>();
  private connCount = 0;
  /** Connections in TIME-WAIT (see `openSockets`). */
  private timeWaitCount = 0;
  /** Segments answered with RST because nothing listened. */
  resets = 0;
  /** Segments dropped (bad checksum, malformed, broadcast). */
  dropped = 0;

  constructor(stack: Stack, opts: TcpLayerOptions) {
    this.stack = stack;
    this.rng = opts.rng;
    this.isn = new IsnGenerator(opts.rng);
    this.config = opts.config ?? {};
    this.maxConnections = opts.maxConnections ?? 16384;
    this.maxHalfOpen = opts.maxHalfOpen;
    stack.setTcp(this);
  }

  /**
   * Listeners and connections that still carry something for an application: every
   * connection except those in TIME-WAIT, which hold no data (as with kernel sockets, a
   * process may exit while its connections wait out 2 MSL). The runner keeps the process
   * alive while this is nonzero.
   */
  get openSockets(): number {
    return this.connCount - this.timeWaitCount + this.listeners.size;
  }

  /**
   * The listener on `port`, if any: read-only diagnostics (its half-open queue, accept
   * queue and `evicted` count of SYNs that pushed out the oldest half-open connection).
   */
  listenerOn(port: number): Readonly<TcpListener> | undefined {
    return this.listeners.get(port);
  }

  /** Connections in TIME-WAIT (in `connections`, not in `openSockets`). */
  get timeWaitConnections(): number {
    return this.timeWaitCount;
  }

  /** Number of connections in the table (all states). */
  get connections(): number {
    return this.connCount;
  }

  // ------------------------------------------------------------------ table

  private find(lip: number, lport: number, rip: number, rport: number): TcpConn | undefined {
    const e = this.conns.get(connKey(lip, lport, rip, rport));
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return e.localIp === lip && e.localPort === lport && e.remoteIp === rip && e.remotePort === rport ? e : undefined;
    return e.find((c) => c.localIp === lip && c.localPort === lport && c.remoteIp === rip && c.remotePort === rport);
  }

  private insert(c: TcpConn): void {
    const e = this.conns.get(c.key);
    if (e === undefined) this.conns.set(c.key, c);
    else if (Array.isArray(e)) e.push(c);
    else this.conns.set(c.key, [e, c]);
    this.connCount++;
  }

  private remove(c: TcpConn): void {
    if (!c.attached) return;
    c.attached = false;
    const e = this.conns.get(c.key);
    if (e === c) this.conns.delete(c.key);
    else if (Array.isArray(e)) {
      const rest = e.filter((x) => x !== c);
      if (rest.length === 1) this.conns.set(c.key, rest[0] as TcpConn);
      else this.conns.set(c.key, rest);
    }
    this.connCount--;
    if (c.timeWait) {
      c.timeWait = false;
      this.timeWaitCount--;
    }
    this.timers.cancel(c);
    this.dirty.delete(c);
  }

  // ------------------------------------------------------------------ application side

  /** Starts listening on `port` (all local addresses when `localIp` is 0). */
  listen(localIp: number, port: number, backlog: number): TcpListener | number {
    if (this.listeners.has(port)) return IOT_SOCKET_EADDRINUSE;
    const l = new TcpListener(localIp >>> 0, port, Math.max(1, backlog));
    this.listeners.set(port, l);
    return l;
  }

  /** Takes an established connection from a listener's accept queue. */
  accept(l: TcpListener): TcpConn | undefined {
    const c = l.acceptQueue.shift();
    if (c !== undefined) c.listener = undefined;
    return c;
  }

  /** Stops listening; unaccepted connections are reset. */
  closeListener(now: number, l: TcpListener): void {
    if (l.closed) return;
    l.closed = true;
    if (this.listeners.get(l.localPort) === l) this.listeners.delete(l.localPort);
    for (const c of [...l.halfOpen, ...l.acceptQueue]) {
      c.listener = undefined;
      c.tcb.abort();
      this.touch(c);
    }
    l.halfOpen.length = 0;
    l.acceptQueue.length = 0;
    void now;
  }

  /**
   * Active open to `remoteIp:remotePort`. `localPort` 0 picks a random ephemeral port.
   * Returns the connection (SYN-SENT) or `EADDRINUSE` / `ENOMEM` / `EAGAIN` (no ports).
   */
  connect(now: number, remoteIp: number, remotePort: number, localIp = 0, localPort = 0): TcpConn | number {
    if (this.connCount >= this.maxConnections) return IOT_SOCKET_ENOMEM;
    const lip = localIp !== 0 ? localIp >>> 0 : this.stack.sourceAddressFor(remoteIp);
    let lport = localPort;
    if (lport === 0) {
      for (let i = 0; i < 64 && lport === 0; i++) {
        const p = randomInt(this.rng, EPHEMERAL_LOW, EPHEMERAL_HIGH);
        if (!this.listeners.has(p) && this.find(lip, p, remoteIp, remotePort) === undefined) lport = p;
      }
      if (lport === 0) return IOT_SOCKET_EAGAIN;
    } else if (this.find(lip, lport, remoteIp, remotePort) !== undefined) {
      return IOT_SOCKET_EADDRINUSE;
    }
    const tcb = new Tcb(this.tcbConfig(remoteIp));
    const c = new TcpConn(tcb, lip, lport, remoteIp >>> 0, remotePort);
    tcb.connect(now, this.isnFor(now, c), this.tsOffsetFor(c));
    this.insert(c);
    this.touch(c);
    return c;
  }

  /** Ports reserved by bound sockets that neither listen nor connect yet. */
  private readonly reserved = new Set<number>();

  /**
   * Whether a bind to `port` conflicts: another bound socket or a listener has it.
   * Connections using the port as their local port (accepted ones, or ones finishing in
   * TIME-WAIT) do not block a new bind, as with SO_REUSEADDR (which Node sets for
   * servers); a duplicate 4-tuple is refused at connect time instead.
   */
  isPortUsed(port: number): boolean {
    return this.reserved.has(port) || this.listeners.has(port);
  }

  /** Reserves a port for a bound socket (false when taken). */
  reservePort(port: number): boolean {
    if (this.isPortUsed(port)) return false;
    this.reserved.add(port);
    return true;
  }

  /** Releases a reservation (the socket listens, connects or closes). */
  releasePort(port: number): void {
    this.reserved.delete(port);
  }

  /** Marks a connection for the next poll (after an application call). */
  touch(c: TcpConn): void {
    this.dirty.add(c);
    this.stack.requestPoll();
  }

  private tcbConfig(remoteIp: number): Partial<TcbConfig> {
    const mtu = this.stack.pathMtu(remoteIp);
    return { mss: Math.max(536, mtu - 40), ...this.config };
  }

  private isnFor(now: number, c: TcpConn): number {
    return this.isn.isn(now, ip4ToBytes(c.localIp), c.localPort, ip4ToBytes(c.remoteIp), c.remotePort);
  }

  private tsOffsetFor(c: TcpConn): number {
    return this.isn.tsOffset(ip4ToBytes(c.localIp), ip4ToBytes(c.remoteIp));
  }

  // ------------------------------------------------------------------ input

  input(now: number, ctx: IpInputContext, segment: Uint8Array): void {
    if (ctx.broadcast) {
      this.dropped++;
      return;
    }
    const pseudo = ctx.checksumVerified ? 0 : pseudoHeaderSumV4Addr(ctx.src, ctx.dst, TCP, segment.length);
    const repr = parseTcp(segment, pseudo, { checksumOffload: ctx.checksumVerified });
    if (isFault(repr)) {
      this.dropped++;
      return;
    }
    const hl = segment.length - repr.payloadLength;
    const payload = segment.subarray(hl);
    let c = this.find(ctx.dst, repr.dstPort, ctx.src, repr.srcPort);
    if (c !== undefined && c.tcb.state === 'TIME-WAIT' && (repr.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN
      && c.tcb.acceptsNewIncarnation(repr)) {
      // A new incarnation of a connection in TIME-WAIT (RFC 9293 3.10.7.4, RFC 6191):
      // let the listener take it. Other SYNs reach the TCB (challenge ACK).
      this.remove(c);
      c = undefined;
    }
    if (c !== undefined) {
      c.tcb.input(now, repr, payload);
      this.afterInput(now, c);
      return;
    }
    const l = this.listeners.get(repr.dstPort);
    if (l !== undefined && !l.closed && (l.localIp === 0 || l.localIp === ctx.dst)) {
      if ((repr.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN) {
        this.passiveOpen(now, l, ctx, repr);
        return;
      }
    }
    this.resetFor(now, ctx, repr);
  }

  private passiveOpen(now: number, l: TcpListener, ctx: IpInputContext, syn: TcpRepr): void {
    if (l.acceptQueue.length >= l.backlog) return; // accept queue full: drop, the client retries
    const maxHalf = this.maxHalfOpen ?? Math.max(64, 2 * l.backlog);
    if (l.halfOpen.length >= maxHalf) {
      const oldest = l.halfOpen.shift() as TcpConn;
      oldest.listener = undefined;
      oldest.tcb.abort();
      this.remove(oldest);
      l.evicted++;
    }
    if (this.connCount >= this.maxConnections) return;
    const tcb = new Tcb(this.tcbConfig(ctx.src));
    const c = new TcpConn(tcb, ctx.dst, syn.dstPort, ctx.src, syn.srcPort);
    tcb.accept(now, syn, this.isnFor(now, c), this.tsOffsetFor(c));
    c.listener = l;
    l.halfOpen.push(c);
    this.insert(c);
    this.dirty.add(c);
  }

  /** RFC 9293 3.10.7.1: a segment for no connection gets an RST (never in reply to an RST). */
  private resetFor(now: number, ctx: IpInputContext, seg: TcpRepr): void {
    if ((seg.flags & TcpFlag.RST) !== 0) return;
    this.resets++;
    const segLen = seg.payloadLength + ((seg.flags & TcpFlag.SYN) !== 0 ? 1 : 0) + ((seg.flags & TcpFlag.FIN) !== 0 ? 1 : 0);
    const out: TcpSegmentOut = (seg.flags & TcpFlag.ACK) !== 0
      ? { seq: seg.ack, ack: 0, flags: TcpFlag.RST, window: 0, options: {}, payload: [], payloadLength: 0 }
      : { seq: 0, ack: seqAdd(seg.seq, segLen), flags: TcpFlag.RST | TcpFlag.ACK, window: 0, options: {}, payload: [], payloadLength: 0 };
    this.transmit(now, ctx.dst, seg.dstPort, ctx.src, seg.srcPort, out);
  }

  private afterInput(now: number, c: TcpConn): void {
    this.dirty.add(c);
    const l = c.listener;
    if (l !== undefined && c.tcb.state !== 'SYN-RECEIVED') {
      // Only a connection still in the half-open queue moves on (this runs after input
      // and again after output: never queue a connection twice).
      const i = l.halfOpen.indexOf(c);
      if (i < 0) return;
      l.halfOpen.splice(i, 1);
      if (c.tcb.state === 'CLOSED') {
        c.listener = undefined;
      } else if (l.acceptQueue.length < l.backlog) {
        l.acceptQueue.push(c);
        this.stack.markChanged(l);
      } else {
        c.listener = undefined;
        c.tcb.abort(); // accept queue overflowed between SYN and ACK
      }
    }
    void now;
  }

  // ------------------------------------------------------------------ output

  poll(now: number): void {
    // Connections with news first, then due timers.
    for (const c of [...this.dirty]) this.run(now, c);
    this.dirty.clear();
    for (let c = this.timers.popDue(now); c !== undefined; c = this.timers.popDue(now)) this.run(now, c);
  }

  pollAt(): number | undefined {
    if (this.dirty.size > 0) return 0;
    return this.timers.nextAt();
  }

  private run(now: number, c: TcpConn): void {
    if (!c.attached) return;
    const tcb = c.tcb;
    const prevConn = this.runConn, prevNow = this.runNow;
    this.runConn = c;
    this.runNow = now;
    tcb.output(now, this.emitForRun);
    this.runConn = prevConn;
    this.runNow = prevNow;
    if (tcb.changed) {
      tcb.changed = false;
      if (!c.timeWait && tcb.state === 'TIME-WAIT') {
        c.timeWait = true;
        this.timeWaitCount++;
      }
      this.stack.markChanged(c);
      if (c.listener !== undefined && tcb.state !== 'SYN-RECEIVED') this.afterInput(now, c);
    }
    if (tcb.state === 'CLOSED') {
      if (c.listener !== undefined) {
        const l = c.listener;
        const i = l.halfOpen.indexOf(c);
        if (i >= 0) l.halfOpen.splice(i, 1);
        c.listener = undefined;
      }
      this.remove(c);
      return;
    }
    const at = tcb.pollAt();
    if (at === 0) this.dirty.add(c);
    else this.timers.schedule(c, at);
  }

  // One reusable send path (no closure or argument object per segment): `transmit`
  // fills these fields and hands `txArgs` to the stack, whose writer call reads them.
  private txSeg: TcpSegmentOut | undefined = undefined;
  private txLport = 0;
  private txRport = 0;
  private txHl = 0;
  private txOptLen = 0;
  private readonly txArgs: IpSend = {
    src: 0, dst: 0, protocol: TCP, payloadLen: 0, checksumOffset: 16,
    payloadWriter: (out) => this.writeSegment(out),
  };
  /** The connection and time `run` is emitting for (`emitForRun` reads them). */
  private runConn: TcpConn | undefined = undefined;
  private runNow = 0;
  private readonly emitForRun: TcpEmit = (seg) => {
    const c = this.runConn as TcpConn;
    return this.transmit(this.runNow, c.localIp, c.localPort, c.remoteIp, c.remotePort, seg);
  };

  /** Sends one segment through the stack: header written in place, payload copied from the ring views. */
  private transmit(now: number, lip: number, lport: number, rip: number, rport: number, seg: TcpSegmentOut): boolean {
    const optLen = tcpOptionsLen(seg.options);
    const hl = 20 + optLen;
    this.txSeg = seg;
    this.txLport = lport;
    this.txRport = rport;
    this.txHl = hl;
    this.txOptLen = optLen;
    const a = this.txArgs;
    a.src = lip;
    a.dst = rip;
    a.payloadLen = hl + seg.payloadLength;
    const r = this.stack.sendIp(now, a);
    this.txSeg = undefined;
    // EAGAIN: the link refused the frame (queue full): the TCB retries later. Anything
    // else (queued for ARP, sent, or a routing error the ICMP path reports) counts as sent.
    return r !== IOT_SOCKET_EAGAIN;
  }

  private writeSegment(out: Uint8Array): void {
    const seg = this.txSeg as TcpSegmentOut;
    const hl = this.txHl;
    wr16(out, 0, this.txLport);
    wr16(out, 2, this.txRport);
    wr32(out, 4, seg.seq);
    wr32(out, 8, seg.ack);
    out[12] = (hl / 4) << 4;
    out[13] = seg.flags & 0xff;
    wr16(out, 14, seg.window);
    wr16(out, 16, 0);
    wr16(out, 18, 0);
    if (this.txOptLen > 0) writeTcpOptions(seg.options, out, 20);
    let o = hl;
    const views = seg.payload;
    for (let i = 0; i < views.length; i++) {
      const v = views[i] as Uint8Array;
      out.set(v, o);
      o += v.length;
    }
  }

  close(): void {
    for (const l of [...this.listeners.values()]) this.closeListener(0, l);
  }
}
