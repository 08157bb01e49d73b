/**
 * LCP's options (RFC 1661 §6, RFC 1662 §7.1, RFC 1994 §3): what we ask for, how we judge the
 * peer's request, and what both sides agreed on. The automaton is `CpFsm`; this is its
 * `CpHandler` minus the Opened-state codes (echo, discard, protocol-reject), which the session
 * handles.
 *
 * Asked for (receive direction: how the peer should send to us): MRU when not 1500, ACCM (default
 * 0: nothing escaped), Magic-Number, PFC, ACFC, and, when we authenticate the peer, the
 * Authentication-Protocol. Accepted from the peer (send direction): any MRU of at least 128 (pppd's
 * floor), any ACCM, PFC, ACFC, a Magic-Number different from ours, and the Authentication-Protocol
 * we have credentials for (CHAP with MD5 preferred, PAP); Quality-Protocol, FCS-Alternatives,
 * Callback and unknown options are rejected.
 *
 * Loop-back (§6.4): a peer request carrying our own magic number means the line may be looped;
 * we Nak with a new random number and pick a new one ourselves. `loopSuspected` counts them in a
 * row; the session declares the link looped back at Max-Failure.
 */
import type { Rng } from '../../base/rand.ts';
import { CHAP_MD5, LcpOption, optionUint, PppProtocol, uintOption, type CpOption } from '../../wire/ppp/ppp-packet.ts';
import type { CpHandler, CpVerdict } from './cp-fsm.ts';

/** Authentication protocols we speak. */
export type PppAuthProtocol = 'pap' | 'chap';

/** What LCP asks for and accepts. */
export interface LcpConfig {
  /** Largest information field we receive (default 1500). */
  mru: number;
  /** Control characters we need escaped by the peer (default 0: none). */
  accm: number;
  /** Ask for Protocol-Field-Compression (default true). */
  pfc: boolean;
  /** Ask for Address-and-Control-Field-Compression (default true). */
  acfc: boolean;
  /** Negotiate a Magic-Number (default true). */
  magic: boolean;
  /** Authenticate the peer with one of these, in order of preference (empty: no authentication). */
  require: readonly PppAuthProtocol[];
  /** Protocols we can authenticate ourselves with when the peer asks (empty: we reject the request). */
  accept: readonly PppAuthProtocol[];
}

/** What both sides agreed on, valid once LCP is Opened. */
export interface LcpNegotiated {
  /** Largest information field we may send (the peer's MRU, default 1500). */
  peerMru: number;
  /** Characters we escape when sending (the peer's ACCM; all control characters by default). */
  txAccm: number;
  /** Characters the peer escapes towards us (our ACCM when acknowledged). */
  rxAccm: number;
  /** We may leave out the protocol field's high zero byte / the address and control bytes. */
  txPfc: boolean;
  txAcfc: boolean;
  /** The protocol we authenticate ourselves with (the peer asked for it), if any. */
  authPeer: PppAuthProtocol | undefined;
  /** The protocol the peer authenticates itself with towards us (we asked, it agreed), if any. */
  authLocal: PppAuthProtocol | undefined;
  localMagic: number;
  peerMagic: number;
}

const MIN_MRU = 128;
const DEFAULT_MRU = 1500;

function authOption(p: PppAuthProtocol): CpOption {
  return p === 'pap'
    ? uintOption(LcpOption.AUTH_PROTOCOL, PppProtocol.PAP, 2)
    : { type: LcpOption.AUTH_PROTOCOL, data: new Uint8Array([0xc2, 0x23, CHAP_MD5]) };
}

function parseAuth(o: CpOption): PppAuthProtocol | undefined {
  if (o.data.length === 2 && o.data[0] === 0xc0 && o.data[1] === 0x23) return 'pap';
  if (o.data.length === 3 && o.data[0] === 0xc2 && o.data[1] === 0x23 && o.data[2] === CHAP_MD5) return 'chap';
  return undefined;
}

function randomMagic(rng: Rng): number {
  let m = 0;
  while (m === 0) m = rng.nextU32() >>> 0;
  return m;
}

