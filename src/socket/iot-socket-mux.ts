import { IOT_SOCKET_EAGAIN, IOT_SOCKET_EINVAL, IOT_SOCKET_ERROR, IOT_SOCKET_ESOCK } from '../base/iot-constants.ts';
import { IOT_SOCKET_API_MEMBERS, type Bytes, type IotSocketApi, type NumRef } from './iot-socket-types.ts';

const ERROR = Promise.resolve(IOT_SOCKET_ERROR);
const ESOCK = Promise.resolve(IOT_SOCKET_ESOCK);
/** Largest id the mux hands out (spec §1: ids 1..0x3FFFFFFF, never INT32_MAX). */
const MAX_ID = 0x3fffffff;
/**
 * The id a call with an id the mux does not know goes to the table with: plausible by
 * spec §4 step 1 but never issued (ids start at 1), so the table's own check order decides
 * between EINVAL (bad arguments, step 2) and ESOCK (not open, step 3).
 */
const NEVER_ISSUED = 0;

/** One socket the mux issued: its id, the table that created it and that table's own id. */
export interface IotSocketMuxSocket {
  /** The id the caller holds (returned by the mux's Create or Accept). */
  readonly id: number;
  /** The table the socket lives on. */
  readonly api: IotSocketApi;
  /** The table's own id for it. */
  readonly inner: number;
}

const settle = (r: unknown): number => (typeof r === 'number' && Number.isInteger(r) ? r : IOT_SOCKET_ERROR);
const rejected = (): number => IOT_SOCKET_ERROR;

/** Calls into a table: a throw, a rejection or a non-integer result yields `IOT_SOCKET_ERROR`. */
function invoke(api: IotSocketApi, fn: (api: IotSocketApi) => Promise<number>): Promise<number> {
  try {
    return fn(api).then(settle, rejected);
  } catch {
    return ERROR;
  }
}

/**
 * The IoT Socket run-time multiplexer (upstream `iot_socket_mux.h`, spec §13), with
 * per-socket bookkeeping (issue 9, "the faithful mux").
 *
 * - `register(table)` switches the table new sockets go to and returns 0; registering
 *   the registered table again changes nothing; a non-table → `IOT_SOCKET_EINVAL`
 *   (the registration is unchanged).
 * - **`null` registered** (the initial state): every call returns `IOT_SOCKET_ERROR`,
 *   as upstream, including calls on sockets of an earlier table. The bookkeeping is kept:
 *   once any table is registered again, those sockets work again on their own table.
 * - **Per-socket bookkeeping**: Create (on the table registered now) and Accept (on the
 *   listener's table) map the table's id to a mux id; every per-socket call goes to the
 *   table that created the socket and gets that table's id, so a socket keeps working on
 *   its backend after a re-registration until it is closed. GetHostByName goes to the
 *   table registered now. Close forgets the mapping once the table's close settles,
 *   whatever it returns, except `IOT_SOCKET_EAGAIN` (a non-blocking close in flight: the
 *   id stays valid and Close is called again, spec §7, row 51).
 * - **Ids** (spec §1): 1..0x3FFFFFFF, unique among the mux's open sockets across all
 *   tables, from an increasing counter that skips live ids and wraps to 1, so a closed id
 *   is not reissued until the counter wraps. The table's own id is kept whenever it is
 *   not below the counter (and not live): with one table (whose ids also increase, as
 *   `IotSocketLayer`'s do) the mux returns exactly the table's ids, so a single table
 *   behaves through the mux exactly as without it. A table that starts counting afresh
 *   after a switch gets counter ids instead.
 * - **Unknown ids**: implausible ids (not an integer in 0..0x3FFFFFFF) → `IOT_SOCKET_ESOCK`
 *   (spec §4 step 1). An id the mux did not issue, or whose socket it has closed, never
 *   reaches a socket: the call goes to the table registered now with id 0 (plausible, never
 *   issued), so that table's argument checks decide between EINVAL and ESOCK exactly as
 *   for its own closed ids (spec §4, §6 row 2); ESOCK directly if that table's id 0 is a
 *   socket of the mux. So sockets created on a table directly, not through the mux, are
 *   not reachable through it (upstream forwarded every id).
 * - Results pass unchanged; a table that throws, rejects or resolves to a non-integer
 *   yields `IOT_SOCKET_ERROR`.
 * - A socket the table drops by itself (e.g. `IotSocketLayer.closeAll()`) stays in the
 *   bookkeeping (calls on it return the table's ESOCK) until Close is called on it.
 *
 * `sockets()` lists the bookkeeping (for leak checks).
 */
