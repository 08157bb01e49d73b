/**
 * The socket side of a Quectel BG96/BG95/EC2x module: a `ModuleDriver` (../at/module-driver.ts)
 * over the TCP/IP commands of reference `at-modules.md` §3, in buffer access mode (pull).
 *
 * - Links are the module's connect ids 0–11. `open` sends `AT+QIOPEN=<cid>,<id>,"TCP"|"UDP SERVICE",…,0`
 *   and waits (≤ 150 s) for `+QIOPEN: <id>,<err>`; 563 (id in use) closes the id and tries another;
 *   a `+QIOPEN` for an id nobody asked for is closed (reference §6.11); a timeout or an abort closes
 *   the id. UDP always uses `"UDP SERVICE"` (the backend keeps the default destination and filter).
 * - `send`: `AT+QISEND=<id>,<len ≤ 1460>[,"<ip>",<port>]` → `> ` → bytes → `SEND OK` (len) /
 *   `SEND FAIL` (buffer full: 0) / `ERROR` (reject). A missing acknowledgement is settled by the
 *   module's counters (`AT+QISEND=<id>,0`) after a resync.
 * - `read`: `AT+QIRD=<id>,<n ≤ 1500>`, never more than asked; `+QIURC: "recv",<id>` → `readable`.
 * - `+QIURC: "closed",<id>`: the id is kept until `AT+QIRD` says nothing is unread, then
 *   `AT+QICLOSE=<id>` and `closed`.
 * - `listen`: `"TCP LISTENER"`; `+QIURC: "incoming",<id>,<srv>,"<ip>",<port>` → `accepted`.
 * - `lookup`: `AT+QIDNSGIP` and its `+QIURC: "dnsgip"` URCs (≤ 60 s).
 * - Module reset, unresponsive module or PDP loss (from `QuectelModem`) → `lost` with
 *   `ECONNABORTED` (`module-reset`, `unresponsive`, `pdp-deact`); URCs for unknown ids are ignored.
 */
import { formatIPv4, parseIPv4, parseIPv6 } from '../../base/ip-address.ts';
import { iotCodeValue } from '../../base/iot-constants.ts';
import { isSocketError, SocketError, type SocketErrorDetail } from '../../base/socket-error.ts';
import type { CancelTimer } from '../../base/time.ts';
import type { Unsubscribe } from '../../base/listeners.ts';
import { parseQirdHeader } from '../../wire/at/quectel-headers.ts';
import type { AtUrc } from '../at/at-engine.ts';
import { isAtError } from '../at/at-error.ts';
import type { Af, BackendCaps, Endpoint, LookupResult } from '../contract.ts';
import type { ModuleDriver, ModuleEvents, ModuleLink, ModuleOpenRequest, ModuleReceived } from '../at/module-driver.ts';
import { quectelError, quectelRefine, quectelSocketError } from './quectel-errors.ts';
import { QUECTEL_MAX_SOCKETS, QUECTEL_TIMEOUTS, type QuectelModem } from './quectel-modem.ts';
import { fieldInt } from '../../wire/at/at-params.ts';
import { parseQiopen, parseQirdCounters, parseQisendCounters, parseQistateLocalPort, parseQiurc } from './quectel-parse.ts';

/** Largest `AT+QISEND` payload. */
export const QUECTEL_MAX_SEND = 1460;
/** Largest `AT+QIRD` read. */
export const QUECTEL_MAX_READ = 1500;

/** Options of a {@link QuectelDriver}. */
export interface QuectelDriverOptions {
  /** A 566 (connect failed) later than this after the open is reported `ETIMEDOUT`, else `ECONNREFUSED` (default 30 s). */
  readonly refusedWithinMs?: number;
  /** Connection deadline advertised in `caps` (default 15 s; the module itself waits up to 150 s). */
  readonly connectTimeoutMs?: number;
  /** Ids 563 (in use) is retried with (default 3 more ids). */
  readonly openRetries?: number;
  /** Ask `AT+QISTATE=1,<id>` for a TCP link's local port once it opened (default true; getsockname). */
  readonly queryLocalPort?: boolean;
}

