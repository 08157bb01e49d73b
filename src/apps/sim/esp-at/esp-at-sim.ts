/**
 * `EspAtSim`: a byte-faithful simulator of an Espressif ESP-AT Wi-Fi module (reference
 * `at-modules.md` §1 and §5) in both dialects, ESP-AT v2+ (ESP32) and NONOS-AT 1.7 (ESP8266).
 * It answers AT commands on a `ByteStream` (one end of `createBytePipe` in tests, a pty master
 * from the CLI) and carries its links over a real `Network` (TCP, UDP, servers, DNS; SSL through
 * `connectTls`), all on the given `Scheduler` (virtual time in tests).
 *
 * ```ts
 * const sim = new EspAtSim({ stream: moduleEnd, scheduler, network, rng: new XorShiftRng(1), dialect: 'esp-at',
 *   aps: [{ ssid: 'lab', password: 'secret', bssid: '11:22:33:44:55:66', rssi: -50, channel: 6, ecn: 3 }],
 *   station: { ip: '10.0.0.1', gateway: '10.0.0.254', netmask: '255.255.255.0' } });
 * sim.powerOn();            // (NONOS: ROM-log garbage), then "\r\nready\r\n" after timing.bootMs
 * sim.apLoss(); sim.apRestore();   // WIFI DISCONNECT, links closed; auto-reconnect
 * sim.crash('wdt');         // "wdt reset" banner, every socket and Wi-Fi state lost, boots again
 * sim.faults.arm('sendFail');
 * ```
 *
 * The command set and the exact bytes are in `esp-basic-commands.ts`, `esp-wifi-commands.ts`
 * and `esp-ip-commands.ts`; the dialect differences in `esp-dialect.ts`; receive behaviour in
 * `esp-links.ts`; the serial front end (echo, busy, data phases, output faults) is `AtSimPort`.
 *
 * Simulator fault kinds (besides the serial ones of `AtSimPort`, see `sim-faults.ts`):
 * `sendFail` (SEND FAIL, nothing sent), `sendFailThenOk` (sent; SEND FAIL then SEND OK),
 * `errorThenSendOk` (sent; ERROR then SEND OK), `missingSendOk` (sent; no SEND OK),
 * `reboot` (a crash at a data point: after the payload of a CIPSEND or after an `+IPD`),
 * `apLoss` (the AP goes away at a data point; comes back after `delayMs`, default 3000).
 */
import type { Rng } from '../../../base/rand.ts';
import type { Scheduler } from '../../../base/time.ts';
import type { ByteStream } from '../../../link/byte-stream.ts';
import type { Network } from '../../../socket/network.ts';
import type { TcpServer } from '../../../socket/tcp-server.ts';
import type { TlsOptions } from '../../../tls/tls-options.ts';
import { AtSimPort, type AtLine, type AtLineResult } from '../at-sim-port.ts';
import { SimFaults, type FaultSpec } from '../sim-faults.ts';
import { ESP_COMMANDS } from './esp-commands.ts';
import { ERR, errCodeLine, parseEspCommand, type EspCommand, type EspCommandEntry } from './esp-command.ts';
import { espDialect, type EspDialect, type EspDialectName } from './esp-dialect.ts';
import { EspLink, type EspLinkHost } from './esp-links.ts';
import { EspWifiModel, type EspAp, type EspStation } from './esp-wifi-model.ts';

/** Virtual-time durations of the simulated module. */
export interface EspTiming {
  /** Power-on/reset to `ready` (default 300). */
  bootMs: number;
  /** A successful or refused `AT+CWJAP` (default 1500). */
  cwjapMs: number;
  /** `AT+CWJAP` with no answer from the AP: `+CWJAP:1` (default 15000; the command's jap_timeout wins). */
  cwjapTimeoutMs: number;
  /** An `AT+CWLAP` scan (default 1000). */
  cwlapMs: number;
  /** The TCP/SSL connect deadline of `AT+CIPSTART` (default 10000). */
  cipstartTimeoutMs: number;
  /** Extra time before `SEND OK` (default 0). */
  sendMs: number;
  /** Extra time before every command's response (default 0). */
  commandMs: number;
  /** Auto-reconnect attempts after a Wi-Fi loss, apart (default 1000). */
  reconnectMs: number;
}

/** TLS settings of SSL links (`connectTls` options), and the RAM limit. */
export interface EspTlsOptions extends TlsOptions {
  /** More SSL links at once than this crash the module ("SSL is RAM-heavy"); default unlimited. */
  maxLinks?: number | undefined;
}

