/**
 * The socket side of an ESP-AT module: a `ModuleDriver` (link ids 0-4) for the generic module
 * socket backend. TCP, UDP and SSL links with `AT+CIPSTART`; sends through the `>` prompt with
 * `Recv N bytes` / `SEND OK` / `SEND FAIL` and the firmware's quirks (reference §6 item 7); active
 * receive (`+IPD,<id>,<len>:` → `data`) and passive receive (`+IPD,<id>,<len>` → `AT+CIPRECVLEN?`
 * → `readable`, then `AT+CIPRECVDATA`); `<id>,CLOSED` (also glued to payload bytes, during a close,
 * late after a failed open); one TCP server (`AT+CIPSERVER`) whose links arrive as `<id>,CONNECT`
 * or `+LINK_CONN`; `AT+CIPDOMAIN`; `lost` on module reset and Wi-Fi loss.
 */
import { formatIPv4, parseIPv4 } from '../../base/ip-address.ts';
import { iotCodeValue } from '../../base/iot-constants.ts';
import { type SocketError } from '../../base/socket-error.ts';
import { lineTimeMs } from '../../link/byte-stream.ts';
import { parseIpdHeader, parseRecvDataHeader } from '../../wire/at/esp-headers.ts';
import { atQuote } from '../../wire/at/at-params.ts';
import type { Af, BackendCaps, Endpoint, LookupResult } from '../contract.ts';
import { AtError, isAtError } from '../at/at-error.ts';
import type { AtUrc } from '../at/at-engine.ts';
import { atSocketError } from '../at/at-socket-error.ts';
import type { ModuleDriver, ModuleEvents, ModuleLink, ModuleLinkKind, ModuleOpenRequest, ModuleReceived } from '../at/module-driver.ts';
import type { EspAtModule } from './esp-module.ts';
import { parseCipdomain, parseCiprecvlen, parseLinkConn, parseLinkLine, parseLinkState, parseRecvBytes } from './esp-parse.ts';
import type { EspWifi } from './esp-wifi.ts';

/** ESP-AT link ids (reference §1.5). */
export const ESP_LINKS = 5;

/** Counters for tests and diagnostics. */
export interface EspDriverStats {
  /** `+IPD`, `CONNECT`, `CLOSED` for ids the driver does not know (stale links after a host reset). */
  strayUrcs: number;
  /** Sends that succeeded only after a late `SEND OK` (after `SEND FAIL` or `ERROR`) or without one. */
  lateAcks: number;
  /** Bytes the module returned beyond what `AT+CIPRECVDATA` asked (kept for the next read). */
  overreadBytes: number;
  /** Links the module had in use that the driver did not know (`ALREADY CONNECTED`). */
  idClashes: number;
  /** `lost` events. */
  losses: number;
}

type LinkState = 'opening' | 'open' | 'closing' | 'abandoned';

interface Link {
  readonly id: number;
  state: LinkState;
  readonly kind: ModuleLinkKind;
  /** `<id>,CONNECT` seen during our `AT+CIPSTART`. */
  connectSeen: boolean;
  /**
   * Events that wait, in order: an accepted link's while its remote is looked up, an opening
   * link's between its `CONNECT` and the resolution of `open` (`+IPD` right after the `OK`).
   */
  held: (() => void)[] | undefined;
  /** Pull mode: bytes beyond what a read asked for. */
  leftover: ModuleReceived | undefined;
  reading: boolean;
  /** `CLOSED` arrived while a read was in flight or bytes were left over. */
  closePending: boolean;
  /** Passive notice count, until `AT+CIPRECVLEN?` answers. */
  noticed: number;
  /** The local port, when the module said (`+LINK_CONN`). */
  localPort: number | undefined;
  closing: Promise<void> | undefined;
}

/** Options of the ESP-AT socket driver: backend name, ephemeral UDP ports, local-port queries. */
export interface EspDriverOptions {
  /** Backend name (default the module's). */
  readonly name?: string;
  /** First local port for UDP sockets bound to port 0 (default 49152). */
  readonly ephemeralPortBase?: number;
  /**
   * Ask `AT+CIPSTATE?` (NONOS `AT+CIPSTATUS`) for a TCP/SSL link's local port once it opened, when
   * `+LINK_CONN` did not say it (getsockname); default true.
   */
  readonly queryLocalPort?: boolean;
}

