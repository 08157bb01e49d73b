/**
 * One PPP session (RFC 1661): the link phases Dead → Establish → Authenticate → Network →
 * Terminate → Dead, LCP with echo keep-alive and loop-back detection, PAP or CHAP in either
 * direction, and the network control protocols IPCP and IPV6CP; IPv4 and IPv6 packets in and out
 * once their NCP is Opened.
 *
 * The same class plays both roles; a role is only configuration: the dialling side usually gives
 * `credentials` and asks for an address (`ipv4.localAddress` 0, `requestDns`), the answering
 * side `authenticate` (secrets) and `ipv4.peerAddress`/`dnsServers` to hand out.
 *
 * Framing is not done here: `input` takes a de-framed frame (HDLC flags, escapes and FCS
 * removed), and frames leave through `output(frame, lcp, rest)` starting at the Address field (or
 * at the protocol field with ACFC); an IP packet comes as its frame header in `frame` and the
 * packet itself in `rest` (one frame: the framer encodes both without joining them; both views are
 * valid only during the call); `lcp` says the frame must be sent with the default ACCM (every
 * control character escaped), as LCP packets are (RFC 1662 §7.1, as Linux's ppp_async does). The
 * negotiated values for the framer are in `lcpNegotiated` once LCP is Opened.
 *
 * Echo keep-alive: every `echoIntervalMs` while Opened an Echo-Request goes out; after
 * `echoFailures` intervals in a row with no frame at all from the peer, the link is declared dead
 * (any received frame proves the peer alive, like pppd's lcp-echo-adaptive). Unknown protocols are
 * answered with Protocol-Reject while LCP is Opened; NCP packets outside the Network phase and IP
 * packets before their NCP is Opened are dropped and counted.
 *
 * No timers and no clock: time comes in as `now`; the owner calls `poll(now)` at `pollAt()`.
 * Untrusted input never throws.
 */
import type { Rng } from '../../base/rand.ts';
import { isFault } from '../../wire/fault.ts';
import {
  buildCpPacket, CpCode, parseCpPacket, parsePppFrame, PppProtocol, pppHeaderLen, writePppHeader, type CpPacket,
} from '../../wire/ppp/ppp-packet.ts';
import { rd16, rd32, wr16, wr32 } from '../../wire/bytes.ts';
import { ChapAuthenticator, ChapPeer } from './chap.ts';
import { CpFsm, type CpHandler, type CpState, type CpTiming } from './cp-fsm.ts';
import { IpcpOptions, type IpcpNegotiated } from './ipcp-options.ts';
import { Ipv6cpOptions, type Ipv6cpNegotiated } from './ipv6cp-options.ts';
import { LcpOptions, type LcpNegotiated, type PppAuthProtocol } from './lcp-options.ts';
import { PapAuthenticator, PapPeer } from './pap.ts';
import { AUTH_DEFAULT_TIMING, type AuthMachine, type AuthOutcome, type AuthTiming, type SecretLookup } from './ppp-auth-common.ts';

/** RFC 1661 §3.2 link phases. */
export type PppPhase = 'dead' | 'establish' | 'authenticate' | 'network' | 'terminate';

/** Why a session went back to Dead. */
export type PppDownReason =
  /** `close()` was called. */
  | 'closed'
  /** The peer sent Terminate-Request. */
  | 'peer-terminated'
  /** LCP did not converge within Max-Configure requests (no peer, or no agreement). */
  | 'negotiation-failed'
  /** Authentication failed (either direction). */
  | 'auth-failed'
  /** We require authentication and the peer refused to do it. */
  | 'auth-refused'
  /** Echo keep-alive: the peer went silent. */
  | 'link-dead'
  /** The lower layer (the byte stream) went away. */
  | 'lower-down'
  /** No network protocol could be opened. */
  | 'no-network'
  /** The line looks looped back (our own magic number keeps coming back). */
  | 'looped-back';

