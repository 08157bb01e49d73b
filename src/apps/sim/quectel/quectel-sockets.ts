/**
 * The Quectel simulator's 12 socket ids (`AT+QIOPEN` connectID 0..11, reference `at-modules.md`
 * §3) carried over a real `Network`: TCP clients, UDP clients, TCP LISTENER (accepted links take
 * free ids and are announced with `+QIURC: "incoming"`), UDP SERVICE. Per id: the state
 * `AT+QISTATE` reports, the access mode (0 buffer: data waits for `AT+QIRD`, one
 * `+QIURC: "recv",<id>` until drained; 1 push: `+QIURC: "recv",<id>,<len>` then the bytes), a
 * bounded receive buffer (TCP stops reading from the network while it is full, so the peer is
 * flow-controlled; UDP drops datagrams), a bounded send buffer draining into the network socket
 * (`SEND FAIL` when a send does not fit) and the counters of `AT+QISEND=<id>,0` and `AT+QIRD=<id>,0`.
 * An id stays taken after `+QIURC: "closed"` until `AT+QICLOSE`.
 */
import { parseIp } from '../../../base/ip-address.ts';
import type { Scheduler } from '../../../base/time.ts';
import type { Network } from '../../../socket/network.ts';
import type { TcpServer } from '../../../socket/tcp-server.ts';
import type { TcpSocket } from '../../../socket/tcp-socket.ts';
import type { UdpSocket } from '../../../socket/udp-socket.ts';

export const SOCKET_IDS = 12;
/** Largest `AT+QISEND` length. */
export const MAX_SEND = 1460;
/** Largest `AT+QIRD` length. */
export const MAX_READ = 1500;

/** Quectel TCP/IP error codes (`+QIOPEN: <id>,<err>`, `AT+QIGETERROR`). */
export const QI_ERROR_TEXT: Readonly<Record<number, string>> = {
  0: 'operation success',
  550: 'unknown error',
  551: 'operation blocked',
  552: 'invalid parameters',
  553: 'memory not enough',
  554: 'create socket failed',
  555: 'operation not supported',
  556: 'socket bind failed',
  557: 'socket listen failed',
  558: 'socket write failed',
  559: 'socket read failed',
  560: 'socket accept failed',
  561: 'open PDP context failed',
  562: 'close PDP context failed',
  563: 'socket identity has been used',
  564: 'DNS busy',
  565: 'DNS parse failed',
  566: 'socket connect failed',
  567: 'socket has been closed',
  568: 'operation busy',
  569: 'operation timeout',
  570: 'PDP context broken down',
  571: 'cancel send',
  572: 'operation not allowed',
  573: 'APN not configured',
  574: 'port busy',
};

export type QuectelServiceType = 'TCP' | 'UDP' | 'TCP LISTENER' | 'TCP INCOMING' | 'UDP SERVICE';

/** `AT+QISTATE` socket states. */
export const SOCKET_STATE = { initial: 0, opening: 1, connected: 2, listening: 3, closing: 4 } as const;

interface Received {
  data: Uint8Array;
  from?: { ip: string; port: number };
}

/** One taken socket id. */
export interface QuectelSocket {
  readonly id: number;
  readonly cid: number;
  readonly type: QuectelServiceType;
  /** Remote address text (`AT+QISTATE`); listeners and services: the local bind address. */
  ip: string;
  rport: number;
  lport: number;
  state: number;
  readonly mode: number;
  /** Listener id of an incoming link; the listener's own id; else 0. */
  readonly serverId: number;
  /** Bumped when the id is released, so late network completions are ignored. */
  readonly generation: number;
  tcp: TcpSocket | undefined;
  udp: UdpSocket | undefined;
  server: TcpServer | undefined;
  rx: Received[];
  rxBytes: number;
  rxTotal: number;
  rxRead: number;
  /** Buffer mode: a `recv` URC went out and the buffer has not been drained since. */
  recvNotified: boolean;
  tx: Uint8Array[];
  txBytes: number;
  txTotal: number;
  txAcked: number;
  closedNotified: boolean;
  wakeRx: (() => void) | undefined;
  pumping: boolean;
}

/** Counters of the socket side. */
export interface QuectelSocketStats {
  opened: number;
  openFailed: number;
  accepted: number;
  incomingFull: number;
  bytesSent: number;
  bytesReceived: number;
  sendFail: number;
  udpDropped: number;
  peerClosed: number;
}

