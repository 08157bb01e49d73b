/**
 * UDP over the host OS (`node:dgram`), as a non-blocking `CoreSocket`.
 *
 * - AF_INET sockets are `udp4`, AF_INET6 sockets `udp6` with `ipv6Only: true`: an IPv6
 *   socket never sees IPv4 traffic (no IPv4-mapped addresses), and IPv4 and IPv6 are
 *   separate port spaces, as in the backend's port table.
 * - `bind` reserves the port in the backend's UDP table, then binds the OS socket.
 *   `connect` and `send` with a destination bind an unbound socket implicitly to a
 *   random port of 49152-65535 (RFC 6335; RFC 6056 Algorithm 1), replacing a port the
 *   OS refuses a few times. Sends made while that bind is under way are held and go
 *   out once bound. An unbound socket receives nothing (`recv` says `EAGAIN`) and is
 *   not bound by `recv`: nobody could know its port.
 * - dgram's own `connect()` is not used: the default destination and the receive
 *   filter are kept here (spec §9), so a new `connect` replaces both at once and
 *   `connect` to the all-zero address clears both.
 * - The receive queue holds at most `udpQueueDatagrams` datagrams; more are dropped
 *   (counted in `droppedDatagrams`, published on `iotnet:host:drop`).
 * - Sends are atomic: the whole datagram is accepted or `EAGAIN`, while the bytes
 *   handed to the OS and not yet confirmed (dgram.send callbacks) exceed
 *   `sendBufferBytes`. A datagram is always accepted when nothing is in flight.
 * - IPv4 sockets may send to broadcast addresses (`SO_BROADCAST` is set).
 */
import dgram from 'node:dgram';
import type { Af, CoreSocket, Endpoint, RecvInfo } from '../contract.ts';
import {
  IOT_SOCKET_EADDRINUSE,
  IOT_SOCKET_EAGAIN,
  IOT_SOCKET_EINVAL,
  IOT_SOCKET_ENOTCONN,
  IOT_SOCKET_ENOTSUP,
  IOT_SOCKET_ERROR,
} from '../../base/iot-constants.ts';
import { formatIp, ipEquals, ipv4Any, ipv6Any, isUnspecified } from '../../base/ip-address.ts';
import type { Reservation } from '../port-table.ts';
import { addressBytes, callSafely, copyEndpoint, errorCode, isLocalAddress, publish, type HostEnv } from './host-common.ts';

/** Largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
export const MAX_UDP4_PAYLOAD = 65507;
/** Largest UDP payload over IPv6 without jumbograms: 65535 - 8 (the IPv6 header is not counted). */
export const MAX_UDP6_PAYLOAD = 65527;

/** How often an implicit port the OS refuses is replaced before giving up. */
const IMPLICIT_PORT_TRIES = 8;

interface Datagram {
  readonly data: Buffer;
  readonly address: Uint8Array;
  readonly port: number;
}

interface HeldSend {
  readonly data: Buffer;
  readonly to: Endpoint;
}

type BindState = 'unbound' | 'binding' | 'bound';

function bindErrorCode(code: string | undefined): number {
  switch (code) {
    case 'EADDRINUSE':
    case 'EACCES':
      return IOT_SOCKET_EADDRINUSE;
    case 'EADDRNOTAVAIL':
      return IOT_SOCKET_EINVAL;
    default:
      return IOT_SOCKET_ERROR;
  }
}

/** A datagram socket of the host backend. */
export class HostUdpSocket implements CoreSocket {
  readonly af: Af;
  readonly type = 2 as const;

  /** The last Node error seen by this socket (bind or send failure), for diagnostics. */
  lastError: unknown = undefined;
  /** Datagrams dropped because the receive queue was full. */
  droppedDatagrams = 0;
  /** Datagrams dropped by the receive filter (not from the connected peer). */
  filteredDatagrams = 0;
  /** Sends the OS reported as failed (after `send` had accepted them). */
  sendErrors = 0;

  private readonly env: HostEnv;
  private readonly maxPayload: number;
  private callback: (() => void) | undefined;
  private closed = false;

  private reservation: Reservation | undefined;
  private udp: dgram.Socket | undefined;
  private bindState: BindState = 'unbound';
  private binding: Promise<number> | undefined;
  private abortBind: (() => void) | undefined;

  private dest: Endpoint | undefined;
  private readonly queue: Datagram[] = [];
  private held: HeldSend[] = [];
  private inFlight = 0;
  private wantRoom = false;

  constructor(env: HostEnv, af: Af) {
    this.env = env;
    this.af = af;
    this.maxPayload = af === 1 ? MAX_UDP4_PAYLOAD : MAX_UDP6_PAYLOAD;
  }

  onChange(callback: (() => void) | undefined): void {
    this.callback = callback;
  }

