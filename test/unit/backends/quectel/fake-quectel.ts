// A small scripted Quectel BG96 for the driver's unit tests: it answers commands with the exact
// bytes of reference at-modules.md §2/§3 over one end of a createBytePipe (seeded chunking), keeps
// just enough socket state (unread bytes per id, QISEND totals), and lets each test override any
// command with its own rule or inject URCs, resets and garbage at any moment.
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { createBytePipe, type BytePipeEnd } from '../../../../src/link/byte-pipe.ts';
import { QuectelDriver, QuectelModem, type CreateQuectelOptions } from '../../../../src/backends/quectel/index.ts';
import type { ModuleEvents, ModuleReceived } from '../../../../src/backends/at/module-driver.ts';
import type { SocketError } from '../../../../src/base/socket-error.ts';
import type { Endpoint } from '../../../../src/backends/contract.ts';

export const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
export const dec = (b: Uint8Array): string => {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
};

/** What a rule does with a command: reply bytes (after `delayMs`), or nothing (handled itself). */
export type RuleFn = (m: RegExpExecArray, fake: FakeQuectel) => string | undefined;

interface Rule {
  readonly re: RegExp;
  readonly fn: RuleFn;
  once: boolean;
}

interface FakeSocket {
  unread: Uint8Array;
  total: number;
  /** Datagrams (UDP SERVICE) with their source. */
  datagrams: { bytes: Uint8Array; ip: string; port: number }[];
  service: boolean;
  notified: boolean;
}

export const OK = '\r\nOK\r\n';
export const ERROR = '\r\nERROR\r\n';

export class FakeQuectel {
  /** Every command line the driver wrote, without its CR. */
  readonly commands: string[] = [];
  /** Every byte the driver wrote, latin1. */
  rx = '';
  /** Payloads received after `> ` prompts. */
  readonly sent: { id: number; bytes: Uint8Array; to?: string }[] = [];
  echo = false;
  /** Delay before each reply (ms). */
  delayMs = 1;
  /** Delay between `AT+QIOPEN`'s OK and its `+QIOPEN` URC (ms). */
  openDelayMs = 5;
  /** When false the module ignores everything (dead or at another baud). */
  alive = true;
  readonly sockets = new Map<number, FakeSocket>();
  private readonly rules: Rule[] = [];
  private line = '';
  private dataLeft = 0;
  private data: number[] = [];
  private dataDone: ((b: Uint8Array) => void) | undefined;

  constructor(readonly sched: VirtualScheduler, readonly end: BytePipeEnd) {
    end.onData((b) => this.feed(b));
    this.defaults();
  }

  /** Adds a rule that takes precedence over earlier ones. */
  on(re: RegExp, fn: RuleFn, once = false): void {
    this.rules.unshift({ re, fn, once });
  }

  /** A rule used once. */
  once(re: RegExp, fn: RuleFn): void {
    this.on(re, fn, true);
  }

  /** Writes module bytes now. */
  emit(s: string | Uint8Array): void {
    this.end.write(typeof s === 'string' ? enc(s) : s);
  }

  /** Writes module bytes after `ms`. */
  later(ms: number, s: string | Uint8Array): void {
    this.sched.setTimer(ms, () => this.emit(s));
  }

  /** Data from the peer on a TCP id: buffered, `+QIURC: "recv",<id>` once until drained. */
  deliver(id: number, bytes: Uint8Array | string): void {
    const s = this.sockets.get(id);
    if (s === undefined) return;
    const b = typeof bytes === 'string' ? enc(bytes) : bytes;
    const merged = new Uint8Array(s.unread.length + b.length);
    merged.set(s.unread);
    merged.set(b, s.unread.length);
    s.unread = merged;
    if (!s.notified) {
      s.notified = true;
      this.emit(`\r\n+QIURC: "recv",${id}\r\n`);
    }
  }

  /** A datagram on a UDP SERVICE id. */
  deliverDatagram(id: number, bytes: Uint8Array, ip: string, port: number): void {
    const s = this.sockets.get(id);
    if (s === undefined) return;
    s.datagrams.push({ bytes, ip, port });
    if (!s.notified) {
      s.notified = true;
      this.emit(`\r\n+QIURC: "recv",${id}\r\n`);
    }
  }

  /** The peer closed: `+QIURC: "closed",<id>` (the id stays until `AT+QICLOSE`). */
  peerClose(id: number): void {
    this.emit(`\r\n+QIURC: "closed",${id}\r\n`);
  }

  /** Module reboot: garbage, `RDY`, boot URCs; every socket gone, echo back on. */
  reboot(banner = 'RDY'): void {
    this.sockets.clear();
    this.echo = true;
    this.dataLeft = 0;
    this.dataDone = undefined;
    this.emit(new Uint8Array([0x00, 0xff, 0x8a, 0x13, 0x0d, 0x0a]));
    this.emit(`\r\n${banner}\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n`);
  }

