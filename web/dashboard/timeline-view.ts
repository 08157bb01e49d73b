/**
 * The event timeline: every event the page has seen (from snapshots and live `event` updates,
 * without duplicates), newest first; each item has `data-event-kind`.
 */
import { h } from './dom.ts';
import { elapsed } from './format.ts';
import type { DemoEvent } from './model.ts';

const MAX_EVENTS = 2000;

export class Timeline {
  private readonly events: DemoEvent[] = [];
  private readonly seen = new Set<string>();

  /** Adds events not seen before; true when something was new. */
  add(events: readonly DemoEvent[]): boolean {
    let added = false;
    for (const e of events) {
      const key = `${e.t}\u0000${e.kind}\u0000${e.node ?? ''}\u0000${e.text}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.events.push(e);
      added = true;
    }
    if (added) {
      this.events.sort((a, b) => a.t - b.t);
      if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    }
    return added;
  }

  render(labels: ReadonlyMap<string, string>): HTMLElement {
    if (this.events.length === 0) return h('p', { class: 'muted' }, 'No events yet.');
    return h('ol', { class: 'timeline' }, ...[...this.events].reverse().map((e) =>
      h('li', { class: `ev kind-${e.kind}`, 'data-event-kind': e.kind },
        h('time', {}, elapsed(e.t)),
        h('span', { class: 'kind' }, e.kind),
        h('span', { class: 'what' },
          e.node !== undefined ? h('span', { class: 'who' }, labels.get(e.node) ?? e.node) : null,
          h('span', { class: 'text' }, e.text)))));
  }
}
