/**
 * A scriptable, network-free backend for deterministic tests of the layers above the
 * contract (`src/backends/contract.ts`). Every `CoreSocket` answers from local state
 * that the test drives: received bytes and datagrams, peer FIN / RST, local abort,
 * the outcome (and timing) of a connect attempt, room in the send buffer, pending
 * incoming connections, and a `close()` that may stay pending (AT-command style).
 * Each script step fires the socket's change callback, as a real backend would.
 *
 * Timed steps (a connect outcome after N ms) use the injected `Scheduler`, so tests
 * run on a `VirtualScheduler` without real sleeps.
 */
import {
  type Accepted, type Af, type BackendCaps, CORE_EOF, type CoreSocket, type Endpoint, type LookupResult, type RecvInfo,
  type SockType, type SocketBackend,
} from '../../src/backends/contract.ts';
import {
  IOT_SOCKET_EADDRINUSE, IOT_SOCKET_EAGAIN, IOT_SOCKET_EALREADY, IOT_SOCKET_ECONNABORTED, IOT_SOCKET_ECONNRESET,
  IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_EINPROGRESS, IOT_SOCKET_EINVAL, IOT_SOCKET_EISCONN, IOT_SOCKET_ENOTCONN,
  IOT_SOCKET_ERROR,
} from '../../src/base/iot-constants.ts';
import type { CancelTimer, Scheduler } from '../../src/base/time.ts';

/** First implicit (ephemeral) port handed out; each implicit bind takes the next one. */
export const SCRIPTED_EPHEMERAL_BASE = 49152;

/** How the next stream `connect()` answers. */
export type ConnectPlan =
  /** EINPROGRESS; the test settles the attempt with `completeConnect()`. */
  | { readonly kind: 'pending' }
  /** EINPROGRESS; the attempt settles with `result` after `afterMs` on the scheduler. */
  | { readonly kind: 'after'; readonly afterMs: number; readonly result: number }
  /** Settles at once: `0` connected, or a failure code returned by `connect()` itself. */
  | { readonly kind: 'immediate'; readonly result: number };

export interface ScriptedBackendOptions {
  readonly scheduler?: Scheduler;
  readonly caps?: Partial<BackendCaps>;
}

/** A sent datagram, as the backend saw it. */
export interface SentDatagram {
  readonly data: Uint8Array;
  readonly to: Endpoint;
}

/** A received datagram waiting in a socket's queue. */
interface QueuedDatagram {
  readonly data: Uint8Array;
  readonly from: Endpoint;
}

const anyAddress = (af: Af): Uint8Array => new Uint8Array(af === 1 ? 4 : 16);
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
const copyEp = (ep: Endpoint): Endpoint => ({ address: Uint8Array.from(ep.address), port: ep.port });

/** The backend: creates `ScriptedSocket`s and remembers them in creation order. */
export class ScriptedBackend implements SocketBackend {
  readonly name = 'scripted';
  readonly caps: BackendCaps;
  readonly scheduler: Scheduler | undefined;
  /** Every socket created (accepted children included), in creation order. */
  readonly sockets: ScriptedSocket[] = [];
  /** Ports in use, keyed `type/af/port`. */
  readonly ports = new Set<string>();
  /** What the next `createSocket` returns instead of a socket (ENOTSUP, ENOMEM), once. */
  nextCreateError: number | undefined;
  /** Plan for the next stream connect of any socket that has no plan of its own. */
  defaultConnectPlan: ConnectPlan = { kind: 'pending' };
  /** Lookup answers by name (default EHOSTNOTFOUND); calls are recorded in `lookups`. */
  readonly names = new Map<string, LookupResult>();
  readonly lookups: { name: string; af: Af }[] = [];
  private nextEphemeral = SCRIPTED_EPHEMERAL_BASE;

  constructor(options: ScriptedBackendOptions = {}) {
    this.scheduler = options.scheduler;
    this.caps = {
      ipv4: true, ipv6: true, tcp: true, udp: true, listen: true,
      maxSockets: 16, maxDatagram: 1472, connectTimeoutMs: 15_000,
      ...options.caps,
    };
  }

  createSocket(af: Af, type: SockType): CoreSocket | number {
    if (this.nextCreateError !== undefined) {
      const e = this.nextCreateError;
      this.nextCreateError = undefined;
      return e;
    }
    return this.adopt(new ScriptedSocket(this, af, type));
  }

  async lookup(name: string, af: Af): Promise<LookupResult> {
    this.lookups.push({ name, af });
    return this.names.get(name) ?? IOT_SOCKET_EHOSTNOTFOUND;
  }