/** Events of a session, in the order things happen. */
export type PppEvent =
  | {
    /** A phase change (RFC 1661 §3.2). */
    readonly type: 'phase';
    /** The new phase. */
    readonly phase: PppPhase;
  }
  | {
    /** LCP reached Opened. */
    readonly type: 'lcp-up';
    /** The options both ends agreed on. */
    readonly negotiated: LcpNegotiated;
  }
  | {
    /** LCP left Opened. */
    readonly type: 'lcp-down';
  }
  | {
    /** An authentication finished. */
    readonly type: 'auth';
    /** `authenticator`: we checked the peer; `peer`: the peer checked us. */
    readonly role: 'authenticator' | 'peer';
    /** How it went. */
    readonly outcome: AuthOutcome;
  }
  | {
    /** IPCP reached Opened. */
    readonly type: 'ipcp-up';
    /** The addresses and DNS servers agreed on. */
    readonly negotiated: IpcpNegotiated;
  }
  | {
    /** IPCP left Opened. */
    readonly type: 'ipcp-down';
  }
  | {
    /** IPV6CP reached Opened. */
    readonly type: 'ipv6cp-up';
    /** The interface identifiers agreed on. */
    readonly negotiated: Ipv6cpNegotiated;
  }
  | {
    /** IPV6CP left Opened. */
    readonly type: 'ipv6cp-down';
  }
  | {
    /** An NCP gave up (rejected by the peer, no agreement, no address): the other may still run. */
    readonly type: 'ncp-failed';
    /** Which one. */
    readonly protocol: 'ipcp' | 'ipv6cp';
  }
  | {
    /** The session ended. */
    readonly type: 'down';
    /** Why. */
    readonly reason: PppDownReason;
  };

/**
 * Where frames go: `frame` from the Address field (or the protocol with ACFC), then `rest` when
 * given (an IP packet after its frame header); `lcp`: send with every control character escaped.
 * Both views are valid only during the call.
 */
export type PppOutput = (frame: Uint8Array, lcp: boolean, rest?: Uint8Array) => void;

/** Configuration of a session; every field has a default. */
export interface PppSessionOptions {
  /** Magic numbers, CHAP challenges, IPV6CP identifiers. */
  rng: Rng;
  /** LCP options we ask for, and the echo keep-alive. */
  lcp?: {
    /** Largest information field we receive (default 1500). */
    mru?: number;
    /** Control characters the peer must escape towards us (default 0). */
    accm?: number;
    /** Ask for protocol / address-and-control field compression (default true). */
    pfc?: boolean;
    /** Ask for address-and-control field compression (default true). */
    acfc?: boolean;
    /** Negotiate a magic number (default true). */
    magic?: boolean;
    /** Echo-Request interval while Opened; 0 turns keep-alive off (default 30 000 ms). */
    echoIntervalMs?: number;
    /** Silent intervals before the link is dead (default 4). */
    echoFailures?: number;
  };
  /** Restart timer and counters of every control protocol (RFC 1661 §4.6). */
  timing?: Partial<CpTiming>;
  /** Retransmission of the authentication protocols. */
  authTiming?: Partial<AuthTiming>;
  /** Our name and secret, used when the peer asks us to authenticate (PAP or CHAP). */
  credentials?: {
    /** Our name (PAP peer id, CHAP name). */
    user: string;
    /** Our secret. */
    password: string;
    /** The protocols we accept when the peer asks (default CHAP-MD5, then PAP). */
    protocols?: readonly PppAuthProtocol[];
  };
  /** Make the peer authenticate itself (default: no). */
  authenticate?: {
    /** Looks up a peer's secret by its name. */
    secrets: SecretLookup;
    /** The protocols we ask for, in order of preference (default CHAP-MD5, then PAP). */
    protocols?: readonly PppAuthProtocol[];
    /** Our name in CHAP challenges (default `iotnet`). */
    name?: string;
  };
  /** IPCP (default on, asking for an address and DNS servers); false: IPv4 off. */
  ipv4?: false | {
    /** Our address (uint32); default none: ask the peer. */
    localAddress?: number;
    /** The address we give a peer that asks (server role). */
    peerAddress?: number;
    /** Ask for DNS servers (RFC 1877; default: when we ask for our address). */
    requestDns?: boolean;
    /** DNS servers we give a peer that asks (server role). */
    dnsServers?: readonly number[];
  };
  /** IPV6CP (default on); false: IPv6 off. */
  ipv6?: false | {
    /** Our interface identifier (8 bytes, not all zero); default random. */
    iid?: Uint8Array;
  };
}

