/**
 * The IoT Socket layer: the 15 `iotSocket*` operations over any `SocketBackend`.
 *
 * Implemented here, once, for every stack (spec iot-socket-api.md §4-§12):
 * the argument-check order, socket ids, the API state machine and its error
 * matrix, blocking by default, `SO_RCVTIMEO`/`SO_SNDTIMEO`, `IOT_SOCKET_IO_FIONBIO`,
 * the non-blocking connect sequence, `len == 0` readiness polls, and the UDP rules
 * that do not depend on the network. Backends only provide non-blocking
 * operations and change notifications (`src/backends/contract.ts`).
 *
 * Nothing here throws: wrong JS types, NaN, non-integers and out-of-range values
 * yield `IOT_SOCKET_EINVAL` or `IOT_SOCKET_ESOCK` as the spec orders the checks,
 * and an unexpected exception becomes `IOT_SOCKET_ERROR`.
 */
import { type Af, CORE_EOF, type CoreSocket, type Endpoint, type RecvInfo, type SockType, type SocketBackend } from '../backends/contract.ts';
import {
  IOT_SOCKET_AF_INET, IOT_SOCKET_AF_INET6, IOT_SOCKET_EAGAIN, IOT_SOCKET_EALREADY, IOT_SOCKET_ECONNRESET,
  IOT_SOCKET_EHOSTNOTFOUND, IOT_SOCKET_EINPROGRESS, IOT_SOCKET_EINVAL, IOT_SOCKET_EISCONN, IOT_SOCKET_ENOMEM,
  IOT_SOCKET_ENOTCONN, IOT_SOCKET_ENOTSUP, IOT_SOCKET_ERROR, IOT_SOCKET_ESOCK, IOT_SOCKET_IO_FIONBIO,
  IOT_SOCKET_IPPROTO_TCP, IOT_SOCKET_IPPROTO_UDP, IOT_SOCKET_SOCK_DGRAM, IOT_SOCKET_SOCK_STREAM,
  IOT_SOCKET_SO_KEEPALIVE, IOT_SOCKET_SO_RCVTIMEO, IOT_SOCKET_SO_SNDTIMEO, IOT_SOCKET_SO_TYPE,
} from '../base/iot-constants.ts';
import { isBroadcast, isMulticast, isUnspecified, parseIp } from '../base/ip-address.ts';
import type { Scheduler } from '../base/time.ts';
import { systemScheduler } from '../runtime/system-scheduler.ts';
import type { Bytes, IotSocketApi, NumRef, Ref } from './iot-socket-types.ts';
import { Readiness, deadlineAfter } from './readiness.ts';

/** Largest id handed out; ids never reach 0x7FFFFFFF (spec §1: the suite uses INT32_MAX as a never-created id). */
const MAX_ID = 0x3fffffff;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
/** Spec §12: names longer than 255 bytes are invalid. */
const MAX_NAME_BYTES = 255;

type ApiState = 'created' | 'bound' | 'listening' | 'connecting' | 'connected';

interface SockRec {
  readonly id: number;
  readonly af: Af;
  readonly type: SockType;
  readonly core: CoreSocket;
  readonly ready: Readiness;
  state: ApiState;
  /** Bound explicitly or implicitly (Connect, SendTo). */
  bound: boolean;
  /** DGRAM: a default destination is set. */
  hasDest: boolean;
  nbio: boolean;
  rcvTimeoMs: number;
  sndTimeoMs: number;
  keepAlive: boolean;
  /** Non-blocking close in flight (backend close returned a promise). */
  closing: Promise<number> | undefined;
  closeResult: number | undefined;
  released: boolean;
}

