/**
 * DHCPv4 client (RFC 2131 §4.4) for one interface of a `Stack`, with RFC 5227 address
 * conflict detection. A pure state machine: it runs as a stack service (`addService`),
 * so the `StackRunner` drives it in real time and tests on virtual time; its only
 * randomness is the stack's `Rng` (transaction ids, retransmission jitter, probe delays).
 *
 * States (RFC 2131 figure 5, plus PROBING and STOPPED):
 * - INIT -> DISCOVER broadcast -> SELECTING; the first acceptable OFFER (an address and a
 *   server id) is taken -> REQUEST broadcast with options 50 and 54 -> REQUESTING.
 * - INIT-REBOOT (a `previousAddress` was given) -> REQUEST with option 50, no server id
 *   -> REBOOTING; a NAK or no answer ('reboot-failed') -> INIT.
 * - ACK -> PROBING (RFC 5227 §2.1: after 0-PROBE_WAIT, PROBE_NUM ARP probes with sender
 *   IP 0, PROBE_MIN-PROBE_MAX apart, then ANNOUNCE_WAIT) -> BOUND: the address, prefix
 *   (option 1; classful without it) and default route (first router on the subnet) go on
 *   the interface, which announces the address twice (`Stack.setIpv4`, RFC 5227 §2.3);
 *   option 26 sets the interface MTU. A conflict (a host using the address, or probing
 *   for it) -> DECLINE -> INIT after 10 s (RFC 2131 §4.4.1; 60 s after MAX_CONFLICTS).
 * - BOUND -> at T1 (option 58, default 0.5 x lease) REQUEST unicast to the server ->
 *   RENEWING -> at T2 (option 59, default 0.875 x lease) REQUEST broadcast -> REBINDING ->
 *   at the end of the lease the address and routes are removed ('expired') -> INIT.
 *   Retransmissions there wait half the time left to T2 / expiry, at least 60 s
 *   (RFC 2131 §4.4.5). A NAK in any of them removes the lease -> INIT.
 * - Elsewhere, retransmissions after 4 s, 8 s, ... up to 64 s, each +-1 s at random
 *   (RFC 2131 §4.1); REQUESTING and REBOOTING give up after `requestTries` transmissions.
 *   A run of NAKs backs off: the first restart is immediate, then 1, 2, 4 ... 64 s.
 * - `stop(now, { release: true })` sends a RELEASE (unicast when the server's MAC is
 *   known, else broadcast: the address is removed at once, so ARP could not complete);
 *   stopping always removes the address the client configured.
 *
 * Replies are matched on xid and chaddr. Requests from an unaddressed interface set the
 * BROADCAST flag (RFC 2131 §4.1: "A client that cannot receive unicast IP datagrams until
 * its protocol software has been configured with an IP address SHOULD set the BROADCAST
 * bit"): the stack accepts unicast only to its own addresses, and every server honours
 * the bit (dnsmasq otherwise unicasts offers to the offered address). The cost is that
 * OFFER/ACK are broadcast on the link. RENEWING/REBINDING requests carry ciaddr and get
 * unicast replies.
 *
 * Deviations, all permitted by the RFCs: the first OFFER is taken (no collection of
 * several); no initial 1-10 s random delay unless `timing.startDelayMaxMs` asks for one
 * (RFC 2131 §4.4.1 SHOULD; dhcpcd and udhcpc skip it too); leases under 20 s count as
 * 20 s (as dhcpcd) so a broken server cannot make the client spin; a REBOOTING timeout
 * does not keep using the old address. Malformed or foreign messages never throw: they
 * are counted in `stats` and dropped.
 *
 * Events (`on(listener)`, `opts.onEvent`) are delivered after the stack's poll, never
 * inside it: one 'state' event per state change, and 'bound', 'renewed', 'rebound',
 * 'expired', 'released', 'nak', 'declined', 'reboot-failed'.
 */
import { randomInt } from '../../base/rand.ts';
import { equalBytes } from '../../wire/bytes.ts';
import { isFault } from '../../wire/fault.ts';
import {
  BootpOp, DHCPV4_CLIENT_PORT, DHCPV4_FLAG_BROADCAST, DHCPV4_HTYPE_ETHERNET, DHCPV4_MIN_MAX_MESSAGE_SIZE, DHCPV4_SERVER_PORT,
  Dhcpv4MessageType, encodeDhcpv4, parseDhcpv4, type Dhcpv4Options, type Dhcpv4Repr,
} from '../../wire/dhcpv4.ts';
import { prefixMask } from '../ipv4-addr.ts';
import { PostPollEvents } from '../post-poll-events.ts';
import type { ArpConflictWatch, Stack, StackService } from '../stack.ts';
import { IPV4_BROADCAST, toIpv4 } from '../stack.ts';
import type { UdpPcb } from '../udp.ts';

/** States of `Dhcp4Client`: RFC 2131 figure 5 plus `PROBING` (RFC 5227 conflict detection before use) and `STOPPED`. */
export type Dhcp4ClientState =
  | 'STOPPED' | 'INIT' | 'SELECTING' | 'REQUESTING' | 'PROBING' | 'BOUND' | 'RENEWING' | 'REBINDING' | 'INIT-REBOOT' | 'REBOOTING';

