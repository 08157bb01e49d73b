/**
 * The cellular side of the Quectel simulator (reference `at-modules.md` §2, §5.11): the SIM (PIN,
 * PUK, busy just after boot, absent), signal quality, network registration as seen through
 * `+CREG`/`+CGREG`/`+CEREG` (the URC form `+CxREG: <stat>[,…]` vs the read form
 * `+CxREG: <n>,<stat>[,…]`), the functionality level (`AT+CFUN`), packet attach and the PDP
 * contexts shared by `AT+CGDCONT`/`AT+QICSGP`/`AT+QIACT`/`AT+CGACT`, and `+CGEREP` event
 * reporting. No I/O: unsolicited lines go to the `urc` callback given to the constructor.
 */

/** The module variants the simulator plays. */
export type QuectelModel = 'BG96' | 'EC21' | 'BG95';

/** The SIM card. */
export interface QuectelSimCard {
  /** A card is inserted (default true); without one `AT+CPIN?` answers `+CME ERROR: 10`. */
  present?: boolean;
  /** PIN the card asks for after boot (default: none, `+CPIN: READY`). */
  pin?: string;
  /** PUK unblocking the card after three wrong PINs (default `'12345678'`). */
  puk?: string;
}

/** Signal quality as `AT+CSQ` reports it (`rssi` 0..31 or 99, `ber` 0..7 or 99). */
export interface QuectelSignal {
  /** RSSI index 0..31, or 99 (unknown). */
  rssi: number;
  /** Bit error rate index 0..7, or 99 (unknown). */
  ber: number;
}

/** The cell the module registers on. */
export interface QuectelRegistration {
  /** Registration status reached after `delayMs` (default 1, home). */
  stat?: number;
  /** Access technology (default 8 eMTC on BG96/BG95, 7 E-UTRAN on EC21). */
  act?: number;
  /** Tracking/location area code (default 0x1a2b). */
  tac?: number;
  /** Cell id (default 0x01ab5c02). */
  ci?: number;
  /** Virtual ms from `AT+CFUN=1` / boot to registration (default 2000); searching (2) meanwhile. */
  delayMs?: number;
}

/** APN settings of context 1 at boot. */
export interface QuectelApn {
  /** The APN. */
  name: string;
  /** User name. */
  user?: string;
  /** Password. */
  password?: string;
}

/** One PDP context (contextID 1..16). */
export interface PdpContext {
  readonly cid: number;
  /** 1 IPv4, 2 IPv6, 3 IPv4v6 (`AT+QICSGP` numbering). */
  type: number;
  apn: string;
  user: string;
  password: string;
  /** 0 none, 1 PAP, 2 CHAP. */
  auth: number;
  active: boolean;
  /** The network dropped it (`+QIURC: "pdpdeact"`): sockets on it fail until `AT+QIDEACT`. */
  broken: boolean;
}

/** `+CREG`, `+CGREG`, `+CEREG`. */
export type RegKind = 'CREG' | 'CGREG' | 'CEREG';

export const REG_KINDS: readonly RegKind[] = ['CREG', 'CGREG', 'CEREG'];

/** SIM states as `AT+CPIN?` words them. */
export type SimState = 'READY' | 'SIM PIN' | 'SIM PUK' | 'absent' | 'busy';

/** +CME ERROR codes used by the simulator (27.007 §9.2) with their verbose texts (`AT+CMEE=2`). */
export const CME_TEXT: Readonly<Record<number, string>> = {
  3: 'operation not allowed',
  4: 'operation not supported',
  10: 'SIM not inserted',
  11: 'SIM PIN required',
  12: 'SIM PUK required',
  13: 'SIM failure',
  14: 'SIM busy',
  16: 'incorrect password',
  30: 'no network service',
  50: 'Incorrect parameters',
  100: 'unknown',
};

/** The CME error matching a SIM state that blocks a command, or undefined when the SIM is ready. */
export function simCmeError(state: SimState): number | undefined {
  switch (state) {
    case 'READY':
      return undefined;
    case 'SIM PIN':
      return 11;
    case 'SIM PUK':
      return 12;
    case 'absent':
      return 10;
    case 'busy':
      return 14;
  }
}

export const MAX_CID = 16;
const PIN_TRIES = 3;

