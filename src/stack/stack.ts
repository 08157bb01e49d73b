/**
 * The userspace TCP/IP stack instance: one `Stack` is one host. It owns interfaces
 * (each over a poll-driven `Device`), the route table, the ARP cache, IPv4 reassembly,
 * ICMP, the UDP PCBs, one timer heap, and a slot for a TCP implementation. There is no
 * module state: any number of stacks run side by side in one process.
 *
 * Pure (src/stack): no Node built-ins, no timers, no clock, no `Math.random`. Time is
 * the `now` argument (monotonic ms), randomness the injected `Rng`. A runner
 * (`src/runtime/stack-runner.ts`) calls `poll(now)` when a device or the application
 * woke it (`onWake`) and once more at `pollAt()`.
 *
 * ## Receive (inside `poll(now)`)
 * Each interface's device is drained up to `rxBatch` frames per poll (fairness between
 * devices; `poll` returns true when a device may still hold frames, see the wake-up rule
 * in device.ts). Frames are parsed in place, never copied, except: UDP payloads (copied
 * once into the PCB's queue), fragments (copied by the reassembler), and ARP-pending
 * datagrams. Every bad frame is counted in `stats.drops` by reason and dropped; nothing
 * in the receive path throws (an unexpected exception is caught per frame and counted
 * as `drops.internalError`).
 * - Ethernet: unicast to our MAC or broadcast (other multicast is dropped: no IGMP yet).
 * - ARP (RFC 826): requests for our address answered; the RFC 826 merge into the
 *   `ArpCache` (create only when the packet targets us); released pending datagrams go
 *   out in order; a sender claiming our address is counted (`arp.conflicts`).
 * - IPv4: header validation (wire/ipv4), weak-host destination check (any of our
 *   addresses, the limited or a directed broadcast), martian sources dropped, fragments
 *   reassembled (`Ipv4Reassembler`: bounded memory, overlap discard, 30 s timeout, then
 *   ICMP time exceeded when fragment zero arrived).
 * - ICMP: echo requests answered (not to broadcasts); echo replies complete `ping`s;
 *   destination unreachable and time exceeded are demultiplexed by the quoted header
 *   to the UDP PCB, the TCP handler (`onIcmpError`) or a ping.
 * - UDP: demultiplexed by port (numeric `Map`), connect filter, bounded queue per PCB;
 *   no PCB -> ICMP port unreachable (not for broadcasts), rate-limited.
 * - TCP: handed to the `TransportHandler` set with `setTcp`; without one, dropped and
 *   counted (`drops.noHandler`).
 *
 * ## ICMP errors sent (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7/§4.3.2.8)
 * Port unreachable (UDP without PCB), protocol unreachable (unknown protocol), time
 * exceeded in reassembly. Never about an ICMP error, a datagram sent to a broadcast or
 * multicast address (or in a link-layer broadcast), a datagram whose source is not a
 * unique host, or a fragment other than the first (errors are generated after
 * reassembly, quoting the reassembled datagram's header). Rate-limited by one token
 * bucket per stack (`icmpErrorRate`, default 10 per second, burst 10): excess errors
 * are counted in `icmp.rateLimited`. Echo replies are not rate-limited.
 *
 * ## Transmit (`sendIp`, used by UDP, ICMP and transports)
 * Route lookup (longest prefix; gateway or on-link next hop), source address selection
 * (the outgoing interface's address), IPv4 Identification per (src, dst, protocol)
 * (RFC 6864/7739, `IpIdGenerator`), fragmentation when the datagram exceeds the route or
 * interface MTU (DF clear; fragment data in multiples of 8 bytes), ARP resolution (the
 * whole unfragmented datagram waits in the `ArpCache` pending queue; fragmented when
 * released). A datagram that fits is built directly in the interface's one reusable
 * frame buffer (no allocation per packet); an oversize one is built in one 64 KiB
 * scratch buffer (allocated on first use) and fragmented into the frame buffer.
 * Datagrams to one of our own addresses are looped back through a bounded queue and
 * received in the next poll.
 *
 * ## Forwarding (router role; `StackOptions.forwarding`, `setForwarding`; default off)
 * A packet that is not for us, received on an interface, is routed instead of dropped:
 * IPv4 per RFC 1812 (`forward4`: martian and directed-broadcast filters, TTL, route
 * lookup, DF/fragmentation, ICMP errors), IPv6 per RFC 8200/4443 (`Ipv6Layer.forward`:
 * link-local scope, hop limit, Packet Too Big, never fragmented). Forwarded packets go
 * out through the same egress path as ours (ARP/neighbor resolution and pending queues
 * on Ethernet, straight out on `'ip'` links), counted in `stats.ip.forwarded` /
 * `stats.ip6.forwarded`; the ICMP errors share the one token bucket. Multicast is not
 * routed. No redirects, no Router Advertisements (a forwarding stack only sets the
 * Router flag of its Neighbor Advertisements).
 *
 * ## Services (DHCP and other protocol engines)
 * `addService({ poll, pollAt })` registers an engine that runs at the end of every poll
 * (after the TCP handler) with its deadline folded into `pollAt()`, so the runner drives
 * it in real time and tests on virtual time, like the transports. Hooks for them:
 * `udpBindToInterface` (a PCB tied to one interface: its 255.255.255.255 datagrams leave
 * there — from 0.0.0.0 while the interface has no address — and it receives only what
 * arrived there), `sendArpProbe`/`watchArp` (RFC 5227 probing and conflict detection),
 * `setNeighbor` (an ARP entry from another source: a DHCP server unicasting to a client
 * that cannot answer ARP yet), `setInterfaceMtu` (DHCP option 26).
 *
 * ## Notifications
 * Changes (a PCB became readable or got an error, a ping finished) are collected during
 * a poll and delivered at its end, after the stack's state is consistent: application
 * code never runs inside the poll. A change made outside a poll (an application call)
 * is delivered at the end of the next poll, which the stack requests through `onWake`.
 */
import { InputContext } from './input-context.ts';
import { IOT_SOCKET_EADDRINUSE, IOT_SOCKET_EAGAIN, IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOMEM, IOT_SOCKET_ENOTCONN, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR, IOT_SOCKET_ETIMEDOUT } from '../base/iot-constants.ts';
import { ipv4Mapped, ipv6EqualAt, isIpv4Mapped, isUnspecified, parseIPv4, parseIPv6 } from '../base/ip-address.ts';
import type { Rng } from '../base/rand.ts';
import { parseArp, ArpOp } from '../wire/arp.ts';
import { rd16, wr16, wr32 } from '../wire/bytes.ts';
import { foldChecksum, onesSum, pseudoHeaderSumV6 } from '../wire/checksum.ts';
import { BROADCAST_MAC, EtherType, parseMac } from '../wire/ethernet.ts';
import type { WireFault } from '../wire/fault.ts';
import { isFault } from '../wire/fault.ts';
import { Icmpv4Type, Icmpv4Unreachable, Icmpv4TimeExceeded, emitIcmpv4, isIcmpv4ErrorType, parseIcmpv4, ICMPV4_ERROR_MAX_DATAGRAM_LEN } from '../wire/icmpv4.ts';
import { IpProtocol, IPV4_DEFAULT_TTL, Ipv4View, ipv4HeaderLen, parseIpv4Quoted, validateIpv4 } from '../wire/ipv4.ts';
import { checkUdp, UDP_HEADER_LEN } from '../wire/udp.ts';
import { ArpCache, type ArpCacheOptions } from './arp-cache.ts';
import type { Device } from './device.ts';
import { NetInterface } from './interface.ts';
import { IpIdGenerator } from './ip-id.ts';
import { ip4FromBytes, ip4ToBytes, ip4ToString, prefixMask } from './ipv4-addr.ts';
import { Ipv4Reassembler, type ReassemblyOptions, type ReassemblyStats } from './ipv4-reassembly.ts';
import { RouteTable, type Route } from './routes.ts';
import { TimerHeap, type Timed } from './timer-heap.ts';
import { TokenBucket } from './token-bucket.ts';
import { UdpPcb, UdpPortTable } from './udp.ts';
import { PostPollEvents } from './post-poll-events.ts';
import { Ipv6Layer, type Ipv6Event, type Ipv6InterfaceOptions, type Ipv6StackOptions } from './ipv6-layer.ts';
import type { Ipv6AddressInfo } from './ipv6-interface.ts';
import { decrementTtl4, forwardingConfig, isMartianDestination4, isMartianSource4, type ForwardingConfig, type ForwardingOption } from './ip-forward.ts';
import { LowpanAdaptation, type LowpanAdaptationOptions, type LowpanInputSink } from './lowpan/adaptation.ts';

// ------------------------------------------------------------------------------------
// Public types

/** Largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
export const MAX_UDP4_PAYLOAD = 65507;
/** The limited broadcast address 255.255.255.255 as a uint32. */
export const IPV4_BROADCAST = 0xffffffff;

/**
 * Options of `Stack`: randomness, name, receive batch, TTL, ARP, reassembly, ICMP error rate, UDP queues and limits,
 * pings, IP ID table, IPv6 settings and the router role.
 */
export interface StackOptions {
  /** Randomness: ephemeral ports, IP IDs, ping identifiers, MACs not given. */
  rng: Rng;
  /** Name for diagnostics (default `'stack'`). */
  name?: string;
  /** Frames drained per device per poll (default 64). */
  rxBatch?: number;
  /** TTL of datagrams the stack originates (default 64, RFC 1122 §3.2.1.7). */
  defaultTtl?: number;
  /** ARP cache bounds and timing. */
  arp?: ArpCacheOptions;
  /** IPv4 reassembly bounds and timeout (see `Ipv4Reassembler`). */
  reassembly?: ReassemblyOptions;
  /** ICMP error token bucket (default 10 per second, burst 10). */
  icmpErrorRate?: {
    /** Tokens added per second. */
    perSecond: number;
    /** Bucket size. */
    burst: number;
  };
  /** Datagrams waiting per UDP PCB before new ones are dropped (default 256). */
  udpQueueDatagrams?: number;
  /** Payload bytes waiting per UDP PCB before new ones are dropped (default 256 KiB; one datagram is always accepted). */
  udpQueueBytes?: number;
  /** Most UDP PCBs open at once (default 1024): `udpOpen` returns `ENOMEM` beyond. */
  maxUdpPcbs?: number;
  /** Datagrams to our own addresses waiting for the next poll (default 256). */
  loopQueueDatagrams?: number;
  /** Pings in flight at once (default 64). */
  maxPings?: number;
  /** IP ID counter table size (default 4096, see `IpIdGenerator`). */
  ipIdBuckets?: number;
  /** IPv6 settings (reassembly, neighbor and path MTU cache sizes). */
  ipv6?: Ipv6StackOptions;
  /**
   * Router role (default off: a host). `true` forwards both families, or choose per family.
   * See "Forwarding" in the module comment; changed at run time with `setForwarding`.
   */
  forwarding?: ForwardingOption;
}

/**
 * Options of `Stack.addInterface`: name, MAC, IPv4 address and gateway, MTU, checksum offload, initial state, IPv6
 * and 6LoWPAN settings.
 */
export interface InterfaceOptions {
  /** Default `if<N>`. */
  name?: string;
  /** Ethernet MAC (6 bytes or `aa:bb:cc:dd:ee:ff`); default: random, locally administered. */
  mac?: Uint8Array | string;
  /** IPv4 address and prefix length (none: the interface only receives broadcasts, e.g. for DHCP later). */
  ipv4?: {
    /** The address (text or uint32). */
    address: string | number;
    /** Prefix length, 0-32. */
    prefixLen: number;
  };
  /** Default gateway through this interface (installs 0.0.0.0/0). */
  gateway?: string | number;
  /** Largest IP packet to send (default and maximum: the device's MTU). */
  mtu?: number;
  /** The link computes and verifies checksums (default false): see `NetInterface.checksumOffload`. */
  checksumOffload?: boolean;
  /** Default true. */
  up?: boolean;
  /**
   * IPv6 on this interface (default off): `true` for link-local + SLAAC from RAs, or the
   * options (static addresses, gateway, DAD, RFC 7217 key). See `Stack.enableIpv6`.
   */
  ipv6?: boolean | Ipv6InterfaceOptions;
  /**
   * The 6LoWPAN adaptation of an `'ieee802154'` device (ignored on other media): mesh-under
   * routes, hops left, reassembly bounds, static contexts. See `LowpanAdaptationOptions`.
   */
  lowpan?: Omit<LowpanAdaptationOptions, 'rng'>;
}

/** Drops by reason. Wire faults (first five) are counted at whatever layer found them. */
export interface DropCounters {
  truncated: number;
  badLength: number;
  badChecksum: number;
  malformed: number;
  unsupported: number;
  /** Not addressed to this host (other unicast MAC or IP, multicast without membership, unicast IP in a link broadcast). */
  notForUs: number;
  unknownEtherType: number;
  /** IP protocol with no handler (ICMP protocol unreachable sent when allowed). */
  unknownProtocol: number;
  /** Impossible source address (broadcast, multicast, loopback from the wire) or an ICMP error quoting a datagram we did not send. */
  martian: number;
  /** Received on, or routed to, an interface that is down. */
  interfaceDown: number;
  noRoute: number;
  /** Datagrams whose next hop did not resolve (ARP failed or negatively cached). */
  arpFailed: number;
  /** Datagrams pushed out of a full ARP pending queue. */
  arpQueue: number;
  /** UDP datagrams to a port nobody listens on. */
  noPcb: number;
  /** UDP datagrams dropped at a full PCB queue. */
  queueFull: number;
  /** Fragments discarded by reassembly (overlap, malformed, oversize, evicted, timed out). */
  reassembly: number;
  /** TCP segments with no TCP handler. */
  noHandler: number;
  /** Frames the device refused (queue full, link down). */
  txFailed: number;
  /** Datagrams too big to send (MTU smaller than a fragment, DF with fragmentation needed; forwarding: IPv4 DF or any IPv6 packet beyond the egress MTU). */
  tooBig: number;
  /** Forwarding: TTL (IPv4) or hop limit (IPv6) at 1 or 0 on arrival (ICMP time exceeded sent when allowed). */
  ttlExpired: number;
  /** Forwarding: datagrams to the directed broadcast address of one of our subnets (RFC 2644: not forwarded). */
  directedBroadcast: number;
  /** Forwarding: IPv6 packets from or to a link-local address that would leave their link (RFC 4291 §2.5.6). */
  beyondScope: number;
  /** Datagrams to ourselves dropped at a full loopback queue. */
  loopQueue: number;
  /** Exceptions caught in the receive path (a bug: should stay 0). */
  internalError: number;
}

/** ICMP counters (`StackStats.icmp` for ICMPv4, `StackStats.icmp6` for ICMPv6). */
export interface IcmpCounters {
  /** Messages received. */
  in: number;
  /** Messages sent. */
  out: number;
  /** Echo requests received. */
  echoRequestsIn: number;
  /** Echo replies received. */
  echoRepliesIn: number;
  /** Echo requests sent (`ping`). */
  echoRequestsOut: number;
  /** Echo replies sent. */
  echoRepliesOut: number;
  /** Error messages received (destination unreachable, time exceeded, packet too big, ...). */
  errorsIn: number;
  /** Error messages sent. */
  errorsOut: number;
  /** Errors not sent because of the rate limit (`StackOptions.icmpErrorRate` for ICMPv4). */
  rateLimited: number;
}