/** A lease as applied to the interface. Addresses are uint32 (`Stack.format` prints them); times are stack ms. */
export interface Dhcp4Lease {
  /** Our address (uint32). */
  readonly address: number;
  /** Prefix length (option 1, or classful without it). */
  readonly prefixLen: number;
  /** Subnet mask (uint32). */
  readonly subnetMask: number;
  /** Option 3 as received. */
  readonly routers: readonly number[];
  /** The default gateway installed: the first router on the subnet, if any. */
  readonly gateway: number | undefined;
  /** Option 6 (for the resolver). */
  readonly dnsServers: readonly number[];
  /** Option 15. */
  readonly domainName: string | undefined;
  /** Option 12 from the server. */
  readonly hostname: string | undefined;
  /** Option 26 (the interface MTU applied is this, clamped to the device MTU). */
  readonly mtu: number | undefined;
  /** Option 28. */
  readonly broadcastAddress: number | undefined;
  /** The server that granted it (option 54). */
  readonly serverId: number;
  /** Lease, T1 and T2 in seconds; `Infinity` for an infinite lease (0xffffffff). */
  readonly leaseSeconds: number;
  /** T1 in seconds (option 58, default 0.5 x lease). */
  readonly renewalSeconds: number;
  /** T2 in seconds (option 59, default 0.875 x lease). */
  readonly rebindingSeconds: number;
  /** When the REQUEST that got this lease was first sent: the lease times count from it (RFC 2131 §4.4.1). */
  readonly startedAt: number;
  /** When RENEWING starts (stack ms). */
  readonly renewAt: number;
  /** When REBINDING starts (stack ms). */
  readonly rebindAt: number;
  /** When the lease ends (stack ms). */
  readonly expiresAt: number;
}

/**
 * What a `Dhcp4Client` reports (after the stack's poll, never inside it): state changes, lease events (`bound`,
 * `renewed`, `rebound`, `expired`, `released`), NAKs, DECLINEs after a conflict, and a failed INIT-REBOOT.
 */
export type Dhcp4ClientEvent =
  | {
    /** A state change. */
    readonly type: 'state';
    /** The state left. */
    readonly from: Dhcp4ClientState;
    /** The state entered. */
    readonly to: Dhcp4ClientState;
  }
  | {
    /** A lease was applied, renewed, rebound, or it ended (expired, released). */
    readonly type: 'bound' | 'renewed' | 'rebound' | 'expired' | 'released';
    /** The lease concerned. */
    readonly lease: Dhcp4Lease;
  }
  | {
    /** A server refused the request. */
    readonly type: 'nak';
    /** The state the NAK came in. */
    readonly state: Dhcp4ClientState;
    /** The server (uint32). */
    readonly serverId: number;
    /** Its message (option 56), if any. */
    readonly message: string | undefined;
  }
  | {
    /** The offered address was in use (RFC 5227): DECLINE sent. */
    readonly type: 'declined';
    /** The address (uint32). */
    readonly address: number;
    /** The server that offered it (uint32). */
    readonly serverId: number;
    /** The MAC of the host using it, when seen. */
    readonly conflictMac: Uint8Array | undefined;
  }
  | {
    /** INIT-REBOOT did not get the previous address back. */
    readonly type: 'reboot-failed';
    /** The address asked for (uint32). */
    readonly address: number;
    /** A NAK, or no answer. */
    readonly reason: 'nak' | 'timeout';
  };

/** Protocol timing; the defaults are the RFC values. */
export interface Dhcp4ClientTiming {
  /** RFC 2131 §4.1: first retransmission after 4 s, doubling up to 64 s, each +- 1 s. */
  retransmitBaseMs: number;
  /** Largest retransmission interval (64 s). */
  retransmitMaxMs: number;
  /** Random spread of each retransmission, ± this (1 s). */
  retransmitJitterMs: number;
  /** REQUEST transmissions in REQUESTING / REBOOTING before going back to INIT (default 4). */
  requestTries: number;
  /** RFC 2131 §4.4.5: least wait between retransmissions in RENEWING / REBINDING (60 s). */
  renewRetryMinMs: number;
  /** RFC 2131 §4.4.1: wait after a DECLINE before restarting (10 s). */
  declineWaitMs: number;
  /** Largest back-off after repeated NAKs (64 s). */
  nakBackoffMaxMs: number;
  /** Random delay before the first DISCOVER, 0 to this (default 0; RFC 2131 §4.4.1 suggests 1-10 s). */
  startDelayMaxMs: number;
  /** RFC 5227 §1.1: PROBE_WAIT 1 s, PROBE_NUM 3, PROBE_MIN 1 s, PROBE_MAX 2 s, ANNOUNCE_WAIT 2 s, MAX_CONFLICTS 10, RATE_LIMIT_INTERVAL 60 s. */
  probeWaitMs: number;
  /** RFC 5227 PROBE_NUM: ARP probes before use (3). */
  probeNum: number;
  /** RFC 5227 PROBE_MIN: least gap between probes (1 s). */
  probeMinMs: number;
  /** RFC 5227 PROBE_MAX: largest gap between probes (2 s). */
  probeMaxMs: number;
  /** RFC 5227 ANNOUNCE_WAIT: wait after the last probe (2 s). */
  announceWaitMs: number;
  /** RFC 5227 MAX_CONFLICTS: conflicts before the longer restart delay (10). */
  maxConflicts: number;
  /** RFC 5227 RATE_LIMIT_INTERVAL: the restart delay after `maxConflicts` (60 s). */
  rateLimitIntervalMs: number;
}

