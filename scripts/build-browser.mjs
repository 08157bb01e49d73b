#!/usr/bin/env node
// The browser bundle of the userspace stack: src/browser.ts -> dist/browser/iotnet.js (ESM,
// esbuild, platform 'browser', minified, with a source map).
//
//   node scripts/build-browser.mjs [--no-minify] [--out FILE] [--entry FILE] [--quiet]
//
// No Node built-in may reach a browser bundle: `browserPlugin()` fails the build on any import
// of one (`node:x` or a bare built-in name, from our code or a package), except
//   - `buffer` / `node:buffer` -> the `buffer` package (the DNS codec, dns-packet, needs it);
// and substitutes
//   - src/socket/duplex.ts -> src/runtime/browser-no-duplex.ts (`SocketDuplex` extends
//     node:stream's Duplex; in the bundle `toDuplex()`/`connectDuplex()` throw ENOTSUP).
// The test page (web/stack-page/) is bundled with the same plugin (test/e2e/browser-stack.test.ts).
import * as esbuild from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'package.json'));
const BUILTINS = new Set(builtinModules);

/** Node built-ins the bundle may use, and the browser package that stands in for each. */
export const BUILTIN_STAND_INS = Object.freeze({ buffer: 'buffer/' });

/** Source files replaced in browser bundles (paths from the repository root). */
export const BROWSER_SUBSTITUTES = Object.freeze({ 'src/socket/duplex.ts': 'src/runtime/browser-no-duplex.ts' });

/** The esbuild plugin: fails on Node built-ins, applies the stand-ins and substitutes above. */
export function browserPlugin() {
  const substitutes = new Map(Object.entries(BROWSER_SUBSTITUTES).map(([from, to]) => [path.join(ROOT, from), path.join(ROOT, to)]));
  return {
    name: 'iotnet-browser',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const spec = args.path;
        const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
        if (spec.startsWith('node:') || BUILTINS.has(bare)) {
          const standIn = BUILTIN_STAND_INS[bare];
          if (standIn !== undefined) return { path: require.resolve(standIn) };
          const by = args.importer ? path.relative(ROOT, args.importer) : '?';
          return { errors: [{ text: `Node built-in '${spec}' (imported by ${by}) is not allowed in a browser bundle` }] };
        }
        if (spec.startsWith('.')) {
          const to = substitutes.get(path.resolve(args.resolveDir, spec));
          if (to !== undefined) return { path: to };
        }
        return undefined;
      });
    },
  };
}

/**
 * Bundles `entry` for the browser. Returns the output path, its size in bytes (and gzipped) and
 * the bundle's input files. Rejects (esbuild's error) when a Node built-in slips in.
 */
export async function buildBrowserBundle(opts = {}) {
  const entry = path.resolve(ROOT, opts.entry ?? 'src/browser.ts');
  const outfile = path.resolve(ROOT, opts.outfile ?? 'dist/browser/iotnet.js');
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: opts.minify ?? true,
    sourcemap: opts.sourcemap ?? true,
    metafile: true,
    write: true,
    logLevel: opts.quiet === false ? 'warning' : 'silent',
    plugins: [browserPlugin()],
  });
  const out = result.metafile.outputs[path.relative(process.cwd(), outfile)] ?? Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  const { readFileSync } = await import('node:fs');
  const code = readFileSync(outfile);
  return {
    outfile,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    inputs: Object.keys(result.metafile.inputs),
    exports: out?.exports ?? [],
  };
}

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quiet = process.argv.includes('--quiet');
  try {
    const r = await buildBrowserBundle({
      minify: !process.argv.includes('--no-minify'),
      ...(arg('--out') !== undefined ? { outfile: arg('--out') } : {}),
      ...(arg('--entry') !== undefined ? { entry: arg('--entry') } : {}),
      quiet: true,
    });
    if (!quiet) {
      console.log(`build-browser: ${path.relative(ROOT, r.outfile)}: ${r.bytes} bytes (${r.gzipBytes} gzipped), ${r.inputs.length} inputs, ${r.exports.length} exports`);
    }
  } catch (e) {
    const errors = e?.errors ?? [];
    for (const m of errors) console.error(`build-browser: ${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`);
    if (errors.length === 0) console.error(`build-browser: ${e?.message ?? e}`);
    process.exit(1);
  }
}
