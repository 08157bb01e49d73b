#!/usr/bin/env node
// Builds the demo dashboard's page (web/dashboard/main.ts and its CSS) into dist/ui/dashboard.js
// and dist/ui/dashboard.css with esbuild, minified. The dashboard server serves these when they
// exist and bundles on the fly otherwise. Run: node --import tsx scripts/build-ui.mjs [out-dir]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleDashboard } from '../src/apps/demo-ui/dashboard-bundle.ts';

const root = new URL('..', import.meta.url).pathname;
const out = resolve(process.argv[2] ?? join(root, 'dist', 'ui'));
const bundle = await bundleDashboard({ minify: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'dashboard.js'), bundle.js);
writeFileSync(join(out, 'dashboard.css'), bundle.css);
console.log(`dashboard bundle: ${join(out, 'dashboard.js')} (${bundle.js.length} B), ${join(out, 'dashboard.css')} (${bundle.css.length} B)`);
