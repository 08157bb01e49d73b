/**
 * A scripted, in-memory network of DNS servers for resolver tests: a `DnsSocketFactory`
 * whose UDP and TCP sockets deliver each query to a script per server address and
 * hand back what the script says (answers, silence, spoofed or malformed datagrams,
 * ICMP refusals), after delays on a `VirtualScheduler`. Deterministic; no real I/O.
 *
 * Unlike a real backend, a connected UDP socket here does not filter sources, so the
 * resolver's own RFC 5452 source check is exercised.
 */
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import type { Af, CoreSocket, Endpoint, RecvInfo, SockType } from '../../src/backends/contract.ts';
import type { DnsSocketFactory } from '../../src/backends/dns/dns-transport.ts';
import {
  IOT_SOCKET_EAGAIN, IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_EINPROGRESS, IOT_SOCKET_ENOTCONN, IOT_SOCKET_ERROR,
} from '../../src/base/iot-constants.ts';
import { formatIp, parseIp } from '../../src/base/ip-address.ts';
import type { VirtualScheduler } from '../../src/base/time.ts';

/** What a server does with one query. */
export type ScriptReply =
  /** A response built from the query (id and question echoed unless overridden). */
  | {
      readonly kind: 'answer';
      readonly rcode?: number;
      readonly tc?: boolean;
      readonly aa?: boolean;
      readonly answers?: Answer[];
      readonly authorities?: Answer[];
      readonly additionals?: Answer[];
      /** Override the echoed id (spoofing tests). */
      readonly id?: number;
      /** Override the echoed question. */
      readonly questions?: Packet['questions'];
      readonly delayMs?: number;
      /** Send from another address or port (spoofing tests). */
      readonly from?: { readonly address?: string; readonly port?: number };
    }
  /** Arbitrary bytes. */
  | { readonly kind: 'raw'; readonly bytes: Uint8Array; readonly delayMs?: number }
  /** No answer at all. */
  | { readonly kind: 'silent' }
  /** An ICMP port unreachable: the connected UDP socket's next recv says ECONNREFUSED. */
  | { readonly kind: 'unreachable'; readonly delayMs?: number };

/** One query as a server saw it. */
export interface LoggedQuery {
  readonly server: string;
  readonly transport: 'udp' | 'tcp';
  readonly id: number;
  readonly localPort: number;
  readonly name: string;
  readonly type: string;
  readonly edns: boolean;
  readonly at: number;
}

export type ServerScript = (q: DecodedPacket, info: LoggedQuery) => ScriptReply | readonly ScriptReply[];

/** `'10.0.0.53'` -> `'10.0.0.53:53'`; `'[fd00::53]:53'` stays. */
function key(address: Uint8Array, port: number): string {
  const host = formatIp(address);
  return address.length === 16 ? `[${host}]:${port}` : `${host}:${port}`;
}

export class DnsScriptNet implements DnsSocketFactory {
  readonly sched: VirtualScheduler;
  readonly scripts = new Map<string, ServerScript>();
  readonly log: LoggedQuery[] = [];
  /** Servers whose TCP port refuses connections. */
  readonly tcpRefused = new Set<string>();
  created = 0;
  closed = 0;
  private nextPort = 0;
  private readonly portSeed: number;

  constructor(sched: VirtualScheduler, scripts: Record<string, ServerScript> = {}, portSeed = 7) {
    this.sched = sched;
    for (const [k, v] of Object.entries(scripts)) this.scripts.set(k, v);
    this.portSeed = portSeed;
  }

  /** Sockets open now. */
  get open(): number {
    return this.created - this.closed;
  }

  /** A pseudo-random ephemeral port, as a backend's RFC 6056 implicit bind picks. */
  ephemeralPort(): number {
    this.nextPort++;
    return 49152 + ((this.nextPort * 7919 + this.portSeed * 104729) % 16384);
  }

  createSocket(af: Af, type: SockType): CoreSocket | number {
    this.created++;
    return type === 2 ? new ScriptUdp(this, af) : new ScriptTcp(this, af);
  }

