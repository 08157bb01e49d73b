/**
 * One link of the simulated ESP module (ids 0-4): a real TCP, TLS or UDP socket over the
 * simulator's `Network`, and the module's receive behaviour on it (reference §1.5):
 * - active mode: each chunk from the network is written to the host at once as
 *   `\r\n+IPD[,<id>],<len>[,<ip>,<port>]:<payload>`, at most 2920 bytes each and nothing after
 *   the payload; with host flow control the link stops reading the network while the serial
 *   port is back-pressured, without it the host can be overrun;
 * - passive mode: data waits in the module, at most 5760 bytes: TCP stops reading the network
 *   (the TCP window closes), UDP datagrams that do not fit are dropped; one notice
 *   `\r\n+IPD,<id>,<total buffered>\r\n` and no further one until the host read
 *   (`AT+CIPRECVDATA`); the peer's close (`<id>,CLOSED`) is withheld while unread data remains.
 */
import type { Datagram, UdpSocket } from '../../../socket/udp-socket.ts';
import type { AtSimPort } from '../at-sim-port.ts';
import type { SimFaults } from '../sim-faults.ts';
import type { EspDialect } from './esp-dialect.ts';

/** Largest `+IPD` payload. */
export const IPD_MAX = 2920;
/** The passive-mode receive window. */
export const PASSIVE_WINDOW = 5760;

/** The link types of `AT+CIPSTART`. */
export type EspLinkType = 'TCP' | 'TCPv6' | 'UDP' | 'UDPv6' | 'SSL' | 'SSLv6';

/** What TCP and TLS sockets share (`TcpSocket`, `SecureSocket`). */
export interface StreamSocket {
  read(opts?: { maxBytes?: number | undefined }): Promise<Uint8Array | null>;
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  destroy(error?: Error): void;
}

/** What a link needs from its module. */
export interface EspLinkHost {
  readonly port: AtSimPort;
  readonly faults: SimFaults;
  readonly dialect: EspDialect;
  /** `AT+CIPMUX=1`. */
  readonly mux: boolean;
  /** `AT+CIPDINFO=1`. */
  readonly dinfo: boolean;
  /** Host flow control (RTS/CTS) is on: respect serial back-pressure. */
  readonly flowControl: boolean;
  /** Passthrough (`AT+CIPMODE=1` while sending): received data goes to the host raw. */
  readonly passthrough: boolean;
  /** The link closed from the network side (print `CLOSED`, free the id). */
  linkClosed(link: EspLink): void;
  /** A data point where the `reboot` fault may fire (true: the module rebooted). */
  rebootPoint(): boolean;
  /** Counters. */
  readonly stats: { ipd: number; bytesFromNetwork: number; udpDropped: number };
}

interface Pending {
  bytes: Uint8Array;
  ip: string;
  port: number;
}

/** One link. See the module comment. */
export class EspLink {
  readonly id: number;
  readonly type: EspLinkType;
  remoteIp: string;
  remotePort: number;
  localPort: number;
  /** 0 client, 1 accepted by the server. */
  readonly server: 0 | 1;
  /** Passive receive. */
  passive: boolean;
  /** UDP remote mode: 0 fixed, 1 changes once to the first other sender, 2 follows each sender. */
  udpMode: 0 | 1 | 2 = 0;
  /** `AT+CIPTCPOPT`. */
  tcpOpt = { linger: -1, nodelay: 0, sndtimeo: 0, keepalive: 0 };
  closed = false;
  /** The peer closed while unread passive data remained: `CLOSED` is due once it is read. */
  closePending = false;

  readonly #host: EspLinkHost;
  #stream: StreamSocket | undefined;
  #udp: UdpSocket | undefined;
  #buffer: Pending[] = [];
  #buffered = 0;
  #notified = false;
  #wake: (() => void) | undefined;
  #udpRemoteChanged = false;

