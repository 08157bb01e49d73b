/**
 * The IoT demo on a terminal: follows a `DemoLive` and writes to the stream it is given (the
 * library never writes to the console itself).
 *
 * - On a TTY: a compact table redrawn in place at every tick (a few times a second): nodes,
 *   interfaces with status, reason and addresses (`*` marks the one in use), message and byte
 *   counters, links with frame counts, and the last few events.
 * - Elsewhere (CI, pipes, files): one line per notable event (phases, addresses, MQTT
 *   connections, failover and fail-back, faults, errors); no tables, no escape codes.
 *
 * Then, either way, the summary (`formatSummary`).
 */
import type { DemoEvent, DemoLive, DemoNode, DemoSnapshot, DemoSummary } from './demo-model.ts';

/** Where the view writes: `process.stdout`, or anything with `write`. */
export interface TerminalOut {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

/** Settings of `startTerminalView`. */
export interface TerminalViewOptions {
  /** Redraw in place (default: `out.isTTY`). */
  readonly tty?: boolean | undefined;
  /** Width to fit lines into on a TTY (default `out.columns`, else 100). */
  readonly columns?: number | undefined;
  /** Events shown under the table (default 6). */
  readonly events?: number | undefined;
}

/** A running terminal view. */
export interface TerminalView {
  /** Resolves with the summary once it was written. */
  readonly done: Promise<DemoSummary>;
  /** Stops following (the table stays as last drawn). */
  stop(): void;
}

const NOTABLE: ReadonlySet<DemoEvent['kind']> = new Set(['phase', 'address', 'dns', 'mqtt', 'failover', 'failback', 'fault', 'error']);

const ESC = '\u001b[';
const paint = (code: string) => (s: string): string => `${ESC}${code}m${s}${ESC}0m`;
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const yellow = paint('33');
const red = paint('31');

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function kb(n: number): string {
  return n < 10_000 ? `${n} B` : n < 10_000_000 ? `${Math.round(n / 1000)} kB` : `${Math.round(n / 1_000_000)} MB`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length);
}

/** A table cell: `s` cut or padded to `n - 1`, and a space. */
function cell(s: string, n: number): string {
  return `${pad(s, n - 1)} `;
}

function label(s: DemoSnapshot, id: string | undefined): string {
  if (id === undefined) return '';
  return s.nodes.find((n) => n.id === id)?.label ?? id;
}

/** One event as a line of text (no colours). */
export function formatEvent(e: DemoEvent, nodeLabel = e.node ?? ''): string {
  return `${secs(e.t).padStart(7)}  ${pad(nodeLabel, 13)}${e.text}`;
}

/** Visible length of a string with colour codes. */
function visible(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\u001b') {
      const m = s.indexOf('m', i);
      if (m > 0) {
        i = m;
        continue;
      }
    }
    n++;
  }
  return n;
}

/** Cuts a coloured line to `width` visible characters. */
function fit(s: string, width: number): string {
  if (visible(s) <= width) return s;
  let out = '';
  let n = 0;
  for (let i = 0; i < s.length && n < width - 1; i++) {
    if (s[i] === '\u001b') {
      const m = s.indexOf('m', i);
      if (m > 0) {
        out += s.slice(i, m + 1);
        i = m;
        continue;
      }
    }
    out += s[i];
    n++;
  }
  return `${out}${ESC}0m\u2026`;
}

function statusText(status: string): string {
  const s = cell(status, 12);
  return status === 'global-up' ? green(s) : status === 'disconnected' ? red(s) : yellow(s);
}

/** The live table, as lines (with colour codes). */
export function formatTable(s: DemoSnapshot, events = 6): string[] {
  const lines: string[] = [];
  lines.push(`${bold('iotnet demo')}  ${s.phase}  ${secs(s.t)}`);
  lines.push(dim(`${pad('NODE', 14)}${pad('IF', 9)}${pad('STATUS', 12)}${pad('REASON', 14)}${pad('ADDRESSES', 31)}${pad('SENT', 6)}${pad('RECV', 6)}BYTES OUT/IN`));
  const row = (n: DemoNode): void => {
    const c = n.counters;
    const counters = n.role === 'device' || n.role === 'gateway' ? `${cell(String(c.sent), 6)}${cell(String(c.received), 6)}` : ' '.repeat(12);
    n.interfaces.forEach((i, k) => {
      const first = k === 0;
      lines.push(`${cell(first ? n.label : '', 14)}${i.active && n.role === 'device' ? '*' : ' '}${cell(i.name, 8)}${statusText(i.status)}${cell(i.reason, 14)}`
        + `${cell(i.addresses.join(' '), 31)}${first ? `${counters}${kb(c.bytesOut)}/${kb(c.bytesIn)}` : ''}`);
    });
  };
  for (const n of s.nodes) row(n);
  if (s.links.length > 0) {
    const seen = new Set<string>();
    const parts: string[] = [];
    for (const l of s.links) {
      const key = l.id.split(':')[0] as string;
      if (seen.has(key)) continue;
      seen.add(key);
      const frames = s.links.filter((x) => (x.id.split(':')[0] as string) === key).reduce((m, x) => m + x.frames, 0);
      parts.push(`${key} ${l.up ? '' : `${red('down')} `}${frames} frames`);
    }
    lines.push(`${dim('links')}  ${parts.join('  \u00b7  ')}`);
  }
  const recent = s.events.slice(-events);
  for (const e of recent) {
    const text = formatEvent(e, label(s, e.node));
    lines.push(e.kind === 'error' ? red(text) : e.kind === 'failover' || e.kind === 'failback' || e.kind === 'fault' ? yellow(text) : dim(text));
  }
  return lines;
}

