/**
 * Two `PppSession`s wired back to back for unit tests: frames cross through a queue (no
 * framing), delivered on explicit virtual time by `run`, with optional seeded loss and a tap
 * that may rewrite or drop frames. Everything either side emits is recorded.
 */
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { concatBytes } from '../../../../src/wire/bytes.ts';
import { PppSession, type PppEvent, type PppSessionOptions } from '../../../../src/stack/ppp/ppp-session.ts';

export interface Side {
  readonly session: PppSession;
  readonly events: PppEvent[];
  readonly ip: { packet: Uint8Array; version: 4 | 6 }[];
  /** Frames this side sent, in order. */
  readonly sent: Uint8Array[];
}

export interface PairOptions {
  /** Per-frame loss probability in percent, seeded. */
  lossPct?: number;
  seed?: number;
  /** Sees each frame in flight; return undefined to drop it, or a replacement. */
  tap?: (from: 'a' | 'b', frame: Uint8Array) => Uint8Array | undefined;
}

export class PppPair {
  now = 0;
  readonly a: Side;
  readonly b: Side;
  private readonly queue: { to: Side; frame: Uint8Array }[] = [];
  private readonly rng: XorShiftRng;
  private readonly opts: PairOptions;

  constructor(a: Omit<PppSessionOptions, 'rng'>, b: Omit<PppSessionOptions, 'rng'>, opts: PairOptions = {}) {
    this.opts = opts;
    this.rng = new XorShiftRng(opts.seed ?? 1);
    this.a = this.side(a, 'a', 101);
    this.b = this.side(b, 'b', 202);
  }

  private side(o: Omit<PppSessionOptions, 'rng'>, name: 'a' | 'b', seed: number): Side {
    const events: PppEvent[] = [];
    const sent: Uint8Array[] = [];
    const ip: Side['ip'] = [];
    const session = new PppSession({ ...o, rng: new XorShiftRng(seed) }, (head, _lcp, rest) => {
      const frame = rest === undefined ? head.slice() : concatBytes([head, rest]);
      sent.push(frame);
      let f: Uint8Array | undefined = frame;
      if (this.opts.tap !== undefined) f = this.opts.tap(name, frame);
      if (f === undefined) return;
      if ((this.opts.lossPct ?? 0) > 0 && this.rng.nextU32() % 10000 < (this.opts.lossPct ?? 0) * 100) return;
      this.queue.push({ to: name === 'a' ? this.b : this.a, frame: f });
    }, (e) => events.push(e));
    return { session, events, sent, ip };
  }

  /** Delivers queued frames and fires timers until `until` (ms of virtual time) or quiescence. */
  run(until: number): void {
    for (let guard = 0; guard < 100_000; guard++) {
      const item = this.queue.shift();
      if (item !== undefined) {
        item.to.session.input(this.now, item.frame, (packet, version) => item.to.ip.push({ packet: packet.slice(), version }));
        continue;
      }
      const next = [this.a.session.pollAt(), this.b.session.pollAt()].filter((t): t is number => t !== undefined);
      const t = next.length > 0 ? Math.min(...next) : undefined;
      if (t === undefined || t > until) {
        this.now = until;
        return;
      }
      this.now = Math.max(this.now, t);
      this.a.session.poll(this.now);
      this.b.session.poll(this.now);
    }
    throw new Error('PPP pair did not settle');
  }

  open(): void {
    this.a.session.open(this.now);
    this.b.session.open(this.now);
  }
}

/** Events of one type. */
export function eventsOf<T extends PppEvent['type']>(side: Side, type: T): Extract<PppEvent, { type: T }>[] {
  return side.events.filter((e): e is Extract<PppEvent, { type: T }> => e.type === type);
}