/**
 * The RFC timing: retransmissions after 4 s doubling to 64 s (±1 s), 4 REQUEST tries, renewal retries at least 60 s
 * apart, 10 s after a DECLINE, NAK back-off up to 64 s, no start delay.
 */
export const DHCP4_CLIENT_TIMING: Readonly<Dhcp4ClientTiming> = Object.freeze({
  retransmitBaseMs: 4000,
  retransmitMaxMs: 64_000,
  retransmitJitterMs: 1000,
  requestTries: 4,
  renewRetryMinMs: 60_000,
  declineWaitMs: 10_000,
  nakBackoffMaxMs: 64_000,
  startDelayMaxMs: 0,
  probeWaitMs: 1000,
  probeNum: 3,
  probeMinMs: 1000,
  probeMaxMs: 2000,
  announceWaitMs: 2000,
  maxConflicts: 10,
  rateLimitIntervalMs: 60_000,
});

/**
 * Options of `Dhcp4Client`: the interface, client identifier, host name, previous address (INIT-REBOOT), timing and
 * event listener.
 */
export interface Dhcp4ClientOptions {
  /** The interface to configure. */
  ifIndex: number;
  /** Option 61 (e.g. `dhcp4ClientIdFromMac(mac)`); none by default: servers key on chaddr. */
  clientId?: Uint8Array;
  /** Option 12: RFC 1123 host name (letters, digits, '-', '.'). */
  hostname?: string;
  /** A previous address: start in INIT-REBOOT asking for it. */
  previousAddress?: string | number;
  /** Option 51 in DISCOVER and REQUEST. */
  requestLeaseSeconds?: number;
  /** RFC 5227 probing before using an address (default true; Ethernet only). */
  probe?: boolean;
  /** Set the BROADCAST flag while unaddressed (default true; see the module comment). */
  broadcastFlag?: boolean;
  /** Apply option 26 to the interface MTU (default true). */
  applyMtu?: boolean;
  /** Protocol timing overrides (default `DHCP4_CLIENT_TIMING`). */
  timing?: Partial<Dhcp4ClientTiming>;
  /** A listener for every event (as `on(listener)`), delivered after the stack's poll. */
  onEvent?: (e: Dhcp4ClientEvent) => void;
}

/** Counters of a `Dhcp4Client`. */
export interface Dhcp4ClientStats {
  /** DISCOVERs sent. */
  discoversSent: number;
  /** REQUESTs sent. */
  requestsSent: number;
  /** DECLINEs sent. */
  declinesSent: number;
  /** RELEASEs sent. */
  releasesSent: number;
  /** OFFERs received. */
  offersReceived: number;
  /** ACKs received. */
  acksReceived: number;
  /** NAKs received. */
  naksReceived: number;
  /** Datagrams that did not parse (counted and dropped). */
  malformed: number;
  /** Parsed messages not for this client or not expected now (wrong op, xid, chaddr, type, state, server). */
  ignored: number;
  /** Sends the stack refused (no route, interface down). */
  sendErrors: number;
  /** RFC 5227 conflicts found while probing. */
  conflicts: number;
}

/** Option 61 as most clients send it: hardware type 1 and the MAC (RFC 2132 §9.14). */
export function dhcp4ClientIdFromMac(mac: Uint8Array): Uint8Array {
  const id = new Uint8Array(1 + mac.length);
  id[0] = DHCPV4_HTYPE_ETHERNET;
  id.set(mac, 1);
  return id;
}

/** RFC 2132 §9.8 parameter request list: mask, router, DNS, host name, domain, MTU, broadcast, lease, T1, T2. */
const PARAMETER_REQUEST_LIST = Uint8Array.of(1, 3, 6, 12, 15, 26, 28, 51, 58, 59);
/** Leases shorter than this count as this long (dhcpcd's DHCP_MIN_LEASE). */
const MIN_LEASE_S = 20;
const INFINITE_LEASE = 0xffffffff;
/** Receive buffer: servers are told 1500 at most (option 57). */
const RX_BUFFER = 2048;
const HOSTNAME_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

/** Prefix length of a contiguous netmask, or undefined. */
export function maskToPrefix(mask: number): number | undefined {
  for (let len = 0; len <= 32; len++) if (prefixMask(len) === mask >>> 0) return len;
  return undefined;
}

/** RFC 791 classful prefix (A /8, B /16, else /24): the subnet when a server sends no mask. */
function classfulPrefix(a: number): number {
  if (a >>> 31 === 0) return 8;
  if (a >>> 30 === 2) return 16;
  return 24;
}

