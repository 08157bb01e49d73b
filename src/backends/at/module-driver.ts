/**
 * The contract between an AT module driver (ESP-AT, Quectel, ...) and the generic module socket
 * backend (`module-backend.ts`). A driver knows the module's commands and link ids; the backend
 * knows the socket contract (`../contract.ts`): non-blocking calls, buffers, change callbacks,
 * bind bookkeeping, graceful close. So each driver writes only what its module does differently.
 *
 * Rules for drivers:
 * - Every promise rejects with a `SocketError` (map `AtError`s with `atSocketError`), never with
 *   anything else; a driver never throws synchronously.
 * - Events are delivered through the `ModuleEvents` given to `attach`, never re-entrantly from
 *   inside a driver call (call them from URC handlers or after an `await`).
 * - Payload bytes are delivered exactly once, in order, per link; `closed` for a link comes after
 *   its last `data`.
 * - A link id is reported by `closed` (or `lost`) at most once; after that the driver may reuse it.
 */
import type { SocketError } from '../../base/socket-error.ts';
import type { Af, BackendCaps, Endpoint, LookupResult } from '../contract.ts';

/** What kind of link a socket asks the module for. */
export type ModuleLinkKind = 'tcp' | 'udp' | 'ssl';

/** A request to open a link. */
export interface ModuleOpenRequest {
  /** TCP, UDP or SSL (the module's own TLS). */
  readonly kind: ModuleLinkKind;
  /** Address family (1 IPv4; the modules support no IPv6 here). */
  readonly af: Af;
  /** The remote end. UDP: the default destination (all-zero address: none, receive from anyone). */
  readonly remote: Endpoint;
  /** UDP: the local port the socket is bound to (0: the module picks one). */
  readonly localPort: number;
  /** TCP/SSL keep-alive period in seconds (0 = off). */
  readonly keepAliveS: number;
}

/** An opened link. */
export interface ModuleLink {
  /** The link id the module uses. */
  readonly id: number;
  /** The link's local port, when the module reports it. */
  readonly localPort?: number;
}

/** A datagram's source or a stream's peer. */
export interface ModuleReceived {
  /** The data. */
  readonly bytes: Uint8Array;
  /** UDP: where the datagram came from, when the module says. */
  readonly from?: Endpoint;
}

/** What a driver tells the backend. */
export interface ModuleEvents {
  /**
   * Bytes arrived on a link (pushed by the module: ESP `+IPD,<id>,<len>:`, Quectel push mode).
   * UDP: one call per datagram, with its source when known.
   */
  data(link: number, received: ModuleReceived): void;
  /**
   * Pull mode: data waits in the module for this link (ESP passive `+IPD,<id>,<len>`, Quectel
   * `+QIURC: "recv",<id>`); `available` is the byte count when the module says it, else -1.
   */
  readable(link: number, available: number): void;
  /**
   * The link is gone: closed by the peer or the network (`error` undefined for an orderly close,
   * e.g. ESP `<id>,CLOSED` after the peer's FIN; a `SocketError` such as `ECONNRESET` or
   * `ECONNABORTED` otherwise). In pull mode, a driver reports it only once the module has nothing
   * unread for the link (ESP withholds `CLOSED` itself; Quectel: once `AT+QIRD` says 0).
   */
  closed(link: number, error?: SocketError): void;
  /** A listening server accepted a connection on `link` from `remote`, on local `port`. */
  accepted(link: number, remote: Endpoint, port: number): void;
  /**
   * Every link is gone at once (module reboot, Wi-Fi or PDP loss): each open socket fails with
   * `error` (`ECONNABORTED` with a reason such as `module-reset`, `wifi-lost`, `pdp-deact`).
   */
  lost(error: SocketError): void;
}

/** The module operations the generic socket backend needs. */
export interface ModuleDriver {
  /** Backend name for errors and diagnostics (`'at:esp32'`, `'at:bg96'`). */
  readonly name: string;
  /** What the module can do (`maxSockets`: its link ids, `listen`: server mode, ...). */
  readonly caps: BackendCaps;
  /** Largest payload one `send` takes (ESP 2048 or 8192, Quectel 1460). */
  readonly maxSend: number;
  /**
   * True when received data must be pulled with `read` (ESP passive mode, Quectel buffer mode).
   * Links the module still pushes in that mode (NONOS UDP links) may deliver `data` events too.
   */
  readonly pull: boolean;
  /** Registers the backend's event sink; called once, before anything else. */
  attach(events: ModuleEvents): void;
  /**
   * Opens a link and resolves its id (and the local port, when the module tells it: ESP
   * `+LINK_CONN`, `AT+CIPSTATE?`, Quectel `AT+QISTATE`) once connected (TCP/SSL) or created
   * (UDP). Rejects with
   * `ECONNREFUSED`, `ETIMEDOUT`, `EHOSTNOTFOUND`, `ENOMEM` (no free link), `ECONNABORTED`
   * (no network), `ERROR`. `signal` aborts the wait (the driver then closes the link if the
   * module opened it anyway).
   */
  open(request: ModuleOpenRequest, signal?: AbortSignal): Promise<ModuleLink>;
  /**
   * Sends up to `maxSend` bytes on a link (UDP: one datagram, always with its destination `to`:
   * the backend keeps the default destination and the receive filter itself) and resolves the count the module accepted (may be less than given; 0 = retry
   * later, e.g. Quectel `SEND FAIL` = buffer full). Rejects when the link is broken; the backend
   * then treats the stream as broken (reference §6 item 7).
   */
  send(link: number, bytes: Uint8Array, to?: Endpoint): Promise<number>;
  /**
   * Pull mode: reads at most `max` bytes (UDP: one datagram) from the module. Resolves an empty
   * `bytes` when nothing is buffered. Never returns more than `max`.
   */
  read(link: number, max: number): Promise<ModuleReceived>;
  /** Closes a link (`AT+CIPCLOSE`, `AT+QICLOSE`); resolves once the id is free again. Never rejects. */
  closeLink(link: number): Promise<void>;
  /** Starts a TCP server on `port` (ESP `AT+CIPSERVER=1,<port>`). Rejects `EADDRINUSE`, `ENOTSUP`, `ERROR`. */
  listen(port: number, backlog: number): Promise<void>;
  /** Stops the server on `port`; links already accepted stay open. Never rejects. */
  unlisten(port: number): Promise<void>;
  /** Resolves a host name on the module (`AT+CIPDOMAIN`, `AT+QIDNSGIP`). */
  lookup(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult>;
  /** The module's own address of family `af` (station IP, PDP address), when it has one. */
  localAddress(af: Af): Uint8Array | undefined;
  /** Releases the driver (engine, timers); pending operations reject with `ECONNABORTED`. */
  dispose?(): Promise<void>;
}
