/**
 * One TCP connection (a transmission control block): the RFC 9293 state machine as an
 * I/O-free object, after smoltcp's sockets.
 *
 * - `input(now, seg, payload)` processes one received segment (RFC 9293 §3.10.7),
 *   including the RFC 5961 defences (exact-sequence RST, challenge ACKs for in-window
 *   RST and for SYN in synchronized states, ACK range check) and PAWS (RFC 7323 §5).
 * - `output(now, emit)` produces every segment due now: SYN/SYN-ACK, data (Nagle, sender
 *   silly-window avoidance, congestion and peer windows), retransmissions, FIN, window
 *   probes, keep-alives, ACKs (delayed: at most `delayedAckMs`, and at least every
 *   second full-sized segment, RFC 9293 §3.8.6.3 / RFC 1122).
 * - `pollAt()` is the next deadline (retransmission, RACK reordering, tail loss probe,
 *   delayed ACK, persist, keep-alive, TIME-WAIT, user timeout); the stack calls
 *   `output` when it is reached.
 *
 * Loss recovery: a segment log (`SegLog`, the RFC 6675 scoreboard with per-segment send
 * times) records what is in flight; RACK (RFC 8985) marks segments lost by time, which
 * also finds lost retransmissions; a tail loss probe (RFC 8985 7) repairs losses at the
 * end of a flight without waiting for the RTO; duplicate ACKs (RFC 5681, RFC 6582
 * NewReno partial ACKs) are the signal when the peer does not do SACK. What is sent
 * follows RFC 6675 NextSeg and its pipe, with proportional rate reduction (RFC 6937)
 * while recovering; only segments deemed lost go out again. Limited transmit (RFC 3042)
 * falls out of the pipe: SACKed segments leave it, so new data keeps flowing.
 *
 * The application side (`send`, `recv`, `close`, `abort`) only moves bytes in and out
 * of the rings and flags work for the next `output`.
 *
 * Not here: D-SACK (RFC 2883) and undoing spurious recoveries, urgent data (ignored,
 * RFC 6093).
 */
import { IOT_SOCKET_ECONNABORTED, IOT_SOCKET_ECONNREFUSED, IOT_SOCKET_ECONNRESET, IOT_SOCKET_ETIMEDOUT } from '../../base/iot-constants.ts';
import type { TcpOptions, TcpRepr } from '../../wire/tcp.ts';
import { TcpFlag } from '../../wire/tcp.ts';
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from '../../wire/tcp-seq.ts';
import { Assembler } from '../assembler.ts';
import { RingBuffer } from '../ring-buffer.ts';
import { NewReno } from './congestion.ts';
import { Rack } from './rack.ts';
import { SegFlag, SegLog } from './seg-log.ts';
import { RttEstimator, type RttOptions } from './rtt.ts';

/** RFC 9293 state names. */
export type TcpState = 'CLOSED' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED' | 'ESTABLISHED' | 'FIN-WAIT-1'
  | 'FIN-WAIT-2' | 'CLOSE-WAIT' | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT';

export interface TcbConfig {
  /** MSS we advertise (interface MTU - 40 on IPv4, - 60 on IPv6). */
  mss: number;
  /**
   * Send MSS assumed when the peer's SYN carries no MSS option (RFC 9293 §3.7.1, MUST-15:
   * 536 on IPv4, 1220 on IPv6). Default 536.
   */
  defaultPeerMss?: number;
  sendBufferBytes: number;
  recvBufferBytes: number;
  /** Disables Nagle's algorithm (RFC 896). */
  noDelay: boolean;
  /** Delayed-ACK timeout (RFC 1122: < 500 ms). */
  delayedAckMs: number;
  /** TIME-WAIT duration (2 MSL). */
  timeWaitMs: number;
  /** How long an orphaned connection (socket closed) waits in FIN-WAIT-2 for the peer's FIN. */
  finWait2Ms: number;
  /** SYN retransmissions before ETIMEDOUT. */
  synRetries: number;
  /** Data retransmissions before the connection is aborted (R2). */
  dataRetries: number;
  /** Abort when sent data stays unacknowledged this long (RFC 5482 user timeout); 0 = off. */
  userTimeoutMs: number;
  keepAlive: boolean;
  keepIdleMs: number;
  keepIntervalMs: number;
  keepCount: number;
  /** Options offered in our SYN. */
  windowScale: boolean;
  timestamps: boolean;
  sack: boolean;
  rtt?: RttOptions;
}

export const DEFAULT_TCB_CONFIG: TcbConfig = {
  mss: 1460,
  sendBufferBytes: 256 * 1024,
  recvBufferBytes: 256 * 1024,
  noDelay: false,
  delayedAckMs: 40,
  timeWaitMs: 60_000,
  finWait2Ms: 60_000,
  synRetries: 7, // with back-off capped at 60 s: given up after 183 s (RFC 1122 4.2.3.5: at least 3 minutes)
  dataRetries: 12,
  userTimeoutMs: 0,
  keepAlive: false,
  keepIdleMs: 2 * 60 * 60 * 1000, // RFC 1122 4.2.3.6: no less than two hours by default
  keepIntervalMs: 75_000,
  keepCount: 9,
  windowScale: true,
  timestamps: true,
  sack: true,
};

/** A segment for the stack to send. `payload` views are valid only during the emit call. */
export interface TcpSegmentOut {
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly window: number;
  readonly options: TcpOptions;
  readonly payload: readonly Uint8Array[];
  readonly payloadLength: number;
}

/** Hands a segment to the network; false when it could not be sent now (it is retried). */
export type TcpEmit = (seg: TcpSegmentOut) => boolean;

/** RFC 9293 3.7.1: MSS assumed when the peer sends none (IPv4; see `TcbConfig.defaultPeerMss`). */
const DEFAULT_PEER_MSS = 536;
/** RFC 9293 3.8.6.1: persist timer bounds. */
const PERSIST_MIN_MS = 200;
const PERSIST_MAX_MS = 60_000;
/** RFC 5961 7: at most this many challenge ACKs per second. */
const CHALLENGE_ACK_LIMIT = 10;
/** RFC 7323 5.5: a timestamp older than 24 days is invalid for PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 60 * 60 * 1000;
const NO_PAYLOAD: readonly Uint8Array[] = [];
const NO_LOSS_STATS: Readonly<TcbStats> = Object.freeze({ retransmittedSegments: 0, timeouts: 0, fastRecoveries: 0, lossProbes: 0 });
const EMPTY_OPTIONS: TcpOptions = Object.freeze({});
/** Empty rings are released after this long without data movement. */
const IDLE_RELEASE_MS = 1000;
/** The timestamps option with its two NOPs (RFC 7323 Appendix A layout). */
const TS_OPTION_BYTES = 12;
/** Retry delay after the link refused a frame (its queue was full). */
const TX_RETRY_MS = 2;
/** Loss recovery states: none, fast recovery (RFC 6675), after a retransmission timeout. */
const RECOVERY_NONE = 0;
const RECOVERY_FAST = 1;
const RECOVERY_RTO = 2;
/** RFC 5681 / RFC 6675: duplicate ACKs that signal a loss. */
const DUP_THRESH = 3;
/** RFC 8985 7.2: probe timeout without an RTT sample, the worst-case delayed ACK, and a floor. */
const TLP_NO_RTT_MS = 1000;
const TLP_DELACK_MS = 200;
const TLP_MIN_MS = 10;

function windowShiftFor(bytes: number): number {
  let shift = 0;
  while (shift < 14 && bytes >>> shift > 0xffff) shift++;
  return shift;
}

/** Loss-recovery counters of one connection (diagnostics, tests, benchmarks). */
export interface TcbStats {
  /** Data segments sent again (fast, timeout and probe retransmissions). */
  retransmittedSegments: number;
  /** Retransmission timeouts that fired. */
  timeouts: number;
  /** Fast recovery episodes entered (RACK or duplicate ACKs). */
  fastRecoveries: number;
  /** Tail loss probes sent. */
  lossProbes: number;
}

