/**
 * `SimFaults`: the seeded fault injector shared by the AT module simulators (ESP-AT, Quectel).
 * Everything is drawn from one `Rng`, so a run is reproducible from its seed; all delays are
 * virtual time (the simulator's `Scheduler`).
 *
 * A fault is named by a `FaultKind` string and configured by a `FaultRule`:
 * - `probability` (0..1): the chance it fires at each opportunity;
 * - `once` (count): one-shot triggers, fired at the next opportunities regardless of `probability`
 *   (`arm(kind, n)` adds to it at run time);
 * - parameters some kinds use: `delayMs`, `count`, `maxBytes`, `lines`.
 *
 * Where the opportunities are is up to the code that asks (`fire(kind)`): `AtSimPort` asks for the
 * serial-level kinds below; a simulator asks for its own (`sendFail`, `reboot`, `apLoss`, ...).
 * Unknown kinds are allowed (a simulator may define more); they never fire unless configured.
 *
 * Serial-level kinds used by `AtSimPort` (`PORT_FAULTS`):
 * - `garbage`: random high-bit bytes (1..`maxBytes`, default 16) then CR LF, before a message;
 * - `urcStorm`: `count` (default 8) URCs from the URC pool, between commands;
 * - `split`: a message written in 2..4 pieces, each up to `delayMs` (default 5) apart;
 * - `merge`: output held for `delayMs` (default 5) so later messages go out in the same write;
 * - `slow`: a command starts `delayMs` (default 500) late (the port stays busy meanwhile);
 * - `busy`: a command is answered with the busy reply (`busy p...`) instead of running;
 * - `corrupt`: one byte of a message is flipped (xor with a random non-zero value);
 * - `dropUrc`, `duplicateUrc`: a URC is not written, or written twice;
 * - `urcBetweenCommands`, `urcBetweenLines`, `urcAfterPrompt`, `urcBeforeSendOk`, `urcAfterIpd`,
 *   `urcInEcho`: one URC from the pool written at that point (reference §5 item 12).
 *
 * ```ts
 * const faults = new SimFaults(new XorShiftRng(7), { sendFail: { probability: 0.1 }, split: { probability: 0.5 } });
 * faults.arm('reboot');           // the next reboot opportunity fires
 * faults.fire('sendFail');        // true or false, counted in faults.stats
 * ```
 */
import { randomInt, type Rng } from '../../base/rand.ts';

/** A fault's name; see the module comment for the kinds the port and simulators know. */
export type FaultKind = string;

/** How and when one kind of fault fires. */
export interface FaultRule {
  /** Chance (0..1) of firing at each opportunity (default 0). */
  probability?: number | undefined;
  /** Forced firings left: the next `once` opportunities fire whatever `probability` says. */
  once?: number | undefined;
  /** Delay parameter (split spacing, merge hold, slow start, ...), virtual ms. */
  delayMs?: number | undefined;
  /** Count parameter (URCs in a storm, ...). */
  count?: number | undefined;
  /** Size parameter (garbage bytes, ...). */
  maxBytes?: number | undefined;
  /** URC lines (with their framing, e.g. `'\r\nWIFI GOT IP\r\n'`) to use instead of the pool. */
  lines?: readonly string[] | undefined;
}

/** Rules by kind. */
export type FaultSpec = Readonly<Record<FaultKind, FaultRule | undefined>>;

/** The fault kinds `AtSimPort` asks about itself. */
export const PORT_FAULTS = [
  'garbage',
  'urcStorm',
  'split',
  'merge',
  'slow',
  'busy',
  'corrupt',
  'dropUrc',
  'duplicateUrc',
  'urcBetweenCommands',
  'urcBetweenLines',
  'urcAfterPrompt',
  'urcBeforeSendOk',
  'urcAfterIpd',
  'urcInEcho',
] as const;

/** A URC injection point (reference §5 item 12); the fault kind is `urc` + the capitalised name. */
export type UrcPoint = 'betweenCommands' | 'betweenLines' | 'afterPrompt' | 'beforeSendOk' | 'afterIpd' | 'inEcho';

/** The fault kind of a URC injection point: `'afterIpd'` → `'urcAfterIpd'`. */
export function urcPointKind(point: UrcPoint): FaultKind {
  return `urc${point[0]?.toUpperCase() ?? ''}${point.slice(1)}`;
}

/** The seeded fault injector. See the module comment. */
export class SimFaults {
  /** Draws every fault decision. */
  readonly rng: Rng;
  #rules = new Map<FaultKind, FaultRule>();
  /** Times each kind fired. */
  readonly stats: Record<FaultKind, number> = {};

  constructor(rng: Rng, spec: FaultSpec = {}) {
    this.rng = rng;
    this.set(spec);
  }

  /** Replaces every rule with `spec`. */
  set(spec: FaultSpec): void {
    this.#rules.clear();
    for (const [kind, rule] of Object.entries(spec)) if (rule !== undefined) this.#rules.set(kind, { ...rule });
  }

  /** Sets (or with undefined removes) the rule of one kind, keeping the others. */
  update(kind: FaultKind, rule: FaultRule | undefined): void {
    if (rule === undefined) this.#rules.delete(kind);
    else this.#rules.set(kind, { ...rule });
  }

  /** Removes every rule. */
  clear(): void {
    this.#rules.clear();
  }

  /** The rule of `kind`, if configured. */
  rule(kind: FaultKind): FaultRule | undefined {
    return this.#rules.get(kind);
  }

  /** Makes the next `times` opportunities of `kind` fire (one-shot triggers). */
  arm(kind: FaultKind, times = 1): void {
    const rule = this.#rules.get(kind) ?? {};
    rule.once = (rule.once ?? 0) + times;
    this.#rules.set(kind, rule);
  }

  /** Whether any rule could fire (cheap check for hot paths). */
  get active(): boolean {
    for (const r of this.#rules.values()) if ((r.once ?? 0) > 0 || (r.probability ?? 0) > 0) return true;
    return false;
  }

  /** An opportunity for `kind`: true when it fires (counted in `stats`). */
  fire(kind: FaultKind): boolean {
    const rule = this.#rules.get(kind);
    if (rule === undefined) return false;
    let fired = false;
    if ((rule.once ?? 0) > 0) {
      rule.once = (rule.once ?? 0) - 1;
      fired = true;
    } else if ((rule.probability ?? 0) > 0) {
      fired = this.chance(rule.probability ?? 0);
    }
    if (fired) this.stats[kind] = (this.stats[kind] ?? 0) + 1;
    return fired;
  }

  /** A parameter of `kind`'s rule, or `fallback`. */
  param(kind: FaultKind, name: 'delayMs' | 'count' | 'maxBytes', fallback: number): number {
    const v = this.#rules.get(kind)?.[name];
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.rng.nextU32() / 0x1_0000_0000 < p;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return randomInt(this.rng, lo, hi);
  }

  /** A random element of `items` (undefined when empty). */
  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.int(0, items.length - 1)];
  }

  /** 1..`maxBytes` random bytes 0x80..0xFF (what a UART at the wrong baud rate shows), then CR LF. */
  garbage(maxBytes: number): Uint8Array {
    const n = this.int(1, Math.max(1, maxBytes));
    const out = new Uint8Array(n + 2);
    for (let i = 0; i < n; i++) out[i] = 0x80 | this.int(0, 0x7f);
    out[n] = 0x0d;
    out[n + 1] = 0x0a;
    return out;
  }
}
