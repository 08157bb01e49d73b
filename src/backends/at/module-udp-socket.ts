/**
 * A datagram `CoreSocket` over a module link (ESP-AT UDP link, Quectel `UDP SERVICE`).
 *
 * The link is opened when the socket is bound (explicitly, or implicitly by `connect` or the
 * first `sendTo`, with a port from the dynamic range) and every datagram is sent with its
 * destination, so one link serves any number of peers. The default destination and the
 * receive filter of `connect` are kept here, not in the module. Queues are bounded both ways:
 * a full receive queue drops the newest datagram (counted), a full send queue answers `EAGAIN`;
 * a datagram the module keeps refusing is dropped after a few retries (UDP promises nothing).
 */
import { ipEquals, isUnspecified } from '../../base/ip-address.ts';
import {
  IOT_SOCKET_EADDRINUSE, IOT_SOCKET_EAGAIN, IOT_SOCKET_ECONNABORTED, IOT_SOCKET_EINVAL, IOT_SOCKET_ENOMEM, IOT_SOCKET_ENOTCONN,
  IOT_SOCKET_ENOTSUP,
} from '../../base/iot-constants.ts';
import type { Accepted, Af, CoreSocket, Endpoint, RecvInfo } from '../contract.ts';
import type { Reservation } from '../port-table.ts';
import type { ModuleReceived } from './module-driver.ts';
import type { SocketError } from '../../base/socket-error.ts';
import { failureCode, type LinkOwner, type ModuleEnv } from './module-env.ts';
import { PullLoop } from './module-pull.ts';

/** Refusals (`SEND FAIL`) a datagram survives before it is dropped. */
const SEND_RETRIES = 3;

interface Outgoing {
  readonly bytes: Uint8Array;
  readonly to: Endpoint;
  tries: number;
}

export class ModuleUdpSocket implements CoreSocket, LinkOwner {
  readonly af: Af;
  readonly type = 2 as const;
  private readonly env: ModuleEnv;
  private callback: (() => void) | undefined;
  private reservation: Reservation | undefined;
  private link: number | undefined;
  private opening: Promise<number> | undefined;
  /** Failure of the link (open failed, module lost): a negative IoT code. */
  private failed: number | undefined;
  private failure: SocketError | undefined;
  private dest: Endpoint | undefined;
  private readonly rxq: ModuleReceived[] = [];
  private readonly txq: Outgoing[] = [];
  private pumping = false;
  /** Pull mode: read-ahead from the module. */
  private readonly puller: PullLoop;
  private closed = false;

  constructor(env: ModuleEnv, af: Af) {
    this.env = env;
    this.af = af;
    this.puller = new PullLoop(() => this.readOnce(), { scheduler: env.scheduler, pollMs: env.pullPollMs });
  }

  onChange(callback: (() => void) | undefined): void {
    this.callback = callback;
  }

  private notify(): void {
    this.callback?.();
  }

  bind(address: Uint8Array, port: number): Promise<number> | number {
    const r = this.env.udpPorts.reserve(this.af, address, port);
    if (r === undefined) return IOT_SOCKET_EADDRINUSE;
    this.reservation = r;
    return this.openLink();
  }

  /** Binds to a port of the dynamic range (the first `connect` or `sendTo` of an unbound socket). */
  private implicitBind(): Promise<number> | number {
    if (this.reservation !== undefined) return this.opening ?? 0;
    const r = this.env.udpPorts.reserveEphemeral(this.af, new Uint8Array(this.af === 2 ? 16 : 4), this.env.rng);
    if (r === undefined) return IOT_SOCKET_ENOMEM;
    this.reservation = r;
    return this.openLink();
  }

  private openLink(): Promise<number> {
    const port = this.reservation?.port ?? 0;
    const remote: Endpoint = { address: new Uint8Array(this.af === 2 ? 16 : 4), port: 0 };
    this.opening = this.env.driver.open({ kind: 'udp', af: this.af, remote, localPort: port, keepAliveS: 0 }).then((link) => {
      this.env.stats.linksOpened++;
      if (this.closed) {
        this.env.closeLink(link.id);
        return IOT_SOCKET_ECONNABORTED;
      }
      this.link = link.id;
      this.env.own(link.id, this);
      void this.pump();
      if (this.env.driver.pull) this.puller.notice();
      return 0;
    }, (e: unknown) => {
      // No link: unbound again (a later bind or send tries anew); queued datagrams are lost.
      this.env.udpPorts.release(this.reservation);
      this.reservation = undefined;
      this.opening = undefined;
      this.txq.length = 0;
      this.notify();
      return failureCode(e);
    });
    return this.opening;
  }

  listen(): number {
    return IOT_SOCKET_ENOTSUP;
  }

  accept(): Accepted | number {
    return IOT_SOCKET_ENOTSUP;
  }