/**
 * Options of `EspAtSim`: the module's end of the serial line, clock, the network its links use, randomness, dialect,
 * version line, line settings, access points, timing, TLS, faults and boot noise.
 */
export interface EspAtSimOptions {
  /** The module's end of the serial line. */
  stream: ByteStream;
  /** Clock of the module's timing (answers, boot, joins). */
  scheduler: Scheduler;
  /** Where the links go (host stack, userspace stack). */
  network: Network;
  /** Randomness for faults and link behaviour. */
  rng: Rng;
  /** `'v2'` (ESP-AT 2.x) or `'nonos'` (NONOS 1.7). */
  dialect: EspDialectName;
  /** `AT version:` line replacing the dialect's default (selects version-dependent behaviour). */
  version?: string | undefined;
  /** The factory line rate (default 115200). */
  baudRate?: number | undefined;
  /** Host flow control at boot (RTS/CTS; default false). */
  flowControl?: boolean | undefined;
  /** Access points in range (for `AT+CWLAP` and joins). */
  aps?: readonly EspAp[] | undefined;
  /** The addresses the module reports (tests: the network's local address). */
  station?: EspStation | undefined;
  /** Answer and boot delays (see `EspTiming`). */
  timing?: Partial<EspTiming> | undefined;
  /** TLS settings of the module's SSL links (trust store, link limit). */
  tls?: EspTlsOptions | undefined;
  /** Fault rules, or an injector to share. */
  faults?: FaultSpec | SimFaults | undefined;
  /** NONOS ROM-log garbage at boot (default: on for NONOS). */
  bootNoise?: boolean | undefined;
}

/** Counters of a simulator. */
export interface EspAtSimStats {
  /** Command lines taken. */
  commands: number;
  /** `ERROR` answers. */
  errors: number;
  /** Boots (power-on, `AT+RST`, crashes). */
  boots: number;
  /** Simulated crashes. */
  crashes: number;
  /** Access point losses. */
  apLosses: number;
  /** Links opened (`AT+CIPSTART`). */
  connects: number;
  /** Link opens that failed. */
  connectFailures: number;
  /** Connections accepted by the module's server. */
  accepts: number;
  /** `SEND OK` answers. */
  sendOk: number;
  /** `SEND FAIL` answers. */
  sendFail: number;
  /** Payload bytes sent to the network. */
  bytesToNetwork: number;
  /** Payload bytes received from the network. */
  bytesFromNetwork: number;
  /** `+IPD` notices sent to the host. */
  ipd: number;
  /** UDP datagrams dropped (receive buffer full). */
  udpDropped: number;
}

/** Why the module restarts. */
export type EspRebootReason = 'power' | 'rst' | 'restore' | 'wdt' | 'soft-wdt' | 'exception' | 'ssl';

const BANNERS: Readonly<Record<EspRebootReason, string>> = {
  power: '',
  rst: '',
  restore: '',
  wdt: '\r\nwdt reset\r\n',
  'soft-wdt': '\r\nSoft WDT reset\r\n',
  exception: "\r\nGuru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\n",
  ssl: '\r\nWill force to restart!!!\r\n',
};

/** URCs the injection faults pick from by default. */
export const ESP_URC_POOL: readonly string[] = [
  'WIFI GOT IP\r\n',
  '+STA_CONNECTED:"12:34:56:78:9a:bc"\r\n',
  '\r\nbusy s...\r\n',
  '+TIME_UPDATED\r\n',
];

/** The ESP-AT module simulator. See the module comment. */
export class EspAtSim {
  /** Clock of the module's timing. */
  readonly scheduler: Scheduler;
  /** The network its links use. */
  readonly network: Network;
  /** The dialect being simulated. */
  readonly dialect: EspDialect;
  /** The module's end of the serial line (echo, line parsing, raw data modes). */
  readonly port: AtSimPort;
  /** The fault injector. */
  readonly faults: SimFaults;
  /** The Wi-Fi state (station, access points). */
  readonly wifi: EspWifiModel;
  /** Answer and boot delays. */
  readonly timing: EspTiming;
  /** TLS settings of the SSL links. */
  readonly tls: EspTlsOptions;
  /** Counters (see `EspAtSimStats`). */
  readonly stats: EspAtSimStats = {
    commands: 0,
    errors: 0,
    boots: 0,
    crashes: 0,
    apLosses: 0,
    connects: 0,
    connectFailures: 0,
    accepts: 0,
    sendOk: 0,
    sendFail: 0,
    bytesToNetwork: 0,
    bytesFromNetwork: 0,
    ipd: 0,
    udpDropped: 0,
  };