function hex(n: number, width: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(width, '0');
}

export interface NetworkModelOptions {
  model: QuectelModel;
  sim?: QuectelSimCard | undefined;
  signal?: QuectelSignal | undefined;
  registration?: QuectelRegistration | undefined;
  apn?: QuectelApn | undefined;
}

/** SIM, radio, registration and PDP state. Reset by `reset()` (boot). */
export class QuectelNetworkModel {
  readonly options: NetworkModelOptions;
  simState: SimState = 'busy';
  pinTriesLeft = PIN_TRIES;
  signal: QuectelSignal;
  /** `AT+CFUN` level: 0 minimum, 1 full, 4 RF off. */
  cfun = 1;
  /** Registration status now (all three domains move together). */
  stat = 0;
  /** The status reached when the network is available (`loseRegistration` overrides it). */
  targetStat: number;
  /** When set, registration stays at this status (`loseRegistration`). */
  forcedStat: number | undefined;
  readonly act: number;
  readonly tac: number;
  readonly ci: number;
  readonly regDelayMs: number;
  /** The `<n>` the host set per domain. */
  readonly regN: Record<RegKind, number> = { CREG: 0, CGREG: 0, CEREG: 0 };
  attached = false;
  /** `AT+CGEREP=<mode>,<bfr>`. */
  cgerep = { mode: 0, bfr: 0 };
  readonly contexts = new Map<number, PdpContext>();
  readonly #urc: (line: string) => void;

  constructor(options: NetworkModelOptions, urc: (line: string) => void) {
    this.options = options;
    this.#urc = urc;
    this.signal = { ...(options.signal ?? { rssi: 20, ber: 99 }) };
    const reg = options.registration ?? {};
    this.targetStat = reg.stat ?? 1;
    this.forcedStat = undefined;
    this.act = reg.act ?? (options.model === 'EC21' ? 7 : 8);
    this.tac = reg.tac ?? 0x1a2b;
    this.ci = reg.ci ?? 0x01ab5c02;
    this.regDelayMs = reg.delayMs ?? 2000;
    this.reset();
  }

  /** Power-on state: SIM busy, not registered, context 1 holding the configured APN, nothing active. */
  reset(): void {
    this.simState = this.options.sim?.present === false ? 'absent' : 'busy';
    this.pinTriesLeft = PIN_TRIES;
    this.cfun = 1;
    this.stat = 0;
    this.regN.CREG = 0;
    this.regN.CGREG = 0;
    this.regN.CEREG = 0;
    this.attached = false;
    this.cgerep = { mode: 0, bfr: 0 };
    this.contexts.clear();
    const apn = this.options.apn;
    this.defineContext(1, { type: 1, apn: apn?.name ?? '', user: apn?.user ?? '', password: apn?.password ?? '', auth: 0 });
  }

  /** The SIM finished initialising: READY, or SIM PIN when the card has a PIN. */
  simReady(): void {
    if (this.simState !== 'busy') return;
    this.simState = this.options.sim?.pin !== undefined ? 'SIM PIN' : 'READY';
  }

  /** `AT+CPIN=<pin>` / `AT+CPIN=<puk>,<newpin>`: a CME error code, or undefined on success. */
  enterPin(code: string, newPin: string | undefined): number | undefined {
    const sim = this.options.sim ?? {};
    if (this.simState === 'READY') return 3;
    if (this.simState === 'SIM PIN') {
      if (code === sim.pin) {
        this.simState = 'READY';
        return undefined;
      }
      this.pinTriesLeft--;
      if (this.pinTriesLeft <= 0) this.simState = 'SIM PUK';
      return 16;
    }
    if (this.simState === 'SIM PUK') {
      if (newPin === undefined) return 16;
      if (code !== (sim.puk ?? '12345678')) return 16;
      this.options.sim = { ...sim, pin: newPin };
      this.simState = 'READY';
      this.pinTriesLeft = PIN_TRIES;
      return undefined;
    }
    return simCmeError(this.simState);
  }

  get registered(): boolean {
    return this.stat === 1 || this.stat === 5;
  }

  /** Whether the radio may register now (full functionality, SIM ready). */
  get canRegister(): boolean {
    return this.cfun === 1 && this.simState === 'READY';
  }

