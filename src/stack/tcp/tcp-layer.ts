/**
 * The TCP layer of a `Stack`: the `TransportHandler` behind `stack.setTcp(...)`.
 *
 * - IPv4 and IPv6 (RFC 8200, RFC 9293): each connection is one or the other
 *   (`TcpConn.family`); IPv4 keeps uint32 addresses, IPv6 16-byte copies.
 * - Demultiplexing by numeric 4-tuple keys (no string building per segment): IPv4 and
 *   IPv6 connections in separate tables, the IPv6 key a keyed hash of the 16-byte
 *   addresses (an IPv6 peer picks its source among 2^64 addresses: an unkeyed hash would
 *   let it pile connections onto one key); lookups compare the addresses themselves.
 * - Listeners by local port: at most one taking IPv4 and one taking IPv6 per port. An
 *   IPv6 listener on `::` takes IPv4 too unless `v6only` (Linux's IPV6_V6ONLY=0 default);
 *   its IPv4 connections have `family` 4, for the socket layer to report IPv4-mapped
 *   addresses.
 * - Passive opens: a listener keeps a bounded half-open queue (SYN-RECEIVED TCBs; when
 *   full, the oldest is dropped, so a SYN flood cannot exhaust memory or lock out
 *   legitimate clients for long) and an accept queue bounded by the backlog.
 * - Segments for no connection and no listener are answered with RST (RFC 9293
 *   3.10.7.1), never for RSTs and never for broadcasts or IPv6 multicasts.
 * - MSS from the path MTU: - 40 on IPv4, - 60 on IPv6 (at least 1220, RFC 8200 §5). An
 *   ICMPv6 Packet Too Big for data in flight lowers that connection's send MSS
 *   (`Tcb.lowerMss`, RFC 8201 §5.2, RFC 5927 §4.1 sequence check).
 * - Active opens pick a random ephemeral port in 49152-65535 (RFC 6056, RFC 6335) and an
 *   RFC 6528 ISN.
 * - Timers: each connection's next deadline sits in one `TimerHeap`; `poll(now)` runs
 *   the connections that received segments or application calls since the last poll,
 *   then those whose deadline came. Readiness changes reach applications through
 *   `stack.markChanged`, after the poll.
 */
import {
  IOT_SOCKET_EADDRINUSE, IOT_SOCKET_EAGAIN, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOMEM, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR,
} from '../../base/iot-constants.ts';
import { ipv6EqualAt, isIpv4Mapped, isLinkLocal, isUnspecified } from '../../base/ip-address.ts';
import { randomInt, type Rng } from '../../base/rand.ts';
import { pseudoHeaderSumV4Addr, pseudoHeaderSumV6 } from '../../wire/checksum.ts';
import { rd16, rd32, wr16, wr32 } from '../../wire/bytes.ts';
import { Icmpv6Type } from '../../wire/icmpv6.ts';
import { IPV6_MIN_MTU } from '../../wire/ipv6.ts';
import { TcpFlag, parseTcp, type TcpRepr } from '../../wire/tcp.ts';
import { tcpOptionsLen, writeTcpOptions } from '../../wire/tcp-options.ts';
import { seqAdd, seqGe, seqLt } from '../../wire/tcp-seq.ts';
import { isFault } from '../../wire/fault.ts';
import { ip4ToBytes } from '../ipv4-addr.ts';
import type { ChangeTarget, IcmpErrorInfo, IpInputContext, Ip6Send, IpSend, TransportHandler } from '../stack.ts';
import { TimerHeap, type Timed } from '../timer-heap.ts';
import { IsnGenerator } from './isn.ts';
import { Tcb, type TcbConfig, type TcpEmit, type TcpSegmentOut } from './tcb.ts';

const TCP = 6;
const EPHEMERAL_LOW = 49152;
const EPHEMERAL_HIGH = 65535;
/** IPv6 header + TCP header: MSS = path MTU - 60 (RFC 9293 §3.7.1). */
const IPV6_TCP_OVERHEAD = 60;
/** RFC 9293 §3.7.1 (MUST-15): the send MSS assumed on IPv6 without an MSS option. */
const IPV6_DEFAULT_MSS = IPV6_MIN_MTU - IPV6_TCP_OVERHEAD;
/** The IPv6 address of IPv4 connections and listeners (empty; cannot be written to). */
const NO_IP6 = new Uint8Array(0);

/**
 * An address for `listen` and `connect`: an IPv4 address as a uint32, or bytes: 4 (IPv4)
 * or 16 (IPv6; `::ffff:a.b.c.d`, IPv4-mapped, stands for that IPv4 address, as on a
 * dual-stack socket). 0, `0.0.0.0` and `::` mean "any" (listen) or "choose" (connect).
 */