export class Tcb {
  state: TcpState = 'CLOSED';
  /** Created on the first loss event (idle connections carry none). */
  private statsStore: TcbStats | undefined = undefined;

  /** Loss-recovery counters (all zero until something was lost). */
  get stats(): Readonly<TcbStats> {
    return this.statsStore ?? NO_LOSS_STATS;
  }

  private bumpStats(): TcbStats {
    return (this.statsStore ??= { retransmittedSegments: 0, timeouts: 0, fastRecoveries: 0, lossProbes: 0 });
  }
  readonly cfg: TcbConfig;
  /** Set when the connection failed or was reset: the IoT Socket code to report. */
  error: number | undefined;
  /** Set whenever something the application may wait for changed; the stack clears it. */
  changed = false;

  // --- send sequence space (RFC 9293 3.3.1)
  iss = 0;
  sndUna = 0;
  /**
   * Highest sequence number sent so far. Retransmissions go out from the segment log,
   * so SND.NXT never moves back and always equals it (see `sndNxt`).
   */
  sndMax = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  private maxSndWnd = 0;
  /** SND.NXT (RFC 9293 3.3.1): the next new sequence number, SND.MAX here. */
  get sndNxt(): number {
    return this.sndMax;
  }

  /** Peer's MSS (effective send MSS before option overhead). */
  sndMss = DEFAULT_PEER_MSS;

  // --- receive sequence space
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the window we last advertised (never moves left: RFC 9293 3.8.6.2.2). */
  private rcvAdvRight = 0;

  // --- negotiated options
  private sndShift = 0;
  private rcvShift = 0;
  private tsOn = false;
  private sackOn = false;
  private tsRecent = 0;
  private tsRecentAt = 0;
  private tsOffset = 0;

  // --- buffers
  readonly sendBuf: RingBuffer;
  readonly recvBuf: RingBuffer;
  private readonly assembler = new Assembler(32);
  /** Sequence number of the peer's FIN once seen (it may arrive before all data). */
  private finSeq: number | undefined;
  /** The socket is closed: FIN-WAIT-2 is time-limited (`orphan`). */
  private orphaned = false;
  /** The application closed its sending direction: FIN after the queued data. */
  private finQueued = false;
  private finSent = false;

  // --- timers (absolute; Infinity = off)
  private rtoAt = Infinity;
  private ackAt = Infinity;
  private persistAt = Infinity;
  private keepAt = Infinity;
  private timeWaitAt = Infinity;
  /** When empty rings are released (a second after the last data moved). */
  private releaseAt = Infinity;
  /**
   * The link refused a frame (queue full): no transmission before this time (0 = not
   * blocked). Devices have no "writable" wake-up, so the TCB retries on a short timer
   * instead of spinning.
   */
  private txRetryAt = 0;
  /** SWS override timer (RFC 9293 3.8.6.2.1): forces out a segment held back by SWS avoidance. */
  private swsAt = Infinity;
  private swsForce = false;
  private retransmits = 0;
  private persistBackoff = 0;
  private keepProbes = 0;
  private lastRecvAt = 0;
  private firstUnackedAt = 0;
  /** Karn: sequence number being timed and when (no timestamps). */
  private rttSeq: number | undefined;
  private rttAt = 0;

  // --- pending output
  private ackNow = false;
  private unackedSegments = 0;
  private sendRst: { seq: number; ack: number; withAck: boolean } | undefined;
  private challengeCount = 0;
  private challengeWindowAt = 0;
  private probeNow = false;
  /** Something may be sendable now (new data, window or ACK progress): `pollAt` says 0. */
  private wantOutput = false;

  readonly rtt: RttEstimator;
  readonly cc: NewReno;

  constructor(cfg: Partial<TcbConfig> = {}) {
    this.cfg = { ...DEFAULT_TCB_CONFIG, ...cfg };
    this.sendBuf = new RingBuffer(this.cfg.sendBufferBytes);
    this.recvBuf = new RingBuffer(this.cfg.recvBufferBytes);
    this.rtt = new RttEstimator(this.cfg.rtt ?? {});
    this.cc = new NewReno(DEFAULT_PEER_MSS);
  }

  // ======================================================================= opening

  /** Active open (RFC 9293 3.10.1): SYN-SENT; the SYN goes out at the next `output`. */
  connect(now: number, iss: number, tsOffset = 0): void {
    this.iss = iss >>> 0;
    this.sndUna = this.iss;
    this.sndMax = this.iss;
    this.tsOffset = tsOffset >>> 0;
    this.state = 'SYN-SENT';
    this.rcvShift = this.cfg.windowScale ? windowShiftFor(this.cfg.recvBufferBytes) : 0;
    this.lastRecvAt = now;
    this.rtoAt = now; // send the SYN now
  }

  /**
   * Passive open from a received SYN (the listener checked it): SYN-RECEIVED; the
   * SYN-ACK goes out at the next `output`.
   */
  accept(now: number, syn: TcpRepr, iss: number, tsOffset = 0): void {
    this.iss = iss >>> 0;
    this.sndUna = this.iss;
    this.sndMax = this.iss;
    this.tsOffset = tsOffset >>> 0;
    this.irs = syn.seq;
    this.rcvNxt = seqAdd(syn.seq, 1);
    this.negotiate(syn, true);
    this.sndWnd = syn.window; // never scaled in a SYN (RFC 7323 2.2)
    this.sndWl1 = syn.seq;
    this.sndWl2 = syn.ack;
    this.maxSndWnd = this.sndWnd;
    this.state = 'SYN-RECEIVED';
    this.lastRecvAt = now;
    this.rtoAt = now;
  }

  /** Applies the options of the peer's SYN; `passive`: we answer with what both support. */
  private negotiate(syn: TcpRepr, passive: boolean): void {
    const o = syn.options;
    this.sndMss = Math.max(64, Math.min(o.mss ?? this.cfg.defaultPeerMss ?? DEFAULT_PEER_MSS, this.cfg.mss));
    if (o.windowScale !== undefined && this.cfg.windowScale) {
      this.sndShift = Math.min(14, o.windowScale);
      if (passive) this.rcvShift = windowShiftFor(this.cfg.recvBufferBytes);
    } else {
      this.sndShift = 0;
      this.rcvShift = 0;
    }
    this.tsOn = this.cfg.timestamps && o.timestamp !== undefined;
    if (this.tsOn && o.timestamp !== undefined) {
      this.tsRecent = o.timestamp.value;
      this.tsRecentAt = 0;
    }
    this.sackOn = this.cfg.sack && o.sackPermitted === true;
    this.cc.setMss(this.effMss());
  }

  /** Payload bytes per full-sized segment (MSS minus the timestamp option, RFC 7323 4.2). */
  private effMss(): number {
    return this.sndMss - (this.tsOn ? TS_OPTION_BYTES : 0);
  }

  /**
   * Lowers the send MSS for what is sent from now on: path MTU discovery (RFC 8201 §5.2,
   * RFC 1191 §6.5, RFC 9293 §3.7.3) after a Packet Too Big (or fragmentation needed)
   * for this connection. `mss` counts as the MSS option does: the path MTU minus the
   * fixed IP and TCP headers (- 60 on IPv6, - 40 on IPv4); TCP options still come out of
   * it. Never raises the MSS, never goes below 64 (the floor of the handshake), and does
   * nothing before the peer's MSS is known (SYN-SENT) or once in TIME-WAIT or CLOSED.
   *
   * Segments in flight larger than the new size were dropped on the way: their log
   * records are split to the new size and marked lost, and a loss episode without any
   * window reduction (the window keeps its size in segments, like Linux's
   * tcp_simple_retransmit) sends them again at once instead of waiting for the RTO.
   * Returns true when the MSS went down (the owner should run `output` soon).
   */
  lowerMss(mss: number): boolean {
    const st = this.state;
    if (st === 'CLOSED' || st === 'LISTEN' || st === 'SYN-SENT' || st === 'TIME-WAIT') return false;
    const next = Math.max(64, Math.floor(mss));
    if (!(next < this.sndMss)) return false;
    this.sndMss = next;
    const eff = this.effMss();
    this.cc.lowerMss(eff);
    const log = this.logStore;
    if (log !== undefined && log.splitLarge(eff) > 0) {
      if (this.recovery === RECOVERY_NONE) {
        this.recovery = RECOVERY_RTO;
        this.recoveryPoint = this.sndMax;
        this.recoveryValid = true;
        this.tlpAt = Infinity;
        this.tlpOutstanding = false;
      }
      this.rttSeq = undefined; // Karn: those bytes go out again
    }
    this.wantOutput = true;
    return true;
  }

