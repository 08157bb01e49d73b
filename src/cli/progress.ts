/**
 * Progress and live status for the `iotnet` commands, on stderr (stdout stays for results,
 * `--json` included).
 *
 * On a terminal: one line redrawn in place at most every 100 ms: a bar with percentage,
 * rate and ETA when the total is known, a spinner with the count and rate when it is not,
 * and a status text. `log(line)` prints a line above it (the bar is cleared and redrawn).
 * When stderr is not a terminal (a pipe, a log file, a test): no control characters, and a
 * plain line at most every `plainEveryMs` (default 5 s), so logs stay sparse.
 */

export interface ProgressOptions {
  /** What is progressing (`reading capture.pcap`). */
  readonly label: string;
  /** The total amount, when known (bar, percentage and ETA). */
  readonly total?: number | undefined;
  /** `'bytes'`: amounts shown as kB/MB and rates as kB/s; otherwise plain counts with this unit name. */
  readonly unit?: string;
  /** Default process.stderr. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Force terminal or plain mode (default: the stream's `isTTY`). */
  readonly tty?: boolean;
  /** Plain mode: a line at most this often (default 5000 ms). */
  readonly plainEveryMs?: number;
  /** Time source (default Date.now), for tests. */
  readonly now?: () => number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR = 24;

/** `1536` -> `1.5 kB` (powers of 1000, as rates are usually given). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i] as string}`;
}

/** `83_000` ms -> `1m23s`; below a minute `12.3s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

export class Progress {
  readonly tty: boolean;
  private readonly label: string;
  private readonly total: number | undefined;
  private readonly unit: string;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private readonly plainEveryMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private value = 0;
  private text = '';
  private frame = 0;
  private lastDraw = -Infinity;
  private lastPlain: number;
  private drawn = false;
  private finished = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ProgressOptions) {
    this.label = options.label;
    this.total = options.total !== undefined && options.total > 0 ? options.total : undefined;
    this.unit = options.unit ?? '';
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.plainEveryMs = options.plainEveryMs ?? 5000;
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.lastPlain = this.started;
    if (this.tty) {
      // Keeps the spinner turning while nothing is reported; never keeps the process alive.
      this.timer = setInterval(() => this.draw(true), 100);
      this.timer.unref();
    }
  }

  /** The amount done so far, and optionally a new status text. */
  update(value: number, status?: string): void {
    if (this.finished) return;
    this.value = value;
    if (status !== undefined) this.text = status;
    this.render();
  }

  /** A new status text, the amount unchanged. */
  status(text: string): void {
    if (this.finished) return;
    this.text = text;
    this.render(true);
  }

  /** A line of output above the live line (stdout by default, so results stay on stdout). */
  log(line: string, to: NodeJS.WritableStream = process.stdout): void {
    this.clear();
    to.write(`${line}\n`);
    if (!this.finished) this.draw(true);
  }

  /** Ends the live line; prints `line` (if given) on stderr in its place. */
  done(line?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.clear();
    if (line !== undefined) this.stream.write(`${line}\n`);
  }

  /** The live line as it stands (without control characters). */
  line(): string {
    const elapsed = this.now() - this.started;
    const rate = elapsed > 0 ? (this.value * 1000) / elapsed : 0;
    const amount = (v: number): string => (this.unit === 'bytes' ? formatBytes(v) : `${Math.round(v)}${this.unit !== '' ? ` ${this.unit}` : ''}`);
    const rateText = elapsed >= 500 && this.value > 0 ? `, ${this.unit === 'bytes' ? `${formatBytes(rate)}/s` : `${rate.toFixed(rate < 10 ? 1 : 0)}/s`}` : '';
    const status = this.text !== '' ? `  ${this.text}` : '';
    if (this.total === undefined) {
      const head = this.tty ? `${SPINNER[this.frame % SPINNER.length] as string} ` : '';
      return `${head}${this.label}: ${amount(this.value)}${rateText}, ${formatDuration(elapsed)}${status}`;
    }
    const f = Math.min(1, Math.max(0, this.value / this.total));
    const eta = rate > 0 && f < 1 ? `, ETA ${formatDuration(((this.total - this.value) * 1000) / rate)}` : '';
    const bar = this.tty ? `[${'#'.repeat(Math.round(f * BAR)).padEnd(BAR, '-')}] ` : '';
    return `${this.label}: ${bar}${(f * 100).toFixed(0).padStart(3)}% ${amount(this.value)}/${amount(this.total)}${rateText}${eta}${status}`;
  }

  private render(force = false): void {
    if (this.tty) this.draw(force);
    else if (this.now() - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = this.now();
      this.stream.write(`${this.line()}\n`);
    }
  }

  private draw(force: boolean): void {
    if (!this.tty || this.finished) return;
    const t = this.now();
    if (!force && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    this.frame++;
    // A terminal of unknown width (0: a pseudo-terminal nobody sized) gets 100 columns.
    const columns = this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : 100;
    const width = Math.max(20, columns - 1);
    this.stream.write(`\r\x1b[K${this.line().slice(0, width)}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
