/** A small line chart of recent values (an SVG sparkline), scaled to its own maximum. */
import { svg } from './dom.ts';

export interface SparklineOptions {
  readonly width?: number;
  readonly height?: number;
  /** A CSS class for the colour (`msgs`, `bytes`). */
  readonly kind: string;
  /** How many samples the full width stands for (older ones scroll off); default 60. */
  readonly slots?: number;
  readonly title: string;
}

export function sparkline(values: readonly number[], o: SparklineOptions): SVGSVGElement {
  const w = o.width ?? 120;
  const h = o.height ?? 28;
  // The width stands for `slots` samples once there are that many; before, for what there is
  // (at least 12), so that a young run's chart is not a sliver at the right edge.
  const slots = Math.max(2, Math.min(o.slots ?? 60, Math.max(values.length, 12)));
  const top = Math.max(...values, 1e-9);
  const step = w / (slots - 1);
  const x0 = w - (values.length - 1) * step;
  const pts = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(h - 2 - (v / top) * (h - 4)).toFixed(1)}`);
  const root = svg('svg', { class: `spark ${o.kind}`, viewBox: `0 0 ${w} ${h}`, width: w, height: h, preserveAspectRatio: 'none', role: 'img', 'aria-label': o.title },
    svg('title', {}, o.title),
    svg('line', { class: 'base', x1: 0, y1: h - 1.5, x2: w, y2: h - 1.5 }));
  if (pts.length >= 2) {
    root.append(
      svg('path', { class: 'area', d: `M${pts[0]} L${pts.slice(1).join(' L')} L${w},${h} L${x0.toFixed(1)},${h} Z` }),
      svg('polyline', { class: 'line', points: pts.join(' ') }),
    );
  }
  return root;
}
