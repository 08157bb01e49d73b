// Types of scripts/build-browser.mjs (for the tests that bundle pages with it).
import type { Plugin } from 'esbuild';

export const ROOT: string;
export const BUILTIN_STAND_INS: Readonly<Record<string, string>>;
export const BROWSER_SUBSTITUTES: Readonly<Record<string, string>>;
export function browserPlugin(): Plugin;
export interface BrowserBundleOptions {
  /** Entry file (default src/browser.ts), from the repository root or absolute. */
  entry?: string;
  /** Output file (default dist/browser/iotnet.js). */
  outfile?: string;
  minify?: boolean;
  sourcemap?: boolean;
  quiet?: boolean;
}
export interface BrowserBundle {
  outfile: string;
  bytes: number;
  gzipBytes: number;
  inputs: string[];
  exports: string[];
}
export function buildBrowserBundle(opts?: BrowserBundleOptions): Promise<BrowserBundle>;
