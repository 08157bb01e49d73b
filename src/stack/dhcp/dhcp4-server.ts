/**
 * DHCPv4 server (RFC 2131 §4.3) on one interface of a `Stack`, for gateways and the
 * embedded demo: one address pool on the interface's subnet, a lease table, static
 * reservations (MAC -> address, optional host name) and the options router, DNS servers,
 * domain name, lease time (with T1/T2), interface MTU and broadcast address. It runs as a
 * stack service (`addService`) and needs no timers: leases expire lazily (an entry whose
 * time has passed is free, and remembers its last client so that client gets it back).
 *
 * Messages (a client is keyed by option 61 when present, else by htype + chaddr):
 * - DISCOVER -> OFFER of, in order: the client's reservation; its current or previous
 *   address; the requested address (option 50) if free; the first free pool address never
 *   used, else the one expired longest ago. Nothing free: no OFFER (`stats.exhausted`).
 *   The address is held for the client for `offerHoldMs`.
 * - REQUEST, SELECTING (option 54 present): ours -> ACK if the requested address may go to
 *   this client, else NAK; another server's -> our offer to that client is dropped, silence.
 * - REQUEST, INIT-REBOOT (option 50, no 54, no ciaddr): an address off our subnet, held by
 *   another client, or not this client's reservation -> NAK; the client's own -> ACK; an
 *   address we have no record of -> ACK if free when `authoritative` (default), else
 *   silence (RFC 2131 §4.3.2).
 * - REQUEST, RENEWING/REBINDING (ciaddr, no 50/54): the same rules for ciaddr.
 * - DECLINE (ours): the address is unusable for `declineHoldMs` (dnsmasq: 10 min).
 * - RELEASE (ours): the lease ends now; the address stays the client's first choice.
 * - INFORM: ACK to ciaddr with the options, no lease (RFC 2131 §4.3.5).
 *
 * Replies (RFC 2131 §4.1): to the relay at giaddr (port 67) when set (requests relayed
 * from another subnet are ignored: one pool); NAKs otherwise broadcast; to ciaddr when
 * set; broadcast when the client set the BROADCAST bit; else unicast to yiaddr at chaddr
 * (the stack's ARP entry is set from chaddr, as dnsmasq does, since the client cannot
 * answer ARP yet). Replies return the client identifier (RFC 6842). All configured options
 * are sent whether requested or not (RFC 2131 §4.3.1 allows it).
 *
 * Untrusted input never throws: malformed datagrams and messages that fit nothing are
 * counted (`stats.malformed`, `stats.ignored`) and dropped. Not done: conflict detection
 * by ICMP echo before offering (RFC 2131 §4.4.1 SHOULD; clients probe with ARP, RFC 5227),
 * several pools or relayed subnets, persistence of the lease table.
 */
import { toHex } from '../../wire/bytes.ts';
import { isFault } from '../../wire/fault.ts';
import {
  BootpOp, DHCPV4_CLIENT_PORT, DHCPV4_FLAG_BROADCAST, DHCPV4_HTYPE_ETHERNET, DHCPV4_SERVER_PORT, Dhcpv4MessageType, encodeDhcpv4,
  parseDhcpv4, type Dhcpv4Options, type Dhcpv4Repr,
} from '../../wire/dhcpv4.ts';
import { parseMac } from '../../wire/ethernet.ts';
import { prefixMask } from '../ipv4-addr.ts';
import { PostPollEvents } from '../post-poll-events.ts';
import type { Stack, StackService } from '../stack.ts';
import { IPV4_BROADCAST, toIpv4 } from '../stack.ts';
import type { UdpPcb } from '../udp.ts';

/** A static DHCP reservation: the client's MAC, its address and an optional host name. */
export interface Dhcp4Reservation {
  /** Client MAC (chaddr), `aa:bb:cc:dd:ee:ff` or 6 bytes. */
  mac: string | Uint8Array;
  /** The address to give (text or uint32). */
  address: string | number;
  /** Sent as option 12. */
  hostname?: string;
}

/**
 * Options of `Dhcp4Server`: interface, pool, prefix, the options served (routers, DNS servers, domain, lease, T1/T2,
 * MTU), reservations, hold times, authoritative mode and event listener.
 */
