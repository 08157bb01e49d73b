/**
 * The network interface contract every connectivity method implements (Ethernet, WiFi, cellular,
 * PPP, mesh), after Mbed's `NetworkInterface` (reference `network-layers.md` §4), and the base class
 * that keeps the rules in one place.
 *
 * An interface owns a way onto a network and a `SocketBackend` carrying sockets over it
 * (`backend`): sockets created there are bound to this interface, and its DNS resolver uses this
 * interface's DNS servers. Several interfaces may be up at once (multihoming); the policy `Mux`
 * (src/backends/mux/) chooses between them.
 *
 * Status (`InterfaceStatus`): `disconnected` at first; `connect()` → `connecting` → (`local-up`) →
 * `global-up`; a lost link while up → `connecting` (the interface reconnects on its own until
 * `disconnect()`); `disconnect()` → `disconnected`. Every change is an event with a reason; link
 * up/down reported by the driver is a separate event.
 *
 * Rules (one place, `InterfaceBase`):
 * - `connect()` resolves at `global-up` (or `local-up` when the interface has only a local address
 *   to offer), rejects with the failure; `EISCONN` when already up; `EALREADY` while a connect is
 *   running; `EAGAIN` (busy) while a disconnect is running. An aborted `signal` cancels it
 *   (`ECONNABORTED`, the interface back to `disconnected`).
 * - `disconnect()` resolves at `disconnected`; `ENOTCONN` when already disconnected; `EAGAIN`
 *   (busy) while another disconnect runs; during a connect it cancels that connect (which rejects
 *   with `ECONNABORTED`) and disconnects.
 * - Credentials and settings given to `connect()` or setters are copied at call time.
 */
import { Listeners, type Unsubscribe } from '../../base/listeners.ts';
import { SocketError } from '../../base/socket-error.ts';
import type { SocketBackend } from '../contract.ts';
import type { InterfaceStatus, InterfaceStatusEvent } from '../interface-status.ts';

export type { InterfaceStatus, InterfaceStatusEvent } from '../interface-status.ts';

/** What kind of connectivity an interface is. */
export type InterfaceKind = 'ethernet' | 'wifi' | 'cellular' | 'ppp' | 'mesh';

/** Addresses and servers an interface has now (text forms; empty while down). */
export interface InterfaceAddresses {
  /** IPv4 address (text), while it has one. */
  readonly ipv4: string | undefined;
  /** Prefix length of `ipv4`. */
  readonly prefixLen: number | undefined;
  /** Default gateway (text), if any. */
  readonly gateway: string | undefined;
  /** IPv6 addresses (link-local included). */
  readonly ipv6: readonly string[];
  /** DNS servers (text). */
  readonly dnsServers: readonly string[];
}

/** The addresses of an interface that is down: none. */
export const NO_ADDRESSES: InterfaceAddresses = Object.freeze({ ipv4: undefined, prefixLen: undefined, gateway: undefined, ipv6: [], dnsServers: [] });

/** A link state change reported by the driver (cable, AP association, registration, carrier). */
export interface LinkEvent {
  /** Whether the link is up now. */
  readonly up: boolean;
  /** Why it changed (`carrier-up`, `carrier-lost`, `registered`, `registration-lost`, ...). */
  readonly reason: string;
}

/** Events of a network interface, by name. */
export interface NetworkInterfaceEventMap {
  /** A status change (see `InterfaceStatusEvent`). */
  status: InterfaceStatusEvent;
  /** A link state change reported by the driver. */
  link: LinkEvent;
}

/** Options of `NetworkInterface.connect`: an `AbortSignal` that cancels the connect (`ECONNABORTED`). */
export interface ConnectOptions {
  /** Cancels the connect: it rejects with `ECONNABORTED` and the interface goes back to `disconnected`. */
  readonly signal?: AbortSignal | undefined;
}