const ZERO4 = new Uint8Array(4);
const IPD_NOTICE = /^\+IPD,([0-4]),(\d{1,9})$/;

function endpointText(e: Endpoint): string {
  return `${formatIPv4(e.address)}:${e.port}`;
}

/** The ESP-AT `ModuleDriver`. */
export class EspAtDriver implements ModuleDriver {
  readonly name: string;
  readonly caps: BackendCaps = {
    ipv4: true,
    ipv6: false,
    tcp: true,
    udp: true,
    listen: true,
    maxSockets: ESP_LINKS,
    maxDatagram: 1472,
    connectTimeoutMs: 17_000,
  };
  /** Counters (see `EspDriverStats`). */
  readonly stats: EspDriverStats = { strayUrcs: 0, lateAcks: 0, overreadBytes: 0, idClashes: 0, losses: 0 };
  /** The module it drives. */
  readonly module: EspAtModule;
  /** Its Wi-Fi station. */
  readonly wifi: EspWifi;
  private events: ModuleEvents | undefined;
  private readonly links: (Link | undefined)[] = new Array<Link | undefined>(ESP_LINKS).fill(undefined);
  private server: { port: number } | undefined;
  private lenCheck: Promise<void> | undefined;
  private nextPort: number;
  private readonly portBase: number;
  private readonly queryLocalPort: boolean;
  private readonly unsubs: (() => void)[] = [];

  constructor(module: EspAtModule, wifi: EspWifi, options: EspDriverOptions = {}) {
    this.module = module;
    this.wifi = wifi;
    this.name = options.name ?? module.name;
    this.portBase = options.ephemeralPortBase ?? 49152;
    this.queryLocalPort = options.queryLocalPort ?? true;
    this.nextPort = this.portBase;
    const e = module.engine;
    this.unsubs.push(
      e.onUrc('+IPD,', (u) => this.onIpd(u)),
      e.onUrc(/^[0-4],(?:CONNECT|CLOSED|CONNECT FAIL)$/, (u) => this.onLinkLine(u.line)),
      e.onUrc('+LINK_CONN:', (u) => this.onLinkConn(u.line)),
      module.onReset((reason) => this.loseAll(reason, false)),
      wifi.on('disconnected', (ev) => {
        // During a module reset the module's own `lost` says it.
        if (this.module.state === 'ready') this.loseAll(ev.requested ? 'wifi-left' : 'wifi-lost', true);
      }),
    );
  }

  get maxSend(): number {
    return this.module.dialect?.maxSend ?? 2048;
  }

  get pull(): boolean {
    return this.module.passive;
  }

  attach(events: ModuleEvents): void {
    this.events = events;
  }

  // ---- open

  async open(request: ModuleOpenRequest, signal?: AbortSignal): Promise<ModuleLink> {
    const detail = { op: 'connect', backend: this.name, address: endpointText(request.remote) };
    try {
      if (request.af !== 1 || request.remote.address.length !== 4) throw this.module.error('ENOTSUP', 'ipv6', 'connect');
      for (let attempt = 0; attempt < 3; attempt++) {
        if (signal?.aborted === true) throw this.module.error('ECONNABORTED', 'aborted', 'connect');
        const link = await this.allocate(request.kind);
        const opened = await this.start(link, request, signal);
        if (opened !== undefined) return opened;
      }
      throw this.module.error('ENOMEM', 'link-id-clash', 'connect');
    } catch (e) {
      throw atSocketError(e, detail);
    }
  }

  /** A free link id, marked `opening`: low ids first, high ids while a server runs (its links take low ones). */
  private async allocate(kind: ModuleLinkKind): Promise<Link> {
    for (let round = 0; round < 2; round++) {
      const order = this.server !== undefined ? [4, 3, 2, 1, 0] : [0, 1, 2, 3, 4];
      for (const id of order) {
        if (this.links[id] !== undefined) continue;
        return this.newLink(id, 'opening', kind);
      }
      // Ids being closed come free soon (Mbed closes before it opens).
      const closing = this.links.find((l) => l?.closing !== undefined)?.closing;
      if (closing === undefined) break;
      await closing;
    }
    throw this.module.error('ENOMEM', 'no-free-link', 'connect');
  }

