/**
 * The demo's web dashboard, served on localhost: `iotnet demo --ui`.
 *
 * Routes (GET and HEAD only):
 * - `/`: the page (`web/dashboard/`: topology, interfaces, rates, timeline, pcaps, summary);
 *   `/dashboard.js` and `/dashboard.css` its bundle (see `dashboard-bundle.ts`).
 * - `/events`: Server-Sent Events. First `snapshot` (the picture now) and an `event` for each of
 *   the events the server has seen since it started (up to 2000; the snapshot holds only the
 *   latest few), then every update of the run as `tick` (a snapshot), `event` (a `DemoEvent`) and
 *   `done` (the `DemoSummary`); a client that connects after the end gets it all at once.
 * - `/snapshot.json`: the picture now; `/summary.json`: the summary (404 until the end).
 * - `/pcap/<link-id>`: the link's capture as a download. The id only selects a link of the
 *   model; the file is the one the model names, never a path taken from the request.
 *
 * Bound to 127.0.0.1 by default; on a loopback address, requests naming another host (DNS
 * rebinding) are refused. The server keeps serving after the run has ended, until `close()`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { basename } from 'node:path';
import type { DemoEvent, DemoLive, DemoUpdate } from '../demo/demo-model.ts';
import { readFileIfExists } from '../../runtime/read-file.ts';
import { loadDashboardBundle, type DashboardBundle } from './dashboard-bundle.ts';

export interface DashboardOptions {
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Address to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** The page's assets; default `loadDashboardBundle()` (prebuilt, else esbuild). */
  readonly bundle?: DashboardBundle;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page's address, e.g. `http://127.0.0.1:43117/`. */
  readonly url: string;
  /** Pages connected now (open event streams). */
  readonly viewers: number;
  /** Resolves when a page is connected (at once if one is), or on `close()`: to start the run once somebody watches. */
  viewer(): Promise<void>;
  /** Ends every event stream and stops the server. Idempotent. */
  close(): Promise<void>;
}

/** A client's event stream is dropped (it reconnects and starts from a snapshot) when this much is unsent. */
const MAX_UNSENT = 4 * 1024 * 1024;
/** Events kept for pages that connect later. */
const MAX_HISTORY = 2000;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>iotnet demo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard.css">
<script type="module" src="/dashboard.js"></script>
</head>
<body>
<div id="app"><p class="loading">Connecting to the demo&hellip;</p></div>
<noscript>The dashboard needs JavaScript.</noscript>
</body>
</html>
`;

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
};

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Starts the dashboard for `live`; resolves once it listens. */
export async function startDashboard(live: DemoLive, options: DashboardOptions = {}): Promise<Dashboard> {
  const bundle = options.bundle ?? (await loadDashboardBundle());
  const host = options.host ?? '127.0.0.1';
  const streams = new Set<{ res: ServerResponse; stop: () => void }>();
  const history: DemoEvent[] = [];
  const stopHistory = live.subscribe((u) => {
    if (u.type !== 'event') return;
    history.push(u.event);
    if (history.length > MAX_HISTORY) history.splice(0, history.length - MAX_HISTORY);
  });
  const viewerWaiters: (() => void)[] = [];
  let allowedHosts: ReadonlySet<string> | undefined;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${String(err)}\n`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (allowedHosts !== undefined && !allowedHosts.has((req.headers.host ?? '').toLowerCase())) {
      send(res, 403, 'text/plain; charset=utf-8', 'unknown host\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0] as string;
    switch (path) {
      case '/':
      case '/index.html':
        res.setHeader('Content-Security-Policy', CSP);
        send(res, 200, 'text/html; charset=utf-8', PAGE);
        return;
      case '/dashboard.js':
        send(res, 200, 'text/javascript; charset=utf-8', bundle.js);
        return;
      case '/dashboard.css':
        send(res, 200, 'text/css; charset=utf-8', bundle.css);
        return;
      case '/snapshot.json':
        send(res, 200, 'application/json', JSON.stringify(live.snapshot()));
        return;
      case '/summary.json': {
        const summary = live.summary;
        if (summary === undefined) send(res, 404, 'application/json', '{"error":"the run has not ended"}');
        else send(res, 200, 'application/json', JSON.stringify(summary));
        return;
      }
      case '/events':
        openStream(req, res);
        return;
    }
    if (path.startsWith('/pcap/')) {
      await sendPcap(path.slice('/pcap/'.length), res);
      return;
    }
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const write = (event: string, data: unknown): void => {
      if (res.destroyed || res.writableEnded) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (res.writableLength > MAX_UNSENT) res.destroy();
    };
    res.write('retry: 1000\n\n');
    write('snapshot', live.snapshot());
    for (const e of history) write('event', e);
    const summary = live.summary;
    if (summary !== undefined) write('done', summary);
    const stop = live.subscribe((u: DemoUpdate) => {
      if (u.type === 'tick') write('tick', u.snapshot);
      else if (u.type === 'event') write('event', u.event);
      else write('done', u.summary);
    });
    const entry = { res, stop };
    streams.add(entry);
    for (const w of viewerWaiters.splice(0)) w();
    res.on('close', () => {
      stop();
      streams.delete(entry);
    });
  }

  async function sendPcap(rawId: string, res: ServerResponse): Promise<void> {
    let id: string;
    try {
      id = decodeURIComponent(rawId);
    } catch {
      send(res, 400, 'text/plain; charset=utf-8', 'bad link id\n');
      return;
    }
    const link = live.snapshot().links.find((l) => l.id === id);
    const file = link?.pcap ?? (link !== undefined ? live.summary?.pcaps.find((p) => p.link === id)?.path : undefined);
    const data = file !== undefined ? await readFileIfExists(file) : undefined;
    if (link === undefined || file === undefined || data === undefined) {
      send(res, 404, 'text/plain; charset=utf-8', link === undefined ? 'no such link\n' : 'this link has no capture (yet)\n');
      return;
    }
    res.setHeader('Content-Disposition', `attachment; filename="${pcapFileName(file)}"`);
    send(res, 200, 'application/vnd.tcpdump.pcap', data);
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    stopHistory();
    throw err;
  }
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error(`the dashboard server has no TCP address (${String(addr)})`);
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  if (isLoopback(addr.address)) {
    allowedHosts = new Set([`${hostPart}:${addr.port}`, `localhost:${addr.port}`, `127.0.0.1:${addr.port}`, `[::1]:${addr.port}`]);
  }
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostPart}:${addr.port}/`,
    get viewers(): number {
      return streams.size;
    },
    viewer(): Promise<void> {
      if (streams.size > 0) return Promise.resolve();
      return new Promise<void>((resolve) => viewerWaiters.push(resolve));
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        stopHistory();
        for (const w of viewerWaiters.splice(0)) w();
        for (const s of streams) {
          s.stop();
          s.res.end();
        }
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * The download name of a capture: `iotnet-` and the file's own name (links that share a capture,
 * like the ports of one switch, download the same file under the same name), safe characters only.
 */
export function pcapFileName(file: string): string {
  const name = basename(file).replace(/\.pcap$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80);
  return `iotnet-${name || 'capture'}.pcap`;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === '::ffff:127.0.0.1';
}

/** A whole response (Node leaves the body out of an answer to HEAD). */
function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(bytes.length) });
  res.end(bytes);
}
