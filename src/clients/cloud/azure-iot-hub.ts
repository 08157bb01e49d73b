/**
 * Azure IoT Hub preset (MQTT 3.1.1 on 8883 over TLS; IoT Hub accepts no plain MQTT and
 * its MQTT 5 support was a preview, now deprecated). From a device or module connection
 * string, or from its parts:
 *
 * - client id `{deviceId}` (`{deviceId}/{moduleId}` for a module);
 * - user name `{hostName}/{deviceId}/?api-version=2021-04-12` (module:
 *   `{hostName}/{deviceId}/{moduleId}/?api-version=...`), plus `&model-id=` for IoT
 *   Plug and Play;
 * - password: a SAS token for `{hostName}/devices/{deviceId}[/modules/{moduleId}]`,
 *   made from the key, renewed before it expires (a password function: the MQTT client
 *   asks before every connect), or a ready token, or none with an X.509 certificate.
 *
 * Topics: device-to-cloud messages with a property bag, cloud-to-device messages (module
 * inputs for modules), direct methods and the device twin, with parsers for what the hub
 * sends. The hub's certificate chains to DigiCert Global Root G2, among Node's roots.
 */
import type { PemSource } from '../../tls/tls-options.ts';
import type { MqttPassword } from '../mqtt/mqtt-options.ts';
import { type AzureConnectionString, checkSharedAccessKey, parseAzureConnectionString } from './azure-connection-string.ts';
import { type AzurePropertyBag, encodeAzureComponent, encodeAzurePropertyBag, parseAzurePropertyBag } from './azure-property-bag.ts';
import { azureResourceUri, azureSasToken, parseAzureSasToken } from './azure-sas-token.ts';
import { type CloudPreset, type PresetCommonOptions, definedOnly, mergeMqtt, mergeTls } from './preset-options.ts';
import { type IssuedToken, lifetimeMs, renewingToken } from './renewing-token.ts';
import { checkHost, checkPort, checkTopicLevel, requireString } from './topic-level.ts';
import { systemWallClock } from './wall-clock.ts';

/** The api-version IoT Hub's MQTT documentation gives for the user name. */
export const AZURE_IOT_HUB_API_VERSION = '2021-04-12';

/**
 * Options of `azureIotHub`: a connection string, or the hub host name, device (and module) id with a SAS key, a SAS
 * token or an X.509 certificate.
 */
export interface AzureIotHubOptions extends PresetCommonOptions {
  /** `HostName=...;DeviceId=...;SharedAccessKey=...` (or `ModuleId=`, `SharedAccessSignature=`, `x509=true`...). */
  readonly connectionString?: string;
  /** Instead of a connection string: `{hub}.azure-devices.net`. */
  readonly hostName?: string;
  /** Device id (with `hostName`, instead of a connection string). */
  readonly deviceId?: string;
  /** Module id, for a module identity. */
  readonly moduleId?: string;
  /** The device's (or module's) base64 key, or a hub policy key with `sharedAccessKeyName`. */
  readonly sharedAccessKey?: string;
  /** Policy name of `sharedAccessKey` (a key with DeviceConnect permission); sets `skn`. */
  readonly sharedAccessKeyName?: string;
  /** A ready SAS token, used as is (no renewal). */
  readonly sharedAccessSignature?: string;
  /** Device certificate authentication instead of a SAS token. */
  readonly x509?: {
    /** The device certificate (chain). */
    readonly cert: PemSource;
    /** Its private key. */
    readonly key: PemSource;
    /** Passphrase of an encrypted key. */
    readonly passphrase?: string;
  };
  /** Connect to this host (an IoT Edge gateway, a proxy, a test broker) instead of `hostName`. */
  readonly gatewayHostName?: string;
  /** Default 8883. */
  readonly port?: number;
  /** api-version in the user name (default `2021-04-12`). */
  readonly apiVersion?: string;
  /** IoT Plug and Play model id (`dtmi:...`), sent as `&model-id=` in the user name. */
  readonly modelId?: string;
  /** Lifetime of the SAS tokens made from the key, in seconds (default 3600, at most a year). */
  readonly tokenLifetimeSeconds?: number;
  /** A new token is made when fewer than this many seconds of the current one remain (default 600). */
  readonly renewBeforeSeconds?: number;
}

/** A direct method call taken apart: `$iothub/methods/POST/{name}/?$rid={rid}`. */
export interface AzureMethodRequest {
  /** The method name. */
  readonly name: string;
  /** The request id, for `methodResponse`. */
  readonly rid: string;
}

