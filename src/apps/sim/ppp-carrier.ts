/**
 * The network side of a simulated modem's data calls: each call the simulator places
 * (`QuectelSimOptions.dataCall`) gets our PPP server role (`PppLink`) on the call's stream,
 * attached to a "carrier" `Stack` — the operator's gateway (GGSN/PGW) of the simulation. Give
 * that stack `forwarding: true` and another interface (a virtual cable to more stacks, a TAP into a
 * network namespace) and the modem's host reaches that network through PPP.
 *
 * Per call: the carrier's address (`gateway`, default 10.64.0.1) on the PPP link, the call's PDP
 * address (`SimDataCall.address`) handed out in IPCP with `dnsServers` (RFC 1877), IPV6CP for
 * `IPV6`/`IPV4V6` contexts, and authentication of the host when the context has credentials
 * (`AT+QICSGP` user/password and auth 1 PAP / 2 CHAP) or `secrets` is given. When PPP ends (LCP
 * Terminate, link dead) the call is hung up (`NO CARRIER`); when the call ends (ATH, registration
 * loss) the link goes away.
 */
import type { Rng } from '../../base/rand.ts';
import type { Scheduler } from '../../base/time.ts';
import { attachPpp } from '../../link/ppp-attach.ts';
import { PppLink, type PppFrameTap } from '../../link/ppp-link.ts';
import type { PppAuthProtocol } from '../../stack/ppp/lcp-options.ts';
import type { SecretLookup } from '../../stack/ppp/ppp-auth-common.ts';
import type { Stack } from '../../stack/stack.ts';
import type { SimDataCall, SimDataCallHandler, SimDataSession } from './quectel/quectel-data-mode.ts';

/**
 * Options of `pppCarrier`: the carrier stack, clock, randomness, gateway address, DNS servers handed out,
 * authentication secrets and capture.
 */
export interface PppCarrierOptions {
  /** The carrier's stack (usually with `forwarding: true`). */
  stack: Stack;
  /** Clock of the PPP timers. */
  scheduler: Scheduler;
  /** Randomness (PPP magic numbers, identifiers). */
  rng: Rng;
  /** The carrier's address on every PPP link (default 10.64.0.1). */
  gateway?: string;
  /** DNS servers handed out (default none: RFC 1877 options rejected). */
  dnsServers?: readonly string[];
  /** Authenticate the host with these secrets (else: per the context's `AT+QICSGP` credentials). */
  secrets?: SecretLookup;
  /** Sees every PPP frame of every call. */
  capture?: PppFrameTap;
}

/** Counters of a carrier. */
export interface PppCarrierStats {
  /** Data calls handled. */
  calls: number;
  /** Calls whose IPCP or IPV6CP opened. */
  up: number;
  /** Calls the carrier hung up because PPP ended. */
  pppEnded: number;
}

/** A `dataCall` handler for `QuectelSim`, with its counters. */
export interface PppCarrier {
  /** Give it to `QuectelSimOptions.dataCall`. */
  readonly handler: SimDataCallHandler;
  /** Counters (see `PppCarrierStats`). */
  readonly stats: PppCarrierStats;
}

/**
 * The network side of a simulated modem's data calls (`QuectelSimOptions.dataCall`): each call gets our PPP server
 * role on the call's stream, attached to the carrier `Stack` (the operator's gateway), handing out the call's PDP
 * address and `dnsServers`; when PPP ends the call is hung up.
 */
export function pppCarrier(o: PppCarrierOptions): PppCarrier {
  const stats: PppCarrierStats = { calls: 0, up: 0, pppEnded: 0 };
  const handler = (call: SimDataCall): SimDataSession | undefined => {
    stats.calls++;
    const v4 = call.pdpType !== 'IPV6';
    const v6 = call.pdpType !== 'IP';
    let secrets = o.secrets;
    let protocols: PppAuthProtocol[] | undefined;
    if (secrets === undefined && call.auth !== 0 && call.user !== undefined) {
      const user = call.user;
      const password = call.password ?? '';
      secrets = (name) => (name === user ? password : undefined);
      protocols = [call.auth === 2 ? 'chap' : 'pap'];
    }
    const link = new PppLink(call.stream, {
      scheduler: o.scheduler,
      rng: o.rng,
      closeStream: false,
      ipv4: v4 ? { localAddress: o.gateway ?? '10.64.0.1', peerAddress: call.address, dnsServers: o.dnsServers ?? [] } : false,
      ipv6: v6 ? {} : false,
      lcp: { echoIntervalMs: 0 },
      ...(secrets !== undefined ? { authenticate: { secrets, ...(protocols !== undefined ? { protocols } : {}), name: 'carrier' } } : {}),
      ...(o.capture !== undefined ? { capture: o.capture } : {}),
    });
    const attachment = attachPpp(o.stack, link, { defaultRoute: false, routerSolicitations: 0, name: `ppp-c${stats.calls}` });
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      attachment.detach();
      link.close();
    };
    let ending = false;
    link.on((e) => {
      if (e.type === 'ipcp-up' || e.type === 'ipv6cp-up') stats.up++;
      if (e.type === 'lcp-down' && link.session.lcp.state === 'stopping' && !ending) {
        // The host sent LCP Terminate-Request: the network drops the call at once (once our
        // Terminate-Ack, written right after this event, is on its way), as a real one does.
        ending = true;
        stats.pppEnded++;
        o.scheduler.setTimer(0, () => {
          close();
          call.hangUp();
        });
        return;
      }
      if (e.type === 'down' && !closed && !ending) {
        // 'lower-down': the call's stream ended first (hang-up, network loss); else PPP ended the call.
        if (e.reason !== 'lower-down') stats.pppEnded++;
        close();
        call.hangUp();
      }
    });
    link.open();
    return { close };
  };
  return { handler, stats };
}
