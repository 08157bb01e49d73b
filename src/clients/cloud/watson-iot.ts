/**
 * IBM Watson IoT Platform style preset (IBM now documents the same MQTT interface as the
 * Platform Service of Maximo Application Suite), for a device:
 *
 * - host `{org}.messaging.internetofthings.ibmcloud.com` (the domain is configurable);
 * - client id `d:{org}:{deviceType}:{deviceId}`;
 * - token authentication: user name `use-token-auth`, password the device's auth token;
 * - TLS on 8883 by default. Plain MQTT on 1883 is disabled by default in an organization's
 *   security policy; the `quickstart` organization takes no credentials and plain 1883,
 *   which is its default here.
 *
 * Topics: device events `iot-2/evt/{event}/fmt/{format}` and commands
 * `iot-2/cmd/{command}/fmt/{format}` (subscribe with `+` for any), with a parser for the
 * command topics the platform delivers. The platform treats retained publishes as not
 * retained and rejects payloads over 131072 bytes.
 */
import type { MqttClientOptions } from '../mqtt/mqtt-options.ts';
import { type CloudPreset, type PresetCommonOptions, definedOnly, mergeMqtt, mergeTls } from './preset-options.ts';
import { checkHost, checkPattern, checkPort, requireString } from './topic-level.ts';

/** The Watson IoT Platform organization for unauthenticated quickstart devices. */
export const WATSON_QUICKSTART_ORG = 'quickstart';
/** Watson IoT Platform's default messaging domain. */
export const WATSON_DEFAULT_DOMAIN = 'internetofthings.ibmcloud.com';

/** Options of `watsonIot`: organization, device type and id, and the authentication token. */
export interface WatsonIotOptions extends Omit<PresetCommonOptions, 'now'> {
  /** Organization id (six characters), or `quickstart`. */
  readonly org: string;
  /** The device type registered in the organization. */
  readonly deviceType: string;
  /** The device id. */
  readonly deviceId: string;
  /** The device's authentication token (required except in quickstart). */
  readonly authToken?: string;
  /** Messaging domain (default `internetofthings.ibmcloud.com`): the host is `{org}.messaging.{domain}`. */
  readonly domain?: string;
  /** Connect to this host instead (a proxy, a test broker); identity and topics are unchanged. */
  readonly host?: string;
  /** TLS (default, except in quickstart). `false` needs an organization that allows plain MQTT. */
  readonly secure?: boolean;
  /** Default 8883 with TLS, 1883 without (443 also takes TLS). */
  readonly port?: number;
}

/** A Watson IoT command topic taken apart. */
export interface WatsonCommand {
  /** The command name. */
  readonly command: string;
  /** The payload format (`json`, ...). */
  readonly format: string;
}

/** Topic helpers of a Watson IoT device: events and commands. */
export interface WatsonIotTopics {
  /** `iot-2/evt/{event}/fmt/{format}` (format default `json`). */
  event(event: string, format?: string): string;
  /** `iot-2/cmd/{command}/fmt/{format}`; both default to `+` (any). */
  commandFilter(command?: string, format?: string): string;
  /** A command topic taken apart; `undefined` for other topics. */
  parseCommand(topic: string): WatsonCommand | undefined;
}

/** Event, command and format names: one topic level of letters, digits, `-`, `_` and `.`. */
const NAME = /^[A-Za-z0-9_.-]+$/;
/** Device types and ids: up to 36 of letters, digits, `-`, `_` and `.`. */
const DEVICE_PART = /^[A-Za-z0-9_.-]{1,36}$/;

function checkName(value: unknown, what: string): string {
  return checkPattern(value, what, NAME, "letters, digits, '-', '_' and '.'");
}

function checkFilterPart(value: string | undefined, what: string): string {
  return value === undefined || value === '+' ? '+' : checkName(value, what);
}

/** Takes a device command topic (`iot-2/cmd/{command}/fmt/{format}`) apart. Never throws. */
export function parseWatsonCommandTopic(topic: string): WatsonCommand | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== 'iot-2' || parts[1] !== 'cmd' || parts[3] !== 'fmt') return undefined;
  const command = parts[2] ?? '';
  const format = parts[4] ?? '';
  if (!NAME.test(command) || !NAME.test(format)) return undefined;
  return { command, format };
}

/**
 * The Watson IoT device topic helpers (the topics carry no device identity: the broker knows it from the
 * connection).
 */
export const watsonIotTopics: WatsonIotTopics = Object.freeze<WatsonIotTopics>({
  event: (event, format = 'json') => `iot-2/evt/${checkName(event, 'event')}/fmt/${checkName(format, 'format')}`,
  commandFilter: (command, format) => `iot-2/cmd/${checkFilterPart(command, 'command')}/fmt/${checkFilterPart(format, 'format')}`,
  parseCommand: parseWatsonCommandTopic,
});

/** Client options and topic helpers for a device on Watson IoT Platform. */
export function watsonIot(o: WatsonIotOptions): CloudPreset<WatsonIotTopics> & {
  /** The device is on the unauthenticated quickstart service. */
  readonly quickstart: boolean;
} {
  const org = checkPattern(o.org, 'org', /^[a-z0-9]{1,32}$/, 'the organization id (lower-case letters and digits)');
  const deviceType = checkPattern(o.deviceType, 'deviceType', DEVICE_PART, "1 to 36 of letters, digits, '-', '_' and '.'");
  const deviceId = checkPattern(o.deviceId, 'deviceId', DEVICE_PART, "1 to 36 of letters, digits, '-', '_' and '.'");
  const quickstart = org === WATSON_QUICKSTART_ORG;
  if (quickstart && o.authToken !== undefined) throw new TypeError('the quickstart organization takes no auth token');
  if (!quickstart && o.authToken === undefined) {
    throw new TypeError(`authToken is required for organization ${org} (token authentication); only quickstart connects without`);
  }
  const domain = o.domain === undefined ? WATSON_DEFAULT_DOMAIN : checkHost(o.domain, 'domain');
  const host = checkHost(o.host ?? `${org}.messaging.${domain}`, 'host');
  const secure = o.secure ?? !quickstart;
  if (!secure && o.tls !== undefined) throw new TypeError('tls settings were given but secure is false');
  const port = o.port === undefined ? (secure ? 8883 : 1883) : checkPort(o.port, 'port');
  const fixed: MqttClientOptions = {
    host,
    port,
    protocolVersion: 4,
    clientId: `d:${org}:${deviceType}:${deviceId}`,
    ...(quickstart ? {} : { username: 'use-token-auth', password: requireString(o.authToken, 'authToken') }),
    ...definedOnly({ tls: secure ? mergeTls({}, o.tls) : undefined }),
  };
  return { options: mergeMqtt(fixed, o.mqtt), topics: watsonIotTopics, quickstart };
}
