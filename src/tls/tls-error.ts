/**
 * TLS failures as `SocketError`s: one `detail.reason` per kind of failure, the IoT
 * Socket `code` chosen by who refused (we, the peer, or the clock), the original Node /
 * OpenSSL error kept as `cause` (its `code`, e.g. `CERT_HAS_EXPIRED`, is also in the
 * message).
 *
 * | `detail.reason`              | `code`          | When (original `cause.code`)                                                   |
 * |------------------------------|-----------------|--------------------------------------------------------------------------------|
 * | `tls-untrusted`              | `ECONNABORTED`  | chain does not end at a trusted root: `DEPTH_ZERO_SELF_SIGNED_CERT`, `SELF_SIGNED_CERT_IN_CHAIN`, `UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `CERT_UNTRUSTED` |
 * | `tls-expired`                | `ECONNABORTED`  | `CERT_HAS_EXPIRED`, `CERT_NOT_YET_VALID` (a certificate of the chain is outside its validity) |
 * | `tls-hostname`               | `ECONNABORTED`  | `ERR_TLS_CERT_ALTNAME_INVALID`: the name (or IP) is not in the certificate     |
 * | `tls-cert-invalid`           | `ECONNABORTED`  | other verification failures (`CERT_SIGNATURE_FAILURE`, `INVALID_CA`, `INVALID_PURPOSE`, `CERT_REVOKED`, ...) |
 * | `tls-client-cert-rejected`   | `ECONNREFUSED`  | the server's alert about our certificate: `certificate_required` (116), `bad_certificate` (42), `unknown_ca` (48), `certificate_unknown` (46), `unsupported_certificate`, `certificate_revoked`, `certificate_expired`, `access_denied` (`ERR_SSL_*_ALERT_*`) |
 * | `tls-version`                | `ECONNREFUSED` / `ECONNABORTED` | no common protocol version: the server's `protocol_version` alert / the server's version refused here (`ERR_SSL_UNSUPPORTED_PROTOCOL`) |
 * | `tls-alert`                  | `ECONNREFUSED`  | any other alert from the server (`handshake_failure` (40), `no_application_protocol` (120), ...) |
 * | `tls-protocol`               | `ECONNABORTED`  | the server's bytes are not TLS or break the protocol (`ERR_SSL_WRONG_VERSION_NUMBER`, `ERR_SSL_PACKET_LENGTH_TOO_LONG`, other `ERR_SSL_*`) |
 * | `tls-handshake-timeout`      | `ETIMEDOUT`     | the handshake did not finish within `handshakeTimeoutMs`                         |
 * | `tls-peer-closed`            | `ECONNRESET`    | the server closed the connection before the handshake finished                   |
 * | `tls-bad-credentials`        | `EINVAL`        | `ca`/`cert`/`key`/`passphrase` unusable (not PEM, key does not match, wrong passphrase) |
 * | `tls-pem-file`               | `EINVAL`        | a `{ file }` PEM source could not be read (cause: the file system error)         |
 * | `tls-error`                  | `ERROR`         | anything else                                                                  |
 *
 * Failures of the TCP connection underneath keep their own `SocketError` (for instance
 * `ECONNREFUSED` without a `tls-` reason, `ECONNRESET` after the handshake).
 *
 * Under TLS 1.3 the server checks a client certificate after the client finished its
 * part of the handshake: a refusal then arrives as an error of the first read (or
 * write) rather than of the connect, with the same reason. A server that just closes
 * the connection instead of sending an alert (Node's `tls` server does that) is seen
 * as an orderly end of the stream.
 */
import { iotCodeMessage, type IotCode } from '../base/iot-constants.ts';
import { SocketError } from '../base/socket-error.ts';

/** The `detail.reason` values of TLS failures (see the module table). */
export type TlsFailureReason =
  | 'tls-untrusted'
  | 'tls-expired'
  | 'tls-hostname'
  | 'tls-cert-invalid'
  | 'tls-client-cert-rejected'
  | 'tls-version'
  | 'tls-alert'
  | 'tls-protocol'
  | 'tls-handshake-timeout'
  | 'tls-peer-closed'
  | 'tls-bad-credentials'
  | 'tls-pem-file'
  | 'tls-error';