  // ======================================================================= application side

  /** Bytes the application can read now. */
  get readable(): number {
    return this.recvBuf.length;
  }

  /** True once the peer's FIN was received and every byte before it read. */
  get eof(): boolean {
    return this.finSeq !== undefined && seqGe(this.rcvNxt, seqAdd(this.finSeq, 1)) && this.recvBuf.length === 0;
  }

  /** True once the peer's FIN (or an RST) arrived, whether or not every byte was read. */
  get peerClosed(): boolean {
    return this.finSeq !== undefined || this.error === IOT_SOCKET_ECONNRESET;
  }

  /** True once our FIN is queued (close or shutdown): no more sending. */
  get sendShut(): boolean {
    return this.finQueued;
  }

  /**
   * RFC 6191 (and RFC 9293 3.10.7.4's TIME-WAIT rule): a SYN may open a new incarnation
   * of this connection in TIME-WAIT when its timestamp is newer than TS.Recent, or,
   * without timestamps, when its sequence number lies above RCV.NXT.
   */
  acceptsNewIncarnation(syn: TcpRepr): boolean {
    if (this.state !== 'TIME-WAIT') return false;
    const ts = syn.options.timestamp;
    if (this.tsOn && ts !== undefined) return seqGt(ts.value, this.tsRecent);
    return seqGt(syn.seq, this.rcvNxt);
  }

  /** Whether the application may queue data now (state permits and the ring has room). */
  get canSend(): boolean {
    return this.maySend && this.sendBuf.free > 0;
  }

  /** Whether the state permits sending (ESTABLISHED or CLOSE-WAIT, not shut down). */
  get maySend(): boolean {
    return (this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT') && !this.finQueued;
  }

  get isSynchronized(): boolean {
    return this.state !== 'CLOSED' && this.state !== 'LISTEN' && this.state !== 'SYN-SENT' && this.state !== 'SYN-RECEIVED';
  }

  /** Queues bytes to send; returns the number taken (0 when the ring is full). */
  send(data: Uint8Array): number {
    if (!this.maySend && this.state !== 'SYN-SENT' && this.state !== 'SYN-RECEIVED') return 0;
    if (this.finQueued) return 0;
    const n = this.sendBuf.write(data);
    if (n > 0) {
      this.wantOutput = true;
      this.noteData();
    }
    return n;
  }

  /** Copies received bytes into `dst`; returns the count. Opens the window as needed. */
  recv(dst: Uint8Array): number {
    const before = this.recvBuf.free;
    const n = this.recvBuf.read(dst);
    if (n > 0) this.noteData();
    if (n > 0 && this.isSynchronized) {
      // Window update when it opened meaningfully (receiver SWS avoidance, RFC 9293 3.8.6.2.2).
      const threshold = Math.min(this.cfg.recvBufferBytes / 2, this.cfg.mss);
      if (before < threshold && this.recvBuf.free >= threshold) this.ackNow = true;
    }
    return n;
  }

  /** Turns keep-alive on or off at run time (SO_KEEPALIVE). */
  setKeepAlive(on: boolean, now: number): void {
    this.cfg.keepAlive = on;
    this.keepProbes = 0;
    this.keepAt = on && this.isSynchronized ? now + this.cfg.keepIdleMs : Infinity;
  }

  /** Graceful close (RFC 9293 3.10.4): FIN after the queued data. */
  close(): void {
    switch (this.state) {
      case 'SYN-SENT':
      case 'LISTEN':
      case 'CLOSED':
        this.enterClosed();
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.finQueued = true;
        this.state = 'FIN-WAIT-1';
        break;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.state = 'LAST-ACK';
        break;
      default:
        return;
    }
    // output() sends the FIN once the queued data is out, and arms the timer then.
    this.changed = true;
    this.wantOutput = true;
  }

  /**
   * The application is gone (the socket was closed, not just shut down for sending):
   * nobody will read, so FIN-WAIT-2 is limited to `finWait2Ms` (as Linux's
   * tcp_fin_timeout) instead of waiting for the peer's FIN for good.
   */
  orphan(now: number): void {
    this.orphaned = true;
    if (this.state === 'FIN-WAIT-2' && this.timeWaitAt === Infinity) this.timeWaitAt = now + this.cfg.finWait2Ms;
  }

  /** Abort (RST), RFC 9293 3.10.5. */
  abort(): void {
    if (this.state === 'SYN-RECEIVED' || this.isSynchronized) {
      if (this.state !== 'TIME-WAIT') this.sendRst = { seq: this.sndNxt, ack: this.rcvNxt, withAck: false };
    }
    this.enterClosed();
  }

  // ======================================================================= input

  /** Processes one received segment (RFC 9293 3.10.7). `payload` may alias a frame buffer. */
  input(now: number, seg: TcpRepr, payload: Uint8Array): void {
    const f = seg.flags;
    if (this.state === 'CLOSED') return;
    // An ACK may open the window or free the ring: let output() look at once.
    this.wantOutput = true;
    if (this.state === 'SYN-SENT') {
      this.inputSynSent(now, seg, f);
      return;
    }
    this.lastRecvAt = now;
    this.keepProbes = 0;
    if (this.cfg.keepAlive && this.isSynchronized) this.keepAt = now + this.cfg.keepIdleMs;

    // PAWS (RFC 7323 5.3), before the sequence check; RST segments are exempt.
    const ts = seg.options.timestamp;
    if (this.tsOn && ts !== undefined && (f & TcpFlag.RST) === 0) {
      if (seqLt(ts.value, this.tsRecent) && now - this.tsRecentAt < PAWS_IDLE_MS) {
        this.ackNow = true;
        return;
      }
    }

    // 1. Sequence number check (RFC 9293 3.10.7.4 table).
    const segLen = payload.length + ((f & TcpFlag.SYN) !== 0 ? 1 : 0) + ((f & TcpFlag.FIN) !== 0 ? 1 : 0);
    const rcvWnd = this.rcvWindow();
    let acceptable: boolean;
    if (segLen === 0) {
      acceptable = rcvWnd === 0 ? seg.seq === this.rcvNxt : seqGe(seg.seq, this.rcvNxt) && seqLt(seg.seq, seqAdd(this.rcvNxt, rcvWnd));
    } else {
      const last = seqAdd(seg.seq, segLen - 1);
      acceptable = rcvWnd !== 0 && (
        (seqGe(seg.seq, this.rcvNxt) && seqLt(seg.seq, seqAdd(this.rcvNxt, rcvWnd)))
        || (seqGe(last, this.rcvNxt) && seqLt(last, seqAdd(this.rcvNxt, rcvWnd))));
      // A zero window still accepts the ACK and RST fields of in-sequence segments below.
      if (rcvWnd === 0 && seg.seq === this.rcvNxt) acceptable = true;
    }
    if (!acceptable) {
      // RFC 9293: answer with an ACK. A segment with data (a retransmission of what we
      // already have, because our ACK was lost) always gets its duplicate ACK: one ACK
      // per data segment cannot loop, and rate-limiting it stalls the sender for whole
      // RTO back-offs (Linux exempts these too, tcp_oow_rate_limited). Others (pure
      // ACKs, SYNs) are rate-limited like challenge ACKs (RFC 5961 7) so a misbehaving
      // or spoofing peer cannot start an ACK storm.
      if ((f & TcpFlag.RST) !== 0) return;
      if (payload.length > 0 && (f & TcpFlag.SYN) === 0) this.ackNow = true;
      else this.challengeAck(now);
      return;
    }

    // 2. RST (RFC 5961 3.2): exact match resets; otherwise a challenge ACK.
    if ((f & TcpFlag.RST) !== 0) {
      if (seg.seq !== this.rcvNxt) {
        this.challengeAck(now);
        return;
      }
      if (this.state === 'SYN-RECEIVED') {
        this.error = IOT_SOCKET_ECONNREFUSED;
      } else if (this.state === 'CLOSING' || this.state === 'LAST-ACK' || this.state === 'TIME-WAIT') {
        this.error = undefined;
      } else {
        this.error = IOT_SOCKET_ECONNRESET;
      }
      this.enterClosed();
      return;
    }

    // 4. SYN in a synchronized state (RFC 5961 4): challenge ACK.
    if ((f & TcpFlag.SYN) !== 0) {
      if (this.state === 'SYN-RECEIVED' && seg.seq === this.irs) {
        // A retransmitted SYN: our SYN-ACK was lost; send it again.
        this.rtoAt = now;
        return;
      }
      this.challengeAck(now);
      return;
    }

    // 5. ACK.
    if ((f & TcpFlag.ACK) === 0) return;
    if (this.state === 'SYN-RECEIVED') {
      if (seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndMax)) {
        if (this.retransmits > 1) this.cc.onSynLoss(); // the SYN-ACK was sent again (RFC 6928 2)
        this.state = 'ESTABLISHED';
        this.changed = true;
        this.sndWnd = seg.window << this.sndShift;
        this.sndWl1 = seg.seq;
        this.sndWl2 = seg.ack;
        this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
        if (this.cfg.keepAlive) this.keepAt = now + this.cfg.keepIdleMs;
      } else {
        this.sendRst = { seq: seg.ack, ack: 0, withAck: false };
        return;
      }
    }
    if (!this.processAck(now, seg, payload.length)) return;

    // Timestamps: update TS.Recent (RFC 7323 4.3) for segments covering RCV.NXT.
    if (this.tsOn && ts !== undefined && seqLe(seg.seq, this.rcvNxt)) {
      this.tsRecent = ts.value;
      this.tsRecentAt = now;
    }

    // 7. Segment text.
    if (payload.length > 0 && (this.state === 'ESTABLISHED' || this.state === 'FIN-WAIT-1' || this.state === 'FIN-WAIT-2')) {
      this.receiveData(now, seg.seq, payload);
    }

    // 8. FIN.
    if ((f & TcpFlag.FIN) !== 0) {
      this.finSeq = seqAdd(seg.seq, payload.length);
      this.ackNow = true;
    }
    this.applyFin(now);
  }

