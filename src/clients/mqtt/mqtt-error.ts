/**
 * `MqttError`: what the broker or the MQTT protocol refused, as opposed to transport
 * failures, which stay `SocketError`s. `reason` is a short machine-readable kind,
 * `reasonCode` the CONNACK return code (3.1.1) or MQTT 5 reason code when there is one,
 * and `cause` the error mqtt.js raised.
 */
import { isSocketError } from '../../base/socket-error.ts';

/** Kinds of MQTT failure. */
export type MqttErrorReason =
  | 'refused' // CONNACK / SUBACK / PUBACK with a failure code (not authorized, bad credentials, ...)
  | 'protocol' // a malformed or unexpected packet from the broker
  | 'timeout' // no CONNACK in time
  | 'closed' // the connection went away before the operation could finish
  | 'password' // the password function threw
  | 'other';

const BRAND = Symbol.for('iotnet.MqttError');

export class MqttError extends Error {
  readonly reason: MqttErrorReason;
  readonly reasonCode: number | undefined;

  constructor(message: string, reason: MqttErrorReason, opts: { reasonCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'MqttError';
    this.reason = reason;
    this.reasonCode = opts.reasonCode;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** A `SocketError` or `MqttError` as is; anything mqtt.js raised, classified. */
  static from(e: unknown): Error {
    if (isSocketError(e) || e instanceof MqttError) return e as Error;
    const err = e instanceof Error ? e : new Error(String(e));
    const code = (err as { code?: unknown }).code;
    const msg = err.message;
    if (/connack timeout/i.test(msg)) return new MqttError(msg, 'timeout', { cause: err });
    if (/^Connection refused/i.test(msg) || /not authori[sz]ed|bad user name or password/i.test(msg)) {
      return new MqttError(msg, 'refused', { ...(typeof code === 'number' ? { reasonCode: code } : {}), cause: err });
    }
    if (/Connection closed|client disconnecting|client is disconnecting/i.test(msg)) return new MqttError(msg, 'closed', { cause: err });
    if (/Invalid|Malformed|Unknown command|protocol/i.test(msg)) return new MqttError(msg, 'protocol', { ...(typeof code === 'number' ? { reasonCode: code } : {}), cause: err });
    if (typeof code === 'number') return new MqttError(msg, 'refused', { reasonCode: code, cause: err });
    return new MqttError(msg, 'other', { cause: err });
  }
}