export interface Dhcp4ServerOptions {
  /** The interface served. */
  ifIndex: number;
  /** First and last pool address (inclusive), on the subnet. */
  pool: {
    /** First address (text or uint32). */
    start: string | number;
    /** Last address (text or uint32). */
    end: string | number;
  };
  /** Subnet prefix (option 1); default the interface's. */
  prefixLen?: number;
  /** Option 3. */
  routers?: readonly (string | number)[];
  /** Option 6. */
  dnsServers?: readonly (string | number)[];
  /** Option 15. */
  domainName?: string;
  /** Option 51 (default 3600 s); a client asking for less gets less. */
  leaseSeconds?: number;
  /** Options 58 / 59 (default 0.5 and 0.875 of the lease granted). */
  renewalSeconds?: number;
  /** Option 59 (T2; default 0.875 of the lease granted). */
  rebindingSeconds?: number;
  /** Option 26. */
  mtu?: number;
  /** Static MAC-to-address reservations. */
  reservations?: readonly Dhcp4Reservation[];
  /** How long an offered address stays held for its client (default 60 s). */
  offerHoldMs?: number;
  /** How long a declined address is not handed out (default 600 s, as dnsmasq). */
  declineHoldMs?: number;
  /** Answer INIT-REBOOT/RENEWING/REBINDING requests for addresses we have no record of (default true: the only server on its link). */
  authoritative?: boolean;
  /** A listener for every event. */
  onEvent?: (e: Dhcp4ServerEvent) => void;
}

/** State of a lease table row. */
export type Dhcp4ServerLeaseState = 'offered' | 'bound' | 'released' | 'expired' | 'declined';

/** One row of the lease table (a copy). */
export interface Dhcp4ServerLease {
  /** The address (uint32). */
  readonly address: number;
  /** Offered, bound, released, expired or declined. */
  readonly state: Dhcp4ServerLeaseState;
  /** chaddr of the client (undefined for a declined address). */
  readonly mac: Uint8Array | undefined;
  /** Option 61 of the client, if it sent one. */
  readonly clientId: Uint8Array | undefined;
  /** Option 12 the client sent, or its reservation's name. */
  readonly hostname: string | undefined;
  /** Stack ms: end of the offer hold, the lease, or the decline hold (Infinity: infinite). */
  readonly expiresAt: number;
}

/**
 * What a `Dhcp4Server` reports: an OFFER, ACK or NAK sent, a DECLINE or RELEASE received, an INFORM answered, or the
 * pool exhausted.
 */
export type Dhcp4ServerEvent = {
  /** What happened. */
  readonly type: 'offer' | 'ack' | 'nak' | 'declined' | 'released' | 'inform' | 'exhausted';
  /** The address concerned (0 for 'exhausted'). */
  readonly address: number;
  /** The client's MAC (chaddr). */
  readonly mac: Uint8Array;
};

/** Counters of a `Dhcp4Server`. */
export interface Dhcp4ServerStats {
  /** DISCOVERs received. */
  discovers: number;
  /** REQUESTs received. */
  requests: number;
  /** DECLINEs received. */
  declines: number;
  /** RELEASEs received. */
  releases: number;
  /** INFORMs received. */
  informs: number;
  /** OFFERs sent. */
  offers: number;
  /** ACKs sent. */
  acks: number;
  /** NAKs sent. */
  naks: number;
  /** DISCOVERs left without an offer: no free address. */
  exhausted: number;
  /** Datagrams that did not parse. */
  malformed: number;
  /** Messages dropped: not a request, no type, not for us, nothing to answer. */
  ignored: number;
  /** Replies the stack refused to send. */
  sendErrors: number;
}

interface Entry {
  readonly address: number;
  /** Client key ('' for a declined address). */
  key: string;
  state: 'offered' | 'bound' | 'released' | 'declined';
  mac: Uint8Array | undefined;
  clientId: Uint8Array | undefined;
  hostname: string | undefined;
  expiresAt: number;
}

interface Client {
  readonly key: string;
  readonly mac: Uint8Array;
  readonly reservation: { address: number; hostname: string | undefined } | undefined;
}

const INFINITE_LEASE = 0xffffffff;
const MAX_POOL = 65536;
const RX_BUFFER = 2048;

