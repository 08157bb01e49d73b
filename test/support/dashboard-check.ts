/**
 * The dashboard's browser checks, for any `DemoLive` (the fake one or the real scenario): serve it
 * with `startDashboard`, open the page in headless Chromium, `start()` the run, and assert that it loads, that the
 * topology shows every node and link of the model, that a device's counter grows, that a failover
 * shows in the timeline and that a link's pcap downloads as a pcap file; then `finish()` ends the
 * run and the summary must show. Screenshots (during the run, at the end) go to `shots`; their
 * paths are printed and returned.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDashboard } from '../../src/apps/demo-ui/dashboard-server.ts';
import type { DemoLive, DemoSnapshot } from '../../src/apps/demo/demo-model.ts';
import { launchChromium } from './chromium.ts';

/** pcap (µs and ns, either byte order) and pcapng. */
const PCAP_MAGICS = new Set(['a1b2c3d4', 'd4c3b2a1', 'a1b23c4d', '4d3cb2a1', '0a0d0d0a']);

/**
 * The page's document as seen by a function that runs in the page: this file is type-checked
 * without DOM types, and the page's CSP forbids evaluating strings.
 */
interface PageGlobal {
  document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };
}

export interface DashboardCheckOptions {
  /** Where the screenshots go. */
  readonly shots: string;
  /** Starts the run; called once the dashboard is up and the page has loaded (as `iotnet demo --ui` does: dashboard first). */
  readonly start: () => void;
  /** Ends the run (resolves once the scenario has finished). */
  readonly finish: (page: { waitForSelector(selector: string, o: { timeout: number }): Promise<unknown> }) => Promise<void>;
  /** Time allowed for the failover to show, ms. */
  readonly failoverTimeoutMs?: number;
}

/** The first snapshot of `live` for which `ok` holds (now or at a later update). */
function until(live: DemoLive, ok: (s: DemoSnapshot) => boolean, timeoutMs: number): Promise<DemoSnapshot> {
  return new Promise((resolve, reject) => {
    const now = live.snapshot();
    if (ok(now)) {
      resolve(now);
      return;
    }
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`the run did not get there in ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = live.subscribe((u) => {
      if (u.type !== 'tick' || !ok(u.snapshot)) return;
      clearTimeout(timer);
      stop();
      resolve(u.snapshot);
    });
  });
}

/** Runs the checks; the screenshot paths, or undefined when Chromium is missing (the test was skipped). */
export async function checkDashboard(
  t: { skip(msg: string): void; diagnostic(msg: string): void },
  live: DemoLive,
  o: DashboardCheckOptions,
): Promise<{ running: string; done: string } | undefined> {
  const browser = await launchChromium(t, 'the demo dashboard page');
  if (browser === undefined) return undefined;
  const dash = await startDashboard(live);
  const problems: string[] = [];
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    const response = await page.goto(dash.url);
    assert.equal(response?.status(), 200);
    await page.waitForSelector('#app[data-ready="true"]');
    o.start();

    // Counters move: a device's published count (once the run has one), read twice.
    const device = (await until(live, (s) => s.nodes.some((n) => n.role === 'device'), 60_000)).nodes.find((n) => n.role === 'device');
    assert.ok(device, 'the model has a device');
    const counter = `[data-counter="${device.id}:sent"]`;
    await page.waitForSelector(counter, { timeout: 10_000 });
    const first = Number(await page.getAttribute(counter, 'data-value'));
    await page.waitForFunction(([sel, before]) => Number((globalThis as unknown as PageGlobal).document.querySelector(sel)?.getAttribute('data-value')) > before, [counter, first] as const, { timeout: 60_000 });
    const second = Number(await page.getAttribute(counter, 'data-value'));
    assert.ok(second > first, `counter ${counter} grew: ${first} -> ${second}`);

    // A failover appears in the timeline.
    await page.waitForSelector('.timeline [data-event-kind="failover"]', { timeout: o.failoverTimeoutMs ?? 90_000 });

    // The topology (the whole deployment is up by now): one SVG group per node of the model, one path per link.
    const snap = live.snapshot();
    for (const n of snap.nodes) await page.waitForSelector(`svg.topology [data-node="${n.id}"]`, { timeout: 10_000 });
    for (const l of snap.links) await page.waitForSelector(`svg.topology [data-link="${l.id}"]`, { timeout: 10_000 });
    assert.equal(await page.locator('svg.topology [data-node]').count(), snap.nodes.length, 'one group per node');
    assert.equal(await page.locator('svg.topology [data-link]').count(), snap.links.length, 'one path per link');
    const running = join(o.shots, 'dashboard-running.png');
    await page.screenshot({ path: running, fullPage: true });
    t.diagnostic(`screenshot during the run: ${running}`);

    // A link's pcap downloads as a file starting with a pcap magic.
    const link = live.snapshot().links.find((l) => l.pcap !== undefined);
    assert.ok(link, 'a link with a capture');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`a[data-pcap="${link.id}"]`)]);
    const head = readFileSync(await download.path()).subarray(0, 4);
    const hex = (b: Iterable<number>): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    assert.ok(PCAP_MAGICS.has(hex(head)), `pcap magic, got ${hex(head)}`);
    assert.match(download.suggestedFilename(), /\.pcap$/);

    // The end: the summary shows, and the page is still served.
    await o.finish(page);
    await page.waitForSelector('[data-summary]', { timeout: 120_000 });
    const summary = live.summary;
    assert.ok(summary, 'the run has a summary');
    assert.equal(await page.getAttribute('[data-summary]', 'data-summary'), summary.ok ? 'ok' : 'failed');
    assert.equal(await page.locator('.per-device tbody tr').count(), summary.devices?.length ?? 0, 'a row per device');
    assert.equal(await page.locator('.conn-ended').count(), 1);
    const done = join(o.shots, 'dashboard.png');
    await page.screenshot({ path: done, fullPage: true });
    t.diagnostic(`screenshot at the end: ${done}`);
    const again = await page.goto(dash.url);
    assert.equal(again?.status(), 200);
    await page.waitForSelector('[data-summary]');
    await context.close();
    assert.deepEqual(problems, []);
    return { running, done };
  } finally {
    await dash.close();
    await browser.close();
  }
}
