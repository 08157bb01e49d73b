/**
 * `PppLink`: PPP (RFC 1661) in async HDLC-like framing (RFC 1662) over any `ByteStream` (a serial
 * port, a pty, an in-memory byte pipe, a TCP connection), as a `Link` of medium `'ip'` for the
 * userspace stack. It runs one `PppSession` (src/stack/ppp/ppp-session.ts) in either role on the
 * given `Scheduler`, and frames what it sends and receives:
 *
 * - Receive: bytes go through an `HdlcDecoder` (bad FCS, aborts and runts dropped and counted); each
 *   frame goes to the session; IPv4/IPv6 packets it accepts are queued for the stack's `receive()`.
 * - Transmit: the stack's packets go through the session (dropped, `transmit` false, until their
 *   NCP is Opened or when larger than the peer's MRU) and the `HdlcEncoder`, with the negotiated
 *   ACCM; LCP packets always with every control character escaped. A full stream backlogs, bounded
 *   (`StreamLink`).
 * - Negotiated LCP values reach the framer at LCP Opened (receive ACCM, largest frame) and go back
 *   to the defaults when the link goes down.
 *
 * The session starts at `open()`; `events` tells the owner what happens (LCP, authentication,
 * IPCP/IPV6CP up and down with the addresses, DNS servers and identifiers, and the down reason).
 * Applying addresses to a stack is `attachPpp` (src/link/ppp-attach.ts). A stream that closes is
 * the lower layer going down. `capture` sees every de-framed frame both ways (for pcap, see
 * `pppCaptureTap`).
 */
import type { CancelTimer, Scheduler } from '../base/time.ts';
import { Listeners, type Unsubscribe } from '../base/listeners.ts';
import { PppSession, type PppDownReason, type PppEvent, type PppSessionOptions, type PppSessionStats } from '../stack/ppp/ppp-session.ts';
import { toIpv4 } from '../stack/stack.ts';
import { concatBytes } from '../wire/bytes.ts';
import { DEFAULT_ACCM, HdlcDecoder, HdlcEncoder, PPP_HEADER_MAX, type HdlcDecoderStats } from '../wire/ppp/hdlc.ts';
import type { ByteStream } from './byte-stream.ts';
import { StreamLink, type StreamLinkOptions, type StreamLinkStats } from './stream-link.ts';

/** A frame as the session sees it: from the Address field (or Protocol with ACFC) to the end of the information. */
export type PppFrameTap = (direction: 'rx' | 'tx', frame: Uint8Array, now: number) => void;

/** IPv4 settings with addresses as text or uint32. */
export interface PppLinkIpv4Options {
  /** Our address; default none (ask the peer). */
  localAddress?: string | number;
  /** The address we give a peer that asks (server role). */
  peerAddress?: string | number;
  /** Ask for DNS servers (default: when we ask for our address). */
  requestDns?: boolean;
  /** DNS servers we give a peer that asks (server role). */
  dnsServers?: readonly (string | number)[];
}

export interface PppLinkOptions extends Omit<PppSessionOptions, 'ipv4'>, StreamLinkOptions {
  /** Clock of the PPP timers. */
  scheduler: Scheduler;
  /** IPCP (default on); false: no IPv4. */
  ipv4?: false | PppLinkIpv4Options;
  /** Sees every de-framed frame, both ways. */
  capture?: PppFrameTap;
}

/** Counters of the link, its session and its decoder. */
export interface PppLinkStats extends StreamLinkStats {
  /** The session's counters. */
  session: PppSessionStats;
  /** The HDLC decoder's counters (bad FCS, aborts, runts). */
  decoder: HdlcDecoderStats;
}

/**
 * PPP (RFC 1661) in HDLC-like framing (RFC 1662) over any `ByteStream`, as a `Link` of medium `'ip'`: one
 * `PppSession` in either role; bad frames dropped and counted; IP packets pass once their NCP is Opened. The session
 * starts at `open()`.
 */
export class PppLink extends StreamLink {
  /** The PPP session (LCP, authentication, NCPs). */
  readonly session: PppSession;
  private readonly scheduler: Scheduler;
  private readonly decoder: HdlcDecoder;
  private readonly encoder = new HdlcEncoder();
  private readonly listeners = new Listeners<[PppEvent]>();
  private readonly capture: PppFrameTap | undefined;
  private timer: { at: number; cancel: CancelTimer } | undefined;
  private readonly deliver = (packet: Uint8Array): void => this.enqueue(packet);