/**
 * A DHCPv4 server (RFC 2131 §4.3) on one interface of a `Stack`: one address pool on the interface's subnet, a lease
 * table, static reservations and the usual options; a stack service with no timers (leases expire lazily).
 */
export class Dhcp4Server implements StackService {
  /** The stack whose interface it serves. */
  readonly stack: Stack;
  /** The interface served. */
  readonly ifIndex: number;
  /** Our address: the server identifier (option 54). */
  readonly serverId: number;
  /** First pool address (uint32). */
  readonly poolStart: number;
  /** Last pool address (uint32). */
  readonly poolEnd: number;
  /** Prefix length of the served subnet. */
  readonly prefixLen: number;
  /** Counters (see `Dhcp4ServerStats`). */
  readonly stats: Dhcp4ServerStats = {
    discovers: 0, requests: 0, declines: 0, releases: 0, informs: 0, offers: 0, acks: 0, naks: 0, exhausted: 0, malformed: 0, ignored: 0, sendErrors: 0,
  };

  private readonly netmask: number;
  private readonly network: number;
  private readonly baseOptions: Dhcpv4Options;
  private readonly leaseSeconds: number;
  private readonly renewalSeconds: number | undefined;
  private readonly rebindingSeconds: number | undefined;
  private readonly offerHoldMs: number;
  private readonly declineHoldMs: number;
  private readonly authoritative: boolean;
  /** Reservations by MAC hex, and the reserved addresses. */
  private readonly reservations = new Map<string, { address: number; hostname: string | undefined }>();
  private readonly reserved = new Set<number>();
  /** Addresses never handed out: ours, routers, DNS servers. */
  private readonly excluded = new Set<number>();
  private readonly table = new Map<number, Entry>();
  private readonly events: PostPollEvents<Dhcp4ServerEvent>;
  private pcb: UdpPcb | undefined = undefined;
  private removeService: (() => void) | undefined = undefined;
  private readonly rx = new Uint8Array(RX_BUFFER);
  private readonly from = { address: 0, port: 0 };

