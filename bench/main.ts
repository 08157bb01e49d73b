/**
 * `npm run bench`: performance figures, each next to a baseline measured in the
 * same run, as a ratio. `npm run bench -- --json FILE` also writes them as JSON.
 * `--quick` uses smaller sizes (for smoke tests); `--only NAME...` runs the named groups only
 * (src/cli/bench-groups.ts names them; `iotnet bench` uses this).
 *
 * Units: throughput in MB/s (10^6 bytes per second), round-trip time in µs, MQTT
 * publish rates in messages per second.
 */
import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { BENCH_GROUPS } from '../src/cli/bench-groups.ts';

export interface Figure {
  key: string;
  label: string;
  value: number;
  unit: 'MB/s' | 'us' | 'ns' | 'B' | 'MiB' | 'msg/s' | 'B/s';
  /** Key of the baseline figure this one is compared with. */
  baseline?: string;
  /** Goal, as text, for the table. */
  goal?: string;
  /** Ratio to the baseline when the bench computes it itself (paired per round). */
  ratio?: number;
}

interface BenchArgs {
  json: string | undefined;
  quick: boolean;
  /** Group names (empty: all, in table order). */
  only: string[];
}

function parseArgs(argv: string[]): BenchArgs {
  let json: string | undefined;
  let quick = false;
  const only: string[] = [];
  const fail = (why: string): never => {
    process.stderr.write(`bench: ${why} (use --json [FILE], --quick, --only NAME... with NAME one of ${Object.keys(BENCH_GROUPS).join(', ')})\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--json') {
      const next = argv[i + 1];
      json = next !== undefined && !next.startsWith('--') ? (i++, next) : 'bench-results.json';
    } else if (a === '--quick') quick = true;
    else if (a === '--only') {
      while (argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith('--')) only.push(argv[++i] as string);
      if (only.length === 0) fail('--only needs group names');
    } else fail(`unknown argument '${a}'`);
  }
  for (const n of only) if (!Object.hasOwn(BENCH_GROUPS, n)) fail(`unknown group '${n}'`);
  return { json, quick, only };
}

/** A bench group's runner: `(opts)`, or `(ports, opts)` for a group that needs the peer worker. */
type Runner = (...args: unknown[]) => Promise<Figure[]>;

async function main(): Promise<void> {
  const { json, quick, only } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const groups = Object.entries(BENCH_GROUPS).filter(([name]) => only.length === 0 || only.includes(name));
  const progress = (m: string): void => {
    process.stderr.write(`  ${m}\n`);
  };
  let peer: Worker | undefined;
  const figures: Figure[] = [];
  try {
    for (const [name, g] of groups) {
      const run = ((await import(`./${g.file}`)) as Record<string, Runner>)[g.run];
      if (typeof run !== 'function') throw new Error(`bench/${g.file} has no ${g.run}`);
      if (only.length > 0) progress(`${name}: ${g.about}`);
      if (g.needsPeer === true) {
        const w = new Worker(new URL('./peer.mjs', import.meta.url));
        peer = w;
        const ports = await new Promise<{ sink: number; echo: number }>((resolve, reject) => {
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
    const base = f.baseline ? byKey.get(f.baseline) : undefined;
    const ratio = f.ratio ?? (base ? f.value / base.value : undefined);
    return { ...f, ratio, baselineValue: base?.value };
  });
  const pad = (s: string, n: number): string => s.padEnd(n);
  const digits = (u: Figure['unit']): number => (u === 'us' || u === 'MiB' ? 1 : 0);
  process.stdout.write(`\n${pad('figure', 44)}${pad('value', 14)}${pad('baseline', 14)}${pad('ratio', 8)}goal\n`);
  for (const r of rows) {
    const v = `${r.value.toFixed(digits(r.unit))} ${r.unit}`;
    const b = r.baselineValue !== undefined ? `${r.baselineValue.toFixed(digits(r.unit))} ${r.unit}` : '';
    process.stdout.write(`${pad(r.key, 44)}${pad(v, 14)}${pad(b, 14)}${pad(r.ratio !== undefined ? r.ratio.toFixed(2) : '', 8)}${r.goal ?? ''}\n`);
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`bench: ${seconds.toFixed(0)} s\n`);
  if (json !== undefined) {
    const out = {
      date: new Date().toISOString(),
      node: process.version,
      quick,
      ...(only.length > 0 ? { only } : {}),
      seconds,
      figures: Object.fromEntries(rows.map((r) => [r.key, r.value])),
      ratios: Object.fromEntries(rows.filter((r) => r.ratio !== undefined).map((r) => [`${r.key}_ratio`, r.ratio])),
      details: rows,
    };
    writeFileSync(json, `${JSON.stringify(out, null, 2)}\n`);
    process.stderr.write(`wrote ${json}\n`);
  }
}

await main();
