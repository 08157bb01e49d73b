/**
 * The policy-driven multiplexer: one `SocketBackend` over several network interfaces in order of
 * preference (say WiFi, then Ethernet, then cellular). Give it to `Network` (and so to the MQTT
 * client, HTTP, TLS) or to an IoT Socket layer as their stack.
 *
 * - **Health**: an interface is healthy while its status is `global-up` (`local-up` too with
 *   `allowLocalUp`), its link is up, and, with a `probe`, its last `failures` probes did not all
 *   fail. A probe is a TCP connect to `host:port` through the interface's own backend every
 *   `intervalMs`; a refusal counts as success (the host answered).
 * - **Choice**: the current interface is the most preferred healthy one. When the current one
 *   becomes unhealthy the mux switches at once (failover); when a more preferred one becomes
 *   healthy it switches only after that one stayed healthy for `failbackHoldMs` (hysteresis).
 *   With none healthy there is no current interface and new sockets fail (`ERROR`, reason
 *   `no-interface`).
 * - **Sockets**: new sockets go to the current interface. Sockets on an interface that failed are
 *   aborted at once (`ECONNABORTED`, never a hang); with `abortOnSwitch` (default) so are the
 *   sockets on the interface the mux leaves for a better one, so clients reconnect through it.
 *   DNS goes to the current interface's resolver.
 * - **Events**: `switch` (from, to, reason, time), and `health` per interface change.
 */
import { IOT_SOCKET_ERROR } from '../../base/iot-constants.ts';
import { Listeners, type Unsubscribe } from '../../base/listeners.ts';
import { SocketError } from '../../base/socket-error.ts';
import type { CancelTimer, Scheduler } from '../../base/time.ts';
import { parseIp } from '../../base/ip-address.ts';
import type { Af, BackendCaps, CoreSocket, LookupResult, SockType, SocketBackend } from '../contract.ts';
import type { NetworkInterface } from '../netif/network-interface.ts';
import { MuxSocket, type MuxSocketOwner } from './mux-socket.ts';
import { probeOnce } from './mux-probe.ts';

/** Health probes of `MuxOptions.probe`: a TCP connect to `host:port` through each interface. */
export interface MuxProbeOptions {
  /** A host every interface should reach (an address literal). */
  host: string;
  /** TCP port probed. */
  port: number;
  /** Default 5000 ms. */
  intervalMs?: number;
  /** One probe's deadline (default 2000 ms). */
  timeoutMs?: number;
  /** Failed probes in a row that make an interface unhealthy (default 2). */
  failures?: number;
}

/** Options of `Mux`. */
export interface MuxOptions {
  /** Most preferred first. */
  interfaces: readonly NetworkInterface[];
  /** Clock of probes and the fail-back hold. */
  scheduler: Scheduler;
  /** How long a more preferred interface must stay healthy before traffic fails back (default 3000 ms). */
  failbackHoldMs?: number;
  /** Abort the sockets of the interface the mux leaves for a better one (default true). */
  abortOnSwitch?: boolean;
  /** Count `local-up` (IPv6 link-local only) as healthy (default false). */
  allowLocalUp?: boolean;
  /** Health probes (default none: status and link alone decide). */
  probe?: MuxProbeOptions;
  /** Backend name (default `mux`). */
  name?: string;
}

/** A change of the current interface. */
export interface MuxSwitch {
  /** The interface left (undefined: none was current). */
  readonly from: string | undefined;
  /** The interface now current (undefined: none is healthy). */
  readonly to: string | undefined;
  /** Why: `failover:<reason>`, `fail-back`, or the first reason when there was no current interface. */
  readonly reason: string;
  /** When, on the scheduler's clock (ms). */
  readonly at: number;
  /** Sockets aborted by the switch. */
  readonly aborted: number;
}

/** A change of one interface's health. */
export interface MuxHealth {
  /** The interface's name. */
  readonly name: string;
  /** Whether it is healthy now. */
  readonly healthy: boolean;
  /** Why: the status reason, `link-up`, `link-down:<reason>`, a probe result, ... */
  readonly reason: string;
}