/** The contract of every interface. */
export interface NetworkInterface {
  /** `eth0`, `wlan0`, `cell0`, `ppp0`, … */
  readonly name: string;
  /** What kind of connectivity it is. */
  readonly kind: InterfaceKind;
  /** The status now (see `InterfaceStatus`). */
  readonly status: InterfaceStatus;
  /** The driver's link state (cable plugged, AP associated, registered, carrier). */
  readonly linkUp: boolean;
  /** Addresses and DNS servers now (`NO_ADDRESSES` while down). */
  readonly addresses: InterfaceAddresses;
  /** MAC-48 (`aa:bb:…`) where the medium has one. */
  readonly mac?: string | undefined;
  /** IMEI of a cellular module. */
  readonly imei?: string | undefined;
  /** Sockets over this interface. */
  readonly backend: SocketBackend;
  /**
   * Brings the interface up: resolves at `global-up` (or `local-up`); rejects with a `SocketError`: `EISCONN` when
   * up, `EALREADY` while connecting, `EAGAIN` while disconnecting, `ECONNABORTED` when `signal` aborts or
   * `disconnect()` cancels it.
   */
  connect(options?: ConnectOptions): Promise<void>;
  /**
   * Brings the interface down: resolves at `disconnected`; `ENOTCONN` when already disconnected, `EAGAIN` while
   * another disconnect runs; cancels a running connect.
   */
  disconnect(): Promise<void>;
  /** Subscribes to `status` or `link` events; returns the function that unsubscribes. */
  on<K extends keyof NetworkInterfaceEventMap>(event: K, cb: (value: NetworkInterfaceEventMap[K]) => void): Unsubscribe;
  /** Releases everything (the interface is unusable afterwards). */
  close(): Promise<void>;
}

type EventListeners = { [K in keyof NetworkInterfaceEventMap]: Listeners<[NetworkInterfaceEventMap[K]]> };

/**
 * The rules and events of the contract, once. A subclass implements `start` (bring the interface
 * up; resolve at `global-up`/`local-up` after calling `setStatus` on the way; honour `signal`) and
 * `stop` (bring it down), and reports status and link changes with `setStatus` / `setLink`.
 */
export abstract class InterfaceBase implements NetworkInterface {
  abstract readonly name: string;
  /** What kind of connectivity it is. */
  abstract readonly kind: InterfaceKind;
  abstract readonly backend: SocketBackend;
  private statusValue: InterfaceStatus = 'disconnected';
  private linkValue = false;
  private readonly listeners: EventListeners = { status: new Listeners(), link: new Listeners() };
  private connecting: { promise: Promise<void>; abort: AbortController } | undefined;
  private disconnecting: Promise<void> | undefined;
  /** `connect()` succeeded and no `disconnect()` came since: the subclass keeps reconnecting. */
  protected wanted = false;

  /** The current status (`disconnected` at first). */
  get status(): InterfaceStatus {
    return this.statusValue;
  }

  get linkUp(): boolean {
    return this.linkValue;
  }

  /** Addresses and DNS servers now (`NO_ADDRESSES` while down). */
  abstract get addresses(): InterfaceAddresses;

  /** Subscribes to `status` or `link` events; returns the function that unsubscribes. */
  on<K extends keyof NetworkInterfaceEventMap>(event: K, cb: (value: NetworkInterfaceEventMap[K]) => void): Unsubscribe {
    return (this.listeners[event] as Listeners<[NetworkInterfaceEventMap[K]]>).add(cb);
  }