/** An address a server may hand out: not 0, loopback, multicast, class E or broadcast. */
function usableAddress(a: number): boolean {
  const top = a >>> 24;
  return a !== 0 && top !== 0 && top !== 127 && top < 224;
}

interface Offer {
  readonly address: number;
  readonly serverId: number;
  readonly leaseTime: number | undefined;
}

/**
 * A DHCPv4 client (RFC 2131 §4.4, RFC 5227 probing) for one interface of a `Stack`: a pure state machine run as a
 * stack service, which applies the lease's address, prefix, default route and MTU to the interface, renews and
 * rebinds it, and removes it at expiry or `stop()`. Malformed or foreign messages are counted and dropped, never
 * thrown.
 */
export class Dhcp4Client implements StackService {
  /** The stack whose interface it configures. */
  readonly stack: Stack;
  /** The interface it configures. */
  readonly ifIndex: number;
  /** Counters (see `Dhcp4ClientStats`). */
  readonly stats: Dhcp4ClientStats = {
    discoversSent: 0, requestsSent: 0, declinesSent: 0, releasesSent: 0, offersReceived: 0, acksReceived: 0, naksReceived: 0,
    malformed: 0, ignored: 0, sendErrors: 0, conflicts: 0,
  };

  private readonly timing: Dhcp4ClientTiming;
  private readonly clientId: Uint8Array | undefined;
  private readonly hostname: string | undefined;
  private readonly requestLease: number | undefined;
  private readonly probeEnabled: boolean;
  private readonly broadcastFlag: boolean;
  private readonly applyMtu: boolean;
  private readonly events: PostPollEvents<Dhcp4ClientEvent>;

  private st: Dhcp4ClientState = 'STOPPED';
  private deadline: number | undefined = undefined;
  private pcb: UdpPcb | undefined = undefined;
  private removeService: (() => void) | undefined = undefined;
  private readonly rx = new Uint8Array(RX_BUFFER);
  private readonly from = { address: 0, port: 0 };

  private xid = 0;
  /** When this acquisition or renewal began (the `secs` field). */
  private exchangeStart = 0;
  /** First transmission of the current REQUEST (the lease start). */
  private requestSentAt = 0;
  /** Transmissions of the current message so far. */
  private tries = 0;
  private offer: Offer | undefined = undefined;
  /** Address to ask for: INIT-REBOOT, and option 50 in DISCOVER. */
  private requestedIp: number | undefined;
  private current: Dhcp4Lease | undefined = undefined;
  /** An ACKed lease being probed. */
  private candidate: Dhcp4Lease | undefined = undefined;
  private watch: ArpConflictWatch | undefined = undefined;
  private probesSent = 0;
  private conflictCount = 0;
  private nakBackoff = 0;
  /** The address this client put on the interface (0: none) and the MTU it replaced. */
  private configured = 0;
  private savedMtu: number | undefined = undefined;

  constructor(stack: Stack, opts: Dhcp4ClientOptions) {
    this.stack = stack;
    if (stack.interface(opts.ifIndex) === undefined) throw new RangeError(`DHCP client: no interface ${opts.ifIndex}`);
    this.ifIndex = opts.ifIndex;
    this.timing = { ...DHCP4_CLIENT_TIMING, ...opts.timing };
    if (opts.hostname !== undefined && (opts.hostname.length > 255 || !HOSTNAME_RE.test(opts.hostname))) {
      throw new RangeError(`DHCP client: not an RFC 1123 host name: ${JSON.stringify(opts.hostname)}`);
    }
    if (opts.clientId !== undefined && (opts.clientId.length < 2 || opts.clientId.length > 255)) {
      throw new RangeError('DHCP client: a client identifier is 2-255 bytes (RFC 2132 §9.14)');
    }
    this.clientId = opts.clientId?.slice();
    this.hostname = opts.hostname;
    this.requestLease = opts.requestLeaseSeconds;
    this.requestedIp = opts.previousAddress === undefined ? undefined : toIpv4(opts.previousAddress);
    const iface = stack.interface(opts.ifIndex);
    this.probeEnabled = (opts.probe ?? true) && iface?.medium === 'ethernet';
    this.broadcastFlag = opts.broadcastFlag ?? true;
    this.applyMtu = opts.applyMtu ?? true;
    this.events = new PostPollEvents((t) => stack.markChanged(t));
    if (opts.onEvent !== undefined) this.events.on(opts.onEvent);
  }

  /** The current state. */
  get state(): Dhcp4ClientState {
    return this.st;
  }

  /** The lease in use (BOUND, RENEWING, REBINDING), or undefined. */
  get lease(): Dhcp4Lease | undefined {
    return this.current;
  }

  /** DNS servers of the lease in use (empty without one). */
  get dnsServers(): readonly number[] {
    return this.current?.dnsServers ?? [];
  }

  /** Adds an event listener; returns its removal. Listeners run after the stack's poll. */
  on(listener: (e: Dhcp4ClientEvent) => void): () => void {
    return this.events.on(listener);
  }