  /** Validates the configuration (RangeError on a bad one) and starts serving at once. */
  constructor(stack: Stack, opts: Dhcp4ServerOptions) {
    this.stack = stack;
    const iface = stack.interface(opts.ifIndex);
    if (iface === undefined) throw new RangeError(`DHCP server: no interface ${opts.ifIndex}`);
    if (iface.address === 0) throw new RangeError('DHCP server: the interface needs an address (the server identifier)');
    this.ifIndex = opts.ifIndex;
    this.serverId = iface.address;
    this.prefixLen = opts.prefixLen ?? iface.prefixLen;
    if (!Number.isInteger(this.prefixLen) || this.prefixLen < 1 || this.prefixLen > 30) throw new RangeError(`DHCP server: bad prefix length ${this.prefixLen}`);
    this.netmask = prefixMask(this.prefixLen);
    this.network = (this.serverId & this.netmask) >>> 0;
    this.poolStart = toIpv4(opts.pool.start);
    this.poolEnd = toIpv4(opts.pool.end);
    if (this.poolEnd < this.poolStart || this.poolEnd - this.poolStart >= MAX_POOL || !this.onSubnet(this.poolStart) || !this.onSubnet(this.poolEnd)) {
      throw new RangeError('DHCP server: the pool must be a range of at most 65536 addresses on the subnet');
    }
    const routers = (opts.routers ?? []).map(toIpv4);
    const dns = (opts.dnsServers ?? []).map(toIpv4);
    this.excluded.add(this.serverId);
    for (const a of [...routers, ...dns]) this.excluded.add(a);
    this.leaseSeconds = opts.leaseSeconds ?? 3600;
    if (!Number.isInteger(this.leaseSeconds) || this.leaseSeconds < 1 || this.leaseSeconds > INFINITE_LEASE) throw new RangeError('DHCP server: bad lease time');
    this.renewalSeconds = opts.renewalSeconds;
    this.rebindingSeconds = opts.rebindingSeconds;
    this.offerHoldMs = opts.offerHoldMs ?? 60_000;
    this.declineHoldMs = opts.declineHoldMs ?? 600_000;
    this.authoritative = opts.authoritative ?? true;
    if (opts.mtu !== undefined && (!Number.isInteger(opts.mtu) || opts.mtu < 68 || opts.mtu > 0xffff)) throw new RangeError('DHCP server: bad MTU');
    this.baseOptions = {
      subnetMask: this.netmask,
      broadcastAddress: (this.network | ~this.netmask) >>> 0,
      ...(routers.length > 0 ? { routers } : {}),
      ...(dns.length > 0 ? { dnsServers: dns } : {}),
      ...(opts.domainName !== undefined ? { domainName: checkText(opts.domainName, 'domain name') } : {}),
      ...(opts.mtu !== undefined ? { interfaceMtu: opts.mtu } : {}),
    };
    for (const r of opts.reservations ?? []) {
      const mac = typeof r.mac === 'string' ? parseMac(r.mac) : r.mac;
      if (mac === undefined || mac.length !== 6) throw new RangeError(`DHCP server: bad reservation MAC ${String(r.mac)}`);
      const address = toIpv4(r.address);
      if (!this.onSubnet(address) || this.excluded.has(address) || this.reserved.has(address)) {
        throw new RangeError(`DHCP server: reservation ${r.address} is off the subnet, ours, or reserved twice`);
      }
      this.reservations.set(toHex(mac), { address, hostname: r.hostname === undefined ? undefined : checkText(r.hostname, 'hostname') });
      this.reserved.add(address);
    }
    this.events = new PostPollEvents((t) => stack.markChanged(t));
    if (opts.onEvent !== undefined) this.events.on(opts.onEvent);
    const pcb = stack.udpOpen(4);
    if (typeof pcb === 'number') throw new Error(`DHCP server: no UDP socket (${pcb})`);
    const r = stack.udpBindToInterface(pcb, this.ifIndex) || stack.udpBind(pcb, 0, DHCPV4_SERVER_PORT);
    if (r !== 0) {
      stack.udpClose(pcb);
      throw new Error(`DHCP server: cannot bind UDP port 67 on interface ${this.ifIndex} (${r})`);
    }
    this.pcb = pcb;
    this.removeService = stack.addService(this);
  }

  /** Adds an event listener (run after the stack's poll); returns its removal. */
  on(listener: (e: Dhcp4ServerEvent) => void): () => void {
    return this.events.on(listener);
  }

  /** The lease table at `now`, by address. */
  leases(now: number): Dhcp4ServerLease[] {
    const out: Dhcp4ServerLease[] = [];
    for (const e of [...this.table.values()].sort((a, b) => a.address - b.address)) {
      let state: Dhcp4ServerLeaseState;
      if (e.state === 'declined') {
        if (e.expiresAt <= now) continue; // the hold is over: a free address, nothing to show
        state = 'declined';
      } else if (e.state === 'released') {
        state = 'released';
      } else {
        state = e.expiresAt <= now ? 'expired' : e.state;
      }
      out.push({ address: e.address, state, mac: e.mac?.slice(), clientId: e.clientId?.slice(), hostname: e.hostname, expiresAt: e.expiresAt });
    }
    return out;
  }

  /** The bound (unexpired) lease of a client MAC, if any. */
  leaseFor(mac: string | Uint8Array, now: number): Dhcp4ServerLease | undefined {
    const m = typeof mac === 'string' ? parseMac(mac) : mac;
    if (m === undefined) return undefined;
    const hex = toHex(m);
    return this.leases(now).find((l) => l.state === 'bound' && l.mac !== undefined && toHex(l.mac) === hex);
  }

  /** Stops serving (the lease table stays readable). Idempotent. */
  close(): void {
    this.removeService?.();
    this.removeService = undefined;
    if (this.pcb !== undefined) this.stack.udpClose(this.pcb);
    this.pcb = undefined;
  }

  // ---------------------------------------------------------------- StackService

  /** Stack service hook: always `undefined` (the server needs no timers). */
  pollAt(): number | undefined {
    return undefined;
  }

  /** Stack service hook: answers the requests queued on its UDP socket. */
  poll(now: number): void {
    const pcb = this.pcb;
    if (pcb === undefined) return;
    while (pcb.queued > 0) {
      const n = this.stack.udpRecvFrom(pcb, this.rx, this.rx.length, this.from);
      if (n < 0) break;
      this.input(now, this.rx.subarray(0, n));
    }
  }

