/**
 * What every cloud preset shares: the result shape (`options` for the MQTT client and
 * the service's `topics`), and the caller's own MQTT and TLS settings merged under the
 * ones the service dictates (endpoint, identity, protocol).
 */
import type { MqttClientOptions } from '../mqtt/mqtt-options.ts';
import type { TlsOptions } from '../../tls/tls-options.ts';
import type { WallClock } from './wall-clock.ts';

/** A preset's result: the client options and the topic helpers of the service. */
export interface CloudPreset<Topics> {
  /** The options for `MqttClient.connect`. */
  readonly options: MqttClientOptions;
  /** The service's topic helpers. */
  readonly topics: Topics;
}

/** MQTT settings left to the caller; host, port, TLS, identity and protocol come from the preset. */
export type PresetMqttOptions = Pick<
  MqttClientOptions,
  'keepaliveSeconds' | 'clean' | 'sessionExpirySeconds' | 'will' | 'reconnect' | 'connectTimeoutMs' | 'queueWhileOffline'
>;

/**
 * TLS settings left to the caller: whom to trust and how to check (for a private CA, a
 * gateway or a test broker); the client identity and ALPN come from the preset.
 */
export type PresetTlsOptions = Pick<TlsOptions, 'ca' | 'servername' | 'verify' | 'handshakeTimeoutMs' | 'minVersion'>;

/** Options every cloud preset takes: MQTT client settings, TLS trust settings and the wall clock for tokens. */
export interface PresetCommonOptions {
  /** Keep-alive, session, will, reconnect and queueing settings of the MQTT client. */
  readonly mqtt?: PresetMqttOptions;
  /** Trust settings of the TLS connection. Default: Node's bundled roots, full verification. */
  readonly tls?: PresetTlsOptions;
  /** Wall clock in ms since the epoch for token times (default: the system clock). */
  readonly now?: WallClock;
}

/** `T` with every field optional and never `undefined` (what `definedOnly` returns). */
export type DefinedOnly<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/** `obj` without the keys whose value is `undefined` (so optional fields stay absent). */
export function definedOnly<T extends object>(obj: T): DefinedOnly<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out as DefinedOnly<T>;
}

/** The preset's TLS settings with the caller's trust settings added. */
export function mergeTls(preset: TlsOptions, extra: PresetTlsOptions | undefined): TlsOptions {
  if (extra === undefined) return preset;
  const { ca, servername, verify, handshakeTimeoutMs, minVersion } = extra;
  return { ...preset, ...definedOnly({ ca, servername, verify, handshakeTimeoutMs, minVersion }) };
}

/**
 * The preset's client options with the caller's MQTT settings added: the preset's fixed
 * fields (endpoint, identity, protocol) win over the caller's, the caller's win over the
 * service's recommended `defaults`.
 */
export function mergeMqtt(
  fixed: MqttClientOptions,
  extra: PresetMqttOptions | undefined,
  defaults: PresetMqttOptions = {},
): MqttClientOptions {
  const { keepaliveSeconds, clean, sessionExpirySeconds, will, reconnect, connectTimeoutMs, queueWhileOffline } = extra ?? {};
  const picked = definedOnly({ keepaliveSeconds, clean, sessionExpirySeconds, will, reconnect, connectTimeoutMs, queueWhileOffline });
  return { ...defaults, ...picked, ...fixed };
}