  /**
   * Starts: opens UDP port 68 on the interface and registers with the stack; the first
   * message goes out at the next poll (INIT-REBOOT with a previous address, else INIT).
   * Throws when already started or port 68 is taken on this interface.
   */
  start(now: number): void {
    if (this.st !== 'STOPPED') throw new Error('DHCP client: already started');
    const pcb = this.stack.udpOpen(4);
    if (typeof pcb === 'number') throw new Error(`DHCP client: no UDP socket (${pcb})`);
    const r = this.stack.udpBindToInterface(pcb, this.ifIndex) || this.stack.udpBind(pcb, 0, DHCPV4_CLIENT_PORT);
    if (r !== 0) {
      this.stack.udpClose(pcb);
      throw new Error(`DHCP client: cannot bind UDP port 68 on interface ${this.ifIndex} (${r})`);
    }
    this.pcb = pcb;
    const delay = this.timing.startDelayMaxMs > 0 ? randomInt(this.stack.rng, 0, this.timing.startDelayMaxMs) : 0;
    this.setState(this.requestedIp !== undefined ? 'INIT-REBOOT' : 'INIT', now + delay);
    this.removeService = this.stack.addService(this);
    this.stack.requestPoll();
  }

  /**
   * Stops: with `release`, sends a DHCPRELEASE for the lease in use (RFC 2131 §4.4.6);
   * removes the address, routes and MTU the client configured; closes the socket.
   * Returns the lease that was in use (to remember for INIT-REBOOT). Idempotent.
   */
  stop(now: number, opts: { release?: boolean } = {}): Dhcp4Lease | undefined {
    if (this.st === 'STOPPED') return undefined;
    const lease = this.current;
    if (lease !== undefined && opts.release === true) {
      // RFC 2131 §4.4.6: unicast to the server. The address goes at once, so an ARP
      // exchange could not complete: without the next hop's MAC in the cache, broadcast.
      const hop = this.stack.routes.lookup(lease.serverId);
      const resolved = hop !== undefined && this.stack.arp.lookup(hop.nextHop, now) !== undefined;
      this.xid = this.stack.rng.nextU32();
      this.send(now, Dhcpv4MessageType.RELEASE, resolved ? lease.serverId : IPV4_BROADCAST, { ciaddr: lease.address, serverId: lease.serverId });
      this.stats.releasesSent++;
      this.emit({ type: 'released', lease });
    }
    this.endProbe();
    this.deconfigure();
    this.current = undefined;
    this.candidate = undefined;
    this.setState('STOPPED', undefined);
    this.removeService?.();
    this.removeService = undefined;
    if (this.pcb !== undefined) this.stack.udpClose(this.pcb);
    this.pcb = undefined;
    return lease;
  }

  // ---------------------------------------------------------------- StackService

  /** Stack service hook: the next retransmission or lease deadline, if any. */
  pollAt(): number | undefined {
    return this.deadline;
  }

  /** Stack service hook: takes in the replies queued on its UDP socket and runs the timers due at `now`. */
  poll(now: number): void {
    const pcb = this.pcb;
    if (pcb === undefined) return;
    while (pcb.queued > 0) {
      const n = this.stack.udpRecvFrom(pcb, this.rx, this.rx.length, this.from);
      if (n < 0) break;
      this.input(now, this.rx.subarray(0, n));
    }
    if (this.st === 'PROBING' && this.watch !== undefined && this.watch.conflicts > 0) this.conflict(now);
    if (this.deadline !== undefined && now >= this.deadline) this.timer(now);
  }

  // ---------------------------------------------------------------- receive

  private input(now: number, data: Uint8Array): void {
    const m = parseDhcpv4(data);
    if (isFault(m)) {
      this.stats.malformed++;
      return;
    }
    const mac = this.stack.interface(this.ifIndex)?.mac;
    const type = m.options.messageType;
    if (m.op !== BootpOp.REPLY || m.xid !== this.xid || mac === undefined || !equalBytes(m.chaddr, mac) || type === undefined) {
      this.stats.ignored++;
      return;
    }
    if (type === Dhcpv4MessageType.OFFER) {
      this.stats.offersReceived++;
      if (this.st !== 'SELECTING' || !usableAddress(m.yiaddr) || m.options.serverId === undefined) {
        this.stats.ignored++;
        return;
      }
      this.offer = { address: m.yiaddr, serverId: m.options.serverId, leaseTime: m.options.leaseTime };
      this.requestSentAt = now;
      this.tries = 0;
      this.setState('REQUESTING', undefined);
      this.transmit(now);
      return;
    }
    if (type === Dhcpv4MessageType.ACK) {
      this.stats.acksReceived++;
      this.ack(now, m);
      return;
    }
    if (type === Dhcpv4MessageType.NAK) {
      this.stats.naksReceived++;
      this.nak(now, m);
      return;
    }
    this.stats.ignored++;
  }

  /** Whether a reply's server id fits the state: the selected server when REQUESTING, the lease's when RENEWING. */
  private fromExpectedServer(m: Dhcpv4Repr): boolean {
    const sid = m.options.serverId;
    if (sid === undefined) return true;
    if (this.st === 'REQUESTING') return sid === this.offer?.serverId;
    if (this.st === 'RENEWING') return sid === this.current?.serverId;
    return true;
  }

