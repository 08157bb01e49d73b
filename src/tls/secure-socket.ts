/**
 * `SecureSocket`: a TLS connection of the idiomatic API (from `connectTls`), with the
 * shape of `TcpSocket` where it makes sense plus what TLS adds.
 *
 * - `read()` resolves with the next chunk of plaintext, or `null` at the orderly end of
 *   the server's stream; `for await (const chunk of socket)` does the same.
 * - `write()` resolves once TLS took the bytes and handed the records to the TCP socket
 *   (back-pressure); `end()` sends `close_notify` and FIN; `close()` is graceful (pending
 *   writes, `close_notify`, FIN, then the TCP socket closes); `destroy()` aborts (RST).
 * - `authorized`, `alpnProtocol`, `protocol`, `cipher`, `peerCertificate` (a summary),
 *   `session` (the latest session for resumption) and `isSessionReused()` describe the
 *   connection.
 * - `duplex` is the `node:tls` `TLSSocket` itself, for `node:http`, mqtt.js or
 *   `pipeline()`. Use either it or `read()`/iteration, not both (the first `read()`
 *   switches the stream to paused reading); `write()`/`end()` and `duplex.write()` may be
 *   mixed. Its `'error'` events carry `SocketError`s as well.
 *
 * Failures are `SocketError`s (see `tls-error.ts` for the TLS reasons); a `timeoutMs`
 * expiry is `ETIMEDOUT` (reason `'timeout'`), an abort rejects with the signal's reason,
 * calls on a closed socket reject with `ESOCK` (reason `'closed'`).
 */
import type tls from 'node:tls';
import type { SocketError } from '../base/socket-error.ts';
import type { Scheduler } from '../base/time.ts';
import { SerialQueue, checkTimeout, destroyedError, raceDeadline, socketError, toBytes } from '../socket/idiomatic-support.ts';
import { deadlineAfter } from '../socket/readiness.ts';
import type { SocketAddress } from '../socket/socket-address.ts';
import type { ReadOptions, TcpSocket, WriteOptions } from '../socket/tcp-socket.ts';
import type { TlsClient } from './tls-client.ts';
import { toTlsSocketError, type TlsWhere } from './tls-error.ts';

/** Largest chunk one `read` returns. */
const MAX_READ = 65536;
/** How long `close()` lets pending TLS records drain into TCP before it aborts (ms). */
const CLOSE_DRAIN_MS = 10_000;

/** The parts of the server's certificate most callers look at. */
export interface PeerCertificateSummary {
  /** Subject fields (`{ CN: 'broker.example.com', O: ... }`). */
  readonly subject: Readonly<Record<string, string>>;
  /** Issuer fields. */
  readonly issuer: Readonly<Record<string, string>>;
  /** Subject alternative names as OpenSSL prints them (`'DNS:localhost, IP Address:127.0.0.1'`). */
  readonly subjectAltName: string | undefined;
  /** Validity start and end (`'Jan  1 00:00:00 2030 GMT'`). */
  readonly validFrom: string;
  /** Validity end. */
  readonly validTo: string;
  /** SHA-256 fingerprint, `AA:BB:...`. */
  readonly fingerprint256: string;
  /** Serial number in hex. */
  readonly serialNumber: string;
}

type State = 'open' | 'closing' | 'closed';

function names(record: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof record !== 'object' || record === null) return out;
  for (const [k, v] of Object.entries(record as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map(String).join(', ');
  }
  return out;
}

/** A TLS connection over a `TcpSocket`. Obtain one from `connectTls`. See the module comment. */
export class SecureSocket implements AsyncIterable<Uint8Array> {
  /** The local TCP endpoint. */
  readonly localAddress: SocketAddress;
  /** The server's TCP endpoint. */
  readonly remoteAddress: SocketAddress;
  /** The SNI name sent (undefined when connecting to an IP literal without `servername`). */
  readonly servername: string | undefined;

  readonly #client: TlsClient;
  readonly #tls: tls.TLSSocket;
  readonly #tcp: TcpSocket;
  readonly #scheduler: Scheduler;
  readonly #where: TlsWhere;
  readonly #reads = new SerialQueue();
  readonly #wakers = new Set<() => void>();
  #state: State = 'open';
  #leftover: Uint8Array | undefined;
  #eof = false;
  #writeEnded = false;
  #readingPaused = false;
  #destroyError: SocketError | undefined;
  #closePromise: Promise<void> | undefined;

