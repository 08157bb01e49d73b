/**
 * Events of a stack service (DHCP client, DHCP server, ...) delivered after the stack's
 * poll, never inside it: `emit` queues an event and marks this object changed, and the
 * stack calls `onChange` once its poll is over, which hands the queued events to the
 * listeners in order. Listeners may therefore call back into the stack freely.
 */
import type { ChangeTarget } from './stack.ts';

export class PostPollEvents<E> implements ChangeTarget {
  private readonly listeners: ((e: E) => void)[] = [];
  private queued: E[] = [];
  private readonly markChanged: (target: ChangeTarget) => void;
  /** @internal Called by the stack after its poll. */
  onChange: (() => void) | undefined = () => this.deliver();

  /** `markChanged`: the stack's (`(t) => stack.markChanged(t)`). */
  constructor(markChanged: (target: ChangeTarget) => void) {
    this.markChanged = markChanged;
  }

  /** Whether anybody listens (emitters may skip building events otherwise). */
  get listened(): boolean {
    return this.listeners.length > 0;
  }

  /** Adds a listener; returns its removal. */
  on(listener: (e: E) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Queues `e` for delivery after the current (or next) poll. */
  emit(e: E): void {
    this.queued.push(e);
    this.markChanged(this);
  }

  private deliver(): void {
    const batch = this.queued;
    if (batch.length === 0) return;
    this.queued = [];
    for (const e of batch) for (const l of [...this.listeners]) l(e);
  }
}
