/**
 * The data call of the Quectel simulator (reference `at-modules.md` §2 `ATD*99***<cid>#`,
 * `AT+CGDATA="PPP",<cid>`, `+++`, `ATO`, `ATH`; §5 item 14; §6 item 16): one packet-domain call at
 * a time, carried by a pluggable data session (a PPP server in the dial-up tests, an echo or a
 * script in unit tests).
 *
 * States: `idle` → (dial accepted, the session exists, `CONNECT` not yet written) `connecting` →
 * `online` (V.250 online data state: every host byte goes to the session, every session byte to
 * the host, no AT parsing) ⇄ `command` (online command state after `+++` with the S12 guard times
 * or a DTR drop with `AT&D1`: commands again, the call stays up; `ATO` goes back online).
 *
 * The call ends, the session's `close()` is called and its stream closes, when:
 * - the host sends `ATH` in command state (answer `OK`), or drops DTR with `AT&D2` (`NO CARRIER`);
 * - the session ends it (`call.hangUp()` or closing its stream): `NO CARRIER`;
 * - the network does: registration lost, `AT+CFUN` other than 1, the context deactivated (by the
 *   network or by the host in command state): `NO CARRIER` (`check()`, asked by the simulator after
 *   such changes and after every command line);
 * - the module reboots or powers down (silently; the boot banner follows).
 * `NO CARRIER` is written as a response in both states (in online state it also ends data mode).
 *
 * While online, URCs (registration, `+QIURC`, …) are held (at most 64, later ones dropped and
 * counted) and written once the host is back in command state (after the `OK` of `+++`, after
 * `NO CARRIER`). Session bytes written while the call is in command state are dropped and counted
 * (`droppedToHost`), as a modem whose data buffer is not drained while the host talks AT; bytes it
 * writes before `CONNECT` went out are sent right after it. The serial faults of `AtSimPort` do not
 * touch data-mode bytes; only the `onlineDrop`/`onlineCorrupt` rules do, asked once per message in
 * each direction.
 *
 * DTR is read by polling `stream.getModemInputs()` every `dtrPollMs` while a call exists (a byte
 * pipe shows the host's DTR as this end's DSR); transports without modem inputs have no DTR.
 */
import { StreamEvents } from '../../../base/listeners.ts';
import type { CancelTimer } from '../../../base/time.ts';
import type { ByteStream, Unsubscribe } from '../../../link/byte-stream.ts';
import { onlineFaults, type AtSimPort } from '../at-sim-port.ts';
import type { QuectelContext, QuectelSettings } from './quectel-context.ts';
import { cme, ERROR, NO_CARRIER, OK, resultCode, type Reply } from './quectel-format.ts';
import { simCmeError, type QuectelNetworkModel } from './quectel-network-model.ts';

/** A call the simulator offers a data session (`QuectelSimOptions.dataCall`). */
export interface SimDataCall {
  /**
   * The simulator side of the data channel: `write()` sends to the host (while online), `onData`
   * gets the host's bytes, `close()` ends the call (`NO CARRIER`), `onClose` fires when it ended.
   */
  readonly stream: ByteStream;
  /** The PDP context dialled. */
  readonly cid: number;
  /** Its APN (`AT+CGDCONT` / `AT+QICSGP`), possibly empty. */
  readonly apn: string;
  /** `'IP'`, `'IPV6'` or `'IPV4V6'`. */
  readonly pdpType: string;
  /** User and password set by `AT+QICSGP` (undefined when empty). */
  readonly user: string | undefined;
  /** `AT+QICSGP` password, if any. */
  readonly password: string | undefined;
  /** `AT+QICSGP` authentication: 0 none, 1 PAP, 2 CHAP. */
  readonly auth: number;
  /** The address the network gives the context (what a PPP server hands out in IPCP). */
  readonly address: string;
  /** The command line text that placed the call, without `AT`: `D*99***1#`, `+CGDATA="PPP",1`. */
  readonly command: string;
  /** Ends the call from the network side: the host gets `NO CARRIER`. */
  hangUp(): void;
}

/** A data session: `close()` is called once when the call ends, whoever ended it. */
export interface SimDataSession {
  /** Called once when the call ends, whoever ended it. */
  close(): void;
}

/** Makes the session of a call; undefined refuses the call (`NO CARRIER`). */
export type SimDataCallHandler = (call: SimDataCall) => SimDataSession | undefined;