/** Counters (tests, diagnostics). */
export interface QuectelDriverStats {
  /** URCs naming an id the driver does not know (stale links from before a host reset). */
  strayUrcs: number;
  /** Links the module opened that nobody asked for, closed at once. */
  strayLinks: number;
  /** `SEND FAIL` answers (module buffer full). */
  sendFails: number;
  /** Sends whose acknowledgement never came, settled with `AT+QISEND=<id>,0`. */
  sendRecounts: number;
  /** `+QIURC: "incoming full"`. */
  incomingFull: number;
}

type LinkKind = 'tcp' | 'udp' | 'listener' | 'accepted';

interface LinkState {
  readonly id: number;
  readonly kind: LinkKind;
  state: 'opening' | 'open' | 'peer-closed' | 'closing';
  /** Bytes the module accepted on this link (its `AT+QISEND=<id>,0` total). */
  sentTotal: number;
  /** TCP bytes a module returned beyond what was asked, delivered first by the next read. */
  carry: Uint8Array | undefined;
  /** Listener: its port. */
  port: number;
  /** The pending `AT+QICLOSE`. */
  closing: Promise<void> | undefined;
}

interface PendingOpen {
  settle(err: number): void;
}

/** Why `waitOpen` ended without a `+QIOPEN`. */
const WRONG_ID = -1;
const TIMED_OUT = -2;
const ABORTED = -3;
/** The module was lost (reset, PDP loss) while the open waited. */
const LOST = -4;

/** A Quectel module's link operations for the generic module socket backend. */
export class QuectelDriver implements ModuleDriver {
  readonly caps: BackendCaps;
  readonly maxSend = QUECTEL_MAX_SEND;
  readonly pull = true;
  /** Counters (see `QuectelDriverStats`). */
  readonly stats: QuectelDriverStats = { strayUrcs: 0, strayLinks: 0, sendFails: 0, sendRecounts: 0, incomingFull: 0 };
  private readonly modem: QuectelModem;
  private readonly opts: QuectelDriverOptions;
  private events: ModuleEvents | undefined;
  private readonly links = new Map<number, LinkState>();
  private readonly opens = new Map<number, PendingOpen>();
  /**
   * Ids whose open was abandoned (aborted, timed out) before the module's `+QIOPEN` came: that late
   * URC is theirs, not a wrong id for a newer open, so the id stays unused until it arrives (or
   * the module's own open deadline passed).
   */
  private readonly abandoned = new Map<number, CancelTimer>();
  private readonly listeners = new Map<number, number>();
  private readonly unsubs: Unsubscribe[] = [];
  private dns: ((u: AtUrc) => void) | undefined;
  private dnsFail: ((e: SocketError) => void) | undefined;
  private lastLoss: SocketError | undefined;
  private dnsTail: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(modem: QuectelModem, options: QuectelDriverOptions = {}) {
    this.modem = modem;
    this.opts = options;
    this.caps = {
      ipv4: true,
      ipv6: false,
      tcp: true,
      udp: true,
      listen: true,
      maxSockets: QUECTEL_MAX_SOCKETS,
      maxDatagram: QUECTEL_MAX_SEND,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
    };
    const e = modem.engine;
    this.unsubs.push(
      e.onUrc('+QIOPEN:', (u) => this.qiopenUrc(u)),
      e.onUrc('+QIURC: "recv"', (u) => this.recvUrc(u)),
      e.onUrc('+QIURC: "closed"', (u) => this.closedUrc(u)),
      e.onUrc('+QIURC: "incoming full"', () => {
        this.stats.incomingFull++;
      }),
      e.onUrc('+QIURC: "incoming"', (u) => this.incomingUrc(u)),
      e.onUrc('+QIURC: "dnsgip"', (u) => this.dns?.(u)),
      modem.on('reset', (r) => this.loseAll(r.reason)),
      modem.on('pdp-down', (d) => this.loseAll(d.reason === 'deactivated' ? 'pdp-deactivated' : 'pdp-deact')),
    );
  }

