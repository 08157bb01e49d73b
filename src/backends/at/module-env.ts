/**
 * What the module backend's sockets share: the driver, the clock, the port tables, the link
 * routing table and the limits. One per `ModuleBackend` (no module-level state).
 */
import { iotCodeValue, IOT_SOCKET_ERROR } from '../../base/iot-constants.ts';
import type { Rng } from '../../base/rand.ts';
import { isSocketError, type SocketError } from '../../base/socket-error.ts';
import type { Scheduler } from '../../base/time.ts';
import type { CoreSocket } from '../contract.ts';
import type { PortTable } from '../port-table.ts';
import type { ModuleDriver, ModuleReceived } from './module-driver.ts';

/** A socket that owns a module link and hears its events. */
export interface LinkOwner {
  data(received: ModuleReceived): void;
  readable(available: number): void;
  /** The link is gone (`code` 0 for an orderly close, else a negative IoT code, with the driver's error). */
  gone(code: number, error?: SocketError): void;
}

/** Counters of a module backend (for tests and diagnostics). */
export interface ModuleBackendStats {
  /** Links opened (connects, UDP binds, accepted connections). */
  linksOpened: number;
  /** Links closed by us or reported gone. */
  linksClosed: number;
  /** Received datagrams dropped because the socket's queue was full. */
  datagramsDropped: number;
  /** Stream bytes that arrived while the receive buffer was full (push mode): the stream was aborted. */
  rxOverflows: number;
  /** Sends the module accepted none of (`SEND FAIL`, buffer full) and were retried. */
  sendRetries: number;
  /** Links reported by the module that no socket owned (closed at once). */
  strayLinks: number;
  /** `lost` events (module reset, network loss). */
  losses: number;
}

export interface ModuleEnv {
  readonly driver: ModuleDriver;
  readonly scheduler: Scheduler;
  readonly rng: Rng;
  readonly tcpPorts: PortTable;
  readonly udpPorts: PortTable;
  /** Stream receive buffer per socket (bytes). */
  readonly rxBufferBytes: number;
  /** Stream send buffer per socket (bytes). */
  readonly txBufferBytes: number;
  /** Datagrams queued per UDP socket, each way. */
  readonly datagramQueue: number;
  /** Connection-establishment deadline (ms). */
  readonly connectTimeoutMs: number;
  /** Pause before re-sending after the module accepted nothing (ms). */
  readonly sendRetryMs: number;
  /** Pull mode: an idle open link is read this often in case a data notice was lost (ms; 0 = never). */
  readonly pullPollMs: number;
  /** How long a graceful close may wait for queued data to reach the module (ms). */
  readonly closeFlushMs: number;
  readonly stats: ModuleBackendStats;
  /** Routes a link's events to its owner. */
  own(link: number, owner: LinkOwner): void;
  /** Closes a link on the module and forgets it. */
  closeLink(link: number): void;
  /** A socket adopted by the backend (accepted) or released (closed). */
  adopt(socket: CoreSocket): void;
  released(socket: CoreSocket): void;
}

/** The driver's error, when it is a `SocketError` (drivers reject with nothing else). */
export function failureError(error: unknown): SocketError | undefined {
  return isSocketError(error) ? error : undefined;
}

/** The IoT code of a driver failure (a `SocketError`, else `ERROR`). */
export function failureCode(error: unknown): number {
  return isSocketError(error) ? iotCodeValue(error.code) : IOT_SOCKET_ERROR;
}