  // ---- state lost at every reboot (used by the command files) ----
  /** @internal Link slots 0-4. */
  links: (EspLink | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
  /** @internal Ids taken by a CIPSTART in progress. */
  reserved = new Set<number>();
  /** @internal */ mux = false;
  /** @internal */ dinfo = false;
  /** @internal AT+SYSMSG bits. */ sysmsg = 0;
  /** @internal */ syslog = false;
  /** @internal Passive receive for new links (CIPRECVMODE / CIPRECVTYPE=5). */ recvPassive = false;
  /** @internal AT+CIPMODE. */ cipmode = 0;
  /** @internal Passthrough sending in progress. */ passthrough = false;
  /** @internal */ server: { socket: TcpServer; port: number; type: string } | undefined;
  /** @internal */ serverMaxConn = 5;
  /** @internal Links ever opened since boot (CIPSTATUS 3 vs 4). */ hadLinks = false;
  /** @internal Host flow control on the UART now. */ flowControl: boolean;
  /** @internal AT+UART_CUR values. */ uart: { baud: number; data: number; stop: number; parity: number; flow: number };
  // ---- kept across reboots ("flash") ----
  /** @internal AT+SYSSTORE. */ sysstore = true;
  /** @internal AT+UART_DEF values. */ uartDef: { baud: number; data: number; stop: number; parity: number; flow: number };
  /** @internal Increments at every reboot: async work of an older boot stops. */ generation = 0;

  readonly #bootNoise: boolean;
  #reconnectTimer: (() => void) | undefined;
  #closed = false;
  readonly #linkHost: EspLinkHost;

  constructor(options: EspAtSimOptions) {
    this.scheduler = options.scheduler;
    this.network = options.network;
    this.dialect = espDialect(options.dialect, options.version);
    this.faults = options.faults instanceof SimFaults ? options.faults : new SimFaults(options.rng, options.faults ?? {});
    this.timing = {
      bootMs: 300,
      cwjapMs: 1500,
      cwjapTimeoutMs: 15_000,
      cwlapMs: 1000,
      cipstartTimeoutMs: 10_000,
      sendMs: 0,
      commandMs: 0,
      reconnectMs: 1000,
      ...options.timing,
    };
    this.tls = options.tls ?? {};
    this.wifi = new EspWifiModel(options.aps ?? [], options.station ?? { ip: '192.168.4.2', gateway: '192.168.4.1', netmask: '255.255.255.0' });
    const baud = options.baudRate ?? 115_200;
    const flow = options.flowControl === true ? 3 : 0;
    this.uartDef = { baud, data: 8, stop: 1, parity: 0, flow };
    this.uart = { ...this.uartDef };
    this.flowControl = flow !== 0;
    this.#bootNoise = options.bootNoise ?? this.dialect.bootGarbage;
    this.port = new AtSimPort({
      stream: options.stream,
      scheduler: options.scheduler,
      rng: options.rng,
      faults: this.faults,
      terminator: 'crlf',
      echo: true,
      echoStyle: this.dialect.echoStyle,
      baudRate: baud,
      urcPool: ESP_URC_POOL,
      onLine: (line) => this.#onLine(line),
    });
    const state = (): EspAtSim => this;
    this.#linkHost = {
      port: this.port,
      faults: this.faults,
      dialect: this.dialect,
      get mux() {
        return state().mux;
      },
      get dinfo() {
        return state().dinfo;
      },
      get flowControl() {
        return state().flowControl;
      },
      get passthrough() {
        return state().passthrough;
      },
      linkClosed: (link) => this.#linkClosedByPeer(link),
      rebootPoint: () => this.dataPoint(),
      stats: this.stats,
    };
  }

  // ------------------------------------------------------------ lifecycle

  /** Powers the module on: boot noise (NONOS), then `ready` after `timing.bootMs`. */
  powerOn(): void {
    this.reboot('power');
  }