  private inputSynSent(now: number, seg: TcpRepr, f: number): void {
    // RFC 9293 3.10.7.3.
    const ackOk = (f & TcpFlag.ACK) !== 0 && seqGt(seg.ack, this.iss) && seqLe(seg.ack, this.sndMax);
    if ((f & TcpFlag.ACK) !== 0 && !ackOk) {
      if ((f & TcpFlag.RST) === 0) this.sendRst = { seq: seg.ack, ack: 0, withAck: false };
      return;
    }
    if ((f & TcpFlag.RST) !== 0) {
      if (ackOk) {
        this.error = IOT_SOCKET_ECONNREFUSED;
        this.enterClosed();
      }
      return;
    }
    if ((f & TcpFlag.SYN) === 0) return;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.negotiate(seg, false);
    this.lastRecvAt = now;
    if (this.tsOn && seg.options.timestamp !== undefined) {
      this.tsRecent = seg.options.timestamp.value;
      this.tsRecentAt = now;
    }
    // What we advertised in our SYN counts from the IRS, unknown until now.
    this.rcvAdvRight = seqAdd(this.rcvNxt, Math.min(0xffff, this.recvBuf.free));
    if (ackOk) {
      // RFC 6928 2 / RFC 5681 3.1: the SYN was sent again, so start from one segment.
      if (this.retransmits > 1) this.cc.onSynLoss();
      this.sndUna = seg.ack;
      this.sndWnd = seg.window; // never scaled in a SYN-ACK (RFC 7323 2.2)
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.maxSndWnd = this.sndWnd;
      this.sampleRtt(now, seg);
      this.retransmits = 0;
      this.rtoAt = Infinity;
      this.state = 'ESTABLISHED';
      this.changed = true;
      this.ackNow = true;
      if (this.cfg.keepAlive) this.keepAt = now + this.cfg.keepIdleMs;
    } else {
      // Simultaneous open (RFC 9293 3.10.7.3 fourth): SYN-RECEIVED, send SYN-ACK.
      this.state = 'SYN-RECEIVED';
      this.sndWnd = seg.window; // the SYN-ACK (emitSyn) reuses our ISS
      this.rtoAt = now;
    }
  }

