/**
 * Where the topology picture puts its nodes and how it draws its links: three columns by role
 * (devices on the left, access points / carriers / border routers in the middle, gateways on the
 * right), devices ordered next to what they connect to, link ends spread along each box's side.
 * Pure (no DOM), so it is unit-tested in Node.
 */
import type { DemoLink, DemoNode, DemoNodeRole } from './model.ts';

export const NODE_W = 188;
export const NODE_H = 74;
const COL_GAP = 150;
const ROW_GAP = 26;
const MARGIN = 24;

export interface NodeBox {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly col: number;
}

export interface LinkPath {
  /** SVG path data. */
  readonly d: string;
  /** Where the link's label goes. */
  readonly lx: number;
  readonly ly: number;
}

export interface TopologyLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: ReadonlyMap<string, NodeBox>;
  readonly links: ReadonlyMap<string, LinkPath>;
}

const COLUMN: Record<DemoNodeRole, number> = { device: 0, 'access-point': 1, carrier: 1, 'border-router': 1, gateway: 2 };

/** Room left and right of the outer columns for links between two nodes of the same column. */
const SIDE_ROOM = 40;
/** The height of a slot that a link passes through when it skips a column. */
const VIA_H = 14;

/** One place in a column: a node, or the passage of a link that crosses the column. */
type Slot = { readonly node: DemoNode; readonly h: number } | { readonly via: DemoLink; readonly h: number };

function evenRanks(ids: readonly string[], rank: Map<string, number>): void {
  ids.forEach((id, i) => rank.set(id, ids.length === 1 ? 0.5 : i / (ids.length - 1)));
}

function mean(values: readonly number[], fallback: number): number {
  return values.length === 0 ? fallback : values.reduce((s, v) => s + v, 0) / values.length;
}

/** Sorts by key, ties in the given order. */
function sortBy<T>(items: readonly T[], key: (t: T, i: number) => number): T[] {
  return items.map((t, i) => ({ t, i, k: key(t, i) })).sort((p, q) => (p.k === q.k ? p.i - q.i : p.k - q.k)).map((o) => o.t);
}

export function layoutTopology(nodes: readonly DemoNode[], links: readonly DemoLink[]): TopologyLayout {
  const used = [...new Set(nodes.map((n) => COLUMN[n.role] ?? 0))].sort((a, b) => a - b);
  const colOf = new Map<string, number>();
  for (const n of nodes) colOf.set(n.id, used.indexOf(COLUMN[n.role] ?? 0));
  const byCol = used.map((_, c) => nodes.filter((n) => colOf.get(n.id) === c));
  const rank = new Map<string, number>();
  const neighbourRanks = (id: string, cols: (c: number) => boolean): number[] => {
    const out: number[] = [];
    for (const l of links) {
      const other = l.a === id ? l.b : l.b === id ? l.a : undefined;
      if (other === undefined) continue;
      const c = colOf.get(other);
      const r = rank.get(other);
      if (c !== undefined && r !== undefined && cols(c)) out.push(r);
    }
    return out;
  };

  // Right to left in the given order first, then each column but the last by the mean rank of
  // its neighbours further right (devices next to what they connect to); then the middle
  // columns again by their neighbours further left, with a slot for every link that passes.
  const last = byCol.length - 1;
  for (let c = last; c >= 0; c--) evenRanks((byCol[c] as DemoNode[]).map((n) => n.id), rank);
  for (let c = last - 1; c >= 0; c--) {
    const col = sortBy(byCol[c] as DemoNode[], (n) => mean(neighbourRanks(n.id, (k) => k > c), rank.get(n.id) ?? 0.5));
    byCol[c] = col;
    evenRanks(col.map((n) => n.id), rank);
  }
  const slots: Slot[][] = byCol.map((col) => col.map((node) => ({ node, h: NODE_H })));
  for (let c = 1; c < last; c++) {
    const items: Slot[] = [...(slots[c] as Slot[])];
    for (const l of links) {
      const ca = colOf.get(l.a);
      const cb = colOf.get(l.b);
      if (ca !== undefined && cb !== undefined && Math.min(ca, cb) < c && Math.max(ca, cb) > c) items.push({ via: l, h: VIA_H });
    }
    slots[c] = sortBy(items, (s) => {
      if ('node' in s) return mean(neighbourRanks(s.node.id, (k) => k < c), rank.get(s.node.id) ?? 0.5);
      const left = (colOf.get(s.via.a) ?? 0) < (colOf.get(s.via.b) ?? 0) ? s.via.a : s.via.b;
      return rank.get(left) ?? 0.5;
    });
  }

  const span = (col: readonly Slot[]): number => col.reduce((s, x) => s + x.h, 0) + Math.max(0, col.length - 1) * ROW_GAP;
  const height = MARGIN * 2 + Math.max(NODE_H, ...slots.map(span));
  const cols = Math.max(1, slots.length);
  const width = MARGIN * 2 + 2 * SIDE_ROOM + cols * NODE_W + (cols - 1) * COL_GAP;
  const boxes = new Map<string, NodeBox>();
  const vias = new Map<string, { x: number; y: number }>();
  slots.forEach((col, c) => {
    const x = MARGIN + SIDE_ROOM + c * (NODE_W + COL_GAP);
    let y = (height - span(col)) / 2;
    for (const s of col) {
      if ('node' in s) boxes.set(s.node.id, { x, y, w: NODE_W, h: NODE_H, col: c });
      else vias.set(s.via.id, { x, y: y + s.h / 2 });
      y += s.h + ROW_GAP;
    }
  });
  return { width, height, nodes: boxes, links: routeLinks(boxes, vias, links) };
}

