/**
 * A small authoritative DNS server over the idiomatic API (`Network`), so it runs on
 * any backend: the userspace stack in the embedded demo, the host OS in tests.
 *
 * ```ts
 * const dns = await startDnsServer(network, {
 *   port: 53,
 *   zones: [{ origin: 'iot.test', records: [{ name: 'broker', type: 'A', data: '10.0.0.1' }] }],
 * });
 * // ... dns.stats.queries ...
 * await dns.close();
 * ```
 *
 * - UDP and TCP on the same port (`port: 0`: a random free port from 49152-65535,
 *   the same for both). Answers come from `DnsResponder` (zones, NXDOMAIN, NODATA,
 *   REFUSED outside the zones, TC over UDP when too big, FORMERR/NOTIMP).
 * - TCP (RFC 7766): 2-byte length framing, several queries per connection (answered
 *   in order), closed after `tcpIdleMs` without a query (default 10 s); at most
 *   `maxTcpConnections` at once (default 32), more are closed at once.
 * - Malformed input is answered FORMERR or dropped and counted, never thrown.
 */
import { SocketError } from '../../base/socket-error.ts';
import type { Network } from '../../socket/network.ts';
import type { TcpServer } from '../../socket/tcp-server.ts';
import type { TcpSocket } from '../../socket/tcp-socket.ts';
import type { UdpSocket } from '../../socket/udp-socket.ts';
import { DnsResponder, type DnsOutcome, type DnsReply, type DnsResponderOptions } from './dns-responder.ts';
import { DnsZone, type DnsZoneConfig } from './dns-zone.ts';

/** Settings of `startDnsServer`. */
export interface DnsServerOptions extends DnsResponderOptions {
  /** The zones served (configs are validated: a bad table throws `RangeError`). */
  readonly zones: readonly (DnsZoneConfig | DnsZone)[];
  /** Port for UDP and TCP (default 53; 0 = random free port). */
  readonly port?: number;
  /** Local address literal (default all addresses of `family`). */
  readonly host?: string;
  /** Address family (default 4). */
  readonly family?: 4 | 6;
  /** Serve UDP (default true). */
  readonly udp?: boolean;
  /** Serve TCP (default true). */
  readonly tcp?: boolean;
  /** Idle time after which a TCP connection is closed, ms (default 10000). */
  readonly tcpIdleMs?: number;
  /** Most TCP connections at once (default 32). */
  readonly maxTcpConnections?: number;
}

/** The server's counters (a snapshot). */
export interface DnsServerStats {
  /** Messages received (UDP datagrams and TCP frames). */
  readonly queries: number;
  readonly udpQueries: number;
  readonly tcpQueries: number;
  /** NOERROR answers with records (a CNAME chain counts). */
  readonly answers: number;
  readonly nodata: number;
  readonly nxdomain: number;
  readonly refused: number;
  readonly formerr: number;
  readonly notimp: number;
  readonly servfail: number;
  readonly badvers: number;
  /** UDP answers sent truncated (TC). */
  readonly truncated: number;
  /** Messages not answered (too short for a header, responses, zero-length TCP frames). */
  readonly dropped: number;
  readonly tcpConnections: number;
  /** TCP connections closed at once because `maxTcpConnections` were open. */
  readonly tcpRejected: number;
  /** Replies the socket refused to send. */
  readonly sendErrors: number;
}

type MutableStats = { -readonly [K in keyof DnsServerStats]: number };

const OUTCOME_KEY: Readonly<Record<DnsOutcome, keyof DnsServerStats>> = Object.freeze({
  answer: 'answers',
  nodata: 'nodata',
  nxdomain: 'nxdomain',
  refused: 'refused',
  formerr: 'formerr',
  notimp: 'notimp',
  servfail: 'servfail',
  badvers: 'badvers',
  dropped: 'dropped',
});

/** Largest TCP receive backlog per connection: one maximal message and its prefix, twice. */
const MAX_TCP_BUFFERED = 2 * (2 + 65_535);
const PORT_TRIES = 8;

/**
 * A small authoritative DNS server over `Network` (so on any backend): UDP and TCP (RFC 7766 framing) on one port,
 * answers from its zones (NXDOMAIN, NODATA, REFUSED outside them, TC over UDP when too big); malformed input is
 * answered FORMERR or dropped and counted. Start it with `startDnsServer`.
 */
