/**
 * Wire codec micro-benchmarks: internet checksum throughput (64 B, 1500 B, 64 KiB, in
 * MB/s = 10^6 bytes/s) and IPv4+UDP parse and emit per packet (32-byte and 1472-byte
 * payloads; parse verifies both checksums, emit computes both).
 *
 * Each figure is the median of 7 rounds of a `performance.now()` timed loop (real time is
 * fine here: this is a benchmark, not the stack). Per-packet figures use the `us` unit of
 * `Figure` (fractions of a microsecond; the label gives the value in ns too).
 *
 * Run alone: `npx tsx bench/wire.bench.ts [--quick]`.
 */
import { pathToFileURL } from 'node:url';
import { foldChecksum, onesSum } from '../src/wire/checksum.ts';
import { isFault } from '../src/wire/fault.ts';
import { IpProtocol, emitIpv4, ipv4Payload, parseIpv4, type Ipv4Repr } from '../src/wire/ipv4.ts';
import { emitUdp, parseUdp, type UdpRepr } from '../src/wire/udp.ts';
import type { Figure } from './main.ts';

export interface WireBenchOptions {
  quick: boolean;
  progress?: (msg: string) => void;
}

const ROUNDS = 7;
const SRC = Uint8Array.of(192, 0, 2, 1);
const DST = Uint8Array.of(198, 51, 100, 7);

/** Keeps results observable so the loops cannot be optimised away. */
let sink = 0;

/** Median of `xs` (upper middle for an even count). */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** Runs `body(iterations)` until `budgetMs` has passed; returns seconds per iteration. */
export function timeLoop(budgetMs: number, body: (n: number) => void): number {
  let n = 16;
  // Calibrate a batch size that takes ≥ 2 ms, then run batches until the budget is spent.
  for (;;) {
    const t0 = performance.now();
    body(n);
    if (performance.now() - t0 >= 2) break;
    n *= 2;
  }
  let iters = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < budgetMs) {
    body(n);
    iters += n;
    t = performance.now();
  }
  return (t - t0) / 1000 / iters;
}

function pseudoRandom(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function ipRepr(payloadLen: number): Ipv4Repr {
  return {
    dscp: 0,
    ecn: 0,
    ident: 0x1234,
    dontFrag: true,
    moreFrags: false,
    fragOffset: 0,
    ttl: 64,
    protocol: IpProtocol.UDP,
    src: SRC,
    dst: DST,
    options: new Uint8Array(0),
    payloadLen,
  };
}

/** Builds a valid IPv4+UDP datagram with `payload` bytes of data. */
function datagram(payload: number): Uint8Array {
  const b = new Uint8Array(20 + 8 + payload);
  b.set(pseudoRandom(payload), 28);
  emitUdp({ srcPort: 49152, dstPort: 1883, payloadLen: payload }, b.subarray(20), SRC, DST);
  emitIpv4(ipRepr(8 + payload), b);
  return b;
}

export async function runWireBench(opts: WireBenchOptions): Promise<Figure[]> {
  const budgetMs = opts.quick ? 20 : 150;
  const rounds = opts.quick ? 3 : ROUNDS;
  const progress = opts.progress ?? ((): void => {});
  const figures: Figure[] = [];

  for (const [size, name] of [[64, '64B'], [1500, '1500B'], [65536, '64KiB']] as const) {
    const buf = pseudoRandom(size);
    const secs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      secs.push(
        timeLoop(budgetMs, (n) => {
          let acc = 0;
          for (let i = 0; i < n; i++) acc = foldChecksum(onesSum(buf, 0, size, acc));
          sink ^= acc;
        }),
      );
    }
    const mbs = size / median(secs) / 1e6;
    progress(`checksum ${name}: ${mbs.toFixed(0)} MB/s`);
    figures.push({ key: `wire_checksum_${name}`, label: `internet checksum, ${size}-byte buffer`, value: mbs, unit: 'MB/s' });
    await Promise.resolve();
  }

  for (const payload of [32, 1472]) {
    const pkt = datagram(payload);
    const parseSecs: number[] = [];
    const emitSecs: number[] = [];
    const out = new Uint8Array(pkt.length);
    out.set(pkt.subarray(28), 28); // the payload is in place before headers are emitted
    const udpOut = out.subarray(20);
    const udp: UdpRepr = { srcPort: 49152, dstPort: 1883, payloadLen: payload };
    const ip = ipRepr(8 + payload);
    for (let r = 0; r < rounds; r++) {
      parseSecs.push(
        timeLoop(budgetMs, (n) => {
          for (let i = 0; i < n; i++) {
            const ipr = parseIpv4(pkt);
            if (isFault(ipr)) throw new Error(`bench: ${ipr}`);
            const u = parseUdp(ipv4Payload(pkt), ipr.src, ipr.dst);
            if (isFault(u)) throw new Error(`bench: ${u}`);
            sink ^= u.dstPort;
          }
        }),
      );
      emitSecs.push(
        timeLoop(budgetMs, (n) => {
          for (let i = 0; i < n; i++) {
            emitUdp(udp, udpOut, SRC, DST);
            emitIpv4(ip, out);
          }
          sink ^= out[10] as number;
        }),
      );
    }
    for (const [what, secs] of [['parse', parseSecs], ['emit', emitSecs]] as const) {
      const ns = median(secs) * 1e9;
      progress(`ipv4+udp ${what} (${payload} B payload): ${ns.toFixed(0)} ns/packet`);
      figures.push({
        key: `wire_ipv4_udp_${what}_${payload}B`,
        label: `IPv4+UDP ${what}, ${payload}-byte payload, checksums on`,
        value: ns,
        unit: 'ns',
      });
    }
    await Promise.resolve();
  }
  if (sink === 0x7fffffff) progress('(sink)');
  return figures;
}

// Standalone: `npx tsx bench/wire.bench.ts [--quick]`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await runWireBench({ quick: process.argv.includes('--quick'), progress: (m) => process.stderr.write(`  ${m}\n`) });
  for (const f of figures) {
    const v = `${f.value.toFixed(0)} ${f.unit}`;
    process.stdout.write(`${f.key.padEnd(32)}${v}\n`);
  }
}
