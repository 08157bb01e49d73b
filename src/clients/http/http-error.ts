/**
 * HTTP failures as `SocketError`s. Failures of the connection underneath (TCP, TLS) are
 * `SocketError`s already and pass unchanged; the errors `node:http` makes itself are
 * mapped, the original kept as `cause`:
 *
 * | `detail.reason`        | `code`         | When (original)                                                                 |
 * |------------------------|----------------|---------------------------------------------------------------------------------|
 * | `http-hang-up`         | `ECONNRESET`   | the server closed the connection before a response (`ECONNRESET` "socket hang up", `EPIPE`) |
 * | `http-aborted`         | `ECONNRESET`   | the connection ended in the middle of the response (`ECONNRESET` "aborted", `ERR_STREAM_PREMATURE_CLOSE`) |
 * | `http-protocol`        | `ECONNABORTED` | the server's bytes are not HTTP/1.x (`HPE_*` parser errors)                      |
 * | `http-body-too-large`  | `ENOMEM`       | `httpRequest`: the response body exceeds `maxResponseBytes`                     |
 * | `http-bad-request`     | `EINVAL`       | `httpRequest`: bad URL, method, header or option (thrown by `node:http`, or ours) |
 * | `timeout`              | `ETIMEDOUT`    | `httpRequest`: `timeoutMs` expired                                              |
 * | `http-error`           | `ERROR`        | `httpRequest`: anything else                                                    |
 *
 * On requests made through the iotnet agents, `'error'` events carry these (the first
 * three rows; other errors, such as an `AbortError` of the request's `signal` or an
 * error given to `req.destroy(error)`, pass unchanged). `httpRequest` rejects with a
 * `SocketError` for every failure except an abort, which rejects with the signal's
 * reason.
 */
import { SocketError } from '../../base/socket-error.ts';
import { socketError, type OpWhere } from '../../socket/idiomatic-support.ts';

/** The `detail.reason` values of HTTP failures (see the module table). */
export type HttpFailureReason =
  | 'http-hang-up'
  | 'http-aborted'
  | 'http-protocol'
  | 'http-body-too-large'
  | 'http-bad-request'
  | 'timeout'
  | 'http-error';

function errorCode(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A `node:http` connection or protocol error as a `SocketError` (first three rows of the
 * module table); anything else is returned unchanged.
 */
export function toHttpSocketError(e: unknown, where: OpWhere): unknown {
  if (e instanceof SocketError) return e;
  const code = errorCode(e);
  if (code === undefined) return e;
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    const aborted = e instanceof Error && e.message === 'aborted';
    return socketError('ECONNRESET', where, aborted ? 'http-aborted' : 'http-hang-up', e);
  }
  if (code === 'ERR_STREAM_PREMATURE_CLOSE') return socketError('ECONNRESET', where, 'http-aborted', e);
  if (code.startsWith('HPE_')) return socketError('ECONNABORTED', where, 'http-protocol', e);
  return e;
}

/** Any failure of an HTTP exchange as a `SocketError` (unknown ones: `ERROR`, `http-error`). */
export function toHttpFailure(e: unknown, where: OpWhere): SocketError {
  const mapped = toHttpSocketError(e, where);
  if (mapped instanceof SocketError) return mapped;
  const code = errorCode(e);
  if (code !== undefined && (code.startsWith('ERR_INVALID_') || code.startsWith('ERR_HTTP_INVALID') || code === 'ERR_UNESCAPED_CHARACTERS')) {
    return socketError('EINVAL', where, 'http-bad-request', e);
  }
  return socketError('ERROR', where, 'http-error', e);
}