/** Counters of a `Stack`: frames and bytes, then per protocol, and `drops` by reason. */
export interface StackStats {
  /** Frames received from every device (before any check). */
  rxFrames: number;
  /** Bytes of those frames. */
  rxBytes: number;
  /** Frames handed to the devices. */
  txFrames: number;
  /** Bytes of those frames. */
  txBytes: number;
  /** ARP (RFC 826, RFC 5227). */
  arp: {
    /** Requests received. */
    requestsIn: number;
    /** Replies received. */
    repliesIn: number;
    /** Requests sent. */
    requestsOut: number;
    /** Replies sent. */
    repliesOut: number;
    /** Gratuitous announcements sent (an address was set). */
    announcementsOut: number;
    /** RFC 5227 probes sent (`sendArpProbe`). */
    probesOut: number;
    /** Packets claiming one of our addresses. */
    conflicts: number;
    /** Resolutions given up (their pending datagrams are dropped as `drops.arpFailed`). */
    failed: number;
  };
  /** IPv4. */
  ip: {
    /** Datagrams for us taken in (after reassembly). */
    rxDatagrams: number;
    /** Datagrams we originated. */
    txDatagrams: number;
    /** Fragments received. */
    fragmentsIn: number;
    /** Datagrams reassembled from fragments. */
    reassembled: number;
    /** Fragments sent. */
    fragmentsOut: number;
    /** Datagrams to our own addresses, looped back. */
    looped: number;
    /** Datagrams routed through (router role); not counted in `rxDatagrams`/`txDatagrams`. */
    forwarded: number;
  };
  /** ICMPv4 (RFC 792). */
  icmp: IcmpCounters;

  /** UDP (RFC 768). */
  udp: {
    /** Datagrams delivered to a socket. */
    rxDatagrams: number;
    /** Datagrams sent. */
    txDatagrams: number;
    /** Datagrams dropped by a connected socket's source filter. */
    filtered: number;
  };
  /** IPv6. */
  ip6: {
    /** Packets for us taken in (after reassembly). */
    rxPackets: number;
    /** Packets we originated. */
    txPackets: number;
    /** Fragments received. */
    fragmentsIn: number;
    /** Packets reassembled from fragments. */
    reassembled: number;
    /** Fragments sent. */
    fragmentsOut: number;
    /** Packets to our own addresses, looped back. */
    looped: number;
    /** Packets routed through (router role). */
    forwarded: number;
  };
  /** ICMPv6 (RFC 4443). */
  icmp6: IcmpCounters;

  /** Neighbor Discovery (RFC 4861): messages, DAD conflicts (RFC 4862), failed address resolutions. */
  nd: {
    /** Neighbor Solicitations received. */
    nsIn: number;
    /** Neighbor Solicitations sent. */
    nsOut: number;
    /** Neighbor Advertisements received. */
    naIn: number;
    /** Neighbor Advertisements sent. */
    naOut: number;
    /** Router Solicitations sent. */
    rsOut: number;
    /** Router Advertisements received. */
    raIn: number;
    /** Redirects received. */
    redirectsIn: number;
    /** Addresses found duplicate by DAD. */
    dadConflicts: number;
    /** Address resolutions given up. */
    resolutionFailed: number;
  };
  /** MLDv2 (RFC 3810). */
  mld: {
    /** Reports sent. */
    reportsOut: number;
    /** Queries received. */
    queriesIn: number;
  };
  /** Frames and packets dropped, by reason. */
  drops: DropCounters;
  /** Change callbacks that threw (the exception is kept in `Stack.lastCallbackError`). */
  callbackErrors: number;
}

/**
 * What a transport's `input` gets with each segment. One object is reused for every
 * datagram: read it during the call, copy what you keep.
 */
export interface IpInputContext {
  /** 4 or 6: which of `src`/`dst` (IPv4) or `src6`/`dst6` (IPv6) hold the addresses. */
  family: 4 | 6;
  /** Receiving interface. */
  ifIndex: number;
  /** IPv4 source and destination (uint32); 0 for IPv6. */
  src: number;
  dst: number;
  /** IPv6 source and destination (16-byte views, valid during the call); empty for IPv4. */
  src6: Uint8Array;
  dst6: Uint8Array;
  /** IPv4 protocol, or the IPv6 upper-layer next header (after extension headers). */
  protocol: number;
  /** TTL, or the IPv6 hop limit. */
  ttl: number;
  /** The TOS byte (DSCP << 2 | ECN), or the IPv6 traffic class. */
  tos: number;
  /** Sent to a broadcast address, or (IPv6) a multicast one: TCP must drop it, never answer with RST. */
  broadcast: boolean;
  /** The IPv4 header as received (a view, valid during the call); empty for IPv6. */
  header: Uint8Array;
  /** Transport checksums were verified by the link (interface `checksumOffload`, or looped back): skip verification. */
  checksumVerified: boolean;
}

/**
 * An ICMP error (destination unreachable, time exceeded) about a datagram we sent, or a
 * local delivery failure reported the same way (`source: 'local'`: ARP resolution of
 * the next hop failed; type 3 code 1, host unreachable). Valid during the call only.
 */
export interface IcmpErrorInfo {
  readonly source: 'icmp' | 'local';
  /** 4: an ICMP error (`src`, `dst`, `reporter` are uint32); 6: an ICMPv6 one (`src6`, `dst6`, `reporter6`). */
  readonly family: 4 | 6;
  /** ICMP type (3 destination unreachable, 11 time exceeded) and code. */
  readonly type: number;
  readonly code: number;
  /** Next-hop MTU of a "fragmentation needed" (type 3 code 4), else 0. */
  readonly nextHopMtu: number;
  /** Who sent the ICMP message (uint32; 0 for local errors). */
  readonly reporter: number;
  /** Source, destination and protocol of the quoted (original) datagram. */
  readonly src: number;
  readonly dst: number;
  readonly protocol: number;
  /** The quoted transport bytes (at least the first 8: ports and, for TCP, the sequence number). */
  readonly transport: Uint8Array;
  /** IPv6: the quoted packet's source and destination and who reported it (empty for IPv4 and local errors). */
  readonly src6: Uint8Array;
  readonly dst6: Uint8Array;
  readonly reporter6: Uint8Array;
}

/**
 * The transport slot for TCP (`stack.setTcp(handler)`).
 *
 * - `input(now, ctx, segment)`: a TCP segment for one of our addresses (after
 *   reassembly). `segment` is the whole TCP segment (header and data) as a view into the
 *   receive buffer, valid only during the call; checksum not yet verified (unless
 *   `ctx.checksumVerified`). Answering segments with no connection by RST, and ignoring
 *   segments to broadcast addresses, is the handler's job.
 * - `poll(now)`: called at the end of every stack poll, after all frames of that poll
 *   went through `input`: fire due timers, flush coalesced ACKs and queued data.
 * - `pollAt()`: the handler's next deadline (or undefined); the stack's `pollAt()`
 *   includes it. After changing it from outside a poll (an application call), call
 *   `stack.requestPoll()` so the runner re-reads it.
 * - `onIcmpError(now, err)`: an ICMP error or local failure quoting one of our TCP
 *   segments (RFC 5927 / RFC 1122 §4.2.3.9 handling is the handler's).
 * - `openSockets`: counted in `stack.openSockets` (the runner keeps the process alive
 *   while it is nonzero).
 * Sending is `stack.sendIp(...)`; readiness changes go through `stack.markChanged(target)`
 * so they are delivered after the poll.
 */
export interface TransportHandler {
  input(now: number, ctx: IpInputContext, segment: Uint8Array): void;
  poll(now: number): void;
  pollAt(): number | undefined;
  onIcmpError?(now: number, err: IcmpErrorInfo): void;
  readonly openSockets?: number;
}

/**
 * One datagram for `sendIp`. Give the payload either as bytes (`payload`, copied) or as
 * a length and a writer (`payloadLen` + `payloadWriter`, which writes exactly
 * `payloadLen` bytes at `out[0]` — directly into the frame buffer: zero copies).
 */
export interface IpSend {
  /** Source address (uint32); 0 or undefined: the outgoing interface's address. */
  src?: number;
  /** Destination (uint32). 255.255.255.255 goes out of `ifIndex` (default: the first interface that is up). */
  dst: number;
  protocol: number;
  /** 1-255 (default `defaultTtl`); 0 is refused (RFC 1122 §3.2.1.7). */
  ttl?: number;
  /** TOS byte (DSCP << 2 | ECN), default 0. */
  tos?: number;
  /** Set DF: a datagram that needs fragmentation is refused with `EINVAL` instead. */
  dontFragment?: boolean;
  /** Interface for limited broadcasts. */
  ifIndex?: number | undefined;
  payload?: Uint8Array;
  payloadLen?: number;
  payloadWriter?: (out: Uint8Array, src: number, dst: number) => void;
  /**
   * Offset within the payload of a 16-bit transport checksum (TCP 16, UDP 6) that the
   * stack computes over the IPv4 pseudo-header and the payload after writing it (the
   * writer leaves it 0). Skipped when the interface has checksum offload and the
   * datagram is not fragmented. Omit it when the payload carries its own checksum.
   */
  checksumOffset?: number;
}

/**
 * One IPv6 packet for `sendIp6`: the payload as in `IpSend` (bytes, or a length and a
 * writer that writes exactly `payloadLen` bytes at `out[0]`).
 */
export interface Ip6Send {
  /** Source address (16 bytes); undefined or `::`: chosen by RFC 6724 source selection. */
  src?: Uint8Array | undefined;
  /** Destination (16 bytes). */
  dst: Uint8Array;
  /** Upper-layer next header (6 TCP, 17 UDP, 58 ICMPv6). */
  protocol: number;
  /** 1-255 (default: the interface's current hop limit, from RAs, else 64). */
  hopLimit?: number;
  /** Traffic class (DSCP << 2 | ECN), default 0. */
  trafficClass?: number;
  /** Outgoing interface: required scope for link-local and multicast destinations on a multi-interface stack (default: the first IPv6-enabled interface that is up). */
  ifIndex?: number | undefined;
  /** Refuse (`EINVAL`) instead of fragmenting a packet larger than the path MTU. */
  dontFragment?: boolean;
  payload?: Uint8Array;
  payloadLen?: number;
  payloadWriter?: (out: Uint8Array) => void;
  /** As `IpSend.checksumOffset`, over the IPv6 pseudo-header (RFC 8200 §8.1); a UDP sum of 0 goes out as 0xffff. */
  checksumOffset?: number;
}

/** Outcome of `ping`, delivered to its callback after a poll. */
export interface PingResult {
  /** Sequence number of the echo request. */
  readonly seq: number;
  /** 0 on an echo reply; `ETIMEDOUT` without reply; `ERROR` on an ICMP error or ARP failure. */
  readonly code: number;
  /** Round-trip time in ms (0 on failure). */
  readonly rttMs: number;
  /** Who answered (uint32; the reporter of an ICMP error); 0 for IPv6. */
  readonly from: number;
  /** IPv6: who answered (16 bytes); undefined for IPv4 and timeouts. */
  readonly from6?: Uint8Array | undefined;
  /** Reply TTL (0 on failure). */
  readonly ttl: number;
  /** Echo data bytes received. */
  readonly bytes: number;
  /** The reply carried exactly the data sent. */
  readonly dataMatches: boolean;
  /** ICMP type/code of the error, when `code` is `ERROR` because of one. */
  readonly icmpType?: number;
  /** ICMP code of the error (see `icmpType`). */
  readonly icmpCode?: number;
}

/** Options of `Stack.ping`: size or data, TTL, timeout, outgoing interface and DF. */
export interface PingOptions {
  /** Echo data bytes (default 56); ignored when `data` is given. */
  size?: number;
  /** Echo data to send (instead of `size` bytes of pattern). */
  data?: Uint8Array;
  /** TTL (IPv4) or hop limit (IPv6) of the request (default the stack's). */
  ttl?: number;
  /** Default 1000 ms. */
  timeoutMs?: number;
  /** Outgoing interface (IPv6 link-local and multicast destinations). */
  ifIndex?: number;
  /** IPv4: set DF (`ping -M do`): a router answers fragmentation needed instead of fragmenting; beyond our own MTU the ping fails with `EINVAL`. */
  dontFragment?: boolean;
}

/**
 * A protocol engine polled by the stack (`stack.addService`): DHCP client and server.
 * - `poll(now)`: runs at the end of every stack poll, after every received frame went
 *   through the stack and after the TCP handler's poll. Keep it cheap when there is
 *   nothing due: it runs for every burst of frames.
 * - `pollAt()`: the next deadline (or undefined), folded into `stack.pollAt()`. After
 *   changing it outside a poll (an application call), call `stack.requestPoll()`.
 * Application callbacks must not run inside `poll`: collect them and deliver them through
 * `stack.markChanged(target)` (they run after the poll).
 */
export interface StackService {
  poll(now: number): void;
  pollAt(): number | undefined;
}

/**
 * RFC 5227 §2.1.1 conflict detection for one address on one interface (`stack.watchArp`):
 * counts every received ARP packet whose sender IP is `address` (another host uses it),
 * and every ARP probe (sender IP 0) for `address` from a MAC that is not ours (another
 * host is probing for it too). Checked for every ARP packet received on the interface,
 * whether it has an address or not.
 */
export interface ArpConflictWatch {
  readonly ifIndex: number;
  readonly address: number;
  /** Conflicting packets seen so far. */
  readonly conflicts: number;
  /** Sender MAC of the latest conflicting packet (a copy). */
  readonly conflictMac: Uint8Array | undefined;
  /** Stops watching. Idempotent. */
  close(): void;
}

/** Anything `markChanged` can notify: a PCB, a TCP socket. */
export interface ChangeTarget {
  onChange: (() => void) | undefined;
}

// ------------------------------------------------------------------------------------
// Internals

interface StackTimer extends Timed {
  fire(now: number): void;
}

/** A datagram waiting for ARP: the whole (unfragmented) IP datagram. */
interface PendingDatagram {
  ifIndex: number;
  mtu: number;
  packet: Uint8Array | undefined;
  /** Routed through (not ours): a resolution failure is reported to its source by ICMP, not to our transports. */
  forwarded: boolean;
}

/** `nextHopMac` outcomes besides a MAC. */
const ARP_QUEUED = 1;
const ARP_FAILED = 2;

interface LoopDatagram {
  readonly ifIndex: number;
  readonly packet: Uint8Array;
}

class PingEntry implements StackTimer {
  deadline: number | undefined = undefined;
  /** IPv6 destination (undefined: an IPv4 ping to `dst`). */
  dst6: Uint8Array | undefined = undefined;
  constructor(
    readonly stack: Stack,
    readonly seq: number,
    readonly dst: number,
    readonly data: Uint8Array,
    readonly sentAt: number,
    readonly done: ((r: PingResult) => void) | undefined,
  ) {}
  fire(now: number): void {
    this.stack.finishPing(this, { seq: this.seq, code: IOT_SOCKET_ETIMEDOUT, rttMs: now - this.sentAt, from: 0, ttl: 0, bytes: 0, dataMatches: false });
  }
}

class ArpWatch implements ArpConflictWatch {
  conflicts = 0;
  conflictMac: Uint8Array | undefined = undefined;
  constructor(
    readonly ifIndex: number,
    readonly address: number,
    private readonly remove: (w: ArpWatch) => void,
  ) {}
  close(): void {
    this.remove(this);
  }
}

const FAULT_KEYS: Record<WireFault, keyof DropCounters> = {
  truncated: 'truncated',
  'bad-length': 'badLength',
  'bad-checksum': 'badChecksum',
  malformed: 'malformed',
  unsupported: 'unsupported',
};

const IPV4_HLEN = 20;
const ARP_FRAME_LEN = 60; // 14 + 28, padded to the Ethernet minimum
const MF = 0x2000;
const DF = 0x4000;
const EMPTY = new Uint8Array(0);
const ZERO_MAC = new Uint8Array(6);

