/**
 * `TlsSessionCache`: remembered TLS sessions (TLS 1.2 session tickets or ids, TLS 1.3
 * tickets) so that the next connection to the same server resumes instead of running
 * the full handshake (one round trip and the certificate exchange saved, which matters
 * on a slow cellular link).
 *
 * Entries are keyed by `host:port:servername` (the host as dialled, name or IP text):
 * a resumed session skips the certificate check, so a session is only offered for the
 * very name it was verified for. The cache is bounded (least recently used entries
 * go first) and holds plain bytes, so it may be kept anywhere the caller likes.
 *
 * Use one cache per client identity (client certificate and trust settings): a
 * session resumes the identity it was made with.
 *
 * ```ts
 * const sessions = new TlsSessionCache();
 * const a = await connectTls(network, 'broker:8883', { ca, sessionCache: sessions });
 * // ... later, after a ticket arrived on `a`:
 * const b = await connectTls(network, 'broker:8883', { ca, sessionCache: sessions });
 * b.isSessionReused(); // true
 * ```
 */

/** Options of `TlsSessionCache`. */
export interface TlsSessionCacheOptions {
  /** Most sessions kept (default 64). */
  readonly maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 64;

/** A bounded LRU map from `host:port:servername` to the latest session of that server. */
export class TlsSessionCache {
  readonly #max: number;
  readonly #entries = new Map<string, Uint8Array>();

  constructor(options: TlsSessionCacheOptions = {}) {
    const max = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isInteger(max) || max < 1) throw new RangeError('TlsSessionCache: maxEntries must be an integer >= 1');
    this.#max = max;
  }

  /** The cache key of a server: `host:port:servername` (servername empty without SNI). */
  static key(host: string, port: number, servername: string | undefined): string {
    return `${host}:${port}:${servername ?? ''}`;
  }

  /** Number of sessions held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Most sessions held. */
  get maxEntries(): number {
    return this.#max;
  }

  /** The session stored under `key` (and marks it recently used), or undefined. */
  get(key: string): Uint8Array | undefined {
    const s = this.#entries.get(key);
    if (s !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, s);
    }
    return s;
  }

  /** Stores the latest session of a server, replacing the previous one. */
  set(key: string, session: Uint8Array): void {
    this.#entries.delete(key);
    this.#entries.set(key, session);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** Forgets the session of `key` (done when a resumption attempt failed). */
  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  /** Forgets every session. */
  clear(): void {
    this.#entries.clear();
  }
}