  bind(address: Uint8Array, port: number): number | Promise<number> {
    if (this.closed) return IOT_SOCKET_ERROR;
    if (this.reservation !== undefined || this.bindState !== 'unbound') return IOT_SOCKET_EINVAL;
    if (!isLocalAddress(this.af, address)) return IOT_SOCKET_EINVAL;
    const r = this.env.udpPorts.reserve(this.af, address, port);
    if (r === undefined) return IOT_SOCKET_EADDRINUSE;
    this.reservation = r;
    const done = this.osBind(r).then((code) => {
      if (code !== 0 && this.reservation === r) {
        this.env.udpPorts.release(r);
        this.reservation = undefined;
      }
      return code;
    });
    this.binding = done;
    void done.then(() => {
      if (this.binding === done) this.binding = undefined;
    });
    return done;
  }

  listen(): number {
    return IOT_SOCKET_ENOTSUP;
  }

  accept(): number {
    return IOT_SOCKET_ENOTSUP;
  }

  connect(address: Uint8Array, port: number): number | Promise<number> {
    if (this.closed) return IOT_SOCKET_ERROR;
    if (isUnspecified(address)) {
      this.dest = undefined; // clears the default destination and the receive filter
      return 0;
    }
    this.dest = { address: Uint8Array.from(address), port };
    const bound = this.ensureBound();
    if (typeof bound === 'number') {
      if (bound !== 0) this.dest = undefined;
      return bound;
    }
    return bound.then((code) => {
      if (code !== 0 && !this.closed) this.dest = undefined;
      return code;
    });
  }

  connectResult(): number {
    return this.dest !== undefined ? 0 : IOT_SOCKET_ENOTCONN;
  }

  recv(buf: Uint8Array, len: number, from?: RecvInfo): number {
    if (this.closed) return IOT_SOCKET_ERROR;
    const d = this.queue[0];
    if (d === undefined) return IOT_SOCKET_EAGAIN;
    if (len === 0) return 0;
    this.queue.shift();
    const n = Math.min(len, d.data.length); // the rest of the datagram is discarded
    buf.set(d.data.subarray(0, n), 0);
    if (from !== undefined) {
      from.address = d.address;
      from.port = d.port;
    }
    return n;
  }

  send(buf: Uint8Array, len: number, to?: Endpoint): number {
    if (this.closed) return IOT_SOCKET_ERROR;
    const dst = to ?? this.dest;
    // A zero-length send is a readiness poll (spec §8): it needs room, not a destination.
    if (dst === undefined && len !== 0) return IOT_SOCKET_ENOTCONN;
    if (len > this.maxPayload) return IOT_SOCKET_EINVAL;
    const room = this.env.sendBufferBytes - this.inFlight;
    if (len === 0 ? room <= 0 : this.inFlight > 0 && len > room) {
      this.wantRoom = true;
      return IOT_SOCKET_EAGAIN;
    }
    if (len === 0 || dst === undefined) return 0;
    if (this.bindState === 'unbound') {
      const bound = this.ensureBound();
      if (typeof bound === 'number' && bound !== 0) return bound;
    }
    // Buffer.from(Uint8Array) copies: the caller may reuse `buf` at once.
    const data = Buffer.from(buf.subarray(0, len));
    const target: Endpoint = { address: Uint8Array.from(dst.address), port: dst.port };
    this.inFlight += len;
    if (this.bindState !== 'bound') {
      this.held.push({ data, to: target });
      return len;
    }
    return this.transmit(data, target) ? len : IOT_SOCKET_ERROR;
  }

  shutdown(): number {
    return IOT_SOCKET_ENOTSUP;
  }

  /** Datagram sockets have no peer that closes. */
  peerClosed(): boolean {
    return false;
  }

  localEndpoint(): Endpoint | undefined {
    const r = this.reservation;
    return r === undefined ? undefined : { address: Uint8Array.from(r.address), port: r.port };
  }

  remoteEndpoint(): Endpoint | undefined {
    return copyEndpoint(this.dest);
  }

  setKeepAlive(): number {
    return 0; // accepted and ignored on datagram sockets (spec §9)
  }

  close(): number {
    if (this.closed) return 0;
    this.closed = true;
    this.callback = undefined;
    this.abortBind?.();
    const udp = this.udp;
    this.udp = undefined;
    if (udp !== undefined) closeDgram(udp);
    this.queue.length = 0;
    this.held = [];
    this.inFlight = 0;
    this.dest = undefined;
    this.bindState = 'unbound';
    if (this.reservation !== undefined) this.env.udpPorts.release(this.reservation);
    this.reservation = undefined;
    this.env.released(this);
    return 0;
  }

  // ---------------------------------------------------------------- internals

  private notify(): void {
    callSafely(this.env.name, this.callback);
  }

  /** 0 if bound, else the bind under way (explicit or implicit), else starts an implicit bind. */
  private ensureBound(): number | Promise<number> {
    if (this.bindState === 'bound') return 0;
    if (this.binding !== undefined) return this.binding;
    const done = this.implicitBind();
    this.binding = done;
    void done.then((code) => {
      if (this.binding === done) this.binding = undefined;
      if (code !== 0) this.dropHeld();
    });
    return done;
  }

