/**
 * The WebSocket bridge: an HTTP server (`node:http`, `ws`'s `WebSocketServer` on `path`) that
 * attaches each WebSocket connection to a new port of a `VirtualSwitch` (a `WebSocketLink` on
 * the connection, a `FramePump` between it and the port). When the connection closes or fails,
 * the port is closed (the switch forgets its MAC entries). The same server can serve a few
 * static files (the page and its bundle), so one origin gives both.
 *
 * Limits: at most `maxConnections` at once (more are closed with 1013, "try again later");
 * messages above `maxPayload` (default 64 KiB) close the connection (`ws`: 1009); messages
 * above mtu + 14 bytes are dropped and counted by the link.
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../../base/time.ts';
import type { SwitchPort, VirtualSwitch } from '../../link/virtual-switch.ts';
import { WebSocketLink, type WebSocketLinkStats } from '../../link/websocket-link.ts';
import { systemScheduler } from '../../runtime/system-scheduler.ts';
import { FramePump } from './frame-pump.ts';

/** A static file the bridge serves. */
export interface BridgeFile {
  /** Its Content-Type. */
  readonly type: string;
  /** Its content. */
  readonly body: string | Uint8Array;
}

/** Options of `WsBridge.start`. */
export interface WsBridgeOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string | undefined;
  /** TCP port (default 0: a free one). */
  port?: number | undefined;
  /** WebSocket path (default `/link`). */
  path?: string | undefined;
  /** Connections at once (default 16). */
  maxConnections?: number | undefined;
  /** Largest WebSocket message `ws` accepts before closing the connection (default 65536). */
  maxPayload?: number | undefined;
  /** Files served by GET, by URL path (e.g. `'/'`, `'/page.js'`). */
  files?: Readonly<Record<string, BridgeFile>> | undefined;
  /** Clock for the links (default the system scheduler). */
  clock?: Clock | undefined;
}

/** One attached connection. */
export interface WsBridgeConnection {
  /** Numbered from 1 in the order connections arrived. */
  readonly id: number;
  /** The peer's address and port. */
  readonly remote: string;
  /** The connection as a link (Ethernet frames over the WebSocket). */
  readonly link: WebSocketLink;
  /** Its port on the bridge's switch. */
  readonly port: SwitchPort;
  /** Moves frames between `link` and `port`. */
  readonly pump: FramePump;
}

/** The bridge's connection counters. */
export interface WsBridgeStats {
  /** Connections attached to a switch port. */
  accepted: number;
  /** Connections closed at once (1013) because `maxConnections` were open. */
  refused: number;
  /** Connections attached now. */
  open: number;
  /** Attached connections that have ended (closed by either side or failed). */
  closed: number;
  /** Link counters of the connections closed so far, summed (`open` ones: see `connections()`). */
  closedLinks: Pick<WebSocketLinkStats, 'rxFrames' | 'txFrames' | 'dropped'>;
}

/** A running bridge: WebSocket connections onto switch ports (see the module comment). */
export class WsBridge {
  /** `ws://host:port/path`. */
  readonly url: string;
  /** `http://host:port` (the static files). */
  readonly origin: string;
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly open = new Map<number, WsBridgeConnection & { readonly end: () => void }>();
  private readonly counters: WsBridgeStats = { accepted: 0, refused: 0, open: 0, closed: 0, closedLinks: { rxFrames: 0, txFrames: 0, dropped: 0 } };
  private nextId = 1;

  private constructor(server: http.Server, wss: WebSocketServer, url: string, origin: string) {
    this.server = server;
    this.wss = wss;
    this.url = url;
    this.origin = origin;
  }

  /** Starts the HTTP server and attaches every WebSocket on `path` to a new port of `sw`. */
  static async start(sw: VirtualSwitch, opts: WsBridgeOptions = {}): Promise<WsBridge> {
    const host = opts.host ?? '127.0.0.1';
    const path = opts.path ?? '/link';
    const files = opts.files ?? {};
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const file = req.method === 'GET' && Object.hasOwn(files, path) ? files[path] : undefined;
      if (file === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
    });
    const wss = new WebSocketServer({ server, path, maxPayload: opts.maxPayload ?? 65_536, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    if (a === null || typeof a === 'string') throw new Error(`ws-bridge: unexpected server address ${String(a)}`);
    const hostText = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    const bridge = new WsBridge(server, wss, `ws://${hostText}:${a.port}${path}`, `http://${hostText}:${a.port}`);
    const max = opts.maxConnections ?? 16;
    const clock = opts.clock ?? systemScheduler;
    wss.on('connection', (ws, req) => bridge.attach(sw, ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`, max, clock));
    return bridge;
  }

  /** A snapshot of the counters. */
  stats(): WsBridgeStats {
    return { ...this.counters, open: this.open.size, closedLinks: { ...this.counters.closedLinks } };
  }

  /** The connections attached now. */
  connections(): WsBridgeConnection[] {
    return [...this.open.values()];
  }

  /** Closes every connection (code 1001) and the server. */
  async close(): Promise<void> {
    for (const c of [...this.open.values()]) c.end();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private attach(sw: VirtualSwitch, ws: WebSocket, remote: string, max: number, clock: Clock): void {
    ws.on('error', () => {}); // the link counts it; an unheard 'error' event would throw
    if (this.open.size >= max) {
      this.counters.refused++;
      ws.close(1013, 'too many connections');
      return;
    }
    this.counters.accepted++;
    const id = this.nextId++;
    const link = new WebSocketLink(ws);
    const port = sw.port();
    const pump = new FramePump(link, port, clock);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      offState();
      pump.close();
      port.close();
      const s = link.stats();
      link.close();
      const c = this.counters;
      c.closed++;
      c.closedLinks.rxFrames += s.rxFrames;
      c.closedLinks.txFrames += s.txFrames;
      c.closedLinks.dropped += s.dropped;
      this.open.delete(id);
    };
    const offState = link.linkState.onChange((up) => {
      if (!up) end();
    });
    this.open.set(id, { id, remote, link, port, pump, end });
    if (!link.linkState.up) end();
  }
}