  private startCommand(id: number, r: ModuleOpenRequest): string {
    const ip = formatIPv4(r.remote.address);
    if (r.kind === 'udp') {
      if (r.remote.port === 0 || ip === '0.0.0.0') {
        // Unconnected: receive from anyone on a fixed local port, mode 2 (what real firmware accepts).
        const lport = r.localPort !== 0 ? r.localPort : this.ephemeralPort();
        return `AT+CIPSTART=${id},"UDP","0.0.0.0",${lport},${lport},2`;
      }
      return `AT+CIPSTART=${id},"UDP","${ip}",${r.remote.port}${r.localPort !== 0 ? `,${r.localPort},0` : ''}`;
    }
    const keepAlive = r.keepAliveS > 0 ? `,${Math.min(7200, Math.max(1, Math.round(r.keepAliveS)))}` : '';
    return `AT+CIPSTART=${id},"${r.kind === 'ssl' ? 'SSL' : 'TCP'}","${ip}",${r.remote.port}${keepAlive}`;
  }

  private ephemeralPort(): number {
    const p = this.nextPort;
    this.nextPort = p >= 65535 ? this.portBase : p + 1;
    return p;
  }

  /** Runs `AT+CIPSTART`; the link, or undefined to try another id (the module had this one in use). */
  private async start(link: Link, request: ModuleOpenRequest, signal: AbortSignal | undefined): Promise<ModuleLink | undefined> {
    const id = link.id;
    const t = this.module.timeouts;
    const timeoutMs = request.kind === 'ssl' ? t.ssl : request.kind === 'tcp' ? t.connect : t.misc * 2;
    const text = this.startCommand(id, request);
    const exec = this.module.exec({ text, timeoutMs });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(this.module.error('ECONNABORTED', 'aborted', 'connect'));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      await Promise.race([exec, aborted]);
    } catch (e) {
      if (signal?.aborted === true && this.links[id] === link) {
        // The module may still open it: close it then.
        link.state = 'abandoned';
        exec.then(
          () => {
            if (this.links[id] === link) void this.closeLink(id);
          },
          () => this.free(link),
        );
        throw e;
      }
      this.free(link);
      if (isAtError(e, 'error') && e.lines.includes('ALREADY CONNECTED')) {
        this.stats.idClashes++;
        this.adoptClash(id, link.connectSeen);
        return undefined;
      }
      throw this.openError(e, request.kind);
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
    if (this.links[id] !== link || link.state !== 'opening') throw this.module.error('ECONNABORTED', 'link-lost', 'connect');
    link.state = 'open';
    if (link.held !== undefined) this.module.scheduler.setTimer(0, () => this.release(link));
    let lport = link.localPort ?? (request.kind === 'udp' ? Number(/,(\d+),\d$/.exec(text)?.[1] ?? 0) : 0);
    if (lport === 0 && request.kind !== 'udp' && this.queryLocalPort) lport = await this.localPortOf(id);
    return lport > 0 ? { id, localPort: lport } : { id };
  }

  /** A link's local port from the link list (`AT+CIPSTATE?` / `AT+CIPSTATUS`), or 0. */
  private async localPortOf(id: number): Promise<number> {
    try {
      const r = await this.module.exec(this.module.dialect?.linkQuery ?? 'AT+CIPSTATE?');
      for (const line of r.lines) {
        const s = parseLinkState(line);
        if (s !== undefined && s.id === id) return s.localPort;
      }
    } catch {
      // Not worth failing the connection over: the local port stays unknown.
    }
    return 0;
  }

  private openError(e: unknown, kind: ModuleLinkKind): unknown {
    if (!(e instanceof AtError)) return e;
    const detail = { op: 'connect', backend: this.name };
    if (e.lines.some((l) => /^DNS Fail/i.test(l))) return this.module.error('EHOSTNOTFOUND', 'dns-fail', 'connect', e);
    // A plain ERROR while the station has no address (a re-join after a reset still running) is
    // no refusal by the peer: the module has no network.
    if (e.reason === 'error' && (e.lines.includes('no ip') || this.wifi.status !== 'got-ip')) {
      return atSocketError(e, { ...detail, reason: 'no-network' }, () => ({ code: 'ECONNABORTED', reason: 'no-network' }));
    }
    if (e.reason === 'error' || e.reason === 'aborted') {
      return atSocketError(e, detail, () => (kind === 'udp' ? { code: 'ERROR', reason: 'udp-open-failed' } : { code: 'ECONNREFUSED', reason: 'connect-failed' }));
    }
    if (e.reason === 'timeout') return atSocketError(e, detail, () => ({ code: 'ETIMEDOUT', reason: 'connect-timeout' }));
    return e;
  }