export type TcpAddress = number | Uint8Array;

export interface TcpListenOptions {
  /**
   * An IPv6 listener on `::` takes IPv6 connections only (IPV6_V6ONLY). Default false:
   * it takes IPv4 ones as well (they have `family` 4). A listener on a specific IPv6
   * address never takes IPv4; IPv4 listeners ignore this.
   */
  v6only?: boolean;
}

/** One connection: a TCB with its endpoints. */
export class TcpConn implements ChangeTarget, Timed {
  readonly tcb: Tcb;
  /** IPv4 endpoints (uint32); 0 on an IPv6 connection. */
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

  /** `key`: the layer's table key (default: the IPv4 one). */
  constructor(tcb: Tcb, localIp: number, localPort: number, remoteIp: number, remotePort: number, key = connKey(localIp, localPort, remoteIp, remotePort)) {
    this.tcb = tcb;
    this.localIp = localIp;
    this.localPort = localPort;
    this.remoteIp = remoteIp;
    this.remotePort = remotePort;
    this.key = key;
  }

  /** 4 or 6 (`TcpConn6`). An IPv4 connection accepted by a dual-stack IPv6 listener is 4. */
  get family(): 4 | 6 {
    return 4;
  }

  /** IPv6: the local address (16 bytes, not to be modified); empty on IPv4. */
  get localIp6(): Uint8Array {
    return NO_IP6;
  }

  /** IPv6: the remote address (16 bytes, not to be modified); empty on IPv4. */
  get remoteIp6(): Uint8Array {
    return NO_IP6;
  }

  /** IPv6: the interface of a link-local peer (passive opens); undefined: the stack routes. */
  get scopeIfIndex(): number | undefined {
    return undefined;
  }
}

/**
 * An IPv6 connection: a `TcpConn` (IPv4 addresses 0) with its 16-byte endpoints. A
 * subclass, so that IPv4 connections carry no IPv6 field at all.
 */
export class TcpConn6 extends TcpConn {
  private readonly local6: Uint8Array;
  private readonly remote6: Uint8Array;
  private readonly scope: number | undefined;

  /** `localIp6`/`remoteIp6` are kept as given (pass copies); `key` is the layer's (`connKey6`). */
  constructor(tcb: Tcb, localIp6: Uint8Array, localPort: number, remoteIp6: Uint8Array, remotePort: number, scopeIfIndex: number | undefined, key: number) {
    super(tcb, 0, localPort, 0, remotePort, key);
    this.local6 = localIp6;
    this.remote6 = remoteIp6;
    this.scope = scopeIfIndex;
  }

  override get family(): 4 | 6 {
    return 6;
  }

  override get localIp6(): Uint8Array {
    return this.local6;
  }

  override get remoteIp6(): Uint8Array {
    return this.remote6;
  }

  override get scopeIfIndex(): number | undefined {
    return this.scope;
  }
}

/** A listening port. */
export class TcpListener implements ChangeTarget {
  /** IPv4 listeners: the local address (0: any); 0 on IPv6 listeners. */
  readonly localIp: number;
  readonly localPort: number;
  /** 4 or 6 (an IPv6 listener on `::` takes IPv4 as well unless `v6only`). */
  readonly family: 4 | 6;
  /** IPv6 listeners: the local address (16 bytes, `::` for any); empty on IPv4. */
  readonly localIp6: Uint8Array;
  /** An IPv6 listener that takes no IPv4 connections (set, or bound to a specific address); false on IPv4. */
  readonly v6only: boolean;
  private readonly any6: boolean;
  backlog: number;
  /** Connections in SYN-RECEIVED, oldest first. */
  readonly halfOpen: TcpConn[] = [];
  /** Established connections waiting for `accept`. */
  readonly acceptQueue: TcpConn[] = [];
  onChange: (() => void) | undefined = undefined;
  closed = false;
  /** SYNs dropped because the half-open queue was full (oldest evicted). */
  evicted = 0;

  /** IPv4: `localIp` (0: any). IPv6: `localIp` 0 and `localIp6` (16 bytes, kept: pass a copy). */
  constructor(localIp: number, localPort: number, backlog: number, localIp6: Uint8Array = NO_IP6, v6only = false) {
    this.localIp = localIp;
    this.localPort = localPort;
    this.backlog = backlog;
    this.family = localIp6.length === 16 ? 6 : 4;
    this.localIp6 = localIp6;
    this.any6 = this.family === 6 && isUnspecified(localIp6);
    this.v6only = this.family === 6 && (v6only || !this.any6);
  }

  /** Takes IPv4 SYNs to `dst`. */
  takes4(dst: number): boolean {
    return this.family === 4 ? this.localIp === 0 || this.localIp === dst : !this.v6only;
  }

