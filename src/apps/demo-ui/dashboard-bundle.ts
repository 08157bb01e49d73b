/**
 * The dashboard page's script and style sheet: the prebuilt bundle (`dist/ui/dashboard.js` and
 * `dashboard.css`, made by `scripts/build-ui.mjs` in `npm run build`) in a built package, or
 * bundled from `web/dashboard/main.ts` with esbuild on the spot (a checkout has esbuild).
 */
import { fileURLToPath } from 'node:url';
import { readFileIfExists } from '../../runtime/read-file.ts';

/** The page's assets, ready to serve. */
export interface DashboardBundle {
  readonly js: Uint8Array;
  readonly css: Uint8Array;
  /** Where they came from: a prebuilt directory, or `esbuild` (bundled now). */
  readonly source: string;
}

/** The entry point of the page's code in a checkout. */
export const DASHBOARD_ENTRY = fileURLToPath(new URL('../../../web/dashboard/main.ts', import.meta.url));

/**
 * Where a prebuilt bundle may be: `dist/ui/` of a checkout (this file at `src/apps/demo-ui/`), or
 * `ui/` beside the compiled `apps/` of a built package (this file at `dist/apps/demo-ui/`).
 */
export const PREBUILT_DIRS: readonly string[] = [
  fileURLToPath(new URL('../../../dist/ui/', import.meta.url)),
  fileURLToPath(new URL('../../ui/', import.meta.url)),
];

/** The subset of esbuild's API used here (so that esbuild stays an optional, dynamic import). */
interface EsbuildOutput {
  readonly path: string;
  readonly contents: Uint8Array;
}
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles?: EsbuildOutput[] | undefined }>;
}

/** True when this module runs from the TypeScript sources (a checkout), false from a built package. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** esbuild, or undefined when it is not installed (a package installed without dev dependencies). */
async function loadEsbuild(): Promise<Esbuild | undefined> {
  try {
    return (await import('esbuild')) as unknown as Esbuild;
  } catch {
    return undefined;
  }
}

/** Bundles `web/dashboard/main.ts` (and the CSS it imports) in memory with esbuild. Rejects when esbuild is missing or the build fails. */
export async function bundleDashboard(options: { minify?: boolean } = {}): Promise<DashboardBundle> {
  const esbuild = await loadEsbuild();
  if (esbuild === undefined) throw new Error(`the dashboard has no prebuilt bundle (looked in ${PREBUILT_DIRS.join(', ')}) and esbuild is not installed to build one`);
  const result = await esbuild.build({
    entryPoints: { dashboard: DASHBOARD_ENTRY },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: 'out',
    minify: options.minify ?? false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const files = result.outputFiles ?? [];
  const js = files.find((f) => f.path.endsWith('.js'));
  const css = files.find((f) => f.path.endsWith('.css'));
  if (js === undefined || css === undefined) throw new Error(`esbuild made ${files.map((f) => f.path).join(', ')}: expected dashboard.js and dashboard.css`);
  return { js: js.contents, css: css.contents, source: 'esbuild' };
}

/** The bundle in the first of `dirs` that has both files. */
export async function readPrebuiltBundle(dirs: readonly string[] = PREBUILT_DIRS): Promise<DashboardBundle | undefined> {
  for (const dir of dirs) {
    const base = dir.endsWith('/') ? dir : `${dir}/`;
    const js = await readFileIfExists(`${base}dashboard.js`);
    const css = js && (await readFileIfExists(`${base}dashboard.css`));
    if (js !== undefined && css !== undefined) return { js, css, source: base };
  }
  return undefined;
}

/**
 * The page's assets. From a built package: the prebuilt bundle (esbuild if it is missing). From
 * the sources of a checkout: a fresh esbuild bundle of `web/dashboard/`, so that a `dist/ui/` left
 * by an earlier `npm run build` never serves a stale page; the prebuilt one only when esbuild is
 * not installed.
 */
export async function loadDashboardBundle(): Promise<DashboardBundle> {
  if (FROM_SOURCE && (await loadEsbuild()) !== undefined) return bundleDashboard();
  return (await readPrebuiltBundle()) ?? bundleDashboard();
}
