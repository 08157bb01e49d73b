/**
 * `npm run bench`: performance figures, each next to a baseline measured in the
 * same run, as a ratio. `npm run bench -- --json FILE` also writes them as JSON.
 * `--quick` uses smaller sizes (for smoke tests).
 *
 * Units: throughput in MB/s (10^6 bytes per second), round-trip time in µs, MQTT
 * publish rates in messages per second.
 */
import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { runTcpBench } from './tcp-host.bench.ts';
import { runWireBench } from './wire.bench.ts';
import { runLowpanBench } from './lowpan.bench.ts';
import { runUserspaceTcpBench } from './tcp-userspace.bench.ts';
import { runTapBench } from './tcp-tap.bench.ts';
import { runMqttBench } from './mqtt.bench.ts';
import { runAtBench } from './at-modules.bench.ts';
import { runSerialBench } from './serial-links.bench.ts';

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

function parseArgs(argv: string[]): { json: string | undefined; quick: boolean } {
  let json: string | undefined;
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') {
      const next = argv[i + 1];
      json = next !== undefined && !next.startsWith('--') ? (i++, next) : 'bench-results.json';
    } else if (a === '--quick') quick = true;
    else {
      process.stderr.write(`bench: unknown argument '${a}' (use --json [FILE], --quick)\n`);
      process.exit(2);
    }
  }
  return { json, quick };
}

async function main(): Promise<void> {
  const { json, quick } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const peer = new Worker(new URL('./peer.mjs', import.meta.url));
  const ports = await new Promise<{ sink: number; echo: number }>((resolve, reject) => {
    peer.once('message', resolve);
    peer.once('error', reject);
  });
  const figures: Figure[] = [];
  try {
    const progress = (m: string): void => {
      process.stderr.write(`  ${m}\n`);
    };
    figures.push(...(await runTcpBench(ports, { quick, progress })));
    figures.push(...(await runUserspaceTcpBench({ quick, progress })));
    figures.push(...(await runTapBench({ quick, progress })));
    figures.push(...(await runMqttBench({ quick, progress })));
    figures.push(...(await runWireBench({ quick, progress })));
    figures.push(...(await runLowpanBench({ quick, progress })));
    figures.push(...(await runAtBench({ quick, progress })));
    figures.push(...(await runSerialBench({ quick, progress })));
  } finally {
    peer.postMessage('stop');
    await peer.terminate();
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
