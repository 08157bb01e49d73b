/**
 * The option negotiation automaton of RFC 1661 §4, shared by LCP, IPCP and IPV6CP: the ten
 * states, the events (Up, Down, Open, Close, TO±, RCR±, RCA, RCN, RTR, RTA, RUC, RXJ±, RXR) and
 * the actions (tlu, tld, tls, tlf, irc, zrc, scr, sca, scn, str, sta, scj, ser) exactly as the
 * state transition table of §4.1 lists them, with the restart timer and the Max-Terminate,
 * Max-Configure and Max-Failure counters of §4.6.
 *
 * What the options mean is the protocol's business (`CpHandler`): it builds our
 * Configure-Request, judges the peer's (Ack, Nak or Reject), and learns from the peer's Nak and
 * Reject. Max-Failure: once that many Naks went out without an Ack, the handler is asked to
 * reject instead of Nak. A peer that never converges still cannot loop forever: after
 * 2 × Max-Configure rounds without reaching Opened (Naks or Rejects received, Naks or Rejects
 * sent) the automaton gives up as on the last timeout (This-Layer-Finished, Stopped). An Ack, Nak or Reject
 * whose identifier is not that of our last request, or an Ack that does not repeat our options
 * exactly, is silently discarded (§5.2–§5.4).
 *
 * No timers and no clock: time comes in as `now`, the owner polls at `deadline`.
 */
import { buildCpOptions, buildCpPacket, CpCode, parseCpOptions, type CpOption, type CpPacket } from '../../wire/ppp/ppp-packet.ts';
import { equalBytes } from '../../wire/bytes.ts';
import { isFault } from '../../wire/fault.ts';

/** The states of RFC 1661 §4.2. */
export type CpState = 'initial' | 'starting' | 'closed' | 'stopped' | 'closing' | 'stopping' | 'req-sent' | 'ack-rcvd' | 'ack-sent' | 'opened';

/** How the handler answers a peer's Configure-Request. */
export type CpVerdict =
  | { readonly kind: 'ack' }
  | { readonly kind: 'nak' | 'reject'; readonly options: readonly CpOption[] };

/** What a protocol (LCP, IPCP, IPV6CP) tells the automaton, and hears from it. */
export interface CpHandler {
  /** The options of our next Configure-Request. */
  requestOptions(): readonly CpOption[];
  /**
   * Judges the peer's Configure-Request (RFC 1661 §5.1–§5.4): every option acceptable → ack (and
   * remember the values: they apply at `up`); unknown or unacceptable-in-kind options → reject
   * (only those); else → nak with the values we want. `rejectInsteadOfNak`: Max-Failure reached.
   */
  checkRequest(options: readonly CpOption[], rejectInsteadOfNak: boolean): CpVerdict;
  /** The peer acknowledged our request (already checked to repeat it exactly). */
  ackReceived(options: readonly CpOption[]): void;
  /** The peer's Nak: adopt what it suggests where acceptable. False: not a valid Nak, discard. */
  nakReceived(options: readonly CpOption[]): boolean;
  /** The peer's Reject: stop asking for those options. False: not a valid Reject, discard. */
  rejectReceived(options: readonly CpOption[]): boolean;
  /** This-Layer-Up: the automaton reached Opened. */
  up(now: number): void;
  /** This-Layer-Down: it left Opened. */
  down(now: number): void;
  /** This-Layer-Started: the lower layer is needed. */
  started(now: number): void;
  /** This-Layer-Finished: the lower layer is no longer needed. */
  finished(now: number): void;
  /**
   * Codes beyond Code-Reject (LCP: Protocol-Reject, Echo, Discard). Return false when the code
   * is unknown to this protocol (then a Code-Reject goes out). Called in any state.
   */
  otherCode?(now: number, packet: CpPacket, state: CpState): boolean;
  /** A Code-Reject or Protocol-Reject the owner judged: true when it is catastrophic (RXJ−). */
  rejectIsFatal?(rejected: CpPacket): boolean;
}

/** Counters and timer of RFC 1661 §4.6. */
export interface CpTiming {
  /** Restart timer (default 3000 ms). */
  restartMs: number;
  /** Terminate-Requests sent without an Ack before giving up (default 2). */
  maxTerminate: number;
  /** Configure-Requests sent without a valid answer before giving up (default 10). */
  maxConfigure: number;
  /** Configure-Naks sent without an Ack before rejecting instead (default 5). */
  maxFailure: number;
}

export const CP_DEFAULT_TIMING: Readonly<CpTiming> = { restartMs: 3000, maxTerminate: 2, maxConfigure: 10, maxFailure: 5 };

