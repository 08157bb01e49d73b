/** A card per node: its interfaces and their status, its counters (`data-counter="<node>:<name>"`) and rate sparklines. */
import { h } from './dom.ts';
import { bytes, bytesPerSecond, count, perSecond } from './format.ts';
import type { DemoInterface, DemoNode } from './model.ts';
import type { RateHistory } from './rates.ts';
import { sparkline } from './sparkline.ts';
import { nodeHealth } from './topology.ts';

/** `chosen`: the node has interfaces to choose from (some inactive), so the active one is tagged. */
function ifaceRow(i: DemoInterface, chosen: boolean): HTMLTableRowElement {
  return h('tr', { class: `${i.active ? 'active' : ''}`, 'data-iface-row': i.id },
    h('td', { class: 'ifname' }, h('span', { class: `swatch medium-${i.medium}` }), i.name,
      chosen && i.active ? h('span', { class: 'tag', title: 'traffic goes through this interface' }, 'active') : null),
    h('td', { class: 'ifstatus' }, h('span', { class: `status status-${i.status}` }, i.status), h('div', { class: 'reason' }, i.reason)),
    h('td', { class: 'addrs' }, ...(i.addresses.length ? i.addresses.map((a) => h('div', {}, a)) : ['\u2014'])),
  );
}

function counter(nodeId: string, name: string, label: string, value: string, raw: number): HTMLElement {
  return h('div', { class: 'counter' }, h('span', { class: 'k' }, label), h('span', { class: 'v', 'data-counter': `${nodeId}:${name}`, 'data-value': raw }, value));
}

export function renderNode(n: DemoNode, rates: RateHistory): HTMLElement {
  const series = rates.of(n.id);
  const last = series[series.length - 1];
  // The gateway's counters are the broker's view: telemetry in, commands out.
  const sentLabel = n.role === 'gateway' ? 'telemetry in' : 'published';
  const recvLabel = n.role === 'gateway' ? 'cmds out' : 'commands';
  // Access points, carriers and border routers have no messages of their own: counters only when they count something.
  const c = n.counters;
  const traffic = n.role === 'device' || n.role === 'gateway' || c.sent + c.received + c.bytesIn + c.bytesOut > 0;
  // Only a device chooses between interfaces (its mux); elsewhere `active` says nothing worth a tag.
  const chosen = n.role === 'device' && n.interfaces.some((i) => !i.active);
  return h('article', { class: `node-card role-${n.role} health-${nodeHealth(n)}`, 'data-node-card': n.id },
    h('header', {},
      h('span', { class: 'dot' }),
      h('h3', {}, n.label),
      h('span', { class: 'role' }, n.role.replace('-', ' ')),
      h('span', { class: 'stack', title: n.stack }, n.stack)),
    h('p', { class: 'state' }, n.state),
    n.interfaces.length ? h('table', { class: 'ifaces' }, h('tbody', {}, ...n.interfaces.map((i) => ifaceRow(i, chosen)))) : null,
    traffic ? h('div', { class: 'counters' },
      counter(n.id, 'sent', sentLabel, count(n.counters.sent), n.counters.sent),
      counter(n.id, 'received', recvLabel, count(n.counters.received), n.counters.received),
      counter(n.id, 'bytesOut', 'out', bytes(n.counters.bytesOut), n.counters.bytesOut),
      counter(n.id, 'bytesIn', 'in', bytes(n.counters.bytesIn), n.counters.bytesIn)) : null,
    traffic ? h('div', { class: 'sparks' },
      h('div', { class: 'spark-cell' },
        sparkline(series.map((r) => r.msgs), { kind: 'msgs', title: `${n.label}: messages per second` }),
        h('span', { class: 'rate' }, last ? perSecond(last.msgs) : '\u2014', h('small', {}, ' msg'))),
      h('div', { class: 'spark-cell' },
        sparkline(series.map((r) => r.bytes), { kind: 'bytes', title: `${n.label}: bytes per second` }),
        h('span', { class: 'rate' }, last ? bytesPerSecond(last.bytes) : '\u2014'))) : null,
  );
}
