/**
 * `QuectelSim`: a byte-faithful simulator of a Quectel BG96 / EC21 / BG95 cellular modem
 * (reference `at-modules.md` §2 V.250/27.007, §3 Quectel TCP/IP, §5 what a simulator must
 * reproduce). It runs on the module's end of any `ByteStream` (one end of `createBytePipe` in
 * tests, a pty master from the CLI) through the shared serial front end `AtSimPort` (line
 * assembly with CR, echo of the typed bytes, strictly serial: a line arriving while a command runs
 * is answered `ERROR`, counted and variable data after `> `, output faults), and carries its
 * sockets over a real `Network` (TCP/UDP connections, listeners, DNS).
 *
 * ```ts
 * const [host, module] = createBytePipe({ scheduler });
 * const sim = new QuectelSim({ stream: module, scheduler, network, rng: new XorShiftRng(1), model: 'BG96' });
 * sim.powerOn();            // after bootMs: RDY, +CFUN: 1; after simReadyMs: +CPIN: READY, +QIND: SMS DONE, +QIND: PB DONE
 * sim.loseRegistration(3);  // registration denied (URCs per the host's AT+CxREG=<n>)
 * sim.deactivatePdp(1);     // +QIURC: "pdpdeact",1 (and +CGEV with AT+CGEREP)
 * sim.faults.update('sendFail', { probability: 0.2 });
 * ```
 *
 * Data mode (`ATD*99***<cid>#`, `AT+CGDATA="PPP",<cid>`, `+++`, `ATO`, `ATH`, DTR with `AT&D`):
 * see `quectel-data-mode.ts`. The option `dataCall` makes the session of each call (a PPP server);
 * without it every dial answers `NO CARRIER`.
 *
 * Simulator-level fault kinds (besides the serial ones of `AtSimPort`, see `sim-faults.ts`), each
 * asked at the start of every command line unless noted: `reboot` (the modem reboots instead of
 * answering), `registrationLoss` (registration drops to `count` (default 2, searching) and comes back
 * after `delayMs`, default 5000), `pdpDeact` (the network drops the first active context),
 * `sendFail` (asked per send: `SEND FAIL`), `rebootInSend` (asked after each `> `: the modem
 * reboots `delayMs` (default 1) later, mid-transfer).
 */
import type { Rng } from '../../../base/rand.ts';
import type { Scheduler } from '../../../base/time.ts';
import type { ByteStream } from '../../../link/byte-stream.ts';
import type { Network } from '../../../socket/network.ts';
import { concatBytes, latin1Bytes } from '../../../wire/bytes.ts';
import { AtSimPort, type AtLine, type AtSimPortStats } from '../at-sim-port.ts';
import { SimFaults, type FaultSpec } from '../sim-faults.ts';
import { BASIC_COMMANDS } from './quectel-basic-commands.ts';
import { DATA_COMMANDS } from './quectel-data-commands.ts';
import { QuectelDataMode, type QuectelDataStats, type SimDataCallHandler } from './quectel-data-mode.ts';
import { parseCommandLine, type ParsedCommand } from './quectel-command-line.ts';
import {
  DEFAULT_TIMING,
  type CommandHandler,
  type QuectelContext,
  type QuectelIdentity,
  type QuectelSettings,
  type QuectelTiming,
} from './quectel-context.ts';
import { finalText, infoParts, resultCode, urcText, type Reply } from './quectel-format.ts';
import {
  QuectelNetworkModel,
  type QuectelApn,
  type QuectelModel,
  type QuectelRegistration,
  type QuectelSignal,
  type QuectelSimCard,
} from './quectel-network-model.ts';
import { QuectelSockets, type QuectelSocketOptions, type QuectelSocketStats } from './quectel-sockets.ts';
import { TCPIP_COMMANDS } from './quectel-tcpip-commands.ts';

/**
 * Options of `QuectelSim`: the module's end of the serial line, clock, the network its sockets use, randomness,
 * model, SIM, signal, registration, APN, timing, faults, sockets and the data call handler.
 */
