/**
 * A `Link` over a WebSocket: Ethernet frames, one frame per binary WebSocket message. It joins a
 * userspace stack running in a browser page to a Node-side stack (src/apps/ws-bridge/ attaches
 * each connection to a virtual switch port), and works the same over the `ws` package's sockets
 * in Node.
 *
 * The socket is seen through `WebSocketPort`, a structural slice of the WHATWG `WebSocket` that
 * the browser's `WebSocket` and `ws`'s `WebSocket` both satisfy as they are (nothing here
 * imports `ws` or the DOM). The link sets `binaryType = 'arraybuffer'` and listens with
 * `addEventListener`; `close()` removes its listeners again, except a no-op `error` one.
 *
 * Carrier (`linkState`): up while the socket is OPEN. A socket still CONNECTING starts down and
 * comes up on `open`; `close` or `error` takes it down for good (a WebSocket does not reopen:
 * make a new socket and a new link). Frames queued when it goes down are lost (`rxLost`).
 *
 * Receive: a binary message of 14 (an Ethernet header) to mtu + 14 bytes is copied into a
 * bounded `FrameRing` (default 256 frames) and wakes the stack; text messages, runts and
 * other payload types count as `rxMalformed`, longer ones as `rxOversize`, a full ring as
 * `rxQueueFull`. Untrusted input never throws.
 *
 * Transmit: the frame is copied and sent as one binary message (`ws` may keep a reference to
 * what it is given until it is written out; the browser copies anyway). Refused, counted and
 * false: the link closed (`txClosed`), the carrier down (`txDown`), a frame outside 14 to
 * mtu + 14 bytes (`txBadLength`), the socket's send buffer above `maxBufferedBytes`
 * (`txBufferFull`: the bounded transmit queue; TCP retransmits what is dropped), `send` throwing
 * (`txError`).
 */
import type { Instant } from '../base/time.ts';
import { Carrier } from './carrier.ts';
import { FrameRing } from './frame-ring.ts';
import type { Link, LinkCaps, LinkStats } from './link.ts';
import { ETHERNET_HEADER_LEN, checkMtu } from './virtual-cable.ts';
import { WakeSet } from './wake-set.ts';

/** WebSocket `readyState`: the connection is not yet open (WHATWG HTML, "The WebSocket interface"). */
export const WS_CONNECTING = 0;
/** WebSocket `readyState`: open, messages flow. */
export const WS_OPEN = 1;
/** WebSocket `readyState`: the closing handshake is under way. */
export const WS_CLOSING = 2;
/** WebSocket `readyState`: closed, or could not be opened. */
export const WS_CLOSED = 3;

/** The events a `WebSocketLink` listens to. */
export type WebSocketPortEventType = 'open' | 'message' | 'close' | 'error';

/**
 * The part of a WebSocket the link uses: what the browser's `WebSocket` and the `ws` package's
 * `WebSocket` both have. Listeners take `unknown` so that both event typings fit; the link
 * reads only `data` of a `message` event and `code` of a `close` event.
 */
export interface WebSocketPort {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued by `send` and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Set to `'arraybuffer'` by the link. */
  binaryType: string;
  /** Sends one binary message (one Ethernet frame). */
  send(data: Uint8Array): void;
  /** Closes the socket (the link goes down). */
  close(code?: number, reason?: string): void;
  /** Listens for `open`, `message`, `close` or `error`. */
  addEventListener(type: WebSocketPortEventType, listener: (event: unknown) => void): void;
  /** Stops listening (the link detaches on close). */
  removeEventListener(type: WebSocketPortEventType, listener: (event: unknown) => void): void;
}

/** Options of `new WebSocketLink(port, options)`. */
export interface WebSocketLinkOptions {
  /** Largest IP packet (default 1500): messages of 14 to mtu + 14 bytes are frames. */
  mtu?: number | undefined;
  /** Receive ring bound in frames (default 256). */
  queueFrames?: number | undefined;
  /** Transmit refuses frames while the socket holds more than this many unsent bytes (default 1 MiB). */
  maxBufferedBytes?: number | undefined;
}

/** `LinkStats` plus drops by reason (`dropped` is their sum). */
export interface WebSocketLinkStats extends LinkStats {
  /** Text messages, messages shorter than an Ethernet header, payloads that are not bytes. */
  rxMalformed: number;
  /** Binary messages longer than mtu + 14 bytes. */
  rxOversize: number;
  /** Frames that arrived while the receive ring was full. */
  rxQueueFull: number;
  /** Frames still queued when the socket closed or the link was closed. */
  rxLost: number;
  /** `transmit` after `close()`. */
  txClosed: number;
  /** `transmit` while the socket was not open (connecting, closing, closed). */
  txDown: number;
  /** Frames shorter than an Ethernet header or longer than mtu + 14 bytes. */
  txBadLength: number;
  /** The socket's send buffer was above `maxBufferedBytes`. */
  txBufferFull: number;
  /** `send` threw. */
  txError: number;
}

/** `event[name]` when `event` is an object that has it. */
function field(event: unknown, name: 'data' | 'code'): unknown {
  return typeof event === 'object' && event !== null && name in event ? (event as Record<string, unknown>)[name] : undefined;
}

