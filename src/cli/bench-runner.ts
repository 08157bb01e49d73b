/**
 * Child process of `iotnet bench --only NAME...`: runs the named groups of a checkout's bench/
 * (`node --expose-gc --import tsx bench-runner.ts BENCH_DIR [--quick] [--json FILE] --only
 * NAME...`), prints their figures with the ratio to each figure's baseline (when the baseline
 * ran too) and optionally writes them as JSON in the shape `npm run bench -- --json` writes.
 * Progress lines go to stderr, indented two spaces, as bench/main.ts's do.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BENCH_GROUPS } from './bench-groups.ts';

/** What bench/*.bench.ts return (bench/main.ts's `Figure`). */
interface Figure {
  readonly key: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: string;
  readonly goal?: string;
  readonly ratio?: number;
}

type Runner = (...args: unknown[]) => Promise<Figure[]>;

async function main(argv: readonly string[]): Promise<number> {
  const [dir, ...rest] = argv;
  let quick = false;
  let json: string | undefined;
  const only: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === '--quick') quick = true;
    else if (a === '--json') json = rest[++i];
    else if (a !== '--only') only.push(a);
  }
  if (dir === undefined || only.some((n) => !Object.hasOwn(BENCH_GROUPS, n))) {
    process.stderr.write(`bench-runner: bad arguments: ${argv.join(' ')}\n`);
    return 2;
  }
  const started = performance.now();
  const progress = (m: string): void => {
    process.stderr.write(`  ${m}\n`);
  };
  const figures: Figure[] = [];
  let peer: Worker | undefined;
  try {
    for (const name of Object.keys(BENCH_GROUPS).filter((n) => only.includes(n))) {
      const g = BENCH_GROUPS[name] as (typeof BENCH_GROUPS)[string];
      const mod = (await import(pathToFileURL(join(dir, g.file)).href)) as Record<string, Runner>;
      const run = mod[g.run];
      if (typeof run !== 'function') throw new Error(`${g.file} has no ${g.run}`);
      progress(`${name}: ${g.about}`);
      if (g.needsPeer === true) {
        const w = new Worker(new URL(pathToFileURL(join(dir, 'peer.mjs')).href));
        peer = w;
        const ports = await new Promise<unknown>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        });
        figures.push(...(await run(ports, { quick, progress })));
      } else figures.push(...(await run({ quick, progress })));
    }
  } finally {
    peer?.postMessage('stop');
    await peer?.terminate();
  }
  const byKey = new Map(figures.map((f) => [f.key, f]));
  const rows = figures.map((f) => {
    const base = f.baseline !== undefined ? byKey.get(f.baseline) : undefined;
    return { ...f, ratio: f.ratio ?? (base !== undefined ? f.value / base.value : undefined), baselineValue: base?.value };
  });
  const fixed = (v: number, unit: string): string => `${v.toFixed(unit === 'us' || unit === 'MiB' ? 1 : 0)} ${unit}`;
  const table = [['figure', 'value', 'baseline', 'ratio', 'goal'], ...rows.map((r) => [
    r.key, fixed(r.value, r.unit), r.baselineValue !== undefined ? fixed(r.baselineValue, r.unit) : '', r.ratio !== undefined ? r.ratio.toFixed(2) : '', r.goal ?? '',
  ])];
  const widths = [44, 14, 14, 8, 0];
  process.stdout.write(`\n${table.map((cells) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('').trimEnd()).join('\n')}\n`);
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`bench: ${seconds.toFixed(0)} s\n`);
  if (json !== undefined) {
    const out = {
      date: new Date().toISOString(), node: process.version, quick, only, seconds,
      figures: Object.fromEntries(rows.map((r) => [r.key, r.value])),
      ratios: Object.fromEntries(rows.filter((r) => r.ratio !== undefined).map((r) => [`${r.key}_ratio`, r.ratio])),
      details: rows,
    };
    writeFileSync(json, `${JSON.stringify(out, null, 2)}\n`);
    process.stderr.write(`wrote ${json}\n`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