export class IotSocketMux implements IotSocketApi {
  private api: IotSocketApi | null = null;
  private readonly byId = new Map<number, IotSocketMuxSocket>();
  /** Per table: its own id → the entry (tables without open sockets are dropped). */
  private readonly byTable = new Map<IotSocketApi, Map<number, IotSocketMuxSocket>>();
  private nextId = 1;

  /** Installs `api` (or unregisters with `null`). 0 on success; `IOT_SOCKET_EINVAL` for anything that is not a table. */
  register(api: IotSocketApi | null | undefined): number {
    if (api === null || api === undefined) {
      this.api = null;
      return 0;
    }
    if (typeof api !== 'object' || IOT_SOCKET_API_MEMBERS.some((m) => typeof api[m] !== 'function')) {
      return IOT_SOCKET_EINVAL;
    }
    this.api = api;
    return 0;
  }

  /** The table registered now, or null. */
  get registered(): IotSocketApi | null {
    return this.api;
  }

  /** Number of sockets the mux issued and has not seen closed (all tables). */
  get openSockets(): number {
    return this.byId.size;
  }

  /** The sockets the mux issued and has not seen closed, by id; with `api`, only those on that table. */
  sockets(api?: IotSocketApi): IotSocketMuxSocket[] {
    const all = api === undefined ? [...this.byId.values()] : [...(this.byTable.get(api)?.values() ?? [])];
    return all.sort((a, b) => a.id - b.id);
  }

  // ---- Bookkeeping ------------------------------------------------------------

  /** Maps a new socket of `api` (its id `inner`) to a mux id. */
  private adopt(api: IotSocketApi, inner: number): number {
    // The table reissued an id the mux still maps: that socket is gone on the table's side.
    const stale = this.byTable.get(api)?.get(inner);
    if (stale !== undefined) this.forget(stale);
    let table = this.byTable.get(api);
    if (table === undefined) {
      table = new Map();
      this.byTable.set(api, table);
    }
    const entry: IotSocketMuxSocket = { id: this.allocateId(inner), api, inner };
    this.byId.set(entry.id, entry);
    table.set(inner, entry);
    return entry.id;
  }

