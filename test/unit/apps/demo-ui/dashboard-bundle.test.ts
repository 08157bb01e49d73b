/** The dashboard's assets: a prebuilt directory is used when it has both files; esbuild bundles web/dashboard otherwise. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bundleDashboard, readPrebuiltBundle } from '../../../../src/apps/demo-ui/dashboard-bundle.ts';

describe('dashboard bundle', () => {
  it('reads the first prebuilt directory that has dashboard.js and dashboard.css', async () => {
    const half = mkdtempSync(join(tmpdir(), 'iotnet-ui-'));
    const full = mkdtempSync(join(tmpdir(), 'iotnet-ui-'));
    try {
      writeFileSync(join(half, 'dashboard.js'), 'half');
      writeFileSync(join(full, 'dashboard.js'), 'js');
      writeFileSync(join(full, 'dashboard.css'), 'css');
      assert.equal(await readPrebuiltBundle([half, join(half, 'missing')]), undefined);
      const b = await readPrebuiltBundle([half, full]);
      assert.ok(b);
      assert.equal(new TextDecoder().decode(b.js), 'js');
      assert.equal(new TextDecoder().decode(b.css), 'css');
      assert.equal(b.source, `${full}/`);
    } finally {
      rmSync(half, { recursive: true, force: true });
      rmSync(full, { recursive: true, force: true });
    }
  });

  it('bundles web/dashboard with esbuild: one ES module and one style sheet', async () => {
    const b = await bundleDashboard({ minify: true });
    assert.equal(b.source, 'esbuild');
    const js = new TextDecoder().decode(b.js);
    assert.match(js, /EventSource/);
    assert.doesNotMatch(js, /^\s*import\s/m, 'no imports left');
    assert.match(new TextDecoder().decode(b.css), /prefers-color-scheme/);
  });
});
