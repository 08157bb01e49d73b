/**
 * `AtError` → `SocketError`: one mapping for every AT driver, so a failure reaches the socket
 * layer with an IoT Socket code, the AT detail as `reason` (`timeout`, `cme:30`, `module-reset`)
 * and the `AtError` as `cause`. Drivers pass `refine` for module-specific codes (ESP `+CWJAP:2`,
 * Quectel 566).
 */
import type { IotCode } from '../../base/iot-constants.ts';
import { SocketError, type SocketErrorDetail } from '../../base/socket-error.ts';
import { AtError, type AtErrorReason } from './at-error.ts';

/** A driver's own mapping: the code and reason for an `AtError`, or undefined for the default. */
export type AtErrorRefine = (error: AtError) => { code: IotCode; reason: string } | undefined;

const DEFAULTS: Record<AtErrorReason, { code: IotCode; reason: string }> = {
  timeout: { code: 'ETIMEDOUT', reason: 'timeout' },
  error: { code: 'ERROR', reason: 'error' },
  cme: { code: 'ERROR', reason: 'cme' },
  cms: { code: 'ERROR', reason: 'cms' },
  'send-fail': { code: 'ECONNABORTED', reason: 'send-fail' },
  busy: { code: 'ERROR', reason: 'busy' },
  reset: { code: 'ECONNABORTED', reason: 'module-reset' },
  aborted: { code: 'ECONNABORTED', reason: 'aborted' },
  closed: { code: 'ECONNABORTED', reason: 'closed' },
};

/**
 * Maps any failure of an AT operation to a `SocketError`: a `SocketError` passes through, an
 * `AtError` is mapped (`+CME ERROR: 30` → `ERROR` with reason `cme:30`), anything else becomes
 * `ERROR` with it as cause.
 */
export function atSocketError(error: unknown, detail: SocketErrorDetail, refine?: AtErrorRefine): SocketError {
  if (error instanceof SocketError) return error;
  if (error instanceof AtError) {
    const mapped = refine?.(error) ?? DEFAULTS[error.reason];
    const reason = (error.reason === 'cme' || error.reason === 'cms') && mapped === DEFAULTS[error.reason]
      ? `${error.reason}:${error.code ?? error.final ?? '?'}`
      : mapped.reason;
    return new SocketError(mapped.code, { ...detail, reason }, { cause: error });
  }
  return new SocketError('ERROR', { ...detail, reason: detail.reason ?? 'internal' }, { cause: error });
}