/** Counters of a session. */
export interface PppSessionStats {
  /** Frames received (with a valid FCS). */
  framesIn: number;
  /** Frames sent. */
  framesOut: number;
  /** Frames whose PPP header did not parse, and control packets with a bad length. */
  malformed: number;
  /** Valid frames dropped because of the phase (NCP before Network, IP before its NCP). */
  discarded: number;
  /** Protocol-Rejects sent. */
  protocolRejects: number;
  /** IP packets delivered up. */
  ipIn: number;
  /** IP packets sent. */
  ipOut: number;
  /** IP packets we could not send (NCP not open, larger than the peer's MRU). */
  ipDropped: number;
  /** LCP Echo-Requests sent (keep-alive). */
  echoRequestsSent: number;
  /** LCP Echo-Replies received. */
  echoRepliesReceived: number;
}

const DEFAULT_ECHO_INTERVAL_MS = 30_000;
const DEFAULT_ECHO_FAILURES = 4;

type Ncp = 'ipcp' | 'ipv6cp';

/** One PPP session over one link. */
export class PppSession {
  /** The RFC 1661 phase now (`dead`, `establish`, `authenticate`, `network`, `terminate`). */
  phase: PppPhase = 'dead';
  /** Counters (see `PppSessionStats`). */
  readonly stats: PppSessionStats = {
    framesIn: 0, framesOut: 0, malformed: 0, discarded: 0, protocolRejects: 0, ipIn: 0, ipOut: 0, ipDropped: 0, echoRequestsSent: 0, echoRepliesReceived: 0,
  };
  /** The LCP automaton. */
  readonly lcp: CpFsm;
  /** The IPCP automaton (undefined with IPv4 off). */
  readonly ipcp: CpFsm | undefined;
  /** The IPV6CP automaton (undefined with IPv6 off). */
  readonly ipv6cp: CpFsm | undefined;
  private readonly lcpOptions: LcpOptions;
  private readonly ipcpOptions: IpcpOptions | undefined;
  private readonly ipv6cpOptions: Ipv6cpOptions | undefined;
  private readonly opts: PppSessionOptions;
  private readonly output: PppOutput;
  /** The frame header of IP packets, rewritten for each (`output` consumes it synchronously). */
  private readonly ipHeader = new Uint8Array(4);
  private readonly emit: (e: PppEvent) => void;
  private readonly authTiming: AuthTiming;
  private readonly echoIntervalMs: number;
  private readonly echoFailures: number;
  private readonly maxFailure: number;
  private authenticator: AuthMachine | undefined;
  private authPeer: AuthMachine | undefined;
  private authPending = 0;
  private echoDeadline: number | undefined;
  private echoSilent = 0;
  private echoId = 0;
  private heard = false;
  private closeReason: PppDownReason | undefined;
  /** NCPs whose up event went out (their down event is due when they leave Opened). */
  private readonly announced = new Set<Ncp>();
  private lcpWasOpened = false;

