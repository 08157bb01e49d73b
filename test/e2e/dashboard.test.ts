/**
 * The demo's web dashboard in Debian's headless Chromium (playwright-core): the page loads, the
 * topology shows every node, counters move, a failover event appears in the timeline, a link's
 * pcap downloads (pcap magic), the summary shows at the end. Screenshots go to
 * IOTNET_SCREENSHOT_DIR (or a temp dir); their paths are printed.
 *
 * It runs on a small fake `DemoLive` (test/support/fake-demo-live.ts) stepped by a timer; the
 * assertions only use the model (node ids, a device's counter, event kinds, link ids), so the real
 * scenario can take its place.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDashboard } from '../../src/apps/demo-ui/dashboard-server.ts';
import { launchChromium } from '../support/chromium.ts';
import { FakeDemoLive } from '../support/fake-demo-live.ts';

/**
 * The page's document as seen by a function that runs in the page: this file is type-checked
 * without DOM types, and the page's CSP forbids evaluating strings.
 */
interface PageGlobal {
  document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };
}

const PCAP_MAGICS = new Set(['a1b2c3d4', 'd4c3b2a1', 'a1b23c4d', '4d3cb2a1', '0a0d0d0a']);

test('dashboard in headless Chromium: topology, moving counters, failover, pcap download, summary, screenshot', { timeout: 180_000 }, async (t) => {
  const browser = await launchChromium(t, 'the demo dashboard page');
  if (browser === undefined) return;
  const work = mkdtempSync(join(tmpdir(), 'iotnet-dashboard-'));
  const shots = process.env['IOTNET_SCREENSHOT_DIR'] ?? work;
  mkdirSync(shots, { recursive: true });
  const live = new FakeDemoLive(work);
  const timer = setInterval(() => live.step(250), 250);
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

    // The topology: one SVG group per node of the model.
    const nodes = live.snapshot().nodes;
    for (const n of nodes) assert.equal(await page.locator(`svg.topology [data-node="${n.id}"]`).count(), 1, `node ${n.id} in the topology`);
    assert.equal(await page.locator('svg.topology [data-node]').count(), nodes.length);
    for (const l of live.snapshot().links) assert.equal(await page.locator(`svg.topology [data-link="${l.id}"]`).count(), 1, `link ${l.id} drawn`);

    // Counters move: a device's published count, read twice.
    const device = nodes.find((n) => n.role === 'device');
    assert.ok(device, 'the model has a device');
    const counter = `[data-counter="${device.id}:sent"]`;
    const first = Number(await page.getAttribute(counter, 'data-value'));
    await page.waitForFunction(([sel, before]) => Number((globalThis as unknown as PageGlobal).document.querySelector(sel)?.getAttribute('data-value')) > before, [counter, first] as const, { timeout: 60_000 });
    const second = Number(await page.getAttribute(counter, 'data-value'));
    assert.ok(second > first, `counter ${counter} grew: ${first} -> ${second}`);

    // A failover appears in the timeline.
    await page.waitForSelector('.timeline [data-event-kind="failover"]', { timeout: 90_000 });
    const running = join(shots, 'dashboard-running.png');
    await page.screenshot({ path: running, fullPage: true });
    t.diagnostic(`screenshot during the run: ${running}`);

    // Each link's pcap downloads as a file starting with a pcap magic.
    const link = live.snapshot().links.find((l) => l.pcap !== undefined);
    assert.ok(link, 'a link with a capture');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`a[data-pcap="${link.id}"]`)]);
    const file = await download.path();
    const head = readFileSync(file).subarray(0, 4);
    const magic = [...head].map((b) => b.toString(16).padStart(2, '0')).join('');
    assert.ok(PCAP_MAGICS.has(magic) || PCAP_MAGICS.has([...head].reverse().map((b) => b.toString(16).padStart(2, '0')).join('')), `pcap magic, got ${magic}`);
    assert.match(download.suggestedFilename(), /\.pcap$/);

    // The end (after the fail-back): the summary shows, and the page is still served.
    await page.waitForSelector('.timeline [data-event-kind="failback"]', { timeout: 90_000 });
    live.finish();
    await page.waitForSelector('[data-summary]', { timeout: 120_000 });
    assert.equal(await page.locator('.conn-ended').count(), 1);
    const done = join(shots, 'dashboard.png');
    await page.screenshot({ path: done, fullPage: true });
    t.diagnostic(`screenshot at the end: ${done}`);
    console.log(`dashboard screenshots: ${running} ${done}`);
    const again = await page.goto(dash.url);
    assert.equal(again?.status(), 200);
    await page.waitForSelector('[data-summary]');
    await context.close();
    assert.deepEqual(problems, []);
  } finally {
    clearInterval(timer);
    await dash.close();
    await browser.close();
    rmSync(work, { recursive: true, force: true });
  }
});
