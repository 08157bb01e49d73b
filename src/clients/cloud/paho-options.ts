/**
 * Generic MQTT from Eclipse Paho-style connect options: what a Paho (C, Java, Python)
 * configuration says, turned into `MqttClientOptions`. Names and units are Paho's
 * (seconds for intervals and timeouts); what iotnet cannot honour is refused with a
 * clear error instead of being dropped:
 *
 * - server URIs `tcp://` and `mqtt://` (plain, default port 1883), `ssl://` and
 *   `mqtts://` (TLS, default 8883); WebSocket and Unix-socket URIs are refused;
 * - `mqttVersion` 0 (Paho's default: 3.1.1 first) and 4 mean MQTT 3.1.1, 5 means MQTT 5;
 *   3 (MQTT 3.1) is not supported;
 * - `automaticReconnect` is off by default, as in Paho, with Paho C's retry intervals
 *   (1 s doubling up to 60 s) when on;
 * - `sslOptions` as in Paho C (`trustStore`, `keyStore`, `privateKey`...): strings are
 *   file names, read by the TLS layer when connecting; PEM text (starting with
 *   `-----BEGIN`) or bytes are taken as the PEM itself. The host name is always checked
 *   when the server certificate is (Paho's `verify` flag has no counterpart).
 */
import { parseIPv6 } from '../../base/ip-address.ts';
import type { PemSource, TlsOptions } from '../../tls/tls-options.ts';
import type { MqttClientOptions, MqttWill } from '../mqtt/mqtt-options.ts';
import { definedOnly } from './preset-options.ts';
import { checkHost, checkTopicPath, requireString } from './topic-level.ts';

/** A PEM reference in Paho style: a file name, PEM text, PEM bytes, or `{ file }`. */
export type PahoPem = string | Uint8Array | {
  /** A PEM file to read when connecting. */
  readonly file: string;
};

/** Paho's `MqttConnectOptions` SSL properties, as data. */
export interface PahoSslOptions {
  /** CA certificates the client trusts (Paho: the PEM file). Default: Node's bundled roots. */
  readonly trustStore?: PahoPem;
  /** The client's certificate chain, possibly followed by its private key. */
  readonly keyStore?: PahoPem;
  /** The client's private key when it is not in `keyStore`. */
  readonly privateKey?: PahoPem;
  /** Passphrase of an encrypted `privateKey`. */
  readonly privateKeyPassword?: string;
  /** Check the server's certificate (default true). `false` is for throw-away test servers only. */
  readonly enableServerCertAuth?: boolean;
  /** 0 = default, 3 = TLS 1.2 (the minimum here; 1 and 2, TLS 1.0 and 1.1, are refused). */
  readonly sslVersion?: 0 | 1 | 2 | 3;
  /** ALPN protocol names (Paho C `protos`). */
  readonly protos?: readonly string[];
  /** Not supported (a CA directory): refused. */
  readonly CApath?: string;
  /** Not supported (cipher lists): refused. */
  readonly enabledCipherSuites?: string;
}

/** Paho's will message (`MqttConnectOptions.setWill`, `MQTTClient_willOptions`). */
export interface PahoWillMessage {
  /** The will's topic. */
  readonly topic: string;
  /** The will's payload. */
  readonly payload: string | Uint8Array;
  /** The will's QoS (default 0). */
  readonly qos?: 0 | 1 | 2;
  /** Retain the will (default false). */
  readonly retained?: boolean;
}

/** Eclipse Paho's `MqttConnectOptions`, as data (`pahoOptions` turns them into `MqttClientOptions`). */
export interface PahoOptions {
  /** One server, e.g. `ssl://broker.example.com:8883`. */
  readonly serverURI?: string;
  /** Several servers, tried in order by Paho; one `MqttClientOptions` each here. */
  readonly serverURIs?: readonly string[];
  /** The client id. */
  readonly clientId?: string;
  /** Default true. */
  readonly cleanSession?: boolean;
  /** Seconds (default 60; 0 turns keep-alive off). */
  readonly keepAliveInterval?: number;
  /** User name. */
  readonly userName?: string;
  /** Password. */
  readonly password?: string | Uint8Array;
  /** The last will. */
  readonly willMessage?: PahoWillMessage;
  /** 0 (default) or 4: MQTT 3.1.1; 5: MQTT 5; 3 (MQTT 3.1) is refused. */
  readonly mqttVersion?: number;
  /** Reconnect after a lost connection (default false, as in Paho). */
  readonly automaticReconnect?: boolean;
  /** First reconnect delay in seconds (default 1). */
  readonly minRetryInterval?: number;
  /** Longest reconnect delay in seconds (default 60). */
  readonly maxRetryInterval?: number;
  /** Seconds to wait for the connection (default 30; Paho's 0, wait forever, is refused). */
  readonly connectionTimeout?: number;
  /** MQTT 5 session expiry in seconds. */
  readonly sessionExpiryInterval?: number;
  /** TLS settings for `ssl://` and `mqtts://` servers. */
  readonly sslOptions?: PahoSslOptions;
}

