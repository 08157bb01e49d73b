/** The overview card: totals and the all-devices rate charts while the run goes on; the summary once it has ended. */
import { h } from './dom.ts';
import { bytesPerSecond, count, elapsed, perSecond } from './format.ts';
import type { DemoDeviceSummary, DemoSnapshot, DemoSummary } from './model.ts';
import { ALL_DEVICES, type RateHistory } from './rates.ts';
import { sparkline } from './sparkline.ts';

function metric(label: string, value: string, cls = '', attrs: Record<string, string> = {}): HTMLElement {
  return h('div', { class: `metric ${cls}` }, h('span', { class: 'v', ...attrs }, value), h('span', { class: 'k' }, label));
}

/** Totals (left out once the summary shows) and the all-devices rates. */
export function renderOverview(s: DemoSnapshot, rates: RateHistory, ended: boolean): HTMLElement {
  const devices = s.nodes.filter((n) => n.role === 'device');
  const published = devices.reduce((sum, n) => sum + n.counters.sent, 0);
  const commands = devices.reduce((sum, n) => sum + n.counters.received, 0);
  const series = rates.of(ALL_DEVICES);
  const last = series[series.length - 1];
  return h('div', { class: 'overview' },
    ended ? null : h('div', { class: 'metrics' },
      metric('devices', String(devices.length)),
      metric('published', count(published), '', { 'data-total': 'published' }),
      metric('commands received', count(commands), '', { 'data-total': 'commands' }),
      metric('links up', `${s.links.filter((l) => l.up).length}/${s.links.length}`)),
    h('div', { class: 'big-sparks' },
      h('div', {},
        h('div', { class: 'spark-head' }, h('span', {}, 'messages, all devices'), h('b', {}, last ? perSecond(last.msgs) : '\u2014')),
        sparkline(series.map((r) => r.msgs), { kind: 'msgs', width: 320, height: 44, title: 'messages per second, all devices' })),
      h('div', {},
        h('div', { class: 'spark-head' }, h('span', {}, 'bytes, all devices'), h('b', {}, last ? bytesPerSecond(last.bytes) : '\u2014')),
        sparkline(series.map((r) => r.bytes), { kind: 'bytes', width: 320, height: 44, title: 'bytes per second, all devices' }))),
  );
}

export function renderSummary(sum: DemoSummary, labels: ReadonlyMap<string, string>): HTMLElement {
  return h('section', { class: `summary ${sum.ok ? 'ok' : 'failed'}`, 'data-summary': sum.ok ? 'ok' : 'failed' },
    h('h2', {}, sum.ok ? '\u2714 Run complete' : '\u2718 Run failed', h('span', { class: 'muted' }, ` in ${elapsed(sum.durationMs)}`)),
    h('div', { class: 'metrics' },
      metric('published', count(sum.published)),
      metric('delivered', count(sum.delivered)),
      metric('lost', count(sum.lost), sum.lost > 0 ? 'bad' : 'good'),
      metric('duplicates', count(sum.duplicates), sum.duplicates > 0 ? 'bad' : 'good'),
      metric('commands', `${count(sum.commandsReceived)}/${count(sum.commandsSent)}`, sum.commandsReceived < sum.commandsSent ? 'bad' : '')),
    sum.failovers.length
      ? h('ul', { class: 'failovers' }, ...sum.failovers.map((f) =>
        h('li', {}, h('b', {}, labels.get(f.node) ?? f.node), ` ${f.from} \u2192 ${f.to} `, h('span', { class: 'ms' }, `${count(f.ms)} ms`))))
      : null,
    sum.devices?.length ? perDevice(sum.devices) : null,
    sum.problems.length ? h('ul', { class: 'problems' }, ...sum.problems.map((p) => h('li', {}, p))) : null,
  );
}

/** The summary's per-device counts (producers may leave them out). */
function perDevice(devices: readonly DemoDeviceSummary[]): HTMLElement {
  const num = (n: number, bad = false): HTMLElement => h('td', { class: bad && n > 0 ? 'bad' : '' }, count(n));
  return h('table', { class: 'per-device' },
    h('thead', {}, h('tr', {}, h('th', {}, 'device'), h('th', {}, 'sent'), h('th', {}, 'delivered'), h('th', {}, 'lost'), h('th', {}, 'dup'), h('th', {}, 'cmds'), h('th', {}, 'connects'))),
    h('tbody', {}, ...devices.map((d) => h('tr', {},
      h('td', {}, d.label), num(d.published), num(d.delivered), num(d.lost, true), num(d.duplicates, true),
      h('td', { class: d.commandsReceived < d.commandsSent ? 'bad' : '' }, `${count(d.commandsReceived)}/${count(d.commandsSent)}`),
      num(d.connects)))));
}