/** What ended a call. */
export type DataHangUpCause = 'ath' | 'dtr' | 'network' | 'session' | 'reset';

/** The call's state; see the module comment. */
export type DataCallState = 'idle' | 'connecting' | 'online' | 'command';

/** Counters of the data calls. */
export interface QuectelDataStats {
  /** Calls connected (`CONNECT` for a dial). */
  calls: number;
  /** Dials answered `NO CARRIER` or an error. */
  refused: number;
  /** Calls ended by a hang-up. */
  hangups: number;
  /** `+++` escapes accepted. */
  escapes: number;
  /** `ATO` back to online. */
  resumes: number;
  /** DTR drops seen while a call existed. */
  dtrDrops: number;
  /** Bytes from the host during calls. */
  bytesFromHost: number;
  /** Bytes to the host during calls. */
  bytesToHost: number;
  /** Session bytes dropped because the call was in command state. */
  droppedToHost: number;
  /** URCs held while online, and those dropped because the hold was full. */
  heldUrcs: number;
  /** URCs dropped because the hold was full. */
  droppedUrcs: number;
  /** The session's callbacks or its `close()` threw. */
  sessionErrors: number;
}

/** Configuration of the data calls. */
export interface QuectelDataModeOptions {
  readonly port: AtSimPort;
  readonly net: QuectelNetworkModel;
  readonly settings: QuectelSettings;
  readonly pdpAddress: string;
  readonly handler: SimDataCallHandler | undefined;
  /** The verbose result of a connected dial (default `CONNECT`; e.g. `CONNECT 150000000`). */
  readonly connectText?: string | undefined;
  /** DTR poll period while a call exists (default 20 ms; 0 disables DTR). */
  readonly dtrPollMs?: number | undefined;
}

const MAX_HELD_URCS = 64;
const PDP_TYPE_NAMES = ['', 'IP', 'IPV6', 'IPV4V6'];

/** The simulator side of a call's data channel. */
class CallStream extends StreamEvents implements ByteStream {
  closed = false;

  constructor(
    private readonly send: (bytes: Uint8Array) => boolean,
    private readonly onLocalClose: () => void,
  ) {
    super();
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    return this.send(bytes.slice());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended();
    this.onLocalClose();
  }

  /** Host bytes to the session. */
  deliver(bytes: Uint8Array): void {
    if (!this.closed) this.dataCbs.emit(bytes);
  }

  drained(): void {
    if (!this.closed) this.drainCbs.emit();
  }

  /** The call ended elsewhere. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended();
  }
}

interface Call {
  readonly view: SimDataCall;
  readonly stream: CallStream;
  readonly cid: number;
  /** The context was active before the dial (it stays active after the call). */
  readonly wasActive: boolean;
  session: SimDataSession | undefined;
  /** Session bytes written before `CONNECT` went out. */
  early: Uint8Array[];
  lastDtr: boolean | undefined;
  dtrTimer: CancelTimer | undefined;
  unsubDrain: Unsubscribe | undefined;
}

/** The data call of one simulated module. See the module comment. */
export class QuectelDataMode {
  readonly stats: QuectelDataStats = {
    calls: 0,
    refused: 0,
    hangups: 0,
    escapes: 0,
    resumes: 0,
    dtrDrops: 0,
    bytesFromHost: 0,
    bytesToHost: 0,
    droppedToHost: 0,
    heldUrcs: 0,
    droppedUrcs: 0,
    sessionErrors: 0,
  };
  readonly #o: QuectelDataModeOptions;
  #call: Call | undefined;
  #state: DataCallState = 'idle';
  #held: Array<string | Uint8Array> = [];

  constructor(options: QuectelDataModeOptions) {
    this.#o = options;
  }

  get state(): DataCallState {
    return this.#state;
  }

  /** The call's context id, while a call exists. */
  get cid(): number | undefined {
    return this.#call?.cid;
  }

  /** Online: host bytes are data, URCs are held. */
  get online(): boolean {
    return this.#state === 'online';
  }

  // ---------------------------------------------------------------- commands