/** LCP's options, as a `CpHandler` (the session supplies up/down/started/finished). */
export class LcpOptions implements Pick<CpHandler, 'requestOptions' | 'checkRequest' | 'ackReceived' | 'nakReceived' | 'rejectReceived'> {
  readonly config: LcpConfig;
  /** The negotiated values, reset at each new negotiation. */
  result: LcpNegotiated;
  /** Peer requests carrying our magic number, in a row. */
  loopSuspected = 0;
  private readonly rng: Rng;
  /** What we still ask for (options the peer rejected are dropped). */
  private want: { mru: boolean; accm: boolean; magic: boolean; pfc: boolean; acfc: boolean; auth: PppAuthProtocol | undefined };
  private mru: number;
  private accm: number;
  private magic: number;
  /** Values from the peer's last acknowledged request; they apply at `commit`. */
  private pending: Omit<LcpNegotiated, 'rxAccm' | 'authLocal' | 'localMagic'> = LcpOptions.peerDefaults();

  constructor(config: LcpConfig, rng: Rng) {
    this.config = config;
    this.rng = rng;
    this.mru = config.mru;
    this.accm = config.accm >>> 0;
    this.magic = randomMagic(rng);
    this.want = LcpOptions.initialWant(config);
    this.result = this.defaults();
  }

  private static initialWant(c: LcpConfig): LcpOptions['want'] {
    return { mru: c.mru !== DEFAULT_MRU, accm: c.accm >>> 0 !== 0xffffffff, magic: c.magic, pfc: c.pfc, acfc: c.acfc, auth: c.require[0] };
  }

  private static peerDefaults(): Omit<LcpNegotiated, 'rxAccm' | 'authLocal' | 'localMagic'> {
    return { peerMru: DEFAULT_MRU, txAccm: 0xffffffff, txPfc: false, txAcfc: false, authPeer: undefined, peerMagic: 0 };
  }

  private defaults(): LcpNegotiated {
    return { ...LcpOptions.peerDefaults(), rxAccm: 0xffffffff, authLocal: undefined, localMagic: 0 };
  }

  /** Starts a new negotiation (the lower layer came up, or the link restarts). */
  reset(): void {
    this.want = LcpOptions.initialWant(this.config);
    this.mru = this.config.mru;
    this.accm = this.config.accm >>> 0;
    this.magic = randomMagic(this.rng);
    this.pending = LcpOptions.peerDefaults();
    this.result = this.defaults();
    this.loopSuspected = 0;
  }

  /** The magic number we use (0 when not negotiated). */
  get localMagic(): number {
    return this.want.magic ? this.magic : 0;
  }

  /** The authentication protocol we are asking the peer to use (undefined once it rejected it). */
  get requiredAuth(): PppAuthProtocol | undefined {
    return this.want.auth;
  }

  requestOptions(): CpOption[] {
    const out: CpOption[] = [];
    if (this.want.mru) out.push(uintOption(LcpOption.MRU, this.mru, 2));
    if (this.want.accm) out.push(uintOption(LcpOption.ACCM, this.accm, 4));
    if (this.want.auth !== undefined) out.push(authOption(this.want.auth));
    if (this.want.magic) out.push(uintOption(LcpOption.MAGIC_NUMBER, this.magic, 4));
    if (this.want.pfc) out.push({ type: LcpOption.PFC, data: new Uint8Array(0) });
    if (this.want.acfc) out.push({ type: LcpOption.ACFC, data: new Uint8Array(0) });
    return out;
  }