/** A twin response taken apart: `$iothub/twin/res/{status}/?$rid={rid}[&$version={version}]`. */
export interface AzureTwinResponse {
  /** HTTP-like status of the twin operation (200, 204, ...). */
  readonly status: number;
  /** The request id the response belongs to. */
  readonly rid: string;
  /** The reported properties' version after a PATCH (absent after GET). */
  readonly version?: number;
}

/** A cloud-to-device message (or, for a module, a message on one of its inputs). */
export interface AzureInboundMessage {
  /** The module input the message arrived on (modules only). */
  readonly input?: string;
  /** The message's property bag (decoded); `null` for a key without a value. */
  readonly properties: Readonly<Record<string, string | null>>;
}

/**
 * Topic helpers of an Azure IoT Hub device or module: telemetry, cloud-to-device messages, direct methods and the
 * device twin.
 */
export interface AzureIotHubTopics {
  /** `devices/{id}/messages/events/` (module: `devices/{id}/modules/{m}/messages/events/`) plus the property bag. */
  telemetry(properties?: AzurePropertyBag): string;
  /** Filter for cloud-to-device messages: `devices/{id}/messages/devicebound/#` (module: `.../modules/{m}/inputs/#`). */
  readonly cloudToDeviceFilter: string;
  /** Takes a cloud-to-device (or module input) topic apart; `undefined` for other topics. */
  parseCloudToDevice(topic: string): AzureInboundMessage | undefined;
  /** `$iothub/methods/POST/#`. */
  readonly methodsFilter: string;
  /** Takes a direct method topic apart; `undefined` for other topics. */
  parseMethodRequest(topic: string): AzureMethodRequest | undefined;
  /** `$iothub/methods/res/{status}/?$rid={rid}`: where the answer to a method call goes. */
  methodResponse(status: number, rid: string): string;
  /** `$iothub/twin/res/#`: responses to twin GET and PATCH. */
  readonly twinResponseFilter: string;
  /** `$iothub/twin/GET/?$rid={rid}`: ask for the whole twin (empty payload). */
  twinGet(rid: string): string;
  /** `$iothub/twin/PATCH/properties/reported/?$rid={rid}`: update reported properties (JSON payload). */
  twinPatchReported(rid: string): string;
  /** Takes a twin response topic apart; `undefined` for other topics. */
  parseTwinResponse(topic: string): AzureTwinResponse | undefined;
  /** `$iothub/twin/PATCH/properties/desired/#`: desired property updates. */
  readonly twinDesiredFilter: string;
  /** The version in `$iothub/twin/PATCH/properties/desired/?$version={version}`; `undefined` for other topics. */
  parseTwinDesired(topic: string): {
    /** The desired properties' version. */
    readonly version: number;
  } | undefined;
}

/**
 * How the device authenticates: a SAS token made (and renewed) from a key, a ready SAS token, or an X.509 client
 * certificate.
 */
export type AzureAuth = 'sas-key' | 'sas-token' | 'x509';

export interface AzureIotHubPreset extends CloudPreset<AzureIotHubTopics> {
  /** `{hub}.azure-devices.net`. */
  readonly hostName: string;
  /** The device id. */
  readonly deviceId: string;
  /** The module id, for a module identity. */
  readonly moduleId?: string;
  /** How the device authenticates. */
  readonly auth: AzureAuth;
  /** The token the password gives now, with its expiry (SAS authentication only). */
  readonly token?: () => IssuedToken;
}

const MAX_TOKEN_LIFETIME_SECONDS = 365 * 24 * 3600;
/** Device and module ids: up to 128 of `a-zA-Z0-9-.%_*?!(),:=@$'` (IoT Hub identity registry). */
const IDENTITY = /^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$/;

