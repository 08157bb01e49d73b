/**
 * IPCP's options (RFC 1332 §3, RFC 1877): IP-Address negotiation and the DNS server options, for
 * both roles.
 *
 * - We ask for IP-Address (our configured address, or 0.0.0.0 to have the peer assign one: it
 *   Naks with the address, RFC 1332 §3.3) and, when `requestDns`, Primary/Secondary-DNS-Address
 *   0.0.0.0 (the peer Naks with its servers, RFC 1877 §1.1). A rejected DNS option is dropped
 *   (the peer has none to give); a rejected IP-Address leaves us with the configured one.
 * - The peer's IP-Address: with a `peerAddress` to assign, anything else is Nak'ed with it;
 *   without, any non-zero address other than ours is accepted and 0.0.0.0 is rejected. Its DNS options
 *   are Nak'ed with `dnsServers` (rejected when we have none). IP-Compression-Protocol (Van
 *   Jacobson, RFC 1144), the deprecated IP-Addresses, NBNS and unknown options are rejected.
 */
import { IpcpOption, optionUint, uintOption, type CpOption } from '../../wire/ppp/ppp-packet.ts';
import type { CpVerdict } from './cp-fsm.ts';

/** What IPCP asks for and offers (IPv4 addresses as uint32, 0 = none). */
export interface IpcpConfig {
  /** Our address; 0: ask the peer for one. */
  localAddress: number;
  /** The address we assign to a peer that asks (server role); 0: none to give. */
  peerAddress: number;
  /** Ask the peer for DNS servers (RFC 1877). */
  requestDns: boolean;
  /** DNS servers we give a peer that asks (at most two are used). */
  dnsServers: readonly number[];
}

/** The outcome, valid once IPCP is Opened. */
export interface IpcpNegotiated {
  localAddress: number;
  /** The peer's address (0 when it did not tell). */
  peerAddress: number;
  /** DNS servers the peer gave us, primary first (empty when it gave none). */
  dnsServers: number[];
}

const DNS_TYPES = [IpcpOption.PRIMARY_DNS, IpcpOption.SECONDARY_DNS] as const;

export class IpcpOptions {
  readonly config: IpcpConfig;
  result: IpcpNegotiated = { localAddress: 0, peerAddress: 0, dnsServers: [] };
  private local = 0;
  private wantAddress = true;
  private readonly dns = [0, 0];
  private readonly wantDns = [false, false];
  private pendingPeer = 0;

  constructor(config: IpcpConfig) {
    this.config = config;
    this.reset();
  }

  reset(): void {
    this.local = this.config.localAddress >>> 0;
    this.wantAddress = true;
    this.dns[0] = 0;
    this.dns[1] = 0;
    this.wantDns[0] = this.config.requestDns;
    this.wantDns[1] = this.config.requestDns;
    this.pendingPeer = 0;
    this.result = { localAddress: 0, peerAddress: 0, dnsServers: [] };
  }

  requestOptions(): CpOption[] {
    const out: CpOption[] = [];
    if (this.wantAddress) out.push(uintOption(IpcpOption.IP_ADDRESS, this.local, 4));
    DNS_TYPES.forEach((type, i) => {
      if (this.wantDns[i] === true) out.push(uintOption(type, this.dns[i] as number, 4));
    });
    return out;
  }

  checkRequest(options: readonly CpOption[], rejectInsteadOfNak: boolean): CpVerdict {
    const reject: CpOption[] = [];
    const nak: CpOption[] = [];
    let peer = 0;
    for (const o of options) {
      const v = optionUint(o, 4);
      if (o.type === IpcpOption.IP_ADDRESS && v !== undefined) {
        const assign = this.config.peerAddress >>> 0;
        if (v !== 0 && v !== this.local && (assign === 0 || v === assign)) peer = v;
        else if (assign !== 0) nak.push(uintOption(IpcpOption.IP_ADDRESS, this.config.peerAddress, 4));
        else reject.push(o);
      } else if ((o.type === IpcpOption.PRIMARY_DNS || o.type === IpcpOption.SECONDARY_DNS) && v !== undefined) {
        const server = this.config.dnsServers[o.type === IpcpOption.PRIMARY_DNS ? 0 : 1];
        if (server === undefined) reject.push(o);
        else if (v !== server) nak.push(uintOption(o.type, server, 4));
      } else {
        reject.push(o); // IP-Compression-Protocol, IP-Addresses, NBNS, bad lengths, unknown
      }
    }
    if (reject.length > 0) return { kind: 'reject', options: reject };
    if (nak.length > 0) {
      if (rejectInsteadOfNak) return { kind: 'reject', options: options.filter((o) => nak.some((n) => n.type === o.type)) };
      return { kind: 'nak', options: nak };
    }
    this.pendingPeer = peer;
    return { kind: 'ack' };
  }

  ackReceived(options: readonly CpOption[]): void {
    const dnsServers: number[] = [];
    let local = this.config.localAddress >>> 0;
    for (const o of options) {
      const v = optionUint(o, 4) ?? 0;
      if (o.type === IpcpOption.IP_ADDRESS) local = v;
      else if ((o.type === IpcpOption.PRIMARY_DNS || o.type === IpcpOption.SECONDARY_DNS) && v !== 0) dnsServers.push(v);
    }
    this.result = { ...this.result, localAddress: local, dnsServers };
  }

  nakReceived(options: readonly CpOption[]): boolean {
    for (const o of options) {
      const v = optionUint(o, 4);
      if (v === undefined) continue;
      if (o.type === IpcpOption.IP_ADDRESS) {
        // A configured address is ours to keep only when the peer has no better idea: take its.
        if (v !== 0) this.local = v;
        this.wantAddress = true;
      } else if (o.type === IpcpOption.PRIMARY_DNS || o.type === IpcpOption.SECONDARY_DNS) {
        const i = o.type === IpcpOption.PRIMARY_DNS ? 0 : 1;
        if (this.config.requestDns) {
          this.dns[i] = v;
          this.wantDns[i] = true;
        }
      }
    }
    return true;
  }

  rejectReceived(options: readonly CpOption[]): boolean {
    for (const o of options) {
      if (o.type === IpcpOption.IP_ADDRESS) this.wantAddress = false;
      else if (o.type === IpcpOption.PRIMARY_DNS) this.wantDns[0] = false;
      else if (o.type === IpcpOption.SECONDARY_DNS) this.wantDns[1] = false;
      else return false;
    }
    return true;
  }

  /** This-Layer-Up. */
  commit(): void {
    if (!this.wantAddress) this.result.localAddress = this.config.localAddress >>> 0;
    this.result.peerAddress = this.pendingPeer;
  }
}
