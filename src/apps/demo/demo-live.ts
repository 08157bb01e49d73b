/**
 * `DemoLiveModel`: the `DemoLive` a scenario owns (see demo-model.ts). The scenario reports
 * events (`event`), its phase (`setPhase`) and the end (`finish`); the picture itself comes from
 * the `picture` function it gives, called for every `snapshot()` and for every `tick()` that
 * somebody listens to. Viewers only read.
 */
import { Listeners } from '../../base/listeners.ts';
import type { Clock } from '../../base/time.ts';
import type { DemoEvent, DemoLink, DemoLive, DemoNode, DemoSnapshot, DemoSummary, DemoUpdate } from './demo-model.ts';

/** Events kept for snapshots (the most recent). */
const SNAPSHOT_EVENTS = 40;
/** Events kept in all (`events`). */
const MAX_EVENTS = 2000;

/** The scenario's side of `DemoLive`: it reports, viewers read. */
export class DemoLiveModel implements DemoLive {
  readonly #clock: Clock;
  readonly #t0: number;
  readonly #picture: () => { nodes: readonly DemoNode[]; links: readonly DemoLink[] };
  readonly #listeners = new Listeners<[DemoUpdate]>();
  readonly #events: DemoEvent[] = [];
  #phase = 'starting';
  #summary: DemoSummary | undefined;

  constructor(clock: Clock, picture: () => { nodes: readonly DemoNode[]; links: readonly DemoLink[] }) {
    this.#clock = clock;
    this.#t0 = clock.now();
    this.#picture = picture;
  }

  /** Milliseconds since the model was made (the demo's time axis). */
  now(): number {
    return Math.round(this.#clock.now() - this.#t0);
  }

  get phase(): string {
    return this.#phase;
  }

  /** Every event so far (up to the last 2000). */
  get events(): readonly DemoEvent[] {
    return this.#events;
  }

  get summary(): DemoSummary | undefined {
    return this.#summary;
  }

  snapshot(): DemoSnapshot {
    const { nodes, links } = this.#picture();
    return { t: this.now(), phase: this.#phase, nodes, links, events: this.#events.slice(-SNAPSHOT_EVENTS) };
  }

  subscribe(fn: (update: DemoUpdate) => void): () => void {
    // A viewer that throws must not stop the scenario nor the other viewers.
    return this.#listeners.add((u) => {
      try {
        fn(u);
      } catch {
        // dropped: a viewer reports its own failures
      }
    });
  }

  /** Records an event and hands it to the viewers. */
  event(kind: DemoEvent['kind'], node: string | undefined, text: string): DemoEvent {
    const e: DemoEvent = { t: this.now(), kind, ...(node !== undefined ? { node } : {}), text };
    this.#events.push(e);
    if (this.#events.length > MAX_EVENTS) this.#events.splice(0, this.#events.length - MAX_EVENTS);
    this.#emit({ type: 'event', event: e });
    return e;
  }

  /** A new phase, announced as a `phase` event. */
  setPhase(phase: string, text: string): void {
    this.#phase = phase;
    this.event('phase', undefined, text);
  }

  /** Sends a fresh snapshot to the viewers (when there are any). */
  tick(): void {
    if (this.#listeners.size > 0) this.#emit({ type: 'tick', snapshot: this.snapshot() });
  }

  /** The end: phase `done`, a last snapshot, then the summary. */
  finish(summary: DemoSummary): void {
    this.#summary = summary;
    this.#phase = 'done';
    this.tick();
    this.#emit({ type: 'done', summary });
  }

  #emit(u: DemoUpdate): void {
    this.#listeners.emit(u);
  }
}