/** Counters of one automaton. */
export interface CpStats {
  configureRequestsSent: number;
  configureRequestsReceived: number;
  acksSent: number;
  naksSent: number;
  rejectsSent: number;
  /** Requests retransmitted on the restart timer. */
  timeouts: number;
  /** Packets discarded: wrong identifier, bad options, Ack not repeating our request, wrong state. */
  discarded: number;
  codeRejectsSent: number;
  /** Negotiations abandoned after 2 × Max-Configure rounds without agreement. */
  gaveUp: number;
}

/** One RFC 1661 automaton. The owner wraps `send` output in frames of its protocol. */
export class CpFsm {
  readonly name: string;
  state: CpState = 'initial';
  /** When the restart timer fires, or undefined when it is not running. */
  deadline: number | undefined = undefined;
  readonly stats: CpStats = {
    configureRequestsSent: 0, configureRequestsReceived: 0, acksSent: 0, naksSent: 0, rejectsSent: 0, timeouts: 0, discarded: 0, codeRejectsSent: 0, gaveUp: 0,
  };
  private readonly handler: CpHandler;
  private readonly send: (packet: Uint8Array) => void;
  private readonly timing: CpTiming;
  private restartCount = 0;
  private failures = 0;
  /** Naks/Rejects received or sent since the last Opened. */
  private rounds = 0;
  private nextId: number;
  /** Identifier and options of our last Configure-Request. */
  private reqId = -1;
  private reqData: Uint8Array = new Uint8Array(0);

  constructor(name: string, handler: CpHandler, send: (packet: Uint8Array) => void, timing: Partial<CpTiming> = {}, firstId = 1) {
    this.name = name;
    this.handler = handler;
    this.send = send;
    this.timing = { ...CP_DEFAULT_TIMING, ...timing };
    this.nextId = firstId & 0xff;
  }

  get opened(): boolean {
    return this.state === 'opened';
  }

  // ------------------------------------------------------------------------------- events

  /** The lower layer is ready (Up). */
  up(now: number): void {
    if (this.state === 'initial') this.state = 'closed';
    else if (this.state === 'starting') {
      this.irc('configure');
      this.scr(now);
      this.state = 'req-sent';
    }
  }

  /** The lower layer went away (Down). */
  down(now: number): void {
    switch (this.state) {
      case 'closed': this.state = 'initial'; break;
      case 'stopped': this.state = 'starting'; this.handler.started(now); break;
      case 'closing': this.state = 'initial'; break;
      case 'stopping': case 'req-sent': case 'ack-rcvd': case 'ack-sent': this.state = 'starting'; break;
      case 'opened': this.state = 'starting'; this.handler.down(now); break;
      default: return;
    }
    this.deadline = undefined;
  }

  /** Administrative Open. */
  open(now: number): void {
    this.rounds = 0;
    this.failures = 0;
    switch (this.state) {
      case 'initial': this.state = 'starting'; this.handler.started(now); break;
      case 'closed': this.irc('configure'); this.scr(now); this.state = 'req-sent'; break;
      case 'closing': this.state = 'stopping'; break;
      default: break; // starting, stopped, stopping, req-sent, ack-rcvd, ack-sent, opened: no change
    }
  }

  /** Administrative Close: terminate the link gracefully. */
  close(now: number): void {
    switch (this.state) {
      case 'starting': this.state = 'initial'; this.handler.finished(now); break;
      case 'stopped': this.state = 'closed'; break;
      case 'stopping': this.state = 'closing'; break;
      case 'req-sent': case 'ack-rcvd': case 'ack-sent':
        this.irc('terminate'); this.str(now); this.state = 'closing'; break;
      case 'opened':
        this.state = 'closing'; this.handler.down(now); this.irc('terminate'); this.str(now); break;
      default: break;
    }
  }

  /** The restart timer, when due. */
  poll(now: number): void {
    if (this.deadline === undefined || now < this.deadline) return;
    this.deadline = undefined;
    if (this.restartCount > 0) {
      this.stats.timeouts++;
      switch (this.state) {
        case 'closing': case 'stopping': this.str(now); break;
        case 'req-sent': case 'ack-rcvd': this.scr(now); this.state = 'req-sent'; break;
        case 'ack-sent': this.scr(now); break;
        default: break;
      }
      return;
    }
    switch (this.state) {
      case 'closing': this.state = 'closed'; this.handler.finished(now); break;
      case 'stopping': case 'req-sent': case 'ack-rcvd': case 'ack-sent': this.state = 'stopped'; this.handler.finished(now); break;
      default: break;
    }
  }