  /** ACK processing (RFC 9293 3.10.7.4 fifth, RFC 5961 5). False: stop processing the segment. */
  private processAck(now: number, seg: TcpRepr, payloadLen: number): boolean {
    const ack = seg.ack;
    if (seqGt(ack, this.sndMax)) {
      this.ackNow = true; // acknowledges something not yet sent
      return false;
    }
    // RFC 5961 5.2: too old -> challenge ACK and drop.
    if (seqLt(ack, seqAdd(this.sndUna, -this.maxSndWnd))) {
      this.challengeAck(now);
      return false;
    }
    const window = seg.window << this.sndShift;
    // The scoreboard exists once data was sent (and until it went idle).
    const log = this.logStore;
    if (log !== undefined) this.rack.now = now;
    let delivered = 0;
    if (seqGt(ack, this.sndUna)) {
      const acked = seqSub(ack, this.sndUna);
      // SYN and FIN occupy sequence space but no buffer bytes.
      let dataAcked = acked;
      if (seqLe(this.sndUna, this.iss) && seqGt(ack, this.iss)) dataAcked--;
      dataAcked = Math.max(0, Math.min(dataAcked, this.sendBuf.length));
      this.sendBuf.consume(dataAcked);
      this.sndUna = ack;
      if (log !== undefined) delivered += log.ackTo(ack, this.rack);
      this.sampleRtt(now, seg);
      this.retransmits = 0;
      this.persistBackoff = 0;
      this.dupAcks = 0;
      if (this.recovery !== RECOVERY_FAST) this.cc.onAck(dataAcked);
      const flight = seqSub(this.sndMax, this.sndUna);
      this.rtoAt = flight > 0 ? now + this.rtt.rto : Infinity;
      this.firstUnackedAt = now;
      if (dataAcked > 0) this.changed = true;
      if (this.tlpOutstanding && seqGe(ack, this.tlpEnd)) {
        // The probe's episode ended (RFC 8985 7.4). A retransmitted probe that was needed
        // means a loss was repaired without recovery: react as to a loss.
        this.tlpOutstanding = false;
        if (this.tlpRetrans && this.recovery === RECOVERY_NONE) this.cc.onProbeRepairedLoss();
      }
      // Non-SACK NewReno (RFC 6582 3.2): a partial ACK in recovery means the next
      // segment was lost too.
      if (!this.sackOn && this.recovery === RECOVERY_FAST && seqLt(ack, this.recoveryPoint)) this.markHeadLost();
    } else if (ack === this.sndUna && payloadLen === 0 && seqGt(this.sndMax, this.sndUna)
      && (seg.flags & (TcpFlag.SYN | TcpFlag.FIN)) === 0 && window === this.sndWnd) {
      // A duplicate ACK (RFC 5681 2). Without SACK it is the loss signal (fast
      // retransmit on the third, RFC 5681 3.2) and stands for one segment delivered.
      this.dupAcks++;
      if (!this.sackOn) {
        delivered += this.effMss();
        if (this.dupAcks === DUP_THRESH && this.recovery === RECOVERY_NONE && (!this.recoveryValid || seqGe(ack, this.recoveryPoint))) {
          this.markHeadLost();
        }
      }
    }
    if (this.sackOn && log !== undefined) delivered += this.recordSack(seg);
    // Loss detection: RACK (RFC 8985) with SACK.
    if (this.sackOn && log !== undefined && log.length > 0 && (this.rack.advanced || this.rackAt <= now)) this.detectLoss(now);
    // Fast recovery (RFC 6675 5, with PRR).
    if (this.recovery !== RECOVERY_NONE && seqGe(this.sndUna, this.recoveryPoint)) {
      if (this.recovery === RECOVERY_FAST) this.cc.exitRecovery();
      this.recovery = RECOVERY_NONE;
    }
    if (this.recovery === RECOVERY_NONE && log !== undefined && log.lostBytes > 0) this.enterRecovery();
    if (this.recovery === RECOVERY_FAST) this.cc.onRecoveryAck(delivered, this.pipe());
    if (this.inFlightSegs === 0) this.tlpAt = this.rackAt = Infinity;
    else if (this.recovery === RECOVERY_NONE) this.armTlp(now);
    // Window update (RFC 9293 3.10.7.4): only from newer segments.
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack))) {
      const opened = this.sndWnd === 0 && window > 0;
      this.sndWnd = window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      this.maxSndWnd = Math.max(this.maxSndWnd, window);
      if (opened) {
        this.persistAt = Infinity;
        this.persistBackoff = 0;
      }
    }
    // State transitions on our FIN being acknowledged.
    const finAcked = this.finSent && seqGe(this.sndUna, this.sndMax);
    switch (this.state) {
      case 'FIN-WAIT-1':
        if (finAcked) {
          this.state = 'FIN-WAIT-2';
          this.changed = true;
          if (this.orphaned) this.timeWaitAt = now + this.cfg.finWait2Ms;
        }
        break;
      case 'CLOSING':
        if (finAcked) this.enterTimeWait(now);
        break;
      case 'LAST-ACK':
        if (finAcked) {
          this.enterClosed();
          return false;
        }
        break;
      case 'TIME-WAIT':
        this.ackNow = true;
        this.timeWaitAt = now + this.cfg.timeWaitMs;
        break;
      default:
        break;
    }
    return true;
  }

  // --- loss recovery (RFC 6675 scoreboard and pipe, RFC 8985 RACK-TLP, RFC 6937 PRR)

  /**
   * One record per segment in flight (the scoreboard) and the RACK state: created with
   * the first data segment, dropped with the idle rings (`releaseIdleBuffers`).
   */
  private logStore: SegLog | undefined = undefined;
  private rackStore: Rack | undefined = undefined;

  private get log(): SegLog {
    return (this.logStore ??= new SegLog());
  }

  private get rack(): Rack {
    return (this.rackStore ??= new Rack());
  }

  /** Records in flight (0 without a log: no allocation just to look). */
  private get inFlightSegs(): number {
    return this.logStore?.length ?? 0;
  }
  /** RECOVERY_NONE, RECOVERY_FAST (RFC 6675) or RECOVERY_RTO (after a timeout). */
  private recovery = RECOVERY_NONE;
  /** SND.MAX when the recovery began: it ends once this is acknowledged. */
  private recoveryPoint = 0;
  private recoveryValid = false;
  /** Duplicate ACKs in a row (the loss signal without SACK). */
  private dupAcks = 0;
  /** RACK reordering timer (RFC 8985 6.2 step 5). */
  private rackAt = Infinity;
  /** Tail loss probe timer (RFC 8985 7). */
  private tlpAt = Infinity;
  private tlpNow = false;
  private tlpOutstanding = false;
  private tlpRetrans = false;
  private tlpEnd = 0;
  /** When data was last sent (RFC 5681 4.1 restart after idle). */
  private lastSendAt = -Infinity;
  /** Log index of the retransmission `nextSegment` prepared (-1: new data). */
  private txRecord = -1;

  /** Bytes in flight (RFC 6675 4 "pipe"): outstanding - SACKed - lost + retransmitted. */
  private pipe(): number {
    const log = this.logStore;
    let pipe = seqSub(this.sndMax, this.sndUna);
    if (log === undefined) return Math.max(0, pipe);
    pipe += log.retransBytes - log.sackedBytes - log.lostBytes;
    // Without SACK each duplicate ACK stands for one segment that left the network.
    if (!this.sackOn) pipe -= Math.min(this.dupAcks, Math.max(0, log.length - 1)) * this.effMss();
    return Math.max(0, pipe);
  }

  /** Marks the first unacknowledged record lost (fast retransmit without SACK). */
  private markHeadLost(): void {
    if (this.inFlightSegs === 0) return;
    const f = this.log.flags(0);
    if ((f & SegFlag.SACKED) === 0) this.log.setFlags(0, (f | SegFlag.LOST) & ~SegFlag.RETRANS);
  }

  private detectLoss(now: number): void {
    const reo = this.rack.reoWnd(this.recovery !== RECOVERY_NONE, this.log.sackedSegs, this.rtt.srtt);
    this.rack.detect(now, this.log, reo);
    this.rackAt = this.rack.timeoutAt;
  }

  private enterRecovery(): void {
    this.bumpStats().fastRecoveries++;
    this.recovery = RECOVERY_FAST;
    this.recoveryPoint = this.sndMax;
    this.recoveryValid = true;
    this.cc.enterRecovery(seqSub(this.sndMax, this.sndUna), this.pipe());
    this.tlpAt = Infinity;
    this.tlpOutstanding = false;
    this.rttSeq = undefined; // Karn
    this.wantOutput = true;
  }

  /** Arms the probe timeout (RFC 8985 7.2) when data is outstanding and no probe is out. */
  private armTlp(now: number): void {
    if (!this.sackOn || this.tlpOutstanding || this.recovery !== RECOVERY_NONE || this.inFlightSegs === 0) {
      this.tlpAt = Infinity;
      return;
    }
    const srtt = this.rtt.srtt;
    let pto = srtt === undefined ? TLP_NO_RTT_MS : Math.max(TLP_MIN_MS, 2 * srtt);
    if (this.inFlightSegs === 1) pto += TLP_DELACK_MS;
    this.tlpAt = Math.min(now + pto, this.rtoAt);
  }

  /**
   * Merges the SACK blocks of `seg` into the scoreboard (RFC 2018, RFC 6675 3); returns
   * the bytes newly SACKed.
   */
  private recordSack(seg: TcpRepr): number {
    const blocks = seg.options.sack;
    if (blocks === undefined) return 0;
    let newly = 0;
    for (const [l, r] of blocks) {
      if (seqLe(r, this.sndUna) || seqGt(r, this.sndMax) || seqGe(l, r)) continue; // D-SACK or bogus
      newly += this.log.sack(l, r, this.rack);
    }
    return newly;
  }

  private sampleRtt(now: number, seg: TcpRepr): void {
    const ts = seg.options.timestamp;
    if (this.tsOn && ts !== undefined && ts.echo !== 0) {
      const rtt = ((now >>> 0) + this.tsOffset - ts.echo) >>> 0;
      if (rtt < 0x7fffffff) this.rtt.sample(rtt);
      return;
    }
    if (this.rttSeq !== undefined && seqGt(seg.ack, this.rttSeq)) {
      this.rtt.sample(now - this.rttAt);
      this.rttSeq = undefined;
    }
  }

  private receiveData(now: number, seq: number, payload: Uint8Array): void {
    let data = payload;
    let offset = seqSub(seq, this.rcvNxt);
    if (offset < 0) {
      // Trim what we already have.
      data = data.subarray(-offset);
      offset = 0;
    }
    const room = this.recvBuf.free;
    if (offset >= room) {
      this.ackNow = true;
      return;
    }
    if (offset + data.length > room) data = data.subarray(0, room - offset);
    if (data.length === 0) return;
    this.noteData();
    if (offset === 0 && this.assembler.isEmpty) {
      const n = this.recvBuf.write(data);
      this.rcvNxt = seqAdd(this.rcvNxt, n);
      this.changed = true;
      // ACK every second full-sized segment at once (RFC 9293 3.8.6.3).
      this.unackedSegments++;
      if (this.unackedSegments >= 2) this.ackNow = true;
      else if (this.ackAt === Infinity) this.ackAt = now + this.cfg.delayedAckMs;
      return;
    }
    // Out of order (or filling a hole): store at its offset, track the range.
    this.recvBuf.keepOutOfOrder = true;
    this.recvBuf.writeAt(this.recvBuf.length + offset, data);
    const advance = this.assembler.add(offset, data.length);
    if (advance < 0) {
      this.ackNow = true; // too many holes: drop, the peer retransmits
      return;
    }
    if (advance > 0) {
      this.recvBuf.commit(advance);
      this.rcvNxt = seqAdd(this.rcvNxt, advance);
      this.changed = true;
    }
    if (this.assembler.isEmpty) this.recvBuf.keepOutOfOrder = false;
    // Out-of-order data or a hole being filled: ACK immediately (RFC 5681 4.2).
    this.ackNow = true;
  }

  private applyFin(now: number): void {
    if (this.finSeq === undefined || this.rcvNxt !== this.finSeq) return;
    this.rcvNxt = seqAdd(this.finSeq, 1);
    this.ackNow = true;
    this.changed = true;
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.state = 'CLOSE-WAIT';
        break;
      case 'FIN-WAIT-1':
        if (this.finSent && seqGe(this.sndUna, this.sndMax)) this.enterTimeWait(now);
        else this.state = 'CLOSING';
        break;
      case 'FIN-WAIT-2':
        this.enterTimeWait(now);
        break;
      default:
        break;
    }
  }

  private challengeAck(now: number): void {
    if (now - this.challengeWindowAt >= 1000) {
      this.challengeWindowAt = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= CHALLENGE_ACK_LIMIT) return;
    this.challengeCount++;
    this.ackNow = true;
  }

  private enterTimeWait(now: number): void {
    this.state = 'TIME-WAIT';
    this.changed = true;
    this.rtoAt = this.rackAt = this.tlpAt = Infinity;
    this.tlpNow = false;
    this.persistAt = Infinity;
    this.keepAt = Infinity;
    this.timeWaitAt = now + this.cfg.timeWaitMs;
  }

  private enterClosed(): void {
    this.state = 'CLOSED';
    this.changed = true;
    this.rtoAt = this.ackAt = this.persistAt = this.keepAt = this.timeWaitAt = this.swsAt = Infinity;
    this.assembler.clear();
    this.logStore?.clear();
    this.rackAt = this.tlpAt = Infinity;
    this.tlpNow = false;
    this.recvBuf.keepOutOfOrder = false;
    // After the peer's RST, what it sent before stays readable (as on Linux), then the
    // reads report ECONNRESET: a server's last words (a TLS alert, an MQTT refusal) are
    // often followed by a RST because our unread request was still in its buffer.
    if (this.error !== undefined && this.error !== IOT_SOCKET_ECONNRESET) this.recvBuf.clear();
    this.sendBuf.clear();
  }

  /**
   * RCV.WND for the acceptability test: what we advertised (the right edge never moves
   * left), or the free space when that is larger (data beyond the ring is trimmed anyway).
   */
  private rcvWindow(): number {
    return Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt), this.recvBuf.free);
  }

  // ======================================================================= output

  /**
   * Ring memory: rings keep their store while data moves, and are released a second
   * after the last data moved once empty (idle connections hold no buffer memory).
   */
  private releaseIdleBuffers(now: number): void {
    const empty = (this.sendBuf.allocated && this.sendBuf.length === 0) || (this.recvBuf.allocated && this.recvBuf.length === 0 && this.assembler.isEmpty);
    if (!empty) {
      this.releaseAt = Infinity;
      return;
    }
    if (this.releaseAt === Infinity) {
      this.releaseAt = now + IDLE_RELEASE_MS;
      return;
    }
    if (now >= this.releaseAt) {
      if (this.sendBuf.length === 0) this.sendBuf.release();
      if (this.inFlightSegs === 0 && this.recovery === RECOVERY_NONE) {
        this.logStore = undefined;
        this.rackStore = undefined;
      }
      if (this.recvBuf.length === 0 && this.assembler.isEmpty) this.recvBuf.release();
      this.releaseAt = Infinity;
    }
  }

  /** Touch from data movement: restart the idle-release clock. */
  private noteData(): void {
    this.releaseAt = Infinity;
  }

  /** The next time `output` has timed work, or undefined. */
  pollAt(): number | undefined {
    let at = Math.min(this.rtoAt, this.ackAt, this.persistAt, this.keepAt, this.timeWaitAt, this.swsAt, this.releaseAt, this.rackAt, this.tlpAt);
    if (this.ackNow || this.sendRst !== undefined || this.probeNow || this.wantOutput || this.tlpNow) at = 0;
    if (this.txRetryAt > 0 && at !== Infinity) at = Math.max(at, this.txRetryAt);
    return at === Infinity ? undefined : at;
  }

  /** Emits every segment due at `now`. */
  output(now: number, emit: TcpEmit): void {
    if (this.txRetryAt > now) return; // the link is still refusing frames: wait for the retry time
    this.txRetryAt = 0;
    this.wantOutput = false;
    this.releaseIdleBuffers(now);
    if (this.sendRst !== undefined) {
      const r = this.sendRst;
      this.sendRst = undefined;
      emit({ seq: r.seq, ack: r.ack, flags: TcpFlag.RST | (r.withAck ? TcpFlag.ACK : 0), window: 0, options: EMPTY_OPTIONS, payload: NO_PAYLOAD, payloadLength: 0 });
    }
    if (this.state === 'CLOSED') return;
    // TIME-WAIT's 2 MSL, or an orphaned FIN-WAIT-2's limit (the same timer).
    if (this.state === 'TIME-WAIT' || (this.state === 'FIN-WAIT-2' && this.orphaned && now >= this.timeWaitAt)) {
      if (now >= this.timeWaitAt) {
        this.enterClosed();
        return;
      }
      if (this.ackNow) this.emitAck(now, emit);
      return;
    }
    this.checkTimers(now);
    // checkTimers may have aborted the connection (TypeScript cannot see the mutation).
    if ((this.state as TcpState) === 'CLOSED') return;

    if (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') {
      if (now >= this.rtoAt) this.emitSyn(now, emit);
      // An unacceptable segment in SYN-RECEIVED is answered with an ACK (RFC 9293
      // 3.10.7.4): in a simultaneous open that ACK, for the peer's SYN-ACK, is what
      // takes both ends to ESTABLISHED.
      else if (this.ackNow && this.state === 'SYN-RECEIVED') this.emitAck(now, emit);
      return;
    }

    let sentSomething = false;
    // Data and FIN.
    for (;;) {
      const seg = this.nextDataSegment(now);
      if (seg === undefined) break;
      if (!emit(seg)) {
        this.txBlocked(now);
        break;
      }
      sentSomething = true;
      this.afterSend(now, seg);
    }
    // Zero-window probe (RFC 9293 3.8.6.1).
    if (this.probeNow) {
      this.probeNow = false;
      this.emitProbe(now, emit);
      sentSomething = true;
    }
    // Keep-alive probe: SEG.SEQ = SND.NXT - 1 (RFC 1122 4.2.3.6).
    if (this.cfg.keepAlive && now >= this.keepAt && this.state !== 'CLOSE-WAIT') {
      this.keepProbes++;
      if (this.keepProbes > this.cfg.keepCount) {
        this.error = IOT_SOCKET_ECONNABORTED;
        this.sendRst = { seq: this.sndNxt, ack: this.rcvNxt, withAck: false };
        this.enterClosed();
        return;
      }
      this.keepAt = now + this.cfg.keepIntervalMs;
      emit({ seq: seqAdd(this.sndMax, -1), ack: this.rcvNxt, flags: TcpFlag.ACK, window: this.advertisedWindowField(), options: this.segmentOptions(now, -1), payload: NO_PAYLOAD, payloadLength: 0 });
    }
    if (!sentSomething && (this.ackNow || now >= this.ackAt)) this.emitAck(now, emit);
  }

  /** Fires the retransmission, persist and user timers due at `now`. */
  private checkTimers(now: number): void {
    if (now >= this.rtoAt && (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED')) return; // emitSyn handles it
    if (now >= this.rtoAt) {
      const limit = this.cfg.dataRetries;
      if (this.retransmits >= limit) {
        this.error = IOT_SOCKET_ECONNABORTED;
        this.sendRst = { seq: this.sndNxt, ack: this.rcvNxt, withAck: false };
        this.enterClosed();
        return;
      }
      this.retransmits++;
      this.bumpStats().timeouts++;
      this.rtt.backoff();
      // RFC 6298 5.4-5.6, RFC 5681 3.1, RFC 8985 6.3: everything not SACKed is lost; it
      // goes out again in slow start from the first unacknowledged byte.
      this.cc.onTimeout(seqSub(this.sndMax, this.sndUna));
      // RFC 2018 8: the receiver may have reneged on what it SACKed. When the first
      // unacknowledged segment is itself marked SACKed, or timeouts repeat, forget the
      // SACK marks so that everything goes out again.
      if (this.log.length > 0 && ((this.log.flags(0) & SegFlag.SACKED) !== 0 || this.retransmits >= 2)) this.log.clearSacks();
      this.log.markAllLost();
      this.recovery = RECOVERY_RTO;
      this.recoveryPoint = this.sndMax;
      this.recoveryValid = true;
      this.dupAcks = 0;
      this.tlpAt = Infinity;
      this.tlpOutstanding = false;
      this.rackAt = Infinity;
      this.rttSeq = undefined; // Karn
      this.rtoAt = now + this.rtt.rto;
    }
    if (now >= this.rackAt) {
      this.rackAt = Infinity;
      this.detectLoss(now);
      if (this.recovery === RECOVERY_NONE && (this.logStore?.lostBytes ?? 0) > 0) this.enterRecovery();
    }
    if (now >= this.tlpAt) {
      this.tlpAt = Infinity;
      if (this.recovery === RECOVERY_NONE && this.inFlightSegs > 0) this.tlpNow = true;
    }
    if (this.cfg.userTimeoutMs > 0 && seqGt(this.sndMax, this.sndUna) && now - this.firstUnackedAt >= this.cfg.userTimeoutMs) {
      this.error = IOT_SOCKET_ECONNABORTED;
      this.sendRst = { seq: this.sndNxt, ack: this.rcvNxt, withAck: false };
      this.enterClosed();
      return;
    }
    if (now >= this.swsAt) {
      this.swsAt = Infinity;
      this.swsForce = true;
    }
    if (now >= this.persistAt) {
      this.probeNow = true;
      this.persistBackoff++;
      this.persistAt = now + Math.min(PERSIST_MAX_MS, Math.max(PERSIST_MIN_MS, this.rtt.rto) * 2 ** this.persistBackoff);
    }
  }

  private emitSyn(now: number, emit: TcpEmit): void {
    if (this.retransmits > this.cfg.synRetries) {
      this.error = this.state === 'SYN-SENT' ? IOT_SOCKET_ETIMEDOUT : IOT_SOCKET_ECONNABORTED;
      this.enterClosed();
      return;
    }
    const synAck = this.state === 'SYN-RECEIVED';
    const options: TcpOptions = {
      mss: this.cfg.mss,
      ...(this.cfg.windowScale && (!synAck || this.sndShift > 0 || this.rcvShift > 0) ? { windowScale: this.rcvShift } : {}),
      ...(this.cfg.sack && (!synAck || this.sackOn) ? { sackPermitted: true } : {}),
      ...(this.cfg.timestamps && (!synAck || this.tsOn) ? { timestamp: { value: this.tsNow(now), echo: synAck ? this.tsRecent : 0 } } : {}),
    };
    const seg: TcpSegmentOut = {
      seq: this.iss, ack: synAck ? this.rcvNxt : 0, flags: TcpFlag.SYN | (synAck ? TcpFlag.ACK : 0),
      window: Math.min(0xffff, this.recvBuf.free), options, payload: NO_PAYLOAD, payloadLength: 0,
    };
    if (!emit(seg)) {
      this.txBlocked(now);
      return;
    }
    if (this.retransmits > 0) this.rtt.backoff();
    if (this.retransmits === 0) {
      this.rttSeq = this.iss;
      this.rttAt = now;
    } else {
      this.rttSeq = undefined;
      if (this.retransmits === 1) this.rtt.afterSynTimeout();
    }
    this.retransmits++;
    this.sndMax = seqAdd(this.iss, 1);
    // In SYN-SENT, RCV.NXT is not known yet: inputSynSent sets the edge from the IRS.
    if (synAck) this.rcvAdvRight = seqAdd(this.rcvNxt, seg.window);
    this.rtoAt = now + this.rtt.rto;
    this.ackNow = false;
  }

  /**
   * The next data (or FIN) segment allowed now, or undefined (RFC 6675 NextSeg): first
   * lost segments, lowest first, then new data; both only while the pipe is below the
   * congestion window, and new data only inside the peer's window, with Nagle and
   * silly-window avoidance. A pending tail loss probe goes out regardless of the
   * congestion window (RFC 8985 7.3).
   */
  private nextDataSegment(now: number): TcpSegmentOut | undefined {
    const log = this.logStore;
    const probe = this.tlpNow;
    const room = this.cc.cwnd - this.pipe();
    this.txRecord = -1;
    if (log !== undefined && log.pendingLostBytes > 0 && room > 0) {
      const i = log.firstPendingLost();
      if (i >= 0) return this.recordSegment(now, i);
    }
    // SACK blocks ride in the same segment: keep the whole inside the peer's MSS.
    const mss = this.effMss() - this.sackOptionBytes();
    const inFlight = seqSub(this.sndMax, this.sndUna);
    const unsent = this.sendBuf.length - inFlight;
    const wantFin = this.finQueued && !this.finSent && unsent <= 0;
    const peerRoom = this.sndWnd - inFlight;
    if (unsent <= 0 && !wantFin) {
      this.armPersist(now);
      if (probe) return this.probeSegment(now);
      return undefined;
    }
    if (unsent > 0) {
      if (peerRoom <= 0) {
        this.armPersist(now);
        return undefined;
      }
      if (room <= 0 && !probe) return undefined;
      // Packet-like accounting: any room in the congestion window admits one segment.
      let len = Math.min(mss, unsent, peerRoom);
      // Sender silly-window avoidance (RFC 9293 3.8.6.2.1) and Nagle (RFC 896).
      const full = len === mss;
      const allQueuedFits = len === unsent;
      const nagleOk = this.cfg.noDelay || inFlight === 0;
      const halfWindow = len >= this.maxSndWnd / 2 && this.maxSndWnd > 0;
      if (!full && !(allQueuedFits && nagleOk) && !halfWindow && !(this.finQueued && allQueuedFits) && !this.swsForce && !probe) {
        // Held back. With nothing in flight no ACK will re-open the question: arm the
        // override timer (RFC 9293 3.8.6.2.1, 0.1-1 s) so the data goes out eventually.
        if (inFlight === 0 && this.swsAt === Infinity) this.swsAt = now + Math.max(PERSIST_MIN_MS, Math.min(1000, this.rtt.rto));
        return undefined;
      }
      this.swsForce = false;
      this.swsAt = Infinity;
      const fin = this.finQueued && len === unsent;
      len = Math.max(0, len);
      return {
        seq: this.sndMax, ack: this.rcvNxt, flags: TcpFlag.ACK | (len === unsent ? TcpFlag.PSH : 0) | (fin ? TcpFlag.FIN : 0),
        window: this.advertisedWindowField(), options: this.segmentOptions(now, len),
        payload: this.sendBuf.peek(inFlight, len), payloadLength: len,
      };
    }
    if (room <= 0 && !probe) return undefined;
    // A bare FIN.
    return {
      seq: this.sndMax, ack: this.rcvNxt, flags: TcpFlag.ACK | TcpFlag.FIN, window: this.advertisedWindowField(),
      options: this.segmentOptions(now, 0), payload: NO_PAYLOAD, payloadLength: 0,
    };
  }

  /** The segment of log record `i` (a retransmission). */
  private recordSegment(now: number, i: number): TcpSegmentOut {
    const log = this.log;
    const start = log.start(i);
    const fin = (log.flags(i) & SegFlag.FIN) !== 0;
    const len = seqSub(log.end(i), start) - (fin ? 1 : 0);
    this.txRecord = i;
    return {
      seq: start, ack: this.rcvNxt, flags: TcpFlag.ACK | (fin ? TcpFlag.FIN : 0) | (len > 0 ? TcpFlag.PSH : 0),
      window: this.advertisedWindowField(), options: this.segmentOptions(now, len),
      payload: len > 0 ? this.sendBuf.peek(seqSub(start, this.sndUna), len) : NO_PAYLOAD, payloadLength: len,
    };
  }

  /** A tail loss probe with no new data to send: the last segment again (RFC 8985 7.3). */
  private probeSegment(now: number): TcpSegmentOut | undefined {
    const last = this.inFlightSegs - 1;
    if (last < 0 || (this.log.flags(last) & SegFlag.SACKED) !== 0) {
      this.tlpNow = false;
      return undefined;
    }
    return this.recordSegment(now, last);
  }

  /** The link refused a frame: retry shortly (see `txRetryAt`). */
  private txBlocked(now: number): void {
    this.txRetryAt = now + TX_RETRY_MS;
    this.wantOutput = true;
  }

  private afterSend(now: number, seg: TcpSegmentOut): void {
    const fin = (seg.flags & TcpFlag.FIN) !== 0;
    const len = seg.payloadLength + (fin ? 1 : 0);
    const log = this.log;
    if (this.recovery === RECOVERY_FAST) this.cc.onRecoverySent(len);
    const retransmission = this.txRecord >= 0;
    if (retransmission) {
      // A retransmission (or a probe repeating the last segment).
      const i = this.txRecord;
      const f = log.flags(i);
      const lost = (f & SegFlag.LOST) !== 0;
      log.setFlags(i, f | SegFlag.EVER_RETRANS | (lost ? SegFlag.RETRANS : 0));
      log.setTime(i, now);
      this.txRecord = -1;
      this.bumpStats().retransmittedSegments++;
      if (this.tlpNow) this.startProbe(now, true);
    } else {
      if (this.rttSeq === undefined && len > 0) {
        this.rttSeq = seg.seq;
        this.rttAt = now;
      }
      if (this.rtoAt === Infinity) {
        this.firstUnackedAt = now;
        // RFC 5681 4.1: after an idle period longer than the RTO, restart from IW.
        if (now - this.lastSendAt > this.rtt.rto && log.length === 0) this.cc.onIdleRestart();
      }
      const end = seqAdd(seg.seq, len);
      log.push(seg.seq, end, now, fin ? SegFlag.FIN : 0);
      this.sndMax = end;
      if (fin) this.finSent = true;
      if (this.tlpNow) this.startProbe(now, false);
    }
    this.lastSendAt = now;
    if (this.rtoAt === Infinity && len > 0) this.rtoAt = now + this.rtt.rto;
    // RFC 8985 7.2: (re)start the probe timer after sending new data.
    if (!retransmission && !this.tlpOutstanding && this.recovery === RECOVERY_NONE) this.armTlp(now);
    this.persistAt = Infinity;
    this.ackNow = false;
    this.ackAt = Infinity;
    this.unackedSegments = 0;
    this.rcvAdvRight = seqAdd(this.rcvNxt, seg.window << this.rcvShift);
  }

  /** A tail loss probe went out: one per episode, then the RTO takes over (RFC 8985 7.3). */
  private startProbe(now: number, retransmission: boolean): void {
    this.bumpStats().lossProbes++;
    this.tlpNow = false;
    this.tlpOutstanding = true;
    this.tlpRetrans = retransmission;
    this.tlpEnd = this.sndMax;
    this.tlpAt = Infinity;
    this.rtoAt = now + this.rtt.rto;
  }

  private armPersist(now: number): void {
    const unsent = this.sendBuf.length - Math.max(0, seqSub(this.sndMax, this.sndUna));
    if (this.sndWnd === 0 && unsent > 0 && this.persistAt === Infinity && this.rtoAt === Infinity) {
      this.persistAt = now + Math.max(PERSIST_MIN_MS, this.rtt.rto);
    }
  }

  private emitProbe(now: number, emit: TcpEmit): void {
    // Like Linux: a bare ACK with an old sequence number (SND.UNA - 1). The receiver
    // finds it outside its window and answers with an ACK carrying its current window,
    // so no data byte is pushed past a closed window.
    emit({ seq: seqAdd(this.sndUna, -1), ack: this.rcvNxt, flags: TcpFlag.ACK, window: this.advertisedWindowField(), options: this.segmentOptions(now, -1), payload: NO_PAYLOAD, payloadLength: 0 });
  }

  private emitAck(now: number, emit: TcpEmit): void {
    // SEG.SEQ of a pure ACK is the highest sequence number sent (SND.MAX), never the
    // sequence number of a retransmission: an older value would look old to the peer,
    // which discards it (and its ACK field) and answers with an ACK: an ACK storm.
    const seg: TcpSegmentOut = {
      seq: this.sndMax, ack: this.rcvNxt, flags: TcpFlag.ACK, window: this.advertisedWindowField(),
      options: this.segmentOptions(now, 0), payload: NO_PAYLOAD, payloadLength: 0,
    };
    if (!emit(seg)) {
      this.txBlocked(now);
      return;
    }
    this.ackNow = false;
    this.ackAt = Infinity;
    this.unackedSegments = 0;
    this.rcvAdvRight = seqAdd(this.rcvNxt, seg.window << this.rcvShift);
  }

  /** The window field to send: free receive space, scaled, never shrinking the right edge. */
  private advertisedWindowField(): number {
    let wnd = this.recvBuf.free;
    // Receiver SWS avoidance: do not advertise a small increase (RFC 9293 3.8.6.2.2).
    const current = Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt));
    const threshold = Math.min(this.cfg.recvBufferBytes / 2, this.cfg.mss);
    if (wnd > current && wnd - current < threshold) wnd = current;
    wnd = Math.max(wnd, current); // never move the right edge left (RFC 9293 3.8.6.2.2)
    return Math.min(0xffff, wnd >>> this.rcvShift);
  }

  /**
   * Options for a segment: timestamps when negotiated, and SACK blocks (most recent
   * first) when out-of-order data is held. `payloadLen` < 0: no SACK (probes); otherwise
   * only as many blocks as fit beside `payloadLen` bytes in one MSS-sized segment.
   */
  private segmentOptions(now: number, payloadLen: number): TcpOptions {
    const sack = payloadLen >= 0 && this.sackOn && !this.assembler.isEmpty;
    if (!this.tsOn && !sack) return EMPTY_OPTIONS;
    const o: { timestamp?: { value: number; echo: number }; sack?: [number, number][] } = {};
    if (this.tsOn) o.timestamp = { value: this.tsNow(now), echo: this.tsRecent };
    if (sack) {
      const room = this.sndMss - (this.tsOn ? TS_OPTION_BYTES : 0) - payloadLen;
      const max = Math.min(this.tsOn ? 3 : 4, Math.floor((room - 4) / 8));
      if (max > 0) o.sack = this.assembler.sackBlocks(max).map(([a, b]) => [seqAdd(this.rcvNxt, a), seqAdd(this.rcvNxt, b)]);
    }
    return o;
  }

  /** Bytes the SACK option takes in a data segment now (blocks, kind, length, two NOPs). */
  private sackOptionBytes(): number {
    if (!this.sackOn || this.assembler.isEmpty) return 0;
    return 8 * Math.min(this.assembler.rangeCount, this.tsOn ? 3 : 4) + 4;
  }

  private tsNow(now: number): number {
    return ((now >>> 0) + this.tsOffset) >>> 0;
  }
}
