/**
 * UDP protocol control blocks (RFC 768) and their port table. The datagram paths
 * (demultiplexing, sending, ICMP errors) live in `stack.ts`; this module holds the
 * per-socket state and the binding rules.
 *
 * Binding rules (the BSD rule without `SO_REUSEADDR`, as the host backend's port table):
 * two PCBs conflict when they have the same port and their local addresses are equal
 * or either is the wildcard (0) — unless both are tied to different interfaces
 * (`ifIndex`, like Linux's `SO_BINDTODEVICE`: a DHCP client per interface each binds
 * 0.0.0.0:68). So at most one PCB can match a given (interface, local address, port),
 * and demultiplexing is a `Map` lookup by port plus a scan of the (one or few) PCBs
 * bound to distinct specific addresses or interfaces of that port.
 *
 * IPv6 PCBs (`family` 6) bind 16-byte addresses (`localAddr6`, all zero = any). One port
 * space serves both families, as on Linux: an IPv6 wildcard PCB that is not `v6Only`
 * is dual-stack (it also receives IPv4 datagrams, reported as IPv4-mapped addresses)
 * and so conflicts with any IPv4 PCB on its port; a v6-only or specific-address IPv6
 * PCB never conflicts with an IPv4 one.
 *
 * Implicit ports are RFC 6056 Algorithm 1 ("simple port randomization") over the IANA
 * dynamic range 49152-65535 (RFC 6335): a random start from the stack's `Rng`, then the
 * next free port.
 */
import { ipv6EqualAt, isUnspecified } from '../base/ip-address.ts';
import { randomInt, type Rng } from '../base/rand.ts';

/** First and last port of the IANA dynamic range (RFC 6335 §6). */
export const UDP_EPHEMERAL_FIRST = 49152;
export const UDP_EPHEMERAL_LAST = 65535;

/** One received datagram waiting in a PCB's queue. `data` is the PCB's own copy. */
export interface UdpDatagram {
  readonly data: Uint8Array;
  /** Source address (uint32; 0 for IPv6) and port. */
  readonly src: number;
  readonly srcPort: number;
  /** Destination address it was sent to (uint32; a broadcast address for broadcasts; 0 for IPv6). */
  readonly dst: number;
  /** IPv6 source (16 bytes; IPv4-mapped for an IPv4 datagram on a dual-stack PCB); undefined for IPv4 PCBs. */
  readonly src6?: Uint8Array | undefined;
}

const ANY6 = new Uint8Array(16);

/** Counters of one PCB. */
export interface UdpPcbStats {
  /** Datagrams queued for the application. */
  received: number;
  /** Datagrams dropped because the queue was full (count or bytes). */
  dropped: number;
  /** Datagrams dropped by the connect filter (not from the connected peer). */
  filtered: number;
  /** Datagrams sent (handed to IP: transmitted, or queued for ARP). */
  sent: number;
}

/**
 * A UDP socket inside the stack. Fields are read-only for users; change them through
 * the `Stack` (`udpBind`, `udpConnect`, ...). `onChange` is the one change callback:
 * the stack calls it after a poll in which the PCB became readable or got an error
 * (never from inside the poll), possibly spuriously.
 */
export class UdpPcb {
  readonly id: number;
  /** 4 or 6: which address fields apply. */
  readonly family: 4 | 6;
  /** Local address (uint32, 0 = any) and port (0 = unbound). */
  localAddr = 0;
  localPort = 0;
  /** Default destination and receive filter (port 0 = none). */
  remoteAddr = 0;
  remotePort = 0;
  /** IPv6 PCBs: local address (all zero = any) and default destination (16 bytes each; IPv4-mapped for an IPv4 peer). */
  localAddr6: Uint8Array = ANY6;
  remoteAddr6: Uint8Array = ANY6;
  /** IPv6 PCBs: receive IPv6 only (false: a wildcard PCB also receives IPv4, like Linux's default IPV6_V6ONLY=0). */
  v6Only = false;
  /**
   * Interface the PCB is tied to (`Stack.udpBindToInterface`), -1 for none: it receives
   * only datagrams that arrived there, and its limited broadcasts (255.255.255.255) go
   * out there. Unicast sends are routed as usual.
   */
  ifIndex = -1;
  /**
   * A pending error (negative IoT code, 0 = none), reported once by the next
   * `udpRecvFrom` or `udpSendTo`: `ECONNREFUSED` after an ICMP port unreachable,
   * `ERROR` after a host/net unreachable, time exceeded or ARP failure for the connected
   * destination.
   */
  error = 0;
  closed = false;
  onChange: (() => void) | undefined = undefined;
  readonly stats: UdpPcbStats = { received: 0, dropped: 0, filtered: 0, sent: 0 };

  /** Queue: `queue[head ..]` are waiting, oldest first. */
  private queue: UdpDatagram[] = [];
  private head = 0;
  private bytes = 0;

  constructor(id: number, family: 4 | 6 = 4) {
    this.id = id;
    this.family = family;
  }

