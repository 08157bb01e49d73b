/** The links table: medium, ends, state, frames, and a download link for each link's pcap (`data-pcap="<id>"`). */
import { h } from './dom.ts';
import { count } from './format.ts';
import type { DemoSnapshot } from './model.ts';

export function renderLinks(s: DemoSnapshot): HTMLElement {
  const label = new Map(s.nodes.map((n) => [n.id, n.label]));
  return h('table', { class: 'links-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'link'), h('th', {}, 'between'), h('th', {}, 'state'), h('th', { class: 'num' }, 'frames'), h('th', {}, 'capture'))),
    h('tbody', {}, ...s.links.map((l) =>
      h('tr', { class: l.up ? '' : 'down', 'data-link-row': l.id },
        h('td', {}, h('span', { class: `swatch medium-${l.medium}` }), h('span', { class: 'mono' }, l.id), h('span', { class: 'muted' }, ` ${l.medium}`)),
        h('td', {}, `${label.get(l.a) ?? l.a} \u2194 ${label.get(l.b) ?? l.b}`),
        h('td', {}, h('span', { class: `status ${l.up ? 'status-global-up' : 'status-disconnected'}` }, l.up ? 'up' : 'down')),
        h('td', { class: 'num' }, count(l.frames)),
        h('td', {}, l.pcap !== undefined
          ? h('a', { class: 'pcap', href: `/pcap/${encodeURIComponent(l.id)}`, download: true, 'data-pcap': l.id, title: l.pcap }, '\u2913 pcap')
          : h('span', { class: 'muted' }, '\u2014'))))),
  );
}