  // ---------------------------------------------------------------- messages

  private input(now: number, data: Uint8Array): void {
    const m = parseDhcpv4(data);
    if (isFault(m)) {
      this.stats.malformed++;
      return;
    }
    const type = m.options.messageType;
    if (m.op !== BootpOp.REQUEST || type === undefined || m.chaddr.length === 0 || (m.giaddr !== 0 && !this.onSubnet(m.giaddr))) {
      this.stats.ignored++;
      return;
    }
    const client = this.clientOf(m);
    switch (type) {
      case Dhcpv4MessageType.DISCOVER:
        this.stats.discovers++;
        this.discover(now, m, client);
        return;
      case Dhcpv4MessageType.REQUEST:
        this.stats.requests++;
        this.request(now, m, client);
        return;
      case Dhcpv4MessageType.DECLINE:
        this.stats.declines++;
        this.decline(now, m, client);
        return;
      case Dhcpv4MessageType.RELEASE:
        this.stats.releases++;
        this.release(now, m, client);
        return;
      case Dhcpv4MessageType.INFORM:
        this.stats.informs++;
        if (m.ciaddr === 0 || !this.onSubnet(m.ciaddr)) {
          this.stats.ignored++;
          return;
        }
        this.reply(now, m, Dhcpv4MessageType.ACK, 0, undefined, client);
        this.emit('inform', m.ciaddr, client);
        return;
      default:
        this.stats.ignored++;
    }
  }

  private clientOf(m: Dhcpv4Repr): Client {
    const id = m.options.clientId;
    const key = id !== undefined ? `id:${toHex(id)}` : `hw:${m.htype}:${toHex(m.chaddr)}`;
    const reservation = m.htype === DHCPV4_HTYPE_ETHERNET && m.chaddr.length === 6 ? this.reservations.get(toHex(m.chaddr)) : undefined;
    return { key, mac: m.chaddr, reservation };
  }

  private discover(now: number, m: Dhcpv4Repr, c: Client): void {
    const address = this.choose(now, m, c);
    if (address === undefined) {
      this.stats.exhausted++;
      this.emit('exhausted', 0, c);
      return;
    }
    const e = this.assign(address, m, c);
    if (!(e.state === 'bound' && e.expiresAt > now)) {
      e.state = 'offered';
      e.expiresAt = now + this.offerHoldMs;
    }
    this.stats.offers++;
    this.reply(now, m, Dhcpv4MessageType.OFFER, address, this.grant(m), c);
    this.emit('offer', address, c);
  }

  /** RFC 2131 §4.3.1 address selection. */
  private choose(now: number, m: Dhcpv4Repr, c: Client): number | undefined {
    if (c.reservation !== undefined) return this.availableTo(c.reservation.address, c, now) ? c.reservation.address : undefined;
    const own = this.entryOf(c.key);
    if (own !== undefined && own.state !== 'declined' && this.availableTo(own.address, c, now)) return own.address;
    const want = m.options.requestedIp;
    if (want !== undefined && this.inPool(want) && this.availableTo(want, c, now)) return want;
    let best: Entry | undefined;
    for (let a = this.poolStart; a <= this.poolEnd; a++) {
      if (!this.availableTo(a, c, now)) continue;
      const e = this.table.get(a);
      if (e === undefined) return a;
      if (best === undefined || e.expiresAt < best.expiresAt) best = e;
    }
    return best?.address;
  }