  /** The table's own id when it is not below the counter and not live, else the counter's next free id. */
  private allocateId(inner: number): number {
    if (inner >= this.nextId && inner <= MAX_ID && !this.byId.has(inner)) {
      this.nextId = inner >= MAX_ID ? 1 : inner + 1;
      return inner;
    }
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= MAX_ID ? 1 : id + 1;
      if (!this.byId.has(id)) return id;
    }
  }

  private forget(entry: IotSocketMuxSocket): void {
    if (this.byId.get(entry.id) === entry) this.byId.delete(entry.id);
    const table = this.byTable.get(entry.api);
    if (table?.get(entry.inner) === entry) {
      table.delete(entry.inner);
      if (table.size === 0) this.byTable.delete(entry.api);
    }
  }

  /** Adopts a non-negative result of Create/Accept on `api` as a new socket. */
  private adopting(api: IotSocketApi, result: Promise<number>): Promise<number> {
    return result.then((r) => (r >= 0 ? this.adopt(api, r) : r));
  }

  // ---- Dispatch ------------------------------------------------------------------

  /** A call that is not on a socket (Create, GetHostByName): the table registered now. */
  private call(fn: (api: IotSocketApi) => Promise<number>): Promise<number> {
    const api = this.api;
    return api === null ? ERROR : invoke(api, fn);
  }

  /**
   * A call on `socket`: the table that created it with that table's id; unknown ids go to
   * the table registered now as `NEVER_ISSUED` (see the class comment). `adopt`: the
   * result is a new socket of the answering table (Accept).
   */
  private onSocket(socket: number, fn: (api: IotSocketApi, id: number) => Promise<number>, adopt = false): Promise<number> {
    const current = this.api;
    if (current === null) return ERROR;
    if (!Number.isInteger(socket) || socket < 0 || socket > MAX_ID) return ESOCK;
    const entry = this.byId.get(socket);
    const api = entry?.api ?? current;
    let id = NEVER_ISSUED;
    if (entry !== undefined) id = entry.inner;
    else if (this.byTable.get(current)?.has(NEVER_ISSUED) === true) return ESOCK;
    const result = invoke(api, (a) => fn(a, id));
    return adopt ? this.adopting(api, result) : result;
  }

  // ---- The 15 functions ------------------------------------------------------------

  /** Create on the table registered now; `ERROR` when none is. */
  socketCreate(af: number, type: number, protocol: number): Promise<number> {
    const api = this.api;
    return api === null ? ERROR : this.adopting(api, invoke(api, (a) => a.socketCreate(af, type, protocol)));
  }
  /** Bind on the socket's own table. */
  socketBind(socket: number, ip: Bytes, ip_len: number, port: number): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketBind(s, ip, ip_len, port));
  }
  /** Listen on the socket's own table. */
  socketListen(socket: number, backlog: number): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketListen(s, backlog));
  }
  /** Accept on the socket's own table; the accepted socket belongs to that table too. */
  socketAccept(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketAccept(s, ip, ip_len, port), true);
  }
  /** Connect on the socket's own table. */
  socketConnect(socket: number, ip: Bytes, ip_len: number, port: number): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketConnect(s, ip, ip_len, port));
  }
  /** Recv on the socket's own table. */
  socketRecv(socket: number, buf: Bytes, len: number): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketRecv(s, buf, len));
  }
  /** RecvFrom on the socket's own table. */
  socketRecvFrom(socket: number, buf: Bytes, len: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketRecvFrom(s, buf, len, ip, ip_len, port));
  }
  /** Send on the socket's own table. */
  socketSend(socket: number, buf: Bytes, len: number): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketSend(s, buf, len));
  }
  /** SendTo on the socket's own table. */
  socketSendTo(socket: number, buf: Bytes, len: number, ip: Bytes, ip_len: number, port: number): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketSendTo(s, buf, len, ip, ip_len, port));
  }
  /** GetSockName on the socket's own table. */
  socketGetSockName(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketGetSockName(s, ip, ip_len, port));
  }
  /** GetPeerName on the socket's own table. */
  socketGetPeerName(socket: number, ip: Bytes, ip_len: NumRef, port: NumRef): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketGetPeerName(s, ip, ip_len, port));
  }
  /** GetOpt on the socket's own table. */
  socketGetOpt(socket: number, opt_id: number, opt_val: Bytes, opt_len: NumRef): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketGetOpt(s, opt_id, opt_val, opt_len));
  }
  /** SetOpt on the socket's own table. */
  socketSetOpt(socket: number, opt_id: number, opt_val: Bytes, opt_len: number): Promise<number> {
    return this.onSocket(socket, (a, s) => a.socketSetOpt(s, opt_id, opt_val, opt_len));
  }
  /** Close on the socket's own table; the id is forgotten once closed. */
  socketClose(socket: number): Promise<number> {
    const entry = this.api === null ? undefined : this.byId.get(socket);
    const result = this.onSocket(socket, (a, s) => a.socketClose(s));
    if (entry === undefined) return result;
    return result.then((r) => {
      if (r !== IOT_SOCKET_EAGAIN) this.forget(entry);
      return r;
    });
  }
  /** GetHostByName on the table registered now; `ERROR` when none is. */
  socketGetHostByName(name: string | null | undefined, af: number, ip: Bytes, ip_len: NumRef): Promise<number> {
    return this.call((a) => a.socketGetHostByName(name, af, ip, ip_len));
  }
}