  get name(): string {
    return this.modem.name;
  }

  attach(events: ModuleEvents): void {
    this.events = events;
  }

  /** Ids in use (open, opening or closing). */
  get linkIds(): number[] {
    return [...this.links.keys()].sort((a, b) => a - b);
  }

  // ---------------------------------------------------------------------------------------------
  // open

  async open(request: ModuleOpenRequest, signal?: AbortSignal): Promise<ModuleLink> {
    const address = `${formatIPv4(request.remote.address)}:${request.remote.port}`;
    const detail: SocketErrorDetail = { op: 'connect', backend: this.name, address };
    try {
      if (request.kind === 'ssl') throw new SocketError('ENOTSUP', { ...detail, reason: 'ssl' });
      if (request.af !== 1 || request.remote.address.length !== 4) throw new SocketError('ENOTSUP', { ...detail, reason: 'ipv6' });
      const kind: LinkKind = request.kind === 'udp' ? 'udp' : 'tcp';
      const target = kind === 'tcp'
        ? `"TCP","${formatIPv4(request.remote.address)}",${request.remote.port},0`
        : `"UDP SERVICE","127.0.0.1",0,${request.localPort}`;
      const id = await this.openLink(kind, target, detail, signal);
      if (kind === 'udp') return request.localPort !== 0 ? { id, localPort: request.localPort } : { id };
      const localPort = this.opts.queryLocalPort === false ? undefined : await this.localPortOf(id);
      return localPort !== undefined ? { id, localPort } : { id };
    } catch (e) {
      throw quectelSocketError(e, detail);
    }
  }

  /** The local port of a TCP link (`AT+QISTATE=1,<id>`), when the module says it. */
  private async localPortOf(id: number): Promise<number | undefined> {
    try {
      const r = await this.modem.command(`AT+QISTATE=1,${id}`);
      for (const line of r.lines) {
        const port = parseQistateLocalPort(line, id);
        if (port !== undefined) return port;
      }
    } catch {
      // Not worth failing the connection over: the local port stays unknown.
    }
    return undefined;
  }