/** Ones'-complement sum of the IPv4 pseudo-header from numeric addresses. */
function pseudoSum(src: number, dst: number, protocol: number, length: number): number {
  let s = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function isMulticastAddr(a: number): boolean {
  return a >>> 28 === 0xe;
}

function macEquals(a: Uint8Array, aOff: number, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[aOff + i] !== b[i]) return false;
  return true;
}

const ANY16 = new Uint8Array(16);
const IPV6_ICMP = 58;
const ICMPV6_ECHO_REQUEST = 128;

/** A 16-byte IPv6 address from text or bytes; throws RangeError on bad input (configuration errors). */
export function toIpv6(a: string | Uint8Array): Uint8Array {
  if (typeof a !== 'string') {
    if (a.length !== 16) throw new RangeError('not an IPv6 address: need 16 bytes');
    return a.slice();
  }
  const b = parseIPv6(a);
  if (b === undefined) throw new RangeError(`not an IPv6 address: ${a}`);
  return b;
}

/**
 * Connected UDP over IPv6, as Linux's `icmpv6_err_convert`: port unreachable ->
 * `ECONNREFUSED`; no route, administratively prohibited, address unreachable,
 * parameter problem -> `ERROR`; Packet Too Big and time exceeded are soft (ignored).
 */
function udp6ErrorCode(type: number, code: number): number {
  if (type === 1) return code === 4 ? IOT_SOCKET_ECONNREFUSED : IOT_SOCKET_ERROR;
  if (type === 4) return IOT_SOCKET_ERROR;
  return 0;
}

/** A uint32 address from text or a number; throws RangeError on bad text (configuration errors). */
export function toIpv4(a: string | number): number {
  if (typeof a === 'number') {
    if (!Number.isInteger(a) || a < 0 || a > 0xffffffff) throw new RangeError(`not an IPv4 address: ${a}`);
    return a >>> 0;
  }
  const b = parseIPv4(a);
  if (b === undefined) throw new RangeError(`not an IPv4 address: ${a}`);
  return ip4FromBytes(b);
}

/**
 * Linux's mapping for connected UDP sockets (`__udp4_lib_err`, `icmp_err_convert`):
 * only "hard" errors are reported; soft ones (net/host unreachable, time exceeded,
 * fragmentation needed) are ignored because they may be transient. 0 = ignore.
 */
function udpErrorCode(type: number, code: number): number {
  if (type !== Icmpv4Type.DEST_UNREACHABLE) return 0;
  switch (code) {
    case Icmpv4Unreachable.PROTOCOL:
    case Icmpv4Unreachable.PORT:
      return IOT_SOCKET_ECONNREFUSED;
    case Icmpv4Unreachable.NET_UNKNOWN:
    case Icmpv4Unreachable.HOST_UNKNOWN:
    case Icmpv4Unreachable.HOST_ISOLATED:
    case Icmpv4Unreachable.NET_PROHIBITED:
    case Icmpv4Unreachable.HOST_PROHIBITED:
    case Icmpv4Unreachable.COMM_PROHIBITED:
    case Icmpv4Unreachable.HOST_PRECEDENCE:
    case Icmpv4Unreachable.PRECEDENCE_CUTOFF:
      return IOT_SOCKET_ERROR;
    default:
      return 0;
  }
}

function newStats(): StackStats {
  return {
    rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0,
    arp: { requestsIn: 0, repliesIn: 0, requestsOut: 0, repliesOut: 0, announcementsOut: 0, probesOut: 0, conflicts: 0, failed: 0 },
    ip: { rxDatagrams: 0, txDatagrams: 0, fragmentsIn: 0, reassembled: 0, fragmentsOut: 0, looped: 0, forwarded: 0 },
    icmp: { in: 0, out: 0, echoRequestsIn: 0, echoRepliesIn: 0, echoRequestsOut: 0, echoRepliesOut: 0, errorsIn: 0, errorsOut: 0, rateLimited: 0 },
    udp: { rxDatagrams: 0, txDatagrams: 0, filtered: 0 },
    ip6: { rxPackets: 0, txPackets: 0, fragmentsIn: 0, reassembled: 0, fragmentsOut: 0, looped: 0, forwarded: 0 },
    icmp6: { in: 0, out: 0, echoRequestsIn: 0, echoRepliesIn: 0, echoRequestsOut: 0, echoRepliesOut: 0, errorsIn: 0, errorsOut: 0, rateLimited: 0 },
    nd: { nsIn: 0, nsOut: 0, naIn: 0, naOut: 0, rsOut: 0, raIn: 0, redirectsIn: 0, dadConflicts: 0, resolutionFailed: 0 },
    mld: { reportsOut: 0, queriesIn: 0 },
    drops: {
      truncated: 0, badLength: 0, badChecksum: 0, malformed: 0, unsupported: 0, notForUs: 0, unknownEtherType: 0,
      unknownProtocol: 0, martian: 0, interfaceDown: 0, noRoute: 0, arpFailed: 0, arpQueue: 0, noPcb: 0, queueFull: 0,
      reassembly: 0, noHandler: 0, txFailed: 0, tooBig: 0, ttlExpired: 0, directedBroadcast: 0, beyondScope: 0, loopQueue: 0, internalError: 0,
    },
    callbackErrors: 0,
  };
}

// ------------------------------------------------------------------------------------

/**
 * The userspace TCP/IP stack: one instance is one host (or router) with its interfaces, routes, ARP and neighbour
 * caches, reassembly, ICMP, UDP and a slot for TCP (`setTcp`). Pure: no I/O, no timers, no clock; a runner calls
 * `poll(now)` on wake-ups and at `pollAt()`. Bad input is counted in `stats.drops` and dropped, never thrown.
 */
export class Stack {
  /** Name for diagnostics. */
  readonly name: string;
  /** Counters (see `StackStats`). */
  readonly stats: StackStats = newStats();
  /** The IPv4 route table. */
  readonly routes = new RouteTable();
  /** The ARP cache (with the datagrams waiting for resolution). */
  readonly arp: ArpCache<PendingDatagram>;
  /** IPv4 reassembly. */
  readonly reassembler: Ipv4Reassembler;
  /** The last exception thrown by a change callback (diagnostics). */
  lastCallbackError: unknown = undefined;
  /** The last exception caught in the receive path (a bug; diagnostics). */
  lastInternalError: unknown = undefined;

  /** The stack's randomness (services draw from it: DHCP transaction ids, back-off jitter). */
  readonly rng: Rng;
  /** IPv6 (per-interface state, caches); enabled per interface with `enableIpv6`. */
  readonly ipv6: Ipv6Layer;
  private readonly ipv6Events: PostPollEvents<Ipv6Event>;
  private readonly rxBatch: number;
  private readonly defaultTtl: number;
  private readonly ifaces: (NetInterface | undefined)[] = [];
  private readonly ifaceTimers: (StackTimer | undefined)[] = [];
  /** Where each 6LoWPAN interface's adaptation hands packets up and relayed frames down. */
  private readonly lowpanSinks: (LowpanInputSink | undefined)[] = [];
  private readonly timers = new TimerHeap<StackTimer>();
  private readonly ipId: IpIdGenerator;
  private readonly icmpBucket: TokenBucket;
  private readonly wakes = new Set<() => void>();
  private tcp: TransportHandler | undefined = undefined;
  /** Replaced, never mutated, so a poll iterates a stable array. */
  private services: readonly StackService[] = [];
  private arpWatches: readonly ArpWatch[] = [];

  private readonly udpPorts = new UdpPortTable();
  private readonly udpPcbs = new Set<UdpPcb>();
  private nextPcbId = 1;
  private readonly udpQueueDatagrams: number;
  private readonly udpQueueBytes: number;
  private readonly maxUdpPcbs: number;

  private readonly pingIdent: number;
  private pingSeq: number;
  private readonly pings = new Map<number, PingEntry>();
  private readonly maxPings: number;

  private loopQueue: LoopDatagram[] = [];
  private readonly loopQueueMax: number;

  private inPoll = false;
  /** The `now` of the latest poll (configuration calls made outside a poll start their timers from it). */
  private lastNow = 0;
  private changed = new Set<ChangeTarget>();
  private spareChanged = new Set<ChangeTarget>();
  private completions: { entry: PingEntry; result: PingResult }[] = [];
  private closed = false;

  private spare: PendingDatagram = { ifIndex: 0, mtu: 0, packet: undefined, forwarded: false };
  /** The holder `nextHopMac` queued last (its packet still to be filled in). */
  private queued: PendingDatagram = this.spare;
  private forward4On: boolean;
  private scratch: Uint8Array | undefined = undefined;
  private readonly ctx = new InputContext(4);

  private readonly arpTimer: StackTimer = { deadline: undefined, fire: (now) => this.arpTick(now) };
  private readonly reassemblyTimer: StackTimer = { deadline: undefined, fire: (now) => this.reassemblyTick(now) };

  // UDP fast path: one reusable IpSend and writer (no allocation per datagram).
  private udpData: Uint8Array = EMPTY;
  private udpLen = 0;
  private udpSrcPort = 0;
  private udpDstPort = 0;
  private readonly udpWriter = (out: Uint8Array): void => {
    wr16(out, 0, this.udpSrcPort);
    wr16(out, 2, this.udpDstPort);
    wr16(out, 4, UDP_HEADER_LEN + this.udpLen);
    wr16(out, 6, 0);
    const d = this.udpData;
    out.set(this.udpLen === d.length ? d : d.subarray(0, this.udpLen), UDP_HEADER_LEN);
  };
  private readonly udpSend: IpSend = { src: 0, dst: 0, protocol: IpProtocol.UDP, ifIndex: undefined, payloadLen: 0, payloadWriter: this.udpWriter, checksumOffset: 6 };
  private readonly udpSend6: Ip6Send = { src: undefined, dst: ANY16, protocol: IpProtocol.UDP, ifIndex: undefined, payloadLen: 0, payloadWriter: this.udpWriter, checksumOffset: 6 };

  constructor(opts: StackOptions) {
    this.rng = opts.rng;
    this.name = opts.name ?? 'stack';
    this.rxBatch = Math.max(1, Math.floor(opts.rxBatch ?? 64));
    this.defaultTtl = opts.defaultTtl ?? IPV4_DEFAULT_TTL;
    this.arp = new ArpCache<PendingDatagram>(opts.arp);
    this.reassembler = new Ipv4Reassembler(opts.reassembly);
    this.ipId = new IpIdGenerator(opts.rng, opts.ipIdBuckets);
    this.icmpBucket = new TokenBucket(opts.icmpErrorRate?.perSecond ?? 10, opts.icmpErrorRate?.burst ?? 10);
    this.udpQueueDatagrams = opts.udpQueueDatagrams ?? 256;
    this.udpQueueBytes = opts.udpQueueBytes ?? 256 * 1024;
    this.maxUdpPcbs = opts.maxUdpPcbs ?? 1024;
    this.loopQueueMax = opts.loopQueueDatagrams ?? 256;
    this.maxPings = opts.maxPings ?? 64;
    const fwd = forwardingConfig(opts.forwarding);
    this.forward4On = fwd.ipv4;
    this.pingIdent = opts.rng.nextU32() & 0xffff;
    this.pingSeq = opts.rng.nextU32() & 0xffff;
    this.ipv6Events = new PostPollEvents<Ipv6Event>((t) => this.markChanged(t));
    this.ipv6 = new Ipv6Layer({
      stats: this.stats,
      rng: this.rng,
      iface: (i) => this.ifaces[i],
      transmit: (iface, mac, type, len, now) => this.transmit(iface, mac, type, len, now),
      loop: (ifIndex, packet) => this.loopPacket(ifIndex, packet),
      deliver: (now, ctx, payload, reassembled) => this.deliverTransport(now, ctx, payload, reassembled),
      deliverError: (now, e) => this.deliverError(now, e),
      echoReply: (now, ident, seq, from, hopLimit, data) => this.echoReply6(now, ident, seq, from, hopLimit, data),
      takeErrorToken: (now) => this.icmpBucket.take(now),
      event: (e) => this.ipv6Events.emit(e),
      requestPoll: () => this.requestPoll(),
      scratch: () => this.scratchBuffer(),
    }, opts.ipv6);
    this.ipv6.forwarding = fwd.ipv6;
  }

  /**
   * Turns the router role on or off at run time (`true`/`false` for both families, or per
   * family: an omitted family is left as it is). Packets already queued are not affected.
   */
  setForwarding(opt: ForwardingOption): void {
    const cfg = typeof opt === 'boolean' ? forwardingConfig(opt) : { ipv4: opt.ipv4 ?? this.forward4On, ipv6: opt.ipv6 ?? this.ipv6.forwarding };
    this.forward4On = cfg.ipv4;
    this.ipv6.forwarding = cfg.ipv6;
  }

  /** Whether the stack forwards IPv4 and IPv6 packets that are not for it. */
  get forwarding(): ForwardingConfig {
    return { ipv4: this.forward4On, ipv6: this.ipv6.forwarding };
  }

  // ---------------------------------------------------------------- interfaces

  /**
   * Attaches a device and returns the interface index. Installs the connected route
   * (and a default route with `gateway`), subscribes to the device's wake-ups (they are
   * forwarded to `onWake` listeners) and, with an address on Ethernet, queues two
   * gratuitous ARP announcements (sent by the next polls, 2 s apart).
   */
  addInterface(device: Device, opts: InterfaceOptions = {}): number {
    const index = this.ifaces.length;
    let mac: Uint8Array;
    const radio = device.caps.medium === 'ieee802154' ? device.caps.ieee802154 : undefined;
    if (device.caps.medium === 'ieee802154') {
      if (radio === undefined || radio.extended.length !== 8) throw new RangeError('an ieee802154 device must give its 8-byte extended address (caps.ieee802154)');
      mac = radio.extended.slice();
    } else if (opts.mac === undefined) {
      mac = new Uint8Array(6);
      for (let i = 0; i < 6; i++) mac[i] = this.rng.nextU32() & 0xff;
      mac[0] = ((mac[0] as number) & 0xfc) | 0x02; // locally administered, unicast
    } else {
      const m = typeof opts.mac === 'string' ? parseMac(opts.mac) : opts.mac;
      if (m === undefined || m.length !== 6 || ((m[0] as number) & 1) !== 0) throw new RangeError(`bad interface MAC: ${String(opts.mac)}`);
      mac = Uint8Array.from(m);
    }
    const devMtu = device.caps.mtu;
    const mtu = Math.min(devMtu, Math.floor(opts.mtu ?? devMtu));
    if (!(mtu >= 68)) throw new RangeError(`interface MTU must be >= 68 (RFC 791), got ${mtu}`);
    const iface = new NetInterface(index, opts.name ?? `if${index}`, device, mac, mtu, opts.checksumOffload ?? false);
    if (radio !== undefined) {
      iface.lowpan = new LowpanAdaptation(radio, { ...opts.lowpan, rng: this.rng });
      // One sink per interface (input runs inside a poll, whose time is lastNow).
      this.lowpanSinks[index] = {
        deliver: (packet, multicast) => this.ipv6.input(this.lastNow, iface, packet, multicast, undefined, false),
        transmit: (f) => {
          const ok = iface.device.transmit(this.lastNow, f);
          if (ok) this.stats.txFrames++;
          else this.stats.drops.txFailed++;
          return ok;
        },
      };
    }
    iface.up = opts.up ?? true;
    this.ifaces.push(iface);
    this.ifaceTimers.push({ deadline: undefined, fire: (now) => this.announceTick(iface, now) });
    iface.unsubscribe = device.onReadable(() => this.emitWake());
    if (opts.ipv4 !== undefined) this.setIpv4(index, opts.ipv4, opts.gateway);
    if (opts.ipv6 !== undefined && opts.ipv6 !== false) this.enableIpv6(index, opts.ipv6 === true ? {} : opts.ipv6);
    this.requestPoll();
    return index;
  }