  /** See `NetworkInterface.connect`: the rules, once (the subclass's `start` does the work). */
  connect(options: ConnectOptions = {}): Promise<void> {
    const op = { op: 'connect', backend: this.name };
    if (this.disconnecting !== undefined) return Promise.reject(new SocketError('EAGAIN', { ...op, reason: 'busy-disconnecting' }));
    if (this.connecting !== undefined) return Promise.reject(new SocketError('EALREADY', { ...op, reason: 'connecting' }));
    if (this.wanted && (this.statusValue === 'global-up' || this.statusValue === 'local-up')) {
      return Promise.reject(new SocketError('EISCONN', { ...op, reason: 'already-connected' }));
    }
    const abort = new AbortController();
    const user = options.signal;
    const onUserAbort = (): void => abort.abort(user?.reason);
    if (user !== undefined) {
      if (user.aborted) return Promise.reject(new SocketError('ECONNABORTED', { ...op, reason: 'aborted' }, { cause: user.reason }));
      user.addEventListener('abort', onUserAbort, { once: true });
    }
    this.wanted = true;
    const promise = (async () => {
      try {
        await this.start(abort.signal);
        if (abort.signal.aborted) throw abort.signal.reason;
      } catch (e) {
        const err = abort.signal.aborted
          ? new SocketError('ECONNABORTED', { ...op, reason: 'aborted' }, { cause: abort.signal.reason })
          : e instanceof SocketError ? e : new SocketError('ERROR', { ...op, reason: 'connect-failed' }, { cause: e });
        this.wanted = false;
        if (this.disconnecting === undefined) {
          await this.stop().catch(() => undefined);
          this.setStatus('disconnected', err.detail.reason ?? 'connect-failed', err);
        }
        throw err;
      } finally {
        user?.removeEventListener('abort', onUserAbort);
        this.connecting = undefined;
      }
    })();
    this.connecting = { promise, abort };
    promise.catch(() => undefined);
    return promise;
  }

  /** See `NetworkInterface.disconnect`: the rules, once (the subclass's `stop` does the work). */
  disconnect(): Promise<void> {
    const op = { op: 'disconnect', backend: this.name };
    if (this.disconnecting !== undefined) return Promise.reject(new SocketError('EAGAIN', { ...op, reason: 'busy-disconnecting' }));
    if (!this.wanted && this.connecting === undefined && this.statusValue === 'disconnected') {
      return Promise.reject(new SocketError('ENOTCONN', { ...op, reason: 'not-connected' }));
    }
    this.wanted = false;
    const running = this.connecting;
    const p = (async () => {
      try {
        if (running !== undefined) {
          running.abort.abort(new SocketError('ECONNABORTED', { op: 'connect', backend: this.name, reason: 'disconnect' }));
          await running.promise.catch(() => undefined);
        }
        await this.stop();
      } finally {
        this.disconnecting = undefined;
        this.setStatus('disconnected', 'disconnect');
      }
    })();
    this.disconnecting = p;
    return p;
  }

  async close(): Promise<void> {
    if (this.wanted || this.connecting !== undefined) await this.disconnect().catch(() => undefined);
    await this.dispose();
    this.listeners.status.clear();
    this.listeners.link.clear();
  }

  /** Brings the interface up; resolves once `global-up` (or `local-up`) was reported. */
  protected abstract start(signal: AbortSignal): Promise<void>;
  /** Brings it down (hang up, leave the AP, release the lease). */
  protected abstract stop(): Promise<void>;
  /** Frees resources at `close()` (after `stop`). */
  protected async dispose(): Promise<void> {}

  /** Reports a status change (duplicates are dropped). */
  protected setStatus(status: InterfaceStatus, reason: string, error?: SocketError): void {
    if (status === this.statusValue) return;
    this.statusValue = status;
    this.emit('status', { status, reason, ...(error !== undefined ? { error } : {}) });
  }

  /** Reports a link change from the driver (duplicates are dropped). */
  protected setLink(up: boolean, reason: string): void {
    if (up === this.linkValue) return;
    this.linkValue = up;
    this.emit('link', { up, reason });
  }

  private emit<K extends keyof NetworkInterfaceEventMap>(event: K, value: NetworkInterfaceEventMap[K]): void {
    try {
      (this.listeners[event] as Listeners<[NetworkInterfaceEventMap[K]]>).emit(value);
    } catch {
      // A listener threw: the interface goes on.
    }
  }
}
