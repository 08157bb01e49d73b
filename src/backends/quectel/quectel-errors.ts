/**
 * Quectel TCP/IP error codes (reference `at-modules.md` §3: 550–574, reported in `+QIOPEN: <id>,<err>`,
 * `+QIURC: "dnsgip",<err>,…` and, with `AT+CMEE=1`, as `+CME ERROR: <err>`) mapped onto IoT Socket
 * codes in one table. Every mapped error carries `detail.reason` `qi:<code>`.
 */
import type { IotCode } from '../../base/iot-constants.ts';
import { SocketError, type SocketErrorDetail } from '../../base/socket-error.ts';
import type { AtError } from '../at/at-error.ts';
import { atSocketError } from '../at/at-socket-error.ts';

/** One Quectel error: its IoT code and the vendor's short text. */
export interface QuectelErrorInfo {
  /** The IoT Socket code it maps to. */
  readonly code: IotCode;
  /** The vendor's short text. */
  readonly text: string;
}

/** The table: every TCP/IP error code the application notes list. */
export const QUECTEL_ERRORS: Readonly<Record<number, QuectelErrorInfo>> = {
  550: { code: 'ERROR', text: 'unknown error' },
  551: { code: 'ERROR', text: 'operation blocked' },
  552: { code: 'EINVAL', text: 'invalid parameters' },
  553: { code: 'ENOMEM', text: 'memory not enough' },
  554: { code: 'ENOMEM', text: 'create socket failed' },
  555: { code: 'ENOTSUP', text: 'operation not supported' },
  556: { code: 'EADDRINUSE', text: 'socket bind failed' },
  557: { code: 'ERROR', text: 'socket listen failed' },
  558: { code: 'ECONNABORTED', text: 'socket write failed' },
  559: { code: 'ECONNABORTED', text: 'socket read failed' },
  560: { code: 'ERROR', text: 'socket accept failed' },
  561: { code: 'ECONNABORTED', text: 'open PDP context failed' },
  562: { code: 'ERROR', text: 'close PDP context failed' },
  563: { code: 'ENOMEM', text: 'socket identity has been used' },
  564: { code: 'ERROR', text: 'DNS busy' },
  565: { code: 'EHOSTNOTFOUND', text: 'DNS parse failed' },
  566: { code: 'ECONNREFUSED', text: 'socket connect failed' },
  567: { code: 'ECONNABORTED', text: 'socket has been closed' },
  568: { code: 'ERROR', text: 'operation busy' },
  569: { code: 'ETIMEDOUT', text: 'operation timeout' },
  570: { code: 'ECONNABORTED', text: 'PDP context broken down' },
  571: { code: 'ECONNABORTED', text: 'cancel send' },
  572: { code: 'ERROR', text: 'operation not allowed' },
  573: { code: 'ECONNABORTED', text: 'APN not configured' },
  574: { code: 'EADDRINUSE', text: 'port busy' },
};

/** The `SocketError` for a Quectel error code (unknown codes: `ERROR`), reason `qi:<code>`. */
export function quectelError(err: number, detail: SocketErrorDetail, code?: IotCode): SocketError {
  const info = QUECTEL_ERRORS[err];
  return new SocketError(code ?? info?.code ?? 'ERROR', { ...detail, reason: `qi:${err}` }, {
    cause: new Error(`Quectel error ${err}: ${info?.text ?? 'unlisted'}`),
  });
}

/** `+CME ERROR: 550…574` (numeric CMEE) as its Quectel meaning; everything else the AT default. */
export function quectelRefine(error: AtError): {
  /** The IoT Socket code. */
  code: IotCode;
  /** `qi:<n>`. */
  reason: string;
} | undefined {
  if (error.reason !== 'cme' || error.code === undefined) return undefined;
  const info = QUECTEL_ERRORS[error.code];
  return info !== undefined ? { code: info.code, reason: `qi:${error.code}` } : undefined;
}

/** Any failure of a Quectel AT operation as a `SocketError` (Quectel codes refined). */
export function quectelSocketError(error: unknown, detail: SocketErrorDetail): SocketError {
  return atSocketError(error, detail, quectelRefine);
}