  private feed(bytes: Uint8Array): void {
    for (const x of bytes) {
      this.rx += String.fromCharCode(x);
      if (!this.alive) continue;
      if (this.dataLeft > 0) {
        this.data.push(x);
        if (--this.dataLeft === 0) {
          const done = this.dataDone;
          this.dataDone = undefined;
          done?.(Uint8Array.from(this.data));
        }
        continue;
      }
      if (x === 0x0d) {
        const cmd = this.line;
        this.line = '';
        if (cmd.length > 0) this.command(cmd);
      } else if (x !== 0x0a) {
        this.line += String.fromCharCode(x);
      }
    }
  }

  private command(cmd: string): void {
    this.commands.push(cmd);
    if (this.echo) this.emit(`${cmd}\r`);
    for (const r of this.rules) {
      const m = r.re.exec(cmd);
      if (m === null) continue;
      if (r.once) this.rules.splice(this.rules.indexOf(r), 1);
      const reply = r.fn(m, this);
      if (reply !== undefined) this.later(this.delayMs, reply);
      return;
    }
    this.later(this.delayMs, ERROR);
  }

  /** Waits for `n` raw bytes after a prompt, then calls `done`. */
  expectData(n: number, done: (b: Uint8Array) => void): void {
    this.dataLeft = n;
    this.data = [];
    this.dataDone = done;
  }

  private defaults(): void {
    const ok: RuleFn = () => OK;
    this.on(/^AT$/, ok);
    this.on(/^ATE0$/, (_m, f) => {
      f.echo = false;
      return OK;
    });
    this.on(/^AT\+CMEE=1$/, ok);
    this.on(/^ATI$/, () => '\r\nQuectel\r\nBG96\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n');
    this.on(/^AT\+CGSN$/, () => '\r\n866425030000001\r\n\r\nOK\r\n');
    this.on(/^AT\+QICLOSE=(\d+)$/, (m, f) => {
      f.sockets.delete(Number(m[1]));
      return OK;
    });
    this.on(/^AT\+CPIN\?$/, () => '\r\n+CPIN: READY\r\n\r\nOK\r\n');
    this.on(/^AT\+CSQ$/, () => '\r\n+CSQ: 20,99\r\n\r\nOK\r\n');
    this.on(/^AT\+C(E|G|)REG=2$/, ok);
    this.on(/^AT\+CEREG\?$/, () => '\r\n+CEREG: 2,1,"2B67","A4F3C02",8\r\n\r\nOK\r\n');
    this.on(/^AT\+CGREG\?$/, () => '\r\n+CGREG: 2,0\r\n\r\nOK\r\n');
    this.on(/^AT\+CREG\?$/, () => '\r\n+CREG: 2,1,"2B67","A4F3C02",8\r\n\r\nOK\r\n');
    this.on(/^AT\+QICSGP=/, ok);
    this.on(/^AT\+QIACT=1$/, ok);
    this.on(/^AT\+QIACT\?$/, () => '\r\n+QIACT: 1,1,1,"10.171.134.243"\r\n\r\nOK\r\n');
    this.on(/^AT\+QIDEACT=1$/, ok);
    this.on(/^AT\+QIOPEN=1,(\d+),"(TCP|UDP SERVICE|TCP LISTENER)","[^"]*",\d+,\d+,0$/, (m, f) => {
      const id = Number(m[1]);
      f.sockets.set(id, { unread: new Uint8Array(0), total: 0, datagrams: [], service: m[2] === 'UDP SERVICE', notified: false });
      f.later(f.delayMs + f.openDelayMs, `\r\n+QIOPEN: ${id},0\r\n`);
      return OK;
    });
    this.on(/^AT\+QISEND=(\d+),(\d+)(?:,"([^"]+)",(\d+))?$/, (m, f) => {
      const id = Number(m[1]);
      const n = Number(m[2]);
      const s = f.sockets.get(id);
      if (s === undefined) return ERROR;
      if (n === 0) return `\r\n+QISEND: ${s.total},${s.total},0\r\n\r\nOK\r\n`;
      f.later(f.delayMs, '\r\n> ');
      f.expectData(n, (b) => {
        s.total += b.length;
        f.sent.push({ id, bytes: b, ...(m[3] !== undefined ? { to: `${m[3]}:${m[4]}` } : {}) });
        f.later(f.delayMs, '\r\nSEND OK\r\n');
      });
      return undefined;
    });
    this.on(/^AT\+QIRD=(\d+),(\d+)$/, (m, f) => {
      const s = f.sockets.get(Number(m[1]));
      if (s === undefined) return ERROR;
      const n = Number(m[2]);
      if (s.service) {
        const d = s.datagrams.shift();
        if (d === undefined) {
          s.notified = false;
          return '\r\n+QIRD: 0\r\n\r\nOK\r\n';
        }
        const b = d.bytes.subarray(0, n);
        return `\r\n+QIRD: ${b.length},"${d.ip}",${d.port}\r\n${dec(b)}\r\n\r\nOK\r\n`;
      }
      if (n === 0) return `\r\n+QIRD: ${s.total},0,${s.unread.length}\r\n\r\nOK\r\n`;
      const b = s.unread.subarray(0, n);
      s.unread = s.unread.slice(b.length);
      if (b.length === 0) s.notified = false;
      return `\r\n+QIRD: ${b.length}\r\n${dec(b)}\r\n\r\nOK\r\n`;
    });
  }
}

