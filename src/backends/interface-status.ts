/**
 * The connection status model every network interface reports (after Mbed's
 * `nsapi_connection_status`, reference `network-layers.md` §4): `disconnected` at first and after
 * `disconnect()`; `connecting` while the connection is being made or re-made (it goes back there
 * when the link is lost and the interface reconnects on its own); `local-up` when only a local
 * address (IPv6 link-local) is configured; `global-up` once a global address is.
 */
import type { SocketError } from '../base/socket-error.ts';

/**
 * The status of a network interface: `disconnected`, `connecting` (also while reconnecting), `local-up` (only a
 * local address, IPv6 link-local), `global-up` (a global address configured).
 */
export type InterfaceStatus = 'disconnected' | 'connecting' | 'local-up' | 'global-up';

/** A status change and why it happened. */
export interface InterfaceStatusEvent {
  /** The status now. */
  readonly status: InterfaceStatus;
  /** A short machine-readable cause: `dialling`, `ipcp-up`, `no-carrier`, `link-dead`, `registration-lost`, `disconnect`, … */
  readonly reason: string;
  /** The failure behind it, when there was one. */
  readonly error?: SocketError | undefined;
}
