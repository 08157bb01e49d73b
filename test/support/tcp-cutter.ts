/**
 * `TcpCutter`: a pass-through Ethernet link (IPv4) that can kill the TCP connections to
 * one remote port from the link layer, as a middlebox or a NAT losing its state does:
 * `cut()` forges a RST for each connection it saw, in both directions (to the peer
 * through the inner link, to our stack through `receive()`), with the exact sequence
 * numbers each side expects, so the peer (say, the Linux kernel under RFC 5961) and our
 * stack both accept it. `blocked` drops every frame both ways meanwhile (an outage).
 */
import type { Link } from '../../src/link/link.ts';
import { fixChecksums } from './frame-mutator.ts';

interface Flow {
  readonly ourMac: Uint8Array;
  readonly theirMac: Uint8Array;
  readonly ourIp: Uint8Array;
  readonly theirIp: Uint8Array;
  readonly ourPort: number;
  readonly theirPort: number;
  /** The next sequence number each side will send (what the other side expects). */
  ourNext: number;
  theirNext: number;
  closed: boolean;
}

const u16 = (b: Uint8Array, o: number): number => (((b[o] ?? 0) << 8) | (b[o + 1] ?? 0)) >>> 0;
const u32 = (b: Uint8Array, o: number): number => (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
const after = (a: number, b: number): boolean => ((a - b) | 0) > 0;

/** TCP segment fields of an Ethernet/IPv4 frame, or undefined. */
function parse(f: Uint8Array): { ipOff: number; tcpOff: number; sport: number; dport: number; seq: number; ack: number; flags: number; len: number } | undefined {
  if (f.length < 54 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 6) return undefined;
  const ipOff = 14;
  const ihl = ((f[ipOff] ?? 0) & 0x0f) * 4;
  const total = u16(f, ipOff + 2);
  const tcpOff = ipOff + ihl;
  if (f.length < tcpOff + 20 || total < ihl + 20) return undefined;
  const dataOff = ((f[tcpOff + 12] ?? 0) >> 4) * 4;
  const flags = f[tcpOff + 13] ?? 0;
  const len = total - ihl - dataOff + ((flags & 0x02) !== 0 ? 1 : 0) + ((flags & 0x01) !== 0 ? 1 : 0);
  return { ipOff, tcpOff, sport: u16(f, tcpOff), dport: u16(f, tcpOff + 2), seq: u32(f, tcpOff + 4), ack: u32(f, tcpOff + 8), flags, len };
}

export class TcpCutter implements Link {
  readonly caps: Link['caps'];
  /** Drop every frame, both ways. */
  blocked = false;
  /** RSTs forged so far (each direction counts). */
  forged = 0;
  readonly #inner: Link;
  readonly #port: number;
  readonly #flows = new Map<number, Flow>();
  readonly #toStack: Uint8Array[] = [];
  readonly #wakes = new Set<() => void>();

  /** Watches connections whose remote port is `remotePort`. */
  constructor(inner: Link, remotePort: number) {
    this.#inner = inner;
    this.caps = inner.caps;
    this.#port = remotePort;
    inner.onReadable(() => this.#wake());
  }

  /** Connections seen and not closed. */
  get liveFlows(): number {
    return [...this.#flows.values()].filter((f) => !f.closed).length;
  }

  receive(now: number): Uint8Array | undefined {
    const forged = this.#toStack.shift();
    if (forged !== undefined) return forged;
    for (;;) {
      const f = this.#inner.receive(now);
      if (f === undefined) return undefined;
      if (this.blocked) continue;
      const s = parse(f);
      if (s !== undefined && s.sport === this.#port) {
        const flow = this.#flows.get(s.dport);
        if ((s.flags & 0x05) !== 0) {
          if (flow !== undefined) flow.closed = true; // reset or closing: nothing to cut
        } else if (flow !== undefined) {
          const end = (s.seq + s.len) >>> 0;
          if (after(end, flow.theirNext) || (s.flags & 0x02) !== 0) flow.theirNext = end;
          if ((s.flags & 0x10) !== 0 && after(s.ack, flow.ourNext)) flow.ourNext = s.ack;
        }
      }
      return f;
    }
  }

  transmit(now: number, frame: Uint8Array): boolean {
    if (this.blocked) return true; // lost on the way
    const s = parse(frame);
    if (s !== undefined && s.dport === this.#port) {
      if ((s.flags & 0x02) !== 0 && (s.flags & 0x10) === 0) {
        this.#flows.set(s.sport, {
          ourMac: frame.slice(6, 12), theirMac: frame.slice(0, 6),
          ourIp: frame.slice(s.ipOff + 12, s.ipOff + 16), theirIp: frame.slice(s.ipOff + 16, s.ipOff + 20),
          ourPort: s.sport, theirPort: s.dport, ourNext: (s.seq + 1) >>> 0, theirNext: 0, closed: false,
        });
      } else {
        const flow = this.#flows.get(s.sport);
        if (flow !== undefined) {
          if ((s.flags & 0x05) !== 0) flow.closed = true; // reset or closing: nothing to cut
          const end = (s.seq + s.len) >>> 0;
          if (after(end, flow.ourNext)) flow.ourNext = end;
          if ((s.flags & 0x10) !== 0 && after(s.ack, flow.theirNext)) flow.theirNext = s.ack;
        }
      }
    }
    return this.#inner.transmit(now, frame);
  }

  /** Forges a RST both ways for every live connection; returns how many were cut. */
  cut(now: number): number {
    let n = 0;
    for (const flow of this.#flows.values()) {
      if (flow.closed) continue;
      flow.closed = true;
      n++;
      this.#inner.transmit(now, rst(flow.ourMac, flow.theirMac, flow.ourIp, flow.theirIp, flow.ourPort, flow.theirPort, flow.ourNext));
      this.#toStack.push(rst(flow.theirMac, flow.ourMac, flow.theirIp, flow.ourIp, flow.theirPort, flow.ourPort, flow.theirNext));
      this.forged += 2;
    }
    if (n > 0) this.#wake();
    return n;
  }

  onReadable(wake: () => void): () => void {
    const entry = (): void => wake();
    this.#wakes.add(entry);
    return () => this.#wakes.delete(entry);
  }

  close(): void {
    this.#wakes.clear();
    this.#inner.close();
  }

  #wake(): void {
    for (const w of this.#wakes) w();
  }
}

function rst(srcMac: Uint8Array, dstMac: Uint8Array, srcIp: Uint8Array, dstIp: Uint8Array, sport: number, dport: number, seq: number): Uint8Array {
  const f = new Uint8Array(54);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  const ip = 14;
  f[ip] = 0x45;
  f[ip + 3] = 40; // total length
  f[ip + 6] = 0x40; // DF
  f[ip + 8] = 64; // TTL
  f[ip + 9] = 6;
  f.set(srcIp, ip + 12);
  f.set(dstIp, ip + 16);
  const t = 34;
  f[t] = sport >> 8;
  f[t + 1] = sport & 0xff;
  f[t + 2] = dport >> 8;
  f[t + 3] = dport & 0xff;
  f[t + 4] = seq >>> 24;
  f[t + 5] = (seq >>> 16) & 0xff;
  f[t + 6] = (seq >>> 8) & 0xff;
  f[t + 7] = seq & 0xff;
  f[t + 12] = 5 << 4;
  f[t + 13] = 0x04; // RST
  fixChecksums(f, true);
  return f;
}