/** A server URI taken apart. */
export interface PahoServer {
  /** The URI scheme. */
  readonly scheme: 'tcp' | 'mqtt' | 'ssl' | 'mqtts';
  /** `ssl`/`mqtts`: TLS. */
  readonly secure: boolean;
  /** Host name or address. */
  readonly host: string;
  /** Port (default 1883, or 8883 with TLS). */
  readonly port: number;
}

/** The result of `pahoOptions`: client options per server URI. */
export interface PahoPreset {
  /** The options for the first server. */
  readonly options: MqttClientOptions;
  /** The options for every server, in the given order (`servers[0]` is `options`). */
  readonly servers: readonly MqttClientOptions[];
}

const SCHEMES: Readonly<Record<string, { readonly secure: boolean; readonly port: number }>> = {
  tcp: { secure: false, port: 1883 },
  mqtt: { secure: false, port: 1883 },
  ssl: { secure: true, port: 8883 },
  mqtts: { secure: true, port: 8883 },
};

/** Takes `scheme://host[:port][/]` apart; a TypeError or RangeError says what is wrong. */
export function parsePahoServerUri(uri: string): PahoServer {
  requireString(uri, 'server URI');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(uri);
  if (m === null) throw new TypeError(`server URI ${JSON.stringify(uri)} must look like tcp://host:1883 or ssl://host:8883`);
  const scheme = (m[1] ?? '').toLowerCase();
  const kind = SCHEMES[scheme];
  if (kind === undefined) {
    const why = scheme === 'ws' || scheme === 'wss' ? 'MQTT over WebSocket is not supported' : 'unknown scheme';
    throw new TypeError(`server URI ${JSON.stringify(uri)}: ${why}; use tcp://, mqtt://, ssl:// or mqtts://`);
  }
  let rest = m[2] ?? '';
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (/[/?#@]/.test(rest)) {
    throw new TypeError(`server URI ${JSON.stringify(uri)} must be scheme://host[:port] only (no path, query or user name; give userName/password as options)`);
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new TypeError(`server URI ${JSON.stringify(uri)}: unclosed '[' in the IPv6 address`);
    host = rest.slice(1, close);
    if (parseIPv6(host) === undefined) throw new TypeError(`server URI ${JSON.stringify(uri)}: ${JSON.stringify(host)} is not an IPv6 address`);
    const after = rest.slice(close + 1);
    if (after.length > 0 && !after.startsWith(':')) throw new TypeError(`server URI ${JSON.stringify(uri)}: unexpected text after ']'`);
    portText = after.length > 0 ? after.slice(1) : undefined;
  } else {
    const colon = rest.indexOf(':');
    if (colon >= 0 && rest.indexOf(':', colon + 1) >= 0) {
      throw new TypeError(`server URI ${JSON.stringify(uri)}: an IPv6 address must be in brackets, e.g. tcp://[::1]:1883`);
    }
    host = colon < 0 ? rest : rest.slice(0, colon);
    portText = colon < 0 ? undefined : rest.slice(colon + 1);
    checkHost(host, `host of server URI ${JSON.stringify(uri)}`);
  }
  let port = kind.port;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new RangeError(`server URI ${JSON.stringify(uri)}: port must be 1 to 65535`);
  }
  return { scheme: scheme as PahoServer['scheme'], secure: kind.secure, host, port };
}

function pem(value: PahoPem | undefined, what: string): PemSource | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') {
    if (value.length === 0) throw new TypeError(`sslOptions.${what} must not be empty`);
    return value.trimStart().startsWith('-----BEGIN') ? value : { file: value };
  }
  if (typeof value === 'object' && value !== null && typeof value.file === 'string' && value.file.length > 0) return { file: value.file };
  throw new TypeError(`sslOptions.${what} must be a file name, PEM text, PEM bytes or { file }`);
}

/** Paho C SSL options as `TlsOptions`. */
export function pahoSslToTls(ssl: PahoSslOptions): TlsOptions {
  if (ssl.CApath !== undefined) throw new TypeError('sslOptions.CApath (a CA directory) is not supported: give trustStore (a PEM file)');
  if (ssl.enabledCipherSuites !== undefined) throw new TypeError('sslOptions.enabledCipherSuites is not supported: Node chooses the cipher suites');
  if (ssl.sslVersion !== undefined && ssl.sslVersion !== 0 && ssl.sslVersion !== 3) {
    throw new RangeError(`sslOptions.sslVersion ${String(ssl.sslVersion)} (TLS 1.0/1.1) is not supported: TLS 1.2 is the minimum`);
  }
  const cert = pem(ssl.keyStore, 'keyStore');
  const key = pem(ssl.privateKey, 'privateKey') ?? cert; // the key store may hold the key too
  if (key !== undefined && cert === undefined) throw new TypeError('sslOptions.privateKey needs keyStore (the client certificate)');
  if (ssl.protos !== undefined && (!Array.isArray(ssl.protos) || ssl.protos.some((p) => typeof p !== 'string' || p.length === 0))) {
    throw new TypeError('sslOptions.protos must be a list of non-empty ALPN protocol names');
  }
  return definedOnly({
    ca: pem(ssl.trustStore, 'trustStore'),
    cert,
    key,
    passphrase: ssl.privateKeyPassword,
    verify: ssl.enableServerCertAuth,
    alpn: ssl.protos,
    minVersion: ssl.sslVersion === 3 ? ('TLSv1.2' as const) : undefined,
  });
}

