/**
 * JWT-authenticated broker preset, in the style of Google Cloud IoT Core's MQTT bridge.
 * Google retired Cloud IoT Core on 16 August 2023; this preset keeps its pattern, which
 * other brokers and migration targets accept:
 *
 * - TLS (default port 8883), MQTT 3.1.1;
 * - the password is a JWT (RS256 or ES256) signed with the device's private key, with
 *   claims `iat`, `exp` and `aud` (the project id, or a configured audience); it is
 *   renewed before it expires through the password function, so every reconnect gets a
 *   valid token; the user name is ignored by such brokers (`'unused'`);
 * - client id `projects/{project}/locations/{region}/registries/{registry}/devices/{device}`
 *   when those parts are given, otherwise the given `clientId`;
 * - topics `/devices/{device}/events[/{subfolder}]` (telemetry), `/devices/{device}/state`,
 *   `/devices/{device}/config` (subscribe, QoS 1) and `/devices/{device}/commands/#`.
 *
 * Cloud IoT Core limited a token's lifetime to 24 hours, which is the limit here too.
 */
import type { MqttClientOptions } from '../mqtt/mqtt-options.ts';
import { type JwtAlgorithm, type JwtPrivateKey, loadJwtKey, signJwt } from './jwt.ts';
import { type CloudPreset, type PresetCommonOptions, definedOnly, mergeMqtt, mergeTls } from './preset-options.ts';
import { type IssuedToken, lifetimeMs, renewingToken } from './renewing-token.ts';
import { checkHost, checkPort, checkTopicLevel, checkTopicPath, requireString } from './topic-level.ts';
import { systemWallClock } from './wall-clock.ts';

/**
 * Options of `jwtBroker`: a broker that takes a JWT signed with the device's key as the MQTT password (Google Cloud
 * IoT Core style).
 */
export interface JwtBrokerOptions extends PresetCommonOptions {
  /** The broker (Cloud IoT Core used `mqtt.googleapis.com`). */
  readonly host: string;
  /** Default 8883, or 1883 when `secure` is `false`. */
  readonly port?: number;
  /** `false` for a plain connection (test brokers only). Default: TLS. */
  readonly secure?: boolean;
  /** The device's private key (PEM text or bytes, or a KeyObject); its public key is registered with the broker. */
  readonly privateKey: JwtPrivateKey;
  /** Passphrase of an encrypted PEM key. */
  readonly passphrase?: string;
  /** `RS256` or `ES256`, matching the key. */
  readonly algorithm: JwtAlgorithm;
  /** The device id (used in the topics, and in the Cloud IoT client id). */
  readonly deviceId: string;
  /** Project id: the default audience, and part of the Cloud IoT client id. */
  readonly projectId?: string;
  /** Cloud region and registry id: with `projectId`, they make the Cloud IoT client id. */
  readonly region?: string;
  /** Cloud registry id (with `projectId` and `region`). */
  readonly registryId?: string;
  /** The `aud` claim (default: `projectId`). */
  readonly audience?: string;
  /** MQTT client id when the Cloud IoT parts are not given. */
  readonly clientId?: string;
  /** User name sent (default `'unused'`; such brokers ignore it). */
  readonly username?: string;
  /** Token lifetime in seconds (default 3600, at most 86400). */
  readonly tokenLifetimeSeconds?: number;
  /** A new token is made when fewer than this many seconds remain (default 300). */
  readonly renewBeforeSeconds?: number;
  /** Extra claims added to every token (not `iat`, `exp` or `aud`). */
  readonly extraClaims?: Readonly<Record<string, unknown>>;
}

/** Topic helpers of a JWT broker device: events, state, configuration and commands. */
export interface JwtBrokerTopics {
  /** `/devices/{device}/events`, or `/devices/{device}/events/{subfolder}`. */
  events(subfolder?: string): string;
  /** `/devices/{device}/state`. */
  readonly state: string;
  /** `/devices/{device}/config` (subscribe with QoS 1 to get the latest configuration). */
  readonly config: string;
  /** `/devices/{device}/commands/#`. */
  readonly commandsFilter: string;
  /** A command topic taken apart (`subfolder` absent for `/devices/{device}/commands`); `undefined` for others. */
  parseCommand(topic: string): {
    /** The subfolder after `commands/`, if any. */
    readonly subfolder?: string;
  } | undefined;
}