  /** `ALREADY CONNECTED`: a server link that took the id while we asked for it, or a stale link. */
  private adoptClash(id: number, connectSeen: boolean): void {
    if (this.links[id] !== undefined) return;
    if (connectSeen && this.server !== undefined) {
      this.accept(id, undefined);
      return;
    }
    // A stale link of a previous host session: close it so the id comes free.
    void this.closeStale(id, 'tcp');
  }

  private newLink(id: number, state: LinkState, kind: ModuleLinkKind): Link {
    const link: Link = {
      id,
      state,
      kind,
      connectSeen: false,
      held: undefined,
      leftover: undefined,
      reading: false,
      closePending: false,
      noticed: 0,
      localPort: undefined,
      closing: undefined,
    };
    this.links[id] = link;
    return link;
  }

  private free(link: Link): void {
    if (this.links[link.id] === link) this.links[link.id] = undefined;
  }

  // ---- send

  async send(id: number, bytes: Uint8Array, to?: Endpoint): Promise<number> {
    const link = this.links[id];
    const detail = { op: 'send', backend: this.name, ...(to !== undefined ? { address: endpointText(to) } : {}) };
    if (link === undefined || link.state !== 'open') throw this.module.error('ENOTCONN', 'no-link', 'send');
    const udp = link.kind === 'udp';
    if (udp && bytes.length > this.maxSend) throw this.module.error('EINVAL', 'datagram-too-big', 'send');
    const n = Math.min(bytes.length, this.maxSend);
    if (n === 0) return 0;
    const data = bytes.slice(0, n);
    let text = `AT+CIPSEND=${id},${n}`;
    if (udp && to !== undefined) text += `,${atQuote(formatIPv4(to.address))},${to.port}`;
    const baud = this.module.stream.baudRate ?? 115200;
    const timeoutMs = this.module.timeouts.send + Math.ceil(lineTimeMs(n, baud));
    try {
      return await this.module.run(async () => {
        if (this.links[id] !== link || link.state !== 'open') throw this.module.error('ENOTCONN', 'no-link', 'send');
        const mark = this.module.lineMark();
        try {
          const r = await this.module.engine.send({ text, data, timeoutMs });
          return this.accepted(r.lines, n);
        } catch (e) {
          return await this.sendFailed(e, data, n, udp, mark);
        }
      });
    } catch (e) {
      throw atSocketError(e, detail);
    }
  }

  /** The count the module took: `Recv N bytes` when it says (never more than sent). */
  private accepted(lines: readonly string[], n: number): number {
    const recv = parseRecvBytes(lines);
    return recv !== undefined && recv <= n ? recv : n;
  }

  /** Inside `run`: a send's failure, with the firmware quirks of reference §6 item 7. */
  private async sendFailed(e: unknown, data: Uint8Array, n: number, udp: boolean, mark: number): Promise<number> {
    if (!(e instanceof AtError)) throw e;
    const wrote = this.module.lastWritten(data);
    const detail = { op: 'send', backend: this.name };
    if (wrote && (e.reason === 'send-fail' || e.reason === 'error')) {
      // `SEND FAIL` then `SEND OK`, `ERROR` then `SEND OK`: the data went out after all.
      const late = await this.module.waitLine(/^SEND (?:OK|FAIL)$/, this.module.timeouts.sendGrace, mark);
      if (late === 'SEND OK') {
        this.stats.lateAcks++;
        return this.accepted(e.lines, n);
      }
      // A real failure: a TCP stream is broken now (the backend closes it); a datagram is lost.
      throw atSocketError(e, detail, () => (udp ? { code: 'ERROR', reason: 'send-fail' } : { code: 'ECONNABORTED', reason: 'send-fail' }));
    }
    if (e.reason === 'timeout') {
      await this.module.recover();
      const recv = wrote ? parseRecvBytes(e.lines) : undefined;
      if (recv !== undefined) {
        // `Recv N bytes` but no `SEND OK` (esp-at#154): taken.
        this.stats.lateAcks++;
        return Math.min(recv, n);
      }
      throw atSocketError(e, detail, () => ({ code: 'ETIMEDOUT', reason: wrote ? 'send-timeout' : 'prompt-timeout' }));
    }
    if (e.reason === 'error') throw atSocketError(e, detail, () => ({ code: 'ECONNABORTED', reason: 'link-down' }));
    throw e;
  }