  /** The most recently created socket (convenience for tests). */
  get last(): ScriptedSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (s === undefined) throw new Error('no socket created yet');
    return s;
  }

  /** @internal */
  adopt(s: ScriptedSocket): ScriptedSocket {
    this.sockets.push(s);
    return s;
  }

  /** @internal */
  ephemeralPort(): number {
    return this.nextEphemeral++;
  }
}

type CoreState = 'created' | 'bound' | 'listening' | 'connecting' | 'connected' | 'closed';

/** A `CoreSocket` whose readiness the test controls. */
export class ScriptedSocket implements CoreSocket {
  readonly af: Af;
  readonly type: SockType;
  private readonly backend: ScriptedBackend;
  private callback: (() => void) | undefined;

  state: CoreState = 'created';
  local: Endpoint | undefined;
  remote: Endpoint | undefined;
  /** `connectResult()`: EINPROGRESS while pending, 0 once connected, else the failure. */
  outcome = IOT_SOCKET_ENOTCONN;
  /** Plan for the next stream `connect()` (else the backend's default). */
  connectPlan: ConnectPlan | undefined;
  /** Every connect() call: destination given. */
  readonly connectCalls: Endpoint[] = [];

  // Receive side.
  private readonly rx: Uint8Array[] = [];
  private readonly datagrams: QueuedDatagram[] = [];
  /** Set by `setPeerFin()`: the peer's FIN arrived (`peerClosed()`; sending goes on). */
  peerFin = false;
  /** Set by `setPeerReset()`: the peer's RST arrived (`peerClosed()`; send is ECONNRESET). */
  peerReset = false;
  aborted = false;
  /** `shutdown()` was called: sending is over (ENOTCONN). */
  localShut = false;

  // Send side.
  /** Bytes the send buffer can still take (stream: partial; datagram: whole or nothing). */
  sendRoom = Number.POSITIVE_INFINITY;
  /** Stream bytes queued by `send`, chunk by chunk. */
  readonly sentChunks: Uint8Array[] = [];
  readonly sentDatagrams: SentDatagram[] = [];

  // Listener.
  backlog = 0;
  private readonly incomingQueue: Accepted[] = [];
  listenerFailed = false;

  // Options and close.
  keepAlive = false;
  /** What `setKeepAlive` returns (e.g. ENOTSUP for a backend that cannot). */
  keepAliveResult = 0;
  /** `close()` calls with their `abort` flag. */
  readonly closeCalls: boolean[] = [];
  /** When set, `close()` returns a promise the test settles with `finishClose()`. */
  deferClose = false;
  /** What a synchronous `close()` returns. */
  closeResult = 0;
  private finishCloseFn: ((code: number) => void) | undefined;
  private connectTimer: CancelTimer | undefined;

  constructor(backend: ScriptedBackend, af: Af, type: SockType) {
    this.backend = backend;
    this.af = af;
    this.type = type;
  }

  // ------------------------------------------------------------ test controls

  /** True while the layer listens for changes (it unsubscribes when it releases the id). */
  get subscribed(): boolean {
    return this.callback !== undefined;
  }

  /** Fires the change callback (spurious or after a script step). */
  fireChange(): void {
    this.callback?.();
  }

  /** Stream: bytes arrive from the peer. */
  pushData(bytes: Uint8Array | string): void {
    this.rx.push(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : Uint8Array.from(bytes));
    this.fireChange();
  }

  /** Datagram: one datagram arrives from `from`. */
  pushDatagram(bytes: Uint8Array | string, from: Endpoint): void {
    const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : Uint8Array.from(bytes);
    this.datagrams.push({ data, from: copyEp(from) });
    this.fireChange();
  }

  /** Stream: the peer closed in an orderly way (FIN). */
  setPeerFin(): void {
    this.peerFin = true;
    this.fireChange();
  }

  /** Stream: the peer reset the connection (RST). */
  setPeerReset(): void {
    this.peerReset = true;
    this.fireChange();
  }

  /** Stream: the connection was lost locally (RTO, keepalive, link down). */
  setAborted(): void {
    this.aborted = true;
    this.fireChange();
  }

  /** Stream: settles the pending connect attempt with `result` (0 = established). */
  completeConnect(result = 0): void {
    if (this.state !== 'connecting') throw new Error(`completeConnect in state ${this.state}`);
    this.connectTimer?.();
    this.connectTimer = undefined;
    this.outcome = result;
    this.state = result === 0 ? 'connected' : 'bound';
    this.fireChange();
  }

