/**
 * Debian's headless Chromium driven by Playwright (`playwright-core`, no browser download):
 * installed with apt-get when missing (root), or a loud skip (a failure under CI=true).
 * Playwright gives every launch a new, empty profile and removes it on `close()`.
 *
 * ```ts
 * const browser = await launchChromium(t, 'the dashboard');
 * if (browser === undefined) return;              // skipped
 * try { const page = await browser.newPage(); ... } finally { await browser.close(); }
 * ```
 */
import { chromium, type Browser } from 'playwright-core';
import { skipWithoutTool } from './system-tool.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Chromium's flags for this machine: no sandbox (root), and no background networking (the
 * machine's closed network refuses those connections, many at a time).
 */
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

/** Launches headless Chromium; undefined when it is missing and cannot be installed (the test was skipped, loudly). */
export async function launchChromium(t: { skip(msg: string): void }, unchecked: string): Promise<Browser | undefined> {
  if (skipWithoutTool(t, CHROMIUM_PATH, 'chromium', unchecked)) return undefined;
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS });
}