  constructor(stream: ByteStream, options: PppLinkOptions) {
    const mru = options.lcp?.mru ?? 1500;
    super(stream, { medium: 'ip', mtu: mru }, options);
    this.scheduler = options.scheduler;
    this.capture = options.capture;
    this.decoder = new HdlcDecoder((frame) => this.frame(frame), { maxFrame: Math.max(1500, mru) + PPP_HEADER_MAX });
    const { ipv4, scheduler: _s, capture: _c, queueFrames: _q, txBacklogBytes: _t, closeStream: _cs, ...session } = options;
    const v4: PppSessionOptions['ipv4'] = ipv4 === false ? false : {
      ...(ipv4?.localAddress !== undefined ? { localAddress: toIpv4(ipv4.localAddress) } : {}),
      ...(ipv4?.peerAddress !== undefined ? { peerAddress: toIpv4(ipv4.peerAddress) } : {}),
      ...(ipv4?.requestDns !== undefined ? { requestDns: ipv4.requestDns } : {}),
      ...(ipv4?.dnsServers !== undefined ? { dnsServers: ipv4.dnsServers.map((d) => toIpv4(d)) } : {}),
    };
    this.session = new PppSession({ ...session, ipv4: v4 }, (frame, lcp, rest) => this.output(frame, lcp, rest), (e) => this.event(e));
  }

  /** Starts negotiating (the session's Establish phase). */
  open(): void {
    if (this.closed) return;
    this.session.open(this.scheduler.now());
    this.reschedule();
  }

  /** Ends the session gracefully; resolves with the down reason once it is Dead. */
  terminate(): Promise<PppDownReason> {
    return new Promise((resolve) => {
      if (this.session.phase === 'dead') {
        resolve('closed');
        return;
      }
      const off = this.on((e) => {
        if (e.type !== 'down') return;
        off();
        resolve(e.reason);
      });
      this.session.close(this.scheduler.now());
      this.reschedule();
    });
  }

  /** Session events (phase, LCP, authentication, NCPs, down). */
  on(listener: (e: PppEvent) => void): Unsubscribe {
    return this.listeners.add(listener);
  }

  /** Counters (a copy). */
  stats(): PppLinkStats {
    return { ...this.counters, session: { ...this.session.stats }, decoder: this.decoder.stats() };
  }

  /**
   * Sends an IP packet through the session; false (dropped and counted) when its NCP is not Opened, it exceeds the
   * peer's MRU, the link is closed or the backlog is full.
   */
  transmit(_now: number, packet: Uint8Array): boolean {
    if (this.closed || this.stream.closed) return this.drop('droppedClosed');
    const before = this.counters.dropped;
    if (!this.session.sendIp(packet)) {
      // Its NCP is not Opened, or it is larger than the peer's MRU: the session counts which.
      this.counters.dropped++;
      return false;
    }
    if (this.counters.dropped !== before) return false; // the write behind it was refused
    this.counters.txFrames++;
    this.counters.txBytes += packet.length;
    return true;
  }

  protected input(bytes: Uint8Array): void {
    this.decoder.push(bytes);
    this.reschedule();
  }

  protected override streamClosed(): void {
    if (this.session.phase === 'dead') return;
    this.session.lowerDown(this.scheduler.now());
    this.reschedule();
  }

  protected override closing(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.session.phase !== 'dead') this.session.lowerDown(this.scheduler.now());
    this.listeners.clear();
  }

  private frame(frame: Uint8Array): void {
    const now = this.scheduler.now();
    this.capture?.('rx', frame, now);
    this.session.input(now, frame, this.deliver);
  }

  private output(frame: Uint8Array, lcp: boolean, rest: Uint8Array | undefined): void {
    if (this.capture !== undefined) this.capture('tx', rest === undefined ? frame : concatBytes([frame, rest]), this.scheduler.now());
    const accm = lcp || !this.session.lcp.opened ? DEFAULT_ACCM : this.session.lcpNegotiated.txAccm;
    if (this.encoder.accm !== accm) this.encoder.accm = accm; // the setter rebuilds the escape table
    this.write(this.encoder.encode(frame, true, rest));
  }

  private event(e: PppEvent): void {
    if (e.type === 'lcp-up') this.decoder.accm = e.negotiated.rxAccm;
    else if (e.type === 'lcp-down' || e.type === 'down') this.decoder.accm = DEFAULT_ACCM;
    this.listeners.emit(e);
  }

  /** Keeps one timer at the session's next deadline. */
  private reschedule(): void {
    if (this.closed) return;
    const at = this.session.pollAt();
    if (at === this.timer?.at) return;
    this.timer?.cancel();
    this.timer = undefined;
    if (at === undefined) return;
    const delay = Math.max(0, at - this.scheduler.now());
    this.timer = {
      at,
      cancel: this.scheduler.setTimer(delay, () => {
        this.timer = undefined;
        this.session.poll(this.scheduler.now());
        this.reschedule();
      }),
    };
  }
}
