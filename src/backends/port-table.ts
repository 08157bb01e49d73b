import type { Af } from './contract.ts';
import { randomInt, type Rng } from '../base/rand.ts';
import { ipEquals, isUnspecified } from '../base/ip-address.ts';

/** First port of the IANA dynamic/private range (RFC 6335 §6), used for implicit binds. */
export const EPHEMERAL_FIRST = 49152;
/** Last port of the IANA dynamic/private range. */
export const EPHEMERAL_LAST = 65535;

/** One local address/port held by a socket of this backend. */
export interface Reservation {
  readonly af: Af;
  /** 4 or 16 bytes; all-zero is the wildcard. Owned by the table (a private copy). */
  readonly address: Uint8Array;
  readonly port: number;
}

/**
 * The local ports held by one backend's sockets of one protocol (TCP and UDP have
 * separate tables: separate port spaces). Two reservations conflict when they have
 * the same family and port and their addresses are equal or either is the wildcard,
 * which is the BSD rule without `SO_REUSEADDR`. IPv4 and IPv6 are separate spaces
 * because the host backend's AF_INET6 sockets are v6-only.
 *
 * Used by the host backend and the AT module backend (modules keep no bind table). The
 * table is the backend's own view; the OS may still refuse a port held by another
 * process, which surfaces as `EADDRINUSE` when the OS bind happens.
 */
export class PortTable {
  private readonly byPort = new Map<number, Set<Reservation>>();

  /** Number of reservations held (for leak checks). */
  get size(): number {
    let n = 0;
    for (const set of this.byPort.values()) n += set.size;
    return n;
  }

  /** True if `address:port` of family `af` conflicts with a held reservation. */
  conflicts(af: Af, address: Uint8Array, port: number): boolean {
    const set = this.byPort.get(port);
    if (set === undefined) return false;
    for (const r of set) {
      if (r.af !== af) continue;
      if (isUnspecified(r.address) || isUnspecified(address) || ipEquals(r.address, address)) return true;
    }
    return false;
  }

  /** Reserves `address:port`, or returns `undefined` on a conflict. */
  reserve(af: Af, address: Uint8Array, port: number): Reservation | undefined {
    if (this.conflicts(af, address, port)) return undefined;
    const r: Reservation = { af, address: Uint8Array.from(address), port };
    let set = this.byPort.get(port);
    if (set === undefined) {
      set = new Set();
      this.byPort.set(port, set);
    }
    set.add(r);
    return r;
  }

  /**
   * Reserves a port of the dynamic range 49152-65535 for `address`, chosen as in
   * RFC 6056 §3.3.1 (Algorithm 1): a random starting point, then the next free port.
   * Ports in `exclude` (ones the OS already refused) are skipped.
   * Returns `undefined` only if every port of the range is taken.
   */
  reserveEphemeral(af: Af, address: Uint8Array, rng: Rng, exclude?: ReadonlySet<number>): Reservation | undefined {
    const count = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
    const start = randomInt(rng, 0, count - 1);
    for (let i = 0; i < count; i++) {
      const port = EPHEMERAL_FIRST + ((start + i) % count);
      if (exclude?.has(port)) continue;
      const r = this.reserve(af, address, port);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  /** Releases a reservation; releasing twice is harmless. */
  release(r: Reservation | undefined): void {
    if (r === undefined) return;
    const set = this.byPort.get(r.port);
    if (set === undefined) return;
    set.delete(r);
    if (set.size === 0) this.byPort.delete(r.port);
  }
}
