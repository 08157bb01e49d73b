// A small scripted ESP-AT module for the driver tests, answering with the reference's exact bytes
// per dialect (at-modules.md §1.3-§1.6), over a seeded createBytePipe on a VirtualScheduler.
// Tests override single answers with `on(...)` and inject URCs with `send(...)`.
// The file also checks the fake itself, so it is a test file like its users.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { XorShiftRng } from '../../../../src/base/rand.ts';
import { VirtualScheduler } from '../../../../src/base/time.ts';
import { createBytePipe, type BytePipeEnd } from '../../../../src/link/byte-pipe.ts';
import type { Endpoint } from '../../../../src/backends/contract.ts';
import type { ModuleEvents, ModuleReceived } from '../../../../src/backends/at/module-driver.ts';
import type { SocketError } from '../../../../src/base/socket-error.ts';
import { createEspAt, type CreateEspAtOptions, type EspAt } from '../../../../src/backends/esp-at/index.ts';

export type FakeDialect = 'esp-at' | 'nonos';

export const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
export const dec = (b: Uint8Array): string => String.fromCharCode(...b);

export const GMR: Record<FakeDialect, string> = {
  'esp-at':
    'AT version:2.2.0.0(c6fa6bf - ESP32 - Jul  2 2021 06:44:05)\r\nSDK version:v4.2.2-76-gefa6eca\r\n' +
    'compile time(3a696ba):Jul  2 2021 11:54:43\r\nBin version:2.2.0(WROOM-32)\r\n\r\nOK\r\n',
  nonos: 'AT version:1.7.0.0(Aug 16 2018 00:57:04)\r\nSDK version:3.0.0(d49923c)\r\ncompile time:Aug 23 2018 16:58:12\r\n' +
    'Bin version(Wroom 02):v1.7.0\r\nOK\r\n',
};

/** A reply: bytes to send; `null` = stay silent; undefined = the default answer. */
export type Reply = string | null | undefined;

interface Override {
  readonly match: RegExp;
  readonly reply: string | null | ((cmd: string, m: RegExpExecArray) => Reply);
  readonly once: boolean;
}

interface FakeLink {
  type: string;
  ip: string;
  rport: number;
  lport: number;
  server: boolean;
  buf: number[];
  /** Passive: a `+IPD` notice is out and not yet followed by a read. */
  noticed: boolean;
  closedPending: boolean;
}

export interface FakeOptions {
  readonly dialect: FakeDialect;
  readonly seed?: number;
  /** Echo on at start (as after boot); default false. */
  readonly echo?: boolean;
  readonly gmr?: string;
  /** Max chunk of the pipe's seeded chunking (default 64). */
  readonly chunkMax?: number;
  /** Line rates of the host and module ends; bytes cross garbled while they differ. */
  readonly baud?: { readonly host: number; readonly dev: number };
}

/** The scripted module. */
export class FakeEsp {
  readonly sched = new VirtualScheduler();
  readonly host: BytePipeEnd;
  readonly dev: BytePipeEnd;
  readonly dialect: FakeDialect;
  /** Every command line received (without CR LF), data phases as `DATA:<latin1>`. */
  readonly commands: string[] = [];
  /** Every byte the host wrote, latin1. */
  wire = '';
  /** Payloads sent per link. */
  readonly sent = new Map<number, string>();
  echo: boolean;
  mux = 0;
  passive = false;
  dinfo = false;
  server: number | undefined;
  readonly links = new Map<number, FakeLink>();
  /** Answers nothing at all (a dead or rebooting module). */
  mute = false;
  /** Custom acknowledgement of a data phase (default `Recv n bytes` + `SEND OK`). */
  ack: ((id: number, data: string) => string) | undefined;
  private readonly overrides: Override[] = [];
  private line = '';
  private dataWant = 0;
  private dataBuf = '';
  private dataLink = -1;
  private readonly gmr: string;

