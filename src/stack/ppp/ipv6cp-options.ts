/**
 * IPV6CP's options (RFC 5072 §4): the 64-bit Interface-Identifier each side forms its link-local
 * address from (fe80::/64 + identifier). Ours is random (or configured) and non-zero; a peer
 * identifier of zero, or equal to ours, is Nak'ed with a fresh random suggestion (§4.1); a Nak of
 * ours makes us take the peer's suggestion when it is usable. IPv6-Compression-Protocol and
 * unknown options are rejected.
 */
import type { Rng } from '../../base/rand.ts';
import { equalBytes } from '../../wire/bytes.ts';
import { Ipv6cpOption, type CpOption } from '../../wire/ppp/ppp-packet.ts';
import type { CpVerdict } from './cp-fsm.ts';

/** The outcome, valid once IPV6CP is Opened. */
export interface Ipv6cpNegotiated {
  localIid: Uint8Array;
  /** The peer's identifier (all zero when it sent none). */
  peerIid: Uint8Array;
}

const IID_LEN = 8;

function isZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

export class Ipv6cpOptions {
  result: Ipv6cpNegotiated = { localIid: new Uint8Array(IID_LEN), peerIid: new Uint8Array(IID_LEN) };
  private readonly rng: Rng;
  private readonly configured: Uint8Array | undefined;
  private iid: Uint8Array = new Uint8Array(IID_LEN);
  private wantIid = true;
  private pendingPeer: Uint8Array = new Uint8Array(IID_LEN);

  /** `iid`: a fixed identifier to ask for (8 bytes, not zero), else random ones. */
  constructor(rng: Rng, iid?: Uint8Array) {
    if (iid !== undefined && (iid.length !== IID_LEN || isZero(iid))) throw new RangeError('IPV6CP interface identifier: 8 bytes, not all zero');
    this.rng = rng;
    this.configured = iid?.slice();
    this.reset();
  }

  reset(): void {
    this.iid = this.configured?.slice() ?? this.random();
    this.wantIid = true;
    this.pendingPeer = new Uint8Array(IID_LEN);
    this.result = { localIid: this.iid.slice(), peerIid: new Uint8Array(IID_LEN) };
  }

  private random(): Uint8Array {
    const out = new Uint8Array(IID_LEN);
    do {
      for (let i = 0; i < IID_LEN; i += 4) {
        const v = this.rng.nextU32();
        out[i] = v >>> 24;
        out[i + 1] = (v >>> 16) & 0xff;
        out[i + 2] = (v >>> 8) & 0xff;
        out[i + 3] = v & 0xff;
      }
    } while (isZero(out));
    return out;
  }

  requestOptions(): CpOption[] {
    return this.wantIid ? [{ type: Ipv6cpOption.INTERFACE_IDENTIFIER, data: this.iid }] : [];
  }

  checkRequest(options: readonly CpOption[], rejectInsteadOfNak: boolean): CpVerdict {
    const reject: CpOption[] = [];
    const nak: CpOption[] = [];
    let peer: Uint8Array = new Uint8Array(IID_LEN);
    for (const o of options) {
      if (o.type !== Ipv6cpOption.INTERFACE_IDENTIFIER || o.data.length !== IID_LEN) {
        reject.push(o);
        continue;
      }
      if (isZero(o.data) || equalBytes(o.data, this.iid)) {
        let suggestion = this.random();
        while (equalBytes(suggestion, this.iid)) suggestion = this.random();
        nak.push({ type: o.type, data: suggestion });
      } else {
        peer = o.data.slice();
      }
    }
    if (reject.length > 0) return { kind: 'reject', options: reject };
    if (nak.length > 0) return rejectInsteadOfNak ? { kind: 'reject', options: options.slice() } : { kind: 'nak', options: nak };
    this.pendingPeer = peer;
    return { kind: 'ack' };
  }

  ackReceived(options: readonly CpOption[]): void {
    const o = options.find((x) => x.type === Ipv6cpOption.INTERFACE_IDENTIFIER);
    if (o !== undefined) this.result = { ...this.result, localIid: o.data.slice() };
  }

  nakReceived(options: readonly CpOption[]): boolean {
    for (const o of options) {
      if (o.type !== Ipv6cpOption.INTERFACE_IDENTIFIER || o.data.length !== IID_LEN) continue;
      // §4.1: take the suggestion unless it is unusable; then pick another random one.
      this.iid = isZero(o.data) || equalBytes(o.data, this.pendingPeer) ? this.random() : o.data.slice();
      this.wantIid = true;
    }
    return true;
  }

  rejectReceived(options: readonly CpOption[]): boolean {
    for (const o of options) {
      if (o.type !== Ipv6cpOption.INTERFACE_IDENTIFIER) return false;
      this.wantIid = false;
    }
    return true;
  }

  /** This-Layer-Up. */
  commit(): void {
    this.result = { localIid: this.wantIid ? this.result.localIid : this.iid.slice(), peerIid: this.pendingPeer };
  }
}