  /** Runs the script of `server` for one raw query; the replies to deliver. */
  handle(server: string, transport: 'udp' | 'tcp', bytes: Uint8Array, localPort: number): { reply: ScriptReply; bytes?: Uint8Array }[] {
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(Buffer.from(bytes));
    } catch {
      return [];
    }
    const question = q.questions?.[0];
    const info: LoggedQuery = {
      server, transport, id: q.id ?? 0, localPort, name: question?.name ?? '', type: question?.type ?? '',
      edns: (q.additionals ?? []).some((a) => a.type === 'OPT'), at: this.sched.now(),
    };
    this.log.push(info);
    const script = this.scripts.get(server);
    if (script === undefined) return [];
    const out = script(q, info);
    const list = Array.isArray(out) ? (out as readonly ScriptReply[]) : [out as ScriptReply];
    return list.map((reply) => {
      if (reply.kind === 'raw') return { reply, bytes: reply.bytes };
      if (reply.kind !== 'answer') return { reply };
      const flags = (reply.aa === false ? 0 : dnsPacket.AUTHORITATIVE_ANSWER) | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE |
        (reply.tc === true ? dnsPacket.TRUNCATED_RESPONSE : 0) | ((reply.rcode ?? 0) & 0xf);
      const encoded = dnsPacket.encode({
        type: 'response',
        id: reply.id ?? q.id ?? 0,
        flags,
        questions: reply.questions ?? q.questions ?? [],
        answers: reply.answers ?? [],
        authorities: reply.authorities ?? [],
        additionals: reply.additionals ?? [],
      });
      return { reply, bytes: new Uint8Array(encoded) };
    });
  }
}

interface Datagram {
  data: Uint8Array;
  address: Uint8Array;
  port: number;
}

class ScriptUdp implements CoreSocket {
  readonly af: Af;
  readonly type = 2 as const;
  private readonly net: DnsScriptNet;
  private callback: (() => void) | undefined;
  private dest: Endpoint | undefined;
  private localPort = 0;
  private readonly queue: Datagram[] = [];
  private refused = false;
  private closed = false;

  constructor(net: DnsScriptNet, af: Af) {
    this.net = net;
    this.af = af;
  }

  onChange(cb: (() => void) | undefined): void {
    this.callback = cb;
  }
  bind(): number {
    return IOT_SOCKET_ERROR;
  }
  listen(): number {
    return IOT_SOCKET_ERROR;
  }
  accept(): number {
    return IOT_SOCKET_ERROR;
  }
  connect(address: Uint8Array, port: number): number {
    this.dest = { address: Uint8Array.from(address), port };
    if (this.localPort === 0) this.localPort = this.net.ephemeralPort();
    return 0;
  }
  connectResult(): number {
    return this.dest === undefined ? IOT_SOCKET_ENOTCONN : 0;
  }
  recv(buf: Uint8Array, len: number, from?: RecvInfo): number {
    if (this.refused) {
      this.refused = false;
      return IOT_SOCKET_ECONNREFUSED;
    }
    const d = this.queue.shift();
    if (d === undefined) return IOT_SOCKET_EAGAIN;
    const n = Math.min(len, d.data.length);
    buf.set(d.data.subarray(0, n));
    if (from !== undefined) {
      from.address = d.address;
      from.port = d.port;
    }
    return n;
  }
  send(buf: Uint8Array, len: number): number {
    const dest = this.dest;
    if (dest === undefined) return IOT_SOCKET_ENOTCONN;
    const server = key(dest.address, dest.port);
    for (const { reply, bytes } of this.net.handle(server, 'udp', buf.slice(0, len), this.localPort)) {
      if (reply.kind === 'silent') continue;
      const delay = reply.delayMs ?? 1;
      this.net.sched.setTimer(delay, () => {
        if (this.closed) return;
        if (reply.kind === 'unreachable') {
          this.refused = true;
        } else if (bytes !== undefined) {
          const from = reply.kind === 'answer' ? reply.from : undefined;
          const address = from?.address !== undefined ? (parseIp(from.address) ?? dest.address) : dest.address;
          this.queue.push({ data: bytes, address, port: from?.port ?? dest.port });
        }
        this.callback?.();
      });
    }
    return len;
  }
  shutdown(): number {
    return 0;
  }
  peerClosed(): boolean {
    return false;
  }
  localEndpoint(): Endpoint | undefined {
    return this.localPort === 0 ? undefined : { address: new Uint8Array(this.af === 1 ? 4 : 16), port: this.localPort };
  }
  remoteEndpoint(): Endpoint | undefined {
    return this.dest;
  }
  setKeepAlive(): number {
    return 0;
  }
  close(): number {
    if (!this.closed) {
      this.closed = true;
      this.net.closed++;
    }
    return 0;
  }
}