  /**
   * Restarts the module: every socket and the Wi-Fi association are lost, settings go back to
   * their boot values (flash kept), the banner of `reason` is written, then boot noise and
   * `ready`. The saved AP is joined again when auto-connect is on.
   */
  reboot(reason: EspRebootReason = 'rst'): void {
    if (this.#closed) return;
    this.generation++;
    this.port.reset(true);
    this.#dropAllState();
    const banner = BANNERS[reason];
    if (banner !== '') this.port.write(banner, 'response');
    if (this.#bootNoise) this.port.write(this.faults.garbage(48), 'response');
    if (this.uart.baud !== this.uartDef.baud) void this.port.changeBaudRate(this.uartDef.baud);
    this.uart = { ...this.uartDef };
    this.flowControl = this.uart.flow !== 0;
    const gen = this.generation;
    this.port.setTimer(this.timing.bootMs, () => {
      if (gen !== this.generation) return;
      this.stats.boots++;
      this.port.write('\r\nready\r\n', 'response');
      this.port.setReady(true);
      if (this.wifi.stored !== undefined && this.wifi.autoConnect && (this.wifi.mode & 1) !== 0) this.#autoJoin(gen);
    });
  }

  /** A crash (watchdog by default): `reboot` with its banner, counted in `stats.crashes`. */
  crash(reason: Exclude<EspRebootReason, 'power' | 'rst' | 'restore'> = 'wdt'): void {
    this.stats.crashes++;
    this.reboot(reason);
  }

  #dropAllState(): void {
    for (const link of this.links) link?.close(true);
    this.links = [undefined, undefined, undefined, undefined, undefined];
    this.reserved.clear();
    void this.server?.socket.close().catch(() => undefined);
    this.server = undefined;
    this.#reconnectTimer?.();
    this.#reconnectTimer = undefined;
    this.wifi.reset();
    this.mux = false;
    this.dinfo = false;
    this.sysmsg = 0;
    this.syslog = false;
    this.recvPassive = false;
    this.cipmode = 0;
    this.passthrough = false;
    this.serverMaxConn = 5;
    this.hadLinks = false;
  }

  /** The AP disappears: `WIFI DISCONNECT`, every link closed, reconnect attempts until `apRestore()`. */
  apLoss(): void {
    this.stats.apLosses++;
    this.wifi.inRange = false;
    if (this.wifi.state === 0 || this.wifi.current === undefined) return;
    this.wifiDown(true);
    this.#scheduleReconnect(this.generation);
  }

  /** The AP is back: the next reconnect attempt joins it again. */
  apRestore(): void {
    this.wifi.inRange = true;
  }

  /** Writes a URC now (`line` with its framing, e.g. `'\r\n+STA_CONNECTED:"…"\r\n'`). */
  injectUrc(line: string | Uint8Array): void {
    this.port.urc(line);
  }

  /** Detaches from the stream and closes every socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.generation++;
    this.#dropAllState();
    this.port.close();
  }

  /** @internal Wi-Fi went down: `WIFI DISCONNECT` (when `urc`), links closed with `CLOSED`. */
  wifiDown(urc: boolean): void {
    const wasUp = this.wifi.state === 1 || this.wifi.state === 2;
    this.wifi.state = 4;
    if (urc && wasUp) this.port.urc('WIFI DISCONNECT\r\n');
    for (const link of this.links) if (link !== undefined) this.closeLink(link, true);
  }

  #scheduleReconnect(gen: number): void {
    this.#reconnectTimer?.();
    this.#reconnectTimer = this.port.setTimer(this.timing.reconnectMs, () => {
      this.#reconnectTimer = undefined;
      if (gen !== this.generation || this.wifi.current === undefined || this.wifi.state === 2) return;
      if (!this.wifi.autoConnect) return;
      this.wifi.state = 3;
      const ap = this.wifi.current;
      const outcome = this.wifi.join(ap.ssid, ap.password);
      if (outcome.ok) {
        this.wifi.state = 2;
        this.port.urc('WIFI CONNECTED\r\n');
        this.port.urc('WIFI GOT IP\r\n');
      } else {
        this.#scheduleReconnect(gen);
      }
    });
  }

  #autoJoin(gen: number): void {
    const stored = this.wifi.stored;
    if (stored === undefined) return;
    this.wifi.state = 3;
    this.port.setTimer(this.timing.cwjapMs, () => {
      if (gen !== this.generation || this.wifi.state !== 3) return;
      const outcome = this.wifi.join(stored.ssid, stored.password);
      if (outcome.ok) {
        this.wifi.current = outcome.ap;
        this.wifi.state = 2;
        this.port.urc('WIFI CONNECTED\r\n');
        this.port.urc('WIFI GOT IP\r\n');
      } else {
        this.wifi.state = 4;
      }
    });
  }

  // ------------------------------------------------------------ commands

  #onLine(line: AtLine): AtLineResult {
    this.stats.commands++;
    if (line.overflow) return this.error(ERR.paramLength);
    const parsed = parseEspCommand(line.text);
    if ('error' in parsed) return this.error(parsed.error);
    const entry = this.#lookup(parsed);
    if (entry === undefined) return this.error(ERR.unsupported);
    if (this.timing.commandMs > 0) {
      const gen = this.generation;
      return this.port.sleep(this.timing.commandMs).then(() => (gen === this.generation ? entry.run(this, parsed) : undefined));
    }
    return entry.run(this, parsed);
  }

  #lookup(cmd: EspCommand): EspCommandEntry | undefined {
    const plain = ESP_COMMANDS[cmd.name];
    if (plain !== undefined && plain.suffixOnly !== true) {
      if (plain.espAtOnly === true && !this.dialect.espAtOnly) return undefined;
      if (plain.curDef === true && this.dialect.curDef && plain.plainOnNonos !== true) return undefined;
      return plain;
    }
    const entry = cmd.suffix !== '' ? ESP_COMMANDS[cmd.base] : undefined;
    if (entry === undefined || entry.suffixOnly === true) return entry;
    return entry.curDef === true && this.dialect.curDef ? entry : undefined;
  }

  /** All command names this dialect knows (for `AT+CMD?`). */
  commandNames(): {
    /** The command name (`+CIPSTART`). */
    name: string;
    /** Its table entry. */
    entry: EspCommandEntry;
  }[] {
    const out: { name: string; entry: EspCommandEntry }[] = [];
    for (const [name, entry] of Object.entries(ESP_COMMANDS)) {
      if (entry.espAtOnly === true && !this.dialect.espAtOnly) continue;
      if (entry.suffixOnly === true || (entry.curDef === true && this.dialect.curDef)) {
        out.push({ name: `${name}_CUR`, entry }, { name: `${name}_DEF`, entry });
        if (entry.plainOnNonos === true && entry.suffixOnly !== true) out.push({ name, entry });
      } else {
        out.push({ name, entry });
      }
    }
    return out;
  }

  // ------------------------------------------------------------ responses (used by the command files)

  /** @internal `\r\nOK\r\n`. */
  ok(): void {
    this.port.write('\r\nOK\r\n', 'response');
  }

  /** @internal `[ERR CODE:…\r\n]\r\nERROR\r\n`. */
  error(sub: number = ERR.paramInvalid): void {
    this.stats.errors++;
    this.port.writeLines([...(this.syslog ? [errCodeLine(sub)] : []), '\r\nERROR\r\n']);
  }

  /** @internal Information lines then `OK`, with injection points between them. */
  reply(lines: readonly string[]): void {
    this.port.writeLines([...lines.map((l) => `${l}\r\n`), '\r\nOK\r\n']);
  }

  /** @internal The id prefix of `CONNECT`/`CLOSED` messages (`0,` with MUX=1, nothing with MUX=0). */
  idPrefix(id: number): string {
    return this.mux ? `${id},` : '';
  }

  /** @internal Opens a link object in slot `id`. */
  newLink(init: ConstructorParameters<typeof EspLink>[1]): EspLink {
    const link = new EspLink(this.#linkHost, init);
    this.links[init.id] = link;
    this.hadLinks = true;
    return link;
  }

  /** @internal `<id>,CONNECT\r\n` or `+LINK_CONN:…` (AT+SYSMSG bit 1). */
  connectMessage(link: EspLink): string {
    if ((this.sysmsg & 2) !== 0) {
      return `+LINK_CONN:0,${link.id},"${link.type}",${link.server},"${link.remoteIp}",${link.remotePort},${link.localPort}\r\n`;
    }
    return `${this.idPrefix(link.id)}CONNECT\r\n`;
  }

  /** @internal Closes `link` and frees its id; `urc`: write `<id>,CLOSED` now. */
  closeLink(link: EspLink, urc: boolean): void {
    link.close(true);
    if (this.links[link.id] === link) this.links[link.id] = undefined;
    if (urc) this.port.urc(`${this.idPrefix(link.id)}CLOSED\r\n`);
  }

  #linkClosedByPeer(link: EspLink): void {
    if (this.links[link.id] !== link) return;
    this.links[link.id] = undefined;
    if (this.passthrough) {
      this.passthrough = false;
      this.port.exitRaw();
    }
    this.port.urc(`${this.idPrefix(link.id)}CLOSED\r\n`);
  }

  /** @internal A data point: the `reboot` and `apLoss` faults may fire here. True: the module rebooted. */
  dataPoint(): boolean {
    if (this.faults.fire('reboot')) {
      this.crash('wdt');
      return true;
    }
    if (this.faults.fire('apLoss')) {
      this.apLoss();
      const gen = this.generation;
      this.port.setTimer(this.faults.param('apLoss', 'delayMs', 3000), () => {
        if (gen === this.generation) this.apRestore();
      });
    }
    return false;
  }

  /** @internal The lowest free link id, or undefined. */
  freeId(): number | undefined {
    for (let i = 0; i < 5; i++) if (this.links[i] === undefined && !this.reserved.has(i)) return i;
    return undefined;
  }
}
