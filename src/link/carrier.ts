/**
 * A link's carrier state (`LinkState`, src/stack/device.ts) as the in-process links keep it: a
 * flag and its change listeners. Internal to `src/link/`. Listeners run synchronously, once per
 * change (setting the same state again is no change); one that throws does not stop the others.
 */
import type { LinkState } from './link.ts';

export class Carrier implements LinkState {
  private value: boolean;
  private readonly listeners = new Set<(up: boolean) => void>();

  constructor(up = true) {
    this.value = up;
  }

  get up(): boolean {
    return this.value;
  }

  onChange(cb: (up: boolean) => void): () => void {
    // A wrapper per registration, as `WakeSet`: the same function twice gives two callbacks.
    const entry = (up: boolean): void => cb(up);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Sets the state; true when it changed (listeners were called). */
  set(up: boolean): boolean {
    if (up === this.value) return false;
    this.value = up;
    for (const cb of [...this.listeners]) {
      try {
        cb(up);
      } catch {
        // A listener's failure is its own: the carrier changed regardless.
      }
    }
    return true;
  }

  clear(): void {
    this.listeners.clear();
  }
}

/** The carrier of a link that has no state of its own to report: always up, never changes. */
export const ALWAYS_UP: LinkState = Object.freeze({ up: true, onChange: (): (() => void) => () => {} });
