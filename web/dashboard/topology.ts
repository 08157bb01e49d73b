/**
 * The topology picture: one SVG group per node (`data-node="<id>"`) with its interfaces as pills
 * (`data-iface`; the active one filled, a down one red), one path per link (`data-link`), coloured
 * by medium, dashed red while down, bold when it carries a device's traffic now.
 */
import { svg } from './dom.ts';
import { count } from './format.ts';
import { layoutTopology, type NodeBox } from './layout.ts';
import type { DemoLink, DemoNode, DemoSnapshot } from './model.ts';

const ROLE_LABEL: Record<DemoNode['role'], string> = {
  gateway: 'gateway',
  device: 'device',
  'access-point': 'access point',
  carrier: 'carrier',
  'border-router': 'border router',
};

/** up (some interface has an address), partial (one is coming up), down. */
export function nodeHealth(n: DemoNode): 'up' | 'partial' | 'down' {
  if (n.interfaces.length === 0) return 'up';
  const up = n.interfaces.filter((i) => i.status === 'global-up' || i.status === 'local-up').length;
  if (up === n.interfaces.length) return 'up';
  return up > 0 || n.interfaces.some((i) => i.status === 'connecting') ? 'partial' : 'down';
}

/** True when the link is the way a device's traffic goes now (its interface of that medium is the active one). */
function carriesTraffic(l: DemoLink, byId: ReadonlyMap<string, DemoNode>): boolean {
  if (!l.up) return false;
  for (const end of [l.a, l.b]) {
    const n = byId.get(end);
    if (n?.role !== 'device') continue;
    // Its interface of the link's medium; or its only interface (a cellular modem on a serial line).
    const same = n.interfaces.filter((i) => i.medium === l.medium);
    const ifs = same.length > 0 ? same : n.interfaces.length === 1 ? n.interfaces : [];
    if (ifs.some((i) => i.active)) return true;
  }
  return false;
}

/**
 * The interfaces of a node as pills: filled when in use (a device: the one its mux chose; other
 * nodes: every interface that is up), outlined when standing by, dashed red when down.
 */
function pills(n: DemoNode, box: NodeBox): SVGGElement {
  const g = svg('g', { class: 'pills' });
  let x = box.x + 12;
  for (const i of n.interfaces) {
    const w = 16 + i.name.length * 6.6;
    const down = i.status === 'disconnected' || i.status === 'connecting';
    const inUse = n.role === 'device' ? i.active : !down;
    const cls = `pill medium-${i.medium}${inUse ? ' active' : ''}${down ? ' down' : ''}`;
    g.append(
      svg('g', { class: cls, 'data-iface': i.id },
        svg('title', {}, `${i.name} (${i.medium}): ${i.status}, ${i.reason}${i.active ? ', active' : ''}${i.addresses.length ? `\n${i.addresses.join('\n')}` : ''}`),
        svg('rect', { x, y: box.y + box.h - 26, width: w, height: 17, rx: 8.5 }),
        svg('text', { x: x + w / 2, y: box.y + box.h - 14, 'text-anchor': 'middle' }, i.name)),
    );
    x += w + 6;
  }
  return g;
}

/** `text` cut to `max` characters with an ellipsis (SVG text does not wrap or clip by itself). */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}\u2026`;
}

/** Draws the topology of `s` into a new SVG element. */
export function renderTopology(s: DemoSnapshot): SVGSVGElement {
  const layout = layoutTopology(s.nodes, s.links);
  const byId = new Map(s.nodes.map((n) => [n.id, n]));
  const root = svg('svg', {
    class: 'topology', viewBox: `0 0 ${layout.width} ${layout.height}`, role: 'img',
    'aria-label': `Topology: ${s.nodes.length} nodes, ${s.links.length} links`,
  });
  const linkLayer = svg('g', { class: 'links' });
  const labelLayer = svg('g', { class: 'link-labels' });
  for (const l of s.links) {
    const path = layout.links.get(l.id);
    if (path === undefined) continue;
    const cls = `link medium-${l.medium}${l.up ? '' : ' down'}${carriesTraffic(l, byId) ? ' active' : ''}`;
    linkLayer.append(
      svg('g', { class: cls, 'data-link': l.id },
        svg('title', {}, `${l.id} (${l.medium}): ${l.up ? 'up' : 'down'}, ${count(l.frames)} frames`),
        svg('path', { class: 'halo', d: path.d }),
        svg('path', { class: 'wire', d: path.d })),
    );
    const text = l.up ? l.medium : `${l.medium} down`;
    const w = 10 + text.length * 6;
    labelLayer.append(
      svg('g', { class: `link-label${l.up ? '' : ' down'}` },
        svg('rect', { x: path.lx - w / 2, y: path.ly - 8, width: w, height: 16, rx: 4 }),
        svg('text', { x: path.lx, y: path.ly + 4, 'text-anchor': 'middle' }, text)),
    );
  }
  const nodeLayer = svg('g', { class: 'nodes' });
  for (const n of s.nodes) {
    const box = layout.nodes.get(n.id);
    if (box === undefined) continue;
    nodeLayer.append(
      svg('g', { class: `node role-${n.role} health-${nodeHealth(n)}`, 'data-node': n.id },
        svg('title', {}, `${n.label} (${ROLE_LABEL[n.role]}, ${n.stack}): ${n.state}`),
        svg('rect', { class: 'box', x: box.x, y: box.y, width: box.w, height: box.h, rx: 10 }),
        svg('rect', { class: 'band', x: box.x, y: box.y + 10, width: 4, height: box.h - 20, rx: 2 }),
        svg('circle', { class: 'dot', cx: box.x + box.w - 14, cy: box.y + 16, r: 5 }),
        svg('text', { class: 'label', x: box.x + 14, y: box.y + 21 }, n.label),
        svg('text', { class: 'sub', x: box.x + 14, y: box.y + 37 }, clip(`${ROLE_LABEL[n.role]} \u00b7 ${n.stack}`, 30)),
        pills(n, box)),
    );
  }
  root.append(linkLayer, labelLayer, nodeLayer);
  if (s.nodes.length === 0) {
    root.append(svg('text', { class: 'empty', x: layout.width / 2, y: layout.height / 2 + 4, 'text-anchor': 'middle' }, 'the deployment is starting\u2026'));
  }
  return root;
}