  /**
   * `ATD*99***<cid>#` (`style` `'atd'`: failures `NO CARRIER`) or `AT+CGDATA="PPP",<cid>`
   * (`'cgdata'`: failures `+CME ERROR`): after `dialMs`, `CONNECT` and online, or the failure.
   */
  async dial(ctx: QuectelContext, cid: number, style: 'atd' | 'cgdata', command: string): Promise<Reply> {
    const net = this.#o.net;
    const refuse = (reply: Reply): Reply => {
      this.stats.refused++;
      return reply;
    };
    const failure = (code: number): Reply => refuse(style === 'atd' ? NO_CARRIER : cme(code));
    if (this.#call !== undefined) return refuse(style === 'atd' ? ERROR : cme(3));
    const sim = simCmeError(net.simState);
    if (sim !== undefined) return refuse(cme(sim));
    if (!net.contexts.has(cid)) return failure(3);
    if (!this.#networkUp()) return failure(30);
    const epoch = ctx.epoch;
    await ctx.sleep(ctx.timing.dialMs);
    if (epoch !== ctx.epoch) return { final: 'none' };
    if (this.#call !== undefined) return refuse(style === 'atd' ? ERROR : cme(3));
    if (!net.contexts.has(cid) || !this.#networkUp()) return failure(30);
    const handler = this.#o.handler;
    if (handler === undefined) return refuse(NO_CARRIER);
    const call = this.#newCall(cid, command);
    this.#call = call;
    this.#state = 'connecting';
    let session: SimDataSession | undefined;
    try {
      session = handler(call.view);
    } catch {
      this.stats.sessionErrors++;
    }
    if (this.#call !== call || session === undefined) {
      // Refused, or ended by the session before it was even connected.
      if (this.#call === call) this.#end(call, 'session', false);
      else if (session !== undefined) this.#closeSession(session);
      return refuse(NO_CARRIER);
    }
    call.session = session;
    this.stats.calls++;
    return { final: 'none', after: () => this.#goOnline(call) };
  }

  /** `ATO`: back to online (`CONNECT`), or `NO CARRIER` without a call. */
  resume(): Reply {
    const call = this.#call;
    if (call === undefined || this.#state !== 'command') return NO_CARRIER;
    this.stats.resumes++;
    return { final: 'none', after: () => this.#goOnline(call) };
  }

  /** `ATH`: ends the call (if any) and answers `OK`. */
  hangUp(): Reply {
    const call = this.#call;
    if (call !== undefined) this.#end(call, 'ath', false);
    return OK;
  }

  // ---------------------------------------------------------------- simulator hooks

  /** Holds a URC while online (true), else false (the caller writes it). */
  hold(message: string | Uint8Array): boolean {
    if (this.#state !== 'online') return false;
    if (this.#held.length >= MAX_HELD_URCS) this.stats.droppedUrcs++;
    else {
      this.#held.push(message);
      this.stats.heldUrcs++;
    }
    return true;
  }

  /** Ends the call (`NO CARRIER`) if the network no longer carries it. */
  check(): void {
    const call = this.#call;
    if (call === undefined) return;
    if (!this.#networkUp() || this.#o.net.contexts.get(call.cid)?.active !== true) this.#end(call, 'network', true);
  }

  /** Reboot or power-down: the call is gone without a result code, held URCs too. */
  reset(): void {
    const call = this.#call;
    this.#held = [];
    if (call !== undefined) this.#end(call, 'reset', false);
  }

  // ---------------------------------------------------------------- internals

  #networkUp(): boolean {
    const net = this.#o.net;
    return net.registered && net.cfun === 1 && net.simState === 'READY';
  }

  #newCall(cid: number, command: string): Call {
    const o = this.#o;
    const pdp = o.net.context(cid);
    const wasActive = pdp.active;
    pdp.active = true;
    pdp.broken = false;
    // The stream and the view are made before the call they refer to.
    const ref: { call?: Call } = {};
    const endBySession = (): void => {
      if (ref.call !== undefined) this.#end(ref.call, 'session', true);
    };
    const stream = new CallStream((bytes) => (ref.call === undefined ? false : this.#fromSession(ref.call, bytes)), endBySession);
    const view: SimDataCall = {
      stream,
      cid,
      apn: pdp.apn,
      pdpType: PDP_TYPE_NAMES[pdp.type] ?? 'IP',
      user: pdp.user === '' ? undefined : pdp.user,
      password: pdp.password === '' ? undefined : pdp.password,
      auth: pdp.auth,
      address: o.pdpAddress,
      command,
      hangUp: endBySession,
    };
    const call: Call = { view, stream, cid, wasActive, session: undefined, early: [], lastDtr: undefined, dtrTimer: undefined, unsubDrain: undefined };
    ref.call = call;
    call.unsubDrain = o.port.onDrain(() => stream.drained());
    return call;
  }

  #goOnline(call: Call): void {
    if (this.#call !== call) return;
    const { port, settings } = this.#o;
    const text = settings.verbose ? (this.#o.connectText ?? 'CONNECT') : 'CONNECT';
    port.write(resultCode(text, settings), 'response');
    this.#state = 'online';
    port.enterRaw({
      onData: (bytes) => this.#fromHost(call, bytes),
      onEscape: () => this.#toCommand(call, 'escape'),
      guardMs: settings.s12 * 20,
      noInjection: true,
    });
    const early = call.early;
    call.early = [];
    for (const bytes of early) this.#fromSession(call, bytes);
    if (call.dtrTimer === undefined && call.lastDtr === undefined) this.#pollDtr(call, 0);
  }

  #fromSession(call: Call, bytes: Uint8Array): boolean {
    if (this.#call !== call) return false;
    if (this.#state === 'connecting') {
      call.early.push(bytes);
      return true;
    }
    if (this.#state !== 'online') {
      this.stats.droppedToHost += bytes.length;
      return true;
    }
    this.stats.bytesToHost += bytes.length;
    this.#o.port.write(bytes, 'online');
    return this.#o.port.writable;
  }

  #fromHost(call: Call, bytes: Uint8Array): void {
    if (this.#call !== call) return;
    this.stats.bytesFromHost += bytes.length;
    const out = onlineFaults(this.#o.port.faults, bytes);
    if (out === undefined) return;
    try {
      call.stream.deliver(out);
    } catch {
      this.stats.sessionErrors++;
    }
  }

  /** Online → command state (`+++` accepted, or DTR dropped with `AT&D1`): `OK`, held URCs. */
  #toCommand(call: Call, why: 'escape' | 'dtr'): void {
    if (this.#call !== call || this.#state !== 'online') return;
    const port = this.#o.port;
    port.exitRaw();
    this.#state = 'command';
    if (why === 'escape') this.stats.escapes++;
    port.write(resultCode('OK', this.#o.settings), 'response');
    this.#flushHeld();
  }

  #end(call: Call, cause: DataHangUpCause, noCarrier: boolean): void {
    if (this.#call !== call) return;
    const { port, net } = this.#o;
    this.#call = undefined;
    const wasOnline = this.#state === 'online';
    this.#state = 'idle';
    call.dtrTimer?.();
    call.dtrTimer = undefined;
    call.unsubDrain?.();
    if (wasOnline) port.exitRaw();
    const pdp = net.contexts.get(call.cid);
    if (pdp !== undefined && !call.wasActive) pdp.active = false;
    this.stats.hangups++;
    try {
      call.stream.end();
    } catch {
      this.stats.sessionErrors++;
    }
    if (call.session !== undefined) this.#closeSession(call.session);
    if (cause === 'reset') return;
    if (noCarrier) port.write(resultCode('NO CARRIER', this.#o.settings), 'response');
    this.#flushHeld();
  }

  #closeSession(session: SimDataSession): void {
    try {
      session.close();
    } catch {
      this.stats.sessionErrors++;
    }
  }

  #flushHeld(): void {
    const held = this.#held;
    this.#held = [];
    for (const m of held) this.#o.port.urc(m);
  }

  /** Reads DTR after `ms`, acting on an ON → OFF edge per `AT&D`; again while the call exists. */
  #pollDtr(call: Call, ms: number): void {
    const period = this.#o.dtrPollMs ?? 20;
    const stream = this.#o.port.stream;
    if (period <= 0 || stream.getModemInputs === undefined) return;
    call.dtrTimer = this.#o.port.setTimer(ms, () => {
      call.dtrTimer = undefined;
      let inputs;
      try {
        inputs = stream.getModemInputs?.();
      } catch {
        return;
      }
      if (inputs === undefined) return;
      inputs.then(
        (m) => {
          if (this.#call !== call) return;
          const dtr = m.dsr;
          const dropped = call.lastDtr === true && !dtr;
          call.lastDtr = dtr;
          if (dropped) this.#dtrDropped(call);
          if (this.#call === call && call.dtrTimer === undefined) this.#pollDtr(call, period);
        },
        () => undefined,
      );
    });
  }

  #dtrDropped(call: Call): void {
    this.stats.dtrDrops++;
    const mode = this.#o.settings.dtrMode;
    if (mode === 1) this.#toCommand(call, 'dtr');
    else if (mode === 2) this.#end(call, 'dtr', true);
  }
}