/** Options of the IoT Socket layer. */
export interface IotSocketLayerOptions {
  /** Timers for SO_RCVTIMEO/SO_SNDTIMEO (default: real time). */
  scheduler?: Scheduler;
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const isInt32 = (x: unknown): x is number => isInt(x) && x >= INT32_MIN && x <= INT32_MAX;
const isUint32 = (x: unknown): x is number => isInt(x) && x >= 0 && x <= UINT32_MAX;
const isBytes = (x: unknown): x is Uint8Array => x instanceof Uint8Array;
const isNullish = (x: unknown): x is null | undefined => x === null || x === undefined;
const isRef = (x: unknown): x is Ref<number> =>
  typeof x === 'object' && x !== null && isUint32((x as { value?: unknown }).value);
const addrLen = (af: Af): number => (af === IOT_SOCKET_AF_INET ? 4 : 16);
/** Step 1 of §4: a plausible socket id. */
const plausibleId = (s: unknown): s is number => isInt(s) && s >= 0 && s <= MAX_ID;
/** Ports given to Bind/Connect/SendTo: 1..65535. */
const validPort = (p: unknown): p is number => isInt(p) && p >= 1 && p <= 65535;

/**
 * Checks an output address triple (Accept, RecvFrom, GetSockName, GetPeerName) before
 * the socket is known (§10): types only. Returns true when acceptable.
 */
function outArgsTypesOk(ip: unknown, ipLen: unknown, port: unknown): boolean {
  if (!isNullish(ip) && !isBytes(ip)) return false;
  if (!isNullish(ipLen) && !isRef(ipLen)) return false;
  if (!isNullish(port) && !(typeof port === 'object' && port !== null && 'value' in port)) return false;
  if (isBytes(ip) && isNullish(ipLen)) return false;
  return true;
}

/** The family-dependent part of the output check: `min(ip.length, ip_len) >= 4/16`. */
function outArgsFitFamily(af: Af, ip: Bytes, ipLen: NumRef): boolean {
  if (!isBytes(ip)) return true;
  const n = Math.min(ip.length, ipLen?.value ?? 0);
  return n >= addrLen(af);
}

function writeOut(ep: Endpoint, ip: Bytes, ipLen: NumRef, port: NumRef): void {
  if (isBytes(ip) && ipLen) {
    ip.set(ep.address);
    ipLen.value = ep.address.length;
  }
  if (port) port.value = ep.port;
}

function writeOpt(val: Uint8Array, len: Ref<number>, v: number): void {
  new DataView(val.buffer, val.byteOffset, 4).setUint32(0, v >>> 0, true);
  len.value = 4;
}

function readOpt(val: Uint8Array): number {
  return new DataView(val.buffer, val.byteOffset, 4).getUint32(0, true);
}

/**
 * One IoT Socket instance over one backend: its own id table and options.
 * `api()` gives the `IotSocketApi` table for `iotSocketRegisterApi`.
 */
export class IotSocketLayer {
  /** The backend the sockets run on. */
  readonly backend: SocketBackend;
  private readonly scheduler: Scheduler;
  private readonly socks = new Map<number, SockRec>();
  private nextId = 1;

  constructor(backend: SocketBackend, options: IotSocketLayerOptions = {}) {
    this.backend = backend;
    this.scheduler = options.scheduler ?? systemScheduler;
  }

  /** Number of open socket ids (for leak checks). */
  get openSockets(): number {
    return this.socks.size;
  }

  /** Number of calls blocked in a wait (for leak checks). */
  get pendingCalls(): number {
    let n = 0;
    for (const s of this.socks.values()) n += s.ready.pending;
    return n;
  }

  /** The `IotSocketApi` function table of this instance. Every member never throws. */
  api(): IotSocketApi {
    // Never throws or rejects: a synchronous throw or a rejection becomes IOT_SOCKET_ERROR
    // (one `.then` hop, no extra async frame on the hot path).
    const guard = <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
      (...args: A): Promise<number> => {
        try {
          return fn(...args).then(undefined, toError);
        } catch {
          return ERROR_RESULT;
        }
      };
    return {
      socketCreate: guard((af, type, protocol) => this.create(af, type, protocol)),
      socketBind: guard((s, ip, ipLen, port) => this.bind(s, ip, ipLen, port)),
      socketListen: guard((s, backlog) => this.listen(s, backlog)),
      socketAccept: guard((s, ip, ipLen, port) => this.accept(s, ip, ipLen, port)),
      socketConnect: guard((s, ip, ipLen, port) => this.connect(s, ip, ipLen, port)),
      socketRecv: guard((s, buf, len) => this.recv(s, buf, len, false, null, null, null)),
      socketRecvFrom: guard((s, buf, len, ip, ipLen, port) => this.recv(s, buf, len, true, ip, ipLen, port)),
      socketSend: guard((s, buf, len) => this.send(s, buf, len, false, null, 0, 0)),
      socketSendTo: guard((s, buf, len, ip, ipLen, port) => this.send(s, buf, len, true, ip, ipLen, port)),
      socketGetSockName: guard((s, ip, ipLen, port) => this.getName(s, ip, ipLen, port, false)),
      socketGetPeerName: guard((s, ip, ipLen, port) => this.getName(s, ip, ipLen, port, true)),
      socketGetOpt: guard((s, id, val, len) => this.getOpt(s, id, val, len)),
      socketSetOpt: guard((s, id, val, len) => this.setOpt(s, id, val, len)),
      socketClose: guard((s) => this.close(s)),
      socketGetHostByName: guard((name, af, ip, ipLen) => this.getHostByName(name, af, ip, ipLen)),
    };
  }

  // ---- Create -------------------------------------------------------------

