/**
 * One DNS exchange with one server over backend sockets: a query out, the matching
 * response back, or a timeout, an abort or a socket error.
 *
 * - **UDP**: a fresh datagram socket per exchange, so every query leaves from a new
 *   random port (the backend's RFC 6056 implicit bind); the socket is connected to the
 *   server, so the backend filters other sources and, on stacks that report ICMP
 *   errors (the userspace stack), a closed port ends the try at once (`ECONNREFUSED`).
 *   Every datagram that still arrives is checked (RFC 5452 §9.1): source address and
 *   port, QR set, the id, opcode QUERY and the question (name case-insensitively, type,
 *   class). Mismatches and undecodable datagrams are dropped and counted; the exchange
 *   keeps waiting until its timeout.
 * - **TCP** (after a truncated UDP answer, RFC 7766): connect, one query with the
 *   2-byte length prefix, read one framed response, close. Same matching (the source
 *   is the connected peer).
 *
 * Waiting uses the socket's change callback, a timer on the injected `Scheduler` and
 * the query's `AbortSignal`, all feeding one `Wakeup`.
 */
import type { Af, CoreSocket, RecvInfo, SockType } from '../contract.ts';
import { CORE_EOF } from '../contract.ts';
import {
  IOT_SOCKET_EAGAIN, IOT_SOCKET_EALREADY, IOT_SOCKET_ECONNRESET, IOT_SOCKET_EINPROGRESS, IOT_SOCKET_EISCONN,
} from '../../base/iot-constants.ts';
import { ipEquals } from '../../base/ip-address.ts';
import type { Scheduler } from '../../base/time.ts';
import type { DecodedPacket, RecordType } from './dns-codec.ts';
import { decodeDnsMessage, opcodeOf, rcodeOf, RCODE_NOERROR, RCODE_NXDOMAIN } from './dns-codec.ts';
import { sameName } from './dns-name.ts';
import type { DnsServerAddress } from './dns-servers.ts';

/** Where the resolver gets its sockets: any `SocketBackend`, or a backend's internal factory. */
export interface DnsSocketFactory {
  /** A new non-blocking socket (a `CoreSocket`) or a negative IoT Socket code. */
  createSocket(af: Af, type: SockType): CoreSocket | number;
}

/** One encoded query and what its answer must match. */
export interface DnsRequest {
  readonly id: number;
  /** The question name as sent. */
  readonly name: string;
  readonly type: RecordType;
  readonly bytes: Uint8Array;
}

/** How an exchange ended. */
export type ExchangeOutcome =
  | { readonly kind: 'response'; readonly message: DecodedPacket }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' }
  /** The socket failed: could not be created or connected, ICMP refusal, reset (an IoT Socket code). */
  | { readonly kind: 'error'; readonly code: number };

/** Counters the transport updates (the resolver's stats object). */
export interface TransportCounters {
  mismatched: number;
  malformed: number;
}

/** What every exchange needs. */
export interface ExchangeContext {
  readonly sockets: DnsSocketFactory;
  readonly scheduler: Scheduler;
  /** The query's abort signal (all its waiters gave up, or the resolver closed). */
  readonly signal: AbortSignal;
  readonly counters: TransportCounters;
  /** UDP receive buffer of `DNS_MAX_MESSAGE` bytes, shared: used only between two awaits. */
  readonly scratch: Uint8Array;
}

/** One-shot wake-ups for a waiting loop: `notify` from callbacks, `wait` in the loop; no lost wake-ups. */
class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  readonly notify = (): void => {
    this.pending = true;
    const r = this.resolve;
    this.resolve = undefined;
    r?.();
  };

  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.resolve = () => {
        this.pending = false;
        resolve();
      };
    });
  }
}

/** A socket with its wake-up sources wired, and their removal. */
class Session {
  readonly wake = new Wakeup();
  timedOut = false;
  private readonly cancelTimer: () => void;

  constructor(
    readonly ctx: ExchangeContext,
    readonly socket: CoreSocket,
    timeoutMs: number,
  ) {
    socket.onChange(this.wake.notify);
    this.cancelTimer = ctx.scheduler.setTimer(timeoutMs, () => {
      this.timedOut = true;
      this.wake.notify();
    });
    ctx.signal.addEventListener('abort', this.wake.notify);
  }

  /** The outcome if the exchange must stop waiting now. */
  stopped(): ExchangeOutcome | undefined {
    if (this.ctx.signal.aborted) return ABORTED;
    if (this.timedOut) return TIMEOUT;
    return undefined;
  }

  end(): void {
    this.cancelTimer();
    this.ctx.signal.removeEventListener('abort', this.wake.notify);
    this.socket.onChange(undefined);
    try {
      void Promise.resolve(this.socket.close()).catch(() => undefined);
    } catch {
      // backends never throw from close; nothing else to release
    }
  }
}

const TIMEOUT: ExchangeOutcome = Object.freeze({ kind: 'timeout' });
const ABORTED: ExchangeOutcome = Object.freeze({ kind: 'aborted' });

function failed(code: number): ExchangeOutcome {
  return { kind: 'error', code };
}

/**
 * True if `m` answers `req` (RFC 5452 §9.1, less the transport checks): a response
 * with the same id and opcode QUERY, echoing the question. A response without a
 * question is accepted only with an error RCODE (some servers send FORMERR/SERVFAIL
 * that way); it can then only move the resolver on to the next server.
 */