  private ack(now: number, m: Dhcpv4Repr): void {
    const st = this.st;
    if ((st !== 'REQUESTING' && st !== 'REBOOTING' && st !== 'RENEWING' && st !== 'REBINDING') || !this.fromExpectedServer(m) || !usableAddress(m.yiaddr)) {
      this.stats.ignored++;
      return;
    }
    const lease = this.leaseFrom(m);
    if (lease === undefined) {
      this.stats.ignored++;
      return;
    }
    this.nakBackoff = 0;
    if ((st === 'RENEWING' || st === 'REBINDING') && lease.address === this.current?.address) {
      this.bind(now, lease, st === 'RENEWING' ? 'renewed' : 'rebound');
      return;
    }
    if (this.current !== undefined) {
      // Renewed onto another address: the old one goes, the new one is checked like any new one.
      this.deconfigure();
      this.current = undefined;
    }
    if (!this.probeEnabled) {
      this.bind(now, lease, 'bound');
      return;
    }
    this.candidate = lease;
    this.watch?.close();
    this.watch = this.stack.watchArp(this.ifIndex, lease.address);
    this.probesSent = 0;
    this.setState('PROBING', now + randomInt(this.stack.rng, 0, this.timing.probeWaitMs));
  }

  private nak(now: number, m: Dhcpv4Repr): void {
    const st = this.st;
    if ((st !== 'REQUESTING' && st !== 'REBOOTING' && st !== 'RENEWING' && st !== 'REBINDING') || !this.fromExpectedServer(m)) {
      this.stats.ignored++;
      return;
    }
    this.emit({ type: 'nak', state: st, serverId: m.options.serverId ?? this.from.address, message: m.options.message });
    if (st === 'REBOOTING') this.emit({ type: 'reboot-failed', address: this.requestedIp ?? 0, reason: 'nak' });
    // RFC 2131 §3.1 step 5 / §3.2 step 3: a NAK means the address is wrong: start over without it.
    this.deconfigure();
    this.current = undefined;
    this.requestedIp = undefined;
    this.offer = undefined;
    const wait = this.nakBackoff;
    this.nakBackoff = Math.min(this.timing.nakBackoffMaxMs, wait === 0 ? 1000 : wait * 2);
    this.setState('INIT', now + wait);
  }

  /** The lease an ACK grants, or undefined when it carries no lease time (and none was offered). */
  private leaseFrom(m: Dhcpv4Repr): Dhcp4Lease | undefined {
    const o: Dhcpv4Options = m.options;
    const raw = o.leaseTime ?? this.offer?.leaseTime;
    if (raw === undefined) return undefined;
    const address = m.yiaddr;
    const mask = o.subnetMask;
    const prefixLen = (mask !== undefined ? maskToPrefix(mask) : undefined) ?? classfulPrefix(address);
    const subnetMask = prefixMask(prefixLen);
    const routers = o.routers ?? [];
    const gateway = routers.find((r) => r !== address && ((r ^ address) & subnetMask) === 0);
    const start = this.requestSentAt;
    const leaseS = raw === INFINITE_LEASE ? Infinity : Math.max(MIN_LEASE_S, raw);
    // 0 (or infinite) T1/T2 options are ignored: the defaults apply (as dhcpcd).
    let t2 = o.rebindingTime === undefined || o.rebindingTime === 0 || o.rebindingTime === INFINITE_LEASE ? undefined : o.rebindingTime;
    let t1 = o.renewalTime === undefined || o.renewalTime === 0 || o.renewalTime === INFINITE_LEASE ? undefined : o.renewalTime;
    if (leaseS === Infinity) {
      t1 = Infinity;
      t2 = Infinity;
    } else {
      // RFC 2131 §4.4.5: T1 < T2 < lease; defaults 0.5 and 0.875 of the lease.
      if (t2 === undefined || t2 > leaseS) t2 = 0.875 * leaseS;
      if (t1 === undefined || t1 > t2) t1 = Math.min(0.5 * leaseS, t2);
    }
    return {
      address, prefixLen, subnetMask, routers, gateway,
      dnsServers: o.dnsServers ?? [],
      domainName: o.domainName,
      hostname: o.hostname,
      mtu: o.interfaceMtu,
      broadcastAddress: o.broadcastAddress,
      serverId: o.serverId ?? this.offer?.serverId ?? this.current?.serverId ?? this.from.address,
      leaseSeconds: leaseS,
      renewalSeconds: t1,
      rebindingSeconds: t2,
      startedAt: start,
      renewAt: start + t1 * 1000,
      rebindAt: start + t2 * 1000,
      expiresAt: start + leaseS * 1000,
    };
  }

  // ---------------------------------------------------------------- timers

