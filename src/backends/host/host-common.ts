/**
 * Shared pieces of the host backend: the environment a socket gets from its backend,
 * diagnostics, Node error-code mapping and address conversion at the Node boundary.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import os from 'node:os';
import type { Af, CoreSocket, Endpoint } from '../contract.ts';
import type { Rng } from '../../base/rand.ts';
import type { Scheduler } from '../../base/time.ts';
import { ipEquals, isIpv4Mapped, isLoopback, isUnspecified, parseIPv4, parseIPv6 } from '../../base/ip-address.ts';
import type { PortTable } from '../port-table.ts';

/** What every host socket gets from the backend that created it. */
export interface HostEnv {
  readonly name: string;
  readonly scheduler: Scheduler;
  readonly rng: Rng;
  readonly connectTimeoutMs: number;
  readonly lingerMs: number;
  readonly recvBufferBytes: number;
  readonly sendBufferBytes: number;
  readonly udpQueueDatagrams: number;
  readonly tcpPorts: PortTable;
  readonly udpPorts: PortTable;
  /** Registers a socket created by the backend itself (an accepted connection); false when `maxSockets` is reached. */
  adopt(socket: CoreSocket): boolean;
  /** A socket was closed: forget it and free its slot. */
  released(socket: CoreSocket): void;
  /** Follows a Node handle until its 'close' event, so that the backend's close() can end it and wait. */
  track(handle: TrackedHandle): void;
}

/** The Node handles the backend follows (`net.Socket`, `net.Server`, `dgram.Socket`). */
export interface TrackedHandle {
  once(event: 'close', listener: () => void): unknown;
}

/** Diagnostic event published on the `iotnet:host:*` channels. */
export interface HostDiagnostic {
  /** The backend's name (`host`). */
  readonly backend: string;
  /** `'tcp'`, `'udp'`, `'listener'` or `'lookup'`. */
  readonly kind: string;
  /** What happened: `'connect-failed'`, `'reset'`, `'drop'`, ... */
  readonly event: string;
  /** The local endpoint (`address:port`), when known. */
  readonly local?: string;
  /** The remote endpoint (`address:port`), when known. */
  readonly remote?: string;
  /** The Node error, when there is one. */
  readonly error?: unknown;
  readonly [key: string]: unknown;
}

/**
 * Channels (subscribe with `diagnostics_channel.subscribe(name, fn)`):
 * - `iotnet:host:error`: a Node error on a socket, listener or lookup (with the cause);
 * - `iotnet:host:drop`: a datagram dropped (receive queue full, filtered, send failed);
 * - `iotnet:host:connect`: a connection attempt finished (`event` = outcome).
 */
export const HOST_CHANNELS = {
  /** `iotnet:host:error`: a Node error on a socket, listener or lookup (with the cause). */
  error: diagnosticsChannel.channel('iotnet:host:error'),
  /** `iotnet:host:drop`: a datagram or connection dropped (queue full, filtered, send failed, backlog full). */
  drop: diagnosticsChannel.channel('iotnet:host:drop'),
  /** `iotnet:host:connect`: a connection attempt finished (`event` = outcome). */
  connect: diagnosticsChannel.channel('iotnet:host:connect'),
} as const;

/** Publishes `message` on a host channel, only if somebody listens. */
export function publish(channel: keyof typeof HOST_CHANNELS, message: HostDiagnostic): void {
  const ch = HOST_CHANNELS[channel];
  if (ch.hasSubscribers) ch.publish(message);
}

/** Calls a change callback; a throwing callback is reported, never propagated into Node's event handlers. */
export function callSafely(backend: string, callback: (() => void) | undefined): void {
  if (callback === undefined) return;
  try {
    callback();
  } catch (error) {
    publish('error', { backend, kind: 'callback', event: 'callback-threw', error });
  }
}

/** The `code` of a Node `SystemError` (`'ECONNREFUSED'`), or undefined. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** An `Error` with a Node-style `code`, for failures the backend detects itself (deadlines). */
export function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/**
 * Address bytes of a Node address string for a socket of family `af`: a zone id
 * (`fe80::1%eth0`) is dropped; an IPv4-mapped IPv6 text on an IPv4 socket becomes 4 bytes.
 */
export function addressBytes(text: string | undefined, af: Af): Uint8Array | undefined {
  if (text === undefined) return undefined;
  const zone = text.indexOf('%');
  const bare = zone >= 0 ? text.slice(0, zone) : text;
  if (af === 1) {
    if (bare.includes(':')) {
      const v6 = parseIPv6(bare);
      if (v6 === undefined || !isIpv4Mapped(v6)) return undefined;
      return v6.slice(12);
    }
    return parseIPv4(bare);
  }
  return parseIPv6(bare);
}

/** An endpoint from Node's address text and port, or undefined if either is missing. */
export function endpointOf(text: string | undefined, port: number | undefined, af: Af): Endpoint | undefined {
  const address = addressBytes(text, af);
  if (address === undefined || port === undefined) return undefined;
  return { address, port };
}

/** A copy of an endpoint (the socket keeps its own; callers may mutate theirs). */
export function copyEndpoint(e: Endpoint | undefined): Endpoint | undefined {
  return e === undefined ? undefined : { address: Uint8Array.from(e.address), port: e.port };
}

/**
 * True if `address` may be bound: the wildcard, loopback (all of 127/8 on IPv4, as
 * Linux routes it locally) or an address of one of this host's interfaces.
 */
export function isLocalAddress(af: Af, address: Uint8Array): boolean {
  if (isUnspecified(address) || isLoopback(address)) return true;
  let interfaces: ReturnType<typeof os.networkInterfaces>;
  try {
    interfaces = os.networkInterfaces();
  } catch {
    return false;
  }
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) {
      const bytes = addressBytes(info.address, af);
      if (bytes !== undefined && ipEquals(bytes, address)) return true;
    }
  }
  return false;
}
