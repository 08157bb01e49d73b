/**
 * `SlipLink`: a `Link` (medium `'ip'`) carrying bare IP packets in SLIP framing (RFC 1055,
 * src/wire/slip.ts) over any `ByteStream`: a pty master, a serial port, an in-memory byte pipe.
 *
 * - **Transmit:** `transmit` encodes the packet (one reusable buffer) and writes it to the stream at
 *   once. When the stream asks to wait (`write` returned false) the link keeps further encoded
 *   packets in a backlog bounded in bytes (`txBacklogBytes`) and writes them on `onDrain`; a packet
 *   that does not fit, that is larger than the MTU, or that comes after the stream closed is
 *   dropped and counted (`transmit` returns false), never thrown.
 * - **Receive:** bytes from the stream go through a `SlipDecoder` (Linux slip.c rules) into a
 *   bounded packet queue (`queueFrames`, a packet arriving at a full queue is dropped and counted);
 *   each queued packet runs the `onReadable` wake-ups, which must only schedule a poll. The stack
 *   takes packets with `receive()` in its poll: nothing is delivered re-entrantly. Packets up to
 *   `mru` bytes are accepted (default the larger of the MTU and 1500: be liberal with a peer whose
 *   MTU is larger); bigger ones are dropped by the decoder.
 * - **Lifetime:** `close()` unsubscribes from the stream, drops what is queued, and closes the
 *   stream too unless `closeStream` is false. A stream that closes by itself makes later
 *   transmits fail (`droppedClosed`); packets already queued can still be received.
 *
 * There is no link header and no checksum on SLIP: what arrives damaged is caught by the IP and
 * transport checksums. CSLIP is not supported.
 */
import type { Instant } from '../base/time.ts';
import { SLIP_DEFAULT_MTU, SlipDecoder, SlipEncoder, type SlipDecoderStats } from '../wire/slip.ts';
import type { ByteStream } from './byte-stream.ts';
import { StreamLink, type StreamLinkOptions, type StreamLinkStats } from './stream-link.ts';
import { checkMtu } from './virtual-cable.ts';

export interface SlipLinkOptions extends StreamLinkOptions {
  /** Largest IP packet sent (default 1006, RFC 1055's conventional SLIP MTU). */
  mtu?: number;
  /** Largest IP packet accepted (default the larger of `mtu` and 1500). */
  mru?: number;
}

/** `LinkStats` with the drops split by reason, and the decoder's counters. */
export interface SlipLinkStats extends StreamLinkStats {
  /** The SLIP decoder's counters (bad escapes, runts, oversize). */
  decoder: SlipDecoderStats;
}

/**
 * A `Link` (medium `'ip'`) carrying IP packets in SLIP framing (RFC 1055) over any `ByteStream`, with a bounded
 * transmit backlog and receive queue; drops are counted, never thrown.
 */
export class SlipLink extends StreamLink {
  private readonly encoder = new SlipEncoder();
  private readonly decoder: SlipDecoder;

  constructor(stream: ByteStream, options: SlipLinkOptions = {}) {
    const mtu = checkMtu(options.mtu ?? SLIP_DEFAULT_MTU);
    const mru = checkMtu(options.mru ?? Math.max(mtu, 1500));
    super(stream, { medium: 'ip', mtu }, options);
    this.decoder = new SlipDecoder((packet) => this.enqueue(packet), { maxPacket: mru });
  }

  /** Counters (a copy). */
  stats(): SlipLinkStats {
    return { ...this.counters, decoder: this.decoder.stats() };
  }

  /**
   * Encodes and writes one packet; false (dropped and counted) when it exceeds the MTU, the link or stream is
   * closed, or the backlog is full.
   */
  transmit(_now: Instant, frame: Uint8Array): boolean {
    if (this.closed || this.stream.closed) return this.drop('droppedClosed');
    if (frame.length > this.caps.mtu) return this.drop('droppedOversize');
    if (!this.write(this.encoder.encode(frame))) return false;
    this.counters.txFrames++;
    this.counters.txBytes += frame.length;
    return true;
  }

  protected input(bytes: Uint8Array): void {
    this.decoder.push(bytes);
  }

  protected override closing(): void {
    this.decoder.reset();
  }
}
