/**
 * The demo dashboard page: connects to the server's event stream (`/events`) and draws the run:
 * the topology, a card per node, the links with their pcaps, the event timeline, the rates, and
 * the summary at the end. Bundled by esbuild (with dashboard.css) into dashboard.js/.css.
 */
import './dashboard.css';
import { byId, h } from './dom.ts';
import { elapsed } from './format.ts';
import { renderLinks } from './links-view.ts';
import type { DemoEvent, DemoSnapshot, DemoSummary } from './model.ts';
import { renderNode } from './nodes-view.ts';
import { RateHistory } from './rates.ts';
import { renderOverview, renderSummary } from './summary-view.ts';
import { Timeline } from './timeline-view.ts';
import { renderTopology } from './topology.ts';

type Connection = 'connecting' | 'live' | 'ended' | 'lost';

class Dashboard {
  private snapshot: DemoSnapshot | undefined;
  private summary: DemoSummary | undefined;
  private connection: Connection = 'connecting';
  private readonly rates = new RateHistory(60);
  private readonly timeline = new Timeline();
  private timelineDirty = true;
  private scheduled = false;

  constructor(private readonly root: HTMLElement) {
    root.replaceChildren(
      h('header', { class: 'top' },
        h('div', { class: 'brand' }, h('span', { class: 'logo' }, 'iot', h('b', {}, 'net')), h('span', { class: 'title' }, 'demo dashboard')),
        h('div', { class: 'run' },
          h('span', { id: 'phase', class: 'phase', 'data-phase': '' }, '\u2026'),
          h('span', { id: 'clock', class: 'clock' }, ''),
          h('span', { id: 'conn', class: 'conn conn-connecting' }, 'connecting'))),
      h('main', {},
        h('section', { class: 'card topo-card' }, h('h2', {}, 'Topology'), h('div', { id: 'topology' }), legend()),
        h('section', { class: 'card side-card' }, h('h2', {}, 'Overview'), h('div', { id: 'summary' }), h('div', { id: 'overview' })),
        h('section', { class: 'card nodes-card' }, h('h2', {}, 'Nodes'), h('div', { id: 'nodes', class: 'node-grid' })),
        h('section', { class: 'card links-card' }, h('h2', {}, 'Links and captures'), h('div', { id: 'links' })),
        h('section', { class: 'card events-card' }, h('h2', {}, 'Events'), h('div', { id: 'events', class: 'events' }))),
    );
  }

  onSnapshot(s: DemoSnapshot): void {
    this.snapshot = s;
    this.rates.add(s);
    if (this.timeline.add(s.events)) this.timelineDirty = true;
    this.schedule();
  }

  onEvent(e: DemoEvent): void {
    if (this.timeline.add([e])) this.timelineDirty = true;
    this.schedule();
  }

  onDone(sum: DemoSummary): void {
    this.summary = sum;
    this.schedule();
  }

  setConnection(c: Connection): void {
    if (this.connection === c) return;
    this.connection = c;
    this.schedule();
  }

  get ended(): boolean {
    return this.summary !== undefined;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Once per frame: a page that connects late gets hundreds of events at once.
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  private render(): void {
    const conn = byId('conn');
    const connText: Record<Connection, string> = { connecting: 'connecting', live: 'live', ended: 'run ended', lost: 'reconnecting' };
    conn.className = `conn conn-${this.connection}`;
    conn.textContent = connText[this.connection];
    const s = this.snapshot;
    if (s === undefined) return;
    const labels = new Map(s.nodes.map((n) => [n.id, n.label]));
    const phase = byId('phase');
    phase.textContent = s.phase;
    phase.dataset['phase'] = s.phase;
    byId('clock').textContent = elapsed(s.t);
    document.title = `iotnet demo \u00b7 ${this.summary ? (this.summary.ok ? 'done' : 'failed') : s.phase}`;
    byId('topology').replaceChildren(renderTopology(s));
    byId('overview').replaceChildren(renderOverview(s, this.rates, this.summary !== undefined));
    byId('summary').replaceChildren(...(this.summary ? [renderSummary(this.summary, labels)] : []));
    byId('nodes').replaceChildren(...s.nodes.map((n) => renderNode(n, this.rates)));
    byId('links').replaceChildren(renderLinks(s));
    if (this.timelineDirty) {
      byId('events').replaceChildren(this.timeline.render(labels));
      this.timelineDirty = false;
    }
    // After the run, interfaces and links are down because the demo shut them: no alarm colours.
    this.root.classList.toggle('ended', this.summary !== undefined);
    this.root.dataset['ready'] = 'true';
  }
}

function legend(): HTMLElement {
  const item = (cls: string, text: string): HTMLElement => h('span', { class: 'item' }, h('span', { class: `line ${cls}` }), text);
  return h('div', { class: 'legend' },
    item('medium-ethernet', 'ethernet'), item('medium-wifi', 'wifi'), item('medium-cellular', 'cellular'),
    item('medium-serial', 'serial'), item('medium-ieee802154', '802.15.4'), item('down', 'down'), item('active', 'carrying traffic'));
}

function parse<T>(e: Event): T | undefined {
  try {
    return JSON.parse((e as MessageEvent<string>).data) as T;
  } catch {
    return undefined;
  }
}

function start(): void {
  const dash = new Dashboard(byId('app'));
  const source = new EventSource('/events');
  const on = <T>(name: string, fn: (v: T) => void): void => {
    source.addEventListener(name, (e) => {
      const v = parse<T>(e);
      if (v !== undefined) fn(v);
    });
  };
  on<DemoSnapshot>('snapshot', (s) => dash.onSnapshot(s));
  on<DemoSnapshot>('tick', (s) => dash.onSnapshot(s));
  on<DemoEvent>('event', (e) => dash.onEvent(e));
  on<DemoSummary>('done', (sum) => {
    dash.onDone(sum);
    dash.setConnection('ended');
    // Nothing comes after the summary: no reconnecting once the server is gone.
    source.close();
  });
  source.addEventListener('open', () => dash.setConnection(dash.ended ? 'ended' : 'live'));
  source.addEventListener('error', () => dash.setConnection(dash.ended ? 'ended' : 'lost'));
}

start();
