/**
 * Chat scripts as data (Zephyr `modem_chat`, reference `at-modules.md` §4): an array of steps,
 * each a command, what ends it and how long it may take, run in order on an {@link AtEngine}.
 *
 * ```ts
 * const dial: AtChatStep[] = [
 *   { send: 'AT+CGACT=0,1', optional: true },        // ERROR is fine
 *   { send: 'AT+CGDCONT=1,"IP","internet"' },
 *   { send: 'AT+CFUN=1', timeoutMs: 15_000 },
 *   { send: 'ATD*99***1#', noReply: true },          // no reply awaited
 * ];
 * await runChat(engine, dial);
 * ```
 */
import type { AtEngine, AtPattern, AtResponse } from './at-engine.ts';
import { AtError } from './at-error.ts';

/** One step of a chat script. */
export interface AtChatStep {
  /** The command, without line ending. */
  readonly send: string;
  /** Success finals; default `OK`. */
  readonly expect?: readonly AtPattern[];
  /** Milliseconds allowed; default the engine's. */
  readonly timeoutMs?: number;
  /** Lines that abort this step (besides the script's). */
  readonly abort?: readonly AtPattern[];
  /** A failure of this step does not stop the script (its outcome is then the `AtError`). */
  readonly optional?: boolean;
  /** Write the command and go on without awaiting a reply. */
  readonly noReply?: boolean;
  /** Pause after the step (ms), on the engine's scheduler. */
  readonly delayMs?: number;
}

/** Script-wide options. */
export interface AtChatOptions {
  /** Abort patterns applied to every step (`NO CARRIER`, `+CME ERROR: 10`, …). */
  readonly abort?: readonly AtPattern[];
}

/**
 * Runs `script` step by step; resolves with each step's response (or, for a failed optional step,
 * its `AtError`), and rejects with the first non-optional step's `AtError`.
 */
export async function runChat(
  engine: AtEngine,
  script: readonly AtChatStep[],
  options: AtChatOptions = {},
): Promise<(AtResponse | AtError)[]> {
  const out: (AtResponse | AtError)[] = [];
  for (const step of script) {
    const abort = [...(options.abort ?? []), ...(step.abort ?? [])];
    const outcome = engine.send({
      text: step.send,
      ...(step.expect !== undefined ? { success: step.expect } : {}),
      ...(step.timeoutMs !== undefined ? { timeoutMs: step.timeoutMs } : {}),
      ...(abort.length > 0 ? { abort } : {}),
      ...(step.noReply === true ? { noReply: true } : {}),
    });
    try {
      out.push(await outcome);
    } catch (e) {
      if (step.optional !== true || !(e instanceof AtError)) throw e;
      out.push(e);
    }
    if (step.delayMs !== undefined && step.delayMs > 0) {
      const ms = step.delayMs;
      await new Promise<void>((resolve) => engine.scheduler.setTimer(ms, resolve));
    }
  }
  return out;
}
