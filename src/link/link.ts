/**
 * The link contract, as the link layer names it: a `Link` is a stack `Device`
 * (src/stack/device.ts): poll-driven `receive(now)`, `transmit(now, frame)`,
 * `onReadable(wake)` and `close()`, and optionally its carrier (`linkState`: plugged or not;
 * none means always up). Middleware (fault injection, pcap capture) wraps a `Link`, is a `Link`
 * and passes the carrier through.
 */
import type { Device } from '../stack/device.ts';

export type { LinkCaps, LinkState, LinkStats } from '../stack/device.ts';

/** A link: a stack device (see src/stack/device.ts for the full contract). */
export type Link = Device;
