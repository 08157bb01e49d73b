/**
 * `prepareTls`: loads the PEM material of `TlsOptions` (text, bytes or `{ file }`) and
 * builds the `node:tls` secure context (trusted roots, client certificate and key,
 * lowest version) once, so that it can serve many connections. `connectTls` does this
 * itself when not given a `prepared` context; reconnecting clients prepare once.
 *
 * Failures are `SocketError('EINVAL')` with reason `'tls-pem-file'` (a file could not be
 * read) or `'tls-bad-credentials'` (not PEM, key and certificate do not match, wrong or
 * missing passphrase, `cert` without `key`, bad ALPN names or timeout).
 */
import tls from 'node:tls';
import type { PemSource, TlsOptions } from './tls-options.ts';
import { readPemFile, readPemFileSync } from '../runtime/pem-file.ts';
import { tlsError, type TlsWhere } from './tls-error.ts';

/** Default handshake deadline (ms). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

const BRAND = Symbol('iotnet.PreparedTls');

/**
 * Credentials and versions ready for connections: the result of `prepareTls`. Opaque;
 * pass it as `prepared` to `connectTls`/`connectTlsDuplex` or let `createSecureBackend`
 * make one.
 */
export interface PreparedTls {
  /** The `node:tls` secure context (roots, client certificate and key, versions). */
  readonly secureContext: tls.SecureContext;
  /** Marks values made by `prepareTls`. */
  readonly [BRAND]: true;
}

const decoder = new TextDecoder('latin1');

function isFileSource(s: PemSource): s is { readonly file: string } {
  return typeof s === 'object' && s !== null && !(s instanceof Uint8Array) && typeof (s as { file?: unknown }).file === 'string';
}

function caList(options: TlsOptions): readonly PemSource[] | undefined {
  const ca = options.ca;
  if (ca === undefined) return undefined;
  return Array.isArray(ca) ? (ca as readonly PemSource[]) : [ca as PemSource];
}

function badCredentials(where: TlsWhere, what: string, cause?: unknown): never {
  throw tlsError('EINVAL', 'tls-bad-credentials', where, cause ?? new Error(what));
}

function textOf(s: PemSource, field: string, where: TlsWhere, read: (path: string) => string): string {
  if (typeof s === 'string') return s;
  if (s instanceof Uint8Array) return decoder.decode(s);
  if (isFileSource(s)) {
    try {
      return read(s.file);
    } catch (e) {
      throw tlsError('EINVAL', 'tls-pem-file', where, e);
    }
  }
  return badCredentials(where, `${field}: expected PEM text, bytes or { file }`);
}

/** Checks the per-connection settings that need no I/O. */
export function checkTlsOptions(options: TlsOptions, where: TlsWhere): void {
  if (typeof options !== 'object' || options === null) badCredentials(where, 'TLS options must be an object');
  if ((options.cert === undefined) !== (options.key === undefined)) badCredentials(where, '`cert` and `key` go together');
  const t = options.handshakeTimeoutMs;
  if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t) || t < 0)) badCredentials(where, 'bad handshakeTimeoutMs');
  if (options.alpn !== undefined) {
    if (!Array.isArray(options.alpn)) badCredentials(where, '`alpn` must be an array of protocol names');
    for (const p of options.alpn) {
      if (typeof p !== 'string' || p.length === 0 || p.length > 255) badCredentials(where, `bad ALPN protocol name ${String(p)}`);
    }
  }
  if (options.servername !== undefined && (typeof options.servername !== 'string' || options.servername === '')) {
    badCredentials(where, 'bad servername');
  }
  const v = options.minVersion;
  if (v !== undefined && v !== 'TLSv1.2' && v !== 'TLSv1.3') badCredentials(where, `bad minVersion ${String(v)}`);
}

function build(options: TlsOptions, texts: { ca: string[] | undefined; cert: string | undefined; key: string | undefined }, where: TlsWhere): PreparedTls {
  let secureContext: tls.SecureContext;
  try {
    secureContext = tls.createSecureContext({
      ...(texts.ca !== undefined ? { ca: texts.ca } : {}),
      ...(texts.cert !== undefined ? { cert: texts.cert } : {}),
      ...(texts.key !== undefined ? { key: texts.key } : {}),
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      minVersion: options.minVersion ?? 'TLSv1.2',
    });
  } catch (e) {
    return badCredentials(where, 'unusable TLS credentials', e);
  }
  return { secureContext, [BRAND]: true };
}

/** Loads the PEM material (files asynchronously) and builds the secure context. */
export async function prepareTls(options: TlsOptions, where: TlsWhere = { op: 'tls', backend: 'tls' }): Promise<PreparedTls> {
  checkTlsOptions(options, where);
  const files = new Map<string, string>();
  const sources = [...(caList(options) ?? []), options.cert, options.key].filter((s): s is PemSource => s !== undefined);
  await Promise.all(sources.filter(isFileSource).map(async (s) => {
    try {
      files.set(s.file, await readPemFile(s.file));
    } catch (e) {
      throw tlsError('EINVAL', 'tls-pem-file', where, e);
    }
  }));
  const read = (path: string): string => files.get(path) ?? '';
  return build(options, texts(options, where, read), where);
}

/** `prepareTls` with synchronous file reads (for `connectTlsDuplex`, which returns a stream at once). */
export function prepareTlsSync(options: TlsOptions, where: TlsWhere = { op: 'tls', backend: 'tls' }): PreparedTls {
  checkTlsOptions(options, where);
  return build(options, texts(options, where, readPemFileSync), where);
}

const CERT_BLOCK = /-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----/;
const KEY_BLOCK = /-----BEGIN (?:[A-Z0-9 ]+ )?PRIVATE KEY-----/;

function texts(options: TlsOptions, where: TlsWhere, read: (path: string) => string) {
  const ca = caList(options)?.map((s) => textOf(s, 'ca', where, read));
  const cert = options.cert !== undefined ? textOf(options.cert, 'cert', where, read) : undefined;
  const key = options.key !== undefined ? textOf(options.key, 'key', where, read) : undefined;
  // Node ignores text without a PEM block in `ca` (the roots would silently be empty).
  ca?.forEach((t, i) => {
    if (!CERT_BLOCK.test(t)) badCredentials(where, `ca[${i}]: no PEM certificate`);
  });
  if (cert !== undefined && !CERT_BLOCK.test(cert)) badCredentials(where, 'cert: no PEM certificate');
  if (key !== undefined && !KEY_BLOCK.test(key)) badCredentials(where, 'key: no PEM private key');
  return { ca, cert, key };
}

/** True for a `PreparedTls` made by `prepareTls`. */
export function isPreparedTls(value: unknown): value is PreparedTls {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