  /** An IPv6 wildcard PCB that also takes IPv4 datagrams. */
  get dualStack(): boolean {
    return this.family === 6 && !this.v6Only && isUnspecified(this.localAddr6);
  }

  /** A default destination (and receive filter) is set. */
  get connected(): boolean {
    return this.remotePort !== 0;
  }

  /** Datagrams waiting. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Payload bytes waiting. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** A receive would return something other than `EAGAIN` (a datagram or the pending error). */
  get readable(): boolean {
    return this.error !== 0 || this.queue.length > this.head;
  }

  /** @internal Appends a datagram unless the queue is at either bound; false when dropped. */
  enqueue(d: UdpDatagram, maxDatagrams: number, maxBytes: number): boolean {
    if (this.queued >= maxDatagrams || (this.bytes + d.data.length > maxBytes && this.queued > 0)) {
      this.stats.dropped++;
      return false;
    }
    this.queue.push(d);
    this.bytes += d.data.length;
    this.stats.received++;
    return true;
  }

  /** @internal The oldest datagram, removed; undefined when empty. */
  dequeue(): UdpDatagram | undefined {
    if (this.head >= this.queue.length) return undefined;
    const d = this.queue[this.head] as UdpDatagram;
    this.head++;
    this.bytes -= d.data.length;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return d;
  }

  /** @internal The oldest datagram without removing it. */
  peek(): UdpDatagram | undefined {
    return this.queue[this.head];
  }

  /** @internal Drops everything queued. */
  clearQueue(): void {
    this.queue = [];
    this.head = 0;
    this.bytes = 0;
  }
}

/** The UDP port space of one stack. */
export class UdpPortTable {
  private readonly byPort = new Map<number, UdpPcb[]>();

  /** PCBs bound to `port` (empty array when none). Do not mutate. */
  onPort(port: number): readonly UdpPcb[] {
    return this.byPort.get(port) ?? EMPTY;
  }

  /**
   * True when `addr:port` on interface `ifIndex` (-1: any) conflicts with a bound PCB.
   * `addr`: uint32 (IPv4) or 16 bytes (IPv6; `dual`: a dual-stack wildcard).
   */
  conflicts(addr: number | Uint8Array, port: number, ifIndex = -1, dual = false): boolean {
    const list = this.byPort.get(port);
    if (list === undefined) return false;
    for (const p of list) {
      if (ifIndex >= 0 && p.ifIndex >= 0 && p.ifIndex !== ifIndex) continue;
      if (typeof addr === 'number') {
        if (p.family === 6) {
          if (p.dualStack) return true;
          continue;
        }
        if (p.localAddr === 0 || addr === 0 || p.localAddr === addr) return true;
      } else if (p.family === 4) {
        if (dual) return true;
      } else if (isUnspecified(p.localAddr6) || isUnspecified(addr) || ipv6EqualAt(p.localAddr6, addr)) {
        return true;
      }
    }
    return false;
  }

  /** Binds `pcb` (unbound) to `addr:port` (on its `ifIndex`); false on a conflict. `addr`: uint32 for IPv4 PCBs, 16 bytes for IPv6 ones. */
  bind(pcb: UdpPcb, addr: number | Uint8Array, port: number): boolean {
    const v6 = typeof addr !== 'number';
    if (v6 !== (pcb.family === 6)) return false;
    if (this.conflicts(addr, port, pcb.ifIndex, v6 && !pcb.v6Only && isUnspecified(addr))) return false;
    if (v6) pcb.localAddr6 = isUnspecified(addr) ? ANY6 : addr.slice(0, 16);
    else pcb.localAddr = addr >>> 0;
    pcb.localPort = port;
    const list = this.byPort.get(port);
    if (list === undefined) this.byPort.set(port, [pcb]);
    else list.push(pcb);
    return true;
  }

  /** Binds `pcb` to `addr` and a free port of 49152-65535 (RFC 6056 Algorithm 1); false when all are taken. */
  bindEphemeral(pcb: UdpPcb, addr: number | Uint8Array, rng: Rng): boolean {
    const count = UDP_EPHEMERAL_LAST - UDP_EPHEMERAL_FIRST + 1;
    const start = randomInt(rng, 0, count - 1);
    for (let i = 0; i < count; i++) {
      const port = UDP_EPHEMERAL_FIRST + ((start + i) % count);
      if (this.bind(pcb, addr, port)) return true;
    }
    return false;
  }

  /** Releases `pcb`'s port (harmless when unbound). */
  unbind(pcb: UdpPcb): void {
    if (pcb.localPort === 0) return;
    const list = this.byPort.get(pcb.localPort);
    if (list !== undefined) {
      const i = list.indexOf(pcb);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byPort.delete(pcb.localPort);
    }
    pcb.localPort = 0;
    pcb.localAddr = 0;
    pcb.localAddr6 = ANY6;
  }

  /** Bound ports (for leak checks). */
  get size(): number {
    let n = 0;
    for (const l of this.byPort.values()) n += l.length;
    return n;
  }
}

const EMPTY: readonly UdpPcb[] = Object.freeze([]);