  constructor(host: EspLinkHost, init: {
    id: number;
    type: EspLinkType;
    remoteIp: string;
    remotePort: number;
    localPort: number;
    server: 0 | 1;
    passive: boolean;
  }) {
    this.#host = host;
    this.id = init.id;
    this.type = init.type;
    this.remoteIp = init.remoteIp;
    this.remotePort = init.remotePort;
    this.localPort = init.localPort;
    this.server = init.server;
    this.passive = init.passive;
  }

  get isUdp(): boolean {
    return this.type === 'UDP' || this.type === 'UDPv6';
  }

  /** Unread passive bytes. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Starts carrying a connected TCP/TLS socket. */
  attachStream(socket: StreamSocket): void {
    this.#stream = socket;
    void this.#pumpStream(socket);
  }

  /** Starts carrying a bound UDP socket. */
  attachUdp(socket: UdpSocket, mode: 0 | 1 | 2): void {
    this.#udp = socket;
    this.udpMode = mode;
    void this.#pumpUdp(socket);
  }

  /** Something the read loops may wait for changed (host read, drain, mode change). */
  wake(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #waitWake(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  async #pumpStream(socket: StreamSocket): Promise<void> {
    const port = this.#host.port;
    for (;;) {
      if (this.closed) return;
      let max = IPD_MAX * 2;
      if (this.passive) {
        max = PASSIVE_WINDOW - this.#buffered;
        if (max <= 0) {
          await this.#waitWake();
          continue;
        }
      } else if (this.#host.flowControl && !port.writable) {
        const off = port.onDrain(() => this.wake());
        await this.#waitWake();
        off();
        continue;
      }
      let chunk: Uint8Array | null;
      try {
        chunk = await socket.read({ maxBytes: max });
      } catch {
        chunk = null;
      }
      if (this.closed) return;
      if (chunk === null) {
        this.#peerClosed();
        return;
      }
      this.#host.stats.bytesFromNetwork += chunk.length;
      this.#receive({ bytes: chunk, ip: this.remoteIp, port: this.remotePort });
      if (this.closed) return;
    }
  }