  private request(now: number, m: Dhcpv4Repr, c: Client): void {
    const o = m.options;
    if (o.serverId !== undefined) {
      // SELECTING.
      if (o.serverId !== this.serverId) {
        const e = this.entryOf(c.key);
        if (e !== undefined && e.state === 'offered') e.expiresAt = now; // the client took another server's offer
        this.stats.ignored++;
        return;
      }
      const want = o.requestedIp ?? m.ciaddr;
      const e = this.entryOf(c.key);
      if (want !== 0 && e !== undefined && e.address === want && e.state !== 'declined' && this.availableTo(want, c, now)) this.ack(now, m, c, want);
      else this.nak(now, m, c, 'address not offered to you');
      return;
    }
    const initReboot = m.ciaddr === 0;
    const want = initReboot ? o.requestedIp : m.ciaddr;
    if (want === undefined || want === 0) {
      this.stats.ignored++;
      return;
    }
    // INIT-REBOOT (RFC 2131 §4.3.2) and RENEWING / REBINDING alike.
    if (!this.onSubnet(want)) {
      this.nak(now, m, c, 'wrong network');
      return;
    }
    if (c.reservation !== undefined && c.reservation.address !== want) {
      this.nak(now, m, c, 'address reserved elsewhere for you');
      return;
    }
    const e = this.entryOf(c.key);
    const mine = e !== undefined && e.address === want && e.state !== 'declined';
    if (!mine && c.reservation === undefined && !this.authoritative) {
      this.stats.ignored++; // RFC 2131 §4.3.2: no record of the client: remain silent
      return;
    }
    if (this.availableTo(want, c, now)) this.ack(now, m, c, want);
    else this.nak(now, m, c, 'address not available');
  }

  private ack(now: number, m: Dhcpv4Repr, c: Client, address: number): void {
    const e = this.assign(address, m, c);
    const granted = this.grant(m);
    e.state = 'bound';
    e.expiresAt = granted === INFINITE_LEASE ? Infinity : now + granted * 1000;
    this.stats.acks++;
    this.reply(now, m, Dhcpv4MessageType.ACK, address, granted, c);
    this.emit('ack', address, c);
  }

  private nak(now: number, m: Dhcpv4Repr, c: Client, why: string): void {
    this.stats.naks++;
    this.reply(now, m, Dhcpv4MessageType.NAK, 0, undefined, c, why);
    this.emit('nak', m.options.requestedIp ?? m.ciaddr, c);
  }

  private decline(now: number, m: Dhcpv4Repr, c: Client): void {
    const address = m.options.requestedIp;
    const e = address === undefined ? undefined : this.table.get(address);
    if ((m.options.serverId !== undefined && m.options.serverId !== this.serverId) || e === undefined || e.key !== c.key) {
      this.stats.ignored++;
      return;
    }
    // RFC 2131 §4.3.3: mark the address as not available.
    e.key = '';
    e.state = 'declined';
    e.mac = undefined;
    e.clientId = undefined;
    e.hostname = undefined;
    e.expiresAt = now + this.declineHoldMs;
    this.emit('declined', e.address, c);
  }

  private release(now: number, m: Dhcpv4Repr, c: Client): void {
    const e = this.table.get(m.ciaddr);
    if ((m.options.serverId !== undefined && m.options.serverId !== this.serverId) || e === undefined || e.key !== c.key || e.state !== 'bound') {
      this.stats.ignored++;
      return;
    }
    // RFC 2131 §4.3.4: the lease ends; the address is remembered for this client.
    e.state = 'released';
    e.expiresAt = now;
    this.emit('released', e.address, c);
  }

  // ---------------------------------------------------------------- table

  private onSubnet(a: number): boolean {
    const host = (a & ~this.netmask) >>> 0;
    return ((a & this.netmask) >>> 0) === this.network && host !== 0 && host !== (~this.netmask >>> 0);
  }

  private inPool(a: number): boolean {
    return a >= this.poolStart && a <= this.poolEnd;
  }

  /** Whether `a` may be handed to client `c` now. */
  private availableTo(a: number, c: Client, now: number): boolean {
    if (this.excluded.has(a) || !this.onSubnet(a)) return false;
    if (this.reserved.has(a)) {
      if (c.reservation?.address !== a) return false;
    } else if (!this.inPool(a)) {
      return false;
    }
    const e = this.table.get(a);
    if (e === undefined || e.key === c.key) return e?.state !== 'declined' || e.expiresAt <= now;
    return e.expiresAt <= now || e.state === 'released';
  }

  private entryOf(key: string): Entry | undefined {
    for (const e of this.table.values()) if (e.key === key) return e;
    return undefined;
  }

