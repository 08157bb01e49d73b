/**
 * IPv4 routing: longest-prefix match over a small table (the routes of a host or an
 * IoT gateway: connected subnets, a default gateway, a few static routes).
 */
import { prefixMask } from './ipv4-addr.ts';

export interface Route {
  /** Destination network (uint32, host bits zero). */
  readonly network: number;
  readonly prefixLen: number;
  /** Next hop (uint32), or 0 for a directly connected destination. */
  readonly gateway: number;
  /** Outgoing interface index. */
  readonly ifIndex: number;
  /** Route MTU (0: the interface MTU). */
  readonly mtu: number;
  /** Lower wins among equal prefixes. */
  readonly metric: number;
}

/** The result of a lookup: where to send and to whom (the next hop's address). */
export interface NextHop {
  readonly route: Route;
  /** The address to resolve on the link: the gateway, or the destination itself. */
  readonly nextHop: number;
}

export class RouteTable {
  private routes: Route[] = [];

  /** Adds a route (the network is masked to its prefix). Returns it. */
  add(r: { network: number; prefixLen: number; gateway?: number; ifIndex: number; mtu?: number; metric?: number }): Route {
    const prefixLen = Math.max(0, Math.min(32, Math.floor(r.prefixLen)));
    const route: Route = {
      network: (r.network & prefixMask(prefixLen)) >>> 0,
      prefixLen,
      gateway: (r.gateway ?? 0) >>> 0,
      ifIndex: r.ifIndex,
      mtu: r.mtu ?? 0,
      metric: r.metric ?? 0,
    };
    this.routes.push(route);
    // Longest prefix first, then lowest metric: lookup takes the first match.
    this.routes.sort((a, b) => b.prefixLen - a.prefixLen || a.metric - b.metric);
    return route;
  }

  /** Removes every route matching the predicate; returns how many. */
  remove(match: (r: Route) => boolean): number {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => !match(r));
    return before - this.routes.length;
  }

  /** Longest-prefix match for `dst` (uint32); undefined when no route. */
  lookup(dst: number): NextHop | undefined {
    for (const route of this.routes) {
      if (((dst & prefixMask(route.prefixLen)) >>> 0) === route.network) {
        return { route, nextHop: route.gateway !== 0 ? route.gateway : dst >>> 0 };
      }
    }
    return undefined;
  }

  /** Every route, longest prefix first. */
  list(): readonly Route[] {
    return this.routes;
  }
}
