/**
 * The web dashboard on the real IoT demo scenario (`IotDemo`, src/apps/demo/iot-demo.ts: gateway,
 * four devices on four stacks, the access point failing and coming back), in Debian's headless
 * Chromium: the page loads, the topology shows every node, counters move, the failover appears in
 * the timeline, a link's pcap downloads, and the summary shows once the run is over
 * (test/support/dashboard-check.ts). Screenshots go to IOTNET_SCREENSHOT_DIR (or a temp dir).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IotDemo } from '../../src/apps/demo/iot-demo.ts';
import type { DemoSummary } from '../../src/apps/demo/demo-model.ts';
import { checkDashboard } from '../support/dashboard-check.ts';

test('dashboard in headless Chromium on the real demo scenario', { timeout: 300_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'iotnet-dashboard-demo-'));
  const pcapDir = join(work, 'pcap');
  mkdirSync(pcapDir);
  const shots = process.env['IOTNET_SCREENSHOT_DIR'] ?? mkdtempSync(join(tmpdir(), 'iotnet-dashboard-shots-'));
  mkdirSync(shots, { recursive: true });
  const demo = new IotDemo({ pcapDir });
  let summary: DemoSummary | undefined;
  let run: Promise<void> | undefined;
  try {
    const paths = await checkDashboard(t, demo.live, {
      shots,
      start: () => {
        run = demo.run().then((s) => {
          summary = s;
        });
      },
      failoverTimeoutMs: 150_000,
      finish: async () => {
        await run;
      },
    });
    if (paths !== undefined) {
      console.log(`dashboard screenshots: ${paths.running} ${paths.done}`);
      assert.ok(summary, 'the run ended');
      assert.ok(summary.ok, `the run's problems: ${summary.problems.join('; ')}`);
    }
  } finally {
    await run;
    rmSync(work, { recursive: true, force: true });
  }
});