/** Where a TLS error happened, for `SocketError.detail`. */
export interface TlsWhere {
  readonly op: string;
  readonly backend: string;
  readonly address?: string | undefined;
}

const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_UNTRUSTED',
]);

const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** OpenSSL's X509_V_ERR names as Node reports them (without the prefix). */
const OTHER_VERIFY = new Set([
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/** Alerts a server sends about the certificate it got from us (or the lack of one). */
const CLIENT_CERT_ALERTS = new Set([
  'CERTIFICATE_REQUIRED',
  'BAD_CERTIFICATE',
  'UNSUPPORTED_CERTIFICATE',
  'CERTIFICATE_REVOKED',
  'CERTIFICATE_EXPIRED',
  'CERTIFICATE_UNKNOWN',
  'UNKNOWN_CA',
  'ACCESS_DENIED',
]);

const ALERT = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z0-9_]+)$/;

/** Node's error for a peer that closed before the handshake finished. */
const EARLY_CLOSE = 'Client network socket disconnected before secure TLS connection was established';

function errorCode(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The reason and code for a Node / OpenSSL TLS error. */
export function classifyTlsError(e: unknown): {
  /** The `detail.reason` (see the module table). */
  reason: TlsFailureReason;
  /** The IoT Socket code. */
  code: IotCode;
} {
  const code = errorCode(e);
  if (code !== undefined) {
    if (UNTRUSTED.has(code)) return { reason: 'tls-untrusted', code: 'ECONNABORTED' };
    if (EXPIRED.has(code)) return { reason: 'tls-expired', code: 'ECONNABORTED' };
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { reason: 'tls-hostname', code: 'ECONNABORTED' };
    if (OTHER_VERIFY.has(code)) return { reason: 'tls-cert-invalid', code: 'ECONNABORTED' };
    const alert = ALERT.exec(code)?.[1];
    if (alert !== undefined) {
      if (CLIENT_CERT_ALERTS.has(alert)) return { reason: 'tls-client-cert-rejected', code: 'ECONNREFUSED' };
      if (alert === 'PROTOCOL_VERSION') return { reason: 'tls-version', code: 'ECONNREFUSED' };
      return { reason: 'tls-alert', code: 'ECONNREFUSED' };
    }
    if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' || code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE') {
      return { reason: 'tls-version', code: 'ECONNABORTED' };
    }
    if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return { reason: 'tls-handshake-timeout', code: 'ETIMEDOUT' };
    if (code.startsWith('ERR_SSL_') || code === 'ERR_TLS_DH_PARAM_SIZE') return { reason: 'tls-protocol', code: 'ECONNABORTED' };
    if (code === 'ECONNRESET' && errorMessage(e) === EARLY_CLOSE) return { reason: 'tls-peer-closed', code: 'ECONNRESET' };
    if (code === 'ECONNRESET' || code === 'EPIPE') return { reason: 'tls-peer-closed', code: 'ECONNRESET' };
  }
  return { reason: 'tls-error', code: 'ERROR' };
}

/** A `SocketError` with a TLS reason; the message carries the original error's code and text. */
export function tlsError(code: IotCode, reason: TlsFailureReason, where: TlsWhere, cause?: unknown): SocketError {
  const detail: { op: string; backend: string; reason: string; address?: string } = { op: where.op, backend: where.backend, reason };
  if (where.address !== undefined) detail.address = where.address;
  const place = [where.op, where.address].filter(Boolean).join(' ');
  const original = cause === undefined ? '' : `: ${[errorCode(cause), errorMessage(cause).split('\n')[0]].filter(Boolean).join(' ')}`;
  const message = `${code}: ${iotCodeMessage(code)} [${place}] (${reason}${original})`;
  return new SocketError(code, detail, cause !== undefined ? { cause, message } : { message });
}

/**
 * Any error of a TLS connection as a `SocketError`: `SocketError`s (the TCP connection
 * underneath, our own timeouts) pass unchanged; Node / OpenSSL errors are classified
 * by the module table and kept as `cause`.
 */
export function toTlsSocketError(e: unknown, where: TlsWhere): SocketError {
  if (e instanceof SocketError) return e;
  const { reason, code } = classifyTlsError(e);
  return tlsError(code, reason, where, e);
}