  checkRequest(options: readonly CpOption[], rejectInsteadOfNak: boolean): CpVerdict {
    const reject: CpOption[] = [];
    const nak: CpOption[] = [];
    const p = LcpOptions.peerDefaults();
    let looped = false;
    for (const o of options) {
      switch (o.type) {
        case LcpOption.MRU: {
          const v = optionUint(o, 2);
          if (v === undefined) reject.push(o);
          else if (v < MIN_MRU) nak.push(uintOption(LcpOption.MRU, MIN_MRU, 2));
          else p.peerMru = v;
          break;
        }
        case LcpOption.ACCM: {
          const v = optionUint(o, 4);
          if (v === undefined) reject.push(o);
          else p.txAccm = v;
          break;
        }
        case LcpOption.AUTH_PROTOCOL: {
          const asked = parseAuth(o);
          if (this.config.accept.length === 0 || o.data.length < 2) reject.push(o);
          else if (asked !== undefined && this.config.accept.includes(asked)) p.authPeer = asked;
          else nak.push(authOption(this.config.accept.includes('chap') ? 'chap' : 'pap'));
          break;
        }
        case LcpOption.MAGIC_NUMBER: {
          const v = optionUint(o, 4);
          if (v === undefined) reject.push(o);
          else if (v === 0 || (this.want.magic && v === this.magic)) {
            if (v !== 0) looped = true;
            nak.push(uintOption(LcpOption.MAGIC_NUMBER, randomMagic(this.rng), 4));
          } else p.peerMagic = v;
          break;
        }
        case LcpOption.PFC:
          if (o.data.length !== 0) reject.push(o);
          else p.txPfc = true;
          break;
        case LcpOption.ACFC:
          if (o.data.length !== 0) reject.push(o);
          else p.txAcfc = true;
          break;
        default:
          reject.push(o); // Quality-Protocol, FCS-Alternatives, Callback, unknown
      }
    }
    if (looped) {
      this.loopSuspected++;
      this.magic = randomMagic(this.rng); // §6.4: a new number for our next request
    } else {
      this.loopSuspected = 0;
    }
    if (reject.length > 0) return { kind: 'reject', options: reject };
    if (nak.length > 0) {
      if (rejectInsteadOfNak) return { kind: 'reject', options: options.filter((o) => nak.some((n) => n.type === o.type)) };
      return { kind: 'nak', options: nak };
    }
    this.pending = p;
    return { kind: 'ack' };
  }

  ackReceived(options: readonly CpOption[]): void {
    let rxAccm = 0xffffffff;
    let authLocal: PppAuthProtocol | undefined;
    let localMagic = 0;
    for (const o of options) {
      if (o.type === LcpOption.ACCM) rxAccm = optionUint(o, 4) ?? rxAccm;
      else if (o.type === LcpOption.AUTH_PROTOCOL) authLocal = parseAuth(o);
      else if (o.type === LcpOption.MAGIC_NUMBER) localMagic = optionUint(o, 4) ?? 0;
    }
    this.result = { ...this.result, rxAccm, authLocal, localMagic };
  }

  nakReceived(options: readonly CpOption[]): boolean {
    for (const o of options) {
      switch (o.type) {
        case LcpOption.MRU: {
          const v = optionUint(o, 2);
          // A smaller MRU is the peer's wish to send less; we can receive up to our buffer.
          if (v !== undefined && v >= MIN_MRU && v <= this.config.mru) {
            this.mru = v;
            this.want.mru = v !== DEFAULT_MRU;
          }
          break;
        }
        case LcpOption.ACCM: {
          const v = optionUint(o, 4);
          if (v !== undefined) {
            this.accm = (this.accm | v) >>> 0; // the peer needs those escaped as well
            this.want.accm = true;
          }
          break;
        }
        case LcpOption.AUTH_PROTOCOL: {
          const alt = parseAuth(o);
          if (alt !== undefined && this.config.require.includes(alt)) this.want.auth = alt;
          else {
            // Nak with a protocol we do not allow: try the next one we allow, round-robin.
            const i = this.config.require.indexOf(this.want.auth ?? 'chap');
            this.want.auth = this.config.require[(i + 1) % Math.max(1, this.config.require.length)];
          }
          break;
        }
        case LcpOption.MAGIC_NUMBER:
          if (this.want.magic) this.magic = randomMagic(this.rng);
          break;
        default:
          break; // options we did not ask for, or booleans that cannot be Nak'ed: ignored
      }
    }
    return true;
  }

  rejectReceived(options: readonly CpOption[]): boolean {
    for (const o of options) {
      switch (o.type) {
        case LcpOption.MRU: this.want.mru = false; this.mru = DEFAULT_MRU; break;
        case LcpOption.ACCM: this.want.accm = false; break;
        case LcpOption.AUTH_PROTOCOL: this.want.auth = undefined; break;
        case LcpOption.MAGIC_NUMBER: this.want.magic = false; break;
        case LcpOption.PFC: this.want.pfc = false; break;
        case LcpOption.ACFC: this.want.acfc = false; break;
        default: return false; // we never asked for that: not a valid Reject (§5.4)
      }
    }
    return true;
  }

  /** This-Layer-Up: the values of the peer's acknowledged request take effect. */
  commit(): void {
    this.result = { ...this.result, ...this.pending };
  }
}