export class DnsServer {
  /** The port served (UDP and TCP). */
  readonly port: number;
  /** The local address served, as text. */
  readonly address: string;
  readonly #responder: DnsResponder;
  readonly #udp: UdpSocket | undefined;
  readonly #tcp: TcpServer | undefined;
  readonly #idleMs: number;
  readonly #maxPeers: number;
  readonly #peers = new Set<TcpSocket>();
  readonly #loops: Promise<void>[] = [];
  readonly #stats: MutableStats = {
    queries: 0, udpQueries: 0, tcpQueries: 0, answers: 0, nodata: 0, nxdomain: 0, refused: 0, formerr: 0, notimp: 0,
    servfail: 0, badvers: 0, truncated: 0, dropped: 0, tcpConnections: 0, tcpRejected: 0, sendErrors: 0,
  };
  #closed = false;
  #closing: Promise<void> | undefined;

  /** @internal Use `startDnsServer`. */
  constructor(responder: DnsResponder, udp: UdpSocket | undefined, tcp: TcpServer | undefined, options: DnsServerOptions) {
    this.#responder = responder;
    this.#udp = udp;
    this.#tcp = tcp;
    const local = udp?.address ?? tcp?.address;
    this.port = local?.port ?? 0;
    this.address = local?.address ?? '';
    this.#idleMs = options.tcpIdleMs ?? 10_000;
    this.#maxPeers = options.maxTcpConnections ?? 32;
    if (udp !== undefined) this.#loops.push(this.#udpLoop(udp));
    if (tcp !== undefined) this.#loops.push(this.#tcpLoop(tcp));
  }

  /** A snapshot of the counters. */
  get stats(): DnsServerStats {
    return { ...this.#stats };
  }

  /** Stops serving: closes the sockets and every TCP connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await Promise.all([this.#udp?.close(), this.#tcp?.close(), ...[...this.#peers].map((p) => p.close())].map((p) => p?.catch(() => undefined)));
      await Promise.all(this.#loops);
    })();
    return this.#closing;
  }

  #count(reply: DnsReply): void {
    this.#stats[OUTCOME_KEY[reply.outcome]]++;
    if (reply.truncated) this.#stats.truncated++;
  }

  async #udpLoop(udp: UdpSocket): Promise<void> {
    while (!this.#closed) {
      let datagram;
      try {
        datagram = await udp.recv();
      } catch {
        if (this.#closed || udp.closed) return;
        continue;
      }
      this.#stats.queries++;
      this.#stats.udpQueries++;
      const reply = this.#responder.respond(datagram.data, 'udp');
      this.#count(reply);
      if (reply.bytes === undefined) continue;
      try {
        await udp.send(reply.bytes, datagram.from);
      } catch {
        this.#stats.sendErrors++;
      }
    }
  }

  async #tcpLoop(server: TcpServer): Promise<void> {
    const sessions: Promise<void>[] = [];
    while (!this.#closed) {
      let peer: TcpSocket;
      try {
        peer = await server.accept();
      } catch {
        if (this.#closed || server.closed) break;
        continue;
      }
      if (this.#closed || this.#peers.size >= this.#maxPeers) {
        this.#stats.tcpRejected++;
        peer.destroy();
        continue;
      }
      this.#stats.tcpConnections++;
      this.#peers.add(peer);
      const session = this.#serveTcp(peer).finally(() => {
        this.#peers.delete(peer);
        sessions.splice(sessions.indexOf(session), 1);
      });
      sessions.push(session);
    }
    await Promise.all(sessions);
  }

  async #serveTcp(peer: TcpSocket): Promise<void> {
    let buf: Uint8Array = new Uint8Array(0);
    try {
      for (;;) {
        while (buf.length >= 2) {
          const len = ((buf[0] as number) << 8) | (buf[1] as number);
          if (buf.length < 2 + len) break;
          const message = buf.subarray(2, 2 + len);
          buf = buf.subarray(2 + len);
          this.#stats.queries++;
          this.#stats.tcpQueries++;
          const reply = len === 0 ? { bytes: undefined, outcome: 'dropped' as const, truncated: false } : this.#responder.respond(message, 'tcp');
          this.#count(reply);
          if (reply.bytes === undefined) continue;
          const framed = new Uint8Array(2 + reply.bytes.length);
          framed[0] = reply.bytes.length >> 8;
          framed[1] = reply.bytes.length & 0xff;
          framed.set(reply.bytes, 2);
          await peer.write(framed);
        }
        const chunk = await peer.read({ timeoutMs: this.#idleMs });
        if (chunk === null) break;
        if (buf.length + chunk.length > MAX_TCP_BUFFERED) break;
        const joined = new Uint8Array(buf.length + chunk.length);
        joined.set(buf);
        joined.set(chunk, buf.length);
        buf = joined;
      }
    } catch (e) {
      if (!(e instanceof SocketError)) throw e; // a bug, not the network
    } finally {
      await peer.close().catch(() => undefined);
    }
  }
}

/**
 * Starts a DNS server on `network` (see `DnsServerOptions`). Rejects with a
 * `SocketError` when a socket cannot be bound, `RangeError` on a bad zone table.
 */
export async function startDnsServer(network: Network, options: DnsServerOptions): Promise<DnsServer> {
  const zones = options.zones.map((z) => (z instanceof DnsZone ? z : new DnsZone(z)));
  const responder = new DnsResponder(zones, options);
  const wantUdp = options.udp ?? true;
  const wantTcp = options.tcp ?? true;
  const port = options.port ?? 53;
  const where = { host: options.host, family: options.family ?? 4 };
  for (let i = 0; ; i++) {
    const udp = wantUdp ? await network.udp({ ...where, port }) : undefined;
    let tcp: TcpServer | undefined;
    try {
      tcp = wantTcp ? await network.listen({ ...where, port: udp?.address.port ?? port }) : undefined;
    } catch (e) {
      await udp?.close();
      const retry = port === 0 && udp !== undefined && e instanceof SocketError && e.code === 'EADDRINUSE' && i + 1 < PORT_TRIES;
      if (retry) continue;
      throw e;
    }
    return new DnsServer(responder, udp, tcp, options);
  }
}