  constructor(options: FakeOptions) {
    this.dialect = options.dialect;
    this.echo = options.echo ?? false;
    this.gmr = options.gmr ?? GMR[options.dialect];
    const rng = new XorShiftRng(options.seed ?? 1);
    const b = options.baud;
    [this.host, this.dev] = createBytePipe({
      scheduler: this.sched,
      chunking: { rng, min: 1, max: options.chunkMax ?? 64 },
      ...(b !== undefined ? { a: { baudRate: b.host }, b: { baudRate: b.dev }, garbleOnBaudMismatch: true } : {}),
    });
    this.dev.onData((b) => this.onBytes(b));
  }

  /** Overrides the answer to commands matching `match` (first match wins; `once` by default). */
  on(match: RegExp | string, reply: Override['reply'], once = true): void {
    const re = typeof match === 'string' ? new RegExp(`^${match.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : match;
    this.overrides.push({ match: re, reply, once });
  }

  /** Module output now. */
  send(s: string | Uint8Array): void {
    this.dev.write(typeof s === 'string' ? enc(s) : s);
  }

  /** Commands received since index `from`. */
  since(from: number): string[] {
    return this.commands.slice(from);
  }

  /** The remote peer of link `id` sends bytes (active `+IPD` or passive buffer and notice). */
  peerData(id: number, data: string | Uint8Array, from?: { ip: string; port: number }): void {
    const bytes = typeof data === 'string' ? enc(data) : data;
    const l = this.links.get(id);
    if (l === undefined) throw new Error(`fake: no link ${id}`);
    const passive = this.passive && (l.type !== 'UDP' || this.dialect === 'esp-at');
    if (!passive) {
      const src = from ?? { ip: l.ip, port: l.rport };
      const info = this.dinfo ? (this.dialect === 'esp-at' ? `,"${src.ip}",${src.port}` : `,${src.ip},${src.port}`) : '';
      const head = enc(`\r\n+IPD,${id},${bytes.length}${info}:`);
      const all = new Uint8Array(head.length + bytes.length);
      all.set(head);
      all.set(bytes, head.length);
      this.send(all);
      return;
    }
    l.buf.push(...bytes);
    if (!l.noticed) {
      l.noticed = true;
      this.send(`\r\n+IPD,${id},${l.buf.length}\r\n`);
    }
  }

  /** The peer closes link `id` (passive: `CLOSED` withheld until read). */
  peerClose(id: number, glued = ''): void {
    const l = this.links.get(id);
    if (l === undefined) return;
    if (this.passive && l.buf.length > 0) {
      l.closedPending = true;
      return;
    }
    this.links.delete(id);
    this.send(`${glued}${id},CLOSED\r\n`);
  }

  /** A client connects to the server on link `id`. */
  peerConnect(id: number, ip = '192.168.3.50', port = 40000): void {
    this.links.set(id, { type: 'TCP', ip, rport: port, lport: this.server ?? 333, server: true, buf: [], noticed: false, closedPending: false });
    this.send(`${id},CONNECT\r\n`);
  }

  /** Reboot: all state lost, `ready` after optional noise. */
  reboot(noise = ''): void {
    this.links.clear();
    this.mux = 0;
    this.passive = false;
    this.dinfo = false;
    this.server = undefined;
    this.echo = true;
    this.dataWant = 0;
    this.line = '';
    this.send(`${noise}\r\nready\r\n`);
  }

  private onBytes(b: Uint8Array): void {
    const s = dec(b);
    this.wire += s;
    for (const c of s) {
      if (this.dataWant > 0) {
        this.dataBuf += c;
        if (this.dataBuf.length === this.dataWant) this.dataDone();
        continue;
      }
      if (c === '\n') {
        const cmd = this.line.replace(/\r$/, '');
        this.line = '';
        if (cmd.length > 0) this.command(cmd);
      } else {
        this.line += c;
      }
    }
  }

  private dataDone(): void {
    const data = this.dataBuf;
    const id = this.dataLink;
    this.dataWant = 0;
    this.dataBuf = '';
    this.commands.push(`DATA:${data}`);
    this.sent.set(id, (this.sent.get(id) ?? '') + data);
    if (this.mute) return;
    this.send(this.ack !== undefined ? this.ack(id, data) : `\r\nRecv ${data.length} bytes\r\n\r\nSEND OK\r\n`);
  }

  private command(cmd: string): void {
    this.commands.push(cmd);
    if (this.mute) return;
    if (this.echo) this.send(this.dialect === 'nonos' ? `${cmd}\r\r\n` : `${cmd}\r\n`);
    let reply: Reply;
    for (let i = 0; i < this.overrides.length; i++) {
      const o = this.overrides[i] as Override;
      const m = o.match.exec(cmd);
      if (m === null) continue;
      if (o.once) this.overrides.splice(i, 1);
      reply = typeof o.reply === 'function' ? o.reply(cmd, m) : o.reply;
      if (reply === undefined) continue;
      break;
    }
    if (reply === undefined) reply = this.answer(cmd);
    if (reply === null) return;
    this.send(reply);
    const send = /^AT\+CIPSEND=(\d),(\d+)/.exec(cmd);
    if (send !== null && reply.includes('>')) {
      this.dataLink = Number(send[1]);
      this.dataWant = Number(send[2]);
    }
  }

  private answer(cmd: string): string {
    const nonos = this.dialect === 'nonos';
    const OK = '\r\nOK\r\n';
    const ERROR = '\r\nERROR\r\n';
    let m: RegExpExecArray | null;
    if (cmd === 'AT') return OK;
    if (cmd === 'ATE0' || cmd === 'ATE1') {
      this.echo = cmd === 'ATE1';
      return OK;
    }
    if (cmd === 'AT+GMR') return this.gmr;
    if (cmd === (nonos ? 'AT+CWMODE_CUR=1' : 'AT+CWMODE=1')) return OK;
    if (cmd === 'AT+CIPMUX?') return `+CIPMUX:${this.mux}\r\n${OK}`;
    if (cmd === 'AT+CIPMUX=1') {
      this.mux = 1;
      return OK;
    }
    if (cmd === (nonos ? 'AT+CIPRECVMODE=1' : 'AT+CIPRECVMODE=1')) {
      this.passive = true;
      return OK;
    }
    if (cmd === 'AT+CIPDINFO=1') {
      this.dinfo = true;
      return OK;
    }
    if (cmd === 'AT+CIPCLOSE=5') {
      const ids = [...this.links.keys()];
      this.links.clear();
      return ids.map((id) => `${id},CLOSED\r\n`).join('') + OK;
    }
    if (cmd === 'AT+CIPSERVER=0') {
      this.server = undefined;
      return OK;
    }
    if ((m = /^AT\+CWJAP(_CUR)?="/.exec(cmd)) !== null && (m[1] !== undefined) === nonos) return `WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}`;
    if (cmd === (nonos ? 'AT+CIPSTA_CUR?' : 'AT+CIPSTA?')) {
      const n = nonos ? '_CUR' : '';
      return `+CIPSTA${n}:ip:"192.168.3.112"\r\n+CIPSTA${n}:gateway:"192.168.3.1"\r\n+CIPSTA${n}:netmask:"255.255.255.0"\r\n${OK}`;
    }
    if ((m = /^AT\+CIPSTART=(\d),"(TCP|UDP|SSL)","([^"]*)",(\d+)(?:,(\d+))?(?:,(\d))?$/.exec(cmd)) !== null) {
      const id = Number(m[1]);
      if (this.links.has(id)) return `ALREADY CONNECTED\r\n${ERROR}`;
      const lport = m[2] === 'UDP' ? Number(m[5] ?? 4000) : 50000 + id;
      this.links.set(id, { type: m[2] as string, ip: m[3] as string, rport: Number(m[4]), lport, server: false, buf: [], noticed: false, closedPending: false });
      return `${id},CONNECT\r\n${OK}`;
    }
    if ((m = /^AT\+CIPSEND=(\d),(\d+)/.exec(cmd)) !== null) {
      if (!this.links.has(Number(m[1]))) return ERROR;
      return nonos ? 'OK\r\n> ' : '\r\nOK\r\n\r\n>';
    }
    if ((m = /^AT\+CIPCLOSE=(\d)$/.exec(cmd)) !== null) {
      const id = Number(m[1]);
      if (!this.links.delete(id)) return nonos ? 'UNLINK\r\n' : ERROR;
      return `${id},CLOSED\r\n${OK}`;
    }
    if (cmd === 'AT+CIPRECVLEN?') {
      const lens = [0, 1, 2, 3, 4].map((id) => {
        const l = this.links.get(id);
        return l !== undefined && l.buf.length > 0 ? String(l.buf.length) : nonos ? '0' : '';
      });
      return `+CIPRECVLEN:${lens.join(',')}${nonos ? '' : ','}\r\n${OK}`;
    }
    if ((m = /^AT\+CIPRECVDATA=(\d),(\d+)$/.exec(cmd)) !== null) {
      const id = Number(m[1]);
      const l = this.links.get(id);
      if (l === undefined || l.buf.length === 0) return ERROR;
      const k = Math.min(Number(m[2]), l.buf.length);
      const data = String.fromCharCode(...l.buf.splice(0, k));
      l.noticed = false;
      const head = nonos ? `+CIPRECVDATA,${k}:` : `+CIPRECVDATA:${k},${this.dinfo ? `"${l.ip}",${l.rport},` : ''}`;
      let tail = nonos ? `\r\nOK\r\n` : `\r\n\r\nOK\r\n`;
      if (l.buf.length === 0 && l.closedPending) {
        this.links.delete(id);
        tail += `${id},CLOSED\r\n`;
      }
      return head + data + tail;
    }
    if ((m = /^AT\+CIPDOMAIN="([^"]*)"$/.exec(cmd)) !== null) {
      if (m[1] === 'nx.example') return nonos ? 'DNS Fail\r\nERROR\r\n' : ERROR;
      return nonos ? `+CIPDOMAIN:93.184.216.34\r\n${OK}` : `+CIPDOMAIN:"93.184.216.34"\r\n${OK}`;
    }
    if ((m = /^AT\+CIPSERVERMAXCONN=(\d)$/.exec(cmd)) !== null) return OK;
    if ((m = /^AT\+CIPSERVER=1,(\d+)$/.exec(cmd)) !== null) {
      this.server = Number(m[1]);
      return OK;
    }
    if (cmd === 'AT+CIPSTATE?' || cmd === 'AT+CIPSTATUS') {
      const name = nonos ? '+CIPSTATUS' : '+CIPSTATE';
      const lines = [...this.links.entries()].map(([id, l]) => `${name}:${id},"${l.type}","${l.ip}",${l.rport},${l.lport},${l.server ? 1 : 0}\r\n`);
      return (nonos ? 'STATUS:3\r\n' : '') + lines.join('') + OK;
    }
    if (cmd === 'AT+CWLAPOPT=1,31') return OK;
    if (cmd === 'AT+CWQAP') return `${OK}WIFI DISCONNECT\r\n`;
    return ERROR;
  }
}

/** What a driver reported, in order. */
export type Reported =
  | { kind: 'data'; link: number; text: string; from?: Endpoint }
  | { kind: 'readable'; link: number; available: number }
  | { kind: 'closed'; link: number; error?: SocketError }
  | { kind: 'accepted'; link: number; remote: Endpoint; port: number }
  | { kind: 'lost'; error: SocketError };

export function recorder(): { events: ModuleEvents; log: Reported[] } {
  const log: Reported[] = [];
  const events: ModuleEvents = {
    data(link: number, r: ModuleReceived) {
      log.push({ kind: 'data', link, text: dec(r.bytes), ...(r.from !== undefined ? { from: r.from } : {}) });
    },
    readable(link, available) {
      log.push({ kind: 'readable', link, available });
    },
    closed(link, error) {
      log.push({ kind: 'closed', link, ...(error !== undefined ? { error } : {}) });
    },
    accepted(link, remote, port) {
      log.push({ kind: 'accepted', link, remote, port });
    },
    lost(error) {
      log.push({ kind: 'lost', error });
    },
  };
  return { events, log };
}

/** Lets promises and pipe deliveries run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs virtual time (timer by timer) until `p` settles or `maxMs` passed; returns `p`. */
export async function until<T>(sched: VirtualScheduler, p: Promise<T>, maxMs = 120_000): Promise<T> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  const end = sched.now() + maxMs;
  for (;;) {
    await flush();
    await flush();
    if (done) break;
    const next = sched.nextDeadline();
    if (next === undefined || next > end) break;
    sched.advanceTo(next);
  }
  if (!done) throw new Error(`did not settle within ${maxMs} ms of virtual time`);
  return p;
}

/** Runs virtual time for `ms` (timer by timer, promises in between). */
export async function runFor(sched: VirtualScheduler, ms: number): Promise<void> {
  const end = sched.now() + ms;
  for (;;) {
    await flush();
    const next = sched.nextDeadline();
    if (next === undefined || next > end) break;
    sched.advanceTo(next);
  }
  sched.advanceTo(end);
  await flush();
}

export interface Rig extends EspAt {
  readonly fake: FakeEsp;
  readonly log: Reported[];
}

/** A fake module and a driver on it, initialised (and joined unless `join: false`). */
export async function rig(options: FakeOptions & { join?: boolean; esp?: Partial<CreateEspAtOptions>; setup?: (fake: FakeEsp) => void }): Promise<Rig> {
  const fake = new FakeEsp(options);
  options.setup?.(fake);
  // The scripted exchanges follow the reference, which has no link query after an open.
  const esp = createEspAt({ stream: fake.host, scheduler: fake.sched, ...options.esp, driver: { queryLocalPort: false, ...options.esp?.driver } });
  const { events, log } = recorder();
  esp.driver.attach(events);
  await until(fake.sched, esp.wifi.initialize());
  if (options.join !== false) await until(fake.sched, esp.wifi.join({ ssid: 'lab', password: 'secret12' }));
  return { ...esp, fake, log };
}

/** The bring-up commands each dialect gets from a fresh module. */
export const BRING_UP: Record<FakeDialect, string[]> = {
  'esp-at': ['AT', 'ATE0', 'AT+GMR', 'AT+CWMODE=1', 'AT+CIPMUX?', 'AT+CIPMUX=1', 'AT+CIPRECVMODE=1', 'AT+CIPDINFO=1'],
  nonos: ['AT', 'ATE0', 'AT+GMR', 'AT+CWMODE_CUR=1', 'AT+CIPMUX?', 'AT+CIPMUX=1', 'AT+CIPRECVMODE=1', 'AT+CIPDINFO=1'],
};

// Only when run itself, not when imported by the driver tests.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) describe('fake ESP module', () => {
  for (const dialect of ['esp-at', 'nonos'] as const) {
    it(`${dialect}: bring-up from a fresh module, passive receive on`, async () => {
      const r = await rig({ dialect, join: false });
      assert.deepEqual(r.fake.commands, BRING_UP[dialect]);
      assert.equal(r.module.state, 'ready');
      assert.equal(r.module.dialect?.kind, dialect);
      assert.equal(r.driver.pull, true);
      assert.equal(r.driver.maxSend, dialect === 'nonos' ? 2048 : 8192);
      await r.driver.dispose();
    });
  }
});
