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
import type { ByteStream, Unsubscribe } from './byte-stream.ts';
import type { Link, LinkCaps, LinkStats } from './link.ts';
import { checkMtu } from './virtual-cable.ts';
import { WakeSet } from './wake-set.ts';

export interface SlipLinkOptions {
  /** Largest IP packet sent (default 1006, RFC 1055's conventional SLIP MTU). */
  mtu?: number;
  /** Largest IP packet accepted (default the larger of `mtu` and 1500). */
  mru?: number;
  /** Receive queue bound in packets (default 64). */
  queueFrames?: number;
  /** Encoded bytes held back while the stream asks to wait (default 16 384). */
  txBacklogBytes?: number;
  /** `close()` closes the stream too (default true). */
  closeStream?: boolean;
}

/** `LinkStats` with the drops split by reason, and the decoder's counters. */
export interface SlipLinkStats extends LinkStats {
  /** Packets given to `transmit` larger than the MTU. */
  droppedOversize: number;
  /** Packets given to `transmit` after the link or the stream closed. */
  droppedClosed: number;
  /** Packets given to `transmit` while the backlog was full. */
  droppedBacklog: number;
  /** Received packets dropped because the receive queue was full. */
  droppedQueueFull: number;
  /** Times the stream asked to wait (`write` returned false). */
  txBlocked: number;
  /** The SLIP decoder's counters (bad escapes, runts, oversize). */
  decoder: SlipDecoderStats;
}

const DEFAULT_QUEUE_FRAMES = 64;
const DEFAULT_BACKLOG_BYTES = 16_384;

export class SlipLink implements Link {
  readonly caps: LinkCaps;
  private readonly stream: ByteStream;
  private readonly encoder = new SlipEncoder();
  private readonly decoder: SlipDecoder;
  private readonly wakes = new WakeSet();
  private readonly subscriptions: Unsubscribe[];
  private readonly closeStream: boolean;
  /** Receive ring of decoded packets. */
  private readonly rx: (Uint8Array | undefined)[];
  private rxHead = 0;
  private rxCount = 0;
  /** Encoded packets waiting for the stream's drain. */
  private backlog: Uint8Array[] = [];
  private backlogBytes = 0;
  private readonly backlogLimit: number;
  /** The stream asked to wait and has not drained yet. */
  private blocked = false;
  private closed = false;
  private readonly counters = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    dropped: 0,
    droppedOversize: 0,
    droppedClosed: 0,
    droppedBacklog: 0,
    droppedQueueFull: 0,
    txBlocked: 0,
  };

  constructor(stream: ByteStream, options: SlipLinkOptions = {}) {
    const mtu = checkMtu(options.mtu ?? SLIP_DEFAULT_MTU);
    const mru = checkMtu(options.mru ?? Math.max(mtu, 1500));
    const queueFrames = options.queueFrames ?? DEFAULT_QUEUE_FRAMES;
    if (!Number.isInteger(queueFrames) || queueFrames < 1) throw new RangeError(`queueFrames must be an integer >= 1, got ${queueFrames}`);
    this.backlogLimit = Math.max(0, Math.floor(options.txBacklogBytes ?? DEFAULT_BACKLOG_BYTES));
    this.caps = Object.freeze({ medium: 'ip', mtu });
    this.stream = stream;
    this.closeStream = options.closeStream ?? true;
    this.rx = new Array<Uint8Array | undefined>(queueFrames);
    this.decoder = new SlipDecoder((packet) => this.enqueue(packet), { maxPacket: mru });
    this.subscriptions = [
      stream.onData((bytes) => {
        if (!this.closed) this.decoder.push(bytes);
      }),
      stream.onDrain(() => this.flush()),
    ];
  }

  /** Counters (a copy). */
  stats(): SlipLinkStats {
    return { ...this.counters, decoder: this.decoder.stats() };
  }

  /** Packets waiting for `receive()`. */
  get queued(): number {
    return this.rxCount;
  }

  /** Encoded bytes held back for the stream's drain. */
  get backlogged(): number {
    return this.backlogBytes;
  }

  receive(_now: Instant): Uint8Array | undefined {
    if (this.rxCount === 0) return undefined;
    const i = this.rxHead;
    const packet = this.rx[i] as Uint8Array;
    this.rx[i] = undefined;
    this.rxHead = (i + 1) % this.rx.length;
    this.rxCount--;
    this.counters.rxFrames++;
    this.counters.rxBytes += packet.length;
    return packet;
  }

  transmit(_now: Instant, frame: Uint8Array): boolean {
    const c = this.counters;
    if (this.closed || this.stream.closed) return this.drop('droppedClosed');
    if (frame.length > this.caps.mtu) return this.drop('droppedOversize');
    const wire = this.encoder.encode(frame);
    if (this.blocked) {
      if (this.backlogBytes + wire.length > this.backlogLimit) return this.drop('droppedBacklog');
      this.backlog.push(wire.slice());
      this.backlogBytes += wire.length;
    } else if (!this.stream.write(wire)) {
      if (this.stream.closed) return this.drop('droppedClosed');
      this.blocked = true;
      c.txBlocked++;
    }
    c.txFrames++;
    c.txBytes += frame.length;
    return true;
  }

  onReadable(wake: () => void): () => void {
    if (this.closed) return () => {};
    const off = this.wakes.add(wake);
    if (this.rxCount > 0) wake();
    return off;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.subscriptions) off();
    this.wakes.clear();
    this.rx.fill(undefined);
    this.rxCount = 0;
    this.backlog = [];
    this.backlogBytes = 0;
    this.decoder.reset();
    if (this.closeStream) this.stream.close();
  }

  private drop(reason: 'droppedClosed' | 'droppedOversize' | 'droppedBacklog'): false {
    this.counters.dropped++;
    this.counters[reason]++;
    return false;
  }

  private enqueue(packet: Uint8Array): void {
    const n = this.rx.length;
    if (this.rxCount >= n) {
      this.counters.dropped++;
      this.counters.droppedQueueFull++;
      return;
    }
    this.rx[(this.rxHead + this.rxCount) % n] = packet;
    this.rxCount++;
    this.wakes.notify();
  }

  /** The stream drained: write the backlog until it asks to wait again. */
  private flush(): void {
    if (this.closed) return;
    this.blocked = false;
    while (this.backlog.length > 0) {
      const next = this.backlog.shift() as Uint8Array;
      this.backlogBytes -= next.length;
      if (!this.stream.write(next)) {
        this.blocked = true;
        this.counters.txBlocked++;
        return;
      }
    }
  }
}