  /**
   * Create: validates `af`/`type`/`protocol` (`EINVAL`, `ENOTSUP`) and opens a backend socket; its id (>= 1) or a
   * code.
   */
  async create(af: unknown, type: unknown, protocol: unknown): Promise<number> {
    if (af !== IOT_SOCKET_AF_INET && af !== IOT_SOCKET_AF_INET6) return IOT_SOCKET_EINVAL;
    if (type !== IOT_SOCKET_SOCK_STREAM && type !== IOT_SOCKET_SOCK_DGRAM) return IOT_SOCKET_EINVAL;
    if (protocol !== 0) {
      if (type === IOT_SOCKET_SOCK_STREAM && protocol !== IOT_SOCKET_IPPROTO_TCP) return IOT_SOCKET_EINVAL;
      if (type === IOT_SOCKET_SOCK_DGRAM && protocol !== IOT_SOCKET_IPPROTO_UDP) return IOT_SOCKET_EINVAL;
    }
    const caps = this.backend.caps;
    if (af === IOT_SOCKET_AF_INET6 && !caps.ipv6) return IOT_SOCKET_ENOTSUP;
    if (af === IOT_SOCKET_AF_INET && !caps.ipv4) return IOT_SOCKET_ENOTSUP;
    if (type === IOT_SOCKET_SOCK_STREAM && !caps.tcp) return IOT_SOCKET_ENOTSUP;
    if (type === IOT_SOCKET_SOCK_DGRAM && !caps.udp) return IOT_SOCKET_ENOTSUP;
    if (this.socks.size >= caps.maxSockets) return IOT_SOCKET_ENOMEM;
    const core = this.backend.createSocket(af, type);
    if (typeof core === 'number') return core < 0 ? core : IOT_SOCKET_ERROR;
    return this.register(core, 'created', undefined).id;
  }

  private register(core: CoreSocket, state: ApiState, inherit: SockRec | undefined): SockRec {
    const id = this.allocateId();
    const rec: SockRec = {
      id, af: core.af, type: core.type, core,
      ready: new Readiness(core, this.scheduler),
      state,
      bound: state !== 'created',
      hasDest: false,
      // Spec §7 [choice]: accepted sockets inherit FIONBIO, RCVTIMEO, SNDTIMEO and KEEPALIVE.
      nbio: inherit?.nbio ?? false,
      rcvTimeoMs: inherit?.rcvTimeoMs ?? 0,
      sndTimeoMs: inherit?.sndTimeoMs ?? 0,
      keepAlive: inherit?.keepAlive ?? false,
      closing: undefined,
      closeResult: undefined,
      released: false,
    };
    if (rec.keepAlive) core.setKeepAlive(true);
    this.socks.set(id, rec);
    return rec;
  }