function seconds(value: number | undefined, what: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be whole seconds from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function willOf(w: PahoWillMessage): MqttWill {
  const topic = checkTopicPath(w.topic, 'willMessage.topic');
  if (typeof w.payload !== 'string' && !(w.payload instanceof Uint8Array)) {
    throw new TypeError('willMessage.payload must be a string or bytes');
  }
  if (w.qos !== undefined && w.qos !== 0 && w.qos !== 1 && w.qos !== 2) {
    throw new RangeError(`willMessage.qos must be 0, 1 or 2, got ${String(w.qos)}`);
  }
  return { topic, payload: w.payload, ...definedOnly({ qos: w.qos, retain: w.retained }) };
}

/** `MqttClientOptions` from Paho-style options, one per server URI. */
export function pahoOptions(o: PahoOptions): PahoPreset {
  const uris = o.serverURIs ?? (o.serverURI === undefined ? [] : [o.serverURI]);
  if (o.serverURIs !== undefined && o.serverURI !== undefined) throw new TypeError('give serverURI or serverURIs, not both');
  if (!Array.isArray(uris) || uris.length === 0) throw new TypeError('Paho options need serverURI (or serverURIs)');
  const servers = uris.map((u) => parsePahoServerUri(u));

  const mqttVersion = o.mqttVersion ?? 0;
  if (mqttVersion === 3) throw new RangeError('mqttVersion 3 (MQTT 3.1) is not supported: use 4 (MQTT 3.1.1) or 5');
  if (mqttVersion !== 0 && mqttVersion !== 4 && mqttVersion !== 5) {
    throw new RangeError(`mqttVersion must be 0 (default), 4 (MQTT 3.1.1) or 5, got ${String(mqttVersion)}`);
  }
  const protocolVersion = mqttVersion === 5 ? 5 : 4;
  if (o.userName !== undefined && typeof o.userName !== 'string') throw new TypeError('userName must be a string');
  if (o.password !== undefined && typeof o.password !== 'string' && !(o.password instanceof Uint8Array)) {
    throw new TypeError('password must be a string or bytes');
  }
  if (o.password !== undefined && o.userName === undefined && protocolVersion === 4) {
    throw new TypeError('MQTT 3.1.1 sends a password only with a user name: give userName too (or use mqttVersion 5)');
  }
  if (o.clientId !== undefined && typeof o.clientId !== 'string') throw new TypeError('clientId must be a string');
  const keepaliveSeconds = seconds(o.keepAliveInterval, 'keepAliveInterval', 0, 65535);
  const connectionTimeout = seconds(o.connectionTimeout, 'connectionTimeout', 0, 86400);
  if (connectionTimeout === 0) throw new RangeError('connectionTimeout 0 (wait forever) is not supported: give a number of seconds');
  const sessionExpirySeconds = seconds(o.sessionExpiryInterval, 'sessionExpiryInterval', 0, 0xffffffff);
  if (sessionExpirySeconds !== undefined && protocolVersion !== 5) throw new TypeError('sessionExpiryInterval needs mqttVersion 5');

  let reconnect: MqttClientOptions['reconnect'] = false;
  if (o.automaticReconnect === true) {
    const min = seconds(o.minRetryInterval, 'minRetryInterval', 1, 86400) ?? 1;
    const max = seconds(o.maxRetryInterval, 'maxRetryInterval', 1, 86400) ?? Math.max(60, min);
    if (max < min) throw new RangeError(`maxRetryInterval (${max}) must not be below minRetryInterval (${min})`);
    reconnect = { minDelayMs: min * 1000, maxDelayMs: max * 1000 };
  } else if (o.minRetryInterval !== undefined || o.maxRetryInterval !== undefined) {
    throw new TypeError('minRetryInterval/maxRetryInterval need automaticReconnect: true');
  }

  if (o.sslOptions !== undefined && !servers.some((s) => s.secure)) {
    throw new TypeError('sslOptions were given but no server URI is ssl:// or mqtts://');
  }
  const tls = o.sslOptions === undefined ? {} : pahoSslToTls(o.sslOptions);
  const common: Omit<MqttClientOptions, 'host'> = definedOnly({
    protocolVersion,
    clientId: o.clientId,
    username: o.userName,
    password: o.password,
    keepaliveSeconds,
    clean: o.cleanSession ?? true,
    sessionExpirySeconds,
    will: o.willMessage === undefined ? undefined : willOf(o.willMessage),
    reconnect,
    connectTimeoutMs: connectionTimeout === undefined ? undefined : connectionTimeout * 1000,
  });
  const all = servers.map((s): MqttClientOptions => ({ ...common, host: s.host, port: s.port, ...(s.secure ? { tls } : {}) }));
  return { options: all[0] as MqttClientOptions, servers: all };
}