/** Everything the driver told its backend. */
export class EventLog implements ModuleEvents {
  readonly log: string[] = [];
  readonly received: { link: number; received: ModuleReceived }[] = [];
  readonly errors: SocketError[] = [];
  data(link: number, received: ModuleReceived): void {
    this.received.push({ link, received });
    this.log.push(`data ${link}`);
  }
  readable(link: number, available: number): void {
    this.log.push(`readable ${link} ${available}`);
  }
  closed(link: number, error?: SocketError): void {
    if (error !== undefined) this.errors.push(error);
    this.log.push(`closed ${link}${error !== undefined ? ` ${error.code} ${error.detail.reason ?? ''}` : ''}`);
  }
  accepted(link: number, remote: Endpoint, port: number): void {
    this.log.push(`accepted ${link} ${remote.address.join('.')}:${remote.port} on ${port}`);
  }
  lost(error: SocketError): void {
    this.errors.push(error);
    this.log.push(`lost ${error.code} ${error.detail.reason ?? ''}`);
  }
}

/** Flushes pending promise callbacks (no real time passes for the code under test). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Runs virtual time until `p` settles, timer by timer; fails (a hang) if it has not settled
 * within `limitMs` of virtual time.
 */
export async function drive<T>(sched: VirtualScheduler, p: Promise<T>, limitMs = 4 * 3_600_000): Promise<T> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  const end = sched.now() + limitMs;
  await flush();
  while (!done) {
    const next = sched.nextDeadline();
    if (next === undefined || next > end) throw new Error(`hang: nothing settles by ${end} ms (now ${sched.now()})`);
    sched.advanceTo(next);
    await flush();
  }
  return p;
}

/** Runs virtual time for `ms`, timer by timer. */
export async function idle(sched: VirtualScheduler, ms: number): Promise<void> {
  const end = sched.now() + ms;
  await flush();
  for (;;) {
    const next = sched.nextDeadline();
    if (next === undefined || next > end) break;
    sched.advanceTo(next);
    await flush();
  }
  sched.advanceTo(end);
  await flush();
}

export interface Rig {
  readonly modem: QuectelModem;
  readonly driver: QuectelDriver;
  readonly sched: VirtualScheduler;
  readonly fake: FakeQuectel;
  readonly events: EventLog;
  readonly host: BytePipeEnd;
}

/** A driver and a fake module over a seeded chunking pipe. */
export function rig(seed = 1, options: Partial<CreateQuectelOptions> = {}, setup?: (f: FakeQuectel) => void): Rig {
  const sched = new VirtualScheduler();
  const [host, module] = createBytePipe({ scheduler: sched, chunking: { rng: new XorShiftRng(seed), min: 1, max: 24 } });
  const fake = new FakeQuectel(sched, module);
  setup?.(fake);
  const modem = new QuectelModem({ stream: host, scheduler: sched, apn: 'CMNET', ...options });
  // The scripted exchanges follow the reference, which has no AT+QISTATE after an open.
  const driver = new QuectelDriver(modem, { queryLocalPort: false, ...options.driver });
  const events = new EventLog();
  driver.attach(events);
  return { modem, driver, sched, fake, events, host };
}

/** A rig brought up to an active PDP context. */
export async function upRig(seed = 1, options: Partial<CreateQuectelOptions> = {}, setup?: (f: FakeQuectel) => void): Promise<Rig> {
  const r = rig(seed, options, setup);
  await drive(r.sched, r.modem.start());
  return r;
}

export const TCP_REMOTE = { address: new Uint8Array([220, 180, 239, 212]), port: 8009 };

/** Opens a TCP link to 220.180.239.212:8009. */
export function openTcp(r: Rig, signal?: AbortSignal): Promise<{ id: number; localPort?: number }> {
  return r.driver.open({ kind: 'tcp', af: 1, remote: TCP_REMOTE, localPort: 0, keepAliveS: 0 }, signal);
}
