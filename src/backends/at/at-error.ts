/**
 * The AT engine's typed failure. Drivers map it onto `SocketError`s (`reason` into
 * `SocketErrorDetail.reason`, e.g. `cme:30`); it never leaves the backends layer as such.
 */

/** Why an AT command failed. */
export type AtErrorReason =
  /** No final response within the command's timeout. */
  | 'timeout'
  /** A failure final: `ERROR`, `FAIL`, `NO CARRIER`, `BUSY`, `NO ANSWER`, `NO DIALTONE` or a custom one. */
  | 'error'
  /** `+CME ERROR: <n>` (3GPP TS 27.007 §9.2); `code` holds n when numeric. */
  | 'cme'
  /** `+CMS ERROR: <n>` (3GPP TS 27.005 §3.2.5); `code` holds n when numeric. */
  | 'cms'
  /** `SEND FAIL` after a data phase. */
  | 'send-fail'
  /** The module answered `busy p...`/`busy s...` more often than the command allows. */
  | 'busy'
  /** The module rebooted (`ready`, `RDY`, …) while the command was pending. */
  | 'reset'
  /** One of the command's abort patterns matched. */
  | 'aborted'
  /** The engine was closed. */
  | 'closed';

const BRAND = Symbol.for('iotnet.AtError');

/** A failed AT command: why, which command, what the module said. */
export class AtError extends Error {
  /** Why it failed: timeout, `ERROR`, `+CME`/`+CMS ERROR`, `SEND FAIL`, busy, module reset, aborted or closed. */
  readonly reason: AtErrorReason;
  /** The command text as sent, without line ending (`AT+CIPSEND=0,4`). */
  readonly command: string;
  /** Information lines received for the command before it failed. */
  readonly lines: readonly string[];
  /** The line that ended it (`ERROR`, `+CME ERROR: 10`, the reset banner), if any. */
  readonly final: string | undefined;
  /** The numeric `+CME`/`+CMS` error code, if any. */
  readonly code: number | undefined;

  constructor(reason: AtErrorReason, command: string, lines: readonly string[], final?: string, code?: number) {
    super(`AT ${reason}: ${command}${final !== undefined ? ` -> ${final}` : ''}`);
    this.name = 'AtError';
    this.reason = reason;
    this.command = command;
    this.lines = lines;
    this.final = final;
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Brand check: `instanceof AtError` holds for instances from any copy of this module. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** True when `e` is an `AtError` (optionally with the given reason). */
export function isAtError(e: unknown, reason?: AtErrorReason): e is AtError {
  return e instanceof AtError && (reason === undefined || e.reason === reason);
}
