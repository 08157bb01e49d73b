/**
 * The router role of a `Stack` (`StackOptions.forwarding`, `Stack.setForwarding`): the
 * configuration type and the pure per-packet helpers of IPv4 (RFC 1812) and IPv6 (RFC
 * 8200 §3, RFC 4443) forwarding. The forwarding paths themselves live where the
 * routing, neighbor and ICMP machinery is: `Stack.forward4` (stack.ts) and
 * `Ipv6Layer.forward` (ipv6-layer.ts).
 */
import { rd16, wr16 } from '../wire/bytes.ts';

/**
 * Forwarding switch: `true` for both families, or per family. Default off: a host drops
 * every packet that is not addressed to it (`drops.notForUs`).
 */
export type ForwardingOption = boolean | { readonly ipv4?: boolean; readonly ipv6?: boolean };

/** The resolved per-family switch. */
export interface ForwardingConfig {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

/** `ForwardingOption` -> both flags (undefined: off). */
export function forwardingConfig(opt: ForwardingOption | undefined): ForwardingConfig {
  if (opt === undefined || typeof opt === 'boolean') return { ipv4: opt === true, ipv6: opt === true };
  return { ipv4: opt.ipv4 === true, ipv6: opt.ipv6 === true };
}

/**
 * RFC 1812 §5.3.7 / §4.2.2.11: a source a router never forwards from: 0.0.0.0/8 ("this
 * network"), 127.0.0.0/8 (loopback), 224.0.0.0/4 (multicast), 240.0.0.0/4 (class E,
 * including the limited broadcast 255.255.255.255).
 */
export function isMartianSource4(src: number): boolean {
  const top = src >>> 24;
  return top === 0 || top === 127 || top >= 224;
}

/**
 * A unicast destination a router never forwards to: 0.0.0.0/8, 127.0.0.0/8 and class E
 * 240.0.0.0/4 (RFC 1812 §5.3.7). Multicast and the limited broadcast are sorted out
 * before (they are not forwarded either: no multicast routing).
 */
export function isMartianDestination4(dst: number): boolean {
  const top = dst >>> 24;
  return top === 0 || top === 127 || top >= 240;
}

/**
 * Decrements the TTL of the IPv4 header at `buf[off]` (the caller checked it is > 1) and
 * updates the header checksum incrementally (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'),
 * m being the 16-bit TTL/protocol word), so the rest of the header is not summed again.
 */
export function decrementTtl4(buf: Uint8Array, off: number): void {
  const m = rd16(buf, off + 8);
  const m2 = m - 0x100;
  let s = (~rd16(buf, off + 10) & 0xffff) + (~m & 0xffff) + m2;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  buf[off + 8] = m2 >>> 8;
  wr16(buf, off + 10, ~s & 0xffff);
}

/** Whether the 16 bytes at `buf[off]` are a link-local unicast address (fe80::/10). */
export function isLinkLocal6At(buf: Uint8Array, off: number): boolean {
  return buf[off] === 0xfe && ((buf[off + 1] as number) & 0xc0) === 0x80;
}
