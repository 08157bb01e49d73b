#!/usr/bin/env node
// The `iotnet` command. In the npm package it runs the built JavaScript (dist/cli/main.js).
// In a development checkout (src/ present, tsx installed) it runs the TypeScript sources
// through tsx's loader instead, so the CLI never runs a stale build; `node dist/cli/main.js`
// runs the build there (`npm run build` makes it).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'main.ts');
const built = join(root, 'dist', 'cli', 'main.js');

/** Whether tsx can be loaded from the checkout (a dev dependency). */
function hasTsx() {
  try {
    createRequire(join(root, 'package.json')).resolve('tsx/esm/api');
    return true;
  } catch {
    return false;
  }
}

if (existsSync(source) && hasTsx()) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  process.stderr.write(`iotnet: ${built} is missing: run 'npm run build' (or install tsx to run the sources)\n`);
  process.exitCode = 1;
}
