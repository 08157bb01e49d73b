/**
 * A datagram `CoreSocket` over a UDP PCB of the userspace `Stack`.
 *
 * Same semantics as the host backend's UDP socket (`../host/host-udp-socket.ts`, spec
 * iot-socket-api.md §9):
 * - `connect` and `send` to a destination bind an unbound socket implicitly to a random
 *   port of 49152-65535 (RFC 6056 Algorithm 1, the stack's `Rng`); an unbound socket
 *   receives nothing (`recv` says `EAGAIN`) and `recv` does not bind it.
 * - `connect` sets the default destination and the receive filter (other sources are
 *   dropped silently); a new `connect` replaces both, `connect` to 0.0.0.0 clears both.
 * - One `recv` consumes one datagram; bytes beyond `len` are discarded. `len == 0` polls.
 * - Sends are atomic and synchronous: the datagram is built in the interface's frame
 *   buffer and handed to the link (or queued for ARP) inside `send`; up to 65507 bytes
 *   (fragmented to the path MTU), more is `EINVAL`. A send never says `EAGAIN`; a frame
 *   the link refuses is lost like a frame lost on the wire (counted in `stack.stats`).
 * - Broadcasts (255.255.255.255 and directed broadcasts) may be sent and received
 *   (as `SO_BROADCAST` on the host backend); a socket bound to a unicast address does
 *   not receive broadcasts (Linux semantics).
 * - Errors from the network, on a connected socket only: an ICMP port (or protocol)
 *   unreachable from the destination makes the next `recv` or `send` return
 *   `ECONNREFUSED`, once; "hard" ICMP unreachable codes and a failed ARP resolution of
 *   the destination give `ERROR`, once (soft errors are ignored, as Linux does).
 * - Readiness: the stack calls the change callback after the poll in which a datagram
 *   or an error arrived (never from inside the poll).
 * - IPv6 (`af` 2): 16-byte addresses, v6-only as on the host backend (IPv4 and IPv6 are
 *   separate port spaces), up to 65527 bytes per datagram (fragmented to the path MTU);
 *   ICMPv6 port unreachable and hard errors as for IPv4.
 */
import type { Af, CoreSocket, Endpoint, RecvInfo } from '../contract.ts';
import { IOT_SOCKET_EAGAIN, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOTCONN, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR } from '../../base/iot-constants.ts';
import { ip4FromBytes, ip4ToBytes } from '../../stack/ipv4-addr.ts';
import { MAX_UDP4_PAYLOAD, type Stack } from '../../stack/stack.ts';
import type { UdpPcb } from '../../stack/udp.ts';

/** What a socket needs from its backend. */
export interface UserspaceEnv {
  readonly stack: Stack;
  /** The runner's clock. */
  now(): number;
  /** The socket closed: forget it. */
  released(socket: CoreSocket): void;
}

/** Largest UDP payload over IPv6 without jumbograms: 65535 - 8. */
const MAX_UDP6_PAYLOAD = 65527;

export class UserspaceUdpSocket implements CoreSocket {
  readonly af: Af;
  readonly type = 2 as const;
  private readonly env: UserspaceEnv;
  private readonly pcb: UdpPcb;
  private readonly from: { address: number; port: number; address6?: Uint8Array | undefined } = { address: 0, port: 0 };
  private closed = false;

  /** `pcb` of family 4 (`af` 1) or 6 (`af` 2). */
  constructor(env: UserspaceEnv, pcb: UdpPcb) {
    this.env = env;
    this.pcb = pcb;
    this.af = pcb.family === 6 ? 2 : 1;
    pcb.v6Only = true; // as the host backend: IPv4 and IPv6 are separate port spaces
  }

  private get addrLen(): number {
    return this.af === 2 ? 16 : 4;
  }

  /** The PCB underneath (diagnostics, tests). */
  get udpPcb(): UdpPcb {
    return this.pcb;
  }

  onChange(callback: (() => void) | undefined): void {
    if (!this.closed) this.pcb.onChange = callback;
  }

  bind(address: Uint8Array, port: number): number {
    if (this.closed) return IOT_SOCKET_ERROR;
    if (address.length !== this.addrLen) return IOT_SOCKET_EINVAL;
    return this.env.stack.udpBind(this.pcb, this.af === 2 ? address : ip4FromBytes(address), port);
  }

  listen(): number {
    return IOT_SOCKET_ENOTSUP;
  }

  accept(): number {
    return IOT_SOCKET_ENOTSUP;
  }

  connect(address: Uint8Array, port: number): number {
    if (this.closed) return IOT_SOCKET_ERROR;
    if (address.length !== this.addrLen) return IOT_SOCKET_EINVAL;
    if (this.af === 2) return this.env.stack.udpConnect(this.pcb, address, address.every((b) => b === 0) ? 0 : port);
    const a = ip4FromBytes(address);
    return this.env.stack.udpConnect(this.pcb, a, a === 0 ? 0 : port);
  }

  connectResult(): number {
    return this.pcb.connected ? 0 : IOT_SOCKET_ENOTCONN;
  }

  recv(buf: Uint8Array, len: number, from?: RecvInfo): number {
    if (this.closed) return IOT_SOCKET_ERROR;
    const info = this.from;
    const r = this.env.stack.udpRecvFrom(this.pcb, buf, len, info);
    if (r >= 0 && len > 0 && from !== undefined) {
      from.address = this.af === 2 ? (info.address6 ?? new Uint8Array(16)).slice() : ip4ToBytes(info.address);
      from.port = info.port;
    }
    return r;
  }

  send(buf: Uint8Array, len: number, to?: Endpoint): number {
    if (this.closed) return IOT_SOCKET_ERROR;
    const pcb = this.pcb;
    // A zero-length send is a readiness poll (spec §8): it needs an interface, not a destination.
    if (to === undefined && !pcb.connected && len !== 0) return IOT_SOCKET_ENOTCONN;
    if (len > (this.af === 2 ? MAX_UDP6_PAYLOAD : MAX_UDP4_PAYLOAD)) return IOT_SOCKET_EINVAL;
    if (len === 0) return this.env.stack.anyInterfaceUp ? 0 : IOT_SOCKET_EAGAIN;
    if (to !== undefined && to.address.length !== this.addrLen) return IOT_SOCKET_EINVAL;
    const stack = this.env.stack;
    if (to === undefined) return stack.udpSendTo(this.env.now(), pcb, buf, len);
    return stack.udpSendTo(this.env.now(), pcb, buf, len, this.af === 2 ? to.address : ip4FromBytes(to.address), to.port);
  }

  shutdown(): number {
    return IOT_SOCKET_ENOTSUP;
  }

  /** Datagram sockets have no peer that closes. */
  peerClosed(): boolean {
    return false;
  }

  localEndpoint(): Endpoint | undefined {
    const p = this.pcb;
    if (p.localPort === 0) return undefined;
    return { address: this.af === 2 ? p.localAddr6.slice() : ip4ToBytes(p.localAddr), port: p.localPort };
  }

  remoteEndpoint(): Endpoint | undefined {
    const p = this.pcb;
    if (!p.connected) return undefined;
    return { address: this.af === 2 ? p.remoteAddr6.slice() : ip4ToBytes(p.remoteAddr), port: p.remotePort };
  }

  setKeepAlive(): number {
    return 0; // accepted and ignored on datagram sockets (spec §9)
  }

  close(): number {
    if (this.closed) return 0;
    this.closed = true;
    this.env.stack.udpClose(this.pcb);
    this.env.released(this);
    return 0;
  }
}
