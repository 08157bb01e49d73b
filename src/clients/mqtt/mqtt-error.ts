/**
 * `MqttError`: what the broker or the MQTT protocol refused, as opposed to transport
 * failures, which stay `SocketError`s. `reason` is a short machine-readable kind,
 * `reasonCode` the CONNACK return code (3.1.1) or MQTT 5 reason code when there is one
 * (for faults of the broker's bytes, the MQTT 5 code that names them: 0x81 Malformed
 * Packet, 0x82 Protocol Error, 0x95 Packet too large), and `cause` the error mqtt.js
 * raised.
 */
import { isSocketError } from '../../base/socket-error.ts';

/** Kinds of MQTT failure. */
export type MqttErrorReason =
  | 'refused' // CONNACK / SUBACK / PUBACK with a failure code (not authorized, bad credentials, ...)
  | 'protocol' // a malformed, unexpected, oversized or truncated packet from the broker (the client drops the connection)
  | 'timeout' // no CONNACK in time, or no answer within the keep-alive
  | 'closed' // the connection went away before the operation could finish
  | 'password' // the password function threw
  | 'other';

const BRAND = Symbol.for('iotnet.MqttError');

/**
 * What the broker or the MQTT protocol refused (transport failures stay `SocketError`s): `reason` a short kind,
 * `reasonCode` the CONNACK return code (3.1.1) or MQTT 5 reason code when there is one, `cause` the error mqtt.js
 * raised.
 */
export class MqttError extends Error {
  /** The kind of failure. */
  readonly reason: MqttErrorReason;
  /** The CONNACK return code (3.1.1) or MQTT 5 reason code, when there is one. */
  readonly reasonCode: number | undefined;

  constructor(message: string, reason: MqttErrorReason, opts: { reasonCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'MqttError';
    this.reason = reason;
    this.reasonCode = opts.reasonCode;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Brand check: `instanceof MqttError` holds for instances from any copy of this module. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /**
   * A `SocketError` or `MqttError` as is; anything mqtt.js raised, classified:
   * refusals (CONNACK, SUBACK, PUBACK codes) keep their code; mqtt-packet's parser
   * errors (bytes that are no valid packet) become `'protocol'` with reason code 0x81
   * (Malformed Packet) and a message saying the broker sent them; mqtt.js's own
   * protocol checks (duplicate CONNACK, stray acks, topic aliases, packet size) are
   * `'protocol'` too; the CONNACK and keep-alive timeouts are `'timeout'`.
   */
  static from(e: unknown): Error {
    if (isSocketError(e) || e instanceof MqttError) return e as Error;
    const err = e instanceof Error ? e : new Error(String(e));
    const rawCode = (err as { code?: unknown }).code;
    const code = typeof rawCode === 'number' ? rawCode : undefined;
    const withCode = (reasonCode: number | undefined): { reasonCode?: number; cause: Error } =>
      (reasonCode !== undefined ? { reasonCode, cause: err } : { cause: err });
    const msg = err.message;
    if (/connack timeout/i.test(msg)) return new MqttError('connack timeout: the broker sent no CONNACK within connectTimeoutMs', 'timeout', { cause: err });
    if (/keepalive timeout/i.test(msg)) return new MqttError('keepalive timeout: nothing from the broker (no PINGRESP) within 1.5 keep-alive periods', 'timeout', { cause: err });
    if (/^Connection refused/i.test(msg) || /not authori[sz]ed|bad user name or password/i.test(msg)) {
      return new MqttError(code !== undefined ? `${msg} (code ${code})` : msg, 'refused', withCode(code));
    }
    if (/Connection closed|client disconnecting|client is disconnecting/i.test(msg)) return new MqttError(msg, 'closed', { cause: err });
    if (PARSER_ERROR.test(msg) && code === undefined) return new MqttError(`malformed packet from the broker: ${msg}`, 'protocol', { reasonCode: 0x81, cause: err });
    if (MQTTJS_PROTOCOL_ERROR.test(msg)) return new MqttError(msg, 'protocol', withCode(code ?? 0x82));
    if (code !== undefined) return new MqttError(msg, 'refused', { reasonCode: code, cause: err });
    return new MqttError(msg, 'other', { cause: err });
  }
}

/** The messages of mqtt-packet's parser (9.x) for bytes that are no valid packet. */
const PARSER_ERROR = new RegExp('^(?:' + [
  'Invalid (?:header flag bits|variable byte integer|connack flags|\\w+ reason code|suback|unsuback|subscribe|retain handling|protocol)',
  'Malformed ',
  'Cannot parse ',
  'Packet too short',
  'Packet must not have both QoS bits',
  'Not supported',
  'Unknown property',
  'Connect flag bit',
  'Will (?:Retain|QoS)',
].join('|') + ')');

/** mqtt.js's own checks of what the broker sent (it closes the connection for most of them). */
const MQTTJS_PROTOCOL_ERROR = /^Protocol error|^unrecognized packet type|^exceeding packets size|^topicAliasMaximum from broker|^Received .*Topic Alias/;