  // ---- receive

  async read(id: number, max: number): Promise<ModuleReceived> {
    const link = this.links[id];
    const empty: ModuleReceived = { bytes: new Uint8Array(0) };
    if (link === undefined || (link.state !== 'open' && link.state !== 'closing')) throw this.module.error('ENOTCONN', 'no-link', 'recv');
    if (max <= 0) return empty;
    if (link.leftover !== undefined) return this.takeLeftover(link, max);
    // NONOS keeps UDP links in active mode: their datagrams came as `data` already.
    if (link.kind === 'udp' && this.module.dialect?.passiveUdp === false) return empty;
    const n = Math.min(max, this.maxSend);
    const baud = this.module.stream.baudRate ?? 115200;
    link.reading = true;
    try {
      const r = await this.module.exec({ text: `AT+CIPRECVDATA=${id},${n}`, timeoutMs: this.module.timeouts.misc + Math.ceil(lineTimeMs(n, baud)) });
      const p = r.payloads[0];
      if (p === undefined || p.bytes.length === 0) return empty;
      const h = parseRecvDataHeader(p.header);
      const ip = h?.ip !== undefined ? parseIPv4(h.ip) : undefined;
      const from = link.kind === 'udp' && ip !== undefined && h?.port !== undefined ? { address: ip, port: h.port } : undefined;
      let bytes = p.bytes;
      if (bytes.length > n) {
        // Never more than asked (reference §6 item 9): keep the rest for the next read.
        this.stats.overreadBytes += bytes.length - n;
        link.leftover = { bytes: bytes.slice(n), ...(from !== undefined ? { from } : {}) };
        bytes = bytes.slice(0, n);
      }
      return { bytes, ...(from !== undefined ? { from } : {}) };
    } catch (e) {
      if (isAtError(e, 'error')) return empty; // `ERROR` = nothing buffered
      throw atSocketError(e, { op: 'recv', backend: this.name });
    } finally {
      link.reading = false;
      if (link.closePending && link.leftover === undefined) this.module.scheduler.setTimer(0, () => this.peerClosed(link));
    }
  }

  private takeLeftover(link: Link, max: number): ModuleReceived {
    const left = link.leftover as ModuleReceived;
    const bytes = left.bytes.slice(0, max);
    link.leftover = left.bytes.length > max ? { ...left, bytes: left.bytes.slice(max) } : undefined;
    if (link.leftover === undefined && link.closePending) this.module.scheduler.setTimer(0, () => this.peerClosed(link));
    return { ...left, bytes };
  }

  // ---- close

  closeLink(id: number): Promise<void> {
    const link = this.links[id];
    if (link === undefined) return Promise.resolve();
    if (link.closing !== undefined) return link.closing;
    if (link.state === 'opening') {
      link.state = 'abandoned';
      return Promise.resolve();
    }
    link.state = 'closing';
    link.leftover = undefined;
    link.closing = this.module
      .exec({ text: `AT+CIPCLOSE=${id}`, timeoutMs: this.module.timeouts.close, success: ['OK', 'UNLINK'] })
      .then(() => undefined, () => undefined) // `ERROR`/`UNLINK`: closed already (a race with the peer)
      .then(() => this.free(link));
    return link.closing;
  }

  // ---- server

  async listen(port: number, backlog: number): Promise<void> {
    const detail = { op: 'listen', backend: this.name, address: `0.0.0.0:${port}` };
    if (this.server !== undefined) {
      throw this.server.port === port ? this.module.error('EADDRINUSE', 'server-running', 'listen') : this.module.error('ENOTSUP', 'one-server-only', 'listen');
    }
    this.server = { port };
    try {
      await this.module.run(async () => {
        await this.module.command(`AT+CIPSERVERMAXCONN=${Math.max(1, Math.min(ESP_LINKS, Math.floor(backlog)))}`).catch((e: unknown) => {
          if (!isAtError(e, 'error')) throw e;
        });
        await this.module.command({ text: `AT+CIPSERVER=1,${port}`, success: ['OK', 'no change'] });
      });
    } catch (e) {
      if (this.server?.port === port) this.server = undefined;
      throw atSocketError(e, detail, (err) => (err.reason === 'error' ? { code: 'EADDRINUSE', reason: 'server-refused' } : undefined));
    }
  }