function identityOf(o: AzureIotHubOptions): AzureConnectionString {
  const parts = [o.hostName, o.deviceId, o.moduleId, o.sharedAccessKey, o.sharedAccessKeyName, o.sharedAccessSignature];
  if (o.connectionString !== undefined) {
    if (parts.some((p) => p !== undefined)) {
      throw new TypeError('give either connectionString or its parts (hostName, deviceId, sharedAccessKey...), not both');
    }
    return parseAzureConnectionString(o.connectionString);
  }
  const hostName = checkHost(o.hostName, 'hostName');
  const deviceId = requireString(o.deviceId, 'deviceId');
  const credentials = [o.sharedAccessKey, o.sharedAccessSignature, o.x509].filter((c) => c !== undefined).length;
  if (credentials !== 1) {
    throw new TypeError('Azure IoT Hub needs exactly one credential: sharedAccessKey, sharedAccessSignature or x509');
  }
  if (o.sharedAccessKey !== undefined) checkSharedAccessKey(o.sharedAccessKey);
  if (o.sharedAccessKeyName !== undefined && o.sharedAccessKey === undefined) {
    throw new TypeError('sharedAccessKeyName needs sharedAccessKey');
  }
  if (o.sharedAccessSignature !== undefined && parseAzureSasToken(o.sharedAccessSignature) === undefined) {
    throw new TypeError('sharedAccessSignature must be a token "SharedAccessSignature sr=...&sig=...&se=..."');
  }
  return {
    hostName,
    deviceId,
    fields: new Map(),
    ...definedOnly({
      moduleId: o.moduleId,
      sharedAccessKey: o.sharedAccessKey,
      sharedAccessKeyName: o.sharedAccessKeyName,
      sharedAccessSignature: o.sharedAccessSignature,
      x509: o.x509 !== undefined ? true : undefined,
    }),
  };
}