  // ---------------------------------------------------------------- IPv6 configuration

  /**
   * Enables IPv6 on an interface (its MTU must be at least 1280): a link-local address
   * with a stable identifier (RFC 7217/8064) at once, DAD for every address (RFC 4862),
   * router solicitation and SLAAC from Router Advertisements unless `autoconf: false`,
   * plus any static addresses and gateway. Progress is reported by `onIpv6Event`.
   * `now`: the stack's current time (DAD and solicitation timers start from it).
   */
  enableIpv6(ifIndex: number, opts: Ipv6InterfaceOptions = {}, now = this.lastNow): void {
    this.ipv6.enable(now, this.mustIface(ifIndex), opts);
    this.requestPoll();
  }

  /** Adds a static IPv6 address (text or 16 bytes) with its prefix length; its prefix becomes on-link. DAD runs first. */
  addIpv6Address(ifIndex: number, address: string | Uint8Array, prefixLen: number, now = this.lastNow): void {
    this.ipv6.addStatic(now, ifIndex, toIpv6(address), prefixLen);
    this.requestPoll();
  }

  /** Removes an IPv6 address; false when the interface has no such address. */
  removeIpv6Address(ifIndex: number, address: string | Uint8Array): boolean {
    return this.ipv6.removeStatic(ifIndex, toIpv6(address));
  }

  /** The IPv6 addresses of one interface, or of all (copies, with their state and lifetimes). */
  ipv6Addresses(ifIndex?: number): Ipv6AddressInfo[] {
    return this.ipv6.addresses(ifIndex);
  }

  /** IPv6 default routers of an interface (learned from RAs, then the static gateway). */
  ipv6Routers(ifIndex: number): Uint8Array[] {
    return this.ipv6.routers(ifIndex);
  }

  /** Recursive DNS servers learned from Router Advertisements (RFC 8106), all interfaces. */
  ipv6DnsServers(): Uint8Array[] {
    return this.ipv6.dnsServers();
  }

  /** Listens to IPv6 configuration events (addresses, routers, DNS, the RA's O flag), delivered after polls. */
  onIpv6Event(listener: (e: Ipv6Event) => void): () => void {
    return this.ipv6Events.on(listener);
  }

  /** Joins an IPv6 multicast group on an interface (reference counted; announced by MLDv2 reports). */
  joinIpv6Group(ifIndex: number, group: string | Uint8Array, now = this.lastNow): void {
    const g = toIpv6(group);
    if (g[0] !== 0xff) throw new RangeError('not an IPv6 multicast address');
    this.ipv6.join(now, ifIndex, g);
  }

  /** Leaves a group joined with `joinIpv6Group`. */
  leaveIpv6Group(ifIndex: number, group: string | Uint8Array, now = this.lastNow): void {
    this.ipv6.leave(now, ifIndex, toIpv6(group));
  }

  /** Whether `addr` (16 bytes) is one of our usable IPv6 addresses. */
  isLocalAddress6(addr: Uint8Array): boolean {
    return this.ipv6.isLocal(addr);
  }

  /** The source address a packet to `dst` would carry (RFC 6724; a copy), or undefined without route or address. */
  sourceAddressFor6(dst: Uint8Array, ifIndex?: number): Uint8Array | undefined {
    return this.ipv6.sourceFor(dst, ifIndex);
  }

  /** Largest IPv6 packet that goes out unfragmented towards `dst` (interface, RA and path MTU), or 0 without a route. */
  pathMtu6(dst: Uint8Array): number {
    return this.ipv6.pathMtu(dst, this.lastNow);
  }

  /** The interface with index `ifIndex`, or undefined. */
  interface(ifIndex: number): NetInterface | undefined {
    return this.ifaces[ifIndex];
  }

  /** Every interface still attached. */
  get interfaces(): NetInterface[] {
    return this.ifaces.filter((i): i is NetInterface => i !== undefined);
  }