  async unlisten(port: number): Promise<void> {
    if (this.server?.port !== port) return;
    this.server = undefined;
    await this.module.exec('AT+CIPSERVER=0').then(() => undefined, () => undefined);
  }

  private accept(id: number, remote: Endpoint | undefined): void {
    const server = this.server;
    if (server === undefined) return;
    const link = this.newLink(id, 'open', 'tcp');
    link.held = [];
    const finish = (r: Endpoint | undefined): void => {
      if (this.links[id] !== link) return;
      this.events?.accepted(id, r ?? { address: ZERO4, port: 0 }, server.port);
      this.release(link);
    };
    if (remote !== undefined) {
      this.module.scheduler.setTimer(0, () => finish(remote));
      return;
    }
    const query = this.module.dialect?.linkQuery ?? 'AT+CIPSTATE?';
    this.module.exec(query).then(
      (r) => {
        for (const line of r.lines) {
          const s = parseLinkState(line);
          if (s !== undefined && s.id === id && s.ip !== undefined) return finish({ address: s.ip, port: s.remotePort });
        }
        finish(undefined);
      },
      () => finish(undefined),
    );
  }

  // ---- URCs

  private onIpd(u: AtUrc): void {
    if (u.bytes === undefined) {
      const m = IPD_NOTICE.exec(u.line);
      const link = m !== null ? this.links[Number(m[1])] : undefined;
      if (m === null || link === undefined || !this.receiving(link)) {
        this.stats.strayUrcs++;
        return;
      }
      link.noticed = Number(m[2]);
      this.checkLengths();
      return;
    }
    const h = parseIpdHeader(u.line);
    const link = h?.id !== undefined ? this.links[h.id] : undefined;
    if (h === undefined || link === undefined || !this.receiving(link)) {
      this.stats.strayUrcs++;
      return;
    }
    const ip = h.ip !== undefined ? parseIPv4(h.ip) : undefined;
    const received: ModuleReceived = link.kind === 'udp' && ip !== undefined && h.port !== undefined
      ? { bytes: u.bytes, from: { address: ip, port: h.port } }
      : { bytes: u.bytes };
    this.deliver(link, () => this.events?.data(link.id, received));
  }

  /** Open, or connected and about to be returned by `open`. */
  private receiving(link: Link): boolean {
    return link.state === 'open' || (link.state === 'opening' && link.held !== undefined);
  }

  /** Passive notices: ask `AT+CIPRECVLEN?` (coalesced) and tell the backend what waits where. */
  private checkLengths(): void {
    if (this.lenCheck !== undefined) return;
    this.lenCheck = this.module
      .exec('AT+CIPRECVLEN?')
      .then((r) => parseCiprecvlen(r.lines), () => undefined)
      .then((lens) => {
        this.lenCheck = undefined;
        for (const link of this.links) {
          if (link === undefined || link.state !== 'open') continue;
          const len = lens?.[link.id] ?? 0;
          const noticed = link.noticed;
          link.noticed = 0;
          if (len > 0 || noticed > 0) this.deliver(link, () => this.events?.readable(link.id, len > 0 ? len : noticed));
        }
      });
  }

  private onLinkLine(line: string): void {
    const l = parseLinkLine(line);
    if (l === undefined) return;
    const link = this.links[l.id];
    if (l.event === 'CONNECT') {
      if (link?.state === 'opening') this.connected(link);
      else if (link === undefined && this.server !== undefined) this.accept(l.id, undefined);
      else if (link === undefined) this.stats.strayUrcs++;
      return;
    }
    this.linkGone(l.id);
  }

  private onLinkConn(line: string): void {
    const c = parseLinkConn(line);
    if (c === undefined || c.id < 0 || c.id >= ESP_LINKS) return;
    const link = this.links[c.id];
    if (!c.ok) {
      this.linkGone(c.id);
      return;
    }
    if (link?.state === 'opening') {
      this.connected(link);
      link.localPort = c.localPort;
    } else if (link === undefined && c.server && this.server !== undefined) {
      this.accept(c.id, c.ip !== undefined ? { address: c.ip, port: c.remotePort } : undefined);
    } else if (link === undefined) this.stats.strayUrcs++;
  }