  /** Sets the send room; more room fires the change callback. */
  setSendRoom(bytes: number): void {
    const more = bytes > this.sendRoom || (bytes > 0 && this.sendRoom <= 0);
    this.sendRoom = bytes;
    if (more) this.fireChange();
  }

  /** Listener: a connection from `remote` is ready to be accepted. Returns the child socket. */
  incoming(remote: Endpoint): ScriptedSocket {
    if (this.state !== 'listening') throw new Error(`incoming in state ${this.state}`);
    const child = this.backend.adopt(new ScriptedSocket(this.backend, this.af, this.type));
    child.state = 'connected';
    child.outcome = 0;
    child.remote = copyEp(remote);
    child.local = { address: Uint8Array.from(this.local?.address ?? anyAddress(this.af)), port: this.local?.port ?? 0 };
    this.incomingQueue.push({ socket: child, remote: copyEp(remote) });
    this.fireChange();
    return child;
  }

  /** Settles a deferred `close()`. */
  finishClose(code = 0): void {
    const f = this.finishCloseFn;
    if (f === undefined) throw new Error('no deferred close pending');
    this.finishCloseFn = undefined;
    f(code);
  }

  /** True while a deferred `close()` is pending. */
  get closePending(): boolean {
    return this.finishCloseFn !== undefined;
  }

