/**
 * The device contract: how frames enter and leave a stack (the link layer's
 * implementations are `Link`s in src/link/; the stack, one layer below, sees them
 * through this interface only).
 *
 * A `Link` is poll-driven, after smoltcp's device tokens: the stack pulls received
 * frames with `receive()` inside its `poll(now)` and pushes frames out with
 * `transmit()`. A link that gets a frame while nobody polls calls the `onReadable`
 * wake-up, so a runner (real or virtual time) schedules the next poll. Nothing is
 * ever delivered re-entrantly into a stack that is in the middle of a poll.
 *
 * Middleware (fault injection, pcap capture, tracing) wraps a `Link` and is a `Link`.
 */
import type { Instant } from '../base/time.ts';

/** A radio's own IEEE 802.15.4 addresses (what it receives and acknowledges, and what the stack frames with). */
export interface Ieee802154Identity {
  /** EUI-64, 8 bytes, as written (big-endian: the first byte holds the U/L bit). */
  readonly extended: Uint8Array;
  /** 16-bit short address, when the node has one (0xfffe and 0xffff mean none). */
  readonly short?: number | undefined;
  /** PAN identifier. */
  readonly pan: number;
}

/** What travels on the link. `mtu` is the largest IP packet (not counting any link header). */
export interface LinkCaps {
  /**
   * `'ethernet'`: frames carry a 14-byte Ethernet II header. `'ip'`: frames are bare IP packets
   * (PPP, SLIP, TUN). `'ieee802154'`: frames are IEEE 802.15.4 MAC frames without the FCS (at
   * most 125 bytes, the radio adds the FCS), carrying 6LoWPAN: the stack compresses, fragments
   * and reassembles IPv6 itself (RFC 4944/6282), IPv6 only.
   */
  readonly medium: 'ethernet' | 'ip' | 'ieee802154';
  /**
   * Largest IP packet in bytes (1500 on standard Ethernet: frames are up to mtu + 14 bytes). On
   * `'ieee802154'` the IPv6 MTU the adaptation layer offers (1280, RFC 4944 §4).
   */
  readonly mtu: number;
  /** On `'ieee802154'`: the radio's addresses (required there, ignored elsewhere). */
  readonly ieee802154?: Ieee802154Identity | undefined;
}

/**
 * A link's carrier (cable plugged, switch port up, PHY link): optional on a `Device`; a device
 * without one counts as always up. `onChange` callbacks run synchronously when the carrier
 * changes (never inside a stack's poll: carrier changes come from outside, a driver event or a
 * test cutting a cable), once per change; they return nothing and must not throw.
 */
export interface LinkState {
  /** Whether the carrier is up now. */
  readonly up: boolean;
  /** Calls `cb` with the new state on every change; returns the unsubscribe function. */
  onChange(cb: (up: boolean) => void): () => void;
}

export interface Device {
  /** What the device carries: medium, MTU (and the radio addresses on 802.15.4). */
  readonly caps: LinkCaps;

  /** The carrier, when the device knows it (undefined: always up). See `LinkState`. */
  readonly linkState?: LinkState | undefined;

  /**
   * The next received frame, or undefined when none is queued. The returned bytes are
   * owned by the caller until its next `receive()` call on this link (a link may reuse
   * the buffer then).
   */
  receive(now: Instant): Uint8Array | undefined;

  /**
   * Sends one frame. The link copies what it keeps: the caller may reuse `frame` at once.
   * Returns false when the frame was dropped (queue full, link down, oversize); a link
   * never throws for a bad frame.
   */
  transmit(now: Instant, frame: Uint8Array): boolean;

  /**
   * How many frames `transmit` would take right now (optional; absent: unknown). A sender that
   * needs several frames for one packet (6LoWPAN fragments) sends all of them or none, so that
   * a full queue never puts half a datagram on the air.
   */
  txCapacity?(): number;

  /** Registers the wake-up called when a frame becomes receivable; returns an unsubscribe function. */
  onReadable(wake: () => void): () => void;

  /** Detaches the link: no more frames either way. Idempotent. */
  close(): void;
}

/** Counters every link implementation keeps (frames and bytes each way, drops by reason). */
export interface LinkStats {
  /** Frames received. */
  rxFrames: number;
  /** Bytes received. */
  rxBytes: number;
  /** Frames sent. */
  txFrames: number;
  /** Bytes sent. */
  txBytes: number;
  /** Frames dropped, all reasons together. */
  dropped: number;
}