/** What a message's `data` holds as bytes (a view, not a copy), or undefined for text and anything else. */
function messageBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** A `Link` of Ethernet frames over a WebSocket, one frame per binary message (see the module comment). */
export class WebSocketLink implements Link {
  readonly caps: LinkCaps;
  /** Up while the socket is open. */
  readonly linkState = new Carrier(false);
  /** The socket (the link closes it on `close()`). */
  readonly port: WebSocketPort;
  private readonly rx: FrameRing;
  private readonly wakes = new WakeSet();
  private readonly maxFrame: number;
  private readonly maxBuffered: number;
  private closed = false;
  /** Why the socket went down, when it did: `'close'` (with its code) or `'error'`. */
  private downReason: string | undefined;
  private readonly counters: WebSocketLinkStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    dropped: 0,
    rxMalformed: 0,
    rxOversize: 0,
    rxQueueFull: 0,
    rxLost: 0,
    txClosed: 0,
    txDown: 0,
    txBadLength: 0,
    txBufferFull: 0,
    txError: 0,
  };

  private readonly onOpen = (): void => {
    if (!this.closed && this.downReason === undefined && this.port.readyState === WS_OPEN) this.linkState.set(true);
  };

  private readonly onMessage = (event: unknown): void => {
    if (this.closed) return;
    this.arrived(field(event, 'data'));
  };

  private readonly onClose = (event: unknown): void => {
    const code = field(event, 'code');
    this.down(typeof code === 'number' ? `closed (code ${code})` : 'closed');
  };

  private readonly onError = (): void => {
    this.down('error');
  };

  /** Takes over `port`: call `close()` to close it. */
  constructor(port: WebSocketPort, opts: WebSocketLinkOptions = {}) {
    const mtu = checkMtu(opts.mtu ?? 1500);
    this.caps = Object.freeze({ medium: 'ethernet', mtu });
    this.maxFrame = mtu + ETHERNET_HEADER_LEN;
    this.maxBuffered = opts.maxBufferedBytes ?? 1 << 20;
    if (!(this.maxBuffered >= 0)) throw new RangeError(`maxBufferedBytes must be >= 0, got ${opts.maxBufferedBytes}`);
    this.rx = new FrameRing(opts.queueFrames ?? 256, this.maxFrame);
    this.port = port;
    port.binaryType = 'arraybuffer';
    port.addEventListener('open', this.onOpen);
    port.addEventListener('message', this.onMessage);
    port.addEventListener('close', this.onClose);
    port.addEventListener('error', this.onError);
    if (port.readyState === WS_OPEN) this.linkState.set(true);
    else if (port.readyState !== WS_CONNECTING) this.downReason = 'closed';
  }

  /** Frames waiting in the receive ring. */
  get queued(): number {
    return this.rx.length;
  }

  /** Why the socket went down (`'closed (code 1006)'`, `'error'`), or undefined while it is not down. */
  get downCause(): string | undefined {
    return this.downReason;
  }

  receive(_now: Instant): Uint8Array | undefined {
    return this.closed ? undefined : this.rx.shiftCounted(this.counters);
  }

  transmit(_now: Instant, frame: Uint8Array): boolean {
    const c = this.counters;
    if (this.closed) return this.drop('txClosed');
    if (!this.linkState.up || this.port.readyState !== WS_OPEN) return this.drop('txDown');
    if (frame.length < ETHERNET_HEADER_LEN || frame.length > this.maxFrame) return this.drop('txBadLength');
    if (this.port.bufferedAmount > this.maxBuffered) return this.drop('txBufferFull');
    try {
      this.port.send(frame.slice());
    } catch {
      return this.drop('txError');
    }
    c.txFrames++;
    c.txBytes += frame.length;
    return true;
  }

  onReadable(wake: () => void): () => void {
    if (this.closed) return () => {};
    return this.wakes.add(wake);
  }

  /** Closes the socket (code 1000) and detaches: no more frames either way. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.loseQueued();
    this.wakes.clear();
    const p = this.port;
    p.removeEventListener('open', this.onOpen);
    p.removeEventListener('message', this.onMessage);
    p.removeEventListener('close', this.onClose);
    // The `error` listener stays (a no-op now): `ws` throws an 'error' event nobody listens to,
    // and closing a socket that is still connecting emits one.
    if (p.readyState === WS_OPEN || p.readyState === WS_CONNECTING) {
      try {
        p.close(1000, 'link closed');
      } catch {
        // A socket that cannot be closed is closed enough.
      }
    }
    this.downReason ??= 'link closed';
    this.linkState.set(false);
    this.linkState.clear();
  }

  /** A snapshot of the counters. */
  stats(): WebSocketLinkStats {
    return { ...this.counters };
  }

  private arrived(data: unknown): void {
    const bytes = messageBytes(data);
    if (bytes === undefined || bytes.length < ETHERNET_HEADER_LEN) {
      this.drop('rxMalformed');
      return;
    }
    if (bytes.length > this.maxFrame) {
      this.drop('rxOversize');
      return;
    }
    if (!this.rx.push(bytes)) {
      this.drop('rxQueueFull');
      return;
    }
    this.wakes.notify();
  }

  private down(reason: string): void {
    if (this.closed) return;
    this.downReason ??= reason;
    this.loseQueued();
    this.linkState.set(false);
  }

  private loseQueued(): void {
    const n = this.rx.length;
    if (n === 0) return;
    this.counters.rxLost += n;
    this.counters.dropped += n;
    this.rx.clear();
  }

  private drop(reason: 'rxMalformed' | 'rxOversize' | 'rxQueueFull' | 'txClosed' | 'txDown' | 'txBadLength' | 'txBufferFull' | 'txError'): false {
    this.counters[reason]++;
    this.counters.dropped++;
    return false;
  }
}