/** What the socket side needs from the simulator. */
export interface QuectelSocketHost {
  readonly network: Network;
  readonly scheduler: Scheduler;
  /** Writes an unsolicited line, then `payload` raw and CR LF when given (push-mode data). */
  urc(line: string, payload?: Uint8Array): void;
  /** The model variant ('BG95' adds `,<len>` to the buffer-mode recv URC). */
  readonly bg95RecvLength: boolean;
  /** The address local binds use (`0.0.0.0` unless the host network says otherwise). */
  readonly bindAddress: string;
}

export interface QuectelSocketOptions {
  /** Receive buffer per id, bytes (default 16 384). */
  recvBufferBytes?: number | undefined;
  /** Send buffer per id, bytes (default 16 384): a send that does not fit answers `SEND FAIL`. */
  sendBufferBytes?: number | undefined;
  /** Connect timeout, virtual ms (default 150 000, the reference's `+QIOPEN` bound). */
  connectTimeoutMs?: number | undefined;
}

/** The parameters of `AT+QIOPEN`. */
export interface OpenRequest {
  cid: number;
  id: number;
  type: Exclude<QuectelServiceType, 'TCP INCOMING'>;
  host: string;
  rport: number;
  lport: number;
  mode: number;
}

function errorCode(e: unknown, fallback: number): number {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (code === 'EADDRINUSE') return 574;
  if (code === 'EHOSTNOTFOUND') return 565;
  return fallback;
}

/** The 12 ids. */
export class QuectelSockets {
  readonly #host: QuectelSocketHost;
  readonly #slots: Array<QuectelSocket | undefined> = new Array<QuectelSocket | undefined>(SOCKET_IDS).fill(undefined);
  readonly #recvCap: number;
  readonly #sendCap: number;
  readonly #connectTimeoutMs: number;
  #generation = 0;
  readonly stats: QuectelSocketStats = {
    opened: 0,
    openFailed: 0,
    accepted: 0,
    incomingFull: 0,
    bytesSent: 0,
    bytesReceived: 0,
    sendFail: 0,
    udpDropped: 0,
    peerClosed: 0,
  };

  constructor(host: QuectelSocketHost, options: QuectelSocketOptions = {}) {
    this.#host = host;
    this.#recvCap = options.recvBufferBytes ?? 16_384;
    this.#sendCap = options.sendBufferBytes ?? 16_384;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 150_000;
  }

  get(id: number): QuectelSocket | undefined {
    return this.#slots[id];
  }

  /** Every taken id, in id order. */
  all(): QuectelSocket[] {
    return this.#slots.filter((s): s is QuectelSocket => s !== undefined);
  }

