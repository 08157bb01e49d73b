#!/usr/bin/env node
// Keeps the README's benchmark tables equal to one `npm run bench -- --json FILE` run.
//
//   node scripts/bench-readme.mjs --write FILE   rewrite the figures of README.md from FILE
//   node scripts/bench-readme.mjs --check FILE   exit 1 when README.md and FILE disagree
//
// A table row is a benchmark row when its first cell names a key, "(`key`)", that FILE has.
// Its value cell becomes the figure (formatted as bench/main.ts prints it), the baseline cell
// the baseline's value (a "(`key`)" note after it stays), the ratio cell the ratio, and a
// goal cell that says "(met)" or "(not met)" says it again of the new figure (a goal with a
// unit is about the value, one without about the ratio). Prose around the tables is not
// touched: it says which run it speaks of.
import { readFileSync, writeFileSync } from 'node:fs';

const [mode, file] = process.argv.slice(2);
if ((mode !== '--write' && mode !== '--check') || file === undefined) {
  process.stderr.write('usage: node scripts/bench-readme.mjs --write|--check BENCH.json\n');
  process.exit(2);
}
const readme = new URL('../README.md', import.meta.url);
const bench = JSON.parse(readFileSync(file, 'utf8'));
const rows = new Map(bench.details.map((d) => [d.key, d]));

const digits = (unit) => (unit === 'us' || unit === 'MiB' ? 1 : 0);
const fmt = (v, unit) => `${v.toFixed(digits(unit))} ${unit}`;

function goalMet(goal, row) {
  const m = /(>=|<=|<|>)\s*([\d.]+)\s*([A-Za-z/]+)?/.exec(goal);
  if (m === null) return undefined;
  const [, op, num, unit] = m;
  const x = unit !== undefined ? row.value : row.ratio;
  if (typeof x !== 'number') return undefined;
  const n = Number(num);
  return op === '>=' ? x >= n : op === '<=' ? x <= n : op === '<' ? x < n : x > n;
}

const lines = readFileSync(readme, 'utf8').split('\n');
const changes = [];
let header;
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  if (!line.startsWith('|')) {
    header = undefined;
    continue;
  }
  const cells = line.split('|').slice(1, -1);
  if (header === undefined) {
    header = cells.map((c) => c.trim().toLowerCase());
    continue;
  }
  const key = /\(`([a-z0-9_]+)`\)/.exec(cells[0] ?? '')?.[1];
  const row = key !== undefined ? rows.get(key) : undefined;
  if (row === undefined) continue;
  const col = (name) => header.findIndex((h) => h.startsWith(name));
  const set = (idx, text) => {
    if (idx > 0 && idx < cells.length) cells[idx] = ` ${text} `;
  };
  set(col('value'), fmt(row.value, row.unit));
  const b = col('baseline');
  if (b > 0 && row.baselineValue !== undefined && row.baselineValue !== null) {
    const note = /\(`[a-z0-9_*]+`\)/.exec(cells[b] ?? '')?.[0];
    set(b, `${fmt(row.baselineValue, row.unit)}${note !== undefined ? ` ${note}` : ''}`);
  }
  const r = col('ratio');
  if (r > 0 && typeof row.ratio === 'number') set(r, row.ratio.toFixed(2));
  const g = col('goal');
  if (g > 0 && /\((not )?met\)/.test(cells[g] ?? '')) {
    const met = goalMet(cells[g], row);
    if (met !== undefined) set(g, (cells[g] ?? '').trim().replace(/\((not )?met\)/, met ? '(met)' : '(not met)'));
  }
  const next = `|${cells.join('|')}|`;
  if (next !== line) {
    changes.push(`${key}:\n  - ${line}\n  + ${next}`);
    lines[i] = next;
  }
}
if (mode === '--write') {
  writeFileSync(readme, lines.join('\n'));
  process.stdout.write(`README.md: ${changes.length} benchmark rows rewritten from ${file}\n`);
} else if (changes.length > 0) {
  process.stdout.write(`README.md differs from ${file} in ${changes.length} rows:\n${changes.join('\n')}\n`);
  process.exit(1);
} else {
  process.stdout.write(`README.md's benchmark rows match ${file}\n`);
}
