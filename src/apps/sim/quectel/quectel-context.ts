/**
 * What the Quectel command handlers see of the simulator: its settings, the cellular model, the
 * sockets, the serial port, virtual time and a few actions (reboot, power down). The simulator
 * (`quectel-sim.ts`) implements it; handlers (`quectel-basic-commands.ts`,
 * `quectel-tcpip-commands.ts`) take it, so they need not know the simulator class.
 */
import type { AtSimPort } from '../at-sim-port.ts';
import type { SimFaults } from '../sim-faults.ts';
import type { ParsedCommand } from './quectel-command-line.ts';
import type { FormatSettings, Reply } from './quectel-format.ts';
import type { QuectelModel, QuectelNetworkModel } from './quectel-network-model.ts';
import type { QuectelDataMode } from './quectel-data-mode.ts';
import type { QuectelSockets } from './quectel-sockets.ts';

/** Virtual durations of the simulator, ms. */
export interface QuectelTiming {
  /** Power-on to `RDY` / `APP RDY` (default 3000). */
  bootMs: number;
  /** `RDY` to the SIM being ready (`+CPIN: READY`; `AT+CPIN?` says SIM busy meanwhile; default 1500). */
  simReadyMs: number;
  /** Every command's answer (default 5). */
  commandMs: number;
  /** `AT+QIACT` / `AT+CGACT=1` (default 800; the reference allows up to 150 s). */
  qiactMs: number;
  /** `AT+QIDEACT` / `AT+CGACT=0` (default 300). */
  qideactMs: number;
  /** Before a `AT+QIOPEN` starts connecting (default 50; the connect itself takes network time). */
  qiopenMs: number;
  /** `AT+QICLOSE` (default 50). */
  qicloseMs: number;
  /** Before a `AT+QIDNSGIP` lookup starts (default 100). */
  dnsMs: number;
  /** `AT+CFUN` changes (default 200). */
  cfunMs: number;
  /** `ATD*99***<cid>#` / `AT+CGDATA` to `CONNECT` (default 300). */
  dialMs: number;
}

export const DEFAULT_TIMING: QuectelTiming = {
  bootMs: 3000,
  simReadyMs: 1500,
  commandMs: 5,
  qiactMs: 800,
  qideactMs: 300,
  qiopenMs: 50,
  qicloseMs: 50,
  dnsMs: 100,
  cfunMs: 200,
  dialMs: 300,
};

/** Per-model identity strings. */
export interface QuectelIdentity {
  readonly manufacturer: string;
  readonly model: string;
  readonly revision: string;
  readonly imei: string;
  readonly bootBanner: string;
}

/** Mutable command settings (reset at boot). */
export interface QuectelSettings extends FormatSettings {
  /** `AT+QISDE`: echo the data typed after `> ` (only while command echo is on). */
  dataEcho: boolean;
  /** `AT+QIGETERROR`: the last TCP/IP error code. */
  lastError: number;
  /** `ATS12`: the `+++` escape guard time in 20 ms units (default 50, 1 s). */
  s12: number;
  /** `AT&D`: what a DTR drop does in a data call: 0 nothing, 1 command mode (call kept), 2 hang up (default). */
  dtrMode: number;
  /** `AT&C` (stored only). */
  dcdMode: number;
}

/** A command handler. */
export type CommandHandler = (ctx: QuectelContext, cmd: ParsedCommand) => Reply | Promise<Reply>;

/** The simulator as its handlers see it. */
export interface QuectelContext {
  readonly model: QuectelModel;
  readonly identity: QuectelIdentity;
  readonly net: QuectelNetworkModel;
  readonly sockets: QuectelSockets;
  /** The data call (`ATD*99#`, `AT+CGDATA`, PPP). */
  readonly data: QuectelDataMode;
  readonly port: AtSimPort;
  readonly faults: SimFaults;
  readonly timing: QuectelTiming;
  readonly settings: QuectelSettings;
  /** The address a context gets when activated (`AT+QIACT?`, `AT+CGPADDR`). */
  readonly pdpAddress: string;
  /** Boot counter: a handler that awaited checks it is still in the boot it started in. */
  readonly epoch: number;
  /** Resolves after `ms` of virtual time; never when a reboot comes first. */
  sleep(ms: number): Promise<void>;
  /** Writes an unsolicited line (framed per `ATV`). */
  urc(line: string): void;
  /** Writes response parts (already framed) with URC injection points between them. */
  writeParts(parts: readonly string[]): void;
  /** The framed final result code. */
  finalText(reply: Reply): string;
  /** Reboots (`AT+CFUN=1,1`): all state lost, boot URCs again. */
  reboot(): void;
  /** `AT+QPOWD`: `POWERED DOWN`, then deaf until `powerOn()`. */
  powerDown(): void;
  /** Applies a new `AT+CFUN` level (registration, contexts, sockets follow). */
  setFunctionality(level: number): void;
  /** Counters the handlers bump. */
  readonly stats: { sendOk: number; sendFail: number; sendCancelled: number };
}