  /** A packet of this protocol arrived (already parsed). */
  receive(now: number, p: CpPacket): void {
    if (this.state === 'initial' || this.state === 'starting') {
      this.stats.discarded++; // §4.1: packets in these states are unexpected, silently discarded
      return;
    }
    switch (p.code) {
      case CpCode.CONFIGURE_REQUEST: this.rcr(now, p); break;
      case CpCode.CONFIGURE_ACK: this.rca(now, p); break;
      case CpCode.CONFIGURE_NAK: case CpCode.CONFIGURE_REJECT: this.rcn(now, p); break;
      case CpCode.TERMINATE_REQUEST: this.rtr(now, p); break;
      case CpCode.TERMINATE_ACK: this.rta(now); break;
      case CpCode.CODE_REJECT: this.rxj(now, p); break;
      default:
        if (this.handler.otherCode?.(now, p, this.state) === true) return;
        this.scj(p);
    }
  }

  /** A Protocol-Reject of this protocol came from the peer (LCP routes it here): RXJ. */
  protocolRejected(now: number, fatal: boolean): void {
    this.rxjEvent(now, fatal);
  }

  // ------------------------------------------------------------------------------- receive events

  private rcr(now: number, p: CpPacket): void {
    this.stats.configureRequestsReceived++;
    const options = parseCpOptions(p.data);
    if (isFault(options)) {
      this.stats.discarded++;
      return;
    }
    switch (this.state) {
      case 'closed': this.sta(p.id); return;
      case 'closing': case 'stopping': return;
      default: break;
    }
    const verdict = this.handler.checkRequest(options, this.failures >= this.timing.maxFailure);
    const good = verdict.kind === 'ack';
    if (!good && this.noProgress(now)) return;
    switch (this.state) {
      case 'stopped':
        this.irc('configure'); this.scr(now); this.answer(p, verdict);
        this.state = good ? 'ack-sent' : 'req-sent';
        break;
      case 'req-sent': case 'ack-sent':
        this.answer(p, verdict);
        this.state = good ? 'ack-sent' : 'req-sent';
        break;
      case 'ack-rcvd':
        this.answer(p, verdict);
        if (good) this.toOpened(now);
        break;
      case 'opened':
        this.handler.down(now);
        this.scr(now); this.answer(p, verdict);
        this.state = good ? 'ack-sent' : 'req-sent';
        break;
      default: break;
    }
  }

  /**
   * The options of an Ack, Nak or Reject of our last request, or undefined when it is to be
   * discarded (wrong identifier, bad options) or answered by the state alone (§4.1: sta in
   * Closed and Stopped, nothing in Closing and Stopping).
   */
  private reply(p: CpPacket, valid: boolean): CpOption[] | undefined {
    const options = valid ? parseCpOptions(p.data) : 'malformed';
    if (isFault(options)) {
      this.stats.discarded++;
      return undefined;
    }
    switch (this.state) {
      case 'closed': case 'stopped': this.sta(p.id); return undefined;
      case 'closing': case 'stopping': return undefined;
      default: return options;
    }
  }

  private rca(now: number, p: CpPacket): void {
    const options = this.reply(p, p.id === this.reqId && equalBytes(p.data, this.reqData));
    if (options === undefined) return;
    this.reqId = -1; // a request is answered once
    this.handler.ackReceived(options);
    switch (this.state) {
      case 'req-sent': this.irc('configure'); this.state = 'ack-rcvd'; break;
      case 'ack-rcvd': this.scr(now); this.state = 'req-sent'; break; // crossed connection
      case 'ack-sent': this.irc('configure'); this.toOpened(now); break;
      case 'opened': this.handler.down(now); this.scr(now); this.state = 'req-sent'; break;
      default: break;
    }
  }

  private rcn(now: number, p: CpPacket): void {
    const options = this.reply(p, p.id === this.reqId);
    if (options === undefined) return;
    const valid = p.code === CpCode.CONFIGURE_NAK ? this.handler.nakReceived(options) : this.handler.rejectReceived(options);
    if (!valid) {
      this.stats.discarded++;
      return;
    }
    this.reqId = -1;
    if (this.noProgress(now)) return;
    switch (this.state) {
      case 'req-sent': this.irc('configure'); this.scr(now); break;
      case 'ack-rcvd': this.scr(now); this.state = 'req-sent'; break;
      case 'ack-sent': this.irc('configure'); this.scr(now); break;
      case 'opened': this.handler.down(now); this.scr(now); this.state = 'req-sent'; break;
      default: break;
    }
  }

