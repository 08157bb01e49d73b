import { type IotCode, iotCodeMessage, iotCodeValue } from './iot-constants.ts';

/** Context that travels with a `SocketError`: where it happened and why, in machine-readable form. */
export interface SocketErrorDetail {
  /** The operation that failed (`'connect'`, `'recv'`, `'lookup'`, ...). */
  readonly op?: string;
  /** The backend that reported it (`'host'`, `'userspace:eth0'`, `'at:bg96'`). */
  readonly backend?: string;
  /** A short reason code: the Node error code, `'rst-in-syn-sent'`, `'cme:30'`, `'timeout'`, ... */
  readonly reason?: string;
  /** The remote endpoint involved, formatted (`'10.0.0.1:1883'`). */
  readonly address?: string;
}

const BRAND = Symbol.for('iotnet.SocketError');

/**
 * The one public error of iotnet's socket layer. `code` is the IoT Socket code name
 * (`'ECONNREFUSED'`), `errno` its numeric value (-11), `detail` says where and why,
 * and `cause` keeps the original error (Node `SystemError`, AT line, TLS alert).
 *
 * `instanceof` works across duplicate installs of the package (a `Symbol.for` brand).
 */
export class SocketError extends Error {
  /** The IoT Socket code name (`'ECONNREFUSED'`); `errno` is its number. */
  readonly code: IotCode;
  /** Where and why: `op`, `backend`, `address`, `reason`. */
  readonly detail: SocketErrorDetail;

  constructor(code: IotCode, detail: SocketErrorDetail = {}, options?: { cause?: unknown; message?: string }) {
    const where = [detail.op, detail.address].filter(Boolean).join(' ');
    const why = detail.reason ? ` (${detail.reason})` : '';
    super(options?.message ?? `${code}: ${iotCodeMessage(code)}${where ? ` [${where}]` : ''}${why}`,
      options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'SocketError';
    this.code = code;
    this.detail = detail;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The numeric IoT Socket code (-1 ... -16). */
  get errno(): number {
    return iotCodeValue(this.code);
  }

  /** Brand check: `instanceof SocketError` holds for instances from any copy of this module. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** True when `e` is a `SocketError` (optionally with the given code). */
export function isSocketError(e: unknown, code?: IotCode): e is SocketError {
  return e instanceof SocketError && (code === undefined || e.code === code);
}