class ScriptTcp implements CoreSocket {
  readonly af: Af;
  readonly type = 1 as const;
  private readonly net: DnsScriptNet;
  private callback: (() => void) | undefined;
  private dest: Endpoint | undefined;
  private outcome = IOT_SOCKET_EINPROGRESS;
  private sent = new Uint8Array(0);
  private rx = new Uint8Array(0);
  private readonly localPort: number;
  private closed = false;

  constructor(net: DnsScriptNet, af: Af) {
    this.net = net;
    this.af = af;
    this.localPort = net.ephemeralPort();
  }

  onChange(cb: (() => void) | undefined): void {
    this.callback = cb;
  }
  bind(): number {
    return IOT_SOCKET_ERROR;
  }
  listen(): number {
    return IOT_SOCKET_ERROR;
  }
  accept(): number {
    return IOT_SOCKET_ERROR;
  }
  connect(address: Uint8Array, port: number): number {
    this.dest = { address: Uint8Array.from(address), port };
    const refused = this.net.tcpRefused.has(key(address, port));
    this.net.sched.setTimer(1, () => {
      this.outcome = refused ? IOT_SOCKET_ECONNREFUSED : 0;
      this.callback?.();
    });
    return IOT_SOCKET_EINPROGRESS;
  }
  connectResult(): number {
    return this.outcome;
  }
  recv(buf: Uint8Array, len: number): number {
    if (this.rx.length === 0) return IOT_SOCKET_EAGAIN;
    const n = Math.min(len, this.rx.length);
    buf.set(this.rx.subarray(0, n));
    this.rx = this.rx.slice(n);
    return n;
  }
  send(buf: Uint8Array, len: number): number {
    if (this.outcome !== 0 || this.dest === undefined) return IOT_SOCKET_ENOTCONN;
    const joined = new Uint8Array(this.sent.length + len);
    joined.set(this.sent);
    joined.set(buf.subarray(0, len), this.sent.length);
    this.sent = joined;
    while (this.sent.length >= 2) {
      const n = ((this.sent[0] as number) << 8) | (this.sent[1] as number);
      if (this.sent.length < 2 + n) break;
      const msg = this.sent.slice(2, 2 + n);
      this.sent = this.sent.slice(2 + n);
      for (const { reply, bytes } of this.net.handle(key(this.dest.address, this.dest.port), 'tcp', msg, this.localPort)) {
        if (bytes === undefined || reply.kind === 'silent' || reply.kind === 'unreachable') continue;
        this.net.sched.setTimer(reply.delayMs ?? 1, () => {
          if (this.closed) return;
          const framed = new Uint8Array(this.rx.length + 2 + bytes.length);
          framed.set(this.rx);
          framed[this.rx.length] = bytes.length >> 8;
          framed[this.rx.length + 1] = bytes.length & 0xff;
          framed.set(bytes, this.rx.length + 2);
          this.rx = framed;
          this.callback?.();
        });
      }
    }
    return len;
  }
  shutdown(): number {
    return 0;
  }
  peerClosed(): boolean {
    return false;
  }
  localEndpoint(): Endpoint | undefined {
    return { address: new Uint8Array(4), port: this.localPort };
  }
  remoteEndpoint(): Endpoint | undefined {
    return this.dest;
  }
  setKeepAlive(): number {
    return 0;
  }
  close(): number {
    if (!this.closed) {
      this.closed = true;
      this.net.closed++;
    }
    return 0;
  }
}

/** An A record. */
export function a(name: string, data: string, ttl = 60): Answer {
  return { type: 'A', name, ttl, class: 'IN', data };
}
/** An AAAA record. */
export function aaaa(name: string, data: string, ttl = 60): Answer {
  return { type: 'AAAA', name, ttl, class: 'IN', data };
}
/** A CNAME record. */
export function cname(name: string, target: string, ttl = 60): Answer {
  return { type: 'CNAME', name, ttl, class: 'IN', data: target };
}
/** An SOA record with negative-caching `minimum`. */
export function soa(zone: string, minimum: number, ttl = 3600): Answer {
  return { type: 'SOA', name: zone, ttl, class: 'IN', data: { mname: `ns.${zone}`, rname: `host.${zone}`, serial: 1, refresh: 1, retry: 1, expire: 1, minimum } };
}