interface End {
  readonly link: string;
  readonly node: string;
  readonly side: 'left' | 'right';
  /** The y the link heads for (to order the ends along the side). */
  readonly toward: number;
}

function routeLinks(boxes: ReadonlyMap<string, NodeBox>, vias: ReadonlyMap<string, { x: number; y: number }>, links: readonly DemoLink[]): Map<string, LinkPath> {
  const ends: End[] = [];
  for (const l of links) {
    const a = boxes.get(l.a);
    const b = boxes.get(l.b);
    if (a === undefined || b === undefined) continue;
    const via = vias.get(l.id);
    if (a.col === b.col) {
      const side = a.col === 0 ? 'left' : 'right';
      ends.push({ link: l.id, node: l.a, side, toward: b.y }, { link: l.id, node: l.b, side, toward: a.y });
    } else {
      const aLeft = a.col < b.col;
      ends.push(
        { link: l.id, node: l.a, side: aLeft ? 'right' : 'left', toward: via?.y ?? b.y + b.h / 2 },
        { link: l.id, node: l.b, side: aLeft ? 'left' : 'right', toward: via?.y ?? a.y + a.h / 2 },
      );
    }
  }
  // Spread the ends on each side of each box, in the order of where they go.
  const point = new Map<string, { x: number; y: number; side: 'left' | 'right' }>();
  const groups = new Map<string, End[]>();
  for (const e of ends) {
    const k = `${e.node}\u0000${e.side}`;
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  for (const group of groups.values()) {
    group.sort((p, q) => p.toward - q.toward);
    group.forEach((e, i) => {
      const box = boxes.get(e.node) as NodeBox;
      const y = box.y + (box.h * (i + 1)) / (group.length + 1);
      point.set(`${e.link}\u0000${e.node}`, { x: e.side === 'left' ? box.x : box.x + box.w, y, side: e.side });
    });
  }
  const out = new Map<string, LinkPath>();
  for (const l of links) {
    let p = point.get(`${l.id}\u0000${l.a}`);
    let q = point.get(`${l.id}\u0000${l.b}`);
    if (p === undefined || q === undefined) continue;
    if (p.side === q.side) {
      const dx = p.side === 'left' ? -SIDE_ROOM : SIDE_ROOM;
      out.set(l.id, { d: `M${r(p.x)},${r(p.y)} C${r(p.x + dx)},${r(p.y)} ${r(q.x + dx)},${r(q.y)} ${r(q.x)},${r(q.y)}`, lx: r(p.x + dx * 0.75), ly: r((p.y + q.y) / 2) });
      continue;
    }
    if (p.x > q.x) [p, q] = [q, p];
    const via = vias.get(l.id);
    if (via === undefined) {
      const mx = (p.x + q.x) / 2;
      out.set(l.id, { d: `M${r(p.x)},${r(p.y)} ${curve(p, q)}`, lx: r(mx), ly: r((p.y + q.y) / 2) });
    } else {
      const v1 = { x: via.x, y: via.y };
      const v2 = { x: via.x + NODE_W, y: via.y };
      out.set(l.id, { d: `M${r(p.x)},${r(p.y)} ${curve(p, v1)} L${r(v2.x)},${r(v2.y)} ${curve(v2, q)}`, lx: r(via.x + NODE_W / 2), ly: r(via.y) });
    }
  }
  return out;
}

/** A horizontal-tangent cubic from p to q (the path is already at p). */
function curve(p: { x: number; y: number }, q: { x: number; y: number }): string {
  const mx = (p.x + q.x) / 2;
  return `C${r(mx)},${r(p.y)} ${r(mx)},${r(q.y)} ${r(q.x)},${r(q.y)}`;
}

function r(n: number): number {
  return Math.round(n * 10) / 10;
}