export interface QuectelSimOptions {
  /** The module's end of the serial line. */
  stream: ByteStream;
  /** Clock of the module's timing. */
  scheduler: Scheduler;
  /** Where the sockets go (host stack from the CLI, a userspace stack in tests). */
  network: Network;
  /** Randomness for the fault injector (when `faults` is not a `SimFaults`). */
  rng: Rng;
  /** Default `'BG96'`. */
  model?: QuectelModel | undefined;
  /** The SIM card (PIN, state). */
  sim?: QuectelSimCard | undefined;
  /** Signal quality reported (`AT+CSQ`). */
  signal?: QuectelSignal | undefined;
  /** Network registration (states, technology). */
  registration?: QuectelRegistration | undefined;
  /** APN of context 1 at boot (as if stored by `AT+QICSGP` earlier). */
  apn?: QuectelApn | undefined;
  /** The address an active context reports (`AT+QIACT?`, `AT+CGPADDR`); tests pass the network's. Default `10.171.134.243`. */
  pdpAddress?: string | undefined;
  /** Virtual durations; see `QuectelTiming`. */
  timing?: Partial<QuectelTiming> | undefined;
  /** A fault injector to share, or rules for a new one on `rng`. */
  faults?: SimFaults | FaultSpec | undefined;
  /** Socket buffers and connect timeout. */
  sockets?: QuectelSocketOptions | undefined;
  /** `AT+CMEE` after boot (default 1, numeric). */
  cmee?: number | undefined;
  /** IMEI (`AT+CGSN`); default `866425030123456`. */
  imei?: string | undefined;
  /** URC lines (unframed) the URC injection faults draw from; default registration and `+QIND: "csq"` lines. */
  urcPool?: readonly string[] | undefined;
  /**
   * Makes the data session of a dialled call (`ATD*99***<cid>#`, `AT+CGDATA`); undefined refuses
   * it. Without this option every dial answers `NO CARRIER`.
   */
  dataCall?: SimDataCallHandler | undefined;
  /** The verbose result of a connected dial; default `CONNECT` (e.g. `CONNECT 150000000`). */
  connectText?: string | undefined;
  /** DTR poll period while a data call exists (default 20 ms; 0: DTR ignored). */
  dtrPollMs?: number | undefined;
}

/** Counters of a `QuectelSim`. */
export interface QuectelSimStats {
  /** Boots. */
  boots: number;
  /** Command lines taken. */
  commandLines: number;
  /** Lines without the `AT` prefix (ignored). */
  ignoredLines: number;
  /** Commands not recognised (`ERROR`). */
  unknownCommands: number;
  /** `ERROR` and `+CME ERROR` answers. */
  errors: number;
  /** URCs sent. */
  urcs: number;
  /** `SEND OK` answers. */
  sendOk: number;
  /** `SEND FAIL` answers. */
  sendFail: number;
  /** Sends cancelled (ESC at the `>` prompt). */
  sendCancelled: number;
  /** Serial port counters. */
  port: AtSimPortStats;
  /** Socket counters. */
  sockets: QuectelSocketStats;
  /** Data call counters. */
  data: QuectelDataStats;
  /** Faults injected, by kind. */
  faults: Readonly<Record<string, number>>;
}

const IDENTITIES: Readonly<Record<QuectelModel, Omit<QuectelIdentity, 'imei'>>> = {
  BG96: { manufacturer: 'Quectel', model: 'BG96', revision: 'BG96MAR02A07M1G', bootBanner: 'RDY' },
  EC21: { manufacturer: 'Quectel', model: 'EC21', revision: 'EC21EFAR06A01M4G', bootBanner: 'APP RDY' },
  BG95: { manufacturer: 'Quectel', model: 'BG95-M3', revision: 'BG95M3LAR02A03', bootBanner: 'APP RDY' },
};

type Power = 'off' | 'booting' | 'on';

const CRLF = Uint8Array.of(0x0d, 0x0a);

/** The simulator. See the module comment. */
export class QuectelSim {
  /** The model simulated. */
  readonly model: QuectelModel;
  /** The module's end of the serial line. */
  readonly port: AtSimPort;
  /** The network side: SIM, registration, PDP contexts. */
  readonly net: QuectelNetworkModel;
  /** The module's sockets. */
  readonly sockets: QuectelSockets;
  /** The data call (state, counters). */
  readonly data: QuectelDataMode;
  readonly #scheduler: Scheduler;
  readonly #timing: QuectelTiming;
  readonly #identity: QuectelIdentity;
  readonly #pdpAddress: string;
  readonly #cmeeDefault: number;
  readonly #urcPoolLines: readonly string[] | undefined;
  readonly #settings: QuectelSettings;
  readonly #ctx: QuectelContext;
  readonly #counters = { boots: 0, commandLines: 0, ignoredLines: 0, unknownCommands: 0, errors: 0, urcs: 0 };
  readonly #sendCounters = { sendOk: 0, sendFail: 0, sendCancelled: 0 };
  #epoch = 0;
  #power: Power = 'off';
  #closed = false;