  /** Takes IPv6 SYNs to `dst`. */
  takes6(dst: Uint8Array): boolean {
    return this.family === 6 && (this.any6 || ipv6EqualAt(this.localIp6, dst));
  }
}

/** A 32-bit mix of a 4-tuple (collisions resolved by comparing the fields). */
function connKey(lip: number, lport: number, rip: number, rport: number): number {
  let h = Math.imul(lip ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ rip ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ ((lport << 16) | rport) ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * A keyed 32-bit mix of an IPv6 4-tuple (`seed` secret per layer; collisions resolved by
 * comparing the fields). Reads the addresses in place. Exported for tests.
 */
export function connKey6(seed: number, lip: Uint8Array, lport: number, rip: Uint8Array, rport: number): number {
  let h = seed ^ ((lport << 16) | rport);
  for (let i = 0; i < 16; i += 4) {
    h = Math.imul(h ^ rd32(lip, i), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h ^ rd32(rip, i), 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return (h ^ (h >>> 15)) >>> 0;
}

/** The IPv4 address a `TcpAddress` stands for (a uint32, 4 bytes, or IPv4-mapped), else undefined. */
function ipv4Of(a: TcpAddress): number | undefined {
  if (typeof a === 'number') return a >>> 0;
  if (a.length === 4) return rd32(a, 0);
  if (a.length === 16 && isIpv4Mapped(a)) return rd32(a, 12);
  return undefined;
}

/**
 * The stack services the TCP layer uses. `Stack` provides them all; tests may pass a
 * fake. The IPv6 ones are optional: without them, IPv6 `listen` works but `connect` to
 * an IPv6 address fails with `ENOTSUP` (no IPv6 segment can arrive either).
 */
export interface TcpStackPort {
  setTcp(handler: TransportHandler | undefined): void;
  sendIp(now: number, p: IpSend): number;
  /** The source address for `dst` (0 without a route). */
  sourceAddressFor(dst: number): number;
  /** The largest IP datagram towards `dst` (0 without a route). */
  pathMtu(dst: number): number;
  markChanged(target: ChangeTarget): void;
  requestPoll(): void;
  sendIp6?(now: number, p: Ip6Send): number;
  /** RFC 6724 source for `dst` (a copy), undefined without one. */
  sourceAddressFor6?(dst: Uint8Array, ifIndex?: number): Uint8Array | undefined;
  /** The path MTU towards `dst` (>= 1280), 0 without a route. */
  pathMtu6?(dst: Uint8Array): number;
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

/**
 * The TCP layer of a `Stack` (`stack.setTcp(new TcpLayer(...))`): RFC 9293 connections over IPv4 and IPv6, listeners
 * with bounded half-open and accept queues, RST for segments nobody takes, random ephemeral ports (RFC 6056) and RFC
 * 6528 ISNs.
 */
export class TcpLayer implements TransportHandler {
  private readonly stack: TcpStackPort;
  private readonly rng: Rng;
  private readonly isn: IsnGenerator;
  /** Secret seed of the IPv6 connection keys. */
  private readonly keySeed: number;
  private readonly config: Partial<TcbConfig>;
  private readonly maxConnections: number;
  private readonly maxHalfOpen: number | undefined;
  /** IPv4 connections by `connKey` (collisions in arrays). */
  private readonly conns = new Map<number, TcpConn | TcpConn[]>();
  /** IPv6 connections by `connKey6`. */
  private readonly conns6 = new Map<number, TcpConn | TcpConn[]>();
  /** The IPv6 connection `find6` returned last (cleared when it leaves the table). */
  private last6: TcpConn | undefined;
  /** Listeners taking IPv4 SYNs, by port (IPv4 listeners and dual-stack IPv6 ones). */
  private readonly listeners = new Map<number, TcpListener>();
  /** Listeners taking IPv6 SYNs, by port. */
  private readonly listeners6 = new Map<number, TcpListener>();
  /** Distinct open listeners (a dual-stack one is in both maps). */
  private listenerCount = 0;
  private readonly timers = new TimerHeap<TcpConn>();
  private readonly dirty = new Set<TcpConn>();
  private connCount = 0;
  /** Connections in TIME-WAIT (see `openSockets`). */
  private timeWaitCount = 0;
  /** Segments answered with RST because nothing listened. */
  resets = 0;
  /** Segments dropped (bad checksum, malformed, broadcast). */
  dropped = 0;

  constructor(stack: TcpStackPort, opts: TcpLayerOptions) {
    this.stack = stack;
    this.rng = opts.rng;
    this.isn = new IsnGenerator(opts.rng);
    // Derived from the ISN secret (no draw from the Rng: the IPv4 sequence of ephemeral
    // ports stays what it was); ff..ff is a pair no connection has.
    const ff = new Uint8Array(16).fill(0xff);
    this.keySeed = this.isn.tsOffset(ff, ff);
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
    return this.connCount - this.timeWaitCount + this.listenerCount;
  }

  /**
   * The listener on `port`, if any: read-only diagnostics (its half-open queue, accept
   * queue and `evicted` count of SYNs that pushed out the oldest half-open connection).
   * `family`: the one taking that family's SYNs; default: the IPv4 one, else the IPv6 one.
   */
  listenerOn(port: number, family?: 4 | 6): Readonly<TcpListener> | undefined {
    if (family === 6) return this.listeners6.get(port);
    if (family === 4) return this.listeners.get(port);
    return this.listeners.get(port) ?? this.listeners6.get(port);
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

  private find6(lip: Uint8Array, lport: number, rip: Uint8Array, rport: number): TcpConn | undefined {
    // Segments come in runs for one connection: compare with the last one found before
    // hashing 36 bytes of key.
    const last = this.last6;
    if (last !== undefined && matches6(last, lip, lport, rip, rport)) return last;
    const e = this.conns6.get(connKey6(this.keySeed, lip, lport, rip, rport));
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return matches6(e, lip, lport, rip, rport) ? (this.last6 = e) : undefined;
    for (let i = 0; i < e.length; i++) {
      const c = e[i] as TcpConn;
      if (matches6(c, lip, lport, rip, rport)) return (this.last6 = c);
    }
    return undefined;
  }

  private insert(c: TcpConn): void {
    const table = c.family === 4 ? this.conns : this.conns6;
    const e = table.get(c.key);
    if (e === undefined) table.set(c.key, c);
    else if (Array.isArray(e)) e.push(c);
    else table.set(c.key, [e, c]);
    this.connCount++;
  }

  private remove(c: TcpConn): void {
    if (!c.attached) return;
    c.attached = false;
    if (this.last6 === c) this.last6 = undefined;
    const table = c.family === 4 ? this.conns : this.conns6;
    const e = table.get(c.key);
    if (e === c) table.delete(c.key);
    else if (Array.isArray(e)) {
      const rest = e.filter((x) => x !== c);
      if (rest.length === 1) table.set(c.key, rest[0] as TcpConn);
      else table.set(c.key, rest);
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

  /**
   * Starts listening on `port`. `localIp` (see `TcpAddress`): an IPv4 address (0: all),
   * or 16 IPv6 bytes (`::`: all; copied): an IPv6 listener on `::` takes IPv4 SYNs as
   * well unless `opts.v6only`; an IPv4-mapped address makes an IPv4 listener. One
   * listener per port and family: `EADDRINUSE` when the port already has one taking
   * the same family (a dual-stack listener takes both); `EINVAL` for a malformed or
   * multicast address.
   */
  listen(localIp: TcpAddress, port: number, backlog: number, opts?: TcpListenOptions): TcpListener | number {
    const v4 = ipv4Of(localIp);
    let l: TcpListener;
    if (v4 !== undefined) {
      if (this.listeners.has(port)) return IOT_SOCKET_EADDRINUSE;
      l = new TcpListener(v4, port, Math.max(1, backlog));
      this.listeners.set(port, l);
    } else {
      const a = localIp as Uint8Array;
      if (a.length !== 16 || a[0] === 0xff) return IOT_SOCKET_EINVAL;
      const dual = isUnspecified(a) && opts?.v6only !== true;
      if (this.listeners6.has(port) || (dual && this.listeners.has(port))) return IOT_SOCKET_EADDRINUSE;
      l = new TcpListener(0, port, Math.max(1, backlog), a.slice(), !dual);
      this.listeners6.set(port, l);
      if (dual) this.listeners.set(port, l);
    }
    this.listenerCount++;
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
    this.listenerCount--;
    if (this.listeners.get(l.localPort) === l) this.listeners.delete(l.localPort);
    if (this.listeners6.get(l.localPort) === l) this.listeners6.delete(l.localPort);
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
   * Active open to `remoteIp:remotePort` (see `TcpAddress`: a uint32 or 4 bytes for
   * IPv4, 16 bytes for IPv6, an IPv4-mapped address connects over IPv4). `localIp`
   * 0/`::` lets the stack choose the source (RFC 6724 on IPv6); an IPv6 source with an
   * IPv4 destination, or the reverse, is `EINVAL`. `localPort` 0 picks a random
   * ephemeral port. Returns the connection (SYN-SENT) or `EADDRINUSE` / `ENOMEM` /
   * `EAGAIN` (no ports) / `EINVAL` (malformed, unspecified or multicast destination) /
   * IPv6 only: `ENOTSUP` (the stack has no IPv6 output), `ERROR` (no source address:
   * no route).
   */
  connect(now: number, remoteIp: TcpAddress, remotePort: number, localIp: TcpAddress = 0, localPort = 0): TcpConn | number {
    if (typeof remoteIp === 'number' && typeof localIp === 'number') return this.connect4(now, remoteIp, remotePort, localIp, localPort);
    const r4 = ipv4Of(remoteIp);
    if (r4 !== undefined) {
      const l4 = ipv4Of(localIp) ?? (isUnspecified(localIp as Uint8Array) ? 0 : undefined);
      if (l4 === undefined) return IOT_SOCKET_EINVAL;
      return this.connect4(now, r4, remotePort, l4, localPort);
    }
    const r = remoteIp as Uint8Array;
    if (r.length !== 16 || r[0] === 0xff || isUnspecified(r)) return IOT_SOCKET_EINVAL;
    let lip: Uint8Array | undefined;
    if (ipv4Of(localIp) !== 0) {
      const a = localIp as Uint8Array;
      if (typeof localIp === 'number' || a.length !== 16 || isIpv4Mapped(a) || a[0] === 0xff) return IOT_SOCKET_EINVAL;
      if (!isUnspecified(a)) lip = a.slice();
    }
    return this.connect6(now, r.slice(), remotePort, lip, localPort);
  }

  private connect4(now: number, remoteIp: number, remotePort: number, localIp: number, localPort: number): TcpConn | number {
    if (this.connCount >= this.maxConnections) return IOT_SOCKET_ENOMEM;
    const lip = localIp !== 0 ? localIp >>> 0 : this.stack.sourceAddressFor(remoteIp);
    const lport = this.localPortFor(localPort, (p) => this.find(lip, p, remoteIp, remotePort) !== undefined);
    if (lport < 0) return lport;
    const tcb = new Tcb(this.tcbConfig(remoteIp));
    return this.activeOpen(now, new TcpConn(tcb, lip, lport, remoteIp >>> 0, remotePort));
  }

  /**
   * The local port of an active open: `wanted`, or for 0 a random ephemeral one (RFC
   * 6056 algorithm 2, 64 picks) that no listener holds and `taken` (same 4-tuple) does
   * not refuse. A negative code when none: `EAGAIN` (no free port), `EADDRINUSE`.
   */
  private localPortFor(wanted: number, taken: (port: number) => boolean): number {
    if (wanted !== 0) return taken(wanted) ? IOT_SOCKET_EADDRINUSE : wanted;
    for (let i = 0; i < 64; i++) {
      const p = randomInt(this.rng, EPHEMERAL_LOW, EPHEMERAL_HIGH);
      if (!this.isListening(p) && !taken(p)) return p;
    }
    return IOT_SOCKET_EAGAIN;
  }

  /** Sends the SYN of a new connection and enters it in the table. */
  private activeOpen(now: number, c: TcpConn): TcpConn {
    c.tcb.connect(now, this.isnFor(now, c), this.tsOffsetFor(c));
    this.insert(c);
    this.touch(c);
    return c;
  }

  /** `remoteIp` and `localIp` (undefined: choose) are copies the connection keeps. */
  private connect6(now: number, remoteIp: Uint8Array, remotePort: number, localIp: Uint8Array | undefined, localPort: number): TcpConn | number {
    if (this.connCount >= this.maxConnections) return IOT_SOCKET_ENOMEM;
    const stack = this.stack;
    if (stack.sendIp6 === undefined) return IOT_SOCKET_ENOTSUP;
    const lip = localIp ?? stack.sourceAddressFor6?.(remoteIp);
    if (lip === undefined || lip.length !== 16) return IOT_SOCKET_ERROR;
    const lport = this.localPortFor(localPort, (p) => this.find6(lip, p, remoteIp, remotePort) !== undefined);
    if (lport < 0) return lport;
    const tcb = new Tcb(this.tcbConfig6(remoteIp));
    return this.activeOpen(now, new TcpConn6(tcb, lip, lport, remoteIp, remotePort, undefined, connKey6(this.keySeed, lip, lport, remoteIp, remotePort)));
  }

  /** A listener of `family` (undefined: either) holds `port`; a dual-stack IPv6 listener counts for IPv4 too. */
  private isListening(port: number, family?: 4 | 6): boolean {
    if (family !== 6 && this.listeners.has(port)) return true;
    const l6 = this.listeners6.get(port);
    return l6 !== undefined && (family !== 4 || !l6.v6only);
  }

  /** Ports reserved by bound sockets that neither listen nor connect yet, per family. */
  private readonly reserved = new Set<number>();
  private readonly reserved6 = new Set<number>();

  /**
   * Whether a bind to `port` conflicts: another bound socket or a listener has it.
   * `family` 4 or 6 checks that family's port space only (IPv6 sockets of the socket
   * layer are v6-only, as on the host backend); undefined checks both. Connections
   * using the port as their local port (accepted ones, or ones finishing in TIME-WAIT)
   * do not block a new bind, as with SO_REUSEADDR (which Node sets for servers); a
   * duplicate 4-tuple is refused at connect time instead.
   */
  isPortUsed(port: number, family?: 4 | 6): boolean {
    if (family !== 6 && this.reserved.has(port)) return true;
    if (family !== 4 && this.reserved6.has(port)) return true;
    return this.isListening(port, family);
  }

  /** Reserves a port for a bound socket of `family` (default 4; false when taken). */
  reservePort(port: number, family: 4 | 6 = 4): boolean {
    if (this.isPortUsed(port, family)) return false;
    (family === 6 ? this.reserved6 : this.reserved).add(port);
    return true;
  }

  /** Releases a reservation (the socket listens, connects or closes). */
  releasePort(port: number, family: 4 | 6 = 4): void {
    (family === 6 ? this.reserved6 : this.reserved).delete(port);
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

  /**
   * IPv6: MSS = path MTU - 60, at least 1220 (also without a route); an explicit
   * `config.mss` only lowers it. Without an MSS option the peer's is taken as 1220.
   */
  private tcbConfig6(remoteIp: Uint8Array): Partial<TcbConfig> {
    const mtu = this.stack.pathMtu6?.(remoteIp) ?? 0;
    const mss = Math.max(IPV6_DEFAULT_MSS, mtu - IPV6_TCP_OVERHEAD);
    const cfg = this.config;
    return { ...cfg, mss: Math.min(cfg.mss ?? mss, mss), defaultPeerMss: cfg.defaultPeerMss ?? IPV6_DEFAULT_MSS };
  }

  private isnFor(now: number, c: TcpConn): number {
    if (c.family === 6) return this.isn.isn(now, c.localIp6, c.localPort, c.remoteIp6, c.remotePort);
    return this.isn.isn(now, ip4ToBytes(c.localIp), c.localPort, ip4ToBytes(c.remoteIp), c.remotePort);
  }

  private tsOffsetFor(c: TcpConn): number {
    if (c.family === 6) return this.isn.tsOffset(c.localIp6, c.remoteIp6);
    return this.isn.tsOffset(ip4ToBytes(c.localIp), ip4ToBytes(c.remoteIp));
  }

  // ------------------------------------------------------------------ input

  /**
   * Stack hook: one received segment (its checksum verified here unless offloaded) for a connection or a listener;
   * anything else is answered with RST.
   */
  input(now: number, ctx: IpInputContext, segment: Uint8Array): void {
    if (ctx.family === 6) {
      this.input6(now, ctx, segment);
      return;
    }
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
    if (l !== undefined && !l.closed && l.takes4(ctx.dst)) {
      if ((repr.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN) {
        this.passiveOpen(now, l, ctx, repr);
        return;
      }
    }
    this.resetFor(now, ctx, repr);
  }

  /** `input` for IPv6 (`ctx.src6`/`ctx.dst6` are views valid during the call: copied when kept). */
  private input6(now: number, ctx: IpInputContext, segment: Uint8Array): void {
    const src = ctx.src6, dst = ctx.dst6;
    // Multicast destinations (never answered), and sources no connection can have:
    // multicast, unspecified, IPv4-mapped (RFC 4291 §2.5.5.2: not on the wire).
    // (Unspecified and IPv4-mapped addresses start with a zero byte: other sources skip those checks.)
    if (ctx.broadcast || dst.length !== 16 || src.length !== 16 || dst[0] === 0xff || src[0] === 0xff
      || (src[0] === 0 && (isUnspecified(src) || isIpv4Mapped(src))) || (dst[0] === 0 && isIpv4Mapped(dst))) {
      this.dropped++;
      return;
    }
    const pseudo = ctx.checksumVerified ? 0 : pseudoHeaderSumV6(src, dst, TCP, segment.length);
    const repr = parseTcp(segment, pseudo, { checksumOffload: ctx.checksumVerified });
    if (isFault(repr)) {
      this.dropped++;
      return;
    }
    const hl = segment.length - repr.payloadLength;
    const payload = segment.subarray(hl);
    let c = this.find6(dst, repr.dstPort, src, repr.srcPort);
    if (c !== undefined && c.tcb.state === 'TIME-WAIT' && (repr.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN
      && c.tcb.acceptsNewIncarnation(repr)) {
      this.remove(c); // a new incarnation (as in `input`)
      c = undefined;
    }
    if (c !== undefined) {
      c.tcb.input(now, repr, payload);
      this.afterInput(now, c);
      return;
    }
    const l = this.listeners6.get(repr.dstPort);
    if (l !== undefined && !l.closed && l.takes6(dst)) {
      if ((repr.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN) {
        this.passiveOpen6(now, l, ctx, repr);
        return;
      }
    }
    this.resetFor6(now, ctx, repr);
  }

  /** Room for one more half-open connection on `l` (evicting the oldest when full); false: drop the SYN. */
  private admitSyn(l: TcpListener): boolean {
    if (l.acceptQueue.length >= l.backlog) return false; // accept queue full: drop, the client retries
    const maxHalf = this.maxHalfOpen ?? Math.max(64, 2 * l.backlog);
    if (l.halfOpen.length >= maxHalf) {
      const oldest = l.halfOpen.shift() as TcpConn;
      oldest.listener = undefined;
      oldest.tcb.abort();
      this.remove(oldest);
      l.evicted++;
    }
    return this.connCount < this.maxConnections;
  }

  private passiveOpen(now: number, l: TcpListener, ctx: IpInputContext, syn: TcpRepr): void {
    if (!this.admitSyn(l)) return;
    const tcb = new Tcb(this.tcbConfig(ctx.src));
    const c = new TcpConn(tcb, ctx.dst, syn.dstPort, ctx.src, syn.srcPort);
    this.openAccepted(now, l, c, syn);
  }

  private passiveOpen6(now: number, l: TcpListener, ctx: IpInputContext, syn: TcpRepr): void {
    if (!this.admitSyn(l)) return;
    const local = ctx.dst6.slice(), remote = ctx.src6.slice();
    const scoped = isLinkLocal(local) || isLinkLocal(remote);
    const tcb = new Tcb(this.tcbConfig6(remote));
    const key = connKey6(this.keySeed, local, syn.dstPort, remote, syn.srcPort);
    const c = new TcpConn6(tcb, local, syn.dstPort, remote, syn.srcPort, scoped ? ctx.ifIndex : undefined, key);
    this.openAccepted(now, l, c, syn);
  }

  private openAccepted(now: number, l: TcpListener, c: TcpConn, syn: TcpRepr): void {
    c.tcb.accept(now, syn, this.isnFor(now, c), this.tsOffsetFor(c));
    c.listener = l;
    l.halfOpen.push(c);
    this.insert(c);
    this.dirty.add(c);
  }

  /** RFC 9293 3.10.7.1: a segment for no connection gets an RST (never in reply to an RST). */
  private resetFor(now: number, ctx: IpInputContext, seg: TcpRepr): void {
    if ((seg.flags & TcpFlag.RST) !== 0) return;
    this.resets++;
    this.transmit(now, ctx.dst, seg.dstPort, ctx.src, seg.srcPort, resetSegment(seg));
  }

  private resetFor6(now: number, ctx: IpInputContext, seg: TcpRepr): void {
    if ((seg.flags & TcpFlag.RST) !== 0) return;
    this.resets++;
    const scoped = isLinkLocal(ctx.src6) || isLinkLocal(ctx.dst6);
    this.transmit6(now, ctx.dst6, seg.dstPort, ctx.src6, seg.srcPort, scoped ? ctx.ifIndex : undefined, resetSegment(seg));
  }

  /**
   * An ICMP error quoting one of our segments. Only ICMPv6 Packet Too Big acts (RFC 8201
   * §5.2): for data in flight (RFC 5927 §4.1: SND.UNA <= SEG.SEQ < SND.NXT, so a blind
   * attacker must guess the window), the connection's send MSS drops to the reported
   * MTU (never below 1280, RFC 8201 §4) - 60. Other errors are soft (RFC 5461) and
   * ignored, as are IPv4 ones (IPv4 segments go out without DF: the stack fragments).
   */
  onIcmpError(now: number, err: IcmpErrorInfo): void {
    if (err.family !== 6 || err.source !== 'icmp' || err.type !== Icmpv6Type.PACKET_TOO_BIG) return;
    const t = err.transport;
    if (t.length < 8 || err.src6.length !== 16 || err.dst6.length !== 16) return;
    const c = this.find6(err.src6, rd16(t, 0), err.dst6, rd16(t, 2));
    if (c === undefined) return;
    const tcb = c.tcb;
    const seq = rd32(t, 4);
    if (seqLt(seq, tcb.sndUna) || seqGe(seq, tcb.sndNxt)) return;
    const mtu = Math.max(IPV6_MIN_MTU, err.nextHopMtu);
    if (tcb.lowerMss(mtu - IPV6_TCP_OVERHEAD)) this.touch(c);
    void now;
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

  /** Stack hook: runs the connections with news since the last poll, then those whose timers are due. */
  poll(now: number): void {
    // Connections with news first, then due timers.
    for (const c of [...this.dirty]) this.run(now, c);
    this.dirty.clear();
    for (let c = this.timers.popDue(now); c !== undefined; c = this.timers.popDue(now)) this.run(now, c);
  }

  /** Stack hook: 0 when connections have news, else the earliest timer deadline. */
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
    tcb.output(now, c.family === 4 ? this.emitForRun : this.emitForRun6);
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
  /** The one payload writer of both families (an `(out) => void` fits `IpSend` and `Ip6Send`). */
  private readonly txWriter = (out: Uint8Array): void => this.writeSegment(out);
  private readonly txArgs: IpSend = {
    src: 0, dst: 0, protocol: TCP, payloadLen: 0, checksumOffset: 16,
    payloadWriter: this.txWriter,
  };
  private readonly txArgs6: Ip6Send = {
    src: NO_IP6, dst: NO_IP6, protocol: TCP, payloadLen: 0, checksumOffset: 16, ifIndex: undefined,
    payloadWriter: this.txWriter,
  };
  /** The connection and time `run` is emitting for (`emitForRun` reads them). */
  private runConn: TcpConn | undefined = undefined;
  private runNow = 0;
  private readonly emitForRun: TcpEmit = (seg) => {
    const c = this.runConn as TcpConn;
    return this.transmit(this.runNow, c.localIp, c.localPort, c.remoteIp, c.remotePort, seg);
  };
  private readonly emitForRun6: TcpEmit = (seg) => {
    const c = this.runConn as TcpConn;
    return this.transmit6(this.runNow, c.localIp6, c.localPort, c.remoteIp6, c.remotePort, c.scopeIfIndex, seg);
  };

  /** Sets what the payload writer of both families needs for `seg`; returns the TCP length (header + data). */
  private prepareTx(seg: TcpSegmentOut, lport: number, rport: number): number {
    const optLen = tcpOptionsLen(seg.options);
    const hl = 20 + optLen;
    this.txSeg = seg;
    this.txLport = lport;
    this.txRport = rport;
    this.txHl = hl;
    this.txOptLen = optLen;
    return hl + seg.payloadLength;
  }

  /** Sends one segment through the stack: header written in place, payload copied from the ring views. */
  private transmit(now: number, lip: number, lport: number, rip: number, rport: number, seg: TcpSegmentOut): boolean {
    const a = this.txArgs;
    a.src = lip;
    a.dst = rip;
    a.payloadLen = this.prepareTx(seg, lport, rport);
    const r = this.stack.sendIp(now, a);
    this.txSeg = undefined;
    // EAGAIN: the link refused the frame (queue full): the TCB retries later. Anything
    // else (queued for ARP, sent, or a routing error the ICMP path reports) counts as sent.
    return r !== IOT_SOCKET_EAGAIN;
  }

  /** `transmit` over IPv6 (`lip`/`rip` read during the call only; `ifIndex` for link-local peers). */
  private transmit6(now: number, lip: Uint8Array, lport: number, rip: Uint8Array, rport: number, ifIndex: number | undefined, seg: TcpSegmentOut): boolean {
    const a = this.txArgs6;
    a.src = lip;
    a.dst = rip;
    a.ifIndex = ifIndex;
    a.payloadLen = this.prepareTx(seg, lport, rport);
    const r = this.stack.sendIp6?.(now, a) ?? IOT_SOCKET_ERROR;
    this.txSeg = undefined;
    a.src = NO_IP6; // hold no view of a received packet
    a.dst = NO_IP6;
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

  /** Closes every listener (their half-open and unaccepted connections are reset). */
  close(): void {
    for (const l of new Set([...this.listeners.values(), ...this.listeners6.values()])) this.closeListener(0, l);
  }
}

function matches6(c: TcpConn, lip: Uint8Array, lport: number, rip: Uint8Array, rport: number): boolean {
  return c.localPort === lport && c.remotePort === rport && c.family === 6 && ipv6EqualAt(c.localIp6, lip) && ipv6EqualAt(c.remoteIp6, rip);
}

/** The RST answering `seg` (RFC 9293 3.10.7.1): SEQ = SEG.ACK, or ACK = SEG.SEQ + SEG.LEN. */
function resetSegment(seg: TcpRepr): TcpSegmentOut {
  const segLen = seg.payloadLength + ((seg.flags & TcpFlag.SYN) !== 0 ? 1 : 0) + ((seg.flags & TcpFlag.FIN) !== 0 ? 1 : 0);
  return (seg.flags & TcpFlag.ACK) !== 0
    ? { seq: seg.ack, ack: 0, flags: TcpFlag.RST, window: 0, options: {}, payload: [], payloadLength: 0 }
    : { seq: 0, ack: seqAdd(seg.seq, segLen), flags: TcpFlag.RST | TcpFlag.ACK, window: 0, options: {}, payload: [], payloadLength: 0 };
}
