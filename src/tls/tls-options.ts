/**
 * TLS settings of iotnet's secure sockets (`connectTls`, the secure IoT Socket variant,
 * the MQTT client and the cloud presets): one shape everywhere, plain data, no Node
 * types, so a preset can build it and any layer above `tls/` can pass it on.
 */

/** PEM material: the text itself, its bytes, or a file to read when connecting. */
export type PemSource = string | Uint8Array | {
  /** A PEM file to read when connecting. */
  readonly file: string;
};

/** TLS settings of iotnet's secure sockets, the MQTT client and the cloud presets: plain data, no Node types. */
export interface TlsOptions {
  /** Trusted root certificates (PEM, one or several). Default: Node's bundled Mozilla roots. */
  readonly ca?: PemSource | readonly PemSource[];
  /** Client certificate (chain) for mutual TLS, with `key`. */
  readonly cert?: PemSource;
  /** Private key of `cert` (PEM). */
  readonly key?: PemSource;
  /** Passphrase of an encrypted `key`. */
  readonly passphrase?: string;
  /**
   * Server name for SNI and for the certificate check. Default: the host name connected
   * to (an IP literal is checked against the certificate's IP entries and sends no SNI).
   */
  readonly servername?: string;
  /** ALPN protocol names in order of preference (`['x-amzn-mqtt-ca']`, `['mqtt']`). */
  readonly alpn?: readonly string[];
  /**
   * Verify the server's chain and name (default true). `false` accepts any certificate:
   * for tests against throw-away servers only.
   */
  readonly verify?: boolean;
  /** The handshake must finish within this many ms (default 10,000). */
  readonly handshakeTimeoutMs?: number;
  /** Lowest protocol version accepted (default `'TLSv1.2'`). */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
}
