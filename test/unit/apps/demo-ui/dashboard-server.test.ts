/**
 * The dashboard server without a browser, on the fake DemoLive (stepped by hand): the page and
 * its bundle, /snapshot.json and /summary.json, pcap downloads (known link: attachment with the
 * pcap bytes; unknown or odd ids: 404, never a file named by the request), the SSE stream
 * (snapshot and the events so far, then tick/event/done; after the end a new client gets it all
 * at once), viewer() and viewers, the host
 * check, methods, and close() ending open streams.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pcapFileName, startDashboard, type Dashboard } from '../../../../src/apps/demo-ui/dashboard-server.ts';
import type { DemoEvent, DemoSnapshot, DemoSummary } from '../../../../src/apps/demo/demo-model.ts';
import { FakeDemoLive } from '../../../support/fake-demo-live.ts';

const BUNDLE = { js: new TextEncoder().encode('/* js */'), css: new TextEncoder().encode('/* css */'), source: 'test' };

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Uint8Array;
}

function get(url: string, path: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { agent: false, method: opts.method ?? 'GET', headers: opts.host !== undefined ? { host: opts.host } : {} }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on('data', (c: Uint8Array) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: new Uint8Array(Buffer.concat(chunks)) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const text = (r: Reply): string => new TextDecoder().decode(r.body);

interface SseMessage {
  readonly event: string;
  readonly data: unknown;
}

/** An SSE client: `next()` resolves with the next message, or undefined once the stream has ended. */
function openEvents(url: string): Promise<{ next(): Promise<SseMessage | undefined>; close(): void; status: number; type: string }> {
  return new Promise((resolve, reject) => {
    const queue: SseMessage[] = [];
    const waiting: ((m: SseMessage | undefined) => void)[] = [];
    let ended = false;
    let buf = '';
    const req = request(new URL('/events', url), { agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length === 0) continue;
          const m = { event, data: JSON.parse(data.join('\n')) as unknown };
          const w = waiting.shift();
          if (w) w(m);
          else queue.push(m);
        }
      });
      const end = (): void => {
        ended = true;
        for (const w of waiting.splice(0)) w(undefined);
      };
      res.on('end', end);
      res.on('close', end);
      resolve({
        status: res.statusCode ?? 0,
        type: String(res.headers['content-type']),
        next: () => {
          const m = queue.shift();
          if (m !== undefined || ended) return Promise.resolve(m);
          return new Promise((r) => waiting.push(r));
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', (e) => (ended ? undefined : reject(e)));
    req.end();
  });
}

describe('dashboard server', () => {
  let dir: string;
  let live: FakeDemoLive;
  let dash: Dashboard;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iotnet-dash-unit-'));
    live = new FakeDemoLive(dir);
    dash = await startDashboard(live, { bundle: BUNDLE });
  });
  after(async () => {
    await dash.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and serves the page, its bundle and the snapshot', async () => {
    assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(dash.url, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(text(page), /<script type="module" src="\/dashboard\.js">/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.equal(text(await get(dash.url, '/dashboard.js')), '/* js */');
    assert.equal(text(await get(dash.url, '/dashboard.css')), '/* css */');
    const snap = await get(dash.url, '/snapshot.json');
    assert.equal(snap.status, 200);
    const s = JSON.parse(text(snap)) as DemoSnapshot;
    assert.deepEqual(s.nodes.map((n) => n.id), live.snapshot().nodes.map((n) => n.id));
    assert.equal((await get(dash.url, '/nothing-here')).status, 404);
  });

  it('downloads a link pcap as an attachment; unknown or odd link ids get 404, bad escapes 400', async () => {
    const link = live.snapshot().links[0];
    assert.ok(link);
    const r = await get(dash.url, `/pcap/${encodeURIComponent(link.id)}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/vnd.tcpdump.pcap');
    assert.equal(r.headers['content-disposition'], `attachment; filename="${pcapFileName(link.pcap as string)}"`);
    assert.match(String(r.headers['content-disposition']), /^attachment; filename="iotnet-[\w.-]+\.pcap"$/);
    assert.deepEqual([...r.body.subarray(0, 4)], [0xd4, 0xc3, 0xb2, 0xa1]);
    for (const id of ['no-such-link', '..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd', '', `${link.id}%2F..`]) {
      assert.equal((await get(dash.url, `/pcap/${id}`)).status, 404, `/pcap/${id}`);
    }
    assert.equal((await get(dash.url, '/pcap/%E0%A4%A')).status, 400);
    assert.equal((await get(dash.url, '/pcap/no-such-link', { method: 'HEAD' })).status, 404);
  });

  it('pcapFileName: the file\'s own name, safe characters only', () => {
    assert.equal(pcapFileName('/tmp/x/wifi.pcap'), 'iotnet-wifi.pcap');
    assert.equal(pcapFileName('/tmp/x/lan:eth "dev".pcap'), 'iotnet-lan-eth-dev-.pcap');
    assert.equal(pcapFileName('/'), 'iotnet-capture.pcap');
  });

  it('refuses other hosts (DNS rebinding) and methods other than GET and HEAD', async () => {
    const port = new URL(dash.url).port;
    assert.equal((await get(dash.url, '/', { host: `evil.example:${port}` })).status, 403);
    assert.equal((await get(dash.url, '/snapshot.json', { host: `localhost:${port}` })).status, 200);
    assert.equal((await get(dash.url, '/', { method: 'POST' })).status, 405);
    const head = await get(dash.url, '/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  it('streams the snapshot, then ticks, events and the summary; a client after the end gets snapshot and done', async () => {
    const sse = await openEvents(dash.url);
    assert.equal(sse.status, 200);
    assert.match(sse.type, /^text\/event-stream/);
    const first = await sse.next();
    assert.equal(first?.event, 'snapshot');
    assert.equal((first.data as DemoSnapshot).nodes.length, live.snapshot().nodes.length);

    const seen: SseMessage[] = [];
    for (let i = 0; i < 4; i++) live.step(250); // the 4th step: the access point goes down, a failover
    while (!seen.some((m) => m.event === 'event' && (m.data as DemoEvent).kind === 'failover')) {
      const m = await sse.next();
      assert.ok(m, 'the stream goes on');
      seen.push(m);
    }
    const ticks = seen.filter((m) => m.event === 'tick').map((m) => m.data as DemoSnapshot);
    assert.ok(ticks.length >= 3, `ticks: ${ticks.length}`);
    assert.ok((ticks[ticks.length - 1] as DemoSnapshot).t > (ticks[0] as DemoSnapshot).t, 'time moves on');

    assert.equal((await get(dash.url, '/summary.json')).status, 404);
    live.finish();
    let m = await sse.next();
    while (m !== undefined && m.event !== 'done') m = await sse.next();
    assert.equal((m?.data as DemoSummary).ok, true);
    sse.close();

    const summary = await get(dash.url, '/summary.json');
    assert.equal(summary.status, 200);
    assert.equal((JSON.parse(text(summary)) as DemoSummary).lost, 0);
    const late = await openEvents(dash.url);
    assert.equal((await late.next())?.event, 'snapshot');
    const after: string[] = [];
    for (let e = await late.next(); e !== undefined; e = e.event === 'done' ? undefined : await late.next()) after.push(e.event);
    assert.equal(after[after.length - 1], 'done');
    assert.ok(after.slice(0, -1).every((e) => e === 'event') && after.length >= 4, `history then done: ${after.join(' ')}`);
    late.close();
  });
});

/** A fake run in a temp dir and a dashboard on it (closed and removed afterwards; close() may come earlier). */
async function withDashboard(fn: (live: FakeDemoLive, dash: Dashboard) => Promise<void>, bundle: typeof BUNDLE | 'its own' = BUNDLE): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'iotnet-dash-unit-'));
  try {
    const live = new FakeDemoLive(dir);
    const dash = await startDashboard(live, bundle !== 'its own' ? { bundle } : {});
    try {
      await fn(live, dash);
    } finally {
      await dash.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('dashboard server, pages that connect later', () => {
  it('gets every event since the server started after the snapshot; viewer() waits for the first page', () => withDashboard(async (live, dash) => {
    for (let i = 0; i < 4; i++) live.step(250); // phase running, the fault and the failover
    assert.equal(dash.viewers, 0);
    let watched = false;
    const viewer = dash.viewer().then(() => {
      watched = true;
    });
    assert.equal(watched, false);
    const sse = await openEvents(dash.url);
    await viewer;
    assert.equal(dash.viewers, 1);
    assert.equal((await sse.next())?.event, 'snapshot');
    const kinds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await sse.next();
      assert.equal(m?.event, 'event');
      kinds.push((m.data as DemoEvent).kind);
    }
    assert.deepEqual(kinds, ['phase', 'fault', 'failover'], 'the events the server saw, in order');
    await dash.viewer(); // at once: a page is connected
    sse.close();
  }));
});

describe('dashboard server close()', () => {
  it('ends open event streams and stops listening', () => withDashboard(async (_live, dash) => {
    const sse = await openEvents(dash.url);
    assert.equal((await sse.next())?.event, 'snapshot');
    await dash.close();
    assert.equal(await sse.next(), undefined, 'the stream ended');
    await dash.close(); // idempotent
    await assert.rejects(get(dash.url, '/'), /ECONNREFUSED/);
  }));

  it('bundles the page itself when given no bundle (prebuilt dist/ui or esbuild)', () => withDashboard(async (_live, dash) => {
    const js = await get(dash.url, '/dashboard.js');
    assert.equal(js.status, 200);
    assert.match(text(js), /EventSource/);
    const css = await get(dash.url, '/dashboard.css');
    assert.match(text(css), /prefers-color-scheme/);
  }, 'its own'));
});