  constructor(opts: PppSessionOptions, output: PppOutput, emit: (e: PppEvent) => void) {
    this.opts = opts;
    this.output = output;
    this.emit = emit;
    const l = opts.lcp ?? {};
    const mru = l.mru ?? 1500;
    if (!Number.isInteger(mru) || mru < 128 || mru > 65535) throw new RangeError(`PPP MRU: 128 to 65535, got ${mru}`);
    this.echoIntervalMs = l.echoIntervalMs ?? DEFAULT_ECHO_INTERVAL_MS;
    this.echoFailures = Math.max(1, l.echoFailures ?? DEFAULT_ECHO_FAILURES);
    this.authTiming = { ...AUTH_DEFAULT_TIMING, ...opts.authTiming };
    this.maxFailure = opts.timing?.maxFailure ?? 5;
    const credentials = opts.credentials;
    this.lcpOptions = new LcpOptions({
      mru,
      accm: l.accm ?? 0,
      pfc: l.pfc ?? true,
      acfc: l.acfc ?? true,
      magic: l.magic ?? true,
      require: opts.authenticate !== undefined ? (opts.authenticate.protocols ?? ['chap', 'pap']) : [],
      accept: credentials !== undefined ? (credentials.protocols ?? ['chap', 'pap']) : [],
    }, opts.rng);
    const rng = opts.rng;
    this.lcp = new CpFsm('LCP', this.lcpHandler(), (p) => this.sendControl(PppProtocol.LCP, p), opts.timing, rng.nextU32() & 0xff);
    if (opts.ipv4 !== false) {
      const v4 = opts.ipv4 ?? {};
      this.ipcpOptions = new IpcpOptions({
        localAddress: v4.localAddress ?? 0,
        peerAddress: v4.peerAddress ?? 0,
        requestDns: v4.requestDns ?? (v4.localAddress === undefined || v4.localAddress === 0),
        dnsServers: v4.dnsServers ?? [],
      });
      this.ipcp = new CpFsm('IPCP', this.ncpHandler('ipcp', this.ipcpOptions), (p) => this.sendControl(PppProtocol.IPCP, p), opts.timing, rng.nextU32() & 0xff);
    }
    if (opts.ipv6 !== false) {
      this.ipv6cpOptions = new Ipv6cpOptions(rng, opts.ipv6?.iid);
      this.ipv6cp = new CpFsm('IPV6CP', this.ncpHandler('ipv6cp', this.ipv6cpOptions), (p) => this.sendControl(PppProtocol.IPV6CP, p), opts.timing, rng.nextU32() & 0xff);
    }
  }

  /** LCP's outcome (valid while LCP is Opened). */
  get lcpNegotiated(): LcpNegotiated {
    return this.lcpOptions.result;
  }

  /** IPCP's outcome, while IPCP is Opened. */
  get ipv4(): IpcpNegotiated | undefined {
    return this.ipcp?.opened === true ? this.ipcpOptions?.result : undefined;
  }

  /** IPV6CP's outcome, while IPV6CP is Opened. */
  get ipv6(): Ipv6cpNegotiated | undefined {
    return this.ipv6cp?.opened === true ? this.ipv6cpOptions?.result : undefined;
  }

  /** The lower layer is ready: start (or restart) negotiating. */
  open(now: number): void {
    this.closeReason = undefined;
    this.lcpWasOpened = false;
    this.lcpOptions.reset();
    if (this.phase === 'dead') this.setPhase('establish');
    this.lcp.open(now);
    this.lcp.up(now);
  }

  /** Ends the session gracefully (Terminate-Request; Dead after the Ack or the timeouts). */
  close(now: number, reason: PppDownReason = 'closed'): void {
    this.closeReason ??= reason;
    if (this.phase === 'dead') return;
    if (this.lcp.state === 'starting' || this.lcp.state === 'initial') {
      this.lcp.close(now);
      return;
    }
    this.lcp.close(now);
    if (this.lcp.state === 'closed') this.toDead(reason);
  }

  /** The byte stream went away: Dead at once. */
  lowerDown(now: number): void {
    this.closeReason ??= 'lower-down';
    this.lcp.down(now);
    this.lcp.close(now);
    if (this.phase !== 'dead') this.toDead(this.closeReason);
  }

