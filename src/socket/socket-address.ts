import { formatIp, ipEquals, isUnspecified, parseIPv4, parseIPv6, parseIp } from '../base/ip-address.ts';
import { SocketError } from '../base/socket-error.ts';

const PORT_TEXT = /^(?:0|[1-9][0-9]{0,4})$/;

function isPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535;
}

function invalid(op: string, reason: string, address?: string): SocketError {
  return new SocketError('EINVAL', address === undefined ? { op, reason } : { op, reason, address });
}

/**
 * An IP literal and a port: `192.0.2.1:80`, `[2001:db8::1]:443`. Immutable.
 *
 * Text forms accepted by `parse`: `a.b.c.d:port`, `[ipv6]:port`, and with a
 * `defaultPort` also a bare `a.b.c.d`, bare `ipv6` or `[ipv6]`. An IPv6 address with
 * a port needs brackets: `::1:80` is the bare address `::1:80`, never port 80.
 * Literals are strict (see `base/ip-address.ts`: no zone ids, no `1.2.3`, no leading
 * zeros); ports are decimal 0..65535 without leading zeros or sign. Host names are
 * not resolved here.
 *
 * An IPv4-mapped IPv6 address (`[::ffff:1.2.3.4]:80`) stays family 6 and does not
 * equal `1.2.3.4:80`.
 */
export class SocketAddress {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Canonical text of the address (RFC 5952 for IPv6), without brackets or port. */
  readonly address: string;
  /** Port, 0-65535. */
  readonly port: number;
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array, port: number) {
    this.#bytes = bytes.slice();
    this.family = bytes.length === 4 ? 4 : 6;
    this.address = formatIp(this.#bytes);
    this.port = port;
  }

  /** The address bytes (4 or 16, network order); a fresh copy on every read. */
  get bytes(): Uint8Array {
    return this.#bytes.slice();
  }

  /** True for `0.0.0.0` and `::` (any port). */
  get isUnspecified(): boolean {
    return isUnspecified(this.#bytes);
  }

  /**
   * Parses `1.2.3.4:80` or `[::1]:80` (or a bare literal when `defaultPort` is given).
   * Throws `SocketError('EINVAL', { op: 'parse', reason })` on bad input, with `reason`
   * one of `'bad-address'`, `'bad-port'`, `'missing-port'`.
   */
  static parse(text: string, defaultPort?: number): SocketAddress {
    const result = SocketAddress.#parse(text, defaultPort);
    if (typeof result === 'string') {
      throw invalid('parse', result, typeof text === 'string' ? text : undefined);
    }
    return result;
  }

  /** Like `parse`, but returns `undefined` instead of throwing. */
  static tryParse(text: string, defaultPort?: number): SocketAddress | undefined {
    const result = SocketAddress.#parse(text, defaultPort);
    return typeof result === 'string' ? undefined : result;
  }

  /** An address from a literal host (IPv4 or IPv6, no brackets) and a port; throws EINVAL otherwise. */
  static from(host: string, port: number): SocketAddress {
    const bytes = parseIp(host);
    if (bytes === undefined) throw invalid('from', 'bad-address', typeof host === 'string' ? host : undefined);
    if (!isPort(port)) throw invalid('from', 'bad-port');
    return new SocketAddress(bytes, port);
  }

  /** An address from 4 or 16 bytes (copied) and a port; throws EINVAL otherwise. */
  static fromBytes(bytes: Uint8Array, port: number): SocketAddress {
    if (!(bytes instanceof Uint8Array) || (bytes.length !== 4 && bytes.length !== 16)) {
      throw invalid('fromBytes', 'bad-address');
    }
    if (!isPort(port)) throw invalid('fromBytes', 'bad-port');
    return new SocketAddress(bytes, port);
  }

  /** Returns the address, or the failure reason. */
  static #parse(text: string, defaultPort: number | undefined): SocketAddress | string {
    if (typeof text !== 'string') return 'bad-address';
    if (defaultPort !== undefined && !isPort(defaultPort)) return 'bad-port';
    let host: string;
    let portText: string | undefined;
    let bytes: Uint8Array | undefined;
    if (text.startsWith('[')) {
      const close = text.indexOf(']');
      if (close < 0) return 'bad-address';
      host = text.slice(1, close);
      const rest = text.slice(close + 1);
      if (rest !== '') {
        if (!rest.startsWith(':')) return 'bad-address';
        portText = rest.slice(1);
      }
      bytes = parseIPv6(host);
    } else {
      const colon = text.indexOf(':');
      if (colon >= 0 && text.indexOf(':', colon + 1) < 0) {
        // Exactly one colon: IPv4 host and port.
        host = text.slice(0, colon);
        portText = text.slice(colon + 1);
        bytes = parseIPv4(host);
      } else {
        // No colon (bare IPv4) or several (bare IPv6).
        host = text;
        bytes = parseIp(host);
      }
    }
    if (bytes === undefined) return 'bad-address';
    let port: number;
    if (portText !== undefined) {
      if (!PORT_TEXT.test(portText)) return 'bad-port';
      port = Number(portText);
      if (port > 65535) return 'bad-port';
    } else if (defaultPort !== undefined) {
      port = defaultPort;
    } else {
      return 'missing-port';
    }
    return new SocketAddress(bytes, port);
  }

  /** `1.2.3.4:80` or `[::1]:80`. */
  toString(): string {
    return this.family === 6 ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }

  /** Same family, address bytes and port. */
  equals(other: SocketAddress): boolean {
    return other instanceof SocketAddress && this.port === other.port && ipEquals(this.#bytes, other.#bytes);
  }
}