  #alive(s: QuectelSocket): boolean {
    return this.#slots[s.id] === s && s.state !== SOCKET_STATE.closing;
  }

  #take(id: number, fields: Pick<QuectelSocket, 'cid' | 'type' | 'ip' | 'rport' | 'lport' | 'mode' | 'serverId' | 'state'>): QuectelSocket {
    const s: QuectelSocket = {
      id,
      ...fields,
      generation: ++this.#generation,
      tcp: undefined,
      udp: undefined,
      server: undefined,
      rx: [],
      rxBytes: 0,
      rxTotal: 0,
      rxRead: 0,
      recvNotified: false,
      tx: [],
      txBytes: 0,
      txTotal: 0,
      txAcked: 0,
      closedNotified: false,
      wakeRx: undefined,
      pumping: false,
    };
    this.#slots[id] = s;
    return s;
  }

  /**
   * `AT+QIOPEN` after its `OK`: takes the id, opens over the network and resolves with the
   * `+QIOPEN` error code (0 success). `pdpError` is 561/570 when the context is not usable.
   */
  async open(req: OpenRequest, pdpError: number): Promise<number> {
    if (this.#slots[req.id] !== undefined) return 563;
    if (pdpError !== 0) return pdpError;
    const s = this.#take(req.id, {
      cid: req.cid,
      type: req.type,
      ip: req.host,
      rport: req.rport,
      lport: req.lport,
      mode: req.mode,
      serverId: req.type === 'TCP LISTENER' ? req.id : 0,
      state: SOCKET_STATE.opening,
    });
    const err = await this.#openOn(s, req).catch((e: unknown) => errorCode(e, 566));
    if (this.#slots[req.id] !== s) return err === 0 ? 566 : err; // released meanwhile (reboot, QICLOSE)
    if (err !== 0) {
      this.stats.openFailed++;
      this.#release(s);
      return err;
    }
    this.stats.opened++;
    return 0;
  }

  /** A host name or literal to an IPv4 address text, through the network (`AT+QIDNSGIP`). */
  lookup(host: string): Promise<string> {
    return this.#resolve(host);
  }

  async #resolve(host: string): Promise<string> {
    if (parseIp(host) !== undefined) return host;
    return this.#host.network.lookup(host, { family: 4 });
  }

  async #openOn(s: QuectelSocket, req: OpenRequest): Promise<number> {
    const net = this.#host.network;
    const client = req.type === 'TCP' || req.type === 'UDP';
    let ip = req.host;
    if (client) {
      try {
        ip = await this.#resolve(req.host);
      } catch {
        return 565;
      }
    }
    const stale = (): boolean => this.#slots[s.id] !== s;
    if (req.type === 'TCP') {
      const tcp = await net.connect({ host: ip, port: req.rport }, {
        timeoutMs: this.#connectTimeoutMs,
        ...(req.lport !== 0 ? { localPort: req.lport } : {}),
      });
      if (stale()) {
        tcp.destroy();
        return 0;
      }
      s.tcp = tcp;
      s.ip = ip;
      s.lport = tcp.localAddress.port;
      s.state = SOCKET_STATE.connected;
      void this.#tcpReadLoop(s, tcp);
      return 0;
    }
    if (req.type === 'TCP LISTENER') {
      if (req.lport === 0) return 552;
      const server = await net.listen({ port: req.lport, host: this.#host.bindAddress });
      if (stale()) {
        void server.close();
        return 0;
      }
      s.server = server;
      s.state = SOCKET_STATE.listening;
      void this.#acceptLoop(s, server);
      return 0;
    }
    // UDP (connected to the remote) and UDP SERVICE (bound, any destination).
    const udp = await net.udp(client ? (req.lport !== 0 ? { port: req.lport } : {}) : { port: req.lport, host: this.#host.bindAddress });
    if (client && !stale()) await udp.connect(`${ip}:${req.rport}`);
    if (stale()) {
      void udp.close();
      return 0;
    }
    s.udp = udp;
    s.ip = ip;
    s.lport = udp.address.port;
    s.state = SOCKET_STATE.connected;
    void this.#udpReadLoop(s, udp);
    return 0;
  }

  async #acceptLoop(listener: QuectelSocket, server: TcpServer): Promise<void> {
    for (;;) {
      let tcp: TcpSocket;
      try {
        tcp = await server.accept();
      } catch {
        return;
      }
      if (!this.#alive(listener)) {
        tcp.destroy();
        return;
      }
      const id = this.#slots.findIndex((x) => x === undefined);
      if (id < 0) {
        this.stats.incomingFull++;
        tcp.destroy();
        this.#host.urc('+QIURC: "incoming full"');
        continue;
      }
      const s = this.#take(id, {
        cid: listener.cid,
        type: 'TCP INCOMING',
        ip: tcp.remoteAddress.address,
        rport: tcp.remoteAddress.port,
        lport: listener.lport,
        mode: listener.mode,
        serverId: listener.id,
        state: SOCKET_STATE.connected,
      });
      s.tcp = tcp;
      this.stats.accepted++;
      this.#host.urc(`+QIURC: "incoming",${id},${listener.id},"${s.ip}",${s.rport}`);
      void this.#tcpReadLoop(s, tcp);
    }
  }

  async #tcpReadLoop(s: QuectelSocket, tcp: TcpSocket): Promise<void> {
    for (;;) {
      while (this.#alive(s) && s.rxBytes >= this.#recvCap) {
        await new Promise<void>((resolve) => {
          s.wakeRx = resolve;
        });
      }
      if (!this.#alive(s)) return;
      let chunk: Uint8Array | null;
      try {
        chunk = await tcp.read({ maxBytes: Math.max(1, this.#recvCap - s.rxBytes) });
      } catch {
        chunk = null;
      }
      if (!this.#alive(s)) return;
      if (chunk === null) {
        this.stats.peerClosed++;
        this.#peerClosed(s);
        return;
      }
      this.#deliver(s, { data: chunk });
    }
  }

  async #udpReadLoop(s: QuectelSocket, udp: UdpSocket): Promise<void> {
    for (;;) {
      let dgram;
      try {
        dgram = await udp.recv();
      } catch {
        return;
      }
      if (!this.#alive(s)) return;
      if (s.mode === 0 && s.rxBytes + dgram.data.length > this.#recvCap) {
        this.stats.udpDropped++;
        continue;
      }
      this.#deliver(s, { data: dgram.data, from: { ip: dgram.from.address, port: dgram.from.port } });
    }
  }

  #deliver(s: QuectelSocket, r: Received): void {
    this.stats.bytesReceived += r.data.length;
    s.rxTotal += r.data.length;
    if (s.mode === 1) {
      // Push mode: at most MAX_READ bytes per URC.
      s.rxRead += r.data.length;
      for (let off = 0; off < r.data.length || off === 0; off += MAX_READ) {
        const part = r.data.subarray(off, Math.min(r.data.length, off + MAX_READ));
        const from = s.type === 'UDP SERVICE' && r.from !== undefined ? `,"${r.from.ip}",${r.from.port}` : '';
        this.#host.urc(`+QIURC: "recv",${s.id},${part.length}${from}`, part);
        if (r.data.length === 0) break;
      }
      return;
    }
    s.rx.push(r);
    s.rxBytes += r.data.length;
    if (!s.recvNotified) {
      s.recvNotified = true;
      this.#host.urc(this.#host.bg95RecvLength ? `+QIURC: "recv",${s.id},${s.rxBytes}` : `+QIURC: "recv",${s.id}`);
    }
  }

  #peerClosed(s: QuectelSocket): void {
    s.state = SOCKET_STATE.closing;
    this.#dropNetwork(s);
    if (!s.closedNotified) {
      s.closedNotified = true;
      this.#host.urc(`+QIURC: "closed",${s.id}`);
    }
  }

  /**
   * `AT+QIRD=<id>,<len>`: up to `len` buffered bytes (one datagram at most on UDP), or undefined
   * when the id cannot be read (free, listener, push mode).
   */
  read(id: number, len: number): { data: Uint8Array; from?: { ip: string; port: number } } | undefined {
    const s = this.#slots[id];
    if (s === undefined || s.type === 'TCP LISTENER' || s.mode !== 0) return undefined;
    const out = this.#takeRx(s, len);
    if (s.rxBytes === 0) s.recvNotified = false;
    if (s.wakeRx !== undefined && s.rxBytes < this.#recvCap) {
      const wake = s.wakeRx;
      s.wakeRx = undefined;
      wake();
    }
    return out;
  }

  #takeRx(s: QuectelSocket, len: number): { data: Uint8Array; from?: { ip: string; port: number } } {
    const datagrams = s.type === 'UDP' || s.type === 'UDP SERVICE';
    const head = s.rx[0];
    if (head === undefined) return { data: new Uint8Array(0) };
    if (datagrams) {
      const n = Math.min(len, head.data.length);
      const data = head.data.slice(0, n);
      if (n === head.data.length) s.rx.shift();
      else head.data = head.data.subarray(n);
      s.rxBytes -= n;
      s.rxRead += n;
      return head.from !== undefined ? { data, from: head.from } : { data };
    }
    const n = Math.min(len, s.rxBytes);
    const data = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = s.rx[0];
      if (c === undefined) break;
      const k = Math.min(n - off, c.data.length);
      data.set(c.data.subarray(0, k), off);
      off += k;
      if (k === c.data.length) s.rx.shift();
      else c.data = c.data.subarray(k);
    }
    s.rxBytes -= n;
    s.rxRead += n;
    return { data };
  }

  /**
   * `AT+QISEND` data: `'ok'` (queued or sent), `'fail'` (send buffer full), `'error'` (not
   * connected, or a destination on a socket that takes none).
   */
  send(id: number, data: Uint8Array, to?: { ip: string; port: number }): 'ok' | 'fail' | 'error' {
    const s = this.#slots[id];
    if (s === undefined || s.state !== SOCKET_STATE.connected) return 'error';
    if (s.type === 'UDP SERVICE') {
      if (to === undefined || s.udp === undefined) return 'error';
      this.#sendDatagram(s, s.udp, data, `${to.ip}:${to.port}`);
      return 'ok';
    }
    if (to !== undefined) return 'error';
    if (s.type === 'UDP') {
      if (s.udp === undefined) return 'error';
      this.#sendDatagram(s, s.udp, data, undefined);
      return 'ok';
    }
    if (s.tcp === undefined) return 'error';
    if (s.txBytes + data.length > this.#sendCap) {
      this.stats.sendFail++;
      return 'fail';
    }
    s.tx.push(data.slice());
    s.txBytes += data.length;
    s.txTotal += data.length;
    if (!s.pumping) void this.#pump(s, s.tcp);
    return 'ok';
  }

  #sendDatagram(s: QuectelSocket, udp: UdpSocket, data: Uint8Array, to: string | undefined): void {
    s.txTotal += data.length;
    const copy = data.slice();
    const sent = to === undefined ? udp.send(copy) : udp.send(copy, to);
    sent.then(
      () => {
        s.txAcked += copy.length;
        this.stats.bytesSent += copy.length;
      },
      () => undefined,
    );
  }

  async #pump(s: QuectelSocket, tcp: TcpSocket): Promise<void> {
    s.pumping = true;
    try {
      for (;;) {
        const chunk = s.tx[0];
        if (chunk === undefined || !this.#alive(s)) return;
        try {
          await tcp.write(chunk);
        } catch {
          if (this.#alive(s)) this.#peerClosed(s);
          return;
        }
        s.tx.shift();
        s.txBytes -= chunk.length;
        s.txAcked += chunk.length;
        this.stats.bytesSent += chunk.length;
      }
    } finally {
      s.pumping = false;
    }
  }

  /** Closes the network side of `s` (the id stays taken). */
  #dropNetwork(s: QuectelSocket, abort = false): void {
    const { tcp, udp, server } = s;
    s.tcp = undefined;
    s.udp = undefined;
    s.server = undefined;
    if (tcp !== undefined) {
      if (abort) tcp.destroy();
      else void tcp.close().catch(() => undefined);
    }
    if (udp !== undefined) void udp.close().catch(() => undefined);
    if (server !== undefined) void server.close().catch(() => undefined);
    const wake = s.wakeRx;
    s.wakeRx = undefined;
    wake?.();
  }

  #release(s: QuectelSocket, abort = false): void {
    if (this.#slots[s.id] === s) this.#slots[s.id] = undefined;
    s.state = SOCKET_STATE.closing;
    this.#dropNetwork(s, abort);
  }

  /** `AT+QICLOSE=<id>`: frees the id (sends what is queued first, then FIN). */
  close(id: number): void {
    const s = this.#slots[id];
    if (s === undefined) return;
    const tcp = s.tcp;
    if (tcp !== undefined && s.tx.length > 0) {
      // Hand the queued bytes to the network before FIN, as the module's stack would.
      s.tcp = undefined;
      const pending = s.tx.splice(0);
      this.#release(s);
      void (async () => {
        for (const chunk of pending) await tcp.write(chunk);
        await tcp.close();
      })().catch(() => tcp.destroy());
      return;
    }
    this.#release(s);
  }

  /** The network dropped context `cid`: its sockets go to closing (ids stay until QICLOSE/QIDEACT). */
  contextLost(cid: number): void {
    for (const s of this.all()) {
      if (s.cid !== cid) continue;
      s.state = SOCKET_STATE.closing;
      this.#dropNetwork(s, true);
    }
  }

  /** `AT+QIDEACT`: frees every id on `cid`. */
  closeContext(cid: number): void {
    for (const s of this.all()) if (s.cid === cid) this.#release(s, true);
  }

  /** Reboot / power off: every id gone, connections aborted. */
  reset(): void {
    for (const s of this.all()) this.#release(s, true);
  }

  /** `+QISTATE: <id>,"<type>","<ip>",<rport>,<lport>,<state>,<cid>,<srv>,<mode>,"<port>"`. */
  stateLine(s: QuectelSocket, serialPort: string): string {
    const type = s.type === 'TCP INCOMING' ? 'TCP INCOMING' : s.type;
    return `+QISTATE: ${s.id},"${type}","${s.ip}",${s.rport},${s.lport},${s.state},${s.cid},${s.serverId},${s.mode},"${serialPort}"`;
  }
}
