import type { Link } from '../../src/link/link.ts';

/**
 * A pass-through link that silently drops TCP SYNs (without ACK) to one destination
 * port, over IPv4 or IPv6 (TCP straight after the IPv6 header): the black-hole target of the conformance suite on a virtual network.
 */
export class SynFilter implements Link {
  readonly caps: Link['caps'];
  dropped = 0;
  private readonly inner: Link;
  private readonly port: number;

  constructor(inner: Link, port: number) {
    this.inner = inner;
    this.caps = inner.caps;
    this.port = port;
  }

  receive(now: number): Uint8Array | undefined {
    return this.inner.receive(now);
  }

  transmit(now: number, frame: Uint8Array): boolean {
    const l2 = this.caps.medium === 'ethernet' ? 14 : 0;
    const version = (frame[l2] ?? 0) >> 4;
    const ethType = l2 === 0 ? (version === 6 ? 0x86dd : 0x0800) : ((frame[12] ?? 0) << 8) | (frame[13] ?? 0);
    // The TCP header's offset: after the IPv4 header (IHL), or straight after the IPv6 header (next header 6).
    let t = -1;
    if (ethType === 0x0800 && frame.length >= l2 + 20 && frame[l2 + 9] === 6) t = l2 + ((frame[l2] ?? 0) & 0x0f) * 4;
    else if (ethType === 0x86dd && frame.length >= l2 + 40 && frame[l2 + 6] === 6) t = l2 + 40;
    if (t >= 0 && frame.length >= t + 14) {
      const dport = ((frame[t + 2] ?? 0) << 8) | (frame[t + 3] ?? 0);
      const flags = frame[t + 13] ?? 0;
      if (dport === this.port && (flags & 0x12) === 0x02) {
        this.dropped++;
        return true; // lost on the way, as a black hole does
      }
    }
    return this.inner.transmit(now, frame);
  }

  onReadable(wake: () => void): () => void {
    return this.inner.onReadable(wake);
  }

  close(): void {
    this.inner.close();
  }
}