/** Events of a `Mux`, by name. */
export interface MuxEventMap {
  /** The current interface changed. */
  switch: MuxSwitch;
  /** An interface's health changed. */
  health: MuxHealth;
}

interface Member {
  readonly nif: NetworkInterface;
  readonly rank: number;
  healthy: boolean;
  /** Since when it has been healthy (for the fail-back hold). */
  healthySince: number;
  probeFailures: number;
  probeTimer: CancelTimer | undefined;
  probing: boolean;
}

export class Mux implements SocketBackend, MuxSocketOwner {
  readonly name: string;
  /** What the mux offers: the union of what its interfaces offer. */
  readonly caps: BackendCaps;
  private readonly opts: MuxOptions;
  private readonly members: Member[];
  private readonly sockets = new Set<MuxSocket>();
  private readonly listeners: { [K in keyof MuxEventMap]: Listeners<[MuxEventMap[K]]> } = { switch: new Listeners(), health: new Listeners() };
  private readonly unsubs: Unsubscribe[] = [];
  private currentMember: Member | undefined;
  private holdTimer: CancelTimer | undefined;
  private closed = false;

  constructor(options: MuxOptions) {
    if (options.interfaces.length === 0) throw new RangeError('Mux: at least one interface');
    this.opts = options;
    this.name = options.name ?? 'mux';
    const caps = options.interfaces.map((n) => n.backend.caps);
    this.caps = {
      ipv4: caps.some((c) => c.ipv4),
      ipv6: caps.some((c) => c.ipv6),
      tcp: caps.some((c) => c.tcp),
      udp: caps.some((c) => c.udp),
      listen: caps.some((c) => c.listen),
      maxSockets: Math.max(...caps.map((c) => c.maxSockets)),
      maxDatagram: Math.min(...caps.map((c) => c.maxDatagram)),
      connectTimeoutMs: Math.max(...caps.map((c) => c.connectTimeoutMs)),
    };
    this.members = options.interfaces.map((nif, rank) => ({
      nif, rank, healthy: false, healthySince: 0, probeFailures: 0, probeTimer: undefined, probing: false,
    }));
    for (const m of this.members) {
      this.unsubs.push(
        m.nif.on('status', (e) => this.reassess(m, e.reason)),
        m.nif.on('link', (e) => this.reassess(m, e.up ? 'link-up' : `link-down:${e.reason}`)),
      );
      this.reassess(m, 'start');
      if (options.probe !== undefined) this.scheduleProbe(m);
    }
  }

  /** The interface new sockets go to, or undefined when none is healthy. */
  get current(): NetworkInterface | undefined {
    return this.currentMember?.nif;
  }

  /** Sockets open through the mux (for leak checks). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Whether each interface counts as healthy now. */
  health(): MuxHealth[] {
    return this.members.map((m) => ({ name: m.nif.name, healthy: m.healthy, reason: m.healthy ? 'up' : 'down' }));
  }

  /** Subscribes to `switch` or `health` events; returns the function that unsubscribes. */
  on<K extends keyof MuxEventMap>(event: K, cb: (value: MuxEventMap[K]) => void): Unsubscribe {
    return (this.listeners[event] as Listeners<[MuxEventMap[K]]>).add(cb);
  }

  createSocket(af: Af, type: SockType): CoreSocket | number {
    const m = this.currentMember;
    if (m === undefined || this.closed) return IOT_SOCKET_ERROR;
    const inner = m.nif.backend.createSocket(af, type);
    if (typeof inner === 'number') return inner;
    return this.adopt(inner, m.nif);
  }

  /** The current interface's answer (false with none). */
  hasSourceAddress(af: Af): boolean {
    const m = this.currentMember;
    return m !== undefined && !this.closed && m.nif.backend.hasSourceAddress?.(af) === true;
  }

  lookup(name: string, af: Af, signal?: AbortSignal): Promise<LookupResult> {
    const m = this.currentMember;
    if (m === undefined || this.closed) return Promise.resolve(IOT_SOCKET_ERROR);
    return m.nif.backend.lookup(name, af, signal);
  }