  private timer(now: number): void {
    switch (this.st) {
      case 'INIT':
        this.beginExchange(now);
        this.offer = undefined;
        this.setState('SELECTING', undefined);
        this.transmit(now);
        return;
      case 'INIT-REBOOT':
        this.beginExchange(now);
        this.setState('REBOOTING', undefined);
        this.transmit(now);
        return;
      case 'SELECTING':
        this.transmit(now);
        return;
      case 'REQUESTING':
      case 'REBOOTING':
        if (this.tries >= this.timing.requestTries) {
          if (this.st === 'REBOOTING') this.emit({ type: 'reboot-failed', address: this.requestedIp ?? 0, reason: 'timeout' });
          this.setState('INIT', now);
          this.timer(now);
          return;
        }
        this.transmit(now);
        return;
      case 'PROBING':
        this.probeStep(now);
        return;
      case 'BOUND':
        this.beginExchange(now);
        this.setState('RENEWING', undefined);
        this.transmit(now);
        return;
      case 'RENEWING': {
        const lease = this.current as Dhcp4Lease;
        if (now >= lease.rebindAt) {
          this.beginExchange(now);
          this.setState('REBINDING', undefined);
        }
        this.transmit(now);
        return;
      }
      case 'REBINDING': {
        const lease = this.current as Dhcp4Lease;
        if (now >= lease.expiresAt) {
          this.emit({ type: 'expired', lease });
          this.deconfigure();
          this.current = undefined;
          this.requestedIp = lease.address; // ask for it again in the DISCOVER
          this.setState('INIT', now);
          this.timer(now);
          return;
        }
        this.transmit(now);
        return;
      }
      default:
        this.deadline = undefined;
    }
  }

  /** A new transaction: fresh xid, `secs` and lease start count from now. */
  private beginExchange(now: number): void {
    this.xid = this.stack.rng.nextU32();
    this.exchangeStart = now;
    this.requestSentAt = now;
    this.tries = 0;
  }

  /** RFC 2131 §4.1 back-off for the `tries`-th transmission: 4, 8, ... 64 s, +- jitter. */
  private backoff(): number {
    const t = this.timing;
    const base = Math.min(t.retransmitMaxMs, t.retransmitBaseMs * 2 ** Math.min(20, this.tries - 1));
    return Math.max(1, base + randomInt(this.stack.rng, -t.retransmitJitterMs, t.retransmitJitterMs)); // >= 1 ms: never re-fires at the same instant
  }

