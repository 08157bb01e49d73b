/**
 * Duplicate Address Detection (RFC 4862 §5.4) for the addresses of one interface, as a
 * pure state machine with explicit `now`. An address starts TENTATIVE: after a random
 * delay (RFC 4862 §5.4.2: up to MAX_RTR_SOLICITATION_DELAY for the first address of an
 * interface) the stack sends `transmits` Neighbor Solicitations for it from the
 * unspecified address, `retransTimerMs` apart; if nothing says the address is in use
 * within `retransTimerMs` after the last one, it becomes PREFERRED. A Neighbor
 * Advertisement for it, or a DAD probe for it from another host (an NS from ::), makes
 * it DUPLICATE: the stack must not use it (RFC 7217 §6: form another identifier with
 * the next DAD counter, up to IDGEN_RETRIES times).
 *
 * The machine only says what to send and what happened; the stack joins the
 * solicited-node group before the first probe (RFC 4862 §5.4.2) and sends the NS.
 */

import { ipEquals } from '../base/ip-address.ts';

export type DadState = 'TENTATIVE' | 'PREFERRED' | 'DUPLICATE';

export interface DadOptions {
  /** DupAddrDetectTransmits (default 1; 0 = no DAD: addresses are preferred at once). */
  readonly transmits?: number;
  /** RetransTimer in ms (default 1000). */
  readonly retransTimerMs?: number;
}

interface Entry {
  readonly addr: Uint8Array;
  state: DadState;
  sent: number;
  nextAt: number;
}

export interface DadPollResult {
  /** Addresses to send a DAD probe (NS from ::, to the solicited-node group) for now. */
  readonly probe: Uint8Array[];
  /** Addresses that passed DAD: usable now. */
  readonly preferred: Uint8Array[];
}

export class DuplicateAddressDetection {
  private readonly entries: Entry[] = [];
  private readonly transmits: number;
  private readonly retransMs: number;

  constructor(opts: DadOptions = {}) {
    this.transmits = Math.max(0, Math.floor(opts.transmits ?? 1));
    this.retransMs = opts.retransTimerMs ?? 1000;
  }

  /**
   * Starts DAD for `addr`: the first probe goes out at `now + delayMs`. With no DAD
   * configured (`transmits` 0) the address is PREFERRED at once (returned true).
   */
  start(addr: Uint8Array, now: number, delayMs = 0): boolean {
    this.stop(addr);
    if (this.transmits === 0) {
      this.entries.push({ addr: addr.slice(0, 16), state: 'PREFERRED', sent: 0, nextAt: Infinity });
      return true;
    }
    this.entries.push({ addr: addr.slice(0, 16), state: 'TENTATIVE', sent: 0, nextAt: now + Math.max(0, delayMs) });
    return false;
  }

  /** Forgets `addr` (removed from the interface). */
  stop(addr: Uint8Array): void {
    const i = this.entries.findIndex((e) => ipEquals(e.addr, addr));
    if (i >= 0) this.entries.splice(i, 1);
  }

  /** The DAD state of `addr`, or undefined when it is not tracked. */
  state(addr: Uint8Array): DadState | undefined {
    return this.entries.find((e) => ipEquals(e.addr, addr))?.state;
  }

  /**
   * A Neighbor Advertisement for `target` was received, or a Neighbor Solicitation for it
   * from the unspecified address (another host's DAD) that we did not send ourselves
   * (RFC 4862 §5.4.3, §5.4.4; looped-back probes must be filtered by the caller).
   * Returns true when this made a tentative address DUPLICATE.
   */
  conflict(target: Uint8Array): boolean {
    const e = this.entries.find((x) => ipEquals(x.addr, target));
    if (e === undefined || e.state !== 'TENTATIVE') return false;
    e.state = 'DUPLICATE';
    e.nextAt = Infinity;
    return true;
  }

  /** Probes due and addresses that passed at `now`. */
  poll(now: number): DadPollResult {
    const probe: Uint8Array[] = [];
    const preferred: Uint8Array[] = [];
    for (const e of this.entries) {
      if (e.state !== 'TENTATIVE' || now < e.nextAt) continue;
      if (e.sent >= this.transmits) {
        e.state = 'PREFERRED';
        e.nextAt = Infinity;
        preferred.push(e.addr);
        continue;
      }
      e.sent++;
      e.nextAt = now + this.retransMs;
      probe.push(e.addr);
    }
    return { probe, preferred };
  }

  pollAt(): number | undefined {
    let at = Infinity;
    for (const e of this.entries) if (e.state === 'TENTATIVE') at = Math.min(at, e.nextAt);
    return at === Infinity ? undefined : at;
  }
}
