/**
 * Child process of the userspace bench (`measureTransferRss` in `tcp-userspace.bench.ts`):
 * moves N MiB (argv[2], default 1024) between two userspace stacks exactly as the bulk
 * figure does (virtual cable, MTU 1500, checksum offload, 64 KiB writes), samples RSS
 * after every 64 MiB received, and sends an `RssReport` to the parent over IPC. The peak
 * is the kernel's high-water mark for this process (`resourceUsage().maxRSS`), so nothing
 * between two samples is missed; it includes Node and the `tsx` loader. Two full GCs
 * (after a quarter of the bytes and at the end) measure the heap still in use.
 */
import { userspaceBulk } from './tcp-userspace.bench.ts';

export interface RssReport {
  /** Peak RSS of the process, MiB (kernel high-water mark, the whole life of the child). */
  peakMiB: number;
  /** RSS before the transfer (Node, the tsx loader and the modules loaded; no stacks yet), MiB. */
  startMiB: number;
  /** [MiB received, RSS MiB] after every 64 MiB, and at the end. */
  samples: [number, number][];
  /** Throughput of this transfer (sampling included), MB/s. */
  mbps: number;
  /**
   * Heap still in use after a full GC once a quarter of the bytes moved, and at the end
   * (MiB; undefined without `--expose-gc`): growth between them would be a leak, while
   * RSS also follows V8's heap sizing.
   */
  retainedQuarterMiB: number | undefined;
  retainedEndMiB: number | undefined;
}

const MiB = 1024 * 1024;
const STEP = 64 * MiB;

async function main(): Promise<void> {
  const totalMiB = Number(process.argv[2] ?? 1024);
  if (!Number.isInteger(totalMiB) || totalMiB < 1) throw new RangeError(`bad size ${process.argv[2]}`);
  const total = totalMiB * MiB;
  const rss = (): number => process.memoryUsage.rss() / MiB;
  const startMiB = rss();
  const gc = (globalThis as { gc?: () => void }).gc;
  const retained = (): number | undefined => {
    if (gc === undefined) return undefined;
    gc();
    return process.memoryUsage().heapUsed / MiB;
  };
  const samples: [number, number][] = [];
  let next = STEP;
  let retainedQuarterMiB: number | undefined;
  let retainedEndMiB: number | undefined;
  const mbps = await userspaceBulk(total, true, (received) => {
    if (received < next) return;
    next += STEP;
    samples.push([Math.floor(received / MiB), rss()]);
    if (received >= total / 4 && retainedQuarterMiB === undefined) retainedQuarterMiB = retained();
    // At the end, before the connection and the stacks are closed.
    if (received >= total) retainedEndMiB = retained();
  });
  const last = samples.at(-1);
  if (last === undefined || last[0] < totalMiB) samples.push([totalMiB, rss()]);
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  const report: RssReport = { peakMiB, startMiB, samples, mbps, retainedQuarterMiB, retainedEndMiB };
  process.send?.(report);
  process.disconnect?.();
}

await main();
