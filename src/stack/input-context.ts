import type { IpInputContext } from './stack.ts';

const EMPTY = new Uint8Array(0);

/**
 * The mutable `IpInputContext` that the IPv4 input (in `Stack`) and the IPv6 layer each
 * reuse for every received packet: one class for both families, so the transports see
 * one object shape.
 */
export class InputContext implements IpInputContext {
  family: 4 | 6;
  ifIndex = 0;
  src = 0;
  dst = 0;
  src6: Uint8Array = EMPTY;
  dst6: Uint8Array = EMPTY;
  protocol = 0;
  ttl = 0;
  tos = 0;
  broadcast = false;
  header: Uint8Array = EMPTY;
  checksumVerified = false;

  constructor(family: 4 | 6) {
    this.family = family;
  }
}
