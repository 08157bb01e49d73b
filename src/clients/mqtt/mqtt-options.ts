/**
 * Options of iotnet's MQTT client (`iotnet/mqtt`): plain data that the cloud presets
 * build from a user's credentials and that the client turns into mqtt.js options over
 * an iotnet socket (plain or TLS) on the `Network` the caller chose.
 */
import type { TlsOptions } from '../../tls/tls-options.ts';
import type { Scheduler } from '../../base/time.ts';

/**
 * A password, or a function giving one. The function is called before every connect
 * and reconnect, so tokens that expire (Azure SAS, JWT) are renewed in time.
 */
export type MqttPassword = string | Uint8Array | (() => string | Uint8Array | Promise<string | Uint8Array>);

/** The last will: published by the broker when the client disappears without DISCONNECT. */
export interface MqttWill {
  /** The will's topic. */
  readonly topic: string;
  /** The will's payload (strings as UTF-8). */
  readonly payload: string | Uint8Array;
  /** The will's QoS (default 0). */
  readonly qos?: 0 | 1 | 2;
  /** Retain the will (default false). */
  readonly retain?: boolean;
}

/**
 * Options of `MqttClient.connect`: the broker, TLS, protocol version, identity, session, keep-alive and reconnect
 * settings.
 */
export interface MqttClientOptions {
  /** Broker host name or IP literal. */
  readonly host: string;
  /** Broker port (default 1883, or 8883 with `tls`). */
  readonly port?: number;
  /** TLS on top of the TCP socket: `true` for the defaults, or the settings. Default: none. */
  readonly tls?: TlsOptions | boolean;
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5.0. */
  readonly protocolVersion?: 4 | 5;
  /** Client identifier (default: a random `iotnet_...`). */
  readonly clientId?: string;
  /** User name. */
  readonly username?: string;
  /** Password: a value, or a function asked before every connect (for expiring tokens). */
  readonly password?: MqttPassword;
  /** Keep-alive interval in seconds (default 60; 0 turns it off). */
  readonly keepaliveSeconds?: number;
  /** Clean session (3.1.1) / clean start (5); default true. */
  readonly clean?: boolean;
  /** MQTT 5 session expiry interval, seconds (a persistent session needs one). */
  readonly sessionExpirySeconds?: number;
  /** The last will. */
  readonly will?: MqttWill;
  /**
   * Reconnect after a lost connection with exponential back-off between `minDelayMs`
   * (default 1000) and `maxDelayMs` (default 30,000), over a fresh socket on the same
   * `Network`; `false` never reconnects.
   */
  readonly reconnect?: {
    /** First delay, ms (default 1000). */
    readonly minDelayMs?: number;
    /** Largest delay, ms (default 30,000). */
    readonly maxDelayMs?: number;
  } | false;
  /**
   * Timers of the reconnect back-off (default: mqtt.js's own, in real time). Give the scheduler
   * the stack runs on (a `VirtualScheduler` in simulations) so retries happen on the same clock.
   */
  readonly scheduler?: Scheduler;
  /**
   * CONNACK must arrive within this many ms of the connection attempt starting (the TCP
   * connect and TLS handshake included; default 30,000); else the attempt fails with an
   * `MqttError` `'timeout'` and the next one follows.
   */
  readonly connectTimeoutMs?: number;
  /**
   * The largest packet accepted from the broker, in bytes, fixed header included
   * (default 16 MiB). A packet announced larger is refused at its header: the client
   * drops the connection with an `MqttError` `'protocol'` (reason code 0x95) rather than
   * buffer it. MQTT 5 advertises it in CONNECT (Maximum Packet Size), so the broker
   * drops larger messages instead of sending them.
   */
  readonly maxPacketBytes?: number;
  /** Keep publishes made while offline and send them after reconnecting (default true). */
  readonly queueWhileOffline?: boolean;
}