  constructor(options: QuectelSimOptions) {
    this.model = options.model ?? 'BG96';
    this.#scheduler = options.scheduler;
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#identity = { ...IDENTITIES[this.model], imei: options.imei ?? '866425030123456' };
    this.#pdpAddress = options.pdpAddress ?? '10.171.134.243';
    this.#cmeeDefault = options.cmee ?? 1;
    this.#urcPoolLines = options.urcPool;
    this.#settings = { verbose: true, cmee: this.#cmeeDefault, dataEcho: true, lastError: 0, s12: 50, dtrMode: 2, dcdMode: 1 };
    const faults = options.faults instanceof SimFaults ? options.faults : new SimFaults(options.rng, options.faults ?? {});
    this.port = new AtSimPort({
      stream: options.stream,
      scheduler: options.scheduler,
      rng: options.rng,
      faults,
      onLine: (line) => this.#onLine(line),
      terminator: 'cr',
      echo: true,
      echoStyle: 'typed',
      busyReply: resultCode('ERROR', this.#settings),
      preBoot: 'ignore',
    });
    this.net = new QuectelNetworkModel(
      { model: this.model, sim: options.sim, signal: options.signal, registration: options.registration, apn: options.apn },
      (line) => this.#urc(line),
    );
    this.sockets = new QuectelSockets(
      {
        network: options.network,
        scheduler: options.scheduler,
        urc: (line, payload) => this.#socketUrc(line, payload),
        bg95RecvLength: this.model === 'BG95',
        bindAddress: '0.0.0.0',
      },
      options.sockets,
    );
    this.data = new QuectelDataMode({
      port: this.port,
      net: this.net,
      settings: this.#settings,
      pdpAddress: this.#pdpAddress,
      handler: options.dataCall,
      connectText: options.connectText,
      dtrPollMs: options.dtrPollMs,
    });
    this.#ctx = this.#makeContext();
    this.#refreshUrcPool();
  }

  // ---------------------------------------------------------------- public API

  /** The fault injector (rules can be changed at any time: `set`, `update`, `arm`). */
  get faults(): SimFaults {
    return this.port.faults;
  }

  /** Replaces every fault rule. */
  setFaults(spec: FaultSpec): void {
    this.port.faults.set(spec);
  }

  /** Powered and booted (answering commands). */
  get ready(): boolean {
    return this.#power === 'on';
  }

  /** The simulator's timing (boot, SIM ready, command answer delay, PDP activation, ...). */
  get timing(): Readonly<QuectelTiming> {
    return this.#timing;
  }

  /** Powers the module on (no-op when on or booting): boot URCs after `bootMs`. */
  powerOn(): void {
    if (this.#closed || this.#power !== 'off') return;
    this.#boot();
  }

  /** Reboots now (also mid-transfer): every socket and PDP context is lost, echo on, boot URCs again. */
  reboot(): void {
    if (this.#closed) return;
    this.#boot();
  }

  /** Registration drops to `stat` (2 searching, 3 denied, 4 unknown, 0 idle) until `restoreRegistration()`. */
  loseRegistration(stat = 2): void {
    this.net.forcedStat = stat;
    this.#updateRegistration();
  }

  /** Registration comes back: searching (2), then the configured status (1/5) after the registration delay. */
  restoreRegistration(): void {
    this.net.forcedStat = undefined;
    if (this.net.stat !== 2 && this.net.canRegister) this.net.setStat(2);
    this.#updateRegistration();
  }

  /** The network drops context `cid`: `+QIURC: "pdpdeact",<cid>`, `+CGEV` with `AT+CGEREP`; its sockets fail. */
  deactivatePdp(cid = 1): void {
    const ctx = this.net.contexts.get(cid);
    if (ctx === undefined || !ctx.active || this.#power !== 'on') return;
    this.sockets.contextLost(cid);
    this.#urc(`+QIURC: "pdpdeact",${cid}`);
    this.net.networkDeactivated(cid);
    this.#checkCall();
  }

  /** Writes `line` as a URC (framed per `ATV`). */
  injectUrc(line: string): void {
    this.#urc(line);
  }

  /** A snapshot of the counters (port, sockets, data mode and faults included). */
  get stats(): QuectelSimStats {
    return {
      ...this.#counters,
      ...this.#sendCounters,
      port: { ...this.port.stats },
      sockets: { ...this.sockets.stats },
      data: { ...this.data.stats },
      faults: { ...this.port.faults.stats },
    };
  }

  /** Stops: detaches from the stream, aborts every socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#epoch++;
    this.#power = 'off';
    this.data.reset();
    this.sockets.reset();
    this.port.close();
  }

  // ---------------------------------------------------------------- boot and radio

  #boot(): void {
    this.#epoch++;
    this.#counters.boots++;
    this.#power = 'booting';
    this.data.reset();
    this.sockets.reset();
    this.port.reset(true);
    this.net.reset();
    this.#settings.verbose = true;
    this.#settings.cmee = this.#cmeeDefault;
    this.#settings.dataEcho = true;
    this.#settings.lastError = 0;
    this.#settings.s12 = 50;
    this.#settings.dtrMode = 2;
    this.#settings.dcdMode = 1;
    this.port.busyReply = resultCode('ERROR', this.#settings);
    this.#refreshUrcPool();
    const epoch = this.#epoch;
    this.port.setTimer(this.#timing.bootMs, () => {
      if (epoch !== this.#epoch) return;
      this.#power = 'on';
      this.port.setReady(true);
      this.#urc(this.#identity.bootBanner);
      this.#urc('+CFUN: 1');
      this.port.setTimer(this.#timing.simReadyMs, () => {
        if (epoch !== this.#epoch) return;
        this.net.simReady();
        const state = this.net.simState;
        if (state === 'READY') {
          this.#urc('+CPIN: READY');
          this.#urc('+QIND: SMS DONE');
          this.#urc('+QIND: PB DONE');
        } else if (state === 'SIM PIN') {
          this.#urc('+CPIN: SIM PIN');
        }
        this.#updateRegistration();
      });
    });
  }

  #powerDown(): void {
    this.#epoch++;
    this.#power = 'off';
    this.data.reset();
    this.sockets.reset();
    this.port.setReady(false);
    this.#urc('POWERED DOWN');
  }

  #setFunctionality(level: number): void {
    this.net.cfun = level;
    if (level !== 1) {
      for (const cid of this.net.dropAllContexts()) this.sockets.closeContext(cid);
    }
    this.#updateRegistration();
  }

  #regTimer: (() => void) | undefined;

  /** Moves registration toward what the network would give now (via searching when registering). */
  #updateRegistration(): void {
    this.#regTimer?.();
    this.#regTimer = undefined;
    const wanted = this.net.wantedStat();
    const registering = wanted === 1 || wanted === 5;
    if (!registering || this.net.registered) {
      if (this.net.setStat(wanted)) this.#refreshUrcPool();
      this.#checkCall();
      return;
    }
    if (this.net.setStat(2)) this.#refreshUrcPool();
    this.#checkCall();
    const epoch = this.#epoch;
    this.#regTimer = this.port.setTimer(this.net.regDelayMs, () => {
      this.#regTimer = undefined;
      if (epoch !== this.#epoch) return;
      if (this.net.setStat(this.net.wantedStat())) this.#refreshUrcPool();
    });
  }

  /**
   * Ends the data call if the network dropped it; while a command runs, its end does it (so the
   * `NO CARRIER` follows that command's final result instead of ending it).
   */
  #checkCall(): void {
    if (!this.port.busy) this.data.check();
  }

  #refreshUrcPool(): void {
    const lines = this.#urcPoolLines ?? [
      `+CEREG: ${this.net.stat}`,
      `+CGREG: ${this.net.stat}`,
      `+QIND: "csq",${this.net.signal.rssi},${this.net.signal.ber}`,
    ];
    this.port.urcPool = lines.map((l) => urcText(l, this.#settings));
  }

  // ---------------------------------------------------------------- output

  /** Writes a URC (held while a data call is online). */
  #urc(line: string): void {
    this.#counters.urcs++;
    const text = urcText(line, this.#settings);
    if (!this.data.hold(text)) this.port.urc(text);
  }

  /** Push-mode data: header line, the bytes, CR LF, as one message; then the `afterIpd` point. */
  #socketUrc(line: string, payload: Uint8Array | undefined): void {
    if (payload === undefined) {
      this.#urc(line);
      return;
    }
    const msg = concatBytes([latin1Bytes(urcText(line, this.#settings)), payload, CRLF]);
    this.#counters.urcs++;
    if (this.data.hold(msg)) return;
    this.port.urc(msg);
    this.port.point('afterIpd');
  }

  // ---------------------------------------------------------------- commands

  #makeContext(): QuectelContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const sim = this;
    return {
      model: this.model,
      identity: this.#identity,
      net: this.net,
      sockets: this.sockets,
      data: this.data,
      port: this.port,
      get faults() {
        return sim.port.faults;
      },
      timing: this.#timing,
      settings: this.#settings,
      pdpAddress: this.#pdpAddress,
      get epoch() {
        return sim.#epoch;
      },
      sleep: (ms) => (ms > 0 ? this.port.sleep(ms) : Promise.resolve()),
      urc: (line) => this.#urc(line),
      writeParts: (parts) => this.port.writeLines(parts),
      finalText: (reply) => finalText(reply.final, this.#settings),
      reboot: () => this.reboot(),
      powerDown: () => this.#powerDown(),
      setFunctionality: (level) => this.#setFunctionality(level),
      stats: this.#sendCounters,
    };
  }

  /** Simulator-level faults asked at each command line; true when the line is lost to a reboot. */
  #commandFaults(): boolean {
    const f = this.port.faults;
    if (f.fire('reboot')) {
      this.reboot();
      return true;
    }
    if (f.fire('registrationLoss')) {
      this.loseRegistration(f.param('registrationLoss', 'count', 2));
      const epoch = this.#epoch;
      this.port.setTimer(f.param('registrationLoss', 'delayMs', 5000), () => {
        if (epoch === this.#epoch) this.restoreRegistration();
      });
    }
    if (f.fire('pdpDeact')) {
      const active = [...this.net.contexts.values()].find((c) => c.active);
      if (active !== undefined) this.deactivatePdp(active.cid);
    }
    return false;
  }

  #onLine(line: AtLine): void | Promise<void> {
    const parsed = parseCommandLine(line.text);
    if (parsed.kind === 'none') {
      this.#counters.ignoredLines++;
      return;
    }
    this.#counters.commandLines++;
    if (this.#commandFaults()) return;
    // A call the network dropped while the command ran ends after its final result (`#checkCall`).
    return this.#run(parsed.kind === 'error' ? undefined : parsed.commands).finally(() => this.data.check());
  }

  async #run(commands: readonly ParsedCommand[] | undefined): Promise<void> {
    const epoch = this.#epoch;
    if (this.#timing.commandMs > 0) await this.port.sleep(this.#timing.commandMs);
    if (epoch !== this.#epoch) return;
    if (commands === undefined) {
      this.#finish([], { final: 'ERROR' });
      return;
    }
    const afters: Array<() => void> = [];
    // Information parts not yet written: flushed before the next command runs, or with the final.
    let pending: string[] = [];
    for (const cmd of commands) {
      const handler: CommandHandler | undefined = BASIC_COMMANDS[cmd.name] ?? TCPIP_COMMANDS[cmd.name] ?? DATA_COMMANDS[cmd.name];
      if (handler === undefined) {
        this.#counters.unknownCommands++;
        this.#finish(pending, { final: 'ERROR' });
        return;
      }
      if (pending.length > 0) this.port.writeLines(pending);
      pending = [];
      let reply: Reply;
      try {
        reply = await handler(this.#ctx, cmd);
      } catch {
        reply = { final: 'ERROR' };
      }
      if (epoch !== this.#epoch) return;
      pending = infoParts(reply.lines ?? [], this.#settings);
      if (reply.final !== 'OK') {
        this.#finish(pending, reply);
        reply.after?.();
        return;
      }
      if (reply.after !== undefined) afters.push(reply.after);
    }
    this.#finish(pending, { final: 'OK' });
    for (const after of afters) after();
  }

  /** Writes the framed information parts and the final result (URC injection points between). */
  #finish(parts: readonly string[], reply: Reply): void {
    if (reply.final === 'ERROR' || typeof reply.final === 'object') this.#counters.errors++;
    const all = [...parts, finalText(reply.final, this.#settings)].filter((p) => p !== '');
    if (all.length > 0) this.port.writeLines(all);
    this.port.busyReply = resultCode('ERROR', this.#settings);
  }
}