export function matchesRequest(m: DecodedPacket, req: DnsRequest): boolean {
  if (m.type !== 'response' || m.id !== req.id || opcodeOf(m) !== 0) return false;
  const questions = m.questions ?? [];
  if (questions.length === 0) {
    const rcode = rcodeOf(m);
    return rcode !== RCODE_NOERROR && rcode !== RCODE_NXDOMAIN;
  }
  const q = questions[0];
  return (
    questions.length === 1 &&
    q !== undefined &&
    q.type === req.type &&
    (q.class ?? 'IN') === 'IN' &&
    sameName(q.name, req.name)
  );
}

/** Checks one received message; the decoded response if it answers `req`, else counts it. */
function accept(ctx: ExchangeContext, bytes: Uint8Array, req: DnsRequest): DecodedPacket | undefined {
  const m = decodeDnsMessage(bytes);
  if (m === undefined) {
    ctx.counters.malformed++;
    return undefined;
  }
  if (!matchesRequest(m, req)) {
    ctx.counters.mismatched++;
    return undefined;
  }
  return m;
}

/** Sends `req` to `server` over UDP and waits up to `timeoutMs` for the matching response. */
export async function udpExchange(ctx: ExchangeContext, server: DnsServerAddress, req: DnsRequest, timeoutMs: number): Promise<ExchangeOutcome> {
  const socket = ctx.sockets.createSocket(server.af, 2);
  if (typeof socket === 'number') return failed(socket);
  const s = new Session(ctx, socket, timeoutMs);
  try {
    const c = await socket.connect(server.address, server.port);
    if (c < 0) return failed(c);
    for (;;) {
      const stop = s.stopped();
      if (stop !== undefined) return stop;
      const n = socket.send(req.bytes, req.bytes.length);
      if (n >= 0) break;
      if (n !== IOT_SOCKET_EAGAIN) return failed(n);
      await s.wake.wait();
    }
    const from: RecvInfo = { address: undefined, port: 0 };
    for (;;) {
      for (;;) {
        from.address = undefined;
        const n = socket.recv(ctx.scratch, ctx.scratch.length, from);
        if (n === IOT_SOCKET_EAGAIN) break;
        if (n < 0) return failed(n);
        if (from.address !== undefined && (!ipEquals(from.address, server.address) || from.port !== server.port)) {
          ctx.counters.mismatched++; // not from the server we asked (RFC 5452 §9.1)
          continue;
        }
        // A copy: the codec's Buffer-typed fields (TXT, OPT options) would alias the shared buffer.
        const m = accept(ctx, ctx.scratch.slice(0, n), req);
        if (m !== undefined) return { kind: 'response', message: m };
      }
      const stop = s.stopped();
      if (stop !== undefined) return stop;
      await s.wake.wait();
    }
  } finally {
    s.end();
  }
}

/** Sends `req` to `server` over TCP (2-byte length framing) and reads one response, within `timeoutMs`. */
export async function tcpExchange(ctx: ExchangeContext, server: DnsServerAddress, req: DnsRequest, timeoutMs: number): Promise<ExchangeOutcome> {
  const socket = ctx.sockets.createSocket(server.af, 1);
  if (typeof socket === 'number') return failed(socket);
  const s = new Session(ctx, socket, timeoutMs);
  try {
    let r = await socket.connect(server.address, server.port);
    while (r === IOT_SOCKET_EINPROGRESS || r === IOT_SOCKET_EALREADY) {
      const stop = s.stopped();
      if (stop !== undefined) return stop;
      await s.wake.wait();
      r = socket.connectResult();
    }
    if (r < 0 && r !== IOT_SOCKET_EISCONN) return failed(r);
    const framed = new Uint8Array(2 + req.bytes.length);
    framed[0] = req.bytes.length >> 8;
    framed[1] = req.bytes.length & 0xff;
    framed.set(req.bytes, 2);
    for (let off = 0; off < framed.length; ) {
      const n = socket.send(framed.subarray(off), framed.length - off);
      if (n > 0) {
        off += n;
        continue;
      }
      if (n !== IOT_SOCKET_EAGAIN && n !== 0) return failed(n);
      const stop = s.stopped();
      if (stop !== undefined) return stop;
      await s.wake.wait();
    }
    // Responses, each framed; one that does not match is skipped (RFC 7766 allows any order).
    // Own buffers: the shared scratch buffer is only for synchronous use.
    const head = new Uint8Array(2);
    for (;;) {
      const r1 = await readFully(s, head);
      if (r1 !== undefined) return r1;
      const len = ((head[0] as number) << 8) | (head[1] as number);
      if (len === 0) {
        ctx.counters.malformed++;
        continue;
      }
      const body = new Uint8Array(len);
      const r2 = await readFully(s, body);
      if (r2 !== undefined) return r2;
      const m = accept(ctx, body, req);
      if (m !== undefined) return { kind: 'response', message: m };
    }
  } finally {
    s.end();
  }
}

/** Fills `buf` from the stream; undefined when full, else why it stopped. */
async function readFully(s: Session, buf: Uint8Array): Promise<ExchangeOutcome | undefined> {
  for (let got = 0; got < buf.length; ) {
    const n = s.socket.recv(buf.subarray(got), buf.length - got);
    if (n > 0) {
      got += n;
      continue;
    }
    if (n === CORE_EOF) return failed(IOT_SOCKET_ECONNRESET);
    if (n !== IOT_SOCKET_EAGAIN && n !== 0) return failed(n);
    const stop = s.stopped();
    if (stop !== undefined) return stop;
    await s.wake.wait();
  }
  return undefined;
}