  /** When `poll` next has work, or undefined. */
  pollAt(): number | undefined {
    let t: number | undefined;
    const consider = (d: number | undefined): void => {
      if (d !== undefined && (t === undefined || d < t)) t = d;
    };
    consider(this.lcp.deadline);
    consider(this.ipcp?.deadline);
    consider(this.ipv6cp?.deadline);
    consider(this.authenticator?.deadline);
    consider(this.authPeer?.deadline);
    consider(this.echoDeadline);
    return t;
  }

  /** Runs the timers that are due. */
  poll(now: number): void {
    this.lcp.poll(now);
    this.ipcp?.poll(now);
    this.ipv6cp?.poll(now);
    this.authenticator?.poll(now);
    this.authPeer?.poll(now);
    if (this.echoDeadline !== undefined && now >= this.echoDeadline) this.echoTick(now);
  }

  /** One de-framed frame from the peer. IP packets come back through `deliver`. */
  input(now: number, frame: Uint8Array, deliver: (packet: Uint8Array, version: 4 | 6) => void): void {
    const f = parsePppFrame(frame);
    if (isFault(f)) {
      this.stats.malformed++;
      return;
    }
    this.stats.framesIn++;
    this.heard = true;
    switch (f.protocol) {
      case PppProtocol.IPV4:
        if (this.ipcp?.opened === true) {
          this.stats.ipIn++;
          deliver(f.info, 4);
        } else this.stats.discarded++;
        return;
      case PppProtocol.IPV6:
        if (this.ipv6cp?.opened === true) {
          this.stats.ipIn++;
          deliver(f.info, 6);
        } else this.stats.discarded++;
        return;
      case PppProtocol.LCP:
        this.control(f.info, (p) => this.lcp.receive(now, p));
        // Our magic number kept coming back in the peer's requests: a looped line (§6.4).
        if (this.lcpOptions.loopSuspected >= this.maxFailure && this.phase !== 'dead') this.close(now, 'looped-back');
        return;
      case PppProtocol.PAP:
      case PppProtocol.CHAP:
        if (this.phase !== 'authenticate' && this.phase !== 'network') {
          this.stats.discarded++;
          return;
        }
        this.control(f.info, (p) => this.authInput(now, f.protocol, p));
        return;
      case PppProtocol.IPCP:
      case PppProtocol.IPV6CP: {
        const fsm = f.protocol === PppProtocol.IPCP ? this.ipcp : this.ipv6cp;
        if (fsm === undefined) break; // that NCP is off: Protocol-Reject below
        if (this.phase !== 'network') {
          this.stats.discarded++;
          return;
        }
        this.control(f.info, (p) => fsm.receive(now, p));
        return;
      }
      default:
        break;
    }
    this.protocolReject(f.protocol, f.info);
  }

  /** Sends one IP packet (version from its first nibble); false when it cannot go now. */
  sendIp(packet: Uint8Array): boolean {
    const version = packet.length > 0 ? (packet[0] as number) >> 4 : 0;
    const fsm = version === 4 ? this.ipcp : version === 6 ? this.ipv6cp : undefined;
    if (fsm?.opened !== true || packet.length > this.lcpOptions.result.peerMru) {
      this.stats.ipDropped++;
      return false;
    }
    const n = this.lcpOptions.result;
    const protocol = version === 4 ? PppProtocol.IPV4 : PppProtocol.IPV6;
    const hl = writePppHeader(this.ipHeader, 0, protocol, n.txAcfc, n.txPfc);
    this.stats.ipOut++;
    this.stats.framesOut++;
    this.output(this.ipHeader.subarray(0, hl), false, packet);
    return true;
  }

  // ------------------------------------------------------------------------------- internals