  /** @internal Made by `connectTls` once the handshake succeeded. */
  constructor(client: TlsClient, tcp: TcpSocket, scheduler: Scheduler, where: TlsWhere) {
    this.#client = client;
    this.#tls = client.socket;
    this.#tcp = tcp;
    this.#scheduler = scheduler;
    this.#where = where;
    this.localAddress = tcp.localAddress;
    this.remoteAddress = tcp.remoteAddress;
    this.servername = client.servername;
    const wake = (): void => this.#wake();
    this.#tls.on('end', () => {
      this.#eof = true;
      wake();
    });
    this.#tls.on('error', wake);
    this.#tls.on('close', wake);
  }

  /** True: the chain and name were verified (false only with `verify: false` and a failing check). */
  get authorized(): boolean {
    return this.#tls.authorized;
  }

  /** Why the certificate check failed when `verify: false` let the connection through. */
  get authorizationError(): string | undefined {
    const e = this.#tls.authorizationError as unknown;
    return e === undefined || e === null ? undefined : String(e);
  }

  /** The ALPN protocol the server chose, or undefined. */
  get alpnProtocol(): string | undefined {
    const p = this.#tls.alpnProtocol;
    return typeof p === 'string' ? p : undefined;
  }

  /** The protocol version (`'TLSv1.3'`, `'TLSv1.2'`). */
  get protocol(): string | undefined {
    return this.#tls.getProtocol() ?? undefined;
  }

  /** The cipher suite name (`'TLS_AES_256_GCM_SHA384'`). */
  get cipher(): string | undefined {
    return this.#tls.getCipher()?.standardName;
  }

  /** The server's certificate, summarised; undefined if none (a resumed session may still have it). */
  get peerCertificate(): PeerCertificateSummary | undefined {
    const c = this.#tls.getPeerCertificate(false) as Partial<tls.PeerCertificate> | null;
    if (c === null || c.fingerprint256 === undefined) return undefined;
    return {
      subject: names(c.subject),
      issuer: names(c.issuer),
      subjectAltName: c.subjectaltname,
      validFrom: c.valid_from ?? '',
      validTo: c.valid_to ?? '',
      fingerprint256: c.fingerprint256,
      serialNumber: c.serialNumber ?? '',
    };
  }

  /**
   * The latest session the server gave, for `connectTls({ session })` (a
   * `TlsSessionCache` stores it by itself). Under TLS 1.3 tickets arrive after the
   * handshake, with the first data from the server; undefined until then.
   */
  get session(): Uint8Array | undefined {
    return this.#client.state.session;
  }

  /** True when this connection resumed an earlier session (abbreviated handshake). */
  isSessionReused(): boolean {
    return this.#tls.isSessionReused();
  }

  /** The `node:tls` socket: a `Duplex` of plaintext for `node:http`, mqtt.js, `pipeline()`. */
  get duplex(): tls.TLSSocket {
    return this.#tls;
  }

  /** True once `close()` or `destroy()` was called. */
  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** True once `read()` returned `null`. */
  get readableEnded(): boolean {
    return this.#eof && this.#leftover === undefined && this.#tls.readableLength === 0;
  }

  /** True once `end()` was called. */
  get writableEnded(): boolean {
    return this.#writeEnded;
  }

  #at(op: string): TlsWhere {
    return { ...this.#where, op };
  }

  #closedError(op: string): SocketError {
    return this.#destroyError ?? socketError('ESOCK', this.#at(op), 'closed');
  }

  #failure(op: string): SocketError | undefined {
    const e = this.#client.state.error;
    if (e === undefined) return undefined;
    // Errors we caused by closing are not the peer's doing.
    return this.#state === 'open' ? e : this.#closedError(op);
  }

  #wake(): void {
    const all = [...this.#wakers];
    this.#wakers.clear();
    for (const w of all) w();
  }

  #changed(deadline: number | undefined, signal: AbortSignal | undefined, op: string): Promise<void> {
    const p = new Promise<void>((resolve) => this.#wakers.add(resolve));
    return raceDeadline(p, this.#scheduler, deadline, signal, this.#at(op));
  }

  /**
   * The next chunk of plaintext (at most `maxBytes`), or `null` once the server closed
   * its direction and every byte was read.
   */
  async read(opts: ReadOptions = {}): Promise<Uint8Array | null> {
    const where = this.#at('read');
    checkTimeout(opts.timeoutMs, where);
    opts.signal?.throwIfAborted();
    if (this.#state !== 'open') throw this.#closedError('read');
    const maxBytes = opts.maxBytes ?? MAX_READ;
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw socketError('EINVAL', where, 'bad-max-bytes');
    const max = Math.min(MAX_READ, maxBytes);
    if (!this.#readingPaused) {
      // Paused reading from now on: data waits in the TLSSocket (its buffer bounded by
      // the high-water mark, then TCP's window closes) until read() takes it.
      this.#readingPaused = true;
      this.#tls.on('readable', () => this.#wake());
    }
    const deadline = deadlineAfter(this.#scheduler, opts.timeoutMs);
    return this.#reads.run(async () => {
      for (;;) {
        if (this.#state === 'closed') throw this.#closedError('read');
        const chunk = this.#leftover ?? (this.#tls.read() as Uint8Array | null);
        this.#leftover = undefined;
        if (chunk !== null && chunk.length > 0) {
          if (chunk.length <= max) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
          this.#leftover = chunk.subarray(max);
          return new Uint8Array(chunk.buffer, chunk.byteOffset, max);
        }
        if (this.#eof || this.#tls.readableEnded) {
          this.#eof = true;
          return null;
        }
        const failure = this.#failure('read');
        if (failure !== undefined) throw failure;
        if (this.#tls.destroyed) throw this.#closedError('read');
        await this.#changed(deadline, opts.signal, 'read');
      }
    });
  }

  /** Encrypts and sends `data` (strings as UTF-8); resolves once TCP has the records. */
  async write(data: Uint8Array | string, opts: WriteOptions = {}): Promise<void> {
    const where = this.#at('write');
    const bytes = toBytes(data, where);
    checkTimeout(opts.timeoutMs, where);
    opts.signal?.throwIfAborted();
    if (this.#state !== 'open') throw this.#closedError('write');
    if (this.#writeEnded) throw socketError('ENOTCONN', where, 'write-after-end');
    const failure = this.#failure('write');
    if (failure !== undefined) throw failure;
    if (bytes.length === 0) return;
    const done = new Promise<void>((resolve, reject) => {
      this.#tls.write(bytes, (e) => {
        if (e === null || e === undefined) resolve();
        else reject(this.#failure('write') ?? (this.#tls.destroyed ? this.#closedError('write') : toTlsSocketError(e, where)));
      });
    });
    done.catch(() => undefined); // a write abandoned by its timeout settles unobserved
    return raceDeadline(done, this.#scheduler, deadlineAfter(this.#scheduler, opts.timeoutMs), opts.signal, where);
  }

  /** Sends `close_notify` and FIN after pending writes; reading goes on. Harmless twice. */
  async end(): Promise<void> {
    if (this.#writeEnded) return;
    if (this.#state !== 'open') throw this.#closedError('end');
    this.#writeEnded = true;
    await new Promise<void>((resolve, reject) => {
      this.#tls.end((e?: Error | null) => {
        if (e === null || e === undefined) resolve();
        else reject(this.#failure('end') ?? toTlsSocketError(e, this.#at('end')));
      });
    });
  }

  /**
   * Graceful close: pending writes, `close_notify` and FIN go out, then the TCP socket
   * closes (RST if unread data remains, as TCP does). Pending reads reject with `ESOCK`.
   * If the records cannot drain within 10 s the connection is aborted.
   */
  close(): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    this.#closePromise = (async () => {
      if (this.#state === 'open') {
        this.#state = 'closing';
        if (!this.#tls.writableEnded && this.#client.state.error === undefined && !this.#tls.destroyed) {
          this.#writeEnded = true;
          const ended = new Promise<void>((resolve) => {
            this.#tls.end(() => resolve());
          });
          let cancel: (() => void) | undefined;
          const drained = await Promise.race([
            ended.then(() => true),
            new Promise<boolean>((resolve) => {
              cancel = this.#scheduler.setTimer(CLOSE_DRAIN_MS, () => resolve(false));
            }),
          ]);
          cancel?.();
          if (!drained) this.#tcp.destroy();
        }
      }
      this.#state = 'closed';
      this.#wake();
      await this.#tcp.close();
      this.#tls.destroy();
    })();
    return this.#closePromise;
  }

  /**
   * Aborts the connection (RST). Pending and later calls reject with `error` when it is
   * a `SocketError`, else with `SocketError('ECONNABORTED', reason 'destroyed')`.
   */
  destroy(error?: Error): void {
    if (this.#state === 'closed') return;
    this.#destroyError = destroyedError(this.#at('destroy'), error);
    this.#state = 'closed';
    this.#tls.destroy();
    this.#tcp.destroy(this.#destroyError);
    this.#wake();
  }

  /** Chunks until the orderly end; ends quietly too when the socket is closed locally. */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await this.read();
      } catch (e) {
        if (this.#state !== 'open' && this.#destroyError === undefined) return;
        throw e;
      }
      if (chunk === null) return;
      yield chunk;
    }
  }
}