  /** Bytes the stream queued so far, concatenated. */
  sentBytes(): Uint8Array {
    const n = this.sentChunks.reduce((a, c) => a + c.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.sentChunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  // ------------------------------------------------------------ CoreSocket

  onChange(callback: (() => void) | undefined): void {
    this.callback = callback;
  }

  bind(address: Uint8Array, port: number): number {
    if (this.state === 'closed') return IOT_SOCKET_ERROR;
    if (this.local !== undefined) return IOT_SOCKET_EINVAL;
    const key = `${this.type}/${this.af}/${port}`;
    if (this.backend.ports.has(key)) return IOT_SOCKET_EADDRINUSE;
    this.backend.ports.add(key);
    this.local = { address: Uint8Array.from(address), port };
    if (this.state === 'created') this.state = 'bound';
    return 0;
  }

  listen(backlog: number): number {
    if (this.state !== 'bound') return IOT_SOCKET_EINVAL;
    this.backlog = backlog;
    this.state = 'listening';
    return 0;
  }

  accept(): Accepted | number {
    if (this.state !== 'listening') return IOT_SOCKET_EINVAL;
    const next = this.incomingQueue.shift();
    if (next !== undefined) return next;
    return this.listenerFailed ? IOT_SOCKET_ECONNABORTED : IOT_SOCKET_EAGAIN;
  }

  connect(address: Uint8Array, port: number): number {
    this.connectCalls.push({ address: Uint8Array.from(address), port });
    if (this.state === 'closed') return IOT_SOCKET_ERROR;
    if (this.type === 2) {
      if (isZero(address)) {
        this.remote = undefined; // clears destination and filter
        return 0;
      }
      this.implicitBind();
      this.remote = { address: Uint8Array.from(address), port };
      return 0;
    }
    if (this.state === 'listening') return IOT_SOCKET_EINVAL;
    if (this.state === 'connecting') return IOT_SOCKET_EALREADY;
    if (this.state === 'connected') return IOT_SOCKET_EISCONN;
    this.implicitBind();
    this.remote = { address: Uint8Array.from(address), port };
    const plan = this.connectPlan ?? this.backend.defaultConnectPlan;
    this.connectPlan = undefined;
    if (plan.kind === 'immediate') {
      this.outcome = plan.result;
      this.state = plan.result === 0 ? 'connected' : 'bound';
      return plan.result;
    }
    this.state = 'connecting';
    this.outcome = IOT_SOCKET_EINPROGRESS;
    if (plan.kind === 'after') {
      const scheduler = this.backend.scheduler;
      if (scheduler === undefined) throw new Error("connect plan 'after' needs a scheduler");
      this.connectTimer = scheduler.setTimer(plan.afterMs, () => {
        this.connectTimer = undefined;
        this.completeConnect(plan.result);
      });
    }
    return IOT_SOCKET_EINPROGRESS;
  }

  connectResult(): number {
    return this.outcome;
  }

  recv(buf: Uint8Array, len: number, from?: RecvInfo): number {
    if (this.state === 'closed') return IOT_SOCKET_ERROR;
    if (this.type === 2) {
      const d = this.datagrams[0];
      if (d === undefined) return IOT_SOCKET_EAGAIN;
      if (len === 0) return 0;
      this.datagrams.shift();
      const n = Math.min(len, d.data.length); // the rest of the datagram is discarded
      buf.set(d.data.subarray(0, n), 0);
      if (from !== undefined) {
        from.address = Uint8Array.from(d.from.address);
        from.port = d.from.port;
      }
      return n;
    }
    if (this.state === 'connecting') return IOT_SOCKET_EAGAIN;
    if (this.state !== 'connected') return IOT_SOCKET_ENOTCONN;
    if (this.peerReset) return IOT_SOCKET_ECONNRESET;
    if (this.rx.length > 0) {
      if (len === 0) return 0;
      let n = 0;
      while (n < len && this.rx.length > 0) {
        const head = this.rx[0] as Uint8Array;
        const take = Math.min(len - n, head.length);
        buf.set(head.subarray(0, take), n);
        n += take;
        if (take === head.length) this.rx.shift();
        else this.rx[0] = head.subarray(take);
      }
      if (from !== undefined && this.remote !== undefined) {
        from.address = Uint8Array.from(this.remote.address);
        from.port = this.remote.port;
      }
      return n;
    }
    if (this.peerFin) return CORE_EOF;
    if (this.aborted) return IOT_SOCKET_ECONNABORTED;
    return IOT_SOCKET_EAGAIN;
  }

  send(buf: Uint8Array, len: number, to?: Endpoint): number {
    if (this.state === 'closed') return IOT_SOCKET_ERROR;
    if (this.type === 2) {
      if (len === 0) return this.sendRoom > 0 ? 0 : IOT_SOCKET_EAGAIN;
      const dst = to ?? this.remote;
      if (dst === undefined) return IOT_SOCKET_ENOTCONN;
      if (len > this.backend.caps.maxDatagram) return IOT_SOCKET_EINVAL;
      if (len > this.sendRoom) return IOT_SOCKET_EAGAIN; // atomic: whole datagram or nothing
      this.implicitBind();
      this.sendRoom -= len;
      this.sentDatagrams.push({ data: buf.slice(0, len), to: copyEp(dst) });
      return len;
    }
    if (this.state === 'connecting') return IOT_SOCKET_EAGAIN;
    if (this.state !== 'connected') return IOT_SOCKET_ENOTCONN;
    // As the contract: a FIN leaves the connection half-open (sending goes on), an RST ends it.
    if (this.peerReset) return IOT_SOCKET_ECONNRESET;
    if (this.aborted) return IOT_SOCKET_ECONNABORTED;
    if (this.localShut) return IOT_SOCKET_ENOTCONN;
    if (this.sendRoom <= 0) return IOT_SOCKET_EAGAIN;
    if (len === 0) return 0;
    const n = Math.min(len, this.sendRoom);
    this.sendRoom -= n;
    this.sentChunks.push(buf.slice(0, n));
    return n;
  }

  shutdown(): number {
    if (this.state !== 'connected') return IOT_SOCKET_ENOTCONN;
    this.localShut = true;
    return 0;
  }

  peerClosed(): boolean {
    return this.type === 1 && (this.peerFin || this.peerReset);
  }

  localEndpoint(): Endpoint | undefined {
    return this.local === undefined ? undefined : copyEp(this.local);
  }

  remoteEndpoint(): Endpoint | undefined {
    if (this.type === 1 && this.state !== 'connected') return undefined;
    return this.remote === undefined ? undefined : copyEp(this.remote);
  }

  setKeepAlive(on: boolean): number {
    if (this.keepAliveResult !== 0) return this.keepAliveResult;
    this.keepAlive = on;
    return 0;
  }

  close(abort = false): number | Promise<number> {
    this.closeCalls.push(abort);
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.connectTimer?.();
      this.connectTimer = undefined;
      if (this.local !== undefined) this.backend.ports.delete(`${this.type}/${this.af}/${this.local.port}`);
      for (const pending of this.incomingQueue.splice(0)) void pending.socket.close(true);
    }
    if (!this.deferClose) return this.closeResult;
    if (this.finishCloseFn !== undefined) return IOT_SOCKET_ERROR; // one deferred close at a time
    return new Promise<number>((resolve) => {
      this.finishCloseFn = resolve;
    });
  }

  private implicitBind(): void {
    if (this.local !== undefined) return;
    const port = this.backend.ephemeralPort();
    this.backend.ports.add(`${this.type}/${this.af}/${port}`);
    this.local = { address: anyAddress(this.af), port };
    if (this.state === 'created') this.state = 'bound';
  }
}