  private control(info: Uint8Array, handle: (p: CpPacket) => void): void {
    const p = parseCpPacket(info);
    if (isFault(p)) {
      this.stats.malformed++;
      return;
    }
    handle(p);
  }

  private sendControl(protocol: number, packet: Uint8Array): void {
    const isLcp = protocol === PppProtocol.LCP;
    // ACFC never applies to LCP packets (RFC 1661 §6.6); PFC cannot shorten these protocols.
    const acfc = !isLcp && this.lcp.opened && this.lcpOptions.result.txAcfc;
    const hl = pppHeaderLen(protocol, acfc, false);
    const frame = new Uint8Array(hl + packet.length);
    writePppHeader(frame, 0, protocol, acfc, false);
    frame.set(packet, hl);
    this.stats.framesOut++;
    this.output(frame, isLcp);
  }

  /** §5.7: Protocol-Reject carrying the rejected protocol and as much of its information as fits the peer's MRU. */
  private protocolReject(protocol: number, info: Uint8Array): void {
    if (!this.lcp.opened) {
      this.stats.discarded++;
      return;
    }
    const room = Math.max(0, this.lcpOptions.result.peerMru - 4 - 2);
    const data = new Uint8Array(2 + Math.min(info.length, room));
    wr16(data, 0, protocol);
    data.set(info.subarray(0, data.length - 2), 2);
    this.stats.protocolRejects++;
    this.echoId = (this.echoId + 1) & 0xff;
    this.sendControl(PppProtocol.LCP, buildCpPacket(CpCode.PROTOCOL_REJECT, this.echoId, data));
  }