  connect(address: Uint8Array, port: number): Promise<number> | number {
    if (isUnspecified(address)) {
      this.dest = undefined;
      return 0;
    }
    this.dest = { address: address.slice(), port };
    // The filter applies from now on: datagrams from other sources already queued go too.
    for (let i = this.rxq.length - 1; i >= 0; i--) {
      const d = this.rxq[i];
      if (d !== undefined && !this.fromDest(d)) this.rxq.splice(i, 1);
    }
    return this.implicitBind();
  }

  connectResult(): number {
    return 0;
  }

  private fromDest(d: ModuleReceived): boolean {
    const dest = this.dest;
    if (dest === undefined || d.from === undefined) return true;
    return d.from.port === dest.port && ipEquals(d.from.address, dest.address);
  }

  recv(buf: Uint8Array, len: number, from?: RecvInfo): number {
    const d = this.rxq[0];
    if (d === undefined) {
      this.puller.kick();
      return this.failed ?? IOT_SOCKET_EAGAIN;
    }
    if (len === 0) return 0;
    this.rxq.shift();
    const n = Math.min(len, d.bytes.length);
    buf.set(d.bytes.subarray(0, n));
    if (from !== undefined) {
      const src = d.from ?? this.dest;
      from.address = src?.address.slice();
      from.port = src?.port ?? 0;
    }
    this.puller.kick();
    return n;
  }

  send(buf: Uint8Array, len: number, to?: Endpoint): number {
    const dest = to ?? this.dest;
    if (dest === undefined) return IOT_SOCKET_ENOTCONN;
    if (len > this.env.driver.caps.maxDatagram) return IOT_SOCKET_EINVAL;
    if (this.failed !== undefined) return this.failed;
    if (this.txq.length >= this.env.datagramQueue) return IOT_SOCKET_EAGAIN;
    if (len === 0) return 0;
    const bound = this.implicitBind();
    if (typeof bound === 'number' && bound < 0) return bound;
    this.txq.push({ bytes: buf.slice(0, len), to: { address: dest.address.slice(), port: dest.port }, tries: 0 });
    void this.pump();
    return len;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const link = this.link;
        const d = this.txq[0];
        if (link === undefined || d === undefined || this.closed) break;
        let taken: number;
        try {
          taken = await this.env.driver.send(link, d.bytes, d.to);
        } catch {
          taken = -1;
        }
        if (taken > 0 || ++d.tries > SEND_RETRIES) {
          this.txq.shift();
          this.notify();
        } else {
          this.env.stats.sendRetries++;
          await new Promise<void>((resolve) => this.env.scheduler.setTimer(this.env.sendRetryMs, resolve));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** One read from the module (pull mode): one datagram, while the queue has room. */
  private async readOnce(): Promise<number | undefined> {
    const link = this.link;
    if (link === undefined || this.rxq.length >= this.env.datagramQueue) return undefined;
    let got: ModuleReceived;
    try {
      got = await this.env.driver.read(link, this.env.driver.caps.maxDatagram);
    } catch {
      return undefined;
    }
    if (this.link !== link) return undefined;
    if (got.bytes.length > 0) this.data(got);
    return got.bytes.length;
  }

  // ---- LinkOwner

  data(received: ModuleReceived): void {
    if (this.closed || !this.fromDest(received)) return;
    if (this.rxq.length >= this.env.datagramQueue) {
      this.env.stats.datagramsDropped++;
      return;
    }
    this.rxq.push({ bytes: received.bytes.slice(), ...(received.from !== undefined ? { from: received.from } : {}) });
    this.notify();
  }

  readable(): void {
    this.puller.notice();
  }

  gone(code: number, error?: SocketError): void {
    this.link = undefined;
    this.puller.stop();
    this.failed = code === 0 ? IOT_SOCKET_ECONNABORTED : code;
    this.failure = error;
    this.txq.length = 0;
    this.notify();
  }

  lastFailure(): SocketError | undefined {
    return this.failure;
  }

  peerClosed(): boolean {
    return false;
  }

  shutdown(): number {
    return IOT_SOCKET_ENOTCONN;
  }

  localEndpoint(): Endpoint | undefined {
    const r = this.reservation;
    return r === undefined ? undefined : { address: r.address.slice(), port: r.port };
  }

  remoteEndpoint(): Endpoint | undefined {
    return this.dest === undefined ? undefined : { address: this.dest.address.slice(), port: this.dest.port };
  }

  setKeepAlive(): number {
    return 0;
  }

  close(): number {
    if (this.closed) return 0;
    this.closed = true;
    this.callback = undefined;
    const link = this.link;
    this.link = undefined;
    if (link !== undefined) this.env.closeLink(link);
    this.env.udpPorts.release(this.reservation);
    this.reservation = undefined;
    this.rxq.length = 0;
    this.txq.length = 0;
    this.env.released(this);
    return 0;
  }
}
