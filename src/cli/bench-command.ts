/**
 * `iotnet bench`: the benchmarks of a source checkout (bench/, not part of the published
 * package). Without `--only` it runs exactly what `npm run bench` runs (`bench/main.ts` with
 * `--expose-gc`, the same table and `--json` file); `--only NAME...` passes the groups on to it.
 * In a child process; its progress lines become a live status line on a terminal.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forEachOption } from './args.ts';
import { BENCH_GROUPS } from './bench-groups.ts';
import { Progress } from './progress.ts';
import { UsageError } from './usage-error.ts';

export const BENCH_USAGE = `Usage: iotnet bench [--only NAME...] [--quick] [--json [FILE]]

Runs iotnet's benchmarks, each figure next to a baseline measured in the same run
(the README's benchmark table). Without --only: everything 'npm run bench' runs, the
same way (takes minutes; the TAP figures need root). The benchmarks live in the
source checkout (bench/); an installed package does not have them.

Options:
  --only NAME...   run only these groups (repeatable, or comma-separated):
                   ${Object.keys(BENCH_GROUPS).join(', ')}
  --quick          smaller sizes (a smoke test: the figures are not comparable)
  --json [FILE]    also write the figures as JSON to FILE (default bench-results.json)
  -h, --help       this text

Exit codes: 0 done, 1 a benchmark failed or the benchmarks are not here, 2 usage error.`;

interface BenchArgs {
  only: string[];
  quick: boolean;
  json: string | undefined;
  help: boolean;
}

function parseBenchArgs(args: readonly string[]): BenchArgs {
  const out: BenchArgs = { only: [], quick: false, json: undefined, help: false };
  let inOnly = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    // --only takes names up to the next option; --json takes an optional FILE.
    if (inOnly && !arg.startsWith('-')) {
      out.only.push(...arg.split(',').filter((x) => x !== ''));
      continue;
    }
    inOnly = false;
    if (arg === '--json' && args[i + 1] !== undefined && !(args[i + 1] as string).startsWith('-')) {
      out.json = args[++i] as string;
      continue;
    }
    forEachOption([arg], (name, value) => {
      switch (name) {
        case '--only':
          if (arg.includes('=')) out.only.push(...value().split(',').filter((x) => x !== ''));
          else inOnly = true;
          break;
        case '--quick':
          out.quick = true;
          break;
        case '--json':
          out.json = arg.includes('=') ? value() : 'bench-results.json';
          break;
        case '-h':
        case '--help':
          out.help = true;
          break;
        default:
          throw new UsageError(arg.startsWith('-') ? `unknown option '${arg}'` : `unexpected argument '${arg}' (group names go after --only)`);
      }
    });
  }
  if (inOnly && out.only.length === 0) throw new UsageError('--only needs at least one NAME');
  for (const n of out.only) if (!Object.hasOwn(BENCH_GROUPS, n)) throw new UsageError(`--only: unknown benchmark group '${n}' (known: ${Object.keys(BENCH_GROUPS).join(', ')})`);
  return out;
}

/** The checkout's root (where bench/ is, when it is). */
function packageRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export async function runBench(args: readonly string[]): Promise<number> {
  const a = parseBenchArgs(args);
  if (a.help) {
    console.log(BENCH_USAGE);
    return 0;
  }
  const root = packageRoot();
  const benchMain = join(root, 'bench', 'main.ts');
  if (!existsSync(benchMain)) {
    console.error(`iotnet bench: the benchmarks are not part of the installed package (no ${benchMain}).
Run them in a source checkout of iotnet: 'npm run bench' or 'npx iotnet bench'.`);
    return 1;
  }
  const flags = [...(a.quick ? ['--quick'] : []), ...(a.json !== undefined ? ['--json', a.json] : [])];
  const script = [benchMain, ...flags, ...(a.only.length > 0 ? ['--only', ...new Set(a.only)] : [])];
  // tsx as this checkout has it, whatever the working directory (--json FILE is relative to that).
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx');
  } catch {
    console.error("iotnet bench: tsx is not installed in this checkout (run 'npm install')");
    return 1;
  }
  const child = spawn(process.execPath, ['--expose-gc', '--import', tsx, ...script], { cwd: process.cwd(), stdio: ['ignore', 'inherit', 'pipe'] });
  const progress = new Progress({ label: `bench ${a.only.length === 0 ? 'all' : a.only.join(',')}${a.quick ? ' (quick)' : ''}` });
  progress.status('starting');
  let partial = '';
  child.stderr.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      // Terminal: the latest step as the live status; otherwise the child's (already sparse) lines.
      if (progress.tty && /^ {2}\S/.test(line)) progress.status(line.trim());
      else progress.log(line, process.stderr);
    }
  });
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => {
    child.on('error', (e) => {
      progress.log(`iotnet bench: cannot start the benchmarks: ${e.message}`, process.stderr);
      resolve(1);
    });
    child.on('close', (c, signal) => resolve(c ?? (signal !== null ? 1 : 0)));
  });
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  if (partial !== '') progress.log(partial, process.stderr);
  progress.done();
  return code === 0 ? 0 : 1;
}