  private rtr(now: number, p: CpPacket): void {
    switch (this.state) {
      case 'ack-rcvd': case 'ack-sent': this.sta(p.id); this.state = 'req-sent'; break;
      case 'opened':
        this.state = 'stopping';
        this.handler.down(now);
        this.restartCount = 0; // zrc: wait one restart period in Stopping
        this.deadline = now + this.timing.restartMs;
        this.sta(p.id);
        break;
      default: this.sta(p.id); break;
    }
  }

  /** §5.5: any Terminate-Ack ends Closing/Stopping (pppd does not match identifiers either). */
  private rta(now: number): void {
    switch (this.state) {
      case 'closing': this.deadline = undefined; this.state = 'closed'; this.handler.finished(now); break;
      case 'stopping': this.deadline = undefined; this.state = 'stopped'; this.handler.finished(now); break;
      case 'ack-rcvd': this.state = 'req-sent'; break;
      case 'opened': this.handler.down(now); this.scr(now); this.state = 'req-sent'; break;
      default: break;
    }
  }

  private rxj(now: number, p: CpPacket): void {
    this.rxjEvent(now, this.handler.rejectIsFatal?.(p) ?? false);
  }

  private rxjEvent(now: number, fatal: boolean): void {
    if (!fatal) {
      if (this.state === 'ack-rcvd') this.state = 'req-sent';
      return;
    }
    switch (this.state) {
      case 'closed': case 'closing': this.deadline = undefined; this.state = 'closed'; this.handler.finished(now); break;
      case 'stopped': case 'stopping': case 'req-sent': case 'ack-rcvd': case 'ack-sent':
        this.deadline = undefined; this.state = 'stopped'; this.handler.finished(now); break;
      case 'opened': this.state = 'stopping'; this.handler.down(now); this.irc('terminate'); this.str(now); break;
      default: break;
    }
  }

  // ------------------------------------------------------------------------------- actions

  /** Counts a round without agreement; past the bound, gives up like TO− does. */
  private noProgress(now: number): boolean {
    if (++this.rounds <= 2 * this.timing.maxConfigure) return false;
    this.stats.gaveUp++;
    this.rounds = 0;
    this.deadline = undefined;
    if (this.state === 'opened') this.handler.down(now);
    this.state = 'stopped';
    this.handler.finished(now);
    return true;
  }

  private toOpened(now: number): void {
    this.rounds = 0;
    this.deadline = undefined;
    this.state = 'opened';
    this.handler.up(now);
  }

  private irc(kind: 'configure' | 'terminate'): void {
    this.restartCount = kind === 'configure' ? this.timing.maxConfigure : this.timing.maxTerminate;
  }

  private id(): number {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) & 0xff;
    return id;
  }

  private scr(now: number): void {
    this.reqData = buildCpOptions(this.handler.requestOptions());
    this.reqId = this.id();
    this.restartCount--;
    this.deadline = now + this.timing.restartMs;
    this.stats.configureRequestsSent++;
    this.send(buildCpPacket(CpCode.CONFIGURE_REQUEST, this.reqId, this.reqData));
  }

  private answer(req: CpPacket, verdict: CpVerdict): void {
    const id = req.id;
    if (verdict.kind === 'ack') {
      this.failures = 0;
      this.stats.acksSent++;
      // §5.2: the Ack repeats the request's options exactly.
      this.send(buildCpPacket(CpCode.CONFIGURE_ACK, id, req.data));
      return;
    }
    if (verdict.kind === 'nak') {
      this.failures++;
      this.stats.naksSent++;
    } else {
      this.stats.rejectsSent++;
    }
    const code = verdict.kind === 'nak' ? CpCode.CONFIGURE_NAK : CpCode.CONFIGURE_REJECT;
    this.send(buildCpPacket(code, id, buildCpOptions(verdict.options)));
  }

  private str(now: number): void {
    this.restartCount--;
    this.deadline = now + this.timing.restartMs;
    this.send(buildCpPacket(CpCode.TERMINATE_REQUEST, this.id(), new Uint8Array(0)));
  }

  private sta(id: number): void {
    this.send(buildCpPacket(CpCode.TERMINATE_ACK, id, new Uint8Array(0)));
  }

  private scj(p: CpPacket): void {
    this.stats.codeRejectsSent++;
    // §5.7: the rejected packet, from its Code field (the owner truncates to the peer's MRU).
    this.send(buildCpPacket(CpCode.CODE_REJECT, this.id(), buildCpPacket(p.code, p.id, p.data)));
  }
}