  /** Ids 1..MAX_ID from an increasing counter that skips live ids (§1). */
  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= MAX_ID ? 1 : id + 1;
      if (!this.socks.has(id)) return id;
    }
  }

  /** Step 3 of §4: the id must be open. */
  private lookup(socket: number): SockRec | undefined {
    const rec = this.socks.get(socket);
    return rec === undefined || rec.released || rec.closing !== undefined ? undefined : rec;
  }

  // ---- Bind / Listen --------------------------------------------------------

  /**
   * Bind (spec §5): `ESOCK` for an unknown id, `EINVAL` for bad arguments or a second bind, `EADDRINUSE` from the
   * backend.
   */
  async bind(socket: unknown, ip: unknown, ipLen: unknown, port: unknown): Promise<number> {
    if (!plausibleId(socket)) return IOT_SOCKET_ESOCK;
    if (!isBytes(ip) || !isUint32(ipLen) || (ipLen !== 4 && ipLen !== 16) || ip.length < ipLen) return IOT_SOCKET_EINVAL;
    if (!validPort(port)) return IOT_SOCKET_EINVAL;
    const rec = this.lookup(socket);
    if (rec === undefined) return IOT_SOCKET_ESOCK;
    if (ipLen !== addrLen(rec.af)) return IOT_SOCKET_EINVAL;
    if (rec.state === 'connected' || rec.state === 'connecting' || rec.hasDest) return IOT_SOCKET_EISCONN;
    if (rec.bound) return IOT_SOCKET_EINVAL;
    const r = await rec.core.bind(ip.slice(0, ipLen), port);
    if (rec.released) return IOT_SOCKET_ESOCK;
    if (r === 0) {
      rec.bound = true;
      if (rec.state === 'created') rec.state = 'bound';
    }
    return r;
  }

  /** Listen: a bound stream socket starts listening (`backlog` >= 1). */
  async listen(socket: unknown, backlog: unknown): Promise<number> {
    if (!plausibleId(socket)) return IOT_SOCKET_ESOCK;
    if (!isInt32(backlog) || backlog < 1) return IOT_SOCKET_EINVAL;
    const rec = this.lookup(socket);
    if (rec === undefined) return IOT_SOCKET_ESOCK;
    if (rec.type !== IOT_SOCKET_SOCK_STREAM || !this.backend.caps.listen) return IOT_SOCKET_ENOTSUP;
    if (rec.state === 'connected' || rec.state === 'connecting') return IOT_SOCKET_EISCONN;
    if (rec.state === 'listening' || !rec.bound) return IOT_SOCKET_EINVAL;
    const r = await rec.core.listen(backlog);
    if (rec.released) return IOT_SOCKET_ESOCK;
    if (r === 0) rec.state = 'listening';
    return r;
  }

  // ---- Accept ---------------------------------------------------------------

  /**
   * Accept: waits (unless non-blocking or `SO_RCVTIMEO` expires: `EAGAIN`) for a connection; its new id, the peer
   * written into `ip`/`ipLen`/`port`.
   */
  async accept(socket: unknown, ip: unknown, ipLen: unknown, port: unknown): Promise<number> {
    if (!plausibleId(socket)) return IOT_SOCKET_ESOCK;
    if (!outArgsTypesOk(ip, ipLen, port)) return IOT_SOCKET_EINVAL;
    const rec = this.lookup(socket);
    if (rec === undefined) return IOT_SOCKET_ESOCK;
    const ipB = ip as Bytes, ipL = ipLen as NumRef, portR = port as NumRef;
    if (!outArgsFitFamily(rec.af, ipB, ipL)) return IOT_SOCKET_EINVAL;
    if (rec.type !== IOT_SOCKET_SOCK_STREAM) return IOT_SOCKET_ENOTSUP;
    if (rec.state !== 'listening') return IOT_SOCKET_EINVAL;
    // Fix: the mode is fixed when the call starts (§7: FIONBIO affects *later* calls); a
    // blocked Accept must not turn into EAGAIN when FIONBIO is set meanwhile.
    const nbio = rec.nbio;
    const deadline = deadlineAfter(this.scheduler, rec.rcvTimeoMs);
    for (;;) {
      const r = rec.core.accept();
      if (typeof r !== 'number') {
        if (this.socks.size >= this.backend.caps.maxSockets) {
          await r.socket.close(true);
          return IOT_SOCKET_ENOMEM;
        }
        const child = this.register(r.socket, 'connected', rec);
        writeOut(r.remote, ipB, ipL, portR);
        return child.id;
      }
      if (r !== IOT_SOCKET_EAGAIN || nbio) return r;
      const w = await rec.ready.wait(deadline);
      if (w === 'closed' || rec.released) return IOT_SOCKET_ESOCK;
      if (w === 'timeout') return IOT_SOCKET_EAGAIN;
    }
  }

  // ---- Connect --------------------------------------------------------------

  /**
   * Connect: blocking by default (bounded by the backend's connect timeout: `ETIMEDOUT`); non-blocking:
   * `EINPROGRESS`, then `EALREADY`, then `EISCONN` or the error.
   */
  async connect(socket: unknown, ip: unknown, ipLen: unknown, port: unknown): Promise<number> {
    if (!plausibleId(socket)) return IOT_SOCKET_ESOCK;
    if (!isBytes(ip) || !isUint32(ipLen) || (ipLen !== 4 && ipLen !== 16) || ip.length < ipLen) return IOT_SOCKET_EINVAL;
    const addr = ip.slice(0, ipLen);
    const unspecified = isUnspecified(addr);
    // Port 0 is only meaningful with the unspecified address (DGRAM reset, §6 row 20).
    if (!(validPort(port) || (unspecified && port === 0))) return IOT_SOCKET_EINVAL;
    const rec = this.lookup(socket);
    if (rec === undefined) return IOT_SOCKET_ESOCK;
    if (ipLen !== addrLen(rec.af)) return IOT_SOCKET_EINVAL;

    if (rec.type === IOT_SOCKET_SOCK_DGRAM) {
      const r = await rec.core.connect(addr, unspecified ? 0 : port);
      if (rec.released) return IOT_SOCKET_ESOCK;
      if (r === 0) {
        rec.hasDest = !unspecified;
        if (!unspecified) {
          rec.bound = true;
          if (rec.state === 'created') rec.state = 'bound';
        }
      }
      return r;
    }

    if (rec.state === 'listening') return IOT_SOCKET_EINVAL;
    if (unspecified || isMulticast(addr) || isBroadcast(addr) || port === 0) return IOT_SOCKET_EINVAL;
    if (rec.state === 'connected') return IOT_SOCKET_EISCONN;
    const nbio = rec.nbio;
    if (rec.state === 'connecting') {
      if (nbio) {
        const st = rec.core.connectResult();
        if (st === IOT_SOCKET_EINPROGRESS) return IOT_SOCKET_EALREADY;
        return this.settleConnect(rec, st, true);
      }
      return this.awaitConnect(rec);
    }
    // Fix: record CONNECTING in the same synchronous step as the backend call when the
    // backend answers at once. Awaiting a plain number yielded to the event loop, so a
    // concurrent Connect on the same socket still saw CREATED/BOUND, started a second
    // attempt, got EALREADY from the backend and settled the state to BOUND while the
    // first attempt went on (its blocking caller then got ERROR on success).
    const started = rec.core.connect(addr, port);
    const r = typeof started === 'number' ? started : await started;
    if (rec.released) return IOT_SOCKET_ESOCK;
    if (r === IOT_SOCKET_EINPROGRESS) {
      rec.state = 'connecting';
      rec.bound = true;
      return nbio ? IOT_SOCKET_EINPROGRESS : this.awaitConnect(rec);
    }
    if (r === 0 && nbio) {
      // Connected at once (a loopback or in-process backend): the non-blocking sequence
      // still starts with EINPROGRESS (§7, row 27); the next Connect reports EISCONN.
      this.settleConnect(rec, 0, false);
      return IOT_SOCKET_EINPROGRESS;
    }
    return this.settleConnect(rec, r, false);
  }

  /** Blocking connect: waits for the outcome of the attempt in progress. */
  private async awaitConnect(rec: SockRec): Promise<number> {
    for (;;) {
      const st = rec.core.connectResult();
      if (st !== IOT_SOCKET_EINPROGRESS) return this.settleConnect(rec, st, false);
      const w = await rec.ready.wait(undefined);
      if (w === 'closed' || rec.released) return IOT_SOCKET_ESOCK;
      if (rec.state !== 'connecting') {
        // Another caller settled the attempt (reported once): report the current state.
        return rec.state === 'connected' ? 0 : rec.core.connectResult() || IOT_SOCKET_ERROR;
      }
    }
  }

  /**
   * Records the outcome of a connect attempt. Success: CONNECTED (non-blocking callers
   * polling an attempt get EISCONN). Failure: reported once, then BOUND again (§7).
   */
  private settleConnect(rec: SockRec, st: number, polled: boolean): number {
    if (st === 0) {
      rec.state = 'connected';
      rec.bound = true;
      return polled ? IOT_SOCKET_EISCONN : 0;
    }
    rec.state = rec.core.localEndpoint() !== undefined || rec.bound ? 'bound' : 'created';
    rec.bound = rec.state === 'bound';
    return st < 0 ? st : IOT_SOCKET_ERROR;
  }

  /**
   * STREAM data calls before the connection is usable: ENOTCONN unless connecting;
   * while connecting, EAGAIN (non-blocking) or wait for the outcome (blocking).
   * Returns 0 when connected, else the code to return.
   */
  private async streamReady(rec: SockRec, nbio: boolean, deadline: number | undefined): Promise<number> {
    for (;;) {
      if (rec.state === 'connected') return 0;
      if (rec.state !== 'connecting') return IOT_SOCKET_ENOTCONN;
      const st = rec.core.connectResult();
      if (st === 0) {
        rec.state = 'connected';
        return 0;
      }
      if (st !== IOT_SOCKET_EINPROGRESS) return IOT_SOCKET_ENOTCONN;
      if (nbio) return IOT_SOCKET_EAGAIN;
      const w = await rec.ready.wait(deadline);
      if (w === 'closed' || rec.released) return IOT_SOCKET_ESOCK;
      if (w === 'timeout') return IOT_SOCKET_EAGAIN;
    }
  }

  // ---- Recv / RecvFrom --------------------------------------------------------

  /**
   * Recv and RecvFrom (`from`): bytes into `buf`, waiting as the socket's mode and `SO_RCVTIMEO` say; `len == 0`
   * polls readiness.
   */
  async recv(socket: unknown, buf: unknown, len: unknown, from: boolean, ip: unknown, ipLen: unknown, port: unknown): Promise<number> {
    if (!plausibleId(socket)) return IOT_SOCKET_ESOCK;
    if (!isUint32(len)) return IOT_SOCKET_EINVAL;
    const poll = len === 0;
    if (!poll) {
      if (!isBytes(buf) || buf.length < len) return IOT_SOCKET_EINVAL;
      if (from && !outArgsTypesOk(ip, ipLen, port)) return IOT_SOCKET_EINVAL;
    }
    const rec = this.lookup(socket);
    if (rec === undefined) return IOT_SOCKET_ESOCK;
    const ipB = (from && !poll ? ip : null) as Bytes, ipL = ipLen as NumRef, portR = (from && !poll ? port : null) as NumRef;
    if (!outArgsFitFamily(rec.af, ipB, ipL)) return IOT_SOCKET_EINVAL;
    const nbio = rec.nbio; // fixed for the whole call (§7), see accept()
    const deadline = deadlineAfter(this.scheduler, rec.rcvTimeoMs);
    if (rec.type === IOT_SOCKET_SOCK_STREAM && rec.state !== 'connected') {
      const s = await this.streamReady(rec, nbio, deadline);
      if (s !== 0) return s;
    }
    const target = poll ? EMPTY : (buf as Uint8Array);
    const info: RecvInfo | undefined = ipB || portR ? { address: undefined, port: 0 } : undefined;
    for (;;) {
      const r = rec.core.recv(target, len, info);
      if (r >= 0) {
        if (info?.address !== undefined && !poll) writeOut({ address: info.address, port: info.port }, ipB, ipL, portR);
        return r;
      }
      if (r === CORE_EOF) return IOT_SOCKET_ECONNRESET;
      if (r !== IOT_SOCKET_EAGAIN || nbio) return r;
      const w = await rec.ready.wait(deadline);
      if (w === 'closed' || rec.released) return IOT_SOCKET_ESOCK;
      if (w === 'timeout') return IOT_SOCKET_EAGAIN;
    }
  }

  // ---- Send / SendTo ----------------------------------------------------------

  /**
   * Send and SendTo (`to`): bytes from `buf`, waiting for room as the socket's mode and `SO_SNDTIMEO` say; `len ==
   * 0` polls readiness.
   */
  async send(socket: unknown, buf: unknown, len: unknown, to: boolean, ip: unknown, ipLen: unknown, port: unknown): Promise<number> {
    if (!plausibleId(socket)) return IOT_SOCKET_ESOCK;
    if (!isUint32(len)) return IOT_SOCKET_EINVAL;
    const poll = len === 0;
    if (!poll && (!isBytes(buf) || buf.length < len)) return IOT_SOCKET_EINVAL;
    const rec = this.lookup(socket);
    if (rec === undefined) return IOT_SOCKET_ESOCK;
    const nbio = rec.nbio; // fixed for the whole call (§7), see accept()
    const deadline = deadlineAfter(this.scheduler, rec.sndTimeoMs);
    const data = poll ? EMPTY : (buf as Uint8Array);

    if (rec.type === IOT_SOCKET_SOCK_DGRAM) {
      let dest: Endpoint | undefined;
      if (to && !isNullish(ip) && !poll) {
        // SendTo with an address validates it (§9); `ip == null` behaves as Send [choice].
        if (!isBytes(ip) || !isUint32(ipLen) || ipLen !== addrLen(rec.af) || ip.length < ipLen || !validPort(port)) {
          return IOT_SOCKET_EINVAL;
        }
        dest = { address: ip.slice(0, ipLen), port };
      } else if (!rec.hasDest && !poll) {
        return IOT_SOCKET_ENOTCONN;
      }
      // The datagram size limit is the backend's, per family (contract: send -> EINVAL).
      for (;;) {
        const r = rec.core.send(data, len, dest);
        if (r >= 0) {
          if (!poll && !rec.bound) {
            rec.bound = true;
            if (rec.state === 'created') rec.state = 'bound';
          }
          return r;
        }
        if (r !== IOT_SOCKET_EAGAIN || nbio) return r;
        const w = await rec.ready.wait(deadline);
        if (w === 'closed' || rec.released) return IOT_SOCKET_ESOCK;
        if (w === 'timeout') return IOT_SOCKET_EAGAIN;
      }
    }

    // STREAM: SendTo ignores ip/port (§3). A connected socket skips the await (hot path).
    // No half-close at this API (§6 row 31): once the peer closed (FIN or RST), Send is
    // ECONNRESET even though the backend could still send after a FIN (contract), and even
    // while received data is unread. Checked before every core call, also after a wait.
    if (rec.state !== 'connected') {
      const s = await this.streamReady(rec, nbio, deadline);
      if (s !== 0) return s;
    }
    if (poll) {
      for (;;) {
        if (rec.core.peerClosed()) return IOT_SOCKET_ECONNRESET;
        const r = rec.core.send(EMPTY, 0);
        if (r !== IOT_SOCKET_EAGAIN || nbio) return r;
        const w = await rec.ready.wait(deadline);
        if (w === 'closed' || rec.released) return IOT_SOCKET_ESOCK;
        if (w === 'timeout') return IOT_SOCKET_EAGAIN;
      }
    }
    // Blocking without SNDTIMEO: lend the caller's buffer to the backend (zero copy) and
    // return only once it is released, as a BSD blocking send returns once the kernel
    // has the bytes. With a timeout the bytes are copied: an expiry must be able to
    // return while the caller keeps its buffer. Small sends are copied too: a copy is
    // cheaper than waiting a tick for the release.
    if (!nbio && deadline === undefined && len >= LEND_MIN_BYTES && rec.core.sendBorrowed !== undefined) return this.sendLent(rec, data, len);
    let sent = 0;
    for (;;) {
      if (rec.core.peerClosed()) return sent > 0 ? sent : IOT_SOCKET_ECONNRESET;
      const r = rec.core.send(sent === 0 ? data : data.subarray(sent), len - sent);
      if (r > 0) {
        sent += r;
        // Non-blocking: whatever fit. Blocking: all of it, queueing what fits meanwhile (§7).
        if (sent >= len || nbio) return sent;
        continue;
      }
      if (r !== IOT_SOCKET_EAGAIN) return sent > 0 ? sent : r;
      if (nbio) return sent > 0 ? sent : IOT_SOCKET_EAGAIN;
      const w = await rec.ready.wait(deadline);
      if (w === 'closed' || rec.released) return sent > 0 ? sent : IOT_SOCKET_ESOCK;
      if (w === 'timeout') return sent > 0 ? sent : IOT_SOCKET_EAGAIN;
    }
  }

  /** Blocking stream send through `sendBorrowed`; resolves once every lent byte was released. */
  private async sendLent(rec: SockRec, data: Uint8Array, len: number): Promise<number> {
    let sent = 0;
    for (;;) {
      if (rec.core.peerClosed()) return sent > 0 ? sent : IOT_SOCKET_ECONNRESET;
      const r = (rec.core.sendBorrowed as NonNullable<CoreSocket['sendBorrowed']>)(sent === 0 ? data : data.subarray(sent), len - sent);
      if (typeof r !== 'number') {
        sent += r.taken;
        await r.released;
        if (sent >= len) return sent;
        continue;
      }
      if (r !== IOT_SOCKET_EAGAIN) return sent > 0 ? sent : r;
      const w = await rec.ready.wait(undefined);
      if (w === 'closed' || rec.released) return sent > 0 ? sent : IOT_SOCKET_ESOCK;
    }
  }

  // ---- GetSockName / GetPeerName ----------------------------------------------

  /** GetSockName (`peer` false) and GetPeerName (`peer` true). */
  async getName(socket: unknown, ip: unknown, ipLen: unknown, port: unknown, peer: boolean): Promise<number> {
    if (!plausibleId(socket)) return IOT_SOCKET_ESOCK;
    if (!outArgsTypesOk(ip, ipLen, port)) return IOT_SOCKET_EINVAL;
    const rec = this.lookup(socket);
    if (rec === undefined) return IOT_SOCKET_ESOCK;
    const ipB = ip as Bytes, ipL = ipLen as NumRef, portR = port as NumRef;
    if (!outArgsFitFamily(rec.af, ipB, ipL)) return IOT_SOCKET_EINVAL;
    let ep: Endpoint | undefined;
    if (peer) {
      if (rec.type === IOT_SOCKET_SOCK_STREAM) {
        if (rec.state === 'connecting' && rec.core.connectResult() === 0) rec.state = 'connected';
        if (rec.state !== 'connected') return IOT_SOCKET_ENOTCONN;
      } else if (!rec.hasDest) {
        return IOT_SOCKET_ENOTCONN;
      }
      ep = rec.core.remoteEndpoint();
      if (ep === undefined) return IOT_SOCKET_ENOTCONN;
    } else {
      if (!rec.bound && rec.state === 'created') return IOT_SOCKET_EINVAL;
      ep = rec.core.localEndpoint();
      if (ep === undefined) return IOT_SOCKET_EINVAL;
    }
    writeOut(ep, ipB, ipL, portR);
    return 0;
  }

  // ---- GetOpt / SetOpt ----------------------------------------------------------

  /** GetOpt: `SO_RCVTIMEO`, `SO_SNDTIMEO` (ms, 0 = forever), `SO_KEEPALIVE`, `SO_TYPE`; other ids are `EINVAL`. */
  async getOpt(socket: unknown, optId: unknown, optVal: unknown, optLen: unknown): Promise<number> {
    if (!plausibleId(socket)) return IOT_SOCKET_ESOCK;
    if (optId !== IOT_SOCKET_SO_RCVTIMEO && optId !== IOT_SOCKET_SO_SNDTIMEO && optId !== IOT_SOCKET_SO_KEEPALIVE && optId !== IOT_SOCKET_SO_TYPE) {
      return IOT_SOCKET_EINVAL;
    }
    if (!isBytes(optVal) || !isRef(optLen) || optLen.value < 4 || optVal.length < 4) return IOT_SOCKET_EINVAL;
    const rec = this.lookup(socket);
    if (rec === undefined) return IOT_SOCKET_ESOCK;
    const v = optId === IOT_SOCKET_SO_RCVTIMEO ? rec.rcvTimeoMs
      : optId === IOT_SOCKET_SO_SNDTIMEO ? rec.sndTimeoMs
      : optId === IOT_SOCKET_SO_KEEPALIVE ? (rec.keepAlive ? 1 : 0)
      : rec.type;
    writeOpt(optVal, optLen, v);
    return 0;
  }

  /** SetOpt: `IO_FIONBIO` (non-blocking), `SO_RCVTIMEO`, `SO_SNDTIMEO` (ms), `SO_KEEPALIVE`; other ids are `EINVAL`. */
  async setOpt(socket: unknown, optId: unknown, optVal: unknown, optLen: unknown): Promise<number> {
    if (!plausibleId(socket)) return IOT_SOCKET_ESOCK;
    if (optId !== IOT_SOCKET_IO_FIONBIO && optId !== IOT_SOCKET_SO_RCVTIMEO && optId !== IOT_SOCKET_SO_SNDTIMEO && optId !== IOT_SOCKET_SO_KEEPALIVE) {
      return IOT_SOCKET_EINVAL;
    }
    if (!isBytes(optVal) || !isUint32(optLen) || optLen !== 4 || optVal.length < 4) return IOT_SOCKET_EINVAL;
    const rec = this.lookup(socket);
    if (rec === undefined) return IOT_SOCKET_ESOCK;
    const v = readOpt(optVal);
    switch (optId) {
      case IOT_SOCKET_IO_FIONBIO:
        rec.nbio = v !== 0;
        return 0;
      case IOT_SOCKET_SO_RCVTIMEO:
        rec.rcvTimeoMs = v;
        return 0;
      case IOT_SOCKET_SO_SNDTIMEO:
        rec.sndTimeoMs = v;
        return 0;
      default: {
        const r = rec.core.setKeepAlive(v !== 0);
        if (r === 0) rec.keepAlive = v !== 0;
        return r;
      }
    }
  }

  // ---- Close ------------------------------------------------------------------

  /** Close: frees the id at once; waits blocked on it end with `ESOCK`; 0 or `ESOCK`. */
  async close(socket: unknown): Promise<number> {
    if (!plausibleId(socket)) return IOT_SOCKET_ESOCK;
    const rec = this.socks.get(socket);
    if (rec === undefined || rec.released) return IOT_SOCKET_ESOCK;
    if (rec.closing !== undefined) {
      // A non-blocking close in flight (§7, row 51): EAGAIN until the backend finished.
      // Fix: the backend's result is passed on (it was dropped, so an AT close that failed
      // gave 0 while the same failure from a synchronous backend gave ERROR).
      if (rec.closeResult === undefined) return rec.nbio ? IOT_SOCKET_EAGAIN : rec.closing.then(() => this.release(rec, rec.closeResult));
      return this.release(rec, rec.closeResult);
    }
    // Every call pending on this socket settles with ESOCK (row 55).
    rec.ready.closeAll();
    const r = rec.core.close();
    if (typeof r === 'number') return this.release(rec, r);
    rec.closing = r.then((v) => (rec.closeResult = v), () => (rec.closeResult = IOT_SOCKET_ERROR));
    if (rec.nbio) return IOT_SOCKET_EAGAIN;
    await rec.closing;
    return this.release(rec, rec.closeResult);
  }

  private release(rec: SockRec, result = 0): number {
    if (!rec.released) {
      rec.released = true;
      rec.core.onChange(undefined);
      this.socks.delete(rec.id);
    }
    return result < 0 && result !== IOT_SOCKET_EAGAIN ? IOT_SOCKET_ERROR : 0;
  }

  /** Closes every open socket (abortively). For tests and shutdown. */
  async closeAll(): Promise<void> {
    for (const rec of [...this.socks.values()]) {
      rec.ready.closeAll();
      try {
        await rec.core.close(true);
      } catch {
        // Backends never throw; nothing to do if one does during shutdown.
      }
      this.release(rec);
    }
  }

  // ---- GetHostByName ------------------------------------------------------------

  /**
   * GetHostByName: through the backend's resolver; names of 1-255 UTF-8 bytes, `af` `IOT_SOCKET_AF_INET` or
   * `IOT_SOCKET_AF_INET6`.
   */
  async getHostByName(name: unknown, af: unknown, ip: unknown, ipLen: unknown): Promise<number> {
    if (typeof name !== 'string' || name.length === 0 || utf8Length(name) > MAX_NAME_BYTES) return IOT_SOCKET_EINVAL;
    if (af !== IOT_SOCKET_AF_INET && af !== IOT_SOCKET_AF_INET6) return IOT_SOCKET_EINVAL;
    const need = addrLen(af);
    if (!isBytes(ip) || !isRef(ipLen) || ipLen.value < need || ip.length < need) return IOT_SOCKET_EINVAL;
    const literal = parseIp(name);
    if (literal !== undefined) {
      if (literal.length !== need) return IOT_SOCKET_EHOSTNOTFOUND;
      ip.set(literal);
      ipLen.value = need;
      return 0;
    }
    // Row 53: a valid `af` the backend lacks -> ENOTSUP. Fix: IPv4 was not checked, so an
    // IPv6-only backend was asked for A records.
    if (af === IOT_SOCKET_AF_INET6 && !this.backend.caps.ipv6) return IOT_SOCKET_ENOTSUP;
    if (af === IOT_SOCKET_AF_INET && !this.backend.caps.ipv4) return IOT_SOCKET_ENOTSUP;
    const r = await this.backend.lookup(name, af);
    if (typeof r === 'number') return r < 0 ? r : IOT_SOCKET_ERROR;
    if (r.length !== need) return IOT_SOCKET_ERROR;
    ip.set(r);
    ipLen.value = need;
    return 0;
  }
}

const EMPTY = new Uint8Array(0);
/** Blocking stream sends from this size on lend the caller's buffer instead of copying it. */
export const LEND_MIN_BYTES = 16 * 1024;
const ERROR_RESULT = Promise.resolve(IOT_SOCKET_ERROR);
const toError = (): number => IOT_SOCKET_ERROR;

/** Bytes of `s` in UTF-8 as `TextEncoder` encodes it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) {
      // Fix: a pair is 4 bytes; a high surrogate not followed by a low one is U+FFFD
      // (3 bytes) and must not swallow the next character (it was counted 4 with it).
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/**
 * Builds an `IotSocketApi` over a backend, for `iotSocketRegisterApi`. Each call
 * creates an independent instance (its own socket ids).
 */
export function createIotSocketApi(backend: SocketBackend, options: IotSocketLayerOptions = {}): IotSocketApi {
  return new IotSocketLayer(backend, options).api();
}