  /** Our `AT+CIPSTART`'s link is up: hold its events until `open` has resolved. */
  private connected(link: Link): void {
    link.connectSeen = true;
    link.held ??= [];
  }

  /** `<id>,CLOSED` (or a failed `+LINK_CONN`). */
  private linkGone(id: number): void {
    const link = this.links[id];
    if (link === undefined) {
      this.stats.strayUrcs++; // late, after our close or a failed open, or a stale link
      return;
    }
    switch (link.state) {
      case 'opening':
        // Before `CONNECT`: the late `CLOSED` of an earlier failed attempt on this id.
        if (link.connectSeen) this.deliver(link, () => this.peerClosed(link));
        return;
      case 'closing':
        return; // our own close (a race with the peer's)
      case 'abandoned':
        this.free(link);
        return;
      case 'open':
        this.deliver(link, () => this.peerClosed(link));
    }
  }

  /** Reports a peer close once nothing is left to read. */
  private peerClosed(link: Link): void {
    if (this.links[link.id] !== link || link.state !== 'open') return;
    if (link.reading || link.leftover !== undefined) {
      link.closePending = true;
      return;
    }
    this.free(link);
    this.events?.closed(link.id);
  }

  /** Delivers the events held for a link, in order. */
  private release(link: Link): void {
    const held = link.held ?? [];
    link.held = undefined;
    for (const h of held) h();
  }

  /** An event for a link, or held (see `Link.held`). */
  private deliver(link: Link, fn: () => void): void {
    if (link.held !== undefined) link.held.push(fn);
    else fn();
  }

  // ---- loss

  private loseAll(reason: string, stillOnModule: boolean): void {
    let any = this.server !== undefined && !stillOnModule;
    for (const link of this.links) {
      if (link === undefined || link.state === 'opening') continue;
      any = true;
      if (!stillOnModule || link.state === 'closing') {
        this.free(link);
        continue;
      }
      // Wi-Fi loss: the module drops the links itself; close each so its id is surely free.
      this.free(link);
      void this.closeStale(link.id, link.kind);
    }
    if (!stillOnModule) this.server = undefined;
    if (!any) return;
    this.stats.losses++;
    const error: SocketError = this.module.error('ECONNABORTED', reason, 'lost');
    this.events?.lost(error);
  }

  private closeStale(id: number, kind: ModuleLinkKind): Promise<void> {
    const link = this.newLink(id, 'closing', kind);
    link.closing = this.module
      .exec({ text: `AT+CIPCLOSE=${id}`, timeoutMs: this.module.timeouts.close, success: ['OK', 'UNLINK'] })
      .then(() => undefined, () => undefined)
      .then(() => this.free(link));
    return link.closing;
  }

  // ---- names and addresses

  async lookup(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult> {
    if (af !== 1) return iotCodeValue('EHOSTNOTFOUND'); // the module resolves IPv4 only here
    const literal = parseIPv4(name);
    if (literal !== undefined) return literal;
    if (name.length === 0 || name.length > 64 || /[\r\n]/.test(name)) return iotCodeValue('EHOSTNOTFOUND');
    if (signal?.aborted === true) throw this.module.error('ECONNABORTED', 'aborted', 'lookup');
    try {
      const r = await this.module.exec({ text: `AT+CIPDOMAIN=${atQuote(name)}`, timeoutMs: this.module.timeouts.dns });
      const text = parseCipdomain(r.lines);
      const addr = text !== undefined ? parseIPv4(text) : undefined;
      return addr ?? iotCodeValue('EHOSTNOTFOUND');
    } catch (e) {
      if (isAtError(e, 'error')) return iotCodeValue('EHOSTNOTFOUND'); // `ERROR`, NONOS `DNS Fail`
      if (isAtError(e, 'timeout')) return iotCodeValue('ETIMEDOUT');
      throw atSocketError(e, { op: 'lookup', backend: this.name, address: name });
    }
  }

  localAddress(af: Af): Uint8Array | undefined {
    return af === 1 ? this.wifi.ip : undefined;
  }

  async dispose(): Promise<void> {
    for (const u of this.unsubs.splice(0)) u();
    await this.module.close();
  }
}