  /** Binds a random dynamic port; the first reservation is made synchronously. */
  private async implicitBind(): Promise<number> {
    const tried = new Set<number>();
    const any = this.af === 1 ? ipv4Any() : ipv6Any();
    let code = IOT_SOCKET_EADDRINUSE;
    while (tried.size < IMPLICIT_PORT_TRIES && !this.closed) {
      const r = this.env.udpPorts.reserveEphemeral(this.af, any, this.env.rng, tried);
      if (r === undefined) return IOT_SOCKET_EADDRINUSE;
      tried.add(r.port);
      this.reservation = r;
      code = await this.osBind(r);
      if (code === 0) return 0;
      if (this.reservation === r) {
        this.env.udpPorts.release(r);
        this.reservation = undefined;
      }
      if (code !== IOT_SOCKET_EADDRINUSE) return code;
    }
    return this.closed ? IOT_SOCKET_ERROR : code;
  }

  /** Creates the dgram socket and binds it to `r`: 0, EADDRINUSE, EINVAL (address not local) or ERROR. */
  private osBind(r: Reservation): Promise<number> {
    let udp: dgram.Socket;
    try {
      udp = dgram.createSocket({ type: this.af === 1 ? 'udp4' : 'udp6', ipv6Only: this.af === 2 });
    } catch (error) {
      this.lastError = error;
      return Promise.resolve(IOT_SOCKET_ERROR);
    }
    this.udp = udp;
    this.bindState = 'binding';
    this.env.track(udp);
    udp.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      if (this.udp === udp) this.onMessage(msg, rinfo);
    });
    return new Promise<number>((resolve) => {
      let settled = false;
      const settle = (code: number): void => {
        if (settled) return;
        settled = true;
        this.abortBind = undefined;
        resolve(code);
      };
      this.abortBind = () => settle(IOT_SOCKET_ERROR);
      // Every 'error' is handled here, also after the bind (the handler stays).
      udp.on('error', (error: Error) => {
        this.lastError = error;
        publish('error', { backend: this.env.name, kind: 'udp', event: settled ? 'socket-error' : 'bind-failed', error, local: `${formatIp(r.address)}:${r.port}` });
        if (settled) return;
        if (this.udp === udp) {
          this.udp = undefined;
          this.bindState = 'unbound';
        }
        closeDgram(udp);
        settle(bindErrorCode(errorCode(error)));
      });
      udp.once('listening', () => {
        if (settled || this.closed || this.udp !== udp) {
          closeDgram(udp);
          settle(IOT_SOCKET_ERROR);
          return;
        }
        this.bindState = 'bound';
        if (this.af === 1) {
          try {
            udp.setBroadcast(true);
          } catch (error) {
            this.lastError = error;
          }
        }
        settle(0);
        this.flushHeld();
      });
      try {
        udp.bind({ address: formatIp(r.address), port: r.port, exclusive: true });
      } catch (error) {
        this.lastError = error;
        if (this.udp === udp) {
          this.udp = undefined;
          this.bindState = 'unbound';
        }
        closeDgram(udp);
        settle(IOT_SOCKET_ERROR);
      }
    });
  }

  /** Hands one datagram to the OS; false if dgram refused it synchronously. */
  private transmit(data: Buffer, to: Endpoint): boolean {
    const udp = this.udp;
    const n = data.length;
    if (udp === undefined) {
      this.inFlight -= n;
      return false;
    }
    try {
      udp.send(data, to.port, formatIp(to.address), (error) => {
        if (this.closed || this.udp !== udp) return;
        this.inFlight -= n;
        if (error) this.sendFailed(error, to);
        if (this.wantRoom) {
          this.wantRoom = false;
          this.notify();
        }
      });
      return true;
    } catch (error) {
      this.inFlight -= n;
      this.sendFailed(error, to);
      return false;
    }
  }

  private sendFailed(error: unknown, to: Endpoint): void {
    this.sendErrors++;
    this.lastError = error;
    publish('drop', { backend: this.env.name, kind: 'udp', event: 'send-failed', error, remote: `${formatIp(to.address)}:${to.port}` });
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) this.transmit(h.data, h.to);
  }

  private dropHeld(): void {
    if (this.held.length === 0) return;
    for (const h of this.held) {
      this.inFlight -= h.data.length;
      publish('drop', { backend: this.env.name, kind: 'udp', event: 'bind-failed', remote: `${formatIp(h.to.address)}:${h.to.port}` });
    }
    this.held = [];
    this.notify();
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    const address = addressBytes(rinfo.address, this.af);
    if (address === undefined) return;
    const dest = this.dest;
    if (dest !== undefined && (dest.port !== rinfo.port || !ipEquals(dest.address, address))) {
      this.filteredDatagrams++;
      return;
    }
    if (this.queue.length >= this.env.udpQueueDatagrams) {
      this.droppedDatagrams++;
      publish('drop', { backend: this.env.name, kind: 'udp', event: 'queue-full', remote: `${rinfo.address}:${rinfo.port}` });
      return;
    }
    this.queue.push({ data: msg, address, port: rinfo.port });
    this.notify();
  }
}

function closeDgram(udp: dgram.Socket): void {
  try {
    udp.close();
  } catch {
    // already closed
  }
}
