/**
 * Puts a `PppLink` into a `Stack` as an interface and keeps the interface's addresses in step with
 * the session, as pppd does with the kernel's:
 *
 * - IPCP Opened: our address as a /32, a host route to the peer's address, the default route
 *   through the link unless `defaultRoute` is false (the answering side usually sets it false),
 *   and the interface MTU lowered to the peer's MRU when smaller. The DNS servers the peer gave
 *   go to `onDns` (the resolver's business, one layer up).
 * - IPV6CP Opened: IPv6 on the interface with the link-local address fe80::/64 + the negotiated
 *   identifier (RFC 5072 §5), no DAD (the identifiers were negotiated unique), the peer's
 *   link-local address as the default router, and router solicitations for a global prefix.
 * - NCP down or session down: the address, routes and IPv6 go away.
 */
import { Listeners, type Unsubscribe } from '../base/listeners.ts';
import type { Route } from '../stack/routes.ts';
import type { Stack } from '../stack/stack.ts';
import type { Link } from './link.ts';
import type { PppLink } from './ppp-link.ts';

/** Options of `attachPpp`: interface name, default route, IPv6, router solicitations and the device to add. */
export interface PppAttachOptions {
  /** Interface name (default `ppp<N>`). */
  name?: string;
  /** Route everything through the link once IPCP is up (default true). */
  defaultRoute?: boolean;
  /** Run IPv6 when IPV6CP opens (default true). */
  ipv6?: boolean;
  /** Router solicitations sent when IPv6 starts (default 3; 0 on the answering side). */
  routerSolicitations?: number;
  /** What goes into the stack as the interface (default the link itself): a wrapper around the link (a filter, a capture). */
  device?: Link;
}

/** What the attachment reports. */
export type PppAttachEvent =
  | {
    /** IPCP opened: the address is on the interface. */
    readonly type: 'ipv4-up';
    /** Our address (uint32). */
    readonly address: number;
    /** The peer's address (uint32). */
    readonly peer: number;
    /** DNS servers the peer gave (uint32). */
    readonly dnsServers: readonly number[];
  }
  | {
    /** IPCP closed: the address and routes are gone. */
    readonly type: 'ipv4-down';
  }
  | {
    /** IPV6CP opened: IPv6 runs on the interface. */
    readonly type: 'ipv6-up';
    /** Our link-local address (16 bytes). */
    readonly linkLocal: Uint8Array;
    /** The peer's link-local address (16 bytes). */
    readonly peerLinkLocal: Uint8Array;
  }
  | {
    /** IPV6CP closed: IPv6 is off on the interface. */
    readonly type: 'ipv6-down';
  };

/** A link attached to a stack. */
export interface PppAttachment {
  /** The stack interface index of the link. */
  readonly ifIndex: number;
  /**
   * Subscribes to the attachment's events (`ipv4-up` with the addresses and DNS servers, `ipv4-down`, `ipv6-up`,
   * `ipv6-down`); returns the function that unsubscribes.
   */
  on(listener: (e: PppAttachEvent) => void): Unsubscribe;
  /** Removes the interface from the stack (the link stays open). Idempotent. */
  detach(): void;
}

function linkLocal(iid: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  a.set(iid, 8);
  return a;
}

/**
 * Adds `link` (or `options.device`) to `stack` as an interface and keeps its addresses and routes in step with the
 * PPP session, as pppd does with the kernel's: IPCP up gives a /32 address, a host route to the peer and (unless
 * `defaultRoute` is false) the default route; IPV6CP up gives IPv6 with the negotiated link-local address; NCP or
 * session down removes them.
 */
export function attachPpp(stack: Stack, link: PppLink, options: PppAttachOptions = {}): PppAttachment {
  const ifIndex = stack.addInterface(options.device ?? link, { ...(options.name !== undefined ? { name: options.name } : {}) });
  const listeners = new Listeners<[PppAttachEvent]>();
  const defaultRoute = options.defaultRoute ?? true;
  let peerRoute: Route | undefined;
  let v4 = false;
  let v6 = false;
  let detached = false;

  const downV4 = (): void => {
    if (!v4) return;
    v4 = false;
    if (peerRoute !== undefined) stack.routes.remove((r) => r === peerRoute);
    peerRoute = undefined;
    stack.setIpv4(ifIndex, undefined);
    stack.setInterfaceMtu(ifIndex, link.caps.mtu);
    listeners.emit({ type: 'ipv4-down' });
  };
  const downV6 = (): void => {
    if (!v6) return;
    v6 = false;
    stack.ipv6.disable(ifIndex);
    listeners.emit({ type: 'ipv6-down' });
  };

  const off = link.on((e) => {
    switch (e.type) {
      case 'lcp-up':
        stack.setInterfaceMtu(ifIndex, Math.min(link.caps.mtu, e.negotiated.peerMru));
        break;
      case 'ipcp-up': {
        downV4();
        const { localAddress, peerAddress, dnsServers } = e.negotiated;
        stack.setIpv4(ifIndex, { address: localAddress, prefixLen: 32 }, defaultRoute ? peerAddress || localAddress : undefined);
        if (peerAddress !== 0) peerRoute = stack.addRoute({ network: peerAddress, prefixLen: 32, ifIndex });
        v4 = true;
        listeners.emit({ type: 'ipv4-up', address: localAddress, peer: peerAddress, dnsServers });
        break;
      }
      case 'ipv6cp-up': {
        downV6();
        if (options.ipv6 === false) break;
        const ll = linkLocal(e.negotiated.localIid);
        const peerLl = linkLocal(e.negotiated.peerIid);
        stack.enableIpv6(ifIndex, {
          linkLocalIid: e.negotiated.localIid,
          dadTransmits: 0,
          gateway: peerLl,
          routerSolicitations: options.routerSolicitations ?? 3,
        });
        v6 = true;
        listeners.emit({ type: 'ipv6-up', linkLocal: ll, peerLinkLocal: peerLl });
        break;
      }
      case 'ipcp-down':
        downV4();
        break;
      case 'ipv6cp-down':
        downV6();
        break;
      case 'down':
        downV4();
        downV6();
        break;
      default:
        break;
    }
  });

  return {
    ifIndex,
    on: (listener) => listeners.add(listener),
    detach: () => {
      if (detached) return;
      detached = true;
      off();
      downV4();
      downV6();
      listeners.clear();
      stack.removeInterface(ifIndex);
    },
  };
}