  private setPhase(phase: PppPhase): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.emit({ type: 'phase', phase });
  }

  private toDead(reason: PppDownReason): void {
    this.stopAuth();
    this.echoDeadline = undefined;
    this.setPhase('dead');
    this.emit({ type: 'down', reason });
  }

  private stopAuth(): void {
    this.authenticator?.stop();
    this.authPeer?.stop();
    this.authenticator = undefined;
    this.authPeer = undefined;
    this.authPending = 0;
  }

  // ------------------------------------------------------------------------------- LCP

  private lcpHandler(): CpHandler {
    const o = (): LcpOptions => this.lcpOptions;
    return {
      requestOptions: () => o().requestOptions(),
      checkRequest: (options, rejectInsteadOfNak) => o().checkRequest(options, rejectInsteadOfNak),
      ackReceived: (options) => o().ackReceived(options),
      nakReceived: (options) => o().nakReceived(options),
      rejectReceived: (options) => o().rejectReceived(options),
      up: (now) => this.lcpUp(now),
      down: (now) => this.lcpDown(now),
      started: () => undefined,
      finished: () => {
        if (this.phase === 'dead') return;
        this.toDead(this.closeReason ?? (this.lcpWasOpened ? 'peer-terminated' : 'negotiation-failed'));
      },
      otherCode: (now, p, state) => this.lcpOtherCode(now, p, state),
      // A Code-Reject of a configuration/termination code is fatal; of Echo or Discard it is not.
      rejectIsFatal: (p) => {
        const code = p.data[0];
        return code !== undefined && code >= CpCode.CONFIGURE_REQUEST && code <= CpCode.CODE_REJECT;
      },
    };
  }

  private lcpUp(now: number): void {
    this.lcpOptions.commit();
    this.lcpWasOpened = true;
    const n = this.lcpOptions.result;
    this.emit({ type: 'lcp-up', negotiated: n });
    this.heard = true;
    this.echoSilent = 0;
    this.echoDeadline = this.echoIntervalMs > 0 ? now + this.echoIntervalMs : undefined;
    if (this.lcpOptions.config.require.length > 0 && n.authLocal === undefined) {
      this.close(now, 'auth-refused');
      return;
    }
    this.stopAuth();
    const send = (protocol: number) => (p: Uint8Array): void => this.sendControl(protocol, p);
    if (n.authLocal !== undefined) {
      const a = this.opts.authenticate;
      const secrets: SecretLookup = a?.secrets ?? (() => undefined);
      const done = (outcome: AuthOutcome): void => this.authDone(now, 'authenticator', outcome);
      this.authenticator = n.authLocal === 'pap'
        ? new PapAuthenticator(secrets, this.authTiming, send(PppProtocol.PAP), done)
        : new ChapAuthenticator(a?.name ?? 'iotnet', secrets, this.opts.rng, this.authTiming, send(PppProtocol.CHAP), done);
      this.authPending++;
    }
    const c = this.opts.credentials;
    if (n.authPeer !== undefined && c !== undefined) {
      const done = (outcome: AuthOutcome): void => this.authDone(now, 'peer', outcome);
      this.authPeer = n.authPeer === 'pap'
        ? new PapPeer(c.user, c.password, this.authTiming, send(PppProtocol.PAP), done)
        : new ChapPeer(c.user, c.password, this.authTiming, send(PppProtocol.CHAP), done);
      this.authPending++;
    }
    if (this.authPending > 0) {
      this.setPhase('authenticate');
      this.authenticator?.start(now);
      this.authPeer?.start(now);
    } else {
      this.startNetwork(now);
    }
  }

  private lcpDown(now: number): void {
    this.echoDeadline = undefined;
    this.stopAuth();
    // Leave the Network phase first: NCPs finishing now must not close the link again.
    // Closing or Stopping: the link is being terminated; still Opened: a renegotiation starts.
    const ending = this.closeReason !== undefined || this.lcp.state === 'closing' || this.lcp.state === 'stopping';
    if (this.phase !== 'dead') this.setPhase(ending ? 'terminate' : 'establish');
    this.ipcp?.down(now);
    this.ipcp?.close(now);
    this.ipv6cp?.down(now);
    this.ipv6cp?.close(now);
    this.emit({ type: 'lcp-down' });
  }

  private lcpOtherCode(now: number, p: CpPacket, state: CpState): boolean {
    switch (p.code) {
      case CpCode.PROTOCOL_REJECT:
        if (state === 'opened' && p.data.length >= 2) this.protocolRejected(now, rd16(p.data, 0));
        return true;
      case CpCode.ECHO_REQUEST: {
        if (state !== 'opened' || p.data.length < 4) return true;
        const magic = this.lcpOptions.localMagic;
        if (magic !== 0 && rd32(p.data, 0) === magic) {
          // Our own echo request came back: the line may be looped (§5.8).
          this.lcpOptions.loopSuspected++;
          if (this.lcpOptions.loopSuspected >= this.maxFailure) this.close(now, 'looped-back');
          return true;
        }
        const data = p.data.slice();
        wr32(data, 0, magic);
        this.sendControl(PppProtocol.LCP, buildCpPacket(CpCode.ECHO_REPLY, p.id, data));
        return true;
      }
      case CpCode.ECHO_REPLY:
        if (state === 'opened') this.stats.echoRepliesReceived++;
        return true;
      case CpCode.DISCARD_REQUEST:
        return true;
      default:
        return false;
    }
  }

  private protocolRejected(now: number, protocol: number): void {
    if (protocol === PppProtocol.IPCP) this.ipcp?.protocolRejected(now, true);
    else if (protocol === PppProtocol.IPV6CP) this.ipv6cp?.protocolRejected(now, true);
    else if (protocol === PppProtocol.PAP || protocol === PppProtocol.CHAP) {
      if (this.authPending > 0) this.close(now, 'auth-failed');
    }
  }

  private echoTick(now: number): void {
    if (!this.lcp.opened) {
      this.echoDeadline = undefined;
      return;
    }
    if (this.heard) this.echoSilent = 0;
    else this.echoSilent++;
    this.heard = false;
    if (this.echoSilent >= this.echoFailures) {
      this.closeReason ??= 'link-dead';
      this.lowerDown(now);
      return;
    }
    this.echoId = (this.echoId + 1) & 0xff;
    const data = new Uint8Array(4);
    wr32(data, 0, this.lcpOptions.localMagic);
    this.stats.echoRequestsSent++;
    this.sendControl(PppProtocol.LCP, buildCpPacket(CpCode.ECHO_REQUEST, this.echoId, data));
    this.echoDeadline = now + this.echoIntervalMs;
  }

  // ------------------------------------------------------------------------------- authentication

  private authInput(now: number, protocol: number, p: CpPacket): void {
    // PAP requests and CHAP responses go to the authenticator; PAP answers and CHAP challenges,
    // successes and failures to our peer side. Codes tell them apart (RFC 1334 §2.2, RFC 1994 §4).
    const toAuthenticator = protocol === PppProtocol.PAP ? p.code === 1 : p.code === 2;
    const m = toAuthenticator ? this.authenticator : this.authPeer;
    if (m === undefined) {
      this.stats.discarded++;
      return;
    }
    m.receive(now, p);
  }

  private authDone(now: number, role: 'authenticator' | 'peer', outcome: AuthOutcome): void {
    this.emit({ type: 'auth', role, outcome });
    if (!outcome.ok) {
      this.close(now, 'auth-failed');
      return;
    }
    this.authPending--;
    if (this.authPending === 0 && this.phase === 'authenticate') this.startNetwork(now);
  }

  // ------------------------------------------------------------------------------- NCPs

  private startNetwork(now: number): void {
    this.setPhase('network');
    if (this.ipcp === undefined && this.ipv6cp === undefined) {
      this.close(now, 'no-network');
      return;
    }
    this.ipcpOptions?.reset();
    this.ipv6cpOptions?.reset();
    for (const fsm of [this.ipcp, this.ipv6cp]) {
      if (fsm === undefined) continue;
      fsm.open(now);
      fsm.up(now);
    }
  }

  private ncpHandler(which: Ncp, o: IpcpOptions | Ipv6cpOptions): CpHandler {
    return {
      requestOptions: () => o.requestOptions(),
      checkRequest: (options, rejectInsteadOfNak) => o.checkRequest(options, rejectInsteadOfNak),
      ackReceived: (options) => o.ackReceived(options),
      nakReceived: (options) => o.nakReceived(options),
      rejectReceived: (options) => o.rejectReceived(options),
      up: (now) => {
        o.commit();
        if (which === 'ipcp') {
          const r = (o as IpcpOptions).result;
          if (r.localAddress === 0) {
            // Nobody gave us an address: IPv4 cannot run (pppd: "Could not determine local IP address").
            this.ipcp?.close(now);
            return;
          }
          this.announced.add(which);
          this.emit({ type: 'ipcp-up', negotiated: { ...r, dnsServers: [...r.dnsServers] } });
        } else {
          const r = (o as Ipv6cpOptions).result;
          this.announced.add(which);
          this.emit({ type: 'ipv6cp-up', negotiated: { localIid: r.localIid.slice(), peerIid: r.peerIid.slice() } });
        }
      },
      down: () => {
        if (this.announced.delete(which)) this.emit(which === 'ipcp' ? { type: 'ipcp-down' } : { type: 'ipv6cp-down' });
      },
      started: () => undefined,
      finished: (now) => {
        if (this.phase === 'network') this.emit({ type: 'ncp-failed', protocol: which });
        this.ncpFinished(now);
      },
    };
  }

  /** An NCP gave up: when none is left running, the link has no purpose (pppd closes it too). */
  private ncpFinished(now: number): void {
    if (this.phase !== 'network') return;
    const alive = (f: CpFsm | undefined): boolean => f !== undefined && f.state !== 'stopped' && f.state !== 'closed' && f.state !== 'initial';
    if (!alive(this.ipcp) && !alive(this.ipv6cp)) this.close(now, 'no-network');
  }
}