  /** The status the network would give now. */
  wantedStat(): number {
    if (!this.canRegister) return 0;
    return this.forcedStat ?? this.targetStat;
  }

  /** Moves registration to `stat`, sending the URCs the host enabled; returns true if it changed. */
  setStat(stat: number): boolean {
    if (stat === this.stat) return false;
    const wasRegistered = this.registered;
    this.stat = stat;
    for (const kind of REG_KINDS) {
      if (this.regN[kind] >= 1) this.#urc(this.regUrc(kind));
    }
    if (wasRegistered && !this.registered) this.attached = false;
    if (!wasRegistered && this.registered) this.attached = true;
    return true;
  }

  #location(kind: RegKind): string {
    const area = kind === 'CEREG' ? hex(this.tac, 4) : hex(this.tac & 0xffff, 4);
    return `,"${area}","${hex(this.ci, 1)}",${this.act}`;
  }

  /** The URC `+CxREG: <stat>[,"<tac>","<ci>",<AcT>]` (no `<n>`). */
  regUrc(kind: RegKind): string {
    const loc = this.regN[kind] >= 2 && this.registered ? this.#location(kind) : '';
    return `+${kind}: ${this.stat}${loc}`;
  }

  /** The read form `+CxREG: <n>,<stat>[,…]` (`<n>` first). */
  regRead(kind: RegKind): string {
    const loc = this.regN[kind] >= 2 && this.registered ? this.#location(kind) : '';
    return `+${kind}: ${this.regN[kind]},${this.stat}${loc}`;
  }

  /** `+CSQ: <rssi>,<ber>`: 99,99 while not registered. */
  csq(): string {
    if (!this.registered) return '+CSQ: 99,99';
    return `+CSQ: ${this.signal.rssi},${this.signal.ber}`;
  }

  /** `+CESQ: 99,99,255,255,<rsrq>,<rsrp>` (LTE fields from the CSQ rssi; 255 unknown). */
  cesq(): string {
    if (!this.registered || this.signal.rssi === 99) return '+CESQ: 99,99,255,255,255,255';
    const dbm = -113 + 2 * this.signal.rssi;
    const rsrp = Math.max(0, Math.min(97, dbm - 20 + 140));
    return `+CESQ: 99,99,255,255,20,${rsrp}`;
  }

  /** `+COPS: <mode>[,<fmt>,"<oper>",<AcT>]`. */
  cops(): string {
    if (!this.registered) return '+COPS: 0';
    return `+COPS: 0,0,"IOTNET SIM",${this.act}`;
  }

  defineContext(cid: number, fields: Omit<PdpContext, 'cid' | 'active' | 'broken'>): PdpContext {
    const old = this.contexts.get(cid);
    const ctx: PdpContext = { cid, ...fields, active: old?.active ?? false, broken: old?.broken ?? false };
    this.contexts.set(cid, ctx);
    return ctx;
  }

  /** The context `cid` (defined with defaults on first use, as the module's table always has 1..16). */
  context(cid: number): PdpContext {
    return this.contexts.get(cid) ?? this.defineContext(cid, { type: 1, apn: '', user: '', password: '', auth: 0 });
  }

  /** Every active context goes down without URCs (CFUN=0/4, detach). */
  dropAllContexts(): number[] {
    const dropped: number[] = [];
    for (const ctx of this.contexts.values()) {
      if (ctx.active) dropped.push(ctx.cid);
      ctx.active = false;
      ctx.broken = false;
    }
    return dropped;
  }

  /** The network deactivated `cid`: `+CGEV: NW PDN DEACT <cid>` when `AT+CGEREP` mode ≥ 1. */
  networkDeactivated(cid: number): void {
    const ctx = this.contexts.get(cid);
    if (ctx !== undefined) {
      ctx.active = false;
      ctx.broken = true;
    }
    if (this.cgerep.mode >= 1) this.#urc(`+CGEV: NW PDN DEACT ${cid}`);
  }

  /** The network detached the module: `+CGEV: NW DETACH` when `AT+CGEREP` mode ≥ 1. */
  networkDetached(): void {
    if (this.cgerep.mode >= 1) this.#urc('+CGEV: NW DETACH');
  }
}