  /** Sends (or re-sends) the message of the current state and sets the next deadline. */
  private transmit(now: number): void {
    this.tries++;
    const lease = this.current;
    switch (this.st) {
      case 'SELECTING':
        this.send(now, Dhcpv4MessageType.DISCOVER, IPV4_BROADCAST, { requestedIp: this.requestedIp, leaseTime: this.requestLease });
        this.stats.discoversSent++;
        this.deadline = now + this.backoff();
        return;
      case 'REQUESTING': {
        const offer = this.offer as Offer;
        this.send(now, Dhcpv4MessageType.REQUEST, IPV4_BROADCAST, { requestedIp: offer.address, serverId: offer.serverId, leaseTime: this.requestLease });
        this.stats.requestsSent++;
        this.deadline = now + this.backoff();
        return;
      }
      case 'REBOOTING':
        this.send(now, Dhcpv4MessageType.REQUEST, IPV4_BROADCAST, { requestedIp: this.requestedIp, leaseTime: this.requestLease });
        this.stats.requestsSent++;
        this.deadline = now + this.backoff();
        return;
      case 'RENEWING': {
        const l = lease as Dhcp4Lease;
        this.send(now, Dhcpv4MessageType.REQUEST, l.serverId, { ciaddr: l.address, leaseTime: this.requestLease });
        this.stats.requestsSent++;
        // RFC 2131 §4.4.5: half the time left until T2, at least 60 s; T2 ends RENEWING.
        this.deadline = Math.min(l.rebindAt, now + Math.max(this.timing.renewRetryMinMs, (l.rebindAt - now) / 2));
        return;
      }
      case 'REBINDING': {
        const l = lease as Dhcp4Lease;
        this.send(now, Dhcpv4MessageType.REQUEST, IPV4_BROADCAST, { ciaddr: l.address, leaseTime: this.requestLease });
        this.stats.requestsSent++;
        this.deadline = Math.min(l.expiresAt, now + Math.max(this.timing.renewRetryMinMs, (l.expiresAt - now) / 2));
        return;
      }
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- RFC 5227

  private probeStep(now: number): void {
    const t = this.timing;
    const lease = this.candidate;
    if (lease === undefined) return;
    if (this.probesSent < t.probeNum) {
      this.stack.sendArpProbe(now, this.ifIndex, lease.address);
      this.probesSent++;
      this.deadline = now + (this.probesSent < t.probeNum ? randomInt(this.stack.rng, t.probeMinMs, t.probeMaxMs) : t.announceWaitMs);
      return;
    }
    // ANNOUNCE_WAIT passed without a conflict: the address is ours (RFC 5227 §2.1.1).
    this.endProbe();
    this.candidate = undefined;
    this.conflictCount = 0;
    this.bind(now, lease, 'bound');
  }

  private conflict(now: number): void {
    const lease = this.candidate;
    const watch = this.watch;
    if (lease === undefined || watch === undefined) return;
    this.stats.conflicts++;
    this.conflictCount++;
    // RFC 2131 §4.4.1: DHCPDECLINE, then restart after at least 10 s.
    this.send(now, Dhcpv4MessageType.DECLINE, IPV4_BROADCAST, { requestedIp: lease.address, serverId: lease.serverId, message: 'address in use (RFC 5227 probe)' });
    this.stats.declinesSent++;
    this.emit({ type: 'declined', address: lease.address, serverId: lease.serverId, conflictMac: watch.conflictMac });
    this.endProbe();
    this.candidate = undefined;
    this.requestedIp = undefined;
    this.offer = undefined;
    const t = this.timing;
    this.setState('INIT', now + (this.conflictCount >= t.maxConflicts ? t.rateLimitIntervalMs : t.declineWaitMs));
  }

  private endProbe(): void {
    this.watch?.close();
    this.watch = undefined;
  }

  // ---------------------------------------------------------------- interface

  private bind(now: number, lease: Dhcp4Lease, event: 'bound' | 'renewed' | 'rebound'): void {
    const stack = this.stack;
    if (this.configured !== 0 && this.configured !== lease.address) this.deconfigure();
    // Same address: setIpv4 only replaces the routes (no new announcements).
    stack.setIpv4(this.ifIndex, { address: lease.address, prefixLen: lease.prefixLen }, lease.gateway);
    this.configured = lease.address;
    if (this.applyMtu && lease.mtu !== undefined) {
      const iface = stack.interface(this.ifIndex);
      if (iface !== undefined) {
        if (this.savedMtu === undefined) this.savedMtu = iface.mtu;
        stack.setInterfaceMtu(this.ifIndex, lease.mtu);
      }
    } else if (this.savedMtu !== undefined) {
      stack.setInterfaceMtu(this.ifIndex, this.savedMtu);
      this.savedMtu = undefined;
    }
    this.current = lease;
    this.requestedIp = lease.address;
    this.offer = undefined;
    this.setState('BOUND', Math.max(now, lease.renewAt));
    this.emit({ type: event, lease });
  }

  /** Removes what this client put on the interface (address, routes, MTU). */
  private deconfigure(): void {
    const iface = this.stack.interface(this.ifIndex);
    if (iface !== undefined && this.configured !== 0 && iface.address === this.configured) this.stack.setIpv4(this.ifIndex, undefined);
    this.configured = 0;
    if (iface !== undefined && this.savedMtu !== undefined) this.stack.setInterfaceMtu(this.ifIndex, this.savedMtu);
    this.savedMtu = undefined;
  }

  // ---------------------------------------------------------------- sending

  private send(
    now: number,
    type: number,
    dst: number,
    f: { ciaddr?: number; requestedIp?: number | undefined; serverId?: number; leaseTime?: number | undefined; message?: string },
  ): void {
    const pcb = this.pcb;
    const iface = this.stack.interface(this.ifIndex);
    if (pcb === undefined || iface === undefined) return;
    const full = type === Dhcpv4MessageType.DISCOVER || type === Dhcpv4MessageType.REQUEST;
    const ciaddr = f.ciaddr ?? 0;
    const options: Dhcpv4Options = {
      messageType: type,
      ...(f.requestedIp !== undefined ? { requestedIp: f.requestedIp } : {}),
      ...(f.serverId !== undefined ? { serverId: f.serverId } : {}),
      ...(f.leaseTime !== undefined && full ? { leaseTime: f.leaseTime } : {}),
      ...(f.message !== undefined ? { message: f.message } : {}),
      ...(this.clientId !== undefined ? { clientId: this.clientId } : {}),
      ...(full ? {
        parameterRequestList: PARAMETER_REQUEST_LIST,
        maxMessageSize: Math.max(DHCPV4_MIN_MAX_MESSAGE_SIZE, Math.min(1500, iface.mtu)),
        ...(this.hostname !== undefined ? { hostname: this.hostname } : {}),
      } : {}),
    };
    const msg = encodeDhcpv4({
      op: BootpOp.REQUEST,
      htype: DHCPV4_HTYPE_ETHERNET,
      chaddr: iface.mac,
      hops: 0,
      xid: this.xid,
      secs: full ? Math.min(0xffff, Math.floor((now - this.exchangeStart) / 1000)) : 0,
      flags: this.broadcastFlag && ciaddr === 0 && full ? DHCPV4_FLAG_BROADCAST : 0,
      ciaddr, yiaddr: 0, siaddr: 0, giaddr: 0, sname: '', file: '',
      options,
    });
    const r = this.stack.udpSendTo(now, pcb, msg, msg.length, dst, DHCPV4_SERVER_PORT);
    if (r < 0) this.stats.sendErrors++;
  }

  // ---------------------------------------------------------------- events

  private setState(to: Dhcp4ClientState, deadline: number | undefined): void {
    this.deadline = deadline !== undefined && Number.isFinite(deadline) ? deadline : undefined; // infinite lease: no timer
    const from = this.st;
    if (from === to) return;
    this.st = to;
    this.emit({ type: 'state', from, to });
  }

  private emit(e: Dhcp4ClientEvent): void {
    this.events.emit(e);
  }
}