  /** Stops watching (the interfaces stay as they are); open sockets are aborted. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.holdTimer?.();
    for (const m of this.members) m.probeTimer?.();
    for (const u of this.unsubs.splice(0)) u();
    for (const s of [...this.sockets]) s.abort('mux-closed');
  }

  adopt(inner: CoreSocket, nif: NetworkInterface): MuxSocket {
    const s = new MuxSocket(inner, nif, this);
    this.sockets.add(s);
    return s;
  }

  released(s: MuxSocket): void {
    this.sockets.delete(s);
  }

  // ---------------------------------------------------------------------------------------------

  private healthyNow(m: Member): boolean {
    const st = m.nif.status;
    const up = st === 'global-up' || (this.opts.allowLocalUp === true && st === 'local-up');
    const probeOk = this.opts.probe === undefined || m.probeFailures < (this.opts.probe.failures ?? 2);
    return up && m.nif.linkUp !== false && probeOk;
  }

  private reassess(m: Member, reason: string): void {
    if (this.closed) return;
    const healthy = this.healthyNow(m);
    if (healthy !== m.healthy) {
      m.healthy = healthy;
      if (healthy) m.healthySince = this.opts.scheduler.now();
      try {
        this.listeners.health.emit({ name: m.nif.name, healthy, reason });
      } catch {
        // A listener threw: the mux goes on.
      }
      if (!healthy) this.abortOn(m, `interface-down:${reason}`);
    }
    this.choose(reason);
  }

  /** Picks the current interface: failover at once, fail-back after the hold. */
  private choose(reason: string): void {
    const now = this.opts.scheduler.now();
    const best = this.members.find((m) => m.healthy);
    const cur = this.currentMember;
    if (best === cur) return;
    if (cur !== undefined && cur.healthy && best !== undefined && best.rank < cur.rank) {
      const hold = this.opts.failbackHoldMs ?? 3000;
      const due = best.healthySince + hold;
      if (now < due) {
        this.holdTimer?.();
        this.holdTimer = this.opts.scheduler.setTimer(due - now, () => {
          this.holdTimer = undefined;
          this.choose('fail-back');
        });
        return;
      }
      this.switchTo(best, 'fail-back');
      return;
    }
    this.switchTo(best, cur === undefined ? reason : `failover:${reason}`);
  }

  private switchTo(to: Member | undefined, reason: string): void {
    const from = this.currentMember;
    this.currentMember = to;
    this.holdTimer?.();
    this.holdTimer = undefined;
    let aborted = 0;
    if (from !== undefined && to !== undefined && (this.opts.abortOnSwitch ?? true)) aborted = this.abortOn(from, `switched-to:${to.nif.name}`);
    try {
      this.listeners.switch.emit({ from: from?.nif.name, to: to?.nif.name, reason, at: this.opts.scheduler.now(), aborted });
    } catch {
      // A listener threw: the mux goes on.
    }
  }

  private abortOn(m: Member, reason: string): number {
    let n = 0;
    for (const s of [...this.sockets]) {
      if (s.nif === m.nif && !s.aborted) {
        s.abort(reason);
        n++;
      }
    }
    return n;
  }

  // ------------------------------------------------------------------------------------- probes

  private scheduleProbe(m: Member): void {
    const p = this.opts.probe;
    if (p === undefined || this.closed) return;
    m.probeTimer = this.opts.scheduler.setTimer(p.intervalMs ?? 5000, () => {
      m.probeTimer = undefined;
      void this.runProbe(m);
    });
  }

  private async runProbe(m: Member): Promise<void> {
    const p = this.opts.probe;
    if (p === undefined || this.closed) return;
    const address = parseIp(p.host);
    if (address === undefined) throw new SocketError('EINVAL', { op: 'probe', backend: this.name, reason: 'probe host must be an address literal' });
    const st = m.nif.status;
    if (st === 'global-up' || st === 'local-up') {
      const ok = await probeOnce(m.nif.backend, address, p.port, this.opts.scheduler, p.timeoutMs ?? 2000);
      if (this.closed) return;
      m.probeFailures = ok ? 0 : m.probeFailures + 1;
      this.reassess(m, ok ? 'probe-ok' : 'probe-failed');
    }
    this.scheduleProbe(m);
  }
}