/** The end-of-run summary, as text (no colours). */
export function formatSummary(sum: DemoSummary): string {
  const l: string[] = [];
  l.push(`${sum.ok ? 'OK' : 'FAILED'}: the IoT demo ran for ${secs(sum.durationMs)}`);
  l.push(`  telemetry (MQTT QoS 1 over TLS): ${sum.published} published, ${sum.delivered} delivered, ${sum.lost} lost, ${sum.duplicates} duplicate${sum.duplicates === 1 ? '' : 's'}`);
  for (const d of sum.devices ?? []) {
    l.push(`    ${pad(d.label, 13)}${String(d.published).padStart(5)} published ${String(d.delivered).padStart(5)} delivered ${String(d.lost).padStart(3)} lost`
      + ` ${String(d.duplicates).padStart(3)} dup   commands ${d.commandsReceived}/${d.commandsSent}   MQTT connects ${d.connects}`);
  }
  l.push(`  commands (gateway -> devices, QoS 1): ${sum.commandsSent} sent, ${sum.commandsReceived} received`);
  for (const f of sum.failovers) {
    const back = f.to === 'wlan0';
    l.push(`  ${back ? 'fail-back' : 'failover '} ${f.node}: ${f.from} -> ${f.to} in ${f.ms} ms (from the AP ${back ? 'returning' : 'failing'} to the first telemetry through ${f.to}${back ? '; includes the WiFi re-join and the mux hold' : ''})`);
  }
  if (sum.pcaps.length > 0) {
    l.push('  packet captures, one per link (wireshark/tshark; radio: 6LoWPAN context 0 = 2001:db8:1::/64):');
    for (const p of sum.pcaps) l.push(`    ${pad(p.link, 7)}${p.path}`);
  }
  for (const p of sum.problems) l.push(`  problem: ${p}`);
  return `${l.join('\n')}\n`;
}

/** Starts drawing `live` on `out`. */
export function startTerminalView(live: DemoLive, out: TerminalOut, options: TerminalViewOptions = {}): TerminalView {
  const tty = options.tty ?? out.isTTY === true;
  // Read at each drawing: the terminal may be resized.
  const width = (): number => Math.max(40, options.columns ?? (out.columns !== undefined && out.columns > 0 ? out.columns : 100));
  const events = options.events ?? 6;
  let drawn = 0;
  let stopped = false;
  let resolveDone!: (s: DemoSummary) => void;
  const done = new Promise<DemoSummary>((r) => {
    resolveDone = r;
  });

  const draw = (snap: DemoSnapshot): void => {
    const w = width();
    const lines = formatTable(snap, events).map((x) => fit(x, w - 1));
    // Back to the top of the last drawing (column 1), clear below, draw again.
    out.write(`${drawn > 0 ? `${ESC}${drawn}F${ESC}J` : ''}${lines.join('\n')}\n`);
    drawn = lines.length;
  };

  const line = (e: DemoEvent): void => {
    if (!NOTABLE.has(e.kind)) return;
    const s = live.snapshot();
    out.write(`${formatEvent(e, label(s, e.node))}\n`);
  };

  const finish = (summary: DemoSummary): void => {
    if (tty) draw(live.snapshot());
    out.write(`\n${formatSummary(summary)}`);
    stop();
    resolveDone(summary);
  };

  const unsubscribe = live.subscribe((u) => {
    if (stopped) return;
    if (u.type === 'tick') {
      if (tty) draw(u.snapshot);
    } else if (u.type === 'event') {
      if (!tty) line(u.event);
    } else {
      finish(u.summary);
    }
  });
  const stop = (): void => {
    stopped = true;
    unsubscribe();
  };
  if (tty) draw(live.snapshot());
  const already = live.summary;
  if (already !== undefined) finish(already);
  return { done, stop };
}
