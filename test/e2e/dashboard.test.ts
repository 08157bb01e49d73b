/**
 * The demo's web dashboard in Debian's headless Chromium (playwright-core) on a small fake
 * `DemoLive` (test/support/fake-demo-live.ts) stepped by a timer: the page loads, the topology
 * shows every node, counters move, a failover event appears in the timeline, a link's pcap
 * downloads (pcap magic), the summary shows at the end (checks: test/support/dashboard-check.ts;
 * dashboard-demo.test.ts runs them on the real scenario). Screenshots go to IOTNET_SCREENSHOT_DIR
 * (or a temp dir); their paths are printed.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkDashboard } from '../support/dashboard-check.ts';
import { FakeDemoLive } from '../support/fake-demo-live.ts';

test('dashboard in headless Chromium on a fake run: topology, moving counters, failover, pcap download, summary, screenshots', { timeout: 180_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'iotnet-dashboard-'));
  const shots = process.env['IOTNET_SCREENSHOT_DIR'] ?? mkdtempSync(join(tmpdir(), 'iotnet-dashboard-shots-'));
  mkdirSync(shots, { recursive: true });
  const live = new FakeDemoLive(work);
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    const paths = await checkDashboard(t, live, {
      shots,
      start: () => {
        timer = setInterval(() => live.step(250), 250);
      },
      finish: async (page) => {
        await page.waitForSelector('.timeline [data-event-kind="failback"]', { timeout: 90_000 });
        live.finish();
      },
    });
    if (paths !== undefined) console.log(`dashboard screenshots: ${paths.running} ${paths.done}`);
  } finally {
    clearInterval(timer);
    rmSync(work, { recursive: true, force: true });
  }
});