function checkIdentity(value: string, what: string): string {
  if (!IDENTITY.test(value)) {
    throw new TypeError(`${what} must be 1 to 128 characters of letters, digits and -.%_*?!(),:=@$', got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Splits `a/?x=1&y=2` style query parts of IoT Hub topics; `undefined` when malformed. */
function queryOf(text: string): Record<string, string | null> | undefined {
  if (!text.startsWith('?')) return undefined;
  return parseAzurePropertyBag(text);
}

function nonNegativeInt(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/** The topic helpers for one device (or module) identity. */
export function azureIotHubTopics(deviceId: string, moduleId?: string): AzureIotHubTopics {
  const base = moduleId === undefined ? `devices/${deviceId}` : `devices/${deviceId}/modules/${moduleId}`;
  const inbound = moduleId === undefined ? `${base}/messages/devicebound/` : `${base}/inputs/`;
  const methodsPrefix = '$iothub/methods/POST/';
  const twinResPrefix = '$iothub/twin/res/';
  const desiredPrefix = '$iothub/twin/PATCH/properties/desired/';
  const rid = (r: string): string => encodeAzureComponent(requireString(r, 'rid'), 'rid');
  return {
    telemetry: (properties) => `${base}/messages/events/${properties === undefined ? '' : encodeAzurePropertyBag(properties)}`,
    cloudToDeviceFilter: `${inbound}#`,
    parseCloudToDevice(topic) {
      if (!topic.startsWith(inbound)) return undefined;
      let rest = topic.slice(inbound.length);
      let input: string | undefined;
      if (moduleId !== undefined) {
        const slash = rest.indexOf('/');
        input = slash < 0 ? rest : rest.slice(0, slash);
        if (input.length === 0) return undefined;
        rest = slash < 0 ? '' : rest.slice(slash + 1);
      }
      const properties = parseAzurePropertyBag(rest);
      if (properties === undefined) return undefined;
      return input === undefined ? { properties } : { input, properties };
    },
    methodsFilter: `${methodsPrefix}#`,
    parseMethodRequest(topic) {
      if (!topic.startsWith(methodsPrefix)) return undefined;
      const rest = topic.slice(methodsPrefix.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) return undefined;
      const query = queryOf(rest.slice(slash + 1));
      const r = query?.['$rid'];
      if (r === undefined || r === null || r.length === 0) return undefined;
      return { name: rest.slice(0, slash), rid: r };
    },
    methodResponse(status, r) {
      if (!Number.isSafeInteger(status) || status < 0) throw new RangeError(`status must be a non-negative integer, got ${status}`);
      return `$iothub/methods/res/${status}/?$rid=${rid(r)}`;
    },
    twinResponseFilter: `${twinResPrefix}#`,
    twinGet: (r) => `$iothub/twin/GET/?$rid=${rid(r)}`,
    twinPatchReported: (r) => `$iothub/twin/PATCH/properties/reported/?$rid=${rid(r)}`,
    parseTwinResponse(topic) {
      if (!topic.startsWith(twinResPrefix)) return undefined;
      const rest = topic.slice(twinResPrefix.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) return undefined;
      const status = nonNegativeInt(rest.slice(0, slash));
      const query = queryOf(rest.slice(slash + 1));
      const r = query?.['$rid'];
      if (status === undefined || query === undefined || r === undefined || r === null || r.length === 0) return undefined;
      if (query['$version'] === undefined) return { status, rid: r };
      const version = nonNegativeInt(query['$version']);
      return version === undefined ? undefined : { status, rid: r, version };
    },
    twinDesiredFilter: `${desiredPrefix}#`,
    parseTwinDesired(topic) {
      if (!topic.startsWith(desiredPrefix)) return undefined;
      const version = nonNegativeInt(queryOf(topic.slice(desiredPrefix.length))?.['$version']);
      return version === undefined ? undefined : { version };
    },
  };
}

/** Client options and topic helpers for a device or module on Azure IoT Hub. */
export function azureIotHub(o: AzureIotHubOptions): AzureIotHubPreset {
  const id = identityOf(o);
  const deviceId = checkIdentity(id.deviceId, 'deviceId');
  const moduleId = id.moduleId === undefined ? undefined : checkIdentity(id.moduleId, 'moduleId');
  const hostName = id.hostName;
  const gateway = o.gatewayHostName ?? id.gatewayHostName;
  const host = gateway === undefined ? hostName : checkHost(gateway, 'gatewayHostName');
  const port = o.port === undefined ? 8883 : checkPort(o.port, 'port');
  const apiVersion = o.apiVersion === undefined ? AZURE_IOT_HUB_API_VERSION : checkTopicLevel(o.apiVersion, 'apiVersion');
  const now = o.now ?? systemWallClock;

  let username = `${hostName}/${deviceId}/${moduleId === undefined ? '' : `${moduleId}/`}?api-version=${encodeAzureComponent(apiVersion, 'apiVersion')}`;
  if (o.modelId !== undefined) username += `&model-id=${encodeAzureComponent(requireString(o.modelId, 'modelId'), 'modelId')}`;

  if (o.x509 !== undefined && id.x509 !== true) {
    throw new TypeError('x509 was given but the connection string carries a SAS credential: use one or the other');
  }
  let auth: AzureAuth;
  let password: MqttPassword | undefined;
  let token: (() => IssuedToken) | undefined;
  if (id.sharedAccessKey !== undefined) {
    auth = 'sas-key';
    const key = checkSharedAccessKey(id.sharedAccessKey);
    const keyName = id.sharedAccessKeyName;
    const resourceUri = azureResourceUri(hostName, deviceId, moduleId);
    const { lifetimeMs: life, renewBeforeMs } = lifetimeMs(o.tokenLifetimeSeconds ?? 3600, o.renewBeforeSeconds ?? 600, MAX_TOKEN_LIFETIME_SECONDS);
    const renewing = renewingToken(
      (nowMs) => {
        const expiry = Math.floor(nowMs / 1000) + life / 1000;
        return { token: azureSasToken({ resourceUri, key, expiry, ...definedOnly({ keyName }) }), expiresAtMs: expiry * 1000 };
      },
      renewBeforeMs,
      now,
    );
    password = renewing.password;
    token = renewing.current;
  } else if (id.sharedAccessSignature !== undefined) {
    auth = 'sas-token';
    const parsed = parseAzureSasToken(id.sharedAccessSignature);
    if (parsed === undefined) throw new TypeError('SharedAccessSignature is not a valid SAS token');
    if (parsed.se * 1000 <= now()) {
      throw new RangeError(`the SAS token expired at ${new Date(parsed.se * 1000).toISOString()}; make a new one`);
    }
    const fixed: IssuedToken = { token: id.sharedAccessSignature, expiresAtMs: parsed.se * 1000 };
    password = fixed.token;
    token = () => fixed;
  } else {
    auth = 'x509';
    if (o.x509 === undefined) {
      throw new TypeError('the connection string says x509=true: give the device certificate and key as x509: { cert, key }');
    }
    if (o.x509.cert === undefined || o.x509.key === undefined) throw new TypeError('x509 needs cert and key');
  }

  const tls = mergeTls(
    o.x509 === undefined ? {} : definedOnly({ cert: o.x509.cert, key: o.x509.key, passphrase: o.x509.passphrase }),
    o.tls,
  );
  const clientId = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
  const options = mergeMqtt(
    { host, port, tls, protocolVersion: 4, clientId, username, ...definedOnly({ password }) },
    o.mqtt,
    // The device SDKs connect with CleanSession 0, so cloud-to-device messages sent while
    // the device was away are delivered when it comes back.
    { clean: false },
  );
  return {
    options,
    topics: azureIotHubTopics(deviceId, moduleId),
    hostName,
    deviceId,
    auth,
    ...definedOnly({ moduleId, token }),
  };
}