export interface JwtBrokerPreset extends CloudPreset<JwtBrokerTopics> {
  /** The token the password gives now, with its expiry. */
  readonly token: () => IssuedToken;
}

const MAX_LIFETIME_SECONDS = 24 * 3600;
const RESERVED_CLAIMS = ['iat', 'exp', 'aud'];

/** The topic helpers for one device. */
export function jwtBrokerTopics(deviceId: string): JwtBrokerTopics {
  const device = checkTopicLevel(deviceId, 'deviceId');
  const commands = `/devices/${device}/commands`;
  return {
    events: (subfolder) => `/devices/${device}/events${subfolder === undefined ? '' : `/${checkTopicPath(subfolder, 'subfolder')}`}`,
    state: `/devices/${device}/state`,
    config: `/devices/${device}/config`,
    commandsFilter: `${commands}/#`,
    parseCommand(topic) {
      if (topic === commands) return {};
      if (!topic.startsWith(`${commands}/`)) return undefined;
      const subfolder = topic.slice(commands.length + 1);
      if (subfolder.split('/').some((level) => level.length === 0)) return undefined;
      return { subfolder };
    },
  };
}

function clientIdOf(o: JwtBrokerOptions, deviceId: string): string {
  const parts = [o.projectId, o.region, o.registryId];
  const given = parts.filter((p) => p !== undefined).length;
  if (o.region !== undefined || o.registryId !== undefined) {
    if (given !== 3) throw new TypeError('the Cloud IoT client id needs projectId, region and registryId together');
    if (o.clientId !== undefined) throw new TypeError('give clientId or projectId/region/registryId, not both');
    const project = checkTopicLevel(o.projectId, 'projectId');
    const region = checkTopicLevel(o.region, 'region');
    const registry = checkTopicLevel(o.registryId, 'registryId');
    return `projects/${project}/locations/${region}/registries/${registry}/devices/${deviceId}`;
  }
  if (o.clientId === undefined) {
    throw new TypeError('give clientId, or projectId, region and registryId for the Cloud IoT client id');
  }
  return requireString(o.clientId, 'clientId');
}

/** Client options and topic helpers for a device on a JWT-authenticated broker. */
export function jwtBroker(o: JwtBrokerOptions): JwtBrokerPreset {
  const host = checkHost(o.host, 'host');
  const deviceId = checkTopicLevel(o.deviceId, 'deviceId');
  const clientId = clientIdOf(o, deviceId);
  const audience = o.audience ?? o.projectId;
  if (audience === undefined) throw new TypeError('the JWT needs an audience: give audience or projectId');
  requireString(audience, 'audience');
  const key = loadJwtKey(o.privateKey, o.algorithm, o.passphrase);
  const { lifetimeMs: life, renewBeforeMs } = lifetimeMs(o.tokenLifetimeSeconds ?? 3600, o.renewBeforeSeconds ?? 300, MAX_LIFETIME_SECONDS);
  const extra = o.extraClaims ?? {};
  const reserved = Object.keys(extra).find((c) => RESERVED_CLAIMS.includes(c));
  if (reserved !== undefined) throw new TypeError(`extraClaims must not set ${reserved}: the preset sets iat, exp and aud`);
  const secure = o.secure ?? true;
  const port = o.port === undefined ? (secure ? 8883 : 1883) : checkPort(o.port, 'port');
  const renewing = renewingToken(
    (nowMs) => {
      const iat = Math.floor(nowMs / 1000);
      const exp = iat + life / 1000;
      return { token: signJwt({ ...extra, iat, exp, aud: audience }, key, o.algorithm), expiresAtMs: exp * 1000 };
    },
    renewBeforeMs,
    o.now ?? systemWallClock,
  );
  const fixed: MqttClientOptions = {
    host,
    port,
    protocolVersion: 4,
    clientId,
    username: o.username === undefined ? 'unused' : requireString(o.username, 'username'),
    password: renewing.password,
    ...definedOnly({ tls: secure ? mergeTls({}, o.tls) : undefined }),
  };
  if (!secure && o.tls !== undefined) throw new TypeError('tls settings were given but secure is false');
  return { options: mergeMqtt(fixed, o.mqtt), topics: jwtBrokerTopics(deviceId), token: renewing.current };
}