  async #pumpUdp(socket: UdpSocket): Promise<void> {
    for (;;) {
      if (this.closed) return;
      let d: Datagram;
      try {
        d = await socket.recv();
      } catch {
        if (!this.closed) this.#peerClosed();
        return;
      }
      if (this.closed) return;
      const from = { ip: d.from.address, port: d.from.port };
      const fromRemote = from.ip === this.remoteIp && from.port === this.remotePort;
      if (!fromRemote) {
        if (this.udpMode === 0) continue;
        if (this.udpMode === 1 && this.#udpRemoteChanged) continue;
        this.remoteIp = from.ip;
        this.remotePort = from.port;
        this.#udpRemoteChanged = true;
      }
      this.#host.stats.bytesFromNetwork += d.data.length;
      if (this.passive && !(this.#host.dialect.passiveTcpOnly && this.isUdp)) {
        if (this.#buffered + d.data.length > PASSIVE_WINDOW) {
          this.#host.stats.udpDropped++;
          continue;
        }
      }
      this.#receive({ bytes: d.data, ip: from.ip, port: from.port });
    }
  }

  /** Passive mode applies to this link (NONOS: TCP only). */
  get passiveNow(): boolean {
    return this.passive && !(this.#host.dialect.passiveTcpOnly && this.isUdp);
  }

  #receive(p: Pending): void {
    const host = this.#host;
    if (host.passthrough) {
      host.port.write(p.bytes, 'data');
      return;
    }
    if (!this.passiveNow) {
      for (let off = 0; off < p.bytes.length; off += IPD_MAX) {
        const part = p.bytes.subarray(off, Math.min(p.bytes.length, off + IPD_MAX));
        host.port.write(this.#ipdHeader(part.length, p, true), 'urc');
        host.port.write(part, 'data');
        host.stats.ipd++;
        host.port.point('afterIpd');
        if (host.rebootPoint()) return;
      }
      return;
    }
    this.#buffer.push(p);
    this.#buffered += p.bytes.length;
    if (!this.#notified) {
      this.#notified = true;
      host.port.urc(this.#ipdHeader(this.#buffered, undefined, false));
    }
  }

  /** `\r\n+IPD,…:` (active) or `\r\n+IPD,<id>,<len>\r\n` (passive notice). */
  #ipdHeader(len: number, from: Pending | undefined, active: boolean): string {
    const host = this.#host;
    let h = host.mux ? `\r\n+IPD,${this.id},${len}` : `\r\n+IPD,${len}`;
    if (!active) return `${h}\r\n`;
    if (host.dinfo && from !== undefined) h += host.dialect.quoteIp ? `,"${from.ip}",${from.port}` : `,${from.ip},${from.port}`;
    return `${h}:`;
  }

  /**
   * Takes up to `max` unread passive bytes (of one sender for UDP); undefined when empty.
   * A host read re-arms the notice and reopens the window.
   */
  read(max: number): Pending | undefined {
    const first = this.#buffer[0];
    if (first === undefined || max <= 0) return undefined;
    let out: Pending;
    if (this.isUdp || first.bytes.length > max) {
      const n = Math.min(max, first.bytes.length);
      out = { bytes: first.bytes.slice(0, n), ip: first.ip, port: first.port };
      if (n === first.bytes.length) this.#buffer.shift();
      else first.bytes = first.bytes.subarray(n);
    } else {
      const parts: Uint8Array[] = [];
      let n = 0;
      while (this.#buffer.length > 0 && n < max) {
        const head = this.#buffer[0] as Pending;
        const take = Math.min(max - n, head.bytes.length);
        parts.push(head.bytes.subarray(0, take));
        n += take;
        if (take === head.bytes.length) this.#buffer.shift();
        else head.bytes = head.bytes.subarray(take);
      }
      const bytes = new Uint8Array(n);
      let o = 0;
      for (const part of parts) {
        bytes.set(part, o);
        o += part.length;
      }
      out = { bytes, ip: first.ip, port: first.port };
    }
    this.#buffered -= out.bytes.length;
    this.#notified = false;
    this.wake();
    return out;
  }

  /** Sends `bytes` (UDP: to `to`, else the remote). Resolves false when the link cannot send. */
  async send(bytes: Uint8Array, to?: { host: string; port: number }): Promise<boolean> {
    if (this.closed) return false;
    try {
      if (this.#udp !== undefined) {
        await this.#udp.send(bytes, `${to?.host ?? this.remoteIp}:${to?.port ?? this.remotePort}`);
        return !this.closed;
      }
      if (this.#stream === undefined) return false;
      await this.#stream.write(bytes);
      return !this.closed;
    } catch {
      return false;
    }
  }

  /** Sends raw passthrough bytes (no result). */
  sendRaw(bytes: Uint8Array): void {
    void this.send(bytes);
  }

  #peerClosed(): void {
    if (this.closed) return;
    if (this.passiveNow && this.#buffered > 0) {
      this.closePending = true;
      this.#release(false);
      return;
    }
    this.closed = true;
    this.#release(false);
    this.#host.linkClosed(this);
  }

  /** After a host read: the withheld `CLOSED` is due when nothing is left. */
  get closeDue(): boolean {
    return this.closePending && this.#buffered === 0;
  }

  /** Closes by the host (`AT+CIPCLOSE`) or the module (Wi-Fi loss): graceful unless `abort`. */
  close(abort = false): void {
    this.closed = true;
    this.#buffer = [];
    this.#buffered = 0;
    this.#release(abort);
    this.wake();
  }

  #release(abort: boolean): void {
    const s = this.#stream;
    const u = this.#udp;
    this.#stream = undefined;
    this.#udp = undefined;
    if (s !== undefined) {
      if (abort) s.destroy();
      else void s.close().catch(() => undefined);
    }
    if (u !== undefined) void u.close().catch(() => undefined);
  }

  /** `"TCP","ip",rport,lport,server` as in `+CIPSTATE`/`+CIPSTATUS`. */
  describe(): string {
    return `"${this.type}","${this.remoteIp}",${this.remotePort},${this.localPort},${this.server}`;
  }
}