  private async openLink(kind: LinkKind, target: string, detail: SocketErrorDetail, signal: AbortSignal | undefined, port = 0): Promise<number> {
    const tried = new Set<number>();
    const retries = this.opts.openRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      this.checkUsable(detail, signal);
      const id = this.freeId(tried);
      if (id === undefined) throw new SocketError('ENOMEM', { ...detail, reason: 'no-free-link' });
      tried.add(id);
      const link: LinkState = { id, kind, state: 'opening', sentTotal: 0, carry: undefined, port, closing: undefined };
      this.links.set(id, link);
      const start = this.modem.scheduler.now();
      const urc = this.waitOpen(id, signal);
      let err: number;
      try {
        await this.modem.command({ text: `AT+QIOPEN=${this.modem.contextId},${id},${target},0`, timeoutMs: QUECTEL_TIMEOUTS.qiopen });
        err = await urc.result;
      } catch (e) {
        urc.cancel();
        if (isAtError(e, 'cme') && e.code === 563 && attempt < retries) {
          await this.dropFailedOpen(link);
          continue;
        }
        if (this.links.get(id) === link) this.links.delete(id);
        throw e;
      }
      if (err === 0) {
        if (this.links.get(id) !== link) throw new SocketError('ECONNABORTED', { ...detail, reason: 'lost' });
        if (link.state === 'opening') link.state = 'open';
        return id;
      }
      await this.dropFailedOpen(link);
      if (err === 563 && attempt < retries) continue;
      if (err === TIMED_OUT) throw new SocketError('ETIMEDOUT', { ...detail, reason: 'qiopen-timeout' });
      if (err === ABORTED) {
        const reason: unknown = signal?.reason;
        throw reason instanceof SocketError ? reason : new SocketError('ECONNABORTED', { ...detail, reason: 'aborted' });
      }
      if (err === LOST) throw this.lastLoss ?? new SocketError('ECONNABORTED', { ...detail, reason: 'lost' });
      if (err === WRONG_ID) throw new SocketError('ERROR', { ...detail, reason: 'wrong-id' });
      const late = err === 566 && this.modem.scheduler.now() - start >= (this.opts.refusedWithinMs ?? 30_000);
      throw quectelError(err, detail, late ? 'ETIMEDOUT' : undefined);
    }
  }

  /** Closes an id whose open failed, unless the module has since given it to an accepted link. */
  private async dropFailedOpen(link: LinkState): Promise<void> {
    if (this.links.get(link.id) !== link) return;
    link.state = 'closing';
    await this.qiclose(link.id);
    if (this.links.get(link.id) === link) this.links.delete(link.id);
  }

  private checkUsable(detail: SocketErrorDetail, signal: AbortSignal | undefined): void {
    if (this.disposed) throw new SocketError('ECONNABORTED', { ...detail, reason: 'disposed' });
    if (signal?.aborted === true) {
      const reason: unknown = signal.reason;
      throw reason instanceof SocketError ? reason : new SocketError('ECONNABORTED', { ...detail, reason: 'aborted' });
    }
    if (this.modem.address === undefined) throw new SocketError('ECONNABORTED', { ...detail, reason: 'no-pdp' });
  }

  private freeId(tried: ReadonlySet<number>): number | undefined {
    for (let id = 0; id < QUECTEL_MAX_SOCKETS; id++) if (!this.links.has(id) && !tried.has(id) && !this.abandoned.has(id)) return id;
    return undefined;
  }

  /** Waits for `+QIOPEN: <id>,<err>` (150 s), the abort signal, or a wrong-id report. */
  private waitOpen(id: number, signal: AbortSignal | undefined): { result: Promise<number>; cancel: () => void } {
    let settle: (err: number) => void = () => undefined;
    const result = new Promise<number>((resolve) => {
      settle = resolve;
    });
    const onAbort = (): void => done(ABORTED);
    const done = (err: number): void => {
      if (this.opens.get(id) !== pending) return;
      this.opens.delete(id);
      timer();
      signal?.removeEventListener('abort', onAbort);
      if (err === ABORTED || err === TIMED_OUT) this.abandon(id);
      settle(err);
    };
    const pending: PendingOpen = { settle: done };
    this.opens.set(id, pending);
    const timer: CancelTimer = this.modem.scheduler.setTimer(QUECTEL_TIMEOUTS.qiopen, () => done(TIMED_OUT));
    signal?.addEventListener('abort', onAbort, { once: true });
    return { result, cancel: () => done(ABORTED) };
  }

  /** The module lost its state (or we are done): no late `+QIOPEN` will come. */
  private forgetAbandoned(): void {
    for (const cancel of this.abandoned.values()) cancel();
    this.abandoned.clear();
  }

  /** Keeps `id` unused until its late `+QIOPEN` arrives (at most the module's open deadline). */
  private abandon(id: number): void {
    this.abandoned.get(id)?.();
    this.abandoned.set(id, this.modem.scheduler.setTimer(QUECTEL_TIMEOUTS.qiopen, () => this.abandoned.delete(id)));
  }

  private qiopenUrc(u: AtUrc): void {
    const r = parseQiopen(u.line);
    if (r === undefined) return;
    const stale = this.abandoned.get(r.id);
    if (stale !== undefined) {
      // The late answer to an open given up on: close what it opened, fail nobody.
      stale();
      this.abandoned.delete(r.id);
      this.stats.strayUrcs++;
      if (r.err === 0 && !this.links.has(r.id)) {
        this.stats.strayLinks++;
        void this.qiclose(r.id);
      }
      return;
    }
    const pending = this.opens.get(r.id);
    if (pending !== undefined) {
      // Open at once: URCs of the same burst (`recv`, `closed` right behind `+QIOPEN`) belong to it.
      const l = this.links.get(r.id);
      if (r.err === 0 && l?.state === 'opening') l.state = 'open';
      pending.settle(r.err);
      return;
    }
    // Nobody waits for this id: a stale open, or the module opened another id than asked (§6.11).
    this.stats.strayUrcs++;
    if (r.err === 0 && !this.links.has(r.id) && r.id >= 0 && r.id < QUECTEL_MAX_SOCKETS) {
      this.stats.strayLinks++;
      void this.qiclose(r.id);
      if (this.opens.size === 1) for (const p of this.opens.values()) p.settle(WRONG_ID);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // send and read

  async send(link: number, bytes: Uint8Array, to?: Endpoint): Promise<number> {
    const detail: SocketErrorDetail = { op: 'send', backend: this.name, ...(to !== undefined ? { address: `${formatIPv4(to.address)}:${to.port}` } : {}) };
    const l = this.links.get(link);
    try {
      if (l === undefined || (l.kind !== 'tcp' && l.kind !== 'udp' && l.kind !== 'accepted')) {
        throw new SocketError('ENOTCONN', { ...detail, reason: 'no-link' });
      }
      if (l.state === 'closing' || l.state === 'opening') throw new SocketError('ENOTCONN', { ...detail, reason: 'link-closing' });
      const len = Math.min(bytes.length, QUECTEL_MAX_SEND);
      if (len === 0) return 0;
      let text = `AT+QISEND=${link},${len}`;
      if (l.kind === 'udp') {
        if (to === undefined || to.address.length !== 4) throw new SocketError('EINVAL', { ...detail, reason: 'no-destination' });
        text += `,"${formatIPv4(to.address)}",${to.port}`;
      }
      try {
        await this.modem.command({ text, data: bytes.slice(0, len) });
      } catch (e) {
        if (isAtError(e, 'send-fail')) {
          this.stats.sendFails++;
          return 0;
        }
        if (isAtError(e, 'timeout') && l.kind !== 'udp' && this.links.get(link) === l) return await this.recount(l, len, e);
        if (isAtError(e, 'error')) throw new SocketError('ECONNABORTED', { ...detail, reason: 'not-connected' }, { cause: e });
        throw e;
      }
      l.sentTotal += len;
      return len;
    } catch (e) {
      throw quectelSocketError(e, detail);
    }
  }

  /** The acknowledgement never came (§6.7): the module's own total says how much it took. */
  private async recount(l: LinkState, len: number, cause: unknown): Promise<number> {
    this.stats.sendRecounts++;
    let total: number | undefined;
    try {
      const r = await this.modem.command(`AT+QISEND=${l.id},0`);
      total = r.lines.map(parseQisendCounters).find((c) => c !== undefined)?.total;
    } catch {
      total = undefined;
    }
    if (total === undefined || total < l.sentTotal) throw cause;
    const took = Math.min(len, total - l.sentTotal);
    l.sentTotal += took;
    return took;
  }

  async read(link: number, max: number): Promise<ModuleReceived> {
    const detail: SocketErrorDetail = { op: 'recv', backend: this.name };
    const l = this.links.get(link);
    try {
      if (l === undefined || l.state === 'opening' || l.state === 'closing' || l.kind === 'listener') {
        throw new SocketError('ENOTCONN', { ...detail, reason: 'no-link' });
      }
      if (max <= 0) return { bytes: new Uint8Array(0) };
      if (l.carry !== undefined) {
        const bytes = l.carry.slice(0, max);
        l.carry = l.carry.length > max ? l.carry.slice(max) : undefined;
        return { bytes };
      }
      const n = Math.min(max, QUECTEL_MAX_READ);
      let payload;
      try {
        const r = await this.modem.command(`AT+QIRD=${link},${n}`);
        payload = r.payloads[0];
      } catch (e) {
        if (this.links.get(link) === l && (isAtError(e, 'error') || isAtError(e, 'cme'))) {
          // §6.21: the module no longer knows the link; reads would fail forever.
          const refined = quectelRefine(e);
          const gone = refined !== undefined
            ? new SocketError(refined.code, { ...detail, reason: refined.reason }, { cause: e })
            : new SocketError('ECONNABORTED', { ...detail, reason: 'qird-error' }, { cause: e });
          void this.forget(l, gone);
          throw gone;
        }
        throw e;
      }
      const header = payload !== undefined ? parseQirdHeader(payload.header) : undefined;
      let bytes = payload?.bytes ?? new Uint8Array(0);
      if (bytes.length > max) {
        if (l.kind !== 'udp') l.carry = bytes.slice(max);
        bytes = bytes.slice(0, max);
      }
      if (bytes.length === 0 && l.state === 'peer-closed' && this.links.get(link) === l) void this.forget(l, undefined);
      const from = header?.ip !== undefined && header.port !== undefined ? parseIPv4(header.ip) : undefined;
      return from !== undefined && header?.port !== undefined ? { bytes, from: { address: from, port: header.port } } : { bytes };
    } catch (e) {
      throw quectelSocketError(e, detail);
    }
  }

  private recvUrc(u: AtUrc): void {
    const q = parseQiurc(u.line);
    const id = fieldInt(q?.fields[0]);
    const l = id !== undefined ? this.links.get(id) : undefined;
    if (id === undefined || l === undefined || (l.state !== 'open' && l.state !== 'peer-closed')) {
      this.stats.strayUrcs++;
      return;
    }
    this.events?.readable(id, fieldInt(q?.fields[1]) ?? -1);
  }

  private closedUrc(u: AtUrc): void {
    const id = fieldInt(parseQiurc(u.line)?.fields[0]);
    const l = id !== undefined ? this.links.get(id) : undefined;
    if (l === undefined) {
      this.stats.strayUrcs++;
      return;
    }
    if (l.state !== 'open') return; // already closing (close race, §6.10)
    l.state = 'peer-closed';
    if (l.kind === 'listener') {
      void this.forget(l, new SocketError('ECONNABORTED', { op: 'listen', backend: this.name, reason: 'listener-closed' }));
      return;
    }
    void this.drainThenClose(l);
  }

  /** After `+QIURC: "closed"`: close at once if nothing is unread, else let the backend drain it. */
  private async drainThenClose(l: LinkState): Promise<void> {
    let unread = -1;
    if (l.carry === undefined) {
      try {
        const r = await this.modem.command(`AT+QIRD=${l.id},0`);
        unread = r.lines.map(parseQirdCounters).find((c) => c !== undefined)?.unread ?? -1;
      } catch {
        unread = -1;
      }
    }
    if (this.links.get(l.id) !== l || l.state !== 'peer-closed') return;
    if (unread === 0) await this.forget(l, undefined);
    else this.events?.readable(l.id, unread);
  }

  /** `AT+QICLOSE`, then `closed` to the backend (once). */
  private async forget(l: LinkState, error: SocketError | undefined): Promise<void> {
    if (this.links.get(l.id) !== l || l.state === 'closing') return;
    l.state = 'closing';
    l.closing = this.qiclose(l.id);
    await l.closing;
    if (this.links.get(l.id) !== l) return;
    this.links.delete(l.id);
    if (l.kind === 'listener') {
      if (this.listeners.get(l.port) === l.id) this.listeners.delete(l.port);
      return;
    }
    this.events?.closed(l.id, error);
  }

  // ---------------------------------------------------------------------------------------------
  // close, listen, lookup

  async closeLink(link: number): Promise<void> {
    const l = this.links.get(link);
    if (l === undefined) return;
    if (l.closing !== undefined) {
      await l.closing;
      if (this.links.get(link) === l) this.links.delete(link);
      return;
    }
    l.state = 'closing';
    l.closing = this.qiclose(link);
    await l.closing;
    if (this.links.get(link) === l) this.links.delete(link);
  }

  /** `AT+QICLOSE=<id>` (10 s), never rejecting. */
  private async qiclose(id: number): Promise<void> {
    try {
      await this.modem.command({ text: `AT+QICLOSE=${id}`, timeoutMs: QUECTEL_TIMEOUTS.qiclose });
    } catch {
      // The module forces the close after its timeout; a reset frees every id anyway.
    }
  }

  async listen(port: number, _backlog: number): Promise<void> {
    const detail: SocketErrorDetail = { op: 'listen', backend: this.name, address: `0.0.0.0:${port}` };
    try {
      if (this.listeners.has(port)) throw new SocketError('EADDRINUSE', { ...detail, reason: 'listening' });
      const id = await this.openLink('listener', `"TCP LISTENER","127.0.0.1",0,${port}`, detail, undefined, port);
      this.listeners.set(port, id);
    } catch (e) {
      const err = quectelSocketError(e, detail);
      throw err.detail.reason === 'qi:556' || err.detail.reason === 'qi:574' || err.detail.reason === 'qi:557'
        ? new SocketError('EADDRINUSE', err.detail, { cause: err })
        : err;
    }
  }

  async unlisten(port: number): Promise<void> {
    const id = this.listeners.get(port);
    if (id === undefined) return;
    this.listeners.delete(port);
    await this.closeLink(id);
  }

  private incomingUrc(u: AtUrc): void {
    const f = parseQiurc(u.line)?.fields ?? [];
    const id = fieldInt(f[0]);
    const srv = fieldInt(f[1]);
    const ip = f[2]?.text !== undefined ? parseIPv4(f[2].text) : undefined;
    const rport = fieldInt(f[3]);
    const server = srv !== undefined ? this.links.get(srv) : undefined;
    if (id === undefined || ip === undefined || rport === undefined || server?.kind !== 'listener' || id < 0 || id >= QUECTEL_MAX_SOCKETS) {
      this.stats.strayUrcs++;
      return;
    }
    const existing = this.links.get(id);
    if (existing !== undefined && existing.state !== 'opening') {
      this.stats.strayUrcs++;
      return;
    }
    // An open racing for the same id will see 563 and move on without closing it.
    this.opens.get(id)?.settle(563);
    this.links.set(id, { id, kind: 'accepted', state: 'open', sentTotal: 0, carry: undefined, port: server.port, closing: undefined });
    this.events?.accepted(id, { address: ip, port: rport }, server.port);
  }

  /**
   * Resolves the first address of family `af`, or, as `SocketBackend.lookup` does, a negative IoT
   * code (`EHOSTNOTFOUND`, `ETIMEDOUT`, `ECONNABORTED`, `ERROR`): the generic module backend
   * passes this result through to `Network` unchanged. {@link lookupDetailed} rejects with the
   * `SocketError` instead.
   */
  async lookup(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult> {
    try {
      return await this.lookupDetailed(name, af, signal);
    } catch (e) {
      return iotCodeValue(isSocketError(e) ? e.code : 'ERROR');
    }
  }

  /** As `lookup`, rejecting with a `SocketError` (reason `qi:565`, `dns-timeout`, ...) on failure. */
  lookupDetailed(name: string, af: Af, signal?: AbortSignal): Promise<Uint8Array> {
    const run = (): Promise<Uint8Array> => this.lookupOne(name, af, signal);
    const p = this.dnsTail.then(run, run);
    this.dnsTail = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  private async lookupOne(name: string, af: Af, signal: AbortSignal | undefined): Promise<Uint8Array> {
    const detail: SocketErrorDetail = { op: 'lookup', backend: this.name, address: name };
    try {
      this.checkUsable(detail, signal);
      if (name.length === 0 || name.length > 255 || !/^[A-Za-z0-9._-]+$/.test(name)) {
        throw new SocketError('EHOSTNOTFOUND', { ...detail, reason: 'bad-name' });
      }
      const answer = this.waitDns(detail, signal);
      try {
        await this.modem.command({ text: `AT+QIDNSGIP=${this.modem.contextId},"${name}"`, timeoutMs: QUECTEL_TIMEOUTS.qidnsgip });
      } catch (e) {
        answer.cancel();
        throw e;
      }
      const addresses = await answer.result;
      for (const a of addresses) {
        const bytes = af === 1 ? parseIPv4(a) : parseIPv6(a);
        if (bytes !== undefined) return bytes;
      }
      throw new SocketError('EHOSTNOTFOUND', { ...detail, reason: 'no-address' });
    } catch (e) {
      throw quectelSocketError(e, detail);
    }
  }

  /** Collects `+QIURC: "dnsgip",<err>,<count>,<ttl>` and its `count` address URCs (60 s). */
  private waitDns(detail: SocketErrorDetail, signal: AbortSignal | undefined): { result: Promise<string[]>; cancel: () => void } {
    let finish: (r: string[] | SocketError) => void = () => undefined;
    const result = new Promise<string[]>((resolve, reject) => {
      finish = (r) => {
        this.dns = undefined;
        this.dnsFail = undefined;
        timer();
        signal?.removeEventListener('abort', onAbort);
        if (r instanceof SocketError) reject(r);
        else resolve(r);
      };
    });
    result.catch(() => undefined);
    const onAbort = (): void => finish(new SocketError('ECONNABORTED', { ...detail, reason: 'aborted' }));
    const timer = this.modem.scheduler.setTimer(QUECTEL_TIMEOUTS.qidnsgip, () => finish(new SocketError('ETIMEDOUT', { ...detail, reason: 'dns-timeout' })));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.dnsFail = finish;
    let expected: number | undefined;
    const addresses: string[] = [];
    this.dns = (u) => {
      const f = parseQiurc(u.line)?.fields ?? [];
      if (expected === undefined) {
        const err = fieldInt(f[0]);
        if (err === undefined || f[0]?.quoted === true) return;
        if (err !== 0) {
          finish(quectelError(err, detail, err === 565 ? 'EHOSTNOTFOUND' : err === 569 ? 'ETIMEDOUT' : undefined));
          return;
        }
        expected = fieldInt(f[1]) ?? 0;
        if (expected === 0) finish(new SocketError('EHOSTNOTFOUND', { ...detail, reason: 'no-address' }));
        return;
      }
      if (f[0]?.quoted === true) addresses.push(f[0].text);
      if (addresses.length >= expected) finish(addresses);
    };
    return { result, cancel: () => finish(new SocketError('ECONNABORTED', { ...detail, reason: 'cancelled' })) };
  }

  localAddress(af: Af): Uint8Array | undefined {
    const a = this.modem.address;
    if (a === undefined) return undefined;
    return af === 1 ? parseIPv4(a) : parseIPv6(a);
  }

  // ---------------------------------------------------------------------------------------------
  // losses and disposal

  private loseAll(reason: string): void {
    const error = new SocketError('ECONNABORTED', { op: 'link', backend: this.name, reason });
    this.lastLoss = error;
    const hadLinks = this.links.size > 0 || this.opens.size > 0;
    for (const p of [...this.opens.values()]) p.settle(LOST);
    this.links.clear();
    this.forgetAbandoned();
    this.listeners.clear();
    this.dnsFail?.(error);
    // Nothing to report when no link existed (a reset during the first bring-up).
    if (hadLinks) this.events?.lost(error);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const u of this.unsubs.splice(0)) u();
    this.lastLoss = new SocketError('ECONNABORTED', { op: 'link', backend: this.name, reason: 'disposed' });
    for (const p of [...this.opens.values()]) p.settle(LOST);
    this.dnsFail?.(this.lastLoss);
    this.links.clear();
    this.forgetAbandoned();
    this.modem.dispose();
    await Promise.resolve();
  }
}