  /**
   * Sets (or with undefined clears) an interface's IPv4 address, replacing the routes it
   * installed. `gateway`: default route through this interface. On Ethernet a new
   * address is announced by gratuitous ARP (two, 2 s apart, RFC 5227 §2.3).
   */
  setIpv4(ifIndex: number, ipv4: { address: string | number; prefixLen: number } | undefined, gateway?: string | number): void {
    const iface = this.mustIface(ifIndex);
    const address = ipv4 === undefined ? 0 : toIpv4(ipv4.address);
    const prefixLen = ipv4 === undefined ? 0 : ipv4.prefixLen;
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) throw new RangeError(`bad prefix length: ${prefixLen}`);
    for (const r of iface.routes) this.routes.remove((x) => x === r);
    iface.routes = [];
    const changed = address !== iface.address;
    iface.assign(address, prefixLen);
    if (address !== 0) {
      iface.routes.push(this.routes.add({ network: address & prefixMask(prefixLen), prefixLen, ifIndex }));
      if (gateway !== undefined) iface.routes.push(this.routes.add({ network: 0, prefixLen: 0, gateway: toIpv4(gateway), ifIndex, metric: 1 }));
      if (changed && iface.medium === 'ethernet') {
        iface.announcements = 2;
        this.arm(this.ifaceTimers[ifIndex] as StackTimer, Number.MIN_SAFE_INTEGER);
      }
    }
    this.requestPoll();
  }

  /** Adds a static route (e.g. a subnet behind a router). */
  addRoute(r: { network: string | number; prefixLen: number; gateway?: string | number; ifIndex: number; mtu?: number; metric?: number }): Route {
    this.mustIface(r.ifIndex);
    return this.routes.add({
      network: toIpv4(r.network),
      prefixLen: r.prefixLen,
      ifIndex: r.ifIndex,
      ...(r.gateway !== undefined ? { gateway: toIpv4(r.gateway) } : {}),
      ...(r.mtu !== undefined ? { mtu: r.mtu } : {}),
      ...(r.metric !== undefined ? { metric: r.metric } : {}),
    });
  }

  /**
   * Brings an interface up or down. Down: received frames are drained and dropped
   * (`drops.interfaceDown`), sends routed to it fail with `ERROR`, and its datagrams
   * waiting for ARP are dropped. Every UDP PCB is notified (send readiness changed).
   */
  setInterfaceUp(ifIndex: number, up: boolean): void {
    const iface = this.mustIface(ifIndex);
    if (iface.up === up) return;
    iface.up = up;
    for (const pcb of this.udpPcbs) this.markChanged(pcb);
    this.requestPoll();
  }

  /** Detaches an interface (its routes go; the device is not closed). */
  removeInterface(ifIndex: number): void {
    const iface = this.mustIface(ifIndex);
    this.ipv6.disable(ifIndex);
    iface.unsubscribe?.();
    for (const r of iface.routes) this.routes.remove((x) => x === r);
    this.routes.remove((r) => r.ifIndex === ifIndex);
    this.timers.cancel(this.ifaceTimers[ifIndex] as StackTimer);
    this.ifaces[ifIndex] = undefined;
    this.requestPoll();
  }

  /**
   * Sets the largest IP packet sent on an interface (DHCP option 26, RFC 2132 §5.1),
   * clamped to the device's MTU; returns the MTU applied. Datagrams sent afterwards use
   * it (TCP connections keep the MSS they negotiated). RangeError below 68 (RFC 791).
   */
  setInterfaceMtu(ifIndex: number, mtu: number): number {
    const iface = this.mustIface(ifIndex);
    if (!Number.isInteger(mtu) || mtu < 68) throw new RangeError(`interface MTU must be an integer >= 68 (RFC 791), got ${mtu}`);
    iface.setMtu(Math.min(mtu, iface.device.caps.mtu));
    return iface.mtu;
  }

  /**
   * Enters `ip` -> `mac` in the ARP cache as reachable (as a received ARP packet for us
   * would), releasing datagrams waiting for it. For a DHCP server that unicasts an offer to
   * a client that cannot answer ARP yet (RFC 2131 §4.1: to `yiaddr` at `chaddr`). The entry
   * ages like any other. `ip` should be on an interface's subnet (else it is never used).
   */
  setNeighbor(now: number, ip: number, mac: Uint8Array): void {
    if (mac.length !== 6 || ((mac[0] as number) & 1) !== 0) throw new RangeError('setNeighbor: not a unicast MAC-48');
    this.learnNeighbor(ip >>> 0, mac, now, true);
  }

  /**
   * Sends one RFC 5227 ARP probe for `target` out of an Ethernet interface: a request with
   * sender IP 0.0.0.0, target MAC zero, to the broadcast MAC. Nothing on other media or
   * while the interface is down. Watch the answers with `watchArp`.
   */
  sendArpProbe(now: number, ifIndex: number, target: number): void {
    const iface = this.mustIface(ifIndex);
    this.sendArp(iface, ArpOp.REQUEST, ZERO_MAC, target >>> 0, BROADCAST_MAC, now, 0);
  }

  /** Starts counting ARP conflicts for `address` on an interface (see `ArpConflictWatch`). */
  watchArp(ifIndex: number, address: number): ArpConflictWatch {
    this.mustIface(ifIndex);
    const w = new ArpWatch(ifIndex, address >>> 0, (x) => {
      this.arpWatches = this.arpWatches.filter((y) => y !== x);
    });
    this.arpWatches = [...this.arpWatches, w];
    return w;
  }

  /** True when `addr` (uint32) is an address of one of our interfaces. */
  isLocalAddress(addr: number): boolean {
    return this.ifaceByAddress(addr >>> 0) !== undefined;
  }

  /** The source address a datagram to `dst` would carry (0 when there is no route). */
  sourceAddressFor(dst: number): number {
    dst >>>= 0;
    if (this.isLocalAddress(dst)) return dst;
    if (dst === IPV4_BROADCAST) return this.firstUp()?.address ?? 0;
    const hop = this.routes.lookup(dst);
    return hop === undefined ? 0 : (this.ifaces[hop.route.ifIndex]?.address ?? 0);
  }

  /** Largest IP datagram that goes out unfragmented towards `dst` (route or interface MTU), or 0 without a route. */
  pathMtu(dst: number): number {
    dst >>>= 0;
    if (this.isLocalAddress(dst)) return 65535;
    const hop = this.routes.lookup(dst);
    if (hop === undefined) return 0;
    const iface = this.ifaces[hop.route.ifIndex];
    if (iface === undefined) return 0;
    return hop.route.mtu > 0 ? Math.min(hop.route.mtu, iface.mtu) : iface.mtu;
  }

  /** True when at least one interface is up (UDP `send` readiness). */
  get anyInterfaceUp(): boolean {
    return this.firstUp() !== undefined;
  }

  // ---------------------------------------------------------------- driving

  /**
   * Registers a wake-up: called (synchronously, possibly inside a device's `transmit`
   * or inside this stack's poll) whenever a poll is due soon — a device has a frame, or
   * an application call changed something (a timer, a notification to deliver). It
   * must only schedule a poll. Returns an unsubscribe function.
   */
  onWake(wake: () => void): () => void {
    const entry = (): void => wake();
    this.wakes.add(entry);
    return () => {
      this.wakes.delete(entry);
    };
  }

  /** Asks the runner for a poll soon (transports call it after changing their deadline outside a poll). */
  requestPoll(): void {
    if (!this.inPoll) this.emitWake();
  }

  /**
   * Does all due work at `now`: drains every device (at most `rxBatch` frames each),
   * processes looped-back datagrams, fires due timers, runs the TCP handler's poll,
   * then delivers change notifications. Returns true when more work is already waiting
   * (a device may hold more frames, datagrams were looped back): poll again soon.
   * A poll from inside a poll (a change callback calling back) does nothing and returns true.
   */
  poll(now: number): boolean {
    if (this.inPoll) return true;
    if (this.closed) return false;
    this.inPoll = true;
    this.lastNow = now;
    let more = false;
    try {
      more = this.drainLoop(now);
      for (let i = 0; i < this.ifaces.length; i++) {
        const iface = this.ifaces[i];
        if (iface !== undefined && this.drainDevice(iface, now)) more = true;
      }
      let fired = 0;
      for (let t = this.timers.popDue(now); t !== undefined; t = this.timers.popDue(now)) {
        t.fire(now);
        if (++fired >= 10_000) {
          more = true;
          break;
        }
      }
      this.ipv6.poll(now);
      for (let i = 0; i < this.ifaces.length; i++) {
        const lp = this.ifaces[i]?.lowpan;
        if (lp === undefined) continue;
        const due = lp.pollAt();
        if (due !== undefined && due <= now) lp.poll(now);
      }
      this.tcp?.poll(now);
      const services = this.services;
      for (let i = 0; i < services.length; i++) {
        try {
          (services[i] as StackService).poll(now);
        } catch (error) {
          this.stats.drops.internalError++;
          this.lastInternalError = error;
        }
      }
    } finally {
      this.inPoll = false;
    }
    this.deliverNotifications();
    return more || this.loopQueue.length > 0;
  }

  /**
   * The next deadline (timers: ARP, reassembly, pings, announcements, the TCP
   * handler's), or undefined when nothing is scheduled. With `now` given, returns `now`
   * when work is already waiting (looped datagrams, undelivered notifications).
   */
  pollAt(now?: number): number | undefined {
    if (now !== undefined && (this.loopQueue.length > 0 || this.changed.size > 0 || this.completions.length > 0)) return now;
    let at = this.timers.nextAt();
    const v6 = this.ipv6.pollAt();
    if (v6 !== undefined && (at === undefined || v6 < at)) at = v6;
    for (let i = 0; i < this.ifaces.length; i++) {
      const l = this.ifaces[i]?.lowpan?.pollAt();
      if (l !== undefined && (at === undefined || l < at)) at = l;
    }
    const t = this.tcp?.pollAt();
    if (t !== undefined && (at === undefined || t < at)) at = t;
    const services = this.services;
    for (let i = 0; i < services.length; i++) {
      const s = (services[i] as StackService).pollAt();
      if (s !== undefined && (at === undefined || s < at)) at = s;
    }
    return at;
  }

  /** Sockets open in this stack (UDP PCBs and the TCP handler's): the runner keeps the process alive while nonzero. */
  get openSockets(): number {
    return this.udpPcbs.size + (this.tcp?.openSockets ?? 0);
  }

  /** Registers a service polled with the stack (see `StackService`); returns its removal. */
  addService(service: StackService): () => void {
    this.services = [...this.services, service];
    this.requestPoll();
    return () => {
      this.services = this.services.filter((s) => s !== service);
    };
  }

  /** Installs (or removes) the TCP implementation. */
  setTcp(handler: TransportHandler | undefined): void {
    this.tcp = handler;
    this.requestPoll();
  }

  /**
   * Collects a change for `target`: its `onChange` runs at the end of the current poll,
   * or (called outside a poll) at the end of the next one, which is requested.
   */
  markChanged(target: ChangeTarget): void {
    this.changed.add(target);
    if (!this.inPoll) this.emitWake();
  }

  /** Detaches from every device, closes every PCB and forgets timers. Devices are not closed. Idempotent. */
  close(): void {
    if (this.closed) return;
    for (const iface of this.ifaces) iface?.unsubscribe?.();
    for (const pcb of [...this.udpPcbs]) this.udpClose(pcb);
    this.timers.clear();
    this.pings.clear();
    this.loopQueue = [];
    this.changed.clear();
    this.completions = [];
    this.wakes.clear();
    this.services = [];
    this.arpWatches = [];
    this.closed = true;
  }

  // ---------------------------------------------------------------- IP output

  /**
   * Sends one IPv4 datagram (see `IpSend`). Returns 0 when it was handed to the link or
   * queued for ARP resolution, else a negative IoT code:
   * - `EAGAIN`: the device refused a frame (its queue is full; counted in
   *   `drops.txFailed`): the datagram is lost, retry later. Devices have no "writable"
   *   wake-up, so a transport that retries should set its `pollAt` a little ahead
   *   (e.g. now + 1 ms). UDP treats it as a loss on the wire (the send succeeds).
   * - `EINVAL`: bad parameters, more than 65535 bytes, TTL 0, DF with fragmentation needed.
   * - `ERROR`: no route, interface down, no source address, next hop known to be
   *   unreachable (ARP failed within the last `failHoldMs`).
   * Datagrams larger than the path MTU are fragmented. Safe to call inside and outside
   * a poll; never re-entered by the stack (the writer must not call `sendIp`).
   */
  sendIp(now: number, p: IpSend): number {
    const ttl = p.ttl ?? this.defaultTtl;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) return IOT_SOCKET_EINVAL;
    const payloadLen = p.payload !== undefined ? p.payload.length : (p.payloadLen ?? -1);
    if (payloadLen < 0 || (p.payload === undefined && p.payloadWriter === undefined)) return IOT_SOCKET_EINVAL;
    const total = IPV4_HLEN + payloadLen;
    if (total > 0xffff) return IOT_SOCKET_EINVAL;
    const dst = p.dst >>> 0;

    // Route.
    let iface: NetInterface | undefined;
    let nextHop = dst;
    let linkBroadcast = false;
    let routeMtu = 0;
    if (dst === IPV4_BROADCAST) {
      iface = p.ifIndex !== undefined ? this.ifaces[p.ifIndex] : this.firstUp();
      linkBroadcast = true;
    } else {
      const local = this.ifaceByAddress(dst);
      if (local !== undefined) return this.loopOut(local, p, dst, ttl, payloadLen);
      const hop = this.routes.lookup(dst);
      if (hop === undefined) {
        this.stats.drops.noRoute++;
        return IOT_SOCKET_ERROR;
      }
      iface = this.ifaces[hop.route.ifIndex];
      nextHop = hop.nextHop;
      routeMtu = hop.route.mtu;
      if (iface !== undefined && dst === iface.broadcast) linkBroadcast = true;
    }
    if (iface === undefined || !iface.up) {
      this.stats.drops.interfaceDown++;
      return IOT_SOCKET_ERROR;
    }
    const src = (p.src ?? 0) >>> 0 || iface.address;
    if (src === 0 && !linkBroadcast) {
      this.stats.drops.noRoute++;
      return IOT_SOCKET_ERROR;
    }
    const mtu = routeMtu > 0 ? Math.min(routeMtu, iface.mtu) : iface.mtu;
    const fragment = total > mtu;
    if (fragment && p.dontFragment === true) {
      this.stats.drops.tooBig++;
      return IOT_SOCKET_EINVAL;
    }

    // Link-layer destination.
    let mac: Uint8Array | undefined;
    if (iface.medium === 'ethernet') {
      if (linkBroadcast) mac = BROADCAST_MAC;
      else if (isMulticastAddr(dst)) mac = this.multicastMac(dst);
      else {
        const m = this.nextHopMac(iface, nextHop, mtu, false, now);
        if (m === ARP_FAILED) return IOT_SOCKET_ERROR;
        if (m === ARP_QUEUED) {
          const packet = new Uint8Array(total);
          this.buildDatagram(packet, 0, p, src, dst, ttl, payloadLen, !iface.checksumOffload || fragment);
          this.queued.packet = packet;
          this.stats.ip.txDatagrams++;
          return 0;
        }
        mac = m;
      }
    }

    this.stats.ip.txDatagrams++;
    if (!fragment) {
      const off = iface.linkHeaderLen;
      this.buildDatagram(iface.tx, off, p, src, dst, ttl, payloadLen, !iface.checksumOffload);
      return this.transmit(iface, mac, EtherType.IPV4, off + total, now) ? 0 : IOT_SOCKET_EAGAIN;
    }
    const scratch = this.scratchBuffer();
    this.buildDatagram(scratch, 0, p, src, dst, ttl, payloadLen, true);
    return this.fragmentOut(iface, mac, scratch.subarray(0, total), mtu, now) ? 0 : IOT_SOCKET_EAGAIN;
  }

  /**
   * Sends one IPv6 packet (see `Ip6Send`), with the return codes of `sendIp`: 0 (sent,
   * or queued for neighbor resolution), `EAGAIN` (the device refused a frame), `EINVAL`
   * (bad parameters, a source that is not ours, `dontFragment` beyond the path MTU),
   * `ERROR` (no route, no usable source address, interface down, neighbor unreachable).
   * Packets beyond the path MTU are fragmented (RFC 8200 §4.5).
   */
  sendIp6(now: number, p: Ip6Send): number {
    return this.ipv6.send(now, p);
  }

  /**
   * The MAC of `nextHop` on the Ethernet interface `iface` (an ARP refresh is sent when
   * due), or `ARP_QUEUED`: an ARP request is out and a holder (`this.queued`, its packet
   * for the caller to fill in) waits in the pending queue; or `ARP_FAILED` (resolution
   * failed lately; counted in `drops.arpFailed`).
   */
  private nextHopMac(iface: NetInterface, nextHop: number, mtu: number, forwarded: boolean, now: number): Uint8Array | typeof ARP_QUEUED | typeof ARP_FAILED {
    const fresh = this.arp.freshMac(nextHop, now);
    if (fresh !== undefined) return fresh;
    const holder = this.spare;
    const r = this.arp.resolve(nextHop, now, holder);
    if (r.kind === 'failed') {
      this.stats.drops.arpFailed++;
      return ARP_FAILED;
    }
    if (r.kind === 'mac') {
      if (r.refresh) {
        this.sendArp(iface, ArpOp.REQUEST, ZERO_MAC, nextHop, BROADCAST_MAC, now);
        this.arm(this.arpTimer, this.arp.pollAt());
      }
      return r.mac;
    }
    holder.ifIndex = iface.index;
    holder.mtu = mtu;
    holder.forwarded = forwarded;
    this.queued = holder;
    this.spare = { ifIndex: 0, mtu: 0, packet: undefined, forwarded: false };
    if (r.dropped) this.stats.drops.arpQueue++;
    if (r.request) this.sendArp(iface, ArpOp.REQUEST, ZERO_MAC, nextHop, BROADCAST_MAC, now);
    this.arm(this.arpTimer, this.arp.pollAt());
    return ARP_QUEUED;
  }

  /** Writes header and payload of a datagram at `buf[off]`; `l4`: compute the transport checksum. */
  private buildDatagram(buf: Uint8Array, off: number, p: IpSend, src: number, dst: number, ttl: number, payloadLen: number, l4: boolean): void {
    const total = IPV4_HLEN + payloadLen;
    const protocol = p.protocol & 0xff;
    buf[off] = 0x45;
    buf[off + 1] = (p.tos ?? 0) & 0xff;
    wr16(buf, off + 2, total);
    wr16(buf, off + 4, this.ipId.next(src, dst, protocol));
    wr16(buf, off + 6, p.dontFragment === true ? DF : 0);
    buf[off + 8] = ttl;
    buf[off + 9] = protocol;
    wr16(buf, off + 10, 0);
    wr32(buf, off + 12, src);
    wr32(buf, off + 16, dst);
    wr16(buf, off + 10, foldChecksum(onesSum(buf, off, off + IPV4_HLEN)));
    const start = off + IPV4_HLEN;
    const end = start + payloadLen;
    if (p.payload !== undefined) buf.set(p.payload, start);
    else (p.payloadWriter as NonNullable<IpSend['payloadWriter']>)(buf.subarray(start, end), src, dst);
    const co = p.checksumOffset;
    if (co !== undefined && co >= 0 && co + 2 <= payloadLen) {
      wr16(buf, start + co, 0);
      if (l4) {
        let c = foldChecksum(onesSum(buf, start, end, pseudoSum(src, dst, protocol, payloadLen)));
        if (c === 0 && protocol === IpProtocol.UDP) c = 0xffff; // RFC 768: 0 means "no checksum"
        wr16(buf, start + co, c);
      }
    }
  }

  /** Sends a finished datagram (20-byte header; ours) to `mac`, fragmenting it when longer than `mtu`. */
  private emitDatagram(iface: NetInterface, mac: Uint8Array | undefined, datagram: Uint8Array, mtu: number, now: number): void {
    if (datagram.length <= mtu) {
      const off = iface.linkHeaderLen;
      iface.tx.set(datagram, off);
      this.transmit(iface, mac, EtherType.IPV4, off + datagram.length, now);
    } else {
      this.fragmentOut(iface, mac, datagram, mtu, now);
    }
  }

  /**
   * RFC 791 fragmentation of `datagram` into frames of at most `mtu` IP bytes; false when a
   * frame was refused. A datagram that is itself a fragment (forwarded) keeps its place:
   * offsets count from its own, and its MF flag stays on the last piece.
   */
  private fragmentOut(iface: NetInterface, mac: Uint8Array | undefined, datagram: Uint8Array, mtu: number, now: number): boolean {
    const hl = ((datagram[0] as number) & 0x0f) * 4;
    const flags = rd16(datagram, 6);
    const base = flags & 0x1fff;
    const lastMf = flags & MF;
    const maxData = (mtu - hl) & ~7;
    if (maxData < 8) {
      this.stats.drops.tooBig++;
      return true;
    }
    let ok = true;
    const dataLen = datagram.length - hl;
    const buf = iface.tx;
    const off = iface.linkHeaderLen;
    for (let pos = 0; pos < dataLen; pos += maxData) {
      const n = Math.min(maxData, dataLen - pos);
      const more = pos + n < dataLen;
      buf.set(datagram.subarray(0, hl), off);
      wr16(buf, off + 2, hl + n);
      wr16(buf, off + 6, (more ? MF : lastMf) | (base + (pos >>> 3)));
      wr16(buf, off + 10, 0);
      wr16(buf, off + 10, foldChecksum(onesSum(buf, off, off + hl)));
      buf.set(datagram.subarray(hl + pos, hl + pos + n), off + hl);
      this.stats.ip.fragmentsOut++;
      if (!this.transmit(iface, mac, EtherType.IPV4, off + hl + n, now)) ok = false;
    }
    return ok;
  }

  /** Hands `iface.tx[0, len)` to the device after writing the Ethernet header; false when the device refused it. */
  private transmit(iface: NetInterface, mac: Uint8Array | undefined, etherType: number, len: number, now: number): boolean {
    const buf = iface.tx;
    const lowpan = iface.lowpan;
    if (lowpan !== undefined) {
      // 6LoWPAN: IPv6 only; `mac` is the 2- or 8-byte link destination (undefined: broadcast).
      if (etherType !== EtherType.IPV6) {
        this.stats.drops.unsupported++;
        return false;
      }
      const before = lowpan.stats.framesOut;
      const ok = lowpan.send(buf.subarray(0, len), mac, (frame) => iface.device.transmit(now, frame), iface.device.txCapacity?.());
      this.stats.txFrames += lowpan.stats.framesOut - before;
      this.stats.txBytes += len;
      if (!ok) this.stats.drops.txFailed++;
      return ok;
    }
    if (iface.medium === 'ethernet' && mac !== undefined) {
      buf[0] = mac[0] as number;
      buf[1] = mac[1] as number;
      buf[2] = mac[2] as number;
      buf[3] = mac[3] as number;
      buf[4] = mac[4] as number;
      buf[5] = mac[5] as number;
      wr16(buf, 12, etherType);
    }
    const frame = len === buf.length ? buf : buf.subarray(0, len);
    if (iface.device.transmit(now, frame)) {
      this.stats.txFrames++;
      this.stats.txBytes += len;
      return true;
    }
    this.stats.drops.txFailed++;
    return false;
  }

  /** A datagram to one of our own addresses: queued whole, received by the next poll. */
  private loopOut(iface: NetInterface, p: IpSend, dst: number, ttl: number, payloadLen: number): number {
    if (this.loopQueue.length >= this.loopQueueMax) {
      this.stats.drops.loopQueue++;
      return 0;
    }
    const src = (p.src ?? 0) >>> 0 || dst;
    const packet = new Uint8Array(IPV4_HLEN + payloadLen);
    this.buildDatagram(packet, 0, p, src, dst, ttl, payloadLen, true);
    this.loopQueue.push({ ifIndex: iface.index, packet });
    this.stats.ip.txDatagrams++;
    this.stats.ip.looped++;
    this.requestPoll();
    return 0;
  }

  /** Queues a whole packet (IPv4 or IPv6) to one of our addresses for the next poll; false when the queue is full. */
  private loopPacket(ifIndex: number, packet: Uint8Array): boolean {
    if (this.loopQueue.length >= this.loopQueueMax) return false;
    this.loopQueue.push({ ifIndex, packet });
    this.requestPoll();
    return true;
  }

  private scratchBuffer(): Uint8Array {
    if (this.scratch === undefined) this.scratch = new Uint8Array(0x10000);
    return this.scratch;
  }

  private multicastMac(dst: number): Uint8Array {
    // RFC 1112 §6.4: 01:00:5e + the low 23 bits of the group.
    return new Uint8Array([0x01, 0x00, 0x5e, (dst >>> 16) & 0x7f, (dst >>> 8) & 0xff, dst & 0xff]);
  }

  // ---------------------------------------------------------------- receive

  private drainDevice(iface: NetInterface, now: number): boolean {
    const dev = iface.device;
    for (let i = 0; i < this.rxBatch; i++) {
      const frame = dev.receive(now);
      if (frame === undefined) return false;
      this.stats.rxFrames++;
      this.stats.rxBytes += frame.length;
      if (!iface.up) {
        this.stats.drops.interfaceDown++;
        continue;
      }
      try {
        this.input(iface, frame, now);
      } catch (error) {
        this.stats.drops.internalError++;
        this.lastInternalError = error;
      }
    }
    return true;
  }

  private drainLoop(now: number): boolean {
    if (this.loopQueue.length === 0) return false;
    const batch = this.loopQueue;
    const n = Math.min(batch.length, this.rxBatch);
    this.loopQueue = batch.length > n ? batch.slice(n) : [];
    for (let i = 0; i < n; i++) {
      const d = batch[i] as LoopDatagram;
      const iface = this.ifaces[d.ifIndex];
      if (iface === undefined) continue;
      try {
        if (((d.packet[0] as number) >> 4) === 6) this.ipv6.input(now, iface, d.packet, false, undefined, true);
        else this.ipInput(iface, d.packet, false, now, true);
      } catch (error) {
        this.stats.drops.internalError++;
        this.lastInternalError = error;
      }
    }
    return this.loopQueue.length > 0;
  }

  private countFault(f: WireFault): void {
    this.stats.drops[FAULT_KEYS[f]]++;
  }

  private input(iface: NetInterface, frame: Uint8Array, now: number): void {
    const lowpan = iface.lowpan;
    if (lowpan !== undefined) {
      lowpan.input(now, frame, this.lowpanSinks[iface.index] as LowpanInputSink);
      return;
    }
    if (iface.medium !== 'ethernet') {
      const version = frame.length < 1 ? 0 : (frame[0] as number) >> 4;
      if (version === 4) this.ipInput(iface, frame, false, now, false);
      else if (version === 6) this.ipv6.input(now, iface, frame, false, undefined, false);
      else if (frame.length < 1) this.stats.drops.truncated++;
      else this.stats.drops.unknownProtocol++;
      return;
    }
    if (frame.length < 14) {
      this.stats.drops.truncated++;
      return;
    }
    let linkBroadcast = false;
    if (((frame[0] as number) & 1) !== 0) {
      // Broadcast, or IPv6 multicast (33:33:..., RFC 2464 §7) when IPv6 runs here: the IPv6 layer checks the group.
      if (!macEquals(frame, 0, BROADCAST_MAC) && !(frame[0] === 0x33 && frame[1] === 0x33 && this.ipv6.state(iface.index) !== undefined)) {
        this.stats.drops.notForUs++;
        return;
      }
      linkBroadcast = true;
    } else if (!macEquals(frame, 0, iface.mac)) {
      this.stats.drops.notForUs++;
      return;
    }
    const type = rd16(frame, 12);
    if (type === EtherType.IPV4) this.ipInput(iface, frame.subarray(14), linkBroadcast, now, false);
    else if (type === EtherType.IPV6) this.ipv6.input(now, iface, frame.subarray(14), linkBroadcast, frame, false);
    else if (type === EtherType.ARP) this.arpInput(iface, frame.subarray(14), now);
    else this.stats.drops.unknownEtherType++;
  }

  // ---------------------------------------------------------------- ARP

  private arpInput(iface: NetInterface, pkt: Uint8Array, now: number): void {
    const a = parseArp(pkt);
    if (isFault(a)) {
      this.countFault(a);
      return;
    }
    if (a.op === ArpOp.REQUEST) this.stats.arp.requestsIn++;
    else if (a.op === ArpOp.REPLY) this.stats.arp.repliesIn++;
    else {
      this.stats.drops.unsupported++;
      return;
    }
    if (((a.senderMac[0] as number) & 1) !== 0) {
      this.stats.drops.martian++; // a group address is never a sender
      return;
    }
    if (macEquals(a.senderMac, 0, iface.mac)) return;
    const spa = ip4FromBytes(a.senderIp);
    const tpa = ip4FromBytes(a.targetIp);
    if (this.arpWatches.length > 0) this.checkArpWatches(iface, spa, tpa, a.senderMac);
    if (iface.address === 0) return;
    if (spa === iface.address) {
      this.stats.arp.conflicts++; // somebody else claims our address
      return;
    }
    const forUs = tpa === iface.address;
    if (spa !== 0 && iface.onLink(spa) && spa !== iface.broadcast) this.learnNeighbor(spa, a.senderMac, now, forUs);
    if (a.op === ArpOp.REQUEST && forUs) {
      const senderMac = a.senderMac.slice();
      this.sendArp(iface, ArpOp.REPLY, senderMac, spa, senderMac, now);
    }
  }

  /** RFC 826 merge of `ip` -> `mac` (`create`: add a missing entry); sends what waited for it. */
  private learnNeighbor(ip: number, mac: Uint8Array, now: number, create: boolean): void {
    const released = this.arp.update(ip, mac, now, create);
    this.arm(this.arpTimer, this.arp.pollAt());
    if (released.length > 0) {
      const m = this.arp.freshMac(ip, now) ?? mac.slice();
      for (const d of released) this.flushPending(d, m, now);
    }
  }

  /** RFC 5227 §2.1.1: a sender using a watched address, or another host's probe for it. */
  private checkArpWatches(iface: NetInterface, spa: number, tpa: number, senderMac: Uint8Array): void {
    for (const w of this.arpWatches) {
      if (w.ifIndex !== iface.index) continue;
      if (spa === w.address || (spa === 0 && tpa === w.address)) {
        w.conflicts++;
        w.conflictMac = senderMac.slice(0, 6);
      }
    }
  }

  private flushPending(d: PendingDatagram, mac: Uint8Array, now: number): void {
    const iface = this.ifaces[d.ifIndex];
    const packet = d.packet;
    if (iface === undefined || packet === undefined) return;
    if (!iface.up) {
      this.stats.drops.interfaceDown++;
      return;
    }
    this.emitDatagram(iface, mac, packet, d.mtu, now);
  }

  /** Sends an ARP packet on `iface` (sender = the interface's MAC and `senderIp`, default its address). */
  private sendArp(iface: NetInterface, op: number, targetMac: Uint8Array, targetIp: number, ethDst: Uint8Array, now: number, senderIp = iface.address): void {
    if (iface.medium !== 'ethernet' || !iface.up) return;
    const b = iface.tx;
    const o = 14;
    wr16(b, o, 1); // htype Ethernet
    wr16(b, o + 2, EtherType.IPV4);
    b[o + 4] = 6;
    b[o + 5] = 4;
    wr16(b, o + 6, op);
    b.set(iface.mac, o + 8);
    wr32(b, o + 14, senderIp);
    b.set(targetMac, o + 18);
    wr32(b, o + 24, targetIp);
    b.fill(0, o + 28, ARP_FRAME_LEN);
    if (op === ArpOp.REPLY) this.stats.arp.repliesOut++;
    else if (senderIp === 0) this.stats.arp.probesOut++;
    else if (targetIp === senderIp) this.stats.arp.announcementsOut++;
    else this.stats.arp.requestsOut++;
    this.transmit(iface, ethDst, EtherType.ARP, ARP_FRAME_LEN, now);
  }

  private arpTick(now: number): void {
    const r = this.arp.poll(now);
    for (const ip of r.requests) {
      const iface = this.ifaceForNeighbor(ip);
      if (iface !== undefined) this.sendArp(iface, ArpOp.REQUEST, ZERO_MAC, ip, BROADCAST_MAC, now);
    }
    for (const f of r.failed) {
      this.stats.arp.failed++;
      for (const d of f.pending) {
        this.stats.drops.arpFailed++;
        if (d.packet === undefined) continue;
        if (d.forwarded) this.forwardUnreachable(now, d.packet);
        else this.localUnreachable(now, d.packet);
      }
    }
    this.arm(this.arpTimer, this.arp.pollAt());
  }

  private announceTick(iface: NetInterface, now: number): void {
    if (this.ifaces[iface.index] !== iface || iface.announcements <= 0 || iface.address === 0) return;
    iface.announcements--;
    this.sendArp(iface, ArpOp.REQUEST, ZERO_MAC, iface.address, BROADCAST_MAC, now);
    if (iface.announcements > 0) this.arm(this.ifaceTimers[iface.index] as StackTimer, now + 2000);
  }

  /** The interface through which `ip` is a neighbour. */
  private ifaceForNeighbor(ip: number): NetInterface | undefined {
    for (const iface of this.ifaces) if (iface !== undefined && iface.medium === 'ethernet' && iface.onLink(ip)) return iface;
    const hop = this.routes.lookup(ip);
    return hop === undefined ? undefined : this.ifaces[hop.route.ifIndex];
  }

  // ---------------------------------------------------------------- IPv4 input

  private ipInput(iface: NetInterface, pkt: Uint8Array, linkBroadcast: boolean, now: number, looped: boolean): void {
    const verified = looped || iface.checksumOffload;
    // Hot path: the checks of `parseIpv4`, then the fields read in place through a view
    // (no representation object or address views per datagram).
    const fault = validateIpv4(pkt, verified);
    if (fault !== undefined) {
      this.countFault(fault);
      return;
    }
    const ip = new Ipv4View(pkt);
    const moreFrags = ip.moreFrags;
    const fragOffset = ip.fragOffset;
    const protocol = ip.protocol;
    const src = ip4FromBytes(pkt, 12);
    const dst = ip4FromBytes(pkt, 16);
    let broadcast = false;
    if (dst === IPV4_BROADCAST || (dst === iface.broadcast && dst !== 0)) broadcast = true;
    else if (!looped && (isMulticastAddr(dst) || linkBroadcast || this.ifaceByAddress(dst) === undefined)) {
      if (this.forward4On && !isMulticastAddr(dst) && this.ifaceByAddress(dst) === undefined) {
        this.forward4(iface, pkt, ip, src, dst, linkBroadcast, now);
        return;
      }
      // Not ours; RFC 1122 §3.3.6: a unicast datagram in a link-layer broadcast is discarded.
      this.stats.drops.notForUs++;
      return;
    }
    if (src === IPV4_BROADCAST || isMulticastAddr(src) || (!looped && (src >>> 24 === 127 || (src === iface.broadcast && src !== 0) || this.ifaceByAddress(src) !== undefined))) {
      this.stats.drops.martian++;
      return;
    }
    const hl = ip.headerLen;
    const header = pkt.subarray(0, hl);
    let payload = pkt.subarray(hl, ip.totalLen);
    let reassembled = false;
    if (moreFrags || fragOffset !== 0) {
      this.stats.ip.fragmentsIn++;
      const rs = this.reassembler.stats;
      const before = reassemblyDrops(rs);
      const whole = this.reassembler.add(src, dst, protocol, ip.ident, fragOffset, moreFrags, payload, header, now);
      this.stats.drops.reassembly += reassemblyDrops(rs) - before;
      this.arm(this.reassemblyTimer, this.reassembler.pollAt());
      if (whole === undefined) return;
      this.stats.ip.reassembled++;
      payload = whole;
      reassembled = true;
    }
    this.stats.ip.rxDatagrams++;
    const ctx = this.ctx;
    ctx.ifIndex = iface.index;
    ctx.src = src;
    ctx.dst = dst;
    ctx.protocol = protocol;
    ctx.ttl = ip.ttl;
    ctx.tos = (ip.dscp << 2) | ip.ecn;
    ctx.broadcast = broadcast || linkBroadcast;
    ctx.header = header;
    ctx.checksumVerified = verified;
    if (protocol === IpProtocol.ICMP) {
      this.icmpInput(ctx, payload, now);
      return;
    }
    if (!this.deliverTransport(now, ctx, payload, reassembled)) {
      this.stats.drops.unknownProtocol++;
      this.icmpError(now, ctx, payload, reassembled, Icmpv4Type.DEST_UNREACHABLE, Icmpv4Unreachable.PROTOCOL);
    }
  }

  /**
   * RFC 1812 forwarding of a validated datagram that is not for us (unicast, not one of
   * our addresses). Dropped and counted: a unicast in a link-layer broadcast (§5.3.4,
   * `notForUs`), martian sources and destinations (§5.3.7, `martian`: also a source that
   * is one of our addresses or a subnet broadcast), a directed broadcast to one of our
   * subnets (RFC 2644, `directedBroadcast`). Answered with ICMP (rate-limited, never about
   * ICMP errors or non-first fragments): TTL <= 1 -> time exceeded (`ttlExpired`); no
   * route or egress down -> net unreachable (`noRoute`, `interfaceDown`); DF beyond the
   * egress MTU -> fragmentation needed with the next-hop MTU (RFC 1191, `tooBig`); next
   * hop not resolving -> host unreachable (`arpFailed`). Otherwise the TTL is decremented
   * (incremental checksum, RFC 1624), the datagram fragmented when larger than the egress
   * MTU with DF clear, and sent like our own: ARP and its pending queue on Ethernet, as is
   * on `'ip'` links (PPP, SLIP, TUN). Forwarding back out of the arrival interface is
   * allowed (a host using us as its gateway for a neighbour); we send no ICMP redirects.
   * IP options are forwarded untouched (no record-route or source-route processing).
   */
  private forward4(iface: NetInterface, pkt: Uint8Array, ip: Ipv4View, src: number, dst: number, linkBroadcast: boolean, now: number): void {
    const drops = this.stats.drops;
    if (linkBroadcast) {
      drops.notForUs++;
      return;
    }
    if (isMartianSource4(src) || isMartianDestination4(dst) || this.ifaceByAddress(src) !== undefined || this.isSubnetBroadcast(src)) {
      drops.martian++;
      return;
    }
    if (this.isSubnetBroadcast(dst)) {
      drops.directedBroadcast++;
      return;
    }
    const hl = ip.headerLen;
    const total = ip.totalLen;
    const ctx = this.ctx;
    ctx.ifIndex = iface.index;
    ctx.src = src;
    ctx.dst = dst;
    ctx.protocol = ip.protocol;
    ctx.broadcast = false;
    ctx.header = pkt.subarray(0, hl);
    const payload = pkt.subarray(hl, total);
    if (ip.ttl <= 1) {
      drops.ttlExpired++;
      this.icmpError(now, ctx, payload, false, Icmpv4Type.TIME_EXCEEDED, Icmpv4TimeExceeded.TTL);
      return;
    }
    const hop = this.routes.lookup(dst);
    if (hop === undefined) {
      drops.noRoute++;
      this.icmpError(now, ctx, payload, false, Icmpv4Type.DEST_UNREACHABLE, Icmpv4Unreachable.NET);
      return;
    }
    const out = this.ifaces[hop.route.ifIndex];
    if (out === undefined || !out.up) {
      drops.interfaceDown++;
      this.icmpError(now, ctx, payload, false, Icmpv4Type.DEST_UNREACHABLE, Icmpv4Unreachable.NET);
      return;
    }
    const mtu = hop.route.mtu > 0 ? Math.min(hop.route.mtu, out.mtu) : out.mtu;
    if (total > mtu && (rd16(pkt, 6) & DF) !== 0) {
      drops.tooBig++;
      this.icmpError(now, ctx, payload, false, Icmpv4Type.DEST_UNREACHABLE, Icmpv4Unreachable.FRAG_NEEDED, mtu);
      return;
    }
    let mac: Uint8Array | undefined;
    if (out.medium === 'ethernet') {
      const m = this.nextHopMac(out, hop.nextHop, mtu, true, now);
      if (m === ARP_FAILED) {
        this.icmpError(now, ctx, payload, false, Icmpv4Type.DEST_UNREACHABLE, Icmpv4Unreachable.HOST);
        return;
      }
      if (m === ARP_QUEUED) {
        const copy = pkt.slice(0, total);
        decrementTtl4(copy, 0);
        this.queued.packet = copy;
        this.stats.ip.forwarded++;
        return;
      }
      mac = m;
    }
    this.stats.ip.forwarded++;
    if (total <= mtu) {
      const off = out.linkHeaderLen;
      out.tx.set(pkt.subarray(0, total), off);
      decrementTtl4(out.tx, off);
      this.transmit(out, mac, EtherType.IPV4, off + total, now);
      return;
    }
    const scratch = this.scratchBuffer();
    scratch.set(pkt.subarray(0, total), 0);
    decrementTtl4(scratch, 0);
    this.fragmentOut(out, mac, scratch.subarray(0, total), mtu, now);
  }

  /** Whether `a` is the directed broadcast address of one of our subnets. */
  private isSubnetBroadcast(a: number): boolean {
    for (let i = 0; i < this.ifaces.length; i++) {
      const b = this.ifaces[i]?.broadcast ?? 0;
      if (b !== 0 && b === a) return true;
    }
    return false;
  }

  /** UDP and TCP delivery for both families; false for other protocols. */
  private deliverTransport(now: number, ctx: IpInputContext, payload: Uint8Array, reassembled: boolean): boolean {
    switch (ctx.protocol) {
      case IpProtocol.UDP:
        this.udpInput(ctx, payload, reassembled, now);
        return true;
      case IpProtocol.TCP:
        if (this.tcp === undefined) this.stats.drops.noHandler++;
        else this.tcp.input(now, ctx, payload);
        return true;
      default:
        return false;
    }
  }

  private reassemblyTick(now: number): void {
    const rs = this.reassembler.stats;
    const before = rs.timedOut;
    const expired = this.reassembler.poll(now);
    this.stats.drops.reassembly += rs.timedOut - before;
    for (const e of expired) {
      // RFC 792 / RFC 1122 §3.3.2: time exceeded (code 1) only when fragment zero arrived.
      const first = e.firstHeader;
      if (first === undefined || !this.isLocalAddress(e.dst)) continue;
      const hl = ((first[0] as number) & 0x0f) * 4;
      if (hl < IPV4_HLEN || hl > first.length) continue;
      const ctx = this.ctx;
      ctx.src = e.src;
      ctx.dst = e.dst;
      ctx.protocol = first[9] as number;
      ctx.broadcast = false;
      ctx.header = first.subarray(0, hl);
      this.icmpError(now, ctx, first.subarray(hl), false, Icmpv4Type.TIME_EXCEEDED, Icmpv4TimeExceeded.REASSEMBLY);
    }
    this.arm(this.reassemblyTimer, this.reassembler.pollAt());
  }

  // ---------------------------------------------------------------- ICMP

  private icmpInput(ctx: InputContext, payload: Uint8Array, now: number): void {
    this.stats.icmp.in++;
    const m = parseIcmpv4(payload, ctx.checksumVerified);
    if (isFault(m)) {
      this.countFault(m);
      return;
    }
    switch (m.kind) {
      case 'echo-request': {
        this.stats.icmp.echoRequestsIn++;
        if (ctx.broadcast) return; // RFC 1122 §3.2.2.6 allows ignoring broadcast echo requests; so do we
        const reply = { kind: 'echo-reply' as const, ident: m.ident, seq: m.seq, data: m.data };
        const r = this.sendIp(now, {
          src: ctx.dst, dst: ctx.src, protocol: IpProtocol.ICMP, tos: ctx.tos,
          payloadLen: 8 + m.data.length, payloadWriter: (out) => emitIcmpv4(reply, out),
        });
        if (r === 0) {
          this.stats.icmp.out++;
          this.stats.icmp.echoRepliesOut++;
        }
        return;
      }
      case 'echo-reply': {
        this.stats.icmp.echoRepliesIn++;
        if (m.ident !== this.pingIdent) return;
        const entry = this.pings.get(m.seq);
        if (entry === undefined || (entry.dst !== ctx.src && entry.dst !== IPV4_BROADCAST)) return;
        const d = m.data;
        let same = d.length === entry.data.length;
        for (let i = 0; same && i < d.length; i++) same = d[i] === entry.data[i];
        this.finishPing(entry, { seq: entry.seq, code: 0, rttMs: now - entry.sentAt, from: ctx.src, ttl: ctx.ttl, bytes: d.length, dataMatches: same });
        return;
      }
      case 'dest-unreachable':
      case 'time-exceeded': {
        this.stats.icmp.errorsIn++;
        const q = parseIpv4Quoted(m.data);
        if (isFault(q)) {
          this.countFault(q);
          return;
        }
        const qsrc = ip4FromBytes(q.src);
        const qdst = ip4FromBytes(q.dst);
        if (!this.isLocalAddress(qsrc)) {
          this.stats.drops.martian++; // quotes a datagram we did not send
          return;
        }
        const type = m.kind === 'dest-unreachable' ? Icmpv4Type.DEST_UNREACHABLE : Icmpv4Type.TIME_EXCEEDED;
        this.deliverError(now, {
          source: 'icmp', family: 4, src6: EMPTY, dst6: EMPTY, reporter6: EMPTY, type, code: m.code, nextHopMtu: m.kind === 'dest-unreachable' ? m.nextHopMtu : 0,
          reporter: ctx.src, src: qsrc, dst: qdst, protocol: q.protocol, transport: m.data.subarray(ipv4HeaderLen(q)),
        });
        return;
      }
      default:
        return; // other types (redirect, timestamp, ...): not handled
    }
  }

  /**
   * Sends an ICMP error about a received datagram (`ctx` describes it; `payload` is its
   * whole payload), unless RFC 1122 §3.2.2 forbids it or the rate limit refuses.
   * `nextHopMtu`: for fragmentation needed (RFC 1191).
   */
  private icmpError(now: number, ctx: InputContext, payload: Uint8Array, reassembled: boolean, type: number, code: number, nextHopMtu = 0): void {
    const src = ctx.src;
    if (ctx.broadcast || src === 0 || src === IPV4_BROADCAST || isMulticastAddr(src) || isMulticastAddr(ctx.dst)) return;
    const hdr = ctx.header;
    if ((rd16(hdr, 6) & 0x1fff) !== 0 && !reassembled) return; // not the first fragment
    if (ctx.protocol === IpProtocol.ICMP && (payload.length < 1 || isIcmpv4ErrorType(payload[0] as number))) return;
    if (!this.icmpBucket.take(now)) {
      this.stats.icmp.rateLimited++;
      return;
    }
    const hl = hdr.length;
    const room = ICMPV4_ERROR_MAX_DATAGRAM_LEN - IPV4_HLEN - 8 - hl;
    const quoteData = payload.subarray(0, Math.max(0, Math.min(payload.length, room)));
    const quote = new Uint8Array(hl + quoteData.length);
    quote.set(hdr);
    quote.set(quoteData, hl);
    if (reassembled) {
      // Quote the reassembled datagram: its real total length, no fragment fields.
      wr16(quote, 2, Math.min(0xffff, hl + payload.length));
      wr16(quote, 6, rd16(quote, 6) & DF);
      wr16(quote, 10, 0);
      wr16(quote, 10, foldChecksum(onesSum(quote, 0, hl)));
    }
    const msg = type === Icmpv4Type.DEST_UNREACHABLE
      ? { kind: 'dest-unreachable' as const, code, nextHopMtu, data: quote }
      : { kind: 'time-exceeded' as const, code, data: quote };
    const r = this.sendIp(now, {
      src: this.isLocalAddress(ctx.dst) ? ctx.dst : 0, dst: src, protocol: IpProtocol.ICMP,
      payloadLen: 8 + quote.length, payloadWriter: (out) => emitIcmpv4(msg, out),
    });
    if (r === 0) {
      this.stats.icmp.out++;
      this.stats.icmp.errorsOut++;
    }
  }

  /** A forwarded datagram (TTL already decremented) whose next hop did not answer ARP: ICMP host unreachable to its source (RFC 1812 §4.3.3.1). */
  private forwardUnreachable(now: number, packet: Uint8Array): void {
    const hl = ((packet[0] as number) & 0x0f) * 4;
    const ctx = this.ctx;
    ctx.ifIndex = -1;
    ctx.src = ip4FromBytes(packet, 12);
    ctx.dst = ip4FromBytes(packet, 16);
    ctx.protocol = packet[9] as number;
    ctx.broadcast = false;
    ctx.header = packet.subarray(0, hl);
    this.icmpError(now, ctx, packet.subarray(hl), false, Icmpv4Type.DEST_UNREACHABLE, Icmpv4Unreachable.HOST);
  }

  /** A datagram of ours was dropped locally (ARP failed): report it like an ICMP host unreachable. */
  private localUnreachable(now: number, packet: Uint8Array): void {
    if (packet.length < IPV4_HLEN) return;
    const hl = ((packet[0] as number) & 0x0f) * 4;
    this.deliverError(now, {
      source: 'local', family: 4, src6: EMPTY, dst6: EMPTY, reporter6: EMPTY, type: Icmpv4Type.DEST_UNREACHABLE, code: Icmpv4Unreachable.HOST, nextHopMtu: 0, reporter: 0,
      src: ip4FromBytes(packet, 12), dst: ip4FromBytes(packet, 16), protocol: packet[9] as number,
      transport: packet.subarray(hl, Math.min(packet.length, hl + 64)),
    });
  }

  /** Routes an error about one of our datagrams to whoever sent it. */
  private deliverError(now: number, e: IcmpErrorInfo): void {
    const t = e.transport;
    const v6 = e.family === 6;
    switch (e.protocol) {
      case IpProtocol.UDP: {
        if (t.length < 4) return;
        const srcPort = rd16(t, 0);
        const dstPort = rd16(t, 2);
        for (const pcb of this.udpPorts.onPort(srcPort)) {
          if (!pcb.connected || pcb.remotePort !== dstPort) continue;
          if (v6) {
            if (pcb.family !== 6 || (!isUnspecified(pcb.localAddr6) && !ipv6EqualAt(pcb.localAddr6, e.src6)) || !ipv6EqualAt(pcb.remoteAddr6, e.dst6)) continue;
          } else if (pcb.family === 6) {
            if (!isIpv4Mapped(pcb.remoteAddr6) || ip4FromBytes(pcb.remoteAddr6, 12) !== e.dst) continue;
          } else if ((pcb.localAddr !== 0 && pcb.localAddr !== e.src) || pcb.remoteAddr !== e.dst) continue;
          const code = e.source === 'local' ? IOT_SOCKET_ERROR : v6 ? udp6ErrorCode(e.type, e.code) : udpErrorCode(e.type, e.code);
          if (code === 0) return;
          pcb.error = code;
          this.markChanged(pcb);
          return;
        }
        return;
      }
      case IpProtocol.TCP:
        this.tcp?.onIcmpError?.(now, e);
        return;
      case IpProtocol.ICMP:
      case IPV6_ICMP: {
        const echo = v6 ? ICMPV6_ECHO_REQUEST : Icmpv4Type.ECHO_REQUEST;
        if (e.protocol !== (v6 ? IPV6_ICMP : IpProtocol.ICMP)) return;
        if (t.length < 8 || t[0] !== echo || rd16(t, 4) !== this.pingIdent) return;
        const entry = this.pings.get(rd16(t, 6));
        if (entry === undefined) return;
        if (v6 ? entry.dst6 === undefined || !ipv6EqualAt(entry.dst6, e.dst6) : entry.dst6 !== undefined || (entry.dst !== e.dst && entry.dst !== IPV4_BROADCAST)) return;
        this.finishPing(entry, {
          seq: entry.seq, code: IOT_SOCKET_ERROR, rttMs: now - entry.sentAt, from: e.reporter, ttl: 0, bytes: 0, dataMatches: false,
          icmpType: e.type, icmpCode: e.code, from6: v6 && e.reporter6.length === 16 ? e.reporter6.slice() : undefined,
        });
        return;
      }
    }
  }

  // ---------------------------------------------------------------- ping

  /**
   * Sends an ICMP (or, to an IPv6 destination, ICMPv6) echo request to `dst` (uint32,
   * text, or 16 bytes). Returns 0 (the result is passed to `done` after a later poll:
   * reply, `ETIMEDOUT` after `timeoutMs`, or `ERROR` on an ICMP error / resolution
   * failure), or a negative code at once: `EINVAL` (bad size or TTL), `ENOMEM` (too many
   * pings in flight), `ERROR` (no route, ...). Echo data beyond the path MTU is sent
   * fragmented.
   */
  ping(now: number, dst: number | string | Uint8Array, opts: PingOptions = {}, done?: (r: PingResult) => void): number {
    let to = 0;
    let to6: Uint8Array | undefined;
    if (typeof dst === 'number') to = dst >>> 0;
    else if (typeof dst === 'string') {
      if (dst.includes(':')) to6 = toIpv6(dst);
      else to = toIpv4(dst);
    } else if (dst.length === 16) to6 = dst.slice();
    else if (dst.length === 4) to = ip4FromBytes(dst);
    else return IOT_SOCKET_EINVAL;
    const hlen = to6 !== undefined ? 40 : IPV4_HLEN;
    let data = opts.data;
    if (data === undefined) {
      const size = opts.size ?? 56;
      if (!Number.isInteger(size) || size < 0 || size > 0xffff - hlen - 8) return IOT_SOCKET_EINVAL;
      data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = (i + 8) & 0xff;
    } else {
      data = data.slice();
      if (data.length > 0xffff - hlen - 8) return IOT_SOCKET_EINVAL;
    }
    if (this.pings.size >= this.maxPings) return IOT_SOCKET_ENOMEM;
    let seq = this.pingSeq;
    for (let i = 0; this.pings.has(seq) && i < 0x10000; i++) seq = (seq + 1) & 0xffff;
    this.pingSeq = (seq + 1) & 0xffff;
    const entry = new PingEntry(this, seq, to, data, now, done);
    entry.dst6 = to6;
    this.pings.set(seq, entry);
    let r: number;
    if (to6 !== undefined) {
      r = this.ipv6.sendIcmp(now, { kind: 'echo-request', ident: this.pingIdent, seq, data }, to6, undefined, {
        ifIndex: opts.ifIndex, ...(opts.ttl !== undefined ? { hopLimit: opts.ttl } : {}),
      });
      if (r === 0) this.stats.icmp6.echoRequestsOut++;
    } else {
      const req = { kind: 'echo-request' as const, ident: this.pingIdent, seq, data };
      r = this.sendIp(now, {
        dst: to, protocol: IpProtocol.ICMP, payloadLen: 8 + data.length, payloadWriter: (out) => emitIcmpv4(req, out),
        ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}),
        ...(opts.dontFragment === true ? { dontFragment: true } : {}),
      });
      if (r === 0) {
        this.stats.icmp.out++;
        this.stats.icmp.echoRequestsOut++;
      }
    }
    if (r !== 0) {
      this.pings.delete(seq);
      return r;
    }
    this.arm(entry, now + Math.max(0, opts.timeoutMs ?? 1000));
    return 0;
  }

  /** An ICMPv6 echo reply (from the IPv6 layer). */
  private echoReply6(now: number, ident: number, seq: number, from: Uint8Array, hopLimit: number, d: Uint8Array): void {
    if (ident !== this.pingIdent) return;
    const entry = this.pings.get(seq);
    if (entry === undefined || entry.dst6 === undefined) return;
    // A reply to a multicast ping comes from a unicast address.
    if (entry.dst6[0] !== 0xff && !ipv6EqualAt(entry.dst6, from)) return;
    let same = d.length === entry.data.length;
    for (let i = 0; same && i < d.length; i++) same = d[i] === entry.data[i];
    this.finishPing(entry, { seq, code: 0, rttMs: now - entry.sentAt, from: 0, from6: from.slice(), ttl: hopLimit, bytes: d.length, dataMatches: same });
  }

  /** Pings waiting for a reply. */
  get pingsInFlight(): number {
    return this.pings.size;
  }

  /** @internal */
  finishPing(entry: PingEntry, result: PingResult): void {
    if (this.pings.get(entry.seq) !== entry) return;
    this.pings.delete(entry.seq);
    this.timers.cancel(entry);
    if (entry.done !== undefined) {
      this.completions.push({ entry, result });
      if (!this.inPoll) this.emitWake();
    }
  }

  // ---------------------------------------------------------------- UDP

  /**
   * A new UDP PCB, unbound: `family` 4, or 6 (IPv6; dual-stack unless `pcb.v6Only` is set
   * before binding). `ENOMEM` when `maxUdpPcbs` are open.
   */
  udpOpen(family: 4 | 6 = 4): UdpPcb | number {
    if (family !== 4 && family !== 6) return IOT_SOCKET_ENOTSUP;
    if (this.closed || this.udpPcbs.size >= this.maxUdpPcbs) return IOT_SOCKET_ENOMEM;
    const pcb = new UdpPcb(this.nextPcbId++, family);
    this.udpPcbs.add(pcb);
    this.requestPoll(); // the runner re-checks whether sockets keep the process alive
    return pcb;
  }

  /**
   * Binds to `address` (IPv4 PCB: uint32, 0 = any; IPv6 PCB: 16 bytes, `::` = any; else
   * one of our addresses) and `port` (0 = an ephemeral port). `0`, `EINVAL` (closed,
   * already bound, address not local or of the other family), `EADDRINUSE`.
   */
  udpBind(pcb: UdpPcb, address: number | Uint8Array, port: number): number {
    if (pcb.closed || pcb.localPort !== 0) return IOT_SOCKET_EINVAL;
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) return IOT_SOCKET_EINVAL;
    let a: number | Uint8Array;
    if (pcb.family === 6) {
      if (typeof address === 'number' || address.length !== 16) return IOT_SOCKET_EINVAL;
      if (!isUnspecified(address) && !this.ipv6.isLocal(address)) return IOT_SOCKET_EINVAL;
      a = address;
    } else {
      if (typeof address !== 'number') return IOT_SOCKET_EINVAL;
      a = address >>> 0;
      if (a !== 0 && !this.isLocalAddress(a)) return IOT_SOCKET_EINVAL;
    }
    if (port === 0) return this.udpPorts.bindEphemeral(pcb, a, this.rng) ? 0 : IOT_SOCKET_EADDRINUSE;
    return this.udpPorts.bind(pcb, a, port) ? 0 : IOT_SOCKET_EADDRINUSE;
  }

  /**
   * Ties an unbound PCB to an interface (`undefined` unties it), as `SO_BINDTODEVICE`:
   * it receives only datagrams that arrived on that interface, its datagrams to
   * 255.255.255.255 leave there (from 0.0.0.0 while the interface has no address: DHCP),
   * IPv6 link-local and multicast destinations are sent there, and PCBs tied to
   * different interfaces may bind the same address and port. `0`, or `EINVAL` (closed,
   * already bound, no such interface).
   */
  udpBindToInterface(pcb: UdpPcb, ifIndex: number | undefined): number {
    if (pcb.closed || pcb.localPort !== 0) return IOT_SOCKET_EINVAL;
    if (ifIndex !== undefined && this.ifaces[ifIndex] === undefined) return IOT_SOCKET_EINVAL;
    pcb.ifIndex = ifIndex ?? -1;
    return 0;
  }

  /**
   * Sets the default destination and receive filter (`address` 0 or `::` clears both;
   * an IPv6 PCB takes 16 bytes, IPv4-mapped for an IPv4 peer of a dual-stack PCB).
   * Binds an unbound PCB to an ephemeral port. Clears a pending error. `0`,
   * `EADDRINUSE` (no free port), `EINVAL` (port 0 with an address, wrong family),
   * `ERROR` (closed).
   */
  udpConnect(pcb: UdpPcb, address: number | Uint8Array, port: number): number {
    if (pcb.closed) return IOT_SOCKET_ERROR;
    pcb.error = 0;
    if (pcb.family === 6) {
      if (typeof address === 'number' || address.length !== 16) return IOT_SOCKET_EINVAL;
      if (isUnspecified(address)) {
        pcb.remoteAddr6 = ANY16;
        pcb.remotePort = 0;
        return 0;
      }
    } else {
      if (typeof address !== 'number') return IOT_SOCKET_EINVAL;
      if (address >>> 0 === 0) {
        pcb.remoteAddr = 0;
        pcb.remotePort = 0;
        return 0;
      }
    }
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) return IOT_SOCKET_EINVAL;
    if (pcb.localPort === 0 && !this.udpPorts.bindEphemeral(pcb, pcb.family === 6 ? ANY16 : 0, this.rng)) return IOT_SOCKET_EADDRINUSE;
    if (typeof address === 'number') pcb.remoteAddr = address >>> 0;
    else pcb.remoteAddr6 = address.slice(0, 16);
    pcb.remotePort = port;
    return 0;
  }

  /**
   * Sends one datagram of `len` bytes of `data` (copied into the frame at once) to
   * `dst:dstPort` (uint32 for IPv4 PCBs; 16 bytes for IPv6 ones, IPv4-mapped addresses
   * going out over IPv4 from a dual-stack PCB), or to the connected destination. Binds
   * an unbound PCB (ephemeral port). Returns `len`, or: a pending error (`ECONNREFUSED`,
   * `ERROR`; reported once), `ENOTCONN` (no destination), `EINVAL` (too big, port 0,
   * wrong family), `ERROR` (closed, no route, interface down, next hop unreachable),
   * `EADDRINUSE` (no port). IPv4 broadcast destinations are allowed.
   */
  udpSendTo(now: number, pcb: UdpPcb, data: Uint8Array, len: number = data.length, dst?: number | Uint8Array, dstPort?: number): number {
    if (pcb.closed) return IOT_SOCKET_ERROR;
    if (pcb.error !== 0) {
      const e = pcb.error;
      pcb.error = 0;
      return e;
    }
    let to: number | Uint8Array;
    let toPort: number;
    if (dst !== undefined) {
      to = dst;
      toPort = dstPort ?? 0;
    } else if (pcb.connected) {
      to = pcb.family === 6 ? pcb.remoteAddr6 : pcb.remoteAddr;
      toPort = pcb.remotePort;
    } else {
      return IOT_SOCKET_ENOTCONN;
    }
    if (!Number.isInteger(toPort) || toPort < 1 || toPort > 0xffff) return IOT_SOCKET_EINVAL;
    // An IPv6 PCB sends to IPv4-mapped destinations over IPv4 (dual stack).
    let to4 = 0;
    let to6: Uint8Array | undefined;
    if (pcb.family === 6) {
      if (typeof to === 'number' || to.length !== 16) return IOT_SOCKET_EINVAL;
      if (isIpv4Mapped(to)) {
        if (pcb.v6Only) return IOT_SOCKET_EINVAL;
        to4 = ip4FromBytes(to, 12);
      } else to6 = to;
    } else {
      if (typeof to !== 'number') return IOT_SOCKET_EINVAL;
      to4 = to >>> 0;
    }
    const max = to6 !== undefined ? 0xffff - UDP_HEADER_LEN : MAX_UDP4_PAYLOAD;
    if (!Number.isInteger(len) || len < 0 || len > max || len > data.length) return IOT_SOCKET_EINVAL;
    if (pcb.localPort === 0 && !this.udpPorts.bindEphemeral(pcb, pcb.family === 6 ? ANY16 : 0, this.rng)) return IOT_SOCKET_EADDRINUSE;
    this.udpData = data;
    this.udpLen = len;
    this.udpSrcPort = pcb.localPort;
    this.udpDstPort = toPort;
    let r: number;
    if (to6 !== undefined) {
      const p = this.udpSend6;
      p.src = isUnspecified(pcb.localAddr6) ? undefined : pcb.localAddr6;
      p.dst = to6;
      p.ifIndex = pcb.ifIndex >= 0 ? pcb.ifIndex : undefined;
      p.payloadLen = UDP_HEADER_LEN + len;
      r = this.sendIp6(now, p);
    } else {
      const p = this.udpSend;
      p.src = pcb.localAddr;
      p.dst = to4;
      p.ifIndex = pcb.ifIndex >= 0 ? pcb.ifIndex : undefined;
      p.payloadLen = UDP_HEADER_LEN + len;
      r = this.sendIp(now, p);
    }
    this.udpData = EMPTY;
    if (r < 0 && r !== IOT_SOCKET_EAGAIN) return r; // EAGAIN: the link dropped it, as a wire would
    pcb.stats.sent++;
    this.stats.udp.txDatagrams++;
    return len;
  }

  /**
   * Receives one datagram into `buf` (at most `len` bytes; the rest of a longer datagram
   * is discarded). `from` gets the source (`address6` too on IPv6 PCBs). Returns the
   * bytes stored, `EAGAIN` (nothing queued), a pending error (once), `ERROR` (closed).
   * `len` 0 is a readiness poll: `0` when a datagram is queued (nothing consumed).
   */
  udpRecvFrom(pcb: UdpPcb, buf: Uint8Array, len: number = buf.length, from?: { address: number; port: number; address6?: Uint8Array | undefined }): number {
    if (pcb.closed) return IOT_SOCKET_ERROR;
    if (pcb.error !== 0) {
      const e = pcb.error;
      pcb.error = 0;
      return e;
    }
    if (len === 0) return pcb.queued > 0 ? 0 : IOT_SOCKET_EAGAIN;
    const d = pcb.dequeue();
    if (d === undefined) return IOT_SOCKET_EAGAIN;
    const n = Math.min(len, buf.length, d.data.length);
    buf.set(n === d.data.length ? d.data : d.data.subarray(0, n), 0);
    if (from !== undefined) {
      from.address = d.src;
      from.port = d.srcPort;
      if (pcb.family === 6) from.address6 = d.src6;
    }
    return n;
  }

  /** Closes a PCB: its port is released, its queue dropped. Idempotent. */
  udpClose(pcb: UdpPcb): void {
    if (pcb.closed) return;
    pcb.closed = true;
    this.udpPorts.unbind(pcb);
    pcb.ifIndex = -1;
    pcb.clearQueue();
    pcb.onChange = undefined;
    pcb.remoteAddr = 0;
    pcb.remoteAddr6 = ANY16;
    pcb.remotePort = 0;
    this.udpPcbs.delete(pcb);
    this.changed.delete(pcb);
    this.requestPoll(); // the runner re-checks whether sockets keep the process alive
  }

  /** UDP PCBs open (for leak checks). */
  get udpOpenCount(): number {
    return this.udpPcbs.size;
  }

  private udpInput(ctx: IpInputContext, payload: Uint8Array, reassembled: boolean, now: number): void {
    const fault = checkUdp(payload);
    if (fault !== undefined) {
      this.countFault(fault);
      return;
    }
    const len = rd16(payload, 4);
    const v6 = ctx.family === 6;
    if (!ctx.checksumVerified) {
      if (v6) {
        // RFC 8200 §8.1: the checksum is mandatory; a zero checksum is invalid.
        if (rd16(payload, 6) === 0 || foldChecksum(onesSum(payload, 0, len, pseudoHeaderSumV6(ctx.src6, ctx.dst6, IpProtocol.UDP, len))) !== 0) {
          this.stats.drops.badChecksum++;
          return;
        }
      } else if (rd16(payload, 6) !== 0 && foldChecksum(onesSum(payload, 0, len, pseudoSum(ctx.src, ctx.dst, IpProtocol.UDP, len))) !== 0) {
        this.stats.drops.badChecksum++;
        return;
      }
    }
    const srcPort = rd16(payload, 0);
    const dstPort = rd16(payload, 2);
    if (dstPort === 0) {
      this.stats.drops.malformed++;
      return;
    }
    this.stats.udp.rxDatagrams++;
    const list = this.udpPorts.onPort(dstPort);
    let delivered = false;
    if (ctx.broadcast) {
      // Broadcasts (IPv6: multicasts) go to every PCB bound to the wildcard on that port
      // (Linux semantics: a PCB bound to a unicast address does not see them).
      for (let i = 0; i < list.length; i++) {
        const pcb = list[i] as UdpPcb;
        if (!this.udpWildcardMatch(pcb, ctx)) continue;
        delivered = true;
        this.udpDeliver(pcb, ctx, payload, len, srcPort, false);
      }
      if (!delivered) this.stats.drops.noPcb++;
      return;
    }
    for (let i = 0; i < list.length; i++) {
      const pcb = list[i] as UdpPcb;
      if (pcb.ifIndex >= 0 && pcb.ifIndex !== ctx.ifIndex) continue;
      if (v6) {
        if (pcb.family !== 6 || (!isUnspecified(pcb.localAddr6) && !ipv6EqualAt(pcb.localAddr6, ctx.dst6))) continue;
      } else if (pcb.family === 6) {
        if (!pcb.dualStack) continue;
      } else if (pcb.localAddr !== 0 && pcb.localAddr !== ctx.dst) continue;
      this.udpDeliver(pcb, ctx, payload, len, srcPort, reassembled);
      return;
    }
    this.stats.drops.noPcb++;
    if (v6) this.ipv6.portUnreachable(now);
    else this.icmpError(now, ctx as InputContext, payload, reassembled, Icmpv4Type.DEST_UNREACHABLE, Icmpv4Unreachable.PORT);
  }

  /** Whether a broadcast (IPv6: multicast) datagram reaches `pcb`: a wildcard PCB of the family (or dual stack), on the interface. */
  private udpWildcardMatch(pcb: UdpPcb, ctx: IpInputContext): boolean {
    if (pcb.ifIndex >= 0 && pcb.ifIndex !== ctx.ifIndex) return false;
    if (ctx.family === 6) return pcb.family === 6 && isUnspecified(pcb.localAddr6);
    return pcb.family === 4 ? pcb.localAddr === 0 : pcb.dualStack;
  }

  /** `own`: `payload` is the stack's own buffer (reassembled), so the datagram can keep a view instead of a copy. */
  private udpDeliver(pcb: UdpPcb, ctx: IpInputContext, payload: Uint8Array, len: number, srcPort: number, own: boolean): void {
    let src6: Uint8Array | undefined;
    if (pcb.family === 6) src6 = ctx.family === 6 ? ctx.src6 : ipv4Mapped(ip4ToBytes(ctx.src));
    if (pcb.connected) {
      const match = pcb.family === 6 ? ipv6EqualAt(pcb.remoteAddr6, src6 as Uint8Array) : pcb.remoteAddr === ctx.src;
      if (!match || pcb.remotePort !== srcPort) {
        pcb.stats.filtered++;
        this.stats.udp.filtered++;
        return;
      }
    }
    const data = own ? payload.subarray(UDP_HEADER_LEN, len) : payload.slice(UDP_HEADER_LEN, len);
    const d = { data, src: ctx.src, srcPort, dst: ctx.dst, src6: src6 !== undefined && ctx.family === 6 ? src6.slice() : src6 };
    if (!pcb.enqueue(d, this.udpQueueDatagrams, this.udpQueueBytes)) {
      this.stats.drops.queueFull++;
      return;
    }
    if (pcb.onChange !== undefined) this.markChanged(pcb);
  }

  // ---------------------------------------------------------------- helpers

  private emitWake(): void {
    for (const w of this.wakes) w();
  }

  /** Schedules a stack timer; outside a poll, asks for a poll so the runner re-reads `pollAt`. */
  private arm(timer: StackTimer, at: number | undefined): void {
    const before = timer.deadline;
    this.timers.schedule(timer, at);
    if (!this.inPoll && timer.deadline !== before) this.emitWake();
  }

  private deliverNotifications(): void {
    if (this.changed.size > 0) {
      const batch = this.changed;
      this.changed = this.spareChanged;
      for (const t of batch) {
        const cb = t.onChange;
        if (cb === undefined) continue;
        try {
          cb();
        } catch (error) {
          this.stats.callbackErrors++;
          this.lastCallbackError = error;
        }
      }
      batch.clear();
      this.spareChanged = batch;
    }
    if (this.completions.length > 0) {
      const done = this.completions;
      this.completions = [];
      for (const { entry, result } of done) {
        try {
          entry.done?.(result);
        } catch (error) {
          this.stats.callbackErrors++;
          this.lastCallbackError = error;
        }
      }
    }
  }

  private ifaceByAddress(addr: number): NetInterface | undefined {
    if (addr === 0) return undefined;
    for (let i = 0; i < this.ifaces.length; i++) {
      const iface = this.ifaces[i];
      if (iface !== undefined && iface.address === addr) return iface;
    }
    return undefined;
  }

  private firstUp(): NetInterface | undefined {
    for (const iface of this.ifaces) if (iface !== undefined && iface.up) return iface;
    return undefined;
  }

  private mustIface(ifIndex: number): NetInterface {
    const iface = this.ifaces[ifIndex];
    if (iface === undefined) throw new RangeError(`no interface ${ifIndex}`);
    return iface;
  }

  /** Text form of a stack address, for diagnostics. */
  static format(addr: number): string {
    return ip4ToString(addr >>> 0);
  }
}

function reassemblyDrops(s: ReassemblyStats): number {
  return s.overlaps + s.malformed + s.oversize + s.evicted;
}