  /** Makes `address` this client's entry (one entry per client). */
  private assign(address: number, m: Dhcpv4Repr, c: Client): Entry {
    const old = this.entryOf(c.key);
    if (old !== undefined && old.address !== address) {
      old.key = '';
      if (old.state !== 'declined') old.expiresAt = Math.min(old.expiresAt, 0);
      old.state = old.state === 'declined' ? 'declined' : 'released';
    }
    let e = this.table.get(address);
    if (e === undefined) {
      e = { address, key: c.key, state: 'offered', mac: undefined, clientId: undefined, hostname: undefined, expiresAt: 0 };
      this.table.set(address, e);
    } else if (e.key !== c.key) {
      e.state = 'released';
      e.expiresAt = 0;
    }
    e.key = c.key;
    e.mac = c.mac.slice();
    e.clientId = m.options.clientId?.slice();
    e.hostname = c.reservation?.hostname ?? m.options.hostname ?? e.hostname;
    return e;
  }

  // ---------------------------------------------------------------- replies

  /** Lease time granted: the configured one, or less if the client asked for less. */
  private grant(m: Dhcpv4Repr): number {
    const asked = m.options.leaseTime;
    return asked !== undefined && asked > 0 && asked < this.leaseSeconds ? asked : this.leaseSeconds;
  }

  private reply(now: number, m: Dhcpv4Repr, type: number, yiaddr: number, lease: number | undefined, c: Client, message?: string): void {
    const pcb = this.pcb;
    if (pcb === undefined) return;
    const nak = type === Dhcpv4MessageType.NAK;
    let options: Dhcpv4Options = {
      messageType: type,
      serverId: this.serverId,
      ...(m.options.clientId !== undefined ? { clientId: m.options.clientId } : {}), // RFC 6842
      ...(message !== undefined ? { message } : {}),
    };
    if (!nak) {
      const hostname = c.reservation?.hostname;
      options = { ...this.baseOptions, ...options, ...(hostname !== undefined ? { hostname } : {}) };
      if (lease !== undefined) {
        const infinite = lease === INFINITE_LEASE;
        const t2 = this.rebindingSeconds !== undefined && this.rebindingSeconds < lease ? this.rebindingSeconds : Math.floor(lease * 0.875);
        const t1 = this.renewalSeconds !== undefined && this.renewalSeconds < t2 ? this.renewalSeconds : Math.min(t2, Math.floor(lease * 0.5));
        options = { ...options, leaseTime: lease, ...(infinite ? {} : { renewalTime: t1, rebindingTime: t2 }) };
      }
    }
    const relayed = m.giaddr !== 0;
    const msg = encodeDhcpv4({
      op: BootpOp.REPLY, htype: m.htype, chaddr: m.chaddr, hops: 0, xid: m.xid, secs: 0,
      flags: relayed && nak ? m.flags | DHCPV4_FLAG_BROADCAST : m.flags,
      ciaddr: nak ? 0 : m.ciaddr, yiaddr, siaddr: 0, giaddr: m.giaddr, sname: '', file: '',
      options,
    });
    // RFC 2131 §4.1 reply addressing.
    let dst: number;
    let port = DHCPV4_CLIENT_PORT;
    if (relayed) {
      dst = m.giaddr;
      port = DHCPV4_SERVER_PORT;
    } else if (nak) {
      dst = IPV4_BROADCAST;
    } else if (m.ciaddr !== 0) {
      dst = m.ciaddr;
    } else if ((m.flags & DHCPV4_FLAG_BROADCAST) !== 0 || m.htype !== DHCPV4_HTYPE_ETHERNET || m.chaddr.length !== 6 || yiaddr === 0) {
      dst = IPV4_BROADCAST;
    } else {
      this.stack.setNeighbor(now, yiaddr, m.chaddr);
      dst = yiaddr;
    }
    if (this.stack.udpSendTo(now, pcb, msg, msg.length, dst, port) < 0) this.stats.sendErrors++;
  }

  // ---------------------------------------------------------------- events

  private emit(type: Dhcp4ServerEvent['type'], address: number, c: Client): void {
    if (!this.events.listened) return;
    this.events.emit({ type, address, mac: c.mac.slice() });
  }
}

function checkText(s: string, what: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e || s.charCodeAt(i) < 0x20) throw new RangeError(`DHCP server: ${what} must be printable ASCII`);
  return s;
}
